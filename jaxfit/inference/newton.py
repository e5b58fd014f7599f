"""A damped (Levenberg-Marquardt style) Newton solver for small fits, batched with vmap.

Hand-written on purpose: scaling laws have few parameters (2-7), so the exact Hessian is
cheap (``jax.jacfwd`` of ``jax.grad``) and Newton steps converge in a handful of
iterations where first-order methods need hundreds. ``benchmarks/fit_throughput.py``
measures it against optax's L-BFGS (``method="lbfgs"``, always available) and scipy.

Each iteration, for each member: eigendecompose the Hessian, replace its eigenvalues by
their absolute values (a saddle-free modification), add a damping ``mu * max|eig|``, take
the step, and accept it only if the objective is finite and lower. Accepted steps shrink
``mu``; rejected ones grow it. Non-finite and worsening steps are never taken.

Convergence: the Newton decrement (the decrease a full step predicts) below ``ftol``
times the objective, a negligible full step or gradient, or an *exact fit*: the
objective, or the decrease still predicted, at or below ``fatol`` (the objective's value
at residuals of `jaxfit.inference.objective.EXACT_RTOL` times the data scale). The
relative tests alone cannot hold as the objective tends to 0.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["NewtonState", "newton_init", "newton_step", "newton_done", "newton_counted", "fgh"]

_MU0, _MU_MIN, _MU_MAX = 1e-3, 1e-12, 1e10
_SHRINK, _GROW = 0.3, 1e4
_GTOL_REL = 1e-10  # converged when every |gradient| component is below this times |f|
_XTOL = 1e-10  # converged when the full Newton step is this small (relative to |u|)
# numpy, not jnp: a module-level JAX array is made at import, in float32 unless the user
# enabled x64 globally (the fits' results then depended on that setting at ~1e-8)
_TRIALS = np.array([1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])


class NewtonState(NamedTuple):
    u: jax.Array        # [k] unconstrained parameters
    f: jax.Array        # objective at u
    g: jax.Array        # gradient at u
    H: jax.Array        # Hessian at u
    mu: jax.Array       # relative damping
    steps: jax.Array    # iterations taken
    converged: jax.Array
    stalled: jax.Array
    fatol: jax.Array    # objective of an exact fit (0: no absolute test)
    fresh: jax.Array    # f, g and H not evaluated yet (the first step does it)


def fgh(objective, u, *data):
    """Objective, gradient and Hessian at ``u`` (``objective.fgh`` when it has one)."""
    custom = getattr(objective, "fgh", None)
    if custom is not None:
        return custom(u, *data)

    def vg(v):
        f, g = jax.value_and_grad(objective)(v, *data)
        return g, (f, g)

    H, (f, g) = jax.jacfwd(vg, has_aux=True)(u)
    return f, g, H


def _decrement(g, H):
    """Newton decrement g^T |H|^-1 g / 2 and the damped-step ingredients.

    The damping scale is the largest |eigenvalue| or, where the Hessian vanishes (a
    piecewise-linear Huber region), the largest |gradient| component, so that a zero
    Hessian still yields a (damped) gradient step.
    """
    w, V = jnp.linalg.eigh(0.5 * (H + H.T))
    aw = jnp.abs(w)
    scale = jnp.maximum(jnp.maximum(jnp.max(aw), jnp.max(jnp.abs(g))), 1e-300)
    gv = V.T @ g
    dec = 0.5 * jnp.sum(gv**2 / jnp.maximum(aw, 1e-14 * scale))
    return dec, w, V, gv, scale


def newton_init(objective, u, *data, fatol=0.0) -> NewtonState:
    """A member at ``u`` whose objective, gradient and Hessian the first `newton_step`
    evaluates (so the compiled program holds one copy of the Hessian, the step's)."""
    del objective, data
    k = u.shape[-1]
    return NewtonState(u, jnp.asarray(jnp.inf, u.dtype), jnp.zeros_like(u),
                       jnp.zeros((k, k), u.dtype), jnp.asarray(_MU0, u.dtype), jnp.asarray(0),
                       jnp.asarray(False), jnp.asarray(False), jnp.asarray(fatol, u.dtype),
                       jnp.asarray(True))


def newton_done(s: NewtonState) -> jax.Array:
    return s.converged | s.stalled


def newton_counted(s: NewtonState) -> jax.Array:
    """Whether `newton_step` from ``s`` is an iteration: not for a fresh member, whose
    first step only evaluates its start (f, g, H), so ``max_steps``, rounds, halving and
    screening see the same iterations as with an evaluated start."""
    return ~s.fresh


def newton_step(objective, s: NewtonState, *data, ftol: float) -> NewtonState:
    """One damped Newton iteration for one member; a no-op once the member is done.

    The damped step is tried at several damping levels at once (``_TRIALS`` times the
    current ``mu``; only objective values, no derivatives), and the lowest finite value
    below the current one is taken. On the near-piecewise-linear Huber objectives of
    scaling-law fits this needs far fewer iterations than a single trial per step.
    """
    dec, w, V, gv, scale = _decrement(s.g, s.H)
    full = gv / jnp.maximum(jnp.abs(w), 1e-300)          # undamped step, eigenbasis
    tiny_step = jnp.max(jnp.abs(full)) <= _XTOL * (1.0 + jnp.max(jnp.abs(s.u)))
    flat = jnp.max(jnp.abs(s.g)) <= _GTOL_REL * jnp.abs(s.f)   # e.g. a term vanishing at a bound
    # the decrease a full step predicts, without `_decrement`'s floor on the eigenvalues
    # (which understates it along near-flat directions)
    dec_exact = 0.5 * jnp.sum(gv**2 / jnp.maximum(jnp.abs(w), 1e-300))
    # fatol = 0 turns the absolute test off (a log posterior's objective can be <= 0)
    exact = (s.fatol > 0) & ((s.f <= s.fatol) | (dec_exact <= s.fatol))
    converged = s.converged | (~s.fresh & ((dec <= ftol * jnp.abs(s.f)) | (dec == 0.0)
                                           | tiny_step | flat | exact))
    mus = s.mu * _TRIALS                                             # [J]
    steps = -(gv[None, :] / (jnp.abs(w)[None, :] + mus[:, None] * scale + 1e-300)) @ V.T
    trial_f = jax.vmap(lambda d: objective(s.u + d, *data))(steps)
    trial_f = jnp.where(jnp.isfinite(trial_f), trial_f, jnp.inf)
    j = jnp.argmin(trial_f)
    ok = trial_f[j] < s.f
    # a fresh member evaluates its start instead (no step; not counted)
    u_new = jnp.where(s.fresh, s.u, s.u + steps[j])
    f, g, H = fgh(objective, u_new, *data)
    ok = ok & jnp.isfinite(f) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(H))
    mu = jnp.where(ok, jnp.maximum(mus[j] * _SHRINK, _MU_MIN), s.mu * _GROW)
    stalled = s.stalled | (~ok & (mu > _MU_MAX))
    keep = converged | s.stalled
    take = ok & ~keep
    # a start whose objective or gradient is not finite stops (status "nonfinite")
    bad = ~jnp.isfinite(f) | ~jnp.all(jnp.isfinite(g))
    new = NewtonState(
        u=jnp.where(take, u_new, s.u), f=jnp.where(take, f, s.f),
        g=jnp.where(take, g, s.g), H=jnp.where(take, H, s.H),
        mu=jnp.where(keep, s.mu, mu), steps=s.steps + jnp.where(keep, 0, 1),
        converged=converged, stalled=jnp.where(converged, False, stalled), fatol=s.fatol,
        fresh=jnp.asarray(False))
    start = NewtonState(u=s.u, f=jnp.where(bad, jnp.inf, f), g=g, H=H, mu=s.mu, steps=s.steps,
                        converged=s.converged, stalled=s.stalled | bad, fatol=s.fatol,
                        fresh=jnp.asarray(False))
    return jax.tree.map(lambda a, b: jnp.where(s.fresh, a, b), start, new)
