"""`jaxfit.fit`: multi-start point fits of a law to a DataFrame, all tasks in one call."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from jaxfit import checks
from jaxfit.data import (Batch, by_option, check_law, make_batch, row_columns, task_at,
                         task_bucket)
from jaxfit.inference import design, floor
from jaxfit.inference.objective import make_objective
from jaxfit.inference.optimize import SolverOptions, minimize, pad_tasks, task_mesh
from jaxfit.inference.starts import grid_starts, random_starts, sobol_starts, user_starts
from jaxfit.inference.status import Status, reasons
from jaxfit.law import Law
from jaxfit.predictions import law_values
from jaxfit.result import FitResult
from jaxfit.warnings import (BoundWarning, ConvergenceWarning, DesignWarning,
                             IdentifiabilityWarning, warn_fit)

__all__ = ["fit", "make_starts", "warn_design"]

#: Near-best restarts (objective within this relative gap of the best) ...
NEAR_BEST = 1e-4
#: ... that differ by more than this relative amount in any parameter flag a task as
#: poorly identified.
DISAGREE = 1e-2
#: A parameter within this relative distance of a finite constraint bound, and beyond its
#: start range on that side, is "at bound" (`_at_bound`).
AT_BOUND = 1e-6


def make_starts(law: Law, init="random", restarts: int = 64, seed: int = 0) -> np.ndarray:
    """Starting points [S, k] in the unconstrained space.

    Args:
        law: the law.
        init: "grid" (the law's grid, e.g. Hoffmann's 4,500 points for chinchilla),
            "random" or "sobol" (``restarts`` points in each Param's init range), or user
            starts: an array [S, k] or a dict name -> values, in constrained units.
        restarts: number of random or Sobol starts.
        seed: random seed.
    """
    if isinstance(init, str):
        if init == "grid":
            return grid_starts(law)
        if init == "random":
            return random_starts(law, restarts, seed)
        if init == "sobol":
            return sobol_starts(law, restarts, seed)
        raise ValueError(f"init={init!r}: use 'grid', 'random', 'sobol', or an array/dict "
                         "of starting values.")
    return user_starts(law, init)


def _pad_tasks(arrays, n_tasks: int, zeros: bool = False):
    """Pad the task axis (repeating the last task, or with zeros) to a bucketed size that
    is a multiple of the device count, and shard it across devices when there are several.

    The point weights are padded with zeros: a padded task then has no data, its objective
    is 0 (or NaN with ``reduction="mean"``) at every start and its members stop at their
    first step instead of refitting the last task."""
    n = jax.device_count()
    size = task_bucket(n_tasks)
    size += (-size) % n
    pad = size - n_tasks

    def put(a):
        a = pad_tasks(a, pad, zeros)
        if n > 1:
            a = jax.device_put(a, NamedSharding(task_mesh(), PartitionSpec("tasks")))
        return a

    return jax.tree.map(put, arrays), size


def _at_bound(law: Law, values: np.ndarray) -> np.ndarray:
    """True where a parameter ended within AT_BOUND (relative) of a constraint bound and
    beyond its start range on that side.

    A value inside the declared start range is one the law's author calls plausible, not
    a run to the bound: measured, ``A * C**alpha`` with A = 3e-8 (start range (1e-9, 1))
    converged to A = 3.01e-8, and the absolute 1e-6 test alone flagged A at the bound 0,
    warned that "the optimum may lie outside the allowed range" and gave it no s.e. No
    built-in law's start range reaches within 1e-6 of a bound, so their flags are as
    before.
    """
    flags = np.zeros(values.shape, dtype=bool)
    for i, name in enumerate(law.param_names):
        lo, hi = law.params[name].bounds
        start_lo, start_hi = law.params[name].init
        v = values[..., i]
        scale = np.maximum(1.0, np.abs(v))
        if np.isfinite(hi) and np.isfinite(lo):
            scale = max(hi - lo, 1e-300)
        if np.isfinite(lo):
            flags[..., i] |= (v - lo <= AT_BOUND * scale) & (v < start_lo)
        if np.isfinite(hi):
            flags[..., i] |= (hi - v <= AT_BOUND * scale) & (v > start_hi)
    return flags


def _identified(law: Law, values: np.ndarray, f: np.ndarray, status: np.ndarray) -> np.ndarray:
    """False where converged restarts within NEAR_BEST of the best differ by > DISAGREE
    in a parameter that is not at a constraint bound in either of them."""
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    fb = f[np.arange(len(f)), best]
    vb = values[np.arange(len(f)), best]
    near = (status == Status.CONVERGED) & (f <= fb[:, None] + NEAR_BEST * np.abs(fb[:, None]))
    with np.errstate(over="ignore", invalid="ignore"):    # a diverged restart: inf, not noise
        rel = np.abs(values - vb[:, None]) / np.maximum(np.abs(vb[:, None]), 1e-12)
    free = ~(_at_bound(law, values) | _at_bound(law, vb)[:, None])
    return ~np.any(near & np.any((rel > DISAGREE) & free, axis=-1), axis=1)


def nonfinite_detail(res: FitResult) -> str:
    """Where the first task whose objective was not finite at any start (`Status.NONFINITE`)
    gets a non-finite prediction, or a prediction <= 0 in ``space="log"``: the input values
    and the start's parameters, and the fix; "" where none does (the cause lies elsewhere).

    The status's own message can only guess ("check the data ... and each Param's init
    range"): a user's law with a sign slip (negative predictions in log space) or a log of
    a negative number was fitted and returned ``nonfinite`` with that advice, naming
    neither the law nor a point. Evaluated as one compiled program (`law_values`) on one
    task's points at the start the fit returned, and only when a task is non-finite."""
    bad = np.flatnonzero(np.asarray(res.status) == Status.NONFINITE)
    if bad.size == 0 or res.data is None:
        return ""
    t = int(bad[0])
    real = np.asarray(res.data["w"])[t] > 0
    x = {n: np.asarray(v, dtype=np.float64)[t][real] for n, v in res.data["x"].items()}
    p = dict(zip(res.law.param_names, map(float, res.values[t])))
    log = res.options.get("space") == "log"
    try:
        pred = law_values(res.law, p, x)
        pred = np.broadcast_to(pred, (int(real.sum()),))
    except Exception:  # noqa: BLE001 - a diagnosis never hides the warning it adds to
        return ""
    wrong = ~np.isfinite(pred) | ((pred <= 0) if log else False)
    if not wrong.any():
        return ""
    i = int(np.argmax(wrong))
    at = ", ".join(f"{n}={v[i]:g}" for n, v in x.items())
    params = ", ".join(f"{n}={v:.4g}" for n, v in p.items())
    what = (f"{pred[i]:g} (not a finite number)" if not np.isfinite(pred[i])
            else f"{pred[i]:g}, which has no log (the fit is in log space)")
    fix = ("make fn positive there (a sign slip?), or use space='linear'" if
           np.isfinite(pred[i]) else
           "make fn finite there (a log or a fractional power of a negative number, an "
           "overflow?), or give init ranges where it is")
    return (f" Task {task_at(res.tasks, t)}: law {res.law.name!r} predicts {what} at {at} "
            f"({int(wrong.sum())} of {wrong.size} points) from the start {params}; {fix}.")


def _warn(res: FitResult):
    labels = lambda mask: list(res.tasks[mask][:10])  # noqa: E731
    bad = ~res.converged
    if bad.any():
        why = reasons(res.status[bad])
        warn_fit(f"{bad.sum()} of {len(res.tasks)} task(s) did not converge "
                 f"{labels(bad)}. {why}.{nonfinite_detail(res)} See FitResult.status.",
                 ConvergenceWarning, stacklevel=3)
    if res.at_bound.any():
        names = [n for i, n in enumerate(res.law.param_names) if res.at_bound[:, i].any()]
        warn_fit(f"parameter(s) {names} ended at a constraint bound in "
                 f"{int(res.at_bound.any(axis=1).sum())} task(s) "
                 f"{labels(res.at_bound.any(axis=1))}; the optimum may lie outside the "
                 "allowed range.", BoundWarning, stacklevel=3)
    warn_design(res, stacklevel=4)
    flagged = np.array([bool(i) for i in res.design]) if res.design is not None else False
    poor = ~res.identified & ~flagged
    if poor.any():
        warn_fit(f"{poor.sum()} task(s) {labels(poor)} are poorly identified: restarts "
                 f"within {NEAR_BEST:g} of the best objective differ by more than "
                 f"{DISAGREE:.0%} in a parameter; fix or share parameters, or add data.",
                 IdentifiabilityWarning, stacklevel=3)


def warn_design(res: FitResult, source: str = "", resamples=None, stacklevel: int = 3):
    """Emit a `DesignWarning` per design problem of ``res`` (`jaxfit.inference.design`).

    Args:
        res: a `FitResult` (results saved without design checks warn about nothing).
        source: prefix naming the caller (``"bootstrap"``, ``"sample"``), whose full-data
            fit ``res`` is.
        resamples: for a bootstrap, ``(weights [n, T, P], sigma [n, T], y, w, space)``:
            also warn when resamples have no more distinct points than parameters or a
            noise scale ~0.
        stacklevel: as in `warnings.warn` (inside `jaxfit.warnings.fit_source`, the
            warnings carry its label and point further out).
    """
    prefix = f"{source}: the full-data fit: " if source else ""
    k = len(res.law.param_names)
    for text in design.messages(res.tasks, res.design or (), k):
        warn_fit(f"{prefix}{text} See FitResult.to_frame()['design'].", DesignWarning,
                 stacklevel=stacklevel)
    if resamples is not None:
        wb, sigma, y, w, space = resamples
        text = design.resample_message(res.tasks, wb, sigma, y, w, space, k)
        if text:
            warn_fit(text, DesignWarning, stacklevel=stacklevel)


def _minimize_tasks(x, y, w, u0, objective, opts, use_jit: bool):
    """`minimize` over the tasks of ``x, y, w`` ([T, P] arrays), padded to a bucketed task
    count (and sharded) under jit; the `Solution` as numpy arrays of the T tasks."""
    ctx = contextlib.nullcontext() if use_jit else jax.disable_jit()
    with jax.enable_x64(True), ctx:
        # device_put, not jnp.asarray: no conversion program to load in a new process
        data = jax.device_put((dict(x), np.asarray(y), np.asarray(w)))
        T = len(y)
        u0 = jax.device_put(np.asarray(u0, dtype=np.float64))
        if use_jit:
            data = _pad_tasks(data[:2], T)[0] + (_pad_tasks(data[2], T, zeros=True)[0],)
            if u0.ndim == 3:
                u0, _ = _pad_tasks(u0, T)
            # one block of members per device, so that packing stays on each device
            opts = dataclasses.replace(opts, groups=len(jax.devices()))
        sol = minimize(objective, u0, *data, opts=opts)
        return jax.tree.map(lambda a: np.asarray(a)[:T], sol)


def _values(law, u) -> np.ndarray:
    """Constrained parameter values [..., k] of unconstrained ``u`` [..., k]: each column
    through its Param's transform, sliced and stacked on the host (the values of
    `jaxfit.inference.objective.unpack`, without its slicing and stacking programs)."""
    u = np.asarray(u)
    with jax.enable_x64(True):
        return np.stack([np.asarray(law.params[n].transform(jax.device_put(u[..., i])))
                         for i, n in enumerate(law.param_names)], -1)


def _solve(law, batch: Batch, u0, objective, opts, use_jit: bool):
    sol = _minimize_tasks(batch.x, batch.y, batch.w, u0, objective, opts, use_jit)
    sol = _refit_at_floor(law, batch, sol, objective, opts, use_jit)
    return sol, _values(law, sol.u), _values(law, sol.all_u)


def one_start(opts: SolverOptions) -> SolverOptions:
    """``opts`` for refitting members from where they stand: one start each, no Huber
    continuation, screening or refinement (the pinned floor refits, the bootstrap's
    refits from inside the floor)."""
    return dataclasses.replace(opts, continuation=(), refine=None, keep=None, screen_steps=0)


def _refit_pinned(law, objective, u, x, y, w, opts, use_jit: bool = True):
    """Members ``u`` [M, k] refitted from where they stopped with the law's floor pinned
    at its bound (`jaxfit.inference.floor`), each on its rows ``x, y, w`` [M, P].

    Returns:
        (the pinned problem's `Solution` [M], its end points with the floor [M, k],
        [M] whether the objective rises with the floor there, ``df/dE >= 0``: a minimum
        of the bounded problem where the refit converged).
    """
    i = floor.floor_index(law)
    pin = floor.pinned_values(law, y, w)
    u0 = np.delete(u, i, axis=-1)[:, None, :]
    r = _minimize_tasks({**x, floor.PIN: np.broadcast_to(pin[:, None], y.shape)}, y, w, u0,
                        floor.pinned_objective(objective, i), one_start(opts), use_jit)
    full = np.insert(r.u, i, pin, axis=-1)
    return r, full, floor.floor_slope(objective, i, full, x, y, w) >= 0


def _refit_at_floor(law, batch: Batch, sol, objective, opts, use_jit: bool):
    """`jaxfit.inference.floor`: every member that ended at the step cap, refitted with
    the law's floor pinned at its bound, replaces its end point where the refit converges
    at or below it. ``sol`` unchanged when the law has no such floor or nothing is capped."""
    i = floor.floor_index(law)
    capped = np.asarray(sol.all_status) == Status.MAX_STEPS
    if i is None or not capped.any():
        return sol
    t, m = np.nonzero(capped)                          # one refit task per capped member
    r, full, rises = _refit_pinned(law, objective, np.asarray(sol.all_u)[t, m],
                                  {n: a[t] for n, a in batch.x.items()}, batch.y[t],
                                  batch.w[t], opts, use_jit)
    # a minimum of the bounded problem only where the objective rises with the floor
    at_min = np.zeros(capped.shape, bool)
    at_min[t, m] = rises
    new_u, new_f = np.array(sol.all_u), np.array(sol.all_f)
    new_status = np.array(sol.all_status)
    new_u[t, m] = full
    new_f[t, m], new_status[t, m] = r.f, r.status
    u, f, status, replaced, order = floor.replace_members(
        np.asarray(sol.all_u), np.asarray(sol.all_f), np.asarray(sol.all_status),
        new_u, new_f, new_status, capped & at_min)
    if not replaced.any():
        return sol
    refit_steps = np.zeros(capped.shape, np.int64)
    refit_steps[t, m] = r.steps
    refit_grad = np.zeros(capped.shape)
    refit_grad[t, m] = r.grad_norm
    win = order[:, 0]
    rows = np.arange(len(win))
    new_winner = replaced[:, 0]
    # a replaced winner: its steps at the cap (the old winner's count, or max_steps for
    # another member), then the refit's; the gradient is the refit's (the pinned floor's
    # component is ~FLOOR_REL of the others')
    before = np.where(win == 0, sol.steps, opts.max_steps)
    return sol._replace(
        u=u[:, 0], f=f[:, 0], status=status[:, 0],
        steps=np.where(new_winner, before + refit_steps[rows, win], sol.steps),
        grad_norm=np.where(new_winner, refit_grad[rows, win], sol.grad_norm),
        all_u=u, all_f=f, all_status=status)


def _continuation(continuation, loss: str) -> tuple[float, ...]:
    """`fit`'s ``continuation`` (validated by `jaxfit.checks.fit_options`) as its factors,
    largest first (None: ``(10,)`` for the Huber loss, else ``()``)."""
    if continuation is None:
        return (10.0,) if loss == "huber" else ()
    return tuple(sorted(map(float, continuation), reverse=True))


def fit(law: Law, data, y: str = "loss", by: str | Sequence[str] | None = None, *,
        x: Mapping[str, str] | None = None, weights=None, loss: str = "huber",
        delta: float = 1e-3, space: str = "log", reduction: str = "sum", init="random",
        restarts: int = 64, seed: int = 0, method: str = "newton", max_steps: int = 1000,
        refine: int | None = 8, keep: int | None = 2, screen_steps: int = 0,
        ftol: float = 1e-12, continuation: Sequence[float] | None = None,
        keep_restarts: bool = False, jit: bool = True, warn: bool = True) -> FitResult:
    """Fit ``law`` to ``data`` from many starts; every task and start in one compiled call.

    Defaults follow Hoffmann et al. (2022, Approach 3) as replicated by Besiroglu et al.
    (2024): Huber loss with delta = 1e-3 on log residuals, summed over points.

    Args:
        law: a `jaxfit.Law`, e.g. ``jaxfit.models.chinchilla()``.
        data: a pandas DataFrame, one row per observation (never modified).
        y: target column.
        by: column(s) whose values name independent tasks, fitted together.
        x: law input -> column, e.g. ``{"N": "params", "D": "tokens"}`` (an input not
            in it reads the column of its own name; two inputs reading one column are
            refused as a typo).
        weights: column name or array of non-negative point weights.
        loss: "huber", "squared" or "absolute".
        delta: Huber threshold.
        space: residuals in "log" or "linear" space.
        reduction: "sum" or "mean" (weighted).
        init: "random", "sobol", "grid" (the law's grid, e.g. Hoffmann's 4,500 points), or
            starting values (array [S, k] or dict of arrays, constrained units).
        restarts: number of random or Sobol starts.
        seed: seed of the random starts.
        method: "newton" (exact-Hessian damped Newton; fastest for these small problems,
            see benchmarks/) or "lbfgs" (optax L-BFGS with zoom line search).
        max_steps: iteration cap per restart (per stage of a `continuation`; the
            reported `steps` add up the stages). For a law with a floor (``E``), a
            restart stopped by the cap is refitted with E pinned at its bound 0, within
            the same cap, and ends converged there where that is lower and a minimum of
            the bounded problem (`jaxfit.inference.floor`; ``steps`` then add the
            refit's; ``at_bound`` flags E).
        refine: how many of the best-screened starts per task are optimised (None: all).
        keep: how many of them per task successive halving leaves to run to convergence
            (None: all; see `jaxfit.inference.optimize`). 1 is fastest (1.3x on
            benchmarks/fit_throughput.py) but leaves no second restart for the
            poorly-identified check.
        screen_steps: solver iterations on every start before screening.
        ftol: relative convergence tolerance.
        continuation: Huber loss only: warm-up stages fitted with ``delta`` multiplied by
            these factors (largest first) before the fit at ``delta`` itself, each stage
            starting from the previous one's survivors; screening and halving use the
            first, smoothest stage. None (default): ``(10,)`` for the Huber loss (1.2-1.6x
            faster on benchmarks/fit_throughput.py: near-L1 objectives make Newton crawl
            from kink to kink), ``()`` otherwise. The result always minimises the
            objective at ``delta``.
        keep_restarts: keep every refined restart's end point in ``result.restarts``.
        jit: False runs the same code eagerly (for debugging).
        warn: emit warnings for non-convergence, bounds and poor identification.

    Returns:
        A `FitResult`. Tasks that did not converge are flagged in ``status`` and warned
        about; their numbers are never silently returned as converged. Each task's design
        is checked at its optimum (`jaxfit.inference.design`: residual degrees of
        freedom, too few levels of an input, parameters that trade off); a task with a
        problem is not ``identified``, its ``design`` lists the problems, and a
        `DesignWarning` names the parameters and the fix.

    Example:
        >>> import jaxfit as jf
        >>> df = jf.datasets.load("chinchilla")
        >>> df = df[~df.epoch_excluded_outlier]
        >>> res = jf.fit(jf.models.chinchilla(), df, y="loss", init="grid")
        >>> print(round(res.params.loc[0, "alpha"], 3), round(res.params.loc[0, "E"], 3))
        0.347 1.817
    """
    check_law(law)
    checks.fit_options(y=y, by=by, x=x, loss=loss, delta=delta, space=space, reduction=reduction,
                       init=init, restarts=restarts, seed=seed, method=method,
                       max_steps=max_steps, refine=refine, keep=keep,
                       screen_steps=screen_steps, ftol=ftol, continuation=continuation)
    objective = make_objective(law, loss, float(delta), space, reduction)
    continuation = _continuation(continuation, loss)
    opts = SolverOptions(method=method, max_steps=max_steps, ftol=ftol, refine=refine,
                         keep=keep, screen_steps=screen_steps, continuation=continuation)
    batch = make_batch(data, law, y=y, by=by, x=x, weights=weights, space=space)
    checks.law_output(law, batch.x, batch.w)       # before any compile
    u0 = make_starts(law, init=init, restarts=restarts, seed=seed)
    if warn:
        checks.data_warnings(law, batch, u0, space, row_columns(law, y, by, x))
    if law.shared:
        from jaxfit.inference.shared import solve_shared

        sol, values, all_values = solve_shared(law, batch, u0, objective, opts, jit)
    else:
        sol, values, all_values = _solve(law, batch, u0, objective, opts, jit)
    options = dict(y=y, by=by_option(by), x=dict(x or {}), loss=loss, delta=delta, space=space,
                   reduction=reduction, init=init if isinstance(init, str) else "user",
                   restarts=len(u0), method=method, max_steps=max_steps, refine=refine,
                   keep=keep, continuation=continuation)
    at_bound = _at_bound(law, values)
    shared = np.isin(law.param_names, law.shared)
    dof, issues = design.check(law, sol.u, batch.x, batch.y, batch.w, space,
                               exclude=at_bound | shared, n_free=np.sum(~shared),
                               at_optimum=sol.status == Status.CONVERGED)
    res = FitResult(
        law=law, tasks=batch.tasks, values=values, objective=sol.f, status=sol.status,
        steps=sol.steps, grad_norm=sol.grad_norm, at_bound=at_bound,
        identified=(_identified(law, all_values, sol.all_f, sol.all_status)
                    & np.array([not i for i in issues])),
        restarts=(dict(values=all_values, objective=sol.all_f, status=sol.all_status)
                  if keep_restarts else None),
        options=options, dof=dof, design=tuple(issues),
        data=dict(x=dict(batch.x), y=batch.y, w=batch.w))
    if warn:
        _warn(res)
    return res
