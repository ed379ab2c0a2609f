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
and the prediction function), building the model included, from a fresh
process: cold with empty caches, warm with the caches the cold run left, each
the median over ``--cold-runs`` such pairs of processes.  The
process's start-up (its first, trivial function: importing the backend and
initialising it) is timed apart, as the ``--cold`` figure of the LSTM is, and
as original Theano's compile is timed after ``import theano``.

With the ``torch`` peer the same steps are timed in PyTorch, written as a
PyTorch user would: the RNNSLU recurrence as a Python loop over the words
(``nn.RNN`` has no sigmoid), ``lstm.py`` with ``nn.LSTM`` and
``torch.optim.Adadelta``.

The Theano figures were measured on this project's CPU machine (2 cores,
Theano 1.0.5 with C and OpenBLAS, see issue 7): 1.8-2.0 ms per RNNSLU
training sentence, 54-57 ms per ``lstm.py`` update, 80-124 s to compile each
tutorial.  Speed-ups are computed against the *fastest* of these figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import tempfile
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
        length = 16
        batch = [
            rng.integers(0, 572, size=(1, length)),
            np.ones((1, length), dtype="float32"),
            rng.integers(0, 127, size=(1, length)),
        ]
        step, valid_fn, predict = rnnslu.compile_functions(model, 0.0970, backend, batch)
        valid_fn(*batch)
        predict(*batch[:2])
    elif name == "lstm":
        from seqgraph.tutorials import lstm

        model = lstm.LSTMClassifier(10000, 128, seed=0)
        batch = [
            rng.integers(0, 10000, size=(16, 100)),
            np.ones((16, 100), dtype="float32"),
            rng.integers(0, 2, size=16),
        ]
        step, error_fn = lstm.compile_functions(model, backend, batch)
        error_fn(*batch)
    else:
        raise ValueError(f"unknown tutorial {name!r}; tutorials are {TUTORIALS}.")
    step(*batch)
    return step, batch, time.perf_counter() - start


def build_torch(name):
    """Tutorial ``name``'s training step in PyTorch; return ``(step, batch)``.

    Same sizes, data and update rule as :func:`build` (``step(*batch)`` is one
    training step); ``torch.get_num_threads()`` threads.
    """
    import torch

    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    if name == "rnnslu":
        vocab, labels, dim, hidden, win, length, lr = 572, 127, 50, 200, 7, 16, 0.0970
        emb = torch.nn.Parameter(torch.empty(vocab + 1, dim).uniform_(-0.2, 0.2, generator=gen))
        w_in = torch.nn.Parameter(torch.empty(win * dim, hidden).uniform_(-0.2, 0.2, generator=gen))
        w_hid = torch.nn.Parameter(torch.empty(hidden, hidden).uniform_(-0.2, 0.2, generator=gen))
        w_out = torch.nn.Parameter(torch.empty(hidden, labels).uniform_(-0.2, 0.2, generator=gen))
        b, h0, b_out = (torch.nn.Parameter(torch.zeros(n)) for n in (hidden, hidden, labels))
        params = [emb, w_in, w_hid, b, h0, w_out, b_out]
        words = rng.integers(0, vocab, size=length)
        padded = np.concatenate([[vocab] * (win // 2), words, [vocab] * (win // 2)])
        windows = torch.as_tensor(np.stack([padded[k : k + length] for k in range(win)], axis=1))
        targets = torch.as_tensor(rng.integers(0, labels, size=length))

        def step(windows, targets):
            x = emb[windows].reshape(length, win * dim) @ w_in + b
            h, states = h0, []
            for t in range(length):
                h = torch.sigmoid(x[t] + h @ w_hid)
                states.append(h)
            logp = torch.log_softmax(torch.stack(states) @ w_out + b_out, dim=-1)
            loss = -logp[torch.arange(length), targets].mean()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= lr * g
                emb.div_(emb.norm(dim=1, keepdim=True).clamp_min(1e-12))
            return loss.detach()

        return step, [windows, targets]
    if name == "lstm":
        vocab, dim, batch, length = 10000, 128, 16, 100
        torch.manual_seed(0)
        emb = torch.nn.Embedding(vocab, dim)
        lstm = torch.nn.LSTM(dim, dim, batch_first=True)
        out = torch.nn.Linear(dim, 2)
        drop = torch.nn.Dropout(0.5)
        params = [*emb.parameters(), *lstm.parameters(), *out.parameters()]
        opt = torch.optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-6)

        def step(words, mask, y):
            opt.zero_grad()
            h, _ = lstm(emb(words))
            pooled = (h * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
            loss = torch.nn.functional.cross_entropy(out(drop(pooled)), y)
            loss.backward()
            opt.step()
            return loss.detach()

        data = [
            torch.as_tensor(rng.integers(0, vocab, size=(batch, length))),
            torch.ones(batch, length),
            torch.as_tensor(rng.integers(0, 2, size=batch)),
        ]
        return step, data
    raise ValueError(f"unknown tutorial {name!r}; tutorials are {TUTORIALS}.")


def _median_ms(step, batch, repeats):
    for _ in range(3):
        step(*batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(*batch)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


_COMPILE_PROBE = """
import json, time
import numpy as np
import pytensor.tensor as pt
import seqgraph
from seqgraph.bench import tutorials

# Start-up, timed apart: the process's first function pays for importing the
# backend and initialising it, whatever the graph.
start = time.perf_counter()
v = pt.vector("v", dtype="float32")
seqgraph.function([v], 2 * v, backend={backend!r})(np.ones(3, "float32"))
startup = time.perf_counter() - start
print(json.dumps([startup, tutorials.build({name!r}, {backend!r})[2]]))
"""


def compile_fresh(name, backend):
    """Compile tutorial ``name`` in two fresh processes, with empty caches then with theirs.

    Returns ``((startup, compile) cold, (startup, compile) warm)`` in seconds:
    ``compile`` is :func:`build` (the model and every function the tutorial
    compiles, first calls included), ``startup`` the process's first, trivial
    function before it (imports and the backend's initialisation).
    """
    from seqgraph.bench.suite import fresh_process_pair

    cold, warm = fresh_process_pair(_COMPILE_PROBE.format(name=name, backend=backend))
    return tuple(map(float, cold)), tuple(map(float, warm))


def theano_same_run(name, python, repeats, cold):
    """Original Theano's step for tutorial ``name``, timed now by interpreter ``python``.

    ``python`` runs :mod:`seqgraph.bench.theano_tutorials` (an interpreter
    with Theano 1.0.5, as ``benchmarks/theano-env.sh`` makes).  With ``cold``
    Theano compiles in an empty compile folder, and the result's
    ``compile_s`` is its cold compile; a second process then compiles again
    with what the first left there, and ``compile_warm_s`` is that warm
    compile.  Otherwise Theano's own cache is used, in whatever state it is.
    Returns the script's JSON object; raises RuntimeError with the last line
    of its error output when it fails.
    """
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "theano_tutorials.py")
    env = dict(os.environ)

    def run_script(step_repeats):
        done = subprocess.run(
            [python, script, name, str(step_repeats)],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no error output"]
            raise RuntimeError(f"Theano ({python}) failed on {name}: {last[0]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    if not cold:
        return run_script(repeats)
    with tempfile.TemporaryDirectory() as cache:
        flags = [env.get("THEANO_FLAGS", ""), f"base_compiledir={cache}"]
        env["THEANO_FLAGS"] = ",".join(f for f in flags if f)
        result = run_script(repeats)
        # The warm compile only: one step is enough.
        result["compile_warm_s"] = run_script(1)["compile_s"]
        return result


def run(backends, repeats, log, peers=(), theano_python=None, theano_cold=False, cold_runs=1):
    """Time each tutorial's training step and compile on ``backends``; return rows.

    With ``"torch"`` in ``peers`` (and PyTorch installed) each row also holds
    PyTorch's time for the same step.  With ``theano_python`` (an interpreter
    with Theano 1.0.5) each row also holds original Theano's step timed in
    this run (:func:`theano_same_run`) and, with ``theano_cold``, its cold
    compile (two minutes or so per tutorial) and its warm one, to compare
    with seqgraph's cold and warm compiles.  seqgraph's compiles are the median
    of ``cold_runs`` pairs of fresh processes (:func:`compile_fresh`); Theano's,
    two minutes each, are compiled once.
    """
    from seqgraph.bench.suite import median_pairs, spread

    torch_ms = {}
    if "torch" in peers and importlib.util.find_spec("torch") is not None:
        for name in TUTORIALS:
            torch_ms[name] = _median_ms(*build_torch(name), repeats)
            log(f"{name} in PyTorch: {torch_ms[name]:.2f} ms per step")
    theano_now = {}
    if theano_python:
        for name in TUTORIALS:
            theano_now[name] = theano_same_run(name, theano_python, repeats, theano_cold)
            compiled = (
                f", compile {theano_now[name]['compile_s']:.0f} s cold, "
                f"{theano_now[name]['compile_warm_s']:.1f} s warm"
                if theano_cold
                else ""
            )
            log(
                f"{name} in Theano {theano_now[name]['theano']} (this run): "
                f"{theano_now[name]['step_ms']:.2f} ms per step{compiled}"
            )
    rows = []
    for name in TUTORIALS:
        for backend in backends:
            step, batch, _ = build(name, backend)
            step_ms = _median_ms(step, batch, repeats)
            (startup_cold, cold), (startup_warm, warm), pairs = median_pairs(
                [compile_fresh(name, backend) for _ in range(cold_runs)]
            )
            theano = THEANO[name]
            row = {
                "tutorial": name,
                "backend": backend,
                "step_ms": step_ms,
                "theano_step_ms": theano["step_ms"],
                "step_speedup": theano["step_ms"] / step_ms,
                "compile_cold_s": cold,
                "compile_warm_s": warm,
                "startup_cold_s": startup_cold,
                "startup_warm_s": startup_warm,
                "theano_compile_s": theano["compile_s"],
                "compile_speedup_cold": theano["compile_s"] / cold,
                "compile_cold_runs_s": [c[1] for c, _ in pairs],
                "compile_warm_runs_s": [w[1] for _, w in pairs],
            }
            peer = against_now = ""
            if name in theano_now:
                now = theano_now[name]
                row["theano_same_run"] = now
                row["step_speedup_same_run"] = now["step_ms"] / step_ms
                peer += (
                    f", {row['step_speedup_same_run']:.1f}x Theano's {now['step_ms']:.2f} ms now"
                )
                if theano_cold:
                    row["compile_speedup_cold_same_run"] = now["compile_s"] / cold
                    row["compile_speedup_warm_same_run"] = now["compile_warm_s"] / warm
                    against_now = (
                        f"; {row['compile_speedup_cold_same_run']:.0f}x Theano's "
                        f"{now['compile_s']:.0f} s cold now, "
                        f"{row['compile_speedup_warm_same_run']:.0f}x its "
                        f"{now['compile_warm_s']:.1f} s warm"
                    )
            if name in torch_ms:
                row["torch_step_ms"] = torch_ms[name]
                row["ratio_to_torch"] = step_ms / torch_ms[name]
                peer += f", {row['ratio_to_torch']:.2f}x PyTorch's {torch_ms[name]:.2f} ms"
            log(
                f"{name} on {backend}: {step_ms:.2f} ms per step "
                f"({row['step_speedup']:.1f}x faster than Theano's {theano['step_ms']} ms{peer}); "
                f"compile {cold:.1f} s cold{spread([c[1] for c, _ in pairs], '.1f')}, "
                f"{warm:.2f} s warm, after a start-up of "
                f"{startup_cold:.1f} s / {startup_warm:.1f} s "
                f"({row['compile_speedup_cold']:.0f}x faster than Theano's "
                f"{theano['compile_s']:.0f} s{against_now})"
            )
            rows.append(row)
    return rows


def first_epoch_fresh(name, compile_ahead, backend="jax"):
    """Run ``seqgraph tutorial NAME --quick --epochs 1`` in a fresh process, caches empty.

    Returns ``(first epoch, whole run)`` in seconds: the epoch as the fit loop
    times it (its batches' compiles included), the run from the process's
    start to its end (imports, data, building, the final evaluation).
    ``compile_ahead`` is the fit loop's option of that name.
    """
    import sys

    from seqgraph.bench.suite import cache_env

    with tempfile.TemporaryDirectory() as cache:
        env = cache_env(cache)
        history = os.path.join(cache, "history.json")
        command = [sys.executable, "-c", "import sys, seqgraph.cli; sys.exit(seqgraph.cli.main())"]
        command += ["tutorial", name, "--quick"]
        command += ["--epochs", "1", "--no-progress", "--backend", backend, "--history", history]
        if not compile_ahead:
            command.append("--no-compile-ahead")
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(str(done.stderr.strip().splitlines()[-1:]))
        with open(history) as f:
            return json.load(f)[0]["seconds"], wall


def first_epoch(names, runs, log, backend="jax"):
    """The quick tutorials' first epoch, cold, with the fit loop's compile_ahead on and off.

    ``runs`` alternating pairs of fresh processes per tutorial; rows hold the
    medians and every run.
    """
    rows = []
    for name in names:
        samples = {True: [], False: []}
        for _ in range(runs):
            for ahead in (False, True):
                samples[ahead].append(first_epoch_fresh(name, ahead, backend))
        row = {"tutorial": name, "backend": backend, "runs": runs}
        for ahead, key in ((False, "serial"), (True, "ahead")):
            row[f"{key}_epoch_s"] = statistics.median(e for e, _ in samples[ahead])
            row[f"{key}_run_s"] = statistics.median(w for _, w in samples[ahead])
            row[f"{key}_epoch_runs_s"] = [e for e, _ in samples[ahead]]
            row[f"{key}_run_runs_s"] = [w for _, w in samples[ahead]]
        row["epoch_ratio"] = row["ahead_epoch_s"] / row["serial_epoch_s"]
        log(
            f"{name} --quick, first epoch cold on {backend}: {row['ahead_epoch_s']:.2f} s with "
            f"compile_ahead, {row['serial_epoch_s']:.2f} s without ({row['epoch_ratio']:.2f}x); "
            f"whole run {row['ahead_run_s']:.1f} s against {row['serial_run_s']:.1f} s "
            f"(medians of {runs})"
        )
        rows.append(row)
    return rows


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(["jax"], 20, print, peers=["torch"]), indent=1))
