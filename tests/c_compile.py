"""Quicker C compiles for the test run: -O0 and a precompiled header.

With an empty cache, a first test run spends most of its time in g++, compiling
the C module of each new PyTensor op (600 or so). Two things cut that to about a
third, measured on one such module: no optimisation (-O0; the tests check
results, the benchmark suite measures speed at PyTensor's usual -O3), and the
headers every module starts with (Python, NumPy, PyTensor's helper: half of an
-O0 compile) read from a precompiled header that ``-include`` puts first.

If g++ rejects the precompiled header (other flags, another compiler), it reads
the header's text instead: the modules come out the same, only slower. It is
made with the options of the process's modules, -march=native's equivalent
included. PyTensor finds those by compiling a test program with
``gcc__cxxflags``, which cannot hold the ``-include`` yet (the header needs
Python's include folder): so each test process adds it itself, after that
detection, and never through PYTENSOR_FLAGS, which the processes that tests
start inherit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

# Set in PYTENSOR_FLAGS before PyTensor is imported.
OPTIMISE = "-O0"
# Set where this module added OPTIMISE, so that test processes started by
# the first (pytest-xdist's) know the flag for theirs.
MARKER = "SEQGRAPH_TESTS_QUICK_C"

# The lines every module PyTensor generates starts with (CLinker's get_src_code).
HEADER = """\
#include <Python.h>
#include "pytensor_mod_helper.h"
#include <math.h>
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#include <numpy/npy_math.h>
#include <vector>
#include <algorithm>
"""


def set_flags_before_import(environ=os.environ) -> bool:
    """Add -O0 to ``gcc__cxxflags`` in PYTENSOR_FLAGS unless it is given there.

    Returns whether it did, or a parent test process did (and so whether
    :func:`use_precompiled_header` may add to it).
    """
    if environ.get(MARKER) == "1":
        return True
    flags = environ.get("PYTENSOR_FLAGS", "")
    if "gcc__cxxflags" in flags:
        return False
    environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"gcc__cxxflags={OPTIMISE}") if f)
    environ[MARKER] = "1"
    return True


def module_options():
    """The options PyTensor gives g++ for every module, as its compile_str builds them.

    The first call in a process runs PyTensor's -march=native detection.
    """
    from pytensor.link.c.cmodule import GCC_compiler, std_include_dirs

    base = ["-g", "-O3", "-fno-math-errno"]  # compile_str's -g, then CLinker.compile_args
    base += ["-Wno-unused-label", "-Wno-unused-variable", "-Wno-write-strings"]
    return [*base, *GCC_compiler.compile_args(), *(f"-I{d}" for d in std_include_dirs())]


def use_precompiled_header() -> Path | None:
    """Build the precompiled header once and have every C compile include it.

    Call after PyTensor is imported with :func:`set_flags_before_import`'s
    flags, in each test process. Adds ``-include`` to this process's
    ``gcc__cxxflags`` and returns the header, or returns None and changes
    nothing where it cannot be built.
    """
    import pytensor

    if pytensor.config.gcc__cxxflags != OPTIMISE or "g++" not in Path(pytensor.config.cxx).name:
        return None
    try:
        options = module_options()
    except Exception:  # PyTensor's internals moved: compile without it
        return None
    key = hashlib.sha256("\n".join([pytensor.config.cxx, HEADER, *options]).encode()).hexdigest()
    folder = Path(pytensor.config.compiledir) / "seqgraph-tests-pch" / key[:16]
    header = folder / "modules.h"
    if any(c.isspace() for c in str(header)):  # gcc__cxxflags is split at spaces
        return None
    if not (folder / "modules.h.gch").exists():
        folder.mkdir(parents=True, exist_ok=True)
        # Several test processes may build it at once: each writes its own file
        # and renames it into place.
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            text = Path(tmp) / "modules.h"
            text.write_text(HEADER)
            built = subprocess.run(
                [pytensor.config.cxx, "-x", "c++-header", *options, str(text)],
                capture_output=True,
                timeout=300,
            )
            if built.returncode != 0:
                return None
            os.replace(text, header)
            os.replace(Path(tmp) / "modules.h.gch", folder / "modules.h.gch")
    pytensor.config.gcc__cxxflags = f"{OPTIMISE} -include {header}"
    return header
