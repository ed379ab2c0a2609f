"""``theano.sandbox``: only ``rng_mrg`` is provided."""

from seqgraph.theano._removed import missing
from seqgraph.theano.sandbox import rng_mrg  # noqa: F401


def __getattr__(name):
    raise missing("theano.sandbox", name)
