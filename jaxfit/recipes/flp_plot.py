"""Plots of the FLP and FLP-M recipes (`jaxfit.recipes.flp`, `jaxfit.recipes.flp_m`).

Both functions take the recipe's result or its ``frames()`` dict (what the command line
writes), and return a ``matplotlib.figure.Figure`` not attached to pyplot (save it with
``fig.savefig(path)``), at `jaxfit.plot_style.DPI`, accuracy in points (the recipes' table
unit), plain-number log ticks, each target's error in its panel's title and one legend
below the panels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from jaxfit.plot_style import figure, legend_below, plain_log_ticks, unit_label, wrap
from jaxfit.recipes.ladder import TASK_DISPLAY_NAMES
from jaxfit.recipes.ladder_plot import _TARGET_COLORS

__all__ = ["plot_flp", "plot_flp_m"]


def _frames(result) -> Mapping[str, pd.DataFrame]:
    return result.frames() if hasattr(result, "frames") else result


def _grid(n_panels: int, ncols: int = 3, size: tuple[float, float] = (4.0, 3.3)):
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}.")
    nrows = math.ceil(n_panels / ncols)
    fig = figure(size[0] * ncols, size[1] * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _target_colors(targets) -> dict:
    return {t: _TARGET_COLORS[i % len(_TARGET_COLORS)]
            for i, t in enumerate(dict.fromkeys(targets))}


def _task_title(ax, task, rows) -> None:
    err = ", ".join(f"{r.target} {r.abs_error:.1f}" for r in rows.itertuples()
                    if np.isfinite(r.abs_error))
    ax.set_title(wrap(f"{TASK_DISPLAY_NAMES.get(task, task)}" + (f"\nerror, points: {err}"
                                                                 if err else "")), fontsize=9)


def _loss_unit(result, frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """(loss column, its unit) as the recipe recorded them (its ``options``, or the
    frame's ``attrs`` for a frames dict); None where not known (e.g. frames read from
    CSV). The recipes know the unit only of their embedded data (nats)."""
    options = getattr(result, "options", None) or frame.attrs
    return options.get("loss"), options.get("loss_unit")


def _loss_label(name, unit, what: str = "loss") -> str:
    """``"C4 loss (nats)"`` for a known unit; ``"loss (column c4)"`` when the unit is not
    known (a user's data: its unit is not recorded anywhere), never a guessed unit."""
    if unit:
        return unit_label(f"{'C4' if str(name) == 'c4' else name} {what}" if name is not None
                          else what, unit)
    return unit_label(what, None, name) if name is not None else f"{what} (unit not recorded)"


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
    loss_label = _loss_label(*_loss_unit(result, s1))
    samp, tgt = s1[s1["kind"] == "sampling"], s1[s1["kind"] == "target"]
    c1 = curves[curves["stage"] == "stage1"]
    ax.plot(c1["x"], c1["y"], "--", color="grey", lw=1, label="fitted law")
    ax.scatter(samp["C"], samp["loss"], s=18, color="tab:blue", label="sampling runs")
    for r in tgt.itertuples():
        ax.scatter(r.C, r.loss, marker="x", color=tcol[r.run], s=40, label=f"{r.run} (actual)")
        ax.scatter(r.C, r.fitted, marker="o", facecolors="none", color=tcol[r.run], s=40,
                   label=f"{r.run} (predicted)")
    ax.set_xscale("log")
    plain_log_ticks(ax)
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel(loss_label)
    ax.set_title("stage 1: loss from compute", fontsize=9)

    s2 = f["stage2_data"]
    c2 = curves[curves["stage"] == "stage2"]
    for ax, task in zip(axes[1:], tasks):
        pts = s2[(s2["task"] == task) & (s2["kind"] == "sampling")]
        kept = pts["kept"].astype(bool)
        ax.scatter(pts.loc[~kept, "L"], 100 * pts.loc[~kept, "acc"], s=3, color="lightgrey",
                   label="checkpoints below chance + threshold (dropped)")
        ax.scatter(pts.loc[kept, "L"], 100 * pts.loc[kept, "acc"], s=3, color="tab:blue",
                   alpha=0.4, label="checkpoints (fitted)")
        c = c2[(c2["task"] == task) & (c2["x"] <= 1.03 * pts.loc[kept, "L"].max())]
        ax.plot(c["x"], 100 * c["y"], "-", color="black", lw=1, label="fitted stage 2")
        rows = pred[pred["task"] == task]
        for r in rows.itertuples():
            ax.scatter(r.actual_loss, 100 * r.actual_acc, marker="x", color=tcol[r.target], s=40)
            ax.scatter(r.pred_loss, 100 * r.pred_acc, marker="o", facecolors="none",
                       color=tcol[r.target], s=40)
        _task_title(ax, task, rows)
        ax.set_xlabel(loss_label)
        ax.set_ylabel("accuracy (%)")
    legend_below(fig, axes[:2], ncol=4)
    return fig


def _flp_m_paths(result, tasks) -> dict:
    """FLP-M's prediction along compute, per task: ``{task: (first-domain loss [m],
    accuracy [m])}`` from the smallest sampling run to the largest target (stage 1's
    domain losses through the MLP); {} for a frames dict, or with several mixtures."""
    if not hasattr(result, "fits") or "ratio" in result.predictions:
        return {}
    from jaxfit.recipes.flp_m import _inputs, predict_mlp
    from jaxfit.recipes.points import evaluate

    res1, mlp = result.fits["stage1"], result.fits["mlp"]
    domains, sources = result.options["domains"], result.options["sources"]
    grid = np.geomspace(result.stage1_data["C"].min(), result.predictions["C"].max(), 80)
    x = _inputs(pd.DataFrame({"C": grid}), sources)
    L = np.stack([evaluate(res1.law, res1.params, [d] * len(grid), x) for d in domains], -1)
    order = list(result.options["tasks"])
    acc = predict_mlp(mlp, np.broadcast_to(L, (len(order), *L.shape)))
    return {t: (L[:, 0], acc[order.index(t)]) for t in tasks}


def plot_flp_m(result, ncols: int = 3):
    """FLP-M: the targets' domain losses (predicted vs actual) and, per task, the MLP.

    Args:
        result: an `FLPMResult` or its ``frames()`` dict.
        ncols: panels per row.

    Returns:
        A matplotlib Figure: the first panel shows each target's actual and predicted
        (stage 1) loss on every domain; then one panel per task shows the training
        checkpoints' accuracy against the first domain's loss, the MLP as a line (for an
        `FLPMResult` of one mixture: FLP-M's prediction along compute, stage 1's domain
        losses through the MLP, from the smallest sampling run to the largest target;
        from frames alone: the MLP's fit along each run's checkpoints), and each target's
        actual accuracy and its FLP-M prediction.
    """
    f = _frames(result)
    pred, dl, s2 = f["predictions"], f["domain_losses"], f["stage2_data"]
    tasks = list(dict.fromkeys(pred["task"]))
    tcol = _target_colors(pred["target"])
    fig, axes = _grid(1 + len(tasks), ncols)
    ax = axes[0]
    domains = list(dict.fromkeys(dl["domain"]))
    targets = list(dict.fromkeys(dl["target"]))
    for i, (t, g) in enumerate(dl.groupby("target", sort=False)):
        pos = np.array([domains.index(d) for d in g["domain"]]) + 0.25 * (
            i - (len(targets) - 1) / 2)
        ax.vlines(pos, g["actual"], g["pred"], color=tcol[t], lw=0.8)
        ax.scatter(pos, g["actual"], marker="x", color=tcol[t], s=30, label=f"{t} (actual)")
        ax.scatter(pos, g["pred"], marker="o", facecolors="none", color=tcol[t], s=30,
                   label=f"{t} (predicted)")
    ax.set_xticks(range(len(domains)), [str(d).replace("_", "\n") for d in domains],
                  fontsize=7)
    ax.set_xlabel("validation domain")
    unit = _loss_unit(result, dl)[1]
    ax.set_ylabel(f"domain loss ({unit})" if unit else "domain loss (each domain's column)")
    ax.set_title("stage 1: targets' domain losses", fontsize=9)
    first = [c for c in s2.columns if c not in ("task", "run", "C", "acc", "fitted")][0]
    loss0 = dl[dl["domain"] == first].set_index("target")
    paths = _flp_m_paths(result, tasks)
    for ax, task in zip(axes[1:], tasks):
        pts = s2[s2["task"] == task]
        ax.scatter(pts[first], 100 * pts["acc"], s=3, color="tab:blue", alpha=0.3,
                   edgecolors="none", label="checkpoints (MLP training data)")
        if task in paths:
            lx, acc = paths[task]
            ax.plot(lx, 100 * acc, "-", color="black", lw=1.2,
                    label="FLP-M along compute (stage 1 -> MLP)")
        else:
            for i, (_, run) in enumerate(pts.sort_values("C").groupby("run", sort=False)):
                ax.plot(run[first], 100 * run["fitted"], "-", color="black", lw=0.8,
                        label="MLP fit, per run")
        rows = pred[pred["task"] == task]
        for r in rows.itertuples():
            ax.scatter(loss0.loc[r.target, "actual"], 100 * r.actual_acc, marker="x",
                       color=tcol[r.target], s=40)
            ax.scatter(loss0.loc[r.target, "pred"], 100 * r.pred_acc, marker="o",
                       facecolors="none", color=tcol[r.target], s=40)
        _task_title(ax, task, rows)
        ax.set_xlabel(_loss_label(first, unit))
        ax.set_ylabel("accuracy (%)")
    legend_below(fig, axes[:2], ncol=4)
    return fig
