"""``function()``: compile a graph for a backend and a device.

The C and Numba backends compile the graph once, as PyTensor does.

The JAX backend needs more care.  ``jax.jit`` traces a function with abstract
arrays whose *shapes* are static but whose *values* are not, while a PyTensor
graph computes shapes as ordinary values: ``zeros((x.shape[1], n))`` or
``n_steps=x.shape[0]`` become traced integers that JAX cannot use as a shape,
and PyTensor's JAX backend fails on exactly the scan graphs people write.  We
therefore specialise: at call time, each input is replaced by a variable whose
type carries the concrete shape of the argument (shared variables become
arguments with the shape of their current value), PyTensor's rewrites fold
every shape computation into a constant, and the result is compiled with JAX
as one pure program (:mod:`seqgraph._jaxfn`: updated parameters donated, the
program kept on disk for later processes).  One compiled function is kept per
shape signature, so a training loop over same-shaped minibatches compiles once
(bucket sequence lengths to bound the number of signatures).

Shared variables used by a JAX function are moved to the JAX device once and
stay there: their storage holds ``jax.Array`` values afterwards (updates are
written back as device arrays), so no parameter crosses the host boundary per
call.  ``get_value()`` then returns a ``jax.Array``; ``numpy.asarray`` turns
it into a NumPy array.  The C and Numba functions convert such values back to
NumPy when they are called.  Inputs may be JAX arrays too: one already on the
function's device is used where it lies, so data placed on the GPU once is not
copied through the host at each call.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors, graph_inputs

from seqgraph.backends import Target, get_mode, jax_device, resolve, with_rewrite_flags

__all__ = ["Function", "function"]


def _normalise_updates(updates) -> list[tuple[SharedVariable, Variable]]:
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        pairs = list(updates.items())
    elif isinstance(updates, Iterable):
        pairs = list(updates)
    else:
        raise TypeError(
            f"updates must be a dict or a list of (shared, new_value) pairs; got {type(updates).__name__}."
        )
    checked = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"updates[{i}] must be a (shared, new_value) pair; got {pair!r}.")
        var, new = pair
        if not isinstance(var, SharedVariable):
            raise TypeError(
                f"updates[{i}] updates {var!r}, which is not a shared variable; only "
                "shared variables (pytensor.shared) can be updated."
            )
        checked.append((var, new))
    return checked


def _normalise_inputs(inputs) -> list[Variable]:
    if isinstance(inputs, Variable):
        raise TypeError("inputs must be a list of variables; wrap a single input as [x].")
    inputs = list(inputs)
    for i, var in enumerate(inputs):
        if not isinstance(var, Variable):
            raise TypeError(f"inputs[{i}] must be a symbolic variable; got {type(var).__name__}.")
        if isinstance(var, (SharedVariable, Constant)):
            raise TypeError(
                f"inputs[{i}] ({var}) is a {type(var).__name__}; inputs are the free "
                "variables you pass values for. Shared variables are used implicitly."
            )
    return inputs


def _normalise_givens(givens) -> list[tuple[Variable, Variable]]:
    """``givens`` as ``(variable, replacement)`` pairs, each replacement a variable.

    A replacement given as a value (``(is_training, numpy.int8(1))``) becomes
    a shared variable holding it, as Theano and PyTensor make it.

    Raises
    ------
    TypeError
        If a pair's first item is not a symbolic variable.
    """
    pairs = []
    for item in givens:
        try:
            old, new = item
        except (TypeError, ValueError):
            raise TypeError(
                f"givens must be a dict or a list of (variable, replacement) pairs; got {item!r}."
            ) from None
        if not isinstance(old, Variable):
            raise TypeError(f"givens: {old!r} is not a symbolic variable to replace.")
        if not isinstance(new, Variable):
            new = pytensor.shared(new)
        pairs.append((old, new))
    return pairs


def _check_ops_have_code_for(backend, outputs, updates, givens) -> None:
    """Raise, before anything is compiled, for an op with C code only off the C backend.

    An op written with ``c_code`` and no ``perform`` (Theano's C ops, see
    :mod:`seqgraph.theano._op`) runs on the C backend only: Numba and JAX
    have no way to run it.
    """
    if backend == "c":
        return
    outs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    roots = [getattr(o, "variable", o) for o in outs if o is not None]
    roots += [new for _, new in updates] + [new for _, new in (givens or [])]
    roots = [r for r in roots if isinstance(r, Variable)]
    for var in ancestors(roots):
        op = var.owner.op if var.owner is not None else None
        if op is not None and getattr(type(op).perform, "_seqgraph_c_only", False):
            raise NotImplementedError(
                f"{type(op).__name__} has C code only (c_code, no perform), which the "
                f"{backend} backend cannot run: compile this function with backend='c' "
                "(mode='C' or THEANO_FLAGS=device=cpu under seqgraph.theano), or give "
                "the op a perform."
            )


def _check_no_missing_inputs(inputs, outputs, updates, givens) -> None:
    """Raise, before anything is compiled, when the graph needs a value nobody gives.

    A free variable (neither constant nor shared) that the outputs or updates
    depend on must be one of ``inputs`` or be replaced through ``givens``.
    PyTensor's C and Numba backends find this when they compile; the JAX
    backend, which builds its program on the first call, would find it there.
    """
    from pytensor.graph.utils import MissingInputError

    outs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    roots = [getattr(o, "variable", o) for o in outs if o is not None]
    roots += [new for _, new in updates] + [new for _, new in (givens or [])]
    roots = [r for r in roots if isinstance(r, Variable)]
    replaced = [old for old, _ in (givens or []) if isinstance(old, Variable)]
    given = set(inputs) | set(replaced)
    # An input may be an intermediate variable (Theano allowed it): the graph
    # above it is not needed.
    for var in graph_inputs(roots, blockers=replaced + list(inputs)):
        if var in given or isinstance(var, (SharedVariable, Constant)):
            continue
        names = ", ".join(str(v) for v in inputs) or "none"
        raise MissingInputError(
            f"the outputs or updates depend on {var} ({var.type}), which is not among the "
            f"inputs ({names}) and has no value: add it to inputs, replace it through "
            "givens, or make it a shared variable."
        )


def _shared_in(outputs, updates) -> list[SharedVariable]:
    roots = list(outputs) + [new for _, new in updates] + [var for var, _ in updates]
    seen: dict[SharedVariable, None] = {}
    for var in graph_inputs(roots):
        if isinstance(var, SharedVariable):
            seen[var] = None
    return list(seen)


def _random_generator_updates(outputs, updates, givens) -> list[tuple[SharedVariable, Variable]]:
    """Advance each shared random generator that feeds exactly one random draw.

    Theano's ``RandomStreams`` did this through ``default_update``, which
    PyTensor deprecates: a dropout mask drawn from a shared generator must get
    a new generator state after each call, or every call draws the same mask.
    Generators that ``updates`` already advance are left alone.
    """
    from pytensor.graph.traversal import applys_between
    from pytensor.tensor.random.op import RandomVariable

    roots = list(outputs) + [v for _, v in updates] + [v for _, v in (givens or [])]
    updated = {var for var, _ in updates}
    consumers: dict[SharedVariable, list] = {}
    for node in applys_between(list(graph_inputs(roots)), roots):
        if isinstance(node.op, RandomVariable):
            rng = node.inputs[0]
            if isinstance(rng, SharedVariable) and rng not in updated:
                consumers.setdefault(rng, []).append(node)
    pairs = []
    for rng, nodes in consumers.items():
        if len(nodes) > 1:
            raise ValueError(
                f"the shared random generator {rng} feeds {len(nodes)} random draws, which "
                "would all draw the same numbers; give each draw its own generator or "
                "chain them (pass each draw's next generator to the next draw)."
            )
        pairs.append((rng, nodes[0].outputs[0]))
    return pairs


def _has_truncated_scan(roots) -> bool:
    from pytensor.graph.traversal import applys_between
    from pytensor.scan.op import Scan

    return any(
        isinstance(node.op, Scan) and node.op.truncate_gradient != -1
        for node in applys_between(list(graph_inputs(roots)), roots)
    )


def _is_integer_scalar(var) -> bool:
    from pytensor.tensor.type import TensorType

    return (
        isinstance(var.type, TensorType)
        and var.type.ndim == 0
        and var.type.dtype
        in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    )


def _shape_scalar_inputs(inputs, roots) -> tuple[int, ...]:
    """Positions of the integer scalar inputs that set a shape or a loop's length.

    JAX compiles for fixed shapes: a scan whose number of steps is an input
    (``theano.scan(..., n_steps=k)`` with ``k`` an ``iscalar``), or an
    ``alloc``, ``reshape``, ``arange`` or random draw whose size comes from
    one, cannot be traced with that input as an argument.  Such an input is
    made a constant of each program, as the shapes of the others are.
    """
    from pytensor.graph.traversal import io_toposort
    from pytensor.scan.op import Scan
    from pytensor.tensor.basic import Alloc, AllocEmpty, ARange, Eye
    from pytensor.tensor.random.op import RandomVariable
    from pytensor.tensor.shape import Reshape

    candidates = {var: i for i, var in enumerate(inputs) if _is_integer_scalar(var)}
    if not candidates:
        return ()
    sizes = []
    for node in io_toposort(list(inputs), list(roots)):
        op = node.op
        if isinstance(op, Scan):
            sizes.append(node.inputs[0])
        elif isinstance(op, Alloc):
            sizes.extend(node.inputs[1:])
        elif isinstance(op, AllocEmpty | ARange):
            sizes.extend(node.inputs)
        elif isinstance(op, Eye):
            sizes.extend(node.inputs[:2])
        elif isinstance(op, Reshape):
            sizes.append(node.inputs[1])
        elif isinstance(op, RandomVariable):
            sizes.append(node.inputs[1])
    if not sizes:
        return ()
    found = [candidates[v] for v in ancestors(sizes, blockers=list(inputs)) if v in candidates]
    return tuple(sorted(set(found)))


def _index_inputs(inputs, value_inputs) -> list:
    """The integer scalar inputs that stay arguments of the JAX programs."""
    return [
        var for i, var in enumerate(inputs) if i not in value_inputs and _is_integer_scalar(var)
    ]


def _is_random_type(var) -> bool:
    from pytensor.tensor.random.type import RandomType

    return isinstance(var.type, RandomType)


def collector_paused_for_compiles() -> bool:
    """Whether compiles run with Python's cyclic garbage collector paused.

    ``$SEQGRAPH_GC_PAUSE`` (``0`` or ``1``, default ``1``).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_GC_PAUSE`` is not ``0`` or ``1``.
    """
    from seqgraph._jax import _switch

    return _switch("SEQGRAPH_GC_PAUSE", True)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector for the block, then resume it.

    Rewriting a graph creates and drops many small objects (variables, apply
    nodes, shape features), and the collector's full passes over every object
    of the process, model and JAX included, took 0.3-0.4 s of each tutorial's
    compile.  Reference counting still frees what is not cyclic; the cyclic
    garbage of a compile (a few MiB) is collected after it, at the
    collector's next pass.  Nothing changes when the collector is already off
    (the caller's choice is kept), and the collector is resumed however the
    block ends.
    """
    if not gc.isenabled() or not collector_paused_for_compiles():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Keywords the pure JAX program honours itself; others go to pytensor.function.
_PROGRAM_KWARGS = {"allow_input_downcast", "name", "on_unused_input", "no_default_updates"}


def _to_numpy_storage(shared: Sequence[SharedVariable]) -> None:
    """Bring values left on a JAX device back to NumPy for C/Numba functions."""
    for var in shared:
        storage = var.container.storage
        value = storage[0]
        if not isinstance(value, (np.ndarray, np.generic)) and hasattr(value, "__array__"):
            storage[0] = np.asarray(value)


class Function:
    """A compiled seqgraph function.

    Call it with one value per input, positionally or by input name.  It
    returns a list when it was built with a list of outputs, and one value when
    it was built with a single output, as ``pytensor.function`` does.

    Attributes
    ----------
    backend : str
        ``"c"``, ``"numba"`` or ``"jax"``.
    device : str
        ``"cpu"`` or ``"gpu"``.
    compile_time : float
        Seconds spent building the PyTensor function(s) so far (for JAX, over
        all shape signatures; the XLA compile happens on the first call of each).
    compiler_options : dict or None
        JAX: XLA compiler options added to seqgraph's own for the programs
        this function compiles from then on (``None``: seqgraph's only).
    profile
        With ``profile=True``: on C and Numba, PyTensor's ``ProfileStats``
        (``f.profile.summary()`` prints Theano's tables of time per Op and
        Apply node); on JAX, a :class:`seqgraph.profiling.JaxProfile` (the
        calls' times, and ``summary()`` the time of each XLA operation for
        the last call's inputs). None without it.
    """

    def __init__(
        self, inputs, outputs, updates, givens, target: Target, host_outputs=True, **kwargs
    ):
        self.backend = target.backend
        self.device = target.device
        self.host_outputs = bool(host_outputs)
        self.inputs = inputs
        self._single = isinstance(outputs, Variable)
        self._outputs = [outputs] if self._single else list(outputs or [])
        self._updates = updates
        self._givens = givens
        self._jax_profile = None
        profile = kwargs.get("profile")
        if profile is None:
            # PyTensor's (and Theano's) flag: every function profiled, the
            # profiles printed when the process exits.
            profile = bool(pytensor.config.profile)
        if target.backend == "jax" and profile:
            # PyTensor would profile its own JAX function, one call of one
            # program; seqgraph's program is profiled operation by operation.
            from seqgraph.profiling import JaxProfile

            kwargs = {k: v for k, v in kwargs.items() if k != "profile"}
            self._jax_profile = JaxProfile(self)
        self._kwargs = kwargs
        self.compile_time = 0.0
        # XLA compiler options for this function's JAX programs (the part
        # functions of seqgraph.training.SplitFunction set some).
        self.compiler_options = None
        self._first_call = True
        self._shared = _shared_in(self._outputs + [v for _, v in (givens or [])], updates)
        self._names = [v.name for v in inputs]
        if self.backend == "jax":
            self._device = jax_device(self.device)
            self._cache: OrderedDict[tuple, object] = OrderedDict()
            self._rng_states: dict = {}
            self._storages = [var.container.storage for var in self._shared]
            # The value last seen in each storage, known to be on this
            # function's device (a check per call would cost microseconds).
            self._placed = [None] * len(self._storages)
            self._is_rng = [_is_random_type(var) for var in self._shared]
            self._downcast = kwargs.get("allow_input_downcast")
            self._check_unused(kwargs.get("on_unused_input"))
            roots = self._outputs + [v for _, v in updates] + [v for _, v in (givens or [])]
            # Inputs whose values are constants of each program (a scan's
            # number of steps, say): their values are part of its signature.
            self._value_inputs = _shape_scalar_inputs(inputs, roots)
            # Slices whose bounds come from integer inputs (a minibatch by its
            # index): their lengths, computed before each call, too.
            self._index_inputs = _index_inputs(inputs, self._value_inputs)
            self._length_fn = self._slice_lengths_function(target)
        else:
            with _collector_paused():
                self._fn = self._compile(self.inputs, self._outputs, updates, givens)

    def _check_unused(self, policy):
        """Refuse inputs the outputs do not use, as ``pytensor.function`` does."""
        try:
            from pytensor.compile.rebuild import UnusedInputError
        except ImportError:  # older PyTensor
            from pytensor.compile.function.types import UnusedInputError

        if policy == "ignore":
            return
        roots = self._outputs + [v for _, v in self._updates]
        roots += [v for _, v in (self._givens or [])]
        used = set(ancestors(roots, blockers=self.inputs))
        for i, var in enumerate(self.inputs):
            if var in used:
                continue
            message = (
                f"input {i} ({var}) is not used to compute the outputs; pass "
                "on_unused_input='ignore' (or 'warn') if this is intended."
            )
            if policy == "warn":
                warnings.warn(message, stacklevel=4)
            else:
                raise UnusedInputError(message)

    def _compile(self, inputs, outputs, updates, givens):
        start = time.perf_counter()
        # A mode of the caller's own (Theano's MonitorMode, under seqgraph.theano).
        kwargs = {k: v for k, v in self._kwargs.items() if k != "mode"}
        mode = self._kwargs.get("mode") or get_mode(self.backend)
        roots = list(outputs) + [new for _, new in updates or []]
        if _has_truncated_scan(roots):
            # PyTensor's scan_pushout_add moves the gradient accumulation of a
            # truncated backward scan out of the loop with the full sequence
            # length on one side and the truncated one on the other (a shape
            # error at run time, e.g. a masked layer with truncate_gradient).
            mode = pytensor.compile.mode.get_mode(mode).excluding("scan_pushout_add")
        with warnings.catch_warnings():
            # PyTensor's JAX backend warns for every runtime Assert it drops
            # (shape checks); after specialisation the outer shapes are
            # constants checked by the rewrites, so the warning is only noise.
            warnings.filterwarnings("ignore", message="Skipping .* as JAX tracing would remove it")
            # JAX keeps its own copy of each shared random generator (as a
            # JAX key) inside the compiled function and advances that copy.
            warnings.filterwarnings("ignore", message="The RandomType SharedVariables")
            fn = pytensor.function(
                inputs,
                outputs,
                updates=updates,
                givens=givens,
                mode=mode,
                **kwargs,
            )
        self.compile_time += time.perf_counter() - start
        return fn

    # -- JAX ---------------------------------------------------------------

    def _dynamic_slices(self):
        """The outputs and updates (givens applied) and their slices by index inputs."""
        from seqgraph import _dynslice

        outputs, updates = self._givens_applied()
        roots = outputs + [v for _, v in updates]
        return outputs, updates, _dynslice.find(self.inputs, roots, self._index_inputs)

    def _slice_lengths_function(self, target):
        """A JAX function of the inputs giving the lengths of the slices by index, or None."""
        from seqgraph import _dynslice

        if not self._index_inputs:
            return None
        _, _, found = self._dynamic_slices()
        if not found:
            return None
        return Function(
            self.inputs,
            _dynslice.lengths_of(found),
            [],
            None,
            target,
            on_unused_input="ignore",
            **{k: v for k, v in self._kwargs.items() if k == "allow_input_downcast"},
        )

    def _static_inputs(self, args):
        """Replacements giving the inputs the shapes of ``args``; the new inputs.

        An input that sets a shape (:func:`_shape_scalar_inputs`) is replaced
        by a constant of its value, and a new variable that the graph does not
        read takes its place among the inputs.
        """
        import pytensor.tensor as pt
        from pytensor.tensor.type import TensorType

        replace, static = {}, []
        for i, (var, arg) in enumerate(zip(self.inputs, args)):
            if i in self._value_inputs:
                value = var.type.filter(arg, strict=False, allow_downcast=self._downcast)
                replace[var] = pt.constant(value, dtype=var.type.dtype)
                static.append(var.type(name=var.name))
            elif isinstance(var.type, TensorType):
                shape = np.shape(arg)
                if len(shape) != var.ndim:
                    raise ValueError(
                        f"input {var.name or var} expects ndim={var.ndim}; got an "
                        f"argument of shape {shape}."
                    )
                new = var.type.clone(shape=shape)(name=var.name)
                replace[var] = new
                static.append(new)
            else:
                static.append(var)
        return replace, static

    def _givens_applied(self):
        """Outputs and update values with ``givens`` substituted."""
        from pytensor.graph.replace import graph_replace

        roots = list(self._outputs) + [v for _, v in self._updates]
        givens = (
            list(self._givens.items())
            if isinstance(self._givens, Mapping)
            else list(self._givens or [])
        )
        if givens:
            roots = graph_replace(roots, dict(givens), strict=False)
        n = len(self._outputs)
        return roots[:n], [(var, new) for (var, _), new in zip(self._updates, roots[n:])]

    def _specialise(self, args):
        """Build a JAX program whose every shape is a constant.

        The pure program of :mod:`seqgraph._jaxfn` (cached on disk, updated
        parameters donated) when the graph allows it; otherwise a PyTensor JAX
        function on the same static-shape graph.
        """
        from pytensor.graph.replace import graph_replace

        from seqgraph import _jaxfn

        start = time.perf_counter()
        replace, static_inputs = self._static_inputs(args)
        if self._length_fn is not None:
            from seqgraph import _dynslice

            outputs, updates, found = self._dynamic_slices()
            roots = graph_replace(
                outputs + [v for _, v in updates],
                _dynslice.replace(found, self._lengths),
                strict=False,
            )
            outputs, updates = (
                roots[: len(outputs)],
                [(var, new) for (var, _), new in zip(updates, roots[len(outputs) :])],
            )
        else:
            outputs, updates = self._givens_applied()
        if replace:
            roots = graph_replace(outputs + [v for _, v in updates], replace, strict=False)
            outputs, updates = (
                roots[: len(outputs)],
                [(var, new) for (var, _), new in zip(updates, roots[len(outputs) :])],
            )
        if _PROGRAM_KWARGS.issuperset(self._kwargs):
            try:
                program = _jaxfn.JaxProgram(
                    static_inputs,
                    outputs,
                    updates,
                    self._shared,
                    self._shared_values(),
                    self._mode(outputs, updates),
                    self._device,
                    self.compiler_options,
                )
            except _jaxfn.Unsupported:
                pass
            else:
                self.compile_time += time.perf_counter() - start
                return program
        return self._specialise_pytensor(args)

    def _specialise_pytensor(self, args):
        from pytensor.graph.replace import graph_replace
        from pytensor.tensor import specify_shape
        from pytensor.tensor.type import TensorType

        replace, static_inputs = self._static_inputs(args)
        for var in self._shared:
            if isinstance(var.type, TensorType):
                replace[var] = specify_shape(var, np.shape(var.container.storage[0]))
        roots = list(self._outputs)
        givens = (
            list(self._givens.items())
            if isinstance(self._givens, Mapping)
            else list(self._givens or [])
        )
        given_values = [v for _, v in givens]
        update_values = [v for _, v in self._updates]
        replaced = graph_replace(roots + given_values + update_values, replace, strict=False)
        n_out, n_giv = len(roots), len(given_values)
        outputs = replaced[:n_out]
        new_givens = [(k, v) for (k, _), v in zip(givens, replaced[n_out : n_out + n_giv])]
        new_givens = [(replace.get(k, k), v) for k, v in new_givens]
        updates = [(k, v) for (k, _), v in zip(self._updates, replaced[n_out + n_giv :])]
        if not self._value_inputs:
            return self._compile(static_inputs, outputs, updates, new_givens or None)
        # (An input made a constant is not read any more.)
        kwargs = self._kwargs
        self._kwargs = {**kwargs, "on_unused_input": "ignore"}
        try:
            return self._compile(static_inputs, outputs, updates, new_givens or None)
        finally:
            self._kwargs = kwargs

    def _shared_values(self):
        """The values a JAX program gets for the shared variables, in order."""
        import jax
        from pytensor.tensor.random.type import RandomType

        from seqgraph._jaxfn import random_state

        values = []
        for var in self._shared:
            value = var.container.storage[0]
            if isinstance(var.type, RandomType):
                # The program advances its own JAX copy of the generator (as
                # PyTensor's JAX backend does); a generator set since is
                # taken up again.
                held = self._rng_states.get(var)
                if held is None or held[0] is not value:
                    from seqgraph import _jax

                    # (imports PyTensor's JAX dispatch, then turns x64 on again)
                    _jax.install_fixes()
                    from pytensor.link.jax.dispatch import jax_typify

                    state = jax.device_put(random_state(jax_typify(value)), self._device)
                    held = self._rng_states[var] = (value, state)
                value = held[1]
            values.append(value)
        return values

    def _mode(self, outputs, updates):
        from seqgraph import _jax
        from seqgraph.models import EXPAND_CONTEXT_WINDOW_TAG

        # JaxProgram installs the dispatch fixes when it builds; a program
        # found in the cache never needs them.
        _jax.configure()
        # The context windows compile as one JAX function (seqgraph.models.ContextWindow).
        mode = pytensor.compile.mode.get_mode("JAX").excluding(EXPAND_CONTEXT_WINDOW_TAG)
        mode = with_rewrite_flags(mode)
        if _has_truncated_scan(list(outputs) + [v for _, v in updates]):
            mode = mode.excluding("scan_pushout_add")
        return mode

    def _call_jax(self, args):
        import jax

        fn, values, shared_values = self._prepare_jax(args)
        if values is not None:
            return self._finish_jax(fn, fn(values, shared_values))
        with jax.default_device(self._device):
            result = fn(*args)
        # Outputs come back to the host as NumPy arrays, as from the other
        # backends; shared variables (parameters) stay on the device.
        to_host = np.asarray if self.host_outputs else (lambda r: r)
        if isinstance(result, (list, tuple)):
            return [to_host(r) for r in result]
        return to_host(result)

    def _prepare_jax(self, args):
        """The program for ``args``, its explicit and its shared arguments.

        Compiles the program on the first call of a shape signature.  For a
        PyTensor JAX function (a graph the pure program does not support) the
        arguments are ``None``: it is called with ``args``.  Apart from
        :meth:`_finish_jax` so that :class:`seqgraph.training.SplitFunction`
        can run only the program in its worker threads.
        """
        from seqgraph._jaxfn import JaxProgram

        # The per-call path is kept lean: it is the per-step overhead of short
        # sequences.
        fn = self._program(args)
        if type(fn) is not JaxProgram:
            return fn, None, None
        storages = self._storages
        values = [
            arg
            if type(arg) is np.ndarray and arg.dtype == var.type.dtype
            else self._jax_input(var, arg)
            for var, arg in zip(self.inputs, args)
        ]
        if self._rng_states or any(self._is_rng):
            shared_values = self._shared_values()
        else:
            shared_values = [storage[0] for storage in storages]
        return fn, values, shared_values

    def _program(self, args):
        """The program for the shapes of ``args`` (built on the first call of them).

        Moves the shared values to the device first: their shapes are part of
        the signature.
        """
        import jax

        from seqgraph import _jax

        if not jax.config.jax_enable_x64:
            _jax.configure()  # before any value moves to the device as int32/float32
        # A NumPy value is one not moved yet, or one the user set since: move
        # it once; device values written back by updates stay.
        storages, placed = self._storages, self._placed
        shared_shapes = []
        for i, storage in enumerate(storages):
            value = storage[0]
            if value is not placed[i]:
                # A value set by the user since, or left on another device by
                # another function: move it here once.
                if isinstance(value, np.ndarray) or (
                    isinstance(value, jax.Array) and value.devices() != {self._device}
                ):
                    value = storage[0] = jax.device_put(value, self._device)
                placed[i] = value
            shared_shapes.append(getattr(value, "shape", None))
        key = (
            tuple(a.shape if type(a) is np.ndarray else np.shape(a) for a in args),
            tuple(shared_shapes),
        )
        if self._value_inputs:
            key += (tuple(int(args[i]) for i in self._value_inputs),)
        if self._length_fn is not None:
            self._lengths = tuple(int(n) for n in self._length_fn(*args))
            key += (self._lengths,)
        fn = self._cache.get(key)
        if fn is None:
            with _collector_paused():
                try:
                    fn = self._specialise(args)
                except Exception as err:
                    # An error from deep inside PyTensor or JAX (a product of
                    # mismatched sizes, say) then tells which call it was.
                    shapes = ", ".join(
                        f"{var.name or f'input {i}'} {np.shape(arg)}"
                        for i, (var, arg) in enumerate(zip(self.inputs, args))
                    )
                    err.add_note(
                        f"(seqgraph was building the JAX program for this call's input "
                        f"shapes: {shapes or 'no inputs'})"
                    )
                    raise
                self._cache[key] = fn
        return fn

    def _finish_jax(self, fn, results):
        """Write back what a program call returned; the outputs."""
        storages, placed = self._storages, self._placed
        # The new values of the shared variables come first, then the outputs.
        n_upd = len(fn.update_slots)
        for slot, value in zip(fn.update_slots, results[:n_upd]):
            if self._is_rng[slot]:
                var = self._shared[slot]
                self._rng_states[var] = (self._rng_states[var][0], value)
            else:
                storages[slot][0] = placed[slot] = value
        if not self.host_outputs:
            return list(results[n_upd:])
        return [np.asarray(r) for r in results[n_upd:]]

    def _jax_input(self, var, arg):
        """An input value for the JAX program.

        A JAX array of the input's type is used where it lies (moved only when it
        is on another device), so data the user placed on the GPU is not copied
        back to the host; anything else is checked and cast by the input's type.
        """
        import jax

        if (
            isinstance(arg, jax.Array)
            and arg.dtype == var.type.dtype
            and arg.ndim == var.type.ndim
            and all(s is None or s == n for s, n in zip(var.type.shape, arg.shape))
        ):
            if arg.devices() == {self._device}:
                return arg
            return jax.device_put(arg, self._device)
        return var.type.filter(arg, strict=False, allow_downcast=self._downcast)

    # -- calling -----------------------------------------------------------

    def _bind(self, args, kwargs):
        if not kwargs:
            if len(args) != len(self.inputs):
                raise TypeError(
                    f"this function takes {len(self.inputs)} input(s) "
                    f"({', '.join(str(n) for n in self._names)}); got {len(args)}."
                )
            return list(args)
        values = list(args) + [None] * (len(self.inputs) - len(args))
        for key, value in kwargs.items():
            if key not in self._names:
                raise TypeError(f"unknown input name {key!r}; inputs are {self._names}.")
            values[self._names.index(key)] = value
        missing = [n for n, v in zip(self._names, values) if v is None]
        if missing:
            raise TypeError(f"missing value(s) for input(s) {missing}.")
        return values

    @property
    def profile(self):
        """The function's profile when built with ``profile=True``, else None."""
        if self.backend == "jax":
            return self._jax_profile
        stats = getattr(self._fn, "profile", None)
        return None if stats is None or stats is False else stats

    def __call__(self, *args, **kwargs):
        values = self._bind(args, kwargs)
        if self.backend == "jax":
            if self._jax_profile is not None:
                result = self._jax_profile.timed_call(values)
            else:
                result = self._call_jax(values)
        else:
            _to_numpy_storage(self._shared)
            if self._first_call:
                # Numba compiles on the first call and reports layout hints
                # (NumbaPerformanceWarning) that users cannot act on.
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", module="numba")
                    warnings.filterwarnings("ignore", message="np.dot\\(\\) is faster")
                    result = self._fn(*values)
                self._first_call = False
            else:
                result = self._fn(*values)
        if self._single:
            return result if not isinstance(result, list) else result[0]
        return list(result) if isinstance(result, (list, tuple)) else [result]

    def precompile(self, *args, **kwargs) -> Future:
        """Compile for the shapes of these arguments without running, XLA in the background.

        JAX compiles one program per shape signature, on its first call.  This
        builds the program for the signature of ``args`` now (PyTensor's
        rewrites and JAX's tracing, on this thread), then starts XLA's compile
        on a background thread and returns: while XLA compiles, this thread
        can build other functions.  The first call with these shapes waits for
        the compile (and raises its error, if it failed).  Nothing runs: no
        shared variable's value changes (the values move to the function's
        device, as on a call).

        Parameters
        ----------
        *args, **kwargs
            Example values of the inputs, as for a call: only their shapes
            (and the shared variables' current shapes) matter.

        Returns
        -------
        concurrent.futures.Future
            Done when the compile is; ``result()`` waits for it.  For the C
            and Numba backends it is done at once: C functions are compiled
            when they are built, and Numba's compile runs on the first call.
        """
        values = self._bind(args, kwargs)
        done = Future()
        done.set_result(None)
        if self.backend != "jax":
            return done
        # What a call with these values would pass the program.
        program, args, shared_values = self._prepare_jax(values)
        if args is None:
            # A PyTensor JAX function (a graph the pure program does not
            # support): JAX compiles it on its first call.
            return done
        start = time.perf_counter()
        future = program.compile(background=True, args=args, shared_values=shared_values)
        self.compile_time += time.perf_counter() - start
        return future

    def __repr__(self) -> str:
        return (
            f"<seqgraph.Function inputs={self._names} backend={self.backend!r} "
            f"device={self.device!r}>"
        )


def function(
    inputs,
    outputs=None,
    updates=None,
    givens=None,
    backend: str | None = None,
    device: str | None = None,
    host_outputs: bool = True,
    **kwargs,
) -> Function:
    """Compile a graph with a chosen backend and device.

    Parameters
    ----------
    inputs : list of Variable
        The symbolic inputs, in call order.
    outputs : Variable or list of Variable, optional
        What to compute. A single variable gives a function that returns one
        value, a list gives a function that returns a list.
    updates : dict or list of (SharedVariable, Variable), optional
        New values for shared variables, applied after each call (for
        example the ``updates`` returned by :func:`seqgraph.scan` or an
        optimizer).
    givens : dict or list of (Variable, Variable), optional
        Substitutions made in the graph before compiling; a replacement given
        as a value (a NumPy array or scalar) becomes a shared variable that
        holds it, as in Theano and PyTensor.  A shared random
        generator (``pytensor.shared(np.random.default_rng(seed))``) that
        feeds one random draw of the graph and that ``updates`` does not
        mention is advanced after each call, as Theano's ``RandomStreams``
        were; ``no_default_updates=True`` turns this off.
    backend : {"c", "numba", "jax"}, optional
        Defaults to ``$SEQGRAPH_BACKEND``, else :func:`seqgraph.default_backend`
        (JAX when installed, else C).
    device : {"cpu", "gpu"}, optional
        Defaults to ``$SEQGRAPH_DEVICE`` or ``"cpu"``. ``"gpu"`` needs the JAX
        backend and a CUDA-enabled JAX; without one it raises, it never runs
        on the CPU instead.
    host_outputs : bool
        JAX only: return the outputs as NumPy arrays (the default, as the C
        and Numba backends do), or, with ``False``, as ``jax.Array`` values
        left on the device, computed asynchronously: a GPU pipeline then
        copies nothing back to the host unless it asks
        (``numpy.asarray(out)``, ``out.block_until_ready()``).
    **kwargs
        Passed to ``pytensor.function`` (``name``, ``on_unused_input``,
        ``allow_input_downcast``, ``profile`` ...).

    Returns
    -------
    Function

    Raises
    ------
    ValueError
        For an unknown backend or device.
    RuntimeError
        When the backend is not installed or the device is missing.
    TypeError
        For inputs that are not free symbolic variables, or updates of
        something that is not a shared variable.
    pytensor.graph.utils.MissingInputError
        When the outputs or updates depend on a free variable that is not
        among the inputs nor replaced through ``givens`` (on every backend,
        before anything is compiled).

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> import seqgraph
    >>> x = pt.vector("x")
    >>> f = seqgraph.function([x], 2 * x, backend="c")
    >>> f(np.ones(3, dtype=x.dtype))
    array([2., 2., 2.]...)
    """
    target = resolve(backend, device)
    inputs = _normalise_inputs(inputs)
    pairs = _normalise_updates(updates)
    if isinstance(givens, Mapping):
        givens = list(givens.items())
    if givens is not None:
        givens = _normalise_givens(givens)
    if not kwargs.get("no_default_updates"):
        outs = [outputs] if isinstance(outputs, Variable) else list(outputs or [])
        pairs += _random_generator_updates(outs, pairs, givens)
    if not isinstance(host_outputs, bool):
        raise TypeError(f"host_outputs must be True or False; got {host_outputs!r}.")
    _check_no_missing_inputs(inputs, outputs, pairs, givens)
    _check_ops_have_code_for(target.backend, outputs, pairs, givens)
    return Function(inputs, outputs, pairs, givens, target, host_outputs=host_outputs, **kwargs)
