"""``theano.ifelse``: the lazy ``ifelse``."""

import importlib

ifelse = importlib.import_module("pytensor.ifelse").ifelse

__all__ = ["ifelse"]
