"""Fixtures shared by the test suite."""

from __future__ import annotations

import numpy as np
import pytest

import seqgraph

# Theano-style scripts that tests run with `seqgraph run`, not test modules.
collect_ignore = ["theano_scripts"]

BACKEND_PARAMS = [
    pytest.param("c", id="c"),
    pytest.param("numba", id="numba"),
    pytest.param("jax", id="jax"),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """Each backend seqgraph compiles for; skipped where not installed."""
    name = request.param
    if name not in seqgraph.available_backends():
        pytest.skip(f"backend {name!r} is not installed")
    return name


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
