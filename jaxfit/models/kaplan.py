"""Kaplan et al.'s (x / x_c)^-alpha power law (Kaplan et al. 2020)."""

from __future__ import annotations

import functools
import jax.numpy as jnp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, exp_of, law_factory

__all__ = ["kaplan"]


def _log_kaplan(p, x, *, input: str, xc: str):
    return -p["alpha"] * (jnp.log(x[input]) - jnp.log(p[xc]))


@law_factory
def kaplan(input: str = "C") -> Law:
    r"""Kaplan's pure power law with a critical scale.

    .. math:: y(x) = \left(\frac{x}{x_c}\right)^{-\alpha}

    Kaplan et al. (2020), "Scaling Laws for Neural Language Models", eqs. 1.1-1.3 (e.g.
    L(C) = (C_c / C)^alpha_C); also stage 1 of FLP (Chen et al. 2024),
    L(C) = (C / C_N)^(-alpha). Parameters: ``x_c`` > 0 (the critical scale, named
    ``{input}_c``; starts in (1e3, 1e30), which holds Kaplan's N_c = 8.8e13,
    D_c = 5.4e13 and C_c = 3.1e8 PF-days = 2.7e28 FLOPs) and ``alpha`` > 0.

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.kaplan("C")
        >>> float(law({"C_c": 1e8, "alpha": 0.05}, {"C": 1e8}))
        1.0
    """
    xc = f"{input}_c"
    params = {
        # Kaplan's published critical scales: N_c = 8.8e13, D_c = 5.4e13, C_c = 3.1e8
        # PF-days = 2.7e28 FLOPs (L(C_min)); with (1e3, 1e12) a fit on compute in FLOPs
        # started 16 decades short and ended at alpha -> 0
        xc: Param(constraints.positive, init=(1e3, 1e30), doc="critical scale"),
        "alpha": Param(constraints.positive, init=(0.01, 1.0), doc="exponent"),
    }
    # module-level functions bound by partial, not closures: laws and results pickle
    log = functools.partial(_log_kaplan, input=input, xc=xc)
    return Law(fn=functools.partial(exp_of, log_fn=log), log_fn=log, params=params,
               inputs=(input,), positive_inputs=(input,),
               name=f"kaplan_{input}", formula=f"({input}/{xc})^-alpha",
               spec=call_spec("kaplan", input=input))
