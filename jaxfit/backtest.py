"""`jaxfit.backtest`: hold out the largest scales, predict them, and measure the intervals.

A scaling law is used to extrapolate, so its intervals are only as good as their coverage
of models *larger* than any it was fitted on. `backtest` measures that on real data by a
rolling origin (expanding window; Tashman 2000, "Out-of-sample tests of forecasting
accuracy", Int. J. Forecasting 16): for each cut along a scale axis (a column such as
``N``, ``C`` or tokens), from the largest down, the law is fitted on the rows at or below
the cut and predicts every row above it, for every task in one batched call per cut.

**Calibrated intervals.** Resampling the fitted points (bootstrap) or sampling a
posterior sees the noise of the fitted points, not the law's *systematic* extrapolation
error, so raw intervals under-cover held-out larger models. `backtest` adds that error,
learned only from data below the scale being predicted: split-conformal calibration
(Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive inference for
regression", JASA 113) of the conformalised-quantile-regression score of Romano, Patterson
& Candes (2019, "Conformalized quantile regression", NeurIPS) normalised by the
extrapolation distance (``calibrate="ratio"``): for a held-out observation ``y`` with raw
interval ``[l, u]`` in the fit's space (log ``y`` for a log-space fit) and extrapolation
ratio ``r`` (its axis value over the largest fitted one),

    s = max(l - y, y - u) / g(r),    g(r) = 1 + log(r),

and a prediction at a cut gets ``[l - q g(r), u + q g(r)]`` with ``q`` the
``ceil((n + 1) prob) / n`` empirical quantile (clipped at 0) of the scores of the ``n``
earlier (smaller) cuts' predictions of rows *at or below this cut* (pooled over tasks).
Rows above the cut never enter its calibration: removing them from the input leaves it
unchanged (tests/test_backtest.py). The added error is a discrepancy that exists at the
largest fitted scale (the law's misfit there, g = 1) and grows with the log extrapolation
ratio, as a law's systematic error does; point predictions are unchanged. (Dividing by
``log r`` alone lets rows just above a cut, ``r ~ 1``, dominate the quantile with huge
scores: 22,715x the raw median width on the Hitchhiker backtest's largest cut against
5.5x for ``1 + log r``; benchmarks/backtest_score_choice.py, docs/backtest.md.)
``calibrate="width"`` scales the score by the raw half-width instead, ``"constant"`` not
at all (plain CQR). docs/backtest.md compares them on real data.

Interval score (Gneiting & Raftery 2007, "Strictly proper scoring rules, prediction, and
estimation", JASA 102, eq. 43): ``(u - l) + 2/a (l - y) 1[y < l] + 2/a (y - u) 1[y > u]``
with ``a = 1 - prob``: lower is better, it rewards narrow intervals and penalises misses.

Example (a rolling backtest compiles one fit and one bootstrap per cut: about a minute
on 2 CPU cores, so it is not run as a doctest; tests/test_backtest.py runs one):
    >>> import jaxfit as jf
    >>> df = jf.datasets.load("chinchilla")
    >>> df = df[~df.epoch_excluded_outlier]
    >>> bt = jf.backtest(jf.models.chinchilla(), df, y="loss", axis="C",
    ...                  cuts=[1.5e21, 6e20, 3e20, 1.2e20], n=100)  # doctest: +SKIP
    >>> bt.summary(last_cut=True)     # 17 runs above 1.5e21 FLOPs  # doctest: +SKIP
    >>> from jaxfit.backtest import conformal_quantile, interval_score
    >>> conformal_quantile([0.3, -0.1, 0.2, 0.0], prob=0.5)   # the ceil(5 * 0.5) = 3rd smallest
    0.2
    >>> round(float(interval_score(1.0, 2.0, 2.5, prob=0.9)), 6)   # width 1 + 2/0.1 * 0.5
    11.0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jaxfit import checks
from jaxfit.chain import chain_draws
from jaxfit.data import (check_task_label, column_map, did_you_mean, numeric_dtype,
                         task_columns, task_label, unique_columns)
from jaxfit.fit import fit as point_fit
from jaxfit.inference.status import Status
from jaxfit.law import Law
from jaxfit.posterior import interval_frame, left_out_clause
from jaxfit.predictions import law_values
from jaxfit.warnings import DuplicateWarning, FitWarning

__all__ = ["backtest", "Step", "BacktestResult", "calibrate_intervals", "conformal_quantile",
           "calibration_scores", "interval_score", "scores_needed", "CALIBRATIONS", "METHODS"]

#: Uncertainty methods: `jaxfit.bootstrap`, or `jaxfit.sample` with this method.
METHODS = ("bootstrap", "nuts", "laplace")
#: Calibration scores: normalised by the log extrapolation ratio, by the raw interval's
#: half-width, or not at all.
CALIBRATIONS = ("ratio", "width", "constant")

_TASK = "_bt_task"
#: The columns of `BacktestResult.table` after the task column (named `task_label(by)`).
TABLE_COLUMNS = ("cut", "cut_rank", "axis", "ratio", "actual", "prediction", "lower", "upper",
                 "covered", "raw_lower", "raw_upper", "raw_covered", "mean_lower",
                 "mean_upper", "q", "n_calibration", "converged", "identified", "row")
#: The columns of `BacktestResult.summary` (indexed by the task column).
SUMMARY_COLUMNS = ("n", "no_interval", "coverage_raw", "coverage", "mae", "mean_rel_error",
                   "median_width_raw", "median_width", "interval_score_raw", "interval_score")


@dataclasses.dataclass(frozen=True)
class Step:
    """One fitted step of a (possibly composed) law, with its own data and objective.

    The two-step chain of Bhagia et al. (2024) is ``[Step(ladder_step1(), runs, "loss"),
    Step(sigmoid(), checkpoints, "acc", loss="squared", space="linear")]``: each step is
    fitted on its own rows, filtered to the cut along the backtest's axis (rows whose axis
    value is missing, e.g. an anchor point, are kept at every cut).

    Attributes:
        law: the step's `Law`.
        data: its rows (never modified): the ``by`` column(s), the axis column, ``y`` and
            the law's inputs.
        y: target column.
        x: law input -> column mapping.
        loss, delta, space: the objective, as in `jaxfit.fit`.
        options: further `jaxfit.fit` options of the point fit (``restarts``,
            ``max_steps``, ``seed``, ...; not ``weights``, nor the fields above); a
            bootstrap's refits take its ``method``, ``max_steps``, ``ftol`` and
            ``reduction`` (`refit_options`).
        pinned: a column of True/False in ``data``: rows a bootstrap keeps in every
            resample, not drawn (`jaxfit.bootstrap`'s ``pinned``: the ladder's anchor).
        groups: a column of ``data`` labelling clusters of rows a bootstrap resamples
            whole (`jaxfit.bootstrap`'s ``groups``: e.g. the training run of each
            checkpoint); None resamples rows.
    """

    law: Law
    data: pd.DataFrame
    y: str
    x: Mapping[str, str] | None = None
    loss: str = "huber"
    delta: float = 1e-3
    space: str = "log"
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    pinned: str | None = None
    groups: str | None = None


# ----------------------------------------------------------------------------- scores

#: `backtest`'s bootstrap resamples per task and cut when ``n`` is not given.
BOOTSTRAP_N = 200


def interval_score(lower, upper, y, prob: float):
    """Gneiting & Raftery (2007) interval score of central ``prob`` intervals (lower is
    better): ``(u - l) + 2/a (l - y)_+ + 2/a (y - u)_+``, ``a = 1 - prob``."""
    a = 1.0 - prob
    lower, upper, y = (np.asarray(v, dtype=np.float64) for v in (lower, upper, y))
    return (upper - lower) + 2 / a * np.maximum(lower - y, 0) + 2 / a * np.maximum(y - upper, 0)


def conformal_quantile(scores, prob: float) -> float:
    """Split-conformal quantile: the ``ceil((n + 1) prob)``-th smallest of ``n`` scores
    (Lei et al. 2018); the largest score when there are too few for that rank (fewer
    than ``prob / (1 - prob)``), NaN when there are none."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    s = s[np.isfinite(s)]
    if not len(s):
        return math.nan
    # rounded before the ceiling: (74 + 1) * 0.68 is 51.000000000000007 in floating point,
    # which took the 52nd smallest score instead of the 51st
    k = math.ceil(round((len(s) + 1) * prob, 9))
    return float(s[min(k, len(s)) - 1])


def _forward(v, space):
    v = np.asarray(v, dtype=np.float64)
    if space == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    return v


def _backward(v, space):
    return np.exp(v) if space == "log" else v


def _scale(kind, ratio, lo, hi):
    if kind == "ratio":
        return 1.0 + np.log(ratio)
    if kind == "width":
        return np.maximum((hi - lo) / 2, 1e-12)
    return np.ones_like(lo)


def calibration_scores(table: pd.DataFrame, cut, kind: str = "ratio",
                       space: str = "log", task: str = "task") -> np.ndarray:
    """The scores that calibrate predictions made at ``cut``: every row predicted at a
    smaller cut whose axis value is at most ``cut`` (pooled over tasks).

    ``cut`` is one value shared by all tasks, or a mapping task -> that task's cut (the
    cuts of ``per_task`` backtests; ``task`` names the table's task column,
    `BacktestResult.table`'s first). Nothing above the cut enters, so the scores are
    unchanged when every row above it is removed from the input.
    """
    lo, hi = _forward(table["raw_lower"], space), _forward(table["raw_upper"], space)
    y = _forward(table["actual"], space)
    g = _scale(kind, table["ratio"].to_numpy(np.float64), lo, hi)
    score = np.maximum(lo - y, y - hi) / g
    if isinstance(cut, Mapping):
        c = table[task].map(cut).to_numpy(np.float64)
    else:
        c = float(cut)
    ok = (table["cut"].to_numpy(np.float64) < c) & (table["axis"].to_numpy(np.float64) <= c)
    return score[ok & np.isfinite(score)]


def scores_needed(prob: float) -> int:
    """The fewest scores whose conformal rank ``ceil((n + 1) prob)`` is at most ``n`` (9 for
    ``prob = 0.9``): with fewer, `conformal_quantile` is the largest score, whose coverage
    guarantee is only ``n / (n + 1)``."""
    return max(1, math.ceil(round(prob / (1.0 - prob), 9)))


def _warn_few_scores(table: pd.DataFrame, prob: float) -> bool:
    """Warn (`FitWarning`) when rows of a calibrated table (`calibrate_intervals`) are
    calibrated on 1 to `scores_needed` - 1 scores (``n_calibration``); the warning points
    at the caller of the function that calls this (`calibrate_intervals`, `backtest`)."""
    need = scores_needed(prob)
    ncal = table["n_calibration"].to_numpy()
    few = (ncal > 0) & (ncal < need)
    if not few.any():
        return False
    per = pd.DataFrame({"cut": table["cut"].to_numpy()[few], "n": ncal[few]}).drop_duplicates()
    where = ", ".join(f"cut {c:.4g}: {n}" for c, n in per.head(5).itertuples(index=False))
    n0 = int(per["n"].min())
    warnings.warn(f"backtest: {int(few.sum())} held-out row(s) are calibrated on fewer than the "
                  f"{need} scores a split-conformal {prob:g} quantile needs ({where} score(s)): "
                  "their q is the largest score, whose coverage guarantee is only n/(n + 1) "
                  f"({n0}/{n0 + 1} = {n0 / (n0 + 1):.2f} for {n0}), not {prob:g}; the table's "
                  "n_calibration says which. Read those intervals as a rough allowance, or add "
                  "cuts (or tasks) below them for more scores.", FitWarning, stacklevel=3)
    return True


def calibrate_intervals(table: pd.DataFrame, prob: float, kind: str = "ratio",
                        space: str = "log", task: str = "task",
                        warn: bool = True) -> pd.DataFrame:
    """Calibrated bounds for each row of a backtest table, learned without leakage.

    The rows predicted at a cut are widened by the `conformal_quantile` of that cut's
    `calibration_scores` (see the module docstring).

    Args:
        table: columns ``task`` (or as ``task`` names it), ``cut``, ``cut_rank``, ``axis``,
            ``ratio``, ``actual``, ``raw_lower``, ``raw_upper``.
        prob: nominal coverage.
        kind: one of `CALIBRATIONS`.
        space: "log" or "linear": where the interval is widened.
        task: the name of the task column.
        warn: warn (`FitWarning`) when rows are calibrated on fewer than `scores_needed`
            scores (`backtest` passes False and warns itself, at its own caller).

    Returns:
        ``table`` with ``lower``, ``upper`` (calibrated), ``q`` (the cut's quantile) and
        ``n_calibration`` (its number of scores; 0: the raw interval is kept; fewer than
        `scores_needed`: ``q`` is the largest score, and a `FitWarning` says so).
    """
    if kind not in CALIBRATIONS:
        raise ValueError(f"calibrate={kind!r} is not one of {CALIBRATIONS} (or None).")
    lo, hi = _forward(table["raw_lower"], space), _forward(table["raw_upper"], space)
    g = _scale(kind, table["ratio"].to_numpy(np.float64), lo, hi)
    q = np.full(len(table), np.nan)
    ncal = np.zeros(len(table), dtype=np.int64)
    for rank, rows in table.groupby("cut_rank", sort=False).indices.items():
        sub = table.iloc[rows]
        cuts = sub.groupby(task, sort=False)["cut"].first()
        cut = float(cuts.iloc[0]) if cuts.nunique() == 1 else cuts.to_dict()
        s = calibration_scores(table, cut, kind, space, task)
        q[rows], ncal[rows] = conformal_quantile(s, prob), len(s)
    qq = np.where(np.isfinite(q), np.maximum(q, 0.0), 0.0)
    out = table.copy()
    out["lower"] = _backward(lo - qq * g, space)
    out["upper"] = _backward(hi + qq * g, space)
    out["q"] = q
    out["n_calibration"] = ncal
    if warn:
        _warn_few_scores(out, prob)
    return out


# ----------------------------------------------------------------------------- result

@dataclasses.dataclass(frozen=True, eq=False)
class BacktestResult:
    """What `backtest` returns.

    Attributes:
        rows: one row per held-out observation and cut (see `table`).
        fits: cut -> list of each step's `jaxfit.FitResult` at that cut.
        options: the call's settings (y: the target column of data, whose values are
            ``actual``; axis, method, prob, calibrate, space, ...).
    """

    rows: pd.DataFrame
    fits: Mapping[float, Any]
    options: Mapping[str, Any]

    def __repr__(self) -> str:
        """One line, as `jaxfit.FitResult`'s (the dataclass's own printed the whole table
        and every cut's fits, keyed by cuts printed to 17 digits)."""
        o = self.options
        prob = o.get("prob")
        return (f"BacktestResult({o.get('law')} along {o.get('axis')}, {len(self.fits)} "
                f"cut(s), {len(self.rows)} held-out row(s), {o.get('method')}, "
                + (f"{prob:g} intervals, " if isinstance(prob, numbers.Real) else "")
                + f"calibrate={o.get('calibrate')}; see table(), summary(), plot())")

    def table(self) -> pd.DataFrame:
        """Tidy: the task column (named after ``by`` as in `jaxfit.data.task_label`: the
        ``by`` column's name, or ``task`` without one or with several, whose labels are
        then joined by "|"), ``cut`` (the cut's value: rows with axis <= cut were fitted),
        ``cut_rank`` (1: the largest cut that predicted any row; a cut with nothing above
        it is skipped), ``axis`` (the held-out row's value), ``ratio`` (axis / the largest
        fitted axis value of the task, which can be below ``cut``),
        ``actual``, ``prediction`` (the point fit's), ``lower``, ``upper``, ``covered``
        (the calibrated interval when ``calibrate`` is set, else the raw one), and
        ``raw_lower``, ``raw_upper``, ``raw_covered``, ``mean_lower``, ``mean_upper``
        (credible interval of the law's mean), ``q``, ``n_calibration``, ``converged``
        (every step's point fit of the row's task at that cut converged; `backtest`
        warns when one did not), ``identified`` (every one of those fits was identified:
        no design problem and near-best restarts agree, ``FitResult.identified``; the
        fits that are not would have warned with `jaxfit.fit`'s defaults) and ``row``
        (the input's index label)."""
        return self.rows.copy()

    def summary(self, by_task: bool = True, last_cut: bool = False,
                calibrated_only: bool = True, pooled="all") -> pd.DataFrame:
        """Per task (and pooled over tasks): ``n`` held-out rows, ``no_interval`` (those
        whose interval is NaN: `backtest` warns; they are left out of the other columns),
        coverage of the raw and calibrated intervals, mean absolute error, mean |relative
        error|, median interval width and mean interval score (Gneiting & Raftery 2007) of
        each. Indexed by task (index named after ``by``, as `table`'s task column).

        Args:
            by_task: one row per task before the pooled row.
            last_cut: only the largest cut (the largest models held out).
            calibrated_only: only rows whose cut had calibration data (``n_calibration >
                0``), so raw and calibrated are compared on the same rows.
            pooled: the pooled row's label (default ``"all"``: ``summary().loc["all"]``).
                As pandas' ``pivot_table(margins_name=)``, a task of the same name is
                refused (ValueError) rather than merged with it: pass another label.
        """
        by = self.options.get("by")
        return summarize(self.rows, self.options["prob"], by_task=by_task, last_cut=last_cut,
                         calibrated_only=calibrated_only and self.options.get("calibrate"),
                         group=task_label(by), pooled=pooled, by=by)

    def plot(self, ax=None):
        """Predicted vs actual with intervals, and coverage against extrapolation ratio."""
        from jaxfit.backtest_plot import plot_backtest

        return plot_backtest(self, ax=ax)


def bootstrap_n(method: str, n: int | None) -> int | None:
    """`backtest`'s ``n`` for ``method``: the bootstrap's resamples per task and cut
    (None: `BOOTSTRAP_N`), or None for the other methods, which take no ``n``. The one
    rule of ``n``, of `backtest` and of ``jaxfit backtest --n`` (which calls it before
    reading the data; its message reads in the command line's flags there).

    Raises:
        ValueError: ``n`` given with a method other than ``"bootstrap"`` (before: n
            reached only the bootstrap, and ``method="laplace", n=500`` drew the
            sampler's default draws with n unused, without a word), or a bootstrap ``n``
            that is not an integer >= 2; naming n, its value and the fix.
    """
    if method != "bootstrap":
        if n is None:
            return None
        raise ValueError(f"backtest: n={n!r} is the bootstrap's resamples per task and cut "
                         f"and does not apply to method={method!r}; use method='bootstrap', "
                         f"n={n!r}, or drop n (the draws of {method!r} are set in "
                         "sample_options, e.g. sample_options={'samples': 1000}).")
    if n is None:
        return BOOTSTRAP_N
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        # checked before the first cut's fit (jaxfit.bootstrap refused it after that fit)
        raise ValueError(f"backtest: n={n!r} bootstrap resamples per task and cut: it must "
                         "be an integer >= 2, e.g. n=200.")
    if n > checks.MAX_COUNT:
        raise ValueError(f"backtest: n={n!r} bootstrap resamples per task and cut: it must "
                         f"be at most {checks.MAX_COUNT}, e.g. n=200.")
    return n


def check_pooled(labels, pooled, by=None) -> None:
    """ValueError if a task label equals ``pooled``, the label of `summarize`'s pooled row
    (the pooled statistics replaced that task's row without a word)."""
    if not pd.Series(np.asarray(labels, dtype=object)).eq(pooled).any():
        return
    col = f"by column {by!r}" if by is not None else "task column"
    raise ValueError(
        f"backtest summary: the {col} has a task named {pooled!r} ({type(pooled).__name__}), "
        f"the label of the row pooled over all tasks, so the two rows would share one "
        f"label. Fix: give the pooled row another label, summary(pooled='pooled') "
        f"(jaxfit backtest --pooled pooled), or rename that task.")


def summarize(rows: pd.DataFrame, prob: float, by_task: bool = True, last_cut: bool = False,
              calibrated_only: bool = False, group: str = "task", pooled="all",
              by=None) -> pd.DataFrame:
    """The statistics of `BacktestResult.summary` for a backtest table (any grouping); the
    pooled row is labelled ``pooled`` (`check_pooled`: no ``group`` value may equal it when
    ``by_task``; ``by``: the column named in that error)."""
    if by_task:
        check_pooled(rows[group], pooled, by)
    r = rows
    if last_cut:
        r = r[r["cut_rank"] == 1]
    if calibrated_only and "n_calibration" in r:
        r = r[r["n_calibration"] > 0]

    def stats(d: pd.DataFrame) -> dict:
        n = len(d)
        # a row whose interval is NaN (e.g. a bootstrap with no residual degrees of freedom)
        # has no interval: it is counted in no_interval, not as a miss (it was, and it made
        # every width and score NaN)
        has = _has_interval(d)
        iv, d = int(has.sum()), d[has]
        y, p = d["actual"].to_numpy(np.float64), d["prediction"].to_numpy(np.float64)
        out = {"n": n, "no_interval": n - iv,
               "coverage_raw": float(d["raw_covered"].mean()) if iv else math.nan,
               "coverage": float(d["covered"].mean()) if iv else math.nan,
               "mae": float(np.mean(np.abs(p - y))) if iv else math.nan,
               "mean_rel_error": float(np.mean(np.abs(p / y - 1))) if iv else math.nan,
               "median_width_raw": float(np.median(d["raw_upper"] - d["raw_lower"]))
               if iv else math.nan,
               "median_width": float(np.median(d["upper"] - d["lower"])) if iv else math.nan,
               "interval_score_raw": float(np.mean(interval_score(
                   d["raw_lower"], d["raw_upper"], y, prob))) if iv else math.nan,
               "interval_score": float(np.mean(interval_score(d["lower"], d["upper"], y, prob)))
               if iv else math.nan}
        return out

    recs = {}
    if by_task:
        for t, d in r.groupby(group, sort=False):
            recs[t] = stats(d)
    recs[pooled] = stats(r)
    out = pd.DataFrame.from_dict(recs, orient="index")
    out.index.name = group
    out.attrs["prob"] = prob
    return out


# ----------------------------------------------------------------------------- helpers

def _warn_uncalibrated(rows: pd.DataFrame, calibrate, n_cuts: int, used: int | None = None,
                       few: str = "") -> bool:
    """Warn (`FitWarning`) when calibration is asked for but no held-out row has any, so
    that `BacktestResult.summary` (calibrated rows only) would be empty without a word.

    Args:
        rows: the backtest table; calibrate: the calibration (None: no warning).
        n_cuts: the cuts asked for; used: those that predicted rows (default n_cuts).
        few: why cuts were skipped for too few points (`_few_text`), or "".
    """
    if calibrate is None or (rows["n_calibration"] > 0).any():
        return False
    used = n_cuts if used is None else used
    if few:
        # the cuts were given; the smaller ones had too few points to fit (before: the
        # advice was "give 2 or more cuts", which the call had already done)
        why = f": only {used} of {n_cuts} cut(s) predicted held-out rows; {few}"
        fix = ("add runs at or below those cuts (a cut needs that many points per task), "
               "or calibrate=None")
    else:
        why = f" ({used} cut(s) predicted held-out rows"
        why += f" of the {n_cuts} asked for)" if used != n_cuts else ")"
        fix = "give 2 or more cuts that each leave rows above them, or calibrate=None"
    warnings.warn(f"backtest: no held-out row has calibration data{why}. Each cut's "
                  "calibration learns from the errors at the smaller cuts, so the smallest "
                  f"has none, and summary() has no rows; {fix} (raw intervals; the table has "
                  "them as raw_lower/raw_upper).", FitWarning, stacklevel=3)
    return True


def _few_text(few: Sequence[float], axis: str, min_points, steps: Sequence[Step]) -> str:
    """'at cut(s) ... no task has N points (min_points) with axis <= the cut', or ""."""
    if not few:
        return ""
    need = (min_points if min_points is not None else
            " / ".join(str(len(s.law.param_names) + 1) for s in steps))
    return (f"at cut(s) {', '.join(f'{c:.4g}' for c in few[:5])} no task has {need} points "
            f"(min_points) with {axis} <= the cut")


def _skip_parts(few: Sequence[float], empty: Sequence[float], axis: str, min_points,
                steps: Sequence[Step]) -> list[str]:
    """Why cuts were skipped, one part each: the cuts where no task had enough points to
    fit (``few``, `_few_text`) and those with no row above them (``empty``)."""
    parts = [_few_text(few, axis, min_points, steps)] if few else []
    if empty:
        parts.append(f"cut(s) {', '.join(f'{c:.4g}' for c in empty[:5])} leave no row with "
                     f"{axis} above them")
    return parts


def _warn_skipped_cuts(cuts, axis: str, few: Sequence[float], empty: Sequence[float],
                       min_points, steps: Sequence[Step]) -> None:
    """Warn (`FitWarning`) when cuts the caller gave (values or a count; not
    ``cuts=None``, whose smallest values never have enough points) were skipped: no task
    had enough points at or below them (``few``; the caller passes none when
    `_warn_uncalibrated` said so already), or no row lies above them (``empty``). Before:
    a cut outside the data, e.g. ``cuts=[1e12, 8e8]`` or ``cuts=[8e8, 1e3]`` for a typo,
    ran the other cuts without a word."""
    if cuts is None:
        return
    parts = _skip_parts(few, empty, axis, min_points, steps)
    if not parts:
        return
    warnings.warn(f"backtest: skipped {len(few) + len(empty)} cut(s) that predict nothing: "
                  f"{'; '.join(parts)}. Fix: give cuts below the largest {axis} value, each "
                  "with enough rows at or below it for a fit, or cuts=None (every value but "
                  "the largest).", FitWarning, stacklevel=3)


def _has_interval(rows: pd.DataFrame) -> np.ndarray:
    """Rows whose prediction and raw and calibrated bounds are all finite."""
    cols = ["prediction", "raw_lower", "raw_upper", "lower", "upper"]
    return np.isfinite(rows[cols].to_numpy(np.float64)).all(axis=1)


def _pairs(rows: pd.DataFrame, mask: np.ndarray) -> str:
    """'N (task, cut) pair(s): ...' naming the first five pairs of the masked rows."""
    pairs = rows.loc[mask, ["task", "cut"]].drop_duplicates()
    where = ", ".join(f"{t!r} at cut {c:.4g}" for t, c in pairs.head(5).itertuples(index=False))
    return f"{len(pairs)} (task, cut) pair(s): {where}"


def _warn_left_out_draws(rows: pd.DataFrame, nan: np.ndarray, n: int, prob: float) -> bool:
    """Warn (`FitWarning`) when held-out rows kept an interval although some of their
    predictive draws are NaN (``nan``: each row's count of its ``n`` draws): the
    bounds leave them out, as `Posterior.predict`'s do (`jaxfit.posterior.predictive_bounds`:
    at most `jaxfit.posterior.max_dropped` of a row's draws, each bound the one all draws
    would give had those lain beyond it), so the row is scored on an interval at least as
    wide as its ``prob`` interval. (Rows with more NaN draws have no interval:
    `_warn_no_interval`.)"""
    kept = (nan > 0) & _has_interval(rows)
    if not kept.any():
        return False
    warnings.warn(f"backtest: {int(kept.sum())} of {len(rows)} held-out row(s) have NaN "
                  f"predictive draws (up to {int(nan[kept].max())} of {n}; "
                  f"{_pairs(rows, kept)}): in those draws the law's mean is not finite, or "
                  "<= 0 where a log-space likelihood has no observation. Their bounds leave those "
                  f"draws out, {left_out_clause(n)}, as Posterior.predict's do, so the rows "
                  f"are scored on an interval at least as wide as their {prob:g} one. Fix: a "
                  "law that stays positive there, or space='linear' for a target that can be "
                  "<= 0.",
                  FitWarning, stacklevel=3)
    return True


def _warn_no_interval(rows: pd.DataFrame, space: str = "log") -> bool:
    """Warn (`FitWarning`) when held-out rows have no interval (NaN or infinite bounds or
    prediction): they are False in ``covered`` and left out of `summarize`'s statistics
    and of the calibration, so say which and why: no noise scale (too few points per
    task), or, in log space, a law whose draws reach <= 0 at the row (``mean_lower``)."""
    bad = ~_has_interval(rows)
    if not bad.any():
        return False
    low = rows.get("mean_lower", pd.Series(np.nan, index=rows.index)).to_numpy(np.float64)
    point = rows["prediction"].to_numpy(np.float64)
    nonpos = bad & ((low <= 0) | (point <= 0)) if space == "log" else np.zeros_like(bad)
    why, fix = [], []
    if (bad & ~nonpos).any():
        why.append("A bootstrap of a task with no more points than the law's parameters has "
                   "no residual degrees of freedom, so no noise scale: was min_points set "
                   "below the parameter count + 1 (its default)?")
        fix.append("leave min_points at its default, or drop those cuts")
    if nonpos.any():
        why.append(f"In {_pairs(rows, nonpos)}, the law's mean is <= 0 in some draws, which "
                   "a log-space likelihood cannot observe (the law, fitted below the cut, "
                   "goes through zero at the held-out input).")
        fix.append("a law that stays positive there, or space='linear' for a target that "
                   "can be <= 0")
    warnings.warn(f"backtest: {int(bad.sum())} of {len(rows)} held-out row(s) have no interval "
                  f"(NaN or infinite bounds or prediction; {_pairs(rows, bad)}). "
                  f"{' '.join(why)} These rows are covered=False in the table, left out "
                  "of the calibration, and counted in summary()'s no_interval column instead "
                  f"of its coverage, widths and scores. Fix: {'; or '.join(fix)}.",
                  FitWarning, stacklevel=3)
    return True


def _warn_unconverged(rows: pd.DataFrame) -> bool:
    """Warn (`FitWarning`) when held-out rows were predicted from point fits that did not
    converge (the fits run with ``warn=False``; their rows are kept, ``converged=False``)."""
    bad = ~rows["converged"].to_numpy(bool)
    if not bad.any():
        return False
    warnings.warn(f"backtest: {int(bad.sum())} of {len(rows)} held-out row(s) come from point "
                  f"fits that did not converge ({_pairs(rows, bad)}); "
                  "they are in the table with converged=False. Fix: raise max_steps or "
                  "restarts (fit_options=), or give min_points= so small cuts are skipped.",
                  FitWarning, stacklevel=3)
    return True


def _no_cut_message(a: np.ndarray, axis: str, few: Sequence[float], empty: Sequence[float],
                    min_points, steps: Sequence[Step]) -> str:
    """Why no cut produced a row (`_skip_parts`), with the data's axis range."""
    parts = _skip_parts(few, empty, axis, min_points, steps)
    return (f"backtest: no cut had both enough points to fit and rows to predict: "
            f"{'; '.join(parts)} ({axis} spans {np.nanmin(a):.4g} to {np.nanmax(a):.4g}). "
            f"Fix: give cuts between those values (cuts=None: every value but the largest), "
            f"or lower min_points.")


def _check_positive(col: str, frames, why: str, fix: str) -> None:
    """ValueError naming ``col``, the frame and the rows when a finite value of column
    ``col`` is <= 0 in one of ``frames`` ((name, df) pairs): ``why`` it must be positive
    and the ``fix``.

    Used for ``y`` in log space (before, a fit refused such a row only when a cut fitted
    it, so one at the largest scale, only ever held out, was predicted without a word: its
    log score NaN, left out of the calibration, its relative error infinite or negative)
    and for ``axis`` with ``calibrate="ratio"`` (which scales by ``1 + log(axis / largest
    fitted)``, NaN for a zero or negative axis, a centred or log-scale column: every
    calibrated bound was NaN)."""
    for name, df in frames:
        v = df[col].to_numpy(np.float64)
        bad = np.isfinite(v) & (v <= 0)
        if bad.any():
            raise ValueError(
                f"backtest: column {col!r} of {name} has {int(bad.sum())} value(s) <= 0 at "
                f"rows {list(df.index[bad][:5])} (e.g. {v[bad][0]:g}); {why}, so every value "
                f"must be > 0. Fix: {fix}.")


def task_labels(df: pd.DataFrame, by, name: str = "data") -> np.ndarray:
    """Each row's task label in a backtest table (several ``by`` columns joined by "|").

    ``name`` names ``df`` in the errors (``"steps[1].data"``: before, a step's frame
    without the by column was said to be "the data", whose columns it then listed).

    Raises:
        ValueError: a ``by`` column is missing, or has missing values (named with rows).
    """
    if by is None:
        return np.zeros(len(df), dtype=np.int64)
    cols = task_columns(by)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        from jaxfit.data import did_you_mean

        where = "the data" if name == "data" else name
        raise ValueError(f"backtest: by column(s) {missing} are not in {where}; its columns "
                         f"are {list(df.columns)}{did_you_mean(missing, df.columns)}.")
    for c in cols:
        # as jaxfit.fit refuses them (before: the rows were dropped without a word, and a
        # task left with too few points vanished from the table)
        bad = df[c].isna().to_numpy()
        if bad.any():
            from jaxfit.data import row_labels

            where = "" if name == "data" else f"{name}: "
            raise ValueError(f"backtest: {where}column {c!r} (task column, by) has "
                             f"{int(bad.sum())} "
                             f"missing values at rows {row_labels(df, bad)}; those rows "
                             f"would belong to no task. Fill them, e.g. "
                             f"df[{c!r}].fillna('unknown').")
    if len(cols) == 1:
        return df[cols[0]].to_numpy()
    return np.array(["|".join(map(str, v)) for v in df[cols].itertuples(index=False)],
                    dtype=object)


def _point(law: Law, fits: Sequence, rows: Sequence[np.ndarray], x: Mapping[str, np.ndarray]):
    """The composed law at each row with its task's point-fit parameters (merged steps);
    ``rows[j]``: each row's task position in ``fits[j]``."""
    theta = {}
    for res, idx in zip(fits, rows):
        for i, n in enumerate(res.law.param_names):
            if n in law.params:
                theta[n] = res.values[idx, i]
    return law_values(law, theta, x)


#: `jaxfit.sample` arguments `backtest` sets for every step and cut: where to give each.
_SET_BY_BACKTEST = {"y": "the step's y", "by": "by=", "x": "x= (or the Step's)",
                    "space": "space= (or the Step's)", "method": "method=", "seed": "seed=",
                    "start": "none: each cut's point fit",
                    # the sampler starts at the point fit: its loss and delta are the step's
                    # (before: sample_options={"delta": 0.01} was refused by jaxfit.sample
                    # after the first cut's fit, and "loss" was ignored)
                    "loss": "loss= (or the Step's)", "delta": "delta= (or the Step's)"}


def _check_min_points(min_points, steps: Sequence[Step]) -> None:
    """ValueError, before any fit, for a ``min_points`` that is not an integer or is below
    a step's free parameter count, which no fit can take. Before: ``min_points=2`` with a
    3-parameter law ran into the first cut's fit, refused as "3 task(s) have fewer points
    than the law's 3 free parameters ... drop those tasks", which did not name
    min_points; ``min_points="4"`` raised TypeError comparing int and str."""
    if min_points is None:
        return
    if isinstance(min_points, bool) or not isinstance(min_points, numbers.Integral):
        raise ValueError(f"backtest: min_points={min_points!r} must be an integer (the fewest "
                         "rows a task needs at a cut to be fitted there), e.g. min_points=5, "
                         "or None (each step's parameter count + 1).")
    free = [len(s.law.params) - len(s.law.shared) for s in steps]
    i = int(np.argmax(free))
    if min_points < free[i]:
        where = f" (steps[{i}])" if len(steps) > 1 else ""
        raise ValueError(f"backtest: min_points={min_points} is below the {free[i]} free "
                         f"parameters of law {steps[i].law.name!r}{where}, so a task with that "
                         f"many points could not be fitted; give min_points={free[i] + 1} or "
                         f"more (a fit needs {free[i]} points, its bootstrap {free[i] + 1}), "
                         "or None (each step's parameter count + 1).")


#: `jaxfit.fit` arguments `backtest` sets for every step and cut: where to give each.
_FIT_SET_BY_BACKTEST = {"y": "y= (or the Step's y)", "by": "by=", "x": "x= (or the Step's)",
                        "loss": "loss= (or the Step's)", "delta": "delta= (or the Step's)",
                        "space": "space= (or the Step's)", "warn": "none: backtest warns itself"}


#: `point_fit` as imported, whose arguments `_check_fit_options` checks: bound once, so
#: a stand-in for ``point_fit`` (a test's that fails if a fit runs) is checked as jaxfit.fit.
_POINT_FIT = point_fit


def _check_options(opts: Mapping[str, Any], name: str, func, func_name: str,
                   set_by: Mapping[str, str]) -> None:
    """ValueError when options ``opts`` (given as ``name``, e.g. ``fit_options``) set an
    argument that backtest sets itself (``set_by``: argument -> where to give it), or one
    that ``func`` (called ``func_name`` in the message) does not take, with the nearest
    names it does take."""
    import difflib
    import inspect

    taken = [k for k in opts if k in set_by]
    if taken:
        where = "; ".join(f"{k}: {set_by[k]}" for k in taken)
        raise ValueError(f"backtest: {name} sets {taken}, which backtest sets for every "
                         f"step and cut; drop them from {name} and give them as "
                         f"backtest's own arguments ({where}).")
    known = [k for k in inspect.signature(func).parameters
             if k not in ("law", "data", *set_by)]
    unknown = [k for k in opts if k not in known]
    if unknown:
        near = [m for k in unknown for m in difflib.get_close_matches(str(k), known, 1)]
        hint = f" (did you mean {near}?)" if near else ""
        raise ValueError(f"backtest: {name} has {unknown}, which {func_name} does not "
                         f"take{hint}; its options are {known}.")


def _check_fit_options(steps: Sequence[Step], own_step: bool) -> None:
    """ValueError, before any fit, for point-fit options that `jaxfit.fit` does not take,
    that backtest sets itself (`_check_options`), or ``weights``, which the intervals would
    not see (each cut's bootstrap or posterior is of the unweighted rows). Before: a
    TypeError at the first cut ("fit() got an unexpected keyword argument 'restart'", "got
    multiple values for keyword argument 'loss'"), or, for weights, weighted point
    predictions in unweighted intervals without a word."""
    for i, s in enumerate(steps):
        opts = dict(s.options or {})
        name = "fit_options" if own_step else f"steps[{i}].options"
        if "weights" in opts:
            raise ValueError(f"backtest: {name} sets 'weights', which only the point fit would "
                             "use: each cut's bootstrap or posterior, and so its intervals, is "
                             f"of the unweighted rows. Drop weights from {name} (or select the "
                             "rows to fit instead of weighting them).")
        _check_options(opts, name, _POINT_FIT, "jaxfit.fit", _FIT_SET_BY_BACKTEST)


def _check_sample_options(method: str, sample_options) -> None:
    """ValueError, before any fit, for ``sample_options`` that would be ignored (with
    ``method="bootstrap"``), that backtest sets itself, or that `jaxfit.sample` does not
    take (`_check_options`). Before: ignored without a word, or a TypeError ("got multiple
    values for keyword argument 'seed'", "unexpected keyword argument") after the first
    cut's fits."""
    from jaxfit.sample import sample

    opts = dict(sample_options or {})
    if not opts:
        return
    if method == "bootstrap":
        raise ValueError(f"backtest: sample_options={opts!r} are jaxfit.sample's options and do "
                         "not apply to method='bootstrap' (its draws are n=); use "
                         "method='nuts' or 'laplace', or drop sample_options.")
    _check_options(opts, "sample_options", sample, "jaxfit.sample", _SET_BY_BACKTEST)


#: A step's `jaxfit.fit` options that describe its bootstrap refits as well as its point
#: fit: the optimizer, its step cap and tolerance, and the objective's reduction. The
#: refits start at the point fit (`jaxfit.bootstrap`'s ``starts="fit"``), so the options
#: of the starts (``restarts``, ``init``, ``refine``, ``keep``, ``screen_steps``,
#: ``continuation``, ``keep_restarts``) describe the point fit alone, and reach it.
_REFIT_OPTIONS = ("method", "max_steps", "ftol", "reduction")


def refit_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The `_REFIT_OPTIONS` among a step's fit ``options``, for its bootstrap refits.

    Before, only ``max_steps`` reached them: ``fit_options={"method": "lbfgs"}`` fitted
    each cut with L-BFGS and refitted its resamples with Newton, and ``ftol`` and
    ``reduction`` reached the point fit alone."""
    return {k: options[k] for k in _REFIT_OPTIONS if k in options}


def _posterior(step: Step, data: pd.DataFrame, res, method: str, n: int, seed: int,
               sample_options: Mapping[str, Any]):
    from jaxfit.sample import bootstrap, sample

    if method == "bootstrap":
        return bootstrap(step.law, data, y=step.y, by=_TASK, x=dict(step.x or {}), n=int(n),
                         loss=step.loss, delta=step.delta, space=step.space, start=res,
                         seed=seed, warn=False, pinned=step.pinned, groups=step.groups,
                         **refit_options(dict(step.options or {})))
    # the posterior of the step's own data model, started at the step's point fit (as the
    # bootstrap is): a Huber likelihood with the step's delta, or a Normal one for squared
    # residuals (`_likelihood_for`)
    opts = {"warn": False, "likelihood": _likelihood_for(step.loss), "loss": step.loss,
            "delta": step.delta, "start": res, **dict(sample_options)}
    return sample(step.law, data, y=step.y, by=_TASK, x=dict(step.x or {}), space=step.space,
                  method=method, seed=seed, **opts)


def _check_tempered_steps(steps, method: str, sample_options) -> None:
    """ValueError, before any fit, where a sampled step's posterior would temper the Huber
    likelihood at a point fit of another objective (`jaxfit.sample`'s own check, which
    otherwise refused it after the first cut's fit): e.g. ``loss="absolute"`` with
    ``sample_options={"likelihood": "huber"}``."""
    if method == "bootstrap":
        return
    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.sample import _check_sandwich_fit

    opts = dict(sample_options or {})
    for i, s in enumerate(steps):
        kind = opts.get("likelihood", _likelihood_for(s.loss))
        lik = make_likelihood(kind, s.space, opts.get("nu", 4.0), s.delta)
        try:
            _check_sandwich_fit(lik, opts.get("temper", "sandwich"), s.space,
                                {"loss": s.loss}, start=False)
        except ValueError as e:
            where = "" if len(steps) == 1 else f"steps[{i}]: "
            raise ValueError(f"backtest: {where}{e} (likelihood and temper go in "
                             "sample_options)") from None


#: The likelihood whose maximum is a point fit's estimate, for each `jaxfit.fit` loss.
_LIKELIHOOD_OF_LOSS = {"huber": "huber", "squared": "normal"}


def _likelihood_for(loss: str) -> str | None:
    """`jaxfit.sample`'s likelihood whose maximum is a fit with ``loss``'s estimate (the
    Huber density for "huber", Normal for "squared"), or None ("absolute")."""
    return _LIKELIHOOD_OF_LOSS.get(loss)


def _shown(cuts) -> str:
    """Cut values as the user gave them, e.g. ``1e+09, 2e+09``."""
    try:
        return ", ".join(f"{float(c):g}" for c in np.atleast_1d(np.asarray(cuts, dtype=float)))
    except (TypeError, ValueError):
        return repr(cuts)


def _check_cuts(cuts, per_task: bool):
    """The one check of `backtest`'s ``cuts``, run before the data are read and again by
    `_cut_table` (a no-op on its own output): None, a count, or cut values.

    Before, the checks were split: the types and the count in `backtest`, while cut values
    with ``per_task=True``, an empty list and non-finite values were refused by
    `_cut_table` only after the data had been read, so ``per_task=True, cuts=[4e8]`` on data
    with a NaN row warned that the row was left out, then refused the cuts.

    Returns:
        None; a count (an int, also for numpy integers: ``np.int64(3)`` is a count, not
        the value 3.0); or the distinct cut values, largest first (float array).

    Raises:
        ValueError: a string or bool (``cuts="4e8"``, ``cuts=["3"]``: before, ``cuts=["abc"]``
            raised "could not convert string to float", and ``cuts="3"`` ran as the value
            3.0), a count below 1, cut values with ``per_task=True`` (counted within each
            task), no value or a non-finite one; naming ``cuts`` and the fix.
    """
    if cuts is None:
        return None
    if isinstance(cuts, numbers.Integral) and not isinstance(cuts, bool):
        if cuts < 1:
            raise ValueError(f"backtest: cuts={int(cuts)} asks for no cut; give a count >= 1, "
                             "the cut values themselves, or cuts=None (every value but the "
                             "largest).")
        return int(cuts)
    items = [cuts] if isinstance(cuts, (str, bytes)) or np.ndim(cuts) == 0 else list(
        np.ravel(np.asarray(cuts, dtype=object)))
    bad = [c for c in items if isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Real)]
    if bad:
        raise ValueError(f"backtest: cuts={cuts!r} has {bad[0]!r} "
                         f"({type(bad[0]).__name__}), not a number: give the cut values as "
                         "numbers (e.g. cuts=[4e8, 2e8]), a count as an int (e.g. cuts=3), or "
                         "cuts=None (every value but the largest).")
    if per_task:
        raise ValueError(f"backtest: with per_task=True, cuts are counted within each "
                         f"task, so cut values ({_shown(cuts)}) do not apply: give a count "
                         "of each task's largest values to roll over (one integer, e.g. "
                         "cuts=2), or cuts=None (all but each task's largest).")
    given = np.asarray(items, dtype=np.float64)
    if not given.size or not np.isfinite(given).all():
        raise ValueError(f"backtest: cuts=[{_shown(cuts)}] must be finite axis "
                         "values (a row is held out when its axis value is above the cut); "
                         "give e.g. cuts=[4e8, 2e8], an int (that many of the largest "
                         "values) or cuts=None (every value but the largest).")
    # each distinct cut once (a repeated cut was fitted twice, its rows counted twice)
    return np.unique(given)[::-1]


def _cut_table(values: pd.Series, per_task: bool, cuts, min_rank: int):
    """[K, T] cut values (NaN where a task has no such cut), largest cut first; ``cuts``
    as `_check_cuts` returns them."""
    tasks = values.index.unique()
    if per_task:
        per = {t: np.sort(np.unique(values.loc[[t]].to_numpy(np.float64)))[::-1][1:]
               for t in tasks}
        K = max((len(v) for v in per.values()), default=0)
        if isinstance(cuts, int):
            K = min(K, cuts)
        table = np.full((K, len(tasks)), np.nan)
        for j, t in enumerate(tasks):
            v = per[t][:K]
            table[:len(v), j] = v
        return table, tasks
    if cuts is None or isinstance(cuts, int):
        cv = np.sort(np.unique(values.to_numpy(np.float64)))[::-1][1:]
        if isinstance(cuts, int):
            cv = cv[:cuts]
    else:
        cv = cuts
    return np.repeat(cv[:, None], len(tasks), axis=1), tasks


# ----------------------------------------------------------------------------- backtest

def backtest(law: Law, data: pd.DataFrame, y: str = "loss", by: str | Sequence[str] | None = None,
             *, axis: str, x: Mapping[str, str] | None = None,
             steps: Sequence[Step] | None = None, cuts: int | Sequence[float] | None = None,
             per_task: bool = False, min_points: int | None = None,
             method: str = "bootstrap", prob: float = 0.9, calibrate: str | None = "ratio",
             n: int | None = None, loss: str = "huber", delta: float = 1e-3, space: str = "log",
             fit_options: Mapping[str, Any] | None = None,
             sample_options: Mapping[str, Any] | None = None, seed: int = 0,
             progress: bool = False) -> BacktestResult:
    """Rolling-origin backtest of a law's extrapolation, with (calibrated) intervals.

    For each cut along ``axis`` (largest first), every step is fitted on its rows with
    ``axis <= cut`` (`jaxfit.fit`, every task in one call), its uncertainty is drawn
    (`jaxfit.bootstrap`, or `jaxfit.sample` with ``method``; one call per step and cut),
    and every row of ``data`` above the cut is predicted: the point fit's value and the
    ``prob`` predictive interval (through the composed law for several steps,
    `jaxfit.chain.chain_draws`). Then each cut's interval is calibrated on the earlier
    cuts' errors at or below it (`calibrate_intervals`).

    Args:
        law: the law to backtest; with ``steps``, the composed law of the steps (e.g.
            ``jf.compose(sigmoid(), ladder_step1(), into="L")``).
        data: the observations to predict (never modified): ``by``, ``axis``, ``y`` and
            the law's inputs. Without ``steps`` also the data the law is fitted on. Rows
            with a NaN or infinite ``axis``, ``y`` or input are left out (with a
            `FitWarning`), of the fits too.
        y: target column of ``data``.
        by: column(s) naming independent tasks.
        axis: the scale column along which the largest rows are held out (``"N"``,
            ``"C"``, tokens, ...); in every step's data too. With ``calibrate="ratio"``
            it must be positive (the scale, not its log: the ratio to the largest fitted
            value sets the extrapolation distance).
        x: ``law`` input -> column of ``data``.
        steps: the steps of a composed law, innermost first (`Step`); default: one step,
            ``law`` fitted on ``data`` with ``loss``, ``delta``, ``space`` and
            ``fit_options``.
        cuts: None (every distinct axis value but the largest), an int (that many of the
            largest), or the cut values themselves (numbers; each distinct value once). A
            cut with no row above it, or with no task that has ``min_points`` rows at or
            below it, is skipped and does not take a ``cut_rank`` (with a `FitWarning` for
            cuts given as values or a count).
        per_task: cuts by rank within each task (cut k holds out each task's k largest
            axis values; e.g. the largest model of each family) instead of shared values.
        min_points: a task is fitted at a cut only when every step has at least this many
            rows there (default: the step's parameter count + 1; at least each step's
            free parameter count, which a fit needs).
        method: "bootstrap" (default), "nuts" or "laplace".
        prob: nominal coverage of the intervals.
        calibrate: "ratio" (default), "width", "constant" (see the module docstring), or
            None for raw intervals only.
        n: bootstrap resamples per task and cut (``method="bootstrap"`` only; default
            None: `BOOTSTRAP_N`). The other methods' draws are set in ``sample_options``.
        loss, delta, space, fit_options: the single step's objective and `jaxfit.fit`
            options (ignored with ``steps``). Every option reaches each cut's point fit;
            with ``method="bootstrap"``, ``method``, ``max_steps``, ``ftol`` and
            ``reduction`` reach its refits too (`refit_options`), which start at the
            point fit, so ``restarts``, ``init`` and ``refine`` are the point fit's
            alone. Refused in ``fit_options`` (and a Step's
            ``options``): the arguments backtest sets (y, by, x, loss, delta, space, warn),
            ``weights`` (the intervals would not see them) and names `jaxfit.fit` does not
            take (`_check_fit_options`).
        sample_options: `jaxfit.sample` options (chains, warmup, samples, ...); refused
            with ``method="bootstrap"`` and for the options backtest sets (y, by, x, space,
            method, seed, start; `_check_sample_options`). By default
            each step is sampled with the likelihood whose maximum is its point fit (Huber
            with the step's ``delta``; Normal for ``loss="squared"``), started at that fit.
        seed: seed of the fits, resamples and predictive draws (the same at every cut, so
            a cut's result does not depend on which cuts ran before it).
        progress: print one line per cut on stderr.

    Returns:
        A `BacktestResult`.

    Raises:
        ValueError: unknown method or calibration, a ``prob``, ``cuts`` or
            ``min_points`` that cannot work, missing columns, a ``y`` <= 0 in log space, no
            cut with data.
    """
    if method not in METHODS:
        raise ValueError(f"backtest: method={method!r} is not one of {METHODS}.")
    if calibrate is not None and calibrate not in CALIBRATIONS:
        raise ValueError(f"backtest: calibrate={calibrate!r} is not one of {CALIBRATIONS} "
                         "or None.")
    if isinstance(prob, bool) or not isinstance(prob, numbers.Real):
        # before: prob="0.9" raised TypeError: '<' not supported between 'int' and 'str'
        raise ValueError(f"backtest: prob={prob!r} must be a number in (0, 1), e.g. "
                         "prob=0.9.")
    if not 0 < prob < 1:
        raise ValueError(f"backtest: prob={prob} must be in (0, 1).")
    cuts = _check_cuts(cuts, per_task)
    n = bootstrap_n(method, n)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"backtest: data must be a pandas DataFrame, got {type(data).__name__}.")
    # the tables' task column is named after by (as predict's, optimal's): refuse a by
    # column named as one of their own columns before any fit
    check_task_label(by, TABLE_COLUMNS + SUMMARY_COLUMNS, "backtest")
    # the single default step fits the rows it predicts: a row without a finite axis
    # value is left out of both (a Step's own rows with a missing axis value, e.g. an
    # anchor point, are kept at every cut)
    own_step = steps is None
    if steps is None:
        steps = [Step(law, data, y, x, loss, delta, space, dict(fit_options or {}))]
    steps = list(steps)
    _check_min_points(min_points, steps)
    _check_fit_options(steps, own_step)
    _check_sample_options(method, sample_options)
    no_lik = [s.loss for s in steps if _likelihood_for(s.loss) is None]
    if method != "bootstrap" and no_lik and "likelihood" not in (sample_options or {}):
        raise ValueError(f"backtest: method={method!r} samples the likelihood whose maximum is "
                         f"the point fit, and loss={no_lik[0]!r} has none; use "
                         "method='bootstrap', or loss='huber' or loss='squared' (likelihoods "
                         "'huber' and 'normal'), or name one in "
                         "sample_options={'likelihood': ...}.")
    _check_tempered_steps(steps, method, sample_options)
    cols = column_map(law, x)
    for name, df, need, step_y, step_cols in [("data", data, [axis, y, *cols.values()], y,
                                               cols)] + [
            (f"steps[{i}].data", s.data, [axis, s.y, *column_map(s.law, s.x).values()], s.y,
             column_map(s.law, s.x)) for i, s in enumerate(steps)]:
        miss = [c for c in need if c not in df.columns]
        if miss:
            mapped = (f" (the law reads input {axis!r} from column {cols[axis]!r}: pass "
                      f"axis={cols[axis]!r})" if axis in miss and cols.get(axis, axis) != axis
                      and cols[axis] in df.columns else did_you_mean(miss, df.columns))
            # what each missing column is (before: the names alone, so a typo in the axis
            # read as one in the data)
            roles = [", ".join([*(["the axis"] if c == axis else []),
                                *(["target y"] if c == step_y else []),
                                *(f"input {n!r}" for n, col in step_cols.items() if col == c)])
                     for c in dict.fromkeys(miss)]
            raise ValueError(f"backtest: {name} is missing column(s) {list(dict.fromkeys(miss))} "
                             f"({'; '.join(roles)}); it has {list(df.columns)}{mapped}.")
        unique_columns(df, [*need, *task_columns(by)], f"backtest: {name}: ")
        for c in dict.fromkeys(need):       # NaN rows are dropped below, with a warning
            try:
                numeric_dtype(df, c, f"backtest {name}")
            except ValueError as e:
                raise ValueError(f"backtest: {e}") from None
    for i, s in enumerate(steps):       # before: refused by jaxfit.bootstrap after a cut's fits
        miss = [c for c in (s.pinned, s.groups) if c is not None and c not in s.data.columns]
        if miss:
            raise ValueError(f"backtest: steps[{i}].data is missing column(s) {miss} (Step's "
                             f"pinned / groups); it has {list(s.data.columns)}"
                             f"{did_you_mean(miss, s.data.columns)}.")

    if calibrate == "ratio":
        _check_positive(axis, [("data", data)] + [(f"steps[{i}].data", s.data)
                                                  for i, s in enumerate(steps)],
                        "calibrate='ratio' scales each interval by 1 + log(axis / largest "
                        "fitted axis value)",
                        "give the scale itself (N, FLOPs, tokens; for a log column, "
                        "10 ** column), or calibrate='width' or calibrate='constant'")
    if steps[-1].space == "log":
        _check_positive(y, [("data", data)],
                        "the law is fitted and its intervals calibrated in log space "
                        "(space='log')",
                        "remove those rows, or use space='linear'")
    # The evaluation rows and their tasks.
    ev = data.assign(**{_TASK: task_labels(data, by)})
    ok = np.isfinite(ev[[axis, y, *cols.values()]].to_numpy(np.float64)).all(axis=1)
    if not ok.all():
        warnings.warn(f"backtest: {int((~ok).sum())} row(s) of data with NaN or infinite "
                      f"{axis!r}, {y!r} or inputs are left out (rows "
                      f"{list(data.index[~ok][:10])}); drop or fill them to silence this.",
                      FitWarning, stacklevel=2)
    ev = ev[ok]
    cut_values, tasks = _cut_table(pd.Series(ev[axis].to_numpy(np.float64),
                                             index=ev[_TASK].to_numpy()), per_task, cuts, 1)
    if not len(cut_values):
        raise ValueError(f"backtest: no cut: data has fewer than 2 distinct {axis!r} values.")
    if isinstance(cuts, int) and cuts > len(cut_values):
        # before: cuts=10 on data with 4 cuts ran those 4 without a word
        where = ("the task with the most has" if per_task else "data has")
        warnings.warn(f"backtest: cuts={cuts} asks for {cuts} cuts, but {where} only "
                      f"{len(cut_values)} distinct {axis!r} value(s) below its largest (each a "
                      f"cut), so {len(cut_values)} run; give cuts={len(cut_values)} or fewer, "
                      "or cuts=None (every value but the largest).", FitWarning, stacklevel=2)
    tpos = {t: j for j, t in enumerate(tasks)}
    sdata = []
    for i, s in enumerate(steps):
        d = s.data.assign(**{_TASK: task_labels(s.data, by, "data" if own_step
                                                else f"steps[{i}].data")})
        scols = [s.y, *column_map(s.law, s.x).values()]
        if own_step:
            # before: its NaN axis passed the anchor rule below, so a run without an axis
            # value (warned as "left out") was fitted at every cut, the smallest included
            scols.append(axis)
        d = d[np.isfinite(d[scols].to_numpy(np.float64)).all(axis=1) & d[_TASK].isin(tasks)]
        sdata.append(d)
    # the fits run with warn=False: rows that repeat another row exactly, said once here
    for i, (s, d) in enumerate(zip(steps, sdata)):
        vcols = [*column_map(s.law, s.x).values(), s.y]
        repeats, text = checks.repeated_rows(d[_TASK].map(tpos).to_numpy(),
                                             d[vcols].to_numpy(np.float64), tasks,
                                             [*task_columns(by), *vcols])
        if repeats:
            where = "data" if own_step else f"steps[{i}].data"
            warnings.warn(f"backtest: {where}: {text}", DuplicateWarning, stacklevel=2)

    records, fits_by_cut = [], {}
    few, empty = [], []                     # cuts with too few points / nothing above
    last_key, same = None, []
    K = len(cut_values)
    for k in range(K):
        cut_t = cut_values[k]
        fitted, fits, posts = None, [], []
        subsets, masks = [], []
        for s, d in zip(steps, sdata):
            c = cut_t[d[_TASK].map(tpos).to_numpy()]
            a = d[axis].to_numpy(np.float64)
            m = np.isnan(a) | (a <= c)
            sub = d[m]
            need = min_points if min_points is not None else len(s.law.param_names) + 1
            counts = sub.groupby(_TASK).size()
            good = set(counts.index[counts >= need])
            fitted = good if fitted is None else fitted & good
            subsets.append(sub)
            masks.append(m)
        fitted = [t for t in tasks if t in (fitted or set()) and np.isfinite(cut_t[tpos[t]])]
        if not fitted:
            few.append(float(np.nanmax(cut_t)))
            continue
        in_fit = ev[_TASK].isin(fitted).to_numpy()
        above = ev[axis].to_numpy(np.float64) > cut_t[ev[_TASK].map(tpos).to_numpy()]
        held = ev[in_fit & above]
        if not len(held):
            empty.append(float(np.nanmax(cut_t)))
            continue
        # a cut between the same two axis values as the previous one fits the same rows
        # and predicts the same rows: it would repeat that cut's fits and rows
        key = (tuple(fitted), (in_fit & above).tobytes(),
               tuple((m & d[_TASK].isin(fitted).to_numpy()).tobytes()
                     for m, d in zip(masks, sdata)))
        if key == last_key:
            same.append((float(np.nanmax(cut_t)), float(np.nanmax(cut_values[prev]))))
            continue
        last_key, prev = key, k
        for s, sub in zip(steps, subsets):
            sub = sub[sub[_TASK].isin(fitted)]
            opts = {"seed": seed, **dict(s.options)}
            res = point_fit(s.law, sub, y=s.y, by=_TASK, x=dict(s.x or {}), loss=s.loss,
                            delta=s.delta, space=s.space, warn=False, **opts)
            posts.append(_posterior(s, sub, res, method, n, seed, dict(sample_options or {})))
            fits.append(res)
        fits_by_cut[float(np.nanmax(cut_t))] = fits
        # each held-out row's task position in each step's fit, computed once
        rows = [res.tasks.get_indexer(held[_TASK]) for res in fits]
        converged = np.logical_and.reduce([np.asarray(res.status)[r] == Status.CONVERGED
                                           for res, r in zip(fits, rows)])
        identified = np.logical_and.reduce([np.asarray(res.identified, bool)[r]
                                            for res, r in zip(fits, rows)])
        xs = {name: held[c].to_numpy(np.float64) for name, c in cols.items()}
        point = _point(law, fits, rows, xs)
        a_held = held[axis].to_numpy(np.float64)
        # one call per cut; each row's noise is its own (`row_streams`), so the draws at
        # an axis value do not depend on the rows above it
        _, mean, pred = chain_draws(law, posts, held, x=dict(x or {}), seed=seed)
        # the intervals `Posterior.predict` gives (a few NaN draws left out of the bounds)
        iv = interval_frame(held.index, mean, pred, prob)
        lo, hi, mlo, mhi = (iv[c].to_numpy() for c in ("predictive_lower", "predictive_upper",
                                                       "credible_lower", "credible_upper"))
        nan_draws, n_draws = np.isnan(pred).sum(axis=1), pred.shape[1]
        cut_row = cut_t[held[_TASK].map(tpos).to_numpy()]
        top = pd.concat([sub[[_TASK, axis]] for sub in subsets]).groupby(_TASK)[axis].max()
        largest = held[_TASK].map(top).to_numpy(np.float64)
        labels = (held[by].to_numpy() if by is not None and not isinstance(by, (list, tuple))
                  else held[_TASK].to_numpy())
        records.append(pd.DataFrame({
            "task": labels, "cut": cut_row, "cut_rank": len(records) + 1, "axis": a_held,
            "ratio": a_held / largest, "actual": held[y].to_numpy(np.float64),
            "prediction": point, "raw_lower": lo, "raw_upper": hi,
            "mean_lower": mlo, "mean_upper": mhi, "converged": converged,
            "identified": identified, "row": held.index, "nan_draws": nan_draws}))
        if progress:
            print(f"backtest: cut {k + 1}/{K} ({axis} <= {np.nanmax(cut_t):.4g}): "
                  f"{len(fitted)} task(s), {len(held)} held-out row(s)", file=sys.stderr,
                  flush=True)
    if same:
        pairs = ", ".join(f"{a:.4g} (as {b:.4g})" for a, b in same[:5])
        warnings.warn(f"backtest: {len(same)} cut(s) fit and predict the same rows as the next "
                      f"larger cut, with no axis value between them, and are skipped: {pairs}. "
                      "Give cuts between distinct axis values (cuts=None uses each value).",
                      FitWarning, stacklevel=2)
    if not records:
        raise ValueError(_no_cut_message(ev[axis].to_numpy(np.float64), axis, few, empty,
                                         min_points, steps))
    rows = pd.concat(records, ignore_index=True)
    rows["raw_covered"] = ((rows["raw_lower"] <= rows["actual"])
                           & (rows["actual"] <= rows["raw_upper"]))
    out_space = steps[-1].space
    if calibrate is not None:
        rows = calibrate_intervals(rows, prob, calibrate, out_space, "task", warn=False)
        _warn_few_scores(rows, prob)
    else:
        rows = rows.assign(lower=rows["raw_lower"], upper=rows["raw_upper"], q=math.nan,
                           n_calibration=0)
    rows["covered"] = (rows["lower"] <= rows["actual"]) & (rows["actual"] <= rows["upper"])
    nan_draws = rows["nan_draws"].to_numpy()
    rows = rows[["task", *TABLE_COLUMNS]]
    options = dict(y=y, axis=axis, by=by, method=method, prob=prob,
                   calibrate=calibrate, space=out_space, n=n, per_task=per_task, seed=seed,
                   law=law.name, steps=len(steps))
    # the uncalibrated warning names the cuts with too few points itself
    said = _warn_uncalibrated(rows, calibrate, K, used=len(records),
                              few=_few_text(few, axis, min_points, steps))
    _warn_skipped_cuts(cuts, axis, [] if said else few, empty, min_points, steps)
    _warn_no_interval(rows, out_space)
    _warn_left_out_draws(rows, nan_draws, n_draws, prob)
    _warn_unconverged(rows)
    rows = rows.rename(columns={"task": task_label(by)})
    return BacktestResult(rows=rows, fits=fits_by_cut, options=options)
