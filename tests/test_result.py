"""`FitResult`'s summary, standard errors, statistics, residuals and display.

Kept fast: no fit is run here. A least-squares line is solved in closed form with numpy and
wrapped in a `FitResult`, so the sandwich covariance (`jaxfit.inference.stderr`) is checked
against the textbook HC1 formula (White 1980 with MacKinnon and White's n / (n - k)) and
the log-likelihood against the Normal one. The comparison with a bootstrap on Chinchilla
is in tests/test_bootstrap.py (it reuses that file's 4,000-resample bootstrap); the
displays of NUTS and bootstrap posteriors are tested beside their fixtures
(tests/test_bayes_model.py, tests/test_bootstrap.py).
"""

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit.data import make_batch
from jaxfit.inference.bayes import Likelihood
from jaxfit.inference.status import Status
from jaxfit.warnings import FitWarning

RNG = np.random.default_rng(3)
X = np.linspace(1.5, 4.0, 40)
# heteroscedastic noise: the sandwich differs from the classical covariance
Y = 0.8 - 0.2 * X + RNG.normal(scale=0.01 * X, size=X.size)
DATA = pd.DataFrame({"L": X, "acc": Y, "run": [f"r{i}" for i in range(X.size)]})


def _result(law, values, df=DATA, loss="squared", by=None):
    batch = make_batch(df, law, y="acc", by=by, space="linear")
    T, k = values.shape
    zeros = np.zeros(T)
    return jf.FitResult(
        law=law, tasks=batch.tasks, values=values, objective=zeros + 1.0,
        status=np.full(T, Status.CONVERGED), steps=zeros, grad_norm=zeros,
        at_bound=np.zeros((T, k), bool), identified=np.ones(T, bool),
        options=dict(y="acc", by=by, x={}, loss=loss, delta=1e-3, space="linear",
                     restarts=1, method="newton"),
        dof=np.full(T, X.size - k), design=((),) * T,
        data=dict(x=batch.x, y=batch.y, w=batch.w))


@pytest.fixture(scope="module")
def line():
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    return A, beta, _result(jf.models.linear(), beta[None, :])


def test_squared_loss_covariance_is_hc1(line):
    A, beta, res = line
    e = Y - A @ beta
    n, k = A.shape
    bread = np.linalg.inv(A.T @ A)
    hc1 = bread @ (A.T * e ** 2) @ A @ bread * n / (n - k)
    np.testing.assert_allclose(res.covariance()[0], hc1, rtol=1e-8)
    summ = res.summary()
    np.testing.assert_allclose(summ["se"].to_numpy(), np.sqrt(np.diag(hc1)), rtol=1e-8)
    np.testing.assert_allclose(summ["estimate"].to_numpy(), beta, rtol=1e-12)
    corr = hc1[0, 1] / np.sqrt(hc1[0, 0] * hc1[1, 1])
    assert summ.loc[(0, "w0"), "corr_w1"] == pytest.approx(corr, rel=1e-8)
    assert summ.loc[(0, "w0"), "upper"] == pytest.approx(beta[0] + 1.959964 * np.sqrt(hc1[0, 0]))
    assert list(summ["kind"]) == ["free", "free"]


def test_shared_parameter_standard_errors_are_the_joint_sandwich():
    """jf.share: the shared slope's se was NaN in summary() (held fixed per task), and
    each intercept's se was conditional on the slope. Now the joint objective's sandwich:
    for a shared-slope line it is HC1 of the stacked regression with one intercept per
    task and one slope (numpy least squares, the textbook formula)."""
    task = np.array(["a", "b", "c"])[np.arange(X.size) % 3]
    shift = np.select([task == "b", task == "c"], [0.1, -0.05], 0.0)
    df = DATA.assign(run=task, acc=Y + shift)
    A = np.column_stack([task == "a", task == "b", task == "c", X]).astype(float)
    beta = np.linalg.lstsq(A, df["acc"].to_numpy(), rcond=None)[0]
    e = df["acc"].to_numpy() - A @ beta
    n, K = A.shape
    bread = np.linalg.inv(A.T @ A)
    hc1 = bread @ (A.T * e ** 2) @ A @ bread * n / (n - K)
    values = np.column_stack([beta[:3], np.full(3, beta[3])])
    res = _result(jf.share(jf.models.linear(), "w1"), values, df=df, by="run")
    cov = res.covariance()
    for t in range(3):
        np.testing.assert_allclose(cov[t], hc1[np.ix_([t, 3], [t, 3])], rtol=1e-8)
    summ = res.summary()
    assert summ.loc[("b", "w1"), "kind"] == "shared"
    np.testing.assert_allclose(summ.xs("w1", level="param")["se"], np.sqrt(hc1[3, 3]),
                               rtol=1e-8)
    assert summ.loc[("c", "w0"), "se"] == pytest.approx(np.sqrt(hc1[2, 2]), rel=1e-8)
    assert "no standard errors" not in res.report()
    # a joint Hessian that is not positive definite (one input level: the slope is not
    # identified) leaves every task's se NaN, and the report says why
    flat = _result(jf.share(jf.models.linear(), "w1"), values, df=df.assign(L=2.0), by="run")
    assert np.isnan(flat.covariance()).all()
    assert "no standard errors (w0, w1): the joint fit's Hessian (over all 3 tasks, which " \
           "share ['w1']) is not positive definite" in flat.report()


def test_statistics_normal_likelihood_aic_bic_r2(line):
    A, beta, res = line
    e = Y - A @ beta
    n = len(e)
    ll = -0.5 * n * (np.log(2 * np.pi * np.mean(e ** 2)) + 1)
    s = res.statistics().iloc[0]
    assert s["n"] == n and s["dof"] == n - 2 and s["status"] == "converged"
    assert s["loglik"] == pytest.approx(ll, rel=1e-10)
    assert s["aic"] == pytest.approx(2 * 3 - 2 * ll, rel=1e-10)
    assert s["bic"] == pytest.approx(3 * np.log(n) - 2 * ll, rel=1e-10)
    assert s["r2"] == pytest.approx(1 - np.sum(e ** 2) / np.sum((Y - Y.mean()) ** 2), rel=1e-10)
    assert s["warnings"] == ""


def test_fixed_parameters_are_listed_as_fixed():
    law = jf.fix(jf.models.linear(), w0=0.8)
    slope = np.sum((Y - 0.8) * X) / np.sum(X * X)          # least squares through (0, 0.8)
    res = _result(law, np.array([[slope]]))
    summ = res.summary()
    assert list(summ.index.get_level_values("param")) == ["w1", "w0"]
    assert summ.loc[(0, "w0"), "kind"] == "fixed" and summ.loc[(0, "w0"), "estimate"] == 0.8
    assert np.isnan(summ.loc[(0, "w0"), "se"]) and summ.loc[(0, "w1"), "se"] > 0
    assert "w0=0.8 (fixed)" in repr(res) and "fixed: w0=0.8" in res.report()


def test_residuals_and_predict_keep_the_input_columns(line):
    A, beta, res = line
    out = res.residuals(DATA)
    assert list(out.columns) == ["L", "acc", "run", "prediction", "residual"]
    pd.testing.assert_frame_equal(out[list(DATA.columns)], DATA)
    np.testing.assert_allclose(out["residual"], Y - A @ beta, rtol=1e-10, atol=1e-14)
    # a column named like a prediction is kept; the prediction goes beside it
    clash = DATA.assign(prediction=1.0)
    pred = res.predict(clash)
    assert (pred["prediction"] == 1.0).all()
    np.testing.assert_allclose(pred["prediction_pred"], A @ beta, rtol=1e-12)
    # predicted again (both names taken): the user's columns stay, the new one goes beside
    again = res.predict(pred)
    pd.testing.assert_frame_equal(again[list(pred.columns)], pred)
    np.testing.assert_allclose(again["prediction_pred_2"], A @ beta, rtol=1e-12)
    with pytest.raises(ValueError, match="no target column 'acc'"):
        res.residuals(DATA.drop(columns="acc"))
    # in log space an observation <= 0 has no residual: named, not a silent NaN
    logged = dataclasses.replace(res, options=dict(res.options, space="log"))
    d = DATA.iloc[:10].copy()
    d.loc[2, "acc"] = -0.1
    with pytest.warns(FitWarning,
                      match=r"1 row\(s\) of column 'acc' have no residual \(rows \[2\]\)"):
        r = logged.residuals(d)
    assert np.isnan(r["residual"][2]) and np.isfinite(r["residual"].drop(index=2)).all()
    np.testing.assert_allclose(r["residual"][0], np.log(d["acc"][0] / r["prediction"][0]))


def test_residual_warning_names_a_prediction_that_is_not_finite(line):
    """In log space a row whose prediction is NaN (a law's log of a negative number) was
    said to have "the observed or predicted value <= 0"; each cause is named now."""
    _, _, res = line
    logged = dataclasses.replace(res, options=dict(res.options, space="log"),
                                 values=np.array([[np.nan, 0.0]]))
    d = DATA.iloc[:3].copy()
    with pytest.warns(FitWarning) as caught:
        logged.residuals(d)
    assert str(caught[0].message) == (
        "residuals: 3 row(s) of column 'acc' have no residual (rows [0, 1, 2]): the "
        "prediction is not finite; they are NaN.")
    d.loc[1, "acc"] = -0.1
    with pytest.warns(FitWarning) as caught:
        logged.residuals(d)
    assert str(caught[0].message).endswith(
        "(rows [0, 1, 2]): the prediction is not finite; or the observed or predicted value "
        "is <= 0, which has no log (the fit's space='log'); they are NaN.")


def test_numbers_from_a_task_that_did_not_converge_are_flagged_where_used(line):
    """A fit stopped at the step cap warned once, at fit time; its predictions (and
    residuals) came back later without a word. Now each use says so."""
    _, beta, res = line
    capped = dataclasses.replace(res, status=np.array([Status.MAX_STEPS]))
    with pytest.warns(jf.warnings.ConvergenceWarning,
                      match=r"predict: 1 task\(s\) \[0\] of this fit did not converge.*max_steps"):
        pred = capped.predict(DATA.iloc[:3])
    np.testing.assert_allclose(pred["prediction"], res.predict(DATA.iloc[:3])["prediction"])
    with pytest.warns(jf.warnings.ConvergenceWarning, match="residuals: 1 task"):
        capped.residuals(DATA.iloc[:3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.predict(DATA.iloc[:3])                   # converged: silent
        capped.predict(DATA.iloc[:3], warn=False)    # asked to be silent


def test_summary_of_a_task_that_did_not_converge_says_so(line):
    """summary() gave a task stopped at the step cap its estimates, standard errors and
    Wald bounds (which assume an optimum) with no word, its rows looking like any other
    (the status is not in the table). Now it warns, naming the task; report() and the
    notebook view, which show the status, stay silent."""
    _, _, res = line
    capped = dataclasses.replace(res, status=np.array([Status.MAX_STEPS]))
    with pytest.warns(jf.warnings.ConvergenceWarning,
                      match=r"summary: 1 task\(s\) \[0\] of this fit did not converge.*max_steps"):
        summ = capped.summary()
    pd.testing.assert_frame_equal(summ, res.summary())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.summary()                                  # converged: silent
        capped.summary(warn=False)                     # asked to be silent
        assert "status=max_steps" in capped.report()
        capped._repr_html_()


def test_short_repr_html_and_report(line):
    _, beta, res = line
    text = repr(res)
    assert len(text) < 1000 and text.startswith("FitResult(linear, 1 task(s), 1 converged")
    assert f"w0={beta[0]:.4g}" in text
    html = res._repr_html_()
    assert "<table" in html and "w1" in html and "se" in html
    report = res.report()
    assert "[[Task 0]] status=converged, n=40, dof=38" in report
    assert "approximate" in report and f"{res.summary()['se'].iloc[1]:.6g}" in report


def test_many_tasks_with_two_task_columns():
    """Tasks named by two columns: summary rows are (family, size, param); the report and
    predict follow them (no fit: each task's line is solved in closed form)."""
    df = pd.concat([DATA.assign(family=f, size=z, acc=DATA.acc + 0.1 * i)
                    for i, (f, z) in enumerate([("a", 1), ("a", 2), ("b", 1)])],
                   ignore_index=True)
    A = np.column_stack([np.ones_like(X), X])
    values = np.stack([np.linalg.lstsq(A, Y + 0.1 * i, rcond=None)[0] for i in range(3)])
    res = _result(jf.models.linear(), values, df, by=["family", "size"])
    summ = res.summary()
    assert summ.index.names == ["family", "size", "param"] and len(summ) == 6
    assert summ.loc[("a", 2, "w0"), "estimate"] == pytest.approx(values[1, 0])
    se = summ["se"].to_numpy().reshape(3, 2)
    np.testing.assert_allclose(se, se[:1].repeat(3, 0), rtol=1e-8)   # same noise, shifted y
    assert "[[Task ('b', 1)]]" in res.report() and len(repr(res)) < 1000
    # new rows indexed by a column named as the tasks' by: the row level is "row" (before,
    # both levels were named "family", and reset_index() raised)
    single = _result(jf.models.linear(), values[[0, 2]], df[df["size"] == 1], by="family")
    new = pd.DataFrame({"L": [2.0, 3.0]}, index=pd.Index(["a", "b"], name="family"))
    out = single.predict(new)
    assert out.index.names == ["family", "row"]
    assert out.reset_index()[["family", "row"]].values.tolist() == [
        ["a", "a"], ["a", "b"], ["b", "a"], ["b", "b"]]
    # max_tasks: None shows all; before, -1 showed 2 of 3 and said "... 4 more task(s)"
    assert res.report(max_tasks=1).count("[[Task") == 1 and \
        "... 2 more task(s)" in res.report(max_tasks=1)
    assert res.report(max_tasks=None).count("[[Task") == 3 and \
        "more task(s)" not in res.report(max_tasks=None)
    with pytest.raises(ValueError, match=r"^max_tasks=-1 is out of range: it must be an "
                                         r"integer >= 0 or None \(the tasks shown in full"):
        res.report(max_tasks=-1)
    long = res.predict(pd.DataFrame({"L": [2.0]}))                  # every task for the row
    assert long.index.names == ["task", "row"] and len(long) == 3
    np.testing.assert_allclose(long["prediction"], values[:, 0] + 2.0 * values[:, 1])
    # one of the two task columns: before, every task for the row, its family ignored
    with pytest.raises(ValueError, match=re.escape(
            "predict: the rows hold ['family'] but not ['size'] of the fit's task columns "
            "['family', 'size']; give all of them to name each row's task, or none")):
        res.predict(pd.DataFrame({"L": [2.0], "family": ["a"]}))


def test_tuple_labels_of_one_task_column():
    """One by column whose values are tuples: each tuple is one task, and the summary's
    rows are (run, param), the fixed ones too. Before: summary(), report() and the
    notebook view unpacked each label as if it were several columns' values and raised
    "Length of names must match number of levels in MultiIndex"."""
    labels = [("a", 1), ("b", 2)]
    df = pd.concat([DATA.assign(run=[t] * len(DATA), acc=DATA.acc + 0.1 * i)
                    for i, t in enumerate(labels)], ignore_index=True)
    A = np.column_stack([np.ones_like(X), X])
    values = np.stack([np.linalg.lstsq(A, Y + 0.1 * i, rcond=None)[0] for i in range(2)])
    res = _result(jf.models.linear(), values, df, by="run")
    assert list(res.tasks) == labels and res.tasks.nlevels == 1
    summ = res.summary()
    assert summ.index.names == ["run", "param"] and len(summ) == 4
    assert summ.loc[(("b", 2), "w1"), "estimate"] == pytest.approx(values[1, 1])
    assert "[[Task ('b', 2)]]" in res.report() and "<table" in res._repr_html_()
    fixed = _result(jf.fix(jf.models.linear(), w0=0.8), values[:, 1:], df, by="run")
    summ = fixed.summary()
    assert summ.loc[(("a", 1), "w0"), "kind"] == "fixed" and len(summ) == 4


def test_posterior_summary_rows_follow_the_fit_summary():
    """`Posterior.summary` listed each parameter for every task, `FitResult.summary` each
    task's parameters together: the two did not line up row by row, and ``.loc[task]`` of
    a task of two by columns raised pandas' PerformanceWarning (indexing past lexsort
    depth). Both are task-major now."""
    df = pd.concat([DATA.assign(family=f, size=z) for f, z in [("a", 1), ("a", 2), ("b", 1)]],
                   ignore_index=True)
    values = np.array([[0.8, -0.2], [0.85, -0.2], [0.9, -0.2]])
    res = _result(jf.models.linear(), values, df, by=["family", "size"])
    rng = np.random.default_rng(0)
    draws = {n: values[:, j, None, None] + 0.01 * rng.standard_normal((3, 2, 20))
             for j, n in enumerate(["w0", "w1"])}
    draws["sigma"] = np.full((3, 2, 20), 0.1)
    post = jf.Posterior(law=res.law, tasks=res.tasks, draws=draws, method="laplace",
                        likelihood=Likelihood("normal", "linear"),
                        options=res.options)
    s = post.summary()
    drawn = s.drop(index="sigma", level="param")
    assert drawn.index.equals(res.summary().index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = s.loc[("a", 2)]
    assert one.index.tolist() == ["w0", "w1", "sigma"]
    assert one.loc["w0", "mean"] == pytest.approx(draws["w0"][1].mean(), rel=1e-12)
    # predict's sd is the summary's (ddof=1; it was ddof=0, 2.5% smaller at 40 draws):
    # at L = 0 the line's value is w0
    pred = post.predict(pd.DataFrame({"L": [0.0], "family": ["a"], "size": [2]}))
    assert pred["sd"].iloc[0] == pytest.approx(one.loc["w0", "sd"], rel=1e-12)
    assert pred["mean"].iloc[0] == pytest.approx(one.loc["w0", "mean"], rel=1e-12)


def test_report_says_why_standard_errors_are_missing(line):
    """Before: the report showed se NaN without a word."""
    assert "no standard errors" not in line[2].report()
    flat = DATA.assign(L=2.0)                    # one input level: the slope is not identified
    text = _result(jf.models.linear(), np.array([[0.4, 0.0]]), df=flat).report()
    assert "no standard errors (w0, w1): the objective's Hessian at the optimum is not " \
           "positive definite to working precision" in text
    two = _result(jf.models.linear(), np.array([[0.5, -0.1]]), df=DATA.head(2))
    two = dataclasses.replace(two, dof=np.array([0]))   # as jaxfit.fit sets it: 2 points
    assert "no standard errors (w0, w1): no residual degrees of freedom" in two.report()


def test_report_says_a_task_without_an_optimum_has_no_standard_errors(line):
    """A task whose objective was never finite (status nonfinite), or that stopped at the
    step cap, was said to lack standard errors because "the objective's Hessian at the
    optimum is not positive definite ... (a flat direction ...)": it has no optimum."""
    flat = _result(jf.models.linear(), np.array([[0.4, 0.0]]), df=DATA.assign(L=2.0))
    bad = dataclasses.replace(flat, objective=np.array([np.inf]),
                              status=np.array([Status.NONFINITE]))
    assert ("no standard errors (w0, w1): the objective is not finite at the task's "
            "parameters (status nonfinite: there is no optimum to take a Hessian at).") \
        in bad.report()
    capped = dataclasses.replace(flat, status=np.array([Status.MAX_STEPS]))
    assert ("no standard errors (w0, w1): the task did not converge (status max_steps), "
            "and the objective's Hessian at its last iterate is not positive definite.") \
        in capped.report()


def test_residuals_error_says_residuals(line):
    with pytest.raises(ValueError, match=r"^residuals: missing column\(s\) \['L'\]"):
        line[2].residuals(DATA.rename(columns={"L": "loss"}))


def test_predict_and_residuals_refuse_duplicate_and_non_numeric_columns(line):
    """As the fit refuses them. Before: two 'L' columns (a join) raised AttributeError
    ('DataFrame' object has no attribute 'dtype') in predict and residuals, two 'acc'
    columns a broadcasting error, and 'n/a' text in 'acc' "could not convert string to
    float: 'n/a'", none naming the column or the fix."""
    res = line[2]
    dup_l = pd.concat([DATA, DATA[["L"]]], axis=1)
    for call, where in ((res.predict, "predict"), (res.residuals, "residuals")):
        with pytest.raises(ValueError, match=rf"^{where}: column 'L' appears 2 times in the "
                                             r"data \(duplicate names\); drop or rename"):
            call(dup_l)
    with pytest.raises(ValueError, match=r"^residuals: column 'acc' appears 2 times"):
        res.residuals(pd.concat([DATA, DATA[["acc"]]], axis=1))
    text = DATA.assign(acc=DATA.acc.astype(object).where(DATA.index != 3, "n/a"))
    with pytest.raises(ValueError, match=r"^residuals: column 'acc' \(target y\) has dtype "
                                         r"object, not numbers; convert it with "
                                         r"pd.to_numeric\(df\['acc'\]\).*rows \[3\], "
                                         r"e.g. 'n/a'"):
        res.residuals(text)


def test_standard_errors_do_not_depend_on_the_units_of_an_input():
    """The sandwich's Hessian is tested for positive definiteness and inverted with its
    diagonal scaled to 1. Unscaled, a 30-point Chinchilla fit with B ~ 2.4e5 had computed
    eigenvalues [-3e-15, 3e-11, 0.07, 2.9, 24] and every standard error came out NaN. The
    same points with D in billions of tokens give the same fit with B' = B u^-beta
    (u = 1e9): A, E, alpha and beta keep their standard errors, and B''s follows the delta
    method, ``var(B')/B'^2 = var(B)/B^2 + log(u)^2 var(beta) - 2 log(u) cov(B, beta)/B``."""
    rng = np.random.default_rng(0)
    N = np.exp(rng.uniform(np.log(5e7), np.log(1.6e10), 30))
    D = np.exp(rng.uniform(np.log(5e9), np.log(5e11), 30))
    df = pd.DataFrame(dict(N=N, D=D, loss=(1.8 + 400 / N**0.34 + 2000 / D**0.37)
                           * np.exp(rng.normal(0, 0.01, 30))))
    law = jf.models.chinchilla()
    se, fits = {}, {}
    for unit in (1.0, 1e9):
        fits[unit] = res = jf.fit(law, df.assign(D=df.D / unit), restarts=16, warn=False)
        s = res.summary().droplevel("task")
        assert np.isfinite(s["se"]).all() and (s["se"] > 0).all(), s
        se[unit] = s["se"]
    assert fits[1.0].params.B.iloc[0] > 1e5 and fits[1e9].params.B.iloc[0] < 1e3
    for n in ("A", "E", "alpha", "beta"):
        np.testing.assert_allclose(se[1e9][n], se[1.0][n], rtol=1e-4)
    names = list(law.param_names)
    cov = fits[1.0].covariance()[0]
    b, j, lu = fits[1.0].params.B.iloc[0], names.index("beta"), np.log(1e9)
    i = names.index("B")
    rel2 = cov[i, i] / b**2 + lu**2 * cov[j, j] - 2 * lu * cov[i, j] / b
    np.testing.assert_allclose(se[1e9]["B"] / fits[1e9].params.B.iloc[0], np.sqrt(rel2),
                               rtol=1e-3)
    # The Wald bounds (`wald_bounds`) are log-scale for the positive A, B, E: B's se
    # exceeds B / 1.96, so estimate - 1.96 se would be a negative scale. The exponents are
    # unconstrained (real): estimate -+ 1.96 se.
    s = fits[1.0].summary().droplevel("task")
    assert s.loc["B", "estimate"] - 1.959964 * s.loc["B", "se"] < 0
    for n in names:
        est, sd = s.loc[n, "estimate"], s.loc[n, "se"]
        z = np.array([-1, 1]) * 1.959963984540054      # the 97.5% normal quantile
        want = est * np.exp(z * sd / est) if n in ("A", "B", "E") else est + z * sd
        np.testing.assert_allclose(s.loc[n, ["lower", "upper"]].to_numpy(float), want,
                                   rtol=1e-9)
        assert 0 < s.loc[n, "lower"] < est < s.loc[n, "upper"]
    # prob= sets the level (Posterior.summary's default 0.9 for a like-for-like look)
    s90 = fits[1.0].summary(prob=0.9).droplevel("task")
    assert s.attrs["prob"] == 0.95 and s90.attrs["prob"] == 0.9
    z90 = 1.644854
    np.testing.assert_allclose(s90.loc["alpha", ["lower", "upper"]].to_numpy(float),
                               s.loc["alpha", "estimate"] + np.array([-1, 1]) * z90
                               * s.loc["alpha", "se"], rtol=1e-6)
    with pytest.raises(ValueError, match="prob"):
        fits[1.0].summary(prob=1.5)


def test_one_task_fit_refuses_rows_of_another_task():
    """Before: a fit of one task (by='run' on one run's rows) predicted rows naming another
    run with the fitted run's parameters, silently; a many-task fit raised."""
    df = DATA.assign(run="a")
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    res = _result(jf.models.linear(), beta[None, :], df, by="run")
    ok = res.predict(pd.DataFrame({"run": ["a"], "L": [2.0]}))
    assert ok["prediction"].iloc[0] == pytest.approx(beta[0] + 2.0 * beta[1])
    with pytest.raises(ValueError, match=r"1 rows name tasks that were not fitted.*'b'"):
        res.predict(pd.DataFrame({"run": ["a", "b"], "L": [2.0, 2.0]}))
    # rows without the by column still take the one task
    assert res.predict(pd.DataFrame({"L": [2.0]}))["prediction"].iloc[0] == pytest.approx(
        beta[0] + 2.0 * beta[1])


def test_task_labels_match_across_int_and_str_when_unambiguous():
    """A fit on integer task labels (a CSV's column) refused rows naming them as strings
    ("7", as typed on a command line), and the reverse. Now they match by their text when
    no two fitted labels share one; otherwise the error names the column, the values and
    their types."""
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    two = np.stack([beta, beta + [0.1, 0.0]])
    df = pd.concat([DATA.assign(run=7), DATA.assign(run=8, acc=DATA.acc + 0.1)])
    ints = _result(jf.models.linear(), two, df, by="run")
    strs = _result(jf.models.linear(), two, df.assign(run=df.run.astype(str)), by="run")
    assert list(ints.tasks) == [7, 8] and list(strs.tasks) == ["7", "8"]
    want = [beta[0] + 0.1 + 2 * beta[1], beta[0] + 2 * beta[1]]
    for res, asked in ((ints, ["8", "7"]), (strs, [8, 7])):
        rows = pd.DataFrame({"run": asked, "L": [2.0, 2.0]})
        out = res.predict(rows)
        np.testing.assert_allclose(out["prediction"], want, rtol=1e-12)
        assert out["run"].tolist() == asked and rows["run"].tolist() == asked
    # 7 and "7" both fitted: an exact match still works, the text would be ambiguous
    mixed = dataclasses.replace(ints, tasks=pd.Index([7, "7"], name="run"))
    one = mixed.predict(pd.DataFrame({"run": ["7"], "L": [2.0]}))
    assert one["prediction"].iloc[0] == pytest.approx(want[0], rel=1e-12)
    with pytest.raises(ValueError, match=r"'run' = \['8'\], type str\); fitted tasks: "
                                         r"\[7, '7'\] \(type int, str\).*share one"):
        mixed.predict(pd.DataFrame({"run": ["8"], "L": [2.0]}))
    with pytest.raises(ValueError, match=r"'run' = \['9'\], type str\); fitted tasks: "
                                         r"\[7, 8\] \(type int\)\.$"):
        ints.predict(pd.DataFrame({"run": ["9"], "L": [2.0]}))


def test_rows_with_a_missing_task_say_so():
    """A row whose by value is missing (an empty cell in a CSV of new inputs). Before:
    "1 rows name tasks that were not fitted ('run' = [nan], type float)"."""
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    df = pd.concat([DATA.assign(run=7), DATA.assign(run=8, acc=DATA.acc + 0.1)])
    res = _result(jf.models.linear(), np.stack([beta, beta]), df, by="run")
    for missing in (np.nan, None, pd.NA):
        rows = pd.DataFrame({"run": [7, missing], "L": [2.0, 2.0]}, index=[5, 6])
        with pytest.raises(ValueError, match=re.escape(
                "predict: 1 rows have no task: 'run' is missing at rows [6]; fill them with "
                "fitted tasks ([7, 8]).")):
            res.predict(rows)


def test_a_duplicated_task_column_is_named_in_predict():
    """Rows whose task column appears twice (pd.concat of two frames that both hold it),
    or is a MultiIndex level above two columns: the fit's rule, naming the column and the
    fix. Before, pandas raised "Buffer has wrong number of dimensions (expected 1, got
    2)" from predict."""
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    df = pd.concat([DATA.assign(run=7), DATA.assign(run=8, acc=DATA.acc + 0.1)])
    res = _result(jf.models.linear(), np.stack([beta, beta]), df, by="run")
    rows = pd.DataFrame({"run": [7, 8], "L": [2.0, 2.0]})
    twice = pd.concat([rows, rows[["run"]]], axis=1)
    before = twice.copy()
    with pytest.raises(ValueError, match=re.escape(
            "predict: column 'run' appears 2 times in the data (duplicate names); drop or "
            "rename the duplicates, e.g. df.loc[:, ~df.columns.duplicated()].")):
        res.predict(twice)
    pd.testing.assert_frame_equal(twice, before)
    level = rows.set_axis(pd.MultiIndex.from_tuples([("run", "a"), ("L", "")]), axis=1)
    level[("run", "b")] = 8
    with pytest.raises(ValueError, match=r"^predict: column 'run' is a level of the data's "
                                         r"MultiIndex columns, above 2 column\(s\)"):
        res.predict(level)
    # plot_fit's data= too (its rows of each task: before, pandas' error)
    from jaxfit.plot import plot_fit

    with pytest.raises(ValueError, match=r"^plot_fit: data=: column 'run' appears 2 times"):
        plot_fit(res, data=pd.concat([df, df[["run"]]], axis=1))
    # one of them: predicted as before
    out = res.predict(twice.loc[:, ~twice.columns.duplicated()])
    np.testing.assert_allclose(out["prediction"], beta[0] + 2.0 * beta[1], rtol=1e-12)


def test_residuals_missing_task_or_target_column_gets_a_did_you_mean():
    """residuals(df) of a two-task fit on data whose task column is misspelt: before, only
    the column list; now the close name, as every other missing column. No fit."""
    df = DATA.assign(family=["a", "b"] * (X.size // 2))
    res = _result(jf.models.linear(input="L"), np.array([[0.8, -0.2], [0.8, -0.2]]), df,
                  by="family")
    with pytest.raises(ValueError, match=r"needs the task column\(s\) \['family'\] \(the "
                                         r"data's column 'familly' is close to 'family'\)"):
        res.residuals(df.rename(columns={"family": "familly"}))
    with pytest.raises(ValueError, match=r"no target column 'acc'.*'acc_' is close to 'acc'"):
        res.residuals(df.rename(columns={"acc": "acc_"}))


def test_task_and_parameter_names_not_in_a_result_are_named_in_the_error():
    """`post.samples(task="c")`, `post.flat("alfa")`, `fit.correlation(task="c")` and
    `plot_pairs(post, task="c")` raised pandas' bare ``KeyError: 'c'`` (or ``'alfa'``),
    and a partial label of a two-column task (``task="a"`` for ("a", 1)) returned a
    slice that failed later. Now a ValueError names the value and the tasks or drawn
    parameters there are."""
    from jaxfit.inference.bayes import Likelihood

    law = jf.fix(jf.models.power_law("C"), E=1.7)
    rng = np.random.default_rng(0)
    for tasks in (pd.Index(["a", "b"], name="family"),
                  pd.MultiIndex.from_tuples([("a", 1), ("b", 1)], names=["family", "size"])):
        draws = {"A": rng.lognormal(np.log(30.0), 0.05, (2, 2, 50)),
                 "alpha": rng.normal(0.08, 0.002, (2, 2, 50)), "sigma": np.full((2, 2, 50), 0.01)}
        post = jf.Posterior(law=law, tasks=tasks, draws=draws, method="laplace",
                            likelihood=Likelihood("normal", "log"))
        np.testing.assert_array_equal(post.samples(tasks[1])["alpha"],
                                      draws["alpha"][1].reshape(-1))
        for bad in ["c", ("c", 1)] + (["a"] if isinstance(tasks, pd.MultiIndex) else []):
            with pytest.raises(ValueError, match=r"is not a task of this posterior.*its tasks: "
                               + re.escape(str(list(tasks)))):
                post.samples(task=bad)
        with pytest.raises(ValueError, match=r"has 2 tasks; name one with task=, one of"):
            post.samples()
        with pytest.raises(ValueError, match=re.escape(
                "flat('alfa'): the drawn parameters are ['A', 'alpha', 'sigma']")):
            post.flat("alfa")
        with pytest.raises(ValueError, match=r"flat\('E'\): it is fixed at 1.7 \(jaxfit.fix\)"):
            post.flat("E")
        fit = jf.FitResult(law=law, tasks=tasks, values=np.array([[30.0, 0.08]] * 2),
                           objective=np.zeros(2), status=np.zeros(2, np.int32),
                           steps=np.ones(2, np.int64), grad_norm=np.zeros(2),
                           at_bound=np.zeros((2, 2), bool), identified=np.ones(2, bool))
        with pytest.raises(ValueError, match=r"task='c' is not a task of this fit"):
            fit._task_pos("c")


def test_every_task_predictions_keep_the_input_columns_dtypes_and_duplicate_names():
    """Rows without the task column get every task ((task, row) index). Before, their
    columns were rebuilt one by one from numpy: a categorical became str, a nullable
    Int64 with pd.NA became float64 with NaN, and two columns of one name (a join) raised
    ValueError: Buffer has wrong number of dimensions."""
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    df = pd.concat([DATA.assign(run="a"), DATA.assign(run="b", acc=DATA.acc + 0.1)])
    res = _result(jf.models.linear(), np.stack([beta, beta + [0.1, 0.0]]), df, by="run")
    rows = pd.DataFrame({"L": [2.0, 3.0], "kind": pd.Categorical(["x", "y"]),
                         "n": pd.array([1, None], dtype="Int64")}, index=[10, 11])
    before = rows.copy(deep=True)
    out = res.predict(rows)
    pd.testing.assert_frame_equal(rows, before)
    assert out.index.tolist() == [("a", 10), ("a", 11), ("b", 10), ("b", 11)]
    expect = pd.concat([rows, rows]).set_axis(out.index)
    pd.testing.assert_frame_equal(out[list(rows.columns)], expect)
    np.testing.assert_allclose(out["prediction"],
                               [beta[0] + 2 * beta[1], beta[0] + 3 * beta[1],
                                beta[0] + 0.1 + 2 * beta[1], beta[0] + 0.1 + 3 * beta[1]],
                               rtol=1e-12)
    # two columns named "kind" (a join): both kept, in order, for every task
    dup = pd.concat([rows, rows[["kind"]]], axis=1)
    out = res.predict(dup)
    assert list(out.columns) == ["L", "kind", "n", "kind", "prediction"]
    assert out.iloc[:, 3].tolist() == ["x", "y", "x", "y"]


def test_notebook_view_of_more_than_ten_tasks_of_two_by_columns():
    """`_repr_html_` shows the first 10 tasks; with tasks of two by columns it raised
    pandas' "Length of new_levels (3) must be <= self.nlevels (2)" (FitResult and
    Posterior alike), so a notebook printed a traceback instead of the table."""
    df = pd.concat([DATA.assign(family=f, size=z) for f in "ab" for z in range(6)],
                   ignore_index=True)
    res = _result(jf.models.linear(), np.tile([[0.8, -0.2]], (12, 1)), df,
                  by=["family", "size"])
    draws = {n: np.random.default_rng(0).normal(v, 0.01, (12, 1, 20))
             for n, v in (("w0", 0.8), ("w1", -0.2), ("sigma", 0.1))}
    boot = jf.Posterior(law=res.law, tasks=res.tasks, draws=draws, method="bootstrap",
                        likelihood=Likelihood("normal", "linear"), options=res.options)
    for page in (res._repr_html_(), boot._repr_html_()):
        assert page.count("<th>w0</th>") == 10 and ">b</th>" in page


def test_a_bootstrap_or_laplace_posterior_is_not_shown_as_chains():
    """A bootstrap's repr and report said "1 chain(s) x 20 draws" (a Laplace posterior's
    "2 chain(s)"), though neither has chains and r_hat/ESS are not computed for them."""
    tasks = pd.Index(range(12), name="task")
    draws = {n: np.random.default_rng(0).normal(v, 0.01, (12, 1, 20))
             for n, v in (("w0", 0.8), ("w1", -0.2), ("sigma", 0.1))}
    lik = Likelihood("normal", "linear")
    boot = jf.Posterior(law=jf.models.linear(), tasks=tasks, draws=draws, likelihood=lik,
                        method="bootstrap")
    said = "20 resampled refits (no chains: r_hat and ESS do not apply)"
    assert repr(boot).startswith(f"Posterior(bootstrap, linear, 12 task(s), {said}")
    assert ("12 task(s), 20 resampled refits per task (no chains: r_hat and ESS do not "
            "apply), likelihood=normal") in boot.report()
    assert said in boot._repr_html_()
    lap = dataclasses.replace(boot, method="laplace",
                              draws={n: a.reshape(12, 2, 10) for n, a in draws.items()})
    assert "12 task(s), 20 independent draws (no chains" in repr(lap)


def test_a_pooled_parameter_is_labelled_pooled_in_the_summary(tmp_path):
    """``Posterior.summary``'s ``kind`` of a parameter named in ``jf.sample``'s ``pool=``
    was ``free``, as for a parameter drawn per task with no population; it is
    ``pooled``, a shared one still ``shared`` and the noise scale ``free``, and the label
    survives a save and load (``pool`` is one of the saved options)."""
    tasks = pd.Index(["a", "b"], name="task")
    rng = np.random.default_rng(0)
    draws = {n: rng.normal(v, 0.01, (2, 2, 50))
             for n, v in (("A", 30.0), ("alpha", 0.3), ("E", 1.7), ("sigma", 0.1))}
    draws["E"][1] = draws["E"][0]                      # one value for all tasks
    hyper = {"alpha_mu": rng.normal(0.3, 0.02, (2, 50)), "alpha_tau": np.full((2, 50), 0.5)}
    post = jf.Posterior(law=jf.share(jf.models.power_law("C"), "E"), tasks=tasks,
                        draws=draws, hyper=hyper, likelihood=Likelihood("normal", "log"),
                        method="laplace", options={"by": "task", "pool": ("alpha",)})
    kinds = {"A": "free", "alpha": "pooled", "E": "shared", "sigma": "free"}
    for task in tasks:
        assert post.summary().loc[task, "kind"].to_dict() == kinds
    solo = dataclasses.replace(post, options={"by": "task", "pool": "alpha"})   # one name
    assert solo.summary().loc[("a", "alpha"), "kind"] == "pooled"
    assert dataclasses.replace(post, options={}).summary().loc[("a", "alpha"), "kind"] == "free"
    assert "pooled" in post.report()
    back = jf.load(jf.save(post, tmp_path / "pooled.nc"))
    assert back.summary().loc["b", "kind"].to_dict() == kinds


def test_a_pooled_posterior_reports_its_population():
    """With ``pool=``, the population's draws (``alpha_mu``, ``alpha_tau``) were in
    ``post.hyper`` and idata only: report() did not mention them."""
    tasks = pd.Index(["a", "b"], name="task")
    rng = np.random.default_rng(0)
    draws = {n: rng.normal(v, 0.01, (2, 2, 50))
             for n, v in (("w0", 0.8), ("w1", -0.2), ("sigma", 0.1))}
    hyper = {"w1_mu": rng.normal(-0.2, 0.02, (2, 50)), "w1_tau": np.full((2, 50), 0.5)}
    post = jf.Posterior(law=jf.models.linear(), tasks=tasks, draws=draws, hyper=hyper,
                        likelihood=Likelihood("normal", "linear"), method="nuts",
                        options={"by": "task", "pool": ("w1",)})
    q = np.quantile(hyper["w1_mu"], [0.05, 0.95])
    assert ("population of the pooled parameter(s) (mean [0.9 interval]): w1_mu "
            f"{hyper['w1_mu'].mean():.4g} [{q[0]:.4g}, {q[1]:.4g}], w1_tau 0.5 [0.5, 0.5]"
            ) in post.report()



def test_residuals_of_rows_naming_an_unknown_task_say_residuals():
    """``FitResult.residuals`` and the new ``Posterior.residuals`` on rows naming a task
    that was not fitted raised "predict: 1 rows name tasks that were not fitted ...",
    though the caller had not called predict (their other errors say ``residuals:``)."""
    df = DATA.assign(run=np.where(np.arange(len(DATA)) < 20, "a", "b"))
    A = np.column_stack([np.ones_like(X), X])
    beta = np.linalg.lstsq(A, Y, rcond=None)[0]
    res = _result(jf.models.linear(), np.stack([beta, beta]), df, by="run")
    rng = np.random.default_rng(0)
    draws = {n: rng.normal(v, 1e-3, (2, 1, 20))
             for n, v in (("w0", beta[0]), ("w1", beta[1]), ("sigma", 0.01))}
    post = jf.Posterior(law=jf.models.linear(), tasks=res.tasks, draws=draws,
                        likelihood=Likelihood("normal", "linear"), method="laplace",
                        options={"by": "run", "y": "acc"})
    bad = df.assign(run=np.where(df.index == 3, "zz", df["run"]))
    np.testing.assert_allclose(post.residuals(df)["residual"], res.residuals(df)["residual"],
                               atol=0.01)                       # both work on good rows
    for result in (res, post):
        with pytest.raises(ValueError, match=r"^residuals: 1 rows name tasks that were not "
                                             r"fitted \('run' = \['zz'\]"):
            result.residuals(bad)
    with pytest.raises(ValueError, match=r"^predict: 1 rows name tasks"):
        post.predict(bad)                                  # predict's own is unchanged


def _library_laws() -> list:
    """Every law the library builds: the factories, the combinators, the recipes' laws."""
    import importlib

    from jaxfit.models.emergence import emergence, emergence_shift, relu_elbow
    from jaxfit.models.ladder_step1 import ladder_step1, ladder_step1_flops

    # the modules (jaxfit.recipes.flp is also the name of the function)
    flp, flp_m, hitchhiker, ladder = (importlib.import_module(f"jaxfit.recipes.{n}")
                                      for n in ("flp", "flp_m", "hitchhiker", "ladder"))
    m = jf.models
    return [m.kaplan("C"), m.power_law("C"), m.power_law("N", irreducible=False), m.linear(),
            m.sigmoid(), m.chinchilla(), m.broken_power_law(), ladder_step1(),
            ladder_step1_flops(), emergence_shift("power"), relu_elbow(increasing=True),
            emergence(fewshot_shift=True), flp_m.domain_loss(irreducible=True),
            *flp._laws(False, "sigmoid"), *flp._laws(True, "linear"),
            *ladder._laws("two_step"), *ladder._laws("single_step"),
            hitchhiker.hitchhiker_law(alpha=0.3),
            jf.share(jf.add(m.power_law("N", irreducible=False), m.linear()), "w0")]


def test_results_and_the_library_laws_pickle(line):
    """Results could not be pickled (multiprocessing, caching, a notebook's saved state):
    the laws they hold had closures as fn (``kaplan.<locals>.fn``, in every `flp`
    result; ``linear.<locals>.fn``, ...) and read-only mappings (``cannot pickle
    'mappingproxy' object``, every law). The library's laws are now partials of
    module-level functions, and a law pickles its mappings as dicts."""
    import pickle

    from numpyro.distributions import constraints

    rng = np.random.default_rng(0)
    for law in _library_laws():
        back = pickle.loads(pickle.dumps(law))
        p = {n: rng.uniform(0.3, 0.9) for n in law.param_names}
        x = {n: rng.uniform(1.5, 3.0, 4) for n in law.inputs}
        np.testing.assert_array_equal(back(p, x), law(p, x), err_msg=law.name)
        np.testing.assert_array_equal(back.log(p, x), law.log(p, x), err_msg=law.name)
        assert (back.name, back.spec, back.shared, dict(back.fixed), repr(back.params)) == (
            law.name, law.spec, law.shared, dict(law.fixed), repr(law.params)), law.name
        # the sampler tells constraints.positive and real by identity: they stay themselves
        kept = (constraints.positive, constraints.real)
        assert all(b.constraint is a.constraint for a, b in zip(law.params.values(),
                                                                back.params.values())
                   if a.constraint in kept), law.name
        with pytest.raises(TypeError, match="does not support item assignment"):  # read-only
            back.params["x"] = None
    _, _, res = line
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.summary(), res.summary())
    pd.testing.assert_frame_equal(back.predict(DATA), res.predict(DATA))
    draws = {n: res.values[:, j, None, None] + 0.01 * rng.standard_normal((1, 2, 20))
             for j, n in enumerate(res.law.param_names)}
    draws["sigma"] = np.full((1, 2, 20), 0.1)
    post = jf.Posterior(law=res.law, tasks=res.tasks, draws=draws, method="laplace",
                        likelihood=Likelihood("normal", "linear"), options=res.options)
    back = pickle.loads(pickle.dumps(post))
    pd.testing.assert_frame_equal(back.summary(), post.summary())


def test_r2_is_nan_where_the_targets_do_not_vary():
    """A task of one point (here the law has one free parameter) or of equal targets has
    no total sum of squares: its R2 is undefined, and was -inf ("the worst possible fit")
    from 1 - (a residual at rounding level) / 0."""
    law = jf.fix(jf.models.linear(), w1=0.0)
    df = pd.DataFrame({"L": [1.5, 2.0, 2.5, 3.0, 3.5], "acc": [0.7, 0.5, 0.5, 0.5, 0.5],
                       "run": ["one", "flat", "flat", "flat", "flat"]})
    res = _result(law, np.array([[0.5 + 1e-9], [0.7 - 1e-9]]), df=df, by="run")
    s = res.statistics()
    assert list(res.tasks) == ["flat", "one"] and list(s["n"]) == [4, 1]
    assert s["r2"].isna().all()
    assert "R2=nan" in res.report()
