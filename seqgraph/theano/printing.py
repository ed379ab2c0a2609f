"""``theano.printing``: Print, debugprint, pp, pprint, pydotprint."""

from pytensor.printing import Print, pp, pprint  # noqa: F401
from pytensor.printing import debugprint as _debugprint
from pytensor.printing import pydotprint as _pydotprint

from seqgraph.theano._removed import missing


def _graph_of(obj):
    """A compiled function's PyTensor function (its optimised graph); else ``obj``."""
    from seqgraph.theano import TheanoFunction

    return obj.compiled if isinstance(obj, TheanoFunction) else obj


def debugprint(obj, *args, **kwargs):
    """``theano.printing.debugprint``: a variable's graph, or a compiled function's.

    A function from ``theano.function`` prints its optimised graph, as in
    Theano (C and Numba backends; see :attr:`seqgraph.theano.TheanoFunction.compiled`).
    """
    return _debugprint(_graph_of(obj), *args, **kwargs)


def pydotprint(fct, *args, **kwargs):
    """``theano.printing.pydotprint`` (needs pydot): a graph drawn to a file."""
    return _pydotprint(_graph_of(fct), *args, **kwargs)


def __getattr__(name):
    raise missing("theano.printing", name)
