"""seqgraph.ctc: the CTC loss against every alignment enumerated, and PyTorch's."""

from __future__ import annotations

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.ctc import beam_search_decode, ctc_loss, edit_distance, greedy_decode


def _brute_force(activations, label, frames, blank=0):
    """-log of the summed probability of every path of ``frames`` symbols that reads ``label``."""
    logits = activations[:frames]
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    total = -np.inf
    for path in itertools.product(range(activations.shape[-1]), repeat=frames):
        merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
        if [k for k in merged if k != blank] == list(label):
            total = np.logaddexp(total, sum(log_probs[t, k] for t, k in enumerate(path)))
    return -total


# Labels padded with -1 (anywhere in a row), and each sequence's frames: distinct labels, a repeat
# (which needs a blank between), one label, an empty labelling, and a
# labelling that no alignment of 3 frames fits (1, 1 needs 3 frames; 1, 1, 1 needs 5).
LABELS = np.array([[1, -1, 2], [1, 1, -1], [-1, 2, -1], [-1, -1, -1], [1, 1, 1]])
LENGTHS = np.array([5, 4, 3, 4, 3])


def _finite_sum(loss):
    return pt.sum(pt.switch(pt.isinf(loss), 0.0, loss))


def test_ctc_loss_sums_every_alignment(c_or_jax, rng):
    activations = rng.normal(size=(5, len(LABELS), 3))
    x = pt.tensor3("x", dtype="float64")
    loss = ctc_loss(x, LABELS, LENGTHS)
    grad = pytensor.grad(_finite_sum(loss), x)
    got, got_grad = seqgraph.function([x], [loss, grad], backend=c_or_jax)(activations)
    expected = [
        _brute_force(activations[:, b], [k for k in LABELS[b] if k >= 0], LENGTHS[b])
        for b in range(len(LABELS))
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isinf(got[-1]) and np.isinf(expected[-1])
    # The impossible labelling gives no gradient; frames past a sequence's end none either.
    np.testing.assert_array_equal(got_grad[:, -1], 0.0)
    np.testing.assert_array_equal(got_grad[3:, 2], 0.0)
    # Directional derivative of the finite losses.
    f = seqgraph.function([x], _finite_sum(loss), backend="c")
    v = rng.normal(size=activations.shape)
    eps = 1e-6
    numeric = (f(activations + eps * v) - f(activations - eps * v)) / (2 * eps)
    np.testing.assert_allclose(np.sum(got_grad * v), numeric, rtol=1e-6)


def test_ctc_loss_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    time, batch, alphabet = 12, 3, 6
    activations = rng.normal(size=(time, batch, alphabet)).astype("float32")
    labels = np.array([[1, 4, 4, 2], [5, 3, -1, -1], [2, 2, 2, -1]])
    lengths = np.array([12, 9, 7])
    x = pt.tensor3("x", dtype="float32")
    loss = ctc_loss(x, labels, lengths, blank=0)
    got, grad = seqgraph.function([x], [loss, pytensor.grad(loss.sum(), x)], backend="c")(
        activations
    )
    assert got.dtype == np.float32
    logits = torch.tensor(activations, requires_grad=True)
    reference = torch.nn.functional.ctc_loss(
        logits.log_softmax(-1),
        torch.tensor(np.maximum(labels, 0)),
        torch.tensor(lengths),
        torch.tensor((labels >= 0).sum(1)),
        blank=0,
        reduction="none",
    )
    reference.sum().backward()
    np.testing.assert_allclose(got, reference.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad, logits.grad.numpy(), atol=1e-5)


def test_ctc_loss_other_blank_and_all_frames(rng):
    activations = rng.normal(size=(4, 2, 3))
    labels = np.array([[0, 1], [1, -1]])  # blank is 2 here
    x = pt.tensor3("x", dtype="float64")
    got = seqgraph.function([x], ctc_loss(x, labels, blank=2), backend="c")(activations)
    expected = [
        _brute_force(activations[:, 0], [0, 1], 4, 2),
        _brute_force(activations[:, 1], [1], 4, 2),
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_ctc_loss_bad_arguments_are_named():
    x = pt.tensor3("x")
    labels = np.array([[1, 2]])
    with pytest.raises(TypeError, match="activations must be a 3-d float tensor"):
        ctc_loss(pt.matrix("m"), labels)
    with pytest.raises(TypeError, match="activations must be a 3-d float tensor"):
        ctc_loss(pt.tensor3("i", dtype="int32"), labels)
    with pytest.raises(TypeError, match="labels must be a 2-d integer tensor"):
        ctc_loss(x, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="input_lengths must be a 1-d integer tensor"):
        ctc_loss(x, labels, np.array([[3]]))
    with pytest.raises(ValueError, match="blank must be a non-negative int"):
        ctc_loss(x, labels, blank=-1)


def test_theano_ctc_is_the_same_loss(rng):
    import seqgraph.theano

    activations = rng.normal(size=(5, 2, 3))
    x = pt.tensor3("x", dtype="float64")
    labels, lengths = LABELS[:2], LENGTHS[:2]
    nnet = seqgraph.theano.tensor.nnet
    assert nnet.ctc.ctc_available()
    f = seqgraph.function([x], [nnet.ctc.ctc(x, labels, lengths), ctc_loss(x, labels, lengths)])
    theano_loss, loss = f(activations)
    np.testing.assert_array_equal(theano_loss, loss)


def test_lstm_learns_a_labelling_with_ctc():
    # An LSTM trained by CTC to read out which of two symbols each sequence
    # holds, the frames unsegmented: the loss falls and best-path decoding
    # reads the symbols back.
    from seqgraph.layers import LSTM
    from seqgraph.updates import adam

    rng = np.random.default_rng(0)
    x = pt.tensor3("x", dtype="float32")  # (time, batch, features)
    labels = pt.matrix("labels", dtype="int64")
    lstm = LSTM(2, 8, seed=0)
    w = pytensor.shared(rng.normal(scale=0.3, size=(8, 3)).astype("float32"), name="w")
    b = pytensor.shared(np.zeros(3, "float32"), name="b")
    h = lstm(x.dimshuffle(1, 0, 2)).dimshuffle(1, 0, 2)  # the layer is batch-major
    activations = pt.dot(h, w) + b
    loss = ctc_loss(activations, labels).mean()
    params = [*lstm.params, w, b]
    train = seqgraph.function(
        [x, labels], loss, updates=adam(loss, params, learning_rate=0.05), backend="jax"
    )
    scores = seqgraph.function([x], activations, backend="jax")
    symbols = rng.integers(1, 3, size=16)
    data = np.zeros((6, 16, 2), "float32")
    data[2:4, np.arange(16), symbols - 1] = 1.0
    target = symbols[:, None].astype("int64")
    losses = [float(train(data, target)) for _ in range(80)]
    assert losses[-1] < 0.05 * losses[0]
    decoded = greedy_decode(scores(data))
    assert decoded == [[int(s)] for s in symbols]


def test_greedy_decode_merges_repeats_and_drops_blanks():
    frames = [[1, 1, 0, 1, 2, 2], [2, 0, 2, 2, 0, 0]]
    scores = np.eye(3)[np.array(frames).T]  # (time, batch, alphabet)
    assert greedy_decode(scores) == [[1, 1, 2], [2, 2]]
    assert greedy_decode(scores, input_lengths=[2, 1]) == [[1], [2]]
    assert greedy_decode(scores, blank=2) == [[1, 0, 1], [0, 0]]
    with pytest.raises(ValueError, match="one length in \\[0, 6\\]"):
        greedy_decode(scores, input_lengths=[7, 1])
    with pytest.raises(ValueError, match="activations must be"):
        greedy_decode(scores[0])


def _levenshtein(a, b):
    if not a or not b:
        return len(a) + len(b)
    return min(
        _levenshtein(a[1:], b) + 1,
        _levenshtein(a, b[1:]) + 1,
        _levenshtein(a[1:], b[1:]) + (a[0] != b[0]),
    )


def test_edit_distance_is_levenshtein(rng):
    for _ in range(40):
        a = list(rng.integers(0, 3, size=rng.integers(0, 6)))
        b = list(rng.integers(0, 3, size=rng.integers(0, 6)))
        assert edit_distance(a, b) == _levenshtein(a, b), (a, b)


def _labelling_log_probs(activations, blank=0):
    """Every labelling's log-probability for one sequence, from every path enumerated."""
    logits = activations - np.log(np.exp(activations).sum(-1, keepdims=True))
    totals = {}
    for path in itertools.product(range(activations.shape[-1]), repeat=len(activations)):
        merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
        labelling = tuple(k for k in merged if k != blank)
        score = sum(logits[t, k] for t, k in enumerate(path))
        totals[labelling] = np.logaddexp(totals.get(labelling, -np.inf), score)
    return totals


def test_beam_search_finds_the_most_probable_labelling(rng):
    # Scores where the likeliest alignment's labelling is not the likeliest
    # labelling must show up in some draws; a wide beam is exact.
    disagreements = 0
    for _ in range(12):
        activations = rng.normal(scale=1.5, size=(5, 2, 3))
        labellings, log_probs = beam_search_decode(activations, beam_width=200)
        greedy = greedy_decode(activations)
        for b in range(2):
            totals = _labelling_log_probs(activations[:, b])
            best = max(totals, key=totals.get)
            assert labellings[b] == list(best)
            np.testing.assert_allclose(log_probs[b], totals[best], rtol=1e-12)
            disagreements += greedy[b] != list(best)
    assert disagreements > 0
    lengths = [3, 5]
    short, _ = beam_search_decode(activations, lengths, beam_width=200)
    totals = _labelling_log_probs(activations[:3, 0])
    assert short[0] == list(max(totals, key=totals.get))
    with pytest.raises(ValueError, match="beam_width must be a positive int"):
        beam_search_decode(activations, beam_width=0)
    with pytest.raises(ValueError, match="one length in"):
        beam_search_decode(activations, [6, 1])
