"""Model-ladder task scaling laws (Bhagia et al. 2024) as one call: `ladder`.

Bhagia, Liu, Wettig, ..., Hajishirzi (2024), "Establishing Task Scaling Laws via
Compute-Efficient Model Ladders", arXiv:2412.04403 (COLM 2025). A ladder of small models
(190M-1.3B x 1, 2, 5, 10 x Chinchilla) predicts the downstream accuracy of much larger
targets (OLMo 2 7B-4T and 13B-5T) in two steps:

1. task loss from model size and data (one point per ladder run):
   ``L(N, D) = A/N^alpha + B/D^beta + E`` (`jaxfit.models.ladder_step1`), Huber
   (delta = 1e-3) on log residuals, summed;
2. accuracy from task loss (every intermediate checkpoint of the ladder):
   ``Acc(L) = a/(1 + exp(-k (L - L0))) + b`` (`jaxfit.models.sigmoid`), least squares;

and the chain ``Acc(L(N, D))`` (`jaxfit.compose`) gives the target's accuracy. Each step
fits every task in one vmapped `jaxfit.fit` call (``by="task"``).

Every protocol choice is an argument whose default is the released code's
(allenai/OLMo-ladder ``src/scripts/{step1,step2,predict}.py``, configuration
``paper/configs/final.json``). The one deliberate difference is the optimiser: the code
runs one L-BFGS-B (step 1) or trust-region (step 2) fit from a fixed start; here each
task is fitted from many random starts and the best is kept (``step1_options``,
``step2_options``). On the released data this changes nothing the paper reports: the
multi-start step 1 lands on the paper's Table 5 for all 8 tasks (e.g. MMLU A = 38.07,
B = 100.09, alpha = 0.23, beta = 0.24, E = 0.45), the 13B-5T predictions equal the
paper's released ``chained_main.csv`` to 2e-5, and the objective is never above that of
the code's L-BFGS-B with its analytic gradient. MMLU's step-1 valley is flat, though:
L-BFGS-B with finite-difference gradients stops early (A = 29.7; the data README's
re-run, A = 35.4), which moves MMLU's predicted accuracy by 0.2-0.7 points. The one
place where multi-start changes a published number is the single-step variant on
CommonsenseQA (appendix C.5, "degenerate"): from the code's start L-BFGS-B stops at a 4x
higher objective; the multi-start optimum halves its error (2.3% vs 5.1% for 7B).

Example (about 10 s the first time, mostly compilation; under 1 s after):
    >>> from jaxfit.recipes import ladder
    >>> from jaxfit.recipes.ladder_plot import plot_ladder
    >>> res = ladder()
    >>> table = res.wide().round(1)   # accuracy points per task and target
    >>> table.loc["hellaswag_val", "13B-5T"].tolist()    # actual, predicted, |error|
    [83.2, 85.3, 2.1]
    >>> fig = plot_ladder(res)
    >>> len(fig.axes) > 0
    True
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from jaxfit.datasets.loaders import load_olmo_ladder  # noqa: F401 (re-exported)
from jaxfit.data import did_you_mean
from jaxfit.datasets import recorded_unit
from jaxfit.fit import fit
from jaxfit.law import Law, compose, fix
from jaxfit.models.ladder_step1 import ladder_step1, ladder_step1_flops
from jaxfit.models.sigmoid import sigmoid
from jaxfit.recipes.protocol import RecipeResult
from jaxfit.recipes.points import (check_fraction, check_run_count, evaluate, numeric_rows,
                                   param_frame, run_task_rows, select_runs, select_tasks,
                                   step2_points, tail_mean)
from jaxfit.inference import design
from jaxfit.inference.status import Status
from jaxfit.result import FitResult
from jaxfit.warnings import (FAILED_DIAGNOSTICS, ConvergenceWarning, DesignWarning,
                             DiagnosticWarning, IdentifiabilityWarning, warn_fit)

__all__ = ["ladder", "ladder_backtest", "LadderResult", "load_olmo_ladder", "PAPER_TASKS", "VARIANCE_TASKS",
           "TASK_DISPLAY_NAMES", "METHODS", "STEP1_OPTIONS", "STEP2_OPTIONS",
           "SINGLE_STEP_OPTIONS"]

#: The paper's 8 tasks (``v2_main``), in its display order.
PAPER_TASKS = ("mmlu_avg_test", "hellaswag_val", "arc_challenge_test", "arc_easy_test",
               "piqa_val", "csqa_val", "socialiqa_val", "openbookqa_test")
#: The 10 tasks of the variance analysis (``v2_main_variance``, Table 4): adds the two
#: tasks the paper drops as too noisy.
VARIANCE_TASKS = PAPER_TASKS + ("boolq_val", "winogrande_val")
TASK_DISPLAY_NAMES = {
    "mmlu_avg_test": "MMLU", "hellaswag_val": "HellaSwag", "arc_challenge_test": "ARC-Challenge",
    "arc_easy_test": "ARC-Easy", "piqa_val": "PIQA", "csqa_val": "CommonsenseQA",
    "socialiqa_val": "Social IQa", "openbookqa_test": "OpenBookQA", "boolq_val": "BoolQ",
    "winogrande_val": "Winogrande"}
#: "two_step" (section 3, the paper's method), "two_step_flops" (appendix C.1: step 1
#: from compute C only), "single_step" (appendix C.5: accuracy directly from N, D).
METHODS = ("two_step", "two_step_flops", "single_step")
#: Default `jaxfit.fit` options of the step-1 loss fit (16 points, 3-5 parameters).
STEP1_OPTIONS = {"restarts": 64, "refine": 16, "seed": 0, "max_steps": 1000}
#: Default `jaxfit.fit` options of the single-step fit (7 parameters on 16 points: slow,
#: Newton needs up to ~1,200 steps). Fitted at delta directly, as the paper does: on
#: OpenBookQA (and HellaSwag) no solver converges (a flat valley, reported as
#: ``max_steps``), so the answer depends on the path; with the default Huber continuation
#: the path ends at an objective 0.5% higher and a 7.6% instead of 9.2% error at 7B-4T.
SINGLE_STEP_OPTIONS = {"restarts": 64, "refine": 16, "seed": 0, "max_steps": 2000,
                       "continuation": ()}
#: Default `jaxfit.fit` options of the sigmoid fit (step 2; 1,400 points per task).
STEP2_OPTIONS = {"restarts": 16, "refine": 4, "seed": 0}

_REQUIRED = ("run", "N", "tokens", "task", "task_loss", "accuracy")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)    # RecipeResult.__repr__
class LadderResult(RecipeResult):
    """What `ladder` returns: tidy DataFrames, the fits, and the processed data.

    The recipe protocol (`jaxfit.recipes.protocol`): `table` (tidy, accuracy points),
    `summary` (per target), `frames`, `plot`, `to_json`; `wide` is the paper's layout.

    Attributes:
        predictions: one row per task and target: ``N``, ``D`` (and ``C`` for the FLOPs
            method), ``actual_loss`` and ``pred_loss`` (step 1), ``loss_rel_error``
            (``(pred - actual) / actual``), ``actual_acc``, ``pred_acc`` (the chained
            prediction), ``abs_error`` (``100 |pred - actual|``, accuracy points),
            ``rel_error`` (signed, a fraction), ``step2_pred_acc`` and
            ``step2_rel_error`` (step 2 alone, evaluated at the target's actual loss).
            Errors are NaN for targets without observed values. With ``intervals=True``
            also ``acc_lower``, ``acc_upper``, ``mean_acc_lower``, ``mean_acc_upper``,
            ``bootstrap_converged`` (the smallest share of the steps' bootstrap refits
            of the task that converged; a warning names those under 99%) and
            ``covered`` (see `ladder`).
        step1: per task, the step-1 parameters (for ``single_step``, the 7 single-step
            parameters), the objective, status, steps, ``identified``, ``at_bound``,
            and ``fit_error`` (mean |relative error| over the ladder points, as the
            paper's "fitting error").
        step2: per task, the sigmoid parameters ``a, k, L0, b`` and the same
            diagnostics (None for ``single_step``).
        variance: per task, the standard deviation and relative standard deviation
            (``sd / mean``, population SD) of task loss and accuracy over the last
            checkpoints of one ladder run (section 5, Table 4).
        variance_correlation: per target, SD measure and error kind, the Pearson
            correlation across tasks between the SD and the absolute error, with its
            p-value (the paper: loss SD vs step-2 error, r = 0.821 for 7B over 10 tasks).
        step1_data: the points of the step-1 fit (one per task and run) and the
            targets' observed points, with the fitted values.
        step2_data: the points of the step-2 fit (after the skip and moving average,
            with the anchor) and the targets' observed points.
        fits: the `FitResult` of each fit ("step1", "step2" or "single_step").
        options: the protocol settings used.
        posteriors: with ``intervals=True``, the bootstrap `jaxfit.Posterior` of each
            fit (same keys as ``fits``).
        calibration: with ``calibrate``, the `ladder_backtest` whose errors calibrate
            the intervals (a `jaxfit.backtest.BacktestResult`).
    """

    predictions: pd.DataFrame
    step1: pd.DataFrame
    step2: pd.DataFrame | None
    variance: pd.DataFrame
    variance_correlation: pd.DataFrame
    step1_data: pd.DataFrame
    step2_data: pd.DataFrame | None
    fits: dict[str, FitResult]
    options: dict[str, Any]
    posteriors: dict[str, Any] | None = None
    calibration: Any = None

    recipe: ClassVar[str] = "ladder"
    plot_function: ClassVar[str] = "jaxfit.recipes.ladder_plot:plot_ladder"

    def _values(self) -> tuple[pd.DataFrame, list[str]]:
        p = self.predictions.assign(actual=lambda d: 100 * d.actual_acc,
                                    pred=lambda d: 100 * d.pred_acc)
        values = ["actual", "pred", "abs_error"]
        if "acc_lower" in p:          # intervals=True: the predictive interval, in points
            p = p.assign(lower=100 * p["acc_lower"], upper=100 * p["acc_upper"])
            values = ["actual", "pred", "lower", "upper", "abs_error", "covered"]
        return p, values

    def table(self) -> pd.DataFrame:
        """Tidy predictions: one row per task and target: ``task``, ``target``,
        ``actual``, ``pred``, ``abs_error`` (with ``intervals=True`` also ``lower``,
        ``upper``, ``covered``), accuracy in points (x 100), and ``actual_loss``,
        ``pred_loss`` (step 1's task loss, bits per byte)."""
        p, values = self._values()
        return p[["task", "target", *values, "actual_loss", "pred_loss"]].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per target: tasks, mean and max absolute error (points), and with intervals
        the number of tasks covered (NA for a target without observed accuracy)."""
        p = self.table()
        g = p.groupby("target", sort=False)
        out = pd.DataFrame({"tasks": g.size(), "mean_abs_error": g["abs_error"].mean(),
                            "max_abs_error": g["abs_error"].max()})
        if "covered" in p:      # NA for a target without observed accuracy (hypothetical)
            out["covered"] = g["covered"].agg(
                lambda c: int(c.sum()) if c.notna().any() else pd.NA).astype("Int64")
        return out

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        return {"predictions": self.predictions, "step1": self.step1, "step2": self.step2,
                "variance": self.variance}

    def wide(self) -> pd.DataFrame:
        """Predictions as a wide table: one row per task, (actual, pred, abs_error) per target
        (with ``intervals=True`` also the interval ``lower``, ``upper`` and ``covered``).

        Accuracy in points (x 100), as the paper's Figure 2 and Table 3.
        """
        p, values = self._values()
        wide = p.pivot(index="task", columns="target", values=values)
        wide = wide.swaplevel(axis=1)
        targets = list(dict.fromkeys(p["target"]))
        wide = wide.reindex(columns=pd.MultiIndex.from_product([targets, values]))
        wide = wide.infer_objects()       # numeric columns stay numeric next to ``covered``
        return wide.reindex(list(dict.fromkeys(p["task"])))


# ----------------------------------------------------------------------------- data

def _check_data(data: pd.DataFrame, method: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    needed = list(_REQUIRED) + (["flops_per_token"] if method == "two_step_flops" else [])
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ValueError(
            f"ladder: data is missing column(s) {missing}"
            f"{did_you_mean(missing, data.columns)}; it needs one row per checkpoint "
            f"and task with columns {needed} (see jaxfit.datasets.load_olmo_ladder()"
            " for the layout). Rename your columns, e.g. df.rename(columns={'bpb': "
            "'task_loss'}).")


def _check_runs(runs: Sequence[str], method: str) -> None:
    """ValueError unless there are at least as many ladder runs as the first fit has
    parameters (it has one point per task and run).

    Before, the fit refused it as "2 task(s) have fewer points than the law's 5 free
    parameters ...; fix some parameters with jaxfit.fix()" (command line: "use a law with
    fewer free parameters (--law)"), options the recipe does not have, naming no run.
    """
    step = "the single-step fit" if method == "single_step" else "step 1"
    other = (", or method='two_step_flops' (3 parameters)"
             if method != "two_step_flops" and len(runs) >= 3 else "")
    check_run_count(runs, _laws(method)[0], "ladder", f"{step} ({method})", "ladder", other)


def _warn_leak(targets: Sequence[str], runs: Sequence[str],
               runs_name: str = "ladder_runs") -> None:
    """A DesignWarning naming the target runs that are also ladder runs: their points are
    fitted, so their predictions are not extrapolations (before: no word of it). Its
    advice calls the ladder runs' argument ``runs_name`` (`ladder`'s)."""
    both = [r for r in targets if r in set(runs)]
    if both:
        warn_fit(f"ladder: target run(s) {both} are also ladder runs: their points are "
                 "fitted, so their predictions are not extrapolations and their errors "
                 f"measure the fit. Drop them from `targets` or from `{runs_name}`.",
                 DesignWarning, stacklevel=3)


def _select(data: pd.DataFrame, runs: Sequence[str], tasks: Sequence[str], what: str,
            method: str = "two_step"):
    rows = run_task_rows(data, runs, tasks, "ladder", what)
    # N, tokens and the loss go under logs: a 0 was refused only by the fit, naming a
    # row of the recipe's own step-1 table ("rows [0]"), or not at all before the last
    # checkpoint of a run
    # flops_per_token too for the FLOPs method (before: a 0 refused as "column 'C' has 1
    # non-positive values at rows [0]" of the recipe's step-1 table, text as a bare "could
    # not convert string to float")
    flops = ["flops_per_token"] if method == "two_step_flops" else []
    rows = numeric_rows(rows, ["N", "tokens", "task_loss", "accuracy", *flops],
                        ["N", "tokens", "task_loss", *flops], "ladder", what)
    check_fraction(rows, "accuracy", "ladder", what)
    # Tasks and runs in the order asked for, checkpoints in training order (stable).
    rank = {**{t: i for i, t in enumerate(tasks)}, **{r: i for i, r in enumerate(runs)}}
    rows = rows.sort_values(["task", "run", "tokens"], kind="stable",
                            key=lambda s: s.map(rank) if s.name != "tokens" else s)
    return rows.reset_index(drop=True)


# ----------------------------------------------------------------------------- fits

def _fit(law: Law, df: pd.DataFrame, y: str, x: Mapping[str, str], loss: str, delta: float,
         space: str, options: Mapping[str, Any], step: str,
         result_name: str = "result") -> FitResult:
    options = dict(options)
    warn = options.pop("warn", True)
    res = fit(law, df, y=y, by="task", x=dict(x), loss=loss, delta=delta, space=space,
              reduction="sum", warn=False, **options)
    if warn:
        _warn(res, step, result_name)
    return res


def _warn(res: FitResult, step: str, result_name: str = "result") -> None:
    """Warnings for one fit of the recipe (``step``: "step1", "step2" or "single_step";
    the single-step fit takes ``step1_options`` and its table is ``result.step1``); their
    advice calls the result ``result_name`` (`ladder`'s).

    Parameters at a bound are part of the protocol (CommonsenseQA's E = 0, b = 1 for most
    sigmoids): they are reported in the ``at_bound`` column, not warned about, and a
    parameter converging to a bound of 0 is not taken as disagreement between restarts.
    """
    name = "single-step fit" if step == "single_step" else step
    table = "step1" if step == "single_step" else step     # its options' and table's name
    bad = ~res.converged
    if bad.any():
        why = "; ".join(sorted({f"{Status(int(c)).name.lower()}: {Status(int(c)).message}"
                                for c in res.status[bad]}))
        warn_fit(f"ladder {name}: {int(bad.sum())} of {len(res.tasks)} task(s) did not "
                 f"converge {list(res.tasks[bad])} ({why}); pass e.g. "
                 f"{table}_options={{'max_steps': ...}}. See {result_name}.{table}['status'].",
                 ConvergenceWarning, stacklevel=4)
    # the fit runs with warn=False: its DesignWarning for a design that cannot identify the
    # law (a ladder of one model size: "input 'N' has 1 distinct level(s)"; fewer runs than
    # parameters) was dropped, leaving only the restarts' note. The conditioning notes
    # ("uncertain", "singular": the released data give some for boolq, winogrande and
    # socialiqa) stay in the design column, as before.
    structural = [tuple(i for i in issues if i.kind in ("dof", "levels"))
                  for issues in (res.design or ())]
    for text in design.messages(res.tasks, structural, len(res.law.param_names)):
        warn_fit(f"ladder {name}: {text} See {result_name}.{table}['design'].",
                 DesignWarning, stacklevel=4)
    poor = ~res.identified & ~res.at_bound.any(axis=1)
    if poor.any():
        warn_fit(f"ladder {name}: task(s) {list(res.tasks[poor])} are poorly "
                 "identified (near-best restarts disagree by more than 1% in a "
                 "parameter); predictions may depend on the optimiser.",
                 IdentifiabilityWarning, stacklevel=4)


@functools.cache
def _laws(method: str) -> tuple[Law, ...]:
    """The laws of a method, built once per process.

    `jaxfit.fit` caches its compiled program per Law object; reusing the same objects
    makes repeated recipe calls skip compilation.
    """
    if method == "single_step":
        # Appendix C.5 (``combined_fit``): Acc = a / (1 + exp(-L(N, D))) + b, E free.
        outer = fix(sigmoid(), k=1.0, L0=0.0)
        return (compose(outer, ladder_step1(E="real"), into="L", name="ladder_single_step"),)
    law1 = ladder_step1() if method == "two_step" else ladder_step1_flops()
    law2 = sigmoid()
    return law1, law2, compose(law2, law1, into="L", name=f"sigmoid({law1.name})")


#: Private, for measurement only (benchmarks/ladder_cluster.py): a column of the step-2
#: points whose values label clusters that step 2's bootstraps resample whole
#: (`jaxfit.bootstrap`'s ``groups``, e.g. "run"); None (the default) resamples checkpoints.
_STEP2_GROUPS: str | None = None


def _pin_anchors(step2: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The step-2 points with a column ``anchor`` marking the anchor rows (``N`` missing,
    as `jaxfit.backtest` keeps them at every cut), and that column's name for
    `jaxfit.bootstrap`'s ``pinned`` (None without anchors).

    The anchor is part of the protocol, in every fit: resampled with the checkpoints, it
    was missing from ~37% of the resamples, whose refits are of the protocol without it
    (on the released data, CommonsenseQA's and Social IQa's b drops from 1 to 0.70 and
    0.62 there, and CommonsenseQA's 90% interval at 7B-4T reached 66.2 points instead of 72.0)."""
    if "N" not in step2.columns:      # refused by the backtest's own column check
        return step2, None
    anchors = step2["N"].isna()
    if not anchors.any():
        return step2, None
    return step2.assign(anchor=anchors.to_numpy()), "anchor"


def _intervals(method: str, fits: Mapping[str, FitResult], fit_data: Mapping[str, pd.DataFrame],
               tgt_pts: pd.DataFrame, step1_delta: float, o1: Mapping[str, Any],
               o2: Mapping[str, Any], prob: float, n_boot: int):
    """Bootstrap each step from its point fit and chain the draws (`ladder`'s intervals).

    Returns:
        (name -> bootstrap `Posterior`, the `Posterior.predict`-shaped interval frame
        aligned with ``tgt_pts``).
    """
    from jaxfit.chain import predict_chain
    from jaxfit.sample import bootstrap

    objectives = {"step1": ("huber", step1_delta, "log", o1),
                  "step2": ("squared", 1.0, "linear", o2)}
    posts = {}
    for step, data in fit_data.items():
        name = "single_step" if method == "single_step" else step
        res = fits[name]
        loss, delta, space, opts = objectives[step]
        data, pinned = _pin_anchors(data) if step == "step2" else (data, None)
        posts[name] = bootstrap(
            res.law, data, y=res.options["y"], by="task", x=res.options["x"], n=n_boot,
            loss=loss, delta=delta, space=space, start=res, seed=int(opts.get("seed", 0)),
            max_steps=int(opts.get("max_steps", 1000)), warn=False, pinned=pinned,
            groups=_STEP2_GROUPS if step == "step2" else None)
    with warnings.catch_warnings():
        # the steps' bootstraps run with warn=False: their refits that did not converge
        # are said once, by `ladder` (`_warn_refits`), not again by each prediction
        warnings.filterwarnings("ignore", FAILED_DIAGNOSTICS, DiagnosticWarning)
        if method == "single_step":
            return posts, posts["single_step"].predict(tgt_pts, prob=prob)
        chain = _laws(method)[2]
        return posts, predict_chain(chain, [posts["step1"], posts["step2"]], tgt_pts,
                                    prob=prob)


def _refits_converged(posts: Mapping[str, Any], tasks: pd.Series) -> np.ndarray:
    """Per row of ``tasks``, the smallest share of converged bootstrap refits over the
    steps' bootstraps ``posts`` (`Posterior.diagnostics`' ``converged_fraction``): the
    predictions' ``bootstrap_converged`` column."""
    return np.min([tasks.map(post.diagnostics["converged_fraction"]).to_numpy(np.float64)
                   for post in posts.values()], axis=0)


def _warn_refits(posts: Mapping[str, Any], result_name: str = "result") -> None:
    """One `ConvergenceWarning` where more than 1% of a step's bootstrap refits did not
    converge for some task (the threshold of `Posterior.warn`), and one `DiagnosticWarning`
    (`Posterior.failed_text`'s words) for tasks whose bootstrap fails its other checks.
    The bootstraps run with warn=False (their start is the recipe's own fit, which `_warn`
    covers) and `_intervals` keeps the predictions' own diagnostics warning quiet, so
    before, the intervals drew on such refits without a word: on the embedded ladder's
    default tasks (100 refits), 2-16% of step 2's refits stopped short in 5 of 8 tasks,
    and 3% of step 1's in one (session 28)."""
    parts, other = [], []
    for step, post in posts.items():
        d = post.diagnostics
        frac = d["converged_fraction"]
        low = frac[frac < 0.99]
        if len(low):
            shown = ", ".join(f"{t}: {f:.0%}" for t, f in low.head(3).items())
            more = f", and {len(low) - 3} more" if len(low) > 3 else ""
            parts.append(f"{step} in {len(low)} of {len(frac)} task(s) ({shown}{more})")
        rest = np.flatnonzero(~d["ok"].to_numpy(bool) & (frac >= 0.99).to_numpy())
        if rest.size:                    # failing a check other than the refits'
            other.append(f"{step}: {post.failed_text(rest)}")
    if parts:
        warn_fit(f"ladder intervals: more than 1% of the bootstrap refits did not converge "
                 f"(the share that did): {'; '.join(parts)}. Their parameters stay in the "
                 "draws, so those intervals rest partly on refits stopped short of their "
                 f"optimum. See {result_name}.predictions['bootstrap_converged'].",
                 ConvergenceWarning, stacklevel=4)
    if other:
        warn_fit(f"ladder intervals: {' '.join(other)}", DiagnosticWarning, stacklevel=4)


def ladder_backtest(s1: pd.DataFrame, step2: pd.DataFrame | None = None, *,
                    method: str = "two_step", cuts: Sequence[float] | None = None,
                    step1_delta: float = 1e-3, step1_options: Mapping[str, Any] | None = None,
                    step2_options: Mapping[str, Any] | None = None, prob: float = 0.9,
                    n_boot: int = 200, seed: int = 0):
    """Rolling-origin backtest of the ladder's pipeline along N (`jaxfit.backtest`).

    Each cut fits the same steps as `ladder` on the runs (and step-2 checkpoints) with
    ``N <= cut`` and predicts the accuracy of every run above it.

    Args:
        s1: step-1 points, one per task and run (``LadderResult.step1_data`` rows of kind
            "ladder"): ``task``, ``N``, ``D`` (and ``C``), ``loss``, ``acc``.
        step2: the step-2 points (``L``, ``acc``, ``N``; anchors with ``N`` NaN are kept
            at every cut); None for ``single_step``.
        method: as in `ladder`.
        cuts: cut values of N (default: the 2nd and 3rd largest sizes of ``s1``).
        step1_delta, step1_options, step2_options, prob, n_boot, seed: as in `ladder`.

    Returns:
        A `jaxfit.backtest.BacktestResult` with raw intervals (``calibrate=None``).
    """
    from jaxfit.backtest import Step, backtest

    o1 = {k: v for k, v in {**(SINGLE_STEP_OPTIONS if method == "single_step" else
                                STEP1_OPTIONS), **dict(step1_options or {})}.items()
          if k != "warn"}
    o2 = {k: v for k, v in {**STEP2_OPTIONS, **dict(step2_options or {})}.items() if k != "warn"}
    if cuts is None:
        cuts = list(np.sort(s1["N"].unique())[::-1][1:3])
    if method == "single_step":
        (law,) = _laws(method)
        steps = [Step(law, s1, "acc", {"N": "N", "D": "D"}, "huber", step1_delta, "log", o1)]
    else:
        law1, law2, law = _laws(method)
        x1 = {n: n for n in law1.inputs}
        step2, pinned = _pin_anchors(step2)
        steps = [Step(law1, s1, "loss", x1, "huber", step1_delta, "log", o1),
                 Step(law2, step2, "acc", {"L": "L"}, "squared", 1.0, "linear", o2,
                      pinned=pinned, groups=_STEP2_GROUPS)]
    return backtest(law, s1, y="acc", by="task", axis="N", x={n: n for n in law.inputs},
                    steps=steps, cuts=list(cuts), n=n_boot, prob=prob, calibrate=None,
                    seed=seed)


def _calibrate(pred: pd.DataFrame, method: str, fit_data: Mapping[str, pd.DataFrame],
               s1: pd.DataFrame, step1_delta: float, o1: Mapping[str, Any],
               o2: Mapping[str, Any], prob: float, n_boot: int, kind: str):
    """Widen the targets' intervals by the ladder's own rolling-origin errors (N axis).

    `ladder_backtest` fits the same steps on the ladder runs up to its 2nd and 3rd largest
    sizes and predicts the ladder runs above them (never a target); the scores of those
    predictions at or below the largest ladder size give the conformal quantile
    (`jaxfit.backtest.calibration_scores`), applied at each target's extrapolation ratio
    ``N_target / N_ladder_max``.

    Returns:
        (the widened predictions, the `BacktestResult`).
    """
    from jaxfit.backtest import _backward, _forward, _scale, calibration_scores, conformal_quantile

    sizes = np.sort(s1["N"].unique())[::-1]          # at least 3: checked by `ladder`
    bt = ladder_backtest(s1, fit_data.get("step2"), method=method, step1_delta=step1_delta,
                         step1_options=o1, step2_options=o2, prob=prob, n_boot=n_boot,
                         seed=int(o1.get("seed", 0)))
    space = "log" if method == "single_step" else "linear"
    q = conformal_quantile(calibration_scores(bt.table(), float(sizes[0]), kind, space), prob)
    q = max(q, 0.0) if np.isfinite(q) else 0.0
    lo = _forward(pred["acc_lower"], space)
    hi = _forward(pred["acc_upper"], space)
    g = _scale(kind, pred["N"].to_numpy(np.float64) / float(sizes[0]), lo, hi)
    return pred.assign(raw_acc_lower=pred["acc_lower"], raw_acc_upper=pred["acc_upper"],
                       acc_lower=_backward(lo - q * g, space),
                       acc_upper=_backward(hi + q * g, space), calibration_q=q), bt


def _variance(rows: pd.DataFrame, run: str, last_n: int, tasks: Sequence[str]) -> pd.DataFrame:
    sub = rows[rows["run"] == run].groupby("task", sort=False).tail(last_n)
    g = sub.groupby("task", sort=False)
    loss_sd = g["task_loss"].std(ddof=0)
    acc_sd = g["accuracy"].std(ddof=0)
    out = pd.DataFrame({
        "run": run, "n_checkpoints": g.size(),
        "loss_sd": loss_sd, "loss_rel_sd": loss_sd / g["task_loss"].mean(),
        "acc_sd": acc_sd, "acc_rel_sd": acc_sd / g["accuracy"].mean()})
    out = out.reindex(list(tasks))
    out.index.name = "task"
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pearson r and its two-sided p-value (the formula of ``scipy.stats.pearsonr``)."""
    from scipy.special import betainc

    n = len(a)
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, math.nan
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    ab = n / 2 - 1
    return r, float(2 * betainc(ab, ab, 0.5 * (1 - abs(r))))


def _correlations(variance: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    measures = ["loss_sd", "loss_rel_sd", "acc_sd", "acc_rel_sd"]
    errors = ["step2_rel_error", "rel_error", "loss_rel_error"]
    for target, p in predictions.groupby("target", sort=False):
        p = p.set_index("task").reindex(variance.index)
        for m in measures:
            for e in errors:
                # As upstream (``print_correlation_table``): |SD| against |error|.
                a, b = np.abs(variance[m].to_numpy()), np.abs(p[e].to_numpy(np.float64))
                ok = np.isfinite(a) & np.isfinite(b)
                r, pv = _pearson(a[ok], b[ok])
                rows.append(dict(target=target, measure=m, error=e, r=r, p_value=pv,
                                 n_tasks=int(ok.sum())))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- recipe

def ladder(data: pd.DataFrame | None = None, *, tasks: Sequence[str] = PAPER_TASKS,
           method: str = "two_step", ladder_runs: Sequence[str] | None = None,
           targets: Sequence[str] | pd.DataFrame | None = None, step1_last_n: int = 5,
           step1_delta: float = 1e-3, skip_frac: float = 0.1, moving_avg: int = 5,
           anchor: tuple[float, float] | None = (0.0, 1.0), target_last_n: int = 5,
           variance_run: str | None = None, variance_last_n: int = 10,
           step1_options: Mapping[str, Any] | None = None,
           step2_options: Mapping[str, Any] | None = None, intervals: bool = False,
           prob: float = 0.9, n_boot: int = 1000, calibrate: bool | str = False,
           result_name: str = "result", runs_name: str = "ladder_runs") -> LadderResult:
    """Predict downstream accuracy of large models from a ladder of small ones.

    The protocol of Bhagia et al. (2024), defaults as in the released code
    (allenai/OLMo-ladder, ``final.json``, ``--moving_avg 5 --skip_perc 0.1``).

    Step 1 (``step1.py``): per task and ladder run, one point ``(N, D, L)`` with ``L`` the
    mean task loss of the run's last ``step1_last_n`` checkpoints and ``D`` the tokens of
    its last checkpoint; ``L(N, D) = A/N^alpha + B/D^beta + E`` is fitted by the summed
    Huber loss (``step1_delta``) of ``log L_hat - log L``, bounds ``A, B >= 1``,
    ``alpha, beta, E >= 0`` (`jaxfit.models.ladder_step1`).

    Step 2 (``step2.py``): per task, every checkpoint of every ladder run, after dropping
    the first ``ceil(skip_frac * n)`` of each run and taking a trailing ``moving_avg``-point
    moving average (partial windows at the start) of both loss and accuracy, plus the
    ``anchor`` point ``(L, Acc) = (0, 1)``; ``Acc(L) = a/(1 + exp(-k(L - L0))) + b`` is
    fitted by least squares in linear space (``curve_fit``), bounds ``a in [-1, 0]``,
    ``k, L0 >= 0``, ``b in [0, 1]``.

    Chain (``predict.py``): ``Acc_hat = sigmoid(L_hat(N_target, D_target))``; the actual
    value is the mean of the target's last ``target_last_n`` checkpoints (the last value
    of the same moving average; the 7B-4T target has one row).

    Args:
        data: one row per checkpoint and task, columns ``run``, ``N``, ``tokens``,
            ``task``, ``task_loss``, ``accuracy``, and ``role`` ("ladder"/"target") unless
            ``ladder_runs`` and ``targets`` are given; ``flops_per_token`` for
            ``method="two_step_flops"``. Default: the embedded OLMo ladder data
            (`load_olmo_ladder`). Never modified.
        tasks: the tasks to fit (default: the paper's 8, `PAPER_TASKS`; use
            `VARIANCE_TASKS` to reproduce the 10-task variance analysis).
        method: "two_step" (the paper), "two_step_flops" (step 1 is
            ``L(C) = A/C^alpha + E`` with C = tokens x FLOPs per token, appendix C.1,
            `jaxfit.models.ladder_step1_flops`), or "single_step" (appendix C.5:
            ``Acc(N, D) = a/(1 + exp(-(A/N^alpha + B/D^beta + E))) + b`` fitted on the
            16 final points, accuracy averaged like the loss, E unbounded, same Huber
            objective as step 1).
        ladder_runs: runs to fit (default: every run with role "ladder").
        targets: runs to predict (default: every run with role "target"), or a
            DataFrame of hypothetical targets with columns ``target``, ``N``, ``D``
            (and ``C`` for the FLOPs method); their errors are NaN.
        step1_last_n: checkpoints averaged into each run's step-1 point (``--moving_avg``).
        step1_delta: Huber threshold of the step-1 (and single-step) objective.
        skip_frac: fraction of each run's first checkpoints dropped in step 2
            (``--skip_perc``; 1 keeps only the last checkpoint, as upstream).
        moving_avg: width of the trailing moving average in step 2 (``--moving_avg``).
        anchor: the ideal point ``(loss, accuracy)`` added to each step-2 fit, or None.
        target_last_n: checkpoints averaged into a target's actual loss and accuracy.
        variance_run: the run of the variance analysis (default: the ladder run with the
            largest N and, among those, the most tokens: 1B-10xC).
        variance_last_n: checkpoints of the variance analysis (section 5: 10).
        step1_options: `jaxfit.fit` options for the loss fit (merged over
            `STEP1_OPTIONS`: 64 random starts, the best 16 refined, seed 0, at most 1,000
            steps, as Winogrande needs ~900; for ``single_step`` over
            `SINGLE_STEP_OPTIONS`, 2,000 steps),
            plus ``warn`` (default True). The paper's code uses one L-BFGS-B start,
            ``init=LADDER_STEP1_P0``; passing that start here runs jaxfit's Newton solver
            from it, which ends in other local optima on ARC-C and ARC-E.
        step2_options: `jaxfit.fit` options for the sigmoid fit (merged over
            `STEP2_OPTIONS`: 16 random starts, the best 4 refined, seed 0).
        intervals: add ``prob`` intervals on each predicted accuracy by a nonparametric
            bootstrap of each step (`jaxfit.bootstrap`, ``n_boot`` resamples of each
            task's points, refitted from the point fit with the same objective; step 2's
            ``anchor`` is in every resample, as in every fit: `_pin_anchors`), chained
            with `jaxfit.predict_chain` so the interval carries both steps' uncertainty
            (the paper's intervals come from step 2 alone). Columns ``acc_lower``,
            ``acc_upper`` (predictive: the chained mean plus step 2's residual noise,
            the right comparison for an observed accuracy), ``mean_acc_lower``,
            ``mean_acc_upper`` (the chained law's mean only) and ``covered``.
        prob: interval probability (default 0.9, jaxfit's convention; the paper's bands,
            Figure 4, are 95%: ``y_hat +- 1.96 SE`` by the delta method on step 2 alone,
            ``get_std_errors``; pass ``prob=0.95`` for its level).
        n_boot: bootstrap resamples per step and task.
        calibrate: with ``intervals=True``, widen the intervals by the extrapolation
            error measured on the ladder itself (`jaxfit.backtest`, rolling origin over
            the ladder's second- and third-largest sizes: e.g. 760M and 370M predicting
            the runs above them up to the largest ladder size, never a target):
            ``True`` or ``"ratio"`` (split-conformal, scaled by the log extrapolation
            ratio in N; see `jaxfit.backtest`), ``"width"``, ``"constant"``. Point
            predictions are unchanged; ``acc_lower``/``acc_upper``/``covered`` become the
            calibrated interval, ``raw_acc_lower``/``raw_acc_upper`` keep the raw one and
            ``calibration_q`` the learnt quantile. False (default): raw intervals.
        result_name: what the warnings' advice calls the returned result ("See
            result.step1['status']"); a function that returns it inside its own result
            passes the path to it (`jaxfit.recipes.flp.flp_vs_ladder`: "result.ladder").
        runs_name: what the warnings' advice calls ``ladder_runs`` (a function that takes
            the runs under another name passes it: flp_vs_ladder's "sampling_runs").

    Returns:
        A `LadderResult` (``predictions``, ``step1``, ``step2``, ``variance``,
        ``variance_correlation``, the processed data and the fits).

    With intervals (bootstrap refits of each step; tests/test_backtest.py runs this with
    ``calibrate=True``, and the module example above runs the point predictions)::

        res = ladder(intervals=True, prob=0.9)
        res.wide()                       # pred, lower, upper, actual per target
        res.predictions.covered.mean()   # coverage of the observed targets

    Raises:
        ValueError: unknown method, missing columns, runs or tasks, or non-finite values.
    """
    if method not in METHODS:
        raise ValueError(f"ladder: method={method!r} is not one of {METHODS}.")
    if not 0 <= skip_frac <= 1:
        raise ValueError(f"ladder: skip_frac={skip_frac} must be in [0, 1].")
    for name, v in [("step1_last_n", step1_last_n), ("moving_avg", moving_avg),
                    ("target_last_n", target_last_n), ("variance_last_n", variance_last_n)]:
        if int(v) != v or v < 1:
            raise ValueError(f"ladder: {name}={v!r} must be a positive integer.")
    if intervals and not 0 < prob < 1:
        raise ValueError(f"ladder: prob={prob} must be in (0, 1).")
    if calibrate not in (False, True, None, "none", "ratio", "width", "constant"):
        raise ValueError(f"ladder: calibrate={calibrate!r} is not True/False or one of "
                         "'ratio', 'width', 'constant', 'none'.")
    if intervals and (int(n_boot) != n_boot or n_boot < 2):
        raise ValueError(f"ladder: n_boot={n_boot!r} must be an integer >= 2.")
    # the calibration of the intervals: None (raw intervals) or its kind
    kind = (None if not intervals or calibrate in (False, None, "none")
            else "ratio" if calibrate is True else str(calibrate))
    data = load_olmo_ladder() if data is None else data
    _check_data(data, method)
    tasks = select_tasks(data, tasks, "ladder")
    runs = select_runs(data, ladder_runs, "ladder")
    _check_runs(runs, method)
    lad = _select(data, runs, tasks, "ladder", method)
    # the variance analysis's run and rows, before any fit (before: checked after the fits)
    if variance_run is None:
        last = lad.groupby("run", sort=False)[["N", "tokens"]].max()
        variance_run = last.sort_values(["N", "tokens"]).index[-1]
    elif variance_run not in set(data["run"]):
        raise ValueError(f"ladder: variance_run={variance_run!r} is not in data['run'].")
    vrows = lad if variance_run in runs else _select(data, [variance_run], tasks, "variance")
    if kind and lad["N"].nunique() < 3:
        # before: found by _calibrate, after the fits and the n_boot bootstrap refits
        raise ValueError(f"ladder: calibrate={kind!r} needs at least 3 ladder sizes (N) to "
                         f"learn the extrapolation error from; got {lad['N'].nunique()}. Pass "
                         "calibrate='none' for the raw bootstrap intervals.")

    # Targets: observed runs, or hypothetical (N, D) rows.
    if isinstance(targets, pd.DataFrame):
        need = ["target", "N", "D"] + (["C"] if method == "two_step_flops" else [])
        miss = [c for c in need if c not in targets.columns]
        if miss:
            raise ValueError(f"ladder: the targets DataFrame is missing columns {miss}; it "
                             f"needs {need}.")
        if not len(targets):
            raise ValueError("ladder: the targets DataFrame has no rows; give one row per "
                             f"hypothetical target with {need}.")
        for c in need[1:]:
            v = pd.to_numeric(targets[c], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(v) | (v <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                val = targets[c].iloc[i]
                shown = (f"{float(val):g}" if isinstance(val, (int, float, np.number))
                         else repr(val))
                raise ValueError(f"ladder: targets[{c!r}] must hold finite positive numbers; "
                                 f"{int(bad.sum())} row(s) do not, e.g. {shown} at row "
                                 f"{targets.index[i]!r} (write 70B as 70e9).")
        tgt_pts = pd.DataFrame([
            dict(task=t, target=r.target, N=float(r.N), D=float(r.D),
                 **({"C": float(r.C)} if method == "two_step_flops" else {}),
                 actual_loss=math.nan, actual_acc=math.nan)
            for r in targets.itertuples() for t in tasks])
        target_names = list(dict.fromkeys(targets["target"]))
    else:
        target_names = select_runs(data, targets, "target")
        _warn_leak(target_names, runs, runs_name)
        tgt = _select(data, target_names, tasks, "target", method)
        tp = tail_mean(tgt, target_last_n, ["task_loss", "accuracy"])
        tgt_pts = pd.DataFrame({"task": tp["task"], "target": tp["run"],
                                "N": tp["N"].astype(np.float64),
                                "D": tp["tokens"].astype(np.float64),
                                "actual_loss": tp["task_loss"], "actual_acc": tp["accuracy"]})
        if method == "two_step_flops":
            tgt_pts["C"] = tp["tokens"].to_numpy(np.float64) * tp["flops_per_token"].to_numpy(
                np.float64)
    order = {(t, r): i for i, (t, r) in enumerate(
        (t, r) for r in target_names for t in tasks)}
    tgt_pts = tgt_pts.assign(_o=[order[(t, r)] for t, r in zip(tgt_pts.task, tgt_pts.target)])
    tgt_pts = tgt_pts.sort_values("_o").drop(columns="_o").reset_index(drop=True)

    # Step-1 points: one per task and run.
    s1 = tail_mean(lad, step1_last_n, ["task_loss", "accuracy"]).rename(
        columns={"tokens": "D", "task_loss": "loss", "accuracy": "acc"})
    s1["N"] = s1["N"].astype(np.float64)
    s1["D"] = s1["D"].astype(np.float64)
    if method == "two_step_flops":
        s1["C"] = s1["D"] * s1["flops_per_token"].astype(np.float64)
    s1 = s1.drop(columns=[c for c in ("flops_per_token",) if c in s1])

    o1 = {**(SINGLE_STEP_OPTIONS if method == "single_step" else STEP1_OPTIONS),
          **dict(step1_options or {})}
    o2 = {**STEP2_OPTIONS, **dict(step2_options or {})}
    fits: dict[str, FitResult] = {}
    step2 = s2 = None
    if method == "single_step":
        (law1,) = _laws(method)
        fits["single_step"] = res1 = _fit(law1, s1, "acc", {"N": "N", "D": "D"}, "huber",
                                          step1_delta, "log", o1, "single_step", result_name)
        s1["fitted"] = evaluate(law1, res1.params, s1["task"], {"N": s1["N"], "D": s1["D"]})
        step1 = param_frame(res1, tasks)
        step1["fit_error"] = (s1.assign(e=np.abs(s1["fitted"] / s1["acc"] - 1))
                              .groupby("task")["e"].mean().reindex(tasks))
        x_t = {"N": tgt_pts["N"], "D": tgt_pts["D"]}
        pred_acc = evaluate(law1, res1.params, tgt_pts["task"], x_t)
        pred_loss = step2_acc = np.full(len(tgt_pts), math.nan)
    else:
        law1, law2, chain = _laws(method)
        x1 = {n: n for n in law1.inputs}
        fits["step1"] = res1 = _fit(law1, s1, "loss", x1, "huber", step1_delta, "log", o1,
                                    "step1", result_name)
        s1["fitted"] = evaluate(law1, res1.params, s1["task"], {k: s1[k] for k in x1})
        step1 = param_frame(res1, tasks)
        step1["fit_error"] = (s1.assign(e=np.abs(s1["fitted"] / s1["loss"] - 1))
                              .groupby("task")["e"].mean().reindex(tasks))

        # Step 2: intermediate checkpoints -> accuracy.
        s2 = step2_points(lad, skip_frac, moving_avg)
        fit_pts = s2
        if anchor is not None:
            anchors = pd.DataFrame({"task": tasks, "run": "anchor", "N": math.nan,
                                    "tokens": math.nan, "L": float(anchor[0]),
                                    "acc": float(anchor[1])})
            fit_pts = pd.concat([s2, anchors], ignore_index=True)
        fits["step2"] = res2 = _fit(law2, fit_pts[["task", "L", "acc"]], "acc", {"L": "L"},
                                    "squared", 1.0, "linear", o2, "step2", result_name)
        s2 = fit_pts.assign(fitted=evaluate(law2, res2.params, fit_pts["task"],
                                             {"L": fit_pts["L"]}))
        step2 = param_frame(res2, tasks)
        real = s2[s2["run"] != "anchor"]
        step2["fit_error"] = (real.assign(e=np.abs(real["fitted"] / real["acc"] - 1))
                              .groupby("task")["e"].mean().reindex(tasks))

        # The chain Acc(L(N, D)), and each step on its own.
        values = res1.params.join(res2.params)
        x_t = {k: tgt_pts[k] for k in law1.inputs}
        pred_acc = evaluate(chain, values, tgt_pts["task"], x_t)
        pred_loss = evaluate(law1, res1.params, tgt_pts["task"], x_t)
        step2_acc = evaluate(law2, res2.params, tgt_pts["task"],
                              {"L": tgt_pts["actual_loss"].to_numpy(np.float64)})

    pred = tgt_pts.assign(pred_loss=pred_loss)
    pred["loss_rel_error"] = pred["pred_loss"] / pred["actual_loss"] - 1
    pred["pred_acc"] = pred_acc
    pred["abs_error"] = 100 * np.abs(pred["pred_acc"] - pred["actual_acc"])
    pred["rel_error"] = pred["pred_acc"] / pred["actual_acc"] - 1
    pred["step2_pred_acc"] = step2_acc
    pred["step2_rel_error"] = pred["step2_pred_acc"] / pred["actual_acc"] - 1
    cols = ["task", "target", "N", "D"] + (["C"] if "C" in pred else []) + [
        "actual_loss", "pred_loss", "loss_rel_error", "actual_acc", "pred_acc", "abs_error",
        "rel_error", "step2_pred_acc", "step2_rel_error"]
    pred = pred[cols]
    posteriors = calibration = None
    if intervals:
        fit_data = {"step1": s1} if method == "single_step" else {"step1": s1, "step2": fit_pts}
        posteriors, iv = _intervals(method, fits, fit_data, tgt_pts, step1_delta, o1, o2,
                                    prob, int(n_boot))
        pred = pred.assign(acc_lower=iv["predictive_lower"].to_numpy(),
                           acc_upper=iv["predictive_upper"].to_numpy(),
                           mean_acc_lower=iv["credible_lower"].to_numpy(),
                           mean_acc_upper=iv["credible_upper"].to_numpy(),
                           bootstrap_converged=_refits_converged(posteriors, pred["task"]))
        _warn_refits(posteriors, result_name)
        if kind:
            pred, calibration = _calibrate(pred, method, fit_data, s1, step1_delta, o1, o2,
                                           prob, int(n_boot), kind)
        covered = (pred["acc_lower"] <= pred["actual_acc"]) & (pred["actual_acc"] <= pred["acc_upper"])
        pred["covered"] = covered.astype("boolean").where(pred["actual_acc"].notna(), pd.NA)

    # Variance analysis (section 5) on the largest ladder run.
    variance = _variance(vrows, variance_run, variance_last_n, tasks)
    corr = _correlations(variance, pred)

    # Targets' observed points, for plots.
    s1_targets = pred[["task", "target", "N", "D"] + (["C"] if "C" in pred else [])
                      + ["actual_loss", "pred_loss", "actual_acc", "pred_acc"]]
    step1_data = pd.concat([s1.assign(kind="ladder"),
                            s1_targets.rename(columns={"target": "run", "actual_loss": "loss",
                                                       "pred_loss": "fitted",
                                                       "actual_acc": "acc"})
                            .assign(kind="target")], ignore_index=True)
    if method == "single_step":
        step1_data.loc[step1_data["kind"] == "target", "fitted"] = \
            step1_data.loc[step1_data["kind"] == "target", "pred_acc"]
    step1_data = step1_data.drop(columns=["pred_acc"])
    step2_data = None
    if s2 is not None:
        s2 = s2.assign(kind=np.where(s2["run"] == "anchor", "anchor", "ladder"))
        tg = pred[["task", "target", "N", "D", "actual_loss", "actual_acc",
                   "step2_pred_acc"]].rename(
            columns={"target": "run", "D": "tokens", "actual_loss": "L", "actual_acc": "acc",
                     "step2_pred_acc": "fitted"}).assign(kind="target")
        step2_data = pd.concat([s2, tg], ignore_index=True)

    # the task loss's unit, for the plots: bits per byte for the embedded ladder (recorded
    # by its loader); a user's column records none, so the plots name the column
    options = dict(method=method, tasks=tasks, ladder_runs=runs, targets=target_names,
                   loss_unit=recorded_unit(data, "task_loss"),
                   step1_last_n=step1_last_n, step1_delta=step1_delta, skip_frac=skip_frac,
                   moving_avg=moving_avg, anchor=anchor, target_last_n=target_last_n,
                   variance_run=variance_run, variance_last_n=variance_last_n,
                   step1_options=o1, step2_options=o2, intervals=intervals,
                   prob=prob if intervals else None, n_boot=n_boot if intervals else None,
                   calibrate=calibrate if intervals else None)
    return LadderResult(predictions=pred, step1=step1, step2=step2, variance=variance,
                        variance_correlation=corr, step1_data=step1_data,
                        step2_data=step2_data, fits=fits, options=options,
                        posteriors=posteriors, calibration=calibration)
