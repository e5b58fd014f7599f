"""The calibration score of `jf.backtest`, compared on the stored real-data backtests.

`calibrate_intervals` widens a raw interval by ``q g(r)``; ``g = 1 + log r`` ("ratio",
the default), the raw half-width ("width") and 1 ("constant") are `jaxfit.backtest`'s
choices, and ``g = log r`` alone is the one the default replaced. This script re-scores
the raw bootstrap tables that ``benchmarks/backtest_real.py`` stored
(``benchmarks/results/backtest/<dataset>_bootstrap.csv``; no fitting, no resampling) with
all four and prints, per dataset and pooled, the calibrated coverage and each calibrated
median width over the raw one, at the largest cut and over every cut with calibration
data: the figures docs/backtest.md's "Choice of the score" quotes.

    python benchmarks/backtest_score_choice.py

A few seconds.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backtest_real as br

# `jaxfit.backtest` the module (the package's `jaxfit.backtest` attribute is the function).
bt = importlib.import_module("jaxfit.backtest")

KINDS = ("ratio", "log_r", "width", "constant")
RESULTS = Path(__file__).resolve().parent / "results" / "backtest"


def with_log_r(scale):
    """`jaxfit.backtest._scale` plus kind "log_r": ``g = log r``."""
    def _scale(kind, ratio, lo, hi):
        return np.log(ratio) if kind == "log_r" else scale(kind, ratio, lo, hi)
    return _scale


def load_tables(results: Path = RESULTS) -> dict[str, pd.DataFrame]:
    """The stored raw bootstrap tables of the coverage table's datasets."""
    tables = {}
    for name in br.TABLE:
        t = pd.read_csv(results / f"{name}_bootstrap.csv")
        tables[name] = t.rename(columns={t.columns[0]: "task"})
    return tables


def main() -> None:
    bt._scale = with_log_r(bt._scale)
    bt.CALIBRATIONS = (*bt.CALIBRATIONS, "log_r")
    tables = load_tables()
    print(f"smallest ratio r in the tables: {min(t['ratio'].min() for t in tables.values()):.4f}")
    pd.set_option("display.width", 200)
    for last in (True, False):
        tab = br.coverage_table(tables, kinds=KINDS, last_cut=last)
        print(f"\n== {'largest cut' if last else 'all cuts with calibration'}: coverage")
        print(tab[["n", "coverage_raw", *(f"cov_{k}" for k in KINDS)]].round(3).to_string())
        print(f"== {'largest cut' if last else 'all cuts with calibration'}: "
              "median calibrated width / median raw width")
        ratios = pd.DataFrame({k: tab[f"width_{k}"] / tab["width_raw"] for k in KINDS})
        print(ratios.drop(index="pooled").round(2).to_string())


if __name__ == "__main__":
    main()
