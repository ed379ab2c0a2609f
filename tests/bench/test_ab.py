"""``seqgraph bench --ab``: two settings of a build-time switch compared in one process."""

from __future__ import annotations

import json
import os
import time

import pytest

from seqgraph.bench import ab, suite


def test_parse():
    assert ab.parse("SEQGRAPH_CHUNKED_UPDATES=0,1") == ("SEQGRAPH_CHUNKED_UPDATES", "0", "1")
    assert ab.parse(" SEQGRAPH_SCAN_UNROLL = 1 , 4 ") == ("SEQGRAPH_SCAN_UNROLL", "1", "4")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SEQGRAPH_FUSED_BPTT", "VAR=A,B"),
        ("SEQGRAPH_FUSED_BPTT=0,1,2", "VAR=A,B"),
        ("=0,1", "VAR=A,B"),
        ("XLA_FLAGS=a,b", "read once per process"),
        ("SEQGRAPH_MALLOC_TUNING=0,1", "when seqgraph is imported"),
        ("SEQGRAPH_JAX_CACHE=a,b", "turns the on-disk cache off"),
        ("SEQGRAPH_FUSED_BPTT=1,1", "two different values"),
    ],
)
def test_parse_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        ab.parse(text)


def test_each_side_is_built_under_its_setting_and_the_environment_restored(monkeypatch):
    monkeypatch.setenv("SEQGRAPH_TEST_AB", "before")
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", "/some/cache")
    seen = []

    def build():
        value = os.environ["SEQGRAPH_TEST_AB"]
        seen.append((value, os.environ["SEQGRAPH_JAX_CACHE"]))
        pause = 0.004 if value == "slow" else 0.001
        return lambda: time.sleep(pause)

    row = ab.compare(build, "SEQGRAPH_TEST_AB", "fast", "slow", pairs=6)
    assert seen == [("fast", ""), ("slow", "")]  # the on-disk cache off while building
    assert os.environ["SEQGRAPH_TEST_AB"] == "before"
    assert os.environ["SEQGRAPH_JAX_CACHE"] == "/some/cache"
    assert row["a"] == "fast" and row["b"] == "slow" and row["pairs"] == 6
    assert row["b_ms"] > row["a_ms"]
    assert row["ratio_b_to_a"] > 2


def test_cli_compares_a_matrix_case(tmp_path, capsys):
    pytest.importorskip("jax")
    argv = [
        *("--ab", "SEQGRAPH_FUSED_BPTT=0,1", "--pairs", "3"),
        *("--models", "elman", "--sizes", "small", "--tasks", "train", "--backends", "jax"),
        *("--out", str(tmp_path)),
    ]
    assert suite.main(argv) == 0
    [path] = tmp_path.glob("bench-*.json")
    [row] = json.loads(path.read_text())["ab"]
    assert row["case"] == "elman 16,50,64,128 train"
    assert (row["variable"], row["a"], row["b"], row["pairs"]) == (
        "SEQGRAPH_FUSED_BPTT",
        "0",
        "1",
        3,
    )
    assert row["a_ms"] > 0 and row["b_ms"] > 0
    assert "SEQGRAPH_FUSED_BPTT=0" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--ab", "XLA_FLAGS=a,b"],
        ["--ab", "SEQGRAPH_FUSED_BPTT=0,1", "--cold"],
        ["--ab", "SEQGRAPH_FUSED_BPTT=0,1", "--pairs", "0"],
    ],
)
def test_cli_refuses(extra, tmp_path, capsys):
    with pytest.raises(SystemExit):
        suite.main([*extra, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert "--ab" in err or "--pairs" in err
    assert not list(tmp_path.glob("bench-*.json"))
