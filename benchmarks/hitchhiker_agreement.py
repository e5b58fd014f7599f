"""Where jaxfit and scipy agree on the Hitchhiker grid, per family group (no timing).

The comparison of ``benchmarks/hitchhiker_grid.py`` (the recipe's batched jaxfit fits
against its ``curve_fit`` loop on the same training points, both scored with the same
ARE), broken down into the groups docs/recipes/hitchhiker.md quotes: the share of fits
whose AREs agree within 1e-3, over the fits both solvers returned, for every family group
at >= 3 models with all checkpoints, and for the final-only fits.

    python benchmarks/hitchhiker_agreement.py

About 1-2 minutes on 2 CPU cores (one jaxfit grid, one scipy loop).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from hitchhiker_grid import scipy_grid

from jaxfit.recipes.hitchhiker import hitchhiker

TOL = 1e-3


def family_group(family: str) -> str:
    """GPT2 and its c4/oscar epoch variants are one group, so are the overtrain-* ones."""
    for prefix, group in (("GPT2", "GPT2*"), ("overtrain", "overtrain-*")):
        if family.startswith(prefix):
            return group
    return family


def agreement(both: pd.DataFrame) -> str:
    """Number of fits and share with |ARE jaxfit - ARE scipy| <= TOL."""
    return f"{len(both)} fits, within 1e-3: {(both['diff'] <= TOL).mean():.1%}"


def main() -> None:
    warnings.simplefilter("ignore")
    res = hitchhiker()
    fitted = res.are.dropna(subset=["task"])
    cmp = fitted.join(scipy_grid(res), on="task")
    cmp["diff"] = (cmp["are"] - cmp["are_scipy"]).abs()
    both = cmp.dropna(subset=["diff"]).assign(group=lambda d: d["family"].map(family_group))
    print(f"all fits both solvers returned: {agreement(both)}")
    sel = both[(both["n_models"] >= 3) & (both["checkpoints"] == "all")]
    print(">= 3 models, all checkpoints, per family group:")
    for group, g in sel.groupby("group"):
        print(f"  {group}: {agreement(g)}")
    fin = both[both["checkpoints"] == "final"]
    print(f"final-only fits: {agreement(fin)}; of them with >= 3 models: "
          f"{agreement(fin[fin['n_models'] >= 3])}")


if __name__ == "__main__":
    main()
