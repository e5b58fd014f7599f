"""Emergence laws from finetuning (Snell et al. 2024): `emergence` and `fewshot_elbow`.

Snell, Wallace, Klein, Levine (2024), "Predicting Emergent Capabilities by Finetuning",
arXiv:2411.16035 (COLM 2024). Task performance is a ReLU in pre-training loss, flat
before the emergence point and linear after it; finetuning on ``D`` examples moves the
emergence point to higher loss, ``E(D) = k (log D)^alpha + C`` (the "log power law";
``k D^alpha + C`` is the paper's "power law" ablation), and the few-shot emergence point
is its low-data limit ``E(D0)``: the pre-training loss at which the capability appears
*without* finetuning, predicted from models that have not reached it yet.

`emergence` runs the paper's protocol (the forms are in `jaxfit.models.emergence`):

1. *Per-subset elbows*: `jaxfit.models.relu_elbow` fitted to every (task, data amount)
   subset in one vmapped `jaxfit.fit` call (starts: elbow candidates at the quantiles of
   the subset's losses). They give the starts of step 2 and the dots of the ``E`` vs
   ``D`` plot.
2. *Joint fit* (the paper's MLE): `jaxfit.models.emergence` on every subset of a task at
   once (shared ``A, B``; the elbow moves with ``D``), least squares in linear space (a
   Gaussian likelihood), damped Newton from starts where, for a grid of ``alpha``,
   ``k`` and ``C`` solve the linear least-squares fit of the step-1 elbows.
3. *Uncertainty*: the posterior by NumPyro NUTS (`jaxfit.sample`, Normal likelihood with
   a fitted noise scale, started at the joint fit) and the nonparametric bootstrap over
   points (`jaxfit.bootstrap`); the table reports the 5%, 50% and 95% points of the
   predicted few-shot emergence loss ``E(D0)`` under both, as the paper's Table 3.

Readings of what the paper leaves unverified (``papers/METHODS.md``, section 4), chosen
here and why:

* the ReLU is fitted through a softplus of fixed temperature ``tau`` (default 0.02 nats:
  at most ``A tau log 2`` from the ReLU, far below the 0.1-nat success criterion; a kink
  would give the Newton solver and NUTS a discontinuous gradient);
* ``A`` and ``B`` are shared by all data amounts (the paper's Figure 3 shows the curves
  shifting, not changing slope), ``k, alpha > 0`` (finetuning moves emergence to higher
  loss);
* ``D0`` defaults to 5, the number of in-context examples of a 5-shot prompt (the paper
  reports that ``D0`` anywhere up to about 10x the shot count changes little);
* few-shot rows (``fewshot=`` column) are optional: they enter the joint fit at
  ``D = D0``, and with ``fewshot_shift=True`` with their own base ``B + Delta``;
* the likelihood is Gaussian in performance with one noise scale per task, and the priors
  are `jaxfit.sample`'s weakly informative defaults (the paper does not give them).

`fewshot_elbow` fits the ReLU alone, one curve per task: the paper's few-shot "ground truth"
elbow. It is what real data *without* a finetuning axis allow, and what the shipped
demonstrations (`olmo_demo`, `obs_demo`) run: they estimate the few-shot emergence point
directly from checkpoints on both sides of it, with posterior and bootstrap intervals;
nothing is extrapolated from finetuning.

Example (synthetic data; about a minute, mostly compilation):
    >>> from jaxfit.recipes.emergence import emergence
    >>> from jaxfit.recipes.emergence_plot import plot_emergence
    >>> res = emergence(df, y="accuracy", loss="loss", D="n_train")     # doctest: +SKIP
    >>> res.emergence[["mle", "posterior_5", "posterior_50", "posterior_95"]]  # doctest: +SKIP
    >>> fig = plot_emergence(res)                                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.checks import whole
from jaxfit.datasets.loaders import (  # noqa: F401 (re-exported)
    load_obs_emergent, load_olmo_emergence)
from jaxfit.data import make_batch
from jaxfit.datasets import recorded_unit
from jaxfit.fit import fit
from jaxfit.law import Law
from jaxfit.models.emergence import DEFAULT_TEMPERATURE, FORMS, emergence as emergence_law
from jaxfit.models.emergence import emergence_shift, relu_elbow
from jaxfit.recipes.points import evaluate
from jaxfit.recipes.protocol import RecipeResult
from jaxfit.result import FitResult
from jaxfit.warnings import ConvergenceWarning, IdentifiabilityWarning

__all__ = ["emergence", "fewshot_elbow", "rise_test", "EmergenceResult", "load_olmo_emergence",
           "load_obs_emergent", "olmo_demo", "obs_demo", "run_emergence", "emergence_or_elbow", "DEMOS", "QUANTILES",
           "FIT_OPTIONS", "SAMPLE_OPTIONS", "EMERGENCE_SAMPLE_OPTIONS", "OLMO_RC_TASKS",
           "OLMO_MC_TASKS", "OBS_TASKS"]

#: Quantiles of the emergence point reported (the paper's Table 3: 5%, median, 95%).
QUANTILES = (0.05, 0.5, 0.95)
#: Default `jaxfit.fit` options of every fit (least squares on performance = the MLE
#: under Gaussian noise).
FIT_OPTIONS = {"loss": "squared", "space": "linear", "max_steps": 1000, "refine": None}
#: Default `jaxfit.sample` options (NUTS) of `fewshot_elbow`.
SAMPLE_OPTIONS = {"chains": 4, "warmup": 500, "samples": 500}
#: ... and of `emergence`: target_accept = 0.95, as the (k, alpha, C) posterior is
#: banana-shaped (extrapolating to D0 trades k against alpha) and at 0.8 NUTS diverges in
#: its tail (measured on the synthetic test: 111 vs 3-13 of 2,000 draws; 22 on the code of
#: 2026-11-30, docs/recipes/emergence.md).
EMERGENCE_SAMPLE_OPTIONS = {**SAMPLE_OPTIONS, "target_accept": 0.95}
#: alpha grid of the joint fit's starts, per form.
_ALPHA_GRID = {"log_power": (0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
               "power": (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)}
#: Elbows of `rise_test`'s likelihood-ratio profile.
RISE_GRID = 200
_ELBOW_QUANTILES = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
_CITATION = ("Snell, Wallace, Klein, Levine (2024), 'Predicting Emergent Capabilities by "
             "Finetuning', arXiv:2411.16035.")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)    # RecipeResult.__repr__
class EmergenceResult(RecipeResult):
    """What `emergence` and `fewshot_elbow` return: tidy DataFrames, fits and posteriors
    (the recipe protocol, `jaxfit.recipes.protocol`: `table` is ``emergence``).

    Attributes:
        emergence: one row per task: ``D0`` (NaN for `fewshot_elbow`), ``mle`` (the point
            fit's emergence point: ``E(D0)``, or ``E`` for `fewshot_elbow`), ``posterior_5``,
            ``posterior_50``, ``posterior_95`` (NUTS quantiles), ``bootstrap_5``,
            ``bootstrap_50``, ``bootstrap_95``, and diagnostics ``r_hat`` (worst over
            parameters), ``divergences``, ``bootstrap_converged`` (fraction of refits);
            and ``rise_p`` (`rise_test`: above 0.05 the data show no rise, so ``E`` is not
            an elbow; for `emergence` the joint test that no data amount rises: the sum of
            the amounts' likelihood-ratio statistics against the sum of their null draws).
        params: the point fit per task (`jaxfit.FitResult.to_frame`).
        elbows: one row per task and data amount: ``D``, ``n_points``, ``elbow`` (the
            subset's own ReLU elbow; NaN for the few-shot row), ``law`` (``E(D)`` of
            the joint fit; for `fewshot_elbow` both are ``E``) and, for `emergence`,
            ``rise_p`` (the subset's own `rise_test`).
        curves: the fitted law on a grid of losses per task and data amount: ``L``,
            ``D``, ``fewshot``, ``mean`` (point fit) and, with a posterior, its 90%
            credible band ``lower``/``upper``.
        points: the data as fitted: ``task``, ``L``, ``y``, ``D``, ``fewshot``,
            ``fitted``.
        fit: the point fit (`jaxfit.FitResult`); ``elbow_fit`` the step-1 subset fits.
        posterior, bootstrap: the `jaxfit.posterior.Posterior` objects (or None).
        options: the call's settings.
    """

    emergence: pd.DataFrame
    params: pd.DataFrame
    elbows: pd.DataFrame
    curves: pd.DataFrame
    points: pd.DataFrame
    fit: FitResult
    elbow_fit: FitResult | None
    posterior: Any
    bootstrap: Any
    options: dict

    recipe: ClassVar[str] = "emergence"
    plot_function: ClassVar[str] = "jaxfit.recipes.emergence_plot:plot_emergence"

    def table(self) -> pd.DataFrame:
        """``emergence``: one row per task (emergence points in the input's units)."""
        return self.emergence

    def summary(self) -> pd.DataFrame:
        """Per task: ``mle`` and the 5% and 95% points of the posterior and bootstrap
        (those that were run), and ``r_hat``."""
        cols = [c for c in ("mle", "posterior_5", "posterior_95", "bootstrap_5",
                            "bootstrap_95", "r_hat") if c in self.emergence
                and self.emergence[c].notna().any()]
        return self.emergence[cols]

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        return {k: getattr(self, k) for k in ("params", "elbows", "curves", "points")}


# ----------------------------------------------------------------------------- data

def _points(data: pd.DataFrame, y: str, loss: str, by: str | None, D: str | None = None,
            fewshot: str | None = None, D0: float | None = None, form: str = "log_power"):
    """Validate and copy the needed columns into a tidy frame (task, L, y[, D, fewshot])."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    cols = [c for c in (y, loss, by, D, fewshot) if c is not None]
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        from jaxfit.data import did_you_mean

        raise ValueError(f"emergence: missing column(s) {missing}; the data has "
                         f"{list(data.columns)}{did_you_mean(missing, data.columns)}. "
                         "Name them with y=, loss=, D=, by=, fewshot=.")
    if by is None and "task" in data.columns and data["task"].nunique() > 1:
        # before: the tasks were pooled into one curve without a word
        tasks = list(data["task"].dropna().unique())
        raise ValueError(f"emergence: data has a 'task' column with {len(tasks)} tasks "
                         f"{tasks[:10]}, but with by=None every row is one curve; pass "
                         "by='task' to fit each task, or select one task first.")
    if by is not None and data[by].isna().any():
        bad = data[by].isna().to_numpy()
        raise ValueError(f"emergence: column {by!r} (by) has {int(bad.sum())} missing task "
                         f"labels at rows {list(data.index[bad][:10])}; drop or label those "
                         f"rows, e.g. df.dropna(subset=[{by!r}]).")
    out = pd.DataFrame({"task": data[by].to_numpy() if by else 0,
                        "L": pd.to_numeric(data[loss], errors="coerce").to_numpy(np.float64),
                        "y": pd.to_numeric(data[y], errors="coerce").to_numpy(np.float64)})
    if fewshot is not None:
        fs = data[fewshot].to_numpy()
        ok = np.isin(fs, [0, 1, True, False])
        if not ok.all():
            # before: "must hold 0/1 or booleans." naming no value, row or fix
            shown = list(dict.fromkeys(repr(v.item() if hasattr(v, "item") else v)
                                       for v in fs[~ok]))
            raise ValueError(
                f"emergence: column {fewshot!r} (fewshot) must hold 0/1 or True/False; it "
                f"holds {', '.join(shown[:5])}{' ...' if len(shown) > 5 else ''} "
                f"({int((~ok).sum())} row(s), e.g. row {data.index[~ok][0]!r}). Write 1 for "
                "the few-shot rows and 0 for the finetuned ones in that column.")
        out["fewshot"] = fs.astype(np.float64)
    elif D is not None:
        out["fewshot"] = 0.0
    if D is not None:
        d = pd.to_numeric(data[D], errors="coerce").to_numpy(np.float64)
        out["D"] = np.where(out["fewshot"] > 0, D0, d)
        low = 1.0 if form == "log_power" else 0.0
        bad = ~(out["D"].to_numpy() > low)
        if bad.any():
            raise ValueError(
                f"column {D!r} (finetuning examples) has {bad.sum()} values <= {low:g} or "
                f"missing at rows {list(data.index[bad][:10])}; the {form} emergence law "
                f"needs D > {low:g}. Mark few-shot rows with fewshot= instead.")
    bad = ~np.isfinite(out[["L", "y"]].to_numpy()).all(axis=1)
    if bad.any():
        raise ValueError(f"columns {loss!r}/{y!r} have {bad.sum()} missing or non-numeric "
                         f"values at rows {list(data.index[bad][:10])}; drop them first, "
                         f"e.g. df.dropna(subset=[{loss!r}, {y!r}]).")
    out.index = data.index
    return out


def _group_keys(points: pd.DataFrame, cols: list[str]):
    """The groups of ``points`` in `jaxfit.data.make_batch`'s (sorted groupby) order."""
    return points.groupby(cols if len(cols) > 1 else cols[0], sort=True)


# ----------------------------------------------------------------------------- fits

def _elbow_starts(points: pd.DataFrame, cols: list[str], increasing: bool) -> np.ndarray:
    """Per-group starts [G, S, 3] (A, B, E): elbows at quantiles of the group's losses."""
    out = []
    for _, g in _group_keys(points, cols):
        L, y = g["L"].to_numpy(), g["y"].to_numpy()
        B = np.quantile(y, 0.1)
        rows = []
        for E in np.quantile(L, _ELBOW_QUANTILES):
            ramp = (L - E) if increasing else (E - L)
            A = (y.max() - B) / max(ramp.max(), 1e-3)
            rows.append((max(A, 1e-3), B, E))
        out.append(rows)
    return np.asarray(out)


def _profile_lr(h: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``n log(RSS_flat / min_E RSS_relu(E))`` [T, D] from the ramp at each grid elbow
    ``h`` [T, G, n] and responses ``y`` [T, D, n] (``w`` [T, n]: 1 on a task's points,
    0 on padding). At a fixed ``E`` the ReLU is linear in ``A`` and ``B``, so its least
    squares are closed form; ``A >= 0`` (a rise), so a grid point with a falling fit
    gains nothing over the flat curve."""
    n = w.sum(axis=1)

    def centre(a):                    # minus each task's mean over its own points
        return (a - (a * w[:, None]).sum(-1, keepdims=True) / n[:, None, None]) * w[:, None]

    hc, yc = centre(h), centre(y)
    shy = np.matmul(hc, np.swapaxes(yc, 1, 2))                        # [T, G, D]
    gain = np.where(shy > 0, shy ** 2 / np.maximum((hc ** 2).sum(-1), 1e-300)[..., None], 0.0)
    rss0 = (yc ** 2).sum(-1)                                          # [T, D]
    rss1 = np.maximum(rss0 - gain.max(axis=1), 1e-300 * rss0)
    return n[:, None] * np.log(rss0 / rss1)


def rise_test(points: pd.DataFrame, law: Law, tasks: pd.Index, draws: int = 200,
              grid: int = RISE_GRID, seed: int = 0) -> np.ndarray:
    """p-value [T] of "the curve is flat" against the ReLU elbow ``law`` (A >= 0), per task.

    The likelihood-ratio statistic ``n log(RSS_flat / RSS_relu)`` (Gaussian noise), with
    ``RSS_relu`` profiled over ``grid`` elbows spanning each task's inputs, is compared
    with its distribution under a flat curve, simulated on ``draws`` pure-noise copies of
    the task's design: a parametric bootstrap (Davison & Hinkley 1997, section 4.2), as the
    elbow ``E`` is not identified under the flat null and the statistic's chi-square
    limit does not hold (Davies 1987, Biometrika 74). The statistic does not depend on
    the noise level or the flat curve's level, so standard normal noise simulates the
    null exactly. ``p = (1 + #{null >= observed}) / (1 + draws)``; a large p means the
    data show no rise, so a fitted ``E`` is not an elbow.

    Args:
        points: ``task``, ``L`` (the law's input) and ``y`` columns.
        law: `jaxfit.models.relu_elbow` (its temperature and direction are used).
        tasks: the tasks, in the order of the returned p-values.
        draws: null draws per task.
        grid: elbows of the profile.
        seed: seed of the null draws.
    """
    return _mc_p(*_rise_stats(points, law, tasks, draws, grid, seed))


def _rise_stats(points: pd.DataFrame, law: Law, tasks: pd.Index, draws: int, grid: int,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`rise_test`'s observed statistic [T] and its null draws [T, draws]; the draws of
    different tasks are independent, so they can be summed over tasks (`_curve_rise`)."""
    batch = make_batch(points, law, "y", by="task", space="linear", min_points=1)
    order = batch.tasks.get_indexer(tasks)
    if (order < 0).any():
        raise ValueError(f"rise_test: task(s) {list(tasks[order < 0])} are not in points.")
    L, w = batch.x["L"][order], batch.w[order]
    y = batch.y[order][:, None, :]
    m = int(batch.n_points.max())               # the null's random stream: real points only
    lo = np.where(w > 0, L, np.inf).min(1)
    hi = np.where(w > 0, L, -np.inf).max(1)
    E = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)       # [T, G]
    with jax.enable_x64(True):                 # float64 whatever the global setting
        h = np.asarray(law.fn({"A": 1.0, "B": 0.0, "E": E[:, :, None]}, {"L": L[:, None, :]}))
    stat = _profile_lr(h, y, w)[:, 0]
    noise = np.random.default_rng(seed).standard_normal((len(tasks), draws, m))
    noise = np.pad(noise, ((0, 0), (0, 0), (0, L.shape[1] - m))) * w[:, None]
    return stat, _profile_lr(h, noise, w)


def _mc_p(stat: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Monte Carlo p-value ``(1 + #{null >= stat}) / (1 + draws)`` per row."""
    return (1 + (null >= stat[:, None]).sum(axis=1)) / (1 + null.shape[1])


def _fit_options(fit_options: Mapping | None, seed: int) -> dict:
    return {**FIT_OPTIONS, "seed": seed, **dict(fit_options or {})}


def _fit_elbows(points: pd.DataFrame, cols: list[str], law: Law, increasing: bool,
                fit_options: dict, recipe: str) -> FitResult:
    _check_curves(points, cols, law, recipe)
    starts = _elbow_starts(points, cols, increasing)
    return fit(law, points, y="y", by=cols if len(cols) > 1 else cols[0], x={"L": "L"},
               **{"init": starts, **fit_options})


def _check_curves(points: pd.DataFrame, cols: list[str], law: Law, recipe: str) -> None:
    """ValueError unless every curve (a task, or a task and data amount) has at least as
    many points as the elbow law has parameters.

    Before, the fit refused it as "1 task(s) have fewer points than the law's 3 free
    parameters ((0, 50.0): 2 ...); ... fix some parameters with jaxfit.fix()" (command
    line: "use a law with fewer free parameters (--law)"), options the recipe has not.
    """
    names = list(law.param_names)
    n = points.groupby(cols, sort=True).size()
    few = n[n < len(names)]
    if len(few):
        what, drop = (("task(s)", "those tasks") if len(cols) == 1 else
                      ("(task, D) curve(s)", "those finetuning-data amounts"))
        shown = ", ".join(f"{k!r}: {int(c)}" for k, c in few.iloc[:10].items())
        raise ValueError(f"{recipe}: {len(few)} {what} have fewer checkpoints than the "
                         f"elbow's {len(names)} parameters {names} ({shown}); each needs at "
                         f"least {len(names)}, on both sides of the elbow. Add checkpoints or "
                         f"drop {drop}.")


def _shift_starts(elbows: pd.DataFrame, ramp: pd.DataFrame, law: Law, form: str) -> np.ndarray:
    """Per-task joint-fit starts [T, S, k]: for each alpha of the grid, (k, C) by linear
    least squares of the step-1 elbows on (log D)^alpha (or D^alpha); A, B medians."""
    out = []
    for task, g in elbows.groupby("task", sort=True):
        t_base = np.log(g["D"].to_numpy()) if form == "log_power" else g["D"].to_numpy()
        E = g["elbow"].to_numpy()
        rows = []
        for a in _ALPHA_GRID[form]:
            t = np.exp(a * np.log(np.maximum(t_base, 1e-12)))
            k, C = np.linalg.lstsq(np.stack([t, np.ones_like(t)], 1), E, rcond=None)[0]
            start = {"k": max(k, 1e-4), "alpha": a, "C": C if k > 1e-4 else E.mean(),
                     "A": ramp.loc[task, "A"], "B": ramp.loc[task, "B"], "Delta": 0.0}
            rows.append([start[n] for n in law.param_names])
        out.append(rows)
    return np.asarray(out)


# ---------------------------------------------------------------------- uncertainty

def _quantiles(draws: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    q = np.quantile(draws, QUANTILES, axis=1)
    return {f"{prefix}_{round(100 * p)}": v for p, v in zip(QUANTILES, q)}


def _uncertainty(law: Law, points: pd.DataFrame, res: FitResult, point_fn, posterior,
                 bootstrap: int, sample_options: dict, priors, seed: int):
    """NUTS and bootstrap draws of the emergence point; returns (table columns, post, boot)."""
    from jaxfit.sample import bootstrap as run_bootstrap
    from jaxfit.sample import sample

    cols: dict[str, np.ndarray] = {}
    post = boot = None
    T = len(res.tasks)
    x = {n: n for n in law.inputs}
    with warnings.catch_warnings():
        # the recipe's fit named its tasks that did not converge; not again as the start
        # (only that warning: DiagnosticWarning, the draws' own, is a ConvergenceWarning too)
        warnings.filterwarnings("ignore", message=r"(sample|bootstrap)'s start",
                                category=ConvergenceWarning)
        if posterior:
            post = sample(law, points, y="y", by="task", x=x, space="linear", likelihood="normal",
                          priors=priors, start=res, seed=seed, **sample_options)
            cols.update(_quantiles(point_fn(post), "posterior"))
            diag = post.diagnostics
            cols["r_hat"] = diag["r_hat"].to_numpy() if "r_hat" in diag else np.full(T, np.nan)
            cols["divergences"] = (diag["divergences"].to_numpy() if "divergences" in diag
                                   else np.zeros(T))
        if bootstrap:
            o = res.options             # the fit's objective (fit_options may change it)
            boot = run_bootstrap(law, points, y="y", by="task", x=x, n=int(bootstrap),
                                 loss=o["loss"], delta=o["delta"], space=o["space"], start=res,
                                 seed=seed)
            cols.update(_quantiles(point_fn(boot), "bootstrap"))
            cols["bootstrap_converged"] = boot.diagnostics["converged_fraction"].to_numpy()
    return cols, post, boot


def _curves(law: Law, points: pd.DataFrame, res: FitResult, post, amounts: pd.DataFrame,
            n: int = 120) -> pd.DataFrame:
    """The law on a loss grid for every (task, D, fewshot) row of ``amounts``."""
    parts = []
    for _, row in amounts.iterrows():
        L = points.loc[points["task"] == row["task"], "L"]
        pad = 0.05 * (L.max() - L.min())
        part = pd.DataFrame({"task": row["task"],
                             "L": np.linspace(L.min() - pad, L.max() + pad, n)})
        for c in ("D", "fewshot"):
            if c in amounts:
                part[c] = row[c]
        parts.append(part)
    grid = pd.concat(parts, ignore_index=True)
    grid["mean"] = res.predict(grid, warn=False)["prediction"].to_numpy()
    if post is not None:
        # only the credible band is read: no predictive-bound warning, and jaxfit.sample's
        # own DiagnosticWarning named the failing tasks already (warn=False, as the figures)
        band = post.predict(grid, prob=QUANTILES[2] - QUANTILES[0], warn=False)
        grid["lower"] = band["credible_lower"].to_numpy()
        grid["upper"] = band["credible_upper"].to_numpy()
    return grid


def _finish(law, points, res, elbow_fit, elbows, point_fn, amounts, posterior, bootstrap,
            sample_options, priors, seed, extra_cols, options) -> EmergenceResult:
    cols, post, boot = _uncertainty(law, points, res, point_fn, posterior, bootstrap,
                                    sample_options, priors, seed)
    table = pd.DataFrame({**extra_cols, "mle": point_fn(res)[:, 0], **cols}, index=res.tasks)
    table.attrs["options"] = options
    points = points.assign(fitted=res.predict(points, warn=False)["prediction"].to_numpy())
    curves = _curves(law, points, res, post, amounts)
    return EmergenceResult(emergence=table, params=res.to_frame(), elbows=elbows,
                           curves=curves, points=points, fit=res, elbow_fit=elbow_fit,
                           posterior=post, bootstrap=boot, options=options)


def _draws(obj, names) -> dict[str, np.ndarray]:
    """Parameter draws [T, n] of a Posterior, or the point fit as [T, 1]."""
    if isinstance(obj, FitResult):
        return {n: obj.values[:, obj.law.param_names.index(n)][:, None] for n in names}
    return {n: obj.flat(n) for n in names}


# ----------------------------------------------------------------------------- recipes

def _check_bootstrap(bootstrap, recipe: str) -> None:
    """ValueError unless ``bootstrap`` is 0 (none) or an integer >= 2. Before, -1 or 1
    reached `jaxfit.bootstrap` after the point fits, whose "n=-1 is out of range" named
    its own argument (``jaxfit emergence --bootstrap -1`` said "--n -1")."""
    from jaxfit.checks import MAX_COUNT

    if not whole(bootstrap, 0) or bootstrap == 1 or bootstrap > MAX_COUNT:
        # (above MAX_COUNT: refused by jaxfit.bootstrap after the point fits, as "--n ...")
        raise ValueError(f"{recipe}: bootstrap={bootstrap!r} must be 0 (no bootstrap) or an "
                         f"integer from 2 to {MAX_COUNT} (the number of refits).")


def fewshot_elbow(data: pd.DataFrame, *, y: str = "accuracy", loss: str = "loss",
          by: str | None = None, increasing: bool = False,
          temperature: float = DEFAULT_TEMPERATURE, posterior: bool = True,
          bootstrap: int = 200, priors: Mapping | None = None,
          sample_options: Mapping | None = None, fit_options: Mapping | None = None,
          rise_draws: int = 200, seed: int = 0) -> EmergenceResult:
    """The emergence point of each task from one performance-vs-loss curve (no finetuning).

    Fits ``Perf(L) = A relu_tau(E - L) + B`` (`jaxfit.models.relu_elbow`) per task, all
    tasks in one call: the paper's few-shot "ground-truth" elbow (Snell et al. 2024,
    Table 3), with NUTS and bootstrap quantiles of ``E``. Use it when the data have no
    finetuning axis; it locates emergence from checkpoints on both sides of it and does
    not extrapolate.

    Args:
        data: one row per checkpoint (and task); never modified.
        y: performance column (higher is better: accuracy, log-probability, ...).
        loss: pre-training loss column (or any input; see ``increasing``).
        by: task column (None: one task).
        increasing: performance rises with the input (e.g. log compute) instead of
            falling with the loss.
        temperature: softplus temperature, in the input's units.
        posterior: run NUTS (`jaxfit.sample`).
        bootstrap: number of bootstrap refits (0: none).
        priors: `jaxfit.sample` priors; default here: ``E ~ Normal(centre, width)`` of
            each call's observed input range (so any input scale works), the rest
            `jaxfit.sample`'s defaults.
        sample_options: `jaxfit.sample` options over `SAMPLE_OPTIONS`.
        fit_options: `jaxfit.fit` options over `FIT_OPTIONS` (``init`` replaces the
            recipe's data-driven starts).
        rise_draws: null draws of `rise_test` (0: no test). Its p-value is the table's
            ``rise_p``; above 0.05 the task shows no rise within the data, so ``E`` is not
            an elbow, and an `IdentifiabilityWarning` says so.
        seed: random seed.

    Returns:
        An `EmergenceResult`; ``emergence["mle"]`` is ``E``.
    """
    _check_bootstrap(bootstrap, "fewshot_elbow")
    points = _points(data, y, loss, by)
    law = relu_elbow("L", temperature, increasing)
    res = _fit_elbows(points, ["task"], law, increasing, _fit_options(fit_options, seed),
                      "fewshot_elbow")
    if priors is None:
        import numpyro.distributions as dist

        lo, hi = points["L"].min(), points["L"].max()
        priors = {"E": dist.Normal((lo + hi) / 2, max(hi - lo, 1e-3))}
    E = res.params["E"].to_numpy()
    elbows = pd.DataFrame({"task": res.tasks, "D": np.nan,
                           "n_points": points.groupby("task", sort=True).size().to_numpy(),
                           "elbow": E, "law": E})
    amounts = pd.DataFrame({"task": res.tasks})
    options = dict(recipe="elbow", y=y, loss=loss, loss_unit=recorded_unit(data, loss),
                   by=by, increasing=increasing,
                   temperature=temperature, citation=_CITATION)
    rise_p = (rise_test(points, law, res.tasks, int(rise_draws), seed=seed) if rise_draws
              else np.full(len(res.tasks), np.nan))
    _warn_no_rise(res.tasks, rise_p, "fewshot_elbow: {n} task(s) {tasks} show no rise within "
                  "the data: a flat curve is not rejected (likelihood-ratio test, parametric "
                  "bootstrap p > 0.05; the table's rise_p), so E is where a ReLU fits the noise "
                  "best, not an elbow, and its intervals describe that fit.")
    out = _finish(law, points, res, None, elbows, lambda o: _draws(o, ["E"])["E"], amounts,
                  posterior, bootstrap, {**SAMPLE_OPTIONS, **dict(sample_options or {})},
                  priors, seed, {"D0": np.nan}, options)
    out.emergence.insert(out.emergence.columns.get_loc("mle") + 1, "rise_p", rise_p)
    return out


def emergence(data: pd.DataFrame, *, y: str = "accuracy", loss: str = "loss", D: str = "D",
              by: str | None = None, fewshot: str | None = None, form: str = "log_power",
              D0: float = 5.0, temperature: float = DEFAULT_TEMPERATURE,
              fewshot_shift: bool = False, posterior: bool = True, bootstrap: int = 200,
              priors: Mapping | None = None, sample_options: Mapping | None = None,
              fit_options: Mapping | None = None, rise_draws: int = 200,
              seed: int = 0) -> EmergenceResult:
    """Predict the few-shot emergence point from finetuned checkpoints (Snell et al. 2024).

    Fits ``Perf(L, D) = A relu_tau(E(D) - L) + B`` with ``E(D) = k (log D)^alpha + C``
    (`jaxfit.models.emergence`) jointly over every finetuning-data subset of each task
    (all tasks in one call), then reports the few-shot emergence point ``E(D0)``: the
    MLE and the 5%, 50%, 95% points of its NUTS posterior and of the bootstrap. The
    paper's success criterion is ``|E(D0) - truth| <= 0.1`` nats. See the module
    docstring for the protocol and the readings of unverified details.

    Args:
        data: one row per (checkpoint, finetuning-data amount[, task]); never modified.
        y: performance column (higher is better).
        loss: pre-training loss column of the checkpoint (nats).
        D: finetuning examples column (> 1 for the log power law).
        by: task column (None: one task).
        fewshot: optional 0/1 column marking few-shot (not finetuned) rows; they are
            fitted at ``D = D0`` (their ``D`` value is ignored).
        form: "log_power" (the paper) or "power" (its ablation).
        D0: the low-data limit at which the few-shot emergence point is read.
        temperature: softplus temperature (nats).
        fewshot_shift: fit the few-shot rows' own base ``B + Delta``.
        posterior: run NUTS (`jaxfit.sample`).
        bootstrap: number of bootstrap refits (0: none).
        priors: `jaxfit.sample` priors (name -> numpyro distribution).
        sample_options: `jaxfit.sample` options over `EMERGENCE_SAMPLE_OPTIONS`.
        fit_options: `jaxfit.fit` options over `FIT_OPTIONS` (``init`` replaces the
            recipe's data-driven starts).
        rise_draws: null draws of `rise_test`, run on each data amount's curve (0: no
            test). A task none of whose curves rises (the table's ``rise_p`` > 0.05) gets
            an `IdentifiabilityWarning`: its ``E(D)`` is fitted to noise.
        seed: random seed.

    Returns:
        An `EmergenceResult`.

    Raises:
        ValueError: missing columns, ``D <= 1``, or a task with fewer than 3 data amounts.
    """
    if form not in FORMS:
        raise ValueError(f"form={form!r} is not one of {FORMS}.")
    if not D0 > (1.0 if form == "log_power" else 0.0):
        raise ValueError(f"D0={D0!r}: the {form} emergence law needs D0 > "
                         f"{1 if form == 'log_power' else 0}.")
    if fewshot_shift and fewshot is None:
        raise ValueError("fewshot_shift=True needs few-shot rows: name their 0/1 column "
                         "with fewshot=.")
    _check_bootstrap(bootstrap, "emergence")
    points = _points(data, y, loss, by, D, fewshot, float(D0), form)
    tuned = points[points["fewshot"] == 0]
    n_amounts = tuned.groupby("task")["D"].nunique().reindex(points["task"].unique(),
                                                            fill_value=0)
    few = n_amounts[n_amounts < 3]
    if len(few):
        raise ValueError(f"tasks {list(few.index[:10])} have fewer than 3 finetuning-data "
                         "amounts; the emergence law E(D) has 3 parameters (k, alpha, C). "
                         "For a single curve use jaxfit.recipes.emergence.fewshot_elbow.")
    opts = _fit_options(fit_options, seed)
    ramp = relu_elbow("L", temperature)
    sub = _fit_elbows(tuned, ["task", "D"], ramp, False, {**opts, "warn": False},
                      "emergence")
    per = sub.params.reset_index()
    per.columns = ["task", "D", *per.columns[2:]]
    lo = tuned.groupby(["task", "D"])["L"].min().to_numpy()
    hi = tuned.groupby(["task", "D"])["L"].max().to_numpy()
    per["elbow"] = np.clip(per["E"].to_numpy(), lo, hi)
    law = emergence_law(form, temperature, fewshot_shift, "L", "D")
    if not fewshot_shift:
        points = points.drop(columns="fewshot")
    starts = _shift_starts(per, per.groupby("task")[["A", "B"]].median(), law, form)
    res = fit(law, points, y="y", by="task", **{"init": starts, **opts})
    shift = emergence_shift(form)
    amounts = pd.concat([tuned[["task", "D"]].drop_duplicates(),
                         pd.DataFrame({"task": res.tasks, "D": float(D0)})])
    amounts = amounts.sort_values(["task", "D"], kind="stable").reset_index(drop=True)
    if fewshot_shift:
        amounts["fewshot"] = (amounts["D"] == D0).astype(np.float64)
    # float64 whatever JAX's x64 setting, as the table's point (before: float32 digits)
    E_law = evaluate(shift, res.params, amounts["task"], {"D": amounts["D"].to_numpy()})
    elbows = amounts[["task", "D"]].merge(
        per[["task", "D", "elbow"]].assign(
            n_points=tuned.groupby(["task", "D"]).size().to_numpy()),
        on=["task", "D"], how="left").assign(law=E_law)
    elbows["rise_p"], rise_p = _curve_rise(tuned, elbows, ramp, res.tasks, int(rise_draws), seed)
    _warn_no_rise(res.tasks, rise_p, "emergence: {n} task(s) {tasks} show no rise in any "
                  "finetuning-data amount (rise_test's statistic summed over the amounts' "
                  "curves, p > 0.05; the tables' rise_p), so E(D) is fitted to noise and its "
                  "emergence point is not one.")

    def point_fn(obj):
        with jax.enable_x64(True):
            d = {n: jnp.asarray(v) for n, v in _draws(obj, shift.params).items()}
            return np.asarray(shift.fn(d, {"D": jnp.asarray(float(D0))}))

    options = dict(recipe="emergence", y=y, loss=loss, loss_unit=recorded_unit(data, loss),
                   D=D, by=by, fewshot=fewshot, form=form,
                   D0=float(D0), temperature=temperature, fewshot_shift=fewshot_shift,
                   citation=_CITATION)
    out = _finish(law, points, res, sub, elbows, point_fn, amounts, posterior, bootstrap,
                  {**EMERGENCE_SAMPLE_OPTIONS, **dict(sample_options or {})}, priors, seed,
                  {"D0": float(D0)}, options)
    out.emergence.insert(out.emergence.columns.get_loc("mle") + 1, "rise_p", rise_p)
    return out


def _warn_no_rise(tasks: pd.Index, rise_p: np.ndarray, what: str) -> None:
    """An IdentifiabilityWarning naming the tasks with ``rise_p`` > 0.05 (``what`` with
    ``{n}`` and ``{tasks}``), raised at the recipe's caller."""
    flat = [t for t, p in zip(tasks, rise_p) if p > 0.05]
    if flat:
        warnings.warn(what.format(n=len(flat), tasks=flat[:10]) + " Fix: add checkpoints "
                      "past the emergence point, or treat the task as not emerged.",
                      IdentifiabilityWarning, stacklevel=3)


def _curve_rise(tuned: pd.DataFrame, elbows: pd.DataFrame, ramp: Law, tasks: pd.Index,
                draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`rise_test` of every (task, data amount) curve, as ``elbows``' column (NaN on the
    few-shot rows), and per task the p-value of "no amount rises".

    The per-task test sums the curves' likelihood-ratio statistics and compares the sum
    with the sums of their independent null draws (one Monte Carlo test of the joint
    flat null). A Bonferroni bound ``n_amounts * min p`` on the curves' Monte Carlo
    p-values cannot go below ``n_amounts / (1 + draws)``: with 200 draws it exceeds 0.05
    from 11 amounts on, and then warned "no rise" for tasks whose every curve rises.
    """
    if not draws:
        return np.full(len(elbows), np.nan), np.full(len(tasks), np.nan)
    key = pd.MultiIndex.from_frame(tuned[["task", "D"]])
    curves = key.unique()
    stat, null = _rise_stats(tuned[["L", "y"]].assign(task=curves.get_indexer(key)), ramp,
                             pd.RangeIndex(len(curves)), draws, RISE_GRID, seed)
    per = pd.Series(_mc_p(stat, null), index=curves)
    column = per.reindex(pd.MultiIndex.from_frame(elbows[["task", "D"]])).to_numpy()
    owner = curves.get_level_values(0)
    pos = pd.Index(tasks).get_indexer(owner)
    joint_stat = np.bincount(pos, weights=stat, minlength=len(tasks))
    joint_null = np.zeros((len(tasks), null.shape[1]))
    np.add.at(joint_null, pos, null)
    return column, _mc_p(joint_stat, joint_null)


# ----------------------------------------------------------------------- real data

#: Tasks of the OLMo demonstration: ranked-classification (RC) tasks at chance for the
#: smallest ladder models, and the multiple-choice (MC) format, which emerges abruptly in
#: the 7B and 13B runs.
OLMO_RC_TASKS = ("mmlu_rc", "arc_challenge_rc", "openbookqa_rc")
OLMO_MC_TASKS = ("mmlu_mc", "arc_challenge_mc", "csqa_mc", "hellaswag_mc")
#: BIG-bench tasks of the observational demonstration (score at chance or 0 for small
#: models).
OBS_TASKS = ("word_unscrambling", "parsinlu_qa", "ipa_transliterate")


def olmo_demo(rc_tasks=OLMO_RC_TASKS, mc_tasks=OLMO_MC_TASKS, min_loss: float = 2.6,
              **kwargs) -> EmergenceResult:
    """Emergence points in C4 loss on the shipped OLMo checkpoints (no finetuning axis).

    One `fewshot_elbow` call (kwargs passed on) over two kinds of task, labelled ``task@runs``:

    * ``<task>_rc@ladder``: every checkpoint of the 30 ladder runs (190M-3.2B x 0.5-10 x
      Chinchilla), 5-shot RC accuracy of tasks at chance for the smallest models
      (`OLMO_RC_TASKS`: MMLU, as the brief's example, ARC-Challenge, OpenBookQA);
    * ``<task>_mc@7B`` and ``@13B``: the intermediate checkpoints of the 7B and 13B runs
      (the paper's setting: checkpoints of one model), 5-shot MC-format accuracy, which
      sits at chance and then jumps (`OLMO_MC_TASKS`).

    The data have no finetuning subsets, so ``E(D)`` cannot be fitted: this is the
    few-shot limit only, the elbow located from checkpoints on both sides of it.
    Untrained step-0 rows are dropped, and so are checkpoints with C4 loss below
    ``min_loss``: the ReLU describes the onset of a capability, not its later
    saturation, and far-post-emergence checkpoints of the long 7B/13B runs (C4 down to
    2.44) would tilt its line (the MC elbows move by about 0.04 nats between
    ``min_loss`` = 2.6 and 2.64; the ladder's C4 losses are all above 2.66).
    """
    df = load_olmo_emergence()
    df = df[(df["step"] > 0) & (df["c4_loss"] >= min_loss)].assign(
        runs=lambda d: np.where(d["role"] == "ladder", "ladder", d["run"]))
    parts = [df[df["role"] == role].melt(id_vars=["runs", "c4_loss"], value_vars=list(t),
                                         var_name="task", value_name="accuracy")
             for role, t in (("ladder", rc_tasks), ("target", mc_tasks)) if len(t)]
    long = pd.concat(parts, ignore_index=True)
    long["task"] = long["task"] + "@" + long["runs"]
    return fewshot_elbow(long, y="accuracy", loss="c4_loss", by="task", **kwargs)


def obs_demo(tasks=None, **kwargs) -> EmergenceResult:
    """Emergence points in training compute on the emergent-capability table (Ruan et al.).

    The table has no pre-training loss and no finetuning axis: the ReLU is fitted in
    ``log10`` training FLOPs (``increasing=True``; column ``log10_flops``) over the 73
    models with published FLOPs, all families pooled, one task per BIG-bench task
    (`OBS_TASKS`); ``emergence["mle"]`` is then log10 of the compute at which the 2-shot
    score leaves its floor. Runs `fewshot_elbow` with ``kwargs``.
    """
    df = load_obs_emergent()
    df = df[df["flops"] > 0].assign(log10_flops=lambda d: np.log10(d["flops"]))
    tasks = list(tasks or OBS_TASKS)
    long = df.melt(id_vars=["model", "log10_flops"], value_vars=tasks, var_name="task",
                   value_name="score").dropna(subset=["score"])
    kwargs.setdefault("temperature", 0.05)
    return fewshot_elbow(long, y="score", loss="log10_flops", by="task", increasing=True, **kwargs)


#: Demonstrations on the shipped data, by name (for the command line).
DEMOS = {"olmo": olmo_demo, "obs_scaling": obs_demo}


def run_emergence(data: pd.DataFrame | None = None, *, demo: str | None = None,
                  D: str | None = None, **kwargs) -> dict[str, pd.DataFrame]:
    """Command-line entry point: the recipe's tables as a dict of DataFrames.

    Args:
        data: None runs the shipped demonstration ``demo`` (`DEMOS`: "olmo" =
            `olmo_demo`, "obs_scaling" = `obs_demo`; only ``posterior``, ``bootstrap``,
            ``sample_options``, ``fit_options``, ``seed`` and ``temperature`` apply).
            With a DataFrame: `emergence` when the finetuning-data column ``D`` is named,
            else `fewshot_elbow`.
        demo: the demonstration run when ``data`` is None (default "olmo"); refused
            with ``data``.
        D: finetuning-data column of ``data``.
        **kwargs: passed to the recipe function.

    Returns:
        The tables of `EmergenceResult.frames`, its ``table`` named ``emergence`` (the
        emergence points with their 5%, 50%, 95% posterior and bootstrap quantiles),
        then ``params``, ``elbows``, ``curves``, ``points``. Plot them with
        `jaxfit.recipes.emergence_plot.plot_emergence`.

    Example:
        >>> from jaxfit.recipes.emergence import run_emergence
        >>> tables = run_emergence(demo="olmo", bootstrap=100)          # doctest: +SKIP
        >>> tables["emergence"].round(3)                                 # doctest: +SKIP
    """
    res = emergence_or_elbow(data, demo=demo, D=D, **kwargs)
    return {"emergence": res.emergence, **res._tables()}


def emergence_or_elbow(data: pd.DataFrame | None = None, *, demo: str | None = None,
                       D: str | None = None, **kwargs) -> EmergenceResult:
    """What ``jaxfit emergence`` runs: `run_emergence`'s choice (the ``demo`` when ``data``
    is None, default "olmo"; `emergence` when ``D`` is named, else `fewshot_elbow`), as an
    `EmergenceResult`."""
    if data is not None and demo is not None:
        # before: the demonstration named was silently not run, the data fitted instead
        raise ValueError(f"emergence: demo={demo!r} runs a shipped demonstration, which "
                         "takes no data; drop the data to run it, or the demo to fit "
                         "the data.")
    if data is None:
        demo = "olmo" if demo is None else demo
        if demo not in DEMOS:
            raise ValueError(f"unknown emergence demo {demo!r}; choose one of {sorted(DEMOS)}.")
        fixed = sorted({"y", "loss", "by", "form", "D0", "fewshot", "fewshot_shift"} & set(kwargs))
        if D is not None or fixed:
            raise ValueError(f"options {fixed + (['D'] if D else [])} need data: the {demo!r} "
                             "demonstration fixes its own columns and law.")
        return DEMOS[demo](**kwargs)
    if D is None:
        only = [k for k in ("form", "D0", "fewshot", "fewshot_shift") if k in kwargs]
        if only:      # before: "fewshot_elbow() got an unexpected keyword argument 'form'"
            raise ValueError(f"emergence: the option(s) {only} belong to the emergence law "
                             "of finetuned checkpoints, which needs the finetuning-examples "
                             "column D (command line: --D COLUMN); without D each task's "
                             "few-shot elbow is fitted, which takes none of them: name D or "
                             "drop them.")
        return fewshot_elbow(data, **kwargs)
    return emergence(data, D=D, **kwargs)
