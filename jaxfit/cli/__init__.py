"""The ``jaxfit`` command: fit, sample and predict laws on CSV/Parquet files or embedded data.

Subcommands: ``fit``, ``sample``, ``predict``, ``datasets list|show|export``, ``optimal``
and ``suggest`` (`jaxfit.cli.decide`), and one per
recipe (``ladder``, ...; see `jaxfit.cli.recipes`). Data is a CSV or Parquet file or an
embedded dataset's name; ``--x N=params D=tokens`` maps law inputs to columns, ``--y`` and
``--by`` name the target and task columns. ``--json`` prints a document whose schema is
in ``jaxfit/schema/`` (``jaxfit.fit/1``, ``jaxfit.posterior/1``, ``jaxfit.predict/1``,
``jaxfit.recipe/1``, ``jaxfit.datasets/1``).

Exit codes: 0 success; 2 bad input (unreadable file, missing column, unknown law, ...)
with a one-line reason on stderr; 1 a failed fit (a task that did not converge, or
posterior diagnostics that fail their thresholds).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from jaxfit import progress
from jaxfit.cli.recipes import RECIPES
from jaxfit.io import LAWS, _builtin_laws, register_law

__all__ = ["main", "LAWS", "register_law", "RECIPES"]


class InputError(Exception):
    """Bad input: exit code 2 with a one-line message."""


def _call(fn, *args, **kwargs):
    """Run ``fn``; its ValueError/TypeError (bad input) becomes an `InputError`."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError, KeyError) as e:
        raise InputError(str(e)) from None


def _import(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _law(spec: str):
    from jaxfit.io import get_law

    return _call(get_law, spec)


# ------------------------------------------------------------------------------ input

def _read(source: str) -> pd.DataFrame:
    from jaxfit import datasets

    if source in datasets.names():
        return datasets.load(source)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source!r} is neither a file nor an embedded dataset "
                         f"({', '.join(datasets.names())})")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"cannot read {source!r}: {type(e).__name__}: {e}") from None


def _pairs(pairs, flag: str) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise InputError(f"{flag} expects NAME=VALUE pairs, got {pair!r}")
        out[name] = value
    return out


def _select(df: pd.DataFrame, where: str | None) -> pd.DataFrame:
    if not where:
        return df
    try:
        return df.query(where)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"--where {where!r} failed: {type(e).__name__}: {e}") from None


def _value(v: str):
    try:
        return float(v)
    except ValueError:
        return v


def _at(pairs, law, mapping) -> pd.DataFrame | None:
    """``--at N=7e9,7e10 D=4e12,1e13`` -> rows; law input names map to their columns."""
    if not pairs:
        return None
    cols = {}
    for name, values in _pairs(pairs, "--at").items():
        cols[mapping.get(name, name)] = [_value(v) for v in values.split(",")]
    lengths = {len(v) for v in cols.values()}
    if len(lengths - {1}) > 1:
        raise InputError(f"--at: give every name the same number of comma-separated values, "
                         f"got {{{', '.join(f'{k}: {len(v)}' for k, v in cols.items())}}}")
    n = max(lengths)
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in cols.items()})


def _by(by):
    return by if not by or len(by) > 1 else by[0]


def _writable(path: str | None, flag: str) -> None:
    """Fail (exit 2) before any fitting when ``path`` cannot be written."""
    if not path:
        return
    import tempfile

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag} {path!r} is a directory; give a file path")
    if not p.parent.is_dir():
        raise InputError(f"{flag} {path!r}: directory {str(p.parent)!r} does not exist; "
                         "create it first")
    try:
        with tempfile.TemporaryFile(dir=p.parent):
            pass
        if p.exists() and not os.access(p, os.W_OK):
            raise PermissionError(f"{path!r} is read-only")
    except OSError as e:
        raise InputError(f"{flag} {path!r} is not writable ({e}); choose another path") from None


def _writable_dir(path: str | None, flag: str) -> None:
    """Fail before any work when directory ``path`` cannot be created or written."""
    if not path:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{flag} {path!r} exists and is not a directory")
    base = p
    while not base.exists():
        base = base.parent
    if not base.is_dir() or not os.access(base, os.W_OK):
        raise InputError(f"{flag} {path!r}: {str(base)!r} is not a writable directory")


def _checked_at(args, law, mapping) -> pd.DataFrame | None:
    """``--at`` rows, validated before any fitting: every law input given, known names only,
    finite values (> 0 for inputs the law takes the log of)."""
    from jaxfit.checks import prediction_inputs

    at = _at(args.at, law, mapping)
    if at is None:
        return None
    cols = {mapping.get(n, n) for n in law.inputs}
    extra = [c for c in at.columns if c not in cols and c not in (args.by or [])]
    if extra:
        raise InputError(f"--at names {extra}, which are not inputs of law {law.name!r} "
                         f"(its inputs: {list(law.inputs)})")
    _call(prediction_inputs, law, at, mapping, where="--at")
    return at


def _precheck(args, law, mapping) -> pd.DataFrame | None:
    """Everything the command line can check before a fit: output paths, ``--at``, ``--prob``."""
    for flag in ("save", "plot", "residuals", "pairs"):
        _writable(getattr(args, flag, None), f"--{flag}")
    if getattr(args, "prob", None) is not None:
        from jaxfit.posterior import _check_prob

        _call(_check_prob, args.prob)
    return _checked_at(args, law, mapping)


def _save(result, path: str | None, spec: str | None) -> None:
    if not path:
        return
    from jaxfit.io import save

    try:
        save(result, path, law_spec=spec)
    except OSError as e:
        raise InputError(f"cannot write --save {path!r}: {e}") from None


# ------------------------------------------------------------------------------ output

def _print_frame(df: pd.DataFrame, title: str | None = None) -> None:
    with pd.option_context("display.width", 160, "display.max_columns", 30,
                           "display.max_rows", 200, "display.float_format", "{:.6g}".format):
        if title:
            print(title)
        print(df.to_string())


def _records(df: pd.DataFrame) -> list[dict]:
    """A DataFrame as JSON records (index as columns, MultiIndex columns joined by '|')."""
    df = df.copy()
    if isinstance(df.columns, pd.MultiIndex):
        df.columns = ["|".join(map(str, c)) for c in df.columns]
    if any(n is not None for n in df.index.names) or not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    df.columns = [str(c) for c in df.columns]
    from jaxfit.io import _jsonable

    return [_jsonable(r) for r in df.to_dict(orient="records")]


def _emit_json(doc: dict) -> None:
    print(json.dumps(doc, indent=2, allow_nan=False))


def _savefig(fig, path: str) -> None:
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot write plot {path!r}: {e}") from None
    print(f"wrote {path}", file=sys.stderr)


def _warnings(caught) -> None:
    seen = set()
    for w in caught:
        msg = " ".join(str(w.message).split())
        if msg not in seen:
            seen.add(msg)
            print(f"warning: {msg}", file=sys.stderr)


# ------------------------------------------------------------------------------ commands

def _data_and_law(args):
    law = _law(args.law)
    df = _select(_read(args.data), args.where)
    return df, law, _pairs(args.x, "--x")


def _cmd_fit(args) -> int:
    import jaxfit as jf
    from jaxfit.io import fit_to_dict
    from jaxfit.plot import plot_fit, plot_residuals

    df, law, mapping = _data_and_law(args)
    at = _precheck(args, law, mapping)
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"fitting {law.name} ({len(df)} rows)", args.quiet):
        warnings.simplefilter("always")
        res = _call(jf.fit, law, df, y=args.y, by=_by(args.by), x=mapping, loss=args.loss,
                    delta=args.delta, space=args.space, init=args.init,
                    restarts=args.restarts, seed=args.seed, method=args.method,
                    max_steps=args.max_steps)
    _warnings(caught)
    pred = _call(res.predict, at) if at is not None else None
    if args.json:
        _emit_json(fit_to_dict(res, args.law))
    else:
        _print_frame(res.to_frame(), f"{law.name}: {law.formula}  ({len(df)} rows, "
                                     f"{len(res.tasks)} task(s))")
        if pred is not None:
            _print_frame(_long(at, pred, args.y), "\npredictions:")
    _save(res, args.save, args.law)
    if args.plot:
        _savefig(_call(plot_fit, res, df, at=at), args.plot)
    if args.residuals:
        _savefig(_call(plot_residuals, res, df), args.residuals)
    return 0 if res.converged.all() else 1


def _posterior_doc(post, spec: str, prob: float) -> dict:
    from jaxfit.io import _jsonable, _label, _law_block

    summ = post.summary(prob=prob)
    diag = post.diagnostics
    tasks = []
    for i, task in enumerate(post.tasks):
        rows = summ.xs(task, level=0) if not isinstance(task, tuple) else \
            summ.loc[task]
        params = {name: {k: _jsonable(v) for k, v in rows.loc[name].items()}
                  for name in post.names}
        tasks.append({"task": _label(task), "params": params,
                      "diagnostics": {k: _jsonable(v) for k, v in diag.iloc[i].items()}})
    return {"schema": "jaxfit.posterior/1", "law": _law_block(post.law, spec),
            "method": post.method, "prob": prob, "options": _jsonable(dict(post.options)),
            "tasks": tasks}


def _cmd_sample(args) -> int:
    from jaxfit.plot import plot_fit, plot_pairs
    from jaxfit.sample import bootstrap, sample

    df, law, mapping = _data_and_law(args)
    at = _precheck(args, law, mapping)
    common = dict(y=args.y, by=_by(args.by), x=mapping, space=args.space, seed=args.seed,
                  restarts=args.restarts, init=args.init)
    if args.method == "bootstrap":
        what = f"bootstrap: {args.n} refits"
        run = lambda: bootstrap(law, df, n=args.n, loss=args.loss, delta=args.delta,  # noqa
                                **common)
    else:
        what = f"{args.method}: {args.chains} chains x {args.warmup}+{args.samples}"
        run = lambda: sample(law, df, method=args.method, chains=args.chains,  # noqa: E731
                             warmup=args.warmup, samples=args.samples,
                             likelihood=args.likelihood, target_accept=args.target_accept,
                             loss=args.loss, delta=args.delta, **common)
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"{what} draws ({law.name}, {len(df)} rows)", args.quiet):
        warnings.simplefilter("always")
        post = _call(run)
    _warnings(caught)
    pred = _call(post.predict, at, prob=args.prob) if at is not None else None
    if args.json:
        _emit_json(_posterior_doc(post, args.law, args.prob))
    else:
        _print_frame(post.summary(prob=args.prob),
                     f"{law.name}: {law.formula}  ({post.method}, {post.n_draws} draws per "
                     f"task, {len(post.tasks)} task(s); {args.prob:g} intervals)")
        _print_frame(post.diagnostics, "\ndiagnostics:")
        if pred is not None:
            _print_frame(_long(at, pred, None), "\npredictions:")
    _save(post, args.save, args.law)
    if args.plot:
        _savefig(_call(plot_fit, post, df, at=at, prob=args.prob), args.plot)
    if args.pairs:
        _savefig(_call(plot_pairs, post, task=post.tasks[0]), args.pairs)
    ok = post.diagnostics["ok"].to_numpy().all()
    finite = all(np.isfinite(v).all() for v in post.draws.values())
    return 0 if ok and finite else 1


def _long(at: pd.DataFrame, pred, name: str | None) -> pd.DataFrame:
    """Inputs next to predictions; one row per (task, input row) when tasks fan out."""
    if isinstance(pred, pd.Series):
        return at.assign(**{name or "prediction": pred.to_numpy()})
    if name is not None:                           # FitResult: one column per task
        pred = pred.stack().rename(name).to_frame().swaplevel().sort_index(level=0)
    idx = pred.index
    if isinstance(idx, pd.MultiIndex):
        task_name = idx.names[0] or "task"
        rows = at.loc[idx.get_level_values(-1)].reset_index(drop=True)
        rows.insert(0, task_name, idx.get_level_values(0))
        return pd.concat([rows, pred.reset_index(drop=True)], axis=1)
    return pd.concat([at, pred], axis=1)


def _cmd_predict(args) -> int:
    from jaxfit.io import _law_block, load
    from jaxfit.posterior import Posterior

    law = _law(args.law) if args.law else None
    result = _call(load, args.model, law=law)
    mapping = result.options.get("x") or {}
    args.by = _by_list(result.options.get("by"))
    at = _precheck(args, result.law, mapping)
    if args.data:
        rows = _select(_read(args.data), args.where)
    elif at is not None:
        rows = at
    else:
        raise InputError("predict needs new inputs: a CSV/Parquet file or dataset name, or "
                         "--at N=7e9 D=4e12")
    is_post = isinstance(result, Posterior)
    with progress.running(f"predicting {len(rows)} row(s)", args.quiet):
        pred = (_call(result.predict, rows, prob=args.prob, seed=args.seed) if is_post
                else _call(result.predict, rows))
    out = _long(rows.reset_index(drop=True),
                pred.reset_index(drop=True) if not isinstance(pred.index, pd.MultiIndex)
                else pred, None if is_post else result.options.get("y", "prediction"))
    if args.json:
        _emit_json({"schema": "jaxfit.predict/1", "law": _law_block(result.law, None),
                    "source": "posterior" if is_post else "fit",
                    "prob": args.prob if is_post else None, "rows": _records(out)})
    else:
        _print_frame(out, f"{result.law.name}: {result.law.formula}"
                          + (f"  ({args.prob:g} intervals)" if is_post else ""))
    bad = int((~np.isfinite(out.select_dtypes("number").to_numpy())).sum())
    if bad:
        print(f"warning: {bad} predicted values are not finite (a task whose fit failed, or "
              "a law undefined at these inputs)", file=sys.stderr)
    return 0 if not bad else 1


def _by_list(by) -> list:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def _cmd_datasets(args) -> int:
    from jaxfit import datasets

    if args.action == "list":
        if args.json:
            _emit_json({"schema": "jaxfit.datasets/1", "datasets": [
                {k: v for k, v in vars(datasets.info(n)).items() if k != "rename"}
                for n in datasets.names()]})
        else:
            for name in datasets.names():
                print(f"{name}: {datasets.info(name).description}")
        return 0
    if not args.name:
        raise InputError(f"datasets {args.action} needs a dataset name: {datasets.names()}")
    info = _call(datasets.info, args.name)
    df = datasets.load(args.name)
    if args.action == "show":
        print(f"{info.name}: {info.description}\nsource: {info.source}\n"
              f"cite: {info.citation}\nlicense: {info.license}\n")
        _print_frame(df.head(10))
        print(f"... {len(df)} rows, columns {list(df.columns)}")
    else:
        out = args.output or f"{args.name}.csv"
        try:
            df.to_parquet(out, index=False) if out.endswith((".parquet", ".pq")) \
                else df.to_csv(out, index=False)
        except (OSError, ImportError) as e:
            raise InputError(f"cannot write {out!r}: {e}") from None
        print(f"wrote {len(df)} rows to {out}")
    return 0


def _cmd_recipe(args) -> int:
    recipe = RECIPES[args.command]
    kwargs = {a.dest: getattr(args, a.dest) for a in recipe.args
              if getattr(args, a.dest) is not None}
    data = getattr(args, "data", None)
    _writable_dir(args.out, "--out")
    _writable(args.plot, "--plot")
    if args.plot and recipe.plot is None:
        raise InputError(f"{args.command} has no plot")
    call = [_select(_read(data), args.where)] if data else []
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"{args.command} recipe", args.quiet):
        warnings.simplefilter("always")
        result = _call(_import(recipe.run), *call, **kwargs)
    _warnings(caught)
    tables = recipe.frames(result)
    if args.json:
        _emit_json({"schema": "jaxfit.recipe/1", "recipe": args.command,
                    "options": json.loads(json.dumps(kwargs, default=str)),
                    "tables": {k: _records(v) for k, v in tables.items()}})
    else:
        name, first = next(iter(tables.items()))
        _print_frame(first, f"{args.command}: {name}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for k, v in tables.items():
            v.to_csv(out / f"{k}.csv")
        print(f"wrote {len(tables)} tables to {out}/", file=sys.stderr)
    if args.plot:
        if recipe.plot is None:
            raise InputError(f"{args.command} has no plot")
        _savefig(_import(recipe.plot)(result), args.plot)
    # MCMC posteriors whose chains fail their checks (r_hat, ESS, divergences, too few
    # points) make the run fail, as in `jaxfit sample`; bootstrap refits that did not
    # converge are reported by the recipes' own warnings and tables.
    failed = [name for name, post in _posteriors(result)
              if post.method == "nuts" and not post.diagnostics["ok"].all()]
    if failed:
        print(f"{args.command}: the NUTS posterior(s) {failed} fail their diagnostics (see "
              "the warnings above); exit status 1, as `jaxfit sample`.", file=sys.stderr)
        return 1
    return 0


def _posteriors(result, name: str = "result", depth: int = 2):
    """(name, Posterior) pairs held by a recipe's result: its fields, dict values, nested
    up to ``depth`` levels."""
    import dataclasses

    from jaxfit.posterior import Posterior

    if isinstance(result, Posterior):
        return [(name, result)]
    if depth == 0:
        return []
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = [(f.name, getattr(result, f.name)) for f in dataclasses.fields(result)]
    elif isinstance(result, dict):
        items = [(str(k), v) for k, v in result.items()]
    else:
        return []
    return [pair for k, v in items for pair in _posteriors(v, k, depth - 1)]


# ------------------------------------------------------------------------------ parser

def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV/Parquet file or embedded dataset name")
    p.add_argument("--law", default="chinchilla",
                   help="registered law, NAME(key=value,...), or module:function "
                        f"(registered: {', '.join(sorted(LAWS))})")
    p.add_argument("--x", nargs="+", metavar="NAME=COLUMN", help="map law inputs to columns")
    p.add_argument("--y", default="loss", help="target column (default: loss)")
    p.add_argument("--by", nargs="+", help="task column(s)")
    p.add_argument("--where", help="pandas query selecting rows, e.g. 'not outlier'")
    p.add_argument("--loss", default="huber", choices=["huber", "squared", "absolute"])
    p.add_argument("--delta", type=float, default=1e-3, help="Huber delta (default 1e-3)")
    p.add_argument("--space", default="log", choices=["log", "linear"])
    p.add_argument("--init", default="random", help="random, sobol or grid")
    p.add_argument("--restarts", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--at", nargs="+", metavar="NAME=VALUE[,VALUE...]",
                   help="target point(s) to predict and plot, e.g. N=7e9 D=4e12")
    p.add_argument("--save", metavar="PATH", help="save the result (fit: .json, posterior: .nc)")
    p.add_argument("--plot", metavar="PNG", help="plot data, curves and targets")


def _common(p: argparse.ArgumentParser, schema: str) -> None:
    p.add_argument("--json", action="store_true", help=f"print JSON (schema {schema})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other bad input."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    _builtin_laws()
    p = _Parser(prog="jaxfit", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a law (multi-start, all tasks in one call)")
    _data_args(f)
    f.add_argument("--method", default="newton", choices=["newton", "lbfgs"])
    f.add_argument("--max-steps", type=int, default=1000)
    f.add_argument("--residuals", metavar="PNG", help="plot residuals")
    _common(f, "jaxfit.fit/1")
    f.set_defaults(run=_cmd_fit)

    s = sub.add_parser("sample", help="posterior draws per task (NUTS, SVI, Laplace, bootstrap)")
    _data_args(s)
    s.add_argument("--method", default="nuts", choices=["nuts", "svi", "laplace", "bootstrap"])
    s.add_argument("--chains", type=int, default=4)
    s.add_argument("--warmup", type=int, default=1000)
    s.add_argument("--samples", type=int, default=1000)
    s.add_argument("--n", type=int, default=1000, help="bootstrap resamples")
    s.add_argument("--likelihood", default="huber",
                   choices=["huber", "normal", "studentt", "beta", "truncnormal"],
                   help="default huber: the likelihood whose maximum is the Huber fit")
    s.add_argument("--target-accept", type=float, default=0.95)
    s.add_argument("--prob", type=float, default=0.9, help="interval probability")
    s.add_argument("--pairs", metavar="PNG", help="pair plot of the first task's posterior")
    _common(s, "jaxfit.posterior/1")
    s.set_defaults(run=_cmd_sample)

    r = sub.add_parser("predict", help="predict from a saved fit (.json) or posterior (.nc)")
    r.add_argument("model", help="file written by --save (or `jaxfit fit --json > fit.json`)")
    r.add_argument("data", nargs="?", help="CSV/Parquet file or dataset of new inputs")
    r.add_argument("--at", nargs="+", metavar="NAME=VALUE[,VALUE...]",
                   help="new inputs on the command line, e.g. N=7e9 D=4e12")
    r.add_argument("--where", help="pandas query selecting rows of DATA")
    r.add_argument("--law", help="rebuild the law from this spec instead of the file's")
    r.add_argument("--prob", type=float, default=0.9, help="interval probability (posterior)")
    r.add_argument("--seed", type=int, default=0, help="seed of predictive noise draws")
    _common(r, "jaxfit.predict/1")
    r.set_defaults(run=_cmd_predict)

    d = sub.add_parser("datasets", help="list, show or export embedded datasets")
    d.add_argument("action", choices=["list", "show", "export"])
    d.add_argument("name", nargs="?")
    d.add_argument("-o", "--output", help="export path, .csv or .parquet (default NAME.csv)")
    d.add_argument("--json", action="store_true", help="list as JSON (jaxfit.datasets/1)")
    d.set_defaults(run=_cmd_datasets)

    from jaxfit.cli.backtest import add_parser as add_backtest_parser
    from jaxfit.cli.decide import add_parsers as add_decide_parsers

    add_decide_parsers(sub)                            # optimal, suggest
    add_backtest_parser(sub)                           # backtest
    for name, recipe in RECIPES.items():
        q = sub.add_parser(name, help=recipe.help)
        if recipe.takes_data:
            q.add_argument("data", nargs="?", help="CSV/Parquet file or dataset (default: "
                                                   "the recipe's embedded data)")
            q.add_argument("--where", help="pandas query selecting rows of DATA")
        for arg in recipe.args:
            q.add_argument(arg.flag, dest=arg.dest, **arg.kwargs)
        q.add_argument("--out", metavar="DIR", help="write every table as DIR/NAME.csv")
        q.add_argument("--plot", metavar="PNG", help="the recipe's figure")
        _common(q, "jaxfit.recipe/1")
        q.set_defaults(run=_cmd_recipe)
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed fit, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as e:
        print(f"jaxfit: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:                 # `jaxfit ... | head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - avoid a second error at exit
        return 0
