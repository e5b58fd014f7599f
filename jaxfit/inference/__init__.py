"""Fitters: multi-start Newton/Optax point fits, NumPyro posteriors and bootstrap refits."""

from jaxfit.inference.bayes import (
    BayesModel,
    Likelihood,
    NutsOptions,
    make_likelihood,
    make_model,
)
from jaxfit.inference.bootstrap import bootstrap_minimize, resample_weights
from jaxfit.inference.objective import absolute_loss, huber_loss, make_objective, squared_loss
from jaxfit.inference.optimize import Solution, SolverOptions, minimize
from jaxfit.inference.status import Status

__all__ = ["minimize", "SolverOptions", "Solution", "Status", "make_objective", "huber_loss",
           "squared_loss", "absolute_loss", "BayesModel", "Likelihood", "NutsOptions",
           "make_likelihood", "make_model", "bootstrap_minimize", "resample_weights"]
