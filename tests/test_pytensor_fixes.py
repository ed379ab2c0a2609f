"""PyTensor corrections installed with seqgraph: softmax shapes without the inner-graph inference."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile import builders
from pytensor.graph.fg import FunctionGraph
from pytensor.tensor.rewriting.shape import ShapeFeature
from pytensor.tensor.special import log_softmax, softmax

import seqgraph  # installs the corrections
from tests import reference as ref


@pytest.mark.parametrize("op", [softmax, log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_shape_is_its_input_shape_without_inner_inference(op, monkeypatch):
    calls = []
    generic = builders.infer_shape
    monkeypatch.setattr(
        builders, "infer_shape", lambda *a: calls.append(a) or generic(*a), raising=True
    )
    x = pt.tensor3("x")
    # A recurrence in front, as in a tagger: the generic inference would
    # import the scan's whole shape graph again.
    [h], _ = seqgraph.scan(lambda x_t, h: pt.tanh(x_t + h), sequences=x, outputs_info=x[0])
    y = op(h, axis=-1)
    feature = ShapeFeature()
    fgraph = FunctionGraph([x], [y], features=[feature], clone=False)
    out = fgraph.outputs[0]
    # PyTensor 3.3.8 reads an inferred shape with shape_tuple, earlier ones from shape_of.
    inferred = (
        feature.shape_tuple(out) if hasattr(feature, "shape_tuple") else feature.shape_of[out]
    )
    shape = pytensor.function([x], inferred, mode=seqgraph.backends.get_mode("c"))
    assert not calls
    value = np.zeros((5, 3, 4), dtype=x.dtype)
    assert [int(s) for s in shape(value)] == [5, 3, 4]


def test_softmax_values_unchanged():
    x = pt.matrix("x")
    f = seqgraph.function([x], [softmax(x, axis=-1), log_softmax(x, axis=-1)], backend="c")
    value = np.random.default_rng(0).normal(size=(4, 6)).astype(x.dtype)
    sm, lsm = f(value)
    expected = np.exp(value - value.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(sm, expected, rtol=1e-5)
    np.testing.assert_allclose(lsm, np.log(expected), rtol=1e-5, atol=1e-6)


def test_setting_repeated_rows_to_themselves_plus_a_value_sets_them_once():
    a, ids = pt.vector("a"), pt.lvector("ids")
    f = pytensor.function([a, ids], pt.set_subtensor(a[ids], a[ids] + 1.0))
    value = np.arange(4, dtype=a.dtype)
    want = value.copy()
    rows = np.array([0, 0, 2, 0])
    want[rows] = value[rows] + 1.0  # NumPy: each row written once
    np.testing.assert_array_equal(f(value, rows), want)


def _set_rows_plus_one(a, ids):
    """``a[ids] = a[ids] + 1`` as the op the rewrite matches in this PyTensor."""
    if hasattr(pt.subtensor, "AdvancedIncSubtensor1"):  # before PyTensor 3.3.8
        rows = pt.subtensor.advanced_subtensor1(a, ids)
        return pt.subtensor.advanced_set_subtensor1(a, rows + 1.0, ids)
    return pt.set_subtensor(a[ids], a[ids] + 1.0)


def test_set_to_increment_still_applies_to_constant_ids_without_repeats():
    from pytensor.tensor.rewriting.subtensor import local_set_to_inc_subtensor

    a = pt.vector("a")
    ids = pt.constant(np.array([3, 1]))
    out = _set_rows_plus_one(a, ids)
    fgraph = FunctionGraph([a], [out], clone=False)
    [new] = local_set_to_inc_subtensor.transform(fgraph, out.owner)
    assert not new.owner.op.set_instead_of_inc
    repeated = pt.constant(np.array([1, 1]))
    out = _set_rows_plus_one(a, repeated)
    fgraph = FunctionGraph([a], [out], clone=False)
    assert not local_set_to_inc_subtensor.transform(fgraph, out.owner)


def _symbolic_ops(fgraph):
    """Names of the OpFromGraph nodes in ``fgraph`` and its compiled scan steps."""
    from pytensor.scan.op import Scan

    found = []
    for node in fgraph.apply_nodes:
        if isinstance(node.op, builders.OpFromGraph):
            found.append(type(node.op).__name__)
        if isinstance(node.op, Scan):
            found += _symbolic_ops(node.op.fn.maker.fgraph)
    return found


def test_c_backend_compiles_softmax_in_c_also_in_a_scan_step(rng):
    x, W = pt.tensor3("x"), pt.matrix("W")
    # A recurrence through a softmax, as the RNNSLU tutorial's original step.
    [h], _ = seqgraph.scan(
        lambda x_t, h: softmax(x_t + h @ W, axis=-1), sequences=x, outputs_info=x[0]
    )
    out = log_softmax(h, axis=-1)
    cost = out[..., 0].sum()
    f = seqgraph.function([x, W], [out, pytensor.grad(cost, W)], backend="c")
    xv = rng.normal(size=(4, 2, 3)).astype(x.dtype)
    Wv = rng.normal(size=(3, 3)).astype(x.dtype)
    got, grad = f(xv, Wv)
    # Neither op is left to run through its Python perform (which compiles the
    # inner graph with PyTensor's default mode, Numba).
    assert _symbolic_ops(f._fn.maker.fgraph) == []

    def reference(Wv):
        hv, hs = xv[0], []
        for x_t in xv:
            hv = np.exp(ref.log_softmax(x_t + hv @ Wv))
            hs.append(hv)
        return ref.log_softmax(np.array(hs))

    tol = 1e-5 if x.dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, reference(Wv), rtol=tol, atol=tol)
    eps, numeric = 1e-3 if x.dtype == "float32" else 1e-6, np.zeros_like(Wv)
    for i in np.ndindex(Wv.shape):
        step = np.zeros_like(Wv)
        step[i] = eps
        numeric[i] = (reference(Wv + step)[..., 0].sum() - reference(Wv - step)[..., 0].sum()) / (
            2 * eps
        )
    np.testing.assert_allclose(
        grad, numeric, rtol=1e-2 if x.dtype == "float32" else 1e-6, atol=1e-3
    )


@pytest.mark.parametrize(("backend", "kept"), [("c", False), ("jax", True)])
def test_the_c_backend_inlines_softmax_and_jax_keeps_its_own(backend, kept):
    # JAX calls jax.nn.softmax for the op. (What the Numba backend does is
    # PyTensor's: 3.0.7 compiles the op, 3.3.8 inlines it.)
    x = pt.matrix("x")
    mode = seqgraph.backends.get_mode(backend)
    f = pytensor.function([x], softmax(x, axis=-1), mode=mode)  # built, not called
    ops = [type(n.op).__name__ for n in f.maker.fgraph.apply_nodes]
    assert ("Softmax" in ops) is kept


@pytest.mark.skipif(
    not hasattr(ShapeFeature, "get_node_infer_shape"),
    reason="this PyTensor infers shapes on demand only",
)
@pytest.mark.parametrize("static", [True, False], ids=["static", "symbolic"])
def test_shapes_the_types_hold_are_not_inferred(static, monkeypatch):
    from pytensor.tensor.elemwise import Elemwise

    calls = []
    generic = Elemwise.infer_shape
    monkeypatch.setattr(Elemwise, "infer_shape", lambda *a: calls.append(a) or generic(*a))
    x = pt.tensor("x", shape=(2, 3) if static else (None, 3))
    y = pt.tanh(x) * 2 + 1
    feature = ShapeFeature()
    fgraph = FunctionGraph([x], [y], features=[feature], clone=False)
    shape = feature.shape_of[fgraph.outputs[0]]
    assert bool(calls) != static
    if static:
        assert [int(s.data) for s in shape] == [2, 3]
    else:
        f = pytensor.function([x], list(shape), mode=seqgraph.backends.get_mode("c"))
        assert [int(v) for v in f(np.zeros((4, 3), dtype=x.dtype))] == [4, 3]


def _scan_shapes(batch):
    """A scan's inputs, its output shapes as ShapeFeature gives them, and whether
    Scan.infer_shape ran."""
    from pytensor.scan.op import Scan

    x = pt.tensor("x", dtype="float32", shape=(5, batch, 3))
    h0 = pt.tensor("h0", dtype="float32", shape=(batch, 4))
    w = pt.tensor("w", dtype="float32", shape=(3, 4))
    [h, y], _ = seqgraph.scan(
        lambda xt, h: [pt.tanh(xt @ w + h), (xt @ w).sum(axis=-1)],
        sequences=[x],
        outputs_info=[h0, None],
    )
    feature = ShapeFeature()
    fgraph = FunctionGraph([x, h0, w], [h, y], features=[feature], clone=False)
    calls = []
    generic = Scan.infer_shape
    [scan] = [n for n in fgraph.toposort() if isinstance(n.op, Scan)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Scan, "infer_shape", lambda *a: calls.append(a) or generic(*a))
        shapes = feature.get_node_infer_shape(scan)
    return (x, h0, w), shapes, bool(calls)


@pytest.mark.skipif(
    not hasattr(ShapeFeature, "get_node_infer_shape"),
    reason="this PyTensor infers shapes on demand only",
)
def test_scan_output_shapes_come_from_the_buffers_and_static_steps():
    inputs, shapes, inferred = _scan_shapes(batch=2)
    assert not inferred
    f = pytensor.function(
        inputs,
        [pt.as_tensor_variable(d) for shape in shapes for d in shape],
        mode=seqgraph.backends.get_mode("c"),
        on_unused_input="ignore",
    )
    values = [np.zeros(v.type.shape, "float32") for v in inputs]
    # the state's buffer (initial state and 5 steps), then the stacked step sums
    assert [int(d) for d in f(*values)] == [6, 2, 4, 5, 2]
    # A step whose shape the types do not hold: the scan infers its inner graph.
    _, _, inferred = _scan_shapes(batch=None)
    assert inferred


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_argmax_of_softmax_is_the_argmax_of_its_input(which):
    from pytensor.tensor import special
    from pytensor.tensor.math import Argmax

    x = pt.matrix("x", dtype="float32")
    probs = getattr(special, which)(x, axis=-1)
    f = pytensor.function([x], probs.argmax(axis=-1), mode=seqgraph.backends.get_mode("c"))
    [node] = f.maker.fgraph.toposort()
    assert isinstance(node.op, Argmax) and node.inputs[0] is f.maker.fgraph.inputs[0]
    v = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    np.testing.assert_array_equal(f(v), v.argmax(axis=-1))
    # Over other axes than the softmax's, the normalisation changes the order.
    g = pytensor.function([x], probs.argmax(), mode=seqgraph.backends.get_mode("c"))
    assert any(not isinstance(n.op, Argmax) for n in g.maker.fgraph.toposort())
    np.testing.assert_array_equal(g(v), (np.exp(v) / np.exp(v).sum(-1, keepdims=True)).argmax())


def test_fused_elementwise_nodes_over_constants_only_are_folded(caplog):
    # PyTensor's local_inline_composite_constants failed on such a node
    # ("max() arg is an empty sequence") and left it in the graph; on JAX its
    # value, a shape, was then traced.
    from pytensor.graph.rewriting.db import RewriteDatabaseQuery
    from pytensor.scalar import Composite, int64
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.rewriting.elemwise import fuse_seqopt

    a, b = int64("a"), int64("b")
    both = Elemwise(Composite([a, b], [a * b + 1, a - b]))
    prod, diff = both(pt.constant(3), pt.constant(4))
    x = pt.lvector("x")
    fgraph = FunctionGraph([x], [x + prod, x * diff])
    fuse_seqopt.query(RewriteDatabaseQuery(include=["fast_run"])).rewrite(fgraph)
    left = [
        node
        for node in fgraph.apply_nodes
        if isinstance(node.op, Elemwise)
        and all(isinstance(i, pytensor.graph.basic.Constant) for i in node.inputs)
    ]
    assert not left
    assert "Rewrite failure" not in caplog.text
    f = pytensor.function(fgraph.inputs, fgraph.outputs, mode=seqgraph.backends.get_mode("c"))
    got = f(np.array([1, 2]))
    np.testing.assert_array_equal(got[0], [14, 15])
    np.testing.assert_array_equal(got[1], [-1, -2])


@pytest.mark.parametrize("floatx, dtype", [("float32", "float64"), ("float64", "float32")])
def test_second_order_gradients_of_a_scan_keep_its_dtype(floatx, dtype):
    # PyTensor built a scan's gradient zeros, and Rop's cotangents, in floatX:
    # a float64 Hessian-vector product was computed partly in float32.
    from pytensor.graph.traversal import ancestors

    with pytensor.config.change_flags(floatX=floatx):
        x, v = pt.tensor3("x", dtype=dtype), pt.matrix("v", dtype=dtype)
        U = pytensor.shared(np.eye(3, dtype=dtype), name="U")
        [h], _ = seqgraph.scan(
            lambda x_t, h: pt.tanh(x_t + pt.dot(h, U)), sequences=x, outputs_info=x[0]
        )
        grad = pytensor.grad((h[-1] ** 2).sum(), U)
        products = [pytensor.gradient.pushforward(grad, U, v), pytensor.grad((grad * v).sum(), U)]
    floats = {
        var.type.dtype
        for var in ancestors(products)
        if getattr(var.type, "dtype", "").startswith("float")
    }
    assert floats == {dtype}
    for scan in [var.owner.op for var in ancestors(products) if var.owner is not None]:
        for inner in getattr(scan, "inner_outputs", []):
            assert not inner.type.dtype.startswith("float") or inner.type.dtype == dtype


def test_rop_ignores_parameters_the_output_does_not_use():
    # theano-hf's Gauss-Newton product takes Rop(h, params, v) of an RNN's
    # hidden states, which its output weights do not reach: they add nothing,
    # as in Theano.  An output that depends on no parameter is what raises.
    rng = np.random.default_rng(0)
    x = pt.dmatrix("x")
    W_in = pytensor.shared(rng.normal(size=(3, 4)), name="W_in")
    W = pytensor.shared(rng.normal(size=(4, 4)) * 0.5, name="W")
    W_out = pytensor.shared(rng.normal(size=(4, 2)), name="W_out")
    [h], _ = seqgraph.scan(
        lambda x_t, h_tm1: pt.tanh(x_t @ W_in + h_tm1 @ W),
        sequences=x,
        outputs_info=pt.zeros(4, dtype="float64"),
    )
    params = [W_in, W, W_out]
    vs = [pt.dmatrix(f"v{i}") for i in range(3)]
    jv = pytensor.gradient.pushforward(h, params, vs)
    jv_used = pytensor.gradient.pushforward(h, params[:2], vs[:2])
    xs = rng.normal(size=(5, 3))
    v_values = [rng.normal(size=p.get_value().shape) for p in params]
    got, want = seqgraph.function([x, *vs], [jv, jv_used], backend="c", on_unused_input="ignore")(
        xs, *v_values
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # Finite differences along v.
    step = pytensor.function([x], h)
    eps = 1e-6
    originals = [p.get_value() for p in params]
    for p, value, v in zip(params, originals, v_values):
        p.set_value(value + eps * v)
    plus = step(xs)
    for p, value, v in zip(params, originals, v_values):
        p.set_value(value - eps * v)
    minus = step(xs)
    np.testing.assert_allclose(got, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-9)
    # Theano's Rop takes the same parameters.
    from seqgraph.theano import tensor as T

    assert T.Rop(h, params, vs) is not None
    unrelated = x.sum()
    with pytest.raises(pytensor.gradient.DisconnectedInputError, match="none of the variables"):
        pytensor.gradient.pushforward(unrelated, params, vs)
    zero = pytensor.gradient.pushforward(unrelated, params, vs, disconnected_outputs="ignore")
    assert np.all(pytensor.function([x], zero)(xs) == 0)


def test_gemm_shape_is_in_tensors_and_meets_other_shapes():
    """neupy's BFGS update: ifelse(first epoch, H, a Gemm-updated H)."""
    import warnings

    from pytensor.tensor.blas import gemm_no_inplace

    from seqgraph._compat import ifelse

    h, z, x, y = (pt.dmatrix(name) for name in "hzxy")
    c = pt.iscalar("c")
    product = gemm_no_inplace(z, np.float64(0.5), x, y, np.float64(1.0))
    chosen = ifelse(pt.eq(c, 1), h, product)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTensor warned it could not infer the shape
        fgraph = FunctionGraph([c, h, z, x, y], [chosen], features=[ShapeFeature()])
        rows, cols = fgraph.shape_feature.shape_tuple(fgraph.outputs[0])
        gemm_rows, _ = fgraph.shape_feature.shape_tuple(fgraph.outputs[0].owner.inputs[2])
    assert isinstance(gemm_rows.type, pt.TensorType) and gemm_rows.type.ndim == 0
    f = pytensor.function(fgraph.inputs, [rows, cols], mode="FAST_COMPILE")
    args = [np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 2)), np.ones((2, 4))]
    assert [int(v) for v in f(0, *args)] == [3, 4]
