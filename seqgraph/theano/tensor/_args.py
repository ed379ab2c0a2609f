"""Argument checks shared by the pooling and convolution functions."""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Constant, Variable


def is_int(value):
    """True for Python and NumPy ints, not bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def int_tuple(value, nd, name, fname):
    """``value`` as a tuple of ``nd`` Python ints; an int stands for all ``nd``.

    Raises a ``TypeError`` naming ``fname``'s argument ``name`` otherwise,
    symbolic values included: the windows and filter taps are written out
    one slice each, so their sizes must be known when the graph is built.
    """
    if isinstance(value, Constant):
        value = value.data
    if isinstance(value, Variable):
        raise TypeError(
            f"{fname}: {name} must be known when the graph is built (ints); got the "
            f"symbolic {value}."
        )
    if is_int(value):
        return (int(value),) * nd
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if items is None or len(items) != nd or not all(is_int(v) for v in items):
        raise TypeError(f"{fname}: {name} must be an int or {nd} ints; got {value!r}.")
    return tuple(int(v) for v in items)
