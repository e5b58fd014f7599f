"""Synthetic tasks with known truth for the Bayesian and bootstrap tests."""

import numpy as np
import pandas as pd

import jaxfit as jf

CHINCHILLA = jf.models.chinchilla()
SIGMOID = jf.models.sigmoid()

#: A held-out extrapolation point: larger N and D than any fitted point.
FAR = {"N": 3e10, "D": 3e12}


def chinchilla_tasks(tasks: int, points: int, sigma: float = 0.01, seed: int = 0):
    """Well-posed Chinchilla-form tasks around Epoch's fit, with log-normal noise.

    Per task: ``E ~ U(1.6, 2)``, ``alpha, beta ~ U(0.28, 0.40)``, and the two reducible
    terms at the centre of the data, ``A / N0^alpha`` and ``B / D0^beta`` (N0 = 10^8.5,
    D0 = 10^10.5), ``~ U(0.2, 0.6)`` so that both terms are visible in the data (Epoch's
    fit gives 0.47 and 0.32); ``points`` points with N log-uniform in [1e7, 1e10] and D in
    [1e9, 1e12]; ``loss = L(N, D) exp(sigma z)``.

    Returns:
        (df with columns task, N, D, loss; truth DataFrame indexed by task).
    """
    rng = np.random.default_rng(seed)
    alpha, beta = rng.uniform(0.28, 0.40, tasks), rng.uniform(0.28, 0.40, tasks)
    truth = pd.DataFrame({
        "A": rng.uniform(0.2, 0.6, tasks) * 10 ** (8.5 * alpha),
        "B": rng.uniform(0.2, 0.6, tasks) * 10 ** (10.5 * beta),
        "E": rng.uniform(1.6, 2.0, tasks), "alpha": alpha, "beta": beta})
    N = 10 ** rng.uniform(7, 10, (tasks, points))
    D = 10 ** rng.uniform(9, 12, (tasks, points))
    mean = chinchilla_mean(truth, N, D)
    loss = mean * np.exp(sigma * rng.standard_normal(N.shape))
    df = pd.DataFrame({"task": np.repeat(np.arange(tasks), points), "N": N.ravel(),
                       "D": D.ravel(), "loss": loss.ravel()})
    return df, truth


def chinchilla_mean(truth: pd.DataFrame, N, D) -> np.ndarray:
    """True L(N, D) per task (rows of ``truth``), broadcast over trailing axes of N, D."""
    p = {k: truth[k].to_numpy().reshape((-1,) + (1,) * (np.ndim(N) - 1)) for k in truth}
    return p["E"] + p["A"] / np.asarray(N) ** p["alpha"] + p["B"] / np.asarray(D) ** p["beta"]


def shared_alpha_tasks():
    """4 Chinchilla tasks with alpha = 0.34 and E = 1.8 in common (A, B, beta differ), 60
    points each, 1% log-normal noise: the pooled/shared (plated) NUTS case of
    tests/test_bayes_model.py and benchmarks/plated_nuts.py."""
    df, truth = chinchilla_tasks(4, 60, seed=5)
    truth["alpha"], truth["E"] = 0.34, 1.8
    rng = np.random.default_rng(6)
    N, D = df.N.to_numpy().reshape(4, 60), df.D.to_numpy().reshape(4, 60)
    df["loss"] = (chinchilla_mean(truth, N, D) * np.exp(0.01 * rng.standard_normal(N.shape))
                  ).ravel()
    return df, truth


def sigmoid_tasks(tasks: int, points: int, sigma: float = 0.01, seed: int = 0,
                  loss_range=(2.0, 4.0), noise: str = "normal"):
    """Loss -> accuracy tasks: ``acc = a sigmoid(k (L - L0)) + b`` plus noise.

    Per task: ``a ~ U(-0.7, -0.5)``, ``k ~ U(2.5, 3.5)``, ``L0 ~ U(2.6, 3.0)``,
    ``b ~ U(0.8, 0.9)``; L uniform in ``loss_range``. Noise: ``"normal"`` adds
    ``sigma z``; ``"beta"`` draws ``acc ~ Beta(mu / sigma^2, (1 - mu) / sigma^2)`` (the
    Beta likelihood of `jaxfit.inference.bayes`: sd ~ sigma sqrt(mu (1 - mu))).
    """
    rng = np.random.default_rng(seed)
    truth = pd.DataFrame({"a": rng.uniform(-0.7, -0.5, tasks), "k": rng.uniform(2.5, 3.5, tasks),
                          "L0": rng.uniform(2.6, 3.0, tasks), "b": rng.uniform(0.8, 0.9, tasks)})
    L = rng.uniform(*loss_range, (tasks, points))
    mu = sigmoid_mean(truth, L)
    if noise == "beta":
        acc = rng.beta(mu / sigma**2, (1 - mu) / sigma**2)
    else:
        acc = mu + sigma * rng.standard_normal(L.shape)
    df = pd.DataFrame({"task": np.repeat(np.arange(tasks), points), "L": L.ravel(),
                       "acc": acc.ravel()})
    return df, truth


def sigmoid_mean(truth: pd.DataFrame, L) -> np.ndarray:
    p = {k: truth[k].to_numpy().reshape((-1,) + (1,) * (np.ndim(L) - 1)) for k in truth}
    return p["a"] / (1 + np.exp(-p["k"] * (np.asarray(L) - p["L0"]))) + p["b"]


def interval_covers(pred: pd.DataFrame, true) -> pd.Series:
    """Whether each row's credible interval (``credible_lower``/``credible_upper``) holds
    ``true``."""
    return (pred.credible_lower <= true) & (true <= pred.credible_upper)
