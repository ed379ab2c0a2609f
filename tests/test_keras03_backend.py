"""Keras 0.3.3, the Theano-first Keras of 2015, on seqgraph.theano, against Theano 1.0.5.

Keras 0.3 is the package ``keras`` as Keras 1 and 2 are, so ``.ci/run``
installs it into ``.keras03/`` at the repository root (``pip install --no-deps
--target .keras03 keras==0.3.3``), or ``SEQGRAPH_KERAS03`` names such a folder;
the tests are skipped where there is none, or no ``six``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.seqgraph_run import keras_folder, needs_keras, run_keras_script

SCRIPT = Path(__file__).parent / "theano_scripts" / "keras03_rnns.py"
KERAS03 = keras_folder("SEQGRAPH_KERAS03", ".keras03")

pytestmark = needs_keras(KERAS03, "0.3.3", ".keras03")

# Theano 1.0.5 (Python 3.7, NumPy 1.19.5) ran the same script, float32: each
# model's loss per epoch and the first four numbers of its predictions.
THEANO_LOSSES = {
    "masked_lstm": [0.699909, 0.682664, 0.674828],
    "gru_tagger": [1.118377, 1.095613, 1.086725],
    "backward_rnn": [1.111861, 0.710394, 0.31194],
    "bidirectional_graph": [0.687834, 0.687336, 0.686971],
}
THEANO_PREDICTIONS = {
    "masked_lstm": [0.609127, 0.545294, 0.565895, 0.574494],
    "gru_tagger": [0.358794, 0.312596, 0.32861, 0.397936],
    "backward_rnn": [-0.332484, 0.390753, -0.748179, -0.319903],
    "bidirectional_graph": [0.532767, 0.532971, 0.52838, 0.535022],
}
NAMES = list(THEANO_LOSSES)


def _run(tmp_path, **env):
    got = run_keras_script(KERAS03, SCRIPT, tmp_path / "keras03.npz", *NAMES, **env)
    for name in NAMES:
        np.testing.assert_allclose(
            got[name + "_loss"], THEANO_LOSSES[name], rtol=2e-6, atol=1e-6, err_msg=name
        )
        np.testing.assert_allclose(
            got[name + "_pred"].ravel()[:4], THEANO_PREDICTIONS[name], atol=2e-6, err_msg=name
        )


def test_keras03_models_train_as_under_theano_on_jax(tmp_path):
    # Embedding masks, GRU with TimeDistributedDense, go_backwards, the Graph
    # container's bidirectional LSTM; RMSprop, Adam and Nesterov SGD.
    pytest.importorskip("jax")
    _run(tmp_path, THEANO_FLAGS="mode=JAX", SEQGRAPH_JAX_CACHE=str(tmp_path / "jax"))


@pytest.mark.slow  # 66 s on 2 cores, most of it compiling C modules
def test_keras03_models_train_as_under_theano_on_c(tmp_path):
    _run(tmp_path)
