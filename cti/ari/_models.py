"""Immutable views of the ARI resources cti uses, parsed from Asterisk's JSON.

Only the fields cti reads are kept; the rest of the JSON stays reachable through the event's ``raw``.
Fields that ARI omits (it does, e.g. for channels that never ran dialplan) default to empty strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cti.ari._parse import as_mapping, opt_int, opt_mapping, opt_str, req_str, str_tuple

__all__ = ["Bridge", "Channel", "LiveRecording", "Playback"]


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str = ""
    state: str = ""
    caller_number: str = ""
    caller_name: str = ""
    connected_number: str = ""
    connected_name: str = ""
    dialplan_context: str = ""
    dialplan_exten: str = ""
    dialplan_app: str = ""
    """The application the channel is in (``Stasis`` while in an ARI app), with its arguments below."""
    dialplan_app_data: str = ""
    creationtime: str = ""
    language: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        what = "Channel"
        data = as_mapping(data, what)
        caller = opt_mapping(data, "caller", what)
        connected = opt_mapping(data, "connected", what)
        dialplan = opt_mapping(data, "dialplan", what)
        return cls(
            id=req_str(data, "id", what),
            name=opt_str(data, "name", what),
            state=opt_str(data, "state", what),
            caller_number=opt_str(caller, "number", "Channel.caller"),
            caller_name=opt_str(caller, "name", "Channel.caller"),
            connected_number=opt_str(connected, "number", "Channel.connected"),
            connected_name=opt_str(connected, "name", "Channel.connected"),
            dialplan_context=opt_str(dialplan, "context", "Channel.dialplan"),
            dialplan_exten=opt_str(dialplan, "exten", "Channel.dialplan"),
            dialplan_app=opt_str(dialplan, "app_name", "Channel.dialplan"),
            dialplan_app_data=opt_str(dialplan, "app_data", "Channel.dialplan"),
            creationtime=opt_str(data, "creationtime", what),
            language=opt_str(data, "language", what),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    id: str
    bridge_type: str = ""
    technology: str = ""
    bridge_class: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bridge:
        what = "Bridge"
        data = as_mapping(data, what)
        return cls(
            id=req_str(data, "id", what),
            bridge_type=opt_str(data, "bridge_type", what),
            technology=opt_str(data, "technology", what),
            bridge_class=opt_str(data, "bridge_class", what),
            name=opt_str(data, "name", what),
            channels=str_tuple(data, "channels", what),
        )


@dataclass(frozen=True, slots=True)
class Playback:
    id: str
    media_uri: str = ""
    state: str = ""
    target_uri: str = ""

    @property
    def target_id(self) -> str | None:
        """The channel or bridge id from ``target_uri`` (``channel:<id>`` / ``bridge:<id>``)."""
        return _target_id(self.target_uri)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Playback:
        what = "Playback"
        data = as_mapping(data, what)
        return cls(
            id=req_str(data, "id", what),
            media_uri=opt_str(data, "media_uri", what),
            state=opt_str(data, "state", what),
            target_uri=opt_str(data, "target_uri", what),
        )


@dataclass(frozen=True, slots=True)
class LiveRecording:
    """A recording Asterisk makes (of a channel or a bridge). The durations are whole seconds; Asterisk gives
    ``talking_duration`` only for a recording started with ``maxSilenceSeconds``, and omits it before it ends."""

    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int = 0
    talking_duration: int = 0
    cause: str = ""

    @property
    def target_id(self) -> str | None:
        """The channel or bridge id from ``target_uri`` (``channel:<id>`` / ``bridge:<id>``)."""
        return _target_id(self.target_uri)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveRecording:
        what = "LiveRecording"
        data = as_mapping(data, what)
        return cls(
            name=req_str(data, "name", what),
            format=opt_str(data, "format", what),
            state=opt_str(data, "state", what),
            target_uri=opt_str(data, "target_uri", what),
            duration=opt_int(data, "duration", what) or 0,
            talking_duration=opt_int(data, "talking_duration", what) or 0,
            cause=opt_str(data, "cause", what),
        )


def _target_id(uri: str) -> str | None:
    _kind, sep, ident = uri.partition(":")
    return ident if sep and ident else None
