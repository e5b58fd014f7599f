"""Compute-optimal allocation: `optimal`, `isoflop` and `overtrain`, with intervals.

For a law ``L(N, D)`` of model size N and training tokens D, and a training cost
``C = cost(N, D)`` (default ``C = 6 N D``, Kaplan et al. 2020, section 2.1), the
compute-optimal allocation at budget C is

.. math:: N^*(C), D^*(C) = \\arg\\min_{\\mathrm{cost}(N, D) = C} L(N, D).

**Closed form** (Hoffmann et al. 2022, eq. 4 and appendix D.2): for
``L = E + A/N^alpha + B/D^beta`` and ``C = 6 N D``,

.. math:: N^* = G (C/6)^a,\\quad D^* = G^{-1} (C/6)^b,\\quad
          G = \\left(\\frac{\\alpha A}{\\beta B}\\right)^{1/(\\alpha+\\beta)},\\quad
          a = \\frac{\\beta}{\\alpha+\\beta},\\quad b = \\frac{\\alpha}{\\alpha+\\beta}.

**Numerical path** (any law with inputs N and D, any increasing cost): along the
constraint, ``D`` is a function of ``u = log N`` (``D = C/(6N)``, the user's inverse, or
a bisection of ``log cost``), and ``f(u) = log L(e^u, D(u))`` is minimised by a 129-point
grid over ``N = N_0 e^{[-9, 9]}`` (``N_0`` where ``N = D`` on the constraint:
``sqrt(C/6)`` for ``C = 6 N D``) followed by 64 bisections of ``f'(u) = 0`` in the
grid cell around the best point (machine precision on a smooth law). The local
allocation exponents ``a(C) = d log N*/d log C`` and ``b(C) = d log D*/d log C`` come
from the implicit function theorem on ``f'(u; log C) = 0``. Every (task, draw, budget)
is one member of a single vmapped, jitted call.

Intervals are equal-tailed quantiles over the result's draws (bootstrap resamples or
posterior draws): Besiroglu et al. (2024) report a = 0.513 (s.e. 0.020) from 4,000
bootstrap refits of Chinchilla's data; ``optimal(jf.bootstrap(...), C)`` reproduces it
(``docs/decide.md``).

Example:
    >>> import jaxfit as jf
    >>> p = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)  # Hoffmann et al.
    >>> res = jf.decide.optimal_at(jf.models.chinchilla(), p, 5.76e23)
    >>> round(res["N"] / 1e9, 1), round(res["D"] / 1e12, 2), round(res["a"], 3)
    (32.2, 2.98, 0.452)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import warnings
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.checks import check_prob, whole
from jaxfit.data import check_task_label, task_label
from jaxfit.decide.draws import Draws, as_draws
from jaxfit.inference import cache
from jaxfit.law import Law, as_names
from jaxfit.result import FitResult
from jaxfit.warnings import ExtrapolationWarning, FitWarning

__all__ = ["optimal", "optimal_at", "isoflop", "overtrain", "OptimalResult", "CLOSED_FORM",
           "QUANTITIES"]

LOG6 = math.log(6.0)
#: Laws of the form ``E + A/N^alpha + B/D^beta`` (their ``Law.name``; the law is also checked
#: to compute that form): the closed form applies with the default cost ``6 N D``.
CLOSED_FORM = frozenset({"chinchilla", "ladder_step1", "ladder_step1_realE"})
#: The quantities `optimal` reports, in its frame's order.
QUANTITIES = ("N", "D", "loss", "tokens_per_param", "a", "b")
#: Grid points and half-width (in log N, around sqrt(C/6)) of the numerical search.
GRID, SPAN, BISECT = 129, 9.0, 64


# ------------------------------------------------------------------------ building blocks

def _bisect(fn, lo, hi, n: int):
    """Root of an increasing scalar ``fn`` in [lo, hi] by ``n`` bisections."""
    def body(_, lh):
        lo, hi = lh
        m = 0.5 * (lo + hi)
        up = fn(m) > 0
        return jnp.where(up, lo, m), jnp.where(up, m, hi)
    lo, hi = jax.lax.fori_loop(0, n, body, (lo, hi))
    return 0.5 * (lo + hi)


def _make_tokens(cost: Callable | None, inverse: Callable | None):
    """``v = log D`` on the constraint ``cost(N, D) = C`` as a function of (log C, log N)."""
    if inverse is not None:
        return lambda logC, u: jnp.log(inverse(jnp.exp(logC), jnp.exp(u)))
    if cost is None:
        return lambda logC, u: logC - LOG6 - u

    def h(logC, u, v):
        return jnp.log(cost(jnp.exp(u), jnp.exp(v))) - logC

    @jax.custom_jvp
    def tokens(logC, u):
        return _bisect(lambda v: h(logC, u, v), -80.0, 200.0, 120)

    @tokens.defjvp
    def _jvp(primals, tangents):          # implicit function theorem on h = 0
        logC, u = primals
        dc, du = tangents
        v = tokens(logC, u)
        hc, hu, hv = jax.grad(h, argnums=(0, 1, 2))(logC, u, v)
        return v, -(hc * dc + hu * du) / hv

    return tokens


def _make_centre(cost: Callable | None, inverse: Callable | None):
    """log N where N = D on the constraint (the centre of the search grid)."""
    if cost is None and inverse is None:
        return lambda logC: 0.5 * (logC - LOG6)
    tokens = _make_tokens(cost, inverse)
    return lambda logC: _bisect(lambda u: u - tokens(logC, u), -80.0, 200.0, 120)


def _closed(p, logC):
    """Hoffmann et al. (2022) eq. 4: (log N*, log D*, a, b) for C = 6 N D."""
    al, be = p["alpha"], p["beta"]
    s = al + be
    a, b = be / s, al / s
    logG = (jnp.log(al * p["A"]) - jnp.log(be * p["B"])) / s
    c = logC - LOG6
    return logG + a * c, -logG + b * c, a, b


@functools.cache
def _solver(law: Law, names: tuple[str, str], cost, inverse, method: str):
    """jit(vmap over members x budgets) of one (params, log C) -> optimum solve."""
    nN, nD = names
    tokens = _make_tokens(cost, inverse)
    centre = _make_centre(cost, inverse)

    def f(p, logC, u):
        return law.log(p, {nN: jnp.exp(u), nD: jnp.exp(tokens(logC, u))})

    fu = jax.grad(f, argnums=2)

    def numerical(p, logC):
        us = centre(logC) + jnp.linspace(-SPAN, SPAN, GRID)
        fs = jax.vmap(lambda u: f(p, logC, u))(us)
        fs = jnp.where(jnp.isfinite(fs), fs, jnp.inf)
        k = jnp.argmin(fs)
        edge = (k == 0) | (k == GRID - 1) | ~jnp.isfinite(fs[k])
        lo, hi = us[jnp.maximum(k - 1, 0)], us[jnp.minimum(k + 1, GRID - 1)]
        u = _bisect(lambda m: fu(p, logC, m), lo, hi, BISECT)
        g_u = jax.grad(fu, argnums=2)(p, logC, u)
        g_c = jax.grad(fu, argnums=1)(p, logC, u)
        a = -g_c / g_u
        t_c, t_u = jax.grad(tokens, argnums=(0, 1))(logC, u)
        return u, tokens(logC, u), a, t_c + t_u * a, edge

    def closed(p, logC):
        u, v, a, b = _closed(p, logC)
        return u, v, a, b, jnp.zeros((), bool)

    one = closed if method == "closed" else numerical

    def solve(p, logC):
        u, v, a, b, edge = one(p, logC)
        loss = law(p, {nN: jnp.exp(u), nD: jnp.exp(v)})
        return dict(N=jnp.exp(u), D=jnp.exp(v), loss=loss, tokens_per_param=jnp.exp(v - u),
                    a=a, b=b, edge=edge)

    per_budget = jax.vmap(solve, in_axes=(None, 0))
    return cache.jit(jax.vmap(per_budget, in_axes=(0, None)))


#: A budget more than this factor above the largest compute among the fitted runs gets an
#: `ExtrapolationWarning` (six orders of magnitude: the widest extrapolations in this
#: package's docs and tests, Chinchilla's fit at <= 1.3e22 FLOPs read at 1e26, are ~1e4).
FAR_ABOVE = 1e6


def _fitted_compute(result, names: tuple[str, str], cost) -> tuple[float, float] | None:
    """Smallest and largest ``cost(N, D)`` (default ``6 N D``) over the points ``result``
    was fitted to (weight > 0), in the budgets' units; None when it holds no data (a
    result loaded from a file)."""
    data = getattr(result, "data", None)
    if not data and isinstance(getattr(result, "fit", None), FitResult):
        data = result.fit.data                                  # a bootstrap's point fit
    if not data or "x" not in data or "w" not in data \
            or any(n not in data["x"] for n in names):
        return None
    keep = np.asarray(data["w"]) > 0
    N, D = (np.asarray(data["x"][n], np.float64)[keep] for n in names)
    if cost is None:
        C = 6.0 * N * D
    else:
        try:
            with jax.enable_x64(True):
                C = np.asarray(jax.vmap(cost)(jnp.asarray(N), jnp.asarray(D)), np.float64)
        except Exception:  # noqa: BLE001 - the check is a courtesy; _check_cost vetted cost
            return None
    C = C[np.isfinite(C) & (C > 0)]
    return (float(C.min()), float(C.max())) if C.size else None


def _holds_data(result) -> bool:
    """Whether ``result`` (or a bootstrap's point fit) carries the data it was fitted on."""
    if getattr(result, "data", None):
        return True
    fit = getattr(result, "fit", None)
    return isinstance(fit, FitResult) and bool(fit.data)


def _warn_outside(result, budgets: np.ndarray, names: tuple[str, str], cost,
                  what: str) -> None:
    """`ExtrapolationWarning` for budgets below the compute of every fitted run, or more
    than `FAR_ABOVE` times the largest. Before, a budget in PF-days (C = 100) against a fit
    in FLOPs gave N* = 0.5 parameters and D* = 31 tokens without a word."""
    span = _fitted_compute(result, names, cost)
    if span is None:
        if not _holds_data(result):
            # before: no word, and docs/decide.md promised the warning always
            warnings.warn(
                f"{what}: the budgets' units were not checked against the fitted compute: "
                "the result holds none of the data it was fitted on (a fit loaded from a "
                ".json file keeps only its parameters). To have them checked, pass a result "
                "fitted on the data in this session (jf.fit, jf.bootstrap or jf.sample) or a "
                "posterior saved as .nc.", FitWarning, stacklevel=4)
        return
    lo, hi = span
    form = "cost(N, D)" if cost is not None else "6 N D"
    below, above = budgets[budgets < lo], budgets[budgets > FAR_ABOVE * hi]
    parts = []
    if below.size:
        parts.append(f"{_shown(below)} lie below the compute of every run the law was fitted "
                     f"on ({form} from {lo:.3g} to {hi:.3g})")
    if above.size:
        parts.append(f"{_shown(above)} lie more than {FAR_ABOVE:.0e} times above the largest "
                     f"compute among the runs the law was fitted on ({form} up to {hi:.3g})")
    if parts:
        warnings.warn(
            f"{what}: budget(s) {'; and '.join(parts)}, so the optimum there is extrapolated "
            f"far from the data. Budgets are in the units of {form} with N and D in the "
            "data's columns' units (FLOPs for 6 N D with N in parameters and D in tokens; "
            "1 PF-day = 8.64e19 FLOPs): convert them if they are in other units.",
            ExtrapolationWarning, stacklevel=4)


def _shown(values: np.ndarray) -> str:
    more = f" (and {values.size - 3} more)" if values.size > 3 else ""
    return "[" + ", ".join(f"{v:.3g}" for v in values[:3]) + "]" + more


def _budgets(budgets, what: str) -> np.ndarray:
    """``budgets`` as float64 values, each finite, positive and given once: the rule of
    every function here that takes budgets, and of ``jaxfit optimal --budgets`` (which
    calls it before any fit; its message reads in the command line's flags there).

    Raises:
        ValueError: naming ``what`` (the caller), the budgets, the bad or repeated value
            and the fix.
    """
    c = _numbers(budgets, f"{what}: budgets must be numbers (compute values, FLOPs), got "
                 f"{reprlib.repr(budgets)}; e.g. budgets=[1e21, 5.76e23].")
    if c.size == 0 or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"{what}: budgets must be finite positive compute values (FLOPs), got "
                         f"{np.asarray(budgets).tolist()!r}{_not_positive(c)}; e.g. "
                         "budgets=[1e21, 5.76e23].")
    # before: table() averaged a repeated budget's rows into one, to_frame() kept both
    return _once(c, "budget", what)


def _once(values: np.ndarray, noun: str, what: str) -> np.ndarray:
    """``values`` of the argument ``{noun}s`` if each is given once, else a ValueError
    naming ``what`` (the caller), the repeated values and the fix."""
    unique, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"{what}: {noun}s={values.tolist()!r} repeat "
                         f"{_shown(unique[counts > 1])}; give each {noun} once (its answer "
                         "does not depend on how often it is asked), e.g. "
                         f"{noun}s={list(dict.fromkeys(values.tolist()))!r}.")
    return values


def _ratios(ratios, what: str) -> np.ndarray:
    """`overtrain`'s ``ratios`` as float64 values, each finite, positive and given once: its
    rule, and
    ``jaxfit optimal --ratios``'s (called before any fit).

    Raises:
        ValueError: naming ``what`` (the caller), the ratios and the fix.
    """
    r = _numbers(ratios, f"{what}: ratios must be positive tokens-per-parameter values, got "
                 f"{reprlib.repr(ratios)}; e.g. ratios=[20, 100].")
    if r.size == 0 or np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"{what}: ratios must be positive tokens-per-parameter values, "
                         f"got {r.tolist()}{_not_positive(r)}; e.g. ratios=[20, 100].")
    # before: overtrain(ratios=[20, 20]) returned each budget's ratio-20 row twice
    return _once(r, "ratio", what)


def _numbers(values, message: str) -> np.ndarray:
    """``values`` (one number or many) as a flat float64 array; ValueError(``message``)
    for None or anything that is not numbers (before: numpy's "could not convert string
    to float" or "float() argument must be ...", naming no argument; None became NaN)."""
    try:
        if values is None:
            raise TypeError
        return np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise ValueError(message) from None


def _not_positive(values: np.ndarray) -> str:
    """``: -1 is not`` for the first value that is not finite and positive ('' for none)."""
    bad = values[~(np.isfinite(values) & (values > 0))]
    return f": {bad[0]:g} is not" if bad.size else ""


def input_pair(law: Law, inputs, what: str, why: str = "",
               alternative: str = "") -> tuple[str, str]:
    """The law's (model size, tokens) input names from ``inputs``, the rule of `optimal`
    and `jaxfit.decide.suggest`: `jaxfit.law.as_names` (a string is one name, never its
    letters), then two distinct inputs of ``law``.

    Args:
        law: the law whose inputs they must be.
        inputs: a sequence of two names, or one name (a string).
        what: the caller, first in the message (``optimal``, ``suggest``, ``--inputs``).
        why: what the pair is for, e.g. `` for the arguments of cost(N, D)``.
        alternative: another fix, appended to the message's fix.

    Raises:
        ValueError: ``inputs`` does not name two inputs of ``law``, naming them, the
            law's inputs and the fix.
    """
    names = as_names(inputs)
    if len(names) == 2 and names[0] != names[1] and all(n in law.inputs for n in names):
        return names
    if len(law.inputs) < 2:
        raise ValueError(f"{what}: law {law.name!r} has the single input {list(law.inputs)}: "
                         f"inputs={names!r} must name two inputs of it, its model size and "
                         f"tokens{why}, so the law needs both as inputs (e.g. "
                         "jf.models.chinchilla(), L = E + A/N^alpha + B/D^beta); fit such a "
                         f"law to runs of several sizes and token counts{alternative}.")
    fix = (f"pass inputs={tuple(law.inputs)!r} (model size first)" if len(law.inputs) == 2
           else "pass inputs=(model size, tokens) from them")
    raise ValueError(f"{what}: inputs={names!r} must name two inputs of law {law.name!r}, its "
                     f"model size and tokens{why}; the law's inputs are {list(law.inputs)}: "
                     f"{fix}{alternative}.")


def _check_law(law: Law, inputs: Sequence[str], what: str) -> tuple[str, str]:
    """`input_pair`, and a law with no input beyond them (the allocation sets them all)."""
    names = input_pair(law, inputs, what)
    extra = [n for n in law.inputs if n not in names]
    if extra:
        raise ValueError(f"{what}: law {law.name!r} has inputs {list(law.inputs)}; "
                         f"inputs={names} must name exactly its model-size and token inputs: "
                         "pass inputs=(model size, tokens) from them; a law with further "
                         "inputs needs a wrapper law that sets them (jf.Law with fn calling "
                         "the law).")
    return names


#: (N, D) where a user's cost and inverse are checked before the solve.
_PROBE_N, _PROBE_D = 1e9, 2e10


def _scalar(fn, args, what: str, call: str, fix: str) -> float:
    """``fn(*args)`` on float64 scalars as a float; ValueError unless JAX can trace it and
    it is one finite positive number. The solver calls ``fn`` on traced scalars in a
    jitted loop: an array output broke it with a JAX scan-carry TypeError, and a function
    written with numpy (``np.multiply``) or ``float()``, which a call on numbers accepts,
    failed inside the solve with TracerArrayConversionError or ConcretizationTypeError,
    many lines naming optimal.py."""
    xs = tuple(jnp.float64(a) for a in args)
    try:
        with jax.enable_x64(True):
            jax.eval_shape(fn, *xs)
            out = np.asarray(fn(*xs), dtype=np.float64)
    except jax.errors.JAXTypeError as e:
        raise ValueError(f"{what}: {call} cannot be traced by JAX ({type(e).__name__}): the "
                         "solver calls it on traced scalars, so write it with jax.numpy (jnp) "
                         "operations, not numpy functions, float() or a Python if on its "
                         f"arguments. {fix}") from None
    except Exception as e:            # noqa: BLE001 - reraised with the call that failed
        raise ValueError(f"{what}: {call} raised {type(e).__name__}: {e}. {fix}") from e
    if out.shape != ():
        raise ValueError(f"{what}: {call} returned shape {out.shape}, not one number: it is "
                         f"called with scalar N and D. {fix}")
    if not (np.isfinite(out) and out > 0):
        raise ValueError(f"{what}: {call} returned {float(out)!r}, not a positive finite "
                         f"number. {fix}")
    return float(out)


def _check_cost(cost, inverse, what: str) -> None:
    """ValueError unless ``cost(N, D)`` is a positive scalar increasing in D and
    ``inverse(C, N)`` solves ``cost(N, D) = C`` (checked at one (N, D): a cost that does
    not grow with D had no optimum, and the solve returned N ~ 1e21, D ~ 1e87 without a
    warning)."""
    fix = ("Give cost(N, D) -> C, jax-traceable on scalars and increasing in D, e.g. "
           "cost=lambda N, D: 6 * N * D + 6 * 2048 * 24 * D.")
    for name, f in (("cost", cost), ("inverse", inverse)):
        if f is not None and not callable(f):
            raise ValueError(f"{what}: {name} must be a function, got "
                             f"{type(f).__name__}. {fix}")
    N, D = _PROBE_N, _PROBE_D
    c = 6.0 * N * D
    if cost is not None:
        c = _scalar(cost, (N, D), what, f"cost(N={N:g}, D={D:g})", fix)
        c2 = _scalar(cost, (N, 2 * D), what, f"cost(N={N:g}, D={2 * D:g})", fix)
        if not c2 > c:
            raise ValueError(f"{what}: cost(N, D) does not increase with D: cost({N:g}, "
                             f"{D:g}) = {c:g} and cost({N:g}, {2 * D:g}) = {c2:g}, so a "
                             f"budget does not fix the tokens. {fix}")
    if inverse is not None:
        form = "cost(N, D)" if cost is not None else "the default cost 6 N D"
        d = _scalar(inverse, (c, N), what, f"inverse(C={c:g}, N={N:g})",
                    f"Give inverse(C, N) -> the D with {form} = C, e.g. "
                    "inverse=lambda C, N: C / (6 * N).")
        if not math.isclose(d, D, rel_tol=1e-6):
            raise ValueError(f"{what}: inverse(C, N) does not solve {form} = C: at N = {N:g}, "
                             f"D = {D:g} (C = {c:g}) it returns D = {d:g}. Give the exact "
                             "inverse of cost, or leave inverse=None (cost is then inverted "
                             "by bisection).")


def _chinchilla_form(law: Law) -> bool:
    """Whether ``law`` is one of `CLOSED_FORM` and computes ``E + A/N^alpha + B/D^beta``.

    The name alone is not enough: a user's law named "chinchilla" with another formula got
    the closed form (the audit of session 14); so the law is also evaluated at two test
    points and compared with the form.
    """
    if law.name not in CLOSED_FORM or set(law.params) != {"A", "B", "E", "alpha", "beta"} \
            or set(law.inputs) != {"N", "D"}:
        return False
    p = {"A": 400.0, "B": 410.0, "E": 1.7, "alpha": 0.34, "beta": 0.28}
    N, D = np.array([1e8, 3e10]), np.array([2e9, 1e12])
    with jax.enable_x64(True):
        got = np.asarray(law.fn({k: jnp.float64(v) for k, v in p.items()},
                                {"N": jnp.asarray(N), "D": jnp.asarray(D)}))
    want = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
    return bool(np.allclose(got, want, rtol=1e-9, atol=0.0))


def _method(law: Law, method: str, cost, inverse) -> str:
    if method not in ("auto", "closed", "numerical"):
        raise ValueError(f"method={method!r}: use 'auto', 'closed' or 'numerical'.")
    has_closed = cost is None and inverse is None and _chinchilla_form(law)
    if method == "closed" and not has_closed:
        # before: "law 'chinchilla' needs method='numerical'" also when the law has the
        # closed form and the cost (or inverse) given was the reason
        why = (f"law {law.name!r} needs method='numerical'" if not _chinchilla_form(law)
               else "with cost= or inverse= given, use method='numerical' (or leave "
               "method='auto'), or drop them for 6ND")
        raise ValueError(f"method='closed': the closed form (Hoffmann et al. 2022, eq. 4) "
                         f"needs a law E + A/N^alpha + B/D^beta ({sorted(CLOSED_FORM)}) and "
                         f"the default cost 6ND; {why}.")
    if method == "auto":
        return "closed" if has_closed else "numerical"
    return method


def _run(d: Draws, budgets: np.ndarray, names, cost, inverse, method) -> dict:
    """Every quantity as [T, D, B] arrays (and the estimate's as [T, B], or None)."""
    solver = _solver(d.law, names, cost, inverse, method)
    T, D = len(d.tasks), d.n_draws
    with jax.enable_x64(True):
        logC = jnp.log(jnp.asarray(budgets))
        flat = {n: jnp.asarray(v.reshape(-1)) for n, v in d.params.items()}
        out = {k: np.asarray(v).reshape(T, D, len(budgets)) for k, v in
               solver(flat, logC).items()}
        est = None
        if d.estimate is not None:
            est = {k: np.asarray(v).reshape(T, len(budgets)) for k, v in
                   solver({n: jnp.asarray(v) for n, v in d.estimate.items()}, logC).items()}
    return {"draws": out, "estimate": est}


def _check_loss_like(d: Draws, names, budgets: np.ndarray, what: str) -> None:
    """ValueError when the law *rises* with compute at the fitted parameters: scaling both
    inputs up tenfold (more compute for any increasing cost) raises its value at every
    probe point (N = D = sqrt(C/6) at the smallest and largest budget) of every task. Such
    a law (an accuracy: a sigmoid of a loss law, a law rising in N and D) has no
    compute-optimal minimum; before, its "optimum" was an edge of the search with a hint
    about exponents."""
    from jaxfit.predictions import law_values

    nN, nD = names
    est = d.estimate if d.estimate is not None else \
        {n: np.median(v, axis=1) for n, v in d.params.items()}
    centre = np.sqrt(np.array([budgets.min(), budgets.max()]) / 6.0)
    N = np.concatenate([centre, 10.0 * centre])[None, :]                 # [1, 4]
    v = law_values(d.law, {n: np.asarray(a, np.float64)[:, None] for n, a in est.items()},
                   {nN: N, nD: N})                                      # [T, 4], one call
    k = len(centre)
    rising = np.all(np.isfinite(v), axis=1) & np.all(v[:, k:] > v[:, :k], axis=1)
    if rising.size and rising.all():
        raise ValueError(
            f"{what}: law {d.law.name!r} increases with compute at the fitted parameters "
            f"(its value at N = D = sqrt(C/6) x 10 exceeds that at sqrt(C/6), at every "
            f"budget probed and every task), so it has no compute-optimal minimum: "
            f"{what} minimises a loss-like law (lower is better). Pass the fit of the loss "
            "law instead (for a chain, e.g. accuracy = sigmoid(loss(N, D)), the fit or "
            "posterior of its loss step), then read the accuracy at that optimum.")


# ----------------------------------------------------------------------------- results

def _quantile(values: np.ndarray, qs, axis: int) -> np.ndarray:
    """``np.quantile`` that keeps +inf draws (e.g. an unreachable loss) as +inf."""
    big = np.finfo(np.float64).max
    q = np.quantile(np.where(np.isposinf(values), big, values), qs, axis=axis)
    return np.where(q >= big, np.inf, q)


def _no_interval(q: np.ndarray, n_draws: int) -> np.ndarray:
    """Quantiles [median, lower, upper, ...] with the bounds NaN for a single draw (a point
    fit has no interval; the quantiles of one value would be a zero-width one)."""
    if n_draws < 2:
        q = q.copy()
        q[1:] = np.nan
    return q


def _summary(values: np.ndarray, estimate: np.ndarray | None, prob: float) -> dict:
    """Quantiles over the draw axis (1) of [T, D, ...] values (bounds NaN for one draw)."""
    from jaxfit.posterior import sample_sd

    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    with np.errstate(invalid="ignore", over="ignore"):
        q = _no_interval(_quantile(values, [0.5, lo, hi], axis=1), values.shape[1])
        mean = values.mean(axis=1)
        sd = sample_sd(values, axis=1)
    return {"estimate": q[0] if estimate is None else estimate, "median": q[0], "mean": mean,
            "sd": sd, "lower": q[1], "upper": q[2]}


def _task_values(tasks: pd.Index) -> np.ndarray:
    """The task labels as a 1-D object array: a label of several ``by`` columns is one
    tuple (np.asarray of a list of tuples made a 2-D array, and the frames' task column
    came out of the wrong length: ValueError 'All arrays must be of the same length')."""
    out = np.empty(len(tasks), dtype=object)
    out[:] = list(tasks)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class OptimalResult:
    """What `optimal` returns.

    Attributes:
        law: the law.
        tasks: task labels.
        budgets: [B] compute budgets.
        draws: quantity -> [T, D, B] values per task, draw and budget (``N``, ``D``,
            ``loss``, ``tokens_per_param``, ``a`` = d log N*/d log C, ``b`` = d log D*/d log C).
        estimate: quantity -> [T, B] at the point estimate (None: the draws' median).
        at_edge: [T, D, B] True where the numerical minimum hit the search range's edge
            (no interior optimum; never for the closed form).
        method: "closed" or "numerical".
        prob: interval probability.
        n_draws: draws per task (1 for a point fit: no interval).
        by: the fit's ``by`` option: the frames' task column is named after it, as in
            `jaxfit.suggest` and predictions (``"task"`` without one or for several).
    """

    law: Law
    tasks: pd.Index
    budgets: np.ndarray
    draws: Mapping[str, np.ndarray]
    estimate: Mapping[str, np.ndarray] | None
    at_edge: np.ndarray
    method: str
    prob: float
    n_draws: int
    by: object = None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (task, C, quantity) (the task column named as the fit's
        ``by`` column, `jaxfit.data.task_label`) with ``estimate``, ``median``,
        ``mean``, ``sd`` (the bootstrap standard error for a bootstrap), ``lower``,
        ``upper`` (equal-tailed ``prob`` interval over the draws) and ``at_edge`` (fraction
        of draws whose minimum hit the search edge). ``lower``/``upper`` are NaN for a point
        fit (one draw: no interval)."""
        T, B = len(self.tasks), len(self.budgets)
        task = task_label(self.by)
        frames = []
        edge = self.at_edge.mean(axis=1)
        for q in QUANTITIES:
            s = _summary(self.draws[q], None if self.estimate is None else self.estimate[q],
                         self.prob)
            frames.append(pd.DataFrame({
                task: np.repeat(_task_values(self.tasks), B),
                "C": np.tile(self.budgets, T), "quantity": q,
                **{k: v.reshape(-1) for k, v in s.items()}, "at_edge": edge.reshape(-1)}))
        out = pd.concat(frames, ignore_index=True)
        out = out.sort_values([task, "C"], kind="stable", key=_sort_key).reset_index(drop=True)
        out.attrs.update(prob=self.prob, method=self.method, law=self.law.name)
        return out

    def table(self) -> pd.DataFrame:
        """Wide view: one row per (task, C); for each quantity its estimate and interval."""
        f = self.to_frame()
        wide = f.pivot_table(index=[task_label(self.by), "C"], columns="quantity",
                             values=["estimate", "lower", "upper"], sort=False)
        wide = wide.swaplevel(axis=1).reindex(columns=pd.MultiIndex.from_product(
            [list(QUANTITIES), ["estimate", "lower", "upper"]]))
        return wide

    def exponents(self) -> pd.DataFrame:
        """Per task: the allocation exponents ``a`` (N* ~ C^a) and ``b`` (D* ~ C^b) at the
        smallest budget (constant in C for the Chinchilla form)."""
        f = self.to_frame()
        f = f[f["quantity"].isin(["a", "b"]) & (f["C"] == self.budgets.min())]
        return f.drop(columns=["C", "at_edge"]).set_index([task_label(self.by), "quantity"])

    def __repr__(self) -> str:
        """One line, as `jaxfit.FitResult`'s (the dataclass's own printed every draw
        array and the law's parameters: 580 lines for 4 tasks x 20 bootstrap draws)."""
        names = ", ".join(map(str, list(self.tasks[:5]))) + (
            ", ..." if len(self.tasks) > 5 else "")
        return (f"OptimalResult({self.law.name}, {len(self.tasks)} task(s) [{names}], "
                f"{len(self.budgets)} budget(s), method={self.method}, {self.n_draws} "
                f"draw(s) per task, prob={self.prob:g}; see table(), to_frame(), "
                "exponents())")

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self))
        return f"<p>{head}</p>" + self.table().head(20).to_html(float_format="{:.6g}".format)


def _sort_key(s: pd.Series):
    return s if s.name == "C" else s.map({t: i for i, t in enumerate(dict.fromkeys(s))})


def optimal(result, budgets, *, cost: Callable | None = None, inverse: Callable | None = None,
            inputs: Sequence[str] = ("N", "D"), method: str = "auto", prob: float = 0.9,
            warn: bool = True) -> OptimalResult:
    """Compute-optimal model size, tokens and loss at each budget, with intervals.

    Args:
        result: a `jaxfit.FitResult` (a point answer) or a `jaxfit.Posterior` (an answer
            per draw: NUTS, SVI, Laplace or bootstrap), of a law with inputs N and D.
        budgets: one or many compute budgets (same units as ``cost``; FLOPs by default),
            each once (a repeated budget is refused).
        cost: ``cost(N, D) -> C``, jax-traceable and increasing in D (default
            ``6 N D``, Kaplan et al. 2020). E.g. ``lambda N, D: 6*N*D + 6*2048*24*D``.
        inverse: optional ``inverse(C, N) -> D`` of ``cost`` (exact); without it a
            non-default cost is inverted by bisection (with implicit derivatives).
        inputs: names of the law's model-size and token inputs.
        method: "auto" (the closed form of Hoffmann et al. 2022, eq. 4, for laws
            ``E + A/N^alpha + B/D^beta`` with the default cost; numerical otherwise),
            "closed" or "numerical".
        prob: probability of the equal-tailed intervals.
        warn: warn when numerical minima hit the search edge (no interior optimum), when
            a budget lies outside the fitted compute, and when a task of a `FitResult`
            did not converge (False: none of these; the plots' calls, which warn once).

    Returns:
        An `OptimalResult` (``to_frame()``, ``table()``, ``exponents()``).

    Example:
        >>> import jaxfit as jf
        >>> df = jf.datasets.load("chinchilla")
        >>> res = jf.fit(jf.models.chinchilla(), df[~df.epoch_excluded_outlier], init="grid")
        >>> opt = jf.optimal(res, 5.76e23)
        >>> t = opt.table().round(3)
        >>> float(t[("a", "estimate")].iloc[0])
        0.514
    """
    if warn and isinstance(result, FitResult):
        result.warn_unconverged(where="optimal")     # at optimal's caller
    return _optimal(result, budgets, cost=cost, inverse=inverse, inputs=inputs, method=method,
                    prob=prob, warn=warn, what="optimal")


def _optimal(result, budgets, *, cost, inverse, inputs, method, prob, warn,
             what: str) -> OptimalResult:
    """`optimal`, its refusals named after ``what``: the public function that called it
    (`isoflop` and `overtrain` solve the optimum first; their refusals said "optimal:")."""
    # optimal, isoflop and overtrain name a task that did not converge themselves, at
    # their caller (before: isoflop and overtrain twice, the second time pointing here)
    d = as_draws(result, what)
    if what == "optimal":
        check_task_label(d.by, ("C", "quantity", "estimate", "median", "mean", "sd",
                                "lower", "upper", "at_edge"), "optimal")
    check_prob(prob, what)
    names = _check_law(d.law, inputs, what)
    _check_cost(cost, inverse, what)
    method = _method(d.law, method, cost, inverse)
    c = _budgets(budgets, what)
    _check_loss_like(d, names, c, what)
    if warn or what != "optimal":       # the plots call optimal(warn=False) budget by budget
        _warn_outside(result, c, names, cost, what)
    out = _run(d, c, names, cost, inverse, method)
    draws = {q: out["draws"][q] for q in QUANTITIES}
    est = None if out["estimate"] is None else {q: out["estimate"][q] for q in QUANTITIES}
    edge = out["draws"]["edge"]
    if warn and edge.any():
        warnings.warn(f"{what}: in {edge.mean():.1%} of (task, draw, budget) members the "
                      f"loss of law {d.law.name!r} has no minimum inside N = N0 x "
                      f"e^(+-{SPAN:g}), N0 the N = D point of the budget's constraint "
                      f"({'sqrt(C/6)' if cost is None and inverse is None else 'cost(N, D) = C'}) "
                      "(it keeps falling towards an edge); those optima "
                      "are edge values. Check the fitted exponents (a negative or zero "
                      "exponent has no compute-optimal allocation).", RuntimeWarning,
                      stacklevel=3)         # optimal's caller (only optimal passes warn)
    return OptimalResult(law=d.law, tasks=d.tasks, budgets=c, draws=draws, estimate=est,
                         at_edge=edge, method=method, prob=prob, n_draws=d.n_draws, by=d.by)


def optimal_at(law: Law, params: Mapping[str, float], budget: float, *,
               cost: Callable | None = None, inverse: Callable | None = None,
               inputs: Sequence[str] = ("N", "D"), method: str = "auto") -> dict:
    """The optimum of one law with given parameter values at one budget, as a dict
    (``N``, ``D``, ``loss``, ``tokens_per_param``, ``a``, ``b``)."""
    names = _check_law(law, inputs, "optimal_at")
    _check_cost(cost, inverse, "optimal_at")
    method = _method(law, method, cost, inverse)
    missing = [n for n in law.param_names if n not in params]
    if missing:
        raise ValueError(f"optimal_at: params lack {missing} of law {law.name!r} (its "
                         f"parameters are {list(law.param_names)}); give every one, e.g. "
                         "params=fit_result.param_dict().")
    c = _budgets(budget, "optimal_at")
    if c.size != 1:
        raise ValueError(f"optimal_at: budget must be one value, got {c.size} "
                         f"({c.tolist()!r}); for several budgets call jf.optimal on a fit "
                         "(it returns every budget), or optimal_at once per budget.")
    d = Draws(law=law, tasks=pd.Index([0]), x={}, by=None, estimate=None,
              params={n: np.array([[float(params[n])]]) for n in law.param_names})
    _check_loss_like(d, names, c, "optimal_at")
    out = _run(d, c, names, cost, inverse, method)["draws"]
    return {q: float(out[q][0, 0, 0]) for q in QUANTITIES}


# ------------------------------------------------------------------ isoFLOP, overtraining

@functools.cache
def _profile_fn(law: Law, names, cost, inverse):
    """jit: (params [M], log C [B], offsets [G]) -> (log N, log D, loss) [M, B, G] along
    the constraint, log N = log N*(C) + offset (N* from the estimate, passed in)."""
    nN, nD = names
    tokens = _make_tokens(cost, inverse)

    def one(p, logC, u):
        v = tokens(logC, u)
        return u, v, law(p, {nN: jnp.exp(u), nD: jnp.exp(v)})

    g = jax.vmap(one, in_axes=(None, None, 0))          # grid of u
    gb = jax.vmap(g, in_axes=(None, 0, 0))              # budgets (with their grid)
    return cache.jit(jax.vmap(gb, in_axes=(0, None, None)))


def isoflop(result, budgets, *, n: int = 41, span: float = 2.0, cost: Callable | None = None,
            inverse: Callable | None = None, inputs: Sequence[str] = ("N", "D"),
            prob: float = 0.9) -> pd.DataFrame:
    """IsoFLOP profiles: the loss against model size at fixed compute (Hoffmann et al.
    2022, Approach 2, figure 3), with intervals over the result's draws.

    Args:
        result: a `FitResult` or `Posterior`.
        budgets: compute budgets.
        n: model sizes per budget, log-spaced over ``N*(C) e^[-span, span]`` (N* at the
            estimate).
        span: half-width of the profile in log N.
        cost, inverse, inputs: as in `optimal`.
        prob: interval probability.

    Returns:
        A tidy DataFrame: one row per (task, C, N) (the task column named as in
        `OptimalResult.to_frame`) with ``D``, ``tokens_per_param``, the
        loss ``estimate``, ``median``, ``lower``, ``upper`` and ``optimal`` (True on the
        row nearest the estimate's N*).
    """
    if isinstance(result, FitResult):
        result.warn_unconverged(where="isoflop")     # at isoflop's caller
    d = as_draws(result, "isoflop")
    check_task_label(d.by, ("C", "N", "D", "tokens_per_param", "estimate", "median", "lower",
                            "upper", "optimal"), "isoflop")
    names = _check_law(d.law, inputs, "isoflop")
    c = _budgets(budgets, "isoflop")
    if not whole(n, 3):                 # before: n=None raised int()'s TypeError
        raise ValueError(f"isoflop: n must be an integer >= 3, got {n!r}.")
    if isinstance(span, bool) or not isinstance(span, (int, float, np.number)) \
            or not math.isfinite(span) or span <= 0:
        # span=0 put every model size at N* and marked every row optimal
        raise ValueError(f"isoflop: span={span!r} must be a positive number (the profile's "
                         "half-width in log N), e.g. span=2.0.")
    opt = _optimal(result, c, cost=cost, inverse=inverse, inputs=inputs, method="auto",
                   prob=prob, warn=False, what="isoflop")
    N_star = (opt.estimate["N"] if opt.estimate is not None
              else np.median(opt.draws["N"], axis=1))                         # [T, B]
    fn = _profile_fn(d.law, names, cost, inverse)
    offs = np.linspace(-span, span, int(n))
    T, D = len(d.tasks), d.n_draws
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    frames = []
    with jax.enable_x64(True):
        for t in range(T):
            grid = jnp.asarray(np.log(N_star[t])[:, None] + offs[None, :])     # [B, G]
            p = {k: jnp.asarray(v[t]) for k, v in d.params.items()}
            u, v, L = (np.asarray(a) for a in fn(p, jnp.log(jnp.asarray(c)), grid))
            if d.estimate is not None:
                pe = {k: jnp.asarray(v[t:t + 1]) for k, v in d.estimate.items()}
                est = np.asarray(fn(pe, jnp.log(jnp.asarray(c)), grid)[2])[0]
            else:
                est = np.median(L, axis=0)
            q = _no_interval(np.quantile(L, [0.5, lo, hi], axis=0), D)
            best = np.abs(offs)[None, :].repeat(len(c), 0) == np.abs(offs).min()
            frames.append(pd.DataFrame({
                task_label(d.by): np.repeat(_task_values(d.tasks)[t:t + 1], len(c) * len(offs)),
                "C": np.repeat(c, len(offs)),
                "N": np.exp(u[0]).reshape(-1), "D": np.exp(v[0]).reshape(-1),
                "tokens_per_param": np.exp(v[0] - u[0]).reshape(-1),
                "estimate": est.reshape(-1), "median": q[0].reshape(-1),
                "lower": q[1].reshape(-1), "upper": q[2].reshape(-1),
                "optimal": best.reshape(-1)}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(prob=prob, law=d.law.name)
    return out


@functools.cache
def _overtrain_fn(law: Law, names, cost, inverse):
    """jit over members [M] x budgets [B] x ratios [R]: the loss at D = r N on the
    constraint, and the compute that model size needs to reach ``target`` loss."""
    nN, nD = names
    tokens = _make_tokens(cost, inverse)
    cost_fn = cost or (lambda N, D: 6.0 * N * D)

    def one(p, logC, logr, logL_star):
        u = _bisect(lambda u: logr + u - tokens(logC, u), -80.0, 200.0, 120) \
            if (cost is not None or inverse is not None) else 0.5 * (logC - LOG6 - logr)
        v = tokens(logC, u)
        x = lambda vv: {nN: jnp.exp(u), nD: jnp.exp(vv)}  # noqa: E731
        logL = law.log(p, x(v))
        # tokens this model size needs to reach the optimum's loss (L falls with D)
        far = v + 40.0
        reach = law.log(p, x(far)) <= logL_star
        v_need = _bisect(lambda vv: logL_star - law.log(p, x(vv)), jnp.minimum(v, far),
                         far, 120)
        need = jnp.where(reach, cost_fn(jnp.exp(u), jnp.exp(v_need)), jnp.inf)
        return jnp.exp(u), jnp.exp(v), jnp.exp(logL), need / jnp.exp(logC)

    f = jax.vmap(one, in_axes=(None, None, 0, None))                  # ratios
    f = jax.vmap(f, in_axes=(None, 0, None, 0))                       # budgets
    return cache.jit(jax.vmap(f, in_axes=(0, None, None, 0)))         # members


def overtrain(result, budgets, ratios: Sequence[float] = (5, 10, 20, 50, 100, 200, 500, 1000),
              *, cost: Callable | None = None, inverse: Callable | None = None,
              inputs: Sequence[str] = ("N", "D"), prob: float = 0.9) -> pd.DataFrame:
    """The price of training a smaller model longer (or a larger one shorter).

    For each budget C and tokens-per-parameter ratio r, the model with ``D = r N`` on the
    constraint ``cost(N, D) = C``: its loss, the ``penalty`` over the compute-optimal loss
    at the same C, and ``compute_overhead``: the compute that model size needs (training
    longer) to reach the compute-optimal loss, as a multiple of C (inf where it never
    does). This is the inference-aware trade-off of Sardana et al. (2024, "Beyond
    Chinchilla-Optimal: Accounting for Inference in Language Model Scaling Laws") and De
    Vries (2023, "Go smol or go home"), with intervals over the result's draws.

    Returns:
        A tidy DataFrame: one row per (task, C, ratio, quantity) (the task column named
        as in `OptimalResult.to_frame`) with quantity in ``N``,
        ``D``, ``loss``, ``penalty``, ``compute_overhead`` and columns ``estimate``,
        ``median``, ``lower``, ``upper``.
    """
    if isinstance(result, FitResult):
        result.warn_unconverged(where="overtrain")     # at overtrain's caller
    d = as_draws(result, "overtrain")
    check_task_label(d.by, ("C", "ratio", "quantity", "estimate", "median", "lower", "upper"),
                     "overtrain")
    names = _check_law(d.law, inputs, "overtrain")
    c = _budgets(budgets, "overtrain")
    r = _ratios(ratios, "overtrain")
    opt = _optimal(result, c, cost=cost, inverse=inverse, inputs=inputs, method="auto",
                   prob=prob, warn=False, what="overtrain")
    fn = _overtrain_fn(d.law, names, cost, inverse)
    T, D = len(d.tasks), d.n_draws

    def run(params, L_star):
        with jax.enable_x64(True):
            flat = {k: jnp.asarray(v.reshape(-1)) for k, v in params.items()}
            outs = fn(flat, jnp.log(jnp.asarray(c)), jnp.log(jnp.asarray(r)),
                      jnp.log(jnp.asarray(L_star.reshape(-1, len(c)))))
            N, Dt, L, over = (np.asarray(o) for o in outs)
        return dict(N=N, D=Dt, loss=L, penalty=L - L_star.reshape(-1, len(c))[..., None],
                    compute_overhead=over)

    vals = {k: v.reshape(T, D, len(c), len(r)) for k, v in
            run(d.params, opt.draws["loss"]).items()}
    est = None
    if d.estimate is not None:
        est = {k: v.reshape(T, len(c), len(r)) for k, v in
               run({k: v[:, None] for k, v in d.estimate.items()}, opt.estimate["loss"]).items()}
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    task = task_label(d.by)
    frames = []
    for q, v in vals.items():
        with np.errstate(over="ignore", invalid="ignore"):
            qs = _no_interval(_quantile(v, [0.5, lo, hi], axis=1), D)
        e = qs[0] if est is None else est[q]
        frames.append(pd.DataFrame({
            task: np.repeat(_task_values(d.tasks), len(c) * len(r)),
            "C": np.tile(np.repeat(c, len(r)), T), "ratio": np.tile(r, T * len(c)),
            "quantity": q, "estimate": e.reshape(-1), "median": qs[0].reshape(-1),
            "lower": qs[1].reshape(-1), "upper": qs[2].reshape(-1)}))
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values([task, "C", "ratio"], kind="stable", key=_sort_key)
    out = out.reset_index(drop=True)
    out.attrs.update(prob=prob, law=d.law.name)
    return out
