"""The classic Theano tutorials, written afresh on seqgraph's layers and training API.

Run one with ``seqgraph tutorial NAME [--quick]`` or ``python -m
seqgraph.tutorials.NAME``:

========  ======================================================================
rnnslu    Elman slot filling (RNNSLU): a tagging task from the stdlib's source, or
          an ATIS fold pickle with ``--data``; conlleval F1
lstm      LSTM sentence classification (lstm.py): embedding, masked LSTM, mean
          pooling, logistic output; real vs. word-shuffled documentation
          sentences, or ``imdb.pkl`` with ``--data``; error rate
rnnlm     simple RNN language model on Python's documentation; perplexity,
          sampling
gru_lm    GRU language model on the same text; perplexity, sampling
========  ======================================================================

All data comes with Python (``pydoc_data.topics``, the standard library's
source); nothing is downloaded.  ``--quick`` trains a small model on a subset
in about a minute on 2 CPU cores.
"""

TUTORIALS = ("rnnslu", "lstm", "rnnlm", "gru_lm")

__all__ = ["TUTORIALS"]
