"""``theano.compile.monitormode``: ``MonitorMode`` with Theano's callbacks, and ``detect_nan``.

Theano called a monitor's ``pre_func`` and ``post_func`` as ``f(i, node, fn)``
(the node's position, the node, its thunk, whose ``inputs`` and ``outputs``
hold the values); PyTensor calls them with the function graph first. Theano's
recipe for finding where NaNs appear, ``theano.function(..., mode=
MonitorMode(post_func=detect_nan))``, runs as it did.
"""

from __future__ import annotations

import numpy as np
from pytensor.compile import MonitorMode as _PyTensorMonitorMode

__all__ = ["MonitorMode", "detect_nan"]


def _theano_call(func):
    if func is None:
        return None

    def call(fgraph, i, node, fn):
        return func(i, node, fn)

    call.__wrapped__ = func
    return call


class MonitorMode(_PyTensorMonitorMode):
    """Theano's ``MonitorMode``: ``pre_func(i, node, fn)`` / ``post_func(i, node, fn)``."""

    def __init__(self, pre_func=None, post_func=None, optimizer="default", linker=None):
        super().__init__(_theano_call(pre_func), _theano_call(post_func), optimizer, linker)


def detect_nan(i, node, fn):
    """Theano's ``detect_nan``: print the node and its values where an output holds a NaN."""
    for output in fn.outputs:
        value = output[0]
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and np.isnan(value).any():
            print("*** NaN detected ***")
            print(node)
            print("Inputs : %s" % [inp[0] for inp in fn.inputs])
            print("Outputs: %s" % [out[0] for out in fn.outputs])
            break
