"""Plots of fits and posteriors; every function returns a ``matplotlib.figure.Figure``.

The figures are built with ``matplotlib.figure.Figure`` (not pyplot), so they never pop
up or pile up in a script; save one with ``fig.savefig("out.png")``, or let a notebook
display it.

- `plot_fit`: per task, the data and the fitted law on log axes; with ``at=`` the target
  point(s) and, given a posterior, the credible band of the curve through the target.
- `plot_residuals`: per task, the residuals in the fit's space (log or linear).
- `plot_pairs`: a posterior's pair plot for one task (ArviZ ``plot_pair``).
- `plot_ladder`: the model ladder's two steps side by side (`jaxfit.recipes.ladder_plot`).

Example:
    >>> import numpy as np, pandas as pd
    >>> import jaxfit as jf
    >>> from jaxfit.plot import plot_fit
    >>> C = np.geomspace(1e18, 1e21, 8)
    >>> df = pd.DataFrame({"C": C, "loss": 2.0 + 300.0 * C ** -0.15})
    >>> res = jf.fit(jf.models.power_law("C"), df, y="loss", restarts=8)
    >>> fig = plot_fit(res, df, at=pd.DataFrame({"C": [1e23]}))
    >>> len(fig.axes), len(fig.axes[0].lines)    # one task: the fitted curve, the target's
    (1, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jaxfit.data import column_map, task_at, task_columns
from jaxfit.datasets import recorded_unit
from jaxfit.plot_style import axes_legend_below, figure, interval_bar, percent, unit_label
from jaxfit.predictions import match_tasks, task_positions, task_rows
from jaxfit.plot_style import plain_log_ticks as _plain_log_ticks
from jaxfit.plot_style import plain_number as _plain
from jaxfit.plot_style import wrap as _wrap
from jaxfit.recipes.ladder_plot import plot_ladder

__all__ = ["plot_fit", "plot_residuals", "plot_pairs", "plot_ladder"]


#: Axis labels of the usual law inputs (the column name is added when it differs). A
#: loss has no unit here: its unit is named only where the data record it
#: (`jaxfit.datasets.recorded_unit`: an embedded dataset's loss), never guessed.
LABELS = {"N": "parameters N", "D": "training tokens D", "C": "training compute C (FLOPs)",
          "L": "loss L"}


def _label(name: str, column: str | None = None, data: pd.DataFrame | None = None) -> str:
    text = LABELS.get(name, name)
    text = text if column in (None, name) else f"{text} [{column}]"
    return unit_label(text, recorded_unit(data, name if column is None else column))


def _has_columns(data: pd.DataFrame | None, columns, where: str) -> None:
    """ValueError naming the columns ``data`` lacks (a KeyError deep in the drawing before)."""
    if not isinstance(data, pd.DataFrame):     # (None, or refused by `_check_frame`)
        return
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ValueError(f"{where}: data is missing column(s) {missing} (the fit's inputs and "
                         f"target); it has {list(data.columns)}. Pass the data the result was "
                         "fitted on, or rename its columns.")


def _check_tasks(result, tasks, where: str) -> list:
    """``tasks`` (None: all) as a list, each a label of ``result.tasks``; ValueError
    naming the unknown ones and the fitted ones (a bare KeyError before)."""
    from jaxfit.result import task_position

    if tasks is None:
        return list(result.tasks)
    several = isinstance(result.tasks, pd.MultiIndex)
    unordered = isinstance(tasks, (set, frozenset))
    if isinstance(tasks, (pd.Index, pd.Series, set, frozenset)) or \
            (isinstance(tasks, np.ndarray) and tasks.ndim == 1):
        # a collection of labels: res.tasks[:2], an array or Series of labels, a set
        # (before: each taken as one label, "tasks= [Index(['a', 'b'], ...)] are not tasks");
        # tolist: Python values, named plainly in messages (not np.str_('a'))
        tasks = list(tasks) if unordered else tasks.tolist()
    elif (isinstance(tasks, (str, bytes)) or not isinstance(tasks, Sequence)
            or (several and isinstance(tasks, tuple) and tasks in result.tasks)):
        tasks = [tasks]            # one label (a tuple, for several by columns)
    unknown = []
    for task in tasks:
        try:
            # a whole label: part of one ('a' of ('a', 'x')) matched several tasks and
            # was then drawn from no rows ("no row of data= or at= names task 'a'")
            task_position(result.tasks, task, "fit")
        except ValueError:
            unknown.append(task)
    if unknown:
        part = (f" (a task of several by columns {list(result.tasks.names)} is named by "
                f"all of them, e.g. tasks=[{task_at(result.tasks, 0)!r}])" if several else "")
        raise ValueError(f"{where}: tasks= {unknown} are not tasks of the fit{part}; its "
                         f"tasks are {list(result.tasks)[:20]}. Pass some of these, or "
                         "tasks=None for all.")
    if unordered:                  # a set's labels in the fit's order
        tasks = sorted(tasks, key=lambda t: task_position(result.tasks, t, "fit"))
    return list(tasks)


def _check_posterior(result, posterior, tasks: list, where: str) -> None:
    """ValueError when ``posterior`` (the bands of ``result``'s curves) is not of the same
    law (name, parameters, `jaxfit.fix` values) as ``result``, or lacks a drawn task.
    Before, another law's bands were drawn around the fit's curves without a word (a fit
    of ``fix(power_law("C"), E=1.9)`` with the bands of the free law), and a posterior of
    fewer tasks failed in predict ("120 rows name tasks that were not fitted")."""
    from jaxfit.law import fixed_text, same_fixed

    if posterior is None:
        return
    from jaxfit.posterior import Posterior

    a, b = result.law, getattr(posterior, "law", None)
    # (a FitResult has a law and a predict too: it failed in predict before, "got an
    # unexpected keyword argument 'prob'")
    if not isinstance(posterior, Posterior):
        raise ValueError(f"{where}: posterior= is a {type(posterior).__name__}, not a "
                         "Posterior (jaxfit.sample or jaxfit.bootstrap).")
    if (a.name != b.name or tuple(a.param_names) != tuple(b.param_names)
            or not same_fixed(a.fixed, b.fixed)):
        def held(law) -> str:
            return f" with {{{fixed_text(law.fixed)}}} fixed" if law.fixed else ""

        raise ValueError(f"{where}: posterior= is of law {b.name!r}{held(b)} "
                         f"(parameters {list(b.param_names)}), the fit of law {a.name!r}"
                         f"{held(a)} (parameters {list(a.param_names)}); its bands would not "
                         "be the curves' own. Pass the posterior of the same law (jaxfit.sample"
                         " or jaxfit.bootstrap with the fit's law), or posterior=None.")
    known = set(posterior.tasks)
    missing = [t for t in tasks if t not in known]
    if missing or posterior.tasks.names != result.tasks.names:
        raise ValueError(f"{where}: posterior= holds tasks {list(posterior.tasks)[:10]} "
                         f"(by {list(posterior.tasks.names)}), none for the fit's "
                         f"{missing[:5] or list(result.tasks)[:5]} (by "
                         f"{list(result.tasks.names)}); pass the posterior of the same data "
                         "and by column(s), or tasks= those it holds.")


def _log_y(logy: bool | None, data, at, y: str) -> bool:
    """`plot_fit`'s vertical scale: ``logy``, or if None, log unless a finite ``y`` of
    ``data`` or ``at`` is <= 0."""
    if logy is not None:
        return bool(logy)
    for frame in (data, at):
        if frame is not None and y in frame.columns:
            v = pd.to_numeric(frame[y], errors="coerce").to_numpy(np.float64)
            if (v[np.isfinite(v)] <= 0).any():
                return False
    return True


def _check_x(law, x: str, where: str) -> None:
    if x not in law.inputs:
        raise ValueError(f"{where}: x={x!r} is not an input of law {law.name!r} "
                         f"({list(law.inputs)}).")


def _checked_data(result, data: pd.DataFrame | None, x: str | None, where: str):
    """The fit's input columns and the x-axis input, after checking that ``x`` is an input
    of the law and ``data`` (`_check_frame`, and its target column)."""
    law = result.law
    cols = column_map(law, result.options.get("x"))
    y = result.options.get("y", "y")
    # the fit's inputs and target missing, named together (before: a KeyError deep in
    # the drawing); a non-DataFrame is refused by _check_frame
    _has_columns(data, [*cols.values(), y], where)
    x = x or law.inputs[0]
    _check_x(law, x, where)
    _check_frame(result, data, x, f"{where}: data=")
    return cols, x


def _check_frame(result, frame: pd.DataFrame | None, x: str, where: str) -> None:
    """Check ``frame`` (``data=`` or ``at=``; ``where`` names the function and it,
    ``"plot_fit: at="``): its inputs as `jaxfit.checks.prediction_inputs` does (a
    DataFrame, no missing or repeated input column, finite numbers inside the law's
    domain), its target column where it has one (not repeated, numbers), and the values
    of ``x``, the horizontal log axis' input, > 0.

    Before, target rows without the x column raised a bare ``KeyError: 'N'``, a target at
    N <= 0 failed inside predict naming "118 NaN or infinite values" of the curve's own
    grid, a repeated column raised "'DataFrame' object has no attribute 'dtype'", a
    target column of text was drawn as categories, and ``plot_residuals`` drew a row at
    x <= 0 nowhere on its log axis, without a word.

    Raises:
        TypeError: ``frame`` is not a DataFrame.
        ValueError: naming the column, the values, the rows and the fix.
    """
    if frame is None:
        return
    from jaxfit.checks import prediction_inputs
    from jaxfit.data import unique_columns

    values = prediction_inputs(result.law, frame, result.options.get("x"), where=where)
    y = result.options.get("y", "y")
    if y in frame.columns:               # data='s always (`_has_columns`); at='s, if given
        unique_columns(frame, [y], f"{where} ")
        _check_target(frame, y, where)
    _positive_x(frame, values[x], column_map(result.law, result.options.get("x"))[x], x,
                where)


def _positive_x(frame: pd.DataFrame, values: np.ndarray, col, x: str, where: str) -> None:
    """ValueError when ``values`` (column ``col`` of ``frame``, the law input ``x`` on the
    horizontal log axis of `plot_fit` and `plot_residuals`) hold a value <= 0, which a
    log axis cannot show and the curve's log-spaced grid cannot reach."""
    bad = ~(np.asarray(values, np.float64) > 0)
    if bad.any():
        from jaxfit.data import row_labels

        raise ValueError(f"{where} column {col!r} (input {x!r}, the horizontal log axis) has "
                         f"{int(bad.sum())} value(s) <= 0 at rows {row_labels(frame, bad)} "
                         f"(e.g. {float(np.asarray(values)[bad][0]):g}), which a log axis cannot "
                         "show; drop those rows, or pass x= another input.")


def _grid(n: int, ncols: int, width: float = 4.0, height: float = 3.2):
    cols = max(1, min(ncols, n))
    rows = math.ceil(n / cols)
    fig = figure(width * cols, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def _task_rows(result, df: pd.DataFrame | None, task, where: str) -> pd.DataFrame | None:
    """Rows of ``df`` belonging to ``task`` (all rows for a fit without ``by``).

    Rows name it as `jaxfit.predictions.match_tasks` matches them (by value, or by text:
    the integer 7 and the string "7"); rows of other tasks are left out.
    """
    if df is None:
        return None
    by = result.options.get("by")
    cols = task_columns(by)
    if not cols or not all(c in df.columns for c in cols):
        return df
    # ``where`` names the frame in an error (a repeated task column: `match_tasks`)
    return df[match_tasks(result.tasks, df, by, where) == result.tasks.get_loc(task)]


def _with_task(result, df: pd.DataFrame, task) -> pd.DataFrame:
    """``df`` with the fit's ``by`` column(s) set to ``task`` (so predict picks it)."""
    cols = task_columns(result.options.get("by"))
    if not cols:
        return df
    from jaxfit.result import task_key

    key = task_key(result.tasks, task)
    # set column by column: assign() would read a tuple label of one by column as a row
    # per part
    out = df.copy()
    for c, v in zip(cols, key):
        out[c] = pd.Series([v] * len(out), index=out.index, dtype=object) \
            if isinstance(v, tuple) else v
    return out


def _curve(result, df: pd.DataFrame, prob: float, band) -> tuple[np.ndarray, pd.DataFrame | None]:
    """The law's curve at ``df`` (median for a posterior) and the band's frame.

    A posterior predicts with ``warn=False``: a figure draws the median and the credible
    bounds (from every draw), never the predictive ones, so it does not warn about
    predictive bounds that are not finite (before, a Laplace posterior with a few infinite
    sigma draws warned once per curve drawn about bounds no figure shows)."""
    from jaxfit.posterior import Posterior

    if isinstance(result, Posterior):
        pred = result.predict(df, prob=prob, warn=False)
        return pred["median"].to_numpy(), pred
    y = result.predict(df, warn=False)["prediction"].to_numpy(dtype=np.float64)
    return y, (band.predict(df, prob=prob, warn=False) if band is not None else None)


def _warn_unconverged(result, tasks: list | None, where: str) -> None:
    """One `ConvergenceWarning` at the plotting function's caller when a drawn task (None:
    any task) of a `FitResult` did not converge (before: one per curve drawn, six for a two-task
    Chinchilla figure, each pointing into this file, and on the command line each
    printed with its source line)."""
    from jaxfit.result import FitResult, task_position

    if isinstance(result, FitResult):
        result.warn_unconverged(None if tasks is None else
                                [task_position(result.tasks, t, "fit") for t in tasks],
                                where=where, stacklevel=4)


def _groups(pts: pd.DataFrame, cols: Sequence[str], n: int) -> list[tuple[dict, np.ndarray]]:
    """Split points by log-quantile bins of the other inputs: (geometric means, mask)."""
    if not cols or pts.empty:
        return [({}, np.ones(len(pts), dtype=bool))]
    key = np.log(np.abs(pts[cols[0]].to_numpy(np.float64)) + 1e-300)
    edges = np.unique(np.quantile(key, np.linspace(0, 1, n + 1)))
    bins = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, max(len(edges) - 2, 0))
    out = []
    for b in np.unique(bins):
        mask = bins == b
        sub = pts[mask]
        out.append(({c: float(np.exp(np.log(sub[c].abs()).mean())) for c in cols}, mask))
    return out


def plot_fit(result, data: pd.DataFrame | None = None, *, at: pd.DataFrame | None = None,
             posterior=None, prob: float = 0.9, x: str | None = None,
             tasks: Sequence | None = None, groups: int = 5, ncols: int = 3,
             logy: bool | None = None):
    """Data and fitted curves per task on log axes, with target points and their bands.

    Args:
        result: a `jaxfit.FitResult`, or a `Posterior` (its median curve and bands).
        data: the observations (columns as in the fit: the law's inputs, mapped by the
            fit's ``x``, the ``y`` column and the ``by`` column(s)); None draws curves only,
            over the range of ``at`` (one of the two is needed).
        at: target rows (the law's inputs; optionally the ``by`` column(s) to pick tasks,
            and the ``y`` column for the actual value, drawn as an x). Each target gets the
            curve through it (its other inputs held at the target's values), its predicted
            point, and with a posterior the ``prob`` credible band and interval.
        posterior: a `Posterior` of the same law and tasks, giving the bands around a
            `FitResult`'s curves.
        prob: interval probability.
        x: the law input on the horizontal axis (default the first input). With several
            inputs, points are split into ``groups`` log-quantile bins of the next input,
            each with its own colour and curve (others at their bin means).
        tasks: task labels to draw (default: all).
        ncols: panels per row.
        logy: log scale on the vertical axis too; None (default): log unless a finite
            ``y`` value of ``data`` or ``at`` is <= 0 (a log axis drops those points
            without a word: a fit with ``space="linear"`` of values that reach 0 or below).

    Returns:
        A ``matplotlib.figure.Figure`` with one axes per task.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    from jaxfit.posterior import _check_prob

    _check_prob(prob)          # (before: prob="0.9" raised "type str doesn't define __round__")
    law = result.law
    cols, x = _checked_data(result, data, x, "plot_fit")
    _check_frame(result, at, x, "plot_fit: at=")
    by = result.options.get("by")
    if at is not None and task_columns(by) and all(c in at.columns for c in task_columns(by)):
        # a target naming no fitted task was left out of every panel without a word
        task_positions(result.tasks, at, by, where="plot_fit: at=")
    elif at is not None:
        # one holding some of several by columns was drawn in every panel (predict refuses)
        task_rows(result.tasks, by, at, where="plot_fit: at=")
    others = [i for i in law.inputs if i != x]
    y = result.options.get("y", "y")
    tasks = _check_tasks(result, tasks, "plot_fit")
    _check_posterior(result, posterior, tasks, "plot_fit")
    _warn_unconverged(result, tasks, "plot_fit")
    fig, axes = _grid(len(tasks), ncols)
    cmap = colormaps["viridis"]
    # Points are coloured continuously by the next input (log scale), curves at their
    # group's geometric mean of it in the same colours: one colour bar for the figure.
    norm = None
    if others and data is not None:
        v = np.abs(data[cols[others[0]]].to_numpy(np.float64))
        v = v[np.isfinite(v) & (v > 0)]
        if v.size and v.max() > v.min():
            norm = LogNorm(v.min(), v.max())
    for ax, task in zip(axes, tasks):
        pts = _task_rows(result, data, task, "plot_fit: data=")
        tgt = _task_rows(result, at, task, "plot_fit: at=")
        xs = [] if pts is None else [pts[cols[x]].to_numpy(np.float64)]
        xs += [] if tgt is None else [tgt[cols[x]].to_numpy(np.float64)]
        if not xs:
            raise ValueError(f"plot_fit: no data= and no at=, so nothing sets the range of "
                             f"{x!r} to draw over; pass the data (a fit loaded from a file "
                             "holds none: read its data file again) or at= target rows.")
        xs = np.concatenate(xs)
        if xs.size == 0:
            by = result.options.get("by")
            raise ValueError(f"plot_fit: no row of data= or at= names task {task!r} in "
                             f"column(s) {by!r}; pass the fitted data, or tasks= a subset "
                             "that the data hold.")
        grid = np.geomspace(0.8 * xs.min(), 1.25 * xs.max(), 120)
        if pts is None and others:
            raise ValueError(f"plot_fit: law {law.name!r} has inputs {others} besides {x!r}; "
                             "give data= to choose their values.")
        parts = _groups(pts, [cols[o] for o in others], groups) if pts is not None else \
            [({}, None)]
        for i, (means, mask) in enumerate(parts):
            if norm is not None:
                color = cmap(norm(means[cols[others[0]]]))
                shade = {"c": np.abs(pts[cols[others[0]]][mask].to_numpy(np.float64)),
                         "cmap": cmap, "norm": norm}
            else:
                color = cmap(0.85 * i / max(len(parts) - 1, 1))
                shade = {"color": color}
            if pts is not None:
                ax.scatter(pts[cols[x]][mask], pts[y][mask], s=12, alpha=0.85,
                           edgecolors="none", **shade)
            frame = _with_task(result, pd.DataFrame({cols[x]: grid, **{
                cols[o]: means[cols[o]] for o in others}}), task)
            ax.plot(grid, _curve(result, frame, prob, None)[0], "-", color=color, lw=1.2)
        if tgt is not None:
            for j, row in enumerate(tgt.itertuples(index=False)):
                vals = row._asdict()
                color = ("crimson", "darkorange", "black")[j % 3]
                frame = _with_task(result, pd.DataFrame({cols[x]: grid, **{
                    cols[o]: vals[cols[o]] for o in others}}), task)
                curve, band = _curve(result, frame, prob, posterior)
                ax.plot(grid, curve, "--", color=color, lw=1.0)
                point = _with_task(result, pd.DataFrame({c: [vals[c]] for c in cols.values()}),
                                   task)
                yp, pband = _curve(result, point, prob, posterior)
                pct = percent(prob)
                missing = None                       # what cannot be drawn, said in the panel
                if band is not None:
                    lows, highs = (band[c].to_numpy(np.float64)
                                   for c in ("credible_lower", "credible_upper"))
                    if (np.isfinite(lows) & np.isfinite(highs)).any():
                        ax.fill_between(grid, lows, highs, color=color, alpha=0.2, lw=0,
                                        label=f"{pct} credible band")
                    # The interval as it is (asymmetric, and possibly not holding the
                    # point prediction): a bar from its lower to its upper bound, the
                    # point drawn where it is.
                    lo, hi = pband["credible_lower"].iloc[0], pband["credible_upper"].iloc[0]
                    if np.isfinite(lo) and np.isfinite(hi):
                        interval_bar(ax, vals[cols[x]], lo, hi, color=color, capsize=3)
                    else:
                        # (before: no bar, an empty band still in the legend, no word; a
                        # posterior with one non-finite draw there, e.g. a failed refit)
                        missing = f"the {pct} interval at {x} = {_plain(vals[cols[x]])} " \
                                  f"is not finite ({lo}, {hi})"
                if np.isfinite(yp[0]):
                    ax.scatter(vals[cols[x]], yp[0], marker="o", facecolors="none",
                               color=color, s=36, label="target (predicted)")
                else:                                # say so, rather than draw nothing
                    missing = (f"prediction at {x} = {_plain(vals[cols[x]])} is not finite "
                               f"({yp[0]})")
                if missing:
                    ax.text(0.03, 0.03 + 0.07 * j, missing, transform=ax.transAxes,
                            fontsize=7, color=color)
                if y in vals and np.isfinite(vals[y]):
                    ax.scatter(vals[cols[x]], vals[y], marker="x", color=color, s=36,
                               label="target (actual)")
        ax.set_xscale("log")
        if _log_y(logy, data, at, y):
            ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel(_label(x, cols[x], data))
        ax.set_ylabel(_label(y, None, data))
        ax.set_title(_wrap(f"{law.name}" + (f" [{task}]" if len(result.tasks) > 1 else "")),
                     fontsize=9)
        axes_legend_below(ax, fontsize=7, ncol=2, below=0.2)   # beside the data, never over it
    if norm is not None:
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes),
                           shrink=0.9, pad=0.01)
        bar.set_label(_label(others[0], cols[others[0]]))
        from matplotlib.ticker import FuncFormatter, NullFormatter

        bar.ax.yaxis.set_major_formatter(FuncFormatter(_plain))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def plot_residuals(result, data: pd.DataFrame, *, x: str | None = None,
                   tasks: Sequence | None = None, ncols: int = 3):
    """Residuals of a `FitResult` per task, in the fit's space, against one input (log).

    Residuals are ``log y - log ŷ`` for a fit with ``space="log"`` (the default) and
    ``y - ŷ`` otherwise: the quantity the fit's loss was applied to. For a `Posterior`
    (`jaxfit.sample`, `jaxfit.bootstrap`) ``ŷ`` is its median curve, as `plot_fit` draws
    it (before: a bare ``KeyError: 'prediction'``).

    Returns:
        A ``matplotlib.figure.Figure`` with one axes per task (points and a zero line).
    """
    from jaxfit.posterior import Posterior

    if data is None:
        # (before: TypeError "'NoneType' object is not subscriptable")
        raise ValueError("plot_residuals: data= is None; residuals need the observations: "
                         "pass the data the result was fitted on.")
    cols, x = _checked_data(result, data, x, "plot_residuals")
    y = result.options.get("y", "y")
    log = result.options.get("space", "log") == "log"
    tasks = _check_tasks(result, tasks, "plot_residuals")
    _warn_unconverged(result, tasks, "plot_residuals")
    fig, axes = _grid(len(tasks), ncols, height=2.6)
    undrawn, obs_out, pred_out = [], [], []        # rows with no residual, their values
    for ax, task in zip(axes, tasks):
        pts = _task_rows(result, data, task, "plot_residuals: data=")
        yhat = _curve(result, _with_task(result, pts, task), 0.9, None)[0].astype(np.float64)
        obs = pts[y].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(obs) - np.log(yhat) if log else obs - yhat
        bad = ~np.isfinite(r) & np.isfinite(obs)
        undrawn += list(pts.index[bad])
        obs_out.append(obs[bad])
        pred_out.append(yhat[bad])
        ax.axhline(0.0, color="gray", lw=0.8)
        ax.scatter(pts[cols[x]], r, s=12)
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
        ax.set_xlabel(_label(x, cols[x]))
        ax.set_ylabel(f"log {y} - log fit" if log else f"{y} - fit")
        ax.set_title("residuals" + (" (posterior median)" if isinstance(result, Posterior)
                                    else "") + (f" [{task}]" if len(result.tasks) > 1 else ""),
                     fontsize=9)
    if undrawn:
        import warnings

        from jaxfit.result import no_residual_why
        from jaxfit.warnings import FitWarning

        # the causes as FitResult.residuals names them (before: one wording for all)
        why = no_residual_why(np.concatenate(obs_out), np.concatenate(pred_out), log)
        more = "" if len(undrawn) <= 10 else " (first 10 shown)"
        warnings.warn(f"plot_residuals: {len(undrawn)} row(s) of column {y!r} have no "
                      f"residual and are not drawn (rows {undrawn[:10]}{more}): {why}.",
                      FitWarning, stacklevel=2)
    return fig


def _check_target(frame: pd.DataFrame, y, where: str) -> None:
    """ValueError naming ``frame``'s target column ``y`` when it does not hold numbers
    (before: numpy's bare "could not convert string to float: 'x'"); ``where`` names the
    function and the frame (``"plot_fit: at="``)."""
    from jaxfit.data import numeric_dtype

    try:
        numeric_dtype(frame, y, "target y")
    except ValueError as e:
        raise ValueError(f"{where} {e}") from None


def plot_pairs(posterior, task=None, var_names: Sequence[str] | None = None,
               kind: str = "scatter"):
    """Pair plot of one task's posterior draws (ArviZ ``plot_pair``, divergences in red).

    Args:
        posterior: a `Posterior` (`jaxfit.sample` or `jaxfit.bootstrap`).
        task: the task label (needed when there are several).
        var_names: parameters to show (default: the law's parameters, without sigma).
        kind: "scatter", "kde" or "hexbin".

    Returns:
        A ``matplotlib.figure.Figure`` with a (k-1) x (k-1) grid for k parameters.
    """
    import arviz as az

    from jaxfit.posterior import Posterior

    if not isinstance(posterior, Posterior):
        # (before: AttributeError "'FitResult' object has no attribute 'idata'")
        raise TypeError(f"plot_pairs: posterior= is a {type(posterior).__name__}, not a "
                        "Posterior; pair plots show draws: pass jaxfit.sample(...) or "
                        "jaxfit.bootstrap(...) of the law.")
    pos = posterior._task_pos(task)
    names = [var_names] if isinstance(var_names, str) else \
        list(var_names or posterior.law.param_names)
    if len(names) < 2:
        raise ValueError(f"plot_pairs: give at least two parameters, got {names}.")
    unknown = [n for n in names if n not in posterior.names]
    if unknown:
        # (before: ArviZ's KeyError 'var names: "['zeta'] are not present" in dataset')
        raise ValueError(f"plot_pairs: var_names= {unknown} are not parameters of the "
                         f"posterior's tasks; they are {list(posterior.names)}"
                         + (f" (population parameters {list(posterior.hyper)} have no "
                            "per-task draws)" if set(unknown) & set(posterior.hyper) else "")
                         + ".")
    k = len(names) - 1
    fig = figure(2.2 * k + 1, 2.2 * k + 1)
    axes = fig.subplots(k, k, squeeze=False)
    one = posterior.idata.isel(task=pos)           # every group: the task's slice only
    az.plot_pair(one, var_names=names, kind=kind, divergences="diverging" in posterior.stats,
                 ax=axes if k > 1 else axes[0, 0])
    fig.suptitle(f"{posterior.law.name}: posterior ({posterior.method})"
                 + (f" [{task_at(posterior.tasks, pos)}]" if len(posterior.tasks) > 1 else ""),
                 fontsize=10)
    return fig
