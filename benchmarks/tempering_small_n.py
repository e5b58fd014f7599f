"""The sandwich's tempering power and the drawn noise scale against the number of points.

`jf.sample(method="laplace")` (default tempering) on T synthetic power-law tasks per size
n (``E + A C^-a``, E in [1.4, 2], a in [0.1, 0.3], A in [100, 500], C log-spaced over
1e18-1e22, 1% log-normal noise): per n, the tempering power's median and spread, and
``sigma_spread`` (the drawn sigma's 95% quantile over its median; `Posterior.diagnostics`
fails a task above `jaxfit.posterior.SIGMA_SPREAD_MAX`).

    PYTHONPATH=$PWD python benchmarks/tempering_small_n.py [--tasks 40]
"""

import argparse
import time
import warnings

import jax
import numpy as np
import pandas as pd

jax.config.update("jax_enable_x64", True)

import jaxfit as jf  # noqa: E402
from jaxfit.posterior import SIGMA_SPREAD_MAX  # noqa: E402


def tasks(n: int, T: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """T power-law tasks of n points (the module docstring's draws) and their true (E, a, A)
    [T, 3]; `tempering_coverage.py` draws its tasks here too."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for t in range(T):
        C = np.geomspace(1e18, 1e22, n)
        E, a, A = rng.uniform(1.4, 2.0), rng.uniform(0.1, 0.3), rng.uniform(100, 500)
        truth.append((E, a, A))
        rows.append(pd.DataFrame({"C": C, "task": t,
                                  "loss": (E + A * C ** -a) * np.exp(rng.normal(0, 0.01, n))}))
    return pd.concat(rows, ignore_index=True), np.array(truth)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=40)
    args = ap.parse_args()
    law = jf.models.power_law("C")
    print(f"limit {SIGMA_SPREAD_MAX:.3f}; {args.tasks} tasks per size; fitted noise 0.01")
    print("   n  power: median  p10  min | sigma_spread: median  p90  max  above | "
          "sigma median: median max")
    for n in (6, 9, 12, 20, 40):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = jf.sample(law, tasks(n, args.tasks, 100 + n)[0], y="loss", by="task", method="laplace",
                             chains=1, samples=200)
        eta = np.asarray(post.temper)
        sp = post.diagnostics["sigma_spread"].to_numpy()
        med = np.median(post.flat("sigma"), axis=1)
        print(f"{n:4d}  {np.median(eta):13.3f} {np.quantile(eta, .1):5.3f} {eta.min():5.3f} | "
              f"{np.median(sp):20.2f} {np.quantile(sp, .9):5.2f} {sp.max():5.2f} "
              f"{int((sp > SIGMA_SPREAD_MAX).sum()):3d}/{len(sp)} | {np.median(med):13.4f} "
              f"{med.max():.4f}   ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
