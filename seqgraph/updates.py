"""Optimizers: pure functions from a loss (or gradients) to an ordered update list.

Every optimizer is called as ``opt(loss_or_grads, params, learning_rate=...,
...)`` and returns an :class:`~collections.OrderedDict` ``{shared: new_value}``
for :func:`seqgraph.function`: first the parameters' updates, then those of
the optimizer's own state (moments, accumulators, step counter), which are
new shared variables named after the parameter they belong to.

The learning rate may be a shared variable: changing its value (a schedule,
halving on a plateau) then never recompiles the training function.

The gradient of a row lookup ``W[ids]`` (an embedding) is zero except on the
rows in ``ids``. Where a rule leaves a parameter unchanged at a zero gradient
(:func:`sgd`, :func:`adagrad`, :func:`rmsprop`, :func:`adadelta`), it computes
the parameter's new value on those rows only; its accumulators still decay on
every row, as the dense formula does, so the result is the same (see
:func:`row_updates_enabled`).

>>> import numpy as np, pytensor, pytensor.tensor as pt, seqgraph
>>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
>>> loss = (w ** 2).sum()
>>> step = seqgraph.function([], loss, updates=sgd(loss, [w], 0.25), backend="c")
>>> _ = step(); w.get_value()
array([ 0.5, -1. ])
"""

from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.tensor.basic import get_underlying_scalar_constant_value
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.type import TensorType

from seqgraph._compat import INCREMENT_OPS
from seqgraph._jax import _switch

__all__ = [
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "clip_by_value",
    "get_or_compute_grads",
    "momentum",
    "nesterov_momentum",
    "rmsprop",
    "row_updates_enabled",
    "sgd",
    "total_norm_constraint",
]


def _check_params(params):
    params = list(params)
    if not params:
        raise ValueError("params is empty; pass the shared variables to train.")
    for i, p in enumerate(params):
        if not isinstance(p, SharedVariable):
            raise TypeError(
                f"params[{i}] ({p!r}) is not a shared variable; an optimizer can only update "
                "shared variables (pytensor.shared, or a layer's .params)."
            )
    return params


def get_or_compute_grads(loss_or_grads, params):
    """Gradients of ``loss_or_grads`` (a scalar) or the given list, checked against ``params``."""
    params = _check_params(params)
    if isinstance(loss_or_grads, (list, tuple)):
        if len(loss_or_grads) != len(params):
            raise ValueError(f"got {len(loss_or_grads)} gradients for {len(params)} parameters.")
        return params, list(loss_or_grads)
    loss = pt.as_tensor_variable(loss_or_grads)
    if loss.ndim != 0:
        raise ValueError(f"the loss must be a scalar; got ndim={loss.ndim}.")
    return params, pytensor.grad(loss, params)


def _rate(value, argument, dtype):
    """A positive hyper-parameter as a tensor of ``dtype`` (shared variables allowed)."""
    if isinstance(value, SharedVariable):
        current = np.asarray(value.get_value())
        if current.ndim != 0 or not current > 0:
            raise ValueError(f"{argument} must be a positive scalar; its value is {current!r}.")
        return pt.cast(value, dtype)
    if isinstance(value, Variable):
        return pt.cast(value, dtype)
    if not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{argument} must be > 0; got {value!r}.")
    return pt.constant(np.asarray(value, dtype=dtype))


def _fraction(value, argument):
    if not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{argument} must be in [0, 1); got {value!r}.")
    return value


def _state_like(param, suffix, fill=0.0):
    value = np.asarray(param.get_value(borrow=True))
    return pytensor.shared(
        np.full(value.shape, fill, dtype=value.dtype), name=f"{param.name or 'param'}.{suffix}"
    )


def _const(value, dtype):
    return np.asarray(value, dtype=dtype)


def row_updates_enabled() -> bool:
    """Whether rules update only the looked-up rows of an embedding (``$SEQGRAPH_ROW_UPDATES``, default 1).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_ROW_UPDATES`` is set to anything but ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_ROW_UPDATES", True)


#: The smallest parameter (elements) whose looked-up rows are updated alone: below
#: it, one dense pass costs less than gathering and writing back the rows (the
#: RNNSLU tutorial's 573x50 embedding: 5% slower row by row).
ROW_UPDATES_MIN = 1 << 16


def _looked_up_rows(grad, param):
    """The row ids of ``grad`` if it is zeros with rows added at integer ids, else None.

    That is how ``pytensor.grad`` writes the gradient of a lookup ``W[ids]``
    along the first axis: ``inc_subtensor(zeros_like(W)[ids], g_rows)``. The
    ids are returned flat, in any order and with repeats. None as well for a
    parameter of fewer than :data:`ROW_UPDATES_MIN` elements.
    """
    node = grad.owner
    if node is None or not row_updates_enabled():
        return None
    if np.size(param.get_value(borrow=True)) < ROW_UPDATES_MIN:
        return None
    op = node.op
    if not isinstance(op, INCREMENT_OPS) or op.set_instead_of_inc:
        return None
    # One index, on the first axis (W[ids], not W[:, ids] nor W[ids, 1:]).
    if len(node.inputs) != 3 or tuple(getattr(op, "idx_list", (0,))) != (0,):
        return None
    base, _, ids = node.inputs
    if not isinstance(ids.type, TensorType) or not ids.dtype.startswith(("int", "uint")):
        return None
    try:
        if get_underlying_scalar_constant_value(base) != 0:
            return None
    except NotScalarConstantError:
        return None
    return ids.flatten() if ids.ndim != 1 else ids


def _zero_gradient_rule(rule, p, g, states, decays):
    """New values of ``p`` and ``states`` by ``rule``, on the looked-up rows only where it can.

    ``rule(p, g, *states)`` returns ``(p_new, [state_new, ...])`` elementwise,
    and leaves ``p`` unchanged where ``g`` is zero. ``decays`` gives, for each
    state, what the rule does to it at a zero gradient: ``None`` (unchanged) or
    a factor. Where ``g`` is the gradient of a lookup (:func:`_looked_up_rows`),
    the rule runs on the looked-up rows and its results are written over them;
    every other row of ``p`` stays as it is and of a state is multiplied by its
    factor, which is what the rule gives there.
    """
    rows = _looked_up_rows(g, p)
    if rows is None:
        return rule(p, g, *states)
    p_rows, state_rows = rule(p[rows], g[rows], *(s[rows] for s in states))
    new_states = [
        pt.set_subtensor((s if factor is None else factor * s)[rows], value)
        for s, factor, value in zip(states, decays, state_rows)
    ]
    return pt.set_subtensor(p[rows], p_rows), new_states


def sgd(loss_or_grads, params, learning_rate=0.01):
    """Plain stochastic gradient descent: ``p <- p - lr g``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for p, g in zip(params, grads):
        lr = _rate(learning_rate, "learning_rate", p.dtype)
        updates[p], _ = _zero_gradient_rule(lambda p, g, lr=lr: (p - lr * g, []), p, g, [], [])
    return updates


def momentum(loss_or_grads, params, learning_rate=0.01, momentum=0.9):
    """Heavy-ball momentum: ``v <- mu v - lr g``, ``p <- p + v``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    mu = _fraction(momentum, "momentum")
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        v = _state_like(p, "velocity")
        v_new = _const(mu, p.dtype) * v - _rate(learning_rate, "learning_rate", p.dtype) * g
        updates[p] = p + v_new
        state[v] = v_new
    updates.update(state)
    return updates


def nesterov_momentum(loss_or_grads, params, learning_rate=0.01, momentum=0.9):
    """Nesterov momentum (Sutskever et al., 2013): ``v <- mu v - lr g``, ``p <- p + mu v - lr g``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    mu = _fraction(momentum, "momentum")
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        lr = _rate(learning_rate, "learning_rate", p.dtype)
        v = _state_like(p, "velocity")
        v_new = _const(mu, p.dtype) * v - lr * g
        updates[p] = p + _const(mu, p.dtype) * v_new - lr * g
        state[v] = v_new
    updates.update(state)
    return updates


def adagrad(loss_or_grads, params, learning_rate=1.0, epsilon=1e-6):
    """Adagrad (Duchi et al., 2011): ``a <- a + g^2``, ``p <- p - lr g / sqrt(a + eps)``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        a = _state_like(p, "accu")
        eps = _rate(epsilon, "epsilon", p.dtype)
        lr = _rate(learning_rate, "learning_rate", p.dtype)

        def rule(p, g, a, lr=lr, eps=eps):
            a_new = a + g**2
            return p - lr * g / pt.sqrt(a_new + eps), [a_new]

        updates[p], (state[a],) = _zero_gradient_rule(rule, p, g, [a], [None])
    updates.update(state)
    return updates


def rmsprop(loss_or_grads, params, learning_rate=1.0, rho=0.9, epsilon=1e-6):
    """RMSProp (Tieleman & Hinton, 2012): ``a <- rho a + (1-rho) g^2``, ``p <- p - lr g / sqrt(a + eps)``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    rho = _fraction(rho, "rho")
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        a = _state_like(p, "accu")
        r, one_r = _const(rho, p.dtype), _const(1 - rho, p.dtype)
        eps = _rate(epsilon, "epsilon", p.dtype)
        lr = _rate(learning_rate, "learning_rate", p.dtype)

        def rule(p, g, a, r=r, one_r=one_r, lr=lr, eps=eps):
            a_new = r * a + one_r * g**2
            return p - lr * g / pt.sqrt(a_new + eps), [a_new]

        updates[p], (state[a],) = _zero_gradient_rule(rule, p, g, [a], [r])
    updates.update(state)
    return updates


def adadelta(loss_or_grads, params, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    """Adadelta (Zeiler, 2012).

    ``a <- rho a + (1-rho) g^2``; ``u = g sqrt((d + eps) / (a + eps))``;
    ``p <- p - lr u``; ``d <- rho d + (1-rho) u^2``.
    """
    params, grads = get_or_compute_grads(loss_or_grads, params)
    rho = _fraction(rho, "rho")
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        a, d = _state_like(p, "accu"), _state_like(p, "delta_accu")
        r, one_r = _const(rho, p.dtype), _const(1 - rho, p.dtype)
        eps = _rate(epsilon, "epsilon", p.dtype)
        lr = _rate(learning_rate, "learning_rate", p.dtype)

        def rule(p, g, a, d, r=r, one_r=one_r, lr=lr, eps=eps):
            a_new = r * a + one_r * g**2
            # One square root of the ratio: the step feeds two results, and
            # XLA keeps each square root it would otherwise repeat as a
            # kernel of its own (one fewer per parameter; lstm.py's training
            # program compiled 0.045 s faster, its step 1% faster).
            step = g * pt.sqrt((d + eps) / (a_new + eps))
            return p - lr * step, [a_new, r * d + one_r * step**2]

        updates[p], (state[a], state[d]) = _zero_gradient_rule(rule, p, g, [a, d], [r, r])
    updates.update(state)
    return updates


def _step_counter(params):
    dtype = params[0].dtype
    return pytensor.shared(np.asarray(0.0, dtype=dtype), name="optimizer.t")


def adam(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (Kingma & Ba, 2015), with the bias corrections folded into the step size."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    b1, b2 = _fraction(beta1, "beta1"), _fraction(beta2, "beta2")
    t = _step_counter(params)
    t_new = t + np.asarray(1, dtype=t.dtype)
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        dt = p.dtype
        tc = pt.cast(t_new, dt)
        lr_t = (
            _rate(learning_rate, "learning_rate", dt)
            * pt.sqrt(_const(1, dt) - _const(b2, dt) ** tc)
            / (_const(1, dt) - _const(b1, dt) ** tc)
        )
        m, v = _state_like(p, "m"), _state_like(p, "v")
        m_new = _const(b1, dt) * m + _const(1 - b1, dt) * g
        v_new = _const(b2, dt) * v + _const(1 - b2, dt) * g**2
        updates[p] = p - lr_t * m_new / (pt.sqrt(v_new) + _rate(epsilon, "epsilon", dt))
        state[m] = m_new
        state[v] = v_new
    updates.update(state)
    updates[t] = t_new
    return updates


def adamax(loss_or_grads, params, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adamax (Kingma & Ba, 2015): Adam with the infinity norm, ``u <- max(b2 u, |g|)``."""
    params, grads = get_or_compute_grads(loss_or_grads, params)
    b1, b2 = _fraction(beta1, "beta1"), _fraction(beta2, "beta2")
    t = _step_counter(params)
    t_new = t + np.asarray(1, dtype=t.dtype)
    updates, state = OrderedDict(), OrderedDict()
    for p, g in zip(params, grads):
        dt = p.dtype
        lr_t = _rate(learning_rate, "learning_rate", dt) / (
            _const(1, dt) - _const(b1, dt) ** pt.cast(t_new, dt)
        )
        m, u = _state_like(p, "m"), _state_like(p, "u")
        m_new = _const(b1, dt) * m + _const(1 - b1, dt) * g
        u_new = pt.maximum(_const(b2, dt) * u, pt.abs(g))
        updates[p] = p - lr_t * m_new / (u_new + _rate(epsilon, "epsilon", dt))
        state[m] = m_new
        state[u] = u_new
    updates.update(state)
    updates[t] = t_new
    return updates


def total_norm_constraint(grads, max_norm, epsilon=1e-7):
    """Rescale ``grads`` so that their joint L2 norm is at most ``max_norm``.

    Returns the rescaled list (unchanged where the norm is already smaller).
    """
    if not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"max_norm must be > 0; got {max_norm!r}.")
    grads = list(grads)
    dtype = grads[0].dtype
    norm = pt.sqrt(sum(pt.sum(g.astype(dtype) ** 2) for g in grads))
    target = pt.minimum(norm, _const(max_norm, dtype))
    scale = target / (norm + _const(epsilon, dtype))
    return [g * pt.cast(scale, g.dtype) for g in grads]


def clip_by_value(grads, limit):
    """Clip every gradient entry to ``[-limit, limit]``."""
    if not isinstance(limit, numbers.Real) or not limit > 0:
        raise ValueError(f"limit must be > 0; got {limit!r}.")
    return [pt.clip(g, -limit, limit) for g in grads]
