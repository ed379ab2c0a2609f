"""Compile time (cold and warm cache) and step time of an LSTM training function per backend.

This is the measurement behind ``seqgraph.backends.PREFERRED_BACKENDS``. Each
figure comes from its own Python process so that "cold" really starts from an
empty PyTensor / Numba cache (a fresh ``base_compiledir``) and "warm" is a
second process reusing that directory, as a user's second run would.

Usage::

    python -m benchmarks.backend_choice [--backends c numba jax] [--sizes small medium]
                                        [--repeats 20] [--json out.json]

Sizes are (batch, steps, input, hidden): small 16,50,64,128; medium 64,100,128,256.
The training step is forward + BPTT + SGD on all four fused-gate LSTM weights,
float32, input projection outside the loop (``seqgraph.demo.build_lstm_trainer``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

SIZES = {"small": (16, 50, 64, 128), "medium": (64, 100, 128, 256)}

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import seqgraph
from seqgraph.demo import build_lstm_trainer
backend, batch, steps, n_in, hidden, repeats = sys.argv[1], *map(int, sys.argv[2:7])
t1 = time.perf_counter()
train, _ = build_lstm_trainer(n_in=n_in, n_hidden=hidden, learning_rate=0.01, backend=backend)
rng = np.random.default_rng(0)
x = rng.normal(size=(steps, batch, n_in)).astype("float32")
y = rng.normal(size=(steps, batch)).astype("float32")
train(x, y)
compile_s = time.perf_counter() - t1
times = []
for _ in range(repeats):
    s = time.perf_counter(); train(x, y); times.append(time.perf_counter() - s)
print(json.dumps({"compile_s": compile_s, "step_ms": 1000 * float(np.median(times)),
                  "import_s": t1 - t0}))
"""


def measure(backend, size, repeats, compiledir):
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={compiledir}"
    env["NUMBA_CACHE_DIR"] = os.path.join(compiledir, "numba_cache")
    batch, steps, n_in, hidden = SIZES[size]
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            backend,
            str(batch),
            str(steps),
            str(n_in),
            str(hidden),
            str(repeats),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["c", "numba", "jax"])
    parser.add_argument("--sizes", nargs="+", default=["small", "medium"], choices=sorted(SIZES))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    rows = []
    print(
        f"{'backend':8s} {'size':7s} {'compile cold':>13s} {'compile warm':>13s} {'step (median)':>14s}"
    )
    for backend in args.backends:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(prefix="seqgraph-bench-") as cdir:
                cold = measure(backend, size, args.repeats, cdir)
                warm = measure(backend, size, args.repeats, cdir)
            row = {
                "backend": backend,
                "size": size,
                "shape": SIZES[size],
                "cold": cold,
                "warm": warm,
            }
            rows.append(row)
            if "error" in cold or "error" in warm:
                print(f"{backend:8s} {size:7s} error: {cold.get('error') or warm.get('error')}")
                continue
            step = min(cold["step_ms"], warm["step_ms"])
            print(
                f"{backend:8s} {size:7s} {cold['compile_s']:12.2f}s {warm['compile_s']:12.2f}s {step:12.2f}ms",
                flush=True,
            )
    if args.json:
        env = {
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
        }
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "results": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
