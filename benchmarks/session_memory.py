"""A long session in one process: many distinct fits, with peak RSS and mapping count.

Issue 16 measured a notebook-like session (different laws, point counts, task counts,
every 5th a bootstrap) die with SIGSEGV at its ~87th compile: every compiled XLA CPU
program holds a few hundred memory mappings, and the process reached the kernel's
``vm.max_map_count`` (65,530). This script replays such a session and prints, every
``--every`` fits and at the end, the resident memory (``VmRSS``), its peak (``VmHWM``)
and the number of mappings (lines of ``/proc/self/maps``), so that the ceilings
documented in ``benchmarks/README.md`` and `jaxfit.inference.cache` can be checked.

Every fit compiles a new program: the law is a fresh `jaxfit.Law` each time (as when a
notebook cell defining the law is re-run), and the family, point count (hence padded
shape), task count, method, loss and kind (fit, bootstrap every 5th, ``jf.sample``
Laplace every 15th) rotate.

Run: ``python benchmarks/session_memory.py [--fits 300] [--every 10] [--cache-size N]
[--clear-every K]`` (``--clear-every`` calls ``jax.clear_caches()`` every K fits, the
workaround the issue measured; ``--cache-size`` sets `jaxfit.inference.cache`'s bound).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

import jaxfit as jf  # noqa: E402

FAMILIES = ("chinchilla", "power_law", "sigmoid", "kaplan")
POINTS = (10, 14, 20, 28, 40, 56)       # padded to 16, 16, 24, 32, 48, 64 (data.bucket)
TASKS = (1, 2, 3, 5, 8)


def memory() -> tuple[float, float, int]:
    """(VmRSS MB, VmHWM MB, number of memory mappings) of this process."""
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    kb = lambda key: float(status[key].split()[0]) / 1024  # noqa: E731
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    return kb("VmRSS"), kb("VmHWM"), maps


def dataset(family: str, tasks: int, points: int, rng) -> tuple[pd.DataFrame, str]:
    """Synthetic tasks of one family with 1% noise on ladder-like ranges; (df, y column)."""
    N = 10 ** rng.uniform(7.7, 10.2, (tasks, points))
    D = 10 ** rng.uniform(9.7, 11.7, (tasks, points))
    C = 6 * N * D
    if family == "chinchilla":
        y = 1.8 + 400 / N ** 0.34 + 2000 / D ** 0.37
    elif family == "power_law":
        y = 1.7 + 2e3 * C ** -0.17
    elif family == "kaplan":
        y = (2.3e8 / C) ** 0.05
    else:   # sigmoid: accuracy against loss
        L = rng.uniform(2.0, 4.0, (tasks, points))
        y = -0.6 / (1 + np.exp(-3.0 * (L - 2.8))) + 0.85
        return pd.DataFrame({"task": np.repeat(np.arange(tasks), points), "L": L.ravel(),
                             "acc": (y + 0.01 * rng.standard_normal(y.shape)).ravel()}), "acc"
    y = y * np.exp(0.01 * rng.standard_normal(y.shape))
    return pd.DataFrame({"task": np.repeat(np.arange(tasks), points), "N": N.ravel(),
                         "D": D.ravel(), "C": C.ravel(), "loss": y.ravel()}), "loss"


def law_of(family: str) -> jf.Law:
    """A fresh Law object (a new identity, hence a new compiled program)."""
    base = {"chinchilla": jf.models.chinchilla, "power_law": lambda: jf.models.power_law("C"),
            "sigmoid": jf.models.sigmoid, "kaplan": jf.models.kaplan}[family]()
    return base.replace()


def one_fit(i: int, rng) -> str:
    family = FAMILIES[i % len(FAMILIES)]
    points, tasks = POINTS[i % len(POINTS)], TASKS[(i // 4) % len(TASKS)]
    df, y = dataset(family, tasks, points, rng)
    law = law_of(family)
    space = "linear" if family == "sigmoid" else "log"
    method = "lbfgs" if i % 7 == 3 else "newton"
    loss = "squared" if i % 2 else "huber"
    by = "task"
    if i % 15 == 14:
        jf.sample(law, df, y=y, by=by, space=space, method="laplace", chains=2, samples=50,
                  restarts=8, warn=False)
        kind = "sample(laplace)"
    elif i % 5 == 4:
        jf.bootstrap(law, df, y=y, by=by, space=space, n=16 + 8 * (i % 3), loss=loss,
                     method=method, restarts=8, max_steps=100, warn=False)
        kind = "bootstrap"
    else:
        jf.fit(law, df, y=y, by=by, space=space, loss=loss, method=method, restarts=16,
               max_steps=200, warn=False)
        kind = "fit"
    return f"{kind} {family} T={tasks} P={points} {method} {loss}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fits", type=int, default=300)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--cache-size", type=int, default=None,
                    help="jaxfit.inference.cache bound (default: the library's)")
    ap.add_argument("--clear-every", type=int, default=0,
                    help="call jax.clear_caches() every K fits (0: never)")
    args = ap.parse_args()
    try:
        from jaxfit.inference import cache
    except ImportError:            # before the bounded cache existed
        cache = None
    if cache is not None and args.cache_size is not None:
        cache.set_size(args.cache_size)
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore")
    rss0, _, maps0 = memory()
    print(f"start: rss {rss0:.0f} MB, maps {maps0}, vm.max_map_count "
          f"{open('/proc/sys/vm/max_map_count').read().strip()}, cache "
          f"{'none' if cache is None else cache.info()}", flush=True)
    t0 = time.perf_counter()
    peak_maps = maps0
    for i in range(args.fits):
        what = one_fit(i, rng)
        if args.clear_every and (i + 1) % args.clear_every == 0:
            jax.clear_caches()
        rss, hwm, maps = memory()
        peak_maps = max(peak_maps, maps)
        if (i + 1) % args.every == 0 or i + 1 == args.fits:
            extra = "" if cache is None else f" | cache {cache.info()}"
            print(f"fit {i + 1:4d} ({time.perf_counter() - t0:7.1f} s): rss {rss:6.0f} MB, "
                  f"peak rss {hwm:6.0f} MB, maps {maps:6d} (peak {peak_maps}) | last: {what}"
                  f"{extra}", flush=True)
    rss, hwm, maps = memory()
    print(f"done: {args.fits} fits in {time.perf_counter() - t0:.0f} s; final rss {rss:.0f} MB,"
          f" peak rss {hwm:.0f} MB, final maps {maps}, peak maps {peak_maps}", flush=True)


if __name__ == "__main__":
    main()
