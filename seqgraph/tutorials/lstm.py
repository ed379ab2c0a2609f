"""LSTM sentence classification, the model of the lstm.py tutorial.

Word embeddings, a masked LSTM, the mean of its outputs over each sentence's
real steps, dropout and a logistic (softmax) output, trained with Adadelta
with early stopping on the validation error.

Data: by default, sentences of Python's documentation (``pydoc_data``)
against the same sentences with their words shuffled; the model must read
word order to tell them apart.  ``--data imdb.pkl`` trains on the tutorial's
IMDB pickle instead.  Reported: the error rate.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from seqgraph.layers import LSTM, Dense, Embedding, RandomSource, dropout
from seqgraph.params import Module
from seqgraph.training import (
    compile_predict,
    compile_train,
    iterate_minibatches,
    precompile_batches,
)
from seqgraph.tutorials import _common, _data


class LSTMClassifier(Module):
    """Embedding -> masked LSTM -> mean pooling -> dropout -> softmax."""

    def __init__(self, vocab_size, dim, num_classes=2, p_dropout=0.5, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embedding = self.add_child("embedding", Embedding(vocab_size, dim, seed=rng))
        self.lstm = self.add_child("lstm", LSTM(dim, dim, seed=rng))
        self.output = self.add_child("output", Dense(dim, num_classes, seed=rng))
        self.p_dropout = p_dropout
        self._noise = RandomSource(rng)

    def log_probs(self, words, mask, deterministic=False):
        h = self.lstm(self.embedding(words), mask=mask)
        pooled = (h * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1)[:, None]
        if not deterministic:
            pooled = dropout(pooled, self.p_dropout, self._noise)
        return pt.special.log_softmax(self.output(pooled), axis=-1)

    def loss(self, words, mask, y, deterministic=False):
        logp = self.log_probs(words, mask, deterministic)
        return -logp[pt.arange(y.shape[0]), y].mean()


def load(options):
    if options.data:
        train, test = _data.load_imdb(options.data)
        vocab_size = 1 + max(int(x.max()) for x, _ in train + test)
        train, valid, _ = _data.split(train, valid=0.05, test=0.0, seed=options.seed)
        return train, valid, test, vocab_size
    sentences = _data.doc_sentences(max_sentences=800 if options.quick else None, max_words=30)
    train_s, valid_s, test_s = _data.split(sentences, seed=options.seed)
    vocab = _data.Vocab(train_s, min_count=2)
    rng = np.random.default_rng(options.seed)

    def pairs(group):
        out = []
        for words in group:
            ids = vocab.encode(words)
            out.append((ids, 1))
            out.append((rng.permutation(ids), 0))
        return out

    return pairs(train_s), pairs(valid_s), pairs(test_s), len(vocab)


def compile_functions(model, backend=None, example=None):
    """The tutorial's functions: ``(train_step, error_rate)``, both of ``(words, mask, y)``.

    The step is AdaDelta (as ``lstm.py``) on the loss with dropout; the error
    rate is computed without dropout.  With an ``example`` batch ``(words,
    mask, y)``, both are compiled for its shapes, the step's XLA compile
    running in the background while the error function is built
    (:meth:`seqgraph.Function.precompile`).
    """
    words, mask, y = pt.lmatrix("words"), pt.matrix("mask"), pt.lvector("y")
    errors = pt.neq(model.log_probs(words, mask, True).argmax(axis=-1), y).mean()
    step = compile_train(
        [words, mask, y], model.loss(words, mask, y), model, "adadelta", 1.0, backend=backend
    )
    if example is not None:
        step.precompile(*example)
    error_fn = compile_predict([words, mask, y], errors, backend)
    if example is not None:
        error_fn.precompile(*example)
    return step, error_fn


def main(argv=None):
    p = _common.parser("lstm", __doc__.splitlines()[0], epochs=30, quick_epochs=12)
    p.add_argument("--data", help="the tutorial's imdb.pkl")
    options = p.parse_args(argv)
    train, valid, test, vocab_size = load(options)
    model = LSTMClassifier(vocab_size, 32 if options.quick else 128, seed=options.seed)
    with _common.Timer() as timer:
        step, error_fn = compile_functions(model, options.backend)
    print(
        f"LSTM classifier: {len(train)} training sentences, vocabulary {vocab_size}, backend "
        f"{step.function.backend}; built in {timer.seconds:.1f} s"
    )
    pad = {"length_multiple": 10}
    _common.train(step, options, train, valid, error_fn, pad, patience=10)
    result = {}
    datasets = (("train", train), ("valid", valid), ("test", test))
    precompile_batches(
        error_fn,
        (b for _, d in datasets for b in iterate_minibatches(d, 64, shuffle=False, **pad)),
    )
    for name, dataset in datasets:
        wrong = sum(
            float(error_fn(*b)) * len(b[0])
            for b in iterate_minibatches(dataset, 64, shuffle=False, **pad)
        )
        result[name] = 100.0 * wrong / len(dataset)
    print("error rate: " + "  ".join(f"{k} {v:.2f}%" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
