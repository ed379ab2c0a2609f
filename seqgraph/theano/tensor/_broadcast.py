"""``unbroadcast`` / ``addbroadcast`` / ``patternbroadcast``, which PyTensor removed.

PyTensor encodes broadcastability as a static shape of 1.  ``addbroadcast``
is ``specify_broadcastable``; ``unbroadcast`` needs an Op that forgets a
static 1, which :class:`Unbroadcast` is: an identity (a view) whose output
type has an unknown size on the given axes.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op


class Unbroadcast(Op):
    """Identity whose output forgets the static size-1 of ``axes``."""

    __props__ = ("axes",)
    view_map = {0: [0]}

    def __init__(self, axes):
        self.axes = tuple(sorted(set(int(a) for a in axes)))

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        for a in self.axes:
            if not -x.ndim <= a < x.ndim:
                raise ValueError(f"unbroadcast: axis {a} is out of range for ndim={x.ndim}.")
        axes = {a % x.ndim for a in self.axes}
        shape = tuple(None if i in axes else s for i, s in enumerate(x.type.shape))
        return Apply(self, [x], [x.type.clone(shape=shape)()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0]

    def L_op(self, inputs, outputs, grads):
        (x,) = inputs
        (g,) = grads
        return [pt.specify_shape(g, x.type.shape) if g.ndim == x.ndim else g]

    def c_code(self, node, name, inputs, outputs, sub):
        (x,) = inputs
        (z,) = outputs
        return f"Py_XDECREF({z}); {z} = {x}; Py_XINCREF({z});"

    def c_code_cache_version(self):
        return (1,)


def _register_backends():
    try:
        from pytensor.link.jax.dispatch import jax_funcify

        @jax_funcify.register(Unbroadcast)
        def _jax_unbroadcast(op, **kwargs):
            return lambda x: x
    except ImportError:  # pragma: no cover - jax not installed
        pass
    try:
        from pytensor.link.numba.dispatch import numba_funcify
        from pytensor.link.numba.dispatch.basic import numba_njit

        @numba_funcify.register(Unbroadcast)
        def _numba_unbroadcast(op, **kwargs):
            @numba_njit
            def unbroadcast(x):
                return x

            return unbroadcast
    except ImportError:  # pragma: no cover - numba not installed
        pass


_register_backends()


def unbroadcast(x, *axes):
    """Make ``axes`` of ``x`` non-broadcastable (Theano's ``unbroadcast``)."""
    x = pt.as_tensor_variable(x)
    if not any(x.type.shape[a] == 1 for a in axes):
        return x
    return Unbroadcast(axes)(x)


def addbroadcast(x, *axes):
    """Declare ``axes`` of ``x`` broadcastable (size 1)."""
    return pt.specify_broadcastable(x, *axes)


def patternbroadcast(x, broadcastable):
    """Give ``x`` the broadcast pattern ``broadcastable`` (a tuple of bools)."""
    x = pt.as_tensor_variable(x)
    if len(broadcastable) != x.ndim:
        raise ValueError(
            f"patternbroadcast: pattern {broadcastable} has {len(broadcastable)} entries for "
            f"ndim={x.ndim}."
        )
    add = [i for i, b in enumerate(broadcastable) if b and x.type.shape[i] != 1]
    remove = [i for i, b in enumerate(broadcastable) if not b and x.type.shape[i] == 1]
    if add:
        x = addbroadcast(x, *add)
    if remove:
        x = unbroadcast(x, *remove)
    return x


class Rebroadcast:
    """Theano's ``Rebroadcast((axis, flag), ...)``: set the broadcast flag of each ``axis``.

    ``Rebroadcast((0, True), (2, False))(x)`` declares axis 0 of ``x`` of
    size 1 and makes axis 2 non-broadcastable.  PyTensor removed the op;
    calling an instance builds the same graph as :func:`addbroadcast` and
    :func:`unbroadcast` do.
    """

    def __init__(self, *axis):
        pairs = []
        for pair in axis:
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise TypeError(
                    f"Rebroadcast: each argument must be a pair (axis, broadcastable), got {pair!r}."
                )
            pairs.append((int(pair[0]), bool(pair[1])))
        self.axis = dict(pairs)

    def __call__(self, x):
        x = pt.as_tensor_variable(x)
        for a in self.axis:
            if not 0 <= a < x.ndim:
                raise ValueError(f"Rebroadcast: axis {a} is out of range for ndim={x.ndim}.")
        pattern = [self.axis.get(i, s == 1) for i, s in enumerate(x.type.shape)]
        return patternbroadcast(x, pattern)

    def __repr__(self):
        flags = ", ".join(f"({a}, {b})" for a, b in sorted(self.axis.items()))
        return f"Rebroadcast({flags})"
