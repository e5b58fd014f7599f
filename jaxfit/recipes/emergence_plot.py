"""Figures of the emergence recipe (Snell et al. 2024): `plot_emergence`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["plot_emergence"]


def _frames(result) -> Mapping[str, pd.DataFrame]:
    f = dict(result.frames() if hasattr(result, "frames") else result)
    if "emergence" not in f and "table" in f:       # the protocol's frames(): table first
        f["emergence"] = f["table"]
    return f


def _band(ax, row: pd.Series, prefix: str, color, label: str) -> None:
    lo, hi = row.get(f"{prefix}_5"), row.get(f"{prefix}_95")
    if lo is not None and np.isfinite(lo):
        ax.axvspan(lo, hi, color=color, alpha=0.15, lw=0, label=label)


def _curve_panel(ax, task, f: Mapping[str, pd.DataFrame], increasing: bool) -> None:
    import matplotlib as mpl

    pts = f["points"][f["points"]["task"] == task]
    cur = f["curves"][f["curves"]["task"] == task]
    row = f["emergence"].loc[task]
    amounts = sorted(cur["D"].unique()) if "D" in cur else [np.nan]
    has_d = "D" in cur and len(amounts) > 1
    cmap = mpl.colormaps["viridis"]
    for i, d in enumerate(amounts):
        color = cmap(i / max(len(amounts) - 1, 1)) if has_d else "C0"
        few = has_d and d == row["D0"]
        c = cur[cur["D"] == d] if has_d else cur
        p = pts[pts["D"] == d] if has_d else pts
        label = (f"D0 = {d:g} (predicted)" if few else f"D = {d:g}") if has_d else "data"
        if len(p):
            ax.scatter(p["L"], p["y"], s=8, color=color, alpha=0.6, label=label)
            label = None
        if "lower" in c and not has_d:
            ax.fill_between(c["L"], c["lower"], c["upper"], color=color, alpha=0.25, lw=0)
        ax.plot(c["L"], c["mean"], color="k" if few else color, lw=2 if few else 1.2,
                ls="--" if few else "-", label=label)
    xlim = ax.get_xlim()                 # bands of a poorly identified task stay in view
    ax.axvline(row["mle"], color="C3", lw=1.2, label=f"emergence (MLE) {row['mle']:.3f}")
    _band(ax, row, "posterior", "C3", "posterior 5-95%")
    _band(ax, row, "bootstrap", "C1", "bootstrap 5-95%")
    ax.set_xlim(xlim)
    if not increasing:
        ax.invert_xaxis()
    ax.set_title(str(task), fontsize=9)
    ax.legend(fontsize=6, loc="upper left")


def _shift_panel(ax, task, f: Mapping[str, pd.DataFrame]) -> None:
    el = f["elbows"][f["elbows"]["task"] == task].sort_values("D")
    row = f["emergence"].loc[task]
    ax.scatter(el["D"], el["elbow"], color="C0", s=14, label="per-subset elbow")
    grid = np.geomspace(el["D"].min(), el["D"].max(), 60)
    ax.plot(el["D"], el["law"], color="k", lw=1, label="E(D), joint fit")
    ax.errorbar([row["D0"]], [row["mle"]],
                yerr=[[row["mle"] - row.get("posterior_5", row["mle"])],
                      [row.get("posterior_95", row["mle"]) - row["mle"]]],
                fmt="o", color="C3", capsize=3, label="E(D0), posterior 5-95%")
    ax.set_xscale("log")
    ax.set_xlim(grid[0] / 2 if row["D0"] >= grid[0] else row["D0"] / 2, grid[-1] * 2)
    ax.set_xlabel("finetuning examples D")
    ax.set_ylabel("emergence point (loss)")
    ax.legend(fontsize=6)


def plot_emergence(result, tasks: Sequence | None = None, ncols: int = 3):
    """Performance vs loss with the fitted ReLU, the emergence point and its intervals.

    One panel per task (points, the fitted curve per data amount, the few-shot
    prediction dashed, the MLE emergence point with its posterior and bootstrap 5-95%
    bands); for `jaxfit.recipes.emergence.emergence` results a second row shows the
    per-subset elbows against ``D`` with the fitted emergence law ``E(D)`` and ``E(D0)``.

    Args:
        result: an `EmergenceResult` or its ``frames()`` dict.
        tasks: tasks to show (default: all).
        ncols: panels per row (single-curve results).

    Returns:
        A matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    f = _frames(result)
    options = f["emergence"].attrs.get("options", {})
    increasing = bool(options.get("increasing", False))
    tasks = list(f["emergence"].index if tasks is None else tasks)
    has_d = "D" in f["points"] and f["points"]["D"].nunique() > 1
    if has_d:
        fig, axes = plt.subplots(2, len(tasks), figsize=(4.5 * len(tasks), 7), squeeze=False)
        for j, task in enumerate(tasks):
            _curve_panel(axes[0, j], task, f, increasing)
            _shift_panel(axes[1, j], task, f)
        top = axes[0]
    else:
        nrows = -(-len(tasks) // ncols)
        fig, axes = plt.subplots(nrows, min(ncols, len(tasks)), figsize=(
            4.2 * min(ncols, len(tasks)), 3.4 * nrows), squeeze=False)
        for ax, task in zip(axes.flat, tasks):
            _curve_panel(ax, task, f, increasing)
        for ax in list(axes.flat)[len(tasks):]:
            ax.set_visible(False)
        top = axes[-1]
    xlabel = options.get("loss", "pre-training loss")
    for ax in top:
        ax.set_xlabel(xlabel)
    for ax in (axes[:, 0] if not has_d else axes[:1, 0]):
        ax.set_ylabel(options.get("y", "performance"))
    fig.tight_layout()
    return fig
