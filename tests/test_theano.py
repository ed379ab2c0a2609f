"""seqgraph.theano: Theano scripts run unchanged and match the native API."""

from __future__ import annotations

import os
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
        next_g, mask = pt.random.binomial(1, 0.5, size=x_t.shape, rng=g, return_next_rng=True)
        return x_t * pt.cast(mask, x_t.dtype), {g: next_g}

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
            str(SCRIPTS / "elman_one_output.py"),
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert np.load(out)["W"].dtype == np.float32


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


def test_missing_theano_api_names_the_replacement():
    seqgraph.theano.install()
    try:
        import theano.tensor as T  # noqa: PLC0415

        assert T is seqgraph.theano.tensor
        with pytest.raises(AttributeError, match=r"nnet.conv2d is not provided.*pytensor"):
            T.nnet.conv2d  # noqa: B018
        with pytest.raises(ImportError, match=r"theano.sandbox.cuda is not provided.*JAX"):
            import theano.sandbox.cuda  # noqa: F401, PLC0415
    finally:
        seqgraph.theano.uninstall()
    with pytest.raises(ImportError):
        import theano  # noqa: F401, PLC0415


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
