"""``theano.gof``: the graph classes a Python Op uses (``Op``, ``Apply``, ``Variable``, ``Constant``).

``theano.gof.graph`` walks graphs (:mod:`.graph`); ``theano.gof.opt``,
``toolbox`` and ``optdb`` write and register rewrites (:mod:`.opt`), and
their names are here too, as in Theano; ``Type`` and ``FunctionGraph`` are
PyTensor's. The rest of Theano's graph machinery (linkers) is PyTensor's
``pytensor.graph``, under new names.
"""

from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.type import Type

from seqgraph.theano._op import Op
from seqgraph.theano._removed import missing
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
