"""RNNSLU: an Elman network for slot filling, trained with SGD and embedding normalisation.

The model of the deeplearning.net RNNSLU tutorial (Mesnil et al., 2013):
word embeddings of a context window, a sigmoid Elman recurrence, a softmax
over slot labels at every word, the sentence-level NLL, SGD with the
embeddings renormalised after each update and the learning rate halved when
the validation error (words labelled wrongly) stops improving; scored with
conlleval's chunk F1.

Data: by default a slot-filling task built from the standard library's own
source (see :func:`seqgraph.tutorials._data.code_tagging`); ``--data
atis.foldN.pkl.gz`` trains on the tutorial's ATIS fold instead.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from seqgraph.models import RNNSLU
from seqgraph.training import (
    compile_predict,
    compile_train,
    iterate_minibatches,
    precompile_batches,
)
from seqgraph.tutorials import _common, _data


def load(options):
    if options.data:
        train, valid, test, words2idx, labels2idx = _data.load_atis(options.data)
        names = {i: label for label, i in labels2idx.items()}
        return train, valid, test, len(words2idx), names
    n = 1500 if options.quick else None
    corpus = _data.code_tagging(max_sentences=n)
    train, valid, test = _data.split(corpus, seed=options.seed)
    vocab = _data.Vocab([w for w, _ in train], min_count=2)
    labels = sorted({label for _, ls in corpus for label in ls})
    index = {label: i for i, label in enumerate(labels)}

    def encode(dataset):
        return [(vocab.encode(w), [index[label] for label in ls]) for w, ls in dataset]

    return encode(train), encode(valid), encode(test), len(vocab), dict(enumerate(labels))


def compile_functions(model, lr, backend=None, example=None):
    """The tutorial's functions: ``(train_step, valid_error, predict)``.

    ``train_step(words, mask, labels)`` is SGD on the sentence NLL followed by
    the embedding normalisation; inputs are ``(batch, time)`` arrays.
    ``predict(words, mask)`` gives each word's label.  ``valid_error(words,
    mask, labels)`` is the fraction of real words ``predict`` labels wrongly:
    as the original, which chose its model by the validation F1 of its
    ``classify`` function, validation compiles nothing of its own.  With an
    ``example`` batch ``(words, mask, labels)``, both compiled functions are
    compiled for its shapes, the step's XLA compile running in the
    background while the prediction is built (:meth:`seqgraph.Function.precompile`).
    """
    words, mask, labels = pt.lmatrix("words"), pt.matrix("mask"), pt.lmatrix("labels")
    nll = model.nll(words, labels, mask)
    step = compile_train(
        [words, mask, labels], nll, model, "sgd", lr, constrain=model.constrain, backend=backend
    )
    if example is not None:
        step.precompile(*example)
    predict = compile_predict([words, mask], model.predict(words, mask), backend)
    if example is not None:
        predict.precompile(*example[:2])

    def valid_error(words, mask, labels):
        mask = np.asarray(mask)
        wrong = (np.asarray(predict(words, mask)) != np.asarray(labels)) * mask
        return float(wrong.sum() / max(float(mask.sum()), 1.0))

    # (fit compiles validation batches of new shapes ahead with it)
    valid_error.precompile = lambda words, mask, labels: predict.precompile(words, mask)

    return step, valid_error, predict


def main(argv=None):
    p = _common.parser("rnnslu", __doc__.splitlines()[0], epochs=20, quick_epochs=15)
    p.add_argument("--data", help="an ATIS fold of the tutorial (atis.foldN.pkl.gz)")
    p.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (per minibatch)")
    options = p.parse_args(argv)
    train, valid, test, vocab_size, label_names = load(options)
    quick = options.quick
    model = RNNSLU(
        vocab_size,
        len(label_names),
        emb_dim=32 if quick else 50,
        num_hidden=64 if quick else 200,
        win=7,
        seed=options.seed,
    )
    with _common.Timer() as timer:
        step, valid_fn, predict = compile_functions(model, options.lr, options.backend)
    print(
        f"RNNSLU: {len(train)} training sentences, vocabulary {vocab_size}, "
        f"{len(label_names)} labels, backend {step.function.backend}; built in {timer.seconds:.1f} s"
    )
    pad = {"length_multiple": 8}
    _common.train(step, options, train, valid, valid_fn, pad, lr_patience=2, patience=6)
    scores = {}
    precompile_batches(
        predict,
        (b[:2] for d in (valid, test) for b in iterate_minibatches(d, 64, shuffle=False, **pad)),
    )
    for name, dataset in (("valid", valid), ("test", test)):
        predicted = _common.predict_all(predict, dataset, 64, **pad)
        truth = [[label_names[int(i)] for i in ls] for _, ls in dataset]
        guess = [[label_names[int(i)] for i in row] for row in predicted]
        scores[name] = _data.conlleval(truth, guess)
    for name, s in scores.items():
        print(f"{name}: F1 {s['f1']:.2f}  precision {s['precision']:.2f}  recall {s['recall']:.2f}")
    return scores


if __name__ == "__main__":
    main()
