"""``theano.tensor.signal.conv``: ``conv2d`` of single-channel images.

Theano's ``signal.conv.conv2d`` convolved 2-d images (or a batch of them,
3-d) with a 2-d filter (or a stack of them, 3-d), without channels.  The
result is ``(batch, filters, rows, columns)`` less the axes the arguments did
not have.
"""

from __future__ import annotations

import pytensor.tensor as pt

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet import abstract_conv


def _as_4d(var, name, fname):
    var = pt.as_tensor_variable(var)
    if var.ndim == 2:
        return var[None, None], True
    if var.ndim == 3:
        return var[:, None], False
    raise TypeError(f"{fname}: {name} must be 2-d or 3-d; got {var.type}.")


def _hint4(shape, ndim):
    if shape is None:
        return None
    shape = tuple(shape)
    return (1, 1) + shape if ndim == 2 else (shape[0], 1) + shape[1:]


def conv2d(
    input,  # noqa: A002 - Theano's name
    filters,
    image_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    **kwargs,
):
    """Convolve 2-d images (or a 3-d batch) with 2-d filters (or a 3-d stack).

    ``border_mode`` is 'valid' or 'full'; the filters are flipped (a true
    convolution), as in Theano.
    """
    fname = "theano.tensor.signal.conv.conv2d"
    if border_mode not in ("valid", "full"):
        raise ValueError(f"{fname}: border_mode must be 'valid' or 'full'; got {border_mode!r}.")
    x = pt.as_tensor_variable(input)
    w = pt.as_tensor_variable(filters)
    x4, one_image = _as_4d(x, "input", fname)
    w4, one_filter = _as_4d(w, "filters", fname)
    out = abstract_conv.conv2d(
        x4,
        w4,
        _hint4(image_shape, x.ndim),
        _hint4(filter_shape, w.ndim),
        border_mode,
        subsample,
        filter_flip=True,
    )
    if one_filter:
        out = out[:, 0]
        return out[0] if one_image else out
    return out[0] if one_image else out


def __getattr__(name):
    raise missing("theano.tensor.signal.conv", name)
