"""diagnose: flags the two planted faults, passes a healthy LSTM, writes a PNG."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest

from seqgraph.diagnostics import diagnose
from seqgraph.init import Orthogonal
from seqgraph.layers import LSTM, Elman, Stack


def positive_inputs(steps=256):
    return np.ones((8, steps, 16), pytensor.config.floatX)


def test_healthy_lstm_has_no_findings():
    diag = diagnose(LSTM(16, 32, seed=0), positive_inputs())
    assert diag.ok, diag.findings
    assert len(diag.h_mean) == 256 and "no problem found" in diag.table()


def test_sigmoid_cell_output_is_flagged():
    diag = diagnose(LSTM(16, 32, hid_nonlinearity="sigmoid", seed=0), positive_inputs())
    assert any(f.startswith("LSTM saturation") and "uses a sigmoid" in f for f in diag.findings), (
        diag.findings
    )


def test_exploding_elman_is_flagged(tmp_path, rng):
    layer = Elman(4, 32, W_hid_init=Orthogonal(gain=1.6), seed=0)
    x = (1e-6 * rng.normal(size=(4, 25, 4))).astype(pytensor.config.floatX)
    diag = diagnose(layer, x)
    assert any(f.startswith("exploding gradient") for f in diag.findings), diag.findings
    assert diag.grad_norm[0] > 1e3 * diag.grad_norm[-1]
    calm = diagnose(Elman(4, 32, W_hid_init=Orthogonal(gain=0.9), seed=0), x)
    assert not any(f.startswith("exploding") for f in calm.findings)
    pytest.importorskip("matplotlib")
    path = tmp_path / "diag.png"
    diag.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnose_errors():
    with pytest.raises(TypeError, match="layer must be a Recurrent layer"):
        diagnose(Stack([Elman(2, 3)]), np.zeros((1, 2, 2)))
    with pytest.raises(TypeError, match="x must be a float array"):
        diagnose(Elman(2, 3), np.zeros((1, 2, 2), dtype="int64"))
    # Checked while the graph is built, against the arrays' own shapes.
    with pytest.raises(ValueError, match="x has 7 features .* expects num_inputs=2"):
        diagnose(Elman(2, 3), np.zeros((1, 4, 7)))
    with pytest.raises(ValueError, match="mask has batch size 3 but x has 1"):
        diagnose(Elman(2, 3), np.zeros((1, 4, 2)), mask=np.ones((3, 4)))
    with pytest.raises(ValueError, match="x has no time steps"):
        diagnose(Elman(2, 3), np.zeros((1, 0, 2)))
