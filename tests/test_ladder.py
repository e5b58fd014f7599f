"""The model-ladder recipe (Bhagia et al. 2024) on the released OLMo ladder data.

References, all from released files:

* REPRO: ``shared/data/olmo_ladder/reproduced_two_step_predictions.csv`` (the README's
  reproduction table, an independent scipy re-run of the protocol): the issue's acceptance
  is every predicted accuracy within 0.5 points of it.
* PAPER_*: the paper's own outputs, ``src/scripts/paper/figures/{chained_main,
  chained_flops_main,step1_main,variance}.csv`` of allenai/OLMo-ladder at commit
  4d993445ec8d0e1202c21ebd14aab505550dcee6 (b9c5f762 for the FLOPs file), and Tables 3
  and 5 of the paper (arXiv:2412.04403 v2).
* Oracles written here with numpy/scipy only: step 2 with ``scipy.optimize.curve_fit`` on
  independently processed points (as upstream ``step2.py``), step 1 with L-BFGS-B and the
  upstream analytic gradient from the code's start.
"""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.optimize as so
from scipy import stats

from jaxfit.models.ladder_step1 import LADDER_STEP1_P0, ladder_step1, ladder_step1_flops
from jaxfit.recipes import ladder
from jaxfit.recipes.ladder import PAPER_TASKS, VARIANCE_TASKS, load_olmo_ladder
from jaxfit.recipes.ladder_plot import plot_ladder

TARGETS = ("7B-4T", "13B-5T")
ND = {"7B-4T": (6_887_575_552, 3_945_065_873_408), "13B-5T": (13_202_396_160, 5_000_088_518_656)}
GOOD = ("mmlu_avg_test", "hellaswag_val", "piqa_val", "socialiqa_val")
HARD = ("arc_challenge_test", "arc_easy_test", "csqa_val", "openbookqa_test")

# README reproduction table: task -> (7B actual, 7B pred, 13B actual, 13B pred).
REPRO = {
    "mmlu_avg_test": (0.490108, 0.485713, 0.516140, 0.515146),
    "hellaswag_val": (0.813483, 0.825266, 0.831906, 0.853088),
    "arc_challenge_test": (0.619454, 0.515165, 0.638055, 0.526925),
    "arc_easy_test": (0.845539, 0.765926, 0.871717, 0.772464),
    "piqa_val": (0.820457, 0.812235, 0.829597, 0.820843),
    "csqa_val": (0.726454, 0.757122, 0.741032, 0.776091),
    "socialiqa_val": (0.599284, 0.587469, 0.615967, 0.599538),
    "openbookqa_test": (0.494000, 0.441717, 0.486400, 0.448679),
}
# chained_main.csv (13B-5T): task -> (actual, pred).
PAPER_CHAINED_13B = {
    "mmlu_avg_test": (0.5161402368605137, 0.5126799915287485),
    "hellaswag_val": (0.831905996799469, 0.8530359563499285),
    "arc_challenge_test": (0.638054609298706, 0.5267099358093748),
    "arc_easy_test": (0.8717171669006347, 0.7724156000459201),
    "piqa_val": (0.8295973896980285, 0.820804177694882),
    "csqa_val": (0.7410319447517395, 0.7760887505172276),
    "socialiqa_val": (0.6159672379493714, 0.5994822062474122),
    "openbookqa_test": (0.4863999903202057, 0.4486477676972386),
}
# step1_main.csv (13B-5T): task -> (actual loss, predicted loss, fitting error).
PAPER_STEP1_13B = {
    "mmlu_avg_test": (0.7488274373888968, 0.7501562439156164, 0.00459955846280895),
    "hellaswag_val": (0.6609338879585266, 0.6531765996418648, 0.002564809550553303),
    "arc_challenge_test": (0.7157248377799987, 0.783323889494342, 0.004845000187424237),
    "arc_easy_test": (0.5113906025886535, 0.5931045976220826, 0.011775123423672772),
    "piqa_val": (0.8987890243530273, 0.8747948863685431, 0.003104357884309965),
    "csqa_val": (0.8115828037261963, 0.6617282976368006, 0.010454759586642956),
    "socialiqa_val": (0.9568508267402649, 0.9915736909585439, 0.005396831679934047),
    "openbookqa_test": (1.2631986379623412, 1.2750065398700043, 0.00594152057987821),
}
# Table 5: task -> (A, alpha, B, beta, E), printed to 2 decimals.
PAPER_TABLE5 = {
    "mmlu_avg_test": (38.07, 0.23, 100.09, 0.24, 0.45),
    "hellaswag_val": (11.23, 0.20, 60.37, 0.26, 0.50),
    "arc_challenge_test": (702974.93, 0.79, 38.45, 0.20, 0.65),
    "arc_easy_test": (79412.07, 0.66, 3957.51, 0.42, 0.56),
    "piqa_val": (405.66, 0.40, 10.16, 0.15, 0.72),
    "csqa_val": (56.86, 0.23, 10.91, 0.11, 0.00),
    "socialiqa_val": (1200.94, 0.45, 7897.19, 0.48, 0.95),
    "openbookqa_test": (86346.32, 0.69, 137.35, 0.26, 1.20),
}
# variance.csv: task -> (loss SD, loss rel SD, acc SD, acc rel SD, 7B step-2 rel error).
PAPER_VARIANCE = {
    "winogrande_val": (0.011522071406109436, 0.0074804962541238276, 0.004791184179455873,
                       0.007669526714641651, -0.2367103988859898),
    "boolq_val": (0.006783761411502156, 0.017624244294290384, 0.01859571327181338,
                  0.028557733868881236, 0.04287494695943811),
    "csqa_val": (0.005564045134935118, 0.005559557847137713, 0.003497816587469373,
                 0.005529303556972804, -0.009966653470365591),
    "openbookqa_test": (0.00472684964157779, 0.003415351866876424, 0.009509995901628328,
                        0.025118848040388397, -0.08193228373114528),
    "arc_easy_test": (0.004529993360286306, 0.006575982918040568, 0.004325203518726066,
                      0.006125459546604391, -0.044920530647112523),
    "arc_challenge_test": (0.003664131146804138, 0.004039272531432547, 0.003973768869501623,
                           0.010017761026463895, -0.0758795644027224),
    "mmlu_avg_test": (0.002555160647712222, 0.0025925667326754404, 0.0009927395300182882,
                      0.0027583540024668117, 0.0026811195684897527),
    "socialiqa_val": (0.002435141942176358, 0.002256528641194368, 0.0031980481971885873,
                      0.006081738403261787, 0.04732596608053445),
    "piqa_val": (0.0019476256974952956, 0.001948757593163689, 0.002364676385842031,
                 0.0031310965428856118, -0.022750369781662567),
    "hellaswag_val": (0.0006953498942577266, 0.0009151501974559638, 0.0015842241198201956,
                      0.002464223228676962, 0.010540848149497892),
}
# chained_flops_main.csv (13B-5T predictions of the FLOPs variant).
PAPER_FLOPS_13B = {
    "mmlu_avg_test": 0.4834258227956778, "hellaswag_val": 0.8141337201864658,
    "arc_challenge_test": 0.5743943101605645, "arc_easy_test": 0.7995691816374565,
    "piqa_val": 0.8202443793590908, "csqa_val": 0.7771695495264273,
    "socialiqa_val": 0.580997091440876, "openbookqa_test": 0.4703480510873823,
}
# Table 3: 7B step-1-only relative error (%) of the FLOPs variant, in PAPER_TASKS order.
PAPER_FLOPS_STEP1_7B = (4.3, 2.1, 2.4, 5.3, 2.0, 12.5, 5.7, 0.5)
# Table 3: chained relative error (%) of the two-step method (task loss), PAPER_TASKS order.
PAPER_TASKLOSS_REL_7B = (1.3, 1.4, 16.9, 9.4, 1.0, 4.2, 2.0, 10.6)
PAPER_TASKLOSS_REL_13B = (0.7, 2.5, 17.5, 11.4, 1.1, 4.7, 2.7, 7.8)
# Table 3: chained relative error (%) of the single-step variant, PAPER_TASKS order.
PAPER_SINGLE_7B = (5.6, 0.5, 21.7, 6.1, 0.7, 5.1, 5.4, 9.0)
PAPER_SINGLE_13B = (7.1, 0.8, 22.6, 7.9, 0.6, 6.6, 6.8, 4.7)
TASK_MIN = {"piqa_val": 0.5, "socialiqa_val": 1 / 3, "csqa_val": 0.2}


@pytest.fixture(scope="module")
def data():
    return load_olmo_ladder()


@pytest.fixture(scope="module")
def res():
    """The paper's protocol with every default, on the 10 tasks of the variance analysis.

    The tasks are fitted independently (vmapped), so the paper's 8 are the default call's
    8; fitting all 10 once saves a compilation for a second task count.
    """
    return ladder(tasks=VARIANCE_TASKS)


@pytest.fixture(scope="module")
def pred(res):
    return res.predictions.set_index(["task", "target"])


# ----------------------------------------------------------------------------- acceptance


def test_predictions_within_half_a_point_of_the_reproduction_table(pred):
    assert ladder.__kwdefaults__["tasks"] == PAPER_TASKS
    assert ladder.__kwdefaults__["method"] == "two_step"
    for task, (a7, p7, a13, p13) in REPRO.items():
        for target, actual, expected in [("7B-4T", a7, p7), ("13B-5T", a13, p13)]:
            row = pred.loc[(task, target)]
            assert abs(row.actual_acc - actual) < 1e-6, (task, target)
            assert abs(row.pred_acc - expected) < 0.005, (task, target, row.pred_acc, expected)
    # Only MMLU differs from the table by more than 0.03 points (see the next test).
    others = [abs(pred.loc[(t, g)].pred_acc - REPRO[t][1 if g == "7B-4T" else 3])
              for t in REPRO if t != "mmlu_avg_test" for g in TARGETS]
    assert max(others) < 3e-4


def test_errors_against_the_actual_accuracy(pred):
    err = pred["abs_error"]
    for task in GOOD:
        for target in TARGETS:
            assert err.loc[(task, target)] <= 2.2, (task, target, err.loc[(task, target)])
    hard = np.mean([err.loc[(t, g)] for t in HARD for g in TARGETS])
    assert abs(hard - 6.9) <= 0.05, hard            # printed to 1 decimal (was <= 0.3)
    # Figure 2 / Table 3 ("task loss" row): relative error per task, in %, 1 decimal, and
    # the mean absolute error in points (3.8 and 4.2).
    for target, paper in [("7B-4T", PAPER_TASKLOSS_REL_7B), ("13B-5T", PAPER_TASKLOSS_REL_13B)]:
        p = pred.xs(target, level="target").loc[list(PAPER_TASKS)]
        np.testing.assert_allclose(100 * p["rel_error"].abs().to_numpy(), paper, atol=0.051,
                                   err_msg=target)
    assert abs(err.xs("7B-4T", level="target").loc[list(PAPER_TASKS)].mean() - 3.8) <= 0.05
    assert abs(err.xs("13B-5T", level="target").loc[list(PAPER_TASKS)].mean() - 4.2) <= 0.05
    expected = [100 * abs(pred.loc[i].pred_acc - pred.loc[i].actual_acc) for i in pred.index]
    np.testing.assert_allclose(err.to_numpy(), expected, rtol=1e-12)


def test_matches_the_papers_released_outputs(res, pred):
    """The multi-start fit lands on the paper's Table 5 and its released predictions.

    The README's scipy re-run stopped early on MMLU's flat step-1 valley (A = 35.4); the
    paper's own run, and ours, reach A = 38.07 with a lower objective (next test).
    """
    for task, (actual, expected) in PAPER_CHAINED_13B.items():
        row = pred.loc[(task, "13B-5T")]
        assert abs(row.actual_acc - actual) < 1e-6
        assert abs(row.pred_acc - expected) < 2e-5, (task, row.pred_acc, expected)
    for task, (actual, expected, fit_err) in PAPER_STEP1_13B.items():
        row = pred.loc[(task, "13B-5T")]
        assert abs(row.actual_loss - actual) < 1e-6
        assert abs(row.pred_loss / expected - 1) < 2e-5, (task, row.pred_loss, expected)
        assert abs(res.step1.loc[task, "fit_error"] - fit_err) < 1e-6
    for task, (A, alpha, B, beta, E) in PAPER_TABLE5.items():
        p = res.step1.loc[task]
        # Printed to 2 decimals; the large A, B of ARC-C/E are flat to ~1e-5 relative.
        for ours, paper in [(p.A, A), (p.B, B)]:
            assert abs(ours - paper) <= max(0.006, 1e-5 * paper), (task, ours, paper)
        assert [round(p.alpha, 2), round(p.beta, 2), round(p.E, 2)] == [alpha, beta, E]
    assert (res.step1.loc[list(PAPER_TASKS), "status"] == "converged").all()
    assert (res.step2.loc[list(PAPER_TASKS), "status"] == "converged").all()
    assert res.step1.loc["csqa_val", "at_bound"] == "E"


def _upstream_step1(N, D, y, p0=(3.0, 6.0, 0.1, 0.2, 1.0)):
    """``get_coefficients_huber`` of the released code (L-BFGS-B, analytic gradient)."""
    lN, lD, ly = np.log(N), np.log(D), np.log(y)

    def f_and_g(p):
        t1, t2 = np.exp(p[0] - lN * p[2]), np.exp(p[1] - lD * p[3])
        pred = t1 + t2 + p[4]
        u = np.log(pred) - ly
        f = np.sum(np.where(np.abs(u) < 1e-3, 0.5 * u**2, 1e-3 * (np.abs(u) - 5e-4)))
        gu = np.clip(u, -1e-3, 1e-3) / pred
        return f, np.array([np.sum(gu * t1), np.sum(gu * t2), -np.sum(gu * t1 * lN),
                            -np.sum(gu * t2 * lD), np.sum(gu)])

    return so.minimize(f_and_g, p0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * 5,
                       tol=0.0, options=dict(ftol=0.0, gtol=1e-10, maxiter=1_000_000))


def test_step1_never_worse_than_the_papers_optimiser(res):
    """Same objective: jaxfit's optimum is at least as low as upstream L-BFGS-B's."""
    pts = res.step1_data[res.step1_data["kind"] == "ladder"]
    law = ladder_step1()
    for task in PAPER_TASKS:
        d = pts[pts["task"] == task]
        ref = _upstream_step1(d["N"].to_numpy(), d["D"].to_numpy(), d["loss"].to_numpy())
        ours = res.step1.loc[task]
        assert ours.objective <= ref.fun * (1 + 1e-9), (task, ours.objective, ref.fun)
        # Our objective value is the upstream function at our parameters.
        p = [math.log(ours.A), math.log(ours.B), ours.alpha, ours.beta, ours.E]
        lN, lD = np.log(d["N"].to_numpy()), np.log(d["D"].to_numpy())
        pred = np.exp(p[0] - lN * p[2]) + np.exp(p[1] - lD * p[3]) + p[4]
        u = np.log(pred) - np.log(d["loss"].to_numpy())
        f_ours = np.sum(np.where(np.abs(u) < 1e-3, 0.5 * u**2, 1e-3 * (np.abs(u) - 5e-4)))
        assert abs(f_ours / ours.objective - 1) < 1e-9
        vals = {k: ours[k] for k in law.param_names}
        np.testing.assert_allclose(
            np.asarray(law(vals, {"N": d["N"].to_numpy(), "D": d["D"].to_numpy()})), pred,
            rtol=1e-12)


def _moving_average(arr, n):  # upstream ``utils.moving_average``
    ret = np.cumsum(arr, dtype=float)
    if len(ret) < n:
        return ret / np.arange(1, len(ret) + 1)
    ret[n:] = ret[n:] - ret[:-n]
    return np.concatenate([ret[: n - 1] / np.arange(1, n), ret[n - 1:] / n])


def test_step2_matches_scipy_curve_fit_on_independently_processed_points(data, res):
    lad = data[data["role"] == "ladder"]
    for task in PAPER_TASKS:
        xs, ys = [], []
        for run in [f"{s}-{m}xC" for s in ("190M", "370M", "760M", "1B") for m in (1, 2, 5, 10)]:
            g = lad[(lad["task"] == task) & (lad["run"] == run)].sort_values("step")
            k = int(np.ceil(0.1 * len(g)))
            xs += list(_moving_average(g["task_loss"].to_numpy()[k:], 5))
            ys += list(_moving_average(g["accuracy"].to_numpy()[k:], 5))
        xs.append(0.0)
        ys.append(1.0)
        pts = res.step2_data[(res.step2_data["task"] == task)
                             & (res.step2_data["kind"] != "target")]
        assert len(pts) == len(xs) == 1402
        np.testing.assert_allclose(pts["L"].to_numpy(), xs, rtol=1e-12)
        np.testing.assert_allclose(pts["acc"].to_numpy(), ys, rtol=1e-12)
        sig = lambda x, a, x0, k, b: a / (1 + np.exp(-k * (x - x0))) + b  # noqa: E731
        c, _ = so.curve_fit(sig, np.array(xs), np.array(ys),
                            p0=[TASK_MIN.get(task, 0.25) - 1, 0.9, 3.0, 1.0],
                            bounds=([-1, 0, 0, 0], [0, np.inf, np.inf, 1]), maxfev=500000)
        ours = res.step2.loc[task, ["a", "L0", "k", "b"]].to_numpy(np.float64)
        np.testing.assert_allclose(ours, c, rtol=2e-5, atol=1e-6, err_msg=task)


def test_chain_is_the_composition_of_the_two_steps(res, pred):
    s1, s2 = res.step1, res.step2
    for (task, target), row in pred.iterrows():
        N, D = ND[target]
        p = s1.loc[task]
        loss = p.A / N**p.alpha + p.B / D**p.beta + p.E
        q = s2.loc[task]
        acc = q.a / (1 + math.exp(-q.k * (loss - q.L0))) + q.b
        assert row.N == N and row.D == D
        assert abs(row.pred_loss / loss - 1) < 1e-12 and abs(row.pred_acc / acc - 1) < 1e-12
        at_actual = q.a / (1 + math.exp(-q.k * (row.actual_loss - q.L0))) + q.b
        assert abs(row.step2_pred_acc / at_actual - 1) < 1e-12


# ----------------------------------------------------------------------------- variants


def test_variance_analysis_reproduces_table4_and_the_correlation(res):
    res10 = res
    v = res10.variance
    assert (v["run"] == "1B-10xC").all() and (v["n_checkpoints"] == 10).all()
    p10 = res10.predictions.set_index(["task", "target"])
    for task, (lsd, lrel, asd, arel, err7) in PAPER_VARIANCE.items():
        np.testing.assert_allclose(v.loc[task, ["loss_sd", "loss_rel_sd", "acc_sd",
                                                "acc_rel_sd"]].to_numpy(np.float64),
                                   [lsd, lrel, asd, arel], rtol=2e-5, err_msg=task)
        # BoolQ's sigmoid is flat (k ~ 19.6) and the 7B loss lies far below the ladder's:
        # scipy's curve_fit here differs from the paper's run by 7e-5 as well.
        tol = 2e-4 if task == "boolq_val" else 2e-5
        assert abs(p10.loc[(task, "7B-4T")].step2_rel_error - err7) < tol, task
    corr = res10.variance_correlation.set_index(["target", "measure", "error"])
    for target, r_paper in [("7B-4T", 0.821), ("13B-5T", 0.855)]:
        row = corr.loc[(target, "loss_sd", "step2_rel_error")]
        assert abs(row.r - r_paper) < 5e-4 and row.n_tasks == 10
        pe = p10.xs(target, level="target").reindex(v.index)["step2_rel_error"]
        r, pv = stats.pearsonr(v["loss_sd"].abs(), pe.abs())
        assert abs(row.r - r) < 1e-12 and abs(row.p_value - pv) < 1e-10
    assert corr.loc[("7B-4T", "loss_sd", "step2_rel_error")].p_value < 0.005


def test_flops_variant_matches_the_papers_outputs():
    r = ladder(method="two_step_flops")
    p = r.predictions.set_index(["task", "target"])
    for task, expected in PAPER_FLOPS_13B.items():
        assert abs(p.loc[(task, "13B-5T")].pred_acc - expected) < 2e-5, task
    rel7 = 100 * p.xs("7B-4T", level="target").loc[list(PAPER_TASKS), "loss_rel_error"].abs()
    np.testing.assert_allclose(rel7.to_numpy(), PAPER_FLOPS_STEP1_7B, atol=0.051)
    # C is the authors' compute: tokens x MODEL_FLOPS["7B"].
    assert p.loc[("mmlu_avg_test", "7B-4T")].C == pytest.approx(3_945_065_873_408 * 49_412_071_424,
                                                                 rel=1e-15)
    assert list(r.step1.columns[:3]) == ["A", "alpha", "E"]
    # the embedded ladder's task loss unit reaches the plots (user data: None)
    assert r.options["loss_unit"] == "bits per byte"


def _upstream_single_step(N, D, y, task):
    """``fit_single_step`` of the released code: L-BFGS-B from its start, analytic gradient."""
    lN, lD, ly = np.log(N), np.log(D), np.log(y)

    def f_and_g(p):
        t1, t2 = np.exp(p[0] - lN * p[2]), np.exp(p[1] - lD * p[3])
        s = 1 / (1 + np.exp(-(t1 + t2 + p[4])))
        pred = p[5] * s + p[6]
        u = np.log(pred) - ly
        f = np.sum(np.where(np.abs(u) < 1e-3, 0.5 * u**2, 1e-3 * (np.abs(u) - 5e-4)))
        gu = np.clip(u, -1e-3, 1e-3) / pred
        gs = gu * p[5] * s * (1 - s)
        return f, np.array([np.sum(gs * t1), np.sum(gs * t2), -np.sum(gs * t1 * lN),
                            -np.sum(gs * t2 * lD), np.sum(gs), np.sum(gu * s), np.sum(gu)])

    p0 = [3.0, 5.0, 0.2, 0.3, 0.0, TASK_MIN.get(task, 0.25) - 1.0, 1.0]
    bounds = [(0, None)] * 4 + [(None, None), (-1.0, 0.0), (0.0, 1.0)]
    return so.minimize(f_and_g, p0, jac=True, method="L-BFGS-B", bounds=bounds, tol=0.0,
                       options=dict(ftol=0.0, gtol=1e-10, maxiter=1_000_000))


def test_single_step_variant_matches_table3_and_beats_it_on_csqa():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")       # OpenBookQA creeps along a flat valley
        r = ladder(method="single_step")
    # its warnings name the fit that ran (they said "ladder step1", a fit never run), and
    # the knob and table that hold it (step1_options, result.step1)
    said = [str(w.message) for w in caught if str(w.message).startswith("ladder ")]
    assert said and all(m.startswith("ladder single-step fit: ") for m in said), said
    assert any("step1_options=" in m and "result.step1['status']" in m for m in said), said
    p = r.predictions.set_index(["task", "target"])
    for target, paper in [("7B-4T", PAPER_SINGLE_7B), ("13B-5T", PAPER_SINGLE_13B)]:
        ours = 100 * p.xs(target, level="target").loc[list(PAPER_TASKS), "rel_error"].abs()
        for task, o, q in zip(PAPER_TASKS, ours, paper):
            if task == "csqa_val":
                continue
            tol = 0.4 if task == "openbookqa_test" else 0.051
            assert abs(o - q) <= tol, (task, target, o, q)
    assert r.step2 is None and np.isnan(p["pred_loss"]).all()
    # CSQA: the paper calls its single-step fit degenerate; from its start L-BFGS-B stops
    # at an objective 4x higher than the multi-start optimum, with twice the error.
    d = r.step1_data[(r.step1_data["kind"] == "ladder") & (r.step1_data["task"] == "csqa_val")]
    up = _upstream_single_step(d["N"].to_numpy(), d["D"].to_numpy(), d["acc"].to_numpy(),
                               "csqa_val")
    assert r.step1.loc["csqa_val", "objective"] < 0.5 * up.fun
    assert 100 * abs(p.loc[("csqa_val", "7B-4T")].rel_error) < 3.0


def test_hypothetical_targets_and_options(res):
    t = pd.DataFrame({"target": ["7B-4T-again", "70B-15T"], "N": [6_887_575_552, 70e9],
                      "D": [3_945_065_873_408, 15e12]})
    r = ladder(tasks=VARIANCE_TASKS, targets=t)
    p = r.predictions.set_index(["task", "target"])
    base = res.predictions.set_index(["task", "target"])
    np.testing.assert_allclose(p.xs("7B-4T-again", level="target")["pred_acc"],
                               base.xs("7B-4T", level="target")["pred_acc"], rtol=1e-12)
    assert p["abs_error"].isna().all() and p["actual_acc"].isna().all()
    bigger = p.xs("70B-15T", level="target")["pred_acc"]
    assert (bigger > base.xs("13B-5T", level="target")["pred_acc"]).all()
    # No anchor, no moving average: the raw checkpoints left after the 10% skip.
    r2 = ladder(tasks=VARIANCE_TASKS, anchor=None, moving_avg=1)
    pts = r2.step2_data[(r2.step2_data["kind"] == "ladder") & (r2.step2_data.task == "piqa_val")]
    assert len(pts) == 1401 and not (r2.step2_data["kind"] == "anchor").any()
    raw = load_olmo_ladder().query("task == 'piqa_val' and run == '1B-10xC'")
    mine = pts[pts["run"] == "1B-10xC"]
    np.testing.assert_array_equal(mine["L"], raw["task_loss"].to_numpy()[17:])
    assert r2.options["anchor"] is None
    assert not np.allclose(r2.step2["a"], res.step2["a"])


def test_bad_input_raises_clear_errors(data):
    before = data.copy()
    with pytest.raises(ValueError, match="method='three_step'"):
        ladder(data, method="three_step")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['task_loss'\]"):
        ladder(data.rename(columns={"task_loss": "bpb"}))
    with pytest.raises(ValueError, match="tasks \\['nope'\\]"):
        ladder(data, tasks=["nope"])
    # a table with its own task names and the default tasks: before, the paper's 8 were
    # listed as "not in data['task']" without saying they were the default or how to name
    # others (command line: --tasks)
    with pytest.raises(ValueError, match=r"^ladder: tasks \['arc_challenge_test', .*\] are not "
                       r"in data\['task'\] \(available: \['my_arc_challenge_test', .*\]\)\. "
                       r"Name the tasks to fit with tasks=\[\.\.\.\] \(default: the ladder "
                       r"paper's 8\)\.$") as e:
        ladder(data.assign(task="my_" + data["task"]))
    from jaxfit.cli import _cli_words

    assert "Name the tasks to fit with --tasks TASK ... (default" in _cli_words(str(e.value))
    with pytest.raises(ValueError, match="runs \\['99B'\\]"):
        ladder(data, targets=["99B"])
    with pytest.raises(ValueError, match="no 'role' column"):
        ladder(data.drop(columns="role"))
    with pytest.raises(ValueError, match="skip_frac"):
        ladder(data, skip_frac=1.5)
    with pytest.raises(ValueError, match="moving_avg"):
        ladder(data, moving_avg=0)
    nan = data.copy()
    nan.loc[nan.index[5], "accuracy"] = np.nan
    with pytest.raises(ValueError, match="missing or infinite"):
        ladder(nan)
    with pytest.raises(ValueError, match="flops_per_token"):
        ladder(data.drop(columns="flops_per_token"), method="two_step_flops")
    # sizes written as text: a bare "could not convert string to float: '190M'"
    with pytest.raises(ValueError, match=r"non-numeric.*column 'N' holds e\.g\. '190M'"):
        ladder(data.assign(N=data["N"].map(lambda n: f"{n / 1e6:.0f}M")))
    # hypothetical targets: NaN or negative sizes gave silent NaN predictions, '70B' a bare
    # "could not convert string to float", an empty frame an AttributeError
    for N, shown in ((np.nan, "nan"), (-7e10, "-7e+10"), ("70B", "'70B'")):
        bad = pd.DataFrame({"target": ["x"], "N": [N], "D": [1e12]})
        with pytest.raises(ValueError, match=rf"targets\['N'\] .*{re.escape(shown)}.*row"):
            ladder(data, targets=bad)
    with pytest.raises(ValueError, match="targets DataFrame has no rows"):
        ladder(data, targets=pd.DataFrame({"target": [], "N": [], "D": []}))
    # accuracy in percent: before, a silent 100-point prediction against 8,135 "points"
    with pytest.raises(ValueError, match=r"data\['accuracy'\] must be a fraction in "
                       r"\[0, 1\].*looks like percent.*/ 100"):
        ladder(data.assign(accuracy=100 * data["accuracy"]))
    # a size of 0 before a run's last checkpoint passed without a word; at the last one the
    # fit refused it naming "rows [0]" of the recipe's own step-1 table, not the user's row
    zero = data.copy()
    zero.loc[7, "N"] = 0
    with pytest.raises(ValueError, match=r"ladder: column 'N' must be > 0, but 1 ladder rows "
                                         r"are not, e\.g\. 0 at index \[7\]"):
        ladder(zero)
    # FLOPs per token of the FLOPs method: before, a 0 was refused as "column 'C' has 1
    # non-positive values at rows [0]" (the recipe's own step-1 table), text as a bare
    # "could not convert string to float: 'x'"
    with pytest.raises(ValueError, match=r"ladder: column 'flops_per_token' must be > 0, but "
                                         r"1 ladder rows are not, e\.g\. 0 at index \[7\]"):
        ladder(data.assign(flops_per_token=np.where(data.index == 7, 0,
                                                    data["flops_per_token"])),
               method="two_step_flops")
    text = data.astype({"flops_per_token": object})
    text.loc[7, "flops_per_token"] = "x"
    with pytest.raises(ValueError, match=r"ladder: 1 ladder rows have non-numeric values; "
                                         r"column 'flops_per_token' holds e\.g\. 'x' at "
                                         r"index 7"):
        ladder(text, method="two_step_flops")
    # no run labelled "target": before, an empty prediction table without a word
    with pytest.raises(ValueError, match=r"ladder: no run has role 'target' in data\['role'\] "
                                         r"\(its roles: \['ladder', 'test'\]\).*"
                                         r"targets=\[\.\.\.\]"):
        ladder(data.assign(role=data["role"].replace({"target": "test"})))
    pd.testing.assert_frame_equal(data, before)


def test_too_few_ladder_runs_for_the_method_are_refused_before_any_fit(data):
    """Fewer ladder runs than the first fit's parameters (one point per run): before, the
    fit's own "2 task(s) have fewer points than the law's 5 free parameters ...; fix some
    parameters with jaxfit.fix()" (command line: "use a law with fewer free parameters
    (--law)"): options the recipe does not have, no run named."""
    from jaxfit.cli import _cli_words

    three = data[data["run"].isin(["190M-1xC", "370M-1xC", "1B-10xC", "7B-4T"])]
    with pytest.raises(ValueError, match=r"^ladder: step 1 \(two_step\) fits 5 parameters "
                       r"\['A', 'B', 'alpha', 'beta', 'E'\] to one point per ladder run, so "
                       r"it needs at least 5 ladder runs; got 3: \['190M-1xC', '370M-1xC', "
                       r"'1B-10xC'\]\. Add ladder runs .*, or method='two_step_flops' "
                       r"\(3 parameters\)\.$") as e:
        ladder(three, tasks="piqa_val")
    cli = _cli_words(str(e.value))
    assert "--method two_step_flops" in cli and "--law" not in cli and "fix" not in cli
    with pytest.raises(ValueError, match=r"^ladder: the single-step fit \(single_step\) "
                       r"fits 7 parameters .* got 3"):
        ladder(three, tasks="piqa_val", method="single_step")
    with pytest.raises(ValueError, match=r"^ladder: step 1 \(two_step_flops\) fits 3 "
                       r"parameters \['A', 'alpha', 'E'\] .* got 2: \['190M-1xC', "
                       r"'1B-10xC'\]\. Add ladder runs \(more model sizes or token "
                       r"multiples, role='ladder'\)\.$"):
        ladder(three[three["run"] != "370M-1xC"], tasks="piqa_val", method="two_step_flops")


def test_calibration_without_three_sizes_is_refused_before_any_fit(data, monkeypatch):
    """Calibrated intervals learn from the ladder's 2nd and 3rd largest sizes: with two
    sizes, before, the recipe fitted both steps and bootstrapped n_boot refits of each
    before saying so, and named no way out. An unknown variance run: found after the
    fits."""
    import importlib

    module = importlib.import_module("jaxfit.recipes.ladder")
    monkeypatch.setattr(module, "fit", lambda *a, **k: pytest.fail("a fit ran"))
    two = data[data["N"].isin([190354176, 1279395840]) | (data["role"] == "target")]
    with pytest.raises(ValueError, match=r"^ladder: calibrate='ratio' needs at least 3 ladder "
                       r"sizes \(N\) to learn the extrapolation error from; got 2\. Pass "
                       r"calibrate='none' for the raw bootstrap intervals\.$"):
        ladder(two, tasks="piqa_val", intervals=True, calibrate=True, n_boot=2)
    # the variance analysis's run: before, checked after both fits
    with pytest.raises(ValueError, match=r"^ladder: variance_run='70B' is not in "
                                         r"data\['run'\]\.$"):
        ladder(data, tasks="piqa_val", variance_run="70B")


def test_interval_bootstrap_keeps_the_anchor_in_every_step2_refit(data):
    """The anchor (0, 1) is part of step 2's protocol, in every point fit. The interval
    bootstrap resampled it with the checkpoints, so ~37% of the refits had none, and
    without it CommonsenseQA's sigmoid tops out at b = 0.70, not 1: 28% of its step-2
    draws had b < 0.99 (100 resamples), a mixture of two protocols that stretched the
    7B-4T interval's lower end to 66.2 points (72.0 pinned). Now pinned
    (`jaxfit.bootstrap`'s ``pinned``): every refit keeps it, and so b stays at 1."""
    res = ladder(data, tasks="csqa_val", intervals=True, n_boot=40)
    b = res.posteriors["step2"].flat("b")[0]
    assert res.fits["step2"].params.loc["csqa_val", "b"] == pytest.approx(1.0, abs=1e-6)
    assert np.all(b > 0.99), np.sort(b)[:5]
    assert res.posteriors["step2"].options["pinned"] == "anchor"
    # the fit's data and the returned tables are unchanged (no anchor column leaks)
    assert "anchor" not in res.step2_data.columns


def test_ladder_backtest_step2_without_n_is_named_not_a_key_error():
    """Pinning the anchors reads step 2's ``N`` (missing: an anchor); a frame without the
    column must still reach the backtest's own message, not a KeyError."""
    from jaxfit.recipes.ladder import ladder_backtest

    s1 = pd.DataFrame({"task": ["t"] * 6, "N": [1e8, 1e8, 2e8, 2e8, 4e8, 4e8],
                       "D": [1e9, 2e9] * 3, "loss": [1.0, 0.9, 0.8, 0.75, 0.7, 0.65],
                       "acc": [0.3] * 6})
    s2 = pd.DataFrame({"task": ["t"] * 3, "L": [1.0, 0.9, 0.8], "acc": [0.3, 0.35, 0.4]})
    with pytest.raises(ValueError, match=re.escape(
            "backtest: steps[1].data is missing column(s) ['N']")):
        ladder_backtest(s1, s2, n_boot=2)


def test_numbers_written_as_text_give_the_same_ladder(data, res):
    """Columns of numbers read as text (pd.read_csv(dtype=str), JSON): before, they passed
    the recipe's checks and failed in pandas with "TypeError: dtype 'str' does not support
    operation 'mean'", naming no column."""
    text = data.astype({"task_loss": str, "accuracy": object, "N": str})
    before = text.copy()
    got = ladder(text, tasks=VARIANCE_TASKS)
    pd.testing.assert_frame_equal(got.predictions, res.predictions)
    pd.testing.assert_frame_equal(text, before)             # the user's frame is kept as given


def test_categorical_task_and_run_columns_give_the_same_ladder(data, res):
    """Task and run labels as categoricals (as Parquet files give them) with categories
    the call does not fit: before, "1 task(s) ['other'] (by='task') have no points with
    positive weight; drop them ...", a task the user never asked for."""
    cat = data.astype({"task": pd.CategoricalDtype([*data["task"].unique(), "other"]),
                       "run": "category"})
    before = cat.copy()
    got = ladder(cat, tasks=VARIANCE_TASKS)
    pd.testing.assert_frame_equal(got.predictions, res.predictions)
    pd.testing.assert_frame_equal(cat, before)


def test_a_ladder_of_one_model_size_says_so(data, res):
    """Every ladder run at one N (the default call's shapes: no new compilation): step 1
    cannot identify A, alpha and E. Before, the recipe fitted with warn=False and
    re-issued only "near-best restarts disagree ...; predictions may depend on the
    optimiser": the fit's DesignWarning naming N and its one level was dropped."""
    from jaxfit.warnings import DesignWarning

    one = data.assign(N=np.where(data["role"] == "ladder", 190354176, data["N"]))
    with pytest.warns(DesignWarning) as caught:
        got = ladder(one, tasks=VARIANCE_TASKS)
    design = [str(w.message) for w in caught if w.category is DesignWarning]
    named = re.compile(r"^ladder step1: \d+ task\(s\) \[.*\] poorly identified: .* not "
                       r"identified: input 'N' has 1 distinct level\(s\).*Fix: add points at "
                       r"new levels of N.*result\.step1\['design'\]\.$")
    tasks = [t for m in design if named.match(m) for t in re.findall(r"'(\w+)'", m.split("]")[0])]
    assert sorted(tasks) == sorted(VARIANCE_TASKS), design       # every task, each once
    assert got.step1["design"].str.contains("N: 1 level").all()
    # the released ladder's conditioning notes stay in the table, not warned about
    assert res.step1.loc["boolq_val", "design"] == "uncertain: alpha,A,beta"


# ----------------------------------------------------------------------------- data, law, plot


def test_embedded_data_is_the_documented_extraction(data):
    assert data.groupby("role")["run"].nunique().to_dict() == {"ladder": 16, "target": 2}
    assert sorted(data["task"].unique()) == sorted(VARIANCE_TASKS)
    assert len(data) == 15790
    sizes = data[data.task == "piqa_val"].groupby("run").size()
    assert sizes["190M-1xC"] == 37 and sizes["1B-10xC"] == 163 and sizes["13B-5T"] == 12
    last = data[data.task == "piqa_val"].groupby("run")["tokens"].last()
    assert last["7B-4T"] == ND["7B-4T"][1] and last["13B-5T"] == ND["13B-5T"][1]


def test_step1_laws():
    law = ladder_step1()
    p = {"A": 38.07, "B": 100.09, "alpha": 0.2263, "beta": 0.2362, "E": 0.4544}
    N, D = np.array([1.9e8, 1.3e10]), np.array([3.8e9, 5e12])
    np.testing.assert_allclose(np.asarray(law(p, {"N": N, "D": D})),
                               p["A"] / N**p["alpha"] + p["B"] / D**p["beta"] + p["E"],
                               rtol=1e-12)
    assert law.params["A"].bounds == (1.0, math.inf) and law.params["E"].bounds[0] == 0.0
    assert ladder_step1(E="real").params["E"].bounds == (-math.inf, math.inf)
    assert LADDER_STEP1_P0["A"] == math.exp(3.0) and LADDER_STEP1_P0["B"] == math.exp(6.0)
    with pytest.raises(ValueError, match="E='free'"):
        ladder_step1(E="free")
    f = ladder_step1_flops()
    assert f.params["alpha"].bounds == (0.0, 1.0)
    assert float(f({"A": 100.0, "alpha": 0.5, "E": 1.0}, {"C": 1e4})) == pytest.approx(2.0)


def test_plot_ladder(res):
    from matplotlib.figure import Figure

    fig = plot_ladder(res, tasks=PAPER_TASKS)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert len(axes) == 16
    assert axes[0].get_title().startswith("MMLU: step 1") and "step 2" in axes[1].get_title()
    # Step-1 panel of MMLU: its 16 ladder points are the fitted data.
    pts = res.step1_data[(res.step1_data.task == "mmlu_avg_test")
                         & (res.step1_data.kind == "ladder")]
    offsets = np.concatenate([c.get_offsets() for c in axes[0].collections
                              if len(c.get_offsets()) > 1])
    assert sorted(map(tuple, offsets.round(9))) == sorted(
        zip(pts["D"].round(9), pts["loss"].round(9)))
    # Step-2 panel: the dashed line is the fitted sigmoid, accuracy in points.
    line = axes[1].get_lines()[0]
    x, y = line.get_data()
    q = res.step2.loc["mmlu_avg_test"]
    np.testing.assert_allclose(y, 100 * (q.a / (1 + np.exp(-q.k * (x - q.L0))) + q.b),
                               rtol=1e-10)
    # One task: two panels, rendered to a PNG (was tests/test_plot.py's own 1-task ladder
    # run); step 2's one line is PIQA's fitted sigmoid.
    one = plot_ladder(res, tasks=["piqa_val"])
    panels = [ax for ax in one.axes if ax.get_visible()]
    assert len(panels) == 2 and panels[1].get_title().startswith("PIQA: step 2")
    (line,) = panels[1].get_lines()
    x, y = line.get_data()
    q = res.step2.loc["piqa_val"]
    np.testing.assert_allclose(y, 100 * (q.a / (1 + np.exp(-q.k * (x - q.L0))) + q.b),
                               rtol=1e-10)
    buf = io.BytesIO()
    one.savefig(buf, format="png", dpi=60)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and len(buf.getvalue()) > 3000
    with pytest.raises(ValueError, match="not in the result"):
        plot_ladder(res, tasks=["nope"])


def test_plot_ladder_takes_one_task_name_and_refuses_none():
    """Before: tasks="piqa_val" (one name) was split into letters and refused as "tasks
    ['_', 'a', 'i', 'l', 'p', 'q', 'v'] are not in the result", and tasks=[] raised a
    ZeroDivisionError laying out the grid. (Both are decided before anything is drawn:
    a stand-in with the result's task list is enough.)"""
    import types

    stub = types.SimpleNamespace(options={"tasks": ["piqa_val", "hellaswag_val"]})
    with pytest.raises(ValueError, match=r"^plot_ladder: tasks= is empty; give some of "
                                         r"\['piqa_val', 'hellaswag_val'\], or None"):
        plot_ladder(stub, tasks=[])
    with pytest.raises(ValueError, match=r"^plot_ladder: tasks \['nope'\] are not"):
        plot_ladder(stub, tasks="nope")
    with pytest.raises(AttributeError, match="step2"):      # past the checks: one task
        plot_ladder(stub, tasks="piqa_val")


def test_summary_counts_coverage_only_for_observed_targets(res):
    """A hypothetical target (no actual accuracy) has no coverage: summary() said 0 of its
    tasks were covered; now NA. An observed target's count is unchanged."""
    import dataclasses

    p = res.predictions.assign(acc_lower=lambda d: d.pred_acc - 0.02,
                               acc_upper=lambda d: d.pred_acc + 0.02)
    p.loc[p.target == "13B-5T", "actual_acc"] = np.nan
    hit = (p.acc_lower <= p.actual_acc) & (p.actual_acc <= p.acc_upper)
    p["covered"] = hit.astype("boolean").where(p.actual_acc.notna(), pd.NA)
    s = dataclasses.replace(res, predictions=p).summary()
    assert pd.isna(s.loc["13B-5T", "covered"])
    assert s.loc["7B-4T", "covered"] == int(hit[p.target == "7B-4T"].sum()) > 0


def test_recipe_protocol(res):
    """`table` is tidy in accuracy points, `summary` its per-target means, `wide` the
    paper's layout, `to_json` every frame (jaxfit.recipes.protocol)."""
    import json

    t = res.table()
    assert list(t.columns) == ["task", "target", "actual", "pred", "abs_error",
                               "actual_loss", "pred_loss"]
    np.testing.assert_allclose(t["pred"], 100 * res.predictions["pred_acc"])
    summ = res.summary()
    assert summ.loc["13B-5T", "mean_abs_error"] == pytest.approx(
        t[t.target == "13B-5T"]["abs_error"].mean())
    assert res.wide().loc["mmlu_avg_test", ("13B-5T", "pred")] == pytest.approx(
        t.set_index(["task", "target"]).loc[("mmlu_avg_test", "13B-5T"), "pred"])
    doc = json.loads(res.to_json())
    assert doc["recipe"] == "ladder" and list(doc["tables"]) == list(res.frames())


def test_result_pickles(res):
    """A `LadderResult` could not be pickled: its fits' laws held read-only mappings
    (``cannot pickle 'mappingproxy' object``) and closures as fn."""
    from built_results import round_trip

    back = round_trip(res)
    pd.testing.assert_frame_equal(back.predictions, res.predictions)


def test_a_target_that_is_also_a_ladder_run_is_warned_about(data, monkeypatch):
    """targets=['1B-10xC'] with the default ladder runs: 1B-10xC's points were fitted and
    then "predicted" with no word that the error measures the fit, not an extrapolation.
    Now a DesignWarning names the run, before any fit."""
    import importlib

    from jaxfit.warnings import DesignWarning

    class Stop(Exception):
        pass

    def no_fit(*a, **k):
        raise Stop

    module = importlib.import_module("jaxfit.recipes.ladder")
    monkeypatch.setattr(module, "fit", no_fit)
    assert "1B-10xC" in set(data.loc[data["role"] == "ladder", "run"])
    with pytest.warns(DesignWarning, match=r"^ladder: target run\(s\) \['1B-10xC'\] are also "
                      r"ladder runs: their points are fitted"), pytest.raises(Stop):
        ladder(data, tasks="piqa_val", targets=["1B-10xC", "7B-4T"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DesignWarning)
        with pytest.raises(Stop):           # the paper's targets: no warning
            ladder(data, tasks="piqa_val")


def test_a_caller_names_the_result_and_runs_the_advice_points_to(data):
    """`jaxfit.recipes.flp.flp_vs_ladder` holds the ladder's result as ``result.ladder``
    and takes its runs as ``sampling_runs``; it rewrote the ladder's warning texts
    afterwards ("See result." -> "See result.ladder.", by string replacement). The ladder
    now writes them so itself (``result_name``, ``runs_name``), at its own emitters, and
    they still point at the ladder's caller."""
    few = {"max_steps": 2, "restarts": 2, "refine": 1}          # unconverged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ladder(data, tasks="piqa_val", targets=["1B-10xC", "7B-4T"], step1_options=few,
               step2_options=few, result_name="result.ladder", runs_name="sampling_runs")
    text = [str(w.message) for w in caught if str(w.message).startswith("ladder")]
    assert text[0].endswith("Drop them from `targets` or from `sampling_runs`."), text
    assert text[1].startswith("ladder step1: 1 of 1 task(s) did not converge ['piqa_val']")
    assert text[1].endswith("; pass e.g. step1_options={'max_steps': ...}. See "
                            "result.ladder.step1['status']."), text
    assert not [t for t in text if "See result.step" in t or "`ladder_runs`" in t], text
    assert {w.filename for w in caught if str(w.message).startswith("ladder")} == {__file__}


def test_a_missing_value_under_a_repeated_index_label_is_named_not_a_type_error():
    """Rows whose index labels repeat (common after pd.concat): before, the message looked the
    value up by label, got a Series back, and f"{...:g}" raised TypeError instead of the
    ValueError naming the column and the value."""
    data = load_olmo_ladder()
    data = data[data["task"] == "piqa_val"].copy()
    data.index = np.arange(len(data)) % 4
    data.iloc[5, data.columns.get_loc("accuracy")] = np.nan
    with pytest.raises(ValueError, match=r"; column 'accuracy' holds nan at index 1\. Drop "
                       r"those rows first, e\.g\. df\.dropna\(subset=\['accuracy'\]\)\.$"):
        ladder(data, tasks=["piqa_val"])


def test_a_missing_value_names_its_column_and_how_to_drop_it(tmp_path, capsys):
    """An accuracy missing at one checkpoint: before, "1 ladder rows have missing or
    infinite values in ['N', 'tokens', 'task_loss', 'accuracy'], e.g. at index [5]; drop
    them first.", naming no column, and on the command line no way to drop them."""
    from jaxfit.cli import main

    data = load_olmo_ladder()
    data = data[data["task"] == "piqa_val"].copy()
    data.loc[data.index[5], "accuracy"] = np.nan
    row = data.index[5]
    with pytest.raises(ValueError, match=r"^ladder: 1 ladder rows have missing or infinite "
                       rf"values in .*; column 'accuracy' holds nan at index {row}\. Drop "
                       r"those rows first, e\.g\. df\.dropna\(subset=\['accuracy'\]\)\.$"):
        ladder(data, tasks=["piqa_val"])
    path = tmp_path / "ladder.csv"
    data.to_csv(path, index=False)
    assert main(["ladder", str(path), "--tasks", "piqa_val", "-q"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "Drop those rows first, e.g. --where \"abs(accuracy) < inf\" (keeps the rows where it "
        "is finite).")


def test_interval_warning_names_bootstraps_that_fail_a_check_other_than_their_refits():
    """`ladder`'s intervals keep the predictions' own diagnostics warning quiet (their
    bootstraps run with warn=False); `_warn_refits` named only refits that did not
    converge, so a step bootstrap failing another check (here: task a's 4 points for 2
    parameters, fewer than 3 per parameter) left no word. Now it is named, in
    `Posterior.failed_text`'s words, as a DiagnosticWarning."""
    import jaxfit as jf
    from jaxfit.recipes.ladder import _warn_refits

    rng = np.random.default_rng(0)
    L = np.r_[np.linspace(1.0, 2.0, 4), np.linspace(1.0, 2.0, 12)]
    df = pd.DataFrame({"task": ["a"] * 4 + ["b"] * 12, "L": L,
                       "acc": 0.9 - 0.3 * L + 0.01 * rng.standard_normal(16)})
    post = jf.bootstrap(jf.models.linear(), df, y="acc", by="task", x={"L": "L"},
                        loss="squared", space="linear", n=20, warn=False)
    d = post.diagnostics
    assert (d["converged_fraction"] >= 0.99).all() and list(d["ok"]) == [False, True]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_refits({"step2": post})
    assert len(caught) == 1 and caught[0].category is jf.warnings.DiagnosticWarning
    text = str(caught[0].message)
    assert text.startswith("ladder intervals: step2: 1 task(s) ['a'] of this posterior "
                           "(bootstrap) failed their diagnostics: fewer than 3 points per "
                           "parameter"), text
