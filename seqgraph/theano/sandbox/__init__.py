"""``theano.sandbox``: ``rng_mrg`` and ``linalg`` are provided."""

from seqgraph.theano._removed import missing
from seqgraph.theano.sandbox import rng_mrg  # noqa: F401


def __getattr__(name):
    raise missing("theano.sandbox", name)
