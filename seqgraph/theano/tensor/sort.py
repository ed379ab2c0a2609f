"""``theano.tensor.sort``: ``sort``, ``argsort`` (PyTensor's) and Theano 1.0's ``topk`` family.

PyTensor has no top-k op; :func:`topk`, :func:`argtopk` and
:func:`topk_and_argtopk` are written out here as a sort of the axis and a
slice of it, so they compile on every backend and have a gradient (through
the gather).  Theano's ``TopKOp`` refused ``sorted=True``, its default, and
left the order of its results unspecified; here the results always come in
order, largest first (smallest first for a negative ``kth``), and
``sorted`` is accepted either way.  Ties are broken by the sort, not
deterministically, as in Theano.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.sort import ArgSortOp, SortOp, argsort, sort  # noqa: F401

from seqgraph.theano._removed import missing

__all__ = ["ArgSortOp", "SortOp", "argsort", "argtopk", "sort", "topk", "topk_and_argtopk"]


def topk_and_argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):  # noqa: A002 - Theano's name
    """The ``kth`` largest values along ``axis`` and their indices (smallest for ``kth < 0``).

    Parameters
    ----------
    x : tensor-like
    kth : int or integer scalar
        How many; not 0. Negative: the smallest instead.
    axis : int or None
        None: of the flattened array.
    sorted : bool
        Accepted for Theano's signature; the results are always in order.
    idx_dtype : str
        The integer dtype of the indices.

    Returns
    -------
    (TensorVariable, TensorVariable)
        The values (``x``'s dtype) and their indices along ``axis``, of
        ``|kth|`` entries along it.

    Raises
    ------
    ValueError
        If ``kth`` is the constant 0, or ``axis`` is out of range.
    TypeError
        If ``idx_dtype`` is not an integer dtype, or ``x`` is unsigned (its
        order is reversed by negation).
    """
    x = pt.as_tensor_variable(x)
    if axis is None:
        x = x.flatten()
        axis = 0
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"topk: axis {axis} is out of range for a {x.ndim}-d input.")
    axis %= x.ndim
    if not np.issubdtype(np.dtype(idx_dtype), np.integer):
        raise TypeError(f"topk: idx_dtype must be an integer dtype; got {idx_dtype!r}.")
    if x.dtype.startswith("uint") or x.dtype == "bool":
        raise TypeError(f"topk: x must be signed or floating; got {x.dtype}.")
    if isinstance(kth, (int, np.integer)):
        if kth == 0:
            raise ValueError("topk: kth cannot be zero.")
        keys = -x if kth > 0 else x
        count = abs(int(kth))
    else:
        kth = pt.as_tensor_variable(kth)
        keys = pt.switch(pt.gt(kth, 0), -x, x)
        count = abs(kth)
    order = argsort(keys, axis=axis)
    take = [slice(None)] * x.ndim
    take[axis] = slice(0, count)
    indices = order[tuple(take)]
    values = pt.take_along_axis(x, indices, axis=axis)
    return values, pt.cast(indices, idx_dtype)


def topk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):  # noqa: A002 - Theano's name
    """The ``kth`` largest values of ``x`` along ``axis`` (:func:`topk_and_argtopk`)."""
    return topk_and_argtopk(x, kth, axis, sorted, idx_dtype)[0]


def argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):  # noqa: A002 - Theano's name
    """The indices of the ``kth`` largest values of ``x`` along ``axis`` (:func:`topk_and_argtopk`)."""
    return topk_and_argtopk(x, kth, axis, sorted, idx_dtype)[1]


def __getattr__(name):
    raise missing("theano.tensor.sort", name)
