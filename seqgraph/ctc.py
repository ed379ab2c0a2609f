"""Connectionist temporal classification (Graves et al., 2006): the loss of unsegmented labels.

A recurrent network that reads ``T`` frames (speech, handwriting) emits at
each frame a distribution over an alphabet plus a *blank*; a labelling is the
frames' symbols with repeats merged and blanks removed.  :func:`ctc_loss` is
``-log p(labels | activations)``, summed over every alignment by the forward
(alpha) recursion over the labels with blanks between them, in log space.

It is written in PyTensor ops (a :func:`seqgraph.scan` over the frames, the
whole batch at once), so it compiles on every backend and PyTensor
differentiates it; Theano's ``theano.tensor.nnet.ctc.ctc`` needed Baidu's
warp-ctc library and is this function under :mod:`seqgraph.theano`.

Impossible alignments (a labelling longer than its frames allow) have an
infinite loss and a zero gradient, as PyTorch's ``ctc_loss`` with
``zero_infinity`` gives for the gradient.

:func:`greedy_decode` reads a labelling off computed activations (best path:
each frame's most likely symbol, repeats merged, blanks dropped),
:func:`beam_search_decode` searches for the most probable labelling (prefix
beam search, summing each labelling's paths), and :func:`edit_distance`
compares a labelling with the reference, for a label error rate; they work on
NumPy arrays, after the compiled function has run.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.special import log_softmax

from seqgraph.scan import scan

__all__ = ["beam_search_decode", "ctc_loss", "edit_distance", "greedy_decode"]

# Stands for log(0): finite, so that no inf - inf appears in the recursion or its gradient.
_LOG_ZERO = -1e30


def _logsumexp3(a, b, c):
    m = pt.maximum(pt.maximum(a, b), c)
    return m + pt.log(pt.exp(a - m) + pt.exp(b - m) + pt.exp(c - m))


def ctc_loss(activations, labels, input_lengths=None, blank=0):
    """The CTC loss of each sequence of a batch.

    Parameters
    ----------
    activations : tensor-like
        ``(time, batch, alphabet)``, unnormalised: a softmax over the last
        axis gives each frame's distribution (as warp-ctc and Theano took
        them).
    labels : tensor-like of int
        ``(batch, max_label_length)``: each row's labels in order, negative
        values as padding (anywhere in the row; it is dropped).  Labels are in
        ``[0, alphabet)`` and not ``blank``.
    input_lengths : tensor-like of int, optional
        ``(batch,)``: the frames of each sequence (the rest of ``time`` is
        padding).  Default: all of ``time``.
    blank : int
        The index of the blank symbol.

    Returns
    -------
    TensorVariable
        ``(batch,)``: ``-log p(labels | activations)``, of ``activations``'
        dtype; ``inf`` where no alignment fits.

    Raises
    ------
    TypeError
        If ``activations`` is not a 3-d float tensor, ``labels`` not a 2-d
        integer one, or ``input_lengths`` not a 1-d integer one.
    ValueError
        If ``blank`` is not a non-negative int.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> import seqgraph
    >>> x = pt.tensor3("x", dtype="float64")
    >>> loss = seqgraph.ctc.ctc_loss(x, np.array([[1]]))
    >>> f = seqgraph.function([x], loss, backend="c")
    >>> float(f(np.zeros((2, 1, 2)))[0])  # paths "11", "01", "10" of 4: -log(3/4)
    0.2876820724517809
    """
    activations = pt.as_tensor_variable(activations)
    labels = pt.as_tensor_variable(labels)
    if activations.ndim != 3 or not activations.dtype.startswith("float"):
        raise TypeError(
            f"ctc_loss: activations must be a 3-d float tensor (time, batch, alphabet); "
            f"got {activations.type}."
        )
    if labels.ndim != 2 or not labels.dtype.startswith(("int", "uint")):
        raise TypeError(
            f"ctc_loss: labels must be a 2-d integer tensor (batch, max_label_length); "
            f"got {labels.type}."
        )
    if input_lengths is None:
        input_lengths = pt.full((activations.shape[1],), activations.shape[0], dtype="int64")
    input_lengths = pt.as_tensor_variable(input_lengths)
    if input_lengths.ndim != 1 or not input_lengths.dtype.startswith(("int", "uint")):
        raise TypeError(
            f"ctc_loss: input_lengths must be a 1-d integer tensor (batch,); "
            f"got {input_lengths.type}."
        )
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or blank < 0:
        raise ValueError(f"ctc_loss: blank must be a non-negative int; got {blank!r}.")
    dtype = activations.dtype
    log_zero = np.asarray(_LOG_ZERO, dtype=dtype)
    log_probs = log_softmax(activations, axis=-1)
    batch = activations.shape[1]
    max_labels = labels.shape[1]
    label_lengths = pt.sum(pt.ge(labels, 0), axis=1)
    # Padding may sit anywhere in a row: the labels are moved to its front, in order.
    labels = pt.take_along_axis(labels, pt.argsort(pt.lt(labels, 0), axis=1, kind="stable"), 1)
    # The labels with a blank before, between and after them: (batch, 2 L + 1).
    states = 2 * max_labels + 1
    extended = pt.full((batch, states), blank, dtype="int64")
    extended = pt.set_subtensor(extended[:, 1::2], pt.maximum(labels, 0).astype("int64"))
    # A state may be reached from two back when it is a label unlike the one two back.
    previous_label = pt.set_subtensor(
        pt.full((batch, states), -1, dtype="int64")[:, 2:], extended[:, :-2]
    )
    skip = pt.and_(pt.neq(extended, blank), pt.neq(extended, previous_label))
    # Each frame's log-probability of each state's symbol: (time, batch, states).
    rows = pt.arange(batch)[:, None]
    emit = log_probs[:, rows, extended]
    # Before the first frame: all of the probability on the first state, so
    # that the first step gives the first frame's alphas (the leading blank
    # or the first label).
    start = pt.full((batch, states), log_zero, dtype=dtype)
    start = pt.set_subtensor(start[:, 0], np.asarray(0.0, dtype=dtype))

    def step(t, emit_t, alpha, skip, input_lengths):
        # alpha moved one and two states on, log(0) coming in (as increments,
        # whose gradients are slices: a join's would be a split of sizes the
        # JAX backend needs as constants).
        empty = pt.full_like(alpha, log_zero)
        one_back = pt.set_subtensor(empty[:, 1:], alpha[:, :-1])
        two_back = pt.set_subtensor(empty[:, 2:], alpha[:, :-2])
        two_back = pt.switch(skip, two_back, log_zero)
        new = _logsumexp3(alpha, one_back, two_back) + emit_t
        # Frames past a sequence's end leave its alphas as they were.
        return pt.switch(pt.lt(t, input_lengths)[:, None], new, alpha)

    [alphas], _ = scan(
        step,
        sequences=[pt.arange(activations.shape[0]), emit],
        outputs_info=[start],
        non_sequences=[skip, input_lengths],
        strict=True,
    )
    last = alphas[-1]
    # The path ends on the last label or the blank after it.
    end = 2 * label_lengths
    final_blank = last[pt.arange(batch), end]
    final_label = pt.switch(
        pt.gt(label_lengths, 0), last[pt.arange(batch), pt.maximum(end - 1, 0)], log_zero
    )
    log_likelihood = pt.logaddexp(final_blank, final_label)
    impossible = pt.lt(log_likelihood, log_zero / 2)
    loss = pt.switch(impossible, np.asarray(np.inf, dtype=dtype), -log_likelihood)
    return loss.astype(dtype)


def greedy_decode(activations, input_lengths=None, blank=0):
    """Best-path decoding: each frame's most likely symbol, repeats merged, blanks dropped.

    Parameters
    ----------
    activations : array_like
        ``(time, batch, alphabet)``, as for :func:`ctc_loss` (a softmax does
        not change the argmax, so scores before or after it both do).
    input_lengths : array_like of int, optional
        ``(batch,)``: the frames of each sequence; default all of ``time``.
    blank : int

    Returns
    -------
    list of list of int
        One labelling per sequence.

    Raises
    ------
    ValueError
        If ``activations`` is not 3-d or ``input_lengths`` does not give one
        length in ``[0, time]`` per sequence.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.eye(3)[[1, 1, 0, 1, 2, 2]][:, None, :]  # frames: 1 1 _ 1 2 2
    >>> greedy_decode(scores)
    [[1, 1, 2]]
    """
    scores = np.asarray(activations)
    if scores.ndim != 3:
        raise ValueError(
            f"greedy_decode: activations must be (time, batch, alphabet); got shape {scores.shape}."
        )
    time, batch = scores.shape[:2]
    lengths = np.full(batch, time) if input_lengths is None else np.asarray(input_lengths)
    if lengths.shape != (batch,) or np.any(lengths < 0) or np.any(lengths > time):
        raise ValueError(
            f"greedy_decode: input_lengths must give one length in [0, {time}] for each of the "
            f"{batch} sequences; got {input_lengths!r}."
        )
    best = scores.argmax(axis=-1)
    decoded = []
    for b in range(batch):
        path = best[: lengths[b], b]
        keep = np.ones(len(path), bool)
        keep[1:] = path[1:] != path[:-1]
        decoded.append([int(k) for k in path[keep] if k != blank])
    return decoded


def _log_softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def beam_search_decode(activations, input_lengths=None, beam_width=16, blank=0):
    """The most probable labelling of each sequence, by prefix beam search.

    Each labelling's probability is the sum over its alignments (best-path
    decoding takes only the likeliest alignment); the search keeps the
    ``beam_width`` likeliest prefixes after each frame, each with the
    probability of its alignments so far ending in a blank and not.  With a
    beam as wide as the number of prefixes it is exact.

    Parameters
    ----------
    activations : array_like
        ``(time, batch, alphabet)``, before the softmax (as for
        :func:`ctc_loss`).
    input_lengths : array_like of int, optional
        ``(batch,)``: the frames of each sequence; default all of ``time``.
    beam_width : int
    blank : int

    Returns
    -------
    labellings : list of list of int
    log_probs : numpy.ndarray
        ``(batch,)``: each labelling's log-probability, as the search
        summed it (a lower bound when the beam dropped some of its paths).

    Raises
    ------
    ValueError
        For a bad shape, lengths or ``beam_width``.
    """
    scores = np.asarray(activations, dtype=np.float64)
    if scores.ndim != 3:
        raise ValueError(
            f"beam_search_decode: activations must be (time, batch, alphabet); got shape "
            f"{scores.shape}."
        )
    if (
        isinstance(beam_width, bool)
        or not isinstance(beam_width, (int, np.integer))
        or beam_width < 1
    ):
        raise ValueError(
            f"beam_search_decode: beam_width must be a positive int; got {beam_width!r}."
        )
    time, batch, alphabet = scores.shape
    lengths = np.full(batch, time) if input_lengths is None else np.asarray(input_lengths)
    if lengths.shape != (batch,) or np.any(lengths < 0) or np.any(lengths > time):
        raise ValueError(
            f"beam_search_decode: input_lengths must give one length in [0, {time}] for each "
            f"of the {batch} sequences; got {input_lengths!r}."
        )
    log_probs = _log_softmax(scores)
    labellings, totals = [], np.empty(batch)
    for b in range(batch):
        # prefix -> (log p(alignments so far ending in blank), ... ending in a label)
        beams = {(): (0.0, -np.inf)}
        for t in range(lengths[b]):
            frame = log_probs[t, b]
            grown: dict = {}

            def add(prefix, blank_part, label_part, grown=grown):
                old_blank, old_label = grown.get(prefix, (-np.inf, -np.inf))
                grown[prefix] = (
                    np.logaddexp(old_blank, blank_part),
                    np.logaddexp(old_label, label_part),
                )

            for prefix, (ends_blank, ends_label) in beams.items():
                total = np.logaddexp(ends_blank, ends_label)
                add(prefix, total + frame[blank], -np.inf)
                for symbol in range(alphabet):
                    if symbol == blank:
                        continue
                    if prefix and prefix[-1] == symbol:
                        # A repeat is a new label only after a blank; else it merges.
                        add(prefix + (symbol,), -np.inf, ends_blank + frame[symbol])
                        add(prefix, -np.inf, ends_label + frame[symbol])
                    else:
                        add(prefix + (symbol,), -np.inf, total + frame[symbol])
            ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
            beams = dict(ranked[:beam_width])
        best, (ends_blank, ends_label) = max(beams.items(), key=lambda item: np.logaddexp(*item[1]))
        labellings.append([int(k) for k in best])
        totals[b] = np.logaddexp(ends_blank, ends_label)
    return labellings, totals


def edit_distance(hypothesis, reference):
    """The Levenshtein distance between two label sequences (insertions, deletions, substitutions).

    Divided by ``len(reference)`` and summed over a corpus, it is the label
    (or phone, or word) error rate.

    Examples
    --------
    >>> edit_distance([1, 2, 3], [1, 3, 3, 4])
    2
    """
    hypothesis, reference = list(hypothesis), list(reference)
    row = list(range(len(reference) + 1))
    for i, h in enumerate(hypothesis, 1):
        previous, row[0] = row[0], i
        for j, r in enumerate(reference, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (h != r))
    return row[-1]
