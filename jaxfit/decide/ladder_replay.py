"""Replay of a finished model ladder's run order: how fast each order narrows a target's
interval (issue 13; used by ``benchmarks/suggest_ladder.py`` and ``tests/test_decide.py``).

Given the step-1 points of a ladder (one per task and run: ``N``, ``tokens``,
``task_loss``, ``cost``; `ladder_points` reads the embedded OLMo ladder, Bhagia et al.
2024) and a target per task, `replay` starts every task from the ``n_start`` cheapest runs
and adds the remaining runs one at a time in two orders: ``smallest`` (increasing compute)
and ``suggest`` (the run `jaxfit.suggest` ranks first from the current posterior);
`compute_ratio` compares the two orders' cumulative compute at equal width.

**The posterior (well-posed at 4 points).** Step 1's law ``L = E + A/N^alpha + B/D^beta``
in `jaxfit.models.chinchilla`'s parametrisation (so jaxfit's data-scaled priors apply,
`jaxfit.inference.bayes`), a Normal likelihood on log-loss with ``sigma ~ LogNormal(log
0.02, 0.5)``. The mode is found by Newton from 81 fixed starts in the sampler's
data-scaled coordinates (`STARTS`, the same for every run set), and the Laplace
covariance is the inverse Hessian there.

**The width (deterministic).** The ``prob`` credible interval of the target's task loss is
the delta-method interval of ``log L`` under the Laplace posterior, ``exp(mu +- z sd)``
with ``sd^2 = g^T H^-1 g`` (g: gradient of the target's log loss at the mode); a run set
has one width wherever it sits in the batch. `suggest` gets draws ``v = mode + L z`` of
the same Laplace posterior with one fixed set of ``z ~ N(0, I)`` (`laplace_posterior`).

Example:
    >>> from jaxfit.decide.ladder_replay import compute_ratio, replay
    >>> curves = replay(["arc_easy_test"])              # doctest: +SKIP
    >>> compute_ratio(curves)                            # doctest: +SKIP
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd

import jaxfit as jf
from jaxfit.inference import bayes, cache
from jaxfit.inference.optimize import SolverOptions, minimize
from jaxfit.posterior import Posterior
from jaxfit.recipes.ladder import PAPER_TASKS, load_olmo_ladder
from jaxfit.recipes.points import tail_mean

__all__ = ["TARGET", "LAW", "LIK", "SIGMA_PRIOR", "BM", "STARTS", "ladder_points", "pack",
           "laplace_width", "laplace_posterior", "replay", "simulated_points",
           "compute_ratio"]

TARGET = "7B-4T"
#: One Law / likelihood / prior object for every refit (compiled programs are cached per
#: object).
LAW = jf.models.chinchilla()
LIK = bayes.make_likelihood("normal", "log")
SIGMA_PRIOR = dist.LogNormal(float(np.log(0.02)), 0.5)
BM = bayes.make_model(LAW, LIK, {"sigma": SIGMA_PRIOR})
Z90 = 1.6448536269514722
#: Draws of the Laplace posterior handed to `jf.suggest` (one fixed z for every run set).
N_DRAWS = 2000
#: Width of an order's start and every padded batch: the ladder has 16 runs.
P = 16


def ladder_points(tasks=PAPER_TASKS, last_n: int = 5):
    """(step-1 points per task and ladder run, the target's rows per task)."""
    df = load_olmo_ladder()
    df = df[df["task"].isin(list(tasks))]
    lad = df[df["role"] == "ladder"].sort_values(["task", "run", "tokens"], kind="stable")
    pts = tail_mean(lad, last_n, ["task_loss"])
    pts["N"] = pts["N"].astype(np.float64)
    pts["tokens"] = pts["tokens"].astype(np.float64)
    pts["cost"] = 6.0 * pts["N"] * pts["tokens"]
    tgt = df[df["run"] == TARGET].groupby("task", sort=False).tail(1)
    tgt = tgt.assign(N=tgt["N"].astype(np.float64), tokens=tgt["tokens"].astype(np.float64))
    return pts.reset_index(drop=True), tgt[["task", "N", "tokens", "task_loss"]]


def _starts() -> np.ndarray:
    """81 starts [S, 6] in the sampler's coordinates (`bayes.BayesModel`): the law at the
    data centre equal to the data (floor slot 0), each term's log ratio to the floor in
    {-1.5, 0, 1.5}, exponents in {0.15, 0.3, 0.6}, sigma 0.02."""
    names = BM.law.param_names
    rows = []
    for ra, rb, ka, kb in itertools.product([-1.5, 0.0, 1.5], [-1.5, 0.0, 1.5],
                                            [0.15, 0.3, 0.6], [0.15, 0.3, 0.6]):
        l0 = -np.logaddexp(0.0, np.logaddexp(ra, rb))      # floor's level at the centre
        v = np.zeros(BM.dim)
        v[names.index("A")], v[names.index("B")], v[names.index("E")] = ra, rb, 0.0
        v[names.index("alpha")] = np.log(ka) + ra + l0       # log slope = log k + level
        v[names.index("beta")] = np.log(kb) + rb + l0
        v[-1] = np.log(0.02)
        rows.append(v)
    return np.array(rows)


STARTS = _starts()
SOLVER = SolverOptions(method="newton", max_steps=300, ftol=1e-12, refine=None)


def _laplace_one(v, x, y, w, xt):
    ref = BM.reference(x, y, w)

    def log_target(v):
        return LAW.log(BM.split(v, ref)[0], xt)

    H = jax.hessian(BM.objective)(v, x, y, w)
    lam, V = jnp.linalg.eigh(0.5 * (H + H.T))
    chol = V / jnp.sqrt(jnp.maximum(jnp.abs(lam), 1e-10 * jnp.max(jnp.abs(lam))))[None, :]
    g = jax.grad(log_target)(v)
    return log_target(v), jnp.sqrt(jnp.sum((g @ chol) ** 2)), chol, jnp.min(lam)


_laplace_batched = cache.jit(jax.vmap(_laplace_one))


def pack(pts: pd.DataFrame, tgt: pd.DataFrame, sets):
    """Padded arrays of run sets ``[(task, [run, ...]), ...]``: x, y, w [B, P], target x [B]."""
    B = len(sets)
    N, D, y, w = np.ones((B, P)), np.ones((B, P)), np.ones((B, P)), np.zeros((B, P))
    NT, DT = np.zeros(B), np.zeros(B)
    for b, (t, runs) in enumerate(sets):
        s = pts[(pts["task"] == t) & pts["run"].isin(list(runs))]
        n = len(s)
        N[b, :n], D[b, :n], y[b, :n], w[b, :n] = s["N"], s["tokens"], s["task_loss"], 1.0
        r = tgt[tgt["task"] == t].iloc[0]
        NT[b], DT[b] = r["N"], r["tokens"]
    return {"N": N, "D": D}, y, w, {"N": NT, "D": DT}


def laplace_width(pts, tgt, sets, prob: float = 0.9) -> dict:
    """Laplace posterior of every run set and the delta-method ``prob`` credible width of
    the target's task loss (one batched call).

    Returns:
        dict of arrays over the sets: ``width``, ``median`` (exp mu), ``sd`` (of log L),
        ``center`` [B, 6] and ``chol`` [B, 6, 6] (``chol chol^T`` = inverse Hessian),
        ``sigma``, ``min_eig`` (smallest Hessian eigenvalue) and ``grad_norm``.
    """
    z = float(jax.scipy.stats.norm.ppf(0.5 + prob / 2)) if prob != 0.9 else Z90
    x, y, w, xt = pack(pts, tgt, sets)
    with jax.enable_x64(True):
        x = {k: jnp.asarray(v) for k, v in x.items()}
        y, w = jnp.asarray(y), jnp.asarray(w)
        sol = minimize(BM.objective, jnp.asarray(STARTS), x, y, w, opts=SOLVER)
        xt = {k: jnp.asarray(v) for k, v in xt.items()}
        mu, sd, chol, lmin = (np.asarray(a) for a in _laplace_batched(sol.u, x, y, w, xt))
        center = np.asarray(sol.u)
    return dict(width=np.exp(mu + z * sd) - np.exp(mu - z * sd), median=np.exp(mu), sd=sd,
                center=center, chol=chol, sigma=np.exp(center[:, -1]), min_eig=lmin,
                grad_norm=np.asarray(sol.grad_norm))


def laplace_posterior(pts, tgt, sets, lap: dict, keys) -> Posterior:
    """A `jaxfit.Posterior` of Laplace draws ``v = center + chol z`` (fixed z) per set."""
    x, y, w, _ = pack(pts, tgt, sets)
    with jax.enable_x64(True):
        z = jax.random.normal(jax.random.PRNGKey(0), (N_DRAWS, BM.dim), dtype=jnp.float64)
        v = jnp.asarray(lap["center"])[:, None, :] + jnp.einsum("tij,dj->tdi", lap["chol"], z)
        ref = jax.vmap(BM.reference)({k: jnp.asarray(a) for k, a in x.items()},
                                     jnp.asarray(y), jnp.asarray(w))
        params, sigma = BM.split(v, ref[:, None, :])
    draws = {n: np.asarray(params[n])[:, None, :] for n in LAW.param_names}
    draws[bayes.NOISE] = np.asarray(sigma)[:, None, :]
    return Posterior(law=LAW, tasks=pd.Index(keys, name="key"), draws=draws, likelihood=LIK,
                     method="laplace", options=dict(y="task_loss", by="key", x={"D": "tokens"},
                                                    space="log", priors={"sigma": SIGMA_PRIOR}))


def replay(tasks=PAPER_TASKS, n_start: int = 4, prob: float = 0.9, steps: int | None = None,
           method: str = "linear", pts=None, tgt=None) -> pd.DataFrame:
    """Width curves of both orders: one row per (task, order, step)."""
    if pts is None:
        pts, tgt = ladder_points(tasks)
    tasks = list(tasks)
    runs = pts.drop_duplicates("run").sort_values("cost", kind="stable")
    order_sf = list(runs["run"])
    cost = dict(zip(runs["run"], runs["cost"]))
    orders = ("smallest", "suggest")
    keys = [(t, o) for t in tasks for o in orders]
    chosen = {k: list(order_sf[:n_start]) for k in keys}
    n_steps = len(order_sf) - n_start if steps is None else steps
    rows = []
    for step in range(n_steps + 1):
        sets = [(t, chosen[(t, o)]) for t, o in keys]
        lap = laplace_width(pts, tgt, sets, prob)
        for i, (t, o) in enumerate(keys):
            rows.append(dict(task=t, order=o, step=step, run=chosen[(t, o)][-1] if step else "",
                             cum_compute=sum(cost[r] for r in chosen[(t, o)][n_start:]),
                             width=lap["width"][i], median=lap["median"][i],
                             sigma=lap["sigma"][i], min_eig=lap["min_eig"][i],
                             actual=tgt.loc[tgt["task"] == t, "task_loss"].iloc[0]))
        if step == n_steps:
            break
        sg = [i for i, k in enumerate(keys) if k[1] == "suggest"]
        names = [f"{keys[i][0]}|suggest" for i in sg]
        post = laplace_posterior(pts, tgt, [sets[i] for i in sg],
                                 {k: v[sg] for k, v in lap.items()}, names)
        cands = pd.concat([pts[(pts["task"] == t) & ~pts["run"].isin(chosen[(t, "suggest")])]
                           .assign(key=f"{t}|suggest") for t in tasks], ignore_index=True)
        at = pd.concat([tgt[tgt["task"] == t].assign(key=f"{t}|suggest") for t in tasks],
                       ignore_index=True)
        res = jf.suggest(post, cands, at, cost="cost", k=1, prob=prob, interval="credible",
                         method=method, se_resamples=0)       # the ranking only: no mc_se
        best = res.table[res.table["rank"] == 1].set_index("key")["candidate"]
        for t in tasks:
            chosen[(t, "suggest")].append(cands.loc[best[f"{t}|suggest"], "run"])
            chosen[(t, "smallest")].append(order_sf[n_start + step])
    return pd.DataFrame(rows)


def simulated_points(pts, tgt, seed: int, tasks=None):
    """The ladder's design with simulated task losses: per task, the truth is the mode of
    the posterior on all 16 runs, and each run's loss is ``L_true exp(sigma eps)`` with
    ``eps ~ N(0, 1)`` and sigma that fit's noise scale (the model holds exactly)."""
    tasks = list(dict.fromkeys(pts["task"])) if tasks is None else list(tasks)
    runs = list(pts.drop_duplicates("run")["run"])
    lap = laplace_width(pts, tgt, [(t, runs) for t in tasks])
    x, y, w, _ = pack(pts, tgt, [(t, runs) for t in tasks])
    with jax.enable_x64(True):
        x = {k: jnp.asarray(v) for k, v in x.items()}
        ref = jax.vmap(BM.reference)(x, jnp.asarray(y), jnp.asarray(w))
        params, sigma = BM.split(jnp.asarray(lap["center"]), ref)
        mean = np.asarray(jax.vmap(LAW)(params, x))              # [task, P] (pack's order)
        sigma = np.asarray(sigma)
    rng = np.random.default_rng(seed)
    out = pts.copy()
    for i, t in enumerate(tasks):
        sel = out["task"] == t
        m = mean[i, :int(sel.sum())]
        out.loc[sel, "task_loss"] = m * np.exp(sigma[i] * rng.standard_normal(len(m)))
    return out


def compute_ratio(curves: pd.DataFrame) -> pd.DataFrame:
    """Per task: ``median_k c_k / C_k`` (module docstring) and the per-k ratios."""
    out = []
    for task, g in curves.groupby("task", sort=False):
        sf = g[(g["order"] == "smallest") & (g["step"] > 0)].sort_values("step")
        sg = g[g["order"] == "suggest"].sort_values("step")
        ratios = []
        for w, c in zip(sf["width"], sf["cum_compute"]):
            ok = sg["width"].to_numpy() <= w * (1 + 1e-9)
            c_sg = sg["cum_compute"].to_numpy()[ok].min() if ok.any() else np.inf
            ratios.append(c_sg / c)
        out.append(dict(task=task, ratio=float(np.median(ratios)),
                        ratios=np.round(ratios, 2).tolist()))
    return pd.DataFrame(out)
