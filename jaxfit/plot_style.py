"""The house style of jaxfit's figures: resolution, plain-number ticks, legends off the data.

Every figure of `jaxfit.plot` and of the recipes (`jaxfit.recipes.*_plot`) is built with
these helpers, so they read alike in a paper:

- `DPI`: the resolution of every figure (150; ``savefig`` uses it unless given ``dpi=``);
- `plain_number` / `plain_log_ticks`: tick labels as plain numbers (``0.5``, ``300``,
  ``1e10``), never mathtext (``3 x 10^0``), with minor ticks labelled on short log axes;
- `figure`: a constrained-layout ``Figure`` at `DPI`, not attached to pyplot;
- `legend_below`: one legend for the whole figure, below every panel, entries collected
  (and de-duplicated by label) from all axes;
- `wrap`: a panel title wrapped to the panel's width (long task names stay readable);
- `interval_bar`: an interval drawn where it is, ``[lower, upper]``, whether or not it
  holds the point estimate;
- `unit_label`: an axis label that names a unit only where it is known (the unit a
  recipe or an embedded dataset recorded; `jaxfit.datasets.recorded_unit`), and else the
  column, never a guessed unit.

Example:
    >>> from jaxfit.plot_style import plain_number
    >>> [plain_number(v) for v in (0.25, 300.0, 1e10, 3.2e21)]
    ['0.25', '300', '1e10', '3.2e21']
"""

from __future__ import annotations

import numpy as np

__all__ = ["DPI", "percent", "plain_number", "plain_log_ticks", "figure", "legend_below", "axes_legend_below",
           "wrap", "interval_bar", "unit_label"]

#: Resolution of every figure (``savefig`` uses it unless given ``dpi=``).
DPI = 150


def wrap(text: str, width: int = 48) -> str:
    """``text`` with each line wrapped at ``width`` characters (a 9-point title on a 4-inch
    panel), breaking long words too, so a long task name never runs into the next panel."""
    import textwrap

    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) or line
                     for line in str(text).split("\n"))


def unit_label(what: str, unit: str | None, column: str | None = None) -> str:
    """An axis label naming the unit only where it is known.

    Args:
        what: what the axis shows ("task loss", or the column's name itself).
        unit: the unit as recorded by whoever knows it (a recipe's ``options["loss_unit"]``
            for its embedded data, or `jaxfit.datasets.recorded_unit`); None when not known
            (a user's data: its unit is recorded nowhere).
        column: the data column drawn; named when the unit is not known and it differs
            from ``what``.

    Returns:
        ``"task loss (bits per byte)"`` with a unit, ``"task loss (column task_loss)"``
        without one, or ``what`` alone when it is the column's own name.

    Example:
        >>> unit_label("C4 loss", "nats"), unit_label("loss", None, "c4"), unit_label("L", None)
        ('C4 loss (nats)', 'loss (column c4)', 'L')
    """
    if unit:
        return f"{what} ({unit})"
    return what if column is None or str(column) == what else f"{what} (column {column})"


def interval_bar(ax, at, lower, upper, *, horizontal: bool = False, **kwargs):
    """Bars from ``lower`` to ``upper`` at ``at`` (scalars or arrays): an interval as it
    is, asymmetric and possibly not holding the point estimate, which the caller draws
    where it is (an error bar built as estimate -/+ distances would move the interval or,
    with negative distances, fail). ``horizontal``: the interval lies along x."""
    lower, upper = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    mid, half = 0.5 * (lower + upper), 0.5 * (upper - lower)
    if horizontal:
        return ax.errorbar(mid, at, xerr=half, fmt="none", **kwargs)
    return ax.errorbar(at, mid, yerr=half, fmt="none", **kwargs)


def percent(prob: float) -> str:
    """An interval's probability as a label: "90%", "99.5%", "68.3%" (at most 4 digits).
    ``f"{prob:.0%}"`` and ``round(100 * prob)`` labelled a 99.5% interval "100%"."""
    return f"{100 * float(prob):.4g}%"


def plain_number(v: float, _pos=None) -> str:
    """A tick label as a plain number: 2.5, 300, 1e9, 3e21 (no mathtext)."""
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else ""
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:g}"
    m, e = f"{v:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"


def plain_log_ticks(ax, axis: str = "both") -> None:
    """Plain-number labels on the log axes of ``ax`` (minor ticks labelled 2, 3, 5 when
    the axis spans less than ~1 decade); linear axes are left alone."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if getattr(ax, f"get_{name}scale")() != "log":
            continue
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        a.set_major_formatter(FuncFormatter(plain_number))
        if hi / max(lo, 1e-300) < 20:
            a.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
            a.set_minor_formatter(FuncFormatter(plain_number))
        else:
            a.set_minor_formatter(NullFormatter())


def figure(width: float, height: float):
    """A constrained-layout ``matplotlib.figure.Figure`` of ``width x height`` inches at
    `DPI` (not attached to pyplot)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=DPI)


def axes_legend_below(ax, fontsize: float = 8, ncol: int = 3, below: float = 0.14):
    """The legend of one Axes ``ax`` below it, off the data (``loc="best"`` put it over
    points): its top ``below`` (a fraction of the Axes' height) under the Axes; None, and
    no legend, when nothing in ``ax`` is labelled."""
    if not ax.get_legend_handles_labels()[1]:
        return None
    return ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -below),
                     ncol=ncol, borderaxespad=0.0, frameon=False)


def legend_below(fig, axes, ncol: int = 4, fontsize: float = 8, **kwargs):
    """One legend for ``fig`` below all panels, from the labelled artists of ``axes``
    (the first artist of each label); None when nothing is labelled."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if not labels:
        return None
    return fig.legend(handles, labels, loc="outside lower center",
                      ncol=max(1, min(ncol, len(labels))), fontsize=fontsize, **kwargs)
