"""The benchmark suite: seqgraph's backends and peers on the same work, in one run.

``seqgraph bench`` (or ``python -m seqgraph.bench``) times recurrent models
(Elman, GRU, LSTM, LSTM with peepholes and a mask, bidirectional LSTM) at
three sizes, forward and training step (forward + BPTT + SGD), on seqgraph's
backends and on peers given the same weights: PyTorch (``nn.RNN/GRU/LSTM``,
cuDNN on a GPU), a plain JAX ``lax.scan`` implementation and a NumPy forward.
Every implementation's result is checked against the NumPy reference before
it is timed; runs are interleaved in one process so that ratios hold on a
noisy machine.  See :mod:`seqgraph.bench.suite` for the method.
"""

from seqgraph.bench.suite import main

__all__ = ["main"]
