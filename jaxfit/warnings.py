"""Warning classes, so users can filter or escalate each kind (``warnings.simplefilter``)."""

__all__ = ["FitWarning", "ConvergenceWarning", "BoundWarning", "IdentifiabilityWarning",
           "DesignWarning", "DiagnosticWarning", "ScaleWarning", "ExtrapolationWarning",
           "PriorWarning"]


class FitWarning(UserWarning):
    """Base class of jaxfit's warnings."""


class ConvergenceWarning(FitWarning):
    """Some tasks did not converge; their status says why and which option to change."""


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


class ExtrapolationWarning(FitWarning):
    """A question asked far outside the data the law was fitted on, e.g. a compute budget
    of `jaxfit.optimal` below every fitted run (often a budget in other units than the
    data's, such as PF-days against FLOPs)."""


class PriorWarning(FitWarning):
    """A default prior disagrees with the point fit: a fitted value lies outside the
    default prior's central 95% range, so the posterior is pulled from the fit toward the
    prior (e.g. a power law in compute, whose exponents lie below the default exponent
    prior's range; benchmarks/compute_exponent_prior.py)."""
