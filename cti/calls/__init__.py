"""The call lifecycle: the pure core (:class:`CallCenter`) and what it asks adapters to do."""

from cti.calls.center import CallCenter
from cti.calls.commands import (
    AgentChanged,
    Announce,
    CallChanged,
    Command,
    ConnectCall,
    HangupChannel,
    OfferCall,
    RejectCall,
)
from cti.calls.errors import CallCenterError, ExtensionInUse, InvalidTransition, UnknownAgent, UnknownCall
from cti.calls.model import Call, CallState, EndReason, Outcome

__all__ = [
    "AgentChanged",
    "Announce",
    "Call",
    "CallCenter",
    "CallCenterError",
    "CallChanged",
    "CallState",
    "Command",
    "ConnectCall",
    "EndReason",
    "ExtensionInUse",
    "HangupChannel",
    "InvalidTransition",
    "OfferCall",
    "Outcome",
    "RejectCall",
    "UnknownAgent",
    "UnknownCall",
]
