"""``theano.gof.toolbox``: the features a rewrite attaches to a graph, PyTensor's under Theano's names.

``ReplaceValidate`` gives a ``FunctionGraph`` its ``replace_validate`` (the
replacement Theano's global optimizers made); ``History``, ``Validator`` and
``Bookkeeper`` are PyTensor's too.
"""

from pytensor.graph.features import (  # noqa: F401
    AlreadyThere,
    Bookkeeper,
    Feature,
    History,
    InconsistencyError,
    NoOutputFromInplace,
    PreserveVariableAttributes,
    ReplacementDidNotRemoveError,
    ReplaceValidate,
    Validator,
)

from seqgraph.theano._removed import missing

# Theano's spelling.
ReplacementDidntRemovedError = ReplacementDidNotRemoveError

__all__ = [
    "AlreadyThere",
    "Bookkeeper",
    "Feature",
    "History",
    "InconsistencyError",
    "NoOutputFromInplace",
    "PreserveVariableAttributes",
    "ReplaceValidate",
    "ReplacementDidntRemovedError",
    "Validator",
]


def __getattr__(name):
    raise missing("theano.gof.toolbox", name)
