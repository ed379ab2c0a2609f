"""``theano.sandbox.linalg``: Theano's linear algebra under its sandbox names.

Theano gathered here the solvers and decompositions of ``theano.tensor.slinalg``
and ``nlinalg`` with two functions of its own, :func:`psd` and
:func:`spectral_radius_bound` (in ``ops``); Gaussian-process and Bayesian
code of its time imported them from here.
"""

from seqgraph.theano._removed import missing
from seqgraph.theano.sandbox.linalg import ops  # noqa: F401
from seqgraph.theano.sandbox.linalg.ops import psd, spectral_radius_bound  # noqa: F401
from seqgraph.theano.tensor.nlinalg import (  # noqa: F401
    alloc_diag,
    det,
    diag,
    eig,
    eigh,
    extract_diag,
    matrix_inverse,
    trace,
)
from seqgraph.theano.tensor.slinalg import cholesky, eigvalsh, solve  # noqa: F401


def __getattr__(name):
    raise missing("theano.sandbox.linalg", name)
