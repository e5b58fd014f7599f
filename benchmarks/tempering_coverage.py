"""Coverage of the truth at a 10x extrapolation, tempered (default) against untempered.

`jf.sample(method="laplace")` on 100 synthetic power-law tasks per size n (``E + A C^-a``,
E in [1.4, 2], a in [0.1, 0.3], A in [100, 500], C log-spaced over 1e18-1e22, 1%
log-normal noise), ``temper="sandwich"`` (default) and ``"none"``, both started from the
same point fit: how often the 90% credible (mean) and predictive intervals at C = 1e23
cover the true mean, the credible interval's median relative width, and how many tasks
`Posterior.diagnostics` fails on ``sigma_spread``. Why the ``sigma_spread`` warning does
not advise ``temper="none"``.

    PYTHONPATH=$PWD python benchmarks/tempering_coverage.py [--method nuts] [--tempers sandwich]
"""

import argparse
import warnings

import jax
import numpy as np
import pandas as pd

jax.config.update("jax_enable_x64", True)

import jaxfit as jf  # noqa: E402
from jaxfit.inference import bayes  # noqa: E402
from jaxfit.posterior import SIGMA_SPREAD_MAX  # noqa: E402
from tempering_small_n import tasks  # noqa: E402  (the same draws, another seed)

T = 100


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="laplace", choices=["laplace", "nuts", "svi", "bootstrap"],
                    help="posterior (NUTS: jf.sample's defaults, 4 chains)")
    ap.add_argument("--tempers", nargs="+", default=["sandwich", "none"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[9, 20, 40])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    law = jf.models.power_law("C")
    for n in args.sizes:
        df, true = tasks(n, T, 500 + n)
        E, a, A = true.T
        truth = E + A * 1e23 ** -a
        fit = jf.fit(law, df, y="loss", by="task")
        for temper in args.tempers:
            opts = dict(chains=2, samples=500) if args.method == "laplace" else {}
            if args.method == "bootstrap":      # 200 resampled refits from the fit; no temper
                post = jf.bootstrap(law, df, y="loss", by="task", n=200, start=fit)
            else:
                post = jf.sample(law, df, y="loss", by="task", method=args.method,
                                 temper=temper, start=fit, **opts)
            p = post.predict(pd.DataFrame({"task": np.arange(T), "C": 1e23}), prob=0.9)
            cov = ((p.credible_lower <= truth) & (truth <= p.credible_upper)).mean()
            pcov = ((p.predictive_lower <= truth) & (truth <= p.predictive_upper)).mean()
            width = np.median((p.credible_upper - p.credible_lower) / truth)
            d = post.diagnostics
            nspread = (int((d["sigma_spread"] > SIGMA_SPREAD_MAX).sum())
                       if "sigma_spread" in d else "n/a")    # not for a bootstrap
            # the tasks `jaxfit.sample`'s PriorWarning names: the fit's exponent outside its
            # default prior's 95% range (session 20; the law's own prior since session 21)
            lo, hi = bayes.exponent_range(bayes.default_prior(law, "alpha"))
            a = fit.params["alpha"].to_numpy()
            low = (a < lo) | (a > hi)
            covered = ((p.credible_lower <= truth) & (truth <= p.credible_upper)).to_numpy()
            print(f"{args.method} n={n:3d} temper={temper:8s}: 90% credible covers {cov:.2f}, predictive "
                  f"{pcov:.2f}, median relative width {width:.4f}, sigma_spread above "
                  f"{SIGMA_SPREAD_MAX:.3g} in {nspread}, "
                  f"ok {int(d.ok.sum())}/{T}; fit exponent outside [{lo:.3f}, {hi:.3f}] "
                  f"(PriorWarning) in {int(low.sum())}: credible covers "
                  f"{covered[low].mean():.2f} there, {covered[~low].mean():.2f} elsewhere",
                  flush=True)


if __name__ == "__main__":
    main()
