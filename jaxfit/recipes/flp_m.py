"""FLP-M: domain losses from per-source compute -> an MLP -> performance (Chen et al. 2024).

Chen, Huang, Gao, Wang, Yang, Ji (2024), "Scaling Laws for Predicting Downstream
Performance in LLMs", arXiv:2410.08527, section on data mixing (FLP-M). No code or data
were released; see ``shared/papers/METHODS.md`` section 3.2. Two stages:

1. **Domain losses from compute** (the paper's Eq. 5). Each validation domain ``d``
   (e.g. general text and code) has its own loss, a power law in the compute spent on
   each data source. With a mixing ratio ``r`` (the fraction of training compute on
   general text), ``C_G = r C`` and ``C_C = (1 - r) C``. The printed Eq. 5 has a typo (its
   second and third terms divide a quantity by itself, per an ICLR reviewer); the reading
   implemented here (`domain_loss`) is the three-term sum the typo suggests, one Kaplan
   term per compute variable:

   .. math:: L_d = (C / C_{c,d})^{-\\alpha_{C,d}} + (C_G / C_{G,c,d})^{-\\alpha_{G,d}}
                   + (C_C / C_{C,c,d})^{-\\alpha_{C_C,d}}

   (``sources`` selects the terms; ``irreducible`` adds a constant ``E_d``). With one
   mixing ratio only, as in the OLMo ladder, the source terms cannot be told apart from
   the ``C`` term, so the OLMo demonstration uses ``sources=("C",)``: each domain is the
   FLP stage-1 law. All domains are one `jaxfit.fit` call (``by="domain"``), least
   squares on log residuals, on the fully trained sampling models.
2. **Performance from the vector of domain losses**: a two-layer MLP (flax ``nnx``:
   ``Linear(d, hidden) -> activation -> Linear(hidden, 1)``), trained with optax (AdamW,
   full batch, mean squared error) on the intermediate checkpoints above the task's
   chance + 5 points, as FLP's stage 2. Hidden width, activation and optimiser are not
   published (UNVERIFIED); the defaults here are ours: 16 ReLU units (a ReLU network
   extrapolates linearly beyond the training losses, like FLP's linear stage 2; on the
   OLMo ladder tanh saturates and under-predicts every target by 8-20 points), 1,000
   AdamW steps, inputs and outputs standardised per task, 4 initialisations averaged.
   Every task and ensemble member is trained in one ``jax.vmap``-ed, ``lax.scan``-ned
   program (`fit_mlp`).

A target's prediction: its domain losses from stage 1 at its compute (and mixing ratio),
then the MLP.

Training set: the paper trains on its smaller sampling models *plus one 3B model at a
single mixing ratio* (abstract; METHODS.md section 3.2) and predicts 3B and 7B models
across mixtures. Nothing here adds such a model: include it in ``sampling_runs`` (it then
enters both stages like any sampling run); the OLMo demonstration has no such run and
fits the 16 ladder runs only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from jax.scipy.special import logsumexp
from numpyro.distributions import constraints

from jaxfit.datasets import recorded_unit
from jaxfit.fit import fit
from jaxfit.inference import cache
from jaxfit.law import Law, Param, exp_of
from jaxfit.recipes.flp import DOMAINS, above_chance, final_points, load_flp_data, prepare
from jaxfit.recipes.ladder import PAPER_TASKS
from jaxfit.recipes.points import evaluate
from jaxfit.recipes.protocol import RecipeResult
from jaxfit.warnings import fit_source

__all__ = ["flp_m", "FLPMResult", "run_flp_m", "domain_loss", "fit_mlp", "predict_mlp",
           "MLPFit", "mlp_class", "SOURCES", "STAGE1_OPTIONS", "MLP_OPTIONS"]

#: The compute variables of `domain_loss`: total, general-text and code compute.
SOURCES = ("C", "C_G", "C_C")
#: `jaxfit.fit` options of the domain-loss fits.
STAGE1_OPTIONS = {"restarts": 64, "refine": 16, "seed": 0, "max_steps": 2000}
#: `fit_mlp` options: our defaults (the paper's are unpublished).
MLP_OPTIONS = {"hidden": 16, "steps": 1000, "learning_rate": 1e-2, "weight_decay": 1e-4,
               "ensemble": 4, "seed": 0, "activation": "relu"}
#: `flp_m`'s point fit, as the run-count check names it; its warnings put the recipe in
#: front (``"flp_m stage 1 (compute -> domain losses): 1 of 7 task(s) did not converge
#: ..."``), as FLP's say ``"flp stage 1 ..."`` (the same way round as `jaxfit.recipes.flp`).
_STAGE1 = "stage 1 (compute -> domain losses)"


def _log_domain_loss(p, x, *, sources: tuple[str, ...], irreducible: bool):
    terms = [-p[f"alpha_{s}"] * (jnp.log(x[s]) - jnp.log(p[f"{s}_c"])) for s in sources]
    if irreducible:
        terms.append(jnp.log(p["E"]) + jnp.zeros_like(terms[0]))
    return logsumexp(jnp.stack(jnp.broadcast_arrays(*terms)), axis=0)


@functools.cache
def domain_loss(sources: tuple[str, ...] = SOURCES, irreducible: bool = False) -> Law:
    r"""A domain's loss as a sum of Kaplan power laws in the compute per data source.

    .. math:: L = [E +] \sum_{s} (x_s / x_{s,c})^{-\alpha_s}, \quad
              s \in \{C, C_G, C_C\}

    FLP-M's Eq. 5 (Chen et al. 2024) in the three-term reading (module docstring).
    Parameters ``{s}_c`` > 0 (critical compute) and ``alpha_{s}`` > 0 per term, ``E`` > 0.

    Example:
        >>> from jaxfit.recipes.flp_m import domain_loss
        >>> law = domain_loss(("C_G", "C_C"))
        >>> p = {"C_G_c": 1.0, "alpha_C_G": 0.5, "C_C_c": 1.0, "alpha_C_C": 0.5}
        >>> float(law(p, {"C_G": 4.0, "C_C": 16.0}))
        0.75
    """
    sources = tuple(sources)
    bad = [s for s in sources if s not in SOURCES]
    if not sources or bad or len(set(sources)) != len(sources):
        raise ValueError(f"domain_loss: sources={sources!r} must be distinct names from "
                         f"{SOURCES}.")
    params = {}
    for s in sources:
        params[f"{s}_c"] = Param(constraints.positive, init=(1e10, 1e50), doc=f"critical {s}")
        params[f"alpha_{s}"] = Param(constraints.positive, init=(0.01, 0.5),
                                     doc=f"exponent of {s}")
    if irreducible:
        params["E"] = Param(constraints.positive, init=(0.1, 2.0), doc="irreducible loss")
    formula = " + ".join([f"({s}/{s}_c)^-alpha_{s}" for s in sources] + (["E"] * irreducible))
    # partials of module-level functions: results pickle
    log = functools.partial(_log_domain_loss, sources=sources, irreducible=bool(irreducible))
    return Law(fn=functools.partial(exp_of, log_fn=log), log_fn=log, params=params,
               inputs=sources, positive_inputs=sources,
               name="flp_m_domain_loss", formula=formula)


# ----------------------------------------------------------------------------- the MLP

def _nnx():
    """flax.nnx, which only FLP-M needs (the ``flp-m`` extra), imported on first use."""
    try:
        from flax import nnx
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("FLP-M's MLP needs flax, an optional dependency: pip install "
                          "flax, or install jaxfit with its extra, pip install '.[flp-m]'."
                          ) from e
    return nnx


@functools.cache
def mlp_class():
    """The two-layer MLP (a flax ``nnx.Module``), built on first use so that flax is an
    optional dependency: ``Linear(d, hidden) -> activation -> Linear(hidden, 1)``, float64."""
    nnx = _nnx()

    class MLP(nnx.Module):
        """Two layers: ``Linear(d, hidden) -> activation -> Linear(hidden, 1)``, float64."""

        def __init__(self, d: int, hidden: int, activation: str = "relu", *, rngs):
            self.hidden = nnx.Linear(d, hidden, param_dtype=jnp.float64, rngs=rngs)
            self.out = nnx.Linear(hidden, 1, param_dtype=jnp.float64, rngs=rngs)
            self.activation = activation

        def __call__(self, x):
            return self.out(getattr(nnx, self.activation)(self.hidden(x)))[..., 0]

    # named as this module's ``MLP`` (`__getattr__` builds it): an `MLPFit`'s graphdef,
    # and so an `FLPMResult`, pickles (a local class does not)
    MLP.__qualname__ = "MLP"
    return MLP


def __getattr__(name: str):
    # the MLP class on first use (flax is optional), e.g. when pickle looks up ``MLP``
    if name == "MLP":
        return mlp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclasses.dataclass(frozen=True, eq=False)
class MLPFit:
    """Trained MLPs, one ensemble per task: ``state`` leaves are [T, M, ...]; inputs are
    standardised with ``x_mean``/``x_scale`` [T, d], outputs with ``y_mean``/``y_scale``
    [T]; ``loss`` [T, M] is each member's final training MSE (standardised units)."""

    graphdef: Any
    state: Any
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray
    loss: np.ndarray


def _masked_moments(a, w):
    """Per-task weighted mean and SD over the points axis (a [T, n, ...], w [T, n])."""
    ww = w.reshape(w.shape + (1,) * (a.ndim - w.ndim))
    mean = (a * ww).sum(1) / ww.sum(1)
    sd = jnp.sqrt(((a - mean[:, None]) ** 2 * ww).sum(1) / ww.sum(1))
    return mean, jnp.where(sd > 0, sd, 1.0)


@functools.cache
def _adamw(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    # One object per setting, so that the jitted `_train` (static in ``tx``) is reused.
    return optax.adamw(learning_rate, weight_decay=weight_decay)


@cache.jit(static_argnums=(0, 1, 2))
def _train(graphdef, tx, steps, state, X, y, w):
    """AdamW on the masked MSE; vmapped over tasks (axis 0) and members (axis 1)."""

    nnx = _nnx()

    def loss_fn(st, x, t, m):
        r = nnx.merge(graphdef, st)(x) - t
        return jnp.sum(m * r**2) / jnp.sum(m)

    def member(st, x, t, m):
        def step(carry, _):
            st, opt = carry
            val, g = jax.value_and_grad(loss_fn)(st, x, t, m)
            upd, opt = tx.update(g, opt, st)
            return (optax.apply_updates(st, upd), opt), val

        (st, _), vals = jax.lax.scan(step, (st, tx.init(st)), None, length=steps)
        return st, loss_fn(st, x, t, m)

    per_task = jax.vmap(member, in_axes=(0, None, None, None))
    return jax.vmap(per_task)(state, X, y, w)


def fit_mlp(X, y, w=None, *, hidden: int = 16, steps: int = 1000,
            learning_rate: float = 1e-2, weight_decay: float = 1e-4, ensemble: int = 4,
            seed: int = 0, activation: str = "relu") -> MLPFit:
    """Train one ensemble of two-layer MLPs per task, all tasks in one compiled program.

    Args:
        X: inputs [T, n, d] (the domain losses of n checkpoints per task).
        y: targets [T, n] (performance).
        w: point weights [T, n] (0 for padding); default 1.
        hidden: hidden width.
        steps: full-batch AdamW steps.
        learning_rate, weight_decay: AdamW settings (optax.adamw).
        ensemble: independently initialised members per task; predictions are averaged.
        seed: seed of the initialisations.
        activation: a flax.nnx activation name ("tanh", "relu", "gelu", "softplus", ...).

    Returns:
        An `MLPFit`.
    """
    nnx, MLP = _nnx(), mlp_class()
    if not hasattr(nnx, activation):
        raise ValueError(f"fit_mlp: activation={activation!r} is not a flax.nnx function.")
    with jax.enable_x64(True):
        X = jnp.asarray(X, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        w = jnp.ones(y.shape) if w is None else jnp.asarray(w, jnp.float64)
        if X.ndim != 3 or y.shape != X.shape[:2] or w.shape != y.shape:
            raise ValueError(f"fit_mlp: X must be [T, n, d] and y, w [T, n]; got "
                             f"{X.shape}, {y.shape}, {w.shape}.")
        xm, xs = _masked_moments(X, w)
        ym, ys = _masked_moments(y, w)
        Xs, ys_ = (X - xm[:, None]) / xs[:, None], (y - ym[:, None]) / ys[:, None]
        T, d = X.shape[0], X.shape[2]
        graphdef, _ = nnx.split(MLP(d, hidden, activation, rngs=nnx.Rngs(0)))
        keys = jax.random.split(jax.random.key(seed), (T, ensemble))
        init = jax.vmap(jax.vmap(
            lambda k: nnx.state(MLP(d, hidden, activation, rngs=nnx.Rngs(params=k)))))
        tx = _adamw(float(learning_rate), float(weight_decay))
        state, loss = _train(graphdef, tx, int(steps), init(keys), Xs, ys_, w)
        return MLPFit(graphdef, state, *(np.asarray(a) for a in (xm, xs, ym, ys, loss)))


def predict_mlp(mlp: MLPFit, X) -> np.ndarray:
    """Ensemble-mean predictions [T, m] of a fitted `MLPFit` at inputs X [T, m, d]."""
    nnx = _nnx()
    with jax.enable_x64(True):
        Xs = (jnp.asarray(X, jnp.float64) - mlp.x_mean[:, None]) / mlp.x_scale[:, None]
        apply = jax.vmap(jax.vmap(lambda st, x: nnx.merge(mlp.graphdef, st)(x),
                                  in_axes=(0, None)))
        out = apply(mlp.state, Xs).mean(1)
        return np.asarray(out * mlp.y_scale[:, None] + mlp.y_mean[:, None])


# ----------------------------------------------------------------------------- recipe

@dataclasses.dataclass(frozen=True, eq=False, repr=False)    # RecipeResult.__repr__
class FLPMResult(RecipeResult):
    """What `flp_m` returns (the recipe protocol, `jaxfit.recipes.protocol`).

    Attributes:
        predictions: one row per task and target: ``C``, ``ratio`` (if used),
            ``actual_acc``, ``pred_acc`` (FLP-M), ``abs_error`` (points), ``rel_error``,
            ``mlp_pred_acc`` (the MLP at the target's actual domain losses).
        domain_losses: one row per domain and target: ``actual`` and ``pred`` loss,
            ``rel_error``.
        stage1: per domain, the `domain_loss` parameters and diagnostics.
        stage2: per task: ``chance``, ``n_points``, the MLP ensemble's mean and max
            final training MSE (standardised units), and ``fit_rmse`` (accuracy).
        stage1_data: the stage-1 points (domain, run, C, [ratio], loss, fitted).
        stage2_data: the MLP's training points (task, run, domain losses, acc, fitted).
        fits: ``{"stage1": FitResult, "mlp": MLPFit}``.
        options: the settings used.
    """

    predictions: pd.DataFrame
    domain_losses: pd.DataFrame
    stage1: pd.DataFrame
    stage2: pd.DataFrame
    stage1_data: pd.DataFrame
    stage2_data: pd.DataFrame
    fits: dict[str, Any]
    options: dict[str, Any]

    recipe: ClassVar[str] = "flp_m"
    plot_function: ClassVar[str] = "jaxfit.recipes.flp_plot:plot_flp_m"

    def table(self) -> pd.DataFrame:
        """Tidy predictions: one row per task and target: ``task``, ``target``, ``C``,
        ``actual``, ``pred``, ``abs_error``, ``mlp_at_actual`` (the MLP at the target's
        actual domain losses), accuracy in points (x 100); ``rel_error`` (fraction)."""
        p = self.predictions
        return pd.DataFrame({
            "task": p["task"], "target": p["target"], "C": p["C"],
            "actual": 100 * p["actual_acc"], "pred": 100 * p["pred_acc"],
            "abs_error": p["abs_error"], "mlp_at_actual": 100 * p["mlp_pred_acc"],
            "rel_error": p["rel_error"]}).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per target: tasks, mean absolute error (points), mean |relative error| of the
        predicted domain losses."""
        g = self.table().groupby("target", sort=False)
        d = self.domain_losses.assign(abs_rel=lambda x: x["rel_error"].abs())
        return pd.DataFrame({"tasks": g.size(), "mean_abs_error": g["abs_error"].mean(),
                             "domain_loss_mean_abs_rel_error":
                                 d.groupby("target", sort=False)["abs_rel"].mean()})

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), pd.DataFrame)}


def _inputs(df: pd.DataFrame, sources: Sequence[str]) -> dict[str, np.ndarray]:
    C = df["C"].to_numpy(np.float64)
    if set(sources) == {"C"}:
        return {"C": C}
    r = df["ratio"].to_numpy(np.float64)
    return {"C": C, "C_G": r * C, "C_C": (1 - r) * C}


def _pad(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack ragged [n_t, ...] arrays into [T, n_max, ...] with a 0/1 mask."""
    n = max(len(g) for g in groups)
    out = np.zeros((len(groups), n) + groups[0].shape[1:])
    mask = np.zeros((len(groups), n))
    for i, g in enumerate(groups):
        out[i, :len(g)] = g
        mask[i, :len(g)] = 1.0
    return out, mask


def flp_m(data: pd.DataFrame | None = None, *, tasks: Sequence[str] = PAPER_TASKS,
          domains: Sequence[str] = DOMAINS, sources: Sequence[str] = ("C",),
          irreducible: bool = False, chance: float | Mapping[str, float] | None = None,
          threshold: float = 0.05, sampling_runs: Sequence[str] | None = None,
          targets: Sequence[str] | None = None, last_n: int = 5, target_last_n: int = 5,
          stage1_options: Mapping[str, Any] | None = None,
          mlp_options: Mapping[str, Any] | None = None) -> FLPMResult:
    """Predict performance from per-source compute through domain losses and an MLP.

    Stage 1 fits `domain_loss` (the ``sources`` terms) per domain to one point per
    sampling run (compute of its last checkpoint, mean domain loss of its last ``last_n``),
    all domains in one fit. Stage 2 trains `fit_mlp` per task on every checkpoint of the
    sampling runs above ``chance + threshold``: input the vector of the ``domains`` losses,
    output accuracy. A target's accuracy is the MLP at its predicted domain losses.
    The stage-1 fit's warnings start with ``flp_m stage 1 (compute -> domain losses):``.

    Args:
        data: one row per checkpoint and task, columns as for
            `jaxfit.recipes.flp.flp` with one loss column per domain, plus ``ratio``
            (fraction of compute on general text, in (0, 1)) when ``sources`` include
            ``C_G`` or ``C_C``. Default: the OLMo ladder (`load_flp_data`; one mixture).
        tasks: tasks to predict.
        domains: the domain-loss columns (default: C4 and the 6 Dolma domains).
        sources: the `domain_loss` terms (default ``("C",)``; ``SOURCES`` for mixtures).
        irreducible: add ``E`` to each domain's law.
        chance, threshold, sampling_runs, targets, last_n, target_last_n: as in `flp`.
        stage1_options: `jaxfit.fit` options over `STAGE1_OPTIONS`.
        mlp_options: `fit_mlp` options over `MLP_OPTIONS`.

    Returns:
        An `FLPMResult`.
    """
    domains = [domains] if isinstance(domains, str) else list(dict.fromkeys(domains))
    sources = tuple(sources)
    data = load_flp_data() if data is None else data
    # the domains' unit when load_flp_data (or a user's attrs) records one for them all
    units = {recorded_unit(data, d) for d in domains}
    loss_unit = units.pop() if len(units) == 1 else None
    law = domain_loss(sources, bool(irreducible))
    mix = set(sources) != {"C"}          # the sources read the mixing ratio
    if mix and "ratio" not in data.columns:
        raise ValueError(f"flp_m: sources={sources} need a 'ratio' column (fraction of "
                         "compute on general text, in (0, 1)); the OLMo ladder has one "
                         "mixture: use sources=('C',).")
    tasks, levels, runs, target_names, lad, tgt = prepare(
        data, tasks, domains, chance, sampling_runs, targets, target_last_n, recipe="flp_m",
        ratio=mix, law=law, stage=_STAGE1)
    if mix:
        r = pd.concat([lad["ratio"], tgt["ratio"]]).to_numpy(np.float64)
        if not np.all((r > 0) & (r < 1)):
            raise ValueError("flp_m: column 'ratio' must lie strictly inside (0, 1) for "
                             f"sources {sources} (C_G = ratio C and C_C = (1 - ratio) C).")
    o1 = {**STAGE1_OPTIONS, **dict(stage1_options or {})}
    om = {**MLP_OPTIONS, **dict(mlp_options or {})}
    keep = ["run", "C"] + (["ratio"] if mix else [])
    # The stage-2 filter first: a task with too few checkpoints fails before any fit.
    kept, counts = above_chance(lad["task"], lad["accuracy"], levels, threshold, tasks,
                                "flp_m")

    # Stage 1: domain losses of the fully trained runs, every domain in one fit.
    extra = domains[1:] + (["ratio"] if mix else [])
    fin = final_points(lad[lad["task"] == tasks[0]], last_n, extra).rename(
        columns={"loss": domains[0]})
    s1 = fin.melt(id_vars=keep, value_vars=domains, var_name="domain", value_name="loss")
    s1 = s1.assign(**_inputs(s1, sources))
    with fit_source(f"flp_m {_STAGE1}"):
        res1 = fit(law, s1, y="loss", by="domain", x={s: s for s in sources},
                   loss="squared", space="log", **o1)
    s1["fitted"] = evaluate(law, res1.params, s1["domain"], _inputs(s1, sources))

    # Targets' domain losses: actual (mean of the last checkpoints) and predicted.
    tg1 = tgt[tgt["task"] == tasks[0]].rename(columns={"loss": domains[0]})
    dl = tg1.melt(id_vars=keep, value_vars=domains, var_name="domain", value_name="actual")
    dl["pred"] = evaluate(law, res1.params, dl["domain"], _inputs(dl, sources))
    dl["rel_error"] = dl["pred"] / dl["actual"] - 1
    dl = dl.rename(columns={"run": "target"})
    pred_x = dl.pivot(index="target", columns="domain", values="pred")[domains]
    act_x = dl.pivot(index="target", columns="domain", values="actual")[domains]

    # Stage 2: the MLP on the checkpoints above chance + threshold, all tasks at once.
    pts = lad[kept]
    groups = [pts[pts["task"] == t] for t in tasks]
    X, mask = _pad([g[domains].to_numpy(np.float64) for g in groups])
    y, _ = _pad([g["accuracy"].to_numpy(np.float64) for g in groups])
    mlp = fit_mlp(X, y, mask, **om)
    fitted = predict_mlp(mlp, X)
    s2 = pd.concat([g[["task", "run", "C"] + domains + ["accuracy"]].assign(
        fitted=fitted[i, :len(g)]) for i, g in enumerate(groups)], ignore_index=True)
    s2 = s2.rename(columns={"accuracy": "acc"})
    rmse = s2.assign(e=(s2["fitted"] - s2["acc"]) ** 2).groupby("task")["e"].mean() ** 0.5
    stage2 = pd.DataFrame({"chance": pd.Series(levels), "n_points": counts,
                           "train_mse_mean": mlp.loss.mean(1), "train_mse_max": mlp.loss.max(1),
                           "fit_rmse": rmse.reindex(tasks)}, index=pd.Index(tasks, name="task"))

    # Predictions: every target through every task's MLP in one call.
    names = list(dict.fromkeys(target_names))
    tile = lambda m: np.broadcast_to(m.loc[names].to_numpy(np.float64),  # noqa: E731
                                     (len(tasks), len(names), len(domains)))
    p_hat, p_act = predict_mlp(mlp, tile(pred_x)), predict_mlp(mlp, tile(act_x))
    acc = tgt.set_index(["task", "run"])["acc"]
    pred = pd.DataFrame([dict(task=t, target=r, C=float(tg1.set_index("run").loc[r, "C"]),
                              actual_acc=float(acc.loc[(t, r)]), pred_acc=p_hat[i, j],
                              mlp_pred_acc=p_act[i, j])
                         for j, r in enumerate(names) for i, t in enumerate(tasks)])
    if mix:
        pred.insert(3, "ratio", tg1.set_index("run").loc[pred["target"], "ratio"].to_numpy())
    pred["abs_error"] = 100 * np.abs(pred["pred_acc"] - pred["actual_acc"])
    pred["rel_error"] = pred["pred_acc"] / pred["actual_acc"] - 1
    stage1 = res1.to_frame().reindex(domains)
    stage1.index.name = "domain"
    for frame in (pred, dl, s2):                         # for plots of the frames alone
        frame.attrs.update(loss_unit=loss_unit)
    options = dict(tasks=tasks, domains=domains, loss_unit=loss_unit, sources=sources,
                   irreducible=irreducible,
                   chance=levels, threshold=threshold, sampling_runs=runs,
                   targets=target_names, last_n=last_n, target_last_n=target_last_n,
                   stage1_options=o1, mlp_options=om)
    return FLPMResult(predictions=pred, domain_losses=dl, stage1=stage1, stage2=stage2,
                      stage1_data=s1, stage2_data=s2, fits={"stage1": res1, "mlp": mlp},
                      options=options)


def run_flp_m(data: pd.DataFrame | None = None, **kwargs) -> dict[str, pd.DataFrame]:
    """Command-line entry point: `flp_m` as a dict of DataFrames (`FLPMResult.frames`).

    Plot with `jaxfit.recipes.flp_plot.plot_flp_m`. Its fits' warnings point at its
    caller (`jaxfit.warnings.fit_source`).
    """
    with fit_source(""):
        return flp_m(data, **kwargs).frames()
