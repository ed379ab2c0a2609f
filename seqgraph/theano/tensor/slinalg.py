"""``theano.tensor.slinalg``: linear algebra on SciPy's routines, under Theano's names.

PyTensor keeps these in ``pytensor.tensor.linalg``; the triangular and
symmetric solvers Theano named apart are ``solve`` with SciPy's options.
"""

from pytensor.tensor.linalg import (  # noqa: F401
    Cholesky,
    Eigvalsh,
    Expm,
    Solve,
    cholesky,
    eigvalsh,
    expm,
    kron,
    solve,
    solve_triangular,
)

from seqgraph.theano._removed import missing


def solve_lower_triangular(a, b):
    """``x`` with ``a x = b`` for a lower-triangular ``a``."""
    return solve_triangular(a, b, lower=True)


def solve_upper_triangular(a, b):
    """``x`` with ``a x = b`` for an upper-triangular ``a``."""
    return solve_triangular(a, b, lower=False)


def solve_symmetric(a, b):
    """``x`` with ``a x = b`` for a symmetric ``a``."""
    return solve(a, b, assume_a="sym")


def __getattr__(name):
    raise missing("theano.tensor.slinalg", name)
