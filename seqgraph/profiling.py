"""Where a compiled function's time goes, operation by operation.

On the C and Numba backends PyTensor profiles a function itself: build it with
``seqgraph.function(..., profile=True)`` (or ``theano.function``) and read
``f.profile.summary()``, Theano's tables of time per Op and per Apply node.

A function on the JAX backend runs as one XLA program, which PyTensor sees as a
single call.  :func:`op_times` looks inside it: it calls the program a few times
under JAX's profiler and reads back the time of each XLA operation (a fused
elementwise loop, a matrix product, a copy, a loop over the steps of a scan, and
the operations inside that loop), with the operation's output shape::

    times = seqgraph.profiling.op_times(train, x_batch, y_batch)
    print(times)

The calls leave the function's state as it was: the program is given copies of
the shared variables it would update, and what it returns is dropped, so a
training function's parameters do not move.

A JAX-backend function built with ``profile=True`` times its calls as well
(waiting for each to finish), and its ``f.profile.summary()`` prints them with
:func:`op_times` of the last call's inputs, as Theano's profile printed its
tables.  With PyTensor's ``profile`` flag (``PYTENSOR_FLAGS=profile=True``, or
Theano's ``THEANO_FLAGS=profile=True`` under :mod:`seqgraph.theano`) every
function is profiled, and the JAX functions' summaries are printed when the
process exits, next to PyTensor's, to ``config.profiling__destination`` (a
file named there gets them in the same name with ``.jax`` added, since
PyTensor rewrites that file with its own).
"""

from __future__ import annotations

import atexit
import glob
import io
import numbers
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

__all__ = ["JaxProfile", "OpTime", "OpTimes", "op_times"]


@dataclass
class OpTime:
    """One XLA operation of a program: its time per call of the program.

    Attributes
    ----------
    name : str
        The operation's name in the optimised HLO (``fusion.3``, ``while.12``).
    opcode : str
        Its HLO opcode, with a fusion's kind (``fusion:kLoop``; products that
        XLA hands to a library are ``fusion:kCustom``), or ``""`` when the HLO
        did not name it.
    shape : str
        Its output shape in HLO notation (``f32[64,1024]``).
    loop : str or None
        The ``while`` operation whose body holds it (or the conditional or
        ``call`` whose computation does); None at the top level of the
        program.
    count : float
        Executions per call (the steps of a loop for an operation inside one).
    ms : float
        Milliseconds per call, all executions together.
    """

    name: str
    opcode: str
    shape: str
    loop: str | None
    count: float
    ms: float

    @property
    def us_each(self) -> float:
        """Microseconds per execution."""
        return 1000.0 * self.ms / self.count if self.count else 0.0


@dataclass
class OpTimes:
    """What :func:`op_times` measured.

    Attributes
    ----------
    ops : list of OpTime
        Every operation seen, the slowest first.
    calls : int
        Traced calls the figures are averaged over.
    call_ms : float
        Median milliseconds per call without the profiler, as :func:`op_times`
        calls the program: on fresh copies of the values it updates, which
        can take 10-20% longer than the function's own calls (measured for
        the small LSTM's training step, whose buffers are otherwise reused).
    traced_call_ms : float
        Median milliseconds per call under the profiler, which the operations'
        times add up to (tracing slows short operations most).
    platform : str
        ``"cpu"`` or ``"gpu"``; on a GPU the times are those of its kernels.
    """

    ops: list = field(default_factory=list)
    calls: int = 0
    call_ms: float = 0.0
    traced_call_ms: float = 0.0
    platform: str = "cpu"

    def top_level(self) -> list:
        """The operations outside any loop, the slowest first."""
        return [op for op in self.ops if op.loop is None]

    def inside(self, loop: str) -> list:
        """The operations in the body of ``loop``, the slowest first."""
        return [op for op in self.ops if op.loop == loop]

    def table(self, limit: int | None = 12) -> str:
        """The operations as text: each loop followed by its body, indented.

        Parameters
        ----------
        limit : int or None
            At most this many rows per level (the rest summed in one line);
            None for all.
        """
        out = io.StringIO()
        out.write(
            f"{self.calls} traced calls on the {self.platform}: {self.call_ms:.3f} ms a call "
            f"({self.traced_call_ms:.3f} ms traced)\n"
        )
        out.write(
            f"{'operation':<44} {'opcode':<16} {'shape':<22} {'x/call':>7} "
            f"{'ms/call':>9} {'us each':>9}\n"
        )

        def level(ops, depth):
            shown = ops if limit is None else ops[:limit]
            for op in shown:
                name = ("  " * depth + op.name)[:44]
                count = f"{op.count:7.0f}" if op.count else ""
                each = f"{op.us_each:9.1f}" if op.count else ""
                out.write(
                    f"{name:<44} {op.opcode[:16]:<16} {op.shape[:22]:<22} {count:>7} "
                    f"{op.ms:>9.3f} {each:>9}\n"
                )
                body = self.inside(op.name)
                if body:
                    level(body, depth + 1)
            rest = ops[len(shown) :]
            if rest:
                label = "  " * depth + f"({len(rest)} more)"
                out.write(
                    f"{label:<44} {'':<16} {'':<22} {'':>7} {sum(op.ms for op in rest):>9.3f}\n"
                )

        level(self.top_level(), 0)
        return out.getvalue()

    def __str__(self) -> str:
        return self.table()


class JaxProfile:
    """``f.profile`` of a JAX-backend function built with ``profile=True``.

    Each call is timed to its end (the outputs and updates ready), so calls
    that would have overlapped the next one's Python work no longer do.  The
    profile keeps a reference to the last call's inputs, for :meth:`summary`.

    Attributes
    ----------
    calls : int
        Calls made.
    seconds : float
        Their time in all, each from the call to its results being ready.
    first_seconds : float
        Of which the calls that met a new shape signature (they build and
        compile a program).
    """

    def __init__(self, fn):
        self._fn = fn
        self.calls = 0
        self.seconds = 0.0
        self.first_seconds = 0.0
        self._signatures = 0
        self._last = None
        import pytensor

        if pytensor.config.profile:
            _register_at_exit(self)

    def timed_call(self, values):
        """Call the function with bound ``values``, timing it; its result."""
        import jax

        fn = self._fn
        known = len(fn._cache)
        start = time.perf_counter()
        result = fn._call_jax(values)
        jax.block_until_ready(result)
        seconds = time.perf_counter() - start
        self.calls += 1
        self.seconds += seconds
        if len(fn._cache) != known:
            self.first_seconds += seconds
            self._signatures += 1
        self._last = values
        return result

    def summary(self, file=None, limit: int | None = 12, calls: int = 3) -> None:
        """Print the calls' times and the XLA operations of the last call's program.

        Parameters
        ----------
        file : file-like, optional
            Where to print (default ``sys.stdout``).
        limit : int or None
            Rows per level of the operations' table (:meth:`OpTimes.table`).
        calls : int
            Traced calls for the operations' times (:func:`op_times`); they
            leave the function's state as it was.
        """
        file = sys.stdout if file is None else file
        fn = self._fn
        steady = self.calls - self._signatures
        per_call = (self.seconds - self.first_seconds) / steady if steady else 0.0
        print(f"seqgraph function profile ({fn.backend} backend, {fn.device})", file=file)
        others = f"; the others {1000 * per_call:.3f} ms a call" if steady else ""
        print(
            f"  {self.calls} calls, {self.seconds:.3f} s; {self._signatures} with a new shape "
            f"signature ({self.first_seconds:.3f} s, compiling included){others}",
            file=file,
        )
        print(f"  graph building and rewriting: {fn.compile_time:.3f} s", file=file)
        if self._last is None:
            print("  no call yet: no operations to time", file=file)
            return
        try:
            times = op_times(fn, *self._last, calls=calls)
        except ValueError as err:  # a graph that runs through PyTensor's JAX function
            print(f"  {err}", file=file)
            return
        print("  XLA operations of the program for the last call's inputs:", file=file)
        for line in times.table(limit).splitlines():
            print("  " + line, file=file)


# The profiles to print at exit (PyTensor's ``profile`` flag); held, with their
# functions, for the life of the process, as PyTensor holds its own.
_AT_EXIT: list = []
_at_exit_registered = False


def _register_at_exit(profile) -> None:
    global _at_exit_registered
    _AT_EXIT.append(profile)
    if not _at_exit_registered:
        atexit.register(_print_at_exit)
        _at_exit_registered = True


def _print_at_exit() -> None:
    """With PyTensor's ``profile`` flag on, print every JAX function's profile that ran."""
    import pytensor

    if not pytensor.config.profile:
        return
    profiles = [p for p in _AT_EXIT if p.calls]
    if not profiles:
        return
    destination = pytensor.config.profiling__destination
    if destination in ("stderr", "stdout"):
        handle, close = getattr(sys, destination), False
    else:
        # PyTensor's own handler runs after this one and rewrites the file.
        handle, close = open(destination + ".jax", "w"), True
    try:
        for profile in sorted(profiles, key=lambda p: -p.seconds):
            try:
                profile.summary(file=handle)
            except Exception as err:  # the process is ending: report, do not raise
                print(f"seqgraph function profile: {type(err).__name__}: {err}", file=handle)
    finally:
        if close:
            handle.close()


def op_times(fn, *args, calls: int = 3, **kwargs) -> OpTimes:
    """Time each XLA operation of a JAX-backend function, for these arguments.

    Parameters
    ----------
    fn : seqgraph.Function
        Built with ``backend="jax"`` (a ``theano.function`` result too).
    *args, **kwargs
        The inputs, as for a call of ``fn``.
    calls : int
        Calls traced (after one untraced call that compiles the program if
        needed, and ``calls`` untraced ones that are timed).

    Returns
    -------
    OpTimes
        ``print()`` it for a table.  A loop that XLA compiles whole (on the
        CPU, one over a few hundred bytes of state, such as a tiny scan) is
        one operation there, with nothing timed inside it.

    Raises
    ------
    TypeError
        If ``fn`` is not a seqgraph function.
    ValueError
        If ``fn`` is not on the JAX backend (the C and Numba backends have
        PyTensor's own profile: ``profile=True``), if ``calls`` is not a
        positive integer, or if the graph runs through PyTensor's own JAX
        function, whose operations are not traced apart.
    """
    from seqgraph.function import Function

    inner = getattr(fn, "fn", fn)  # theano.function's wrapper
    if not isinstance(inner, Function):
        raise TypeError(f"op_times takes a seqgraph function; got {type(fn).__name__}.")
    if inner.backend != "jax":
        raise ValueError(
            f"op_times times the XLA operations of a JAX-backend function; this one is on "
            f"{inner.backend!r}. For C and Numba, build it with profile=True and read "
            "f.profile.summary() (PyTensor's profile of each Apply node)."
        )
    if isinstance(calls, bool) or not isinstance(calls, numbers.Integral) or calls < 1:
        raise ValueError(f"calls must be a positive integer; got {calls!r}.")
    if inner is not fn:  # a theano.function: its defaults and keyword names
        values = inner._bind(fn.bind(*args, **kwargs), {})
    else:
        values = inner._bind(args, kwargs)
    program, program_args, shared_values = inner._prepare_jax(values)
    if program_args is None:
        raise ValueError(
            "this graph runs through PyTensor's own JAX function (a graph seqgraph's "
            "program does not support), whose operations op_times cannot trace apart."
        )
    import jax

    donated = {i - program.n_in for i in program.donate}

    def fresh():
        # The program consumes (donates) the buffers of the values it updates.
        return [
            jax.numpy.array(v, copy=True) if i in donated else v
            for i, v in enumerate(shared_values)
        ]

    def run(shared):
        jax.block_until_ready(program(program_args, shared))

    run(fresh())  # compiles the program if this is its first call
    untraced = []
    batches = [fresh() for _ in range(calls)]
    jax.block_until_ready(batches)
    for shared in batches:
        start = time.perf_counter()
        run(shared)
        untraced.append(time.perf_counter() - start)
    hlo = program._fn.lower(*program_args, *shared_values).compile().as_text()
    batches = [fresh() for _ in range(calls)]
    jax.block_until_ready(batches)
    traced = []
    options = jax.profiler.ProfileOptions()
    options.python_tracer_level = 0
    with tempfile.TemporaryDirectory(prefix="seqgraph-trace-") as folder:
        with jax.profiler.trace(folder, profiler_options=options):
            for shared in batches:
                start = time.perf_counter()
                run(shared)
                traced.append(time.perf_counter() - start)
        paths = glob.glob(os.path.join(folder, "plugins", "profile", "*", "*.xplane.pb"))
        if len(paths) != 1:
            raise RuntimeError(f"JAX's profiler wrote {len(paths)} traces where one was expected.")
        data = jax.profiler.ProfileData.from_file(paths[0])
        with warnings.catch_warnings():
            # jaxlib makes the type of an event's stats on first use; Python 3.13
            # warns that it has no __module__, and with warnings turned into
            # errors (python -W error) nanobind aborts the process.
            warnings.simplefilter("ignore", DeprecationWarning)
            spans, platform = _collect(data, _module_name(hlo))
            if not spans:  # the events name the module otherwise: take every operation
                spans, platform = _collect(data, "")
    structure = _hlo_structure(hlo)
    loop_of = {name: info[2] for name, info in structure.items()}
    loops = {loop for loop in loop_of.values() if loop is not None}
    ops = []
    for name in set(spans) | (loops & set(structure)):
        opcode, shape, loop = structure.get(name, ("", "", None))
        events = spans.get(name, [])
        if name in loops:
            ns = _loop_ns(name, spans, loop_of)
        else:
            ns = float(sum(end - start for start, end in events))
        if not events and ns == 0.0:
            continue  # a loop that did not run
        ops.append(OpTime(name, opcode, shape, loop, len(events) / calls, ns / 1e6 / calls))
    ops.sort(key=lambda op: -op.ms)
    return OpTimes(
        ops=ops,
        calls=calls,
        call_ms=1000.0 * sorted(untraced)[len(untraced) // 2],
        traced_call_ms=1000.0 * sorted(traced)[len(traced) // 2],
        platform=platform,
    )


def _module_name(hlo: str) -> str:
    match = re.match(r"HloModule ([\w.\-]+)", hlo)
    return match.group(1) if match else ""


def _stats(event) -> dict:
    return dict(event.stats)


def _collect(data, module):
    """Total nanoseconds and executions of each operation of ``module``.

    On a GPU the kernels' events (device planes) are the operations' times; on
    the CPU the runtime's events for each operation (host plane).
    """
    device_planes = [p for p in data.planes if p.name.startswith("/device:")]
    planes = device_planes or [p for p in data.planes if p.name.startswith("/host:CPU")]
    platform = "gpu" if device_planes else "cpu"
    spans: dict = {}
    for plane in planes:
        for line in plane.lines:
            for event in line.events:
                stats = _stats(event)
                name = stats.get("hlo_op")
                if name is None or (module and stats.get("hlo_module", module) != module):
                    continue
                spans.setdefault(name, []).append((event.start_ns, event.end_ns))
    return spans, platform


def _loop_ns(loop, spans, loop_of) -> float:
    """Nanoseconds from each start of ``loop`` to the end of the last operation it ran.

    On the CPU a loop's own event ends when it has started its first step (the
    steps run on as their operations become ready), so a loop's time is taken
    from its starts to the end of the last operation inside it before its next
    start. Without events of its own (a GPU's), the sum of its operations.
    """
    inside = [
        span for name, events in spans.items() if _within(name, loop, loop_of) for span in events
    ]
    starts = sorted(spans.get(loop, []))
    if not starts:
        return float(sum(end - start for start, end in inside))
    inside.sort()
    total = 0.0
    for i, (start, end) in enumerate(starts):
        following = starts[i + 1][0] if i + 1 < len(starts) else float("inf")
        last = max([e for s, e in inside if start <= s < following], default=end)
        total += max(end, last) - start
    return total


def _within(name, loop, loop_of) -> bool:
    """Whether operation ``name`` runs inside ``loop`` (directly or in a nested loop)."""
    seen = set()
    parent = loop_of.get(name)
    while parent is not None and parent not in seen:
        if parent == loop:
            return True
        seen.add(parent)
        parent = loop_of.get(parent)
    return False


_COMPUTATION = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) \(")
_INSTRUCTION = re.compile(r"^\s+(?:ROOT )?%?([\w.\-]+) = (\S+(?: \S+)*?) ([\w\-]+)\(")
_CALLED = re.compile(r"(?:condition|body|true_computation|false_computation|to_apply)=%?([\w.\-]+)")
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")


def _hlo_structure(hlo: str) -> dict:
    """``{operation: (opcode, shape, loop)}`` from an optimised HLO module's text."""
    owner, info, parent_of_computation = {}, {}, {}
    computation = None
    for line in hlo.splitlines():
        header = _COMPUTATION.match(line)
        if header:
            computation = header.group(1)
            continue
        match = _INSTRUCTION.match(line)
        if not match or computation is None:
            continue
        name, shape, opcode = match.groups()
        if opcode == "fusion":
            kind = re.search(r"kind=(k\w+)", line)
            opcode = f"fusion:{kind.group(1)}" if kind else opcode
        owner[name] = computation
        shape = re.sub(r"\{[^}]*\}", "", shape)
        if shape.startswith("("):  # a tuple (a loop's state): how many arrays
            shape = f"({shape.count('[')} arrays)"
        info[name] = (opcode, shape)
        if opcode in ("while", "conditional", "call"):
            called = _CALLED.findall(line)
            for branches in _BRANCHES.findall(line):
                called += [part.strip().lstrip("%") for part in branches.split(",")]
            for part in called:
                parent_of_computation[part] = name
    return {name: (*info[name], parent_of_computation.get(owner[name])) for name in info}
