"""Theano's ``get_value``: a NumPy array on the host, wherever the value lies.

A JAX function leaves the shared variables it uses on its device, as
``jax.Array`` values (:mod:`seqgraph.function`), and PyTensor's
``get_value`` returns what the variable holds.  Theano returned a NumPy array:
for a variable on the GPU, a copy on the host unless
``return_internal_type=True`` asked for the device array.  Scripts of its time
rely on that: a gradient check writes into the array it got
(``np.nditer(W.get_value(), op_flags=['readwrite'])``, then ``set_value``), a
model saver checks ``isinstance(value, np.ndarray)``.  ``theano.shared`` makes
its tensor variables instances of :class:`TensorSharedVariable`, which does
the same: a ``jax.Array`` value comes back as a new, writable NumPy array, for
``borrow=True`` as well (a view would alias a buffer that the next call of the
function hands to XLA); ``return_internal_type=True`` returns the
``jax.Array``.  Values held as NumPy arrays come back as PyTensor gives them.
"""

from __future__ import annotations

import sys

import numpy as np
from pytensor.tensor.sharedvar import TensorSharedVariable as _PyTensorShared

__all__ = ["TensorSharedVariable", "as_theano_shared"]


def _is_jax_array(value) -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(value, jax.Array)


class TensorSharedVariable(_PyTensorShared):
    """A tensor shared variable made by ``theano.shared``: ``get_value`` as in Theano."""

    def get_value(self, borrow=False, return_internal_type=False):
        """The variable's value: a NumPy array on the host, as Theano gave it.

        Parameters
        ----------
        borrow : bool
            Allow an array that aliases the variable's storage, where that
            storage is a NumPy array (as in Theano and PyTensor).
        return_internal_type : bool
            Return what the variable holds, a ``jax.Array`` once a JAX function
            has used it (Theano's device array for a variable on the GPU).
        """
        value = self.container.value
        if return_internal_type or not _is_jax_array(value):
            return super().get_value(borrow=borrow, return_internal_type=return_internal_type)
        return np.array(value, copy=True)


def as_theano_shared(var):
    """``var`` itself, made a :class:`TensorSharedVariable` where it is PyTensor's."""
    if type(var) is _PyTensorShared:
        var.__class__ = TensorSharedVariable
    return var
