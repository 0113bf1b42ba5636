"""What the core asks the adapters to do. Plain data: the controller executes and persists them."""

from __future__ import annotations

from dataclasses import dataclass

from cti.calls.model import Call
from cti.routing.agents import Agent

__all__ = [
    "AgentChanged",
    "Announce",
    "CallChanged",
    "Command",
    "ConfirmCallback",
    "ConnectCall",
    "DialCustomer",
    "HangupChannel",
    "HoldCaller",
    "OfferCall",
    "RejectCall",
]


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring the agent's phone; its answer enters Stasis as ``agent_channel_id``."""

    call_id: str
    agent_id: str
    extension: str
    agent_channel_id: str
    caller_channel_id: str | None  # None for a callback: the caller is not on the line
    caller_number: str
    caller_name: str | None


@dataclass(frozen=True, slots=True)
class ConnectCall:
    """Bridge the caller with the agent who answered."""

    call_id: str
    caller_channel_id: str
    agent_channel_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class HangupChannel:
    channel_id: str
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class HoldCaller:
    """Put a caller who was talking to an agent back on hold in ``queue`` (a transfer): out of the call's
    bridge, into the queue's holding bridge, until the next agent answers."""

    call_id: str
    channel_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class RejectCall:
    """Tell the caller why the call cannot be taken (a prompt), then hang up."""

    call_id: str
    channel_id: str
    message: str


@dataclass(frozen=True, slots=True)
class ConfirmCallback:
    """Tell the caller they will be called back (a prompt), then hang up; the call keeps its place."""

    call_id: str
    channel_id: str
    message: str


@dataclass(frozen=True, slots=True)
class DialCustomer:
    """Call the customer back (their answer enters Stasis as ``customer_channel_id``); the agent waits."""

    call_id: str
    customer_channel_id: str
    number: str
    service_number: str
    agent_channel_id: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Play a waiting caller their position and estimated wait (``media`` are ARI media URIs)."""

    call_id: str
    channel_id: str
    media: tuple[str, ...]
    language: str


@dataclass(frozen=True, slots=True)
class AgentChanged:
    agent: Agent


@dataclass(frozen=True, slots=True)
class CallChanged:
    """A call's state moved; ``call.state`` is ``ENDED`` once it has its outcome."""

    call: Call


Command = (OfferCall | ConnectCall | HangupChannel | HoldCaller | RejectCall | ConfirmCallback | DialCustomer | Announce
           | AgentChanged | CallChanged)
