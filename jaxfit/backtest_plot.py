"""Plots of a `jaxfit.backtest` result: predicted vs actual, coverage vs extrapolation."""

from __future__ import annotations

import numpy as np

from jaxfit.plot_style import (axes_legend_below, figure, interval_bar, percent,
                                plain_log_ticks, unit_label)

__all__ = ["plot_backtest"]


def plot_backtest(result, ax=None):
    """Two panels: predicted vs actual with the (calibrated) intervals, raw intervals in
    grey; and coverage of the raw and calibrated intervals against the extrapolation
    ratio (log-spaced bins), with the nominal level. Rows without an interval (NaN
    bounds: `BacktestResult.summary`'s ``no_interval``) are grey and left out of the
    coverage, as the summary leaves them out; a backtest with ``calibrate=None`` shows
    its raw intervals only. Ratios equal up to rounding (neighbours of a geometric grid:
    1e20 / 4.64e19 and 2.15e20 / 1e20 differ in the last bit) share a coverage bin.
    Legends sit below the panels, off the data.

    Args:
        result: a `jaxfit.BacktestResult`.
        ax: two matplotlib Axes, or None for a new figure.

    Returns:
        The matplotlib Figure.
    """
    t = result.table()
    prob = result.options["prob"]
    # a backtest with calibrate=None has only raw intervals (lower/upper are copies)
    calibrated = result.options.get("calibrate", "ratio") is not None
    if ax is None:
        fig = figure(11, 4.5)            # not attached to pyplot, like every jaxfit figure
        ax = fig.subplots(1, 2)
    else:
        # one Axes, or another count: before, "cannot unpack non-iterable Axes object"
        from matplotlib.axes import Axes

        axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(f"plot_backtest: ax= takes two matplotlib Axes (predicted vs "
                             f"actual, coverage), got {len(axes)} "
                             f"{'Axes' if all(isinstance(a, Axes) for a in axes) else 'objects'}"
                             "; e.g. fig, ax = plt.subplots(1, 2), or ax=None for a new figure.")
        ax = axes
        fig = ax[0].figure
    a0, a1 = ax
    y, p = t["actual"].to_numpy(), t["prediction"].to_numpy()
    # rows without an interval are not misses: summary() counts them in no_interval and
    # leaves them out of the coverage (before, they were red here and lowered the
    # coverage panel's points)
    bounds = t[["raw_lower", "raw_upper", "lower", "upper"]].to_numpy(np.float64)
    has = np.isfinite(bounds).all(axis=1) & np.isfinite(p)
    # Each bar spans its interval as it is: the point prediction need not lie inside it.
    bars = ((("raw_lower", "raw_upper", dict(ecolor="0.7", lw=3, label="raw interval")),
             ("lower", "upper", dict(ecolor="C0", lw=1, label="calibrated interval")))
            if calibrated else
            (("raw_lower", "raw_upper", dict(ecolor="C0", lw=1, label="interval")),))
    for lo, hi, kw in bars:
        interval_bar(a0, y, t[lo], t[hi], **kw)
    colors = np.where(~has, "0.5", np.where(t["covered"], "C2", "C3"))
    a0.scatter(y, p, c=colors, s=12, zorder=3)
    lo, hi = np.nanmin([y.min(), p.min()]), np.nanmax([y.max(), p.max()])
    a0.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    # the target column, as the other figures name it (before: "actual" and "predicted"
    # without a word of which value, nor of a unit)
    target = result.options.get("y")
    a0.set_xlabel(unit_label("actual", None, target))
    a0.set_ylabel(unit_label("predicted", None, target))
    none = int((~has).sum())
    a0.set_title(f"held-out predictions ({len(t)}; red: missed"
                 + (f"; grey: {none} without an interval" if none else "") + ")")
    axes_legend_below(a0)
    # log ratios rounded, so ratios equal but for rounding share a bin: before, a quantile
    # edge fell between 2.1544346900318838 and 2.154434690031884 (two cuts of a geometric
    # grid), and the panel drew two coverages, 1.0 and 0.0, at one ratio
    lr = np.round(np.log(t["ratio"].to_numpy(np.float64)[has]), 9)
    edges = np.unique(np.quantile(lr, np.linspace(0, 1, 7))) if len(lr) else []
    if len(edges) > 1:
        idx = np.clip(np.digitize(lr, edges[1:-1]), 0, len(edges) - 2)
        bins = np.unique(idx)                        # the bins holding rows, joined by lines
        mids = np.exp([lr[idx == i].mean() for i in bins])
        lines = ((("raw_covered", "raw", "0.5"), ("covered", "calibrated", "C0"))
                 if calibrated else (("raw_covered", "coverage", "C0"),))
        for col, lab, c in lines:
            hit = t[col].to_numpy()[has]
            cov = [hit[idx == i].mean() for i in bins]
            a1.plot(mids, cov, "o-", color=c, label=lab)
    a1.axhline(prob, color="k", ls="--", lw=0.8, label=f"nominal {percent(prob)}")
    a1.set_xscale("log")
    a1.set_ylim(0, 1.05)
    a1.set_xlabel("extrapolation ratio (held-out / largest fitted)")
    a1.set_ylabel("coverage (share of rows in the interval)")
    a1.set_title("coverage by extrapolation ratio")
    plain_log_ticks(a1, "x")            # 2, 5, 10: never 2 x 10^0
    axes_legend_below(a1)
    return fig
