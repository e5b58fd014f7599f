"""Random valid and invalid inputs for the fuzzing test (tests/test_fuzz.py) and its
longer benchmark (benchmarks/fuzz.py).

Valid data: one task of the power law ``E + A / N^alpha`` (3 parameters) on 20
ladder-like points (N log-spaced over 1.5-3 decades between 5e7 and 1.6e10), noise-free
or with 1-2% log-normal noise; every valid dataset has the same shape, so one compiled
fit serves them all. Invalid cases corrupt a valid dataset or one option in one of the
ways a user does (`DATA_KINDS`, `OPTION_KINDS`); each must raise ValueError (TypeError
only for data that is not a DataFrame) before anything is fitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import jaxfit as jf

LAW = jf.models.power_law("N")
POINTS = 20
#: Options of every valid fit (fixed: one compile).
FIT_KW = dict(restarts=8, max_steps=300)


def valid_frame(rng: np.random.Generator, noise: float) -> tuple[pd.DataFrame, dict]:
    """20 points of ``E + A / N^alpha`` with log-normal noise ``noise``; (df, truth)."""
    lo = 10 ** rng.uniform(np.log10(5e7), np.log10(1.6e10) - 1.5)
    hi = min(lo * 10 ** rng.uniform(1.5, 3.0), 1.6e10)
    N = np.geomspace(lo, hi, POINTS)
    alpha = rng.uniform(0.1, 0.6)
    E = rng.uniform(0.5, 3.0)
    A = rng.uniform(0.2, 2.0) * E * np.sqrt(lo * hi) ** alpha   # term ~ E at the centre
    loss = (E + A / N ** alpha) * np.exp(noise * rng.normal(size=POINTS))
    df = pd.DataFrame({"N": N, "loss": loss, "w": 1.0, "family": "a"})
    return df, dict(E=E, A=A, alpha=alpha)


CHINCHILLA = jf.models.chinchilla()
CHINCHILLA_POINTS = 30


def chinchilla_frame(rng: np.random.Generator, noise: float) -> tuple[pd.DataFrame, dict]:
    """30 ladder-like points (N in 5e7..1.6e10, D in 5e9..5e11) of Chinchilla's law around
    Hoffmann et al.'s estimates, with log-normal noise ``noise``; (df, truth)."""
    N = 10 ** rng.uniform(np.log10(5e7), np.log10(1.6e10), CHINCHILLA_POINTS)
    D = 10 ** rng.uniform(np.log10(5e9), np.log10(5e11), CHINCHILLA_POINTS)
    t = dict(E=rng.uniform(1.5, 2.0), alpha=rng.uniform(0.25, 0.4), beta=rng.uniform(0.25, 0.4))
    t["A"] = rng.uniform(0.2, 0.6) * 10 ** (9 * t["alpha"])
    t["B"] = rng.uniform(0.2, 0.6) * 10 ** (10.7 * t["beta"])
    loss = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    df = pd.DataFrame({"N": N, "D": D, "loss": loss * np.exp(noise * rng.normal(size=len(N)))})
    return df, t


def _set(df, col, row, value):
    df = df.copy()
    numeric = pd.api.types.is_float_dtype(df[col]) or pd.api.types.is_integer_dtype(df[col])
    if numeric and isinstance(value, (int, float)):
        df[col] = df[col].astype(float)
    else:
        df[col] = df[col].astype(object)
    df.loc[df.index[row], col] = value
    return df


def corrupt_data(kind: str, df: pd.DataFrame, rng: np.random.Generator):
    """(data, kwargs, expected exception type) for data-level corruption ``kind``."""
    row = int(rng.integers(len(df)))
    col = ["N", "loss"][int(rng.integers(2))]
    if kind == "nan":
        return _set(df, col, row, np.nan), {}, ValueError
    if kind == "inf":
        return _set(df, col, row, [np.inf, -np.inf][int(rng.integers(2))]), {}, ValueError
    if kind == "nonpositive":
        return _set(df, col, row, -float(rng.uniform(0, 10)) * int(rng.integers(2))), {}, \
            ValueError
    if kind == "complex":
        return df.assign(**{col: df[col] * (1 + 1j * rng.uniform(0, 1))}), {}, ValueError
    if kind == "string":
        return df.assign(**{col: df[col].astype(str)}), {}, ValueError
    if kind == "na":
        return _set(df, col, row, pd.NA), {}, ValueError
    if kind == "nullable_na":
        s = pd.array(df[col].to_numpy(), dtype="Float64")
        s[row] = pd.NA
        return df.assign(**{col: s}), {}, ValueError
    if kind == "bool":
        return df.assign(**{col: df[col] > df[col].median()}), {}, ValueError
    if kind == "missing_column":
        return df.drop(columns=[col]), {}, ValueError
    if kind == "empty":
        return df.iloc[:0], {}, ValueError
    if kind == "too_few":
        return df.iloc[: int(rng.integers(1, 3))], {}, ValueError
    if kind == "negative_weight":
        return _set(df, "w", row, -1.0), {"weights": "w"}, ValueError
    if kind == "weights_length":
        return df, {"weights": np.ones(len(df) + int(rng.integers(1, 5)))}, ValueError
    if kind == "duplicate_column":
        return pd.concat([df, df[[col]]], axis=1), {}, ValueError
    if kind == "task_nan":
        return _set(df, "family", row, None), {"by": "family"}, ValueError
    if kind == "not_a_frame":
        return [df.to_numpy(), df.to_dict(), df["N"], None][int(rng.integers(4))], {}, TypeError
    raise KeyError(kind)


DATA_KINDS = ("nan", "inf", "nonpositive", "complex", "string", "na", "nullable_na", "bool",
              "missing_column", "empty", "too_few", "negative_weight", "weights_length",
              "duplicate_column", "task_nan", "not_a_frame")

#: option -> invalid values (each must give a ValueError naming the option).
BAD_OPTIONS = {
    "delta": [-1.0, 0.0, float("nan"), float("inf"), -1e-300, "1e-3", None],
    "restarts": [0, -1, 2.5, "8", None, True],
    "refine": [0, -2, 1.5],
    "keep": [0, -1, 0.5],
    "max_steps": [0, -10, 10.5, None],
    "ftol": [0.0, -1e-12, 1.0, 5.0, float("nan")],
    "screen_steps": [-1, 0.5],
    "seed": [-1, 1.5, "0", None],
    "method": ["bfgs", "", None, 1],
    "loss": ["l2", "Huber", None],
    "space": ["log10", "lin", None],
    "reduction": ["max", None],
    "init": ["lhs", "grid2", "", np.ones((3, 2)), {"foo": [1.0]}, np.full((2, 3), np.nan),
             {"A": [-1.0], "alpha": [0.3], "E": [1.0]}],
    "y": ["val_loss", None, ["loss"]],
    "x": [{"M": "N"}, "N", {"N": "params"}],
    "by": ["task", ["family", ["x"]]],
    "continuation": [(0.5,), (1.0,), (-3.0,)],
}
OPTION_KINDS = tuple(BAD_OPTIONS)


def bad_option(kind: str, rng: np.random.Generator):
    values = BAD_OPTIONS[kind]
    return {kind: values[int(rng.integers(len(values)))]}


def bad_prediction(kind: str, rng: np.random.Generator) -> pd.DataFrame:
    """A prediction frame for `LAW` that must be rejected."""
    n = 3                                   # one shape: predictions reuse one compile
    N = 10 ** rng.uniform(8, 12, n)
    row = int(rng.integers(n))
    df = pd.DataFrame({"N": N})
    if kind == "nonpositive":
        return _set(df, "N", row, -float(rng.uniform(0, 1e9)) * int(rng.integers(2)))
    if kind == "nan":
        return _set(df, "N", row, np.nan)
    if kind == "inf":
        return _set(df, "N", row, np.inf)
    if kind == "na":
        return _set(df, "N", row, pd.NA)
    if kind == "missing":
        return df.rename(columns={"N": "params"})
    if kind == "complex":
        return df.assign(N=df.N + 1j)
    if kind == "string":
        return df.assign(N=df.N.astype(str))
    raise KeyError(kind)


PREDICT_KINDS = ("nonpositive", "nan", "inf", "na", "missing", "complex", "string")
