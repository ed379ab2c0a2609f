"""Slices whose bounds come from a JAX function's integer inputs, at a length fixed per program.

Theano's tutorials select a minibatch by an index: ``givens={x:
data[index * n:(index + 1) * n]}``.  Under ``jax.jit`` the bounds are traced
values and JAX refuses the slice, as its length must be known when the
program is built.  The length is known before each call, though: it is
computed from the call's integer arguments (and the shapes the slice reads)
by a small function of its own.  Each such slice becomes a
:class:`DynamicSlice` of that length at a start computed in the program (and
an increment of such a slice a :class:`DynamicUpdateSlice` of the block),
and the lengths join the program's signature: one program per length met (the
last, shorter minibatch of an epoch is a second one).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.traversal import ancestors, io_toposort
from pytensor.tensor.subtensor import (
    IncSubtensor,
    Subtensor,
    get_canonical_form_slice,
    get_idx_list,
)

from seqgraph._compat import with_infer_shape

__all__ = ["DynamicSlice", "DynamicUpdateSlice", "find", "lengths_of", "replace"]


@with_infer_shape
class DynamicSlice(Op):
    """``x[start:start + length]`` along ``axis``, ``length`` fixed and ``start`` a variable."""

    __props__ = ("axis", "length")

    def __init__(self, axis: int, length: int):
        self.axis = int(axis)
        self.length = int(length)

    def make_node(self, x, start):
        x = pt.as_tensor_variable(x)
        start = pt.as_tensor_variable(start)
        shape = list(x.type.shape)
        shape[self.axis] = self.length
        return Apply(self, [x, start], [x.type.clone(shape=tuple(shape))()])

    def perform(self, node, inputs, outputs):
        x, start = inputs
        index = [slice(None)] * x.ndim
        index[self.axis] = slice(int(start), int(start) + self.length)
        outputs[0][0] = np.array(x[tuple(index)])

    def infer_shape(self, node, shapes):
        shape = list(shapes[0])
        shape[self.axis] = pt.constant(self.length, dtype="int64")
        return [tuple(shape)]


@with_infer_shape
class DynamicUpdateSlice(Op):
    """``x`` with ``block`` written at ``start`` along ``axis`` (the block's length)."""

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, x, block, start):
        x = pt.as_tensor_variable(x)
        block = pt.as_tensor_variable(block).astype(x.type.dtype)
        start = pt.as_tensor_variable(start)
        return Apply(self, [x, block, start], [x.type()])

    def perform(self, node, inputs, outputs):
        x, block, start = inputs
        out = np.array(x)
        index = [slice(None)] * x.ndim
        index[self.axis] = slice(int(start), int(start) + block.shape[self.axis])
        out[tuple(index)] = block
        outputs[0][0] = out

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def register_jax_dispatch() -> None:
    """JAX implementations: ``lax.dynamic_slice_in_dim`` and ``dynamic_update_slice_in_dim``."""
    from jax import lax
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(DynamicSlice)
    def _dynamic_slice(op, **kwargs):
        def dynamic_slice(x, start):
            return lax.dynamic_slice_in_dim(x, start, op.length, axis=op.axis)

        return dynamic_slice

    @jax_funcify.register(DynamicUpdateSlice)
    def _dynamic_update_slice(op, **kwargs):
        def dynamic_update_slice(x, block, start):
            return lax.dynamic_update_slice_in_dim(x, block.astype(x.dtype), start, axis=op.axis)

        return dynamic_update_slice


def _entries(node, inputs=None) -> list:
    """The index of a ``Subtensor`` or ``IncSubtensor`` node (or of its op on ``inputs``)."""
    inputs = list(node.inputs if inputs is None else inputs)
    if isinstance(node.op, IncSubtensor):
        inputs = [inputs[0], *inputs[2:]]  # (the value comes second)
    return list(get_idx_list(inputs, node.op.idx_list))


def _dynamic_axes(node, indices, blockers) -> list[int] | None:
    """The axes of ``node``'s index whose slice bounds depend on ``indices``; None if unsupported."""
    entries = _entries(node)
    axes = []
    for axis, entry in enumerate(entries):
        if not isinstance(entry, slice):
            continue
        bounds = [
            b for b in (entry.start, entry.stop) if b is not None and not isinstance(b, Constant)
        ]
        if not bounds or not (set(ancestors(bounds, blockers=blockers)) & indices):
            continue
        if entry.step is not None and not (
            isinstance(entry.step, Constant) and int(entry.step.data) == 1
        ):
            return None  # (a step other than 1: left to JAX, which refuses it)
        axes.append(axis)
    if isinstance(node.op, IncSubtensor) and len(axes) > 1:
        return None
    return axes


def find(inputs, roots, indices) -> list:
    """``(node, axes)`` for each slice of ``roots`` whose bounds depend on the inputs ``indices``.

    In a fixed order (a topological sort), so that the same graph built again
    gives its nodes in the same order.
    """
    indices = set(indices)
    if not indices:
        return []
    found = []
    for node in io_toposort(list(inputs), list(roots)):
        if type(node.op) in (Subtensor, IncSubtensor):
            axes = _dynamic_axes(node, indices, list(inputs))
            if axes:
                found.append((node, axes))
    return found


def _canonical(x, entry, axis):
    """``(start, length)`` of the slice ``entry`` of ``x`` on ``axis``, NumPy's rules."""
    (canonical, _) = get_canonical_form_slice(slice(entry.start, entry.stop, None), x.shape[axis])
    start = pt.as_tensor_variable(canonical.start).astype("int64")
    stop = pt.as_tensor_variable(canonical.stop).astype("int64")
    return start, pt.maximum(stop - start, 0)


def lengths_of(found) -> list:
    """The length of every dynamic slice in ``found``, as variables, in order."""
    return [
        _canonical(node.inputs[0], _entries(node)[axis], axis)[1]
        for node, axes in found
        for axis in axes
    ]


def replace(found, lengths) -> dict:
    """Replacements of the nodes' outputs by dynamic slices of the given ``lengths``.

    The nodes come in a topological order; each is rebuilt on its inputs with
    the earlier replacements made (the gradient of a slice increments zeros
    by a value computed from that slice).
    """
    from pytensor.graph.replace import graph_replace

    lengths = iter(int(n) for n in lengths)
    out = {}
    for node, axes in found:
        inputs = graph_replace(list(node.inputs), out, strict=False) if out else node.inputs
        x = inputs[0]
        entries = _entries(node, inputs)
        starts = []
        for axis in axes:
            starts.append(_canonical(x, entries[axis], axis)[0])
            entries[axis] = slice(None)
        rest = tuple(entries)
        if isinstance(node.op, Subtensor):
            y = x
            for axis, start in zip(axes, starts):
                y = DynamicSlice(axis, next(lengths))(y, start)
            new = y[rest] if any(e != slice(None) for e in rest) else y
        else:
            [axis], [start] = axes, starts
            block = DynamicSlice(axis, next(lengths))(x, start)
            value = inputs[1]
            if node.op.set_instead_of_inc:
                block = pt.set_subtensor(block[rest], value)
            else:
                block = pt.inc_subtensor(block[rest], value)
            new = DynamicUpdateSlice(axis)(x, block, start)
        out[node.outputs[0]] = new
    return out
