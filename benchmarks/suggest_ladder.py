"""Does `jf.suggest` pick runs that narrow the big prediction sooner? A replay on the OLMo ladder.

Bhagia et al. (2024)'s ladder has 16 runs (190M-1B x 1, 2, 5, 10 x Chinchilla) and a
7B-4T target. Per task, each run contributes one step-1 point (N, D = its final tokens,
L = mean task loss of its last 5 checkpoints; `jaxfit.recipes.ladder`). Starting from the
4 cheapest runs (by compute 6ND: 190M-1xC, 190M-2xC, 370M-1xC, 190M-5xC), two orders add
the remaining 12 runs one at a time:

* ``smallest``: the fixed order of increasing compute;
* ``suggest``: at each step, the run `jf.suggest` ranks first (largest expected
  reduction of the 7B-4T 90% credible width per unit compute, method "linear") among the
  remaining ones, computed from the current posterior's draws.

**The posterior (well-posed at 4 points).** Step 1's law ``L = E + A/N^alpha + B/D^beta``
in `jaxfit.models.chinchilla`'s parametrisation (the same function as
`jaxfit.models.ladder_step1`, but with declared power-law terms and floor, so jaxfit's
data-scaled priors apply: each term's level at the data centre ~ N(-2, 1.5) relative to
the loss there, exponents ~ LogNormal(log 0.3, 0.5), `jaxfit.inference.bayes`), a Normal
likelihood on log-loss with ``sigma ~ LogNormal(log 0.02, 0.5)``. The posterior's mode is
found by Newton from 81 fixed starts in the sampler's data-scaled coordinates (the same
starts for every run set), and its Laplace covariance is the inverse Hessian there (positive
definite on every run set of the replay: smallest eigenvalue of the Hessian >= 1.0).

**The width (deterministic).** The 90% credible interval of the 7B-4T task loss is the
delta-method interval of ``log L`` under the Laplace posterior,
``exp(mu +- 1.645 sd)`` with ``sd^2 = g^T H^-1 g`` (g: gradient of the target's log loss
at the mode). A run set has one width wherever it sits in the batch (tested). `suggest`
gets draws ``v = mode + L z`` of the same Laplace posterior with one fixed set of
``z ~ N(0, I)`` shared by every task and step.

**The reading of the acceptance (issue 13).** Let ``W_k`` and ``C_k`` be the
smallest-first order's width and cumulative added compute after ``k = 1..12`` added
runs. For each k, ``c_k`` is the least cumulative compute at which the suggested order's
width is <= ``W_k`` (inf if never); the task's ratio is ``median_k c_k / C_k``; the
acceptance is the median over the 8 tasks <= 0.7. (k = 1 always gives >= 1: C_1 is the
cheapest remaining run; k = 12 gives 1 unless a subset is as narrow as all 16 runs.)
``--envelope`` also computes, per k, the cheapest of *all* 4,096 subsets of the 12 runs
whose width is <= W_k: a bound no order (nested or not) can beat. ``--design`` repeats the
comparison with design-only (Fisher) widths: the best-subset envelope, the greedy order and
the best of 100,000 random orders.

Run: ``python benchmarks/suggest_ladder.py [--method linear|reweight] [--tasks ...]
[--csv out.csv] [--figure docs/decide_suggest_ladder.png] [--envelope]``
(about 1 minute on 2 CPU cores; ``--envelope``: about 15 minutes).
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

# The replay itself (the Laplace posterior, the widths, the two orders) is
# jaxfit/decide/ladder_replay.py, shared with tests/test_decide.py.
from jaxfit.decide.ladder_replay import (BM, LAW, compute_ratio, ladder_points, laplace_width,
                                         pack, replay, simulated_points)
from jaxfit.recipes.ladder import PAPER_TASKS


def envelope(tasks=PAPER_TASKS, n_start: int = 4, prob: float = 0.9, chunk: int = 1024,
             n_orders: int = 100_000, seed: int = 0):
    """Per task and k: the least compute of any subset of the remaining runs whose width is
    <= the smallest-first width W_k, over C_k (a bound for every order); and, on the same
    real-data widths, the best ratio among ``n_orders`` random nested orders
    (``best_random_order``: an oracle that knows every run's outcome in advance)."""
    rng = np.random.default_rng(seed)
    pts, tgt = ladder_points(tasks)
    runs = list(pts.drop_duplicates("run").sort_values("cost", kind="stable")["run"])
    cost = dict(zip(pts["run"], pts["cost"]))
    start, rest = runs[:n_start], runs[n_start:]
    masks = np.array(list(itertools.product([False, True], repeat=len(rest))))
    subsets = [[r for r, m in zip(rest, mk) if m] for mk in masks]
    csub = np.array([sum(cost[r] for r in s) for s in subsets])
    sf = [int("".join("1" if i < k else "0" for i in range(len(rest))) or "0", 2)
          for k in range(len(rest) + 1)]
    out = []
    for t in tasks:
        wid = np.concatenate([laplace_width(pts, tgt, [(t, start + s) for s in
                                                       subsets[c:c + chunk]], prob)["width"]
                              for c in range(0, len(subsets), chunk)])
        r = [csub[wid <= wid[sf[k]] * (1 + 1e-9)].min() / csub[sf[k]]
             for k in range(1, len(rest) + 1)]
        rnd, best = _best_random_order(wid, csub, sf, rng, n_orders)
        out.append(dict(task=t, bound=float(np.median(r)), best_random_order=rnd,
                        best_order=[rest[j] for j in best], ratios=np.round(r, 2).tolist()))
    return pd.DataFrame(out)


def _best_random_order(W, csub, sf, rng, n_orders):
    """The best task ratio (median over k of c_k / C_k) among ``n_orders`` random nested
    orders of the remaining runs, from the widths ``W`` of every subset (bit masks, first
    run the most significant bit), and that order."""
    n_rest = len(sf) - 1
    perms = np.argsort(rng.random((n_orders, n_rest)), axis=1)
    pw = 2 ** np.arange(n_rest - 1, -1, -1)
    pref = np.concatenate([np.zeros((n_orders, 1), np.int64),
                           np.cumsum(pw[perms], axis=1)], axis=1)
    pwid, pcst = W[pref], csub[pref]
    rnd = np.median([np.where(pwid <= W[sf[q]] * (1 + 1e-9), pcst, np.inf).min(axis=1)
                     / csub[sf[q]] for q in range(1, n_rest + 1)], axis=0)
    return float(rnd.min()), perms[int(np.argmin(rnd))]


def design_bound(tasks=PAPER_TASKS, n_start: int = 4, prob: float = 0.9,
                 n_orders: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """The same comparison with design-only widths (no data luck): the Fisher information
    at each task's 16-run posterior mode with sigma fixed there,
    ``H(S) = H_prior + sum_{i in S} g_i g_i^T / sigma^2`` (g_i: gradient of the log loss at
    run i), and the delta-method width of the target. Per task: ``envelope`` (cheapest of
    all 4,096 subsets reaching each W_k; non-nested, a bound for every order) and
    ``greedy`` (the nested order of the largest width reduction per unit cost, i.e. what
    `suggest` does when its predictions are exact) and ``best_random_order`` (the best
    ratio among ``n_orders`` random nested orders; ``best_order`` is that order)."""
    rng = np.random.default_rng(seed)
    pts, tgt = ladder_points(tasks)
    tasks = list(tasks)
    runs = list(pts.drop_duplicates("run").sort_values("cost", kind="stable")["run"])
    cost = np.array([pts.loc[pts["run"] == r, "cost"].iloc[0] for r in runs])
    n_rest = len(runs) - n_start
    rest_runs = runs[n_start:]
    masks = np.array(list(itertools.product([False, True], repeat=n_rest)))
    csub = masks @ cost[n_start:]
    sf = [int("".join("1" if i < k else "0" for i in range(n_rest)) or "0", 2)
          for k in range(n_rest + 1)]
    z = float(jax.scipy.stats.norm.ppf(0.5 + prob / 2))
    lap = laplace_width(pts, tgt, [(t, runs) for t in tasks], prob)
    x, y, w, xt = pack(pts, tgt, [(t, runs) for t in tasks])
    k = BM.dim - 1
    out = []
    with jax.enable_x64(True):
        for i, t in enumerate(tasks):
            xi = {n: jnp.asarray(a[i]) for n, a in x.items()}
            yi, wi = jnp.asarray(y[i]), jnp.asarray(w[i])
            ref = BM.reference(xi, yi, wi)
            v0 = jnp.asarray(lap["center"][i])
            sig2 = float(np.exp(2 * v0[-1]))
            s = pts[pts["task"] == t].set_index("run").loc[runs]

            def logf(vk, N, D):
                return LAW.log(BM.split(jnp.concatenate([vk, v0[-1:]]), ref)[0],
                               {"N": N, "D": D})

            def neg_log_prior(vk):
                return -BM.log_prior(BM.to_law(jnp.concatenate([vk, v0[-1:]]), ref)[:-1],
                                     xi, yi, wi)

            Hp = np.asarray(jax.hessian(neg_log_prior)(v0[:k]))
            G = np.asarray(jax.vmap(jax.grad(logf), in_axes=(None, 0, 0))(
                v0[:k], jnp.asarray(s["N"].to_numpy()), jnp.asarray(s["tokens"].to_numpy())))
            gt = np.asarray(jax.grad(logf)(v0[:k], xt["N"][i], xt["D"][i]))
            mu = float(logf(v0[:k], xt["N"][i], xt["D"][i]))
            H0 = Hp + G[:n_start].T @ G[:n_start] / sig2
            Gr = G[n_start:]

            def width(m):
                sd = np.sqrt(gt @ np.linalg.solve(H0 + Gr[m].T @ Gr[m] / sig2, gt))
                return np.exp(mu + z * sd) - np.exp(mu - z * sd)

            W = np.array([width(m) for m in masks])
            m = np.zeros(n_rest, bool)
            gw, gc = [width(m)], [0.0]
            for _ in range(n_rest):
                free = np.flatnonzero(~m)
                sc = [(gw[-1] - width(m | (np.arange(n_rest) == j))) / cost[n_start + j]
                      for j in free]
                j = free[int(np.argmax(sc))]
                m[j] = True
                gw.append(width(m))
                gc.append(gc[-1] + cost[n_start + j])
            gw, gc = np.array(gw), np.array(gc)
            ks = range(1, n_rest + 1)
            env = [csub[W <= W[sf[q]] * (1 + 1e-9)].min() / csub[sf[q]] for q in ks]
            gr = [gc[gw <= W[sf[q]] * (1 + 1e-9)].min() / csub[sf[q]] for q in ks]
            # the best of n_orders random nested orders (prefix subsets as bit masks)
            rnd, best = _best_random_order(W, csub, sf, rng, n_orders)
            out.append(dict(task=t, envelope=float(np.median(env)), greedy=float(np.median(gr)),
                            best_random_order=rnd, best_order=[rest_runs[j] for j in best],
                            envelope_k=np.round(env, 2).tolist(),
                            greedy_k=np.round(gr, 2).tolist()))
    return pd.DataFrame(out)


def plot_curves(curves: pd.DataFrame, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys(curves["task"]))
    r = compute_ratio(curves).set_index("task")["ratio"]
    fig, axes = plt.subplots(2, (len(tasks) + 1) // 2, figsize=(3.2 * ((len(tasks) + 1) // 2), 6),
                             squeeze=False)
    for ax, t in zip(axes.ravel(), tasks):
        for o, style in (("smallest", "o-"), ("suggest", "s-")):
            g = curves[(curves["task"] == t) & (curves["order"] == o)].sort_values("step")
            c = g["cum_compute"].to_numpy()
            ax.plot(np.where(c > 0, c, 1e19), g["width"], style, ms=3, label=o)
        ax.set_xscale("log")
        ax.set_title(f"{t} (ratio {r[t]:.2f})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(tasks):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.supxlabel("cumulative compute of the added runs (6ND; start at 1e19)", fontsize=9)
    fig.supylabel("90% credible width, 7B-4T task loss", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=list(PAPER_TASKS))
    p.add_argument("--n-start", type=int, default=4)
    p.add_argument("--method", default="linear", choices=["linear", "reweight"],
                   help="suggest's update")
    p.add_argument("--steps", type=int, help="added runs to replay (default: all)")
    p.add_argument("--csv", help="write the curves here")
    p.add_argument("--figure", help="write the curves' figure here (png)")
    p.add_argument("--simulate", type=int, default=0, metavar="R",
                   help="also replay R simulated ladders (truth: each task's 16-run fit)")
    p.add_argument("--design", action="store_true",
                   help="also the design-only bound (Fisher widths at the 16-run mode)")
    p.add_argument("--envelope", action="store_true",
                   help="also the best-subset bound (4,096 subsets per task; slow)")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    curves = replay(args.tasks, n_start=args.n_start, method=args.method, steps=args.steps)
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.float_format", "{:.4g}".format):
        wide = curves.pivot_table(index=["task", "step"], columns="order",
                                  values=["cum_compute", "width"], sort=False)
        for o in ("smallest", "suggest"):
            wide[("run", o)] = curves[curves.order == o].set_index(["task", "step"])["run"]
        print(wide)
        r = compute_ratio(curves)
        print(r)
    print(f"median compute ratio over {len(r)} tasks: {r['ratio'].median():.3f} "
          f"(method {args.method}, Laplace refits, 90% credible interval, start "
          f"{args.n_start} runs; {time.perf_counter() - t0:.0f} s); per-k median over tasks: "
          f"{np.round(np.median(np.array(r['ratios'].tolist()), axis=0), 2).tolist()}")
    if args.csv:
        curves.to_csv(args.csv, index=False)
    if args.figure:
        plot_curves(curves, args.figure)
    sims = []
    for seed in range(args.simulate):
        pts, tgt = ladder_points(args.tasks)
        sim = simulated_points(pts, tgt, seed, args.tasks)
        rs = compute_ratio(replay(args.tasks, n_start=args.n_start, method=args.method,
                                  steps=args.steps, pts=sim, tgt=tgt))
        sims.append(rs.assign(seed=seed))
        print(f"simulated ladder {seed}: per-task ratios "
              f"{np.round(rs['ratio'].to_numpy(), 2).tolist()}, median {rs['ratio'].median():.3f}",
              flush=True)
    if sims:
        allr = pd.concat(sims)
        print(f"simulated ladders: median over tasks per seed "
              f"{np.round(allr.groupby('seed')['ratio'].median().to_numpy(), 3).tolist()}; "
              f"median over all (task, seed): {allr['ratio'].median():.3f}")
    if args.design:
        d = design_bound(args.tasks, n_start=args.n_start)
        with pd.option_context("display.width", 200, "display.max_colwidth", 80):
            print(d)
        print(f"design-only widths, median over tasks: best-subset envelope "
              f"{d['envelope'].median():.3f}, greedy-per-cost order {d['greedy'].median():.3f}, "
              f"best of 100,000 random orders {d['best_random_order'].median():.3f}")
    if args.envelope:
        e = envelope(args.tasks, n_start=args.n_start)
        print(e)
        print(f"best-subset bound, median over tasks: {e['bound'].median():.3f}; best of "
              f"100,000 random nested orders (hindsight): {e['best_random_order'].median():.3f}")


if __name__ == "__main__":
    main()
