"""What the two language-model tutorials share: data, training, perplexity, samples."""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt

from seqgraph.training import (
    compile_predict,
    compile_train,
    iterate_minibatches,
    precompile_batches,
)
from seqgraph.tutorials import _common, _data


def load(options):
    """(train, valid, test, vocab): sentences as (inputs, targets) with <eos> around."""
    sentences = _data.doc_sentences(max_sentences=600 if options.quick else None, max_words=30)
    train_s, valid_s, test_s = _data.split(sentences, seed=options.seed)
    vocab = _data.Vocab(train_s, min_count=2, specials=(_data.UNK, _data.EOS))
    eos = vocab.index[_data.EOS]

    def pairs(group):
        out = []
        for words in group:
            ids = vocab.encode(words)
            out.append((np.r_[eos, ids], np.r_[ids, eos]))
        return out

    return pairs(train_s), pairs(valid_s), pairs(test_s), vocab


def train_and_report(name, model, options, train, valid, test, vocab, optimizer, lr):
    """Fit ``model`` (with ``loss(inputs, targets, mask)``), print perplexities and samples."""
    inputs, mask, targets = pt.lmatrix("inputs"), pt.matrix("mask"), pt.lmatrix("targets")
    loss = model.loss(inputs, targets, mask)
    with _common.Timer() as timer:
        step = compile_train(
            [inputs, mask, targets],
            loss,
            model,
            optimizer,
            lr,
            clip_norm=5.0,
            backend=options.backend,
        )
        valid_fn = compile_predict([inputs, mask, targets], loss, options.backend)
        # Summed over each batch's real tokens, for the perplexity of a whole set.
        total_fn = compile_predict(
            [inputs, mask, targets], [loss * mask.sum(), mask.sum()], options.backend
        )
    print(
        f"{name}: {len(train)} training sentences, vocabulary {len(vocab)}, backend "
        f"{step.function.backend}; built in {timer.seconds:.1f} s"
    )
    pad = {"length_multiple": 8}
    _common.train(step, options, train, valid, valid_fn, pad, lr_patience=1, patience=4)
    result = {}
    datasets = (("train", train), ("valid", valid), ("test", test))
    precompile_batches(
        total_fn,
        (b for _, d in datasets for b in iterate_minibatches(d, 64, shuffle=False, **pad)),
    )
    for part, dataset in datasets:
        nll = tokens = 0.0
        for batch in iterate_minibatches(dataset, 64, shuffle=False, **pad):
            t, n = total_fn(*batch)
            nll, tokens = nll + float(t), tokens + float(n)
        result[part] = math.exp(nll / tokens)
    print("perplexity: " + "  ".join(f"{k} {v:.1f}" for k, v in result.items()))
    eos = vocab.index[_data.EOS]
    for k in range(3):
        ids = model.sample([eos], 25, end_id=eos, seed=options.seed + k, backend=options.backend)
        print("sample:", " ".join(vocab.decode([i for i in ids if i != eos])))
    return result
