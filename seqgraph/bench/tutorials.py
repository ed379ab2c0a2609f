"""The classic tutorials' training steps at their original sizes, against Theano's figures.

``seqgraph bench --tutorials`` builds the models of the ported tutorials with
the sizes of the original Theano scripts and times one training step:

* **rnnslu**: the RNNSLU tutorial (``elman-forward.py``): ATIS's vocabulary
  (572 words) and 127 labels, embeddings of 50, 200 hidden units, a context
  window of 7, SGD on one sentence per step followed by the embedding
  normalisation.  The sentence is 16 words long (an ATIS sentence padded to a
  multiple of 8, as the port does to bound the number of compiled shapes; most
  ATIS sentences are shorter).
* **lstm**: the LSTM sentiment tutorial (``lstm.py``): 10000 words, 128
  dimensions, minibatches of 16, sentences cut at 100 words (here every
  sentence is 100 words long, the longest the original trains on), AdaDelta,
  dropout before the softmax.

Compile time is the whole of what the tutorial compiles (the training step
and the prediction function), from a fresh process: cold with empty caches,
warm with the caches the cold run left.

The Theano figures were measured on this project's CPU machine (2 cores,
Theano 1.0.5 with C and OpenBLAS, see issue 7): 1.8-2.0 ms per RNNSLU
training sentence, 54-57 ms per ``lstm.py`` update, 80-124 s to compile each
tutorial.  Speed-ups are computed against the *fastest* of these figures.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

# Fastest figure of each range measured with Theano 1.0.5 on this machine.
THEANO = {
    "rnnslu": {"step_ms": 1.8, "compile_s": 80.0},
    "lstm": {"step_ms": 54.0, "compile_s": 80.0},
}
TUTORIALS = tuple(THEANO)


def build(name, backend=None):
    """Compile tutorial ``name``'s functions; return ``(step, batch, seconds)``.

    ``step(*batch)`` is one training step; ``seconds`` is what building the
    model and compiling all the tutorial's functions took (first calls
    included).  The functions are the tutorials' own (``compile_functions``).
    """
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    if name == "rnnslu":
        from seqgraph.models import RNNSLU
        from seqgraph.tutorials import rnnslu

        model = RNNSLU(572, 127, emb_dim=50, num_hidden=200, win=7, seed=0)
        step, valid_fn, predict = rnnslu.compile_functions(model, 0.0970, backend)
        length = 16
        batch = [
            rng.integers(0, 572, size=(1, length)),
            np.ones((1, length), dtype="float32"),
            rng.integers(0, 127, size=(1, length)),
        ]
        valid_fn(*batch)
        predict(*batch[:2])
    elif name == "lstm":
        from seqgraph.tutorials import lstm

        model = lstm.LSTMClassifier(10000, 128, seed=0)
        step, error_fn = lstm.compile_functions(model, backend)
        batch = [
            rng.integers(0, 10000, size=(16, 100)),
            np.ones((16, 100), dtype="float32"),
            rng.integers(0, 2, size=16),
        ]
        error_fn(*batch)
    else:
        raise ValueError(f"unknown tutorial {name!r}; tutorials are {TUTORIALS}.")
    step(*batch)
    return step, batch, time.perf_counter() - start


_COMPILE_PROBE = """
import json
from seqgraph.bench import tutorials
print(json.dumps(tutorials.build({name!r}, {backend!r})[2]))
"""


def compile_fresh(name, backend):
    """(cold, warm) seconds to compile tutorial ``name``, each in a fresh process."""
    from seqgraph.bench.suite import fresh_process_pair

    cold, warm = fresh_process_pair(_COMPILE_PROBE.format(name=name, backend=backend))
    return float(cold), float(warm)


def run(backends, repeats, log):
    """Time each tutorial's training step and compile on ``backends``; return rows."""
    rows = []
    for name in TUTORIALS:
        for backend in backends:
            step, batch, _ = build(name, backend)
            for _ in range(3):
                step(*batch)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                step(*batch)
                times.append(time.perf_counter() - start)
            step_ms = 1e3 * statistics.median(times)
            cold, warm = compile_fresh(name, backend)
            theano = THEANO[name]
            row = {
                "tutorial": name,
                "backend": backend,
                "step_ms": step_ms,
                "theano_step_ms": theano["step_ms"],
                "step_speedup": theano["step_ms"] / step_ms,
                "compile_cold_s": cold,
                "compile_warm_s": warm,
                "theano_compile_s": theano["compile_s"],
                "compile_speedup_cold": theano["compile_s"] / cold,
            }
            log(
                f"{name} on {backend}: {step_ms:.2f} ms per step "
                f"({row['step_speedup']:.1f}x faster than Theano's {theano['step_ms']} ms); "
                f"compile {cold:.1f} s cold, {warm:.2f} s warm "
                f"({row['compile_speedup_cold']:.0f}x faster than Theano's {theano['compile_s']:.0f} s)"
            )
            rows.append(row)
    return rows


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(["jax"], 20, print), indent=1))
