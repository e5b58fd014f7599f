"""From a fit to a decision: compute-optimal allocation (`optimal`) and the next run to
train (`suggest`), each with intervals from the fit's draws."""

from jaxfit.decide.optimal import OptimalResult, isoflop, optimal, optimal_at, overtrain
from jaxfit.decide.suggest import SuggestResult, candidate_grid, suggest

__all__ = ["optimal", "optimal_at", "isoflop", "overtrain", "OptimalResult", "suggest",
           "SuggestResult", "candidate_grid"]
