"""``theano.ifelse``: the lazy ``ifelse``."""

try:  # PyTensor >= 3.1
    from pytensor.conditional.op import ifelse
except ImportError:  # PyTensor 3.0
    import importlib

    ifelse = importlib.import_module("pytensor.ifelse").ifelse

__all__ = ["ifelse"]
