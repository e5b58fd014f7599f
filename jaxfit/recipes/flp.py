"""FLP: FLOPs -> pre-training loss -> downstream performance (Chen et al. 2024): `flp`.

Chen, Huang, Gao, Wang, Yang, Ji (2024), "Scaling Laws for Predicting Downstream
Performance in LLMs", arXiv:2410.08527. No code or data were released; this recipe follows
the method as described in the abstract and the ICLR 2025 reviews (see
``shared/papers/METHODS.md`` section 3). Two stages, each one `jaxfit.fit` call:

1. **Stage 1, loss from compute**, fitted on the fully trained "sampling" models (one
   point per model: compute ``C`` and the mean pre-training loss of its last checkpoints):

   .. math:: L(C) = (C / C_N)^{-\\alpha}

   (`jaxfit.models.kaplan`; the paper's ``(C/C_N)^{alpha_N}`` with ``alpha_N < 0``), or,
   with ``irreducible=True``, ``L(C) = E + A C^{-alpha}`` (`jaxfit.models.power_law`).
2. **Stage 2, performance from loss**, fitted per task on the *intermediate* checkpoints
   of the sampling models whose performance is above the task's chance level plus
   ``threshold`` (5 points: the paper's emergence-threshold filter):

   .. math:: P(L) = w_0 + w_1 L

   (`jaxfit.models.linear`); ``stage2="sigmoid"`` uses the Llama-3 / ladder sigmoid
   ``a/(1 + exp(-k(L - L0))) + b`` instead (`jaxfit.models.sigmoid`; the paper compares
   with it in its appendix C).

The prediction for a target of compute ``C*`` is ``P(L(C*))`` (`jaxfit.compose`). The
**baseline** predicts performance from compute directly, ``P(C) = A C^{-alpha}`` with
``alpha`` free in sign (`jaxfit.models.power_law` without ``E``; the paper's "FLOPs ->
performance" baseline, whose exact form is unpublished).

Readings chosen where the sources are silent (UNVERIFIED in METHODS.md):

* objectives: stage 1 is least squares on log residuals (log-log regression, the usual
  ``curve_fit`` of a power law); stage 2 and the sigmoid are least squares in linear
  space. The baseline is least squares on log residuals, which makes it a linear
  regression of ``log P`` on ``log C`` with a unique optimum.
* the baseline is fitted on the same fully trained points as stage 1 (accuracy averaged
  like the loss), not on intermediate checkpoints: an intermediate checkpoint has spent
  compute ``C`` without being a model fully trained with ``C``, so mixing them in would
  bias a compute law.
* "above chance + 5 points" is ``P > chance + threshold`` on the (optionally smoothed)
  checkpoint's accuracy, every checkpoint of every sampling run (``skip_frac=0``,
  ``moving_avg=1``: no smoothing, which the paper does not mention).
* on the OLMo ladder the "sampling models" are the 16 ladder runs (190M-1.3B x 1, 2, 5,
  10 x Chinchilla); compute is ``tokens x FLOPs per token`` (the authors' ``MODEL_FLOPS``)
  and the loss is the C4 validation loss (`load_flp_data`).

Example (a few seconds, mostly compilation):
    >>> from jaxfit.recipes.flp import flp
    >>> res = flp()
    >>> p = res.predictions
    >>> err = (p["pred_acc"] - p["actual_acc"]).abs().groupby(p["target"]).mean()
    >>> {t: round(100 * e, 1) for t, e in err.items()}    # mean |error|, accuracy points
    {'13B-5T': 4.4, '7B-4T': 4.1}
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from jaxfit.datasets import recorded_unit
from jaxfit.datasets.loaders import (  # noqa: F401 (re-exported)
    load_flp_data, load_olmo_ladder, load_olmo_ladder_val)
from jaxfit.fit import fit
from jaxfit.law import Law, compose
from jaxfit.models.kaplan import kaplan
from jaxfit.models.linear import linear
from jaxfit.models.power_law import power_law
from jaxfit.models.sigmoid import sigmoid
from jaxfit.recipes.ladder import PAPER_TASKS, LadderResult
from jaxfit.recipes.protocol import RecipeResult
from jaxfit.recipes.points import (check_fraction, check_run_count, evaluate, numeric_rows,
                                   param_frame, run_task_rows, select_runs,
                                   select_tasks, step2_points, tail_mean)
from jaxfit.result import FitResult
from jaxfit.warnings import FitWarning, fit_source, warn_fit

__all__ = ["flp", "FLPResult", "flp_vs_ladder", "run_flp", "compare_with_ladder", "load_flp_data",
           "load_olmo_ladder_val", "prepare", "final_points", "above_chance", "CHANCE",
           "DOMAINS", "STAGE1_OPTIONS", "STAGE2_OPTIONS"]

#: Chance accuracy of the OLMo ladder tasks (RC 5-shot): 1 / number of choices (the
#: ladder code's ``task_min``: 0.25, PIQA 0.5, Social IQa 1/3, CSQA 0.2; BoolQ and
#: Winogrande 0.5).
CHANCE = {"mmlu_avg_test": 0.25, "hellaswag_val": 0.25, "arc_challenge_test": 0.25,
          "arc_easy_test": 0.25, "piqa_val": 0.5, "csqa_val": 0.2, "socialiqa_val": 1 / 3,
          "openbookqa_test": 0.25, "boolq_val": 0.5, "winogrande_val": 0.5}
#: The per-domain validation losses of the OLMo ladder (`load_olmo_ladder_val`): C4 and
#: the Dolma sources (``stack`` is code).
DOMAINS = ("c4", "books", "common_crawl", "pes2o", "reddit", "stack", "wiki")
#: `jaxfit.fit` options of stage 1 (a few points, 2-3 parameters).
STAGE1_OPTIONS = {"restarts": 32, "refine": 8, "seed": 0}
#: `jaxfit.fit` options of stage 2 (linear: one optimum; the sigmoid needs restarts).
STAGE2_OPTIONS = {"restarts": 16, "refine": 4, "seed": 0}
_STAGE2 = ("linear", "sigmoid")
#: FLP's floor on the sampling runs, whatever the stage-1 law (`check_sampling_runs`): its
#: default 2-parameter stage 1 keeps a residual degree of freedom.
FLP_MIN_RUNS = 3
#: What each of `flp`'s point fits is called in its warnings (``"flp stage 1 (compute ->
#: loss): 1 of 1 task(s) did not converge ..."``), as the ladder's say ``"ladder step1:"``.
#: Stage 1, as the run-count check names it (`check_sampling_runs`).
_STAGE1 = "stage 1 (compute -> loss)"
_STAGES = {"stage1": f"flp {_STAGE1}",
           "stage2": "flp stage 2 (loss -> accuracy)",
           "baseline": "flp baseline (compute -> accuracy)"}


@dataclasses.dataclass(frozen=True, eq=False, repr=False)    # RecipeResult.__repr__
class FLPResult(RecipeResult):
    """What `flp` returns (the recipe protocol, `jaxfit.recipes.protocol`: `table`,
    `summary`, `frames`, `plot`, `to_json`).

    Attributes:
        predictions: one row per task and target: ``C``, ``actual_loss``, ``pred_loss``
            (stage 1), ``loss_rel_error``, ``actual_acc``, ``pred_acc`` (FLP, the chain),
            ``abs_error`` (accuracy points, ``100 |pred - actual|``), ``rel_error``
            (``pred / actual - 1``, a signed fraction; the paper's "error margins" of 5%
            (7B) and 10% (13B) are relative errors, presumably ``|rel_error|``, UNVERIFIED
            in METHODS.md section 3.1), ``stage2_pred_acc`` (stage 2 at
            the target's actual loss), ``baseline_pred_acc`` and ``baseline_abs_error``.
        stage1: the stage-1 parameters and diagnostics (one row, index "all").
        stage2: per task, the stage-2 parameters, diagnostics, ``chance``, ``n_points``
            (checkpoints above the threshold) and ``fit_error`` (mean |relative error|).
        baseline: per task, the compute-to-performance parameters and diagnostics.
        stage1_data: the stage-1 points (one per sampling run, ``kind="sampling"``) and
            the targets' observed points (``kind="target"``), with ``fitted``.
        stage2_data: per task, every checkpoint (``kept`` marks those above threshold)
            and the targets, with the stage-2 ``fitted`` value.
        curves: the fitted laws on a grid, for plots: ``stage`` ("stage1": ``x`` = C,
            ``y`` = loss; "stage2": ``x`` = loss, ``y`` = accuracy per task).
        fits: the `FitResult` of "stage1", "stage2" and "baseline".
        options: the settings used; with `flp_vs_ladder`, ``"ladder"`` holds the
            ladder's (its ``options``: runs, step options, ...).
        comparison: with `flp_vs_ladder`, `compare_with_ladder`'s table (else None).
        ladder: with `flp_vs_ladder`, the two-step ladder's
            `jaxfit.recipes.ladder.LadderResult` behind ``comparison`` (else None); its
            point fits count in `unconverged` (``"ladder step1 task ..."``), so ``jaxfit
            flp`` exits 1 when one of them did not converge, as ``jaxfit ladder`` does.
            Its step tables are in `frames` as ``ladder_step1`` and ``ladder_step2`` (with
            each task's ``status`` and ``design``), what ``jaxfit flp`` writes for them;
            its numbers are in ``comparison``, its settings in ``options["ladder"]``.
    """

    predictions: pd.DataFrame
    stage1: pd.DataFrame
    stage2: pd.DataFrame
    baseline: pd.DataFrame
    stage1_data: pd.DataFrame
    stage2_data: pd.DataFrame
    curves: pd.DataFrame
    fits: dict[str, FitResult]
    options: dict[str, Any]
    comparison: pd.DataFrame | None = None
    ladder: LadderResult | None = None

    recipe: ClassVar[str] = "flp"
    plot_function: ClassVar[str] = "jaxfit.recipes.flp_plot:plot_flp"

    def table(self) -> pd.DataFrame:
        """Tidy predictions: one row per task and target: ``task``, ``target``, ``C``,
        ``actual_loss``, ``pred_loss`` (nats), ``actual``, ``pred``, ``abs_error``,
        ``stage2_pred`` (stage 2 at the actual loss), ``baseline``, ``baseline_abs_error``
        (accuracy points, x 100), ``rel_error`` (signed fraction)."""
        p = self.predictions
        return pd.DataFrame({
            "task": p["task"], "target": p["target"], "C": p["C"],
            "actual_loss": p["actual_loss"], "pred_loss": p["pred_loss"],
            "actual": 100 * p["actual_acc"], "pred": 100 * p["pred_acc"],
            "abs_error": p["abs_error"], "stage2_pred": 100 * p["stage2_pred_acc"],
            "baseline": 100 * p["baseline_pred_acc"],
            "baseline_abs_error": p["baseline_abs_error"],
            "rel_error": p["rel_error"]}).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per target: tasks and mean absolute errors (points) of FLP and the baseline
        (and of the ladder, with a comparison)."""
        g = self.table().groupby("target", sort=False)
        out = pd.DataFrame({"tasks": g.size(), "flp_mean_abs_error": g["abs_error"].mean(),
                            "baseline_mean_abs_error": g["baseline_abs_error"].mean()})
        if self.comparison is not None:
            out["ladder_mean_abs_error"] = self.comparison.groupby(
                "target", sort=False)["ladder_abs_error"].mean()
        return out

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        """FLP's tables, then with a ladder its step tables as ``ladder_step1`` and
        ``ladder_step2`` (before, ``jaxfit flp`` exited 1 naming a ladder fit, "ladder
        step1 task ... (max_steps)", whose status it wrote nowhere)."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if isinstance(getattr(self, f.name), pd.DataFrame)}
        if self.ladder is None:
            return own
        return {**own, "ladder_step1": self.ladder.step1, "ladder_step2": self.ladder.step2}


# ----------------------------------------------------------------------------- laws

def _widen(law: Law, **init: tuple[float, float]) -> Law:
    """``law`` with other init ranges (compute is ~1e17-1e24 FLOPs, far from the defaults)."""
    params = {n: dataclasses.replace(p, init=init.get(n, p.init)) for n, p in law.params.items()}
    return law.replace(params=params)


@functools.cache
def _laws(irreducible: bool, stage2: str) -> tuple[Law, Law, Law, Law]:
    """Stage 1, stage 2, their chain and the baseline, built once per process so that
    `jaxfit.fit` reuses its compiled programs across calls."""
    if irreducible:
        law1 = _widen(power_law("C"), A=(1.0, 1e8), alpha=(0.01, 0.5))
    else:
        law1 = _widen(kaplan("C"), C_c=(1e15, 1e60), alpha=(0.01, 0.3))
    law2 = linear("L") if stage2 == "linear" else sigmoid("L")
    base = _widen(power_law("C", irreducible=False), A=(1e-4, 1e2), alpha=(-0.3, 0.3))
    return law1, law2, compose(law2, law1, into="L", name=f"flp_{law2.name}"), base


def _grid_curve(law: Law, params: pd.DataFrame, tasks: Sequence[str], grid: np.ndarray,
                name: str, stage: str) -> pd.DataFrame:
    """``law`` on ``grid`` for each task (one evaluation, tasks stacked)."""
    t = np.repeat(list(tasks), len(grid))
    x = np.tile(grid, len(tasks))
    return pd.DataFrame({"stage": stage, "task": t, "x": x,
                         "y": evaluate(law, params, t, {name: x})})


# ----------------------------------------------------------------------------- recipe

def _check(data: pd.DataFrame, losses: Sequence[str], recipe: str = "flp") -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{recipe}: data must be a pandas DataFrame, got "
                        f"{type(data).__name__}.")
    need = ["run", "N", "tokens", "task", "accuracy", *losses]
    missing = [c for c in need if c not in data.columns]
    if "C" not in data.columns and "flops_per_token" not in data.columns:
        missing.append("C (or flops_per_token)")
    if missing:
        from jaxfit.data import did_you_mean

        # flp_m has no loss= (before, its message said to pass one): its columns are domains=
        name = ("loss=<column> to name the pre-training loss column" if recipe == "flp" else
                "domains=[<columns>] to name the domain-loss columns")
        raise ValueError(f"{recipe}: data is missing column(s) {missing}"
                         f"{did_you_mean(missing, data.columns)}; it needs one row per "
                         f"checkpoint and task with {need} and compute 'C' or "
                         "'flops_per_token' (see jaxfit.recipes.flp.load_flp_data()). Pass "
                         f"{name}.")


def _rows(data: pd.DataFrame, runs: Sequence[str], tasks: Sequence[str],
          losses: Sequence[str], what: str, recipe: str = "flp",
          ratio: bool = False) -> pd.DataFrame:
    """The rows of ``runs`` x ``tasks``, validated and sorted, with ``C`` and the first
    loss column as ``task_loss`` (the name the ladder helpers read); with ``ratio``, the
    ``ratio`` column is validated as numbers too."""
    rows = run_task_rows(data, runs, tasks, recipe, what, "sampling_runs").copy()
    # numbers written as text passed (numpy reads "0.25") and failed in pandas' mean
    # ("dtype 'str' does not support operation 'mean'"); "oops" gave numpy's "could not
    # convert string to float", naming no column
    compute = ["C"] if "C" in rows else ["flops_per_token"]
    positive = ["tokens", *compute, *losses]
    rows = numeric_rows(rows, ["N", *positive, "accuracy", *(["ratio"] if ratio else [])],
                        positive, recipe, what)
    if "C" not in rows:
        rows["C"] = rows["tokens"].to_numpy(np.float64) * rows["flops_per_token"].to_numpy(
            np.float64)
    check_fraction(rows, "accuracy", recipe, what)
    rank = {**{t: i for i, t in enumerate(tasks)}, **{r: i for i, r in enumerate(runs)}}
    rows = rows.sort_values(["task", "run", "tokens"], kind="stable",
                            key=lambda s: s.map(rank) if s.name != "tokens" else s)
    # C is carried as flops_per_token x tokens, so that `points.tail_mean` keeps it.
    rows["task_loss"] = rows[losses[0]].to_numpy(np.float64)
    rows["flops_per_token"] = rows["C"].to_numpy(np.float64) / rows["tokens"].to_numpy(
        np.float64)
    return rows.reset_index(drop=True)


def final_points(rows: pd.DataFrame, last_n: int,
                 extra: Sequence[str] = ()) -> pd.DataFrame:
    """Per task and run: C of the last checkpoint, and the mean loss, accuracy (and
    ``extra`` columns) over the last n checkpoints."""
    pts = tail_mean(rows, last_n, ["task_loss", "accuracy", *extra])
    pts["C"] = pts["tokens"].to_numpy(np.float64) * pts["flops_per_token"].to_numpy(np.float64)
    return pts.rename(columns={"task_loss": "loss", "accuracy": "acc"}).drop(
        columns=["flops_per_token"])


def _chance(chance, tasks: Sequence[str], recipe: str = "flp") -> dict[str, float]:
    """Each task's chance level: ``chance`` one float for all, or a mapping over the known
    levels (`CHANCE`). A mapping's task that is not fitted is refused: before, a typo
    (``chance={"piqa": 0.5}`` for piqa_val) was dropped without a word, and the task kept
    the known level, or had none."""
    if chance is None or isinstance(chance, Mapping):
        unknown = [t for t in (chance or {}) if t not in tasks]
        if unknown:
            raise ValueError(f"{recipe}: chance names {unknown}, which are not among the tasks "
                             f"fitted ({', '.join(tasks)}); give a level for those tasks, or "
                             "name the task in tasks=[...].")
        table = {**CHANCE, **dict(chance or {})}
        missing = [t for t in tasks if t not in table]
        if missing:
            raise ValueError(f"{recipe}: no chance level for tasks {missing}; pass chance={{task: "
                             "level} (e.g. 1/number of choices) or one float for all.")
        return {t: float(table[t]) for t in tasks}
    return {t: float(chance) for t in tasks}


def check_sampling_runs(runs: Sequence[str], law: Law, recipe: str, stage: str) -> None:
    """ValueError unless there are enough sampling runs for stage 1, ``law`` fitted to one
    point per run (`jaxfit.recipes.points.check_run_count`, the ladder's rule too), and at
    least `FLP_MIN_RUNS` whatever the law (FLP's rule since session 7: the default
    2-parameter stage 1 keeps a residual degree of freedom)."""
    check_run_count(runs, law, recipe, stage, "sampling",
                    ", or name more of the data's runs (sampling_runs=[...])",
                    minimum=FLP_MIN_RUNS)


def prepare(data, tasks, losses, chance, sampling_runs, targets, target_last_n,
            recipe: str = "flp", ratio: bool = False, *, law: Law, stage: str):
    """Validated inputs of `flp` and `jaxfit.recipes.flp_m.flp_m` (``recipe``, the name
    errors start with): the tasks, their chance levels, the run names, the sampling rows
    and the targets' final points (with the mean ``ratio`` when ``ratio``: FLP-M's
    mixtures; before, any column named ratio was averaged, and one of text failed with
    "dtype 'str' does not support operation 'mean'", in FLP too, which never reads it).
    ``data`` is the frame itself (the callers load the embedded one first, for its
    recorded unit); ``law`` is the stage-1 law ``stage`` fits to one point per sampling
    run (`check_sampling_runs`)."""
    _check(data, losses, recipe)
    tasks = select_tasks(data, tasks, recipe)
    levels = _chance(chance, tasks, recipe)
    runs = select_runs(data, sampling_runs, "ladder", recipe, "sampling_runs")
    target_names = select_runs(data, targets, "target", recipe, "sampling_runs")
    check_sampling_runs(runs, law, recipe, stage)
    lad = _rows(data, runs, tasks, losses, "sampling", recipe, ratio)
    extra = list(losses[1:]) + (["ratio"] if ratio else [])
    tgt = final_points(_rows(data, target_names, tasks, losses, "target", recipe, ratio),
                       target_last_n, extra)
    return tasks, levels, runs, target_names, lad, tgt


def above_chance(task, acc, levels: Mapping[str, float], threshold: float,
                 tasks: Sequence[str], recipe: str = "flp") -> tuple[np.ndarray, pd.Series]:
    """The emergence filter: ``acc > chance[task] + threshold``; counts per task
    (``recipe``: the name the error starts with)."""
    kept = np.asarray(acc, np.float64) > pd.Series(task).map(levels).to_numpy() + threshold
    counts = pd.Series(kept).groupby(np.asarray(task)).sum().reindex(tasks).fillna(0)
    few = counts[counts < 3]
    if len(few):
        raise ValueError(f"{recipe}: tasks {list(few.index)} have {list(few.astype(int))} "
                         f"checkpoints above chance + {threshold}; stage 2 needs >= 3. Lower "
                         "`threshold`, check `chance`, or drop the tasks.")
    return kept, counts.astype(int)


def _warn_outside(pred: pd.DataFrame, levels: Mapping[str, float], stage2: str) -> None:
    """FitWarning for FLP predictions outside [chance, 1]: stage 2 (linear in the loss, the
    paper's form) is unbounded, so such a number extrapolates past the accuracies that
    stage 2 was fitted to; it is returned as computed, not clipped."""
    chance = pred["task"].map(levels).to_numpy(np.float64)
    acc = pred["pred_acc"].to_numpy(np.float64)
    bad = (acc > 1) | (acc < chance)
    if bad.any():
        show = [f"{t} at {r}: {a:.3f}" for t, r, a in
                zip(pred["task"][bad], pred["target"][bad], acc[bad])][:4]
        warn_fit(f"flp: {int(bad.sum())} of {len(acc)} predicted accuracies lie outside "
                 f"[chance, 1] ({', '.join(show)}): stage 2 is linear in the loss (the "
                 "paper's form) and unbounded, so these extrapolate past the accuracies "
                 "it was fitted to. They are returned as computed; treat them as "
                 "unreliable" + (", or try stage2='sigmoid'" if stage2 == "linear" else "")
                 + ".", FitWarning, stacklevel=3)


def flp(data: pd.DataFrame | None = None, *, tasks: Sequence[str] = PAPER_TASKS,
        loss: str = "c4", chance: float | Mapping[str, float] | None = None,
        threshold: float = 0.05, stage2: str = "linear", irreducible: bool = False,
        sampling_runs: Sequence[str] | None = None, targets: Sequence[str] | None = None,
        last_n: int = 5, target_last_n: int = 5, skip_frac: float = 0.0,
        moving_avg: int = 1, stage1_options: Mapping[str, Any] | None = None,
        stage2_options: Mapping[str, Any] | None = None) -> FLPResult:
    """Predict downstream performance from compute through the pre-training loss (FLP).

    Stage 1 fits ``L(C) = (C/C_N)^-alpha`` (or ``E + A C^-alpha`` with ``irreducible``)
    to one point per sampling run (``C`` of its last checkpoint, the mean ``loss`` of its
    last ``last_n`` checkpoints); stage 2 fits ``P = w0 + w1 L`` (or the sigmoid) per task
    to every checkpoint of the sampling runs whose accuracy exceeds ``chance[task] +
    threshold``; a target's prediction is ``P(L(C_target))``, and its actual values are
    the means over its last ``target_last_n`` checkpoints. All tasks are one stage-2
    fit (``by="task"``). The compute-only baseline ``P(C) = A C^-alpha`` is fitted on the
    stage-1 points. See the module docstring for the paper and the readings chosen.
    The point fits' warnings start with the fit's name: ``flp stage 1 (compute -> loss):``,
    ``flp stage 2 (loss -> accuracy):``, ``flp baseline (compute -> accuracy):``.

    Args:
        data: one row per checkpoint and task with ``run``, ``N``, ``tokens``, ``task``,
            ``accuracy``, the ``loss`` column, compute ``C`` or ``flops_per_token``, and
            ``role`` ("ladder"/"target") unless the runs are given. Default: the OLMo
            ladder with its validation losses (`load_flp_data`). Never modified.
        tasks: tasks to predict (default: the ladder paper's 8).
        loss: the pre-training loss column (default C4 validation loss).
        chance: chance accuracy per task (dict, merged over `CHANCE`) or one float.
        threshold: the emergence filter's margin above chance (0.05 = 5 points).
        stage2: "linear" (the paper) or "sigmoid" (its appendix alternative).
        irreducible: add an irreducible term to stage 1.
        sampling_runs: runs fitted (default: role "ladder").
        targets: runs predicted (default: role "target").
        last_n: checkpoints averaged into a sampling run's stage-1 point.
        target_last_n: checkpoints averaged into a target's actual loss and accuracy.
        skip_frac: fraction of each run's first checkpoints dropped from stage 2.
        moving_avg: trailing moving average of stage-2 loss and accuracy (1 = none).
        stage1_options, stage2_options: `jaxfit.fit` options merged over
            `STAGE1_OPTIONS` / `STAGE2_OPTIONS` (the baseline uses the stage-1 ones).

    Returns:
        An `FLPResult`.

    Raises:
        ValueError: unknown stage 2, missing columns/runs/tasks/chance levels, bad values,
            fewer than 3 sampling runs (or than stage 1's parameters), or a task with fewer than 3 checkpoints above its threshold.
    """
    if stage2 not in _STAGE2:
        raise ValueError(f"flp: stage2={stage2!r} is not one of {_STAGE2}.")
    for name, v in [("last_n", last_n), ("target_last_n", target_last_n),
                    ("moving_avg", moving_avg)]:
        if int(v) != v or v < 1:
            raise ValueError(f"flp: {name}={v!r} must be a positive integer.")
    # the unit load_flp_data records for its validation losses (nats; before, every loss
    # column of the embedded data was called nats, task_loss in bits per byte too); a
    # user's loss column's unit is not known, so the plots name the column instead
    data = load_flp_data() if data is None else data
    loss_unit = recorded_unit(data, loss)
    law1, law2, chain, base = _laws(bool(irreducible), stage2)
    tasks, levels, runs, target_names, lad, tgt = prepare(
        data, tasks, [loss], chance, sampling_runs, targets, target_last_n, law=law1,
        stage=_STAGE1)
    o1 = {**STAGE1_OPTIONS, **dict(stage1_options or {})}
    o2 = {**STAGE2_OPTIONS, **dict(stage2_options or {})}

    # Stage 2's points first: a task with too few checkpoints above chance fails before
    # any fit (before: after the stage-1 fit, as flp_m did not)
    s2 = step2_points(lad, skip_frac, moving_avg)
    s2["kept"], counts = above_chance(s2["task"], s2["acc"], levels, threshold, tasks)

    # Stage 1: one point per sampling run (the loss is the same for every task).
    pts = final_points(lad, last_n)
    s1 = pts[pts["task"] == tasks[0]].drop(columns=["task", "acc"]).assign(task="all")
    with fit_source(_STAGES["stage1"]):
        res1 = fit(law1, s1, y="loss", x={"C": "C"}, loss="squared", space="log", **o1)
    s1["fitted"] = evaluate(law1, res1.params.set_axis(["all"]), s1["task"], {"C": s1["C"]})

    # Stage 2: checkpoints above chance + threshold, all tasks in one fit.
    with fit_source(_STAGES["stage2"]):
        res2 = fit(law2, s2[s2["kept"]], y="acc", by="task", x={"L": "L"}, loss="squared",
                   space="linear", **o2)
    s2["fitted"] = evaluate(law2, res2.params, s2["task"], {"L": s2["L"]})

    # Baseline: accuracy from compute on the stage-1 points.
    with fit_source(_STAGES["baseline"]):
        resb = fit(base, pts, y="acc", by="task", x={"C": "C"}, loss="squared", space="log",
                   **o1)

    # Predictions: each task's stage-2 parameters with the shared stage-1 ones.
    p1 = res1.params.set_axis(["all"])
    values = res2.params.assign(**p1.iloc[0].to_dict())
    C_t = tgt["C"].to_numpy(np.float64)
    pred = pd.DataFrame({"task": tgt["task"], "target": tgt["run"], "N": tgt["N"], "C": C_t,
                         "actual_loss": tgt["loss"], "actual_acc": tgt["acc"]})
    pred["pred_loss"] = evaluate(law1, values, tgt["task"], {"C": C_t})
    pred["loss_rel_error"] = pred["pred_loss"] / pred["actual_loss"] - 1
    pred["pred_acc"] = evaluate(chain, values, tgt["task"], {"C": C_t})
    pred["abs_error"] = 100 * np.abs(pred["pred_acc"] - pred["actual_acc"])
    pred["rel_error"] = pred["pred_acc"] / pred["actual_acc"] - 1
    pred["stage2_pred_acc"] = evaluate(law2, res2.params, tgt["task"],
                                        {"L": tgt["loss"].to_numpy(np.float64)})
    pred["baseline_pred_acc"] = evaluate(base, resb.params, tgt["task"], {"C": C_t})
    pred["baseline_abs_error"] = 100 * np.abs(pred["baseline_pred_acc"] - pred["actual_acc"])
    _warn_outside(pred, levels, stage2)
    order = {(t, r): i for i, (t, r) in enumerate((t, r) for r in target_names for t in tasks)}
    pred = pred.iloc[np.argsort([order[k] for k in zip(pred.task, pred.target)])]
    pred = pred.reset_index(drop=True)

    stage1 = res1.to_frame().set_axis(["all"])
    stage1.index.name = "fit"
    stage2_tab = param_frame(res2, tasks).assign(chance=pd.Series(levels),
                                                  n_points=counts)
    kept = s2[s2["kept"]]
    stage2_tab["fit_error"] = (kept.assign(e=np.abs(kept["fitted"] / kept["acc"] - 1))
                               .groupby("task")["e"].mean().reindex(tasks))
    stage1_data = pd.concat([
        s1.drop(columns="task").assign(kind="sampling"),
        pred.drop_duplicates("target")[["target", "N", "C", "actual_loss", "pred_loss"]]
        .rename(columns={"target": "run", "actual_loss": "loss", "pred_loss": "fitted"})
        .assign(kind="target")], ignore_index=True)
    stage2_data = pd.concat([
        s2.assign(kind="sampling"),
        pred[["task", "target", "N", "actual_loss", "actual_acc", "stage2_pred_acc"]]
        .rename(columns={"target": "run", "actual_loss": "L", "actual_acc": "acc",
                         "stage2_pred_acc": "fitted"}).assign(kind="target", kept=False)],
        ignore_index=True)
    cgrid = np.geomspace(0.5 * s1["C"].min(), 2.0 * max(C_t.max(), s1["C"].max()), 100)
    lmin = min(pred["pred_loss"].min(), pred["actual_loss"].min(), s2["L"].min())
    lgrid = np.linspace(0.97 * lmin, s2.loc[s2["kept"], "L"].max() * 1.03, 100)
    curves = pd.concat([_grid_curve(law1, p1, ["all"], cgrid, "C", "stage1"),
                        _grid_curve(law2, res2.params, tasks, lgrid, "L", "stage2")],
                       ignore_index=True)
    for frame in (pred, stage1_data, stage2_data):    # for plots of the frames alone
        frame.attrs.update(loss=loss, loss_unit=loss_unit)
    options = dict(tasks=tasks, loss=loss, loss_unit=loss_unit, chance=levels,
                   threshold=threshold, stage2=stage2,
                   irreducible=bool(irreducible), sampling_runs=runs, targets=target_names,
                   last_n=last_n, target_last_n=target_last_n, skip_frac=skip_frac,
                   moving_avg=moving_avg, stage1_options=o1, stage2_options=o2)
    return FLPResult(predictions=pred, stage1=stage1, stage2=stage2_tab,
                     baseline=param_frame(resb, tasks), stage1_data=stage1_data,
                     stage2_data=stage2_data, curves=curves,
                     fits={"stage1": res1, "stage2": res2, "baseline": resb},
                     options=options)


def compare_with_ladder(flp_result: FLPResult, ladder_result) -> pd.DataFrame:
    """FLP next to the two-step ladder prediction (Bhagia et al. 2024), accuracy points.

    Args:
        flp_result: an `FLPResult`.
        ladder_result: a `jaxfit.recipes.ladder.LadderResult` on the same tasks/targets.

    Returns:
        One row per task and target: ``actual``, ``flp``, ``flp_abs_error``, ``ladder``,
        ``ladder_abs_error``, ``baseline``, ``baseline_abs_error`` (all x 100).
    """
    f = flp_result.predictions.set_index(["task", "target"])
    lad = ladder_result.predictions.set_index(["task", "target"])
    out = pd.DataFrame({
        "actual": 100 * f["actual_acc"], "flp": 100 * f["pred_acc"],
        "flp_abs_error": f["abs_error"],
        "ladder": 100 * lad["pred_acc"].reindex(f.index),
        "ladder_abs_error": lad["abs_error"].reindex(f.index),
        "baseline": 100 * f["baseline_pred_acc"],
        "baseline_abs_error": f["baseline_abs_error"]})
    return out.reset_index()


def _check_ladder_inputs(data: pd.DataFrame, kwargs: Mapping[str, Any]) -> None:
    """ValueError unless the ladder comparison can run on `flp`'s tasks and runs: finite
    positive ``task_loss`` (the one column the ladder reads that FLP does not) and ``N``
    (FLP reads it only as a number, the ladder's step 1 under a log), and enough
    sampling runs for the ladder's step 1 (5; `jaxfit.recipes.points.check_run_count`).
    Below FLP's own floor (`FLP_MIN_RUNS`) the run count is left to `flp`, whose message
    (as FLP alone) then comes first.

    Before, both were found by the ladder after FLP's fits ("ladder: 82 ladder rows have
    missing or infinite values ...", "ladder: step 1 ... needs at least 5 ladder runs"),
    without the --no-ladder way out. A non-positive ``N`` was still found there ("ladder:
    column 'N' must be > 0, but 1 ladder rows are not"), after FLP's fits.
    """
    from jaxfit.recipes.ladder import _laws as ladder_laws

    tasks = select_tasks(data, kwargs.get("tasks", PAPER_TASKS), "flp")
    runs = select_runs(data, kwargs.get("sampling_runs"), "ladder", "flp", "sampling_runs")
    targets = select_runs(data, kwargs.get("targets"), "target", "flp", "sampling_runs")
    rows = data[data["run"].isin(runs + targets) & data["task"].isin(tasks)]
    alone = "pass ladder=False (command line: --no-ladder) to run FLP alone"
    try:
        numeric_rows(rows, ["task_loss"], ["task_loss"], "flp", "ladder-comparison")
    except ValueError as e:
        raise ValueError(f"{e} The comparison with the two-step ladder reads task_loss; "
                         f"{alone}.") from None
    # N <= 0 only: FLP's own checks refuse text or missing N (with no --no-ladder way out)
    try:
        numeric_rows(rows[pd.to_numeric(rows["N"], errors="coerce") <= 0], ["N"], ["N"],
                     "flp", "ladder-comparison")
    except ValueError as e:
        raise ValueError(f"{e} The comparison with the two-step ladder's step 1 reads N (under "
                         f"a log); {alone}.") from None
    # fewer runs than FLP's own floor: `flp`'s `prepare` says so, as flp alone (both its
    # stage-1 laws have at most FLP_MIN_RUNS parameters)
    if len(runs) >= FLP_MIN_RUNS:
        check_run_count(runs, ladder_laws("two_step")[0], "flp",
                        "the comparison with the two-step ladder's step 1", "sampling",
                        f", or {alone}")


def flp_vs_ladder(data: pd.DataFrame | None = None, *, ladder: bool = True,
                  step1_options: Mapping[str, Any] | None = None,
                  step2_options: Mapping[str, Any] | None = None, **kwargs) -> FLPResult:
    """`flp`, and with ``ladder`` the two-step ladder on the same tasks, runs and targets
    (``comparison``, `compare_with_ladder`; the ladder's own result as ``ladder``, whose
    point fits count in `FLPResult.unconverged`); what ``jaxfit flp`` runs.

    The ladder's warnings name what to change here: its step cap is ``step1_options`` /
    ``step2_options`` of this function, its tables ``result.ladder.step1`` and
    ``result.ladder.step2``, its runs ``sampling_runs``.

    Args:
        data: as in `flp` (default: the embedded OLMo ladder).
        ladder: also run `jaxfit.recipes.ladder.ladder` (needs the ladder's columns,
            ``task_loss``, which the embedded data has).
        step1_options, step2_options: the ladder's `jaxfit.fit` options of its steps, as
            in `jaxfit.recipes.ladder.ladder` (e.g. ``step1_options={'max_steps': 2000}``,
            which its step-cap warning advises; before, they could not be passed here).
            FLP's own fits take ``stage1_options`` / ``stage2_options`` (in ``kwargs``).
        **kwargs: passed to `flp`.

    Raises:
        ValueError: as `flp`; with ``ladder``, also when ``data`` has no ``task_loss``
            column (checked before any fit); without it, when ``step1_options`` or
            ``step2_options`` is given (nothing would use them).
    """
    unused = [n for n, v in (("step1_options", step1_options),
                             ("step2_options", step2_options)) if v is not None]
    if unused and not ladder:
        raise ValueError(f"flp: {' and '.join(unused)} {'are' if len(unused) > 1 else 'is'} "
                         "for the ladder comparison's fits, and ladder=False runs none; drop "
                         f"{'them' if len(unused) > 1 else 'it'}, or set ladder=True (FLP's "
                         "own fits take stage1_options and stage2_options).")
    if ladder and data is not None and "task_loss" not in data.columns:
        raise ValueError("flp: the comparison with the two-step ladder needs a 'task_loss' "
                         "column (each checkpoint's loss on the task, the ladder's step-1 "
                         "target), and data has none; pass ladder=False (command line: "
                         "--no-ladder) to run FLP alone, or add the column.")
    if ladder and data is not None:
        _check_ladder_inputs(data, kwargs)
    from jaxfit.recipes.ladder import ladder as run_ladder

    # FLP's warnings and the ladder's point at this function's caller (before, `flp` ran
    # outside the context, so its warnings pointed into this file); the ladder's advice
    # names what holds its result here and what its runs are called (before, "See
    # result.step1['status']" named a table an `FLPResult` does not have)
    with fit_source(""):
        res = flp(data, **kwargs)
        if not ladder:
            return res
        lad = run_ladder(
            data, tasks=res.options["tasks"], ladder_runs=res.options["sampling_runs"],
            targets=res.options["targets"], target_last_n=res.options["target_last_n"],
            step1_options=step1_options, step2_options=step2_options,
            result_name="result.ladder", runs_name="sampling_runs")
    # the ladder result is kept (before: only its comparison table), so that its point
    # fits count in `unconverged` and `jaxfit flp` exits 1 when one did not converge; its
    # settings are in ``options["ladder"]`` (before, `to_json`'s options, "every setting
    # used", lacked the ladder's, e.g. its step1_options, behind the comparison table)
    return dataclasses.replace(res, comparison=compare_with_ladder(res, lad), ladder=lad,
                               options={**res.options, "ladder": dict(lad.options)})


def run_flp(data: pd.DataFrame | None = None, *, ladder: bool = True,
            **kwargs) -> dict[str, pd.DataFrame]:
    """`flp_vs_ladder`'s tables as a dict of DataFrames (`FLPResult.frames`: ``table``,
    ``predictions``, ``stage1``, ``stage2``, ``baseline``, ``stage1_data``,
    ``stage2_data``, ``curves``, and with ``ladder`` ``comparison``, ``ladder_step1`` and
    ``ladder_step2``, the ladder's step tables). Plot it with
    `jaxfit.recipes.flp_plot.plot_flp`. Its fits' warnings point at its caller
    (`jaxfit.warnings.fit_source`)."""
    with fit_source(""):
        return flp_vs_ladder(data, ladder=ladder, **kwargs).frames()
