"""``theano.tensor.signal.pool``: max, sum and average pooling over the last axes.

Theano 1.0's ``pool_2d``, ``pool_3d`` and ``max_pool_2d_same_size``, with its
arguments and results: the output sizes with and without ``ignore_border``,
padding that max and sum pooling leave out and the averages count
(``average_inc_pad``) or not (``average_exc_pad``), and the old argument names
(``ds``, ``st``, ``padding``).  PyTensor has no pooling op, so the windows are
written out with slices and reductions: the pooled graph compiles on the C,
Numba and JAX backends, and its gradient is PyTensor's own (a max window passes
its gradient to every element equal to its maximum, as Theano's ``MaxPoolGrad``
did).

Window sizes, strides and padding must be known when the graph is built
(Python ints); the input's sizes need not be.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytensor.tensor as pt

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor._args import int_tuple

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _static(x, axis):
    """The size of ``x`` along ``axis``: an int where known, else symbolic."""
    size = x.type.shape[axis]
    return int(size) if size is not None else x.shape[axis]


def _clip_low(n, low):
    return max(int(n), low) if isinstance(n, (int, np.integer)) else pt.maximum(n, low)


def output_length(size, ws, stride, pad, ignore_border):
    """Number of pooling windows along one axis, as Theano's ``Pool.out_shape``.

    ``size`` is an int or a symbolic scalar; so is the result.
    """
    padded = size + 2 * pad
    if ignore_border:
        return _clip_low((padded - ws) // stride + 1, 0)
    if stride >= ws:
        return (padded - 1) // stride + 1
    # A last, partial window where the strided full ones leave elements out.
    return _clip_low((padded - 1 - ws + stride) // stride, 0) + 1


def _lowest(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    raise TypeError(f"pooling needs a numeric input; got dtype {dtype}.")


def _check(ws, stride, pad, ignore_border, mode, fname):
    if mode not in MODES:
        raise ValueError(f"{fname}: mode must be one of {', '.join(MODES)}; got {mode!r}.")
    if any(w < 1 for w in ws):
        raise ValueError(f"{fname}: ws must be positive; got {ws}.")
    if any(s < 1 for s in stride):
        raise ValueError(f"{fname}: stride must be positive; got {stride}.")
    if any(p < 0 for p in pad):
        raise ValueError(f"{fname}: pad must not be negative; got {pad}.")
    if any(pad) and not ignore_border:
        raise ValueError(f"{fname}: pad {pad} needs ignore_border=True, as in Theano.")
    if any(p >= w for p, w in zip(pad, ws)):
        raise ValueError(f"{fname}: pad {pad} must be smaller than ws {ws} on every axis.")


def pool_nd(x, ws, stride=None, pad=None, ignore_border=False, mode="max", fname="pool"):
    """Pool the last ``len(ws)`` axes of ``x``; the other axes are kept.

    Parameters
    ----------
    x : tensor-like
        Input with at least ``len(ws)`` dimensions.
    ws, stride, pad : tuple of int
        Window size, step between windows (``ws`` when None) and the padding
        added on both sides of each pooled axis.
    ignore_border : bool
        Drop a last partial window (True) or keep it (False).
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
        What each window gives.
    fname : str
        The public function's name, for error messages.

    Returns
    -------
    TensorVariable
        The pooled tensor, of ``x``'s dtype.
    """
    x = pt.as_tensor_variable(x)
    nd = len(ws)
    stride = ws if stride is None else stride
    pad = (0,) * nd if pad is None else pad
    _check(ws, stride, pad, ignore_border, mode, fname)
    if x.ndim < nd:
        raise ValueError(f"{fname}: input must have at least {nd} dimensions; got {x.type}.")
    lead = x.ndim - nd
    sizes = [_static(x, lead + k) for k in range(nd)]
    outs = [output_length(sizes[k], ws[k], stride[k], pad[k], ignore_border) for k in range(nd)]
    fill = _lowest(x.dtype) if mode == "max" else 0

    # Pad with `fill` (which max and sum then ignore) before, by `pad`, and
    # after, as far as the last window reaches.
    afters = [
        _clip_low((outs[k] - 1) * stride[k] + ws[k] - pad[k] - sizes[k], 0) for k in range(nd)
    ]
    xp = x
    if any(pad) or any(not isinstance(a, int) or a > 0 for a in afters):
        shape = [x.shape[k] for k in range(lead)]
        shape += [pad[k] + sizes[k] + afters[k] for k in range(nd)]
        xp = pt.full(shape, np.asarray(fill, dtype=x.dtype), dtype=x.dtype)
        inner = (slice(None),) * lead + tuple(slice(pad[k], pad[k] + sizes[k]) for k in range(nd))
        xp = pt.set_subtensor(xp[inner], x)

    if tuple(ws) == tuple(stride):
        # Windows that tile: one reshape and one reduction over the window axes.
        crop = (slice(None),) * lead + tuple(slice(0, outs[k] * ws[k]) for k in range(nd))
        shape = [x.shape[k] for k in range(lead)]
        for k in range(nd):
            shape += [outs[k], ws[k]]
        tiles = xp[crop].reshape(shape, ndim=lead + 2 * nd)
        window_axes = tuple(lead + 2 * k + 1 for k in range(nd))
        reduced = tiles.max(axis=window_axes) if mode == "max" else tiles.sum(axis=window_axes)
    else:
        # One strided slice per offset in the window, combined elementwise
        # (PyTensor fuses the chain into one loop).
        parts = []
        for offset in itertools.product(*(range(w) for w in ws)):
            index = (slice(None),) * lead + tuple(
                slice(offset[k], offset[k] + _clip_low((outs[k] - 1) * stride[k] + 1, 0), stride[k])
                for k in range(nd)
            )
            parts.append(xp[index])
        combine = pt.maximum if mode == "max" else pt.add
        reduced = functools.reduce(combine, parts)

    if mode in ("max", "sum"):
        return reduced
    return pt.cast(
        reduced / _window_counts(sizes, outs, ws, stride, pad, ignore_border, mode, x), x.dtype
    )


def _window_counts(sizes, outs, ws, stride, pad, ignore_border, mode, x):
    """How many elements each window averages: Theano's window clipped to the
    (padded) input, less the padding for ``average_exc_pad``."""
    dtype = x.dtype if x.dtype.startswith("float") else "float64"
    if ignore_border and not any(pad):
        return np.asarray(np.prod(ws), dtype=dtype)
    nd = len(ws)
    count = None
    for k in range(nd):
        start = pt.arange(outs[k]) * stride[k]
        if mode == "average_inc_pad":
            n = pt.minimum(start + ws[k], sizes[k] + 2 * pad[k]) - start
        else:
            n = pt.minimum(start + ws[k], sizes[k] + pad[k]) - pt.maximum(start, pad[k])
        pattern = ["x"] * nd
        pattern[k] = 0
        n = pt.cast(n, dtype).dimshuffle(pattern)
        count = n if count is None else count * n
    return count


def _renamed(new, new_name, old, old_name, fname, default=None):
    if old is not None:
        if new is not None and new != default:
            raise ValueError(f"{fname}: give {new_name} or its old name {old_name}, not both.")
        return old
    return new


def pool_2d(
    input,  # noqa: A002 - Theano's name
    ws=None,
    ignore_border=None,
    stride=None,
    pad=(0, 0),
    mode="max",
    ds=None,
    st=None,
    padding=None,
):
    """Pool the last two axes of ``input``, as Theano's ``pool_2d``.

    Parameters
    ----------
    input : tensor-like
        Two or more dimensions; the last two are pooled.
    ws : int or tuple of 2 ints
        Window size (rows, columns). ``ds`` is its old name.
    ignore_border : bool, optional
        Drop a last partial window (True) or pool it (False). Theano's
        default, None, meant False; it is False here too.
    stride : tuple of 2 ints, optional
        Step between windows; ``ws`` when None. ``st`` is its old name.
    pad : tuple of 2 ints
        Rows and columns added on both sides (needs ``ignore_border=True``
        and must be smaller than ``ws``). ``padding`` is its old name.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
        Max and sum leave the padding out; the averages count it or not.

    Returns
    -------
    TensorVariable
        The pooled tensor, of the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> import seqgraph
    >>> from seqgraph.theano.tensor.signal.pool import pool_2d
    >>> x = pt.matrix("x", dtype="float64")
    >>> y = pool_2d(x, ws=(2, 2), ignore_border=False)
    >>> seqgraph.function([x], y, backend="c")(np.arange(9.0).reshape(3, 3))
    array([[4., 5.],
           [7., 8.]])
    """
    return _pool_api(input, ws, ignore_border, stride, pad, mode, ds, st, padding, 2, "pool_2d")


def pool_3d(
    input,  # noqa: A002 - Theano's name
    ws=None,
    ignore_border=None,
    stride=None,
    pad=(0, 0, 0),
    mode="max",
    ds=None,
    st=None,
    padding=None,
):
    """Pool the last three axes of ``input``; the arguments are :func:`pool_2d`'s."""
    return _pool_api(input, ws, ignore_border, stride, pad, mode, ds, st, padding, 3, "pool_3d")


def _pool_api(input, ws, ignore_border, stride, pad, mode, ds, st, padding, nd, fname):  # noqa: A002
    ws = _renamed(ws, "ws", ds, "ds", fname)
    if ws is None:
        raise TypeError(f"{fname}: give the window size, ws.")
    stride = _renamed(stride, "stride", st, "st", fname)
    pad = _renamed(pad, "pad", padding, "padding", fname, default=(0,) * nd)
    ws = int_tuple(ws, nd, "ws", fname)
    stride = ws if stride is None else int_tuple(stride, nd, "stride", fname)
    pad = (0,) * nd if pad is None else int_tuple(pad, nd, "pad", fname)
    return pool_nd(input, ws, stride, pad, bool(ignore_border), mode, fname)


def max_pool_2d_same_size(input, patch_size):  # noqa: A002 - Theano's name
    """Keep the maximum of each ``patch_size`` patch and zero the rest.

    The output has the input's shape; rows and columns past the last whole
    patch are zero, as in Theano.
    """
    x = pt.as_tensor_variable(input)
    ps = int_tuple(patch_size, 2, "patch_size", "max_pool_2d_same_size")
    pooled = pool_nd(x, ps, ps, (0, 0), True, "max", "max_pool_2d_same_size")
    up = pt.repeat(pt.repeat(pooled, ps[0], axis=-2), ps[1], axis=-1)
    rows = _static(pooled, pooled.ndim - 2) * ps[0]
    cols = _static(pooled, pooled.ndim - 1) * ps[1]
    index = (slice(None),) * (x.ndim - 2) + (slice(0, rows), slice(0, cols))
    region = x[index]
    kept = pt.switch(pt.eq(region, up), region, pt.zeros_like(region))
    return pt.set_subtensor(pt.zeros_like(x)[index], kept)


class Pool:
    """Theano 1.0's ``Pool(ignore_border, mode, ndim)`` op, called as ``op(x, ws, stride, pad)``."""

    def __init__(self, ignore_border=False, mode="max", ndim=2, openmp=None):
        if mode == "max_deterministic":
            mode = "max"
        if mode not in MODES:
            raise ValueError(f"Pool: mode must be one of {', '.join(MODES)}; got {mode!r}.")
        self.ignore_border = bool(ignore_border)
        self.mode = mode
        self.ndim = int(ndim)

    def __call__(self, x, ws, stride=None, pad=None):
        nd = self.ndim
        ws = int_tuple(ws, nd, "ws", "Pool")
        stride = ws if stride is None else int_tuple(stride, nd, "stride", "Pool")
        pad = (0,) * nd if pad is None else int_tuple(pad, nd, "pad", "Pool")
        return pool_nd(x, ws, stride, pad, self.ignore_border, self.mode, "Pool")

    @staticmethod
    def out_shape(imgshape, ws=None, ignore_border=False, stride=None, pad=None, ndim=2, **old):
        """The output shape for an input of shape ``imgshape`` (ints or symbolic)."""
        ws = _renamed(ws, "ws", old.get("ds"), "ds", "Pool.out_shape")
        stride = _renamed(stride, "stride", old.get("st"), "st", "Pool.out_shape")
        pad = _renamed(pad, "pad", old.get("padding"), "padding", "Pool.out_shape")
        ws = int_tuple(ws, ndim, "ws", "Pool.out_shape")
        stride = ws if stride is None else int_tuple(stride, ndim, "stride", "Pool.out_shape")
        pad = (0,) * ndim if pad is None else int_tuple(pad, ndim, "pad", "Pool.out_shape")
        head = list(imgshape[:-ndim])
        tail = [
            output_length(imgshape[len(head) + k], ws[k], stride[k], pad[k], ignore_border)
            for k in range(ndim)
        ]
        return head + tail


def __getattr__(name):
    raise missing("theano.tensor.signal.pool", name)
