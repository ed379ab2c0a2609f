"""``theano.configparser``: ``config`` and ``change_flags``."""

from __future__ import annotations

import contextlib

from seqgraph.theano import config
from seqgraph.theano._config import Config as TheanoConfigParser  # noqa: F401
from seqgraph.theano._removed import missing

__all__ = ["TheanoConfigParser", "change_flags", "config"]


def __getattr__(name):
    raise missing("theano.configparser", name)


class change_flags(contextlib.ContextDecorator):  # noqa: N801 - Theano's name
    """Set ``theano.config`` flags for a ``with`` block (or a decorated function).

    Parameters
    ----------
    args : dict, optional
        Flags by name (``{"scan.allow_gc": True}``); dots or ``__`` separate
        a section from its flag.
    **kwargs
        More flags (``floatX="float64"``).

    Examples
    --------
    >>> import seqgraph.theano as theano
    >>> with change_flags(floatX="float64"):
    ...     theano.tensor.scalar().dtype
    'float64'
    """

    def __init__(self, args=(), **kwargs):
        self._flags = {k.replace("__", "."): v for k, v in {**dict(args), **kwargs}.items()}
        self._saved = []

    def __enter__(self):
        saved = []
        try:
            for name, value in self._flags.items():
                saved.append((name, config._get(name)))
                config._set(name, value)
        except Exception:
            self._restore(saved)
            raise
        self._saved.append(saved)
        return self

    def __exit__(self, *exc):
        self._restore(self._saved.pop())
        return False

    @staticmethod
    def _restore(saved):
        for name, value in reversed(saved):
            config._set(name, value)
