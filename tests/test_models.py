"""RNNSLU and the RNN language model against NumPy references."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.models import (
    RNNLM,
    RNNSLU,
    ContextWindow,
    context_window,
    contextwin,
    token_nll,
)
from tests import reference as ref


@pytest.fixture
def float64():
    with pytensor.config.change_flags(floatX="float64"):
        yield


def test_contextwin_matches_tutorial():
    assert contextwin([5, 6, 7, 8], 5).tolist() == [
        [-1, -1, 5, 6, 7],
        [-1, 5, 6, 7, 8],
        [5, 6, 7, 8, -1],
        [6, 7, 8, -1, -1],
    ]
    with pytest.raises(ValueError, match="win .* must be an odd positive integer"):
        contextwin([1, 2], 4)


def test_symbolic_context_window_matches_numpy(rng, backend):
    ids, mask = pt.lmatrix("ids"), pt.matrix("mask")
    f = seqgraph.function([ids, mask], context_window(ids, 5, 99, mask), backend=backend)
    idv = rng.integers(0, 20, size=(2, 6))
    mv = np.ones((2, 6), pytensor.config.floatX)
    mv[1, 4:] = 0
    got = np.asarray(f(idv, mv))
    np.testing.assert_array_equal(got[0], contextwin(idv[0], 5, pad=99))
    np.testing.assert_array_equal(got[1, :4], contextwin(idv[1, :4], 5, pad=99))
    np.testing.assert_array_equal(got[1, 4:, 0], idv[1, 2:4])  # masked words read the pad
    np.testing.assert_array_equal(got[1, 4:, 3:], 99)


def test_context_window_is_one_node_with_a_known_shape(rng):
    ids = pt.tensor("ids", dtype="int32", shape=(2, 6))
    windows = context_window(ids, 3, 7)
    assert isinstance(windows.owner.op, ContextWindow)
    assert windows.type.shape == (2, 6, 3) and windows.dtype == "int32"
    # perform, as a mode without PyTensor's rewrites runs it
    f = pytensor.function([ids], windows, mode="FAST_COMPILE")
    idv = rng.integers(0, 7, size=(2, 6)).astype("int32")
    np.testing.assert_array_equal(f(idv)[1], contextwin(idv[1], 3, pad=7))
    # written out with the static shape kept (C)
    g = seqgraph.function([ids], windows, backend="c")
    assert g._fn.maker.fgraph.outputs[0].type.shape == (2, 6, 3)
    np.testing.assert_array_equal(g(idv), f(idv))
    assert context_window(ids, 1, 7).type.shape == (2, 6, 1)
    with pytest.raises(TypeError, match="ids must be a \\(batch, time\\) matrix of integer"):
        context_window(pt.matrix("x"), 3, 0)


def test_context_window_is_compiled_whole_by_jax_and_written_out_elsewhere(monkeypatch, rng):
    from pytensor.graph.fg import FunctionGraph

    from seqgraph.backends import get_mode

    ids = pt.lmatrix("ids")
    windows = context_window(ids, 5, 0)
    fgraph = FunctionGraph([ids], [windows], clone=True)
    get_mode("c").optimizer(fgraph)
    ops = {type(n.op).__name__ for n in fgraph.apply_nodes}
    assert "ContextWindow" not in ops and "Join" in ops

    if "jax" not in seqgraph.available_backends():
        pytest.skip("jax is not installed")
    fgraph = FunctionGraph([ids], [windows], clone=True)
    get_mode("jax").optimizer(fgraph)
    assert [type(n.op) for n in fgraph.apply_nodes] == [ContextWindow]

    # seqgraph.function's JAX program never writes the op out.
    def refuse(self, ids):
        raise AssertionError("ContextWindow was written out for JAX")

    monkeypatch.setattr(ContextWindow, "expand", refuse)
    emb = pytensor.shared(rng.normal(size=(9, 2)).astype(pytensor.config.floatX))
    cost = emb[windows].sum()
    f = seqgraph.function([ids], [cost, pytensor.grad(cost, emb)], backend="jax")
    idv = rng.integers(0, 9, size=(2, 4))
    got_cost, got_grad = f(idv)
    use = np.bincount(
        np.concatenate([contextwin(row, 5, pad=0).ravel() for row in idv]), minlength=9
    )
    np.testing.assert_allclose(got_cost, use @ emb.get_value().sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(got_grad, np.repeat(use[:, None], 2, axis=1), rtol=1e-6)


def slu_reference(model, words):
    p = {k: v.get_value() for k, v in model.named_params().items()}
    E = p["embedding.W"]
    x = E[contextwin(words, model.win, pad=model.pad_id)].reshape(len(words), -1)
    cell = {k.split(".")[-1]: v for k, v in p.items() if k.startswith("recurrent.cell")}
    h0 = p["recurrent.h_init"][None, :]
    (h,), _ = ref.run_layer(lambda x_t, h: ref.elman_step(x_t, h, cell, ref.sigmoid), x[None], [h0])
    return ref.log_softmax(h[0] @ p["output.W"] + p["output.b"])


def test_rnnslu_matches_reference_and_batches(float64, rng):
    model = RNNSLU(vocab_size=15, num_classes=4, emb_dim=3, num_hidden=5, win=3, seed=0)
    names = list(model.named_params())
    assert names == [
        "embedding.W",
        "recurrent.cell.W_in",
        "recurrent.cell.W_hid",
        "recurrent.cell.b",
        "recurrent.h_init",
        "output.W",
        "output.b",
    ]
    assert model.recurrent.initial_params[0] in model.params  # learned h0, as the tutorial
    words, labels = pt.lvector("w"), pt.lvector("y")
    wb, yb, mb = pt.lmatrix("wb"), pt.lmatrix("yb"), pt.matrix("mb")
    f = seqgraph.function(
        [words, labels], [model.log_probs(words), model.nll(words, labels)], backend="c"
    )
    g = seqgraph.function(
        [wb, yb, mb], [model.log_probs(wb, mb), model.nll(wb, yb, mb)], backend="c"
    )
    s1, s2 = rng.integers(0, 15, size=5), rng.integers(0, 15, size=3)
    y1, y2 = rng.integers(0, 4, size=5), rng.integers(0, 4, size=3)
    lp1, nll1 = f(s1, y1)
    lp2, nll2 = f(s2, y2)
    want = slu_reference(model, s1)
    np.testing.assert_allclose(lp1, want, rtol=1e-10)
    np.testing.assert_allclose(nll1, -want[np.arange(5), y1].mean(), rtol=1e-10)
    # A padded batch gives each sentence's result and the mean sentence NLL.
    pad = model.pad_id
    wbv = np.array([s1, np.r_[s2, pad, pad]])
    ybv = np.array([y1, np.r_[y2, 0, 0]])
    mbv = np.array([[1] * 5, [1, 1, 1, 0, 0]], dtype="float64")
    lpb, nllb = g(wbv, ybv, mbv)
    np.testing.assert_allclose(lpb[0], lp1, rtol=1e-10)
    np.testing.assert_allclose(lpb[1, :3], lp2, rtol=1e-10)
    np.testing.assert_allclose(nllb, (nll1 + nll2) / 2, rtol=1e-10)


def test_rnnslu_sgd_with_embedding_normalisation_learns(rng):
    model = RNNSLU(vocab_size=12, num_classes=3, emb_dim=8, num_hidden=16, win=3, seed=1)
    words, labels = pt.lvector("w"), pt.lvector("y")
    nll = model.nll(words, labels)
    lr = np.asarray(0.5, dtype=pytensor.config.floatX)
    updates = [(p, p - lr * g) for p, g in zip(model.params, pytensor.grad(nll, model.params))]
    train = seqgraph.function([words, labels], nll, updates=model.constrain(updates), backend="c")
    # Label = word id mod 3, a task the context window makes learnable.
    sentences = [rng.integers(0, 12, size=rng.integers(3, 8)) for _ in range(20)]
    first = np.mean([train(s, s % 3) for s in sentences])
    for _ in range(15):
        last = np.mean([train(s, s % 3) for s in sentences])
    assert last < 0.5 * first
    norms = np.linalg.norm(model.embedding.W.get_value(), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_rnnslu_errors():
    with pytest.raises(ValueError, match="must be an odd positive integer"):
        RNNSLU(10, 3, win=4)
    with pytest.raises(ValueError, match="num_classes must be a positive integer; got 0"):
        RNNSLU(10, 0)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer; got 0"):
        RNNLM(0)
    model = RNNSLU(10, 3, emb_dim=2, num_hidden=3, win=3)
    with pytest.raises(TypeError, match="words must hold integer word ids"):
        model.log_probs(pt.vector("w"))
    with pytest.raises(ValueError, match="words must be one sentence"):
        model.log_probs(pt.ltensor3("w"))


def test_rnnlm_matches_reference(float64, rng):
    lm = RNNLM(vocab_size=9, num_hidden=5, seed=0)
    w, t, m = pt.lmatrix("w"), pt.lmatrix("t"), pt.matrix("m")
    f = seqgraph.function([w, t, m], [lm.log_probs(w, m), lm.loss(w, t, m)], backend="c")
    wv = rng.integers(0, 9, size=(2, 6))
    tv = rng.integers(0, 9, size=(2, 6))
    mv = np.ones((2, 6))
    mv[1, 4:] = 0
    lp, loss = f(wv, tv, mv)
    U, W, V = lm.U.get_value(), lm.W.get_value(), lm.V.get_value()
    b, c = lm.recurrent.cell.b.get_value(), lm.output.b.get_value()
    nll = []
    for i in range(2):
        s = np.zeros(5)
        for step in range(6 if i == 0 else 4):
            s = np.tanh(U[wv[i, step]] + b + s @ W)
            want = ref.log_softmax(s @ V + c)
            np.testing.assert_allclose(lp[i, step], want, rtol=1e-10)
            nll.append(-want[tv[i, step]])
    np.testing.assert_allclose(loss, np.mean(nll), rtol=1e-10)


def test_token_nll_matches_numpy_and_checks_its_arguments(float64, rng):
    lp, t, m = pt.tensor3("lp"), pt.lmatrix("t"), pt.matrix("m")
    f = seqgraph.function(
        [lp, t, m], [token_nll(lp, t, m), token_nll(lp, t, m, per_sequence=True)], backend="c"
    )
    lpv = np.log(rng.dirichlet(np.ones(4), size=(2, 3)))
    tv = rng.integers(0, 4, size=(2, 3))
    mv = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    picked = np.take_along_axis(lpv, tv[..., None], axis=-1)[..., 0]
    mean, per_sequence = f(lpv, tv, mv)
    np.testing.assert_allclose(mean, -(picked * mv).sum() / mv.sum())
    np.testing.assert_allclose(per_sequence, np.mean([-picked[0].mean(), -picked[1, 0]]))
    with pytest.raises(TypeError, match="targets must hold integer class ids"):
        token_nll(lp, pt.matrix("t"))
    with pytest.raises(ValueError, match=r"log_probs must be \(batch, time, classes\)"):
        token_nll(pt.matrix("lp"), t)
    # A 3-d mask failed only when called (PyTensor refuses to broadcast it).
    with pytest.raises(ValueError, match=r"mask must be \(batch, time\); got ndim=3"):
        token_nll(lp, t, pt.tensor3("m"))


def test_rnnlm_truncated_bptt(float64, rng):
    lm = RNNLM(vocab_size=6, num_hidden=4, bptt_truncate=2, seed=0)
    w = pt.lmatrix("w")
    # Gradient of the last step's loss with respect to the inputs' rows of U.
    h = lm.recurrent(w)
    last = pt.special.log_softmax(lm.output(h), axis=-1)[:, -1, 0].sum()
    grad = pytensor.grad(last, lm.U)
    f = seqgraph.function([w], grad, backend="c")
    # Each step reads its own row of U: rows read only more than 2 steps
    # back get no gradient.
    got = f(np.array([[0, 1, 2, 3, 4, 5]]))
    assert np.all(got[:4] == 0) and np.abs(got[4:]).sum() > 0


def test_rnnlm_uniform_model_has_perplexity_vocab_size(float64):
    lm = RNNLM(vocab_size=11, num_hidden=3, seed=0)
    lm.output.set_values({"W": np.zeros((3, 11)), "b": np.zeros(11)})
    w, t = pt.lmatrix("w"), pt.lmatrix("t")
    loss = seqgraph.function([w, t], lm.loss(w, t), backend="c")(
        np.zeros((2, 4), "int64"), np.ones((2, 4), "int64")
    )
    np.testing.assert_allclose(np.exp(loss), 11.0, rtol=1e-12)


def test_rnnlm_sampling(rng):
    lm = RNNLM(vocab_size=8, num_hidden=6, seed=0)
    a = lm.sample([1, 2], 20, seed=3, backend="c")
    b = lm.sample([1, 2], 20, seed=3, backend="c")
    assert a == b and len(a) == 20 and all(0 <= w < 8 for w in a)
    assert lm.sample([1, 2], 20, seed=4, backend="c") != a
    # A model that always predicts word 5 samples it; end_id stops the draw.
    lm.output.set_values({"W": np.zeros((6, 8)), "b": np.eye(8)[5] * 50})
    assert lm.sample([0], 4, seed=0, backend="c") == [5, 5, 5, 5]
    assert lm.sample([0], 4, end_id=5, seed=0, backend="c") == [5]
    with pytest.raises(ValueError, match="temperature must be > 0"):
        lm.sample([0], 3, temperature=0)
