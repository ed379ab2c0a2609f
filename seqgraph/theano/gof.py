"""``theano.gof``: the graph classes a Python Op uses (``Op``, ``Apply``, ``Variable``, ``Constant``).

The rest of Theano's graph machinery is PyTensor's ``pytensor.graph``.
"""

from pytensor.graph.basic import Apply, Constant, Variable

from seqgraph.theano._op import Op
from seqgraph.theano._removed import missing

__all__ = ["Apply", "Constant", "Op", "Variable"]


def __getattr__(name):
    raise missing("theano.gof", name)
