"""The default exponent prior against power laws in compute, on real held-out models (issue 11).

`jaxfit.inference.bayes.TERM_EXPONENT_PRIOR` (LogNormal(log 0.3, 0.5), 95% range [0.113,
0.799]) was checked against the exponents of the Chinchilla form's N and D terms
(`exponent_prior.py`). `jaxfit.models.power_law` declares the same term, so a power law in
*compute* gets the same prior, while loss-against-compute exponents are about half as
large (for a compute-optimal frontier of ``E + A/N^a + B/D^b`` the compute exponent is
``a b / (a + b)``: 0.154 for Hoffmann et al.'s a = 0.34, b = 0.28).

This script measures, on the OLMo ladder's validation domains (Bhagia et al. 2024; the
final checkpoint of each run, C = 6 N D, 8 domains):

1. the compute exponents the point fit finds on all 18 runs (ladder + 7B/13B targets) and
   on the 16 ladder runs alone, against the prior's 95% range; and the Chinchilla
   frontier (the lowest loss in each quarter-decade of compute of Epoch's points);
2. a backtest: `power_law("C")` fitted to the 16 ladder runs (190M-1B), predicting the two
   held-out targets (7B, 13B) per domain (16 predictions): the point fit, the default NUTS
   and Laplace posteriors, a 1,000-resample bootstrap, and NUTS / Laplace with a user
   exponent prior centred on compute exponents (``priors={"alpha": LogNormal(log 0.15,
   0.5)}``): median absolute and signed relative error of the centre (posterior median),
   how often the 90% credible interval covers the observed loss, its median relative width,
   the exponent's posterior median, how many tasks pass `Posterior.diagnostics`, and time.

    PYTHONPATH=$PWD python benchmarks/compute_exponent_prior.py
"""

from __future__ import annotations

import time
import warnings

import jax
import numpy as np
import numpyro.distributions as dist
import pandas as pd

jax.config.update("jax_enable_x64", True)

import jaxfit as jf  # noqa: E402
from jaxfit.inference.bayes import TERM_EXPONENT_PRIOR  # noqa: E402

DOMAINS = ["c4", "books", "common_crawl", "pes2o", "reddit", "stack", "wiki", "ice"]
LAW = jf.models.power_law("C")
PROB = 0.9


def olmo_domains() -> pd.DataFrame:
    """Final checkpoint of every OLMo ladder run, long over the validation domains."""
    v = jf.datasets.load("olmo_ladder_val")
    last = v.sort_values("step").groupby("run").tail(1)
    last = last.assign(C=6.0 * last["N"].astype(float) * last["tokens"].astype(float))
    return last.melt(id_vars=["run", "role", "N", "C"], value_vars=DOMAINS, var_name="task",
                     value_name="loss").dropna()


def chinchilla_frontier() -> pd.DataFrame:
    c = jf.datasets.load("chinchilla")
    c = c[~c["epoch_excluded_outlier"]]
    b = np.round(np.log10(c["C"]) * 4)
    return c[c["loss"] == c.groupby(b)["loss"].transform("min")]


def prior_range(p=0.95):
    q = (1 - p) / 2
    z = float(jax.scipy.stats.norm.ppf(1 - q))
    loc, scale = float(TERM_EXPONENT_PRIOR.loc), float(TERM_EXPONENT_PRIOR.scale)
    return np.exp(loc - z * scale), np.exp(loc + z * scale)


def exponents():
    lo, hi = prior_range()
    print(f"default exponent prior LogNormal(log 0.3, 0.5): 95% range [{lo:.3f}, {hi:.3f}]")
    long = olmo_domains()
    for label, d in (("all 18 runs", long), ("16 ladder runs", long[long.role == "ladder"])):
        res = jf.fit(LAW, d, y="loss", by="task")
        a = res.params["alpha"]
        st = res.statistics()
        print(f"OLMo domains, {label}: alpha " + ", ".join(f"{t} {v:.3f}" for t, v in a.items())
              + f"; {int((a < lo).sum())} of {len(a)} below {lo:.3f}; statuses "
              f"{st['status'].value_counts().to_dict()}")
    fr = chinchilla_frontier()
    res = jf.fit(LAW, fr, y="loss")
    print(f"Chinchilla frontier ({len(fr)} points): alpha {float(res.params['alpha'].iloc[0]):.3f}, "
          f"status {res.statistics()['status'].iloc[0]}")


def backtest():
    long = olmo_domains()
    tr, te = long[long.role == "ladder"], long[long.role == "target"]
    y = te["loss"].to_numpy()
    fit = jf.fit(LAW, tr, y="loss", by="task")
    new = te[["task", "C"]]
    pf = fit.predict(new)["prediction"].to_numpy() / y - 1
    print(f"\nbacktest: {tr.groupby('task').size().iloc[0]} ladder runs per domain -> "
          f"{len(y)} held-out predictions (7B, 13B x {len(DOMAINS)} domains), 90% intervals")
    print(f"{'':32s} |err| median  signed  cover  width  alpha median (min-max)  ok  time")
    print(f"{'point fit':32s} {np.median(np.abs(pf)):11.4f} {np.median(pf):+7.4f}      -      -"
          f"  {fit.params['alpha'].median():.3f} ({fit.params['alpha'].min():.3f}-"
          f"{fit.params['alpha'].max():.3f})")
    compute_prior = {"alpha": dist.LogNormal(np.log(0.15), 0.5)}
    runs = [("NUTS, default prior", "nuts", None), ("Laplace, default prior", "laplace", None),
            ("bootstrap (1,000)", "bootstrap", None),
            ("NUTS, LogNormal(log 0.15, 0.5)", "nuts", compute_prior),
            ("Laplace, LogNormal(log 0.15, 0.5)", "laplace", compute_prior)]
    for label, method, priors in runs:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "bootstrap":
                post = jf.bootstrap(LAW, tr, y="loss", by="task", start=fit, n=1000)
            else:
                post = jf.sample(LAW, tr, y="loss", by="task", method=method, priors=priors,
                                 start=fit)
        p = post.predict(new, prob=PROB)
        e = p["median"].to_numpy() / y - 1
        cov = (p["credible_lower"].to_numpy() <= y) & (y <= p["credible_upper"].to_numpy())
        width = np.median((p["credible_upper"] - p["credible_lower"]).to_numpy() / y)
        a = np.median(post.flat("alpha"), axis=1)
        ok = int(post.diagnostics["ok"].sum())
        print(f"{label:32s} {np.median(np.abs(e)):11.4f} {np.median(e):+7.4f} {cov.sum():3d}/{len(y)}"
              f" {width:6.4f}  {np.median(a):.3f} ({a.min():.3f}-{a.max():.3f})"
              f"  {ok}/{len(a)} {time.perf_counter() - t0:5.1f} s", flush=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    exponents()
    backtest()
