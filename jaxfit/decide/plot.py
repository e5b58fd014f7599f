"""Figures of `jaxfit.decide`: allocation curves, isoFLOP profiles, suggested runs.

Each returns a ``matplotlib.figure.Figure`` (not pyplot; save with ``fig.savefig``).

Example:
    >>> import jaxfit as jf
    >>> from jaxfit.decide.plot import plot_allocation
    >>> df = jf.datasets.load("chinchilla")
    >>> res = jf.fit(jf.models.chinchilla(), df[~df.epoch_excluded_outlier], init="grid")
    >>> fig = plot_allocation(res, [1e20, 1e22, 1e24])
    >>> len(fig.axes)
    3
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from jaxfit.data import column_map, task_label
from jaxfit.decide.optimal import isoflop, optimal
from jaxfit.plot import _warn_unconverged
from jaxfit.plot_style import figure, interval_bar, percent, wrap
from jaxfit.warnings import UNCONVERGED, ConvergenceWarning

__all__ = ["plot_allocation", "plot_isoflop", "plot_suggest"]


def _figure(ncols: int, width: float = 4.0, height: float = 3.3):
    fig = figure(width * ncols, height)
    return fig, fig.subplots(1, ncols, squeeze=False).ravel()


def plot_allocation(result, budgets: Sequence[float], *, prob: float = 0.9, mark=None,
                    task=None, **kw):
    """N*(C), D*(C) and tokens per parameter against compute, with ``prob`` bands over the
    result's draws (`jaxfit.decide.optimal`); ``mark`` budgets get a dot and a label."""
    _warn_unconverged(result, None, "plot_allocation")   # once, not per optimal call
    opt = optimal(result, budgets, prob=prob, warn=False, **kw)
    f = opt.to_frame()
    tcol = task_label(opt.by)
    tasks = list(dict.fromkeys(f[tcol])) if task is None else [task]
    fig, axes = _figure(3)
    labels = {"N": "parameters N*", "D": "tokens D*", "tokens_per_param": "tokens / parameter"}
    for ax, q in zip(axes, labels):
        for t in tasks:
            g = f[(f["quantity"] == q) & (f[tcol] == t)]
            line, = ax.plot(g["C"], g["estimate"], label=None if len(tasks) == 1 else str(t))
            if opt.n_draws > 1:
                ax.fill_between(g["C"], g["lower"], g["upper"], color=line.get_color(),
                                alpha=0.25, lw=0, label=f"{percent(prob)} interval")
            for c in np.atleast_1d(mark if mark is not None else []):
                one = optimal(result, [c], prob=prob, warn=False, **kw).to_frame()
                r = one[(one["quantity"] == q) & (one[tcol] == t)].iloc[0]
                ax.plot([c], [r["estimate"]], "o", color=line.get_color())
                ax.annotate(f"{r['estimate']:.3g}", (c, r["estimate"]), textcoords="offset "
                            "points", xytext=(-8, 6), ha="right", fontsize=8)
        ax.set(xscale="log", yscale="log", xlabel="compute C (FLOPs)", title=labels[q])
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8, loc="upper left")
    # the first drawn task's exponent (before: the first fitted task's, also beside the
    # curves of task=...), named when several tasks are drawn
    ex = opt.exponents().xs("a", level="quantity")
    a = ex.iloc[list(ex.index).index(tasks[0])]
    txt = f"a = {a['estimate']:.3f}"
    if opt.n_draws > 1:
        txt += f" (s.e. {a['sd']:.3f})"
    if len(tasks) > 1:
        txt += f" ({tcol} {tasks[0]})"
    axes[0].text(0.97, 0.05, f"N* ~ C^a, {txt}", transform=axes[0].transAxes, ha="right",
                 fontsize=8)
    fig.suptitle(f"compute-optimal allocation: {opt.law.name} ({opt.method}, "
                 f"{opt.n_draws} draw{'s' if opt.n_draws > 1 else ''})", fontsize=10)
    return fig


def plot_isoflop(result, budgets: Sequence[float], *, prob: float = 0.9, task=None,
                 data=None, n: int = 41, span: float = 2.0, **kw):
    """IsoFLOP profiles (loss against N at fixed compute) with bands and each budget's
    fitted optimum; ``data`` (columns N, loss and C) adds the observed runs near each
    budget (within a factor 1.5)."""
    if data is not None:
        missing = [c for c in ("N", "loss", "C") if c not in data.columns]
        if missing:
            raise ValueError(f"plot_isoflop: data is missing column(s) {missing}; the runs "
                             "to overlay need columns N, loss and C (compute, e.g. "
                             "data.assign(C=6 * data['N'] * data['D']) for 6 N D); it has "
                             f"{list(data.columns)}.")
    _warn_unconverged(result, None, "plot_isoflop")
    with warnings.catch_warnings():
        # said once, just above; only that (DiagnosticWarning is a subclass)
        warnings.filterwarnings("ignore", UNCONVERGED, ConvergenceWarning)
        prof = isoflop(result, budgets, n=n, span=span, prob=prob, **kw)
    best = optimal(result, budgets, prob=prob, warn=False, **kw)
    opt, tcol = best.to_frame(), task_label(best.by)
    t = prof[tcol].iloc[0] if task is None else task
    fig, (ax,) = _figure(1, width=5.5, height=4.0)
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    cs = sorted(set(prof["C"]))
    for i, c in enumerate(cs):
        color = cmap(i / max(len(cs) - 1, 1))
        g = prof[(prof["C"] == c) & (prof[tcol] == t)]
        ax.plot(g["N"], g["estimate"], color=color, label=f"C = {c:.1e}")
        ax.fill_between(g["N"], g["lower"], g["upper"], color=color, alpha=0.2, lw=0)
        o = opt[(opt["C"] == c) & (opt[tcol] == t)].set_index("quantity")
        # The interval as it is: a bootstrap's percentile interval need not hold the
        # full-data estimate, so the bar spans [lower, upper] and the diamond sits at the
        # estimate (a point fit has no interval: NaN bounds, no bar).
        lo, hi, L = o.loc["N", "lower"], o.loc["N", "upper"], o.loc["loss", "estimate"]
        if np.isfinite(lo) and np.isfinite(hi):
            interval_bar(ax, L, lo, hi, horizontal=True, color=color, capsize=3)
        ax.plot([o.loc["N", "estimate"]], [L], "D", color=color, ms=5)
        if data is not None:
            near = data[(data["C"] > c / 1.5) & (data["C"] < c * 1.5)]
            ax.plot(near["N"], near["loss"], ".", color=color, alpha=0.7)
    ax.set(xscale="log", xlabel="parameters N", ylabel="loss",
           title=wrap(f"isoFLOP profiles ({percent(prob)} bands; diamonds: N* with interval)"
                      + (f", task {t}" if prof[tcol].nunique() > 1 else ""), 60))
    ax.legend(fontsize=8)
    return fig


def plot_suggest(res, *, post=None, task=None, inputs=None):
    """Candidates on the (N, D) plane coloured by expected width reduction per unit cost,
    the greedy picks numbered, and (given ``post``) the runs already fitted.

    ``inputs``: the law inputs of the two axes, whose values in ``post``'s data are the
    fitted runs (default: the inputs of the table's two input columns, through the fit's
    ``x`` mapping)."""
    tab, batch = res.table, res.batch
    tcol = tab.columns[0]
    t = tab[tcol].iloc[0] if task is None else task
    tab = tab[tab[tcol] == t]
    nN, nD = [c for c in tab.columns if c not in (tcol, "candidate")][:2]
    fig, (ax,) = _figure(1, width=5.5, height=4.2)
    sc = ax.scatter(tab[nN], tab[nD], c=tab["reduction_per_cost"], cmap="viridis", s=60,
                    edgecolors="k", linewidths=0.5, zorder=3)
    fig.colorbar(sc, ax=ax, label="expected width reduction / cost")
    b = batch[batch[tcol] == t] if len(batch) else batch
    for _, r in b.iterrows():
        ax.annotate(str(int(r["pick"])), (r[nN], r[nD]), textcoords="offset points",
                    xytext=(6, 6), fontsize=10, color="C3", weight="bold")
        ax.plot([r[nN]], [r[nD]], "o", mfc="none", mec="C3", ms=13, mew=2, zorder=4)
    if post is not None and post.data is not None:
        if inputs is None:
            # before: ("N", "D"), a KeyError for a law reading e.g. params and tokens
            # (also from `jaxfit suggest --inputs params tokens --plot`)
            names = {c: n for n, c in column_map(post.law, post.options.get("x")).items()}
            inputs = (names.get(nN, nN), names.get(nD, nD))
        pos = list(post.tasks).index(t) if t in list(post.tasks) else 0
        w = np.asarray(post.data["w"])[pos] > 0
        xN = np.asarray(post.data["x"][inputs[0]])[pos][w]
        xD = np.asarray(post.data["x"][inputs[1]])[pos][w]
        ax.plot(xN, xD, "x", color="0.4", label="runs fitted")
        ax.legend(fontsize=8, loc="upper left")
    ax.set(xscale="log", yscale="log", xlabel=nN, ylabel=nD,
           title=f"suggested runs ({res.interval} {percent(res.prob)} interval, "
                 f"task {t})")
    return fig
