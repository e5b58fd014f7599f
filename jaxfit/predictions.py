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

A predicted column never overwrites an input column: if the input already has a column of
that name, the prediction is written to ``<name>_pred`` (so ``jaxfit predict fit.json
runs.csv`` keeps the observed ``loss`` beside ``prediction``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from jaxfit.data import task_columns

__all__ = ["task_rows", "fan_out_index", "fan_out", "prediction_frame"]


def task_rows(tasks: pd.Index, by, df: pd.DataFrame) -> np.ndarray | None:
    """The task position of each row of ``df``, or None when rows do not name a task.

    Raises:
        ValueError: some rows name tasks that were not fitted.
    """
    by_cols = task_columns(by)
    if by_cols and all(c in df.columns for c in by_cols):
        # checked for one fitted task too: a row naming another task must not silently
        # take the fitted task's parameters
        keys = df[by_cols[0]] if len(by_cols) == 1 else pd.MultiIndex.from_frame(df[by_cols])
        idx = tasks.get_indexer(keys)
        if np.any(idx < 0):
            bad = list(pd.unique(np.asarray(keys, dtype=object)[idx < 0]))[:5]
            raise ValueError(f"predict: {int((idx < 0).sum())} rows name tasks that were not "
                             f"fitted ({by!r} = {bad}); fitted tasks: {list(tasks[:10])}.")
        return idx
    if len(tasks) == 1:
        return np.zeros(len(df), dtype=np.int64)
    return None


def fan_out_index(tasks: pd.Index, df: pd.DataFrame) -> pd.MultiIndex:
    """The ``(task, row)`` index of every task for every row of ``df`` (tasks outermost)."""
    T = len(tasks)
    labels = np.empty(T, dtype=object)
    labels[:] = list(tasks)
    return pd.MultiIndex.from_arrays(
        [np.repeat(labels, len(df)), np.tile(np.asarray(df.index), T)],
        names=[tasks.name or "task", df.index.name or "row"])


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
        reps = len(index) // max(len(df), 1)
        out = pd.DataFrame({c: np.tile(df[c].to_numpy(), reps) for c in df.columns},
                           index=index)
    else:
        out = df.copy()
        out.index = index
    for name, values in columns.items():
        key = name if name not in df.columns else f"{name}_pred"
        out[key] = np.asarray(values)
    return out
