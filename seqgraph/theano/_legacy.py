"""Names that Python and NumPy removed after Theano's time, put back for ``seqgraph run``.

Theano-era code, and the libraries built on Theano (Keras 2's Theano backend,
Lasagne), use names that later Python and NumPy releases removed:
``collections.Iterable`` (Python 3.10), ``inspect.getargspec`` (3.11),
``time.clock`` (3.8), ``numpy.float`` and the other builtin aliases (NumPy
1.24), ``numpy.float_``, ``numpy.NaN``, ``numpy.asscalar`` and ``numpy.cast``
(NumPy 2.0), the module ``numpy.core.umath_tests`` (NumPy 2.0; neupy imports
its ``inner1d``); ``numpy.array`` / ``asarray`` of ragged nested sequences, which
made an object array until NumPy 1.24 (sentences of different lengths as
lists of word ids);
and the module ``pkg_resources``, which setuptools 81 removed (Keras 1 imports
its ``parse_version``). ``seqgraph port`` rewrites the names in a script's
source; a library installed with pip is not ported, so ``seqgraph run``
defines them again for the run (``--no-legacy-names`` turns this off). A name
that is still there is left as it is.
"""

from __future__ import annotations

import builtins
import collections
import collections.abc
import importlib.metadata
import importlib.resources
import importlib.util
import inspect
import sys
import time
import types
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


class DistributionNotFound(Exception):
    """No installed distribution of that name (``pkg_resources``' exception)."""


class VersionConflict(Exception):
    """An installed distribution's version is outside the one required."""


class _Distribution:
    """What code of Theano's time read from ``pkg_resources.get_distribution``."""

    def __init__(self, dist):
        self.project_name = dist.metadata["Name"]
        self.key = self.project_name.lower()
        self.version = dist.version
        self.parsed_version = _parse_version(dist.version)
        self.location = str(dist.locate_file(""))

    def __repr__(self):
        return f"{self.project_name} {self.version}"


def _parse_version(version):
    from packaging.version import Version

    return Version(version)


def _get_distribution(name):
    try:
        return _Distribution(importlib.metadata.distribution(str(name)))
    except importlib.metadata.PackageNotFoundError:
        raise DistributionNotFound(f"The {name!r} distribution was not found") from None


def _require(*requirements):
    from packaging.requirements import Requirement

    found = []
    for text in requirements:
        wanted = Requirement(str(text))
        dist = _get_distribution(wanted.name)
        if not wanted.specifier.contains(dist.version, prereleases=True):
            raise VersionConflict(f"{dist} is installed; {wanted} is required")
        found.append(dist)
    return found


def _resource(package, name):
    return importlib.resources.files(package).joinpath(name)


def _iter_entry_points(group, name=None):
    for point in importlib.metadata.entry_points(group=group):
        if name is None or point.name == name:
            yield point


def _pkg_resources():
    """A ``pkg_resources`` of the functions old code calls, on importlib and packaging."""
    module = types.ModuleType(
        "pkg_resources",
        "seqgraph's stand-in for setuptools' removed pkg_resources: versions, "
        "installed distributions, package resources and entry points.",
    )
    module.__dict__.update(
        parse_version=_parse_version,
        get_distribution=_get_distribution,
        require=_require,
        iter_entry_points=_iter_entry_points,
        resource_filename=lambda package, name: str(_resource(package, name)),
        resource_string=lambda package, name: _resource(package, name).read_bytes(),
        resource_stream=lambda package, name: _resource(package, name).open("rb"),
        resource_exists=lambda package, name: _resource(package, name).exists(),
        resource_isdir=lambda package, name: _resource(package, name).is_dir(),
        resource_listdir=lambda package, name: [p.name for p in _resource(package, name).iterdir()],
        DistributionNotFound=DistributionNotFound,
        VersionConflict=VersionConflict,
    )
    return module


class _Cast:
    """NumPy's removed ``cast``: ``cast[dtype](a)`` is ``a`` as an array of that dtype."""

    def __getitem__(self, dtype):
        dtype = np.dtype(dtype)
        return lambda a: np.asarray(a).astype(dtype)


def _object_array_if_ragged(function):
    """``numpy.array`` / ``numpy.asarray`` as before NumPy 1.24, for ragged nested sequences.

    Until NumPy 1.24, ``np.asarray([[0, 4, 7], [0, 2]])`` (the word-id
    sequences of sentences of different lengths, which RNN code of Theano's
    time builds that way) gave a one-dimensional object array of the lists;
    NumPy 1.24 raises a ``ValueError`` instead.  The wrapped function makes
    the object array where NumPy refuses for that reason and no ``dtype`` was
    given; everything else is NumPy's own call.
    """

    def wrapped(a, dtype=None, *args, **kwargs):
        try:
            return function(a, dtype, *args, **kwargs)
        except ValueError as error:
            if dtype is not None or "inhomogeneous" not in str(error):
                raise
            return function(a, object, *args, **kwargs)

    wrapped.__name__ = function.__name__
    wrapped.__qualname__ = function.__qualname__
    wrapped.__doc__ = function.__doc__
    wrapped._seqgraph_ragged = function
    return wrapped


def _ragged_arrays(done):
    for name in ("array", "asarray"):
        current = getattr(np, name)
        if getattr(current, "_seqgraph_ragged", None) is not None:
            continue
        try:
            np.asarray([[0, 1], [0]])
        except ValueError:
            setattr(np, name, _object_array_if_ragged(current))
            done.append(f"numpy.{name} (ragged sequences)")


def _umath_tests():
    """NumPy 1's ``numpy.core.umath_tests``: its generalized ufuncs ``inner1d`` ...

    NumPy 2 keeps the module, private, as ``numpy._core._umath_tests``; where
    that is gone, the three that code used are written with ``einsum`` and
    ``matmul``.
    """
    try:
        return importlib.import_module("numpy._core._umath_tests")
    except ImportError:
        module = types.ModuleType("numpy.core.umath_tests", "NumPy 1's umath_tests, in part.")
        module.__dict__.update(
            inner1d=lambda a, b: np.einsum("...i,...i->...", a, b),
            innerwt=lambda a, b, w: np.einsum("...i,...i,...i->...", a, b, w),
            matrix_multiply=np.matmul,
        )
        return module


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
    _put(np, "cast", _Cast(), done)
    _ragged_arrays(done)
    if importlib.util.find_spec("numpy.core.umath_tests") is None:
        sys.modules["numpy.core.umath_tests"] = _umath_tests()
        done.append("numpy.core.umath_tests")
    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        sys.modules["pkg_resources"] = _pkg_resources()
        done.append("pkg_resources")
    return done
