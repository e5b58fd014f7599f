"""jaxfit: fit and extrapolate scaling laws with JAX, with honest uncertainty.

Public names are imported on first use (PEP 562), so ``import jaxfit`` and ``jaxfit
--help`` do not import JAX, NumPyro or pandas until something needs them.
"""

import importlib
import types

__version__ = "0.1.0"

#: public name -> the module that defines it.
_ATTRS = {
    "Law": "jaxfit.law", "Param": "jaxfit.law", "PowerTerm": "jaxfit.law", "compose": "jaxfit.law", "fix": "jaxfit.law",
    "add": "jaxfit.law", "share": "jaxfit.law",
    "fit": "jaxfit.fit", "FitResult": "jaxfit.result", "Status": "jaxfit.inference.status",
    "sample": "jaxfit.sample", "bootstrap": "jaxfit.sample", "Posterior": "jaxfit.posterior",
    "predict_chain": "jaxfit.chain",
    "backtest": "jaxfit.backtest", "Step": "jaxfit.backtest",
    "BacktestResult": "jaxfit.backtest",
    "save": "jaxfit.io", "load": "jaxfit.io", "register_law": "jaxfit.io",
    "optimal": "jaxfit.decide", "isoflop": "jaxfit.decide", "overtrain": "jaxfit.decide",
    "suggest": "jaxfit.decide",
}
_SUBMODULES = ("models", "datasets", "recipes", "io", "plot", "progress", "decide")

__all__ = ["Law", "Param", "PowerTerm", "compose", "fix", "add", "share", "fit", "FitResult", "Status",
           "sample", "bootstrap", "Posterior", "predict_chain",
           "backtest", "Step", "BacktestResult", "save", "load", "register_law", "models",
           "datasets", "recipes", "io", "plot", "progress", "decide", "optimal", "isoflop",
           "overtrain", "suggest", "__version__"]


def __getattr__(name):
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"jaxfit.{name}")
    else:
        raise AttributeError(f"module 'jaxfit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps ``jaxfit.fit``, ``jaxfit.sample`` and ``jaxfit.backtest`` the functions when
    their modules (of the same names) are imported: the import system sets a submodule
    as an attribute of its package, which would otherwise shadow the function."""

    def __setattr__(self, name, value):
        if (isinstance(value, types.ModuleType) and _ATTRS.get(name) == value.__name__
                and hasattr(value, name)):
            value = getattr(value, name)
        super().__setattr__(name, value)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _Package
del _sys
