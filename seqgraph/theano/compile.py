"""``theano.compile``: function, shared, In / Param."""

from seqgraph.theano import In, Param, function, shared

__all__ = ["In", "Param", "function", "shared"]
