"""``seqgraph run SCRIPT ARGS`` in a process of its own, for the tests.

Also the old Keras releases the tests run that way: each is the package
``keras``, as Keras 2 is, so ``.ci/run`` installs it into a folder of its own
at the repository root, which the script gets on its path.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def seqgraph_run(script, *args, options=(), env=None, timeout=900):
    """Run ``script`` under ``seqgraph run`` with ``env`` added to this process's; the result."""
    return subprocess.run(
        [sys.executable, "-m", "seqgraph.cli", "run", *options, str(script), *map(str, args)],
        env=dict(os.environ, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def keras_folder(variable, folder):
    """Where an old Keras is installed: ``$variable``, or ``folder`` at the repository root."""
    return Path(os.environ.get(variable) or ROOT / folder)


def needs_keras(path, version, folder):
    """Skip a test module without that Keras in ``path``, or without ``six`` (its dependency)."""
    return pytest.mark.skipif(
        not (path / "keras" / "__init__.py").is_file() or importlib.util.find_spec("six") is None,
        reason=f"needs Keras {version} in {path} (pip install --no-deps --target {folder} "
        f"keras=={version}) and six",
    )


def run_keras_script(keras, script, out, *args, **env):
    """Run a Keras ``script`` (which writes ``out``) on the Theano backend; its arrays."""
    path = os.pathsep.join([str(keras), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = dict(KERAS_BACKEND="theano", PYTHONPATH=path, **env)
    done = seqgraph_run(script, out, *args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Using Theano backend" in done.stderr
    return np.load(out)
