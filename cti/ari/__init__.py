"""Thin typed asyncio client for the Asterisk 22 REST Interface: REST calls, typed events, ordered dispatch.

``AriClient`` makes REST calls; ``EventStream`` keeps the events websocket connected and hands each
event to an ``OrderedDispatcher`` lane so that events about one channel are handled in order.
"""

from cti.ari._client import AriClient
from cti.ari._dispatch import OrderedDispatcher
from cti.ari._errors import (
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriError,
    AriHTTPError,
    AriNotFound,
    AriNotLeading,
    AriProtocolError,
    AriUnprocessable,
)
from cti.ari._events import (
    BridgeDestroyed,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    Dial,
    Event,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    parse_event,
)
from cti.ari._events_stream import EventHandler, EventStream
from cti.ari._models import Bridge, Channel, LiveRecording, Playback

__all__ = [
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriHTTPError",
    "AriNotFound",
    "AriNotLeading",
    "AriProtocolError",
    "AriUnprocessable",
    "Bridge",
    "BridgeDestroyed",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "Dial",
    "Event",
    "EventHandler",
    "EventStream",
    "LiveRecording",
    "OrderedDispatcher",
    "Playback",
    "PlaybackFinished",
    "PlaybackStarted",
    "RecordingFailed",
    "RecordingFinished",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_event",
]
