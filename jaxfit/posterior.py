"""`Posterior`: draws of a law's parameters per task, their diagnostics and predictions.

Returned by `jaxfit.sample` (NUTS, SVI, Laplace) and `jaxfit.bootstrap` (resampled
refits: one "chain" of ``n`` draws). Intervals are equal-tailed: the ``(1 - prob)/2`` and
``(1 + prob)/2`` quantiles of the draws (as Besiroglu et al. 2024 report their bootstrap
intervals).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.inference import cache
from jaxfit.inference.bayes import CURVATURE_MIN, NOISE, Likelihood
from jaxfit.law import Law, fixed_text
from jaxfit.warnings import DiagnosticWarning

__all__ = ["Posterior", "DiagnosticWarning", "RHAT_MAX", "ESS_MIN_PER_CHAIN",
           "POINTS_PER_PARAM_MIN", "SIGMA_COLLAPSE", "CURVATURE_MIN"]

#: r_hat above this fails (Vehtari et al. 2021, "Rank-normalization, folding, and
#: localization: an improved R-hat", recommend 1.01).
RHAT_MAX = 1.01
#: Bulk and tail ESS below 100 per chain fail, at most 400 in all: below
#: ``min(100 * chains, 400)`` (Vehtari et al. 2021 ask for 400 over 4 chains).
ESS_MIN_PER_CHAIN = 100
#: Fewer fitted points per parameter than this: the diagnostics say the data
#: under-determine the law (issue 11's acceptance asks for 3x more points than parameters).
POINTS_PER_PARAM_MIN = 3
#: A noise scale below this (in the residual space: 1e-6 of a log loss) means the law
#: interpolates the data rather than fits it.
SIGMA_COLLAPSE = 1e-6
#: A drawn noise scale whose 95% quantile is more than this many times its median is
#: barely determined by the data, and the predictive intervals inherit its tail. The
#: limit is that ratio for a scale with 2 degrees of freedom (sigma^2 ~ scaled inverse
#: chi^2(2): sqrt(log 2 / -log 0.95) = 3.68), below which sigma^2 has no finite posterior
#: mean, so a predictive variance is set by sigma's prior. Measured (session 19,
#: `jf.sample(method="laplace")`, power law in compute, 1% noise): three 9-point tasks had
#: tempering powers 0.09-0.25, ratios 4.5-9.5, sigma draws up to 0.89 against a fitted
#: 0.01 and a 90% predictive interval [0.014, 28.8] around a loss of 1.9, and passed as
#: ok. The 100 tasks of issue 11's acceptance seed 9101 (40-60 points) reach at most 2.58;
#: the embedded OLMo ladder's 16-point tasks 1.71-3.33. The cause is the tempering power
#: on sigma's information; since session 22 NUTS's tempers the parameters only
#: (`jaxfit.inference.tempering.with_scale_term`): NUTS on those three tasks gave 7.9 /
#: 3.0 / 7.4 before, 2.0-2.3 after (Laplace's and SVI's Gaussians and the plated model
#: still temper sigma: see there why).
SIGMA_SPREAD_MAX = math.sqrt(math.log(2.0) / -math.log(0.95))
# CURVATURE_MIN (from `jaxfit.inference.bayes`): a Laplace posterior whose observed
# curvature at the mode has its smallest eigenvalue at or below this fraction of the
# largest (negative: a saddle) draws from the expected (Gauss-Newton) curvature there.


def _task_coords(tasks: pd.Index) -> np.ndarray:
    """Task labels as netCDF-safe values (MultiIndex levels joined by '|')."""
    if isinstance(tasks, pd.MultiIndex):
        return np.array(["|".join(map(str, t)) for t in tasks], dtype=str)
    values = np.asarray(tasks)
    if values.dtype.kind in "iufb":
        return values
    return values.astype(str)


@dataclasses.dataclass(frozen=True, eq=False)
class Posterior:
    """Draws of a law's parameters for every task, with diagnostics and predictions.

    Attributes:
        law: the `Law`.
        tasks: task labels (pandas Index; one unnamed task is labelled 0).
        draws: name -> [T, C, S] constrained draws (the law's parameters, then the noise
            scale ``"sigma"``); C chains of S draws (bootstrap: C = 1, S = resamples).
            ``sigma`` is the scale of the method's noise model, so compare it across
            methods with care: the residual standard deviation for a Normal likelihood
            and for a bootstrap (`jaxfit.inference.bootstrap.noise_draws`), the Student-t's
            scale (sd ``sigma sqrt(nu / (nu - 2))``), and for the default Huber likelihood
            its density's scale, which for ``delta << sigma`` is the Laplace scale, the
            mean absolute residual (sd ``~ sqrt(2) sigma``; on Gaussian residuals
            ``sigma ~ 0.80`` of their sd).
        likelihood: the observation model (`jaxfit.inference.bayes.Likelihood`); the
            predictive intervals draw its noise.
        method: "nuts", "svi", "laplace" or "bootstrap".
        stats: sampler statistics, name -> [T, C, S] (NUTS: ``diverging``, ``n_steps``
            leapfrog steps per iteration, ``acceptance_rate``, ``energy``, ``lp``; warm-up
            ``warmup_n_steps`` [T, C, W], and where `jaxfit.sample`'s ``extend`` continued
            a task's chains, ``thinned`` [T], the thinning factor; bootstrap: each refit's
            ``status``, ``steps``, ``distinct_points`` and in-sample ``rms``; Laplace: per
            task ``curvature_ratio`` and ``map_status``).
        hyper: population-level draws of a pooled fit, name -> [C, S] (``{p}_mu`` on
            the constrained scale, ``{p}_tau`` on the unconstrained one).
        fit: the point fit the sampler started from (a `jaxfit.FitResult`), if any.
        options: the call's settings (y, by, x mapping, space, ``priors``, ...). A loaded
            posterior (`jaxfit.load`) has its ``priors`` rebuilt as the numpyro
            distributions they were where they are classes of ``numpyro.distributions``
            with their constructor's arguments (Normal, LogNormal, HalfNormal, Uniform,
            Gamma, StudentT, ...); any other prior (a ``TransformedDistribution``, a
            truncated one, a user's class) comes back as a `jaxfit.law.PriorDescription`:
            a description only, which `jaxfit.sample` and any use as a distribution refuse.
        timing: seconds spent per stage.
        data: the padded batch arrays (``x``, ``y``, ``w``) for ``idata``'s observed data.
        temper: [T] the power on each task's likelihood (`jaxfit.inference.tempering`;
            1 = untempered; None: not recorded, e.g. a bootstrap); with NUTS on
            independent tasks (``options["scale_term"]``) the parameters' share only,
            sigma untempered.

    `jaxfit.sample` and `jaxfit.bootstrap` build one (``post = jf.sample(law, df,
    y="loss", by="task")``; docs/plots-and-files.md's example, run by the test suite,
    samples, saves and predicts); it can also hold draws made elsewhere.

    Example:
        >>> import numpy as np, pandas as pd, jaxfit as jf
        >>> from jaxfit.inference.bayes import Likelihood
        >>> rng = np.random.default_rng(0)
        >>> draws = {"E": rng.normal(1.7, 0.01, (1, 2, 500)),
        ...          "A": rng.lognormal(np.log(30.0), 0.05, (1, 2, 500)),
        ...          "alpha": rng.normal(0.08, 0.002, (1, 2, 500)),
        ...          "sigma": np.full((1, 2, 500), 0.01)}
        >>> post = jf.Posterior(law=jf.models.power_law("C"), tasks=pd.Index([0], name="task"),
        ...                     draws=draws, likelihood=Likelihood("normal", "log"),
        ...                     method="laplace")
        >>> s = post.summary(prob=0.9).loc[(0, "alpha")]
        >>> round(float(s["mean"]), 2), round(float(s["upper"] - s["lower"]), 3)
        (0.08, 0.007)
    """

    law: Law
    tasks: pd.Index
    draws: Mapping[str, np.ndarray]
    likelihood: Likelihood
    method: str
    stats: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    hyper: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    fit: Any = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    timing: Mapping[str, float] = dataclasses.field(default_factory=dict)
    data: Mapping[str, Any] | None = None
    temper: np.ndarray | None = None

    # ------------------------------------------------------------------ shapes, draws
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names of the draws: the law's, then the noise scale."""
        return tuple(self.draws)

    @property
    def n_chains(self) -> int:
        return next(iter(self.draws.values())).shape[1]

    @property
    def n_draws(self) -> int:
        """Draws per task (chains x draws per chain)."""
        a = next(iter(self.draws.values()))
        return a.shape[1] * a.shape[2]

    def flat(self, name: str) -> np.ndarray:
        """[T, C*S] draws of one parameter, chains concatenated.

        Raises:
            ValueError: ``name`` is not drawn (a typo, or a parameter held by `jaxfit.fix`),
                naming the drawn parameters.
        """
        if name not in self.draws:
            held = (f" it is fixed at {self.law.fixed[name]:g} (jaxfit.fix), not drawn;"
                    if name in self.law.fixed else "")
            raise ValueError(f"flat({name!r}):{held} the drawn parameters are "
                             f"{list(self.names)}.")
        a = self.draws[name]
        return a.reshape(a.shape[0], -1)

    def samples(self, task=None) -> pd.DataFrame:
        """One task's draws as a DataFrame (columns: parameters and sigma)."""
        i = self._task_pos(task)
        return pd.DataFrame({n: self.flat(n)[i] for n in self.names})

    def _task_pos(self, task) -> int:
        from jaxfit.result import task_position

        return task_position(self.tasks, task, "posterior")

    @property
    def params(self) -> pd.DataFrame:
        """Posterior means, one row per task (like `FitResult.params`)."""
        return pd.DataFrame({n: self.flat(n).mean(axis=1) for n in self.names},
                            index=self.tasks)

    def interval(self, prob: float = 0.9) -> pd.DataFrame:
        """Equal-tailed ``prob`` intervals of each parameter, one row per (task, param)."""
        return self.summary(prob=prob, diagnostics=False)

    def summary(self, prob: float = 0.9, diagnostics: bool = True) -> pd.DataFrame:
        """Mean, sd, median, equal-tailed ``prob`` interval (and r_hat, ESS) per task/param.

        Returns:
            A DataFrame indexed by (task, param): ``mean``, ``sd``, ``median``,
            ``lower``/``upper`` (the interval), ``kind`` and, for NUTS with
            ``diagnostics``, ``r_hat``, ``ess_bulk``, ``ess_tail``. ``kind`` follows
            `jaxfit.FitResult.summary`: ``free`` (drawn per task, the noise scale
            ``sigma`` too), ``pooled`` (drawn per task from a population across tasks,
            `jaxfit.sample`'s ``pool=``; its population is in `hyper`), ``shared`` (one
            value for all tasks, ``law.shared``) or
            ``fixed`` (held by `jaxfit.fix`, not drawn: its value as ``mean`` and
            ``median``, the other columns NaN; after each task's drawn ones,
            `jaxfit.result.fixed_rows`). The level is in ``.attrs["prob"]``. Rows are
            task-major, in the order of `jaxfit.FitResult.summary` (each task's parameters
            together; before, each parameter for every task, so ``summary().loc[task]`` of
            a task of several ``by`` columns raised pandas' PerformanceWarning and the
            rows did not line up with the point fit's summary).
        """
        from jaxfit.result import fixed_rows

        _check_prob(prob)
        lo, hi = (1 - prob) / 2, (1 + prob) / 2
        frames = []
        for n in self.names:
            d = self.flat(n)
            with np.errstate(invalid="ignore", over="ignore"):   # inf draws: inf/NaN, quietly
                q = np.quantile(d, [0.5, lo, hi], axis=1)
                mean, sd = d.mean(1), sample_sd(d, axis=1)
            frames.append(pd.DataFrame({"param": n, "mean": mean, "sd": sd,
                                        "median": q[0], "lower": q[1], "upper": q[2]},
                                       index=self.tasks))
        out = pd.concat(frames)
        out = out.set_index("param", append=True)
        out["kind"] = param_kinds(out.index.get_level_values("param"), self.law.shared,
                                  self.options.get("pool") or ())
        if diagnostics and self._is_mcmc:
            for stat in ("r_hat", "ess_bulk", "ess_tail"):
                ds = self._arviz_stat(stat)
                out[stat] = np.concatenate([np.asarray(ds[n].values).reshape(-1)
                                            for n in self.names])
        if self.law.fixed:
            out = pd.concat([out, fixed_rows(self.law.fixed, self.tasks, out.index.names,
                                             out.columns, ["mean", "median"])])
        # parameter-major so far (each block: every task); task-major as FitResult.summary
        task = np.tile(np.arange(len(self.tasks)), len(out) // max(len(self.tasks), 1))
        out = out.iloc[np.argsort(task, kind="stable")]
        out.attrs["prob"] = prob
        return out

    # --------------------------------------------------------------------- diagnostics
    @property
    def _is_mcmc(self) -> bool:
        return self.method == "nuts"

    @functools.cached_property
    def _arviz_cache(self) -> dict:
        return {}

    def _arviz_stat(self, stat: str):
        import arviz as az

        if stat not in self._arviz_cache:
            post = az.convert_to_dataset(
                {n: np.moveaxis(a, 0, -1) for n, a in self.draws.items()},
                coords={"task": _task_coords(self.tasks)},
                dims={n: ["task"] for n in self.names})
            self._arviz_cache[stat] = _chain_stat(post, stat, self.n_chains)
        return self._arviz_cache[stat]

    def _hyper_stats(self) -> dict[str, list[float]]:
        """r_hat, bulk and tail ESS (ArviZ) of each population-level draw of a pooled fit
        (`hyper`, [C, S]), which `diagnostics` counts in every task's worst value. Before,
        they were checked nowhere: a pooled fit whose ``E_tau`` had r_hat 1.04 passed
        as ok."""
        import arviz as az

        if not self.hyper:
            return {}
        ds = az.convert_to_dataset({n: np.asarray(a, np.float64)
                                    for n, a in self.hyper.items()})
        with np.errstate(invalid="ignore", divide="ignore"):     # constant draws: NaN
            return {stat: [float(v) for v in _chain_stat(ds, stat, self.n_chains).values()]
                    for stat in ("r_hat", "ess_bulk", "ess_tail")}

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Per task: worst r_hat, smallest bulk/tail ESS (ArviZ; of a pooled fit's population
        draws too, `hyper`, which every task's posterior depends on), divergences, leapfrog
        steps per iteration (sampling and warm-up), for a Laplace posterior the curvature's
        smallest-to-largest eigenvalue ratio at the mode (<= `CURVATURE_MIN`: the draws
        use the expected, Gauss-Newton curvature instead of the observed one),
        ``map_converged`` (Laplace: the search for the mode converged; else the Gaussian
        is centred at its last iterate), ``sigma_spread`` (drawn noise scales: the 95%
        quantile over the median, above `SIGMA_SPREAD_MAX` the data barely determine it),
        ``nonfinite_fraction`` (not a bootstrap: the draws with a NaN or infinite value,
        which fail) and ``ok`` (all thresholds met).

        Computed once per posterior (its draws and statistics are read as fixed after
        construction, as the ArviZ statistics behind r_hat and ESS already were) and
        returned as a copy, so changing the frame you get does not change the next one.
        Before, every access (`warn`, `report`, the command line's checks) computed it
        again."""
        return self._diagnostics.copy()

    @functools.cached_property
    def _diagnostics(self) -> pd.DataFrame:
        """`diagnostics`, computed on first use; not to be changed (`diagnostics` copies)."""
        T = len(self.tasks)
        out = pd.DataFrame(index=self.tasks)
        if self._is_mcmc:
            hyper = self._hyper_stats()
            for stat, red in (("r_hat", np.max), ("ess_bulk", np.min), ("ess_tail", np.min)):
                ds = self._arviz_stat(stat)
                per = [np.asarray(ds[n].values).reshape(T) for n in self.names]
                # a pooled fit's population draws are parameters of every task's posterior
                per += [np.full(T, v) for v in hyper.get(stat, ())]
                out[stat] = red(np.stack(per), axis=0)
        for key, col in (("diverging", "divergences"),):
            if key in self.stats:
                out[col] = self.stats[key].reshape(T, -1).sum(axis=1)
        if "n_steps" in self.stats:
            out["steps_per_iter"] = self.stats["n_steps"].reshape(T, -1).mean(axis=1)
        if "thinned" in self.stats:
            # `jaxfit.sample`'s ``extend``: chains continued to this many times the
            # samples and thinned back (1: as run)
            out["thinned"] = np.asarray(self.stats["thinned"]).reshape(T)
        if "warmup_n_steps" in self.stats:
            out["warmup_steps_per_iter"] = self.stats["warmup_n_steps"].reshape(T, -1).mean(1)
        if self.temper is not None:
            out["temper"] = np.asarray(self.temper, dtype=np.float64).reshape(T)
        if "status" in self.stats:
            out["converged_fraction"] = (self.stats["status"] == 0).reshape(T, -1).mean(axis=1)
        k = len(self.law.param_names)
        if self.data is not None:
            out["points"] = (np.asarray(self.data["w"]) > 0).sum(axis=1)
        if "distinct_points" in self.stats:
            # resamples with no more distinct points than parameters: interpolating refits
            out["underdetermined_fraction"] = (self.stats["distinct_points"]
                                               <= k).reshape(T, -1).mean(axis=1)
        if "curvature_ratio" in self.stats:
            # a Laplace posterior is a Gaussian only where the curvature at the mode is
            # positive definite (`jaxfit.inference.bayes.laplace_start`)
            out["curvature_ratio"] = np.asarray(self.stats["curvature_ratio"]).reshape(T)
        if "map_status" in self.stats:
            # a Laplace posterior is centred at the mode only where the mode search converged
            out["map_converged"] = np.asarray(self.stats["map_status"]).reshape(T) == 0
        # a bootstrap's sigma draws come from the full-data fit; its refits' own scales
        # are what collapse where resamples interpolate
        sigma = (self.stats["rms"].reshape(T, -1) if "rms" in self.stats
                 else self.flat(NOISE))
        out["sigma_collapsed_fraction"] = (sigma < SIGMA_COLLAPSE).mean(axis=1)
        if self.method != "bootstrap":
            # draws with a non-finite value (an SVI guide whose ELBO turned NaN, a Laplace
            # Gaussian wider than float64: exp(log A) = inf). Before, they passed as ok:
            # a 9-point power law's SVI drew NaN for every parameter, no warning. (A
            # bootstrap's failed refits are its converged_fraction; its sigma is NaN by
            # design for a task with no residual degrees of freedom.)
            bad = np.zeros((T, self.n_draws), dtype=bool)
            for n in self.names:
                bad |= ~np.isfinite(self.flat(n))
            out["nonfinite_fraction"] = bad.mean(axis=1)
        if "rms" not in self.stats and NOISE in self.draws:
            # drawn noise scales (not a bootstrap's, which are the full-data fit's)
            with np.errstate(divide="ignore", invalid="ignore"):
                out["sigma_spread"] = (np.quantile(sigma, 0.95, axis=1)
                                       / np.median(sigma, axis=1))
        out["ok"] = self._ok(out)
        if self.method == "bootstrap":
            out["method"] = "bootstrap"   # resampled refits: no chain diagnostics apply
        return out

    def _ok(self, d: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(d), dtype=bool)
        if "r_hat" in d:
            ess_min = min(ESS_MIN_PER_CHAIN * self.n_chains, 400)
            ok &= (d["r_hat"].to_numpy() <= RHAT_MAX) & (d["ess_bulk"].to_numpy() >= ess_min) \
                & (d["ess_tail"].to_numpy() >= ess_min)
        if "divergences" in d:
            ok &= d["divergences"].to_numpy() == 0
        if "converged_fraction" in d:
            ok &= d["converged_fraction"].to_numpy() >= 0.99
        if "points" in d:
            ok &= d["points"].to_numpy() >= POINTS_PER_PARAM_MIN * len(self.law.param_names)
        if "underdetermined_fraction" in d:
            ok &= d["underdetermined_fraction"].to_numpy() <= 0.01
        if "curvature_ratio" in d:
            ok &= d["curvature_ratio"].to_numpy() > CURVATURE_MIN
        if "map_converged" in d:
            ok &= d["map_converged"].to_numpy(bool)
        ok &= d["sigma_collapsed_fraction"].to_numpy() <= 0.01
        if "nonfinite_fraction" in d:
            ok &= d["nonfinite_fraction"].to_numpy() == 0
        if "sigma_spread" in d:
            ok &= ~(d["sigma_spread"].to_numpy() > SIGMA_SPREAD_MAX)
        return ok

    def warn(self, stacklevel: int = 2) -> bool:
        """Emit a `DiagnosticWarning` for tasks failing the usual thresholds; True if all pass."""
        bad = ~self._diagnostics["ok"].to_numpy(bool)
        if not bad.any():
            return True
        labels = list(self.tasks[bad][:10])
        parts, fix = self._failures(np.arange(len(self.tasks)))
        warnings.warn(f"{self.method}: {'; '.join(parts)}; tasks {labels}. Fix: {fix}. "
                      "See Posterior.diagnostics.", DiagnosticWarning, stacklevel=stacklevel)
        return False

    def warn_failed(self, rows: np.ndarray | None = None, where: str = "predict",
                    stacklevel: int = 3) -> bool:
        """Warn (`DiagnosticWarning`) when any of the tasks at positions ``rows`` (None:
        every task) failed its diagnostics (`diagnostics`' ``ok``), so that numbers drawn
        from the posterior later (`predict`, `jaxfit.predict_chain`) are flagged where they
        are used, not only where it was drawn (`warn`, which `jaxfit.sample` and
        `jaxfit.bootstrap` call). One warning: the count of those tasks and the first 3,
        what failed and the fix, as `warn` words them (`_failures`). A bootstrap has no
        r_hat or ESS: it warns only where its own checks failed. Cheap after the first
        call: the diagnostics are computed once per posterior. Returns True when it warned.

        Its message matches `jaxfit.warnings.FAILED_DIAGNOSTICS`, for a caller that has
        said it already (the recipes, after `jaxfit.sample` warned)."""
        text = self.failed_text(rows)
        if text is None:
            return False
        warnings.warn(f"{where}: {text}", DiagnosticWarning, stacklevel=stacklevel)
        return True

    def failed_text(self, rows: np.ndarray | None = None) -> str | None:
        """The text of `warn_failed` (without its ``where``) for the tasks at positions
        ``rows`` (None: all), or None when none of them failed its diagnostics."""
        ok = self._diagnostics["ok"].to_numpy(bool)
        idx = np.arange(len(ok)) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
        bad = idx[~ok[idx]]
        if not bad.size:
            return None
        labels = list(self.tasks[bad][:3])
        more = f" and {bad.size - 3} more" if bad.size > 3 else ""
        parts, fix = self._failures(bad)
        how = "jaxfit.bootstrap" if self.method == "bootstrap" else "jaxfit.sample"
        return (f"{bad.size} task(s) {labels}{more} of this posterior ({self.method}) failed "
                f"their diagnostics: {'; '.join(parts)}; their intervals may be unreliable. "
                f"Fix: draw it again ({how}): {fix}. See Posterior.diagnostics.")

    def _failures(self, idx: np.ndarray) -> tuple[list[str], str]:
        """What failed and the fix: ``(parts, fix)`` of the diagnostics of the tasks at
        positions ``idx``, the message of `warn` (all tasks) and `warn_failed` (the failing
        tasks a prediction used)."""
        d = self._diagnostics.iloc[np.asarray(idx, dtype=np.int64)]
        T = len(d)
        parts = []
        if "r_hat" in d:
            n = int((d["r_hat"] > RHAT_MAX).sum())
            if n:
                parts.append(f"r_hat > {RHAT_MAX} in {n} task(s) (max {d['r_hat'].max():.3f})")
            if self.n_chains < 2:
                parts.append("r_hat needs 2 or more chains (1 chain ran; use chains >= 2, "
                             "4 is usual)")
            ess_min = min(ESS_MIN_PER_CHAIN * self.n_chains, 400)
            n = int(((d["ess_bulk"] < ess_min) | (d["ess_tail"] < ess_min)).sum())
            if n:
                parts.append(f"bulk or tail ESS < {ess_min} in {n} task(s)")
            if "thinned" in d and (d["thinned"] > 1).any():
                parts.append(f"chains already continued to {int(d['thinned'].max())}x the "
                             "samples and thinned in "
                             f"{int((d['thinned'] > 1).sum())} task(s) (sample's extend=)")
        if "divergences" in d and d["divergences"].sum():
            if self.hyper or self.law.shared or self.options.get("batching") == "plate":
                # one plated chain for all tasks: each task's row holds the same count
                # (before, summed over tasks: T times the divergences there were)
                parts.append(f"{int(d['divergences'].max())} divergent transitions in the "
                             f"joint model of all {len(self.tasks)} task(s)")
            else:
                parts.append(f"{int(d['divergences'].sum())} divergent transitions in "
                             f"{int((d['divergences'] > 0).sum())} task(s)")
        if "converged_fraction" in d:
            n = int((d["converged_fraction"] < 0.99).sum())
            if n:
                parts.append(f"more than 1% of resampled refits did not converge in {n} "
                             "task(s)")
        k = len(self.law.param_names)
        few = "points" in d and bool((d["points"] < POINTS_PER_PARAM_MIN * k).any())
        if few:
            n = int((d["points"] < POINTS_PER_PARAM_MIN * k).sum())
            parts.append(f"fewer than {POINTS_PER_PARAM_MIN} points per parameter ({k} "
                         f"parameters; min {int(d['points'].min())} points) in {n} task(s): "
                         "the data under-determine the law")
        if "underdetermined_fraction" in d:
            n = int((d["underdetermined_fraction"] > 0.01).sum())
            if n:
                parts.append(f"more than 1% of resamples have at most {k} distinct points "
                             f"(as many as parameters) in {n} task(s)")
        if "curvature_ratio" in d:
            n = int((d["curvature_ratio"] <= CURVATURE_MIN).sum())
            if n:
                parts.append(f"the curvature at the mode is not positive definite in {n} "
                             f"task(s) (smallest eigenvalue ratio "
                             f"{d['curvature_ratio'].min():.2g}): the Laplace draws there "
                             "use the expected (Gauss-Newton) curvature instead, a Gaussian "
                             "that can be several times wider than the posterior; use "
                             "method='nuts'")
        if "map_converged" in d:
            n = int((~d["map_converged"].to_numpy(bool)).sum())
            if n:
                parts.append(f"the search for the posterior's mode did not converge in {n} "
                             "task(s): the Laplace Gaussian there is centred at its last "
                             "iterate, not at a mode; use method='nuts'")
        n = int((d["sigma_collapsed_fraction"] > 0.01).sum())
        if n:
            parts.append(f"the noise scale sigma collapses below {SIGMA_COLLAPSE:g} in more "
                         f"than 1% of draws in {n} task(s) (the law interpolates the data)")
        if "nonfinite_fraction" in d:
            n = int((d["nonfinite_fraction"] > 0).sum())
            if n:
                # each parameter's count (before, `jaxfit sample` printed them in a line of
                # its own beside this warning: the same fact twice)
                per = ", ".join(f"{p}: {c}" for p, c in _nonfinite_counts(
                    {name: np.asarray(a)[idx] for name, a in self.draws.items()}).items())
                parts.append(f"draws with a non-finite value (NaN or inf) in {n} task(s) (up "
                             f"to {d['nonfinite_fraction'].max():.0%} of the draws; "
                             f"non-finite per parameter, of {T * self.n_draws} draws each: "
                             f"{per}; see Posterior.flat): the posterior is too wide for "
                             "float64 along "
                             "a poorly identified direction, or the method failed (an SVI "
                             "ELBO that diverged), so its summaries and predictions there "
                             "are NaN or inf")
        wide = "sigma_spread" in d and bool((d["sigma_spread"] > SIGMA_SPREAD_MAX).any())
        if wide:
            n = int((d["sigma_spread"] > SIGMA_SPREAD_MAX).sum())
            power = ""
            if "temper" in d:
                t = d["temper"].to_numpy()[d["sigma_spread"].to_numpy() > SIGMA_SPREAD_MAX]
                # with the sigma-only term (NUTS on independent tasks) sigma is untempered
                if (t < 1).any() and not self.options.get("scale_term", False):
                    power = (f"; tempering power {t.min():.2g}-{t.max():.2g} there, each "
                             "point counting that much")
            parts.append(f"the noise scale sigma is barely determined in {n} task(s): its 95% "
                         f"quantile is up to {d['sigma_spread'].max():.3g} times its median "
                         f"(limit {SIGMA_SPREAD_MAX:.3g}{power}), and the predictive "
                         "intervals inherit that tail (the credible intervals of the mean "
                         "less so)")
        if self.method == "bootstrap":
            # only refits that did not converge are helped by more steps or restarts; the
            # other checks (too few points, interpolating resamples, a collapsing noise
            # scale) fail on the data, whatever the refits' solver
            refits = "converged_fraction" in d and bool((d["converged_fraction"] < 0.99).any())
            fix = ("raise max_steps, or use starts='restarts' (multi-start refits)" if refits
                   else "add data or fit a law with fewer parameters")
            if few and not refits:
                few = False               # the same advice, once
        elif self.method == "laplace":
            fix = ("use method='nuts' (the default), add data, or add informative priors on "
                   "the poorly identified parameters (priors=)")
        else:
            # Measured (benchmarks/README.md, issue 11): on poorly identified laws a higher
            # target_accept made divergences worse, so it is not recommended here.
            fix = ("raise warmup/samples, add data or informative priors on the poorly "
                   "identified parameters (priors=), or fit a law with fewer parameters")
        if few:
            fix = "add data or fit a law with fewer parameters; " + fix
        # (a barely determined sigma is not advised temper='none': measured
        # (benchmarks/README.md, session 19) on 9-40 point tasks, its narrower credible
        # intervals covered 63-71% of the truths against 79-85% tempered; every method's
        # advice above already says to add data)
        return parts, fix

    # -------------------------------------------------------------------------- arviz
    @functools.cached_property
    def idata(self):
        """ArviZ ``InferenceData``.

        Groups: ``posterior`` (each parameter with dims chain, draw, task); ``sample_stats``
        (NUTS); ``constant_data`` (inputs ``x_<name>``, ``weight`` and the target
        ``y_padded`` with dims task, point; padding is NaN); and over the fitted points,
        flattened to one ``obs`` dimension (coordinate ``obs_task``: the task of each point):
        ``observed_data`` ``y`` (in the likelihood's space, e.g. log loss),
        ``log_likelihood`` ``y`` (pointwise ``w_i log p(o_i | theta, sigma)`` per draw)
        and ``posterior_predictive`` ``y`` (a new observation per draw). So ``az.loo``,
        ``az.waic``, ``az.compare`` (laws fitted to the same data in the same ``space``)
        and ``az.plot_ppc`` work. The densities are of the observation in the likelihood's
        space (log y for ``space="log"``), so a log-space and a linear-space posterior's
        ``elpd`` differ by the Jacobian ``sum(log y)`` as well as by fit: do not compare
        across spaces (``idata.posterior.attrs["space"]`` says which).

        A bootstrap (``method="bootstrap"``) stores its ``n`` refits as one chain of the
        ``posterior`` group with the attribute ``inference="bootstrap"``: resampled refits
        are not a Markov chain, so chain diagnostics (r_hat, ESS) do not apply (use
        ``az.summary(post.idata, kind="stats")``), and it has no likelihood groups.
        """
        import arviz as az

        coords = {"task": _task_coords(self.tasks)}
        post = {n: np.moveaxis(a, 0, -1) for n, a in self.draws.items()}    # [C, S, T]
        dims = {n: ["task"] for n in post}
        for n, a in self.hyper.items():
            post[n] = a
            dims[n] = []
        stats = {}
        for n, a in self.stats.items():
            if n.startswith("warmup_") or a.ndim != 3:
                continue
            stats[n] = np.moveaxis(a, 0, -1)
            dims[n] = ["task"]
        kw = dict(posterior=post, coords=coords, dims=dims)
        if stats and self.method != "bootstrap":
            kw["sample_stats"] = stats
        if self.data is not None:
            w = np.asarray(self.data["w"], dtype=np.float64)
            mask = w > 0
            pad = lambda a: np.where(mask, np.asarray(a, dtype=np.float64), np.nan)  # noqa: E731
            kw["constant_data"] = {f"x_{n}": pad(a) for n, a in self.data["x"].items()}
            kw["constant_data"]["weight"] = w
            kw["constant_data"]["y_padded"] = pad(self.data["y"])
            for n in kw["constant_data"]:
                dims[n] = ["task", "point"]
            if self.temper is not None:
                kw["constant_data"]["temper"] = np.asarray(self.temper, dtype=np.float64)
                dims["temper"] = ["task"]
            if self.method != "bootstrap":
                obs, ll, pp = self._pointwise(mask)
                kw["observed_data"] = {"y": obs}
                kw["log_likelihood"] = {"y": ll}
                kw["posterior_predictive"] = {"y": pp}
                coords["obs"] = np.arange(obs.shape[0])
                dims["y"] = ["obs"]
        idata = az.from_dict(**kw)
        if self.data is not None and self.method != "bootstrap":
            tpos = np.nonzero(np.asarray(self.data["w"]) > 0)[0]
            for g in ("observed_data", "log_likelihood", "posterior_predictive"):
                # setattr, not idata[g] = ...: ArviZ's __setitem__ appends g to the group
                # list again, so groups() listed these three twice and to_netcdf wrote them
                # twice
                obs_task = ("obs", coords["task"][tpos])
                setattr(idata, g, idata[g].assign_coords(obs_task=obs_task))
        idata.posterior.attrs.update(law=self.law.name, method=self.method,
                                     likelihood=self.likelihood.kind,
                                     space=self.likelihood.space)
        if self.temper is not None:
            idata.posterior.attrs["temper"] = str(self.options.get("temper", "sandwich"))
        if self.method == "bootstrap":
            idata.posterior.attrs["inference"] = "bootstrap"
        return idata

    def _pointwise(self, mask: np.ndarray):
        """Observed values, pointwise log-likelihood [C, S, n] and predictive draws [C, S, n]
        at the fitted points (``mask`` [T, P]), in the likelihood's space."""
        t_idx, p_idx = np.nonzero(mask)
        x = {n: np.asarray(a, dtype=np.float64)[t_idx, p_idx] for n, a in self.data["x"].items()}
        y = np.asarray(self.data["y"], dtype=np.float64)[t_idx, p_idx]
        w = np.asarray(self.data["w"], dtype=np.float64)[t_idx, p_idx]
        C = self.n_chains
        with jax.enable_x64(True):
            # Each task's draws [T, C*S] go in once; the point's task picks them inside the
            # program (a host-side gather copied them for every point: 1.15 GB for 100
            # tasks x 60 points x 4,000 draws x 6 parameters).
            p = {n: jnp.asarray(self.flat(n)) for n in self.names}
            ll, pp, obs = _pointwise_draws(self.law, self.likelihood, p, jnp.asarray(t_idx),
                                           {n: jnp.asarray(v) for n, v in x.items()},
                                           jnp.asarray(y), jnp.asarray(w), jax.random.key(0))
            ll, pp, obs = np.asarray(ll), np.asarray(pp), np.asarray(obs)
        shape = lambda a: np.moveaxis(a.reshape(a.shape[0], C, -1), 0, -1)  # noqa: E731
        return obs, shape(ll), shape(pp)

    # --------------------------------------------------------------------- prediction
    def _rows(self, df: pd.DataFrame, where: str = "predict"):
        """Task position of each row of ``df`` (or None: every task for every row);
        ``where`` names the caller in errors."""
        from jaxfit.predictions import task_rows

        return task_rows(self.tasks, self.options.get("by"), df, where=where)

    def _inputs(self, df: pd.DataFrame) -> dict:
        from jaxfit.checks import prediction_inputs

        return prediction_inputs(self.law, df, self.options.get("x"))

    def param_draws(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Per-row draws [n, D] of every parameter (``rows`` = task position of each row)."""
        return {n: self.flat(n)[rows] for n in self.names}

    def predict_draws(self, df: pd.DataFrame, seed: int = 0):
        """Draws of the law's mean and of a new observation at each row of ``df``.

        Each row's new observation is drawn from its own random stream (`row_streams`):
        ``seed`` folded with a hash of the row's task and of the law's input values there,
        so a row's draws are the same whichever other rows are in ``df``, at whatever
        position, and whether its task comes from a ``by`` column or from predicting every
        task. Rows with the same task and inputs get the same draws; another ``seed``,
        other draws. Before, all rows drew from one key, so a row's predictive bounds moved
        by Monte Carlo noise when rows were added to the call.

        Returns:
            (index, mean [n, D], predictive [n, D]); ``index`` is ``df.index`` when each row
            maps to one task, else a (task, row) MultiIndex with all tasks for every row.

        Raises:
            ValueError: ``seed`` is not a non-negative integer (as `predict`; before, -1 was
                taken and 1.5 raised JAX's "PRNG key seed must be an integer; got
                JitTracer").
        """
        from jaxfit.checks import nonnegative_seed
        from jaxfit.predictions import fan_out

        nonnegative_seed(seed)
        x = self._inputs(df)
        rows, x, index = fan_out(self.tasks, df, self._rows(df), x)
        p = self.param_draws(rows)
        mean, pred = draw_predictions(self.law, self.likelihood, p, x, seed=seed, rows=rows)
        return index, mean, pred

    def predict(self, df: pd.DataFrame, prob: float = 0.9, seed: int = 0,
                warn: bool = True) -> pd.DataFrame:
        """Predictions with intervals at the rows of ``df`` (inputs mapped as in the fit).

        Columns: ``df``'s own, then ``mean``, ``median``, ``sd``, ``credible_lower``/
        ``credible_upper`` (the equal-tailed ``prob`` interval of the law's mean),
        ``predictive_lower``/``predictive_upper`` (the same for a new observation, with
        the fitted noise); an input column of the same name is kept and the prediction
        goes to ``<name>_pred`` (`jaxfit.predictions`). Rows align with ``df.index`` when
        the posterior has one task or ``df`` holds the ``by`` column(s); otherwise the
        index is (task, row) with every task for every row. Where some draws of the law's
        mean are <= 0 in a log-space posterior, a row's predictive draws there are NaN:
        its bounds leave out up to `max_dropped` of them (each bound the one all draws
        would give had those lain beyond it, `predictive_bounds`) and are NaN with more;
        a `FitWarning` names those rows and counts the draws (`warn_undefined`). A row's
        predictive bounds depend on its task, its inputs and ``seed`` only, not on the
        other rows of ``df`` or its position there (`predict_draws`).

        Args:
            df: the rows to predict at.
            prob: the probability of the credible and predictive intervals, in (0, 1).
            seed: the seed of the new-observation draws (a non-negative integer).
            warn: warn (`FitWarning`) when rows' predictive draws are not finite
                (`warn_undefined`), and (`DiagnosticWarning`, once per call) when a
                predicted task failed its diagnostics (`warn_failed`: before, intervals
                from a posterior whose chains had not converged came back without a word
                once `jaxfit.sample`'s own warning had scrolled by); the figures pass
                False, as they never draw the predictive bounds.
        """
        from jaxfit.predictions import prediction_frame

        _check_prob(prob)
        index, mean, pred = self.predict_draws(df, seed=seed)      # checks the seed first
        iv = interval_frame(index, mean, pred, prob)
        if warn:
            warn_undefined(index, mean, pred, self.likelihood.space, self.method,
                           bounds=iv[["predictive_lower", "predictive_upper"]].to_numpy(),
                           prob=prob)
            self.warn_failed(self._rows(df))      # at predict's caller
        out = prediction_frame(df, index, {c: iv[c].to_numpy() for c in iv.columns})
        out.attrs["prob"] = prob
        return out

    def residuals(self, df: pd.DataFrame) -> pd.DataFrame:
        """Residuals at the rows of ``df`` (e.g. the data it was sampled on), at the
        posterior median prediction.

        The shape and columns of `jaxfit.FitResult.residuals`: ``df``'s columns plus
        ``prediction``, here the posterior median of the law's mean at each row (the
        ``median`` of `predict`, the curve `jaxfit.plot.plot_residuals` draws; not the
        law at the parameters' medians), and ``residual``, observed minus predicted in
        the likelihood's space (``log y - log prediction`` for ``space="log"``, ``y -
        prediction`` for ``"linear"``); one row per input row (``df`` must name its task
        when the posterior has several). A row with no residual (a value <= 0 in log
        space) is NaN, with a `FitWarning`.
        """
        from jaxfit.predictions import law_values, prediction_frame
        from jaxfit.result import check_residual_rows, with_residuals

        y = check_residual_rows(self, df)
        x = self._inputs(df)
        rows = self._rows(df, "residuals")  # one task, or df names each row's task
        mean = law_values(self.law, {n: self.flat(n)[rows] for n in self.law.param_names},
                          {n: v[:, None] for n, v in x.items()})            # [n, D]
        with np.errstate(invalid="ignore"):
            median = np.median(np.broadcast_to(mean, (len(rows), self.n_draws)), axis=1)
        out = prediction_frame(df, df.index, {"prediction": median})
        return with_residuals(df, out, y, self.likelihood.space == "log")

    # ------------------------------------------------------------------------ display
    def _draws_text(self, per_task: str = "") -> str:
        """What the draws are: NUTS chains; a bootstrap's resampled refits and Laplace or
        SVI draws are independent, so they are not called chains (before, a bootstrap
        showed "1 chain(s) x 20 draws", and r_hat/ESS are not computed for them)."""
        _, C, S = next(iter(self.draws.values())).shape
        if self.method == "nuts":
            return f"{C} chain(s) x {S} draws{per_task}"
        what = "resampled refits" if self.method == "bootstrap" else "independent draws"
        return f"{C * S} {what}{per_task} (no chains: r_hat and ESS do not apply)"

    def __repr__(self) -> str:
        T = len(self.tasks)
        head = (f"Posterior({self.method}, {self.law.name}, {T} task(s), "
                f"{self._draws_text()}, likelihood={self.likelihood.kind}")
        fixed = "".join(f", {n}={v:.4g} (fixed)" for n, v in self.law.fixed.items())
        if T == 1:      # sd with ddof=1, as summary()'s (before: ddof=0 here only)
            text = head + "; " + ", ".join(f"{n}={self.flat(n)[0].mean():.4g} "
                                           f"(sd {sample_sd(self.flat(n)[0]):.2g})"
                                           for n in self.names) + fixed + ")"
        else:
            text = f"{head}; params: {', '.join(self.names)}{fixed})"
        return text if len(text) < 900 else text[:895] + " ...)"

    def report(self, prob: float = 0.9, max_tasks: int | None = 10) -> str:
        """A plain-text report: method, draws, a pooled fit's population (`hyper`: mean
        and ``prob`` interval), each task's posterior summary (mean, sd, equal-tailed
        ``prob`` interval; r_hat and ESS for NUTS) and diagnostics, for at most
        ``max_tasks`` tasks (None: all)."""
        from jaxfit.result import shown_tasks, task_rows

        T = len(self.tasks)
        shown = shown_tasks(T, max_tasks)
        lines = [f"[[Posterior]] {self.method}: {self.law.name}: {self.law.formula}".rstrip(),
                 f"    {T} task(s), {self._draws_text(' per task')}, "
                 f"likelihood={self.likelihood.kind} ({self.likelihood.space} space); "
                 f"{prob:g} intervals"]
        if self.law.fixed:      # as FitResult.report: held by jaxfit.fix, not sampled
            lines.append("    fixed: " + fixed_text(self.law.fixed))
        if self.hyper:          # pooled parameters' population (before: shown nowhere)
            lines.append(f"    population of the pooled parameter(s) (mean [{prob:g} "
                         "interval]): " + self._hyper_text(prob))
        diag = self.diagnostics
        lines.append(f"    diagnostics ok in {int(diag['ok'].sum())} of {T} task(s)")
        summ = self.summary(prob=prob)
        fmt = "{:.6g}".format
        for i, task in enumerate(self.tasks[:shown]):
            p = task_rows(summ, task)
            d = diag.iloc[i]
            lines.append(f"[[Task {task}]] " + ", ".join(
                f"{k}={fmt(v) if isinstance(v, (float, np.floating)) else v}"
                for k, v in d.items()))
            lines.append("  " + p.to_string(float_format=fmt).replace("\n", "\n  "))
        if T > shown:
            lines.append(f"... {T - shown} more task(s): see summary() and diagnostics")
        return "\n".join(lines)

    def _hyper_text(self, prob: float) -> str:
        """``name mean [lower, upper]`` of each population-level draw (`hyper`)."""
        lo, hi = (1 - prob) / 2, (1 + prob) / 2
        parts = []
        for n, a in self.hyper.items():
            a = np.asarray(a, dtype=np.float64).reshape(-1)
            q = np.quantile(a, [lo, hi])
            parts.append(f"{n} {a.mean():.4g} [{q[0]:.4g}, {q[1]:.4g}]")
        return ", ".join(parts)

    def _repr_html_(self) -> str:
        import html

        T = len(self.tasks)
        diag = self.diagnostics
        head = html.escape(f"Posterior ({self.method}): {self.law.name}  "
                           f"{self.law.formula}".strip())
        summ = self.summary(prob=0.9)
        if T > 10:
            from jaxfit.result import first_tasks

            summ = first_tasks(summ, self.tasks)
        fixed = html.escape("; fixed: " + fixed_text(self.law.fixed) if self.law.fixed else "")
        return (f"<p><b>{head}</b><br>{T} task(s), {html.escape(self._draws_text())}, "
                f"likelihood={html.escape(self.likelihood.kind)}{fixed}; diagnostics ok in "
                f"{int(diag['ok'].sum())} of {T} task(s); 0.9 intervals</p>"
                + summ.to_html(float_format="{:.6g}".format)
                + diag.head(10).to_html(float_format="{:.6g}".format))


def param_kinds(names, shared, pool) -> np.ndarray:
    """`Posterior.summary`'s ``kind`` of each of ``names``: ``"shared"`` (``law.shared``),
    ``"pooled"`` (named in ``pool``, `jaxfit.sample`'s ``pool=``) or ``"free"``. Before, a
    pooled parameter was listed as ``free``, like one drawn per task with no population."""
    from jaxfit.law import as_names

    names = np.asarray(names, dtype=object)
    return np.where(np.isin(names, list(shared)), "shared",
                    np.where(np.isin(names, list(as_names(pool))), "pooled", "free"))


def _chain_stat(ds, stat: str, n_chains: int):
    """ArviZ's ``stat`` ("r_hat", "ess_bulk", "ess_tail") of a dataset of [chain, draw,
    ...] draws; r_hat is NaN for one chain (undefined; ArviZ would return NaN after logging
    a warning)."""
    import arviz as az

    if stat == "r_hat" and n_chains < 2:
        return ds.map(lambda a: np.full(a.shape[2:], np.nan))
    if stat == "r_hat":
        return az.rhat(ds)
    return az.ess(ds, method=stat.split("_")[1])


def _nonfinite_counts(draws: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Each parameter's number of NaN or infinite draws (all tasks), those with any."""
    counts = {n: int((~np.isfinite(a)).sum()) for n, a in draws.items()}
    return {n: c for n, c in counts.items() if c}


def sample_sd(draws: np.ndarray, axis: int = -1) -> np.ndarray:
    """The sample sd (ddof=1) of draws along ``axis``: what every sd of draws reports
    (`Posterior.summary`, its repr and predictions, `jaxfit.optimal`); NaN for a single
    draw (no spread to estimate), without numpy's warning."""
    draws = np.asarray(draws)
    if draws.shape[axis] > 1:
        return draws.std(axis=axis, ddof=1)
    return np.full(np.delete(draws.shape, axis % draws.ndim), np.nan)


def _check_prob(prob: float):
    from jaxfit.checks import real

    real("prob", prob, lo=0.0, hi=1.0, why="the interval's probability, e.g. 0.9")


def max_dropped(n: int, prob: float) -> int:
    """The most NaN draws of ``n`` that `predictive_bounds` leaves out of a row's equal-tailed
    ``prob`` bounds: ``floor((n - 1) (1 - prob) / 2)``, the whole draws below the position
    of numpy's (linear) lower quantile, so that each bound stays between finite draws
    wherever the left-out ones would lie (e.g. 9 of 200 draws at ``prob=0.9``, 199 of
    4,000, none of 20)."""
    return int(np.floor((n - 1) * ((1 - prob) / 2)))


def predictive_bounds(pred: np.ndarray, prob: float) -> np.ndarray:
    """Equal-tailed ``prob`` bounds [n, 2] of each row's predictive draws ``pred`` [n, D].

    A NaN draw (a law's mean <= 0 in log space, a NaN noise scale or parameter) is no
    value, so numpy's quantile made both bounds NaN: a single NaN among 400 bootstrap
    draws of a linear law near zero cost its row the interval (measured, session 27).
    Now a row's NaN draws are left out when there are at most `max_dropped` of them, and
    each bound is the one all ``D`` draws would give had the dropped ones lain beyond it
    (below the lower bound, above the upper): the lower bound is the finite draws'
    quantile at ``((D - 1) lo - d) / (m - 1)``, the upper at ``(D - 1) hi / (m - 1)``, for
    ``d`` dropped and ``m = D - d`` kept draws, so the interval holds the ``prob`` interval
    of all draws wherever the dropped ones would have been. With more NaN draws a bound is
    NaN. Rows without a NaN draw get ``np.quantile`` of their draws, as before; infinite
    draws are values (beyond every finite one) and are kept.
    """
    pred = np.asarray(pred, dtype=np.float64)
    rows, D = pred.shape
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    out = np.full((rows, 2), np.nan)
    d = np.isnan(pred).sum(axis=1)
    ok = d <= max_dropped(D, prob)
    with np.errstate(invalid="ignore"):
        # infinite draws where a bound falls: non-finite bounds, which `warn_undefined`
        # explains (before, numpy's "invalid value encountered in subtract" came with it)
        if (ok & (d == 0)).any():
            out[ok & (d == 0)] = np.quantile(pred[ok & (d == 0)], [lo, hi], axis=1).T
        for k in np.unique(d[ok & (d > 0)]):
            sel = ok & (d == k)
            m = D - int(k)
            kept = np.sort(pred[sel], axis=1)[:, :m]          # NaN sorts last
            levels = np.clip([((D - 1) * lo - k) / (m - 1), (D - 1) * hi / (m - 1)], 0, 1)
            out[sel] = np.quantile(kept, levels, axis=1).T
    return out


def interval_frame(index, mean: np.ndarray, pred: np.ndarray, prob: float) -> pd.DataFrame:
    """The DataFrame of `Posterior.predict` from mean and predictive draws [n, D]; the
    predictive bounds are `predictive_bounds` (a few NaN draws left out)."""
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    q = np.quantile(mean, [0.5, lo, hi], axis=1)
    qp = predictive_bounds(pred, prob)
    # ddof=1, as Posterior.summary's and jaxfit.optimal's sd (before: ddof=0 here, 2.6%
    # smaller at a 20-resample bootstrap)
    sd = sample_sd(mean, axis=1)
    out = pd.DataFrame({"mean": mean.mean(axis=1), "median": q[0], "sd": sd,
                        "credible_lower": q[1], "credible_upper": q[2],
                        "predictive_lower": qp[:, 0], "predictive_upper": qp[:, 1]},
                       index=index)
    out.attrs["prob"] = prob
    return out


def warn_undefined(index, mean: np.ndarray, pred: np.ndarray, space: str, method: str,
                   bounds, prob: float, where: str = "predict", stacklevel: int = 3) -> bool:
    """Warn (`FitWarning`) when rows' predictive draws [n, D] are not finite, saying why
    (`_causes`): the law's mean is <= 0 in some draws (a log-space likelihood has no
    observation there), the mean is not finite, or the noise is not (`noise_cause`: what
    makes it so for a posterior of ``method``, the `Posterior.method` whose noise the
    draws carry). Returns True when it warned.

    ``bounds`` [n, 2] are the rows' predictive bounds (`interval_frame`), of ``prob``
    intervals. A few NaN draws are left out of the bounds (`predictive_bounds`) and a few
    infinite draws lie beyond them, so the bounds stay finite: the warning says which rows
    have no interval and which have one despite such draws, and how many NaN draws their
    bounds left out (before, a single NaN draw made both bounds NaN, and before that the
    warning said "predictive_lower/upper are NaN" of every such row, beside finite bounds
    of 0.000242 and 3961.89).

    Before, `Posterior.predict` and `jaxfit.predict_chain` returned those NaN bounds
    without a word (`jaxfit predict` said only "N predicted values are not finite")."""
    from jaxfit.warnings import FitWarning

    bad = ~np.isfinite(pred)
    rows = bad.any(axis=1)
    if not rows.any():
        return False
    kept = rows & np.isfinite(np.asarray(bounds, dtype=np.float64)).all(axis=1)
    if kept.any():
        _warn_beyond_bounds(index, mean, pred, kept, space, method, where, stacklevel + 1)
    rows = rows & ~kept
    if not rows.any():
        return True
    k = int(bad[rows].sum(axis=1).max())
    labels = list(np.asarray(index, dtype=object)[rows][:5])
    why, fix = _causes(np.asarray(mean)[rows], bad[rows], space, method)
    n = pred.shape[1]
    drop = ""
    if np.isnan(pred[rows]).any():
        # the rule of `predictive_bounds`, so that a row with a few NaN draws is not
        # thought to have lost its interval to them
        drop = (f" (NaN draws are left out of the bounds only up to {max_dropped(n, prob)} "
                f"of {n}, as many as lie beyond a {prob:g} bound: with more, a bound "
                "depends on where the left-out draws would lie)")
    warnings.warn(f"{where}: {int(rows.sum())} of {len(rows)} row(s) have no predictive "
                  f"interval (rows {labels}): in up to {k} of {n} draws "
                  f"{'; or '.join(why)}, so predictive_lower/upper are not finite{drop}; "
                  "mean, median, sd and the credible bounds use every draw. Fix: "
                  f"{'; or '.join(fix)}.",
                  FitWarning, stacklevel=stacklevel)
    return True


def _causes(m: np.ndarray, b: np.ndarray, space: str, method: str
            ) -> tuple[list[str], list[str]]:
    """Why some predictive draws are not finite, and the fixes: ``(why, fix)``, one entry
    each per cause found among the rows' law means ``m`` [n, D] at their non-finite draws
    ``b`` [n, D] (bool): the mean <= 0 in log ``space``, the mean not finite, and for the
    rest the noise (`noise_cause` of ``method``)."""
    nonfinite = ~np.isfinite(m) & b
    nonpos = (m <= 0) & b if space == "log" else np.zeros_like(b)
    why, fix = [], []
    if nonpos.any():
        why.append("the law's mean is <= 0 (a log-space likelihood needs a positive one: "
                   "the law goes through zero there, e.g. beyond the range it was fitted on)")
        fix.append("predict where the law is positive, or fit the target in "
                   "space='linear' if it can be <= 0")
    if nonfinite.any():
        why.append("the law's mean is not finite")
        fix.append("check the law at those inputs")
    if (b & ~nonpos & ~nonfinite).any():
        cause, remedy = noise_cause(method, space)
        why.append(cause)
        fix.append(remedy)
    return why, fix


def _warn_beyond_bounds(index, mean, pred, kept, space, method, where, stacklevel) -> None:
    """The warning for rows whose predictive draws are not all finite but whose bounds are
    (``kept``): their infinite draws lie beyond the bounds, and their NaN draws, at most
    `max_dropped` of a row's, were left out of them (`predictive_bounds`), which it counts;
    the cause as `_causes` gives it."""
    from jaxfit.warnings import FitWarning

    p = pred[kept]
    bad = ~np.isfinite(p)
    nan = np.isnan(p).sum(axis=1)
    k = int(bad.sum(axis=1).max())
    labels = list(np.asarray(index, dtype=object)[kept][:5])
    why, fix = _causes(np.asarray(mean)[kept], bad, space, method)
    if not nan.any():
        what = "infinite"
        how = "Their predictive bounds are finite (the infinite draws lie beyond them)"
    else:
        what = "NaN or infinite" if np.isinf(p).any() else "NaN"
        how = (f"Their predictive bounds are finite: up to {int(nan.max())} NaN draw(s) per "
               f"row ({int(nan.sum())} in all) are left out of them, "
               f"{left_out_clause(pred.shape[1])}"
               + ("; the infinite draws lie beyond them" if np.isinf(p).any() else ""))
    warnings.warn(f"{where}: {int(kept.sum())} of {len(kept)} row(s) have {what} predictive "
                  f"draws (rows {labels}): in up to {k} of {pred.shape[1]} draws "
                  f"{'; or '.join(why)}. {how}, but the draws are not all sound. Fix: "
                  f"{'; or '.join(fix)}.", FitWarning, stacklevel=stacklevel)


def left_out_clause(n: int) -> str:
    """What a bound `predictive_bounds` gives a row with NaN draws left out is, in the words
    of the warnings that say so (`_warn_beyond_bounds`, `jaxfit.backtest`'s
    `_warn_left_out_draws`), for rows of ``n`` draws."""
    return f"each bound the one all {n} draws would give had the left-out ones lain beyond it"


def noise_cause(method: str, space: str) -> tuple[str, str]:
    """Why a posterior of ``method`` (`Posterior.method`) draws non-finite new
    observations where the law's mean is finite (and positive in log ``space``), and the
    fix: ``(cause, fix)`` for `warn_undefined`.

    A bootstrap's noise scale is NaN for a task with no residual degrees of freedom
    (`jaxfit.inference.bootstrap.noise_draws`). The other methods draw ``log sigma``: a
    Laplace Gaussian too wide for the data (where its curvature at the mode is not
    positive definite, so the wider Gauss-Newton form is used, or its mode search did not
    converge) draws ``log sigma`` beyond 709, where ``sigma = inf`` (measured: power law
    in compute, 8 points, ``likelihood="studentt", nu=0.3``: 2,004 of 4,000 sigma draws
    infinite, 990 predictive draws not finite, 4 of them with a finite sigma of up to
    5e260); NUTS and SVI where their draws of sigma are not bounded (a diverging chain or
    guide, a wide prior on sigma). In log space a finite but huge draw of the noise (a
    large sigma, a heavy Student-t tail) overflows ``exp`` as well. Before, every
    method's warning named the bootstrap's cause.
    """
    if method == "bootstrap":
        return ("the noise scale is not finite (a bootstrap of a task with no more points "
                "than parameters has no residual degrees of freedom)",
                "give that task more points than parameters, or fix parameters with "
                "jaxfit.fix")
    log = space == "log"
    what = "the noise scale sigma is not finite" + (
        ", or so large that a new observation exp(log mean + noise) overflows" if log else "")
    if method == "laplace":
        return (f"{what}: the Laplace Gaussian of log sigma is too wide for the data (its "
                "curvature at the mode is not positive definite, or its mode search did not "
                "converge: see Posterior.diagnostics)",
                "use method='nuts' (the default), add data, or give sigma an informative "
                "prior (priors={'sigma': ...})")
    why = (f"{what}: {method}'s draws of sigma are not bounded by the data and prior (a "
           "diverging chain or guide, a wide prior on sigma"
           + (", or a heavy Student-t tail at small nu" if log else "")
           + ": see Posterior.diagnostics)")
    fix = ("check Posterior.diagnostics and Posterior.flat('sigma'); add data, or give sigma "
           "an informative prior (priors={'sigma': ...})")
    return why, fix + (", or with likelihood='studentt' a larger nu" if log else "")


def _splitmix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer (Steele, Lea & Flood 2014) on uint64 values: each input
    bit changes about half the output bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_streams(x: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Each prediction row's noise stream for `draw_predictions` (uint32 [n]): a hash of
    its task position ``rows`` [n] and its input values ``x`` (name -> [n], inputs in
    name order, compared bit for bit as float64, -0.0 as 0.0).

    A row's stream is what identifies it, so its draws do not depend on the other rows
    of a call (`Posterior.predict_draws`). Not its position (a row's position changes
    when rows are added before it) nor ``df``'s index (a row predicted alone usually has
    another label): its task and inputs are the row, as far as a prediction is
    concerned. Two rows' streams coincide with probability 2^-32 (they then draw the
    same noise, each row's interval unchanged).
    """
    h = _splitmix(np.asarray(rows, dtype=np.int64).astype(np.uint64)
                  + np.uint64(0x9E3779B97F4A7C15))
    for name in sorted(x):
        v = np.ascontiguousarray(np.asarray(x[name], dtype=np.float64).reshape(-1) + 0.0)
        h = _splitmix(h ^ v.view(np.uint64))
    return (h >> np.uint64(32)).astype(np.uint32)


@cache.jit(static_argnums=(0, 1))
def _pointwise_draws(law: Law, lik: Likelihood, params, task, x, y, w, key):
    """Pointwise log-likelihood, predictive draws [n, D] and observed values [n] at points
    ``x, y, w`` [n] of tasks ``task`` [n], from per-task draws ``params`` [T, D]."""
    params = {n: a[task] for n, a in params.items()}              # [n, D]
    xs = {n: v[:, None] for n, v in x.items()}                     # [n, 1] vs draws [n, D]
    theta = {n: params[n] for n in law.param_names}
    d = lik.dist(lik.location(law, theta, xs), params[NOISE])
    obs = lik.observed(y)
    return w[:, None] * d.log_prob(obs[:, None]), d.sample(key), obs


@cache.jit(static_argnums=(0, 1))
def _draw(law: Law, lik: Likelihood, params, x, key, streams):
    xs = {n: v[:, None] for n, v in x.items()}                     # [n, 1] vs draws [n, D]
    theta = {n: params[n] for n in law.param_names}
    loc = lik.location(law, theta, xs)
    mean = law(theta, xs)
    sigma = jnp.broadcast_to(params[NOISE], loc.shape)
    # row i's noise from its own key: independent of the other rows in the call
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(streams)
    obs = jax.vmap(lambda k, m, s: lik.dist(m, s).sample(k))(keys, loc, sigma)
    return jnp.broadcast_to(mean, obs.shape), lik.to_target(obs)


def draw_predictions(law: Law, lik: Likelihood, params: Mapping[str, np.ndarray], x: Mapping,
                     seed: int, rows):
    """Law-mean and predictive draws [n, D] from per-row parameter draws [n, D].

    ``rows`` (int [n]): each row's task position. Row i's noise is drawn from its own key,
    ``fold_in(key(seed), row_streams(x, rows)[i])``, so a row's draws do not depend on
    which other rows are in the call (every caller passed those streams itself).
    """
    streams = row_streams(x, rows)
    with jax.enable_x64(True):
        p = {n: jnp.asarray(v, dtype=jnp.float64) for n, v in params.items()}
        xx = {n: jnp.asarray(v, dtype=jnp.float64) for n, v in x.items()}
        st = jnp.asarray(streams, dtype=jnp.uint32)
        mean, pred = _draw(law, lik, p, xx, jax.random.key(seed), st)
        return np.asarray(mean), np.asarray(pred)
