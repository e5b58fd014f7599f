"""Optax L-BFGS (zoom line search) for one member, written as init/step/done for vmap.

optax is imported when a step is traced (``method="lbfgs"``), not with this module: the
default Newton fit and a command whose programs are stored never need it (~40 ms).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["LbfgsState", "lbfgs_init", "lbfgs_step", "lbfgs_done"]


class LbfgsState(NamedTuple):
    u: jax.Array
    f: jax.Array
    g: jax.Array
    opt_state: Any
    steps: jax.Array
    converged: jax.Array
    stalled: jax.Array
    fatol: jax.Array    # objective of an exact fit (0: no absolute test)


def _solver(memory_size: int = 10, max_linesearch_steps: int = 20):
    import optax

    return optax.lbfgs(memory_size=memory_size, linesearch=optax.scale_by_zoom_linesearch(
        max_linesearch_steps=max_linesearch_steps))


def lbfgs_init(objective, u, *data, fatol=0.0) -> LbfgsState:
    f, g = jax.value_and_grad(objective)(u, *data)
    bad = ~jnp.isfinite(f) | ~jnp.all(jnp.isfinite(g))
    return LbfgsState(u, jnp.where(bad, jnp.inf, f), g, _solver().init(u), jnp.asarray(0),
                      jnp.asarray(False), bad, jnp.asarray(fatol, u.dtype))


def lbfgs_done(s: LbfgsState) -> jax.Array:
    return s.converged | s.stalled


def lbfgs_step(objective, s: LbfgsState, *data, ftol: float, gtol: float) -> LbfgsState:
    """One L-BFGS iteration; non-finite or worsening steps are rejected and stop the member.

    Converged when an accepted step decreased the objective by at most ``ftol`` times its
    value, the largest gradient component is below ``gtol``, or the fit is exact (the
    objective at or below ``s.fatol``, see `jaxfit.inference.newton`).
    """
    import optax

    value_fn = lambda v: objective(v, *data)  # noqa: E731
    updates, opt_state = _solver().update(s.g, s.opt_state, s.u, value=s.f, grad=s.g,
                                          value_fn=value_fn)
    u = optax.apply_updates(s.u, updates)
    # the line search stores the objective and gradient at its accepted point, u;
    # optax.value_and_grad_from_state would recompute them where they are not finite,
    # but under vmap its lax.cond evaluates both branches, which put a second
    # value_and_grad in every step; a non-finite value is rejected below anyway
    f, g = optax.tree.get(opt_state, "value"), optax.tree.get(opt_state, "grad")
    ok = jnp.isfinite(f) & jnp.all(jnp.isfinite(g)) & (f <= s.f)
    exact = (s.fatol > 0) & (s.f <= s.fatol)   # fatol = 0: no absolute test
    keep = s.converged | s.stalled | exact
    take = ok & ~keep
    small = ((s.f - f) <= ftol * jnp.abs(f)) | (jnp.max(jnp.abs(g)) <= gtol)
    return LbfgsState(
        u=jnp.where(take, u, s.u), f=jnp.where(take, f, s.f), g=jnp.where(take, g, s.g),
        opt_state=jax.tree.map(lambda a, b: jnp.where(take, a, b), opt_state, s.opt_state),
        steps=s.steps + jnp.where(keep, 0, 1),
        converged=s.converged | exact | (take & small), stalled=s.stalled | (~ok & ~keep),
        fatol=s.fatol)
