"""The tutorials written in Theano, and original Theano timed in the same run as seqgraph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqgraph.bench import suite, tutorials

SCRIPT = str(Path(tutorials.__file__).with_name("theano_tutorials.py"))


def _run_on_seqgraph_theano(*args):
    """The script under ``seqgraph run`` in a fresh process, on the JAX backend."""
    env = dict(os.environ, THEANO_FLAGS="mode=JAX")
    code = "import sys; from seqgraph.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "run", SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", tutorials.TUTORIALS)
def test_the_theano_script_runs_on_seqgraph_theano(name):
    # The same file original Theano runs: a Theano script that seqgraph.theano runs unchanged.
    pytest.importorskip("jax")
    got = _run_on_seqgraph_theano(name, "3", "small")
    assert got["tutorial"] == name and got["theano"].endswith("+seqgraph")
    assert got["step_ms"] > 0 and got["compile_s"] > 0


@pytest.mark.skipif(
    not os.environ.get("SEQGRAPH_THEANO_PYTHON"),
    reason="no Theano interpreter (SEQGRAPH_THEANO_PYTHON; benchmarks/theano-env.sh makes one)",
)
@pytest.mark.slow
def test_original_theano_runs_the_script():
    got = tutorials.theano_same_run("rnnslu", os.environ["SEQGRAPH_THEANO_PYTHON"], 3, cold=False)
    assert got["theano"] == "1.0.5" and got["step_ms"] > 0


def _fake_theano(tmp_path, body):
    fake = tmp_path / "theano-python"
    fake.write_text("#!/bin/sh\n" + body)
    fake.chmod(0o755)
    return str(fake)


def test_rows_compare_with_theano_timed_in_the_same_run(monkeypatch, tmp_path):
    seen = tmp_path / "flags"
    # Records THEANO_FLAGS and the arguments, and answers as the script does.
    fake = _fake_theano(
        tmp_path,
        f'echo "$THEANO_FLAGS|$2|$3" >> {seen}\n'
        'echo \'{"tutorial": "\'$2\'", "step_ms": 6.0, "compile_s": 90.0, "theano": "1.0.5"}\'\n',
    )
    monkeypatch.setattr(tutorials, "build", lambda name, backend: (None, None, 1.0))
    monkeypatch.setattr(tutorials, "_median_ms", lambda step, batch, repeats: 2.0)
    compiles = ((0.7, 3.0), (0.6, 0.5))  # (start-up, compile) cold, then warm
    monkeypatch.setattr(tutorials, "compile_fresh", lambda name, backend: compiles)
    rows = tutorials.run(["jax"], 5, lambda line: None, theano_python=fake, theano_cold=True)
    assert [r["tutorial"] for r in rows] == list(tutorials.TUTORIALS)
    for row in rows:
        assert row["theano_same_run"]["step_ms"] == 6.0
        assert row["step_speedup_same_run"] == pytest.approx(3.0)
        assert (row["compile_cold_s"], row["startup_cold_s"]) == (3.0, 0.7)
        assert (row["compile_warm_s"], row["startup_warm_s"]) == (0.5, 0.6)
        # The fake answers 90 s to both of Theano's compiles, cold then warm.
        assert row["compile_speedup_cold_same_run"] == pytest.approx(30.0)
        assert row["compile_speedup_warm_same_run"] == pytest.approx(180.0)
        assert row["step_speedup"] == pytest.approx(
            tutorials.THEANO[row["tutorial"]]["step_ms"] / 2
        )
    calls = seen.read_text().splitlines()
    # Each tutorial: the timed run, then a second process for the warm compile
    # (one step), both in the same fresh compile folder.
    assert [c.split("|")[1:] for c in calls] == [
        [n, repeats] for n in tutorials.TUTORIALS for repeats in ("5", "1")
    ]
    folders = [c.split("|")[0] for c in calls]
    assert all("base_compiledir=" in f for f in folders)
    assert folders[0] == folders[1] != folders[2] == folders[3]
    seen.unlink()
    rows = tutorials.run(["jax"], 5, lambda line: None, theano_python=fake)
    assert "base_compiledir" not in seen.read_text()
    assert len(seen.read_text().splitlines()) == len(tutorials.TUTORIALS)
    assert all("compile_speedup_cold_same_run" not in r for r in rows)


def test_a_failing_theano_is_reported(tmp_path):
    fake = _fake_theano(tmp_path, 'echo "ImportError: No module named theano" >&2\nexit 1\n')
    with pytest.raises(RuntimeError, match="failed on lstm: ImportError: No module named theano"):
        tutorials.theano_same_run("lstm", fake, 3, cold=False)


def test_theano_python_option_is_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--theano-python", sys.executable])
    assert "use it with --tutorials" in capsys.readouterr().err
    missing = str(Path(tmp_path) / "nothing")
    with pytest.raises(SystemExit):
        suite.main(["--no-matrix", "--tutorials", "--theano-python", missing])
    assert "is not an executable file" in capsys.readouterr().err
