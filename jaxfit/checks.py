"""Validation of public options and prediction inputs, at the public boundary.

Every public entry point (`jaxfit.fit`, `jaxfit.sample`, `jaxfit.bootstrap`, the
``predict`` methods, the CLI) calls one function of this module first, so a bad option
fails with a ValueError that names the option, the value and the allowed range before
anything is traced or fitted (a wrong option never becomes a wrong number).

Example:
    >>> from jaxfit import checks
    >>> checks.fit_options(delta=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: delta=-1.0 is out of range: it must be a finite number > 0 (the Huber threshold, in residual units).
"""

from __future__ import annotations

import dis
import functools
import math
import numbers
import types
import weakref
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from jaxfit.data import (check_input_domain, column_map, did_you_mean, numeric_values,
                         task_at, unique_columns)
from jaxfit.law import Law, fixed_text
from jaxfit.warnings import DuplicateWarning, ScaleWarning, warn_fit

__all__ = ["fit_options", "sample_options", "bootstrap_options", "prediction_inputs",
           "law_output", "law_log", "law_constants", "scale_warning", "ScaleWarning",
           "duplicate_rows", "repeated_rows", "check_prob", "data_warnings", "LOSSES",
           "SPACES", "REDUCTIONS", "FIT_METHODS", "INITS"]

LOSSES = ("huber", "squared", "absolute")
SPACES = ("log", "linear")
REDUCTIONS = ("sum", "mean")
FIT_METHODS = ("newton", "lbfgs")
INITS = ("random", "sobol", "grid")
SAMPLE_METHODS = ("nuts", "svi", "laplace")
#: Orders of magnitude between the data's targets and every start's predictions beyond
#: which `scale_warning` fires (see its docstring for the measurement behind it).
SCALE_DECADES = 3.0


# ------------------------------------------------------------------------ scalars

def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def whole(value, lo: int) -> bool:
    """Whether ``value`` is a whole number >= ``lo``: an int or an integral float (3 or
    3.0), not a bool, a string, NaN or inf. A predicate, for checks whose message is the
    caller's own (`integer` refuses 3.0 and words its message itself)."""
    return bool(isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
                and math.isfinite(value) and float(value).is_integer() and value >= lo)


def check_prob(prob, what: str) -> None:
    """ValueError naming ``what`` (the caller) unless ``prob`` is a real number in (0, 1):
    the rule of `jaxfit.optimal`, `jaxfit.isoflop`, `jaxfit.overtrain` and `jaxfit.suggest`
    (before, ``prob="0.9"`` or None raised "'<' not supported between instances")."""
    if not (isinstance(prob, numbers.Real) and not isinstance(prob, (bool, np.bool_))
            and 0 < prob < 1):
        raise ValueError(f"{what}: prob must be in (0, 1), got {prob!r}; give a number such "
                         "as 0.9.")


#: The largest count `integer` takes (a 32-bit int, JAX's default): a count, step cap or
#: batch size above it is a typo, and overflowed inside a compiled program (``jaxfit fit
#: --max-steps 99999999999999999999``: "OverflowError ... whose argument path is y", exit 3
#: "internal error") or in building one.
MAX_COUNT = 2**31 - 1


def integer(name: str, value, lo: int, allow_none: bool = False, why: str = "") -> None:
    """``value`` must be an int >= ``lo`` and <= `MAX_COUNT` (or None when ``allow_none``)."""
    if value is None and allow_none:
        return
    if not _is_int(value) or value < lo:
        none = " or None" if allow_none else ""
        raise ValueError(f"{name}={value!r} is out of range: it must be an integer >= {lo}"
                         f"{none}{f' ({why})' if why else ''}.")
    if value > MAX_COUNT:
        raise ValueError(f"{name}={value!r} is out of range: it must be an integer from {lo} "
                         f"to {MAX_COUNT}{f' ({why})' if why else ''}.")


def real(name: str, value, lo: float | None = None, hi: float | None = None,
         lo_open: bool = True, hi_open: bool = True, why: str = "") -> None:
    """``value`` must be a finite real number in the given interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        parts = []
        if lo is not None:
            parts.append(f"{'>' if lo_open else '>='} {lo:g}")
        if hi is not None:
            parts.append(f"{'<' if hi_open else '<='} {hi:g}")
        rng = " and ".join(parts)
        raise ValueError(f"{name}={value!r} is out of range: it must be a finite number"
                         f"{' ' + rng if rng else ''}{f' ({why})' if why else ''}.")


def choice(name: str, value, options: tuple) -> None:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}={value!r} is not one of {list(options)}.")


#: The largest seed: JAX's random keys take a signed 64-bit integer (a larger one raised
#: OverflowError inside the fit, "Python int too large to convert to C long").
MAX_SEED = 2**63 - 1


def nonnegative_seed(value) -> None:
    if not _is_int(value) or value < 0:
        raise ValueError(f"seed={value!r} must be a non-negative integer (e.g. seed=0).")
    if value > MAX_SEED:
        raise ValueError(f"seed={value!r} is too large: it must be an integer from 0 to "
                         f"{MAX_SEED} (2**63 - 1, a 64-bit random key), e.g. seed=0.")


def _columns(y, by, x) -> None:
    if not isinstance(y, Hashable) or y is None:
        raise ValueError(f"y={y!r} must name one column (e.g. y='loss').")
    cols = [by] if by is None or isinstance(by, (str, int)) else by
    try:
        ok = all(isinstance(c, Hashable) for c in cols)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"by={by!r} must be a column name or a list of column names.")
    if x is not None and not isinstance(x, Mapping):
        raise ValueError(f"x={x!r} must map law inputs to columns, e.g. x={{'N': 'params'}}.")


def _init(init) -> None:
    if isinstance(init, str):
        choice("init", init, INITS)


# ------------------------------------------------------------------------ entry points

def fit_options(*, y="loss", by=None, x=None, loss="huber", delta=1e-3, space="log",
                reduction="sum", init="random", restarts=64, seed=0, method="newton",
                max_steps=1000, refine=8, keep=2, screen_steps=0, ftol=1e-12,
                continuation=None, **_) -> None:
    """Validate `jaxfit.fit`'s options (keyword names as in `jaxfit.fit`). Raises
    ValueError naming the option, the value and the range."""
    _columns(y, by, x)
    choice("loss", loss, LOSSES)
    real("delta", delta, lo=0.0, why="the Huber threshold, in residual units")
    choice("space", space, SPACES)
    choice("reduction", reduction, REDUCTIONS)
    _init(init)
    integer("restarts", restarts, 1, why="random or Sobol starts per task")
    nonnegative_seed(seed)
    choice("method", method, FIT_METHODS)
    integer("max_steps", max_steps, 1, why="solver iterations per restart")
    integer("refine", refine, 1, allow_none=True, why="best-screened starts refined per task")
    integer("keep", keep, 1, allow_none=True, why="restarts run to convergence per task")
    integer("screen_steps", screen_steps, 0, why="solver iterations before screening")
    real("ftol", ftol, lo=0.0, hi=1.0, why="relative convergence tolerance, e.g. 1e-12")
    _continuation(continuation, loss)


def _continuation(continuation, loss) -> None:
    """`jaxfit.fit`'s ``continuation``: None (the default stages) or a sequence of finite
    factors > 1 of the Huber delta, given only with ``loss="huber"``.

    Raises:
        ValueError: naming the value as given (before the check moved here:
            ``continuation=10`` raised a bare "'int' object is not iterable", ``"10"``
            was read as the factors (1.0, 0.0), ``("x",)`` raised "could not convert
            string to float"), or ``loss`` with no Huber delta to smooth.
    """
    if continuation is None:
        return
    example = "e.g. continuation=(10,) for one warm-up stage at 10 x delta, or ()"
    if isinstance(continuation, (str, bytes)) or not isinstance(continuation, Sequence):
        raise ValueError(f"continuation={continuation!r} is not a sequence of factors; "
                         f"{example}.")
    for i, c in enumerate(continuation):
        real(f"continuation[{i}]", c, lo=1.0,
             why=f"a factor of the Huber delta in continuation={tuple(continuation)!r}; "
                 f"{example}")
    if len(continuation) and loss != "huber":
        raise ValueError(f"continuation={tuple(continuation)} smooths the Huber loss; "
                         f"loss={loss!r} has no delta to smooth. Pass continuation=().")


def sample_options(*, y="loss", by=None, x=None, space="log", nu=4.0, method="nuts",
                   chains=4, warmup=1000, samples=1000, seed=0, target_accept=0.8,
                   max_tree_depth=10, jitter=0.0, batching="vmap", task_batch="auto",
                   svi_steps=2000, extend=4, loss="squared", delta=1e-3, init="random",
                   restarts=16, **_) -> None:
    """Validate `jaxfit.sample`'s options (keyword names as in `jaxfit.sample`)."""
    _columns(y, by, x)
    choice("space", space, SPACES)
    real("nu", nu, lo=0.0, why="Student-t degrees of freedom")
    choice("method", method, SAMPLE_METHODS)
    integer("chains", chains, 1)
    integer("warmup", warmup, 1)
    integer("samples", samples, 1)
    nonnegative_seed(seed)
    real("target_accept", target_accept, lo=0.0, hi=1.0,
         why="NUTS target acceptance probability, e.g. 0.8")
    integer("max_tree_depth", max_tree_depth, 1)
    real("jitter", jitter, lo=0.0, lo_open=False, why="start displacement, whitened units")
    choice("batching", batching, ("vmap", "plate"))
    if not (isinstance(task_batch, str) and task_batch == "auto"):
        integer("task_batch", task_batch, 1, allow_none=True,
                why="tasks vmapped together, or 'auto'")
    integer("svi_steps", svi_steps, 1, why="Adam steps of SVI")
    integer("extend", extend, 1, why="most iterations per chain, in samples, for tasks "
            "below the r_hat/ESS thresholds; 1: off")
    choice("loss", loss, LOSSES)
    real("delta", delta, lo=0.0, why="the Huber threshold, in residual units")
    _init(init)
    integer("restarts", restarts, 1, why="random or Sobol starts per task")


def bootstrap_options(*, n=1000, starts="fit", **fit_kw) -> None:
    """Validate `jaxfit.bootstrap`'s options (the fit's as in `fit_options`)."""
    integer("n", n, 2, why="resamples per task")
    choice("starts", starts, ("fit", "restarts"))
    fit_options(**fit_kw)


# ------------------------------------------------------------------------ predictions

def prediction_inputs(law: Law, df, x: Mapping | None = None,
                      where: str = "predict") -> dict[str, np.ndarray]:
    """The law's inputs at the rows of ``df``, validated like fit data.

    Raises:
        TypeError: ``df`` is not a DataFrame.
        ValueError: a missing or duplicated column, non-numeric, complex, NaN/NA or
            infinite values, or values <= 0 of an input the law takes the log of; naming
            the column, the values, the rows and the fix.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: give a pandas DataFrame, got {type(df).__name__}.")
    law_constants(law)
    cols = column_map(law, x)
    missing = [c for c in cols.values() if c not in df.columns]
    if missing:
        mapped = {n: c for n, c in cols.items() if n != c}
        reads = (f"; the fit reads {', '.join(f'{n} from {c!r}' for n, c in mapped.items())}"
                 if mapped and where != "predict_chain" else "")
        rename = {n: c for n, c in mapped.items() if c in missing and n in df.columns}
        fix = (f"Rename yours, e.g. df.rename(columns={rename})" if rename and reads
               else "Add them" + (" or map them with x=" if where == "predict_chain" else ""))
        raise ValueError(f"{where}: missing column(s) {missing} (inputs of law "
                         f"{law.name!r}: {list(cols)}{reads}); the data has columns "
                         f"{list(df.columns)}{did_you_mean(missing, df.columns)}. {fix}.")
    unique_columns(df, cols.values(), f"{where}: ")
    out = {}
    for name, col in cols.items():
        try:
            values = numeric_values(df, col, f"input {name!r}")
            check_input_domain(df, law, name, col, values, "predict")   # fit's rule too
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        out[name] = values
    return out


# ------------------------------------------------------------------------ law output

#: JAX's errors for a Python or numpy operation on a traced value (``np.exp(x)``,
#: ``float(p)``, ``if p > 0``): the law's fn is not written in jax.numpy.
_TRACER_ERRORS = ("TracerArrayConversionError", "ConcretizationTypeError",
                  "TracerBoolConversionError", "TracerIntegerConversionError")


def _fn_failed(law: Law, what: str, e: Exception) -> Exception:
    """The error for ``law.fn`` (or ``log_fn``) raising ``e`` when jaxfit calls it."""
    head = " ".join(str(e).split("\n")[0].split())[:300]
    if isinstance(e, KeyError) and e.args:
        key = e.args[0]
        # a name the law has, looked up in the other dict: before, "neither one of its
        # inputs ['C'] nor one of its parameters ['A', 'alpha']" about 'A'
        if key in law.param_names or key in law.inputs:
            kind, first, other = (("parameter", "params", "x") if key in law.param_names
                                  else ("input", "x", "params"))
            return ValueError(
                f"law {law.name!r}: {what} looked up the {kind} {key!r} in the {other} dict. "
                f"jaxfit calls {what}(params, x): parameters {list(law.param_names)} in the "
                f"first argument, inputs {list(law.inputs)} in the second; write e.g. "
                f"fn=lambda p, x: ..., reading {kind}s from {'p' if first == 'params' else 'x'}.")
        if key in law.fixed:
            return ValueError(
                f"law {law.name!r}: {what} looked up {key!r}, which is in the law's fixed= "
                f"({fixed_text(law.fixed)}); fixed= only records values that fn holds itself, "
                f"it does not pass them to fn. Put {key!r} in params= and hold it with "
                f"jaxfit.fix(law, {key}={float(law.fixed[key]):g}).")
        return ValueError(
            f"law {law.name!r}: {what} looked up {key!r}, which is neither one of its inputs "
            f"{list(law.inputs)} (the x dict) nor one of its parameters "
            f"{list(law.param_names)} (the params dict). Fix the name in {what}, or add it "
            "to inputs= or params=.")
    if type(e).__name__ in _TRACER_ERRORS:
        return TypeError(
            f"law {law.name!r}: {what} cannot be traced by JAX ({type(e).__name__}: {head}). "
            f"jaxfit calls it with traced arrays (to differentiate, vmap and compile it), so it "
            "must use jax.numpy (jnp.exp, jnp.log, jnp.where) instead of numpy or math "
            "functions, and no float(), int() or Python if/while on parameter or input "
            "values (use jnp.where).")
    return ValueError(f"law {law.name!r}: {what}(params, x) raised {type(e).__name__}: {head}, "
                      f"when called with one value per parameter {list(law.param_names)} and "
                      f"one array per input {list(law.inputs)}. It must return one prediction "
                      "per point, elementwise in the inputs.")


def law_output(law: Law, x: Mapping[str, np.ndarray], w: np.ndarray) -> None:
    """``law.fn`` must return one float64 prediction per point, elementwise.

    Checked by tracing ``fn`` (``jax.eval_shape``: no compilation; cached per law and
    point count) with one task's points, before any fit: inputs ``(P,)`` against scalar
    parameters must give ``(P,)``, and inputs ``(P, 1)`` against parameter arrays
    ``(P, 2)`` (how predictions from a posterior's draws call it) ``(P, 2)``. A law that
    returns a single value is allowed only if that value does not depend on the inputs
    (a constant; evaluated at the centre of the init box). Before this check, a fn that
    averaged its points (``jnp.mean(...)``) was fitted to that one number without an
    error, and a ``(P, 1)`` output or numpy calls failed deep inside the solver.
    (``log_fn`` is not traced: the combinators derive one for every law they build, and
    tracing it too doubled the cost; `law_log` then evaluates it once against fn.)

    Args:
        law: the law.
        x: input name -> [T, P] batch arrays; w: [T, P] weights (0 on padding).

    Raises:
        TypeError: fn does not return a float64 array, or cannot be traced (numpy,
            float(), if).
        ValueError: fn raises, reads a name that is neither an input nor a parameter, or
            returns another shape than one value per point; or ``log_fn`` is not
            ``log(fn)`` at the data's inputs (`law_log`).
    """
    _law_shapes(law, x, w)
    law_log(law, x, w)


def _law_shapes(law: Law, x: Mapping[str, np.ndarray], w: np.ndarray) -> None:
    """`law_output`'s checks of fn's output (dtype and shape)."""
    if not law.params:
        # every parameter fixed (jf.fix(law, E=..., A=..., alpha=...)): the shape check
        # below blamed fn ("fn returned shape (12, 1) ...; it must return shape (12, 2)")
        held = f" (held fixed: {fixed_text(law.fixed)})" if law.fixed else ""
        raise ValueError(
            f"law {law.name!r} has no free parameters to fit{held}. Leave at least one "
            "parameter out of jaxfit.fix, or evaluate the law at your points directly: "
            "law({}, {input: values}).")
    law_constants(law)
    w = np.asarray(w)
    has = (w > 0).any(axis=1)
    if not has.any():
        return
    t = int(np.argmax(has))
    real = w[t] > 0
    xs = {n: np.asarray(v, dtype=np.float64)[t][real] for n, v in x.items()}
    P = int(real.sum())
    for want, xshape, pshape, out in _traced(law, P, tuple(xs)):
        if isinstance(out, str):
            raise TypeError(
                f"law {law.name!r}: fn returned a {out}; it must return one array of "
                "predictions, one per point (e.g. return y, not (y, extra) or {'y': y}).")
        shape, dtype = out
        if not (np.issubdtype(dtype, np.floating) and dtype.itemsize >= 8):
            # float32 predictions made the fit stall at float32's resolution ('stalled',
            # with advice about kinks), with no word about the dtype
            raise TypeError(
                f"law {law.name!r}: fn returned {dtype} predictions from float64 inputs and "
                "parameters; jaxfit fits in float64 (float32 rounding stalls the solver). "
                "Return float64: drop .astype(...) or dtype= arguments that give another "
                "type.")
        if shape == want:
            continue
        if math.prod(shape) == 1 and len(shape) <= len(want):
            # one value for all points: a constant law, or a reduction over points
            if P > 1 and _depends_on_inputs(law, xs):
                raise ValueError(
                    f"law {law.name!r}: fn returned one value (shape {shape}) for {P} "
                    "points, and that value depends on the inputs: it reduces over the "
                    "points (jnp.sum, jnp.mean, ...). Return one prediction per point, "
                    "elementwise in the inputs.")
            return
        raise ValueError(
            f"law {law.name!r}: fn returned shape {shape} for inputs of shape {xshape} and "
            f"parameters as {pshape}; it must return shape {want}: one prediction per "
            "point, elementwise in the inputs and broadcasting against the parameters (no "
            "reductions, no added or reordered axes, e.g. no [:, None] or jnp.stack).")


#: Points at which `law_log` compares ``log_fn`` with ``log(fn)``: a fixed number, so its
#: program has one shape whatever the data's size (compiled once per law).
LOG_CHECK_POINTS = 16
#: Largest ``|log_fn - log(fn)|`` `law_log` accepts, times ``max(1, |log fn|)``: a relative
#: disagreement of 1e-6 between ``exp(log_fn)`` and fn (float64 rounding is ~1e-15).
LOG_FN_RTOL = 1e-6


def law_log(law: Law, x: Mapping[str, np.ndarray], w: np.ndarray) -> None:
    """ValueError when the law's ``log_fn`` is not ``log(fn)`` at the data's inputs.

    A law's ``log_fn`` gives its residuals in log space (``space="log"``, the default),
    its log-space likelihood and `jaxfit.optimal`'s allocations; nothing compared it with
    fn, so a wrong one (a term left out, another exponent, or a ``law.replace(fn=...,
    log_fn=...)`` that kept the old law's ``log_fn``; a bare ``replace(fn=...)`` drops it)
    fitted another law without a word (measured: A 4.5 and alpha 0.039 instead of 48 and
    0.30 with E left out of log_fn). Both are
    evaluated in one small program (`_fn_and_log`, compiled once per law: 0.1-0.15 s
    for Chinchilla on a 2-core CPU; the same operations run eagerly cost 0.5 s in a new
    process, one compile per operation), as the fit calls them (scalar parameters,
    one array of points), at `LOG_CHECK_POINTS` of the data's points (each input's
    smallest and largest value among them) and at two parameter vectors: the centre of
    the Params' init box (in the optimiser's unconstrained space) and an off-centre point
    of it. The values are compared on the host; points where fn is not a positive normal
    float are skipped (no log to compare with).

    Args:
        law: the law (nothing is checked when it has no ``log_fn``).
        x: input name -> [T, P] batch arrays; w: [T, P] weights (0 on padding).

    Raises:
        ValueError: ``|log_fn - log(fn)|`` exceeds `LOG_FN_RTOL` ``* max(1, |log fn|)``
            at some point, naming the law, the largest disagreement, where it is, the
            parameter values and the fix; or ``log_fn`` raises, or returns a shape that
            is not one value per point.
        TypeError: ``log_fn`` cannot be traced by JAX (numpy, float(), if).
    """
    if law.log_fn is None or not law.params:
        return
    xs = _check_points(x, w)
    if xs is None:
        return
    import jax

    from jaxfit.inference.starts import init_box

    lo, hi = init_box(law)
    off = 0.2 + 0.6 * np.mod(np.arange(1, len(lo) + 1) * 0.6180339887498949, 1.0)
    u = np.stack([0.5 * (lo + hi), lo + off * (hi - lo)]).astype(np.float64)
    with jax.enable_x64(True):
        try:
            p, f, g = _fn_and_log()(law, True, jax.device_put(u), jax.device_put(xs))
        except Exception as e:  # noqa: BLE001 - fn passed law_output's trace: log_fn's
            raise _fn_failed(law, "log_fn", e) from e
    # the constrained parameters come out of the same program (unpacking the numpy u
    # here ran every constraint's transform op by op, eagerly, on every fit)
    order = [*law.param_names, *(n for n in p if n not in law.param_names)]  # jit sorts keys
    params = {n: np.asarray(p[n], dtype=np.float64) for n in order}
    f, g = np.asarray(f, dtype=np.float64), np.asarray(g, dtype=np.float64)
    for i, where in enumerate(("the centre of", "a point inside")):
        _compare_log(law, xs, {n: float(v[i]) for n, v in params.items()}, where, f[i], g[i])


@functools.cache
def _fn_and_log():
    """The compiled ``(params, fn, log_fn)`` of a law at parameter vectors ``u`` [V, k]
    (unconstrained) and points ``x`` (input name -> [K]): [V, ...] each (``params`` the
    constrained values, name -> [V]), fn and log_fn
    called with scalar parameters as the fit calls them (vmapped over ``u``); with
    ``with_log`` False, ``(params, fn)`` only (`scale_warning`, any law). Built on
    first use (`jaxfit.inference.cache.jit`: bounded, keyed by the law)."""
    import jax

    from jaxfit.inference import cache
    from jaxfit.inference.objective import unpack

    def fn_and_log(law, with_log, u, x):
        def one(v):
            p = unpack(law, v)
            return (p, law.fn(p, x)) + ((law.log_fn(p, x),) if with_log else ())

        return jax.vmap(one)(u)

    return cache.jit(fn_and_log, static_argnums=(0, 1))


def _check_points(x: Mapping[str, np.ndarray], w: np.ndarray) -> dict | None:
    """`LOG_CHECK_POINTS` of the batch's real points (weight > 0), as input name -> [K]:
    each input's smallest and largest value, then points spread over the rest (repeated
    when there are fewer); None when there are none."""
    real = np.asarray(w) > 0
    cols = {n: np.asarray(v, dtype=np.float64)[real] for n, v in x.items()}
    n = int(real.sum())
    if n == 0 or not cols:
        return None
    ends = [i for v in cols.values() for i in (int(np.argmin(v)), int(np.argmax(v)))]
    spread = np.linspace(0, n - 1, LOG_CHECK_POINTS).round().astype(np.int64)
    idx = np.resize(np.array(list(dict.fromkeys([*ends, *spread])), dtype=np.int64),
                    LOG_CHECK_POINTS)
    return {k: v[idx] for k, v in cols.items()}


def _compare_log(law: Law, xs: Mapping[str, np.ndarray], params: Mapping[str, float],
                 where: str, f: np.ndarray, g: np.ndarray) -> None:
    """`law_log`'s verdict on fn's values ``f`` and log_fn's ``g`` at the points ``xs``."""
    K = LOG_CHECK_POINTS
    try:
        f, g = np.broadcast_to(f, (K,)), np.broadcast_to(g, (K,))
    except ValueError:
        raise ValueError(
            f"law {law.name!r}: log_fn returned shape {np.shape(g)} for inputs of shape "
            f"({K},) (fn: {np.shape(f)}); it must return log(fn(params, x)), one value per "
            "point, elementwise in the inputs.") from None
    ok = np.isfinite(f) & (f >= np.finfo(np.float64).tiny)
    if not ok.any():
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        log_f = np.log(np.where(ok, f, 1.0))
        gap = np.where(ok, np.abs(g - log_f), 0.0)
        gap = np.where(ok & ~np.isfinite(g), np.inf, gap)
        rel = gap / np.maximum(1.0, np.abs(log_f))
    j = int(np.argmax(rel))
    if not rel[j] > LOG_FN_RTOL:
        return
    at = ", ".join(f"{n}={v[j]:.6g}" for n, v in xs.items())
    pars = ", ".join(f"{n}={v:.4g}" for n, v in params.items())
    with np.errstate(over="ignore", invalid="ignore"):
        implied = f"{np.exp(g[j]):.6g}" if np.isfinite(g[j]) else f"{g[j]} in log"
    raise ValueError(
        f"law {law.name!r}: log_fn is not log(fn): at {where} its parameters' init box "
        f"({pars}), at the data's point {at}, fn = {f[j]:.6g} but exp(log_fn) = {implied} "
        f"(|log_fn - log(fn)| = {gap[j]:.3g}, the largest of {int(ok.sum())} points "
        f"checked; tolerance {LOG_FN_RTOL:g} relative). log_fn gives the residuals in log "
        "space (space='log', the default), so this law would silently fit another "
        "function. Fix log_fn so that it returns jnp.log(fn(params, x)), or drop it "
        "(log_fn=None: jaxfit then takes jnp.log of fn); law.replace(fn=..., log_fn=...) must "
        "give the new fn's log (or leave log_fn= out: replace then drops the old one).")


#: Top-level packages whose functions a law's fn calls but whose globals are no constants
#: of the law (`law_constants` does not walk into them).
_LIBRARIES = frozenset(("jax", "jaxlib", "numpy", "numpyro", "scipy", "optax", "builtins",
                        "math", "functools", "pandas"))
#: law -> the constants its fn read when jaxfit first saw it (`law_constants`).
_FIRST_CONSTANTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def law_constants(law: Law) -> None:
    """ValueError when a number that ``law.fn`` reads from a variable (a global, or a
    closure's variable) has changed since jaxfit first fitted or predicted with ``law``.

    jaxfit compiles a law's programs once per `Law` object, and a compiled program holds
    the values fn read when it was traced. Measured: ``fn = lambda p, x: OFF + A x^-alpha``
    fitted with ``OFF = 1.0``, then refitted after ``OFF = 0.5``, returned the first fit's
    A = 20, alpha = 0.3 again (a fresh law gives A = 15.3, alpha = 0.233), without a word.
    Only numbers and small arrays reachable from fn's closure and the globals its code
    loads are compared (through `Law` objects, functions, partials, tuples, lists and
    dicts; not attributes of other objects, nor jax, numpy or numpyro code). An entry of
    a list or dict fn uses counts even where fn reads another entry: the error then says
    so, and a new Law is the way on (a stale entry would be a silent wrong fit).

    Raises:
        ValueError: such a number changed, naming the variable, both values and the fix.
    """
    try:
        now = _constants(law)
    except Exception:  # noqa: BLE001 - an object the walk cannot read: no verdict
        return
    first = _FIRST_CONSTANTS.setdefault(law, now)
    changed = [(k, first[k][1], now[k][1]) for k in first if k in now and now[k][0] != first[k][0]]
    if not changed:
        return
    (where, name, _), was, is_ = changed[0]
    entry = "[" in name          # an entry of a list or dict fn uses: fn may not read it
    raise ValueError(
        f"law {law.name!r}: fn {'uses' if entry else 'reads'} {name} (in {where}), which was "
        f"{was} when jaxfit first used this law and is {is_} now; "
        f"{'if fn reads it, ' if entry else ''}the law's compiled programs keep {was}, so its "
        "fits and predictions would silently use the old value. Build a new Law for the new "
        "value, e.g. from a factory that takes it (def make(off): return jf.Law(fn=lambda "
        "p, x: off + ..., ...)), or make it a parameter held with jf.fix, or an input.")


def _constants(law: Law) -> dict:
    """(function, variable, path) -> (comparable value, text) of the numbers and small arrays
    that ``law.fn`` and ``law.log_fn`` read from closures and globals (`law_constants`)."""
    out: dict = {}
    seen: set[int] = set()

    def value(v):
        if isinstance(v, (bool, numbers.Number, np.generic)):
            return repr(v), repr(v)
        a = v if isinstance(v, np.ndarray) else None
        if a is None and type(v).__module__.split(".")[0] in ("jax", "jaxlib") \
                and hasattr(v, "shape") and hasattr(v, "dtype"):
            if math.prod(v.shape) > 10_000:          # not copied to the host to be skipped
                return None
            try:
                a = np.asarray(v)
            except Exception:  # noqa: BLE001 - a tracer: not a constant
                return None
        if a is None or a.size > 10_000 or a.dtype == object:
            return None
        return (a.shape, a.dtype.str, a.tobytes()), (
            repr(a.item()) if a.size == 1 else f"an array of shape {a.shape}")

    def walk(obj, key, depth, path=""):
        # key: (function, variable) for the message; path: the route from the law (two
        # closures' variables of one name, e.g. compose's outer and inner, stay apart)
        v = value(obj)
        if v is not None:
            out[(*key, path)] = v
            return
        if depth > 8 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, Law):
            walk(obj.fn, key, depth + 1, f"{path}.fn")
            walk(obj.log_fn, key, depth + 1, f"{path}.log_fn")
        elif isinstance(obj, functools.partial):
            walk(obj.func, key, depth + 1, f"{path}.func")
            for i, a in enumerate(obj.args):
                walk(a, (key[0], f"{key[1]}.args[{i}]"), depth + 1, f"{path}.args[{i}]")
            for k, a in obj.keywords.items():
                walk(a, (key[0], f"{key[1]}.keywords[{k!r}]"), depth + 1, f"{path}[{k!r}]")
        elif isinstance(obj, (tuple, list)) and len(obj) <= 64:
            for i, a in enumerate(obj):
                walk(a, (key[0], f"{key[1]}[{i}]"), depth + 1, f"{path}[{i}]")
        elif isinstance(obj, (dict, types.MappingProxyType)) and len(obj) <= 64:
            for k, a in obj.items():
                walk(a, (key[0], f"{key[1]}[{k!r}]"), depth + 1, f"{path}[{k!r}]")
        elif isinstance(obj, types.FunctionType) and \
                (obj.__module__ or "").split(".")[0] not in _LIBRARIES:
            code, where = obj.__code__, obj.__qualname__
            for name, cell in zip(code.co_freevars, obj.__closure__ or ()):
                try:
                    walk(cell.cell_contents, (where, name), depth + 1, f"{path}/{name}")
                except ValueError:                  # an empty cell
                    pass
            for name in _global_names(code):
                if name in obj.__globals__:
                    walk(obj.__globals__[name], (where, name), depth + 1, f"{path}/{name}")

    walk(law, ("fn", "fn"), 0)
    return out


def _global_names(code: types.CodeType) -> set[str]:
    """The global names ``code`` and the functions defined in it load (``LOAD_GLOBAL``,
    ``LOAD_NAME``): not ``co_names``, which also holds attribute names, so a notebook
    variable ``exp`` was taken for a constant of ``jnp.exp(...)``."""
    names = {i.argval for i in dis.get_instructions(code)
             if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


@functools.lru_cache(maxsize=256)
def _traced(law: Law, P: int, inputs: tuple[str, ...]) -> tuple:
    """``law.fn``'s output (``(shape, dtype)``, or the type name of a non-array) for the
    two calls `law_output` checks; raises `_fn_failed`'s error when fn raises."""
    import jax
    import jax.numpy as jnp

    f64 = jnp.float64
    cases = [({n: jax.ShapeDtypeStruct((), f64) for n in law.param_names},
              {n: jax.ShapeDtypeStruct((P,), f64) for n in inputs}, (P,), f"({P},)",
              "scalars"),
             ({n: jax.ShapeDtypeStruct((P, 2), f64) for n in law.param_names},
              {n: jax.ShapeDtypeStruct((P, 1), f64) for n in inputs}, (P, 2), f"({P}, 1)",
              f"arrays of shape ({P}, 2)")]
    out = []
    with jax.enable_x64(True):
        for pp, xx, want, xshape, pshape in cases:
            try:
                o = jax.eval_shape(law.fn, pp, xx)
            except Exception as e:  # noqa: BLE001 - reported with the law's name
                raise _fn_failed(law, "fn", e) from e
            o = ((tuple(o.shape), np.dtype(o.dtype)) if isinstance(o, jax.ShapeDtypeStruct)
                 else type(o).__name__)
            out.append((want, xshape, pshape, o))
    return tuple(out)


def _depends_on_inputs(law: Law, xs) -> bool:
    """Whether a fn returning one value gives different values at the first and the last
    point (evaluated eagerly on one point each, at the centre of the init box)."""
    import jax
    import jax.numpy as jnp

    from jaxfit.inference.objective import unpack
    from jaxfit.inference.starts import init_box

    lo, hi = init_box(law)
    try:
        with jax.enable_x64(True):
            p = unpack(law, jnp.asarray(0.5 * (lo + hi), dtype=jnp.float64))
            a = np.asarray(law.fn(p, {n: jnp.asarray(v[:1]) for n, v in xs.items()}))
            b = np.asarray(law.fn(p, {n: jnp.asarray(v[-1:]) for n, v in xs.items()}))
    except Exception:  # noqa: BLE001 - the shape check already passed; no verdict
        return False
    return not np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True)


# ------------------------------------------------------------------------ data scale

def scale_warning(law: Law, x: Mapping[str, np.ndarray], y: np.ndarray, w: np.ndarray,
                  starts: np.ndarray, space: str, stacklevel: int = 3) -> bool:
    """Warn (`ScaleWarning`) when, in linear space, the targets are more than
    `SCALE_DECADES` orders of magnitude from every start's predictions.

    The law's starts (its Params' init ranges) encode the scale it expects (losses of
    order 1). Far from it, the starts are useless and the default Huber delta (absolute,
    in y's units) makes the loss an L1 fit; measured: chinchilla on Epoch AI's data with
    y multiplied by 1e10 (space="linear") ends `stalled` at an objective 9.0x that of the
    unscaled L1 optimum mapped to the same scale (the issue measured 11x). Log space is
    scale-free up to the law's own constants and is not checked.

    Args:
        law, x, y, w: the law and the padded batch arrays ([T, P]; w = 0 on padding).
        starts: [S, k] unconstrained starting points.
        space: the residual space.
        stacklevel: as in `warnings.warn` (inside `jaxfit.warnings.fit_source`, the
            warning carries its label and points further out).

    Returns:
        True when it warned.
    """
    if space != "linear":
        return False
    import jax

    real_pts = w > 0
    scale_y = float(np.median(np.abs(y[real_pts])))
    if not scale_y > 0:
        return False
    try:
        with jax.enable_x64(True):
            starts = np.asarray(starts, dtype=np.float64)
            starts = starts.reshape(-1, starts.shape[-1])
            u = jax.device_put(starts[: min(len(starts), 16)])
            xs = jax.device_put({n: np.asarray(v[real_pts], dtype=np.float64)
                                 for n, v in x.items()})                 # [n]
            pred = np.abs(np.asarray(_fn_and_log()(law, False, u, xs)[1]))  # [S, n]
    except Exception:  # noqa: BLE001 - an advisory check never stops a fit
        return False
    med = np.median(np.where(np.isfinite(pred), pred, np.nan), axis=1)
    med = med[np.isfinite(med) & (med > 0)]
    if med.size == 0:
        return False
    gaps = np.abs(np.log10(med) - np.log10(scale_y))
    gap = float(np.min(gaps))
    if gap <= SCALE_DECADES:
        return False
    warn_fit(
        f"the targets (median |y| = {scale_y:.3g}) are {gap:.0f} or more orders of magnitude "
        f"from what law {law.name!r} predicts at every one of its starts (the closest: median "
        f"{med[np.argmin(gaps)]:.3g}); "
        "in space='linear' the starts and the Huber delta (absolute, in y's units) do not "
        f"fit this scale. Rescale y (e.g. divide it by {10 ** round(np.log10(scale_y)):.0e}) "
        "and its law's scale parameters, use space='log', or give init= values.",
        ScaleWarning, stacklevel=stacklevel)
    return True


# ------------------------------------------------------------------------ data warnings

def data_warnings(law: Law, batch, starts: np.ndarray, space: str, columns,
                  stacklevel: int = 4) -> None:
    """The advisory checks of the data that `jaxfit.fit`, `jaxfit.sample` and
    `jaxfit.bootstrap` run before fitting (with ``warn=True``): `scale_warning` and
    `duplicate_rows`, each pointing ``stacklevel`` frames up from this function (4: the
    caller of the function calling this)."""
    scale_warning(law, batch.x, batch.y, batch.w, starts, space, stacklevel=stacklevel)
    duplicate_rows(batch, columns, stacklevel=stacklevel)


# ------------------------------------------------------------------------ duplicates

def duplicate_rows(batch, columns, stacklevel: int = 3) -> int:
    """Warn (`DuplicateWarning`) when rows of a task repeat another row of it exactly.

    A copy of a row (the same inputs and target, weight > 0) counts as one more
    independent observation: the copied point weighs more in the fit, n and the degrees
    of freedom grow, and a posterior's or a bootstrap's interval narrows (by about the
    square root of the copies where every row is copied alike, when the fit itself does
    not change). Real repeated measurements rarely agree to the last digit;
    copies do (the embedded Hitchhiker data's ``lambda`` family holds each of its 229
    upstream rows 4 times, as ColPret's loader returns them; measured there, Chinchilla's
    law with a 400-resample bootstrap: the same point fit, 911 degrees of freedom against
    224, and a 90% interval at 4x the largest model 0.0040 wide against 0.0080 after
    ``drop_duplicates()``, half as wide). Nothing is dropped: the
    warning says how many rows repeat, in which tasks, and how to drop them.

    Args:
        batch: the `jaxfit.data.Batch` of the fit.
        columns: the data's columns that make a row a repeat: the task columns (``by``),
            the law's inputs and the target (named in the message and its fix).
        stacklevel: as in `warnings.warn` (inside `jaxfit.warnings.fit_source`, the
            warning carries its label and points further out).

    Returns:
        The number of rows that repeat an earlier row of their task (0: no warning).
    """
    real = (batch.rows >= 0) & (batch.w > 0)
    task = np.broadcast_to(np.arange(real.shape[0])[:, None], real.shape)[real]
    values = np.column_stack([np.asarray(batch.x[n])[real] for n in sorted(batch.x)]
                             + [np.asarray(batch.y)[real]])
    repeats, text = repeated_rows(task, values, batch.tasks, columns)
    if repeats:
        warn_fit(text, DuplicateWarning, stacklevel=stacklevel)
    return repeats


def repeated_rows(task: np.ndarray, values: np.ndarray, tasks, columns) -> tuple[int, str]:
    """How many rows repeat an earlier row of their task exactly, and the message of
    `duplicate_rows` (``""`` when none do).

    Args:
        task: [n] each row's task position in ``tasks``.
        values: [n, m] each row's inputs and target.
        tasks: the task labels.
        columns: the columns named in the message (see `duplicate_rows`).
    """
    keys = np.column_stack([np.asarray(task, np.float64), np.asarray(values, np.float64)])
    uniq, counts = np.unique(keys, axis=0, return_counts=True)
    repeats = int(np.sum(counts - 1))
    if repeats == 0:
        return 0, ""
    T = len(tasks)
    per_task = np.bincount(uniq[:, 0].astype(np.int64), weights=counts - 1,
                           minlength=T).astype(np.int64)
    rows = np.bincount(np.asarray(task, np.int64), minlength=T)
    hit = np.flatnonzero(per_task)
    hit = hit[np.argsort(-per_task[hit], kind="stable")]
    named = ", ".join(f"{task_at(tasks, t)!r}: {per_task[t]} of {rows[t]}" for t in hit[:3])
    more = f" and {len(hit) - 3} more" if len(hit) > 3 else ""
    one = T == 1
    where = f"of {len(keys)}" if one else f"in {len(hit)} task(s) ({named}{more})"
    return repeats, (
        f"{repeats} rows {where} repeat another row{'' if one else ' of their task'} exactly "
        f"(the same {', '.join(map(repr, columns))}); each counts as an independent "
        "observation, so n, the degrees of freedom and the intervals assume more "
        "information than copies hold. If they are copies, drop them first: "
        f"df.drop_duplicates(subset={list(columns)}); if they are real repeated measurements, "
        "ignore this warning (jaxfit.warnings.DuplicateWarning).")
