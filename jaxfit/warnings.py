"""Warning classes, so users can filter or escalate each kind (``warnings.simplefilter``).

Also, for the recipes, `fit_source`: the stage label that `jaxfit.fit`'s own warnings
(and the ladder recipe's, about its fits) carry while a recipe runs one of its fits, and
`warn_fit`, which emits them.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Iterator

__all__ = ["FitWarning", "ConvergenceWarning", "UNCONVERGED", "FAILED_DIAGNOSTICS",
           "BoundWarning", "IdentifiabilityWarning", "DesignWarning", "DiagnosticWarning",
           "ScaleWarning", "ExtrapolationWarning", "PriorWarning", "DuplicateWarning"]


class FitWarning(UserWarning):
    """Base class of jaxfit's warnings."""


class ConvergenceWarning(FitWarning):
    """Some tasks did not converge; their status says why and which option to change."""


#: `warnings.filterwarnings` message pattern of `FitResult.warn_unconverged`'s warning,
#: for a caller that has named those tasks already: it silences only that one, where an
#: ignore of ConvergenceWarning would hide DiagnosticWarning, its subclass, too.
UNCONVERGED = r".*of this fit did not converge"

#: `warnings.filterwarnings` message pattern of `Posterior.warn_failed`'s warning (a
#: prediction from tasks that failed their diagnostics: `Posterior.predict`,
#: `jaxfit.predict_chain`), for a caller that has named those tasks already (a recipe
#: after `jaxfit.sample`'s own `DiagnosticWarning`): it silences only that one.
FAILED_DIAGNOSTICS = r".*of this posterior \(\w+\) failed their diagnostics"


class BoundWarning(FitWarning):
    """A parameter ended at (or within 1e-6 of) a bound of its constraint."""


class IdentifiabilityWarning(FitWarning):
    """Near-best restarts disagree: the data do not pin the parameters down."""


class DesignWarning(IdentifiabilityWarning):
    """The data's design cannot identify the law: no residual degrees of freedom, too few
    distinct levels of an input, or parameters that trade off (a near-singular Jacobian
    at the optimum; see `jaxfit.inference.design`). The message names the parameters and
    the fix."""


class DiagnosticWarning(ConvergenceWarning):
    """MCMC diagnostics (r_hat, ESS, divergences) fail the usual thresholds."""


class ScaleWarning(FitWarning):
    """The targets lie orders of magnitude away from what the law's starts predict."""


class DuplicateWarning(FitWarning):
    """Rows that repeat another row of their task exactly (the same inputs and target):
    each counts as an independent observation, so n, the degrees of freedom and every
    interval assume more information than the data hold if they are copies (the embedded
    Hitchhiker data's ``lambda`` family holds each upstream row 4 times)."""


class ExtrapolationWarning(FitWarning):
    """A question asked far outside the data the law was fitted on, e.g. a compute budget
    of `jaxfit.optimal` below every fitted run (often a budget in other units than the
    data's, such as PF-days against FLOPs)."""


class PriorWarning(FitWarning):
    """A default prior disagrees with the point fit: a fitted value lies outside the
    default prior's central 95% range, so the posterior is pulled from the fit toward the
    prior (e.g. a power law in compute, whose exponents lie below the default exponent
    prior's range; benchmarks/compute_exponent_prior.py)."""


#: The label and extra stack depth of the recipe fit now running (`fit_source`).
_FIT_SOURCE: contextvars.ContextVar[tuple[str, int]] = contextvars.ContextVar(
    "jaxfit_fit_source", default=("", 0))


@contextlib.contextmanager
def fit_source(label: str, depth: int = 1) -> Iterator[None]:
    """Within it, the warnings of `jaxfit.fit` (convergence, bounds, identifiability,
    design, scale) say which fit of a recipe they come from.

    Each starts with ``"{label}: "`` (``""``: no prefix) and points ``depth`` frames
    further out than it would (1: the caller of the function that calls `jaxfit.fit`,
    i.e. the recipe's user). Any other warning passes through untouched: nothing is
    caught, so Python's filters and registries act on it as usual. Used by
    `jaxfit.recipes.flp` and `jaxfit.recipes.flp_m` around their point fits, e.g.
    ``with fit_source("flp stage 1 (compute -> loss)"): res = fit(...)``, and by
    `jaxfit.recipes.flp.flp_vs_ladder` around `flp` and the ladder recipe, whose
    warnings about its steps' fits are emitted by `warn_fit` too (their advice names the
    result and runs as the ladder's ``result_name`` and ``runs_name`` say).

    Before, the recipes caught every warning of their fits and re-emitted it: one that
    is not jaxfit's (a numpy RuntimeWarning, a library's UserWarning) lost its module and
    registry (the filters saw its file's path, not its module, and each re-emission
    counted as new).

    Nested, the depths add up and an inner ``""`` keeps the outer label: a recipe that
    calls another recipe inside ``fit_source("")`` points the inner recipe's warnings
    at its own caller too (`jaxfit.recipes.flp.flp_vs_ladder` around `flp`; before, the
    inner context replaced the outer one, so they pointed into the outer recipe's file).
    """
    outer, extra = _FIT_SOURCE.get()
    token = _FIT_SOURCE.set((label or outer, extra + depth))
    try:
        yield
    finally:
        _FIT_SOURCE.reset(token)


def warn_fit(text: str, category: type[FitWarning], stacklevel: int = 2) -> None:
    """`warnings.warn` for a warning about a fit (`jaxfit.fit`'s, the ladder recipe's,
    FLP's prediction range): ``text`` with the label of the enclosing `fit_source` (if
    any) in front, pointing its depth further out.

    Args:
        text: the message.
        category: a `FitWarning` subclass.
        stacklevel: as in `warnings.warn`, counted from the caller of this function.
    """
    label, depth = _FIT_SOURCE.get()
    warnings.warn(f"{label}: {text}" if label else text, category,
                  stacklevel=stacklevel + depth + 1)
