"""How fast the machine is right now: two fixed workloads timed around a run.

A shared or virtual machine has phases: on this project's 2-core machine one
training step's time drifts by 10-30% between runs and by up to 2x between
days, sometimes within a minute.  A ratio measured in one run stays
comparable, but an absolute time means little without knowing the phase it
was measured in.  :func:`speed_probe` times two workloads that depend on
nothing but Python and NumPy, so that two runs' absolute figures can be
compared by the speed the machine had:

* ``python_ns``: one iteration of a pure-Python loop of integer arithmetic
  (the interpreter's speed, which bounds PyTensor's rewrites and JAX's
  tracing, so compile times);
* ``gemm_gflops``: float32 products of 256x256 matrices by NumPy's own BLAS,
  on its own threads (one per core unless ``OPENBLAS_NUM_THREADS`` says
  otherwise): the speed of the cores' vector units.

Each is the median over ``repeats`` timings of about 10 ms, with the fastest
and slowest kept beside it: a wide spread says the phase changed while the
probe ran.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

__all__ = ["describe", "speed_probe"]

_LOOP = 200_000
_SIZE = 256
_PRODUCTS = 20


def _python_loop():
    total = 0
    for i in range(_LOOP):
        total += i * i
    return total


def _timings(work, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def speed_probe(repeats=7):
    """Time the interpreter and NumPy's float32 GEMM now.

    Parameters
    ----------
    repeats : int
        Timings of each workload (each about 10 ms on a current core).

    Returns
    -------
    dict
        ``python_ns`` (ns per loop iteration) and ``gemm_gflops``, each the
        median, with ``python_ns_range`` and ``gemm_gflops_range`` (best and
        worst), and ``time`` (when the probe ran).

    Raises
    ------
    ValueError
        If ``repeats`` is not a positive integer.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}.")
    rng = np.random.default_rng(0)
    a = rng.random((_SIZE, _SIZE), dtype=np.float32)
    b = rng.random((_SIZE, _SIZE), dtype=np.float32)

    def gemm():
        for _ in range(_PRODUCTS):
            a @ b

    gemm()  # BLAS starts its threads on the first product
    loop = [t / _LOOP * 1e9 for t in _timings(_python_loop, repeats)]
    flops = 2 * _SIZE**3 * _PRODUCTS
    rates = [flops / t / 1e9 for t in _timings(gemm, repeats)]
    return {
        "time": time.strftime("%H:%M:%S"),
        "python_ns": statistics.median(loop),
        "python_ns_range": [min(loop), max(loop)],
        "gemm_gflops": statistics.median(rates),
        "gemm_gflops_range": [max(rates), min(rates)],
    }


def describe(probe):
    """One line for the run's log, medians then ranges.

    For example ``Python 52 ns/iteration (49-53), float32 GEMM 158 GFLOP/s (106-161)``.
    """
    return (
        f"Python {probe['python_ns']:.0f} ns/iteration "
        f"({probe['python_ns_range'][0]:.0f}-{probe['python_ns_range'][1]:.0f}), "
        f"float32 GEMM {probe['gemm_gflops']:.0f} GFLOP/s "
        f"({probe['gemm_gflops_range'][1]:.0f}-{probe['gemm_gflops_range'][0]:.0f})"
    )
