"""Recurrent layers against NumPy references, equivalent code paths and gradients."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.cells import ElmanCell, GRUCell, LSTMCell
from seqgraph.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    Elman,
    RandomSource,
    Recurrent,
    Stack,
    dropout,
)
from tests import reference as ref

N_IN, N = 3, 4

KINDS = ["elman", "elman_sigmoid", "gru", "gru_reset_after", "lstm", "lstm_peepholes"]


@pytest.fixture
def float64():
    with pytensor.config.change_flags(floatX="float64"):
        yield


def make_cell(kind, seed=0):
    if kind == "elman":
        return ElmanCell(N_IN, N, seed=seed)
    if kind == "elman_sigmoid":
        return ElmanCell(N_IN, N, "sigmoid", seed=seed)
    if kind == "gru":
        return GRUCell(N_IN, N, seed=seed)
    if kind == "gru_reset_after":
        return GRUCell(N_IN, N, reset_after=True, seed=seed)
    if kind == "lstm":
        return LSTMCell(N_IN, N, seed=seed)
    if kind == "lstm_peepholes":
        return LSTMCell(N_IN, N, peepholes=True, seed=seed)
    raise AssertionError(kind)


def randomise(module, rng, scale=0.5):
    """Give every parameter (peepholes, b_hn, initial states too) non-trivial values."""
    module.set_values(
        {
            name: rng.normal(0, scale, size=value.shape)
            for name, value in module.get_values().items()
        }
    )


def reference_step(kind, cell):
    p = {name: var.get_value() for name, var in cell.named_params().items()}
    if kind == "elman":
        return lambda x, h: ref.elman_step(x, h, p)
    if kind == "elman_sigmoid":
        return lambda x, h: ref.elman_step(x, h, p, ref.sigmoid)
    if kind.startswith("gru"):
        return lambda x, h: ref.gru_step(x, h, p, reset_after=kind == "gru_reset_after")
    return lambda x, h, c: ref.lstm_step(x, h, c, p, peepholes=kind == "lstm_peepholes")


def batch(rng, b=3, t=6, n_in=N_IN, dtype=None):
    dtype = dtype or pytensor.config.floatX
    x = rng.normal(size=(b, t, n_in)).astype(dtype)
    lengths = rng.integers(1, t + 1, size=b)
    lengths[0] = t
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(dtype)
    return x, mask, lengths


# -- against the NumPy reference ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_reference(kind, float64, rng):
    """Masked forward and backward runs, learned initial states, only_return_final."""
    cell = make_cell(kind)
    fwd = Recurrent(cell, learn_init=True)
    bwd = Recurrent(cell, go_backwards=True, learn_init=True)
    final = Recurrent(cell, only_return_final=True, learn_init=True)
    for layer in (fwd, bwd, final):
        randomise(layer, rng)
    for layer in (bwd, final):  # same initial states as fwd, for one reference run
        layer.set_values({k: v for k, v in fwd.get_values().items()}, strict=True)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    outs = fwd.states(x, mask) + bwd.states(x, mask) + final.states(x, mask)
    f = seqgraph.function([x, mask], outs, backend="c")
    xv, mv, lengths = batch(rng)
    got = f(xv, mv)
    ns = len(cell.state_names)
    init = [np.tile(p.get_value(), (3, 1)) for p in fwd.initial_params]
    step = reference_step(kind, cell)
    want_fwd, final_states = ref.run_layer(step, xv, init, mv)
    want_bwd, _ = ref.run_layer(step, xv, init, mv, go_backwards=True)
    for i in range(ns):
        np.testing.assert_allclose(got[i], want_fwd[i], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got[ns + i], want_bwd[i], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got[2 * ns + i], final_states[i], rtol=1e-10, atol=1e-12)
        # A masked sequence's final state is its state at length - 1.
        for b, length in enumerate(lengths):
            np.testing.assert_allclose(got[2 * ns + i][b], want_fwd[i][b, length - 1])


def test_every_backend_matches_reference(backend_numba_slow, rng):
    """One compiled graph per backend: every cell kind, masked, both directions."""
    check_layers_on(backend_numba_slow, KINDS, [False, True], rng)


def test_numba_runs_a_masked_backward_layer(numba_backend, rng):
    """Numba's share of the test above in the default run: the fullest cell."""
    check_layers_on(numba_backend, ["lstm_peepholes"], [True], rng)


def check_layers_on(backend, kinds, directions, rng):
    layers, steps = [], []
    for kind in kinds:
        cell = make_cell(kind)
        randomise(cell, rng)
        layers += [Recurrent(cell, go_backwards=backwards) for backwards in directions]
        steps += [reference_step(kind, cell)] * len(directions)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    f = seqgraph.function([x, mask], [layer(x, mask) for layer in layers], backend=backend)
    xv, mv, _ = batch(rng)
    for _ in range(2):  # compiled once, called with new values
        got = f(xv, mv)
        for layer, step, out in zip(layers, steps, got):
            init = [np.zeros((3, N), xv.dtype) for _ in layer.cell.state_names]
            want, _ = ref.run_layer(
                step, xv.astype("float64"), init, mv, go_backwards=layer.go_backwards
            )
            np.testing.assert_allclose(out, want[0], rtol=1e-4, atol=1e-5)
        xv, mv, _ = batch(rng)


# -- equivalent code paths -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_equivalent_paths(kind, float64, rng):
    cell = make_cell(kind)
    randomise(cell, rng)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    xs = x[:, ::-1]
    base = Recurrent(cell)
    outs = [
        base(x),
        Recurrent(cell, precompute_input=False)(x),
        base(x, mask=pt.ones_like(mask)),
        Recurrent(cell, go_backwards=True)(x),
        base(xs)[:, ::-1],
        Recurrent(cell, time_major=True)(x.dimshuffle(1, 0, 2)).dimshuffle(1, 0, 2),
        Recurrent(cell, only_return_final=True)(x),
    ]
    f = seqgraph.function([x, mask], outs, backend="c", on_unused_input="ignore")
    xv, mv, _ = batch(rng)
    plain, no_pre, ones_mask, backwards, on_reversed, time_major, final = f(xv, mv)
    np.testing.assert_allclose(no_pre, plain, rtol=1e-12)
    np.testing.assert_allclose(ones_mask, plain, rtol=1e-12)
    np.testing.assert_allclose(backwards, on_reversed, rtol=1e-12)
    np.testing.assert_allclose(time_major, plain, rtol=1e-12)
    np.testing.assert_allclose(final, plain[:, -1], rtol=1e-12)


@pytest.mark.parametrize("kind", ["elman", "gru", "lstm_peepholes"])
def test_layer_equals_python_loop_over_cell(kind, float64, rng):
    """The layer's output at every step equals calling the cell's step in a loop."""
    cell = make_cell(kind)
    randomise(cell, rng)
    x = pt.tensor3("x")
    layer_fn = seqgraph.function([x], Recurrent(cell).states(x), backend="c")
    x_t = pt.matrix("x_t")
    states = [pt.matrix(name) for name in cell.state_names]
    step_fn = seqgraph.function([x_t, *states], cell.step(x_t, *states, *cell.params), backend="c")
    xv, _, _ = batch(rng)
    want = layer_fn(xv)
    current = [np.zeros((3, N)) for _ in states]
    for t in range(xv.shape[1]):
        current = step_fn(xv[:, t], *current)
        for i, value in enumerate(current):
            np.testing.assert_allclose(want[i][:, t], value, rtol=1e-12)


def test_integer_ids_equal_one_hot_input(float64, rng):
    vocab = 7
    cell = ElmanCell(vocab, N, seed=0)
    ids = pt.lmatrix("ids")
    onehot = pt.tensor3("onehot")
    layer = Recurrent(cell)
    f = seqgraph.function([ids, onehot], [layer(ids), layer(onehot)], backend="c")
    idv = rng.integers(0, vocab, size=(2, 5))
    a, b = f(idv, np.eye(vocab)[idv])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_user_initial_states_override_learned(float64, rng):
    cell = make_cell("lstm")
    layer = Recurrent(cell, learn_init=True)
    assert list(layer.named_params())[-2:] == ["h_init", "c_init"]
    assert len(layer.params) == 5  # h_init, c_init, W_in, W_hid, b
    x, h0, c0 = pt.tensor3("x"), pt.matrix("h0"), pt.matrix("c0")
    f = seqgraph.function([x, h0, c0], layer.states(x, initial_states=[h0, c0]), backend="c")
    xv, _, _ = batch(rng)
    h0v, c0v = rng.normal(size=(3, N)), rng.normal(size=(3, N))
    got = f(xv, h0v, c0v)
    want, _ = ref.run_layer(reference_step("lstm", cell), xv, [h0v, c0v])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)


def test_sizes_from_the_input_do_not_copy_its_graph(monkeypatch, float64, rng):
    # Alloc and random draws derive a static size by copying the whole graph the
    # size is computed from (0.1 s for each initial state under the RNNSLU
    # model's context windows, and for the dropout mask of lstm.py): the layer
    # and dropout() give them sizes without that graph.
    from pytensor.graph.traversal import ancestors
    from pytensor.tensor.basic import Alloc
    from pytensor.tensor.random.op import RandomVariable

    from seqgraph.layers import Embedding

    ids = pt.lmatrix("ids")
    from_input = []

    def record(op_class, sizes):
        make_node = op_class.make_node

        def recording(self, *inputs):
            given = [pt.as_tensor_variable(size) for size in sizes(inputs)]
            from_input.append(ids in ancestors(given))
            return make_node(self, *inputs)

        monkeypatch.setattr(op_class, "make_node", recording)

    record(Alloc, lambda inputs: inputs[1:])  # (value, *shape)
    record(RandomVariable, lambda inputs: inputs[1:2])  # (rng, size, *params)
    embedding = Embedding(7, N_IN, seed=0)
    x = 2.0 * embedding(ids)  # a graph behind the input, its batch size unknown
    layer = Recurrent(make_cell("lstm"), learn_init=True, dropout=0.5, recurrent_dropout=0.5)
    noisy = dropout(layer(x), 0.5, RandomSource(0))
    h = layer(x, deterministic=True)
    # Two initial states and the recurrent dropout's ones, three masks, two
    # initial states again.
    assert len(from_input) >= 8 and not any(from_input)
    # The learned states, broadcast over the batch: the first step equals the
    # cell's step from them.
    f = seqgraph.function([ids], [h[:, 0], noisy], backend="c")
    idv = rng.integers(0, 7, size=(3, 4))
    params = layer.named_params()
    h_init, c_init = params["h_init"].get_value(), params["c_init"].get_value()
    want, _ = ref.run_layer(
        reference_step("lstm", layer.cell),
        2.0 * embedding.params[0].get_value()[idv][:, :1],
        [np.tile(h_init, (3, 1)), np.tile(c_init, (3, 1))],
    )
    first, noisy_v = f(idv)
    np.testing.assert_allclose(first, want[0][:, 0], rtol=1e-10)
    assert noisy_v.shape == (3, 4, N)
    # A batch size the input's type knows stays in the static type.
    fixed = pt.tensor3("fixed", shape=(2, None, N_IN))
    assert layer(fixed, deterministic=True).type.shape == (2, None, N)
    assert dropout(fixed, 0.5, RandomSource(0)).type.shape == (2, None, N_IN)


# -- gradients -------------------------------------------------------------------


def directional_check(cost, params, rng, eps=1e-6):
    """Compare the analytic directional derivative with central differences."""
    grads = pytensor.grad(cost, params)
    f_cost = seqgraph.function([], cost, backend="c")
    f_grad = seqgraph.function([], grads, backend="c")
    g = f_grad()
    base = [p.get_value() for p in params]
    errors = []
    for _ in range(3):
        d = [rng.normal(size=b.shape) for b in base]
        for p, b, di in zip(params, base, d):
            p.set_value(b + eps * di)
        plus = f_cost()
        for p, b, di in zip(params, base, d):
            p.set_value(b - eps * di)
        minus = f_cost()
        for p, b in zip(params, base):
            p.set_value(b)
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float((gi * di).sum()) for gi, di in zip(g, d))
        errors.append(abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-8))
    return max(errors)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_finite_differences(kind, float64, rng):
    cell = make_cell(kind)
    layer = Recurrent(cell, learn_init=True, go_backwards=kind.endswith("peepholes"))
    randomise(layer, rng)
    xv, mv, _ = batch(rng)
    target = rng.normal(size=(3, 6, N))
    h = layer(pt.constant(xv), mask=pt.constant(mv))
    cost = ((h - target) ** 2).sum()
    assert directional_check(cost, layer.params, rng) < 1e-6


@pytest.mark.parametrize(
    "kind",
    [
        # A GRU's written-out gradient (reset after) is also compared across
        # the two backends in tests/test_bptt.py; these two run with -m slow.
        pytest.param("gru", marks=pytest.mark.slow),
        pytest.param("gru_reset_after", marks=pytest.mark.slow),
        "lstm_peepholes",
    ],
)
def test_jax_gradient_matches_c(kind, rng):
    pytest.importorskip("jax")
    cell = make_cell(kind)
    layer = Recurrent(cell, learn_init=True)
    randomise(layer, rng)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    cost = (layer(x, mask) ** 2).sum()
    grads = pytensor.grad(cost, layer.params)
    xv, mv, _ = batch(rng)
    want = seqgraph.function([x, mask], grads, backend="c")(xv, mv)
    got = seqgraph.function([x, mask], grads, backend="jax")(xv, mv)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gru", "lstm_peepholes"])
def test_numba_gradient_matches_c(kind, rng):
    if "numba" not in seqgraph.available_backends():
        pytest.skip("numba is not installed")
    cell = make_cell(kind)
    layer = Recurrent(cell, learn_init=True)
    randomise(layer, rng)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    grads = pytensor.grad((layer(x, mask) ** 2).sum(), layer.params)
    xv, mv, _ = batch(rng)
    want = seqgraph.function([x, mask], grads, backend="c")(xv, mv)
    got = seqgraph.function([x, mask], grads, backend="numba")(xv, mv)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_truncate_gradient(float64, rng):
    cell = make_cell("lstm")
    x = pt.tensor3("x")
    full = Recurrent(cell)(x)[:, -1].sum()
    cut = Recurrent(cell, truncate_gradient=2)(x)[:, -1].sum()
    f = seqgraph.function([x], [pytensor.grad(full, x), pytensor.grad(cut, x)], backend="c")
    xv, _, _ = batch(rng)
    g_full, g_cut = f(xv)
    assert np.all(g_cut[:, :-2] == 0)
    assert np.all(np.abs(g_cut[:, -2:]).sum(axis=(0, 2)) > 0)
    assert np.abs(g_full[:, :-2]).sum() > 0
    # The last step's own input gradient is the same either way.
    np.testing.assert_allclose(g_cut[:, -1], g_full[:, -1], rtol=1e-10)


def test_grad_clipping_bounds_backpropagated_gradient(float64, rng):
    cell = make_cell("elman")
    randomise(cell, rng, scale=2.0)
    x = pt.tensor3("x")
    plain = Recurrent(cell)(x)
    clipped = Recurrent(cell, grad_clipping=1e-3)(x)
    f = seqgraph.function(
        [x],
        [
            plain,
            clipped,
            pytensor.grad((plain**2).sum() * 1e3, x),
            pytensor.grad((clipped**2).sum() * 1e3, x),
        ],
        backend="c",
    )
    xv, _, _ = batch(rng)
    h, h_clip, g, g_clip = f(xv)
    np.testing.assert_allclose(h_clip, h)  # the forward pass is unchanged
    # Each step's pre-activation gradient is within 1e-3, so dx_t is bounded by
    # 1e-3 times the absolute row sums of W_in.
    bound = 1e-3 * np.abs(cell.W_in.get_value()).sum(axis=1).max()
    assert np.abs(g_clip).max() <= bound + 1e-12
    assert np.abs(g).max() > bound


# -- dropout ---------------------------------------------------------------------


def test_dropout_function_scales_and_broadcasts(rng):
    x = pt.tensor3("x")
    source = RandomSource(0)
    y = dropout(x, 0.5, source, shape=(1, x.shape[1], x.shape[2]))
    f = seqgraph.function([x], y, backend="c")
    xv = np.ones((4, 50, 20), pytensor.config.floatX)
    a, b = f(xv), f(xv)
    assert set(np.unique(a)) <= {0.0, 2.0}
    assert np.all(a == a[:1])  # the same mask at every step
    assert not np.array_equal(a, b)  # a new mask on each call
    assert 0.3 < (a == 0).mean() < 0.7


def test_recurrent_dropout_is_one_mask_per_sequence(float64):
    """Linear Elman with W_hid = I, W_in = 0, b = 1: a dropped unit stays 1."""
    n = 50
    cell = ElmanCell(
        2, n, "linear", W_in_init=np.zeros((2, n)), W_hid_init=np.eye(n), b_init=np.ones(n)
    )
    x = pt.tensor3("x")
    layer = Recurrent(cell, recurrent_dropout=0.5, seed=3)
    f = seqgraph.function([x], [layer(x), layer(x, deterministic=True)], backend="c")
    h, h_det = f(np.zeros((2, 6, 2)))
    np.testing.assert_allclose(h_det[0, :, 0], np.arange(1, 7))
    dropped = h[:, -1] == 1.0
    assert 0 < dropped.mean() < 1
    # A unit is dropped at every step or at none (one mask per sequence).
    for b in range(2):
        for j in range(n):
            if dropped[b, j]:
                assert np.all(h[b, :, j] == 1.0)
            else:
                np.testing.assert_allclose(h[b, :, j], (2.0 ** np.arange(1, 7) - 1))


def test_input_dropout_off_when_deterministic(float64, rng):
    cell = make_cell("gru")
    x = pt.tensor3("x")
    f = seqgraph.function(
        [x],
        [
            Recurrent(cell, dropout=0.3)(x, deterministic=True),
            Recurrent(cell)(x),
            Recurrent(cell, dropout=0.3)(x),
        ],
        backend="c",
    )
    xv, _, _ = batch(rng)
    det, plain, noisy = f(xv)
    np.testing.assert_allclose(det, plain)
    assert not np.allclose(noisy, plain)


# -- wrappers --------------------------------------------------------------------


def test_bidirectional_concat_and_names(float64, rng):
    fw = LSTM(N_IN, N, seed=0)
    bi = Bidirectional(fw, seed=1)
    names = list(bi.named_params())
    assert names[0] == "forward.cell.W_in" and "backward.cell.W_in" in names
    assert not np.array_equal(bi.forward.cell.W_in.get_value(), bi.backward.cell.W_in.get_value())
    assert bi.backward.go_backwards and bi.output_size == 2 * N
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    f = seqgraph.function(
        [x, mask],
        [
            bi(x, mask),
            bi.forward(x, mask),
            bi.backward(x, mask),
            Bidirectional(fw, bi.backward, merge="sum")(x, mask),
        ],
        backend="c",
    )
    xv, mv, _ = batch(rng)
    both, a, b, summed = f(xv, mv)
    np.testing.assert_allclose(both, np.concatenate([a, b], axis=-1))
    np.testing.assert_allclose(summed, a + b)


def test_stack_composes_layers_with_dropout_between(float64, rng):
    l1, l2 = GRU(N_IN, 5, seed=0), LSTM(5, N, only_return_final=True, seed=1)
    stack = Stack([l1, l2], dropout=0.5, seed=0)
    assert list(stack.named_params())[0] == "0.cell.W_in"
    x = pt.tensor3("x")
    f = seqgraph.function([x], [stack(x, deterministic=True), l2(l1(x)), stack(x)], backend="c")
    xv, _, _ = batch(rng)
    det, manual, noisy = f(xv)
    assert det.shape == (3, N)
    np.testing.assert_allclose(det, manual)
    assert not np.allclose(noisy, manual)


def test_stack_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match=r"layers\[0\] outputs 5 features but layers\[1\]"):
        Stack([GRU(N_IN, 5), LSTM(4, N)])
    with pytest.raises(ValueError, match="only the last layer may"):
        Stack([GRU(N_IN, 5, only_return_final=True), LSTM(5, N)])


# -- behaviour -------------------------------------------------------------------


def _long_positive_run(**kwargs):
    layer = LSTM(16, 32, seed=0, **kwargs)
    x = pt.tensor3("x")
    h, c = layer.states(x)
    f = seqgraph.function([x], [h, c], backend="c")
    return f(np.ones((8, 256, 16), pytensor.config.floatX))


def test_lstm_hidden_state_does_not_saturate():
    """256 steps of positive input: h is not pinned at 1 and takes both signs.

    The classic bug, a sigmoid where the cell output's tanh belongs, keeps h
    positive and drives it towards the output gate's value.
    """
    h, c = _long_positive_run()
    late = np.abs(h[:, -64:])
    assert late.mean() < 0.9
    assert (late > 0.99).mean() < 0.05
    assert (h[:, -64:] < 0).any() and (h[:, -64:] > 0).any()
    assert np.abs(c).max() < 20  # the forget gate keeps the cell bounded


def test_saturation_check_catches_sigmoid_cell_output():
    h, _ = _long_positive_run(hid_nonlinearity="sigmoid")
    assert not (h[:, -64:] < 0).any()


# -- bad input -------------------------------------------------------------------


def test_bad_input_errors():
    layer = LSTM(N_IN, N)
    with pytest.raises(ValueError, match="x must be a 3-d tensor"):
        layer(pt.matrix("x"))
    with pytest.raises(TypeError, match="x must be a float tensor"):
        layer(pt.tensor3("x", dtype="bool"))
    with pytest.raises(ValueError, match="num_inputs=3"):
        layer(pt.tensor3("x", shape=(None, None, 5)))
    with pytest.raises(ValueError, match=r"mask must be a matrix of shape \(batch, time\)"):
        layer(pt.tensor3("x"), mask=pt.tensor3("m"))
    with pytest.raises(ValueError, match="mask has time size 4 but x has 5"):
        layer(pt.tensor3("x", shape=(2, 5, N_IN)), mask=pt.matrix("m", shape=(2, 4)))
    with pytest.raises(ValueError, match="initial_states must be a list with one entry"):
        layer(pt.tensor3("x"), initial_states=[pt.matrix()])
    with pytest.raises(ValueError, match="num_units must be a positive integer; got 0"):
        LSTM(N_IN, 0)
    with pytest.raises(ValueError, match="num_inputs must be a positive integer"):
        GRU(-1, N)
    with pytest.raises(ValueError, match="recurrent_dropout must be a probability"):
        Elman(N_IN, N, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match="truncate_gradient must be -1"):
        Elman(N_IN, N, truncate_gradient=0)
    with pytest.raises(TypeError, match="cell must be a seqgraph Cell"):
        Recurrent("lstm")
    with pytest.raises(ValueError, match="nonlinearity must be a callable or one of"):
        Elman(N_IN, N, nonlinearity="softsign")
    with pytest.raises(ValueError, match="num_units must be a positive integer; got 0"):
        Dense(N, 0)
    with pytest.raises(ValueError, match="num_inputs must be a positive integer; got 2.5"):
        Dense(2.5, N)


@pytest.mark.parametrize("backend_name", ["c", "jax"])
def test_mask_shape_checked_at_run_time(backend_name):
    if backend_name not in seqgraph.available_backends():
        pytest.skip(f"{backend_name} not installed")
    layer = LSTM(N_IN, N)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    f = seqgraph.function([x, mask], layer(x, mask), backend=backend_name)
    dtype = pytensor.config.floatX
    with pytest.raises(AssertionError, match=r"mask must have shape \(batch, time\)"):
        f(np.ones((2, 5, N_IN), dtype), np.ones((2, 6), dtype))


@pytest.mark.parametrize("backend_name", ["c", "jax"])
def test_masked_truncated_gradient(backend_name, rng):
    """A mask and truncate_gradient together (PyTensor's scan_pushout_add broke this)."""
    if backend_name not in seqgraph.available_backends():
        pytest.skip(f"{backend_name} not installed")
    cell = make_cell("elman")
    layer = Recurrent(cell, truncate_gradient=3)
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    masked = (layer(x, mask) ** 2).sum()
    plain = (layer(x) ** 2).sum()
    f = seqgraph.function(
        [x, mask],
        pytensor.grad(masked, cell.params) + pytensor.grad(plain, cell.params),
        backend=backend_name,
    )
    xv, _, _ = batch(rng, t=8)
    out = f(xv, np.ones((3, 8), xv.dtype))
    for a, b in zip(out[:3], out[3:]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
