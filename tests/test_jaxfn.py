"""The JAX backend's pure programs: structural digest, on-disk cache, donation."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph import _jaxfn
from seqgraph.layers import LSTM, Bidirectional

pytest.importorskip("jax")
pytest.importorskip("flatbuffers")


def _lstm_graph(hidden=8, scale=1.0):
    x = pt.tensor3("x", dtype="float32")
    layer = LSTM(3, hidden, seed=0)
    h = layer(x)
    loss = (h**2).mean() * np.float32(scale)
    params = layer.params
    grads = pytensor.grad(loss, params)
    shared = [v for v in pytensor.graph.traversal.graph_inputs([loss, *grads]) if v in params]
    return x, loss, grads, layer, shared


def _digest(graph, shape=(2, 5, 3)):
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.replace import graph_replace
    from pytensor.graph.traversal import graph_inputs

    x, loss, grads, _, _ = graph
    roots = [loss, *grads]
    shared = [v for v in graph_inputs(roots) if isinstance(v, SharedVariable)]
    static_x = x.type.clone(shape=shape)()
    holders = [v.type.clone(shape=v.get_value().shape)() for v in shared]
    roots = graph_replace(roots, {x: static_x, **dict(zip(shared, holders))}, strict=False)
    return _jaxfn.graph_digest([static_x, *holders], roots)


def test_digest_is_structural():
    # Two graphs built independently (new variables, new names) digest alike.
    assert _digest(_lstm_graph()) == _digest(_lstm_graph())


def test_digest_tells_graphs_apart():
    base = _digest(_lstm_graph())
    assert _digest(_lstm_graph(scale=2.0)) != base  # a constant
    assert _digest(_lstm_graph(hidden=9)) != base  # shapes of the weights
    assert _digest(_lstm_graph(), shape=(3, 5, 3)) != base  # input shape


def test_digest_refuses_unknown_parameters():
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    class Opaque(Op):
        __props__ = ("thing",)

        def __init__(self, thing):
            self.thing = thing

        def make_node(self, x):
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, outputs):
            outputs[0][0] = inputs[0]

    x = pt.vector("x")
    with pytest.raises(_jaxfn.Unsupported, match="object"):
        _jaxfn.graph_digest([x], [Opaque(object())(x)])
    # A free variable (a shared variable not made an argument) is refused too.
    w = pytensor.shared(np.ones(3, dtype=x.dtype))
    with pytest.raises(_jaxfn.Unsupported, match="free variable"):
        _jaxfn.graph_digest([x], [x * w])


def _train_fn(layer, x, loss):
    params = layer.params
    grads = pytensor.grad(loss, params)
    lr = np.float32(0.1)
    return seqgraph.function(
        [x], loss, updates=[(p, p - lr * g) for p, g in zip(params, grads)], backend="jax"
    )


def _programs(fn):
    return [p for p in fn._cache.values() if isinstance(p, _jaxfn.JaxProgram)]


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    data = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    losses = []
    for attempt in range(2):
        x, loss, _, layer, _ = _lstm_graph()
        fn = _train_fn(layer, x, loss)
        losses.append([float(fn(data)) for _ in range(3)])
        [program] = _programs(fn)
        assert program.from_cache is (attempt == 1)
    files = os.listdir(tmp_path / "functions")
    assert len(files) == 1 and files[0].endswith(".jaxfn")
    np.testing.assert_array_equal(losses[0], losses[1])
    assert losses[0][2] < losses[0][0]  # the updates were applied


_USER_OP = """
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.jax.dispatch import jax_funcify


class Scale(Op):
    __props__ = ()

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0] * FACTOR


@jax_funcify.register(Scale)
def _scale(op, **kwargs):
    return lambda x: x * FACTOR


@node_rewriter([Scale])
def no_scale(fgraph, node):
    return None
"""


def _load_user_module(folder, factor):
    """The module ``user_op`` written to ``folder`` with ``FACTOR`` = ``factor``, imported anew."""
    import importlib.util
    import sys

    path = folder / "user_op.py"
    path.write_text(_USER_OP.replace("FACTOR", repr(factor)))
    spec = importlib.util.spec_from_file_location("user_op", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["user_op"] = module
    spec.loader.exec_module(module)
    return module


def test_cache_builds_anew_when_a_users_op_changes(tmp_path, monkeypatch):
    # A user's op and its JAX implementation enter the key by their file: an
    # edit to either must not find the program the old code built.
    import subprocess
    import sys

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delitem(sys.modules, "user_op", raising=False)
    x = pt.vector("x", dtype="float32")
    results = []
    for factor in (2.0, 2.0, 30.0):
        module = _load_user_module(tmp_path, factor)
        fn = seqgraph.function([x], module.Scale()(x), backend="jax")
        results.append((fn(np.ones(2, "float32")).tolist(), _programs(fn)[0].from_cache))
    assert results == [([2.0, 2.0], False), ([2.0, 2.0], True), ([30.0, 30.0], False)]
    # Defined where no file holds its source (python -c, as in a notebook): built, never cached.
    script = (
        _USER_OP.replace("FACTOR", "7.0")
        + "import numpy as np, seqgraph\n"
        + "x = pt.vector('x', dtype='float32')\n"
        + "fn = seqgraph.function([x], Scale()(x), backend='jax')\n"
        + "print(fn(np.ones(2, 'float32')).tolist(), list(fn._cache.values())[0].cache_path)\n"
    )
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[7.0,", "7.0]", "None"]
    namespace = {"__name__": "interactive_session"}
    exec(_USER_OP.replace("FACTOR", "5.0"), namespace)  # noqa: S102
    fn = seqgraph.function([x], namespace["Scale"]()(x), backend="jax")
    assert fn(np.ones(2, "float32")).tolist() == [5.0, 5.0]
    [program] = _programs(fn)
    assert program.cache_path is None and not program.from_cache


def test_float64_program_from_the_cache_runs_without_pytensors_jax_dispatch(tmp_path):
    # A later process finds the program and runs it without importing PyTensor's
    # JAX dispatch, whose import turns JAX's float64 off again (the key's
    # code sigs once imported it, and float64 inputs then reached the program
    # as float32).
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, pytensor.tensor as pt, seqgraph\n"
        "x = pt.dvector('x')\n"
        "f = seqgraph.function([x], (x ** 2).sum(), backend='jax')\n"
        "value = f(np.array([1.5, 2.0]))\n"
        "[program] = f._cache.values()\n"
        "print(repr(float(value)), value.dtype, program.from_cache,\n"
        "      'pytensor.link.jax.dispatch' in sys.modules)\n"
    )
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path))
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(done.stdout.split())
    assert runs[0][:3] == ["6.25", "float64", "False"]
    assert runs[1] == ["6.25", "float64", "True", "False"]


def test_code_sig_reads_only_users_python_files(tmp_path, monkeypatch):
    import json
    import sys

    from pytensor.tensor.elemwise import Elemwise

    monkeypatch.delitem(sys.modules, "user_op", raising=False)
    # Versioned code: PyTensor's, seqgraph's, the standard library's, builtins.
    for obj in (Elemwise, _jaxfn.JaxProgram, json.JSONEncoder, AssertionError):
        assert _jaxfn._code_sig(obj) == "", obj
    module = _load_user_module(tmp_path, 2.0)
    assert _jaxfn._code_sig(module.Scale).startswith("@")
    assert _jaxfn._code_sig(module.Scale) == _jaxfn._code_sig(module._scale)  # one file
    namespace = {"__name__": "typed_in"}
    exec("class Typed:\n    pass\n", namespace)  # noqa: S102
    with pytest.raises(_jaxfn.Unsupported, match="typed_in.Typed is not in a file"):
        _jaxfn._code_sig(namespace["Typed"])


def test_cache_key_holds_the_users_rewrites(tmp_path, monkeypatch):
    import pytensor.compile.mode
    from pytensor.graph.rewriting.db import EquilibriumDB, SequenceDB

    def database(module):
        db, inner = SequenceDB(), EquilibriumDB()
        inner.register("no_scale", module.no_scale, "fast_run")
        db.register("user_rewrites", inner, "fast_run", position=1)
        return db

    monkeypatch.setattr(pytensor.compile.mode, "optdb", SequenceDB())
    assert _jaxfn._user_rewrites_sig() == ""
    monkeypatch.setattr(pytensor.compile.mode, "optdb", database(_load_user_module(tmp_path, 2.0)))
    first = _jaxfn._user_rewrites_sig()
    assert first.startswith("no_scale:user_op.no_scale@")
    assert _jaxfn._user_rewrites_sig() == first
    monkeypatch.setattr(pytensor.compile.mode, "optdb", database(_load_user_module(tmp_path, 30.0)))
    assert _jaxfn._user_rewrites_sig() not in ("", first)


def test_cache_key_changes_with_the_code_that_rewrites_programs(monkeypatch):
    # A checkout whose rewrites changed (a fix to PyTensor's, say) without a new
    # version must not find the programs the old rewrites built.
    import builtins

    import seqgraph

    real_open = builtins.open
    _jaxfn._sources_digest.cache_clear()  # (read once a process)
    before = _jaxfn._environment_sig("cpu")
    for name in ("_jax.py", "_pytensor_fixes.py", "_compat.py"):
        target = os.path.join(os.path.dirname(seqgraph.__file__), name)

        def edited(path, *args, target=target, **kwargs):
            handle = real_open(path, *args, **kwargs)
            if os.path.abspath(path) != target:
                return handle
            with handle:
                return io.BytesIO(handle.read() + b"\n# edited\n")

        monkeypatch.setattr(builtins, "open", edited)
        _jaxfn._sources_digest.cache_clear()
        assert _jaxfn._environment_sig("cpu") != before, name
        monkeypatch.setattr(builtins, "open", real_open)
        _jaxfn._sources_digest.cache_clear()
    assert _jaxfn._environment_sig("cpu") == before


def test_damaged_cache_file_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    data = np.ones((2, 5, 3), dtype="float32")
    x, loss, _, layer, _ = _lstm_graph()
    expected = float(_train_fn(layer, x, loss)(data))
    [name] = os.listdir(tmp_path / "functions")
    path = tmp_path / "functions" / name
    path.write_bytes(path.read_bytes()[:200])  # truncated
    x, loss, _, layer, _ = _lstm_graph()
    fn = _train_fn(layer, x, loss)
    assert float(fn(data)) == expected
    assert not _programs(fn)[0].from_cache
    assert path.stat().st_size > 200  # rebuilt and written again


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    x, loss, _, layer, _ = _lstm_graph()
    fn = _train_fn(layer, x, loss)
    fn(np.ones((2, 5, 3), dtype="float32"))
    [program] = _programs(fn)
    assert program.cache_path is None and not program.from_cache


def test_cache_keeps_to_its_size_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x, loss, grads, _, _ = _lstm_graph()

    def cached(steps):
        fn = seqgraph.function([x], [loss, *grads], backend="jax")
        fn(np.ones((2, steps, 3), dtype="float32"))
        [program] = _programs(fn)
        return program

    first, second = cached(5).cache_path, cached(6).cache_path
    os.utime(first, (1, 1))
    os.utime(second, (2, 2))
    assert cached(5).from_cache  # reading it makes it the most recently used
    sizes = [os.path.getsize(path) for path in (first, second)]
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE_MAX_MB", str((sum(sizes) + 2000) / 2**20))
    third = cached(7).cache_path
    assert os.path.exists(first) and os.path.exists(third)
    assert not os.path.exists(second)  # the least recently used went


_OLD_CACHE_PROCESS = """
import warnings
warnings.simplefilter("error")
from seqgraph import _jax
_jax.configure()
import jax
print(float(jax.jit(lambda x: x * 3.0)(2.0)))
"""


def test_cache_cap_adopts_entries_written_without_it(tmp_path):
    # An entry from a JAX cache without a size cap has no access-time file;
    # JAX's eviction would then fail on every later write (a warning, and
    # nothing cached).  seqgraph gives it one.
    old = tmp_path / "jit_old-0123-cache"
    old.write_bytes(b"x" * 10)
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", _OLD_CACHE_PROCESS], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "6.0"
    stamp = (tmp_path / "jit_old-0123-atime").read_bytes()
    assert int.from_bytes(stamp, "little") == old.stat().st_mtime_ns
    written = [p for p in tmp_path.glob("*-cache") if p != old]
    assert written  # the new program was cached


def test_cache_size_cap_setting(monkeypatch):
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE_MAX_MB", "0.5")
    assert _jax.cache_limit_bytes() == 1 << 19
    for bad in ("0", "-3", "lots", "nan"):
        monkeypatch.setenv("SEQGRAPH_JAX_CACHE_MAX_MB", bad)
        with pytest.raises(ValueError, match="SEQGRAPH_JAX_CACHE_MAX_MB must be a positive"):
            _jax.cache_limit_bytes()


def test_donated_parameters_leave_earlier_values_intact(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x, loss, _, layer, _ = _lstm_graph()
    fn = _train_fn(layer, x, loss)
    data = np.ones((2, 5, 3), dtype="float32")
    fn(data)
    [program] = _programs(fn)
    assert program.donate  # the updated parameters are donated to XLA
    before = {p.name: p.get_value() for p in layer.params}
    fn(data)
    after = {p.name: np.asarray(p.get_value()) for p in layer.params}
    for name, value in before.items():
        # get_value() is a copy: it survives the donation of the buffer it came from
        assert np.all(np.isfinite(np.asarray(value)))
        assert not np.array_equal(np.asarray(value), after[name])


def test_each_new_value_takes_the_buffer_of_its_own_variable(tmp_path, monkeypatch):
    # Parameters and optimizer states of one shape: JAX gives each result the
    # buffer of the first donated argument of its shape, so a new value written
    # into another variable's buffer would make XLA copy the variables instead.
    import re

    from seqgraph.updates import adam

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x = pt.matrix("x", dtype="float32")
    rng = np.random.default_rng(0)
    a, b = (pytensor.shared(rng.normal(size=(3, 3)).astype("float32")) for _ in range(2))
    product = (x @ a) * (x @ b)  # an output of the parameters' shape, too
    updates = adam(product.sum(), [a, b], learning_rate=0.01)
    fn = seqgraph.function([x], [product.sum(), product], updates=updates, backend="jax")
    data = rng.normal(size=(3, 3)).astype("float32")
    fn(data)
    [program] = _programs(fn)
    text = program._fn.lower(data, *fn._shared_values()).compile().as_text()
    header = text.splitlines()[0]
    aliases = {
        int(out): int(arg)
        for out, arg in re.findall(
            r"\{(\d+)\}: \((\d+), \{\}", header.split("entry_computation")[0]
        )
    }
    # Results: the new values of the shared variables, then the outputs.
    expected = {k: program.n_in + slot for k, slot in enumerate(program.update_slots)}
    assert len(expected) == 2 + 1 + 4  # a, b, Adam's step count and two moments each
    assert aliases == expected


def test_random_draws_advance_per_call(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    gen = pytensor.shared(np.random.default_rng(3))
    x = pt.vector("x", dtype="float32")
    _, noise = pt.random.normal(size=x.shape, rng=gen, dtype="float32", return_next_rng=True)
    fn = seqgraph.function([x], x + noise, backend="jax")
    a, b = fn(np.zeros(4, "float32")), fn(np.zeros(4, "float32"))
    assert _programs(fn)
    assert not np.array_equal(a, b)
    # Setting a new generator restarts the stream from it.
    gen.set_value(np.random.default_rng(3))
    np.testing.assert_array_equal(fn(np.zeros(4, "float32")), a)
    # Compiled once: the generator's state starts as Python integers, and were
    # they weakly typed JAX scalars, the state the first call returns (strongly
    # typed) would make the second call compile the whole program again.
    (program,) = _programs(fn)
    assert program._fn._cache_size() == 1


def test_inputs_are_checked_as_pytensor_does(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x, y = pt.vector("x", dtype="float32"), pt.vector("y", dtype="float32")
    with pytest.raises(Exception, match="not used"):
        seqgraph.function([x, y], 2 * x, backend="jax")
    fn = seqgraph.function([x, y], 2 * x, backend="jax", on_unused_input="ignore")
    np.testing.assert_array_equal(fn([1.0, 2.0], [0.0, 0.0]), [2.0, 4.0])  # lists converted
    with pytest.raises(TypeError):
        fn(np.ones(2), np.ones(2))  # float64 into float32 without allow_input_downcast
    fn = seqgraph.function([x], 2 * x, backend="jax", allow_input_downcast=True)
    assert fn(np.ones(2)).dtype == np.float32


_PROCESS = """
import numpy as np, pytensor, pytensor.tensor as pt, seqgraph
from seqgraph.layers import GRU
from seqgraph import _jaxfn
x = pt.tensor3("x", dtype="float32")
layer = GRU(3, 6, seed=0)
loss = (layer(x) ** 2).mean()
grads = pytensor.grad(loss, layer.params)
fn = seqgraph.function([x], loss, updates=[(p, p - 0.1 * g) for p, g in zip(layer.params, grads)],
                       backend="jax")
value = float(fn(np.ones((2, 4, 3), dtype="float32")))
[program] = [p for p in fn._cache.values() if isinstance(p, _jaxfn.JaxProgram)]
print(program.from_cache, repr(value))
"""


def test_cache_serves_a_new_process(tmp_path):
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path))
    runs = [
        subprocess.run(
            [sys.executable, "-c", _PROCESS], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert [r[0] for r in runs] == ["False", "True"]
    assert runs[0][1] == runs[1][1]


_X64_PROCESS = """
import numpy as np, pytensor, pytensor.tensor as pt, seqgraph
v = pt.vector("v", dtype="float32")
seqgraph.function([v], 2 * v, backend="jax")(np.ones(2, dtype="float32"))
ids = pt.lvector("ids")
table = pytensor.shared(np.arange(10, dtype="float32"))
gen = pytensor.shared(np.random.default_rng(0))
_, noise = pt.random.uniform(size=ids.shape, rng=gen, dtype="float32", return_next_rng=True)
fn = seqgraph.function([ids], table[ids] + 0 * noise, backend="jax")
print(fn(np.array([2, 7])).tolist())
"""


def test_int64_inputs_and_generators_after_x64_was_turned_off(tmp_path):
    # Importing PyTensor's JAX dispatch turns x64 off, and a process that finds
    # its first function in the cache imports it later than one that builds it:
    # int64 ids and generator states must reach the program as int64 either way.
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path))
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _X64_PROCESS], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split("\n")[-2] == "[2.0, 7.0]"


def _plain_scan_and_gradient(x, w):
    [h], _ = seqgraph.scan(
        lambda xt, h: pt.tanh(xt + h @ w),
        sequences=[x],
        outputs_info=[pt.zeros((2,), "float32")],
    )
    return h.sum()


def _traced_scans(steps=(1, 1), prefetch=False, loss_of=_plain_scan_and_gradient):
    """``(unroll, sequences read, values carried)`` of every ``lax.scan`` a loss and its gradient trace to.

    ``loss_of(x, w)`` builds the loss from ``x`` (6, 2) and ``w`` (2, 2).
    """
    import jax
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.traversal import graph_inputs

    from seqgraph import _jax

    _jax.install_fixes()
    x = pt.tensor("x", dtype="float32", shape=(6, 2))
    w = pt.tensor("w", dtype="float32", shape=(2, 2))
    loss = loss_of(x, w)
    # Shared variables (a layer's weights) become inputs, given their values.
    shared = [v for v in dict.fromkeys(graph_inputs([loss])) if isinstance(v, SharedVariable)]
    fgraph = FunctionGraph([x, w, *shared], [loss, pytensor.grad(loss, w)], clone=True)
    mode = pytensor.compile.mode.get_mode("JAX")
    with pytensor.config.change_flags(mode=mode):
        mode.optimizer(fgraph)
    program = _jaxfn.JaxProgram._funcify(fgraph)
    args = [np.ones((6, 2), "float32"), np.ones((2, 2), "float32")]
    args += [v.get_value() for v in shared]
    with _jax.scan_unroll(steps), _jax.scan_prefetch(prefetch):
        jaxpr = jax.make_jaxpr(program)(*args)
    found = []

    def walk(inner):
        for eqn in inner.eqns:
            if eqn.primitive.name == "scan":
                params = eqn.params
                if "ft_in" in params:  # JAX 0.12: the operands as (consts, carry, xs)
                    xs = len(list(params["ft_in"].elts[2].vals))
                    carry = len(list(params["ft_in"].elts[1].vals))
                else:
                    xs = len(eqn.invars) - params["num_consts"] - params["num_carry"]
                    carry = params["num_carry"]
                found.append((params["unroll"], xs, carry))
            for param in eqn.params.values():
                sub = getattr(param, "jaxpr", None)
                if sub is not None:
                    walk(getattr(sub, "jaxpr", sub))

    walk(jaxpr.jaxpr)
    return sorted(found)


def _scan_unrolls(steps):
    return [unroll for unroll, _, _ in _traced_scans(steps)]


def test_scan_unroll_applies_to_forward_and_gradient_scans_apart():
    assert _scan_unrolls((1, 1)) == [1, 1]
    assert _scan_unrolls((3, 1)) == [1, 3]  # the forward scan only
    assert _scan_unrolls((4, 2)) == [2, 4]


@pytest.mark.parametrize(
    "cell_class", [seqgraph.cells.ElmanCell, seqgraph.cells.LSTMCell, seqgraph.cells.GRUCell]
)
def test_scan_unroll_gives_the_layers_written_out_gradients_the_gradient_factor(cell_class):
    # Their backward scans are plain scans (no "mit_mot" buffers), told from a
    # forward one by their name only.
    from seqgraph import layers

    def loss_of(x, w):
        layer = layers.Recurrent(cell_class(2, 3, seed=0))
        return layer(x[None] @ w).sum()

    assert [u for u, _, _ in _traced_scans((3, 2), loss_of=loss_of)] == [2, 3]
    assert [u for u, _, _ in _traced_scans((1, 1), loss_of=loss_of)] == [1, 1]


def test_backward_scans_are_told_by_their_buffers_or_their_name():
    from types import SimpleNamespace

    from seqgraph import _jax

    def op(name, n_mit_mot=0):
        return SimpleNamespace(name=name, info=SimpleNamespace(n_mit_mot=n_mit_mot))

    assert _jax.is_backward_scan(op("grad_of_scan_fn", n_mit_mot=1))
    assert _jax.is_backward_scan(op("LSTMCell_bptt"))
    # Scans merged by PyTensor's rewrites join their names with "&".
    assert _jax.is_backward_scan(op("LSTMCell_bptt&GRUCell_bptt"))
    assert _jax.is_backward_scan(op("step&LSTMCell_bptt"))
    assert not _jax.is_backward_scan(op("LSTMCell_scan"))
    assert not _jax.is_backward_scan(op("bptt_scan"))
    assert not _jax.is_backward_scan(op(None))


def test_prefetching_scans_carry_their_step_numbers_and_read_no_sequence(monkeypatch):
    from seqgraph import _jax

    # Without prefetch the forward scan reads x and the gradient scan reads
    # several sequences; with it each loop reads none: it carries its step
    # number (no ``arange`` sequence, which XLA would build and read) and the
    # sequences' steps.
    without = _traced_scans(prefetch=False)
    assert max(xs for _, xs, _ in without) > 1
    # Steps of 2 elements: too small to prefetch by default; read at their step.
    small = _traced_scans(prefetch=True)
    assert [xs for _, xs, _ in small] == [0, 0]
    assert [carry - plain[2] for (_, _, carry), plain in zip(small, without)] == [1, 1]
    monkeypatch.setattr(_jax, "PREFETCH_MIN", 2)
    prefetched = _traced_scans(prefetch=True)
    assert [xs for _, xs, _ in prefetched] == [0, 0]
    # each loop carries one more value per sequence it reads
    extra = [b[2] - a[2] for a, b in zip(small, prefetched)]
    assert sorted(extra) == sorted(xs for _, xs, _ in without) == [1, 2]


def test_scan_prefetch_setting_and_results(tmp_path, monkeypatch):
    from seqgraph import _jax

    assert _jax.prefetch_for("cpu") and not _jax.prefetch_for("cuda")
    monkeypatch.setenv("SEQGRAPH_SCAN_PREFETCH", "0")
    assert not _jax.prefetch_for("cpu")
    monkeypatch.setenv("SEQGRAPH_SCAN_PREFETCH", "yes")
    with pytest.raises(ValueError, match="SEQGRAPH_SCAN_PREFETCH must be 0 or 1"):
        _jax.prefetch_for("cpu")
    # A masked, truncated, bidirectional LSTM: the same loss and gradients with
    # and without prefetch, from programs cached apart.  The gate steps (60
    # elements) are prefetched, the mask's (3) are not.
    monkeypatch.setattr(_jax, "PREFETCH_MIN", 10)
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    rng = np.random.default_rng(4)
    data = rng.normal(size=(3, 7, 2)).astype("float32")
    keep = np.ones((3, 7), "float32")
    keep[2, 4:] = 0
    results = {}
    for setting in ("0", "1"):
        monkeypatch.setenv("SEQGRAPH_SCAN_PREFETCH", setting)
        x = pt.tensor3("x", dtype="float32")
        mask = pt.matrix("mask", dtype="float32")
        layer = Bidirectional(LSTM(2, 5, seed=3, truncate_gradient=4, peepholes=True), seed=5)
        loss = (layer(x, mask=mask) ** 2).mean()
        grads = pytensor.grad(loss, layer.params)
        fn = seqgraph.function([x, mask], [loss, *grads], backend="jax")
        results[setting] = fn(data, keep), _programs(fn)[0].cache_path
    assert results["0"][1] != results["1"][1]
    for a, b in zip(results["0"][0], results["1"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _join_rewritten(out, inputs, enabled=True):
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.rewriting.basic import in2out

    from seqgraph import _jax

    fgraph = FunctionGraph(inputs, [out], clone=True)
    with _jax.slab_join(enabled):
        in2out(_jax._make_join_rewriter()).rewrite(fgraph)
    return fgraph, sorted({type(node.op).__name__ for node in fgraph.apply_nodes})


def test_slab_increments_of_zeros_become_one_join():
    rng = np.random.default_rng(0)
    # Slabs whose lengths the types give (see the next test for those they leave open).
    a, b, c = (pt.matrix(name, shape=shape) for name, shape in zip("abc", [(3, 2), (3, 2), (1, 2)]))
    out = pt.zeros((3, 10))
    out = pt.inc_subtensor(out[:, 6:8], a)
    out = pt.set_subtensor(out[:, 0:2], b)
    out = pt.inc_subtensor(out[:, -2:], c)  # c broadcast over the rows; 2:6 left zero
    fgraph, ops = _join_rewritten(out, [a, b, c])
    assert "Join" in ops and "IncSubtensor" not in ops
    values = [
        rng.normal(size=shape).astype(pytensor.config.floatX) for shape in ((3, 2), (3, 2), (1, 2))
    ]
    expected = np.zeros((3, 10), pytensor.config.floatX)
    expected[:, 6:8], expected[:, 0:2], expected[:, 8:] = values[0], values[1], values[2]
    got = pytensor.function(fgraph.inputs, fgraph.outputs[0], mode="FAST_COMPILE")(*values)
    np.testing.assert_array_equal(got, expected)
    # Switched off, the chain stays.
    assert "Join" not in _join_rewritten(out, [a, b, c], enabled=False)[1]
    # Increments covering the whole of an accumulator: one join, added to it.
    acc = pt.tensor("acc", shape=(3, 5))  # the sliced axis must have a known length
    b = pt.matrix("b", shape=(3, 3))
    out = pt.inc_subtensor(pt.inc_subtensor(acc[:, 3:], a)[:, :3], b)
    fgraph, ops = _join_rewritten(out, [acc, a, b])
    assert "Join" in ops and "IncSubtensor" not in ops
    start, first, second = (
        rng.normal(size=shape).astype(pytensor.config.floatX) for shape in ((3, 5), (3, 2), (3, 3))
    )
    expected = start.copy()
    expected[:, 3:] += first
    expected[:, :3] += second
    got = pytensor.function(fgraph.inputs, fgraph.outputs[0], mode="FAST_COMPILE")(
        start, first, second
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_slab_values_broadcast_as_the_increments_broadcast_them():
    # An increment broadcasts a value of one row over the slab's rows even where
    # the value's type leaves its length open (a reshape's); the join must give
    # the increments' values (it once joined the single rows: a (1, 6) result).
    from seqgraph import _jax

    v, w = pt.vector("v"), pt.vector("w")
    rows = [pt.reshape(x, (x.shape[0] // 3, 3)) for x in (v, w)]
    assert rows[0].type.shape == (None, 3)
    out = pt.inc_subtensor(pt.inc_subtensor(pt.zeros((4, 6))[:, 0:3], rows[0])[:, 3:6], rows[1])
    fgraph, ops = _join_rewritten(out, [v, w])
    assert "Join" in ops and "IncrementBroadcast" in ops and "IncSubtensor" not in ops
    floatx = pytensor.config.floatX
    _jax.install_fixes()
    for one_row in (True, False):
        values = [np.arange(3.0 if one_row else 12.0).astype(floatx) + 10 * k for k in range(2)]
        expected = np.zeros((4, 6), floatx)
        expected[:, :3] += values[0].reshape(-1, 3)
        expected[:, 3:] += values[1].reshape(-1, 3)
        for mode in ("FAST_COMPILE", "JAX"):
            got = pytensor.function(fgraph.inputs, fgraph.outputs[0], mode=mode)(*values)
            np.testing.assert_array_equal(got, expected, err_msg=f"{mode}, one row: {one_row}")
    # A length that is neither 1 nor the slab's fails, as the increment does.
    two_rows = [np.arange(6.0).astype(floatx)] * 2
    with pytest.raises(ValueError):
        pytensor.function(fgraph.inputs, fgraph.outputs[0], mode="FAST_COMPILE")(*two_rows)
    # Values whose types show their shape are joined as they are.
    typed = [pt.matrix(name, shape=(4, 3)) for name in "ab"]
    out = pt.inc_subtensor(pt.inc_subtensor(pt.zeros((4, 6))[:, 0:3], typed[0])[:, 3:6], typed[1])
    ops = _join_rewritten(out, typed)[1]
    assert "Join" in ops and "IncrementBroadcast" not in ops and "Alloc" not in ops


def test_increment_broadcast_op():
    from seqgraph._jax import IncrementBroadcast

    y, base = pt.matrix("y", shape=(None, 3)), pt.tensor3("base", shape=(2, None, 7))
    out = IncrementBroadcast(2, 3)(y, base)
    assert out.type.shape == (2, None, 3)
    fn = pytensor.function([y, base], [out, out.shape], mode="FAST_COMPILE")
    b = np.zeros((2, 4, 7), pytensor.config.floatX)
    for rows in (1, 4):
        value = np.arange(3 * rows, dtype=pytensor.config.floatX).reshape(rows, 3)
        got, shape = fn(value, b)
        np.testing.assert_array_equal(got, np.broadcast_to(value, (2, 4, 3)))
        assert tuple(shape) == (2, 4, 3)
    with pytest.raises(TypeError, match="axis 3 of a 3-d base"):
        IncrementBroadcast(3, 1)(y, base)
    with pytest.raises(NotImplementedError):  # no gradient: it appears after them
        pytensor.grad(out.sum(), y)


@pytest.mark.parametrize(
    "build",
    [
        lambda a, b, n: pt.inc_subtensor(pt.inc_subtensor(pt.zeros((3, 10))[:, 0:4], a)[:, 2:6], b),
        lambda a, b, n: pt.inc_subtensor(pt.inc_subtensor(pt.zeros((3, 10))[:, 0:n], a)[:, 6:], b),
        lambda a, b, n: pt.inc_subtensor(pt.inc_subtensor(pt.zeros((4, 4))[0:2], a)[:, 2:4], b),
        lambda a, b, n: pt.inc_subtensor(pt.inc_subtensor(pt.ones((3, 10))[:, 0:2], a)[:, 6:], b),
    ],
    ids=["overlapping", "symbolic bound", "two axes", "not zeros"],
)
def test_other_slice_increments_are_left_alone(build):
    a, b, n = pt.matrix("a"), pt.matrix("b"), pt.iscalar("n")
    _, ops = _join_rewritten(build(a, b, n), [a, b, n])
    assert "Join" not in ops and "IncSubtensor" in ops


def test_slab_join_setting_and_results(tmp_path, monkeypatch):
    # Gate gradients of an LSTM's and a GRU's step are joined, not built slice
    # by slice, inside the gradient scans; same values either way.
    from pytensor.scan.op import Scan

    from seqgraph import _jax
    from seqgraph.layers import GRU

    assert _jax.slab_join_for("cpu") and not _jax.slab_join_for("cuda")
    monkeypatch.setenv("SEQGRAPH_SLAB_JOIN", "on")
    with pytest.raises(ValueError, match="SEQGRAPH_SLAB_JOIN must be 0 or 1"):
        _jax.slab_join_for("cpu")
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    funcify = _jaxfn.JaxProgram._funcify
    inner_ops = []

    def spy(fgraph):
        program = funcify(fgraph)  # rewrites the scans' inner graphs
        for node in fgraph.apply_nodes:
            if isinstance(node.op, Scan) and node.op.info.n_mit_mot:
                inner_ops.append({type(n.op).__name__ for n in node.op.fgraph.apply_nodes})
        return program

    monkeypatch.setattr(_jaxfn.JaxProgram, "_funcify", staticmethod(spy))
    # PyTensor's scan gradient, as configurations without the written-out one
    # (peepholes, truncation ...) take it.
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "0")
    data = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    for cls in (LSTM, GRU):
        results = {}
        for setting in ("0", "1"):
            monkeypatch.setenv("SEQGRAPH_SLAB_JOIN", setting)
            inner_ops.clear()
            x = pt.tensor3("x", dtype="float32")
            layer = cls(3, 4, seed=2)
            loss = (layer(x) ** 2).mean()
            fn = seqgraph.function([x], [loss, *pytensor.grad(loss, layer.params)], backend="jax")
            results[setting] = fn(data), _programs(fn)[0].cache_path
            [ops] = inner_ops
            assert ("Join" in ops) == (setting == "1"), cls.__name__
            assert ("IncSubtensor" in ops) == (setting == "0"), cls.__name__
        assert results["0"][1] != results["1"][1]
        for a, b in zip(results["0"][0], results["1"][0]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_scan_unroll_setting(tmp_path, monkeypatch):
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_SCAN_UNROLL", "4")
    assert _jax.unroll_for("cpu") == (4, 4)
    monkeypatch.setenv("SEQGRAPH_SCAN_UNROLL", "4,1")
    assert _jax.unroll_for("cuda") == (4, 1)
    for bad in ("0", "two", "1,2,3"):
        monkeypatch.setenv("SEQGRAPH_SCAN_UNROLL", bad)
        with pytest.raises(ValueError, match="SEQGRAPH_SCAN_UNROLL must be an integer >= 1"):
            _jax.unroll_for("cpu")
    # Programs traced with another unroll are cached apart, and compute the same.
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    data = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    results = {}
    for setting in ("1", "3"):
        monkeypatch.setenv("SEQGRAPH_SCAN_UNROLL", setting)
        x, loss, grads, _, _ = _lstm_graph()
        fn = seqgraph.function([x], [loss, *grads], backend="jax")
        results[setting] = fn(data), _programs(fn)[0].cache_path
    assert results["1"][1] != results["3"][1]
    for a, b in zip(results["1"][0], results["3"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _lstm_gradient_hlo(**options):
    """Loss and gradients of a masked LSTM on the JAX backend, and XLA's optimised HLO."""
    values, compiled = _lstm_gradient_compiled(**options)
    return values, compiled.as_text()


def _lstm_gradient_compiled(**options):
    """Loss and gradients of a masked LSTM on the JAX backend, and XLA's compiled program."""
    x = pt.tensor3("x", dtype="float32")
    mask = pt.matrix("mask", dtype="float32")
    layer = LSTM(3, 6, seed=1, **options)
    loss = (layer(x, mask=mask) ** 2).mean()
    grads = pytensor.grad(loss, layer.params)
    fn = seqgraph.function([x, mask], [loss, *grads], backend="jax")
    rng = np.random.default_rng(2)
    data = rng.normal(size=(2, 9, 3)).astype("float32")
    keep = np.ones((2, 9), "float32")
    keep[1, 6:] = 0
    values = fn(data, keep)
    [program] = _programs(fn)
    return values, program._fn.lower(data, keep, *fn._shared_values()).compile()


def _compiled_lstm_step(monkeypatch, in_place, **options):
    """Loss, gradients and the number of reversals in XLA's optimised HLO of a masked LSTM's
    gradient (truncated, with peepholes: PyTensor's scan gradient, unless ``options``)."""
    import re

    from seqgraph import _jax

    if not in_place:
        monkeypatch.setattr(
            _jax, "_reversed_sequences", lambda op, node, overwriting=False: ((), (), ())
        )
    values, text = _lstm_gradient_hlo(**(options or dict(truncate_gradient=5, peepholes=True)))
    return values, len(re.findall(r" reverse\(", text))


def test_gradient_scans_read_and_write_the_forward_buffers_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    with monkeypatch.context() as patch:
        plain, plain_reversals = _compiled_lstm_step(patch, in_place=False)
    in_place, reversals = _compiled_lstm_step(monkeypatch, in_place=True)
    for a, b in zip(in_place, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # PyTensor's reversed copies of the forward sequences and of the stacked
    # gradients cancel against the scan's back-to-front reads and writes.
    assert reversals < plain_reversals


def test_lstm_gradient_scan_stacks_its_gate_gradients_once(monkeypatch):
    # With static shapes the gradient scan's two stacked gate gradients (one for
    # the input projection, one for the recurrent weights) are merged.
    from pytensor.scan.op import Scan

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "0")  # PyTensor's scan gradient
    stacked = []
    funcify = _jaxfn.JaxProgram._funcify

    def spy(fgraph):
        for node in fgraph.apply_nodes:
            if isinstance(node.op, Scan) and node.op.info.n_mit_mot:
                stacked.append(node.op.info.n_nit_sot)
        return funcify(fgraph)

    monkeypatch.setattr(_jaxfn.JaxProgram, "_funcify", staticmethod(spy))
    x, loss, grads, _, _ = _lstm_graph()
    fn = seqgraph.function([x], [loss, *grads], backend="jax")
    fn(np.ones((2, 5, 3), dtype="float32"))
    assert stacked == [1]


def test_digest_of_symbolic_ops():
    # log_softmax is an OpFromGraph whose inner graph its parameters define.
    from pytensor.tensor.special import log_softmax

    def digest(axis):
        x = pt.matrix("x", dtype="float32", shape=(2, 3))
        return _jaxfn.graph_digest([x], [log_softmax(x, axis=axis)])

    assert digest(1) == digest(1)
    assert digest(1) != digest(0)


def test_written_out_gradient_reads_its_reversed_sequences_in_place(monkeypatch):
    # The written-out gradient's backward scan (a plain scan, go_backwards) reads
    # the forward outputs reversed and its outputs are read reversed: no copies.
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    with monkeypatch.context() as patch:
        plain, plain_reversals = _compiled_lstm_step(patch, in_place=False, learn_init=True)
    in_place, reversals = _compiled_lstm_step(monkeypatch, in_place=True, learn_init=True)
    for a, b in zip(in_place, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert reversals < plain_reversals


def _overwrite_without(monkeypatch, name, replacement):
    """XLA's programs of the written-out LSTM gradient with ``seqgraph._jax``'s ``name``
    replaced, then as it is (overwriting on); checks that their values agree."""
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_SCAN_OVERWRITE", "1")
    with monkeypatch.context() as patch:
        patch.setattr(_jax, name, replacement)
        before, before_compiled = _lstm_gradient_compiled(learn_init=True)
    after, after_compiled = _lstm_gradient_compiled(learn_init=True)
    for a, b in zip(after, before, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    return before_compiled, after_compiled


def _occurrences(pattern, *compiled):
    """How often ``pattern`` occurs in each compiled program's optimised HLO."""
    import re

    return [len(re.findall(pattern, program.as_text())) for program in compiled]


def _temp_bytes(*compiled):
    """XLA's temporaries of each compiled program, in bytes."""
    return [program.memory_analysis().temp_size_in_bytes for program in compiled]


def _overwrite_step(monkeypatch, enabled):
    """Loss, gradients and XLA's temporaries of the written-out LSTM gradient."""
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_SCAN_OVERWRITE", "1" if enabled else "0")
    values, compiled = _lstm_gradient_compiled(learn_init=True)
    return values, compiled.memory_analysis().temp_size_in_bytes


def test_gate_gradients_take_the_buffer_of_the_gate_activations(monkeypatch):
    # The backward scan reads the stored activations (9 x 2 x 24) back to front
    # and writes the gate gradients of the same shape back to front: it writes
    # them over the activations instead of filling a new buffer with zeros.
    plain, plain_temp = _overwrite_step(monkeypatch, False)
    over, temp = _overwrite_step(monkeypatch, True)
    for a, b in zip(over, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert plain_temp - temp >= 9 * 2 * 24 * 4


def test_gate_activations_overwritten_later_are_stored_front_to_back(monkeypatch):
    # The forward scan stores the gate activations front to back when the only
    # reader of their reversed view is the backward scan that writes the gate
    # gradients over them: written back to front, XLA had to copy them flipped
    # to start the gradients' buffer.
    compiled = _overwrite_without(monkeypatch, "_overwritten", lambda view: False)
    reversals = _occurrences(r" reverse\(", *compiled)
    assert reversals[1] == reversals[0] - 1
    temps = _temp_bytes(*compiled)
    assert temps[1] <= temps[0]


def test_gate_activations_take_the_buffer_of_the_input_projection(monkeypatch):
    # The forward scan reads step i of the input projection (9 x 2 x 24, read by
    # nothing else) before it writes step i of the gate activations, of the same
    # shape: it writes them over the projection instead of filling a new buffer.
    from seqgraph import _jax

    pairs = []
    real = _jax._read_only_by

    def spy(seq, node, out):
        pairs.append(real(seq, node, out))
        return pairs[-1]

    monkeypatch.setattr(_jax, "_read_only_by", spy)
    compiled = _overwrite_without(monkeypatch, "_read_only_by", lambda seq, node, out: False)
    assert any(pairs)
    # (a fill: a fusion of a constant alone, here of the activations' shape)
    fills = _occurrences(r"f32\[9,2,24\]\{[0-9,]*\} fusion\(%constant[.0-9]*\)", *compiled)
    assert fills[1] == fills[0] - 1
    temps = _temp_bytes(*compiled)
    assert temps[1] < temps[0]


@pytest.mark.parametrize("projection_is_read_elsewhere", [False, True])
def test_outputs_written_over_a_sequence_keep_their_values(
    monkeypatch, projection_is_read_elsewhere
):
    # Step i reads row i (and, prefetching, row i + 1) of the sequence before it
    # writes row i of the output over it; a sequence another node also reads is
    # left alone.
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_SCAN_OVERWRITE", "1")
    monkeypatch.setattr(_jax, "PREFETCH_MIN", 1)  # steps of 6 elements, prefetched
    taken = []
    real = _jax._read_only_by
    monkeypatch.setattr(_jax, "_read_only_by", lambda *args: taken.append(real(*args)) or taken[-1])
    x = pt.tensor3("x", dtype="float32")
    w = pt.matrix("w", dtype="float32")
    projected = pt.tanh(x)

    def step(p, h):
        h = pt.tanh(p + h @ w)
        return h, p * h  # (nothing to move out of the loop: one sequence)

    [_, out], _ = seqgraph.scan(
        step, sequences=projected, outputs_info=[pt.zeros((2, 3), "float32"), None]
    )
    # (a sort, which no rewrite moves an elementwise operation past)
    outputs = [out, pt.sort(projected, axis=0)] if projection_is_read_elsewhere else [out]
    fn = seqgraph.function([x, w], outputs, backend="jax")
    data = np.random.default_rng(0).normal(size=(5, 2, 3)).astype("float32")
    weights = (0.5 * np.eye(3) + 0.1).astype("float32")
    values = fn(data, weights)
    h, expected = np.zeros((2, 3), "float32"), []
    for p in np.tanh(data):
        h = np.tanh(p + h @ weights)
        expected.append(p * h)
    np.testing.assert_allclose(values[0], np.stack(expected), rtol=1e-5, atol=1e-6)
    if projection_is_read_elsewhere:
        np.testing.assert_allclose(values[1], np.sort(np.tanh(data), axis=0), rtol=1e-6)
    assert taken and any(taken) is not projection_is_read_elsewhere


def test_scan_overwrite_setting(monkeypatch):
    from seqgraph import _jax

    monkeypatch.delenv("SEQGRAPH_SCAN_OVERWRITE", raising=False)
    assert _jax.scan_overwrite_for("cpu") and not _jax.scan_overwrite_for("cuda")
    monkeypatch.setenv("SEQGRAPH_SCAN_OVERWRITE", "2")
    with pytest.raises(ValueError, match="SEQGRAPH_SCAN_OVERWRITE must be 0 or 1"):
        _jax.scan_overwrite_for("cpu")


def _loop_copies(monkeypatch, analysis):
    """Loss and gradients of a masked LSTM, its loops, and the copies in their bodies."""
    import re

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_CPU_COPY_ANALYSIS", "1" if analysis else "0")
    values, text = _lstm_gradient_hlo()
    bodies = set(re.findall(r" while\(.*?body=%?([\w.-]+)", text))
    computations = re.split(r"\n(?=%|ENTRY)", text)
    copies = sum(
        len(re.findall(r" copy\(", c))
        for c in computations
        if c.split(" ")[0].lstrip("%") in bodies
    )
    return values, len(bodies), copies


def test_cpu_loops_copy_no_carried_values(monkeypatch):
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_CPU_WIDE_VECTORS", "0")
    assert _jax.compiler_options_for("cpu") == {"xla_cpu_copy_insertion_use_region_analysis": True}
    assert _jax.compiler_options_for("cuda") is None
    # The forward and the written-out backward loop: without the analysis XLA
    # copies carried values in every iteration, with it none; same results.
    plain, loops, plain_copies = _loop_copies(monkeypatch, analysis=False)
    analysed, loops_analysed, copies = _loop_copies(monkeypatch, analysis=True)
    assert loops == loops_analysed == 2
    assert plain_copies > 0 and copies == 0
    for a, b in zip(analysed, plain):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    monkeypatch.setenv("SEQGRAPH_CPU_COPY_ANALYSIS", "0")
    assert _jax.compiler_options_for("cpu") is None
    monkeypatch.setenv("SEQGRAPH_CPU_COPY_ANALYSIS", "on")
    with pytest.raises(ValueError, match="SEQGRAPH_CPU_COPY_ANALYSIS must be 0 or 1"):
        _jax.compiler_options_for("cpu")


def test_cpu_wide_vectors_where_the_cpu_has_avx512(monkeypatch):
    from seqgraph import _jax

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.delenv("SEQGRAPH_CPU_WIDE_VECTORS", raising=False)
    monkeypatch.setattr(_jax, "host_has_avx512", lambda: True)
    assert _jax.compiler_options_for("cpu")["xla_cpu_prefer_vector_width"] == 512
    assert _jax.compiler_options_for("cuda") is None
    wide, _ = _lstm_gradient_compiled()
    v = pt.vector("v", dtype="float32")
    double = seqgraph.function([v], 2 * v, backend="jax")
    double(np.ones(3, "float32"))
    [program] = _programs(double)
    assert program._options["xla_cpu_prefer_vector_width"] == 512
    monkeypatch.setenv("SEQGRAPH_CPU_WIDE_VECTORS", "0")
    assert "xla_cpu_prefer_vector_width" not in _jax.compiler_options_for("cpu")
    narrow, _ = _lstm_gradient_compiled()
    for a, b in zip(wide, narrow):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    monkeypatch.delenv("SEQGRAPH_CPU_WIDE_VECTORS")
    monkeypatch.setattr(_jax, "host_has_avx512", lambda: False)
    assert "xla_cpu_prefer_vector_width" not in _jax.compiler_options_for("cpu")
    monkeypatch.setenv("SEQGRAPH_CPU_WIDE_VECTORS", "yes")
    with pytest.raises(ValueError, match="SEQGRAPH_CPU_WIDE_VECTORS must be 0 or 1"):
        _jax.compiler_options_for("cpu")


def test_host_has_avx512_reads_the_cpu_flags():
    from seqgraph import _jax

    assert isinstance(_jax.host_has_avx512(), bool)
    try:
        with open("/proc/cpuinfo") as info:
            flags = next(line for line in info if line.startswith("flags")).split()
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo flags here")
    assert _jax.host_has_avx512() == ("avx512f" in flags)


def test_written_out_gradient_of_a_batch_of_one_rewrites_without_failures(monkeypatch, capfd):
    # A tagger trained one sentence at a time: the gradient reaching the
    # written-out backward scan has a static batch of 1 while the scan was
    # built for any batch.  PyTensor's scan rewrites then failed its
    # broadcast check (each failure printed and the rewrite skipped).
    import logging

    from seqgraph.models import RNNSLU
    from seqgraph.training import compile_train

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.delenv("SEQGRAPH_FUSED_BPTT", raising=False)
    failures = []

    class Catch(logging.Handler):
        def emit(self, record):
            failures.append(record.getMessage())

    handler = Catch(level=logging.ERROR)
    logging.getLogger("pytensor").addHandler(handler)
    try:
        model = RNNSLU(20, 5, emb_dim=4, num_hidden=6, win=3, seed=0)
        words, mask, labels = pt.lmatrix("words"), pt.matrix("mask"), pt.lmatrix("labels")
        nll = model.nll(words, labels, mask)
        step = compile_train([words, mask, labels], nll, model, "sgd", 0.1, backend="jax")
        rng = np.random.default_rng(0)
        batch = (
            rng.integers(0, 20, (1, 8)),
            np.ones((1, 8), "float32"),
            rng.integers(0, 5, (1, 8)),
        )
        first = float(np.asarray(step(*batch)[0]))
        assert np.isfinite(first) and float(np.asarray(step(*batch)[0])) < first
    finally:
        logging.getLogger("pytensor").removeHandler(handler)
    printed = capfd.readouterr()
    assert not failures
    assert "Rewrite failure" not in printed.err + printed.out


@pytest.mark.parametrize(
    "reduce, transposed",
    [
        (lambda y: (y**2).mean(), False),  # over every axis: reduced untransposed
        (lambda y: pt.exp(-pt.abs(y)).max(), False),  # a chain of one-input operations
        (lambda y: (y**2).sum(axis=(0, 1, 2)), False),  # every axis, named
        (lambda y: (y**2).sum(axis=0), True),  # not every axis: left alone
    ],
)
def test_reductions_over_every_axis_skip_the_transposition(monkeypatch, reduce, transposed):
    from pytensor.tensor.elemwise import DimShuffle

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    graphs = []
    funcify = _jaxfn.JaxProgram._funcify
    monkeypatch.setattr(
        _jaxfn.JaxProgram, "_funcify", staticmethod(lambda fg: graphs.append(fg) or funcify(fg))
    )
    x = pt.tensor3("x", dtype="float32")
    fn = seqgraph.function([x], reduce(x.transpose(1, 0, 2)), backend="jax")
    data = np.random.default_rng(0).normal(size=(4, 3, 5)).astype("float32")
    expected = pytensor.function([x], reduce(x.transpose(1, 0, 2)), mode="FAST_COMPILE")(data)
    np.testing.assert_allclose(fn(data), expected, rtol=1e-5)
    [graph] = graphs
    shuffles = [n for n in graph.apply_nodes if isinstance(n.op, DimShuffle)]
    assert bool(shuffles) is transposed


def _weight_gradient_hlo(monkeypatch, setting, rows):
    """``X.T @ G`` for ``X`` of ``rows`` rows: its value and XLA's optimised HLO."""
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    monkeypatch.setenv("SEQGRAPH_TRANSPOSED_COPY", setting)
    x, g = pt.matrix("x", dtype="float32"), pt.matrix("g", dtype="float32")
    fn = seqgraph.function([x, g], pt.dot(x.T, g), backend="jax")
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(rows, 128)).astype("float32")
    gv = rng.normal(size=(rows, 64)).astype("float32")
    value = fn(xv, gv)
    [program] = _programs(fn)
    return value, xv.T @ gv, program._fn.lower(xv, gv).compile().as_text()


@pytest.mark.parametrize("setting", ["0", "1"])
def test_large_transposed_left_operand_is_copied_on_the_cpu(monkeypatch, setting):
    import re

    value, want, text = _weight_gradient_hlo(monkeypatch, setting, rows=1024)
    np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-3)
    # Copied: the product reads a row-major (128, 1024) operand, contracting its
    # second axis; otherwise XLA contracts the first axis of the (1024, 128) input.
    copied = re.search(r"f32\[128,1024\]\{1,0\} (copy|transpose|fusion)", text) is not None
    contracts_rows = re.search(r"lhs_contracting_dims=\{0\}", text) is not None
    assert copied == (setting == "1")
    assert contracts_rows == (setting == "0")


def test_small_transposed_left_operand_is_not_copied(monkeypatch):
    value, want, text = _weight_gradient_hlo(monkeypatch, "1", rows=16)
    np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-4)
    assert "lhs_contracting_dims={0}" in text


def test_transposed_copy_setting(monkeypatch):
    from seqgraph import _jax

    monkeypatch.delenv("SEQGRAPH_TRANSPOSED_COPY", raising=False)
    assert _jax.transposed_copy_for("cpu") and not _jax.transposed_copy_for("cuda")
    monkeypatch.setenv("SEQGRAPH_TRANSPOSED_COPY", "yes")
    with pytest.raises(ValueError, match="SEQGRAPH_TRANSPOSED_COPY must be 0 or 1"):
        _jax.transposed_copy_for("cpu")


def test_a_program_that_cannot_trace_fails_at_its_build_naming_the_shapes(tmp_path, monkeypatch):
    # Sizes that do not match, found by PyTensor when the call's shapes are
    # put in, or only by JAX's tracing (the LSTM's input of 7 features for 3).
    # Either way the error comes from the build (not as a "could not export"
    # warning and then again from the call), with the call's shapes noted.
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x = pt.matrix("x", dtype="float32")
    w = pytensor.shared(np.ones((3, 2), "float32"), name="w")
    f = seqgraph.function([x], x @ w, backend="jax")
    with pytest.raises(ValueError, match="Incompatible shared dimension") as caught:
        f(np.ones((2, 4), "float32"))
    assert "input shapes: x (2, 4)" in "".join(caught.value.__notes__)
    np.testing.assert_allclose(f(np.ones((2, 3), "float32")), np.full((2, 2), 3.0))

    seq = pt.tensor3("seq", dtype="float32")
    g = seqgraph.function([seq], LSTM(3, 4, seed=0)(seq).sum(), backend="jax")
    with pytest.raises(TypeError, match="dot_general") as caught:
        g(np.ones((2, 5, 7), "float32"))
    assert "input shapes: seq (2, 5, 7)" in "".join(caught.value.__notes__)


def test_a_program_that_traces_but_does_not_export_runs_jitted(tmp_path, monkeypatch):
    import jax

    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))

    def refuse(*args, **kwargs):
        raise NotImplementedError("no exportable lowering")

    monkeypatch.setattr(jax.export, "export", refuse)
    x = pt.vector("x", dtype="float32")
    f = seqgraph.function([x], 2 * x, backend="jax")
    with pytest.warns(RuntimeWarning, match="could not export the JAX program"):
        np.testing.assert_allclose(f(np.ones(3, "float32")), [2.0, 2.0, 2.0])
