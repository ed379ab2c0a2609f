"""Compiled training steps, the fit loop, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.layers import GRU, Dense
from seqgraph.params import Module, ParameterError
from seqgraph.training import (
    TrainingDiverged,
    compile_predict,
    compile_train,
    fit,
    iterate_minibatches,
    pad_batch,
    precompile_batches,
)


class Classifier(Module):
    """GRU over a sequence, its final state to two classes."""

    def __init__(self, seed=0, dropout=0.0):
        super().__init__()
        self.rnn = self.add_child(
            "rnn", GRU(2, 8, only_return_final=True, recurrent_dropout=dropout, seed=seed)
        )
        self.out = self.add_child("out", Dense(8, 2, seed=seed))

    def loss(self, x, mask, y, deterministic=False):
        logits = self.out(self.rnn(x, mask=mask, deterministic=deterministic))
        logp = pt.special.log_softmax(logits, axis=-1)
        return -logp[pt.arange(y.shape[0]), y].mean()


def dataset(rng, n=48):
    """Label: is the sum of the first channel positive? Lengths 2..7."""
    out = []
    for _ in range(n):
        x = rng.normal(size=(rng.integers(2, 8), 2)).astype(pytensor.config.floatX)
        out.append((x, np.int64(x[:, 0].sum() > 0)))
    return out


def build(seed=0, dropout=0.0, optimizer="adam", lr=0.02, backend="c", **kw):
    model = Classifier(seed, dropout)
    x, mask, y = pt.tensor3("x"), pt.matrix("mask"), pt.lvector("y")
    step = compile_train(
        [x, mask, y], model.loss(x, mask, y), model, optimizer, lr, backend=backend, **kw
    )
    valid = compile_predict([x, mask, y], model.loss(x, mask, y, deterministic=True), backend)
    return model, step, valid


def test_pad_batch():
    x1, x2 = np.ones((3, 2)), np.ones((1, 2))
    x, mask, tags, label = pad_batch(
        [(x1, [1, 2, 3], 0), (x2, [4], 1)], dtype="float64", pad_value=-1
    )
    assert x.shape == (2, 3, 2) and x[1, 1:].tolist() == [[-1, -1], [-1, -1]]
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(tags, [[1, 2, 3], [4, -1, -1]])
    np.testing.assert_array_equal(label, [0, 1])
    with pytest.raises(ValueError, match="at least one step"):
        pad_batch([(np.zeros((0, 2)),)])


@pytest.mark.parametrize(
    ("backend_name", "splits"),
    [
        ("c", 1),
        ("jax", 1),
        pytest.param("jax", 2, id="jax-split2"),
        pytest.param("numba", 1, marks=pytest.mark.slow),
    ],
)
def test_fit_learns_and_logs(backend_name, splits, rng, tmp_path):
    if backend_name not in seqgraph.available_backends():
        pytest.skip(f"{backend_name} not installed")
    _, step, valid = build(backend=backend_name, batch_splits=splits)
    lines = []
    history = fit(
        step,
        dataset(rng),
        6,
        batch_size=8,
        valid_data=dataset(rng, 16),
        valid_fn=valid,
        checkpoint=tmp_path / "ckpt.npz",
        progress=False,
        log=lines.append,
    )
    assert [h["epoch"] for h in history] == list(range(1, 7))
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert lines[0].startswith("epoch 1/6  train loss ") and "valid loss" in lines[0]
    saved = np.load(tmp_path / "ckpt.npz")
    assert any(key.startswith("state/") for key in saved.files)  # Adam's moments


def test_resume_continues_the_uninterrupted_trajectory(tmp_path, rng):
    """Bit-identical parameters on the C backend: data order, dropout, Adam, lr decay."""
    train, valid_data = dataset(rng), dataset(rng, 16)
    common = dict(
        batch_size=8,
        valid_data=valid_data,
        lr_patience=1,
        seed=5,
        progress=False,
        log=None,
        restore_best=False,
    )
    model_a, step_a, valid_a = build(seed=1, dropout=0.3)
    history_a = fit(step_a, train, 5, valid_fn=valid_a, **common)

    path = tmp_path / "ckpt.npz"
    model_b, step_b, valid_b = build(seed=1, dropout=0.3)
    fit(step_b, train, 2, valid_fn=valid_b, checkpoint=path, **common)
    # A new process would rebuild everything: new objects, other initial weights.
    model_c, step_c, valid_c = build(seed=99, dropout=0.3)
    history_c = fit(step_c, train, 5, valid_fn=valid_c, checkpoint=path, resume=True, **common)

    assert [h["epoch"] for h in history_c] == [1, 2, 3, 4, 5]
    for a, c in zip(history_a, history_c):
        assert a["train_loss"] == c["train_loss"] and a["learning_rate"] == c["learning_rate"]
    for (name, a), c in zip(model_a.get_values().items(), model_c.get_values().values()):
        np.testing.assert_array_equal(a, c, err_msg=name)
    assert step_c.generators and step_c.state


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    w = pytensor.shared(np.array([1.0], pytensor.config.floatX), name="w")
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    loss = (w**2).sum() + 0 * x.sum() + 0 * mask.sum()
    # SGD with lr 1.6 multiplies w by -2.2 per step: float32 overflows in epoch 3.
    step = compile_train([x, mask], loss, [w], "sgd", 1.6, backend="c")
    data = [(np.zeros((2, 1), pytensor.config.floatX),)] * 20
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingDiverged, match=r"became inf at epoch 3, batch \d+; .*epoch 2"):
        fit(step, data, 10, batch_size=1, checkpoint=path, progress=False, log=None)
    saved = np.load(path)["param/0.w"]
    np.testing.assert_array_equal(w.get_value(), saved)  # restored to the end of epoch 2
    np.testing.assert_allclose(abs(saved[0]), 2.2**40, rtol=1e-4)


def test_checkpoint_from_another_model_is_rejected(tmp_path, rng):
    path = tmp_path / "ckpt.npz"
    _, step, _ = build()
    fit(step, dataset(rng, 8), 1, batch_size=8, checkpoint=path, progress=False, log=None)
    w = pytensor.shared(np.zeros(3, pytensor.config.floatX), name="w")
    x, mask = pt.tensor3("x"), pt.matrix("mask")
    other = compile_train([x, mask], (w**2).sum() + 0 * (x.sum() + mask.sum()), [w], backend="c")
    with pytest.raises(ParameterError, match="written for another model or optimizer"):
        fit(other, dataset(rng, 8), 2, checkpoint=path, resume=True, progress=False, log=None)


def test_failed_save_leaves_checkpoint_intact(tmp_path, rng, monkeypatch):
    path = tmp_path / "ckpt.npz"
    _, step, _ = build()
    data = dataset(rng, 8)
    fit(step, data, 1, batch_size=8, checkpoint=path, progress=False, log=None)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        fit(step, data, 2, batch_size=8, checkpoint=path, resume=True, progress=False, log=None)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_early_stopping_and_learning_rate_decay(rng):
    _, step, _ = build(optimizer="sgd", lr=0.1)
    scores = iter([1.0, 0.9, 0.95, 0.97, 0.99, 1.2, 1.3])
    lines = []
    history = fit(
        step,
        dataset(rng, 8),
        20,
        batch_size=8,
        valid_data=dataset(rng, 4),
        valid_fn=lambda *batch: next(scores),
        patience=3,
        lr_patience=1,
        progress=False,
        log=lines.append,
    )
    assert len(history) == 5  # best at epoch 2, then 3 worse epochs
    assert [h["learning_rate"] for h in history] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025])
    assert lines[-1].startswith("early stop after epoch 5") and "best epoch 2" in lines[-1]


def test_training_errors(rng):
    x = pt.matrix("x")
    w = pytensor.shared(np.zeros(2))
    with pytest.raises(ValueError, match="optimizer must be one of"):
        compile_train([x], (w**2).sum(), [w], optimizer="lbfgs")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        compile_train([x], (w**2).sum(), [w], learning_rate=-0.1)
    with pytest.raises(TypeError, match="is not a shared variable"):
        compile_train([x], (x**2).sum(), [x])
    _, step, _ = build()
    with pytest.raises(ValueError, match="patience and lr_patience need valid_data"):
        fit(step, dataset(rng, 4), 1, patience=2, progress=False)
    # Bad data is named before anything is compiled or drawn.
    with pytest.raises(TypeError, match="train_data must be a non-empty list .*got NoneType"):
        fit(step, None, 1, progress=False)
    with pytest.raises(TypeError, match="train_data must be .*got list of length 0"):
        fit(step, [], 1, progress=False)
    with pytest.raises(TypeError, match="valid_data must be .*got dict"):
        fit(step, dataset(rng, 4), 1, valid_data={}, valid_fn=step, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        fit(step, dataset(rng, 4), 1, batch_size=0, progress=False)


# -- compiling ahead --------------------------------------------------------------


@pytest.mark.parametrize("splits", [1, 2])
def test_a_precompiled_step_compiles_nothing_when_called(jax_compiles, rng, splits):
    """The parts', the update's and the whole step's programs (5 examples: uneven parts)."""
    model, step, _ = build(dropout=0.3, backend="jax", clip_norm=1.0, batch_splits=splits)
    batch = pad_batch(dataset(rng, 5), dtype=pytensor.config.floatX)
    start = model.get_values()
    step.precompile(*batch).result()
    for name, value in model.get_values().items():
        np.testing.assert_array_equal(value, start[name], err_msg=name)  # nothing ran
    compiled = len(jax_compiles)
    step(*batch)
    step(*batch)
    assert len(jax_compiles) == compiled
    assert not np.array_equal(model.get_values()["out.W"], start["out.W"])


def test_fit_compiles_every_batch_shape_of_the_first_epoch_ahead(jax_backend, rng, monkeypatch):
    # 20 and 12 examples: a last batch of 4 in each, so two shapes at least.
    train, valid_data = dataset(rng, 20), dataset(rng, 12)
    common = dict(batch_size=8, valid_data=valid_data, seed=3, progress=False, log=None)
    asked = []
    precompile = seqgraph.Function.precompile

    def spy(fn, *batch):
        asked.append((fn, tuple(np.shape(a) for a in batch)))
        return precompile(fn, *batch)

    monkeypatch.setattr(seqgraph.Function, "precompile", spy)
    histories, values = [], []
    for ahead in (True, False):
        model, step, valid = build(seed=2, backend="jax")
        histories.append(fit(step, train, 2, valid_fn=valid, compile_ahead=ahead, **common))
        values.append(model.get_values())
        if ahead:
            fns = (step.function, valid)
            asked_first = list(asked)
    # The same training, ahead or not.
    assert [h["train_loss"] for h in histories[0]] == [h["train_loss"] for h in histories[1]]
    for name, value in values[0].items():
        np.testing.assert_array_equal(values[1][name], value, err_msg=name)
    # Every shape the first epoch meets, once, in the order met; then validation's.
    order = np.random.default_rng(3)
    train_shapes = [tuple(np.shape(a) for a in b) for b in iterate_minibatches(train, 8, order)]
    valid_shapes = [
        tuple(np.shape(a) for a in b) for b in iterate_minibatches(valid_data, 8, shuffle=False)
    ]
    expected = [(fns[0], s) for s in dict.fromkeys(train_shapes)]
    expected += [(fns[1], s) for s in dict.fromkeys(valid_shapes)]
    assert asked_first == expected and len(dict.fromkeys(train_shapes)) > 1
    assert asked == asked_first  # none without compile_ahead


def test_precompile_batches_takes_each_new_shape_once(jax_backend, rng):
    model, step, valid = build(backend="jax")
    batches = [_batch(rng, n) for n in (4, 4, 3)]
    batches[1] = [b.copy() for b in batches[0]]  # the first one's shape again
    bad = [batches[0][0][0], *batches[0][1:]]  # x without its batch axis
    futures = precompile_batches(valid, [*batches, bad])
    # Two shapes; the bad batch's error is left to its call.
    assert len(futures) == 2 and len(valid._cache) == 2
    for future in futures:
        assert future.result() is None
    with pytest.raises(ValueError, match="input x expects ndim=3"):
        valid(*bad)
    _, c_step, _ = build(backend="c")
    assert precompile_batches(c_step, batches) == []
    assert precompile_batches(lambda *batch: None, batches) == []


# -- batch_splits: the batch's parts as concurrent JAX programs ---------------------


def _batch(rng, n):
    return pad_batch(dataset(rng, n), dtype=pytensor.config.floatX)


@pytest.fixture
def jax_backend():
    if "jax" not in seqgraph.available_backends():
        pytest.skip("jax is not installed")


@pytest.mark.parametrize("n", [8, 5, 1])
def test_split_steps_match_the_whole_batch(jax_backend, rng, n):
    """The parts' weighted average is the batch's gradient: same losses and weights.

    Adam with a clipped norm (the clip sees the whole batch's gradient), an
    accuracy metric, uneven parts (5 examples in 2 parts) and fewer examples
    than parts (1 example).
    """
    batches = [_batch(rng, n) for _ in range(3)]
    runs = []
    for splits in (1, 2):
        model = Classifier(seed=3)
        x, mask, y = pt.tensor3("x"), pt.matrix("mask"), pt.lvector("y")
        logits = model.out(model.rnn(x, mask=mask))
        accuracy = pt.eq(logits.argmax(axis=-1), y).mean()
        step = compile_train(
            [x, mask, y],
            model.loss(x, mask, y),
            model,
            "adam",
            0.05,
            metrics=[accuracy],
            clip_norm=0.5,
            backend="jax",
            batch_splits=splits,
        )
        outputs = [step(*batch) for batch in batches]
        runs.append((outputs, model.get_values(), step))
    (whole, whole_values, _), (split, split_values, step) = runs
    # Sums in another order: float32 rounding apart, the same numbers.
    tol = dict(rtol=1e-5, atol=1e-6) if pytensor.config.floatX == "float32" else dict(rtol=1e-10)
    for a, b in zip(whole, split):
        np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), **tol)
    for name, value in whole_values.items():
        np.testing.assert_allclose(split_values[name], value, err_msg=name, **tol)
    assert [var.name for var in step.state] == [var.name for var in runs[0][2].state]
    assert sorted(step.function.apply) == sorted({min(2, n)} | {2})


def test_split_parts_share_programs_and_run_with_their_own_generators(jax_backend, rng):
    _, step, _ = build(dropout=0.5, optimizer="sgd", backend="jax", batch_splits=2)
    batch = _batch(rng, 8)
    step(*batch)
    step(*batch)
    parts = step.function.parts
    assert parts[1]._cache is parts[0]._cache and len(parts[0]._cache) == 1
    assert parts[0].compiler_options == {"xla_cpu_multi_thread_eigen": False}
    assert len(step.generators) == 2
    step.function.close()  # the worker threads stop; the next call starts them again
    assert step.function._pool is None
    step(*batch)
    assert step.function._pool is not None
    # The same examples in both parts: the gradients differ only by the
    # dropout masks, which would be the same if the parts shared a generator.
    half = [np.concatenate([b[:4], b[:4]]) for b in batch]
    *_, g0 = parts[0](*[b[:4] for b in half])
    *_, g1 = parts[1](*[b[4:] for b in half])
    assert not np.allclose(np.asarray(g0), np.asarray(g1))


def test_split_batch_axes(jax_backend, rng):
    """Time-major inputs split along axis 1, and an input given whole to every part."""
    floatx = pytensor.config.floatX
    start = np.array([0.5, -0.25], floatx)
    w = pytensor.shared(start, name="w")
    x, scale = pt.tensor3("x"), pt.scalar("scale")  # x: (time, batch, 2)
    loss = ((x * w).sum(axis=(0, 2)) ** 2).mean() * scale
    data = rng.normal(size=(4, 3, 2)).astype(floatx)
    values = []
    for splits, axis in ((1, 0), (2, [1, None])):
        w.set_value(start)
        step = compile_train(
            [x, scale], loss, [w], "sgd", 0.1, backend="jax", batch_splits=splits, batch_axis=axis
        )
        out = [step(data, np.asarray(2.0, floatx)) for _ in range(2)]
        values.append((out, np.asarray(w.get_value())))
    (a, wa), (b, wb) = values
    assert not np.allclose(wa, start)
    np.testing.assert_allclose(wb, wa, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), rtol=1e-6)


def test_split_errors(jax_backend, rng):
    x, mask, y = pt.tensor3("x"), pt.matrix("mask"), pt.lvector("y")
    model = Classifier()
    loss = model.loss(x, mask, y)
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="batch_splits must be an integer >= 1"):
            compile_train([x, mask, y], loss, model, batch_splits=bad, backend="jax")
    with pytest.raises(ValueError, match="needs backend='jax'; got backend='c'"):
        compile_train([x, mask, y], loss, model, batch_splits=2, backend="c")
    with pytest.raises(ValueError, match=r"batch_axis\[2\] is 1, but input 2 \(y\) has 1"):
        compile_train([x, mask, y], loss, model, batch_splits=2, batch_axis=1, backend="jax")
    with pytest.raises(ValueError, match="one axis \\(or None\\) per input: 3; got 2"):
        compile_train([x, mask, y], loss, model, batch_splits=2, batch_axis=[0, 0], backend="jax")
    with pytest.raises(ValueError, match="leaves every input whole"):
        compile_train(
            [x, mask, y], loss, model, batch_splits=2, batch_axis=[None] * 3, backend="jax"
        )
    with pytest.raises(ValueError, match=r"batch_axis\[0\] must be an int or None"):
        compile_train(
            [x, mask, y], loss, model, batch_splits=2, batch_axis=["0", 0, 0], backend="jax"
        )
    step = compile_train([x, mask, y], loss, model, batch_splits=2, backend="jax")
    xb, mb, yb = _batch(rng, 4)
    with pytest.raises(ValueError, match="same number of examples along it; got input 0: 4, "):
        step(xb, mb, yb[:3])
    with pytest.raises(ValueError, match=r"input 2 has shape \(\), without the batch axis 0"):
        step(xb, mb, np.int64(1))
    with pytest.raises(ValueError, match="no examples"):
        step(xb[:0], mb[:0], yb[:0])
    with pytest.raises(TypeError, match="takes 3 input"):
        step(xb, mb)
