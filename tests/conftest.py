"""Fixtures shared by the test suite, and the settings it runs under."""

from __future__ import annotations

import os

# Set before PyTensor and JAX are imported (seqgraph imports both):
# - The tests run in several processes (pytest-xdist) that may share one GPU; JAX
#   would give the first of them 75% of its memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# - With an empty cache, compiling PyTensor's C code is most of a first test run:
#   the tests compile it at -O0 with a precompiled header (tests/c_compile.py),
#   unless PYTENSOR_FLAGS gives gcc__cxxflags.
from tests import c_compile  # noqa: E402

QUICK_C = c_compile.set_flags_before_import()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import seqgraph  # noqa: E402

if QUICK_C:
    c_compile.use_precompiled_header()

# At most this many test processes with ``-n auto`` (the default, pyproject.toml):
# each holds PyTensor and JAX, a gigabyte or more.
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


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
def backend_numba_slow(request):
    """As ``backend``, with Numba marked slow.

    For graphs of several LSTM scans or their gradients: with an empty cache,
    Numba takes about a minute on 2 cores to compile each such test
    (PyTensor 3.3.8). Smaller Numba tests stay in the default run.
    """
    return _installed(request.param)


@pytest.fixture(params=[pytest.param("c", id="c"), pytest.param("jax", id="jax")])
def c_or_jax(request):
    """The C and JAX backends, for graphs of many slices: PyTensor's Numba backend
    takes minutes on 2 cores to compile them (one function per slice), so their
    Numba tests are fewer and marked slow."""
    return _installed(request.param)


@pytest.fixture
def numba_backend():
    """``"numba"``; skipped where it is not installed."""
    return _installed("numba")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


_JAX_COMPILES = []


@pytest.fixture
def jax_compiles():
    """A list that grows by one for every program JAX lowers or XLA compiles."""
    jax = pytest.importorskip("jax")
    if not _JAX_COMPILES:
        _JAX_COMPILES.append(None)  # (registered once per process)

        def listener(event, seconds, **kwargs):
            if event.endswith(("jaxpr_to_mlir_module_duration", "backend_compile_duration")):
                _JAX_COMPILES.append(event)

        jax.monitoring.register_event_duration_secs_listener(listener)
    return _JAX_COMPILES
