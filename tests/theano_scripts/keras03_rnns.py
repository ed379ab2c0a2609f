"""Keras 0.3.3's recurrent models on its Theano backend: losses and predictions.

Keras 0.3 (2015) was a Theano library first.  Run by tests/test_keras03_backend.py
with ``seqgraph run`` (Keras 0.3.3 on the path), and once under Theano 1.0.5 for
the figures the test compares with::

    KERAS_BACKEND=theano python keras03_rnns.py OUT.npz [NAME ...]

No model draws random numbers through the backend (no dropout), and every
weight is set from NumPy's seeded generator after the model is compiled
(Keras's orthogonal initialiser takes an SVD, whose signs differ between
LAPACKs).  float32, Keras 0.3's default.
"""

import sys

import numpy as np
from keras.layers.core import Activation, Dense, TimeDistributedDense
from keras.layers.embeddings import Embedding
from keras.layers.recurrent import GRU, LSTM, SimpleRNN
from keras.models import Graph, Sequential
from keras.optimizers import SGD, Adam, RMSprop

OUT, WANT = sys.argv[1], set(sys.argv[2:])

rng = np.random.RandomState(0)
vocab, maxlen, n = 20, 12, 96
ids = np.zeros((n, maxlen), dtype="int32")
for i in range(n):
    length = rng.randint(4, maxlen + 1)
    ids[i, maxlen - length :] = rng.randint(1, vocab, length)
label = ((ids == 3) | (ids == 7)).any(axis=1).astype("float32")
frames = rng.normal(size=(n, maxlen, 5)).astype("float32")
tags = np.zeros((n, maxlen, 3), dtype="float32")
tags[np.arange(n)[:, None], np.arange(maxlen), np.cumsum(frames[:, :, 0] > 0, axis=1) % 3] = 1


def seeded(model, seed):
    r = np.random.RandomState(seed)
    model.set_weights([r.uniform(-0.3, 0.3, w.shape).astype(w.dtype) for w in model.get_weights()])


def masked_lstm():
    # Embedding(mask_zero=True): the padded steps carry the state over.
    m = Sequential()
    m.add(Embedding(vocab, 8, mask_zero=True))
    m.add(LSTM(10))
    m.add(Dense(1))
    m.add(Activation("sigmoid"))
    m.compile(loss="binary_crossentropy", optimizer=RMSprop(lr=0.01))
    seeded(m, 1)
    h = m.fit(ids, label, batch_size=16, nb_epoch=3, shuffle=False, verbose=0)
    return h.history["loss"], m.predict(ids, verbose=0)


def gru_tagger():
    m = Sequential()
    m.add(GRU(9, return_sequences=True, input_shape=(maxlen, 5)))
    m.add(TimeDistributedDense(3))
    m.add(Activation("softmax"))
    m.compile(loss="categorical_crossentropy", optimizer=Adam(lr=0.01))
    seeded(m, 2)
    h = m.fit(frames, tags, batch_size=16, nb_epoch=3, shuffle=False, verbose=0)
    return h.history["loss"], m.predict(frames, verbose=0)


def backward_rnn():
    m = Sequential()
    m.add(SimpleRNN(7, go_backwards=True, input_shape=(maxlen, 5)))
    m.add(Dense(2))
    m.compile(loss="mse", optimizer=SGD(lr=0.05, momentum=0.9, nesterov=True))
    seeded(m, 3)
    h = m.fit(frames, frames[:, :2, 0], batch_size=16, nb_epoch=3, shuffle=False, verbose=0)
    return h.history["loss"], m.predict(frames, verbose=0)


def bidirectional_graph():
    # Keras 0.3's imdb_bidirectional_lstm example: a Graph of two LSTMs.
    g = Graph()
    g.add_input(name="input", input_shape=(maxlen,), dtype="int")
    g.add_node(Embedding(vocab, 8, input_length=maxlen), name="embedding", input="input")
    g.add_node(LSTM(6), name="forward", input="embedding")
    g.add_node(LSTM(6, go_backwards=True), name="backward", input="embedding")
    g.add_node(Dense(1, activation="sigmoid"), name="sigmoid", inputs=["forward", "backward"])
    g.add_output(name="output", input="sigmoid")
    g.compile("adam", {"output": "binary_crossentropy"})
    seeded(g, 4)
    h = g.fit({"input": ids, "output": label}, batch_size=16, nb_epoch=3, shuffle=False, verbose=0)
    return h.history["loss"], g.predict({"input": ids}, verbose=0)["output"]


results = {}
for name, build in [
    ("masked_lstm", masked_lstm),
    ("gru_tagger", gru_tagger),
    ("backward_rnn", backward_rnn),
    ("bidirectional_graph", bidirectional_graph),
]:
    if WANT and name not in WANT:
        continue
    losses, pred = build()
    results[name + "_loss"] = np.asarray(losses, dtype="float64")
    results[name + "_pred"] = np.asarray(pred, dtype="float64")
    print(
        name, [round(float(v), 6) for v in losses], np.asarray(pred).ravel()[:4].round(6).tolist()
    )
np.savez(OUT, **results)
