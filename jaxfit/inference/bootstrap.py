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
from jaxfit.inference.optimize import Solution, SolverOptions, minimize

__all__ = ["resample_weights", "bootstrap_minimize", "residual_scale"]


@cache.jit(static_argnums=3)
def resample_weights(key, w, n_points, n: int):
    """Multinomial resample counts times the original weights (one compiled program:
    ``jax.random.multinomial`` run eagerly compiled its own loop at every call, ~1 s).

    Args:
        key: a PRNG key.
        w: [T, P] point weights (0 on padding; real points come first in each row, as
            `jaxfit.data.make_batch` lays them out).
        n_points: [T] number of real points per task.
        n: number of resamples.

    Returns:
        [n, T, P] weights: ``w * counts`` with ``counts[b, t] ~ Multinomial(n_t, 1/n_t)``
        over the task's real points (0 on padding).
    """
    T, P = w.shape
    real = jnp.arange(P)[None, :] < n_points[:, None]                       # [T, P]
    p = jnp.where(real, 1.0, 0.0) / n_points[:, None]
    counts = jax.random.multinomial(key, n_points.astype(w.dtype), p, shape=(n, T, P),
                                    dtype=w.dtype)
    return counts * w[None]


@cache.jit
def _tile(u0, x, y, wb):
    n, T, P = wb.shape
    def tile(a):
        return jnp.broadcast_to(a[None], (n,) + a.shape).reshape((n * T,) + a.shape[1:])
    return (u0 if u0.ndim == 2 else tile(u0), {k: tile(v) for k, v in x.items()}, tile(y),
            wb.reshape(n * T, P))


def bootstrap_minimize(objective, u0, x, y, w, n_points, n: int, key,
                       opts: SolverOptions = SolverOptions(refine=None)):
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

    Returns:
        (`Solution` with leading axes [n, T], resample weights [n, T, P]).
    """
    wb = resample_weights(key, w, n_points, n)
    sol = minimize(objective, *_tile(u0, x, y, wb), opts=opts)
    T = y.shape[0]
    return jax.tree.map(lambda a: a.reshape((n, T) + a.shape[1:]), sol), wb


def residual_scale(residual_fn, u, x, y, w):
    """Weighted RMS residual per refit: ``sqrt(sum w r^2 / sum w)`` ([n, T]).

    Used as the noise scale of the bootstrap's predictive intervals (Normal residuals in
    the fit's space). Points a resample did not draw (weight 0) are never evaluated
    (`safe_inputs`).
    """
    def one(u, x, y, w):
        r = residual_fn(u, *safe_inputs(x, y, w), w)
        return jnp.sqrt(jnp.sum(jnp.where(w > 0, w * r * r, 0.0)) / jnp.sum(w))
    return jax.vmap(jax.vmap(one, in_axes=(0, None, None, 0)), in_axes=(1, 0, 0, 1),
                    out_axes=1)(u, x, y, w)
