"""Cells: parameters, one step against the reference, configuration."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.cells import ElmanCell, GRUCell, LSTMCell
from tests import reference as ref


def test_fused_shapes_and_names():
    lstm = LSTMCell(3, 5, peepholes=True)
    assert list(lstm.named_params()) == ["W_in", "W_hid", "b", "w_ci", "w_cf", "w_co"]
    assert lstm.W_in.get_value().shape == (3, 20)
    assert lstm.W_hid.get_value().shape == (5, 20)
    assert lstm.w_ci.get_value().shape == (5,)
    gru = GRUCell(3, 5, reset_after=True)
    assert list(gru.named_params()) == ["W_in", "W_hid", "b", "b_hn"]
    assert ElmanCell(3, 5).W_hid.get_value().shape == (5, 5)


def test_forget_bias_and_blockwise_orthogonal_init():
    cell = LSTMCell(3, 6, forget_bias=1.0, seed=0)
    b = cell.b.get_value()
    np.testing.assert_array_equal(b[6:12], 1.0)
    np.testing.assert_array_equal(np.delete(b, np.s_[6:12]), 0.0)
    W = cell.W_hid.get_value().astype("float64")
    for k in range(4):  # each gate's recurrent block is its own orthogonal matrix
        block = W[:, 6 * k : 6 * (k + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-5)
    assert LSTMCell(3, 6, forget_bias=0.0).b.get_value().sum() == 0


def test_seed_and_fresh():
    a, b = GRUCell(3, 4, seed=1), GRUCell(3, 4, seed=1)
    np.testing.assert_array_equal(a.W_in.get_value(), b.W_in.get_value())
    twin = a.fresh(seed=2)
    assert isinstance(twin, GRUCell) and twin.num_units == 4
    assert not np.array_equal(twin.W_in.get_value(), a.W_in.get_value())
    lstm = LSTMCell(3, 4, peepholes=True, hid_nonlinearity="sigmoid").fresh()
    assert lstm.peepholes and lstm.hid_nonlinearity is pt.sigmoid


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_step_matches_reference(reset_after, rng):
    with pytensor.config.change_flags(floatX="float64"):
        cell = GRUCell(3, 4, reset_after=reset_after, seed=0)
        cell.set_values({k: rng.normal(size=v.shape) for k, v in cell.get_values().items()})
        x, h = pt.matrix("x"), pt.matrix("h")
        f = seqgraph.function([x, h], cell.step(x, h, *cell.params)[0], backend="c")
        xv, hv = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
        p = {k: v.get_value() for k, v in cell.named_params().items()}
        np.testing.assert_allclose(f(xv, hv), ref.gru_step(xv, hv, p, reset_after)[0], rtol=1e-12)


def test_the_two_gru_forms_differ(rng):
    with pytensor.config.change_flags(floatX="float64"):
        before = GRUCell(3, 4, seed=0)
        after = GRUCell(3, 4, reset_after=True, seed=0)
        after.set_values({**before.get_values(), "b_hn": np.zeros(4)})
        x, h = pt.matrix("x"), pt.matrix("h")
        f = seqgraph.function(
            [x, h],
            [before.step(x, h, *before.params)[0], after.step(x, h, *after.params)[0]],
            backend="c",
        )
        a, b = f(rng.normal(size=(2, 3)), rng.normal(size=(2, 4)))
        assert not np.allclose(a, b)


def test_project_accepts_integer_ids():
    cell = ElmanCell(10, 4, seed=0)
    ids = pt.lmatrix("ids")
    f = seqgraph.function([ids], cell.project(ids), backend="c")
    got = f(np.array([[1, 9]]))
    want = cell.W_in.get_value()[[1, 9]] + cell.b.get_value()
    np.testing.assert_allclose(got[0], want, rtol=1e-6)


def test_cell_errors():
    with pytest.raises(ValueError, match="num_units must be a positive integer; got 0"):
        LSTMCell(3, 0)
    with pytest.raises(ValueError, match="num_inputs must be a positive integer; got 2.5"):
        ElmanCell(2.5, 3)
    with pytest.raises(ValueError, match="gate_nonlinearity must be"):
        LSTMCell(3, 4, gate_nonlinearity="swish")
    with pytest.raises(ValueError, match=r"W_in_init has shape \(3, 4\); expected \(3, 12\)"):
        GRUCell(3, 4, W_in_init=np.zeros((3, 4)))
