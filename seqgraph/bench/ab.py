"""Two settings of one of seqgraph's switches, compared in one process (``seqgraph bench --ab``).

On a shared machine the time of the same step drifts by 15-30% from one
process to the next, and by 1.5-2x from one day to another, which hides the
effect of most single changes.  ``--ab VAR=A,B`` builds each selected step
twice in one process, once with the environment variable ``VAR`` set to ``A``
and once with ``B`` (each compiled while its setting holds), then calls the
two alternately, ``--pairs`` times, swapping which goes first at every pair.
It reports each one's median and the median of the per-pair ratios B/A, so
that drift over the run touches both sides alike.

Only seqgraph's own switches read when a function is built can be compared
this way (``SEQGRAPH_CHUNKED_UPDATES``, ``SEQGRAPH_FUSED_BPTT``,
``SEQGRAPH_SCAN_PREFETCH`` ...); variables read once per process
(``XLA_FLAGS``, ``SEQGRAPH_MALLOC_TUNING``) need separate processes.  The
on-disk cache of compiled functions is off during the comparison, since its
key does not hold arbitrary variables.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import time

# Read once per process, or the comparison's own machinery: refused.
_REFUSED = {
    "SEQGRAPH_MALLOC_TUNING": "it is applied once, when seqgraph is imported",
    "SEQGRAPH_JAX_CACHE": "the comparison turns the on-disk cache off itself",
}


def parse(text: str) -> tuple[str, str, str]:
    """``"VAR=A,B"`` -> ``(VAR, A, B)``.

    Raises
    ------
    ValueError
        If ``text`` is not of that form, names a variable other than one of
        seqgraph's build-time switches, or gives two equal values.
    """
    name, sep, values = text.partition("=")
    parts = values.split(",")
    if not sep or not name or len(parts) != 2:
        raise ValueError(f"--ab takes VAR=A,B (two values of one variable); got {text!r}.")
    name = name.strip()
    a, b = (part.strip() for part in parts)
    if not name.startswith("SEQGRAPH_"):
        raise ValueError(
            f"--ab compares seqgraph's switches read when a function is built "
            f"(SEQGRAPH_...); {name} is not one (variables such as XLA_FLAGS are read "
            "once per process: compare them in separate processes)."
        )
    if name in _REFUSED:
        raise ValueError(f"--ab cannot compare {name}: {_REFUSED[name]}.")
    if a == b:
        raise ValueError(f"--ab needs two different values of {name}; got {a!r} twice.")
    return name, a, b


@contextlib.contextmanager
def _setting(name, value):
    """``name=value`` in the environment, the on-disk function cache off, inside the block."""
    saved = {key: os.environ.get(key) for key in (name, "SEQGRAPH_JAX_CACHE")}
    os.environ[name] = value
    os.environ["SEQGRAPH_JAX_CACHE"] = ""
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _fresh_graphs():
    """Forget graphs cached per process that a switch may shape (the written-out gradient's ops)."""
    from seqgraph import _bptt

    _bptt._make_op.cache_clear()


def compare(build, name, a, b, pairs):
    """Build ``build()`` under each setting, then time the two alternately.

    ``build()`` returns a function of no arguments that runs one step and
    waits for its result; it is built, and called once (compiled), while its
    setting holds.  Returns a dict with the medians (ms), the median of the
    per-pair ratios B/A and the number of pairs.
    """
    runs = {}
    for value in (a, b):
        with _setting(name, value):
            _fresh_graphs()
            run = build()
            run()
        runs[value] = run
    for run in runs.values():
        run()
    times = {a: [], b: []}
    for k in range(pairs):
        for value in (a, b) if k % 2 == 0 else (b, a):
            start = time.perf_counter()
            runs[value]()
            times[value].append(time.perf_counter() - start)
    ratios = [tb / ta for ta, tb in zip(times[a], times[b])]
    return {
        "variable": name,
        "a": a,
        "b": b,
        "a_ms": 1e3 * statistics.median(times[a]),
        "b_ms": 1e3 * statistics.median(times[b]),
        "ratio_b_to_a": statistics.median(ratios),
        "pairs": pairs,
    }


def _blocking(step, batch):
    def run():
        result = step(*batch)
        for value in result if isinstance(result, (list, tuple)) else [result]:
            wait = getattr(value, "block_until_ready", None)
            if wait is not None:
                wait()
        return result

    return run


def run(name, a, b, specs, tutorial_names, backends, pairs, log):
    """A/B rows for the matrix cases ``specs`` and the tutorials ``tutorial_names``."""
    from seqgraph.bench import impls, tutorials

    def build_case(spec, x, mask, backend):
        return impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, backend).run

    def build_tutorial(tutorial, backend):
        step, batch, _ = tutorials.build(tutorial, backend)
        return _blocking(step, batch)

    cases = []
    for spec in specs:
        case = f"{spec.model} {spec.batch},{spec.steps},{spec.n_in},{spec.hidden} {spec.task}"
        cases.append((case, functools.partial(build_case, spec, *impls.make_data(spec))))
    for tutorial in tutorial_names:
        cases.append((f"tutorial {tutorial}", functools.partial(build_tutorial, tutorial)))
    rows = []
    for backend in backends:
        for case, build in cases:
            row = compare(functools.partial(build, backend=backend), name, a, b, pairs)
            rows.append({"case": case, "backend": backend, **row})
            _log_row(rows[-1], log)
    return rows


def _log_row(row, log):
    log(
        f"  {row['case']} ({row['backend']}): {row['variable']}={row['a']} {row['a_ms']:.3f} ms, "
        f"={row['b']} {row['b_ms']:.3f} ms; B/A {row['ratio_b_to_a']:.3f} "
        f"(median of {row['pairs']} alternating pairs)"
    )
