"""Laws by name, and saving fits and posteriors to disk.

A point fit (`jaxfit.FitResult`) is saved as JSON (schema ``jaxfit.fit/1``, the same
document ``jaxfit fit --json`` prints; ``jaxfit/schema/fit.json``); a posterior
(`jaxfit.posterior.Posterior`, from `jaxfit.sample` or `jaxfit.bootstrap`) as netCDF, its
ArviZ ``InferenceData`` plus the attributes needed to rebuild it. Floats are written
exactly (JSON uses ``repr``; netCDF stores float64), so a loaded result predicts exactly
what the saved one did.

A saved file names its law by a *spec*: a registered name (``"chinchilla"``), a name with
arguments (``"power_law(input=C)"``), or ``"module:function"`` for a user's factory. `load`
rebuilds the law from it, or takes ``law=`` for laws built in code (compositions, fixes).

Example:
    >>> import jaxfit as jf
    >>> law = get_law("power_law(input=C, irreducible=False)")
    >>> law.name, law.param_names
    ('power_law_C_pure', ('A', 'alpha'))
"""

from __future__ import annotations

import ast
import importlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxfit.inference.design import Issue
from jaxfit.inference.status import Status
from jaxfit.law import Law
from jaxfit.result import FitResult

__all__ = ["LAWS", "register_law", "get_law", "save", "load", "fit_to_dict",
           "fit_from_dict", "FIT_SCHEMA"]

FIT_SCHEMA = "jaxfit.fit/1"

#: Law registry: name -> factory (called with the spec's keyword arguments).
LAWS: dict[str, Callable[..., Law]] = {}


def register_law(name: str, factory: Callable[..., Law]) -> None:
    """Make ``factory(**kwargs)`` available as the spec ``name`` / ``name(k=v, ...)``,
    e.g. ``jaxfit fit runs.csv --law NAME`` and `load` of files that name it."""
    LAWS[name] = factory


def _builtin_laws() -> None:
    from jaxfit import models

    for name in ("chinchilla", "power_law", "kaplan", "sigmoid", "linear", "broken_power_law",
                 "ladder_step1", "ladder_step1_flops"):
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
        except (ImportError, AttributeError) as e:
            raise ValueError(f"cannot load law {spec!r}: {e}") from None
    else:
        raise ValueError(f"unknown law {spec!r}; known laws: {sorted(LAWS)} (or "
                         "module:function, or register one with jaxfit.io.register_law).")
    law = factory
    if callable(factory) and not isinstance(factory, Law):
        try:
            law = factory(**kwargs)
        except TypeError as e:
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
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return str(v)


def _label(task):
    return [_jsonable(t) for t in task] if isinstance(task, tuple) else _jsonable(task)


def _tasks_index(labels: list, by) -> pd.Index:
    cols = [by] if isinstance(by, str) else list(by or [])
    if len(cols) > 1:
        return pd.MultiIndex.from_tuples([tuple(t) for t in labels], names=cols)
    return pd.Index(labels, name=cols[0] if cols else None)


def _law_block(law: Law, spec: str | None) -> dict:
    return {"name": law.name, "spec": spec or law.name, "formula": law.formula,
            "inputs": list(law.inputs), "params": list(law.param_names)}


def _resolve(block: dict, law: Law | None) -> Law:
    if law is None:
        try:
            law = get_law(block["spec"])
        except ValueError as e:
            raise ValueError(f"{e} The file was saved from law {block['name']!r}; pass "
                             "load(path, law=...) with that law.") from None
    if list(law.param_names) != list(block["params"]):
        raise ValueError(f"load: law {law.name!r} has parameters {list(law.param_names)}, "
                         f"the file has {block['params']}; pass the law it was saved from.")
    return law


# ------------------------------------------------------------------------ point fits

def fit_to_dict(res: FitResult, law_spec: str | None = None) -> dict:
    """A `FitResult` as a JSON-ready dict (schema ``jaxfit.fit/1``; non-finite -> null)."""
    names = list(res.law.param_names)
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
               {"design": [dict(d._asdict()) for d in res.design[i]]})})
    return {"schema": FIT_SCHEMA, "law": _law_block(res.law, law_spec),
            "options": _jsonable(dict(res.options)), "tasks": tasks}


def fit_from_dict(doc: dict, law: Law | None = None) -> FitResult:
    """Rebuild a `FitResult` from `fit_to_dict`'s output (``law`` overrides the spec)."""
    if doc.get("schema") != FIT_SCHEMA:
        raise ValueError(f"not a jaxfit fit document (schema {doc.get('schema')!r}, "
                         f"expected {FIT_SCHEMA!r}).")
    law = _resolve(doc["law"], law)
    names = list(law.param_names)
    rows = doc["tasks"]
    nan = lambda v: math.nan if v is None else v  # noqa: E731
    return FitResult(
        law=law, tasks=_tasks_index([r["task"] for r in rows], doc["options"].get("by")),
        values=np.array([[nan(r["params"][n]) for n in names] for r in rows], dtype=np.float64),
        objective=np.array([nan(r["objective"]) for r in rows], dtype=np.float64),
        status=np.array([Status[r["status"].upper()] for r in rows], dtype=np.int32),
        steps=np.array([r["steps"] for r in rows], dtype=np.int64),
        grad_norm=np.array([nan(r["grad_norm"]) for r in rows], dtype=np.float64),
        at_bound=np.array([[n in r["at_bound"] for n in names] for r in rows], dtype=bool),
        identified=np.array([r["identified"] for r in rows], dtype=bool),
        options=dict(doc["options"]),
        dof=(np.array([r["dof"] for r in rows], dtype=np.int64)
             if all("dof" in r for r in rows) else None),
        design=(tuple(tuple(Issue(i["kind"], tuple(i["params"]), i["input"], i["value"])
                            for i in r["design"]) for r in rows)
                if all("design" in r for r in rows) else None))


# ------------------------------------------------------------------------ posteriors

def _posterior_attrs(post, law_spec: str | None) -> dict:
    return {"jaxfit_schema": "jaxfit.posterior/1",
            "jaxfit_law": json.dumps(_law_block(post.law, law_spec)),
            "jaxfit_tasks": json.dumps([_label(t) for t in post.tasks]),
            "jaxfit_names": json.dumps(list(post.names)),
            "jaxfit_hyper": json.dumps(list(post.hyper)),
            "jaxfit_likelihood": json.dumps({"kind": post.likelihood.kind,
                                             "space": post.likelihood.space,
                                             "nu": post.likelihood.nu}),
            "jaxfit_options": json.dumps(_jsonable(dict(post.options))),
            "jaxfit_timing": json.dumps(_jsonable(dict(post.timing))),
            "jaxfit_fit": json.dumps(fit_to_dict(post.fit, law_spec) if post.fit else None)}


def _save_posterior(post, path: Path, law_spec: str | None) -> None:
    import arviz as az

    idata = post.idata
    groups = {g: idata[g].copy() for g in idata.groups()}
    groups["posterior"].attrs.update(_posterior_attrs(post, law_spec))
    az.InferenceData(**groups).to_netcdf(str(path), engine="h5netcdf")


def _load_posterior(path: Path, law: Law | None):
    import arviz as az

    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.posterior import Posterior

    idata = az.from_netcdf(str(path), engine="h5netcdf")
    attrs = idata.posterior.attrs
    if attrs.get("jaxfit_schema") != "jaxfit.posterior/1":
        raise ValueError(f"{path} is a netCDF file without a jaxfit posterior (no "
                         "'jaxfit_schema' attribute); save posteriors with jaxfit.io.save.")
    get = lambda key: json.loads(attrs[key])  # noqa: E731
    law = _resolve(get("jaxfit_law"), law)
    options = get("jaxfit_options")
    post_ds = idata.posterior
    draws = {n: np.moveaxis(post_ds[n].values, -1, 0) for n in get("jaxfit_names")}
    hyper = {n: post_ds[n].values for n in get("jaxfit_hyper")}
    stats = {}
    if "sample_stats" in idata.groups():
        stats = {n: np.moveaxis(v.values, -1, 0) for n, v in idata.sample_stats.data_vars.items()
                 if "task" in v.dims}
    data = None
    if "constant_data" in idata.groups():
        cd = idata.constant_data
        data = {"x": {n[2:]: cd[n].values for n in cd.data_vars if n.startswith("x_")},
                "y": idata.observed_data["y"].values, "w": cd["weight"].values}
    fit_doc = get("jaxfit_fit")
    return Posterior(law=law, tasks=_tasks_index(get("jaxfit_tasks"), options.get("by")),
                     draws=draws, likelihood=make_likelihood(**get("jaxfit_likelihood")),
                     method=attrs["method"], stats=stats, hyper=hyper,
                     fit=fit_from_dict(fit_doc, law) if fit_doc else None, options=options,
                     timing=get("jaxfit_timing"), data=data)


# ------------------------------------------------------------------------ public API

def save(result: Any, path: str | Path, law_spec: str | None = None) -> Path:
    """Save a `FitResult` (as JSON) or a `Posterior` (as netCDF) to ``path``.

    Args:
        result: a `jaxfit.FitResult` or a `jaxfit.posterior.Posterior`.
        path: the file to write (conventionally ``.json`` for fits, ``.nc`` for posteriors).
        law_spec: how `load` rebuilds the law (see `get_law`); default the law's name,
            which works for the registered laws with default arguments.

    Returns:
        The path written.
    """
    from jaxfit.posterior import Posterior

    path = Path(path)
    if isinstance(result, FitResult):
        path.write_text(json.dumps(fit_to_dict(result, law_spec), indent=2) + "\n")
    elif isinstance(result, Posterior):
        _save_posterior(result, path, law_spec)
    else:
        raise TypeError(f"save: expected a FitResult or a Posterior, got "
                        f"{type(result).__name__}.")
    return path


def load(path: str | Path, law: Law | None = None):
    """Load what `save` wrote: a `FitResult` from JSON, a `Posterior` from netCDF.

    Args:
        path: the file.
        law: the law to attach (default: rebuilt from the file's law spec); its parameter
            names must match the file's.

    Raises:
        ValueError: the file is missing, unreadable, or not a jaxfit result.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"load: no file {str(path)!r}.")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] in (b"\x89HDF", b"CDF\x01", b"CDF\x02"):
        return _load_posterior(path, law)
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {str(path)!r} is neither a jaxfit JSON fit nor a netCDF "
                         f"posterior ({type(e).__name__}: {e}).") from None
    if not isinstance(doc, dict):
        raise ValueError(f"load: {str(path)!r} holds JSON but not a jaxfit fit document.")
    return fit_from_dict(doc, law)
