"""Stacked LSTM cells driving a simulated system, in the style of 2014-15 Theano RNN libraries.

The patterns of small Theano RNN libraries of the time (theano_lstm's
``StackedCells`` among them), written here anew:

* a gradient-clipping op derived from ``theano.compile.ViewOp`` that calls no
  base ``__init__``, removed from compiled graphs by an ``OpRemove``
  registered with ``T.opt.register_canonicalize(..., name=...)`` (a second
  registration of the name raises ``ValueError``, which the library catches);
* each cell's state ``[c, h]`` in one vector, joined and sliced every step;
* ``theano.scan`` with ``dict(initial=..., taps=[-1])`` outputs and the number
  of steps an ``iscalar`` input of the function;
* a Python op (``gof.Op`` with ``T.Tensor(dtype, broadcastable)()`` outputs,
  ``__hash__`` from ``T.hashtype`` and an ``infer_shape``) for a per-sequence
  loss.

Saves the training costs, the predictions and the per-sequence losses to
``sys.argv[1]``; the seed fixes every number (the C and JAX backends, and
Theano 1.0.5, give the same ones).
"""

import sys

import numpy as np
import theano
import theano.tensor as T
from theano import gof

floatX = theano.config.floatX
rng = np.random.RandomState(1234)


class ClipGradient(theano.compile.ViewOp):
    """Identity forward; the gradient passing through it is clipped to [lower, upper]."""

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper

    def grad(self, args, g_outs):
        return [T.clip(g, self.lower, self.upper) for g in g_outs]


def clip_gradient(x, bound):
    op = ClipGradient(-bound, bound)
    try:
        T.opt.register_canonicalize(theano.gof.OpRemove(op), name=f"clip_gradient_{bound:.1f}")
    except ValueError:  # registered by an earlier call
        pass
    return op(x)


def weights(n_out, n_in=None):
    shape = (n_out,) if n_in is None else (n_out, n_in)
    return theano.shared((rng.standard_normal(shape) / shape[0]).astype(floatX))


class Gate:
    def __init__(self, n_in, n_out, activation, clip=None):
        self.W, self.b = weights(n_out, n_in), weights(n_out)
        self.activation, self.clip = activation, clip

    def __call__(self, x):
        if self.clip is not None:
            x = clip_gradient(x, self.clip)
        return self.activation(T.dot(self.W, x) + self.b)

    @property
    def params(self):
        return [self.W, self.b]


class Cell:
    """An LSTM cell whose state is the vector ``[c, h]``."""

    def __init__(self, n_in, n_hid, clip=None):
        n = n_in + n_hid
        self.n_hid = n_hid
        self.gates = [Gate(n, n_hid, f, clip) for f in (T.nnet.sigmoid,) * 3 + (T.tanh,)]
        self.initial_state = weights(2 * n_hid)

    def step(self, x, state):
        c, h = state[: self.n_hid], state[self.n_hid :]
        obs = T.concatenate([x, h])
        i, f, o, g = [gate(obs) for gate in self.gates]
        c = f * c + i * g
        return T.concatenate([c, o * T.tanh(c)])

    @property
    def params(self):
        return [p for gate in self.gates for p in gate.params] + [self.initial_state]


g_acc, pendulum_dt = 9.8, 0.02


def dynamics(x, u):
    """One Euler step of a pendulum pair, pushed by ``u``."""
    dx = T.alloc(0.0, 4)
    dx = T.set_subtensor(dx[0], x[1])
    dx = T.set_subtensor(dx[1], -g_acc * T.sin(x[0]) + 0.5 * T.sin(x[2] - x[0]))
    dx = T.set_subtensor(dx[2], x[3])
    dx = T.set_subtensor(dx[3], -g_acc * T.sin(x[2]) + u)
    return x + dx * pendulum_dt


class SequenceLoss(gof.Op):
    """Per row of a matrix, half the sum of squares (a Python op with a Python gradient op)."""

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return T.hashtype(self)

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return gof.Apply(self, [x], [T.Tensor(dtype=x.dtype, broadcastable=[False])()])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        outputs[0][0] = 0.5 * (x**2).sum(axis=1)

    def infer_shape(self, node, shapes):
        return [(shapes[0][0],)]

    def grad(self, inputs, grads):
        (x,) = inputs
        (g,) = grads
        return [x * g[:, None]]


cells = [Cell(4, 6, clip=1.0), Cell(6, 6)]
readout = Gate(6, 1, lambda v: v[0])
params = [p for cell in cells for p in cell.params] + readout.params


def step(x, *states):
    new, inp = [], x
    for cell, state in zip(cells, states):
        s = cell.step(inp, state)
        new.append(s)
        inp = s[cell.n_hid :]
    return [dynamics(x, readout(inp))] + new


obs0 = T.vector("obs0")
target = T.vector("target")
timesteps = T.iscalar("timesteps")
result, _ = theano.scan(
    step,
    n_steps=timesteps,
    outputs_info=[dict(initial=obs0, taps=[-1])]
    + [dict(initial=cell.initial_state, taps=[-1]) for cell in cells],
)
cost = (result[0][:, [0, 2]] - target[[0, 2]]).norm(L=2) / timesteps

# Adadelta, written out as such libraries did.
rho, eps = 0.95, 1e-6
updates = []
for p, g in zip(params, T.grad(cost, params)):
    g_sq = theano.shared(np.zeros_like(p.get_value()))
    d_sq = theano.shared(np.zeros_like(p.get_value()))
    g_sq_new = rho * g_sq + (1 - rho) * g**2
    delta = T.sqrt(d_sq + eps) / T.sqrt(g_sq_new + eps) * g
    updates += [(g_sq, g_sq_new), (d_sq, rho * d_sq + (1 - rho) * delta**2), (p, p - delta)]

train = theano.function([obs0, target, timesteps], cost, updates=updates, allow_input_downcast=True)
predict = theano.function([obs0, timesteps], result[0], allow_input_downcast=True)

start = np.array([0.3, 0.0, -0.2, 0.1])
costs = [train(start, np.zeros(4), 8 + (k % 3)) for k in range(25)]
paths = T.matrix("paths")
losses = theano.function([paths], SequenceLoss()(paths))
np.savez(
    sys.argv[1],
    costs=np.array(costs),
    prediction=predict(start, 12),
    losses=losses(predict(start, 5).T),
)
