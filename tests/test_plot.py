"""Every figure renders to a non-empty PNG with the expected axes, lines and data."""

import dataclasses
import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import jaxfit as jf
from jaxfit.inference.bayes import make_likelihood
from jaxfit.plot import plot_fit, plot_pairs, plot_residuals
from jaxfit.posterior import Posterior

TRUTH = dict(A=400.0, B=1800.0, E=1.7, alpha=0.33, beta=0.29)


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 3000
    return data


@pytest.fixture(scope="module")
def fitted():
    """Two tasks of exact Chinchilla losses on a 6 x 4 (N, D) grid."""
    N, D = np.meshgrid(np.geomspace(5e7, 5e9, 6), np.geomspace(1e9, 1e11, 4))
    df = pd.concat([pd.DataFrame({"N": N.ravel(), "D": D.ravel(), "task": t,
                                  "loss": TRUTH["E"] + dE + TRUTH["A"] / N.ravel() ** 0.33
                                  + TRUTH["B"] / D.ravel() ** 0.29})
                    for t, dE in (("a", 0.0), ("b", 0.2))], ignore_index=True)
    res = jf.fit(jf.models.chinchilla(), df, y="loss", by="task", restarts=8)
    rng = np.random.default_rng(0)
    draws = {n: res.values[:, i, None, None] * (1 + 0.01 * rng.standard_normal((2, 2, 50)))
             for i, n in enumerate(res.law.param_names)}
    draws["sigma"] = np.full((2, 2, 50), 0.01)
    post = Posterior(law=res.law, tasks=res.tasks, draws=draws, likelihood=make_likelihood(),
                     method="nuts", stats={"diverging": np.zeros((2, 2, 50), bool)},
                     options=res.options)
    return res, post, df


def test_a_task_that_did_not_converge_is_named_once_at_the_caller(fitted):
    """A fit stopped at the step cap: plot_fit warned once per curve drawn (6 for these
    two tasks with 2 groups), each pointing into jaxfit/plot.py. Now once per figure,
    here, naming only the drawn tasks."""
    import warnings

    from jaxfit.warnings import ConvergenceWarning

    res, _, df = fitted
    capped = dataclasses.replace(res, status=np.array([jf.Status.CONVERGED,
                                                       jf.Status.MAX_STEPS]))
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    for draw, name in ((lambda: plot_fit(capped, df, at=at, groups=2), "plot_fit"),
                       (lambda: plot_residuals(capped, df), "plot_residuals")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            draw()
        ours = [w for w in caught if w.category is ConvergenceWarning]
        assert [(w.filename, str(w.message).split(" of this")[0]) for w in ours] == [
            (__file__, f"{name}: 1 task(s) ['b']")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        plot_fit(capped, df, tasks=["a"], groups=2)              # task b not drawn: silent


def test_plot_fit(fitted):
    res, post, df = fitted
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12], "loss": [1.95]})
    fig = plot_fit(res, df, at=at, posterior=post, groups=4)
    png(fig)
    # two panels and one colour bar (D, log scale) for the figure
    assert len(fig.axes) == 3 and [ax.get_title() for ax in fig.axes[:2]] == [
        "chinchilla [a]", "chinchilla [b]"]
    assert fig.axes[2].get_ylabel() == "training tokens D"
    for ax, task in zip(fig.axes[:2], "ab"):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        # 4 D-groups (one curve each), the target's curve, its interval bar's 2 caps.
        assert len(ax.lines) == 4 + 1 + 2
        # The bar is the 90% credible interval as it is (asymmetric), and the point fit's
        # prediction is drawn where it is (a marker, not the bar's centre).
        caps = sorted(float(c.get_ydata()[0]) for c in ax.lines[5:7])
        iv = post.predict(at[["N", "D"]].assign(task=task), prob=0.9).iloc[0]
        np.testing.assert_allclose(caps, [iv.credible_lower, iv.credible_upper], rtol=1e-9)
        fit = float(res.predict(at[["N", "D"]].assign(task=task))["prediction"].iloc[0])
        offsets = np.concatenate([c.get_offsets() for c in ax.collections])
        assert np.any(np.isclose(offsets[:, 0], 7e10) & np.isclose(offsets[:, 1], fit,
                                                                   rtol=1e-9))
        pts = np.concatenate([c.get_offsets() for c in ax.collections[:4]])
        sub = df[df.task == task]
        assert sorted(map(tuple, pts)) == sorted(zip(sub.N, sub.loss))
        # The first curve is the fitted law at its group's geometric-mean D.
        x, y = ax.lines[0].get_data()
        p = res.param_dict(task)
        d = np.exp(np.log(sub.D[sub.D <= np.quantile(sub.D, 0.25)]).mean())
        np.testing.assert_allclose(
            y, p["E"] + p["A"] / x ** p["alpha"] + p["B"] / d ** p["beta"], rtol=1e-9)
        # The band is the posterior's 90% credible interval along the target's curve.
        (fill,) = [c for c in ax.collections if "Poly" in type(c).__name__]
        band = fill.get_paths()[0].vertices[:, 1]
        lo = post.predict(pd.DataFrame({"N": ax.lines[4].get_xdata(), "D": 1.4e12,
                                        "task": task}))["credible_lower"]
        assert band.min() == pytest.approx(lo.min(), rel=1e-9)
    # Paper-ready style: >= 150 dpi, plain-number tick labels (no mathtext), labelled
    # axes, the legend outside the data, points coloured continuously by their own D.
    ax = fig.axes[0]
    assert fig.dpi >= 150
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert any(labels) and not any("$" in t or "times" in t for t in labels), labels
    # A user's loss has no known unit: the axis names the column, no unit (it said
    # "loss (nats)" whatever the data were); a recorded unit (an embedded dataset's,
    # jf.datasets.load) is named.
    assert ax.get_xlabel() == "parameters N" and ax.get_ylabel() == "loss"
    recorded = df[df.task == "a"].copy()
    recorded.attrs.update(loss="loss", loss_unit="nats")
    assert plot_fit(res, recorded, tasks=["a"]).axes[0].get_ylabel() == "loss (nats)"
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.y0 < 0.0                                  # below the axes
    bar = [t.get_text() for t in fig.axes[2].get_yticklabels()]
    assert any(bar) and not any("$" in t for t in bar), bar
    colours = np.concatenate([c.get_facecolors() for c in ax.collections[:4]])
    assert len(np.unique(colours.round(4), axis=0)) == df.D.nunique()
    # A posterior on its own: its median curves and its own band.
    alone = plot_fit(post, df, at=at, groups=4)
    assert len(alone.axes[0].lines) == 7
    assert len([c for c in alone.axes[0].collections if "Poly" in type(c).__name__]) == 1
    with pytest.raises(ValueError, match="not an input"):
        plot_fit(res, df, x="C")


def test_plot_fit_wraps_long_task_names(fitted):
    """Task names of 80 characters: each panel title ran into its neighbours'."""
    import dataclasses

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    res, _, df = fitted
    names = {t: f"{t}: a benchmark with a very long name, as evaluation harnesses make them"
             for t in res.tasks}
    long = dataclasses.replace(res, tasks=pd.Index([names[t] for t in res.tasks],
                                                   name="task"))
    fig = plot_fit(long, df.assign(task=df["task"].map(names)), ncols=2)
    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    a, b = (ax.title.get_window_extent(r) for ax in fig.axes[:2])
    assert a.x1 <= b.x0 + 2, (a, b)                                 # side by side, apart
    assert all(names[t] in fig.axes[i].get_title().replace("\n", " ")
               for i, t in enumerate(res.tasks))                   # wrapped, not cut


def test_plot_fit_matches_integer_tasks_to_their_text(fitted):
    """A fit on integer task labels plotted with data whose task column holds their text
    ("0", "1", as a CSV read with dtype=str gives): every panel lost its points (an empty
    selection, then a zero-size error), while predict matched the same rows."""
    import dataclasses

    res, _, df = fitted
    ints = dataclasses.replace(res, tasks=pd.Index([0, 1], name="task"))
    text = df.assign(task=df["task"].map({"a": "0", "b": "1"}))
    fig = plot_fit(ints, text)
    for ax, task in zip(fig.axes[:2], "ab"):
        pts = np.concatenate([c.get_offsets() for c in ax.collections])
        sub = df[df.task == task]
        assert sorted(map(tuple, pts)) == sorted(zip(sub.N, sub.loss))
    with pytest.raises(ValueError, match=r"no row of data= or at= names task 1 in column\(s\) 'task'"):
        plot_fit(ints, text[text.task == "0"])


def test_plot_fit_says_when_a_prediction_is_not_finite(fitted):
    """A task whose parameters give NaN (here set so): the panel had data points and a
    legend entry 'target (predicted)' for a point that was not drawn. Now the panel says
    the prediction is not finite, and the other task is drawn as before."""
    import dataclasses

    res, post, df = fitted
    vals = np.asarray(res.values, dtype=np.float64).copy()
    vals[1] = np.nan
    bad = dataclasses.replace(res, values=vals)
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    fig = plot_fit(bad, df, at=at)
    ok_ax, nan_ax = fig.axes[:2]
    assert "target (predicted)" in ok_ax.get_legend_handles_labels()[1]
    assert "target (predicted)" not in nan_ax.get_legend_handles_labels()[1]
    assert any("not finite" in t.get_text() for t in nan_ax.texts)
    assert not any("not finite" in t.get_text() for t in ok_ax.texts)


def test_plot_fit_does_not_warn_about_predictive_bounds_it_does_not_draw(fitted):
    """A posterior with a few infinite sigma draws (a wide Laplace Gaussian of log sigma)
    has infinite predictive draws, and predict warns of them (NaN predictive bounds where
    the draws reach them; here 2 of 100 lie beyond finite ones). plot_fit draws the median
    and the credible band only, yet passed the warning on once per curve, each pointing
    into jaxfit/plot.py, and numpy's "invalid value encountered in subtract" with it. Now
    the figure is silent; predict still warns."""
    import warnings

    from jaxfit.warnings import FitWarning

    res, post, df = fitted
    sigma = np.full((2, 2, 50), 0.01)
    sigma[:, 0, :10] = np.inf
    wide = Posterior(law=post.law, tasks=post.tasks, draws={**post.draws, "sigma": sigma},
                     likelihood=post.likelihood, method="laplace", options=post.options)
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    with pytest.warns(FitWarning, match="have infinite predictive draws"):
        wide.predict(at.assign(task="a"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        warnings.simplefilter("error", RuntimeWarning)      # numpy's, of the same bounds
        fig = plot_fit(res, df, at=at, posterior=wide, groups=2)
        plot_fit(wide, df, at=at, groups=2)
        plot_residuals(wide, df)
    caps = sorted(float(c.get_ydata()[0]) for c in fig.axes[0].lines[3:5])
    with pytest.warns(FitWarning, match="have infinite predictive draws"):
        iv = wide.predict(at.assign(task="a"), prob=0.9).iloc[0]
    np.testing.assert_allclose(caps, [iv.credible_lower, iv.credible_upper], rtol=1e-9)


def test_plot_fit_refuses_the_bands_of_another_law_or_tasks(fitted):
    """posterior= of another law (here Chinchilla with E held fixed) drew its bands around
    the fit's curves without a word; a posterior lacking a drawn task failed in predict
    ("rows name tasks that were not fitted"). Both are now named; a posterior of the
    drawn tasks only is fine."""
    res, post, df = fitted
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    held = jf.fix(res.law, E=1.7)
    other = Posterior(law=held, tasks=post.tasks,
                      draws={n: v for n, v in post.draws.items() if n != "E"},
                      likelihood=post.likelihood, method="nuts", options=post.options)
    with pytest.raises(ValueError, match=r"^plot_fit: posterior= is of law 'chinchilla\|fixed"
                                         r"\(E\)' with \{E=1.7\} fixed .* the fit of law "
                                         r"'chinchilla' \(parameters"):
        plot_fit(res, df, at=at, posterior=other, groups=2)
    one = Posterior(law=res.law, tasks=post.tasks[:1],
                    draws={n: v[:1] for n, v in post.draws.items()},
                    likelihood=post.likelihood, method="nuts", options=post.options)
    with pytest.raises(ValueError, match=r"^plot_fit: posterior= holds tasks \['a'\] "
                                         r"\(by \['task'\]\), none for the fit's \['b'\]"):
        plot_fit(res, df, at=at, posterior=one, groups=2)
    fig = plot_fit(res, df, at=at, posterior=one, groups=2, tasks=["a"])
    assert len(fig.axes[0].containers) == 1              # the target's interval


def test_plot_fit_says_when_an_interval_is_not_finite(fitted):
    """A posterior with one non-finite draw in task b (a failed refit): its credible
    bounds there are NaN, and panel b had no bar, a "90% credible band" legend entry for
    a band not drawn, and no word. Now the panel says the interval is not finite, and
    task a is drawn as before."""
    import warnings

    res, post, df = fitted
    draws = {n: v.copy() for n, v in post.draws.items()}
    draws["A"][1, 0, 3] = np.nan
    odd = Posterior(law=post.law, tasks=post.tasks, draws=draws, likelihood=post.likelihood,
                    method="bootstrap", options=post.options)
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok_ax, nan_ax = plot_fit(res, df, at=at, posterior=odd, groups=2).axes[:2]
    assert len(ok_ax.containers) == 1 and len(nan_ax.containers) == 0
    assert "90% credible band" in ok_ax.get_legend_handles_labels()[1]
    assert "90% credible band" not in nan_ax.get_legend_handles_labels()[1]
    assert [t.get_text() for t in nan_ax.texts] == [
        "the 90% interval at N = 7e10 is not finite (nan, nan)"]
    assert not ok_ax.texts


def test_plot_residuals(fitted):
    res, _, df = fitted
    fig = plot_residuals(res, df, x="D")
    png(fig)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.lines) == 1 and ax.get_xscale() == "log"       # the zero line
        r = ax.collections[0].get_offsets()[:, 1]
        assert len(r) == 24 and np.abs(r).max() < 1e-6                # exact data
    # ... and on noisy losses, the residuals themselves (exact data alone would pass a plot
    # of zeros): log y - log of the fit's prediction, at each point's D
    noisy = df.assign(loss=df.loss * np.exp(0.01 * np.random.default_rng(1)
                                            .standard_normal(len(df))))
    fig = plot_residuals(res, noisy, x="D")
    for ax, task in zip(fig.axes, "ab"):
        sub = noisy[noisy.task == task]
        want = np.log(sub.loss.to_numpy()) - np.log(res.predict(sub)["prediction"].to_numpy())
        np.testing.assert_allclose(ax.collections[0].get_offsets(),
                                   np.column_stack([sub.D, want]), rtol=1e-9, atol=1e-12)


def test_plot_residuals_of_a_posterior_uses_its_median_curve(fitted):
    """Before: KeyError 'prediction' (a posterior's predict has a median, not a
    prediction column), though plot_fit draws posteriors."""
    _, post, df = fitted
    fig = plot_residuals(post, df, tasks=["b"])
    png(fig)
    r = fig.axes[0].collections[0].get_offsets()[:, 1]
    b = df[df.task == "b"]
    med = post.predict(b)["median"].to_numpy()
    np.testing.assert_allclose(r, np.log(b.loss.to_numpy()) - np.log(med), rtol=1e-12)
    assert fig.axes[0].get_title() == "residuals (posterior median) [b]"


def test_plot_pairs(fitted):
    _, post, _ = fitted
    fig = plot_pairs(post, task="b")
    png(fig)
    assert len(fig.axes) == 10              # 5 parameters: lower triangle of a 4 x 4 grid
    off = fig.axes[0].collections[0].get_offsets()   # A (x) against B (y), task b
    np.testing.assert_allclose(sorted(off[:, 0]), sorted(post.flat("A")[1]))
    with pytest.raises(ValueError, match="name one"):
        plot_pairs(post)
    one = plot_pairs(post, task="a", var_names=["alpha", "beta"])
    png(one)
    assert len(one.axes) == 1


@pytest.mark.parametrize("draw", [plot_fit, plot_residuals])
def test_plot_names_a_missing_column(fitted, draw):
    """Before: KeyError 'D' from inside the drawing."""
    res, _, df = fitted
    with pytest.raises(ValueError, match=rf"{draw.__name__}: data is missing column\(s\) "
                                         r"\['D'\] \(the fit's inputs and target\)"):
        draw(res, df.drop(columns="D"))


@pytest.mark.parametrize("draw", [plot_fit, plot_residuals])
def test_plot_names_an_unknown_task_a_bad_x_and_nan_inputs_by_the_users_rows(fitted, draw):
    """Before: tasks=['zz'] raised a bare KeyError 'zz'; plot_residuals(x='Q') a bare
    KeyError 'Q'; a NaN in an input column made plot_fit fail inside predict naming '120
    NaN ... at rows [0, 1, ..., 9]' (the rows of its own curve grid, not the user's), and
    plot_residuals name no function. Now each is a ValueError naming the value and the fix."""
    res, _, df = fitted
    name = draw.__name__
    with pytest.raises(ValueError, match=rf"{name}: tasks= \['zz'\] are not tasks of the fit; "
                                         r"its tasks are \['a', 'b'\]"):
        draw(res, df, tasks=["zz"])
    with pytest.raises(ValueError, match=rf"{name}: x='Q' is not an input of law 'chinchilla'"):
        draw(res, df, x="Q")
    bad = df.copy()
    bad.loc[3, "N"] = np.nan
    with pytest.raises(ValueError, match=rf"{name}: data=: column 'N' \(input 'N'\) has 1 NaN "
                                         r"or infinite values at rows \[3\]"):
        draw(res, bad)
    assert np.isnan(bad.loc[3, "N"]) and bad.shape == df.shape    # the user's frame as it was
    fig = draw(res, df, tasks=["b"])                               # a known task: one panel
    assert len(fig.axes) == 1 + (draw is plot_fit)                 # (+ plot_fit's colour bar)


def test_tasks_of_two_by_columns_are_named_by_whole_labels(fitted):
    """With tasks of two by columns, tasks=["a"] (part of the label ("a", "x")) passed the
    check and plot_fit then said "no row of data= or at= names task 'a'"; a single label
    tasks=("a", "x") was read as two tasks "a" and "x"; a target row holding family but
    not task was drawn in every panel. Now the part and the row are refused, and the
    tuple is one task."""
    res, _, df = fitted
    tasks = pd.MultiIndex.from_tuples([("a", "x"), ("b", "x")], names=["family", "task"])
    two = dataclasses.replace(res, tasks=tasks, options={**res.options, "by": ["family", "task"]})
    data = df.rename(columns={"task": "family"}).assign(task="x")
    for draw in (plot_fit, plot_residuals):
        with pytest.raises(ValueError, match=re.escape(
                f"{draw.__name__}: tasks= ['a'] are not tasks of the fit (a task of several "
                "by columns ['family', 'task'] is named by all of them, e.g. "
                "tasks=[('a', 'x')])")):
            draw(two, data, tasks=["a"])
    with pytest.raises(ValueError, match=re.escape(
            "plot_fit: at=: the rows hold ['family'] but not ['task']")):
        plot_fit(two, data, at=data.iloc[:1].drop(columns="task"))   # was in every panel
    fig = plot_residuals(two, data, tasks=("b", "x"))
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "residuals [('b', 'x')]"


def test_tuple_labels_of_one_by_column_are_one_task_each(fitted):
    """A by column of tuples: plot_fit draws each task's curve with its own parameters.
    Before: the curve's rows were given the first part of the label ("a" of ("a", 1)) and
    predict refused them as a task that was not fitted."""
    res, _, df = fitted
    tasks = pd.Index([("a", 1), ("b", 2)], name="task", tupleize_cols=False)
    tupled = dataclasses.replace(res, tasks=tasks)
    data = df.assign(task=df.task.map(dict(zip(["a", "b"], tasks))))
    fig = plot_fit(tupled, data, at=data.iloc[[0, -1]])
    assert len(fig.axes) >= 2
    curve = next(ln for ln in fig.axes[1].get_lines() if ln.get_linestyle() == "-")
    assert np.all(np.isfinite(curve.get_ydata()))


def test_plot_fit_keeps_non_positive_values_on_a_linear_axis(fitted):
    """Values <= 0 (a fit in linear space of a quantity that reaches 0, e.g. an accuracy
    above chance) were dropped without a word by the always-log vertical axis: the panel
    showed 23 of 24 points. Now the axis is linear when the data hold a y <= 0 (logy=True
    still forces log), and every point is drawn."""
    res, _, df = fitted
    low = df.copy()
    low.loc[0, "loss"] = -0.05
    fig = plot_fit(res, low, tasks=["a"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    pts = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(pts) == 24 and pts[:, 1].min() == -0.05
    assert plot_fit(res, df, tasks=["a"]).axes[0].get_yscale() == "log"     # as before
    assert plot_fit(res, low, tasks=["a"], logy=True).axes[0].get_yscale() == "log"


def test_plot_fit_without_data_or_targets_says_what_sets_the_range():
    """A fit loaded from a file holds no data: plot_fit(res) of a one-input law drew its
    curve over x in [0.8, 12.5] (a fixed default; here 'C' in FLOPs, a meaningless range
    and a meaningless curve) without a word. Now a ValueError says what to pass; with
    at= the range is the targets' (as before)."""
    law = jf.models.power_law("C")
    k = len(law.param_names)
    res = jf.FitResult(law=law, tasks=pd.Index([0]), values=np.array([[300.0, 0.15, 2.0]]),
                       objective=np.zeros(1), status=np.zeros(1, np.int32),
                       steps=np.ones(1, np.int64), grad_norm=np.zeros(1),
                       at_bound=np.zeros((1, k), bool), identified=np.ones(1, bool),
                       options={"y": "loss"})
    with pytest.raises(ValueError, match=r"plot_fit: no data= and no at=, so nothing sets the "
                                         r"range of 'C'"):
        plot_fit(res)
    fig = plot_fit(res, at=pd.DataFrame({"C": [1e21]}))
    curve = fig.axes[0].lines[0].get_xdata()
    assert curve.min() == pytest.approx(0.8e21) and curve.max() == pytest.approx(1.25e21)


def test_plot_fit_names_a_target_whose_task_was_not_fitted(fitted):
    """at= rows naming a task that was not fitted (a typo) were left out of every panel
    without a word (res.predict on the same rows raises). Now the same ValueError."""
    res, _, df = fitted
    at = pd.DataFrame({"N": [7e10, 7e10], "D": [1.4e12] * 2, "task": ["a", "zz"]})
    with pytest.raises(ValueError, match=r"plot_fit: at=: 1 rows name tasks that were not "
                                         r"fitted \('task' = \['zz'\]"):
        plot_fit(res, df, at=at)


def test_plot_fit_names_a_bad_target_row(fitted):
    """at= rows were not checked: without the x column they raised a bare KeyError 'N'
    from the drawing, and a target at N <= 0 failed inside predict naming "118 NaN or
    infinite values at rows [1, 2, ...]" of the curve's own grid. Now a ValueError names
    at=, the column, the rows and the fix; the user's frame is left as it was."""
    res, _, df = fitted
    with pytest.raises(ValueError, match=r"^plot_fit: at=: missing column\(s\) \['N'\] "
                                         r"\(inputs of law 'chinchilla'"):
        plot_fit(res, df, at=pd.DataFrame({"D": [1.4e12], "task": ["a"]}))
    at = pd.DataFrame({"N": [7e10, -1.0], "D": [1.4e12] * 2, "task": ["a", "a"]},
                      index=[10, 11])
    with pytest.raises(ValueError, match=r"^plot_fit: at=: column 'N' \(input 'N'\) has 1 "
                                         r"values <= 0 at rows \[11\]"):
        plot_fit(res, df, at=at)
    assert at.loc[11, "N"] == -1.0
    # an input the law does not take the log of, but the horizontal axis does
    lin = jf.FitResult(law=jf.models.linear(), tasks=pd.Index([0]),
                       values=np.array([[1.0, -0.2]]), objective=np.zeros(1),
                       status=np.zeros(1, np.int32), steps=np.ones(1, np.int64),
                       grad_norm=np.zeros(1), at_bound=np.zeros((1, 2), bool),
                       identified=np.ones(1, bool), options={"y": "acc"})
    with pytest.raises(ValueError, match=r"^plot_fit: at= column 'L' \(input 'L', the "
                                         r"horizontal log axis\) has 1 value\(s\) <= 0 at "
                                         r"rows \[1\] \(e.g. 0\)"):
        plot_fit(lin, at=pd.DataFrame({"L": [2.0, 0.0]}))
    with pytest.raises(ValueError, match=r"^plot_fit: data= column 'L' \(input 'L', the "
                                         r"horizontal log axis\) has 1 value\(s\) <= 0"):
        plot_fit(lin, pd.DataFrame({"L": [2.0, -1.0], "acc": [0.5, 0.6]}))


def test_plot_pairs_names_a_bad_posterior_or_parameter(fitted):
    """Before: a FitResult raised AttributeError "'FitResult' object has no attribute
    'idata'", an unknown var_names ArviZ's KeyError, and var_names="alpha" (one name as a
    string) was split into letters."""
    res, post, _ = fitted
    with pytest.raises(TypeError, match=r"^plot_pairs: posterior= is a FitResult, not a "
                                        r"Posterior; pair plots show draws"):
        plot_pairs(res, task="a")
    with pytest.raises(ValueError, match=r"^plot_pairs: var_names= \['zeta'\] are not "
                                         r"parameters of the posterior's tasks; they are "
                                         r"\['A', 'B', 'E', 'alpha', 'beta', 'sigma'\]\.$"):
        plot_pairs(post, task="a", var_names=["A", "zeta"])
    with pytest.raises(ValueError, match=r"^plot_pairs: give at least two parameters, got "
                                         r"\['alpha'\]\.$"):
        plot_pairs(post, task="a", var_names="alpha")


def test_plot_residuals_names_a_bad_target_and_the_points_it_cannot_draw(fitted):
    """Before: a target column of text raised numpy's bare "could not convert string to
    float: 'x'", and a target <= 0 under the fit's log space was dropped from the figure
    with only numpy's RuntimeWarning "invalid value encountered in log"."""
    import warnings

    from jaxfit.warnings import FitWarning

    res, _, df = fitted
    with pytest.raises(ValueError, match=r"^plot_residuals: data= column 'loss' \(target y\) "
                                         r"has dtype (str|object), not numbers"):
        plot_residuals(res, df.assign(loss="x"))
    bad = df.copy()
    bad.loc[[3, 30], "loss"] = [-1.0, 0.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_residuals(res, bad)
    assert [(w.category, str(w.message)) for w in caught] == [(FitWarning, (
        "plot_residuals: 2 row(s) of column 'loss' have no residual and are not drawn "
        "(rows [3, 30]): the observed or predicted value is <= 0, which has no log (the "
        "fit's space='log')."))]
    assert caught[0].filename == __file__
    r = np.ma.filled(fig.axes[0].collections[0].get_offsets()[:, 1], np.nan)
    assert np.isnan(r[3]) and np.isfinite(np.delete(r, 3)).all()


def test_plot_functions_name_arguments_of_the_wrong_kind(fitted):
    """Before: posterior= a FitResult (it has a law and a predict) failed in predict, "got
    an unexpected keyword argument 'prob'"; prob="0.9" raised "type str doesn't define
    __round__ method"; data= a dict raised AttributeError "'dict' object has no attribute
    'columns'"; plot_residuals(res, None) "'NoneType' object is not subscriptable"."""
    res, _, df = fitted
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12], "task": ["a"]})
    with pytest.raises(ValueError, match=r"^plot_fit: posterior= is a FitResult, not a "
                                         r"Posterior \(jaxfit.sample or jaxfit.bootstrap\)"):
        plot_fit(res, df, at=at, posterior=res)
    with pytest.raises(ValueError, match=r"^prob='0.9' is out of range: it must be a finite number"):
        plot_fit(res, df, at=at, prob="0.9")
    for draw in (plot_fit, plot_residuals):
        with pytest.raises(TypeError, match=rf"^{draw.__name__}: data=: give a pandas "
                                            r"DataFrame, got dict"):
            draw(res, df.to_dict())
    with pytest.raises(ValueError, match=r"^plot_residuals: data= is None; residuals need "
                                         r"the observations"):
        plot_residuals(res, None)


def test_plot_fit_labels_the_band_with_its_own_probability(fitted):
    """The band's legend read int(round(100 * prob)): a 99.5% band was labelled "100%
    credible band" (a band that holds everything), a 68.3% one "68%"."""
    res, post, df = fitted
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12], "task": ["a"]})
    for prob, label in ((0.995, "99.5% credible band"), (0.683, "68.3% credible band"),
                        (0.9, "90% credible band")):
        ax = plot_fit(res, df, at=at, posterior=post, tasks=["a"], prob=prob,
                      groups=2).axes[0]
        assert label in ax.get_legend_handles_labels()[1], prob


def test_tasks_given_as_an_index_array_series_or_set(fitted):
    """tasks=res.tasks[:1] (an Index), a numpy array, a Series or a set of labels was taken
    as one label and refused: "tasks= [Index(['b'], ...)] are not tasks of the fit". Each
    is a collection of labels now (a set's drawn in the fit's order)."""
    res, _, df = fitted
    for tasks in (res.tasks[1:], np.array(["b"]), pd.Series(["b"])):
        fig = plot_residuals(res, df, tasks=tasks)
        assert [ax.get_title() for ax in fig.axes] == ["residuals [b]"], type(tasks)
    fig = plot_residuals(res, df, tasks={"b", "a"})
    assert [ax.get_title() for ax in fig.axes] == ["residuals [a]", "residuals [b]"]
    with pytest.raises(ValueError, match=r"plot_residuals: tasks= \['zz'\] are not tasks"):
        plot_residuals(res, df, tasks=np.array(["zz"]))


def test_plot_fit_names_a_target_of_text_or_a_repeated_column(fitted):
    """Before: plot_fit drew a target column of text as categories on the vertical axis,
    without a word; at= with one raised numpy's "ufunc 'isfinite' not supported"; and a
    repeated column raised "'DataFrame' object has no attribute 'dtype'"."""
    res, _, df = fitted
    with pytest.raises(ValueError, match=r"^plot_fit: data= column 'loss' \(target y\) has "
                                         r"dtype (str|object), not numbers"):
        plot_fit(res, df.assign(loss="x"))
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12], "task": ["a"], "loss": ["x"]})
    with pytest.raises(ValueError, match=r"^plot_fit: at= column 'loss' \(target y\) has "
                                         r"dtype (str|object), not numbers"):
        plot_fit(res, df, at=at)
    # (an input as `jaxfit.checks.prediction_inputs` names it, "data=: column")
    for draw, col, sep in ((plot_fit, "N", ":"), (plot_residuals, "loss", "")):
        with pytest.raises(ValueError, match=rf"^{draw.__name__}: data={sep} column '{col}' "
                                             r"appears 2 times in the data"):
            draw(res, pd.concat([df, df[[col]]], axis=1))


def _linear(values, **options) -> jf.FitResult:
    """A FitResult of ``jf.models.linear()`` (input L, target acc) at ``values``."""
    return jf.FitResult(law=jf.models.linear(), tasks=pd.Index([0]),
                        values=np.array([values], np.float64), objective=np.zeros(1),
                        status=np.zeros(1, np.int32), steps=np.ones(1, np.int64),
                        grad_norm=np.zeros(1), at_bound=np.zeros((1, 2), bool),
                        identified=np.ones(1, bool), options={"y": "acc", **options})


def test_plot_residuals_refuses_x_at_or_below_zero():
    """plot_residuals draws x on a log axis but did not check x > 0 as plot_fit does: a
    row at L <= 0 was left off the figure without a word. Now it is refused like
    plot_fit's data=, naming the column, the rows and the fix."""
    data = pd.DataFrame({"L": [2.0, -1.0, 0.0], "acc": [0.5, 0.6, 0.4]}, index=[5, 6, 7])
    with pytest.raises(ValueError, match=re.escape(
            "plot_residuals: data= column 'L' (input 'L', the horizontal log axis) has 2 "
            "value(s) <= 0 at rows [6, 7] (e.g. -1), which a log axis cannot show")):
        plot_residuals(_linear([1.0, -0.2]), data)
    assert len(plot_residuals(_linear([1.0, -0.2]), data.loc[[5]]).axes) == 1


def test_plot_residuals_names_each_cause_as_residuals_does():
    """plot_residuals said "the observed or predicted value is <= 0 or the prediction is
    not finite" for every row with no residual in log space; it names each cause the
    rows have now, in FitResult.residuals' words (`jaxfit.result.no_residual_why`)."""
    import warnings

    from jaxfit.warnings import FitWarning

    res = _linear([np.nan, 0.0], space="log")               # every prediction NaN
    data = pd.DataFrame({"L": [1.0, 2.0, 3.0], "acc": [0.5, 0.6, 0.4]})

    def said(frame) -> tuple[list, list]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plot_residuals(res, frame)
            r = res.residuals(frame)
        assert r["residual"].isna().all()
        mine = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
        return ([m.split("): ", 1)[1] for m in mine if m.startswith("plot_residuals:")],
                [m.split("): ", 1)[1] for m in mine if m.startswith("residuals:")])

    plot, result = said(data)
    assert plot == ["the prediction is not finite."]
    assert result == ["the prediction is not finite; they are NaN."]
    plot, result = said(data.assign(acc=[0.5, -0.1, 0.4]))
    both = ("the prediction is not finite; or the observed or predicted value is <= 0, "
            "which has no log (the fit's space='log')")
    assert plot == [both + "."] and result == [both + "; they are NaN."]
