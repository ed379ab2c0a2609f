"""One of seqgraph's build-time switches (SEQGRAPH_...) at 0 and 1, in one process.

The step is the benchmark's training step (``lstm-small``, ``gru-medium`` ...) or
``lstm-tutorial`` (``lstm.py``'s step)
both versions are built, then called
alternately (``seqgraph.bench.ab.compare``).

Usage: ``python ab_switch.py WHAT SEQGRAPH_TRANSPOSED_COPY PAIRS``
"""

import os
import sys

os.environ["SEQGRAPH_JAX_CACHE"] = ""
from seqgraph.bench import ab, impls, tutorials

what = sys.argv[1]


def build():
    if what == "lstm-tutorial":
        step, batch, _ = tutorials.build("lstm", "jax")
        return ab._blocking(step, batch)
    model, size = what.split("-")
    spec = impls.Spec(model, *impls.SIZES[size], "train")
    x, mask = impls.make_data(spec)
    return impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, "jax").run


var = sys.argv[2]
row = ab.compare(build, var, "0", "1", int(sys.argv[3]))
print(
    f"{what} {var}: 0 {row['a_ms']:.3f} ms  1 {row['b_ms']:.3f} ms  ratio {row['ratio_b_to_a']:.3f}"
)
