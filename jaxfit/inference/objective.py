"""Objectives: elementwise losses on residuals in log or linear space, masked and weighted.

The defaults follow Hoffmann et al. (2022, Approach 3) as replicated by Besiroglu et al.
(2024): Huber loss with delta = 1e-3 on log residuals, *summed* over points (a mean makes
L-BFGS stop early, Besiroglu et al. 2024, section 5.2 of the digest).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxfit.law import Law

__all__ = ["huber_loss", "squared_loss", "absolute_loss", "LOSSES", "SPACES", "EXACT_RTOL",
           "unpack", "safe_inputs", "residuals", "data_scale", "make_objective"]

#: A fit is *exact* when its residuals are this small relative to the data's scale
#: (`data_scale`): half of float64's 16 digits, far above a residual's rounding error (~1e-16).
#: The solvers stop there (``objective.floor``): below it the relative tests cannot hold,
#: as the objective itself tends to 0 (issue 16: 46% of noise-free fits used to end
#: ``stalled`` or ``max_steps``, most at objectives < 1e-12).
EXACT_RTOL = 1e-8


def huber_loss(r, delta: float = 1e-3):
    """0.5 r^2 for |r| <= delta, delta (|r| - delta/2) beyond (``optax.losses.huber_loss``)."""
    import optax  # on first trace: a command whose programs are stored never needs it

    return optax.losses.huber_loss(r, delta=delta)


def squared_loss(r, delta: float | None = None):
    """r^2 (least squares, as ``scipy.optimize.curve_fit``); ``delta`` is ignored."""
    return jnp.square(r)


def absolute_loss(r, delta: float | None = None):
    """|r|; ``delta`` is ignored."""
    return jnp.abs(r)


LOSSES: dict[str, Callable] = {"huber": huber_loss, "squared": squared_loss,
                               "absolute": absolute_loss}
SPACES = ("log", "linear")


def unpack(law: Law, u) -> dict:
    """Map an unconstrained vector ``u`` (last axis = parameters) to constrained params."""
    return {name: law.params[name].transform(u[..., i])
            for i, name in enumerate(law.param_names)}


def safe_inputs(x, y, w):
    """Inputs and targets with every zero-weight point replaced by a positive-weight one.

    The first half of the "double where" pattern: a masked sum
    ``sum(where(w > 0, w * loss(law(x)), 0))`` drops a NaN or inf of the law at a
    zero-weight point from its value, but not from its derivatives (the chain rule
    multiplies the masked-out cotangent 0 by the law's non-finite derivative there). So
    the law is never evaluated at such points: they are replaced by the task's first point
    of positive weight (whose term the mask then drops). Padding (`jaxfit.data.Batch`) and
    the user's zero-weight rows and a bootstrap's undrawn points are all covered.

    Args:
        x: input name -> [..., P] arrays; y, w: [..., P] targets and weights (the last
            axis holds one task's points).

    Returns:
        ``(x, y)`` of the same shapes; unchanged wherever ``w > 0``.
    """
    real = w > 0
    first = jnp.argmax(real, axis=-1, keepdims=True)

    def pick(a):
        a = jnp.broadcast_to(a, w.shape)
        return jnp.where(real, a, jnp.take_along_axis(a, first, axis=-1))

    return jax.tree.map(pick, x), pick(y)


def residuals(law: Law, params, x, y, space: str):
    """Residuals ``prediction - y`` in ``space`` ("log": log prediction - log y)."""
    if space == "log":
        return law.log(params, x) - jnp.log(y)
    return law(params, x) - y


def data_scale(y, w, space: str):
    """The scale residuals are measured against: 1 in log space (a residual is a relative
    error), the weighted RMS of ``y`` in linear space."""
    if space == "log":
        return jnp.ones((), y.dtype)
    return jnp.sqrt(jnp.sum(jnp.where(w > 0, w * y * y, 0.0)) / jnp.sum(w))


@functools.lru_cache(maxsize=256)
def make_objective(law: Law, loss: str = "huber", delta: float = 1e-3, space: str = "log",
                   reduction: str = "sum") -> Callable:
    """Build ``objective(u, x, y, w) -> scalar`` for one task.

    Cached: the same arguments return the same function, so repeated fits of one law
    (it is a static jit argument of the solver) reuse the compiled program.

    Args:
        law: the law to fit.
        loss: "huber" (default), "squared" or "absolute".
        delta: Huber threshold (default 1e-3, Hoffmann et al. 2022).
        space: "log" (default) or "linear" residuals.
        reduction: "sum" (default; Besiroglu et al. 2024) or "mean" (weighted mean).

    Returns:
        A pure function of the unconstrained parameters ``u`` [k], the inputs ``x`` (dict of
        [P] arrays), targets ``y`` [P] and weights ``w`` [P] (0 on padding), and an
        optional ``scale`` of the Huber ``delta`` (a solver's continuation stages; 1 is
        the objective asked for; other losses ignore it). The law is evaluated only at
        points of positive weight (`safe_inputs`), so the objective, its gradient and
        Hessian do not depend on what zero-weight points hold.

        The function carries ``objective.additive`` (True for ``reduction="sum"``: a sum
        over points, which the solver may evaluate block by block, see
        `jaxfit.inference.optimize.SolverOptions.point_block`) and
        ``objective.floor(y, w)``: its value when every residual is
        `EXACT_RTOL` times `data_scale`. A fit at or below it is exact, and the solvers
        report it converged (their relative tolerances cannot hold as the objective
        tends to 0).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not one of {sorted(LOSSES)}.")
    if space not in SPACES:
        raise ValueError(f"space={space!r} is not one of {SPACES}.")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction={reduction!r} is not 'sum' or 'mean'.")
    elementwise = LOSSES[loss]

    def objective(u, x, y, w, scale=1.0):
        x, y = safe_inputs(x, y, w)          # zero-weight points: no NaN in any derivative
        r = residuals(law, unpack(law, u), x, y, space)
        total = jnp.sum(jnp.where(w > 0, w * elementwise(r, delta * scale), 0.0))
        if reduction == "mean":
            total = total / jnp.sum(w)
        return total

    def floor(y, w):
        r = EXACT_RTOL * data_scale(y, w, space)
        total = jnp.sum(jnp.where(w > 0, w * elementwise(r, delta), 0.0))
        return total / jnp.sum(w) if reduction == "mean" else total

    def cache_token():
        # stable across processes only for laws that carry one (the command line's
        # registered laws, `jaxfit.inference.cache`); None: traced in every process
        law_token = getattr(law, "cache_token", None)
        return None if law_token is None else ("objective", law_token, loss, float(delta),
                                               space, reduction)

    objective.floor = floor
    objective.cache_token = cache_token
    # a sum over points: blocks of points can be evaluated apart and added (optimize)
    objective.additive = reduction == "sum"
    return objective
