"""``theano.tensor.nlinalg``: linear algebra on NumPy's routines, under Theano's names.

PyTensor keeps these in ``pytensor.tensor.linalg``. Where Theano's signature
differs, the function here takes Theano's: ``qr(a, mode="reduced")`` returns
NumPy's reduced factors, ``eigh(a, UPLO)`` takes the triangle second, and
``diag`` builds a diagonal matrix from a vector or takes a matrix's diagonal.
"""

from pytensor.tensor import linalg as _linalg
from pytensor.tensor import trace  # noqa: F401
from pytensor.tensor.basic import AllocDiag, ExtractDiag, diagonal  # noqa: F401
from pytensor.tensor.basic import diag as _diag
from pytensor.tensor.linalg import (  # noqa: F401
    SVD,
    Det,
    Eig,
    Eigh,
    MatrixInverse,
    MatrixPinv,
    TensorInv,
    TensorSolve,
    det,
    eig,
    lstsq,
    matrix_dot,
    matrix_inverse,
    matrix_power,
    norm,
    pinv,
    svd,
    tensorinv,
    tensorsolve,
)

from seqgraph.theano._removed import missing

_QR_MODES = {"reduced": "economic", "complete": "full", "r": "r", "raw": "raw"}


def qr(a, mode="reduced"):
    """QR factors of ``a``, NumPy's modes: ``reduced`` (default), ``complete``, ``r``, ``raw``."""
    if mode not in _QR_MODES:
        raise ValueError(f"qr: mode must be one of {sorted(_QR_MODES)}; got {mode!r}.")
    return _linalg.qr(a, mode=_QR_MODES[mode])


def eigh(a, UPLO="L"):  # noqa: N803 - Theano's name
    """Eigenvalues and eigenvectors of the symmetric ``a``, from its ``UPLO`` triangle."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U'; got {UPLO!r}.")
    return _linalg.eigh(a, lower=UPLO == "L")


def diag(x):
    """A diagonal matrix from vector ``x``, or the diagonal of matrix ``x``."""
    return _diag(x)


def extract_diag(x):
    """The main diagonal of matrix ``x``."""
    return diagonal(x)


def alloc_diag(x):
    """A square matrix with vector ``x`` on its diagonal."""
    return _diag(x)


def __getattr__(name):
    raise missing("theano.tensor.nlinalg", name)
