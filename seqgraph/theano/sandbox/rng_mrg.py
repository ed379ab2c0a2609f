"""``theano.sandbox.rng_mrg.MRG_RandomStreams``.

Theano's MRG31k3p streams ran on CPU and GPU alike; here the draws come from
NumPy's PCG64 (or JAX's generator on the JAX backend), so the numbers differ
from Theano's while the interface and dtypes are the same: ``uniform``,
``normal`` and ``binomial`` return ``floatX`` by default, and draws made
inside a ``scan`` step advance from step to step.
"""

from seqgraph.theano._random import Streams


class MRG_RandomStreams(Streams):  # noqa: N801 - Theano's name
    """Theano's MRG random streams: ``binomial`` returns ``floatX`` as in Theano."""

    @property
    def binomial_dtype(self):
        import pytensor

        return pytensor.config.floatX


__all__ = ["MRG_RandomStreams"]
