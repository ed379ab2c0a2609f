"""``theano.tensor.nnet.conv3d2d``: Theano's convolution of movies, on :func:`.abstract_conv.conv3d`.

Theano computed it as 2-d convolutions of every frame with every filter frame,
summed along diagonals of (signal time, filter time); the result is a 3-d
convolution (filters flipped along all three axes) of signals laid out
``(batch, time, channels, rows, columns)``.  Here the axes are moved to
``conv3d``'s layout and back.
"""

from __future__ import annotations

import pytensor.tensor as pt

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet.abstract_conv import conv3d as _conv3d

_MODES = ("valid", "full", "half")


def _modes(border_mode):
    """``border_mode`` as three of 'valid', 'full' and 'half': (time, rows, columns)."""
    modes = (border_mode,) * 3 if isinstance(border_mode, str) else tuple(border_mode)
    if len(modes) != 3 or any(mode not in _MODES for mode in modes):
        raise ValueError(
            "conv3d: border_mode must be 'valid', 'full' or 'half', or three of them "
            f"(time, rows, columns); got {border_mode!r}."
        )
    return modes


def _pad(mode, size):
    return {"valid": 0, "full": size - 1, "half": size // 2}[mode]


def conv3d(signals, filters, signals_shape=None, filters_shape=None, border_mode="valid"):
    """Convolve spatio-temporal filters with a batch of movies (the filters flipped).

    Parameters
    ----------
    signals : tensor-like
        ``(batch, time, channels, rows, columns)``.
    filters : tensor-like
        ``(filters, time, channels, rows, columns)``.
    signals_shape, filters_shape : tuple, optional
        The shapes, checked at run time.
    border_mode : str or tuple of 3 str
        'valid', 'full' or 'half', or one for each of time, rows and columns.

    Returns
    -------
    TensorVariable
        ``(batch, out_time, filters, out_rows, out_columns)``.
    """
    signals = pt.as_tensor_variable(signals)
    filters = pt.as_tensor_variable(filters)
    for name, var in (("signals", signals), ("filters", filters)):
        if var.ndim != 5:
            raise TypeError(
                f"conv3d: {name} must be 5-d ({'batch' if name == 'signals' else 'filters'}, "
                f"time, channels, rows, columns); got {var.type}."
            )
    modes = _modes(border_mode)
    order = (0, 2, 1, 3, 4)

    def moved(shape):
        return None if shape is None else [tuple(shape)[k] for k in order]

    kernel = moved(filters_shape) or list(filters.type.shape[k] for k in order)
    if all(isinstance(k, int) for k in kernel[2:]):
        pads = tuple(_pad(mode, k) for mode, k in zip(modes, kernel[2:]))
        mode = pads
    elif len(set(modes)) == 1:
        mode = modes[0]
    else:
        raise ValueError(
            "conv3d: different border modes per axis need the filters' time, rows and "
            "columns known when the graph is built (filters_shape or a static shape)."
        )
    out = _conv3d(
        signals.dimshuffle(*order),
        filters.dimshuffle(*order),
        input_shape=moved(signals_shape),
        filter_shape=moved(filters_shape),
        border_mode=mode,
    )
    return out.dimshuffle(*order)


def __getattr__(name):
    raise missing("theano.tensor.nnet.conv3d2d", name)
