"""The exceptions of workforce management.

::

    WfmError                 bad input to any wfm function (a ValueError: the caller passed it)
    ├── InfeasibleTarget     no number of agents can meet the targets (e.g. a service level of 100 %)
    └── SolverError          the scheduling solver failed or gave up (not an infeasible model: that has a result)

The web layer maps them to HTTP statuses; nothing here knows about HTTP.
"""

from __future__ import annotations

__all__ = ["InfeasibleTarget", "SolverError", "WfmError"]


class WfmError(ValueError):
    """Invalid input to a workforce-management computation."""


class InfeasibleTarget(WfmError):
    """The staffing targets cannot be met by any number of agents."""


class SolverError(WfmError):
    """The schedule optimiser failed to produce a schedule."""
