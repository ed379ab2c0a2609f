"""Names that Python and NumPy removed after Theano's time, put back for ``seqgraph run``.

Theano-era code, and the libraries built on Theano (Keras 2's Theano backend,
Lasagne), use names that later Python and NumPy releases removed:
``collections.Iterable`` (Python 3.10), ``inspect.getargspec`` (3.11),
``time.clock`` (3.8), ``numpy.float`` and the other builtin aliases (NumPy
1.24), ``numpy.float_``, ``numpy.NaN`` and ``numpy.asscalar`` (NumPy 2.0).
``seqgraph port`` rewrites them in a script's source; a library installed
with pip is not ported, so ``seqgraph run`` defines them again for the run
(``--no-legacy-names`` turns this off). A name that is still there is left
as it is.
"""

from __future__ import annotations

import builtins
import collections
import collections.abc
import inspect
import time
import warnings

import numpy as np

__all__ = ["install_legacy_names"]

# The abstract base classes Python 3.10 removed from ``collections`` (less
# ByteString, itself deprecated).
_ABCS = (
    "Awaitable Coroutine AsyncIterable AsyncIterator AsyncGenerator Hashable Iterable Iterator "
    "Generator Reversible Sized Container Callable Collection Set MutableSet Mapping "
    "MutableMapping MappingView KeysView ItemsView ValuesView Sequence MutableSequence"
).split()

ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")


def _getargspec(func):
    """Python 2's ``inspect.getargspec``: ``(args, varargs, keywords, defaults)``."""
    spec = inspect.getfullargspec(func)
    if spec.kwonlyargs or spec.annotations:
        raise ValueError(
            "Function has keyword-only parameters or annotations, use inspect.signature() instead."
        )
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def _asscalar(a):
    """NumPy's removed ``asscalar``: the one element of ``a`` as a Python scalar."""
    return np.asarray(a).item()


def _put(module, name, value, done):
    if name not in vars(module):
        try:
            with warnings.catch_warnings():  # NumPy warns as it refuses a removed name
                warnings.simplefilter("ignore")
                getattr(module, name)
            return  # still provided (a module __getattr__ may serve it)
        except AttributeError:
            pass
        setattr(module, name, value)
        done.append(f"{module.__name__}.{name}")


def install_legacy_names():
    """Define the removed names again; return the ones defined (``"numpy.float"`` ...)."""
    from seqgraph.port import _NUMPY_REMOVED

    done = []
    for name in _ABCS:
        _put(collections, name, getattr(collections.abc, name), done)
    _put(inspect, "getargspec", _getargspec, done)
    _put(time, "clock", time.perf_counter, done)
    for name, target in _NUMPY_REMOVED.items():
        value = getattr(np, target[1:]) if target.startswith(".") else getattr(builtins, target)
        _put(np, name, value, done)
    _put(np, "asscalar", _asscalar, done)
    return done
