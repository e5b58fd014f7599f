"""Many-task Bayesian fits: one batched call vs a Python loop, and the alternatives.

Synthetic Chinchilla-form tasks (known truth, 0.5% log-normal noise, N in 1e7-1e10 and
D in 1e9-1e12, log-uniform). For each option this prints the wall time (a first call,
which compiles, and a second call with the compiled program, except for ``plate``,
whose numpyro ``MCMC`` object compiles on every call), the mean leapfrog steps per NUTS
iteration (warm-up and sampling; the max over tasks matters under vmap), the
divergences, the worst r_hat, and how far the posterior means and sds are from the
batched NUTS run (in units of the posterior sd).

Options measured:

* ``default``: `jaxfit.sample` default: numpyro NUTS in Laplace-whitened coordinates,
  dense mass matrix per task; on a CPU tasks and their chains one after another
  (``task_batch="auto"``: 1; `NutsOptions.vmap_chains` False), on an accelerator chains
  vmapped and tasks vmapped in groups of 10.
* ``groups of 10, chains vmapped``: the CPU default before session 15 (``task_batch=10``,
  chains vmapped).
* ``vmap all``: every task and chain vmapped at once (``task_batch=None``, chains
  vmapped).
* ``raw``: the same without whitening (raw unconstrained coordinates centred at the
  mode; the issue's baseline geometry), on the first ``--raw-tasks`` tasks (slow).
* ``plate``: one plated NUTS model over all tasks (``batching="plate"``).
* ``svi`` / ``laplace``: numpyro ``AutoMultivariateNormal`` / ``AutoLaplaceApproximation``
  vmapped over tasks.
* ``loop``: `jaxfit.sample` called once per task (compiled once, shapes equal).

Run: ``python benchmarks/sample_batch.py [--tasks 100] [--loop 100] [--warmup 500]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.inference import bayes
from jaxfit.sample import sample

TRUTH = dict(E=1.8, A=400.0, B=2000.0, alpha=0.34, beta=0.37)


def synthetic(tasks: int, points: int, sigma: float = 0.01, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, (tasks, points))
    D = 10 ** rng.uniform(9, 12, (tasks, points))
    p = TRUTH
    loss = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
    loss = loss * np.exp(sigma * rng.standard_normal(loss.shape))
    return pd.DataFrame({"task": np.repeat(np.arange(tasks), points), "N": N.ravel(),
                         "D": D.ravel(), "loss": loss.ravel()})


def vmapped_chains(fn):
    """``fn`` with every NUTS run's chains vmapped (the accelerator setting, on any backend)."""
    def call():
        orig = bayes.NutsOptions
        bayes.NutsOptions = lambda **kw: orig(**{**kw, "vmap_chains": True})
        try:
            return fn()
        finally:
            bayes.NutsOptions = orig
    return call


def run(label, fn, ref=None, repeat=True):
    """Time ``fn`` (twice when ``repeat``: the first call compiles)."""
    t0 = time.perf_counter()
    post = fn()
    first = time.perf_counter() - t0
    second = np.nan
    if repeat:
        t0 = time.perf_counter()
        post = fn()
        second = time.perf_counter() - t0
    row = {"option": label, "first_call_s": first, "second_call_s": second}
    d = post.diagnostics
    if "steps_per_iter" in d:
        row["steps/iter"] = d["steps_per_iter"].mean()
        row["steps/iter max task"] = d["steps_per_iter"].max()
        row["warmup steps/iter"] = d["warmup_steps_per_iter"].mean()
        row["divergences"] = int(d["divergences"].sum())
        row["tasks with div"] = int((d["divergences"] > 0).sum())
    if "r_hat" in d:
        row["max r_hat"] = d["r_hat"].max()
        row["tasks r_hat>1.01"] = int((d["r_hat"] > 1.01).sum())
    if ref is not None:
        names = list(post.law.param_names)
        m0 = np.stack([ref.flat(n).mean(1) for n in names])
        s0 = np.stack([ref.flat(n).std(1) for n in names])
        m1 = np.stack([post.flat(n).mean(1) for n in names])
        s1 = np.stack([post.flat(n).std(1) for n in names])
        row["max |mean diff|/sd"] = np.max(np.abs(m1 - m0) / s0)
        row["sd ratio range"] = f"{np.min(s1 / s0):.2f}-{np.max(s1 / s0):.2f}"
    print(pd.Series(row).to_string(), flush=True)
    print(flush=True)
    return post, row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--points", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--loop", type=int, default=100, help="tasks timed in the Python loop")
    ap.add_argument("--raw-tasks", type=int, default=10,
                    help="tasks in the (slow) raw-coordinates run")
    ap.add_argument("--noise", type=float, default=0.005,
                    help="log-normal noise (Epoch's Chinchilla residual RMS is 0.007)")
    ap.add_argument("--skip", nargs="*", default=[], help="options to skip")
    a = ap.parse_args()
    law = jf.models.chinchilla()
    df = synthetic(a.tasks, a.points, sigma=a.noise)
    kw = dict(y="loss", chains=a.chains, warmup=a.warmup, samples=a.samples, warn=False)
    print(f"{a.tasks} tasks x {a.points} points, {a.chains} chains x ({a.warmup} warm-up + "
          f"{a.samples}) iterations\n", flush=True)
    warnings.simplefilter("ignore")
    rows = []
    ref, row = run("default", lambda: sample(law, df, by="task", **kw))
    rows.append(row)
    few = df[df.task < a.raw_tasks]
    options = {
        "groups of 10, chains vmapped": vmapped_chains(
            lambda: sample(law, df, by="task", task_batch=10, **kw)),
        "vmap all": vmapped_chains(lambda: sample(law, df, by="task", task_batch=None, **kw)),
        f"raw ({a.raw_tasks} tasks)": lambda: sample(law, few, by="task", whiten=False, **kw),
        "plate": lambda: sample(law, df, by="task", batching="plate", **kw),
        "svi": lambda: sample(law, df, by="task", method="svi", **kw),
        "laplace": lambda: sample(law, df, by="task", method="laplace", **kw),
    }
    # "plate" (numpyro's MCMC class) compiles on every call: one call says all.
    for label, fn in options.items():
        if label not in a.skip:
            sub = ref if not label.startswith("raw") else None
            rows.append(run(label, fn, sub, repeat=label != "plate")[1])
    if "loop" not in a.skip and a.loop:
        groups = [g for _, g in df.groupby("task")][: a.loop]
        t0 = time.perf_counter()
        sample(law, groups[0], **kw)                                      # compiles
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for g in groups:
            sample(law, g, **kw)
        loop = time.perf_counter() - t0
        per_task = loop / len(groups)
        batched = rows[0]["second_call_s"]
        print(pd.Series({"option": f"loop over {len(groups)} tasks", "first_call_s": first,
                         "loop_s": loop, "per_task_s": per_task,
                         f"loop time for {a.tasks} tasks (s)": per_task * a.tasks}).to_string())
        print(f"\nspeed-up of the batched call over the loop (compiled, {a.tasks} tasks): "
              f"{per_task * a.tasks / batched:.1f}x", flush=True)
    print("\nsummary:")
    print(pd.DataFrame(rows).set_index("option").to_string())


if __name__ == "__main__":
    main()
