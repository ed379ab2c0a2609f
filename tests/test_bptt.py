"""The written-out Elman, LSTM and GRU gradients against the scan gradient they replace."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.builders import OpFromGraph
from pytensor.graph.traversal import ancestors
from pytensor.scan.op import Scan
from pytensor.tensor.math import Dot

import seqgraph
from seqgraph._bptt import fused_bptt_enabled
from seqgraph.layers import GRU, LSTM, Elman

N_IN, N = 3, 4

# The other Elman nonlinearities the written-out gradient takes, checked once each.
OTHER_ELMAN = {
    "elman_relu": lambda **kw: Elman(N_IN, N, "relu", seed=0, **kw),
    "elman_linear": lambda **kw: Elman(N_IN, N, "linear", seed=0, **kw),
}

CELLS = {
    "elman_tanh": lambda **kw: Elman(N_IN, N, seed=0, **kw),
    "elman_sigmoid": lambda **kw: Elman(N_IN, N, "sigmoid", seed=0, **kw),
    "lstm": lambda **kw: LSTM(N_IN, N, seed=0, **kw),
    "gru": lambda **kw: GRU(N_IN, N, seed=0, **kw),
    "gru_reset_after": lambda **kw: GRU(N_IN, N, reset_after=True, seed=0, **kw),
}

OPTIONS = {
    "plain": {},
    "backwards_learn_init": dict(go_backwards=True, learn_init=True),
    "final_time_major": dict(only_return_final=True, time_major=True),
}


@pytest.fixture
def float64():
    with pytensor.config.change_flags(floatX="float64"):
        yield


def randomise(layer, rng):
    layer.set_values(
        {name: rng.normal(0, 0.5, size=v.shape) for name, v in layer.get_values().items()}
    )


def data(rng, time_major=False):
    x = rng.normal(size=(3, 6, N_IN)).astype(pytensor.config.floatX)
    mask = (np.arange(6)[None] < np.array([6, 4, 1])[:, None]).astype(x.dtype)
    return (x.transpose(1, 0, 2) if time_major else x), mask


def gradients(kind, options, fused, monkeypatch, rng, masked=True, backend="c"):
    """Cost and gradients of every parameter and of x, from a layer built fused or not."""
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1" if fused else "0")
    layer = {**CELLS, **OTHER_ELMAN}[kind](**options)
    randomise(layer, np.random.default_rng(7))
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    states = layer.states(x, mask=mask if masked else None)
    # Every state enters the cost, so that each incoming gradient is exercised.
    cost = sum(((s - 0.1 * i) ** 2).sum() for i, s in enumerate(states))
    cost = cost + states[0][..., 0].sum()
    wrt = [*layer.params, x]
    f = seqgraph.function(
        [x, mask], [cost, *pytensor.grad(cost, wrt)], backend=backend, on_unused_input="ignore"
    )
    return f(*data(rng, options.get("time_major", False))), states


# Each (cell, option) pair is a new float64 C graph, several seconds of compiling
# with an empty cache: the default run takes every cell plain and each option on
# two cells; the rest are marked slow.
DEFAULT_RUN = {
    ("elman_tanh", "plain"),
    ("elman_sigmoid", "plain"),
    ("lstm", "plain"),
    ("gru", "plain"),
    ("gru_reset_after", "plain"),
    ("lstm", "backwards_learn_init"),
    ("gru", "backwards_learn_init"),
    ("lstm", "final_time_major"),
    ("gru_reset_after", "final_time_major"),
}


def kinds_and_options():
    return [
        pytest.param(
            kind,
            option,
            id=f"{kind}-{option}",
            marks=() if (kind, option) in DEFAULT_RUN else pytest.mark.slow,
        )
        for option in OPTIONS
        for kind in CELLS
    ]


def some_slow(kinds, default):
    return [pytest.param(k, marks=() if k in default else pytest.mark.slow) for k in kinds]


@pytest.mark.parametrize(("kind", "option"), kinds_and_options())
def test_gradient_equals_scan_gradient(kind, option, float64, monkeypatch):
    want, _ = gradients(kind, OPTIONS[option], False, monkeypatch, np.random.default_rng(0))
    got, states = gradients(kind, OPTIONS[option], True, monkeypatch, np.random.default_rng(0))
    assert any(isinstance(v.owner.op, OpFromGraph) for v in ancestors(states) if v.owner)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", some_slow([*CELLS, *OTHER_ELMAN], {"lstm", "gru", *OTHER_ELMAN}))
def test_gradient_equals_scan_gradient_without_mask(kind, float64, monkeypatch):
    rng = np.random.default_rng
    want, _ = gradients(kind, {}, False, monkeypatch, rng(0), masked=False)
    got, _ = gradients(kind, {}, True, monkeypatch, rng(0), masked=False)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", some_slow(CELLS, {"elman_tanh", "lstm", "gru_reset_after"}))
def test_clipped_gradient_equals_scan_gradient(kind, float64, monkeypatch):
    rng = np.random.default_rng
    clipped = dict(grad_clipping=0.05)
    want, _ = gradients(kind, clipped, False, monkeypatch, rng(0))
    got, _ = gradients(kind, clipped, True, monkeypatch, rng(0))
    free, _ = gradients(kind, {}, True, monkeypatch, rng(0))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # The clip is active at this size: the unclipped gradient differs.
    assert not np.allclose(got[1], free[1])


@pytest.mark.parametrize("kind", ["elman_sigmoid", "lstm", "gru_reset_after"])
def test_jax_gradient_equals_c(kind, monkeypatch):
    pytest.importorskip("jax")
    rng = np.random.default_rng
    want, _ = gradients(kind, {}, True, monkeypatch, rng(0), backend="c")
    got, _ = gradients(kind, {}, True, monkeypatch, rng(0), backend="jax")
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def scans(outputs):
    return {
        v.owner.op.name: v.owner.op
        for v in ancestors(outputs)
        if v.owner is not None and isinstance(v.owner.op, Scan)
    }


def n_dots(op):
    return sum(isinstance(node.op, Dot) for node in op.fgraph.apply_nodes)


@pytest.mark.parametrize(
    ("kind", "forward_dots"),
    [("elman_tanh", 1), ("lstm", 1), ("gru", 2), ("gru_reset_after", 1)],
)
def test_backward_loop_does_not_recompute_the_forward_product(kind, forward_dots, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1")
    layer = CELLS[kind]()
    x = pt.tensor3("x")
    h = layer(x)
    grads = pytensor.grad((h**2).sum(), layer.params)
    # The inlined graphs, as every backend compiles them.
    fgraph = pytensor.graph.FunctionGraph(outputs=grads, clone=True)
    pytensor.compile.optdb.query("+inline_ofg_expansion").rewrite(fgraph)
    found = scans(fgraph.outputs)
    name = {"elman": "ElmanCell", "lstm": "LSTMCell", "gru": "GRUCell"}[kind.split("_")[0]]
    assert set(found) == {f"{name}_scan", f"{name}_bptt"}
    assert n_dots(found[f"{name}_scan"]) == forward_dots
    # Only the products that carry the gradient back one step: none recomputes h @ W_hid.
    assert n_dots(found[f"{name}_bptt"]) == forward_dots


@pytest.mark.parametrize(
    "options",
    [
        dict(peepholes=True),
        dict(gate_nonlinearity="hard_sigmoid"),
        dict(truncate_gradient=2),
        dict(precompute_input=False),
        dict(recurrent_dropout=0.5),
    ],
    ids=["peepholes", "hard_sigmoid", "truncate", "no_precompute", "recurrent_dropout"],
)
def test_other_configurations_take_the_scan_gradient(options, monkeypatch):
    monkeypatch.delenv("SEQGRAPH_FUSED_BPTT", raising=False)
    h = LSTM(N_IN, N, seed=0, **options)(pt.tensor3("x"))
    assert not any(isinstance(v.owner.op, OpFromGraph) for v in ancestors([h]) if v.owner)


def test_recurrent_dropout_off_at_evaluation_takes_the_written_out_gradient(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_FUSED_BPTT", raising=False)
    h = LSTM(N_IN, N, seed=0, recurrent_dropout=0.5)(pt.tensor3("x"), deterministic=True)
    assert any(isinstance(v.owner.op, OpFromGraph) for v in ancestors([h]) if v.owner)


def test_forward_only_function_does_not_store_the_gates(monkeypatch):
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1")
    x = pt.tensor3("x")
    h = LSTM(N_IN, N, seed=0)(x)
    f = pytensor.function([x], h, mode="FAST_RUN")
    [scan] = [n.op for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    assert scan.info.n_nit_sot == 0  # h and c only: the gate activations are dropped


def test_switch(monkeypatch):
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "0")
    assert not fused_bptt_enabled()
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "yes")
    with pytest.raises(ValueError, match="SEQGRAPH_FUSED_BPTT must be 0 or 1"):
        fused_bptt_enabled()
    monkeypatch.delenv("SEQGRAPH_FUSED_BPTT")
    assert fused_bptt_enabled()


def test_elman_with_a_callable_or_hard_nonlinearity_takes_the_scan_gradient(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_FUSED_BPTT", raising=False)
    x = pt.tensor3("x")
    for nonlinearity in (pt.softplus, "hard_sigmoid"):
        h = Elman(N_IN, N, nonlinearity, seed=0)(x)
        assert not any(isinstance(v.owner.op, OpFromGraph) for v in ancestors([h]) if v.owner)
    h = Elman(N_IN, N, "sigmoid", seed=0)(x)
    assert any(isinstance(v.owner.op, OpFromGraph) for v in ancestors([h]) if v.owner)


def test_elman_forward_scan_stores_nothing_but_the_state(monkeypatch):
    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1")
    layer = CELLS["elman_tanh"]()
    x = pt.tensor3("x")
    h = layer(x)
    fgraph = pytensor.graph.FunctionGraph(outputs=pytensor.grad((h**2).sum(), layer.params))
    pytensor.compile.optdb.query("+inline_ofg_expansion").rewrite(fgraph)
    forward = scans(fgraph.outputs)["ElmanCell_scan"]
    # h alone: the backward loop reads the derivative from it (no stash output).
    assert (forward.info.n_sit_sot, forward.info.n_nit_sot) == (1, 0)


def test_lstm_forward_step_computes_its_four_activations_in_one_pass(monkeypatch):
    # The stash is one elementwise result over the whole (batch, 4 * units)
    # block, not four blocks (three sigmoids and a tanh) joined.
    from pytensor.tensor.basic import Join
    from pytensor.tensor.elemwise import Elemwise

    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1")
    layer = CELLS["lstm"]()
    h = layer(pt.tensor3("x"))
    fgraph = pytensor.graph.FunctionGraph(outputs=pytensor.grad((h**2).sum(), layer.params))
    pytensor.compile.optdb.query("+inline_ofg_expansion").rewrite(fgraph)
    forward = scans(fgraph.outputs)["LSTMCell_scan"]
    assert not any(isinstance(node.op, Join) for node in forward.fgraph.apply_nodes)
    stash = forward.fgraph.outputs[-1]
    assert isinstance(stash.owner.op, Elemwise)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_activations_are_sigmoid_and_tanh(dtype):
    from seqgraph._bptt import _lstm_activations

    n = 3
    a = pt.matrix("a", dtype=dtype)
    f = pytensor.function([a], _lstm_activations(a, n))
    values = np.linspace(-40, 40, 5 * 4 * n).reshape(5, 4 * n).astype(dtype)
    got = f(values)
    assert got.dtype == dtype
    sigmoid = 1 / (1 + np.exp(-values.astype("float64")))
    expected = np.where(
        (np.arange(4 * n) // n == 2)[None], np.tanh(values.astype("float64")), sigmoid
    )
    # Absolute error within a few ulps of 1, including saturated gates.
    np.testing.assert_allclose(got, expected, rtol=0, atol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman_tanh"])
def test_building_the_gradient_infers_no_scan_shapes(kind, monkeypatch):
    # The backward scan takes its length from the projected inputs; taken from
    # the forward scan's outputs, PyTensor's static shape inference (run when
    # scan allocates its buffers) inferred the forward scan's shapes again.
    from seqgraph import _bptt

    monkeypatch.setenv("SEQGRAPH_FUSED_BPTT", "1")
    _bptt._make_op.cache_clear()  # a fresh op: its gradient graph is built below
    layer = CELLS[kind]()
    h = layer(pt.tensor3("x"))
    calls = []
    generic = Scan.infer_shape
    monkeypatch.setattr(
        Scan, "infer_shape", lambda self, *a: calls.append(self) or generic(self, *a)
    )
    pytensor.grad((h**2).sum(), layer.params)
    assert not calls
