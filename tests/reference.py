"""NumPy reference implementations the tests compare seqgraph against."""

from __future__ import annotations

import itertools

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x, W, U, b, h0=None, c0=None):
    """Run an LSTM over ``x`` of shape (time, batch, n_in), time-major.

    Gates are fused in ``W (n_in, 4n)``, ``U (n, 4n)``, ``b (4n,)`` in the order
    input, forget, output, cell candidate. Returns (h, c), each (time, batch, n).
    """
    n = U.shape[0]
    steps, batch = x.shape[:2]
    h = np.zeros((batch, n), x.dtype) if h0 is None else h0
    c = np.zeros((batch, n), x.dtype) if c0 is None else c0
    hs, cs = [], []
    for t in range(steps):
        z = x[t] @ W + h @ U + b
        i, f, o = sigmoid(z[:, :n]), sigmoid(z[:, n : 2 * n]), sigmoid(z[:, 2 * n : 3 * n])
        g = np.tanh(z[:, 3 * n :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)


def elman(x, W, U, h0, go_backwards=False):
    """tanh(x_t W + h U) over the first axis of ``x``; outputs in iteration order."""
    h = h0
    out = []
    seq = x[::-1] if go_backwards else x
    for x_t in seq:
        h = np.tanh(x_t @ W + h @ U)
        out.append(h)
    return np.stack(out)


def taps_recurrence(x, init):
    """y_t = y_{t-2} + 0.5 * y_{t-1} + x_t with ``init`` = [y_{-2}, y_{-1}]."""
    ys = list(init)
    for x_t in x:
        ys.append(ys[-2] + 0.5 * ys[-1] + x_t)
    return np.stack(ys[2:])


def linear_truncated_grad(steps, a, k):
    """d(sum_t h_t)/dx_t for h_t = a h_{t-1} + x_t, backpropagating k steps.

    PyTensor (like Theano) runs the backward scan over the last ``k`` steps
    only, so inputs before ``steps - k`` receive no gradient.
    """
    grad = np.zeros(steps)
    carry = 0.0
    for t in range(steps - 1, max(steps - k, 0) - 1, -1):
        carry = 1.0 + a * carry
        grad[t] = carry
    return grad


# -- layers -------------------------------------------------------------------
# Written from the equations in the cells' docstrings, independently of the
# seqgraph code.  Weights are fused as in seqgraph: W_in (n_in, k n),
# W_hid (n, k n), b (k n,), gate blocks in PyTorch's order.


def elman_step(x, h, p, nonlinearity=np.tanh):
    return (nonlinearity(x @ p["W_in"] + p["b"] + h @ p["W_hid"]),)


def gru_step(x, h, p, reset_after=False):
    n = h.shape[1]
    gi = x @ p["W_in"] + p["b"]
    W = p["W_hid"]
    if reset_after:
        gh = h @ W
        r = sigmoid(gi[:, :n] + gh[:, :n])
        z = sigmoid(gi[:, n : 2 * n] + gh[:, n : 2 * n])
        cand = np.tanh(gi[:, 2 * n :] + r * (gh[:, 2 * n :] + p["b_hn"]))
    else:
        r = sigmoid(gi[:, :n] + h @ W[:, :n])
        z = sigmoid(gi[:, n : 2 * n] + h @ W[:, n : 2 * n])
        cand = np.tanh(gi[:, 2 * n :] + (r * h) @ W[:, 2 * n :])
    return ((1 - z) * cand + z * h,)


def lstm_step(x, h, c, p, peepholes=False, hid_nonlinearity=np.tanh):
    n = h.shape[1]
    a = x @ p["W_in"] + p["b"] + h @ p["W_hid"]
    a_i, a_f, a_g, a_o = (a[:, k * n : (k + 1) * n] for k in range(4))
    if peepholes:
        a_i = a_i + p["w_ci"] * c
        a_f = a_f + p["w_cf"] * c
    c_new = sigmoid(a_f) * c + sigmoid(a_i) * np.tanh(a_g)
    if peepholes:
        a_o = a_o + p["w_co"] * c_new
    return sigmoid(a_o) * hid_nonlinearity(c_new), c_new


def run_layer(step, x, initial, mask=None, go_backwards=False):
    """Run ``step(x_t, *states)`` over ``x`` (batch, time, n_in), batch-major.

    A masked step keeps every state. The outputs are aligned with the input
    (re-reversed for ``go_backwards``). Returns one (batch, time, n) array
    per state and the final states (after the last processed step).
    """
    steps = x.shape[1]
    states = [np.array(s, dtype=x.dtype) for s in initial]
    outs = [[None] * steps for _ in states]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        new = step(x[:, t], *states)
        if mask is not None:
            keep = mask[:, t][:, None] != 0
            new = [np.where(keep, s_new, s) for s_new, s in zip(new, states)]
        states = list(new)
        for i, s in enumerate(states):
            outs[i][t] = s
    return [np.stack(o, axis=1) for o in outs], states


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# -- optimizers ------------------------------------------------------------------
# Each takes the gradient function and the starting point and returns the
# parameters after ``steps`` updates, written from the papers' update rules.


def optimize(name, grad, p, steps, lr, **kw):
    p = np.array(p, dtype="float64")
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, steps + 1):
        g = grad(p)
        if name == "sgd":
            p = p - lr * g
        elif name == "momentum":
            s1 = kw["momentum"] * s1 - lr * g
            p = p + s1
        elif name == "nesterov_momentum":
            s1 = kw["momentum"] * s1 - lr * g
            p = p + kw["momentum"] * s1 - lr * g
        elif name == "adagrad":
            s1 = s1 + g**2
            p = p - lr * g / np.sqrt(s1 + kw["epsilon"])
        elif name == "rmsprop":
            s1 = kw["rho"] * s1 + (1 - kw["rho"]) * g**2
            p = p - lr * g / np.sqrt(s1 + kw["epsilon"])
        elif name == "adadelta":
            s1 = kw["rho"] * s1 + (1 - kw["rho"]) * g**2
            step = g * np.sqrt(s2 + kw["epsilon"]) / np.sqrt(s1 + kw["epsilon"])
            p = p - lr * step
            s2 = kw["rho"] * s2 + (1 - kw["rho"]) * step**2
        elif name == "adam":
            s1 = kw["beta1"] * s1 + (1 - kw["beta1"]) * g
            s2 = kw["beta2"] * s2 + (1 - kw["beta2"]) * g**2
            # Kingma & Ba's "efficient version" (end of their section 2): the bias
            # corrections go into the step size, epsilon is added to sqrt(v).
            lr_t = lr * np.sqrt(1 - kw["beta2"] ** t) / (1 - kw["beta1"] ** t)
            p = p - lr_t * s1 / (np.sqrt(s2) + kw["epsilon"])
        elif name == "adamax":
            s1 = kw["beta1"] * s1 + (1 - kw["beta1"]) * g
            s2 = np.maximum(kw["beta2"] * s2, np.abs(g))
            p = p - lr / (1 - kw["beta1"] ** t) * s1 / (s2 + kw["epsilon"])
        else:
            raise AssertionError(name)
    return p


def pool(x, ws, stride=None, pad=None, ignore_border=False, mode="max"):
    """Theano's pooling of the last ``len(ws)`` axes, one window at a time.

    A window starts at ``j * stride`` in the padded input and is clipped to it;
    max and sum read the input elements it covers, ``average_inc_pad`` divides
    by the clipped window's size, ``average_exc_pad`` by the number of input
    elements in it.
    """
    nd = len(ws)
    stride = tuple(ws) if stride is None else tuple(stride)
    pad = (0,) * nd if pad is None else tuple(pad)
    sizes = x.shape[-nd:]

    def length(n, w, s, p):
        n += 2 * p
        if ignore_border:
            return max((n - w) // s + 1, 0)
        if s >= w:
            return (n - 1) // s + 1
        return max(0, (n - 1 - w + s) // s) + 1

    outs = [length(sizes[k], ws[k], stride[k], pad[k]) for k in range(nd)]
    out = np.empty(x.shape[:-nd] + tuple(outs), dtype=x.dtype)
    for pos in itertools.product(*(range(o) for o in outs)):
        starts = [pos[k] * stride[k] for k in range(nd)]
        ends = [min(starts[k] + ws[k], sizes[k] + 2 * pad[k]) for k in range(nd)]
        inner = tuple(
            slice(max(starts[k] - pad[k], 0), min(ends[k] - pad[k], sizes[k])) for k in range(nd)
        )
        region = x[(Ellipsis,) + inner]
        axes = tuple(range(-nd, 0))
        if mode == "max":
            value = region.max(axis=axes)
        elif mode == "sum":
            value = region.sum(axis=axes)
        elif mode == "average_inc_pad":
            value = region.sum(axis=axes) / np.prod([e - s for s, e in zip(starts, ends)])
        else:
            value = region.sum(axis=axes) / np.prod([s.stop - s.start for s in inner])
        out[(Ellipsis,) + pos] = value
    return out


def conv2d(x, w, pads=((0, 0), (0, 0)), stride=(1, 1), dilation=(1, 1), flip=True, groups=1):
    """Theano's 2-d convolution over channels, one output position at a time.

    ``x`` is (batch, channels, rows, columns), ``w`` (filters, channels //
    groups, rows, columns); ``pads`` gives (before, after) zeros per axis;
    ``flip`` flips the filters (a convolution; False: a correlation).
    """
    return conv(x, w, pads, stride, dilation, flip, groups)


def conv(x, w, pads, stride, dilation, flip=True, groups=1):
    """Theano's convolution over channels along any number of spatial axes
    (``x``: batch, channels, then the spatial axes), one output position at a time."""
    nd = x.ndim - 2
    if flip:
        w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads))
    n_filters, per_group = w.shape[:2]
    span = [(w.shape[2 + k] - 1) * dilation[k] + 1 for k in range(nd)]
    sizes = [(xp.shape[2 + k] - span[k]) // stride[k] + 1 for k in range(nd)]
    out = np.zeros((x.shape[0], n_filters, *sizes), dtype=np.result_type(x, w))
    f_group = n_filters // groups
    for position in itertools.product(*(range(n) for n in sizes)):
        window = tuple(
            slice(p * s, p * s + n, d) for p, s, n, d in zip(position, stride, span, dilation)
        )
        patch = xp[(slice(None), slice(None)) + window].reshape(x.shape[0], x.shape[1], -1)
        for g in range(groups):
            out[(slice(None), slice(g * f_group, (g + 1) * f_group)) + position] = np.einsum(
                "bck,fck->bf",
                patch[:, g * per_group : (g + 1) * per_group],
                w[g * f_group : (g + 1) * f_group].reshape(f_group, per_group, -1),
            )
    return out


def conv2d_unshared(x, w, pads, stride=(1, 1), dilation=(1, 1), flip=True, groups=1):
    """Theano's unshared (locally connected) 2-d convolution, one output position at a time.

    ``w`` is (filters, out_rows, out_cols, channels // groups, rows, columns):
    each output position has its own filter bank.
    """
    if flip:
        w = w[..., ::-1, ::-1]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads))
    n_filters, rows, cols, per_group, kh, kw = w.shape
    span = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    assert (rows, cols) == (
        (xp.shape[2] - span[0]) // stride[0] + 1,
        (xp.shape[3] - span[1]) // stride[1] + 1,
    )
    out = np.zeros((x.shape[0], n_filters, rows, cols), dtype=np.result_type(x, w))
    f_group = n_filters // groups
    for r, c in itertools.product(range(rows), range(cols)):
        r0, c0 = r * stride[0], c * stride[1]
        patch = xp[:, :, r0 : r0 + span[0] : dilation[0], c0 : c0 + span[1] : dilation[1]]
        for g in range(groups):
            out[:, g * f_group : (g + 1) * f_group, r, c] = np.einsum(
                "bckl,fckl->bf",
                patch[:, g * per_group : (g + 1) * per_group],
                w[g * f_group : (g + 1) * f_group, r, c],
            )
    return out


def images2neibs(x, shape, step=None, mode="valid"):
    """The patches of ``x`` (batch, channels, rows, cols) as rows, by loops, as Theano orders them."""
    ch, cw = shape
    sh, sw = step or shape
    if mode == "wrap_centered":
        # Theano's loop: row a * sh + i - ch // 2 of the patch centred at a * sh,
        # wrapped once at either border; centres a * sh < rows.
        rows, cols = x.shape[2:]
        out = []
        for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
            for a, d in itertools.product(range(-(-rows // sh)), range(-(-cols // sw))):
                r = [(a * sh + i - ch // 2) % rows for i in range(ch)]
                k = [(d * sw + j - cw // 2) % cols for j in range(cw)]
                out.append(x[b, c][np.ix_(r, k)].ravel())
        return np.array(out)
    if mode == "half":
        x = np.pad(x, ((0, 0), (0, 0), (ch // 2, ch // 2), (cw // 2, cw // 2)))
    elif mode == "full":
        x = np.pad(x, ((0, 0), (0, 0), (ch - 1, ch - 1), (cw - 1, cw - 1)))
    n_rows = (x.shape[2] - ch) // sh + 1
    n_cols = (x.shape[3] - cw) // sw + 1
    rows = []
    for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for i, j in itertools.product(range(n_rows), range(n_cols)):
            rows.append(x[b, c, i * sh : i * sh + ch, j * sw : j * sw + cw].ravel())
    return np.array(rows)


def h_softmax(x, W1, b1, W2, b2, n_outputs):
    """All outputs of a two-level hierarchical softmax, by loops over the classes."""
    class_probs = np.exp(log_softmax(x @ W1 + b1))
    out = []
    for c in range(W1.shape[1]):
        within = np.exp(log_softmax(x @ W2[c] + b2[c]))
        out.append(class_probs[:, c : c + 1] * within)
    return np.concatenate(out, axis=1)[:, :n_outputs]
