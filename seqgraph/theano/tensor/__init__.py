"""``theano.tensor``: PyTensor's tensor module plus what Theano had and PyTensor dropped."""

from pytensor.tensor import *  # noqa: F403
from pytensor.tensor import abs as abs_  # noqa: F401
from pytensor.tensor import as_tensor_variable, extra_ops  # noqa: F401
from pytensor.tensor import switch as _switch
from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise  # noqa: F401
from pytensor.tensor.exceptions import NotScalarConstantError  # noqa: F401

from seqgraph.theano._removed import missing
from seqgraph.theano.gradient import Lop, Rop, grad  # noqa: F401
from seqgraph.theano.tensor import nnet, shared_randomstreams  # noqa: F401
from seqgraph.theano.tensor._broadcast import (  # noqa: F401
    addbroadcast,
    patternbroadcast,
    unbroadcast,
)

# PyTensor's signal module (1-d and 2-d convolution) came in with the star
# import; Theano's held pooling, which seqgraph does not provide: the name goes
# through __getattr__, which says so.
globals().pop("signal", None)


def switch(cond, ift, iff):
    """``switch(cond, ift, iff)``, keyword forms included."""
    return _switch(cond, ift, iff)


def __getattr__(name):
    raise missing("theano.tensor", name)
