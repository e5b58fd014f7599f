"""`FitResult`: what `jaxfit.fit` returns, with tidy DataFrames and predictions."""

from __future__ import annotations

import dataclasses
import functools
import warnings
from statistics import NormalDist
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.data import task_at, task_columns
from jaxfit.inference.status import Status, reasons
from jaxfit.law import Law, fixed_text

__all__ = ["FitResult", "wald_bounds", "fixed_rows", "first_tasks"]


def fixed_rows(fixed, tasks: pd.Index, names, columns, value_columns) -> pd.DataFrame:
    """Summary rows of the parameters held by `jaxfit.fix`, as `FitResult.summary` and
    `jaxfit.Posterior.summary` list them.

    Args:
        fixed: `Law.fixed` (name -> value).
        tasks: the tasks to list them for.
        names: index level names: the task level(s), then ``"param"``.
        columns: the summary's columns (``kind`` among them).
        value_columns: the columns that get the fixed value (``estimate``; ``mean`` and
            ``median``).

    Returns:
        One row per (parameter, task), parameter-major: the value in ``value_columns``,
        ``kind`` ``"fixed"`` and NaN in the other columns (not fitted: no standard error,
        interval or diagnostics).
    """
    keys = [task_key(tasks, t) for t in tasks]
    index = pd.MultiIndex.from_tuples([(*k, p) for p in fixed for k in keys], names=names)
    out = pd.DataFrame({c: np.full(len(index), np.nan) for c in columns}, index=index)
    values = np.repeat(np.asarray([float(v) for v in fixed.values()], np.float64), len(keys))
    for c in value_columns:
        out[c] = values
    out["kind"] = "fixed"
    return out


def task_key(tasks: pd.Index, task) -> tuple:
    """``task`` (a label of ``tasks``) as the tuple of its values per task level: the label
    itself for several ``by`` columns (a MultiIndex), else ``(task,)``, also where the one
    ``by`` column holds tuples (before: such a label was unpacked as if it were several
    columns' values, and `FitResult.summary` raised "Length of names must match number
    of levels in MultiIndex")."""
    return tuple(task) if isinstance(tasks, pd.MultiIndex) else (task,)


def task_position(tasks: pd.Index, task, what: str) -> int:
    """Position of ``task`` in ``tasks`` (None: the only task), for ``task=`` arguments.

    Raises:
        ValueError: naming the value and the tasks there are, when ``task`` is not one of
            them (pandas' bare ``KeyError: 'c'`` before), is only part of a label of several
            ``by`` columns, or is None with several tasks.
    """
    shown = list(tasks[:10]) + (["..."] if len(tasks) > 10 else [])
    if task is None:
        if len(tasks) != 1:
            raise ValueError(f"this {what} has {len(tasks)} tasks; name one with task=, "
                             f"one of {shown}.")
        return 0
    try:
        pos = tasks.get_loc(task)
    except (KeyError, TypeError, pd.errors.InvalidIndexError):
        pos = None
    if isinstance(pos, (int, np.integer)):     # not a slice or mask: part of a label
        return int(pos)
    part = (f" (a task of several by columns {list(tasks.names)} is named by all of "
            f"them, e.g. task={task_at(tasks, 0)!r})" if isinstance(tasks, pd.MultiIndex) else "")
    raise ValueError(f"task={task!r} is not a task of this {what}{part}; its tasks: {shown}.")


def shown_tasks(n_tasks: int, max_tasks) -> int:
    """How many of ``n_tasks`` a ``report(max_tasks=...)`` shows in full: ``max_tasks``, an
    integer >= 0, or None for all. Before, ``max_tasks=-1`` showed all but the last task
    and said "... T + 1 more task(s)"; None raised a TypeError."""
    from jaxfit.checks import integer

    integer("max_tasks", max_tasks, 0, allow_none=True,
            why="the tasks shown in full; None shows every task")
    return n_tasks if max_tasks is None else min(int(max_tasks), n_tasks)


def task_rows(summary: pd.DataFrame, task) -> pd.DataFrame:
    """One task's rows of a (task levels..., param) summary, indexed by param.

    ``summary.loc[task]`` on a summary of several ``by`` columns whose rows are not sorted
    by task (tasks in the order of a ``by`` column's categories, say) emits pandas'
    PerformanceWarning ("indexing past lexsort depth"); ``xs`` over the task levels does
    not.
    """
    key = task if summary.index.nlevels > 2 else (task,)     # task levels, then param
    return summary.xs(key, level=list(range(len(key))))


def first_tasks(summary: pd.DataFrame, tasks: pd.Index, n: int = 10) -> pd.DataFrame:
    """The rows of a (task levels..., param) summary that belong to the first ``n`` tasks
    (the notebook views). ``summary.loc[list(tasks[:n])]`` raised pandas' AssertionError
    "Length of new_levels (3) must be <= self.nlevels (2)" for tasks of several ``by``
    columns."""
    return summary[summary.index.droplevel("param").isin(tasks[:n])]


def check_residual_rows(result, df: pd.DataFrame) -> str:
    """The target column of ``result`` (a `FitResult` or `jaxfit.Posterior`), after checking
    that ``df`` can give residuals: it holds the target (numeric, once), the law's inputs
    and, for several tasks, the task column(s). Raises ValueError naming the column and
    the fix, prefixed ``residuals:``."""
    from jaxfit.checks import prediction_inputs
    from jaxfit.data import did_you_mean, numeric_dtype, unique_columns

    y = result.options.get("y", "loss")
    if y not in df.columns:
        raise ValueError(f"residuals: df has no target column {y!r} (the fit's y); "
                         f"its columns are {list(df.columns)[:12]}"
                         f"{did_you_mean([y], df.columns)}.")
    by_cols = task_columns(result.options.get("by"))
    if len(result.tasks) > 1 and not all(c in df.columns for c in by_cols):
        missing = [c for c in by_cols if c not in df.columns]
        raise ValueError(f"residuals: this fit has {len(result.tasks)} tasks; df needs "
                         f"the task column(s) {by_cols}{did_you_mean(missing, df.columns)}.")
    prediction_inputs(result.law, df, result.options.get("x"), where="residuals")
    unique_columns(df, [y], "residuals: ")
    try:
        numeric_dtype(df, y, "target y")
    except ValueError as e:
        raise ValueError(f"residuals: {e}") from None
    return y


def no_residual_why(obs: np.ndarray, pred: np.ndarray, log: bool) -> str:
    """Why rows with observations ``obs`` and predictions ``pred`` have no residual: each
    cause they have, joined by "; or " (`with_residuals` and `jaxfit.plot.plot_residuals`
    say it alike).

    Args:
        obs: the observed values of the rows with no residual (finite).
        pred: their predictions.
        log: whether residuals are of logs (the fit's ``space="log"``).

    Returns:
        The reason, e.g. ``"the prediction is not finite"``.
    """
    obs, pred = np.asarray(obs, np.float64), np.asarray(pred, np.float64)
    # each cause the rows have (before, in log space: "<= 0" also for a prediction that
    # is NaN, e.g. a law's log of a negative number)
    causes = []
    if (~np.isfinite(pred)).any():
        causes.append("the prediction is not finite")
    if log and ((obs <= 0) | (pred <= 0)).any():
        causes.append("the observed or predicted value is <= 0, which has no log (the "
                      "fit's space='log')")
    return "; or ".join(causes) or "the prediction is not finite"


def with_residuals(df: pd.DataFrame, out: pd.DataFrame, y: str, log: bool) -> pd.DataFrame:
    """``out`` (a prediction frame of ``df``'s rows, its ``prediction`` column added by
    `jaxfit.predictions.prediction_frame`) with ``residual``: observed minus predicted, of
    logs where ``log``. Warns (`FitWarning`) about rows with no residual (a value <= 0 in
    log space, a prediction that is not finite); they are NaN."""
    from jaxfit.predictions import column_key

    key = column_key("prediction", df.columns)         # the column predict added
    obs = df[y].to_numpy(dtype=np.float64)
    pred = out[key].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = np.log(obs) - np.log(pred) if log else obs - pred
    bad = ~np.isfinite(resid) & np.isfinite(obs)
    if bad.any():
        from jaxfit.data import row_labels
        from jaxfit.warnings import FitWarning

        warnings.warn(f"residuals: {int(bad.sum())} row(s) of column {y!r} have no "
                      f"residual (rows {row_labels(df, bad)}): "
                      f"{no_residual_why(obs[bad], pred[bad], log)}; they are NaN.",
                      FitWarning, stacklevel=3)
    out[column_key("residual", out.columns)] = resid
    return out


def wald_bounds(law: Law, values: np.ndarray, se: np.ndarray, z: float = 1.959963984540054):
    """Approximate Wald bounds ``(lower, upper)`` [T, k] of every task's parameters.

    With ``T`` the parameter's bijection from the real line onto its constraint (`Law`'s
    ``transform``), the delta method gives the unconstrained standard error
    ``se_u = se / |T'(u)|`` at ``u = T^-1(estimate)``, and the bounds are ``T(u -+ z se_u)``:
    for a positive parameter ``estimate * exp(-+ z se / estimate)`` (the log-scale
    interval), for an unconstrained one ``estimate -+ z se``. Unlike ``estimate -+ z se``
    they never cross the constraint (a scale A with se larger than A/2 would otherwise get
    a negative lower bound). NaN where ``se`` is. ``values``, ``se``: [T, k].
    """
    values, se = np.asarray(values, np.float64), np.asarray(se, np.float64)
    lower, upper = np.empty_like(values), np.empty_like(values)
    with jax.enable_x64(True):
        for j, name in enumerate(law.param_names):          # one call per parameter
            t = law.params[name].transform
            v = jnp.asarray(values[:, j])
            u = t.inv(v)
            half = z * jnp.asarray(se[:, j]) / jnp.exp(t.log_abs_det_jacobian(u, v))
            lo, hi = np.asarray(t(u - half)), np.asarray(t(u + half))
            lower[:, j], upper[:, j] = np.minimum(lo, hi), np.maximum(lo, hi)
    return lower, upper


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """Per-task best fit of a law, from `jaxfit.fit`.

    Attributes:
        law: the fitted `Law`.
        tasks: task labels (pandas Index; one unnamed task is labelled 0).
        values: [T, k] best constrained parameters, columns in ``law.param_names``.
        objective: [T] best objective value.
        status: [T] `Status` codes (0 = converged).
        steps: [T] solver iterations of the winning restart.
        grad_norm: [T] largest |gradient| component (unconstrained space) at the winner.
        at_bound: [T, k] True where a parameter ended within 1e-6 (relative) of a constraint
            bound and beyond its start range on that side.
        identified: [T] False when near-best restarts disagree or the design check
            found a problem (see `jaxfit.fit`, ``design``).
        restarts: optional dict with every refined restart's ``values`` [T, R, k],
            ``objective`` [T, R] and ``status`` [T, R] (``jaxfit.fit(...,
            keep_restarts=True)``; kept by `jaxfit.io.save` / `load`).
        options: the fit's settings (y, by, x mapping, loss, delta, space, ...).
        dof: [T] residual degrees of freedom: points with weight > 0 minus free
            parameters (shared parameters not counted; None for results saved without).
        design: per task a tuple of `jaxfit.inference.design.Issue` (empty: the design
            identifies the law), or None.
        data: the padded batch the fit saw (``x``: input name -> [T, P], ``y``, ``w``
            [T, P], weight 0 on padding), for `covariance`, `statistics` and `summary`;
            None for results loaded from a file.

    In a notebook a FitResult shows its estimates with approximate standard errors;
    ``print(res.report())`` gives the full text report.
    """

    law: Law
    tasks: pd.Index
    values: np.ndarray
    objective: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    grad_norm: np.ndarray
    at_bound: np.ndarray
    identified: np.ndarray
    restarts: dict | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    dof: np.ndarray | None = None
    design: tuple | None = None
    data: dict | None = None

    @property
    def params(self) -> pd.DataFrame:
        """Best parameters, one row per task."""
        return pd.DataFrame(self.values, index=self.tasks, columns=list(self.law.param_names))

    @property
    def converged(self) -> np.ndarray:
        return self.status == Status.CONVERGED

    def to_frame(self) -> pd.DataFrame:
        """Parameters plus objective, status, steps, gradient norm and diagnostics
        (``identified``, ``at_bound``, ``dof``, and ``design``: the design problems found,
        e.g. ``"dof=0"``, ``"D: 1 level(s) for B,beta,E"``, ``"singular: A,alpha"``)."""
        out = self.params
        out["objective"] = self.objective
        out["status"] = [Status(int(s)).name.lower() for s in self.status]
        out["steps"] = self.steps
        out["grad_norm"] = self.grad_norm
        out["identified"] = self.identified
        names = np.array(self.law.param_names)
        out["at_bound"] = [",".join(names[row]) for row in self.at_bound]
        if self.dof is not None:
            out["dof"] = self.dof
        if self.design is not None:
            out["design"] = ["; ".join(map(str, issues)) for issues in self.design]
        return out

    def param_dict(self, task=None) -> dict[str, float]:
        """One task's parameters as a dict (the only task when ``task`` is None)."""
        i = task_position(self.tasks, task, "fit")
        return dict(zip(self.law.param_names, map(float, self.values[i])))

    def warn_unconverged(self, tasks: np.ndarray | None = None, where: str = "predict",
                         stacklevel: int = 3) -> bool:
        """Warn (`ConvergenceWarning`) when any of ``tasks`` (positions; default all) did
        not converge: numbers computed from such a task come from its last iterate, not an
        optimum, and are flagged where they are used, not only at fit time. Returns True
        when it warned."""
        from jaxfit.warnings import ConvergenceWarning

        idx = np.arange(len(self.tasks)) if tasks is None else np.unique(np.asarray(tasks))
        bad = idx[np.asarray(self.status)[idx] != Status.CONVERGED]
        if not bad.size:
            return False
        why = reasons(np.asarray(self.status)[bad])
        warnings.warn(f"{where}: {bad.size} task(s) {list(self.tasks[bad][:10])} of this fit did "
                      f"not converge, so their numbers come from the last iterate, not an "
                      f"optimum ({why}). See FitResult.status.", ConvergenceWarning,
                      stacklevel=stacklevel)
        return True

    def predict(self, df: pd.DataFrame, warn: bool = True) -> pd.DataFrame:
        """Predict the law at the rows of ``df`` (inputs mapped as in the fit).

        Args:
            df: rows with the law's inputs (and the task column(s) for several tasks).
            warn: warn (`ConvergenceWarning`) when a predicted task did not converge.

        Returns:
            ``df``'s columns plus ``prediction`` (`jaxfit.predictions`: one row per input
            row when the fit had one task or ``df`` holds the ``by`` column(s), each row
            using its own task's parameters; otherwise every task for every row, indexed
            by (task, row)). An input column named ``prediction`` is kept; the prediction
            then goes to ``prediction_pred`` (``prediction_pred_2`` if that is taken too).

        Example:
            >>> import jaxfit as jf, pandas as pd
            >>> df = jf.datasets.load("chinchilla")
            >>> res = jf.fit(jf.models.chinchilla(), df[~df.epoch_excluded_outlier],
            ...              init="grid")
            >>> res.predict(pd.DataFrame({"N": [70e9], "D": [1.4e12]})).round(3)
                          N             D  prediction
            0  7.000000e+10  1.400000e+12       1.973
        """
        from jaxfit.checks import prediction_inputs
        from jaxfit.predictions import fan_out, law_values, prediction_frame, task_rows

        inputs = prediction_inputs(self.law, df, self.options.get("x"))
        rows, inputs, index = fan_out(self.tasks, df,
                                      task_rows(self.tasks, self.options.get("by"), df), inputs)
        yhat = law_values(self.law, {n: self.values[rows, i]
                                     for i, n in enumerate(self.law.param_names)}, inputs)
        if warn:
            self.warn_unconverged(rows)
        return prediction_frame(df, index, {"prediction": np.broadcast_to(yhat, len(rows))})

    def residuals(self, df: pd.DataFrame) -> pd.DataFrame:
        """Residuals of the fit at the rows of ``df`` (e.g. the data it was fitted to).

        Returns:
            ``df``'s columns plus ``prediction`` and ``residual`` (observed minus predicted,
            in the fit's space: ``log y - log prediction`` for ``space="log"``, a relative
            error; ``y - prediction`` for ``"linear"``), one row per input row (``df`` must
            name its task when the fit has several).
        """
        from jaxfit.predictions import task_rows

        y = check_residual_rows(self, df)
        # the rows' tasks first, so that an unknown task is named as residuals' (before:
        # "predict: 1 rows name tasks that were not fitted")
        rows = task_rows(self.tasks, self.options.get("by"), df, where="residuals")
        out = self.predict(df, warn=False)
        self.warn_unconverged(rows, where="residuals")
        return with_residuals(df, out, y, self.options.get("space", "log") == "log")

    # ---------------------------------------------------------------- summaries, display
    @property
    def n_points(self) -> np.ndarray | None:
        """[T] points with weight > 0 per task (None for results saved without data)."""
        if self.data is None:
            return None
        return (np.asarray(self.data["w"]) > 0).sum(axis=1)

    def _held(self) -> np.ndarray:
        """[T, k] parameters held fixed in the covariance: at a bound. (Shared parameters
        are not held: their covariance is the joint objective's sandwich.)"""
        return np.asarray(self.at_bound, bool)

    @functools.cached_property
    def _cov_cache(self) -> dict:
        return {}

    def covariance(self) -> np.ndarray:
        """[T, k, k] approximate covariance of each task's parameters (constrained units).

        The sandwich ``H^-1 B H^-1`` of the objective's Hessian at the optimum
        (`jaxfit.inference.stderr`, where the noise scale's role and the smoothing of the
        Huber/absolute loss's Hessian are derived). Approximate: linearised at the
        optimum; use `jaxfit.bootstrap` or `jaxfit.sample` when the objective is far from
        quadratic over the uncertainty (Chinchilla's B, for one). Parameters shared across
        tasks (`jaxfit.share`) get the joint objective's sandwich over all the tasks
        (`jaxfit.inference.stderr.shared_covariance`): their block is the same in every
        task, and each task's other parameters' covariance includes their uncertainty.
        NaN for results saved without their data, for parameters at a bound, and for
        tasks with no residual degrees of freedom (with shared parameters: for every task
        when the joint Hessian is not positive definite or the joint fit has none).
        """
        if "cov" not in self._cov_cache:
            T, k = self.values.shape
            if self.data is None:
                self._cov_cache.update(cov=np.full((T, k, k), np.nan), r=None)
            else:
                from jaxfit.inference.stderr import covariance

                o = self.options
                cov, r, h = covariance(self.law, self.values, self.data["x"], self.data["y"],
                                       self.data["w"], loss=o.get("loss", "huber"),
                                       delta=o.get("delta", 1e-3), space=o.get("space", "log"),
                                       hold=self._held())
                self._cov_cache.update(cov=cov, r=r, bandwidth=h)
        return self._cov_cache["cov"]

    def stderr(self) -> pd.DataFrame:
        """Approximate standard errors, one row per task (see `covariance`)."""
        se = np.sqrt(np.diagonal(self.covariance(), axis1=1, axis2=2))
        return pd.DataFrame(se, index=self.tasks, columns=list(self.law.param_names))

    def correlation(self, task=None) -> pd.DataFrame:
        """One task's approximate parameter correlation matrix (see `covariance`)."""
        i = self._task_pos(task)
        c = self.covariance()[i]
        sd = np.sqrt(np.diag(c))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = c / np.outer(sd, sd)
        names = list(self.law.param_names)
        return pd.DataFrame(corr, index=pd.Index(names, name="param"), columns=names)

    def _task_pos(self, task) -> int:
        return task_position(self.tasks, task, "fit")

    def statistics(self) -> pd.DataFrame:
        """Per task: points ``n``, residual ``dof``, ``objective``, the noise ``scale`` and
        maximised ``loglik`` of the loss's likelihood (`jaxfit.inference.stderr.
        log_likelihood`: Normal for squared, Laplace for absolute, the Huber density of
        `jaxfit.sample` for huber, in the residual space), ``aic`` = 2 (k + 1) - 2 loglik
        and ``bic`` = (k + 1) log n - 2 loglik (k free parameters plus the scale; a
        parameter shared by the T tasks, `jaxfit.share`, counts 1 / T in each task's k, so
        the tasks' ``aic`` add up to the joint fit's and compare with an unshared fit's),
        ``r2`` (1 - residual / total sum of squares, in the residual space; NaN where
        the targets do not vary: one point, or all equal), ``status``
        and ``warnings`` (design problems, bounds, identification).

        Likelihood columns are NaN for results saved without their data; they compare
        laws fitted to the same points in the same space.
        """
        from jaxfit.inference.stderr import log_likelihood

        T = len(self.tasks)
        out = pd.DataFrame(index=self.tasks)
        n = self.n_points
        out["n"] = n if n is not None else np.full(T, np.nan)
        out["dof"] = self.dof if self.dof is not None else np.full(T, np.nan)
        out["objective"] = self.objective
        o = self.options
        # each shared parameter is estimated once from all T tasks: 1 / T of it per task
        # (before: left out of every task, so summed AICs favoured sharing by 2 each)
        k_free = len(self.law.param_names) - len(self.law.shared) + len(self.law.shared) / T
        if self.data is not None and o.get("loss", "huber") in ("huber", "squared",
                                                                  "absolute"):
            self.covariance()
            r = self._cov_cache["r"]
            w = np.asarray(self.data["w"])
            ll, scale = log_likelihood(r, w, o.get("loss", "huber"), o.get("delta", 1e-3))
            out["scale"] = scale
            out["loglik"] = ll
            out["aic"] = 2 * (k_free + 1) - 2 * ll
            out["bic"] = (k_free + 1) * np.log(n) - 2 * ll
            y = np.asarray(self.data["y"], dtype=np.float64)
            obs = np.log(y) if o.get("space", "log") == "log" else y
            ok = w > 0
            mean = np.where(ok, obs, 0).sum(1) / np.maximum(ok.sum(1), 1)
            ss_tot = np.where(ok, (obs - mean[:, None]) ** 2, 0).sum(1)
            ss_res = np.where(ok, r ** 2, 0).sum(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                # undefined where the targets do not vary (one point, or all equal): NaN
                # (before: -inf for a one-point task, "the worst possible fit")
                out["r2"] = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.nan)
        else:
            for c in ("scale", "loglik", "aic", "bic", "r2"):
                out[c] = np.nan
        out["status"] = [Status(int(s)).name.lower() for s in self.status]
        out["warnings"] = self._task_warnings()
        return out

    def _task_warnings(self) -> list[str]:
        names = np.array(self.law.param_names)
        out = []
        for i in range(len(self.tasks)):
            parts = []
            if self.design is not None and self.design[i]:
                parts.append("; ".join(map(str, self.design[i])))
            if self.at_bound[i].any():
                parts.append(f"at bound: {','.join(names[self.at_bound[i]])}")
            if not self.identified[i] and not (self.design is not None and self.design[i]):
                parts.append("poorly identified (restarts disagree)")
            if self.status[i] != Status.CONVERGED:
                parts.append(Status(int(self.status[i])).message)
            out.append("; ".join(parts))
        return out

    def summary(self, prob: float = 0.95, warn: bool = True) -> pd.DataFrame:
        """Estimates with approximate standard errors and correlations, per task and param.

        Args:
            prob: probability of the Wald intervals (default 0.95, the convention of
                statsmodels and lmfit's reports; `jaxfit.Posterior.summary` defaults to
                0.9, the level of the library's predictive intervals: pass ``prob=0.9``
                to compare the two). The level is in ``.attrs["prob"]``.
            warn: warn (`ConvergenceWarning`) when a task did not converge: its rows hold
                its last iterate, and standard errors that assume an optimum (its status
                is in `statistics` and `to_frame`, not in this table).

        Returns:
            A DataFrame indexed by (task, param): ``estimate``, ``se`` (approximate, from
            the objective's Hessian at the optimum in constrained units, `covariance`),
            ``lower``/``upper`` (approximate ``prob`` Wald intervals, `wald_bounds`: on each
            parameter's unconstrained scale, log for a positive one, mapped back, so they
            stay inside its constraint; estimate -+ 1.96 se for an unconstrained one),
            ``kind`` (``free``; ``shared``: one value for all tasks, its se from the
            joint objective's sandwich over the tasks, `jaxfit.inference.stderr`;
            ``at_bound``: no se, and the other parameters' se are conditional on its
            value;
            ``fixed``: held by `jaxfit.fix`, not fitted: its value as the estimate, the other
            columns NaN, `fixed_rows`) and ``corr_<param>`` (the correlations). Per-task
            statistics (n, dof, AIC/BIC, status, warnings) are in `statistics`; `report`
            prints both.
        """
        names = list(self.law.param_names)
        from jaxfit.posterior import _check_prob

        _check_prob(prob)
        if warn:
            self.warn_unconverged(where="summary")
        cov = self.covariance()
        se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        shared = np.isin(names, self.law.shared)
        z = NormalDist().inv_cdf((1 + prob) / 2)
        lower, upper = wald_bounds(self.law, self.values, se, z)
        frames = []
        for i, task in enumerate(self.tasks):
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = cov[i] / np.outer(se[i], se[i])
            kind = np.where(self.at_bound[i], "at_bound", np.where(shared, "shared", "free"))
            f = pd.DataFrame({"estimate": self.values[i], "se": se[i], "lower": lower[i],
                              "upper": upper[i], "kind": kind}, index=names)
            for j, n in enumerate(names):
                f[f"corr_{n}"] = corr[:, j]
            key = task_key(self.tasks, task)
            levels = (list(self.tasks.names) if isinstance(self.tasks, pd.MultiIndex)
                      else [self.tasks.name or "task"])
            f.index = pd.MultiIndex.from_tuples([(*key, p) for p in f.index],
                                                names=levels + ["param"])
            frames.append(f)
            if self.law.fixed:       # each task's fixed rows after its fitted ones
                frames.append(fixed_rows(self.law.fixed, self.tasks[i:i + 1], f.index.names,
                                         f.columns, ["estimate"]))
        out = pd.concat(frames)
        out.attrs["prob"] = prob
        return out

    def report(self, max_tasks: int | None = 10) -> str:
        """A plain-text report: the law, options, per-task statistics, estimates with
        approximate standard errors and correlations, and warnings (like lmfit's
        ``fit_report``). At most ``max_tasks`` tasks are shown in full (None: all)."""
        o = self.options
        T = len(self.tasks)
        shown = shown_tasks(T, max_tasks)
        lines = [f"[[Fit]] {self.law.name}: {self.law.formula}".rstrip(),
                 f"    loss={o.get('loss', '?')} (delta={o.get('delta', '?')}), "
                 f"space={o.get('space', '?')}, restarts={o.get('restarts', '?')}, "
                 f"method={o.get('method', '?')}; y={o.get('y', '?')!r}"
                 + (f", by={o.get('by')!r}" if o.get("by") else ""),
                 f"    {T} task(s), {int(self.converged.sum())} converged"]
        if self.law.fixed:
            lines.append("    fixed: " + fixed_text(self.law.fixed))
        stats = self.statistics()
        summ = self.summary(warn=False)           # each task's status is in its header
        fmt = "{:.6g}".format
        with pd.option_context("display.width", 120, "display.max_columns", 40,
                               "display.max_colwidth", 80):
            for i, task in enumerate(self.tasks[:shown]):
                s = stats.iloc[i]
                lines.append(f"[[Task {task}]] status={s['status']}, n={s['n']:g}, "
                             f"dof={s['dof']:g}, objective={fmt(s['objective'])}, "
                             f"scale={fmt(s['scale'])}, loglik={fmt(s['loglik'])}, "
                             f"AIC={fmt(s['aic'])}, BIC={fmt(s['bic'])}, R2={fmt(s['r2'])}")
                p = task_rows(summ, task)
                lines.append("  " + p[["estimate", "se", "kind"]].to_string(
                    float_format=fmt).replace("\n", "\n  "))
                corr = p[[c for c in p.columns if c.startswith("corr_")]]
                pairs = [(a, b[5:], corr.loc[a, b]) for j, a in enumerate(corr.index)
                         for b in corr.columns[j + 1:] if np.isfinite(corr.loc[a, b])
                         and abs(corr.loc[a, b]) >= 0.5]
                if pairs:
                    lines.append("  correlations (|r| >= 0.5): " + ", ".join(
                        f"{a}-{b} {c:+.3f}" for a, b, c in pairs))
                nan_se = list(p.index[p["kind"].isin(["free", "shared"]) & p["se"].isna()])
                if nan_se:
                    lines.append(f"  no standard errors ({', '.join(nan_se)}): "
                                 + self._no_se_reason(s))
                if s["warnings"]:
                    lines.append(f"  warnings: {s['warnings']}")
        if T > shown:
            lines.append(f"... {T - shown} more task(s): see summary() and statistics()")
        lines.append("Standard errors are approximate: the objective's Hessian at the optimum "
                     "(jaxfit.inference.stderr); jaxfit.bootstrap gives intervals that follow "
                     "the objective's shape.")
        return "\n".join(lines)

    def _no_se_reason(self, stats_row) -> str:
        """Why `covariance` is NaN for a task (`jaxfit.inference.stderr.covariance`)."""
        if self.data is None:
            return "the result was loaded without its data."
        if not np.isfinite(stats_row["objective"]):
            # (before: "the objective's Hessian at the optimum is not positive definite
            # ... (a flat direction ...)" for a task whose objective was never finite)
            return (f"the objective is not finite at the task's parameters (status "
                    f"{stats_row['status']}: there is no optimum to take a Hessian at).")
        if stats_row["status"] != "converged" and not self.law.shared:
            return (f"the task did not converge (status {stats_row['status']}), and the "
                    "objective's Hessian at its last iterate is not positive definite.")
        if self.law.shared:
            return (f"the joint fit's Hessian (over all {len(self.tasks)} tasks, which share "
                    f"{list(self.law.shared)}) is not positive definite to working precision, "
                    "or the tasks together have no more points than free parameters; "
                    "jaxfit.sample gives intervals.")
        if not stats_row["dof"] > 0:
            return "no residual degrees of freedom (as many points as free parameters)."
        return ("the objective's Hessian at the optimum is not positive definite to working "
                "precision (a flat direction, or parameters on very different scales); "
                "jaxfit.bootstrap or jaxfit.sample give intervals.")

    def __repr__(self) -> str:
        names = self.law.param_names
        conv = int(self.converged.sum())
        head = (f"FitResult({self.law.name}, {len(self.tasks)} task(s), {conv} converged, "
                f"loss={self.options.get('loss', '?')}, space={self.options.get('space', '?')}")
        if len(self.tasks) == 1:
            vals = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, self.values[0]))
            fixed = "".join(f", {n}={v:.4g} (fixed)" for n, v in self.law.fixed.items())
            text = f"{head}; {vals}{fixed}; objective={self.objective[0]:.4g})"
        else:
            text = f"{head}; params: {', '.join(names)})"
        return text if len(text) < 900 else text[:895] + " ...)"

    def _repr_html_(self) -> str:
        import html

        stats = self.statistics() if self.data is not None else None
        head = html.escape(f"FitResult: {self.law.name}  {self.law.formula}".strip())
        parts = [f"<p><b>{head}</b><br>{len(self.tasks)} task(s), "
                 f"{int(self.converged.sum())} converged; "
                 f"loss={html.escape(str(self.options.get('loss')))}, "
                 f"space={html.escape(str(self.options.get('space')))}</p>"]
        summ = self.summary(warn=False)[["estimate", "se", "kind"]]   # converged count above
        if len(self.tasks) > 10:
            summ = first_tasks(summ, self.tasks)
        parts.append(summ.to_html(float_format="{:.6g}".format))
        if stats is not None:
            parts.append(stats.head(10).to_html(float_format="{:.6g}".format))
        return "".join(parts)
