"""Large elementwise updates with several outputs in one pass, block by block (JAX, CPU).

An optimizer's update of a large parameter is one elementwise computation with
several outputs: AdaDelta's update of ``lstm.py``'s 10000x128 embedding gives
the new parameter and its two accumulators, Adam's the parameter and two
moments.  XLA's CPU backend emits one loop per output and materialises the
values the outputs share (AdaDelta's square roots), so such an update reads
and writes the 5 MB arrays in five passes where one would do (2.2 ms, against
about 1.1 ms for one pass reading four arrays and writing three).

On the CPU, seqgraph's JAX programs gather such a computation into a
:class:`ChunkedElemwise`: XLA runs it as a loop over blocks of rows, and each
block's outputs are all computed while the block's inputs are in cache.  An
output that replaces a parameter (an update) is written into the block of
rows it was read from, in the buffer of that parameter, so that XLA can keep
the update in place when the parameter is donated.

:func:`chunked_updates` turns the rewrite on for the programs rewritten inside
it; :class:`seqgraph._jaxfn.JaxProgram` does so on the CPU
(``$SEQGRAPH_CHUNKED_UPDATES=0`` turns it off).
"""

from __future__ import annotations

import contextlib
import math

from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import GraphRewriter

from seqgraph._compat import with_infer_shape

__all__ = ["ChunkedElemwise", "ChunkedUpdates", "chunked_updates"]

# The least number of elements of an output for its computation to be chunked:
# below it (1 MiB of float32) the arrays stay in cache between XLA's passes.
MIN_ELEMENTS = 1 << 18
# Elements of each array per block: 128 KiB of float32, so that the block of
# every array an update reads and writes fits in a core's L2 cache.
BLOCK_ELEMENTS = 1 << 15

# Set by ``chunked_updates``: ``None`` (off) or the program's update pairs,
# {index of an output in the graph: index of the input it replaces}.
_pairs: dict | None = None


@contextlib.contextmanager
def chunked_updates(enabled: bool, pairs=None):
    """Chunk large multi-output elementwise computations in the programs rewritten inside.

    Parameters
    ----------
    enabled : bool
    pairs : dict of int to int, optional
        For each output of the graph that is the new value of an input (an
        update), the index of that input: the output is written into that
        input's buffer, block by block.
    """
    global _pairs
    previous, _pairs = _pairs, (dict(pairs or {}) if enabled else None)
    try:
        yield
    finally:
        _pairs = previous


@with_infer_shape
class ChunkedElemwise(Op):
    """An elementwise graph with several outputs, computed over blocks of rows.

    Parameters
    ----------
    inputs, outputs : list of Variable
        The inner graph: elementwise operations only, over inputs whose first
        axis is either a block of rows (length unknown) or broadcast (length 1).
    sliced : tuple of bool
        For each input, whether it is split into blocks of rows (otherwise it
        is broadcast along the rows and passed whole).
    carriers : tuple of int
        For each output, the index of the input whose buffer it is written into
        (it must be sliced and of the output's type), or -1 for a new buffer.
    rows : int
        Rows per block.
    out_types : list of TensorType
        The outer outputs' types (every one of the same static shape).
    """

    def __init__(self, inputs, outputs, sliced, carriers, rows, out_types):
        from pytensor.graph.fg import FunctionGraph

        self.fgraph = FunctionGraph(inputs, outputs, clone=False)
        self.sliced = tuple(bool(s) for s in sliced)
        self.carriers = tuple(int(c) for c in carriers)
        self.rows = int(rows)
        self.out_types = list(out_types)
        self._perform_fn = None

    def make_node(self, *inputs):
        from pytensor.tensor import as_tensor_variable

        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != len(self.fgraph.inputs):
            raise ValueError(
                f"ChunkedElemwise takes {len(self.fgraph.inputs)} inputs; got {len(inputs)}."
            )
        return Apply(self, inputs, [t() for t in self.out_types])

    def infer_shape(self, node, input_shapes):
        return [tuple(t.shape) for t in self.out_types]

    def perform(self, node, inputs, output_storage):
        # Only JAX programs hold this op; anywhere else the inner graph is
        # evaluated on the whole arrays, which is what the blocks compute.
        if self._perform_fn is None:
            import pytensor

            self._perform_fn = pytensor.function(
                self.fgraph.inputs, self.fgraph.outputs, mode="FAST_COMPILE"
            )
        for storage, value in zip(output_storage, self._perform_fn(*inputs)):
            storage[0] = value

    def __str__(self):
        return f"ChunkedElemwise{{{len(self.out_types)} outputs, {self.rows} rows per block}}"


def _static_shapes(fgraph) -> dict:
    """The static shape of every tensor in ``fgraph``, propagated from its inputs.

    Rewrites keep the types of the nodes they do not rebuild, so a graph whose
    inputs were given static shapes afterwards still holds elementwise nodes
    typed ``(None, None)``; elementwise and dimshuffle nodes are followed here.
    """
    from pytensor.tensor.elemwise import DimShuffle, Elemwise
    from pytensor.tensor.type import TensorType

    shapes = {}

    def of(var):
        known = shapes.get(var)
        return known if known is not None else tuple(var.type.shape)

    for var in fgraph.inputs:
        if isinstance(var.type, TensorType):
            shapes[var] = tuple(var.type.shape)
    for node in fgraph.toposort():
        op = node.op
        if isinstance(op, Elemwise):
            ins = [of(i) for i in node.inputs if isinstance(i.type, TensorType)]
            dims = []
            for column in zip(*ins):
                sizes = {d for d in column if d is not None and d != 1}
                if len(sizes) == 1:
                    dims.append(sizes.pop())
                elif not sizes and all(d == 1 for d in column):
                    dims.append(1)
                else:
                    dims.append(None)
            for out in node.outputs:
                shapes[out] = tuple(t if t is not None else d for t, d in zip(out.type.shape, dims))
        elif isinstance(op, DimShuffle):
            source = of(node.inputs[0])
            shapes[node.outputs[0]] = tuple(1 if k == "x" else source[k] for k in op.new_order)
        else:
            for out in node.outputs:
                if isinstance(out.type, TensorType):
                    shapes[out] = tuple(out.type.shape)
    return shapes


def _full_node(node, shape, shapes) -> bool:
    from pytensor.tensor.elemwise import Elemwise

    return isinstance(node.op, Elemwise) and all(shapes.get(out) == shape for out in node.outputs)


def _cluster_of(out, shape, shapes):
    """The elementwise nodes of static shape ``shape`` that ``out`` is computed by."""
    members, stack = set(), [out.owner]
    while stack:
        node = stack.pop()
        if node in members:
            continue
        members.add(node)
        for inp in node.inputs:
            if inp.owner is not None and _full_node(inp.owner, shape, shapes):
                stack.append(inp.owner)
    return members


def _clusters(fgraph, shapes, order):
    """Groups of elementwise nodes, each computing two or more large outputs that share work.

    Yields ``(shape, members, outputs)``: the nodes (in ``order``, a
    topological order of the graph's nodes), and the variables they compute
    that are read outside them (the graph's outputs among them).
    """
    from pytensor.tensor.type import TensorType

    by_shape: dict[tuple, list] = {}
    for out in dict.fromkeys(fgraph.outputs):
        node = out.owner
        shape = shapes.get(out, ())
        if (
            node is None
            or not isinstance(out.type, TensorType)
            or not shape
            or None in shape
            or math.prod(shape) < MIN_ELEMENTS
            or not _full_node(node, shape, shapes)
        ):
            continue
        by_shape.setdefault(shape, []).append(out)
    for shape, outs in by_shape.items():
        # Outputs whose computations share a node belong together.
        groups: list[tuple[set, list]] = []
        for out in outs:
            members, found = _cluster_of(out, shape, shapes), [out]
            for group in [g for g in groups if g[0] & members]:
                groups.remove(group)
                members |= group[0]
                found = group[1] + found
            groups.append((members, found))
        for members, found in groups:
            if len(found) < 2:
                continue
            ordered = sorted(members, key=order.__getitem__)
            outputs = []
            for node in ordered:
                for var in node.outputs:
                    external = any(
                        not isinstance(client, Apply) or client not in members
                        for client, _ in fgraph.clients.get(var, ())
                    )
                    if external or var in found:
                        outputs.append(var)
            yield shape, ordered, outputs


class ChunkedUpdates(GraphRewriter):
    """Replace large multi-output elementwise computations by :class:`ChunkedElemwise` nodes.

    Active only inside :func:`chunked_updates`.
    """

    def add_requirements(self, fgraph):
        from pytensor.graph.features import ReplaceValidate

        fgraph.attach_feature(ReplaceValidate())

    def apply(self, fgraph):
        if _pairs is None:
            return
        replaced_by = {}
        for i, out in enumerate(fgraph.outputs):
            j = _pairs.get(i)
            if j is not None and j < len(fgraph.inputs):
                replaced_by.setdefault(out, fgraph.inputs[j])
        shapes = _static_shapes(fgraph)
        order = {node: k for k, node in enumerate(fgraph.toposort())}
        for shape, members, outputs in list(_clusters(fgraph, shapes, order)):
            replacement = _chunked_node(members, outputs, shape, replaced_by, shapes)
            if replacement is not None:
                fgraph.replace_all_validate(
                    list(zip(outputs, replacement)), reason="seqgraph_jax_chunked_updates"
                )


def _chunked_node(members, outputs, shape, replaced_by, shapes):
    """The outputs of a :class:`ChunkedElemwise` computing ``outputs``, or None."""
    from pytensor.graph.traversal import applys_between
    from pytensor.tensor.type import TensorType

    from seqgraph._jax import _rebuild

    n_rows = shape[0]
    rows = max(1, BLOCK_ELEMENTS // max(1, math.prod(shape[1:])))
    if rows >= n_rows:
        return None  # one block: nothing gained
    inputs, sliced, position = [], [], {}
    member_set = set(members)
    for node in members:
        for inp in node.inputs:
            if inp in position or isinstance(inp, Constant):
                continue
            if inp.owner is not None and inp.owner in member_set:
                continue
            # An elementwise input's axis is either broadcast (static length
            # 1) or as long as the output's (PyTensor does not broadcast at run
            # time), so a length not known statically is the number of rows.
            first = shapes.get(inp, tuple(inp.type.shape))[0] if inp.type.ndim else 1
            sliced.append(first != 1)
            position[inp] = len(inputs)
            inputs.append(inp)
    inner_inputs = [
        TensorType(x.type.dtype, shape=(None, *x.type.shape[1:]))(name=x.name) if s else x.type()
        for x, s in zip(inputs, sliced)
    ]
    inner_outputs = _rebuild(inputs, outputs, dict(zip(inputs, inner_inputs)))
    inner_nodes = applys_between(inner_inputs, inner_outputs)
    if any(o.type.shape[0] is not None for n in inner_nodes for o in n.outputs):
        return None  # a value not computed from a block of rows (constants only)
    carriers, taken = [], set()
    for out in outputs:
        source = replaced_by.get(out)
        k = position.get(source, -1)
        if (
            k < 0
            or k in taken
            or not sliced[k]
            or source.type.dtype != out.type.dtype
            or shapes.get(source) != shape
        ):
            k = -1
        taken.add(k)
        carriers.append(k)
    out_types = [TensorType(o.type.dtype, shape=shape) for o in outputs]
    op = ChunkedElemwise(inner_inputs, inner_outputs, sliced, carriers, rows, out_types)
    return op.make_node(*inputs).outputs


def register_jax_dispatch():
    """Register the JAX version of :class:`ChunkedElemwise` (a loop over blocks of rows)."""
    import jax.numpy as jnp
    from jax import lax
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(ChunkedElemwise)
    def jax_funcify_ChunkedElemwise(op, node=None, **kwargs):
        inner = jax_funcify(op.fgraph, **kwargs)
        sliced, carriers, rows = op.sliced, op.carriers, op.rows
        carried_by = {k: i for i, k in enumerate(carriers) if k >= 0}
        shapes = [tuple(t.shape) for t in op.out_types]
        dtypes = [t.dtype for t in op.out_types]
        n_rows = shapes[0][0]
        n_full, rest = divmod(n_rows, rows)

        def block(inputs, buffers, start, size):
            args = []
            for k, x in enumerate(inputs):
                if not sliced[k]:
                    args.append(x)
                    continue
                # An input that an output replaces is read from that output's
                # buffer: its rows at ``start`` are not overwritten yet.
                source = buffers[carried_by[k]] if k in carried_by else x
                args.append(lax.dynamic_slice_in_dim(source, start, size, axis=0))
            values = inner(*args)
            if not isinstance(values, (list, tuple)):
                values = (values,)
            return tuple(
                lax.dynamic_update_slice_in_dim(b, v.astype(b.dtype), start, axis=0)
                for b, v in zip(buffers, values)
            )

        def chunked(*inputs):
            buffers = tuple(
                inputs[k] if k >= 0 else jnp.zeros(s, d)
                for k, s, d in zip(carriers, shapes, dtypes)
            )
            buffers = lax.fori_loop(
                0, n_full, lambda i, bufs: block(inputs, bufs, i * rows, rows), buffers
            )
            if rest:
                buffers = block(inputs, buffers, n_full * rows, rest)
            return buffers if len(buffers) > 1 else buffers[0]

        return chunked
