from seqgraph.bench.suite import main

raise SystemExit(main())
