"""Warning classes, so users can filter or escalate each kind (``warnings.simplefilter``)."""

__all__ = ["FitWarning", "ConvergenceWarning", "BoundWarning", "IdentifiabilityWarning",
           "DiagnosticWarning"]


class FitWarning(UserWarning):
    """Base class of jaxfit's warnings."""


class ConvergenceWarning(FitWarning):
    """Some tasks did not converge; their status says why and which option to change."""


class BoundWarning(FitWarning):
    """A parameter ended at (or within 1e-6 of) a bound of its constraint."""


class IdentifiabilityWarning(FitWarning):
    """Near-best restarts disagree: the data do not pin the parameters down."""


class DiagnosticWarning(ConvergenceWarning):
    """MCMC diagnostics (r_hat, ESS, divergences) fail the usual thresholds."""
