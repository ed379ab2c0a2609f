"""Recurrent cells: parameters plus one step of the recurrence.

A cell knows nothing of sequences; :class:`seqgraph.layers.Recurrent` runs it
over time.  Every cell keeps its weights fused:

* ``W_in`` of shape ``(num_inputs, k * num_units)``,
* ``W_hid`` of shape ``(num_units, k * num_units)``,
* ``b`` of shape ``(k * num_units,)``,

with the ``k`` gate blocks side by side in the order the class documents
(PyTorch's order, so that its weights map block for block).

Steps take their arguments in :func:`seqgraph.scan`'s order, so a cell runs
with no glue:

>>> import numpy as np, pytensor.tensor as pt, seqgraph
>>> from seqgraph.cells import ElmanCell
>>> cell = ElmanCell(3, 5, seed=0)
>>> x = pt.tensor3("x")                        # (time, batch, 3)
>>> h0 = pt.zeros((x.shape[1], 5))
>>> [h], _ = seqgraph.scan(cell.step, sequences=x, outputs_info=[h0],
...                        non_sequences=cell.params, strict=True)
>>> f = seqgraph.function([x], h, backend="c")
>>> f(np.ones((4, 2, 3), "float32")).shape
(4, 2, 5)
"""

from __future__ import annotations

import abc
import numbers

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import grad_clip

from seqgraph.init import Constant, Glorot, Orthogonal, as_initializer, as_rng
from seqgraph.params import Module

__all__ = ["Cell", "ElmanCell", "GRUCell", "LSTMCell", "get_nonlinearity"]


def _hard_sigmoid(x):
    return pt.clip(0.2 * x + 0.5, 0.0, 1.0)


_NONLINEARITIES = {
    "sigmoid": pt.sigmoid,
    "tanh": pt.tanh,
    "relu": lambda x: pt.maximum(x, 0),
    "hard_sigmoid": _hard_sigmoid,
    "linear": lambda x: x,
}


def get_nonlinearity(value, argument="nonlinearity"):
    """A callable from a name in ``sigmoid, tanh, relu, hard_sigmoid, linear`` or a callable."""
    if callable(value):
        return value
    if value in _NONLINEARITIES:
        return _NONLINEARITIES[value]
    raise ValueError(
        f"{argument} must be a callable or one of {sorted(_NONLINEARITIES)}; got {value!r}."
    )


def _positive_int(value, argument):
    """``value`` as an int; a ValueError naming ``argument`` unless it is an integer > 0."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{argument} must be a positive integer; got {value!r}.")
    return int(value)


class Cell(Module, metaclass=abc.ABCMeta):
    """Base class of recurrent cells.

    Parameters
    ----------
    num_inputs : int
        Size of each input vector (or the vocabulary size when the input is
        given as integer ids, see :meth:`project`).
    num_units : int
        Size of the hidden state.
    W_in_init, W_hid_init, b_init : Initializer, number or array
        Initialisers of the fused weights.  An initializer is applied gate
        block by gate block (each ``(num_inputs, num_units)`` block of
        ``W_in`` is its own Glorot or orthogonal matrix); an array gives the
        whole fused value.
    seed : int, Generator or None
        Seed of the initial weights.

    Attributes
    ----------
    state_names : tuple of str
        The states the cell carries (``("h",)`` or ``("h", "c")``); the first
        is the output.
    num_gates : int
        Number of fused blocks ``k``.
    """

    state_names: tuple[str, ...] = ("h",)
    num_gates = 1
    #: parameters that the step needs besides the input projection
    recurrent_names: tuple[str, ...] = ("W_hid",)

    def __init__(
        self,
        num_inputs,
        num_units,
        W_in_init=None,
        W_hid_init=None,
        b_init=None,
        seed=None,
    ):
        super().__init__()
        self.num_inputs = _positive_int(num_inputs, "num_inputs")
        self.num_units = _positive_int(num_units, "num_units")
        self._init_args = dict(W_in_init=W_in_init, W_hid_init=W_hid_init, b_init=b_init)
        rng = as_rng(seed)
        k, n = self.num_gates, self.num_units
        self.W_in = self.add_param(
            "W_in", self._fused(W_in_init, Glorot(), (self.num_inputs, n), rng, "W_in_init")
        )
        self.W_hid = self.add_param(
            "W_hid", self._fused(W_hid_init, Orthogonal(), (n, n), rng, "W_hid_init")
        )
        self.b = self.add_param("b", self._fused(b_init, Constant(0.0), (n,), rng, "b_init"))
        assert self.W_in.get_value().shape == (self.num_inputs, k * n)

    def _fused(self, init, default, block, rng, argument):
        """``k`` blocks of shape ``block`` side by side, or a given fused array."""
        init = default if init is None else init
        full = block[:-1] + (self.num_gates * block[-1],)
        if isinstance(init, np.ndarray):
            return as_initializer(init, argument)(full, rng)
        init = as_initializer(init, argument)
        return np.concatenate([init(block, rng) for _ in range(self.num_gates)], axis=-1)

    # -- the input projection -------------------------------------------------
    @property
    def input_params(self):
        """Parameters of the input projection: ``[W_in, b]``."""
        return [self.W_in, self.b]

    @property
    def recurrent_params(self):
        """Parameters the step uses besides the projected input."""
        return [self._params[name] for name in self.recurrent_names]

    def project(self, x, W_in=None, b=None, bias=True):
        """``x @ W_in + b`` over the last axis of ``x`` (``x @ W_in`` if not ``bias``).

        An integer ``x`` holds ids of one-hot inputs: the projection is then
        the row lookup ``W_in[x] + b``, which is the same product without
        materialising the one-hot vectors.
        """
        W_in = self.W_in if W_in is None else W_in
        b = self.b if b is None else b
        x = pt.as_tensor_variable(x)
        xw = W_in[x] if x.dtype.startswith(("int", "uint")) else pt.dot(x, W_in)
        return xw + b if bias else xw

    # -- the step -------------------------------------------------------------
    def step(self, x_t, *args):
        """One step from a raw input, in scan's argument order.

        ``args`` are the states (:attr:`state_names`) followed by
        :attr:`params` in their order.  Returns the new states, a list.
        """
        n_states = len(self.state_names)
        states, params = args[:n_states], args[n_states:]
        named = dict(zip(self.named_params(trainable_only=True), params))
        projected = self.project(x_t, named["W_in"], named["b"])
        rec = [named[name] for name in self.recurrent_names]
        return self.step_projected(projected, *states, *rec)

    @abc.abstractmethod
    def step_projected(self, xp_t, *args, grad_clipping=0.0, hid_mask=None):
        """One step from an input already projected by :meth:`project`.

        ``args`` are the states followed by :attr:`recurrent_params`.
        ``grad_clipping`` > 0 clips the gradient flowing back through the
        pre-activations of this step to ``[-grad_clipping, grad_clipping]``.
        ``hid_mask`` (batch, num_units), if given, multiplies the previous
        hidden state where it enters the recurrent product (variational
        dropout, Gal & Ghahramani 2016); the carried state is not masked.
        """

    @abc.abstractmethod
    def fresh(self, seed=None) -> Cell:
        """A new cell of the same configuration with newly drawn weights."""

    def _split(self, z):
        return gate_blocks(z, self.num_units, self.num_gates)


def gate_blocks(z, n, k):
    """The ``k`` blocks of ``n`` columns of a fused ``(batch, k * n)`` array, in order."""
    return [z[:, i * n : (i + 1) * n] for i in range(k)]


def _masked(h, hid_mask):
    return h if hid_mask is None else h * hid_mask


def _clip(z, grad_clipping):
    if grad_clipping:
        return grad_clip(z, -grad_clipping, grad_clipping)
    return z


class ElmanCell(Cell):
    r"""The Elman (simple recurrent) cell.

    .. math::

        h_t = \phi(x_t W_{in} + b + h_{t-1} W_{hid})

    Shapes: ``x_t (batch, num_inputs)``, ``h (batch, num_units)``.

    Parameters
    ----------
    num_inputs, num_units : int
    nonlinearity : str or callable
        :math:`\phi`: ``"tanh"`` (default, PyTorch's ``nn.RNN``),
        ``"sigmoid"`` (the RNNSLU tutorial), ``"relu"`` ...
    **kwargs
        Initialisers and ``seed``, see :class:`Cell`.
    """

    def __init__(self, num_inputs, num_units, nonlinearity="tanh", **kwargs):
        self.nonlinearity_name = nonlinearity
        self.nonlinearity = get_nonlinearity(nonlinearity)
        super().__init__(num_inputs, num_units, **kwargs)

    def step_projected(self, xp_t, h, W_hid, grad_clipping=0.0, hid_mask=None):
        z = _clip(xp_t + pt.dot(_masked(h, hid_mask), W_hid), grad_clipping)
        return [self.nonlinearity(z)]

    def fresh(self, seed=None):
        return ElmanCell(
            self.num_inputs, self.num_units, self.nonlinearity_name, seed=seed, **self._init_args
        )


class GRUCell(Cell):
    r"""The gated recurrent unit (Cho et al., 2014), in either common form.

    Gate blocks in the order reset :math:`r`, update :math:`z`, candidate
    :math:`n` (PyTorch's order).  With ``reset_after=False`` (the original
    form and the classic Theano GRU code) the reset gate scales the previous
    state before the recurrent product:

    .. math::

        r_t &= \sigma(x_t W_{ir} + b_r + h_{t-1} W_{hr}) \\
        z_t &= \sigma(x_t W_{iz} + b_z + h_{t-1} W_{hz}) \\
        n_t &= \tanh(x_t W_{in} + b_n + (r_t \odot h_{t-1}) W_{hn}) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    With ``reset_after=True`` (cuDNN, PyTorch ``nn.GRU``) it scales the
    product, which has a bias of its own, ``b_hn``:

    .. math::

        n_t = \tanh(x_t W_{in} + b_n + r_t \odot (h_{t-1} W_{hn} + b_{hn}))

    Parameters
    ----------
    num_inputs, num_units : int
    reset_after : bool
        Which form (see above).  Default False, the original.
    **kwargs
        Initialisers and ``seed``, see :class:`Cell`.
    """

    num_gates = 3

    def __init__(self, num_inputs, num_units, reset_after=False, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(num_inputs, num_units, **kwargs)
        if self.reset_after:
            self.b_hn = self.add_param("b_hn", Constant(0.0)((self.num_units,)))
            self.recurrent_names = ("W_hid", "b_hn")

    def step_projected(self, xp_t, h, W_hid, b_hn=None, grad_clipping=0.0, hid_mask=None):
        n = self.num_units
        hp = _masked(h, hid_mask)
        if self.reset_after:
            hh = pt.dot(hp, W_hid)
            rz = _clip(xp_t[:, : 2 * n] + hh[:, : 2 * n], grad_clipping)
            r, z = pt.sigmoid(rz[:, :n]), pt.sigmoid(rz[:, n:])
            pre = xp_t[:, 2 * n :] + r * (hh[:, 2 * n :] + b_hn)
        else:
            rz = _clip(xp_t[:, : 2 * n] + pt.dot(hp, W_hid[:, : 2 * n]), grad_clipping)
            r, z = pt.sigmoid(rz[:, :n]), pt.sigmoid(rz[:, n:])
            pre = xp_t[:, 2 * n :] + pt.dot(r * hp, W_hid[:, 2 * n :])
        candidate = pt.tanh(_clip(pre, grad_clipping))
        return [(1.0 - z) * candidate + z * h]

    def fresh(self, seed=None):
        return GRUCell(
            self.num_inputs, self.num_units, self.reset_after, seed=seed, **self._init_args
        )


class LSTMCell(Cell):
    r"""Long short-term memory (Hochreiter & Schmidhuber, 1997; Gers et al., 2000).

    Gate blocks in the order input :math:`i`, forget :math:`f`, cell
    candidate :math:`g`, output :math:`o` (PyTorch's and Lasagne's order).
    States ``h`` (the output) and ``c`` (the cell).

    .. math::

        i_t &= \sigma(x_t W_{ii} + h_{t-1} W_{hi} + w_{ci} \odot c_{t-1} + b_i) \\
        f_t &= \sigma(x_t W_{if} + h_{t-1} W_{hf} + w_{cf} \odot c_{t-1} + b_f) \\
        g_t &= \tanh(x_t W_{ig} + h_{t-1} W_{hg} + b_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(x_t W_{io} + h_{t-1} W_{ho} + w_{co} \odot c_t + b_o) \\
        h_t &= o_t \odot \tanh(c_t)

    The peephole weights :math:`w_{ci}, w_{cf}, w_{co}` are vectors of size
    ``num_units`` and exist only with ``peepholes=True``.

    Parameters
    ----------
    num_inputs, num_units : int
    peepholes : bool
        Add the peephole connections (default False, as PyTorch and Keras).
    forget_bias : float
        Initial value of the forget gate's bias (default 1: remember by
        default, Gers et al. 2000; Jozefowicz et al. 2015).
    gate_nonlinearity, cell_nonlinearity, hid_nonlinearity : str or callable
        :math:`\sigma` of the gates, the candidate's tanh and the output's
        tanh.  Replacing ``hid_nonlinearity`` by a sigmoid is a classic bug:
        ``h`` then saturates towards ``o``.
    peephole_init : Initializer
        Initial value of the peepholes (default zeros).
    **kwargs
        Other initialisers and ``seed``, see :class:`Cell`.
    """

    num_gates = 4
    state_names = ("h", "c")

    def __init__(
        self,
        num_inputs,
        num_units,
        peepholes=False,
        forget_bias=1.0,
        gate_nonlinearity="sigmoid",
        cell_nonlinearity="tanh",
        hid_nonlinearity="tanh",
        peephole_init=None,
        **kwargs,
    ):
        self.peepholes = bool(peepholes)
        self.forget_bias = float(forget_bias)
        self._nonlinearity_args = dict(
            gate_nonlinearity=gate_nonlinearity,
            cell_nonlinearity=cell_nonlinearity,
            hid_nonlinearity=hid_nonlinearity,
        )
        self.gate_nonlinearity = get_nonlinearity(gate_nonlinearity, "gate_nonlinearity")
        self.cell_nonlinearity = get_nonlinearity(cell_nonlinearity, "cell_nonlinearity")
        self.hid_nonlinearity = get_nonlinearity(hid_nonlinearity, "hid_nonlinearity")
        super().__init__(num_inputs, num_units, **kwargs)
        self._init_args["peephole_init"] = peephole_init
        n = self.num_units
        if self.forget_bias and kwargs.get("b_init") is None:
            b = self.b.get_value()
            b[n : 2 * n] += self.forget_bias
            self.b.set_value(b)
        if self.peepholes:
            init = as_initializer(
                Constant(0.0) if peephole_init is None else peephole_init, "peephole_init"
            )
            rng = as_rng(kwargs.get("seed"))
            for name in ("w_ci", "w_cf", "w_co"):
                setattr(self, name, self.add_param(name, init((n,), rng)))
            self.recurrent_names = ("W_hid", "w_ci", "w_cf", "w_co")

    def step_projected(
        self,
        xp_t,
        h,
        c,
        W_hid,
        w_ci=None,
        w_cf=None,
        w_co=None,
        grad_clipping=0.0,
        hid_mask=None,
    ):
        gates = _clip(xp_t + pt.dot(_masked(h, hid_mask), W_hid), grad_clipping)
        a_i, a_f, a_g, a_o = self._split(gates)
        if self.peepholes:
            a_i = a_i + w_ci * c
            a_f = a_f + w_cf * c
        i = self.gate_nonlinearity(a_i)
        f = self.gate_nonlinearity(a_f)
        c_new = f * c + i * self.cell_nonlinearity(a_g)
        if self.peepholes:
            a_o = a_o + w_co * c_new
        o = self.gate_nonlinearity(a_o)
        return [o * self.hid_nonlinearity(c_new), c_new]

    def fresh(self, seed=None):
        return LSTMCell(
            self.num_inputs,
            self.num_units,
            peepholes=self.peepholes,
            forget_bias=self.forget_bias,
            seed=seed,
            **self._nonlinearity_args,
            **self._init_args,
        )
