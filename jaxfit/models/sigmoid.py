"""Loss-to-accuracy sigmoid (Bhagia et al. 2024, step 2; after Dubey et al. 2024)."""

from __future__ import annotations

import functools
import jax
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, law_factory

__all__ = ["sigmoid"]


def _sigmoid(p, x, *, input: str):
    return p["a"] * jax.nn.sigmoid(p["k"] * (x[input] - p["L0"])) + p["b"]


@law_factory
def sigmoid(input: str = "L") -> Law:
    r"""Accuracy as a sigmoid of a loss.

    .. math:: \mathrm{Acc}(L) = \frac{a}{1 + e^{-k (L - L_0)}} + b

    Bhagia et al. (2024), "Establishing Task Scaling Laws via Compute-Efficient Model
    Ladders", eq. 2 (following Llama 3, Dubey et al. 2024). With ``a < 0`` and ``b``
    near 1, accuracy falls from ``b`` at low loss towards ``a + b`` (about chance) at
    high loss. Constraints are the paper's code bounds (``fit_step2``):
    ``a`` in [-1, 0], ``k`` >= 0, ``L0`` >= 0, ``b`` in [0, 1].

    Example:
        >>> import jaxfit as jf
        >>> law = jf.models.sigmoid()
        >>> float(law(dict(a=-0.5, k=5.0, L0=1.0, b=1.0), {"L": 1.0}))
        0.75
    """
    params = {
        "a": Param(constraints.interval(-1.0, 0.0), init=(-0.9, -0.1), doc="height (negative)"),
        "k": Param(constraints.positive, init=(0.5, 20.0), doc="steepness"),
        "L0": Param(constraints.positive, init=(0.2, 2.0), doc="midpoint loss"),
        "b": Param(constraints.interval(0.0, 1.0), init=(0.5, 0.99), doc="accuracy at zero loss"),
    }
    return Law(fn=functools.partial(_sigmoid, input=input), params=params, inputs=(input,),
               name="sigmoid",
               formula=f"a/(1 + exp(-k({input} - L0))) + b",
               spec=call_spec("sigmoid", input=input))
