"""The ``seqgraph`` command: demo, info, run, port."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _info(argv) -> int:
    argparse.ArgumentParser(prog="seqgraph info", description="Show backends and BLAS.").parse_args(
        argv
    )
    import pytensor

    import seqgraph
    from seqgraph import backends

    print(
        f"seqgraph {seqgraph.__version__}, pytensor {pytensor.__version__}, Python {sys.version.split()[0]}"
    )
    print(f"floatX: {pytensor.config.floatX}")
    print(
        f"backends available: {', '.join(backends.available_backends())} (default {backends.resolve().backend})"
    )
    print(f"C backend BLAS: {seqgraph.BLAS_SOURCE}")
    if "jax" in backends.available_backends():
        import jax

        from seqgraph import _jax

        _jax.configure()  # before JAX starts its clients (see seqgraph._malloc)
        print(f"JAX devices: {', '.join(str(d) for d in jax.devices())}")
    return 0


def _run(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="seqgraph run",
        description="Run a Python 3 Theano script with `import theano` resolving to seqgraph.theano.",
    )
    parser.add_argument(
        "--no-legacy-names",
        action="store_true",
        help="do not define again the Python and NumPy names removed since Theano's time "
        "(collections.Iterable, inspect.getargspec, numpy.float ...)",
    )
    parser.add_argument("script", help="the script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    options = parser.parse_args(argv)
    import os
    import runpy

    import seqgraph.theano

    seqgraph.theano.install()
    if not options.no_legacy_names:
        from seqgraph.theano._legacy import install_legacy_names

        install_legacy_names()
    script = os.path.abspath(options.script)
    if not os.path.isfile(script):
        parser.error(f"script {options.script!r} does not exist")
    sys.argv = [options.script, *options.args]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")
    return 0


def _port(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="seqgraph port",
        description="Convert a Python 2 Theano script to Python 3 on seqgraph.theano.",
    )
    parser.add_argument("script", help="the Python 2 script")
    parser.add_argument("-o", "--output", help="where to write the result (default: stdout)")
    options = parser.parse_args(argv)
    from seqgraph.port import port_source

    with open(options.script, encoding="utf-8") as handle:
        report = port_source(handle.read(), options.script)
    if options.output:
        with open(options.output, "w", encoding="utf-8") as handle:
            handle.write(report.source)
    else:
        sys.stdout.write(report.source)
    print(report.summary(), file=sys.stderr)
    return 1 if report.problems else 0


def _tutorial(argv) -> int:
    import importlib

    from seqgraph.tutorials import TUTORIALS

    if not argv or argv[0] not in TUTORIALS:
        print(f"usage: seqgraph tutorial {{{','.join(TUTORIALS)}}} [--quick] [options]")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"seqgraph.tutorials.{argv[0]}")
    module.main(argv[1:])
    return 0


def main(argv=None) -> int:
    """Entry point of the ``seqgraph`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "demo": "train a small LSTM for a few steps",
        "info": "show backends and BLAS",
        "run": "run a Theano script on seqgraph (seqgraph run script.py [args])",
        "port": "convert a Python 2 Theano script (seqgraph port old.py [-o new.py])",
        "tutorial": "run a ported tutorial (rnnslu, lstm, rnnlm, gru_lm) [--quick]",
        "bench": "the benchmark suite: backends and peers on the same work [--quick]",
    }
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print("usage: seqgraph {demo,info,run,port,tutorial,bench} [options]\n")
        for name, text in commands.items():
            print(f"  {name:8s} {text}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    if argv[0] == "demo":
        from seqgraph.demo import main as demo

        return demo(argv[1:])
    if argv[0] == "run":
        return _run(argv[1:])
    if argv[0] == "port":
        return _port(argv[1:])
    if argv[0] == "tutorial":
        return _tutorial(argv[1:])
    if argv[0] == "bench":
        from seqgraph.bench.suite import main as bench

        return bench(argv[1:])
    return _info(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
