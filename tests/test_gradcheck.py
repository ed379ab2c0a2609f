"""gradcheck: finds wrong gradients, passes right ones, at any parameter size."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.builders import OpFromGraph

from seqgraph.gradcheck import gradcheck
from seqgraph.layers import LSTM
from seqgraph.models import RNNSLU


@pytest.fixture
def float64():
    with pytensor.config.change_flags(floatX="float64"):
        yield


def test_layer_gradients_pass(float64, rng):
    layer = LSTM(3, 4, peepholes=True, learn_init=True, seed=0)
    layer.set_values({k: rng.normal(0, 0.5, v.shape) for k, v in layer.get_values().items()})
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    cost = (layer(x, mask) ** 2).sum()
    mv = np.ones((2, 5))
    mv[1, 3:] = 0
    report = gradcheck(cost, layer, [x, mask], [rng.normal(size=(2, 5, 3)), mv])
    assert list(report) == list(layer.named_params(trainable_only=True))
    report.assert_ok()
    assert "cell.W_in" in str(report)


def wrong_tanh():
    """tanh whose gradient is 10% too large."""
    a = pt.matrix("a")
    wrong = lambda inps, outs, grads: [grads[0] * 1.1 * (1 - outs[0] ** 2)]  # noqa: E731
    return OpFromGraph([a], [pt.tanh(a)], pullback=wrong)


def test_wrong_gradient_is_caught(float64, rng):
    W = pytensor.shared(rng.normal(size=(3, 4)), name="W")
    b = pytensor.shared(rng.normal(size=4), name="b")
    x = pt.matrix("x")
    cost = (wrong_tanh()(x @ W) ** 2).sum() + (b**2).sum()
    report = gradcheck(cost, [W, b], [x], [rng.normal(size=(5, 3))])
    assert report["W"] > 0.01 and report["b"] < 1e-8
    with pytest.raises(AssertionError, match=r"gradient check failed for \['W'\]"):
        report.assert_ok()


def test_large_embedding_is_checked_with_few_evaluations(float64, rng):
    """An 8000 x 50 embedding: a handful of evaluations, not 400 000."""
    model = RNNSLU(vocab_size=7999, num_classes=5, emb_dim=50, num_hidden=8, win=3, seed=0)
    words, labels = pt.lvector("w"), pt.lvector("y")
    report = gradcheck(
        model.nll(words, labels),
        model,
        [words, labels],
        [rng.integers(0, 7999, size=6), rng.integers(0, 5, size=6)],
        directions=2,
    )
    report.assert_ok()
    assert len(report.details["embedding.W"]) == 2


def test_gradcheck_errors():
    x = pt.vector("x")
    w = pytensor.shared(np.zeros(2))
    with pytest.raises(TypeError, match=r"wrt\[0\] .* is not a shared variable"):
        gradcheck((x**2).sum(), [x])
    with pytest.raises(ValueError, match="cost must be a scalar"):
        gradcheck(w**2, [w])
