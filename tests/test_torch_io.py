"""Weights exchanged with PyTorch's nn.RNN / nn.GRU / nn.LSTM give the same outputs."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.layers import GRU, LSTM, Bidirectional, Elman, Stack
from seqgraph.params import ParameterError
from seqgraph.torch_io import load_torch_state_dict, torch_state_dict

torch = pytest.importorskip("torch")

N_IN, N = 5, 7


def seqgraph_twin(kind, num_layers, bidirectional, seed=0):
    def one(n_in, s):
        if kind == "lstm":
            layer = LSTM(n_in, N, seed=s)
        elif kind == "gru":
            layer = GRU(n_in, N, reset_after=True, seed=s)
        else:
            layer = Elman(n_in, N, nonlinearity="tanh", seed=s)
        return Bidirectional(layer, seed=s + 100) if bidirectional else layer

    width = 2 * N if bidirectional else N
    layers = [one(N_IN if k == 0 else width, seed + k) for k in range(num_layers)]
    return layers[0] if num_layers == 1 else Stack(layers)


def torch_module(kind, num_layers, bidirectional):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    torch.manual_seed(0)
    return cls(N_IN, N, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_import_matches_pytorch(kind, num_layers, bidirectional, rng):
    module = torch_module(kind, num_layers, bidirectional)
    ours = seqgraph_twin(kind, num_layers, bidirectional)
    load_torch_state_dict(ours, module.state_dict())
    xv = rng.normal(size=(3, 6, N_IN)).astype("float32")
    x = pt.tensor3("x", dtype="float32")
    got = seqgraph.function([x], ours(x), backend="c")(xv)
    with torch.no_grad():
        want = module(torch.from_numpy(xv))[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_export_round_trip(kind, rng):
    ours = seqgraph_twin(kind, 2, True, seed=3)
    module = torch_module(kind, 2, True)
    state = torch_state_dict(ours, tensors=True)
    assert list(state) == list(module.state_dict())
    module.load_state_dict(state)
    xv = rng.normal(size=(2, 4, N_IN)).astype("float32")
    x = pt.tensor3("x", dtype="float32")
    got = seqgraph.function([x], ours(x), backend="c")(xv)
    with torch.no_grad():
        want = module(torch.from_numpy(xv))[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_mismatches_are_reported():
    module = torch_module("lstm", 1, False)
    with pytest.raises(ValueError, match="no peephole connections"):
        load_torch_state_dict(LSTM(N_IN, N, peepholes=True), module.state_dict())
    with pytest.raises(ValueError, match="build the GRU with reset_after=True"):
        load_torch_state_dict(GRU(N_IN, N), torch_module("gru", 1, False).state_dict())
    with pytest.raises(ParameterError, match=r"'weight_ih_l0' has shape \(28, 5\); layer 0"):
        load_torch_state_dict(LSTM(N_IN + 1, N), module.state_dict())
    with pytest.raises(ParameterError, match="has weights .*_l1"):
        load_torch_state_dict(LSTM(N_IN, N), torch_module("lstm", 2, False).state_dict())
    state = module.state_dict()
    del state["weight_hh_l0"]
    with pytest.raises(ParameterError, match="no 'weight_hh_l0'"):
        load_torch_state_dict(LSTM(N_IN, N), state)
    with pytest.raises(TypeError, match="state_dict must be a PyTorch module or its state_dict"):
        load_torch_state_dict(LSTM(N_IN, N), None)
    with pytest.raises(ValueError, match="non-zero initial state"):
        torch_state_dict(LSTM(N_IN, N, hid_init=0.5))
    with pytest.raises(ValueError, match="nn.RNN supports tanh or relu"):
        torch_state_dict(Elman(N_IN, N, nonlinearity="sigmoid"))
