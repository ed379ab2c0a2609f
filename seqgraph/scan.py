"""``scan`` without traps: always a list of outputs, updates apart, clear errors.

``pytensor.scan`` returns a bare variable for one output and a list for
several, and reports a mismatch between ``outputs_info`` and what the step
returns deep inside graph construction, if at all.  :func:`scan` keeps
PyTensor's keywords and semantics but

* always returns ``(outputs, updates)`` with ``outputs`` a list;
* checks, while the graph is built, that the step returns one value per entry
  of ``outputs_info`` and that every recurrent value has the initial state's
  ndim, dtype and broadcast pattern;
* repairs the one unambiguous mismatch, an initial state with a broadcastable
  (size-1) dimension where the step returns a general one (the classic
  ``zeros((1, n))`` batch dimension): the step's value is declared
  broadcastable there, which is what the loop needs anyway;
* checks ``n_steps`` against the sequences' lengths when both are known.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, Variable
from pytensor.scan.basic import get_updates_and_outputs
from pytensor.scan.utils import until

from seqgraph._scan_draws import store_draws

__all__ = ["ScanError", "scan"]

# PyTensor is moving scan to return outputs only; ask for the updates explicitly
# where the keyword exists, so that updates made in the step are never lost.
_RETURN_UPDATES = (
    {"return_updates": True}
    if "return_updates" in inspect.signature(pytensor.scan).parameters
    else {}
)


class ScanError(ValueError):
    """A step function and the arguments of :func:`scan` do not agree."""


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_tensor(value, what):
    if isinstance(value, Variable):
        return value
    try:
        return pt.as_tensor_variable(value)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise ScanError(f"{what} must be a tensor or array-like; got {value!r}.") from exc


def _normalise_outputs_info(outputs_info) -> list:
    """Return one entry per output: None, a tensor, or a dict with a tensor."""
    entries = [outputs_info] if isinstance(outputs_info, (Variable, dict)) else None
    if entries is None:
        if isinstance(outputs_info, np.ndarray) or np.isscalar(outputs_info):
            entries = [outputs_info]
        else:
            entries = _as_list(outputs_info)
    normalised = []
    for i, entry in enumerate(entries):
        if entry is None:
            normalised.append(None)
        elif isinstance(entry, Mapping):
            entry = dict(entry)
            if "initial" not in entry:
                raise ScanError(
                    f"outputs_info[{i}] is a dict without an 'initial' key; write "
                    "dict(initial=h0, taps=[-1]) or pass None for an output that "
                    "is not fed back."
                )
            if entry["initial"] is not None:
                entry["initial"] = _as_tensor(entry["initial"], f"outputs_info[{i}]['initial']")
            taps = entry.get("taps", [-1])
            if taps is not None and any(
                (not isinstance(t, (int, np.integer))) or t >= 0 for t in taps
            ):
                raise ScanError(
                    f"outputs_info[{i}]['taps'] must be negative integers (past "
                    f"steps such as [-2, -1]); got {taps!r}."
                )
            normalised.append(entry)
        else:
            normalised.append(_as_tensor(entry, f"outputs_info[{i}]"))
    return normalised


def _initial(entry):
    """The initial tensor of an outputs_info entry and whether it is tap-stacked."""
    if entry is None:
        return None, False
    if isinstance(entry, dict):
        taps = entry.get("taps", [-1])
        initial = entry["initial"]
        if initial is None:
            return None, False
        return initial, taps is not None and list(taps) != [-1]
    return entry, False


def _static_length(var) -> int | None:
    shape = getattr(var.type, "shape", None)
    if shape and shape[0] is not None:
        return int(shape[0])
    return None


def _constant_int(value) -> int | None:
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Constant):
        data = np.asarray(value.data)
        if data.ndim == 0 and np.issubdtype(data.dtype, np.integer):
            return int(data)
    return None


def _check_n_steps(n_steps, sequences) -> None:
    if n_steps is None:
        if not sequences:
            raise ScanError("scan needs sequences or n_steps; got neither.")
        return
    steps = _constant_int(n_steps)
    if steps is None:
        if isinstance(n_steps, Variable):
            if n_steps.ndim != 0 or "int" not in n_steps.dtype:
                raise ScanError(f"n_steps must be an integer scalar; got {n_steps.type}.")
            return
        raise ScanError(f"n_steps must be an integer or an integer scalar tensor; got {n_steps!r}.")
    if steps < 0:
        raise ScanError(
            f"n_steps must be >= 0; got {steps}. Use go_backwards=True to run in reverse."
        )
    for i, seq in enumerate(sequences):
        if isinstance(seq, Mapping):
            var, taps = seq.get("input"), list(seq.get("taps", [0]))
        else:
            var, taps = seq, [0]
        if not isinstance(var, Variable):
            continue
        length = _static_length(var)
        if length is None:
            continue
        usable = length - (max(taps) - min(taps)) if taps else length
        if steps > usable:
            raise ScanError(
                f"n_steps={steps} is larger than sequences[{i}], which has "
                f"{length} steps (usable with taps {taps}: {usable}). Pass a "
                "longer sequence or a smaller n_steps."
            )


def _describe(var) -> str:
    return f"ndim={var.ndim}, dtype={var.dtype}, shape={var.type.shape}"


def _check_outputs(outputs, outputs_info) -> list:
    """Compare what the step returned with what ``outputs_info`` announced.

    Returns the outputs, with the one unambiguous repair applied: where the
    initial state has a static length of 1 on an axis and the step's value has
    an unknown length there, the value is declared broadcastable on that axis.
    A scan state keeps its initial shape at every step, so the value must have
    length 1 there anyway (a runtime check says so if it does not).
    """
    if outputs_info and len(outputs) != len(outputs_info):
        raise ScanError(
            f"the step function returned {len(outputs)} value(s) but outputs_info "
            f"has {len(outputs_info)} entr{'y' if len(outputs_info) == 1 else 'ies'}. "
            "outputs_info needs one entry per returned value, in the same order: "
            "the initial state of a value that is fed back, None for one that is not."
        )
    for i, (out, entry) in enumerate(zip(outputs, outputs_info or [None] * len(outputs))):
        initial, stacked = _initial(entry)
        if initial is None:
            continue
        state = initial.type.clone(shape=initial.type.shape[1:]) if stacked else initial.type
        where = f"output {i} of the step" + (
            " (per tap of outputs_info['initial'])" if stacked else ""
        )
        if out.ndim != state.ndim:
            raise ScanError(
                f"{where} has {_describe(out)} but its initial state outputs_info[{i}] "
                f"implies ndim={state.ndim} ({state}). Give an initial state of the "
                "shape the step returns"
                + (", with one extra leading axis for the taps." if stacked else ".")
            )
        if out.dtype != state.dtype:
            raise ScanError(
                f"{where} has dtype {out.dtype} but its initial state outputs_info[{i}] "
                f"has dtype {state.dtype}. Make them agree, e.g. "
                f"outputs_info[{i}] = pytensor.tensor.cast(h0, {out.dtype!r}), or cast "
                "inside the step; usually one float64 constant or shared variable "
                "upcasts a float32 step."
            )
        axes = [
            ax
            for ax, (s_dim, o_dim) in enumerate(zip(state.shape, out.type.shape))
            if s_dim == 1 and o_dim != 1
        ]
        if axes:
            outputs = list(outputs)
            outputs[i] = pt.specify_broadcastable(out, *axes)
    return outputs


def scan(
    fn: Callable,
    sequences=None,
    outputs_info=None,
    non_sequences=None,
    n_steps=None,
    truncate_gradient: int = -1,
    go_backwards: bool = False,
    mode=None,
    name: str | None = None,
    profile: bool = False,
    allow_gc: bool | None = None,
    strict: bool = False,
) -> tuple[list[Variable], dict]:
    r"""Loop a step function over sequences, like ``pytensor.scan``.

    Parameters
    ----------
    fn : callable
        The step. It receives, in this order, the current slice of each
        sequence (one argument per tap), the previous values of each recurrent
        output (one per tap) and the non-sequences, and returns the new
        values: one variable, a list, or a list together with an updates dict
        (or a :class:`pytensor.scan.utils.until` condition), as in PyTensor.
    sequences : Variable, dict or list of them, optional
        Tensors iterated over their first axis; a dict
        ``dict(input=x, taps=[-1, 0])`` reads several time offsets.
    outputs_info : Variable, dict, None or list of them, optional
        One entry per value the step returns: the initial state of a value
        that is fed back, ``dict(initial=h0, taps=[-2, -1])`` for several past
        values (``h0`` then has a leading axis of length 2), or ``None`` for a
        value that is not fed back.
    non_sequences : Variable or list, optional
        Passed unchanged to every step (weights).
    n_steps : int or integer scalar, optional
        Number of steps; defaults to the length of the sequences.
    truncate_gradient : int, optional
        Backpropagate through at most this many steps; ``-1`` (default) for
        all of them.
    go_backwards : bool, optional
        Iterate the sequences from the end. Outputs are in iteration order.
    mode, name, profile, allow_gc, strict
        As in ``pytensor.scan``.

    Returns
    -------
    outputs : list of Variable
        One variable per value returned by the step, in the step's order,
        each with a leading time axis. Always a list, also for one output.
    updates : dict
        Updates of shared variables made inside the step (random draws for
        dropout, counters); pass them to :func:`seqgraph.function`.

    Raises
    ------
    ScanError
        When the step returns a different number of values than
        ``outputs_info`` implies, when a recurrent value's ndim or dtype differs
        from its initial state's, or when ``n_steps`` exceeds a sequence's
        known length. Raised while the graph is built.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> import seqgraph
    >>> x = pt.vector("x")
    >>> [total], updates = seqgraph.scan(lambda x_t, acc: acc + x_t,
    ...                                  sequences=x, outputs_info=pt.zeros(()))
    >>> f = seqgraph.function([x], total)
    >>> f(np.arange(4, dtype=x.dtype))
    array([0., 1., 3., 6.]...)
    """
    if not callable(fn):
        raise ScanError(f"fn must be callable (the step function); got {fn!r}.")
    if not isinstance(truncate_gradient, (int, np.integer)) or (
        truncate_gradient < 1 and truncate_gradient != -1
    ):
        raise ScanError(
            f"truncate_gradient must be -1 (full BPTT) or a positive number of "
            f"steps; got {truncate_gradient!r}."
        )
    sequences_list = _as_list(sequences)
    sequences_list = [
        s if isinstance(s, Mapping) else _as_tensor(s, f"sequences[{i}]")
        for i, s in enumerate(sequences_list)
    ]
    for i, seq in enumerate(sequences_list):
        var = seq.get("input") if isinstance(seq, Mapping) else seq
        if isinstance(var, Variable) and var.ndim == 0:
            raise ScanError(f"sequences[{i}] is a scalar; a sequence needs a leading time axis.")
    info = _normalise_outputs_info(outputs_info)
    _check_n_steps(n_steps, sequences_list)

    def checked_step(*args):
        result = fn(*args)
        if result is None:
            raise ScanError(
                "the step function returned None; it must return the step's new "
                "value(s) (a missing return statement?)."
            )
        condition, outputs, updates = get_updates_and_outputs(result)
        outputs = [_as_tensor(o, "a value returned by the step") for o in outputs]
        outputs = _check_outputs(outputs, info if outputs_info is not None else [])
        if condition is not None:
            return outputs, updates, until(condition)
        if updates:
            return outputs, updates
        return outputs

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Scan return signature will change", category=DeprecationWarning
        )
        # Scan clears the default update of generators created in the step
        # (Theano-style random streams), which PyTensor now flags as deprecated.
        warnings.filterwarnings(
            "ignore", message="Setting default_update is deprecated", category=DeprecationWarning
        )
        outputs, updates = pytensor.scan(
            checked_step,
            sequences=sequences_list or None,
            outputs_info=info if outputs_info is not None else None,
            non_sequences=_as_list(non_sequences) or None,
            n_steps=n_steps,
            truncate_gradient=int(truncate_gradient),
            go_backwards=go_backwards,
            mode=mode,
            name=name,
            profile=profile,
            allow_gc=allow_gc,
            strict=strict,
            return_list=True,
            **_RETURN_UPDATES,
        )
    # Keep each step's random draws, so that the loop can be differentiated.
    outputs, updates = store_draws(list(outputs), updates)
    return list(outputs), updates
