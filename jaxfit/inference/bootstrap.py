"""Bootstrap refits as one vmapped `minimize` call: resamples become point weights.

A nonparametric bootstrap draws, for each task, ``n_t`` points with replacement from its
``n_t`` points (Efron 1979; the 4,000-resample Chinchilla bootstrap of Besiroglu et al.
2024). Drawing ``counts ~ Multinomial(n_t, 1/n_t)`` and refitting with point weights
``w * counts`` is the same estimator, and keeps every resample on the padded [T, P] grid:
no gather, no reshaping of ragged data, and all ``n x T`` refits run as the task axis of
one `jaxfit.inference.optimize.minimize` call (each refit stops on its own convergence
test; the loop ends when the slowest refit does or at ``max_steps``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxfit.inference import cache
from jaxfit.inference.objective import safe_inputs
from jaxfit.inference.optimize import SolverOptions, minimize

__all__ = ["resample_weights", "bootstrap_minimize", "residual_scale", "noise_draws"]


@cache.jit(static_argnums=3)
def resample_weights(key, w, n_points, n: int, pinned=None, groups=None):
    """Multinomial resample counts times the original weights (one compiled program:
    ``jax.random.multinomial`` run eagerly compiled its own loop at every call, ~1 s).

    Only points with weight > 0 are drawn: a row of weight 0 is left out of the data
    (`jaxfit.data.make_batch`), so ``n_t`` counts the task's positive-weight points.
    Before, such rows were drawn too, so each resample held a random number of real
    points (the weighted-out draws were lost), not ``n_t``.

    With ``groups`` the resample is a cluster (block) bootstrap: whole clusters are drawn,
    ``m_t`` of them with replacement among the task's ``m_t`` clusters, and every point of
    a cluster gets that cluster's count. Points of one cluster that are not independent
    (the checkpoints of one training run) are then resampled as the unit they are;
    drawn one by one, their shared deviation counts as independent evidence, and the
    spread of the refits is too narrow (Davison & Hinkley 1997, section 3.8).

    Args:
        key: a PRNG key.
        w: [T, P] point weights (0 on padding; real points come first in each row, as
            `jaxfit.data.make_batch` lays them out).
        n_points: [T] number of real points per task (rows, weight 0 or not).
        n: number of resamples.
        pinned: None, or [T, P] bool: points in every resample once, not drawn (a
            pseudo-point of the protocol, such as the model ladder's anchor); the others
            are resampled among themselves.
        groups: None, or [T, P] int: each point's cluster in its task, ``0 .. m_t - 1``
            (-1 on padding, pinned points and points of weight 0: in no cluster). The
            counts' cluster axis is P long (``m_t <= P``), so the program depends on the
            shapes only, not on how many clusters a call has (a static cluster count
            compiled it again for every new largest count: each cut of a backtest).

    Returns:
        [n, T, P] weights: ``w * counts`` with ``counts[b, t] ~ Multinomial(n_t, 1/n_t)``
        over the task's ``n_t`` real points of weight > 0 (0 elsewhere; 1 at a pinned
        point, the multinomial then over the ``n_t`` others); with ``groups``, each
        point's count is its cluster's, ``Multinomial(m_t, 1/m_t)`` over the clusters.
    """
    T, P = w.shape
    real = (jnp.arange(P)[None, :] < n_points[:, None]) & (w > 0)          # [T, P]
    if pinned is not None:
        fixed = real & pinned
        real = real & ~pinned
    if groups is None:
        m = jnp.sum(real, axis=1).astype(w.dtype)                           # [T]
        p = jnp.where(real, 1.0, 0.0) / m[:, None]
        counts = jax.random.multinomial(key, m, p, shape=(n, T, P), dtype=w.dtype)
    else:
        gid = jnp.where(real, groups, -1)                                   # [T, P]
        m = (jnp.max(gid, axis=1) + 1).astype(w.dtype)                      # [T] clusters
        g = jnp.arange(P)[None, :]
        p = jnp.where(g < m[:, None], 1.0, 0.0) / jnp.maximum(m, 1.0)[:, None]   # [T, G]
        per = jax.random.multinomial(key, m, p, shape=(n, T, P), dtype=w.dtype)
        idx = jnp.broadcast_to(jnp.maximum(gid, 0)[None], (n, T, P))
        counts = jnp.where(gid[None] >= 0, jnp.take_along_axis(per, idx, axis=2), 0.0)
    if pinned is not None:
        counts = jnp.where(fixed[None], 1.0, counts)
    return counts * w[None]


@cache.jit
def _tile(u0, x, y, wb):
    n, T, P = wb.shape
    def tile(a):
        return jnp.broadcast_to(a[None], (n,) + a.shape).reshape((n * T,) + a.shape[1:])
    return (u0 if u0.ndim == 2 else tile(u0), {k: tile(v) for k, v in x.items()}, tile(y),
            wb.reshape(n * T, P))


def bootstrap_minimize(objective, u0, x, y, w, n_points, n: int, key,
                       opts: SolverOptions = SolverOptions(refine=None), pinned=None,
                       groups=None):
    """Refit every task on ``n`` resamples in one compiled call.

    Args:
        objective: per-task objective ``objective(u, x, y, w)`` (`make_objective`).
        u0: starts, [S, k] shared by all refits, or [T, S, k] per task (e.g. each task's
            full-data fit, S = 1: Besiroglu et al. 2024 start every refit at one point).
        x, y, w: the padded batch ([T, P]; x a dict).
        n_points: [T] real points per task.
        n: number of resamples.
        key: PRNG key of the resampling.
        opts: `SolverOptions` of the refits.
        pinned: [T, P] bool points kept once in every resample (`resample_weights`).
        groups: [T, P] int cluster ids (-1: none), for a cluster bootstrap
            (`resample_weights`).

    Returns:
        (`Solution` with leading axes [n, T], resample weights [n, T, P]).
    """
    wb = resample_weights(key, w, n_points, n, pinned, groups)
    sol = minimize(objective, *_tile(u0, x, y, wb), opts=opts)
    T = y.shape[0]
    return jax.tree.map(lambda a: a.reshape((n, T) + a.shape[1:]), sol), wb


def residual_scale(residual_fn, u, x, y, w):
    """Weighted RMS residual per refit: ``sqrt(sum w r^2 / sum w)`` ([n, T]).

    Each refit's in-sample scale is biased low (the refit is tuned to the points it was
    given; about half the true scale at 12 points and 5 parameters) and is kept as a
    diagnostic: ~0 where a resample interpolates. The predictive intervals use
    `noise_draws` instead. Points a resample did not draw (weight 0) are never evaluated
    (`safe_inputs`).
    """
    def one(u, x, y, w):
        r = residual_fn(u, *safe_inputs(x, y, w), w)
        return jnp.sqrt(jnp.sum(jnp.where(w > 0, w * r * r, 0.0)) / jnp.sum(w))
    return jax.vmap(jax.vmap(one, in_axes=(0, None, None, 0)), in_axes=(1, 0, 0, 1),
                    out_axes=1)(u, x, y, w)


@cache.jit(static_argnums=(4,))
def noise_draws(rms, n_points, key, k, n: int):
    """Draws of the noise scale for predictive intervals, from the full-data fit ([n, T]).

    ``s = rms * sqrt(n_t / (n_t - k))`` is the full-data fit's residual scale with its
    degrees of freedom restored (``rms`` is `residual_scale` at the fit: ``s^2 =
    sum w r^2 / sum w * n_t / (n_t - k)``, the residual mean square for unit weights), and
    each resample gets ``sigma = s * sqrt(nu / chi2_nu)``, ``nu = n_t - k``: the scaled
    inverse-chi-square spread of ``s``. With the resampled parameters this makes a new
    observation's draw t-like with ``nu`` degrees of freedom, the prediction interval of a
    linear model, and adds the noise a residual bootstrap adds to a prediction (Davison &
    Hinkley 1997, section 6.3.3); the refits' own in-sample scales (`residual_scale`)
    gave 90% predictive intervals that covered 0.86 of new points at 12 points per task
    (benchmarks/README.md). NaN where ``n_t <= k``: no residual degrees of freedom.

    Args:
        rms: [T] weighted RMS residual of the full-data fit.
        n_points: [T] points of weight > 0 per task.
        key: PRNG key.
        k: free parameters per task (traced, not static: one program serves every law of
            a data shape; a static k compiled it again, ~2-3 s, for each parameter count).
        n: number of resamples.
    """
    nu = n_points.astype(rms.dtype) - jnp.asarray(k, rms.dtype)
    ok = nu > 0
    nu_safe = jnp.where(ok, nu, 1.0)
    s = rms * jnp.sqrt(n_points / nu_safe)
    chi2 = 2.0 * jax.random.gamma(key, nu_safe / 2.0, shape=(n,) + rms.shape, dtype=rms.dtype)
    return jnp.where(ok, s * jnp.sqrt(nu_safe / chi2), jnp.nan)
