"""Typed ARI events and ``parse_event``.

Every event has a ``key``: the id of the lane it is dispatched in. Events about one channel must be handled
in the order Asterisk sent them (a StasisEnd overtaking its StasisStart corrupts call state), while events
about different channels may be handled concurrently. Playback events are keyed by the bare id of their
target (``channel:<id>`` -> ``<id>``) so a PlaybackFinished stays ordered with its channel's StasisEnd.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cti.ari._errors import AriProtocolError
from cti.ari._models import Bridge, Channel, LiveRecording, Playback
from cti.ari._parse import as_mapping, opt_bool, opt_int, opt_str, req_str, str_tuple

__all__ = [
    "BridgeDestroyed",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "Dial",
    "Event",
    "PlaybackFinished",
    "PlaybackStarted",
    "RecordingFailed",
    "RecordingFinished",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_event",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    type: str
    application: str
    timestamp: str
    # The frame as received, for fields we do not model; kept out of eq/repr because it is large.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> str | None:
        return None

    @property
    def at(self) -> datetime | None:
        """When it happened in Asterisk (its ``timestamp``, ``2026-12-07T10:00:01.250+0700``), which may be well
        before we handle it (a busy or resyncing controller); None when Asterisk gave no time with its zone."""
        try:
            at = datetime.fromisoformat(self.timestamp)
        except ValueError:
            return None
        return at if at.tzinfo is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ChannelEvent(Event):
    channel: Channel

    @property
    def key(self) -> str | None:
        return self.channel.id


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(_ChannelEvent):
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(_ChannelEvent):
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(_ChannelEvent):
    cause: int | None = None
    soft: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(_ChannelEvent):
    digit: str = ""
    duration_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEnteredBridge(_ChannelEvent):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelLeftBridge(_ChannelEvent):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeDestroyed(Event):
    bridge: Bridge

    @property
    def key(self) -> str | None:
        return self.bridge.id


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlaybackEvent(Event):
    playback: Playback

    @property
    def key(self) -> str | None:
        return self.playback.target_id


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class _RecordingEvent(Event):
    recording: LiveRecording

    @property
    def key(self) -> str | None:
        return self.recording.target_id


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(Event):
    peer: Channel
    caller: Channel | None = None
    dialstatus: str = ""

    @property
    def key(self) -> str | None:
        return self.peer.id


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """Any event type cti does not model (ChannelVarset, ChannelDialplan, ...); still ordered by its key."""

    @property
    def key(self) -> str | None:
        return _raw_key(self.raw)


def _raw_key(raw: Mapping[str, Any]) -> str | None:
    # Same precedence as the typed events, read leniently: an unknown event must never fail on its key.
    for name in ("channel", "peer", "bridge"):
        obj = raw.get(name)
        if isinstance(obj, Mapping) and isinstance(obj.get("id"), str) and obj["id"]:
            return str(obj["id"])
    playback = raw.get("playback")
    if isinstance(playback, Mapping) and isinstance(playback.get("target_uri"), str):
        return Playback(id="?", target_uri=playback["target_uri"]).target_id
    return None


def _channel(data: Mapping[str, Any], name: str) -> Channel:
    if data.get(name) is None:
        raise AriProtocolError(f"{data.get('type')}: missing {name!r}")
    return Channel.from_json(as_mapping(data[name], name))


def _opt_channel(data: Mapping[str, Any], name: str) -> Channel | None:
    return None if data.get(name) is None else _channel(data, name)


def _bridge(data: Mapping[str, Any]) -> Bridge:
    if data.get("bridge") is None:
        raise AriProtocolError(f"{data.get('type')}: missing 'bridge'")
    return Bridge.from_json(as_mapping(data["bridge"], "bridge"))


def _playback(data: Mapping[str, Any]) -> Playback:
    if data.get("playback") is None:
        raise AriProtocolError(f"{data.get('type')}: missing 'playback'")
    return Playback.from_json(as_mapping(data["playback"], "playback"))


def _int(data: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = opt_int(data, name, str(data.get("type")))
    return default if value is None else value


def _stasis_start(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": _channel(d, "channel"),
        "args": str_tuple(d, "args", "StasisStart"),
        "replace_channel": _opt_channel(d, "replace_channel"),
    }


def _channel_only(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"channel": _channel(d, "channel")}


def _channel_destroyed(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": _channel(d, "channel"),
        "cause": _int(d, "cause"),
        "cause_txt": opt_str(d, "cause_txt", "ChannelDestroyed"),
    }


def _hangup_request(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": _channel(d, "channel"),
        "cause": opt_int(d, "cause", "ChannelHangupRequest"),
        "soft": opt_bool(d, "soft", "ChannelHangupRequest"),
    }


def _dtmf(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": _channel(d, "channel"),
        "digit": req_str(d, "digit", "ChannelDtmfReceived"),
        "duration_ms": _int(d, "duration_ms"),
    }


def _bridge_and_channel(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"bridge": _bridge(d), "channel": _channel(d, "channel")}


def _bridge_only(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"bridge": _bridge(d)}


def _playback_only(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"playback": _playback(d)}


def _recording_only(d: Mapping[str, Any]) -> dict[str, Any]:
    if d.get("recording") is None:
        raise AriProtocolError(f"{d.get('type')}: missing 'recording'")
    return {"recording": LiveRecording.from_json(as_mapping(d["recording"], "recording"))}


def _dial(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "peer": _channel(d, "peer"),
        "caller": _opt_channel(d, "caller"),
        "dialstatus": opt_str(d, "dialstatus", "Dial"),
    }


_PARSERS: dict[str, tuple[type[Event], Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "StasisStart": (StasisStart, _stasis_start),
    "StasisEnd": (StasisEnd, _channel_only),
    "ChannelDestroyed": (ChannelDestroyed, _channel_destroyed),
    "ChannelHangupRequest": (ChannelHangupRequest, _hangup_request),
    "ChannelStateChange": (ChannelStateChange, _channel_only),
    "ChannelDtmfReceived": (ChannelDtmfReceived, _dtmf),
    "ChannelEnteredBridge": (ChannelEnteredBridge, _bridge_and_channel),
    "ChannelLeftBridge": (ChannelLeftBridge, _bridge_and_channel),
    "BridgeDestroyed": (BridgeDestroyed, _bridge_only),
    "PlaybackStarted": (PlaybackStarted, _playback_only),
    "PlaybackFinished": (PlaybackFinished, _playback_only),
    "RecordingFinished": (RecordingFinished, _recording_only),
    "RecordingFailed": (RecordingFailed, _recording_only),
    "Dial": (Dial, _dial),
}


def parse_event(data: Mapping[str, Any]) -> Event:
    """Build the typed event for one decoded websocket frame; ``AriProtocolError`` if it is malformed."""
    data = as_mapping(data, "event")
    event_type = req_str(data, "type", "event")
    common: dict[str, Any] = {
        "type": event_type,
        "application": opt_str(data, "application", event_type),
        "timestamp": opt_str(data, "timestamp", event_type),
        "raw": data,
    }
    entry = _PARSERS.get(event_type)
    if entry is None:
        return UnknownEvent(**common)
    cls, fields = entry
    return cls(**common, **fields(data))
