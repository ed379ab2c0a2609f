"""Keras 1.2.2's recurrent models on its Theano backend: losses and predictions.

Run by tests/test_keras_backend.py with ``seqgraph run`` (Keras 1.2.2 on the
path), and once under Theano 1.0.5 for the figures the test compares with::

    KERAS_BACKEND=theano python keras1_rnns.py OUT.npz FLOATX [NAME ...]

Nothing here draws random numbers through the backend: no dropout, and every
weight is set from NumPy's seeded generator after the model is built (Keras 1's
orthogonal initialiser takes an SVD, whose signs differ between LAPACKs).
"""

import sys

import numpy as np
from keras import backend as K

OUT, FLOATX, WANT = sys.argv[1], sys.argv[2], set(sys.argv[3:])
K.set_floatx(FLOATX)

from keras.layers import (  # noqa: E402
    GRU,
    LSTM,
    Bidirectional,
    Convolution1D,
    Dense,
    Embedding,
    Input,
    Masking,
    MaxPooling1D,
    SimpleRNN,
    TimeDistributed,
    merge,
)
from keras.models import Model, Sequential  # noqa: E402
from keras.optimizers import SGD, Adam, RMSprop  # noqa: E402
from keras.preprocessing import sequence  # noqa: E402
from keras.regularizers import l2  # noqa: E402

rng = np.random.RandomState(0)
N, VOCAB, MAXLEN = 128, 20, 12
# Sentences of 4-11 tokens, padded with 0 in front; the label: is token 7 there.
tokens = [list(rng.randint(1, VOCAB, size=rng.randint(4, MAXLEN))) for _ in range(N)]
labels = np.array([int(7 in s) for s in tokens])
X = sequence.pad_sequences(tokens, maxlen=MAXLEN)
results = {}


def _set_weights(model):
    model.set_weights(
        [np.random.RandomState(i).randn(*w.shape) * 0.3 for i, w in enumerate(model.get_weights())]
    )


def fit(name, model, loss, optimizer, x, y, **kwargs):
    if WANT and name not in WANT:
        return
    model.compile(loss=loss, optimizer=optimizer, **kwargs.pop("compile", {}))
    _set_weights(model)
    history = model.fit(x, y, batch_size=32, nb_epoch=3, verbose=0, shuffle=False, **kwargs)
    results[name + "_loss"] = np.array(history.history["loss"])
    results[name + "_pred"] = model.predict(x if isinstance(x, list) else x[:8], batch_size=8)[:8]
    print(name, results[name + "_loss"], flush=True)


def classifier(recurrent, *layers):
    model = Sequential()
    model.add(Embedding(VOCAB, 8, input_length=MAXLEN, mask_zero=not layers))
    for layer in layers:
        model.add(layer)
    model.add(recurrent)
    model.add(Dense(1, activation="sigmoid"))
    return model


fit("lstm_masked", classifier(LSTM(10)), "binary_crossentropy", "adam", X, labels)
fit(
    "gru_backwards",
    classifier(GRU(10, go_backwards=True)),
    "binary_crossentropy",
    RMSprop(),
    X,
    labels,
)
fit(
    "simplernn_unrolled",
    classifier(SimpleRNN(10, unroll=True)),
    "binary_crossentropy",
    SGD(lr=0.1, momentum=0.9, nesterov=True),
    X,
    labels,
)
fit(
    "lstm_fused_gates",
    classifier(LSTM(10, consume_less="gpu")),
    "binary_crossentropy",
    Adam(lr=0.01),
    X,
    labels,
)
fit(
    "conv_pool_lstm",
    classifier(
        LSTM(10, W_regularizer=l2(1e-3), U_regularizer=l2(1e-3)),
        Convolution1D(6, 3, activation="relu"),
        MaxPooling1D(pool_length=2),
    ),
    "binary_crossentropy",
    "adam",
    X,
    labels,
)

tagger = Sequential()
tagger.add(Embedding(VOCAB, 8, input_length=MAXLEN, mask_zero=True))
tagger.add(Bidirectional(LSTM(8, return_sequences=True), merge_mode="concat"))
tagger.add(TimeDistributed(Dense(3, activation="softmax")))
fit("bilstm_tagger", tagger, "categorical_crossentropy", Adam(lr=0.01), X, np.eye(3)[X % 3])

ids = Input(shape=(MAXLEN,), dtype="int32")
embedded = Embedding(VOCAB, 8, mask_zero=True)(ids)
both = merge([LSTM(8)(embedded), GRU(8, go_backwards=True)(embedded)], mode="concat")
functional = Model(input=ids, output=Dense(1, activation="sigmoid")(both))
fit("functional_two_encoders", functional, "binary_crossentropy", "adam", X, labels)

# Float frames with zero padding at the end, a per-step target and per-step weights.
frames = rng.randn(N, MAXLEN, 5)
frames[:, -3:] = 0.0
frame_labels = (frames.sum(-1, keepdims=True) > 0).astype(FLOATX)
weights = np.ones((N, MAXLEN))
weights[:, -3:] = 0.0
per_step = Sequential()
per_step.add(Masking(0.0, input_shape=(MAXLEN, 5)))
per_step.add(GRU(8, return_sequences=True))
per_step.add(TimeDistributed(Dense(1, activation="sigmoid")))
fit(
    "masking_temporal_weights",
    per_step,
    "binary_crossentropy",
    "rmsprop",
    frames,
    frame_labels,
    sample_weight=weights,
    compile={"sample_weight_mode": "temporal"},
)

if not WANT or "stateful_char_lm" in WANT:
    # A two-layer stateful character model trained on consecutive windows.
    text = "the quick brown fox jumps over the lazy dog " * 6
    chars = sorted(set(text))
    codes = np.array([chars.index(c) for c in text])
    batch, steps, width = 4, 8, len(chars)
    n = (len(codes) - 1) // (batch * steps) * (batch * steps)
    inputs = np.eye(width)[codes[:n]].reshape(batch, -1, width)
    targets = np.eye(width)[codes[1 : n + 1]].reshape(batch, -1, width)
    lm = Sequential()
    lm.add(LSTM(12, return_sequences=True, stateful=True, batch_input_shape=(batch, steps, width)))
    lm.add(GRU(12, return_sequences=True, stateful=True))
    lm.add(TimeDistributed(Dense(width, activation="softmax")))
    lm.compile(loss="categorical_crossentropy", optimizer=RMSprop(lr=0.01, clipnorm=1.0))
    _set_weights(lm)
    losses = []
    for _ in range(2):
        lm.reset_states()
        for start in range(0, inputs.shape[1], steps):
            window = slice(start, start + steps)
            losses.append(lm.train_on_batch(inputs[:, window], targets[:, window]))
    lm.reset_states()
    results["stateful_char_lm_loss"] = np.array(losses, dtype="float64")
    results["stateful_char_lm_pred"] = lm.predict(inputs[:, :steps], batch_size=batch)
    print("stateful_char_lm", results["stateful_char_lm_loss"][[0, -1]], flush=True)

np.savez(OUT, **results)
