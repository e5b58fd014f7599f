"""Laws by name, and saving fits and posteriors to disk.

A point fit (`jaxfit.FitResult`) is saved as JSON (schema ``jaxfit.fit/1``, the same
document ``jaxfit fit --json`` prints; ``jaxfit/schema/fit.json``); a posterior
(`jaxfit.posterior.Posterior`, from `jaxfit.sample` or `jaxfit.bootstrap`) as netCDF, its
ArviZ ``InferenceData`` plus the attributes needed to rebuild it. Floats are written
exactly (JSON uses ``repr``; netCDF stores float64), so a loaded result predicts exactly
what the saved one did. Task labels keep their type (dates and times, durations,
periods, `datetime.date`, categories: ``task_types``), as do options that were tuples
(``option_tuples``) and a ``keep_restarts`` fit's restarts; ``law_check`` records the
law's predictions at a few of the data's points, so `load` refuses another law with the
same parameter names and inputs.

A saved file names its law by a *spec*: a registered name (``"chinchilla"``), a name with
arguments (``"power_law(input=C)"``; the built-in factories record their call as
`jaxfit.Law.spec`), or ``"module:function"`` for a user's factory. `load` rebuilds the law
from it, holding the file's `jaxfit.fix` values and `jaxfit.share` names, or takes ``law=``
for laws built in code (compositions, sums).

Example:
    >>> import jaxfit as jf
    >>> law = get_law("power_law(input=C, irreducible=False)")
    >>> law.name, law.param_names
    ('power_law_C_pure', ('A', 'alpha'))
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import importlib
import json
import math
import os
import re
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxfit.data import task_at, task_columns
from jaxfit.inference.design import Issue
from jaxfit.inference.status import Status
from jaxfit.law import Law, fix, fixed_text, same_fixed, share
from jaxfit.result import FitResult

__all__ = ["LAWS", "register_law", "get_law", "save", "load", "fit_to_dict",
           "fit_from_dict", "saved_kind", "FIT_SCHEMA", "NETCDF_MAGIC", "LAW_CHECK_RTOL"]

FIT_SCHEMA = "jaxfit.fit/1"
#: The first bytes of a netCDF-4 (HDF5) and of a classic netCDF file: a saved posterior.
NETCDF_MAGIC = (b"\x89HDF", b"CDF\x01", b"CDF\x02")
_POSTERIOR_SCHEMA = "jaxfit.posterior/1"
#: netCDF group of a bootstrap's refit statistics (`Posterior.stats`).
_REFIT_STATS = "jaxfit_refit_stats"
#: netCDF group of the other per-task statistics (`Posterior.stats` not one value per
#: draw: a Laplace posterior's curvature ratio and mode-search status, NUTS warm-up).
_TASK_STATS = "jaxfit_task_stats"

#: Law registry: name -> factory (called with the spec's keyword arguments).
LAWS: dict[str, Callable[..., Law]] = {}


def register_law(name: str, factory: Callable[..., Law]) -> None:
    """Make ``factory(**kwargs)`` available as the spec ``name`` / ``name(k=v, ...)``,
    e.g. ``jaxfit fit runs.csv --law NAME`` and `load` of files that name it."""
    LAWS[name] = factory


def _builtin_laws() -> None:
    from jaxfit import models

    for name in ("chinchilla", "power_law", "kaplan", "sigmoid", "linear", "broken_power_law",
                 "ladder_step1", "ladder_step1_flops", "emergence", "emergence_shift",
                 "relu_elbow"):
        LAWS.setdefault(name, getattr(models, name))


def _parse_spec(spec: str) -> tuple[str, dict]:
    """``"name(a=1, b=C)"`` -> ("name", {"a": 1, "b": "C"}); bare words are strings."""
    head, paren, rest = spec.partition("(")
    if not paren:
        return spec.strip(), {}
    try:
        call = ast.parse(f"f({rest}", mode="eval").body
        if call.args:
            raise ValueError("positional arguments")
        kwargs = {k.arg: (k.value.id if isinstance(k.value, ast.Name)
                          else ast.literal_eval(k.value)) for k in call.keywords}
    except (SyntaxError, ValueError) as e:
        raise ValueError(f"law spec {spec!r}: cannot parse its arguments ({e}); write "
                         "NAME(key=value, ...), e.g. 'power_law(input=C)'.") from None
    return head.strip(), kwargs


def _arguments(factory, name: str) -> str:
    """``"; power_law takes input='x', irreducible=True"``: a law factory's keyword
    arguments and defaults (the fix for a misspelt or unknown one), or ""."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ""
    args = [p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return f"; {name} takes {', '.join(args)}" if args else f"; {name} takes no arguments"


def get_law(spec: str) -> Law:
    """The `Law` named by ``spec``: a registered name (optionally with keyword arguments,
    ``"power_law(input=C)"``) or ``"module:function"`` (a factory or a Law object)."""
    _builtin_laws()
    name, kwargs = _parse_spec(spec)
    if name in LAWS:
        factory = LAWS[name]
    elif ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as e:
            # (ValueError: ":fn", no module: "Empty module name", naming no law)
            # --law my_laws.py:fn (the file's name): "No module named 'my_laws.py'; 'my_laws'
            # is not a package", with no word of the fix
            hint = (f"; name the module, not its file: {module[:-3]}:{attr}"
                    if module.endswith(".py") else "")
            raise ValueError(f"cannot load law {spec!r}: {e}{hint}") from None
    else:
        import difflib

        close = difflib.get_close_matches(name, list(LAWS), n=1, cutoff=0.6)
        near = f" ({close[0]!r} is close to {name!r})" if close else ""
        raise ValueError(f"unknown law {spec!r}{near}; known laws: {sorted(LAWS)} (or "
                         "module:function, or register one with jaxfit.io.register_law).")
    law = factory
    if isinstance(factory, Law) and kwargs:
        # "module:LAW(input='C')" or a registered Law object: the arguments were ignored
        # without a word, and the law fitted was not the one asked for
        raise ValueError(f"law {spec!r}: {name} is a jaxfit.Law, not a function that builds "
                         f"one, so it takes no arguments (got "
                         f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items())}); drop them, "
                         "or point at a factory function that takes them.")
    if callable(factory) and not isinstance(factory, Law):
        try:
            law = factory(**kwargs)
        except TypeError as e:
            raise ValueError(f"law {spec!r}: {e}{_arguments(factory, name)}") from None
        except ValueError as e:
            # a factory refusing its arguments, or a Law check in it: the bare message
            # ("jaxfit: error: bad thing") named neither the spec nor the factory
            raise ValueError(f"law {spec!r}: {e}") from None
    if not isinstance(law, Law):
        raise ValueError(f"law {spec!r} gave a {type(law).__name__}, not a jaxfit.Law.")
    return law


# ------------------------------------------------------------------------ JSON helpers

def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _jsonable(v):
    if isinstance(v, (str, bool, type(None))):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.ndarray, pd.Index, pd.Series)):
        # (before: written as its text, "Index(['task', 'seed'], dtype='str')")
        return [_jsonable(x) for x in v.tolist()]
    return str(v)


def _label(task):
    return [_jsonable(t) for t in task] if isinstance(task, tuple) else _jsonable(task)


def _task_types(tasks: pd.Index) -> list | None:
    """Per level of ``tasks``, the type of labels `_label` writes as text or numbers and
    `_tasks_index` turns back (`_level_type`), else None; None when no level needs one."""
    types = [_level_type(tasks.get_level_values(i)) for i in range(tasks.nlevels)]
    return types if any(t is not None for t in types) else None


#: The dtypes of integer and float task labels that `_level_type` records by name: JSON
#: gives numbers back as int64 or float64, so a label of any other width (an int32 ``by``
#: column) came back as int64. (No float16: pandas has no float16 index.)
_NUMBER_TYPE = re.compile(r"(u?int|U?Int)(8|16|32|64)|[fF]loat(32|64)")


def _level_type(level: pd.Index):
    """How one level's labels come back: "datetime" ("datetime:<zone>" for timezone-aware
    ones, e.g. "datetime:US/Eastern"), "timedelta", "period:<freq>" (e.g. "period:M"),
    "date" (`datetime.date` objects), a number dtype other than int64 and float64 (e.g.
    "int32", "uint8", "float32", pandas' nullable "Int32"), ``{"kind": "category",
    "categories": [...], "ordered": bool, "type": <the categories' type>}``, or None
    (strings, int64 and float64 numbers, bools: JSON keeps them)."""
    dtype = level.dtype
    if str(dtype) not in ("int64", "float64") and _NUMBER_TYPE.fullmatch(str(dtype)):
        return str(dtype)     # only integer and float dtypes have a name _NUMBER_TYPE matches
    if isinstance(dtype, pd.CategoricalDtype):
        return {"kind": "category", "categories": [_jsonable(c) for c in dtype.categories],
                "ordered": bool(dtype.ordered), "type": _level_type(dtype.categories)}
    if isinstance(dtype, pd.IntervalDtype):
        # pd.cut's bins: written as text "(0, 2]" (before: they came back as that text, and
        # param_dict(pd.Interval(0, 2)) or params.loc[...] found no task)
        ends = pd.IntervalIndex(level)
        return {"kind": "interval", "closed": ends.closed, "type": _level_type(ends.left)}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        tz = getattr(dtype, "tz", None)
        return "datetime" if tz is None else f"datetime:{tz}"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.PeriodDtype):
        return f"period:{pd.PeriodIndex(level).freqstr}"    # "M", where the offset says "ME"
    if dtype == object and len(level) and all(
            isinstance(v, datetime.date) and not isinstance(v, datetime.datetime)
            for v in level):
        return "date"
    return None


def _datetimes(values, kind: str) -> pd.DatetimeIndex:
    """The timestamps `_label` wrote as text. ISO 8601 with per-label precision (before,
    pandas guessed one format from the first label, so "2024-01-01 10:00:00.5" beside
    "2024-06-01 00:00:00" failed to load); a zone's labels are parsed as UTC instants and
    converted back to the zone (before, labels on both sides of a daylight-saving change
    carry two UTC offsets, and the file failed to load)."""
    values = list(values)
    if kind.startswith("datetime:"):
        utc = pd.to_datetime(values, format="ISO8601", utc=True)
        try:
            return utc.tz_convert(kind[9:])
        except Exception:  # noqa: BLE001 - an unknown zone raises a KeyError subclass
            raise _bad("task_types", f"names an unknown timezone {kind[9:]!r}") from None
    try:
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"))
    except ValueError:    # offsets written as "datetime" by earlier versions
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601", utc=True))


def _typed_level(values: list, kind) -> pd.Index:
    """The labels of one level, written by `_label`, as the type `_level_type` recorded.
    Raises ValueError (naming the field) for a type or a label it cannot read."""
    if kind is None:
        return pd.Index(values)
    if isinstance(kind, dict) and kind.get("kind") == "category":
        if not isinstance(kind.get("categories"), list):
            raise _bad("task_types", "has a category entry without a list of categories")
        cats = _typed_level(kind["categories"], kind.get("type"))
        labels = _typed_level(values, kind.get("type"))
        known = set(cats)
        missing = [v for v in labels if v not in known]
        if missing:
            raise _bad("tasks", f"holds labels {missing[:3]} that are not among the "
                                f"recorded categories {list(cats)[:10]}")
        return pd.CategoricalIndex(labels, categories=cats, ordered=bool(kind.get("ordered")))
    if isinstance(kind, dict) and kind.get("kind") == "interval":
        return _interval_level(values, kind)
    if not isinstance(kind, str):
        raise _bad("task_types", f"holds {kind!r}, not a label type")
    if _NUMBER_TYPE.fullmatch(kind):
        try:
            return pd.Index(values, dtype=kind)
        except (ValueError, TypeError, OverflowError) as e:
            raise _bad("tasks", f"holds labels that are not of type {kind!r} ({e})") from None
    try:
        if kind.startswith("datetime"):
            return _datetimes(values, kind)
        if kind == "timedelta":
            return pd.TimedeltaIndex(pd.to_timedelta(values))
        if kind.startswith("period:"):
            return pd.PeriodIndex([pd.Period(v, freq=kind[7:]) for v in values])
        if kind == "date":
            return pd.Index([datetime.date.fromisoformat(v) for v in values], dtype=object)
    except (ValueError, TypeError) as e:
        raise _bad("tasks", f"holds labels that are not of type {kind!r} ({e})") from None
    raise _bad("task_types", f"names an unknown label type {kind!r}")


def _interval_level(values: list, kind: dict) -> pd.IntervalIndex:
    """Interval labels `_label` wrote as text ("(0, 2]"), with the type of their ends."""
    closed = kind.get("closed")
    brackets = {"right": "(]", "left": "[)", "both": "[]", "neither": "()"}
    if closed not in brackets:
        raise _bad("task_types", f"holds an interval entry with closed={closed!r}, not one of "
                                 f"{list(brackets)}")
    lefts, rights = [], []
    for v in values:
        if not (isinstance(v, str) and len(v) > 2 and v[0] + v[-1] == brackets[closed]
                and v[1:-1].count(", ") == 1):
            raise _bad("tasks", f"holds the label {v!r}, not an interval closed on the "
                                f"{closed} like {brackets[closed][0]}0, 1{brackets[closed][1]}")
        left, right = v[1:-1].split(", ")
        lefts.append(left)
        rights.append(right)
    ends = kind.get("type")
    if ends is None:                      # numbers: int64 or float64, as JSON gives them
        def read(texts):
            try:
                return pd.Index([int(t) for t in texts])
            except ValueError:
                try:
                    return pd.Index([float(t) for t in texts])
                except ValueError as e:
                    raise _bad("tasks", f"holds interval ends that are not numbers ({e})") \
                        from None
    else:
        def read(texts):
            return _typed_level(texts, ends)
    return pd.IntervalIndex.from_arrays(read(lefts), read(rights), closed=closed)


def _as_tuples(label):
    """A label `_label` wrote, with its JSON lists (tuples: a task label is never a list,
    which cannot label a task) back as tuples, at every depth."""
    return tuple(map(_as_tuples, label)) if isinstance(label, list) else label


def _tasks_index(labels: list, by, types: list | None = None,
                 field: str = "tasks") -> pd.Index:
    """The task index of a file's task ``labels`` (from its ``field``), its levels named by
    ``by`` and typed by ``types``.

    Raises:
        ValueError: ``types`` is not one entry per task column, or a label names two
            tasks (`_check_task_labels`), naming the field.
    """
    index = _typed_index(labels, by, types)
    _check_task_labels(index, field)
    return index


def _typed_index(labels: list, by, types: list | None) -> pd.Index:
    cols = task_columns(by)
    if len(cols) > 1:
        index = pd.MultiIndex.from_tuples([_as_tuples(list(t)) for t in labels], names=cols)
    else:
        # one task without `by`: labelled 0 in an index named "task", as `make_batch` does.
        # A by column of tuples: its labels come back as tuples (before: as lists, which
        # no row's tuple matched, and `predict`, `params.loc` and `summary` raised
        # "unhashable type: 'list'")
        labels = [_as_tuples(t) for t in labels]
        index = pd.Index(labels, name=cols[0] if cols else "task", tupleize_cols=False)
    if not types:
        return index
    if not isinstance(types, list) or len(types) != index.nlevels:
        raise _bad("task_types", f"is {types!r}, not one entry per task column")
    # labels of a date/time, duration, period, date or categorical column come back with
    # their type (before, as text: `predict` on the data found none of the fitted
    # datetime tasks, and `res.params.loc[label]` none of the others)
    levels = [_typed_level(list(index.get_level_values(i)), kind) if kind is not None
              else index.get_level_values(i) for i, kind in enumerate(types)]
    return (pd.MultiIndex.from_arrays(levels, names=index.names) if len(levels) > 1
            else levels[0].rename(index.name))


def _law_block(law: Law, spec: str | None) -> dict:
    # "fixed": the values `jaxfit.fix` holds ({} when none), "shared": the names `jaxfit.share`
    # shares; `load` re-applies both to the law it rebuilds from "spec", and a law passed to
    # it must hold the same ones. A law without a spec (built in code, or changed with
    # `Law.replace`) is named by its name (before `jaxfit.fix`'s suffix), marked
    # "spec_source": "name": `_rebuild` then refuses a registered factory that records a
    # spec of its own, since a law that factory built would have carried it.
    named = not (spec or law.spec)
    return {"name": law.name,
            "spec": spec or law.spec or law.name.split("|fixed(")[0],
            **({"spec_source": "name"} if named else {}),
            "formula": law.formula,
            "inputs": list(law.inputs), "params": list(law.param_names),
            "fixed": {k: float(v) for k, v in law.fixed.items()},
            "shared": list(law.shared)}


def _rebuild(block: dict) -> Law:
    """The law a file names: its spec, with the file's fixed values and shared names."""
    try:
        law = get_law(block["spec"])
    except ValueError as e:
        # (an import error has no full stop: "No module named 'my_laws' The file was ...")
        raise ValueError(f"{str(e).rstrip('.')}. The file was saved from law "
                         f"{block['name']!r}; pass load(path, law=...) with that law.") from None
    if block.get("spec_source") == "name" and law.spec is not None:
        # the file's law had no spec, and the registered law of that name records one: the
        # saved law was not built by it (before: `linear("L").replace(fn=...)` fitted,
        # saved and loaded as the built-in linear law, predicting other numbers silently)
        raise ValueError(f"the file's law {block['name']!r} has no spec (built in code or "
                         f"changed with Law.replace), and {block['spec']!r} names the "
                         f"registered law {law.spec!r}, which is another law; pass "
                         "load(path, law=...) with the law it was saved from.")
    fixed = block.get("fixed")
    if isinstance(fixed, dict) and fixed and not law.fixed and set(fixed) <= set(law.params):
        law = fix(law, **fixed)
    shared = block.get("shared")
    if isinstance(shared, list) and shared and set(shared) <= set(law.params):
        law = share(law, *shared)
    return law


def _resolve(block: dict, law: Law | None) -> Law:
    if law is None:
        law = _rebuild(block)
    if list(law.param_names) != list(block["params"]):
        # a file of jf.fix(my_law, E=1.5) loaded with law=my_law: before, no word that the
        # file held E fixed, nor of the fix
        fixed = block.get("fixed") if isinstance(block.get("fixed"), dict) else {}
        hint = ""
        if fixed and set(law.param_names) == set(block["params"]) | set(fixed) \
                and not set(law.fixed) & set(fixed):
            hint = (f" (it was fitted with {fixed_text(fixed)} held fixed: pass "
                    f"law=jaxfit.fix(law, {fixed_text(fixed)}))")
        elif set(law.param_names) == set(block["params"]):
            hint = " (the same names in another order: list params= in the file's order)"
        raise ValueError(f"load: law {law.name!r} has parameters {list(law.param_names)}, "
                         f"the file has {block['params']}{hint}; pass the law it was saved "
                         "from.")
    fixed = block.get("fixed")          # absent in files saved before it was recorded
    if isinstance(fixed, dict) and not same_fixed(law.fixed, fixed):
        # the draws or estimates were fitted with the file's values; predicting with other
        # ones gave silently wrong numbers (fix(law, alpha=0.2) saved, loaded with
        # law=fix(law, alpha=0.3): the prediction moved from 1.824 to 1.791 without a word)
        raise ValueError(f"load: law {law.name!r} holds fixed parameters "
                         f"{{{fixed_text(law.fixed)}}}, the file was fitted with "
                         f"{{{fixed_text(fixed)}}}; pass the law it was saved from, e.g. "
                         f"jaxfit.fix(law, {fixed_text(fixed)}).")
    shared = block.get("shared")        # absent in files saved before it was recorded
    if isinstance(shared, list) and sorted(law.shared) != sorted(map(str, shared)):
        # before: a fit of share(law, "E") loaded as the unshared law, so its summary()
        # called E free and a sample/bootstrap from it refitted E per task
        hint = (f"jaxfit.share(law, {', '.join(map(repr, shared))})" if shared
                else "the law without jaxfit.share")
        raise ValueError(f"load: law {law.name!r} shares {list(law.shared)} across tasks, the "
                         f"file was fitted sharing {shared}; pass the law it was saved from, "
                         f"e.g. {hint}.")
    inputs = block.get("inputs")
    if isinstance(inputs, list) and sorted(map(str, law.inputs)) != sorted(map(str, inputs)):
        raise ValueError(f"load: law {law.name!r} takes inputs {list(law.inputs)}, the file's "
                         f"law {block['name']!r} takes {inputs}; pass the law it was saved "
                         "from.")
    return law


# ------------------------------------------------------------------------ point fits

def fit_to_dict(res: FitResult, law_spec: str | None = None) -> dict:
    """A `FitResult` as a JSON-ready dict (schema ``jaxfit.fit/1``; non-finite -> null)."""
    names = list(res.law.param_names)
    _check_converged_finite(res, names)
    tasks = []
    for i, task in enumerate(res.tasks):
        tasks.append({
            "task": _label(task),
            "params": {n: _num(v) for n, v in zip(names, res.values[i])},
            "objective": _num(res.objective[i]),
            "status": Status(int(res.status[i])).name.lower(),
            "steps": int(res.steps[i]), "grad_norm": _num(res.grad_norm[i]),
            "identified": bool(res.identified[i]),
            "at_bound": [n for n, b in zip(names, res.at_bound[i]) if b],
            **({} if res.dof is None else {"dof": int(res.dof[i])}),
            **({} if res.design is None else
               {"design": [{**d._asdict(), "value": _num(d.value)} for d in res.design[i]]}),
            **({} if res.restarts is None else
               {"restarts": _restarts_row(res.restarts, i, names)})})
    types = _task_types(res.tasks)
    tuples = _tuple_options(res.options)
    check = _law_check(res.law, res.values, _check_points(res))
    return {"schema": FIT_SCHEMA, "law": _law_block(res.law, law_spec),
            "options": _jsonable(dict(res.options)), "tasks": tasks,
            **({"option_tuples": tuples} if tuples else {}),
            **({"task_types": types} if types else {}),
            **({"law_check": check} if check else {})}


def _check_converged_finite(res: FitResult, names: list[str]) -> None:
    """ValueError when a task whose status is converged has a parameter or objective that
    is not finite: `load` refuses such a file as corrupted (JSON writes the value as null),
    so `save` wrote a file it could not read back and said "save the result again"."""
    conv = np.asarray(res.status) == Status.CONVERGED
    bad = conv & ~(np.isfinite(np.asarray(res.values, np.float64)).all(axis=1)
                   & np.isfinite(np.asarray(res.objective, np.float64)))
    if bad.any():
        i = int(np.argmax(bad))
        vals = np.asarray(res.values, np.float64)[i]
        what = ", ".join(f"{n}={v}" for n, v in zip(names, vals) if not np.isfinite(v)) \
            or f"objective={float(res.objective[i])}"
        raise ValueError(f"save: task {task_at(res.tasks, i)!r} has status 'converged' but "
                         f"{what} (not finite), which no fit returns; the result was changed "
                         "after the fit: save the FitResult jaxfit.fit returned, or set that "
                         "task's status to the outcome it had.")


def _restarts_row(restarts: dict, i: int, names: list[str]) -> dict:
    """Task ``i``'s refined restarts (`jaxfit.fit`'s ``keep_restarts``): each parameter's
    end points, the objectives and the statuses, in restart order (non-finite -> null)."""
    values = np.asarray(restarts["values"], dtype=np.float64)[i]          # [R, k]
    return {"params": {n: [_num(v) for v in values[:, j]] for j, n in enumerate(names)},
            "objective": [_num(v) for v in np.asarray(restarts["objective"])[i]],
            "status": [Status(int(s)).name.lower() for s in np.asarray(restarts["status"])[i]]}


def _restarts_from(rows: list[dict], names: list[str]) -> dict | None:
    """`FitResult.restarts` from the tasks' "restarts" entries (None when the fit kept
    none). Raises ValueError naming a malformed entry."""
    if not any("restarts" in r for r in rows):
        return None
    nan = lambda v: math.nan if v is None else v  # noqa: E731
    sizes = set()
    for i, r in enumerate(rows):
        e = r.get("restarts")
        at = f"tasks[{i}].restarts"
        if not (isinstance(e, dict) and isinstance(e.get("params"), dict)
                and isinstance(e.get("objective"), list) and isinstance(e.get("status"), list)):
            raise _bad(at, "is missing or not an object of params, objective and status "
                           "lists (every task of a fit with keep_restarts has one)")
        for n in names:
            if not isinstance(e["params"].get(n), list):
                raise _bad(f"{at}.params.{n}", "is missing or not a list")
            for v in e["params"][n]:
                _number(v, f"{at}.params.{n}")
        for v in e["objective"]:
            _number(v, f"{at}.objective")
        for s in e["status"]:
            if not (isinstance(s, str) and s.upper() in Status.__members__):
                raise _bad(f"{at}.status", f"holds {s!r}, not one of "
                                           f"{[m.lower() for m in Status.__members__]}")
        sizes |= {len(e["objective"]), len(e["status"]), *(len(e["params"][n]) for n in names)}
    if len(sizes) != 1:
        raise _bad("tasks[].restarts", f"has lists of different lengths {sorted(sizes)}; "
                                       "every task keeps the same number of restarts")
    return {"values": np.array([[[nan(r["restarts"]["params"][n][j]) for n in names]
                                 for j in range(len(r["restarts"]["objective"]))]
                                for r in rows], dtype=np.float64).reshape(len(rows), -1,
                                                                          len(names)),
            "objective": np.array([[_objective(v) for v in r["restarts"]["objective"]]
                                   for r in rows],
                                  dtype=np.float64),
            "status": np.array([[Status[s.upper()] for s in r["restarts"]["status"]]
                                for r in rows], dtype=np.int64)}


def _objective(v) -> float:
    """An objective as `fit_to_dict` wrote it: null (not finite) is inf, as `jaxfit.fit`
    reports every objective that is not finite (before: NaN, so a loaded fit's
    ``objective`` and report read "nan" where the saved one read "inf")."""
    return math.inf if v is None else v


def _tuple_options(options) -> list[str]:
    """The options whose values are tuples (JSON writes them as lists; `_with_tuples`
    turns them back, e.g. ``continuation``)."""
    return [str(k) for k, v in dict(options).items() if isinstance(v, tuple)]


def _with_tuples(options: dict, keys) -> dict:
    """``options`` as saved, with the tuples JSON wrote as lists back as tuples: the
    options ``keys`` lists (`_tuple_options`: e.g. ``continuation``, a tuple ``y``),
    at every depth, and the column labels inside ``by`` and ``x`` (`_column_labels`)."""
    keys = set(keys) if isinstance(keys, list) else set()
    return _column_labels({k: _as_tuples(v) if k in keys and isinstance(v, list) else v
                           for k, v in options.items()})


def _column_labels(options: dict) -> dict:
    """``options`` with the column labels JSON wrote as lists back as tuples: each ``by``
    column and each ``x`` column of a DataFrame with MultiIndex columns
    (``("loss", "mean")``). Before, a fit of such columns saved and failed to load
    ("Index.name must be a hashable type"). A tuple ``y`` is in the file's option tuples
    (`_tuple_options`), which `_with_tuples` restores."""
    out = dict(options)
    by = out.get("by")
    if isinstance(by, (list, tuple)):
        out["by"] = type(by)(_as_tuples(c) for c in by)
    if isinstance(out.get("x"), dict):
        out["x"] = {k: _as_tuples(v) for k, v in out["x"].items()}
    return out


# ------------------------------------------------------------------------ law check
#: A loaded law must reproduce the file's recorded predictions to this fraction of their
#: largest magnitude: rounding (another machine's transcendental functions, XLA fusion)
#: moves them by ~1e-15; another function, by far more.
LAW_CHECK_RTOL = 1e-8
#: Points per task `_pick_points` records (the smallest, median and largest value of the
#: first input), in the first and the last task with finite parameters.
_CHECK_PER_TASK = 3


def _pick_points(values: np.ndarray, x: dict, w: np.ndarray, first: str) -> dict | None:
    """A few of a batch's points with weight > 0 and finite inputs (`_CHECK_PER_TASK` in
    each of two tasks): ``{"task": [positions], "x": {input: [values]}}``; None: none."""
    w = np.asarray(w)
    xs = {n: np.asarray(a, dtype=np.float64) for n, a in x.items()}
    finite = np.flatnonzero(np.isfinite(np.asarray(values, np.float64)).all(axis=1))
    tasks = sorted({int(finite[0]), int(finite[-1])}) if len(finite) else []
    pts = []
    for t in tasks:
        ok = (w[t] > 0) & np.all([np.isfinite(a[t]) for a in xs.values()], axis=0)
        idx = np.flatnonzero(ok)
        if not len(idx):
            continue
        order = idx[np.argsort(xs[first][t, idx], kind="stable")]
        chosen = sorted({int(order[0]), int(order[len(order) // 2]), int(order[-1])})
        pts += [(t, p) for p in chosen[:_CHECK_PER_TASK]]
    if not pts:
        return None
    return {"task": [t for t, _ in pts],
            "x": {n: [float(a[t, p]) for t, p in pts] for n, a in xs.items()}}


def _data_points(law: Law, values: np.ndarray, data) -> dict | None:
    """`_pick_points` of a result's ``data`` (None without data or inputs)."""
    if data is None or not law.inputs or not set(law.inputs) <= set(data["x"]):
        return None
    return _pick_points(values, {n: data["x"][n] for n in law.inputs}, data["w"],
                        law.inputs[0])


def _check_points(res: FitResult) -> dict | None:
    """The points a fit's file records its law's predictions at: picked from its data, or
    (a loaded fit, which has none) the points its file recorded."""
    if res.data is not None:
        return _data_points(res.law, res.values, res.data)
    return getattr(res, "_check_points", None)


def _first_draws(post) -> np.ndarray | None:
    """[T, k] each task's first draw (chain 0, draw 0) of the law's parameters: the
    parameter values a posterior's law check evaluates the law with."""
    names = post.law.param_names
    if not all(n in post.draws for n in names):
        return None
    return np.stack([np.asarray(post.draws[n], dtype=np.float64)[:, 0, 0] for n in names], -1)


def _law_values(law: Law, values: np.ndarray, points: dict) -> np.ndarray:
    """``law`` at ``points`` (`_pick_points`), each with its task's parameter row."""
    from jaxfit.predictions import law_values

    rows = np.asarray(points["task"], dtype=np.int64)
    values = np.asarray(values, np.float64)
    pred = law_values(law, {n: values[rows, i] for i, n in enumerate(law.param_names)},
                      {n: points["x"][n] for n in law.inputs})
    return np.broadcast_to(pred, rows.shape).copy()


def _law_check(law: Law, values: np.ndarray, points: dict | None) -> dict | None:
    """``points`` with the law's predictions there, the finite ones only (None: none, or
    the law cannot be evaluated there). `load` evaluates the law it is given at them."""
    if not points:
        return None
    try:
        pred = _law_values(law, values, points)
    except Exception:  # noqa: BLE001 - a law that fails here is checked by nothing
        return None
    keep = np.flatnonzero(np.isfinite(pred))
    if not len(keep):
        return None
    return {"task": [int(points["task"][j]) for j in keep],
            "x": {n: [float(v[j]) for j in keep] for n, v in points["x"].items()},
            "prediction": [float(pred[j]) for j in keep]}


def _verify_law(law: Law, check, values: np.ndarray, tasks: pd.Index, saved: str) -> dict | None:
    """Evaluate ``law`` at the file's recorded points (`_law_check`); returns the points.

    Raises:
        ValueError: its predictions differ from the recorded ones beyond rounding
            (`LAW_CHECK_RTOL`): the law is another function with the file's parameter
            names and inputs; the message names both laws, the largest difference and
            where.
    """
    if check is None:                   # files written before it was recorded
        return None
    try:
        rows = [int(t) for t in check["task"]]
        want = np.array([float(v) for v in check["prediction"]], dtype=np.float64)
        xs = {n: [float(v) for v in check["x"][n]] for n in law.inputs}
        if not (all(0 <= t < len(tasks) for t in rows) and len(rows) == len(want)
                and all(len(v) == len(rows) for v in xs.values())):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise _bad("law_check", "is malformed (task positions, inputs and predictions of "
                                "one length)") from None
    points = {"task": rows, "x": xs}
    try:
        got = _law_values(law, values, points)
    except Exception as e:  # noqa: BLE001 - any failure: the law is not the file's
        got, why = np.full(len(rows), np.nan), f" ({type(e).__name__}: {e})"
    else:
        why = ""
    diff = np.where(np.isfinite(got), np.abs(got - want), np.inf)
    tol = LAW_CHECK_RTOL * float(np.max(np.abs(want))) if len(want) else 0.0
    if not (diff <= tol).all():
        j = int(np.argmax(diff))
        at = ", ".join(f"{n}={xs[n][j]:.6g}" for n in law.inputs)
        task = task_at(tasks, rows[j])      # Python values, not "np.int64(3)"
        raise ValueError(
            f"load: law {law.name!r} is not the law the file was saved from ({saved!r}): at "
            f"the file's own points it predicts other numbers (largest difference "
            f"{diff[j]:.6g} at task {task!r}, {at}: {got[j]:.10g}{why} instead of "
            f"{want[j]:.10g}; rounding allows {tol:.3g}). Same parameter names and inputs "
            "do not make the same function: pass load(path, law=...) with that law, the one "
            "it was saved from.")
    return points


def _other_version(schema: str, reads: str) -> ValueError:
    from jaxfit import __version__

    return ValueError(f"written with schema {schema!r} (another jaxfit version); jaxfit "
                      f"{__version__} reads {reads!r}: load it with the jaxfit version that "
                      "saved it, or fit again.")


def _bad(field: str, what: str) -> ValueError:
    return ValueError(f"field {field!r} {what}; the file is incomplete or corrupted: save "
                      "the result again (jaxfit.io.save).")


def _number(v, field: str, allow_null: bool = True) -> None:
    if v is None and allow_null:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _bad(field, f"is {v!r}, not a number")


def _check_law_block(block, field: str) -> None:
    """A saved law block (a fit file's ``law``, a posterior's ``jaxfit_law``) is an object
    with ``name`` and ``spec`` strings and ``params``, a list of parameter names. Raises
    ValueError naming ``field`` or its key."""
    if not isinstance(block, dict):
        raise _bad(field, "is missing or not an object" if block is None
                   else f"is {block!r}, not an object")
    for key in ("name", "spec"):
        if not isinstance(block.get(key), str):
            raise _bad(f"{field}.{key}", "is missing or not a string")
    params = block.get("params")
    if not (isinstance(params, list) and all(isinstance(n, str) for n in params)):
        raise _bad(f"{field}.params", "is missing or not a list of parameter names")


def _check_fit_doc(doc: dict, names: list[str] | None = None) -> None:
    """Every field `fit_from_dict` reads is present and of the right type; a converged
    task has finite params and objective. Raises ValueError naming the field."""
    _check_law_block(doc.get("law"), "law")
    names = doc["law"]["params"] if names is None else names
    if not isinstance(doc.get("options"), dict):
        raise _bad("options", "is missing or not an object")
    _check_fit_options(doc["options"])
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise _bad("tasks", "is missing, empty or not a list")
    for i, r in enumerate(tasks):
        at = f"tasks[{i}]"
        if not isinstance(r, dict):
            raise _bad(at, "is not an object")
        for key in ("task", "params", "objective", "status", "steps", "grad_norm",
                    "identified", "at_bound"):
            if key not in r:
                raise _bad(f"{at}.{key}", "is missing")
        if not isinstance(r["params"], dict):
            raise _bad(f"{at}.params", f"is {r['params']!r}, not an object of parameters")
        status = r["status"]
        if not (isinstance(status, str) and status.upper() in Status.__members__):
            raise _bad(f"{at}.status", f"is {status!r}, not one of "
                                       f"{[s.lower() for s in Status.__members__]}")
        for n in names:
            if n not in r["params"]:
                raise _bad(f"{at}.params.{n}", "is missing")
            _number(r["params"][n], f"{at}.params.{n}")
        _number(r["objective"], f"{at}.objective")
        _number(r["grad_norm"], f"{at}.grad_norm")
        if isinstance(r["steps"], bool) or not isinstance(r["steps"], int):
            raise _bad(f"{at}.steps", f"is {r['steps']!r}, not an integer")
        if not isinstance(r["identified"], bool):
            raise _bad(f"{at}.identified", f"is {r['identified']!r}, not true/false")
        if not isinstance(r["at_bound"], list):
            raise _bad(f"{at}.at_bound", f"is {r['at_bound']!r}, not a list")
        # (before: names that are no parameter were dropped without a word, a "dof" that
        # is no integer raised "invalid literal for int()" and a design issue without its
        # "kind" a bare KeyError, neither naming the file's field)
        odd = [n for n in r["at_bound"] if n not in names]
        if odd:
            raise _bad(f"{at}.at_bound", f"holds {odd}, not parameters of the law {names}")
        if "dof" in r and (isinstance(r["dof"], bool) or not isinstance(r["dof"], int)):
            raise _bad(f"{at}.dof", f"is {r['dof']!r}, not an integer")
        if "design" in r:
            _check_design(r["design"], f"{at}.design")
        if status.upper() == "CONVERGED":
            null = [n for n in names if r["params"][n] is None]
            if null or r["objective"] is None:
                field = f"{at}.params.{null[0]}" if null else f"{at}.objective"
                raise _bad(field, "is null (not finite) in a task whose status is 'converged'")


def _is_column(v) -> bool:
    """A column label as JSON holds one: text, an integer (a CSV read with header=None), or
    a list of them (a tuple label of MultiIndex columns, ``("loss", "mean")``)."""
    if isinstance(v, list):
        return bool(v) and all(isinstance(p, str) or (isinstance(p, int)
                                                      and not isinstance(p, bool)) for p in v)
    return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))


def _check_fit_options(options: dict, field: str = "options") -> None:
    """The options a `FitResult` reads (``y``, ``by``, ``x``, ``loss``, ``delta``,
    ``space``), where present, are of the kinds `jaxfit.fit` records. Before, a file with
    ``"space": "cubic"`` loaded and its residuals were taken in linear space, and one with
    ``"by": 3.5`` or ``"x": {"N": 5.0}`` loaded and failed later, naming no field
    (integers are column labels: a CSV read with header=None). Raises
    ValueError naming the field (``field``: "options" of a fit document,
    "jaxfit_options" of a posterior's attributes)."""
    from jaxfit.checks import LOSSES, SPACES

    if "y" in options and not _is_column(options["y"]):
        raise _bad(f"{field}.y", f"is {options['y']!r}, not a column name")
    by = options.get("by")
    if not (by is None or _is_column(by)
            or (isinstance(by, list) and all(map(_is_column, by)))):
        raise _bad(f"{field}.by", f"is {by!r}, not null, a column name or a list of them")
    x = options.get("x")
    if not (x is None or (isinstance(x, dict) and all(map(_is_column, x.values())))):
        raise _bad(f"{field}.x", f"is {x!r}, not an object of law input -> column name")
    for key, known in (("loss", LOSSES), ("space", SPACES)):
        if key in options and options[key] not in known:
            raise _bad(f"{field}.{key}", f"is {options[key]!r}, not one of {list(known)}")
    delta = options.get("delta", 1.0)
    if (isinstance(delta, bool) or not isinstance(delta, (int, float))
            or not 0 < delta < math.inf):       # JSON's Infinity reads as inf
        raise _bad(f"{field}.delta", f"is {delta!r}, not a finite number > 0")


def _check_task_labels(tasks: pd.Index, field: str = "tasks") -> None:
    """Each task's label names one task (before: a file holding one label twice loaded,
    and `FitResult.predict` raised pandas' "Reindexing only valid with uniquely valued
    Index objects"). Raises ValueError naming the label."""
    if tasks.has_duplicates:
        twice = tasks[tasks.duplicated()].tolist()[:3]
        raise _bad(field, f"holds the task label(s) {twice} more than once; each task "
                            "has its own")


def _check_design(issues, at: str) -> None:
    """A task's "design" entry is a list of `Issue` objects (kind, params, input, value).
    Raises ValueError naming the field."""
    if not isinstance(issues, list):
        raise _bad(at, f"is {issues!r}, not a list of design issues")
    for j, i in enumerate(issues):
        if not (isinstance(i, dict) and isinstance(i.get("kind"), str)
                and isinstance(i.get("params"), list)
                and all(isinstance(n, str) for n in i["params"])
                and (i.get("input") is None or isinstance(i["input"], str))):
            raise _bad(f"{at}[{j}]", f"is {i!r}, not an object of kind (text), params (a "
                                     "list of names), input (text or null) and value")
        _number(i.get("value"), f"{at}[{j}].value")


def fit_from_dict(doc: dict, law: Law | None = None) -> FitResult:
    """Rebuild a `FitResult` from `fit_to_dict`'s output (``law`` overrides the spec).

    Raises:
        ValueError: not a fit document, or a field is missing, of the wrong type, or null
            where the task's status says converged (the field is named); or the law
            predicts other numbers than the document's ``law_check`` records (`load`).
    """
    if not isinstance(doc, dict) or doc.get("schema") != FIT_SCHEMA:
        schema = doc.get("schema") if isinstance(doc, dict) else None
        if isinstance(schema, str) and schema.startswith(FIT_SCHEMA.split("/")[0] + "/"):
            raise _other_version(schema, FIT_SCHEMA)
        raise ValueError(f"not a jaxfit fit document (schema {schema!r}, "
                         f"expected {FIT_SCHEMA!r}).")
    _check_fit_doc(doc)
    law = _resolve(doc["law"], law)
    names = list(law.param_names)
    _check_fit_doc(doc, names)
    rows = doc["tasks"]
    nan = lambda v: math.nan if v is None else v  # noqa: E731
    options = _with_tuples(dict(doc["options"]), doc.get("option_tuples"))
    tasks = _tasks_index([r["task"] for r in rows], options.get("by"), doc.get("task_types"))
    values = np.array([[nan(r["params"][n]) for n in names] for r in rows], dtype=np.float64)
    points = _verify_law(law, doc.get("law_check"), values, tasks, doc["law"]["name"])
    res = FitResult(
        law=law, tasks=tasks, values=values,
        objective=np.array([_objective(r["objective"]) for r in rows], dtype=np.float64),
        # int64, as `jaxfit.fit` returns it (and the kept restarts' statuses load)
        status=np.array([Status[r["status"].upper()] for r in rows], dtype=np.int64),
        steps=np.array([r["steps"] for r in rows], dtype=np.int64),
        grad_norm=np.array([nan(r["grad_norm"]) for r in rows], dtype=np.float64),
        at_bound=np.array([[n in r["at_bound"] for n in names] for r in rows], dtype=bool),
        identified=np.array([r["identified"] for r in rows], dtype=bool),
        restarts=_restarts_from(rows, names),
        options=options,
        dof=(np.array([r["dof"] for r in rows], dtype=np.int64)
             if all("dof" in r for r in rows) else None),
        design=(tuple(tuple(Issue(i["kind"], tuple(i["params"]), i["input"], nan(i["value"]))
                            for i in r["design"]) for r in rows)
                if all("design" in r for r in rows) else None))
    if points is not None:
        # a loaded fit has no data to pick points from; saving it again records these
        object.__setattr__(res, "_check_points", points)
    return res


# ------------------------------------------------------------------------ posteriors

def _prior_to_json(prior) -> dict:
    """A prior as ``{"distribution": "Normal", "args": {"loc": 0.3, "scale": 0.05}}``
    when `_prior_from_json` rebuilds it exactly (a class of ``numpyro.distributions``
    with its constructor's arguments); else ``{"description": text, "reason": why}``
    (loaded as a `jaxfit.law.PriorDescription`). Before, the file held ``str(prior)``,
    "<numpyro...Normal object at 0x7f...>", and loaded it as that string."""
    import inspect

    import numpyro.distributions as dist

    from jaxfit.law import PriorDescription, dist_text

    if isinstance(prior, PriorDescription):
        return {"description": prior.text, "reason": prior.reason}
    if not isinstance(prior, dist.Distribution):
        return {"description": str(prior), "reason": "it was not a numpyro distribution"}
    cls = type(prior)
    why = (f"jaxfit rebuilds a numpyro distribution from its class and constructor "
           f"arguments, and {cls.__name__} is not one it can")
    if getattr(dist, cls.__name__, None) is cls:
        args = {}
        try:
            for name, par in list(inspect.signature(cls.__init__).parameters.items())[1:]:
                if name == "validate_args" or par.kind is par.VAR_KEYWORD:
                    continue
                if par.kind is par.VAR_POSITIONAL or not hasattr(prior, name):
                    raise TypeError(name)
                args[name] = np.asarray(getattr(prior, name), dtype=np.float64).tolist()
            doc = {"distribution": cls.__name__, "args": args}
            if _same_prior(_prior_from_json(doc), prior):
                return doc
        except (TypeError, ValueError):
            pass
    return {"description": dist_text(prior), "reason": why}


def _same_prior(a, b) -> bool:
    if type(a) is not type(b) or a.batch_shape != b.batch_shape:
        return False
    return all(np.array_equal(np.asarray(getattr(a, k), np.float64),
                              np.asarray(getattr(b, k), np.float64))
               for k in b.arg_constraints if hasattr(b, k))


def _prior_from_json(doc):
    """`_prior_to_json`'s output as a numpyro distribution, or a `PriorDescription`
    (also for a file written before priors were recorded: a string)."""
    from jaxfit.law import PriorDescription

    if isinstance(doc, dict) and isinstance(doc.get("distribution"), str):
        import numpyro.distributions as dist

        cls = getattr(dist, doc["distribution"], None)
        if isinstance(cls, type) and issubclass(cls, dist.Distribution):
            return cls(**{k: np.asarray(v, np.float64) if isinstance(v, list) else v
                          for k, v in doc.get("args", {}).items()})
        return PriorDescription(doc["distribution"], "numpyro has no such distribution")
    if isinstance(doc, dict) and "description" in doc:
        return PriorDescription(str(doc["description"]), str(doc.get("reason") or
                                                             "recorded as text only"))
    return PriorDescription(str(doc), "the file was written before priors were recorded")


def _options_to_json(options) -> dict:
    out = dict(options)
    if isinstance(out.get("priors"), dict):
        out["priors"] = {str(k): _prior_to_json(v) for k, v in out["priors"].items()}
    return _jsonable(out)


def _options_from_json(options: dict) -> dict:
    if isinstance(options.get("priors"), dict):
        options = {**options, "priors": {k: _prior_from_json(v)
                                         for k, v in options["priors"].items()}}
    return options


def _posterior_attrs(post, law_spec: str | None) -> dict:
    return {"jaxfit_schema": _POSTERIOR_SCHEMA,
            "jaxfit_law": json.dumps(_law_block(post.law, law_spec)),
            "jaxfit_tasks": json.dumps([_label(t) for t in post.tasks]),
            "jaxfit_task_types": json.dumps(_task_types(post.tasks)),
            "jaxfit_names": json.dumps(list(post.names)),
            "jaxfit_hyper": json.dumps(list(post.hyper)),
            "jaxfit_likelihood": json.dumps({"kind": post.likelihood.kind,
                                             "space": post.likelihood.space,
                                             "nu": post.likelihood.nu,
                                             "delta": post.likelihood.delta}),
            "jaxfit_options": json.dumps(_options_to_json(post.options)),
            "jaxfit_option_tuples": json.dumps(_tuple_options(post.options)),
            "jaxfit_timing": json.dumps(_jsonable(dict(post.timing))),
            "jaxfit_law_check": json.dumps(_posterior_check(post)),
            "jaxfit_fit": json.dumps(fit_to_dict(post.fit, law_spec) if post.fit else None)}


def _posterior_check(post) -> dict | None:
    """`_law_check` of a posterior: its law at a few of its data points, with each task's
    first draw (None without data)."""
    values = _first_draws(post)
    if values is None:
        return None
    return _law_check(post.law, values, _data_points(post.law, values, post.data))


def _save_posterior(post, path: Path, law_spec: str | None) -> None:
    import arviz as az
    import xarray as xr

    idata = post.idata
    # The pointwise groups (log_likelihood, posterior_predictive, observed_data) are
    # recomputed from the draws and constant_data on load.
    groups = {g: idata[g].copy() for g in idata.groups()
              if g not in ("log_likelihood", "posterior_predictive", "observed_data")}
    groups["posterior"].attrs.update(_posterior_attrs(post, law_spec))
    if post.method == "bootstrap" and post.stats:
        # the refits' statistics (status, distinct points, in-sample scale) drive the
        # diagnostics; not sample_stats, which would call the refits a sampler's chain
        post_ds = idata.posterior
        groups[_REFIT_STATS] = xr.Dataset(
            {n: (("chain", "draw", "task"), np.moveaxis(a, 0, -1))
             for n, a in post.stats.items() if a.ndim == 3},
            coords={c: post_ds[c].values for c in ("chain", "draw", "task")})
    saved = set(groups["sample_stats"].data_vars) if "sample_stats" in groups else set()
    saved |= set(groups[_REFIT_STATS].data_vars) if _REFIT_STATS in groups else set()
    rest = {n: np.asarray(a) for n, a in post.stats.items()
            if n not in saved and np.ndim(a) >= 1 and np.shape(a)[0] == len(post.tasks)}
    if rest:
        # task-first arrays [T, ...] (Laplace: [T]; NUTS warm-up: [T, chain, step]) with
        # the task axis last, as in the other groups; `_posterior_from` moves it back
        groups[_TASK_STATS] = xr.Dataset(
            {n: (tuple(f"{n}_dim{i}" for i in range(a.ndim - 1)) + ("task",),
                 np.moveaxis(a, 0, -1)) for n, a in rest.items()},
            coords={"task": idata.posterior["task"].values})
    with _known_stat_groups():
        az.InferenceData(**groups).to_netcdf(str(path), engine="h5netcdf")


@contextlib.contextmanager
def _known_stat_groups():
    """Silence ArviZ's "group is not defined in the InferenceData scheme" for jaxfit's
    own statistics groups, written and read on purpose."""
    with warnings.catch_warnings():
        for group in (_REFIT_STATS, _TASK_STATS):
            warnings.filterwarnings("ignore", message=f"{group} group is not defined")
        yield


def _load_posterior(path: Path, law: Law | None):
    import arviz as az

    try:
        with _known_stat_groups():
            idata = az.from_netcdf(str(path), engine="h5netcdf")
        attrs = idata.posterior.attrs
    except Exception as e:  # noqa: BLE001 - any reader failure means an unreadable file
        raise ValueError(f"cannot read it as a netCDF posterior ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]}); the file is truncated or "
                         "corrupted: save the result again (jaxfit.io.save).") from None
    schema = attrs.get("jaxfit_schema")
    if isinstance(schema, str) and schema != _POSTERIOR_SCHEMA:
        raise _other_version(schema, _POSTERIOR_SCHEMA)
    if schema != _POSTERIOR_SCHEMA:
        raise ValueError(f"{path} is a netCDF file without a jaxfit posterior (no "
                         "'jaxfit_schema' attribute); save posteriors with jaxfit.io.save.")
    try:
        return _posterior_from(idata, attrs, law)
    except (KeyError, TypeError, IndexError, AttributeError, json.JSONDecodeError) as e:
        field = e.args[0] if isinstance(e, KeyError) and e.args else None
        what = f"field {field!r} is missing" if field is not None else \
            f"a field is malformed ({type(e).__name__}: {e})"
        raise ValueError(f"{what}; the file is incomplete or corrupted: save the result "
                         "again (jaxfit.io.save).") from None


def _fit_law(law: Law, fit_doc: dict) -> Law:
    """The law of a posterior's point fit: the posterior's law, sharing what the fit
    shared. `jaxfit.sample` of a `jaxfit.share` law starts from a fit of the law without
    sharing (each task's own estimate); before, its file failed to load ("the file was
    fitted sharing []")."""
    shared = (fit_doc.get("law") or {}).get("shared")
    if not (isinstance(shared, list) and all(isinstance(n, str) for n in shared)
            and set(shared) <= set(law.param_names)):
        return law
    return law if sorted(shared) == sorted(law.shared) else law.replace(shared=tuple(shared))


def _check_posterior_attrs(post_ds, get) -> None:
    """The posterior group's jaxfit attributes hold what `_posterior_from` reads: the law
    block, options, likelihood, one task label per task of the draws, and the variables
    they name. Raises ValueError naming the attribute (before: a field named by xarray's
    sentence "No variable named 'x'...", "a field is malformed (AttributeError: ...)", or
    one task label for two tasks' draws reported as a malformed 'law_check')."""
    _check_law_block(get("jaxfit_law"), "jaxfit_law")
    for key in ("jaxfit_options", "jaxfit_likelihood"):
        if not isinstance(get(key), dict):
            raise _bad(key, f"is {get(key)!r}, not an object")
    _check_fit_options(get("jaxfit_options"), "jaxfit_options")
    for key in ("jaxfit_names", "jaxfit_hyper"):
        names = get(key)
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _bad(key, f"is {names!r}, not a list of variable names")
        missing = [n for n in names if n not in post_ds.data_vars]
        if missing:
            raise _bad(key, f"names {missing}, which the posterior group does not hold (it "
                            f"holds {sorted(map(str, post_ds.data_vars))})")
    labels = get("jaxfit_tasks")
    if not isinstance(labels, list):
        raise _bad("jaxfit_tasks", f"is {labels!r}, not a list of task labels")
    n = post_ds.sizes.get("task")
    if n is not None and len(labels) != n:
        raise _bad("jaxfit_tasks", f"holds {len(labels)} task label(s) for the draws of {n} "
                                   "task(s)")


def _task_first(values: np.ndarray) -> np.ndarray:
    """A netCDF variable with its last (task) axis first, as a C-ordered array."""
    return np.ascontiguousarray(np.moveaxis(values, -1, 0))


def _posterior_from(idata, attrs, law: Law | None):
    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.posterior import Posterior

    def get(key):
        try:
            return json.loads(attrs[key])
        except json.JSONDecodeError as e:
            raise ValueError(f"field {key!r} is not valid JSON ({e}); the file is corrupted: "
                             "save the result again (jaxfit.io.save).") from None
    _check_posterior_attrs(idata.posterior, get)
    law = _resolve(get("jaxfit_law"), law)
    options = get("jaxfit_options")
    post_ds = idata.posterior
    # [T, C, S] in C order, as `jaxfit.sample` makes them: a moved-axis view summed to
    # other last bits (a loaded posterior's summary() means and sds differed from the saved
    # one's by 1 ulp), and every flat() of it was strided
    draws = {n: _task_first(post_ds[n].values) for n in get("jaxfit_names")}
    hyper = {n: post_ds[n].values for n in get("jaxfit_hyper")}
    stats = {}
    for g in ("sample_stats", _REFIT_STATS, _TASK_STATS):
        if g in idata.groups():
            stats.update({n: _task_first(v.values) for n, v in idata[g].data_vars.items()
                          if "task" in v.dims})
    data, temper = None, None
    if "constant_data" in idata.groups():
        cd = idata.constant_data
        data = {"x": {n[2:]: cd[n].values for n in cd.data_vars if n.startswith("x_")},
                "y": cd["y_padded"].values, "w": cd["weight"].values}
        temper = cd["temper"].values if "temper" in cd.data_vars else None
    try:
        likelihood = make_likelihood(**get("jaxfit_likelihood"))
    except (TypeError, ValueError) as e:
        why = str(e).rstrip(".")
        raise _bad("jaxfit_likelihood", f"is not a likelihood jaxfit knows ({why})") from None
    fit_doc = get("jaxfit_fit")
    try:
        fit = fit_from_dict(fit_doc, _fit_law(law, fit_doc)) if fit_doc else None
    except ValueError as e:
        # its own fields ("field 'law' is missing") are those of the point fit it holds
        raise ValueError(f"field 'jaxfit_fit' (the point fit it started from): "
                         f"{str(e).removeprefix('load: ')}") from None
    types = get("jaxfit_task_types") if "jaxfit_task_types" in attrs else None
    options = _with_tuples(options, get("jaxfit_option_tuples")
                           if "jaxfit_option_tuples" in attrs else None)
    tasks = _tasks_index(get("jaxfit_tasks"), options.get("by"), types, "jaxfit_tasks")
    post = Posterior(law=law, tasks=tasks,
                     draws=draws, likelihood=likelihood,
                     method=attrs["method"], stats=stats, hyper=hyper,
                     fit=fit,
                     options=_options_from_json(options),
                     timing=get("jaxfit_timing"), data=data, temper=temper)
    if "jaxfit_law_check" in attrs:     # absent in files written before it was recorded
        values = _first_draws(post)
        if values is not None:
            _verify_law(law, get("jaxfit_law_check"), values, tasks, get("jaxfit_law")["name"])
    return post


# ------------------------------------------------------------------------ public API

def save(result: Any, path: str | Path, law_spec: str | None = None) -> Path:
    """Save a `FitResult` (as JSON) or a `Posterior` (as netCDF) to ``path``.

    Args:
        result: a `jaxfit.FitResult` or a `jaxfit.posterior.Posterior`.
        path: the file to write (conventionally ``.json`` for fits, ``.nc`` for posteriors;
            a leading ``~`` is the home directory).
        law_spec: how `load` rebuilds the law (see `get_law`); default the law's ``spec``
            (the call of a built-in factory, e.g. ``power_law(input='C', irreducible=True)``),
            else its name.

    Returns:
        The path written.
    """
    from jaxfit.posterior import Posterior

    path = Path(path).expanduser()       # "~/fit.json" (before: "directory '~' does not exist")
    if law_spec is not None and isinstance(result, (FitResult, Posterior)):
        _check_law_spec(result, law_spec)
    if isinstance(result, FitResult):
        text = json.dumps(fit_to_dict(result, law_spec), indent=2) + "\n"
        _atomic(path, lambda tmp: tmp.write_text(text))
    elif isinstance(result, Posterior):
        _atomic(path, lambda tmp: _save_posterior(result, tmp, law_spec))
    else:
        raise TypeError(f"save: expected a FitResult or a Posterior, got "
                        f"{type(result).__name__}.")
    return path


def _check_law_spec(result, spec) -> None:
    """ValueError unless ``spec`` (`save`'s ``law_spec``) rebuilds ``result``'s law as
    `load` would, with its names, inputs, `jaxfit.fix` values, `jaxfit.share` names and
    predictions (`_resolve`, `_verify_law`). Before, any text was written, and the file
    failed to load without ``law=`` (``law_spec="chinchilla"`` for a power law: "law
    'chinchilla' has parameters [...]"; ``law_spec=5``: "field 'law.spec' is missing or not
    a string; the file is ... corrupted"), found only when it was read back."""
    from jaxfit.posterior import Posterior

    law = result.law
    own = f" (its own spec is {law.spec!r})" if law.spec else ""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"save: law_spec={spec!r} is not a law spec; pass the call that "
                         f"rebuilds law {law.name!r}, e.g. 'power_law(input=C)', or None for "
                         f"the law's own{own}.")
    if isinstance(result, Posterior):
        values = _first_draws(result)
        points = None if values is None else _data_points(law, values, result.data)
    else:
        values, points = result.values, _check_points(result)
    try:
        if _module_elsewhere(spec):
            return
        rebuilt = _resolve(_law_block(law, spec), None)
        if values is not None:
            _verify_law(rebuilt, _law_check(law, values, points), values, result.tasks,
                        law.name)
    except ValueError as e:
        # load's advice ("pass load(path, law=...) with that law") is not this call's fix
        why = re.split(r"\. The file was saved from law |; pass (?:the law it was saved "
                       r"from|load\(path, law=)", str(e).removeprefix("load: "))[0]
        raise ValueError(f"save: law_spec={spec!r} does not rebuild law {law.name!r}, so "
                         f"load(path) could not read the file back: {why.rstrip('.')}. Pass "
                         f"the spec of this law, or law_spec=None for the law's own{own}.") \
            from None


def _module_elsewhere(spec: str) -> bool:
    """True when ``spec`` is ``"module:function"`` of a module this process cannot import:
    a law for another machine's `load`, which cannot be checked here. Raises ValueError
    when ``spec`` cannot be parsed."""
    _builtin_laws()
    name, _ = _parse_spec(spec)
    if name in LAWS or ":" not in name:
        return False
    try:
        importlib.import_module(name.partition(":")[0])
    except ImportError:
        return True
    except ValueError:      # no module name (":fn"): no machine's load can rebuild it, so
        return False        # the check runs and refuses it (before: the file was written)
    return False


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write through ``write(tmp)`` to a fresh temporary file in ``path``'s directory, then
    rename it over ``path`` (`os.replace`, atomic on POSIX and Windows): a reader sees the
    old file or the new one, never a partial one, and concurrent writers never share a
    file (the last rename wins)."""
    if path.parent.exists() and not path.parent.is_dir():
        # (before: "directory 'fit.json' does not exist; create it first")
        raise NotADirectoryError(f"save: cannot write {str(path)!r}: {str(path.parent)!r} is "
                                 "a file, not a directory; give a path in a directory.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: cannot write {str(path)!r}: directory "
                                f"{str(path.parent)!r} does not exist; create it first.")
    if path.is_dir():
        # (before: IsADirectoryError naming the hidden temporary file, '.out.123.ab.tmp')
        raise IsADirectoryError(f"save: cannot write {str(path)!r}: it is a directory; give a "
                                f"file path in it, e.g. {str(path / 'fit.json')!r} for a fit, "
                                f"{str(path / 'post.nc')!r} for a posterior.")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def saved_kind(path: str | Path) -> str | None:
    """What `save` wrote at ``path``, told by its first bytes whatever its name: "posterior"
    (netCDF, `NETCDF_MAGIC`), "fit" (a `FIT_SCHEMA` JSON document, of any version), else
    None (not a saved result, or unreadable).

    Args:
        path: the file.
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(256)
    except OSError:
        return None
    if head[:4] in NETCDF_MAGIC:
        return "posterior"
    schema = re.escape(FIT_SCHEMA.split("/")[0] + "/").encode()
    if re.match(rb'\s*\{\s*"schema"\s*:\s*"' + schema, head):
        return "fit"
    return None


def load(path: str | Path, law: Law | None = None):
    """Load what `save` wrote: a `FitResult` from JSON, a `Posterior` from netCDF.

    Args:
        path: the file (a leading ``~`` is the home directory).
        law: the law to attach (default: rebuilt from the file's law spec); its parameter
            names, inputs, `jaxfit.fix` values and `jaxfit.share` names must match the
            file's, and so must its predictions: a file records its law's predictions at
            a few of its own data points (a posterior's with each task's first draw), and
            the law is evaluated there; a difference beyond rounding (`LAW_CHECK_RTOL` of
            the largest prediction) means another function with the same names. Files
            saved before this record (or from results without data, such as
            hand-built ones) are not checked this way.

    Raises:
        ValueError: the file is missing, unreadable, or not a jaxfit result; or ``law``
            (or the law its spec names) is not the law it was saved from.
    """
    path = Path(path).expanduser()       # "~/fit.json" (before: "no file '~/fit.json'")
    if not path.is_file():
        raise ValueError(f"load: no file {str(path)!r}.")
    if saved_kind(path) == "posterior":
        try:
            return _load_posterior(path, law)
        except ValueError as e:
            raise _in_file(path, e) from None
    try:        # anything else is read as JSON, so a broken fit says why it does not load
        text = path.read_bytes()
    except OSError as e:
        raise ValueError(f"load: cannot read {str(path)!r} ({e}).") from None
    try:
        doc = json.loads(text.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {str(path)!r} is neither a jaxfit JSON fit nor a netCDF "
                         f"posterior ({type(e).__name__}: {e}); if it was a saved fit, it is "
                         "truncated or corrupted: save the result again.") from None
    if not isinstance(doc, dict):
        raise ValueError(f"load: {str(path)!r} holds JSON but not a jaxfit fit document.")
    try:
        return fit_from_dict(doc, law)
    except ValueError as e:
        raise _in_file(path, e) from None


def _in_file(path: Path, e: ValueError) -> ValueError:
    """``e`` as ``load: 'path': ...``, once: the law checks' messages already begin with
    ``load: `` (they are raised by `fit_from_dict` too), which read ``load: 'path': load:
    law ...`` before."""
    msg = str(e)
    return ValueError(f"load: {str(path)!r}: {msg.removeprefix('load: ')}")
