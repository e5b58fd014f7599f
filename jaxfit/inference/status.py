"""What happened to a fit, and which knob to turn (after optimistix's ``RESULTS``)."""

from __future__ import annotations

import enum

__all__ = ["Status", "reasons"]


class Status(enum.IntEnum):
    """Per-task outcome of a fit. ``Status(code).message`` says what to change.

    Example:
        >>> Status(1).name, Status(1).message.split(";")[0]
        ('MAX_STEPS', 'hit the step cap before converging')
    """

    CONVERGED = 0
    MAX_STEPS = 1
    NONFINITE = 2
    STALLED = 3

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.CONVERGED: "converged",
    Status.MAX_STEPS: ("hit the step cap before converging; raise `max_steps` or give "
                       "better starts (`init=`, more `restarts`)"),
    Status.NONFINITE: ("objective is not finite at every start; check the data (zeros or "
                       "negatives under a log) and each Param's `init` range"),
    Status.STALLED: ("no step could lower the objective before the convergence test held "
                     "(a kink or a flat direction); try `method='lbfgs'`, another `loss`, or "
                     "fix a poorly identified parameter"),
}


def reasons(statuses) -> str:
    """``"max_steps: <message>; stalled: <message>"`` for the distinct codes in ``statuses``
    (a fit's warnings name what went wrong and which option to change)."""
    codes = sorted({int(s) for s in statuses})
    return "; ".join(f"{Status(c).name.lower()}: {Status(c).message}" for c in codes)
