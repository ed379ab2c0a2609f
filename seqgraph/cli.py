"""The ``seqgraph`` command: ``seqgraph demo``, ``seqgraph info``."""

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

        print(f"JAX devices: {', '.join(str(d) for d in jax.devices())}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``seqgraph`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"demo": "train a small LSTM for a few steps", "info": "show backends and BLAS"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print("usage: seqgraph {demo,info} [options]\n")
        for name, text in commands.items():
            print(f"  {name:6s} {text}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    if argv[0] == "demo":
        from seqgraph.demo import main as demo

        return demo(argv[1:])
    return _info(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
