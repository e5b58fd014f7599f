"""Intervals on the ladder recipe's chained accuracy predictions (Bhagia et al. 2024).

``ladder(intervals=True)`` bootstraps each step (the ladder's 16 step-1 points and the
step-2 checkpoints of each task) from its point fit and chains the draws with
`jaxfit.chain.predict_chain`, on the released OLMo ladder data (7B-4T and 13B-5T
targets, the paper's 8 tasks).
"""

import numpy as np
import pandas as pd
import pytest

from jaxfit.recipes import ladder

N_BOOT = 100


@pytest.fixture(scope="module")
def res():
    return ladder(intervals=True, prob=0.9, n_boot=N_BOOT)


def test_intervals_columns_and_coverage(res):
    p = res.predictions
    for col in ("acc_lower", "acc_upper", "mean_acc_lower", "mean_acc_upper", "covered"):
        assert col in p
    print("\n" + p[["task", "target", "pred_acc", "acc_lower", "acc_upper", "actual_acc",
                    "covered"]].round(3).to_string())
    print(f"90% interval covers the actual accuracy in {int(p.covered.sum())} of {len(p)} "
          f"task/target pairs ({p.covered.mean():.0%})")
    assert len(p) == 16 and p[["acc_lower", "acc_upper"]].notna().all().all()
    # The point prediction lies inside its interval; adding step 2's noise widens the
    # interval of the chained mean (up to the Monte Carlo error of the quantiles: the
    # noise of the smoothed step-2 points is small next to the steps' uncertainty).
    assert np.all((p.acc_lower <= p.pred_acc) & (p.pred_acc <= p.acc_upper))
    widen = (p.acc_upper - p.acc_lower) / (p.mean_acc_upper - p.mean_acc_lower)
    assert np.median(widen) > 1.0 and widen.min() > 0.9
    expect = (p.acc_lower <= p.actual_acc) & (p.actual_acc <= p.acc_upper)
    np.testing.assert_array_equal(p.covered.to_numpy(bool), expect.to_numpy())
    # The well-predicted tasks (errors of about 1 point or less in the paper) are covered.
    good = p[p.task.isin(["mmlu_avg_test", "piqa_val"])]
    assert good.covered.all()
    table = res.wide()
    assert ("7B-4T", "lower") in table.columns and ("13B-5T", "covered") in table.columns
    np.testing.assert_allclose(table[("7B-4T", "upper")].to_numpy(),
                               100 * p[p.target == "7B-4T"].acc_upper.to_numpy())
    tidy, summ = res.table(), res.summary()          # the recipe protocol
    assert list(tidy.columns[:8]) == ["task", "target", "actual", "pred", "lower", "upper",
                                      "abs_error", "covered"]
    assert summ["covered"].sum() == int(p.covered.sum()) and summ["tasks"].sum() == len(p)


def test_intervals_carry_both_steps_and_leave_points_unchanged(res):
    """Wider than step 2's interval alone (at the point-predicted loss); the point
    predictions equal those of ``ladder()`` without intervals."""
    p = res.predictions
    step2 = res.posteriors["step2"]
    alone = step2.predict(pd.DataFrame({"task": p.task, "L": p.pred_loss}), prob=0.9)
    ratio = ((p.mean_acc_upper - p.mean_acc_lower).to_numpy()
             / (alone.credible_upper - alone.credible_lower).to_numpy())
    print("chained / step-2-only interval width:", np.round(ratio, 1))
    assert np.median(ratio) > 1.5 and np.mean(ratio > 1.0) >= 0.75
    assert res.posteriors["step1"].n_draws == N_BOOT
    plain = ladder()
    np.testing.assert_allclose(p.pred_acc, plain.predictions.pred_acc, rtol=1e-12)
    with pytest.raises(ValueError, match="prob"):
        ladder(intervals=True, prob=90)
