"""A GRU language model on Python's documentation, with sampling.

Word embeddings, a GRU (``reset_after=False``, the form of the classic
Theano GRU code), a softmax over the vocabulary; Adam with gradient-norm
clipping; reports perplexity and samples sentences.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

import seqgraph
from seqgraph.layers import GRU, Dense, Embedding
from seqgraph.models import sample_words, token_nll
from seqgraph.params import Module
from seqgraph.tutorials import _common, _lm


class GRULanguageModel(Module):
    """Embedding -> GRU -> softmax over the vocabulary."""

    def __init__(self, vocab_size, dim, hidden, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size
        self.embedding = self.add_child("embedding", Embedding(vocab_size, dim, seed=rng))
        self.gru = self.add_child("gru", GRU(dim, hidden, seed=rng))
        self.output = self.add_child("output", Dense(hidden, vocab_size, seed=rng))
        self._sampler = {}

    def log_probs(self, words, mask=None):
        h = self.gru(self.embedding(words), mask=mask)
        return pt.special.log_softmax(self.output(h), axis=-1)

    def loss(self, inputs, targets, mask=None):
        return token_nll(self.log_probs(inputs, mask), targets, mask)

    def sample(self, start, num_words, end_id=None, seed=None, backend=None):
        """Draw ``num_words`` ids after ``start`` (stops after ``end_id``)."""
        if backend not in self._sampler:
            word, h = pt.lvector("word"), pt.matrix("h", dtype=self.output.W.dtype)
            cell = self.gru.cell
            [h_new] = cell.step_projected(
                cell.project(self.embedding(word)), h, *cell.recurrent_params
            )
            probs = pt.special.softmax(self.output(h_new), axis=-1)
            self._sampler[backend] = seqgraph.function([word, h], [probs, h_new], backend=backend)
        h0 = np.zeros((1, self.gru.num_units), dtype=self.output.W.dtype)
        return sample_words(self._sampler[backend], h0, start, num_words, end_id, seed=seed)


def main(argv=None):
    p = _common.parser("gru_lm", __doc__.splitlines()[0], epochs=20, quick_epochs=10)
    p.add_argument("--hidden", type=int, help="hidden units (default 128, 48 quick)")
    options = p.parse_args(argv)
    train, valid, test, vocab = _lm.load(options)
    hidden = options.hidden or (48 if options.quick else 128)
    model = GRULanguageModel(len(vocab), hidden, hidden, seed=options.seed)
    return _lm.train_and_report("GRU LM", model, options, train, valid, test, vocab, "adam", 0.01)


if __name__ == "__main__":
    main()
