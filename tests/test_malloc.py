"""Large freed blocks are reused once seqgraph is imported (Linux, glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import seqgraph  # noqa: F401  (applies the setting)
from seqgraph import _malloc

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="glibc's malloc only",
)

# Allocate and free a 64 MiB block, then count the page faults of a second
# block of the same size; then report JAX's CPU dispatch after seqgraph
# configured JAX.
_PROBE = """
import ctypes, ctypes.util, resource
import seqgraph

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
block = libc.malloc(size)
ctypes.memset(block, 1, size)
libc.free(block)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = libc.malloc(size)
ctypes.memset(block, 1, size)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
libc.free(block)
try:
    import jax
except ImportError:
    print("no-jax")
else:
    from seqgraph import _jax
    _jax.configure()
    print(jax.config.values["jax_cpu_enable_async_dispatch"])
"""


def _probe(setting):
    env = dict(os.environ, SEQGRAPH_MALLOC_TUNING=setting)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    faults, dispatch = out.stdout.split()[-2:]
    return int(faults), dispatch


def test_a_freed_block_is_reused_without_page_faults():
    pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    # Without the setting glibc maps each block afresh: every page faults.
    faults, asynchronous = _probe("0")
    assert faults > pages // 2
    assert asynchronous in ("True", "no-jax")
    faults, asynchronous = _probe("1")
    assert faults < pages // 20
    # JAX runs CPU programs on the calling thread, whose blocks are the ones kept.
    assert asynchronous in ("False", "no-jax")


def test_setting_is_in_force_after_import_and_switchable(monkeypatch):
    assert _malloc.keep_freed_memory()
    assert _malloc.jax_dispatch_settings() == {"jax_cpu_enable_async_dispatch": False}
    monkeypatch.setenv("SEQGRAPH_MALLOC_TUNING", "0")
    assert not _malloc.enabled()
    monkeypatch.setenv("SEQGRAPH_MALLOC_TUNING", "maybe")
    with pytest.raises(ValueError, match="SEQGRAPH_MALLOC_TUNING must be 0 or 1"):
        _malloc.enabled()
