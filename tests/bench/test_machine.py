"""The machine-speed probe recorded around each benchmark run."""

from __future__ import annotations

import math

import pytest

from seqgraph.bench import machine


def test_speed_probe_gives_medians_inside_their_ranges():
    probe = machine.speed_probe(repeats=3)
    best_ns, worst_ns = probe["python_ns_range"]
    assert 0 < best_ns <= probe["python_ns"] <= worst_ns and math.isfinite(worst_ns)
    best_rate, worst_rate = probe["gemm_gflops_range"]
    assert best_rate >= probe["gemm_gflops"] >= worst_rate > 0
    assert len(probe["time"].split(":")) == 3


def test_figures_are_medians_of_the_timings(monkeypatch):
    # Each workload timed at 10, 30 and 20 ms: the medians are the 20 ms timings.
    monkeypatch.setattr(machine, "_timings", lambda work, repeats: [0.010, 0.030, 0.020])
    probe = machine.speed_probe(repeats=3)
    assert probe["python_ns"] == pytest.approx(0.020 / machine._LOOP * 1e9)
    assert probe["python_ns_range"] == pytest.approx(
        [0.010 / machine._LOOP * 1e9, 0.030 / machine._LOOP * 1e9]
    )
    flops = 2 * machine._SIZE**3 * machine._PRODUCTS
    assert probe["gemm_gflops"] == pytest.approx(flops / 0.020 / 1e9)
    assert probe["gemm_gflops_range"] == pytest.approx([flops / 0.010 / 1e9, flops / 0.030 / 1e9])


def test_describe_names_both_figures():
    probe = {
        "time": "12:00:00",
        "python_ns": 52.4,
        "python_ns_range": [49.0, 60.2],
        "gemm_gflops": 158.2,
        "gemm_gflops_range": [161.0, 106.4],
    }
    assert machine.describe(probe) == (
        "Python 52 ns/iteration (49-60), float32 GEMM 158 GFLOP/s (106-161)"
    )


@pytest.mark.parametrize("repeats", [0, -1, 2.5, True, "3"])
def test_repeats_must_be_a_positive_integer(repeats):
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        machine.speed_probe(repeats=repeats)
