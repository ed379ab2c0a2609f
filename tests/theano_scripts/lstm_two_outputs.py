"""Theano-style LSTM step with two recurrent outputs and one output with None."""

import sys

import numpy
import theano
import theano.tensor as T

rng = numpy.random.RandomState(1)
floatX = theano.config.floatX
n_in, n = 3, 4
W = theano.shared(rng.normal(0, 0.3, (n_in, 4 * n)).astype(floatX))
U = theano.shared(rng.normal(0, 0.3, (n, 4 * n)).astype(floatX))
b = theano.shared(numpy.zeros(4 * n, dtype=floatX))

x = T.tensor3("x")  # (time, batch, n_in)


def _slice(m, k):
    return m[:, k * n : (k + 1) * n]


def step(x_t, h_, c_):
    z = T.dot(x_t, W) + T.dot(h_, U) + b
    i = T.nnet.sigmoid(_slice(z, 0))
    f = T.nnet.sigmoid(_slice(z, 1))
    o = T.nnet.sigmoid(_slice(z, 2))
    c = f * c_ + i * T.tanh(_slice(z, 3))
    h = o * T.tanh(c)
    return h, c, T.nnet.softmax(h).sum()


zeros = T.alloc(numpy.asarray(0.0, dtype=floatX), x.shape[1], n)
(h, c, s), updates = theano.scan(
    step, sequences=x, outputs_info=[dict(initial=zeros), dict(initial=zeros), None]
)
cost = h[-1].sum() + s.sum()
f = theano.function([x], [h, c, s, cost] + T.grad(cost, [W, U, b]))
out = f(rng.normal(size=(5, 2, n_in)).astype(floatX))
numpy.savez(sys.argv[1], *out)
