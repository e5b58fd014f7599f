"""DataFrame in, validated padded `Batch` out: the only place the fitters meet pandas.

Every check runs before anything is traced, and each failure is a ValueError that names
the column, how many rows and which, and the fix. The user's DataFrame is only read.
"""

from __future__ import annotations

import decimal
import numbers
import re
import reprlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from jaxfit.law import Law

__all__ = ["Batch", "make_batch", "bucket", "column_map", "task_columns", "check_law"]

_SHOW = 10  # rows listed in an error message


class Batch(NamedTuple):
    """Tasks x points arrays, padded to a bucketed length with zero weights.

    Each task's real points come first; the padding after them repeats the task's first
    point of positive weight (inputs and target) at weight 0, so a law is only ever
    evaluated at inputs the data already contain (a law undefined at some fill value such
    as 1.0 cannot poison a fit). The objectives also never evaluate a law at a zero-weight
    point (`jaxfit.inference.objective.safe_inputs`).

    Attributes:
        x: input name -> [T, P] float64 (padding: a copy of a real point of the task).
        y: [T, P] float64 targets (padding: the same copy).
        w: [T, P] float64 weights, 0 on padding.
        tasks: the task labels (a pandas Index; a single task is labelled 0).
        n_points: [T] real points per task.
        rows: [T, P] the DataFrame index position of each point (-1 on padding).
    """

    x: dict
    y: np.ndarray
    w: np.ndarray
    tasks: pd.Index
    n_points: np.ndarray
    rows: np.ndarray


def bucket(n: int, minimum: int = 8) -> int:
    """Smallest of 8, 12, 16, 24, 32, 48, ... that is >= n, so similar shapes share a compile."""
    size = minimum
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


def task_bucket(n_tasks: int) -> int:
    """Padded task count: exact up to 4, then 6, 8, 12, 16, 24, ... (see `bucket`), so
    that fits with similar task counts reuse one compiled program."""
    return n_tasks if n_tasks <= 4 else bucket(n_tasks, minimum=4)


def check_law(law) -> None:
    """TypeError unless ``law`` is a `jaxfit.Law` (a name such as "chinchilla" is not)."""
    if not isinstance(law, Law):
        shown = f" {law!r}" if isinstance(law, str) else ""
        raise TypeError(f"law must be a jaxfit.Law, e.g. jaxfit.models.chinchilla(), got "
                        f"{type(law).__name__}{shown}; a law's name becomes a Law with "
                        "jaxfit.io.get_law(name).")


def column_map(law: Law, x: Mapping[str, str] | None) -> dict[str, str]:
    """Law input name -> DataFrame column (default: the same name).

    Raises:
        ValueError: ``x`` names an input the law does not have, or makes two inputs read
            one column (`_distinct_columns`).
    """
    check_law(law)
    x = dict(x or {})
    unknown = set(x) - set(law.inputs)
    if unknown:
        raise ValueError(f"x maps {sorted(unknown)}, which are not inputs of law {law.name!r}; "
                         f"its inputs are {list(law.inputs)}{_map_fix(law, x, unknown)}.")
    cols = {name: x.get(name, name) for name in law.inputs}
    _distinct_columns(law, x, cols)
    return cols


def _map_fix(law: Law, x: Mapping[str, str], unknown) -> str:
    """The fix of `column_map`'s unknown keys of ``x``: its keys are the law's inputs and
    its values the data's columns, e.g. ``x={'N': 'C'}`` for ``x={'C': 'C'}`` of a law of
    N, ``x={'N': 'params'}`` for ``x={'params': 'N'}`` (the pair reversed), ``x={'D':
    'tokens'}`` for ``x={'d': 'tokens'}`` (the input in other letter case); "" when every
    input is mapped already. Before, the message named no fix."""
    key = sorted(unknown)[0]
    column = x[key]
    free = [n for n in law.inputs if n not in x]
    same = [n for n in free if str(n).casefold() == str(key).casefold()]
    if same:                            # x={'d': 'tokens'} for the input D
        return f": x maps law inputs to columns, e.g. x={{{same[0]!r}: {column!r}}}"
    if column in law.inputs and column not in x:
        return f": x maps law inputs to columns, e.g. x={{{column!r}: {key!r}}}"
    if not free:
        return ""
    return f": x maps law inputs to columns, e.g. x={{{free[0]!r}: {column!r}}}"


def _listed(names: Sequence) -> str:
    """``'N' and 'D'``, ``'a', 'b' and 'c'``."""
    shown = [repr(n) for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _distinct_columns(law: Law, x: Mapping, cols: Mapping) -> None:
    """ValueError when two inputs of ``law`` would read one column (``cols``, `column_map`'s
    mapping; ``x``, the mapping given): ``x={'N': 'params', 'D': 'params'}``, or ``x={'N':
    'D'}`` for a law whose input D reads its own column D. The law would then get the same
    values for both, almost always a typo (before: fitted without a word); a law meant to
    take one quantity twice gets it from a copy of the column under a second name.
    """
    readers: dict = {}
    for name, col in cols.items():
        try:
            readers.setdefault(col, []).append(name)
        except TypeError:          # an unhashable "column": the column checks name it
            return
    for col, names in readers.items():
        if len(names) < 2:
            continue
        mapped = [n for n in names if n in x]
        own = [n for n in names if n not in x]    # at most one: it reads the column `n`
        if own:
            what = (f"x maps input{'s' if len(mapped) > 1 else ''} {_listed(mapped)} of law "
                    f"{law.name!r} to column {col!r}, which its input {own[0]!r} reads too "
                    "(an input not in x reads the column of its own name)")
            example = {n: "<column>" for n in mapped}
        else:
            what = (f"x maps inputs {_listed(mapped)} of law {law.name!r} to the same "
                    f"column {col!r}")
            example = {mapped[0]: col, **{n: "<column>" for n in mapped[1:]}}
        raise ValueError(f"{what}, so they would read the same values: almost always a typo. "
                         f"Map each input to its own column, e.g. x={example!r}; for a law "
                         "that takes one quantity twice, copy the column under a second "
                         "name and map one of the inputs to the copy.")


def _input_not_target(law: Law, x: Mapping | None, cols: Mapping, y) -> None:
    """ValueError when an input of ``law`` would read the target column ``y`` (``cols``,
    `column_map`'s mapping): ``x={'N': 'loss'}, y='loss'`` fitted the law to predict the
    target from itself, without a word (a typo, like two inputs reading one column).
    """
    same = [n for n, c in cols.items() if _same_label(c, y)]
    if not same:
        return
    name = same[0]
    how = (f"x maps input {name!r} of law {law.name!r} to column {y!r}" if name in (x or {})
           else f"input {name!r} of law {law.name!r} reads the column of its own name")
    raise ValueError(f"{how}, which is also the target y={y!r}: the law would predict the "
                     f"target from itself (almost always a typo). Map {name!r} to its own "
                     f"column, e.g. x={{{name!r}: '<column>'}}, or pass the target column "
                     "as y=.")


def _same_label(a, b) -> bool:
    """``a == b`` for column labels, False where the comparison is not a plain bool (an
    unhashable or array-like label: the column checks name it)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def task_columns(by) -> list:
    """The task column names of ``by``: None -> [], a list or tuple -> its names, any
    other label (a string, or the integer columns of a CSV read with header=None) -> it."""
    if by is None:
        return []
    return list(by) if isinstance(by, (list, tuple, pd.Index, np.ndarray)) else [by]


def by_option(by):
    """``by`` as a result's ``options`` record it: None, one column label, or a list or
    tuple of them, as given; an array, Index or Series of names as a list of Python values.
    (Before, ``by=df.columns[:2]`` was recorded as the Index, which `jaxfit.io.save`
    wrote as its text "Index(['task', 'seed'], dtype='str')": the loaded fit had one task
    column of that name, and predicted every task at every row.)"""
    if isinstance(by, (np.ndarray, pd.Index, pd.Series)):
        return by.tolist()
    return by


def task_label(by):
    """The name of the task column of the library's tidy frames (`jaxfit.predictions`,
    `jaxfit.suggest`, `jaxfit.optimal`): the ``by`` column when there is one, else
    ``"task"`` (no ``by``, or several ``by`` columns: the labels are then tuples)."""
    cols = task_columns(by)
    return cols[0] if len(cols) == 1 else "task"


def task_at(tasks: pd.Index, i: int):
    """Task ``i``'s label as Python values, for messages: ``tasks[i]`` is a numpy scalar
    (``np.int64(3)``, ``np.True_``; a tuple of them for several ``by`` columns), whose
    ``repr`` a message showed as "e.g. task np.int64(3)"."""
    return tasks[i:i + 1].tolist()[0]


def check_task_label(by, columns, where: str) -> None:
    """Refuse a task column (`task_label`) named as one of a result frame's own
    ``columns``: the frame would lose its task labels or hold two columns of one name.

    Raises:
        ValueError: naming the column and the fix.
    """
    name = task_label(by)
    if name in columns:
        raise ValueError(f"{where}: the fit's by column {name!r} has the name of a column of "
                         f"{where}'s result ({sorted(columns)}), so its tables could not hold "
                         f"both. Fix: rename the by column (e.g. df.rename(columns="
                         f"{{{name!r}: 'task'}})) and fit again.")


def row_labels(df: pd.DataFrame, mask: np.ndarray) -> str:
    labels = list(df.index[mask][:_SHOW])
    more = "" if mask.sum() <= _SHOW else f" (first {_SHOW} shown)"
    return f"{labels}{more}"


def _is_number(v) -> bool:
    """A finite real number (a Python, numpy or Decimal one), or text that reads as one
    (``"1.5e9"``)."""
    if isinstance(v, str):
        try:
            return bool(np.isfinite(float(v)))
        except ValueError:
            return False
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, decimal.Decimal)):
        return False          # Decimal: what SQL NUMERIC columns read as (not numbers.Real)
    return bool(np.isfinite(float(v)))


def _not_numbers(df: pd.DataFrame, s: pd.Series) -> str:
    """Where an object or text column holds missing (None, NaN, pd.NA) or non-numeric
    entries (``"oops"`` in a CSV column of numbers)."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return ""
    bad = np.array([not _is_number(v) for v in s.to_numpy()], dtype=bool)
    if not bad.any():
        return ""
    return (f" ({bad.sum()} missing, non-finite or non-numeric entries at rows "
            f"{row_labels(df, bad)}, e.g. {s.to_numpy()[bad][0]!r}; drop or fill them)")


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")


def _comma_hint(s: pd.Series, expr: str) -> str:
    """The fix for a text column of numbers written with commas ("1,960,668,711": thousands
    separators; "2,38": a decimal comma), or "" when its entries are something else;
    ``expr`` is how the fix names the values (e.g. ``df['N']``)."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return ""
    bad = [v for v in s.to_numpy() if not _is_number(v)]
    if not bad or not all(isinstance(v, str) for v in bad):
        return ""
    bad = [v.strip() for v in bad]
    thousands = all(_THOUSANDS.fullmatch(v) for v in bad)
    decimal = all(_DECIMAL_COMMA.fullmatch(v) for v in bad)
    fix_t = (f"pd.to_numeric({expr}.str.replace(',', '')), or read the file with "
             "pd.read_csv(path, thousands=',')")
    fix_d = (f"pd.to_numeric({expr}.str.replace(',', '.')), or read the file with "
             "pd.read_csv(path, decimal=',')")
    if thousands and not decimal:
        return (f": its entries use ',' as a thousands separator (e.g. {bad[0]!r}); convert "
                f"it with {fix_t}.")
    if decimal and not thousands:
        return (f": its entries use ',' as the decimal mark (e.g. {bad[0]!r}); convert it "
                f"with {fix_d}.")
    if decimal and thousands:
        return (f": its entries hold a ',' (e.g. {bad[0]!r}), a thousands separator or a "
                f"decimal mark; convert it with {fix_t} (thousands) or {fix_d} (decimal).")
    return ""


def numeric_dtype(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    """``df[col]`` if its dtype holds real numbers (not complex, bool, text or object);
    else a ValueError naming the column, its ``role``, the bad entries and the fix."""
    return real_dtype(df, df[col], f"column {col!r} ({role})", f"df[{col!r}]",
                      " or map another column")


def real_dtype(df: pd.DataFrame, s: pd.Series, what: str, expr: str,
               other: str = "") -> pd.Series:
    """``s`` (values of ``df``'s rows) if its dtype holds real numbers; else a ValueError
    saying ``what`` has the wrong dtype and the fix on ``expr`` (``other``: another way
    out, e.g. " or map another column")."""
    if pd.api.types.is_complex_dtype(s):
        sep = "," if other else ""
        raise ValueError(f"{what} has complex dtype {s.dtype}; laws take real numbers: pass "
                         f"{expr}.to_numpy().real if the imaginary parts are zero{sep}{other}.")
    if pd.api.types.is_bool_dtype(s):
        # pd.to_numeric keeps True/False as bool: that fix would be refused again
        raise ValueError(f"{what} has dtype {s.dtype}, not numbers; convert it with "
                         f"{expr}.astype(float) (True -> 1.0, False -> 0.0){other}.")
    if not pd.api.types.is_numeric_dtype(s):
        hint = _comma_hint(s, expr)
        if hint:
            raise ValueError(f"{what} has dtype {s.dtype}, not numbers{hint}")
        raise ValueError(f"{what} has dtype {s.dtype}, not numbers; convert it with "
                         f"pd.to_numeric({expr}){other}{_not_numbers(df, s)}.")
    return s


def numeric_values(df: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """``df[col]`` as finite float64 values (`numeric_dtype`, then no NaN or infinity)."""
    s = numeric_dtype(df, col, role)
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"column {col!r} ({role}) has {bad.sum()} NaN or infinite values at rows "
            f"{row_labels(df, bad)}; drop or fill them first, e.g. df.dropna(subset=[{col!r}]).")
    return values


def _positive(df: pd.DataFrame, col: str, values: np.ndarray, why: str, fix: str):
    bad = values <= 0
    if bad.any():
        raise ValueError(
            f"column {col!r} has {bad.sum()} non-positive values at rows {row_labels(df, bad)} "
            f"(e.g. {values[bad][0]:g}); {why}, so every value must be > 0: {fix}.")


def check_input_domain(df: pd.DataFrame, law: Law, name: str, col, values: np.ndarray,
                       verb: str = "fit") -> None:
    """Raise when input ``name`` (column ``col`` of ``df``, as finite ``values``) is not
    above its law's bound (`jaxfit.law.Law.input_bounds`: 0 for a positive input, or the
    law's ``input_above``). The one rule of the data a law is fitted to (`make_batch`,
    ``verb="fit"``) and of the inputs it predicts at
    (`jaxfit.checks.prediction_inputs`, ``verb="predict"``); ``verb`` sets only the fix.

    Raises:
        ValueError: naming the column, the input, the count, the rows, a value, why the
            law needs it (log or domain) and the fix.
    """
    lo = law.input_bounds.get(name)
    if lo is None:
        return
    bad = ~(values > lo)
    if not bad.any():
        return
    why = (f"takes log({name})" if lo == 0 and name in law.positive_inputs
           else f"is defined only at {name} > {lo:g}")
    fix = (f"predict only at {name} > {lo:g}" if verb == "predict" else
           f"every value must be > {lo:g}: remove those rows (the law is not defined there), "
           "or check the column's units")
    raise ValueError(
        f"column {col!r} (input {name!r}) has {bad.sum()} values <= {lo:g} at rows "
        f"{row_labels(df, bad)} (e.g. {values[bad][0]:g}); law {law.name!r} {why}, so "
        f"{fix}.")


def did_you_mean(missing: Sequence, columns) -> str:
    """`` (the data's column 'tokens' is close to 'tokns')`` for missing names near a column."""
    names = [str(c) for c in columns]
    spaced = [(c, m) for m in missing for c in names if c != str(m) and c.strip() == str(m)]
    if spaced:       # a header written "N, D, loss": the names keep the spaces
        pairs = ", ".join(f"{c!r} is {m!r} with spaces" for c, m in spaced)
        return (f" (the data's column {pairs}: strip the names, df.columns = "
                "df.columns.str.strip())")

    def near(m) -> str:
        c = close_column(m, names)
        if c is None:
            return ""
        if c.casefold() == str(m).casefold():   # "Loss" or "n": difflib sees no likeness
            return f"{c!r} is {m!r} in other letter case"
        return f"{c!r} is close to {m!r}"

    pairs = [p for p in map(near, missing) if p]
    return f" (the data's column {', '.join(pairs)})" if pairs else ""


def close_column(name, columns) -> str | None:
    """The column of ``columns`` that ``name`` most likely means (the same name with
    spaces or in other letter case, else difflib's closest at 0.6), or None."""
    import difflib

    names = [str(c) for c in columns]
    same = [c for c in names if c != str(name) and (c.strip() == str(name)
                                                   or c.casefold() == str(name).casefold())]
    if same:
        return same[0]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return close[0] if close else None


def map_example(law: Law, cols: Mapping[str, str], y: str, missing: Sequence,
                columns) -> str:
    """The example of a missing-column error: ``x={'C': 'compute'}, y='loss'`` with the
    law's own first missing input and the data's column closest to it ('<column>' when
    none is close), and ``y=`` only when the target is missing. Before, it was always
    ``x={'N': 'params'}, y='loss'``, also for a law whose input is C."""
    parts = []
    inputs = [n for n in law.inputs if cols[n] in missing]
    if inputs:
        n = inputs[0]
        parts.append(f"x={{{n!r}: {close_column(cols[n], columns) or '<column>'!r}}}")
    if y in missing:
        parts.append(f"y={close_column(y, columns) or '<column>'!r}")
    return (f"Rename them or map them, e.g. {', '.join(parts)}." if parts
            else "Rename them or pass the names of the data's columns.")


def unique_columns(df: pd.DataFrame, columns, where: str = "") -> None:
    """ValueError when one of ``columns`` names two or more columns of ``df`` (``df[c]``
    would be a DataFrame, not one column): a duplicated name, or the top level of
    MultiIndex columns (``df.groupby(...).agg({"loss": ["mean", "std"]})``); ``where``
    prefixes the message."""
    if isinstance(df.columns, pd.MultiIndex):
        part = [c for c in dict.fromkeys(columns)
                if not isinstance(c, tuple) or len(c) < df.columns.nlevels]
        part = [c for c in part if isinstance(df[c], pd.DataFrame)]
        if part:
            c = part[0]
            under = [k for k in df.columns if k[:len(c) if isinstance(c, tuple) else 1]
                     == (c if isinstance(c, tuple) else (c,))]
            raise ValueError(
                f"{where}column {c!r} is a level of the data's MultiIndex columns, above "
                f"{len(under)} column(s) ({under[:4]}); name one in full, e.g. {under[0]!r}, "
                "or flatten the columns first, e.g. df.columns = ['_'.join(map(str, c))"
                ".strip('_') for c in df.columns].")
    dup = [c for c in dict.fromkeys(columns) if (df.columns == c).sum() > 1]
    if dup:
        raise ValueError(f"{where}column {dup[0]!r} appears {(df.columns == dup[0]).sum()} "
                         "times in the data (duplicate names); drop or rename the duplicates, "
                         "e.g. df.loc[:, ~df.columns.duplicated()].")


def _unhashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return True
    return False


def _check_hashable(df: pd.DataFrame, c) -> None:
    """ValueError when task column ``c`` holds values that cannot label a task (lists,
    dicts, arrays: unhashable). Before, pandas' groupby raised a bare "TypeError:
    unhashable type: 'list'" naming no column."""
    s = df[c]
    if s.dtype != object:
        return
    bad = np.fromiter((_unhashable(v) for v in s.to_numpy()), dtype=bool, count=len(s))
    if bad.any():
        v = s.to_numpy()[bad][0]
        fix = "map(tuple)" if isinstance(v, (list, np.ndarray)) else "astype(str)"
        raise ValueError(
            f"column {c!r} (task column, by) holds {bad.sum()} unhashable values "
            f"({type(v).__name__}) at rows {row_labels(df, bad)}, e.g. {v!r}; a task label must "
            f"be a string, number or tuple. Convert them first, e.g. "
            f"df[{c!r}] = df[{c!r}].{fix}.")


def _used(tasks: pd.Index) -> pd.Index:
    """The task labels without the categories no task holds: a categorical column's
    unused categories stay out of the result's task index (and of a saved file's
    ``task_types``) as well as out of its tasks."""
    if isinstance(tasks, pd.CategoricalIndex):
        return tasks.remove_unused_categories()
    return tasks


def _weights_column(df: pd.DataFrame, weights) -> bool:
    """Whether ``weights`` names a column of ``df`` (rather than giving one weight per
    row): any string, or another label the data's columns hold, as ``y``, ``by`` and ``x``
    may be (an integer column of a CSV read with header=None, a tuple of MultiIndex
    columns). Before, only a string was read as a column: ``weights=3`` was refused as an
    array of shape (), and ``weights=('w', 'mean')`` raised numpy's "could not convert
    string to float: 'w'"."""
    if isinstance(weights, str):
        return True
    if isinstance(weights, bool) or not isinstance(weights, (numbers.Number, tuple)):
        return False            # True is no label: ``True in df.columns`` finds column 1
    try:                        # (a tuple holding a list is not hashable)
        return bool(weights in df.columns)
    except (TypeError, ValueError):
        return False


def _weight_values(df: pd.DataFrame, weights) -> np.ndarray:
    """``weights`` (not a column) as float64, or a ValueError naming what it got."""
    try:
        return np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        # before: numpy's "could not convert string to float: 'w'" or "float() argument
        # must be a string or a real number, not 'dict'", naming no argument
        raise ValueError(f"weights must be a column name or {len(df)} numbers, one per row; "
                         f"got {type(weights).__name__} {reprlib.repr(weights)}, which is "
                         f"neither (the data's "
                         f"columns are {list(df.columns)}).") from None


def row_columns(law: Law, y: str, by=None, x: Mapping[str, str] | None = None) -> list:
    """The data's columns that identify an observation: the task columns, the law's
    inputs (as mapped by ``x``) and the target ``y``."""
    return [*task_columns(by), *column_map(law, x).values(), y]


def _target_not_task(y, by_cols: Sequence) -> None:
    """ValueError when the target column ``y`` is also a task column (``by_cols``): one
    task per target value is almost always a typo (an input reading the target is refused
    by `_input_not_target`). Before, it was refused as tasks with too few points."""
    if any(_same_label(c, y) for c in by_cols):
        raise ValueError(f"column {y!r} is both the target y and a task column (by): each "
                         "task would hold the rows of one target value; name another task "
                         "column, or another target column.")


def make_batch(df: pd.DataFrame, law: Law, y: str, by=None, x: Mapping[str, str] | None = None,
               weights: str | Sequence[float] | None = None, space: str = "log",
               min_points: int | None = None) -> Batch:
    """Validate ``df`` for ``law`` and pack it into a padded `Batch`.

    Args:
        df: one row per observation.
        law: the law whose inputs are read.
        y: the target column.
        by: column name(s) whose values name independent tasks, or None for one task.
        x: law input -> column, for inputs whose column has another name.
        weights: a column name (any label of ``df``'s columns, as ``y``) or array of
            non-negative point weights (default 1); a pandas Series must have ``df``'s
            index.
        space: "log" requires y > 0.
        min_points: fewest points a task may have (default: the number of free params).

    Raises:
        ValueError: with the column, the count, the rows and the fix.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}.")
    cols = column_map(law, x)
    _input_not_target(law, x, cols, y)
    by_cols = task_columns(by)
    _target_not_task(y, by_cols)
    needed = {**{c: f"input {n!r}" for n, c in cols.items()}, y: "target y"}
    needed.update({c: "task column (by)" for c in by_cols})
    w_column = _weights_column(df, weights)
    if w_column:
        needed[weights] = "weights"
    missing = [c for c in needed if c not in df.columns]
    if missing:
        in_index = [c for c in missing if c in df.index.names]
        hint = (f" ({in_index} is the data's index, not a column: pass df.reset_index())"
                if in_index else did_you_mean(missing, df.columns))
        raise ValueError(
            f"missing column(s) {missing} ({', '.join(needed[c] for c in missing)}) for law "
            f"{law.name!r}; the data has columns {list(df.columns)}{hint}. "
            + map_example(law, cols, y, missing, df.columns))
    unique_columns(df, needed)
    if space not in ("log", "linear"):
        raise ValueError(f"space={space!r} is not 'log' or 'linear'.")
    if len(df) == 0:
        raise ValueError("the data has no rows; give at least one observation per task.")

    xs = {n: numeric_values(df, c, f"input {n!r}") for n, c in cols.items()}
    ys = numeric_values(df, y, "target y")
    for n in law.input_bounds:
        check_input_domain(df, law, n, cols[n], xs[n], "fit")
    if space == "log":
        _positive(df, y, ys, "residuals are taken in log space (space='log')",
                  "remove those rows or use space='linear'")
    if weights is None:
        ws = np.ones(len(df))
    elif w_column:
        ws = numeric_values(df, weights, "weights")
    else:
        if isinstance(weights, pd.Series) and not weights.index.equals(df.index):
            i = next((i for i, (a, b) in enumerate(zip(weights.index, df.index)) if a != b),
                     min(len(weights), len(df)))
            diff = f"label {weights.index[i]!r} at row {i}" if i < len(weights) else \
                f"{len(weights)} labels for {len(df)} rows"
            raise ValueError(
                f"weights is a Series whose index is not the data's index (first difference: "
                f"{diff}), so its values would be given to other rows; pass "
                "weights=w.reindex(df.index) to match rows by label, or w.to_numpy() to "
                "match them by position.")
        raw = weights if isinstance(weights, pd.Series) else np.asarray(weights)
        if raw.ndim == 1 and len(raw) == len(df):
            # as a column's: numeric strings ('1', '0.5') are refused, not converted
            # silently (before: np.asarray(..., float64) read them for an array or Series)
            real_dtype(df, pd.Series(np.asarray(raw), index=df.index), "weights",
                       "weights")
        ws = _weight_values(df, weights)
        if ws.shape != (len(df),):
            raise ValueError(f"weights must be {len(df)} finite numbers, one per row; got "
                             f"shape {ws.shape}.")
        if not np.all(np.isfinite(ws)):
            bad = ~np.isfinite(ws)
            raise ValueError(f"weights must be {len(df)} finite numbers, one per row; "
                             f"{bad.sum()} are NaN or infinite at rows {row_labels(df, bad)}: "
                             "drop those rows or give them a weight (0 leaves a row out).")
    if np.any(ws < 0):
        where = f"column {weights!r} (weights) has" if w_column else "weights have"
        raise ValueError(f"{where} {(ws < 0).sum()} negative values at rows "
                         f"{row_labels(df, ws < 0)}; weights must be >= 0: clip or drop them.")

    if by_cols:
        for c in by_cols:
            bad = df[c].isna().to_numpy()
            if bad.any():
                raise ValueError(f"column {c!r} (task column, by) has {bad.sum()} missing values "
                                 f"at rows {row_labels(df, bad)}; those rows would belong to no task. "
                                 f"Fill them, e.g. df[{c!r}].fillna('unknown').")
        # by the columns' values, not their names: a name that is also an index level
        # (df.set_index("task", drop=False)) is ambiguous to pandas. The tasks are the
        # values (combinations) the rows hold, in category order for a categorical column:
        # a category no row holds (common after filtering a DataFrame) is no task. Before,
        # one categorical column made every category a task (observed=False) and was
        # refused for an unused one, naming the wrong tasks where the unused category was
        # not the last (ngroup numbers only the groups the rows hold); several refused it
        # outright.
        keys = [df[c] for c in by_cols]
        try:
            groups = df.groupby(keys if len(keys) > 1 else keys[0], sort=True, observed=True)
            codes = groups.ngroup().to_numpy()
            counts = groups.size()
        except TypeError:
            # unhashable labels: name the column (checked only here, not row by row in
            # Python on every fit)
            for c in by_cols:
                _check_hashable(df, c)
            raise
        tasks, sizes = _used(counts.index), counts.to_numpy()
    else:
        codes = np.zeros(len(df), dtype=np.int64)
        tasks = pd.Index([0], name="task")
        sizes = np.array([len(df)])

    T = len(tasks)
    wsum = np.bincount(codes, weights=ws, minlength=T)
    need = len(law.params) - len(law.shared) if min_points is None else min_points
    if not by_cols and wsum[0] == 0:
        # one task: the weights themselves are the problem, not a task to drop
        where = f"column {weights!r} (weights) is" if w_column else \
            "the weights are"
        raise ValueError(f"{where} 0 on all {len(df)} rows, so no point would be fitted; give "
                         "the rows to fit a weight > 0 (0 leaves a row out).")
    empty = (sizes == 0) | (wsum == 0)
    if empty.any():
        names = list(tasks[empty][:_SHOW])
        raise ValueError(f"{empty.sum()} task(s) {names} (by={by!r}) have no points with "
                         "positive weight; drop them or give them data.")
    npos = np.bincount(codes, weights=(ws > 0), minlength=T).astype(np.int64)
    few = npos < need
    if few.any():
        detail = ", ".join(f"{t!r}: {n}" for t, n in zip(tasks[few][:_SHOW], npos[few][:_SHOW]))
        raise ValueError(f"{few.sum()} task(s) have fewer points than the law's {need} free "
                         f"parameters ({detail}; points with weight > 0); drop those tasks, give "
                         "them more points, or fix some parameters with jaxfit.fix().")

    P = bucket(int(sizes.max()))
    order = np.argsort(codes, kind="stable")
    pos = np.empty(len(df), dtype=np.int64)
    pos[order] = np.arange(len(df)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows = np.full((T, P), -1, dtype=np.int64)
    rows[codes, pos] = np.arange(len(df))
    # padding copies each task's first positive-weight row (every task has one, above)
    first = np.argmax(np.where(rows >= 0, ws[rows], 0.0) > 0, axis=1)      # [T]
    source = np.where(rows >= 0, rows, rows[np.arange(T), first][:, None])

    def pad(values):
        return values[source].astype(np.float64)

    return Batch(x={n: pad(v) for n, v in xs.items()}, y=pad(ys),
                 w=np.where(rows >= 0, ws[rows], 0.0), tasks=tasks, n_points=sizes, rows=rows)
