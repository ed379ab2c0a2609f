"""MRG dropout inside scan: a new mask at every step and on every call."""

import sys

import numpy
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

srng = MRG_RandomStreams(seed=1234)
x = T.matrix("x")  # (time, units)


def step(x_t):
    mask = srng.binomial(n=1, p=0.5, size=x_t.shape)
    assert mask.dtype == theano.config.floatX
    return x_t * mask


y, updates = theano.scan(step, sequences=x)
f = theano.function([x], y, updates=updates)
ones = numpy.ones((6, 50), dtype=theano.config.floatX)
numpy.savez(sys.argv[1], first=f(ones), second=f(ones))
