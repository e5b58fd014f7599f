"""Plots of the FLP and FLP-M recipes (`jaxfit.recipes.flp`, `jaxfit.recipes.flp_m`).

Both functions take the recipe's result or its ``frames()`` dict (what the command line
writes), and return a ``matplotlib.figure.Figure`` not attached to pyplot (save it with
``fig.savefig(path)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from jaxfit.recipes.ladder import TASK_DISPLAY_NAMES
from jaxfit.recipes.ladder_plot import _TARGET_COLORS

__all__ = ["plot_flp", "plot_flp_m"]


def _frames(result) -> Mapping[str, pd.DataFrame]:
    return result.frames() if hasattr(result, "frames") else result


def _grid(n_panels: int, ncols: int = 3, size: tuple[float, float] = (4.0, 3.2)):
    from matplotlib.figure import Figure

    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}.")
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _target_colors(targets) -> dict:
    return {t: _TARGET_COLORS[i % len(_TARGET_COLORS)]
            for i, t in enumerate(dict.fromkeys(targets))}


def plot_flp(result, ncols: int = 3):
    """Stage 1 (loss vs compute) and, per task, stage 2 (accuracy vs loss) with targets.

    Args:
        result: an `FLPResult` or its ``frames()`` dict.
        ncols: panels per row.

    Returns:
        A matplotlib Figure: the first panel is stage 1 (sampling runs, fitted law,
        targets' actual and predicted loss); then one panel per task with the
        checkpoints (grey: below chance + threshold, dropped), the fitted stage 2, and
        each target's actual point and its FLP prediction (at the predicted loss).
    """
    f = _frames(result)
    pred, curves = f["predictions"], f["curves"]
    tasks = list(dict.fromkeys(pred["task"]))
    tcol = _target_colors(pred["target"])
    fig, axes = _grid(1 + len(tasks), ncols)

    ax = axes[0]
    s1 = f["stage1_data"]
    samp, tgt = s1[s1["kind"] == "sampling"], s1[s1["kind"] == "target"]
    c1 = curves[curves["stage"] == "stage1"]
    ax.plot(c1["x"], c1["y"], "--", color="grey", lw=1, label="fit")
    ax.scatter(samp["C"], samp["loss"], s=18, color="tab:blue", label="sampling runs")
    for r in tgt.itertuples():
        ax.scatter(r.C, r.loss, marker="x", color=tcol[r.run], s=40, label=f"{r.run} actual")
        ax.scatter(r.C, r.fitted, marker="o", facecolors="none", color=tcol[r.run], s=40,
                   label=f"{r.run} predicted")
    ax.set_xscale("log")
    ax.set_xlabel("compute C (FLOPs)")
    ax.set_ylabel("pre-training loss")
    ax.set_title("stage 1: L(C)", fontsize=9)
    ax.legend(fontsize=6)

    s2 = f["stage2_data"]
    c2 = curves[curves["stage"] == "stage2"]
    for ax, task in zip(axes[1:], tasks):
        pts = s2[(s2["task"] == task) & (s2["kind"] == "sampling")]
        kept = pts["kept"].astype(bool)
        ax.scatter(pts.loc[~kept, "L"], pts.loc[~kept, "acc"], s=3, color="lightgrey")
        ax.scatter(pts.loc[kept, "L"], pts.loc[kept, "acc"], s=3, color="tab:blue", alpha=0.4)
        c = c2[(c2["task"] == task) & (c2["x"] <= 1.03 * pts.loc[kept, "L"].max())]
        ax.plot(c["x"], c["y"], "-", color="black", lw=1)
        for r in pred[pred["task"] == task].itertuples():
            ax.scatter(r.actual_loss, r.actual_acc, marker="x", color=tcol[r.target], s=40)
            ax.scatter(r.pred_loss, r.pred_acc, marker="o", facecolors="none",
                       color=tcol[r.target], s=40)
        err = ", ".join(f"{r.target} {r.abs_error:.1f}"
                        for r in pred[pred["task"] == task].itertuples())
        ax.set_title(f"{TASK_DISPLAY_NAMES.get(task, task)} (error, points: {err})",
                     fontsize=8)
        ax.set_xlabel("pre-training loss")
        ax.set_ylabel("accuracy")
    return fig


def plot_flp_m(result, ncols: int = 3):
    """FLP-M: the targets' domain losses (predicted vs actual) and, per task, the MLP.

    Args:
        result: an `FLPMResult` or its ``frames()`` dict.
        ncols: panels per row.

    Returns:
        A matplotlib Figure: the first panel compares each target's predicted and actual
        domain losses; then one panel per task shows the MLP's fitted accuracy against
        the training checkpoints' accuracy (by first-domain loss), with each target's
        actual accuracy and its FLP-M prediction.
    """
    f = _frames(result)
    pred, dl, s2 = f["predictions"], f["domain_losses"], f["stage2_data"]
    tasks = list(dict.fromkeys(pred["task"]))
    tcol = _target_colors(pred["target"])
    fig, axes = _grid(1 + len(tasks), ncols)
    ax = axes[0]
    for t, g in dl.groupby("target", sort=False):
        ax.scatter(g["actual"], g["pred"], color=tcol[t], s=20, label=t)
        for r in g.itertuples():
            ax.annotate(r.domain, (r.actual, r.pred), fontsize=6)
    lo, hi = dl[["actual", "pred"]].min().min(), dl[["actual", "pred"]].max().max()
    ax.plot([lo, hi], [lo, hi], ":", color="grey")
    ax.set_xlabel("actual domain loss")
    ax.set_ylabel("predicted domain loss")
    ax.set_title("stage 1: domain losses of the targets", fontsize=9)
    ax.legend(fontsize=6)
    first = [c for c in s2.columns if c not in ("task", "run", "C", "acc", "fitted")][0]
    loss0 = dl[dl["domain"] == first].set_index("target")
    for ax, task in zip(axes[1:], tasks):
        pts = s2[s2["task"] == task]
        ax.scatter(pts[first], pts["acc"], s=3, color="tab:blue", alpha=0.3, label="data")
        ax.scatter(pts[first], pts["fitted"], s=2, color="black", label="MLP")
        for r in pred[pred["task"] == task].itertuples():
            ax.scatter(loss0.loc[r.target, "actual"], r.actual_acc, marker="x",
                       color=tcol[r.target], s=40)
            ax.scatter(loss0.loc[r.target, "pred"], r.pred_acc, marker="o",
                       facecolors="none", color=tcol[r.target], s=40)
        err = ", ".join(f"{r.target} {r.abs_error:.1f}"
                        for r in pred[pred["task"] == task].itertuples())
        ax.set_title(f"{TASK_DISPLAY_NAMES.get(task, task)} (error, points: {err})",
                     fontsize=8)
        ax.set_xlabel(f"{first} loss")
        ax.set_ylabel("accuracy")
    return fig
