"""Fitters: multi-start Optax/Newton point fits (NumPyro and bootstrap build on these)."""

from jaxfit.inference.objective import absolute_loss, huber_loss, make_objective, squared_loss
from jaxfit.inference.optimize import Solution, SolverOptions, minimize
from jaxfit.inference.status import Status

__all__ = ["minimize", "SolverOptions", "Solution", "Status", "make_objective", "huber_loss",
           "squared_loss", "absolute_loss"]
