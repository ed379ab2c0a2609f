"""``theano.tensor.nnet.sigm``: where Theano defined the sigmoids.

They are :mod:`seqgraph.theano.tensor.nnet`'s.
"""

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet import (  # noqa: F401
    hard_sigmoid,
    sigmoid,
    softplus,
    ultra_fast_sigmoid,
)


def __getattr__(name):
    raise missing("theano.tensor.nnet.sigm", name)
