"""``theano.gof.optdb``: databases of rewrites, PyTensor's under Theano's names.

``DB`` is PyTensor's ``RewriteDatabase`` and ``Query`` its
``RewriteDatabaseQuery``; ``SequenceDB``, ``EquilibriumDB``, ``LocalGroupDB``
and ``ProxyDB`` keep their names.  The database PyTensor's modes draw from is
``theano.compile.optdb``, which also takes Theano's positional ``position``.
"""

from pytensor.graph.rewriting.db import (  # noqa: F401
    EquilibriumDB,
    LocalGroupDB,
    ProxyDB,
    RewriteDatabase,
    RewriteDatabaseQuery,
    SequenceDB,
)

from seqgraph.theano._removed import missing

DB = RewriteDatabase
Query = RewriteDatabaseQuery

__all__ = ["DB", "EquilibriumDB", "LocalGroupDB", "ProxyDB", "Query", "SequenceDB"]


def __getattr__(name):
    raise missing("theano.gof.optdb", name)
