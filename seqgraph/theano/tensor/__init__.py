"""``theano.tensor``: PyTensor's tensor module plus what Theano had and PyTensor dropped."""

import builtins

from pytensor.compile.sharedvalue import SharedVariable as _SharedVariable
from pytensor.graph.basic import Constant as _Constant
from pytensor.tensor import *  # noqa: F403
from pytensor.tensor import abs as abs_  # noqa: F401
from pytensor.tensor import as_tensor_variable, extra_ops  # noqa: F401
from pytensor.tensor import stack as _stack
from pytensor.tensor import switch as _switch
from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise  # noqa: F401
from pytensor.tensor.exceptions import NotScalarConstantError  # noqa: F401
from pytensor.tensor.variable import TensorVariable as _PyTensorVariable

from seqgraph.theano._removed import missing
from seqgraph.theano.gradient import Lop, Rop, grad  # noqa: F401
from seqgraph.theano.tensor import nnet, shared_randomstreams  # noqa: F401
from seqgraph.theano.tensor._broadcast import (  # noqa: F401
    addbroadcast,
    patternbroadcast,
    unbroadcast,
)

# PyTensor's signal module (1-d and 2-d convolution) came in with the star
# import; Theano's, with pooling, replaces it (the name must go first, or the
# import below would return PyTensor's module).
globals().pop("signal", None)
from seqgraph.theano.tensor import signal  # noqa: E402, F401


class _TheanoTensorVariableType(builtins.type(_PyTensorVariable)):
    # By the classes' MRO: issubclass would go through ABCMeta's subclass
    # hooks, which ask this class again.
    def __instancecheck__(cls, obj):
        return cls.__subclasscheck__(builtins.type(obj))

    def __subclasscheck__(cls, sub):
        mro = getattr(sub, "__mro__", ())
        return _PyTensorVariable in mro and _SharedVariable not in mro and _Constant not in mro


class TensorVariable(_PyTensorVariable, metaclass=_TheanoTensorVariableType):
    """``theano.tensor.TensorVariable``, with Theano's ``isinstance``.

    In Theano, shared variables and constants were not ``TensorVariable``s
    (they shared its operators only), and code tells them apart that way:
    Lasagne's recurrent layers take ``hid_init`` as given when it is a
    ``TensorVariable`` and as a parameter to repeat over the batch otherwise.
    In PyTensor both are subclasses; here ``isinstance(v, T.TensorVariable)``
    is true for the other tensor variables only, as in Theano.
    """


def stack(*tensors, **kwargs):
    """``stack(tensors, axis=0)``, or Theano's older ``stack(a, b, c)`` (along axis 0)."""
    if "tensors" in kwargs:
        return _stack(kwargs.pop("tensors"), **kwargs)
    if not tensors:
        raise TypeError("stack: give the tensors to stack, as a list.")
    if isinstance(tensors[0], (list, tuple)):
        if len(tensors) > 2:
            raise TypeError("stack: give the tensors as one list, then the axis.")
        return _stack(*tensors, **kwargs)
    if kwargs:
        raise TypeError(f"stack(a, b, ...) stacks along axis 0 only; got {sorted(kwargs)}.")
    return _stack(list(tensors), axis=0)


def switch(cond, ift, iff):
    """``switch(cond, ift, iff)``, keyword forms included."""
    return _switch(cond, ift, iff)


def __getattr__(name):
    raise missing("theano.tensor", name)
