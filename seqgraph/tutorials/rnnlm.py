"""A simple recurrent language model on Python's documentation, with sampling.

``s_t = tanh(U x_t + W s_{t-1})``, ``o_t = softmax(V s_t)``
(:class:`seqgraph.models.RNNLM`), trained with SGD and truncated
backpropagation through time (``--bptt``), the learning rate halved on a
plateau; reports perplexity and samples sentences.
"""

from __future__ import annotations

from seqgraph.models import RNNLM
from seqgraph.tutorials import _common, _lm


def main(argv=None):
    p = _common.parser("rnnlm", __doc__.splitlines()[0], epochs=20, quick_epochs=10)
    p.add_argument("--bptt", type=int, default=8, help="truncate BPTT to this many steps")
    p.add_argument("--hidden", type=int, help="hidden units (default 100, 48 quick)")
    options = p.parse_args(argv)
    train, valid, test, vocab = _lm.load(options)
    hidden = options.hidden or (48 if options.quick else 100)
    model = RNNLM(len(vocab), hidden, bptt_truncate=options.bptt, seed=options.seed)
    return _lm.train_and_report("RNN LM", model, options, train, valid, test, vocab, "sgd", 1.0)


if __name__ == "__main__":
    main()
