"""Who may take a work item now, and in which order waiting items are served.

Pure functions over agents, items' routing attributes and the rules; nothing here reads the clock. Which of the
eligible agents gets the item is the queue's strategy (:mod:`._strategies`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache

from cti.acd._agents import Agent, AgentState
from cti.acd._routing import Routing
from cti.acd._rules import QueueRule, Target
from cti.acd._work import Channel

__all__ = ["MAX_LISTED", "WaitKey", "eligible", "eligible_among", "listed", "qualified", "site_loads", "wait_key",
           "wait_order"]

_EPOCH = datetime.min.replace(tzinfo=UTC)
_NAIVE_EPOCH = datetime.min
WaitKey = tuple[int | Fraction, int]
MAX_LISTED = 20  # candidates kept on a decision record; the count says how many there were


def qualified(agent: Agent, queue: QueueRule) -> bool:
    """Does the agent hold every skill the queue needs, at its minimum level? (Staffing, not state.)"""
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


def eligible(agent: Agent, queue: QueueRule, target: Target, routing: Routing,
             channel: Channel = Channel.VOICE) -> bool:
    """May this agent take the item (of ``channel``) now, at this escalation step?"""
    if not agent.available_for(channel):
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


def eligible_among(agents: Iterable[Agent], queue: QueueRule, target: Target, routing: Routing,
                   channel: Channel = Channel.VOICE) -> list[Agent]:
    """The agents, in the order given, for whom :func:`eligible` holds: the same tests, with what depends only
    on the item worked out once instead of once per agent (a decision may look at hundreds of agents)."""
    floor = target.min_level or 0
    needs = tuple((skill, level if level > floor else floor) for skill, level in queue.skills.items())
    region = routing.region if target.region == "caller" else None
    language = routing.language if target.language == "caller" else None
    team = target.team
    chosen: list[Agent] = []
    for agent in agents:
        if not agent.available_for(channel):
            continue
        if region is not None and agent.region != region:
            continue
        if language is not None and agent.languages and language not in agent.languages:
            continue
        if team is not None and agent.team != team:
            continue
        skills = agent.skills
        for skill, level in needs:  # a loop, not any(): no generator per agent
            if skills.get(skill, 0) < level:
                break
        else:
            chosen.append(agent)
    return chosen


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
