"""``theano.tensor.signal.downsample``: Theano 0.7's names for max pooling.

Theano 0.8 moved them to :mod:`theano.tensor.signal.pool`; Lasagne 0.1 and
code of its time still import them from here.
"""

from __future__ import annotations

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor._args import int_tuple
from seqgraph.theano.tensor.signal.pool import (  # noqa: F401
    max_pool_2d_same_size,
    pool_2d,
    pool_nd,
)


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):  # noqa: A002
    """``max_pool_2d(input, ds, ignore_border, st, padding, mode)``: :func:`pool_2d` by its old names."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


class DownsampleFactorMax:
    """Theano 0.7's op: ``DownsampleFactorMax(ds, ignore_border, st, padding, mode)(x)``."""

    def __init__(self, ds, ignore_border=False, st=None, padding=(0, 0), mode="max"):
        self.ds = int_tuple(ds, 2, "ds", "DownsampleFactorMax")
        self.st = self.ds if st is None else int_tuple(st, 2, "st", "DownsampleFactorMax")
        self.padding = int_tuple(padding, 2, "padding", "DownsampleFactorMax")
        self.ignore_border = bool(ignore_border)
        self.mode = mode

    def __call__(self, x):
        return pool_nd(
            x, self.ds, self.st, self.padding, self.ignore_border, self.mode, "DownsampleFactorMax"
        )


def __getattr__(name):
    raise missing("theano.tensor.signal.downsample", name)
