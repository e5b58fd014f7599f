"""jaxfit: fit and extrapolate scaling laws with JAX, with honest uncertainty."""

from jaxfit import datasets, models, recipes
from jaxfit.fit import fit
from jaxfit.inference.status import Status
from jaxfit.law import Law, Param, add, compose, fix, share
from jaxfit.result import FitResult

__version__ = "0.1.0"

__all__ = ["Law", "Param", "compose", "fix", "add", "share", "fit", "FitResult", "Status",
           "models", "datasets", "recipes", "__version__"]
