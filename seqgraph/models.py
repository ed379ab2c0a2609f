"""Models of the classic tutorials, on seqgraph's layers.

* :class:`RNNSLU` - the Elman network for slot filling (Mesnil et al., 2013;
  the deeplearning.net RNNSLU tutorial): word embeddings, a context window
  of neighbouring words, a sigmoid Elman recurrence, a softmax per word.
* :class:`RNNLM` - a simple recurrent language model (Mikolov et al., 2010):
  ``s_t = tanh(U x_t + W s_{t-1})``, ``o_t = softmax(V s_t)``, trained with
  truncated backpropagation through time, with next-word sampling.
"""

from __future__ import annotations

import numbers

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.tensor.type import TensorType

from seqgraph._compat import register_rewrite, with_infer_shape
from seqgraph.cells import ElmanCell, _positive_int
from seqgraph.init import Uniform, as_rng
from seqgraph.layers import Dense, Embedding, Recurrent
from seqgraph.params import Module

__all__ = [
    "RNNLM",
    "RNNSLU",
    "ContextWindow",
    "context_window",
    "contextwin",
    "sample_words",
    "token_nll",
]


def contextwin(sentence, win, pad=-1):
    """The tutorial's context windows of a sentence, in NumPy.

    Parameters
    ----------
    sentence : sequence of int
        Word ids of one sentence.
    win : int
        Window size, odd: each word with ``win // 2`` neighbours each side.
    pad : int
        Id used beyond the sentence's ends (the tutorial's ``-1``, the last
        embedding row).

    Returns
    -------
    ndarray of int, shape (len(sentence), win)

    Examples
    --------
    >>> contextwin([0, 1, 2], 3).tolist()
    [[-1, 0, 1], [0, 1, 2], [1, 2, -1]]
    """
    _check_window(win)
    sentence = np.asarray(sentence, dtype="int64")
    if sentence.ndim != 1:
        raise ValueError(f"sentence must be a 1-d sequence of ids; got shape {sentence.shape}.")
    half = win // 2
    padded = np.concatenate([np.full(half, pad), sentence, np.full(half, pad)])
    return (
        np.stack([padded[i : i + win] for i in range(len(sentence))])
        if len(sentence)
        else (np.zeros((0, win), dtype="int64"))
    )


def _check_window(win):
    if not isinstance(win, numbers.Integral) or win < 1 or win % 2 == 0:
        raise ValueError(
            f"win (the context window) must be an odd positive integer, so that it is "
            f"centred on the word; got {win!r}."
        )


def context_window(ids, win, pad_id, mask=None):
    """Symbolic context windows: ``(batch, time)`` ids to ``(batch, time, win)``.

    Positions outside a sentence (before its start, after its end, or where
    ``mask`` is 0) read ``pad_id``.  The windows are one :class:`ContextWindow`
    node; see there for how each backend computes it.
    """
    _check_window(win)
    ids = _check_ids(ids)
    if mask is not None:
        ids = pt.switch(pt.neq(mask, 0), ids, pad_id)
    if win == 1:
        return ids[:, :, None]
    return ContextWindow(win, pad_id)(ids)


def _check_ids(ids):
    ids = pt.as_tensor_variable(ids)
    if ids.ndim != 2 or not ids.dtype.startswith(("int", "uint")):
        raise TypeError(f"ids must be a (batch, time) matrix of integer ids; got {ids.type}.")
    return ids


# The tag of the rewrite that writes ContextWindow as slices (every mode but
# seqgraph's JAX ones, which compile the op itself).
EXPAND_CONTEXT_WINDOW_TAG = "seqgraph_expand_context_window"


@with_infer_shape
class ContextWindow(Op):
    """The context windows of a ``(batch, time)`` matrix of ids, as one node.

    Output ``[b, t, k]`` is ``ids[b, t + k - win // 2]``, or ``pad_id`` beyond
    either end.  Ids are integers, so no gradient flows through the op.

    Written as PyTensor ops (a padded copy and ``win`` slices of it, stacked),
    the windows bring PyTensor's rewrites dozens of shape graphs, which its
    shape inference and constant folding work through again in every
    function: in the RNNSLU tutorial that was 0.6 s of a 3.1 s cold compile.
    As one node whose shape is known, they cost nothing there.
    ``seqgraph``'s JAX modes compile the node itself (the same slices, in
    JAX); every other mode writes it out as those PyTensor ops at
    ``specialize`` (the rewrite tagged :data:`EXPAND_CONTEXT_WINDOW_TAG`), so
    that C and Numba compile it as before.  ``perform`` is NumPy's.

    Parameters
    ----------
    win : int
        The window, odd.
    pad_id : int
        The id beyond a sentence's ends.
    """

    __props__ = ("win", "pad_id")

    def __init__(self, win, pad_id):
        _check_window(win)
        self.win = int(win)
        self.pad_id = int(pad_id)

    def make_node(self, ids):
        ids = _check_ids(ids)
        out = TensorType(ids.dtype, shape=(*ids.type.shape, self.win))()
        return Apply(self, [ids], [out])

    def perform(self, node, inputs, output_storage):
        (ids,) = inputs
        half = self.win // 2
        side = np.full((ids.shape[0], half), self.pad_id, dtype=ids.dtype)
        padded = np.concatenate([side, ids, side], axis=1)
        steps = ids.shape[1]
        output_storage[0][0] = np.stack(
            [padded[:, k : k + steps] for k in range(self.win)], axis=-1
        )

    def infer_shape(self, node, input_shapes):
        return [(*input_shapes[0], self.win)]

    def connection_pattern(self, node):
        return [[False]]

    def grad(self, inputs, output_grads):
        return [DisconnectedType()()]

    def expand(self, ids):
        """The op as PyTensor's own ops, on ``ids``."""
        half = self.win // 2
        batch, steps = ids.shape[0], ids.shape[1]
        side = pt.alloc(np.asarray(self.pad_id, dtype=ids.dtype), batch, half)
        padded = pt.concatenate([side, ids, side], axis=1)
        return pt.stack([padded[:, k : k + steps] for k in range(self.win)], axis=-1)


@node_rewriter([ContextWindow])
def local_expand_context_window(fgraph, node):
    """Write a :class:`ContextWindow` node as a padded copy and stacked slices."""
    out = node.op.expand(node.inputs[0])
    if out.type != node.outputs[0].type:
        out = pt.specify_shape(out, node.outputs[0].type.shape)
    return [out]


def _register_expansion():
    from pytensor.compile import optdb

    if "local_expand_context_window" not in optdb["specialize"]:
        register_rewrite(
            optdb["specialize"],
            "local_expand_context_window",
            local_expand_context_window,
            "fast_run",
            EXPAND_CONTEXT_WINDOW_TAG,
        )


_register_expansion()


def token_nll(log_probs, targets, mask=None, per_sequence=False):
    """Negative log-likelihood of integer ``targets`` under ``log_probs``.

    Parameters
    ----------
    log_probs : TensorVariable, (batch, time, classes)
    targets : TensorVariable of int, (batch, time)
    mask : TensorVariable, (batch, time), optional
    per_sequence : bool
        False: the mean over all real tokens.  True: each sequence's mean
        over its tokens, then the mean over sequences (the RNNSLU
        tutorial's sentence-level NLL).

    Raises
    ------
    ValueError, TypeError
        For arguments of the wrong rank, or targets that are not integers.
    """
    log_probs, targets = pt.as_tensor_variable(log_probs), pt.as_tensor_variable(targets)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must be (batch, time, classes); got ndim={log_probs.ndim}.")
    if targets.ndim != 2:
        raise ValueError(f"targets must be (batch, time); got ndim={targets.ndim}.")
    if not targets.dtype.startswith(("int", "uint")):
        raise TypeError(f"targets must hold integer class ids; got dtype {targets.dtype}.")
    if mask is not None and pt.as_tensor_variable(mask).ndim != 2:
        raise ValueError(
            f"mask must be (batch, time); got ndim={pt.as_tensor_variable(mask).ndim}."
        )
    batch, steps, classes = log_probs.shape
    flat = log_probs.reshape((batch * steps, classes))
    picked = flat[pt.arange(batch * steps), targets.flatten()].reshape((batch, steps))
    if mask is None:
        mask = pt.ones_like(picked)
    mask = pt.cast(mask, picked.dtype)
    if per_sequence:
        per_seq = -(picked * mask).sum(axis=1) / pt.maximum(mask.sum(axis=1), 1)
        return per_seq.mean()
    return -(picked * mask).sum() / pt.maximum(mask.sum(), 1)


def sample_words(step, h0, start, num_words, end_id=None, temperature=1.0, seed=None):
    """Draw words one at a time from a compiled language-model step.

    Parameters
    ----------
    step : callable
        ``step(word_ids (1,), h (1, n)) -> (probs (1, vocab), h_new)``.
    h0 : ndarray, (1, n)
        The initial state.
    start : sequence of int
        Word ids to condition on (at least one).
    num_words : int
        Number of words to draw.
    end_id : int, optional
        Stop after drawing this id.
    temperature : float
        Divides the log-probabilities: < 1 sharpens, > 1 flattens.
    seed : int or None

    Returns
    -------
    list of int
        The drawn ids (``start`` not included).
    """
    start = [int(w) for w in start]
    if not start:
        raise ValueError("start must hold at least one word id.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}.")
    rng = as_rng(seed)
    h = h0
    for w in start:
        probs, h = step(np.array([w], dtype="int64"), h)
    drawn = []
    for _ in range(int(num_words)):
        logits = np.log(np.maximum(probs[0].astype("float64"), 1e-30)) / temperature
        p = np.exp(logits - logits.max())
        w = int(rng.choice(len(p), p=p / p.sum()))
        drawn.append(w)
        if end_id is not None and w == end_id:
            break
        probs, h = step(np.array([w], dtype="int64"), h)
    return drawn


class RNNSLU(Module):
    """The RNNSLU tutorial's Elman network for slot filling.

    For each word, the embeddings of the ``win`` words around it (a context
    window, padded at the sentence ends) are concatenated and fed to a
    sigmoid Elman recurrence with a learned initial state; a softmax over
    the slot labels follows at every word.

    Parameters
    ----------
    vocab_size : int
        Number of words (``ne``).  Row ``vocab_size`` of the embedding is the
        padding word (the tutorial's ``-1``).
    num_classes : int
        Number of slot labels (``nc``).
    emb_dim : int
        Embedding size (``de``, 50 in the tutorial).
    num_hidden : int
        Hidden size (``nh``, 200 in the tutorial).
    win : int
        Context window, odd (``cs``, 7 in the tutorial).
    init : Initializer
        Initialiser of every weight, default ``Uniform(0.2)`` as the tutorial.
    seed : int or None

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt, seqgraph
    >>> model = RNNSLU(vocab_size=20, num_classes=5, emb_dim=4, num_hidden=6, win=3, seed=0)
    >>> words = pt.lvector("words")                # one sentence, as in the tutorial
    >>> f = seqgraph.function([words], model.predict(words), backend="c")
    >>> f(np.array([3, 1, 4, 1], dtype="int64")).shape
    (4,)
    """

    def __init__(
        self, vocab_size, num_classes, emb_dim=50, num_hidden=200, win=7, init=None, seed=None
    ):
        super().__init__()
        _check_window(win)
        init = Uniform(0.2) if init is None else init
        rng = as_rng(seed)
        self.vocab_size = _positive_int(vocab_size, "vocab_size")
        self.num_classes = _positive_int(num_classes, "num_classes")
        emb_dim = _positive_int(emb_dim, "emb_dim")
        num_hidden = _positive_int(num_hidden, "num_hidden")
        self.win = int(win)
        self.pad_id = self.vocab_size
        self.embedding = self.add_child(
            "embedding", Embedding(self.vocab_size + 1, emb_dim, init=init, seed=rng)
        )
        cell = ElmanCell(
            win * emb_dim, num_hidden, "sigmoid", W_in_init=init, W_hid_init=init, seed=rng
        )
        self.recurrent = self.add_child(
            "recurrent", Recurrent(cell, learn_init=True, hid_init=0.0, seed=rng)
        )
        self.output = self.add_child(
            "output", Dense(num_hidden, num_classes, W_init=init, seed=rng)
        )

    def _batch(self, words, mask):
        words = pt.as_tensor_variable(words)
        if not words.dtype.startswith(("int", "uint")):
            raise TypeError(f"words must hold integer word ids; got dtype {words.dtype}.")
        if words.ndim not in (1, 2):
            raise ValueError(
                f"words must be one sentence (time,) or a batch (batch, time); got ndim={words.ndim}."
            )
        single = words.ndim == 1
        if single:
            words = words[None, :]
            mask = None if mask is None else pt.as_tensor_variable(mask)[None, :]
        return words, mask, single

    def log_probs(self, words, mask=None):
        """Log-probabilities of each label at each word: ``(batch, time, num_classes)``.

        ``words`` is ``(batch, time)`` (or one sentence ``(time,)``, giving
        ``(time, num_classes)``); ``mask`` marks real words.
        """
        words, mask, single = self._batch(words, mask)
        windows = context_window(words, self.win, self.pad_id, mask)
        emb = self.embedding(windows)  # (batch, time, win, dim)
        x = emb.reshape((emb.shape[0], emb.shape[1], -1))
        h = self.recurrent(x, mask=mask)
        out = pt.special.log_softmax(self.output(h), axis=-1)
        return out[0] if single else out

    def predict(self, words, mask=None):
        """The most likely label of each word."""
        return pt.argmax(self.log_probs(words, mask), axis=-1)

    def nll(self, words, labels, mask=None):
        """The tutorial's sentence-level negative log-likelihood.

        The mean over a sentence's words of ``-log p(label)``, averaged over
        the sentences of the batch.
        """
        words_b, mask_b, single = self._batch(words, mask)
        labels = pt.as_tensor_variable(labels)
        if labels.ndim != words_b.ndim - (0 if not single else 1):
            raise ValueError(f"labels must have the shape of words; got ndim={labels.ndim}.")
        if single:
            labels = labels[None, :]
        log_probs = self.log_probs(words_b, mask_b)
        return token_nll(log_probs, labels, mask_b, per_sequence=True)

    def constrain(self, updates):
        """Rescale the embeddings to unit norm after each update (as the tutorial does).

        Takes and returns a list of ``(shared, new_value)`` pairs.
        """
        W = self.embedding.W
        out = []
        for var, new in updates:
            if var is W:
                norms = pt.sqrt((new**2).sum(axis=1, keepdims=True))
                new = new / pt.maximum(norms, np.asarray(1e-12, dtype=new.dtype))
            out.append((var, new))
        return out


class RNNLM(Module):
    r"""A simple recurrent language model.

    .. math::

        s_t &= \tanh(U x_t + W s_{t-1} + b) \\
        o_t &= \mathrm{softmax}(V s_t + c)

    with :math:`x_t` the one-hot vector of word :math:`t`; ``U`` is stored
    transposed, ``(vocab_size, num_hidden)``, and applied as a row lookup.

    Parameters
    ----------
    vocab_size : int
    num_hidden : int
    bptt_truncate : int
        Backpropagate through at most this many steps (-1: all).
    seed : int or None

    Notes
    -----
    Weights start uniform in :math:`\pm 1/\sqrt{n}`, ``n`` the size of the
    layer they read from.
    """

    def __init__(self, vocab_size, num_hidden=100, bptt_truncate=-1, seed=None):
        super().__init__()
        rng = as_rng(seed)
        self.vocab_size = vocab_size = _positive_int(vocab_size, "vocab_size")
        self.num_hidden = num_hidden = _positive_int(num_hidden, "num_hidden")
        cell = ElmanCell(
            vocab_size,
            num_hidden,
            "tanh",
            W_in_init=Uniform(1 / np.sqrt(vocab_size)),
            W_hid_init=Uniform(1 / np.sqrt(num_hidden)),
            seed=rng,
        )
        self.recurrent = self.add_child(
            "recurrent", Recurrent(cell, truncate_gradient=bptt_truncate, seed=rng)
        )
        self.output = self.add_child(
            "output",
            Dense(num_hidden, vocab_size, W_init=Uniform(1 / np.sqrt(num_hidden)), seed=rng),
        )
        self._samplers = {}

    @property
    def U(self):
        return self.recurrent.cell.W_in

    @property
    def W(self):
        return self.recurrent.cell.W_hid

    @property
    def V(self):
        return self.output.W

    def log_probs(self, words, mask=None, initial_state=None):
        """Log-probabilities of the next word after each word: ``(batch, time, vocab)``."""
        words = pt.as_tensor_variable(words)
        if words.ndim != 2 or not words.dtype.startswith(("int", "uint")):
            raise ValueError(f"words must be integer ids of shape (batch, time); got {words.type}.")
        init = None if initial_state is None else [initial_state]
        h = self.recurrent(words, mask=mask, initial_states=init)
        return pt.special.log_softmax(self.output(h), axis=-1)

    def loss(self, inputs, targets, mask=None):
        """Mean negative log-likelihood per real token; ``exp`` of it is the perplexity."""
        return token_nll(self.log_probs(inputs, mask), targets, mask)

    def _sampler(self, backend):
        import seqgraph

        if backend not in self._samplers:
            word = pt.lvector("word")
            h = pt.matrix("h", dtype=self.U.dtype)
            cell = self.recurrent.cell
            [h_new] = cell.step_projected(cell.project(word), h, cell.W_hid)
            probs = pt.special.softmax(self.output(h_new), axis=-1)
            self._samplers[backend] = seqgraph.function([word, h], [probs, h_new], backend=backend)
        return self._samplers[backend]

    def sample(self, start, num_words, end_id=None, temperature=1.0, seed=None, backend=None):
        """Sample a continuation of ``start`` one word at a time; see :func:`sample_words`."""
        step = self._sampler(backend)
        h0 = np.asarray(self.recurrent.initial_params[0].get_value())[None, :]
        return sample_words(step, h0, start, num_words, end_id, temperature, seed)
