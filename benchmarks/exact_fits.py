"""Noise-free fits of every law in `jaxfit.models`: how many end `converged` (issue 16).

Each task draws true parameters uniformly in the law's unconstrained init box (as random
starts are drawn), 20-60 points on ladder-like inputs, and targets equal to the law's
exact prediction; all tasks of a law are fitted in one ``jf.fit(..., by="task")`` call
with the default options. An exact fit should be ``converged``.

    python benchmarks/exact_fits.py [--tasks 32] [--seed 0] [--method newton]

Prints, per law, the status counts, the objectives of the tasks that did not converge,
how many recover the truth (predictions within 1e-6, parameters within 1e-3 where the
design check reports them identified), and the overall converged fraction.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import jaxfit as jf  # noqa: E402
from exact_laws import LAWS, exact_tasks  # noqa: E402


def run(name: str, tasks: int, seed: int, method: str):
    law, space, _ = LAWS[name]
    df, truth = exact_tasks(name, tasks, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = jf.fit(law, df, y="y", by="task", space=space, method=method)
    frame = res.to_frame()
    pred = res.predict(df)["prediction"]
    rel = np.abs(pred.to_numpy() - df.y.to_numpy()) / np.maximum(np.abs(df.y.to_numpy()), 1e-12)
    worst = pd.Series(rel).groupby(df.task.to_numpy()).max()
    frame["worst_rel"] = worst.to_numpy()
    pred_ok = worst < 1e-6
    names = list(law.param_names)
    err = np.abs(frame[names].to_numpy() - truth[names].to_numpy()) / np.maximum(
        np.abs(truth[names].to_numpy()), 1e-3)
    frame["param_err"] = err.max(axis=1)
    return frame, truth, pred_ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="newton")
    ap.add_argument("--laws", nargs="*", help="names in tests/exact_laws.py (default: all)")
    args = ap.parse_args()
    total = conv = 0
    for name in args.laws or LAWS:
        frame, truth, pred_ok = run(name, args.tasks, args.seed, args.method)
        counts = frame.status.value_counts().to_dict()
        bad = frame[frame.status != "converged"]
        total += len(frame)
        conv += int((frame.status == "converged").sum())
        ident = frame[frame.identified & (frame.status == "converged")]
        print(f"{name:22s} {counts}  prediction recovered {int(pred_ok.sum())}/{len(frame)}"
              f"  identified {int(frame.identified.sum())}, of which parameters within 1e-3"
              f" {int((ident.param_err < 1e-3).sum())} (worst {ident.param_err.max():.1e})")
        wrong = ident[ident.param_err >= 1e-3]
        if len(wrong):
            print("   identified but parameters not recovered:\n",
                  wrong.drop(columns=list(truth.columns)).to_string())
        miss = frame[~pred_ok.to_numpy()]
        if len(miss):
            print("   prediction not recovered:\n",
                  miss.drop(columns=list(truth.columns)).to_string())
        if len(bad):
            print("   not converged: objective", np.array2string(bad.objective.to_numpy(),
                                                                precision=1),
                  "grad", np.array2string(bad.grad_norm.to_numpy(), precision=1))
    print(f"converged {conv}/{total} = {conv / total:.1%}")


if __name__ == "__main__":
    main()
