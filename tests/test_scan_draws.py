"""Gradients of loops that draw random numbers in their step (seqgraph._scan_draws)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.scan.op import Scan

import seqgraph
import seqgraph.theano as theano
from seqgraph.scan import _RETURN_UPDATES
from seqgraph.theano.sandbox.rng_mrg import MRG_RandomStreams

F64 = "float64"


def _replayed_gradient(forward, w0, eps=1e-6):
    """Central differences of ``forward(W)``, a NumPy replay with fixed draws."""
    num = np.zeros_like(w0)
    for idx in np.ndindex(*w0.shape):
        up, down = w0.copy(), w0.copy()
        up[idx] += eps
        down[idx] -= eps
        num[idx] = (forward(up) - forward(down)) / (2 * eps)
    return num


def _masked_tanh_loop(rng):
    """h_t = tanh(h_{t-1} W) * m_t, with m_t a Bernoulli mask drawn in the step."""
    w0 = rng.normal(size=(3, 3))
    W = pytensor.shared(w0, name="W")
    h0 = pt.matrix("h0", dtype=F64)
    srng = MRG_RandomStreams(3)

    def step(h):
        mask = pt.cast(srng.uniform(size=h.shape, dtype=F64) < 0.6, F64)
        return pt.tanh(pt.dot(h, W)) * mask, mask

    return w0, W, h0, step


def test_gradient_through_draws_uses_the_forward_loops_draws(backend, rng):
    # PyTensor refuses this gradient ("Depends on a untraced variable"): the
    # backward loop cannot redraw the masks. seqgraph keeps them.
    w0, W, h0, step = _masked_tanh_loop(rng)
    (h, masks), updates = seqgraph.scan(step, outputs_info=[h0, None], n_steps=4)
    cost = (h[-1] * np.arange(1.0, 4.0)).sum()
    f = seqgraph.function(
        [h0], [cost, pytensor.grad(cost, W), masks], updates=updates, backend=backend
    )
    x0 = rng.normal(size=(2, 3))
    seen = []
    for _ in range(2):
        c, g, m = f(x0)

        def forward(w, m=m):
            hv = x0
            for t in range(4):
                hv = np.tanh(hv @ w) * m[t]
            return (hv * np.arange(1.0, 4.0)).sum()

        assert c == pytest.approx(forward(w0), rel=1e-12)
        np.testing.assert_allclose(g, _replayed_gradient(forward, w0), rtol=1e-6, atol=1e-9)
        seen.append(m)
    # The generator advances between calls: new masks, each step its own.
    assert not np.array_equal(seen[0], seen[1])
    assert not all(np.array_equal(seen[0][0], seen[0][t]) for t in range(1, 4))


def test_the_draws_are_kept_only_for_a_gradient(rng):
    # seqgraph.scan makes the loop output its draws; a function without a
    # gradient drops that output, and one with a gradient runs the forward
    # loop once (its backward loop reads the stored draws).
    _, W, h0, step = _masked_tanh_loop(rng)

    def forward_only(h):
        return step(h)[0]

    [h], updates = seqgraph.scan(forward_only, outputs_info=[h0], n_steps=4)
    cost = h[-1].sum()

    def loops(outputs):
        f = pytensor.function([h0], outputs, updates=updates, mode="FAST_RUN")
        return [n.op for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]

    [alone] = loops([cost])
    assert alone.info.n_nit_sot == 0
    forward, backward = loops([cost, pytensor.grad(cost, W)])
    assert forward.info.n_nit_sot == 1 and not backward.info.as_while


def test_a_generator_passed_as_a_non_sequence(rng):
    # A generator without an update: every step draws the same numbers.
    # PyTensor failed with an AttributeError (zeros of a generator's shape).
    # (PyTensor's JAX backend draws new numbers for each use of such a draw,
    # the one output differing from the one used; so the C backend only.)
    w0 = rng.normal(size=(3, 3))
    W = pytensor.shared(w0, name="W")
    gen = pytensor.shared(np.random.default_rng(4), name="gen")
    h0 = pt.matrix("h0", dtype=F64)

    def step(h, g):
        _, noise = pt.random.normal(0.0, 1.0, size=(3,), rng=g, dtype=F64, return_next_rng=True)
        return pt.tanh(pt.dot(h, W) + noise), noise

    (h, noise), updates = seqgraph.scan(
        step, outputs_info=[h0, None], non_sequences=[gen], n_steps=3
    )
    cost = h[-1].sum()
    f = seqgraph.function([h0], [cost, pytensor.grad(cost, W), noise], backend="c")
    x0 = rng.normal(size=(2, 3))
    c, g, nv = f(x0)
    np.testing.assert_array_equal(nv[0], nv[2])

    def forward(w):
        hv = x0
        for t in range(3):
            hv = np.tanh(hv @ w + nv[t])
        return hv.sum()

    assert c == pytest.approx(forward(w0), rel=1e-12)
    np.testing.assert_allclose(g, _replayed_gradient(forward, w0), rtol=1e-6, atol=1e-9)


@pytest.mark.filterwarnings("ignore:Setting default_update is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Scan return signature will change:DeprecationWarning")
def test_a_loop_built_by_pytensor_scan_is_differentiated_too(rng):
    # No stored draws: the gradient runs a second forward loop that stores
    # them, from the same generator state.
    w0, W, h0, step = _masked_tanh_loop(rng)
    (h, masks), updates = pytensor.scan(step, outputs_info=[h0, None], n_steps=4, **_RETURN_UPDATES)
    cost = h[-1].sum()
    f = seqgraph.function([h0], [cost, pytensor.grad(cost, W), masks], updates=updates, backend="c")
    x0 = rng.normal(size=(2, 3))
    c, g, m = f(x0)

    def forward(w):
        hv = x0
        for t in range(4):
            hv = np.tanh(hv @ w) * m[t]
        return hv.sum()

    assert c == pytest.approx(forward(w0), rel=1e-12)
    np.testing.assert_allclose(g, _replayed_gradient(forward, w0), rtol=1e-6, atol=1e-9)


def test_backwards_truncated_and_with_sequences(rng):
    # Draws along a reversed sequence, with truncated BPTT: the replay reads
    # them in the loop's order.
    w0 = rng.normal(size=(3, 3)) * 0.7
    W = pytensor.shared(w0, name="W")
    x = pt.tensor3("x", dtype=F64)
    h0 = pt.matrix("h0", dtype=F64)
    srng = MRG_RandomStreams(9)

    def step(x_t, h):
        keep = pt.cast(srng.uniform(size=h.shape, dtype=F64) < 0.5, F64)
        return pt.tanh(x_t + pt.dot(h * keep, W)), keep

    (h, keeps), updates = seqgraph.scan(
        step, sequences=x, outputs_info=[h0, None], go_backwards=True, truncate_gradient=2
    )
    cost = h[-1].sum()
    f = seqgraph.function([x, h0], [pytensor.grad(cost, W), keeps], updates=updates, backend="c")
    xv, hv0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 3))
    g, k = f(xv, hv0)
    # Truncated BPTT: only the last two steps see W's gradient, the state
    # before them held fixed.
    hv = hv0
    for t in range(3):
        hv = np.tanh(xv[::-1][t] + (hv * k[t]) @ w0)
    start = hv

    def forward(w):
        hv = start
        for t in range(3, 5):
            hv = np.tanh(xv[::-1][t] + (hv * k[t]) @ w)
        return hv.sum()

    np.testing.assert_allclose(g, _replayed_gradient(forward, w0), rtol=1e-6, atol=1e-9)


def test_theano_mrg_multinomial_in_the_step_with_known_grads(rng):
    # The stochastic "hard" attention of Show, Attend and Tell (arctic-captions):
    # a location sampled in each step from MRG_RandomStreams.multinomial, its
    # score-function term given by known_grads. Theano 0.7-0.8 took this
    # gradient; PyTensor could not.
    floatx = theano.config.floatX
    srng = MRG_RandomStreams(5)
    ctx = theano.shared(rng.normal(size=(2, 4, 3)).astype(floatx), name="ctx")
    W = theano.shared((rng.normal(size=(3, 4)) * 0.5).astype(floatx), name="W")
    h0 = theano.tensor.matrix("h0")

    def step(h):
        alpha = theano.tensor.nnet.softmax(theano.tensor.dot(h, W))
        sample = srng.multinomial(pvals=alpha, dtype=floatx)
        return theano.tensor.tanh((ctx * sample[:, :, None]).sum(1) + h), alpha, sample

    (h, alphas, samples), updates = theano.scan(step, outputs_info=[h0, None, None], n_steps=3)
    cost = h[-1].sum()
    reward = theano.tensor.constant(0.5, dtype=floatx)
    g = theano.tensor.grad(cost, W, known_grads={alphas: reward * samples / alphas})
    f = theano.function([h0], [g, samples, alphas], updates=updates)
    gv, sv, av = f(np.zeros((2, 3), dtype=floatx))
    assert np.all(sv.sum(-1) == 1)
    # The cost does not depend on W through the sample (its gradient is the
    # known_grads term alone), and each step's h depends on W only there.
    # d/dW of sum_t <reward * s_t / a_t, a_t(h_{t-1} W)>:
    hv = np.zeros((2, 3))
    expected = np.zeros((3, 4))
    for t in range(3):
        a = av[t].astype(F64)
        dalpha = 0.5 * sv[t] / a
        dlogits = a * (dalpha - (dalpha * a).sum(-1, keepdims=True))
        expected += hv.T @ dlogits
        hv = np.tanh((ctx.get_value() * sv[t][:, :, None]).sum(1) + hv)
    np.testing.assert_allclose(gv, expected, rtol=1e-4, atol=1e-5)
