"""Multi-start minimisation of many independent tasks in one jit-compiled, vmapped call.

Shape convention: tasks ``T``, starts ``S``, refined starts ``R``, points ``P``, params
``k``. Every task's data is padded to the same ``P`` with zero weights (see
`jaxfit.data`); independent tasks are never summed into one objective.

The procedure (measured in ``benchmarks/fit_throughput.py``):

1. *Screen*: evaluate the objective at every start (optionally after ``screen_steps``
   solver iterations) and keep the ``refine`` best starts per task.
2. *Refine*: run the solver ("newton", the default, or optax "lbfgs") on the kept starts
   in one ``lax.while_loop`` over the vmapped batch; each member stops on its own test
   and idles once done, the loop ends when every member is done or at ``max_steps``.
3. *Select*: the lowest finite objective per task wins; every refined end point is
   returned for identifiability checks.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxfit.inference import lbfgs, newton
from jaxfit.inference.status import Status

__all__ = ["SolverOptions", "Solution", "minimize"]


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Options of `minimize` (hashable: they are static under jit).

    Attributes:
        method: "newton" (damped exact-Hessian Newton, `jaxfit.inference.newton`) or
            "lbfgs" (``optax.lbfgs`` with zoom line search).
        max_steps: per-member iteration cap.
        ftol: relative convergence tolerance on the objective (Newton: the Newton
            decrement; L-BFGS: the decrease of an accepted step).
        gtol: L-BFGS only: stop when the largest gradient component is below this.
        refine: number of best-screened starts refined per task (None: all).
        screen_steps: solver iterations run on every start before screening.
    """

    method: str = "newton"
    max_steps: int = 1000
    ftol: float = 1e-12
    gtol: float = 1e-12
    refine: int | None = 8
    screen_steps: int = 0

    def __post_init__(self):
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r} is not one of {sorted(_METHODS)}.")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}.")


class Solution(NamedTuple):
    """Per-task result of `minimize` (a pytree of arrays)."""

    u: jax.Array           # [T, k] best unconstrained parameters
    f: jax.Array           # [T] best objective
    status: jax.Array      # [T] `Status` codes
    steps: jax.Array       # [T] iterations of the winning member
    grad_norm: jax.Array   # [T] max |gradient| (unconstrained) at the winner
    all_u: jax.Array       # [T, R] refined end points
    all_f: jax.Array       # [T, R]
    all_status: jax.Array  # [T, R]


_METHODS = {
    "newton": (newton.newton_init, newton.newton_step, newton.newton_done),
    "lbfgs": (lbfgs.lbfgs_init, lbfgs.lbfgs_step, lbfgs.lbfgs_done),
}


def _batched(fn, data_axes=(0, 0, 0)):
    """vmap ``fn(state_or_u, x, y, w)`` over restarts (data shared), then over tasks."""
    inner = jax.vmap(fn, in_axes=(0, None, None, None))
    return jax.vmap(inner, in_axes=(0, *data_axes))


def _status(s) -> jax.Array:
    return jnp.where(s.converged, Status.CONVERGED,
                     jnp.where(~jnp.isfinite(s.f), Status.NONFINITE,
                               jnp.where(s.stalled, Status.STALLED, Status.MAX_STEPS)))


def _loop(objective, opts: SolverOptions, u, x, y, w, n_steps: int):
    init, step, done = _METHODS[opts.method]
    kw = {"ftol": opts.ftol} if opts.method == "newton" else {"ftol": opts.ftol, "gtol": opts.gtol}
    init_b = _batched(functools.partial(init, objective))
    step_b = _batched(lambda s, x_, y_, w_: step(objective, s, x_, y_, w_, **kw))
    state = init_b(u, x, y, w)

    def cond(carry):
        s, i = carry
        return (i < n_steps) & ~jnp.all(done(s))

    def body(carry):
        s, i = carry
        return step_b(s, x, y, w), i + 1

    state, _ = jax.lax.while_loop(cond, body, (state, jnp.asarray(0)))
    return state


@functools.partial(jax.jit, static_argnums=(0, 1))
def _minimize(objective: Callable, opts: SolverOptions, u0, x, y, w) -> Solution:
    T = y.shape[0]
    u0 = jnp.broadcast_to(u0, (T,) + u0.shape[-2:]) if u0.ndim == 2 else u0
    S = u0.shape[1]
    R = S if opts.refine is None else min(opts.refine, S)
    if opts.screen_steps > 0:
        s = _loop(objective, opts, u0, x, y, w, opts.screen_steps)
        u0, f0 = s.u, s.f
    else:
        f0 = _batched(objective)(u0, x, y, w)
    f0 = jnp.where(jnp.isfinite(f0), f0, jnp.inf)
    if R < S:
        _, idx = jax.lax.top_k(-f0, R)                      # [T, R]
        u0 = jnp.take_along_axis(u0, idx[..., None], axis=1)
    state = _loop(objective, opts, u0, x, y, w, opts.max_steps)
    f = jnp.where(jnp.isfinite(state.f), state.f, jnp.inf)
    best = jnp.argmin(f, axis=1)                            # [T]
    pick = lambda a: jnp.take_along_axis(a, best.reshape((T, 1) + (1,) * (a.ndim - 2)),  # noqa: E731
                                         axis=1)[:, 0]
    status = _status(state)
    u_best = pick(state.u)
    g = jax.vmap(jax.grad(objective))(u_best, x, y, w)      # fresh: solvers may cache it
    return Solution(u=u_best, f=pick(state.f), status=pick(status),
                    steps=pick(state.steps), grad_norm=jnp.max(jnp.abs(g), axis=-1),
                    all_u=state.u, all_f=state.f, all_status=status)


def minimize(objective: Callable, u0, x, y, w, opts: SolverOptions = SolverOptions()) -> Solution:
    """Minimise ``objective(u, x, y, w)`` for every task from every start.

    Args:
        objective: per-task objective from `jaxfit.inference.objective.make_objective`
            (it is a static jit argument: reuse the same function to hit the cache).
        u0: starts, [S, k] shared by all tasks or [T, S, k] per task (unconstrained).
        x: dict of [T, P] inputs; y, w: [T, P] targets and weights (0 on padding).
        opts: `SolverOptions`.

    Returns:
        A `Solution`. Call inside ``jax.enable_x64(True)`` with float64 arrays.
    """
    return _minimize(objective, opts, u0, x, y, w)
