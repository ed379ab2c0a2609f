"""``theano.updates``: :class:`OrderedUpdates`, the mapping ``theano.scan`` returns."""

from __future__ import annotations

from collections import OrderedDict

from pytensor.compile.sharedvalue import SharedVariable

__all__ = ["OrderedUpdates"]


class OrderedUpdates(OrderedDict):
    """A mapping from shared variables to their new values, as Theano's.

    Keys must be shared variables (a ``TypeError`` otherwise). :meth:`update`
    refuses to give a variable a second, different update (``KeyError``,
    ``("Collision", variable)``), and ``a + b`` is the union of two sets of
    updates under the same rule.

    Examples
    --------
    >>> import numpy as np
    >>> import seqgraph.theano as theano
    >>> w = theano.shared(np.float32(1.0), name="w")
    >>> ups = OrderedUpdates()
    >>> ups[w] = w * 2
    >>> ups.update({w: ups[w]})  # the same update again: accepted
    >>> len(ups + OrderedUpdates())
    1
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in self:
            _check_key(key)

    def __setitem__(self, key, value):
        _check_key(key)
        super().__setitem__(key, value)

    def update(self, other=None, **kwargs):
        """Add ``other``'s updates (a mapping or ``(variable, value)`` pairs)."""
        if kwargs:
            raise TypeError("OrderedUpdates.update takes (variable, value) pairs, not keywords.")
        if other is None:
            return
        pairs = other.items() if hasattr(other, "items") else other
        for key, value in pairs:
            if key in self:
                if self[key] is value:
                    continue
                raise KeyError("Collision", key)
            self[key] = value

    def __add__(self, other):
        both = OrderedUpdates(self)
        both.update(other)
        return both

    def __radd__(self, other):
        both = OrderedUpdates(other)
        both.update(self)
        return both


def _check_key(key):
    if not isinstance(key, SharedVariable):
        raise TypeError(f"OrderedUpdates keys must be shared variables; got {key!r}.")
