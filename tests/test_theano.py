"""seqgraph.theano: Theano scripts run unchanged and match the native API."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
import seqgraph.theano
from seqgraph.cli import main as cli
from seqgraph.theano._flags import backend_for, read_flags

SCRIPTS = Path(__file__).parent / "theano_scripts"


@pytest.fixture
def run_script(tmp_path):
    """Run a script with `seqgraph run`, return what it saved."""

    def run(name):
        out = tmp_path / f"{name}.npz"
        try:
            assert cli(["run", str(SCRIPTS / name), str(out)]) == 0
        finally:
            seqgraph.theano.uninstall()
        return np.load(out)

    return run


def test_graph_optimization_tutorial_script_gives_theanos_graphs(run_script):
    got = run_script("graph_rewrites.py")
    # Theano 1.0.5's graphs for the same script (it prints a graph as [outputs]).
    theano_graphs = {
        "before": "add(z, mul(true_div(mul(y, x), y), z))",
        "after_global": "add(z, mul(x, z))",
        "after_local": "add(z, mul(x, z))",
        "after_opsub": "mul(x, y)",
        "after_pattern": "add(x, y)",
    }
    for name, expected in theano_graphs.items():
        text = str(got[name])
        assert text.startswith("FunctionGraph(") and text.endswith(")"), text
        assert text[len("FunctionGraph(") : -1] == expected, name


def test_one_output_scan_script_matches_native(run_script):
    got = run_script("elman_one_output.py")
    floatx = pytensor.config.floatX
    rng = np.random.RandomState(0)
    W = pytensor.shared(rng.uniform(-0.5, 0.5, (3, 5)).astype(floatx))
    U = pytensor.shared(rng.uniform(-0.5, 0.5, (5, 5)).astype(floatx))
    v = pytensor.shared(rng.uniform(-0.5, 0.5, (5,)).astype(floatx))
    data_x = rng.normal(size=(4, 7, 3)).astype(floatx)
    data_y = rng.normal(size=(4, 7)).astype(floatx)
    x, y, lr = pt.matrix("x"), pt.vector("y"), pt.scalar("lr")
    [h], _ = seqgraph.scan(
        lambda x_t, h: pt.sigmoid(x_t @ W + h @ U),
        sequences=x,
        outputs_info=pt.zeros((5,), dtype=floatx),
    )
    cost = ((h @ v - y) ** 2).mean()
    grads = pytensor.grad(cost, [W, U, v])
    train = seqgraph.function(
        [x, y, lr],
        cost,
        updates=[(p, p - lr * g) for p, g in zip([W, U, v], grads)],
        backend="c",
    )
    lr_value = np.asarray(0.1, floatx)
    losses = [train(data_x[i % 4], data_y[i % 4], lr_value) for i in range(6)]
    losses.append(train(data_x[0], data_y[0], np.asarray(0.5, floatx)))
    np.testing.assert_allclose(got["losses"], losses, rtol=1e-6)
    for name, var in (("W", W), ("U", U), ("v", v)):
        np.testing.assert_allclose(got[name], var.get_value(), rtol=1e-6, atol=1e-7)


def test_two_output_scan_script_matches_native(run_script):
    got = run_script("lstm_two_outputs.py")
    floatx = pytensor.config.floatX
    rng = np.random.RandomState(1)
    n = 4
    W = pytensor.shared(rng.normal(0, 0.3, (3, 4 * n)).astype(floatx))
    U = pytensor.shared(rng.normal(0, 0.3, (n, 4 * n)).astype(floatx))
    b = pytensor.shared(np.zeros(4 * n, dtype=floatx))
    x = pt.tensor3("x")

    def step(x_t, h_, c_):
        z = x_t @ W + h_ @ U + b
        i, f, o = (pt.sigmoid(z[:, k * n : (k + 1) * n]) for k in range(3))
        c = f * c_ + i * pt.tanh(z[:, 3 * n :])
        h = o * pt.tanh(c)
        return h, c, pt.special.softmax(h, axis=-1).sum()

    zeros = pt.zeros((x.shape[1], n), dtype=floatx)
    (h, c, s), _ = seqgraph.scan(step, sequences=x, outputs_info=[zeros, zeros, None])
    cost = h[-1].sum() + s.sum()
    f = seqgraph.function([x], [h, c, s, cost, *pytensor.grad(cost, [W, U, b])], backend="c")
    want = f(rng.normal(size=(5, 2, 3)).astype(floatx))
    for i, value in enumerate(want):
        np.testing.assert_allclose(got[f"arr_{i}"], value, rtol=1e-5, atol=1e-6)


def test_mrg_dropout_inside_scan_matches_native(run_script):
    got = run_script("mrg_dropout_scan.py")
    first, second = got["first"], got["second"]
    assert set(np.unique(first)) == {0.0, 1.0}
    assert not np.array_equal(first[0], first[1])  # a new mask at each step
    assert not np.array_equal(first, second)  # and on each call
    # The same draws written natively: the stream's first child generator.
    child = int(np.random.default_rng(1234).integers(2**63 - 1))
    g = pytensor.shared(np.random.default_rng(child))
    x = pt.matrix("x")

    def step(x_t, g):
        # n=1: a uniform below p, which JAX runs too (it has no binomial).
        next_g, u = pt.random.uniform(0.0, 1.0, size=x_t.shape, rng=g, return_next_rng=True)
        return x_t * pt.cast(u < 0.5, x_t.dtype), {g: next_g}

    [y], updates = seqgraph.scan(step, sequences=x, non_sequences=[g])
    f = seqgraph.function([x], y, updates=updates, backend="c")
    ones = np.ones((6, 50), dtype=pytensor.config.floatX)
    np.testing.assert_array_equal(first, f(ones))
    np.testing.assert_array_equal(second, f(ones))


def test_theano_flags_set_floatx_in_a_fresh_process(tmp_path):
    """THEANO_FLAGS wins over seqgraph's own default (made float64 here to tell them apart)."""
    out = tmp_path / "out.npz"
    env = dict(os.environ, THEANO_FLAGS="floatX=float32,device=cpu", SEQGRAPH_FLOATX="float64")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "seqgraph.cli",
            "run",
            str(SCRIPTS / "floatx.py"),
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    saved = np.load(out)
    assert saved["W"].dtype == np.float32
    assert str(saved["x_dtype"]) == "float32"


def test_flags_and_theanorc(tmp_path):
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\nfloatX = float64\ndevice = cpu\nmode = NUMBA\n")
    flags = read_flags({"THEANORC": str(rc), "THEANO_FLAGS": "device=cuda0"})
    assert flags == {"floatX": "float64", "device": "cuda0", "mode": "NUMBA"}
    assert backend_for(flags) == ("jax", "gpu")
    assert backend_for({"mode": "NUMBA"}) == ("numba", "cpu")
    with pytest.raises(ValueError, match="device='opencl0'"):
        backend_for({"device": "opencl0"})
    with pytest.raises(ValueError, match="not of the form key=value"):
        read_flags({"THEANO_FLAGS": "floatX"})


def test_theano_api_surface():
    theano = seqgraph.theano
    T = theano.tensor
    v = T.vector("v")
    assert theano.scan(lambda a: a * 2, sequences=v)[0].ndim == 1  # bare variable
    [out], _ = theano.scan(lambda a: a * 2, sequences=v, return_list=True)
    m = T.matrix("m")
    f = theano.function(
        [v, m],
        [
            T.nnet.softmax(v),
            T.nnet.softmax(m),
            T.switch(cond=v > 0, ift=v, iff=-v),
            T.abs_(v),
            theano.gradient.grad_clip(v, -1, 1),
            T.nnet.binary_crossentropy(T.nnet.sigmoid(v), 1),
        ],
    )
    vv = np.array([1.0, -2.0], theano.config.floatX)
    sm_v, sm_m, sw, ab, gc, bce = f(vv, np.array([[0.0, 1.0], [2.0, 2.0]], theano.config.floatX))
    assert sm_v.shape == (1, 2)  # a vector becomes a row, as in Theano
    np.testing.assert_allclose(sm_m.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sw, [1.0, 2.0])
    np.testing.assert_allclose(ab, [1.0, 2.0])
    np.testing.assert_allclose(bce, -np.log(1 / (1 + np.exp(-vv))), rtol=1e-5)
    b = theano.shared(np.zeros((1, 3), theano.config.floatX), broadcastable=(True, False))
    assert b.type.shape == (1, None) and T.unbroadcast(b, 0).type.shape == (None, None)
    # ``from theano import theano``, as the books of its time import it.
    from seqgraph.theano import theano as package

    assert package is theano
    # theano.gof's exceptions, as TheanoLM imports them; a missing input raises it.
    with pytest.raises(theano.gof.MissingInputError):
        theano.function([v], v + m)
    assert issubclass(theano.gof.InconsistencyError, Exception)
    assert theano.gof.MethodNotDefined and theano.gof.Container and theano.gof.generic


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_gradient_reversal_and_undefined_gradients(backend):
    # grad_scale(x, -1) is the gradient reversal layer of domain-adversarial training.
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dvector("x")
    y = (theano.gradient.grad_scale(x, -0.5) ** 2).sum()
    g = theano.grad(y, x)
    got_y, got_g = seqgraph.function([x], [y, g], backend=backend)(np.array([1.0, 3.0]))
    np.testing.assert_allclose(got_y, 10.0)
    np.testing.assert_allclose(got_g, [-1.0, -3.0])
    blocked = theano.gradient.undefined_grad(x).sum()
    with pytest.raises(theano.gradient.NullTypeGradError):
        theano.grad(blocked, x)


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_get_value_gives_a_writable_numpy_array_as_theano_did(backend):
    # The gradient checks of the 2015 RNN tutorials write into get_value()'s
    # array, element by element, and set it back.  A JAX function leaves the
    # variable's value on its device: get_value() still returns NumPy.
    theano = seqgraph.theano
    T = theano.tensor
    w = theano.shared(np.array([1.0, 2.0, 3.0]), name="w")
    x = T.dvector("x")
    loss = theano.function([x], ((w * x) ** 2).sum(), mode=backend.upper())
    grad = theano.function([x], theano.grad(((w * x) ** 2).sum(), w), mode=backend.upper())
    step = theano.function(
        [x],
        [],
        updates=[(w, w - 0.01 * theano.grad(((w * x) ** 2).sum(), w))],
        mode=backend.upper(),
    )
    xs = np.array([0.5, -1.0, 2.0])
    step(xs)
    value = w.get_value()
    assert type(value) is np.ndarray and value.flags.writeable
    h, estimate = 1e-6, []
    it = np.nditer(value, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        original = value[ix]
        value[ix] = original + h
        w.set_value(value)
        plus = loss(xs)
        value[ix] = original - h
        w.set_value(value)
        minus = loss(xs)
        value[ix] = original
        w.set_value(value)
        estimate.append((plus - minus) / (2 * h))
        it.iternext()
    np.testing.assert_allclose(estimate, grad(xs), rtol=1e-7)
    # borrow=True too (Theano's variables on the GPU gave a host copy); the
    # device array where asked for.
    assert type(w.get_value(borrow=True)) is np.ndarray
    step(xs)
    internal = w.get_value(return_internal_type=True)
    assert type(internal) is not np.ndarray or backend == "c"
    np.testing.assert_array_equal(np.asarray(internal), w.get_value())
    assert type(pickle.loads(pickle.dumps(w)).get_value()) is np.ndarray


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_theano_function_outputs_can_be_written_into(backend):
    # TheanoLM divides a score it got in place (lm_score /= log_scale); a JAX
    # function's results are read-only views, copied for Theano code.
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dvector("x")
    f = theano.function([x], [x.sum(), 2 * x], mode=backend.upper())
    total, doubled = f(np.ones(3))
    total /= 2
    doubled += 1
    assert float(total) == 1.5
    np.testing.assert_array_equal(doubled, [3.0, 3.0, 3.0])
    single = theano.function([x], T.exp(x), mode=backend.upper())(np.zeros(2))
    single *= 2
    np.testing.assert_array_equal(single, [2.0, 2.0])


def test_a_draw_made_before_the_loop_is_drawn_again_at_each_step_as_in_theano(c_or_jax):
    # Theano's scan applied the default update of every shared variable its
    # step reached: a draw made outside the step and read in it (a closure)
    # was drawn anew at each step, the first step's value being the one drawn
    # outside. arctic-captions' stochastic attention reads its sampling switch
    # that way. Theano 1.0.5 on this graph: five different increments per
    # call, the first equal to m.
    theano = seqgraph.theano
    T = theano.tensor
    srng = theano.sandbox.rng_mrg.MRG_RandomStreams(1)
    m = srng.uniform((1,), dtype="float64").sum()
    x0 = T.dscalar("x0")
    out, updates = theano.scan(lambda h: h + m, outputs_info=[x0], n_steps=5)
    assert len(updates) == 1
    f = seqgraph.function([x0], [out, m], updates=updates, backend=c_or_jax)
    first, m_first = f(0.0)
    steps = np.diff(np.r_[0.0, first])
    assert steps[0] == pytest.approx(m_first, abs=1e-12)
    assert len(np.unique(np.round(steps, 12))) == 5
    second, m_second = f(0.0)
    assert m_second != m_first and not np.allclose(second, first)
    # The native seqgraph.scan keeps PyTensor's rule: the same draw in each step.
    [same], _ = seqgraph.scan(lambda h: h + m, outputs_info=[x0], n_steps=5)
    g = seqgraph.function([x0], [same, m], backend=c_or_jax)
    values, m_value = g(0.0)
    np.testing.assert_allclose(np.diff(np.r_[0.0, values]), m_value, rtol=1e-12)


def test_eval_compiles_as_theano_function_does():
    # Theano's x.eval() compiled theano.function(inputs, x); PyTensor's
    # compiles with its default mode, Numba, which failed on a scan graph that
    # Lasagne 0.1's tests evaluate (a typing error in its shape code).
    theano = seqgraph.theano
    T = theano.tensor
    x = T.matrix("x")
    s, _ = theano.scan(lambda a, acc: acc + a, sequences=x, outputs_info=T.zeros((3,), x.dtype))
    xv = np.ones((2, 3), dtype=x.dtype)
    np.testing.assert_array_equal(s.eval({x: xv}), [[1, 1, 1], [2, 2, 2]])
    [(key, fn)] = [(k, f) for k, f in s._fn_cache.items() if k[0] == "seqgraph.theano"]
    assert isinstance(fn, theano.TheanoFunction)
    assert fn.fn.backend == theano.function([x], s).fn.backend  # C unless THEANO_FLAGS say
    s.eval({x: 2 * xv})  # the compiled function is kept
    assert s._fn_cache[key] is fn
    assert "_fn_cache" not in s.__getstate__()
    # Keyword arguments keep PyTensor's eval.
    assert float((x.sum() * 2).eval({x: xv}, mode="FAST_COMPILE")) == 12.0


def test_scan_module_scan_utils_and_scan_op():
    # Lasagne 0.1's tests compare graphs with scan_utils.equal_computations.
    from seqgraph.theano.scan_module.scan_op import Scan
    from seqgraph.theano.scan_module.scan_utils import clone, equal_computations

    T = seqgraph.theano.tensor
    x = T.vector("x")
    y = x * 2
    assert equal_computations([y], [x * 2]) and not equal_computations([y], [x * 3])
    z = clone(y, replace={x: x + 1})
    np.testing.assert_allclose(z.eval({x: np.array([1.0, 2.0], x.dtype)}), [4.0, 6.0])
    out, _ = seqgraph.theano.scan(lambda a: a * 2, sequences=x)
    assert isinstance(out.owner.op, Scan)


def test_scan_module_names_and_until_from_scan_utils():
    # neupy's Wolfe line search ends its loops with scan_utils.until.
    import seqgraph.theano.scan_module as scan_module
    from seqgraph.theano.scan_module.scan_utils import until

    T = seqgraph.theano.tensor
    assert until is scan_module.until
    for name in ("scan", "map", "reduce", "foldl", "foldr", "scan_checkpoints"):
        assert getattr(scan_module, name) is getattr(seqgraph.theano, name), name
    limit = T.scalar("limit")
    doubled, _ = seqgraph.theano.scan(
        lambda a: (a * 2, until(a * 2 > limit)), outputs_info=np.float32(1), n_steps=20
    )
    f = seqgraph.theano.function([limit], doubled)
    np.testing.assert_array_equal(f(np.float32(10)), [2, 4, 8, 16])


def test_typed_list_imports_as_theano_s():
    seqgraph.theano.install()
    try:
        import pytensor.typed_list  # noqa: PLC0415
        import theano.typed_list  # noqa: PLC0415  (neupy's Hessian imports it)

        assert theano.typed_list is pytensor.typed_list
        assert theano.typed_list.TypedListType is pytensor.typed_list.TypedListType
    finally:
        seqgraph.theano.uninstall()


def test_hessian_through_two_stacked_loops_equals_finite_differences():
    """neupy's Hessian method: Theano 1.0.5 got this wrong (not even symmetric)."""
    T = seqgraph.theano.tensor
    rng = np.random.default_rng(0)
    x = T.dmatrix("x")
    w1, u1 = (seqgraph.theano.shared(rng.normal(size=s) * 0.5) for s in ((2, 3), (3, 3)))
    w2, u2 = (seqgraph.theano.shared(rng.normal(size=s) * 0.5) for s in ((3, 2), (2, 2)))
    params = [w1, u1, w2, u2]

    def layer(inputs, w, u, size):
        return seqgraph.theano.scan(
            lambda xt, h: T.tanh(T.dot(xt, w) + T.dot(h, u)),
            sequences=inputs,
            outputs_info=T.zeros((size,), "float64"),
        )[0]

    cost = (layer(layer(x, w1, u1, 3), w2, u2, 2)[-1] ** 2).sum()
    full = T.concatenate([g.flatten() for g in T.grad(cost, params)])
    rows, _ = seqgraph.theano.scan(
        lambda i, full, *ps: T.concatenate([g.flatten() for g in T.grad(full[i], ps)]),
        sequences=T.arange(full.shape[0]),
        non_sequences=[full, *params],
    )
    hessian = seqgraph.theano.function([x], rows)
    gradient = seqgraph.theano.function([x], full)
    xs = rng.normal(size=(5, 2))
    got = hessian(xs)
    flat = np.concatenate([p.get_value().ravel() for p in params])

    def gradient_at(values):
        start = 0
        for p in params:
            size = p.get_value().size
            p.set_value(values[start : start + size].reshape(p.get_value().shape))
            start += size
        return gradient(xs)

    eps = 1e-6
    numeric = np.stack(
        [
            (gradient_at(flat + eps * e) - gradient_at(flat - eps * e)) / (2 * eps)
            for e in np.eye(flat.size)
        ],
        axis=1,
    )
    np.testing.assert_allclose(got, numeric, atol=1e-7)
    np.testing.assert_allclose(got, got.T, atol=1e-12)


def test_variable_with_theanos_defaults_and_is_same_graph():
    # Lasagne 0.1's tests: theano.Variable("myvariable") (a type and nothing
    # else) and gof.graph.is_same_graph. Theano 1.0.5 gives the same answers.
    theano = seqgraph.theano
    T = theano.tensor
    from seqgraph.theano.gof.graph import is_same_graph

    v = theano.Variable("myvariable")
    assert v.owner is None and v.type == "myvariable"
    x, y = T.vector("x"), T.vector("y")
    for var in (v, x, theano.shared(np.zeros(2)), T.constant(1.0)):
        assert isinstance(var, theano.Variable) and isinstance(var, theano.gof.Variable)
    assert issubclass(T.TensorVariable, theano.Variable)
    assert not isinstance(1.0, theano.Variable) and not issubclass(int, theano.Variable)
    assert is_same_graph(x + 1, x + 1) and not is_same_graph(x + 1, y + 1)
    assert is_same_graph(x + 1, y + 1, givens={x: y})
    assert not is_same_graph(x * (y * x), (x * y) * x)


def test_scan_takes_an_empty_dict_as_an_output_not_fed_back():
    # theano-hf's RNN example: outputs_info=[h0, dict()].
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dmatrix("x")
    h0 = theano.shared(np.zeros(3))
    W = theano.shared(np.full((2, 3), 0.1))
    (h, s), _ = theano.scan(
        lambda x_t, h_tm1: [T.tanh(T.dot(x_t, W) + h_tm1), T.tanh(T.dot(x_t, W) + h_tm1).sum()],
        sequences=x,
        outputs_info=[h0, dict()],
    )
    xs = np.ones((4, 2))
    want, state = [], np.zeros(3)
    for row in xs:
        state = np.tanh(row @ W.get_value() + state)
        want.append(state.sum())
    np.testing.assert_allclose(theano.function([x], s)(xs), want, rtol=1e-12)
    with pytest.raises(seqgraph.ScanError, match="initial"):
        theano.scan(lambda x_t, h_tm1: h_tm1 + x_t, sequences=x, outputs_info=[dict(taps=[-1])])


class AXPB(seqgraph.theano.gof.Op):
    """An Op with C code, as Theano's "Extending Theano with a C Op" writes one.

    (At module level: PyTensor's cache of compiled C modules pickles the op.)
    """

    __props__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b
        super().__init__()

    def make_node(self, x):
        x = seqgraph.theano.tensor.as_tensor_variable(x)
        return seqgraph.theano.Apply(self, [x], [x.type()])

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inp, out, sub):
        x, z = inp[0], out[0]
        dtype = node.outputs[0].dtype
        fail = sub["fail"]
        a, b = self.a, self.b
        return f"""
        Py_XDECREF({z});
        {z} = (PyArrayObject*)PyArray_NewCopy({x}, NPY_CORDER);
        if (!{z}) {{ {fail}; }}
        {{
            npy_{dtype}* data = (npy_{dtype}*)PyArray_DATA({z});
            for (npy_intp i = 0; i < PyArray_SIZE({z}); ++i)
                data[i] = data[i] * {a} + {b};
        }}
        """


class AXPBWithPerform(AXPB):
    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * self.a + self.b


def test_an_op_with_c_code_compiles_on_the_c_backend():
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dmatrix("x")
    op = AXPB(4, 5)
    f = theano.function([x], op(x), mode="C")
    value = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f(value), 4 * value + 5)
    # No perform: the other backends refuse it before compiling, naming the op.
    with pytest.raises(NotImplementedError, match="AXPB has C code only"):
        theano.function([x], op(x), mode="JAX")


def test_an_op_with_c_code_and_perform_runs_on_jax_too():
    pytest.importorskip("jax")
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dmatrix("x")
    op = AXPBWithPerform(4, 5)
    value = np.arange(6.0).reshape(2, 3)
    for mode in ("C", "JAX"):
        np.testing.assert_array_equal(theano.function([x], op(x), mode=mode)(value), 4 * value + 5)


def test_missing_theano_api_names_the_replacement():
    seqgraph.theano.install()
    try:
        import theano.tensor as T  # noqa: PLC0415

        assert T is seqgraph.theano.tensor
        with pytest.raises(AttributeError, match=r"nnet.blocksparse is not provided"):
            T.nnet.blocksparse  # noqa: B018
        with pytest.raises(AttributeError, match=r"signal.pool.pool_4d is not provided"):
            T.signal.pool.pool_4d  # noqa: B018
        with pytest.raises(ImportError, match=r"theano.sandbox.cuda is not provided.*JAX"):
            import theano.sandbox.cuda  # noqa: F401, PLC0415
    finally:
        seqgraph.theano.uninstall()
    with pytest.raises(ImportError):
        import theano  # noqa: F401, PLC0415


def test_convolution_and_pooling_import_as_theano_code_imports_them():
    seqgraph.theano.install()
    try:
        import theano  # noqa: PLC0415
        import theano.tensor as T  # noqa: PLC0415
        import theano.tensor.nnet.abstract_conv  # noqa: F401, PLC0415
        from theano.tensor.nnet import conv, conv2d  # noqa: PLC0415
        from theano.tensor.signal import downsample, pool  # noqa: PLC0415
        from theano.tensor.signal.pool import pool_2d  # noqa: PLC0415

        # Lasagne's import-time check for a recent enough Theano.
        assert hasattr(theano.tensor.nnet, "abstract_conv")
        assert T.nnet.conv2d is conv2d and T.signal.pool is pool
        assert pool.pool_2d is pool_2d and callable(downsample.max_pool_2d)
        assert callable(conv.conv2d) and callable(T.nnet.conv2d_transpose)
    finally:
        seqgraph.theano.uninstall()


def test_theano_submodules_that_pytensor_keeps_elsewhere_import():
    seqgraph.theano.install()
    try:
        import pytensor.tensor.extra_ops  # noqa: PLC0415
        import pytensor.tensor.linalg  # noqa: PLC0415
        import theano.tensor.extra_ops as extra_ops  # noqa: PLC0415
        import theano.tensor.nnet.sigm as sigm  # noqa: PLC0415
        from theano.tensor.nlinalg import matrix_inverse  # noqa: PLC0415
        from theano.tensor.nnet.nnet import softmax  # noqa: PLC0415
        from theano.tensor.slinalg import cholesky  # noqa: PLC0415

        assert extra_ops is pytensor.tensor.extra_ops
        # PyTensor's module keeps its own spec, and stays a plain module.
        assert extra_ops.__spec__.name == "pytensor.tensor.extra_ops"
        assert not hasattr(extra_ops, "__path__")
        assert matrix_inverse is pytensor.tensor.linalg.matrix_inverse
        assert cholesky is pytensor.tensor.linalg.cholesky
        assert softmax is seqgraph.theano.tensor.nnet.softmax
        assert sigm.hard_sigmoid is seqgraph.theano.tensor.nnet.hard_sigmoid
        with pytest.raises(ImportError, match="theano.tensor.nosuch is not provided"):
            import theano.tensor.nosuch  # noqa: F401, PLC0415
    finally:
        seqgraph.theano.uninstall()


def test_stack_takes_theano_s_older_form_too():
    T = seqgraph.theano.tensor
    a, b = T.vector("a"), T.vector("b")
    assert T.stack(a, b, a).type.shape == (3, None)  # Theano 0.x: stack(a, b, ...)
    assert T.stack([a, b], axis=1).type.shape == (None, 2)
    assert T.stack([a, b], 1).type.shape == (None, 2)
    assert T.stack(tensors=[a, b]).type.shape == (2, None)
    with pytest.raises(TypeError, match="axis 0 only"):
        T.stack(a, b, axis=1)


def test_flatten_takes_theano_s_older_outdim():
    # Theano 0.7 named the argument outdim (Newmu's tutorials: T.flatten(l3b, outdim=2)).
    T = seqgraph.theano.tensor
    x = T.dtensor4("x")
    assert T.flatten(x, outdim=2).ndim == 2
    assert T.flatten(x, 3).ndim == 3 and T.flatten(x).ndim == 1
    value = np.arange(24.0).reshape(2, 3, 2, 2)
    np.testing.assert_array_equal(
        seqgraph.function([x], T.flatten(x, outdim=2))(value), value.reshape(2, 12)
    )
    with pytest.raises(TypeError, match="disagree"):
        T.flatten(x, ndim=2, outdim=3)


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_lenet_script_learns_as_in_theano(run_script, backend, monkeypatch):
    # The 2013 deeplearning.net style: nnet.conv.conv2d, downsample.max_pool_2d,
    # givens over shared minibatches. Theano 1.0.5 (with pool.pool_2d, as it has
    # no downsample) gave the same costs to 1.1e-6 and the same errors here. On
    # JAX the minibatch index's slices have a length fixed per program.
    if backend == "jax":
        pytest.importorskip("jax")
    monkeypatch.setattr(seqgraph.theano, "_BACKEND", backend)
    got = run_script("lenet_conv_pool.py")
    costs = got["costs"]
    assert costs.shape == (120,)
    np.testing.assert_allclose(costs[0], np.log(2), rtol=1e-5)
    assert costs[-20:].mean() < costs[:20].mean() - 0.3
    assert float(got["before"]) > 0.4
    assert float(got["after"]) < 0.2


def test_replacements_named_for_missing_theano_apis_exist():
    import importlib

    from seqgraph.theano._removed import REMOVED, missing

    for full, hint in REMOVED.items():
        module, _, name = full.rpartition(".")
        message = str(missing(module, name))
        assert full in message
        assert (hint or "no replacement") in message
        if hint and hint.startswith("pytensor."):  # a replacement named by its path exists
            path = hint.split()[0]
            parent, _, attr = path.rpartition(".")
            try:
                importlib.import_module(path)
            except ImportError:
                assert hasattr(importlib.import_module(parent), attr), path


def test_printing_and_gradient_helpers(capsys):
    theano = seqgraph.theano
    T = theano.tensor
    x = T.vector("x")
    shown = theano.printing.Print("x is")(x)
    f = theano.function([x], [shown * 2, theano.gradient.disconnected_grad(x)])
    doubled, same = f(np.array([1.0, 2.0], theano.config.floatX))
    np.testing.assert_allclose(doubled, [2.0, 4.0])
    np.testing.assert_allclose(same, [1.0, 2.0])
    assert "x is" in capsys.readouterr().out
    assert "x" in theano.printing.pp(x * 2)
    text = theano.printing.debugprint(x * 2, file="str")
    assert "Mul" in text
    g = theano.grad(theano.gradient.disconnected_grad(x).sum() + (x**2).sum(), x)
    np.testing.assert_allclose(
        theano.function([x], g)(np.array([1.0, 3.0], theano.config.floatX)), [2.0, 6.0]
    )


def test_compiled_function_shows_its_graph_as_theanos_did():
    theano = seqgraph.theano
    T = theano.tensor
    x = T.vector("x")
    f = theano.function([x], T.exp(x) * 2)
    ops = [node.op for node in f.maker.fgraph.toposort()]
    assert ops and all(isinstance(op, T.Elemwise) for op in ops)
    # The optimised graph: exp and the product fused into one loop.
    assert "Composite" in theano.printing.debugprint(f, file="str")
    pytest.importorskip("jax")
    g = theano.function([x], T.exp(x), mode="JAX")
    with pytest.raises(AttributeError, match="jax backend.*C backend"):
        g.maker  # noqa: B018


def test_mrg_normal_truncate_stays_within_two_standard_deviations():
    theano = seqgraph.theano
    from seqgraph.theano.sandbox.rng_mrg import MRG_RandomStreams

    draw = MRG_RandomStreams(seed=3).normal(size=(20000,), avg=1.0, std=0.5, truncate=True)
    values = theano.function([], draw)()
    assert values.dtype == theano.config.floatX
    assert values.min() >= 1.0 - 1.0 - 1e-5 and values.max() <= 1.0 + 1.0 + 1e-5
    assert abs(values.mean() - 1.0) < 0.02
    # The standard deviation of a normal truncated at +-2 sigma is 0.880 sigma.
    assert abs(values.std() - 0.880 * 0.5) < 0.01


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_mrg_multinomial_counts_draws_per_row(backend):
    # dl4mt's sampler: trng.multinomial(pvals=next_probs).argmax(1).
    if backend == "jax":
        pytest.importorskip("jax")
    from seqgraph.theano.sandbox.rng_mrg import MRG_RandomStreams
    from seqgraph.theano.tensor.shared_randomstreams import RandomStreams

    T = seqgraph.theano.tensor
    pvals = T.matrix("pvals")
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0], [0.25, 0.25, 0.25]], dtype=pvals.dtype)
    mrg = MRG_RandomStreams(seed=1)
    one, many = mrg.multinomial(pvals=pvals), mrg.multinomial(pvals=pvals, n=4000)
    dist = RandomStreams(seed=2).multinomial(size=(2, 3), n=5, pvals=[0.5, 0.5])
    f = seqgraph.function([pvals], [one, many, dist], backend=backend)
    got_one, got_many, got_dist = f(p)
    assert got_one.dtype == got_many.dtype == got_dist.dtype == np.int64
    assert got_one.shape == got_many.shape == (3, 3)
    assert got_dist.shape == (2, 3, 2)
    np.testing.assert_array_equal(got_dist.sum(axis=-1), 5)
    # One draw a row, of an outcome with probability above zero; as in Theano, a
    # draw past the probabilities' sum (0.75 in the last row) counts for none.
    np.testing.assert_array_equal(got_one[:2].sum(axis=1), 1)
    assert got_one[1, 2] == 1 and got_one[2].sum() <= 1
    np.testing.assert_array_equal(got_many[1], [0, 0, 4000])
    np.testing.assert_allclose(got_many[0] / 4000, p[0], atol=0.03)
    np.testing.assert_allclose(got_many[2] / 4000, p[2], atol=0.03)
    assert not (f(p)[0] == got_one).all() or not (f(p)[1] == got_many).all()  # draws anew
    with pytest.raises(ValueError, match="takes no size or ndim"):
        mrg.multinomial(size=(3,), pvals=pvals)
    with pytest.raises(NotImplementedError, match="matrix pvals"):
        mrg.multinomial(pvals=T.vector())
    with pytest.raises(TypeError, match="pvals"):
        mrg.multinomial()


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_mrg_choice_draws_each_row_without_replacement(backend):
    # Theano's MRG choice: a (rows, size) matrix of outcomes drawn without
    # replacement, each draw among the outcomes left, in proportion to p.
    if backend == "jax":
        pytest.importorskip("jax")
    from seqgraph.theano.sandbox.rng_mrg import MRG_RandomStreams

    T = seqgraph.theano.tensor
    pvals = T.matrix("pvals")
    p = np.array(
        [[0.7, 0.2, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 1.0, 3.0]], dtype=pvals.dtype
    )
    reps = 4000
    many = np.repeat(p, reps, axis=0)
    mrg = MRG_RandomStreams(seed=5)
    two = mrg.choice(size=2, replace=False, p=pvals)
    with_replacement = mrg.choice(size=3, p=pvals)
    f = seqgraph.function([pvals], [two, with_replacement], backend=backend)
    drawn, again = f(many)
    assert drawn.dtype == again.dtype == np.int64
    assert drawn.shape == (3 * reps, 2) and again.shape == (3 * reps, 3)
    assert (drawn[:, 0] != drawn[:, 1]).all()
    first, second = (d.reshape(3, reps) for d in drawn.T)

    def freq(draws):
        return np.bincount(draws, minlength=4) / reps

    # First draw: p (rows scaled to sum to one); outcomes of probability 0 never.
    np.testing.assert_allclose(freq(first[0]), p[0], atol=0.025)
    np.testing.assert_allclose(freq(first[1]), p[1], atol=0.025)
    np.testing.assert_allclose(freq(first[2]), p[2] / 4, atol=0.025)
    # Second draw of row 0, summed over the first: e.g. P(1) = 0.7 * 0.2 / 0.3
    # + 0.1 * 0.2 / 0.9.
    np.testing.assert_allclose(freq(second[0]), [0.2528, 0.4889, 0.2583, 0.0], atol=0.025)
    assert set(second[2]) == {2, 3} and (first[2] + second[2] == 5).all()
    # With replacement: independent draws from each row's scaled distribution.
    np.testing.assert_allclose(freq(again.reshape(3, reps, 3)[2].ravel()) / 3, p[2] / 4, atol=0.02)
    assert (drawn != f(many)[0]).any()  # draws anew

    with pytest.warns(DeprecationWarning, match="choice"):
        old = mrg.multinomial_wo_replacement(n=3, pvals=pvals)
    got = seqgraph.function([pvals], old, backend=backend)(p[:2])
    assert got.shape == (2, 3) and all(len(set(row)) == 3 for row in got)
    assert 3 not in got[0]
    with pytest.raises(TypeError, match="p .a matrix"):
        mrg.choice(size=1, replace=False)
    with pytest.raises(TypeError, match="a must be None"):
        mrg.choice(size=1, a=4, replace=False, p=pvals)
    with pytest.raises(NotImplementedError, match="matrix p"):
        mrg.choice(size=1, replace=False, p=T.vector())
    with pytest.raises(ValueError, match="size=5 outcomes without replacement from rows of 4"):
        mrg.choice(size=5, replace=False, p=p)
    with pytest.raises(ValueError, match="size must be >= 1"):
        mrg.choice(size=0, replace=False, p=pvals)
    with pytest.raises(ValueError, match="size must be an integer"):
        mrg.choice(size=T.vector(), replace=False, p=pvals)


def test_none_in_a_partial_index_drops_broadcastable_axes_as_in_theano():
    # Theano 1.0.5 gave these ndims (checked there); dl4mt's one-step decoder
    # indexes its (n, 1) mask as m_[:, None] and expects a matrix.
    T = seqgraph.theano.tensor
    m = T.alloc(1.0, T.lscalar("n"), 1)
    assert m[:, None].ndim == 2
    b = T.TensorType("float64", shape=(None, 1, 1))("b")
    cases = [
        ((slice(None), None), (None, 1)),
        ((0, None), (1,)),
        ((None, slice(None)), (1, None)),
        ((slice(1, None), None), (None, 1)),
    ]
    for index, shape in cases:
        assert b[index].type.shape == shape, index
    bv = np.arange(3.0).reshape(3, 1, 1)
    f = seqgraph.function([b], [b[:, None], b[0, None], b[1:, None]], backend="c")
    got = f(bv)
    np.testing.assert_array_equal(got[0], bv[:, :, 0])
    np.testing.assert_array_equal(got[1], bv[0, 0])
    np.testing.assert_array_equal(got[2], bv[1:, :, 0])
    # Where Theano raised (an axis left out that is not broadcastable), or the
    # index names every axis or holds `...`, NumPy's meaning stays.
    h = T.matrix("h")
    assert h[:, None].ndim == 3 and b[None].ndim == 4
    assert b[:, :, :, None].ndim == 4 and b[..., None].ndim == 4
    from seqgraph.theano._indexing import use_pytensor_newaxis, use_theano_newaxis

    use_pytensor_newaxis()
    try:
        assert m[:, None].ndim == 3
    finally:
        use_theano_newaxis()


# -- Theano APIs of its tutorials: map / reduce / fold, Python ops, Mode, Out ---------


def test_map_reduce_and_folds_match_numpy():
    theano = seqgraph.theano
    T = theano.tensor
    v = T.vector("v")
    zero = T.constant(np.asarray(0, theano.config.floatX))
    squares, _ = theano.map(lambda e: e**2, sequences=v)
    total, _ = theano.reduce(lambda e, acc: acc + e, sequences=v, outputs_info=zero)
    left, _ = theano.foldl(lambda e, acc: acc * 2 + e, sequences=v, outputs_info=zero)
    right, _ = theano.foldr(lambda e, acc: acc * 2 + e, sequences=v, outputs_info=zero)
    both, _ = theano.reduce(
        lambda e, lo, hi: [T.minimum(lo, e), T.maximum(hi, e)],
        sequences=v,
        outputs_info=[v[0], v[0]],
    )
    assert squares.ndim == 1 and total.ndim == 0  # one output comes back bare
    f = theano.function([v], [squares, total, left, right, *both])
    x = np.array([3.0, -1.0, 4.0, 1.0], theano.config.floatX)
    sq, tot, lf, rf, lo, hi = f(x)

    def fold(values):
        acc = 0.0
        for e in values:
            acc = acc * 2 + e
        return acc

    np.testing.assert_allclose(sq, x**2)
    np.testing.assert_allclose(tot, x.sum())
    np.testing.assert_allclose(lf, fold(x))
    np.testing.assert_allclose(rf, fold(x[::-1]))
    assert (lo, hi) == (-1.0, 4.0)


class _Double(seqgraph.theano.Op):
    """The Python op of Theano's "Creating a new Op" tutorial, as written there."""

    __props__ = ()
    performed = 0

    def make_node(self, x):
        x = seqgraph.theano.tensor.as_tensor_variable(x)
        return seqgraph.theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        type(self).performed += 1
        output_storage[0][0] = inputs[0] * 2

    def infer_shape(self, node, i0_shapes):  # Theano's signature, without fgraph
        return i0_shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return eval_points
        return self.grad(inputs, eval_points)


class _DoubleTyped(seqgraph.theano.Op):
    """The same op declared with ``itypes`` / ``otypes`` and Theano's ``L_op``."""

    __props__ = ()
    itypes = [pt.dmatrix]
    otypes = [pt.dmatrix]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0] * 2]


def test_theano_python_op_runs_as_written():
    # filterwarnings=error: PyTensor's deprecation of grad / R_op must not reach users.
    theano = seqgraph.theano
    T = theano.tensor
    x = T.dmatrix("x")
    y = _Double()(x)
    _Double.performed = 0
    shape = theano.function([x], y.shape)(np.ones((5, 4)))
    assert list(shape) == [5, 4] and _Double.performed == 0  # from infer_shape
    g = theano.grad(y.sum(), x)
    rop = theano.gradient.pushforward(y, x, T.ones_like(x), use_op_pushforward=True)
    out, gx, rx, typed = theano.function([x], [y, g, rop, _DoubleTyped()(x)])(np.eye(2))
    np.testing.assert_allclose(out, 2 * np.eye(2))
    np.testing.assert_allclose(gx, 2.0)
    np.testing.assert_allclose(rx, 2.0)
    np.testing.assert_allclose(typed, 2 * np.eye(2))
    rng = np.random.RandomState(0)
    theano.gradient.verify_grad(_Double(), [rng.rand(3, 2)], rng=rng)
    theano.gradient.verify_grad(_DoubleTyped(), [rng.rand(3, 2)], rng=rng)

    class NoGrad(theano.Op):
        __props__ = ()
        itypes, otypes = [pt.dvector], [pt.dvector]

        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = inputs[0]

    with pytest.raises(NotImplementedError, match="NoGrad defines no gradient"):
        v = T.dvector("v")
        theano.grad(NoGrad()(v).sum(), v)


def test_verify_grad_compiles_on_the_theano_backend(monkeypatch):
    theano = seqgraph.theano
    seen = {}

    def record(fun, pt_, **kwargs):
        seen["mode"] = kwargs["mode"]

    monkeypatch.setattr(theano.gradient, "_verify_grad", record)
    theano.gradient.verify_grad(_Double(), [np.ones((2, 2))])
    expected = seqgraph.backends.get_mode(theano._BACKEND)
    assert type(seen["mode"].linker) is type(expected.linker)  # not PyTensor's Numba default


def test_as_op_takes_theanos_infer_shape():
    theano = seqgraph.theano
    from seqgraph.theano.compile.ops import as_op

    calls = []

    def infer_shape_dot(node, input_shapes):  # Theano's form
        calls.append(node)
        return [input_shapes[0][:-1] + input_shapes[1][-1:]]

    @as_op(itypes=[pt.dmatrix, pt.dmatrix], otypes=[pt.dmatrix], infer_shape=infer_shape_dot)
    def numpy_dot(a, b):
        return np.dot(a, b)

    a, b = pt.dmatrices("a", "b")
    prod = numpy_dot(a, b)
    value, shape = theano.function([a, b], [prod, prod.shape])(np.ones((2, 3)), np.ones((3, 4)))
    np.testing.assert_allclose(value, 3.0)
    assert list(shape) == [2, 4] and calls


def test_mode_out_and_compile_modules():
    theano = seqgraph.theano
    from seqgraph.theano import _mode_backend
    from seqgraph.theano.compile.mode import get_default_mode, get_mode
    from seqgraph.theano.compile.sharedvalue import SharedVariable
    from seqgraph.theano.gof import Apply, Op

    assert _mode_backend(theano.Mode(linker="numba")) == ("numba", "cpu")
    assert _mode_backend(theano.Mode(linker="cvm")) == _mode_backend(None)
    assert _mode_backend(get_mode("FAST_COMPILE").excluding("fusion")) == _mode_backend(None)
    assert isinstance(get_default_mode(), theano.Mode)
    with pytest.raises(TypeError, match="get_mode takes a mode name"):
        get_mode(3)
    assert Op is theano.Op and Apply is theano.Apply
    w = theano.shared(np.zeros(3))
    assert isinstance(w, SharedVariable) and isinstance(w, theano.compile.SharedVariable)
    v = theano.tensor.vector("v")
    f = theano.function([v], [theano.Out(v * 3, borrow=True), v + 1])
    tripled, plus = f(np.ones(2, theano.config.floatX))
    np.testing.assert_allclose(tripled, 3.0)
    np.testing.assert_allclose(plus, 2.0)
    single = theano.function([v], theano.Out(v * 2))
    np.testing.assert_allclose(single(np.ones(2, theano.config.floatX)), 2.0)
    with pytest.raises(TypeError, match="Out needs a symbolic variable"):
        theano.Out(3)
    assert "x" in theano.pp(pt.vector("x") * 2)
    assert "x" in theano.printing.pprint(pt.vector("x") * 2)


def test_gradient_and_nnet_helpers_of_old_code():
    theano = seqgraph.theano
    T = theano.tensor
    x = T.vector("x")
    g = theano.grad((theano.gradient.consider_constant(x) * x).sum(), x)
    u = T.vector("u")
    jv = T.Rop(T.tanh(x), x, u)
    vj = T.Lop(T.tanh(x), x, u)
    xs = np.array([0.5, -1.0], theano.config.floatX)
    us = np.array([1.0, 2.0], theano.config.floatX)
    gx, jvx, vjx = theano.function([x, u], [g, jv, vj])(xs, us)
    np.testing.assert_allclose(gx, xs)  # the constant factor gets no gradient
    np.testing.assert_allclose(jvx, us * (1 - np.tanh(xs) ** 2), rtol=1e-5)
    np.testing.assert_allclose(vjx, jvx, rtol=1e-5)
    m, labels = T.matrix("m"), T.ivector("labels")
    p = T.nnet.softmax(m)
    loss = T.nnet.crossentropy_categorical_1hot(p, labels)
    mv = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]], theano.config.floatX)
    got = theano.function([m, labels], loss)(mv, np.array([1, 2], "int32"))
    probs = np.exp(mv) / np.exp(mv).sum(1, keepdims=True)
    np.testing.assert_allclose(got, -np.log(probs[[0, 1], [1, 2]]), rtol=1e-5)
    a = np.array([-2.0, -0.5, 0.0, 1.5], theano.config.floatX)
    elu, selu = theano.function([x], [T.nnet.elu(x, alpha=0.5), T.nnet.selu(x)])(a)
    expected = np.where(a > 0, a, np.expm1(a))
    np.testing.assert_allclose(elu, np.where(a > 0, a, 0.5 * np.expm1(a)), rtol=1e-6)
    np.testing.assert_allclose(
        selu, 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * expected), rtol=1e-6
    )
    soft = theano.function([x], T.nnet.softsign(x))(a)
    np.testing.assert_allclose(soft, a / (1 + np.abs(a)), rtol=1e-6)
    with pytest.raises(TypeError, match="true_one_of_n must be a vector of int labels"):
        T.nnet.crossentropy_categorical_1hot(p, m)
    assert T.NotScalarConstantError is pytensor.tensor.exceptions.NotScalarConstantError


def test_theano_documentation_examples_run_unchanged(run_script):
    got = run_script("docs_examples.py")
    np.testing.assert_allclose(got["power"], np.arange(5) ** 3)
    assert float(got["polynomial"]) == 19.0
    np.testing.assert_array_equal(got["fibonacci"], [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
    assert float(got["summed"]) == 10.0
    np.testing.assert_allclose(got["doubled"], 2 * np.arange(6).reshape(2, 3))
    np.testing.assert_allclose(got["doubled_grad"], 2.0)
    np.testing.assert_allclose(got["dot"], 3.0)
    rng = np.random.RandomState(22)
    np.testing.assert_allclose(got["exp"], np.exp(rng.rand(10 * 30 * 768)), rtol=1e-6)
    assert str(got["used"]) == "Used the cpu"
    assert "Exp" in str(got["graph_text"]) or "exp" in str(got["graph_text"])


# -- grad: one backward pass for a cost's per-parameter calls -------------------


def _elman_cost(theano, rng):
    T = theano.tensor
    floatx = theano.config.floatX
    U = theano.shared(rng.uniform(-0.5, 0.5, (3, 4)).astype(floatx), name="U")
    W = theano.shared(rng.uniform(-0.5, 0.5, (4, 4)).astype(floatx), name="W")
    x = T.matrix("x")
    h, _ = theano.scan(
        lambda x_t, h: T.tanh(T.dot(x_t, U) + T.dot(h, W)),
        sequences=x,
        outputs_info=T.zeros((4,), dtype=floatx),
    )
    return x, U, W, (h**2).sum()


def _scans_under(outputs):
    from pytensor.graph.traversal import ancestors
    from pytensor.scan.op import Scan

    return {
        v.owner for v in ancestors(outputs) if v.owner is not None and isinstance(v.owner.op, Scan)
    }


def test_grad_per_parameter_calls_share_one_backward_scan():
    theano = seqgraph.theano
    T = theano.tensor
    x, U, W, cost = _elman_cost(theano, np.random.RandomState(0))
    # Theano code asks one parameter at a time (the WildML RNN and GRU tutorials).
    dU = T.grad(cost, U)
    dW = theano.grad(cost, wrt=W)
    both = theano.grad(cost, [W, U])
    assert both == [dW, dU]
    # The forward scan and one backward scan; pytensor.grad called per
    # parameter builds a backward scan per call.
    assert len(_scans_under([dU, dW])) == 2
    assert len(_scans_under([pytensor.grad(cost, U), pytensor.grad(cost, W)])) == 3
    xs = np.random.RandomState(1).normal(size=(6, 3)).astype(theano.config.floatX)
    got = theano.function([x], [dU, dW])(xs)
    want = pytensor.function([x], pytensor.grad(cost, [U, W]), mode="FAST_COMPILE")(xs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_grad_of_a_clone_is_not_the_originals():
    theano = seqgraph.theano
    T = theano.tensor
    x, U, W, cost = _elman_cost(theano, np.random.RandomState(0))
    T.grad(cost, U)
    # A clone copies the cost's tag, where the gradients are kept.
    doubled = theano.clone(cost, replace={W: 2 * W})
    got = T.grad(doubled, W)
    xs = np.random.RandomState(1).normal(size=(6, 3)).astype(theano.config.floatX)
    want = pytensor.grad(doubled, W)
    np.testing.assert_allclose(*theano.function([x], [got, want])(xs), rtol=1e-5, atol=1e-6)
    assert not np.allclose(*theano.function([x], [got, T.grad(cost, W)])(xs))
    # theano.clone's own arguments (it was PyTensor's removed clone_replace).
    from pytensor.graph.traversal import graph_inputs

    assert {x, U, W} <= set(graph_inputs([theano.clone(cost)]))
    assert not {x, U, W} & set(graph_inputs([theano.clone(cost, share_inputs=False)]))


def test_grad_keeps_pytensors_errors_for_each_parameter():
    from pytensor.gradient import DisconnectedInputError, NullTypeGradError, undefined_grad

    theano = seqgraph.theano
    T = theano.tensor
    floatx = theano.config.floatX
    w = theano.shared(np.ones(3, floatx), name="w")
    a = theano.shared(np.ones(3, floatx), name="a")
    unused = theano.shared(np.ones(3, floatx), name="unused")
    steps = theano.shared(np.int64(2), name="steps")
    x = T.vector("x")
    cost = (w * x).sum() * steps + undefined_grad(a).sum()
    np.testing.assert_allclose(
        theano.function([x], T.grad(cost, w))(np.arange(3, dtype=floatx)), [0, 2, 4]
    )
    with pytest.raises(NullTypeGradError):
        T.grad(cost, a)
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, unused)
    zero = T.grad(cost, unused, disconnected_inputs="ignore")
    np.testing.assert_array_equal(theano.function([], zero)(), [0, 0, 0])
    # A symbolic input is differentiated as pytensor.grad does.
    np.testing.assert_allclose(theano.function([x], T.grad(cost, x))(np.ones(3, floatx)), [2, 2, 2])


def _gru_lm_loss(params, sentence):
    """The loss of tests/theano_scripts/gru_lm_per_parameter.py, in NumPy float64."""
    E, U, W, b, V, c = params

    def hard_sigmoid(v):
        return np.clip(0.2 * v + 0.5, 0.0, 1.0)

    s, total = np.zeros(U.shape[1]), 0.0
    for word, target in zip(sentence, np.roll(sentence, -1)):
        x_e = E[:, word]
        z = hard_sigmoid(U[0] @ x_e + W[0] @ s + b[0])
        r = hard_sigmoid(U[1] @ x_e + W[1] @ s + b[1])
        h = np.tanh(U[2] @ x_e + W[2] @ (s * r) + b[2])
        s = (1 - z) * h + z * s
        logits = V @ s + c
        total -= logits[target] - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
    return total


def test_tutorial_style_gru_lm_with_per_parameter_grads_runs_unchanged(run_script):
    got = run_script("gru_lm_per_parameter.py")
    params = [got[f"param_{i}"].astype(np.float64) for i in range(6)]
    sentence = got["sentence"]
    loss = _gru_lm_loss(params, sentence)
    np.testing.assert_allclose(got["before"], loss, rtol=1e-5)
    assert float(got["after"]) < 0.5 * loss  # RMSprop with the Param's default decay
    eps = 1e-6
    for i, value in enumerate(params):
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            value[index] += eps
            up = _gru_lm_loss(params, sentence)
            value[index] -= 2 * eps
            down = _gru_lm_loss(params, sentence)
            value[index] += eps
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(got[f"grad_{i}"], numeric, rtol=2e-3, atol=2e-4)


def test_variables_have_theanos_truth_value():
    theano = seqgraph.theano
    T = theano.tensor
    # The RBM tutorial: `if persistent:` on its persistent chain, a shared variable.
    chain = theano.shared(np.zeros((2, 3), theano.config.floatX))
    a, b = T.scalar("a"), T.scalar("b")
    assert chain and a and (a + b)
    with pytest.raises(TypeError, match="symbolic comparison"):
        bool(a < b)
    with pytest.raises(TypeError, match="symbolic comparison"):
        a < b < 2  # noqa: B015
    from seqgraph.theano._truth import use_pytensor_truth, use_theano_truth

    use_pytensor_truth()
    try:
        with pytest.raises(TypeError, match="cannot be converted to Python boolean"):
            bool(chain)
    finally:
        use_theano_truth()


def test_tensor_variable_excludes_shared_variables_and_constants_as_in_theano():
    theano = seqgraph.theano
    T = theano.tensor
    param = theano.shared(np.zeros((1, 4), theano.config.floatX), name="hid_init")
    x = T.matrix("x")
    constant = T.constant(1.0)
    assert isinstance(x, T.TensorVariable) and isinstance(x * 2, T.TensorVariable)
    assert not isinstance(param, T.TensorVariable)
    assert not isinstance(constant, T.TensorVariable)
    assert isinstance(param, T.sharedvar.TensorSharedVariable)
    assert isinstance(constant, T.TensorConstant)
    assert issubclass(type(x), T.TensorVariable) and not issubclass(
        T.TensorConstant, T.TensorVariable
    )
    # Lasagne 0.1's recurrent layers: a given tensor is the initial state as it
    # is; a parameter (a shared variable) is repeated over the batch.
    init = param if isinstance(param, T.TensorVariable) else T.dot(T.ones((x.shape[0], 1)), param)
    batch = np.ones((3, 2), theano.config.floatX)
    assert theano.function([x], init)(batch).shape == (3, 4)


def test_rbm_script_trains_by_cd_and_pcd_and_samples(run_script):
    # The 2013 tutorial's RBM: Gibbs chains in scan drawing from RandomStreams.
    # Theano 1.0.5 ran the same script (its own draws): CD costs -32.2 -> -22.0,
    # PCD -31.3 -> -14.4, free energies -14.3 / -14.0 (data) against -7.9 / -7.5
    # (noise).
    got = run_script("rbm_cd_pcd.py")
    for mode, gain in (("cd", 6.0), ("pcd", 12.0)):
        costs = got[f"{mode}_costs"]
        assert costs.shape == (8,)
        assert costs[-1] > costs[0] + gain, (mode, costs)
        assert float(got[f"{mode}_fe_data"]) < float(got[f"{mode}_fe_noise"]) - 4, mode
    chain = got["pcd_chain"]  # the persistent chain's hidden state, carried by the updates
    assert chain.shape == (20, 24) and set(np.unique(chain)) <= {0.0, 1.0} and chain.any()
    samples = got["samples"]
    assert samples.shape == (3, 10, 36) and set(np.unique(samples)) <= {0.0, 1.0}
    assert not np.array_equal(samples[0], samples[1])  # each call runs the chain on
    np.testing.assert_array_equal(got["chain_after"], samples[-1])


def test_rnnrbm_script_nested_random_scans(run_script):
    # Boulanger-Lewandowski's RNN-RBM: a sampling scan inside the generating
    # scan's step. Theano 1.0.5 ran the script: monitor -7.18 -> -4.16.
    got = run_script("rnnrbm.py")
    costs = got["costs"]
    assert costs.shape == (10,)
    assert costs[0] < -6.5 and -4.6 < costs[-1] < -3.8, costs
    assert costs[0] < costs[4] < costs[-1], costs
    g1, g2 = got["g1"], got["g2"]
    assert g1.shape == (30, 12) and set(np.unique(g1)) <= {0.0, 1.0}
    assert not np.array_equal(g1, g2)  # new draws on each call


def test_hmc_script_samples_its_gaussian(run_script):
    # The 2013 tutorial's HMC sampler: T.grad inside a scan step, a function
    # with no outputs whose updates move the chains. Theano 1.0.5, 1000 draws
    # after 1000 of burn-in: mean off by at most 0.048, covariance by 0.063,
    # acceptance 0.92.
    got = run_script("hmc_gaussian.py")
    samples = got["samples"]
    assert samples.shape == (1500, 5)
    assert np.abs(samples.mean(axis=0) - got["mu"]).max() < 0.25
    assert np.abs(np.cov(samples.T) - got["cov"]).max() < 0.3
    assert 0.8 < float(got["acceptance"]) < 0.97  # adapted towards the target 0.9
    assert 0.01 < float(got["stepsize"]) <= 0.5


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_attention_encoder_decoder_in_the_nmt_tutorials_style_learns(
    run_script, backend, monkeypatch
):
    # Theano 1.0.5 ran the same script: costs 12.52, 11.21, 9.72, 8.51, 8.31,
    # 5.85, 3.98 ... (means of ten updates, every thirty) as here to two
    # decimals until float32 rounding parts them, then 0.242 over the last ten
    # and 20 of 20 test sentences reversed exactly. On JAX the gradient scan's
    # step reshapes by sizes computed from its inputs (they must stay concrete).
    if backend == "jax":
        pytest.importorskip("jax")
    monkeypatch.setattr(seqgraph.theano, "_BACKEND", backend)
    got = run_script("attention_nmt.py")
    costs = got["costs"]
    assert costs.shape == (300,)
    assert costs[-10:].mean() < 0.25 * costs[:10].mean(), costs
    assert got["accuracy"] >= 0.8


# Theano 1.0.5's figures for tests/theano_scripts/stacked_cells_driver.py
# (THEANO_FLAGS=floatX=float64; seqgraph's floatX is float32 here).
_DRIVER_THEANO_COSTS = {0: 0.12009922, 1: 0.11168432, 12: 0.12009031, 24: 0.12008138}
_DRIVER_THEANO_PREDICTION = {
    3: [0.29248055, -0.24974078, -0.18614054, 0.29340551],
    11: [0.21980329, -0.69587624, -0.11477631, 0.62230262],
}
_DRIVER_THEANO_LOSSES = [0.21759924, 0.10697509, 0.09044359, 0.16171761]


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_stacked_cells_driving_a_system_run_as_in_theano(run_script, backend, monkeypatch):
    # A ViewOp subclass that clips gradients, removed by a registered OpRemove;
    # cells whose state [c, h] is joined and sliced each step; the number of
    # steps an input (on JAX, a constant of each program: the gradient's
    # splits then have sizes known only while the step is traced); a Python
    # op built with T.Tensor and T.hashtype (on JAX, run on the host).
    if backend == "jax":
        pytest.importorskip("jax")
        monkeypatch.setitem(seqgraph.theano.config._values, "mode", "JAX")
    monkeypatch.setattr(seqgraph.theano, "_BACKEND", backend)
    got = run_script("stacked_cells_driver.py")
    costs, prediction = got["costs"], got["prediction"]
    assert costs.shape == (25,) and prediction.shape == (12, 4)
    for k, value in _DRIVER_THEANO_COSTS.items():
        np.testing.assert_allclose(costs[k], value, rtol=2e-6)
    for k, value in _DRIVER_THEANO_PREDICTION.items():
        np.testing.assert_allclose(prediction[k], value, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(got["losses"], _DRIVER_THEANO_LOSSES, rtol=2e-6)


def test_hessian_vector_product_through_a_scan_by_r_op(c_or_jax):
    # ESGD (downhill 0.4.0's equilibrated SGD) takes T.Rop of a gradient with
    # respect to the weights: through a scan, the R-op of the scan's gradient,
    # which Theano 1.0.5 failed to compile ("list.remove(x): x not in list" when
    # it merged the two backward scans in place).
    T = seqgraph.theano.tensor
    rng = np.random.default_rng(0)
    x, y, v = T.tensor3("x", dtype="float64"), T.matrix("y", dtype="float64"), T.dmatrix("v")
    W = seqgraph.theano.shared(rng.normal(0, 0.3, (4, 8)))
    U = seqgraph.theano.shared(rng.normal(0, 0.3, (8, 8)))
    out = seqgraph.theano.shared(rng.normal(0, 0.3, (8, 1)))
    h, _ = seqgraph.theano.scan(
        lambda xt, h: T.tanh(T.dot(xt, W) + T.dot(h, U)),
        sequences=x.dimshuffle(1, 0, 2),
        outputs_info=T.zeros((x.shape[0], 8), dtype="float64"),
    )
    grad = T.grad(T.sqr(T.dot(h[-1], out) - y).mean(), U)
    by_r_op = T.Rop(grad, U, v)
    by_grad = T.grad(T.sum(grad * v), U)  # the same product, by a second gradient
    fn = seqgraph.function([x, y, v], [by_r_op, by_grad], backend=c_or_jax)
    got, want = fn(rng.normal(size=(5, 6, 4)), rng.normal(size=(5, 1)), rng.normal(size=(8, 8)))
    assert np.abs(want).max() > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
