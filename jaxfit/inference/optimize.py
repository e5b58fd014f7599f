"""Multi-start minimisation of many independent tasks in one jit-compiled, vmapped call.

Shape convention: tasks ``T``, starts ``S``, refined starts ``R``, points ``P``, params
``k``. Every task's data is padded to the same ``P`` with zero weights (see
`jaxfit.data`); independent tasks are never summed into one objective.

The procedure (measured in ``benchmarks/fit_throughput.py``):

1. *Screen*: evaluate the objective at every start (optionally after ``screen_steps``
   solver iterations) and keep the ``refine`` best starts per task.
2. *Halve*: run the solver on the kept starts for ``halving_steps`` iterations, keep the
   better half of each task's members, and repeat until ``keep`` members per task remain
   (successive halving: a start that is far behind after a few Newton steps rarely wins).
3. *Compact*: run the survivors to convergence in rounds of ``round_steps`` iterations;
   between rounds the members still running are gathered into a batch ``compact`` times
   smaller, so converged members stop costing compute. Every size is static, so the whole
   procedure is one XLA program with no host round trip.
4. *Select*: the lowest finite objective per task wins; the survivors' end points are
   returned for identifiability checks.

Every stage is a ``lax.while_loop`` over a vmapped solver step ("newton", the default, or
optax "lbfgs"); each member stops on its own convergence test or at ``max_steps``.
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
        keep: members per task that successive halving leaves to run to convergence
            (None: no halving). Two or more keep the identifiability check meaningful.
        halving_steps: iterations between halvings.
        round_steps: iterations per compaction round.
        compact: how much smaller the running batch gets from one compaction stage to the
            next (1: no compaction, one loop until the slowest member is done).
        min_batch: batches of at most this many members are not compacted (one loop, one
            compiled copy of the step: on small fits compilation, not iteration, is the
            cost). Halving does not depend on the batch size, so that a task follows the
            same path whether it is fitted alone or with others.
    """

    method: str = "newton"
    max_steps: int = 1000
    ftol: float = 1e-12
    gtol: float = 1e-12
    refine: int | None = 8
    screen_steps: int = 0
    keep: int | None = 2
    halving_steps: int = 16
    round_steps: int = 16
    compact: int = 4
    min_batch: int = 32

    def __post_init__(self):
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r} is not one of {sorted(_METHODS)}.")
        for name in ("max_steps", "halving_steps", "round_steps", "compact", "min_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.keep is not None and self.keep < 1:
            raise ValueError(f"keep must be >= 1 or None, got {self.keep}.")


class Solution(NamedTuple):
    """Per-task result of `minimize` (a pytree of arrays)."""

    u: jax.Array           # [T, k] best unconstrained parameters
    f: jax.Array           # [T] best objective
    status: jax.Array      # [T] `Status` codes
    steps: jax.Array       # [T] iterations of the winning member
    grad_norm: jax.Array   # [T] max |gradient| (unconstrained) at the winner
    all_u: jax.Array       # [T, K] end points of the members left after halving
    all_f: jax.Array       # [T, K]
    all_status: jax.Array  # [T, K]


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


def _solver(objective, opts: SolverOptions):
    """(init, step, done) for one member; ``step`` is a no-op once ``done``."""
    init, step, done = _METHODS[opts.method]
    kw = {"ftol": opts.ftol} if opts.method == "newton" else {"ftol": opts.ftol, "gtol": opts.gtol}
    done_ = lambda s: done(s) | (s.steps >= opts.max_steps)  # noqa: E731

    def step_(s, *data):
        new = step(objective, s, *data, **kw)
        return jax.tree.map(lambda a, b: jnp.where(done_(s), a, b), s, new)

    return functools.partial(init, objective), step_, done_


def _run(step, done, state, data, n_steps: int, vmap):
    """Iterate the vmapped ``step`` at most ``n_steps`` times or until all are done."""
    step_b, done_b = vmap(step), vmap(lambda s, *_: done(s))

    def cond(carry):
        s, i = carry
        return (i < n_steps) & ~jnp.all(done_b(s, *data))

    def body(carry):
        s, i = carry
        return step_b(s, *data), i + 1

    return jax.lax.while_loop(cond, body, (state, jnp.asarray(0)))[0]


def _take(tree, idx, axis: int):
    return jax.tree.map(lambda a: jnp.take(a, idx, axis=axis), tree)


def _halve(state, data, step, done, opts: SolverOptions):
    """Successive halving on [T, R] members down to ``opts.keep`` per task."""
    R = state.f.shape[1]
    while opts.keep is not None and R > opts.keep:
        state = _run(step, done, state, data, opts.halving_steps, _batched)
        R = max(R // 2, opts.keep)
        f = jnp.where(jnp.isfinite(state.f), state.f, jnp.inf)
        _, idx = jax.lax.top_k(-f, R)                                   # [T, R]
        state = jax.tree.map(
            lambda a: jnp.take_along_axis(a, idx.reshape(idx.shape + (1,) * (a.ndim - 2)),
                                          axis=1), state)
    return state


def _compact(state, data, step, done, opts: SolverOptions):
    """Run flat members [B] to the end in rounds, on ever smaller batches of running ones.

    Stage ``j`` works on ``M_j = ceil(B / compact**j)`` members at a time (down to the
    first size at most ``min_batch``): each round
    gathers up to ``M_j`` running members (and their data), runs ``round_steps``
    iterations and scatters them back; the stage ends when at most ``M_{j+1}`` are left
    running (the last stage: none).
    """
    B = state.f.shape[0]
    sizes = [B]
    while opts.compact > 1 and sizes[-1] > opts.min_batch:
        sizes.append(-(-sizes[-1] // opts.compact))
    vmap = lambda fn: jax.vmap(fn)  # noqa: E731
    running = lambda s: ~vmap(lambda m: done(m))(s)  # noqa: E731
    for j, M in enumerate(sizes):
        left = sizes[j + 1] if j + 1 < len(sizes) else 0
        if M == B:
            def body(s):
                return _run(step, done, s, data, opts.round_steps, vmap)
        else:
            def body(s, M=M):
                idx = jnp.argsort(~running(s), stable=True)[:M]             # running first
                sub = _run(step, done, _take(s, idx, 0), _take(data, idx, 0),
                           opts.round_steps, vmap)
                return jax.tree.map(lambda a, b: a.at[idx].set(b), s, sub)
        state = jax.lax.while_loop(lambda s, left=left: jnp.sum(running(s)) > left, body,
                                   state)
    return state


@functools.partial(jax.jit, static_argnums=(0, 1))
def _minimize(objective: Callable, opts: SolverOptions, u0, x, y, w) -> Solution:
    T = y.shape[0]
    data = (x, y, w)
    u0 = jnp.broadcast_to(u0, (T,) + u0.shape[-2:]) if u0.ndim == 2 else u0
    S = u0.shape[1]
    R = S if opts.refine is None else min(opts.refine, S)
    init, step, done = _solver(objective, opts)
    if opts.screen_steps > 0:
        s = _run(step, done, _batched(init)(u0, *data), data, opts.screen_steps, _batched)
        u0, f0 = s.u, s.f
    else:
        f0 = _batched(objective)(u0, *data)
    f0 = jnp.where(jnp.isfinite(f0), f0, jnp.inf)
    if R < S:
        _, idx = jax.lax.top_k(-f0, R)                      # [T, R]
        u0 = jnp.take_along_axis(u0, idx[..., None], axis=1)
    state = _halve(_batched(init)(u0, *data), data, step, done, opts)
    K = state.f.shape[1]
    flat = jax.tree.map(lambda a: a.reshape((T * K,) + a.shape[2:]), state)
    member_task = jnp.repeat(jnp.arange(T), K)
    flat = _compact(flat, _take(data, member_task, 0), step, done, opts)
    state = jax.tree.map(lambda a: a.reshape((T, K) + a.shape[1:]), flat)
    f = jnp.where(jnp.isfinite(state.f), state.f, jnp.inf)
    best = jnp.argmin(f, axis=1)                            # [T]
    pick = lambda a: jnp.take_along_axis(a, best.reshape((T, 1) + (1,) * (a.ndim - 2)),  # noqa: E731
                                         axis=1)[:, 0]
    status = _status(state)
    u_best = pick(state.u)
    g = jax.vmap(jax.grad(objective))(u_best, *data)        # fresh: solvers may cache it
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
