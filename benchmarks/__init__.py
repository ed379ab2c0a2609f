"""seqgraph's benchmark suite (run the modules with ``python -m benchmarks.NAME``)."""
