"""Agents, their state machine, and how much work of each channel they may hold at once.

An agent is *logged out*, *ready* (waiting for work), *not ready* (with a reason code), *ringing* (work is
offered to them), *on call* (talking, or chatting), or in *wrap-up* (after-call work, timed per queue).
Requests that cannot apply now (going not-ready or logging out during a call) are kept as *pending* and
applied when the work ends, as agents expect from an ACD.

What an agent holds is :attr:`Agent.work`: the ids of the items offered to them or connected, with their
channel. Their :class:`Capacity` says how many of each channel they may hold at once, and which channels are
*exclusive* (held alone): by default one voice call and no chats, and a voice call is exclusive, so an agent on
a call is offered nothing else and an agent in a chat is offered no call; ``exclusive`` empty lets an agent
chat during a call. With work held, an agent is *ringing* while everything is still offered and *on call* once any is
connected; wrap-up starts when the last item ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from cti.acd._errors import InvalidTransition
from cti.acd._snapshots import copier
from cti.acd._work import Channel
from cti.types import AgentId, CallId

__all__ = ["Agent", "AgentState", "Capacity", "NotReadyReason", "PendingChange"]


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class NotReadyReason(StrEnum):
    """Every not-ready reason cti itself gives or offers (the console has a label for each: ``reason.<code>``).

    The API takes any code (``[a-z0-9_]{1,32}``) from a desktop or an integration; a page shows a code it has no
    label for as it is."""

    LOGIN = "login"  # logged in, not ready yet
    BUSY = "busy"  # the phone was busy when offered a call (Q.850 17)
    REJECTED = "rejected"  # the agent rejected the offer on the phone (21)
    NO_ANSWER = "no_answer"  # the phone rang unanswered (16, 18, 19, 31, ...)
    UNREACHABLE = "unreachable"  # the phone could not be reached at all
    BREAK = "break"  # the desktop's choices
    LUNCH = "lunch"
    TRAINING = "training"
    MEETING = "meeting"


# Transitions the system itself makes (offers, answers, hang-ups) and those agents ask for. ON_CALL -> RINGING
# happens only to an agent holding several items: the connected one ended while another is still offered.
_ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY, AgentState.RINGING, AgentState.LOGGED_OUT}),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.LOGGED_OUT, AgentState.NOT_READY}),
    AgentState.RINGING: frozenset(
        {AgentState.ON_CALL, AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}
    ),
    AgentState.ON_CALL: frozenset(
        {AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT, AgentState.WRAP_UP, AgentState.RINGING}
    ),
    AgentState.WRAP_UP: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}),
}
# Time in these states counts as occupied (least-occupancy routing, later occupancy reports).
_OCCUPIED = frozenset({AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})
_HOLDING = frozenset({AgentState.RINGING, AgentState.ON_CALL})
# No chats until a profile gives the agent a chat capacity.
_DEFAULT_LIMITS: Mapping[Channel, int] = MappingProxyType({Channel.VOICE: 1, Channel.CHAT: 0})


@dataclass(frozen=True, slots=True)
class Capacity:
    """How much work of each channel an agent may hold at once, and which channels are held alone."""

    limits: Mapping[Channel, int] = field(default_factory=lambda: _DEFAULT_LIMITS)
    exclusive: frozenset[Channel] = frozenset({Channel.VOICE})

    @classmethod
    def of(cls, limits: Mapping[str, int] | None = None, exclusive: Iterable[str] | None = None) -> Capacity:
        """From a routing profile: ``{"voice": 1, "chat": 3}`` (channels left out keep their default) and the
        exclusive channels (``None``: voice)."""
        merged = dict(_DEFAULT_LIMITS)
        merged.update({Channel(name): int(value) for name, value in (limits or {}).items()})
        held_alone = frozenset({Channel.VOICE}) if exclusive is None else frozenset(map(Channel, exclusive))
        return cls(MappingProxyType(merged), held_alone)

    def limit(self, channel: Channel) -> int:
        return self.limits.get(channel, 0)

    def as_json(self) -> dict[str, object]:
        return {"limits": {channel.value: n for channel, n in self.limits.items()},
                "exclusive": sorted(channel.value for channel in self.exclusive)}


DEFAULT_CAPACITY = Capacity()


@dataclass(frozen=True, slots=True)
class PendingChange:
    state: AgentState
    reason: str | None = None


@dataclass(slots=True)
class Agent:
    agent_id: AgentId
    name: str = ""
    extension: str | None = None
    state: AgentState = AgentState.LOGGED_OUT
    reason: str | None = None
    state_since: datetime | None = None
    # When the agent last became free; longest-idle routing picks the smallest.
    idle_since: datetime | None = None
    # The items offered to the agent or connected, in the order they were offered.
    work: dict[CallId, Channel] = field(default_factory=dict)
    pending: PendingChange | None = None
    calls_handled: int = 0
    # Profile, used by routing: skill -> level (1-10), languages spoken (empty: any), where and with whom.
    skills: dict[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    region: str | None = None
    site: str | None = None
    team: str | None = None
    capacity: Capacity = DEFAULT_CAPACITY
    logged_in_at: datetime | None = None
    busy_seconds: float = 0.0
    wrap_up_until: datetime | None = None
    # The agent has a desktop open, whose wrap-up form ends their after-call work: after a call their queue
    # gives no after-call time, they stay in wrap-up until they save it (DESK_WRAP_UP at most), so the next
    # call does not ring while they write. Not persisted: a desktop says so again when it reconnects.
    at_desk: bool = False

    @property
    def busy(self) -> bool:
        return self.state in _HOLDING

    @property
    def call_id(self) -> str | None:
        """The item the agent took first of those they hold (their call, on voice); None when free."""
        return next(iter(self.work), None)

    def load(self, channel: Channel) -> int:
        return sum(1 for held in self.work.values() if held is channel)

    def available_for(self, channel: Channel) -> bool:
        """May the agent be offered one more item of ``channel`` now (their state, endpoint and capacity)?"""
        if self.state is AgentState.READY:
            # Ready holds nothing. A call needs a phone to ring; other channels reach the desktop.
            return self.capacity.limit(channel) > 0 and (channel is not Channel.VOICE or bool(self.extension))
        if self.state not in _HOLDING or self.pending is not None or not self.work:
            return False
        exclusive = self.capacity.exclusive
        if channel in exclusive or any(held in exclusive for held in self.work.values()):
            return False
        if channel is Channel.VOICE and not self.extension:
            return False
        return self.load(channel) < self.capacity.limit(channel)

    def transition(self, state: AgentState, now: datetime, reason: str | None = None) -> None:
        if state not in _ALLOWED[self.state]:
            raise InvalidTransition(f"agent {self.agent_id}: cannot go from {self.state} to {state}",
                                    params={"agent_id": self.agent_id, "from": self.state.value, "to": state.value})
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
        if state not in _HOLDING:
            self.work.clear()
        if state is AgentState.LOGGED_OUT:
            self.extension = None

    def snapshot(self) -> Agent:
        """A detached copy, safe to hand to adapters after the core moves on."""
        copy = _copy_agent(self)
        copy.skills = dict(self.skills)
        copy.work = dict(self.work)
        return copy


_copy_agent = copier(Agent)
