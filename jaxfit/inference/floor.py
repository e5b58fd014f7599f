"""Members stopped at the step cap on their way to the floor's bound, refitted there.

A law's irreducible term (``Law.floor``: ``E`` of ``E + A/N^alpha + B/D^beta``, a
positive parameter) can have its best value at the bound, E -> 0: the other terms fit
the data better alone. In the solver's coordinates (log E) that optimum lies at minus
infinity, and Newton follows a curved valley towards it (B and beta move with E), so
such members run to ``max_steps`` while their objective still falls. `refit_at_floor`
refits every member that ended at the cap with the floor pinned at a value negligible
against the data (`FLOOR_REL` times the task's smallest |target|: the predictions do not
change in float64), the other parameters free and starting where the member stopped. A
refit that converges at or below the member's objective, and where the objective does
not fall as the floor rises from its bound (``df/dE >= 0``: a minimum of the bounded
problem, `floor_slope`), replaces it, with status converged; the fit's ``at_bound`` then
flags the floor. Every other member is left as it was; a refit that does not converge
lower, or whose objective would fall with a larger floor (the optimum is inside, and the
member at the cap is still on its way there), changes nothing.

Measured on the Hitchhiker grid (`benchmarks/stepcap_tail.py`, session 16): of its 47
capped members, 30 were on their way to E -> 0; pinned, 21 of them converged within 4-69
Newton steps at an objective at or below the one that 19,000 further steps of the full
problem reached. In the other 9 a second exponent grows without bound as E falls (alpha
4.7-15): the reduced problem is degenerate as well, and they stay at the cap.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfit.data import task_bucket
from jaxfit.inference import cache
from jaxfit.inference.status import Status
from jaxfit.law import Law

__all__ = ["FLOOR_REL", "floor_index", "pinned_objective", "pinned_values", "floor_slope",
           "replace_members", "smallest_target"]

#: The floor's pinned value relative to the task's smallest |target|: below float64's
#: resolution of a prediction, so the pinned fit's objective is that of floor = 0.
FLOOR_REL = 1e-16
#: The inputs-dict entry that carries a task's pinned (unconstrained) floor value.
PIN = "__jaxfit_floor__"


def floor_index(law: Law) -> int | None:
    """Position of the law's floor among its parameters, when the floor is bounded below
    at 0 by a log map (a positive parameter); else None (nothing to refit)."""
    if law.floor is None or law.shared or law.floor not in law.param_names:
        return None
    lo, hi = law.params[law.floor].bounds
    if lo != 0.0 or np.isfinite(hi):
        return None
    return law.param_names.index(law.floor)


@functools.lru_cache(maxsize=64)
def pinned_objective(objective, i: int):
    """``objective`` of the parameters without the ``i``-th, which is read from the
    inputs dict (``x[PIN]``, broadcast over the task's points). Cached: the same
    objective gives the same function, so its compiled solver is reused."""
    def pinned(v, x, *rest):
        x = dict(x)
        up = x.pop(PIN)[..., :1]
        u = jnp.concatenate([v[..., :i], up.astype(v.dtype), v[..., i:]], axis=-1)
        return objective(u, x, *rest)

    pinned.floor = getattr(objective, "floor", None)
    pinned.additive = getattr(objective, "additive", False)
    base = getattr(objective, "cache_token", None)

    def cache_token():
        token = None if base is None else base()
        return None if token is None else ("floor", token, i)

    pinned.cache_token = cache_token
    return pinned


def smallest_target(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[...] the smallest |target| among each task's points of positive weight (1 where
    there is none, or it is 0), over the last axis."""
    small = np.min(np.where(w > 0, np.abs(y), np.inf), axis=-1)
    return np.where(np.isfinite(small) & (small > 0), small, 1.0)


def pinned_values(law: Law, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[T] the floor's pinned unconstrained value per task: the inverse transform of
    `FLOOR_REL` times the smallest |target| among the task's points of positive weight."""
    return np.log(FLOOR_REL * smallest_target(y, w))


@cache.jit(static_argnums=(0, 1))
def _slopes(objective, i: int, u, x, y, w):
    grad = jax.vmap(jax.grad(objective))(u, x, y, w)
    return grad[:, i] / jnp.exp(u[:, i])


def floor_slope(objective, i: int, u, x, y, w) -> np.ndarray:
    """[M] ``df/dE`` at each member ``u`` [M, k] (the floor's coordinate ``i`` is its log,
    so ``df/dE = (df/du_i) / E``); >= 0 where the floor at its bound is a minimum of the
    bounded problem (the KKT condition at a lower bound). The rows are padded to the
    solver's task bucket (`jaxfit.data.task_bucket`, repeating the last member), so the
    check compiles once per bucket, not once per number of members."""
    M = len(u)
    rows = np.minimum(np.arange(task_bucket(M)), M - 1)
    with jax.enable_x64(True):
        args = jax.device_put((np.asarray(u)[rows], {n: np.asarray(a)[rows] for n, a in x.items()},
                               np.asarray(y)[rows], np.asarray(w)[rows]))
        return np.asarray(_slopes(objective, i, *args))[:M]


def replace_members(old_u, old_f, old_status, new_u, new_f, new_status, capped):
    """Members [T, K] after the refit: a capped member whose refit converged at or below
    its objective takes the refit's end point; then the members of each task with a
    replaced one best first.

    Returns:
        (u, f, status, replaced, order): the members, a [T, K] mask of the replaced
        ones, and the [T, K] reordering applied (``order[t, 0]`` is the new winner).
    """
    better = (capped & (new_status == Status.CONVERGED) & np.isfinite(new_f)
              & (new_f <= old_f))       # `capped`: also where the floor's slope is >= 0
    u = np.where(better[..., None], new_u, old_u)
    f = np.where(better, new_f, old_f)
    status = np.where(better, Status.CONVERGED, old_status)
    key = np.where(np.isfinite(f), f, np.inf)
    # only tasks with a replaced member are reordered: the others keep the solver's order
    # (its tie rule, `optimize.TIE_RTOL`, keeps the earlier of two members within rounding)
    order = np.where(better.any(axis=1, keepdims=True),
                     np.argsort(key, axis=1, kind="stable"), np.arange(f.shape[1]))
    take = lambda a: np.take_along_axis(a, order.reshape(order.shape + (1,) * (a.ndim - 2)),  # noqa: E731
                                        axis=1)
    return take(u), take(f), take(status), take(better), order
