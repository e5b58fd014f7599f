"""Heatmaps of `jaxfit.recipes.hitchhiker` results, like Figure 1 of Choshen et al. (2024).

One panel per family: ARE (percent) by number of training models (rows, the smallest k)
and fraction of training used (columns), at one token cut and checkpoint setting. The
colour scale is the paper's (0 to 35% ARE, ``plot_models_percentage_hist``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from jaxfit.recipes.hitchhiker import HitchhikerResult

__all__ = ["plot_hitchhiker"]


def plot_hitchhiker(result: HitchhikerResult | Mapping[str, pd.DataFrame],
                    families: Sequence[str] | None = None, cut: float = 1e10,
                    checkpoints: str = "all", vmax: float = 0.35, ncols: int = 4):
    """ARE heatmaps, one panel per family; returns a matplotlib Figure.

    Args:
        result: a `HitchhikerResult`, or the dict of `run_hitchhiker` (its ``"are"``).
        families: panels to draw (default: every family with at least 2 numbers of
            models or fractions fitted).
        cut: the token cut shown (default the paper's 10B).
        checkpoints: "all" or "final".
        vmax: top of the colour scale (ARE as a fraction; the paper's 0.35).
        ncols: panels per row.
    """
    import matplotlib.pyplot as plt

    are = result.are if isinstance(result, HitchhikerResult) else \
        result["are" if "are" in result else "table"]
    sub = are[(are["cut"] == cut) & (are["checkpoints"] == checkpoints)]
    if sub.empty:
        raise ValueError(f"plot_hitchhiker: no configurations with cut={cut} and "
                         f"checkpoints={checkpoints!r}; available cuts "
                         f"{sorted(are['cut'].unique())}.")
    if families is None:
        shape = sub.groupby("family")[["n_models", "fraction"]].nunique()
        families = list(shape.index[(shape.max(axis=1) >= 2)])
    families = list(families)
    if not families:
        raise ValueError("plot_hitchhiker: no family has at least 2 numbers of models or "
                         "fractions to draw; name families=[...] explicitly.")
    ncols = max(1, min(ncols, len(families)))
    nrows = math.ceil(len(families) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows), squeeze=False,
                             constrained_layout=True)
    image = None
    for ax, fam in zip(axes.flat, families):
        piv = sub[sub["family"] == fam].pivot(index="n_models", columns="fraction",
                                              values="are").sort_index(ascending=False)
        values = piv.to_numpy(np.float64)
        image = ax.imshow(values, cmap="RdYlGn_r", vmin=0.0, vmax=vmax, aspect="auto")
        ax.set_xticks(range(piv.shape[1]), [f"{f:g}" for f in piv.columns], fontsize=7)
        ax.set_yticks(range(piv.shape[0]), [str(k) for k in piv.index], fontsize=7)
        if piv.size <= 120:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6)
        ax.set_title(fam, fontsize=9)
        ax.set_xlabel("fraction of training used", fontsize=7)
        ax.set_ylabel("# training models", fontsize=7)
    for ax in list(axes.flat)[len(families):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="ARE (fraction)")
    fig.suptitle(f"ARE on the largest model's last 30% (cut {cut:g} tokens, "
                 f"{checkpoints} checkpoints)", fontsize=10)
    return fig
