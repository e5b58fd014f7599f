"""Chinchilla's parametric loss L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022)."""

from __future__ import annotations

import functools
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, PowerTerm, call_spec, exp_of

__all__ = ["chinchilla", "HOFFMANN_GRID"]

#: Hoffmann et al. (2022, Approach 3) initialisation grid, in the log-space coordinates
#: (a, b, e) = (log A, log B, log E) and exponents, as replicated by Epoch AI (Besiroglu
#: et al. 2024, notebook cell "Replicate exactly"): 6 * 6 * 5 * 5 * 5 = 4,500 starts.
HOFFMANN_GRID = {
    "a": tuple(np.arange(0.0, 30.0, 5.0)),
    "b": tuple(np.arange(0.0, 30.0, 5.0)),
    "e": tuple(np.arange(-1.0, 1.5, 0.5)),
    "alpha": tuple(np.arange(0.0, 2.5, 0.5)),
    "beta": tuple(np.arange(0.0, 2.5, 0.5)),
}


def _log_chinchilla(p, x):
    terms = jnp.stack(jnp.broadcast_arrays(
        jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"]),
        jnp.log(p["B"]) - p["beta"] * jnp.log(x["D"]),
        jnp.log(p["E"]) * jnp.ones_like(jnp.log(x["N"]))))
    return logsumexp(terms, axis=0)


@functools.cache
def chinchilla() -> Law:
    r"""Chinchilla loss in model size and data, fitted in log-sum-exp form.

    .. math:: L(N, D) = E + \frac{A}{N^\alpha} + \frac{B}{D^\beta}

    computed as ``log L = logsumexp(log A - alpha log N, log B - beta log D, log E)``
    (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. 2 and
    Approach 3; Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt").

    Parameters: ``A``, ``B`` > 0 (scales of the model-size and data terms), ``E`` > 0 (the
    irreducible loss), ``alpha``, ``beta`` (exponents; real-valued, as in Hoffmann's
    unconstrained fit, whose grid starts at 0). Inputs: ``N`` parameters, ``D`` tokens.
    ``law.grid`` is Hoffmann's 4,500-point grid (`HOFFMANN_GRID`), used by
    ``jf.fit(..., init="grid")``.

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.chinchilla()
        >>> p = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)
        >>> round(float(law(p, {"N": 70e9, "D": 1.4e12})), 3)
        1.937
    """
    params = {
        "A": Param(constraints.positive, init=(1.0, float(np.exp(25.0))), doc="model-size term scale"),
        "B": Param(constraints.positive, init=(1.0, float(np.exp(25.0))), doc="data term scale"),
        "E": Param(constraints.positive, init=(float(np.exp(-1.0)), float(np.exp(1.0))),
                   doc="irreducible loss"),
        "alpha": Param(constraints.real, init=(0.0, 2.0), doc="model-size exponent"),
        "beta": Param(constraints.real, init=(0.0, 2.0), doc="data exponent"),
    }
    g = HOFFMANN_GRID
    grid = {"A": tuple(np.exp(g["a"])), "B": tuple(np.exp(g["b"])), "E": tuple(np.exp(g["e"])),
            "alpha": g["alpha"], "beta": g["beta"]}
    return Law(fn=functools.partial(exp_of, log_fn=_log_chinchilla), log_fn=_log_chinchilla,
               params=params, inputs=("N", "D"),
               positive_inputs=("N", "D"), grid=grid, name="chinchilla",
               formula="E + A/N^alpha + B/D^beta",
               terms=(PowerTerm("A", "alpha", "N"), PowerTerm("B", "beta", "D")),
               floor="E", spec=call_spec("chinchilla"))
