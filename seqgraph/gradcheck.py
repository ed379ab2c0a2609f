"""Finite-difference checks of gradients, fast enough for real layer sizes.

:func:`gradcheck` compiles one function that returns the cost and every
gradient, with the parameters as inputs.  For each parameter it takes a few
directions ``d`` (the gradient's own, then random ones) and compares the
analytic directional derivative ``<grad, d>`` with the central difference
``(f(p + eps d) - f(p - eps d)) / 2 eps``: two evaluations per direction,
whatever the parameter's size (an 8000 x 50 embedding costs what a bias
costs).  A gradient of the wrong size or direction shows in these.

>>> import numpy as np, pytensor, pytensor.tensor as pt
>>> w = pytensor.shared(np.array([0.3, -1.2]), name="w")
>>> report = gradcheck((pt.tanh(w) ** 2).sum(), [w])
>>> report.worst < 1e-7
True
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.replace import graph_replace

from seqgraph.function import function
from seqgraph.init import as_rng
from seqgraph.params import Module

__all__ = ["GradcheckReport", "gradcheck"]


class GradcheckReport(OrderedDict):
    """Worst relative error per parameter name, with a printable table.

    Attributes
    ----------
    details : dict
        Per parameter: the analytic and numeric directional derivatives.
    """

    def __init__(self, errors, details, eps, dtype):
        super().__init__(errors)
        self.details = details
        self.eps = eps
        self.dtype = dtype

    @property
    def worst(self) -> float:
        return max(self.values()) if self else 0.0

    def failures(self, tol):
        return [name for name, err in self.items() if not err <= tol]

    def assert_ok(self, tol=None):
        """Raise AssertionError naming every parameter whose error exceeds ``tol``.

        The default tolerance is ``1e-6`` for float64 and ``1e-2`` for float32.
        """
        tol = (1e-6 if self.dtype == "float64" else 1e-2) if tol is None else tol
        bad = self.failures(tol)
        if bad:
            raise AssertionError(
                f"gradient check failed for {bad} (relative error above {tol}):\n{self}"
            )

    def __str__(self) -> str:
        width = max([len("parameter")] + [len(n) for n in self])
        lines = [f"{'parameter':<{width}}  worst relative error"]
        for name, err in self.items():
            lines.append(f"{name:<{width}}  {err:.3e}")
        return "\n".join(lines)


def gradcheck(
    cost, wrt, inputs=(), values=(), directions=3, eps=None, seed=0, backend="c"
) -> GradcheckReport:
    """Check the gradient of a scalar ``cost`` with respect to shared variables.

    Parameters
    ----------
    cost : scalar Variable
    wrt : Module or list of SharedVariable
        The parameters to check (a layer or model gives all of its trainable
        ones, named).
    inputs : list of Variable
        Free inputs of ``cost``.
    values : list of array_like
        One value per input.
    directions : int
        Directions per parameter: the gradient's own, then random ones.
    eps : float, optional
        Step of the central differences; default ``1e-5`` (float64) or
        ``1e-3`` (float32, whose rounding limits the check to about 1e-2).
    seed : int
    backend : str
        Backend of the one compiled function.

    Returns
    -------
    GradcheckReport
    """
    if isinstance(wrt, Module):
        named = wrt.named_params(trainable_only=True)
    else:
        wrt = list(wrt)
        for i, p in enumerate(wrt):
            if not isinstance(p, SharedVariable):
                raise TypeError(f"wrt[{i}] ({p!r}) is not a shared variable.")
        named = OrderedDict((p.name or f"param{i}", p) for i, p in enumerate(wrt))
        if len(named) != len(wrt):
            named = OrderedDict((f"{i}.{p.name}", p) for i, p in enumerate(wrt))
    cost = pt.as_tensor_variable(cost)
    if cost.ndim != 0:
        raise ValueError(f"cost must be a scalar; got ndim={cost.ndim}.")
    inputs, values = list(inputs), list(values)
    if len(inputs) != len(values):
        raise ValueError(f"got {len(values)} values for {len(inputs)} inputs.")
    params = list(named.values())
    dtype = params[0].dtype
    if eps is None:
        eps = 1e-5 if dtype == "float64" else 1e-3
    grads = pytensor.grad(cost, params)
    stand_ins = [p.type() for p in params]
    replaced = graph_replace([cost, *grads], dict(zip(params, stand_ins)), strict=False)
    fn = function(inputs + stand_ins, replaced, backend=backend)

    base = [np.array(p.get_value(), dtype=dtype) for p in params]
    out = fn(*values, *base)
    analytic_grads = out[1:]
    # Below this size a directional derivative is rounding noise of the cost.
    floor = (1e-7 if dtype == "float64" else 1e-3) * max(1.0, abs(float(out[0])))
    rng = as_rng(seed)
    errors, details = OrderedDict(), OrderedDict()
    for i, name in enumerate(named):
        worst, rows = 0.0, []
        g = np.asarray(analytic_grads[i], dtype="float64")
        for k in range(directions):
            # The first direction is the gradient's own (the largest directional
            # derivative, so the best relative precision, and any error in its
            # size shows); the others are random (any error in its direction).
            d = g.copy() if k == 0 and np.any(g) else rng.normal(size=base[i].shape)
            d /= max(np.linalg.norm(d), 1e-30)
            point = list(base)
            point[i] = (base[i] + eps * d).astype(dtype)
            plus = float(fn(*values, *point)[0])
            point[i] = (base[i] - eps * d).astype(dtype)
            minus = float(fn(*values, *point)[0])
            numeric = (plus - minus) / (2 * eps)
            analytic = float(np.sum(g * d))
            scale = max(abs(numeric), abs(analytic), floor)
            err = abs(numeric - analytic) / scale
            worst = max(worst, err)
            rows.append((analytic, numeric))
        errors[name] = worst
        details[name] = rows
    return GradcheckReport(errors, details, eps, dtype)
