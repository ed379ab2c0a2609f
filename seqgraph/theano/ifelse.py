"""``theano.ifelse``: the lazy ``ifelse``."""

from seqgraph._compat import ifelse

__all__ = ["ifelse"]
