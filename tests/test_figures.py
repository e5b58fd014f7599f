"""The recipe figures are paper-ready (issue 14, point 4): each is rendered from a small
result built here (no recipe run, no fitting) and checked for its style.

Checked on every figure: >= 150 dpi; tick labels plain numbers (no mathtext) on numeric
axes; every panel's axes labelled, with a unit in parentheses on numeric axes; every
panel titled, never a bare number; no two text boxes overlapping (tick labels, axis
labels, titles, cell labels, legend entries); no legend over a data point; intervals
drawn where the result has them. The shipped PNGs of docs/recipes are >= 150 dpi.
"""

from __future__ import annotations

import itertools
import re
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

import jaxfit as jf
from jaxfit.recipes.emergence_plot import plot_emergence
from jaxfit.recipes.flp_plot import plot_flp_m
from jaxfit.recipes.hitchhiker_plot import plot_hitchhiker
from jaxfit.recipes.ladder import LadderResult

ROOT = Path(__file__).resolve().parents[1]
PLAIN = re.compile(r"^[-\u2212]?\d+(\.\d+)?(e[-\u2212]?\d+)?%?$")
BARE = re.compile(r"^[-+\d.e]+$")


# ----------------------------------------------------------------------------- checks

def _panels(fig):
    """The visible data axes (colour bars left out)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _ticks(axis):
    """The tick labels ``axis`` draws (in its view interval, visible, non-empty)."""
    lo, hi = sorted(axis.get_view_interval())
    span = 1e-9 * (hi - lo)
    return [t.label1 for t in axis.get_major_ticks() + axis.get_minor_ticks()
            if lo - span <= t.get_loc() <= hi + span and t.label1.get_visible()
            and t.label1.get_text().strip()]


def _texts(fig):
    """Every text the figure draws: titles, axis and tick labels, texts in the axes
    (cell labels, annotations), legend entries and titles, the suptitle; with its window
    extent."""
    r = fig.canvas.get_renderer()
    texts = [getattr(fig, "_suptitle", None)]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                  *_ticks(ax.xaxis), *_ticks(ax.yaxis)]
    for lg in [ax.get_legend() for ax in fig.axes if ax.get_visible()] + list(fig.legends):
        if lg is not None:
            texts += [*lg.get_texts(), lg.get_title()]
    return [(t, t.get_window_extent(r)) for t in texts
            if t is not None and t.get_visible() and t.get_text().strip()]


def _numeric(labels) -> bool:
    return all(PLAIN.match(s) for s in labels if s)


def check_style(fig, *, intervals: int = 0) -> None:
    FigureCanvasAgg(fig).draw()
    assert fig.dpi >= 150
    panels = _panels(fig)
    assert panels
    for ax in panels:
        title = ax.get_title()
        assert title.strip() and not BARE.match(title.strip()), f"bare title {title!r}"
        for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            ticks = [t.get_text() for t in _ticks(axis)]
            assert not any("$" in s or "\\times" in s for s in ticks), ticks     # no mathtext
            assert label.strip(), f"unlabelled axis in {title!r}"
            scale = axis.get_scale()
            if scale == "log":
                assert _numeric(ticks), (title, ticks)
            if _numeric(ticks):                 # a numeric axis says its unit: "... (nats)"
                assert re.search(r"\(.+\)", label), f"no unit in {label!r} ({title!r})"
    # No two text boxes overlap (boxes include the font's padding: 2 px of slack, so
    # corners that touch pass and a label over another fails).
    boxes = _texts(fig)
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        ox = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        oy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        assert not (ox > 2.0 and oy > 2.0), (
            f"text {a.get_text()!r} overlaps {b.get_text()!r} ({ox:.1f} x {oy:.1f} px)")
    # No legend covers a data point (scatter offsets and line vertices, display coords).
    r = fig.canvas.get_renderer()
    legends = [lg for ax in panels for lg in [ax.get_legend()] if lg] + list(fig.legends)
    for lg in legends:
        box = lg.get_window_extent(r)
        for ax in panels:
            pts = [c.get_offset_transform().transform(c.get_offsets())
                   for c in ax.collections if len(c.get_offsets()) and
                   not isinstance(c, PolyCollection)]
            pts += [ln.get_transform().transform(ln.get_xydata()) for ln in ax.lines]
            for p in pts:
                inside = ((p[:, 0] > box.x0) & (p[:, 0] < box.x1) & (p[:, 1] > box.y0)
                          & (p[:, 1] < box.y1))
                assert not inside.any(), f"legend over data in {ax.get_title()!r}"
    bars = sum(isinstance(c, ErrorbarContainer) for ax in panels for c in ax.containers)
    assert bars >= intervals, (bars, intervals)


# ----------------------------------------------------------------------------- results

def _ladder_result(task: str = "mmlu_avg_test") -> LadderResult:
    """One task, four ladder sizes x 3 token multiples, two targets with intervals."""
    law1, law2 = jf.models.ladder_step1(), jf.models.sigmoid()
    p1 = pd.DataFrame([dict(A=38.0, B=100.0, alpha=0.226, beta=0.236, E=0.454)],
                      index=pd.Index([task], name="task"))
    p2 = pd.DataFrame([dict(a=-0.742, k=4.83, L0=0.616, b=1.0)], index=p1.index)

    def step1(N, D):
        return 38.0 / N ** 0.226 + 100.0 / D ** 0.236 + 0.454

    def step2(L):
        return -0.742 / (1 + np.exp(-4.83 * (L - 0.616))) + 1.0

    rows = [dict(task=task, run=f"{name}-{m}xC", N=N, D=20 * m * N, loss=step1(N, 20 * m * N),
                 fitted=step1(N, 20 * m * N), kind="ladder")
            for name, N in (("190M", 1.9e8), ("370M", 3.7e8), ("760M", 7.6e8), ("1B", 1.3e9))
            for m in (1, 2, 5)]
    targets = [("7B-4T", 6.9e9, 3.9e12), ("13B-5T", 1.3e10, 5.0e12)]
    pred = pd.DataFrame([dict(task=task, target=t, N=N, D=D, actual_loss=step1(N, D) + 0.02,
                              pred_loss=step1(N, D)) for t, N, D in targets])
    pred["actual_acc"] = step2(pred["actual_loss"]) + 0.01
    pred["pred_acc"] = step2(pred["pred_loss"])
    pred["abs_error"] = 100 * (pred["pred_acc"] - pred["actual_acc"]).abs()
    pred["acc_lower"], pred["acc_upper"] = pred["pred_acc"] - 0.03, pred["pred_acc"] + 0.02
    s1 = pd.DataFrame(rows)
    step1_data = pd.concat([s1, pred.rename(columns={"target": "run", "actual_loss": "loss",
                                                     "pred_loss": "fitted"})
                            .assign(kind="target")[["task", "run", "N", "D", "loss",
                                                    "fitted", "kind"]]], ignore_index=True)
    L = np.linspace(0.8, 1.6, 60)
    s2 = pd.DataFrame({"task": task, "N": np.repeat([1.9e8, 3.7e8, 7.6e8, 1.3e9], 15), "L": L,
                       "acc": step2(L), "kind": "ladder"})

    class Step1Posterior:                      # what the plot asks of a bootstrap posterior
        law = law1

        @staticmethod
        def predict(frame, prob):
            mid = step1(frame["N"].to_numpy(), frame["D"].to_numpy())
            return pd.DataFrame({"predictive_lower": mid - 0.02, "predictive_upper": mid + 0.03})

    fit_error = pd.DataFrame({"fit_error": [0.005]}, index=p1.index)
    return LadderResult(
        predictions=pred, step1=fit_error, step2=fit_error, variance=pd.DataFrame(),
        variance_correlation=pd.DataFrame(), step1_data=step1_data, step2_data=s2,
        fits={"step1": SimpleNamespace(law=law1, params=p1),
              "step2": SimpleNamespace(law=law2, params=p2)},
        options=dict(method="two_step", tasks=[task], prob=0.9, calibrate=True),
        posteriors={"step1": Step1Posterior()})


def _hitchhiker_frames() -> dict:
    """A 2-D family (with a gpt3-like 48% cell), two one-row sub-families, a sparse one."""
    rows = []
    fr = np.round(np.arange(1, 11) / 10, 1)
    for k in (2, 3, 4, 5):
        rows += [dict(family="big", n_models=k, fraction=f, are=0.48 / k ** 2 + 0.01 * f)
                 for f in fr]
    for fam, s in (("G-c4-1.0", 1.0), ("G-c4-2.0", 2.0)):
        rows += [dict(family=fam, n_models=2, fraction=f, are=0.002 * s / f) for f in fr[1:]]
    rows += [dict(family="sparse", n_models=k, fraction=1.0, are=0.1 + 0.001 * k)
             for k in (22, 52, 102, 232)]
    rows += [dict(family="sparse", n_models=k, fraction=f, are=np.nan)
             for k in (22, 52, 102, 232) for f in fr[:-1]]
    return {"are": pd.DataFrame(rows).assign(cut=1e10, checkpoints="all")}


def _emergence_frames(*, finetuning: bool) -> dict:
    """An emergence-law result (one task, no ``by``, 4 data amounts) or a few-shot elbow
    result in log10 compute (two tasks)."""
    L = np.linspace(1.8, 2.8, 21)
    if finetuning:
        amounts = (50.0, 200.0, 1000.0, 5000.0)
        e = {d: 0.028 * np.log(d) ** 1.355 + 1.88 for d in (5.0, *amounts)}
        relu = lambda d, x: 0.6 * np.maximum(e[d] - x, 0) + 0.25  # noqa: E731
        points = pd.concat([pd.DataFrame({"task": 0, "L": L, "y": relu(d, L), "D": d})
                            for d in amounts], ignore_index=True)
        curves = pd.concat([pd.DataFrame({"task": 0, "L": L, "D": d, "mean": relu(d, L)})
                            for d in (5.0, *amounts)], ignore_index=True)
        table = pd.DataFrame([dict(D0=5.0, mle=e[5.0], posterior_5=1.89, posterior_95=1.96,
                                   bootstrap_5=1.90, bootstrap_95=1.97)], index=[0])
        elbows = pd.DataFrame({"task": 0, "D": amounts, "elbow": [e[d] for d in amounts],
                               "law": [e[d] for d in amounts]})
        params = pd.DataFrame([dict(k=0.028, alpha=1.355, C=1.88)], index=[0])
        table.attrs["options"] = dict(loss="loss", y="accuracy", D="n_train", by=None,
                                      form="log_power", increasing=False)
        return dict(emergence=table, points=points, curves=curves, elbows=elbows,
                    params=params)
    x = np.linspace(20, 26, 30)
    tasks = ["word_unscrambling", "parsinlu_qa"]
    relu = lambda x: 0.3 * np.maximum(x - 22.6, 0) + 0.02  # noqa: E731
    points = pd.concat([pd.DataFrame({"task": t, "L": x, "y": relu(x)}) for t in tasks])
    curves = pd.concat([pd.DataFrame({"task": t, "L": x, "mean": relu(x), "lower": relu(x) - 0.02,
                                      "upper": relu(x) + 0.02}) for t in tasks])
    table = pd.DataFrame({"D0": np.nan, "mle": 22.6, "posterior_5": 22.4, "posterior_95": 22.8,
                          "bootstrap_5": 22.3, "bootstrap_95": 22.9}, index=tasks)
    table.attrs["options"] = dict(loss="log10_flops", y="score", by="task", increasing=True)
    return dict(emergence=table, points=points, curves=curves,
                elbows=pd.DataFrame(columns=["task", "D", "elbow", "law"]))


def _flp_m_frames() -> dict:
    domains = ["c4", "books", "common_crawl", "pes2o", "reddit", "stack", "wiki"]
    tasks, targets = ["mmlu_avg_test", "hellaswag_val"], ["7B-4T", "13B-5T"]
    rng = np.random.default_rng(0)
    runs = [f"run{i}" for i in range(4)]
    s2 = []
    for t in tasks:
        for i, run in enumerate(runs):
            c4 = np.linspace(3.6, 2.9 - 0.05 * i, 12)
            frame = pd.DataFrame({"task": t, "run": run, "C": np.geomspace(1e19, 1e21, 12)
                                  * (i + 1)} | {d: c4 + 0.1 * j for j, d in enumerate(domains)})
            frame["acc"] = 1.6 - 0.4 * c4 + 0.005 * rng.standard_normal(12)
            frame["fitted"] = 1.6 - 0.4 * c4
            s2.append(frame)
    dl = pd.DataFrame([dict(target=t, domain=d, actual=2.4 + 0.1 * j - 0.05 * k,
                            pred=2.3 + 0.1 * j - 0.05 * k)
                       for k, t in enumerate(targets) for j, d in enumerate(domains)])
    pred = pd.DataFrame([dict(task=t, target=g, actual_acc=0.65 + 0.02 * k,
                              pred_acc=0.68 + 0.02 * k)
                         for t in tasks for k, g in enumerate(targets)])
    pred["abs_error"] = 100 * (pred["pred_acc"] - pred["actual_acc"]).abs()
    return dict(predictions=pred, domain_losses=dl, stage2_data=pd.concat(s2, ignore_index=True))


# ----------------------------------------------------------------------------- tests

def test_ladder_figure():
    res = _ladder_result()
    fig = res.plot()
    # Two intervals per panel: step 1's loss interval and step 2's accuracy interval for
    # each of the two targets.
    check_style(fig, intervals=4)
    step1, step2 = _panels(fig)
    assert step1.get_xscale() == "log" and step2.get_ylabel() == "task accuracy (%)"
    # A result without a recorded unit (a user's data): the loss axes name the column,
    # not "bits per byte"; the embedded ladder's unit (options["loss_unit"]) is named.
    assert step1.get_ylabel() == step2.get_xlabel() == "task loss (column task_loss)"
    res.options["loss_unit"] = "bits per byte"
    step1, step2 = _panels(res.plot())
    assert step1.get_ylabel() == step2.get_xlabel() == "task loss (bits per byte)"
    # The step-2 bars are the predictions' intervals, in points.
    segs = [c.lines[2][0].get_segments()[0] for c in step2.containers]
    np.testing.assert_allclose(sorted(s[:, 1].min() for s in segs),
                               sorted(100 * res.predictions["acc_lower"]), rtol=1e-9)
    # Each target's error sits in the title, not over the data.
    assert "7B-4T" in step2.get_title() and not step2.texts


def test_ladder_figure_with_a_long_task_name():
    """A user's task named like a harness task: the two panel titles overlapped each other
    (check_style's text-overlap check); they wrap now."""
    fig = _ladder_result("hendrycksTest-high_school_macroeconomics (5-shot, multiple choice "
                         "format, acc_norm)").plot()
    check_style(fig, intervals=4)


def test_ladder_figure_lists_only_drawn_actual_points():
    """A hypothetical target has no actual loss: the step-1 panel listed "13B-5T (actual)"
    in the legend for a point it never drew."""
    import dataclasses

    res = _ladder_result()
    s1 = res.step1_data.copy()
    s1.loc[(s1["kind"] == "target") & (s1["run"] == "13B-5T"), "loss"] = np.nan
    fig = dataclasses.replace(res, step1_data=s1).plot()
    labels = _panels(fig)[0].get_legend_handles_labels()[1]
    assert "7B-4T (actual)" in labels and "13B-5T (actual)" not in labels
    assert "13B-5T (predicted)" in labels


def test_hitchhiker_figure():
    frames = _hitchhiker_frames()
    fig = plot_hitchhiker(frames)
    check_style(fig)
    titles = [ax.get_title() for ax in _panels(fig)]
    # Only the 2-D family is a heatmap; the one-row sub-families share a line panel, the
    # sparse family has its own (ARE against the number of models at fraction 1).
    assert len(titles) == 3 and titles[0].startswith("big")
    heat = _panels(fig)[0]
    assert len(heat.images) == 1 and len(_panels(fig)[1].lines) == 2
    # One log colour scale labelled in percent, not capped below the largest ARE (48%).
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    norm = heat.images[0].norm
    assert norm.vmax >= frames["are"]["are"].max() and type(norm).__name__ == "LogNorm"
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert "10%" in labels and all(s.endswith("%") for s in labels if s)
    cells = [t.get_text() for t in heat.texts]
    assert len(cells) == 40 and "12" in cells                     # 0.48 / 4 + 0.01 * 0.1


def test_emergence_figure():
    fig = plot_emergence([_emergence_frames(finetuning=True),
                          _emergence_frames(finetuning=False)])
    check_style(fig, intervals=2)
    curve, shift, *fewshot = _panels(fig)
    assert curve.xaxis_inverted() and "reversed" in curve.get_xlabel()
    # A user's loss column has no known unit (the axes said "nats" whatever the data)
    assert curve.get_xlabel().startswith("pre-training loss (column loss);")
    assert shift.get_ylabel() == "emergence point E(D) (column loss)"
    assert "0" != curve.get_title() and curve.get_title().startswith("emergence law")
    # The posterior and bootstrap intervals look different: a filled and a hatched span.
    spans = [p for p in curve.patches]
    assert len(spans) == 2 and spans[0].get_fill() and spans[1].get_hatch()
    # log10 compute is drawn as compute on a log axis.
    assert fewshot[0].get_xscale() == "log" and "FLOPs" in fewshot[0].get_xlabel()
    assert not fewshot[0].xaxis_inverted()
    # a recorded unit (olmo_demo's C4 loss: load_olmo_emergence records nats) is named
    frames = _emergence_frames(finetuning=True)
    frames["emergence"].attrs["options"]["loss_unit"] = "nats"
    curve, shift = _panels(plot_emergence(frames))
    assert curve.get_xlabel().startswith("pre-training loss (nats);")
    assert shift.get_ylabel() == "emergence point E(D) (nats)"


def test_flp_m_figure():
    frames = _flp_m_frames()
    fig = plot_flp_m(frames)
    check_style(fig)
    panels = _panels(fig)
    assert len(panels) == 3
    # The MLP is a line per run (from frames alone), never loose dots.
    assert len(panels[1].lines) == 4
    x, y = panels[1].lines[0].get_data()
    assert np.all(np.diff(x) < 0) and np.allclose(y, 100 * (1.6 - 0.4 * x))
    # Frames with no recorded unit (a user's data, or CSVs read back): the loss axes name
    # the column, never a guessed unit (they said "nats" whatever the data were)
    assert panels[0].get_ylabel() == "domain loss (each domain's column)"
    assert panels[1].get_xlabel() == "loss (column c4)"
    for f in frames.values():
        f.attrs["loss_unit"] = "nats"        # what flp_m records for its embedded data
    panels = _panels(plot_flp_m(frames))
    assert panels[0].get_ylabel() == "domain loss (nats)"
    assert panels[1].get_xlabel() == "C4 loss (nats)"


@pytest.mark.parametrize("name", ["ladder", "hitchhiker", "emergence", "flp_m"])
def test_shipped_png_resolution(name):
    """docs/recipes/<name>.png was saved at >= 150 dpi (its pHYs chunk)."""
    data = (ROOT / "docs" / "recipes" / f"{name}.png").read_bytes()
    i = data.index(b"pHYs")
    ppm_x, ppm_y, unit = struct.unpack(">IIB", data[i + 4:i + 13])
    assert unit == 1 and min(ppm_x, ppm_y) * 0.0254 >= 149.9


def test_axes_legend_below_places_a_legend_under_labelled_axes_only():
    """The one placement plot_fit and plot_backtest share (`axes_legend_below`): no legend
    without a labelled artist, else one centred under the Axes, without a frame."""
    from jaxfit.plot_style import axes_legend_below, figure

    ax = figure(4, 3).subplots()
    ax.plot([1, 2], [1, 2])
    assert axes_legend_below(ax) is None and ax.get_legend() is None
    ax.plot([1, 2], [2, 1], label="fit")
    leg = axes_legend_below(ax, fontsize=7, ncol=2, below=0.2)
    assert leg is ax.get_legend() and not leg.get_frame_on()
    assert [t.get_text() for t in leg.get_texts()] == ["fit"]
    assert leg._loc == 9 and tuple(leg.get_bbox_to_anchor()._bbox.bounds[:2]) == (0.5, -0.2)
