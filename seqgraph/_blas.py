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
"""

from __future__ import annotations

import ctypes
import inspect
import os
import re
from functools import cache
from pathlib import Path

__all__ = ["configure_blas", "openblas_ldflags"]


def _user_set_blas() -> bool:
    if "blas__ldflags" in os.environ.get("PYTENSOR_FLAGS", ""):
        return True
    for rc in os.environ.get("PYTENSORRC", "~/.pytensorrc").split(os.pathsep):
        path = Path(rc).expanduser()
        if path.is_file() and "ldflags" in path.read_text(errors="ignore"):
            return True
    return False


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
    candidates = sorted(lib_dir.glob(f"lib{lib_name}.*"))
    if not candidates:
        return ""
    try:
        lib = ctypes.CDLL(str(candidates[0]))
    except OSError:
        return ""
    # Read the routine names from PyTensor's own BLAS declarations (source text,
    # so that the lazy ``blas__ldflags`` default is not triggered).
    from pytensor.tensor import blas_c, blas_headers

    text = inspect.getsource(blas_headers) + inspect.getsource(blas_c)
    names = sorted(set(re.findall(r"\b([a-z][a-z0-9]*_)\s*\(", text)))
    defines = [f"-D{n}=scipy_{n}" for n in names if hasattr(lib, f"scipy_{n}")]
    if not any(d.startswith("-Dsgemm_=") for d in defines):
        return ""
    return " ".join(
        [f"-L{lib_dir}", f"-l{lib_name}", f"-Wl,-rpath,{lib_dir}", *defines]
    )


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
    return "scipy-openblas32"
