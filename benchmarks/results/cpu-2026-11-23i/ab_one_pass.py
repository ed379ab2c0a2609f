"""The LSTM's forward step before and after the one-pass activations, in one process.

Usage: ``python ab_one_pass.py WHAT PAIRS`` with WHAT ``small``, ``medium`` (the
benchmark's LSTM training step) or ``lstm-tutorial`` (``lstm.py``'s step).
The old step is not a switch of seqgraph's, so ``seqgraph bench --ab`` cannot
select it; this script runs the same comparison (``seqgraph.bench.ab.compare``:
both versions built and compiled, then called alternately PAIRS times) with
the version chosen by a variable of its own that only ``build`` reads.
"""

import os
import sys

import pytensor.tensor as pt

from seqgraph import _bptt
from seqgraph.bench import ab, impls, tutorials
from seqgraph.cells import gate_blocks

NEW_FORWARD = _bptt._LSTM.forward
VERSION = "AB_LSTM_FORWARD"  # read by build() only


def old_forward(self, xw_t, h, c, W, b):
    """The forward step as it was: three sigmoids and a tanh on the blocks, then a join."""
    n = self.n
    a = xw_t + pt.dot(h, W) + b
    a_i, a_f, a_g, a_o = gate_blocks(a, n, 4)
    i, f, g, o = pt.sigmoid(a_i), pt.sigmoid(a_f), pt.tanh(a_g), pt.sigmoid(a_o)
    c_new = f * c + i * g
    return [o * pt.tanh(c_new), c_new], pt.concatenate([i, f, g, o], axis=1)


def build(what):
    """A no-argument call of the step ``what`` names, with the forward step ``$AB_LSTM_FORWARD``."""
    _bptt._LSTM.forward = old_forward if os.environ[VERSION] == "old" else NEW_FORWARD
    try:
        if what == "lstm-tutorial":
            step, batch, _ = tutorials.build("lstm", "jax")
            return ab._blocking(step, batch)
        spec = impls.Spec("lstm", *impls.SIZES[what], "train")
        x, mask = impls.make_data(spec)
        return impls.build_seqgraph(spec, impls.make_layer(spec), x, mask, "jax").run
    finally:
        _bptt._LSTM.forward = NEW_FORWARD


if __name__ == "__main__":
    what, pairs = sys.argv[1], int(sys.argv[2])
    row = ab.compare(lambda: build(what), VERSION, "old", "new", pairs)
    print(
        f"{what}: old {row['a_ms']:.3f} ms  new {row['b_ms']:.3f} ms  "
        f"ratio new/old {row['ratio_b_to_a']:.3f} ({pairs} pairs)"
    )
