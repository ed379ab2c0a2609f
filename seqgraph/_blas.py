"""Point PyTensor's C backend at the OpenBLAS that seqgraph's install brings.

A pip-installed PyTensor looks for a system BLAS (MKL, ``libblas``,
``libopenblas``) and, finding none, warns that it "could not link to a BLAS"
and falls back to slow loops.  seqgraph depends on ``scipy-openblas32``, the
LP64 OpenBLAS build that SciPy's own wheels are made with.  Its symbols carry a
``scipy_`` prefix (``scipy_sgemm_``), so linking alone is not enough: PyTensor's
generated C code calls ``sgemm_``.  The BLAS ops pass the "other" flags of
``blas__ldflags`` to the compiler, so we add one ``-Dname_=scipy_name_`` define
per routine that PyTensor declares, which renames the declarations and calls at
compile time.  Nothing is built or downloaded at run time.

The user always wins: if ``blas__ldflags`` is given through ``PYTENSOR_FLAGS``
or a ``.pytensorrc``, seqgraph leaves it alone.

Threads: recurrent layers call GEMMs on small matrices (batch x hidden) once
per step, thousands of times per call.  OpenBLAS's threads cost more than they
bring there: measured on 2 cores (``benchmarks/backend_choice.py``), an LSTM
training step took 73 ms with OpenBLAS's default threading and several times
less with one thread.  seqgraph sets this OpenBLAS (not NumPy's, which is a
separate library) to ``$SEQGRAPH_BLAS_THREADS`` threads, else
``$OPENBLAS_NUM_THREADS``, else 1.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import re
from functools import cache
from pathlib import Path

__all__ = ["blas_threads", "configure_blas", "openblas_ldflags", "set_blas_threads"]


def _user_set_blas() -> bool:
    if "blas__ldflags" in os.environ.get("PYTENSOR_FLAGS", ""):
        return True
    for rc in os.environ.get("PYTENSORRC", "~/.pytensorrc").split(os.pathsep):
        path = Path(rc).expanduser()
        if path.is_file() and "ldflags" in path.read_text(errors="ignore"):
            return True
    return False


@cache
def _load(lib_dir: Path, lib_name: str):
    candidates = sorted(lib_dir.glob(f"lib{lib_name}.*"))
    if not candidates:
        return None
    try:
        return ctypes.CDLL(str(candidates[0]))
    except OSError:
        return None


def blas_threads() -> int:
    """Number of threads seqgraph gives the C backend's OpenBLAS."""
    for name in ("SEQGRAPH_BLAS_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(name)
        if value:
            try:
                return max(1, int(value))
            except ValueError as exc:
                raise ValueError(f"{name}={value!r} must be a positive integer.") from exc
    return 1


def set_blas_threads(n: int) -> None:
    """Set the thread count of the OpenBLAS that the C backend links.

    Parameters
    ----------
    n : int
        Number of threads (>= 1).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    import scipy_openblas32

    lib = _load(Path(scipy_openblas32.get_lib_dir()), scipy_openblas32.get_library())
    if lib is not None:
        lib.scipy_openblas_set_num_threads(ctypes.c_int(n))


def _pytensor_blas_modules():
    """PyTensor's modules that declare BLAS routines (their layout moved in 3.x)."""
    import importlib

    names = (
        "pytensor.tensor.blas_headers",  # PyTensor <= 3.0
        "pytensor.tensor.blas_c",
        "pytensor.tensor.blas.c_code.blas_headers",  # PyTensor >= 3.1
        "pytensor.tensor.blas.c_code.codegen",
        "pytensor.tensor.blas.batched",
    )
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


@cache
def openblas_ldflags() -> str:
    """Return ``blas__ldflags`` that link PyTensor's C code to scipy-openblas32.

    Returns
    -------
    str
        The flags, or ``""`` when ``scipy_openblas32`` is not installed or its
        library cannot be loaded.
    """
    try:
        import scipy_openblas32
    except ImportError:
        return ""
    lib_dir = Path(scipy_openblas32.get_lib_dir())
    lib_name = scipy_openblas32.get_library()
    lib = _load(lib_dir, lib_name)
    if lib is None:
        return ""
    # Read the routine names from PyTensor's own BLAS declarations (source text,
    # so that the lazy ``blas__ldflags`` default is not triggered).
    text = "".join(inspect.getsource(module) for module in _pytensor_blas_modules())
    names = sorted(set(re.findall(r"\b([a-z][a-z0-9]*_)\s*\(", text)))
    defines = [f"-D{n}=scipy_{n}" for n in names if hasattr(lib, f"scipy_{n}")]
    if not any(d.startswith("-Dsgemm_=") for d in defines):
        return ""
    return " ".join([f"-L{lib_dir}", f"-l{lib_name}", f"-Wl,-rpath,{lib_dir}", *defines])


def configure_blas() -> str:
    """Set ``pytensor.config.blas__ldflags`` unless the user already did.

    Returns
    -------
    str
        Where the BLAS comes from: ``"scipy-openblas32"``, ``"user"`` or
        ``"none"``.
    """
    import pytensor

    if _user_set_blas():
        return "user"
    flags = openblas_ldflags()
    if not flags:
        return "none"
    pytensor.config.blas__ldflags = flags
    set_blas_threads(blas_threads())
    return "scipy-openblas32"
