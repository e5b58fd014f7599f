"""One-variable power laws, with and without an irreducible term (Kaplan et al. 2020)."""

from __future__ import annotations

import functools
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from numpyro.distributions import constraints

from jaxfit.law import TERM_KINDS, Law, Param, PowerTerm, call_spec, exp_of

__all__ = ["power_law"]


def _log_power_law(p, x, *, input: str, irreducible: bool):
    t = jnp.log(p["A"]) - p["alpha"] * jnp.log(x[input])
    if not irreducible:
        return t
    return logsumexp(jnp.stack(jnp.broadcast_arrays(t, jnp.log(p["E"]))), axis=0)


def power_law(input: str = "N", irreducible: bool = True, kind: str | None = None) -> Law:
    r"""A power law in one variable, optionally with an irreducible term.

    .. math:: y(x) = E + A x^{-\alpha} \quad\text{or}\quad y(x) = A x^{-\alpha}

    The form of L(N), L(D) and L(C) in Kaplan et al. (2020), "Scaling Laws for Neural
    Language Models", eqs. 1.1-1.3 (there without E), and of the compute-only step 1
    of Bhagia et al. (2024, appendix C.1), ``L(C) = A/C^alpha + E``. In log space the
    law is evaluated as ``logsumexp(log A - alpha log x, log E)``.

    With ``irreducible``, `jaxfit.sample`'s default prior of ``alpha`` is set by what the
    input measures (the declared term's ``kind``, `jaxfit.inference.bayes.TERM_EXPONENT_PRIORS`):
    for model or data size (``"size"``: N, D, tokens) LogNormal(log 0.3, 0.5), from the N
    and D terms of Chinchilla-type fits; for training compute (``"compute"``)
    LogNormal(log 0.15, 0.5), since exponents in compute are about half as large
    (``alpha beta / (alpha + beta)`` on a compute-optimal frontier; 0.05-0.18 on the OLMo
    ladder's validation losses, where the size prior's posterior median missed the held-out
    7B/13B losses by 2.3% and the compute prior's by 0.7%, against the point fit's 1.1%:
    benchmarks/compute_exponent_prior.py). Where the fit's exponent lies outside its prior's
    95% range `jaxfit.sample` warns (`jaxfit.warnings.PriorWarning`).

    One law is one object: the calls that name the same law (``power_law("C")``,
    ``power_law("C", kind="compute")``, ``power_law(input="C")``) return the same `Law`,
    built once per process (`_power_law_law`), so jaxfit compiles its programs once
    (before, ``kind`` and the way of passing ``input`` split the factory's cache: three
    objects, each compiled on its own).

    Args:
        input: name of the input variable (``"N"``, ``"D"``, ``"C"`` ...).
        irreducible: include the additive floor ``E``.
        kind: ``"size"`` or ``"compute"``, what the input measures (it sets the exponent's
            default prior); default ``"compute"`` for input ``"C"``, jaxfit's name for
            training compute (the datasets, `jaxfit.optimal`'s cost), else ``"size"``.

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.power_law("C")
        >>> float(law(dict(A=10.0, alpha=0.5, E=1.0), {"C": 100.0}))
        2.0
    """
    if not isinstance(irreducible, (bool, np.bool_)):
        # a spec's bare word (--law "power_law(irreducible=false)") is the string 'false',
        # which is truthy: refuse it rather than fit the law with E
        raise ValueError(f"power_law: irreducible={irreducible!r} must be True or False, e.g. "
                         "power_law(input=C, irreducible=False).")
    if not isinstance(input, str) or not input:
        raise ValueError(f"power_law: input={input!r} must name the input variable, e.g. "
                         "input='C'.")
    if kind is not None and kind not in TERM_KINDS:
        raise ValueError(f"power_law: kind={kind!r} must be one of {TERM_KINDS} (what the "
                         "input measures), e.g. power_law(input='flops', kind='compute').")
    default_kind = "compute" if input == "C" else "size"
    # without the floor there is no declared term: kind sets nothing
    resolved = (kind or default_kind) if irreducible else "size"
    return _power_law_law(input, bool(irreducible), resolved)


@functools.cache
def _power_law_law(input: str, irreducible: bool, kind: str) -> Law:
    """`power_law`'s law for validated, resolved arguments (``kind``: the term's kind),
    built once per distinct law."""
    default_kind = "compute" if input == "C" else "size"
    params = {
        "A": Param(constraints.positive, init=(1.0, 1e6), doc="scale"),
        "alpha": Param(constraints.real, init=(0.0, 1.0), doc="exponent"),
    }
    if irreducible:
        params["E"] = Param(constraints.positive, init=(0.1, 3.0), doc="irreducible term")
    # partials of module-level functions: laws pickle
    log = functools.partial(_log_power_law, input=input, irreducible=irreducible)
    return Law(fn=functools.partial(exp_of, log_fn=log), log_fn=log, params=params,
               inputs=(input,), positive_inputs=(input,),
               name=f"power_law_{input}" + ("" if irreducible else "_pure"),
               formula=(f"E + A/{input}^alpha" if irreducible else f"A/{input}^alpha"),
               # With a floor E, the term can fade into E (A -> 0 or alpha -> 0): declared
               # so the sampler's priors bound it; a pure power law is identified.
               terms=(PowerTerm("A", "alpha", input, kind),) if irreducible else (),
               floor="E" if irreducible else None,
               spec=call_spec("power_law", input=input, irreducible=irreducible,
                              **({"kind": kind} if irreducible and kind != default_kind
                                 else {})))
