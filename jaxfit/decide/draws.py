"""Parameter draws of a fit or a posterior as arrays [T, D]: what `jaxfit.decide` consumes.

A `jaxfit.FitResult` is one draw per task (its best fit); a `jaxfit.Posterior` (NUTS,
SVI, Laplace or bootstrap) is every draw, chains concatenated. The *estimate* is the
point the result stands for: the best fit of a `FitResult`, the full-data fit of a
bootstrap (``Posterior.fit``, as Besiroglu et al. 2024 report the point estimate next to
their bootstrap standard errors), and the posterior median otherwise (None here: the
caller takes the median of the derived quantity).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from jaxfit.law import Law
from jaxfit.posterior import Posterior
from jaxfit.result import FitResult

__all__ = ["Draws", "as_draws"]


@dataclasses.dataclass(frozen=True)
class Draws:
    """A result's parameters as arrays.

    Attributes:
        law: the `Law`.
        tasks: task labels.
        params: name -> [T, D] draws (D = 1 for a `FitResult`).
        estimate: name -> [T] point estimate, or None (use the draws' median).
        x: law input -> column mapping of the fit.
        by: the fit's ``by`` option.
    """

    law: Law
    tasks: pd.Index
    params: dict
    estimate: dict | None
    x: dict
    by: object

    @property
    def n_draws(self) -> int:
        return next(iter(self.params.values())).shape[1]


def as_draws(result, what: str = "optimal") -> Draws:
    """`Draws` of a `FitResult` or a `Posterior` (any other type: TypeError naming
    ``what``, the public function that was given it). It does not warn: the public
    functions name a fit's tasks that did not converge themselves
    (`FitResult.warn_unconverged`), so the warning points at their caller."""
    if isinstance(result, FitResult):
        law = result.law
        params = {n: np.asarray(result.values[:, i], np.float64)[:, None]
                  for i, n in enumerate(law.param_names)}
        estimate = {n: v[:, 0] for n, v in params.items()}
    elif isinstance(result, Posterior):
        law = result.law
        params = {n: np.asarray(result.flat(n), np.float64) for n in law.param_names}
        estimate = None
        fit = result.fit
        if result.method == "bootstrap" and isinstance(fit, FitResult):
            estimate = {n: np.asarray(fit.values[:, i], np.float64)
                        for i, n in enumerate(fit.law.param_names)}
    else:
        raise TypeError(f"{what}: give a jaxfit.FitResult (jf.fit) or a jaxfit.Posterior "
                        f"(jf.sample, jf.bootstrap), got {type(result).__name__}.")
    return Draws(law=law, tasks=result.tasks, params=params, estimate=estimate,
                 x=dict(result.options.get("x") or {}), by=result.options.get("by"))
