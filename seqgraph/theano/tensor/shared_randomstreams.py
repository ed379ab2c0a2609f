"""``theano.tensor.shared_randomstreams.RandomStreams``."""

from seqgraph.theano._random import Streams


class RandomStreams(Streams):
    """Theano's ``RandomStreams``: ``binomial`` returns int64, the rest ``floatX``."""


__all__ = ["RandomStreams"]
