"""``theano.tensor``: PyTensor's tensor module plus what Theano had and PyTensor dropped."""

import builtins
import importlib

from pytensor.compile.sharedvalue import SharedVariable as _SharedVariable
from pytensor.graph.basic import Constant as _Constant
from pytensor.graph.basic import Variable as _Variable
from pytensor.tensor import *  # noqa: F403
from pytensor.tensor import abs as abs_  # noqa: F401
from pytensor.tensor import as_tensor_variable as _as_tensor_variable
from pytensor.tensor import extra_ops  # noqa: F401
from pytensor.tensor import flatten as _flatten
from pytensor.tensor import stack as _stack
from pytensor.tensor import switch as _switch
from pytensor.tensor import tile as _tile
from pytensor.tensor.basic import get_underlying_scalar_constant_value as _constant_value
from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise  # noqa: F401
from pytensor.tensor.exceptions import NotScalarConstantError  # noqa: F401
from pytensor.tensor.type import (  # noqa: F401
    TensorType,
    all_dtypes,
    complex_dtypes,
    continuous_dtypes,
    discrete_dtypes,
    float_dtypes,
    int_dtypes,
    integer_dtypes,
    uint_dtypes,
)
from pytensor.tensor.variable import TensorVariable as _PyTensorVariable

from seqgraph.theano._modules import keep_functions
from seqgraph.theano._removed import missing
from seqgraph.theano.gradient import (  # noqa: F401
    Lop,
    Rop,
    consider_constant,
    grad,
    grad_not_implemented,
    grad_undefined,
    numeric_grad,
    verify_grad,
)
from seqgraph.theano.tensor import nnet, shared_randomstreams  # noqa: F401
from seqgraph.theano.tensor._broadcast import (  # noqa: F401
    Rebroadcast,
    addbroadcast,
    patternbroadcast,
    unbroadcast,
)


class AsTensorError(TypeError):
    """What ``as_tensor_variable`` raises for a value it cannot make a tensor of (Theano's)."""


def as_tensor_variable(x, name=None, ndim=None, **kwargs):
    """PyTensor's ``as_tensor_variable``, raising Theano's :class:`AsTensorError` where it fails.

    (PyTensor raises a ``TypeError`` or, for an object of no known kind, a
    ``NotImplementedError``; old code catches ``T.AsTensorError``.)
    """
    try:
        return _as_tensor_variable(x, name=name, ndim=ndim, **kwargs)
    except (TypeError, NotImplementedError) as err:
        raise AsTensorError(str(err)) from err


as_tensor = as_tensor_variable

# PyTensor's signal module (1-d and 2-d convolution) came in with the star
# import; Theano's, with pooling, replaces it (the name must go first, or the
# import below would return PyTensor's module).
# PyTensor's nlinalg and slinalg (which warn on use) likewise.
for _name in ("signal", "nlinalg", "slinalg", "xlogx"):
    globals().pop(_name, None)
from seqgraph.theano.tensor import nlinalg, opt, signal, slinalg, xlogx  # noqa: E402, F401

# T.sort and T.argsort stay the functions (imported after their module).
from seqgraph.theano.tensor.sort import (  # noqa: E402, F401
    argsort,
    argtopk,
    sort,
    topk,
    topk_and_argtopk,
)


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


def tile(x, reps, ndim=None):
    """``x`` repeated ``reps`` times along each axis; ``ndim``, Theano's, is the result's rank.

    ``reps`` may be a symbolic vector when ``ndim`` gives its length.
    """
    if isinstance(reps, _Variable) and reps.ndim == 1:
        if ndim is None and reps.type.shape[0] is None:
            raise ValueError("tile: reps is a symbolic vector of unknown length; give ndim.")
        reps = [reps[i] for i in range(ndim if ndim is not None else reps.type.shape[0])]
    reps = list(reps)
    if ndim is not None:
        if ndim < builtins.max(len(reps), as_tensor_variable(x).ndim):
            raise ValueError(f"tile: ndim={ndim} is less than the rank of x or the length of reps.")
        reps = [1] * (ndim - len(reps)) + reps
    return _tile(x, reps)


def flatten(x, ndim=None, outdim=None):
    """``x`` with its trailing axes joined into one, leaving ``ndim`` axes (default 1).

    ``outdim`` is the argument's name in Theano 0.7 (``T.flatten(x, outdim=2)``
    in the tutorials of its time); Theano 1.0 still took it.
    """
    if outdim is not None:
        if ndim is not None and ndim != outdim:
            raise TypeError(f"flatten: ndim={ndim} and outdim={outdim} disagree; give one.")
        ndim = outdim
    return _flatten(x, 1 if ndim is None else ndim)


def switch(cond, ift, iff):
    """``switch(cond, ift, iff)``, keyword forms included."""
    return _switch(cond, ift, iff)


def inv(x):
    """``1 / x``, elementwise (Theano's ``inv``; PyTensor's ``reciprocal``)."""
    return reciprocal(x)  # noqa: F405


def sgn(x):
    """The sign of ``x``, elementwise (Theano's ``sgn``; PyTensor's ``sign``)."""
    return sign(x)  # noqa: F405


def batched_dot(a, b):
    """``dot(a[i], b[i])`` for each ``i`` along the first (batch) axis, as Theano's.

    A vector is one number per batch entry (scaling the other operand);
    operands of up to 3 axes are multiplied as matrices or vectors per entry;
    beyond that, ``a``'s last axis meets ``b``'s second to last (its second
    when it has 2 axes), as in :func:`batched_tensordot`.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError("batched_dot: a and b need a batch axis; got a scalar.")
    if a.ndim == 1:
        return a.dimshuffle(0, *["x"] * (b.ndim - 1)) * b
    if b.ndim == 1:
        return a * b.dimshuffle(0, *["x"] * (a.ndim - 1))
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [builtins.max(1, b.ndim - 2)]])
    left = a if a.ndim == 3 else a[:, None, :]
    right = b if b.ndim == 3 else b[:, :, None]
    out = matmul(left, right)  # noqa: F405
    if a.ndim == 2:
        out = out[:, 0]
    if b.ndim == 2:
        out = out[..., 0]
    return out


def batched_tensordot(x, y, axes=2):
    """``tensordot(x[i], y[i], axes)`` for each ``i`` along the first (batch) axis.

    Parameters
    ----------
    x, y : tensor
        With the batch as axis 0.
    axes : int or pair of sequences
        An int ``n`` sums ``x``'s last ``n`` axes with ``y``'s first ``n``
        after the batch; a pair lists the axes of each (never 0).
    """
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if isinstance(axes, int):
        x_axes, y_axes = list(range(x.ndim - axes, x.ndim)), list(range(1, axes + 1))
    else:
        x_axes, y_axes = ([int(a) % t.ndim for a in ax] for ax, t in zip(axes, (x, y)))
    if 0 in x_axes or 0 in y_axes or len(x_axes) != len(y_axes):
        raise ValueError(
            "batched_tensordot: axes must pair as many axes of x as of y, none of them the "
            f"batch axis 0; got {axes!r}."
        )
    x_free = [i for i in range(1, x.ndim) if i not in x_axes]
    y_free = [i for i in range(1, y.ndim) if i not in y_axes]
    size = lambda t, dims: prod([t.shape[i] for i in dims]) if dims else 1  # noqa: E731, F405
    left = x.dimshuffle(0, *x_free, *x_axes).reshape((x.shape[0], size(x, x_free), size(x, x_axes)))
    right = y.dimshuffle(0, *y_axes, *y_free).reshape(
        (y.shape[0], size(y, y_axes), size(y, y_free))
    )
    out = matmul(left, right)  # noqa: F405
    return out.reshape(
        (x.shape[0], *[x.shape[i] for i in x_free], *[y.shape[i] for i in y_free]),
        ndim=1 + len(x_free) + len(y_free),
    )


def extract_constant(x, elemwise=True, only_process_constants=False):
    """``x``'s value as a constant when the graph fixes it to one scalar, else ``x``."""
    value = _constant_value(
        x,
        elemwise=elemwise,
        only_process_constants=only_process_constants,
        raise_not_constant=False,
    )
    return x if value is None else value


def Tensor(dtype, broadcastable=None, name=None, shape=None):  # noqa: N802 - Theano's name
    """Theano's ``Tensor(dtype, broadcastable)``, its alias of ``TensorType``: a tensor type.

    ``broadcastable`` (a pattern of bools) becomes the static shape PyTensor
    takes, 1 where it is true; old ops build their outputs' types this way
    (``T.Tensor(dtype=x.dtype, broadcastable=[False])()``).
    """
    if broadcastable is not None:
        if shape is not None:
            raise TypeError("Tensor: give broadcastable or shape, not both.")
        shape = tuple(1 if b else None for b in broadcastable)
    return TensorType(dtype, shape=shape, name=name)


def hashtype(self):
    """A hash of ``type(self)`` (Theano's ``hashtype``, which old ops' ``__hash__`` return)."""
    t = builtins.type(self)
    return hash(t.__name__) ^ hash(t.__module__)


def wmatrix(name=None):
    """An int16 matrix variable (Theano's ``wmatrix``)."""
    return TensorType("int16", shape=(None, None))(name)


# Theano's tensor namespace held its ops and indexing helpers too; PyTensor
# keeps them in the modules named here.
_ELSEWHERE = {
    **dict.fromkeys(
        "ARange Alloc AllocDiag AllocEmpty Choose ExtractDiag Eye Join Nonzero "
        "PermuteRowElements ScalarFromTensor Shape Split TensorFromScalar".split(),
        "pytensor.tensor.basic",
    ),
    **dict.fromkeys(
        "AdvancedIncSubtensor AdvancedIncSubtensor1 AdvancedSubtensor AdvancedSubtensor1 "
        "IncSubtensor Reshape Subtensor advanced_inc_subtensor advanced_inc_subtensor1 "
        "advanced_set_subtensor advanced_set_subtensor1 advanced_subtensor "
        "advanced_subtensor1 get_canonical_form_slice get_idx_list".split(),
        "pytensor.tensor.subtensor",
    ),
    **dict.fromkeys("Argmax Dot Sum".split(), "pytensor.tensor.math"),
    **dict.fromkeys("MakeSlice SliceConstant SliceType".split(), "pytensor.tensor.type_other"),
    **dict.fromkeys("AdvancedIndexingError ShapeError".split(), "pytensor.tensor.exceptions"),
    "SpecifyShape": "pytensor.tensor.shape",
    "pprint": "pytensor.printing",
    "Apply": "pytensor.graph.basic",
    "Type": "pytensor.graph.type",
    "Generic": "pytensor.link.c.type",
    "DisconnectedType": "pytensor.gradient",
    "MethodNotDefined": "pytensor.graph.utils",
}


def __getattr__(name):
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    if name == "config":
        from seqgraph.theano import config

        return config
    raise missing("theano.tensor", name)


keep_functions(__name__)  # T.sort, T.var, T.shape stay functions (seqgraph.theano._modules)
