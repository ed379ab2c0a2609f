"""seqgraph's JAX dispatch: fused elementwise functions on whole arrays, Philox uniform draws."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
import seqgraph.theano
from seqgraph import _jax, _jaxfn
from seqgraph.layers import RandomSource, dropout

jax = pytest.importorskip("jax")
pytest.importorskip("flatbuffers")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))


def _program(fn):
    [program] = [p for p in fn._cache.values() if isinstance(p, _jaxfn.JaxProgram)]
    return program


def _hlo(fn, *args):
    return _program(fn)._fn.lower(*args, *fn._shared_values()).compile().as_text()


# -- fused elementwise ops ----------------------------------------------------------


def test_fused_elementwise_ops_are_traced_on_whole_arrays(monkeypatch):
    _jax.install_fixes()
    calls = []
    vectorize = jax.numpy.vectorize
    monkeypatch.setattr(
        jax.numpy, "vectorize", lambda *a, **k: calls.append(a) or vectorize(*a, **k)
    )
    x, b = pt.matrix("x", dtype="float32"), pt.vector("b", dtype="float32")
    y = pt.tanh(x * 2 + b) * pt.exp(-x) + pt.sigmoid(b)
    fn = seqgraph.function([x, b], y, backend="jax")
    rng = np.random.default_rng(0)
    xv, bv = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=4).astype("float32")
    expected = np.tanh(xv * 2 + bv) * np.exp(-xv) + 1 / (1 + np.exp(-bv))
    np.testing.assert_allclose(fn(xv, bv), expected, rtol=1e-6, atol=1e-6)
    # The rewrites fused the graph, and the fusion was not traced through vmaps.
    assert "fusion" in _hlo(fn, xv, bv)
    assert not calls


def test_fused_function_broadcasts_outputs_and_takes_python_numbers():
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.scalar import Composite, float32

    _jax.install_fixes()
    a, c = float32("a"), float32("c")
    op = Composite([a, c], [a * 2, a + c])  # the first output reads one input only
    fused = _jax._composite_function(op, jax_funcify(op.fgraph))
    av, cv = np.arange(3, dtype="float32")[:, None], np.ones((1, 4), dtype="float32")
    twice, total = fused(av, cv)
    assert twice.shape == total.shape == (3, 4)
    np.testing.assert_array_equal(twice, np.broadcast_to(av * 2, (3, 4)))
    np.testing.assert_array_equal(total, av + cv)
    single = Composite([a], [a * 3])
    value = _jax._composite_function(single, jax_funcify(single.fgraph))(2.0)
    assert isinstance(value, jax.Array) and float(value) == 6.0


# -- uniform draws ---------------------------------------------------------------------


def _uniform_fn(low, high, size, dtype, seed=3):
    gen = pytensor.shared(np.random.default_rng(seed))
    x = pt.vector("x", dtype=dtype)
    _, draw = pt.random.uniform(low, high, size=size, rng=gen, dtype=dtype, return_next_rng=True)
    return seqgraph.function([x], draw + x[0], backend="jax"), gen


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_draws_are_uniform_over_the_interval(dtype):
    fn, _ = _uniform_fn(-2.0, 3.0, (200_000,), dtype)
    zero = np.zeros(1, dtype=dtype)
    a, b = fn(zero), fn(zero)
    assert a.dtype == dtype and a.shape == (200_000,)
    assert a.min() >= -2.0 and a.max() < 3.0
    # Mean 0.5, standard deviation 5 / sqrt(12); each bin of ten holds a tenth.
    assert abs(a.mean() - 0.5) < 0.02
    assert abs(a.std() - 5 / np.sqrt(12)) < 0.01
    counts = np.histogram(a, bins=10, range=(-2.0, 3.0))[0] / a.size
    np.testing.assert_allclose(counts, 0.1, atol=0.004)
    assert not np.array_equal(a, b)  # the state advances per call
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01
    # Values use the mantissa: float32 draws are not all multiples of 2**-8 and
    # float64 draws have more than float32's 23 bits.
    unit = (a + 2.0) / 5.0
    assert np.any(unit * 2**8 != np.floor(unit * 2**8))
    if dtype == "float64":
        assert np.any(unit.astype("float32").astype("float64") != unit)


def test_uniform_draws_take_one_philox_generator_and_no_loops():
    fn, _ = _uniform_fn(0.0, 1.0, (16, 128), "float32")
    zero = np.zeros(1, dtype="float32")
    fn(zero)
    lowered = _program(fn)._fn.lower(zero, *fn._shared_values())
    assert "stablehlo.rng_bit_generator" in lowered.as_text()
    assert " while(" not in lowered.compile().as_text()  # no threefry loop
    state = fn._shared_values()[0]
    assert _jax.PHILOX_STATE in state


def test_uniform_stream_restarts_from_a_generator_set_again():
    fn, gen = _uniform_fn(0.0, 1.0, (50,), "float32", seed=11)
    zero = np.zeros(1, dtype="float32")
    first, second = fn(zero), fn(zero)
    gen.set_value(np.random.default_rng(11))
    np.testing.assert_array_equal(fn(zero), first)
    np.testing.assert_array_equal(fn(zero), second)
    other, _ = _uniform_fn(0.0, 1.0, (50,), "float32", seed=12)
    assert not np.array_equal(other(zero), first)


def test_philox_state_is_the_jax_key_and_a_zero_counter():
    state = _jax.philox_state(np.array([7, 9], dtype=np.uint32))
    assert state.dtype == np.uint32
    np.testing.assert_array_equal(state, [7, 9, 0, 0])


def test_dropout_keeps_its_fraction_on_jax():
    x = pt.matrix("x", dtype="float32")
    fn = seqgraph.function([x], dropout(x, 0.3, RandomSource(0)), backend="jax")
    a = fn(np.ones((400, 500), dtype="float32"))
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((a == 0).mean() - 0.3) < 0.005


# PyTensor warns that its JAX functions advance a copy of a shared generator.
@pytest.mark.filterwarnings("ignore:The RandomType SharedVariables")
def test_uniform_without_seqgraph_state_is_sampled_as_pytensor_does():
    # PyTensor's own JAX functions hold states without seqgraph's Philox entry.
    _jax.install_fixes()
    gen = pytensor.shared(np.random.default_rng(5))
    _, draw = pt.random.uniform(0.0, 1.0, size=(1000,), rng=gen, return_next_rng=True)
    fn = pytensor.function([], draw, mode="JAX", updates={gen: draw.owner.outputs[0]})
    a, b = np.asarray(fn()), np.asarray(fn())
    assert 0.0 <= a.min() and a.max() < 1.0 and abs(a.mean() - 0.5) < 0.05
    assert not np.array_equal(a, b)


# -- constants ---------------------------------------------------------------------------


@pytest.fixture
def xla_programs(monkeypatch):
    """Every XLA program compiled or read from XLA's on-disk cache from here on."""
    from jax._src import compiler

    programs = []
    compile_or_get_cached = compiler.compile_or_get_cached
    monkeypatch.setattr(
        compiler,
        "compile_or_get_cached",
        lambda *a, **k: programs.append(a) or compile_or_get_cached(*a, **k),
    )
    return programs


def test_constants_reach_the_program_without_compiling_programs_of_their_own(xla_programs):
    x = pt.matrix("x", dtype="float32")
    # Shapes no other test uses: a conversion program compiled earlier in the
    # process would not be compiled again.
    shapes = [(2, 7), (7, 7), (1, 7), (2, 1), (5, 7)]
    consts = [np.arange(np.prod(s), dtype="float32").reshape(s) for s in shapes]
    y = x + consts[0] + consts[3] + pt.dot(x, consts[1]) + consts[2] + consts[4][:2] * 2
    fn = seqgraph.function([x], y, backend="jax")
    xv = np.ones((2, 7), dtype="float32")
    expected = xv + consts[0] + consts[3] + xv @ consts[1] + consts[2] + consts[4][:2] * 2
    np.testing.assert_allclose(fn(xv), expected)
    assert len(xla_programs) == 1  # the program alone


# -- the negative log-likelihood's gradient -------------------------------------------


def test_one_hot_increment_of_zeros_is_a_comparison_not_a_scatter():
    x = pt.matrix("x", dtype="float32")
    y = pt.lvector("y")
    log_probs = pt.special.log_softmax(x, axis=-1)
    loss = -log_probs[pt.arange(y.shape[0]), y].mean()
    fn = seqgraph.function([x, y], [loss, pytensor.grad(loss, x)], backend="jax")
    rng = np.random.default_rng(0)
    xv = rng.normal(size=(6, 4)).astype("float32")
    yv = np.array([0, 3, 1, -1, 2, -4])  # negative labels count from the end
    probs = np.exp(xv) / np.exp(xv).sum(axis=-1, keepdims=True)
    one_hot = np.eye(4, dtype="float32")[yv]
    value, grad = fn(xv, yv)
    np.testing.assert_allclose(value, -np.log(probs[np.arange(6), yv]).mean(), rtol=1e-6)
    np.testing.assert_allclose(grad, (probs - one_hot) / 6, rtol=1e-5, atol=1e-7)
    assert " scatter(" not in _hlo(fn, xv, yv)


def test_increments_that_may_hit_a_row_twice_stay_scatters():
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.rewriting.basic import in2out

    _jax.install_fixes()
    rows, cols = pt.lvector("rows"), pt.lvector("cols")
    z = pt.zeros((3, 4), dtype="float32")
    for index, kept in (((rows, cols), True), ((pt.as_tensor([0, 1, 2]), cols), False)):
        out = pt.inc_subtensor(z[index], 1.0)
        fgraph = FunctionGraph([rows, cols], [out], clone=True)
        in2out(_jax._make_one_hot_rewriter()).rewrite(fgraph)
        ops = [type(n.op).__name__ for n in fgraph.toposort()]
        assert ("AdvancedIncSubtensor" in ops) is kept


def test_one_hot_values_broadcast_as_the_increment_broadcasts_them():
    # A value of one element whose type leaves its length open (a reshape's) is
    # broadcast over the rows by the increment; the comparison must do the same.
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.rewriting.basic import in2out

    _jax.install_fixes()
    v, y = pt.vector("v", dtype="float32"), pt.lvector("y")
    value = pt.reshape(v, (v.shape[0] // 1,))
    assert value.type.shape == (None,)
    out = pt.inc_subtensor(pt.zeros((4, 5), dtype="float32")[np.arange(4), y], value)
    fgraph = FunctionGraph([v, y], [out], clone=True)
    in2out(_jax._make_one_hot_rewriter()).rewrite(fgraph)
    assert "AdvancedIncSubtensor" not in {type(n.op).__name__ for n in fgraph.apply_nodes}
    yv = np.array([0, 1, 2, 4])
    for vv in (np.array([2.0], "float32"), np.arange(4, dtype="float32")):
        expected = np.zeros((4, 5), "float32")
        expected[np.arange(4), yv] += vv
        for mode in ("FAST_COMPILE", "JAX"):
            got = pytensor.function(fgraph.inputs, fgraph.outputs[0], mode=mode)(vv, yv)
            np.testing.assert_array_equal(got, expected, err_msg=f"{mode}, {len(vv)} values")


# -- generator states ----------------------------------------------------------------------


def test_a_generator_state_reaches_the_device_without_programs_of_its_own(xla_programs):
    jax.clear_caches()  # (programs an earlier test compiled would not be compiled again)
    state = _jaxfn.random_state({"bit_generator": 1, "jax_state": np.array([7, 9], dtype="uint32")})
    assert not xla_programs
    for leaf in jax.tree.leaves(state):
        assert isinstance(leaf, jax.Array) and not leaf.weak_type


def test_increments_of_a_constant_other_than_zero_keep_it():
    # 0.5 is not zero, though int(0.5) is: neither the one-hot comparison nor the
    # join of slab increments may drop it.
    x, y = pt.matrix("x", dtype="float32"), pt.lvector("y")
    half = pt.alloc(np.float32(0.5), 3, 6)
    one_hot = pt.inc_subtensor(half[pt.arange(3), y], x[:, 0])
    slabs = pt.set_subtensor(pt.set_subtensor(half[:, :2], x[:, :2])[:, 2:4], x[:, 2:4])
    fn = seqgraph.function([x, y], [one_hot, slabs], backend="jax")
    xv = np.arange(18, dtype="float32").reshape(3, 6)
    yv = np.array([0, 5, 2])
    expected = np.full((3, 6), 0.5, dtype="float32")
    expected[np.arange(3), yv] += xv[:, 0]
    got_one_hot, got_slabs = fn(xv, yv)
    np.testing.assert_array_equal(got_one_hot, expected)
    expected = np.full((3, 6), 0.5, dtype="float32")
    expected[:, :4] = xv[:, :4]
    np.testing.assert_array_equal(got_slabs, expected)


def test_constants_keep_their_dtype_where_no_array_sets_it():
    # Keras 1's max pooling pads with alloc(-inf): a float32 array in PyTensor's
    # types. Had the constant reached JAX as a Python float, the alloc would have
    # been float64 (64-bit types on), and so everything computed from it: here
    # the scan's step, whose carry then changes dtype, which lax.scan refuses.
    x = pt.matrix("x", dtype="float32")
    padded = pt.set_subtensor(pt.alloc(np.float32(-np.inf), x.shape[0], 4)[:, :3], x)
    w = pytensor.shared(np.ones((4, 2), dtype="float32"))
    [h], _ = seqgraph.scan(
        lambda p, h: pt.tanh(p + h),
        sequences=[pt.dot(padded.max(axis=1, keepdims=True), w[:1])],
        outputs_info=[pt.zeros((2,), dtype="float32")],
    )
    fn = seqgraph.function([x], h, backend="jax")
    xv = np.arange(6, dtype="float32").reshape(2, 3) - 2
    h_c = seqgraph.function([x], h, backend="c")(xv)
    got = fn(xv)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, h_c, rtol=1e-6)
    assert "f64" not in _hlo(fn, xv)


def test_gradient_of_an_ifelse_on_a_runtime_condition():
    # Keras's training/inference switch: the gradient's shape must not depend
    # on the condition's value (PyTensor infers it as an ifelse of shapes).
    from seqgraph._compat import ifelse

    x, phase = pt.matrix("x"), pt.scalar("phase", dtype="uint8")
    y = ifelse(phase, (x - x.mean(axis=0, keepdims=True)) * 2, x + 1)
    outs = [y, pytensor.grad((y**2).sum(), x)]
    xv = np.random.default_rng(0).normal(size=(4, 3)).astype(pytensor.config.floatX)
    on_jax = seqgraph.function([x, phase], outs, backend="jax")
    on_c = seqgraph.function([x, phase], outs, backend="c")
    for p in (0, 1):
        for got, expected in zip(on_jax(xv, np.uint8(p)), on_c(xv, np.uint8(p))):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_shape_arithmetic_left_by_the_ifelse_fold_stays_concrete():
    # Folding the shape ifelse (above) happens after PyTensor's last constant
    # folding: a reshape's -1 over it left Switch / Assert arithmetic over
    # constants, fused, as the batch size of a scan's buffer, which jax.jit
    # refused as a traced shape (Keras's BatchNormalization under an LSTM).
    from seqgraph._compat import ifelse

    x, phase = pt.tensor3("x"), pt.scalar("phase", dtype="uint8")
    w = pytensor.shared(np.full((5, 3), 0.1, dtype=pytensor.config.floatX), name="w")
    z = ifelse(phase, x * 2, x * 3).reshape((-1, x.shape[2]))
    xs = (z @ w).reshape((x.shape[0], -1, 3)).dimshuffle(1, 0, 2)
    [h], _ = seqgraph.scan(
        lambda x_t, h: pt.tanh(x_t + h), sequences=xs, outputs_info=pt.zeros((xs.shape[1], 3))
    )
    loss = (h[-1] ** 2).sum()
    outs = [loss, pytensor.grad(loss, w)]
    xv = np.random.default_rng(0).normal(size=(4, 6, 5)).astype(pytensor.config.floatX)
    on_jax = seqgraph.function([x, phase], outs, backend="jax")
    on_c = seqgraph.function([x, phase], outs, backend="c")
    for p in (0, 1):
        for got, expected in zip(on_jax(xv, np.uint8(p)), on_c(xv, np.uint8(p))):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_optimizer_excluding_reaches_the_rewrites_registered_later(tmp_path):
    # PYTENSOR_FLAGS=optimizer_excluding names a seqgraph JAX rewrite, which is
    # registered only when the JAX backend is first used: the query made
    # before must neither break the registration nor lose the exclusion.
    import subprocess
    import sys

    script = (
        "import numpy as np, pytensor.tensor as pt, seqgraph\n"
        "from pytensor.compile.mode import get_mode\n"
        "from seqgraph.backends import get_mode as sg_mode\n"
        # a query naming the rewrite before it exists (the flag's, or a user's)
        "get_mode('JAX').excluding('seqgraph_jax_pad_nit_sot').optimizer\n"
        "x = pt.vector('x')\n"
        "f = seqgraph.function([x], x.argmax(), backend='jax')\n"
        "assert int(f(np.arange(3, dtype=x.dtype))) == 2\n"
        "from pytensor.compile import optdb\n"
        "rewrites = optdb.query(sg_mode('jax').provided_optimizer).data\n"
        "names = {getattr(r, 'name', None) for r in rewrites}\n"
        "assert 'seqgraph_jax_pad_nit_sot' not in names, names\n"
        "assert 'seqgraph_jax_one_hot_increment' in names, names\n"
    )
    env = dict(
        __import__("os").environ,
        PYTENSOR_FLAGS="optimizer_excluding=seqgraph_jax_pad_nit_sot",
        SEQGRAPH_JAX_CACHE=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


# -- sizes known only while tracing ---------------------------------------------------


def _vector_lstm(n_in, n_hid, seed=0):
    """A one-example LSTM whose state is ``[c, h]`` in one vector, theano_lstm's layout.

    Each gate has its own weights and bias.  The step joins the input to
    ``h`` and the new ``c`` to ``h``; the gradient of each join is a split
    whose sizes PyTensor leaves to the lengths of the step's arrays, known
    only when the scan's step is traced.  Returns the parameters and the step.
    """
    rng = np.random.default_rng(seed)
    params = []
    for k in range(4):
        params.append(pytensor.shared(rng.normal(size=(n_hid, n_in + n_hid)) * 0.3, name=f"w{k}"))
        params.append(pytensor.shared(rng.normal(size=n_hid) * 0.1, name=f"b{k}"))

    def step(x, state):
        c, h = state[:n_hid], state[n_hid:]
        obs = pt.concatenate([x, h])
        i, f, o, g = (pt.dot(params[2 * k], obs) + params[2 * k + 1] for k in range(4))
        c = pt.sigmoid(f) * c + pt.sigmoid(i) * pt.tanh(g)
        return pt.concatenate([c, pt.sigmoid(o) * pt.tanh(c)])

    return params, step


def test_a_split_of_sizes_known_when_the_step_is_traced():
    # No sequence gives the step its sizes: its input is the scan's own output,
    # as in theano_lstm's README (a model driving a simulated system), built
    # with PyTensor's scan as Theano code builds it.
    w, step = _vector_lstm(2, 4)
    x0, s0 = pt.dvector("x0"), pt.dvector("s0")

    def drive(x, s):
        s = step(x, s)
        return [pt.tanh(x + s[4:6]), s]

    xs, _ = pytensor.scan(
        drive, outputs_info=[{"initial": x0, "taps": [-1]}, s0], n_steps=5, return_updates=False
    )
    loss = (xs**2).sum()
    outs = [loss, *pytensor.grad(loss, [*w, x0])]
    rng = np.random.default_rng(1)
    args = (rng.normal(size=2), rng.normal(size=8))
    expected = seqgraph.function([x0, s0], outs, backend="c")(*args)
    for got, want in zip(seqgraph.function([x0, s0], outs, backend="jax")(*args), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_values_set_into_an_array_of_another_dtype_are_cast(recwarn):
    # Theano's constants made `alloc(0.0, 4)` float32 also under floatX=float64;
    # a float64 value set into it must not reach JAX's scatter as float64
    # (a FutureWarning now, an error in later JAX releases).
    x = pt.dvector("x")

    def step(v):
        out = pt.alloc(np.float32(0.0), 3)
        out = pt.set_subtensor(out[0], v[1] * 2)
        out = pt.inc_subtensor(out[[1, 2]], v[:2])
        return v[:3] + out

    [ys], _ = seqgraph.scan(step, outputs_info=x, n_steps=4)
    value = np.array([0.5, -1.0, 2.0])
    expected = seqgraph.function([x], ys, backend="c")(value)
    got = seqgraph.function([x], ys, backend="jax")(value)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]


def test_scan_length_and_sizes_given_as_inputs():
    w, step = _vector_lstm(2, 3, seed=2)
    x0, s0 = pt.dvector("x0"), pt.dvector("s0")
    k, n = pt.iscalar("k"), pt.lscalar("n")

    def drive(x, s):
        s = step(x, s)
        return [pt.tanh(x + s[3:5]), s]

    [xs, states], _ = seqgraph.scan(drive, outputs_info=[x0, s0], n_steps=k)
    loss = (xs**2).sum() + pt.arange(n).sum() + pt.alloc(1.0, n, 2).sum()
    outs = [xs, loss, *pytensor.grad(loss, w)]
    on_jax = seqgraph.function([x0, s0, k, n], outs, backend="jax")
    on_c = seqgraph.function([x0, s0, k, n], outs, backend="c")
    assert on_jax._value_inputs == (2, 3)
    rng = np.random.default_rng(3)
    args = [rng.normal(size=2), rng.normal(size=6)]
    for steps, size in ((4, 3), (7, 3), (4, 5), (4, 3)):
        got = on_jax(*args, steps, size)
        assert got[0].shape == (steps, 2)
        for g, e in zip(got, on_c(*args, steps, size)):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    assert len(on_jax._cache) == 3  # one program per (k, n) met


def test_an_integer_input_that_sets_no_size_stays_an_argument():
    x, i = pt.dvector("x"), pt.iscalar("i")
    f = seqgraph.function([x, i], x[i] * 2, backend="jax")
    assert f._value_inputs == ()
    assert [float(f(np.arange(4.0), j)) for j in range(4)] == [0.0, 2.0, 4.0, 6.0]
    assert len(f._cache) == 1


def test_minibatches_selected_by_an_index_input():
    # The tutorials' pattern: givens slice a shared dataset by a minibatch
    # index; the last minibatch is shorter (10 rows in threes).
    data = pytensor.shared(np.arange(20.0).reshape(10, 2), name="data")
    w = pytensor.shared(np.array([0.5, -1.0]), name="w")
    index, x = pt.lscalar("index"), pt.dmatrix("x")
    cost = ((x @ w) ** 2).mean()
    givens = {x: data[index * 3 : (index + 1) * 3]}
    on_jax = seqgraph.function(
        [index], [cost, pytensor.grad(cost, w)], givens=givens, backend="jax"
    )
    on_c = seqgraph.function([index], [cost, pytensor.grad(cost, w)], givens=givens, backend="c")
    for i in (0, 1, 2, 3, 1):
        for got, expected in zip(on_jax(i), on_c(i)):
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert len(on_jax._cache) == 2  # three rows, and the last minibatch's one


def test_slices_and_their_gradients_at_bounds_from_inputs():
    weights = pytensor.shared(np.arange(24.0).reshape(8, 3), name="weights")
    i, k = pt.lscalar("i"), pt.iscalar("k")
    cost = (weights[i : i + k] ** 2).sum() + weights[-k:, 1:].sum()
    outs = [cost, pytensor.grad(cost, weights), pt.set_subtensor(weights[i : i + 2, 0], -1.0)]
    on_jax = seqgraph.function([i, k], outs, backend="jax")
    on_c = seqgraph.function([i, k], outs, backend="c")
    # (negative starts, and slices cut short by the end, as NumPy takes them)
    for args in ((0, 2), (3, 2), (6, 4), (-3, 2), (7, 3)):
        for got, expected in zip(on_jax(*args), on_c(*args)):
            np.testing.assert_allclose(got, expected, rtol=1e-12)


class _RowScale(seqgraph.theano.gof.Op):
    """``x * factor`` per row, a Python op in Theano's form: ``perform``, ``infer_shape``, ``grad``."""

    __props__ = ()

    def make_node(self, x, factor):
        x, factor = pt.as_tensor_variable(x), pt.as_tensor_variable(factor)
        return seqgraph.theano.Apply(self, [x, factor], [x.type()])

    def perform(self, node, inputs, outputs):
        x, factor = inputs
        outputs[0][0] = x * factor[:, None]

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, grads):
        x, factor = inputs
        (g,) = grads
        return [_RowScale()(g, factor), (g * x).sum(axis=1)]


class _Unshaped(_RowScale):
    infer_shape = None


def test_a_python_op_runs_on_the_host_inside_a_scan():
    w = pytensor.shared(np.array([[0.5, -0.2], [0.1, 0.3]]), name="w")
    xs, f0 = pt.dtensor3("xs"), pt.dvector("f0")

    def step(x_t, h, factor):
        return pt.tanh(_RowScale()(x_t @ w, factor) + h)

    [hs], _ = seqgraph.scan(
        step, sequences=xs, outputs_info=pt.zeros((3, 2), dtype="float64"), non_sequences=f0
    )
    loss = (hs**2).sum()
    outs = [loss, *pytensor.grad(loss, [w, f0])]
    rng = np.random.default_rng(4)
    args = (rng.normal(size=(5, 3, 2)), rng.normal(size=3))
    on_jax = seqgraph.function([xs, f0], outs, backend="jax")
    for got, expected in zip(on_jax(*args), seqgraph.function([xs, f0], outs, backend="c")(*args)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert _program(on_jax)._exported is None  # (a callback cannot be exported)


def test_a_python_op_without_infer_shape_takes_its_shapes_from_a_run_on_zeros():
    # theano_lstm's masked_loss has only make_node, perform and grad.
    x, f = pt.dmatrix("x"), pt.dvector("f")
    loss = (_Unshaped()(x, f) ** 2).sum()
    outs = [loss, *pytensor.grad(loss, [x, f])]
    on_jax = seqgraph.function([x, f], outs, backend="jax")
    on_c = seqgraph.function([x, f], outs, backend="c")
    rng = np.random.default_rng(5)
    for rows in (2, 3):  # a second program, probed again
        args = (rng.normal(size=(rows, 4)), rng.normal(size=rows))
        for got, expected in zip(on_jax(*args), on_c(*args)):
            np.testing.assert_allclose(got, expected, rtol=1e-12)


class _Positives(seqgraph.theano.gof.Op):
    """The entries of a vector not below zero: a length that depends on the values."""

    __props__ = ()

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        return seqgraph.theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0][inputs[0] >= 0]


class _NeedsPositives(_Positives):
    def perform(self, node, inputs, outputs):
        if not (inputs[0] > 0).all():
            raise ValueError("only positive values")
        outputs[0][0] = np.log(inputs[0])


def test_a_python_op_whose_shapes_depend_on_its_values_is_refused_on_jax():
    x = pt.dvector("x")
    fn = seqgraph.function([x], _Positives()(x), backend="jax")
    np.testing.assert_array_equal(fn(np.array([1.0, 2.0])), [1.0, 2.0])  # as on zeros
    with pytest.raises(Exception, match=r"_Positives gave outputs of shapes \[\(1,\)\] where"):
        fn(np.array([-1.0, 2.0]))
    with pytest.raises(NotImplementedError, match="failed on zeros of shapes"):
        seqgraph.function([x], _NeedsPositives()(x), backend="jax")(np.array([1.0, 2.0]))


def test_arange_longer_than_int8_bounds():
    # PyTensor types arange(n)'s bounds 0 and 1 as int8; PyTensor 3.0's JAX
    # dispatch passed them so, and jnp.arange overflowed computing n - 0 for
    # n > 127 under NumPy 2 (arctic-captions' 196 attention locations).
    x = pt.vector("x")
    f = seqgraph.function([x], [pt.arange(x.shape[0]), pt.arange(3, x.shape[0], 2)], backend="jax")
    full, odd = f(np.zeros(200, dtype=x.dtype))
    np.testing.assert_array_equal(full, np.arange(200))
    np.testing.assert_array_equal(odd, np.arange(3, 200, 2))
    assert full.dtype == np.int64


def test_the_gradient_of_a_product_as_on_the_c_backend():
    # grad(prod(x)) divides by a product without the zeros (ProdWithoutZeros),
    # for which PyTensor 3.0 had no JAX code (tree_rnn's test models).
    from pytensor.tensor.math import ProdWithoutZeros

    x = pt.matrix("x")
    y = pt.prod(x, axis=0).sum() + pt.prod(x[1:2] * x[3:4])
    outputs = [y, pytensor.grad(y, x), ProdWithoutZeros(axis=(1,))(x)]
    xv = np.array(
        [[1.0, 2.0, 0.0], [3.0, 0.5, 4.0], [0.0, 0.0, 0.0], [2.0, 1.5, 2.0]], dtype=x.dtype
    )
    on_c = seqgraph.function([x], outputs, backend="c")(xv)
    on_jax = seqgraph.function([x], outputs, backend="jax")(xv)
    for want, got in zip(on_c, on_jax):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_array_equal(on_jax[2], [2.0, 6.0, 0.0, 6.0])  # zeros alone give 0


def test_a_loop_in_a_loop_given_an_input_with_an_axis_of_one():
    # The JAX backend makes a loop's inner variables as static as the call's
    # inputs. A nested loop whose non-sequence got a static axis of length 1
    # (tree_rnn's (1, 2) tree of one internal node) was refused by Scan
    # (another broadcast pattern than its own variable's), the rewrite failed,
    # and the program later failed on a slice with a traced bound.
    M = pt.matrix("M")
    w = pytensor.shared(np.arange(1.0, 4.0).astype(M.dtype), name="w")

    def step(t, acc, M):
        def inner(k, s, M):
            return s + M[0, k] * w[k]

        [run], _ = seqgraph.scan(
            inner,
            sequences=pt.arange(M.shape[1]),
            outputs_info=pt.zeros((), dtype=M.dtype),
            non_sequences=[M],
        )
        return acc + run[-1] * t

    [out], _ = seqgraph.scan(
        step,
        sequences=pt.arange(3).astype(M.dtype),
        outputs_info=pt.zeros((), dtype=M.dtype),
        non_sequences=[M],
    )
    g = pytensor.grad(out[-1], w)
    mv = np.array([[1.0, 2.0, 3.0]], dtype=M.dtype)
    with pytensor.config.change_flags(on_opt_error="raise"):
        got = seqgraph.function([M], [out, g], backend="jax")(mv)
    np.testing.assert_allclose(got[0], [0.0, 14.0, 42.0])
    np.testing.assert_allclose(got[1], [3.0, 6.0, 9.0])  # 3 * M[0]


def _until_loops():
    """Loops that stop early (``until``), as neupy's Wolfe line search nests them."""
    from pytensor.scan.utils import until

    limit = pt.scalar("limit")
    seq = pt.vector("seq")

    def doubling(n, start=1.0):
        return pytensor.scan(
            lambda a: (a * 2, until(a * 2 > limit)),
            outputs_info=pt.as_tensor_variable(np.asarray(start, dtype=limit.dtype)),
            n_steps=n,
            return_updates=False,
        )

    # Two states, one read in full inside the step (`b`), with the sequence.
    def running(x, a, b):
        return [a + x, b * 0.5 + a], until(a + x > limit)

    a, b = pytensor.scan(
        running,
        sequences=seq,
        outputs_info=[pt.zeros((), limit.dtype), pt.ones((), limit.dtype)],
        return_updates=False,
    )
    # Fibonacci (two taps) and a value computed each step (nit-sot).
    fib, squares = pytensor.scan(
        lambda f2, f1: ([f1 + f2, (f1 + f2) ** 2], until(f1 + f2 > limit)),
        outputs_info=[
            {"initial": pt.as_tensor_variable(np.ones(2, limit.dtype)), "taps": [-2, -1]},
            None,
        ],
        n_steps=30,
        return_updates=False,
    )

    # A loop that stops early in the step of one that stops early, all of
    # whose states the inner step keeps (neupy: `outs[-1][-1]`).
    def outer(x, total):
        inner = doubling(10, 1.0)
        return total + inner[-1] * x, until(total > 5 * limit)

    nested = pytensor.scan(
        outer, sequences=seq, outputs_info=pt.zeros((), limit.dtype), return_updates=False
    )
    for_loop = pytensor.scan(
        lambda i: doubling(5)[-1] + i, sequences=pt.arange(3.0), return_updates=False
    )
    cases = {
        "last": doubling(20)[-1],
        "last two": doubling(20)[-2:],
        "states and a sequence": [a[-1], b[-1]],
        "two taps and a computed value": [fib[-1], squares[-1]],
        "nested": nested[-1],
        "in a loop": for_loop,
    }
    return [limit, seq], cases


@pytest.mark.parametrize("case", range(6))
def test_a_loop_that_stops_early_gives_the_c_backend_s_values(case):
    from pytensor.graph import graph_inputs

    (limit, seq), cases = _until_loops()
    name, out = list(cases.items())[case]
    outs = out if isinstance(out, list) else [out]
    inputs = [v for v in (limit, seq) if v in set(graph_inputs(outs))]
    on_c = seqgraph.function(inputs, outs, backend="c")
    on_jax = seqgraph.function(inputs, outs, backend="jax")
    values = {seq: np.asarray([0.5, 2.0, 3.0, 0.25, 4.0, 1.0], seq.dtype)}
    for bound in (3.0, 10.0, 1e9):  # stops at once, later, never
        values[limit] = np.asarray(bound, limit.dtype)
        args = [values[v] for v in inputs]
        for want, got in zip(on_c(*args), on_jax(*args), strict=True):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, err_msg=name)


def test_a_loop_that_stops_early_refuses_to_give_all_its_steps_on_jax():
    inputs, _ = _until_loops()
    from pytensor.scan.utils import until

    steps = pytensor.scan(
        lambda a: (a * 2, until(a * 2 > inputs[0])),
        outputs_info=np.asarray(1.0, inputs[0].dtype),
        n_steps=20,
        return_updates=False,
    )
    f = seqgraph.function(inputs[:1], steps, backend="jax")
    with pytest.raises(NotImplementedError, match=r"stops early .*backend='c'.* keeps 21 values"):
        f(np.asarray(10.0, inputs[0].dtype))
    c = seqgraph.function(inputs[:1], steps, backend="c")
    np.testing.assert_array_equal(c(np.asarray(10.0, inputs[0].dtype)), [2, 4, 8, 16])
