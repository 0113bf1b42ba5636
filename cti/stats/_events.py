"""What the live aggregator is told. Plain values; the adapter translates the core's commands into these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "AgentStateChanged",
    "CallAnswered",
    "CallArrived",
    "CallEnded",
    "CallOffered",
    "CallRequeued",
    "IvrEntered",
    "IvrLeft",
    "StatsEvent",
]


@dataclass(frozen=True, slots=True)
class CallArrived:
    """The call entered ``queue`` (``at`` is its ``arrived_at``).

    ``arrived_at``: set when the arrival is reported late, after the aggregator's clock passed it (the
    controller looks the caller up before routing): it counts as offered at ``at``, and its wait runs from
    ``arrived_at``.
    """

    at: datetime
    call_id: str
    queue: str
    arrived_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallRequeued:
    """A waiting call moved to another queue (overflow, escalation, a rules change); it counts there from now on,
    its arrival included."""

    at: datetime
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class CallOffered:
    at: datetime
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallAnswered:
    at: datetime
    call_id: str
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class CallEnded:
    """``outcome``: answered, abandoned, failed or rejected (a caller who abandons is a call ending abandoned)."""

    at: datetime
    call_id: str
    outcome: str
    hold_seconds: float = 0.0
    """How long the caller was on hold (agents' holds) between answer and end."""


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    at: datetime
    agent_id: str
    state: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IvrEntered:
    at: datetime
    call_id: str
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class IvrLeft:
    at: datetime
    call_id: str


StatsEvent = (CallArrived | CallRequeued | CallOffered | CallAnswered | CallEnded | AgentStateChanged | IvrEntered
         | IvrLeft)
