"""Theano-style: what ``theano.config.floatX`` makes of shared variables and T.matrix."""

import sys

import numpy
import theano
import theano.tensor as T

W = theano.shared(numpy.zeros((2, 3), dtype=theano.config.floatX), name="W")
x = T.matrix("x")
numpy.savez(sys.argv[1], W=W.get_value(), x_dtype=numpy.array(x.dtype))
