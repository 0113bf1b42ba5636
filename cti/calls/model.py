"""A call as the contact center sees it, from arrival to its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from cti.routing.engine import Decision, Routing

__all__ = ["Call", "CallState", "EndReason", "Outcome"]


class CallState(StrEnum):
    WAITING = "waiting"  # answered by cti, on hold in its queue
    RINGING = "ringing"  # offered: an agent's phone is ringing
    CALLING_BACK = "calling_back"  # a callback: the agent answered, the customer's phone is ringing
    CONNECTED = "connected"  # bridged with an agent
    ENDED = "ended"


class Outcome(StrEnum):
    ANSWERED = "answered"  # an agent talked to the caller
    ABANDONED = "abandoned"  # the caller hung up before reaching an agent
    FAILED = "failed"  # the system lost the call (Asterisk restarted, the channel vanished)
    REJECTED = "rejected"  # not queued: the queue was full, or closed with no queue to overflow to
    SELF_SERVICE = "self_service"  # served by the IVR alone, never queued for an agent


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


@dataclass(slots=True)
class Call:
    call_id: str
    channel_id: str
    caller_number: str
    service_number: str
    queue: str
    arrived_at: datetime
    caller_name: str | None = None
    state: CallState = CallState.WAITING
    agent_id: str | None = None
    agent_extension: str | None = None
    agent_channel_id: str | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    offers: int = 0
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
    customer_id: str | None = None
    ivr: dict[str, Any] | None = None

    @property
    def wait_seconds(self) -> float | None:
        until = self.answered_at or self.ended_at
        return None if until is None else max(0.0, (until - self.arrived_at).total_seconds())

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())

    def snapshot(self) -> Call:
        return replace(self, routing=replace(self.routing), decisions=list(self.decisions),
                       ivr=None if self.ivr is None else dict(self.ivr))
