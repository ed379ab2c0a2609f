"""Optimizers against NumPy references over several steps."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph import updates as opt
from seqgraph._compat import INCREMENT_OPS
from tests import reference as ref

A = np.array([[1.0, 3.0], [0.5, 2.0]])
B = np.array([[0.3, -1.0], [2.0, 0.1]])
P0 = np.array([[1.0, -2.0], [0.5, 3.0]])

CASES = [
    ("sgd", 0.1, {}),
    ("momentum", 0.05, {"momentum": 0.9}),
    ("nesterov_momentum", 0.05, {"momentum": 0.8}),
    ("adagrad", 0.5, {"epsilon": 1e-6}),
    ("rmsprop", 0.01, {"rho": 0.9, "epsilon": 1e-6}),
    ("adadelta", 1.0, {"rho": 0.95, "epsilon": 1e-6}),
    ("adam", 0.01, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
    ("adamax", 0.02, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
]


@pytest.mark.parametrize("name,lr,kw", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("shared_lr", [False, True])
def test_optimizer_matches_reference(name, lr, kw, shared_lr):
    p = pytensor.shared(P0.copy(), name="p")
    loss = (0.5 * A * p**2 + B * p).sum()  # gradient A p + B
    rate = pytensor.shared(np.float64(lr)) if shared_lr else lr
    updates = getattr(opt, name)(loss, [p], learning_rate=rate, **kw)
    assert next(iter(updates)) is p  # parameters first, then the optimizer's state
    step = seqgraph.function([], loss, updates=updates, backend="c")
    for _ in range(7):
        step()
    want = ref.optimize(name, lambda q: A * q + B, P0, 7, lr, **kw)
    np.testing.assert_allclose(p.get_value(), want, rtol=1e-10, atol=1e-12)


def test_shared_learning_rate_changes_without_recompiling():
    p = pytensor.shared(np.array([1.0]), name="p")
    lr = pytensor.shared(np.float64(0.5))
    step = seqgraph.function([], p.sum(), updates=opt.sgd((p**2).sum(), [p], lr), backend="c")
    step()
    np.testing.assert_allclose(p.get_value(), [0.0])
    p.set_value(np.array([1.0]))
    lr.set_value(np.float64(0.25))
    step()
    np.testing.assert_allclose(p.get_value(), [0.5])


def test_gradient_clipping():
    g1, g2 = pt.vector("g1"), pt.vector("g2")
    f = seqgraph.function(
        [g1, g2],
        opt.total_norm_constraint([g1, g2], 5.0) + opt.clip_by_value([g1, g2], 1.0),
        backend="c",
    )
    a, b = (
        np.array([3.0, 4.0], pytensor.config.floatX),
        np.array([0.0, 12.0], pytensor.config.floatX),
    )
    n1, n2, c1, c2 = f(a, b)
    np.testing.assert_allclose(np.sqrt((n1**2).sum() + (n2**2).sum()), 5.0, rtol=1e-5)
    np.testing.assert_allclose(n1 / a, n2[1] / b[1], rtol=1e-5)  # one scale for all
    np.testing.assert_allclose(c1, [1.0, 1.0])
    np.testing.assert_allclose(c2, [0.0, 1.0])
    small = seqgraph.function([g1], opt.total_norm_constraint([g1], 100.0)[0], backend="c")
    np.testing.assert_allclose(small(a), a, rtol=1e-5)


def test_optimizer_errors():
    p = pytensor.shared(np.zeros(2))
    x = pt.vector("x")
    with pytest.raises(TypeError, match=r"params\[0\] .* is not a shared variable"):
        opt.adam((x**2).sum(), [x])
    with pytest.raises(ValueError, match="learning_rate must be > 0; got 0"):
        opt.sgd((p**2).sum(), [p], learning_rate=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive scalar"):
        opt.sgd((p**2).sum(), [p], learning_rate=pytensor.shared(np.float64(-1)))
    with pytest.raises(ValueError, match="momentum must be in"):
        opt.momentum((p**2).sum(), [p], momentum=1.5)
    with pytest.raises(ValueError, match="the loss must be a scalar"):
        opt.sgd(p**2, [p])
    with pytest.raises(ValueError, match="params is empty"):
        opt.sgd((p**2).sum(), [])
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        opt.total_norm_constraint([p], 0)


ROW_RULES = [
    ("sgd", 0.1, {}),
    ("adagrad", 0.5, {"epsilon": 1e-6}),
    ("rmsprop", 0.01, {"rho": 0.9, "epsilon": 1e-6}),
    ("adadelta", 1.0, {"rho": 0.95, "epsilon": 1e-6}),
]


def _embedding_step(name, lr, kw, backend, rows_on, monkeypatch):
    """Two steps of rule ``name`` on an embedding looked up with repeated ids; the values after."""
    monkeypatch.setenv("SEQGRAPH_ROW_UPDATES", "1" if rows_on else "0")
    monkeypatch.setattr(opt, "ROW_UPDATES_MIN", 0)  # a small table, updated row by row
    rng = np.random.default_rng(0)
    table = pytensor.shared(rng.normal(size=(7, 3)), name="table")
    other = pytensor.shared(rng.normal(size=(3,)), name="other")
    ids = pt.lmatrix("ids")
    loss = ((table[ids] * other) ** 2).sum() + (other**2).sum()
    updates = getattr(opt, name)(loss, [table, other], learning_rate=lr, **kw)
    step = seqgraph.function([ids], loss, updates=updates, backend=backend)
    # Rows 0 and 5 are never looked up; 2 is looked up three times in one batch.
    for batch in ([[2, 1, 2], [4, 2, 6]], [[1, 1, 3], [6, 4, 3]]):
        step(np.array(batch))
    return updates, [v.get_value() for v in updates]


@pytest.mark.parametrize("name,lr,kw", ROW_RULES, ids=[c[0] for c in ROW_RULES])
def test_row_updates_equal_the_dense_rule(name, lr, kw, monkeypatch):
    updates, dense = _embedding_step(name, lr, kw, "c", False, monkeypatch)
    assert not any(isinstance(u.owner.op, _SET_ROWS) for u in updates.values())
    updates, rows = _embedding_step(name, lr, kw, "c", True, monkeypatch)
    table = next(iter(updates))
    # The table's new value (and its accumulators') is written on the looked-up rows.
    row_wise = [v for v, u in updates.items() if isinstance(u.owner.op, _SET_ROWS)]
    assert table in row_wise
    assert len(row_wise) == {"sgd": 1, "adagrad": 2, "rmsprop": 2, "adadelta": 3}[name]
    for got, want in zip(rows, dense):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # Rows never looked up: the parameter unchanged, accumulators decayed.
    np.testing.assert_array_equal(
        rows[0][[0, 5]], np.random.default_rng(0).normal(size=(7, 3))[[0, 5]]
    )


@pytest.mark.parametrize("name,lr,kw", ROW_RULES, ids=[c[0] for c in ROW_RULES])
def test_row_updates_on_jax(name, lr, kw, monkeypatch):
    pytest.importorskip("jax")
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "")
    _, dense = _embedding_step(name, lr, kw, "c", False, monkeypatch)
    _, rows = _embedding_step(name, lr, kw, "jax", True, monkeypatch)
    for got, want in zip(rows, dense):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


_SET_ROWS = INCREMENT_OPS


def test_looked_up_rows_only_for_zeros_plus_rows_on_the_first_axis(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_ROW_UPDATES", raising=False)
    w = pytensor.shared(np.zeros((opt.ROW_UPDATES_MIN // 4, 4)), name="w")
    ids = pt.lvector("ids")

    def rows(grad):
        return opt._looked_up_rows(grad, w)

    assert rows(pytensor.grad(w[ids].sum(), w)).ndim == 1
    assert rows(pytensor.grad(w[pt.lmatrix("m")].sum(), w)).ndim == 1
    assert rows(pytensor.grad(w[:, ids].sum(), w)) is None  # columns
    assert rows(pytensor.grad(w[ids, 1:].sum(), w)) is None  # part of each row
    assert rows(pt.inc_subtensor(pt.ones_like(w)[ids], 1.0)) is None
    assert rows(pt.set_subtensor(pt.zeros_like(w)[ids], 1.0)) is None
    assert rows(pytensor.grad((w**2).sum(), w)) is None
    small = pytensor.shared(np.zeros((opt.ROW_UPDATES_MIN // 4 - 1, 4)), name="small")
    assert opt._looked_up_rows(pytensor.grad(small[ids].sum(), small), small) is None
    monkeypatch.setenv("SEQGRAPH_ROW_UPDATES", "0")
    assert rows(pytensor.grad(w[ids].sum(), w)) is None
    monkeypatch.setenv("SEQGRAPH_ROW_UPDATES", "on")
    with pytest.raises(ValueError, match="SEQGRAPH_ROW_UPDATES must be 0 or 1"):
        opt.row_updates_enabled()
