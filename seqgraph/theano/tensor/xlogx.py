"""``theano.tensor.xlogx``: ``x log x`` and ``x log y``, zero where ``x`` is zero."""

from pytensor.tensor.special import xlogy

__all__ = ["xlogx", "xlogy0"]


def xlogx(x):
    """``x * log(x)``, 0 where ``x == 0``."""
    return xlogy(x, x)


def xlogy0(x, y):
    """``x * log(y)``, 0 where ``x == 0``."""
    return xlogy(x, y)
