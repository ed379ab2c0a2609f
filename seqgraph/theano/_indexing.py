"""Theano's ``None`` in an index that does not name every axis.

Theano turned ``x[i, None]`` into a ``dimshuffle`` whose pattern held only the
axes the index named, so the axes after them were *dropped*, which Theano
allowed for broadcastable axes only (for any other it raised "You cannot drop
a non-broadcastable dimension"). NumPy and PyTensor keep them at the end. So
with ``m = T.alloc(1., n, 1)`` (shape ``(n, 1)``), ``m[:, None]`` was a matrix
in Theano and is a 3-d tensor in PyTensor, and code written for Theano's
shapes breaks further on (dl4mt's attention decoder, stepped one word at a
time, builds its mask this way). Importing :mod:`seqgraph.theano` gives
PyTensor's tensor variables Theano's rule where Theano had one: basic
indexing (integers, slices, ``None``; no ``...`` and no array indices) with a
``None`` and fewer axes named than the variable has, the rest all
broadcastable. Every other index keeps PyTensor's meaning (where Theano
raised, the NumPy result is kept).
"""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import _tensor_py_operators

_PYTENSOR_GETITEM = _tensor_py_operators.__getitem__


def _basic(entry) -> bool:
    if entry is None or isinstance(entry, slice):
        return True
    if isinstance(entry, bool | np.bool_):
        return False
    if isinstance(entry, int | np.integer):
        return True
    return isinstance(entry, Variable) and getattr(entry.type, "ndim", None) == 0


def _theano_getitem(self, args):
    out = _PYTENSOR_GETITEM(self, args)
    index = args if isinstance(args, tuple) else (args,)
    if not any(e is None for e in index) or not all(_basic(e) for e in index):
        return out
    named = sum(e is not None for e in index)
    dropped = self.type.ndim - named
    if dropped <= 0 or not all(s == 1 for s in self.type.shape[named:]):
        return out
    # The unnamed axes are the last ones of PyTensor's result: Theano dropped them.
    return out.squeeze(axis=tuple(range(out.ndim - dropped, out.ndim)))


def use_theano_newaxis() -> None:
    """Give tensor variables Theano's ``None`` indexing (see the module docstring)."""
    _tensor_py_operators.__getitem__ = _theano_getitem


def use_pytensor_newaxis() -> None:
    """Give tensor variables PyTensor's (NumPy's) ``None`` indexing back."""
    _tensor_py_operators.__getitem__ = _PYTENSOR_GETITEM
