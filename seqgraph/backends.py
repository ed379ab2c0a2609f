"""One place that maps a backend name and a device to a PyTensor mode.

seqgraph compiles the same graph with one of three PyTensor linkers:

``"c"``
    PyTensor's C code generator run by the CVM (the C virtual machine, which is
    also what runs ``Scan``'s inner function in C).  Linked to OpenBLAS from the
    ``scipy-openblas32`` wheel (see :mod:`seqgraph._blas`).
``"numba"``
    PyTensor's Numba backend, with Numba's on-disk cache.
``"jax"``
    PyTensor's JAX backend behind seqgraph's shape specialisation (see
    :mod:`seqgraph.function`); the only backend that can run on a GPU.

The defaults come from ``SEQGRAPH_BACKEND`` and ``SEQGRAPH_DEVICE``.

Every backend's mode honours PyTensor's ``optimizer_excluding``,
``optimizer_including`` and ``optimizer_requiring`` flags (rewrite names or
tags separated by ``:``, as ``PYTENSOR_FLAGS=optimizer_excluding=fusion``),
which PyTensor itself applies only to its ``Mode`` mode, and the same three
flags of ``theano.config`` / ``THEANO_FLAGS`` (:data:`REWRITE_QUERY`).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

__all__ = [
    "BACKENDS",
    "PREFERRED_BACKENDS",
    "DEVICES",
    "Target",
    "available_backends",
    "default_backend",
    "get_mode",
    "jax_device",
    "resolve",
    "REWRITE_QUERY",
    "with_rewrite_flags",
]

BACKENDS = ("c", "numba", "jax")
DEVICES = ("cpu", "gpu")

#: Rewrite names or tags that every backend's mode leaves out, adds or
#: requires, besides PyTensor's ``optimizer_*`` flags; ``theano.config``'s
#: flags of the same names set these (PyTensor's cannot change once read).
REWRITE_QUERY: dict[str, list[str]] = {"excluding": [], "including": [], "requiring": []}

#: Chosen by measurement (README, "Choosing the default backend",
#: ``python -m benchmarks.backend_choice``): JAX compiled an LSTM training
#: function in 5-7 s cold against ~56 s (C) and ~100 s (Numba) and ran its
#: step fastest; it is an optional extra, so without it the C backend is next.
PREFERRED_BACKENDS = ("jax", "c", "numba")


def default_backend() -> str:
    """Return the default backend: the first of :data:`PREFERRED_BACKENDS` installed.

    ``$SEQGRAPH_BACKEND`` overrides it (see :func:`resolve`).
    """
    found = available_backends()
    for name in PREFERRED_BACKENDS:
        if name in found:
            return name
    raise RuntimeError(
        "no seqgraph backend is available: install jax (pip install 'seqgraph[jax]'), "
        "a C++ compiler, or numba."
    )


@dataclass(frozen=True)
class Target:
    """A resolved compilation target.

    Attributes
    ----------
    backend : str
        One of :data:`BACKENDS`.
    device : str
        ``"cpu"`` or ``"gpu"``.
    """

    backend: str
    device: str


def _check_choice(value, choices, argument, env=None):
    if not isinstance(value, str) or value.lower() not in choices:
        source = f" (from the environment variable {env})" if env else ""
        raise ValueError(
            f"{argument}={value!r}{source} is not valid; expected one of "
            f"{', '.join(repr(c) for c in choices)}."
        )
    return value.lower()


def available_backends() -> tuple[str, ...]:
    """Return the backends that can compile on this machine.

    Returns
    -------
    tuple of str
        A subset of :data:`BACKENDS`: ``"c"`` needs a C++ compiler, ``"numba"``
        the numba package and ``"jax"`` the jax package.
    """
    import pytensor

    found = []
    if pytensor.config.cxx:
        found.append("c")
    if importlib.util.find_spec("numba") is not None:
        found.append("numba")
    if importlib.util.find_spec("jax") is not None:
        found.append("jax")
    return tuple(found)


def resolve(backend: str | None = None, device: str | None = None) -> Target:
    """Validate a backend and a device, filling in the defaults.

    Parameters
    ----------
    backend : {"c", "numba", "jax"}, optional
        Defaults to ``$SEQGRAPH_BACKEND``, else ``"jax"`` when
        ``device="gpu"``, else :func:`default_backend`.
    device : {"cpu", "gpu"}, optional
        Defaults to ``$SEQGRAPH_DEVICE``, else ``"cpu"``.

    Returns
    -------
    Target

    Raises
    ------
    ValueError
        For an unknown name, or ``device="gpu"`` with a backend other than JAX.
    RuntimeError
        When the backend's package is missing, or no GPU is visible to JAX for
        ``device="gpu"``.  seqgraph never falls back to the CPU silently.
    """
    if device is None:
        env = os.environ.get("SEQGRAPH_DEVICE")
        device = _check_choice(env, DEVICES, "device", "SEQGRAPH_DEVICE") if env else "cpu"
    else:
        device = _check_choice(device, DEVICES, "device")
    if backend is None:
        env = os.environ.get("SEQGRAPH_BACKEND")
        if env:
            backend = _check_choice(env, BACKENDS, "backend", "SEQGRAPH_BACKEND")
        else:
            backend = "jax" if device == "gpu" else default_backend()
    else:
        backend = _check_choice(backend, BACKENDS, "backend")
    if device == "gpu" and backend != "jax":
        raise ValueError(
            f"device='gpu' needs backend='jax' (got backend={backend!r}); "
            "the C and Numba backends run on the CPU only."
        )
    if backend not in available_backends():
        hint = {
            "jax": "pip install 'seqgraph[jax]' (or jax[cuda12] for a GPU)",
            "numba": "pip install numba",
            "c": "install a C++ compiler (g++) and set pytensor.config.cxx",
        }[backend]
        raise RuntimeError(f"backend={backend!r} is not available here: {hint}.")
    if backend == "jax":
        jax_device(device)  # raises when the device is missing
    return Target(backend, device)


def jax_device(device: str):
    """Return the first JAX device of a kind.

    Parameters
    ----------
    device : {"cpu", "gpu"}

    Returns
    -------
    jax.Device

    Raises
    ------
    RuntimeError
        If JAX sees no device of that kind.
    """
    import jax

    from seqgraph import _jax

    _jax.configure()  # before JAX starts its clients (see seqgraph._malloc)
    try:
        devices = jax.devices(device)
    except RuntimeError:
        devices = []
    if not devices:
        raise RuntimeError(
            f"device={device!r} was asked for, but JAX sees no {device.upper()} "
            f"(devices: {', '.join(str(d) for d in jax.devices())}). Install a "
            "CUDA-enabled jax (pip install 'jax[cuda12]' or 'jax[cuda13]') or use device='cpu'."
        )
    return devices[0]


def get_mode(backend: str):
    """Return the PyTensor mode that compiles for a backend.

    Parameters
    ----------
    backend : {"c", "numba", "jax"}

    Returns
    -------
    pytensor.compile.mode.Mode
    """
    from pytensor.compile.mode import get_mode as pt_get_mode

    backend = _check_choice(backend, BACKENDS, "backend")
    if backend == "jax":
        from seqgraph import _jax

        _jax.install_fixes()
    mode = pt_get_mode({"c": "CVM", "numba": "NUMBA", "jax": "JAX"}[backend])
    if backend == "jax":
        from seqgraph.models import EXPAND_CONTEXT_WINDOW_TAG

        # The context windows compile as one JAX function (seqgraph.models.ContextWindow).
        mode = mode.excluding(EXPAND_CONTEXT_WINDOW_TAG)
    if backend == "c":
        from seqgraph._pytensor_fixes import C_INLINE_TAG

        # Softmax in C, not through Numba (seqgraph._pytensor_fixes).
        mode = mode.including(C_INLINE_TAG)
    return with_rewrite_flags(mode)


def with_rewrite_flags(mode):
    """``mode`` with the rewrites that the ``optimizer_*`` flags name left out, added, required.

    Parameters
    ----------
    mode : pytensor.compile.mode.Mode

    Returns
    -------
    pytensor.compile.mode.Mode
        ``mode`` itself where no flag names a rewrite.
    """
    import pytensor

    for kind in ("excluding", "including", "requiring"):
        names = getattr(pytensor.config, "optimizer_" + kind).split(":") + REWRITE_QUERY[kind]
        names = [name for name in dict.fromkeys(names) if name]
        if names:
            mode = getattr(mode, kind)(*names)
    return mode
