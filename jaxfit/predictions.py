"""The one shape of every prediction: the input rows, their task, and the predicted columns.

`FitResult.predict`, `Posterior.predict` and `jaxfit.predict_chain` return a DataFrame that
keeps every column of the input rows and appends the predicted columns
(``prediction``; or ``mean``, ``median``, ``sd``, ``credible_*``, ``predictive_*``):

- when each row names its task (the result has one task, or the rows hold the ``by``
  column(s)), one output row per input row, indexed like the input;
- otherwise every task for every row: the index is ``(task, row)`` (level names: the
  ``by`` column when there is one, else ``"task"``, whose labels are tuples of the ``by``
  values for several ``by`` columns; the input's index name, or ``"row"``), tasks
  outermost. (`jaxfit predict` writes one column per ``by`` column instead.)

A row names its task by value in the ``by`` column(s); a value that equals no fitted label
matches the one with the same text (the integer 7 and the string "7"), unless two fitted
labels share that text: then, as for a task that was not fitted, a ValueError names the
column, the values and their types (`task_positions`; `jaxfit.suggest` matches its
candidates' and targets' tasks the same way).

A predicted column never overwrites an input column: if the input already has a column of
that name, the prediction is written to ``<name>_pred`` (so ``jaxfit predict fit.json
runs.csv`` keeps the observed ``loss`` beside ``prediction``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import numpy as np
import pandas as pd

from jaxfit.data import task_columns, unique_columns

__all__ = ["match_tasks", "task_positions", "task_rows", "fan_out_index", "fan_out",
           "prediction_frame", "law_values"]


@functools.partial(jax.jit, static_argnums=0)
def _law_at(law, params, x):
    return law(params, x)


def law_values(law, params: Mapping, x: Mapping) -> np.ndarray:
    """``law(params, x)`` in float64 as one compiled program (JAX's own cache, keyed by
    the law and the shapes), whatever the global x64 setting.

    A point prediction called op by op dispatches each of the law's ~20 operations and
    compiles it at its first shape: in a new process 0.36 s for Chinchilla against 0.07 s
    for this one program (session 16, 2-core CPU; the command line pays it on every
    `predict` and every saved fit's law check, `jaxfit.io`).

    Args:
        law: the law.
        params: parameter name -> values broadcastable with the inputs.
        x: input name -> values.

    Returns:
        The predictions as a numpy array (the broadcast shape of params and inputs).
    """
    with jax.enable_x64(True):
        # device_put, not jnp.asarray: no conversion program per shape
        p = jax.device_put({n: np.asarray(v, dtype=np.float64) for n, v in params.items()})
        xs = jax.device_put({n: np.asarray(v, dtype=np.float64) for n, v in x.items()})
        return np.asarray(_law_at(law, p, xs))


def _types(values) -> str:
    """The Python type names of ``values`` (numpy scalars as their Python type; a tuple
    label as the tuple of its parts' types), e.g. ``"int, str"``."""
    def name(v):
        if isinstance(v, tuple):
            return "(" + ", ".join(map(name, v)) + ")"
        return type(v.item() if isinstance(v, np.generic) else v).__name__

    return ", ".join(dict.fromkeys(map(name, values)))


def _text(labels) -> list:
    """Labels as text (each part of a tuple label)."""
    return [tuple(map(str, t)) if isinstance(t, tuple) else str(t) for t in labels]


def _keys(df: pd.DataFrame, by):
    cols = task_columns(by)
    return df[cols[0]] if len(cols) == 1 else pd.MultiIndex.from_frame(df[cols])


def match_tasks(tasks: pd.Index, df: pd.DataFrame, by, where: str = "predict") -> np.ndarray:
    """The position in ``tasks`` of the task each row of ``df`` names in its ``by``
    column(s) (which it must hold), -1 where it names none.

    A row matches a fitted label equal to its value; failing that, one whose text is its
    value's text (the integer 7 and the string "7": a fit on a CSV's integer task column
    and rows typed on a command line), provided no two fitted labels share a text.

    Raises:
        ValueError: a task column appears more than once (`jaxfit.data.unique_columns`;
            ``where`` prefixes the message). Before, pandas raised "Buffer has wrong
            number of dimensions (expected 1, got 2)".
    """
    unique_columns(df, task_columns(by), f"{where}: ")
    keys = _keys(df, by)
    idx = tasks.get_indexer(keys)
    miss = idx < 0
    fitted = _text(tasks)
    if miss.any() and len(set(fitted)) == len(fitted):
        text = (pd.Index(fitted) if not isinstance(tasks, pd.MultiIndex)
                else pd.MultiIndex.from_tuples(fitted))
        rows = _text(np.asarray(keys, dtype=object)[miss])
        idx[miss] = text.get_indexer(rows if len(task_columns(by)) == 1
                                     else pd.MultiIndex.from_tuples(rows))
    return idx


def task_positions(tasks: pd.Index, df: pd.DataFrame, by, where: str = "predict",
                   what: str = "") -> np.ndarray:
    """`match_tasks`, every row of which must name a fitted task.

    Raises:
        ValueError: a task column appears more than once (`match_tasks`), or rows name
            tasks that match none (or only by an ambiguous text); the
            message names the column(s), the values and their types. ``where`` prefixes
            it; ``what`` names the rows (e.g. ``"candidate "``).
    """
    idx = match_tasks(tasks, df, by, where)
    miss = idx < 0
    if not miss.any():
        return idx
    empty = miss & df[task_columns(by)].isna().any(axis=1).to_numpy()
    if empty.any():
        # before: "rows name tasks that were not fitted ('task' = [nan], type float)"
        from jaxfit.data import row_labels

        raise ValueError(f"{where}: {int(empty.sum())} {what}rows have no task: {by!r} is "
                         f"missing at rows {row_labels(df, empty)}; fill them with fitted "
                         f"tasks ({list(tasks[:10])}).")
    fitted = _text(tasks)
    bad = list(pd.unique(np.asarray(_keys(df, by), dtype=object)[miss]))[:5]
    shown = list(tasks[:10])
    msg = (f"{where}: {int(miss.sum())} {what}rows name tasks that were not fitted "
           f"({by!r} = {bad}, type {_types(bad)}); fitted tasks: {shown} (type "
           f"{_types(shown)})")
    if len(set(fitted)) < len(fitted):
        clash = [t for t, x in zip(tasks, fitted) if fitted.count(x) > 1][:4]
        msg += (f"; they are not matched by their text either, because fitted tasks "
                f"{clash} share one. Fix: give {by!r} the fitted labels' type")
    raise ValueError(msg + ".")


def task_rows(tasks: pd.Index, by, df: pd.DataFrame,
              where: str = "predict") -> np.ndarray | None:
    """The task position of each row of ``df`` (`task_positions`), or None when rows do
    not name a task.

    Raises:
        ValueError: some rows name tasks that were not fitted, or (several tasks) hold
            some of the ``by`` columns but not all.
    """
    by_cols = task_columns(by)
    if by_cols and all(c in df.columns for c in by_cols):
        # checked for one fitted task too: a row naming another task must not silently
        # take the fitted task's parameters
        return task_positions(tasks, df, by, where=where)
    if len(tasks) == 1:
        return np.zeros(len(df), dtype=np.int64)
    # before: every task for every row, the rows' own column ignored (a row of family 'a'
    # was predicted with family 'b's parameters too)
    partial_task_columns(df, by, f"{where}: the rows", "predict every task at every row")
    return None


def partial_task_columns(df: pd.DataFrame, by, rows: str, none: str) -> None:
    """ValueError when ``df`` holds some of the ``by`` columns but not all, so its rows
    name no task (``rows``: who holds them, ``none``: what rows without any do)."""
    by_cols = task_columns(by)
    have = [c for c in by_cols if c in df.columns]
    if have and len(have) < len(by_cols):
        raise ValueError(f"{rows} hold {have} but not "
                         f"{[c for c in by_cols if c not in df.columns]} of the fit's task "
                         f"columns {by_cols}; give all of them to name each row's task, or "
                         f"none to {none}.")


def fan_out_index(tasks: pd.Index, df: pd.DataFrame) -> pd.MultiIndex:
    """The ``(task, row)`` index of every task for every row of ``df`` (tasks outermost).

    The levels are named after the tasks (``by``; "task") and ``df``'s index ("row"). An
    index named as the tasks (``df.set_index(by)``) gives a row level named "row": before,
    both levels were named ``by``, and ``reset_index()`` raised "cannot insert ..., already
    exists"."""
    T = len(tasks)
    labels = np.empty(T, dtype=object)
    labels[:] = list(tasks)
    task = tasks.name or "task"
    row = df.index.name if df.index.name not in (None, task) else "row"
    if row == task:                          # tasks named "row"
        row = "input_row"
    return pd.MultiIndex.from_arrays(
        [np.repeat(labels, len(df)), np.tile(np.asarray(df.index), T)], names=[task, row])


def fan_out(tasks: pd.Index, df: pd.DataFrame, rows: np.ndarray | None,
            inputs: Mapping[str, np.ndarray]):
    """``(rows, inputs, index)`` of a prediction: unchanged when each row of ``df`` names its
    task (``rows`` given), else every task at every row (tasks outermost)."""
    if rows is not None:
        return rows, inputs, df.index
    T = len(tasks)
    return (np.repeat(np.arange(T), len(df)), {n: np.tile(v, T) for n, v in inputs.items()},
            fan_out_index(tasks, df))


def prediction_frame(df: pd.DataFrame, index: pd.Index,
                     columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Input rows (repeated per task when ``index`` fans out) plus predicted ``columns``.

    Args:
        df: the input rows (not modified).
        index: ``df.index``, or a `fan_out_index` of ``df``.
        columns: name -> values, one per output row.
    """
    if isinstance(index, pd.MultiIndex) and len(index) != len(df):
        # by position, not column by column: keeps each column's dtype (categorical,
        # nullable Int64 with pd.NA) and columns that share a name
        reps = len(index) // max(len(df), 1)
        out = df.iloc[np.tile(np.arange(len(df)), reps)]
        out.index = index
    else:
        out = df.copy()
        out.index = index
    for name, values in columns.items():
        out[column_key(name, out.columns)] = np.asarray(values)
    return out


def column_key(name: str, columns: pd.Index):
    """The key under which a result column ``name`` is added to a frame of ``columns``
    (`free_name`): for MultiIndex columns (``("loss", "mean")``) the full-length tuple
    ``(name, "", ...)``. Before, the bare name: pandas' Pandas4Warning "Setting a new
    column on a DataFrame with a MultiIndex using a key that is not a full-length tuple is
    deprecated and will raise in a future version", on every predict and residuals."""
    if isinstance(columns, pd.MultiIndex):
        top = free_name(name, columns.get_level_values(0))
        return (top,) + ("",) * (columns.nlevels - 1)
    return free_name(name, columns)


def free_name(name: str, taken) -> str:
    """``name``, or where the input already has it ``name_pred`` (then ``name_pred_2``,
    ...): a prediction never replaces a column of the user's rows (before: an input with
    both ``prediction`` and ``prediction_pred``, e.g. a predict output predicted again,
    lost its ``prediction_pred``)."""
    key, i = name, 1
    while key in taken:
        key = f"{name}_pred" + (f"_{i}" if i > 1 else "")
        i += 1
    return key
