"""Corrections to PyTensor's JAX dispatch that scan graphs need.

PyTensor enables ``jax_enable_x64`` only when ``floatX`` is float64 at import
time, and otherwise silently computes float64 graphs in float32.  seqgraph
enables it always: float64 graphs (gradient checks) stay float64, and float32
graphs stay float32 given the correction below.  Its JAX version of ``CAReduce`` (``sum``,
``prod``, ``all`` ...) returns the *accumulator* dtype, which for a float32 sum
is float64.  Outside a loop this only changes the result's dtype; inside
``lax.scan`` it is fatal, because the carry of a gradient accumulator (say, the
gradient of a bias, a sum over the batch) comes back as float64 while it went
in as float32, and JAX refuses the loop.  We re-register the dispatch so that
every reduction returns the dtype its PyTensor node declares.

With ``truncate_gradient=k`` the backward scan runs ``k`` steps but its
per-step outputs (the gradient of each input step) are declared with the full
sequence length; PyTensor's C Scan leaves the steps it did not run at zero,
its JAX Scan asserts that the lengths agree.  A JAX-only rewrite
(``seqgraph_jax_pad_nit_sot``) shortens such outputs to the steps actually run
and pads them with zeros outside the loop, which is what the C backend computes.

Inside ``lax.scan`` every shape computed with a PyTensor op (``x.shape[0] - 1``
in a slice, the ``zeros_like`` of a gradient) becomes a tracer, and an
``alloc`` of such a shape fails.  After :func:`seqgraph.function` has made the
outer shapes static, a second JAX-only rewrite
(``seqgraph_jax_static_scan_shapes``) gives every inner input of a scan the
static shape of the outer input it reads (a sequence's step, a state, a
non-sequence), so that the inner graph's shape arithmetic folds to constants
when PyTensor rewrites it for JAX.

Two changes make programs cheaper to build: the JAX function of a fused
elementwise op is applied to whole arrays rather than through
``jnp.vectorize`` (:func:`_composite_function`; the same values), and uniform
draws take XLA's Philox generator in one operation rather than two threefry
loops (:func:`_philox_uniform`; other random numbers than PyTensor's JAX
backend draws from the same seed).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import os
import warnings

import numpy as np
from pytensor.graph.op import Op

from seqgraph._compat import register_rewrite, with_infer_shape

_installed = False

# Steps of a scan that XLA's loop body holds (``lax.scan(unroll=k)``) while a
# program is traced, for scans that compute values (forward) and for the scans
# of a backward pass (see :func:`is_backward_scan`); see :func:`scan_unroll`.
_unroll = (1, 1)
# The name ending that marks a scan written by hand as a backward pass (the
# layers' written-out gradients, :mod:`seqgraph._bptt`).
BACKWARD_SCAN_SUFFIX = "_bptt"
# Whether the scans being traced carry each step of their sequences from the
# iteration before (see :func:`_scan_loop`).
_prefetch = False
# Whether gradient scans write an output over a sequence they read (see
# :func:`_scan_loop`, ``overwrite``).
_overwrite = False
# Whether the program being rewritten joins chains of slab increments (see
# :func:`slab_join`).
_slab_join = False
# Whether the program being traced materialises the transposed left operand
# of a large matrix product (see :func:`transposed_copy_for`).
_transposed_copy = False
_tracing_gradient_scan = False
# For the scan being traced: which of its sequences are reversed views, which
# of its stacked outputs (``lax.scan``'s ``ys``) are only read reversed, and
# which of those are written over a sequence (see ``_reversed_sequences``).
_back_to_front: tuple = ((), (), ())
# The clients of the graph being turned into a JAX function (see
# ``funcifying``): which nodes read each variable.
_clients: dict = {}


@contextlib.contextmanager
def funcifying(fgraph):
    """Let the scan dispatch see who reads each output of ``fgraph`` while it converts it."""
    global _clients
    previous, _clients = _clients, fgraph.clients
    try:
        yield
    finally:
        _clients = previous


def _reversed_sequences(op, node, overwriting=False) -> tuple[tuple, tuple, tuple]:
    """``(read_back, write_back, overwrite)`` of a scan node; see :func:`_scan_loop`.

    A sequence is read back to front when it is a reversed view ``x[a:b:-1]``.
    A stacked output (traced mit-sot, sit-sot, then nit-sot, as PyTensor's JAX
    scan orders them) is written back to front when it is a nit-sot output
    that only reversed views read, unless each of those views is a sequence
    that a later scan overwrites (see below; with ``overwriting``): that scan
    starts its output from ``flip(view)``, which is the output itself when it
    is written front to back, and a copy XLA must make when it is written back
    to front and flipped.  ``overwrite`` pairs ``(output, sequence)`` of the
    same type that nothing else reads, both taken in the same direction: an
    output written back to front over a sequence read back to front (neither
    the view nor the array it views read elsewhere; the written-out
    gradient's stored gate activations and the gate gradients that replace
    them), or one written front to back over a computed sequence read front to
    back (:func:`_read_only_by`; the LSTM's gate activations over its input
    projection).  Step ``i`` reads the sequence's row before it writes the
    output's, so the output can take the sequence's buffer.
    """
    read_back = tuple(_reversed_view(v) for v in op.outer_seqs(node.inputs))
    info = op.info
    n_traced = info.n_mit_sot + info.n_sit_sot
    write_back = [False] * (n_traced + info.n_nit_sot)
    for k, out in enumerate(op.outer_nitsot_outs(node.outputs)):
        clients = _clients.get(out, ())
        write_back[n_traced + k] = (
            bool(clients)
            and all(
                # (a graph output is read as it is: a client that is a string or an
                # output marker without outputs of its own)
                not isinstance(client, str)
                and bool(client.outputs)
                and _reversed_view(client.outputs[0])
                for client, _ in clients
            )
            and not (overwriting and all(_overwritten(client.outputs[0]) for client, _ in clients))
        )
    overwrite = []
    sequences = op.outer_seqs(node.inputs)
    taken = set()
    for k, out in enumerate(op.outer_nitsot_outs(node.outputs)):
        back = write_back[n_traced + k]
        for s, seq in enumerate(sequences):
            if (
                s not in taken
                and read_back[s] == back
                and seq.type.dtype == out.type.dtype
                and seq.type.ndim == out.type.ndim  # (shapes: checked when traced)
                and (_only_read_by(seq, node) if back else _read_only_by(seq, node, out))
            ):
                taken.add(s)
                overwrite.append((n_traced + k, s))
                break
    return read_back, tuple(write_back), tuple(overwrite)


def _overwritten(view) -> bool:
    """Whether every reader of ``view`` is a scan that writes an output over it."""
    from pytensor.scan.op import Scan

    clients = _clients.get(view, ())
    for client, _ in clients:
        if isinstance(client, str) or not isinstance(getattr(client, "op", None), Scan):
            return False
        sequences = client.op.outer_seqs(client.inputs)
        pairs = _reversed_sequences(client.op, client, overwriting=True)[2]
        if not any(sequences[s] is view for _, s in pairs):
            return False
    return bool(clients)


def _read_only_by(seq, node, out) -> bool:
    """Whether ``out`` can be written over ``seq``: a computed sequence ``node`` alone reads.

    ``seq`` may be a view (a reshape, a slice, a transposition) of another
    computed array; each array along the chain must have that one reader, so
    that nothing reads the buffer once ``node`` has written over it.  Static
    lengths of ``seq`` and ``out`` that differ rule the pair out (the others
    are compared when the scan is traced).
    """
    if any(
        a is not None and b is not None and a != b for a, b in zip(seq.type.shape, out.type.shape)
    ):
        return False
    from pytensor.tensor.elemwise import DimShuffle
    from pytensor.tensor.shape import Reshape, SpecifyShape
    from pytensor.tensor.subtensor import Subtensor

    # (operations whose output XLA keeps in its input's buffer: views, bitcasts)
    views = (Reshape, Subtensor, DimShuffle, SpecifyShape)
    var = seq
    readers = _clients.get(var, ())
    if len(readers) != 1 or readers[0][0] is not node:
        return False
    while var.owner is not None and isinstance(var.owner.op, views):
        var = var.owner.inputs[0]
        if len(_clients.get(var, ())) != 1:
            return False
    return var.owner is not None  # computed in the program, not an argument


def _only_read_by(view, node) -> bool:
    """Whether ``view`` (``x[a:b:-1]``) and the computed ``x`` it views are read by ``node`` alone."""
    base = view.owner.inputs[0]
    view_clients = _clients.get(view, ())
    base_clients = _clients.get(base, ())
    return (
        base.owner is not None  # computed in the program, not an argument
        and len(view_clients) == 1
        and view_clients[0][0] is node
        and len(base_clients) == 1
        and base_clients[0][0] is view.owner
    )


# The defaults per platform, (forward, gradient), chosen by measurement
# (README, "GPU").
_DEFAULT_UNROLL = {"cpu": (1, 1), "cuda": (4, 1), "rocm": (4, 1)}


def unroll_for(platform: str) -> tuple[int, int]:
    """Scan unroll factors ``(forward, gradient)`` for a platform.

    ``$SEQGRAPH_SCAN_UNROLL`` overrides the default: ``"4"`` unrolls every
    scan four steps per loop iteration, ``"4,1"`` only the forward scans
    (the gradient factor applies to the scans of :func:`is_backward_scan`).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_SCAN_UNROLL`` is not one or two integers >= 1.
    """
    text = os.environ.get("SEQGRAPH_SCAN_UNROLL", "").strip()
    if not text:
        return _DEFAULT_UNROLL.get(platform, (1, 1))
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise ValueError(
            "SEQGRAPH_SCAN_UNROLL must be an integer >= 1, or two of them separated by a "
            f"comma (forward scans, gradient scans); got {text!r}."
        )
    return (values[0], values[-1])


def is_backward_scan(op) -> bool:
    """Whether the ``Scan`` op ``op`` runs a backward pass (takes the gradient unroll factor).

    Two kinds do: the scans ``pytensor.grad`` builds, which update
    state-gradient buffers ("mit_mot" outputs), and scans named with
    :data:`BACKWARD_SCAN_SUFFIX`, as the layers' written-out gradients are
    (plain scans that no other property tells from a forward one).  PyTensor's
    rewrites keep a scan's name, and a scan merged from several is named by
    joining theirs with ``&``; one backward part makes it backward.

    Parameters
    ----------
    op : pytensor.scan.op.Scan
        The scan (its ``info.n_mit_mot`` and ``name`` are read).

    Returns
    -------
    bool
    """
    if op.info.n_mit_mot > 0:
        return True
    return any(part.endswith(BACKWARD_SCAN_SUFFIX) for part in str(op.name or "").split("&"))


def _switch(variable: str, default: bool) -> bool:
    """The 0/1 environment variable ``variable``, or ``default`` where it is unset."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if text not in ("0", "1"):
        raise ValueError(f"{variable} must be 0 or 1; got {text!r}.")
    return text == "1"


def prefetch_for(platform: str) -> bool:
    """Whether scans traced for ``platform`` prefetch their sequences' steps.

    On by default on the CPU, where it makes XLA's elementwise loops vectorise
    (:func:`_scan_loop`); off elsewhere, where it was not measured.
    ``$SEQGRAPH_SCAN_PREFETCH`` (``1`` or ``0``) overrides the default.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_SCAN_PREFETCH`` is not ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_SCAN_PREFETCH", platform == "cpu")


def scan_overwrite_for(platform: str) -> bool:
    """Whether scans traced for ``platform`` write stacked outputs over sequences they read.

    On by default on the CPU (the written-out gradient's gate gradients take
    the buffer of the gate activations they replace, and the LSTM's gate
    activations that of its input projection, see :func:`_scan_loop`);
    off elsewhere, where it was not measured.  ``$SEQGRAPH_SCAN_OVERWRITE``
    (``1`` or ``0``) overrides the default.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_SCAN_OVERWRITE`` is not ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_SCAN_OVERWRITE", platform == "cpu")


def slab_join_for(platform: str) -> bool:
    """Whether programs for ``platform`` build gradients through slices as one join.

    On by default on the CPU, where XLA runs a chain of slice updates in scalar
    code (:func:`_make_join_rewriter`); off elsewhere, where it was not
    measured.  ``$SEQGRAPH_SLAB_JOIN`` (``1`` or ``0``) overrides the default.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_SLAB_JOIN`` is not ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_SLAB_JOIN", platform == "cpu")


def chunked_updates_for(platform: str) -> bool:
    """Whether programs for ``platform`` compute large multi-output updates block by block.

    On by default on the CPU, where XLA computes each output of an elementwise
    computation in its own pass (:mod:`seqgraph._chunked`); off elsewhere.
    ``$SEQGRAPH_CHUNKED_UPDATES`` (``1`` or ``0``) overrides the default.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_CHUNKED_UPDATES`` is not ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_CHUNKED_UPDATES", platform == "cpu")


def transposed_copy_for(platform: str) -> bool:
    """Whether programs for ``platform`` copy the transposed left operand of a large product.

    A weight gradient ``X.T @ G`` (``X`` of shape ``(rows, k)``, summed over
    ``rows``) reaches XLA as a product contracting the first axis of both
    operands. XLA's CPU backend runs that form with Eigen, one call that
    holds its thread until it is done; a product of a row-major operand goes
    to YNNPACK, which was 24% faster for ``lstm.py``'s ``(1600, 128)`` by
    ``(1600, 512)`` even with the copy of the transpose. On by default on the
    CPU (left operands of at least :data:`TRANSPOSED_COPY_MIN` elements), off
    elsewhere. ``$SEQGRAPH_TRANSPOSED_COPY`` (``1`` or ``0``) overrides the
    default.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_TRANSPOSED_COPY`` is not ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_TRANSPOSED_COPY", platform == "cpu")


#: The smallest transposed left operand (elements) that :func:`transposed_copy_for` copies.
TRANSPOSED_COPY_MIN = 1 << 16


@contextlib.contextmanager
def transposed_copy(enabled: bool):
    """Trace large products of a transposed left operand with that operand copied."""
    global _transposed_copy
    previous, _transposed_copy = _transposed_copy, bool(enabled)
    try:
        yield
    finally:
        _transposed_copy = previous


def _is_transpose(var) -> bool:
    """Whether ``var`` is the transpose of a matrix."""
    from pytensor.tensor.elemwise import DimShuffle

    node = var.owner
    return (
        node is not None and isinstance(node.op, DimShuffle) and tuple(node.op.new_order) == (1, 0)
    )


def compiler_options_for(platform: str) -> dict | None:
    """XLA compiler options for the programs seqgraph compiles for ``platform``.

    On the CPU, copy insertion uses XLA's region-based live range analysis
    (``xla_cpu_copy_insertion_use_region_analysis``, as XLA does for TPUs).
    Without it, XLA copies most of a loop's carried values in every iteration
    of a recurrent layer's loops (6 of the 20 operations of an LSTM's forward
    loop, 11 of the 26 of its written-out backward loop) because it cannot
    prove the old value dead when the new one is written; each copy is a
    separate operation, which costs most at small sizes.  The analysis finds
    every one of them unnecessary.  ``$SEQGRAPH_CPU_COPY_ANALYSIS=0`` turns it
    off.

    On a CPU with AVX-512, XLA's own elementwise code uses 512-bit vectors
    (``xla_cpu_prefer_vector_width=512``; XLA prefers 256-bit ones by
    default, after the clock penalty of older Intel cores).  The matrix
    products already run in AVX-512 kernels there, so the wider elementwise
    code costs no clock speed; the gate activations of a recurrent step take
    fewer instructions.  ``$SEQGRAPH_CPU_WIDE_VECTORS=0`` turns it off.

    Other platforms get no options (XLA's GPU counterparts were not measured).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_CPU_COPY_ANALYSIS`` or ``$SEQGRAPH_CPU_WIDE_VECTORS`` is
        not ``0`` or ``1``.
    """
    if platform != "cpu":
        return None
    options = {}
    if _switch("SEQGRAPH_CPU_COPY_ANALYSIS", True):
        options["xla_cpu_copy_insertion_use_region_analysis"] = True
    if _switch("SEQGRAPH_CPU_WIDE_VECTORS", True) and host_has_avx512():
        options["xla_cpu_prefer_vector_width"] = 512
    return options or None


@functools.cache
def host_has_avx512() -> bool:
    """Whether this machine's CPU has AVX-512 (its ``avx512f`` flag; Linux only).

    Returns
    -------
    bool
        False where ``/proc/cpuinfo`` cannot be read (other systems).
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


def _reversed_view(var) -> bool:
    """Whether ``var`` is ``x[a:b:-1]``: a slice of another array read backwards."""
    from pytensor.tensor.basic import get_scalar_constant_value
    from pytensor.tensor.exceptions import NotScalarConstantError
    from pytensor.tensor.subtensor import Subtensor, get_idx_list

    owner = var.owner
    if owner is None or not isinstance(owner.op, Subtensor):
        return False
    first = get_idx_list(owner.inputs, owner.op.idx_list)[0]
    if not isinstance(first, slice) or first.step is None:
        return False
    try:
        return int(get_scalar_constant_value(first.step)) == -1
    except NotScalarConstantError:
        return False


def _scan_loop(
    plain_scan, f, init, xs, length, read_back, write_back, prefetch, kwargs, overwrite=()
):
    """``lax.scan(f, init, xs)`` with the sequence steps read the way XLA's CPU code wants.

    Two independent changes, each giving the same values as a plain scan:

    Back to front (``read_back``, ``write_back``).  PyTensor's scan gradient
    (and the written-out gradients of :mod:`seqgraph._bptt`, scans that go
    backwards) loops over reversed views of the forward sequences (``x[::-1]``)
    and reverses the per-step gradients it stacks (``dx[::-1]``); JAX materialises
    each reversal as a copy (250 MiB for the input projection of the medium
    LSTM over 1000 steps, and as much for its gradient).  Here a sequence
    flagged in ``read_back`` is read as ``flip(seq)[n - 1 - i]`` at step
    ``i``, and an output flagged in ``write_back`` is written at row
    ``n - 1 - i`` of a buffer that is then flipped.  Each flip meets
    PyTensor's own reversal (``flip(x[::-1][:n])``, ``flip(b)[::-1]``) and
    XLA's simplifier removes both, so the loop reads and writes the forward
    buffers in place.

    Prefetch (``prefetch``).  XLA's CPU code generator emits an elementwise
    loop that reads a step of a sequence (a ``dynamic-slice`` at the loop
    counter) through more than one slice, the LSTM's four gates, as scalar
    code that reloads the counter for every element: four to eight times
    slower than the vectorised loop it emits otherwise (XLA 0.10.2's LLVM IR).
    With ``prefetch`` the loop carries the current step of every sequence of
    at least :data:`PREFETCH_MIN` elements a step and copies the next one at
    the end of each iteration, so the step's arithmetic reads plain buffers.
    A smaller step is read where it is used: its copy would be one more
    operation in the loop's body, and the RNNSLU tutorial's Elman loops (steps
    of 200 elements) then took more than the 8 operations XLA's runtime runs
    inline; they went through its asynchronous executor and its step was 6%
    slower.

    Overwriting (``overwrite``, pairs ``(output, sequence)``, both back to
    front or both front to back).  The output's buffer starts as the sequence
    and the sequence's rows are read from that buffer: step ``i`` reads row
    ``n - 1 - i`` (and with prefetching ``n - 2 - i``) before it writes row
    ``n - 1 - i`` (front to back: rows ``i`` and ``i + 1``, then row ``i``),
    so every row is read before it is written over.  XLA then updates the
    sequence's buffer in place, where it would otherwise fill a new buffer
    with zeros (and copy one such zero buffer for each other loop that starts
    from one: it merges equal fills).
    """
    import jax
    import jax.numpy as jnp
    from jax import lax

    if not xs:
        return plain_scan(f, init, xs, length=length, **kwargs)
    steps = int(length) if length is not None else int(xs[0].shape[0])
    if steps == 0:
        return plain_scan(f, init, xs, length=length, **kwargs)
    read_back = tuple(read_back) or (False,) * len(xs)
    sources = [jnp.flip(x, axis=0) if back else x for x, back in zip(xs, read_back)]
    # Sequence -> the stacked output whose buffer it starts (see ``overwrite``).
    over = {}

    def inputs_at(i, stacks, which=None):
        """Step ``i`` of the sequences (of those flagged in ``which``, if given)."""
        return [
            lax.dynamic_index_in_dim(
                stacks[over[k]] if k in over else x, steps - 1 - i if back else i, keepdims=False
            )
            for k, (x, back) in enumerate(zip(sources, read_back))
            if which is None or which[k]
        ]

    zero = jnp.zeros((), "int64" if jax.config.jax_enable_x64 else "int32")
    stacked = any(write_back) or bool(overwrite)
    if stacked:
        ys_types = jax.eval_shape(lambda c, x: f(c, x)[1], init, inputs_at(zero, []))
        if len(ys_types) != len(write_back):
            stacked = False
    buffers = [jnp.zeros((steps, *y.shape), y.dtype) for y in ys_types] if stacked else []
    # (_reversed_sequences paired outputs written and sequences read back to
    # front; the shapes, not all static then, are checked here.)
    for j, k in overwrite if stacked else ():
        if sources[k].shape == buffers[j].shape and sources[k].dtype == buffers[j].dtype:
            buffers[j] = sources[k]
            over[k] = j

    # Which sequences are prefetched: those with steps of PREFETCH_MIN elements or more.
    fetch = [prefetch and math.prod(x.shape[1:]) >= PREFETCH_MIN for x in xs]
    prefetch = any(fetch)

    def step(state, _):
        # ahead: step i's prefetched inputs, else [].  The step number is carried
        # rather than read from a sequence ``arange(steps)``: XLA merges it with
        # its own loop counter, and the sequence would be one more kernel to
        # compile and a buffer the loop reads.
        carry, stacks, ahead, i = state
        if prefetch:
            fetched, here = iter(ahead), iter(inputs_at(i, stacks, [not f_k for f_k in fetch]))
            current = [next(fetched) if f_k else next(here) for f_k in fetch]
            ahead = inputs_at(jnp.minimum(i + 1, steps - 1), stacks, fetch)
        else:
            current = inputs_at(i, stacks)
        carry, ys = f(carry, current)
        if not stacked:
            return (carry, stacks, ahead, i + 1), ys
        stacks = [
            lax.dynamic_update_index_in_dim(stack, y, steps - 1 - i if back else i, 0)
            for stack, y, back in zip(stacks, ys, write_back)
        ]
        return (carry, stacks, ahead, i + 1), None

    first = inputs_at(zero, buffers, fetch)
    (carry, stacks, _, _), ys = plain_scan(
        step, (init, buffers, first, zero), None, length=steps, **kwargs
    )
    if not stacked:
        return carry, ys
    return carry, [jnp.flip(b, axis=0) if back else b for b, back in zip(stacks, write_back)]


@contextlib.contextmanager
def scan_unroll(steps: tuple[int, int]):
    """Trace PyTensor scans as ``lax.scan(..., unroll=k)`` inside this block.

    ``steps`` is ``(forward, gradient)``.  Each iteration of XLA's loop then
    computes ``k`` steps, which saves the loop's per-iteration cost (on a GPU,
    a device-to-host copy of the loop condition and several kernel launches)
    at the price of a larger program.
    """
    global _unroll
    previous, _unroll = _unroll, (int(steps[0]), int(steps[1]))
    try:
        yield
    finally:
        _unroll = previous


@contextlib.contextmanager
def slab_join(enabled: bool):
    """Rewrite chains of slab increments into joins inside this block.

    The block must hold both the rewriting of the program and its
    translation to JAX, where the scans' inner graphs are rewritten.
    """
    global _slab_join
    previous, _slab_join = _slab_join, bool(enabled)
    try:
        yield
    finally:
        _slab_join = previous


@contextlib.contextmanager
def scan_overwrite(enabled: bool):
    """Let scans traced inside this block write outputs over the sequences they read."""
    global _overwrite
    previous, _overwrite = _overwrite, bool(enabled)
    try:
        yield
    finally:
        _overwrite = previous


#: The smallest step of a sequence (elements) that a prefetching scan prefetches
#: (see :func:`_scan_loop`).  In one-process comparisons against prefetching
#: every sequence: the RNNSLU tutorial's step (steps of 200 elements) 6% faster,
#: the small LSTM, GRU and Elman layers' training steps and ``lstm.py``'s (steps of
#: 2048 elements and more) within 1%.
PREFETCH_MIN = 1024


@contextlib.contextmanager
def scan_prefetch(enabled: bool):
    """Trace PyTensor scans with their sequences' steps prefetched inside this block."""
    global _prefetch
    previous, _prefetch = _prefetch, bool(enabled)
    try:
        yield
    finally:
        _prefetch = previous


_configured = False


def configure() -> None:
    """Enable float64 and the persistent compilation cache in JAX (idempotent).

    Also runs CPU programs on the calling thread, where glibc reuses their
    temporaries (see :mod:`seqgraph._malloc`).  Cheap: it imports JAX but not
    PyTensor's JAX dispatch (which imports ``jax.experimental.sparse`` and
    SciPy), so that a function found in the function cache starts without it.
    """
    global _configured
    import jax

    if _configured:
        if not jax.config.jax_enable_x64:  # importing PyTensor's JAX dispatch turns it off
            jax.config.update("jax_enable_x64", True)
        return
    from seqgraph import _malloc

    jax.config.update("jax_enable_x64", True)
    for name, value in _malloc.jax_dispatch_settings().items():
        jax.config.update(name, value)
    _enable_persistent_cache(jax)
    _configured = True


def _composite_function(op, inner):
    """A fused elementwise op's JAX function, applied to whole arrays.

    PyTensor's JAX backend wraps the scalar function of a ``Composite`` (the
    elementwise fusion of a graph) in ``jnp.vectorize``, which traces it once
    more for every dimension (a ``vmap`` per axis).  Every scalar op's JAX
    function already works on arrays, with NumPy's broadcasting (the
    ``Elemwise`` of a single scalar op calls it on its arrays directly), so
    the fused function is called on the arrays too; outputs that depend on
    only some of the inputs are broadcast to the shape of all of them, as
    ``jnp.vectorize`` does.  The program is the same; tracing it is cheaper.
    """
    import jax.numpy as jnp

    single = len(op.outputs) == 1

    def composite(*args):
        # As jnp.vectorize: Python numbers (PyTensor's scalars) become arrays.
        args = [jnp.asarray(a) for a in args]
        shape = jnp.broadcast_shapes(*(a.shape for a in args))
        outputs = tuple(
            out if jnp.shape(out) == shape else jnp.broadcast_to(out, shape) for out in inner(*args)
        )
        return outputs[0] if single else outputs

    return composite


# Whether an op ran through a host callback in the programs converted since
# the flag was last cleared (JaxProgram: such a program cannot be exported).
host_callbacks = {"used": False}


def _host_callback(op, node):
    """An op with no JAX implementation, run by its Python ``perform`` through ``jax.pure_callback``.

    Ops written in Python, as Theano's "Creating a new Op" shows, have only
    ``perform``.  JAX calls it on the host with the step's values (a round
    trip to the host on a GPU, and a program that cannot be kept in the
    on-disk cache).  The outputs' shapes must be known while JAX traces: from
    their static types, from the op's ``infer_shape`` given the inputs'
    shapes, or else from one run of ``perform`` on zeros of the inputs' shapes
    and dtypes while JAX traces (for each new set of input shapes).  An op
    whose output shapes depend on its inputs' values gets an error when it is
    called with values that give other shapes; one whose ``perform`` fails on
    zeros, ``NotImplementedError`` (PyTensor's message) with a note.
    """
    import jax
    from pytensor.graph.op import Op
    from pytensor.tensor.basic import get_underlying_scalar_constant_value
    from pytensor.tensor.type import TensorType

    from seqgraph._compat import INFER_SHAPE_TAKES_FGRAPH

    missing = NotImplementedError(f"No JAX conversion for the given `Op`: {op}")
    if (
        node is None
        or type(op).perform is Op.perform
        or not all(isinstance(v.type, TensorType) for v in [*node.inputs, *node.outputs])
    ):
        raise missing
    static = all(None not in v.type.shape for v in node.outputs)
    own_infer_shape = callable(getattr(type(op), "infer_shape", None))
    dtypes = [v.type.dtype for v in node.outputs]
    name = type(op).__name__

    def probed_shapes(shapes):
        zeros = [np.zeros(shape, dtype=v.type.dtype) for shape, v in zip(shapes, node.inputs)]
        try:
            with np.errstate(all="ignore"):
                return [out.shape for out in host(*zeros)]
        except Exception as err:
            # A new error each time: a second trace must not add a second note.
            refused = NotImplementedError(*missing.args)
            refused.add_note(
                f"{name} has a Python `perform`, which seqgraph runs on the host under JAX "
                "when the shapes of its outputs are known while tracing. It has no "
                f"`infer_shape`, and its `perform` failed on zeros of shapes {shapes} "
                f"({type(err).__name__}: {err}): give it an `infer_shape`."
            )
            raise refused from err

    def output_shapes(shapes):
        if static:
            return [v.type.shape for v in node.outputs]
        if not own_infer_shape:
            return probed_shapes(shapes)
        args = (None, node, shapes) if INFER_SHAPE_TAKES_FGRAPH else (node, shapes)
        result = []
        for shape in op.infer_shape(*args):
            dims = []
            for d in shape:
                try:
                    dims.append(int(get_underlying_scalar_constant_value(d)))
                except Exception as err:
                    raise NotImplementedError(
                        f"{type(op).__name__}.infer_shape gave a size that is not a constant "
                        f"for input shapes {shapes} ({d}); JAX needs it to run the op."
                    ) from err
            result.append(tuple(dims))
        return result

    def host(*values):
        storage = [[None] for _ in node.outputs]
        op.perform(node, [np.asarray(v) for v in values], storage)
        return tuple(np.asarray(cell[0], dtype=d) for cell, d in zip(storage, dtypes))

    if static:
        source = "its output types"
    else:
        source = "`infer_shape`" if own_infer_shape else "a run on zeros of its inputs"

    def python_op(*inputs):
        host_callbacks["used"] = True
        shapes = [tuple(int(d) for d in np.shape(x)) for x in inputs]
        expected = [tuple(shape) for shape in output_shapes(shapes)]
        results = [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in zip(expected, dtypes)]

        def checked_host(*values):
            outs = host(*values)
            got = [out.shape for out in outs]
            if got != expected:
                raise ValueError(
                    f"{name} gave outputs of shapes {got} where {source} gave {expected}: "
                    "under JAX the shapes must follow from the inputs' shapes alone"
                    + ("" if static or own_infer_shape else "; give it an `infer_shape` if they do")
                    + "."
                )
            return outs

        outs = jax.pure_callback(checked_host, results, *inputs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    return python_op


def _is_tracer(x) -> bool:
    import jax

    return isinstance(x, jax.core.Tracer)


def _concrete_shape_arithmetic(node, traced):
    """An elementwise op on sizes, computed with NumPy where its inputs are concrete.

    Under ``jax.jit`` every ``jnp`` operation gives a traced value, also on
    concrete inputs, and JAX takes only concrete values as shapes. Inside a
    scan's step the sizes of the step's arrays are concrete (``Shape_i`` gives
    Python ints) while the arithmetic PyTensor builds on them (a reshape's
    ``-1``, a broadcast check, ``32 * n``) would be traced, and a ``Reshape``
    or ``Alloc`` of that size refused (the gradient of an attention decoder's
    scan, whose step reshapes its scores). Elementwise nodes whose outputs
    are integer or boolean scalars or vectors run PyTensor's own NumPy
    implementation when no input is traced, the traced function otherwise.
    """
    if not all(out.ndim <= 1 and out.type.dtype[0] in "iub" for out in node.outputs):
        return traced
    dtypes = [inp.type.dtype for inp in node.inputs]

    def elemwise(*inputs):
        if any(_is_tracer(x) for x in inputs):
            return traced(*inputs)
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [np.asarray(x, dtype=d) for x, d in zip(inputs, dtypes)], storage)
        outs = tuple(cell[0] for cell in storage)
        return outs[0] if len(outs) == 1 else outs

    return elemwise


# The key of seqgraph's Philox state in a PyTensor-JAX generator state.
PHILOX_STATE = "seqgraph_philox"
_MANTISSA = {"float32": (np.uint32, 9, 0x3F800000), "float64": (np.uint64, 12, 0x3FF0000000000000)}


def philox_state(jax_state) -> np.ndarray:
    """The Philox state a generator starts from: its JAX key, then a zero counter.

    ``jax_state`` is the two 32-bit words PyTensor's JAX backend takes from
    a NumPy generator as its threefry key.  XLA's Philox state is two 64-bit
    words, the key then the counter, here as four 32-bit words.
    """
    key = np.asarray(jax_state, dtype=np.uint32).reshape(-1)[:2]
    return np.concatenate([key, np.zeros(2, dtype=np.uint32)])


def _philox_uniform(op, node, plain):
    """JAX sampling of ``pt.random.uniform`` with XLA's Philox generator.

    PyTensor's JAX backend samples every draw with two threefry computations
    (``jax.random.split``, then ``jax.random.uniform``), which XLA's CPU
    compiler builds as two loops of about twenty operations: for the one
    dropout mask of the ``lstm.py`` tutorial, 0.12 s of its training step's
    XLA compile (1.16 against 1.04 s), more than the rest of dropout.  Here one
    ``rng_bit_generator`` (Philox-4x32-10, the generator of cuRAND and of
    PyTorch on GPUs) gives the bits and the advanced state together.  The
    state is the generator state's :data:`PHILOX_STATE` entry
    (:func:`philox_state`), which :func:`seqgraph._jaxfn.random_state` adds; a
    state without it (PyTensor's own JAX functions) and dtypes other than
    float32 and float64 are sampled as PyTensor does.  Each value takes the
    top 23 (float32) or 52 (float64) bits of one word as the mantissa of a
    number in [1, 2), minus 1.
    """
    import jax
    import jax.numpy as jnp
    from pytensor.graph.basic import Constant
    from pytensor.tensor.type_other import NoneTypeT

    out = node.outputs[1]
    shape = tuple(out.type.shape)
    if None in shape:
        size = op.size_param(node)
        if isinstance(size, Constant) and not isinstance(size.type, NoneTypeT):
            shape = tuple(int(d) for d in size.data)
    if None in shape or out.type.dtype not in _MANTISSA:
        return plain
    bits_dtype, shift, one = _MANTISSA[out.type.dtype]
    float_dtype = np.dtype(out.type.dtype)

    def sample(rng, size, low, high, *rest):
        if not isinstance(rng, dict) or PHILOX_STATE not in rng:
            return plain(rng, size, low, high, *rest)
        state, bits = jax.lax.rng_bit_generator(
            rng[PHILOX_STATE], shape, dtype=bits_dtype, algorithm=jax.lax.RandomAlgorithm.RNG_PHILOX
        )
        unit = jax.lax.bitcast_convert_type((bits >> shift) | bits_dtype(one), float_dtype) - 1
        low, high = jnp.asarray(low, float_dtype), jnp.asarray(high, float_dtype)
        value = jnp.maximum(low, low + (high - low) * unit)
        return {**rng, PHILOX_STATE: state}, value

    return sample


def install_fixes() -> None:
    """Register seqgraph's JAX dispatch corrections (idempotent)."""
    global _installed
    if _installed:
        return
    configure()
    import jax
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.link.jax.dispatch.elemwise import jax_funcify_CAReduce

    from seqgraph import _dynslice

    _dynslice.register_jax_dispatch()
    from pytensor.tensor.elemwise import CAReduce

    @jax_funcify.register(CAReduce)
    def _careduce_with_declared_dtype(op, node=None, **kwargs):
        reduce = jax_funcify_CAReduce(op, node=node, **kwargs)
        if node is None:
            return reduce
        out_dtype = node.outputs[0].dtype

        def careduce(x):
            return reduce(x).astype(out_dtype)

        return careduce

    from pytensor.link.jax.dispatch import jax_typify

    @jax_typify.register(np.ndarray)
    def _constant_to_device(data, dtype=None, **kwargs):
        # As PyTensor's, without jnp.array: for each new shape and dtype it
        # compiled and ran a small XLA program (about 6 ms each; 23 constants,
        # 0.1 s, in the lstm.py tutorial's functions); device_put copies.
        if data.ndim == 0:
            # A NumPy scalar of the constant's dtype, not PyTensor's Python number:
            # with 64-bit types on, JAX gives a Python float's weak type float64
            # wherever no array sets the dtype (an alloc, a dimshuffle of the
            # constant), and a float32 graph then computes in float64 from there.
            return np.asarray(data, dtype=dtype)[()]
        return jax.device_put(np.asarray(data, dtype=dtype))

    from seqgraph.models import ContextWindow

    @jax_funcify.register(ContextWindow)
    def _context_window(op, node=None, **kwargs):
        import jax.numpy as jnp

        win, pad_id, half = op.win, op.pad_id, op.win // 2

        def context_window(ids):
            side = jnp.full((ids.shape[0], half), pad_id, dtype=ids.dtype)
            padded = jnp.concatenate([side, ids, side], axis=1)
            steps = ids.shape[1]
            return jnp.stack([padded[:, k : k + steps] for k in range(win)], axis=-1)

        return context_window

    @jax_funcify.register(IncrementBroadcast)
    def _increment_broadcast(op, node=None, **kwargs):
        import jax.numpy as jnp

        def increment_broadcast(y, base):
            # Lengths are concrete while JAX traces, in a loop's body too.
            return jnp.broadcast_to(y, op._shape(base.shape))

        return increment_broadcast

    from pytensor.link.jax.dispatch.elemwise import jax_funcify_Elemwise
    from pytensor.tensor.basic import ScalarFromTensor
    from pytensor.tensor.elemwise import Elemwise

    @jax_funcify.register(Elemwise)
    def _shape_arithmetic_stays_concrete(op, node=None, **kwargs):
        traced = jax_funcify_Elemwise(op, node=node, **kwargs)
        return traced if node is None else _concrete_shape_arithmetic(node, traced)

    @jax_funcify.register(ScalarFromTensor)
    def _scalar_from_concrete_tensor(op, **kwargs):
        import jax.numpy as jnp

        def scalar_from_tensor(x):
            if _is_tracer(x):
                return jnp.asarray(x).flatten()[0]
            return np.asarray(x).flatten()[0]

        return scalar_from_tensor

    from pytensor.link.jax.dispatch.tensor_basic import jax_funcify_MakeVector, jax_funcify_Split
    from pytensor.tensor.basic import MakeVector, Split

    @jax_funcify.register(MakeVector)
    def _vector_of_concrete_sizes(op, node=None, **kwargs):
        traced = jax_funcify_MakeVector(op, node=node, **kwargs)
        if node is None or node.outputs[0].type.dtype[0] not in "iub":
            return traced

        def makevector(*x):
            # Sizes stay concrete (see _concrete_shape_arithmetic).
            if any(_is_tracer(v) for v in x):
                return traced(*x)
            return np.array(x, dtype=op.dtype)

        return makevector

    @jax_funcify.register(Split)
    def _split_at_concrete_sizes(op, node=None, **kwargs):
        import jax.numpy as jnp

        with warnings.catch_warnings():
            # PyTensor warns when the sizes are not constants of the graph;
            # inside a scan's step they are often concrete only when traced.
            warnings.filterwarnings("ignore", message="Split node does not have constant")
            traced = jax_funcify_Split(op, node=node, **kwargs)

        def split(x, *rest):
            # (x, axis, splits); PyTensor 3.3: (x, splits), the axis a property.
            axis, splits = rest if len(rest) == 2 else (op.axis, rest[0])
            if _is_tracer(splits) or _is_tracer(axis):
                return traced(x, *rest)
            splits = np.asarray(splits)
            axis = int(np.asarray(axis))
            if len(splits) != op.len_splits:
                raise ValueError(f"Split: {len(splits)} sizes for {op.len_splits} parts.")
            if (splits < 0).any() or splits.sum() != x.shape[axis]:
                raise ValueError(
                    f"Split: sizes {splits.tolist()} do not add up to the length "
                    f"{x.shape[axis]} of axis {axis}."
                )
            return jnp.split(x, np.cumsum(splits[:-1]), axis=axis)

        return split

    from pytensor.graph.op import Op as _Op

    @jax_funcify.register(_Op)
    def _python_op_on_the_host(op, node=None, **kwargs):
        return _host_callback(op, node)

    import pytensor.tensor.subtensor as subtensor_ops
    from pytensor.link.jax.dispatch.subtensor import jax_funcify_IncSubtensor

    def _increment_of_the_array_dtype(op, node=None, **kwargs):
        plain = jax_funcify_IncSubtensor(op, node=node, **kwargs)
        if node is None or node.inputs[1].type.dtype == node.inputs[0].type.dtype:
            return plain
        dtype = node.inputs[0].type.dtype

        def incsubtensor(x, y, *indices):
            # PyTensor casts the values to the array's dtype (a float64 value
            # set into a float32 array, as Theano's constants make them);
            # JAX's scatter warns of it and will refuse it.
            return plain(x, y.astype(dtype) if hasattr(y, "astype") else y, *indices)

        return incsubtensor

    # (PyTensor 3.3 has no AdvancedIncSubtensor1.)
    for name in ("IncSubtensor", "AdvancedIncSubtensor", "AdvancedIncSubtensor1"):
        if hasattr(subtensor_ops, name):
            jax_funcify.register(getattr(subtensor_ops, name))(_increment_of_the_array_dtype)

    from pytensor.scalar.basic import Composite

    @jax_funcify.register(Composite)
    def _composite_on_whole_arrays(op, node=None, **kwargs):
        return _composite_function(op, jax_funcify(op.fgraph))

    import pytensor.tensor.random.basic as ptr
    from pytensor.link.jax.dispatch.random import jax_funcify_RandomVariable

    @jax_funcify.register(ptr.UniformRV)
    def _uniform_by_philox(op, node=None, **kwargs):
        plain = jax_funcify_RandomVariable(op, node=node, **kwargs)
        return plain if node is None else _philox_uniform(op, node, plain)

    from pytensor.tensor.math import ProdWithoutZeros

    if ProdWithoutZeros not in jax_funcify.registry:
        # The gradient of prod(x) divides by a product without the zeros;
        # PyTensor 3.0 had no JAX code for it (3.3 has).

        @jax_funcify.register(ProdWithoutZeros)
        def _prod_without_zeros(op, node=None, **kwargs):
            import jax.numpy as jnp

            axis = op.axis
            dtype = node.outputs[0].dtype if node is not None else op.dtype

            def prod_without_zeros(x):
                kept = x != 0
                product = jnp.prod(jnp.where(kept, x, 1), axis=axis, dtype=op.acc_dtype)
                # As the C code: a slice of zeros only gives 0.
                return jnp.where(jnp.any(kept, axis=axis), product, 0).astype(dtype)

            return prod_without_zeros

    from pytensor.graph.basic import Constant
    from pytensor.tensor.basic import ARange

    plain_arange = jax_funcify.dispatch(ARange)

    @jax_funcify.register(ARange)
    def _arange_bounds_in_its_dtype(op, node=None, **kwargs):
        # PyTensor 3.0 passed its constant bounds in their own dtype: int8 for
        # arange(n)'s 0 and 1, and jnp.arange then overflowed computing n - 0
        # for n > 127 (NumPy 2 keeps int8). PyTensor 3.3 casts them, as here.
        plain = plain_arange(op, node=node, **kwargs)  # refuses non-constant bounds
        if node is None:
            return plain
        import jax.numpy as jnp

        bounds = [
            np.asarray(arg.value, op.dtype) if isinstance(arg, Constant) else None
            for arg in node.inputs
        ]

        def arange(*args):
            start, stop, step = (b if b is not None else a for a, b in zip(args, bounds))
            return jnp.arange(start, stop, step, dtype=op.dtype)

        return arange

    from pytensor.tensor.math import Dot

    @jax_funcify.register(Dot)
    def _dot_copying_a_transposed_operand(op, node=None, **kwargs):
        import jax.numpy as jnp

        copy = node is not None and node.inputs[0].ndim == 2 and _is_transpose(node.inputs[0])

        def dot(x, y):
            # Read when traced: the barrier keeps XLA from folding the
            # transpose back into the product.
            if copy and _transposed_copy and x.size >= TRANSPOSED_COPY_MIN:
                x = jax.lax.optimization_barrier(x)
            return jnp.dot(x, y)

        return dot

    import pytensor.link.jax.dispatch.scan as scan_dispatch
    from pytensor.scan.op import Scan

    plain_scan = scan_dispatch.jax_scan
    plain_funcify_scan = scan_dispatch.jax_funcify_Scan

    def jax_scan(f, init, xs, length=None, **kwargs):
        steps = _unroll[1] if _tracing_gradient_scan else _unroll[0]
        if steps > 1:
            kwargs.setdefault("unroll", steps)
        read_back, write_back, overwrite = _back_to_front
        overwrite = overwrite if _overwrite else ()
        prefetch = _prefetch
        if (
            (prefetch or any(read_back) or any(write_back) or overwrite)
            and isinstance(xs, list)
            and len(xs) == len(read_back or xs)
            and "reverse" not in kwargs
        ):
            return _scan_loop(
                plain_scan, f, init, xs, length, read_back, write_back, prefetch, kwargs, overwrite
            )
        return plain_scan(f, init, xs, length=length, **kwargs)

    @jax_funcify.register(Scan)
    def _scan_knowing_its_kind(op, node=None, **kwargs):
        if op.info.as_while:
            return _while_scan(op, node, scan_dispatch, **kwargs)
        with funcifying(op.fgraph):  # a loop in its step sees who reads its outputs
            scan = plain_funcify_scan(op, node=node, **kwargs)
        gradient = is_backward_scan(op)
        # (Both ways: whether scans overwrite is known when they are traced.)
        back_to_front = {False: ((), (), ()), True: ((), (), ())}
        if node is not None:
            back_to_front = {way: _reversed_sequences(op, node, way) for way in (False, True)}

        def traced_scan(*args):
            global _tracing_gradient_scan, _back_to_front
            outer = _tracing_gradient_scan, _back_to_front
            _tracing_gradient_scan, _back_to_front = gradient, back_to_front[_overwrite]
            try:
                return scan(*args)
            finally:
                _tracing_gradient_scan, _back_to_front = outer

        return traced_scan

    scan_dispatch.jax_scan = jax_scan

    from pytensor.compile import optdb
    from pytensor.graph.rewriting.basic import dfs_rewriter, in2out

    # Every rewriter is made before any is registered: one that fails to be
    # made (an import, say) leaves the database as it was, so that a later
    # call can try again without names already taken.
    rewrites = []
    # Positions: after PyTensor's specialisation, before its elementwise fusion.
    for name, make, position in (
        ("seqgraph_jax_pad_nit_sot", _make_pad_rewriter, 48.5),
        ("seqgraph_jax_reduce_all_before_transpose", _make_transpose_reduce_rewriter, 48.55),
        ("seqgraph_jax_static_scan_shapes", _make_static_shape_rewriter, 48.6),
        ("seqgraph_jax_one_hot_increment", _make_one_hot_rewriter, 48.7),
        ("seqgraph_jax_inc_subtensor_chain_to_join", _make_join_rewriter, 48.8),
        ("seqgraph_jax_ifelse_same_branches", _make_same_branches_rewriter, 48.45),
    ):
        rewrites.append((name, in2out(make(), name=name), position))
    # The scans of an inlined written-out gradient (seqgraph._bptt) were built
    # for the gradient's generic types; inlining feeds them outer values whose
    # static shapes are known (a batch of 1), and a scan rewrite that rebuilds
    # such a node fails PyTensor's broadcast check (the rewrite is skipped
    # with a printed traceback).  Give the inner inputs their outer shapes
    # before each group of scan rewrites too.
    for name, position in (
        ("seqgraph_jax_static_scan_shapes_before_scan_eqopt1", 0.04),
        ("seqgraph_jax_static_scan_shapes_before_scan_eqopt2", 1.59),
    ):
        rewrites.append((name, in2out(_make_static_shape_rewriter(), name=name), position))
    # Once shapes are static, a gradient scan's step counts are equal constants
    # that PyTensor's scan rewrites (which ran before) saw as different values,
    # so outputs computing the same thing were not merged: the LSTM's gradient
    # scan stacked its gate gradients twice (250 MiB for the medium LSTM over
    # 1000 steps).  Merge equal constants, then the scans' equal outputs.
    from pytensor.graph.rewriting.basic import MergeOptimizer, SequentialGraphRewriter
    from pytensor.scan.rewriting.io import scan_remove_unused
    from pytensor.scan.rewriting.merge import scan_merge_inouts

    # Large multi-output updates computed block by block (only inside
    # _chunked.chunked_updates, which JaxProgram enters on the CPU).
    from seqgraph import _chunked

    _chunked.register_jax_dispatch()
    rewrites.append(("seqgraph_jax_chunked_updates", _chunked.ChunkedUpdates(), 48.9))
    merge_scan_outputs = SequentialGraphRewriter(
        MergeOptimizer(),
        dfs_rewriter(scan_merge_inouts, ignore_newtrees=True),
        dfs_rewriter(scan_remove_unused, ignore_newtrees=True),
    )
    rewrites.append(("seqgraph_jax_merge_scan_outputs", merge_scan_outputs, 48.7))
    for name, rewriter, position in rewrites:
        register_rewrite(optdb, name, rewriter, "jax", position=position)
    # Importing PyTensor's JAX dispatch (above) set x64 from floatX again.
    jax.config.update("jax_enable_x64", True)
    _installed = True


def cache_limit_bytes() -> int:
    """The size cap of each part of seqgraph's on-disk JAX cache, in bytes.

    ``$SEQGRAPH_JAX_CACHE_MAX_MB`` (MiB, default 1024) caps XLA's compiled
    executables and, apart, seqgraph's exported programs; past it, the entries
    used least recently are deleted.

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_JAX_CACHE_MAX_MB`` is not a positive number.
    """
    import math

    text = os.environ.get("SEQGRAPH_JAX_CACHE_MAX_MB", "").strip()
    if not text:
        return 1024 << 20
    try:
        mib = float(text)
    except ValueError:
        mib = math.nan
    if not (math.isfinite(mib) and mib > 0):
        raise ValueError(
            f"SEQGRAPH_JAX_CACHE_MAX_MB must be a positive number of MiB; got {text!r}."
        )
    return int(mib * (1 << 20))


def _enable_persistent_cache(jax) -> None:
    """Keep XLA's compiled executables on disk, so that a later process reuses them.

    ``SEQGRAPH_JAX_CACHE`` names the folder (default ``~/.cache/seqgraph/jax``);
    an empty value turns the cache off.  A folder the user configured for JAX
    itself is left as it is.  The folder is capped in size (see
    :func:`cache_limit_bytes`; JAX's eviction needs the ``filelock`` package,
    which the ``jax`` extra installs).
    """
    import os

    if jax.config.jax_compilation_cache_dir:
        return
    folder = os.environ.get(
        "SEQGRAPH_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "seqgraph", "jax")
    )
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", folder)
    if importlib.util.find_spec("filelock") is not None and _give_entries_access_times(folder):
        jax.config.update("jax_compilation_cache_max_size", cache_limit_bytes())
    # Recurrent graphs compile in about a second; cache them all (options that an
    # older JAX lacks are skipped).
    for option, value in (
        ("jax_persistent_cache_min_compile_time_secs", 0.0),
        ("jax_persistent_cache_min_entry_size_bytes", 0),
    ):
        try:
            jax.config.update(option, value)
        except AttributeError:
            pass


def _give_entries_access_times(folder: str) -> bool:
    """Give each entry of JAX's cache in ``folder`` the access-time file JAX's eviction reads.

    JAX writes that file (``<key>-atime``, nanoseconds, little-endian) only while
    a size cap is set; an entry written without one (by an earlier seqgraph, or
    another program) makes every later write fail with a warning once the cap is
    on.  Such entries get their file's modification time.  Returns whether the
    cap can be set: not when this JAX stores its entries some other way.
    """
    try:
        from jax._src import lru_cache

        entry, stamp = lru_cache._CACHE_SUFFIX, lru_cache._ATIME_SUFFIX
    except (ImportError, AttributeError):
        return False
    try:
        with os.scandir(folder) as found:
            names = {item.name for item in found}
        for name in names:
            key = name[: -len(entry)]
            if name.endswith(entry) and key + stamp not in names:
                modified = os.stat(os.path.join(folder, name)).st_mtime_ns
                with open(os.path.join(folder, key + stamp), "wb") as handle:
                    handle.write(modified.to_bytes(8, "little"))
    except OSError:
        return False
    return True


def _constant(var):
    from pytensor.tensor.basic import get_underlying_scalar_constant_value
    from pytensor.tensor.exceptions import NotScalarConstantError

    try:
        return int(get_underlying_scalar_constant_value(var))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


def _is_zero(var) -> bool:
    """Whether ``var`` is a constant zero (of any dtype; ``0.5`` is not)."""
    from pytensor.tensor.basic import get_underlying_scalar_constant_value
    from pytensor.tensor.exceptions import NotScalarConstantError

    try:
        return bool(get_underlying_scalar_constant_value(var) == 0)
    except (NotScalarConstantError, TypeError, ValueError):
        return False


@with_infer_shape
class IncrementBroadcast(Op):
    """``y`` broadcast to the shape of ``base`` with ``width`` along ``axis``.

    What an increment of a region of ``base`` by ``y`` does to ``y``: each
    length of 1 is broadcast, whether ``y``'s type says it is 1 or leaves it
    open (PyTensor's ``alloc`` and elementwise ops accept only the first).  The
    rewrites that replace increments use it for a value whose type does not
    show its lengths (the join of slab increments, :func:`_make_join_rewriter`;
    the one-hot comparison, :func:`_make_one_hot_rewriter`); a length that is
    neither 1 nor the region's fails, as the increment would.  ``base`` gives
    only its shape, so that the region's shape is known while JAX traces a
    loop's body, where lengths computed by PyTensor ops are not.  Used in JAX
    programs only, after gradients are taken: it has no gradient.
    """

    __props__ = ("axis", "width")

    def __init__(self, axis, width):
        self.axis = int(axis)
        self.width = int(width)

    def _shape(self, base_shape):
        return (*base_shape[: self.axis], self.width, *base_shape[self.axis + 1 :])

    def make_node(self, y, base):
        import pytensor.tensor as pt
        from pytensor.graph.basic import Apply
        from pytensor.tensor.type import TensorType

        y, base = pt.as_tensor_variable(y), pt.as_tensor_variable(base)
        if not 0 <= self.axis < base.ndim or y.ndim > base.ndim:
            raise TypeError(
                f"IncrementBroadcast: axis {self.axis} of a {base.ndim}-d base, a {y.ndim}-d value"
            )
        out = TensorType(y.dtype, shape=self._shape(base.type.shape))()
        return Apply(self, [y, base], [out])

    def perform(self, node, inputs, output_storage):
        y, base = inputs
        output_storage[0][0] = np.array(np.broadcast_to(y, self._shape(base.shape)))

    def infer_shape(self, node, input_shapes):
        return [self._shape(tuple(input_shapes[1]))]


def _make_one_hot_rewriter():
    """Zeros incremented at one column of every row -> a comparison.

    The gradient of the classic negative log-likelihood,
    ``-log_probs[arange(n), y].mean()``, is a zero ``(n, k)`` matrix
    incremented at ``(arange(n), y)``.  XLA runs that as a scatter, after a
    zero fill and a kernel that pairs the row and column indices: four of the
    kernels of ``lstm.py``'s training step, each compiled on its own.  Since
    every row is hit once, the same matrix is
    ``where(arange(k) == y[:, None], value, 0)``, one elementwise computation
    that XLA fuses with what reads it.  Negative columns count from the end,
    as in the scatter; a column out of range leaves its row zero, as JAX's
    scatter drops it.
    """
    import pytensor.tensor as pt
    from pytensor.graph.basic import Constant
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.tensor.basic import Alloc
    from pytensor.tensor.subtensor import AdvancedIncSubtensor
    from pytensor.tensor.type import int_dtypes, uint_dtypes

    discrete_dtypes = set(int_dtypes) | set(uint_dtypes)

    def is_zeros(var):
        if var.owner is not None and isinstance(var.owner.op, Alloc):
            return _is_zero(var.owner.inputs[0])
        return isinstance(var, Constant) and not np.any(var.data)

    @node_rewriter([AdvancedIncSubtensor])
    def one_hot_increment(fgraph, node):
        x, value, *indices = node.inputs
        if x.ndim != 2 or len(indices) != 2 or None in x.type.shape or not is_zeros(x):
            return None
        n, k = x.type.shape
        rows, cols = indices
        if not (
            isinstance(rows, Constant)
            and np.array_equal(rows.data, np.arange(n))
            and cols.dtype in discrete_dtypes
            and cols.ndim <= 1
            and value.ndim <= 1
        ):
            return None
        if value.ndim and value.type.shape[0] not in (1, n):
            # The increment broadcasts a value of one element over the rows
            # whatever its type says; the comparison below only where the type
            # says it has one.
            value = IncrementBroadcast(0, n)(value, rows)
        if cols.ndim:
            cols = cols[:, None]
        if value.ndim:
            value = value[:, None]
        cols = pt.switch(pt.lt(cols, 0), cols + k, cols)
        hit = pt.eq(pt.arange(k, dtype=cols.dtype)[None, :], cols)
        out = pt.switch(hit, pt.cast(value, x.dtype), np.zeros((), x.dtype))
        return [pt.specify_shape(out, (n, k)) if out.type.shape != (n, k) else out]

    return one_hot_increment


def _make_same_branches_rewriter():
    """An ``ifelse`` whose two branches are the same values becomes those values.

    PyTensor infers an ``ifelse``'s output shape as an ``ifelse`` of the two
    branches' shapes, also where both are the same constants, and the shape
    of its gradient (``ones_like`` of the output, through ``Alloc``) then
    depends on the condition's value: under ``jax.jit`` it is a tracer, which
    JAX refuses as a shape (Keras's ``BatchNormalization`` switches between
    its training and inference outputs this way). With static shapes, the
    branches of those shape ``ifelse``s are equal constants.
    """
    from pytensor.graph.basic import Constant
    from pytensor.graph.rewriting.basic import node_rewriter

    from seqgraph._compat import IfElse

    def same(a, b):
        if a is b:
            return True
        return (
            isinstance(a, Constant)
            and isinstance(b, Constant)
            and a.type == b.type
            and np.array_equal(a.data, b.data)
        )

    @node_rewriter([IfElse])
    def ifelse_same_branches(fgraph, node):
        n = node.op.n_outs
        true, false = node.inputs[1 : 1 + n], node.inputs[1 + n :]
        if not all(same(t, f) for t, f in zip(true, false)):
            return None
        return list(true)

    return ifelse_same_branches


def _make_pad_rewriter():
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.scan.op import Scan

    @node_rewriter([Scan])
    def pad_short_nit_sot(fgraph, node):
        import pytensor.tensor as pt

        op = node.op
        if op.info.as_while or not op.info.n_nit_sot:
            return None
        n_steps = _constant(node.inputs[0])
        if n_steps is None:
            return None
        sizes = op.outer_nitsot(node.inputs)
        short = [i for i, size in enumerate(sizes) if (_constant(size) or 0) > n_steps]
        if not short:
            return None
        first = 1 + op.info.n_seqs + op.info.n_mit_mot + op.info.n_mit_sot + op.info.n_sit_sot
        first += op.info.n_untraced_sit_sot if hasattr(op.info, "n_untraced_sit_sot") else 0
        inputs = list(node.inputs)
        for i in short:
            assert inputs[first + i] is sizes[i]
            inputs[first + i] = node.inputs[0]
        new_outputs = op.make_node(*inputs).outputs
        old_nit = op.outer_nitsot_outs(node.outputs)
        new_nit = op.outer_nitsot_outs(new_outputs)
        replacements = dict(zip(node.outputs, new_outputs))
        for i in short:
            out = new_nit[i]
            missing = _constant(sizes[i]) - n_steps
            pad = pt.zeros((missing, *[out.shape[d] for d in range(1, out.ndim)]), dtype=out.dtype)
            padded = pt.join(0, out, pad)
            replacements[old_nit[i]] = pt.specify_shape(padded, old_nit[i].type.shape)
        return replacements

    return pad_short_nit_sot


def _make_transpose_reduce_rewriter():
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise

    @node_rewriter([CAReduce])
    def reduce_all_before_transpose(fgraph, node):
        """``reduce(f(x.transpose(...)))`` over every axis -> ``reduce(f(x))``.

        ``f`` is a chain of one-input elementwise operations (none of them
        read elsewhere).  A reduction over all axes does not depend on their
        order (nor on length-1 axes added or dropped), but XLA's CPU code for
        a transposed input is slow: ``mean(x.transpose(1, 0, 2) ** 2)`` of a
        64x100x256 array took 8.3 ms against 0.23 ms untransposed, and a
        training loss over a recurrent layer's batch-major output is exactly
        that (the layer computes time-major).
        """
        [x] = node.inputs
        op = node.op
        if op.axis is not None and set(op.axis) != set(range(x.type.ndim)):
            return None
        chain, var = [], x
        while (
            var.owner is not None
            and isinstance(var.owner.op, Elemwise)
            and len(var.owner.inputs) == 1
            and len(var.owner.outputs) == 1
            and len(fgraph.clients[var]) == 1
        ):
            chain.append(var.owner.op)
            var = var.owner.inputs[0]
        if not (var.owner is not None and isinstance(var.owner.op, DimShuffle)):
            return None
        [source] = var.owner.inputs
        if source.type.ndim == 0:
            return None
        for elementwise in reversed(chain):
            source = elementwise(source)
        return [op.clone(axis=None)(source)]

    return reduce_all_before_transpose


def _slab(node, length_of):
    """``(axis, start, stop)`` of an IncSubtensor that writes whole slabs of one axis.

    Every index is a full slice but one, a slice of step 1 with constant
    bounds on an axis whose length ``length_of(axis)`` is constant; otherwise
    None.
    """
    from pytensor.tensor.subtensor import indices_from_subtensor

    found = None
    for axis, index in enumerate(indices_from_subtensor(node.inputs[2:], node.op.idx_list)):
        if not isinstance(index, slice):
            return None
        bounds = [
            None if b is None else _constant(b) for b in (index.start, index.stop, index.step)
        ]
        if any(
            b is None and v is not None
            for b, v in zip(bounds, (index.start, index.stop, index.step))
        ):
            return None  # a symbolic bound
        start, stop, step = bounds
        if step not in (None, 1):
            return None
        if start in (None, 0) and stop is None:
            continue  # a full slice
        if found is not None:
            return None
        length = length_of(axis)
        if length is None:
            return None
        start, stop, _ = slice(start, stop).indices(length)
        if stop <= start:
            return None
        found = (axis, start, stop)
    return found


def _make_join_rewriter():
    """A chain of slab increments (a gradient through slices) -> one join.

    The gradient of an LSTM's or GRU's step with respect to its stacked gates
    is built by PyTensor as zeros incremented gate by gate (``inc_subtensor``
    per slice), and the gradient of its stacked weights as an accumulator
    incremented the same way.  XLA runs such a chain as one
    dynamic-update-slice after another, on the CPU in scalar code, inside
    every step of the backward loop; the same values as one concatenation
    (added to the accumulator) are several times faster.
    """
    import pytensor.tensor as pt
    from pytensor.graph.basic import Constant
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.tensor.basic import Alloc
    from pytensor.tensor.subtensor import IncSubtensor

    def chain_below(fgraph, node):
        """The increments from the bottom up and what they start from."""
        chain = [node]
        base = node.inputs[0]
        while (
            base.owner is not None
            and isinstance(base.owner.op, IncSubtensor)
            and len(fgraph.clients[base]) == 1
        ):
            chain.append(base.owner)
            base = base.owner.inputs[0]
        return chain[::-1], base

    def zeros_and_shape(base):
        """Whether ``base`` is zeros, and its shape (ints where known)."""
        if base.owner is not None and isinstance(base.owner.op, Alloc):
            value, *shape = base.owner.inputs
            if value.type.broadcastable == (True,) * value.ndim and _is_zero(value):
                known = [_constant(d) for d in shape]
                return True, [d if n is None else n for d, n in zip(shape, known)]
        if isinstance(base, Constant) and not np.any(base.data):
            return True, list(base.data.shape)
        return False, [base.shape[d] if n is None else n for d, n in enumerate(base.type.shape)]

    @node_rewriter([IncSubtensor])
    def inc_subtensor_chain_to_join(fgraph, node):
        out = node.outputs[0]
        if not _slab_join:
            return None
        if any(
            isinstance(client.op, IncSubtensor) and i == 0 and len(fgraph.clients[out]) == 1
            for client, i in fgraph.clients[out]
        ):
            return None  # not the top of its chain
        chain, base = chain_below(fgraph, node)
        if len(chain) < 2:
            return None
        zeros, shape = zeros_and_shape(base)
        if not zeros and any(n.op.set_instead_of_inc for n in chain):
            return None
        slabs = [
            _slab(n, lambda axis: shape[axis] if isinstance(shape[axis], int) else None)
            for n in chain
        ]
        if any(s is None for s in slabs) or len({s[0] for s in slabs}) != 1:
            return None
        axis = slabs[0][0]

        def filler(width):
            return pt.zeros([*shape[:axis], width, *shape[axis + 1 :]], dtype=out.dtype)

        pieces, at = [], 0
        for k in sorted(range(len(chain)), key=lambda k: slabs[k][1]):
            _, start, stop = slabs[k]
            if start < at or (start > at and not zeros):
                # Overlapping slabs; or a gap in an accumulator, which the
                # addition would rewrite whole for slabs that cover only part.
                return None
            if start > at:
                pieces.append(filler(start - at))
            y = chain[k].inputs[1]
            region = [*shape[:axis], stop - start, *shape[axis + 1 :]]
            # The increment broadcasts y over the slab wherever y has length 1,
            # even where y's type leaves that length open (a reshape's, say),
            # which a join cannot.  Where y's type shows every length, a length
            # 1 is broadcast by alloc; otherwise by IncrementBroadcast, which does
            # what the increment does.
            known = y.type.shape
            if None in known:
                y = IncrementBroadcast(axis, stop - start)(y, base)
            elif y.ndim < len(region) or any(
                n == 1 and not (isinstance(d, int) and d == 1)
                for n, d in zip(known[::-1], region[::-1])
            ):
                y = pt.alloc(y, *region)
            if y.dtype != out.dtype:
                y = pt.cast(y, out.dtype)
            pieces.append(y)
            at = stop
        if at < shape[axis]:
            if not zeros:
                return None
            pieces.append(filler(shape[axis] - at))
        joined = pt.join(axis, *pieces)
        if not zeros:
            joined = base + joined
        if not out.type.is_super(joined.type):  # the zeros knew more of the shape
            joined = pt.specify_shape(joined, out.type.shape)
        return [joined] if out.type.is_super(joined.type) else None

    return inc_subtensor_chain_to_join


def _rebuild(inputs, outputs, replace):
    """``outputs`` with ``replace`` applied, every node downstream rebuilt by make_node.

    A hand-rolled clone: newer PyTensor keeps scan inner graphs frozen
    (FrozenApply), which ``clone_replace`` cannot clone; make_node also
    recomputes static output shapes from the new input types.
    """
    from pytensor.graph.traversal import io_toposort
    from pytensor.scan.op import Scan

    memo = dict(replace)
    for node in io_toposort(list(inputs), list(outputs)):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        op = node.op
        if isinstance(op, Scan):
            # A nested loop takes its new, more static inputs only with inner
            # variables of the same broadcast pattern: specialise it too.
            op = _static_shape_scan(op, new_inputs) or op
        new_node = op.make_node(*new_inputs)
        for old, new in zip(node.outputs, new_node.outputs):
            memo[old] = new
    return [memo.get(o, o) for o in outputs]


def _static_shape_scan(op, outer_inputs):
    """``op`` with its inner inputs as static as ``outer_inputs`` make them, or None."""
    from pytensor.tensor.type import TensorType

    info = op.info
    n_sliced = info.n_seqs + sum(
        len(taps)
        for taps in (*info.mit_mot_in_slices, *info.mit_sot_in_slices, *info.sit_sot_in_slices)
    )
    n_states = n_sliced - info.n_seqs
    outer_of = op.get_oinp_iinp_iout_oout_mappings()["outer_inp_from_inner_inp"]
    if hasattr(op.fgraph, "unfreeze"):  # PyTensor >= 3.1 keeps inner graphs frozen
        thawed = op.fgraph.unfreeze()
        inner_inputs, inner_outputs = list(thawed.inputs), list(thawed.outputs)
    else:
        inner_inputs, inner_outputs = list(op.inner_inputs), list(op.inner_outputs)
    replace = {}
    new_inputs = []
    for idx, inner in enumerate(inner_inputs):
        outer = outer_inputs[outer_of[idx]]
        new_inputs.append(inner)
        if not isinstance(inner.type, TensorType) or not isinstance(outer.type, TensorType):
            continue
        shape = outer.type.shape[1:] if idx < n_sliced else outer.type.shape
        if len(shape) != inner.ndim:
            continue
        is_state = info.n_seqs <= idx < info.n_seqs + n_states
        merged = tuple(
            old if old is not None or new is None or (is_state and new == 1) else new
            for old, new in zip(inner.type.shape, shape)
        )
        if merged == inner.type.shape:
            continue
        new = inner.type.clone(shape=merged)(name=inner.name)
        replace[inner] = new
        new_inputs[-1] = new
    if not replace:
        return None
    from seqgraph._scan_draws import scan_like

    return scan_like(op, new_inputs, _rebuild(inner_inputs, inner_outputs, replace), info)


_STOPS_EARLY = (
    "A scan that stops early (its step returns until(...)) has no JAX code in PyTensor, "
    "and seqgraph's gives only its outputs' last values: compile this function with "
    "backend='c' or 'numba' (mode='C' or THEANO_FLAGS=device=cpu under seqgraph.theano), "
    "or give the loop a fixed number of steps."
)


def _read_last_only(clients) -> bool:
    """Whether ``clients`` (of a scan output) are all ``out[-1]``."""
    from pytensor.graph.basic import Constant
    from pytensor.tensor.subtensor import Subtensor

    if not clients:
        return False
    for client, _ in clients:
        if isinstance(client, str) or not isinstance(client.op, Subtensor):
            return False
        if len(client.op.idx_list) != 1 or isinstance(client.op.idx_list[0], slice):
            return False
        index = client.inputs[1] if len(client.inputs) == 2 else None
        if not isinstance(index, Constant) or int(index.data) != -1:
            return False
    return True


def _while_scan(op, node, scan_dispatch, **kwargs):
    """JAX code for a scan that stops early (its step returns ``until(...)``).

    PyTensor has none (3.0 and 3.3). The loop is a ``lax.while_loop`` over
    the step count, which stops after the step whose condition holds, as
    PyTensor's scan does. Its results are those whose shape does not depend
    on when it stopped: the final values of untraced states; the last values
    of a traced output where the buffer PyTensor gave it holds no more than
    its initial values and one step (``out[-2:]`` of a state with one tap);
    and the last value alone of one only ``out[-1]`` reads (PyTensor turns
    such states into untraced ones at the top level but not in a loop's
    step, where neupy's line search nests its loops). A whole trace, whose
    length is the number of steps taken, is refused where something reads
    it (a JAX program has static shapes); one nothing reads is left empty.
    """
    import jax
    import jax.numpy as jnp
    from jax import lax
    from pytensor.link.jax.dispatch.basic import jax_funcify

    info = op.info
    if info.n_mit_mot:
        raise NotImplementedError(_STOPS_EARLY)
    if hasattr(scan_dispatch, "get_mode"):  # PyTensor 3.0 rewrites the step here
        from pytensor.compile.mode import JAX

        mode = scan_dispatch.get_mode(op.mode)
        mode.including("jax").excluding("numba", *JAX._optimizer.exclude).optimizer(op.fgraph)
    # Which traced outputs (mit-sot, sit-sot, nit-sot) something reads, and
    # which only `out[-1]` reads (a loop in a loop's step keeps its states
    # whole: PyTensor makes them untraced at the top level only).
    n_traced = info.n_mit_sot + info.n_sit_sot + info.n_nit_sot
    if node is None:
        read = [True] * n_traced
        last_only = [False] * n_traced
    else:
        read = [bool(_clients.get(out, True)) for out in node.outputs[:n_traced]]
        last_only = [_read_last_only(_clients.get(out)) for out in node.outputs[:n_traced]]
    with funcifying(op.fgraph):
        step = jax_funcify(op.fgraph, **kwargs)
    mit_taps = [np.asarray(taps) for taps in info.mit_sot_in_slices]
    first = [-min(taps) for taps in info.mit_sot_in_slices] + [1] * info.n_sit_sot

    def refuse(kept, held):
        raise NotImplementedError(
            f"{_STOPS_EARLY} On JAX only the last values of such a loop's outputs "
            f"can be kept (out[-1]); one of its outputs keeps {kept} values where its "
            f"initial values and one step are {held}."
        )

    def loop(*outer):
        outer = list(outer)
        n_steps = outer[0]
        seqs = op.outer_seqs(outer)
        traced = op.outer_mitsot(outer) + op.outer_sitsot(outer)
        sizes = [buffer.shape[0] for buffer in traced]
        nit_sizes = []
        for size, used in zip(op.outer_nitsot(outer), read[len(traced) :], strict=True):
            try:
                nit_sizes.append(int(size))
            except (TypeError, jax.errors.ConcretizationTypeError):
                if used:
                    refuse("a number of", "1")
                nit_sizes.append(0)
        # What nobody reads is kept as zeros of no length; where only out[-1]
        # is read, the last value alone.
        sizes = [1 if last else size for size, last in zip(sizes, last_only, strict=False)]
        kept = [used and size <= held + 1 for size, held, used in zip(sizes, first, read)]
        for size, held, used in zip(sizes, first, read, strict=False):
            if used and size > held + 1:
                refuse(size, held + 1)
        nit_read = read[len(traced) :]
        nit_last = last_only[len(traced) :]
        for size, used, last in zip(nit_sizes, nit_read, nit_last, strict=True):
            if used and size > 1 and not last:
                refuse(size, 1)
        nit_sizes = [min(size, 1) if used else 0 for size, used in zip(nit_sizes, nit_read)]
        mit_states = [buffer[:held] for buffer, held in zip(op.outer_mitsot(outer), first)]
        sit_states = [buffer[0] for buffer in op.outer_sitsot(outer)]
        # The last `size` values of (initial values, outputs so far), with the
        # buffer's first row in front where it holds one step more than the
        # initial values (the first step shifts it out).
        windows = [
            buffer[:0]
            if not keep
            else buffer[:held][held - size :]
            if size <= held
            else jnp.concatenate([buffer[:1], buffer[:held]], axis=0)
            for buffer, size, held, keep in zip(traced, sizes, first, kept, strict=True)
        ]
        untraced = op.outer_untraced_sit_sot(outer)
        non_seqs = op.outer_non_seqs(outer)

        def args_of(i, mit_states, sit_states, untraced):
            here = [lax.dynamic_index_in_dim(seq, i, keepdims=False) for seq in seqs]
            taps = [state[taps] for state, taps in zip(mit_states, mit_taps, strict=True)]
            flat = [value for group in taps for value in group]
            return (*here, *flat, *sit_states, *untraced, *non_seqs)

        shapes = jax.eval_shape(
            lambda *a: op.inner_nitsot_outs(list(step(*a))),
            *args_of(0, mit_states, sit_states, untraced),
        )
        nit_windows = [
            jnp.zeros((size, *shape.shape), shape.dtype)
            for size, shape in zip(nit_sizes, shapes, strict=True)
        ]

        def keep_going(carry):
            i, stop = carry[:2]
            return jnp.logical_and(i < n_steps, jnp.logical_not(stop))

        def body(carry):
            i, _, mit_states, sit_states, untraced, windows, nit_windows = carry
            outs = list(step(*args_of(i, mit_states, sit_states, untraced)))
            stop = jnp.asarray(outs[-1]).astype(bool).reshape(())
            outs = outs[:-1]
            new_mit = op.inner_mitsot_outs(outs)
            new_sit = op.inner_sitsot_outs(outs)
            mit_states = [
                jnp.concatenate([state[1:], value[None]], axis=0)
                for state, value in zip(mit_states, new_mit, strict=True)
            ]
            windows = [
                jnp.concatenate([window[1:], value[None]], axis=0) if keep else window
                for window, value, keep in zip(windows, new_mit + new_sit, kept, strict=True)
            ]
            nit_windows = [
                jnp.concatenate([window[1:], value[None]], axis=0) if len(window) else window
                for window, value in zip(nit_windows, op.inner_nitsot_outs(outs), strict=True)
            ]
            new_untraced = op.inner_untraced_sit_sot_outs(outs)
            return i + 1, stop, mit_states, list(new_sit), list(new_untraced), windows, nit_windows

        carry = (
            jnp.asarray(0, dtype="int64" if jax.config.jax_enable_x64 else "int32"),
            jnp.asarray(False),
            mit_states,
            sit_states,
            list(untraced),
            windows,
            nit_windows,
        )
        *_, untraced, windows, nit_windows = lax.while_loop(keep_going, body, carry)
        results = [*windows, *nit_windows, *untraced]
        return results[0] if len(results) == 1 else results

    return loop


def _make_static_shape_rewriter():
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.scan.op import Scan

    @node_rewriter([Scan])
    def static_scan_shapes(fgraph, node):
        new_op = _static_shape_scan(node.op, node.inputs)
        if new_op is None:
            return None
        new_node = new_op.make_node(*node.inputs)
        return dict(zip(node.outputs, new_node.outputs))

    return static_scan_shapes
