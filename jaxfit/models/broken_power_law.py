"""Broken neural scaling law with one break (Caballero et al. 2022)."""

from __future__ import annotations

import functools
import jax.numpy as jnp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, law_factory

__all__ = ["broken_power_law"]


def _broken_power_law(p, x, *, input: str):
    lx = jnp.log(x[input])
    log_ratio = (lx - jnp.log(p["d1"])) / p["f1"]
    log_term = (jnp.log(p["b"]) - p["c0"] * lx
                - p["c1"] * p["f1"] * jnp.logaddexp(0.0, log_ratio))
    return p["a"] + jnp.exp(log_term)


@law_factory
def broken_power_law(input: str = "x") -> Law:
    r"""A smoothly broken power law with one break.

    .. math:: y = a + b\, x^{-c_0} \left(1 + (x / d_1)^{1/f_1}\right)^{-c_1 f_1}

    Caballero et al. (2022), "Broken Neural Scaling Laws", eq. 1 with n = 1 (the
    released code's ``bnsl_with_1_break``). ``a`` >= 0 is the limit, ``b`` > 0 the
    scale, ``c0`` the exponent before the break, ``c1`` the change of exponent at the
    break ``d1`` > 0, and ``f1`` > 0 the break's sharpness. Evaluated in log form for
    stability at large ``x``.

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.broken_power_law()
        >>> p = dict(a=0.0, b=1.0, c0=0.0, c1=1.0, d1=1.0, f1=1.0)
        >>> float(law(p, {"x": 1.0}))
        0.5
    """
    params = {
        "a": Param(constraints.positive, init=(1e-3, 1.0), doc="limit at large x"),
        "b": Param(constraints.positive, init=(1e-2, 1e3), doc="scale"),
        "c0": Param(constraints.real, init=(0.0, 1.0), doc="exponent before the break"),
        "c1": Param(constraints.real, init=(0.0, 1.0), doc="change of exponent at the break"),
        "d1": Param(constraints.positive, init=(1.0, 1e10), doc="break location"),
        "f1": Param(constraints.positive, init=(0.05, 1.0), doc="break sharpness"),
    }
    return Law(fn=functools.partial(_broken_power_law, input=input), params=params,
               inputs=(input,), positive_inputs=(input,),
               name="broken_power_law",
               formula=f"a + b {input}^-c0 (1 + ({input}/d1)^(1/f1))^(-c1 f1)",
               spec=call_spec("broken_power_law", input=input))
