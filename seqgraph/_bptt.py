"""Elman, LSTM and GRU sequences whose gradient is written out: stored gates, no recomputation.

``pytensor.grad`` of a scan builds a backward scan that recomputes each step
of the forward one from its saved states: for an LSTM that is one more
``h_{t-1} @ W_hid`` product per step (a quarter of the loop's matrix work),
two for the original GRU, and the recurrent weight's gradient is accumulated
step by step. PyTorch and cuDNN instead keep the gate activations of the
forward pass and compute the weight gradients as one product after the loop.

:func:`recurrent_sequence` does the same in PyTensor terms. The forward pass
is an ordinary scan that also emits what the backward pass needs (the gate
activations); the gradient is another scan, written by hand, that reads them.
Both sit in an inlined :class:`~pytensor.compile.builders.OpFromGraph`, so
that ``pytensor.grad`` takes the written-out gradient and every backend (C,
Numba, JAX) compiles two plain scans. The stored activations take the place
of the input projection, which the backward pass no longer reads, so the
memory of training stays about the same (the medium LSTM over 1000 steps:
0.96x PyTorch's peak, 1.08x with the recomputing gradient).

The bias is added inside the loop rather than to the whole projection first,
which would be one more pass over a ``(time, batch, k * units)`` array.

An Elman cell has no gates to store: its backward pass reads the state
sequence itself (the derivative of ``tanh``, ``sigmoid`` and ``relu`` is a
function of their output), so its forward scan is the plain one.
"""

from __future__ import annotations

import functools

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph
from pytensor.gradient import DisconnectedType, disconnected_type

from seqgraph._jax import BACKWARD_SCAN_SUFFIX, _switch
from seqgraph.cells import ElmanCell, GRUCell, gate_blocks, get_nonlinearity
from seqgraph.scan import scan

__all__ = ["ELMAN_NONLINEARITIES", "fused_bptt_enabled", "recurrent_sequence"]


def fused_bptt_enabled() -> bool:
    """Whether layers use the written-out gradient (``$SEQGRAPH_FUSED_BPTT``, default 1).

    Raises
    ------
    ValueError
        If ``$SEQGRAPH_FUSED_BPTT`` is set to anything but ``0`` or ``1``.
    """
    return _switch("SEQGRAPH_FUSED_BPTT", True)


def _clip(grad, clip):
    """Gradient clipping (Graves, 2013) in the backward pass; the forward pass has none."""
    return pt.clip(grad, -clip, clip) if clip else grad


def _sigmoid_grad(y):
    return y * (1.0 - y)


def _tanh_grad(y):
    return 1.0 - y * y


def _lstm_activations(a, n):
    """An LSTM's four gate activations of pre-activations ``a``, ``(batch, 4 * n)``.

    ``sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5``, so with ``s`` 0.5 on the i, f
    and o blocks (sigmoid) and 1 on the g block (tanh), ``s * tanh(s * a) + (1
    - s)`` is all four: one elementwise operation on the whole block instead of
    four on its slices followed by a join. XLA's CPU backend makes one loop of
    it where it made five operations (a loop per block and a copy joining
    them), each with its own cost in every step of the loop.
    """
    s = pt.constant(np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype=a.dtype), n))
    return s * pt.tanh(s * a) + (1.0 - s)


def _previous(initial, seq):
    """``seq`` shifted one step later, ``initial`` first: the state each step started from."""
    return pt.concatenate([initial[None], seq[:-1]], axis=0)


def _flat(seq, width):
    """``(time, batch, width)`` as ``(time * batch, width)``."""
    return seq.reshape((seq.shape[0] * seq.shape[1], width))


def _weight_grad(inputs, grads, n, width):
    """``sum_t inputs_t.T @ grads_t`` as one product."""
    return pt.dot(_flat(inputs, n).T, _flat(grads, width))


class _Kind:
    """A cell's equations, forward and backward; equal when their configuration is."""

    states: tuple[str, ...]
    n_params: int  # parameters after the initial states: W_hid, b[, b_hn]
    n_per_step = 1  # per-step outputs of the backward scan
    stashes = True  # whether the forward scan emits a stash sequence

    def _config(self):
        return (type(self), *sorted(vars(self).items()))

    def __eq__(self, other):
        return isinstance(other, _Kind) and self._config() == other._config()

    def __hash__(self):
        return hash(self._config())


# The derivative of each nonlinearity written as a function of its output.
_OUTPUT_GRADS = {
    "tanh": _tanh_grad,
    "sigmoid": _sigmoid_grad,
    "relu": lambda y: pt.gt(y, 0).astype(y.dtype),
    "linear": None,
}
#: The Elman nonlinearities (by name) that take the written-out gradient.
ELMAN_NONLINEARITIES = frozenset(_OUTPUT_GRADS)


class _Elman(_Kind):
    """One block; state h; no stash: the backward pass reads each step's h."""

    states = ("h",)
    stashes = False

    def __init__(self, n, clip, nonlinearity):
        self.n, self.clip, self.nonlinearity = n, clip, nonlinearity
        self.n_params = 2

    def forward(self, xw_t, h, W, b):
        return [get_nonlinearity(self.nonlinearity)(xw_t + pt.dot(h, W) + b)], None

    def saved(self, initial, state_seqs):
        """Each step's output (the derivative is read from it)."""
        return [state_seqs[0]]

    def backward(self, stash, saved, dh, dstash, W):
        (h,) = saved
        grad = _OUTPUT_GRADS[self.nonlinearity]
        da = _clip(dh if grad is None else dh * grad(h), self.clip)
        return [da], [pt.dot(da, W.T)]

    def param_grads(self, initial, state_seqs, stash, outputs):
        (da,) = outputs
        h_prev = _previous(initial[0], state_seqs[0])
        return da, [_weight_grad(h_prev, da, self.n, self.n), da.sum(axis=(0, 1))]


class _LSTM(_Kind):
    """i, f, g, o blocks; states h, c; stash: the four activations."""

    states = ("h", "c")

    def __init__(self, n, clip):
        self.n, self.clip = n, clip
        self.n_params = 2

    def forward(self, xw_t, h, c, W, b):
        n = self.n
        a = xw_t + pt.dot(h, W) + b
        # The stash is one elementwise result, not four blocks joined.
        act = _lstm_activations(a, n)
        i, f, g, o = gate_blocks(act, n, 4)
        c_new = f * c + i * g
        return [o * pt.tanh(c_new), c_new], act

    def saved(self, initial, state_seqs):
        """What the backward step reads besides the stash: each step's starting ``c``."""
        return [_previous(initial[1], state_seqs[1])]

    def backward(self, stash, saved, dh, dc, dstash, W):
        """Gradients into one step: ``(per-step outputs, [dh_prev, dc_prev])``."""
        n = self.n
        (c_prev,) = saved
        i, f, g, o = gate_blocks(stash, n, 4)
        tc = pt.tanh(f * c_prev + i * g)
        do = dh * tc
        dc = dc + dh * o * _tanh_grad(tc)
        di, df, dg = dc * g, dc * c_prev, dc * i
        if dstash is not None:
            di, df, dg, do = (d + e for d, e in zip((di, df, dg, do), gate_blocks(dstash, n, 4)))
        da = pt.concatenate(
            [
                di * _sigmoid_grad(i),
                df * _sigmoid_grad(f),
                dg * _tanh_grad(g),
                do * _sigmoid_grad(o),
            ],
            axis=1,
        )
        da = _clip(da, self.clip)
        return [da], [pt.dot(da, W.T), dc * f]

    def param_grads(self, initial, state_seqs, stash, outputs):
        (da,) = outputs
        h_prev = _previous(initial[0], state_seqs[0])
        return da, [_weight_grad(h_prev, da, self.n, 4 * self.n), da.sum(axis=(0, 1))]


class _GRU(_Kind):
    """r, z, n blocks; state h; the form chosen by ``reset_after`` (see GRUCell).

    Stash: the activations r, z, n, and with ``reset_after`` also
    ``h_{t-1} @ W_hn + b_hn``.
    """

    states = ("h",)

    def __init__(self, n, clip, reset_after):
        self.n, self.clip, self.reset_after = n, clip, reset_after
        self.n_params = 3 if reset_after else 2
        self.n_per_step = 2 if reset_after else 1

    def forward(self, xw_t, h, W, b, b_hn=None):
        n = self.n
        xb = xw_t + b
        if self.reset_after:
            hh = pt.dot(h, W)
            a_rz = xb[:, : 2 * n] + hh[:, : 2 * n]
            r, z = pt.sigmoid(a_rz[:, :n]), pt.sigmoid(a_rz[:, n:])
            hn = hh[:, 2 * n :] + b_hn
            cand = pt.tanh(xb[:, 2 * n :] + r * hn)
            stash = pt.concatenate([r, z, cand, hn], axis=1)
        else:
            a_rz = xb[:, : 2 * n] + pt.dot(h, W[:, : 2 * n])
            r, z = pt.sigmoid(a_rz[:, :n]), pt.sigmoid(a_rz[:, n:])
            cand = pt.tanh(xb[:, 2 * n :] + pt.dot(r * h, W[:, 2 * n :]))
            stash = pt.concatenate([r, z, cand], axis=1)
        return [(1.0 - z) * cand + z * h], stash

    def saved(self, initial, state_seqs):
        return [_previous(initial[0], state_seqs[0])]

    def backward(self, stash, saved, dh, dstash, W):
        n = self.n
        (h_prev,) = saved
        r, z, cand = gate_blocks(stash, n, 3)
        d_cand, dz, dh_prev = dh * (1.0 - z), dh * (h_prev - cand), dh * z
        if dstash is not None:
            dr_extra, dz_extra, dc_extra = gate_blocks(dstash, n, 3)
            d_cand, dz = d_cand + dc_extra, dz + dz_extra
        da_n = _clip(d_cand * _tanh_grad(cand), self.clip)
        if self.reset_after:
            hn = stash[:, 3 * n :]
            dr, dhn = da_n * hn, da_n * r
            if dstash is not None:
                dr, dhn = dr + dr_extra, dhn + dstash[:, 3 * n :]
            da_rz = _clip(
                pt.concatenate([dr * _sigmoid_grad(r), dz * _sigmoid_grad(z)], axis=1), self.clip
            )
            dhh = pt.concatenate([da_rz, dhn], axis=1)
            dh_prev = dh_prev + pt.dot(dhh, W.T)
            return [pt.concatenate([da_rz, da_n], axis=1), dhh], [dh_prev]
        d_rh = pt.dot(da_n, W[:, 2 * n :].T)
        dr = d_rh * h_prev
        if dstash is not None:
            dr = dr + dr_extra
        da_rz = _clip(
            pt.concatenate([dr * _sigmoid_grad(r), dz * _sigmoid_grad(z)], axis=1), self.clip
        )
        dh_prev = dh_prev + d_rh * r + pt.dot(da_rz, W[:, : 2 * n].T)
        return [pt.concatenate([da_rz, da_n], axis=1)], [dh_prev]

    def param_grads(self, initial, state_seqs, stash, outputs):
        n = self.n
        dxw = outputs[0]
        h_prev = _previous(initial[0], state_seqs[0])
        if self.reset_after:
            dhh = outputs[1]
            dW = _weight_grad(h_prev, dhh, n, 3 * n)
            return dxw, [dW, dxw.sum(axis=(0, 1)), dhh[:, :, 2 * n :].sum(axis=(0, 1))]
        rh_prev = stash[:, :, :n] * h_prev
        dW = pt.concatenate(
            [
                _weight_grad(h_prev, dxw[:, :, : 2 * n], n, 2 * n),
                _weight_grad(rh_prev, dxw[:, :, 2 * n :], n, n),
            ],
            axis=1,
        )
        return dxw, [dW, dxw.sum(axis=(0, 1))]


def _connected(grad):
    return grad is not None and not isinstance(grad.type, DisconnectedType)


@functools.lru_cache(maxsize=128)
def _make_op(cell, types):
    """The OpFromGraph of ``cell`` on inputs of ``types``.

    Inputs: ``xw`` (time, batch, k * units), the mask (time, batch) if
    present, the initial states, then the parameters. Outputs: each state's
    sequence, then the stash (if the cell has one).
    """
    n_states = len(cell.states)
    masked = len(types) == 1 + 1 + n_states + cell.n_params
    inputs = [t() for t in types]
    sequences = inputs[: 1 + masked]
    initial = inputs[1 + masked : 1 + masked + n_states]
    params = inputs[1 + masked + n_states :]

    def forward_step(*args):
        xw_t, rest = args[0], list(args[1:])
        m_t = rest.pop(0) if masked else None
        states, params = rest[:n_states], rest[n_states:]
        new, stash = cell.forward(xw_t, *states, *params)
        if masked:
            new = [pt.switch(m_t[:, None], s_new, s) for s_new, s in zip(new, states)]
        return [*new, stash] if cell.stashes else new

    forward_outputs = scan(
        forward_step,
        sequences=sequences,
        outputs_info=[*initial, None] if cell.stashes else list(initial),
        non_sequences=params,
        strict=True,
        name=f"{type(cell).__name__[1:]}Cell_scan",
    )[0]
    n_outputs = len(forward_outputs)

    def pullback(inputs, outputs, output_grads):
        mask = inputs[1] if masked else None
        initial = inputs[1 + masked : 1 + masked + n_states]
        W = inputs[1 + masked + n_states]
        state_seqs = outputs[:n_states]
        stash = outputs[n_states] if cell.stashes else None
        grads = [g if _connected(g) else None for g in output_grads]
        given = [g is not None for g in grads] + [False] * (n_states + 1 - n_outputs)
        saved = cell.saved(initial, state_seqs)
        sequences = ([stash] if cell.stashes else []) + saved + ([mask] if masked else [])
        sequences += [g for g in grads if g is not None]
        n_saved = len(saved)

        def backward_step(*args):
            args = list(args)
            stash_t = args.pop(0) if cell.stashes else None
            saved_t, args = args[:n_saved], args[n_saved:]
            m_t = args.pop(0) if masked else None
            incoming = [args.pop(0) if g else None for g in given]
            carried, W = args[:n_states], args[n_states]
            d_states = [d if e is None else d + e for d, e in zip(carried, incoming[:n_states])]
            if masked:
                keep = m_t[:, None]
                passed = [pt.switch(keep, 0.0, d) for d in d_states]
                d_states = [pt.switch(keep, d, 0.0) for d in d_states]
            outs, d_prev = cell.backward(stash_t, saved_t, *d_states, incoming[n_states], W)
            if masked:
                d_prev = [d + p for d, p in zip(d_prev, passed)]
            return [*outs, *d_prev]

        results = scan(
            backward_step,
            sequences=sequences,
            outputs_info=[None] * cell.n_per_step + [pt.zeros_like(s) for s in initial],
            non_sequences=[W],
            # The same length as the sequences', but read from an input: left to
            # itself, scan takes the length from the forward scan's outputs and
            # PyTensor's static shape inference then infers the whole forward
            # scan again (0.15 s per gradient of an LSTM).
            n_steps=inputs[0].shape[0],
            go_backwards=True,
            strict=True,
            # The name marks a backward pass: on JAX it takes the gradient
            # scans' unroll factor (``SEQGRAPH_SCAN_UNROLL``).
            name=f"{type(cell).__name__[1:]}Cell{BACKWARD_SCAN_SUFFIX}",
        )[0]
        per_step = [out[::-1] for out in results[:-n_states]]
        d_initial = [out[-1] for out in results[-n_states:]]
        dxw, d_params = cell.param_grads(initial, state_seqs, stash, per_step)
        return [dxw] + ([disconnected_type()] if masked else []) + d_initial + d_params

    # The mask selects steps: it has no gradient.
    connection_pattern = [[True] * n_outputs for _ in inputs]
    if masked:
        connection_pattern[1] = [False] * n_outputs
    return OpFromGraph(
        inputs,
        forward_outputs,
        inline=True,
        pullback=pullback,
        connection_pattern=connection_pattern,
        name=f"{type(cell).__name__[1:]}Sequence",
    )


def recurrent_sequence(
    cell, xw, b, mask, initial, recurrent, grad_clipping=0.0, go_backwards=False
):
    """Run a plain Elman, LSTM or GRU cell over projected inputs, with the written-out gradient.

    Parameters
    ----------
    cell : ElmanCell, LSTMCell or GRUCell
        An Elman cell whose nonlinearity is one of :data:`ELMAN_NONLINEARITIES`
        (by name), an LSTM without peepholes and with its default
        nonlinearities, or a GRU of either form.
    xw : TensorVariable
        ``(time, batch, k * num_units)``: each step's ``x_t @ W_in`` (no bias).
    b : TensorVariable
        ``(k * num_units,)``, added inside the loop.
    mask : TensorVariable or None
        ``(time, batch)``; at a zero step every state keeps its value.
    initial : list of TensorVariable
        ``(batch, num_units)`` initial states, in ``cell.state_names`` order.
    recurrent : list of TensorVariable
        ``cell.recurrent_params``: ``[W_hid]`` (``[W_hid, b_hn]`` for the
        GRU with ``reset_after``).
    grad_clipping : float
        If > 0, the gradient reaching each step's pre-activations is clipped
        to ``[-grad_clipping, grad_clipping]``, as the cells' steps do.
    go_backwards : bool
        Process the steps from last to first; outputs are in processing order,
        as :func:`pytensor.scan` gives them.

    Returns
    -------
    list of TensorVariable
        Each state's sequence, ``(time, batch, num_units)``.
    """
    clip = float(grad_clipping)
    n = int(cell.num_units)
    if isinstance(cell, GRUCell):
        kind = _GRU(n, clip, cell.reset_after)
    elif isinstance(cell, ElmanCell):
        kind = _Elman(n, clip, cell.nonlinearity_name)
    else:
        kind = _LSTM(n, clip)
    if go_backwards:
        xw = xw[::-1]
        mask = None if mask is None else mask[::-1]
    args = [xw] + ([pt.cast(mask, "bool")] if mask is not None else [])
    args += [*initial, recurrent[0], b, *recurrent[1:]]
    args = [pt.as_tensor_variable(a) for a in args]
    op = _make_op(kind, tuple(a.type for a in args))
    outputs = op(*args)
    if not isinstance(outputs, (list, tuple)):  # an Op of one output returns it bare
        outputs = [outputs]
    return list(outputs[: len(kind.states)])
