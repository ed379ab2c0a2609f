"""``theano.tensor.var``: the tensor variable classes, with Theano's ``isinstance``.

``TensorVariable`` is :class:`seqgraph.theano.tensor.TensorVariable`: shared
variables and constants are not instances of it, as in Theano.
"""

from pytensor.tensor.sharedvar import TensorSharedVariable  # noqa: F401
from pytensor.tensor.variable import (  # noqa: F401
    TensorConstant,
    TensorConstantSignature,
    _tensor_py_operators,
)

from seqgraph.theano.tensor import TensorVariable  # noqa: F401
