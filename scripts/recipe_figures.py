"""Regenerate the recipe figures of docs/recipes/ from the embedded (real) data.

Each figure is the recipe result's own ``plot()`` (`jaxfit.recipes.protocol`), saved at
`jaxfit.plot_style.DPI`:

* ``ladder.png``: ``ladder(intervals=True, calibrate=True)`` (the paper's 8 tasks, both
  targets, with the calibrated 90% intervals of ``jaxfit ladder --intervals``);
* ``hitchhiker.png``: ``hitchhiker(cuts=[1e10], checkpoints=["all"])``, the slice of the
  full grid the figure shows (cut 10B, all checkpoints; every family);
* ``emergence.png``: the synthetic validation of docs/recipes/emergence.md (NUTS and 200
  bootstrap refits), the OLMo checkpoints (``olmo_demo(posterior=False)``: 200 bootstrap
  refits; NUTS on its 11 tasks of up to 3,569 checkpoints ran over 40 minutes on 2 shared
  cores without finishing) and the BIG-bench tasks (``obs_demo()``: NUTS and 200 bootstrap
  refits), drawn together by ``plot_emergence([...])``;
* ``flp_m.png``: ``flp_m()`` on the OLMo ladder;
* ``flp.png``: ``flp()`` on the OLMo ladder.

Run from the repository root (minutes on 2 cores; NUTS and the bootstraps dominate)::

    PYTHONPATH=$PWD python scripts/recipe_figures.py [ladder hitchhiker emergence flp_m flp]
        [--out docs/recipes]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path


def ladder_result():
    from jaxfit.recipes.ladder import ladder

    return ladder(intervals=True, calibrate=True)


def hitchhiker_result():
    from jaxfit.recipes.hitchhiker import hitchhiker

    return hitchhiker(cuts=[1e10], checkpoints=["all"])


def emergence_results():
    """(synthetic emergence-law fit, OLMo few-shot elbows, BIG-bench few-shot elbows)."""
    import numpy as np
    import pandas as pd

    import jaxfit as jf
    from jaxfit.recipes.emergence import emergence, obs_demo, olmo_demo

    truth = dict(k=0.02, alpha=1.5, C=1.9, A=0.6, B=0.25)      # docs/recipes/emergence.md
    df = pd.DataFrame([(L, n) for n in (50, 100, 200, 500, 1000, 2000, 5000, 10000)
                       for L in np.linspace(1.8, 2.8, 21)], columns=["loss", "n_train"])
    exact = jf.models.emergence("log_power", temperature=0.0)
    df["accuracy"] = np.asarray(exact(truth, {"L": df["loss"].to_numpy(),
                                              "D": df["n_train"].to_numpy()}))
    df["accuracy"] += 0.01 * np.random.default_rng(0).standard_normal(len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthetic = emergence(df, y="accuracy", loss="loss", D="n_train", D0=5,
                              bootstrap=200)
        return synthetic, olmo_demo(posterior=False), obs_demo()


#: Panel title of the synthetic emergence result (a fit without ``by=``: task 0).
TITLES = {0: "synthetic validation (truth E(5) = 1.941)"}


def flp_m_result():
    from jaxfit.recipes.flp_m import flp_m

    return flp_m()


def flp_result():
    from jaxfit.recipes.flp import flp

    return flp()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("figures", nargs="*",
                    default=["ladder", "hitchhiker", "emergence", "flp_m", "flp"])
    ap.add_argument("--out", default="docs/recipes", help="folder of the PNGs")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.figures:
        t0 = time.perf_counter()
        if name == "emergence":
            from jaxfit.recipes.emergence_plot import plot_emergence

            fig = plot_emergence(list(emergence_results()), titles=TITLES)
        else:
            fig = {"ladder": ladder_result, "hitchhiker": hitchhiker_result,
                   "flp_m": flp_m_result, "flp": flp_result}[name]().plot()
        fig.savefig(out / f"{name}.png")
        print(f"{out / name}.png: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
