"""``theano.gof.graph``: walking a graph, under Theano's names.

``inputs`` is PyTensor's ``graph_inputs`` (Lasagne's ``collect_shared_vars``
calls it); the rest are PyTensor's functions of the same job.
"""

from pytensor.graph.basic import Apply, Constant, Node, clone, equal_computations  # noqa: F401
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import (  # noqa: F401
    ancestors,
    graph_inputs,
    io_toposort,
    vars_between,
)

from seqgraph.theano._removed import missing
from seqgraph.theano._variable import Variable  # noqa: F401


def inputs(variable_list, blockers=None):
    """The inputs of the graph that computes ``variable_list`` (variables with no owner)."""
    return list(graph_inputs(variable_list, blockers=blockers))


def variables(i, o):
    """The variables on the paths from inputs ``i`` to outputs ``o``."""
    return list(vars_between(i, o))


def ops(i, o):
    """The nodes on the paths from inputs ``i`` to outputs ``o``."""
    nodes = (v.owner for v in vars_between(i, o) if v.owner is not None and v not in i)
    return list(dict.fromkeys(nodes))


def is_same_graph(var1, var2, givens=None, debug=False):
    """Whether ``var1`` and ``var2`` compute the same thing by the same graph (Theano's).

    ``givens`` maps variables to others, substituted in both graphs first:
    ``x + 1`` and ``y + 1`` are the same graph given ``{x: y}``. Graphs that
    compute the same values by different operations (``x * (y * z)`` and
    ``(x * y) * z``) are not.
    """
    if givens:
        var1, var2 = graph_replace([var1, var2], dict(givens), strict=False)
    return equal_computations([var1], [var2])


def __getattr__(name):
    raise missing("theano.gof.graph", name)
