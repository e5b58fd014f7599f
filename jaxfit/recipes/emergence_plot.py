"""Figures of the emergence recipe (Snell et al. 2024): `plot_emergence`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from jaxfit.plot_style import (figure, interval_bar, legend_below, plain_log_ticks,
                               plain_number, unit_label, wrap)

__all__ = ["plot_emergence"]

#: Axis labels of the recipe's usual columns; others are shown as named. A loss's unit is
#: the one the recipe recorded (``options["loss_unit"]``: nats for the shipped OLMo data);
#: a user's loss has none, and the label names its column instead.
X_LABELS = {"loss": "pre-training loss", "c4_loss": "C4 loss", "L": "pre-training loss",
            "flops": "training compute"}
#: Units that a column's name defines (whatever the data).
X_UNITS = {"flops": "FLOPs"}
Y_LABELS = {"accuracy": "accuracy (0-1)", "acc": "accuracy (0-1)", "score": "score (0-1)"}

#: Colours: the point fit's emergence point, the posterior's and the bootstrap's 5-95%.
MLE, POSTERIOR, BOOTSTRAP = "crimson", "tab:purple", "tab:green"


def _frames(result) -> Mapping[str, pd.DataFrame]:
    f = dict(result.frames() if hasattr(result, "frames") else result)
    if "emergence" not in f and "table" in f:       # the protocol's frames(): table first
        f["emergence"] = f["table"]
    return f


class _Axis:
    """The horizontal axis of one result: its label, and ``log10_<x>`` columns drawn as
    ``x`` itself on a log axis (so ticks read 1e22 FLOPs, not 22)."""

    def __init__(self, options: Mapping):
        name = str(options.get("loss", "loss"))
        self.log10 = name.startswith("log10_")
        base = name[len("log10_"):] if self.log10 else name
        unit = X_UNITS.get(base) or options.get("loss_unit")
        self.label = unit_label(X_LABELS.get(base, base), unit, name)
        self.unit = f" {unit}" if unit else ""
        self.increasing = bool(options.get("increasing", False))
        if not self.increasing:
            self.label += "; reversed: lower to the right"

    def __call__(self, v):
        v = np.asarray(v, dtype=np.float64)
        return 10.0 ** v if self.log10 else v

    def text(self, v: float) -> str:
        return (plain_number(float(self(v))) if self.log10 else f"{v:.3f}") + self.unit


def _span(ax, row: pd.Series, prefix: str, X: _Axis, label: str) -> None:
    lo, hi = row.get(f"{prefix}_5"), row.get(f"{prefix}_95")
    if lo is None or not np.isfinite(lo):
        return
    if prefix == "posterior":
        ax.axvspan(X(lo), X(hi), color=POSTERIOR, alpha=0.3, lw=0, label=label)
    else:                               # hatched, so the two intervals never look alike
        ax.axvspan(X(lo), X(hi), facecolor="none", edgecolor=BOOTSTRAP, hatch="////",
                   lw=0.8, label=label)


def _title(task, options: Mapping, titles: Mapping | None) -> str:
    if titles and task in titles:
        return str(titles[task])
    if options.get("by") is None:       # one task, labelled 0 by the recipe: say what it is
        return "emergence law (all rows)" if options.get("D") else "few-shot elbow (all rows)"
    return str(task)


def _curve_panel(fig, ax, task, f: Mapping[str, pd.DataFrame], options: Mapping,
                 titles: Mapping | None) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    X = _Axis(options)
    pts = f["points"][f["points"]["task"] == task]
    cur = f["curves"][f["curves"]["task"] == task]
    row = f["emergence"].loc[task]
    d0 = row.get("D0", np.nan)
    has_d = "D" in cur and cur["D"].nunique() > 1
    if X.log10:
        ax.set_xscale("log")
    if has_d:
        amounts = sorted(d for d in cur["D"].unique() if d != d0)
        norm = LogNorm(min(amounts), max(amounts))
        cmap = colormaps["viridis"]
        for d in amounts:
            p, c = pts[pts["D"] == d], cur[cur["D"] == d]
            ax.scatter(X(p["L"]), p["y"], s=8, color=cmap(norm(d)), alpha=0.7,
                       edgecolors="none", label="data (colour: finetuning examples D)")
            ax.plot(X(c["L"]), c["mean"], color=cmap(norm(d)), lw=1.1,
                    label="fitted law (MLE), per D")
        few = cur[cur["D"] == d0]
        if len(few):
            ax.plot(X(few["L"]), few["mean"], "--", color="black", lw=1.8,
                    label="few-shot prediction (D = D0)")
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01, aspect=30)
        bar.set_label("finetuning data D (examples)", fontsize=8)
        bar.ax.yaxis.set_major_formatter(plain_number)
        bar.ax.yaxis.set_minor_formatter("")
    else:
        ax.scatter(X(pts["L"]), pts["y"], s=8, color="C0", alpha=0.6, edgecolors="none",
                   label="data")
        if "lower" in cur and cur["lower"].notna().any():
            ax.fill_between(X(cur["L"]), cur["lower"], cur["upper"], color="0.55", alpha=0.3,
                            lw=0, label="fitted law, 90% credible band")
        ax.plot(X(cur["L"]), cur["mean"], color="C0", lw=1.2, label="fitted law (MLE)")
    xlim = ax.get_xlim()                 # bands of a poorly identified task stay in view
    ax.axvline(X(row["mle"]), color=MLE, lw=1.3, label="emergence point (MLE)")
    _span(ax, row, "posterior", X, "emergence point, posterior 5-95%")
    _span(ax, row, "bootstrap", X, "emergence point, bootstrap 5-95%")
    ax.set_xlim(xlim)
    if X.log10:
        plain_log_ticks(ax, "x")
    if not X.increasing:
        ax.invert_xaxis()
    ax.set_xlabel(X.label, fontsize=8)
    y = str(options.get("y", "performance"))
    ax.set_ylabel(Y_LABELS.get(y, y), fontsize=8)
    ax.set_title(wrap(f"{_title(task, options, titles)}\nemergence at {X.text(row['mle'])}"),
                 fontsize=9)


def _shift_panel(ax, task, f: Mapping[str, pd.DataFrame], options: Mapping) -> None:
    el = f["elbows"][f["elbows"]["task"] == task].sort_values("D")
    el = el[np.isfinite(el["elbow"])]
    row = f["emergence"].loc[task]
    d0 = float(row["D0"])
    ax.scatter(el["D"], el["elbow"], color="C0", s=16, label="per-subset elbow", zorder=3)
    grid = np.geomspace(d0, el["D"].max(), 80)
    p = f["params"].loc[task] if "params" in f and task in f["params"].index else None
    form = options.get("form", "log_power")
    if p is not None and all(k in p for k in ("k", "alpha", "C")):
        base = np.log(grid) if form == "log_power" else grid
        ax.plot(grid, p["k"] * base ** p["alpha"] + p["C"], color="k", lw=1,
                label="emergence law E(D), joint fit")
    else:
        ax.plot(el["D"], el["law"], color="k", lw=1, label="emergence law E(D), joint fit")
    for prefix, color, dx, label in (("posterior", POSTERIOR, 1.0, "E(D0), posterior 5-95%"),
                                     ("bootstrap", BOOTSTRAP, 1.35, "E(D0), bootstrap 5-95%")):
        lo, hi = row.get(f"{prefix}_5", np.nan), row.get(f"{prefix}_95", np.nan)
        if np.isfinite(lo) and np.isfinite(hi):    # [lo, hi] as it is (it need not hold the MLE)
            interval_bar(ax, d0 * dx, lo, hi, color=color, capsize=3, label=label)
    ax.scatter([d0], [row["mle"]], color=MLE, s=24, zorder=4, label="emergence point (MLE)")
    ax.set_xscale("log")
    ax.set_xlim(d0 / 2, el["D"].max() * 2)
    plain_log_ticks(ax, "x")
    ax.set_xlabel("finetuning data D (examples)", fontsize=8)
    ax.set_ylabel(unit_label("emergence point E(D)", options.get("loss_unit"),
                             options.get("loss")), fontsize=8)
    ax.set_title(f"emergence law E(D) ({form.replace('_', ' ')})\nfew-shot limit D0 = {d0:g}",
                 fontsize=9)


def plot_emergence(result, tasks: Sequence | None = None, ncols: int = 4,
                   titles: Mapping | None = None):
    """Performance vs loss with the fitted ReLU, the emergence point and its intervals.

    One panel per task: the points, the fitted curve (per data amount, coloured by ``D``
    on a log colour bar; the few-shot prediction dashed; else the curve's 90% credible
    band), the MLE emergence point (line) with its posterior 5-95% interval (shaded) and
    bootstrap 5-95% interval (hatched). For `jaxfit.recipes.emergence.emergence`
    results a second panel per task shows the per-subset elbows against ``D`` with the
    fitted emergence law ``E(D)`` down to ``E(D0)``. A loss axis runs from high to low
    (the label says so); a ``log10_<x>`` input (e.g. ``log10_flops``) is drawn as ``x``
    on a log axis. One legend for the figure, below the panels.

    Args:
        result: an `EmergenceResult` or its ``frames()`` dict, or a sequence of them
            (drawn one after the other in one figure).
        tasks: tasks to show (default: all; one result only).
        ncols: panels per row.
        titles: panel titles by task label (default: the label; a result without
            ``by=`` gets a descriptive title instead of its task label 0).

    Returns:
        A ``matplotlib.figure.Figure`` at `jaxfit.plot_style.DPI`.
    """
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    if tasks is not None and len(results) > 1:
        raise ValueError("plot_emergence: tasks= selects tasks of one result; got "
                         f"{len(results)} results.")
    if ncols < 1:
        raise ValueError(f"plot_emergence: ncols must be >= 1, got {ncols}.")
    panels = []
    for res in results:
        f = _frames(res)
        options = dict(getattr(res, "options", None) or f["emergence"].attrs.get("options", {}))
        has_d = "D" in f["points"] and f["points"]["D"].nunique() > 1
        for task in list(f["emergence"].index if tasks is None else tasks):
            panels.append(("curve", f, options, task))
            if has_d:
                panels.append(("shift", f, options, task))
    cols = min(ncols, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = figure(4.0 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (kind, f, options, task) in zip(axes, panels):
        if kind == "curve":
            _curve_panel(fig, ax, task, f, options, titles)
        else:
            _shift_panel(ax, task, f, options)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if any(kind == "shift" for kind, *_ in panels):   # room between a colour bar and the
        fig.get_layout_engine().set(wspace=0.06)     # next panel's axis label
    legend_below(fig, axes[:len(panels)], ncol=4)
    return fig
