"""Throughput of `jaxfit.fit` against a scipy L-BFGS-B loop on the same objective and starts.

Workloads (issue 2):
  (a) synthetic Chinchilla-form tasks x random restarts x 20-100 points (ragged);
  (b) Hoffmann et al.'s 4,500-start grid on Epoch AI's 240 Chinchilla points.

scipy runs L-BFGS-B with its default options and the analytic gradient
(tests/scipy_reference.py) from every start, one task after another in this process.
jaxfit runs every task and start in one call; its first call (compile + run) and a second
call (run only) are timed separately. "as good" is the share of tasks whose jaxfit
objective is <= scipy's best * (1 + 1e-6).

Usage: python benchmarks/fit_throughput.py [--tasks 1000] [--restarts 64] [--method newton]
       [--keep 2] [--continuation [FACTOR ...]] [--only a|b]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread, as scipy's loop is fairest run: with OpenBLAS threads each tiny
# L-BFGS-B iteration was 11x slower on this loaded 2-core machine (1.9 vs 21 ms).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import scipy_reference as sr  # noqa: E402

import jaxfit as jf  # noqa: E402
from jaxfit.fit import make_starts  # noqa: E402


def _time_jaxfit(law, df, **kw):
    t0 = time.perf_counter()
    jf.fit(law, df, warn=False, **kw)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = jf.fit(law, df, warn=False, **kw)
    run = time.perf_counter() - t0
    return res, first, run


def _theta(starts_u):
    # chinchilla's unconstrained order (log A, log B, log E, alpha, beta) is scipy's theta.
    return np.asarray(starts_u)


def workload_a(n_tasks: int, restarts: int, method: str, keep, continuation, seed: int = 1):
    law = jf.models.chinchilla()
    df, _ = sr.make_synthetic_tasks(n_tasks, seed=seed)
    starts = _theta(make_starts(law, "random", restarts=restarts, seed=0))
    res, first, run = _time_jaxfit(law, df, y="loss", by="task", init="random",
                                   restarts=restarts, seed=0, method=method, keep=keep,
                                   continuation=continuation)
    t0 = time.perf_counter()
    best = np.array([sr.fit_scipy(starts, np.log(g.N.to_numpy()), np.log(g.D.to_numpy()),
                                  np.log(g.loss.to_numpy()))["best_f"]
                     for _, g in df.groupby("task", sort=True)])
    t_scipy = time.perf_counter() - t0
    good = np.mean(res.objective <= best * (1 + 1e-6))
    return dict(name=f"(a) {n_tasks} tasks x {restarts} restarts, keep={keep}, "
                     f"continuation={res.options['continuation']}", first=first,
                run=run,
                scipy=t_scipy, good=good, converged=np.mean(res.converged),
                median_gap=np.median((best - res.objective) / best))


def workload_b(method: str, continuation):
    law = jf.models.chinchilla()
    df = jf.datasets.load("chinchilla")
    df = df[~df.epoch_excluded_outlier]
    res, first, run = _time_jaxfit(law, df, y="loss", init="grid", method=method,
                                   continuation=continuation)
    starts = _theta(make_starts(law, "grid"))
    t0 = time.perf_counter()
    best = sr.fit_scipy(starts, np.log(df.N.to_numpy()), np.log(df.D.to_numpy()),
                        np.log(df.loss.to_numpy()))["best_f"]
    t_scipy = time.perf_counter() - t0
    return dict(name="(b) Chinchilla, 4,500-start grid", first=first, run=run, scipy=t_scipy,
                good=float(res.objective[0] <= best * (1 + 1e-6)),
                converged=float(res.converged[0]),
                median_gap=(best - res.objective[0]) / best,
                extra=f"jaxfit objective {res.objective[0]:.12g}, scipy best {best:.12g}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--restarts", type=int, default=64)
    p.add_argument("--method", default="newton", choices=["newton", "lbfgs"])
    p.add_argument("--only", choices=["a", "b"])
    p.add_argument("--keep", type=int, default=2,
                   help="restarts per task left by successive halving (jf.fit's keep)")
    p.add_argument("--continuation", type=float, nargs="*", default=None,
                   help="jf.fit's Huber delta continuation factors (none given: no "
                        "continuation; flag absent: the library default)")
    args = p.parse_args(argv)
    print(f"jax {jax.__version__}, devices {jax.devices()}, method={args.method}")
    rows = []
    if args.only in (None, "b"):
        rows.append(workload_b(args.method, args.continuation))
    if args.only in (None, "a"):
        rows.append(workload_a(args.tasks, args.restarts, args.method, args.keep,
                               args.continuation))
    for r in rows:
        print(f"{r['name']}: jaxfit {r['run']:.2f} s (first call incl. compile "
              f"{r['first']:.2f} s, compile ~{r['first'] - r['run']:.2f} s) | scipy "
              f"{r['scipy']:.2f} s | speed-up {r['scipy'] / r['run']:.1f}x "
              f"({r['scipy'] / r['first']:.1f}x incl. compile) | as good as scipy: "
              f"{r['good']:.1%} | converged: {r['converged']:.1%} | median relative "
              f"improvement over scipy {r['median_gap']:.2e}")
        if "extra" in r:
            print("   ", r["extra"])


if __name__ == "__main__":
    main()
