"""``theano.compile.sharedvalue``: ``shared`` and ``SharedVariable``."""

from pytensor.compile.sharedvalue import SharedVariable

from seqgraph.theano import shared
from seqgraph.theano._removed import missing

__all__ = ["SharedVariable", "shared"]


def __getattr__(name):
    raise missing("theano.compile.sharedvalue", name)
