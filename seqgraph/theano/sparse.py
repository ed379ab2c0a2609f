"""``theano.sparse``: PyTensor's sparse module under Theano's names.

PyTensor renamed ``SparseType`` to ``SparseTensorType``; both names are here
(Keras's Theano backend tests ``isinstance(x.type, theano.sparse.SparseType)``).
The variable classes Theano exported here (theanets tests
``isinstance(x, (TT.TensorVariable, theano.sparse.SparseVariable))``), the
product ops under Theano's names and ``sgn`` are here too.
"""

from pytensor.sparse import *  # noqa: F403
from pytensor.sparse import SparseTensorType, basic  # noqa: F401
from pytensor.sparse import math as _math
from pytensor.sparse.variable import (  # noqa: F401
    SparseConstant,
    SparseConstantSignature,
    SparseVariable,
    constant,
    hash_from_sparse,
)

SparseType = SparseTensorType
sgn = _math.sign

# PyTensor 3.0 names the element-wise products SparseSparseMultiply ...;
# PyTensor 3.3 MultiplySparseSparse ...
MulSS = getattr(_math, "SparseSparseMultiply", None) or _math.MultiplySparseSparse
MulSD = getattr(_math, "SparseDenseMultiply", None) or _math.MultiplySparseDense
MulSV = getattr(_math, "SparseDenseVectorMultiply", None) or _math.MultiplySparseDenseVector

# Theano's flag: whether SciPy, which its sparse types need, could be imported.
enable_sparse = True
