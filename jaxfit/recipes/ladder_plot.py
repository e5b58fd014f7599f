"""Plots of `jaxfit.recipes.ladder` results: the two steps side by side, per task."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jaxfit.plot_style import (figure, interval_bar, legend_below, plain_log_ticks, unit_label,
                               wrap)
from jaxfit.recipes.ladder import TASK_DISPLAY_NAMES, LadderResult
from jaxfit.recipes.points import evaluate
from jaxfit.warnings import FAILED_DIAGNOSTICS, DiagnosticWarning

__all__ = ["plot_ladder"]

_TARGET_COLORS = ("crimson", "darkorange", "black", "saddlebrown")


def _ladder_colors(sizes: Sequence[float]) -> dict[float, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = max(len(sizes) - 1, 1)
    return {s: cmap(0.85 * i / n) for i, s in enumerate(sorted(sizes))}


def _size_labels(ladder_pts: pd.DataFrame) -> dict[float, str]:
    """N -> the size label of its runs ("190M" from "190M-1xC"), else N in M/B."""
    out = {}
    for n, run in zip(ladder_pts["N"], ladder_pts["run"]):
        prefix = str(run).split("-")[0]
        fallback = f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"
        out.setdefault(float(n), prefix if prefix[:1].isdigit() else fallback)
    return out


def _step1_panel(ax, res: LadderResult, task: str, colors: dict, tcolors: dict) -> None:
    method = res.options["method"]
    law = res.fits["single_step" if method == "single_step" else "step1"].law
    xcol = "C" if method == "two_step_flops" else "D"
    ycol = "acc" if method == "single_step" else "loss"
    pts = res.step1_data[res.step1_data["task"] == task]
    lad, tgt = pts[pts["kind"] == "ladder"], pts[pts["kind"] == "target"]
    params = res.fits["single_step" if method == "single_step" else "step1"].params
    xs = np.concatenate([lad[xcol].to_numpy(), tgt[xcol].to_numpy()])
    grid = np.geomspace(0.8 * xs.min(), 1.5 * xs.max(), 100)
    sizes = sorted(float(n) for n in lad["N"].unique())
    labels = _size_labels(lad)
    curves = [(n, colors[n]) for n in sizes] if xcol == "D" else [(None, "black")]
    if xcol == "D":
        curves += [(float(n), tcolors[r]) for r, n in zip(tgt["run"], tgt["N"])]
    for n, color in curves:
        x = {"D": grid, "N": np.full_like(grid, n)} if n is not None else {"C": grid}
        y = evaluate(law, params, [task] * len(grid), x)
        ax.plot(grid, y, "--", color=color, lw=1.0, alpha=0.7)
    for n in sizes:
        sub = lad[lad["N"] == n]
        ax.scatter(sub[xcol], sub[ycol], color=colors[n], s=22, label=f"{labels[n]} (fitted)")
    for r, row in zip(tgt["run"], tgt.itertuples()):
        c = tcolors[r]
        if np.isfinite(getattr(row, ycol)):         # a hypothetical target has none
            ax.scatter(getattr(row, xcol), getattr(row, ycol), marker="x", color=c, s=30,
                       label=f"{r} (actual)")
        ax.scatter(getattr(row, xcol), row.fitted, marker="o", facecolors="none", color=c,
                   s=30, label=f"{r} (predicted)")
    iv = _step1_intervals(res, task, tgt, xcol)
    for r, lo, hi, x in iv:
        interval_bar(ax, x, lo, hi, color=tcolors[r], capsize=3, lw=1.0,
                     label=f"{100 * res.options['prob']:.0f}% interval of step 1 (bootstrap)")
    ax.set_xscale("log")
    plain_log_ticks(ax)
    ax.set_xlabel("training compute C (FLOPs)" if xcol == "C" else "training data D (tokens)")
    ax.set_ylabel("task accuracy (fraction)" if ycol == "acc" else _loss_label(res))
    name = TASK_DISPLAY_NAMES.get(task, task)
    err = res.step1.loc[task, "fit_error"]
    which = "single step" if method == "single_step" else "step 1"
    ax.set_title(wrap(f"{name}: {which} (fit error {100 * err:.2f}%)"), fontsize=9)


def _loss_label(res: LadderResult) -> str:
    """"task loss (bits per byte)" for the embedded ladder (its recorded unit), "task loss
    (column task_loss)" for a user's data, whose unit is not known."""
    return unit_label("task loss", res.options.get("loss_unit"), "task_loss")


def _step1_intervals(res: LadderResult, task: str, tgt: pd.DataFrame, xcol: str):
    """(target, lower, upper, x) of each target's step-1 ``prob`` predictive interval
    (bootstrap of step 1; ``intervals=True`` only)."""
    post = (res.posteriors or {}).get("step1")
    if post is None or res.options["method"] == "single_step" or tgt.empty:
        return []
    law = post.law
    frame = pd.DataFrame({"task": task, **{k: tgt[k].to_numpy(np.float64)
                                            for k in law.inputs}})
    with warnings.catch_warnings():
        # the recipe's bootstraps run with warn=False (`jaxfit.recipes.ladder._intervals`)
        warnings.filterwarnings("ignore", FAILED_DIAGNOSTICS, DiagnosticWarning)
        iv = post.predict(frame, prob=res.options["prob"])
    return list(zip(tgt["run"], iv["predictive_lower"], iv["predictive_upper"], tgt[xcol]))


def _interval_label(res: LadderResult) -> str:
    calibrated = res.options.get("calibrate") not in (None, False, "none")
    return (f"{100 * res.options['prob']:.0f}% predictive interval, chained"
            + (" (calibrated)" if calibrated else " (bootstrap)"))


def _step2_panel(ax, res: LadderResult, task: str, colors: dict, tcolors: dict) -> None:
    pts = res.step2_data[res.step2_data["task"] == task]
    lad = pts[pts["kind"] == "ladder"]
    pred = res.predictions[res.predictions["task"] == task]
    lo, hi = lad["L"].min(), lad["L"].max()
    lo = min(lo - 0.2 * (hi - lo), np.nanmin(pred[["actual_loss", "pred_loss"]].to_numpy()))
    grid = np.linspace(lo, hi, 200)
    law, params = res.fits["step2"].law, res.fits["step2"].params
    # Accuracy in points (the recipe's table unit); the sigmoid first (ax.lines[0]).
    ax.plot(grid, 100 * evaluate(law, params, [task] * len(grid), {"L": grid}), "--",
            color="black", lw=1.2, label="fitted sigmoid")
    for n in sorted(lad["N"].unique()):
        sub = lad[lad["N"] == n]
        ax.scatter(sub["L"], 100 * sub["acc"], color=colors[float(n)], s=4, alpha=0.35,
                   edgecolors="none")
    intervals = "acc_lower" in pred
    for row in pred.itertuples():
        c = tcolors[row.target]
        if intervals:
            interval_bar(ax, row.pred_loss, 100 * row.acc_lower, 100 * row.acc_upper,
                         color=c, capsize=3, lw=1.0, label=_interval_label(res))
        if np.isfinite(row.actual_acc):
            ax.scatter(row.actual_loss, 100 * row.actual_acc, marker="x", color=c, s=30)
        ax.scatter(row.pred_loss, 100 * row.pred_acc, marker="o", facecolors="none", color=c,
                   s=30)
    ax.set_xlabel(_loss_label(res))
    ax.set_ylabel("task accuracy (%)")
    name = TASK_DISPLAY_NAMES.get(task, task)
    errs = ", ".join(f"{r.target} {r.abs_error:.1f}" for r in pred.itertuples()
                     if np.isfinite(r.abs_error))
    ax.set_title(wrap(f"{name}: step 2 (fit error "
                      f"{100 * res.step2.loc[task, 'fit_error']:.2f}%)"
                      + (f"\nerror, points: {errs}" if errs else "")), fontsize=9)


def plot_ladder(result: LadderResult, tasks: Sequence[str] | None = None,
                tasks_per_row: int = 2):
    """Plot a ladder fit: for each task, step 1 and step 2 side by side.

    Step 1 (left of each pair): the ladder runs' task loss against tokens (or FLOPs for
    ``method="two_step_flops"``), one colour per model size, the fitted law as dashed
    curves for each size and target, and each target's actual (x) and predicted (o)
    loss. Step 2 (right): every ladder checkpoint used in the fit (after the skip and
    moving average), the fitted sigmoid, and each target's actual point (x) and chained
    prediction (o), accuracy in points, each target's absolute error in the title. For
    ``method="single_step"`` one panel per task shows accuracy against tokens.

    With ``ladder(intervals=True)`` each prediction carries its ``prob`` predictive
    interval as a bar: step 1's bootstrap interval of the target's task loss, and step 2's
    chained interval of its accuracy (calibrated with ``calibrate``). Figures are at
    `jaxfit.plot_style.DPI`, with plain-number log ticks and one legend below the panels.

    Args:
        result: a `LadderResult` from `jaxfit.recipes.ladder`.
        tasks: tasks to draw (default: all of the result's, in its order).
        tasks_per_row: tasks per row of the grid (each takes two panels; twice as many
            single panels for ``single_step``).

    Returns:
        A ``matplotlib.figure.Figure`` (not attached to pyplot; save it with
        ``fig.savefig(path)`` or display it in a notebook).
    """
    if isinstance(tasks, str):
        # one task's name (before: split into letters, "tasks ['a', 'i', 'p', 'q', 'v'] are
        # not in the result")
        tasks = [tasks]
    tasks = list(result.options["tasks"] if tasks is None else tasks)
    unknown = sorted(set(tasks) - set(result.options["tasks"]))
    if unknown:
        raise ValueError(f"plot_ladder: tasks {unknown} are not in the result "
                         f"({result.options['tasks']}).")
    if not tasks:
        # (before: ZeroDivisionError laying out the grid)
        raise ValueError(f"plot_ladder: tasks= is empty; give some of "
                         f"{list(result.options['tasks'])}, or None for all.")
    if tasks_per_row < 1:
        raise ValueError(f"plot_ladder: tasks_per_row must be >= 1, got {tasks_per_row}.")
    two = result.step2 is not None
    per = 2 if two else 1
    per_row = min(tasks_per_row * (1 if two else 2), len(tasks))   # same width either way
    cols, rows = per_row * per, math.ceil(len(tasks) / per_row)
    fig = figure(3.4 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    lad = result.step1_data[result.step1_data["kind"] == "ladder"]
    colors = _ladder_colors([float(n) for n in lad["N"].unique()])
    targets = list(dict.fromkeys(result.predictions["target"]))
    tcolors = {t: _TARGET_COLORS[i % len(_TARGET_COLORS)] for i, t in enumerate(targets)}
    for i, task in enumerate(tasks):
        r, c = divmod(i, per_row)
        _step1_panel(axes[r, c * per], result, task, colors, tcolors)
        if two:
            _step2_panel(axes[r, c * per + 1], result, task, colors, tcolors)
    for ax in axes.ravel()[len(tasks) * per:]:
        ax.set_visible(False)
    legend_below(fig, axes[0, :per], ncol=min(6, 2 * cols))
    method = {"two_step": "two-step", "two_step_flops": "two-step (FLOPs)",
              "single_step": "single-step"}[result.options["method"]]
    fig.suptitle(f"Model-ladder task scaling laws ({method}; Bhagia et al. 2024)", fontsize=10)
    return fig
