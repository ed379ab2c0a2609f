"""seqgraph.theano's modules and names beyond the core: what old scripts import.

``theano.compat``, ``theano.updates``, ``theano.gof.graph``, ``theano.tests.unittest_tools``,
``theano.tensor.{nlinalg, slinalg, xlogx, var}``, ``theano.sandbox.linalg``, PyTensor's modules under Theano's
names, and Theano's tensor functions that PyTensor renamed or deprecated.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytensor
import pytest

import seqgraph.theano

T = seqgraph.theano.tensor


@pytest.fixture
def theano():
    """``import theano`` resolving to seqgraph.theano, FutureWarnings as errors."""
    seqgraph.theano.install()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            yield importlib.import_module("theano")
    finally:
        seqgraph.theano.uninstall()


def test_modules_old_scripts_import(theano):
    from theano.compat import OrderedDict, izip  # noqa: PLC0415
    from theano.compat.python2x import OrderedDict as OldOrderedDict  # noqa: PLC0415
    from theano.compile.builders import OpFromGraph  # noqa: PLC0415
    from theano.configparser import change_flags  # noqa: PLC0415
    from theano.tensor.var import TensorVariable  # noqa: PLC0415

    assert OrderedDict is OldOrderedDict and list(izip([1], [2])) == [(1, 2)]
    assert OpFromGraph is pytensor.compile.builders.OpFromGraph
    assert change_flags is theano.change_flags
    assert isinstance(T.vector(), TensorVariable)
    assert not isinstance(theano.shared(np.zeros(2)), TensorVariable)  # Theano's isinstance
    assert importlib.import_module("theano.scalar") is pytensor.scalar
    assert importlib.import_module("theano.sparse").SparseType is pytensor.sparse.SparseTensorType
    with pytest.raises(ModuleNotFoundError, match="GPU code runs through JAX"):
        importlib.import_module("theano.gpuarray")


def test_sparse_names_theano_exported(theano):
    import scipy.sparse as sp  # noqa: PLC0415

    S = importlib.import_module("theano.sparse")
    x = S.csr_matrix("x", dtype="float64")
    # theanets: isinstance(outputs, (TT.TensorVariable, SS.SparseVariable))
    assert isinstance(x, S.SparseVariable) and not isinstance(T.matrix(), S.SparseVariable)
    assert isinstance(S.constant(sp.eye(2, format="csr")), S.SparseConstant)
    assert S.enable_sparse
    y = T.matrix("y", dtype="float64")
    product = S.mul_s_d(x, y)
    assert isinstance(product.owner.op, S.MulSD)
    assert isinstance(S.mul_s_s(x, x).owner.op, S.MulSS)
    assert isinstance(S.mul_s_v(x, T.vector(dtype="float64")).owner.op, S.MulSV)
    f = theano.function([x, y], [S.dense_from_sparse(product), S.dense_from_sparse(S.sgn(x))])
    a = sp.csr_matrix(np.array([[0.0, -2.0], [3.0, 0.0]]))
    b = np.array([[1.0, 2.0], [3.0, 4.0]])
    prod, sign = f(a, b)
    np.testing.assert_array_equal(prod, a.toarray() * b)
    np.testing.assert_array_equal(sign, np.sign(a.toarray()))


def test_importing_a_submodule_keeps_the_function_of_its_name(theano):
    import theano.tensor.shape  # noqa: F401, PLC0415
    import theano.tensor.var  # noqa: F401, PLC0415
    from theano.tensor.sort import argsort  # noqa: F401, PLC0415

    # In Theano T.var, T.sort and T.shape were functions whatever was imported.
    for name in ("var", "sort", "shape"):
        assert callable(getattr(T, name)) and not isinstance(getattr(T, name), type(np)), name
    assert T.var(T.vector()).ndim == 0


def test_ordered_updates_as_theano_s(theano):
    w, v = theano.shared(np.float32(1.0)), theano.shared(np.float32(2.0))
    x = T.vector()
    _, updates = theano.scan(lambda a: a * 2, sequences=x)
    assert isinstance(updates, theano.OrderedUpdates)
    updates[w] = w * 2
    same = updates[w]
    updates.update({w: same})  # the same update again: fine
    updates.update((p, p + 1) for p in [v])  # pairs, as the RNN-RBM tutorial passes them
    assert list(updates) == [w, v]
    with pytest.raises(KeyError, match="Collision"):
        updates.update({w: w * 3})
    with pytest.raises(TypeError, match="keys must be shared variables"):
        updates[x] = x
    both = theano.OrderedUpdates({w: same}) + {v: v * 5}
    assert list(both) == [w, v]


def test_gof_graph_inputs_finds_shared_variables(theano):
    from theano.gof import graph  # noqa: PLC0415

    w = theano.shared(np.ones(2), name="w")
    x = T.dvector("x")
    y = (x * w).sum() + 1
    found = graph.inputs([y])
    assert w in found and x in found
    assert all(n.owner is None for n in found)
    assert len(graph.ops([x, w], [y])) == len(set(graph.ops([x, w], [y])))


def test_unittest_tools_verify_grad_catches_a_wrong_gradient(theano):
    from theano.tests import unittest_tools as utt  # noqa: PLC0415

    assert utt.fetch_seed() == 666 and utt.seed_rng(3) == 3
    utt.verify_grad(lambda a: T.tanh(a) * a, [np.array([0.3, -0.2, 1.1])])

    class Square(theano.Op):
        __props__ = ()

        def make_node(self, a):
            a = T.as_tensor_variable(a)
            return theano.Apply(self, [a], [a.type()])

        def perform(self, node, inputs, outputs):
            outputs[0][0] = inputs[0] ** 2

        def grad(self, inputs, grads):
            return [grads[0] * 3 * inputs[0]]  # wrong: 2 x

    with pytest.raises(utt.verify_grad.E_grad, match="analytic gradient"):
        utt.verify_grad(Square(), [np.array([0.5, 1.5])])
    utt.assert_allclose(np.float32([1.0]), np.float32([1.0 + 1e-5]))


def test_tensor_names_pytensor_renamed(theano):
    a, b = T.dtensor3(), T.dtensor3()
    v = T.dvector()
    rng = np.random.default_rng(0)
    av, bv = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 4, 5))
    vv = np.array([0.5, -2.0, 0.0])
    f = theano.function(
        [a, b, v],
        [
            T.batched_dot(a, b),
            T.batched_tensordot(a, b, [[2], [1]]),
            T.inv(v),
            T.sgn(v),
            T.xlogx.xlogx(abs(v)),
            T.xlogx.xlogy0(abs(v), abs(v) + 1),
        ],
    )
    got = f(av, bv, vv)
    np.testing.assert_allclose(got[0], np.einsum("bij,bjk->bik", av, bv), rtol=1e-12)
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12)
    np.testing.assert_allclose(got[2][:2], [2.0, -0.5])
    np.testing.assert_array_equal(got[3], [1.0, -1.0, 0.0])
    np.testing.assert_allclose(got[4], [0.5 * np.log(0.5), 2 * np.log(2), 0.0], rtol=1e-12)
    np.testing.assert_allclose(got[5], [0.5 * np.log(1.5), 2 * np.log(3), 0.0], rtol=1e-12)
    assert T.extract_constant(T.constant(3.0) + 1) == 4.0
    assert T.extract_constant(v) is v
    assert T.wmatrix().type.dtype == "int16"
    assert T.Subtensor is pytensor.tensor.subtensor.Subtensor
    assert T.config is theano.config and "float32" in T.float_dtypes
    assert theano.Lop is theano.gradient.Lop and callable(theano.scan_checkpoints)


def test_nlinalg_and_slinalg_under_theano_s_signatures(theano):
    from theano.tensor import nlinalg, slinalg  # noqa: PLC0415

    rng = np.random.default_rng(1)
    s = rng.normal(size=(4, 4))
    s = s @ s.T + 4 * np.eye(4)
    rhs = rng.normal(size=4)
    m, v = T.dmatrix(), T.dvector()
    f = theano.function(
        [m, v],
        [
            nlinalg.matrix_inverse(m),
            nlinalg.eigh(m, "U")[0],
            nlinalg.diag(m),
            nlinalg.alloc_diag(v),
            nlinalg.trace(m),
            nlinalg.qr(m[:, :3])[1],
            slinalg.solve_lower_triangular(T.tril(m), v),
            slinalg.solve_upper_triangular(T.triu(m), v),
            slinalg.solve_symmetric(m, v),
        ],
    )
    got = f(s, rhs)
    np.testing.assert_allclose(got[0], np.linalg.inv(s), rtol=1e-10)
    np.testing.assert_allclose(got[1], np.linalg.eigh(s, "U")[0], rtol=1e-10)
    np.testing.assert_allclose(got[2], np.diag(s))
    np.testing.assert_allclose(got[3], np.diag(rhs))
    np.testing.assert_allclose(got[4], np.trace(s))
    assert got[5].shape == (3, 3)  # NumPy's reduced R, Theano's default
    np.testing.assert_allclose(abs(got[5]), abs(np.linalg.qr(s[:, :3])[1]), rtol=1e-10)
    np.testing.assert_allclose(got[6], np.linalg.solve(np.tril(s), rhs), rtol=1e-10)
    np.testing.assert_allclose(got[7], np.linalg.solve(np.triu(s), rhs), rtol=1e-10)
    np.testing.assert_allclose(got[8], np.linalg.solve(s, rhs), rtol=1e-10)
    with pytest.raises(ValueError, match="qr: mode must be one of"):
        nlinalg.qr(m, mode="economic")


def test_sandbox_linalg_as_theano_s(theano):
    from theano.sandbox import linalg  # noqa: PLC0415

    ops, psd, spectral_radius_bound = linalg.ops, linalg.psd, linalg.spectral_radius_bound
    cholesky, det, solve = linalg.cholesky, linalg.det, linalg.solve

    a = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.5]])
    m, v = T.dmatrix(), T.dvector()
    bounds = [spectral_radius_bound(m, k) for k in (1, 2, 3, 5)]
    f = theano.function([m, v], [*bounds, det(psd(m)), solve(psd(m), v), cholesky(ops.psd(m))])
    got = f(a, np.ones(3))
    # Theano 1.0.5's figures for this matrix (float64).
    want = [4.222558466143482, 3.752873347713746, 3.70579298537502, 3.704805724340843]
    np.testing.assert_allclose(got[:4], want, rtol=1e-12)
    assert got[3] >= np.linalg.eigvalsh(a).max()
    np.testing.assert_allclose(got[4], 6.87, rtol=1e-12)
    np.testing.assert_allclose(got[5], np.linalg.solve(a, np.ones(3)), rtol=1e-10)
    np.testing.assert_allclose(got[6], np.linalg.cholesky(a), rtol=1e-10)
    with pytest.raises(ValueError, match="log2_exponent must be positive"):
        spectral_radius_bound(m, 0)
    with pytest.raises(TypeError, match="must be a matrix"):
        spectral_radius_bound(v, 2)
    with pytest.raises(TypeError, match="must be an integer"):
        spectral_radius_bound(m, 2.0)
    with pytest.raises(AttributeError, match="theano.sandbox.linalg.ops.HintsOptimizer"):
        ops.HintsOptimizer  # noqa: B018


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((3, 4), (3, 4)),
        ((3, 2, 4), (3, 4)),
        ((3, 4), (3, 4, 5)),
        ((3,), (3, 4, 2)),
        ((3, 2, 4, 5), (3, 5, 6)),
        ((3, 2, 4, 5), (3, 6, 5, 2)),
    ],
)
def test_batched_dot_every_rank_as_theano_s(a_shape, b_shape):
    rng = np.random.default_rng(2)
    a = T.TensorType("float64", shape=(None,) * len(a_shape))()
    b = T.TensorType("float64", shape=(None,) * len(b_shape))()
    av, bv = rng.normal(size=a_shape), rng.normal(size=b_shape)
    got = seqgraph.function([a, b], T.batched_dot(a, b), backend="c")(av, bv)
    if len(a_shape) == 1:
        expected = av.reshape((-1,) + (1,) * (len(b_shape) - 1)) * bv
    else:  # a's last axis with b's second to last (its only one for a vector per entry)
        b_axis = max(0, len(b_shape) - 3)
        expected = np.stack([np.tensordot(av[i], bv[i], [[-1], [b_axis]]) for i in range(3)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_batched_tensordot_axes_and_errors():
    rng = np.random.default_rng(3)
    x, y = T.dtensor4(), T.dtensor4()
    xv, yv, zv = (rng.normal(size=s) for s in [(2, 3, 4, 5), (2, 5, 4, 6), (2, 5, 2, 2)])
    f = seqgraph.function([x, y], T.batched_tensordot(x, y, [[2, 3], [2, 1]]), backend="c")
    expected = np.stack([np.tensordot(xv[i], yv[i], [[1, 2], [1, 0]]) for i in range(2)])
    np.testing.assert_allclose(f(xv, yv), expected, rtol=1e-12)
    g = seqgraph.function([x, y], T.batched_tensordot(x, y, 1), backend="c")
    expected = np.stack([np.tensordot(xv[i], zv[i], 1) for i in range(2)])
    np.testing.assert_allclose(g(xv, zv), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="none of them the batch axis 0"):
        T.batched_tensordot(x, y, [[0], [1]])


def test_tile_takes_theano_s_ndim(theano):
    x = T.dmatrix()
    reps = T.lvector()
    xv = np.arange(6.0).reshape(2, 3)
    f = theano.function([x, reps], [T.tile(x, reps, ndim=2), T.tile(x, [2], ndim=3)])
    a, b = f(xv, np.array([1, 2]))
    np.testing.assert_array_equal(a, np.tile(xv, (1, 2)))
    np.testing.assert_array_equal(b, np.tile(xv, (1, 1, 2)))
    with pytest.raises(ValueError, match="give ndim"):
        T.tile(x, reps)
    with pytest.raises(ValueError, match="ndim=1 is less than"):
        T.tile(x, [2], ndim=1)
    assert theano.scalar.upcast("float32", "int64") == "float64"  # theano.scalar, no import


class _Triple(seqgraph.theano.Op):
    """A Python op with no JAX implementation: on JAX it runs only if a rewrite removes it."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return seqgraph.theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0] * 3


class _Negate(_Triple):
    def perform(self, node, inputs, outputs):
        outputs[0][0] = -inputs[0]


class _Identity(_Triple):
    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0].copy()


class _Scale(_Triple):
    """``_Scale(k)(x)``: ``k * x``."""

    __props__ = ("k",)

    def __init__(self, k):
        self.k = k

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0] * self.k


def test_theano_rewrites_register_and_run_on_every_backend(theano):
    from theano.gof import opt  # noqa: PLC0415
    from theano.tensor.opt import register_canonicalize, register_specialize  # noqa: PLC0415

    @register_canonicalize
    @opt.local_optimizer([_Triple])
    def local_triple(node):  # Theano 1.0's signature: the node alone
        if type(node.op) is _Triple:
            return [node.inputs[0] * 3]
        return False

    class LocalNegate(opt.LocalOptimizer):
        def tracks(self):
            return [_Negate]

        def transform(self, node):
            if isinstance(node.op, _Negate):
                return [-node.inputs[0]]
            return None

    register_specialize(LocalNegate(), name="local_negate_seqgraph_test")
    theano.compile.optdb.register(
        "remove_identity_seqgraph_test",
        opt.TopoOptimizer(opt.OpRemove(_Identity())),
        48.6,  # Theano's position, the third argument
        "fast_run",
    )
    assert "remove_identity_seqgraph_test" in theano.compile.optdb
    with pytest.raises(TypeError, match="position given twice"):
        theano.compile.optdb.register("twice", opt.MergeOptimizer(), 1, "fast_run", position=2)
    x = T.dvector("x")
    ys = [_Triple()(x), _Negate()(x), _Identity()(x) + 1]
    value = np.array([1.0, -2.0])
    for backend in ("c", "jax"):
        got = seqgraph.function([x], ys, backend=backend)(value)
        for g, e in zip(got, [3 * value, -value, value + 1]):
            np.testing.assert_allclose(g, e)
    # The ops are gone from the rewritten graph, not run by perform.
    f = theano.function([x], ys)
    names = {type(node.op).__name__ for node in f.maker.fgraph.apply_nodes}
    assert not names & {"_Triple", "_Negate", "_Identity"}


def test_theano_rewriters_with_theano_arguments(theano):
    from pytensor.graph.fg import FunctionGraph  # noqa: PLC0415
    from theano.gof import opt  # noqa: PLC0415

    x = T.dvector("x")
    swap = opt.TopoOptimizer(opt.OpSub(_Scale(2.0), _Scale(5.0)), order="out_to_in")
    twice = opt.PatternSub((_Scale(5.0), (_Scale(5.0), "x")), (_Scale(25.0), "x"))
    pipeline = opt.SeqOptimizer([swap, opt.EquilibriumOptimizer([twice], max_use_ratio=10)])
    fgraph = FunctionGraph([x], [_Scale(2.0)(_Scale(2.0)(x))], clone=False)
    pipeline.rewrite(fgraph)
    [node] = fgraph.apply_nodes
    assert node.op == _Scale(25.0)
    with pytest.raises(ValueError, match="order"):
        opt.TopoOptimizer(opt.OpSub(_Scale(2.0), _Scale(5.0)), order="sideways")
    with pytest.raises(AttributeError, match="gof.opt.OpKeyOptimizer is not provided"):
        opt.OpKeyOptimizer  # noqa: B018


def test_broadcast_like_fills_a_templates_shape(theano):
    from theano.tensor.opt import broadcast_like  # noqa: PLC0415

    m = T.dmatrix("m")
    filled = broadcast_like(0.5, m, dtype="float32")
    assert filled.dtype == "float32"
    got = theano.function([m], filled)(np.ones((2, 3)))
    np.testing.assert_array_equal(got, np.full((2, 3), 0.5, "float32"))
    assert broadcast_like(m, m) is m


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_topk_family_in_order_with_gradients(theano, backend):
    x = T.dmatrix("x")
    rng = np.random.default_rng(5)
    xv = rng.permutation(24).reshape(4, 6).astype("float64")
    values, indices = T.topk_and_argtopk(x, 3)
    outs = [
        values,
        indices,
        T.topk(x, -2, axis=0),
        T.argtopk(x, 2, axis=None, idx_dtype="int32"),
        theano.grad((values * np.arange(3.0)).sum(), x),
    ]
    top, idx, low, flat, grad = seqgraph.function([x], outs, backend=backend)(xv)
    expected_idx = np.argsort(-xv, axis=1)[:, :3]
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_array_equal(top, np.take_along_axis(xv, expected_idx, axis=1))
    np.testing.assert_array_equal(low, np.sort(xv, axis=0)[:2])
    assert flat.dtype == np.int32
    np.testing.assert_array_equal(flat, np.argsort(-xv.ravel())[:2])
    expected_grad = np.zeros_like(xv)
    np.put_along_axis(expected_grad, expected_idx, np.arange(3.0)[None], axis=1)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_topk_symbolic_kth_and_errors(theano, backend):
    x = T.dvector("x")
    k = T.iscalar("k")
    f = seqgraph.function([x, k], T.topk(x, k), backend=backend)
    xv = np.array([0.5, -1.0, 3.0, 2.0])
    np.testing.assert_array_equal(f(xv, 2), [3.0, 2.0])
    np.testing.assert_array_equal(f(xv, -3), [-1.0, 0.5, 2.0])
    if backend == "jax":  # (one program per kth)
        return
    with pytest.raises(ValueError, match="kth cannot be zero"):
        T.topk(x, 0)
    with pytest.raises(ValueError, match="axis 1 is out of range"):
        T.topk(x, 1, axis=1)
    with pytest.raises(TypeError, match="idx_dtype must be an integer"):
        T.argtopk(x, 1, idx_dtype="float32")
    with pytest.raises(TypeError, match="signed or floating"):
        T.topk(T.vector(dtype="uint8"), 1)


def test_profile_stats_given_to_function(theano):
    from theano.compile.profiling import ProfileStats  # noqa: PLC0415

    stats = theano.compile.ProfileStats(atexit_print=False)
    assert ProfileStats is theano.ProfileStats is type(stats)
    x = T.dvector("x")
    f = theano.function([x], (x**2).sum(), profile=stats, mode=theano.Mode(linker="c"))
    for _ in range(3):
        f(np.ones(3))
    assert f.profile is stats and stats.fct_callcount == 3


def test_compile_ops_and_tensor_names_old_ops_are_built_from(theano):
    from theano.compile import ViewOp, deep_copy_op, view_op  # noqa: PLC0415
    from theano.compile.ops import Shape_i, shape_i, specify_shape  # noqa: PLC0415

    class Doubler(theano.gof.Op):
        __props__ = ()

        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return T.Apply(self, [x], [T.Tensor(dtype=x.dtype, broadcastable=[False, True])()])

        def perform(self, node, inputs, outputs):
            outputs[0][0] = 2 * inputs[0][:, :1]

    m = T.dmatrix("m")
    y = Doubler()(m)
    assert y.type.shape == (None, 1)
    assert T.Tensor("float32", shape=(2,)).shape == (2,)
    with pytest.raises(TypeError, match="not both"):
        T.Tensor("float32", broadcastable=[False], shape=(2,))
    got = theano.function([m], [y, view_op(m), deep_copy_op(m), shape_i(m, 1)])(np.ones((3, 2)))
    np.testing.assert_array_equal(got[0], np.full((3, 1), 2.0))
    assert int(got[3]) == 2
    assert isinstance(view_op, ViewOp) and Shape_i(0)(m).ndim == 0
    assert specify_shape(m, (3, 2)).type.shape == (3, 2)
    assert T.hashtype(Doubler()) == T.hashtype(Doubler())
    assert T.hashtype(Doubler()) != T.hashtype(ViewOp())
    with pytest.raises(T.AsTensorError):
        T.as_tensor_variable(object())
    assert T.Generic is not None and T.DisconnectedType is not None


def test_rebroadcast_sets_and_clears_broadcast_flags(theano):
    row = T.TensorType("float64", shape=(1, None, 1))("row")
    both = T.Rebroadcast((0, False), (1, True))(row)
    assert both.broadcastable == (False, True, True)
    assert theano.compile.Rebroadcast is T.Rebroadcast
    f = theano.function([row], both * 2)
    np.testing.assert_array_equal(f(np.ones((1, 1, 1))), [[[2.0]]])
    assert repr(T.Rebroadcast((1, True), (0, False))) == "Rebroadcast((0, False), (1, True))"
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        T.Rebroadcast((3, True))(row)
    with pytest.raises(TypeError, match="pair"):
        T.Rebroadcast(0)


def test_monitor_mode_calls_theano_s_callbacks_and_detect_nan_finds_nans(theano, capsys):
    # Theano's recipe for finding NaNs (deepy builds it at import).
    from theano.compile.monitormode import detect_nan  # noqa: PLC0415

    before, after = [], []
    x = T.vector("x")
    watched = theano.compile.MonitorMode(
        pre_func=lambda i, node, fn: before.append(i),
        post_func=lambda i, node, fn: after.append((i, fn.outputs[0][0].copy())),
    )
    f = theano.function([x], T.log(x) * 2, mode=watched)
    np.testing.assert_allclose(f(np.ones(3, x.dtype)), np.zeros(3))
    assert before and before == [i for i, _ in after]  # (i, node, fn), around each node
    np.testing.assert_allclose(after[-1][1], np.zeros(3))
    g = theano.function([x], T.log(x) * 2, mode=theano.compile.MonitorMode(post_func=detect_nan))
    g(np.asarray([-1.0, 1.0], x.dtype))
    assert "NaN detected" in capsys.readouterr().out
    g(np.asarray([2.0, 1.0], x.dtype))
    assert "NaN detected" not in capsys.readouterr().out
