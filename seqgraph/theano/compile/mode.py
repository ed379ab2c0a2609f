"""``theano.compile.mode``: ``Mode``, ``get_mode``, ``get_default_mode``."""

from seqgraph.theano import Mode, config
from seqgraph.theano._removed import missing

__all__ = ["Mode", "get_default_mode", "get_mode"]


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
