"""NUTS convergence of a 5-parameter Chinchilla fit on every embedded dataset (issue 11).

For each embedded dataset with a loss in model size N and tokens D, its tasks (one
`jf.sample` call per dataset, default settings) and, per task: points, divergences, worst
r_hat, smallest bulk/tail ESS and whether `Posterior.diagnostics` passes. Tasks with
at least 3x more points than parameters (>= 15) are held to issue 11's bar (0
divergences, r_hat <= 1.01, bulk and tail ESS >= 400); for tasks with fewer points the
diagnostics must say so (``points`` below the threshold and ``ok`` False, with the
warning's text).

Tasks (points):

* ``chinchilla``: Epoch AI's replication data without the outliers (1 task, 240 points).
* ``olmo_ladder``: each task's loss (``task_loss``), one point per ladder run (mean of
  its last 5 checkpoints: 16 points), as the ladder's step 1.
* ``olmo_ladder_val``: each validation domain's loss, the same points (16 per domain).
* ``olmo_emergence``: the C4 loss of each ladder run, the same points.
* ``hitchhiker``: every family's loss, at most 20 checkpoints per model (log-spaced in
  tokens, above 10% of the model's last token count).
* ``pythia``: LAMBADA perplexity's log (a loss in nats) of every model and checkpoint
  after the first 1% of training (deduplicated and standard runs as 2 tasks).

``obs_emergent`` has accuracies only (no loss): not applicable. Every task above has
>= 16 points; ``olmo_ladder_8pt`` (the ladder's 5xC and 10xC runs only: 8 points per
task) shows what the diagnostics say when there are fewer than 15.

    python benchmarks/nuts_datasets.py [--only chinchilla olmo_ladder ...]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.recipes.points import tail_mean

K = 5                     # Chinchilla's parameters
MIN_POINTS = 3 * K


def _ladder(df, cols):
    rows = df[df.role == "ladder"]
    if "task" not in rows:
        rows = rows.assign(task="all")
    pts = tail_mean(rows, 5, cols).rename(columns={"tokens": "D"})
    return pts.astype({"N": np.float64, "D": np.float64})


def tasks() -> dict[str, pd.DataFrame]:
    """dataset -> DataFrame with columns task, N, D, loss."""
    out = {}
    d = jf.datasets.load("chinchilla")
    out["chinchilla"] = d[~d.epoch_excluded_outlier].assign(task="all")[["task", "N", "D", "loss"]]
    d = jf.datasets.load("olmo_ladder")
    out["olmo_ladder"] = _ladder(d, ["task_loss"]).rename(columns={"task_loss": "loss"})[
        ["task", "N", "D", "loss"]]
    # Fewer points than 3x the parameters: the ladder's 5xC and 10xC runs only (8 points
    # per task), to show that the diagnostics say so.
    pts = out["olmo_ladder"]
    runs = _ladder(d, ["task_loss"]).run
    out["olmo_ladder_8pt"] = pts[runs.str.endswith(("5xC", "10xC")).to_numpy()]
    d = jf.datasets.load("olmo_ladder_val")
    doms = ["c4", "books", "common_crawl", "pes2o", "reddit", "stack", "wiki", "ice"]
    long = d.melt(id_vars=["run", "role", "N", "step", "tokens"], value_vars=doms,
                  var_name="task", value_name="loss").dropna(subset=["loss"])
    out["olmo_ladder_val"] = _ladder(long, ["loss"])[["task", "N", "D", "loss"]]
    d = jf.datasets.load("olmo_emergence")
    out["olmo_emergence"] = _ladder(d, ["c4_loss"]).rename(columns={"c4_loss": "loss"})[
        ["task", "N", "D", "loss"]]
    d = jf.datasets.load("hitchhiker")
    d = d[(d.tokens > 0) & (d.loss > 0)]
    keep = []
    for _, g in d.groupby(["family", "model"], sort=False):
        g = g[g.tokens >= 0.1 * g.tokens.max()].sort_values("tokens")
        if len(g) > 20:
            idx = np.unique(np.searchsorted(np.log(g.tokens.to_numpy()), np.linspace(
                np.log(g.tokens.min()), np.log(g.tokens.max()), 20)).clip(0, len(g) - 1))
            g = g.iloc[idx]
        keep.append(g)
    d = pd.concat(keep)
    out["hitchhiker"] = d.rename(columns={"family": "task", "tokens": "D"})[
        ["task", "N", "D", "loss"]].astype({"N": np.float64, "D": np.float64})
    d = jf.datasets.load("pythia")
    d = d[(d.metric == "ppl") & (d.task == "lambada_openai") & (d.tokens > 0)]
    d = d[d.tokens >= 0.01 * d.tokens.max()]
    out["pythia"] = d.assign(task=np.where(d.deduped, "deduped", "standard"),
                             loss=np.log(d.value), D=d.tokens.astype(np.float64),
                             N=d.N.astype(np.float64))[["task", "N", "D", "loss"]]
    return out


def run(name, df):
    law = jf.models.chinchilla()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = jf.sample(law, df, y="loss", by="task", seed=0)
    wall = time.perf_counter() - t0
    d = post.diagnostics
    ess = np.minimum(d.ess_bulk, d.ess_tail)
    big = d.points >= MIN_POINTS
    bar = (d.divergences == 0) & (d.r_hat <= 1.01) & (ess >= 400)
    print(f"\n== {name}: {len(d)} tasks, {wall:.0f} s ({post.timing})")
    if "thinned" not in d:
        d = d.assign(thinned=1)
    print(d.assign(ess_min=ess.round(0), meets_bar=bar)[
        ["points", "temper", "divergences", "r_hat", "ess_bulk", "ess_tail", "steps_per_iter",
         "thinned", "sigma_spread", "ok", "meets_bar"]].round(3).to_string())
    small = d[~big]
    msgs = [str(w.message) for w in caught]
    if len(small):
        said = bool((~small.ok).all()) and any("points" in m for m in msgs)
        print(f"tasks with < {MIN_POINTS} points: {list(small.index)}; diagnostics say so: {said}")
    if big.any():
        print(f"tasks with >= {MIN_POINTS} points meeting the bar: {int(bar[big].sum())} / "
              f"{int(big.sum())}; divergent transitions {int(d.divergences[big].sum())} = "
              f"{d.divergences[big].sum() / (big.sum() * post.n_draws):.3%}")
    for m in msgs:
        print("warning:", m[:400])
    return d.assign(dataset=name, meets_bar=bar, big=big)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    rows = []
    for name, df in tasks().items():
        if args.only and name not in args.only:
            continue
        rows.append(run(name, df))
    d = pd.concat(rows)
    big = d[d.big]
    print(f"\n== all datasets: {len(d)} tasks, {len(big)} with >= {MIN_POINTS} points; "
          f"meeting the bar {int(big.meets_bar.sum())} / {len(big)}; with 0 divergences "
          f"{int((big.divergences == 0).sum())}; r_hat <= 1.01 and ESS >= 400 "
          f"{int(((big.r_hat <= 1.01) & (np.minimum(big.ess_bulk, big.ess_tail) >= 400)).sum())}")


if __name__ == "__main__":
    main()
