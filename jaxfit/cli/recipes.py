"""Recipe subcommands of the ``jaxfit`` command: one table entry per recipe.

Each entry names the recipe's function (``"module:function"``, imported only when the
subcommand runs), its plot function (for ``--plot``), its arguments, and how its result
becomes named DataFrames (default: the result itself when it is a dict of DataFrames,
else its ``frames()``); the first table is printed, all go to ``--json`` and ``--out``.
Adding a recipe is one entry::

    RECIPES["flp"] = Recipe(
        run="jaxfit.recipes.flp:run_flp", plot="jaxfit.recipes.flp_plot:plot_flp",
        args=(Arg("--tasks", nargs="+"), Arg("--stage2", choices=("linear", "sigmoid"))),
        help="FLOPs -> loss -> performance (Chen et al. 2024)")

``jaxfit NAME [DATA] [--ARG ...] [--json] [--plot out.png] [--out DIR] [--quiet]`` then
calls ``run(data, **args)`` (``data`` omitted when not given, so the recipe's embedded
default is used; ``takes_data=False`` for recipes without a data argument), and
``plot(result)`` for ``--plot``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:                 # pandas is imported when a recipe runs, not for --help
    import pandas as pd

__all__ = ["Arg", "Recipe", "RECIPES"]


@dataclasses.dataclass(frozen=True)
class Arg:
    """One command-line option of a recipe: ``flag`` and ``argparse`` keyword arguments.

    The option's value is passed to the recipe function under ``dest`` (default: the flag
    without dashes, ``-`` -> ``_``) unless it is None (not given).
    """

    flag: str
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dest: str | None = None

    def __init__(self, flag: str, dest: str | None = None, **kwargs):
        object.__setattr__(self, "flag", flag)
        object.__setattr__(self, "dest", dest or flag.lstrip("-").replace("-", "_"))
        object.__setattr__(self, "kwargs", dict(kwargs))


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A recipe subcommand.

    Attributes:
        run: ``"module:function"`` returning the recipe's result object.
        plot: ``"module:function"`` taking the result and returning a Figure, or None.
        args: the recipe's options.
        help: one line for ``jaxfit --help``.
        tables: result -> name -> DataFrame (the first is the printed summary); default
            the result itself (a dict) or ``result.frames()``.
        takes_data: whether ``run`` takes a DataFrame first (the DATA argument).
    """

    run: str
    plot: str | None = None
    args: tuple[Arg, ...] = ()
    help: str = ""
    tables: Callable[[Any], Mapping[str, pd.DataFrame | None]] | None = None
    takes_data: bool = True

    def frames(self, result) -> dict[str, pd.DataFrame]:
        """The result's tables (None entries dropped)."""
        if self.tables is not None:
            out = self.tables(result)
        else:
            out = result if isinstance(result, Mapping) else result.frames()
        return {k: v for k, v in out.items() if v is not None}


RECIPES: dict[str, Recipe] = {
    "ladder": Recipe(
        run="jaxfit.recipes.ladder:ladder",
        plot="jaxfit.recipes.ladder_plot:plot_ladder",
        tables=lambda r: {"table": r.table(), "predictions": r.predictions,
                          "step1": r.step1, "step2": r.step2, "variance": r.variance},
        args=(Arg("--method", default="two_step",
                  choices=("two_step", "two_step_flops", "single_step"),
                  help="two_step (the paper), two_step_flops (C.1) or single_step (C.5)"),
              Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),
              Arg("--ladder-runs", nargs="+", help="ladder runs (default: role == ladder)"),
              Arg("--targets", nargs="+", help="target runs (default: role == target)"),
              Arg("--intervals", action="store_true", default=None,
                  help="bootstrap intervals of each step, chained, calibrated by the "
                       "ladder's own backtest (see --calibrate)"),
              Arg("--calibrate", default="ratio",
                  choices=("ratio", "width", "constant", "none"),
                  help="calibration of --intervals (default ratio; none: raw bootstrap)")),
        help="model-ladder task scaling laws: accuracy of large models from small ones "
             "(Bhagia et al. 2024)"),
}
RECIPES["flp"] = Recipe(
    run="jaxfit.recipes.flp:run_flp", plot="jaxfit.recipes.flp_plot:plot_flp",
    args=(Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),
          Arg("--loss", help="pre-training loss column of stage 1 (default: c4)"),
          Arg("--stage2", choices=("linear", "sigmoid"), help="stage-2 law (default: linear)"),
          Arg("--no-ladder", dest="ladder", action="store_false", default=None,
              help="skip the comparison with the two-step ladder")),
    help="FLOPs -> pre-training loss -> downstream performance (FLP; Chen et al. 2024)")
RECIPES["flp_m"] = Recipe(
    run="jaxfit.recipes.flp_m:run_flp_m", plot="jaxfit.recipes.flp_plot:plot_flp_m",
    args=(Arg("--tasks", nargs="+", help="tasks (default: the paper's 8)"),),
    help="per-source compute -> domain losses -> MLP -> performance (FLP-M; Chen et al. 2024)")
RECIPES["hitchhiker"] = Recipe(
    run="jaxfit.recipes.hitchhiker:run_hitchhiker",
    plot="jaxfit.recipes.hitchhiker_plot:plot_hitchhiker",
    args=(Arg("--families", nargs="+", help="model families (default: all)"),
          Arg("--fit", choices=("paper", "robust"),
              help="paper (least squares from the paper's start) or robust (Huber on log "
                   "residuals, many restarts)")),
    help="which scaling-law fits extrapolate: ARE heatmaps (Choshen et al. 2024)")
RECIPES["emergence"] = Recipe(
    run="jaxfit.recipes.emergence:run_emergence",
    plot="jaxfit.recipes.emergence_plot:plot_emergence",
    args=(Arg("--demo", choices=("olmo", "obs_scaling"), help="shipped demonstration (no DATA)"),
          Arg("--y", help="performance column of DATA (higher is better)"),
          Arg("--loss", help="pre-training loss column of DATA (nats)"),
          Arg("--D", help="finetuning-examples column"),
          Arg("--by", help="task column (default: one task)"),
          Arg("--form", choices=("log_power", "power"),
              help="emergence law: log_power (the paper) or power (its ablation)"),
          Arg("--D0", type=float, help="low-data limit at which the few-shot emergence "
                                       "point is read (default: 5)"),
          Arg("--bootstrap", type=int, help="bootstrap refits (default: 200; 0: none)"),
          Arg("--no-posterior", dest="posterior", action="store_false", default=None,
              help="skip the NUTS posterior")),
    help="emergence points; few-shot emergence from finetuned checkpoints (Snell et al. 2024)")
