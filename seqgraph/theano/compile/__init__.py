"""``theano.compile``: function, shared, In / Param, Out, Mode, SharedVariable, ProfileStats, ``ops.as_op``, ``optdb``."""

from pytensor.compile.sharedvalue import SharedVariable

try:  # PyTensor 3.3
    from pytensor.compile.profiling import ProfileStats
except ImportError:  # PyTensor 3.0
    from pytensor.compile.debug.profiling import ProfileStats

from seqgraph.theano import In, Mode, Out, Param, function, shared
from seqgraph.theano._removed import missing
from seqgraph.theano.compile import mode, ops, sharedvalue
from seqgraph.theano.compile.mode import get_default_mode, get_mode, optdb

__all__ = [
    "In",
    "Mode",
    "Out",
    "Param",
    "ProfileStats",
    "SharedVariable",
    "function",
    "get_default_mode",
    "get_mode",
    "mode",
    "ops",
    "optdb",
    "shared",
    "sharedvalue",
]


def __getattr__(name):
    raise missing("theano.compile", name)
