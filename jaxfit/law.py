"""`Param` and `Law`: the data every fitter, sampler and recipe in jaxfit shares.

A `Param` declares a parameter's constraint as data (a numpyro constraint, mapped to
the real line by ``numpyro.distributions.transforms.biject_to``), the range its random
starts are drawn from and, optionally, its prior. A `Law` is a pure function
``fn(params, x) -> y`` with the names of its inputs and a dict of Params. Combinators
(`compose`, `fix`, `add`, `share`) build new Laws from old ones; no law hides its own
reparametrisation.

Example:
    >>> import jax.numpy as jnp
    >>> from numpyro.distributions import constraints
    >>> law = Law(
    ...     fn=lambda p, x: p["A"] * x["N"] ** -p["alpha"],
    ...     params={"A": Param(constraints.positive, init=(1.0, 1e3)),
    ...             "alpha": Param(constraints.real, init=(0.0, 1.0))},
    ...     inputs=("N",), positive_inputs=("N",), name="my_power_law")
    >>> float(law({"A": 2.0, "alpha": 1.0}, {"N": jnp.array(4.0)}))
    0.5
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to

__all__ = ["Param", "PowerTerm", "TERM_KINDS", "Law", "compose", "fix", "add", "share",
           "NOISE", "PriorDescription", "as_names", "law_factory"]

Params = Mapping[str, Any]
Inputs = Mapping[str, Any]

#: Name of the noise scale that `jaxfit.sample` and `jaxfit.bootstrap` draw beside a
#: law's parameters (``Posterior.draws["sigma"]``, ``priors={"sigma": ...}``); no law
#: parameter may take it.
NOISE = "sigma"
#: The columns `jaxfit.FitResult.to_frame` adds beside the parameters' own; no law
#: parameter may take one (a parameter named "steps" was replaced there by the solver's
#: step count, without a word).
FIT_COLUMNS = ("objective", "status", "steps", "grad_norm", "identified", "at_bound", "dof",
               "design")


@dataclasses.dataclass(frozen=True, eq=False)
class Param:
    """One parameter of a law.

    Attributes:
        constraint: a numpyro constraint (``constraints.real``, ``constraints.positive``,
            ``constraints.interval(lo, hi)``, ...). The optimizer works on the real line
            through ``biject_to(constraint)``; the sampler uses the same bijection.
        init: (low, high) range, in the parameter's own (constrained) units, from which
            random and Sobol starts are drawn uniformly *in the unconstrained space*, i.e.
            log-uniformly for a positive parameter. Both ends must lie strictly inside the
            constraint (a start needs a finite unconstrained value; `Law` checks this).
            Default: the image of [-1, 1] under the constraint's bijection ((-1, 1) for
            ``real``, (1/e, e) for ``positive``, (0.27, 0.73) for ``interval(0, 1)``).
        prior: a numpyro distribution over the constrained value, or None for the
            sampler's documented default. It must give positive probability to some
            values inside the constraint (`Law` checks this).
        doc: a one-line meaning, shown in the law catalogue.

    Example:
        >>> from numpyro.distributions import constraints
        >>> p = Param(constraints.positive, init=(1.0, 1e3), doc="scale")
        >>> float(p.transform(0.0)), round(float(p.transform.inv(1e3)), 4)   # exp and log
        (1.0, 6.9078)
    """

    constraint: Any = dataclasses.field(default_factory=lambda: constraints.real)
    init: tuple[float, float] | None = None
    prior: Any = None
    doc: str = ""

    def __post_init__(self):
        _check_constraint(self.constraint)
        if self.init is not None:
            object.__setattr__(self, "init", _init_pair(self.init))
        if self.init is None:
            # [-1, 1] on the real line, wherever the constraint maps it (a fixed (-1, 1)
            # lay outside `positive` and crashed every fit of Param(constraints.positive))
            # (sorted: a decreasing bijection, e.g. less_than(hi)'s hi - exp(u), maps it to
            # (high, low), and Param(constraints.less_than(0.0)) failed with "init range
            # must have low < high" about an init that was never given)
            with jax.enable_x64(True):
                ends = self.transform(jnp.array([-1.0, 1.0], dtype=jnp.float64))
            lo, hi = sorted((float(ends[0]), float(ends[1])))
            object.__setattr__(self, "init", (lo, hi))
        lo, hi = self.init
        if not lo < hi:
            raise ValueError(f"Param init range must have low < high, got {self.init}.")

    @property
    def transform(self):
        """The bijection from the real line onto the constraint's support."""
        return biject_to(self.constraint)

    @property
    def bounds(self) -> tuple[float, float]:
        """Lower and upper bound of the support (+-inf where unbounded)."""
        lo = getattr(self.constraint, "lower_bound", -math.inf)
        hi = getattr(self.constraint, "upper_bound", math.inf)
        return float(lo), float(hi)


def _check_constraint(c) -> None:
    """TypeError unless ``c`` is a numpyro constraint object. A name (``"positive"``) or
    the uncalled factory (``constraints.interval``, a class) reached ``biject_to`` and
    failed there with a bare ``NotImplementedError`` and no message."""
    if isinstance(c, constraints.Constraint):
        _check_scalar_constraint(c)
        return
    if isinstance(c, type) and issubclass(c, constraints.Constraint):
        got = f"the class {c.__name__} (a constraint factory not called with its bounds)"
        fix = "call it, e.g. constraints.interval(0.0, 1.0) or constraints.greater_than(1.0)"
    else:
        got = f"{type(c).__name__} {c!r}"
        name = c if isinstance(c, str) and isinstance(getattr(constraints, c, None),
                                                      constraints.Constraint) else "positive"
        fix = (f"e.g. Param(constraints.{name}), after from numpyro.distributions import "
               "constraints")
    raise TypeError(f"Param constraint must be a numpyro constraint (constraints.real, "
                    f".positive, .interval(lo, hi), .greater_than(lo)), got {got}; {fix}.")


def _check_scalar_constraint(c) -> None:
    """TypeError unless ``c`` constrains one real number with a bijection from the real
    line and scalar bounds; ValueError for an empty interval. Before: a discrete constraint
    (``positive_integer``, ``boolean``) raised a bare ``NotImplementedError`` with no
    message; a vector one (``simplex``, ``ordered_vector``) was accepted and its "init"
    was the image of [-1, 1] as a vector; ``greater_than(jnp.array([0, 1]))`` failed with
    "Only scalar arrays can be converted to Python scalars"; ``interval(2, 0)`` with
    "init range must have low < high", about an init range never given."""
    text = type(c).__name__.lstrip("_")
    if getattr(c, "event_dim", 0) != 0:
        raise TypeError(f"Param constraint {text} constrains a vector (event_dim="
                        f"{c.event_dim}); a Param is one real number: give a scalar constraint "
                        "(constraints.real, .positive, .interval(lo, hi), .greater_than(lo)), "
                        "one Param per component.")
    try:
        biject_to(c)
    except NotImplementedError:
        raise TypeError(f"Param constraint {text} has no bijection from the real line (numpyro's "
                        "biject_to; a discrete constraint?), so neither the optimiser nor the "
                        "sampler can move in it; fit a real-valued parameter (e.g. "
                        "constraints.positive) and round it in fn, or hold it with "
                        "jaxfit.fix.") from None
    bounds = [(k, getattr(c, k)) for k in ("lower_bound", "upper_bound") if hasattr(c, k)]
    for k, v in bounds:
        if np.ndim(v) != 0:
            raise TypeError(f"Param constraint {text}: {k} must be one number, got an array of "
                            f"shape {np.shape(v)}; a Param is one real number (one Param per "
                            "component).")
    if len(bounds) == 2 and not float(bounds[0][1]) < float(bounds[1][1]):
        lo, hi = float(bounds[0][1]), float(bounds[1][1])
        raise ValueError(f"Param constraint {text}(lower={lo:g}, upper={hi:g}) is empty: its "
                         f"lower bound must be below its upper bound, e.g. "
                         f"constraints.interval({min(lo, hi):g}, {max(lo, hi):g}).")


def _init_pair(init) -> tuple:
    """``init`` as a (low, high) tuple; TypeError naming it unless it is a pair of numbers
    (a scalar failed with "cannot unpack non-iterable float object", a triple with "too
    many values to unpack")."""
    try:
        pair = tuple(init)
        if len(pair) != 2:
            raise ValueError
        for v in pair:
            float(v)
    except (TypeError, ValueError):
        raise TypeError(f"Param init must be a (low, high) pair of numbers in the parameter's "
                        f"own units, e.g. init=(0.1, 10.0); got {init!r}.") from None
    return pair


def as_names(value) -> tuple[str, ...]:
    """A tuple of names from a sequence of names, or from one name: a string given where
    a tuple is meant (``inputs="flops"``) became its letters ('f', 'l', 'o', 'p', 's')."""
    return (value,) if isinstance(value, str) else tuple(value)


@functools.lru_cache(maxsize=1024)
def param_problem(param: Param) -> str | None:
    """What is wrong with ``param``'s init range or prior, or None.

    * an end of ``init`` outside the open support of the constraint has no unconstrained
      value (``log 0``, ``log -1``): its random starts are NaN or infinite, and a fit
      crashed far from the cause (measured: ``numpy.linalg.LinAlgError: SVD did not
      converge`` after the solver ran, for ``Param(constraints.positive, init=(0, 3))``);
    * a ``prior`` that is not a numpyro distribution, or that gives no probability to
      the constraint's support (no draw of it inside the constraint), leaves the sampler
      nowhere to go.

    Cached per Param (they are immutable), so rebuilding laws (`compose`, `fix`,
    ``replace``) does not repeat the checks.
    """
    lo, hi = param.init
    inside = _inside(param, (lo, hi))
    if not all(inside):
        bad = " and ".join(f"{end} end {v:g}" for end, v, ok in zip(("low", "high"), (lo, hi),
                                                                     inside) if not ok)
        verb = "are" if " and " in bad else "is"
        return (f"init={tuple(param.init)}: its {bad} {verb} not strictly inside the constraint "
                f"{_constraint_text(param.constraint)}, so starts drawn there have no value on "
                f"the optimiser's real line (the bijection's inverse is not finite). Give an "
                f"init range strictly inside the constraint{_inside_example(param)}, or "
                "change the constraint.")
    prior = param.prior
    if prior is None:
        return None
    return prior_problem(param.constraint, prior)


#: Scalar constraints whose bijection's inverse is finite exactly strictly inside their
#: bounds (numpyro's ``biject_to``: identity, log, log-shift, softplus, logit-affine).
_BOUNDED = ("Real", "Positive", "Nonnegative", "GreaterThan", "LessThan", "Interval",
            "OpenInterval", "UnitInterval")


def _strictly_inside(constraint, v: float) -> bool | None:
    """Whether ``v`` lies strictly inside ``constraint``'s bounds (None: not one of
    `_BOUNDED`). Plain arithmetic: `param_problem` runs for every parameter of every law
    built, and the bijection's eager JAX ops cost ~0.1 s of each new process."""
    if type(constraint).__name__.lstrip("_") not in _BOUNDED:
        return None
    lo = getattr(constraint, "lower_bound", None)
    hi = getattr(constraint, "upper_bound", None)
    v = float(v)
    return math.isfinite(v) and (lo is None or v > float(lo)) and (hi is None or v < float(hi))


def _inside(param, values) -> list[bool]:
    """Whether each of ``values`` lies strictly inside ``param``'s constraint: by plain
    arithmetic (`_strictly_inside`) for the bounded constraints, else by asking the
    bijection (a finite inverse)."""
    inside = [_strictly_inside(param.constraint, v) for v in values]
    if None in inside:                      # another constraint: ask its bijection
        with jax.enable_x64(True):
            u = param.transform.inv(jnp.array([float(v) for v in values], dtype=jnp.float64))
            inside = [bool(f) for f in np.isfinite(np.asarray(u))]
    return inside


@dataclasses.dataclass(frozen=True)
class PriorDescription:
    """A prior that a saved posterior recorded as text only: what `jaxfit.load` puts in
    ``Posterior.options["priors"]`` for a prior it cannot rebuild as a distribution (not
    one of ``numpyro.distributions``' classes with its constructor's arguments, e.g. a
    ``TransformedDistribution`` or a user's class; or a file written before priors were
    recorded). It describes the prior; it is not a distribution: `jaxfit.sample` refuses
    it, and its ``log_prob``, ``sample`` and the like raise, naming the prior.

    Attributes:
        text: the prior as recorded, e.g. ``"TransformedDistribution()"``.
        reason: why it was not rebuilt.
    """

    text: str
    reason: str = "the file recorded only its description"

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"{name!r}: the prior {self.text} is a description loaded from a file "
            f"({self.reason}), not a numpyro distribution; pass the distribution itself "
            "(priors={...}) to use it.")

    def __str__(self) -> str:
        return self.text


def prior_problem(constraint, prior) -> str | None:
    """Why ``prior`` cannot serve a parameter constrained to ``constraint``, or None: not a
    numpyro distribution (a `PriorDescription` says it is one loaded from a file), or none
    of 256 draws of it lie inside the constraint (their supports do not overlap, e.g.
    ``HalfNormal`` on an ``interval(-1, 0)`` parameter)."""
    import numpyro.distributions as dist

    if isinstance(prior, PriorDescription):
        return (f"prior {prior.text} is a description loaded from a saved posterior "
                f"({prior.reason}), not a numpyro distribution; give the distribution itself, "
                "e.g. numpyro.distributions.Normal(0.3, 0.1).")
    if not isinstance(prior, dist.Distribution):
        return (f"prior={prior!r} is not a numpyro distribution over the parameter's value; "
                "give one, e.g. numpyro.distributions.Normal(0.3, 0.1).")
    if prior.event_shape or prior.batch_shape:
        return (f"prior={dist_text(prior)} has batch shape {prior.batch_shape} and event shape "
                f"{prior.event_shape}; give a distribution of one scalar value.")
    try:
        with jax.enable_x64(True):
            draws = prior.sample(jax.random.key(0), (256,))
            inside = bool(jnp.any(constraint(draws)))
    except Exception:  # noqa: BLE001 - improper or unsampleable priors are not checked
        return None
    if inside:
        return None
    return (f"prior={dist_text(prior)} puts no measurable probability inside the parameter's "
            f"constraint {_constraint_text(constraint)} (none of 256 draws of the prior lie "
            "inside it), so the posterior is empty or all in the prior's far tail. Give a "
            "prior over the constrained values (its support must overlap the constraint), "
            "or change the constraint.")


def dist_text(d) -> str:
    """A numpyro distribution as ``Name(arg=value, ...)`` (its scalar arguments)."""
    args = []
    for k in getattr(d, "arg_constraints", {}):
        v = getattr(d, k, None)
        if v is not None and np.ndim(v) == 0:
            try:
                args.append(f"{k}={float(v):g}")
            except (TypeError, ValueError):
                pass
    return f"{type(d).__name__}({', '.join(args)})"


def _constraint_text(c) -> str:
    lo = getattr(c, "lower_bound", None)
    hi = getattr(c, "upper_bound", None)
    name = type(c).__name__.lstrip("_")
    parts = [f"{k}={float(v):g}" for k, v in (("lower", lo), ("upper", hi)) if v is not None]
    return f"{name}({', '.join(parts)})" if parts else name


def _inside_example(param: Param) -> str:
    """', e.g. init=(a, b)': the image of [-1, 1] under the constraint (inside it)."""
    try:
        ex = Param(param.constraint).init
    except Exception:  # noqa: BLE001 - an example is a courtesy
        return ""
    return f", e.g. init=({ex[0]:.3g}, {ex[1]:.3g})"


#: `PowerTerm.kind` values: what a term's input measures.
TERM_KINDS = ("size", "compute")


class PowerTerm(NamedTuple):
    """A power-law term ``scale * input^-exponent`` of a law, declared as data.

    The sampler's default priors use it (`jaxfit.inference.bayes`): a term is described
    by its level at the data's geometric centre and its exponent, the directions the
    data identify, instead of by ``scale`` and ``exponent`` separately.

    Attributes:
        scale: name of the (positive) scale parameter, e.g. ``"A"``.
        exponent: name of the exponent parameter, e.g. ``"alpha"``.
        input: name of the law input the term decays in, e.g. ``"N"``.
        kind: what the input measures, which sets the exponent's default prior
            (`jaxfit.inference.bayes.TERM_EXPONENT_PRIORS`): ``"size"`` (parameters or
            tokens, N and D: exponents ~0.3) or ``"compute"`` (training FLOPs: ~0.15).
    """

    scale: str
    exponent: str
    input: str
    kind: str = "size"


def _freeze(mapping: Mapping | None) -> Mapping:
    return types.MappingProxyType(dict(mapping or {}))


@dataclasses.dataclass(frozen=True, eq=False)
class Law:
    """A scaling law: a pure ``fn(params, x) -> y`` plus its parameter spec.

    Attributes:
        fn: ``fn(params, x)`` with ``params`` a dict of constrained values and ``x`` a dict
            of input arrays; returns the prediction. Pure, so jax transformations apply.
            A module-level function (or a ``functools.partial`` of one) lets the law, and
            the results that hold it, be pickled; a lambda or a closure does not (the
            built-in laws and `compose`, `fix`, `add` pickle).
        params: name -> `Param`, in the order the fitters use.
        inputs: names of the input columns the law reads.
        name: a short identifier (used in results and the command line).
        log_fn: optional numerically stable ``log(fn(params, x))`` (e.g. the log-sum-exp
            form of Chinchilla); used when residuals are taken in log space.
        positive_inputs: inputs on which the law takes a log; the data layer checks they
            are > 0.
        input_above: inputs defined only above another bound: name -> the value each
            must exceed (e.g. ``{"D": 1.0}`` for ``(log D)^alpha``, undefined at
            ``D < 1``); the data layer checks them as it does ``positive_inputs``
            (`input_bounds`).
        grid: optional name -> tuple of constrained values; their Cartesian product is the
            law's canonical start grid (``init="grid"``).
        shared: parameter names shared by all tasks of a fit (see `share`).
        formula: the law's formula as text, for tables and plots.
        fixed: name -> value of parameters held fixed by `fix` (not fitted; listed as
            fixed by `FitResult.summary`). A record, not an instruction: fn is not passed
            these values, so a name here may not also be in ``params`` (use `fix`).
        terms: the law's power-law terms (`PowerTerm`), if it declares them; the
            sampler's default priors describe each by its level at the data's centre and
            its exponent. Each term's scale must be a ``constraints.positive`` parameter
            (as must ``floor``); anything else raises a ValueError.
        floor: the name of the law's additive irreducible term (a positive parameter,
            e.g. Chinchilla's ``E``) that the ``terms`` decay to, if any; the sampler then
            takes the law's value at the data's centre as a coordinate.
        spec: how `jaxfit.io.load` rebuilds the law from a saved file (a
            `jaxfit.io.get_law` spec such as ``"power_law(input='C', irreducible=True)"``;
            None: its ``name``). The built-in factories set it; `fix` and `share` keep it,
            and a file records their fixed values and shared names beside it.
    """

    fn: Callable[[Params, Inputs], Any]
    params: Mapping[str, Param]
    inputs: tuple[str, ...]
    name: str = "law"
    log_fn: Callable[[Params, Inputs], Any] | None = None
    positive_inputs: tuple[str, ...] = ()
    input_above: Mapping[str, float] = dataclasses.field(default_factory=dict)
    grid: Mapping[str, tuple[float, ...]] | None = None
    shared: tuple[str, ...] = ()
    formula: str = ""
    fixed: Mapping[str, float] = dataclasses.field(default_factory=dict)
    terms: tuple[PowerTerm, ...] = ()
    floor: str | None = None
    spec: str | None = None

    def __post_init__(self):
        if not isinstance(self.params, Mapping):
            # params=["A", "alpha"] or a tuple of Params: "dictionary update sequence
            # element #0 has length 1; 2 is required", naming neither params nor the fix
            raise TypeError(f"Law {self.name!r}: params must be a dict of name -> jaxfit.Param, "
                            f"e.g. params={{'A': jaxfit.Param(constraints.positive)}}; got "
                            f"{type(self.params).__name__} {self.params!r}.")
        if not callable(self.fn):
            # fn=None passed until the first fit, which blamed what fn(params, x) "raised"
            raise TypeError(f"Law {self.name!r}: fn must be a function fn(params, x) "
                            f"returning the predictions; got {type(self.fn).__name__}.")
        bad = [n for n in [*self.params, *as_names(self.inputs)]
               if not isinstance(n, str) or not n]
        if bad:
            # params={1: ...} fitted, saved, and then failed to load ("field 'law.params' is
            # missing or not a list of parameter names; the file is ... corrupted")
            raise TypeError(f"Law {self.name!r}: parameter and input names must be non-empty "
                            f"strings (they key dicts, tables and saved files), got {bad!r}; "
                            "e.g. params={'A': ...}, inputs=('N',).")
        if NOISE in self.params:
            raise ValueError(
                f"Law {self.name!r}: a parameter may not be named {NOISE!r}: jaxfit.sample "
                f"and jaxfit.bootstrap draw the noise scale under that name beside the law's "
                f"parameters (Posterior.draws[{NOISE!r}]). Rename it, e.g. 's' or "
                f"'{NOISE}_x', in params= and in fn.")
        taken = [n for n in self.params if n in FIT_COLUMNS]
        if taken:
            raise ValueError(
                f"Law {self.name!r}: parameter(s) {taken} have the name of a column that "
                f"FitResult.to_frame() adds beside the parameters ({list(FIT_COLUMNS)}), "
                f"where the parameter's values would be replaced. Rename it, e.g. "
                f"'{taken[0]}_', in params= and in fn.")
        for n, p in dict(self.params).items():
            if not isinstance(p, Param):
                raise TypeError(f"Law {self.name!r}: params[{n!r}] must be a jaxfit.Param, "
                                f"e.g. jaxfit.Param(constraints.positive, init=(0.1, 10.0)); "
                                f"got {type(p).__name__}.")
            problem = param_problem(p)
            if problem:
                raise ValueError(f"Law {self.name!r}: parameter {n!r}: {problem}")
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "fixed", _freeze(_fixed_values(self.name, self.fixed,
                                                                self.params)))
        object.__setattr__(self, "inputs", as_names(self.inputs))
        object.__setattr__(self, "positive_inputs",
                           as_names(self.positive_inputs))
        object.__setattr__(self, "shared", as_names(self.shared))
        object.__setattr__(self, "input_above", _freeze(_input_above(self.name,
                                                                     self.input_above)))
        if self.grid is not None:
            object.__setattr__(self, "grid", _freeze(_grid_values(self.name, self.grid,
                                                                  self.params)))
            if set(self.grid) != set(self.params):
                raise ValueError(
                    f"Law {self.name!r}: grid names {sorted(self.grid)} must equal its "
                    f"parameters {sorted(self.params)}.")
        object.__setattr__(self, "terms", tuple(PowerTerm(*t) for t in self.terms))
        for t in self.terms:
            if t.kind not in TERM_KINDS:
                raise ValueError(f"Law {self.name!r}: term {tuple(t)} has kind {t.kind!r}; "
                                 f"it must be one of {TERM_KINDS} (what the input measures).")
            if t.scale not in self.params or t.exponent not in self.params \
                    or t.input not in self.inputs:
                raise ValueError(f"Law {self.name!r}: term {tuple(t)} names parameters or an "
                                 f"input it does not have (parameters {list(self.params)}, "
                                 f"inputs {list(self.inputs)}).")
        if self.floor is not None and self.floor not in self.params:
            raise ValueError(f"Law {self.name!r}: floor {self.floor!r} is not among its "
                             f"parameters {list(self.params)}.")
        # the sampler describes a term by log(scale) and the floor by the law's value; on
        # any other constraint `bayes._level_terms` and `_make_model` silently dropped the
        # declaration (a scale on greater_than(1): the marginal default prior, no level)
        for role, name in [("term scale", t.scale) for t in self.terms] + (
                [("floor", self.floor)] if self.floor is not None else []):
            c = self.params[name].constraint
            if c is not constraints.positive:
                raise ValueError(
                    f"Law {self.name!r}: the {role} {name!r} of a declared power-law term "
                    f"must be constraints.positive, got {_constraint_text(c)}; make it "
                    "positive, or do not declare terms/floor (they only set the sampler's "
                    "default priors).")
        unknown = set(self.shared) - set(self.params)
        if unknown:
            raise ValueError(f"Law {self.name!r}: shared parameters {sorted(unknown)} are "
                             f"not among its parameters {list(self.params)}.")
        for field in ("positive_inputs", "input_above"):
            unknown = [n for n in getattr(self, field) if n not in self.inputs]
            if unknown:       # a typo here silently dropped the x > 0 checks
                raise ValueError(f"Law {self.name!r}: {field} {unknown} are not among its "
                                 f"inputs {list(self.inputs)}.")

    @property
    def input_bounds(self) -> dict[str, float]:
        """Input name -> the value it must exceed: 0 for ``positive_inputs``, and each
        ``input_above`` bound (the larger where both name an input)."""
        return _above({n: 0.0 for n in self.positive_inputs}, self.input_above)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.params)

    def __call__(self, params: Params, x: Inputs):
        return self.fn(params, x)

    def __getstate__(self) -> dict:
        # pickle (results hold their laws): the frozen mappings (types.MappingProxyType)
        # do not pickle, so the state holds them as dicts; fn and log_fn pickle where they
        # are module-level functions or partials of them (the built-in laws' and
        # combinators'), not where they are lambdas or closures
        return {k: dict(v) if isinstance(v, types.MappingProxyType) else v
                for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        # the dicts are the frozen mappings `__getstate__` thawed (no other field is one)
        for k, v in state.items():
            object.__setattr__(self, k, _freeze(v) if isinstance(v, dict) else v)

    def log(self, params: Params, x: Inputs):
        """``log fn(params, x)``, through ``log_fn`` when the law provides one."""
        if self.log_fn is not None:
            return self.log_fn(params, x)
        return jnp.log(self.fn(params, x))

    def replace(self, **changes) -> Law:
        """A copy with some attributes changed (laws are immutable).

        A copy with another ``fn``, ``log_fn``, ``params`` or ``inputs`` is no longer what
        its factory builds: unless ``spec`` is given too, it is dropped (a saved fit then
        names the law by its ``name``, and `jaxfit.io.load` asks for ``law=`` where that
        is not a known spec).

        A new ``fn`` without ``log_fn=`` in the same call drops the old ``log_fn`` (it is
        the log of the old fn): the copy's log-space residuals are then ``jnp.log`` of the
        new fn. Give ``log_fn=`` with ``fn=`` to keep a stable log form, e.g.
        ``law.replace(fn=fn, log_fn=lambda p, x: jnp.log(fn(p, x)))``. Before, the copy
        kept the old log_fn and fitted the old function in log space
        (`jaxfit.checks.law_log` now refuses such a pair).

        Likewise a new ``fn`` drops what described the old one unless given in the same
        call: ``terms`` and ``floor`` (they set `jaxfit.sample`'s default priors and
        sampler coordinates, which assume the old function's ``A / N^alpha`` terms) and
        ``formula`` (shown in reports).
        """
        if "fn" in changes:
            for field, none in (("log_fn", None), ("terms", ()), ("floor", None),
                                ("formula", "")):
                changes.setdefault(field, none)
        if "spec" not in changes and {"fn", "log_fn", "params", "inputs"} & set(changes):
            changes["spec"] = None
        return dataclasses.replace(self, **changes)



def _finite(v, error: str) -> float:
    """``v`` as a float; ``ValueError(error)`` where it is not one finite number (a string,
    a bool, None, a list, NaN or infinity)."""
    try:
        f = math.nan if isinstance(v, (str, bytes, bool)) else float(v)
    except (TypeError, ValueError):
        f = math.nan
    if not math.isfinite(f):
        raise ValueError(error)
    return f


def _input_above(name: str, above: Mapping) -> dict[str, float]:
    """``input_above`` as input name -> float; ValueError naming a bound that is not a
    finite number (a text bound failed with a bare "could not convert string to float",
    and a NaN one refused every row of the data)."""
    return {k: _finite(v, f"Law {name!r}: input_above[{k!r}]={v!r} is not a finite number; "
                          f"give the value input {k!r} must exceed, e.g. "
                          f"input_above={{{k!r}: 1.0}}.")
            for k, v in dict(above).items()}


def _grid_values(name: str, grid: Mapping, params: Mapping) -> dict[str, tuple]:
    """``grid`` as name -> tuple of values; TypeError for an axis that is not a sequence of
    numbers, ValueError for a value that is not strictly inside its parameter's constraint.
    Its starts are the values mapped to the optimiser's real line: before, a value on or
    outside the constraint (``E=0`` or ``-1`` for a positive ``E``) gave an infinite or NaN
    start that `jaxfit.fit` ``init="grid"`` ran anyway, and a grid whose ``E`` axis held
    only such values ended "converged" at ``E=0, A=1, alpha=2e-308`` (the gradient vanishes
    at an infinite coordinate), where ``init=`` with the same values is refused; an axis
    given as one number failed with "'float' object is not iterable"."""
    out = {}
    for k, values in dict(grid).items():
        try:
            axis = tuple(float(v) for v in as_names(values))
            if not axis:
                raise ValueError
        except (TypeError, ValueError):
            raise TypeError(f"Law {name!r}: grid[{k!r}]={values!r} must be a non-empty "
                            f"sequence of numbers (the values of {k!r} the grid's starts take), "
                            f"e.g. grid={{{k!r}: (0.1, 1.0, 10.0), ...}}.") from None
        param = params.get(k)
        if param is not None:
            bad = [v for v, ok in zip(axis, _inside(param, axis)) if not ok]
            if bad:
                raise ValueError(
                    f"Law {name!r}: grid[{k!r}] holds {', '.join(f'{v:g}' for v in bad)}, not "
                    f"strictly inside the constraint {_constraint_text(param.constraint)} of "
                    f"{k!r}, so its starts have no value on the optimiser's real line (the "
                    "bijection's inverse is not finite). Give grid values strictly inside the "
                    f"constraint (e.g. within the init range of {k!r}, {param.init[0]:g} to "
                    f"{param.init[1]:g}), or change the constraint.")
        out[k] = axis
    return out


def _fixed_values(name: str, fixed: Mapping, params: Mapping) -> dict[str, float]:
    """``fixed`` as name -> float; ValueError for a name that is also fitted or a value that
    is not a finite number. ``fixed`` records what `fix` holds, it does not hold anything:
    ``Law(..., fixed={"E": 1.0})`` with ``E`` in ``params`` fitted E and the summary listed
    E twice, fitted (1.5) and "fixed" (1.0); a text value failed inside the summary
    ("could not convert string to float")."""
    fixed = dict(fixed or {})
    both = [k for k in fixed if k in params]
    if both:
        raise ValueError(
            f"Law {name!r}: fixed={fixed!r} names {both}, which are also in params (fitted). "
            "Law's fixed= only records values that fn already holds; to hold a parameter at "
            f"a value, build the law with it in params and use jaxfit.fix(law, "
            f"{both[0]}={fixed[both[0]]!r}).")
    return {k: _finite(v, f"Law {name!r}: fixed[{k!r}]={v!r} is not a finite number; give "
                          f"the value fn holds the parameter at, e.g. fixed={{{k!r}: 0.5}}.")
            for k, v in fixed.items()}


def _merge_params(laws: Sequence[Law]) -> dict[str, Param]:
    """The laws' parameters in one dict; ValueError where two laws use one name, fitted or
    held fixed (`fix`): a name fixed in one law and fitted (or fixed at another value) in
    another passed, and the combined law's ``fixed`` kept one value and lost the other, so
    its summary and saved file reported a value that one of the laws did not use."""
    merged: dict[str, Param] = {}
    fixed: dict[str, float] = {}
    for law in laws:
        clash = (set(merged) | set(fixed)) & (set(law.params) | set(law.fixed))
        if clash:
            held = [f"{k}={float(v):g} in {l.name!r}" for l in laws
                    for k, v in l.fixed.items() if k in clash]
            note = f" (held fixed: {', '.join(held)})" if held else ""
            raise ValueError(
                f"Parameter name clash {sorted(clash)} when combining laws "
                f"{[l.name for l in laws]}{note}; rename one law's parameters with "
                "`law.replace(params=...)` and a matching fn.")
        merged.update(law.params)
        fixed.update(law.fixed)
    return merged


def _union(*names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for group in names for n in group))


def _above(*bounds: Mapping[str, float]) -> dict[str, float]:
    """Laws' ``input_above`` bounds together (the largest per input)."""
    out: dict[str, float] = {}
    for b in bounds:
        for n, lo in b.items():
            out[n] = max(lo, out.get(n, lo))
    return out


def _subset(params: Params, law: Law) -> dict:
    return {k: params[k] for k in law.params}


def fixed_text(fixed: Mapping) -> str:
    """`Law.fixed` as ``"alpha=0.34, A=406.4"`` (reports, errors)."""
    return ", ".join(f"{k}={float(v):g}" for k, v in fixed.items())


def fixed_note(law: Law, names) -> str:
    """``" (E=1.5 held fixed by jaxfit.fix: ...)"`` for those of ``names`` that ``law`` holds
    fixed, else "": the tail of an error about names that are not ``law``'s parameters
    (``init=`` or ``pool=`` naming a parameter the user fixed)."""
    held = {k: law.fixed[k] for k in names if k in law.fixed}
    if not held:
        return ""
    it = "it" if len(held) == 1 else "them"
    return (f" ({fixed_text(held)} held fixed by jaxfit.fix, so not fitted or sampled: drop "
            f"{it} here, or do not fix {it})")


def same_fixed(held: Mapping, other: Mapping) -> bool:
    """Whether two `Law.fixed` mappings hold the same names and values (to float64
    rounding); e.g. a saved result's and the law it is loaded with."""
    if set(map(str, held)) != set(map(str, other)):
        return False
    try:
        return all(math.isclose(float(held[k]), float(other[k]), rel_tol=1e-12, abs_tol=0.0)
                   for k in held)
    except (TypeError, ValueError):
        return False


def _require_law(value, where: str) -> None:
    """TypeError unless ``value`` is a `Law`, naming the argument and the fix. An uncalled
    factory (``jf.fix(jf.models.chinchilla, alpha=0.34)``, the commonest slip) reached the
    combinators' attribute lookups: "AttributeError: 'functools._lru_cache_wrapper' object
    has no attribute 'fixed'"."""
    if isinstance(value, Law):
        return
    if isinstance(value, str):
        got = f"the name {value!r} (jaxfit.io.get_law({value!r}) builds its Law)"
    elif isinstance(value, (list, tuple)) and where.startswith("add"):
        got = f"a {type(value).__name__}; pass the laws as separate arguments, add(*laws)"
    elif callable(value) and not isinstance(value, type):
        name = getattr(value, "__name__", type(value).__name__)
        call = (f"jaxfit.models.{name}()" if str(getattr(value, "__module__", "")).startswith(
            "jaxfit.models") else f"{name}(...)")
        got = f"the function {name}, not a Law: call the factory, e.g. {call}"
    else:
        got = type(value).__name__
    raise TypeError(f"{where} must be a jaxfit.Law, got {got}.")


def _composed(p, x, *, outer: Law, inner: Law, into: str):
    return outer.fn(_subset(p, outer), {**x, into: inner.fn(_subset(p, inner), x)})


def _log_composed(p, x, *, outer: Law, inner: Law, into: str):
    return outer.log(_subset(p, outer), {**x, into: inner.fn(_subset(p, inner), x)})


def compose(outer: Law, inner: Law, into: str, name: str | None = None) -> Law:
    """Feed ``inner``'s output into ``outer``'s input ``into``.

    This is the two-step chain of Bhagia et al. (2024): (N, D) -> task loss -> accuracy is
    ``compose(sigmoid(input="L"), chinchilla(), into="L")``.

    Args:
        outer: the law that consumes the intermediate quantity.
        inner: the law that produces it.
        into: the name of ``outer``'s input that receives ``inner``'s output.
        name: optional name of the composed law.

    Returns:
        A Law with the union of both parameter sets and inputs (``into`` excluded).

    Example:
        >>> from jaxfit.models import chinchilla, sigmoid
        >>> chain = compose(sigmoid(input="L"), chinchilla(), into="L")
        >>> chain.inputs, chain.param_names
        (('N', 'D'), ('A', 'B', 'E', 'alpha', 'beta', 'a', 'k', 'L0', 'b'))
    """
    _require_law(outer, "compose: outer (the first argument)")
    _require_law(inner, "compose: inner (the second argument)")
    if into not in outer.inputs:
        raise ValueError(f"compose: {outer.name!r} has no input {into!r}; its inputs are "
                         f"{list(outer.inputs)}.")
    params = _merge_params([inner, outer])
    # partials of module-level functions, not closures: composed laws pickle
    steps = {"outer": outer, "inner": inner, "into": into}
    rest = [i for i in outer.inputs if i != into]
    return Law(
        fn=functools.partial(_composed, **steps), params=params,
        inputs=_union(inner.inputs, rest), name=name or f"{outer.name}({inner.name})",
        log_fn=functools.partial(_log_composed, **steps),
        positive_inputs=_union(inner.positive_inputs,
                               [i for i in outer.positive_inputs if i != into]),
        input_above=_above(inner.input_above,
                           {k: v for k, v in outer.input_above.items() if k != into}),
        shared=_union(inner.shared, outer.shared),
        formula=f"{outer.formula} with {into} = {inner.formula}".strip(),
        # The inner law's terms are in the units of the intermediate quantity, not of the
        # target the sampler's level priors refer to: only the outer law's are kept.
        terms=tuple(t for t in outer.terms if t.input != into),
        floor=outer.floor,
        fixed={**inner.fixed, **outer.fixed})


def exp_of(p, x, *, log_fn):
    """``exp(log_fn(p, x))``: the fn of a law written in log space, as
    ``functools.partial(exp_of, log_fn=log)`` beside ``log_fn=log`` (the built-in laws; a
    module-level function, so the law pickles and `jaxfit.checks.law_constants` walks
    into ``log``)."""
    return jnp.exp(log_fn(p, x))


def call_spec(factory: str, **kwargs) -> str:
    """The `jaxfit.io.get_law` spec of a call, e.g. ``power_law(input='C')``: what a
    built-in factory records as its law's ``spec`` so that `jaxfit.io.load` rebuilds it."""
    return f"{factory}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def law_factory(factory: Callable[..., Law]) -> Callable[..., Law]:
    """Cache a built-in law factory on its arguments as bound to its signature, defaults
    filled in: one `Law` object per distinct law, whichever way the call names it.

    jaxfit compiles its programs once per `Law` object, so a factory must return the same
    object for the same law. ``functools.cache`` keys on the call as written:
    ``kaplan()``, ``kaplan("C")`` and ``kaplan(input="C")`` (what `jaxfit.io.load`
    rebuilds from a saved spec) were three objects, each compiled on its own (~4 s a
    fit), and the uncached ``ladder_step1()`` built a new one on every call, so each
    ``jf.fit(jf.models.ladder_step1(), ...)`` compiled again (4.2 s against 0.01 s for
    the same object). Arguments must be hashable, as for ``functools.cache``; a call
    the factory refuses raises each time (nothing is cached)."""
    import inspect

    signature = inspect.signature(factory)

    @functools.cache
    def build(arguments: tuple) -> Law:
        return factory(**dict(arguments))

    @functools.wraps(factory)
    def cached(*args, **kwargs) -> Law:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:      # as the call itself says it: "kaplan() got an ..."
            raise TypeError(f"{factory.__name__}() {e}") from None
        bound.apply_defaults()
        return build(tuple(bound.arguments.items()))

    cached.cache_clear = build.cache_clear
    return cached


def _fixed_fn(p, x, *, law: Law, fixed: Mapping[str, float]):
    return law.fn({**p, **fixed}, x)


def _fixed_log_fn(p, x, *, law: Law, fixed: Mapping[str, float]):
    return law.log({**p, **fixed}, x)


def fix(law: Law, **values: float) -> Law:
    """Hold some parameters at given values; they are no longer fitted.

    ``fix(chinchilla(), alpha=0.34, A=406.4)`` borrows another fit's exponent and scale
    (the Hitchhiker's transfer of parameters, Choshen et al. 2024). A value outside a
    parameter's constraint, or not a finite number, raises a ValueError.

    Example:
        >>> from jaxfit.models import chinchilla
        >>> law = fix(chinchilla(), alpha=0.34, A=406.4)
        >>> law.param_names, dict(law.fixed)
        (('B', 'E', 'beta'), {'alpha': 0.34, 'A': 406.4})
    """
    _require_law(law, "fix: law")
    if not values:
        # fix(law, **held) with nothing held (a loop over sets of values that includes the
        # empty one): a copy named 'chinchilla|fixed()' in reports and saved files, with
        # its own compiled programs
        return law
    held = sorted(set(values) & set(law.fixed) - set(law.params))
    if held:
        # fix(fix(law, alpha=0.3), alpha=0.4), e.g. in a loop over values: the error said
        # the law 'has no parameters ['alpha']', which it plainly has
        raise ValueError(f"fix: {held} of {law.name!r} are already fixed ("
                         f"{fixed_text({k: law.fixed[k] for k in held})}); fix the law before "
                         f"its first jf.fix (e.g. jf.fix(jf.models.chinchilla(), "
                         f"{held[0]}=...)) to hold other values.")
    unknown = set(values) - set(law.params)
    if unknown:
        raise ValueError(f"fix: {law.name!r} has no parameters {sorted(unknown)}; its "
                         f"parameters are {list(law.params)}.")
    fixed = {}
    for k, v in values.items():
        f = _finite(v, f"fix: {k}={v!r} is not a finite number; give one, e.g. "
                       f"fix(law, {k}=0.5).")
        # outside the closure of the constraint's support (E=-1 for a positive E): the law
        # is undefined there, and a fit would only report a non-finite objective
        with jax.enable_x64(True):
            outside = bool(jnp.isnan(law.params[k].transform.inv(jnp.float64(f))))
        if outside:
            raise ValueError(f"fix: {k}={f:g} is outside {k}'s constraint "
                             f"{law.params[k].constraint}; give a value inside it.")
        fixed[k] = f
    params = {k: v for k, v in law.params.items() if k not in fixed}
    grid = None if law.grid is None else {k: v for k, v in law.grid.items() if k in params}
    # partials of module-level functions, not closures: fixed laws pickle
    return law.replace(fn=functools.partial(_fixed_fn, law=law, fixed=fixed), params=params,
                       log_fn=functools.partial(_fixed_log_fn, law=law, fixed=fixed),
                       grid=grid,
                       shared=tuple(s for s in law.shared if s in params),
                       fixed={**law.fixed, **fixed},
                       terms=tuple(t for t in law.terms
                                   if t.scale in params and t.exponent in params),
                       floor=law.floor if law.floor in params else None,
                       # replace(fn=...) drops the formula unless given: a fixed law's
                       # report, plot titles and saved file showed none (the fixed values
                       # are listed beside it)
                       formula=law.formula,
                       name=f"{law.name}|fixed({','.join(fixed)})",
                       spec=law.spec)


def _sum(p, x, *, laws: tuple[Law, ...]):
    return sum(law.fn(_subset(p, law), x) for law in laws)


def add(*laws: Law, name: str | None = None) -> Law:
    """The sum of several laws' outputs (their parameter names must differ: a clash
    raises a ValueError naming the parameters).

    Example:
        >>> from jaxfit.models import linear, power_law
        >>> law = add(power_law("N", irreducible=False), linear("L"))
        >>> law.inputs, law.param_names
        (('N', 'L'), ('A', 'alpha', 'w0', 'w1'))
        >>> float(law({"A": 2.0, "alpha": 1.0, "w0": 1.0, "w1": 0.5}, {"N": 4.0, "L": 2.0}))
        2.5
    """
    if not laws:
        raise ValueError("add: give at least one law.")
    for i, law in enumerate(laws):
        _require_law(law, f"add: law {i}")
    params = _merge_params(laws)
    # a partial of a module-level function, not a closure: sums of laws pickle
    return Law(fn=functools.partial(_sum, laws=laws), params=params,
               inputs=_union(*(l.inputs for l in laws)),
               name=name or "+".join(l.name for l in laws),
               positive_inputs=_union(*(l.positive_inputs for l in laws)),
               input_above=_above(*(l.input_above for l in laws)),
               shared=_union(*(l.shared for l in laws)),
               terms=tuple(t for l in laws for t in l.terms),
               floor=([l.floor for l in laws if l.floor] or [None])[0]
               if sum(bool(l.floor) for l in laws) == 1 else None,
               formula=" + ".join(f"({l.formula})" for l in laws if l.formula),
               fixed={k: v for l in laws for k, v in l.fixed.items()})


def share(law: Law, *names: str) -> Law:
    """Mark parameters as shared by every task of a fit with ``by=``.

    The tasks are then fitted jointly: one value of each shared parameter, the other
    parameters per task (e.g. one exponent pair for several model families, as in the
    Hitchhiker's guide, Choshen et al. 2024, section 5).

    Example:
        >>> from jaxfit.models import chinchilla
        >>> share(chinchilla(), "alpha", "beta").shared
        ('alpha', 'beta')
    """
    _require_law(law, "share: law")
    # share(law, ["alpha", "beta"]) as well as share(law, "alpha", "beta") (a list failed
    # with "TypeError: unhashable type: 'list'")
    names = tuple(n for group in names for n in as_names(group))
    held = [n for n in dict.fromkeys(names) if n in law.fixed and n not in law.params]
    if held:
        # share(fix(law, alpha=0.3), "alpha"): the Law check said alpha is "not among its
        # parameters", hiding that it is fixed (a fixed value is already one for all tasks)
        raise ValueError(f"share: {held} of {law.name!r} are fixed "
                         f"({fixed_text({k: law.fixed[k] for k in held})}), not fitted. To fit "
                         "one shared value, share before fixing: do not fix them (jf.share("
                         f"law, {held[0]!r}) on the law before any jf.fix of it); to keep the "
                         "fixed value, drop them from share (a fixed value is already the "
                         "same for every task).")
    return law.replace(shared=_union(law.shared, names))
