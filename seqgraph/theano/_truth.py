"""Theano's truth value for tensor variables.

Theano let ``if variable:`` pass (the deeplearning.net RBM tutorial tests its
persistent chain, a shared variable, that way) and refused only the results
of comparisons, so that ``a < b < c`` (which Python runs as ``(a < b) and
(b < c)``) failed instead of silently dropping a test.  PyTensor refuses
every variable.  Importing :mod:`seqgraph.theano` gives PyTensor's tensor
variables Theano's rule.
"""

from __future__ import annotations

import pytensor.scalar as ps
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.variable import _tensor_py_operators

_COMPARISONS = (ps.LT, ps.GT, ps.LE, ps.GE, ps.EQ, ps.NEQ)
_PYTENSOR_BOOL = _tensor_py_operators.__bool__


def _theano_bool(self) -> bool:
    """True, as in Theano, except for the result of a comparison."""
    owner = self.owner
    if (
        owner is not None
        and isinstance(owner.op, Elemwise)
        and isinstance(owner.op.scalar_op, _COMPARISONS)
    ):
        raise TypeError(
            "the result of a symbolic comparison has no Python truth value (as in "
            "Theano: `a < b < c` and `if a < b:` cannot be run on symbols); use "
            "T.and_(T.lt(a, b), T.lt(b, c)) or T.switch / ifelse."
        )
    return True


def use_theano_truth() -> None:
    """Give tensor variables Theano's truth value (see the module docstring)."""
    _tensor_py_operators.__bool__ = _theano_bool


def use_pytensor_truth() -> None:
    """Give tensor variables PyTensor's truth value back (every one refused)."""
    _tensor_py_operators.__bool__ = _PYTENSOR_BOOL
