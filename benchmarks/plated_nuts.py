"""The plated NUTS model (pooled alpha, shared E) of tests/test_bayes_model.py: divergences,
r_hat, ESS and where the divergent transitions lie in tau (issue 11).

4 Chinchilla tasks x 60 points, 1% noise, alpha = 0.34 and E = 1.8 in common; the test's
settings (chains 4, warmup 300, samples 300, Normal likelihood). ``--jitter`` displaces the
chains' starts (a perturbed start, as a solver change made it); ``--noncentred`` samples the
pooled parameter as ``u = mu + tau eta`` (the parametrisation before session 7).

    python benchmarks/plated_nuts.py [--jitter 0.5] [--seed 1] [--noncentred]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

import arviz as az
import numpy as np

import jaxfit as jf
from jaxfit.inference import bayes

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from synthetic import CHINCHILLA as LAW, shared_alpha_tasks  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noncentred", action="store_true")
    args = ap.parse_args()
    if args.noncentred:
        bayes.run_nuts_plated = functools.partial(bayes.run_nuts_plated, centring=False)
    df, _ = shared_alpha_tasks()
    t0 = time.perf_counter()
    post = jf.sample(jf.share(LAW, "E"), df, y="loss", by="task", pool=("alpha",),
                     warn=False, chains=4, warmup=300, samples=300, likelihood="normal",
                     jitter=args.jitter, seed=args.seed)
    wall = time.perf_counter() - t0
    d = post.diagnostics
    div = post.stats["diverging"][0]                      # [C, S]
    tau = post.hyper["alpha_tau"]
    print(f"{vars(args)}: {wall:.0f} s; divergences per chain {div.sum(1)}; r_hat max "
          f"{d.r_hat.max():.3f}; min bulk/tail ESS {min(d.ess_bulk.min(), d.ess_tail.min()):.0f}")
    print("tau quantiles 1/25/50/75/99%:", np.round(np.quantile(tau, [.01, .25, .5, .75, .99]), 4))
    if div.any():
        print("tau at divergent draws:", np.round(np.sort(tau[div])[:20], 4),
              "; share of draws below their median:", np.mean(tau < np.median(tau[div])).round(3))
    for k in ("alpha_mu", "alpha_tau"):
        h = post.hyper[k]
        print(f"{k}: r_hat {float(az.rhat(h)):.3f}, ESS {float(az.ess(h)):.0f}")
    print("steps per iteration per chain:", post.stats["n_steps"][0].mean(1).round(1))


if __name__ == "__main__":
    main()
