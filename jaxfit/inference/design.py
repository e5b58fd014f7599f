"""Design and identifiability checks at a fit's optimum: can the data pin the law down?

Every check works for any law, from the Jacobian ``J`` of the law's prediction (in the
fit's residual space, log or linear) with respect to the unconstrained parameters at the
optimum. Rows are weighted by ``sqrt(w)`` (points with weight 0 drop out); each column
is scaled by the width of its Param's init range in the unconstrained space, so that one
unit is "the parameter's plausible range" whatever its units. Per task:

1. **Degrees of freedom** ``dof`` = points with weight > 0 minus free parameters. At
   ``dof <= 0`` the law interpolates its points: neither the noise nor the parameters'
   uncertainty can be estimated (5 Chinchilla points for 5 parameters fit to 1e-24).
2. **Unidentified directions**: right singular vectors ``v`` of ``J`` whose singular
   value ``s`` is below ``SINGULAR_RTOL`` = 1e-6 times the largest (``J`` singular for
   practical purposes: the Gauss-Newton Hessian ``J^T J`` has a condition number above
   1e12, and even an exact fit, stopped at residuals of 1e-8, leaves the parameters
   along ``v`` uncertain by more than 1% of their range), or whose standard error ``sigma / s``
   exceeds ``SE_MAX`` init-range widths (the data cannot place that combination inside
   its plausible range; ``sigma`` is the residual RMS scaled to ``dof``, the usual
   least-squares estimate). The parameters with the largest components of ``v`` are
   named: "A and alpha trade off". This is Belsley et al.'s (1980) collinearity
   diagnostic on a scaled Jacobian, with an absolute (precision) and a statistical
   threshold.
3. **Too few levels of an input**: for each input ``X``, ``J`` is recomputed with every
   point repeated at new levels of ``X`` (its value times ``exp(+-LEVEL_STEP)`` for a
   positive input, plus or minus ``LEVEL_STEP`` times its spread otherwise; same total
   weight). When ``X`` has no more distinct levels than the law has parameters, an
   unidentified direction that this design identifies (a singular one: lifted above
   ``LEVEL_RTOL``, well clear of rounding) is one the data's levels of ``X`` leave open:
   the fix is "add points at new levels of X" (a bootstrap or fit on points whose D
   values are all equal cannot separate B and beta).

Parameters at a constraint bound (their unconstrained derivative vanishes; `jaxfit.fit`
reports them with a `BoundWarning`) and parameters shared across tasks (identified by the
joint fit, not by one task) are held fixed in checks 2 and 3.

The array math runs in one jit-compiled call per law; `Issue` values describe what was
found and `describe` turns them into the warning text.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxfit.inference import cache
from jaxfit.inference.objective import EXACT_RTOL, residuals, unpack
from jaxfit.inference.starts import init_box
from jaxfit.law import Law

__all__ = ["SINGULAR_RTOL", "SE_MAX", "LEVEL_STEP", "Issue", "check", "describe",
           "messages", "resample_issues", "resample_message"]

#: A direction is singular when its scaled singular value is below this times the largest:
#: an exact fit, which the solvers stop at residuals of ``EXACT_RTOL`` (1e-8) times the
#: data scale, then leaves it uncertain by more than 1% of its init range, and the
#: Gauss-Newton Hessian's condition number exceeds 1e12. (The Chinchilla fit to Epoch's
#: 240 points has 4e-3; noisy data are judged by ``SE_MAX`` long before this.)
SINGULAR_RTOL = 100 * EXACT_RTOL
#: ... or uncertain when its standard error exceeds this many init-range widths.
SE_MAX = 1.0
#: New levels of an input for check 3: x * exp(+-LEVEL_STEP), or x +- LEVEL_STEP * spread.
LEVEL_STEP = 0.5
#: A singular direction is left open by an input's levels when new levels lift its
#: singular value above this times the largest (rounding leaves it near 1e-16).
LEVEL_RTOL = 1e-12
#: Parameters whose |component| is at least this fraction of the largest are named.
DOMINANT = 0.2
#: Tasks per block of `check` (bounded memory for many tasks).
CHECK_BLOCK = 8192
#: Bootstrap: a refit's noise scale is ~0 below this times the data scale (1 in log
#: space, the RMS of y in linear space) ...
SIGMA_COLLAPSE = 1e-6
#: ... and a resample check warns when more than this fraction of refits is affected.
RESAMPLE_FRACTION = 0.01


class Issue(NamedTuple):
    """One design problem of one task.

    Attributes:
        kind: "dof" (no residual degrees of freedom), "levels" (an input has too few
            distinct levels for ``params``), "singular" (``params`` trade off: the
            Jacobian is singular along a combination of them) or "uncertain" (the data
            leave a combination of ``params`` uncertain beyond their init ranges).
        params: the parameters concerned (largest components first).
        input: the input whose levels are too few ("levels" only).
        value: dof ("dof"), distinct levels ("levels"), the smallest relative singular
            value ("singular") or the largest standard error in init-range widths
            ("uncertain").
    """

    kind: str
    params: tuple[str, ...] = ()
    input: str | None = None
    value: float = 0.0

    def __str__(self) -> str:
        names = ",".join(self.params)
        if self.kind == "dof":
            return f"dof={int(self.value)}"
        if self.kind == "levels":
            return f"{self.input}: {int(self.value)} level(s) for {names}"
        return f"{self.kind}: {names}"


def _together(names) -> str:
    names = list(names)
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(issue: Issue, n_params: int = 0) -> str:
    """The warning text of an `Issue`: what is wrong and the fix."""
    names = _together(issue.params)
    fix_params = (f"fix {'one of them' if len(issue.params) > 1 else 'it'} with "
                  "jaxfit.fix, or share it across tasks with jaxfit.share")
    if issue.kind == "dof":
        return (f"{int(issue.value)} residual degrees of freedom (points with weight > 0 "
                f"minus {n_params} free parameters): the law interpolates the points, so "
                "neither the noise nor the parameters' uncertainty can be estimated. Fix: "
                "add points, or fix parameters with jaxfit.fix (or share them across "
                "tasks with jaxfit.share)")
    if issue.kind == "levels":
        return (f"{names} {'is' if len(issue.params) == 1 else 'are'} not identified: "
                f"input {issue.input!r} has {int(issue.value)} distinct level(s) among the "
                f"points. Fix: add points at new levels of {issue.input}, or {fix_params}")
    what = (f"{names} trade off" if len(issue.params) > 1
            else f"{names} has (almost) no effect on the predictions")
    if issue.kind == "singular":
        return (f"{what}: the Jacobian at the optimum is singular along that direction "
                f"(scaled singular value {issue.value:.1e} of the largest; threshold "
                f"{SINGULAR_RTOL:g}). Fix: {fix_params}, or add points that separate them")
    return (f"{what}: the data leave that combination uncertain by {issue.value:.3g} times "
            f"the parameters' init ranges (threshold {SE_MAX:g}). Fix: {fix_params}, or "
            "add points that separate them")


@functools.lru_cache(maxsize=64)
def _jacobian_fn(law: Law, space: str):
    """jit(vmap): (u [T, k], x {[T, P]}, y, w) -> (J [T, P, k], residuals [T, P])."""
    def one(u, x, y, w):
        def pred(v):
            return residuals(law, unpack(law, v), x, jnp.ones_like(y), space)

        ok = w > 0
        J = jax.jacfwd(pred)(u)
        J = jnp.where(ok[:, None] & jnp.isfinite(J), J, 0.0)
        r = jnp.where(ok, residuals(law, unpack(law, u), x, jnp.where(ok, y, 1.0), space),
                      0.0)
        return J, r

    return cache.jit(jax.vmap(one))


def _new_levels(law: Law, x: dict, w: np.ndarray, name: str, sign: float) -> dict:
    """The inputs with ``name`` moved to new levels (check 3)."""
    v = x[name]
    lo = law.input_bounds.get(name)
    if lo is not None:
        # geometric steps above the input's lower bound (0 for a positive input; an
        # input_above bound, e.g. D > 1, is kept too: the law is not defined below it)
        moved = lo + (v - lo) * np.exp(sign * LEVEL_STEP)
    else:
        real = w > 0
        n = np.maximum(real.sum(axis=1, keepdims=True), 1)
        mean = np.where(real, v, 0.0).sum(axis=1, keepdims=True) / n
        sd = np.sqrt(np.where(real, (v - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / n)
        spread = np.where(sd > 0, sd, np.maximum(0.1 * np.abs(mean), 1e-3))
        moved = v + sign * LEVEL_STEP * spread
    return {**x, name: np.where(w > 0, moved, v)}


def _directions(J, pin, sigma):
    """SVD of the scaled Jacobians [T, P, k] with the ``pin`` [T, k] columns held fixed
    (a row ``s_max e_i`` each): singular values, right singular vectors [T, k(dir), k],
    and the unidentified mask [T, k] with its kind ("singular" True, "uncertain" False)."""
    T, P, k = J.shape
    smax = np.linalg.norm(J, axis=(1, 2), ord=None)[:, None] + 1e-300     # Frobenius
    rows = np.einsum("tk,kj->tkj", pin * smax, np.eye(k))
    _, s, Vt = np.linalg.svd(np.concatenate([J, rows], axis=1), full_matrices=False)
    singular = s < SINGULAR_RTOL * s[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        se = sigma[:, None] / s
    uncertain = np.isfinite(sigma)[:, None] & (se > SE_MAX) & ~singular
    return s, Vt, singular, uncertain, se


def _named(law_names, v) -> tuple[str, ...]:
    a = np.abs(v)
    idx = [i for i in np.argsort(-a, kind="stable") if a[i] >= DOMINANT * a.max()]
    return tuple(law_names[i] for i in idx)


def check(law: Law, u, x: dict, y, w, space: str, exclude=None,
          n_free: np.ndarray | None = None,
          at_optimum=None) -> tuple[np.ndarray, list[tuple[Issue, ...]]]:
    """Design checks of every task at its optimum, `CHECK_BLOCK` tasks at a time.

    Args and returns as `check_block`. The blocks bound the memory of the Jacobians and
    their SVDs (all at once, 100,000 tasks of 20 points raised a fit's peak RSS by ~1.3 GB);
    the last block repeats the last task, so every block has one shape (one compile).
    """
    T = np.shape(u)[0]
    if T <= CHECK_BLOCK:
        return check_block(law, u, x, y, w, space, exclude, n_free, at_optimum)
    n_free = None if n_free is None else np.broadcast_to(np.asarray(n_free), (T,))

    def rows(a, i):
        return None if a is None else np.asarray(a)[i]

    dofs, out = [], []
    for lo in range(0, T, CHECK_BLOCK):
        i = np.minimum(np.arange(lo, lo + CHECK_BLOCK), T - 1)
        n = min(CHECK_BLOCK, T - lo)
        d, o = check_block(law, rows(u, i), {k: rows(v, i) for k, v in x.items()}, rows(y, i),
                           rows(w, i), space, rows(exclude, i), rows(n_free, i),
                           rows(at_optimum, i))
        dofs.append(d[:n])
        out.extend(o[:n])
    return np.concatenate(dofs), out


def check_block(law: Law, u, x: dict, y, w, space: str, exclude=None,
                n_free: np.ndarray | None = None,
                at_optimum=None) -> tuple[np.ndarray, list[tuple[Issue, ...]]]:
    """Design checks of every task at its optimum (all tasks at once).

    Args:
        law: the fitted law.
        u: [T, k] unconstrained optimum per task.
        x: input name -> [T, P] values; y, w: [T, P] targets and weights (0: padding).
        space: the fit's residual space.
        exclude: [T, k] parameters to hold fixed (at a bound, or shared across tasks).
        n_free: [T] free parameters per task for the dof (default: k).
        at_optimum: [T] tasks whose fit converged (default: all); the others get the
            dof and singular checks only (the residual scale away from an optimum says
            nothing about the noise).

    Returns:
        (dof [T], per task a tuple of `Issue`, empty when the design is fine).
    """
    u = np.asarray(u, np.float64)
    w = np.asarray(w, np.float64)
    T, k = u.shape
    names = law.param_names
    n_pts = (w > 0).sum(axis=1)
    dof = n_pts - (np.full(T, k) if n_free is None else np.asarray(n_free))
    pin = np.zeros((T, k), bool) if exclude is None else np.asarray(exclude, bool)
    lo, hi = init_box(law)
    width = np.maximum(hi - lo, 1e-12)
    fn = _jacobian_fn(law, space)

    def jac(xx):
        with jax.enable_x64(True):
            # device_put, not jnp.asarray: no conversion program to load in a new process
            J, r = fn(*jax.device_put((np.asarray(u), {n: np.asarray(v, np.float64)
                                                        for n, v in xx.items()},
                                       np.asarray(y, np.float64), np.asarray(w))))
            return np.asarray(J), np.asarray(r)

    J, r = jac(x)
    xs = {n: np.asarray(v, np.float64) for n, v in x.items()}
    scale = np.sqrt(w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
                    * np.maximum(n_pts, 1)[:, None])[..., None] * width        # [T, P, k]
    Js = J * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(dof > 0, np.sqrt((w * r * r).sum(axis=1) / w.sum(axis=1)
                                          * n_pts / np.maximum(dof, 1)), np.nan)
    s, Vt, singular, uncertain, se = _directions(Js, pin, sigma)
    bad = singular | uncertain                                              # [T, k]
    resolved = {}
    if bad.any():
        for name in law.inputs:
            Ja = [Js] + [jac(_new_levels(law, xs, w, name, sg))[0] * scale for sg in (-1, 1)]
            Ja = np.concatenate(Ja, axis=1) / np.sqrt(3.0)
            sa = _directions(Ja, pin, sigma)[0]
            t = np.linalg.norm(np.einsum("tpk,tjk->tjp", Ja, Vt), axis=-1)      # [T, dirs]
            with np.errstate(divide="ignore"):
                ok = (t >= SINGULAR_RTOL * sa[:, :1]) & ~(np.isfinite(sigma)[:, None]
                                                           & (sigma[:, None] / t > SE_MAX))
            # a singular direction that the new levels make visible above rounding
            resolved[name] = (singular & (t >= LEVEL_RTOL * sa[:, :1])) | (uncertain & ok)
    # a prediction <= 0 in log space leaves J finite but r NaN: no point to judge the design at
    finite = (np.all(np.isfinite(J), axis=(1, 2)) & np.all(np.isfinite(u), axis=1)
              & np.all(np.isfinite(r) | (w == 0), axis=1))
    if at_optimum is not None:          # away from an optimum only the singular test
        uncertain = uncertain & np.asarray(at_optimum, bool)[:, None]
    out = []
    for t in range(T):
        issues = []
        if dof[t] <= 0:
            issues.append(Issue("dof", (), None, float(dof[t])))
        if not finite[t]:
            out.append(tuple(issues))
            continue
        left = bad[t].copy()
        for name, res in resolved.items():
            levels = len(np.unique(xs[name][t][w[t] > 0]))
            if res[t].any() and levels <= k:
                params = _union(_named(names, Vt[t, j]) for j in np.flatnonzero(res[t]))
                issues.append(Issue("levels", params, name, float(levels)))
                left &= ~res[t]
        for kind, mask, value in (("singular", singular[t] & left,
                                   lambda m: float(np.min(s[t][m]) / s[t, 0])),
                                  ("uncertain", uncertain[t] & left,
                                   lambda m: float(np.max(se[t][m])))):
            if mask.any():
                params = _union(_named(names, Vt[t, j]) for j in np.flatnonzero(mask))
                issues.append(Issue(kind, params, None, value(mask)))
        out.append(tuple(issues))
    return dof, out


def _union(groups) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for g in groups for n in g))


def resample_issues(w_resampled, sigma, y, w, space: str, n_params: int):
    """Bootstrap resamples that cannot identify the law.

    Args:
        w_resampled: [n, T, P] resample weights (counts times weights; 0: not drawn).
        sigma: [n, T] each refit's RMS residual.
        y, w: [T, P] the data's targets and weights.
        space: the residual space.
        n_params: free parameters of the law.

    Returns:
        ([T] fraction of resamples with no more distinct points than parameters, [T]
        fraction whose noise scale is ~0: below ``SIGMA_COLLAPSE`` times the data scale,
        1 in log space and the RMS of y in linear space).
    """
    y, w = np.asarray(y, np.float64), np.asarray(w, np.float64)
    scale = (np.ones(len(y)) if space == "log" else
             np.sqrt((np.where(w > 0, w * y * y, 0.0)).sum(axis=1) / w.sum(axis=1)))
    distinct = (np.asarray(w_resampled) > 0).sum(axis=-1)                  # [n, T]
    few = (distinct <= n_params).mean(axis=0)
    flat = (np.asarray(sigma) <= SIGMA_COLLAPSE * scale[None]).mean(axis=0)
    return few, flat


def messages(tasks, issues, n_params: int, limit: int = 10) -> list[str]:
    """One warning text per kind of problem, naming the tasks that have it.

    Args:
        tasks: task labels.
        issues: per task a tuple of `Issue` (from `check`).
        n_params: free parameters of the law (for the dof text).
        limit: task labels listed per message.
    """
    groups: dict[tuple, list] = {}
    for label, task_issues in zip(tasks, issues):
        for i in task_issues:
            groups.setdefault((i.kind, i.params, i.input), []).append((label, i))
    out = []
    for members in groups.values():
        labels = [m[0] for m in members]
        worst = members[0][1]
        if worst.kind in ("dof", "levels", "singular"):
            worst = min((m[1] for m in members), key=lambda i: i.value)
        else:
            worst = max((m[1] for m in members), key=lambda i: i.value)
        out.append(f"{len(labels)} task(s) {labels[:limit]} poorly identified: "
                   f"{describe(worst, n_params)}.")
    return out


def resample_message(tasks, w_resampled, sigma, y, w, space: str, n_params: int) -> str | None:
    """The bootstrap's warning text (`resample_issues`), None when no task's resamples
    are degenerate (more than ``RESAMPLE_FRACTION`` of them)."""
    few, flat = resample_issues(w_resampled, sigma, y, w, space, n_params)
    n_points = (np.asarray(w) > 0).sum(axis=1)
    labels = np.asarray(list(tasks), dtype=object)
    parts = []
    bad = few > RESAMPLE_FRACTION
    if bad.any():
        i = int(np.argmax(few))
        parts.append(f"in {int(bad.sum())} task(s) {list(labels[bad][:10])}, up to "
                     f"{few[i]:.0%} of resamples have no more distinct points than the "
                     f"{n_params} parameters (task {labels[i]!r} has {int(n_points[i])} "
                     "points): those refits interpolate")
    bad = flat > RESAMPLE_FRACTION
    if bad.any():
        i = int(np.argmax(flat))
        parts.append(f"in {int(bad.sum())} task(s) {list(labels[bad][:10])}, up to "
                     f"{flat[i]:.0%} of refits have a noise scale ~0 (RMS residual below "
                     f"{SIGMA_COLLAPSE:g} of the data scale)")
    if not parts:
        return None
    return ("bootstrap: " + "; ".join(parts) + ". The intervals understate the "
            "uncertainty. Fix: add points (more distinct points per task than parameters), "
            "fix parameters with jaxfit.fix, or use jaxfit.sample.")
