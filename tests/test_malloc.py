"""glibc's malloc keeps large freed blocks once seqgraph is imported (Linux)."""

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

# Allocate and free a 64 MiB block from a worker thread (as XLA's runtime
# does), then count the page faults of a second block of the same size.
_PROBE = """
import ctypes, ctypes.util, resource, threading
import seqgraph

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
faults = []

def work():
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    libc.free(block)

thread = threading.Thread(target=work)
thread.start()
thread.join()
print(faults[0])
"""


def _faults(setting):
    env = dict(os.environ, SEQGRAPH_MALLOC_TUNING=setting)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1])


def test_a_freed_block_is_reused_without_page_faults():
    pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    # Without the setting glibc maps each block afresh: every page faults.
    assert _faults("0") > pages // 2
    assert _faults("1") < pages // 20


def test_setting_is_in_force_after_import_and_switchable(monkeypatch):
    assert _malloc.keep_freed_memory()
    monkeypatch.setenv("SEQGRAPH_MALLOC_TUNING", "0")
    assert not _malloc.enabled()
    monkeypatch.setenv("SEQGRAPH_MALLOC_TUNING", "maybe")
    with pytest.raises(ValueError, match="SEQGRAPH_MALLOC_TUNING must be 0 or 1"):
        _malloc.enabled()
