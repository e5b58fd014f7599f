"""Exact fits end `converged`; degenerate designs are flagged with a named `DesignWarning`
(issue 16). The full noise-free campaign is benchmarks/exact_fits.py."""

import warnings

import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from exact_laws import LAWS, exact_tasks
from jaxfit.inference.starts import init_box, user_starts
from jaxfit.warnings import ConvergenceWarning, DesignWarning

CHIN = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)
# a subset of laws keeps the file fast; the benchmark runs every law with 32 tasks
FUZZ = ("chinchilla", "power_law", "broken_power_law", "sigmoid", "emergence")


def _loss(N, D):
    return CHIN["E"] + CHIN["A"] / N ** CHIN["alpha"] + CHIN["B"] / D ** CHIN["beta"]


@pytest.fixture(scope="module")
def exact_fits():
    out = {}
    for name in FUZZ:
        law, space, _ = LAWS[name]
        df, truth = exact_tasks(name, 8, seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[name] = (df, truth, jf.fit(law, df, y="y", by="task", space=space,
                                           restarts=32))
    return out


def test_noise_free_fits_converge_and_recover_the_truth(exact_fits):
    statuses, recovered, checked = [], 0, 0
    for name, (df, truth, res) in exact_fits.items():
        statuses += list(res.status)
        pred = res.predict(df)["prediction"].to_numpy()
        rel = pd.Series(np.abs(pred / df.y.to_numpy() - 1)).groupby(df.task.to_numpy()).max()
        exact = (rel < 1e-6).to_numpy()
        recovered += exact.sum()
        # identified (design check) + exact => the truth, within the design's 1e-2 of
        # each Param's init width (`jaxfit.inference.design.SINGULAR_RTOL`)
        lo, hi = init_box(res.law)
        names = list(res.law.param_names)
        for t in np.flatnonzero(exact & res.identified):
            du = (user_starts(res.law, res.values[t])[0]
                  - user_starts(res.law, truth[names].to_numpy()[t])[0]) / (hi - lo)
            assert np.max(np.abs(du)) < 0.02, (name, t, du)
            checked += 1
    converged = np.mean(np.asarray(statuses) == jf.Status.CONVERGED)
    assert converged >= 0.95, converged
    assert recovered >= 0.9 * len(statuses)
    assert checked >= 0.5 * len(statuses)


def test_unconverged_noise_free_fit_is_still_flagged():
    df, _ = exact_tasks("chinchilla", 1, seed=3)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = jf.fit(jf.models.chinchilla(), df, y="y", restarts=4, max_steps=3)
    assert res.status[0] == jf.Status.MAX_STEPS
    assert res.objective[0] > 1e-10


def test_zero_degrees_of_freedom_are_warned():
    rng = np.random.default_rng(0)
    N, D = np.geomspace(5e7, 1.6e10, 5), np.geomspace(5e9, 5e11, 5)[::-1]
    df = pd.DataFrame({"N": N, "D": D, "loss": _loss(N, D) * np.exp(0.01 * rng.normal(size=5))})
    with pytest.warns(DesignWarning, match=r"0 residual degrees of freedom .* 5 free param"):
        res = jf.fit(jf.models.chinchilla(), df, y="loss", restarts=16)
    assert res.dof[0] == 0 and not res.identified[0]
    assert res.to_frame()["design"].iloc[0] == "dof=0"


def test_broken_power_law_on_power_law_points_is_not_identified():
    rng = np.random.default_rng(1)
    x = np.geomspace(1e2, 1e8, 30)
    df = pd.DataFrame({"x": x, "y": 20 * x ** -0.3 * np.exp(0.01 * rng.normal(size=30))})
    with pytest.warns(DesignWarning, match="poorly identified: .*(f1|d1|c1)"):
        res = jf.fit(jf.models.broken_power_law(), df, y="y")
    assert not res.identified[0]
    assert set(res.design[0][0].params) & {"c1", "d1", "f1"}


@pytest.fixture(scope="module")
def equal_D():
    rng = np.random.default_rng(2)
    N, D = np.repeat(np.geomspace(5e7, 1.6e10, 8), 4), np.full(32, 1e11)
    return pd.DataFrame({"N": N, "D": D,
                         "loss": _loss(N, D) * np.exp(0.01 * rng.normal(size=32))})


def test_too_few_levels_of_an_input_are_named(equal_D):
    # the levels diagnosis needs the B term visible at the optimum; where the fit makes it
    # negligible (B / D^beta ~ 1e-8) the direction is reported as a trade-off instead
    with pytest.warns(DesignWarning, match=r"B and beta (are not identified: input 'D' has 1 "
                                           r"distinct level.*new levels of D|trade off)"):
        res = jf.fit(jf.models.chinchilla(), equal_D, y="loss")
    assert not res.identified[0]
    assert res.to_frame()["design"].iloc[0] in ("D: 1 level(s) for B,beta",
                                                "singular: B,beta")


def test_bootstrap_warns_about_the_design_and_its_resamples(equal_D):
    # The full-data fit with jf.fit's default restarts: the program that
    # test_too_few_levels_of_an_input_are_named compiled for this data (restarts=16 compiled
    # another, ~3 s of CPU); its design warning is the one asserted there.
    with pytest.warns(DesignWarning, match="bootstrap: the full-data fit: .*B and beta"):
        jf.bootstrap(jf.models.chinchilla(), equal_D, y="loss", n=50)
    # 5 points, 4 parameters: most resamples have <= 4 distinct points and interpolate
    law = jf.fix(jf.models.chinchilla(), E=1.69)
    N, D = np.geomspace(5e7, 1.6e10, 5), np.geomspace(5e9, 5e11, 5)[::-1]
    df = pd.DataFrame({"N": N, "D": D, "loss": _loss(N, D) * (1 + 0.01 * np.cos(N))})
    with pytest.warns(DesignWarning, match=r"of resamples have no more distinct points than "
                                           r"the 4 parameters.*noise scale ~0"):
        boot = jf.bootstrap(law, df, y="loss", n=200, restarts=16)
    # Resamples of 5 draws with replacement from the 5 points: 5 (1 - 0.8^5) = 3.3616
    # distinct points on average (sd 0.71, so 0.05 over 200), at most 4 distinct with
    # probability 1 - 5!/5^5 = 0.9616 (sd 0.014); measured 0.965. Exactly those refits
    # interpolate (RMS ~0).
    distinct = boot.stats["distinct_points"]
    assert abs(np.mean(distinct) - 3.3616) < 0.15, np.mean(distinct)
    few = distinct <= 4
    assert abs(boot.diagnostics["underdetermined_fraction"].iloc[0] - 0.9616) < 0.04
    assert np.mean(few) == boot.diagnostics["underdetermined_fraction"].iloc[0]
    assert np.mean((boot.stats["rms"] < 1e-6) == few) >= 0.98
    # ... while the predictive noise comes from the full-data fit (1 degree of freedom)
    assert np.all(boot.draws["sigma"] > 1e-4)


def test_well_posed_noisy_fit_has_no_design_warning():
    rng = np.random.default_rng(4)
    N = np.repeat(np.geomspace(5e7, 1.6e10, 8), 5)
    D = N * rng.uniform(20, 200, 40)
    df = pd.DataFrame({"N": N, "D": D, "loss": _loss(N, D) * np.exp(0.01 * rng.normal(size=40))})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DesignWarning)
        res = jf.fit(jf.models.chinchilla(), df, y="loss", restarts=16)
    assert res.identified[0] and res.dof[0] == 35 and res.design[0] == ()


def test_new_levels_stay_above_an_input_above_bound():
    """Check 3 moves an input to new levels to see whether the data identify the law. It
    stepped only positive inputs geometrically (above 0); an ``input_above`` bound (the
    emergence_shift log_power form's D > 1) was ignored, so levels near the bound moved
    below it, where the law is not defined. Now the step is geometric above the bound."""
    from jaxfit.inference.design import LEVEL_STEP, _new_levels

    law = jf.models.power_law("D").replace(input_above={"D": 1.0})
    D = np.array([[1.05, 2.0, 10.0, 1.0]])
    w = np.array([[1.0, 1.0, 1.0, 0.0]])                         # the last is padding
    down = _new_levels(law, {"D": D}, w, "D", -1.0)["D"]
    np.testing.assert_allclose(down[0, :3], 1.0 + (D[0, :3] - 1.0) * np.exp(-LEVEL_STEP))
    assert np.all(down[0, :3] > 1.0) and down[0, 3] == 1.0          # padding unchanged
    # a positive input without a further bound: geometric above 0, as before
    up = _new_levels(jf.models.power_law("D"), {"D": D}, w, "D", 1.0)["D"]
    np.testing.assert_allclose(up[0, :3], D[0, :3] * np.exp(LEVEL_STEP))
