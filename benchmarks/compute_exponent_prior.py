"""The default exponent priors against power laws in compute, on real held-out models (issue 11).

`jaxfit.inference.bayes.TERM_EXPONENT_PRIOR` (LogNormal(log 0.3, 0.5), 95% range [0.113,
0.799]) was checked against the exponents of the Chinchilla form's N and D terms
(`exponent_prior.py`). Until session 21 `jaxfit.models.power_law` declared the same term
for any input, so a power law in *compute* got the same prior, while loss-against-compute
exponents are about half as large (for a compute-optimal frontier of ``E + A/N^a + B/D^b``
the compute exponent is ``a b / (a + b)``: 0.154 for Hoffmann et al.'s a = 0.34, b =
0.28). Session 21 made a term's kind (`jaxfit.law.PowerTerm.kind`) set its prior:
``COMPUTE_EXPONENT_PRIOR`` = LogNormal(log 0.15, 0.5) for compute (input "C" by default),
the size prior otherwise.

This script measures:

1. the compute exponents the point fit finds on the OLMo ladder's validation domains
   (Bhagia et al. 2024; the final checkpoint of each run, C = 6 N D, 8 domains), on all
   18 runs and on the 16 ladder runs alone, against both priors' 95% ranges; and on the
   Chinchilla frontier (the lowest loss in each quarter-decade of compute of Epoch's
   points);
2. backtests of `power_law("C")`: the point fit, NUTS and Laplace under the compute prior
   (the default) and under the size prior (``power_law("C", kind="size")``), and a
   1,000-resample bootstrap: median absolute and signed relative error of the centre
   (posterior median), how often the 90% credible interval covers the observed loss, its
   median relative width, the exponent's posterior median, how many tasks pass
   `Posterior.diagnostics`, and time. On

   a. the OLMo validation domains: 16 ladder runs (190M-1B) -> the held-out 7B and 13B
      runs (16 predictions; the data that raised the question in session 20);
   b. the OLMo ladder's 10 downstream task losses (the mean of the last 5 checkpoints,
      Bhagia et al.'s step-1 targets): 16 runs -> 7B-4T and 13B-5T (20 predictions);
   c. Epoch's Chinchilla frontier: the 14 points below 2e21 FLOPs -> the 7 above (up to
      1.3e22).

   b and c were added in session 21 before they were run, to check on data other than
   those that motivated the compute prior; their results are reported whatever they are.

    PYTHONPATH=$PWD python benchmarks/compute_exponent_prior.py
"""

from __future__ import annotations

import time
import warnings

import jax
import numpy as np
import pandas as pd

jax.config.update("jax_enable_x64", True)

import jaxfit as jf  # noqa: E402
from jaxfit.inference import bayes  # noqa: E402
from jaxfit.inference.bayes import COMPUTE_EXPONENT_PRIOR, TERM_EXPONENT_PRIOR  # noqa: E402
from jaxfit.recipes.points import tail_mean  # noqa: E402

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


def prior_range(prior=TERM_EXPONENT_PRIOR):
    return bayes.exponent_range(prior)


def exponents():
    for name, prior in (("size", TERM_EXPONENT_PRIOR), ("compute", COMPUTE_EXPONENT_PRIOR)):
        lo, hi = prior_range(prior)
        print(f"{name} exponent prior LogNormal(log {np.exp(float(prior.loc)):.2f}, "
              f"{float(prior.scale)}): 95% range [{lo:.3f}, {hi:.3f}]")
    lo, hi = prior_range()
    clo, chi = prior_range(COMPUTE_EXPONENT_PRIOR)
    long = olmo_domains()
    for label, d in (("all 18 runs", long), ("16 ladder runs", long[long.role == "ladder"])):
        res = jf.fit(LAW, d, y="loss", by="task")
        a = res.params["alpha"]
        st = res.statistics()
        print(f"OLMo domains, {label}: alpha " + ", ".join(f"{t} {v:.3f}" for t, v in a.items())
              + f"; {int((a < lo).sum())} of {len(a)} below {lo:.3f} (size), "
              f"{int(((a < clo) | (a > chi)).sum())} outside [{clo:.3f}, {chi:.3f}] (compute); "
              f"statuses {st['status'].value_counts().to_dict()}")
    fr = chinchilla_frontier()
    res = jf.fit(LAW, fr, y="loss")
    print(f"Chinchilla frontier ({len(fr)} points): alpha {float(res.params['alpha'].iloc[0]):.3f}, "
          f"status {res.statistics()['status'].iloc[0]}")


def olmo_task_losses():
    """The OLMo ladder's downstream task losses, the mean of each run's last 5 checkpoints."""
    d = jf.datasets.load("olmo_ladder").sort_values(["task", "run", "step"])
    pts = tail_mean(d, 5, ["task_loss"]).rename(columns={"task_loss": "loss"})
    role = d.groupby("run")["role"].first()
    return pts.assign(C=6.0 * pts["N"].astype(float) * pts["tokens"].astype(float),
                      role=pts["run"].map(role))


def backtests():
    long = olmo_domains()
    backtest("OLMo validation domains: 16 ladder runs per domain -> 7B, 13B",
             long[long.role == "ladder"], long[long.role == "target"])
    t = olmo_task_losses()
    backtest("OLMo task losses (last-5 mean): 16 ladder runs per task -> 7B-4T, 13B-5T",
             t[t.role == "ladder"], t[t.role == "target"])
    fr = chinchilla_frontier().assign(task="chinchilla")
    backtest("Chinchilla frontier: 14 points below 2e21 FLOPs -> 7 above",
             fr[fr.C < 2e21], fr[fr.C >= 2e21])


def backtest(title, tr, te):
    y = te["loss"].to_numpy()
    fit = jf.fit(LAW, tr, y="loss", by="task")
    new = te[["task", "C"]]
    pf = fit.predict(new)["prediction"].to_numpy() / y - 1
    print(f"\n{title}: {len(y)} held-out predictions, 90% intervals")
    print(f"{'':32s} |err| median  signed  cover  width  alpha median (min-max)  ok  time")
    print(f"{'point fit':32s} {np.median(np.abs(pf)):11.4f} {np.median(pf):+7.4f}      -      -"
          f"  {fit.params['alpha'].median():.3f} ({fit.params['alpha'].min():.3f}-"
          f"{fit.params['alpha'].max():.3f})")
    size = jf.models.power_law("C", kind="size")
    runs = [("NUTS, compute prior (default)", "nuts", LAW),
            ("NUTS, size prior", "nuts", size),
            ("Laplace, compute prior (default)", "laplace", LAW),
            ("Laplace, size prior", "laplace", size),
            ("bootstrap (1,000)", "bootstrap", LAW)]
    for label, method, law in runs:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "bootstrap":
                post = jf.bootstrap(law, tr, y="loss", by="task", start=fit, n=1000)
            else:
                post = jf.sample(law, tr, y="loss", by="task", method=method, start=fit)
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
    backtests()
