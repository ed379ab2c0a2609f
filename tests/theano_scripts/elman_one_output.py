"""Theano-style Elman regression: scan with one output, OrderedDict updates, givens, Param."""

import sys
from collections import OrderedDict

import numpy
import theano
import theano.tensor as T

rng = numpy.random.RandomState(0)
floatX = theano.config.floatX
n_in, n_hid = 3, 5
W = theano.shared(rng.uniform(-0.5, 0.5, (n_in, n_hid)).astype(floatX), name="W")
U = theano.shared(rng.uniform(-0.5, 0.5, (n_hid, n_hid)).astype(floatX), name="U")
v = theano.shared(rng.uniform(-0.5, 0.5, (n_hid,)).astype(floatX), name="v")
data_x = theano.shared(rng.normal(size=(4, 7, n_in)).astype(floatX), name="data_x")
data_y = theano.shared(rng.normal(size=(4, 7)).astype(floatX), name="data_y")

index = T.lscalar("index")
x = T.matrix("x")
y = T.vector("y")
lr = T.scalar("lr")
h0 = T.zeros((n_hid,), dtype=floatX)


def step(x_t, h_tm1):
    return T.nnet.sigmoid(T.dot(x_t, W) + T.dot(h_tm1, U))


h, _ = theano.scan(fn=step, sequences=x, outputs_info=h0)  # one output: a bare variable
assert h.ndim == 2
cost = T.mean((T.dot(h, v) - y) ** 2)
params = [W, U, v]
grads = T.grad(cost, params)
updates = OrderedDict((p, p - lr * g) for p, g in zip(params, grads))
train = theano.function(
    [index, theano.Param(lr, default=0.1)],
    cost,
    updates=updates,
    givens={x: data_x[index], y: data_y[index]},
    allow_input_downcast=True,
)
losses = [train(i % 4) for i in range(6)] + [train(0, 0.5)]
numpy.savez(
    sys.argv[1], losses=numpy.array(losses), W=W.get_value(), U=U.get_value(), v=v.get_value()
)
