"""Recipe subcommands of the ``jaxfit`` command: one table entry per recipe.

Each entry names the recipe's function (``"module:function"``, imported only when the
subcommand runs), its arguments, and the columns a user's DATA must have. Every recipe
function returns a result with the recipe protocol (`jaxfit.recipes.protocol`), so the
command line treats them alike: it prints ``summary()``, writes every table of
``frames()`` with ``--out DIR`` (``DIR/NAME.csv``, no index column), prints them all with
``--json``, and draws ``plot()`` with ``--plot``. Adding a recipe is one entry::

    RECIPES["flp_m"] = Recipe(
        run="jaxfit.recipes.flp_m:flp_m", args=(Arg("--tasks", nargs="+"),),
        columns="run, role, N, tokens, task, accuracy and one loss column per domain",
        help="per-source compute -> domain losses -> MLP -> performance")

``jaxfit NAME [DATA] [--ARG ...] [--json] [--plot out.png] [--out DIR] [--quiet]`` then
calls ``run(data, **args)`` (``data`` omitted when not given, so the recipe's embedded
default is used).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Arg", "Recipe", "RECIPES", "chance_levels"]


@dataclasses.dataclass(frozen=True)
class Arg:
    """One command-line option of a recipe: ``flag`` and ``argparse`` keyword arguments.

    The option's value is passed to the recipe function under ``dest`` (default: the flag
    without dashes, ``-`` -> ``_``) unless it is None (not given), through ``convert``
    when one is given (its ValueError is bad input: exit 2). ``default``: the command
    line's own default, kept here and not given to argparse (whose default is None, so
    that an option given at its default value is told from one not given); the command
    fills it in when the option is not given, and its help shows it. ``requires``: the
    dest of another option without which this one is unused; given without it (at any
    value), the command refuses it (exit 2), as `jaxfit sample` does an option its
    --method does not use.
    """

    flag: str
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dest: str | None = None
    requires: str | None = None
    convert: Callable[[Any], Any] | None = None
    default: Any = None

    def __init__(self, flag: str, dest: str | None = None, requires: str | None = None,
                 convert: Callable[[Any], Any] | None = None, default: Any = None,
                 **kwargs):
        help_ = kwargs.get("help", "")
        if default is not None and "default" not in help_.lower():
            kwargs["help"] = f"{help_} (default: {default})".lstrip()
        object.__setattr__(self, "flag", flag)
        object.__setattr__(self, "dest", dest or flag.lstrip("-").replace("-", "_"))
        object.__setattr__(self, "requires", requires)
        object.__setattr__(self, "convert", convert)
        object.__setattr__(self, "default", default)
        # argparse's default is None, store_true/store_false's too: None is "not given"
        object.__setattr__(self, "kwargs", {**kwargs, "default": None})


def chance_levels(values: Sequence[str]) -> float | dict[str, float]:
    """``--chance``: one level for every task (``0.25``), or ``TASK=LEVEL`` pairs (merged
    over the levels the recipe knows, `jaxfit.recipes.flp.CHANCE`)."""
    def level(text: str, task: str | None = None) -> float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--chance: {text!r}" + (f" (task {task!r})" if task else "")
                             + " is not a number; give e.g. --chance 0.25 or --chance "
                             "TASK=0.25") from None

    pairs = [v.partition("=") for v in values]
    if len(values) == 1 and not pairs[0][1]:
        return level(values[0])
    if not all(sep and task for task, sep, _ in pairs):
        raise ValueError(f"--chance {' '.join(values)}: give one level for every task (e.g. "
                         "--chance 0.25) or TASK=LEVEL pairs (e.g. --chance my_task=0.25 "
                         "other_task=0.5).")
    return {task: level(text, task) for task, _, text in pairs}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A recipe subcommand.

    Attributes:
        run: ``"module:function"`` returning the recipe's result (`RecipeResult`).
        args: the recipe's options.
        help: one line for ``jaxfit --help``.
        columns: the columns DATA must have (shown by ``jaxfit NAME --help``).
        takes_data: whether ``run`` takes a DataFrame first (the DATA argument).
        labels: the label columns that options name values of (``--tasks``, ``--targets``,
            ``--families``, ``--chance TASK=LEVEL``): read as text when DATA holds them as
            integers, as a command-line value is text (task ids 0, 1, ... are named
            ``--tasks 0 1``).
    """

    run: str
    args: tuple[Arg, ...] = ()
    help: str = ""
    columns: str = ""
    takes_data: bool = True
    labels: tuple[str, ...] = ()


_LADDER_COLUMNS = ("one row per checkpoint and task: run, role ('ladder' or 'target'), N "
                   "(parameters), tokens, task, task_loss, accuracy (a fraction); "
                   "flops_per_token for --method two_step_flops. Default: the embedded "
                   "OLMo ladder (jaxfit datasets show olmo_ladder)")

#: FLP's and FLP-M's runs by name, for DATA without a role column (as ladder's
#: --ladder-runs/--targets; before, their "pass sampling_runs=[...]" had no flag).
_RUN_ARGS = (Arg("--sampling-runs", nargs="+", help="sampling runs (default: role == ladder)"),
             Arg("--targets", nargs="+", help="target runs (default: role == target)"),
             Arg("--chance", nargs="+", metavar="LEVEL|TASK=LEVEL", convert=chance_levels,
                 help="chance accuracy: one level for every task, or TASK=LEVEL pairs "
                      "(default: the OLMo ladder tasks' levels)"))

RECIPES: dict[str, Recipe] = {
    "ladder": Recipe(
        run="jaxfit.recipes.ladder:ladder",
        columns=_LADDER_COLUMNS, labels=("task", "run"),
        args=(Arg("--method", default="two_step",
                  choices=("two_step", "two_step_flops", "single_step"),
                  help="two_step (the paper), two_step_flops (C.1) or single_step (C.5)"),
              Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),
              Arg("--ladder-runs", nargs="+", help="ladder runs (default: role == ladder)"),
              Arg("--targets", nargs="+", help="target runs (default: role == target)"),
              Arg("--intervals", action="store_true",
                  help="bootstrap intervals of each step, chained, calibrated by the "
                       "ladder's own backtest (see --calibrate)"),
              Arg("--calibrate", default="ratio", requires="intervals",
                  choices=("ratio", "width", "constant", "none"),
                  help="calibration of --intervals (default ratio; none: raw bootstrap)")),
        help="model-ladder task scaling laws: accuracy of large models from small ones "
             "(Bhagia et al. 2024)"),
}
RECIPES["flp"] = Recipe(
    run="jaxfit.recipes.flp:flp_vs_ladder", labels=("task", "run"),
    columns=("one row per checkpoint and task: run, role, N, tokens, flops_per_token (or C), "
             "task, accuracy (a fraction) and the loss column of --loss (default c4, nats); "
             "task_loss too for the ladder comparison. Default: the embedded OLMo ladder "
             "with its validation losses"),
    args=(Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),
          Arg("--loss", help="pre-training loss column of stage 1 (default: c4)"),
          Arg("--stage2", choices=("linear", "sigmoid"), help="stage-2 law (default: linear)"),
          Arg("--no-ladder", dest="ladder", action="store_false",
              help="skip the comparison with the two-step ladder"), *_RUN_ARGS),
    help="FLOPs -> pre-training loss -> downstream performance (FLP; Chen et al. 2024)")
RECIPES["flp_m"] = Recipe(
    run="jaxfit.recipes.flp_m:flp_m", labels=("task", "run"),
    columns=("as for flp, with one loss column per domain (--domains; default: c4 and the "
             "Dolma domains books, common_crawl, pes2o, reddit, stack, wiki), and ratio "
             "(compute fraction on general text) for mixtures"),
    args=(Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),
          Arg("--domains", nargs="+", help="domain-loss columns (default: c4 books "
                                           "common_crawl pes2o reddit stack wiki)"),
          *_RUN_ARGS),
    help="per-source compute -> domain losses -> MLP -> performance (FLP-M; Chen et al. 2024)")
RECIPES["hitchhiker"] = Recipe(
    run="jaxfit.recipes.hitchhiker:hitchhiker", labels=("family",),
    columns=("one row per checkpoint: family, model, N (parameters), tokens, loss. Default: "
             "the embedded ColPret data (jaxfit datasets show hitchhiker)"),
    args=(Arg("--families", nargs="+", help="model families (default: all)"),
          Arg("--fit", choices=("paper", "robust"),
              help="paper (least squares from the paper's start) or robust (Huber on log "
                   "residuals, many restarts) (default: paper)"),
          Arg("--min-sizes", type=int, help="families need at least this many model sizes "
                                            "(N) (default: 3)"),
          Arg("--max-target-loss", type=float,
              help="families whose largest model's lowest loss is above this are left out "
                   "(default: 10)")),
    help="which scaling-law fits extrapolate: ARE heatmaps (Choshen et al. 2024)")
RECIPES["emergence"] = Recipe(
    run="jaxfit.recipes.emergence:emergence_or_elbow",
    columns=("one row per checkpoint (and finetuning-data amount, and task): the --y "
             "performance column, the --loss column, --D (finetuning examples) for the "
             "emergence law, --fewshot (0/1, few-shot rows), --by (task). Without DATA: a "
             "shipped demonstration (--demo)"),
    args=(Arg("--demo", choices=("olmo", "obs_scaling"), help="shipped demonstration (no DATA) (default: olmo)"),
          Arg("--y", help="performance column of DATA (higher is better) (default: accuracy)"),
          Arg("--loss", help="pre-training loss column of DATA (nats) (default: loss)"),
          Arg("--D", help="finetuning-examples column"),
          Arg("--by", help="task column (default: one task)"),
          Arg("--fewshot", help="0/1 column marking few-shot (not finetuned) rows, fitted at "
                                "D = --D0 (with --D)"),
          Arg("--form", choices=("log_power", "power"),
              help="emergence law: log_power (the paper) or power (its ablation) "
                   "(default: log_power)"),
          Arg("--D0", type=float, help="low-data limit at which the few-shot emergence "
                                       "point is read (default: 5)"),
          Arg("--bootstrap", type=int, help="bootstrap refits (default: 200; 0: none)"),
          Arg("--no-posterior", dest="posterior", action="store_false",
              help="skip the NUTS posterior")),
    help="emergence points; few-shot emergence from finetuned checkpoints (Snell et al. 2024)")
