"""Independent numpy/scipy reference for fitting the Chinchilla scaling law.

Used as an oracle by the test-suite and by ``benchmarks/fit_throughput.py``.
It deliberately imports neither ``jax`` nor ``jaxfit``.

The model is the parametric loss of Hoffmann et al. (2022), "Training
Compute-Optimal Large Language Models", ``L(N, D) = E + A / N**alpha +
B / D**beta``, fitted in log space with a Huber loss as in Hoffmann et al.
(2022, App. D.2) and its replication by Besiroglu et al. (2024), "Chinchilla
Scaling: A replication attempt" (Epoch AI). Parameters are ordered
``theta = (a, b, e, alpha, beta)`` with ``a = log A``, ``b = log B``,
``e = log E``.
"""

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber, logsumexp, softmax

DEFAULT_OPTIONS = {}
TIGHT_OPTIONS = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000, "maxfun": 50000}


def chinchilla_objective(theta, logN, logD, logy, delta=1e-3, weights=None):
    """Huber objective of the Chinchilla law in log space, with its gradient.

    Args:
        theta: Array-like ``(a, b, e, alpha, beta)``.
        logN: Log parameter counts, shape ``[n]``.
        logD: Log token counts, shape ``[n]``.
        logy: Log observed losses, shape ``[n]``.
        delta: Huber threshold (same convention as ``scipy.special.huber``).
        weights: Optional per-point weights, shape ``[n]``; defaults to ones.

    Returns:
        Tuple ``(f, grad)`` with ``f = sum_i w_i * huber(logy_i - logLhat_i)``
        (a float) and its analytic gradient w.r.t. ``theta`` (shape ``[5]``).
    """
    a, b, e, alpha, beta = np.asarray(theta, dtype=np.float64)
    logN, logD, logy = (np.asarray(x, dtype=np.float64) for x in (logN, logD, logy))
    w = np.ones_like(logy) if weights is None else np.asarray(weights, np.float64)
    u = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
    log_pred = logsumexp(u, axis=0)
    p = softmax(u, axis=0)  # d log_pred / d u
    r = logy - log_pred
    f = float(np.sum(w * huber(delta, r)))
    g = -w * np.clip(r, -delta, delta)  # d f / d log_pred
    grad = np.array([
        np.sum(g * p[0]),
        np.sum(g * p[1]),
        np.sum(g * p[2]),
        -np.sum(g * p[0] * logN),
        -np.sum(g * p[1] * logD),
    ])
    return f, grad


def fit_scipy(starts, logN, logD, logy, delta=1e-3, weights=None, tight=False):
    """Minimise :func:`chinchilla_objective` with L-BFGS-B from several starts.

    Args:
        starts: Initial points, shape ``[S, 5]`` in ``(a, b, e, alpha, beta)``.
        logN, logD, logy, delta, weights: As in :func:`chinchilla_objective`.
        tight: If False use scipy's default options; if True use
            ``TIGHT_OPTIONS`` (ftol=1e-15, gtol=1e-12, maxiter=10000,
            maxfun=50000).

    Returns:
        Dict with ``best_theta`` ``[5]``, ``best_f`` (float), ``thetas``
        ``[S, 5]``, ``fs`` ``[S]`` (non-finite results set to ``+inf``) and
        ``nit`` ``[S]`` (L-BFGS-B iterations per start).
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    options = TIGHT_OPTIONS if tight else DEFAULT_OPTIONS
    args = (logN, logD, logy, delta, weights)
    thetas = np.empty_like(starts)
    fs = np.empty(len(starts))
    nit = np.zeros(len(starts), dtype=int)
    for i, x0 in enumerate(starts):
        with np.errstate(all="ignore"):
            res = minimize(chinchilla_objective, x0, args=args, jac=True,
                           method="L-BFGS-B", options=options)
        thetas[i], nit[i] = res.x, res.nit
        ok = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
        fs[i] = float(res.fun) if ok else np.inf
    best = int(np.argmin(fs))
    return dict(best_theta=thetas[best].copy(), best_f=float(fs[best]),
                thetas=thetas, fs=fs, nit=nit)


def hoffmann_grid():
    """Initialisation grid of Hoffmann et al. (2022) / Besiroglu et al. (2024).

    Returns:
        Array ``[4500, 5]`` in ``(a, b, e, alpha, beta)`` order with
        ``alpha, beta in {0, 0.5, ..., 2}``, ``e in {-1, -0.5, ..., 1}`` and
        ``a, b in {0, 5, ..., 25}``.
    """
    ab = np.arange(0.0, 25.0 + 1e-9, 5.0)
    e = np.arange(-1.0, 1.0 + 1e-9, 0.5)
    ex = np.arange(0.0, 2.0 + 1e-9, 0.5)
    mesh = np.meshgrid(ab, ab, e, ex, ex, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def random_starts(n, seed):
    """Uniform random starts in the box spanned by :func:`hoffmann_grid`.

    Args:
        n: Number of starts.
        seed: Seed for ``numpy.random.default_rng``.

    Returns:
        Array ``[n, 5]``: ``a, b ~ U(0, 25)``, ``e ~ U(-1, 1)``,
        ``alpha, beta ~ U(0, 2)``.
    """
    lo = np.array([0.0, 0.0, -1.0, 0.0, 0.0])
    hi = np.array([25.0, 25.0, 1.0, 2.0, 2.0])
    return np.random.default_rng(seed).uniform(lo, hi, size=(n, 5))


def make_synthetic_tasks(n_tasks, seed=0, noise=(0.01, 0.05), points=(20, 100)):
    """Ragged synthetic Chinchilla-law tasks around Hoffmann et al.'s estimates.

    Per task: ``E ~ U(1.5, 2)``, ``A = 406.4 exp(U(-.5, .5))``,
    ``B = 410.7 exp(U(-.5, .5))``, ``alpha ~ U(.28, .40)``,
    ``beta ~ U(.25, .38)``, ``sigma ~ U(*noise)`` and ``n ~ U{points}``
    (inclusive) points with N log-uniform in [5e7, 1e10] and D log-uniform in
    [1e9, 3e11], independently; ``loss = L(N, D) * exp(sigma * z)``, ``z ~ N(0, 1)``.

    Args:
        n_tasks: Number of tasks.
        seed: Seed for ``numpy.random.default_rng``; output is deterministic.
        noise: ``(low, high)`` range of the multiplicative log-noise scale.
        points: ``(low, high)`` inclusive range of points per task.

    Returns:
        ``(df, truth)``: long DataFrame with columns ``task, N, D, loss`` and a
        DataFrame indexed by ``task`` with columns ``A, B, E, alpha, beta, sigma``.
    """
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    for t in range(n_tasks):
        E = rng.uniform(1.5, 2.0)
        A = 406.4 * np.exp(rng.uniform(-0.5, 0.5))
        B = 410.7 * np.exp(rng.uniform(-0.5, 0.5))
        alpha, beta = rng.uniform(0.28, 0.40), rng.uniform(0.25, 0.38)
        sigma = rng.uniform(*noise)
        n = int(rng.integers(points[0], points[1], endpoint=True))
        N = np.exp(rng.uniform(np.log(5e7), np.log(1e10), n))
        D = np.exp(rng.uniform(np.log(1e9), np.log(3e11), n))
        loss = (E + A / N**alpha + B / D**beta) * np.exp(sigma * rng.standard_normal(n))
        frames.append(pd.DataFrame({"task": t, "N": N, "D": D, "loss": loss}))
        rows.append(dict(task=t, A=A, B=B, E=E, alpha=alpha, beta=beta, sigma=sigma))
    df = pd.concat(frames, ignore_index=True)
    return df, pd.DataFrame(rows).set_index("task")


def error_law_objective(theta, L, y, delta=1e-3):
    """Huber objective of the over-training error law of Gadre et al. (2024), in log space.

    ``Err(L) = eps - k exp(-gamma L)`` (their eq. 4: top-1 error as a function of the C4
    loss ``L``), ``theta = (log eps, log k, log gamma)`` (jaxfit's unconstrained
    coordinates of three positive parameters), ``f = sum_i huber(log Err(L_i) - log y_i)``
    (``scipy.special.huber``). Where ``Err <= 0`` the objective is ``inf``.
    """
    eps, k, gamma = np.exp(np.asarray(theta, dtype=np.float64))
    with np.errstate(all="ignore"):
        r = np.log(eps - k * np.exp(-gamma * np.asarray(L))) - np.log(np.asarray(y))
        f = float(np.sum(huber(delta, r)))
    return f if np.isfinite(f) else np.inf


def fit_scipy_nelder_mead(fun, starts, args=(), polish=3):
    """Minimise ``fun(theta, *args)`` by Nelder-Mead from every start, then restart the
    best ``polish`` times (Nelder-Mead handles the Huber objective's kinks).

    Returns:
        ``(best_f, best_theta)``.
    """
    opts = dict(xatol=1e-10, fatol=1e-16, maxiter=4000, maxfev=8000)
    best = None
    with np.errstate(all="ignore"):
        for x0 in np.atleast_2d(np.asarray(starts, dtype=np.float64)):
            res = minimize(fun, x0, args=args, method="Nelder-Mead", options=opts)
            if best is None or res.fun < best.fun:
                best = res
        for _ in range(polish):
            best = minimize(fun, best.x, args=args, method="Nelder-Mead", options=opts)
    return float(best.fun), best.x


def theta_to_params(theta):
    """Map ``(a, b, e, alpha, beta)`` to a dict with keys ``A, B, E, alpha, beta``."""
    a, b, e, alpha, beta = (float(v) for v in theta)
    return dict(A=np.exp(a), B=np.exp(b), E=np.exp(e), alpha=alpha, beta=beta)


if __name__ == "__main__":
    # Self-check: analytic gradient vs central finite differences.
    df, truth = make_synthetic_tasks(3, seed=1)
    rng = np.random.default_rng(0)
    for t, g in df.groupby("task"):
        logN, logD, logy = np.log(g.N.values), np.log(g.D.values), np.log(g.loss.values)
        w = rng.uniform(0.5, 2.0, len(g))
        for theta in [random_starts(1, t)[0], np.array([6.0, 6.0, 0.5, 0.34, 0.28])]:
            for delta, wt in [(1e-3, None), (0.1, w), (10.0, w)]:
                _, grad = chinchilla_objective(theta, logN, logD, logy, delta, wt)
                fd, h = np.empty(5), 1e-6
                for k in range(5):
                    dx = np.zeros(5)
                    dx[k] = h
                    fp = chinchilla_objective(theta + dx, logN, logD, logy, delta, wt)[0]
                    fm = chinchilla_objective(theta - dx, logN, logD, logy, delta, wt)[0]
                    fd[k] = (fp - fm) / (2 * h)
                err = np.max(np.abs(grad - fd)) / max(1.0, np.max(np.abs(fd)))
                assert err < 1e-5, (t, theta, delta, grad, fd)
    assert hoffmann_grid().shape == (4500, 5)
    print("gradient check OK")
