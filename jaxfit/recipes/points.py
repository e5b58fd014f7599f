"""Ladder data helpers shared by the ladder, FLP and FLP-M recipes.

Selecting tasks and runs, the per-run points of each fit step (Bhagia et al. 2024, the
released ``olmo/scaling/scaling_laws`` code: the mean over the last checkpoints for step 1,
skipped and moving-averaged checkpoints for step 2), and fitted laws evaluated per task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jaxfit.law import Law
from jaxfit.predictions import law_values
from jaxfit.result import FitResult

__all__ = ["select", "select_tasks", "select_runs", "check_run_count", "run_task_rows",
           "plain_labels", "numeric_rows", "check_fraction", "tail_mean",
           "step2_points", "param_frame", "evaluate"]


def select(data: pd.DataFrame, values, column: str, recipe: str, what: str,
           fix: str = "") -> list:
    """``values`` (one or several) as a de-duplicated list, each checked to be in
    ``data[column]``; the error names them as ``what``, lists what is available and ends
    with ``fix`` (a sentence) when given."""
    values = [values] if isinstance(values, str) else list(dict.fromkeys(values))
    unknown = sorted(set(values) - set(data[column]))
    if unknown:
        available = sorted(data[column].dropna().unique())
        more = f", ... ({len(available)} in all)" if len(available) > 30 else ""
        raise ValueError(f"{recipe}: {what} {unknown} are not in data[{column!r}] "
                         f"(available: {available[:30]}{more})." + (f" {fix}" if fix else ""))
    return values


def select_tasks(data: pd.DataFrame, tasks, recipe: str) -> list:
    """``tasks`` as a de-duplicated list, each checked to be in ``data['task']``.

    The error says how to name them: the recipes' default is the OLMo ladder paper's 8
    tasks, which a user's table with its own task names does not have (before, the error
    listed those 8 as "not in data['task']" without saying that they were the default).
    """
    return select(data, tasks, "task", recipe, "tasks",
                  "Name the tasks to fit with tasks=[...] (default: the ladder paper's 8).")


def select_runs(data: pd.DataFrame, runs, role: str, recipe: str = "ladder",
                arg: str = "ladder_runs") -> list[str]:
    """``runs`` checked to be in ``data['run']``, or (None) the runs whose role is ``role``."""
    if runs is not None:
        return select(data, runs, "run", recipe, "runs")
    if "role" not in data.columns:
        raise ValueError(f"{recipe}: data has no 'role' column; pass the {role} runs "
                         f"explicitly ({arg}=[...], targets=[...]).")
    found = list(dict.fromkeys(data.loc[data["role"] == role, "run"]))
    if not found:
        # before: no target -> an empty prediction table (ladder) or "zero-size array to
        # reduction operation maximum which has no identity" (flp); no ladder run -> "need
        # at least 2 ladder runs, got []"
        roles = sorted(map(str, data["role"].dropna().unique()))
        raise ValueError(f"{recipe}: no run has role {role!r} in data['role'] (its roles: "
                         f"{roles}); label the {role} runs role={role!r} (e.g. "
                         f"data.assign(role=...)), or pass them by name ({arg}=[...], "
                         "targets=[...]).")
    return found


def check_run_count(runs: Sequence[str], law: Law, recipe: str, step: str,
                    kind: str = "ladder", other: str = "", minimum: int = 0) -> None:
    """ValueError unless there are at least as many runs as ``law``, fitted to one point
    per run, has parameters: the one rule of the ladder's first fit
    (`jaxfit.recipes.ladder.ladder`), FLP's and FLP-M's stage 1 and `flp_vs_ladder`'s
    ladder comparison, checked before any fit.

    Before, FLP and FLP-M had their own copy, "at least 3 sampling runs" whatever the
    law: FLP-M's mixture laws (4 to 7 parameters) passed it with 3 to 6 runs and were
    refused by the fit ("2 task(s) have fewer points than the law's 6 free parameters
    ...; fix some parameters with jaxfit.fix()"), naming the domains as tasks and options
    the recipe does not have.

    Args:
        runs: the runs fitted, one point each.
        law: the law fitted to them.
        recipe: the recipe, first in the message.
        step: the fit, e.g. ``"step 1 (two_step)"``.
        kind: what the runs are called, e.g. ``"sampling"``.
        other: another fix, appended to the message's (``", or ..."``).
        minimum: a floor on the count whatever the law (FLP's 3: a residual degree of
            freedom for its 2-parameter stage 1).
    """
    names = law.param_names
    need = max(len(names), minimum)
    if len(runs) >= need:
        return
    why = (f"so it needs at least {need} {kind} runs" if need == len(names) else
           f"and {recipe} needs at least {need} {kind} runs (a residual degree of freedom)")
    raise ValueError(f"{recipe}: {step} fits {len(names)} parameters {list(names)} to one "
                     f"point per {kind} run, {why}; got {len(runs)}: {list(runs)}. Add {kind} runs (more model sizes or "
                     f"token multiples, role='ladder'){other}.")


def run_task_rows(data: pd.DataFrame, runs: Sequence[str], tasks: Sequence[str],
                  recipe: str, what: str, arg: str = "ladder_runs") -> pd.DataFrame:
    """The rows of ``runs`` x ``tasks`` (`plain_labels`), after checking that every run
    has rows of every task: the one rule of the ladder's and FLP's (and FLP-M's) rows.

    Raises:
        ValueError: naming the count and the first pairs without rows, and ``arg`` (the
            argument naming the runs, ``ladder_runs`` or ``sampling_runs``) to check.
    """
    rows = plain_labels(data[data["run"].isin(runs) & data["task"].isin(tasks)])
    have = set(zip(rows["run"], rows["task"]))
    absent = [(r, t) for r in runs for t in tasks if (r, t) not in have]
    if absent:
        raise ValueError(f"{recipe}: {len(absent)} {what} run/task pairs have no rows, e.g. "
                         f"{absent[:5]}; check `{arg}`/`targets` and `tasks` against "
                         "data['run'] and data['task'].")
    return rows


def plain_labels(rows: pd.DataFrame, cols: Sequence[str] = ("task", "run")) -> pd.DataFrame:
    """``rows`` with its categorical ``cols`` as plain labels (a new frame; others as given).

    A categorical column keeps the categories of rows that were filtered out, and the
    fits' ``by="task"`` takes every category as a task: before, ``tasks=`` two of ten
    tasks of a categorical column (e.g. read from Parquet) failed with "10 task(s) [...]
    (by='task') have no points with positive weight", naming the tasks not asked for.
    """
    cat = [c for c in cols if c in rows and isinstance(rows[c].dtype, pd.CategoricalDtype)]
    return rows.assign(**{c: rows[c].astype(rows[c].cat.categories.dtype) for c in cat}) \
        if cat else rows


def numeric_rows(rows: pd.DataFrame, cols: Sequence[str], positive: Sequence[str],
                 recipe: str, what: str) -> pd.DataFrame:
    """``rows`` with ``cols`` as numbers (a copy; columns of numbers written as text, as
    ``pd.read_csv(dtype=str)`` or JSON give them, are converted), after checking that
    every value is a finite number and those of ``positive`` are > 0.

    Before, numbers as text passed the recipes' checks and failed later inside pandas
    ("TypeError: dtype 'str' does not support operation 'mean'"), naming no column.

    Raises:
        ValueError: naming the column, a value and its row (``rows``' index, the user's).
    """
    num = rows[list(cols)].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    text = num.isna() & rows[list(cols)].notna()
    if text.any(axis=None):
        col = text.any().idxmax()
        j = int(np.flatnonzero(text[col].to_numpy())[0])
        raise ValueError(f"{recipe}: {int(text.any(axis=1).sum())} {what} rows have non-numeric "
                         f"values; column {col!r} holds e.g. {rows[col].iloc[j]!r} at index "
                         f"{rows.index[[j]].tolist()[0]!r} (write 190M as 190e6).")
    bad = ~np.isfinite(num.to_numpy())
    if bad.any():
        # before: "...; drop them first.", naming neither the column nor a way to drop them
        # (the command line shows df.dropna(subset=[col]) as a --where filter)
        col = list(cols)[int(np.flatnonzero(bad.any(axis=0))[0])]
        # by position: num.loc[label, col] is a Series when the label repeats (pd.concat)
        j = int(np.flatnonzero(~np.isfinite(num[col].to_numpy()))[0])
        raise ValueError(f"{recipe}: {int(bad.any(axis=1).sum())} {what} rows have missing or "
                         f"infinite values in {list(cols)}, e.g. at index "
                         f"{list(rows.index[bad.any(axis=1)][:5])}; column {col!r} holds "
                         f"{num[col].iloc[j]:g} at index {rows.index[[j]].tolist()[0]!r}. "
                         f"Drop those rows first, e.g. df.dropna(subset=[{col!r}]).")
    for col in positive:
        low = (num[col] <= 0).to_numpy()
        if low.any():
            at = rows.index[low]
            j = int(np.flatnonzero(low)[0])
            raise ValueError(f"{recipe}: column {col!r} must be > 0, but {int(low.sum())} {what} "
                             f"rows are not, e.g. {num[col].iloc[j]:g} at index "
                             f"{list(at[:5])}; drop or correct them.")
    text_cols = [c for c in cols if not pd.api.types.is_numeric_dtype(rows[c])
                 or pd.api.types.is_bool_dtype(rows[c])]
    return rows.assign(**{c: num[c] for c in text_cols}) if text_cols else rows


def check_fraction(rows: pd.DataFrame, column: str, recipe: str, what: str) -> None:
    """ValueError unless every (finite) value of ``rows[column]`` is a fraction in [0, 1].

    The recipes read accuracy as a fraction (chance levels, thresholds and the sigmoid's
    bounds are fractions; tables report ``100 x`` it as points); accuracy in percent would
    otherwise give silently wrong predictions.
    """
    v = rows[column].to_numpy(np.float64)
    bad = (v < 0) | (v > 1)
    if bad.any():
        percent = 1 < np.nanmax(v) <= 100 and np.nanmin(v) >= 0
        fix = (f"it looks like percent; divide by 100, e.g. data.assign({column}="
               f"data[{column!r}] / 100)" if percent else "rescale it to [0, 1]")
        raise ValueError(f"{recipe}: data[{column!r}] must be a fraction in [0, 1], but "
                         f"{int(bad.sum())} {what} rows are outside it (e.g. "
                         f"{v[bad][0]:g} at index {list(rows.index[bad][:5])}); {fix}.")


def tail_mean(rows: pd.DataFrame, n: int, cols: Sequence[str]) -> pd.DataFrame:
    """Per (task, run): last N and tokens, and the mean of ``cols`` over the last n rows."""
    g = rows.groupby(["task", "run"], sort=False)
    last = g[["N", "tokens"] + (["flops_per_token"] if "flops_per_token" in rows else [])].last()
    means = rows.groupby(["task", "run"], sort=False).tail(n).groupby(
        ["task", "run"], sort=False)[list(cols)].mean()
    return last.join(means).reset_index()


def step2_points(rows: pd.DataFrame, skip_frac: float, moving_avg: int) -> pd.DataFrame:
    """The released ``get_step2_data_by_name``: skip, then a trailing moving average."""
    g = rows.groupby(["task", "run"], sort=False)
    pos = g.cumcount().to_numpy()
    size = g["tokens"].transform("size").to_numpy()
    if skip_frac >= 1:                                  # upstream keeps the last point only
        keep = pos == size - 1
    else:                                               # upstream: int(np.ceil(skip * len))
        keep = pos >= np.ceil(skip_frac * size).astype(np.int64)
    kept = rows[keep]
    kept_g = kept.groupby(["task", "run"], sort=False)
    smooth = kept_g[["task_loss", "accuracy"]].transform(
        lambda s: s.rolling(moving_avg, min_periods=1).mean())
    return pd.DataFrame({"task": kept["task"].to_numpy(), "run": kept["run"].to_numpy(),
                         "N": kept["N"].to_numpy(), "tokens": kept["tokens"].to_numpy(),
                         "L": smooth["task_loss"].to_numpy(),
                         "acc": smooth["accuracy"].to_numpy()})


def param_frame(res: FitResult, order: Sequence[str]) -> pd.DataFrame:
    """The fit's per-task table (`FitResult.to_frame`) with tasks in ``order``."""
    out = res.to_frame().reindex(list(order))
    out.index.name = "task"
    return out


def evaluate(law: Law, values: pd.DataFrame, tasks: Sequence[str], x: Mapping[str, Any]):
    """``law`` with each row's task parameters at the rows' inputs (float64, one jit:
    `jaxfit.predictions.law_values`)."""
    return law_values(law, {n: values.loc[list(tasks), n].to_numpy(np.float64)
                            for n in law.param_names}, x)
