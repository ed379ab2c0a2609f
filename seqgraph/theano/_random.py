"""Random streams with Theano's interface, each draw from its own shared generator.

Each draw gets a new shared NumPy generator (seeded from the stream) whose
next state is registered as its default update, the mechanism Theano's
streams used: ``theano.function`` then advances it after each call, and
``theano.scan`` turns a draw made inside the step into a loop state whose
update it returns, so that every step draws new numbers.
"""

from __future__ import annotations

import warnings
from math import erf

import numpy as np
import pytensor
import pytensor.tensor as pt


def _size(size, ndim):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(size) if isinstance(size, (list, tuple)) else size


class Streams:
    """Base of ``RandomStreams`` and ``MRG_RandomStreams``."""

    binomial_dtype = "int64"

    def __init__(self, seed=None):
        self._seed_rng = np.random.default_rng(seed)
        self.generators = []

    def seed(self, seed=None):
        """Reseed every generator this stream has made (Theano's ``seed``)."""
        self._seed_rng = np.random.default_rng(seed)
        for g in self.generators:
            g.set_value(np.random.default_rng(self._child_seed()))

    def _child_seed(self):
        return int(self._seed_rng.integers(2**63 - 1))

    def _draw(self, rv, *params, size=None, dtype=None):
        g = pytensor.shared(np.random.default_rng(self._child_seed()))
        self.generators.append(g)
        kwargs = {"size": size, "rng": g, "return_next_rng": True}
        if dtype is not None:
            kwargs["dtype"] = dtype
        next_rng, out = rv(*params, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            g.default_update = next_rng
        return out

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        dtype = dtype or pytensor.config.floatX
        return self._draw(pt.random.uniform, low, high, size=_size(size, ndim), dtype=dtype)

    def normal(
        self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, truncate=False
    ):
        dtype = dtype or pytensor.config.floatX
        if not truncate:
            return self._draw(pt.random.normal, avg, std, size=_size(size, ndim), dtype=dtype)
        # Theano's truncate=True keeps draws within two standard deviations: draw
        # the uniform quantile between Phi(-2) and Phi(2) and invert the normal CDF.
        low, high = 0.5 * (1 + erf(-2 / np.sqrt(2))), 0.5 * (1 + erf(2 / np.sqrt(2)))
        u = self._draw(pt.random.uniform, low, high, size=_size(size, ndim), dtype="float64")
        z = np.sqrt(2.0) * pt.erfinv(2.0 * u - 1.0)
        return pt.cast(avg + std * z, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype=None, nstreams=None):
        dtype = dtype or self.binomial_dtype
        if isinstance(n, (int, np.integer)) and n == 1:
            # A Bernoulli draw (dropout masks: the only n Theano's MRG streams took)
            # as a uniform below p, which every backend runs; JAX has no binomial
            # without NumPyro.
            u = self._draw(pt.random.uniform, 0.0, 1.0, size=_size(size, ndim))
            return pt.cast(pt.lt(u, p), dtype)
        return pt.cast(self._draw(pt.random.binomial, n, p, size=_size(size, ndim)), dtype)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None):
        """Counts of ``n`` draws from each distribution along the last axis of ``pvals``.

        Parameters
        ----------
        size : tuple, optional
            The shape of the batch of distributions (``pvals`` broadcast to it);
            by default ``pvals.shape[:-1]``.
        n : int or scalar
            Draws per distribution.
        pvals : array-like
            Probabilities, the last axis over the outcomes.
        dtype : str

        Returns
        -------
        tensor
            ``pvals``'s shape (batch and outcomes), each row summing to ``n``
            (less where the probabilities sum to less than 1, as in Theano:
            a draw past their sum counts for no outcome).
        """
        if pvals is None:
            raise TypeError("multinomial: pvals (the outcomes' probabilities) is required.")
        pvals = pt.as_tensor_variable(pvals)
        if pvals.ndim < 1:
            raise ValueError(f"multinomial: pvals must have an axis of outcomes; got {pvals.type}.")
        if size is None:
            batch = tuple(pvals.shape[i] for i in range(pvals.ndim - 1))
        else:
            batch = _size(size, ndim)
            if not isinstance(batch, tuple):  # a symbolic shape
                batch = pt.as_tensor_variable(batch)
                batch = tuple(batch[i] for i in range(pt.get_vector_length(batch)))
            pvals = pt.broadcast_to(pvals, (*batch, pvals.shape[-1]))
        return self._counts(pvals, batch, n, dtype)

    def _counts(self, pvals, batch, n, dtype):
        # Theano's MultinomialFromUniform: each draw u counts for the first
        # outcome whose cumulative probability exceeds it.
        u = self.uniform(size=(*batch, n), dtype=pvals.dtype)
        cdf = pt.cumsum(pvals, axis=-1)
        outcome = pt.sum(pt.ge(u[..., :, None], cdf[..., None, :]), axis=-1)
        hits = pt.eq(outcome[..., :, None], pt.arange(pvals.shape[-1]))
        return pt.cast(pt.sum(hits, axis=-2), dtype)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        draw = self._draw(pt.random.integers, low, high + 1, size=_size(size, ndim))
        return pt.cast(draw, dtype)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        return pt.cast(self._draw(pt.random.permutation, n), dtype)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        return pt.cast(
            self._draw(pt.random.choice, a, size=_size(size, ndim), replace=replace, p=p), dtype
        )
