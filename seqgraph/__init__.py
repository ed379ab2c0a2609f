"""seqgraph: recurrent networks on PyTensor, with Theano's habits kept working.

Importing seqgraph

* links PyTensor's C backend to the OpenBLAS that seqgraph installs (unless
  ``blas__ldflags`` is configured by the user),
* makes ``float32`` the default ``floatX`` (unless ``PYTENSOR_FLAGS`` or
  ``SEQGRAPH_FLOATX`` says otherwise), the precision recurrent networks are
  trained in and the one GPUs are fast at,
* gives PyTensor's softmax and log-softmax a direct shape inference (see
  :mod:`seqgraph._pytensor_fixes`), and
* on Linux, sets glibc's ``malloc`` to keep large freed blocks for reuse, so
  that XLA's per-call temporaries are not faulted in anew on every call (see
  :mod:`seqgraph._malloc`; ``SEQGRAPH_MALLOC_TUNING=0`` leaves it alone).
"""

from __future__ import annotations

import os as _os

from seqgraph import _malloc

# First, before libraries start the threads whose allocations it concerns.
_malloc.keep_freed_memory()

import pytensor as _pytensor  # noqa: E402

from seqgraph import _pytensor_fixes  # noqa: E402
from seqgraph._blas import configure_blas as _configure_blas  # noqa: E402

BLAS_SOURCE = _configure_blas()
_pytensor_fixes.install()

if "SEQGRAPH_FLOATX" in _os.environ:
    _pytensor.config.floatX = _os.environ["SEQGRAPH_FLOATX"]
elif "floatX" not in _os.environ.get("PYTENSOR_FLAGS", ""):
    _pytensor.config.floatX = "float32"

from seqgraph import cells, diagnostics, init, layers, models, params, torch_io  # noqa: E402, I001
from seqgraph import ctc, profiling, training, updates  # noqa: E402, I001
from seqgraph.gradcheck import gradcheck  # noqa: E402, I001
from seqgraph.backends import (  # noqa: E402
    BACKENDS,
    available_backends,
    default_backend,
)
from seqgraph.function import Function, function  # noqa: E402
from seqgraph.scan import ScanError, scan  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "BLAS_SOURCE",
    "Function",
    "ScanError",
    "available_backends",
    "cells",
    "ctc",
    "diagnostics",
    "gradcheck",
    "default_backend",
    "function",
    "init",
    "layers",
    "models",
    "params",
    "profiling",
    "scan",
    "torch_io",
    "training",
    "updates",
]
