"""Fuzzing campaign of the public boundary (issue 16), longer than tests/test_fuzz.py.

Runs random invalid datasets and options through `jaxfit.fit`, `jaxfit.bootstrap` and
`jaxfit.sample`, invalid prediction inputs through `FitResult.predict`, and random valid
datasets (a power law on 20 points, Chinchilla's law on 30 ladder-like points; noise-free
or 1-2% noise) through `jaxfit.fit`, and counts:

- invalid inputs: how many raised ValueError (TypeError for non-DataFrame data), how many
  raised anything else (listed), how many returned a result (silent);
- valid fits: statuses, `converged` with a non-finite value or objective (must be 0),
  exceptions (must be 0), mutated DataFrames (must be 0), and the fraction of noise-free
  fits ending `converged` (an exact fit should converge; issue 16 measured 54%).

Usage: python benchmarks/fuzz.py [--invalid 3000] [--valid 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
jax.config.update("jax_enable_x64", True)

import fuzz_cases as fc  # noqa: E402

import jaxfit as jf  # noqa: E402
from jaxfit.inference.status import Status  # noqa: E402

ENTRIES = {
    "fit": lambda law, data, **kw: jf.fit(law, data, **kw),
    "bootstrap": lambda law, data, **kw: jf.bootstrap(law, data, n=8, **kw),
    "sample": lambda law, data, **kw: jf.sample(law, data, method="laplace", **kw),
}
ACCEPTS = {"fit": None, "bootstrap": {"keep", "screen_steps", "continuation"},
           "sample": {"refine", "keep", "max_steps", "ftol", "screen_steps", "reduction",
                      "method", "continuation"}}


def _outcome(fn, expect) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:  # noqa: BLE001 - counting every kind is the point
        return "ok" if type(e) is expect else f"{type(e).__name__}: {str(e)[:120]}"
    return "silent (no error)"


def invalid(n: int, rng) -> dict:
    counts = collections.Counter()
    other = collections.Counter()
    mutated = 0
    for _ in range(n):
        df, _ = fc.valid_frame(rng, 0.01)
        entry = list(ENTRIES)[int(rng.integers(3))]
        r = rng.uniform()
        if r < 0.45:
            kind = fc.DATA_KINDS[int(rng.integers(len(fc.DATA_KINDS)))]
            data, kw, exc = fc.corrupt_data(kind, df, rng)
            label = f"data:{kind}"
        elif r < 0.9:
            kind = fc.OPTION_KINDS[int(rng.integers(len(fc.OPTION_KINDS)))]
            if ACCEPTS[entry] and kind in ACCEPTS[entry]:
                entry = "fit"
            data, kw, exc = df, fc.bad_option(kind, rng), ValueError
            label = f"option:{kind}"
        else:
            kind = fc.PREDICT_KINDS[int(rng.integers(len(fc.PREDICT_KINDS)))]
            data = fc.bad_prediction(kind, rng)
            before = data.copy(deep=True)
            out = _outcome(lambda: FITTED.predict(data), ValueError)
            counts["predict", out == "ok"] += 1
            if out != "ok":
                other[f"predict:{kind}", out] += 1
            mutated += not data.equals(before)
            continue
        before = data.copy(deep=True) if isinstance(data, pd.DataFrame) else None
        out = _outcome(lambda: ENTRIES[entry](fc.LAW, data, **kw), exc)
        counts[entry, out == "ok"] += 1
        if out != "ok":
            other[f"{entry} {label}", out] += 1
        if before is not None:
            mutated += not data.equals(before)
    return dict(counts=counts, other=other, mutated=mutated)


def valid(n: int, rng) -> dict:
    rows = []
    for i in range(n):
        noise = [0.0, 0.0, 0.01, 0.02][i % 4]
        gen, law, kw = ((fc.valid_frame, fc.LAW, fc.FIT_KW) if i % 8 < 4 else
                        (fc.chinchilla_frame, fc.CHINCHILLA, {}))
        df, truth = gen(rng, noise)
        before = df.copy(deep=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = jf.fit(law, df, **kw)
        except Exception as e:  # noqa: BLE001
            rows.append(dict(law=law.name, noise=noise, status="exception", error=repr(e)))
            continue
        conv = bool(res.status[0] == Status.CONVERGED)
        rows.append(dict(
            law=law.name, noise=noise, status=Status(int(res.status[0])).name.lower(),
            objective=float(res.objective[0]),
            bad_converged=conv and not (np.isfinite(res.values).all()
                                        and np.isfinite(res.objective).all()),
            mutated=not df.equals(before)))
    return pd.DataFrame(rows)


FITTED = jf.FitResult(
    law=fc.LAW, tasks=pd.Index([0]), values=np.array([[400.0, 0.3, 1.7]]),
    objective=np.array([1e-4]), status=np.array([0], dtype=np.int32), steps=np.array([5]),
    grad_norm=np.array([0.0]), at_bound=np.zeros((1, 3), bool), identified=np.array([True]),
    options=dict(y="loss", by=None, x={}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invalid", type=int, default=3000)
    ap.add_argument("--valid", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    inv = invalid(args.invalid, rng)
    total = sum(inv["counts"].values())
    good = sum(v for (e, ok), v in inv["counts"].items() if ok)
    print(f"invalid inputs: {total} in {time.perf_counter() - t0:.1f} s; "
          f"{good} raised ValueError (TypeError for non-DataFrame data), "
          f"{total - good} did not; DataFrames mutated: {inv['mutated']}")
    for entry in [*ENTRIES, "predict"]:
        ok, bad = inv["counts"][entry, True], inv["counts"][entry, False]
        print(f"  {entry:10s} {ok + bad:5d} cases, {bad} not ValueError")
    for (label, out), k in inv["other"].most_common(20):
        print(f"  NOT OK x{k}: {label}: {out}")

    t0 = time.perf_counter()
    val = valid(args.valid, rng)
    print(f"\nvalid fits: {len(val)} in {time.perf_counter() - t0:.1f} s")
    print(val.groupby(["law", "noise"])["status"].value_counts().unstack(fill_value=0)
          .to_string())
    exc = (val.status == "exception").sum()
    print(f"exceptions: {exc}; converged with non-finite numbers: "
          f"{int(val.get('bad_converged', pd.Series(dtype=bool)).fillna(False).sum())}; "
          f"mutated: {int(val.get('mutated', pd.Series(dtype=bool)).fillna(False).sum())}")
    exact = val[val.noise == 0.0]
    frac = (exact.status == "converged").mean()
    print(f"noise-free fits ending converged: {(exact.status == 'converged').sum()} of "
          f"{len(exact)} ({frac:.1%})")
    if "objective" in val:
        stalled_exact = exact[(exact.status != "converged") & (exact.objective < 1e-12)]
        print(f"noise-free fits not converged at objective < 1e-12: {len(stalled_exact)}")


if __name__ == "__main__":
    main()
