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

**Softmax and log-softmax on the C backend.**  Being ``OpFromGraph`` ops,
they have no C code: the C backend ran each through its ``perform``, which
compiles the inner graph with PyTensor's *default* mode, Numba. A C function
with a softmax (RNNSLU's output layer, any classifier) so needed Numba, spent
seconds in Numba's compiler on a first call with an empty cache (6-12 s for
the RNNSLU tests' functions) and called into Python for the op on every call. The rewrite :data:`C_INLINE_TAG` puts
the inner graph (the stabilised ``x - max``, ``exp``, sum and ``log``) in
their place late, at specialize, after gradients and the log-softmax
stabilisation have seen the op, so that it compiles to C like the rest of
the function. The same tag gives each scan the C backend compiles a mode
for its step that includes the rewrite (a scan given no mode compiles its
step with a fresh ``Mode("cvm", "fast_run")``, which would not).
:func:`seqgraph.backends.get_mode` includes the tag for the C backend only;
the other backends compile the ops as PyTensor does (JAX with its own
softmax).

**Shapes that the types already hold.**  The rewrites' ``ShapeFeature``
infers the shape of every node it meets (``op.infer_shape``, which for a
scan infers the shapes of its whole inner graph), then keeps, for each
dimension the output's type knows, the type's constant rather than what was
inferred.  For a node whose outputs' shapes are all static, which is every
node of a graph that :func:`seqgraph.function` has given static input shapes
(the JAX backend), the inference is thrown away; it is skipped, and the
feature records the same constants.  ``lstm.py``'s two functions were
rewritten in 1.06-1.11 s instead of 1.19-1.24 s (PyTensor 3.0.7; PyTensor 3.3
infers shapes only when a rewrite asks for them, and is left as it is).

**Second-order gradients in the graph's own precision.**  A scan's gradient
builds zeros and casts in ``floatX``, whatever the scan's dtype, for the parts
that a first gradient leaves out and a second one reaches; ``Rop`` of an op
without its own R-op (a scan among them) is the pull-back of a pull-back,
through zero cotangents that PyTensor also makes in ``floatX``. With floatX
float32, the Hessian-vector product of a float64 scan (downhill's ESGD, by
``Rop`` or by a second ``grad``) was right to 2e-8 to 5e-8 only, where float64
gives 1e-16. Both are now built with ``floatX`` set to the upcast of the
scan's (or the outputs') float dtypes.

**Rop with a parameter the output does not use.**  ``pushforward`` (``Rop``)
documents ``disconnected_outputs`` as what to do with an *output* that
depends on none of ``wrt``, as Theano's ``Rop`` did; built as the pull-back of
a pull-back, it passed the flag to the first pull-back as
``disconnected_inputs``, so it raised for a variable of ``wrt`` that an output
does not use (the Hessian-free optimizer of 2012, ``theano-hf``, takes
``Rop(h, params, v)`` of an RNN's hidden states, which its output weights do
not reach: Theano gave zero for them) and never for a disconnected output.
Such a variable now adds nothing, and the outputs are checked.

**The shape of a Gemm in tensors.**  ``Gemm.infer_shape`` gave its output's
shape as ``pytensor.scalar.maximum`` of its inputs' dimensions: scalar-typed
variables where every other op gives 0-d tensors.  A shape that met another
op's, as in an ``ifelse`` choosing between a shared matrix and a product
updated by ``Gemm`` (neupy's quasi-Newton BFGS update), failed to build
("Input types TensorType and ScalarType do not match"), and PyTensor warned
that it could not infer the shape.  The maxima are now tensors.
"""

from __future__ import annotations

_installed = False

# The tag of the rewrite that inlines softmax and log-softmax (C backend).
C_INLINE_TAG = "seqgraph_inline_softmax"
_C_INLINE_NAME = "local_seqgraph_inline_softmax"
_C_SCAN_NAME = "local_seqgraph_scan_step_inlines_softmax"


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


def _register_softmax_inlining(special) -> None:
    """Register the rewrites of :data:`C_INLINE_TAG` in ``specialize``, off by default."""
    from copy import copy

    from pytensor.compile import optdb
    from pytensor.compile.mode import Mode
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.scan.op import Scan
    from pytensor.tensor.rewriting.ofg import inline_ofg_node

    from seqgraph._compat import register_rewrite

    # Older PyTensor versions' softmax ops are COps with C code of their own.
    ops = [getattr(special, name, None) for name in ("Softmax", "LogSoftmax")]
    ops = [op for op in ops if _is_ofg(op)]
    if not ops or _C_INLINE_NAME in optdb["specialize"]:
        return

    @node_rewriter(ops)
    def inline_softmax(fgraph, node):
        return inline_ofg_node(node)

    step_mode = Mode("cvm", "fast_run").including(C_INLINE_TAG)

    @node_rewriter([Scan])
    def scan_step_inlines_softmax(fgraph, node):
        # Only scans left to PyTensor's default; a mode the user gave stays.
        if node.op.mode not in (None, "FAST_RUN"):
            return None
        op = copy(node.op)
        op.mode = step_mode
        op.__dict__.pop("_fn", None)  # a step compiled earlier, with the old mode
        return op(*node.inputs, return_list=True)

    register_rewrite(optdb["specialize"], _C_INLINE_NAME, inline_softmax, C_INLINE_TAG)
    register_rewrite(optdb["specialize"], _C_SCAN_NAME, scan_step_inlines_softmax, C_INLINE_TAG)


def _static_shapes_without_inference() -> None:
    """Skip ``infer_shape`` for nodes whose every output has a static shape."""
    from pytensor.scan.op import Scan
    from pytensor.tensor.rewriting.shape import ShapeFeature
    from pytensor.tensor.type import TensorType

    # PyTensor 3.3 infers shapes on demand only, and has no such method.
    original = getattr(ShapeFeature, "get_node_infer_shape", None)
    if original is None or getattr(original, "_seqgraph_static_first", False):
        return

    def get_node_infer_shape(self, node, *args, **kwargs):
        if all(
            isinstance(out.type, TensorType) and None not in out.type.shape for out in node.outputs
        ):
            # set_shape keeps a static dimension's constant whatever it is given.
            return [tuple(out.type.shape) for out in node.outputs]
        if isinstance(node.op, Scan):
            shapes = _scan_shapes_from_types(node, [self.shape_of[r] for r in node.inputs])
            if shapes is not None:
                return shapes
        return original(self, node, *args, **kwargs)

    get_node_infer_shape._seqgraph_static_first = True
    ShapeFeature.get_node_infer_shape = get_node_infer_shape


def _scan_shapes_from_types(node, input_shapes):
    """The shapes of a scan's outputs without inferring its inner graph, or ``None``.

    A traced state's output has the shape of the buffer it is given, an
    untraced state's the shape of its initial value, and an output that is
    not fed back (nit-sot) its length input followed by its step's shape:
    when every such step has a static shape, nothing else is needed.  Scan's
    own ``infer_shape`` infers the shapes of its whole inner graph first.
    """
    from pytensor.tensor.type import TensorType

    op = node.op
    info = op.info
    if info.as_while:
        return None
    steps = op.inner_nitsot_outs(op.inner_outputs)
    if not all(isinstance(out.type, TensorType) and None not in out.type.shape for out in steps):
        return None
    offset = 1 + info.n_seqs
    n_traced = info.n_mit_mot + info.n_mit_sot + info.n_sit_sot
    shapes = list(input_shapes[offset : offset + n_traced])
    offset += n_traced
    untraced = list(input_shapes[offset : offset + info.n_untraced_sit_sot])
    lengths = node.inputs[offset + info.n_untraced_sit_sot :]
    shapes += [(length, *out.type.shape) for length, out in zip(lengths, steps)]
    return shapes + untraced


def _register_argmax_of_softmax(special) -> None:
    """``argmax(softmax(x))`` and ``argmax(log_softmax(x))`` -> ``argmax(x)`` (every backend).

    The classifiers of the tutorials predict with ``p_y_given_x.argmax(axis=-1)``
    (Theano's rewrites dropped the softmax there, PyTensor's keep it): over the
    softmax's own axes the normalisation is one positive factor, so the largest
    entry is the same.  Saves the exponentials and reductions of a prediction,
    and two kernels of each program on JAX.
    """
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.tensor.math import Argmax
    from pytensor.tensor.rewriting.basic import register_canonicalize

    softmaxes = tuple(
        op_class
        for op_class in (getattr(special, n, None) for n in ("Softmax", "LogSoftmax"))
        if isinstance(op_class, type)
    )
    if not softmaxes:
        return

    def axes(axis, ndim):
        if axis is None:
            return set(range(ndim))
        axis = axis if isinstance(axis, tuple | list) else (axis,)
        return {int(a) % ndim for a in axis}

    @node_rewriter([Argmax])
    def argmax_of_softmax(fgraph, node):
        (x, *_), op = node.inputs, node.op
        if x.owner is None or not isinstance(x.owner.op, softmaxes) or x.ndim == 0:
            return None
        if not axes(op.axis, x.ndim) <= axes(x.owner.op.axis, x.ndim):
            return None
        out = op.make_node(x.owner.inputs[0], *node.inputs[1:]).outputs
        return out if out[0].type == node.outputs[0].type else None

    register_canonicalize(argmax_of_softmax, "seqgraph_argmax_of_softmax")


def _register_constant_composite_folding() -> None:
    """Fold elementwise nodes whose inputs are all constants, after fusion."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.rewriting.basic import constant_folding
    from pytensor.tensor.rewriting.elemwise import fuse_seqopt

    from seqgraph._compat import register_rewrite

    @node_rewriter([Elemwise])
    def fold_constant_elemwise(fgraph, node):
        if not all(isinstance(inp, Constant) for inp in node.inputs):
            return None
        return constant_folding.transform(fgraph, node)

    register_rewrite(
        fuse_seqopt,
        "seqgraph_fold_constant_elemwise",
        dfs_rewriter(fold_constant_elemwise, ignore_newtrees=True),
        "fast_run",
        "fusion",
        position=19.5,  # just before local_inline_composite_constants (20)
    )


def _float_dtype_of(variables):
    """The upcast of the variables' float dtypes, or None where none is a float."""
    import pytensor.scalar as ps

    dtypes = [
        str(getattr(var.type, "dtype", ""))
        for var in variables
        if str(getattr(var.type, "dtype", "")).startswith("float")
    ]
    return ps.upcast(*dtypes) if dtypes else None


def _gradients_in_the_graphs_precision() -> None:
    import functools

    from pytensor import config, gradient
    from pytensor.scan.op import Scan

    def in_precision_of(variables_of):
        def wrap(method):
            @functools.wraps(method)
            def wrapped(*args, **kwargs):
                dtype = _float_dtype_of(variables_of(*args, **kwargs))
                if dtype is None or dtype == config.floatX:
                    return method(*args, **kwargs)
                with config.change_flags(floatX=dtype):
                    return method(*args, **kwargs)

            wrapped._seqgraph_precision = True
            return wrapped

        return wrap

    # Scan.pullback(self, inputs, outputs, output_grads) and
    # Scan.pushforward(self, inputs, outputs, tangents) in PyTensor 3; L_op and
    # R_op before.
    for name in ("pullback", "L_op", "pushforward", "R_op"):
        method = vars(Scan).get(name)
        if method is not None and not getattr(method, "_seqgraph_precision", False):
            setattr(
                Scan,
                name,
                in_precision_of(lambda self, inputs, outputs, *a, **k: [*inputs, *outputs])(method),
            )
    pushforward = getattr(gradient, "pushforward_through_pullback", None)
    if pushforward is not None and not getattr(pushforward, "_seqgraph_precision", False):
        # pushforward_through_pullback(outputs, inputs, tangents, ...)
        gradient.pushforward_through_pullback = in_precision_of(
            lambda outputs, inputs, *a, **k: [*outputs, *inputs]
        )(pushforward)


def _pushforward_checks_outputs_not_inputs() -> None:
    import functools
    import warnings

    from pytensor import gradient
    from pytensor.graph.traversal import ancestors

    current = getattr(gradient, "pushforward_through_pullback", None)
    if current is None or getattr(current, "_seqgraph_outputs", False):
        return

    @functools.wraps(current)
    def pushforward_through_pullback(
        outputs, inputs, tangents, disconnected_outputs="raise", return_disconnected="zero"
    ):
        if disconnected_outputs != "ignore":
            wrt = set(inputs)
            for out in outputs:
                if not any(var in wrt for var in ancestors([out])):
                    message = (
                        f"pushforward (Rop) was asked for the derivative of {out}, which "
                        "depends on none of the variables in wrt"
                    )
                    if disconnected_outputs == "raise":
                        raise gradient.DisconnectedInputError(message)
                    warnings.warn(message, stacklevel=3)
        # A variable of wrt that the outputs do not depend on adds nothing.
        return current(outputs, inputs, tangents, "ignore", return_disconnected)

    pushforward_through_pullback._seqgraph_outputs = True
    gradient.pushforward_through_pullback = pushforward_through_pullback


def _scan_gradients_through_draws() -> None:
    """Differentiate loops whose step draws random numbers (see ``seqgraph._scan_draws``)."""
    import functools

    from pytensor.scan.op import Scan

    from seqgraph import _scan_draws

    name = "pullback" if "pullback" in vars(Scan) else "L_op"
    current = vars(Scan)[name]
    if getattr(current, "_seqgraph_draws", False):
        return

    @functools.wraps(current)
    def wrapped(self, inputs, outputs, output_grads):
        return _scan_draws.pullback(current, self, inputs, outputs, output_grads)

    wrapped._seqgraph_draws = True
    setattr(Scan, name, wrapped)


def _gemm_shape(self, node, input_shapes):
    from pytensor.tensor import maximum

    z_shape, _, x_shape, y_shape, _ = input_shapes
    return [(maximum(z_shape[0], x_shape[0]), maximum(z_shape[1], y_shape[1]))]


def _gemm_shape_in_tensors() -> None:
    from pytensor.tensor.blas import Gemm

    from seqgraph._compat import infer_shape_function

    if not getattr(Gemm.infer_shape, "_seqgraph_tensors", False):
        Gemm.infer_shape = infer_shape_function(_gemm_shape)
        Gemm.infer_shape._seqgraph_tensors = True


def _is_ofg(op_class) -> bool:
    from pytensor.compile.builders import OpFromGraph

    return isinstance(op_class, type) and issubclass(op_class, OpFromGraph)


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
    _register_softmax_inlining(special)
    _register_argmax_of_softmax(special)
    _static_shapes_without_inference()
    _register_constant_composite_folding()
    _gradients_in_the_graphs_precision()
    _pushforward_checks_outputs_not_inputs()
    _scan_gradients_through_draws()
    _gemm_shape_in_tensors()
    _installed = True
