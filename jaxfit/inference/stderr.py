"""Approximate standard errors of a point fit: a sandwich from the objective's Hessian.

A point fit minimises ``F(theta) = sum_i w_i rho(r_i(theta))`` (``rho``: Huber, squared or
absolute loss; ``r_i``: residuals in log or linear space). It is an M-estimator, and its
large-sample covariance is the sandwich (Huber 1967, "The behavior of maximum likelihood
estimates under nonstandard conditions"; White 1980 for least squares)::

    Cov(theta) ~ H^-1 B H^-1,
    H = sum_i w_i psi'(r_i) g_i g_i^T + sum_i w_i psi(r_i) d2r_i      (the Hessian of F)
    B = n / (n - k) sum_i w_i psi(r_i)^2 g_i g_i^T                      (the gradients' spread)

with ``psi = rho'``, ``g_i = dr_i / dtheta`` in the law's *constrained* units (the units of
``FitResult.params``), ``n`` the points with weight > 0 and ``k`` the free parameters.
The weights scale each point's terms in ``H`` and ``B``; they are not frequency weights:
a point of weight 3 is not three points (``n`` counts it once, and the bandwidth below uses
the unweighted residual quantiles), so standard errors differ from those of the data
with that row repeated (measured: B 1,465 against 1,999, E 0.055 against 0.077, for
weight 3 on 4 of 16 points; the estimates agree). The noise scale enters through ``psi``
and ``psi'``: for the squared loss ``B / H^2 ~ sigma^2`` (classical least squares, ``sigma^2`` the residual
variance); for Huber's ``rho_delta`` with ``delta`` far above the residuals the same;
with ``delta`` far below them (the Chinchilla default, ``delta = 1e-3`` on log residuals of
~0.005) ``psi(r_i)^2 -> delta^2`` and ``psi'`` counts residuals within ``+-delta``, so the
covariance tends to the least-absolute-deviations one, ``(J^T J)^-1 / (4 f(0)^2)`` with
``f(0)`` the residuals' density at 0 (``pi sigma^2 / 2 (J^T J)^-1`` for Normal noise of
scale ``sigma``).

``psi'`` is a step (Huber) or a spike (absolute loss), so the Hessian *at the optimum*
is a noisy count of the few residuals that happen to lie within ``+-delta`` (39 of
Chinchilla's 240 points). As in Powell's (1991) kernel sandwich for quantile regression
(Koenker 2005, "Quantile Regression", section 3.4.2, ``summary.rq(se="nid")``), ``psi'`` is
averaged over a window of half-width ``h`` around each residual: ``psi'_h(r) = |[r - h,
r + h] n [-delta, delta]| / 2h`` (``1{|r| <= h} / h`` for the absolute loss), with
Hall and Sheather's (1988) bandwidth ``h = (Q(1/2 + b) - Q(1/2 - b)) / 2``, ``Q`` the
residuals' quantiles and ``b = n^(-1/3) z^(2/3) (1.5 phi(0)^2)^(1/3)``, ``z = 1.96``.
The squared loss needs no smoothing. Measured on Epoch's Chinchilla points
(tests/test_bootstrap.py, 4,000 resamples), standard error / bootstrap robust standard
deviation (1.4826 MAD): A 1.07, B 0.96, E 1.02, alpha 1.06, beta 0.96; / plain standard
deviation: E 1.00, A 1.15, alpha 1.16, beta 0.79, B 0.50. The plain standard deviations of
B and beta are set by a heavy right tail along the near-degenerate B-beta direction
(corr(log B, beta) = 0.9997, excess kurtosis of beta 1.6; B's 95% interval 1,075-5,988
around 2,143, its largest draws 10,000-18,700 at beta 0.45-0.47). Those tail draws are
genuine optima of their resamples (a 4,500-start grid refit agrees), not a bootstrap
artefact; a linearised standard error describes the curvature at the optimum, i.e. the
core of the distribution, and cannot see the tail. (Without the smoothing, the Hessian at
the optimum gave 1.5x the bootstrap for A and alpha; with the expected ``psi'`` replaced by
its average over all points, 0.25-0.55x for every parameter: the points' residual scales
differ, and Powell's estimate keeps that.)

These are *approximate*: linearised at the optimum, and blind to poorly identified
directions beyond what the Hessian shows. A bootstrap (`jaxfit.bootstrap`) or a
posterior (`jaxfit.sample`) gives intervals that follow the objective's real shape.
Parameters held fixed in the computation (at a constraint bound) get NaN standard errors,
and the other parameters' standard errors are then *conditional* on them: they leave out
the held parameter's own uncertainty.

Parameters shared across tasks (`jaxfit.share`) are estimated by the joint objective
``sum_t F_t(theta_shared, theta_t)``; their covariance is that objective's sandwich
(`shared_covariance`) over the joint vector ``[theta_shared, theta_1, ..., theta_T]``,
whose Hessian and gradient spread are the tasks' own pieces summed into it (the tasks'
points are independent, so ``B`` has no cross-task blocks). Each task's ``[k, k]`` block
is then unconditional: the shared parameters' uncertainty is in its other parameters'
standard errors. (Before, the shared parameters were held, with NaN standard errors,
and e.g. a Chinchilla task's A with alpha shared had a standard error of 43, conditional
on alpha, against 680 when fitted alone, at corr(A, alpha) = 0.999.) The joint matrix is
inverted through its arrow structure (the Schur complement on the shared block), in
O(T k^3), and the small-sample factor is ``N / (N - K)`` with ``N`` the points of all the
tasks and ``K`` the joint vector's free parameters. Where the joint Hessian is not
positive definite, every task's covariance is NaN: the shared parameters' is then not
defined, and neither is any task's unconditional one.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfit.inference import cache
from jaxfit.inference.objective import residuals, safe_inputs
from jaxfit.law import Law

__all__ = ["bandwidth_fraction", "covariance", "jacobi_inverse", "log_likelihood", "pieces",
           "shared_covariance"]

#: z of the two-sided 95% level in Hall and Sheather's (1988) bandwidth.
_Z = 1.959963984540054


def bandwidth_fraction(n):
    """Hall and Sheather's (1988) bandwidth for the median, in probability units (capped
    at 0.49), for ``n`` points."""
    phi0 = 1.0 / np.sqrt(2 * np.pi)
    n = jnp.asarray(n, dtype=jnp.float64)
    return jnp.minimum(n ** (-1 / 3) * _Z ** (2 / 3) * (1.5 * phi0 ** 2) ** (1 / 3), 0.49)


def _psi(loss: str, delta: float, r, h):
    """rho'(r), the window-averaged rho''(r) (half-width h) of each loss."""
    if loss == "squared":
        return 2.0 * r, jnp.full_like(r, 2.0)
    if loss == "absolute":
        return jnp.sign(r), jnp.where(jnp.abs(r) <= h, 1.0 / h, 0.0)
    overlap = jnp.clip(jnp.minimum(r + h, delta) - jnp.maximum(r - h, -delta), 0.0, None)
    return jnp.clip(r, -delta, delta), overlap / (2.0 * h)


@functools.lru_cache(maxsize=64)
def _pieces_fn(law: Law, loss: str, delta: float, space: str):
    """jit(vmap): (theta [T, k], x, y, w) -> (H [T, k, k], B [T, k, k], r [T, P], h [T],
    F [T, k, k]) with ``F = sum_i w_i g_i g_i^T`` (the Gauss-Newton matrix)."""
    names = law.param_names

    def one(theta, x, y, w):
        x, y = safe_inputs(x, y, w)
        ok = w > 0

        def res(t):
            return residuals(law, dict(zip(names, t)), x, y, space)

        r = jnp.where(ok, res(theta), 0.0)
        J = jnp.where(ok[:, None], jax.jacfwd(res)(theta), 0.0)
        n = jnp.sum(ok)
        b = bandwidth_fraction(n)
        rq = jnp.where(ok, r, jnp.nan)
        h = 0.5 * (jnp.nanquantile(rq, 0.5 + b) - jnp.nanquantile(rq, 0.5 - b))
        h = jnp.maximum(h, 1e-12 * jnp.maximum(jnp.nanmax(jnp.abs(rq)), 1e-300))
        psi, dpsi = _psi(loss, delta, r, h)
        psi, dpsi = jnp.where(ok, psi, 0.0), jnp.where(ok, dpsi, 0.0)
        c = jax.lax.stop_gradient(w * psi)
        second = jax.hessian(lambda t: jnp.sum(jnp.where(ok, c * res(t), 0.0)))(theta)
        H = (J * (w * dpsi)[:, None]).T @ J + second
        G = J * psi[:, None]
        B = (G * w[:, None]).T @ G
        F = (J * w[:, None]).T @ J
        return H, B, r, h, F

    return cache.jit(jax.vmap(one))


def pieces(law: Law, values, x: dict, y, w, loss: str = "huber", delta: float = 1e-3,
           space: str = "log"):
    """The sandwich's pieces per task at ``values`` [T, k] (constrained), traceable JAX.

    Returns:
        ``(H, B, F, r)``: [T, k, k] the kernel-smoothed Hessian of the objective, the
        spread of its gradients (both as in the module docstring, ``B`` without the
        ``n / (n - k)`` factor) and ``F = sum_i w_i g_i g_i^T``; [T, P] the residuals
        (0 at padding).
    """
    H, B, r, _, F = _pieces_fn(law, loss, float(delta), space)(values, x, y, w)
    return H, B, F, r


def covariance(law: Law, values, x: dict, y, w, loss: str = "huber", delta: float = 1e-3,
               space: str = "log", hold=None):
    """Sandwich covariance of each task's parameters at its optimum (module docstring).

    Args:
        law: the fitted law; with ``law.shared`` parameters, the joint objective's
            sandwich over all tasks (`shared_covariance`).
        values: [T, k] constrained optimum per task (``FitResult.values``).
        x, y, w: the padded batch (input name -> [T, P], targets, weights; 0 = padding).
        loss, delta, space: the fit's objective.
        hold: optional [T, k] bool: parameters held fixed (their rows and columns are NaN).

    Returns:
        ``(cov [T, k, k], residuals [T, P], bandwidth [T])``; a task whose Hessian is not
        positive definite on its free parameters (or with no residual degrees of freedom)
        has NaN covariance (with shared parameters: every task, where the joint Hessian
        is not positive definite or the joint fit has no degrees of freedom).
    """
    values = np.asarray(values, dtype=np.float64)
    T, k = values.shape
    hold = np.zeros((T, k), bool) if hold is None else np.asarray(hold, bool)
    n = (np.asarray(w) > 0).sum(axis=1)
    with jax.enable_x64(True):
        fn = _pieces_fn(law, loss, float(delta), space)
        H, B, r, h, _ = fn(jnp.asarray(values), {n: jnp.asarray(v, dtype=jnp.float64)
                                                 for n, v in x.items()},
                           jnp.asarray(y, dtype=jnp.float64), jnp.asarray(w, dtype=jnp.float64))
        if law.shared:
            cov = shared_covariance(H, B, n, hold, np.isin(law.param_names, law.shared))
        else:
            cov = _sandwich(H, B, jnp.asarray(n), jnp.asarray(hold))
        cov, r, h = map(np.asarray, (cov, r, h))
    return cov, r, h


def _pd_inverse(M, rtol: float = 1e-14):
    """Inverse of each symmetric ``M`` [..., m, m] (numpy, Jacobi-scaled as
    `jacobi_inverse`) and whether it is positive definite (False where not finite)."""
    m = M.shape[-1]
    if m == 0:
        return M.copy(), np.ones(M.shape[:-2], bool)
    d = np.sqrt(np.abs(np.diagonal(M, axis1=-2, axis2=-1)))
    d = np.where(d > 0, d, 1.0)
    s = 1.0 / (d[..., :, None] * d[..., None, :])
    Ms = 0.5 * (M + np.swapaxes(M, -1, -2)) * s
    finite = np.all(np.isfinite(Ms), axis=(-2, -1))
    Ms = np.where(finite[..., None, None], Ms, np.eye(m))
    lam = np.linalg.eigvalsh(Ms)
    pd = finite & (lam[..., 0] > rtol * np.maximum(lam[..., -1], 1e-300))
    return np.linalg.inv(np.where(pd[..., None, None], Ms, np.eye(m))) * s, pd


def shared_covariance(H, B, n, hold, shared) -> np.ndarray:
    """The joint objective's sandwich, per task, for a fit with ``shared`` parameters.

    The joint vector is ``[shared (s), task 1's others, ..., task T's others]``; the
    joint Hessian is the tasks' ``H`` summed into it (the shared block ``A = sum_t
    H_t[s, s]``, the task blocks ``D_t = H_t[f, f]``, the couplings ``C_t = H_t[s, f]``),
    and so is ``B`` (no cross-task blocks: the tasks' points are independent). With
    ``S = A - sum_t C_t D_t^-1 C_t^T`` (the Schur complement), ``E_t = D_t^-1 C_t^T``,
    ``R_t = [I, -E_t^T]`` and ``Q_t = [0, D_t^-1]`` (in ``[s, f]`` order), the blocks of
    ``H^-1 B H^-1`` that a task's ``[k, k]`` covariance holds are::

        V_ss = W = S^-1 (sum_t R_t B_t R_t^T) S^-1
        V_st = -W E_t^T + Z_t,        Z_t = S^-1 R_t B_t Q_t^T
        V_tt = E_t W E_t^T - E_t Z_t - Z_t^T E_t^T + Q_t B_t Q_t^T

    times ``N / (N - K)`` (all points, the joint vector's free parameters). O(T k^3),
    never the dense ``[K, K]`` matrix; numpy on the host (no compile).

    Args:
        H, B: [T, k, k] each task's Hessian and gradient spread (`pieces`).
        n: [T] points with weight > 0.
        hold: [T, k] parameters held (at a bound; a shared one held if any task holds it).
        shared: [k] bool, the shared parameters.

    Returns:
        [T, k, k]: each task's parameters' covariance (the shared parameters' block is
        the same for every task); NaN on held parameters, and everywhere when the joint
        Hessian is not positive definite (not finite) or ``N <= K``.
    """
    H, B = np.asarray(H, np.float64), np.asarray(B, np.float64)
    hold, shared = np.asarray(hold, bool), np.asarray(shared, bool)
    T, k = H.shape[:2]
    order = np.concatenate([np.flatnonzero(shared), np.flatnonzero(~shared)])
    s = int(shared.sum())
    held = hold[:, order].copy()
    held[:, :s] = held[:, :s].any(axis=0)
    keep = ~held
    both = keep[:, :, None] & keep[:, None, :]
    Hp, Bp = H[:, order][:, :, order], B[:, order][:, :, order]
    # Jacobi scaling of the joint matrix (the shared block's diagonal is the tasks' sum)
    diag = np.abs(np.diagonal(Hp, axis1=1, axis2=2)).copy()
    diag[:, :s] = diag[:, :s].sum(axis=0)
    d = np.sqrt(np.where(keep & (diag > 0), diag, 1.0))
    sc = 1.0 / (d[:, :, None] * d[:, None, :])
    eye = np.broadcast_to(np.eye(k), (T, k, k))
    Hs = np.where(both, Hp * sc, 0.0)
    Hs = Hs + np.where(held[:, :, None] & held[:, None, :], eye, 0.0) / np.where(
        np.arange(k) < s, T, 1)[None, :, None]          # held: unit rows in the sum
    Bs = np.where(both, Bp * sc, 0.0)
    A = Hs[:, :s, :s].sum(axis=0)
    C, D = Hs[:, :s, s:], Hs[:, s:, s:]
    Di, ok = _pd_inverse(D)
    E = Di @ np.swapaxes(C, 1, 2)                                   # [T, f, s]
    Si, ok_s = _pd_inverse(A - (C @ E).sum(axis=0))
    R = np.concatenate([np.broadcast_to(np.eye(s), (T, s, s)), -np.swapaxes(E, 1, 2)], axis=2)
    Q = np.concatenate([np.zeros((T, k - s, s)), Di], axis=2)
    W = Si @ (R @ Bs @ np.swapaxes(R, 1, 2)).sum(axis=0) @ Si
    Z = Si @ R @ Bs @ np.swapaxes(Q, 1, 2)                          # [T, s, f]
    Et = np.swapaxes(E, 1, 2)
    Vst = -W @ Et + Z
    Vtt = (E @ W @ Et - E @ Z - np.swapaxes(Z, 1, 2) @ Et + Q @ Bs @ np.swapaxes(Q, 1, 2))
    V = np.concatenate([np.concatenate([np.broadcast_to(W, (T, s, s)), Vst], axis=2),
                        np.concatenate([np.swapaxes(Vst, 1, 2), Vtt], axis=2)], axis=1)
    N = int(np.sum(n))
    K = int(keep[0, :s].sum() + keep[:, s:].sum())
    good = bool(ok.all() and ok_s and N > K and np.all(np.isfinite(Bs)))
    V = 0.5 * (V + np.swapaxes(V, 1, 2)) * sc * (N / max(N - K, 1))
    V = np.where(both & good, V, np.nan)
    back = np.argsort(order)
    return V[:, back][:, :, back]


def jacobi_inverse(H, rtol: float):
    """Inverse of each symmetric ``H`` [..., k, k], computed and tested for positive
    definiteness with its diagonal scaled to 1 (Jacobi).

    The parameters' units differ by orders of magnitude (Chinchilla's B ~ 1e3-1e5 next to
    beta ~ 0.3), and unscaled, roundoff of order 1e-16 x the largest eigenvalue made a
    positive-definite Hessian look indefinite (eigenvalues [-3e-15, 3e-11, 0.07, 2.9, 24]
    for B ~ 2.4e5; scaled, the smallest is 7e-5).

    Returns:
        ``(Hi, s, pd)``: ``Hi`` the inverse of ``Hs = sym(H) * s`` (the identity's inverse
        where not ``pd``), ``s = 1 / (d_i d_j)`` with ``d = sqrt|diag H|`` (1 where 0), so
        ``H^-1 = Hi * s``; ``pd`` [...]: ``Hs``'s smallest eigenvalue exceeds ``rtol``
        times its largest (False where ``H`` is not finite).
    """
    k = H.shape[-1]
    d = jnp.sqrt(jnp.abs(jnp.diagonal(H, axis1=-2, axis2=-1)))
    d = jnp.where(d > 0, d, 1.0)
    s = 1.0 / (d[..., :, None] * d[..., None, :])
    Hs = 0.5 * (H + jnp.swapaxes(H, -1, -2)) * s
    lam = jnp.linalg.eigvalsh(Hs)
    pd = lam[..., 0] > rtol * jnp.maximum(lam[..., -1], 1e-300)
    Hi = jnp.linalg.inv(jnp.where(pd[..., None, None], Hs, jnp.eye(k, dtype=Hs.dtype)))
    return Hi, s, pd


@cache.jit
def _sandwich(H, B, n, hold):
    """``n / (n - k) H^-1 B H^-1`` on each task's free parameters (NaN elsewhere, and for
    the whole task where its Hessian is not positive definite or no degrees of freedom
    are left), all tasks at once."""
    free = ~hold
    both = free[:, :, None] & free[:, None, :]
    eye = jnp.eye(H.shape[-1], dtype=H.dtype)
    Hf = jnp.where(both, H, eye)                       # held parameters: unit rows
    Bf = jnp.where(both, B, 0.0)
    kf = jnp.sum(free, axis=-1)
    dof = n - kf
    Hi, s, pd = jacobi_inverse(Hf, 1e-14)
    Hi = Hi * s
    c = Hi @ Bf @ jnp.swapaxes(Hi, -1, -2) * (n / jnp.where(dof > 0, dof, 1))[:, None, None]
    diag = jnp.diagonal(H, axis1=-2, axis2=-1)
    ok = (pd & (kf > 0) & (dof > 0) & jnp.all(jnp.where(free, diag > 0, True), axis=-1)
          & jnp.all(jnp.isfinite(Hf), axis=(-2, -1)) & jnp.all(jnp.isfinite(Bf), axis=(-2, -1)))
    return jnp.where(ok[:, None, None] & both, 0.5 * (c + jnp.swapaxes(c, -1, -2)), jnp.nan)


def log_likelihood(r, w, loss: str, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Maximised log-likelihood per task of the loss's observation model, and its scale.

    The model whose maximum in the law's parameters is the point fit, with its scale at
    its maximum-likelihood value given the residuals (weights as frequency weights):
    squared -> Normal (``sigma^2`` = weighted mean square residual); absolute -> Laplace
    (``b`` = weighted mean |residual|); huber -> the Huber density
    ``exp(-rho_delta(r) / (delta sigma)) / Z(sigma, delta)`` of `jaxfit.sample`
    (`jaxfit.inference.bayes.Huber`), ``sigma`` maximised numerically. The density is
    that of the residual space's observations (``log y`` for ``space="log"``).

    Returns:
        ``(loglik [T], scale [T])``.
    """
    r = np.asarray(r, dtype=np.float64)
    w = np.where(np.asarray(w) > 0, np.asarray(w, dtype=np.float64), 0.0)
    n = w.sum(axis=1)
    if loss == "squared":
        s2 = (w * r * r).sum(axis=1) / n
        return -0.5 * n * (np.log(2 * np.pi * s2) + 1.0), np.sqrt(s2)
    if loss == "absolute":
        b = (w * np.abs(r)).sum(axis=1) / n
        return -n * (np.log(2 * b) + 1.0), b
    from jaxfit.inference.bayes import huber_log_normalizer, huber_rho, huber_scale

    with jax.enable_x64(True):
        sigma = huber_scale(jnp.asarray(r), jnp.asarray(w), delta)
        total = jnp.sum(w * huber_rho(jnp.asarray(np.where(w > 0, r, 0.0)), delta), axis=1)
        ll = -(total / (delta * sigma) + n * huber_log_normalizer(sigma, delta))
        ok = jnp.isfinite(total) & (n > 0)
        return (np.where(ok, np.asarray(ll), np.nan), np.where(ok, np.asarray(sigma), np.nan))
