"""What the distributor asks the adapters to do, and the changes it tells everyone of. Plain data.

*Actions* (offer, connect, hang up, hold, reject, confirm or refuse a callback, dial the customer, announce) are
carried out by the adapter of the item's channel; *changes* (:class:`AgentChanged`, :class:`WorkChanged`) keep the
live store, the database, the desktops and the dashboards true. The order of a list of commands is the order
the core made its decisions in.
"""

from __future__ import annotations

from dataclasses import dataclass

from cti.acd._agents import Agent
from cti.acd._work import Channel, WorkItem
from cti.types import AgentId, CallId, ChannelId

__all__ = [
    "Action",
    "AgentChanged",
    "Announce",
    "Change",
    "Command",
    "ConfirmCallback",
    "Connect",
    "DialCustomer",
    "DialExternal",
    "HandOff",
    "Hangup",
    "Hold",
    "HoldCall",
    "JoinCall",
    "MuteAgent",
    "Offer",
    "Preview",
    "RefuseCallback",
    "Reject",
    "ResumeCall",
    "SendDtmf",
    "WorkChanged",
]


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer the item to the agent (ring their phone); their answer comes back as ``agent_channel_id``."""

    call_id: CallId
    agent_id: AgentId
    extension: str | None  # the phone to ring (voice); None on channels that reach the desktop
    agent_channel_id: ChannelId
    caller_channel_id: ChannelId | None  # None for a callback: the caller is not on the line
    caller_number: str
    caller_name: str | None
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class Preview:
    """Show an outbound call to its agent's desktop before anything is dialed (a scheduled callback): the agent
    dials it (then an :class:`Offer` rings their phone) or skips it."""

    call_id: CallId
    agent_id: AgentId
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class Connect:
    """Join the customer with the agent who answered (a bridge, on voice): the call's ``connection``-th."""

    call_id: CallId
    caller_channel_id: ChannelId
    agent_channel_id: ChannelId
    queue: str
    channel: Channel = Channel.VOICE
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Hangup:
    """End one leg (the customer's or an agent's)."""

    channel_id: ChannelId
    call_id: CallId | None = None
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class Hold:
    """Put a customer who was talking to an agent back on hold in ``queue`` (a transfer): out of the call's
    bridge, into the queue's holding bridge, until the next agent answers. ``connection`` is the one that
    ends (its bridge goes)."""

    call_id: CallId
    channel_id: ChannelId
    queue: str
    channel: Channel = Channel.VOICE
    connection: int = 1


@dataclass(frozen=True, slots=True)
class HoldCall:
    """The agent puts their caller on hold: the caller leaves the call's bridge for music on hold; the agent's
    leg stays in the call's bridge, alone."""

    call_id: CallId
    channel_id: ChannelId
    queue: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class ResumeCall:
    """The caller on hold comes back into the call's bridge with the agent."""

    call_id: CallId
    channel_id: ChannelId
    agent_channel_id: ChannelId
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class MuteAgent:
    """Stop (``muted``) or let again the agent's voice reach the caller; the agent still hears them."""

    call_id: CallId
    agent_channel_id: ChannelId
    muted: bool
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class SendDtmf:
    """Send tones to the far end of a leg of the call (the caller's, or during a consult the consulted party's),
    e.g. to work a partner's IVR."""

    call_id: CallId
    channel_id: ChannelId
    digits: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class Reject:
    """Tell the customer why the item cannot be taken (a prompt), then end it."""

    call_id: CallId
    channel_id: ChannelId
    message: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class ConfirmCallback:
    """Tell the caller they will be called back (a prompt), then hang up; the call keeps its place."""

    call_id: CallId
    channel_id: ChannelId
    message: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class RefuseCallback:
    """Tell the caller they cannot be called back (a prompt); they keep waiting on the line.

    ``reason`` is a :class:`~cti.acd.CallbackRefusal` value: the number is not one cti may call, or it (or
    everyone) had the callbacks the limits allow."""

    call_id: CallId
    channel_id: ChannelId
    message: str
    reason: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class DialCustomer:
    """Call the customer back (their answer enters Stasis as ``customer_channel_id``); the agent waits."""

    call_id: CallId
    customer_channel_id: ChannelId
    number: str
    service_number: str
    agent_channel_id: ChannelId
    channel: Channel = Channel.VOICE
    outbound: bool = False
    """An agent's call out (click-to-dial, a scheduled callback), not a caller's keep-my-place callback."""


@dataclass(frozen=True, slots=True)
class DialExternal:
    """Call an external number the agent consults (through the PSTN gateway, as a callback is dialled); its
    answer enters Stasis as ``channel_id``, a leg of the call."""

    call_id: CallId
    channel_id: ChannelId
    number: str
    service_number: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class JoinCall:
    """The consulted party answered: their leg joins the call's bridge (with the agent; the caller holds)."""

    call_id: CallId
    channel_id: ChannelId
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class HandOff:
    """cti lets go of a call its agent handed to an external party: the caller and that party stay in the
    call's bridge (its ``connection``-th) until either hangs up, then the other leg and the bridge go."""

    call_id: CallId
    caller_channel_id: ChannelId
    party_channel_id: ChannelId
    channel: Channel = Channel.VOICE
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Announce:
    """Play a waiting caller their position and estimated wait (``media`` are ARI media URIs)."""

    call_id: CallId
    channel_id: ChannelId
    media: tuple[str, ...]
    language: str
    channel: Channel = Channel.VOICE


@dataclass(frozen=True, slots=True)
class AgentChanged:
    agent: Agent


@dataclass(frozen=True, slots=True)
class WorkChanged:
    """An item's state moved; ``item.state`` is ``ENDED`` once it has its outcome."""

    item: WorkItem


Action = (Offer | Preview | Connect | Hangup | Hold | Reject | ConfirmCallback | RefuseCallback | DialCustomer
          | Announce | HoldCall | ResumeCall | MuteAgent | SendDtmf | DialExternal | JoinCall | HandOff)
"""Carried out by the adapter of the item's channel (``action.channel``)."""
Change = AgentChanged | WorkChanged
"""Told to everyone who keeps a picture of the contact center."""
Command = Action | Change
