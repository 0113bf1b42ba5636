"""Routing decisions: who may take a call now, which of them gets it, and why.

Pure functions over agents, calls' routing attributes and the rules; the call-center core calls them and
records the :class:`Decision` they return on the call. Nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache

from cti.routing.agents import Agent, AgentState
from cti.routing.rules import QueueRule, Target
from cti.routing.selection import longest_idle

__all__ = [
    "Decision",
    "Routing",
    "WaitKey",
    "choose_agent",
    "eligible",
    "qualified",
    "site_loads",
    "wait_key",
    "wait_order",
]

_EPOCH = datetime.min.replace(tzinfo=UTC)
_NAIVE_EPOCH = datetime.min
WaitKey = tuple[int | Fraction, int]
MAX_LISTED = 20  # candidates kept on a decision record; the count says how many there were


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


def qualified(agent: Agent, queue: QueueRule) -> bool:
    """Does the agent hold every skill the queue needs, at its minimum level? (Staffing, not state.)"""
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


def eligible(agent: Agent, queue: QueueRule, target: Target, routing: Routing) -> bool:
    """May this ready agent take the call at this escalation step?"""
    if agent.state is not AgentState.READY or not agent.extension:
        return False
    floor = target.min_level or 0
    for skill, level in queue.skills.items():
        if agent.skills.get(skill, 0) < max(level, floor):
            return False
    if target.region == "caller" and routing.region is not None and agent.region != routing.region:
        return False
    # An agent with no languages listed is taken to speak whatever the call needs.
    if (target.language == "caller" and routing.language is not None and agent.languages
            and routing.language not in agent.languages):
        return False
    return target.team is None or agent.team == target.team


def _skill_score(agent: Agent, queue: QueueRule) -> int:
    return sum(agent.skills.get(skill, 0) for skill in queue.skills) if queue.skills else sum(agent.skills.values())


def _occupancy(agent: Agent, now: datetime) -> float:
    if agent.logged_in_at is None:
        return 0.0
    present = max((now - agent.logged_in_at).total_seconds(), 1.0)
    return agent.busy_seconds / present


def choose_agent(queue: QueueRule, candidates: Sequence[Agent], now: datetime,
                 last_assigned: str | None = None, site_load: Mapping[str | None, float] | None = None,
                 ) -> Agent | None:
    """The queue's strategy picks one candidate; longest idle (then agent id) breaks every tie.

    With ``balance_sites``, candidates are first narrowed to the site whose logged-in agents are the least
    busy (``site_load``: busy / logged in), so one site does not carry the load while another idles.
    """
    if not candidates:
        return None
    if queue.balance_sites and site_load is not None:
        sites = {a.site for a in candidates}
        if len(sites) > 1:
            calmest = min(sites, key=lambda s: (site_load.get(s, 0.0), s or ""))
            candidates = [a for a in candidates if a.site == calmest]

    def idle_key(agent: Agent) -> tuple[datetime, str]:
        return (agent.idle_since or _EPOCH, agent.agent_id)

    if queue.strategy == "most_skilled":
        best = max(_skill_score(a, queue) for a in candidates)
        return min((a for a in candidates if _skill_score(a, queue) == best), key=idle_key)
    if queue.strategy == "least_occupancy":
        return min(candidates, key=lambda a: (round(_occupancy(a, now), 6), *idle_key(a)))
    if queue.strategy == "round_robin":
        ordered = sorted(candidates, key=lambda a: a.agent_id)
        after = [a for a in ordered if last_assigned is not None and a.agent_id > last_assigned]
        return (after or ordered)[0]
    return longest_idle(candidates)


def site_loads(agents: Iterable[Agent]) -> dict[str | None, float]:
    """Per site, the share of its logged-in agents that are ringing, talking or in wrap-up."""
    present: dict[str | None, int] = {}
    busy: dict[str | None, int] = {}
    for agent in agents:
        if agent.state is AgentState.LOGGED_OUT:
            continue
        present[agent.site] = present.get(agent.site, 0) + 1
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
            busy[agent.site] = busy.get(agent.site, 0) + 1
    return {site: busy.get(site, 0) / count for site, count in present.items()}


def wait_order(priority: int, arrived_at: datetime, now: datetime, aging_seconds: float) -> tuple[float, datetime]:
    """Sort key for waiting calls: higher (aged) priority first, then longest waiting.

    Priority grows by one per ``aging_seconds`` waited, so a steady stream of urgent calls cannot starve
    an eligible ordinary one forever. The core sorts by :func:`wait_key`: the same order, exact and fixed.
    """
    aged = priority + (now - arrived_at).total_seconds() / aging_seconds if aging_seconds > 0 else priority
    return (-aged, arrived_at)


def wait_key(priority: int, arrived_at: datetime, aging_seconds: float) -> WaitKey:
    """The order of :func:`wait_order` as a key fixed when the call arrives, so aging never reorders a queue.

    Aged priority ``p + (now - arrived) / g`` ranks two calls as ``arrived - p * g`` does (the ``now`` terms
    cancel), then by arrival. Computed exactly in microseconds (a fraction if ``g`` is not a whole number
    of them), so calls that tie on aged priority tie here too instead of being split by float rounding.
    """
    arrived = _microseconds(arrived_at)
    if aging_seconds <= 0:
        return (-priority, arrived)
    return (arrived - priority * _aging_microseconds(aging_seconds), arrived)


def _microseconds(moment: datetime) -> int:
    delta = moment - (_EPOCH if moment.tzinfo is not None else _NAIVE_EPOCH)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@lru_cache(maxsize=16)
def _aging_microseconds(aging_seconds: float) -> int | Fraction:
    exact = Fraction(aging_seconds) * 1_000_000
    return exact.numerator if exact.denominator == 1 else exact


def listed(agents: Iterable[Agent]) -> tuple[tuple[str, ...], int]:
    ids = [a.agent_id for a in agents]
    return tuple(ids[:MAX_LISTED]), len(ids)
