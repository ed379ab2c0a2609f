"""Initialisers: callables that turn a shape and a random generator into weights.

Every initialiser is called as ``init(shape, rng)`` and returns a NumPy array
of ``floatX`` (or of ``dtype`` when given).  ``rng`` is a
:class:`numpy.random.Generator`; layers make one from their ``seed``, so that
building the same model with the same seed gives the same weights.

Examples
--------
>>> import numpy as np
>>> from seqgraph.init import Orthogonal, Uniform
>>> w = Orthogonal()((4, 4), np.random.default_rng(0))
>>> bool(np.allclose(w @ w.T, np.eye(4), atol=1e-5))
True
>>> Uniform(0.2)((2, 3), np.random.default_rng(0)).shape
(2, 3)
"""

from __future__ import annotations

import abc
import numbers

import numpy as np
import pytensor

__all__ = [
    "Constant",
    "Glorot",
    "Initializer",
    "Normal",
    "Orthogonal",
    "Uniform",
    "as_initializer",
    "as_rng",
]


def as_rng(seed) -> np.random.Generator:
    """A NumPy generator from ``seed`` (an int, None, or a generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, None or a numpy Generator; got {seed!r}.")


class Initializer(abc.ABC):
    """Base class: subclasses implement :meth:`sample`."""

    def __call__(self, shape, rng=None, dtype=None) -> np.ndarray:
        shape = tuple(int(s) for s in np.atleast_1d(shape)) if shape != () else ()
        if any(s < 0 for s in shape):
            raise ValueError(f"shape must not have negative sizes; got {shape}.")
        dtype = dtype or pytensor.config.floatX
        return np.asarray(self.sample(shape, as_rng(rng)), dtype=dtype)

    @abc.abstractmethod
    def sample(self, shape, rng):
        """Values of ``shape`` drawn with the NumPy generator ``rng``."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Uniform(Initializer):
    """Uniform on ``[-scale, scale]`` (the Theano tutorials use ``0.2``).

    Parameters
    ----------
    scale : float
        Half-width of the interval; must be positive.
    """

    def __init__(self, scale=0.2):
        if not scale > 0:
            raise ValueError(f"scale must be > 0; got {scale!r}.")
        self.scale = float(scale)

    def sample(self, shape, rng):
        return rng.uniform(-self.scale, self.scale, size=shape)


class Normal(Initializer):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    def __init__(self, std=0.01, mean=0.0):
        if not std >= 0:
            raise ValueError(f"std must be >= 0; got {std!r}.")
        self.std = float(std)
        self.mean = float(mean)

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.std, size=shape)


class Glorot(Initializer):
    """Glorot & Bengio (2010): variance ``2 gain^2 / (fan_in + fan_out)``.

    Parameters
    ----------
    gain : float
        Scale factor (``1`` for tanh or linear units).
    distribution : {"uniform", "normal"}
        Uniform on ``[-a, a]`` with ``a = gain sqrt(6 / (fan_in + fan_out))``
        or normal with the same variance.

    Notes
    -----
    ``fan_in`` is ``shape[0]`` and ``fan_out`` the product of the other
    dimensions, matching weights used as ``x @ W``.
    """

    def __init__(self, gain=1.0, distribution="uniform"):
        if distribution not in ("uniform", "normal"):
            raise ValueError(f"distribution must be 'uniform' or 'normal'; got {distribution!r}.")
        self.gain = float(gain)
        self.distribution = distribution

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Glorot needs a shape of at least 2 dimensions; got {shape}.")
        fan_in, fan_out = shape[0], int(np.prod(shape[1:]))
        std = self.gain * np.sqrt(2.0 / (fan_in + fan_out))
        if self.distribution == "normal":
            return rng.normal(0.0, std, size=shape)
        bound = std * np.sqrt(3.0)
        return rng.uniform(-bound, bound, size=shape)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014).

    Recurrent weights initialised this way keep the norm of the state through
    the linear part of the recurrence.  Shapes with more than two dimensions
    are flattened to ``(shape[0], prod(shape[1:]))``.
    """

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of at least 2 dimensions; got {shape}.")
        rows, cols = shape[0], int(np.prod(shape[1:]))
        a = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        # Sign correction makes the distribution uniform over orthogonal matrices.
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape, rng):
        return np.full(shape, self.value)


def as_initializer(value, argument) -> Initializer:
    """Accept an initializer, a number (-> Constant) or an array (-> fixed values)."""
    if isinstance(value, Initializer):
        return value
    if isinstance(value, numbers.Number):
        return Constant(value)
    if isinstance(value, np.ndarray):
        return _Array(value, argument)
    if callable(value):
        return _Callable(value)
    raise TypeError(f"{argument} must be an Initializer, a number or a NumPy array; got {value!r}.")


class _Array(Initializer):
    def __init__(self, array, argument):
        self.array = np.asarray(array)
        self.argument = argument

    def sample(self, shape, rng):
        if self.array.shape != shape:
            raise ValueError(f"{self.argument} has shape {self.array.shape}; expected {shape}.")
        return self.array


class _Callable(Initializer):
    def __init__(self, fn):
        self.fn = fn

    def sample(self, shape, rng):
        return self.fn(shape, rng)
