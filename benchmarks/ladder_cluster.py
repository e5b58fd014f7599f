"""Step 2's bootstrap clustered by training run vs. by checkpoint, on the embedded ladder.

The ladder's step 2 (task loss -> accuracy) is fitted on ~1,400 checkpoints per task that
come from 16 training runs; checkpoints of one run are autocorrelated (and smoothed by a
moving average). The default bootstrap resamples them one by one; a cluster bootstrap
(`jaxfit.bootstrap(groups="run")`) resamples whole runs within each task (the anchor stays
pinned). This script runs ``ladder(intervals=True, calibrate=True, n_boot=100)`` both ways,
with the bootstraps' seed 0 and 1 (step1_options/step2_options; a gauge of the Monte Carlo
noise of 100 resamples: the point fits are the same), (through the private switch ``jaxfit.recipes.ladder._STEP2_GROUPS``; the default is
unchanged) and reports, for the 16 task/target pairs, raw and calibrated coverage, median
interval widths in accuracy points, the calibration quantile q, and the ratio of step 2's
bootstrap sd of each parameter (runs / checkpoints).

The raw intervals are the calibrated run's ``raw_acc_lower``/``raw_acc_upper``: the same
bootstrap as ``ladder(intervals=True, n_boot=100)`` (same seed, same data), before widening.

Run: ``PYTHONPATH=. python benchmarks/ladder_cluster.py`` (single process, ~4 x 50 s).
Output: benchmarks/results/ladder_cluster_s28.txt.
"""

import importlib
import pathlib
import time
import warnings

import jax
import pandas as pd

jax.config.update("jax_enable_x64", True)   # as the test suite runs (a script, not the library)

# the module: the package exports the function under the same name
lad = importlib.import_module("jaxfit.recipes.ladder")

OUT = pathlib.Path(__file__).parent / "results" / "ladder_cluster_s28.txt"


SEEDS = (0, 1)      # the bootstraps' seed (step1_options/step2_options): a gauge of the
                    # Monte Carlo noise of 100 resamples


def summary(pred, lo, hi):
    covered = (pred[lo] <= pred["actual_acc"]) & (pred["actual_acc"] <= pred[hi])
    width = 100 * (pred[hi] - pred[lo])
    return int(covered.sum()), len(pred), float(width.median())


def one(groups, seed):
    """(summary lines, per-pair frame, step 2's bootstrap sd per task and parameter)."""
    lad._STEP2_GROUPS = groups
    try:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = lad.ladder(intervals=True, calibrate=True, n_boot=100,
                             step1_options={"seed": seed}, step2_options={"seed": seed})
        secs = time.perf_counter() - t0
    finally:
        lad._STEP2_GROUPS = None
    pred = res.predictions
    raw = summary(pred, "raw_acc_lower", "raw_acc_upper")
    cal = summary(pred, "acc_lower", "acc_upper")
    q = float(pred["calibration_q"].iloc[0])
    mean_w = 100 * (pred["mean_acc_upper"] - pred["mean_acc_lower"])
    post2 = res.posteriors["step2"]
    label = "checkpoints (default)" if groups is None else "runs (groups='run')"
    lines = [(f"seed {seed}  {label:22s} raw {raw[0]:2d}/{raw[1]}  width {raw[2]:6.2f}   "
              f"calibrated {cal[0]:2d}/{cal[1]}  width {cal[2]:6.2f}   q {q:.4f}   "
              f"mean-interval width {mean_w.median():5.2f}   ({secs:.0f} s)"),
             (f"        step-2 refits converged (min over tasks): "
              f"{post2.diagnostics['converged_fraction'].min():.2f}; warnings: "
              f"{sorted({type(w.message).__name__ for w in caught})}")]
    sd = pd.DataFrame({k: post2.draws[k].std(axis=(1, 2)) for k in post2.law.param_names},
                      index=post2.tasks)
    frame = pred.assign(
        seed=seed, groups=str(groups),
        raw_w=100 * (pred["raw_acc_upper"] - pred["raw_acc_lower"]),
        cal_w=100 * (pred["acc_upper"] - pred["acc_lower"]))[
        ["seed", "groups", "task", "target", "actual_acc", "pred_acc", "raw_acc_lower",
         "raw_acc_upper", "raw_w", "acc_lower", "acc_upper", "cal_w", "covered"]]
    return lines, frame, sd


def main():
    lines, frames = [], []
    for seed in SEEDS:
        sds = {}
        for groups in (None, "run"):
            got, frame, sds[groups] = one(groups, seed)
            lines += got
            frames.append(frame)
            print("\n".join(got), flush=True)
        ratio = (sds["run"] / sds[None]).round(2)
        lines.append(f"\nseed {seed}: step 2's bootstrap sd of each parameter, runs / "
                     "checkpoints, per task (b: the anchor holds it near 1):\n"
                     + ratio.to_string() + "\n")
    table = pd.concat(frames).round(4).to_string(index=False)
    text = ("ladder(intervals=True, calibrate=True, n_boot=100), embedded OLMo ladder, "
            "16 task/target pairs\n(raw: the raw_acc_* columns, i.e. "
            "ladder(intervals=True, n_boot=100); widths: median acc_upper - acc_lower, "
            "points; q: calibration quantile)\n\n" + "\n".join(lines)
            + "\nper pair:\n" + table + "\n")
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
