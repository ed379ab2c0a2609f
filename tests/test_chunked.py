"""Large multi-output elementwise updates computed block by block (JAX programs on the CPU)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph

import seqgraph
from seqgraph import _chunked, _jax
from seqgraph import updates as U

pytest.importorskip("jax")
pytest.importorskip("flatbuffers")

# 1030 x 300 = 309,000 elements (over MIN_ELEMENTS); 109 rows per block: nine
# blocks in the loop and a last one of 49 rows after it.
ROWS, COLS = 1030, 300


def _train(optimizer, chunked, monkeypatch, tmp_path, shape=(ROWS, COLS), extra_output=False):
    monkeypatch.setenv("SEQGRAPH_CHUNKED_UPDATES", "1" if chunked else "0")
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path / ("on" if chunked else "off")))
    rng = np.random.default_rng(0)
    W = pytensor.shared(rng.normal(size=shape).astype("float32"), name="W")
    b = pytensor.shared(np.zeros(shape[1], "float32"), name="b")
    x = pt.matrix("x")
    # W's gradient is x itself: no feedback through W, so the three calls
    # differ from one program to the other by rounding only.
    loss = (W * x).sum() + ((b - 1) ** 2).sum()
    kwargs = {} if optimizer == "adadelta" else {"learning_rate": 0.01}
    updates = getattr(U, optimizer)(loss, [W, b], **kwargs)
    outputs = [loss]
    if extra_output:
        # A value the update computes on the way, read outside it too.
        outputs.append(updates[W] - W)
    f = seqgraph.function([x], outputs, updates=updates, backend="jax")
    data = rng.normal(size=shape).astype("float32")
    results = [f(data) for _ in range(3)]
    [program] = f._cache.values()
    states = [np.asarray(var.get_value()) for var in updates]
    return results, states, program._exported.mlir_module()


@pytest.mark.parametrize("optimizer", ["adadelta", "adam", "rmsprop", "momentum"])
def test_chunked_updates_equal_the_whole_array_updates(optimizer, monkeypatch, tmp_path):
    whole, whole_states, whole_text = _train(optimizer, False, monkeypatch, tmp_path)
    chunked, chunked_states, text = _train(optimizer, True, monkeypatch, tmp_path)
    assert "stablehlo.while" not in whole_text
    assert "stablehlo.while" in text  # the loop over blocks of rows
    for a, b in zip(whole_states, chunked_states, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5)


def test_a_shared_value_read_elsewhere_is_an_output_of_the_blocks(monkeypatch, tmp_path):
    whole, whole_states, _ = _train("adadelta", False, monkeypatch, tmp_path, extra_output=True)
    chunked, chunked_states, text = _train(
        "adadelta", True, monkeypatch, tmp_path, extra_output=True
    )
    assert "stablehlo.while" in text
    for a, b in zip(whole_states, chunked_states, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    for (loss_a, step_a), (loss_b, step_b) in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(loss_b, loss_a, rtol=1e-5)
        np.testing.assert_allclose(step_b, step_a, rtol=1e-5, atol=1e-7)


def test_small_parameters_and_single_outputs_are_left_to_xla(monkeypatch, tmp_path):
    # 100 x 300 is under MIN_ELEMENTS; SGD's update has a single output.
    _, _, text = _train("adadelta", True, monkeypatch, tmp_path, shape=(100, COLS))
    assert "stablehlo.while" not in text
    _, _, text = _train("sgd", True, monkeypatch, tmp_path)
    assert "stablehlo.while" not in text


def _adadelta_graph():
    p, g, a, d = (pt.tensor(n, dtype="float64", shape=(ROWS, COLS)) for n in "pgad")
    rho, eps, one = (pt.constant(v, dtype="float64") for v in (0.9, 1e-6, 1.0))
    a_new = rho * a + (one - rho) * g**2
    step = pt.sqrt(d + eps) / pt.sqrt(a_new + eps) * g
    d_new = rho * d + (one - rho) * step**2
    return [p, g, a, d], [p - step, a_new, d_new]


def _numpy_adadelta(p, g, a, d):
    a_new = 0.9 * a + 0.1 * g**2
    step = np.sqrt(d + 1e-6) / np.sqrt(a_new + 1e-6) * g
    return [p - step, a_new, 0.9 * d + 0.1 * step**2]


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "JAX"])
def test_the_op_computes_its_graph_with_and_without_jax(mode):
    _jax.install_fixes()
    inputs, outputs = _adadelta_graph()
    fgraph = FunctionGraph(inputs, outputs, clone=False)
    with _chunked.chunked_updates(True, {0: 0, 1: 2, 2: 3}):
        _chunked.ChunkedUpdates().rewrite(fgraph)
    [node] = {out.owner for out in fgraph.outputs}
    assert isinstance(node.op, _chunked.ChunkedElemwise)
    # Each output is written over the input it replaces; p, g, a and d are
    # split into blocks, the (dimshuffled) constants passed whole.
    p, g, a, d = inputs
    for out, replaced in zip(fgraph.outputs, [p, a, d], strict=True):
        assert node.inputs[node.op.carriers[out.index]] is replaced
    assert {x for x, s in zip(node.inputs, node.op.sliced) if s} == {p, g, a, d}
    f = pytensor.function(fgraph.inputs, fgraph.outputs, mode=mode)
    rng = np.random.default_rng(3)
    values = [rng.normal(size=(ROWS, COLS)) for _ in range(4)]
    values[2:] = [np.abs(v) for v in values[2:]]  # accumulators are >= 0
    for got, expected in zip(f(*values), _numpy_adadelta(*values), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_rewrite_is_off_outside_its_block():
    inputs, outputs = _adadelta_graph()
    fgraph = FunctionGraph(inputs, outputs, clone=False)
    _chunked.ChunkedUpdates().rewrite(fgraph)
    assert not any(isinstance(n.op, _chunked.ChunkedElemwise) for n in fgraph.apply_nodes)


def test_switch(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_CHUNKED_UPDATES", raising=False)
    assert _jax.chunked_updates_for("cpu")
    assert not _jax.chunked_updates_for("cuda")
    monkeypatch.setenv("SEQGRAPH_CHUNKED_UPDATES", "0")
    assert not _jax.chunked_updates_for("cpu")
    monkeypatch.setenv("SEQGRAPH_CHUNKED_UPDATES", "on")
    with pytest.raises(ValueError, match="SEQGRAPH_CHUNKED_UPDATES must be 0 or 1"):
        _jax.chunked_updates_for("cpu")
