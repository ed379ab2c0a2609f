"""``theano.tensor.nnet.nnet``: where Theano defined softmax and the losses.

Code imports them from here (``from theano.tensor.nnet.nnet import softmax``);
they are :mod:`seqgraph.theano.tensor.nnet`'s.
"""

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet import (  # noqa: F401
    binary_crossentropy,
    categorical_crossentropy,
    crossentropy_categorical_1hot,
    elu,
    logsoftmax,
    relu,
    selu,
    sigmoid,
    sigmoid_binary_crossentropy,
    softmax,
    softplus,
    softsign,
)


def __getattr__(name):
    raise missing("theano.tensor.nnet.nnet", name)
