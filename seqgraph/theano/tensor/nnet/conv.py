"""``theano.tensor.nnet.conv``: Theano's first ``conv2d``, the one the LeNet tutorial used.

It always convolved (the filters flipped) and knew the 'valid' and 'full'
border modes only; ``image_shape`` and ``filter_shape`` were hints.  It is
:func:`seqgraph.theano.tensor.nnet.abstract_conv.conv2d` with those limits.
"""

from __future__ import annotations

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet import abstract_conv


def conv2d(
    input,  # noqa: A002 - Theano's name
    filters,
    image_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    **kwargs,
):
    """``conv2d(input, filters, image_shape, filter_shape, border_mode, subsample)``.

    ``input`` is ``(batch, channels, rows, columns)``, ``filters``
    ``(filters, channels, rows, columns)``; ``border_mode`` is 'valid' or
    'full'.  Theano's other keyword arguments (``imshp_logical`` ...) tuned
    its old C code and are ignored.
    """
    if border_mode not in ("valid", "full"):
        raise ValueError(
            "theano.tensor.nnet.conv.conv2d: border_mode must be 'valid' or 'full'; got "
            f"{border_mode!r} (theano.tensor.nnet.conv2d also takes 'half' and padding)."
        )
    return abstract_conv.conv2d(
        input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip=True
    )


def __getattr__(name):
    raise missing("theano.tensor.nnet.conv", name)
