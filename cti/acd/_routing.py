"""What routing knows of a work item (its attributes, route, priority, escalation step) and why it went
where it went (decisions, kept on the item and stored with its interaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Decision", "Routing"]


@dataclass(slots=True)
class Routing:
    """What routing knows about a call: its attributes and where the rules put it."""

    route: str = "default"
    priority: int = 0
    step: int = 0
    region: str | None = None
    country: str | None = None
    language: str | None = None
    product: str | None = None
    problem_type: str | None = None
    value_tier: str | None = None
    requested_queue: str | None = None
    """The queue the IVR's transfer node named, if any: it wins over the matching route's."""
    requested_priority: int | None = None
    """The priority the IVR's transfer node asked for, if any: the call gets at least this."""

    def attributes(self, service_number: str) -> dict[str, str | None]:
        return {
            "service_number": service_number, "product": self.product, "problem_type": self.problem_type,
            "language": self.language, "value_tier": self.value_tier, "region": self.region,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Why a call went where it went: kept on the call, stored with the interaction, shown by the API."""

    at: datetime
    kind: str  # queued | offered | escalated | overflowed | closed | transferred | ...
    queue: str
    route: str
    step: int
    reason: str
    strategy: str | None = None
    winner: str | None = None
    candidates: tuple[str, ...] = ()
    candidate_count: int = 0
    note: str | None = None
    """What a transferring agent told the next one (``transferred`` decisions only)."""

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "at": self.at.isoformat(), "kind": self.kind, "queue": self.queue, "route": self.route,
            "step": self.step, "reason": self.reason, "strategy": self.strategy, "winner": self.winner,
            "candidates": list(self.candidates), "candidate_count": self.candidate_count,
        }
        if self.note is not None:
            data["note"] = self.note
        return data
