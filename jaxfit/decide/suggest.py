"""Which run to train next: `suggest` ranks candidate runs by the expected narrowing of a
target prediction's interval per unit of compute.

**The update, method "reweight".** The preposterior analysis of Bayesian
experimental design (Raiffa & Schlaifer 1961; Chaloner & Verdinelli 1995, Statist. Sci.
10(3), eq. 1): the value of a run is the expected width of the target's interval *after*
observing it, averaged over the outcomes the current posterior predicts. For each
candidate c, ``S`` outcomes are simulated: a posterior draw ``theta_(s)`` plays the truth
and ``y_c^(s) ~ p(y | theta_(s))`` (the fit's likelihood in its residual space; one draw
per s is shared by all candidates, so a batch's outcomes are simulated jointly). The
posterior given ``y_c^(s)`` is the current draws reweighted by importance weights
(Gelman et al. 2013, "Bayesian Data Analysis", 3rd ed., sec. 10.4; self-normalised, in log
space),

.. math:: w_i^{(s)} \\propto p(y_c^{(s)} \\mid \\theta_i), \\qquad
          \\mathbb{E}[W_c] \\approx \\frac{1}{S} \\sum_s
          W\\big(\\{T(\\theta_i), w_i^{(s)}\\}\\big),

with ``W`` the width of the weighted ``prob`` quantile interval of the target draws (the
predictive draws by default; the sorted draw k at quantile ``sum_{i<k} w_i / sum_{i<D-1}
w_i``, linear in between: with equal weights numpy's default quantile, so ``W`` of the
current draws is ``width_now``). Weights that single out fewer draws narrow that interval
even when they say nothing about the target (a finite-sample shrinkage: a run that informs
only a parameter the target does not depend on was credited +0.9% of the width at an
effective sample size of 67 of 100 draws, +14% at 11, +39% at 4). So the average is
calibrated by the same weights permuted over the draws, ``w_{pi_s(i)}^{(s)}`` (the same
effective sample sizes, no tie to the target), as a ratio, since the shrinkage scales with
the width:

.. math:: \\mathbb{E}[W_c] \\approx W_{\\mathrm{now}} \\, \\frac{\\sum_s W\\big(\\{T(\\theta_i),
          w_i^{(s)}\\}\\big)}{\\sum_s W\\big(\\{T(\\theta_i), w_{\\pi_s(i)}^{(s)}\\}\\big)}.

A run that tells nothing of the target then gets a reduction of ~0 (at effective sample
sizes 4 to 67 of 100 draws and 13 to 269 of 400, means over 100 posteriors of -1.1% to
+0.3% of the width, standard errors 0.1-0.7%; over 300 others +0.1% to +0.5%). The price, measured on the same
posteriors for a run that observes the target's parameter: its reduction is 1-3% of the
width below the exact one at 100 draws (0.3-0.8% below before), under 0.5% at 400. No
linearity or Gaussianity is assumed: a run that cannot tell the draws apart leaves the
weights flat, whatever the posterior's shape. The effective sample size ``1 / sum_i
w_i^2`` (Kong 1992; BDA3 sec. 10.4) is reported (column ``ess``, averaged over s); when it
is below 1% of the draws the run would move the posterior beyond the draws' support, the estimate is noisy and optimistic, `suggest`
warns, and a refit (or more draws) is needed to trust that candidate's number. A greedy
batch of ``k`` accumulates the log-likelihoods of its picks under the same simulated
truths. Every task is one member of a single vmapped call (candidates and simulated
outcomes are array axes).

**The update, method "linear" (default).** A candidate run c would add one observation
``y_c = m_c(theta) + eps``, with ``m_c`` the law's prediction at the candidate in the
fit's residual space (``log L`` for log residuals) and ``eps ~ N(0, sigma^2)`` the
posterior's noise. Its effect on the target ``T(theta)`` (the law, or a composed chain,
at the target point) is computed from the posterior draws by the Bayes linear / ensemble
Kalman update (Goldstein & Wooff 2007, "Bayes Linear Statistics", ch. 3; Evensen 1994,
J. Geophys. Res. 99(C5)): with covariances estimated over the draws,

.. math:: \\mathrm{Var}(T \\mid y_c) = \\mathrm{Var}(T)
          - \\frac{\\mathrm{Cov}(T, m_c)^2}{\\mathrm{Var}(m_c) + \\mathrm{E}[\\sigma^2]},

exact for a Gaussian posterior and a linear law, and needing no outcome simulation (the
variance after a linear-Gaussian update does not depend on the observed value, so it *is*
the expected one). The target's ``prob`` interval (predictive by default: the law's mean
plus the fitted noise, whose variance is kept) is shrunk by the ratio of standard
deviations. A greedy batch of ``k`` runs conditions on each pick in turn (the rank-one
Kalman update of the joint covariance of every candidate and the target), picking at each
step the largest expected width reduction per unit cost. Every task is one member of a
single vmapped call. Unlike importance reweighting of the draws, the update does not
degenerate when the new run is very informative (few draws keep weight); unlike a
Laplace/Fisher update it uses the posterior's actual spread rather than a local
linearisation at one point. But it trusts the draws' covariances as if the posterior were
Gaussian: from draws that do not fit their own data (a poorly identified ridge) it
predicts that any run narrows the target a lot, so cost alone decides. From a posterior
with data-scaled priors its predictions match refits (the OLMo ladder replay from 4
runs, docs/decide.md; MMLU after 4 added runs: within 20% of the refitted widths, the
same ranking but for one swap).

Example:
    >>> import numpy as np, pandas as pd
    >>> import jaxfit as jf
    >>> df = jf.datasets.load("chinchilla")
    >>> small = df[~df.epoch_excluded_outlier & (df.C < 1e20)]
    >>> post = jf.bootstrap(jf.models.chinchilla(), small, n=200)
    >>> cands = pd.DataFrame({"N": [4e8, 1e9, 4e9], "D": [1e10, 4e10, 4e10]})
    >>> res = jf.suggest(post, cands, pd.DataFrame({"N": [7e10], "D": [1.4e12]}))
    >>> list(res.table.columns[:4])
    ['task', 'candidate', 'N', 'D']
"""

from __future__ import annotations

import dataclasses
import functools
import reprlib
import warnings
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.checks import MAX_COUNT, MAX_SEED, check_prob, prediction_inputs, whole
from jaxfit.data import (bucket, check_task_label, column_map, numeric_dtype, task_columns,
                         task_label)
from jaxfit.decide.optimal import _numbers     # optimal's rule
from jaxfit.inference.bayes import NOISE
from jaxfit.inference import cache
from jaxfit.law import Law
from jaxfit.posterior import Posterior, draw_predictions
from jaxfit.predictions import partial_task_columns, task_positions

__all__ = ["suggest", "SuggestResult", "candidate_grid"]

INTERVALS = ("predictive", "credible")
METHODS = ("linear", "reweight")
#: Mean effective sample size (fraction of the draws) below which `suggest` warns.
ESS_WARN = 0.01


def candidate_grid(N: Sequence[float], D: Sequence[float] | None = None, *,
                   ratios: Sequence[float] | None = None, columns=("N", "D")) -> pd.DataFrame:
    """Candidate runs on a grid: every (N, D) pair, or every N at each tokens-per-parameter
    ratio (``D = ratio * N``). Returns a DataFrame with the two input columns."""
    nN, nD = columns
    if (D is None) == (ratios is None):
        raise ValueError("candidate_grid: give either D=[...] (tokens) or ratios=[...] "
                         "(tokens per parameter).")

    def values(name, v):                 # before: numpy's "could not convert string to float"
        return _numbers(v, f"candidate_grid: {name}={reprlib.repr(v)} must be numbers, e.g. "
                           "candidate_grid(N=[4e8, 1e9], ratios=[20, 40]).")

    N = values("N", N)
    if D is not None:
        NN, DD = np.meshgrid(N, values("D", D), indexing="ij")
    else:
        NN, RR = np.meshgrid(N, values("ratios", ratios), indexing="ij")
        DD = NN * RR
    return pd.DataFrame({nN: NN.ravel(), nD: DD.ravel()})


@dataclasses.dataclass(frozen=True, eq=False)
class SuggestResult:
    """What `suggest` returns.

    Attributes:
        table: one row per (task, candidate): the candidate's inputs, ``cost``,
            ``width_now`` (the target's current interval width: the sum of
            ``targets``' ``width_now`` over the task's target rows), ``width_after``
            (expected width after adding this run alone), ``reduction``,
            ``reduction_per_cost``, ``mc_se`` (the Monte Carlo standard error of
            ``reduction`` from the finite draws, a bootstrap over them; that of
            ``reduction_per_cost`` is ``mc_se / cost``; absent with ``se_resamples=0``),
            ``ess`` (method "reweight": the mean effective sample
            size of the importance weights), ``rank`` (1 = best per unit cost, per task) and
            ``pick`` (its position in the greedy batch of ``k``, else NA); sorted by
            task and rank.
        batch: the greedy batch per task: ``pick``, ``candidate``, inputs, ``cost``,
            ``cumulative_cost`` and ``expected_width`` after the picks so far (and ``ess``
            for method "reweight").
        targets: per task and target row: ``width_now`` (the equal-tailed ``prob``
            interval of the target draws, ``np.quantile``'s default interpolation, as
            `jaxfit.Posterior.predict`) and the width after the batch.
        method, interval, prob: the settings used.
    """

    table: pd.DataFrame
    batch: pd.DataFrame
    targets: pd.DataFrame
    method: str
    interval: str
    prob: float

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def __repr__(self) -> str:
        """One line, as `jaxfit.decide.OptimalResult`'s (the dataclass's own printed its
        three tables in full width)."""
        return (f"SuggestResult({len(self.table)} (task, candidate) row(s), a batch of "
                f"{len(self.batch)} pick(s), {len(self.targets)} target row(s), method="
                f"{self.method}, interval={self.interval}, prob={self.prob:g}; see table, "
                "batch, targets)")


# ------------------------------------------------------------------------------- core

def _linear_core(m, tm, tvar_extra, med, lo, hi, noise, cost, valid, k: int, log: bool):
    """One task: greedy Bayes-linear picks.

    Args:
        m: [D, n] candidate predictions in the residual space.
        tm: [D, J] target law-mean draws (in log space when ``log``).
        tvar_extra: [J] variance the update cannot remove (predictive noise).
        med, lo, hi: [J] median and the interval's offsets from it (same space as tm;
            in log space the logs of the draws' quantiles, so that r = 1 gives the
            targets' ``width_now``): a variance ratio r shrinks the interval to
            ``med + sqrt(r) [lo, hi]``.
        noise: scalar observation-noise variance.
        cost: [n] costs; valid: [n] mask of real candidates.
        log: the target space is log (widths are measured after ``exp``).

    Returns:
        (the summed width now, [n] the summed width after each candidate alone, [k] the
        picks, [k, J] each target row's width after the picks so far).
    """
    n = m.shape[1]
    z = jnp.concatenate([m, tm], axis=1)
    z = z - z.mean(axis=0)
    S = z.T @ z / (z.shape[0] - 1)
    var_mean0 = jnp.diag(S)[n:]
    var_tot0 = var_mean0 + tvar_extra
    tiny = 1e-300

    def row_widths(var_mean):                      # [.., J] -> [.., J] each row's width
        r = jnp.sqrt(jnp.clip((var_mean + tvar_extra) / jnp.maximum(var_tot0, tiny), 0., 1.))
        if log:
            return jnp.exp(med) * (jnp.exp(r * hi) - jnp.exp(r * lo))
        return r * (hi - lo)

    def widths(var_mean):                          # [.., J] -> [..] total width
        return jnp.sum(row_widths(var_mean), axis=-1)

    def after(S):                                  # var of target means after each cand
        c = S[:n, n:]                              # [n, J]
        v = jnp.diag(S)[:n] + noise
        return jnp.diag(S)[n:][None, :] - c ** 2 / v[:, None]

    def step(carry, _):
        S, chosen = carry
        w_now = widths(jnp.diag(S)[n:])
        w_after = widths(after(S))                 # [n]
        score = (w_now - w_after) / cost
        score = jnp.where(valid & ~chosen, score, -jnp.inf)
        j = jnp.argmax(score)
        col = S[:, j]
        S = S - jnp.outer(col, col) / (S[j, j] + noise)
        chosen = chosen.at[j].set(True)
        return (S, chosen), (j, row_widths(jnp.diag(S)[n:]))

    w_single = widths(after(S))
    (_, _), (picks, w_path) = jax.lax.scan(step, (S, jnp.zeros(n, bool)), None, length=k)
    return widths(var_mean0), w_single, picks, w_path


@cache.jit(static_argnums=(9, 10))
def _linear_batched(m, tm, tvar_extra, med, lo, hi, noise, cost, valid, k: int, log: bool):
    return jax.vmap(functools.partial(_linear_core, k=k, log=log))(
        m, tm, tvar_extra, med, lo, hi, noise, cost, valid)


# ------------------------------------------------------------------ reweighting update

def _weighted_width(lw, ts, order, prob, null):
    """Interval width of the target under self-normalised log weights.

    Args:
        lw: [..., D] log weights of the draws.
        ts: [D, J] target draws sorted along D (per column); order: [D, J] the sort
            permutation (``ts[:, j] = t[order[:, j], j]``).
        null: [S, D] permutations of the draws, S the first axis of ``lw``: the widths
            are also computed with draw i given the weight of draw ``null[s, i]`` (the
            weights with their tie to the target broken).
    Returns:
        ([..., J] each target row's width, [...] effective sample size, [..., J] the
        widths under the permuted weights).
    """
    w = jax.nn.softmax(lw, axis=-1)
    ess = 1.0 / jnp.sum(w ** 2, axis=-1)
    ws = w[..., order]                                             # [..., D, J]
    # one gather by the composed index (the permutation, then the target's order), and
    # one width computation for both (compiled once: two took 2.6x the compile time)
    nulled = jax.vmap(lambda wi, ix: wi[..., ix])(w, null[:, order])
    width, width_null = _sorted_width(jnp.stack([ws, nulled]), ts, prob)
    return width, ess, width_null


def _sorted_width(ws, ts, prob):
    """[..., J] the ``prob`` interval widths of the target draws ``ts`` [D, J] (sorted per
    column) under the normalised weights ``ws`` [..., D, J] in the same order."""
    # the k-th sorted draw sits at (weight below it) / (weight below the largest): with
    # equal weights k / (D - 1), numpy's default (linear) quantile, so the interval of the
    # unweighted draws is the targets' width_now exactly (a midpoint CDF, Hazen's, put it
    # at (k + 1/2) / D: 3e-4 wider at 4,000 draws)
    below = jnp.cumsum(ws, axis=-2) - ws
    cw = below / jnp.maximum(below[..., -1:, :], 1e-300)
    lo, hi = (1 - prob) / 2, (1 + prob) / 2

    def q(cdf, col, p):                                        # one weighted quantile
        return jnp.interp(p, cdf, col)

    def width(cdf):                                            # [D, J] -> [J]
        return jax.vmap(lambda c, col: q(c, col, hi) - q(c, col, lo), in_axes=(1, 1))(cdf, ts)

    flat = cw.reshape((-1,) + cw.shape[-2:])
    return jax.vmap(width)(flat).reshape(cw.shape[:-2] + ts.shape[-1:])


def _null_calibrated(now, weighted, null):
    """Width after an update from weighted draws, calibrated by uninformative weights.

    The weighted interval of D draws narrows as the weights concentrate on fewer draws
    even when they carry no information about the target (measured, 100 draws of a
    normal target, a run that informs only a parameter the target does not depend on:
    +0.9% of the width at an effective sample size of 67, +3.6% at 29, +39% at 4), so a
    run that tells the draws apart only along other directions looked useful. The same
    weights permuted over the draws (``null``: the same effective sample sizes, no tie to
    the target) narrow the interval by that finite-sample shrinkage alone; the width
    after is the current one times ``weighted / null`` (a ratio: the shrinkage scales
    with the width; subtracting it instead over-corrected informative runs: 0.57 against
    an exact reduction of 0.97 of the width at 4 effective draws of 100, measured with
    the same estimator in numpy).

    Args:
        now: [J] each target row's width with equal weights (``width_now``).
        weighted, null: [..., J] the mean over the simulated outcomes of the width under
            the outcomes' weights and under the same weights permuted.
    Returns:
        [..., J] the calibrated widths (``weighted`` itself where ``null`` is 0: weights
        on single draws with tied targets, which no permutation can resolve).
    """
    ok = null > 0
    return jnp.where(ok, now * weighted / jnp.where(ok, null, 1.0), weighted)


def _reweight_core(key, m, sig, tdraw, cost, valid, k: int, n_sim: int, prob: float, lik):
    """One task: greedy picks by importance reweighting of the posterior draws.

    For each simulated outcome s a draw ``i_s`` plays the truth and every candidate's
    outcome is drawn from the likelihood at it (common to all candidates, so a batch's
    outcomes are jointly simulated); the draws are reweighted by ``p(y_c^(s) | theta_i)``
    and the target's weighted interval width is averaged over s, then calibrated by the
    same average under the weights permuted over the draws (`_null_calibrated`).

    Args:
        key: PRNG key.
        m: [D, n] candidate locations in the residual space; sig: [D] noise scales.
        tdraw: [D, J] target draws whose interval is measured.
        cost, valid: [n] costs and the mask of real candidates.

    Returns:
        As `_linear_core`'s (the path [k, J] per target row), and the mean effective
        sample sizes [n] of the single candidates and [k] along the path.
    """
    D, n = m.shape
    k_i, k_y = jax.random.split(key)
    # the null's permutations from their own stream (fold_in: the simulated outcomes of
    # a seed do not depend on it): one random permutation, shifted cyclically by a random
    # offset per outcome (each is a uniformly random permutation; one sort, not n_sim;
    # jax.random.permutation's rounds of sorting took about twice the compile time)
    k_p, k_r = jax.random.split(jax.random.fold_in(key, 1))
    shift = jax.random.randint(k_r, (n_sim, 1), 0, D)
    perm = jnp.argsort(jax.random.uniform(k_p, (D,)))[(jnp.arange(D)[None, :] + shift) % D]
    idx = jax.random.choice(k_i, D, (n_sim,), replace=False)
    y = lik.dist(m[idx], sig[idx, None]).sample(k_y)                      # [S, n]
    ll = lik.dist(m[None, :, :], sig[None, :, None]).log_prob(y[:, None, :])  # [S, D, n]
    ll = jnp.moveaxis(ll, 1, 2)                                            # [S, n, D]
    order = jnp.argsort(tdraw, axis=0)
    ts = jnp.take_along_axis(tdraw, order, axis=0)
    rows_now = _sorted_width(jnp.full(ts.shape, 1.0 / D), ts, prob)       # [J] equal weights
    w_now = rows_now.sum()

    def after(acc):          # acc [S, D] -> [n, J] each row's width, [n] ess (mean over S)
        w, ess, null = _weighted_width(acc[:, None, :] + ll, ts, order, prob, perm)
        return _null_calibrated(rows_now, w.mean(axis=0), null.mean(axis=0)), ess.mean(axis=0)

    def step(carry, _):
        acc, chosen, w_cur = carry
        rows, ess = after(acc)
        w_after = rows.sum(axis=-1)
        score = jnp.where(valid & ~chosen, (w_cur - w_after) / cost, -jnp.inf)
        j = jnp.argmax(score)
        return ((acc + ll[:, j, :], chosen.at[j].set(True), w_after[j]),
                (j, rows[j], ess[j]))

    rows_single, ess_single = after(jnp.zeros((n_sim, D)))
    w_single = rows_single.sum(axis=-1)
    _, (picks, w_path, ess_path) = jax.lax.scan(
        step, (jnp.zeros((n_sim, D)), jnp.zeros(n, bool), w_now), None, length=k)
    return w_now, w_single, picks, w_path, ess_single, ess_path


@cache.jit(static_argnums=(6, 7, 8, 9))
def _reweight_batched(keys, m, sig, tdraw, cost, valid, k: int, n_sim: int, prob: float, lik):
    return jax.vmap(functools.partial(_reweight_core, k=k, n_sim=n_sim, prob=prob, lik=lik))(
        keys, m, sig, tdraw, cost, valid)


@cache.jit(static_argnums=(0, 1))
def _locations(law: Law, lik, params, x):
    """[T, D, n] predictions in the residual space (params [T, D], x [T, n])."""
    ps = {k: v[:, :, None] for k, v in params.items()}
    xs = {k: v[:, None, :] for k, v in x.items()}
    return jnp.broadcast_to(lik.location(law, ps, xs),
                            (next(iter(params.values())).shape + (next(iter(x.values())).shape[1],)))


# ------------------------------------------------------------------------------ inputs

def _task_rows(df: pd.DataFrame, tasks: pd.Index, by, what: str) -> list[np.ndarray]:
    """Per task, the positions of ``df``'s rows that apply to it (all rows when ``df`` has
    no ``by`` column)."""
    cols = task_columns(by)
    if len(tasks) > 1:
        # as predict: before, such rows applied to every task, their own column ignored
        partial_task_columns(df, by, f"suggest: the {what} rows", "apply each row to every task")
    if not cols or not all(c in df.columns for c in cols):
        return [np.arange(len(df))] * len(tasks)
    pos = task_positions(tasks, df, by, "suggest", f"{what} ")
    return [np.flatnonzero(pos == t) for t in range(len(tasks))]


def _check_inputs(inputs, law: Law, why: str) -> tuple[str, str]:
    """`jaxfit.decide.optimal.input_pair` (the cost's N and D), as `optimal` checks them."""
    from jaxfit.decide.optimal import input_pair

    return input_pair(law, inputs, "suggest", f" for {why}",
                      ", or give the candidates a cost column")


def _costs(df: pd.DataFrame, cost, cols: Mapping[str, str], inputs, law: Law) -> np.ndarray:
    if isinstance(cost, str):
        if cost not in df.columns:
            if cost != "cost":
                # (before: no fix named)
                raise ValueError(f"suggest: cost column {cost!r} is not in the candidates "
                                 f"(columns {list(df.columns)}): name the one that holds "
                                 f"each run's cost, or give the candidates a {cost!r} column.")
            nN, nD = _check_inputs(inputs, law, "the default cost 6 N D (the candidates "
                                   "have no 'cost' column)")
            c = 6.0 * df[cols[nN]].to_numpy(np.float64) * df[cols[nD]].to_numpy(np.float64)
        else:
            try:
                c = numeric_dtype(df, cost, "candidate cost").to_numpy(np.float64)
            except ValueError as e:
                raise ValueError(f"suggest: {e}") from None
        where = f"column {cost!r}" if cost in df.columns else "the default cost 6 N D"
    elif callable(cost):
        pair = _check_inputs(inputs, law, "the arguments of cost(N, D)")
        try:
            c = np.asarray(cost(*(df[cols[n]].to_numpy(np.float64) for n in pair)), np.float64)
        except Exception as e:          # reraised naming the cost, as optimal does
            raise ValueError(f"suggest: cost(N, D) raised {type(e).__name__}: {e}. It is called "
                             "once with the candidates' arrays of N and D (one cost per "
                             "candidate), e.g. cost=lambda N, D: 6 * N * D.") from e
        if c.shape not in ((), (len(df),)):
            raise ValueError(f"suggest: cost(N, D) returned shape {c.shape} for the "
                             f"{len(df)} candidates' arrays of N and D; it must return one "
                             "cost per candidate (elementwise, e.g. cost=lambda N, D: "
                             "6 * N * D) or one number for all.")
        where = "cost(N, D)"
    else:
        raise ValueError(f"suggest: cost must be a column name or a callable cost(N, D), got "
                         f"{type(cost).__name__}.")
    c = np.broadcast_to(c, (len(df),)).astype(np.float64)
    bad = ~np.isfinite(c) | (c <= 0)
    if bad.any():
        raise ValueError(f"suggest: {int(bad.sum())} candidate costs from {where} are not "
                         f"positive and finite: rows {list(df.index[bad][:5])} have "
                         f"{c[bad][:5].tolist()}. A run's value is its width reduction per "
                         "unit cost; give each candidate its cost (FLOPs, GPU hours), or drop "
                         "those rows.")
    return c


def _check_finite(ok: np.ndarray, rows: list[np.ndarray], df: pd.DataFrame, what: str,
                  law: Law, lik, columns) -> None:
    """ValueError naming the rows of ``df`` at which the law's draws are not finite
    (``ok`` [T, n]: finite for every draw, row ``rows[t][j]``). Before, their NaN widths
    ended in pandas' IntCastingNaNError when the table was ranked."""
    bad = sorted({int(r[j]) for t, r in enumerate(rows) for j in range(len(r))
                  if not ok[t, j]})
    if not bad:
        return
    shown = df.iloc[bad[:3]][list(dict.fromkeys(columns))].to_dict("records")
    space = (" in the fit's log space (a prediction <= 0 has no log)"
             if lik.space == "log" else "")
    raise ValueError(f"suggest: law {law.name!r} is not finite{space} at {len(bad)} {what} "
                     f"row(s) {list(df.index[bad[:5]])} for some posterior draws, e.g. "
                     f"{shown}: those inputs are outside the law's domain (e.g. <= 0 where "
                     "it takes a log). Fix: drop those rows or give inputs where the law is "
                     "defined (a custom law can declare them in Law(positive_inputs=..., "
                     "input_above=...) to "
                     "have them checked).")


def _target_draws(post: Posterior, target: pd.DataFrame, target_law: Law | None,
                  others: Sequence[Posterior], rows_t: list[np.ndarray], seed: int):
    """Law-mean and predictive draws [T, D, J] of the target, aligned with ``post``'s draws."""
    T, D = len(post.tasks), post.n_draws
    J = max(len(r) for r in rows_t)
    if any(len(r) != J for r in rows_t):
        counts = ", ".join(f"{t!r}: {len(r)}" for t, r in list(zip(post.tasks, rows_t))[:6])
        # the data's column(s): task_label's "task" for several by columns names none
        cols = task_columns(post.options.get("by"))
        col = f"the {cols[0]!r} column" if len(cols) == 1 else f"the columns {cols}"
        raise ValueError(f"suggest: the target rows per task differ ({counts}); each task "
                         f"needs the same number. Fix: give a target row for every task, "
                         f"or leave {col} out of the target so that its rows "
                         "apply to every task, or fit only the tasks you target.")
    law = target_law or post.law
    cols = column_map(law, post.options.get("x") if target_law is None else None)
    missing = [c for c in cols.values() if c not in target.columns]
    if missing:
        raise ValueError(f"suggest: target is missing column(s) {missing} for law "
                         f"{law.name!r}; it has {list(target.columns)}.")
    prediction_inputs(law, target, cols, where="suggest: target")
    rng = np.random.default_rng(seed)
    sel = np.concatenate(rows_t)                                     # [T*J]
    task_of = np.repeat(np.arange(T), J)
    theta = {n: post.flat(n)[task_of] for n in post.law.param_names if n in law.params}
    theta[NOISE] = post.flat(NOISE)[task_of]
    lik = post.likelihood
    for other in others:
        pos = (np.zeros(T, np.int64) if len(other.tasks) == 1
               else other.tasks.get_indexer(post.tasks))
        if np.any(pos < 0):
            raise ValueError("suggest: a posterior in `others` lacks some of the tasks "
                             f"{list(post.tasks)}.")
        idx = rng.permutation(other.n_draws)[:D] if other.n_draws >= D \
            else rng.integers(0, other.n_draws, D)
        for n in other.law.param_names:
            if n in law.params:
                theta[n] = other.flat(n)[pos[task_of]][:, idx]
        theta[NOISE] = other.flat(NOISE)[pos[task_of]][:, idx]
        lik = other.likelihood
    absent = [n for n in law.param_names if n not in theta]
    if absent:
        raise ValueError(f"suggest: parameters {absent} of target_law {law.name!r} are in no "
                         "posterior; pass the posterior of each step in others=[...].")
    x = {n: target[c].to_numpy(np.float64)[sel] for n, c in cols.items()}
    # each target row's noise from its own stream (its task and inputs), as
    # Posterior.predict: a row's draws do not depend on the other rows or tasks
    mean, pred = draw_predictions(law, lik, theta, x, seed=seed, rows=task_of)
    return mean.reshape(T, J, D).transpose(0, 2, 1), pred.reshape(T, J, D).transpose(0, 2, 1)


def suggest(posterior: Posterior, candidates: pd.DataFrame, target: pd.DataFrame, *,
            cost: str | Callable = "cost", k: int = 1, prob: float = 0.9,
            interval: str = "predictive", target_law: Law | None = None,
            others: Sequence[Posterior] = (), inputs: Sequence[str] = ("N", "D"),
            method: str = "linear", target_space: str = "auto", n_sim: int = 64,
            se_resamples: int = 20, seed: int = 0) -> SuggestResult:
    """Rank candidate runs by the expected narrowing of a target's interval per unit cost.

    Args:
        posterior: a `jaxfit.Posterior` (``jf.sample`` or ``jf.bootstrap``) of the law the
            new runs would be fitted with. With several tasks (``by=``), each task is
            ranked on its own (all in one batched call).
        candidates: runs you could train: a DataFrame with the law's input columns (as
            mapped in the fit), optionally a cost column and the fit's ``by`` column(s)
            (then a row is a candidate for its task only). `candidate_grid` builds a grid.
        target: the prediction to make sure of: rows with the target's inputs (and the
            ``by`` column(s) to give each task its own target). Several rows: the sum of
            their interval widths.
        cost: the candidates' cost column (default "cost"; absent: ``6 N D`` from the
            inputs named by ``inputs``) or a callable ``cost(N, D)``.
        k: size of the greedy batch (each pick conditions on the previous ones; a task
            with fewer candidates gets all of them, each once).
        prob: interval probability.
        interval: "predictive" (a new observation at the target: the law's mean plus the
            fitted noise) or "credible" (the law's mean).
        target_law: a composed law whose prediction is the target, e.g. the accuracy
            chain ``jf.compose(jf.models.sigmoid(), law, into="L")``; its other steps'
            posteriors go in ``others`` (their draws are paired at random, as in
            `jaxfit.predict_chain`; only ``posterior`` is updated by a new run).
        others: posteriors of the other steps of ``target_law``, innermost first.
        inputs: the law's model-size and token inputs (for the default cost).
        method: "linear" (the Bayes linear update) or "reweight" (importance reweighting
            of the draws by simulated outcomes); see the module docstring.
        target_space: method "linear" only: space of the target in which the update is
            linear: "log" (log T, for positive targets such as losses, whose posterior
            draws are skewed), "linear", or "auto" (log when every target draw is
            positive). Quantiles, hence "reweight", do not depend on it.
        n_sim: method "reweight": simulated outcomes per candidate (at most the number of
            draws).
        se_resamples: bootstrap resamples of the draws behind the table's ``mc_se``
            column (Monte Carlo error, below); each reruns the single-candidate update
            (all in one compiled call, without the greedy batch), which made the call
            about 4x slower on a CPU (20 resamples of 20,000 draws, 4 candidates: method
            "linear" 0.016 to 0.06 s, "reweight" 0.7 to 3.2 s). 0: no column; else at
            least 2.
        seed: seed of the predictive noise draws, the pairing of chain steps and the
            simulated outcomes.

    Returns:
        A `SuggestResult` (``table``, ``batch``, ``targets``; `jaxfit.decide.plot`).

    Monte Carlo error: every width is estimated from the posterior's draws, so it carries
    an error that shrinks only as ``1/sqrt(draws)``. Measured on a Gaussian posterior of a
    linear law (the tests' ``_gaussian_posterior``; 5 posteriors of each size): the best
    candidate's ``reduction`` varied between posteriors with a standard deviation of 20% of
    its value at 40 draws, 5% at 400 and 1.5% at 4,000, with either method. The table's
    ``mc_se`` column is that error, estimated from the one posterior given (a bootstrap
    over its draws, ``se_resamples``; measured 0.16 against 0.17 between posteriors at 40
    draws, 0.052 against 0.048 at 400). Two candidates whose ``reduction_per_cost``
    differ by less than about twice their ``mc_se / cost`` are not ranked reliably: draw
    more (``jf.sample(..., samples=...)``, ``jf.bootstrap(..., n=...)``). The bootstrap
    treats the draws as independent, as those of method "laplace", "svi" and "bootstrap"
    are; a NUTS posterior's draws are autocorrelated chains (`Posterior.flat` joins them
    end to end), whose error is that of fewer independent draws: its ``mc_se`` is
    multiplied by ``sqrt(D / ESS)`` (clipped to [1, sqrt(D)]), with ESS the task's
    smallest tail effective sample size of the target's law-mean draws (arviz's
    ``ess(method="tail")``, Vehtari et al. 2021; the widths are their tail quantiles; for
    method "reweight" an upper bound, since the simulated outcomes are not
    autocorrelated): the variance of a chain's estimate is
    the independent draws' times D / ESS (Geyer 1992, Statist. Sci. 7(4); Flegal &
    Jones 2010, Ann. Statist. 38(2)). On AR(1) draws with lag-1 correlation rho that is
    ``sqrt((1 + rho) / (1 - rho))``.
    """
    if not isinstance(posterior, Posterior):
        raise TypeError(f"suggest: give a jaxfit.Posterior (jf.sample or jf.bootstrap), got "
                        f"{type(posterior).__name__}; a point fit has no uncertainty to "
                        "reduce.")
    for name, df in (("candidates", candidates), ("target", target)):
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise ValueError(f"suggest: {name} must be a non-empty pandas DataFrame.")
    if method not in METHODS:
        raise ValueError(f"suggest: method={method!r} is not one of {METHODS} ('reweight': importance "
                         "reweighting of the draws; 'linear': the Bayes linear update).")
    if not whole(n_sim, 1):
        raise ValueError(f"suggest: n_sim must be an integer >= 1, got {n_sim!r}.")
    if target_space not in ("auto", "log", "linear"):
        raise ValueError(f"suggest: target_space={target_space!r}: use 'auto', 'log' or 'linear'.")
    if interval not in INTERVALS:
        raise ValueError(f"suggest: interval={interval!r} is not one of {INTERVALS}.")
    check_prob(prob, "suggest")
    if not whole(k, 1):
        raise ValueError(f"suggest: k must be an integer >= 1, got {k!r}.")
    if not whole(seed, 0):
        raise ValueError(f"suggest: seed must be an integer >= 0, got {seed!r}.")
    if seed > MAX_SEED:         # before: OverflowError from jax.random.PRNGKey (exit 3)
        raise ValueError(f"suggest: seed must be at most {MAX_SEED} (2**63 - 1, a 64-bit "
                         f"random key), got {seed!r}.")
    check_se_resamples(se_resamples)
    law, lik = posterior.law, posterior.likelihood
    by = posterior.options.get("by")
    cols = column_map(law, posterior.options.get("x"))
    check_task_label(by, ("candidate", "cost", "width_now", "width_after", "reduction",
                          "reduction_per_cost", "mc_se", "ess", "rank", "pick",
                          "cumulative_cost", "expected_width", "target", "width_after_batch",
                          *cols.values()), "suggest")
    missing = [c for c in cols.values() if c not in candidates.columns]
    if missing:
        raise ValueError(f"suggest: candidates are missing column(s) {missing} for law "
                         f"{law.name!r}; they have {list(candidates.columns)}.")
    prediction_inputs(law, candidates, posterior.options.get("x"), where="suggest: candidates")
    dup = candidates.index[candidates.index.duplicated()].unique()
    if len(dup):
        raise ValueError(f"suggest: the candidates' index repeats the label(s) "
                         f"{list(dup[:5])}: the table and the batch name each run by its "
                         "label (column 'candidate'), so those runs could not be told apart. "
                         "Give each row its own label, e.g. candidates.reset_index(drop=True) "
                         "(pd.concat of several grids repeats 0, 1, ...).")
    tasks = posterior.tasks
    T, D = len(tasks), posterior.n_draws
    if D < 2:
        # before: pandas' IntCastingNaNError (method "linear") or widths of 0.0 ("reweight")
        raise ValueError(f"suggest: the posterior has {D} draw per task; a run's expected "
                         "narrowing of the target's interval is estimated from the spread "
                         "of the draws, so it needs at least 2 (hundreds for a stable "
                         "ranking, see the mc_se column): draw more, e.g. "
                         "jf.sample(..., samples=1000) or jf.bootstrap(..., n=400).")
    finite = np.isfinite(posterior.flat(NOISE)).all(axis=1)
    for name in law.param_names:
        finite &= np.isfinite(posterior.flat(name)).all(axis=1)
    if not finite.all():
        bad = list(tasks[~finite][:10])
        raise ValueError(f"suggest: the posterior's draws (noise scale {NOISE!r} or "
                         f"parameters) are not finite for tasks {bad}: e.g. a bootstrap of a "
                         "task with no more points than parameters has no residual degrees "
                         "of freedom, so its noise scale is NaN, and a new run's weight "
                         "cannot be judged. Fix: add points to those tasks, leave them out, "
                         "or use jf.sample.")
    rows_c = _task_rows(candidates, tasks, by, "candidate")
    rows_t = _task_rows(target, tasks, by, "target")
    # a string is one name, not its letters ("params" read as six input names before)
    costs = _costs(candidates, cost, cols, inputs, law)
    n = max(len(r) for r in rows_c)
    if n == 0:
        raise ValueError("suggest: no candidate applies to any task.")
    k = int(min(k, n))
    n = bucket(n, minimum=4)               # padded (masked) candidates: fewer recompiles
    pad = np.zeros((T, n), np.int64)
    valid = np.zeros((T, n), bool)
    for t, r in enumerate(rows_c):
        pad[t, :len(r)] = r if len(r) else 0
        valid[t, :len(r)] = True
    tm, tp = _target_draws(posterior, target, target_law, others, rows_t, seed)
    _check_finite(np.isfinite(tm).all(axis=1) & np.isfinite(tp).all(axis=1), rows_t,
                  target, "target", target_law or law, lik,
                  column_map(target_law or law, posterior.options.get("x")
                             if target_law is None else None).values())
    tdraw = tp if interval == "predictive" else tm
    positive = (tdraw > 0).all(axis=(1, 2)) & (tm > 0).all(axis=(1, 2))     # [T]
    if target_space == "log" and not positive.all():
        neg = ~positive
        low = float(min(tdraw.min(), tm.min()))
        raise ValueError(f"suggest: target_space='log' updates log T, but target draws of "
                         f"task(s) {list(tasks[neg][:5])} are <= 0 (smallest {low:.4g}), so "
                         "log T is NaN. The log space is "
                         "for positive targets such as losses; use target_space='linear' or "
                         "'auto' (log only when every draw is positive).")
    log = bool(target_space == "log" or (target_space == "auto" and positive.all()))
    sigma2 = posterior.flat(NOISE) ** 2
    if lik.kind == "studentt" and lik.nu > 2:
        sigma2 = sigma2 * lik.nu / (lik.nu - 2)
    R = int(se_resamples)
    with jax.enable_x64(True):
        params = {p: jnp.asarray(posterior.flat(p)) for p in law.param_names}
        x = {nm: jnp.asarray(candidates[c].to_numpy(np.float64)[pad]) for nm, c in cols.items()}
        m = _locations(law, lik, params, x)                   # [T, D, n], on the device
        ok_m = np.asarray(jnp.isfinite(m).all(axis=1))
        _check_finite(ok_m | ~valid, rows_c, candidates, "candidate", law, lik, cols.values())
        cost_j, valid_j, tdraw_j = jnp.asarray(costs[pad]), jnp.asarray(valid), jnp.asarray(tdraw)
        idx = jnp.asarray(_resample_draws(D, R, int(seed))) if R else None
        if method == "reweight":
            n_sim = int(min(n_sim, D))
            sig = jnp.asarray(posterior.flat(NOISE))
            out = _reweight_widths(m, sig, tdraw_j, cost_j, valid_j, np.int64(seed), k, n_sim,
                                   float(prob), lik)
            # resample b's simulated outcomes from seed + 1 + b
            reds = None if not R else _reweight_resampled(
                idx, jnp.arange(int(seed) + 1, int(seed) + 1 + R, dtype=jnp.int64), m, sig,
                tdraw_j, cost_j, valid_j, n_sim, float(prob), lik)
        else:
            tm_j, sigma2_j = jnp.asarray(tm), jnp.asarray(sigma2)
            out = _linear_widths(m, tm_j, tdraw_j, sigma2_j, cost_j, valid_j, k, float(prob),
                                 log) + (None, None)
            reds = None if not R else _linear_resampled(idx, m, tm_j, tdraw_j, sigma2_j,
                                                        cost_j, valid_j, float(prob), log)
        width0, w_single, picks, w_path, ess_single, ess_path = (
            None if a is None else np.asarray(a) for a in out)
    mc_se = None
    if R:
        mc_se = np.std(np.asarray(reds), axis=0, ddof=1) \
            * _autocorrelation_factor(posterior, tm)[:, None]
    if method == "reweight":
        low = [(tasks[t], candidates.index[r[j]])
               for t, r in enumerate(rows_c) for j in range(len(r))
               if ess_single[t, j] < ESS_WARN * D]
        if low:
            warnings.warn(
                f"suggest: importance reweighting is degenerate for {len(low)} (task, "
                f"candidate) pairs (mean effective sample size < {ESS_WARN:.0%} of the {D} "
                f"draws, e.g. {low[:3]}): those runs would move the posterior beyond its "
                "draws, so their width_after is noisy and optimistic; see the 'ess' column, "
                "refit with more draws, or compare method='linear'.", RuntimeWarning,
                stacklevel=2)
    res = _assemble(candidates, cols, tasks, by, rows_c, pad, valid, costs, w_single,
                    picks, w_path, width0, target, rows_t, interval, prob, method,
                    ess_single, ess_path, mc_se)
    _warn_no_narrowing(res.table, task_label(by), D)
    return res


def _warn_no_narrowing(table: pd.DataFrame, task: str, D: int) -> None:
    """Warn (`RuntimeWarning`) for tasks where no candidate has a positive ``reduction``:
    no run is expected to narrow the target's interval, yet ranking by
    ``reduction_per_cost`` puts the costliest first (the least negative ratio). Measured:
    method "reweight" on 100 draws of a posterior whose noise (sd 5) swamps the runs gave
    reductions of -0.05 to -0.15 (mc_se 0.07-0.13; Monte Carlo noise about a mean of
    ~0), and the run of cost 20 ranked first of four; before, nothing said so."""
    best = table.groupby(task, sort=False)["reduction"].max()
    none = best.index[~(best > 0)].tolist()
    if not none:
        return
    warnings.warn(f"suggest: for {len(none)} task(s) ({none[:3]}) no candidate is expected to "
                  "narrow the target's interval (every reduction <= 0, e.g. when the noise "
                  f"swamps what one run adds, or the {D} draws are too few to resolve it: see "
                  "mc_se), so the ranking by reduction_per_cost, which puts the costliest "
                  "run first, means nothing. Fix: draw more (e.g. jf.sample(..., "
                  "samples=1000) or jf.bootstrap(..., n=400)), compare method='linear', or "
                  "give candidates nearer the target.", RuntimeWarning, stacklevel=3)


def _probs(prob: float):
    return jnp.asarray([0.5, (1 - prob) / 2, (1 + prob) / 2])


def _quantiles(tdraw, prob: float):
    """[3, T, J] median and ``prob`` interval ends of the target draws [T, D, J]: the one
    computation of the current interval (the targets' width_now, the table's, and through
    the cores' quantiles the widths after each run). ``jnp.quantile``'s default (linear)
    interpolation is numpy's, so these equal ``np.quantile``'s."""
    return jnp.quantile(tdraw, _probs(prob), axis=1)


def _resample_quantiles(ts, order, counts, prob: float):
    """`_quantiles` of a bootstrap resample of the draws without sorting it.

    Args:
        ts: [T, D, J] the draws sorted along D; order: the sort permutation
            (``ts[t, :, j] = x[t, order[t, :, j], j]``).
        counts: [D] how often the resample holds each draw.
    Returns:
        [3, T, J]: numpy's linear quantiles of the resample, interpolated between its
        order statistics ``floor(h)`` and the next at ``h = (D - 1) p``. The resample's
        r-th smallest draw (from 0) is the first sorted draw whose running count exceeds
        r, so a cumulative sum replaces XLA's sort (several times numpy's on a CPU).
    """
    D = counts.shape[0]
    cum = jnp.cumsum(counts[order], axis=1)                          # [T, D, J]
    h = (D - 1) * _probs(prob)
    lo = jnp.floor(h)
    ranks = jnp.concatenate([lo, jnp.minimum(lo + 1, D - 1)]).astype(counts.dtype)
    find = jax.vmap(jax.vmap(lambda c: jnp.searchsorted(c, ranks, side="right"),
                             in_axes=1, out_axes=1))                 # [T, D, J] -> [T, 6, J]
    x = jnp.take_along_axis(ts, find(cum), axis=1)
    a, b = x[:, :3], x[:, 3:]
    return jnp.moveaxis(a + (h - lo)[None, :, None] * (b - a), 1, 0)


def _linear_inputs(tm, tdraw, sigma2, prob: float, log: bool, q=None):
    """The quantiles [3, T, J] of the target draws (``q`` if given, else computed) and
    `_linear_core`'s arguments built from the draws: (tm in the update's space, its
    unremovable variance, median, interval offsets, mean noise variance). ``tm``,
    ``tdraw`` [T, D, J], ``sigma2`` [T, D]."""
    q = _quantiles(tdraw, prob) if q is None else q
    tm_s, td_s = (jnp.log(tm), jnp.log(tdraw)) if log else (tm, tdraw)
    # the quantiles of the draws, mapped (not recomputed: quantiles interpolate between
    # draws in the space they are given, so log-space quantiles were not the logs of
    # these, and width_now differed between the table and the targets)
    qs = jnp.log(q) if log else q
    extra = jnp.maximum(td_s.var(axis=1, ddof=1) - tm_s.var(axis=1, ddof=1), 0.0)
    return q, (tm_s, extra, qs[0], qs[1] - qs[0], qs[2] - qs[0], sigma2.mean(axis=1))


@cache.jit(static_argnums=(6, 7, 8))
def _linear_widths(m, tm, tdraw, sigma2, cost, valid, k: int, prob: float, log: bool):
    """Method "linear" from draws: (width_now [T, J], width after each candidate alone
    [T, n], picks [T, k], each target row's width along the batch [T, k, J]).

    ``m`` [T, D, n] candidate locations, ``tm`` and ``tdraw`` [T, D, J] the target's
    law-mean and measured draws, ``sigma2`` [T, D] noise variances; ``log``: update log T
    (positive targets, widths after exp)."""
    q, args = _linear_inputs(tm, tdraw, sigma2, prob, log)
    _, w_single, picks, w_path = _linear_batched(m, *args, cost, valid, k, log)
    return q[2] - q[1], w_single, picks, w_path


@cache.jit(static_argnums=(7, 8))
def _linear_resampled(idx, m, tm, tdraw, sigma2, cost, valid, prob: float, log: bool):
    """[B, T, n] each candidate's ``reduction`` (the summed width now minus the width
    after it alone) from the draws at the positions ``idx`` [B, D] (a bootstrap resample
    per row), one resample at a time (``lax.map``: the memory of one), gathered on the
    device. The greedy batch is not run (k = 0); the quantiles come from the draws sorted
    once (`_resample_quantiles`)."""
    order = jnp.argsort(tdraw, axis=1)
    ts = jnp.take_along_axis(tdraw, order, axis=1)
    D = idx.shape[1]

    def one(draws):
        g = functools.partial(jnp.take, indices=draws, axis=1)
        q = _resample_quantiles(ts, order, jnp.zeros(D, draws.dtype).at[draws].add(1), prob)
        _, args = _linear_inputs(g(tm), g(tdraw), g(sigma2), prob, log, q)
        w0, w1, _, _ = _linear_batched(g(m), *args, cost, valid, 0, log)
        return w0[:, None] - w1
    return jax.lax.map(one, idx)


def _reweight_keys(seed, T: int):
    """The [T] keys of the simulated outcomes of every task for seed ``seed``."""
    return jax.random.split(jax.random.PRNGKey(seed), T)


@cache.jit(static_argnums=(6, 7, 8, 9))
def _reweight_widths(m, sig, tdraw, cost, valid, seed, k: int, n_sim: int, prob: float,
                     lik):
    """Method "reweight" from draws: as `_linear_widths`, plus the mean effective sample
    sizes of the single candidates [T, n] and along the batch [T, k]. ``sig`` [T, D] noise
    scales; ``seed`` that of the simulated outcomes."""
    keys = _reweight_keys(seed, m.shape[0])
    _, w_single, picks, w_path, ess_single, ess_path = _reweight_batched(
        keys, m, sig, tdraw, cost, valid, k, n_sim, prob, lik)
    q = _quantiles(tdraw, prob)
    return q[2] - q[1], w_single, picks, w_path, ess_single, ess_path


@cache.jit(static_argnums=(7, 8, 9))
def _reweight_resampled(idx, seeds, m, sig, tdraw, cost, valid, n_sim: int, prob: float,
                        lik):
    """As `_linear_resampled` for method "reweight": resample b draws fresh simulated
    outcomes from ``seeds[b]``; neither the greedy batch nor the effective sample sizes
    are computed."""
    def one(args):
        draws, seed = args
        g = functools.partial(jnp.take, indices=draws, axis=1)
        w0, w1 = _reweight_batched(_reweight_keys(seed, m.shape[0]), g(m), g(sig), g(tdraw),
                                   cost, valid, 0, n_sim, prob, lik)[:2]
        return w0[:, None] - w1
    return jax.lax.map(one, (idx, seeds))


def _resample_draws(D: int, resamples: int, seed: int) -> np.ndarray:
    """[resamples, D] positions of the bootstrap resamples of D draws (with replacement)."""
    return np.random.default_rng([seed, D]).integers(0, D, (resamples, D))


def check_se_resamples(se_resamples) -> None:
    """ValueError unless ``se_resamples`` is 0 or an integer >= 2 (`suggest`'s rule, which
    ``jaxfit suggest --se-resamples`` checks before its fit)."""
    if not whole(se_resamples, 0) or se_resamples == 1:
        raise ValueError(f"suggest: se_resamples must be 0 (no mc_se column) or an integer "
                         f">= 2 (bootstrap resamples of the draws), got {se_resamples!r}; "
                         "e.g. se_resamples=20.")
    if se_resamples > MAX_COUNT:
        raise ValueError(f"suggest: se_resamples must be at most {MAX_COUNT} (bootstrap "
                         f"resamples of the draws), got {se_resamples!r}; e.g. "
                         "se_resamples=20.")


def _autocorrelation_factor(post: Posterior, tm) -> np.ndarray:
    """[T] factor by which an iid bootstrap's standard error understates that of draws
    from a Markov chain: ``sqrt(D / ESS)``, with ESS each task's smallest tail effective
    sample size of the target's law-mean draws ``tm`` [T, D, J] (chains concatenated; the
    widths are their tail quantiles; arviz's ``ess(method="tail")``, Vehtari et al. 2021),
    clipped to [1, D] (an ESS above D, antithetic chains, never narrows the error; an
    undefined one counts as a single draw). 1 for independent draws (every method but
    "nuts"). Of the parameters' ESS (`Posterior.diagnostics`), a slowly mixing one that
    barely moves the target would inflate the factor up to sqrt(D). For method "reweight"
    the factor also scales the simulated outcomes' share of the spread, which is not
    autocorrelated: there ``mc_se`` is an upper bound."""
    D = post.n_draws
    if post.method != "nuts":
        return np.ones(len(post.tasks))
    import arviz as az

    C = post.n_chains
    t = np.asarray(tm, dtype=np.float64)
    chains = np.moveaxis(t.reshape(t.shape[0], C, D // C, t.shape[2]), 0, 2)   # C, S, T, J
    ess = np.asarray(az.ess(az.convert_to_dataset(chains), method="tail")["x"].values
                     ).min(axis=-1)                                             # [T]
    ratio = np.where(np.isfinite(ess) & (ess > 0), D / np.where(ess > 0, ess, 1.0), D)
    return np.sqrt(np.clip(ratio, 1.0, D))


def _assemble(candidates, cols, tasks, by, rows_c, pad, valid, costs, w_single,
              picks, w_path, width0, target, rows_t, interval, prob, method,
              ess_single=None, ess_path=None, mc_se=None) -> SuggestResult:
    in_cols = list(dict.fromkeys(cols.values()))
    frames, batches, tgts = [], [], []
    task_name = task_label(by)
    for t, task in enumerate(tasks):
        r = rows_c[t]
        if len(r) == 0:
            continue
        sub = candidates.iloc[r]
        now = width0[t].sum()                      # the targets' width_now, summed
        red = now - w_single[t, :len(r)]
        f = pd.DataFrame({"task": [task] * len(r), "candidate": sub.index.to_numpy()})
        for c in in_cols:
            f[c] = sub[c].to_numpy()
        f["cost"] = costs[r]
        f["width_now"] = now
        f["width_after"] = w_single[t, :len(r)]
        f["reduction"] = red
        f["reduction_per_cost"] = red / costs[r]
        if mc_se is not None:
            f["mc_se"] = mc_se[t, :len(r)]
        if ess_single is not None:
            f["ess"] = ess_single[t, :len(r)]
        f["rank"] = f["reduction_per_cost"].rank(ascending=False, method="first").astype(int)
        pick = pd.array([pd.NA] * len(r), dtype="Int64")
        order = []
        for i, j in enumerate(picks[t]):
            # the greedy scan runs k steps for every task; once a task's candidates are
            # used up it returns an invalid or already picked one: the batch ends there
            if j >= len(r) or not valid[t, j] or any(j == jj for _, jj in order):
                break
            pick[j] = i + 1
            order.append((i + 1, j))
        f["pick"] = pick
        frames.append(f.sort_values("rank"))
        cum = 0.0
        for i, j in order:
            cum += costs[r[j]]
            row = {"task": task, "pick": i, "candidate": candidates.index[r[j]]}
            row.update({c: candidates[c].iloc[r[j]] for c in in_cols})
            row.update(cost=costs[r[j]], cumulative_cost=cum,
                       expected_width=w_path[t, i - 1].sum())
            if ess_path is not None:
                row["ess"] = ess_path[t, i - 1]
            batches.append(row)
        # each target row's own width after the batch (before: NaN on every row but the
        # last, which held the sum over the task's rows)
        for jj, row_i in enumerate(rows_t[t]):
            tgts.append({"task": task, "target": target.index[row_i],
                         "width_now": width0[t, jj],
                         "width_after_batch": w_path[t, len(order) - 1, jj] if order
                         else width0[t, jj]})
    # (rename's inplace= is deprecated in pandas 3 and goes in pandas 4: new frames)
    table, batch, targets = (
        df.rename(columns={"task": task_name}) for df in
        (pd.concat(frames, ignore_index=True), pd.DataFrame(batches), pd.DataFrame(tgts)))
    for df in (table, batch, targets):
        df.attrs.update(interval=interval, prob=prob)
    return SuggestResult(table=table, batch=batch, targets=targets, method=method,
                         interval=interval, prob=prob)
