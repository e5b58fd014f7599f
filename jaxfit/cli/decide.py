"""``jaxfit optimal`` and ``jaxfit suggest``: decisions from a fit on the command line.

Both take a saved fit (``.json``) or posterior (``.nc``) from ``jaxfit fit/sample --save``,
or a data file / embedded dataset, which is then fitted (``--init``) and bootstrapped
(``--n-boot``, 0 for the point fit only) first. ``--json`` prints ``jaxfit.decide/1``:
``{"schema", "command", "law", "options", "tables": {name: [records]}}``.

Examples::

    jaxfit optimal chinchilla --where "not epoch_excluded_outlier" --init grid \\
        --n-boot 4000 --budgets 1e21 5.76e23 1e25 --plot allocation.png
    jaxfit suggest post.nc --candidates runs.csv --target N=7e9 D=4e12 --k 3
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import Any, NamedTuple


__all__ = ["add_parsers"]


class _Source(NamedTuple):
    """Everything `_result` needs, read and checked without fitting: a saved result (or
    None), its law, the column mapping, and the data to fit (None for a saved result)."""

    saved: Any
    law: Any
    mapping: dict
    data: Any
    by: Any


def _source(args) -> _Source:
    from jaxfit import cli
    from jaxfit.io import load, saved_kind
    from jaxfit.posterior import Posterior

    path = Path(args.source)
    if path.is_file() and (path.suffix.lower() in (".json", ".nc") or saved_kind(path)):
        law = cli._law(args.law) if args.law else None
        saved = cli._call(load, str(path), law=law)
        _saved_flags(args, "posterior" if isinstance(saved, Posterior) else "fit")
        return _Source(saved, saved.law, dict(saved.options.get("x") or {}), None,
                       cli._by_list(saved.options.get("by")))
    cli._fill_defaults(args, args.data_defaults)
    law = cli._law(args.law or "chinchilla")
    mapping = cli._pairs(args.x, "--x")
    df = cli._select(cli._read(args.source), args.where, mapping)
    return _Source(None, law, mapping, df, cli._by_list(args.by))


#: The options that fit and bootstrap DATA (their dests): a saved fit or posterior is not
#: refitted, so one given (at any value) is refused (`_saved_flags`). ``--seed`` seeds only
#: that fit and bootstrap for `optimal`; `suggest` uses it for its own draws.
_DATA_ONLY = ("x", "y", "by", "where", "init", "n_boot")
_DATA_ONLY_OF = {"optimal": _DATA_ONLY + ("seed",), "suggest": _DATA_ONLY}
#: Their defaults (those not listed: None), filled in by `jaxfit.cli._fill_defaults`. Each
#: defaults to None in the parser, so that an option given at its default value (``--y
#: loss``) is told from one not given; each help shows the default here.
_DATA_DEFAULTS = {"y": "loss", "init": "random", "n_boot": 1000, "seed": 0}


def _data_defaults(command: str) -> dict[str, Any]:
    """``command``'s DATA-only options (`_DATA_ONLY_OF`) and the defaults filled in when
    they are not given (`_DATA_DEFAULTS`), set on the parser as ``args.data_defaults``."""
    return {dest: _DATA_DEFAULTS.get(dest) for dest in _DATA_ONLY_OF[command]}


def _saved_flags(args, kind: str) -> None:
    """Refuse an option of the fit and bootstrap of DATA given with a saved SOURCE
    (``jaxfit optimal fit.json --n-boot 1000`` printed the point fit's table with no
    interval, ``--where``/``--by``/``--y`` were dropped: exit 0, the option silently
    unused), at any value: ``--y loss``, its default, passed unnoticed before (the parser
    defaults each to None, ``args.data_defaults``). ``kind``: what SOURCE loaded as,
    "fit" or "posterior"."""
    from jaxfit import cli

    def why(dest: str, shown: str) -> str:
        fix = ("for intervals give a posterior (.nc from jaxfit sample --save) or the DATA "
               "with --n-boot" if dest == "n_boot" else "drop it, or give the DATA to fit")
        return (f"applies only when SOURCE is data to fit; {cli._given(args.source)} is a "
                f"saved {kind}, used as it is; {fix}")

    cli._unused(args, args.data_defaults, why)


def _precheck(args) -> None:
    """Options checked before any fit or bootstrap (a typo never costs the refits)."""
    from jaxfit import cli
    from jaxfit.posterior import _check_prob

    cli._writable(args.plot, "--plot", cli._inputs(args))
    cli._call(_check_prob, args.prob)
    if args.n_boot is not None and args.n_boot < 0:
        raise cli.InputError(f"--n-boot {args.n_boot} must be >= 0 (0: the point fit only)")
    if args.n_boot is not None and args.n_boot > 0:
        # the bootstrap's own rule (an integer from 2 to MAX_COUNT), before the point fit:
        # before, --n-boot 1 was refused by jaxfit.bootstrap once that fit had run
        from jaxfit.checks import MAX_COUNT

        if not 2 <= args.n_boot <= MAX_COUNT:
            raise cli.InputError(f"--n-boot {args.n_boot}: a bootstrap needs 2 to {MAX_COUNT} "
                                 "resamples; give e.g. --n-boot 1000, or --n-boot 0 for the "
                                 "point fit only")


def _result(args, source, need_draws: bool):
    """The saved result, or a fit (and bootstrap) of the data."""
    import jaxfit as jf
    from jaxfit import cli, progress

    if source.saved is not None:
        return source.saved
    law, mapping, df = source.law, source.mapping, source.data
    n = args.n_boot
    if need_draws and not n:
        raise cli.InputError("suggest needs draws: give --n-boot > 0 or a posterior (.nc)")
    common = dict(y=args.y, by=cli._by(args.by), x=mapping, init=args.init, seed=args.seed)
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"fitting {law.name} ({len(df)} rows)"
                             + (f", {n} bootstrap refits" if n else ""), args.quiet):
        warnings.simplefilter("always")
        res = cli._call(jf.fit, law, df, warn=False, **common)
        if n:
            res = cli._call(jf.bootstrap, law, df, n=n, start=res, warn=False, **common)
    cli._warnings(caught)
    return res


def _emit(args, command: str, law, tables: dict, options: dict) -> None:
    from jaxfit import cli
    from jaxfit.io import _law_block

    if args.json:
        cli._emit_json({"schema": "jaxfit.decide/1", "command": command,
                        "law": _law_block(law, None), "options": options,
                        "tables": {k: cli._records(v) for k, v in tables.items()}})
    else:
        for i, (k, v) in enumerate(tables.items()):
            cli._print_frame(v, ("\n" if i else "") + f"{command}: {k}")


#: `jaxfit.decide.optimal._warn_outside`'s note on a result without its data, in the command
#: line's words: one line for optimal and --ratios' overtrain, the fix a SOURCE to give.
_UNCHECKED_WORDS = (
    ("overtrain: the budgets' units were not checked", "optimal: the budgets' units were "
                                                       "not checked"),
    ("To have them checked, pass a result fitted on the data in this session (jf.fit, "
     "jf.bootstrap or jf.sample) or a posterior saved as .nc.",
     "To have them checked, give the data (a CSV/Parquet file or dataset) as SOURCE, or a "
     "posterior saved by jaxfit sample --save (.nc)."),
)


def _cmd_optimal(args) -> int:
    import numpy as np

    from jaxfit import cli
    from jaxfit.decide import optimal, overtrain
    from jaxfit.decide.optimal import _budgets, _check_law, _ratios

    _precheck(args)
    # the library's rules of budgets (finite, positive, each once) and ratios, before any
    # fit (before: the command line's own copies, with their own messages)
    cli._call(_budgets, args.budgets, "optimal")
    if args.ratios is not None:
        cli._call(_ratios, args.ratios, "optimal")
    source = _source(args)
    cli._call(_check_law, source.law, args.inputs, "optimal")      # before any fit
    res = _result(args, source, need_draws=False)
    inputs = tuple(args.inputs)
    with warnings.catch_warnings(record=True) as caught:   # one line each, as `jaxfit fit`
        warnings.simplefilter("always")
        opt = cli._call(optimal, res, args.budgets, prob=args.prob, method=args.method,
                        inputs=inputs)
        tables = {"optimal": opt.to_frame()}
        if args.ratios:
            tables["overtrain"] = cli._call(overtrain, res, args.budgets, args.ratios,
                                            prob=args.prob, inputs=inputs)
    cli._warnings(caught, words=_UNCHECKED_WORDS)
    _emit(args, "optimal", opt.law, tables, dict(budgets=list(map(float, args.budgets)),
                                                 prob=args.prob, method=opt.method,
                                                 draws=opt.n_draws))
    if args.plot:
        from jaxfit.decide.plot import plot_allocation
        from jaxfit.warnings import UNCONVERGED, ConvergenceWarning

        with warnings.catch_warnings():      # optimal's line above named those tasks
            warnings.filterwarnings("ignore", UNCONVERGED, ConvergenceWarning)
            fig = plot_allocation(res, np.geomspace(min(args.budgets) / 10,
                                                    max(args.budgets) * 10, 25),
                                  prob=args.prob, mark=args.budgets, inputs=inputs)
        cli._savefig(fig, args.plot)
    return 0 if not opt.at_edge.any() else 1


def _grid_values(grid, inputs: tuple[str, str]) -> dict[str, list[float]]:
    """``--grid N=4e8,1e9 D=1e10,4e10`` as {input: [values]}; InputError (exit 2) naming
    the flag, the pair and the value that is not a positive number (before: Python's
    "could not convert string to float: 'x'"), or the names that are not the --inputs."""
    from jaxfit import cli

    iN, iD = inputs
    example = f"e.g. --grid {iN}=4e8,1e9 {iD}=1e10,4e10"
    vals = {}
    for name, text in cli._pairs(grid, "--grid").items():
        vals[name] = []
        for v in text.split(","):
            try:
                x = float(v)
            except ValueError:
                x = math.nan
            if not (math.isfinite(x) and x > 0):
                raise cli.InputError(f"--grid {name}={text}: {v.strip()!r} is not a positive "
                                     f"number; give {name}'s values as comma-separated "
                                     f"positive numbers, {example}")
            vals[name].append(x)
    if set(vals) != {iN, iD}:
        raise cli.InputError(f"--grid expects {iN}=... {iD}=... (the --inputs), got "
                             f"{sorted(vals)}; {example}")
    return vals


def _cmd_suggest(args) -> int:
    from jaxfit import cli
    from jaxfit.checks import prediction_inputs
    from jaxfit.data import column_map
    from jaxfit.decide import candidate_grid, suggest
    from jaxfit.decide.suggest import _costs, check_se_resamples

    _precheck(args)
    if args.k < 1:                           # before the fit and its refits, as --prob
        raise cli.InputError(f"--k {args.k}: the batch size must be an integer >= 1, e.g. "
                             "--k 3")
    cli._call(check_se_resamples, args.se_resamples)       # suggest's rule, before the fit
    if args.grid and args.candidates:        # before: --grid was silently ignored
        raise cli.InputError(f"suggest: give the candidates once: --candidates "
                             f"{cli._given(args.candidates)} or --grid {' '.join(args.grid)}, "
                             "not both")
    if args.grid and args.cost != "cost":
        # before: "cost column 'gpu_h' is not in the candidates ...: give the candidates a
        # 'gpu_h' column", of a grid that has no file to give it to
        raise cli.InputError(f"suggest: --cost {args.cost} names a column of --candidates, and "
                             "--grid has only its inputs (the cost of a grid run is 6 N D); "
                             "drop --cost, or write the runs and their costs to a file for "
                             "--candidates")
    vals = _grid_values(args.grid, tuple(args.inputs)) if args.grid else None
    source = _source(args)
    law, mapping = source.law, source.mapping
    target = cli._checked_points(args.target, law, mapping, "--target", source.by)
    if args.candidates:
        cands = cli._read(args.candidates)
        if len(cands) == 0:                  # before: "column ... has dtype object"
            raise cli.InputError(f"--candidates {cli._given(args.candidates)} has no rows "
                                 f"(columns {list(cands.columns)}); write one row per "
                                 "candidate run, or use --grid N=.. D=..")
    elif vals is not None:
        iN, iD = args.inputs
        cands = candidate_grid(vals[iN], vals[iD], columns=(mapping.get(iN, iN),
                                                            mapping.get(iD, iD)))
    else:
        raise cli.InputError("suggest needs candidates: --candidates FILE or --grid N=.. D=..")
    cli._call(prediction_inputs, law, cands, mapping, where="--candidates")
    # the cost column too, before the fit and its refits (a text or missing --cost column
    # was refused only after them)
    cli._call(_costs, cands, args.cost, column_map(law, mapping), tuple(args.inputs), law)
    post = _result(args, source, need_draws=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cli._call(suggest, post, cands, target, cost=args.cost, k=args.k, prob=args.prob,
                        interval=args.interval, method=args.method, inputs=tuple(args.inputs),
                        se_resamples=args.se_resamples, seed=args.seed)
    cli._warnings(caught)
    _emit(args, "suggest", post.law, {"ranking": res.table, "batch": res.batch,
                                      "targets": res.targets},
          dict(k=args.k, prob=args.prob, interval=args.interval, method=res.method,
               se_resamples=args.se_resamples))
    if args.plot:
        from jaxfit.decide.plot import plot_suggest

        cli._savefig(plot_suggest(res, post=post), args.plot)
    return 0


def _source_args(p: argparse.ArgumentParser) -> None:
    from jaxfit.cli import _path

    p.add_argument("source", type=_path, help="saved fit (.json) / posterior (.nc), or a "
                                              "CSV/Parquet file or embedded dataset to fit and "
                                              "bootstrap")
    p.add_argument("--law", help="law spec (default: the saved one, or chinchilla)")
    p.add_argument("--x", nargs="+", metavar="NAME=COLUMN", help="map law inputs to columns")
    p.add_argument("--inputs", nargs=2, metavar=("SIZE", "TOKENS"), default=["N", "D"],
                   help="the law's model-size and token inputs (default: N D)")
    # the options of the fit of DATA default to None (`_saved_flags`: given with a saved
    # SOURCE, at any value, they are refused); their defaults are `_DATA_DEFAULTS`
    d = _DATA_DEFAULTS
    p.add_argument("--y", help=f"target column (default: {d['y']})")
    p.add_argument("--by", nargs="+", help="task column(s)")
    p.add_argument("--where", help="pandas query selecting rows")
    p.add_argument("--init", help=f"random, sobol or grid (default: {d['init']})")
    p.add_argument("--n-boot", type=int, help=f"bootstrap resamples when fitting data "
                                               f"(default: {d['n_boot']}; 0: the point fit "
                                               "only)")
    p.add_argument("--seed", type=int, help=f"random seed (of the fit and bootstrap of DATA; "
                   f"suggest: also of its predictive draws) (default: {d['seed']})")
    p.add_argument("--prob", type=float, default=0.9, help="interval probability")
    p.add_argument("--plot", metavar="PNG", type=_path, help="write the figure")
    p.add_argument("--json", action="store_true", help="print JSON (schema jaxfit.decide/1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the traceback of an error")


def add_parsers(sub) -> None:
    """Add ``optimal`` and ``suggest`` to the ``jaxfit`` subcommands."""
    from jaxfit.cli import _path

    o = sub.add_parser("optimal", help="compute-optimal N, D and loss per budget, with "
                                       "intervals")
    _source_args(o)
    o.add_argument("--budgets", type=float, nargs="+", required=True, help="compute (FLOPs)")
    o.add_argument("--method", default="auto", choices=["auto", "closed", "numerical"],
                   help="closed form (Chinchilla-like laws), numerical, or auto")
    o.add_argument("--ratios", type=float, nargs="+",
                   help="also the overtraining table at these tokens-per-parameter ratios")
    o.set_defaults(run=_cmd_optimal, data_defaults=_data_defaults("optimal"))
    s = sub.add_parser("suggest", help="rank candidate runs by expected interval narrowing "
                                       "per unit cost")
    _source_args(s)
    s.add_argument("--target", nargs="+", required=True, metavar="NAME=VALUE",
                   help="target point, e.g. N=7e9 D=4e12")
    s.add_argument("--candidates", type=_path, help="CSV/Parquet of candidate runs (input "
                                                    "columns, optional cost column)")
    s.add_argument("--grid", nargs="+", metavar="NAME=V1,V2", help="candidate grid: N=... D=...")
    s.add_argument("--cost", default="cost", help="cost column (default: cost, else 6ND)")
    s.add_argument("--k", type=int, default=1, help="greedy batch size")
    s.add_argument("--interval", default="predictive", choices=["predictive", "credible"],
                   help="narrow the predictive (new run) or credible (law's mean) interval")
    s.add_argument("--method", default="linear", choices=["linear", "reweight"],
                   help="update: Bayes linear (default) or importance reweighting of the draws")
    s.add_argument("--se-resamples", type=int, default=20, metavar="R",
                   help="bootstrap resamples of the draws behind the ranking's mc_se column "
                        "(the Monte Carlo error of each reduction; default 20, else >= 2); "
                        "0 drops the column. It costs about 4x the time of the ranking "
                        "alone with either --method (20 resamples, measured on a CPU)")
    # suggest's own options among them (--seed, of its draws too) keep their defaults
    own = {k: v for k, v in _DATA_DEFAULTS.items() if k not in _DATA_ONLY_OF["suggest"]}
    s.set_defaults(run=_cmd_suggest, data_defaults=_data_defaults("suggest"), **own)
