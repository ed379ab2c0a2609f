"""Compiled training steps and a fit loop with checkpoints.

:func:`compile_train` turns a loss into a compiled step that updates the
parameters; :func:`compile_predict` compiles an evaluation graph; :func:`fit`
runs epochs over padded minibatches of variable-length sequences, with
validation, early stopping, learning-rate decay on a plateau, a progress bar,
one log line per epoch and an atomic checkpoint per epoch, from which a run
resumes exactly where it stopped.

Batches are built by :func:`pad_batch`: the first field of every example is a
sequence; the batch gives it padded, then its ``(batch, time)`` mask, then the
other fields (padded too when they are per-step sequences).  A train step for
:func:`fit` therefore takes its inputs in the order ``[x, mask, *others]``.
"""

from __future__ import annotations

import copy
import io
import json
import math
import numbers
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.traversal import graph_inputs

from seqgraph import updates as _updates
from seqgraph.backends import resolve
from seqgraph.function import function
from seqgraph.params import Module, ParameterError, atomic_write

__all__ = [
    "SplitFunction",
    "TrainStep",
    "TrainingDiverged",
    "compile_predict",
    "compile_train",
    "fit",
    "iterate_minibatches",
    "pad_batch",
    "precompile_batches",
]

_OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov_momentum",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamax",
)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the parameters were restored."""


def _is_random_generator(var) -> bool:
    return isinstance(var, SharedVariable) and isinstance(
        var.get_value(borrow=True), np.random.Generator
    )


class TrainStep:
    """A compiled training step; call it with one minibatch.

    Returns a list ``[loss, *metrics]`` of NumPy scalars.

    Attributes
    ----------
    params : list of SharedVariable
    learning_rate : SharedVariable
        Set its value to change the step size; nothing recompiles.
    state : list of SharedVariable
        The optimizer's state (moments, accumulators, step count).
    generators : list of SharedVariable
        Shared random generators the graph draws from (dropout masks); with
        ``batch_splits > 1``, also those of the other parts.
    function : seqgraph.Function or SplitFunction
        What a call runs (a :class:`SplitFunction` with ``batch_splits > 1``).
    """

    def __init__(self, fn, params, names, learning_rate, state, generators):
        self.function = fn
        self.params = params
        self.param_names = names
        self.learning_rate = learning_rate
        self.state = state
        self.generators = generators

    @property
    def backend(self) -> str:
        """The backend the step runs on."""
        return self.function.backend

    def __call__(self, *batch):
        out = self.function(*batch)
        return out if isinstance(out, list) else [out]

    def precompile(self, *batch) -> Future:
        """Compile for this batch's shapes, XLA's compile in the background.

        See :meth:`seqgraph.Function.precompile`: nothing runs, and the first
        step with these shapes waits for the compile.  Returns a Future done
        when it is.
        """
        return self.function.precompile(*batch)

    # -- what a checkpoint holds ----------------------------------------------
    def variables(self) -> OrderedDict[str, SharedVariable]:
        """Parameters and optimizer state under stable names."""
        out = OrderedDict((f"param/{n}", p) for n, p in zip(self.param_names, self.params))
        for i, var in enumerate(self.state):
            out[f"state/{i}/{var.name}"] = var
        return out

    def generator_states(self) -> list:
        return [g.get_value(borrow=True).bit_generator.state for g in self.generators]

    def set_generator_states(self, states) -> None:
        if len(states) != len(self.generators):
            raise ParameterError(
                f"the checkpoint holds {len(states)} random generators; this training "
                f"step draws from {len(self.generators)}."
            )
        for g, state in zip(self.generators, states):
            rng = np.random.default_rng()
            rng.bit_generator.state = state
            g.set_value(rng, borrow=True)


class SplitFunction:
    """A training step run as concurrent programs, one per part of the batch.

    Built by :func:`compile_train` with ``batch_splits > 1``.  Each call cuts
    the batch into parts of as equal sizes as can be (along each input's batch
    axis), computes every part's loss, metrics and gradients with the
    ``parts`` functions in as many threads, then calls the ``apply`` function,
    which takes their average weighted by each part's share of the examples,
    clips it, and updates the parameters with the optimizer.  The part
    functions share their compiled programs: the batch's parts compile once
    per shape.

    Attributes
    ----------
    parts : list of seqgraph.Function
        One per part: ``inputs -> [loss, *metrics, *gradients]``.
    apply : dict of int to seqgraph.Function
        By the number of parts a batch had: ``(weights, *part results) ->
        [loss, *metrics]`` with the updates.  Compiled on first use (a batch
        with fewer examples than ``batch_splits`` has fewer parts).
    """

    def __init__(self, parts, build_apply, axes, weight_dtype):
        self.parts = parts
        self.apply = {}
        self._build_apply = build_apply
        self._axes = axes
        self._weight_dtype = np.dtype(weight_dtype)
        self._pool = None
        self._signatures = set()

    backend = "jax"

    @property
    def compile_time(self) -> float:
        fns = self.parts + list(self.apply.values())
        return sum(f.compile_time for f in fns)

    def _cut(self, batch):
        for i, (arg, axis) in enumerate(zip(batch, self._axes)):
            if axis is not None and not -np.ndim(arg) <= axis < np.ndim(arg):
                raise ValueError(
                    f"input {i} has shape {np.shape(arg)}, without the batch axis {axis} "
                    "that batch_axis gives it."
                )
        lengths = {
            i: np.shape(arg)[axis]
            for i, (arg, axis) in enumerate(zip(batch, self._axes))
            if axis is not None
        }
        if len(set(lengths.values())) != 1:
            shown = ", ".join(f"input {i}: {n}" for i, n in lengths.items())
            raise ValueError(
                "the inputs split by batch_axis must have the same number of examples "
                f"along it; got {shown}."
            )
        n = next(iter(lengths.values()))
        if n == 0:
            raise ValueError("the batch has no examples to split.")
        k = min(len(self.parts), n)
        bounds = [i * n // k for i in range(k + 1)]  # sizes differ by one at most
        parts = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            args = []
            for arg, axis in zip(batch, self._axes):
                if axis is None:
                    args.append(arg)
                else:
                    index = (slice(None),) * (axis % np.ndim(arg)) + (slice(start, stop),)
                    args.append(arg[index])
            parts.append(args)
        weights = np.diff(bounds).astype(self._weight_dtype) / self._weight_dtype.type(n)
        return parts, weights

    def __call__(self, *batch):
        import jax

        if len(batch) != len(self._axes):
            raise TypeError(f"this step takes {len(self._axes)} input(s); got {len(batch)}.")
        batch = [
            arg if axis is None or hasattr(arg, "shape") else np.asarray(arg)
            for arg, axis in zip(batch, self._axes)
        ]
        parts, weights = self._cut(batch)
        k = len(parts)
        apply = self.apply.get(k)
        if apply is None:
            apply = self.apply[k] = self._build_apply(k)
        # A shape the parts have not run with yet compiles: the first part alone
        # compiles it, and the others then find the program.
        shared = self.parts[0]._storages
        signature = (
            tuple(tuple(np.shape(a) for a in args) for args in parts),
            tuple(np.shape(s[0]) for s in shared),
        )
        if signature not in self._signatures:
            # Each new program is built while XLA compiles the one before it.
            self.precompile(*batch)
            results = [jax.block_until_ready(p(*a)) for p, a in zip(self.parts, parts)]
            self._signatures.add(signature)
            return apply(weights, *(r for result in results for r in result))
        # The Python work of every part is done here, on one thread: the
        # workers only run the programs (Python's lock is free while XLA runs),
        # so that the threads do not queue for it.
        calls = [part._prepare_jax(args) for part, args in zip(self.parts, parts)]
        if any(values is None for _, values, _ in calls):  # not a pure JAX program
            results = [p(*a) for p, a in zip(self.parts, parts)]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=len(self.parts) - 1, thread_name_prefix="seqgraph-part"
                )
            futures = [self._pool.submit(_execute, *call) for call in calls[1:]]
            raw = [_execute(*calls[0])] + [f.result() for f in futures]
            results = [
                part._finish_jax(fn, out) for part, (fn, _, _), out in zip(self.parts, calls, raw)
            ]
        return apply(weights, *(r for result in results for r in result))

    def precompile(self, *batch) -> Future:
        """Compile the parts' and the update's programs for this batch's shapes.

        As :meth:`seqgraph.Function.precompile`: each program's XLA compile
        runs in the background while the next one is built, and nothing runs.
        Returns a Future done when every compile is.
        """
        import jax

        from seqgraph._jaxfn import JaxProgram

        if len(batch) != len(self._axes):
            raise TypeError(f"this step takes {len(self._axes)} input(s); got {len(batch)}.")
        parts, weights = self._cut(batch)
        futures = [part.precompile(*args) for part, args in zip(self.parts, parts)]
        programs = [part._program(args) for part, args in zip(self.parts, parts)]
        if all(type(p) is JaxProgram for p in programs):
            # The update's inputs: the weights, then each part's results.
            k = len(parts)
            apply = self.apply.get(k)
            if apply is None:
                apply = self.apply[k] = self._build_apply(k)
            # (device arrays, as the parts return them)
            example = [weights] + [
                jax.device_put(np.zeros(shape, dtype), part._device)
                for part, program in zip(self.parts, programs)
                for shape, dtype in program.output_types()
            ]
            futures.append(apply.precompile(*example))
        return _all_done(futures)

    def close(self) -> None:
        """Stop the worker threads (they also stop when the process exits)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _all_done(futures) -> Future:
    """A Future done when all of ``futures`` are, with the first one's error."""
    done = Future()
    left = [len(futures)]
    lock = threading.Lock()

    def one_done(_):
        with lock:
            left[0] -= 1
            if left[0]:
                return
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            done.set_exception(errors[0])
        else:
            done.set_result(None)

    if not futures:
        done.set_result(None)
    for f in futures:
        f.add_done_callback(one_done)
    return done


def _execute(program, values, shared_values):
    """Run one part's program and wait for it (in a worker thread)."""
    import jax

    return jax.block_until_ready(program(values, shared_values))


def compile_train(
    inputs,
    loss,
    params,
    optimizer="sgd",
    learning_rate=0.01,
    metrics=None,
    clip_norm=None,
    clip_value=None,
    constrain=None,
    backend=None,
    device=None,
    batch_splits=1,
    batch_axis=0,
    **optimizer_kwargs,
) -> TrainStep:
    """Compile a step that computes ``loss`` (and ``metrics``) and updates ``params``.

    Parameters
    ----------
    inputs : list of Variable
        The symbolic inputs, in call order.
    loss : scalar Variable
    params : Module or list of SharedVariable
        What to train (a layer or model gives its trainable ``params``).
    optimizer : str or callable
        A name from :mod:`seqgraph.updates` (``"sgd"``, ``"adam"`` ...) or a
        function ``opt(grads, params, learning_rate=..., **kwargs)``.
    learning_rate : float
        Initial value of the learning-rate shared variable.
    metrics : list of Variable, optional
        Extra scalars returned after the loss.
    clip_norm : float, optional
        Rescale the gradients to this total norm at most.
    clip_value : float, optional
        Clip every gradient entry to ``[-clip_value, clip_value]``.
    constrain : callable, optional
        ``constrain(updates) -> updates`` applied last (e.g. ``model.constrain``
        of :class:`~seqgraph.models.RNNSLU`, which renormalises embeddings).
    backend, device : str, optional
        See :func:`seqgraph.function`.
    batch_splits : int
        JAX only.  With ``k > 1``, each call cuts the batch into ``k`` parts
        and computes their gradients as ``k`` programs run at once, one per
        thread, then updates the parameters with their average (a
        :class:`SplitFunction`): data parallelism over the CPU's cores.  XLA
        runs a loop's per-step products on one core, so small recurrent
        layers gain (with ``k = 2`` on two cores, the benchmark suite's small
        LSTM and GRU training steps take about 0.8x the time, called back to
        back; less after other work in the process); layers whose
        products are large enough for XLA to spread over the cores gain
        nothing.  The average weights each part by its share of the examples,
        which is the whole batch's gradient when ``loss`` is a mean over the
        examples (``metrics`` are averaged in the same way).  A loss normalised
        by anything else (the count of unmasked tokens, say) gets the average
        of the parts' gradients instead, as data-parallel training in other
        libraries does.  Each part draws its own random numbers (dropout).
        On a GPU the parts share the one device; that was not measured.
    batch_axis : int or sequence of (int or None)
        With ``batch_splits > 1``: the axis along which each input holds its
        examples (``0`` for ``(batch, time, ...)`` inputs, ``1`` for
        time-major ones); one int for every input, or one entry per input,
        ``None`` for an input every part gets whole.
    **optimizer_kwargs
        Passed to the optimizer (``momentum=0.9``, ``beta1=...``).

    Raises
    ------
    ValueError
        For an unknown optimizer, a learning rate that is not positive, or a
        ``batch_splits`` or ``batch_axis`` that does not fit the inputs or the
        backend.
    """
    names = None
    if isinstance(params, Module):
        named = params.named_params(trainable_only=True)
        names, params = list(named), list(named.values())
    params = list(params)
    if names is None:
        names = [f"{i}.{p.name or 'param'}" for i, p in enumerate(params)]
    if isinstance(optimizer, str):
        if optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {_OPTIMIZERS} or a callable; got {optimizer!r}."
            )
        optimizer = getattr(_updates, optimizer)
    if not isinstance(learning_rate, numbers.Real) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate!r}.")
    inputs = list(inputs)
    axes = _batch_axes(batch_splits, batch_axis, inputs, backend, device)
    params, grads = _updates.get_or_compute_grads(loss, params)
    dtype = params[0].dtype
    lr = pytensor.shared(np.asarray(learning_rate, dtype=dtype), name="learning_rate")
    metrics = list(metrics or [])

    def updates_for(grads):
        if clip_norm is not None:
            grads = _updates.total_norm_constraint(grads, clip_norm)
        if clip_value is not None:
            grads = _updates.clip_by_value(grads, clip_value)
        pairs = list(optimizer(grads, params, learning_rate=lr, **optimizer_kwargs).items())
        return list(constrain(pairs)) if constrain is not None else pairs

    if batch_splits == 1:
        pairs = updates_for(grads)
        outputs = [loss, *metrics]
        fn = function(inputs, outputs, updates=pairs, backend=backend, device=device)
        roots = outputs + [new for _, new in pairs]
        generators = [v for v in dict.fromkeys(graph_inputs(roots)) if _is_random_generator(v)]
    else:
        fn, pairs, generators = _split_step(
            inputs, [loss, *metrics], grads, updates_for, batch_splits, axes, backend, device
        )
    param_set = set(params)
    state = [var for var, _ in pairs if var not in param_set]
    return TrainStep(fn, params, names, lr, state, generators)


def _batch_axes(batch_splits, batch_axis, inputs, backend, device):
    """Check ``batch_splits`` and ``batch_axis``; one axis (or None) per input."""
    if isinstance(batch_splits, bool) or not isinstance(batch_splits, numbers.Integral):
        raise ValueError(f"batch_splits must be an integer >= 1; got {batch_splits!r}.")
    if batch_splits < 1:
        raise ValueError(f"batch_splits must be an integer >= 1; got {batch_splits!r}.")
    if batch_splits == 1:
        return None
    target = resolve(backend, device)
    if target.backend != "jax":
        raise ValueError(
            "batch_splits > 1 runs the batch's parts as concurrent JAX programs and needs "
            f"backend='jax'; got backend={target.backend!r}."
        )
    if isinstance(batch_axis, Sequence) and not isinstance(batch_axis, str):
        axes = list(batch_axis)
        if len(axes) != len(inputs):
            raise ValueError(
                f"batch_axis must give one axis (or None) per input: {len(inputs)}; "
                f"got {len(axes)}."
            )
    else:
        axes = [batch_axis] * len(inputs)
    for i, (var, axis) in enumerate(zip(inputs, axes)):
        if axis is None:
            continue
        ndim = getattr(var, "ndim", None)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"batch_axis[{i}] must be an int or None; got {axis!r}.")
        if ndim is None or not -ndim <= axis < ndim:
            raise ValueError(
                f"batch_axis[{i}] is {axis}, but input {i} ({var}) has "
                f"{ndim or 0} dimension(s); give None for an input not split."
            )
    if all(axis is None for axis in axes):
        raise ValueError("batch_axis leaves every input whole; batch_splits needs one to split.")
    return axes


def _split_step(inputs, outputs, grads, updates_for, k, axes, backend, device):
    """The :class:`SplitFunction` of a training step; its updates and generators."""
    from pytensor.graph.replace import graph_replace

    roots = outputs + list(grads)
    generators = [v for v in dict.fromkeys(graph_inputs(roots)) if _is_random_generator(v)]
    parts, all_generators = [], list(generators)
    for i in range(k):
        # Part 0 draws from the graph's generators, each other part from
        # generators of its own spawned from them (else every part would draw
        # the same dropout masks).
        own = {}
        if i:
            for g in generators:
                spawned = g.get_value(borrow=True).spawn(1)[0]
                own[g] = pytensor.shared(spawned, name=g.name)
        part_roots = graph_replace(roots, own, strict=False) if own else roots
        part = function(inputs, part_roots, backend=backend, device=device, host_outputs=False)
        if part.device == "cpu":
            # The parts keep every core busy between them: each part's larger
            # products (the weight gradients') on one thread, not split over
            # the cores the other parts are using (2-20% faster in the
            # comparisons of benchmarks/results/HISTORY.md, twentieth session).
            part.compiler_options = {"xla_cpu_multi_thread_eigen": False}
        expected = [own.get(v, v) for v in parts[0]._shared] if i else []
        if (
            i
            and len(expected) == len(part._shared)
            and all(a is b for a, b in zip(expected, part._shared))
        ):
            # The same graph with other generators: one program serves every part.
            part._cache = parts[0]._cache
        parts.append(part)
        all_generators += list(own.values())

    # The optimizer is built once, on stand-ins for the averaged gradients (its
    # state is shared by every apply function), and each apply function puts
    # its average of the parts' gradients in their place.
    n_out = len(outputs)
    stand_ins = [g.type(name=f"mean_{g.name or 'grad'}") for g in grads]
    pairs = updates_for(stand_ins)
    floats = [v.dtype for v in outputs if v.dtype.startswith("float")]
    weight_dtype = np.result_type(*floats) if floats else np.dtype(pytensor.config.floatX)
    weights = pt.vector("part_weights", dtype=weight_dtype)

    def build_apply(n_parts):
        results = [
            [v.type(name=f"part{i}_{v.name or j}") for j, v in enumerate(roots)]
            for i in range(n_parts)
        ]

        def average(j):
            dtype = roots[j].dtype
            share = [
                pt.cast(weights[i], dtype) if dtype.startswith("float") else weights[i]
                for i in range(n_parts)
            ]
            return sum(share[i] * results[i][j] for i in range(n_parts))

        means = dict(zip(stand_ins, (average(j) for j in range(n_out, len(roots)))))
        new_values = graph_replace([new for _, new in pairs], means, strict=False)
        return function(
            [weights] + [v for result in results for v in result],
            [average(j) for j in range(n_out)],
            updates=[(var, new) for (var, _), new in zip(pairs, new_values)],
            backend=backend,
            device=device,
            on_unused_input="ignore",
        )

    fn = SplitFunction(parts, build_apply, axes, weight_dtype)
    fn.apply[k] = build_apply(k)
    return fn, pairs, all_generators


def compile_predict(inputs, outputs, backend=None, device=None):
    """Compile an evaluation graph (build it with ``deterministic=True``)."""
    return function(inputs, outputs, backend=backend, device=device)


# -- minibatches -----------------------------------------------------------------


def pad_batch(examples, dtype=None, pad_value=0, sequence_fields=None, length_multiple=1):
    """Pad a list of examples into arrays: ``[x, mask, *other_fields]``.

    Parameters
    ----------
    examples : list of tuple
        Each example is a tuple whose first field is a sequence (array-like
        with time first); the other fields are per-step sequences of the same
        length (padded too) or anything else (stacked).
    dtype : str, optional
        dtype of floating fields and of the mask (default ``floatX``).
    pad_value : number
        Value written at padded steps.
    sequence_fields : set of int, optional
        Field indices to pad; default: the first field and every field whose
        length equals the first field's in every example.
    length_multiple : int
        Pad the time axis to a multiple of this, which bounds the number of
        distinct batch shapes (each costs a compile on the JAX backend).
    """
    if not examples:
        raise ValueError("examples is empty.")
    dtype = dtype or pytensor.config.floatX
    examples = [ex if isinstance(ex, (tuple, list)) else (ex,) for ex in examples]
    n_fields = len(examples[0])
    lengths = np.array([len(ex[0]) for ex in examples])
    if lengths.min() < 1:
        raise ValueError("every sequence must have at least one step.")
    if sequence_fields is None:
        sequence_fields = {0} | {
            f
            for f in range(1, n_fields)
            if all(np.ndim(ex[f]) >= 1 and len(ex[f]) == len(ex[0]) for ex in examples)
        }
    steps = int(lengths.max())
    steps = -(-steps // length_multiple) * length_multiple
    out = []
    for f in range(n_fields):
        values = [np.asarray(ex[f]) for ex in examples]
        kind = values[0].dtype.kind
        fdtype = dtype if kind == "f" else values[0].dtype
        if f in sequence_fields:
            tail = values[0].shape[1:]
            arr = np.full((len(values), steps, *tail), pad_value, dtype=fdtype)
            for i, v in enumerate(values):
                arr[i, : len(v)] = v
        else:
            arr = np.stack(values).astype(fdtype)
        out.append(arr)
    mask = (np.arange(steps)[None, :] < lengths[:, None]).astype(dtype)
    return [out[0], mask, *out[1:]]


def iterate_minibatches(examples, batch_size, rng=None, shuffle=True, **pad_kwargs):
    """Yield padded minibatches (see :func:`pad_batch`) in an order drawn from ``rng``."""
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    order = np.arange(len(examples))
    if shuffle:
        order = rng.permutation(len(examples))
    for start in range(0, len(order), batch_size):
        yield pad_batch([examples[i] for i in order[start : start + batch_size]], **pad_kwargs)


# -- the fit loop ------------------------------------------------------------------


def precompile_batches(fn, batches, progress=False) -> list[Future]:
    """Precompile ``fn`` for the shape of each of ``batches`` it has no program for.

    JAX compiles a program per input shape.  This goes through ``batches``
    (any iterable: only the batches of a shape not met before are kept) and
    calls ``fn.precompile(*batch)`` for each new shape, which builds the
    program on this thread while XLA compiles the one before it in the
    background (:meth:`seqgraph.Function.precompile`).  For the C and Numba
    backends, and for a ``fn`` without ``precompile``, it does nothing.

    Parameters
    ----------
    fn : seqgraph.Function, TrainStep, or anything with ``precompile(*batch)``
    batches : iterable of sequence
        Each a list of input values, as for ``fn(*batch)``.
    progress : bool
        Count the shapes on a tqdm bar.

    Returns
    -------
    list of concurrent.futures.Future
        One per new shape, done when its compile is.  A batch whose precompile
        raises is skipped: only a head start is lost, and the call with it
        raises the error where it belongs.
    """
    from tqdm.auto import tqdm

    precompile = getattr(fn, "precompile", None)
    if precompile is None or getattr(fn, "backend", "jax") != "jax":
        return []
    futures, seen = [], set()
    with tqdm(desc="compiling ahead", unit=" shapes", disable=not progress, leave=False) as bar:
        for batch in batches:
            key = tuple(np.shape(a) for a in batch)
            if key in seen:
                continue
            seen.add(key)
            try:
                futures.append(precompile(*batch))
            except Exception:  # noqa: BLE001 (see Returns)
                continue
            bar.update()
    return futures


@dataclass
class _Progress:
    """Everything a checkpoint restores besides the shared variables."""

    epoch: int = 0
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    lr_bad_epochs: int = 0
    history: list = field(default_factory=list)


def _save_checkpoint(path, step, progress, data_rng, best_values):
    arrays = OrderedDict()
    for name, var in step.variables().items():
        arrays[name] = np.asarray(var.get_value())
    for name, value in best_values.items():
        arrays[f"best/{name}"] = value
    meta = {
        "format": "seqgraph-checkpoint-1",
        "learning_rate": float(np.asarray(step.learning_rate.get_value())),
        "progress": progress.__dict__,
        "data_rng": data_rng.bit_generator.state,
        "generators": step.generator_states(),
    }
    arrays["meta"] = np.array(json.dumps(meta))

    def write(handle):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        handle.write(buffer.getvalue())

    atomic_write(path, write)


def _load_checkpoint(path, step, data_rng):
    with np.load(path, allow_pickle=False) as data:
        files = {name: data[name] for name in data.files}
    if "meta" not in files:
        raise ParameterError(f"{path} is not a seqgraph checkpoint (no 'meta' entry).")
    meta = json.loads(str(files.pop("meta")))
    own = step.variables()
    saved = [n for n in files if not n.startswith("best/")]
    if sorted(saved) != sorted(own):
        missing = sorted(set(own) - set(saved))
        extra = sorted(set(saved) - set(own))
        raise ParameterError(
            f"{path} was written for another model or optimizer: missing {missing}, "
            f"unexpected {extra}."
        )
    for name, var in own.items():
        expected = np.shape(var.get_value(borrow=True))
        if files[name].shape != expected:
            raise ParameterError(
                f"{path}: {name!r} has shape {files[name].shape}; this model has {expected}."
            )
    step.set_generator_states(meta["generators"])
    for name, var in own.items():
        var.set_value(files[name].astype(var.dtype))
    step.learning_rate.set_value(np.asarray(meta["learning_rate"], dtype=step.learning_rate.dtype))
    data_rng.bit_generator.state = meta["data_rng"]
    best = {n[len("best/") :]: v for n, v in files.items() if n.startswith("best/")}
    return _Progress(**meta["progress"]), best


def _mean(values, weights):
    return float(np.average(np.asarray(values, dtype="float64"), weights=weights))


def fit(
    step,
    train_data,
    epochs,
    batch_size=16,
    valid_data=None,
    valid_fn=None,
    patience=None,
    lr_decay=0.5,
    lr_patience=None,
    min_learning_rate=0.0,
    restore_best=True,
    checkpoint=None,
    resume=False,
    seed=0,
    progress=True,
    log=print,
    pad_kwargs=None,
    compile_ahead=True,
):
    """Train ``step`` for ``epochs`` epochs over ``train_data``.

    Parameters
    ----------
    step : TrainStep
        From :func:`compile_train`, with inputs ``[x, mask, *others]``.
    train_data, valid_data : list of tuple
        Examples (see :func:`pad_batch`).
    epochs : int
        Epochs in total (a resumed run counts those already done).
    batch_size : int
    valid_fn : callable, optional
        ``valid_fn(*batch)`` returning the validation loss, or a list whose
        first entry is it (e.g. from :func:`compile_predict`).  Lower is better.
    patience : int, optional
        Stop after this many epochs without a better validation loss.
    lr_decay : float
        Factor applied to the learning rate after ``lr_patience`` epochs
        without improvement (the tutorials halve it).
    lr_patience : int, optional
        Enables the decay; None disables it.
    min_learning_rate : float
        Never decay below this; stop instead when reached with no improvement.
    restore_best : bool
        At the end, set the parameters to those of the best validation epoch.
    checkpoint : path, optional
        Written atomically after every epoch: parameters, optimizer state,
        learning rate, best parameters, counters, history, and the random
        states of the data order and of dropout.
    resume : bool
        Continue from ``checkpoint`` if it exists (exactly the trajectory of
        an uninterrupted run on the C and Numba backends; on JAX dropout
        masks come from JAX's own copy of the generators and differ).
    seed : int
        Seed of the data order.
    progress : bool
        Show a progress bar per epoch (tqdm).
    log : callable or None
        Receives one line per epoch.
    pad_kwargs : dict, optional
        Passed to :func:`pad_batch`.
    compile_ahead : bool
        JAX compiles one program per batch shape.  With this on, the first
        epoch starts by building the programs for every batch shape it and
        the validation will meet (:meth:`seqgraph.Function.precompile`, for a
        ``valid_fn`` that has the method), each XLA compile running in the
        background while the next program is built.  Shapes met only in
        later epochs compile on their first call.  No effect on C and Numba.

    Returns
    -------
    list of dict
        One entry per epoch: epoch, train_loss, valid_loss, learning_rate, seconds.

    Raises
    ------
    TypeError, ValueError
        For bad arguments (``train_data`` that is not a non-empty list of
        examples, a ``batch_size`` below 1 ...), before anything runs.
    TrainingDiverged
        The loss became NaN or infinite; the parameters (and optimizer state)
        are restored to the end of the last good epoch, whose checkpoint is
        left as it was.
    """
    from tqdm.auto import tqdm

    if not isinstance(step, TrainStep):
        raise TypeError("step must be a TrainStep from seqgraph.training.compile_train.")
    if not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}.")
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    for name, data in (("train_data", train_data), ("valid_data", valid_data)):
        if name == "valid_data" and data is None:
            continue
        indexable = (
            hasattr(data, "__len__")
            and hasattr(data, "__getitem__")
            and not isinstance(data, (str, bytes, Mapping))
        )
        if not indexable or not len(data):
            raise TypeError(
                f"{name} must be a non-empty list (or array) of examples, each a tuple of "
                f"arrays (see pad_batch); got {type(data).__name__}"
                + (" of length 0." if indexable else ".")
            )
    if (valid_data is None) != (valid_fn is None):
        raise ValueError("valid_data and valid_fn go together; pass both or neither.")
    if (patience is not None or lr_patience is not None) and valid_data is None:
        raise ValueError("patience and lr_patience need valid_data and valid_fn.")
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1]; got {lr_decay!r}.")
    pad_kwargs = dict(pad_kwargs or {})
    log = log or (lambda line: None)
    data_rng = np.random.default_rng(seed)
    state = _Progress()
    best_values = {}
    if resume and checkpoint is not None:
        if os.path.exists(checkpoint):
            state, best_values = _load_checkpoint(checkpoint, step, data_rng)
            log(f"resumed from {checkpoint} after epoch {state.epoch}")
    variables = step.variables()
    first_epoch = state.epoch + 1

    while state.epoch < epochs:
        epoch = state.epoch + 1
        snapshot = {n: np.array(v.get_value(), copy=True) for n, v in variables.items()}
        start = time.perf_counter()
        if compile_ahead and epoch == first_epoch:
            # The epoch's batches in the order the loop will meet them (a copy
            # of the order's generator), then the validation batches; drawn
            # only on JAX (precompile_batches reads none for C and Numba).
            order = copy.deepcopy(data_rng)
            train_batches = iterate_minibatches(train_data, batch_size, order, **pad_kwargs)
            precompile_batches(step, train_batches, progress)
            if valid_fn is not None:
                valid_batches = iterate_minibatches(
                    valid_data, batch_size, shuffle=False, **pad_kwargs
                )
                precompile_batches(valid_fn, valid_batches, progress)
        losses, sizes = [], []
        n_batches = math.ceil(len(train_data) / batch_size)
        bar = tqdm(
            iterate_minibatches(train_data, batch_size, data_rng, **pad_kwargs),
            total=n_batches,
            desc=f"epoch {epoch}/{epochs}",
            disable=not progress,
            leave=False,
        )
        for i, batch in enumerate(bar):
            loss = float(np.asarray(step(*batch)[0]))
            if not math.isfinite(loss):
                bar.close()
                for n, v in variables.items():
                    v.set_value(snapshot[n])
                kept = (
                    f"the checkpoint {checkpoint} (epoch {state.epoch}) is kept"
                    if checkpoint is not None and state.epoch
                    else "no checkpoint was written"
                )
                raise TrainingDiverged(
                    f"the training loss became {loss} at epoch {epoch}, batch {i + 1}; "
                    f"the parameters are restored to the end of epoch {state.epoch} and "
                    f"{kept}. Lower the learning rate or clip the gradients (clip_norm)."
                )
            losses.append(loss)
            sizes.append(len(batch[0]))
            bar.set_postfix(loss=f"{np.average(losses, weights=sizes):.4f}")
        bar.close()
        record = {
            "epoch": epoch,
            "train_loss": _mean(losses, sizes),
            "learning_rate": float(np.asarray(step.learning_rate.get_value())),
        }
        improved = False
        if valid_fn is not None:
            v_losses, v_sizes = [], []
            for batch in iterate_minibatches(valid_data, batch_size, shuffle=False, **pad_kwargs):
                out = valid_fn(*batch)
                v_losses.append(float(np.asarray(out[0] if isinstance(out, list) else out)))
                v_sizes.append(len(batch[0]))
            record["valid_loss"] = _mean(v_losses, v_sizes)
            if record["valid_loss"] < state.best:
                improved = True
                state.best, state.best_epoch = record["valid_loss"], epoch
                state.bad_epochs = state.lr_bad_epochs = 0
                best_values = {
                    n: np.array(v.get_value(), copy=True)
                    for n, v in variables.items()
                    if n.startswith("param/")
                }
            else:
                state.bad_epochs += 1
                state.lr_bad_epochs += 1
        record["seconds"] = time.perf_counter() - start
        state.history.append(record)
        state.epoch = epoch
        line = f"epoch {epoch}/{epochs}  train loss {record['train_loss']:.4f}"
        if "valid_loss" in record:
            line += f"  valid loss {record['valid_loss']:.4f}" + ("  (best)" if improved else "")
        line += f"  lr {record['learning_rate']:.3g}  {record['seconds']:.1f} s"
        stop = None
        if lr_patience is not None and state.lr_bad_epochs >= lr_patience:
            lr = float(np.asarray(step.learning_rate.get_value()))
            new_lr = max(lr * lr_decay, min_learning_rate)
            if new_lr < lr:
                step.learning_rate.set_value(np.asarray(new_lr, dtype=step.learning_rate.dtype))
                line += f"  -> lr {new_lr:.3g}"
            elif patience is None:
                stop = f"learning rate at its minimum {min_learning_rate} without improvement"
            state.lr_bad_epochs = 0
        if patience is not None and state.bad_epochs >= patience:
            stop = f"no better validation loss for {patience} epochs"
        log(line)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, step, state, data_rng, best_values)
        if stop:
            log(f"early stop after epoch {epoch}: {stop}; best epoch {state.best_epoch}")
            break
    if restore_best and best_values:
        for name, value in best_values.items():
            variables[name].set_value(value)
    return state.history
