"""``theano.compile.mode``: ``Mode``, ``get_mode``, ``get_default_mode``, ``optdb``."""

import numbers

import pytensor.compile.mode
from pytensor.graph.rewriting.db import RewriteDatabase, SequenceDB

from seqgraph.theano import Mode, config
from seqgraph.theano._removed import missing

__all__ = ["Mode", "get_default_mode", "get_mode", "optdb"]


class _RewriteDatabase:
    """One of PyTensor's rewrite databases, registered into with Theano's arguments.

    Theano's ``optdb.register(name, optimizer, position, *tags)`` gave a
    sequence's position as the third argument (PyTensor: ``position=``), and
    an equilibrium's ``final_opt=`` is PyTensor's ``final_rewriter=``.  The
    rest (``query``, ``db[name]``, ``name in db``) is PyTensor's.
    """

    def __init__(self, db):
        self._db = db

    def register(self, name, optimizer, *tags, **kwargs):
        if isinstance(self._db, SequenceDB) and tags and isinstance(tags[0], numbers.Real):
            if "position" in kwargs:
                raise TypeError(f"register: position given twice for {name!r}.")
            kwargs["position"] = tags[0]
            tags = tags[1:]
        if "final_opt" in kwargs:
            kwargs["final_rewriter"] = kwargs.pop("final_opt")
        self._db.register(name, optimizer, *tags, **kwargs)
        return optimizer

    def __getitem__(self, name):
        item = self._db[name]
        return _RewriteDatabase(item) if isinstance(item, RewriteDatabase) else item

    def __contains__(self, name):
        return name in self._db

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __repr__(self):
        return f"theano view of {self._db!r}"


optdb = _RewriteDatabase(pytensor.compile.mode.optdb)


def get_mode(name):
    """The mode called ``name`` (``"FAST_RUN"``, ``"FAST_COMPILE"`` ...), or ``name`` if a Mode."""
    if isinstance(name, Mode):
        return name
    if name is None:
        return get_default_mode()
    if not isinstance(name, str):
        raise TypeError(f"get_mode takes a mode name or a Mode; got {name!r}.")
    return Mode(linker=name, optimizer="default")


def get_default_mode():
    """The mode ``THEANO_FLAGS`` set (``mode=``), ``FAST_RUN`` by default."""
    return get_mode(config.mode)


def __getattr__(name):
    raise missing("theano.compile.mode", name)
