"""Theano packages whose functions share a name with a submodule keep the function.

``theano.tensor.sort`` is a module and ``T.sort`` a function (``var`` and
``shape`` likewise). Python's import system sets a package's attribute to a
submodule the first time that submodule is imported, and ``theano.*`` names
are imported fresh here (their modules are seqgraph's or PyTensor's), so
``from theano.tensor.sort import argsort`` would turn ``T.sort`` into a
module. In Theano the function won, as its package bound the names after
importing the submodules; :func:`keep_functions` gives a package that rule.
"""

from __future__ import annotations

import sys
import types

__all__ = ["keep_functions"]


class _FunctionsFirst(types.ModuleType):
    def __setattr__(self, name, value):
        current = self.__dict__.get(name)
        if (
            isinstance(value, types.ModuleType)
            and current is not None
            and not isinstance(current, types.ModuleType)
        ):
            return  # an import of the submodule: the function keeps the name
        super().__setattr__(name, value)


def keep_functions(module_name):
    """Make the package ``module_name`` keep its non-module attributes on submodule imports."""
    sys.modules[module_name].__class__ = _FunctionsFirst
