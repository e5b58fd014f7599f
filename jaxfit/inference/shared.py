"""Joint fits where some parameters are shared by every task (`jaxfit.share`).

The tasks are no longer independent, so they form one problem whose unconstrained vector
is ``[shared (s), per-task (T * (k - s))]`` and whose objective is the sum of the tasks'
objectives. It runs through the same multi-start `minimize` as one task.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfit.inference.objective import unpack
from jaxfit.inference.optimize import minimize

__all__ = ["joint_objective", "solve_shared"]


def _split(law):
    names = law.param_names
    shared = np.array([i for i, n in enumerate(names) if n in law.shared])
    free = np.array([i for i, n in enumerate(names) if n not in law.shared])
    return shared, free


def _assemble(z, shared, free, T: int, k: int):
    """Joint vector -> per-task unconstrained parameters [T, k]."""
    s = len(shared)
    U = jnp.zeros((T, k), z.dtype)
    U = U.at[:, shared].set(jnp.broadcast_to(z[:s], (T, s)))
    return U.at[:, free].set(z[s:].reshape(T, k - s))


@functools.lru_cache(maxsize=64)
def joint_objective(objective, law, T: int):
    """``f(z, x, y, w) = sum_t objective(U_t, x_t, y_t, w_t)`` over the tasks' data."""
    shared, free = _split(law)
    k = len(law.param_names)

    def f(z, x, y, w, *scale):
        U = _assemble(z, shared, free, T, k)
        return jnp.sum(jax.vmap(lambda u, *d: objective(u, *d, *scale))(U, x, y, w))

    if hasattr(objective, "floor"):
        f.floor = lambda y, w: jnp.sum(jax.vmap(objective.floor)(y, w))
    return f


def solve_shared(law, batch, u0, objective, opts, use_jit: bool = True):
    """Fit all tasks of ``batch`` jointly with ``law.shared`` parameters tied.

    Returns the same ``(solution, values, all_values)`` triple as the independent path,
    with per-task objectives and the joint status repeated for every task.
    """
    import contextlib

    shared, free = _split(law)
    T, k = len(batch.tasks), len(law.param_names)
    ctx = contextlib.nullcontext() if use_jit else jax.disable_jit()
    with jax.enable_x64(True), ctx:
        u0 = jnp.asarray(u0, jnp.float64)
        z0 = jnp.concatenate([u0[:, shared], jnp.tile(u0[:, free], (1, T))], axis=1)
        x = jax.tree.map(lambda a: jnp.asarray(a)[None], batch.x)
        y, w = jnp.asarray(batch.y)[None], jnp.asarray(batch.w)[None]
        sol = minimize(joint_objective(objective, law, T), z0, x, y, w, opts=opts)
        U = _assemble(sol.u[0], shared, free, T, k)
        all_U = jax.vmap(lambda z: _assemble(z, shared, free, T, k))(sol.all_u[0])  # [R,T,k]
        all_U = jnp.swapaxes(all_U, 0, 1)                                           # [T,R,k]
        f_task = jax.vmap(objective)(U, x_ := jax.tree.map(lambda a: a[0], x), y[0], w[0])
        g = jax.vmap(jax.grad(objective))(U, x_, y[0], w[0])
        values = np.asarray(jnp.stack(list(unpack(law, U).values()), -1))
        all_values = np.asarray(jnp.stack(list(unpack(law, all_U).values()), -1))
        rep = lambda a: np.repeat(np.asarray(a), T, axis=0)  # noqa: E731
        sol = sol._replace(u=np.asarray(U), f=np.asarray(f_task), status=rep(sol.status),
                           steps=rep(sol.steps),
                           grad_norm=np.asarray(jnp.max(jnp.abs(g[:, free]), axis=-1))
                           if len(free) else rep(sol.grad_norm),
                           all_u=np.asarray(all_U), all_f=rep(sol.all_f),
                           all_status=rep(sol.all_status))
    return sol, values, all_values
