"""The call lifecycle: the pure core (:class:`CallCenter`) and what it asks adapters to do."""

from cti.calls.center import CallCenter
from cti.calls.commands import (
    AgentChanged,
    Announce,
    CallChanged,
    Command,
    ConfirmCallback,
    ConnectCall,
    DialCustomer,
    HangupChannel,
    HoldCaller,
    OfferCall,
    RejectCall,
)
from cti.calls.errors import (
    CallCenterError,
    ExtensionInUse,
    InvalidTransition,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
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
    "ConfirmCallback",
    "ConnectCall",
    "DialCustomer",
    "EndReason",
    "ExtensionInUse",
    "HangupChannel",
    "HoldCaller",
    "InvalidTransition",
    "OfferCall",
    "Outcome",
    "RejectCall",
    "UnknownAgent",
    "UnknownCall",
    "UnknownQueue",
]
