"""Wall time of the Hitchhiker grid (Choshen et al. 2024): batched jaxfit vs a scipy loop.

The full grid of `jaxfit.recipes.hitchhiker` on the embedded ColPret data (every family
with at least 3 sizes x 10 fractions x ColPret's numbers of models x cuts {0, 10B} x
{all, final} checkpoints) is fitted twice, in one run:

* jaxfit: the recipe's batched fits (least squares in loss space from the paper's start,
  damped Newton), timed cold (with compilation) and warm;
* scipy: the same training points, one ``scipy.optimize.curve_fit`` per configuration
  (trust-region reflective from the same start, bounds alpha, beta >= 0, default
  tolerances, and on failure ColPret's retry with 'dogbox' and ``x_scale`` = the start:
  the paper's code, ColPret ``util/fit_utils.py::fit``).

Both are scored with the same ARE, and the script prints the times and how closely the
two agree. Where their AREs differ by more than 1e-3 it compares the least-squares
objective each reached on the training points (the sum of squared loss residuals, in raw
units): equal objectives with different ARE mean that the data leave a flat direction, and
the extrapolation depends on where along it each solver stopped.

    python benchmarks/hitchhiker_grid.py [--families gpt3 OPT ...] [--single-call]
        [--warm] [--out DIR]

``--out DIR`` writes ``are.csv`` (with the scipy ARE), ``findings.csv``, ``filters.csv``
and the Figure-1-like ``hitchhiker.png``, the files behind docs/recipes/hitchhiker.md.
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from pathlib import Path

# One BLAS thread for the scipy loop (see benchmarks/README.md: OpenBLAS threads made tiny
# scipy iterations ~10x slower on this 2-core machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

from jaxfit.recipes.hitchhiker import P0, hitchhiker  # noqa: E402

_P0 = [np.log(P0["A"]), np.log(P0["B"]), np.log(P0["E"]), P0["alpha"], P0["beta"]]


def _law(X, a, b, e, alpha, beta):
    N, D = X
    return np.exp(e) + np.exp(a) / N**alpha + np.exp(b) / D**beta


def _sse(X, y, p) -> float:
    """Sum of squared residuals of `_law` with ``p`` = (a, b, e, alpha, beta); NaN where the
    law overflows (a runaway exponent)."""
    with np.errstate(all="ignore"):
        return float(np.sum((y - _law(X, *p)) ** 2))


def jaxfit_sse(res) -> pd.Series:
    """The objective each of ``res``'s fits reached, as `_sse` on its training points."""
    fitted = res.are.dropna(subset=["task"]).set_index("task")
    out = {}
    for task, tr in res.train.groupby("task", sort=True):
        if task in fitted.index:
            r = fitted.loc[task]
            with np.errstate(divide="ignore"):
                p = [np.log(r.A), np.log(r.B), np.log(r.E), r.alpha, r.beta]
            out[task] = _sse((tr["N"].to_numpy(), tr["tokens"].to_numpy()),
                             tr["loss"].to_numpy(), p)
    return pd.Series(out, name="sse")


def scipy_grid(res) -> pd.DataFrame:
    """ARE (``are_scipy``) and objective (``sse_scipy``) of every fitted configuration of
    ``res``, refitted by a curve_fit loop."""
    out, sse = {}, {}
    targets = {f: g for f, g in res.targets.groupby("family")}
    for task, tr in res.train.groupby("task", sort=True):
        fam = tr["family"].iloc[0]
        X, y = (tr["N"].to_numpy(), tr["tokens"].to_numpy()), tr["loss"].to_numpy()
        bounds = ([-np.inf] * 3 + [0, 0], np.inf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                p, _ = curve_fit(_law, X, y, p0=_P0, bounds=bounds)
            except RuntimeError:       # ColPret's fallback (util/fit_utils.py::fit)
                try:
                    p, _ = curve_fit(_law, X, y, p0=_P0, bounds=bounds, method="dogbox",
                                     x_scale=_P0)
                except (RuntimeError, ValueError):
                    out[task] = sse[task] = np.nan
                    continue
        sse[task] = _sse(X, y, p)
        t = targets[fam]
        pred = _law((t["N"].to_numpy(), t["tokens"].to_numpy()), *p)
        out[task] = float(np.mean(np.abs(t["loss"].to_numpy() - pred) / t["loss"].to_numpy()))
    return pd.DataFrame({"are_scipy": pd.Series(out), "sse_scipy": pd.Series(sse)})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--warm", action="store_true", help="time a second, compiled run too")
    ap.add_argument("--out", default=None, help="directory for the result tables and figure")
    ap.add_argument("--single-call", action="store_true",
                    help="one jaxfit.fit call for the whole grid (size_groups=None)")
    args = ap.parse_args(argv)
    groups = {"size_groups": None} if args.single_call else {}
    warnings.simplefilter("ignore")
    print(f"load average at start: {os.getloadavg()}")
    t0, c0 = time.perf_counter(), time.process_time()
    res = hitchhiker(families=args.families, **groups)
    t_cold, c_cold = time.perf_counter() - t0, time.process_time() - c0
    print(f"jaxfit grid done in {t_cold:.1f} s", flush=True)
    t_warm = math.nan
    if args.warm:
        t0, c0 = time.perf_counter(), time.process_time()
        res = hitchhiker(families=args.families, **groups)
        t_warm, c_warm = time.perf_counter() - t0, time.process_time() - c0
    fitted = res.are.dropna(subset=["task"])
    t0, c0 = time.perf_counter(), time.process_time()
    sp = scipy_grid(res)
    t_scipy, c_scipy = time.perf_counter() - t0, time.process_time() - c0
    cmp = fitted.join(sp, on="task").join(jaxfit_sse(res), on="task")
    st = pd.concat([f.statistics() for f in res.fits])
    flagged = pd.Series(st["warnings"].fillna("").str.strip().ne("").to_numpy(),
                        index=st.index.astype(cmp["task"].dtype), name="flagged")
    cmp = cmp.join(flagged, on="task")
    diff = (cmp["are"] - cmp["are_scipy"]).abs()
    ident = cmp["n_models"] >= 3
    print(f"grid: {len(res.are)} configurations of {res.are['family'].nunique()} families, "
          f"{len(fitted)} fitted ({len(res.are) - len(fitted)} with fewer points than "
          f"parameters), {len(res.train)} training points, {len(res.fits)} jaxfit.fit call(s)")
    print(f"jaxfit batched: {t_cold:.1f} s cold (with compilation), {t_warm:.1f} s warm; "
          f"CPU {c_cold:.1f} s cold, {c_warm if args.warm else math.nan:.1f} s warm")
    print(f"scipy curve_fit loop: {t_scipy:.1f} s ({1e3 * t_scipy / len(fitted):.1f} ms/fit), "
          f"CPU {c_scipy:.1f} s")
    print(f"ratios (scipy / jaxfit): wall cold {t_scipy / t_cold:.2f}x, warm "
          f"{t_scipy / t_warm:.2f}x; CPU cold {c_scipy / c_cold:.2f}x"
          + (f", warm {c_scipy / c_warm:.2f}x" if args.warm else ""))
    steps = np.concatenate([f.steps for f in res.fits])
    cap = res.fits[0].options["max_steps"]
    print(f"jaxfit steps: median {np.median(steps):.0f}, p90 {np.percentile(steps, 90):.0f}; "
          f"ended at the {cap}-step cap (status max_steps): "
          f"{int((fitted['status'] == 'max_steps').sum())}; reached the cap (of them, "
          f"refitted with E at its bound 0 and converged: jaxfit.inference.floor): "
          f"{int(np.sum(steps >= cap))}")
    print(f"jaxfit statuses: {fitted['status'].value_counts().to_dict()}; scipy failures "
          f"(both methods raised): {int(sp['are_scipy'].isna().sum())}")
    for name, m in (("all", np.ones(len(cmp), bool)), (">= 3 models", ident.to_numpy())):
        d = diff[m]
        d = d.dropna()
        print(f"|ARE jaxfit - ARE scipy| ({name}, {len(d)} fits where both succeeded): "
              f"median {d.median():.2e}, within 1e-3: {(d <= 1e-3).mean():.1%}, "
              f"max {d.max():.3g}")
    # Where the AREs differ: which solver reached the lower objective (relative 1e-6)?
    mis = cmp[(diff > 1e-3).to_numpy()]
    rel = (mis["sse"] - mis["sse_scipy"]) / mis["sse_scipy"]
    print(f"ARE differs by > 1e-3 in {len(mis)} fits; objective (sum of squares) equal "
          f"within 1e-6 relative: {int((rel.abs() <= 1e-6).sum())} (a flat direction: the "
          f"same fit quality, a different extrapolation), jaxfit lower: "
          f"{int((rel < -1e-6).sum())}, scipy lower: {int((rel > 1e-6).sum())} (jaxfit "
          f"statuses there: {mis.loc[(rel > 1e-6).to_numpy(), 'status'].value_counts().to_dict()}),"
          f" not comparable (overflow): {int(rel.isna().sum())}")
    flat = mis[(rel.abs() <= 1e-6).to_numpy()]
    print(f"of those {len(flat)} flat-direction fits, jaxfit's diagnostics flag "
          f"{int(flat['flagged'].sum())} as poorly identified (FitResult.statistics() "
          f"warnings); of the {int((diff <= 1e-3).sum())} agreeing fits, "
          f"{int(cmp.loc[(diff <= 1e-3).to_numpy(), 'flagged'].sum())}")
    clear = ~cmp["flagged"].fillna(True).to_numpy().astype(bool)
    d = diff[clear].dropna()
    print(f"|ARE jaxfit - ARE scipy| on the {len(d)} fits both solved that jaxfit does not "
          f"flag: within 1e-3: {(d <= 1e-3).mean():.1%}, max {d.max():.3g}")
    print(f"load average at end: {os.getloadavg()}")
    if args.out:
        from jaxfit.recipes.hitchhiker_plot import plot_hitchhiker

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res.are.join(sp[["are_scipy"]], on="task").to_csv(out / "are.csv", index=False)
        res.findings().to_csv(out / "findings.csv", index=False)
        res.filters.to_csv(out / "filters.csv", index=False)
        plot_hitchhiker(res).savefig(out / "hitchhiker.png", dpi=110)


if __name__ == "__main__":
    main()
