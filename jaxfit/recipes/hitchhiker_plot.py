"""Figure of `jaxfit.recipes.hitchhiker` results, after Figure 1 of Choshen et al. (2024).

ARE by number of training models and fraction of training used, at one token cut and
checkpoint setting, on one shared colour scale: ARE is a fraction in the recipe's table
and is labelled in percent everywhere (cells, colour bar, line axes), on a log scale from
0.5% to 50% (the paper's linear 0-35% scale saturates on gpt3's 2-3-model fits, 48%).

Only families with a real two-dimensional grid (at least 2 numbers of models and 2
fractions, at least half the cells fitted) are heatmaps. The others are lines: families
fitted on one number of models (e.g. the 16 ``GPT2-<data>-<size>`` sub-families, 2 models
each) as ARE against the fraction, one panel per name prefix; families whose grid is
sparse (``GPT2``, ``overtrain-*``: separate runs, few configurations with enough points)
as ARE against the number of models at the fraction with the most fitted cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from jaxfit.plot_style import figure, plain_log_ticks, plain_number, wrap
from jaxfit.recipes.hitchhiker import HitchhikerResult

__all__ = ["plot_hitchhiker", "layout"]

CMAP = "RdYlGn_r"
#: Ticks of the ARE scale (fractions, labelled in percent).
TICKS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)


def _percent(v: float, _pos=None) -> str:
    return f"{100 * v:.3g}%" if v > 0 else ""


def layout(sub: pd.DataFrame, families: Sequence[str]) -> tuple[list, list]:
    """Split ``families`` of one cut/checkpoint slice of the ARE table into heatmaps and
    line panels.

    Returns:
        (heatmap families, line panels), each line panel ``(title, x column, fraction or
        None, [families])``: ``x = "fraction"`` (one number of models) or ``"n_models"``
        (a sparse grid, at the given fraction).
    """
    heat, by_fraction, sparse = [], {}, []
    for fam in families:
        g = sub[(sub["family"] == fam) & np.isfinite(sub["are"])]
        rows, cols = g["n_models"].nunique(), g["fraction"].nunique()
        if rows >= 2 and cols >= 2 and len(g) >= 0.5 * rows * cols:
            heat.append(fam)
        elif rows == 1 and cols >= 2:
            by_fraction.setdefault(fam.rsplit("-", 1)[0] if "-" in fam else fam, []).append(fam)
        elif len(g):
            sparse.append(fam)
    lines = []
    for prefix, fams in by_fraction.items():
        k = int(sub.loc[(sub["family"] == fams[0]) & np.isfinite(sub["are"]), "n_models"].iloc[0])
        name = f"{prefix}-*" if len(fams) > 1 else fams[0]
        lines.append((f"{name}: {k} training models", "fraction", None, fams))
    if sparse:
        f = sub[sub["family"].isin(sparse) & np.isfinite(sub["are"])]
        frac = float(f.groupby("fraction").size().idxmax())
        lines.append((f"sparse grids: fraction {frac:g} of each run", "n_models", frac, sparse))
    return heat, lines


def _heatmap(ax, piv: pd.DataFrame, norm, fam: str) -> object:
    from matplotlib import colormaps

    values = piv.to_numpy(np.float64)
    image = ax.imshow(values, cmap=CMAP, norm=norm, aspect="auto")
    ax.set_xticks(range(piv.shape[1]), [f"{f:g}" for f in piv.columns], fontsize=7)
    ax.set_yticks(range(piv.shape[0]), [str(k) for k in piv.index], fontsize=7)
    cmap = colormaps[CMAP]
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            r, g, b, _ = cmap(norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.45
            ax.text(j, i, f"{100 * v:.0f}" if 100 * v >= 0.95 else f"{100 * v:.1f}", ha="center",
                    va="center", fontsize=6, color="white" if dark else "black")
    ax.set_title(wrap(f"{fam} (cells: ARE %)", 44), fontsize=9)
    ax.set_xlabel("fraction of each run used (0-1)", fontsize=8)
    ax.set_ylabel("training models (count)", fontsize=8)
    return image


def _lines(ax, sub: pd.DataFrame, title: str, x: str, frac, fams: Sequence[str],
           lo: float, hi: float) -> None:
    from matplotlib import colormaps
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    cmap = colormaps["viridis"]
    markers = "osD^v<>p"
    for i, fam in enumerate(fams):
        g = sub[(sub["family"] == fam) & np.isfinite(sub["are"])]
        if frac is not None:
            g = g[g["fraction"] == frac]
        g = g.sort_values(x)
        label = fam.rsplit("-", 1)[1] if len(fams) > 1 and x == "fraction" else fam
        ax.plot(g[x], g["are"], marker=markers[i % len(markers)], ms=3, lw=1,
                color=cmap(0.9 * i / max(len(fams) - 1, 1)), label=label)
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.yaxis.set_major_locator(FixedLocator(TICKS))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if x == "n_models":
        ax.set_xscale("log")
        plain_log_ticks(ax, "x")
        ax.set_xlabel("training models (count)", fontsize=8)
    else:
        ax.set_xlabel("fraction of each run used (0-1)", fontsize=8)
    ax.set_ylabel("ARE (%, log scale)", fontsize=8)
    ax.tick_params(which="both", labelsize=7)
    ax.grid(alpha=0.3, lw=0.5)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, ncol=4 if len(fams) > 4 else 2, loc="upper center",
              bbox_to_anchor=(0.5, -0.22), frameon=False,
              title=(f"family {fams[0].rsplit('-', 1)[0]}-<suffix>"
                     if len(fams) > 1 and x == "fraction" else None),
              title_fontsize=6)


def plot_hitchhiker(result: HitchhikerResult | Mapping[str, pd.DataFrame],
                    families: Sequence[str] | None = None, cut: float | None = None,
                    checkpoints: str = "all", vmin: float = 0.005, vmax: float = 0.5,
                    ncols: int = 4):
    """ARE of every family at one cut and checkpoint setting; returns a matplotlib Figure.

    Heatmaps (number of models x fraction, cells labelled in %) for families with a real
    two-dimensional grid, lines for the others (see the module docstring, `layout`), all
    on one log colour/axis scale of ARE in percent with a shared colour bar.

    Args:
        result: a `HitchhikerResult`, or the dict of `run_hitchhiker` (its ``"are"``).
        families: families to draw (default: every family with a fitted configuration).
        cut: the token cut shown (default: the result's ``default_cut``, the paper's 10B,
            or the one cut the grid was fitted at when it has a single cut).
        checkpoints: "all" or "final".
        vmin, vmax: the ends of the log colour scale (ARE as a fraction; values beyond
            take the end colours, and the colour bar says so).
        ncols: panels per row.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    are = result.are if isinstance(result, HitchhikerResult) else \
        result["are" if "are" in result else "table"]
    cuts = sorted(float(c) for c in are["cut"].unique())
    if cut is None:
        cut = (result.options.get("default_cut", 1e10)
               if isinstance(result, HitchhikerResult) else 1e10)
        if cut not in cuts and len(cuts) == 1:
            cut = cuts[0]
    sub = are[(are["cut"] == cut) & (are["checkpoints"] == checkpoints)]
    if sub.empty:
        raise ValueError(f"plot_hitchhiker: no configurations with cut={cut:g} and "
                         f"checkpoints={checkpoints!r}; pass cut= one of the fitted cuts "
                         f"{[float(c) for c in cuts]} and checkpoints= one of "
                         f"{sorted(are['checkpoints'].unique())}.")
    if not 0 < vmin < vmax:
        raise ValueError(f"plot_hitchhiker: need 0 < vmin < vmax, got vmin={vmin}, "
                         f"vmax={vmax}.")
    if families is None:
        families = sorted(sub.loc[np.isfinite(sub["are"]), "family"].unique(),
                          key=lambda f: (f.startswith("GPT2"), f.lower()))
    families = list(families)
    heat, lines = layout(sub, families)
    if not heat and not lines:
        raise ValueError("plot_hitchhiker: no fitted configuration to draw for families "
                         f"{families}; name families=[...] explicitly.")
    n = len(heat) + len(lines)
    cols = max(1, min(ncols, n))
    rows = math.ceil(n / cols)
    fig = figure(3.6 * cols, 3.3 * rows + 0.6 * (len(lines) > 0))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    norm = LogNorm(vmin, vmax, clip=False)
    image = None
    for ax, fam in zip(axes, heat):
        piv = sub[sub["family"] == fam].pivot(index="n_models", columns="fraction",
                                              values="are").sort_index(ascending=False)
        piv = piv.dropna(how="all").dropna(axis=1, how="all")
        image = _heatmap(ax, piv, norm, fam)
    drawn = sub[sub["family"].isin(families) & np.isfinite(sub["are"])]["are"]
    lo, hi = min(vmin, 0.8 * drawn.min()), max(vmax, 1.25 * drawn.max())
    for ax, (title, x, frac, fams) in zip(axes[len(heat):], lines):
        _lines(ax, sub, title, x, frac, fams, lo, hi)
    for ax in axes[n:]:
        ax.set_visible(False)
    if image is not None:
        over = np.nanmax(sub["are"]) > vmax
        under = np.nanmin(sub["are"]) < vmin
        bar = fig.colorbar(image, ax=list(axes[:n]), shrink=0.8, pad=0.01,
                           extend={(True, True): "both", (True, False): "max",
                                   (False, True): "min"}.get((over, under), "neither"))
        bar.set_label("ARE (%, log scale)")
        ticks = [t for t in TICKS if vmin <= t <= vmax]
        bar.ax.yaxis.set_major_locator(FixedLocator(ticks))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(_percent))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    fig.suptitle(f"ARE on the largest model's last 30% of training (cut "
                 f"{plain_number(cut)} tokens, {checkpoints} checkpoints)", fontsize=10)
    return fig
