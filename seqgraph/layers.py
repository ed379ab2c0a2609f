"""Recurrent layers: a generic :class:`Recurrent` layer runs any cell over time.

:class:`Recurrent` owns the sequence bookkeeping (layout, mask, direction,
initial states, input projection, gradient clipping and truncation, dropout);
:class:`Elman`, :class:`GRU` and :class:`LSTM` are thin constructors on top.
:class:`Bidirectional` runs a layer both ways and :class:`Stack` chains
layers, with dropout between them.

Layers are called on symbolic tensors and return symbolic tensors:

>>> import numpy as np, pytensor.tensor as pt, seqgraph
>>> from seqgraph.layers import LSTM
>>> layer = LSTM(3, 8, seed=0)
>>> x = pt.tensor3("x")                   # (batch, time, 3)
>>> mask = pt.matrix("mask")              # (batch, time), 1 = real step
>>> h = layer(x, mask=mask)               # (batch, time, 8)
>>> f = seqgraph.function([x, mask], h, backend="c")
>>> f(np.ones((2, 5, 3), "float32"), np.ones((2, 5), "float32")).shape
(2, 5, 8)
"""

from __future__ import annotations

import numbers

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import io_toposort
from pytensor.raise_op import Assert

from seqgraph._bptt import ELMAN_NONLINEARITIES, fused_bptt_enabled, recurrent_sequence
from seqgraph.cells import Cell, ElmanCell, GRUCell, LSTMCell, _positive_int, get_nonlinearity
from seqgraph.init import Glorot, Normal, as_initializer, as_rng
from seqgraph.params import Module
from seqgraph.scan import scan

__all__ = [
    "GRU",
    "LSTM",
    "Bidirectional",
    "Dense",
    "Elman",
    "Embedding",
    "RandomSource",
    "Recurrent",
    "Stack",
    "dropout",
]

_assert_mask_shape = Assert("mask must have shape (batch, time) matching x")


def _sized(build, shape):
    """``build(shape)``, without PyTensor copying the graph behind the sizes in ``shape``.

    Ops whose output type depends on the value of a size (``Alloc``, random
    draws) derive the static size behind each symbolic size by copying the
    whole graph the size is computed from and running shape inference and
    constant folding on the copy: 0.1 s for each initial state of a layer
    over the RNNSLU model's context windows, and for the dropout mask over
    the pooled LSTM states of ``lstm.py``, at every build of the graph.
    Here ``build`` gets a fresh variable in place of each symbolic size, then
    the real sizes replace them in what it built.  An int or a constant in
    ``shape`` stays a static size; any other size is unknown in the static
    type, so callers give a size their input's static type knows as an int
    (:func:`_shape_of`).
    """
    given, stand_ins = [], {}
    for size in shape:
        if not isinstance(size, numbers.Integral):
            size = pt.as_tensor_variable(size, ndim=0)
            if not isinstance(size, pt.TensorConstant):
                stand_in = size.type()
                stand_ins[stand_in] = size
                size = stand_in
        given.append(size)
    built = build(tuple(given))
    # Clone what depends on a stand-in, with the real sizes in its place.  Each
    # stand-in has its size's type, so the nodes are cloned as they are, not
    # made again (and the sizes' own graph is not copied).
    new = dict(stand_ins)
    for node in io_toposort(list(stand_ins), [built]):
        if any(var in new for var in node.inputs):
            clone = node.clone_with_new_inputs([new.get(var, var) for var in node.inputs])
            new.update(zip(node.outputs, clone.outputs))
    return new.get(built, built)


def _shape_of(x):
    """``x.shape`` as a tuple, each size its static type knows as an int."""
    return tuple(x.shape[i] if n is None else n for i, n in enumerate(x.type.shape))


def _is_int(var) -> bool:
    return var.dtype.startswith(("int", "uint"))


def _check_probability(value, argument):
    if not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{argument} must be a probability in [0, 1); got {value!r}.")
    return float(value)


def _seed_int(rng) -> int:
    return int(rng.integers(2**31 - 1))


class RandomSource:
    """Hands out a new shared random generator for each draw, all from one seed.

    :func:`seqgraph.function` advances every shared generator that feeds one
    draw, so a graph built with these draws new numbers on each call.
    """

    def __init__(self, seed=None):
        self._rng = as_rng(seed)

    def generator(self):
        return pytensor.shared(np.random.default_rng(_seed_int(self._rng)))

    def uniform(self, shape, dtype):
        _, draw = pt.random.uniform(
            0.0, 1.0, size=shape, rng=self.generator(), dtype=dtype, return_next_rng=True
        )
        return draw


def dropout(x, p, source, shape=None):
    """Inverted dropout: zero each entry with probability ``p``, scale the rest by ``1/(1-p)``.

    Parameters
    ----------
    x : TensorVariable
    p : float
        Probability of dropping an entry.
    source : RandomSource
    shape : tuple, optional
        Shape of the mask (default ``x.shape``); a 1 broadcasts one mask, e.g.
        ``(1, batch, features)`` for one mask per sequence over time.
    """
    if p == 0:
        return x
    keep = 1.0 - p
    shape = _shape_of(x) if shape is None else shape
    draw = _sized(lambda size: source.uniform(size, x.dtype), shape)
    mask = pt.lt(draw, np.asarray(keep, dtype=x.dtype))
    return x * pt.cast(mask, x.dtype) / np.asarray(keep, dtype=x.dtype)


class Recurrent(Module):
    """Run a :class:`~seqgraph.cells.Cell` over sequences.

    Parameters
    ----------
    cell : Cell
        The recurrence, e.g. ``LSTMCell(n_in, n)``.
    go_backwards : bool
        Process the sequence from its last step to its first.  The output is
        re-reversed, so that output step ``t`` belongs to input step ``t``.
    learn_init : bool
        Make the initial states trainable parameters (vectors, shared by all
        sequences of a batch).
    hid_init, cell_init : Initializer, number or array
        Initial value of the ``h`` state (and of the LSTM's ``c`` state),
        vectors of size ``num_units``; default zeros.  A call can override
        them with ``initial_states``.
    precompute_input : bool
        Compute the input projection ``x @ W_in + b`` for all steps at once,
        outside the loop (one large matrix product instead of ``T`` small
        ones).  The result is the same either way.
    grad_clipping : float
        If > 0, clip the gradient flowing back into each step's
        pre-activations to ``[-grad_clipping, grad_clipping]`` (Graves, 2013).
    truncate_gradient : int
        Backpropagate through at most this many steps (-1: all), as in
        :func:`seqgraph.scan`.
    only_return_final : bool
        Return the state after the last processed step only, ``(batch,
        num_units)``, instead of the sequence.
    time_major : bool
        Input ``(time, batch, features)`` instead of ``(batch, time,
        features)``; the output follows the same layout.  The mask is
        ``(batch, time)`` either way.
    dropout : float
        Variational dropout on the input: one mask per sequence, the same at
        every step (Gal & Ghahramani, 2016).  Applied unless the call says
        ``deterministic=True``.
    recurrent_dropout : float
        Variational dropout on the hidden state where it enters the
        recurrent product, one mask per sequence.
    seed : int or None
        Seed of the dropout masks and of the initial-state initialisers.

    Notes
    -----
    A mask ``(batch, time)`` marks real steps with 1 and padding with 0; at a
    padded step every state keeps its previous value, so that the final
    state of a right-padded sequence is its state at ``length - 1``, and the
    output at padded steps repeats that state.

    Input given as integer ids ``(batch, time)`` is read as one-hot vectors
    of size ``num_inputs`` (the projection becomes a row lookup).
    """

    def __init__(
        self,
        cell,
        go_backwards=False,
        learn_init=False,
        hid_init=0.0,
        cell_init=0.0,
        precompute_input=True,
        grad_clipping=0.0,
        truncate_gradient=-1,
        only_return_final=False,
        time_major=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
    ):
        super().__init__()
        if not isinstance(cell, Cell):
            raise TypeError(f"cell must be a seqgraph Cell (e.g. LSTMCell); got {cell!r}.")
        if not isinstance(grad_clipping, numbers.Real) or grad_clipping < 0:
            raise ValueError(f"grad_clipping must be a number >= 0; got {grad_clipping!r}.")
        if not isinstance(truncate_gradient, numbers.Integral) or (
            truncate_gradient < 1 and truncate_gradient != -1
        ):
            raise ValueError(
                f"truncate_gradient must be -1 (no truncation) or a positive number of "
                f"steps; got {truncate_gradient!r}."
            )
        self._config = dict(
            learn_init=learn_init,
            hid_init=hid_init,
            cell_init=cell_init,
            precompute_input=precompute_input,
            grad_clipping=grad_clipping,
            truncate_gradient=truncate_gradient,
            only_return_final=only_return_final,
            time_major=time_major,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
        )
        self.cell = self.add_child("cell", cell)
        self.num_units = cell.num_units
        self.num_inputs = cell.num_inputs
        self.go_backwards = bool(go_backwards)
        self.learn_init = bool(learn_init)
        self.precompute_input = bool(precompute_input)
        self.grad_clipping = float(grad_clipping)
        self.truncate_gradient = int(truncate_gradient)
        self.only_return_final = bool(only_return_final)
        self.time_major = bool(time_major)
        self.dropout = _check_probability(dropout, "dropout")
        self.recurrent_dropout = _check_probability(recurrent_dropout, "recurrent_dropout")
        rng = as_rng(seed)
        inits = {"h": hid_init, "c": cell_init}
        self.initial_params = []
        for name in cell.state_names:
            value = as_initializer(inits.get(name, 0.0), f"{name}_init")((self.num_units,), rng)
            self.initial_params.append(
                self.add_param(f"{name}_init", value, trainable=self.learn_init)
            )
        self._srng = RandomSource(_seed_int(rng))

    @property
    def output_size(self) -> int:
        return self.num_units

    def fresh(self, seed=None, **overrides) -> Recurrent:
        """A new layer of the same configuration (new weights), with ``overrides``."""
        rng = as_rng(seed)
        config = dict(self._config, go_backwards=self.go_backwards)
        config.update(overrides)
        return Recurrent(self.cell.fresh(_seed_int(rng)), seed=_seed_int(rng), **config)

    # -- checks -----------------------------------------------------------------
    def _check_input(self, x):
        if not isinstance(x, Variable):
            x = pt.as_tensor_variable(x)
        if _is_int(x):
            if x.ndim != 2:
                raise ValueError(
                    f"x given as integer ids must be a matrix (batch, time); got ndim={x.ndim}."
                )
            if self.dropout:
                raise ValueError("dropout on the input needs float input, not integer ids.")
            return x
        if not x.dtype.startswith("float"):
            raise TypeError(f"x must be a float tensor (or integer ids); got dtype {x.dtype}.")
        if x.ndim != 3:
            layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
            raise ValueError(f"x must be a 3-d tensor {layout}; got ndim={x.ndim}.")
        features = x.type.shape[-1]
        if features is not None and features != self.num_inputs:
            raise ValueError(
                f"x has {features} features in its last dimension; this layer expects "
                f"num_inputs={self.num_inputs}."
            )
        dtype = self.cell.W_in.dtype
        return pt.cast(x, dtype) if x.dtype != dtype else x

    def _check_mask(self, mask, x_bt):
        """Validate the (batch, time) mask against x given batch-major."""
        if not isinstance(mask, Variable):
            mask = pt.as_tensor_variable(np.asarray(mask))
        if mask.ndim != 2:
            raise ValueError(f"mask must be a matrix of shape (batch, time); got ndim={mask.ndim}.")
        if not (mask.dtype.startswith(("float", "int", "uint")) or mask.dtype == "bool"):
            raise TypeError(f"mask must be numeric or boolean; got dtype {mask.dtype}.")
        for axis, what in enumerate(("batch", "time")):
            m, s = mask.type.shape[axis], x_bt.type.shape[axis]
            if m is not None and s is not None and m != s:
                raise ValueError(
                    f"mask has {what} size {m} but x has {s}; mask must be (batch, time)."
                )
        ok = pt.and_(pt.eq(mask.shape[0], x_bt.shape[0]), pt.eq(mask.shape[1], x_bt.shape[1]))
        return _assert_mask_shape(pt.neq(mask, 0), ok)

    # -- the graph --------------------------------------------------------------
    def states(self, x, mask=None, initial_states=None, deterministic=False):
        """Every state's sequence (or final value with ``only_return_final``).

        Parameters
        ----------
        x : TensorVariable
            ``(batch, time, num_inputs)`` (``(time, batch, ...)`` if
            ``time_major``), or integer ids ``(batch, time)``.
        mask : TensorVariable, optional
            ``(batch, time)``; nonzero marks real steps.
        initial_states : list of TensorVariable or None, optional
            One ``(batch, num_units)`` tensor or None per state in
            ``cell.state_names``, overriding the layer's initial states.
        deterministic : bool
            Disable dropout (for evaluation).

        Returns
        -------
        list of TensorVariable
            One per state, in the layout of ``x``.
        """
        x = self._check_input(x)
        cell = self.cell
        n_states = len(cell.state_names)
        x_tm = x if self.time_major else (x.T if x.ndim == 2 else x.dimshuffle(1, 0, 2))
        x_bt = x_tm.T if x.ndim == 2 else x_tm.dimshuffle(1, 0, 2)
        batch = _shape_of(x_tm)[1]
        dtype = cell.W_in.dtype

        sequences = []
        mask_tm = None
        if mask is not None:
            mask_tm = self._check_mask(mask, x_bt).T

        if self.dropout and not deterministic:
            x_tm = dropout(x_tm, self.dropout, self._srng, shape=(1, batch, self.num_inputs))
        fused = self._fused_bptt(with_hid_mask=bool(self.recurrent_dropout and not deterministic))
        if fused:
            # The bias is added inside the loop (see seqgraph._bptt).
            sequences.append(cell.project(x_tm, bias=False))
        elif self.precompute_input:
            sequences.append(cell.project(x_tm))
        else:
            sequences.append(x_tm)
        if mask_tm is not None:
            sequences.append(mask_tm)

        outputs_info = self._initial_states(initial_states, batch, dtype)

        non_sequences = [] if self.precompute_input else list(cell.input_params)
        non_sequences += cell.recurrent_params
        hid_mask = None
        if self.recurrent_dropout and not deterministic:
            ones = _sized(lambda size: pt.ones(size, dtype=dtype), (batch, self.num_units))
            hid_mask = dropout(ones, self.recurrent_dropout, self._srng)
            non_sequences.append(hid_mask)
        n_rec = len(cell.recurrent_params)

        def step(*args):
            args = list(args)
            seq = args.pop(0)
            m = args.pop(0) if mask_tm is not None else None
            states, rest = args[:n_states], args[n_states:]
            if self.precompute_input:
                projected = seq
            else:
                W_in, b = rest[:2]
                rest = rest[2:]
                projected = cell.project(seq, W_in, b)
            rec, extra = rest[:n_rec], rest[n_rec:]
            new = cell.step_projected(
                projected,
                *states,
                *rec,
                grad_clipping=self.grad_clipping,
                hid_mask=extra[0] if extra else None,
            )
            if m is not None:
                new = [pt.switch(m[:, None], s_new, s) for s_new, s in zip(new, states)]
            return new

        if fused:
            outputs = recurrent_sequence(
                cell,
                sequences[0],
                cell.b,
                mask_tm,
                outputs_info,
                cell.recurrent_params,
                grad_clipping=self.grad_clipping,
                go_backwards=self.go_backwards,
            )
        else:
            outputs, _ = scan(
                step,
                sequences=sequences,
                outputs_info=outputs_info,
                non_sequences=non_sequences,
                go_backwards=self.go_backwards,
                truncate_gradient=self.truncate_gradient,
                strict=True,
                name=f"{type(cell).__name__}_scan",
            )
        if self.only_return_final:
            return [out[-1] for out in outputs]
        if self.go_backwards:
            outputs = [out[::-1] for out in outputs]
        if not self.time_major:
            outputs = [out.dimshuffle(1, 0, 2) for out in outputs]
        return outputs

    def _fused_bptt(self, with_hid_mask) -> bool:
        """Whether this call runs the cell with its written-out gradient (:mod:`seqgraph._bptt`).

        Elman cells with a nonlinearity named in
        :data:`~seqgraph._bptt.ELMAN_NONLINEARITIES`, plain LSTMs (no
        peepholes, default nonlinearities) and GRUs, with the input projected
        outside the loop, full backpropagation and no recurrent dropout; other
        configurations take the scan gradient.
        """
        cell = self.cell
        plain_elman = (
            isinstance(cell, ElmanCell)
            and isinstance(cell.nonlinearity_name, str)
            and cell.nonlinearity_name in ELMAN_NONLINEARITIES
        )
        plain_lstm = (
            isinstance(cell, LSTMCell)
            and not cell.peepholes
            and cell._nonlinearity_args
            == dict(gate_nonlinearity="sigmoid", cell_nonlinearity="tanh", hid_nonlinearity="tanh")
        )
        return (
            (plain_elman or plain_lstm or isinstance(cell, GRUCell))
            and self.precompute_input
            and self.truncate_gradient == -1
            and not with_hid_mask
            and fused_bptt_enabled()
        )

    def _initial_states(self, initial_states, batch, dtype):
        names = self.cell.state_names
        if initial_states is None:
            initial_states = [None] * len(names)
        if not isinstance(initial_states, (list, tuple)) or len(initial_states) != len(names):
            raise ValueError(
                f"initial_states must be a list with one entry (or None) per state "
                f"{list(names)}; got {initial_states!r}."
            )
        out = []
        for name, given, param in zip(names, initial_states, self.initial_params):
            if given is None:
                shape = (batch, self.num_units)
                out.append(_sized(lambda size, value=param: pt.alloc(value, *size), shape))
                continue
            given = pt.as_tensor_variable(given)
            if given.ndim != 2:
                raise ValueError(
                    f"initial state {name!r} must be (batch, num_units); got ndim={given.ndim}."
                )
            if given.type.shape[1] not in (None, self.num_units):
                raise ValueError(
                    f"initial state {name!r} has {given.type.shape[1]} units; expected "
                    f"{self.num_units}."
                )
            out.append(pt.cast(given, dtype) if given.dtype != dtype else given)
        return out

    def __call__(self, x, mask=None, initial_states=None, deterministic=False):
        """The output (the ``h`` state): ``(batch, time, num_units)`` or ``(batch, num_units)``.

        See :meth:`states` for the arguments.
        """
        return self.states(x, mask, initial_states, deterministic)[0]


class Elman(Recurrent):
    """An Elman (simple recurrent) layer; see :class:`~seqgraph.cells.ElmanCell`.

    Parameters
    ----------
    num_inputs, num_units : int
    nonlinearity : str or callable
        ``"tanh"`` (default) or ``"sigmoid"`` (the RNNSLU tutorial) ...
    W_in_init, W_hid_init, b_init : Initializer, optional
    seed : int or None
    **kwargs
        Options of :class:`Recurrent`.
    """

    def __init__(
        self,
        num_inputs,
        num_units,
        nonlinearity="tanh",
        W_in_init=None,
        W_hid_init=None,
        b_init=None,
        seed=None,
        **kwargs,
    ):
        rng = as_rng(seed)
        cell = ElmanCell(
            num_inputs,
            num_units,
            nonlinearity,
            W_in_init=W_in_init,
            W_hid_init=W_hid_init,
            b_init=b_init,
            seed=_seed_int(rng),
        )
        super().__init__(cell, seed=_seed_int(rng), **kwargs)


class GRU(Recurrent):
    """A GRU layer; see :class:`~seqgraph.cells.GRUCell` for ``reset_after``.

    Parameters
    ----------
    num_inputs, num_units : int
    reset_after : bool
        False: the original (Cho et al.) form; True: the cuDNN / PyTorch form.
    W_in_init, W_hid_init, b_init : Initializer, optional
    seed : int or None
    **kwargs
        Options of :class:`Recurrent`.
    """

    def __init__(
        self,
        num_inputs,
        num_units,
        reset_after=False,
        W_in_init=None,
        W_hid_init=None,
        b_init=None,
        seed=None,
        **kwargs,
    ):
        rng = as_rng(seed)
        cell = GRUCell(
            num_inputs,
            num_units,
            reset_after=reset_after,
            W_in_init=W_in_init,
            W_hid_init=W_hid_init,
            b_init=b_init,
            seed=_seed_int(rng),
        )
        super().__init__(cell, seed=_seed_int(rng), **kwargs)


class LSTM(Recurrent):
    """An LSTM layer; see :class:`~seqgraph.cells.LSTMCell`.

    Parameters
    ----------
    num_inputs, num_units : int
    peepholes : bool
    forget_bias : float
    gate_nonlinearity, cell_nonlinearity, hid_nonlinearity : str or callable
    W_in_init, W_hid_init, b_init, peephole_init : Initializer, optional
    seed : int or None
    **kwargs
        Options of :class:`Recurrent` (``hid_init``, ``cell_init``, ...).
    """

    def __init__(
        self,
        num_inputs,
        num_units,
        peepholes=False,
        forget_bias=1.0,
        gate_nonlinearity="sigmoid",
        cell_nonlinearity="tanh",
        hid_nonlinearity="tanh",
        W_in_init=None,
        W_hid_init=None,
        b_init=None,
        peephole_init=None,
        seed=None,
        **kwargs,
    ):
        rng = as_rng(seed)
        cell = LSTMCell(
            num_inputs,
            num_units,
            peepholes=peepholes,
            forget_bias=forget_bias,
            gate_nonlinearity=gate_nonlinearity,
            cell_nonlinearity=cell_nonlinearity,
            hid_nonlinearity=hid_nonlinearity,
            W_in_init=W_in_init,
            W_hid_init=W_hid_init,
            b_init=b_init,
            peephole_init=peephole_init,
            seed=_seed_int(rng),
        )
        super().__init__(cell, seed=_seed_int(rng), **kwargs)


_MERGES = ("concat", "sum", "mean", "mul", None)


class Bidirectional(Module):
    """Run a recurrent layer forwards and a twin backwards, and merge the outputs.

    Parameters
    ----------
    layer : Recurrent
        The forward layer (``go_backwards=False``).
    backward : Recurrent, optional
        The backward layer; by default a fresh copy of ``layer`` (same
        configuration, its own weights) with ``go_backwards=True``.
    merge : {"concat", "sum", "mean", "mul", None}
        How the two outputs combine; ``None`` returns both in a list.
        ``"concat"`` joins them on the last axis (forward first).
    seed : int or None
        Seed of the backward copy's weights.
    """

    def __init__(self, layer, backward=None, merge="concat", seed=None):
        super().__init__()
        if not isinstance(layer, Recurrent):
            raise TypeError(f"layer must be a Recurrent layer; got {layer!r}.")
        if layer.go_backwards:
            raise ValueError("layer must run forwards (go_backwards=False).")
        if backward is None:
            backward = layer.fresh(seed=seed, go_backwards=True)
        if not isinstance(backward, Recurrent) or not backward.go_backwards:
            raise ValueError("backward must be a Recurrent layer with go_backwards=True.")
        if backward.time_major != layer.time_major:
            raise ValueError("layer and backward must use the same time_major layout.")
        if merge not in _MERGES:
            raise ValueError(f"merge must be one of {_MERGES}; got {merge!r}.")
        self.forward = self.add_child("forward", layer)
        self.backward = self.add_child("backward", backward)
        self.merge = merge
        self.num_inputs = layer.num_inputs
        self.time_major = layer.time_major

    @property
    def output_size(self) -> int:
        if self.merge == "concat":
            return self.forward.num_units + self.backward.num_units
        return self.forward.num_units

    def __call__(self, x, mask=None, initial_states=None, deterministic=False):
        """Merged output; ``initial_states`` is a pair (forward, backward) or None."""
        fw_init, bw_init = initial_states if initial_states is not None else (None, None)
        fw = self.forward(x, mask, fw_init, deterministic)
        bw = self.backward(x, mask, bw_init, deterministic)
        if self.merge is None:
            return [fw, bw]
        if self.merge == "concat":
            return pt.concatenate([fw, bw], axis=-1)
        if self.merge == "sum":
            return fw + bw
        if self.merge == "mean":
            return (fw + bw) / np.asarray(2, dtype=fw.dtype)
        return fw * bw


class Stack(Module):
    """Recurrent layers applied one after the other, with dropout between them.

    Parameters
    ----------
    layers : list of Recurrent or Bidirectional
        Each layer's output size must equal the next one's ``num_inputs``.
        Only the last may use ``only_return_final``.
    dropout : float
        Dropout probability on the output of every layer but the last
        (Zaremba et al., 2014); off with ``deterministic=True``.
    seed : int or None
        Seed of the dropout masks.
    """

    def __init__(self, layers, dropout=0.0, seed=None):
        super().__init__()
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one layer.")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Recurrent, Bidirectional)):
                raise TypeError(f"layers[{i}] must be a Recurrent or Bidirectional layer.")
            if i + 1 < len(layers):
                inner = layer.forward if isinstance(layer, Bidirectional) else layer
                if inner.only_return_final:
                    raise ValueError(
                        f"layers[{i}] has only_return_final=True; only the last layer may."
                    )
                if layer.output_size != layers[i + 1].num_inputs:
                    raise ValueError(
                        f"layers[{i}] outputs {layer.output_size} features but layers[{i + 1}] "
                        f"expects num_inputs={layers[i + 1].num_inputs}."
                    )
            self.add_child(str(i), layer)
        self.layers = layers
        self.dropout = _check_probability(dropout, "dropout")
        self._srng = RandomSource(_seed_int(as_rng(seed)))
        self.num_inputs = layers[0].num_inputs

    @property
    def output_size(self) -> int:
        return self.layers[-1].output_size

    def __call__(self, x, mask=None, deterministic=False):
        out = x
        for i, layer in enumerate(self.layers):
            if i > 0 and self.dropout and not deterministic:
                out = dropout(out, self.dropout, self._srng)
            out = layer(out, mask=mask, deterministic=deterministic)
        return out


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``dim``.

    Parameters
    ----------
    num_embeddings, dim : int
    init : Initializer
        Default ``Normal(0.1)``.
    padding_idx : int, optional
        The id of a padding token; its row is initialised to zeros (it is
        still a parameter: see :meth:`normalized`).
    seed : int or None
    """

    def __init__(self, num_embeddings, dim, init=None, padding_idx=None, seed=None):
        super().__init__()
        num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        dim = _positive_int(dim, "dim")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"padding_idx must index one of the {num_embeddings} rows; got {padding_idx!r}."
            )
        self.num_embeddings = int(num_embeddings)
        self.dim = int(dim)
        self.padding_idx = padding_idx
        value = as_initializer(Normal(0.1) if init is None else init, "init")(
            (self.num_embeddings, self.dim), as_rng(seed)
        )
        if padding_idx is not None:
            value[padding_idx] = 0.0
        self.W = self.add_param("W", value)

    def __call__(self, ids):
        ids = pt.as_tensor_variable(ids)
        if not _is_int(ids):
            raise TypeError(f"ids must be an integer tensor; got dtype {ids.dtype}.")
        return self.W[ids]

    def normalized(self):
        """The update that rescales every row to unit L2 norm (the RNNSLU tutorial)."""
        norms = pt.sqrt((self.W**2).sum(axis=1, keepdims=True))
        return self.W / pt.maximum(norms, np.asarray(1e-12, dtype=self.W.dtype))


class Dense(Module):
    """``nonlinearity(x @ W + b)`` over the last axis of ``x``.

    Parameters
    ----------
    num_inputs, num_units : int
    nonlinearity : str or callable or None
        ``"softmax"`` works row by row over the last axis.
    W_init, b_init : Initializer
    seed : int or None
    """

    def __init__(
        self, num_inputs, num_units, nonlinearity=None, W_init=None, b_init=0.0, seed=None
    ):
        super().__init__()
        rng = as_rng(seed)
        self.num_inputs = _positive_int(num_inputs, "num_inputs")
        self.num_units = _positive_int(num_units, "num_units")
        if nonlinearity == "softmax":
            self.nonlinearity = lambda z: pt.special.softmax(z, axis=-1)
        elif nonlinearity is None:
            self.nonlinearity = None
        else:
            self.nonlinearity = get_nonlinearity(nonlinearity)
        W_init = Glorot() if W_init is None else W_init
        self.W = self.add_param(
            "W", as_initializer(W_init, "W_init")((self.num_inputs, self.num_units), rng)
        )
        self.b = self.add_param("b", as_initializer(b_init, "b_init")((self.num_units,), rng))

    def __call__(self, x):
        z = pt.dot(x, self.W) + self.b
        return z if self.nonlinearity is None else self.nonlinearity(z)
