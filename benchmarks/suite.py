"""The benchmark suite; same as ``seqgraph bench``: ``python -m benchmarks.suite --quick``."""

from seqgraph.bench.suite import main

if __name__ == "__main__":
    raise SystemExit(main())
