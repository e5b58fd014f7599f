"""`jaxfit.backtest` on real data: rolling-origin holdouts, calibration without leakage,
and the ladder recipe's calibrated intervals (Bhagia et al. 2024 OLMo ladder)."""

import math

import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit.backtest import (calibrate_intervals, calibration_scores, conformal_quantile,
                             interval_score)
from jaxfit.recipes import ladder
from jaxfit.recipes.ladder import load_olmo_ladder
from jaxfit.recipes.points import tail_mean

TASKS = ["hellaswag_val", "arc_challenge_test", "piqa_val"]
N_1B3, N_760M, N_370M = 1279395840.0, 758220288.0, 371262464.0


def _points():
    d = load_olmo_ladder()
    d = d[d["task"].isin(TASKS)]
    pts = tail_mean(d, 5, ["task_loss"]).rename(columns={"tokens": "D", "task_loss": "loss"})
    return pts.astype({"N": np.float64, "D": np.float64})


def _run(pts):
    return jf.backtest(jf.models.ladder_step1(), pts, y="loss", by="task", axis="N",
                       x={"N": "N", "D": "D"}, cuts=[N_1B3, N_760M], n=50,
                       calibrate="ratio", fit_options={"restarts": 16, "refine": 4})


@pytest.fixture(scope="module")
def step1():
    """Step 1 of the ladder (task loss from N, D) on 3 tasks, the 7B/13B targets included."""
    pts = _points()
    return pts, _run(pts)


def test_interval_score_and_conformal_quantile():
    # Gneiting & Raftery (2007): width + 2/alpha * miss distance.
    s = interval_score([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, -0.5, 2.0], prob=0.9)
    np.testing.assert_allclose(s, [1.0, 1.0 + 20 * 0.5, 1.0 + 20 * 1.0])
    # ceil((n + 1) * 0.9) = 10th smallest of 10 scores; of 19 scores the 18th.
    assert conformal_quantile(np.arange(10.0), 0.9) == 9.0
    assert conformal_quantile(np.arange(19.0), 0.9) == 17.0
    assert math.isnan(conformal_quantile([], 0.9))


def test_rolling_origin_numbers_on_the_ladder(step1):
    pts, bt = step1
    t = bt.table()
    # cut 1.3B predicts the two targets; 760M also the four 1.3B runs; 370M also 760M's.
    counts = t.groupby("cut").size().to_dict()
    assert counts == {N_370M: 3 * 10, N_760M: 3 * 6, N_1B3: 3 * 2}
    tg = t[t["cut"] == N_1B3].set_index(["task", "axis"])
    # The paper's step-1 errors at 13B-5T are a few percent (Table 3): the rolling fits
    # reproduce that, and the errors grow with the extrapolation ratio.
    rel = (tg["prediction"] / tg["actual"] - 1).abs()
    print(tg[["actual", "prediction", "raw_lower", "raw_upper", "lower", "upper"]])
    assert rel.max() < 0.12 and rel.median() < 0.06
    np.testing.assert_allclose(sorted(tg["ratio"].unique()), [6887575552 / N_1B3,
                                                              13202396160 / N_1B3])
    small = t[t["ratio"] < 2.2]
    big = t[t["ratio"] > 4]
    assert (small["prediction"] / small["actual"] - 1).abs().mean() < \
        (big["prediction"] / big["actual"] - 1).abs().mean()
    # Raw bootstrap intervals are far too narrow for a 5-10x extrapolation: a few % of
    # the 54 held-out (row, cut) pairs; the calibrated ones cover most rows that have
    # calibration data (the 370M cut has none and keeps its raw interval).
    s = bt.summary(by_task=False)
    print(s.T)
    cal = t[t["n_calibration"] > 0]
    assert len(cal) == 24 and (t[t["cut"] == N_370M]["n_calibration"] == 0).all()
    assert cal["raw_covered"].sum() <= 6
    assert cal["covered"].sum() >= 16
    assert s.loc["all", "median_width"] > 2 * s.loc["all", "median_width_raw"]
    assert s.loc["all", "interval_score"] < s.loc["all", "interval_score_raw"]
    # Point predictions never change with calibration.
    np.testing.assert_array_equal(t["prediction"], bt.rows["prediction"])
    assert ((t["lower"] <= t["raw_lower"]) & (t["upper"] >= t["raw_upper"])).all()


def test_no_leakage(step1):
    """The calibration of the 1.3B cut (the one that predicts 7B and 13B) is identical
    when every row above 1.3B (the targets) is removed from the input."""
    pts, bt = step1
    cut_rows = bt.table()[bt.table()["cut"] == N_1B3]
    trunc = _run(pts[pts["N"] <= N_1B3])
    assert (trunc.table()["axis"] <= N_1B3).all()
    for kind in ("ratio", "width", "constant"):
        full = calibration_scores(bt.table(), N_1B3, kind, "log")
        cut = calibration_scores(trunc.table(), N_1B3, kind, "log")
        assert len(full) == 3 * 4 + 3 * 8            # 760M -> 1.3B, 370M -> 760M and 1.3B
        np.testing.assert_array_equal(np.sort(full), np.sort(cut))
    q_full = cut_rows["q"].iloc[0]
    q_trunc = conformal_quantile(calibration_scores(trunc.table(), N_1B3, "ratio", "log"), 0.9)
    assert q_full == q_trunc and q_full > 0
    # And the rows the truncated run does predict are identical, bounds included.
    common = ["task", "cut", "axis", "prediction", "raw_lower", "raw_upper"]
    a = bt.table()
    a = a[(a["axis"] <= N_1B3)][common].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, trunc.table()[common].reset_index(drop=True))


def test_calibration_uses_only_smaller_cuts():
    t = pd.DataFrame({"task": "a", "cut": [1.0, 1.0, 2.0, 2.0, 4.0],
                      "cut_rank": [3, 3, 2, 2, 1], "axis": [2.0, 4.0, 4.0, 8.0, 8.0],
                      "ratio": [2.0, 4.0, 2.0, 4.0, 2.0],
                      "actual": [1.0, 1.0, 1.0, 1.0, 1.0],
                      "raw_lower": [1.1, 1.2, 0.9, 0.5, 0.9],
                      "raw_upper": [1.2, 1.3, 1.1, 0.8, 1.1]})
    out = calibrate_intervals(t, 0.9, "constant", "linear")
    # cut 2 learns from the cut-1 row at axis 2 only (axis 4 lies above cut 2): 0.1.
    np.testing.assert_allclose(out.loc[2, "q"], 0.1)
    assert out.loc[2, "n_calibration"] == 1
    # cut 4: cut-1 rows at 2 and 4 (misses by 0.1, 0.2), cut-2 row at 4 (covered, -0.1).
    np.testing.assert_allclose(out.loc[4, "q"], 0.2)
    np.testing.assert_allclose(out.loc[4, ["lower", "upper"]].to_numpy(float), [0.7, 1.3])
    assert out.loc[0, "n_calibration"] == 0 and out.loc[0, "lower"] == 1.1


def test_bad_input():
    df = pd.DataFrame({"N": [1.0, 2.0], "D": [1.0, 2.0], "loss": [1.0, 1.0]})
    with pytest.raises(ValueError, match="method"):
        jf.backtest(jf.models.chinchilla(), df, axis="N", method="mcmc")
    with pytest.raises(ValueError, match="calibrate"):
        jf.backtest(jf.models.chinchilla(), df, axis="N", calibrate="big")
    with pytest.raises(ValueError, match="missing column"):
        jf.backtest(jf.models.chinchilla(), df, axis="C")


@pytest.fixture(scope="module")
def calibrated_ladder():
    return ladder(intervals=True, calibrate=True, n_boot=100)


def test_ladder_calibrated_intervals_cover(calibrated_ladder):
    p = calibrated_ladder.predictions
    print(p[["task", "target", "pred_acc", "raw_acc_lower", "raw_acc_upper", "acc_lower",
             "acc_upper", "actual_acc", "covered"]].round(3).to_string())
    raw = (p.raw_acc_lower <= p.actual_acc) & (p.actual_acc <= p.raw_acc_upper)
    print(f"raw: {int(raw.sum())}/16, calibrated: {int(p.covered.sum())}/16, "
          f"q = {p.calibration_q.iloc[0]:.4f}")
    assert int(p.covered.sum()) >= 14
    assert int(raw.sum()) <= 13
    # The extrapolation term grows with N: 13B-5T's intervals widen more than 7B-4T's.
    extra = (p.acc_upper - p.acc_lower) - (p.raw_acc_upper - p.raw_acc_lower)
    assert (extra[p.target == "13B-5T"].to_numpy() > extra[p.target == "7B-4T"].to_numpy()).all()
    plain = ladder().predictions
    np.testing.assert_array_equal(p.pred_acc.to_numpy(), plain.pred_acc.to_numpy())
