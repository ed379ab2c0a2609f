"""``theano.sandbox.linalg.ops``: the hint :func:`psd` and :func:`spectral_radius_bound`.

Theano's ``psd`` attached a hint that its own rewrites read (a solve with a
positive semi-definite matrix became a Cholesky solve); PyTensor has no such
hints, so the variable passes through unchanged and ``solve`` takes
``assume_a="pos"`` where the rewrite would have mattered.  The rewrites and
hint machinery themselves (``Hint``, ``HintsOptimizer``, ``is_psd`` ...) are
not provided.
"""

import numbers

import pytensor.tensor as pt

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nlinalg import (  # noqa: F401
    alloc_diag,
    det,
    diag,
    extract_diag,
    matrix_inverse,
    trace,
)
from seqgraph.theano.tensor.slinalg import cholesky, solve  # noqa: F401


def psd(v):
    """``v``, which the caller states is symmetric positive semi-definite (a hint only).

    Parameters
    ----------
    v : matrix-like

    Returns
    -------
    TensorVariable
        ``v`` itself, as a tensor variable.
    """
    return pt.as_tensor_variable(v)


def spectral_radius_bound(X, log2_exponent):  # noqa: N803 - Theano's name
    """An upper bound on the largest eigenvalue of the symmetric matrix ``X``.

    ``trace(X ** (2 ** k)) ** (2 ** -k)`` for ``k = log2_exponent``, the
    matrix power taken by ``k`` squarings (V. Pan, 1990, as Theano's); the
    larger ``k``, the tighter the bound and the more products.

    Parameters
    ----------
    X : matrix-like
        Square and symmetric.
    log2_exponent : int
        ``k >= 1``.

    Returns
    -------
    TensorVariable
        A scalar.

    Raises
    ------
    TypeError
        If ``X`` is not a matrix or ``log2_exponent`` is not an integer.
    ValueError
        If ``log2_exponent`` is not positive.
    """
    X = pt.as_tensor_variable(X)
    if X.type.ndim != 2:
        raise TypeError(f"spectral_radius_bound: X must be a matrix; got {X.type}.")
    if isinstance(log2_exponent, bool) or not isinstance(log2_exponent, numbers.Integral):
        raise TypeError(
            f"spectral_radius_bound: log2_exponent must be an integer; got {log2_exponent!r}."
        )
    if log2_exponent <= 0:
        raise ValueError(
            f"spectral_radius_bound: log2_exponent must be positive; got {log2_exponent}."
        )
    power = X
    for _ in range(log2_exponent):
        power = pt.dot(power, power)
    return pt.pow(pt.trace(power), 2.0 ** (-log2_exponent))


def __getattr__(name):
    raise missing("theano.sandbox.linalg.ops", name)
