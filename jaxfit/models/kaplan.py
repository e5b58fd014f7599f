"""Kaplan et al.'s (x / x_c)^-alpha power law (Kaplan et al. 2020)."""

from __future__ import annotations

import functools
import jax.numpy as jnp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec

__all__ = ["kaplan"]


@functools.cache
def kaplan(input: str = "C") -> Law:
    r"""Kaplan's pure power law with a critical scale.

    .. math:: y(x) = \left(\frac{x}{x_c}\right)^{-\alpha}

    Kaplan et al. (2020), "Scaling Laws for Neural Language Models", eqs. 1.1-1.3 (e.g.
    L(C) = (C_c / C)^alpha_C); also stage 1 of FLP (Chen et al. 2024),
    L(C) = (C / C_N)^(-alpha). Parameters: ``x_c`` > 0 (the critical scale, named
    ``{input}_c``) and ``alpha`` > 0.

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.kaplan("C")
        >>> float(law({"C_c": 1e8, "alpha": 0.05}, {"C": 1e8}))
        1.0
    """
    xc = f"{input}_c"
    params = {
        xc: Param(constraints.positive, init=(1e3, 1e12), doc="critical scale"),
        "alpha": Param(constraints.positive, init=(0.01, 1.0), doc="exponent"),
    }

    def log_fn(p, x):
        return -p["alpha"] * (jnp.log(x[input]) - jnp.log(p[xc]))

    def fn(p, x):
        return jnp.exp(log_fn(p, x))

    return Law(fn=fn, log_fn=log_fn, params=params, inputs=(input,), positive_inputs=(input,),
               name=f"kaplan_{input}", formula=f"({input}/{xc})^-alpha",
               spec=call_spec("kaplan", input=input))
