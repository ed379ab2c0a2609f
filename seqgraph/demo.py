"""The main job in one short run: an LSTM on ``seqgraph.scan``, compiled and trained.

Run it with ``python -m seqgraph.demo`` or ``seqgraph demo``.  The task is a
small sequence regression (predict the running mean of the first input
channel); the loss drops within a few dozen steps on any backend.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytensor
import pytensor.tensor as pt

import seqgraph

__all__ = ["build_lstm_trainer", "main"]


def build_lstm_trainer(n_in=8, n_hidden=32, learning_rate=0.5, backend=None, device=None, seed=0):
    """Build and compile an LSTM regression trainer on :func:`seqgraph.scan`.

    Parameters
    ----------
    n_in, n_hidden : int
        Input and hidden sizes.
    learning_rate : float
        Step size of plain SGD.
    backend, device : str, optional
        Passed to :func:`seqgraph.function`.
    seed : int
        Seed of the initial weights.

    Returns
    -------
    train : seqgraph.Function
        ``train(x, y) -> loss`` for ``x`` of shape (time, batch, n_in) and
        ``y`` of shape (time, batch); updates the weights in place.
    params : list of SharedVariable
        ``W (n_in, 4n)``, ``U (n, 4n)``, ``b (4n,)``, ``w_out (n,)``; gates in
        the order input, forget, output, cell candidate.
    """
    floatx = pytensor.config.floatX
    rng = np.random.default_rng(seed)
    n = n_hidden

    def weight(shape, scale):
        return pytensor.shared((rng.normal(size=shape) * scale).astype(floatx))

    W = weight((n_in, 4 * n), 1 / np.sqrt(n_in))
    U = weight((n, 4 * n), 1 / np.sqrt(n))
    bias = np.zeros(4 * n, floatx)
    bias[n : 2 * n] = 1.0  # forget-gate bias: remember by default
    b = pytensor.shared(bias)
    w_out = weight((n,), 1 / np.sqrt(n))
    for p, name in zip((W, U, b, w_out), ("W", "U", "b", "w_out")):
        p.name = name
    x = pt.tensor3("x", dtype=floatx)
    y = pt.matrix("y", dtype=floatx)

    def step(xw_t, h, c, U, b):
        z = xw_t + h @ U + b
        i = pt.sigmoid(z[:, :n])
        f = pt.sigmoid(z[:, n : 2 * n])
        o = pt.sigmoid(z[:, 2 * n : 3 * n])
        c_new = f * c + i * pt.tanh(z[:, 3 * n :])
        return o * pt.tanh(c_new), c_new

    zeros = pt.zeros((x.shape[1], n), dtype=floatx)
    (h, _), _ = seqgraph.scan(
        step, sequences=x @ W, outputs_info=[zeros, zeros], non_sequences=[U, b], strict=True
    )
    loss = ((h @ w_out - y) ** 2).mean()
    params = [W, U, b, w_out]
    grads = pytensor.grad(loss, params)
    lr = np.asarray(learning_rate, dtype=floatx)
    updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    train = seqgraph.function([x, y], loss, updates=updates, backend=backend, device=device)
    return train, params


def make_batch(rng, steps, batch, n_in, dtype):
    """Random inputs and the running mean of their first channel."""
    x = rng.normal(size=(steps, batch, n_in)).astype(dtype)
    y = np.cumsum(x[:, :, 0], axis=0) / np.arange(1, steps + 1)[:, None]
    return x, y.astype(dtype)


def main(argv=None) -> int:
    """Train the demo LSTM for a few steps and print loss, backend and timings."""
    parser = argparse.ArgumentParser(prog="seqgraph demo", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=seqgraph.BACKENDS, default=None)
    parser.add_argument("--device", choices=("cpu", "gpu"), default=None)
    parser.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    parser.add_argument("--hidden", type=int, default=32)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")

    floatx = pytensor.config.floatX
    start = time.perf_counter()
    train, _ = build_lstm_trainer(n_hidden=args.hidden, backend=args.backend, device=args.device)
    rng = np.random.default_rng(1)
    x, y = make_batch(rng, 20, 16, 8, floatx)
    first = float(train(x, y))  # the first call finishes the compile (JIT backends)
    compile_s = time.perf_counter() - start
    print(
        f"seqgraph {seqgraph.__version__}: LSTM (hidden {args.hidden}) on backend="
        f"{train.backend!r} device={train.device!r}, floatX={floatx}, BLAS: {seqgraph.BLAS_SOURCE}"
    )
    print(f"build + compile + first step: {compile_s:.2f} s; step 1 loss {first:.4f}")
    times = []
    loss = first
    for step in range(2, args.steps + 1):
        x, y = make_batch(rng, 20, 16, 8, floatx)
        t0 = time.perf_counter()
        loss = float(train(x, y))
        times.append(time.perf_counter() - t0)
        if step % max(1, args.steps // 6) == 0 or step == args.steps:
            print(f"step {step:4d}  loss {loss:.4f}")
    if times:
        print(f"median step time: {1000 * float(np.median(times)):.2f} ms")
    if not np.isfinite(loss):
        print("training diverged (loss is not finite)")
        return 1
    print(f"loss {first:.4f} -> {loss:.4f} on backend {train.backend!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
