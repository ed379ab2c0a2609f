"""Initialisers: shapes, statistics, determinism and errors."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest

from seqgraph.init import Constant, Glorot, Normal, Orthogonal, Uniform, as_initializer, as_rng


@pytest.mark.parametrize(
    "init", [Uniform(0.2), Normal(0.1), Glorot(), Glorot(distribution="normal"), Orthogonal()]
)
def test_seed_makes_values_deterministic(init):
    a = init((40, 30), as_rng(7))
    b = init((40, 30), as_rng(7))
    c = init((40, 30), as_rng(8))
    assert a.dtype == pytensor.config.floatX and a.shape == (40, 30)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_uniform_range_and_normal_moments():
    u = Uniform(0.2)((200, 200), as_rng(0), dtype="float64")
    assert -0.2 <= u.min() and u.max() <= 0.2 and u.max() > 0.19
    n = Normal(0.5, mean=1.0)((400, 400), as_rng(0), dtype="float64")
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.5) < 0.01


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_glorot_variance(distribution):
    w = Glorot(gain=2.0, distribution=distribution)((300, 500), as_rng(0), dtype="float64")
    expected = 4.0 * 2.0 / (300 + 500)
    assert abs(w.var() / expected - 1) < 0.02


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4)])
def test_orthogonal_rows_or_columns(shape):
    w = Orthogonal(gain=1.5)(shape, as_rng(0), dtype="float64")
    small = min(shape)
    gram = w @ w.T if shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-10)


def test_constant_and_coercions():
    assert np.all(Constant(3.0)((2, 2)) == 3.0)
    assert np.all(as_initializer(1.5, "b_init")((3,)) == 1.5)
    fixed = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(as_initializer(fixed, "W_init")((2, 3)), fixed)
    with pytest.raises(ValueError, match=r"W_init has shape \(2, 3\); expected \(3, 2\)"):
        as_initializer(fixed, "W_init")((3, 2))
    with pytest.raises(TypeError, match="W_init must be an Initializer"):
        as_initializer("glorot", "W_init")


def test_initializer_errors():
    with pytest.raises(ValueError, match="scale must be > 0"):
        Uniform(0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        Normal(-1)
    with pytest.raises(ValueError, match="distribution must be"):
        Glorot(distribution="cauchy")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        Orthogonal()((5,))
    with pytest.raises(TypeError, match="seed must be an int"):
        as_rng("seven")
