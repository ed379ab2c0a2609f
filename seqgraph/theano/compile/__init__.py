"""``theano.compile``: function, shared, In / Param, Out, Mode, SharedVariable, ProfileStats, the ops of ``compile.ops``, ``OpFromGraph``, ``optdb``."""

from pytensor.compile import UnusedInputError
from pytensor.compile.builders import OpFromGraph
from pytensor.compile.sharedvalue import SharedVariable

try:  # PyTensor 3.3
    from pytensor.compile.profiling import ProfileStats
except ImportError:  # PyTensor 3.0
    from pytensor.compile.debug.profiling import ProfileStats

from seqgraph.theano import In, Mode, Out, Param, function, shared
from seqgraph.theano._removed import missing
from seqgraph.theano.compile import mode, monitormode, ops, sharedvalue
from seqgraph.theano.compile.mode import get_default_mode, get_mode, optdb
from seqgraph.theano.compile.monitormode import MonitorMode
from seqgraph.theano.compile.ops import (
    DeepCopyOp,
    FromFunctionOp,
    Rebroadcast,
    Shape,
    Shape_i,
    SpecifyShape,
    ViewOp,
    as_op,
    deep_copy_op,
    register_deep_copy_op_c_code,
    register_view_op_c_code,
    shape,
    shape_i,
    specify_shape,
    view_op,
)

__all__ = [
    "MonitorMode",
    "monitormode",
    "DeepCopyOp",
    "FromFunctionOp",
    "In",
    "Mode",
    "OpFromGraph",
    "Out",
    "Param",
    "ProfileStats",
    "Rebroadcast",
    "Shape",
    "Shape_i",
    "SharedVariable",
    "SpecifyShape",
    "UnusedInputError",
    "ViewOp",
    "as_op",
    "deep_copy_op",
    "function",
    "get_default_mode",
    "get_mode",
    "mode",
    "ops",
    "optdb",
    "register_deep_copy_op_c_code",
    "register_view_op_c_code",
    "shape",
    "shape_i",
    "shared",
    "sharedvalue",
    "specify_shape",
    "view_op",
]


def __getattr__(name):
    raise missing("theano.compile", name)
