"""The ``jaxfit`` command line: fit laws to CSV/Parquet files or embedded datasets.

Exit codes: 0 success, 1 a fit that did not converge, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main", "LAWS", "register_law"]

#: Law registry: name -> factory. Extend it with `register_law`, or name a factory as
#: ``module:function`` on the command line.
LAWS: dict = {}


def register_law(name: str, factory) -> None:
    """Make ``factory()`` available as ``--law NAME``."""
    LAWS[name] = factory


def _builtin_laws():
    from jaxfit import models

    for name in ("chinchilla", "power_law", "kaplan", "sigmoid", "linear", "broken_power_law"):
        LAWS.setdefault(name, getattr(models, name))


class InputError(Exception):
    """Bad input: exit code 2 with a one-line message."""


def _law(spec: str):
    _builtin_laws()
    if spec in LAWS:
        return LAWS[spec]()
    if ":" in spec:
        module, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise InputError(f"cannot load law {spec!r}: {e}") from None
        return obj() if callable(obj) and not hasattr(obj, "params") else obj
    raise InputError(f"unknown law {spec!r}; known laws: {sorted(LAWS)} (or module:function)")


def _read(source: str) -> pd.DataFrame:
    from jaxfit import datasets

    if source in datasets.names():
        return datasets.load(source)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source!r} is neither a file nor an embedded dataset "
                         f"({', '.join(datasets.names())})")
    try:
        if path.suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"cannot read {source!r}: {type(e).__name__}: {e}") from None


def _mapping(pairs) -> dict:
    out = {}
    for pair in pairs or []:
        name, sep, col = pair.partition("=")
        if not sep:
            raise InputError(f"--x expects NAME=COLUMN, got {pair!r}")
        out[name] = col
    return out


def _select(df: pd.DataFrame, where: str | None) -> pd.DataFrame:
    if not where:
        return df
    try:
        return df.query(where)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"--where {where!r} failed: {e}") from None


def _fit_json(res) -> dict:
    rows = []
    frame = res.to_frame()
    for task, row in frame.iterrows():
        rows.append({"task": task if np.isscalar(task) else list(task),
                     "params": {n: float(row[n]) for n in res.law.param_names},
                     "objective": float(row["objective"]), "status": row["status"],
                     "steps": int(row["steps"]), "identified": bool(row["identified"])})
    return {"schema": "jaxfit.fit/1", "law": res.law.name, "formula": res.law.formula,
            "options": {k: (v if isinstance(v, (str, int, float, bool, type(None), dict, list))
                            else str(v)) for k, v in res.options.items()},
            "tasks": rows}


def _cmd_fit(args) -> int:
    import jaxfit as jf

    law = _law(args.law)
    df = _select(_read(args.data), args.where)
    by = args.by if not args.by or len(args.by) > 1 else args.by[0]
    init = args.init
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = jf.fit(law, df, y=args.y, by=by, x=_mapping(args.x), loss=args.loss,
                         delta=args.delta, space=args.space, init=init,
                         restarts=args.restarts, seed=args.seed, method=args.method,
                         max_steps=args.max_steps)
        except ValueError as e:
            raise InputError(str(e)) from None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(_fit_json(res), indent=2))
    else:
        with pd.option_context("display.width", 120, "display.max_columns", 20,
                               "display.float_format", "{:.6g}".format):
            print(f"{law.name}: {law.formula}  ({len(df)} rows, {len(res.tasks)} task(s))")
            print(res.to_frame().to_string())
    return 0 if res.converged.all() else 1


def _cmd_datasets(args) -> int:
    from jaxfit import datasets

    if args.action == "list":
        for name in datasets.names():
            print(f"{name}: {datasets.info(name).description}")
        return 0
    if not args.name:
        raise InputError(f"datasets {args.action} needs a dataset name: {datasets.names()}")
    try:
        info = datasets.info(args.name)
    except ValueError as e:
        raise InputError(str(e)) from None
    df = datasets.load(args.name)
    if args.action == "show":
        print(f"{info.name}: {info.description}\nsource: {info.source}\n"
              f"cite: {info.citation}\nlicense: {info.license}\n")
        print(df.head(10).to_string())
        print(f"... {len(df)} rows, columns {list(df.columns)}")
    else:
        out = args.output or f"{args.name}.csv"
        df.to_csv(out, index=False)
        print(f"wrote {len(df)} rows to {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxfit", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a law (multi-start, all tasks in one call)")
    f.add_argument("data", help="CSV/Parquet file or embedded dataset name")
    f.add_argument("--law", default="chinchilla", help="registered law or module:function")
    f.add_argument("--x", nargs="*", metavar="NAME=COLUMN", help="map law inputs to columns")
    f.add_argument("--y", default="loss", help="target column (default: loss)")
    f.add_argument("--by", nargs="*", help="task column(s)")
    f.add_argument("--where", help="pandas query selecting rows, e.g. 'not outlier'")
    f.add_argument("--loss", default="huber", choices=["huber", "squared", "absolute"])
    f.add_argument("--delta", type=float, default=1e-3)
    f.add_argument("--space", default="log", choices=["log", "linear"])
    f.add_argument("--init", default="random", help="random, sobol or grid")
    f.add_argument("--restarts", type=int, default=64)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--method", default="newton", choices=["newton", "lbfgs"])
    f.add_argument("--max-steps", type=int, default=1000)
    f.add_argument("--json", action="store_true", help="print JSON (schema jaxfit.fit/1)")
    f.set_defaults(run=_cmd_fit)

    d = sub.add_parser("datasets", help="list, show or export embedded datasets")
    d.add_argument("action", choices=["list", "show", "export"])
    d.add_argument("name", nargs="?")
    d.add_argument("-o", "--output", help="export path (default NAME.csv)")
    d.set_defaults(run=_cmd_datasets)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as e:
        print(f"jaxfit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
