"""``theano.sandbox.rng_mrg.MRG_RandomStreams``.

Theano's MRG31k3p streams ran on CPU and GPU alike; here the draws come from
NumPy's PCG64 (or JAX's generator on the JAX backend), so the numbers differ
from Theano's while the interface and dtypes are the same: ``uniform``,
``normal`` and ``binomial`` return ``floatX`` by default, ``multinomial``
takes a matrix of probabilities (one distribution per row) and returns int64
counts, and draws made inside a ``scan`` step advance from step to step.
"""

from seqgraph.theano._random import Streams


class MRG_RandomStreams(Streams):  # noqa: N801 - Theano's name
    """Theano's MRG random streams: ``binomial`` returns ``floatX`` as in Theano."""

    @property
    def binomial_dtype(self):
        import pytensor

        return pytensor.config.floatX

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None):
        """Counts of ``n`` draws from each row of the matrix ``pvals`` (Theano's MRG form).

        As in Theano, ``pvals`` must be a matrix and ``size`` and ``ndim`` are
        not taken (the rows are the batch); the sampler of dl4mt's
        translation models draws a word with
        ``trng.multinomial(pvals=next_probs).argmax(1)``.
        """
        import pytensor.tensor as pt

        if pvals is None:
            raise TypeError("multinomial: pvals (one distribution per row) is required.")
        if size is not None or ndim is not None:
            raise ValueError(
                "MRG_RandomStreams.multinomial takes no size or ndim: the rows of pvals "
                "are the distributions."
            )
        pvals = pt.as_tensor_variable(pvals)
        if pvals.ndim != 2:
            raise NotImplementedError(
                f"MRG_RandomStreams.multinomial takes a matrix pvals, as Theano's; got {pvals.type}."
            )
        return self._counts(pvals, (pvals.shape[0],), n, dtype)


__all__ = ["MRG_RandomStreams"]
