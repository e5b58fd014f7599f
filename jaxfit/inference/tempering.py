"""A power on the Huber likelihood, set per task so the posterior's spread is the sandwich's.

The Huber density (`jaxfit.inference.bayes.Huber`) is the likelihood whose maximum is the
point fit's Huber estimate, but it is not the noise's density: with ``delta`` far below the
residuals it is a Laplace density, and on Gaussian noise its posterior is about
``sqrt(pi / 2) ~ 1.25`` times too narrow (curvature ``2 f(0) / sigma`` per point against a
median-type estimate's variance ``1 / (4 f(0)^2)``; measured: 90% intervals covered the
truth in 79-90 of 100 synthetic tasks, benchmarks/README.md). A *generalised* (Gibbs)
posterior raises the likelihood to a power ``eta`` (Bissiri, Holmes & Walker 2016, "A
general framework for updating belief distributions", JRSS-B), which keeps the mode (the
point fit) and scales the curvature by ``eta``; Holmes & Walker (2017, "Assigning a value
to a power likelihood in a general Bayesian model", Biometrika 104) and Lyddon, Holmes &
Walker (2019, "General Bayesian updating and the loss-likelihood bootstrap", Biometrika
106) choose ``eta`` so the posterior's information matches the loss's robust (sandwich)
covariance ``H^-1 J H^-1`` (``H``: Hessian, ``J``: the gradients' spread).

Here, per task, at the posterior's mode (the point fit and the Huber scale ``sigma``)::

    eta = k / tr(V P),   V = H^-1 B H^-1 (the sandwich, `jaxfit.inference.stderr.pieces`),

with ``P`` the precision that the untempered likelihood gives the method: ``H / (delta
sigma)`` for NUTS and SVI (the Huber log-likelihood is ``-rho / (delta sigma)``, so its
Hessian is the objective's, kernel-smoothed as in the sandwich), ``F / sigma^2`` for the
Laplace draws, whose curvature is the Fisher information (`bayes.curvature_model`). So
``tr(V (eta P)) = k``: the tempered posterior's precision times the sandwich covariance
averages to the identity over the ``k`` parameter directions. Unlike Lyddon et al.'s
``tr(H J^-1 H) / tr(H)``, this ratio does not depend on the parameters' units (E against
A = 400-1,100 here: a trace of H is dominated by one parameter), and in one dimension both
are ``H / J``. For the Huber likelihood on Gaussian noise it is ``2 / pi`` (0.64); on
Laplace noise, where the Huber density is right, about 1.

``V`` is the sandwich *without* `stderr.covariance`'s small-sample factor ``n / (n - k)``:
the posterior integrates over ``sigma``, and that widens it. The power tempers the
parameters' information only; sigma keeps every point's (`with_scale_term`: the factor
``(1 - eta) sum_i w_i log p(r_hat_i | sigma)`` at the fit's residuals; NUTS on independent
tasks only, see there why). Integrating the ``k`` parameters out of the tempered
likelihood ``b^(-eta n) exp(-eta S / b)`` times that factor ``b^(-(1 - eta) n) exp(-(1 -
eta) S_hat / b)`` (``S`` the summed absolute residuals, a Laplace-type density of scale
``b``; the curvature in the parameters is proportional to ``1 / b``) leaves ``b^(-n + k /
2) exp(-S_hat / b)``: its mode ``S_hat / (n - k / 2)`` is ``n / (n - k / 2)`` times the
fitted scale's, half the Normal likelihood's ``SSR / (n - k)`` correction, with ``n - k /
2`` points' worth of spread. Measured with NUTS (`with_scale_term`), the intervals covered
the truth as often as with sigma tempered too (whose marginal ``b^(-eta n + k / 2)``, about
2 points at 9 points and ``eta`` ~ 0.4, had a tail that failed ``sigma_spread`` in 25 of
100 tasks). With the factor ``n / (n - k)`` as well, the 90% intervals covered 92-96 of 100
synthetic tasks (benchmarks/README.md, with sigma tempered). ``eta`` is clipped to ``[ETA_MIN, 1]`` (the power only widens), and is 1
where the sandwich is undefined (a Hessian that is not positive definite, no residual
degrees of freedom).

What the power calibrates is the *likelihood's* share of the posterior: measured at an
extrapolation target (``benchmarks/coverage_diagnosis.py``; benchmarks/README.md, "Where the
over-coverage comes from"), the posterior's 90% half-width is the point fit's sandwich sd to
within a few percent, and that sd calibrates the fit's own error (sd of the z scores
0.84-1.07); eta's median is 0.65-0.68 against the exact 2 / pi = 0.64 for Gaussian noise. The
priors then move the posterior's centre: on the issue's synthetic tasks, whose exponents lie
in the core of the exponent prior (log sd 0.17 against its 0.5), the posterior median's error
is ~30% below the fit's while the interval is only ~9% narrower, so the intervals cover ~93%
instead of 90; with the priors reweighted away they cover 86-92%, and with the true exponents
drawn from the prior itself 87% (above nominal in the prior's core, below in its upper tail).
That is the Bayesian prior at work on a population narrower than the prior, not a bias of
``eta``, so the power is not adjusted for it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxfit.inference import cache, stderr
from jaxfit.inference.bayes import SCALE_LOCATION, SCALE_WEIGHT, huber_scale
from jaxfit.inference.objective import safe_inputs
from jaxfit.law import Law

__all__ = ["ETA_MIN", "TEMPER_OPTIONS", "check_temper", "huber_scale", "learning_rate", "powers",
           "with_scale_term"]

#: Smallest power: at most ~4.5x wider than the untempered posterior.
ETA_MIN = 0.05

#: Named choices of `jaxfit.sample`'s ``temper`` (a number fixes the power instead).
TEMPER_OPTIONS = ("sandwich", "none")


def learning_rate(law: Law, values, x, y, w, delta: float, space: str = "log",
                  precision: str = "hessian", sigma=None):
    """The power ``eta`` [T] of each task's Huber likelihood (module docstring).

    Traceable JAX, batched over tasks (no host loop), and outside a trace one compiled
    program per law, options and shapes (`jaxfit.inference.cache`): run op by op it
    compiled ~20 small programs at every new shape (~1.9 s for 6 Chinchilla tasks).

    Args:
        law: the law.
        values: [T, k] constrained parameters at the mode (the point fit).
        x, y, w: the padded batch (input name -> [T, P], targets, weights; 0 = padding).
        delta: the Huber threshold.
        space: residual space.
        precision: "hessian" (NUTS, SVI) or "fisher" (Laplace draws).
        sigma: [T] the Huber density's scale (default: its maximum-likelihood value at
            ``values``, `huber_scale`).

    Returns:
        [T] powers in ``[ETA_MIN, 1]``; 1 where the sandwich is undefined.
    """
    if precision not in ("hessian", "fisher"):
        raise ValueError(f"precision must be 'hessian' or 'fisher', got {precision!r}.")
    return _learning_rate(law, float(delta), space, precision, values, x, y, w, sigma)


@cache.jit(static_argnums=(0, 1, 2, 3))
def _learning_rate(law, delta, space, precision, values, x, y, w, sigma):
    H, B, F, r = stderr.pieces(law, values, x, y, w, "huber", delta, space)
    if sigma is None:
        sigma = huber_scale(r, w, delta)
    k = values.shape[-1]
    n = jnp.sum(w > 0, axis=-1).astype(values.dtype)
    dof = n - k     # B is used without n / (n - k): sampling sigma widens it
    # tr(V P) does not change under a rescaling of the parameters; rescale them to a unit
    # Hessian diagonal (Jacobi), since in the law's units H spans ~20 orders of magnitude
    Hi, s, pd = stderr.jacobi_inverse(H, 1e-10)
    Bs, F = B * s, F * s
    if precision == "hessian":
        tr = jnp.einsum("tij,tji->t", Hi, Bs) / (delta * sigma)
    else:
        V = jnp.einsum("tij,tjk,tlk->til", Hi, Bs, Hi)
        tr = jnp.einsum("tij,tji->t", V, F) / jnp.square(sigma)
    eta = k / tr
    good = pd & (dof > 0) & jnp.isfinite(eta) & (eta > 0)
    return jnp.where(good, jnp.clip(eta, ETA_MIN, 1.0), 1.0)


def check_temper(temper) -> None:
    """Validate ``temper`` (raises ValueError naming the option)."""
    if isinstance(temper, str):
        if temper not in TEMPER_OPTIONS:
            raise ValueError(f"temper must be one of {TEMPER_OPTIONS} or a number in (0, 1], "
                             f"got {temper!r}.")
        return
    if temper is None:
        return
    try:
        t = float(temper)
    except (TypeError, ValueError):
        raise ValueError(f"temper must be one of {TEMPER_OPTIONS} or a number in (0, 1], got "
                         f"{temper!r}.") from None
    if not 0.0 < t <= 1.0:
        raise ValueError(f"temper must be in (0, 1] (a power on the likelihood), got {temper}; "
                         "use temper='none' for the untempered likelihood.")


def powers(temper, law: Law, values, x, y, w, likelihood, method: str = "nuts"):
    """Per-task powers [T] for `jaxfit.sample`'s ``temper`` option.

    ``"sandwich"`` (default): `learning_rate` for the Huber likelihood (Laplace draws:
    ``precision="fisher"``), 1 for the other likelihoods (their curvature is already their
    noise model's); ``"none"`` or None: 1; a number: that power for every task.
    """
    T = y.shape[0]
    if temper is None or (isinstance(temper, str) and temper == "none"):
        return jnp.ones((T,), y.dtype)
    if not isinstance(temper, str):
        return jnp.full((T,), float(temper), y.dtype)
    if likelihood.kind != "huber":
        return jnp.ones((T,), y.dtype)
    return learning_rate(law, jnp.asarray(values, dtype=y.dtype), x, y, w, likelihood.delta,
                         likelihood.space,
                         precision="fisher" if method == "laplace" else "hessian")


def with_scale_term(law: Law, values, x, y, w, eta, likelihood) -> dict:
    """``x`` with the entries of the noise scale's term (`bayes.BayesModel.scale_term`).

    The power ``eta`` tempers the parameters' information, not the noise scale's: the
    posterior gains ``(1 - eta) sum_i w_i log p(o_i | mu_hat_i, sigma)`` at the point fit's
    locations ``mu_hat``, so at the fit sigma sees every point's full weight. Integrating
    the parameters out then leaves sigma about ``n - k / 2`` points (Laplace-type
    residuals; ``eta n - k / 2`` when sigma was tempered too: at 9 points and ``eta`` ~ 0.4,
    about 2).
    Measured with NUTS on 100 power-law tasks per size (`benchmarks/tempering_coverage.py`):
    90% coverage at a 10x extrapolation 0.87 / 0.88 / 0.86 at 9 / 20 / 40 points (0.87 /
    0.89 / 0.85 with sigma tempered), the intervals 21% / 5% narrower / 2% wider, and no task
    failing ``sigma_spread`` (25 / 0 / 0 before).

    `jaxfit.sample` adds it for NUTS only. Laplace's (and SVI's) Gaussian draws do not
    carry sigma's spread into the parameters; their width is the curvature at the mode,
    ``eta / sigma_mode``, where the tempered sigma's larger mode was the only small-sample
    widening. With the term, Laplace's 90% intervals narrowed 45% at 9 points and covered
    0.75 / 0.79 / 0.74 instead of 0.84 / 0.81 / 0.75 (the same tasks), so it is not used
    there; nor for SVI, whose intervals it narrowed too (0.82 / 0.83 / 0.83 covered
    without it, 0.80 / 0.82 / 0.81 with it; benchmarks/README.md, session 23). Nor in the
    plated model (``pool=``, shared parameters): its
    shared or pooled parameters fit each task worse than the task's own fit, whose
    residuals the term would hold sigma to.

    Args:
        law: the law (the sampler's, as `powers`).
        values: [T, k] constrained parameters of the point fit.
        x, y, w: the padded batch, ``w`` the untempered weights.
        eta: [T] the powers.
        likelihood: the `bayes.Likelihood`.

    Returns:
        A new dict: ``x``'s entries and `SCALE_LOCATION` (the fit's location [T, P]) and
        `SCALE_WEIGHT` (``(1 - eta) w`` [T, P]).
    """
    loc, ws = _scale_entries(law, likelihood, jnp.asarray(values, dtype=y.dtype), x, y, w, eta)
    return {**x, SCALE_LOCATION: loc, SCALE_WEIGHT: ws}


@cache.jit(static_argnums=(0, 1))
def _scale_entries(law, likelihood, values, x, y, w, eta):
    xs, _ = safe_inputs(x, y, w)        # the law never evaluated at zero-weight points
    params = {n: values[:, j] for j, n in enumerate(law.param_names)}
    loc = jax.vmap(lambda p, xx: likelihood.location(law, p, xx))(params, xs)
    return loc, (1.0 - eta)[:, None] * jnp.where(w > 0, w, 0.0)
