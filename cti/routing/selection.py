"""Choosing an agent for a call. Longest-idle for now; the routing engine replaces this."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from cti.routing.agents import Agent, AgentState

__all__ = ["longest_idle"]

_EPOCH = datetime.min.replace(tzinfo=UTC)


def longest_idle(agents: Iterable[Agent]) -> Agent | None:
    """The ready agent who has been free the longest (ties broken by agent id for determinism)."""
    ready = [a for a in agents if a.state is AgentState.READY and a.extension]
    if not ready:
        return None
    return min(ready, key=lambda a: (a.idle_since or _EPOCH, a.agent_id))
