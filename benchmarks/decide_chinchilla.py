"""Compute-optimal allocation on Epoch AI's Chinchilla data, with a 4,000-resample bootstrap.

Reproduces Besiroglu et al. (2024): a = beta/(alpha+beta) = 0.513 with bootstrap s.e.
0.020; prints N*, D*, the loss and tokens per parameter at Hoffmann et al.'s 5.76e23 FLOPs
with 90% intervals, checks them against a direct scipy minimisation of the fitted law,
and writes the figures of ``docs/decide.md`` (``docs/decide_allocation.png``,
``docs/decide_isoflop.png``, ``docs/decide_suggest.png``).

Run: ``python benchmarks/decide_chinchilla.py [--n 4000] [--no-figures]``
"""

from __future__ import annotations

import argparse
import pathlib
import time
import warnings

import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.decide.plot import plot_allocation, plot_isoflop, plot_suggest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--no-figures", action="store_true")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    df = jf.datasets.load("chinchilla")
    df = df[~df.epoch_excluded_outlier]
    law = jf.models.chinchilla()
    t0 = time.perf_counter()
    res = jf.fit(law, df, init="grid")
    boot = jf.bootstrap(law, df, n=args.n, start=res, seed=42)
    t1 = time.perf_counter()
    C = [1e21, 5.76e23, 1e25]
    opt = jf.optimal(boot, C)
    t2 = time.perf_counter()
    num = jf.optimal(boot, C, method="numerical")
    t3 = time.perf_counter()
    pd.set_option("display.width", 200)
    pd.set_option("display.float_format", "{:.5g}".format)
    print(f"fit + {args.n} bootstrap refits: {t1 - t0:.1f} s; optimal (closed form, "
          f"{args.n} draws x {len(C)} budgets): {t2 - t1:.2f} s; numerical path: "
          f"{t3 - t2:.2f} s (incl. compilation)")
    print(opt.exponents())
    f = opt.to_frame()
    print(f[f["C"] == 5.76e23].drop(columns=["task"]).to_string(index=False))
    worst = max(float(np.max(np.abs(num.draws[q] / opt.draws[q] - 1)))
                for q in ("N", "D", "loss", "a"))
    print(f"closed form vs numerical path, worst relative difference over all draws: "
          f"{worst:.2e}")
    from scipy.optimize import minimize_scalar

    pr = res.param_dict()
    c6 = 5.76e23 / 6

    def loss(logN):
        N = np.exp(logN)
        return pr["E"] + pr["A"] / N ** pr["alpha"] + pr["B"] / (c6 / N) ** pr["beta"]

    r = minimize_scalar(loss, bracket=(20, 25, 30), options={"xtol": 1e-12})
    e = f[(f["C"] == 5.76e23)].set_index("quantity")["estimate"]
    print(f"direct scipy minimisation: N* = {np.exp(r.x):.6g}, D* = {c6 / np.exp(r.x):.6g}; "
          f"relative differences {e['N'] / np.exp(r.x) - 1:.1e}, "
          f"{e['D'] / (c6 / np.exp(r.x)) - 1:.1e}")
    ov = jf.overtrain(boot, [5.76e23], ratios=[20, 50, 100, 200, 500])
    print(ov[ov["quantity"].isin(["N", "penalty", "compute_overhead"])]
          .pivot(index="ratio", columns="quantity", values=["estimate", "lower", "upper"]))
    if args.no_figures:
        return
    budgets = np.geomspace(1e18, 1e26, 33)
    plot_allocation(boot, budgets, mark=[5.76e23]).savefig(DOCS / "decide_allocation.png",
                                                           dpi=150)
    plot_isoflop(boot, [6e18, 1e20, 1e21, 1e22], data=df).savefig(
        DOCS / "decide_isoflop.png", dpi=150)
    small = df[df["C"] < 3e20]
    post = jf.bootstrap(law, small, n=1000, init="grid", seed=0)
    cands = jf.decide.candidate_grid(np.geomspace(2e8, 4e9, 6), ratios=[5, 10, 20, 40, 80])
    target = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    sug = jf.suggest(post, cands, target, k=3)
    print(sug.batch)
    plot_suggest(sug, post=post).savefig(DOCS / "decide_suggest.png", dpi=150)
    print("wrote docs/decide_*.png")


if __name__ == "__main__":
    main()
