"""NumPy reference implementations the tests compare seqgraph against."""

from __future__ import annotations

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
