"""seqgraph.scan: the same scan cases on every backend, against NumPy references."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqgraph
from seqgraph import ScanError
from tests import reference as ref

F64 = "float64"


def shared(value, name):
    return pytensor.shared(np.asarray(value, dtype=F64), name=name)


# -- cases run on every backend -------------------------------------------------


def test_one_output_is_a_list(backend, rng):
    x = pt.vector("x", dtype=F64)
    outputs, updates = seqgraph.scan(
        lambda x_t, acc: acc + x_t, sequences=x, outputs_info=pt.zeros((), dtype=F64)
    )
    assert isinstance(outputs, list) and len(outputs) == 1
    assert updates == {}
    f = seqgraph.function([x], outputs[0], backend=backend)
    xv = rng.normal(size=7)
    np.testing.assert_allclose(f(xv), np.cumsum(xv), rtol=1e-12)


def test_several_outputs_recurrent_and_not(backend, rng):
    x = pt.matrix("x", dtype=F64)  # (time, n)
    W = shared(rng.normal(size=(3, 3)) * 0.5, "W")
    U = shared(rng.normal(size=(3, 3)) * 0.5, "U")
    h0 = pt.zeros((3,), dtype=F64)

    def step(x_t, h, W, U):
        h_new = pt.tanh(x_t @ W + h @ U)
        return h_new, (h_new**2).sum()

    (hs, energy), _ = seqgraph.scan(
        step, sequences=x, outputs_info=[h0, None], non_sequences=[W, U], strict=True
    )
    f = seqgraph.function([x], [hs, energy], backend=backend)
    xv = rng.normal(size=(6, 3))
    got_h, got_e = f(xv)
    want_h = ref.elman(xv, W.get_value(), U.get_value(), np.zeros(3))
    np.testing.assert_allclose(got_h, want_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_e, (want_h**2).sum(axis=1), rtol=1e-10)


def test_taps_minus_two_minus_one(backend, rng):
    x = pt.vector("x", dtype=F64)
    init = pt.vector("init", dtype=F64)
    [ys], _ = seqgraph.scan(
        lambda x_t, y2, y1: y2 + 0.5 * y1 + x_t,
        sequences=x,
        outputs_info=dict(initial=init, taps=[-2, -1]),
    )
    f = seqgraph.function([x, init], ys, backend=backend)
    xv, iv = rng.normal(size=9), rng.normal(size=2)
    np.testing.assert_allclose(f(xv, iv), ref.taps_recurrence(xv, iv), rtol=1e-12)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_non_sequences_and_go_backwards(backend, rng, go_backwards):
    x = pt.tensor3("x", dtype=F64)  # (time, batch, n_in)
    W = shared(rng.normal(size=(4, 5)) * 0.4, "W")
    U = shared(rng.normal(size=(5, 5)) * 0.4, "U")
    h0 = pt.zeros((x.shape[1], 5), dtype=F64)  # shape taken from the input
    [hs], _ = seqgraph.scan(
        lambda x_t, h, W, U: pt.tanh(x_t @ W + h @ U),
        sequences=x,
        outputs_info=h0,
        non_sequences=[W, U],
        go_backwards=go_backwards,
        strict=True,
    )
    f = seqgraph.function([x], hs, backend=backend)
    xv = rng.normal(size=(7, 3, 4))
    want = ref.elman(xv, W.get_value(), U.get_value(), np.zeros((3, 5)), go_backwards)
    np.testing.assert_allclose(f(xv), want, rtol=1e-10, atol=1e-12)
    # A second shape signature through the same compiled function.
    xv2 = rng.normal(size=(4, 2, 4))
    want2 = ref.elman(xv2, W.get_value(), U.get_value(), np.zeros((2, 5)), go_backwards)
    np.testing.assert_allclose(f(xv2), want2, rtol=1e-10, atol=1e-12)


def test_truncate_gradient(backend):
    x = pt.vector("x", dtype=F64)
    a = np.float64(0.9)
    [hs], _ = seqgraph.scan(
        lambda x_t, h: a * h + x_t,
        sequences=x,
        outputs_info=pt.zeros((), dtype=F64),
        truncate_gradient=3,
    )
    g = pytensor.grad(hs.sum(), x)
    f = seqgraph.function([x], g, backend=backend)
    np.testing.assert_allclose(f(np.ones(8)), ref.linear_truncated_grad(8, a, 3), rtol=1e-12)


def test_shared_variable_updates_made_in_the_step(backend):
    counter = pytensor.shared(np.asarray(0.0, dtype=F64), name="counter")
    x = pt.vector("x", dtype=F64)

    def step(x_t):
        return x_t * 2, {counter: counter + 1}

    [doubled], updates = seqgraph.scan(step, sequences=x)
    assert counter in updates
    f = seqgraph.function([x], doubled, updates=updates, backend=backend)
    np.testing.assert_allclose(f(np.arange(5.0)), np.arange(5.0) * 2)
    np.testing.assert_allclose(f(np.arange(5.0)), np.arange(5.0) * 2)
    assert float(np.asarray(counter.get_value())) == 10.0


def _lstm_graph(rng, n_in=3, n=4):
    W = shared(rng.normal(size=(n_in, 4 * n)) * 0.5, "W")
    U = shared(rng.normal(size=(n, 4 * n)) * 0.5, "U")
    b = shared(rng.normal(size=4 * n) * 0.1, "b")
    x = pt.tensor3("x", dtype=F64)

    def step(x_t, h, c, W, U, b):
        z = x_t @ W + h @ U + b
        i = pt.sigmoid(z[:, :n])
        f = pt.sigmoid(z[:, n : 2 * n])
        o = pt.sigmoid(z[:, 2 * n : 3 * n])
        g = pt.tanh(z[:, 3 * n :])
        c_new = f * c + i * g
        return o * pt.tanh(c_new), c_new

    zeros = pt.zeros((x.shape[1], n), dtype=F64)
    (hs, cs), _ = seqgraph.scan(
        step, sequences=x, outputs_info=[zeros, zeros], non_sequences=[W, U, b], strict=True
    )
    return x, (W, U, b), hs, cs


def test_lstm_forward_and_gradient(backend_numba_slow, rng):
    backend = backend_numba_slow
    x, params, hs, cs = _lstm_graph(rng)
    loss = (hs**2).sum() + cs.mean()
    grads = pytensor.grad(loss, list(params))
    f = seqgraph.function([x], [hs, cs, *grads], backend=backend)
    xv = rng.normal(size=(6, 2, 3))
    got = f(xv)
    want_h, want_c = ref.lstm(xv, *(p.get_value() for p in params))
    np.testing.assert_allclose(got[0], want_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], want_c, rtol=1e-10, atol=1e-12)
    # Gradients: central differences of the NumPy reference along random directions.
    values = [p.get_value() for p in params]

    def ref_loss(vals):
        h, c = ref.lstm(xv, *vals)
        return (h**2).sum() + c.mean()

    eps = 1e-6
    for k, grad in enumerate(got[2:]):
        direction = rng.normal(size=values[k].shape)
        plus = [v + eps * direction if j == k else v for j, v in enumerate(values)]
        minus = [v - eps * direction if j == k else v for j, v in enumerate(values)]
        numeric = (ref_loss(plus) - ref_loss(minus)) / (2 * eps)
        np.testing.assert_allclose((grad * direction).sum(), numeric, rtol=1e-6)


def test_lstm_float32_training_step_matches_c(backend_numba_slow, rng):
    """The float32 training step (updates written back) agrees across backends."""
    backend = backend_numba_slow
    n_in, n = 3, 4
    init = [
        rng.normal(size=s).astype("float32") * 0.5 for s in [(n_in, 4 * n), (n, 4 * n), (4 * n,)]
    ]

    def run(name):
        W, U, b = (pytensor.shared(v.copy(), name=k) for v, k in zip(init, "WUb"))
        x = pt.tensor3("x", dtype="float32")

        def step(x_t, h, c, U, b):
            z = x_t + h @ U + b
            i, f, o = (pt.sigmoid(z[:, k * n : (k + 1) * n]) for k in range(3))
            c_new = f * c + i * pt.tanh(z[:, 3 * n :])
            return o * pt.tanh(c_new), c_new

        zeros = pt.zeros((x.shape[1], n), dtype="float32")
        (hs, _), _ = seqgraph.scan(
            step, sequences=x @ W, outputs_info=[zeros, zeros], non_sequences=[U, b]
        )
        loss = (hs**2).mean()
        grads = pytensor.grad(loss, [W, U, b])
        lr = np.float32(0.5)
        train = seqgraph.function(
            [x], loss, updates=[(p, p - lr * g) for p, g in zip([W, U, b], grads)], backend=name
        )
        xv = np.random.default_rng(5).normal(size=(5, 2, n_in)).astype("float32")
        losses = [float(train(xv)) for _ in range(3)]
        return losses, [np.asarray(p.get_value()) for p in (W, U, b)]

    losses, params = run(backend)
    want_losses, want_params = run("c")
    assert all(np.asarray(p).dtype == np.float32 for p in params)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    for got, want in zip(params, want_params):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# -- finite differences in float64 (PyTensor's verify_grad) ---------------------


def test_verify_grad_through_two_state_scan(rng):
    n = 3

    def model(x, U):
        def step(x_t, h, c, U):
            z = x_t + h @ U
            c_new = pt.sigmoid(z[:, :n]) * c + pt.tanh(z[:, n:])
            return pt.tanh(c_new), c_new

        zeros = pt.zeros((x.shape[1], n), dtype=x.dtype)
        (hs, _), _ = seqgraph.scan(step, sequences=x, outputs_info=[zeros, zeros], non_sequences=U)
        return hs

    pytensor.gradient.verify_grad(
        model,
        [rng.normal(size=(5, 2, 2 * n)), rng.normal(size=(n, 2 * n)) * 0.5],
        rng=rng,
        # The graph's gradient, not a backend, is checked: PyTensor's Python
        # implementations, which need no compiler.
        mode=pytensor.compile.mode.Mode(linker="py", optimizer="fast_compile"),
    )


# -- errors raised while the graph is built ------------------------------------


def test_error_when_step_returns_fewer_values_than_outputs_info():
    x = pt.vector("x")
    with pytest.raises(ScanError, match=r"returned 1 value\(s\) but outputs_info has 2 entries"):
        seqgraph.scan(
            lambda x_t, a, b: a + x_t, sequences=x, outputs_info=[pt.zeros(()), pt.zeros(())]
        )


def test_error_when_step_returns_more_values_than_outputs_info():
    x = pt.vector("x")
    with pytest.raises(ScanError, match=r"returned 2 value\(s\) but outputs_info has 1 entry"):
        seqgraph.scan(lambda x_t, a: (a + x_t, a * x_t), sequences=x, outputs_info=pt.zeros(()))


def test_error_names_output_and_both_ndims():
    x = pt.matrix("x")
    with pytest.raises(
        ScanError, match=r"output 0 of the step has ndim=1.* outputs_info\[0\] implies ndim=0"
    ):
        seqgraph.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=pt.zeros(()))


def test_error_names_output_and_both_dtypes():
    x = pt.vector("x", dtype="float32")
    w = pytensor.shared(np.float64(2.0), name="w")
    with pytest.raises(
        ScanError, match=r"output 0 .*dtype float64 .*outputs_info\[0\] has dtype float32.*cast"
    ):
        seqgraph.scan(
            lambda x_t, h, w: h * w + x_t,
            sequences=x,
            outputs_info=pt.zeros((), dtype="float32"),
            non_sequences=w,
        )


def test_broadcastable_batch_of_one_is_repaired(rng):
    """zeros((1, n)) as the state of a batch-of-one loop: PyTensor refuses it."""
    x = pt.tensor3("x", dtype=F64)  # (time, batch, n_in)
    W = shared(rng.normal(size=(2, 3)), "W")
    U = shared(rng.normal(size=(3, 3)) * 0.3, "U")
    h0 = pt.zeros((1, 3), dtype=F64)
    [hs], _ = seqgraph.scan(
        lambda x_t, h, W, U: pt.tanh(x_t @ W + h @ U),
        sequences=x,
        outputs_info=h0,
        non_sequences=[W, U],
    )
    f = seqgraph.function([x], hs, backend="c")
    xv = rng.normal(size=(4, 1, 2))
    want = ref.elman(xv, W.get_value(), U.get_value(), np.zeros((1, 3)))
    np.testing.assert_allclose(f(xv), want, rtol=1e-10)


def test_error_when_n_steps_exceeds_a_sequence():
    x = pt.tensor("x", shape=(5, 3))
    with pytest.raises(
        ScanError, match=r"n_steps=8 is larger than sequences\[0\], which has 5 steps"
    ):
        seqgraph.scan(lambda x_t: x_t * 2, sequences=x, n_steps=8)


def test_error_when_n_steps_exceeds_a_tapped_sequence():
    x = pt.tensor("x", shape=(5,))
    with pytest.raises(ScanError, match=r"usable with taps \[-1, 0\]: 4"):
        seqgraph.scan(lambda a, b: a + b, sequences=dict(input=x, taps=[-1, 0]), n_steps=5)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(n_steps=-1), "n_steps must be >= 0"),
        (dict(n_steps=2.5), "n_steps must be an integer"),
        (dict(truncate_gradient=0), "truncate_gradient must be -1"),
        (
            dict(outputs_info=dict(taps=[-1])),
            r"outputs_info\[0\] is a dict without an 'initial' key",
        ),
        (
            dict(outputs_info=dict(initial=np.zeros(2), taps=[1])),
            r"outputs_info\[0\]\['taps'\] must be negative",
        ),
    ],
)
def test_argument_errors(kwargs, pattern):
    x = pt.vector("x")
    with pytest.raises(ScanError, match=pattern):
        seqgraph.scan(lambda x_t, *rest: x_t, sequences=x, **kwargs)


def test_a_sequence_that_is_no_array_is_named():
    with pytest.raises(
        ScanError, match=r"sequences\[1\] must be a tensor or array-like; got 'abc'"
    ):
        seqgraph.scan(lambda a, b: a, sequences=[pt.vector("x"), "abc"])


def test_a_step_that_returns_nothing_says_so():
    with pytest.raises(ScanError, match="the step function returned None"):
        seqgraph.scan(lambda x_t, h: None, sequences=pt.vector("x"), outputs_info=pt.zeros(()))


def test_error_without_sequences_or_n_steps():
    with pytest.raises(ScanError, match="needs sequences or n_steps"):
        seqgraph.scan(lambda h: h + 1, outputs_info=pt.zeros(()))


def test_no_deprecation_warning_reaches_the_user():
    # filterwarnings=error in pyproject turns any leaked warning into a failure;
    # this test states the contract explicitly.
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seqgraph.scan(lambda x_t: x_t, sequences=pt.vector("x"))
    assert not caught, [str(w.message) for w in caught]


# -- output counts and shapes, generated --------------------------------------

output_spec = st.tuples(st.booleans(), st.integers(min_value=0, max_value=2))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(output_spec, min_size=1, max_size=4), steps=st.integers(1, 5))
def test_output_count_and_shapes(specs, steps):
    """Any mix of recurrent / non-recurrent outputs of any rank comes back as a list."""
    x = pt.vector("x", dtype=F64)
    shapes = [(2,) * ndim for _, ndim in specs]
    info = [
        pt.zeros(shape, dtype=F64) if recurrent else None
        for (recurrent, _), shape in zip(specs, shapes)
    ]

    def step(x_t, *states):
        states = list(states)
        result = []
        for (recurrent, _), shape in zip(specs, shapes):
            base = states.pop(0) if recurrent else pt.zeros(shape, dtype=F64)
            result.append(base + x_t)
        return result

    outputs, updates = seqgraph.scan(step, sequences=x, outputs_info=info)
    assert isinstance(outputs, list) and len(outputs) == len(specs)
    assert updates == {}
    values = pytensor.function([x], outputs, mode="FAST_COMPILE")(np.arange(steps, dtype=F64))
    for (recurrent, _), shape, value in zip(specs, shapes, values):
        assert value.shape == (steps, *shape)
        expected = np.cumsum(np.arange(steps)) if recurrent else np.arange(steps)
        np.testing.assert_allclose(value.reshape(steps, -1)[:, 0], expected)


def test_masked_lstm_backwards_with_n_steps_from_the_input(backend_numba_slow, rng):
    """Mask, n_steps=x.shape[0], go_backwards and BPTT through both states."""
    backend = backend_numba_slow
    n_in, n = 3, 4
    x, params, _, _ = _lstm_graph(rng, n_in, n)
    W, U, b = params
    mask = pt.matrix("mask", dtype=F64)  # (time, batch)

    def step(x_t, m_t, h, c, W, U, b):
        z = x_t @ W + h @ U + b
        i, f, o = (pt.sigmoid(z[:, k * n : (k + 1) * n]) for k in range(3))
        c_new = f * c + i * pt.tanh(z[:, 3 * n :])
        h_new = o * pt.tanh(c_new)
        keep = m_t[:, None]
        return pt.switch(keep, h_new, h), pt.switch(keep, c_new, c)

    zeros = pt.zeros((x.shape[1], n), dtype=F64)
    (hs, cs), _ = seqgraph.scan(
        step,
        sequences=[x, mask],
        outputs_info=[zeros, zeros],
        non_sequences=[W, U, b],
        n_steps=x.shape[0],
        go_backwards=True,
        strict=True,
    )
    loss = (hs[-1] ** 2).sum() + cs.sum()
    grads = pytensor.grad(loss, [W, U, b, x])
    f = seqgraph.function([x, mask], [hs, *grads], backend=backend)
    xv = rng.normal(size=(5, 3, n_in))
    mv = np.ones((5, 3))
    mv[3:, 1] = 0.0  # sequence 1 is 3 steps long (padding at the end)
    mv[1:, 2] = 0.0  # sequence 2 is 1 step long
    got = f(xv, mv)

    # Reference: each sequence run backwards over its own steps only.
    Wv, Uv, bv = (p.get_value() for p in params)
    want_h = np.zeros((5, 3, n))
    for j in range(3):
        h = np.zeros((1, n))
        c = np.zeros((1, n))
        for s, t in enumerate(range(4, -1, -1)):
            if mv[t, j]:
                hh, cc = ref.lstm(xv[t : t + 1, j : j + 1], Wv, Uv, bv, h, c)
                h, c = hh[0], cc[0]
            want_h[s, j] = h[0]
    np.testing.assert_allclose(got[0], want_h, rtol=1e-10, atol=1e-12)
    if backend != "c":
        want = seqgraph.function([x, mask], [hs, *grads], backend="c")(xv, mv)
        for g_got, g_want in zip(got[1:], want[1:]):
            np.testing.assert_allclose(g_got, g_want, rtol=1e-9, atol=1e-12)
    # Masked-out input steps get no gradient.
    assert np.all(got[4][3:, 1] == 0.0) and np.all(got[4][1:, 2] == 0.0)
