"""Run the benchmark matrix, check every implementation, time them interleaved.

Method
------
* Every implementation is built from the same weights (a seqgraph layer with
  a fixed seed; PyTorch gets them through :mod:`seqgraph.torch_io`).
* Its first call is timed as "compile" (build + first call: JIT, C or Numba
  compilation with the on-disk caches as they are) and its result is checked
  against the NumPy reference (the output for a forward, the loss of the
  first training step); a mismatch is reported and the implementation is not
  timed.
* Then ``warmup`` calls, and ``repeats`` rounds in which every
  implementation runs in turn, untimed calls then one timed; the median per
  implementation is reported.  The untimed calls take what the previous
  implementation left behind: PyTorch's OpenMP threads keep spinning for a few
  milliseconds after a call returns, and on a 2-core machine whatever runs
  next in that time was measured 15-30% slower (a training loop calls its
  own step back to back).  The untimed calls go on for ``--settle`` seconds
  (0.2 by default; at least one call): OpenBLAS's threads, which NumPy and the
  C backend use, spin for about 0.1 s after a product returns, and PyTorch's
  small LSTM step run right after a NumPy product took 2-3x its back-to-back
  time (10-16 against 4.9-7.1 ms), back to it after 0.15 s of its own calls
  (5.2 ms).  Sleeping instead would let the machine go idle, after which the
  next calls of every library are slower.  JAX results are waited for
  (``block_until_ready``), PyTorch on a GPU is synchronised.  Ratios are to
  the fastest peer (PyTorch, plain JAX, NumPy) of the same row, from these
  interleaved rounds.
* ``--peers torch-native`` (not a default) adds PyTorch on the CPU with
  oneDNN turned off: ``nn.LSTM`` then runs PyTorch's own loop of ATen ops
  instead of oneDNN's fused LSTM kernel, which shows how much of PyTorch's
  LSTM time that kernel saves.  It counts as a peer in the ratios.
* Peak memory: on the CPU the growth of the process's peak RSS during one
  call (the peak is reset through ``/proc/self/clear_refs``; memory a library
  keeps pooled from earlier calls is not counted again); on a GPU JAX's or
  PyTorch's own peak counters.
* Threads: BLAS and PyTorch get ``--threads`` threads (default: the CPU
  count); the JSON records them.  XLA's CPU thread pool has a thread per core
  the process may run on (``taskset`` sets that); ``--threads 1`` only keeps
  its matrix products on one thread.
* ``--cold`` measures seqgraph's cold and warm compile in fresh processes with
  empty PyTensor, Numba and JAX caches, then with what the first left; each
  figure is the median of ``--cold-runs`` such pairs (3 by default), since a
  cold compile varies with the machine's load (on this project's machine by
  up to 15% between runs minutes apart).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from seqgraph.bench import impls, machine

PEERS = ("torch", "jax", "numpy")
#: Peers run only when named in ``--peers``.
EXTRA_PEERS = ("torch-native",)
BACKENDS = ("c", "numba", "jax")
#: Seconds of untimed calls before each timed call in a round (``--settle``).
SETTLE_S = 0.2


def _set_threads(threads):
    # XLA has no setting for the size of its CPU thread pool (one thread per
    # core the process may run on: run the suite under `taskset` to change it);
    # with one thread, its matrix products at least run on one thread.
    os.environ.setdefault(
        "XLA_FLAGS", f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    )
    from seqgraph._blas import set_blas_threads

    set_blas_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def _rss_kib(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _trim_heap():
    """Give freed heap memory back to the OS, so that a call's allocations show in RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _peak_memory(impl, device):
    """MiB of peak memory growth during one call."""
    if device == "gpu":
        if impl.device_mib is not None:
            # JAX has no way to reset its allocator's peak: read the compiled
            # program's own figure instead.
            return impl.device_mib()
        if impl.name.startswith("torch"):
            import torch

            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            impl.run()
            return (torch.cuda.max_memory_allocated() - before) / 2**20
        import jax

        stats = jax.devices("gpu")[0].memory_stats() or {}
        before = stats.get("bytes_in_use", 0)
        impl.run()
        stats = jax.devices("gpu")[0].memory_stats() or {}
        return max(0, stats.get("peak_bytes_in_use", 0) - before) / 2**20
    _trim_heap()
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return float("nan")
    before = _rss_kib("VmRSS:")
    impl.run()
    return max(0, _rss_kib("VmHWM:") - before) / 1024


def _case_fields(spec) -> dict:
    """The fields of a result row that name its case."""
    return {
        "model": spec.model,
        "batch": spec.batch,
        "steps": spec.steps,
        "input": spec.n_in,
        "hidden": spec.hidden,
        "task": spec.task,
    }


def _on_gpu(name) -> bool:
    return "gpu" in name or "cudnn" in name


def _check(impl, reference, spec):
    """``(problem or None, error)`` of an implementation's first result.

    On the CPU the error is the largest elementwise relative error.  On a GPU,
    cuDNN and XLA multiply float32 matrices in TF32 (10-bit mantissa) by
    default on Ampere and later, which leaves absolute errors near 1e-3 on
    outputs close to zero; there the error is normwise,
    ``|got - want| / |want|`` (a wrong implementation is off by O(1) either way).
    """
    got = np.asarray(impl.first, dtype="float64")
    want = np.asarray(reference, dtype="float64")
    if got.shape != want.shape:
        return f"shape {got.shape} != reference {want.shape}", float("nan")
    if not got.size:
        return None, 0.0
    if _on_gpu(impl.name):
        tol, what = 1e-2, "normwise relative error"
        err = float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))
    else:
        tol, what = (2e-3 if spec.steps <= 200 else 1e-2), "max relative error"
        err = float(np.max(np.abs(got - want) / (np.abs(want) + 1e-3)))
    return (None if err <= tol else f"{what} {err:.2e} > {tol}"), err


def _time_settled(run, settle, clock=time.perf_counter):
    """Seconds of one call of ``run``, after calling it untimed for ``settle`` seconds.

    The untimed calls (one at least) take what the implementation timed before
    left running: threads of other libraries that spin for a while after
    their calls return (see "Method" above).
    """
    start = clock()
    run()
    while clock() - start < settle:
        run()
    start = clock()
    run()
    return clock() - start


def run_case(
    spec,
    backends,
    peers,
    device,
    repeats,
    warmup,
    log,
    gpu_only=False,
    batch_splits=1,
    settle=SETTLE_S,
):
    """Build, check and time every implementation for one spec; return result rows.

    With ``device="gpu"``, the GPU implementations are added to the CPU ones,
    or replace them with ``gpu_only``.  With ``batch_splits > 1``, a training
    step of seqgraph's JAX backend on the CPU whose batch is cut into that many
    concurrent parts (``compile_train(batch_splits=...)``) is added.  In each
    round, every implementation runs untimed for ``settle`` seconds (once at
    least), then once timed: see :func:`_time_settled`.
    """
    x, mask = impls.make_data(spec)
    ref_layer = impls.make_layer(spec)
    out = impls.numpy_forward(ref_layer, x, mask)
    reference = out if spec.task == "forward" else np.mean(out.astype("float64") ** 2)
    builders = []
    for backend in backends:
        builders.append((f"seqgraph-{backend}", impls.build_seqgraph, {"backend": backend}))
        if backend == "jax" and batch_splits > 1 and spec.task == "train":
            builders.append(
                (
                    f"seqgraph-jax-split{batch_splits}",
                    impls.build_seqgraph,
                    {"backend": "jax", "batch_splits": batch_splits},
                )
            )
        if backend == "jax" and device == "gpu":
            builders.append(
                ("seqgraph-jax-gpu", impls.build_seqgraph, {"backend": "jax", "device": "gpu"})
            )
    if "torch" in peers:
        builders.append(("torch", impls.build_torch, {}))
        if device == "gpu":
            builders.append(("torch-cudnn", impls.build_torch, {"device": "gpu"}))
    if "torch-native" in peers:
        builders.append(("torch-native", impls.build_torch, {"onednn": False}))
    if "jax" in peers:
        builders.append(("jax-lax.scan", impls.build_jax, {}))
        if device == "gpu":
            builders.append(("jax-lax.scan-gpu", impls.build_jax, {"device": "gpu"}))
    if "numpy" in peers:
        builders.append(("numpy", impls.build_numpy, {}))
    if device == "gpu" and gpu_only:
        builders = [b for b in builders if _on_gpu(b[0])]
    rows, ready = [], []
    for name, build, kwargs in builders:
        row = {**_case_fields(spec), "impl": name}
        try:
            impl = build(spec, impls.make_layer(spec), x, mask, **kwargs)
        except ImportError as exc:
            log(f"  {name}: skipped ({exc.name or exc} not installed)")
            continue
        except Exception as exc:  # a failing implementation is reported, not fatal
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            rows.append(row)
            log(f"  {name}: FAILED to build: {row['error']}")
            continue
        if impl is None:
            continue
        row["compile_s"] = impl.compile_seconds
        problem, row["error_vs_reference"] = _check(impl, reference, spec)
        if problem:
            row["mismatch"] = problem
            log(f"  {name}: MISMATCH, not timed: {problem}")
            rows.append(row)
            continue
        rows.append(row)
        ready.append((row, impl))
    for _ in range(warmup):
        for _, impl in ready:
            impl.run()
    times = {id(row): [] for row, _ in ready}
    for _ in range(repeats):
        for row, impl in ready:
            times[id(row)].append(_time_settled(impl.run, settle))
    for row, impl in ready:
        row["time_ms"] = 1e3 * statistics.median(times[id(row)])
        row["peak_mib"] = _peak_memory(impl, "gpu" if _on_gpu(row["impl"]) else "cpu")
    # Ratios compare implementations on the same kind of device.
    for gpu in (False, True):
        timed = [r for r in rows if "time_ms" in r and _on_gpu(r["impl"]) == gpu]
        peer_times = [r["time_ms"] for r in timed if not r["impl"].startswith("seqgraph")]
        if peer_times:
            best = min(peer_times)
            for r in timed:
                r["ratio_to_fastest_peer"] = r["time_ms"] / best
    return rows


_COLD_PROBE = """
import json, time
import numpy as np
import pytensor.tensor as pt
import seqgraph
from seqgraph.bench import impls

# Process start-up, timed apart: the first function a process compiles pays
# for imports and the backend's own initialisation (JAX's MLIR and LAPACK
# set-up, the C backend's module loading), whatever the graph.
start = time.perf_counter()
v = pt.vector("v", dtype="float32")
seqgraph.function([v], 2 * v, backend={backend!r}, device={device!r})(np.ones(3, "float32"))
startup = time.perf_counter() - start
s = impls.Spec({model!r}, {batch}, {steps}, {n_in}, {hidden}, {task!r})
x, m = impls.make_data(s)
i = impls.build_seqgraph(s, impls.make_layer(s), x, m, {backend!r}, device={device!r})
print(json.dumps([startup, i.compile_seconds, i.graph_seconds]))
"""


def cold_compile(spec, backend, log, device="cpu", runs=1):
    """Cold and warm compile of seqgraph on ``backend``, each in a fresh process.

    Returns ``(cold, warm, samples)``: ``cold`` and ``warm`` are
    ``(startup, compile, graph)`` in seconds, each value the median over
    ``runs`` pairs of processes (:func:`median_pairs`), and ``samples`` the
    pairs themselves.  In a pair the first process has empty PyTensor, Numba
    and JAX caches, the second finds what the first left.  ``compile`` is
    ``seqgraph.function`` plus the first call; ``graph`` is building the
    graph before (the layer's scan and ``pytensor.grad``); ``startup`` is the
    first, trivial function of the process (imports and backend
    initialisation).  Returns None (and logs why) when a process fails.
    """
    probe = _COLD_PROBE.format(backend=backend, device=device, **vars(spec))
    try:
        pairs = [fresh_process_pair(probe) for _ in range(runs)]
    except RuntimeError as err:
        log(f"  cold compile on {backend} failed: {err}")
        return None
    return median_pairs(pairs)


def median_pairs(pairs):
    """The median of each value over cold/warm ``pairs``; returns ``(cold, warm, pairs)``.

    A cold compile in a fresh process varies with the machine's load, so a
    figure is the median of several (``--cold-runs``); the samples go into
    the results beside it.
    """
    pairs = [(tuple(cold), tuple(warm)) for cold, warm in pairs]
    if not pairs:
        raise ValueError("median_pairs needs at least one pair")

    def median(which):
        return tuple(statistics.median(values) for values in zip(*(p[which] for p in pairs)))

    return median(0), median(1), pairs


def cache_env(folder):
    """This process's environment with the PyTensor, Numba and JAX caches in ``folder``."""
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={folder}/pytensor"
    env["NUMBA_CACHE_DIR"] = f"{folder}/numba"
    env["SEQGRAPH_JAX_CACHE"] = f"{folder}/jax"
    # A GPU this process already uses holds 75% of its memory (JAX preallocates
    # it): a child process allocates on demand from the rest.
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    return env


def fresh_process_pair(probe):
    """Run ``python -c probe`` twice, first with empty caches, then with what it left.

    The PyTensor, Numba and JAX caches point into a temporary folder.  Returns
    the JSON value each run printed last; raises RuntimeError with the last
    line of the error output when a run fails.
    """
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env = cache_env(cache)
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=900
            )
            if done.returncode != 0:
                raise RuntimeError(str(done.stderr.strip().splitlines()[-1:]))
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


_MEMORY_PROBE = """
import json
from seqgraph.bench import impls, suite
suite._set_threads({threads})
spec = impls.Spec({model!r}, {batch}, {steps}, {n_in}, {hidden}, {task!r})
x, m = impls.make_data(spec)
impl = getattr(impls, {builder!r})(spec, impls.make_layer(spec), x, m, **{kwargs!r})
impl.run()
print(json.dumps(suite._peak_memory(impl, "cpu")))
"""

# Every allocation of 64 KiB or more gets its own mapping, returned to the OS
# when freed; otherwise glibc keeps freed memory for reuse and a call's peak
# depends on what earlier calls left behind.  seqgraph's own malloc setting,
# which keeps freed blocks for speed (seqgraph._malloc), is left off here.
_MEMORY_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "65536",
    "MALLOC_TRIM_THRESHOLD_": "0",
    "SEQGRAPH_MALLOC_TUNING": "0",
}


def isolated_memory(spec, backends, peers, threads, log):
    """Peak memory of one call, each implementation alone in a fresh process (CPU).

    The process builds the implementation, calls it once (compiling, filling
    the libraries' pools), then reports the growth of its peak RSS during a
    second call, with glibc told to map large blocks (see ``_MEMORY_ENV``).
    """
    builders = [(f"seqgraph-{b}", "build_seqgraph", {"backend": b}) for b in backends]
    if "torch" in peers:
        builders.append(("torch", "build_torch", {}))
    if "jax" in peers:
        builders.append(("jax-lax.scan", "build_jax", {}))
    if "numpy" in peers and spec.task == "forward":
        builders.append(("numpy", "build_numpy", {}))
    rows = []
    for name, builder, kwargs in builders:
        probe = _MEMORY_PROBE.format(threads=threads, builder=builder, kwargs=kwargs, **vars(spec))
        done = subprocess.run(
            [sys.executable, "-c", probe],
            env=dict(os.environ, **_MEMORY_ENV),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        row = {**_case_fields(spec), "impl": name}
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no output"]
            if "ModuleNotFoundError" in last[0]:
                log(f"  {name}: skipped ({last[0]})")
                continue
            row["error"] = last[0][:200]
        else:
            row["peak_mib"] = float(done.stdout.strip().splitlines()[-1])
            log(f"  {name}: {row['peak_mib']:.0f} MiB")
        rows.append(row)
    torch_peak = [r["peak_mib"] for r in rows if r["impl"] == "torch" and "peak_mib" in r]
    for r in rows:
        if torch_peak and "peak_mib" in r:
            r["ratio_to_torch"] = r["peak_mib"] / torch_peak[0]
    return rows


def environment(threads):
    import pytensor

    import seqgraph

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "seqgraph": seqgraph.__version__,
        "pytensor": pytensor.__version__,
        "numpy": np.__version__,
        "blas": seqgraph.BLAS_SOURCE,
        "floatX": pytensor.config.floatX,
    }
    for name in ("jax", "torch", "numba"):
        try:
            module = __import__(name)
            env[name] = module.__version__
        except ImportError:
            env[name] = None
    try:
        import jax

        from seqgraph import _jax

        _jax.configure()  # before JAX starts its clients (see seqgraph._malloc)
        env["jax_devices"] = [str(d) for d in jax.devices()]
    except ImportError:
        pass
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return env


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_table(rows, title):
    headers = [
        "model",
        "size",
        "task",
        "impl",
        "compile s",
        "time ms",
        "vs peer",
        "peak MiB",
        "note",
    ]
    body = []
    for r in rows:
        body.append(
            [
                r["model"],
                f"{r['batch']},{r['steps']},{r['input']},{r['hidden']}",
                r["task"],
                r["impl"],
                f"{r['compile_s']:.2f}" if "compile_s" in r else "",
                f"{r['time_ms']:.2f}" if "time_ms" in r else "",
                f"{r['ratio_to_fastest_peer']:.2f}x" if "ratio_to_fastest_peer" in r else "",
                f"{r['peak_mib']:.1f}" if "peak_mib" in r else "",
                r.get("mismatch") or r.get("error") or "",
            ]
        )
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=title)
        for h in headers:
            table.add_column(
                h, justify="right" if h not in ("model", "task", "impl", "note") else "left"
            )
        for line in body:
            table.add_row(*(escape(cell) for cell in line))  # "jax[cuda12]" is not markup
        import shutil

        Console(width=max(140, shutil.get_terminal_size().columns)).print(table)
    except ImportError:
        widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        for line in body:
            print("  ".join(v.ljust(w) for v, w in zip(line, widths)))


def _print_overhead(rows):
    impls_seen = sorted({r["impl"] for r in rows if "us_per_step" in r})
    steps = sorted({r["steps"] for r in rows})
    print("Elman, hidden 32, batch 1, forward: microseconds per step")
    print("T".rjust(6) + "".join(name.rjust(16) for name in impls_seen))
    for t in steps:
        cells = []
        for name in impls_seen:
            match = [
                r for r in rows if r["steps"] == t and r["impl"] == name and "us_per_step" in r
            ]
            cells.append(f"{match[0]['us_per_step']:.1f}".rjust(16) if match else " " * 16)
        print(str(t).rjust(6) + "".join(cells))


def plot(results, path):
    """Time vs sequence length and vs hidden size, BPTT memory vs length, compile times.

    Returns None (no file) without matplotlib, or when the run timed none of these
    (an A/B comparison, ``--op-times``, the tutorials alone).
    """
    if not any(results.get(key) for key in ("rows", "scaling_steps", "scaling_hidden")):
        return None
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.5))
    for ax, key, rows in (
        (axes[0], "steps", results.get("scaling_steps", [])),
        (axes[1], "hidden", results.get("scaling_hidden", [])),
    ):
        for impl in sorted({r["impl"] for r in rows if "time_ms" in r}):
            pts = sorted(
                (r[key], r["time_ms"]) for r in rows if r["impl"] == impl and "time_ms" in r
            )
            if pts:
                ax.plot(*zip(*pts), marker="o", label=impl)
        ax.set_xlabel("sequence length" if key == "steps" else "hidden size")
        ax.set_ylabel("LSTM training step (ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    rows = results.get("scaling_steps", [])
    for impl in sorted({r["impl"] for r in rows if "peak_mib" in r}):
        pts = sorted(
            (r["steps"], r["peak_mib"]) for r in rows if r["impl"] == impl and "peak_mib" in r
        )
        axes[2].plot(*zip(*pts), marker="o", label=impl)
    axes[2].set_xlabel("sequence length")
    axes[2].set_ylabel("peak memory growth of one step (MiB)")
    if axes[2].get_legend_handles_labels()[0]:
        axes[2].legend(fontsize=7)
    compile_rows = [r for r in results["rows"] if "compile_s" in r]
    names = sorted({r["impl"] for r in compile_rows})
    means = [np.mean([r["compile_s"] for r in compile_rows if r["impl"] == n]) for n in names]
    axes[3].barh(names, means)
    axes[3].set_xlabel("mean compile (build + first call), s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="seqgraph bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="LSTM and GRU, small, the default backend and the peers, short scaling: < 2 min",
    )
    p.add_argument("--models", nargs="+", choices=impls.MODELS)
    p.add_argument("--sizes", nargs="+", choices=list(impls.SIZES))
    p.add_argument("--backends", nargs="+", choices=BACKENDS, help="seqgraph backends")
    p.add_argument(
        "--peers",
        nargs="*",
        choices=PEERS + EXTRA_PEERS,
        default=list(PEERS),
        help="peers to time (default: %(default)s); torch-native is PyTorch without oneDNN",
    )
    p.add_argument("--tasks", nargs="+", choices=["forward", "train"], default=["forward", "train"])
    p.add_argument(
        "--device",
        choices=["cpu", "gpu"],
        default="cpu",
        help="gpu adds seqgraph's JAX, plain JAX and cuDNN on the GPU",
    )
    p.add_argument(
        "--gpu-only",
        action="store_true",
        help="with --device gpu: time only the GPU implementations",
    )
    p.add_argument(
        "--batch-splits",
        type=int,
        default=1,
        metavar="N",
        help="with N > 1, also time seqgraph's JAX training steps with the batch cut into N "
        "parts run at once (compile_train(batch_splits=N); CPU)",
    )
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        help=f"seconds of untimed calls before each timed call in a round (default {SETTLE_S}: "
        "other libraries' threads stop spinning first; 0: one untimed call)",
    )
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--scaling", action="store_true", help="time and memory vs T and vs hidden")
    p.add_argument("--cold", action="store_true", help="cold and warm compile in fresh processes")
    p.add_argument(
        "--cold-runs",
        type=int,
        default=3,
        metavar="N",
        help="with --cold: pairs of fresh processes (cold, then warm) per compile figure; "
        "the median is reported, every run kept in the JSON (default 3)",
    )
    p.add_argument(
        "--overhead",
        action="store_true",
        help="per-step cost of a tiny Elman net (hidden 32, batch 1, T = 25..1000), us/step",
    )
    p.add_argument(
        "--memory",
        action="store_true",
        help="peak memory of the medium LSTM's training step over T=1000, each "
        "implementation alone in a fresh process (CPU)",
    )
    p.add_argument(
        "--tutorials",
        action="store_true",
        help="the RNNSLU and LSTM tutorials' training steps and compile at their original "
        "sizes, against the original Theano's figures",
    )
    p.add_argument(
        "--first-epoch",
        action="store_true",
        help="the quick tutorials' first epoch (seqgraph tutorial NAME --quick --epochs 1) "
        "in fresh processes with empty caches, with the fit loop's compile_ahead on and off "
        "(JAX; --cold-runs pairs each)",
    )
    p.add_argument(
        "--theano-python",
        metavar="PATH",
        help="with --tutorials: an interpreter with the original Theano 1.0.5 "
        "(benchmarks/theano-env.sh makes one), which times the tutorials' steps in Theano "
        "in this run (and, with --cold, Theano's cold and warm compiles)",
    )
    p.add_argument(
        "--no-matrix",
        action="store_true",
        help="skip the models x sizes matrix (run only --scaling, --overhead, --memory, "
        "--tutorials, --first-epoch, --cold)",
    )
    p.add_argument(
        "--ab",
        metavar="VAR=A,B",
        help="compare two values of one of seqgraph's build-time switches (SEQGRAPH_...) in "
        "one process, on seqgraph alone: the matrix's cases and, with --tutorials, the "
        "tutorials' steps, each built under both values and called alternately",
    )
    p.add_argument(
        "--pairs", type=int, default=30, help="with --ab: alternating pairs of calls per case"
    )
    p.add_argument(
        "--op-times",
        action="store_true",
        help="instead of timing against the peers, print the time of each XLA operation "
        "(loops with their bodies) of seqgraph's JAX step for each case of the matrix "
        "(seqgraph.profiling.op_times)",
    )
    p.add_argument("--out", default="bench-results", help="folder for the JSON and PNG")
    o = p.parse_args(argv)
    ab_setting = None
    if o.ab is not None:
        from seqgraph.bench import ab

        try:
            ab_setting = ab.parse(o.ab)
        except ValueError as err:
            p.error(str(err))
        if o.cold or o.memory or o.overhead or o.scaling or o.quick or o.first_epoch:
            p.error(
                "--ab compares steps only; leave out --cold, --memory, --overhead, --scaling, --quick, --first-epoch"
            )
        if o.pairs < 1:
            p.error(f"--pairs must be >= 1; got {o.pairs}")
    if o.op_times and (ab_setting is not None or o.no_matrix):
        p.error("--op-times profiles the matrix's cases: leave out --ab and --no-matrix")
    if o.batch_splits < 1:
        p.error(f"--batch-splits must be >= 1; got {o.batch_splits}")
    if o.cold_runs < 1:
        p.error(f"--cold-runs must be >= 1; got {o.cold_runs}")
    if not o.settle >= 0:  # NaN too
        p.error(f"--settle must be >= 0 seconds; got {o.settle}")
    if o.theano_python is not None:
        if not o.tutorials or ab_setting is not None:
            p.error(
                "--theano-python times the tutorials in Theano: use it with --tutorials, without --ab"
            )
        if not (os.path.isfile(o.theano_python) and os.access(o.theano_python, os.X_OK)):
            p.error(f"--theano-python: {o.theano_python!r} is not an executable file")
    _set_threads(o.threads)
    import seqgraph

    available = seqgraph.available_backends()
    models = o.models or (["lstm", "gru"] if o.quick else list(impls.MODELS))
    sizes = o.sizes or (["small"] if o.quick else list(impls.SIZES))
    # --quick keeps to the default backend: JAX compiles in seconds even on a fresh
    # machine, where the C backend first compiles its ops (about 40 s per model).
    quick_backends = ["jax"] if "jax" in available else ["c"]
    backends = [
        b for b in (o.backends or (quick_backends if o.quick else list(BACKENDS))) if b in available
    ]
    repeats = o.repeats or (5 if o.quick else 15)
    log = print
    results = {"environment": environment(o.threads), "rows": []}
    log(
        f"seqgraph bench: models {models}, sizes {sizes}, backends {backends}, peers {o.peers}, "
        f"device {o.device}, {o.threads} threads, {repeats} rounds"
    )
    speed = results["environment"]["speed"] = {"start": machine.speed_probe()}
    log(f"machine speed at the start: {machine.describe(speed['start'])}")
    if ab_setting is not None:
        name, a, b = ab_setting
        specs = [
            impls.Spec(model, *impls.SIZES[size], task)
            for model in ([] if o.no_matrix else models)
            for size in sizes
            for task in o.tasks
        ]
        from seqgraph.bench import tutorials

        names = list(tutorials.TUTORIALS) if o.tutorials else []
        log(f"A/B in one process: {name}={a} against {name}={b}, {o.pairs} pairs per case")
        results["ab"] = ab.run(name, a, b, specs, names, backends, o.pairs, log)
        return _finish(results, o.out, log)

    if o.op_times:
        if "jax" not in available:
            p.error("--op-times needs JAX (pip install 'seqgraph[jax]')")
        results["op_times"] = []
        for model in models:
            for size in sizes:
                for task in o.tasks:
                    spec = impls.Spec(model, *impls.SIZES[size], task)
                    results["op_times"].append(_op_times_case(spec, o.device, repeats, log))
        return _finish(results, o.out, log)

    def case(spec, rounds, warmup, batch_splits=1):
        return run_case(
            spec,
            backends,
            o.peers,
            o.device,
            rounds,
            warmup,
            log,
            o.gpu_only,
            batch_splits,
            o.settle,
        )

    for model in [] if o.no_matrix else models:
        for size in sizes:
            for task in o.tasks:
                spec = impls.Spec(model, *impls.SIZES[size], task)
                log(f"{model} {size} {task}")
                results["rows"] += case(spec, repeats, o.warmup, o.batch_splits)
    if results["rows"]:
        print_table(results["rows"], "seqgraph bench: median time per call")
    if o.scaling or o.quick:
        steps = [25, 100, 250] if o.quick else [25, 50, 100, 250, 500, 1000]
        hiddens = [64, 128, 256] if o.quick else [64, 128, 256, 512]
        results["scaling_steps"], results["scaling_hidden"] = [], []
        for t in steps:
            spec = impls.Spec("lstm", 16, t, 64, 128, "train")
            log(f"scaling: T={t}")
            results["scaling_steps"] += case(spec, 3, 1)
        for h in hiddens:
            spec = impls.Spec("lstm", 16, 50, 64, h, "train")
            log(f"scaling: hidden={h}")
            results["scaling_hidden"] += case(spec, 3, 1)
        print_table(results["scaling_steps"], "LSTM training step vs sequence length (BPTT memory)")
        print_table(results["scaling_hidden"], "LSTM training step vs hidden size")
    if o.overhead:
        results["overhead"] = []
        for t in (25, 100, 400, 1000):
            spec = impls.Spec("elman", 1, t, 32, 32, "forward")
            log(f"overhead: T={t}")
            rows = case(spec, repeats, o.warmup)
            for row in rows:
                if "time_ms" in row:
                    row["us_per_step"] = 1e3 * row["time_ms"] / t
                results["overhead"].append(row)
        _print_overhead(results["overhead"])
    if o.tutorials:
        from seqgraph.bench import tutorials

        log("tutorials at their original sizes")
        results["tutorials"] = tutorials.run(
            backends,
            repeats,
            log,
            o.peers,
            theano_python=o.theano_python,
            theano_cold=o.cold,
            cold_runs=o.cold_runs,
        )
    if o.first_epoch and "jax" in backends:
        from seqgraph.bench import tutorials

        log("quick tutorials' first epoch, compiled ahead or not")
        results["first_epoch"] = tutorials.first_epoch(
            ["rnnslu", "lstm"], o.cold_runs, log, backend="jax"
        )
    if o.memory:
        batch, _, n_in, hidden = impls.SIZES["medium"]
        spec = impls.Spec("lstm", batch, 1000, n_in, hidden, "train")
        log("memory: LSTM training step, medium, T=1000, one process per implementation")
        results["memory"] = isolated_memory(spec, backends, o.peers, o.threads, log)
        for r in results["memory"]:
            if "ratio_to_torch" in r:
                log(f"  {r['impl']}: {r['ratio_to_torch']:.2f}x PyTorch's peak")
    if o.cold:
        results["cold_compile"] = []
        spec = impls.Spec("lstm", *impls.SIZES["small"], "train")
        for backend in backends:
            device = o.device if backend == "jax" else "cpu"
            measured = cold_compile(spec, backend, log, device, runs=o.cold_runs)
            if measured:
                (cold_start, cold, graph), (warm_start, warm, _), pairs = measured
                results["cold_compile"].append(
                    {
                        "backend": backend,
                        "device": device,
                        "cold_s": cold,
                        "warm_s": warm,
                        "startup_cold_s": cold_start,
                        "startup_warm_s": warm_start,
                        "graph_s": graph,
                        "cold_runs_s": [c[1] for c, _ in pairs],
                        "warm_runs_s": [w[1] for _, w in pairs],
                    }
                )
                log(
                    f"compile, LSTM training step, {backend} ({device}): cold {cold:.2f} s"
                    f"{spread([c[1] for c, _ in pairs], '.2f')}, warm {warm:.2f} s "
                    f"(before it: building the graph {graph:.2f} s; the process's first, "
                    f"trivial function {cold_start:.2f} s cold, {warm_start:.2f} s warm)"
                )
    return _finish(results, o.out, log)


def spread(values, fmt):
    """`` (median of N: lo-hi s)`` for several values, nothing for one."""
    if len(values) < 2:
        return ""
    return f" (median of {len(values)}: {min(values):{fmt}}-{max(values):{fmt}} s)"


def _op_times_case(spec, device, calls, log):
    """Print and return the time of each XLA operation of seqgraph's JAX step for ``spec``."""
    from dataclasses import asdict

    x, mask = impls.make_data(spec)
    impl = impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, "jax", device=device)
    times = impl.op_times(calls)
    log(f"{spec.model} {spec.batch},{spec.steps},{spec.n_in},{spec.hidden} {spec.task}:")
    log(times.table())
    return {
        **_case_fields(spec),
        "calls": times.calls,
        "call_ms": times.call_ms,
        "traced_call_ms": times.traced_call_ms,
        "platform": times.platform,
        "ops": [asdict(op) for op in times.ops],
    }


def _finish(results, out, log):
    """Probe the machine's speed once more (see :mod:`seqgraph.bench.machine`), then write."""
    speed = results["environment"]["speed"]
    speed["end"] = machine.speed_probe()
    log(f"machine speed at the end: {machine.describe(speed['end'])}")
    return _write(results, out, log)


def _write(results, out, log):
    """Write ``results`` as JSON (and the plot, if there is anything to plot) under ``out``."""
    os.makedirs(out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(out, f"bench-{stamp}.json")
    with open(json_path, "w") as handle:
        json.dump(results, handle, indent=1, default=float)
    png = plot(results, os.path.join(out, f"bench-{stamp}.png"))
    log(f"wrote {json_path}" + (f" and {png}" if png else ""))
    return 0
