"""`jaxfit.sample` and `jaxfit.bootstrap`: a law's posterior per task, as a `Posterior`.

Both mirror `jaxfit.fit`'s signature, validate the data with `jaxfit.data.make_batch`,
start from `jaxfit.fit`'s best multi-start point fit, and handle every task (``by=``) in
one compiled call.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro.distributions import constraints

from jaxfit import checks
from jaxfit.data import (by_option, check_law, did_you_mean, make_batch, row_columns, task_at,
                         unique_columns)
from jaxfit.fit import fit as point_fit
from jaxfit.fit import make_starts, warn_design
from jaxfit.inference import bayes, tempering
from jaxfit.inference.bootstrap import bootstrap_minimize, noise_draws, residual_scale
from jaxfit.inference.objective import residuals, unpack
from jaxfit.inference.optimize import SolverOptions
from jaxfit.inference.starts import user_starts
from jaxfit.inference.objective import make_objective
from jaxfit.law import (NOISE, Law, as_names, dist_text, fixed_note, fixed_text,
                        prior_problem, same_fixed)
from jaxfit.posterior import Posterior
from jaxfit.result import FitResult

__all__ = ["sample", "bootstrap"]

METHODS = checks.SAMPLE_METHODS


def _task_batch(task_batch, T: int, cpu: bool) -> int | None:
    """`sample`'s ``task_batch`` for ``T`` tasks ("auto": 1 on a CPU, 10 elsewhere)."""
    if isinstance(task_batch, str):
        task_batch = 1 if cpu else 10
    return None if task_batch is None else min(int(task_batch), T)


def sample(law: Law, data, y: str = "loss", by: str | Sequence[str] | None = None, *,
           x: Mapping[str, str] | None = None, weights=None, space: str = "log",
           likelihood: str = "huber", nu: float = 4.0, priors: Mapping[str, Any] | None = None,
           pool: Sequence[str] = (), method: str = "nuts", chains: int = 4,
           warmup: int = 1000, samples: int = 1000, seed: int = 0,
           target_accept: float = 0.95, max_tree_depth: int = 10, dense_mass: bool = True,
           adapt_mass: bool = True, whiten: bool = True, jitter: float = 0.0,
           batching: str = "vmap", task_batch: int | None | str = "auto",
           svi_steps: int = 2000, extend: int = 4,
           start: FitResult | None = None, temper="sandwich",
           loss: str = "huber", delta: float = 1e-3, init="random", restarts: int = 64,
           warn: bool = True) -> Posterior:
    """Sample the posterior of ``law`` given ``data``, every task in one compiled call.

    The model (`jaxfit.inference.bayes`): weakly informative default priors on each
    Param's unconstrained value (``Normal(centre, max(half-width, 1))`` of its init box),
    except for a law's declared power-law terms (``Law.terms``, e.g. Chinchilla's), whose
    exponents get ``LogNormal(log 0.3, 0.5)`` (``LogNormal(log 0.15, 0.5)`` for a term in
    compute, ``PowerTerm.kind``) and whose levels at the task's data centre,
    relative to the target there, get ``Normal(-2, 1.5)``; ``Param.prior`` or ``priors=``
    override them with a numpyro distribution over the constrained value;
    ``priors={"sigma": ...}`` the noise prior, default ``HalfNormal(1)``. The likelihood
    is on the point fit's residual space with a fitted noise scale ``sigma``. The default
    likelihood is the one the point fit maximises (a Huber density on log residuals), so
    `jaxfit.fit`'s estimate is the posterior's mode up to the priors, and its prediction
    lies inside the posterior's intervals. That density is not the noise's (on Gaussian
    noise it is a Laplace density whose posterior is ~1.25x too narrow), so by default
    each task's Huber likelihood is raised to a power ``eta`` in (0, 1] set from the
    sandwich covariance at the fit (a generalised-Bayes posterior, Holmes & Walker 2017;
    `jaxfit.inference.tempering`): the mode stays the fit, and the spread becomes the
    robust covariance's (about 2 / pi = 0.64 on Gaussian noise; ``Posterior.temper``).
    With NUTS on independent tasks the power tempers the parameters' information only:
    the noise scale keeps every point's (`jaxfit.inference.tempering.with_scale_term`).

    The sampler starts at the posterior mode, found by Newton's method from the best
    multi-start point fit (`jaxfit.fit`), in coordinates where a declared term is its
    level at the data centre and its log exponent, and the floor the law's value there
    (`jaxfit.inference.bayes.BayesModel`), whitened by the Laplace covariance at the mode.
    ``benchmarks/nuts_convergence.py`` and ``benchmarks/sample_batch.py`` measure the
    choices; the default ``target_accept = 0.95`` (measured there on 100 realistic tasks:
    0.8 left a few divergent transitions in half of them, 0.9 in 10%, 0.95 in none, for
    7% more wall time).

    Args:
        law: a `jaxfit.Law`.
        data: a pandas DataFrame (never modified).
        y: target column.
        by: column(s) naming independent tasks.
        x: law input -> column mapping.
        weights: column or array of point weights (likelihood terms are raised to them).
        space: residual space, "log" (likelihood of log y) or "linear".
        likelihood: "huber" (default: the density ``exp(-rho_delta(r) / (delta sigma)) / Z``
            whose maximum in the law's parameters is `jaxfit.fit`'s default Huber fit, for
            every noise scale; `jaxfit.inference.bayes.Huber`, after Besiroglu et al.
            2024's Huber likelihood with a learnt scale), "normal", "studentt", or for
            outcomes in [0, 1] with space="linear", "beta" or "truncnormal".
        nu: Student-t degrees of freedom.
        priors: name -> numpyro distribution over the constrained value (incl. "sigma").
        pool: parameter name(s) drawn from a population across tasks (hierarchical pooling:
            ``u_t ~ Normal(mu, tau)``); with ``law.shared`` parameters, this uses one
            plated model over all tasks.
        method: "nuts" (numpyro NUTS, default), "svi" (``AutoMultivariateNormal``) or
            "laplace" (``AutoLaplaceApproximation`` at the mode), each vmapped over tasks.
            Laplace is fast but less calibrated far from the data: on synthetic power
            laws in compute (9, 20 and 40 points) its 90% intervals at 10x the largest
            compute covered 75-84%, NUTS's 86-88% (benchmarks/tempering_coverage.py,
            docs/defaults.md).
        chains, warmup, samples: NUTS chains per task, warm-up and kept iterations per
            chain (SVI/Laplace: ``chains * samples`` independent draws per task).
        seed: random seed (point-fit starts, sampler).
        target_accept: NUTS target acceptance probability.
        max_tree_depth: NUTS tree-depth cap.
        dense_mass: adapt a dense mass matrix per task.
        adapt_mass: adapt the mass matrix in warm-up (False: keep the Laplace covariance
            of the whitening as the metric; only the step size adapts).
        whiten: run NUTS in Laplace-whitened coordinates (False: raw unconstrained
            coordinates centred at the mode; slower, for comparison).
        jitter: chains start at the mode displaced by ``N(0, jitter^2)`` in whitened
            coordinates (0: all at the mode, numpyro's ``init_to_value``).
        batching: "vmap" (independent NUTS per task, vmapped) or "plate" (one plated
            NUTS model over all tasks; used automatically for ``pool``/``law.shared``).
        task_batch: with batching="vmap", tasks vectorized together (``jax.lax.map`` with
            this ``batch_size``; 1: one after another); None vmaps all tasks. "auto"
            (default): 1 on a CPU, 10 on an accelerator. On a CPU the chains of a task
            also run one after another, on an accelerator they are vmapped
            (`jaxfit.inference.bayes.NutsOptions.vmap_chains`, which gives the measured
            reason: on a CPU sequential is fastest).
        svi_steps: Adam steps of SVI.
        extend: NUTS with batching="vmap": a task whose chains end with r_hat > 1.01 or
            bulk or tail ESS below ``min(100 * chains, 400)`` (the thresholds of
            ``Posterior.diagnostics``) continues sampling from where its chains stopped,
            with its adapted step size and mass matrix, to ``f * samples`` iterations per
            chain in all, ``f = ceil(2 * threshold / their smallest ESS)`` clipped to
            [2, ``extend``] (one ``f`` for all such tasks, so one more compile), and is
            thinned by ``f`` back to ``samples`` draws per chain: what the diagnostics'
            advice "raise samples" does, for those tasks only. A kept draw counts as
            divergent when any iteration it stands for diverged; ``Posterior.diagnostics``
            shows the factor (``thinned``). 1 turns it off. Measured in
            ``benchmarks/nuts_datasets.py`` (benchmarks/README.md).
        start: a `FitResult` of the same law and data to start from (skips the fit). With
            the Huber likelihood and ``temper="sandwich"`` (the defaults) it must be the
            Huber fit with this call's ``delta`` and ``space``, as the fit `sample` makes
            with ``loss="huber"``: the power is computed at it (`_check_sandwich_fit`).
        temper: power on each task's likelihood: "sandwich" (default: for the Huber
            likelihood, ``eta = k / tr(V P)`` with ``V`` the Huber fit's sandwich
            covariance and ``P`` the untempered likelihood's precision, clipped to
            [0.05, 1]; 1 for the other likelihoods), "none" (the untempered likelihood;
            its posterior is the Huber density's, narrower on Gaussian noise), or a
            number in (0, 1] for every task. With NUTS on independent tasks (not
            pooled or shared) a power below 1 tempers the law's parameters, not the
            noise scale (the term ``(1 - eta) sum_i w_i log p(o_i | fit, sigma)`` keeps
            sigma's information whole; ``Posterior.options["scale_term"]``). The powers are
            ``Posterior.temper`` and a ``temper`` column of ``Posterior.diagnostics``;
            measured in ``benchmarks/nuts_convergence.py``.
        loss, delta, init, restarts: options of the starting point fit, `jaxfit.fit`
            with its defaults otherwise (the same fit as ``jaxfit fit`` and ``jaxfit
            sample`` on the command line). ``delta`` is also the Huber likelihood's
            threshold, so with the defaults the posterior's mode in the law's parameters
            is this fit.
        warn: warn when diagnostics fail (r_hat > 1.01, bulk or tail ESS below
            ``min(100 * chains, 400)``, divergences, fewer than 3 points per parameter, a
            collapsing noise scale).

    Returns:
        A `Posterior`.

    Example:
        >>> import jaxfit as jf
        >>> import pandas as pd
        >>> df = jf.datasets.load("chinchilla")
        >>> post = jf.sample(jf.models.chinchilla(), df[~df.epoch_excluded_outlier],
        ...                  y="loss", method="laplace")   # NUTS: the default method
        >>> bool(0.3 < post.params.loc[0, "alpha"] < 0.4)
        True
        >>> pred = post.predict(pd.DataFrame({"N": [7e10], "D": [1.4e12]}), prob=0.9)
        >>> p = pred.iloc[0]
        >>> bool(p.predictive_lower < p.credible_lower < p["mean"] < p.credible_upper < p.predictive_upper)
        True
    """
    check_law(law)
    checks.sample_options(y=y, by=by, x=x, space=space, nu=nu, method=method, chains=chains,
                          warmup=warmup, samples=samples, seed=seed,
                          target_accept=target_accept, max_tree_depth=max_tree_depth,
                          jitter=jitter, batching=batching, task_batch=task_batch,
                          svi_steps=svi_steps, extend=extend, loss=loss, delta=delta,
                          init=init, restarts=restarts)
    tempering.check_temper(temper)
    pool = _pool_names(pool)
    unknown = [p for p in pool if p not in law.params]
    if unknown:
        # pool=["E"] of jf.fix(law, E=1.0): the error did not say E is held fixed
        raise ValueError(f"pool names {unknown}, which are not parameters of law "
                         f"{law.name!r}{fixed_note(law, unknown)}; its parameters are "
                         f"{list(law.param_names)}.")
    overlap = set(pool) & set(law.shared)
    if overlap:
        raise ValueError(f"parameters {sorted(overlap)} are both pooled and shared; a shared "
                         "parameter already has one value for all tasks.")
    if (pool or law.shared or batching == "plate") and method != "nuts":
        why = (f"pool={list(pool)}" if pool else
               f"the shared parameter(s) {list(law.shared)}" if law.shared else
               "batching='plate'")
        raise ValueError(f"method={method!r} is vmapped over independent tasks, but "
                         f"{why} needs one plated model over all tasks, which only "
                         "method='nuts' samples; use method='nuts', or drop " + why + ".")
    _check_priors(law, priors)
    lik = bayes.make_likelihood(likelihood, space, nu, delta)
    if start is None:           # before the point fit: the loss it would be fitted with
        _check_sandwich_fit(lik, temper, space, {"loss": loss}, start=False)
    plated = bool(pool or law.shared or batching == "plate")
    bm = bayes.make_model(law.replace(shared=()) if law.shared else law, lik, priors,
                          levels=not plated)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    batch = make_batch(data, law, y=y, by=by, x=x, weights=weights, space=space)
    checks.law_output(law, batch.x, batch.w)       # before any compile
    lik.check(batch.y[batch.w > 0], label=y)
    if warn:
        checks.data_warnings(law, batch, make_starts(law, init=init, restarts=restarts,
                                                     seed=seed), space,
                             row_columns(law, y, by, x))
    T = len(batch.tasks)
    if start is None:
        start = point_fit(law.replace(shared=()) if law.shared else law, data, y=y, by=by,
                          x=x, weights=weights, loss=loss, delta=delta, space=space, init=init,
                          restarts=restarts, seed=seed, warn=False)
    else:
        _check_start(start, law, batch.tasks, y=y, x=x, batch=batch)
        _check_sandwich_fit(lik, temper, space, start.options or {}, start=True)
    _check_priors_at(law, priors, start)
    if warn:
        # the fit the sampler starts from and computes its tempering power at
        start.warn_unconverged(where="sample's start (the full-data fit)", stacklevel=3)
        warn_exponent_prior(law, priors, start, stacklevel=2)
    timing["fit"] = time.perf_counter() - t0

    with jax.enable_x64(True):
        key = jax.random.key(seed)
        xs = {n: jnp.asarray(v) for n, v in batch.x.items()}
        ys, ws = jnp.asarray(batch.y), jnp.asarray(batch.w)
        t0 = time.perf_counter()
        white = bool(whiten) or method == "laplace"      # Laplace draws in whitened z
        eta = tempering.powers(temper, bm.law, start.values, xs, ys, ws, lik, method)
        # NUTS on independent tasks: sigma keeps every point's information. Not in the
        # plated model: its shared or pooled parameters fit worse than each task's own fit,
        # whose residuals the term would hold sigma to.
        scale_term = method == "nuts" and not plated and bool(jnp.any(eta < 1.0))
        if scale_term:
            xs = tempering.with_scale_term(bm.law, start.values, xs, ys, ws, eta, lik)
        ws = ws * eta[:, None]              # a power on each task's likelihood
        ref = bayes.data_references(bm, xs, ys, ws)     # log data centres [T, n + 1]
        u = bayes.start_values(bm, start.values, ref)
        center, chol, curvature, map_status = jax.block_until_ready(
            bayes.laplace_start(bm, u, ref, xs, ys, ws, white))
        if method == "laplace":
            chol = bayes.laplace_whitening(bm, center, chol, curvature, ref, xs, ys, ws)
        m = bm.dim
        timing["map"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        k_init, k_run = jax.random.split(key)
        cpu = jax.default_backend() == "cpu"
        opts = bayes.NutsOptions(chains=int(chains), warmup=int(warmup), samples=int(samples),
                                 dense_mass=bool(dense_mass), adapt_mass=bool(adapt_mass),
                                 target_accept=float(target_accept),
                                 max_tree_depth=int(max_tree_depth),
                                 task_batch=_task_batch(task_batch, T, cpu),
                                 vmap_chains=not cpu)
        stats: dict[str, np.ndarray] = {}
        hyper: dict[str, np.ndarray] = {}
        if pool or law.shared or batching == "plate":
            v, stats, hyper = _run_plated(bm, law, k_run, xs, ys, ws, center, chol, opts,
                                          pool, jitter)
        elif method == "nuts":
            z0 = jitter * jax.random.normal(k_init, (T, opts.chains, m))
            tr = bayes.run_nuts(bm, k_run, z0, xs, ys, ws, center, chol, opts)
            z = tr.z
            stats = {"diverging": np.asarray(tr.diverging), "n_steps": np.asarray(tr.num_steps),
                     "acceptance_rate": np.asarray(tr.accept_prob),
                     "energy": np.asarray(tr.energy), "lp": -np.asarray(tr.potential_energy),
                     "step_size": np.broadcast_to(np.asarray(tr.step_size)[..., None],
                                                  tr.num_steps.shape),
                     "warmup_n_steps": np.asarray(tr.warmup_num_steps),
                     "warmup_diverging": np.asarray(tr.warmup_diverging)}
        else:
            n = opts.chains * opts.samples
            if method == "svi":
                z, losses = bayes.run_svi(bm, k_run, xs, ys, ws, center, chol, draws=n,
                                          steps=int(svi_steps))
                stats = {"elbo_loss": np.asarray(losses)}
            else:
                z = bayes.run_laplace(bm, k_run, xs, ys, ws, center, chol, draws=n)
                stats = {"curvature_ratio": np.asarray(curvature),
                         "map_status": np.asarray(map_status)}
            z = z.reshape(T, opts.chains, opts.samples, m)

        def constrained(v):
            params, sigma = _split_draws(bm, v, ref)
            out = {n: np.asarray(params[n]) for n in law.param_names}
            out[bayes.NOISE] = np.asarray(sigma)
            return out

        def whitened(z):
            return constrained(_unwhiten(center, chol, z))

        def posterior(draws, stats):
            return Posterior(
                law=law, tasks=batch.tasks, draws=draws, likelihood=lik, method=method,
                stats=stats, hyper=hyper, fit=start, temper=np.asarray(eta),
                options=dict(y=y, by=by_option(by), x=dict(x or {}), space=space, likelihood=likelihood,
                             nu=nu, pool=pool, chains=chains, warmup=warmup, samples=samples,
                             seed=seed, target_accept=target_accept, whiten=whiten,
                             batching=batching, priors=dict(priors or {}), extend=extend,
                             temper=temper if isinstance(temper, str) or temper is None
                             else float(temper), scale_term=scale_term),
                timing=timing, data=dict(x=batch.x, y=batch.y, w=batch.w))

        post = posterior(constrained(v) if plated else whitened(z), stats)
        if method == "nuts" and not plated and extend > 1:
            more = _extend_short_chains(post, bm, tr, xs, ys, ws, center, chol, opts, extend)
            if more is not None:
                post = posterior(whitened(more[0]), more[1])
        timing["sample"] = time.perf_counter() - t0
    if warn:
        warn_design(start, "sample")
    if warn:    # every method: SVI's few-points and collapsing-noise checks apply too
        post.warn(stacklevel=3)     # the caller of sample/bootstrap
    return post


def _extend_short_chains(post: Posterior, bm, tr, xs, ys, ws, center, chol, opts,
                         extend: int):
    """``sample``'s ``extend``: the tasks of ``post`` below the r_hat/ESS thresholds
    continue their chains (`bayes.continue_nuts`) and are thinned back to ``samples``
    draws per chain. Returns (whitened draws [T, C, S, m], NUTS stats) for every task,
    or None when every task meets the thresholds."""
    from jaxfit.posterior import ESS_MIN_PER_CHAIN, RHAT_MAX

    d = post.diagnostics
    ess_min = min(ESS_MIN_PER_CHAIN * post.n_chains, 400)
    ess = np.minimum(d["ess_bulk"].to_numpy(), d["ess_tail"].to_numpy())
    short = (d["r_hat"].to_numpy() > RHAT_MAX) | (ess < ess_min)    # NaN (no draws): no
    # Thinning keeps the ESS of a chain whose draws are correlated, not of one that is
    # short because few draws were asked for (ESS about the draws' number): then the
    # warning's "raise samples" is the user's call.
    idx = np.flatnonzero(short) if post.n_chains * opts.samples >= 4 * ess_min else []
    if len(idx) == 0:
        return None
    # thinning by f keeps less than f times a chain's ESS: ask for twice the shortfall
    f = int(np.clip(np.ceil(2 * ess_min / max(float(ess[idx].min()), 1.0)), 2, extend))
    S = opts.samples
    more = bayes.continue_nuts(bm, jax.tree.map(lambda a: a[idx], tr),
                               {n: a[idx] for n, a in xs.items()}, ys[idx], ws[idx],
                               center[idx], chol[idx], opts, (f - 1) * S)

    def thinned(old, new, reduce=None):
        full = np.concatenate([np.asarray(old)[idx], np.asarray(new)], axis=2)
        full = full.reshape(full.shape[:2] + (S, f) + full.shape[3:])
        out = np.array(old)
        out[idx] = full[:, :, :, -1] if reduce is None else reduce(full, axis=3)
        return out

    z = thinned(tr.z, more.z)
    stats = dict(post.stats)
    for key, field in (("n_steps", "num_steps"), ("acceptance_rate", "accept_prob"),
                       ("energy", "energy")):
        stats[key] = thinned(getattr(tr, field), getattr(more, field))
    stats["lp"] = -thinned(tr.potential_energy, more.potential_energy)
    # a kept draw stands for f iterations: it is divergent if any of them was
    stats["diverging"] = thinned(tr.diverging, more.diverging, reduce=np.any)
    thin = np.ones(len(post.tasks), dtype=np.int64)
    thin[idx] = f
    stats["thinned"] = thin
    return z, stats


def _pool_names(pool) -> tuple:
    """``pool=`` as a tuple of names: one name given as a string is that name (before,
    ``tuple("alpha")`` split it into letters), and a name given twice is refused (before,
    numpyro's "all sites must have unique names" AssertionError, after the point fit)."""
    names = as_names(pool)
    twice = sorted({str(p) for p in names if names.count(p) > 1})
    if twice:
        raise ValueError(f"pool names {twice} more than once; name each pooled parameter "
                         f"once, e.g. pool={tuple(dict.fromkeys(names))!r}.")
    return names


# The conversions after sampling and after the bootstrap's refits, each one program (JAX's
# own cache, keyed by the model and the shapes). Run op by op, each of their operations
# was compiled at its first shape (~25 ms each). Measured in a new process on Epoch's
# Chinchilla data (session 25, 2-core CPU): `bootstrap(n=100)` 4.6 s -> 2.6 s, and 3.4 ->
# 2.5 s at a second shape; `sample` (2 chains, 100 + 100) 9.0 -> 8.0 s, and 3.2 -> 2.5 s.
@jax.jit
def _unwhiten(center, chol, z):
    """Sampler coordinates ``center + L z`` of whitened draws ``z`` [T, C, S, m]."""
    return center[:, None, None, :] + jnp.einsum("tij,tcsj->tcsi", chol, z)


@functools.partial(jax.jit, static_argnums=0)
def _split_draws(bm, v, ref):
    """Draws ``v`` [T, C, S, m] in sampler coordinates -> (constrained params, sigma)
    (``ref`` [T, n + 1], `bayes.data_references`; unused where the model has no level
    terms)."""
    return bm.split(v, ref[:, None, None, :])


@functools.partial(jax.jit, static_argnums=(0, 1))
def _refit_summaries(law, space, u, u_fit, x, y, w, wb):
    """The bootstrap's summaries of its refits ``u`` [n, T, k] on resample weights ``wb``
    [n, T, P]: each refit's RMS residual [n, T] and the full-data fit's [T]
    (`residual_scale`), the refits' constrained params ({name: [n, T]}), and each
    resample's distinct points [n, T]."""
    def resid(u, x, y, w):
        return residuals(law, unpack(law, u), x, y, space)

    return (residual_scale(resid, u, x, y, wb), residual_scale(resid, u_fit[None], x, y,
                                                              w[None])[0],
            unpack(law, u), jnp.sum(wb > 0, axis=-1))


def _run_plated(bm, law, key, xs, ys, ws, center, chol, opts, pool, jitter):
    """One plated NUTS model over all tasks (pooled and shared parameters)."""
    T = center.shape[0]
    v, hyper, extra = bayes.run_nuts_plated(bm, key, xs, ys, ws, center, chol, opts,
                                            pool=pool, shared=tuple(law.shared), jitter=jitter)
    per_task = lambda a: np.broadcast_to(np.asarray(a)[None], (T,) + np.shape(a))  # noqa: E731
    stats = {"diverging": per_task(extra["diverging"]), "n_steps": per_task(extra["num_steps"]),
             "acceptance_rate": per_task(extra["accept_prob"]),
             "energy": per_task(extra["energy"]), "lp": -per_task(extra["potential_energy"]),
             "warmup_n_steps": per_task(extra["warmup_num_steps"])}
    hyper = {k: np.asarray(a) for k, a in hyper.items()}
    return v, stats, hyper


def _check_priors(law: Law, priors: Mapping[str, Any] | None) -> None:
    """``priors=`` must name the law's free parameters (or the noise scale, or a pooled
    parameter's ``<name>_tau``) and give each a numpyro distribution that puts probability
    inside its constraint (`jaxfit.law.prior_problem`); checked before any fit."""
    for name, prior in (priors or {}).items():
        if name in law.fixed:
            raise ValueError(f"priors[{name!r}]: {name!r} is held fixed at "
                             f"{law.fixed[name]:g} in law {law.name!r} (jaxfit.fix), so it is "
                             "not sampled; drop its prior, or sample the law without fixing "
                             f"{name!r}.")
        if name in law.params or name == NOISE:
            problem = prior_problem(law.params[name].constraint if name in law.params
                                    else constraints.positive, prior)
            if problem:
                raise ValueError(f"priors[{name!r}]: {problem}")


def _check_priors_at(law: Law, priors: Mapping[str, Any] | None, start: FitResult) -> None:
    """Every user prior (``priors=`` or ``Param.prior``) must have positive density at the
    point fit the sampler starts from.

    Where it has none (a prior ``Uniform(1.9, 2.5)`` on a parameter whose best fit is
    1.82), NUTS cannot leave its start (measured: every draw equal to the fit, interval
    width 0, all transitions divergent) and a Laplace posterior is a Gaussian centred
    outside the prior's support (measured: 98% interval [1.79, 1.85] under
    ``Uniform(1.9, 2.5)``).
    """
    priors = dict(priors or {})
    values = np.asarray(start.values, dtype=np.float64)
    for j, name in enumerate(law.param_names):
        prior = priors.get(name, law.params[name].prior)
        if prior is None:
            continue
        with jax.enable_x64(True), warnings.catch_warnings():
            warnings.simplefilter("ignore")     # numpyro's out-of-support warning
            v = jnp.asarray(values[:, j])
            inside = np.asarray(prior.support(v), dtype=bool)
            lp = np.asarray(prior.log_prob(v))
        # a fit value that is not finite (a failed task) is the fit's problem, not the prior's
        ok = (inside & np.isfinite(lp)) | ~np.isfinite(values[:, j])
        if ok.all():
            continue
        bad = ~ok
        tasks = list(start.tasks[bad][:10])
        raise ValueError(
            f"the prior of {name!r}, {dist_text(prior)}, has zero density at the point fit "
            f"the sampler starts from ({name}={values[bad, j][0]:.6g} in {int(bad.sum())} "
            f"task(s) {tasks}): the sampler cannot move from there (NUTS's draws would all "
            "equal the fit; a Laplace posterior would centre outside the prior). Widen the "
            "prior to cover the data's best fit, or, if its bounds are hard limits, make them "
            f"the constraint of {name!r} (e.g. jaxfit.Param(constraints.interval(lo, hi), ...)) so "
            "that the fit respects them too.")


def warn_exponent_prior(law: Law, priors: Mapping[str, Any] | None, start: FitResult,
                        stacklevel: int = 2) -> bool:
    """Warn (`jaxfit.warnings.PriorWarning`) where the point fit's exponent of a declared
    power-law term lies outside its default prior's central 95% range
    (`bayes.TERM_EXPONENT_PRIORS` by the term's kind: [0.113, 0.799] for model or data
    size, [0.056, 0.400] for compute); only for exponents left to that default (no
    ``priors=`` entry, no ``Param.prior``). Returns True when it warned.

    There the prior, not the data, sets much of the posterior and pulls it toward the
    prior's median. Measured on real held-out models (benchmarks/compute_exponent_prior.py):
    a power law in compute fitted to the OLMo ladder's 16 runs per validation domain
    (exponents 0.047-0.175, 5 of 8 below the size prior's range) predicted the 7B and 13B
    losses with a median error of 1.1% (point fit), 2.3% (NUTS posterior median under the
    size prior, exponents pulled to 0.11-0.18), 0.7% (under the compute prior) and 0.9%
    (1,000-resample bootstrap, no prior).
    """
    from jaxfit.warnings import PriorWarning

    values = np.asarray(start.values, dtype=np.float64)
    names = list(law.param_names)
    kinds = {t.exponent: t.kind for t in law.terms}
    parts = []
    for name in bayes.default_exponents(law, priors):
        lo, hi = bayes.exponent_range(bayes.default_prior(law, name))
        v = values[:, names.index(name)]
        out = np.isfinite(v) & ((v < lo) | (v > hi))
        if out.any():
            i = int(np.flatnonzero(out)[0])
            parts.append(f"{name} (a term in {kinds[name]}: [{lo:.3f}, {hi:.3f}]) in "
                         f"{int(out.sum())} of {len(v)} task(s) (e.g. task "
                         f"{task_at(start.tasks, i)!r}: {v[i]:.3g})")
    if not parts:
        return False
    warnings.warn(
        f"the point fit's exponent lies outside its default prior's central 95% range for "
        f"{'; '.join(parts)}: there the prior pulls the posterior away from the fit, toward "
        "the prior's median. The default exponent priors are LogNormal(log 0.3, 0.5) for a "
        "term in model or data size and LogNormal(log 0.15, 0.5) for one in compute (on the "
        "OLMo ladder's power laws in compute, the posterior median's error at 7B/13B was "
        "2.3% under the size prior and 0.7% under the compute prior, against the fit's "
        "1.1%). Give a prior for the exponents you expect (priors=), or compare with "
        "jaxfit.bootstrap, which has no prior.", PriorWarning, stacklevel=stacklevel + 1)
    return True


def _other_objective(fit: Mapping, loss: str, space: str, delta: float) -> dict:
    """The options of a point fit (``start.options``, or ``{"loss": loss}`` of a fit to be
    made) that are not those of the objective ``loss``, ``space`` and, for a Huber loss,
    ``delta``: ``{name: the fit's value}`` in that order, empty where they all agree. An
    option the fit does not record is not compared, nor a delta where the losses differ
    (a squared or absolute loss has no delta). The rule of `_check_start`'s ``objective``
    and of `_check_sandwich_fit`."""
    want = {"loss": loss, "space": space, **({"delta": delta} if loss == "huber" else {})}
    bad = {k: fit[k] for k in want if k in fit and fit[k] != want[k]}
    if "loss" in bad:
        bad.pop("delta", None)
    return bad


def _check_sandwich_fit(lik, temper, space: str, fit: Mapping, start: bool) -> None:
    """ValueError where the Huber likelihood's power (``temper="sandwich"``, the default)
    would be computed at a point fit of another objective.

    `jaxfit.inference.tempering.learning_rate` takes the Huber objective's sandwich
    covariance (``lik.delta``, ``space``) at the point fit, the objective's optimum only
    where that fit is a Huber fit with the same delta in the same space. Measured on
    Chinchilla's 240 points (Laplace, 90% credible interval of the loss at N = 7e10,
    D = 1.4e12): the Huber fit's power 0.21 and width 0.0503; a squared-loss fit (given
    as ``start``, or made with ``loss="squared"``), a Huber fit in linear space or one with
    delta = 0.01 gave a power of 1 and a width of 0.0225 (2.2x too narrow), an
    absolute-loss fit 0.39 and 0.0363, without a word (a bootstrap already refused such a
    start).

    Args:
        lik: the call's likelihood.
        temper: the call's ``temper``.
        space: the call's ``space``.
        fit: the point fit's options: ``start.options``, or ``{"loss": loss}`` of the fit
            `sample` would make (its delta and space are the call's).
        start: whether ``fit`` is ``start``'s (the message names it).
    """
    if lik.kind != "huber" or not (isinstance(temper, str) and temper == "sandwich"):
        return
    bad = _other_objective(fit, "huber", space, lik.delta)
    if not bad:
        return
    got = ", ".join(f"{k}={v!r}" for k, v in bad.items())
    if start:
        what = f"start is a fit with {got}"
        fix = (f"give start=jf.fit(...) with loss='huber', delta={lik.delta!r} and "
               f"space={space!r}, or leave start=None")
        if "loss" not in bad:
            fix += f", or pass {got} here"
    else:
        what = f"loss={fit['loss']!r} makes the point fit"
        fix = "use loss='huber' (the default)"
    raise ValueError(
        f"{what}, but the Huber likelihood (likelihood='huber', the default) is tempered "
        f"(temper='sandwich', the default) by the sandwich covariance of the Huber fit "
        f"(loss='huber', delta={lik.delta!r}, space={space!r}) at the point fit, which is "
        "that fit's optimum only: at another fit the power is wrong (on Chinchilla, a "
        "squared-loss fit's power was 1 for the Huber fit's 0.21, its credible intervals "
        f"2.2x too narrow). Fix: {fix}; or use likelihood='normal' (whose maximum a "
        "squared-loss fit is), or temper='none' or a number.")


def _check_start(start, law: Law, tasks, y=None, x: Mapping | None = None, batch=None,
                 objective: Mapping | None = None) -> None:
    """``start`` must be a fit of ``law`` (same parameters, inputs and `jaxfit.fix`
    values) to the same target and input columns and the same tasks, in the same order:
    its values start the sampler or refits, set a bootstrap's noise scale (the residual
    scale of ``start`` on this call's data) and the sampler's tempering, and it is kept
    as ``Posterior.fit`` (the estimate of `jaxfit.optimal` for a bootstrap).

    Measured before the law and column checks: a bootstrap of ``fix(law, alpha=0.3)``
    given ``start=`` a fit of ``fix(law, alpha=0.2)`` ran without a word, with a noise
    scale 15x too large (0.147 for 0.010) and a 90% predictive interval [1.48, 2.38]
    instead of [1.84, 1.91].

    Where ``start`` holds its data (a fit of this session; not one loaded from JSON), its
    points must be ``batch``'s, and a bootstrap's ``objective`` (loss, space, and delta
    for a Huber loss: `_other_objective`) its options: a bootstrap of Chinchilla's 240
    points given a fit of its 96 points with N < 5e8 reported N* = 1.36e11 at 5.76e23
    FLOPs as `jaxfit.optimal`'s estimate, outside its own 90% interval
    [5.5e10, 1.05e11] (the full-data fit: 7.3e10), and a noise scale 1.4x too large."""
    from jaxfit.data import column_map

    fix = ("give start=jf.fit(...) of this law and data with the same y=, x= and by=, or "
           "leave start=None")
    if not (isinstance(start, FitResult)
            and list(start.law.param_names) == list(law.param_names)):
        raise ValueError("start must be a FitResult of the same law (parameters "
                         f"{list(law.param_names)}) on the same {len(tasks)} task(s).")
    if sorted(map(str, start.law.inputs)) != sorted(map(str, law.inputs)):
        raise ValueError(f"start is a fit of a law with inputs {list(start.law.inputs)}; law "
                         f"{law.name!r} takes {list(law.inputs)}; {fix}.")
    if not same_fixed(start.law.fixed, law.fixed):
        raise ValueError(f"start is a fit with fixed parameters {{{fixed_text(start.law.fixed)}}}; "
                         f"law {law.name!r} holds {{{fixed_text(law.fixed)}}}; {fix}.")
    o = start.options or {}
    if y is not None and "y" in o and o["y"] != y:
        raise ValueError(f"start is a fit of y={o['y']!r}, this call's target is y={y!r}; "
                         f"{fix}.")
    if "x" in o and column_map(law, o["x"]) != column_map(law, x):
        raise ValueError(f"start is a fit reading inputs from columns "
                         f"{column_map(law, o['x'])}, this call reads "
                         f"{column_map(law, x)}; {fix}.")
    if list(start.tasks) != list(tasks):
        raise ValueError(f"start is a fit of tasks {list(start.tasks)[:10]}, but the data "
                         f"have tasks {list(tasks)[:10]}; give start=jf.fit(...) of the same "
                         "data and by=, or leave start=None.")
    bad = _other_objective(o, **objective) if objective else {}
    if bad:
        key, value = next(iter(bad.items()))        # the first: loss, space, delta
        raise ValueError(f"start is a fit with {key}={value!r}, this call refits with "
                         f"{key}={objective[key]!r}; {fix}, or pass {key}={value!r} here.")
    data = getattr(start, "data", None)
    if batch is not None and data is not None:
        same = _same_points(data, dict(x=batch.x, y=batch.y, w=batch.w))
        if not same.all():
            task = list(tasks)[int(np.flatnonzero(~same)[0])]
            raise ValueError(f"start is a fit of other data than this call's: task {task!r} "
                             f"has other points (rows, values or weights); {fix}.")


def _same_points(a: Mapping, b: Mapping) -> np.ndarray:
    """[T] bool: whether two padded batches (``x``, ``y``, ``w``) hold, task by task, the
    same points of weight > 0 in any row order: the same count and, column by column, the
    same sorted values (so points whose inputs were swapped between rows pass)."""
    def columns(d):
        keep = np.asarray(d["w"]) > 0
        cols = [d["y"], d["w"], *(d["x"][n] for n in sorted(d["x"]))]
        return keep.sum(axis=1), [np.sort(np.where(keep, np.asarray(c, np.float64), np.inf),
                                          axis=1) for c in cols]

    (na, ca), (nb, cb) = columns(a), columns(b)
    same = na == nb
    if not same.all():
        return same
    m = int(na.max(initial=0))          # both are padded to at least this many points
    for u, v in zip(ca, cb):
        same &= (u[:, :m] == v[:, :m]).all(axis=1)
    return same


#: A bootstrap refit's floor at its bound: below this times the task's smallest |target|
#: (`_refits_at_floor`; the full-data fit that put E at 3e-9 had targets of 2-20).
NEAR_FLOOR = 1e-6


def _refits_at_floor(law: Law, objective, sol, x, y, wb, opts: SolverOptions):
    """Bootstrap refits whose floor ends at its bound, or that stopped, checked there.

    Started from a fit whose floor sits at its bound (a power law in compute on 12 points,
    E ~ 3e-9), a refit stays at that floor: in the solver's coordinates (log E) the
    objective is flat there whichever way it slopes in E. Measured on that task: 98 of
    200 refits stalled or hit the step cap, so the diagnostics flagged it, and in 63
    refits (29 of those, 34 "converged") the objective fell as E rose (``df/dE < 0``):
    their optimum was inside, at E = 0.014-6.8 with an objective 0.001-44% lower, which
    only 2 refits reached. So, with `jaxfit.inference.floor`'s pieces:

    1. a refit at the bound (E below `NEAR_FLOOR` times the smallest |target|) where
       ``df/dE < 0`` is refitted from E = half the smallest |target| (its other
       parameters where it ended), and replaced where that converges lower;
    2. a refit that stopped (anywhere; after 1) is refitted with the floor pinned at its
       bound, as `jaxfit.fit` refits its capped members, and replaced where that
       converges at or below its objective and the objective rises with the floor there
       (a minimum of the bounded problem).

    On that task: 63 refits replaced by (1) and 69 by (2); every refit converged.
    ``sol`` is unchanged where the law has no such floor or nothing applies.
    """
    from jaxfit.fit import _minimize_tasks, _refit_pinned, one_start
    from jaxfit.inference import floor
    from jaxfit.inference.status import Status

    i = floor.floor_index(law)
    if i is None:
        return sol
    u, f = np.array(sol.u), np.array(sol.f)                               # [n, T, k], [n, T]
    status, steps = np.array(sol.status), np.array(sol.steps)
    y, wb = np.asarray(y), np.asarray(wb)
    small = floor.smallest_target(y[None], wb)                            # [n, T]
    stopped = (status == Status.MAX_STEPS) | (status == Status.STALLED)
    near = u[..., i] < np.log(NEAR_FLOOR * small)

    def rows(mask):
        r, t = np.nonzero(mask)
        return r, t, y[t], wb[r, t], {n: np.asarray(a)[t] for n, a in x.items()}

    def replace(r, t, better, new_u, new_f, new_steps):
        r, t = r[better], t[better]
        u[r, t], f[r, t], status[r, t] = new_u[better], new_f[better], Status.CONVERGED
        steps[r, t] += new_steps[better]

    inside = np.zeros_like(near)         # at the bound, and the objective falls as E rises
    if near.any():
        r, t, yt, wt, xt = rows(near)
        inside[r, t] = floor.floor_slope(objective, i, u[r, t], xt, yt, wt) < 0
    if inside.any():                                  # 1: the optimum lies inside
        r, t, yt, wt, xt = rows(inside)
        u0 = u[r, t].copy()
        u0[:, i] = np.log(0.5 * small[r, t])
        new = _minimize_tasks(xt, yt, wt, u0[:, None, :], objective, one_start(opts), True)
        replace(r, t, (new.status == Status.CONVERGED) & (new.f < f[r, t]), new.u, new.f,
                new.steps)
    stopped &= status != Status.CONVERGED
    if stopped.any():                                 # 2: a minimum at the bound
        r, t, yt, wt, xt = rows(stopped)
        new, full, rises = _refit_pinned(law, objective, u[r, t], xt, yt, wt, opts)
        replace(r, t, ((new.status == Status.CONVERGED) & np.isfinite(new.f)
                       & (new.f <= f[r, t]) & rises), full, new.f, new.steps)
    if not (inside.any() or stopped.any()):
        return sol
    return sol._replace(u=u, f=f, status=status, steps=steps)


# ------------------------------------------------------------------------------ bootstrap


def _resample_column(data, name, option: str, fix: str) -> pd.Series:
    """``data[name]`` for `bootstrap`'s ``pinned`` / ``groups`` column, checked as
    `jaxfit.data.make_batch` checks the other columns.

    Raises:
        ValueError: the column is missing (with the data's close column, if any) or its
            name labels two or more columns, naming the option, the column and the fix.
    """
    if name not in data.columns:
        raise ValueError(f"bootstrap: {option}={name!r} is not a column of the data (columns "
                         f"{list(data.columns)}){did_you_mean([name], data.columns)}; {fix}")
    unique_columns(data, [name], where=f"bootstrap: {option}={name!r}: ")
    return data[name]


def _resample_masks(data, batch, pinned, groups) -> tuple[np.ndarray | None,
                                                            np.ndarray | None]:
    """`bootstrap`'s ``pinned`` and ``groups`` columns on ``batch``'s grid: ``pin``, a
    [T, P] bool mask of the rows kept in every resample, and ``gid``, [T, P] cluster ids,
    each task's clusters numbered ``0 .. m_t - 1`` (-1 on padding, pinned rows and rows of
    weight 0, which are in no cluster); None for no column.

    Raises:
        ValueError: a column is missing or duplicated; ``pinned`` holds other values than
            True/False (NaN included) or pins every row of a task; ``groups`` holds
            missing labels on drawn rows or gives a task a single cluster (nothing to
            resample), naming the column, the values or task(s) and the fix.
    """
    free = (batch.rows >= 0) & (batch.w > 0)       # the rows a resample draws
    rows = np.maximum(batch.rows, 0)
    pin = gid = None
    if pinned is not None:
        col = _resample_column(data, pinned, "pinned",
                               "give the name of a column of True/False marking the rows "
                               "kept in every resample.")
        values = col.to_numpy(dtype=object)
        bad = [v for v in values if not isinstance(v, (bool, np.bool_))]
        if bad:
            raise ValueError(f"bootstrap: column {pinned!r} (pinned) must hold True/False; it "
                             f"holds {bad[:3]!r} (dtype {col.dtype}). Fix: e.g. "
                             f"data.assign({pinned}=data[{pinned!r}].eq(...)).")
        pin = np.where(batch.rows >= 0, values.astype(bool)[rows], False)
        free &= ~pin
        empty = free.sum(axis=1) == 0
        if empty.any():
            raise ValueError(f"bootstrap: every row of task(s) {list(batch.tasks[empty][:5])} "
                             f"is pinned (column {pinned!r}), so there is nothing to "
                             "resample; pin only the protocol's pseudo-points.")
    if groups is not None:
        gid = _cluster_ids(_resample_column(
            data, groups, "groups", "give the name of a column whose values label the "
            "clusters (e.g. the training run of each checkpoint)."), groups, batch, free)
    return pin, gid


def _cluster_ids(col: pd.Series, groups, batch, free: np.ndarray) -> np.ndarray:
    """[T, P] cluster ids of the ``groups`` column ``col`` on the ``free`` rows of
    ``batch``'s grid (-1 elsewhere), each task's clusters numbered ``0 .. m_t - 1``.

    Raises:
        ValueError: missing labels on free rows, or a task with a single cluster.
    """
    rows = np.maximum(batch.rows, 0)
    missing = col.isna().to_numpy()
    bad = free & missing[rows]
    if bad.any():
        raise ValueError(f"bootstrap: column {groups!r} (groups) has {int(bad.sum())} missing "
                         f"labels (NaN/None) on resampled rows of task(s) "
                         f"{list(batch.tasks[bad.any(axis=1)][:5])}; every row that is drawn "
                         "must belong to a cluster: fill them, drop those rows, or pin them "
                         "(pinned=...) if they are part of the protocol.")
    codes = np.asarray(pd.factorize(col)[0], dtype=np.int64)                # by label
    T, P = batch.rows.shape
    K = int(codes.max()) + 2
    pair = (np.arange(T)[:, None] * K + codes[rows])[free]       # (task, label), no loop
    uniq, inv = np.unique(pair, return_inverse=True)
    first = np.searchsorted(uniq // K, np.arange(T))              # each task's first pair
    ids = np.full((T, P), -1, dtype=np.int32)
    ids[free] = inv.ravel() - first[np.nonzero(free)[0]]           # 0 .. m_t - 1 per task
    m = np.bincount(uniq // K, minlength=T)                       # clusters per task
    if (m < 2).any():
        one = list(batch.tasks[m < 2][:5])
        raise ValueError(f"bootstrap: task(s) {one} have a single cluster in column "
                         f"{groups!r} (groups), so a cluster bootstrap has nothing to "
                         "resample (every resample is the full data); give those tasks rows "
                         "of at least two clusters, drop them, or use groups=None to "
                         "resample rows.")
    return ids


def bootstrap(law: Law, data, y: str = "loss", by: str | Sequence[str] | None = None, *,
              n: int = 1000, x: Mapping[str, str] | None = None, weights=None,
              loss: str = "huber", delta: float = 1e-3, space: str = "log",
              reduction: str = "sum", init="random", restarts: int = 64,
              starts: str = "fit", seed: int = 0, method: str = "newton",
              max_steps: int = 1000, refine: int | None = 8, ftol: float = 1e-12,
              start: FitResult | None = None, warn: bool = True,
              pinned: str | None = None, groups: str | None = None) -> Posterior:
    """Nonparametric bootstrap: ``n`` resampled refits per task in one compiled call.

    Each resample draws every task's points with replacement (multinomial counts used as
    point weights, `jaxfit.inference.bootstrap`), and is refitted with the same objective
    as `jaxfit.fit` (default: Huber, delta = 1e-3, log residuals, summed; Hoffmann et al.
    2022 as replicated by Besiroglu et al. 2024, who report a 4,000-resample bootstrap).

    Args:
        law, data, y, by, x, weights, loss, delta, space, reduction, method, max_steps,
            ftol: as in `jaxfit.fit`.
        n: number of resamples.
        init, restarts, refine: starts of the full-data fit (as in `jaxfit.fit`); with
            ``starts="restarts"`` also of every refit.
        starts: "fit" (every refit starts at the task's full-data best fit, as Besiroglu
            et al. start theirs at one point; fast) or "restarts" (every refit is a full
            multi-start fit; ``restarts`` times more work). Either way a refit whose floor
            ends at its bound is checked there (`_refits_at_floor`): refitted from inside
            where the objective falls as the floor rises, pinned where it stopped.
        seed: random seed (starts and resampling).
        start: a `FitResult` of the same law and data (skips the full-data fit).
        warn: warn when more than 1% of a task's refits did not converge.
        pinned: a column of booleans: rows (True) in every resample once, not drawn,
            the other rows resampled among themselves: a pseudo-point that is part of
            the protocol rather than data, such as the model ladder's anchor (0, 1).
            Resampled with the rest, it was missing from a third of the resamples
            (``(1 - 1/n)^n``), whose refits are then of another protocol.
        groups: a column whose values label clusters of rows that are not independent
            (e.g. the checkpoints of one training run): a cluster (block) bootstrap that
            draws, per task, as many clusters as it has, with replacement, each row
            weighted by its cluster's count. Resampling such rows one by one treats them
            as independent and understates the spread. Pinned rows are in no cluster.
            Every task needs at least two clusters.

    Returns:
        A `Posterior` with ``method="bootstrap"``: one chain of ``n`` draws per task
        (``sigma``: draws of the noise scale for the predictive intervals, the full-data
        fit's residual scale with its degrees of freedom and their chi-square spread,
        `jaxfit.inference.bootstrap.noise_draws`), ``stats["rms"]`` each refit's own
        weighted RMS residual (~0 where a resample interpolates), ``stats["status"]`` the
        refits' `Status` codes and ``stats["distinct_points"]`` the distinct points of
        each resample (a resample with no more distinct points than parameters is
        interpolated, not fitted; ``Posterior.diagnostics`` reports the fraction).

    Example:
        >>> import jaxfit as jf
        >>> df = jf.datasets.load("chinchilla")
        >>> boot = jf.bootstrap(jf.models.chinchilla(), df[~df.epoch_excluded_outlier],
        ...                     n=200, init="grid")        # Epoch AI used n=4000
        >>> iv = boot.interval(prob=0.95)   # mean, sd, median, lower, upper
        >>> bool(iv.loc[(0, "alpha"), "lower"] < 0.3473 < iv.loc[(0, "alpha"), "upper"])
        True
    """
    check_law(law)
    checks.bootstrap_options(n=n, starts=starts, y=y, by=by, x=x, loss=loss, delta=delta,
                             space=space, reduction=reduction, init=init, restarts=restarts,
                             seed=seed, method=method, max_steps=max_steps, refine=refine,
                             ftol=ftol)
    if law.shared:
        raise ValueError(f"bootstrap: law {law.name!r} shares {list(law.shared)} across "
                         "tasks; resampling tasks jointly is not supported; use sample().")
    timing = {}
    t0 = time.perf_counter()
    batch = make_batch(data, law, y=y, by=by, x=x, weights=weights, space=space)
    pin, gid = _resample_masks(data, batch, pinned, groups)
    checks.law_output(law, batch.x, batch.w)       # before any compile
    if warn:
        checks.data_warnings(law, batch, make_starts(law, init=init, restarts=restarts,
                                                     seed=seed), space,
                             row_columns(law, y, by, x))
    if start is None:
        start = point_fit(law, data, y=y, by=by, x=x, weights=weights, loss=loss, delta=delta,
                          space=space, reduction=reduction, init=init, restarts=restarts,
                          seed=seed, method=method, max_steps=max_steps, refine=refine,
                          ftol=ftol, warn=False)
    else:
        _check_start(start, law, batch.tasks, y=y, x=x, batch=batch,
                     objective=dict(loss=loss, space=space, delta=delta))
    if warn:
        # the fit the refits start from, and the predictive noise scale's (and optimal's)
        start.warn_unconverged(where="bootstrap's start (the full-data fit)", stacklevel=3)
    timing["fit"] = time.perf_counter() - t0
    objective = make_objective(law, loss, float(delta), space, reduction)
    t0 = time.perf_counter()
    with jax.enable_x64(True):
        u_fit = jnp.asarray(user_starts(law, start.values))               # [T, k]
        if starts == "fit":
            u0 = u_fit[:, None, :]                                            # [T, 1, k]
            opts = SolverOptions(method=method, max_steps=max_steps, ftol=ftol, refine=None)
        else:
            u0 = jnp.asarray(make_starts(law, init=init, restarts=restarts, seed=seed))
            opts = SolverOptions(method=method, max_steps=max_steps, ftol=ftol, refine=refine)
        xs = {k: jnp.asarray(v) for k, v in batch.x.items()}
        ys, ws = jnp.asarray(batch.y), jnp.asarray(batch.w)
        key = jax.random.fold_in(jax.random.key(seed), 1)
        sol, wb = bootstrap_minimize(objective, u0, xs, ys, ws,
                                     jnp.asarray(batch.n_points), int(n), key, opts,
                                     pinned=None if pin is None else jnp.asarray(pin),
                                     groups=None if gid is None else jnp.asarray(gid))
        sol = _refits_at_floor(law, objective, sol, batch.x, batch.y, wb, opts)
        # a row of weight 0 is not data: the noise scale's degrees of freedom count the
        # points of weight > 0 (as FitResult.dof), not the rows
        n_pos = jnp.asarray((batch.w > 0).sum(axis=1))

        rms_refits, rms_fit, params, distinct = _refit_summaries(law, space, sol.u, u_fit,
                                                                 xs, ys, ws, wb)
        noise = noise_draws(rms_fit, n_pos,
                            jax.random.fold_in(jax.random.key(seed), 2),
                            len(law.param_names), int(n))                 # [n, T]
        # [T, 1, n] in C order, as `sample` and `jaxfit.io.load` make them (transposed
        # views summed to other last bits: a saved and loaded bootstrap's summary() means
        # and sds differed from the original's by an ulp)
        task_first = lambda a: np.ascontiguousarray(np.asarray(a).T[:, None, :])  # noqa: E731
        draws = {k: task_first(params[k]) for k in law.param_names}
        draws[bayes.NOISE] = task_first(noise)
        status = task_first(sol.status)
        distinct = task_first(distinct)
    timing["bootstrap"] = time.perf_counter() - t0
    lik = bayes.make_likelihood("normal", space)
    post = Posterior(
        law=law, tasks=batch.tasks, draws=draws, likelihood=lik, method="bootstrap",
        stats={"status": status, "steps": task_first(sol.steps),
               "distinct_points": distinct, "rms": task_first(rms_refits)},
        fit=start,
        options=dict(y=y, by=by_option(by), x=dict(x or {}), space=space, loss=loss,
                     delta=delta, reduction=reduction, n=n, starts=starts, seed=seed,
                     method=method, **({"pinned": pinned} if pinned is not None else {}),
                     **({"groups": groups} if groups is not None else {})),
        timing=timing, data=dict(x=batch.x, y=batch.y, w=batch.w))
    if warn:
        warn_design(start, "bootstrap", (wb, rms_refits, batch.y, batch.w, space))
        post.warn(stacklevel=3)     # the caller of sample/bootstrap
    return post
