"""Linear map from loss to performance (Chen et al. 2024, FLP stage 2)."""

from __future__ import annotations

import functools
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, law_factory

__all__ = ["linear"]


def _linear(p, x, *, input: str):
    return p["w0"] + p["w1"] * x[input]


@law_factory
def linear(input: str = "L") -> Law:
    r"""Performance linear in a loss.

    .. math:: P(L) = w_0 + w_1 L

    Chen et al. (2024), "Scaling Laws for Predicting Downstream Performance in LLMs"
    (FLP), stage 2, fitted on checkpoints above the task's emergence threshold.

    Example:
        >>> import jaxfit as jf
        >>> float(jf.models.linear()(dict(w0=1.0, w1=-0.25), {"L": 2.0}))
        0.5
    """
    params = {
        "w0": Param(constraints.real, init=(0.0, 2.0), doc="intercept"),
        "w1": Param(constraints.real, init=(-1.0, 0.0), doc="slope"),
    }
    return Law(fn=functools.partial(_linear, input=input), params=params, inputs=(input,),
               name="linear",
               formula=f"w0 + w1*{input}",
               spec=call_spec("linear", input=input))
