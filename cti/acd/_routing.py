"""What routing knows of a work item (its attributes, route, priority, escalation step) and why it went
where it went (decisions, kept on the item and stored with its interaction)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

__all__ = ["WHY_CODES", "Decision", "Routing", "Why"]

WHY_CODES = frozenset({"route_matched", "ivr_queue", "ivr_queue_unknown", "ivr_priority", "offered"})
"""The codes of :class:`Why`: a client has a sentence for each (the console: ``routing.why.<code>``)."""


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
class Why:
    """One part of a decision's reason as data, for a client to say in its user's language: a code of
    :data:`WHY_CODES` and its values (``route_matched`` with ``route`` and ``priority``). The English
    ``Decision.reason`` says the same for logs and machines."""

    code: str
    params: Mapping[str, str | int] = field(default_factory=lambda: MappingProxyType({}))

    def as_json(self) -> dict[str, object]:
        return {"code": self.code, "params": dict(self.params)}


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
    why: tuple[Why, ...] = ()
    """``reason`` as codes and values (placement and offers; empty for the other kinds)."""

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "at": self.at.isoformat(), "kind": self.kind, "queue": self.queue, "route": self.route,
            "step": self.step, "reason": self.reason, "strategy": self.strategy, "winner": self.winner,
            "candidates": list(self.candidates), "candidate_count": self.candidate_count,
        }
        if self.note is not None:
            data["note"] = self.note
        if self.why:
            data["why"] = [part.as_json() for part in self.why]
        return data
