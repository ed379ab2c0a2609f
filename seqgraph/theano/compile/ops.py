"""``theano.compile.ops``: ``as_op``, ``ViewOp``, ``DeepCopyOp``, the shape ops.

``ViewOp`` is the base class that old code derives identity ops from, most
often to change a gradient (``theano_lstm``'s ``GradClip``, which clips the
gradient that passes through it).  ``Shape_i`` / ``shape_i`` and
``SpecifyShape`` / ``specify_shape`` live in ``pytensor.tensor.shape`` now.
"""

from pytensor.compile.ops import (
    DeepCopyOp,
    FromFunctionOp,
    ViewOp,
    deep_copy_op,
    load_back,
    register_deep_copy_op_c_code,
    register_view_op_c_code,
    view_op,
)
from pytensor.tensor.shape import Shape, Shape_i, SpecifyShape, shape, shape_i, specify_shape

from seqgraph.theano._op import as_op
from seqgraph.theano._removed import missing
from seqgraph.theano.tensor._broadcast import Rebroadcast

__all__ = [
    "DeepCopyOp",
    "FromFunctionOp",
    "Rebroadcast",
    "Shape",
    "Shape_i",
    "SpecifyShape",
    "ViewOp",
    "as_op",
    "deep_copy_op",
    "load_back",
    "register_deep_copy_op_c_code",
    "register_view_op_c_code",
    "shape",
    "shape_i",
    "specify_shape",
    "view_op",
]


def __getattr__(name):
    raise missing("theano.compile.ops", name)
