"""Fitters: multi-start Newton/Optax point fits, NumPyro posteriors and bootstrap refits.

The public names are imported on first use (PEP 562), as in `jaxfit`: importing a
submodule (``from jaxfit.inference import cache``, which every fit does) no longer imports
the posterior code (`jaxfit.inference.bayes`) with it.
"""

import importlib

#: public name -> the submodule that defines it.
_ATTRS = {
    "BayesModel": "bayes", "Likelihood": "bayes", "NutsOptions": "bayes",
    "make_likelihood": "bayes", "make_model": "bayes",
    "bootstrap_minimize": "bootstrap", "resample_weights": "bootstrap",
    "absolute_loss": "objective", "huber_loss": "objective", "make_objective": "objective",
    "squared_loss": "objective",
    "Solution": "optimize", "SolverOptions": "optimize", "minimize": "optimize",
    "Status": "status",
}

__all__ = ["minimize", "SolverOptions", "Solution", "Status", "make_objective", "huber_loss",
           "squared_loss", "absolute_loss", "BayesModel", "Likelihood", "NutsOptions",
           "make_likelihood", "make_model", "bootstrap_minimize", "resample_weights"]


def __getattr__(name):
    if name not in _ATTRS:
        raise AttributeError(f"module 'jaxfit.inference' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jaxfit.inference.{_ATTRS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
