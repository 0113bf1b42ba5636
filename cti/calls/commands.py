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
    "ConnectCall",
    "HangupChannel",
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
    caller_channel_id: str
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
class RejectCall:
    """Tell the caller why the call cannot be taken (a prompt), then hang up."""

    call_id: str
    channel_id: str
    message: str


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


Command = OfferCall | ConnectCall | HangupChannel | RejectCall | Announce | AgentChanged | CallChanged
