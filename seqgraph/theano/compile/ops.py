"""``theano.compile.ops``: ``as_op``, a Python function as an Op."""

from seqgraph.theano._op import as_op
from seqgraph.theano._removed import missing

__all__ = ["as_op"]


def __getattr__(name):
    raise missing("theano.compile.ops", name)
