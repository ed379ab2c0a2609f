"""A GRU language model in the style of 2015-era Theano tutorials, unchanged.

One sentence (an int vector) per call; the step takes a word id and returns
its distribution through ``softmax(vector)[0]``; the gradients are asked for
one parameter at a time; RMSprop's decay is a ``theano.Param`` default.
"""

import sys

import numpy as np
import theano
import theano.tensor as T

rng = np.random.RandomState(3)
floatX = theano.config.floatX
vocab, hidden = 12, 6


def init(*shape):
    return rng.uniform(-0.5, 0.5, shape).astype(floatX)


E = theano.shared(init(hidden, vocab), name="E")
U = theano.shared(init(3, hidden, hidden), name="U")
W = theano.shared(init(3, hidden, hidden), name="W")
b = theano.shared(np.zeros((3, hidden), dtype=floatX), name="b")
V = theano.shared(init(vocab, hidden), name="V")
c = theano.shared(np.zeros(vocab, dtype=floatX), name="c")
params = [E, U, W, b, V, c]
caches = [theano.shared(np.zeros_like(p.get_value())) for p in params]

x = T.ivector("x")
y = T.ivector("y")


def step(x_t, s_prev, E, U, W, b, V, c):
    x_e = E[:, x_t]
    z = T.nnet.hard_sigmoid(U[0].dot(x_e) + W[0].dot(s_prev) + b[0])
    r = T.nnet.hard_sigmoid(U[1].dot(x_e) + W[1].dot(s_prev) + b[1])
    h = T.tanh(U[2].dot(x_e) + W[2].dot(s_prev * r) + b[2])
    s = (T.ones_like(z) - z) * h + z * s_prev
    o = T.nnet.softmax(V.dot(s) + c)
    return [o[0], s]


[o, s], updates = theano.scan(
    step,
    sequences=x,
    outputs_info=[None, dict(initial=T.zeros(hidden))],
    non_sequences=params,
    strict=True,
)
cost = T.sum(T.nnet.categorical_crossentropy(o, y))
dE = T.grad(cost, E)
dU = T.grad(cost, U)
dW = T.grad(cost, W)
db = T.grad(cost, b)
dV = T.grad(cost, V)
dc = T.grad(cost, c)
grads = [dE, dU, dW, db, dV, dc]

gradients = theano.function([x, y], grads)
lr = T.scalar("lr")
decay = T.scalar("decay")
new_caches = [decay * m + (1 - decay) * g**2 for m, g in zip(caches, grads)]
train = theano.function(
    [x, y, lr, theano.Param(decay, default=0.9)],
    cost,
    updates=[(p, p - lr * g / T.sqrt(m + 1e-6)) for p, g, m in zip(params, grads, new_caches)]
    + list(zip(caches, new_caches)),
)

sentence = np.array([1, 4, 2, 7, 7, 3, 0], dtype="int32")
target = np.roll(sentence, -1)
values = [p.get_value() for p in params]
got = gradients(sentence, target)
losses = [train(sentence, target, 0.02) for _ in range(16)]
before, after = losses[0], losses[-1]
np.savez(
    sys.argv[1],
    sentence=sentence,
    before=before,
    after=after,
    **{f"param_{i}": v for i, v in enumerate(values)},
    **{f"grad_{i}": g for i, g in enumerate(got)},
)
