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


def _installed(name):
    if name not in seqgraph.available_backends():
        pytest.skip(f"backend {name!r} is not installed")
    return name


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """Each backend seqgraph compiles for; skipped where not installed."""
    return _installed(request.param)


@pytest.fixture(
    params=[
        pytest.param("c", id="c"),
        pytest.param("numba", id="numba", marks=pytest.mark.slow),
        pytest.param("jax", id="jax"),
    ]
)
def lstm_backend(request):
    """As ``backend``, with Numba marked slow.

    With an empty cache, Numba takes about a minute on 2 cores to compile an
    LSTM's gradient scan (PyTensor 3.3.8); the Elman and layer tests keep
    Numba in the default run.
    """
    return _installed(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
