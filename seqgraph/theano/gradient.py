"""``theano.gradient``: grad, grad_clip, disconnected_grad, zero_grad, verify_grad ..."""

from pytensor.gradient import (  # noqa: F401
    DisconnectedType,
    disconnected_grad,
    grad_clip,
    grad_not_implemented,
    grad_undefined,
    hessian,
    jacobian,
    verify_grad,
    zero_grad,
)

from seqgraph.theano import grad  # noqa: F401
from seqgraph.theano._removed import missing


def __getattr__(name):
    raise missing("theano.gradient", name)
