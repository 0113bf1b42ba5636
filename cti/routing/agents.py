"""Agents and their state machine.

An agent is *logged out*, *ready* (waiting for a call), *not ready* (with a reason code), *ringing* (a call
is offered to their phone), *on call*, or in *wrap-up* (after-call work, timed per queue). Requests that
cannot apply now (going not-ready or logging out during a call) are kept as *pending* and applied when the
call ends, as agents expect from an ACD.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

__all__ = ["Agent", "AgentState", "InvalidTransition", "PendingChange"]


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class InvalidTransition(Exception):
    """The requested agent state change is not allowed from the current state."""


# Transitions the system itself makes (offers, answers, hang-ups) and those agents ask for.
_ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY, AgentState.RINGING, AgentState.LOGGED_OUT}),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.LOGGED_OUT, AgentState.NOT_READY}),
    AgentState.RINGING: frozenset(
        {AgentState.ON_CALL, AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}
    ),
    AgentState.ON_CALL: frozenset(
        {AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT, AgentState.WRAP_UP}
    ),
    AgentState.WRAP_UP: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}),
}
# Time in these states counts as occupied (least-occupancy routing, later occupancy reports).
_OCCUPIED = frozenset({AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})


@dataclass(frozen=True, slots=True)
class PendingChange:
    state: AgentState
    reason: str | None = None


@dataclass(slots=True)
class Agent:
    agent_id: str
    name: str = ""
    extension: str | None = None
    state: AgentState = AgentState.LOGGED_OUT
    reason: str | None = None
    state_since: datetime | None = None
    # When the agent last became free; longest-idle routing picks the smallest.
    idle_since: datetime | None = None
    call_id: str | None = None
    pending: PendingChange | None = None
    calls_handled: int = 0
    # Profile, used by routing: skill -> level (1-10), languages spoken (empty: any), where and with whom.
    skills: dict[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    region: str | None = None
    site: str | None = None
    team: str | None = None
    logged_in_at: datetime | None = None
    busy_seconds: float = 0.0
    wrap_up_until: datetime | None = None
    history: list[tuple[AgentState, str | None, datetime]] = field(default_factory=list, repr=False)

    @property
    def busy(self) -> bool:
        return self.state in (AgentState.RINGING, AgentState.ON_CALL)

    def transition(self, state: AgentState, now: datetime, reason: str | None = None) -> None:
        if state not in _ALLOWED[self.state]:
            raise InvalidTransition(f"agent {self.agent_id}: cannot go from {self.state} to {state}")
        if self.state in _OCCUPIED and self.state_since is not None:
            self.busy_seconds += max(0.0, (now - self.state_since).total_seconds())
        if self.state is AgentState.LOGGED_OUT:
            self.logged_in_at, self.busy_seconds = now, 0.0
        self.wrap_up_until = None
        self.state = state
        self.reason = reason if state is AgentState.NOT_READY else None
        self.state_since = now
        if state is AgentState.READY:
            self.idle_since = now
        if state in (AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT, AgentState.WRAP_UP):
            self.call_id = None
        if state is AgentState.LOGGED_OUT:
            self.extension = None
        self.history.append((state, self.reason, now))

    def snapshot(self) -> Agent:
        """A detached copy, safe to hand to adapters after the core moves on."""
        return replace(self, history=[], skills=dict(self.skills))
