"""jaxfit: fit and extrapolate scaling laws with JAX, with honest uncertainty."""

from jaxfit import datasets, decide, io, models, plot, progress, recipes
from jaxfit.backtest import BacktestResult, Step, backtest
from jaxfit.chain import predict_chain
from jaxfit.decide import isoflop, optimal, overtrain, suggest
from jaxfit.fit import fit
from jaxfit.inference.status import Status
from jaxfit.io import load, register_law, save
from jaxfit.law import Law, Param, PowerTerm, add, compose, fix, share
from jaxfit.posterior import Posterior
from jaxfit.result import FitResult
from jaxfit.sample import bootstrap, sample

__version__ = "0.1.0"

__all__ = ["Law", "Param", "PowerTerm", "compose", "fix", "add", "share", "fit", "FitResult", "Status",
           "sample", "bootstrap", "Posterior", "predict_chain",
           "backtest", "Step", "BacktestResult", "save", "load", "register_law", "models", "datasets", "recipes", "io", "plot",
           "progress", "decide", "optimal", "isoflop", "overtrain", "suggest", "__version__"]
