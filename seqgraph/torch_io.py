"""Exchange weights with PyTorch's ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM``.

PyTorch stores a recurrent layer as ``weight_ih_l{k}`` ``(gates * n, n_in)``,
``weight_hh_l{k}`` ``(gates * n, n)``, ``bias_ih_l{k}`` and ``bias_hh_l{k}``,
with a ``_reverse`` suffix for the backward direction.  seqgraph's cells use
the same gate order (``nn.GRU``: r, z, n; ``nn.LSTM``: i, f, g, o), so the
weights map block for block, transposed.  The two biases fold into seqgraph's
``b``, except for the GRU candidate's hidden bias, which ``nn.GRU`` applies
inside the reset gate and :class:`~seqgraph.cells.GRUCell` keeps as ``b_hn``
(``reset_after=True``).

Which seqgraph object matches which PyTorch module:

============================================  ===========================================
PyTorch                                       seqgraph
============================================  ===========================================
``nn.LSTM(n_in, n)``                          ``LSTM(n_in, n)``
``nn.GRU(n_in, n)``                           ``GRU(n_in, n, reset_after=True)``
``nn.RNN(n_in, n, nonlinearity=...)``         ``Elman(n_in, n, nonlinearity=...)``
``bidirectional=True``                        ``Bidirectional(layer)``
``num_layers=k``                              ``Stack([layer_0, ..., layer_{k-1}])``
============================================  ===========================================

Set ``batch_first=True`` on the PyTorch module to match seqgraph's default
batch-major layout (or build the seqgraph layer with ``time_major=True``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from seqgraph.cells import ElmanCell, GRUCell, LSTMCell
from seqgraph.layers import Bidirectional, Recurrent, Stack
from seqgraph.params import ParameterError

__all__ = ["load_torch_state_dict", "torch_state_dict"]


def _directions(target):
    """(layer index, suffix, Recurrent) for each direction of each layer."""
    layers = target.layers if isinstance(target, Stack) else [target]
    out = []
    for k, layer in enumerate(layers):
        if isinstance(layer, Bidirectional):
            out += [(k, "", layer.forward), (k, "_reverse", layer.backward)]
        elif isinstance(layer, Recurrent):
            if layer.go_backwards:
                raise ValueError(
                    f"layer {k} runs backwards on its own; PyTorch has no such module "
                    "(use Bidirectional)."
                )
            out.append((k, "", layer))
        else:
            raise TypeError(f"layer {k} is a {type(layer).__name__}; expected a recurrent layer.")
    return out


def _check_cell(layer, where):
    cell = layer.cell
    if isinstance(cell, LSTMCell):
        if cell.peepholes:
            raise ValueError(f"{where}: nn.LSTM has no peephole connections; this LSTM has them.")
        if cell._nonlinearity_args != dict(
            gate_nonlinearity="sigmoid", cell_nonlinearity="tanh", hid_nonlinearity="tanh"
        ):
            raise ValueError(f"{where}: nn.LSTM uses sigmoid gates and tanh; this LSTM differs.")
    elif isinstance(cell, GRUCell):
        if not cell.reset_after:
            raise ValueError(
                f"{where}: nn.GRU applies the reset gate after the recurrent product; build "
                "the GRU with reset_after=True."
            )
    elif isinstance(cell, ElmanCell):
        if cell.nonlinearity_name not in ("tanh", "relu"):
            raise ValueError(
                f"{where}: nn.RNN supports tanh or relu; this cell uses {cell.nonlinearity_name!r}."
            )
    else:
        raise TypeError(f"{where}: no PyTorch module matches a {type(cell).__name__}.")
    return cell


def _as_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _take(given, used, key, shape, cell):
    if key not in given:
        raise ParameterError(f"the state dict has no {key!r}; it holds {sorted(given)}.")
    value = given[key]
    if value.shape != shape:
        layer = key.split("_l", 1)[1]
        raise ParameterError(
            f"{key!r} has shape {value.shape}; layer {layer} expects {shape} "
            f"(num_inputs={cell.num_inputs}, num_units={cell.num_units})."
        )
    used.add(key)
    return value


def load_torch_state_dict(target, state_dict) -> None:
    """Set the weights of ``target`` from a PyTorch recurrent module's state dict.

    Parameters
    ----------
    target : Recurrent, Bidirectional or Stack
        A seqgraph layer shaped like the PyTorch module (see the table in the
        module docstring).
    state_dict : mapping or torch.nn.Module
        ``module.state_dict()`` (tensors or arrays), or the module itself.

    Raises
    ------
    TypeError
        ``state_dict`` is neither a module nor a mapping.
    ParameterError
        A weight is missing, left over, or has another shape.
    ValueError
        The layer has no PyTorch counterpart (peepholes, ``reset_after=False``,
        a sigmoid Elman cell ...).
    """
    if hasattr(state_dict, "state_dict"):
        state_dict = state_dict.state_dict()
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            "state_dict must be a PyTorch module or its state_dict() (a mapping of names "
            f"to tensors); got {type(state_dict).__name__}."
        )
    given = {name: _as_numpy(value) for name, value in state_dict.items()}
    extra = [name for name in given if name.startswith("weight_hr")]
    if extra:
        raise ParameterError(f"LSTM projections ({extra}) have no seqgraph counterpart.")
    used = set()
    assignments = []
    for k, suffix, layer in _directions(target):
        cell = _check_cell(layer, f"layer {k}{suffix}")
        n, gates = cell.num_units, cell.num_gates

        def take(name, shape, key_suffix=f"_l{k}{suffix}", cell=cell):
            return _take(given, used, name + key_suffix, shape, cell)

        has_bias = f"bias_ih_l{k}{suffix}" in given
        zeros = np.zeros(gates * n)
        W_ih = take("weight_ih", (gates * n, cell.num_inputs))
        W_hh = take("weight_hh", (gates * n, n))
        b_ih = take("bias_ih", (gates * n,)) if has_bias else zeros
        b_hh = take("bias_hh", (gates * n,)) if has_bias else zeros
        b = b_ih + b_hh
        values = {"W_in": W_ih.T, "W_hid": W_hh.T}
        if isinstance(cell, GRUCell):
            b = np.concatenate([b_ih[: 2 * n] + b_hh[: 2 * n], b_ih[2 * n :]])
            values["b_hn"] = b_hh[2 * n :]
        values["b"] = b
        for name, value in values.items():
            var = cell._params[name]
            assignments.append((var, np.asarray(value, dtype=var.dtype)))
    left = sorted(set(given) - used)
    if left:
        raise ParameterError(
            f"the state dict has weights {left} that {type(target).__name__} has no place for "
            "(more layers or directions than the seqgraph model?)."
        )
    for var, value in assignments:
        var.set_value(value)


def torch_state_dict(target, tensors=False) -> OrderedDict:
    """The weights of ``target`` as a PyTorch recurrent module's state dict.

    Parameters
    ----------
    target : Recurrent, Bidirectional or Stack
    tensors : bool
        Return ``torch.Tensor`` values (needs torch) instead of NumPy arrays.

    Returns
    -------
    OrderedDict
        Ready for ``module.load_state_dict`` of the matching PyTorch module.

    Raises
    ------
    ValueError
        The layer has no PyTorch counterpart, or learned/non-zero initial
        states (PyTorch starts from zeros unless given ``h0``).
    """
    out = OrderedDict()
    directions = _directions(target)
    for k, suffix, layer in directions:
        cell = _check_cell(layer, f"layer {k}{suffix}")
        for param in layer.initial_params:
            if np.any(np.asarray(param.get_value()) != 0):
                raise ValueError(
                    f"layer {k}{suffix} has non-zero initial state {param.name!r}; "
                    "a PyTorch module starts from zeros (pass h0 yourself)."
                )
        n = cell.num_units
        W_in = np.asarray(cell.W_in.get_value())
        W_hid = np.asarray(cell.W_hid.get_value())
        b = np.asarray(cell.b.get_value())
        b_hh = np.zeros_like(b)
        if isinstance(cell, GRUCell):
            b_hh[2 * n :] = np.asarray(cell.b_hn.get_value())
        out[f"weight_ih_l{k}{suffix}"] = np.ascontiguousarray(W_in.T)
        out[f"weight_hh_l{k}{suffix}"] = np.ascontiguousarray(W_hid.T)
        out[f"bias_ih_l{k}{suffix}"] = b.copy()
        out[f"bias_hh_l{k}{suffix}"] = b_hh
    # PyTorch orders keys layer by layer, forward before reverse.
    order = sorted(out, key=lambda key: (int(key.split("_l")[1].split("_")[0]), "_reverse" in key))
    out = OrderedDict((key, out[key]) for key in order)
    if tensors:
        import torch

        out = OrderedDict((key, torch.from_numpy(value)) for key, value in out.items())
    return out
