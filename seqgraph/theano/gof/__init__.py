"""``theano.gof``: the graph classes a Python Op uses (``Op``, ``Apply``, ``Variable``, ``Constant``).

Its exceptions (``MissingInputError``, ``InconsistencyError``,
``MethodNotDefined``), ``Container``, the linkers, ``ParamsType`` and
``Generic`` are PyTensor's classes of those names; ``COp``, Theano's Op whose C
code is read from files, is PyTensor's ``ExternalCOp``.  ``theano.gof.graph`` walks graphs (:mod:`.graph`); ``theano.gof.opt``,
``toolbox`` and ``optdb`` write and register rewrites (:mod:`.opt`), and
their names are here too, as in Theano; ``Type`` and ``FunctionGraph`` are
PyTensor's. The rest of Theano's graph machinery (linkers) is PyTensor's
``pytensor.graph``, under new names.
"""

from pytensor.graph.basic import Apply, Constant
from pytensor.graph.destroyhandler import DestroyHandler
from pytensor.graph.features import NoOutputFromInplace
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.type import Type
from pytensor.graph.utils import InconsistencyError, MethodNotDefined, MissingInputError
from pytensor.link.basic import (
    Container,
    Linker,
    LocalLinker,
    PerformLinker,
    WrapLinker,
    WrapLinkerMany,
)
from pytensor.link.c.basic import CLinker, DualLinker, OpWiseCLinker
from pytensor.link.c.op import ExternalCOp as COp  # Theano's COp: C code from files
from pytensor.link.c.op import OpenMPOp
from pytensor.link.c.params_type import Params, ParamsType
from pytensor.link.c.type import CEnumType, EnumList, EnumType, Generic, generic

from seqgraph.theano._op import Op
from seqgraph.theano._removed import missing
from seqgraph.theano._variable import Variable
from seqgraph.theano.gof import graph, opt, optdb, toolbox
from seqgraph.theano.gof.opt import (
    EquilibriumOptimizer,
    GlobalOptimizer,
    LocalOptGroup,
    LocalOptimizer,
    MergeOptimizer,
    NavigatorOptimizer,
    OpRemove,
    OpSub,
    Optimizer,
    PatternSub,
    SeqOptimizer,
    TopoOptimizer,
    local_optimizer,
)
from seqgraph.theano.gof.optdb import DB, EquilibriumDB, LocalGroupDB, ProxyDB, Query, SequenceDB
from seqgraph.theano.gof.toolbox import (
    Bookkeeper,
    Feature,
    History,
    ReplaceValidate,
    Validator,
)

__all__ = [
    "CEnumType",
    "CLinker",
    "COp",
    "Container",
    "DestroyHandler",
    "DualLinker",
    "EnumList",
    "EnumType",
    "Generic",
    "InconsistencyError",
    "Linker",
    "LocalLinker",
    "MethodNotDefined",
    "MissingInputError",
    "NoOutputFromInplace",
    "OpWiseCLinker",
    "OpenMPOp",
    "Params",
    "ParamsType",
    "PerformLinker",
    "WrapLinker",
    "WrapLinkerMany",
    "generic",
    "DB",
    "Apply",
    "Bookkeeper",
    "Constant",
    "EquilibriumDB",
    "EquilibriumOptimizer",
    "Feature",
    "FunctionGraph",
    "GlobalOptimizer",
    "History",
    "LocalGroupDB",
    "LocalOptGroup",
    "LocalOptimizer",
    "MergeOptimizer",
    "NavigatorOptimizer",
    "Op",
    "OpRemove",
    "OpSub",
    "Optimizer",
    "PatternSub",
    "ProxyDB",
    "Query",
    "ReplaceValidate",
    "SeqOptimizer",
    "SequenceDB",
    "TopoOptimizer",
    "Type",
    "Validator",
    "Variable",
    "graph",
    "local_optimizer",
    "opt",
    "optdb",
    "toolbox",
]


def __getattr__(name):
    raise missing("theano.gof", name)
