"""``THEANO_FLAGS`` and ``.theanorc``: the settings old scripts rely on.

Read once, when :mod:`seqgraph.theano` is imported.  ``floatX``, ``mode``,
``optimizer`` and ``device`` choose the float type and the backend; the other
flags go to ``theano.config`` (:mod:`seqgraph.theano._config`).  ``THEANO_FLAGS``
(``floatX=float32,device=cuda``) wins over ``$THEANORC`` or ``~/.theanorc`` (an
INI file: ``[global]`` holds the same keys, ``[section]`` holds ``section.key``).
"""

from __future__ import annotations

import configparser
import os

KNOWN = ("floatX", "mode", "optimizer", "device")


def read_flags(environ=None) -> dict:
    """The Theano settings from the rc file, then ``THEANO_FLAGS``."""
    environ = os.environ if environ is None else environ
    flags: dict[str, str] = {}
    rc_paths = environ.get("THEANORC", os.path.expanduser("~/.theanorc")).split(os.pathsep)
    parser = configparser.ConfigParser()
    parser.read([p for p in rc_paths if p and os.path.isfile(p)])
    for section in parser.sections():
        prefix = "" if section == "global" else section + "."
        for key, value in parser.items(section):
            flags[prefix + _canonical(key)] = value.strip()
    for item in environ.get("THEANO_FLAGS", "").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"THEANO_FLAGS entry {item!r} is not of the form key=value.")
        key, value = item.split("=", 1)
        flags[_canonical(key.strip())] = value.strip()
    return flags


def _canonical(key):
    # configparser lower-cases keys; Theano's spelling is floatX.
    return "floatX" if key.lower() == "floatx" else key


def backend_for(flags) -> tuple[str | None, str | None]:
    """(backend, device) for seqgraph.function from ``mode`` and ``device``.

    ``device=cuda*`` or ``gpu*`` runs on JAX on the GPU; on the CPU, Theano
    scripts get the C backend (compiled once; the JAX backend compiles once
    per input shape, which a per-sentence training loop would repeat), unless
    ``mode`` names a backend (``NUMBA``, ``JAX``) or ``SEQGRAPH_BACKEND`` is set.
    """
    device = flags.get("device", "cpu").lower()
    mode = flags.get("mode", "").upper()
    if device.startswith(("cuda", "gpu")):
        return "jax", "gpu"
    if device not in ("cpu", ""):
        raise ValueError(f"THEANO_FLAGS device={device!r}: expected cpu, cuda* or gpu*.")
    if mode in ("NUMBA", "JAX"):
        return mode.lower(), "cpu"
    if os.environ.get("SEQGRAPH_BACKEND"):
        return None, None
    return "c", "cpu"
