"""The LSTM's forward step before and after the one-pass activations, in one process.

Usage: ``python ab_one_pass.py WHAT PAIRS`` with WHAT ``small``, ``medium`` (the
benchmark's LSTM training step) or ``lstm-tutorial`` (``lstm.py``'s step).
Both versions are built and compiled, then called alternately PAIRS times
(which goes first swapping at every pair), each timed call after an untimed
one of the same version; prints the medians and the median of the per-pair
ratios new/old. ``SWAP=1`` builds the new version first.
"""

import os
import sys
import time

import numpy as np

os.environ["SEQGRAPH_JAX_CACHE"] = ""  # both versions compiled here, not read from disk

import pytensor.tensor as pt  # noqa: E402

from seqgraph import _bptt  # noqa: E402
from seqgraph.bench import impls, tutorials  # noqa: E402
from seqgraph.cells import gate_blocks  # noqa: E402

NEW_FORWARD = _bptt._LSTM.forward


def old_forward(self, xw_t, h, c, W, b):
    """The forward step as it was: three sigmoids and a tanh on the blocks, then a join."""
    n = self.n
    a = xw_t + pt.dot(h, W) + b
    a_i, a_f, a_g, a_o = gate_blocks(a, n, 4)
    i, f, g, o = pt.sigmoid(a_i), pt.sigmoid(a_f), pt.tanh(a_g), pt.sigmoid(a_o)
    c_new = f * c + i * g
    return [o * pt.tanh(c_new), c_new], pt.concatenate([i, f, g, o], axis=1)


def build(what):
    """A no-argument call of the step ``what`` names, compiled and called once."""
    _bptt._make_op.cache_clear()
    if what == "lstm-tutorial":
        step, batch, _ = tutorials.build("lstm", "jax")
        return lambda: step(*batch)
    spec = impls.Spec("lstm", *impls.SIZES[what], "train")
    x, mask = impls.make_data(spec)
    return impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, "jax").run


def main(what, pairs):
    runs = {}
    for version in ("new", "old") if os.environ.get("SWAP") else ("old", "new"):
        _bptt._LSTM.forward = old_forward if version == "old" else NEW_FORWARD
        runs[version] = build(what)
    _bptt._LSTM.forward = NEW_FORWARD
    times = {"old": [], "new": []}
    for i in range(pairs):
        for version in ("old", "new") if i % 2 == 0 else ("new", "old"):
            runs[version]()
            start = time.perf_counter()
            runs[version]()
            times[version].append(time.perf_counter() - start)
    old, new = np.array(times["old"]), np.array(times["new"])
    print(
        f"{what}: old {1e3 * np.median(old):.3f} ms  new {1e3 * np.median(new):.3f} ms  "
        f"ratio new/old {np.median(new / old):.3f}  swap={os.environ.get('SWAP', '')}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
