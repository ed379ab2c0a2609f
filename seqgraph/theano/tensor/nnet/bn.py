"""``theano.tensor.nnet.bn``: batch normalisation, written out in PyTensor.

Theano ran these through cuDNN where it could; here they are the formulas
Theano documents, so each backend compiles them and PyTensor differentiates
them: ``(x - mean) * gamma / sqrt(var + epsilon) + beta``, with the batch's
statistics over ``axes`` in training.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

__all__ = ["batch_normalization", "batch_normalization_test", "batch_normalization_train"]


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """``(inputs - mean) * (gamma / std) + beta``, all broadcast against ``inputs``.

    Parameters
    ----------
    inputs, gamma, beta, mean, std : tensor
        The activations and the statistics and parameters, each of the
        inputs' number of dimensions and broadcastable against them.
    mode : {"low_mem", "high_mem"}
        Theano's two implementations; both give the same graph here.
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(
            f"batch_normalization: mode must be 'low_mem' or 'high_mem'; got {mode!r}."
        )
    inputs = pt.as_tensor_variable(inputs)
    for name, value in (("gamma", gamma), ("beta", beta), ("mean", mean), ("std", std)):
        if pt.as_tensor_variable(value).ndim != inputs.ndim:
            raise ValueError(
                f"batch_normalization: {name} must have the inputs' {inputs.ndim} dimensions "
                f"(broadcastable against them); got {pt.as_tensor_variable(value).ndim}."
            )
    return (inputs - mean) * (gamma / std) + beta


def _axes(axes, ndim, fname):
    if axes == "per-activation":
        axes = (0,)
    elif axes == "spatial":
        axes = (0, *range(2, ndim))
    elif isinstance(axes, (tuple, list, np.ndarray)):
        axes = tuple(int(a) for a in axes)
    else:
        raise ValueError(
            f"{fname}: axes must be 'per-activation', 'spatial' or a tuple of ints; got {axes!r}."
        )
    axes = tuple(sorted(axes))
    if not axes:
        raise ValueError(f"{fname}: axes must name at least one axis.")
    if min(axes) < 0 or max(axes) >= ndim:
        raise ValueError(f"{fname}: axes must lie in [0, {ndim}); got {axes}.")
    return axes, tuple(i for i in range(ndim) if i not in axes)


def _params(values, names, ndim, axes, kept, fname):
    """Each parameter broadcast to ``ndim`` axes; and whether they came without the ``axes``."""
    values = [pt.as_tensor_variable(v) for v in values]
    short = values[0].ndim != ndim
    want = len(kept) if short else ndim
    out = []
    for name, v in zip(names, values):
        if v.ndim != want:
            raise ValueError(
                f"{fname}: {name} must have {len(kept)} dimensions (the axes not normalised) "
                f"or the inputs' {ndim}; got {v.ndim}."
            )
        if short:
            pattern = ["x"] * ndim
            for i, axis in enumerate(kept):
                pattern[axis] = i
            v = v.dimshuffle(pattern)
        else:
            v = pt.specify_broadcastable(v, *axes)
        out.append(v)
    return out, short


def _epsilon(epsilon, fname):
    eps = np.asarray(epsilon, dtype=pytensor.config.floatX)
    if eps < 1e-5:
        raise ValueError(f"{fname}: epsilon must be at least 1e-5 (cuDNN's floor); got {epsilon}.")
    return eps


def batch_normalization_train(
    inputs,
    gamma,
    beta,
    axes="per-activation",
    epsilon=1e-4,
    running_average_factor=0.1,
    running_mean=None,
    running_var=None,
):
    """Normalise ``inputs`` by their own mean and variance over ``axes``.

    Parameters
    ----------
    inputs : tensor
    gamma, beta : tensor
        Scale and shift: either without the normalised axes, or with them
        of size 1.
    axes : "per-activation", "spatial" or tuple of int
        ``(0,)``; ``(0, 2, 3, ...)``; or the axes given.
    epsilon : float
        Added to the variance; at least 1e-5.
    running_average_factor : float
        Weight of this batch in the new running averages.
    running_mean, running_var : tensor, optional
        The running averages to update (both or neither), laid out as ``gamma``.

    Returns
    -------
    tuple
        ``(out, mean, invstd)``, and ``new_running_mean, new_running_var``
        when the running averages are given. The running variance takes the
        batch's unbiased variance (``m / (m - 1)`` times the biased one, ``m``
        the number of values averaged).
    """
    fname = "batch_normalization_train"
    inputs = pt.as_tensor_variable(inputs)
    ndim = inputs.ndim
    axes, kept = _axes(axes, ndim, fname)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fname}: give both running_mean and running_var, or neither.")
    names = ["gamma", "beta"]
    values = [gamma, beta]
    if running_mean is not None:
        names += ["running_mean", "running_var"]
        values += [running_mean, running_var]
    params, short = _params(values, names, ndim, axes, kept, fname)
    eps = _epsilon(epsilon, fname)
    mean = inputs.mean(axis=axes, keepdims=True)
    var = inputs.var(axis=axes, keepdims=True)
    invstd = 1.0 / pt.sqrt(var + eps)
    out = (inputs - mean) * params[0] * invstd + params[1]
    results = [mean, invstd]
    if running_mean is not None:
        factor = np.asarray(running_average_factor, dtype=inputs.dtype)
        count = pt.cast(pt.prod([inputs.shape[a] for a in axes]), inputs.dtype)
        results.append(params[2] * (1 - factor) + mean * factor)
        results.append(params[3] * (1 - factor) + (count / (count - 1)) * var * factor)
    if short:
        results = [r.dimshuffle(kept) for r in results]
    return (out, *results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """Normalise ``inputs`` by the given ``mean`` and ``var`` (running averages, usually).

    ``(inputs - mean) * gamma / sqrt(var + epsilon) + beta``; the parameters
    are laid out as in :func:`batch_normalization_train`.
    """
    fname = "batch_normalization_test"
    inputs = pt.as_tensor_variable(inputs)
    axes, kept = _axes(axes, inputs.ndim, fname)
    (gamma, beta, mean, var), _ = _params(
        [gamma, beta, mean, var], ["gamma", "beta", "mean", "var"], inputs.ndim, axes, kept, fname
    )
    eps = _epsilon(epsilon, fname)
    return (inputs - mean) * gamma / pt.sqrt(var + eps) + beta
