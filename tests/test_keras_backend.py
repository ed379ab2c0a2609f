"""Keras 2.3's Theano backend on seqgraph.theano (skipped where Keras 2.3 is not installed).

``.ci/run`` installs Keras 2.3.1, the last release with a Theano backend.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from tests.seqgraph_run import seqgraph_run


def _keras_version():
    try:
        return importlib.metadata.version("keras")
    except importlib.metadata.PackageNotFoundError:
        return None


pytestmark = pytest.mark.skipif(
    not (_keras_version() or "").startswith("2."),
    reason="needs Keras 2 (2.3.1 was the last with a Theano backend)",
)

SCRIPT = Path(__file__).parent / "theano_scripts" / "keras_rnns.py"


def _train(tmp_path, names, **env):
    out = tmp_path / "keras.npz"
    env = dict(KERAS_BACKEND="theano", KERAS_HOME=str(tmp_path / "keras_home"), **env)
    done = seqgraph_run(SCRIPT, out, *names, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Using Theano backend" in done.stderr
    return np.load(out)


# Theano 1.0.5 ran the same script (its own random initial weights): final
# losses 0.090, 0.142 and 0.252, accuracies 0.977, 0.982 and 0.957.
@pytest.mark.parametrize(
    "name",
    [
        "masked_lstm_gru",
        # Each model compiles its own C modules: a minute more each on 2 cores.
        pytest.param("simplernn_td", marks=pytest.mark.slow),
        pytest.param("conv1d_bn_lstm", marks=pytest.mark.slow),
    ],
)
def test_keras_recurrent_model_learns_on_the_theano_backend(tmp_path, name):
    got = _train(tmp_path, [name])
    loss, acc = got[name + "_loss"], got[name + "_acc"]
    assert loss.shape == (8,)
    assert loss[-1] < 0.5 * loss[0], loss
    assert acc[-1] > 0.85, acc


def test_keras_batch_normalization_under_an_lstm_trains_on_jax(tmp_path):
    # Keras's learning-phase switch (an ifelse) and its reshapes left shape
    # arithmetic over constants that jax.jit refused as a traced shape.
    pytest.importorskip("jax")
    name = "conv1d_bn_lstm"
    got = _train(
        tmp_path,
        [name],
        THEANO_FLAGS="mode=JAX",
        SEQGRAPH_JAX_CACHE=str(tmp_path / "jax_cache"),
    )
    loss, acc = got[name + "_loss"], got[name + "_acc"]
    assert loss[-1] < 0.5 * loss[0], loss
    assert acc[-1] > 0.85, acc
