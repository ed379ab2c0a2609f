"""What differs between the PyTensor versions seqgraph runs on (3.0 to 3.3).

PyTensor 3.3.8 changed two things seqgraph's own ops and its Theano layer
meet:

* ``Op.infer_shape`` lost its ``fgraph`` parameter: PyTensor now calls
  ``infer_shape(node, input_shapes)`` (Theano's form), and warns when a class
  defines the old ``infer_shape(fgraph, node, input_shapes)``.  The same goes
  for the ``infer_shape`` function given to ``wrap_py``.
* ``AdvancedSubtensor1`` and ``AdvancedIncSubtensor1`` (one integer index on
  the first axis) were folded into ``AdvancedSubtensor`` and
  ``AdvancedIncSubtensor``.

seqgraph writes ``infer_shape`` in the new form and adapts it here where the
installed PyTensor still passes the function graph.

Since PyTensor 3.1, ``ifelse`` and ``IfElse`` live in
``pytensor.conditional.op``; importing them from ``pytensor.ifelse`` warns
(``DeprecationWarning``).
"""

from __future__ import annotations

import functools
import inspect

from pytensor.compile.ops import ViewOp
from pytensor.tensor import subtensor as _subtensor

__all__ = [
    "INCREMENT_OPS",
    "IfElse",
    "ifelse",
    "INFER_SHAPE_TAKES_FGRAPH",
    "infer_shape_function",
    "register_rewrite",
    "with_infer_shape",
]

#: Whether this PyTensor calls ``op.infer_shape(fgraph, node, input_shapes)``
#: (before 3.3.8) rather than ``op.infer_shape(node, input_shapes)``; read off
#: how PyTensor's own ops define it.
INFER_SHAPE_TAKES_FGRAPH = len(inspect.signature(ViewOp.infer_shape).parameters) == 4

#: The op classes of ``inc_subtensor`` / ``set_subtensor`` with integer-array
#: indices (``AdvancedIncSubtensor1`` too, in PyTensor before 3.3.8).
INCREMENT_OPS = tuple(
    getattr(_subtensor, name)
    for name in ("AdvancedIncSubtensor", "AdvancedIncSubtensor1")
    if hasattr(_subtensor, name)
)


try:  # PyTensor >= 3.1; importing them from pytensor.ifelse warns since
    from pytensor.conditional.op import IfElse, ifelse
except ImportError:  # PyTensor 3.0
    from pytensor.ifelse import IfElse, ifelse


def infer_shape_function(fn):
    """``fn(node, input_shapes)`` in the form this PyTensor calls.

    Parameters
    ----------
    fn : callable
        A shape function of ``(node, input_shapes)``, or of ``(self, node,
        input_shapes)`` for a method.

    Returns
    -------
    callable
        ``fn`` itself where PyTensor calls ``infer_shape(node, input_shapes)``;
        otherwise a function that takes the function graph first (after
        ``self`` for a method) and drops it.
    """
    if not INFER_SHAPE_TAKES_FGRAPH:
        return fn
    params = inspect.signature(fn).parameters
    if len(params) == 3:  # a method: self, node, input_shapes

        @functools.wraps(fn)
        def method(self, fgraph, node, input_shapes):
            return fn(self, node, input_shapes)

        return method

    @functools.wraps(fn)
    def function(fgraph, node, input_shapes):
        return fn(node, input_shapes)

    return function


def with_infer_shape(cls):
    """Class decorator: ``cls.infer_shape(self, node, input_shapes)`` as PyTensor calls it."""
    cls.infer_shape = infer_shape_function(vars(cls)["infer_shape"])
    return cls


def register_rewrite(db, name, rewriter, *tags, **kwargs):
    """``db.register(name, rewriter, *tags, **kwargs)``, also after a query named ``name``.

    A rewrite query (a mode's ``including`` / ``excluding``, or the
    ``optimizer_excluding`` flag) that names a tag the database does not hold
    yet leaves an empty entry under that name, and registering a rewrite of
    that name afterwards fails ("The tag ... is already present"). seqgraph
    registers its JAX rewrites when the JAX backend is first used, so
    ``PYTENSOR_FLAGS=optimizer_excluding=seqgraph_jax_...`` with a mode
    queried before (``THEANO_FLAGS=mode=JAX``) failed that way. The empty
    entry is dropped first; a name that a rewrite already holds is left to
    ``register``'s own error.
    """
    entries = db.__db__
    if name in entries and name not in db._names and not entries[name]:
        del entries[name]
    db.register(name, rewriter, *tags, **kwargs)
