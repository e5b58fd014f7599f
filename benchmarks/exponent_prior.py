"""The default term priors against the exponents and levels of real ladders (issue 11).

`jaxfit.inference.bayes.TERM_EXPONENT_PRIOR` (LogNormal(log 0.3, 0.5)) is a default, and so
a claim about real data: that the exponents of a declared power-law term lie in its core.
This script fits the 5-parameter Chinchilla law (`jf.fit`, defaults) to every task of the
embedded datasets that `nuts_datasets.py` samples (Epoch's Chinchilla, the OLMo ladder's
task losses and validation domains, the OLMo emergence C4 loss, the ColPret families of the
Hitchhiker data, Pythia's LAMBADA), and compares the fitted exponents with the prior:

* **clean** fits: converged, with no identification or bound warning in
  `FitResult.statistics()` (the data determine the exponents);
* the rest: a fit that stalled, an input with too few distinct levels, a singular
  direction, or E at its bound 0 (the term has no floor to decay to). There the data do not
  determine the exponent, and the prior is meant to decide.

Prints, per group: the number of exponents, how many lie outside the prior's central 95%
range, their log-median and log-sd (against the prior's 0.3 and 0.5), and their range;
the same for the terms' levels at the data's centre against `TERM_LEVEL_PRIOR` (``log(A
c_N^-alpha / c_y) ~ Normal(-2, 1.5)``, ``c`` the geometric means of the task's N, D and
loss: `bayes.data_centre`); then every task that is not clean, with its warnings.

    python benchmarks/exponent_prior.py
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.inference.bayes import TERM_EXPONENT_PRIOR, TERM_LEVEL_PRIOR
from nuts_datasets import tasks

EXPONENTS = ("alpha", "beta")
#: (scale, exponent, input) of Chinchilla's declared terms.
TERMS = (("A", "alpha", "N"), ("B", "beta", "D"))


def fitted_exponents() -> pd.DataFrame:
    """One row per (dataset, task): the fitted exponents, status, warnings and clean flag."""
    rows = []
    for name, df in tasks().items():
        if name.endswith("_8pt"):          # a subset of olmo_ladder's points
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the warnings are read from statistics()
            res = jf.fit(jf.models.chinchilla(), df, y="loss", by="task")
        st = res.statistics()
        p = res.params
        logc = np.log(df[["N", "D", "loss"]]).groupby(df["task"]).mean()   # data centres
        for t in p.index:
            w = str(st.loc[t, "warnings"]).strip()
            with np.errstate(divide="ignore"):
                levels = {f"level_{s}": float(np.log(p.loc[t, s]) - p.loc[t, k] * logc.loc[t, x]
                                              - logc.loc[t, "loss"]) for s, k, x in TERMS}
            rows.append(dict(dataset=name, task=t, **{k: float(p.loc[t, k]) for k in EXPONENTS},
                             **levels, status=st.loc[t, "status"], warnings=w,
                             clean=bool(st.loc[t, "status"] == "converged" and not w)))
    return pd.DataFrame(rows)


def compare(exps: np.ndarray) -> dict:
    """Summary of positive exponents ``exps`` against `TERM_EXPONENT_PRIOR`."""
    lo, hi = (float(v) for v in TERM_EXPONENT_PRIOR.icdf(np.array([0.025, 0.975])))
    le = np.log(exps)
    return dict(n=exps.size, outside_95=int(np.sum((exps < lo) | (exps > hi))),
                range_95=f"[{lo:.3f}, {hi:.3f}]", log_median=float(np.exp(np.median(le))),
                log_sd=float(le.std(ddof=1)), min=float(exps.min()), max=float(exps.max()))


def main() -> None:
    d = fitted_exponents()
    print(f"prior: LogNormal(log {np.exp(float(TERM_EXPONENT_PRIOR.loc)):.3g}, "
          f"{float(TERM_EXPONENT_PRIOR.scale):.3g})")
    out = {}
    for label, sel in (("clean fits", d.clean), ("other fits", ~d.clean)):
        e = d.loc[sel, list(EXPONENTS)].to_numpy().ravel()
        # A non-positive or runaway exponent (the degenerate valley, alpha ~ 30) has no
        # place on the prior's scale; it is counted, not compared.
        ok = (e > 0) & (e < 5)
        out[label] = dict(tasks=int(sel.sum()), **compare(e[ok]), left_out=int((~ok).sum()))
    print(pd.DataFrame(out).T.to_string(float_format=lambda v: f"{v:.3f}"))
    lo, hi = (float(v) for v in TERM_LEVEL_PRIOR.icdf(np.array([0.025, 0.975])))
    print(f"\nlevels at the data centre, prior Normal({float(TERM_LEVEL_PRIOR.loc):g}, "
          f"{float(TERM_LEVEL_PRIOR.scale):g}), 95% range [{lo:.2f}, {hi:.2f}]:")
    for label, sel in (("clean fits", d.clean), ("other fits", ~d.clean)):
        v = d.loc[sel, ["level_A", "level_B"]].to_numpy().ravel()
        v = v[np.isfinite(v)]
        print(f"  {label}: {v.size} levels, {int(np.sum((v < lo) | (v > hi)))} outside; mean "
              f"{v.mean():.2f}, sd {v.std(ddof=1):.2f}, range {v.min():.2f} to {v.max():.2f}")
    print("\nper dataset (clean fits):")
    print(d[d.clean].groupby("dataset")[list(EXPONENTS)].agg(["min", "median", "max"])
          .round(3).to_string())
    print("\nnot clean:")
    print(d.loc[~d.clean, ["dataset", "task", *EXPONENTS, "status", "warnings"]]
          .round(3).to_string(index=False, max_colwidth=70))


if __name__ == "__main__":
    main()
