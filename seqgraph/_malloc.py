"""Large per-call blocks reused rather than faulted in anew on every call (Linux, glibc).

XLA's CPU runtime allocates all the temporaries of one call of a compiled
function as one block: 116 MB for the training step of the benchmark's
medium LSTM.  By default JAX runs a CPU program on one of its worker threads
(asynchronous dispatch), and glibc serves a block that large from a thread's
arena with ``mmap`` and gives it back with ``munmap`` when the call ends, so
every call starts on fresh pages: about 29,000 page faults per call there,
each page zeroed by the kernel, a fifth of the step.

Two settings, made when seqgraph is imported (:func:`keep_freed_memory`) and
when it first configures JAX (:func:`jax_dispatch_settings`):

* glibc serves large blocks from the heap rather than ``mmap``
  (``M_MMAP_MAX=0``) and keeps up to 2 GiB of freed memory at the top of the
  heap (``M_TRIM_THRESHOLD``), as the ``MALLOC_*`` environment variables
  would;
* JAX runs CPU programs on the calling thread (``jax_cpu_enable_async_dispatch``
  off), so that their blocks come from the main arena, where the first
  setting keeps them.  (Making every thread allocate from the main arena,
  ``M_ARENA_MAX=1``, does the same for asynchronous dispatch, but the threads
  then contend for one lock: the RNNSLU tutorial's 0.6 ms step took 25-40%
  longer.)

The next call reuses the same pages.  The settings are the process's: what
else runs in it (NumPy, PyTorch) keeps its freed memory too, and the
process's memory stays near its peak rather than shrinking between calls.
``SEQGRAPH_MALLOC_TUNING=0`` leaves both alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
KEPT_BYTES = 2**31 - 1  # the largest trim threshold mallopt takes (an int)

_applied: bool | None = None


def enabled() -> bool:
    """Whether seqgraph makes these settings (``$SEQGRAPH_MALLOC_TUNING``, default 1).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_MALLOC_TUNING`` is set to anything but ``0`` or ``1``.
    """
    from seqgraph._jax import _switch

    return _switch("SEQGRAPH_MALLOC_TUNING", True)


def keep_freed_memory() -> bool:
    """Set glibc's ``malloc`` to keep large freed blocks (once per process).

    Returns
    -------
    bool
        True if the setting is in force: on Linux with glibc, unless
        ``$SEQGRAPH_MALLOC_TUNING`` is ``0``.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux") or not enabled():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    # glibc only (musl has neither the version call nor these parameters).
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, KEPT_BYTES))
    _applied = all(mallopt(param, value) == 1 for param, value in settings)
    return _applied


def jax_dispatch_settings() -> dict:
    """JAX settings that go with :func:`keep_freed_memory` (empty when it is not in force).

    Synchronous CPU dispatch, so that a program's temporaries are allocated
    by the calling thread.  JAX reads it when it creates its CPU client: a
    process that used JAX before seqgraph keeps its dispatch.
    """
    return {"jax_cpu_enable_async_dispatch": False} if keep_freed_memory() else {}
