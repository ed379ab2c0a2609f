"""Corrections to PyTensor that every backend takes, installed when seqgraph is imported.

**Shape inference of softmax and log-softmax.**  Since PyTensor 3,
``Softmax`` and ``LogSoftmax`` are symbolic ops (``OpFromGraph``): their
shape is inferred by building a second shape graph of the inner graph.  That
inference (``pytensor.compile.builders.infer_shape``) starts by importing the
*whole ancestry* of the input's shape into a fresh graph with its own
``ShapeFeature``, so each softmax over a recurrent layer's output infers the
shapes of every scan before it once more.  In the RNNSLU tutorial's training
function that was half of PyTensor's rewriting time (its rewrites took
2.29 s with it, 1.26 s without).  Both ops keep the shape of their input, which is what they
are given here.

**Setting rows to themselves plus a value.**  PyTensor rewrites
``set_subtensor(x[ids], x[ids] + v)`` into ``inc_subtensor(x[ids], v)``
(``local_set_to_inc_subtensor``). The two differ where ``ids`` repeats a
row: the set writes ``x[i] + v`` once, the increment adds ``v`` once per
repeat (``ids = [0, 0]`` gave ``x[0] + 2 v``). The rewrite now applies only
to constant ids without repeats, where both are the same; this matters to
:mod:`seqgraph.updates`, which sets an embedding's looked-up rows.
"""

from __future__ import annotations

_installed = False


def _same_shape_as_input(self, node, input_shapes):
    """An elementwise-shaped op's output shape: its input's."""
    return [input_shapes[0]]


def _guard_set_to_inc_subtensor() -> None:
    """Let ``local_set_to_inc_subtensor`` apply to constant ids without repeats only."""
    from pytensor.tensor.rewriting import subtensor

    rewriter = getattr(subtensor, "local_set_to_inc_subtensor", None)
    unique = getattr(subtensor, "_constant_has_unique_indices", None)
    if rewriter is None or unique is None or getattr(rewriter, "_seqgraph_guarded", False):
        return
    unguarded = rewriter.fn

    def set_to_inc_without_repeats(fgraph, node):
        if not unique(node.inputs[2]):
            return None
        return unguarded(fgraph, node)

    rewriter.fn = set_to_inc_without_repeats
    rewriter._seqgraph_guarded = True


def install() -> None:
    """Install the corrections (idempotent)."""
    global _installed
    if _installed:
        return
    from pytensor.tensor import special

    from seqgraph._compat import infer_shape_function

    for name in ("Softmax", "LogSoftmax"):
        op_class = getattr(special, name, None)
        # Only where the op infers its shape through its inner graph (the
        # class itself defines no infer_shape); older PyTensor versions'
        # COps have their own.
        if op_class is not None and "infer_shape" not in vars(op_class):
            op_class.infer_shape = infer_shape_function(_same_shape_as_input)
    _guard_set_to_inc_subtensor()
    _installed = True
