"""Keras 2.3's recurrent layers on its Theano backend, run by ``seqgraph run``.

Keras's Theano backend (``keras/backend/theano_backend.py``) builds its RNNs
on ``theano.scan``, its masks on ``T.switch``, its initial states with
``T.tile(..., ndim=...)``, and probes ``theano.sparse.SparseType``. Three
models learn whether token 7 occurs in sequences of random tokens: a masked
LSTM under a GRU, a SimpleRNN with a time-distributed layer, and a 1-d
convolution with batch normalisation under an LSTM. Arguments: the output
file, then the models to train (all by default). Saves each model's loss and
accuracy per epoch.
"""

import sys

import numpy as np
from keras import backend as K
from keras.layers import (
    GRU,
    LSTM,
    BatchNormalization,
    Conv1D,
    Dense,
    Embedding,
    GlobalMaxPooling1D,
    MaxPooling1D,
    SimpleRNN,
    TimeDistributed,
)
from keras.models import Sequential

assert K.backend() == "theano", K.backend()
np.random.seed(0)  # noqa: NPY002 - Keras draws its initial weights from NumPy's global generator
rng = np.random.RandomState(0)
n, steps, vocab = 512, 20, 30
x = rng.randint(1, vocab, size=(n, steps))
for i, length in enumerate(rng.randint(8, steps + 1, size=n)):
    x[i, length:] = 0  # padding, which the masked model skips
y = (x == 7).any(axis=1).astype("float32")

models = {
    "masked_lstm_gru": [
        Embedding(vocab, 16, input_length=steps, mask_zero=True),
        LSTM(32, return_sequences=True),
        GRU(16),
    ],
    "simplernn_td": [
        Embedding(vocab, 16, input_length=steps),
        SimpleRNN(16, return_sequences=True),
        TimeDistributed(Dense(8)),
        GlobalMaxPooling1D(),
    ],
    "conv1d_bn_lstm": [
        Embedding(vocab, 16, input_length=steps),
        Conv1D(16, 3, activation="relu"),
        MaxPooling1D(2),
        BatchNormalization(),
        LSTM(8),
    ],
}
results = {}
for name in sys.argv[2:] or list(models):
    layers = models[name]
    model = Sequential([*layers, Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0, shuffle=False).history
    results[name + "_loss"] = np.array(history["loss"])
    results[name + "_acc"] = np.array(history["accuracy"])
np.savez(sys.argv[1], **results)
