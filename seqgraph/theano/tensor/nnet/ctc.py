"""``theano.tensor.nnet.ctc``: the CTC loss, :func:`seqgraph.ctc.ctc_loss` under Theano's name.

Theano's ``ctc`` called Baidu's warp-ctc library (a C library to build and
point ``config.ctc.root`` at); here it is written in PyTensor ops, so it needs
nothing more and runs on every backend, with PyTensor's gradient.  The
arguments are Theano's: unnormalised activations ``(time, batch, alphabet)``,
labels padded with negative values, the blank at index 0.
"""

from __future__ import annotations

from seqgraph.ctc import ctc_loss
from seqgraph.theano._removed import missing

__all__ = ["ctc", "ctc_available"]


def ctc(activations, labels, input_lengths):
    """The CTC loss of each example of the minibatch (``(batch,)``).

    Parameters
    ----------
    activations : tensor-like
        ``(time, batch, alphabet)``, before the softmax.
    labels : tensor-like of int
        ``(batch, max_label_length)``; negative values are padding.  The blank
        is index 0.
    input_lengths : tensor-like of int
        ``(batch,)``: the frames of each sequence.

    Returns
    -------
    TensorVariable
    """
    return ctc_loss(activations, labels, input_lengths, blank=0)


def ctc_available():
    """Always True: no external library is needed."""
    return True


ctc_available.msg = None
ctc_available.path = None


def __getattr__(name):
    raise missing("theano.tensor.nnet.ctc", name)
