"""``theano.tests.unittest_tools``: seeds and gradient checks for the tests of custom ops.

``utt.verify_grad(op, [x0, ...])`` compares an op's symbolic gradient with
finite differences at the given points, compiled on seqgraph.theano's
backend; the random projections it draws come from ``unittests.rseed``
(Theano's 666 unless set), as in Theano.
"""

from __future__ import annotations

import numpy as np

from seqgraph.theano import gradient

__all__ = ["assert_allclose", "fetch_seed", "seed_rng", "verify_grad"]


def fetch_seed(pseed=None):
    """The seed of the tests: ``pseed``, else ``theano.config.unittests.rseed``."""
    from seqgraph.theano import config

    seed = pseed if pseed is not None else config.unittests.rseed
    if seed in (None, "random"):
        return None
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"unittests.rseed must be an integer or 'random'; got {seed!r}.") from None


def seed_rng(pseed=None):
    """Seed NumPy's global generator with :func:`fetch_seed`; return the seed."""
    seed = fetch_seed(pseed)
    np.random.seed(seed)  # noqa: NPY002 - Theano's helper seeds NumPy's global generator
    return seed


def verify_grad(op, pt, n_tests=2, rng=None, *args, **kwargs):
    """:func:`theano.gradient.verify_grad` with a generator seeded by :func:`fetch_seed`."""
    if rng is None:
        rng = np.random.RandomState(fetch_seed())
    return gradient.verify_grad(op, pt, n_tests, rng, *args, **kwargs)


verify_grad.E_grad = gradient.GradientError


def assert_allclose(expected, value, rtol=None, atol=None):
    """``numpy.testing.assert_allclose`` with tolerances for the values' float type."""
    value = np.asarray(value)
    loose = value.dtype in (np.float16, np.float32) or np.asarray(expected).dtype in (
        np.float16,
        np.float32,
    )
    if rtol is None:
        rtol = 1e-3 if loose else 1e-5
    if atol is None:
        atol = 1e-4 if loose else 1e-8
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)
