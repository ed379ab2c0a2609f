"""Keras 1.2.2's Theano backend on seqgraph.theano, against Theano 1.0.5's figures.

Keras 1 cannot be installed beside Keras 2 (both are the package ``keras``), so
``.ci/run`` installs it into ``.keras1/`` at the repository root (``pip install
--no-deps --target .keras1 keras==1.2.2``), or ``SEQGRAPH_KERAS1`` names such a
folder; the tests are skipped where there is none, or no ``six`` (Keras 1's
one dependency that seqgraph does not bring).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.seqgraph_run import keras_folder, needs_keras, run_keras_script

SCRIPT = Path(__file__).parent / "theano_scripts" / "keras1_rnns.py"
KERAS1 = keras_folder("SEQGRAPH_KERAS1", ".keras1")

pytestmark = needs_keras(KERAS1, "1.2.2", ".keras1")

# Theano 1.0.5 (Python 3.7, NumPy 1.19.5) ran the same script, float32: each
# model's loss per epoch (per window for the stateful model) and the first four
# numbers of its predictions after training.
THEANO_LOSSES = {
    "lstm_masked": [0.814952, 0.806938, 0.799082],
    "gru_backwards": [0.880692, 0.859589, 0.844278],
    "simplernn_unrolled": [0.662014, 0.616032, 0.599357],
    "lstm_fused_gates": [0.698125, 0.653346, 0.602753],
    "conv_pool_lstm": [0.701041, 0.695888, 0.690925],
    "bilstm_tagger": [1.208241, 1.105021, 1.020098],
    "functional_two_encoders": [0.743721, 0.733936, 0.724689],
    "masking_temporal_weights": [0.951423, 0.941171, 0.933656],
    "stateful_char_lm": [
        3.43168, 3.214845, 3.279768, 3.181353, 3.107968, 3.040089, 3.139599, 2.989527,
        3.122292, 2.830034, 3.008709, 2.822138, 2.842916, 2.785056, 2.700103, 2.725584,
    ],
}  # fmt: skip
THEANO_PREDICTIONS = {
    "lstm_masked": [0.594904, 0.584291, 0.59881, 0.588863],
    "gru_backwards": [0.634167, 0.588591, 0.608147, 0.631501],
    "simplernn_unrolled": [0.279581, 0.278993, 0.287267, 0.277218],
    "lstm_fused_gates": [0.303515, 0.32129, 0.313732, 0.309259],
    "conv_pool_lstm": [0.419161, 0.417658, 0.41537, 0.419942],
    "bilstm_tagger": [0.344697, 0.251688, 0.403616, 0.344697],
    "functional_two_encoders": [0.52646, 0.512165, 0.515904, 0.52623],
    "masking_temporal_weights": [0.618986, 0.595269, 0.569064, 0.550299],
    "stateful_char_lm": [0.076349, 0.030244, 0.038395, 0.030857],
}


def _run(tmp_path, names, **env):
    return run_keras_script(KERAS1, SCRIPT, tmp_path / "keras1.npz", "float32", *names, **env)


def _check(got, names):
    for name in names:
        np.testing.assert_allclose(
            got[name + "_loss"], THEANO_LOSSES[name], rtol=2e-6, err_msg=name
        )
        np.testing.assert_allclose(
            got[name + "_pred"].ravel()[:4], THEANO_PREDICTIONS[name], atol=2e-6, err_msg=name
        )


GROUPS = [
    ["lstm_masked", "gru_backwards", "simplernn_unrolled", "lstm_fused_gates"],
    ["conv_pool_lstm", "bilstm_tagger", "functional_two_encoders"],
    ["masking_temporal_weights", "stateful_char_lm"],
]


@pytest.mark.parametrize("names", GROUPS, ids=["classifiers", "conv-bi-functional", "stateful"])
def test_keras1_models_train_as_under_theano_on_jax(tmp_path, names):
    # Masks, go_backwards, unroll, fused gates, convolution and pooling before an
    # LSTM (a float32 alloc that once became float64 on JAX), Bidirectional,
    # TimeDistributed, the functional API, temporal sample weights, stateful
    # layers; Keras 1 imports pkg_resources, which seqgraph run stands in for.
    pytest.importorskip("jax")
    got = _run(tmp_path, names, THEANO_FLAGS="mode=JAX", SEQGRAPH_JAX_CACHE=str(tmp_path / "jax"))
    _check(got, names)


@pytest.mark.slow  # the C backend compiles some 150 modules for these models
def test_keras1_models_train_as_under_theano_on_c(tmp_path):
    names = [name for group in GROUPS for name in group]
    _check(_run(tmp_path, names), names)
