"""``jaxfit backtest``: rolling-origin backtest of a law's extrapolation (`jaxfit.backtest`)."""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["add_parser"]

#: The bootstrap's resamples per cut without ``--n``, as ``--help`` shows it
#: (`jaxfit.backtest.BOOTSTRAP_N`, not imported here: ``jaxfit --help`` imports no JAX).
#: Only shown: ``--n``'s default is None, which `jaxfit.backtest.bootstrap_n` reads.
_N_SHOWN = 200


def _run(args) -> int:
    import jaxfit as jf
    from jaxfit import cli, progress
    from jaxfit.backtest import bootstrap_n

    # the library's rule of n, before the data is read (before: the command line's own
    # copy, which let --method laplace --n 200, --n at its default, run Laplace's default
    # draws with --n unused, exit 0)
    n = cli._call(bootstrap_n, args.method, args.n)
    # --delta: the point fits' Huber loss, and the likelihood made from it (--method nuts
    # or laplace), so --loss huber only
    cli._fit_flags(args, args.loss == "huber", f"--loss {args.loss}")
    df, law, mapping = cli._data_and_law(args)
    cli._writable(args.out, "--out", cli._inputs(args))     # before the refits, as fit
    if args.out and not args.out.lower().endswith(".csv"):
        # before: --out bt.parquet (or .xlsx, .json) wrote CSV text under that name
        raise cli.InputError(f"--out {cli._given(args.out)}: backtest writes its table as CSV; "
                             "name the file .csv (or use --json for a JSON document)")
    cli._writable(args.plot, "--plot", cli._inputs(args))
    by = cli._by(args.by)
    if by:                                            # a task named as the pooled row
        from jaxfit.backtest import check_pooled, task_labels

        cli._call(lambda: check_pooled(task_labels(df, by), args.pooled, by))
    cuts = _cuts(args.cuts, df, args.axis, args.per_task)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bt = cli._call(jf.backtest, law, df, y=args.y, by=by, axis=args.axis,
                       x=mapping, cuts=cuts, per_task=args.per_task, method=args.method,
                       prob=args.prob, calibrate=None if args.calibrate == "none"
                       else args.calibrate, n=n,
                       loss=args.loss, delta=args.delta, space=args.space,
                       fit_options={"restarts": args.restarts, "init": args.init},
                       seed=args.seed, progress=progress.enabled(args.quiet))
    cli._warnings(caught)
    table, summary = bt.table(), bt.summary(pooled=args.pooled)
    if args.json:
        cli._emit_json({"schema": "jaxfit.backtest/1", "options": cli._options_json(bt.options),
            "summary": cli._records(summary), "table": cli._records(table)})
    else:
        from jaxfit.plot_style import percent

        cli._print_frame(summary, f"backtest of {law.name} along {args.axis} "
                                  f"({bt.options['method']}, {percent(args.prob)} intervals, "
                                  f"calibrate={args.calibrate})")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot:
        cli._savefig(bt.plot(), args.plot)
    bad = ~table["converged"].to_numpy(bool) if "converged" in table else []
    if any(bad):
        print(f"backtest: {int(sum(bad))} of {len(table)} held-out row(s) come from point fits "
              "that did not converge (the table's converged column); exit status 1, as "
              "`jaxfit fit`.", file=sys.stderr)
        return 1
    return 0


def _cuts(tokens, df, axis: str, per_task: bool):
    """``--cuts`` as `jaxfit.backtest`'s ``cuts``: None, a count (one bare integer below
    1000, e.g. ``--cuts 3``) or the cut values.

    A bare integer that also lies strictly inside the range of the ``axis`` column could be
    either, and is refused naming both spellings (before: ``--cuts 200`` on an axis in
    millions, 10 to 500, was read as a count and ran every cut, 200, 100, 50 and 20, without
    a word). ``--cuts 200.0`` is the value."""
    import re

    import numpy as np

    from jaxfit import cli

    if tokens is None:
        return None
    values = []
    for t in tokens:
        try:
            values.append(float(t))
        except ValueError:
            raise cli.InputError(f"--cuts {' '.join(tokens)}: {t!r} is not a number; give cut "
                                 "values of --axis (e.g. --cuts 4e8 2e8) or one count (e.g. "
                                 "--cuts 3)") from None
    if not (len(tokens) == 1 and re.fullmatch(r"\+?\d+", tokens[0].strip())
            and values[0] < 1e3):
        return values
    k = int(values[0])
    if per_task or axis not in df.columns or df[axis].dtype.kind not in "iuf":
        return k        # per task cuts are counts; a missing or non-numeric axis is named later
    a = np.asarray(df[axis], dtype=np.float64)
    a = np.unique(a[np.isfinite(a)])[::-1]
    if not len(a) or not a[-1] < k < a[0]:
        return k
    top = a[1:k + 1]
    count = " ".join(f"{v:g}" for v in top) if len(top) > 1 else repr(float(top[0]))
    raise cli.InputError(f"--cuts {tokens[0]} is ambiguous: a count of cuts, or a cut value of "
                         f"--axis {axis} (its values run from {a[-1]:g} to {a[0]:g}); for the "
                         f"cut value write --cuts {float(k)!r}; for {k} cuts as a count (the "
                         f"data allow {len(a) - 1}) give their values: --cuts {count}")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``backtest`` subcommand to the ``jaxfit`` parser's subparsers."""
    from jaxfit import cli

    b = sub.add_parser("backtest", help="hold out the largest scales and measure how often "
                                        "the intervals cover them (rolling origin)")
    cli._data_args(b, targets=False)
    b.add_argument("--plot", metavar="PNG", type=cli._path,
                   help="predicted vs actual with intervals, and coverage by extrapolation "
                        "ratio")
    b.add_argument("--axis", required=True, help="scale column along which to hold out rows")
    b.add_argument("--cuts", nargs="+",
                   help="cut values, or one integer: how many of the largest (default: all; "
                        "an integer inside the axis's range is refused as ambiguous: write "
                        "200.0 for that value)")
    b.add_argument("--per-task", action="store_true",
                   help="cuts by rank within each task (e.g. each family's largest model)")
    b.add_argument("--method", default="bootstrap", choices=["bootstrap", "nuts", "laplace"],
                   help="interval method at each cut")
    b.add_argument("--calibrate", default="ratio",
                   choices=["ratio", "width", "constant", "none"],
                   help="calibration of the intervals learnt from earlier cuts (none: raw)")
    b.add_argument("--n", type=int, help=f"bootstrap resamples per cut (--method bootstrap; "
                                         f"default {_N_SHOWN})")
    b.add_argument("--prob", type=float, default=0.9, help="interval probability")
    b.add_argument("--out", metavar="CSV", type=cli._path, help="write the tidy table")
    b.add_argument("--pooled", default="all", metavar="LABEL",
                   help="label of the summary row pooled over tasks (a task of that name is "
                        "refused)")
    cli._common(b, "jaxfit.backtest/1")
    b.set_defaults(run=_run)
    return b

