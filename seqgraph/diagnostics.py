"""Per-step diagnostics of a recurrent layer: saturation and gradient flow.

:func:`diagnose` runs a layer on a batch and reports, for every time step,

* the mean and standard deviation of the hidden state and the fraction of
  its units that are saturated (``|h| > 0.95``, or for an LSTM the cell
  output nonlinearity within 5% of a bound of its range);
* the norm of the gradient that flows back from the last step's output to
  each step's input (``||dL/dx_t||`` with ``L = <h_T, r>`` for a fixed random
  ``r``), which shows vanishing or exploding gradients through time;

and turns them into plain-language findings.  :meth:`Diagnosis.table` prints
the numbers, :meth:`Diagnosis.plot` draws them into a PNG (matplotlib).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytensor
import pytensor.tensor as pt

from seqgraph.cells import LSTMCell
from seqgraph.function import function
from seqgraph.layers import Recurrent

__all__ = ["Diagnosis", "diagnose"]


@dataclass
class Diagnosis:
    """What :func:`diagnose` measured; steps are in processing order."""

    h_mean: np.ndarray
    h_std: np.ndarray
    saturated: np.ndarray
    grad_norm: np.ndarray
    findings: list = field(default_factory=list)
    h_min: float = 0.0
    spectral_radius: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings

    def table(self, max_rows=20) -> str:
        """The per-step statistics (subsampled to ``max_rows``) and the findings."""
        steps = len(self.h_mean)
        rows = np.unique(np.linspace(0, steps - 1, min(steps, max_rows)).round().astype(int))
        lines = [f"{'step':>5}  {'mean h':>8}  {'std h':>8}  {'saturated':>9}  {'|dL/dx_t|':>10}"]
        for t in rows:
            lines.append(
                f"{t:>5}  {self.h_mean[t]:>8.4f}  {self.h_std[t]:>8.4f}  "
                f"{self.saturated[t]:>9.1%}  {self.grad_norm[t]:>10.3e}"
            )
        lines.append("")
        lines += [f"! {f}" for f in self.findings] or ["no problem found"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, path) -> None:
        """Draw the statistics into a PNG at ``path`` (needs matplotlib)."""
        try:
            import matplotlib
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "Diagnosis.plot needs matplotlib: pip install 'seqgraph[plot]'"
            ) from exc
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = np.arange(len(self.h_mean))
        fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
        axes[0].plot(steps, self.h_mean, label="mean")
        axes[0].fill_between(
            steps, self.h_mean - self.h_std, self.h_mean + self.h_std, alpha=0.3, label="± std"
        )
        axes[0].set_ylabel("hidden state")
        axes[0].legend(loc="best")
        axes[1].plot(steps, 100 * self.saturated)
        axes[1].set_ylabel("saturated units (%)")
        axes[1].set_ylim(0, 100)
        axes[2].semilogy(steps, np.maximum(self.grad_norm, 1e-30))
        axes[2].set_ylabel("|dL/dx_t|")
        axes[2].set_xlabel("step (processing order)")
        title = "; ".join(self.findings) if self.findings else "no problem found"
        fig.suptitle(title if len(title) < 90 else title[:87] + "...", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def _saturation(layer, states):
    cell = layer.cell
    h = states[0]
    if isinstance(cell, LSTMCell):
        act = cell.hid_nonlinearity(states[1])
        low = pt.min(act)
        # The range of the cell output nonlinearity: (-1, 1) for tanh, (0, 1) for
        # a sigmoid; saturated means within 5% of one of its bounds.
        bounded = pt.switch(pt.ge(low, 0), pt.or_(act > 0.95, act < 0.05), abs(act) > 0.95)
        return bounded
    return abs(h) > 0.95


def diagnose(layer, x, mask=None, backend="c", seed=0, explode=1e3, vanish=1e-3):
    """Per-step statistics of ``layer`` on the batch ``x``, with findings.

    Parameters
    ----------
    layer : Recurrent
    x : ndarray
        A batch in the layer's layout.
    mask : ndarray, optional
    backend : str
    seed : int
        Seed of the random read-out ``r`` of the last output.
    explode, vanish : float
        Ratios of ``||dL/dx_t||`` twenty steps before the last processed step
        to its value at the last step, above (below) which the gradient is
        reported as exploding (vanishing).

    Returns
    -------
    Diagnosis
    """
    if not isinstance(layer, Recurrent):
        raise TypeError(
            f"layer must be a Recurrent layer (diagnose each layer of a Stack or "
            f"Bidirectional on its own); got {type(layer).__name__}."
        )
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"x must be a float array (diagnose measures the gradient with respect to the "
            f"input); got dtype {x.dtype}."
        )
    if x.ndim == 3 and x.shape[0 if layer.time_major else 1] == 0:
        raise ValueError(f"x has no time steps (shape {x.shape}); diagnose needs at least one.")
    # With the array's own shape the layer checks its features (and the mask's
    # shape) while the graph is built.
    xs = pt.tensor(dtype=x.dtype, shape=x.shape, name="x")
    inputs, values = [xs], [x]
    ms = None
    if mask is not None:
        mask = np.asarray(mask)
        ms = pt.tensor(dtype=mask.dtype, shape=mask.shape, name="mask")
        inputs.append(ms)
        values.append(mask)
    states = layer.states(xs, ms, deterministic=True)
    h = states[0]
    if not layer.time_major:
        h_tm = h.dimshuffle(1, 0, 2)
    else:
        h_tm = h
    sat = _saturation(layer, [s.dimshuffle(1, 0, 2) if not layer.time_major else s for s in states])
    r = np.random.default_rng(seed).normal(size=layer.num_units).astype(h.dtype)
    last = h_tm[0] if layer.go_backwards else h_tm[-1]
    loss = (last * r).sum()
    gx = pytensor.grad(loss, xs)
    if x.ndim == 3 and not layer.time_major:
        gx = gx.dimshuffle(1, 0, 2)
    grad_norm = pt.sqrt((gx**2).sum(axis=tuple(range(1, gx.ndim))))
    fn = function(
        inputs,
        [
            h_tm.mean(axis=(1, 2)),
            h_tm.std(axis=(1, 2)),
            sat.mean(axis=(1, 2)),
            grad_norm,
            h_tm.min(),
        ],
        backend=backend,
    )
    h_mean, h_std, saturated, gnorm, h_min = (np.asarray(v, dtype="float64") for v in fn(*values))
    if layer.go_backwards:
        h_mean, h_std, saturated, gnorm = (a[::-1] for a in (h_mean, h_std, saturated, gnorm))
    W_hid = np.asarray(layer.cell.W_hid.get_value(), dtype="float64")
    n = layer.num_units
    radius = max(
        float(np.max(np.abs(np.linalg.eigvals(W_hid[:, k * n : (k + 1) * n]))))
        for k in range(layer.cell.num_gates)
    )
    diag = Diagnosis(h_mean, h_std, saturated, gnorm, h_min=float(h_min), spectral_radius=radius)
    _findings(diag, layer, explode, vanish)
    return diag


def _findings(diag, layer, explode, vanish):
    steps = len(diag.h_mean)
    late = slice(steps - max(1, steps // 4), steps)
    cell = layer.cell
    if isinstance(cell, LSTMCell) and diag.h_min >= 0:
        cause = (
            "its cell output uses a sigmoid (hid_nonlinearity), which keeps h in (0, 1); use tanh"
            if cell.hid_nonlinearity is pt.sigmoid
            else "check the cell output nonlinearity, it should be tanh"
        )
        diag.findings.append(
            f"LSTM saturation: the hidden state never goes below 0 over {steps} steps "
            f"(mean {diag.h_mean[late].mean():.2f} in the last quarter), so its units use "
            f"one side of their range; {cause}."
        )
    frac = float(diag.saturated[late].mean())
    if frac > 0.5:
        diag.findings.append(
            f"saturation: {frac:.0%} of the hidden units are within 5% of a bound of "
            "their range in the last quarter of the sequence; gradients through them "
            "vanish. Scale down the inputs or weights, or use a larger forget-gate bias."
        )
    # Compare the gradient reaching `window` steps back with the last step's:
    # losing (gaining) a factor 1e3 within 20 steps is vanishing (exploding);
    # the slow decay of a healthy gated cell over hundreds of steps is not.
    window = min(steps - 1, 20)
    last = diag.grad_norm[-1]
    if window > 0 and last > 0:
        ratio = diag.grad_norm[-1 - window] / last
        per_step = ratio ** (1.0 / window)
        if ratio > explode:
            diag.findings.append(
                f"exploding gradient: |dL/dx_t| grows {ratio:.3g}x over the last {window} "
                f"steps back ({per_step:.3f}x per step); the recurrent weights' spectral "
                f"radius is {diag.spectral_radius:.2f}. Clip gradients (grad_clipping, "
                "clip_norm) or initialise W_hid orthogonal with gain <= 1."
            )
        elif ratio < vanish:
            diag.findings.append(
                f"vanishing gradient: |dL/dx_t| falls to {ratio:.3g} of its last-step value "
                f"within {window} steps ({per_step:.3f}x per step); gated cells (LSTM, "
                "GRU), a larger forget-gate bias or a recurrent gain closer to 1 help."
            )
