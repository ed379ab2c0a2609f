"""The classic tutorials' training steps written in Theano, to time original Theano.

This file is a standalone Theano script: it imports nothing from seqgraph,
runs on Theano 1.0.5 (Python 3.7, see ``benchmarks/theano-env.sh``) and, as
any Theano script, under ``seqgraph run``.  ``seqgraph bench --tutorials
--theano-python PATH`` runs it with that interpreter, so that the ported
tutorials are compared with Theano in the same run, on the machine as it is
that day, instead of only with the figures measured once (issue 7).

The models are the tutorials' own, at the sizes of
:mod:`seqgraph.bench.tutorials`:

* ``rnnslu``: the RNNSLU tutorial's Elman net (``rnnslu.py``: embeddings of a
  context window, sigmoid recurrence, softmax per word, the sentence NLL,
  SGD), one step being ``sentence_train`` then ``normalize`` on a sentence of
  16 words.
* ``lstm``: ``lstm.py``'s model (embedding, masked LSTM, mean pooling,
  dropout, softmax) and AdaDelta, one step being ``f_grad_shared`` then
  ``f_update`` on a minibatch of 16 sentences of 100 words (time-major, as
  the tutorial).

Usage: ``python theano_tutorials.py NAME REPEATS [small]`` prints one JSON
object: ``{"tutorial", "step_ms", "compile_s", "theano"}``; ``compile_s``
covers building the graphs and compiling every function of the tutorial
(with whatever compile cache ``THEANO_FLAGS`` points at).  ``small`` builds
the same models at small sizes (for the tests).
"""

import json
import sys
import time
from collections import OrderedDict

import numpy

# Set by _import_theano(): importing this module (the test collector does) needs no Theano.
theano = T = floatX = None


def _import_theano():
    global theano, T, floatX
    import theano as theano_module
    import theano.tensor as tensor_module

    theano, T, floatX = theano_module, tensor_module, theano_module.config.floatX


def _shared(rng, shape, scale, name):
    return theano.shared(rng.uniform(-scale, scale, shape).astype(floatX), name=name)


def build_rnnslu(rng, vocab=572, labels=127, dim=50, hidden=200, win=7, lr=0.0970):
    """One step of the RNNSLU tutorial: sentence_train, then normalize."""
    emb = _shared(rng, (vocab + 1, dim), 0.2, "emb")
    wx = _shared(rng, (dim * win, hidden), 0.2, "wx")
    wh = _shared(rng, (hidden, hidden), 0.2, "wh")
    w = _shared(rng, (hidden, labels), 0.2, "w")
    bh = theano.shared(numpy.zeros(hidden, dtype=floatX), name="bh")
    b = theano.shared(numpy.zeros(labels, dtype=floatX), name="b")
    h0 = theano.shared(numpy.zeros(hidden, dtype=floatX), name="h0")
    params = [emb, wx, wh, w, bh, b, h0]
    idxs = T.imatrix("idxs")  # one context window of word indices per word
    x = emb[idxs].reshape((idxs.shape[0], dim * win))
    y_sentence = T.ivector("y_sentence")

    def recurrence(x_t, h_tm1):
        h_t = T.nnet.sigmoid(T.dot(x_t, wx) + T.dot(h_tm1, wh) + bh)
        s_t = T.nnet.softmax(T.dot(h_t, w) + b)
        return [h_t, s_t]

    [h, s], _ = theano.scan(fn=recurrence, sequences=x, outputs_info=[h0, None], n_steps=x.shape[0])
    p_y = s[:, 0, :]
    learning_rate = T.scalar("lr")
    nll = -T.mean(T.log(p_y)[T.arange(x.shape[0]), y_sentence])
    grads = T.grad(nll, params)
    updates = OrderedDict((p, p - learning_rate * g) for p, g in zip(params, grads))
    sentence_train = theano.function([idxs, y_sentence, learning_rate], nll, updates=updates)
    normalize = theano.function(
        [], updates={emb: emb / T.sqrt((emb**2).sum(axis=1)).dimshuffle(0, "x")}
    )
    classify = theano.function([idxs], T.argmax(p_y, axis=1))
    length = 16
    words = rng.randint(0, vocab, size=length)
    padded = numpy.concatenate([[vocab] * (win // 2), words, [vocab] * (win // 2)])
    windows = numpy.stack([padded[k : k + length] for k in range(win)], axis=1).astype("int32")
    targets = rng.randint(0, labels, size=length).astype("int32")
    lr_value = numpy.asarray(lr, dtype=floatX)
    classify(windows)

    def step():
        sentence_train(windows, targets, lr_value)
        normalize()

    return step


def _ortho(rng, n):
    u, _, _ = numpy.linalg.svd(rng.randn(n, n))
    return u.astype(floatX)


def build_lstm(rng, vocab=10000, dim=128, batch=16, length=100, ydim=2):
    """One step of lstm.py: f_grad_shared, then f_update (AdaDelta)."""
    from theano.sandbox.rng_mrg import MRG_RandomStreams

    params = OrderedDict()
    params["Wemb"] = (0.01 * rng.rand(vocab, dim)).astype(floatX)
    params["lstm_W"] = numpy.concatenate([_ortho(rng, dim) for _ in range(4)], axis=1)
    params["lstm_U"] = numpy.concatenate([_ortho(rng, dim) for _ in range(4)], axis=1)
    params["lstm_b"] = numpy.zeros(4 * dim, dtype=floatX)
    params["U"] = (0.01 * rng.randn(dim, ydim)).astype(floatX)
    params["b"] = numpy.zeros(ydim, dtype=floatX)
    tparams = OrderedDict((k, theano.shared(v, name=k)) for k, v in params.items())

    trng = MRG_RandomStreams(123)
    use_noise = theano.shared(numpy.asarray(1.0, dtype=floatX))
    x = T.matrix("x", dtype="int64")
    mask = T.matrix("mask", dtype=floatX)
    y = T.vector("y", dtype="int64")
    n_timesteps, n_samples = x.shape[0], x.shape[1]
    emb = tparams["Wemb"][x.flatten()].reshape([n_timesteps, n_samples, dim])

    def _slice(_x, n):
        return _x[:, n * dim : (n + 1) * dim]

    def _step(m_, x_, h_, c_):
        preact = T.dot(h_, tparams["lstm_U"]) + x_
        i = T.nnet.sigmoid(_slice(preact, 0))
        f = T.nnet.sigmoid(_slice(preact, 1))
        o = T.nnet.sigmoid(_slice(preact, 2))
        c = T.tanh(_slice(preact, 3))
        c = f * c_ + i * c
        c = m_[:, None] * c + (1.0 - m_)[:, None] * c_
        h = o * T.tanh(c)
        h = m_[:, None] * h + (1.0 - m_)[:, None] * h_
        return h, c

    state_below = T.dot(emb, tparams["lstm_W"]) + tparams["lstm_b"]
    zeros = T.alloc(numpy.asarray(0.0, dtype=floatX), n_samples, dim)
    rval, _ = theano.scan(
        _step, sequences=[mask, state_below], outputs_info=[zeros, zeros], n_steps=n_timesteps
    )
    proj = (rval[0] * mask[:, :, None]).sum(axis=0) / mask.sum(axis=0)[:, None]
    drop = trng.binomial(proj.shape, p=0.5, n=1, dtype=proj.dtype)
    proj = T.switch(use_noise, proj * drop, proj * 0.5)
    pred = T.nnet.softmax(T.dot(proj, tparams["U"]) + tparams["b"])
    f_pred = theano.function([x, mask], pred.argmax(axis=1))
    cost = -T.log(pred[T.arange(n_samples), y] + 1e-8).mean()
    grads = T.grad(cost, wrt=list(tparams.values()))

    # AdaDelta as lstm.py writes it: one function for the gradients, one for the update.
    def zeros_like(p, suffix):
        return theano.shared(p.get_value() * numpy.asarray(0.0, dtype=floatX), name=p.name + suffix)

    zipped_grads = [zeros_like(p, "_grad") for p in tparams.values()]
    running_up2 = [zeros_like(p, "_rup2") for p in tparams.values()]
    running_grads2 = [zeros_like(p, "_rgrad2") for p in tparams.values()]
    zgup = [(zg, g) for zg, g in zip(zipped_grads, grads)]
    rg2up = [(rg2, 0.95 * rg2 + 0.05 * (g**2)) for rg2, g in zip(running_grads2, grads)]
    f_grad_shared = theano.function([x, mask, y], cost, updates=zgup + rg2up)
    updir = [
        -T.sqrt(ru2 + 1e-6) / T.sqrt(rg2 + 1e-6) * zg
        for zg, ru2, rg2 in zip(zipped_grads, running_up2, running_grads2)
    ]
    ru2up = [(ru2, 0.95 * ru2 + 0.05 * (ud**2)) for ru2, ud in zip(running_up2, updir)]
    param_up = [(p, p + ud) for p, ud in zip(tparams.values(), updir)]
    lr = T.scalar("lr")
    f_update = theano.function([lr], [], updates=ru2up + param_up, on_unused_input="ignore")

    words = rng.randint(0, vocab, size=(length, batch)).astype("int64")
    ones = numpy.ones((length, batch), dtype=floatX)
    labels = rng.randint(0, ydim, size=batch).astype("int64")
    lr_value = numpy.asarray(0.0001, dtype=floatX)
    f_pred(words, ones)

    def step():
        f_grad_shared(words, ones, labels)
        f_update(lr_value)

    return step


SMALL = {
    "rnnslu": {"vocab": 30, "labels": 5, "dim": 8, "hidden": 12, "win": 3},
    "lstm": {"vocab": 50, "dim": 8, "batch": 3, "length": 6},
}


def main(argv):
    name, repeats = argv[0], int(argv[1])
    sizes = SMALL[name] if argv[2:] == ["small"] else {}
    _import_theano()
    rng = numpy.random.RandomState(0)
    start = time.perf_counter()
    step = {"rnnslu": build_rnnslu, "lstm": build_lstm}[name](rng, **sizes)
    step()
    compile_s = time.perf_counter() - start
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "tutorial": name,
                "step_ms": 1e3 * float(numpy.median(times)),
                "compile_s": compile_s,
                "theano": theano.__version__,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
