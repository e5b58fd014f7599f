"""The ladder recipe's calibrated intervals on the OLMo ladder, as docs/backtest.md and
docs/recipes/ladder.md quote them.

``jf.recipes.ladder(intervals=True, calibrate=True, n_boot=N)`` backtests its two-step
chain on the ladder itself (cuts at the 2nd and 3rd largest sizes) and widens the 7B-4T /
13B-5T intervals by the resulting conformal quantile ``q`` (Bhagia et al. 2024's chain;
`jaxfit.recipes.ladder.ladder_backtest`). This prints, for ``--n-boot`` resamples per step
(default 1,000, the recipe's default; ``tests/test_backtest.py`` asserts the 100-resample
figures): the raw and calibrated coverage of the 16 task/target pairs, ``q``, the
half-widths it adds, the raw widths, each pair's interval and miss, and the backtest rows
that set ``q``.

Usage: ``python benchmarks/ladder_calibration.py [--n-boot 1000]`` (92 s on a 2-core CPU
at the default, session 27: ``results/ladder_calibration_s27.txt``, the same figures as
session 26's run of this script from a scratch copy).
"""

import argparse
import time
import warnings

import jax
import numpy as np

from jaxfit.backtest import calibration_scores, conformal_quantile
from jaxfit.recipes import ladder

#: The ladder's three largest model sizes (non-embedding parameters): 1.3B, 760M, 370M.
N_1B3, N_760M, N_370M = 1279395840.0, 758220288.0, 371262464.0


def main(n_boot: int) -> None:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ladder(intervals=True, calibrate=True, n_boot=n_boot)
    print(f"ladder(intervals=True, calibrate=True, n_boot={n_boot}): "
          f"{time.perf_counter() - t0:.0f} s")
    p = res.predictions
    raw = (p.raw_acc_lower <= p.actual_acc) & (p.actual_acc <= p.raw_acc_upper)
    print(f"raw covered {int(raw.sum())} of {len(p)}, calibrated {int(p.covered.sum())}, "
          f"q {p.calibration_q.iloc[0]:.6f}")
    half = 50 * ((p.acc_upper - p.acc_lower) - (p.raw_acc_upper - p.raw_acc_lower))
    for target in ("7B-4T", "13B-5T"):
        print(f"added half-width at {target}: {half[p.target == target].max():.2f} points")
    width = 100 * (p.raw_acc_upper - p.raw_acc_lower)
    print(f"raw widths {width.min():.2f}-{width.max():.2f} points")
    miss = 100 * np.maximum(p.raw_acc_lower - p.actual_acc, p.actual_acc - p.raw_acc_upper)
    cols = ["task", "target", "pred_acc", "raw_acc_lower", "raw_acc_upper", "acc_lower",
            "acc_upper", "actual_acc", "miss", "width"]
    print("(miss: points outside the raw interval, negative inside)")
    print(p.assign(miss=miss, width=width)[cols].round(4).to_string())
    t = res.calibration.table()
    print(f"backtest rows raw covered {int(t.raw_covered.sum())} of {len(t)}")
    score = calibration_scores(t, N_1B3, "ratio", "linear")
    k = int(np.ceil((len(score) + 1) * 0.9)) - 1
    print(f"q = the {k + 1}th smallest of {len(score)} scores; the scores from it up:")
    top = t.assign(score=score).iloc[np.argsort(score)[k:]]
    print(top[["task", "cut", "axis", "prediction", "raw_lower", "raw_upper", "actual",
               "converged", "score"]].to_string())
    ok = t["converged"].to_numpy()
    print(f"q without the unconverged rows: {conformal_quantile(score[ok], 0.9):.6f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000, help="resamples per step")
    with jax.enable_x64(True):
        main(ap.parse_args().n_boot)
