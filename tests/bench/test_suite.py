"""The benchmark suite's machinery on tiny sizes (the figures come from running it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqgraph.bench import impls, suite


@pytest.mark.parametrize("model", impls.MODELS)
def test_every_implementation_matches_the_reference(model):
    # The suite's machinery, on the default backend: the C backend's own results are
    # checked in tests/test_layers.py (each C graph costs a cold cache minutes).
    spec = impls.Spec(model, 3, 6, 4, 5, "forward")
    rows = suite.run_case(spec, ["jax"], ["jax", "numpy", "torch"], "cpu", 2, 1, print, settle=0)
    names = {r["impl"] for r in rows}
    assert {"seqgraph-jax", "numpy"} <= names
    for r in rows:
        assert "mismatch" not in r and "error" not in r, r
        assert r["time_ms"] > 0 and "ratio_to_fastest_peer" in r


def test_training_step_rows_and_ratios():
    spec = impls.Spec("lstm_peep_mask", 3, 6, 4, 5, "train")
    rows = suite.run_case(spec, ["jax"], ["jax", "numpy", "torch"], "cpu", 2, 1, print, settle=0)
    names = [r["impl"] for r in rows]
    assert "seqgraph-jax" in names
    assert "numpy" not in names and "torch" not in names  # no NumPy BPTT, no peepholes in torch
    assert all("time_ms" in r for r in rows)


@pytest.mark.parametrize("task", ["forward", "train"])
def test_split_training_steps_are_an_extra_row(task):
    spec = impls.Spec("lstm_peep_mask", 5, 6, 4, 5, task)
    rows = suite.run_case(spec, ["jax"], [], "cpu", 2, 1, print, batch_splits=2, settle=0)
    names = [r["impl"] for r in rows]
    assert names == (
        ["seqgraph-jax", "seqgraph-jax-split2"] if task == "train" else ["seqgraph-jax"]
    )
    for r in rows:
        assert "mismatch" not in r and "error" not in r, r
        assert r["error_vs_reference"] < 1e-5 and r["time_ms"] > 0


class _Clock:
    """A clock that each call of ``run`` moves on by ``step`` seconds."""

    def __init__(self, step):
        self.now, self.step, self.calls = 0.0, step, 0

    def __call__(self):
        return self.now

    def run(self):
        self.calls += 1
        self.now += self.step


@pytest.mark.parametrize(
    ("settle", "step", "calls"),
    [
        (0.2, 0.03, 8),  # 7 untimed calls fill 0.21 s, then the timed one
        (0.2, 0.5, 2),  # a call longer than the settle time: one untimed call
        (0.0, 0.03, 2),
    ],
)
def test_each_timed_call_comes_after_settle_seconds_of_untimed_calls(settle, step, calls):
    clock = _Clock(step)
    assert suite._time_settled(clock.run, settle, clock) == pytest.approx(step)
    assert clock.calls == calls


def test_rounds_settle_each_implementation(monkeypatch):
    settled = []
    monkeypatch.setattr(suite, "_time_settled", lambda run, settle: settled.append(settle) or 1e-3)
    spec = impls.Spec("elman", 3, 6, 4, 5, "forward")
    rows = suite.run_case(spec, ["jax"], ["numpy"], "cpu", 3, 1, print, settle=0.05)
    assert [r["impl"] for r in rows] == ["seqgraph-jax", "numpy"]
    assert settled == [0.05] * 6  # each implementation, each of 3 rounds
    assert all(r["time_ms"] == pytest.approx(1.0) for r in rows)


@pytest.mark.parametrize("settle", ["-0.1", "nan"])
def test_settle_must_not_be_negative(capsys, settle):
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--settle", settle])
    assert "--settle must be >= 0 seconds" in capsys.readouterr().err


def test_batch_splits_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--batch-splits", "0"])
    assert "--batch-splits must be >= 1; got 0" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["forward", "train"])
def test_pytorch_without_onednn_is_an_extra_peer(task):
    torch = pytest.importorskip("torch")
    spec = impls.Spec("lstm", 3, 6, 4, 5, task)
    rows = suite.run_case(spec, [], ["torch", "torch-native"], "cpu", 2, 1, print, settle=0)
    assert [r["impl"] for r in rows] == ["torch", "torch-native"]
    for r in rows:
        assert "mismatch" not in r and "error" not in r, r
        assert r["time_ms"] > 0
    # The flag is set only during the calls.
    assert torch.backends.mkldnn.enabled
    assert "torch-native" not in suite.PEERS  # not run unless asked for


def test_pytorch_without_onednn_turns_it_off_during_the_call(monkeypatch):
    torch = pytest.importorskip("torch")
    spec = impls.Spec("lstm", 3, 6, 4, 5, "forward")
    x, mask = impls.make_data(spec)
    seen = []
    forward = torch.nn.LSTM.forward

    def recording(self, *args, **kwargs):
        seen.append(torch.backends.mkldnn.enabled)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.LSTM, "forward", recording)
    native = impls.build_torch(spec, impls.make_layer(spec), x, mask, onednn=False)
    impls.build_torch(spec, impls.make_layer(spec), x, mask)
    assert native.name == "torch-native"
    assert seen == [False, True]
    with pytest.raises(ValueError, match="onednn=False is for the CPU"):
        impls.build_torch(spec, impls.make_layer(spec), x, mask, device="gpu", onednn=False)


def test_a_mismatch_is_reported_not_timed(monkeypatch):
    real = impls.build_numpy

    def wrong(spec, layer, x, mask):
        impl = real(spec, layer, x, mask)
        impl.first = impl.first + 1.0
        return impl

    monkeypatch.setattr(impls, "build_numpy", wrong)
    rows = suite.run_case(
        impls.Spec("gru", 2, 4, 3, 3, "forward"), ["c"], ["numpy"], "cpu", 2, 1, print, settle=0
    )
    bad = [r for r in rows if r["impl"] == "numpy"][0]
    assert "max relative error" in bad["mismatch"] and "time_ms" not in bad


def test_gpu_results_are_checked_normwise():
    # TF32 products leave absolute errors near 1e-3 on outputs near zero: too much
    # for the elementwise CPU check, fine normwise; an O(1) error fails both.
    spec = impls.Spec("lstm", 2, 4, 3, 3, "forward")
    want = np.linspace(-1.0, 1.0, 24).reshape(2, 4, 3)
    tf32 = want + 1e-3 * np.cos(np.arange(24)).reshape(2, 4, 3)
    problem, err = suite._check(impls.Impl("seqgraph-jax", None, tf32, 0.0), want, spec)
    assert problem and "max relative error" in problem
    problem, err = suite._check(impls.Impl("seqgraph-jax-gpu", None, tf32, 0.0), want, spec)
    assert problem is None and err < 2e-3
    problem, _ = suite._check(impls.Impl("torch-cudnn", None, -want, 0.0), want, spec)
    assert "normwise relative error" in problem


def _jax_sees_a_gpu() -> bool:
    try:
        import jax

        return bool(jax.devices("gpu"))
    except (ImportError, RuntimeError):
        return False


@pytest.mark.skipif(_jax_sees_a_gpu(), reason="checks the machine without a GPU")
def test_gpu_only_without_a_gpu_times_nothing_on_the_cpu():
    pytest.importorskip("jax")
    spec = impls.Spec("elman", 2, 4, 3, 3, "forward")
    rows = suite.run_case(
        spec, ["jax"], ["jax", "numpy"], "gpu", 1, 0, print, gpu_only=True, settle=0
    )
    assert {r["impl"] for r in rows} == {"seqgraph-jax-gpu", "jax-lax.scan-gpu"}
    assert all("JAX sees no GPU" in r["error"] and "time_ms" not in r for r in rows)


def test_seqgraph_jax_is_timed_on_device_data_with_its_memory():
    pytest.importorskip("jax")
    spec = impls.Spec("gru", 2, 5, 3, 4, "train")
    x, mask = impls.make_data(spec)
    impl = impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, "jax")
    import jax

    assert isinstance(impl.run(), jax.Array)  # the result is left where it was computed
    assert impl.device_mib() > 0


# One Elman forward on the C backend against NumPy, one round: the cheapest matrix.
_TINY_ELMAN = (
    "--models elman --sizes small --tasks forward --backends c --peers numpy --repeats 1 --warmup 0 "
    "--settle 0"
).split()


def test_main_writes_json_and_plot(tmp_path, capsys):
    assert suite.main([*_TINY_ELMAN, "--out", str(tmp_path)]) == 0
    [path] = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    assert data["environment"]["threads"] >= 1 and data["environment"]["pytensor"]
    assert {r["impl"] for r in data["rows"]} == {"seqgraph-c", "numpy"}
    speed = data["environment"]["speed"]
    assert speed["start"]["gemm_gflops"] > 0 and speed["end"]["python_ns"] > 0
    out = capsys.readouterr().out
    assert "median time per call" in out
    assert "machine speed at the start: Python" in out and "machine speed at the end" in out
    pytest.importorskip("matplotlib")
    assert list(tmp_path.glob("bench-*.png"))


def test_op_times_prints_and_records_each_case(tmp_path, capsys):
    pytest.importorskip("jax")
    argv = ["--models", "elman", "--sizes", "small", "--tasks", "train", "--op-times"]
    assert suite.main([*argv, "--repeats", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "elman 16,50,64,128 train:" in out and "while" in out
    [path] = tmp_path.glob("bench-*.json")
    [case] = json.loads(path.read_text())["op_times"]
    assert case["model"] == "elman" and case["calls"] == 2 and case["call_ms"] > 0
    loops = [op["name"] for op in case["ops"] if op["opcode"] == "while"]
    assert loops and any(op["loop"] == loops[0] and op["count"] == 50 for op in case["ops"])
    assert not list(tmp_path.glob("bench-*.png"))  # nothing timed to plot


@pytest.mark.parametrize("other", [["--ab", "SEQGRAPH_SCAN_PREFETCH=1,0"], ["--no-matrix"]])
def test_op_times_profiles_the_matrix_only(capsys, other):
    with pytest.raises(SystemExit):
        suite.main(["--op-times", *other])
    assert "--op-times profiles the matrix" in capsys.readouterr().err


def test_overhead_reports_microseconds_per_step(tmp_path, capsys):
    assert suite.main([*_TINY_ELMAN, "--overhead", "--out", str(tmp_path)]) == 0
    [path] = tmp_path.glob("bench-*.json")
    rows = json.loads(path.read_text())["overhead"]
    assert sorted({r["steps"] for r in rows}) == [25, 100, 400, 1000]
    for r in rows:
        assert r["batch"] == 1 and r["hidden"] == 32
        assert abs(r["us_per_step"] - 1e3 * r["time_ms"] / r["steps"]) < 1e-9
    assert "microseconds per step" in capsys.readouterr().out


def test_isolated_memory_runs_each_implementation_alone():
    pytest.importorskip("jax")
    spec = impls.Spec("lstm", 2, 8, 3, 4, "train")
    rows = suite.isolated_memory(spec, ["jax"], ["jax", "torch"], 1, print)
    names = [r["impl"] for r in rows]
    assert names[0] == "seqgraph-jax" and "jax-lax.scan" in names
    for r in rows:
        assert "error" not in r, r
        assert r["peak_mib"] >= 0
        if "torch" in names:
            assert "ratio_to_torch" in r


def test_cold_compile_reports_startup_compile_and_graph():
    pytest.importorskip("jax")
    spec = impls.Spec("gru", 2, 5, 3, 4, "train")
    cold, warm, pairs = suite.cold_compile(spec, "jax", print)
    assert len(cold) == len(warm) == 3
    assert all(v > 0 for v in cold + warm)
    # The second process finds the compiled function in the cache.
    assert warm[1] < cold[1]
    assert pairs == [(cold, warm)]  # one run: its figures are the medians


def test_median_pairs_takes_each_value_median_and_keeps_the_runs():
    pairs = [((0.7, 3.0), (0.6, 0.5)), ((0.9, 2.0), (0.5, 0.7)), ((0.8, 4.0), (0.4, 0.6))]
    cold, warm, kept = suite.median_pairs(pairs)
    assert cold == (0.8, 3.0)
    assert warm == (0.5, 0.6)
    assert kept == pairs
    assert suite.median_pairs(pairs[:2])[0] == pytest.approx((0.8, 2.5))
    with pytest.raises(ValueError, match="at least one pair"):
        suite.median_pairs([])
    assert suite.spread([3.0], ".1f") == ""
    assert suite.spread([3.0, 2.0, 4.0], ".1f") == " (median of 3: 2.0-4.0 s)"


def test_cold_runs_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--cold", "--cold-runs", "0"])
    assert "--cold-runs must be >= 1; got 0" in capsys.readouterr().err


def test_tutorial_compile_figures_are_medians_over_cold_runs(monkeypatch):
    from seqgraph.bench import tutorials

    monkeypatch.setattr(tutorials, "TUTORIALS", ("rnnslu",))
    monkeypatch.setattr(tutorials, "build", lambda name, backend: (None, None, 1.0))
    monkeypatch.setattr(tutorials, "_median_ms", lambda step, batch, repeats: 2.0)
    runs = iter([((0.7, 3.0), (0.6, 0.5)), ((0.9, 2.0), (0.5, 0.7)), ((0.8, 4.0), (0.4, 0.6))])
    monkeypatch.setattr(tutorials, "compile_fresh", lambda name, backend: next(runs))
    lines = []
    [row] = tutorials.run(["jax"], 3, lines.append, cold_runs=3)
    assert (row["compile_cold_s"], row["startup_cold_s"]) == (3.0, 0.8)
    assert (row["compile_warm_s"], row["startup_warm_s"]) == (0.6, 0.5)
    assert row["compile_cold_runs_s"] == [3.0, 2.0, 4.0]
    assert row["compile_warm_runs_s"] == [0.5, 0.7, 0.6]
    assert "compile 3.0 s cold (median of 3: 2.0-4.0 s), 0.60 s warm" in lines[-1]


def test_first_epoch_rows_are_medians_of_alternating_fresh_runs(monkeypatch):
    from seqgraph.bench import tutorials

    asked = []
    figures = iter([(5.0, 8.0), (4.0, 7.0), (6.0, 9.0), (3.0, 6.5), (5.5, 8.5), (4.5, 7.5)])

    def fake(name, compile_ahead, backend):
        asked.append((name, compile_ahead, backend))
        return next(figures)

    monkeypatch.setattr(tutorials, "first_epoch_fresh", fake)
    lines = []
    [row] = tutorials.first_epoch(["lstm"], 3, lines.append)
    assert asked == [("lstm", False, "jax"), ("lstm", True, "jax")] * 3
    assert row["serial_epoch_runs_s"] == [5.0, 6.0, 5.5] and row["serial_epoch_s"] == 5.5
    assert row["ahead_epoch_runs_s"] == [4.0, 3.0, 4.5] and row["ahead_epoch_s"] == 4.0
    assert (row["serial_run_s"], row["ahead_run_s"]) == (8.5, 7.0)
    assert row["epoch_ratio"] == pytest.approx(4.0 / 5.5)
    assert "4.00 s with compile_ahead, 5.50 s without (0.73x)" in lines[0]


@pytest.mark.slow
def test_first_epoch_fresh_runs_the_quick_tutorial_cold():
    pytest.importorskip("jax")
    from seqgraph.bench import tutorials

    epoch, run = tutorials.first_epoch_fresh("lstm", True)
    assert 0 < epoch < run


def test_first_epoch_is_not_an_ab_comparison(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--first-epoch", "--ab", "SEQGRAPH_SCAN_UNROLL=1,2"])
    assert "--first-epoch" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["rnnslu", "lstm"])
def test_tutorial_steps_at_original_sizes(name):
    pytest.importorskip("jax")
    from seqgraph.bench import tutorials

    step, batch, seconds = tutorials.build(name, "jax")
    assert seconds > 0
    assert batch[0].shape == ((1, 16) if name == "rnnslu" else (16, 100))
    losses = [float(step(*batch)[0]) for _ in range(5)]
    assert all(abs(loss) < float("inf") for loss in losses)  # finite, no NaN
    assert losses[-1] < losses[0]  # the step trains
    assert set(tutorials.THEANO) == set(tutorials.TUTORIALS)


@pytest.mark.parametrize("name", ["rnnslu", "lstm"])
def test_tutorial_steps_in_pytorch(name):
    torch = pytest.importorskip("torch")
    from seqgraph.bench import tutorials

    step, batch = tutorials.build_torch(name)
    assert batch[0].shape == ((16, 7) if name == "rnnslu" else (16, 100))
    torch.manual_seed(0)  # the LSTM's dropout
    losses = [float(step(*batch)) for _ in range(5)]
    assert all(abs(loss) < float("inf") for loss in losses)
    assert losses[-1] < losses[0]  # the step trains
    with pytest.raises(ValueError, match="unknown tutorial"):
        tutorials.build_torch("mnist")


def test_tutorial_rows_compare_with_pytorch(monkeypatch):
    pytest.importorskip("torch")
    from seqgraph.bench import tutorials

    monkeypatch.setattr(tutorials, "TUTORIALS", ("rnnslu",))
    monkeypatch.setattr(tutorials, "compile_fresh", lambda name, backend: ((0.5, 1.0), (0.4, 0.5)))
    [row] = tutorials.run(["jax"], 3, lambda line: None, peers=["torch"])
    assert row["torch_step_ms"] > 0
    assert row["ratio_to_torch"] == pytest.approx(row["step_ms"] / row["torch_step_ms"])


def test_tutorial_compile_reports_startup_apart():
    pytest.importorskip("jax")
    from seqgraph.bench import tutorials

    (startup_cold, cold), (startup_warm, warm) = tutorials.compile_fresh("rnnslu", "jax")
    assert min(startup_cold, cold, startup_warm, warm) > 0
    # The second process finds the compiled functions in the cache.
    assert warm < cold
