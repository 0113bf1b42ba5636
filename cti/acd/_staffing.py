"""Agents indexed for routing decisions, kept current as they change instead of rescanned per decision.

Per channel and queue: the agents available for that channel (:meth:`Agent.available_for`) holding the
queue's skills, by region, so a regional step looks at one region; keyed by rank, so a decision puts its
candidates in rank order by sorting integers. Per queue and channel: the number of logged-in
agents serving it (estimated wait). Per site: logged-in and busy counts (site balancing). Per extension: who holds
it. Each agent's *rank* is its position in ``ContactCenter.agents``, the order decisions list candidates in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from cti.acd._agents import Agent, AgentState
from cti.acd._rules import Rules
from cti.acd._work import Channel

__all__ = ["Staffing"]

_BUSY = frozenset({AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})
_K = TypeVar("_K")
Pool = dict[int, Agent]  # rank -> agent, available and qualified for one queue in one region
_CHANNELS = tuple(Channel)
_NONE: frozenset[Channel] = frozenset()


@dataclass(slots=True)
class _Entry:
    """What the indexes currently hold for one agent."""

    rank: int
    agent: Agent | None = None
    ready: frozenset[Channel] = _NONE  # the channels the agent is available for
    serving: frozenset[Channel] = _NONE  # the channels the logged-in agent can take (a phone for calls)
    present: bool = False
    busy: bool = False
    extension: str | None = None
    site: str | None = None
    region: str | None = None
    team: str | None = None
    skills: dict[str, int] | None = None  # None: not indexed yet
    languages: frozenset[str] = frozenset()
    queues: tuple[str, ...] = ()  # queues whose skills the agent holds


class Staffing:
    def __init__(self, rules: Rules) -> None:
        self._entries: dict[str, _Entry] = {}
        self._set_rules(rules)

    def _set_rules(self, rules: Rules) -> None:
        self._rules = rules
        self._ready: dict[Channel, dict[str, dict[str | None, Pool]]] = {}
        self._serving: dict[tuple[str, Channel], int] = {}
        self._present: dict[str | None, int] = {}
        self._busy: dict[str | None, int] = {}
        self._extensions: dict[str, set[str]] = {}
        self._qualified_for: dict[frozenset[tuple[str, int]], tuple[str, ...]] = {}
        self._skill_free = [name for name, queue in rules.queues.items() if not queue.skills]
        self._needing: dict[str, list[str]] = {}
        for name, queue in rules.queues.items():
            for skill in queue.skills:
                self._needing.setdefault(skill, []).append(name)

    def rebuild(self, rules: Rules, agents: Iterable[Agent]) -> None:
        """Index every agent again under new rules (ranks are kept)."""
        self._set_rules(rules)
        for agent_id, entry in list(self._entries.items()):
            self._entries[agent_id] = _Entry(rank=entry.rank)
        for agent in agents:
            self.update(agent)

    # -- queries --------------------------------------------------------------------------------------------
    def rank(self, agent: Agent) -> int:
        return self._entries[agent.agent_id].rank

    def rank_of(self, agent_id: str) -> int:
        return self._entries[agent_id].rank

    def is_ready(self, agent_id: str, channel: Channel) -> bool:
        entry = self._entries.get(agent_id)
        return entry is not None and channel in entry.ready

    def ready_channels(self, agent_id: str) -> frozenset[Channel]:
        entry = self._entries.get(agent_id)
        return _NONE if entry is None else entry.ready

    def queues_of(self, agent_id: str) -> tuple[str, ...]:
        return self._entries[agent_id].queues

    def ready_pools(self, channel: Channel, queue: str, region: str | None = None, *,
                    any_region: bool = True) -> list[Pool]:
        """Agents available for ``channel`` qualified for ``queue``: all regions, or only ``region`` when not
        ``any_region``."""
        by_region = self._ready.get(channel, {}).get(queue)
        if not by_region:
            return []
        if any_region:
            return list(by_region.values())
        pool = by_region.get(region)
        return [pool] if pool else []

    def staffed(self, channel: Channel) -> list[str]:
        """Queues with an agent available for ``channel`` holding their skills."""
        return list(self._ready.get(channel, ()))

    def is_staffed(self, channel: Channel, queue: str) -> bool:
        """Is an agent available for ``channel`` holding the queue's skills?"""
        return queue in self._ready.get(channel, ())

    def serving(self, queue: str, channel: Channel = Channel.VOICE) -> int:
        """Logged-in agents who can take ``channel`` (for calls: who have a phone) holding the queue's skills,
        whatever their state."""
        return self._serving.get((queue, channel), 0)

    def site_loads(self) -> dict[str | None, float]:
        """As :func:`cti.acd.site_loads`, from counters."""
        return {site: self._busy.get(site, 0) / count for site, count in self._present.items()}

    def holder(self, extension: str, excluding: str) -> str | None:
        """The first agent (in rank order) other than ``excluding`` holding ``extension``."""
        holders = [a for a in self._extensions.get(extension, ()) if a != excluding]
        return min(holders, key=self.rank_of) if holders else None

    # -- changes --------------------------------------------------------------------------------------------
    def update(self, agent: Agent) -> bool:
        """Index the agent as it is now. True when it is available and may take work it could not before."""
        entry = self._entries.get(agent.agent_id)
        if entry is None:
            entry = self._entries[agent.agent_id] = _Entry(rank=len(self._entries))
        state = agent.state
        if state is AgentState.READY or agent.work:
            ready = frozenset(c for c in _CHANNELS if agent.available_for(c))
        else:
            ready = _NONE
        present = state is not AgentState.LOGGED_OUT
        serving = _serves(agent) if present else _NONE
        busy = state in _BUSY
        skills_changed = entry.skills != agent.skills
        queues = self._qualified(agent.skills) if skills_changed else entry.queues
        widened = bool(ready) and (
            not ready <= entry.ready or skills_changed or entry.languages != agent.languages
            or entry.region != agent.region or entry.team != agent.team)

        was_pooled = (entry.ready, entry.queues, entry.region)
        if was_pooled != (ready, queues, agent.region) or (ready and entry.agent is not agent):
            if entry.ready:
                self._unpool(entry.rank, entry.ready, entry.queues, entry.region)
            if ready:
                self._pool(agent, ready, queues)
        if (entry.queues, entry.serving) != (queues, serving):
            _count(self._serving, [(queue, channel) for queue in entry.queues for channel in entry.serving], -1)
            _count(self._serving, [(queue, channel) for queue in queues for channel in serving], 1)
        old_site = (entry.site, entry.busy) if entry.present else None
        new_site = (agent.site, busy) if present else None
        if old_site != new_site:
            if entry.present:
                _count(self._present, (entry.site,), -1)
                _count(self._busy, (entry.site,) if entry.busy else (), -1)
            if present:
                _count(self._present, (agent.site,), 1)
                _count(self._busy, (agent.site,) if busy else (), 1)
        if entry.extension != agent.extension:
            if entry.extension is not None:
                holders = self._extensions[entry.extension]
                holders.discard(agent.agent_id)
                if not holders:
                    del self._extensions[entry.extension]
            if agent.extension is not None:
                self._extensions.setdefault(agent.extension, set()).add(agent.agent_id)

        entry.agent, entry.ready, entry.serving, entry.present, entry.busy = agent, ready, serving, present, busy
        entry.extension, entry.site, entry.region, entry.team = agent.extension, agent.site, agent.region, agent.team
        entry.languages, entry.queues = agent.languages, queues
        if skills_changed:
            entry.skills = dict(agent.skills)
        return widened

    def _pool(self, agent: Agent, channels: frozenset[Channel], queues: tuple[str, ...]) -> None:
        if not queues:
            # No queue needs what the agent has: pooled nowhere. A channel's entry only exists while some queue
            # holds an agent (_unpool removes it with the last), so none is made for nobody.
            return
        rank = self._entries[agent.agent_id].rank
        for channel in channels:
            by_queue = self._ready.setdefault(channel, {})
            for queue in queues:
                by_queue.setdefault(queue, {}).setdefault(agent.region, {})[rank] = agent

    def _unpool(self, rank: int, channels: frozenset[Channel], queues: tuple[str, ...],
                region: str | None) -> None:
        if not queues:
            return  # pooled nowhere (see _pool)
        for channel in channels:
            by_queue = self._ready[channel]
            for queue in queues:
                by_region = by_queue[queue]
                pool = by_region[region]
                del pool[rank]
                if not pool:
                    del by_region[region]
                    if not by_region:
                        del by_queue[queue]
            if not by_queue:
                del self._ready[channel]

    def _qualified(self, skills: Mapping[str, int]) -> tuple[str, ...]:
        signature = frozenset(skills.items())
        queues = self._qualified_for.get(signature)
        if queues is None:
            names = set(self._skill_free)
            for skill in skills:
                names.update(self._needing.get(skill, ()))
            rules = self._rules.queues
            queues = tuple(name for name in rules if name in names
                           and all(skills.get(s, 0) >= level for s, level in rules[name].skills.items()))
            self._qualified_for[signature] = queues
        return queues


def _serves(agent: Agent) -> frozenset[Channel]:
    """The channels a logged-in agent can take at all: those their capacity allows, calls only with a phone."""
    return frozenset(c for c in _CHANNELS
                     if agent.capacity.limit(c) > 0 and (c is not Channel.VOICE or agent.extension))


def _count(counts: dict[_K, int], keys: Iterable[_K], delta: int) -> None:
    for key in keys:
        value = counts.get(key, 0) + delta
        if value:
            counts[key] = value
        else:
            del counts[key]
