"""``theano.Variable``: PyTensor's ``Variable`` with Theano's constructor defaults.

Theano made a variable with ``Variable(type, owner=None, index=None,
name=None)``; PyTensor requires ``owner``. ``theano.Variable`` here takes
Theano's defaults, and every PyTensor variable is an instance of it
(``isinstance(x, theano.Variable)`` holds for all, as in Theano).
"""

from __future__ import annotations

from pytensor.graph.basic import Variable as _PyTensorVariable


class _AnyVariable(type(_PyTensorVariable)):
    def __instancecheck__(cls, obj):
        return isinstance(obj, _PyTensorVariable)

    def __subclasscheck__(cls, subclass):
        # By the MRO: issubclass would consult the ABC machinery of PyTensor's
        # class, which asks this class again.
        return _PyTensorVariable in getattr(subclass, "__mro__", ())


class Variable(_PyTensorVariable, metaclass=_AnyVariable):
    """A variable of a graph: ``Variable(type, owner=None, index=None, name=None)``."""

    def __init__(self, type, owner=None, index=None, name=None):
        super().__init__(type, owner, index, name)
