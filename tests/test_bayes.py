"""Bayesian fits (`jaxfit.sample.sample`, `jaxfit.inference.bayes`, `jaxfit.posterior`)."""

import dataclasses
import re
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from synthetic import CHINCHILLA as LAW
from synthetic import FAR, SIGMOID, chinchilla_mean, chinchilla_tasks, sigmoid_mean, sigmoid_tasks
from synthetic import interval_covers

from jaxfit.sample import sample

#: Settings of the 100-task runs: a short warm-up suffices in whitened coordinates; r_hat
#: < 1.01 over 600 (task, parameter) pairs needs about 1,000 draws per chain (with 500,
#: the largest of the 600 r_hat was 1.006-1.012 depending on the seed).
NUTS = dict(chains=4, warmup=250, samples=1000, seed=0, likelihood="normal")


@pytest.fixture(scope="module")
def calibration():
    """100 well-posed synthetic Chinchilla tasks (60 points, 0.5% log noise: Epoch's
    Chinchilla residuals have an RMS of 0.7%), one NUTS call."""
    df, truth = chinchilla_tasks(100, 60, sigma=0.005, seed=7)
    post = sample(LAW, df, y="loss", by="task", warn=False, **NUTS)
    return df, truth, post


def test_nuts_calibration_100_tasks(calibration):
    """90% credible intervals of L at a held-out larger (N, D) cover the truth in 80-97%."""
    df, truth, post = calibration
    new = pd.DataFrame({"task": np.arange(100), **FAR})
    pred = post.predict(new, prob=0.9)
    true = chinchilla_mean(truth, new.N.to_numpy(), new.D.to_numpy())
    covered = interval_covers(pred, true)
    d = post.diagnostics
    print(f"NUTS 90% coverage at N={FAR['N']:g}, D={FAR['D']:g}: {covered.mean():.2f}; "
          f"max r_hat {d.r_hat.max():.4f}; divergences {int(d.divergences.sum())}; "
          f"leapfrog steps/iteration {d.steps_per_iter.mean():.1f} (warm-up "
          f"{d.warmup_steps_per_iter.mean():.1f}); timing {post.timing}")
    assert 0.80 <= covered.mean() <= 0.97
    assert d.r_hat.max() < 1.01
    assert d.divergences.sum() == 0
    # Whitened geometry: a handful of leapfrog steps per iteration (raw: ~25-480).
    assert d.steps_per_iter.max() < 16
    # The noise scale is recovered: 0.5% log-normal noise.
    sigma = post.params["sigma"]
    assert abs(np.median(sigma) - 0.005) < 0.0005
    # Predictive intervals (with noise) are wider than credible ones.
    assert np.all(pred.predictive_upper - pred.predictive_lower
                  > pred.credible_upper - pred.credible_lower)


def test_batched_equals_one_task_at_a_time(calibration):
    """The 100-task vectorized call gives the same posteriors as single-task calls (the
    first 25 tasks: 150 (task, parameter) comparisons, to keep the suite in its budget)."""
    df, truth, post = calibration
    names = list(LAW.param_names) + ["sigma"]
    ess = post.summary().ess_bulk                          # arviz, per (task, param)
    z_mean, sd_ratio = [], []
    for t, g in df[df["task"] < 25].groupby("task"):
        one = sample(LAW, g, y="loss", warn=False, **{**NUTS, "seed": 1 + t})
        for n in names:
            a, b = post.flat(n)[t], one.flat(n)[0]
            ess_b = float(az.ess(one.draws[n][0]))
            se = np.sqrt(a.var() / ess.loc[(t, n)] + b.var() / ess_b)   # MC standard error
            z_mean.append((a.mean() - b.mean()) / se)
            sd_ratio.append(a.std() / b.std())
    z_mean, sd_ratio = np.abs(np.array(z_mean)), np.array(sd_ratio)
    print(f"batched vs loop: |z| of mean differences: median {np.median(z_mean):.2f}, "
          f"max {z_mean.max():.2f}; sd ratios {sd_ratio.min():.2f}-{sd_ratio.max():.2f}")
    assert np.median(z_mean) < 1.0            # ~0.67 for N(0, 1) differences
    assert np.mean(z_mean > 3) < 0.02 and z_mean.max() < 5
    assert 0.8 < sd_ratio.min() and sd_ratio.max() < 1.25


def test_short_chains_are_continued_and_thinned(calibration, monkeypatch):
    """``sample(extend=)``: a task below the r_hat/ESS thresholds continues its chains
    from their last state (`bayes.continue_nuts`; adapted step size and mass matrix kept)
    and is thinned back to ``samples`` draws. Forced here on one task by a threshold no
    chain meets (r_hat <= 0.5), with the shapes of `test_batched_equals_one_task_at_a_time`
    (no new NUTS compile): the continued chain is the same chain, so its kept draws
    overlap the unextended run's every second draw exactly, and they go on past its end."""
    import jaxfit.posterior

    df, truth, post = calibration
    g = df[df["task"] == 0]
    base = sample(LAW, g, y="loss", warn=False, **{**NUTS, "seed": 1})
    assert "thinned" not in base.diagnostics            # every task met the thresholds
    monkeypatch.setattr(jaxfit.posterior, "RHAT_MAX", 0.5)
    ext = sample(LAW, g, y="loss", warn=False, start=base.fit, **{**NUTS, "seed": 1})
    S = NUTS["samples"]
    assert ext.diagnostics["thinned"].tolist() == [2]   # ESS >> 400: f = 2, the least
    for n in ext.names:
        np.testing.assert_array_equal(ext.draws[n][:, :, :S // 2], base.draws[n][:, :, 1::2])
        assert not np.isin(ext.draws[n][:, :, S // 2:], base.draws[n]).any()
        a, b = ext.flat(n)[0], base.flat(n)[0]
        assert abs(a.mean() - b.mean()) < 4 * b.std() / np.sqrt(400)
    assert ext.stats["diverging"].shape == base.stats["diverging"].shape
    # 1 turns it off: the same chains as the first run
    off = sample(LAW, g, y="loss", warn=False, start=base.fit, extend=1, **{**NUTS, "seed": 1})
    np.testing.assert_array_equal(off.draws["E"], base.draws["E"])


def test_inference_data_summary_and_netcdf(calibration, tmp_path):
    df, truth, post = calibration
    idata = post.idata
    assert set(idata.groups()) >= {"posterior", "sample_stats", "observed_data"}
    assert list(idata.posterior["alpha"].dims) == ["chain", "draw", "task"]
    assert idata.posterior.sizes["task"] == 100 and idata.posterior.sizes["chain"] == 4
    summary = az.summary(idata, var_names=["alpha", "E", "sigma"], round_to="none")
    assert len(summary) == 300 and summary["r_hat"].max() < 1.01
    np.testing.assert_allclose(summary["mean"].to_numpy()[:100], post.params["alpha"],
                               rtol=1e-6)
    path = tmp_path / "posterior.nc"
    # Not the pointwise groups: log_likelihood and posterior_predictive hold 100 tasks x
    # 4,000 draws x 60 points each, 25 s of compression to write (test_bayes_model.py
    # checks their contents with az.loo on one task).
    kept = ["posterior", "sample_stats", "observed_data"]
    idata.to_netcdf(str(path), groups=kept)
    back = az.from_netcdf(str(path))
    assert sorted(back.groups()) == sorted(kept)
    np.testing.assert_array_equal(back.posterior["beta"].values, idata.posterior["beta"].values)
    np.testing.assert_array_equal(back.posterior["task"].values, np.arange(100))
    np.testing.assert_array_equal(back.sample_stats["diverging"].values,
                                  idata.sample_stats["diverging"].values)
    # Posterior's own summary agrees with arviz's r_hat.
    ours = post.summary(prob=0.9).loc[(slice(None), "alpha"), "r_hat"].to_numpy()
    np.testing.assert_allclose(ours, summary["r_hat"].to_numpy()[:100], atol=0.01)


def test_predict_frame_shapes_and_errors(calibration):
    df, truth, post = calibration
    new = pd.DataFrame({"task": [4, 9], "N": [1e9, 3e10], "D": [1e11, 3e12]}, index=["a", "b"])
    pred = post.predict(new, prob=0.5)
    assert list(pred.columns) == ["task", "N", "D", "mean", "median", "sd", "credible_lower",
                                  "credible_upper", "predictive_lower", "predictive_upper"]
    assert list(pred.index) == ["a", "b"] and pred.attrs["prob"] == 0.5
    # The interval is wider for prob=0.9 and farther out.
    wide = post.predict(new, prob=0.9)
    assert np.all(wide.credible_upper - wide.credible_lower
                  > pred.credible_upper - pred.credible_lower)
    long = post.predict(new[["N", "D"]])
    assert long.shape == (200, 9) and long.index.names == ["task", "row"]
    np.testing.assert_allclose(long.loc[(4, "a"), "mean"], pred.loc["a", "mean"], rtol=1e-12)
    with pytest.raises(ValueError, match="missing column"):
        post.predict(new[["N"]])
    with pytest.raises(ValueError, match="not fitted"):
        post.predict(new.assign(task=[4, 1000]))
    with pytest.raises(ValueError, match="prob"):
        post.predict(new, prob=1.5)


def test_two_step_chain_coverage(calibration):
    """(N, D) -> task loss -> accuracy, each step fitted on its own data (100 repetitions).

    Step 1 is the calibration posterior (Chinchilla-form task loss); step 2 a sigmoid from
    loss to accuracy (Bhagia et al. 2024, eq. 2) fitted on separate (loss, accuracy) pairs
    spanning both plateaus (loss 1.5-4.5), with 0.01 normal noise. The chained 90% interval
    at a larger (N, D) covers the true accuracy in 80-97% of repetitions and is wider than
    step 2's interval at step 1's point prediction.
    """
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    df1, truth1, step1 = calibration
    df2, truth2 = sigmoid_tasks(100, 60, sigma=0.01, seed=8, loss_range=(1.5, 4.5))
    step2 = sample(SIGMOID, df2, y="acc", by="task", space="linear", warn=False,
                   chains=4, warmup=200, samples=250)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"task": np.arange(100), **FAR})
    pred = predict_chain(law, [step1, step2], new, prob=0.9)
    L_true = chinchilla_mean(truth1, new.N.to_numpy(), new.D.to_numpy())
    acc_true = sigmoid_mean(truth2, L_true)
    covered = interval_covers(pred, acc_true)
    L_hat = step1.predict(new)["mean"].to_numpy()
    alone = step2.predict(pd.DataFrame({"task": np.arange(100), "L": L_hat}), prob=0.9)
    ratio = ((pred.credible_upper - pred.credible_lower)
             / (alone.credible_upper - alone.credible_lower)).to_numpy()
    d2 = step2.diagnostics
    print(f"two-step chain: 90% coverage {covered.mean():.2f}; width chained/step 2 alone: "
          f"median {np.median(ratio):.2f}, min {ratio.min():.2f}; step 2 r_hat max "
          f"{d2.r_hat.max():.4f}, divergences {int(d2.divergences.sum())}, steps/iter "
          f"{d2.steps_per_iter.mean():.1f}; step 2 timing {step2.timing}")
    assert 0.80 <= covered.mean() <= 0.97
    # Wider, up to the Monte Carlo error of the interval ends (~2% of the width): where
    # step 2's sigmoid is flat at step 1's prediction, step 1 adds nothing and the ratio is
    # 1 +- that error (measured: the lowest ratios 0.988-0.999, from 11 of 100 tasks).
    assert np.median(ratio) > 1.03 and ratio.min() > 0.98, np.sort(ratio)[:10]
    assert np.all(pred.predictive_upper <= 1.0) and np.all(pred.predictive_lower >= 0.0)
    with pytest.raises(ValueError, match="each parameter must come from one step"):
        predict_chain(law, [step1, step1, step2], new)
    with pytest.raises(ValueError, match="in no step"):
        predict_chain(law, [step2], new)


def _gaussian_draws(law, tasks, mean, sd, sigma, space, n=400, seed=0, method="laplace"):
    """A `jaxfit.Posterior` with independent Gaussian draws per parameter (no fit);
    ``sigma``: one value, or [n] draws of the noise scale (every task)."""
    import jaxfit as jf
    from jaxfit.inference.bayes import Likelihood

    rng = np.random.default_rng(seed)
    T = len(tasks)
    draws = {k: (m + s * rng.standard_normal((T, 1, n))) for k, m, s in
             zip(law.param_names, mean, sd)}
    draws["sigma"] = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (T, 1, n)).copy()
    return jf.Posterior(law=law, tasks=pd.Index(tasks, name="task"), draws=draws,
                        likelihood=Likelihood("normal", space), method=method,
                        options={"by": "task"})


def test_chain_refuses_steps_given_outermost_first():
    """`predict_chain` takes the steps innermost first and the last one's noise is the
    target's: steps given the other way round used step 1's log-loss noise for the
    accuracy, a silently wrong predictive interval. Now a ValueError says the order."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    # A, B, E (LAW.param_names order) = 400, 410, 1.7: L ~ 2.06, where the sigmoid
    # (L0 = 2) is steep. Before, A = 1.7, B = 400, E = 410 put L at ~410, where the sigmoid
    # is flat at a + b, so step 1's draws (paired or not) could not move the check below.
    s1 = _gaussian_draws(LAW, ["a"], [400.0, 410.0, 1.7, 0.34, 0.28], [20, 20, 0.02, .01, .01],
                         0.02, "log")
    s2 = _gaussian_draws(SIGMOID, ["a"], [-0.7, 4.0, 2.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"task": ["a"], "N": [7e9], "D": [1e12]})
    ok = predict_chain(law, [s1, s2], new, seed=3)
    # the documented pairing (jaxfit/chain.py): joint draw d is draw d of each step after
    # an independent permutation per step, from numpy's generator of the seed; in numpy
    rng = np.random.default_rng(3)
    p1, p2 = rng.permutation(s1.n_draws), rng.permutation(s2.n_draws)
    L = np.asarray(LAW({k: s1.flat(k)[0][p1] for k in LAW.param_names},
                       {"N": np.float64(7e9), "D": np.float64(1e12)}))
    # the numpy rebuild is step 1's own prediction (the library's median of the mean, which
    # the pairing does not change), and it sits on the sigmoid's slope, where the checks
    # below can see step 1's draws
    step1 = s1.predict(new, warn=False)["median"].iloc[0]
    np.testing.assert_allclose(np.median(L), step1, rtol=1e-12)
    assert 1.9 < step1 < 2.2
    q = {k: s2.flat(k)[0][p2] for k in SIGMOID.param_names}
    acc = q["a"] / (1 + np.exp(-q["k"] * (L - q["L0"]))) + q["b"]
    np.testing.assert_allclose(ok.loc[0, ["median", "credible_lower", "credible_upper"]]
                               .to_numpy(float), np.quantile(acc, [0.5, 0.05, 0.95]),
                               rtol=1e-9)
    # step 1's uncertainty is in the interval: it is wider than step 2's alone at L's median
    alone = s2.predict(pd.DataFrame({"task": ["a"], "L": [np.median(L)]}))
    assert (ok.credible_upper - ok.credible_lower)[0] > 1.5 * (
        alone.credible_upper - alone.credible_lower)[0]
    with pytest.raises(ValueError, match=r"step 0 \(law 'sigmoid'\) reads \['L'\].*"
                       "innermost first"):
        predict_chain(law, [s2, s1], new)
    # a row naming a task one step lacks: the error names the step (it said "predict:")
    s2b = _gaussian_draws(SIGMOID, ["b"], [-0.7, 4.0, 1.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                          0.01, "linear", seed=1)
    with pytest.raises(ValueError, match=r"^predict_chain: step 1 \(law 'sigmoid'\): 1 rows "
                       r"name tasks that were not fitted"):
        predict_chain(law, [s1, s2b], new)


def test_chain_and_steps_agree_on_fixed_parameters():
    """A chain composed with jf.fix(sigmoid, b=0.5) over a step 2 that fitted b (~1.0)
    silently replaced step 2's b draws by 0.5 (median accuracy -0.20 instead of 0.30).
    Now a ValueError names the parameter and the fix; a step fitted with b fixed feeds
    its value to a chain of the plain laws (before: "parameters ['b'] ... in no step")."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a"], [1.7, 400.0, 410.0, 0.34, 0.28], [0.02, 20, 20, .01, .01],
                         0.02, "log")
    s2 = _gaussian_draws(SIGMOID, ["a"], [-0.7, 4.0, 1.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    new = pd.DataFrame({"task": ["a"], "N": [7e9], "D": [1e12]})
    plain = jf.compose(SIGMOID, LAW, into="L")
    ok = predict_chain(plain, [s1, s2], new)["median"].iloc[0]
    with pytest.raises(ValueError, match=r"step 1 \(law 'sigmoid'\) fitted 'b', but law .* "
                                         r"holds it fixed at 0\.5.*jf\.fix\(\.\.\., b=0\.5\)"):
        predict_chain(jf.compose(jf.fix(SIGMOID, b=0.5), LAW, into="L"), [s1, s2], new)
    held = jf.fix(SIGMOID, b=1.0)
    s2f = _gaussian_draws(held, ["a"], [-0.7, 4.0, 1.0], [0.02, 0.1, 0.02], 0.01, "linear",
                          seed=1)
    got = predict_chain(plain, [s1, s2f], new)["median"].iloc[0]
    assert got == pytest.approx(ok, abs=0.01)          # b = 1.0 held, b ~ 1.0 drawn
    # exactly: each draw's loss through its sigmoid with b = 1.0, in numpy
    L = np.asarray(LAW({k: s1.flat(k)[0] for k in LAW.param_names},
                       {"N": np.float64(7e9), "D": np.float64(1e12)}))
    q = {k: s2f.flat(k)[0] for k in ("a", "k", "L0")}
    assert got == pytest.approx(np.median(q["a"] / (1 + np.exp(-q["k"] * (L - q["L0"]))) + 1.0),
                                rel=1e-9)
    with pytest.raises(ValueError, match=r"fitted with b fixed at 1, but law .* holds it at 0\.5"):
        predict_chain(jf.compose(jf.fix(SIGMOID, b=0.5), LAW, into="L"), [s1, s2f], new)


def test_predict_draws_and_predict_chain_refuse_a_seed_as_predict_does():
    """`Posterior.predict` refuses a seed that is not a non-negative integer, naming it;
    `Posterior.predict_draws` took -1 and raised JAX's "PRNG key seed must be an integer;
    got JitTracer(~float64[])" for 1.5, and `jaxfit.predict_chain` raised numpy's "expected
    non-negative integer" (no argument named) and "SeedSequence expects int or sequence of
    ints for entropy not 1.5"."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a"], [1.7, 400.0, 410.0, 0.34, 0.28], [0.02, 20, 20, .01, .01],
                         0.02, "log")
    s2 = _gaussian_draws(SIGMOID, ["a"], [-0.7, 4.0, 1.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"N": [7e9], "D": [1e12]})
    for seed in (-1, 1.5, "0"):
        pattern = rf"seed={re.escape(repr(seed))} must be a non-negative integer \(e\.g\. seed=0\)"
        with pytest.raises(ValueError, match=pattern):
            s1.predict(new, seed=seed)
        with pytest.raises(ValueError, match=pattern):
            s1.predict_draws(new, seed=seed)
        with pytest.raises(ValueError, match=pattern):
            predict_chain(law, [s1, s2], new, seed=seed)
    _, mean, _ = s1.predict_draws(new, seed=np.int64(3))      # numpy integers are seeds
    assert mean.shape == (1, 400)
    assert predict_chain(law, [s1, s2], new, seed=np.int64(3)).shape == (1, 9)


def test_chain_without_the_task_column_fans_out_as_predict_does():
    """README: every predict, jf.predict_chain included, gives every task for every row
    when the rows name no task of a many-task fit. predict_chain raised 'step 1 has 2
    tasks; give df its by column(s)'. Now (task, row) rows whose law-mean draws are those
    of the rows naming each task."""
    import dataclasses

    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a"], [1.7, 400.0, 410.0, 0.34, 0.28], [0.02, 20, 20, .01, .01],
                         0.02, "log")
    s1 = dataclasses.replace(s1, options={"by": None})       # one task, fitted without by
    s2 = _gaussian_draws(SIGMOID, ["a", "b"], [-0.7, 4.0, 1.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"N": [7e9, 2e10], "D": [1e12, 1e12]}, index=["p", "q"])
    before = new.copy()
    fan = predict_chain(law, [s1, s2], new)
    pd.testing.assert_frame_equal(new, before)
    assert fan.index.tolist() == [("a", "p"), ("a", "q"), ("b", "p"), ("b", "q")]
    assert fan.index.names == ["task", "row"] and fan["N"].tolist() == [7e9, 2e10] * 2
    cols = ["median", "credible_lower", "credible_upper", "predictive_lower",
            "predictive_upper"]
    for t in ("a", "b"):
        one = predict_chain(law, [s1, s2], new.assign(task=t))
        np.testing.assert_allclose(fan.loc[t, cols], one[cols], rtol=1e-12)
        # a row's noise is its own (`row_streams`): alone, its predictive bounds are the
        # same (before: every row drew from one key, so they moved with the other rows)
        alone = predict_chain(law, [s1, s2], new.iloc[[1]].assign(task=t))
        np.testing.assert_allclose(alone[cols].iloc[0], one[cols].iloc[1], rtol=1e-12)
    other = predict_chain(law, [s1, s2], new.assign(task="a"), seed=1)
    assert not np.allclose(other["predictive_lower"], fan.loc["a", "predictive_lower"])


def test_chain_of_two_many_task_steps_by_different_columns_needs_one_of_them():
    """Step 1 per model family ("fam"), step 2 per downstream task ("task"), rows naming
    neither: one step's tasks are fanned out, the other's cannot be. Before: IndexError
    'index 164 is out of bounds for axis 1 with size 3' from inside chain_draws (the
    unnamed step's draws were indexed with None). Now a ValueError names the step, its
    by column and the fix; a row naming one of the two columns fans out the other."""
    import dataclasses

    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a", "b"], [1.7, 400.0, 410.0, 0.34, 0.28],
                         [0.02, 20, 20, .01, .01], 0.02, "log")
    s1 = dataclasses.replace(s1, tasks=s1.tasks.rename("fam"), options={"by": "fam"})
    s2 = _gaussian_draws(SIGMOID, ["x", "y", "z"], [-0.7, 4.0, 1.0, 1.0],
                         [0.02, 0.1, 0.02, 0.01], 0.01, "linear", seed=1)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"N": [7e9, 2e10], "D": [1e12, 1e12]})
    with pytest.raises(ValueError, match=re.escape(
            "predict_chain: step 1 (law 'sigmoid') has 3 tasks (by 'task') and df has no "
            "column ['task'] naming each row's task; every task is given for every row of "
            "one step only (step 0's, by 'fam'). Fix: add the column, e.g. "
            "df.assign(task='x')")):
        predict_chain(law, [s1, s2], new)
    fan = predict_chain(law, [s1, s2], new.assign(task="x"))
    assert fan.index.names == ["fam", "row"] and len(fan) == 4


def test_chain_fanning_out_a_task_the_other_step_lacks_says_so():
    """Rows naming no task fan out over step 0's tasks; a task of step 0 that step 1 did
    not fit was refused as "step 1 (law 'sigmoid'): 1 rows name tasks that were not
    fitted ('task' = ['c'])" though the user's rows name no task at all, and with
    mismatched labels "3 rows name tasks" of a 1-row frame. Now the error says the labels
    come from step 0's tasks, names the tasks step 1 lacks, and gives the fix."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a", "b", "c"], [400.0, 410.0, 1.7, 0.34, 0.28],
                         [20, 20, 0.02, .01, .01], 0.02, "log")
    s2 = _gaussian_draws(SIGMOID, ["a", "b"], [-0.7, 4.0, 2.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    law = jf.compose(SIGMOID, LAW, into="L")
    new = pd.DataFrame({"N": [7e9], "D": [1e12]})
    before = new.copy()
    with pytest.raises(ValueError, match=re.escape(
            "predict_chain: df has no column ['task'] naming each row's task, so every "
            "task of step 0 (law 'chinchilla') is predicted at every row, but step 1 (law "
            "'sigmoid') did not fit task(s) ['c'] (its tasks: ['a', 'b']). Fix: name each "
            "row's task in a column 'task' with tasks every step fitted, e.g. "
            "df.assign(task='a').")):
        predict_chain(law, [s1, s2], new)
    pd.testing.assert_frame_equal(new, before)
    # no task in common: the labels differ between the steps
    s2u = _gaussian_draws(SIGMOID, ["A", "B"], [-0.7, 4.0, 2.0, 1.0],
                          [0.02, 0.1, 0.02, 0.01], 0.01, "linear", seed=1)
    with pytest.raises(ValueError, match=re.escape(
            "did not fit task(s) ['a', 'b', 'c'] (its tasks: ['A', 'B']). Fix: the steps "
            "share no task label: fit both steps with the same labels in 'task'.")):
        predict_chain(law, [s1, s2u], new)
    # rows naming their task: unchanged, and a common task predicts
    assert predict_chain(law, [s1, s2], new.assign(task="a")).shape == (1, 10)


def test_chain_reads_inputs_as_the_steps_were_fitted():
    """A step fitted with x={"N": "params", "D": "tokens"} predicts from a frame of those
    columns (`Posterior.predict` maps its inputs as in the fit); `predict_chain` ignored
    the steps' mappings and refused that frame ("missing column(s) ['N', 'D'] ... Add them
    or map them with x="). Now an input without a column of its own name is read as the
    step that takes it was fitted; a frame naming the inputs reads them as before, and an
    explicit x= still wins."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    s1 = _gaussian_draws(LAW, ["a"], [400.0, 410.0, 1.7, 0.34, 0.28], [20, 20, 0.02, .01, .01],
                         0.02, "log")
    s2 = _gaussian_draws(SIGMOID, ["a"], [-0.7, 4.0, 2.0, 1.0], [0.02, 0.1, 0.02, 0.01],
                         0.01, "linear", seed=1)
    mapped = dataclasses.replace(s1, options={"by": "task",
                                              "x": {"N": "params", "D": "tokens"}})
    law = jf.compose(SIGMOID, LAW, into="L")
    plain = pd.DataFrame({"task": ["a"], "N": [7e9], "D": [1e12]})
    theirs = plain.rename(columns={"N": "params", "D": "tokens"})
    before = theirs.copy()
    cols = ["median", "credible_lower", "credible_upper", "predictive_lower",
            "predictive_upper"]
    want = predict_chain(law, [s1, s2], plain)[cols]
    got = predict_chain(law, [mapped, s2], theirs)
    pd.testing.assert_frame_equal(got[cols], want)
    assert list(got.columns[:3]) == ["task", "params", "tokens"]
    pd.testing.assert_frame_equal(theirs, before)
    # the same frame as the step's own predict takes; the inputs' own names as before
    assert mapped.predict(theirs).shape == (1, 10)
    pd.testing.assert_frame_equal(predict_chain(law, [mapped, s2], plain)[cols], want)
    # an explicit x= replaces the fit's mapping
    with pytest.raises(ValueError, match=r"missing column\(s\) \['N'\]"):
        predict_chain(law, [mapped, s2], theirs, x={"D": "tokens"})


def test_a_posterior_of_a_fixed_law_lists_the_fixed_values():
    """As `FitResult.report` and its repr do; before, a posterior of ``jf.fix(law,
    alpha=0.2)`` showed the formula with alpha and no value for it anywhere."""
    import jaxfit as jf

    law = jf.fix(SIGMOID, b=0.9)
    post = _gaussian_draws(law, ["a"], [-0.7, 4.0, 1.0], [0.02, 0.1, 0.02], 0.01, "linear")
    assert "\n    fixed: b=0.9\n" in post.report()
    assert "b=0.9 (fixed)" in repr(post) and "fixed: b=0.9" in post._repr_html_()


def test_a_row_where_draws_of_the_mean_are_not_positive_is_named_not_silent_nan():
    """In log space a new observation needs a positive mean: where some draws of the
    law's mean are <= 0 (a linear law beyond the fitted losses, the error law of Gadre et
    al. below its data), every predictive draw there is NaN and so are both predictive
    bounds. Before: returned without a word (measured: 19 of 1000 bootstrap draws of the
    error law in tests/test_padding.py at L = 2.5, 0.2 below its data, made that row's
    predictive interval NaN). Now a FitWarning names the rows, the draws and why, and the
    other rows and the credible bounds are unchanged."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain

    lin = jf.models.linear("L")
    post = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.05, 0.02], 0.02, "log")
    new = pd.DataFrame({"L": [2.0, 3.9]}, index=["in", "out"])
    mean = post.flat("w0")[0] + post.flat("w1")[0] * 3.9
    k = int((mean <= 0).sum())
    assert 0 < k < 400
    with pytest.warns(jf.warnings.FitWarning, match=re.escape(
            f"predict: 1 of 2 row(s) have no predictive interval (rows ['out']): in up to {k} "
            "of 400 draws the law's mean is <= 0")):
        got = post.predict(new)
    # the other row is as predicted alone (no warning), its credible bounds the draws'
    # quantiles (before: only checked finite)
    assert np.isfinite(got.loc["in"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone = post.predict(new.loc[["in"]])
    pd.testing.assert_series_equal(got.loc["in"], alone.loc["in"])
    mean_in = post.flat("w0")[0] + post.flat("w1")[0] * 2.0
    np.testing.assert_allclose(got.loc["in", ["credible_lower", "credible_upper"]],
                               np.quantile(mean_in, [0.05, 0.95]), rtol=1e-12)
    assert got.loc["out", ["predictive_lower", "predictive_upper"]].isna().all()
    np.testing.assert_allclose(got.loc["out", ["credible_lower", "credible_upper"]],
                               np.quantile(mean, [0.05, 0.95]), rtol=1e-12)
    # no noise scale (a bootstrap of a task with as many points as parameters): that reason
    no_dof = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.05, 0.02], np.nan, "log",
                             method="bootstrap")
    with pytest.warns(jf.warnings.FitWarning, match=r"rows \['in'\]\): in up to 400 of 400 "
                                                    r"draws the noise scale is not finite"):
        assert no_dof.predict(new.iloc[:1])["predictive_lower"].isna().all()
    # the chain (N, D) -> L -> w0 + w1 L, its last step in log space: the same warning
    s1 = _gaussian_draws(LAW, ["a"], [1.7, 400.0, 410.0, 0.34, 0.28], [0.02, 20, 20, .01, .01],
                         0.02, "log")
    s2 = _gaussian_draws(lin, ["a"], [0.5, -0.25], [0.05, 0.02], 0.02, "log", seed=1)
    with pytest.warns(jf.warnings.FitWarning, match=r"^predict_chain: 1 of 1 row\(s\) have no "
                                                    r"predictive interval \(rows \[0\]\)"):
        predict_chain(jf.compose(lin, LAW, into="L"), [s1, s2],
                      pd.DataFrame({"N": [7e9], "D": [1e12]}))


def test_a_non_finite_noise_scale_names_the_posterior_methods_cause():
    """Predictive draws that are not finite where the law's mean is: the warning said "(a
    bootstrap of a task with no more points than parameters has no residual degrees of
    freedom)" for every method. A Laplace posterior gets there when its Gaussian of log
    sigma is too wide (measured: `jf.sample(method="laplace", likelihood="studentt",
    nu=0.3)` of an 8-point power law drew sigma = inf in 2,004 of 4,000 draws; here half
    of the draws are inf, as there); NUTS/SVI where their sigma draws are unbounded. Each
    now names its own cause and fix, `predict_chain` the last step's (whose noise the
    draws carry), and the command line reads them in its flags."""
    import jaxfit as jf
    from jaxfit.chain import predict_chain
    from jaxfit.cli import _cli_words

    lin = jf.models.linear("L")
    sigma = np.where(np.arange(400) % 2 == 0, np.inf, 0.02)     # exp(log sigma) overflowed
    new = pd.DataFrame({"L": [2.0]})
    lap = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], sigma, "log")
    with pytest.warns(jf.warnings.FitWarning) as rec:
        got = lap.predict(new)
    text = str(rec[0].message)
    assert "bootstrap" not in text, text
    assert re.search(r"in up to \d+ of 400 draws the noise scale sigma is not finite, or so "
                     r"large that a new observation exp\(log mean \+ noise\) overflows: the "
                     r"Laplace Gaussian of log sigma is too wide for the data", text), text
    assert text.endswith("Fix: use method='nuts' (the default), add data, or give sigma an "
                         "informative prior (priors={'sigma': ...})."), text
    assert got[["predictive_lower", "predictive_upper"]].isna().any(axis=None)
    # the chain: the last step's method names the cause
    s1 = _gaussian_draws(LAW, ["a"], [400.0, 410.0, 1.7, 0.34, 0.28], [20, 20, 0.02, .01, .01],
                         0.02, "log", method="bootstrap")              # L near 2.06
    s2 = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], sigma, "log", seed=1)
    with pytest.warns(jf.warnings.FitWarning, match=r"^predict_chain: .* the Laplace "
                                                    r"Gaussian of log sigma is too wide"):
        predict_chain(jf.compose(lin, LAW, into="L"), [s1, s2],
                      pd.DataFrame({"N": [7e9], "D": [1e12]}))
    # NUTS in linear space: no overflow, no Student-t tail; a bootstrap keeps its cause
    nuts = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], sigma, "linear",
                           method="nuts")
    with pytest.warns(jf.warnings.FitWarning, match=re.escape(
            "the noise scale sigma is not finite: nuts's draws of sigma are not bounded by "
            "the data and prior (a diverging chain or guide, a wide prior on sigma: see "
            "Posterior.diagnostics), so predictive_lower/upper are not finite")) as rec:
        nuts.predict(new)
    assert str(rec[0].message).endswith("add data, or give sigma an informative prior "
                                        "(priors={'sigma': ...}).")
    from jaxfit.posterior import noise_cause

    assert noise_cause("svi", "log")[1].endswith(", or with likelihood='studentt' a larger nu")
    assert noise_cause("bootstrap", "log")[0] == (
        "the noise scale is not finite (a bootstrap of a task with no more points than "
        "parameters has no residual degrees of freedom)")
    # jaxfit predict (of a saved posterior) prints it with the command line's flags
    cli = _cli_words(text)
    assert "sample again with --method nuts (the default)" in cli and "method='nuts'" not in cli
    assert ": see the diagnostics table jaxfit sample prints)" in cli


def test_a_few_infinite_draws_beyond_finite_bounds_are_not_called_nan():
    """A row with a few infinite predictive draws (2 of 400 sigma draws overflowed) keeps
    finite predictive bounds: the infinite draws lie beyond them. The warning said "so
    predictive_lower/upper are NaN" of it all the same (seen beside bounds of 0.000242 and
    3961.89 from `jaxfit predict`); now it says the bounds are finite and why some draws
    are not, and a row whose bounds are not finite still gets the no-interval warning."""
    import jaxfit as jf

    lin = jf.models.linear("L")
    sigma = np.where(np.arange(400) < 2, np.inf, 0.02)
    lap = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], sigma, "log")
    new = pd.DataFrame({"L": [2.0, 4.5]}, index=["in", "below0"])    # mean <= 0 at 4.5
    with pytest.warns(jf.warnings.FitWarning) as rec:
        got = lap.predict(new)
    texts = [str(r.message) for r in rec]
    assert len(texts) == 3 and all(r.filename == __file__ for r in rec), texts
    # and the infinite draws fail the diagnostics: said at predict too (since session 28)
    assert rec[2].category is jf.warnings.DiagnosticWarning
    assert texts[2].startswith("predict: 1 task(s) ['a'] of this posterior (laplace) failed "
                               "their diagnostics: draws with a non-finite value"), texts[2]
    # (one of the two infinite sigmas draws exp(+inf), the other exp(-inf) = 0)
    assert texts[0].startswith("predict: 1 of 2 row(s) have infinite predictive draws (rows "
                               "['in']): in up to 1 of 400 draws the noise scale sigma is not "
                               "finite"), texts[0]
    assert "Their predictive bounds are finite (the infinite draws lie beyond them)" in texts[0]
    assert texts[1].startswith("predict: 1 of 2 row(s) have no predictive interval (rows "
                               "['below0'])"), texts[1]
    assert np.isfinite(got.loc["in", ["predictive_lower", "predictive_upper"]]).all()
    assert got.loc["below0", ["predictive_lower", "predictive_upper"]].isna().all()
    # the bounds are the quantiles of the draws as they are: infinite draws above the top
    _, _, pred = lap.predict_draws(new.loc[["in"]])
    lo, hi = np.quantile(pred[0], [0.05, 0.95])
    assert got.loc["in", "predictive_lower"] == lo and got.loc["in", "predictive_upper"] == hi


def test_posterior_summary_lists_fixed_parameters_as_fit_summary_does():
    """`FitResult.summary` lists a parameter held by ``jf.fix`` (kind "fixed", its value
    as the estimate); `Posterior.summary` had no row for it. Now it has one per task, after
    the drawn ones: the value as mean and median, NaN elsewhere."""
    import jaxfit as jf

    law = jf.fix(SIGMOID, b=0.9)
    post = _gaussian_draws(law, ["a", "c"], [-0.7, 4.0, 1.0], [0.02, 0.1, 0.02], 0.01,
                           "linear")
    s = post.summary(prob=0.9)
    # task-major, each task's fixed rows after its drawn ones (as FitResult.summary)
    assert s.index.get_level_values("param").tolist() == (
        [*law.param_names, "sigma", "b"] * 2)
    assert s["kind"].tolist() == (["free"] * 4 + ["fixed"]) * 2
    for t in ("a", "c"):
        row = s.loc[(t, "b")]
        assert row["mean"] == 0.9 and row["median"] == 0.9
        assert row[["sd", "lower", "upper"]].isna().all()
    assert s.loc[("c", "a"), "mean"] == pytest.approx(post.flat("a")[1].mean(), rel=1e-12)
    assert re.search(r"\n  b +0.9 +NaN +0.9 +NaN +NaN +fixed", post.report())
    assert post.interval().loc[("a", "b"), "kind"] == "fixed"
    # `jaxfit sample --json` lists it too (it had the drawn parameters only)
    from jaxfit.cli import _posterior_doc

    doc = _posterior_doc(post, "sigmoid", 0.9)
    assert [list(t["params"]) for t in doc["tasks"]] == [["a", "k", "L0", "sigma", "b"]] * 2
    assert doc["tasks"][1]["params"]["b"]["mean"] == 0.9
    assert doc["tasks"][1]["params"]["b"]["kind"] == "fixed"
    import json
    from importlib import resources

    schema = json.loads(resources.files("jaxfit.schema").joinpath("posterior.json").read_text())
    kinds = json.dumps(schema).split('"kind": {"enum": ')[1].split("]")[0] + "]"
    assert {p["kind"] for t in doc["tasks"] for p in t["params"].values()} <= set(
        json.loads(kinds))


def test_a_posterior_repr_shows_the_same_sd_as_its_summary():
    """The repr showed each parameter's sd with ddof=0 while `summary()`, `predict()`
    and `jaxfit.optimal` use ddof=1: two draws 0 and 2 read "sd 1" in the repr and
    1.414 in the summary. Now both say 1.4."""
    import jaxfit as jf
    from jaxfit.inference.bayes import Likelihood

    draws = {k: np.full((1, 1, 2), v) for k, v in zip(SIGMOID.param_names, [-0.7, 4.0, 1.0, 1.0])}
    draws["a"] = np.array([[[0.0, 2.0]]])
    draws["sigma"] = np.full((1, 1, 2), 0.01)
    post = jf.Posterior(law=SIGMOID, tasks=pd.Index(["t"], name="task"), draws=draws,
                        likelihood=Likelihood("normal", "linear"), method="laplace",
                        options={"by": "task"})
    sd = post.summary(diagnostics=False)["sd"].xs("a", level="param").iloc[0]
    assert sd == pytest.approx(np.sqrt(2.0))
    assert "a=1 (sd 1.4)" in repr(post)


def test_draws_that_are_not_finite_fail_the_diagnostics():
    """A posterior whose draws hold NaN or inf passed `Posterior.diagnostics` as ok, and
    `jf.sample` said nothing. Measured: ``jf.sample(power_law("C"), df, method="svi")`` on
    9 points over half a decade of C (seed 2 of rng.normal(0, 0.02) noise): the ELBO was
    NaN from step 12, every draw of every parameter NaN, ``ok`` True, no warning, and
    `predict` NaN with "check the law at those inputs". The command line already exited 1
    on non-finite draws; now the Python diagnostics say so (``nonfinite_fraction``)."""
    import jaxfit as jf

    lin = jf.models.linear("L")
    svi = _gaussian_draws(lin, ["a", "b"], [1.0, -0.25], [0.01, 0.005], 0.02, "log",
                          method="svi")
    svi.draws["sigma"][0] = np.nan                      # task "a": a guide that diverged
    lap = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], 0.02, "log")
    lap.draws[lin.param_names[0]][0, 0, :3] = np.inf    # 3 of 400 draws overflowed
    d = svi.diagnostics
    assert d["nonfinite_fraction"].tolist() == [1.0, 0.0]
    assert d["ok"].tolist() == [False, True]
    with pytest.warns(jf.warnings.DiagnosticWarning,
                      match=r"draws with a non-finite value \(NaN or inf\) in 1 task\(s\) "
                            r"\(up to 100% of the draws"):
        assert not svi.warn()
    assert lap.diagnostics["nonfinite_fraction"].iloc[0] == pytest.approx(3 / 400)
    assert not lap.diagnostics["ok"].iloc[0]
    # a bootstrap's NaN sigma (no residual degrees of freedom) is the points check's
    boot = _gaussian_draws(lin, ["a"], [1.0, -0.25], [0.01, 0.005], np.nan, "log",
                           method="bootstrap")
    assert "nonfinite_fraction" not in boot.diagnostics


def test_diagnostics_are_computed_once_and_handed_out_as_copies(monkeypatch):
    """`Posterior.diagnostics` was a plain property: `warn`, `report` and the command
    line's checks each computed it again. Now it is computed once per posterior and each
    access gets a copy, so a caller that changes its frame does not change the next one;
    a posterior made from another (dataclasses.replace, as `jaxfit.sample`'s extend does)
    computes its own."""
    import dataclasses

    import jaxfit as jf

    lin = jf.models.linear("L")
    post = _gaussian_draws(lin, ["a", "b"], [1.0, -0.25], [0.01, 0.005], 0.02, "log")
    calls = []
    ok = jf.Posterior._ok
    monkeypatch.setattr(jf.Posterior, "_ok", lambda self, d: calls.append(1) or ok(self, d))
    first = post.diagnostics
    assert post.warn() is True
    assert "diagnostics ok in 2 of 2 task(s)" in post.report()
    second = post.diagnostics
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    assert first["ok"].tolist() == [True, True]
    assert first["sigma_spread"].tolist() == [1.0, 1.0]          # one sigma value: q95/median
    first["ok"] = False                                          # the caller's own copy
    first.loc["a", "sigma_spread"] = 9.0
    third = post.diagnostics
    pd.testing.assert_frame_equal(third, second)
    assert third["ok"].tolist() == [True, True] and len(calls) == 1
    bad = dataclasses.replace(post, draws={**post.draws, "sigma": np.full((2, 1, 400), np.nan)})
    assert bad.diagnostics["nonfinite_fraction"].tolist() == [1.0, 1.0]
    assert len(calls) == 2 and post.diagnostics["ok"].all()


def test_predict_warns_once_naming_the_predicted_tasks_that_failed_their_diagnostics(
        monkeypatch):
    """`Posterior.predict` (and `predict_chain`) of tasks whose posterior failed its
    diagnostics returned intervals without a word: `jf.sample` warns once, when it draws,
    and a notebook's later predict said nothing. Now one `DiagnosticWarning` per call, at
    the caller, names the predicted tasks that failed (the first 3 and the count), what
    failed and the fix, in `Posterior.warn`'s words; tasks that passed, ``warn=False``
    and a bootstrap whose own checks pass (no r_hat) say nothing. The diagnostics behind
    it are computed once per posterior (ArviZ's three statistics, not per call)."""
    import jaxfit as jf
    import jaxfit.posterior as posterior_module
    from jaxfit.chain import predict_chain
    from jaxfit.inference.bayes import Likelihood
    from jaxfit.warnings import FAILED_DIAGNOSTICS, DiagnosticWarning

    lin = jf.models.linear("L")                     # w0 + w1 L in log space
    tasks = ["ok", "b", "c", "d", "e", "f"]
    rng = np.random.default_rng(0)
    draws = {k: m + s * rng.standard_normal((6, 2, 400))
             for k, m, s in (("w0", 1.0, 0.01), ("w1", -0.25, 0.005))}
    draws["w0"][1:, 1] += 0.1                       # chain 2 elsewhere: r_hat >> 1.01
    draws["sigma"] = 0.02 * np.exp(0.05 * rng.standard_normal((6, 2, 400)))
    post = jf.Posterior(law=lin, tasks=pd.Index(tasks, name="task"), draws=draws,
                        likelihood=Likelihood("normal", "log"), method="nuts",
                        options={"by": "task"})
    calls = []
    stat = posterior_module._chain_stat
    monkeypatch.setattr(posterior_module, "_chain_stat",
                        lambda *a: calls.append(a[1]) or stat(*a))

    def caught(call):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            out = call()
        assert len(out) > 0
        return [w for w in got if issubclass(w.category, DiagnosticWarning)]

    every = pd.DataFrame({"task": tasks * 2, "L": [1.0] * 6 + [2.0] * 6})
    (w,) = caught(lambda: post.predict(every))
    text = str(w.message)
    assert w.filename == __file__
    assert text.startswith("predict: 5 task(s) ['b', 'c', 'd'] and 2 more of this posterior "
                           "(nuts) failed their diagnostics: r_hat > 1.01 in 5 task(s) (max ")
    assert ("bulk or tail ESS < 200 in 5 task(s); their intervals may be unreliable. Fix: "
            "draw it again (jaxfit.sample): raise warmup/samples, add data or informative "
            "priors on the poorly identified parameters (priors=), or fit a law with fewer "
            "parameters. See Posterior.diagnostics.") in text
    assert re.match(FAILED_DIAGNOSTICS, text)
    # only the tasks predicted: one failing, one passing; the passing one alone is silent
    (w,) = caught(lambda: post.predict(pd.DataFrame({"task": ["ok", "c"], "L": [1.0, 1.0]})))
    assert str(w.message).startswith("predict: 1 task(s) ['c'] of this posterior (nuts) "
                                     "failed their diagnostics: r_hat > 1.01 in 1 task(s)")
    assert caught(lambda: post.predict(pd.DataFrame({"task": ["ok"], "L": [1.0]}))) == []
    assert caught(lambda: post.predict(every, warn=False)) == []
    # without a task column every task is predicted: all five named
    (w,) = caught(lambda: post.predict(pd.DataFrame({"L": [1.0]})))
    assert str(w.message).startswith("predict: 5 task(s) ['b', 'c', 'd'] and 2 more")
    assert sorted(calls) == ["ess_bulk", "ess_tail", "r_hat"]          # once, 4 predicts

    # a bootstrap: no r_hat; silent while its refits converge, named when they did not
    def boot(status):
        return jf.Posterior(
            law=lin, tasks=pd.Index(["x", "y"], name="task"),
            draws={k: v[:2, :1] for k, v in draws.items()}, method="bootstrap",
            likelihood=Likelihood("normal", "log"), options={"by": "task"},
            stats={"status": status, "rms": np.full((2, 1, 400), 0.02),
                   "distinct_points": np.full((2, 1, 400), 20)})

    good = boot(np.zeros((2, 1, 400), np.int32))
    assert "r_hat" not in good.diagnostics and good.diagnostics["ok"].all()
    assert caught(lambda: good.predict(pd.DataFrame({"task": ["x", "y"], "L": [1.0, 1.0]}))) \
        == []
    status = np.zeros((2, 1, 400), np.int32)
    status[1, 0, :100] = 1                          # task y: a quarter of its refits
    bad = boot(status)
    (w,) = caught(lambda: bad.predict(pd.DataFrame({"task": ["x", "y"], "L": [1.0, 1.0]})))
    assert str(w.message).startswith(
        "predict: 1 task(s) ['y'] of this posterior (bootstrap) failed their diagnostics: "
        "more than 1% of resampled refits did not converge in 1 task(s); their intervals "
        "may be unreliable. Fix: draw it again (jaxfit.bootstrap): raise max_steps, or use "
        "starts='restarts' (multi-start refits).")

    # predict_chain: one warning, naming the step; FAILED_DIAGNOSTICS silences exactly it
    s1 = _gaussian_draws(LAW, ["y"], [1.7, 400.0, 410.0, 0.34, 0.28], [0.02, 20, 20, .01, .01],
                         0.02, "log")
    s2 = boot(status)
    s2 = jf.Posterior(law=SIGMOID, tasks=s2.tasks, method="bootstrap", stats=s2.stats,
                      likelihood=Likelihood("normal", "linear"), options={"by": "task"},
                      draws={**{k: np.full((2, 1, 400), v) for k, v in
                                zip(SIGMOID.param_names, [-0.7, 4.0, 1.0, 1.0])},
                             "sigma": np.full((2, 1, 400), 0.01)})
    new = pd.DataFrame({"task": ["y"], "N": [7e9], "D": [1e12]})
    law = jf.compose(SIGMOID, LAW, into="L")
    (w,) = caught(lambda: predict_chain(law, [s1, s2], new))
    assert w.filename == __file__
    assert str(w.message).startswith(
        "predict_chain: step 1 (law 'sigmoid'): 1 task(s) ['y'] of this posterior "
        "(bootstrap) failed their diagnostics: more than 1% of resampled refits")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", FAILED_DIAGNOSTICS, DiagnosticWarning)
        predict_chain(law, [s1, s2], new)
        post.predict(every)
    assert not [w for w in got if issubclass(w.category, DiagnosticWarning)]


def test_a_rows_predictive_interval_does_not_depend_on_the_other_rows():
    """`Posterior.predict` drew every row's noise from one key, so a row's predictive
    bounds moved by Monte Carlo noise when other rows were added to the call (measured
    here: the row at L = 2 of task "a" alone, [0.4496, 0.5507]; after a row of task "b",
    [0.4540, 0.5451]). Now each row draws from a stream of its own, a hash of its task and
    inputs (`jaxfit.posterior.row_streams`): the same bounds alone, with other rows, at
    any position, and predicted for every task; another seed, other draws."""
    import jaxfit as jf

    lin = jf.models.linear("L")                     # a + b L in log space
    post = _gaussian_draws(lin, ["a", "b"], [1.0, -0.25], [0.01, 0.005], 0.05, "log")
    row = pd.DataFrame({"task": ["a"], "L": [2.0]})
    cols = ["predictive_lower", "predictive_upper"]
    alone = post.predict(row)[cols].to_numpy()
    others = pd.DataFrame({"task": ["b", "a", "a"], "L": [2.0, 1.0, 3.0]})   # 4 rows: one
    # program for every call below but the single row's
    for pos in range(len(others) + 1):
        df = pd.concat([others.iloc[:pos], row, others.iloc[pos:]], ignore_index=True)
        got = post.predict(df)[cols].to_numpy()[pos]
        np.testing.assert_array_equal(got, alone[0])
    # predicted for every task (no task column): task a's row is the same
    fan = post.predict(pd.DataFrame({"L": [0.5, 2.0]}))[cols]               # 2 x 2 rows
    np.testing.assert_array_equal(fan.loc[("a", 1)].to_numpy(), alone[0])
    # its values: the law's mean a + b L = 0.5 (sd 0.014: 0.028 in log space) with the
    # noise's 0.05 in log space, sd sqrt(0.05^2 + 0.028^2) = 0.057 together
    np.testing.assert_allclose(alone[0], 0.5 * np.exp(1.645 * np.array([-0.057, 0.057])),
                               rtol=0.01)
    np.testing.assert_array_equal(post.predict(row, seed=0)[cols].to_numpy(), alone)
    assert (post.predict(row, seed=1)[cols].to_numpy() != alone).all()
    # a different row (its task or its inputs) draws other noise
    _, _, pred = post.predict_draws(pd.DataFrame({"task": ["a", "b", "a", "b"],
                                                  "L": [2.0, 2.0, 2.0 + 1e-12, 1.0]}))
    assert not np.isin(pred[0], pred[1]).any() and not np.isin(pred[0], pred[2]).any()


def test_a_plated_posterior_counts_its_divergences_once():
    """The plated model (pool=, shared parameters) runs one chain for all tasks, and each
    task's row of the diagnostics holds that chain's count: the warning summed them, so 2
    divergences in a 3-task pooled fit read "6 divergent transitions in 3 task(s)"."""
    import jaxfit as jf

    lin = jf.models.linear("L")
    post = _gaussian_draws(lin, ["a", "b", "c"], [1.0, -0.25], [0.01, 0.005], 0.02, "log",
                           method="nuts")
    div = np.zeros((1, 1, 400), dtype=bool)
    div[..., :2] = True
    pooled = dataclasses.replace(post, stats={"diverging": np.broadcast_to(div, (3, 1, 400))},
                                 hyper={"b_mu": np.zeros((1, 400))})
    assert pooled.diagnostics["divergences"].tolist() == [2, 2, 2]
    with pytest.warns(jf.warnings.DiagnosticWarning,
                      match=r"; 2 divergent transitions in the joint model of all 3 task\(s\)"):
        pooled.warn()
    own = dataclasses.replace(post, stats={"diverging": np.broadcast_to(div, (3, 1, 400))})
    with pytest.warns(jf.warnings.DiagnosticWarning,
                      match=r"; 6 divergent transitions in 3 task\(s\)"):
        own.warn()
