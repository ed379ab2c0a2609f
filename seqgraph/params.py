"""Named parameters of cells, layers and models, and their ``.npz`` files.

Every cell, layer and model is a :class:`Module`: it owns some shared
variables and some child modules, and :meth:`Module.named_params` lists them
all under dotted names (``"forward.cell.W_in"``), the names used in saved
files.  Files are plain ``.npz`` archives, written atomically (a temporary
file in the same folder, then a rename) and read with ``allow_pickle=False``,
so that loading never runs code from the file.
"""

from __future__ import annotations

import os
import uuid
from collections import OrderedDict

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable

__all__ = ["Module", "ParameterError", "atomic_write", "load_npz", "save_npz"]


class ParameterError(ValueError):
    """Saved or given parameters do not fit a module (missing name, wrong shape)."""


class Module:
    """Something that owns named shared variables and child modules.

    Subclasses create parameters with :meth:`add_param` and register children
    with :meth:`add_child`, in a fixed order, so that :attr:`params` has the
    same order on every construction: the children's parameters first, then
    the module's own.
    """

    def __init__(self):
        self._params: OrderedDict[str, SharedVariable] = OrderedDict()
        self._children: OrderedDict[str, Module] = OrderedDict()

    def add_param(self, name, value, trainable=True) -> SharedVariable:
        """Create a shared variable named ``name`` holding ``value``."""
        if name in self._params:
            raise ValueError(f"parameter {name!r} already exists in {type(self).__name__}.")
        var = pytensor.shared(np.asarray(value), name=name)
        var.tag.trainable = trainable
        self._params[name] = var
        return var

    def add_child(self, name, module) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"{name} must be a seqgraph Module; got {module!r}.")
        self._children[name] = module
        return module

    def named_params(self, trainable_only=False) -> OrderedDict[str, SharedVariable]:
        """Every parameter of this module and its children, by dotted name."""
        out: OrderedDict[str, SharedVariable] = OrderedDict()
        for child_name, child in self._children.items():
            for name, var in child.named_params(trainable_only).items():
                out[f"{child_name}.{name}"] = var
        for name, var in self._params.items():
            if not trainable_only or var.tag.trainable:
                out[name] = var
        return out

    @property
    def params(self) -> list[SharedVariable]:
        """The trainable parameters, in a fixed order (what optimizers update)."""
        return list(self.named_params(trainable_only=True).values())

    @property
    def all_params(self) -> list[SharedVariable]:
        """Trainable and fixed parameters alike."""
        return list(self.named_params().values())

    def get_values(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter's value, by dotted name."""
        return OrderedDict(
            (name, np.array(var.get_value(), copy=True))
            for name, var in self.named_params().items()
        )

    def set_values(self, values, strict=True) -> None:
        """Set parameters from a mapping of dotted names to arrays.

        Parameters
        ----------
        values : mapping of str to array_like
        strict : bool
            If True, ``values`` must hold exactly this module's names.

        Raises
        ------
        ParameterError
            A name is missing or unknown (when ``strict``), or a shape differs.
        """
        own = self.named_params()
        missing = [name for name in own if name not in values]
        unknown = [name for name in values if name not in own]
        if missing and strict:
            raise ParameterError(f"missing parameters {missing}; the values hold {sorted(values)}.")
        if unknown and strict:
            raise ParameterError(f"unknown parameters {unknown}; this module has {list(own)}.")
        checked = {}
        for name, var in own.items():
            if name not in values:
                continue
            value = np.asarray(values[name])
            expected = var.get_value(borrow=True).shape
            if value.shape != tuple(expected):
                raise ParameterError(
                    f"parameter {name!r} has shape {tuple(expected)}; the value given has "
                    f"shape {value.shape}."
                )
            checked[name] = value.astype(var.dtype)
        # Only assign once everything fits, so a failed load changes nothing.
        for name, value in checked.items():
            own[name].set_value(value)

    def save(self, path) -> None:
        """Write every parameter to ``path`` (``.npz``), atomically."""
        save_npz(path, self.get_values())

    def load(self, path, strict=True) -> None:
        """Read parameters written by :meth:`save`; see :meth:`set_values`."""
        self.set_values(load_npz(path), strict=strict)

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{name}{tuple(var.get_value(borrow=True).shape)}"
            for name, var in self.named_params().items()
        )
        return f"{type(self).__name__}({shapes})"


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it.

    A crash or an exception during ``write`` leaves any existing file at
    ``path`` untouched.  The file gets the permissions of any other new file
    (``0o666`` less the process's umask), not the owner-only ones of a
    ``tempfile.mkstemp`` file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"{path!r} is a folder; give the file to write, e.g. "
            f"{os.path.join(path, 'model.npz')!r}."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist.")
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(path)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # (the umask applies, as to any new file)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_npz(path, arrays) -> None:
    """Save a mapping of names to arrays as an uncompressed ``.npz``, atomically."""
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in arrays.items():
        if value.dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which .npz cannot hold safely.")
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_npz(path) -> OrderedDict[str, np.ndarray]:
    """Read an ``.npz`` written by :func:`save_npz`; never unpickles."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        return OrderedDict((name, data[name]) for name in data.files)
