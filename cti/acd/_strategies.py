"""Which of the eligible agents gets a work item: the queue's strategy, from a registry.

A strategy is one function from the candidates (eligible and available, never empty) and a
:class:`StrategyContext` to the chosen agent. Register a new one here with ``@strategy("name")``; the rules
file can then name it (``queues.<name>.strategy``) and the rules' validation knows it. Longest idle (then
agent id) breaks every tie, so decisions are deterministic.

With ``balance_sites`` a queue first narrows the candidates to the site whose logged-in agents are the least
busy, so one site does not carry the load while another idles; then its strategy chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from cti.acd._agents import Agent, AgentState

__all__ = ["STRATEGIES", "Strategy", "StrategyContext", "choose_agent", "strategy"]

_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may look at besides the candidates."""

    now: datetime
    skills: Mapping[str, int]  # the queue's required skills and minimum levels
    last_assigned: str | None = None  # the agent the queue chose last (round robin)


Strategy = Callable[[Sequence[Agent], StrategyContext], Agent]
_REGISTRY: dict[str, Strategy] = {}
STRATEGIES: Mapping[str, Strategy] = MappingProxyType(_REGISTRY)
"""Every strategy by name (read-only; add one with :func:`strategy`)."""


def strategy(name: str) -> Callable[[Strategy], Strategy]:
    """Register the decorated function as the strategy ``name``."""

    def register(choose: Strategy) -> Strategy:
        if name in _REGISTRY:
            raise ValueError(f"strategy {name!r} is already registered")
        _REGISTRY[name] = choose
        return choose

    return register


def _idle_key(agent: Agent) -> tuple[datetime, str]:
    return (agent.idle_since or _EPOCH, agent.agent_id)


@strategy("longest_idle")
def _longest_idle(candidates: Sequence[Agent], context: StrategyContext) -> Agent:
    # Agents holding chats are free to take another but are not idle: they come after every ready agent.
    return min(candidates, key=lambda a: (a.state is not AgentState.READY, *_idle_key(a)))


def _skill_score(agent: Agent, skills: Mapping[str, int]) -> int:
    return sum(agent.skills.get(skill, 0) for skill in skills) if skills else sum(agent.skills.values())


@strategy("most_skilled")
def _most_skilled(candidates: Sequence[Agent], context: StrategyContext) -> Agent:
    best = max(_skill_score(a, context.skills) for a in candidates)
    return min((a for a in candidates if _skill_score(a, context.skills) == best), key=_idle_key)


def _occupancy(agent: Agent, now: datetime) -> float:
    if agent.logged_in_at is None:
        return 0.0
    present = max((now - agent.logged_in_at).total_seconds(), 1.0)
    return agent.busy_seconds / present


@strategy("least_occupancy")
def _least_occupancy(candidates: Sequence[Agent], context: StrategyContext) -> Agent:
    return min(candidates, key=lambda a: (round(_occupancy(a, context.now), 6), *_idle_key(a)))


@strategy("round_robin")
def _round_robin(candidates: Sequence[Agent], context: StrategyContext) -> Agent:
    ordered = sorted(candidates, key=lambda a: a.agent_id)
    after = [a for a in ordered if context.last_assigned is not None and a.agent_id > context.last_assigned]
    return (after or ordered)[0]


def choose_agent(strategy_name: str, candidates: Sequence[Agent], context: StrategyContext, *,
                 site_load: Mapping[str | None, float] | None = None) -> Agent | None:
    """The strategy's choice among ``candidates`` (None when there are none); with ``site_load`` (busy share
    per site, for a queue that balances sites) the calmest site's candidates first."""
    if not candidates:
        return None
    if site_load is not None:
        sites = {a.site for a in candidates}
        if len(sites) > 1:
            calmest = min(sites, key=lambda s: (site_load.get(s, 0.0), s or ""))
            candidates = [a for a in candidates if a.site == calmest]
    return STRATEGIES[strategy_name](candidates, context)
