"""glibc's ``malloc`` set to keep large freed blocks, so that each call does not fault them in anew.

XLA's CPU runtime allocates all the temporaries of one call of a compiled
function as one block, from one of its worker threads: 116 MB for the
training step of the benchmark's medium LSTM.  glibc serves a block that
large from a thread's arena with ``mmap`` and gives it back with ``munmap``
when the call ends, so every call starts on fresh pages: about 29,000 page
faults per call there, each page zeroed by the kernel, a fifth of the step.

:func:`keep_freed_memory` makes every thread allocate from the main arena
(``M_ARENA_MAX=1``), serves large blocks from the heap rather than ``mmap``
(``M_MMAP_MAX=0``) and keeps up to 2 GiB of freed memory at the top of the
heap (``M_TRIM_THRESHOLD``): the next call reuses the same pages.  It is
what the ``MALLOC_*`` environment variables would do, applied when seqgraph
is imported.  The setting is the process's: whatever else runs in it (NumPy,
PyTorch) keeps its freed memory too; the process's memory stays near its
peak rather than shrinking between calls.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
KEPT_BYTES = 2**31 - 1  # the largest trim threshold mallopt takes (an int)

_applied: bool | None = None


def enabled() -> bool:
    """Whether seqgraph tunes ``malloc`` (``$SEQGRAPH_MALLOC_TUNING``, default 1).

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
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, KEPT_BYTES))
    _applied = all(mallopt(param, value) == 1 for param, value in settings)
    return _applied
