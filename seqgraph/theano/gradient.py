"""``theano.gradient``: grad, grad_clip, grad_scale, disconnected_grad, zero_grad, Rop, Lop, verify_grad ..."""

from pytensor.gradient import (  # noqa: F401
    DisconnectedGrad,
    DisconnectedInputError,
    DisconnectedType,
    GradClip,
    GradientError,
    GradScale,
    NullTypeGradError,
    UndefinedGrad,
    ZeroGrad,
    disconnected_grad,
    grad_clip,
    grad_not_implemented,
    grad_scale,
    grad_undefined,
    hessian,
    jacobian,
    numeric_grad,
    pullback,
    pushforward,
    subgraph_grad,
    undefined_grad,
    zero_grad,
)
from pytensor.gradient import verify_grad as _verify_grad

from seqgraph.theano import grad  # noqa: F401
from seqgraph.theano._removed import missing


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):  # noqa: N802
    """Theano's ``Rop(f, wrt, eval_points)``: the Jacobian of ``f`` times ``eval_points``."""
    return pushforward(
        f,
        wrt,
        eval_points,
        disconnected_outputs=disconnected_outputs,
        return_disconnected=return_disconnected,
    )


def Lop(  # noqa: N802
    f,
    wrt,
    eval_points,
    consider_constant=None,
    disconnected_inputs="raise",
    return_disconnected="zero",
):
    """Theano's ``Lop(f, wrt, eval_points)``: ``eval_points`` times the Jacobian of ``f``."""
    return pullback(
        f,
        wrt,
        eval_points,
        consider_constant=consider_constant,
        disconnected_inputs=disconnected_inputs,
        return_disconnected=return_disconnected,
    )


def verify_grad(
    fun,
    pt,
    n_tests=2,
    rng=None,
    eps=None,
    out_type=None,
    abs_tol=None,
    rel_tol=None,
    mode=None,
    cast_to_output_type=False,
    no_debug_ref=True,
):
    """Theano's ``verify_grad``, compiled on seqgraph.theano's backend by default.

    PyTensor's own default mode is Numba, which compiles each of the
    check's functions for seconds (and runs a Python Op in object mode).
    """
    if mode is None:
        from seqgraph.backends import get_mode
        from seqgraph.theano import _BACKEND

        mode = get_mode(_BACKEND)
    return _verify_grad(
        fun,
        pt,
        n_tests=n_tests,
        rng=rng,
        eps=eps,
        out_type=out_type,
        abs_tol=abs_tol,
        rel_tol=rel_tol,
        mode=mode,
        cast_to_output_type=cast_to_output_type,
        no_debug_ref=no_debug_ref,
    )


verify_grad.E_grad = GradientError  # what Theano's tests catch


def consider_constant(x):
    """Theano's ``consider_constant(x)``: ``x`` with a zero gradient (``zero_grad``)."""
    return zero_grad(x)


def __getattr__(name):
    raise missing("theano.gradient", name)
