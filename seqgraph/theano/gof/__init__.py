"""``theano.gof``: the graph classes a Python Op uses (``Op``, ``Apply``, ``Variable``, ``Constant``).

``theano.gof.graph`` walks graphs (:mod:`.graph`), ``theano.gof.opt`` writes
rewrites (:mod:`.opt`); ``Type`` and ``FunctionGraph`` are PyTensor's. The
rest of Theano's graph machinery (linkers) is PyTensor's ``pytensor.graph``,
under new names.
"""

from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.type import Type

from seqgraph.theano._op import Op
from seqgraph.theano._removed import missing
from seqgraph.theano.gof import graph, opt

__all__ = ["Apply", "Constant", "FunctionGraph", "Op", "Type", "Variable", "graph", "opt"]


def __getattr__(name):
    raise missing("theano.gof", name)
