"""``theano.sparse``: PyTensor's sparse module under Theano's names.

PyTensor renamed ``SparseType`` to ``SparseTensorType``; both names are here
(Keras's Theano backend tests ``isinstance(x.type, theano.sparse.SparseType)``).
"""

from pytensor.sparse import *  # noqa: F403
from pytensor.sparse import SparseTensorType, basic  # noqa: F401

SparseType = SparseTensorType
