"""Argument parsing and evaluation helpers shared by the tutorials."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from seqgraph.params import atomic_write
from seqgraph.training import fit, iterate_minibatches


def parser(name, description, epochs, quick_epochs):
    p = argparse.ArgumentParser(prog=f"seqgraph tutorial {name}", description=description)
    p.add_argument("--quick", action="store_true", help="a small run (about a minute on 2 cores)")
    p.add_argument("--epochs", type=int, help=f"epochs (default {epochs}, {quick_epochs} quick)")
    p.add_argument("--backend", choices=["c", "numba", "jax"], help="default: seqgraph's")
    p.add_argument("--seed", type=int, default=345)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-compile-ahead",
        action="store_true",
        help="JAX: compile each batch shape on its first step, not all of the first "
        "epoch's at its start (fit's compile_ahead)",
    )
    p.add_argument("--history", metavar="PATH", help="write the per-epoch history as JSON")
    p.set_defaults(default_epochs=epochs, quick_epochs=quick_epochs)
    return p


def epochs_of(options):
    if options.epochs is not None:
        return options.epochs
    return options.quick_epochs if options.quick else options.default_epochs


def train(step, options, train_data, valid_data, valid_fn, pad, **fit_kwargs):
    """Run :func:`seqgraph.training.fit` with the tutorials' shared settings."""
    history = fit(
        step,
        train_data,
        epochs_of(options),
        batch_size=16,
        valid_data=valid_data,
        valid_fn=valid_fn,
        seed=options.seed,
        progress=not options.no_progress,
        pad_kwargs=pad,
        compile_ahead=not options.no_compile_ahead,
        **fit_kwargs,
    )
    if options.history:
        text = json.dumps(history, indent=1).encode()
        atomic_write(options.history, lambda f: f.write(text))
    return history


def predict_all(fn, examples, batch_size, **pad_kwargs):
    """Run ``fn(x, mask)`` over examples in order; return the per-example outputs."""
    out = []
    for batch in iterate_minibatches(examples, batch_size, shuffle=False, **pad_kwargs):
        x, mask = batch[0], batch[1]
        result = np.asarray(fn(x, mask))
        lengths = mask.sum(axis=1).astype(int)
        for row, length in zip(result, lengths):
            out.append(row[:length] if row.ndim >= 1 and result.ndim > 1 else row)
    return out


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
