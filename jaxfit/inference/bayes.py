"""Bayesian fits of a Law with NumPyro: the model, its MAP, and NUTS / SVI / Laplace runs.

The model for one task (points ``i``, weights ``w_i``, 0 on padding):

.. math::

    u \\sim p(u), \\qquad \\sigma \\sim p(\\sigma), \\qquad
    o_i \\mid u, \\sigma \\sim \\mathcal{D}\\big(g(f_\\theta(x_i)), \\sigma\\big)^{w_i}

with ``theta = T(u)`` the constrained parameters (``T = biject_to(Param.constraint)``,
the same bijection the optimizer uses), ``o_i`` the observation in the residual space of
the point fit (``log y`` with ``g = log`` for ``space="log"``, ``y`` for ``space="linear"``)
and ``D`` the likelihood (`make_likelihood`): by default the Huber density with a learnt
scale (`Huber`: ``exp(-rho_delta(r) / (delta sigma)) / Z(sigma, delta)``, whose maximum
in the law's parameters is the point fit's Huber estimate for every ``sigma``, so that
`jaxfit.fit` and `jaxfit.sample` describe one statistical model); Normal or Student-t
with scale ``sigma`` on the residuals; or for accuracies in linear space a
bounded-outcome Beta or a normal truncated to [0, 1]. Point weights raise each likelihood term to the power ``w_i``
(integer weights = repeated points, as in the bootstrap and the point fit).

**Tempering.** The Huber density is the fit's objective, not the noise's density: with
``delta`` far below the residuals it is a Laplace density, whose posterior on Gaussian
noise is ~1.25x too narrow (90% intervals covered 79-90 of 100 synthetic tasks).
`jaxfit.sample` therefore raises each task's likelihood to a power ``eta`` in (0, 1] by
default, set from the Huber fit's sandwich covariance (`jaxfit.inference.tempering`;
Holmes & Walker 2017's generalised-Bayes "power likelihood"): ``eta w_i`` replaces the
weights in every sampler here, so the mode stays the fit and the posterior's spread is
the robust covariance's. With NUTS on independent tasks (not `plated_model`) the power
tempers the parameters' information only: the noise scale keeps every point's, through
the factor ``(1 - eta) sum_i w_i log p(r_hat_i | sigma)`` at the point fit's residuals
``r_hat_i`` (`BayesModel.scale_term`; its inputs travel with the batch's inputs under
`SCALE_LOCATION` and `SCALE_WEIGHT`). Tempering sigma as well left it about ``eta n``
points: at 9 points its posterior was heavy-tailed enough to fail ``sigma_spread`` in 25
of 100 power-law tasks (benchmarks/README.md; `jaxfit.inference.tempering.with_scale_term`
says why Laplace, SVI and the plated model keep tempering it).

**Priors.** Each parameter's default prior is weakly informative on the unconstrained
value: ``u_j ~ Normal(centre of the Param's init box, max(half its width, 1))`` in the
unconstrained coordinates (so the init range holds about +-1 sd: for Chinchilla
``log E ~ N(0, 1)``). A law that declares its power-law terms (``Law.terms``, e.g.
Chinchilla's ``A/N^alpha`` and ``B/D^beta``) gets data-scaled priors on them instead:
the exponent ``~ LogNormal(log 0.3, 0.5)`` (`TERM_EXPONENT_PRIOR`: the range of published
exponents) and the term's level at the task's data centre relative to the target there,
``log(A c_N^-alpha / c_y) ~ Normal(-2, 1.5)`` (`TERM_LEVEL_PRIOR`, `data_centre`), so an
unidentified term is bounded in the units of the data rather than by ``log A ~ N(12.5,
12.5)``. ``Param.prior`` or the ``priors=`` argument replace a default by any numpyro
distribution over the *constrained* value (the log-Jacobian of ``T`` is added). The noise
scale's default prior is ``sigma ~ HalfNormal(1)`` (override with ``priors={"sigma": ...}``).

**Geometry.** Two things made NUTS fail on realistic Chinchilla tasks (measured in
``benchmarks/nuts_convergence.py``, see benchmarks/README.md): a term that the data's
range leaves unidentified (a wedge in ``(log B, beta)`` bounded only by the prior), and a
term that flattens into the floor (``beta -> 0`` while ``E -> 0``: a curved ridge). The
sampler's coordinates ``v`` (`BayesModel`) therefore describe a declared term by its log
exponent and its level at the data centre, and the floor (``Law.floor``) by the law's
log value at the data centre; each term's level enters as its log ratio to the floor.
The data pin the first coordinate and the ridge becomes straight; the map to the law's
unconstrained coordinates has unit Jacobian. On top of that, the sampler runs in
*whitened* coordinates ``z``: ``v = v_map + L z`` with ``L L^T`` the inverse Hessian of
the negative log posterior at its mode (the Laplace covariance; the Hessian's eigenvalues
are taken in absolute value and floored; for the Huber likelihood the Hessian of its
Fisher information, `curvature_model`). ``v_map`` is found by
`jaxfit.inference.optimize.minimize` (damped Newton) started from the best point fit.
In ``z`` the posterior is close to a standard normal for every task, so NUTS needs few
leapfrog steps and every task of a vmapped batch needs about the same number
(``benchmarks/sample_batch.py`` measures it). A dense mass matrix is still adapted.

**Many tasks.** Independent tasks are sampled by numpyro's NUTS kernel (functional API,
``numpyro.infer.hmc.hmc``) in one compiled call (`run_nuts`): chains are vmapped, tasks
are vmapped in groups of ``task_batch`` mapped over with ``jax.lax.map`` (a vmapped NUTS
iteration costs as much as the deepest tree among its members, so on CPU fully vmapping
100 tasks was about twice as slow as groups of 1-10), and tasks much shorter than the
longest run in a program of their own padded length (`length_classes`); a plated model
over padded, masked tasks (`plated_model`, `run_nuts_plated`)
carries hierarchical pooling of chosen parameters and ``law.shared`` parameters.
SVI (``AutoMultivariateNormal``) and numpyro's ``AutoLaplaceApproximation`` are vmapped
the same way (`run_svi`, `run_laplace`).
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.infer.util import log_density

from jaxfit.inference import cache
from jaxfit.inference.objective import safe_inputs, unpack
from jaxfit.inference.optimize import SolverOptions, minimize
from jaxfit.inference.starts import init_box, user_starts
from jaxfit.law import NOISE, TERM_KINDS, Law, PriorDescription, prior_problem

__all__ = ["Likelihood", "make_likelihood", "Huber", "huber_rho", "huber_log_normalizer",
           "huber_scale", "BayesModel", "make_model", "default_prior",
           "SCALE_LOCATION", "SCALE_WEIGHT",
           "NOISE", "DEFAULT_NOISE_PRIOR", "DEFAULT_TAU_PRIOR", "TERM_EXPONENT_PRIOR",
           "default_exponents",
           "TERM_EXPONENT_RANGE", "COMPUTE_EXPONENT_PRIOR", "TERM_EXPONENT_PRIORS",
           "exponent_range",
           "TERM_LEVEL_PRIOR", "data_centre", "LIKELIHOODS", "find_map",
           "whitening", "run_nuts", "run_svi", "run_laplace", "run_nuts_plated",
           "plated_model", "PlateLayout", "plate_layout", "conditional_whitening",
           "NutsOptions", "NutsTrace", "continue_nuts", "noise_start", "laplace_start", "curvature_model",
           "start_values", "data_references", "LOW_EXPONENT", "DEGENERATE_EXPONENT",
           "DEGENERATE_EXPONENTS",
           "fisher_curvature", "fisher_whitening", "laplace_whitening", "CURVATURE_MIN"]

# NOISE ("sigma", from `jaxfit.law`): the fitted noise scale's name; no law parameter may
# take it.
#: Default prior of the noise scale (on the constrained value, sigma > 0).
DEFAULT_NOISE_PRIOR = dist.HalfNormal(1.0)
#: Default prior of a pooled parameter's population scale tau (unconstrained units);
#: override per parameter with ``priors={"alpha_tau": ...}``.
DEFAULT_TAU_PRIOR = dist.HalfNormal(1.0)
#: Default prior of a declared power-law term's exponent (`jaxfit.law.PowerTerm`), over
#: the constrained value: LogNormal with median 0.3 and 95% range [0.11, 0.80]. The
#: exponents fitted with an irreducible term lie there: Hoffmann et al. (2022, Approach
#: 3) alpha = 0.34, beta = 0.28; Besiroglu et al. (2024) 0.35, 0.37; Muennighoff et al.
#: (2023) 0.35, 0.35; Bhagia et al. (2024) 0.2-0.6. Checked on real data
#: (benchmarks/exponent_prior.py): the 48 exponents of the 24 clean Chinchilla fits of the
#: embedded datasets have log-median 0.29 and log-sd 0.48, 1 outside the 95% range; fits
#: that leave the exponent to the prior (E at its bound, too few levels of an input) spread
#: to 0.02-2.2. It keeps a term from fading into the floor (exponent -> 0), the ridge along
#: which NUTS did not mix (benchmarks/README.md).
_EXP_LOC, _EXP_SCALE = float(np.log(0.3)), 0.5
TERM_EXPONENT_PRIOR = dist.LogNormal(_EXP_LOC, _EXP_SCALE)
#: (`TERM_EXPONENT_RANGE`, defined below: the central 95% range of `TERM_EXPONENT_PRIOR`,
#: [0.113, 0.799].) A point fit whose
#: exponent lies outside its prior's 95% range gets a `jaxfit.warnings.PriorWarning` from
#: `jaxfit.sample`: power laws in *compute* have exponents about half those of the N and D
#: terms (the OLMo ladder's validation losses: 0.047-0.175, 5 of 8 below this range), and
#: there this prior's NUTS posterior median missed 7B/13B held-out losses by 2.3% against
#: the point fit's 1.1% (benchmarks/compute_exponent_prior.py), hence
#: `COMPUTE_EXPONENT_PRIOR` for terms in compute.
#: Default prior of the exponent of a declared term in training *compute*
#: (``PowerTerm.kind == "compute"``; `jaxfit.models.power_law` in ``"C"``): LogNormal with
#: median 0.15 and 95% range [0.056, 0.40]. On a compute-optimal frontier of ``E + A/N^a +
#: B/D^b`` the loss falls with compute as ``C^(-a b / (a + b))``: 0.154 for Hoffmann et
#: al.'s (2022) a = 0.34, b = 0.28, 0.15 at `TERM_EXPONENT_PRIOR`'s median a = b = 0.3
#: (0.142 is the median of ``a b / (a + b)`` over that prior's draws); the same log-sd
#: 0.5. Chosen from that derivation in session 20, before these checks: Kaplan et al.'s
#: (2020) alpha_C = 0.050 (no floor), the OLMo ladder's validation domains 0.047-0.175 (7
#: of 8 inside the range), Epoch's Chinchilla frontier 0.176. Backtests on held-out
#: models (benchmarks/compute_exponent_prior.py), NUTS posterior median's median error
#: with it against `TERM_EXPONENT_PRIOR` (the point fit): OLMo validation losses -> 7B/13B
#: 0.67% vs 2.30% (1.08%); OLMo task losses 1.98% vs 4.75% (3.81%); Chinchilla frontier
#: 0.24% vs 0.36% (0.33%). Since session 22's sigma-only term (`BayesModel.scale_term`):
#: 0.69% vs 1.88%, 1.93% vs 4.60%, 0.26% vs 0.37% (~0.2 points of these are the sampler's
#: noise: benchmarks/README.md, "Session 22").
COMPUTE_EXPONENT_PRIOR = dist.LogNormal(float(np.log(0.15)), _EXP_SCALE)
#: A declared term's default exponent prior by its kind (`jaxfit.law.PowerTerm.kind`).
TERM_EXPONENT_PRIORS = {"size": TERM_EXPONENT_PRIOR, "compute": COMPUTE_EXPONENT_PRIOR}
if set(TERM_EXPONENT_PRIORS) != set(TERM_KINDS):     # one prior per kind that Law accepts
    raise ImportError(f"bayes.TERM_EXPONENT_PRIORS {sorted(TERM_EXPONENT_PRIORS)} does not "
                      f"match jaxfit.law.TERM_KINDS {TERM_KINDS}")


def exponent_range(prior, p: float = 0.95) -> tuple[float, float]:
    """The central ``p`` range of a LogNormal exponent prior (`TERM_EXPONENT_RANGE` for
    `TERM_EXPONENT_PRIOR`; [0.056, 0.400] for `COMPUTE_EXPONENT_PRIOR`). Host arithmetic
    (no JAX op: `jaxfit.sample` calls it per fit)."""
    z = statistics.NormalDist().inv_cdf(0.5 + p / 2)
    loc, scale = float(prior.loc), float(prior.scale)
    return float(np.exp(loc - z * scale)), float(np.exp(loc + z * scale))


TERM_EXPONENT_RANGE = exponent_range(TERM_EXPONENT_PRIOR)


#: Default prior of a declared term's log level at the data's centre, relative to the
#: target there: ``log(scale * c_x^-exponent / c_y) ~ Normal(-2, 1.5)`` with ``c_x``,
#: ``c_y`` the weighted geometric means of the term's input and of the target over the
#: task's points (`data_centre`); so a term is 0.7%-270% of the target at the data's centre
#: (95%) whatever the units, and an unidentified term cannot wander to e^-50. The 48 terms
#: of the clean real fits (benchmarks/exponent_prior.py) lie at -1.60 +- 0.48 (-2.84 to
#: -0.71).
TERM_LEVEL_PRIOR = dist.Normal(-2.0, 1.5)
LIKELIHOODS = ("huber", "normal", "studentt", "beta", "truncnormal")

#: Reserved entries of a batch's inputs dict that carry the noise scale's term of a
#: tempered likelihood (`BayesModel.scale_term`; a law reads only its own inputs,
#: `Likelihood.location`): the point fit's location [T, P] and each point's weight in the
#: term [T, P] (`jaxfit.inference.tempering.with_scale_term`).
SCALE_LOCATION = "jaxfit:fit_location"
SCALE_WEIGHT = "jaxfit:scale_weight"
_EPS = 1e-9
#: Smallest ratio of the curvature's smallest to largest-magnitude eigenvalue at the mode
#: for which a Laplace approximation uses the observed curvature (and a posterior's
#: ``curvature_ratio`` diagnostic passes).
CURVATURE_MIN = 1e-10
_LOG_RANGE = 700.0      # |log| of the largest / smallest scale a start keeps (float64: 709)


# ----------------------------------------------------------------------------- likelihood

def huber_rho(r, delta):
    """Huber's loss ``rho_delta(r)``: ``r^2 / 2`` for ``|r| <= delta``, else
    ``delta (|r| - delta / 2)`` (the point fit's objective per point)."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_log_normalizer(sigma, delta):
    """``log Z`` of the density ``exp(-rho_delta(r) / (delta sigma)) / Z`` (`Huber`).

    With ``s = delta sigma``: a Gaussian core ``int_{-delta}^{delta} exp(-r^2 / 2s) dr =
    sqrt(2 pi s) erf(delta / sqrt(2 s))`` plus two exponential tails
    ``2 int_delta^inf exp(-(r - delta/2) / sigma) dr = 2 sigma exp(-delta / (2 sigma))``.
    """
    from jax.scipy.special import erf

    s = delta * sigma
    core = 0.5 * jnp.log(2 * jnp.pi * s) + jnp.log(erf(jnp.sqrt(0.5 * delta / sigma)))
    tail = jnp.log(2.0 * sigma) - 0.5 * delta / sigma
    return jnp.logaddexp(core, tail)


@cache.jit
def huber_scale(r, w, delta):
    """Maximum-likelihood scale [T] of the Huber density (`bayes.Huber`) given residuals
    ``r`` [T, P] and weights ``w`` (0 = padding): the root of ``d/d log sigma`` of
    ``sum_i w_i (rho(r_i) / (delta sigma) + log Z(sigma, delta))``, by bisection in
    ``log sigma`` over [1e-12, 1e3] (the derivative is negative below the root, positive
    above)."""
    w = jnp.where(w > 0, w, 0.0)
    total = jnp.sum(w * huber_rho(jnp.where(w > 0, r, 0.0), delta), axis=-1)
    n = jnp.sum(w, axis=-1)
    dlogz = jax.vmap(jax.grad(lambda ls: huber_log_normalizer(jnp.exp(ls), delta)))

    def step(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        up = -total * jnp.exp(-mid) / delta + n * dlogz(mid) > 0
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    lo = jnp.full(total.shape, jnp.log(1e-12), dtype=r.dtype)
    hi = jnp.full(total.shape, jnp.log(1e3), dtype=r.dtype)
    lo, hi = jax.lax.fori_loop(0, 80, step, (lo, hi))
    return jnp.exp(0.5 * (lo + hi))


class Huber(dist.Distribution):
    r"""The Huber density with a learnt scale: the likelihood whose maximum in the law's
    parameters is the Huber point fit.

    .. math::

        p(o \mid \mu, \sigma) = \exp\big(-\rho_\delta(o - \mu) / (\delta \sigma)\big)
        / Z(\sigma, \delta)

    with Huber's ``rho_delta`` (`huber_rho`) on the residual and ``Z`` in closed form
    (`huber_log_normalizer`). For every ``sigma`` the log density is ``-1/(delta sigma)``
    times the point fit's Huber objective plus a constant, so the mode in the law's
    parameters is exactly `jaxfit.fit`'s Huber estimate. ``sigma`` is the scale of the
    exponential tails (for residuals much larger than ``delta`` this is a Laplace density
    of scale ``sigma``: mean ``|r|`` ~ sigma, sd ~ sqrt(2) sigma). Besiroglu et al. (2024,
    "Chinchilla Scaling: A replication attempt", ``huber_logpdf``) fit a Huber density with
    a learnt scale to the same residuals; theirs applies ``delta`` to the standardised
    residual ``r / sigma``, ours to ``r`` itself, as the point fit does. On Gaussian
    noise its posterior is too narrow; `jaxfit.sample` tempers it by default
    (`jaxfit.inference.tempering`).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc, scale, delta: float = 1e-3, validate_args=None):
        self.loc, self.scale = jnp.broadcast_arrays(jnp.asarray(loc), jnp.asarray(scale))
        self.delta = float(delta)
        super().__init__(batch_shape=jnp.shape(self.loc), validate_args=validate_args)

    def log_prob(self, value):
        r = value - self.loc
        return (-huber_rho(r, self.delta) / (self.delta * self.scale)
                - huber_log_normalizer(self.scale, self.delta))

    def sample(self, key, sample_shape=()):
        from jax.scipy.special import ndtr, ndtri

        shape = sample_shape + self.batch_shape
        k1, k2, k3, k4 = jax.random.split(key, 4)
        d, sig = self.delta, self.scale
        sd = jnp.sqrt(d * sig)
        log_core = (0.5 * jnp.log(2 * jnp.pi * d * sig)
                    + jnp.log(jax.scipy.special.erf(jnp.sqrt(0.5 * d / sig))))
        p_core = jnp.exp(log_core - huber_log_normalizer(sig, d))
        lo = ndtr(-d / sd)
        u = jax.random.uniform(k1, shape, minval=0.0, maxval=1.0)
        core = sd * ndtri(jnp.clip(lo + u * (1 - 2 * lo), 1e-300, 1 - 1e-16))
        sign = jnp.where(jax.random.bernoulli(k2, 0.5, shape), 1.0, -1.0)
        tail = sign * (d + sig * jax.random.exponential(k3, shape))
        is_core = jax.random.uniform(k4, shape) < p_core
        return self.loc + jnp.where(is_core, core, tail)

    @property
    def mean(self):
        return self.loc


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """The observation model on the point fit's residual space.

    Attributes:
        kind: "huber" (default: the density whose maximum is the point fit's Huber
            estimate, `Huber`), "normal", "studentt" (all on the residuals in
            ``space``), "beta" (mean =
            the law, precision ``1/sigma^2``, so ``sd ~ sigma sqrt(mu (1 - mu))``) or
            "truncnormal" (normal truncated to [0, 1]); the last two need
            ``space="linear"`` and targets in [0, 1] (accuracies).
        space: "log" (observations ``log y``, predictions ``law.log``) or "linear".
        nu: Student-t degrees of freedom (fixed).
        delta: Huber threshold on the residual (as `jaxfit.fit`'s ``delta``).
    """

    kind: str = "huber"
    space: str = "log"
    nu: float = 4.0
    delta: float = 1e-3

    def __post_init__(self):
        if self.kind not in LIKELIHOODS:
            raise ValueError(f"likelihood={self.kind!r} is not one of {LIKELIHOODS}.")
        if self.space not in ("log", "linear"):
            raise ValueError(f"space={self.space!r} is not 'log' or 'linear'.")
        if self.kind in ("beta", "truncnormal") and self.space != "linear":
            raise ValueError(f"likelihood={self.kind!r} models bounded outcomes in [0, 1]: "
                             "use it with space='linear'.")
        if not self.nu > 0:
            raise ValueError(f"nu must be > 0, got {self.nu}.")
        if not self.delta > 0:
            raise ValueError(f"delta must be > 0, got {self.delta}.")

    def observed(self, y):
        """The observation in the residual space (``log y`` in log space)."""
        return jnp.log(y) if self.space == "log" else y

    def location(self, law: Law, params, x):
        """The law's prediction in the residual space (``x``: the law reads its own
        inputs only; other entries, `SCALE_LOCATION` and `SCALE_WEIGHT`, are left out)."""
        x = {n: x[n] for n in law.inputs}
        return law.log(params, x) if self.space == "log" else law(params, x)

    def dist(self, loc, sigma):
        """numpyro distribution of the observation given the location and the noise scale."""
        if self.kind == "huber":
            return Huber(loc, sigma, self.delta)
        if self.kind == "normal":
            return dist.Normal(loc, sigma)
        if self.kind == "studentt":
            return dist.StudentT(self.nu, loc, sigma)
        if self.kind == "truncnormal":
            return dist.TruncatedNormal(loc, sigma, low=0.0, high=1.0)
        mu = jnp.clip(loc, _EPS, 1.0 - _EPS)
        phi = 1.0 / jnp.square(sigma)
        return dist.Beta(mu * phi, (1.0 - mu) * phi)

    def to_target(self, obs):
        """Map a draw of the observation back to the target's units."""
        return jnp.exp(obs) if self.space == "log" else obs

    def check(self, y: np.ndarray, label: str = "y"):
        """Raise a ValueError if targets fall outside the likelihood's support."""
        if self.kind == "beta":
            bad = (y <= 0) | (y >= 1)
            if bad.any():
                raise ValueError(f"likelihood='beta' needs targets strictly inside (0, 1); "
                                 f"column {label!r} has {int(bad.sum())} values outside (e.g. "
                                 f"{y[bad][0]:g}). Use likelihood='truncnormal' or clip them.")
        if self.kind == "truncnormal":
            bad = (y < 0) | (y > 1)
            if bad.any():
                raise ValueError(f"likelihood='truncnormal' needs targets in [0, 1]; column "
                                 f"{label!r} has {int(bad.sum())} values outside (e.g. "
                                 f"{y[bad][0]:g}).")


def make_likelihood(kind: str = "huber", space: str = "log", nu: float = 4.0,
                    delta: float = 1e-3) -> Likelihood:
    """Validate and build a `Likelihood` (see its docstring)."""
    return Likelihood(kind=kind, space=space, nu=float(nu), delta=float(delta))


# ---------------------------------------------------------------------------------- priors

def default_prior(law: Law, name: str) -> dist.Distribution:
    """Weakly informative default prior of ``name`` (marginal, one parameter).

    For the exponent of a declared power-law term (``law.terms``): its kind's prior over
    the constrained value (`TERM_EXPONENT_PRIORS`: `TERM_EXPONENT_PRIOR` for N and D,
    `COMPUTE_EXPONENT_PRIOR` for compute). Otherwise ``Normal(centre, max(half-width, 1))`` of the
    Param's init box in unconstrained coordinates (``jaxfit.inference.starts.init_box``).
    A term's scale gets, per task, `TERM_LEVEL_PRIOR` on its level at the data's centre
    instead (see `make_model`); this marginal is its prior where no data are at hand (the
    population mean of a pooled scale).
    """
    for t in law.terms:
        if t.exponent == name:
            return TERM_EXPONENT_PRIORS[t.kind]
    lo, hi = init_box(law)
    i = law.param_names.index(name)
    return dist.Normal(float(0.5 * (lo[i] + hi[i])), float(max(0.5 * (hi[i] - lo[i]), 1.0)))


def _constrained_term(prior, t):
    def term(u):
        theta = t(u)
        return prior.log_prob(theta) + t.log_abs_det_jacobian(u, theta)
    return term


def default_exponents(law: Law, priors: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The exponents of ``law``'s declared terms (``law.terms``) that keep the default
    `TERM_EXPONENT_PRIOR`: neither ``priors`` nor their ``Param.prior`` gives one."""
    priors = priors or {}
    return tuple(t.exponent for t in law.terms if t.exponent in law.params
                 and priors.get(t.exponent, law.params[t.exponent].prior) is None)


def _positive_exponents(law: Law, priors: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The exponents of ``law``'s declared terms whose prior lives on the positives: the
    default `TERM_EXPONENT_PRIOR`, or a prior of the user's (``priors`` or ``Param.prior``)
    whose support is ``constraints.positive`` (a LogNormal, Gamma, HalfNormal ...)."""
    priors = priors or {}
    out = []
    for t in law.terms:
        if t.exponent not in law.params:
            continue
        prior = priors.get(t.exponent, law.params[t.exponent].prior)
        if prior is None or getattr(prior, "support", None) is constraints.positive:
            out.append(t.exponent)
    return tuple(out)


def _prior_terms(law: Law, priors: Mapping[str, Any]) -> dict[str, Callable]:
    """name -> ``log p(u_j)`` of one unconstrained value (with the Jacobian when the prior
    is over the constrained value). Built eagerly, outside any trace."""
    terms = {}
    exponents = default_exponents(law, priors)
    for name in law.param_names:
        prior = priors.get(name, law.params[name].prior)
        t = law.params[name].transform
        if name in exponents:
            terms[name] = _constrained_term(default_prior(law, name), t)
        elif prior is None:
            terms[name] = default_prior(law, name).log_prob
        else:
            terms[name] = _constrained_term(prior, t)
    return terms


def _level_terms(law: Law, priors: Mapping[str, Any]) -> tuple[tuple[int, int, str], ...]:
    """(scale index, exponent index, input) of the declared terms whose scale has the
    default prior (it is replaced by `TERM_LEVEL_PRIOR` on the term's level)."""
    names = law.param_names
    return tuple((names.index(t.scale), names.index(t.exponent), t.input) for t in law.terms
                 if priors.get(t.scale, law.params[t.scale].prior) is None
                 and law.params[t.scale].constraint is constraints.positive)


def data_centre(v, w):
    """Weighted mean of ``log |v|`` over a task's points of positive weight (``v``, ``w``:
    [P]); the log of the data's geometric centre."""
    lv = jnp.log(jnp.maximum(jnp.abs(v), 1e-300))
    return jnp.sum(jnp.where(w > 0, w * lv, 0.0)) / jnp.maximum(jnp.sum(w), 1e-300)


def _log_prior_fn(law: Law, terms: Mapping[str, Callable], level_terms) -> Callable:
    """``log p(u | x, y, w)`` for the law's unconstrained vector ``u`` [k] of one task.

    The data enter only through their centres (`data_centre`), which scale the declared
    terms' level priors. ``include`` (static) restricts the sum to some coordinates; a
    term's level prior needs both its scale and its exponent included (else the scale's
    marginal `default_prior` is used).
    """
    names = law.param_names
    params = law.params

    def log_prior(u, x, y, w, include=None):
        idx = tuple(range(len(names))) if include is None else tuple(include)
        joint = [(i, j, inp) for i, j, inp in level_terms if i in idx and j in idx]
        skip = {i for i, _, _ in joint}
        lp = sum((terms[names[i]](u[i]) for i in idx if i not in skip), jnp.zeros((), u.dtype))
        if joint:
            cy = data_centre(y, w)
            for i, j, inp in joint:
                ts, tk = params[names[i]].transform, params[names[j]].transform
                scale, k = ts(u[i]), tk(u[j])
                level = jnp.log(scale) - k * data_centre(x[inp], w) - cy
                # density of log(scale) given the exponent, in u_i: d log(scale) / d u_i
                lp = lp + TERM_LEVEL_PRIOR.log_prob(level) \
                    + ts.log_abs_det_jacobian(u[i], scale) - jnp.log(scale)
        return lp

    return log_prior


def _log_noise_prior_fn(prior) -> Callable:
    """``log p(log sigma)`` including the Jacobian ``log sigma``."""
    prior = DEFAULT_NOISE_PRIOR if prior is None else prior
    return lambda ls: prior.log_prob(jnp.exp(ls)) + ls


# ----------------------------------------------------------------------------------- model

@dataclasses.dataclass(frozen=True, eq=False)
class BayesModel:
    """A law's NumPyro model for one task, plus the pieces the samplers share.

    Attributes:
        law: the law.
        likelihood: the `Likelihood`.
        priors: name -> numpyro distribution over the constrained value (overrides).
        prior_terms: name -> ``log p(u_j)`` of one unconstrained value (marginal).
        log_prior: ``log p(u | x, y, w)`` over the law's unconstrained vector [k] of one
            task (the declared terms' level priors are scaled by the task's data).
        log_noise_prior: ``log p(log sigma)``.
        level_terms: (scale index, exponent index, input) of the declared terms sampled
            by their level at the data's centre (`reference`); empty: the sampler's
            coordinates are the law's unconstrained ones.

    **Coordinates.** The sampler's coordinates ``v`` are the law's unconstrained ones
    (``u``, then ``log sigma``), except that the scale ``S`` of each term in
    ``level_terms`` is replaced by its level ``log S - k log c_x - log c_y`` at the
    task's data centre (`data_centre`; ``k`` the exponent), the direction the data
    identify, and its (positive) exponent ``k`` by the term's log slope there,
    ``log k + l`` (``-d log term / d log x`` times the term's share, in log). If the law
    declares its ``floor`` (Chinchilla's ``E``), the floor's and the terms' levels
    ``l_0 = log E - log c_y``, ``l_i`` are replaced by the law's log value at the data's
    centre relative to the target there, ``logsumexp(l_0, l_1, ...)``, in the floor's
    slot, and each term's log ratio to the floor, ``l_i - l_0``, in its scale's slot. The
    data pin the value and the slopes; a term flattening into the floor (exponent -> 0
    while E -> 0, at a fixed slope) moves along one coordinate instead of a curved ridge.
    All maps are triangular with unit diagonal, so densities are the same in ``u`` and
    ``v``.
    """

    law: Law
    likelihood: Likelihood
    priors: Mapping[str, Any]
    prior_terms: Mapping[str, Callable]
    log_prior: Callable
    log_noise_prior: Callable
    level_terms: tuple = ()
    floor: int = -1
    levels: bool = True

    def reference(self, x, y, w):
        """[n + 1] log data centres of one task: each level term's input, then the target."""
        if not self.level_terms:
            return jnp.zeros((0,), y.dtype)
        return jnp.stack([data_centre(x[inp], w) for _, _, inp in self.level_terms]
                         + [data_centre(y, w)])

    def _shift(self, v, ref, sign):
        for n, (i, j, _) in enumerate(self.level_terms):
            k = self.law.params[self.law.param_names[j]].transform(v[..., j])
            v = v.at[..., i].add(sign * (k * ref[..., n] + ref[..., -1]))
        return v

    def _slope(self, j) -> bool:
        """Whether exponent ``j`` is sampled as the log slope of its term at the centre
        (its unconstrained coordinate is ``log exponent``)."""
        return self.law.params[self.law.param_names[j]].constraint is constraints.positive

    def to_law(self, v, ref=None):
        """Sampler coordinates ``v`` [..., k or m] -> the law's unconstrained ``u``."""
        if not self.level_terms:
            return v
        if self.floor >= 0:
            scales = [i for i, _, _ in self.level_terms]
            lam, r = v[..., self.floor], jnp.stack([v[..., i] for i in scales], axis=-1)
            l0 = lam - jnp.logaddexp(0.0, jax.scipy.special.logsumexp(r, axis=-1))
            v = v.at[..., self.floor].set(l0 + ref[..., -1])
            for n, i in enumerate(scales):
                v = v.at[..., i].set(r[..., n] + l0)
        for i, j, _ in self.level_terms:           # log exponent = log slope - level
            if self._slope(j):
                v = v.at[..., j].add(-v[..., i])
        return self._shift(v, ref, 1.0)

    def from_law(self, u, ref=None):
        """The law's unconstrained ``u`` [..., k or m] -> sampler coordinates ``v``."""
        if not self.level_terms:
            return u
        v = self._shift(u, ref, -1.0)
        for i, j, _ in self.level_terms:
            if self._slope(j):
                v = v.at[..., j].add(v[..., i])
        if self.floor >= 0:
            scales = [i for i, _, _ in self.level_terms]
            l0 = v[..., self.floor] - ref[..., -1]
            levels = jnp.stack([v[..., i] for i in scales], axis=-1)
            v = v.at[..., self.floor].set(jnp.logaddexp(
                l0, jax.scipy.special.logsumexp(levels, axis=-1)))
            for n, i in enumerate(scales):
                v = v.at[..., i].set(levels[..., n] - l0)
        return v

    @property
    def dim(self) -> int:
        """Number of sampled coordinates: the law's parameters plus log sigma."""
        return len(self.law.params) + 1

    def split(self, v, ref=None):
        """Sampler coordinates ``v`` -> constrained params dict and sigma (``ref``: the
        task's `reference`, needed when ``level_terms`` is not empty)."""
        k = len(self.law.params)
        u = self.to_law(v, ref)
        return unpack(self.law, u[..., :k]), jnp.exp(v[..., k])

    def joint_log_prior(self, u, x, y, w):
        """``log p(u)`` of the law's unconstrained ``u = (params, log sigma)`` [m] of one
        task: the parameters' priors (`log_prior`) plus the noise scale's, and the noise
        scale's term of a tempered likelihood (`scale_term`; 0 where there is none)."""
        return (self.log_prior(u[:-1], x, y, w) + self.log_noise_prior(u[-1])
                + self.scale_term(u[-1], x, y))

    def scale_term(self, log_sigma, x, y):
        """The share of the untempered likelihood that only the noise scale sees.

        ``sum_i (1 - eta) w_i log p(o_i | mu_hat_i, sigma)`` with ``mu_hat`` the point fit's
        location: with the tempered likelihood (weights ``eta w_i``) it gives sigma the
        information of every point at the fit, while the parameters' curvature stays
        ``eta`` times the untempered one and the mode stays the fit. Read from ``x``'s
        `SCALE_LOCATION` and `SCALE_WEIGHT` entries (one task's [P]); 0 without them.
        """
        if SCALE_WEIGHT not in x:
            return jnp.zeros((), y.dtype)
        lik, ws = self.likelihood, x[SCALE_WEIGHT]
        # 0.5 where the weight is 0: a finite log density and gradient for every likelihood
        # (a Beta's at a location outside (0, 1) is not)
        mu = jnp.where(ws > 0, x[SCALE_LOCATION], 0.5)
        o = jnp.where(ws > 0, lik.observed(y), 0.5)
        lp = lik.dist(mu, jnp.exp(log_sigma)).log_prob(o)
        return jnp.sum(jnp.where(ws > 0, ws * lp, 0.0))

    def log_joint(self, v, x, y, w):
        """``log p(v, y)`` in the raw coordinates ``v = (u, log sigma)`` (pure JAX)."""
        u = self.to_law(v, self.reference(x, y, w))
        params, sigma = unpack(self.law, u[:-1]), jnp.exp(v[-1])
        lp0 = self.joint_log_prior(u, x, y, w)
        lik = self.likelihood
        x, y = safe_inputs(x, y, w)            # law never evaluated at zero-weight points
        loc = lik.location(self.law, params, x)
        lp = lik.dist(loc, sigma).log_prob(lik.observed(y))
        ll = jnp.sum(jnp.where(w > 0, w * lp, 0.0))
        return ll + lp0

    def model(self, x, y, w, center, chol):
        """The NumPyro model of one task in whitened coordinates.

        ``z`` (flat improper prior) maps to ``v = center + chol @ z``; the priors on ``v``
        enter through ``numpyro.factor`` (the Jacobian of an affine map is constant), the
        observations through a masked, weighted ``numpyro.sample(..., obs=...)``.

        Args:
            x: input name -> [P] arrays; y, w: [P] targets and weights (0 = padding).
            center, chol: [m] and [m, m] whitening (zeros and the identity: raw coordinates).
        """
        m = self.dim
        z = numpyro.sample("z", dist.ImproperUniform(constraints.real_vector, (), (m,)))
        v = center + chol @ z
        u = self.to_law(v, self.reference(x, y, w))
        params, sigma = unpack(self.law, u[:-1]), jnp.exp(v[-1])
        for name, value in params.items():
            numpyro.deterministic(name, value)
        numpyro.deterministic(NOISE, sigma)
        numpyro.factor("prior", self.joint_log_prior(u, x, y, w))
        lik = self.likelihood
        x, y = safe_inputs(x, y, w)            # law never evaluated at zero-weight points
        loc = lik.location(self.law, params, x)
        with numpyro.handlers.mask(mask=w > 0), \
                numpyro.handlers.scale(scale=jnp.where(w > 0, w, 1.0)):
            numpyro.sample("obs", lik.dist(loc, sigma).to_event(0), obs=lik.observed(y))

    def potential(self, z, x, y, w, center, chol):
        """Negative log density of the model at ``z`` (numpyro's ``log_density``)."""
        return -log_density(self.model, (x, y, w, center, chol), {}, {"z": z})[0]

    def objective(self, v, x, y, w):
        """Negative log posterior in raw coordinates, signature of `minimize`'s objective."""
        m = self.dim
        return self.potential(v, x, y, w, jnp.zeros(m, v.dtype), jnp.eye(m, dtype=v.dtype))


def _sampling_law(law: Law, priors: Mapping[str, Any]) -> Law:
    """``law`` with every declared term's exponent whose prior lives on the positives
    (`_positive_exponents`: the default `TERM_EXPONENT_PRIOR`, or a user's LogNormal,
    Gamma ...) sampled as ``log exponent``: its Param's constraint becomes ``positive``,
    so a LogNormal prior is a Normal in the sampler's coordinate, no trajectory meets the
    wall at 0 (a real-valued exponent under a LogNormal prior made NUTS diverge), and the
    term gets the sampler's level, slope and floor coordinates (`BayesModel`). Before
    session 21 a user's prior dropped them: on the OLMo ladder's power laws in compute,
    with ``priors={"alpha": LogNormal(log 0.15, 0.5)}``, NUTS then passed its diagnostics
    in 4 of 8 domains, and in 8 of 8 with them (benchmarks/compute_exponent_prior.py).
    Only unbounded (``real``) exponents are swapped: a bounded one keeps its bounds. The
    law's function is unchanged; ``law`` itself if nothing changes."""
    swap = [n for n in _positive_exponents(law, priors)
            if law.params[n].constraint is constraints.real]
    if not swap:
        return law
    params = dict(law.params)
    for n in swap:
        lo, hi = params[n].init
        params[n] = dataclasses.replace(params[n], constraint=constraints.positive,
                                        init=(max(lo, 0.05), max(hi, 0.1)))
    grid = None if law.grid is None else {
        k: tuple(v for v in g if k not in swap or v > 0) or (0.3,) for k, g in law.grid.items()}
    return law.replace(params=params, grid=grid)


#: A declared term's exponent above its kind's prior's 99.9% quantile (this, 1.41, for
#: `TERM_EXPONENT_PRIOR`; 0.70 for `COMPUTE_EXPONENT_PRIOR`) marks a point fit that ran
#: into the degenerate valley of its term (exponent and scale growing together, the term a
#: step at the smallest input: seen at alpha ~ 40 after ``max_steps``); `start_values`
#: restarts such a term from that prior's median.
DEGENERATE_EXPONENTS = {kind: exponent_range(prior, 0.998)[1]
                        for kind, prior in TERM_EXPONENT_PRIORS.items()}
DEGENERATE_EXPONENT = DEGENERATE_EXPONENTS["size"]


#: A declared term's exponent below this starts here: a fit whose term fades into the floor
#: (exponent -> 0) or grows (exponent <= 0, which has no coordinate under the sampler's
#: positive constraint). See `start_values`.
LOW_EXPONENT = 0.05


@cache.jit(static_argnums=0)
def data_references(bm: BayesModel, x, y, w):
    """[T, n + 1] log data centres of every task (`BayesModel.reference`)."""
    return jax.vmap(bm.reference)(x, y, w)


def start_values(bm: BayesModel, values, ref) -> jax.Array:
    """The sampler's unconstrained coordinates [T, k] of point-fit values [T, k] (the
    original law's order), every declared term with an exponent that cannot start a mode
    search restarted:

    * below `LOW_EXPONENT` (a term fading into the floor, or growing): at `LOW_EXPONENT`,
      inside its prior's support;
    * above its kind's default prior's 99.9% quantile (`DEGENERATE_EXPONENT` for a term
      in size; a term with a level coordinate that ran into the degenerate valley:
      exponent and scale growing together, the term a step at the smallest input; seen at
      alpha ~ 40 after ``max_steps``): at that prior's median (`TERM_EXPONENT_PRIORS`), so
      `find_map` climbs from a point where the priors and the data, not the valley, set
      the curvature.

    A restarted term with a level coordinate keeps its level at the data's centre,
    ``log S' = log S + (k' - k) log c_x`` (the term is as large there as the fit made
    it); one whose scale is 0 (at its bound: no level), or whose kept level would put the
    scale outside float64's range, starts at the level prior's mean.
    Every other term and task is unchanged (bit for bit). ``ref``: [T, n + 1]
    `data_references` of the tasks the sampler will see.
    """
    law = bm.law
    vals = np.array(values, dtype=np.float64, copy=True)
    ref = np.asarray(ref, dtype=np.float64)
    level = {j: (i, n) for n, (i, j, _) in enumerate(bm.level_terms)}
    for t in law.terms:
        j = law.param_names.index(t.exponent)
        if law.params[t.exponent].constraint is not constraints.positive:
            continue
        k = vals[:, j]
        hi = DEGENERATE_EXPONENTS[t.kind] if j in level else np.inf
        median = np.exp(float(TERM_EXPONENT_PRIORS[t.kind].loc))
        new = np.where(k < LOW_EXPONENT, LOW_EXPONENT, np.where(k > hi, median, k))
        if j in level:
            i, n = level[j]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                log_s = np.log(vals[:, i]) + (new - k) * ref[:, n]
            prior_mean = float(TERM_LEVEL_PRIOR.loc) + ref[:, -1] + new * ref[:, n]
            # a level that is not a float64 once exponentiated (scale 0, or a growing
            # term's level beyond e^700) starts at the level prior's mean instead
            keep = np.isfinite(log_s) & (np.abs(log_s) < _LOG_RANGE)
            vals[:, i] = np.where(new != k, np.exp(np.where(keep, log_s, prior_mean)),
                                  vals[:, i])
        vals[:, j] = new
    return jnp.asarray(user_starts(law, vals))


def _priors_key(priors: Mapping[str, Any] | None):
    return tuple(sorted((priors or {}).items(), key=lambda kv: kv[0]))


@functools.lru_cache(maxsize=64)
def _make_model(law: Law, likelihood: Likelihood, priors_key, levels: bool = True) -> BayesModel:
    priors = dict(priors_key)
    unknown = set(priors) - set(law.param_names) - {NOISE} \
        - {f"{n}_tau" for n in law.param_names}
    if unknown:
        raise ValueError(f"priors name {sorted(unknown)}, which are not parameters of law "
                         f"{law.name!r}; its parameters are {list(law.param_names)} plus "
                         f"the noise scale {NOISE!r} (and '<name>_tau' for the population "
                         "scale of a pooled parameter).")
    for name, prior in priors.items():
        if isinstance(prior, PriorDescription):
            raise ValueError(f"priors[{name!r}]: {prior_problem(None, prior)}")
        if not isinstance(prior, dist.Distribution):
            raise ValueError(f"priors[{name!r}] must be a numpyro distribution over the "
                             f"constrained value, got {type(prior).__name__}.")
    law = _sampling_law(law, priors)
    terms = _prior_terms(law, priors)
    level_terms = _level_terms(law, priors)
    if likelihood.kind == "huber":      # build (and cache) `curvature_model`'s model eagerly
        _make_model(law, dataclasses.replace(likelihood, kind="normal"), priors_key, levels)
    level_terms = tuple((i, j, inp) for i, j, inp in level_terms
                        if law.params[law.param_names[j]].constraint is constraints.positive
                        ) if levels else ()
    floor = law.param_names.index(law.floor) if (
        level_terms and law.floor is not None
        and law.params[law.floor].constraint is constraints.positive) else -1
    return BayesModel(law=law, likelihood=likelihood, priors=priors, prior_terms=terms,
                      log_prior=_log_prior_fn(law, terms, level_terms),
                      log_noise_prior=_log_noise_prior_fn(priors.get(NOISE)),
                      level_terms=level_terms, floor=floor, levels=bool(levels))


def make_model(law: Law, likelihood: Likelihood | None = None,
               priors: Mapping[str, Any] | None = None, levels: bool = True) -> BayesModel:
    """Build (cached, so compiled samplers are reused) the `BayesModel` of ``law``.

    Args:
        law: the law.
        likelihood: a `Likelihood` (default: Normal on log residuals).
        priors: name -> numpyro distribution over the constrained value; ``"sigma"`` sets
            the noise prior. Overrides ``Param.prior`` and the defaults.
        levels: sample declared terms by their level at the data's centre (`BayesModel`;
            False: in the law's own unconstrained coordinates, as the plated model does).
    """
    return _make_model(law, likelihood or Likelihood(), _priors_key(priors), bool(levels))


# ------------------------------------------------------------------------------ MAP, L

def find_map(bm: BayesModel, v0, x, y, w, max_steps: int = 200, ftol: float = 1e-12):
    """Posterior mode per task by `minimize` (damped Newton) from ``v0`` [T, m] or [T, S, m].

    Returns:
        The `Solution` (``u`` holds the modes [T, m] in raw coordinates).
    """
    v0 = v0[:, None, :] if v0.ndim == 2 else v0
    opts = SolverOptions(method="newton", max_steps=max_steps, ftol=ftol, refine=None)
    return minimize(bm.objective, v0, x, y, w, opts=opts)


def curvature_model(bm: BayesModel) -> BayesModel:
    """The model whose Hessian stands for ``bm``'s in the whitening and Laplace steps.

    The Huber density's log is piecewise quadratic-linear: its Hessian at the mode counts
    only the few points within ``delta`` of the fit (about ``n delta / sigma`` of them,
    ~5 of 50 at 1-2% noise), a noisy, often rank-deficient estimate of the curvature. Its
    expectation, the Fisher information of the location (``1 / sigma^2`` per point for
    exponential tails of scale ``sigma``), is the Normal likelihood's with standard
    deviation ``sigma``; so for ``kind="huber"`` this is the same model with a Normal
    likelihood (same priors), evaluated at the same ``(u, log sigma)``.
    """
    if bm.likelihood.kind != "huber":
        return bm
    lik = dataclasses.replace(bm.likelihood, kind="normal")
    return _make_model(bm.law, lik, _priors_key(bm.priors), bm.levels)


def fisher_curvature(bm: BayesModel, v, ref, x, y, w):
    """[m, m] expected curvature of one task's ``-log posterior`` at ``v`` (Gauss-Newton).

    The likelihood's part is the expected Fisher information of `curvature_model`'s Normal
    likelihood of scale ``sigma = exp(v[-1])``: ``sum_i w_i J_i J_i^T / sigma^2`` in the
    law's coordinates (``J_i``: gradient of point ``i``'s prediction in the residual space)
    and ``2 sum_i w_i`` for ``log sigma``, with no cross term; the priors' part is their
    exact Hessian. Unlike the observed Hessian it drops the residuals' second-order terms
    ``sum_i w_i r_i d^2 mu_i / sigma^2``, so it is positive semi-definite by construction
    and positive definite wherever the priors are log-concave (the defaults are): the
    Laplace approximation with Gauss-Newton curvature (MacKay 1992, "A practical Bayesian
    framework for backpropagation networks"; Immer, Korzepa & Bauer 2021, AISTATS,
    "Improving predictions of Bayesian neural nets via local linearization"). Its
    likelihood part is the precision that `jaxfit.inference.tempering` calibrates for
    ``method="laplace"`` (``F / sigma^2``). The Laplace draws use it only where the
    observed curvature is not positive definite (`fisher_whitening`): everywhere, on the OLMo
    ladder's step-1 tasks at their largest backtest cut (16 points, 4 model sizes), it gave
    intervals 2.3x as wide as the observed one's and ~5x NUTS's (benchmarks/README.md).
    ``ref``: the task's `BayesModel.reference`.
    """
    lik = bm.likelihood
    xs, _ = safe_inputs(x, y, w)
    wt = jnp.where(w > 0, w, 0.0)

    def location(v):
        u = bm.to_law(v, ref)
        return lik.location(bm.law, unpack(bm.law, u[:-1]), xs)

    def neg_log_prior(v):
        return -bm.joint_log_prior(bm.to_law(v, ref), x, y, w)

    J = jnp.where(w[:, None] > 0, jax.jacfwd(location)(v), 0.0)         # [P, m]
    F = (J.T * wt) @ J * jnp.exp(-2.0 * v[-1])
    F = F.at[-1, -1].add(2.0 * jnp.sum(wt))
    return F + jax.hessian(neg_log_prior)(v)


def _whiten_one(bm: BayesModel, v, x, y, w, floor):
    """(L [m, m], ratio): the whitening of one task at ``v``, and the curvature's smallest
    over largest-magnitude eigenvalue. The curvature is the Hessian of `curvature_model`'s
    ``-log posterior``; its eigenvalues, taken in absolute value and floored, keep NUTS's
    mass matrix finite. As a covariance (the Huber likelihood's Laplace draws) a direction
    of negative curvature would get an enormous spread, so where ``ratio <=
    CURVATURE_MIN`` those draws are whitened by `laplace_whitening` instead."""
    H = jax.hessian(curvature_model(bm).objective)(v, x, y, w)
    lam, V = jnp.linalg.eigh(0.5 * (H + H.T))
    ratio = lam[0] / jnp.max(jnp.abs(lam))
    return _floored_whitening(lam, V, floor), ratio


def _floored_whitening(lam, V, floor):
    lam = jnp.abs(lam)
    lam = jnp.maximum(lam, floor * jnp.max(lam))
    return V * (1.0 / jnp.sqrt(lam))[None, :]


def laplace_whitening(bm: BayesModel, center, chol, curvature, ref, x, y, w):
    """The whitening of the Laplace draws (their covariance is ``L L^T``): `laplace_start`'s
    ``chol``, except for the Huber likelihood where the observed curvature at the mode is
    not positive definite (``curvature <= CURVATURE_MIN``). A saddle's |eigenvalues| would
    give a direction of negative curvature an enormous spread, so there the expected,
    Gauss-Newton curvature whitens the draws (`fisher_whitening`, compiled and run only when
    such a task exists); `jaxfit.Posterior.diagnostics` flags those tasks."""
    saddle = np.asarray(curvature) <= CURVATURE_MIN
    if bm.likelihood.kind != "huber" or not saddle.any():
        return chol
    return jnp.where(jnp.asarray(saddle)[:, None, None],
                     fisher_whitening(bm, center, ref, x, y, w), chol)


@cache.jit(static_argnums=0)
def fisher_whitening(bm: BayesModel, v, ref, x, y, w, floor: float = 1e-10):
    """``L`` [T, m, m] with ``L L^T`` the inverse of the expected, Gauss-Newton curvature
    (`fisher_curvature` of `curvature_model`) at ``v`` [T, m] (``ref``: `data_references`):
    the Huber likelihood's Laplace draws for tasks whose observed curvature is not positive
    definite. Compiled only when such a task exists."""
    def one(v, ref, x, y, w):
        G = fisher_curvature(curvature_model(bm), v, ref, x, y, w)
        lam, V = jnp.linalg.eigh(0.5 * (G + G.T))
        return _floored_whitening(lam, V, floor)

    return jax.vmap(one)(v, ref, x, y, w)


@cache.jit(static_argnums=0)
def _whiten(bm: BayesModel, v, x, y, w, floor):
    return jax.vmap(functools.partial(_whiten_one, bm, floor=floor))(v, x, y, w)[0]


def whitening(bm: BayesModel, v, x, y, w, floor: float = 1e-10):
    """``L`` [T, m, m] with ``L L^T = |H|^-1`` at ``v`` [T, m] (H: Hessian of -log posterior).

    Eigenvalues are taken in absolute value and floored at ``floor * max`` so a flat or
    saddle direction still gives a finite (large) scale; the mass-matrix adaptation of
    NUTS corrects what the Laplace approximation misses.
    """
    return _whiten(bm, v, x, y, w, floor)


def noise_start(bm: BayesModel, u, x, y, w):
    """log sigma of one task at the point fit ``u`` [k]: the weighted RMS residual in the
    observation space (for the Beta likelihood, standardised by ``sqrt(mu (1 - mu))``)."""
    lik = bm.likelihood
    loc = lik.location(bm.law, unpack(bm.law, u), x)
    r = loc - lik.observed(y)
    if lik.kind == "beta":
        mu = jnp.clip(loc, 1e-6, 1 - 1e-6)
        r = r / jnp.sqrt(mu * (1 - mu))
    if lik.kind == "huber":           # the scale of the exponential tails: mean |r|
        s = jnp.sum(jnp.where(w > 0, w * jnp.abs(r), 0.0)) / jnp.sum(w)
    else:
        s = jnp.sqrt(jnp.sum(jnp.where(w > 0, w * r * r, 0.0)) / jnp.sum(w))
    s = jnp.clip(s, 1e-6, 0.5 if lik.kind == "beta" else jnp.inf)
    return jnp.log(jnp.where(jnp.isfinite(s), s, 0.1))


@cache.jit(static_argnums=(0, 6))
def laplace_start(bm: BayesModel, u, ref, x, y, w, whiten: bool = True):
    """Mode and whitening of every task, started from point fits ``u`` [T, k] (the law's
    unconstrained coordinates, `start_values`: degenerate terms already restarted).

    ``v0 = (u, log sigma0)`` with `noise_start`, in the sampler's coordinates; the mode by
    `find_map` (Newton only accepts steps that lower the objective, so it is never worse
    than ``v0``); ``L`` by `whitening` (the identity when ``whiten`` is False). ``ref``:
    [T, n + 1] `data_references` of ``x, y, w``.

    Returns:
        (center [T, m], chol [T, m, m], curvature [T], map_status [T]) in the sampler's
        coordinates (`BayesModel`); ``curvature``: the smallest over the largest-magnitude
        eigenvalue of the curvature at ``center`` (`_whiten_one`; NaN when ``whiten`` is
        False); ``map_status``: `find_map`'s `Status` code per task (0: the mode search
        converged; else ``center`` is its last iterate, not a verified mode).
    """
    u0 = jnp.concatenate([u, jax.vmap(functools.partial(noise_start, bm))(u, x, y, w)[:, None]],
                         axis=-1)
    v0 = bm.from_law(u0, ref)
    sol = find_map(bm, v0, x, y, w)
    center = jnp.where(jnp.isfinite(sol.f)[:, None], sol.u, v0)
    status = jnp.asarray(sol.status).reshape(center.shape[:1])
    if not whiten:
        return (center, jnp.broadcast_to(jnp.eye(bm.dim, dtype=u.dtype), center.shape + (bm.dim,)),
                jnp.full(center.shape[:1], jnp.nan, u.dtype), status)
    chol, ratio = jax.vmap(functools.partial(_whiten_one, bm, floor=1e-10))(center, x, y, w)
    return center, chol, ratio, status


# ------------------------------------------------------------------------------ samplers

@dataclasses.dataclass(frozen=True)
class NutsOptions:
    """Settings of numpyro's NUTS (static: a new value compiles a new sampler).

    Attributes:
        chains: chains per task.
        warmup: adaptation iterations (discarded).
        samples: kept iterations per chain.
        dense_mass: adapt a dense mass matrix (per task).
        adapt_mass: adapt the mass matrix during warm-up (False: keep the identity, i.e.
            the Laplace covariance of the whitened coordinates; only the step size adapts).
        target_accept: dual-averaging target acceptance probability.
        max_tree_depth: cap on NUTS tree depth (2**depth - 1 leapfrog steps).
        task_batch: tasks vectorized together (``jax.lax.map(batch_size=...)`` over the
            task axis; 1: one task after another, without vmap); None vmaps every task at
            once.
        vmap_chains: vmap a task's chains (True) or run them one after another. Under
            vmap every ``lax.cond`` of numpyro's tree building runs both sides for every
            member, and an iteration waits for the deepest tree: on a CPU, sequential
            chains of sequential tasks sampled 20 synthetic Chinchilla tasks (4 x
            1,000 + 1,000) in 10.5 s against 13.7 s with vmapped chains in groups of 10
            (`benchmarks/sample_batch.py`, idle 2-core CPU), and the NUTS program compiled
            in 1.9 s against 7.0 s (benchmarks/README.md, session 15). `jaxfit.sample`
            vmaps them on accelerators only.
    """

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    dense_mass: bool = True
    adapt_mass: bool = True
    target_accept: float = 0.95
    max_tree_depth: int = 10
    task_batch: int | None = 1
    vmap_chains: bool = True


class NutsTrace(NamedTuple):
    """Per task x chain x draw output of `run_nuts` (post-warmup unless noted)."""

    z: jax.Array                  # [T, C, S, m] whitened draws
    potential_energy: jax.Array   # [T, C, S]
    energy: jax.Array
    num_steps: jax.Array          # leapfrog steps of each iteration
    accept_prob: jax.Array
    diverging: jax.Array
    step_size: jax.Array          # [T, C] adapted step size
    warmup_num_steps: jax.Array   # [T, C, W] leapfrog steps during warm-up
    warmup_diverging: jax.Array   # [T, C, W]
    state: Any = None             # [T, C] numpyro HMCState after the last iteration


@functools.lru_cache(maxsize=32)
def _nuts_program(bm: BayesModel, opts: NutsOptions):
    from numpyro.infer.hmc import hmc

    def potential_fn_gen(x, y, w, center, chol):
        return lambda params: bm.potential(params["z"], x, y, w, center, chol)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")

    def one_chain(key, z0, args):
        state = init_kernel({"z": z0}, opts.warmup, dense_mass=opts.dense_mass,
                            adapt_mass_matrix=opts.adapt_mass,
                            target_accept_prob=opts.target_accept,
                            max_tree_depth=opts.max_tree_depth, model_args=args, rng_key=key)

        def step(s, _):
            s = sample_kernel(s, model_args=args)
            return s, (s.z["z"], s.potential_energy, s.energy, s.num_steps, s.accept_prob,
                       s.diverging)

        # One scan over warm-up and sampling (the kernel adapts while ``i < warmup``), so
        # the NUTS kernel is compiled once.
        state, out = jax.lax.scan(step, state, None, length=opts.warmup + opts.samples)
        kept = [a[opts.warmup:] for a in out]
        return NutsTrace(*kept, step_size=state.adapt_state.step_size,
                         warmup_num_steps=out[3][:opts.warmup],
                         warmup_diverging=out[5][:opts.warmup], state=state)

    return _over_tasks(one_chain, opts, leading=2)


def _over_tasks(one_chain, opts: NutsOptions, leading: int):
    """``one_chain(*per_chain, args)`` over chains then tasks, as ``opts`` says; the
    compiled ``run(*per_chain_arrays, x, y, w, center, chol)`` (``leading`` per-chain
    arguments with leading axes [T, C])."""
    if opts.vmap_chains:
        over_chains = jax.vmap(one_chain, in_axes=(0,) * leading + (None,))
    else:
        def over_chains(*a):
            return jax.lax.map(lambda c: one_chain(*c, a[-1]), a[:-1])

    @cache.jit
    def run(*a):
        args = (*a[:leading], tuple(a[leading:]))
        if opts.task_batch is None:
            return jax.vmap(over_chains)(*args)
        if opts.task_batch == 1:        # batch_size=1 would vmap each task (over one)
            return jax.lax.map(lambda b: over_chains(*b), args)
        return jax.lax.map(lambda b: over_chains(*b), args, batch_size=opts.task_batch)

    return run


@functools.lru_cache(maxsize=32)
def _continue_program(bm: BayesModel, opts: NutsOptions, iterations: int):
    from numpyro.infer.hmc import hmc

    def potential_fn_gen(x, y, w, center, chol):
        return lambda params: bm.potential(params["z"], x, y, w, center, chol)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")

    def one_chain(state, args):
        # init_kernel sets the kernel's settings (warm-up length, tree depth) that
        # sample_kernel reads; its own state is discarded (past warm-up, the adapted step
        # size and mass matrix in ``state`` are kept fixed).
        init_kernel({"z": state.z["z"]}, opts.warmup, dense_mass=opts.dense_mass,
                    adapt_mass_matrix=opts.adapt_mass, target_accept_prob=opts.target_accept,
                    max_tree_depth=opts.max_tree_depth, model_args=args,
                    rng_key=state.rng_key)

        def step(s, _):
            s = sample_kernel(s, model_args=args)
            return s, (s.z["z"], s.potential_energy, s.energy, s.num_steps, s.accept_prob,
                       s.diverging)

        state, out = jax.lax.scan(step, state, None, length=iterations)
        empty = jnp.zeros((0,), out[3].dtype)
        return NutsTrace(*out, step_size=state.adapt_state.step_size,
                         warmup_num_steps=empty, warmup_diverging=empty.astype(bool),
                         state=state)

    return _over_tasks(one_chain, opts, leading=1)


def run_nuts(bm: BayesModel, key, z0, x, y, w, center, chol,
             opts: NutsOptions = NutsOptions()) -> NutsTrace:
    """numpyro NUTS on every task x chain in one compiled call.

    Each member adapts its own step size and (dense) mass matrix. Under vmap a NUTS
    iteration costs as much as the deepest tree in the batch, which is why the model is
    whitened (all tasks then need about the same, small number of leapfrog steps) and
    tasks are vmapped in groups of ``opts.task_batch``. Each task x chain has its own
    PRNG key whatever the grouping.

    Args:
        bm: the `BayesModel`.
        key: a PRNG key.
        z0: [T, C, m] initial whitened coordinates.
        x, y, w: padded batch ([T, P] arrays; x a dict).
        center, chol: [T, m], [T, m, m] whitening per task.
        opts: `NutsOptions`.
    """
    T, C = z0.shape[:2]
    keys = jax.random.split(key, (T, C))
    return _by_length(_nuts_program(bm, opts), (keys, z0), x, y, w, center, chol)


def continue_nuts(bm: BayesModel, trace: NutsTrace, x, y, w, center, chol,
                  opts: NutsOptions, iterations: int) -> NutsTrace:
    """``iterations`` more NUTS iterations of every task x chain of ``trace``, from its
    last state with its adapted step size and mass matrix (no further adaptation), in
    one compiled call per length class, like `run_nuts`. The result's warm-up fields are
    empty.

    Args:
        bm, x, y, w, center, chol, opts: as given to the `run_nuts` call that made
            ``trace`` (restricted to any subset of its tasks, with ``trace``'s).
        trace: a `NutsTrace` with its ``state``.
        iterations: iterations to add per chain.
    """
    return _by_length(_continue_program(bm, opts, int(iterations)), (trace.state,),
                      x, y, w, center, chol)


def _by_length(program, lead: tuple, x, y, w, center, chol):
    """``program(*lead, x, y, w, center, chol)`` once per `length_classes` class of the
    tasks, the results put back in task order (``lead``: pytrees with a leading task
    axis)."""
    classes = length_classes(w)
    if len(classes) == 1:
        return program(*lead, x, y, w, center, chol)
    parts = [program(*jax.tree.map(lambda a: a[i], lead), {n: a[i, :p] for n, a in x.items()},
                     y[i, :p], w[i, :p], center[i], chol[i]) for i, p in classes]
    back = np.argsort(np.concatenate([i for i, _ in classes]), kind="stable")
    return jax.tree.map(lambda *f: jnp.concatenate(f)[back], *parts)


#: `run_nuts` samples tasks whose points fit in 1 / SPLIT_RATIO of the batch's padded
#: length in a program of their own, shorter length, when that length is at least
#: SPLIT_MIN_POINTS (below it a second compile costs more than the padding it saves).
SPLIT_RATIO = 8
SPLIT_MIN_POINTS = 1024


def length_classes(w) -> list[tuple[np.ndarray, int]]:
    """Tasks grouped by their number of points, as (task indices, padded length) pairs.

    A NUTS leapfrog step costs the batch's padded length ``P`` for every task, so a
    task of 64 points beside one of 3,600 costs 64x its own work (the OLMo emergence
    demonstration). While the longest class has ``P >= SPLIT_MIN_POINTS``, the tasks whose
    `jaxfit.data.bucket` length is at most ``P / SPLIT_RATIO`` move to a class of their
    own, padded to their own bucket. Real points come first in every task (`make_batch`),
    so a class's arrays are the batch's first columns; its trailing zero weights
    contribute nothing. One class (every batch of short tasks) leaves the call unchanged.

    Example:
        >>> import numpy as np
        >>> w = np.zeros((3, 4096)); w[0, :3600] = 1; w[1, :64] = 1; w[2, :11] = 1
        >>> [(i.tolist(), p) for i, p in length_classes(w)]
        [([0], 4096), ([1, 2], 64)]
    """
    from jaxfit.data import bucket

    w = np.asarray(w)
    P = w.shape[1]
    n = P - np.argmax(w[:, ::-1] > 0, axis=1)          # last positive weight, + 1
    size = np.array([min(bucket(int(k)), P) for k in n])
    idx, classes = np.arange(len(n)), []
    while True:
        p = int(size[idx].max()) if len(classes) else P
        small = idx[size[idx] * SPLIT_RATIO <= p] if p >= SPLIT_MIN_POINTS else idx[:0]
        if len(small) == 0:
            return classes + [(idx, p)]
        classes.append((np.setdiff1d(idx, small), p))
        idx = small


@functools.lru_cache(maxsize=32)
def _svi_program(bm: BayesModel, kind: str, steps: int, draws: int, lr: float,
                 particles: int):
    import optax
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoLaplaceApproximation, AutoMultivariateNormal
    from numpyro.infer.initialization import init_to_value

    def one(key, x, y, w, center, chol):
        init = init_to_value(values={"z": jnp.zeros(bm.dim, y.dtype)})
        if kind == "laplace":
            guide = AutoLaplaceApproximation(bm.model, init_loc_fn=init)
        else:
            guide = AutoMultivariateNormal(bm.model, init_loc_fn=init, init_scale=1.0)
        svi = SVI(bm.model, guide, optax.adam(lr), Trace_ELBO(num_particles=particles))
        k_init, k_run, k_draw = jax.random.split(key, 3)
        state = svi.init(k_init, x, y, w, center, chol)

        def body(s, _):
            s, loss = svi.update(s, x, y, w, center, chol)
            return s, loss

        state, losses = jax.lax.scan(body, state, None, length=steps)
        params = svi.get_params(state)
        z = guide.sample_posterior(k_draw, params, sample_shape=(draws,))["z"]
        return z, losses

    @cache.jit
    def run(keys, x, y, w, center, chol):
        return jax.vmap(one)(keys, x, y, w, center, chol)

    return run


def run_svi(bm: BayesModel, key, x, y, w, center, chol, draws: int, steps: int = 1000,
            lr: float = 0.01, particles: int = 4):
    """Per-task SVI with numpyro's ``AutoMultivariateNormal`` (vmapped over tasks).

    Starts at the mode (z = 0) with unit scale, where the whitened posterior is close to
    a standard normal, and runs ``steps`` Adam steps on the ELBO.

    Returns:
        (z [T, draws, m], ELBO losses [T, steps]).
    """
    T = y.shape[0]
    return _svi_program(bm, "svi", steps, draws, lr, particles)(
        jax.random.split(key, T), x, y, w, center, chol)


def run_laplace(bm: BayesModel, key, x, y, w, center, chol, draws: int):
    """Per-task Laplace approximation with numpyro's ``AutoLaplaceApproximation``.

    The mode is the Newton MAP (z = 0 in whitened coordinates, found by `find_map`), so
    no SVI steps are taken; numpyro computes the Hessian there and samples the Gaussian.
    For the Huber likelihood the precision is the Hessian of `curvature_model`'s
    ``-log posterior`` (the Normal likelihood of the same scale, whose expectation is the
    Huber density's Fisher information), which the whitening ``chol`` already holds: the
    draws are ``z ~ N(0, I)``. Where that Hessian is not positive definite at the mode,
    ``chol`` comes from its expected, Gauss-Newton form instead (`laplace_whitening`): a
    valid Gaussian, but often much wider than the posterior (those tasks are flagged).

    Returns:
        z [T, draws, m].
    """
    T = y.shape[0]
    if bm.likelihood.kind == "huber":
        return jax.random.normal(key, (T, draws, bm.dim), dtype=y.dtype)
    z, _ = _svi_program(bm, "laplace", 0, draws, 0.01, 1)(
        jax.random.split(key, T), x, y, w, center, chol)
    return z


# --------------------------------------------------------------------- plated (pooled) model

class PlateLayout(NamedTuple):
    """How the plated model splits each task's coordinates ``v = (u, log sigma)`` [m].

    ``rest`` are sampled per task in whitened coordinates; ``pool`` per task from
    ``Normal(mu, tau)``, through their conditional posterior's Gaussian approximation
    (`plated_model`); ``shared`` once for all tasks. All are index
    tuples into ``v``; the globals are ``shared`` values, then ``(mu, log tau)`` per
    pooled parameter.
    """

    rest: tuple[int, ...]
    pool: tuple[int, ...]
    shared: tuple[int, ...]

    @property
    def n_globals(self) -> int:
        return len(self.shared) + 2 * len(self.pool)


def plate_layout(law: Law, pool=(), shared=()) -> PlateLayout:
    names = law.param_names
    pool_i = tuple(names.index(n) for n in pool)
    shared_i = tuple(names.index(n) for n in shared)
    rest = tuple(i for i in range(len(names) + 1) if i not in pool_i + shared_i)
    return PlateLayout(rest, pool_i, shared_i)


def conditional_whitening(center, chol, layout: PlateLayout):
    """Per-task linear map of the ``rest`` coordinates given the pooled/shared ones.

    From the Laplace precision ``H = (L L^T)^-1`` at ``center``: the conditional mean of
    ``v_R`` given ``v_Q`` (Q = pooled and shared) is ``c_R + B (v_Q - c_Q)`` with
    ``B = -H_RR^-1 H_RQ``, and its covariance ``H_RR^-1 = L_R L_R^T``. So
    ``v_R = c_R + B (v_Q - c_Q) + L_R z`` is a whitening that stays valid when the pooled
    or shared values move (e.g. log A follows alpha).

    Returns:
        (B [T, |R|, |Q|], L_R [T, |R|, |R|]).
    """
    H = jnp.linalg.inv(jnp.einsum("tij,tkj->tik", chol, chol))
    R = jnp.asarray(layout.rest)
    Q = jnp.asarray(layout.pool + layout.shared, dtype=jnp.int32)
    H_RR = H[:, R][:, :, R]
    H_RR = 0.5 * (H_RR + jnp.swapaxes(H_RR, 1, 2))
    lam, V = jnp.linalg.eigh(H_RR)
    lam = jnp.maximum(jnp.abs(lam), 1e-10 * jnp.max(jnp.abs(lam), axis=-1, keepdims=True))
    L_R = V * (1.0 / jnp.sqrt(lam))[:, None, :]
    if Q.size == 0:
        return jnp.zeros(H.shape[:1] + (R.size, 0), H.dtype), L_R
    H_RQ = H[:, R][:, :, Q]
    cov_RR = jnp.einsum("tij,tkj->tik", L_R, L_R)
    return -jnp.einsum("tij,tjk->tik", cov_RR, H_RQ), L_R


def _pooled_conditional(c, s, mu, log_tau):
    """Mean and sd of ``u ~ Normal(mu, tau)`` given a task's ``Normal(c, s)`` posterior."""
    v = 1.0 / (1.0 / jnp.square(s) + jnp.exp(-2.0 * log_tau))
    return v * (c / jnp.square(s) + mu * jnp.exp(-2.0 * log_tau)), jnp.sqrt(v)


def plated_model(bm: BayesModel, x, y, w, center, B, L_R, g_center, g_scale,
                 layout: PlateLayout, pool_sd=None):
    """All tasks in one NumPyro model: a ``task`` plate over padded, masked tasks.

    Per task t, the coordinates ``v_t = (u_t, log sigma_t)`` are assembled from

    * shared parameters ``s``: one global value for all tasks;
    * pooled parameters ``p``: ``u_{p,t} ~ Normal(mu_p, tau_p)`` (``mu_p`` gets the
      parameter's own prior on its unconstrained value, ``tau_p ~ HalfNormal(1)`` unless
      ``priors["{p}_tau"]`` is set), sampled as ``u = m + sqrt(v) eta`` with ``m``, ``v``
      the mean and variance of ``u_{p,t}``'s conditional posterior given ``(mu_p, tau_p)``
      when the task's own posterior is ``Normal(c_t, s_t)`` (its Laplace approximation,
      ``center`` and ``pool_sd``): ``1 / v = 1 / s_t^2 + 1 / tau^2``, ``m = v (c_t / s_t^2
      + mu / tau^2)``; the density is unchanged (the prior ``Normal(mu, tau)`` at ``u`` and
      the Jacobian ``sqrt(v)`` enter the factor). For ``tau << s_t`` this is the
      non-centred ``u = mu + tau eta``, for ``tau >> s_t`` the centred ``u = c_t + s_t
      eta``; in between ``eta`` is about ``Normal(0, 1)`` whatever ``tau``, which removes
      the funnel of either extreme (the partially non-centred parametrisation of
      Papaspiliopoulos, Roberts & Skold 2007, "A general framework for the parametrization
      of hierarchical models", Stat. Sci. 22, with the weight taken at the current
      ``tau``). ``pool_sd=None``: the non-centred ``u = mu + tau eta``, ``eta ~ Normal(0, 1)``;
    * the rest, whitened given the others: ``v_R = c_R + B (v_Q - c_Q) + L_R z``
      (`conditional_whitening`), with the single-task priors.

    Globals are sampled as ``g_center + g_scale * zg`` (scaled; NUTS adapts a dense mass
    matrix on them). ``v`` is recorded as a deterministic site [T, m].

    Args:
        bm: the single-task `BayesModel` (likelihood and priors).
        x, y, w: [T, P] padded batch.
        center: [T, m] per-task mode; B, L_R: from `conditional_whitening`.
        g_center, g_scale: [G] centre and scale of the globals.
        layout: the `PlateLayout`.
        pool_sd: [T, |pool|] the pooled parameters' sds in each task's own posterior
            (None: non-centred).
    """
    law = bm.law
    names = law.param_names
    T, m = center.shape
    nR, nP, nS = len(layout.rest), len(layout.pool), len(layout.shared)
    z = numpyro.sample("z", dist.ImproperUniform(constraints.real_vector, (T,), (nR,)))
    cols: dict[int, Any] = {}
    lp = jnp.zeros((), y.dtype)
    if layout.n_globals:
        zg = numpyro.sample("zg", dist.ImproperUniform(constraints.real_vector, (),
                                                       (layout.n_globals,)))
        g = g_center + g_scale * zg
        for j, i in enumerate(layout.shared):
            cols[i] = jnp.broadcast_to(g[j], (T,))
            lp = lp + bm.prior_terms[names[i]](g[j])
        if nP and pool_sd is None:
            eta = numpyro.sample("eta", dist.Normal(0.0, 1.0).expand([T, nP]).to_event(2))
        elif nP:
            eta = numpyro.sample("eta", dist.ImproperUniform(constraints.real_vector, (T,),
                                                             (nP,)))
        for j, i in enumerate(layout.pool):
            mu, log_tau = g[nS + 2 * j], g[nS + 2 * j + 1]
            tau = jnp.exp(log_tau)
            if pool_sd is None:
                cols[i] = mu + tau * eta[:, j]
            else:
                cm, cs = _pooled_conditional(center[:, i], pool_sd[:, j], mu, log_tau)
                cols[i] = cm + cs * eta[:, j]
                lp = lp + jnp.sum(dist.Normal(mu, tau).log_prob(cols[i]) + jnp.log(cs))
            tau_prior = bm.priors.get(f"{names[i]}_tau", DEFAULT_TAU_PRIOR)
            lp = lp + bm.prior_terms[names[i]](mu) + tau_prior.log_prob(tau) + log_tau
            numpyro.deterministic(f"{names[i]}_mu", law.params[names[i]].transform(mu))
            numpyro.deterministic(f"{names[i]}_tau", tau)
    Q = layout.pool + layout.shared
    v_R = center[:, layout.rest] + jnp.einsum("tij,tj->ti", L_R, z)
    if Q:
        vQ = jnp.stack([cols[i] for i in Q], axis=-1)
        v_R = v_R + jnp.einsum("tij,tj->ti", B, vQ - center[:, list(Q)])
    for j, i in enumerate(layout.rest):
        cols[i] = v_R[:, j]
    v = numpyro.deterministic("v", jnp.stack([cols[i] for i in range(m)], axis=-1))
    rest = tuple(i for i in layout.rest if i < len(names))
    lp = lp + jnp.sum(jax.vmap(functools.partial(bm.log_prior, include=rest))(
        v[:, :len(names)], x, y, w))
    lp = lp + jnp.sum(bm.log_noise_prior(v[:, -1]))
    numpyro.factor("prior", lp)
    params, sigma = bm.split(v)
    lik = bm.likelihood
    x, y = safe_inputs(x, y, w)                # law never evaluated at zero-weight points
    loc = jax.vmap(lambda p, xx: lik.location(law, p, xx))(params, x)     # [T, P]
    with numpyro.plate("task", T, dim=-2), numpyro.plate("point", y.shape[1], dim=-1), \
            numpyro.handlers.mask(mask=w > 0), \
            numpyro.handlers.scale(scale=jnp.where(w > 0, w, 1.0)):
        numpyro.sample("obs", lik.dist(loc, sigma[:, None]), obs=lik.observed(y))


def run_nuts_plated(bm: BayesModel, key, x, y, w, center, chol, opts: NutsOptions,
                    pool=(), shared=(), jitter: float = 0.0, centring: bool = True):
    """numpyro ``MCMC(NUTS)`` on `plated_model`, chains vectorized (one compiled call).

    The mass matrix is dense on the globals and diagonal on the per-task coordinates
    (a dense one over all tasks would have (T m)^2 entries).

    Args:
        center, chol: [T, m], [T, m, m] per-task mode and Laplace whitening of the
            independent (unpooled) model.
        pool, shared: parameter names.
        centring: sample each pooled parameter through its conditional posterior's
            Gaussian approximation (`plated_model`'s ``pool_sd``, centred where a task's
            data pin it, non-centred where the population does); False: non-centred.

    Returns:
        (``v`` [T, C, S, m] draws in the full layout, hyper-parameter draws name -> [C, S],
        extra fields name -> [C, S] (``num_steps``, ``diverging`` ...; warm-up
        ``warmup_num_steps`` [C, W])).
    """
    from numpyro.infer import MCMC, NUTS
    from numpyro.infer.initialization import init_to_value

    layout = plate_layout(bm.law, pool, shared)
    B, L_R = conditional_whitening(center, chol, layout)
    T = center.shape[0]
    # Globals: shared values at the precision-weighted mean of the tasks' modes; pooled
    # mu at the mean, log tau at the log spread, eta at the standardised modes.
    sd = jnp.sqrt(jnp.einsum("tij,tij->ti", chol, chol))                 # [T, m] marginal sd
    gc, gs, eta0 = [], [], []
    for i in layout.shared:
        prec = 1.0 / jnp.square(sd[:, i])
        gc.append(jnp.sum(prec * center[:, i]) / jnp.sum(prec))
        gs.append(1.0 / jnp.sqrt(jnp.sum(prec)))
    for i in layout.pool:
        c = center[:, i]
        spread = jnp.maximum(jnp.std(c), jnp.mean(sd[:, i])) if T > 1 else sd[0, i]
        gc += [jnp.mean(c), jnp.log(spread)]
        gs += [spread / jnp.sqrt(T), jnp.asarray(0.5)]
        if centring:        # u_t = c_t: eta where the conditional whitening puts it
            m, s = _pooled_conditional(c, sd[:, i], jnp.mean(c), jnp.log(spread))
            eta0.append((c - m) / s)
        else:
            eta0.append((c - jnp.mean(c)) / spread)
    pool_sd = jnp.stack([sd[:, i] for i in layout.pool], axis=-1) \
        if (centring and layout.pool) else None
    g_center = jnp.stack(gc) if gc else jnp.zeros((0,), y.dtype)
    g_scale = jnp.stack(gs) if gs else jnp.zeros((0,), y.dtype)
    model = functools.partial(plated_model, bm, g_center=g_center, g_scale=g_scale,
                              layout=layout, pool_sd=pool_sd)
    values = {"z": jnp.zeros((T, len(layout.rest)), y.dtype)}
    if layout.n_globals:
        values["zg"] = jnp.zeros((layout.n_globals,), y.dtype)
    if layout.pool:
        values["eta"] = jnp.stack(eta0, axis=-1)
    dense = [("zg",)] if (opts.dense_mass and layout.n_globals) else False
    kernel = NUTS(model, init_strategy=init_to_value(values=values), dense_mass=dense,
                  target_accept_prob=opts.target_accept, max_tree_depth=opts.max_tree_depth)
    k_warm, k_init = jax.random.split(key)
    init = None
    if jitter > 0:
        init = {n: a + jitter * jax.random.normal(jax.random.fold_in(k_init, i),
                                                  (opts.chains,) + a.shape, a.dtype)
                for i, (n, a) in enumerate(sorted(values.items()))}
    mcmc = MCMC(kernel, num_warmup=opts.warmup, num_samples=opts.samples,
                num_chains=opts.chains, chain_method="vectorized", progress_bar=False)
    args = (x, y, w, center, B, L_R)
    mcmc.warmup(k_warm, *args, extra_fields=("num_steps", "diverging"), collect_warmup=True,
                init_params=init)
    warm = mcmc.get_extra_fields(group_by_chain=True)
    mcmc.run(mcmc.post_warmup_state.rng_key, *args,
             extra_fields=("num_steps", "diverging", "accept_prob", "potential_energy",
                           "energy"))
    samples = mcmc.get_samples(group_by_chain=True)
    extra = dict(mcmc.get_extra_fields(group_by_chain=True))
    extra["warmup_num_steps"] = warm["num_steps"]
    extra["warmup_diverging"] = warm["diverging"]
    hyper = {k: a for k, a in samples.items() if k.endswith(("_mu", "_tau"))}
    return jnp.moveaxis(samples["v"], 2, 0), hyper, extra
