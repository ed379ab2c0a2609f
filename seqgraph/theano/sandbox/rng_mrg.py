"""``theano.sandbox.rng_mrg.MRG_RandomStreams``.

Theano's MRG31k3p streams ran on CPU and GPU alike; here the draws come from
NumPy's PCG64 (or JAX's generator on the JAX backend), so the numbers differ
from Theano's while the interface and dtypes are the same: ``uniform``,
``normal`` and ``binomial`` return ``floatX`` by default, ``multinomial``
takes a matrix of probabilities (one distribution per row) and returns int64
counts, ``choice`` draws indices from each row without replacement, and draws
made inside a ``scan`` step advance from step to step.
"""

import numbers
import warnings

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

    def choice(self, size=1, a=None, replace=True, p=None, ndim=None, dtype="int64", nstreams=None):
        """``size`` outcomes of each row of the matrix ``p``, as indices (Theano's MRG form).

        As Theano's, ``p`` holds one distribution per row (its columns are the
        outcomes ``0 .. p.shape[1] - 1``, ``a`` must be None) and the result is
        a ``(p.shape[0], size)`` matrix, column ``j`` the ``j``-th draw. Theano
        took only ``replace=False`` (word2vec-style negative samples, beam
        candidates): each draw is made among the outcomes not yet drawn from
        that row, in proportion to their probabilities. Here ``replace=True``
        works too (independent draws).

        The draws without replacement race exponential clocks: outcome ``m``
        of a row rings at ``-log(u_m) / p_m`` and the first ``size`` to ring
        are the draws, in that order. That is the same distribution as
        Theano's, which drew one outcome, removed it and renormalised, but
        takes one sort rather than ``size`` passes; the numbers differ, as
        every stream's do (see the module's docstring); for rows that sum to
        one the frequencies agree with Theano 1.0.5's (first and second draws,
        4000 rows). A row is taken in proportion: it need not sum to one,
        where Theano's first draw assumed it did. As in Theano, ``p`` is not
        checked for negative values.

        Parameters
        ----------
        size : int or integer scalar
            Draws per row.
        a : None
            Kept for Theano's signature and must be None: the outcomes are the columns of p.
        replace : bool
            Whether an outcome may be drawn again from the same row.
        p : matrix-like
            The rows' probabilities.
        ndim, nstreams
            Theano's; ``ndim`` must be None, ``nstreams`` is ignored.
        dtype : str
            The indices' dtype.

        Returns
        -------
        TensorVariable
            ``(p.shape[0], size)`` indices.

        Raises
        ------
        TypeError
            If ``p`` is missing or ``a`` is given.
        ValueError
            If ``ndim`` is given, or ``size`` is not a positive integer or is
            larger than the number of outcomes (when both are known).
        NotImplementedError
            If ``p`` is not a matrix.
        """
        import pytensor.tensor as pt

        if p is None:
            raise TypeError(
                "MRG_RandomStreams.choice: p (a matrix, one distribution per row) is required."
            )
        if a is not None:
            raise TypeError(
                "MRG_RandomStreams.choice draws the columns of p: a must be None, as in "
                f"Theano; got a={a!r}."
            )
        if ndim is not None:
            raise ValueError("MRG_RandomStreams.choice takes no ndim (the result is a matrix).")
        p = pt.as_tensor_variable(p)
        if p.ndim != 2:
            raise NotImplementedError(
                f"MRG_RandomStreams.choice takes a matrix p, as Theano's; got {p.type}."
            )
        if p.dtype not in ("float16", "float32", "float64"):
            import pytensor

            p = pt.cast(p, pytensor.config.floatX)
        outcomes = p.type.shape[1]
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            if size < 1:
                raise ValueError(f"MRG_RandomStreams.choice: size must be >= 1; got {size}.")
            if not replace and outcomes is not None and size > outcomes:
                raise ValueError(
                    f"MRG_RandomStreams.choice: cannot draw size={size} outcomes without "
                    f"replacement from rows of {outcomes}."
                )
        else:
            size = pt.as_tensor_variable(size)
            if size.ndim != 0 or size.dtype not in pt.integer_dtypes:
                raise ValueError(
                    f"MRG_RandomStreams.choice: size must be an integer; got {size.type}."
                )
        rows = p.shape[0]
        if replace:
            u = self.uniform(size=(rows, size), dtype=p.dtype)
            cdf = pt.cumsum(p, axis=1)
            cdf = cdf / cdf[:, -1].dimshuffle(0, "x")
            drawn = pt.sum(pt.ge(u[:, :, None], cdf[:, None, :]), axis=-1)
            # A draw at the top of the rounded sum takes the last outcome.
            return pt.cast(pt.minimum(drawn, p.shape[1] - 1), dtype)
        u = self.uniform(size=(rows, p.shape[1]), dtype=p.dtype)
        ring = -pt.log(u) / p  # outcomes of probability 0 ring at +inf: never first
        return pt.cast(pt.argsort(ring, axis=1)[:, :size], dtype)

    def multinomial_wo_replacement(
        self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None
    ):
        """Theano's deprecated name for ``choice(size=n, replace=False, p=pvals)``."""
        warnings.warn(
            "MRG_RandomStreams.multinomial_wo_replacement() is deprecated, as in Theano: "
            "use MRG_RandomStreams.choice(size=n, replace=False, p=pvals).",
            DeprecationWarning,
            stacklevel=2,
        )
        if size is not None:
            raise ValueError(
                "MRG_RandomStreams.multinomial_wo_replacement takes no size: n draws from "
                "each row of pvals."
            )
        return self.choice(size=n, replace=False, p=pvals, ndim=ndim, dtype=dtype)


__all__ = ["MRG_RandomStreams"]
