"""Work items: what the distributor routes to agents, from arrival to outcome, on any channel.

Voice calls (the telephony adapter) and web chats (the chat channel, :mod:`cti.services`) are routed the same
way. A callback keeping the caller's place is a voice item with ``callback`` set. Field
names are a call's, because a call was first and the API, the live store and the interaction rows use them:
``call_id`` is the item's id (and its interaction's), ``channel_id`` the customer's leg (an Asterisk channel for
voice, a chat session for chat), ``caller_number`` the customer's address, ``service_number`` where they came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from cti.acd._routing import Decision, Routing
from cti.acd._snapshots import copier
from cti.types import AgentId, CallId, ChannelId, CustomerId

__all__ = ["Channel", "Consult", "Direction", "EndReason", "Leg", "Outcome", "WorkItem", "WorkState"]


class Channel(StrEnum):
    """How the customer reaches the contact center; agents have a capacity per channel."""

    VOICE = "voice"
    CHAT = "chat"


class Direction(StrEnum):
    """Who called whom: the customer us (inbound), or an agent the customer (outbound: click-to-dial, a
    scheduled callback). An outbound item rings its agent first, then dials the customer."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class WorkState(StrEnum):
    WAITING = "waiting"  # answered by cti, on hold in its queue (a chat: in its queue)
    PREVIEW = "preview"  # an outbound call shown to its agent first (a scheduled callback): they dial or skip it
    RINGING = "ringing"  # offered: an agent's phone is ringing (a chat: offered on the agent's desktop)
    CALLING_BACK = "calling_back"  # a callback: the agent answered, the customer's phone is ringing
    CONNECTED = "connected"  # bridged with an agent
    ENDED = "ended"


class Outcome(StrEnum):
    ANSWERED = "answered"  # an agent talked to the caller
    ABANDONED = "abandoned"  # the caller hung up before reaching an agent
    FAILED = "failed"  # the system lost the call (Asterisk restarted, the channel vanished)
    REJECTED = "rejected"  # not queued: the queue was full, or closed with no queue to overflow to
    SELF_SERVICE = "self_service"  # served by the IVR alone, never queued for an agent
    SKIPPED = "skipped"  # an outbound call's preview the agent skipped (or let pass): nothing was dialed


class EndReason(StrEnum):
    CALLER_HANGUP = "caller_hangup"
    AGENT_HANGUP = "agent_hangup"
    CHANNEL_LOST = "channel_lost"
    QUEUE_FULL = "queue_full"
    AFTER_HOURS = "after_hours"
    BRIDGE_FAILED = "bridge_failed"
    CALLBACK_NO_ANSWER = "callback_no_answer"
    OVERLOAD = "overload"  # shed by admission control before it was answered
    IVR_COMPLETED = "ivr_completed"  # the IVR's flow ended the call (self-service done, goodbye)
    AGENT_NO_ANSWER = "agent_no_answer"  # outbound: the dialing agent's own phone did not answer
    CUSTOMER_NO_ANSWER = "customer_no_answer"  # outbound: the customer's phone rang out or failed
    CUSTOMER_BUSY = "customer_busy"  # outbound: the customer's line was busy or refused the call
    PREVIEW_SKIPPED = "preview_skipped"  # outbound: the agent skipped the preview, or it timed out or was refused
    TRANSFERRED_OUT = "transferred_out"  # handed to an external party (a consult completed): cti let go of it


@dataclass(slots=True)
class Consult:
    """The agent consulting a third party while the caller holds: another agent (by name, or one ready in a
    queue) or an external number. Answered, the target's leg talks with the agent in the call's bridge; in a
    conference the caller is back in it with both."""

    kind: str  # agent | queue | external
    target: str  # the agent consulted (for a queue, the one chosen in it), or the number dialled
    channel_id: ChannelId  # the target's leg, ``<call_id>-t<n>``
    started_at: datetime
    queue: str | None = None  # a consult to a queue: which
    extension: str | None = None  # the consulted agent's phone
    note: str | None = None
    answered_at: datetime | None = None
    conference: bool = False

    @property
    def state(self) -> str:
        return "conference" if self.conference else "talking" if self.answered_at else "ringing"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "queue": self.queue, "state": self.state,
                "started_at": self.started_at.isoformat(),
                "answered_at": self.answered_at.isoformat() if self.answered_at else None}


@dataclass(slots=True)
class Leg:
    """Someone who talked on the call besides the caller: an agent who took it, an agent or a number consulted;
    from their answer until they left (``ended`` is None while they are on it)."""

    participant: str  # agent id, or the external number
    kind: str  # agent | queue (an agent reached through a consult to a queue) | external
    role: str  # answered (took the call) | consult (consulted, maybe conferenced, maybe took it on)
    channel_id: ChannelId
    started: datetime
    ended: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        seconds = None if self.ended is None else round(max(0.0, (self.ended - self.started).total_seconds()), 3)
        return {"participant": self.participant, "kind": self.kind, "role": self.role,
                "started": self.started.isoformat(), "ended": self.ended.isoformat() if self.ended else None,
                "seconds": seconds}

    @staticmethod
    def from_json(data: dict[str, Any], channel_id: str = "") -> Leg:
        ended = data.get("ended")
        return Leg(data["participant"], data["kind"], data.get("role", "answered"),
                   data.get("channel_id", channel_id), datetime.fromisoformat(data["started"]),
                   None if ended is None else datetime.fromisoformat(ended))


@dataclass(slots=True)
class WorkItem:
    call_id: CallId
    channel_id: ChannelId
    caller_number: str
    service_number: str
    queue: str
    arrived_at: datetime
    caller_name: str | None = None
    state: WorkState = WorkState.WAITING
    agent_id: AgentId | None = None
    agent_extension: str | None = None
    agent_channel_id: ChannelId | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    offers: int = 0
    # Times the customer was connected to an agent: the first answer, then one more after each transfer. Each
    # connection is a new bridge on voice (Asterisk keeps a destroyed bridge's id a while, so one is never reused).
    connections: int = 0
    outcome: Outcome | None = None
    end_reason: EndReason | None = None
    routing: Routing = field(default_factory=Routing)
    decisions: list[Decision] = field(default_factory=list)
    # When the call entered its current queue: escalation steps count from here.
    queued_at: datetime | None = None
    announced_at: datetime | None = None
    # Callback keep-my-place: the caller hung up but keeps their place; cti calls them back when an agent
    # answers. From then on ``channel_id`` is the outbound leg to the customer.
    callback: bool = False
    caller_present: bool = True
    # After a system-side failure to place an offer, not offered again before this (no retry storms).
    not_before: datetime | None = None
    # Who the caller is in the CRM (by number, or by what they keyed in the IVR), and their IVR path.
    customer_id: CustomerId | None = None
    ivr: dict[str, Any] | None = None
    channel: Channel = Channel.VOICE
    # The agent's controls of a connected call. A hold is a state of the call with its start; holds that
    # ended are folded into ``held_seconds`` (the open one counts until it ends, see :attr:`hold_seconds`).
    held_since: datetime | None = None
    hold_count: int = 0
    held_seconds: float = 0.0
    muted: bool = False
    # Outbound items are dialed by an agent (``callback`` set too: the agent's leg first, then the customer).
    direction: Direction = Direction.INBOUND
    # The scheduled callback this outbound call carries out, if any.
    callback_id: str | None = None
    # A consult (or three-way conference) in progress; consults counts them (the target legs' numbers) and
    # legs is everyone who talked on the call besides the caller (the interaction keeps it).
    consult: Consult | None = None
    consults: int = 0
    legs: list[Leg] = field(default_factory=list)
    # The media node (Asterisk) the call lives on, when cti drives several (docs/scaling.md): every leg of the call
    # is made there. The voice adapter's label, carried and persisted by the core, never read by it.
    node: str | None = None

    @property
    def wait_seconds(self) -> float | None:
        until = self.answered_at or self.ended_at
        return None if until is None else max(0.0, (until - self.arrived_at).total_seconds())

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())

    @property
    def held(self) -> bool:
        return self.held_since is not None

    def hold_seconds(self, now: datetime | None = None) -> float:
        """Seconds the caller spent on hold: the holds that ended, and the open one until ``now`` (or the end)."""
        until = now or self.ended_at
        open_hold = 0.0
        if self.held_since is not None and until is not None:
            open_hold = max(0.0, (until - self.held_since).total_seconds())
        return self.held_seconds + open_hold

    def snapshot(self) -> WorkItem:
        copy = _copy_item(self)
        copy.routing = _copy_routing(self.routing)
        copy.decisions = list(self.decisions)
        copy.ivr = None if self.ivr is None else dict(self.ivr)
        copy.consult = None if self.consult is None else replace(self.consult)
        copy.legs = [replace(leg) for leg in self.legs]
        return copy


_copy_item = copier(WorkItem)
_copy_routing = copier(Routing)
