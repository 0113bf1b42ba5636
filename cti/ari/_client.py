"""Async REST client for the Asterisk 22 ARI, on aiohttp.

Parameter names follow the ARI 22 API docs (``GET /ari/api-docs/*.json`` on the server). Multi-valued
parameters (``media``, ``channel``, ``eventSource``) are sent comma-separated: Asterisk splits on commas
and a repeated query key would replace, not extend, the earlier value.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp
import yarl

from cti.ari._errors import AriConnectionError, AriError, AriNotLeading, AriProtocolError, http_error
from cti.ari._models import Bridge, Channel, Playback

__all__ = ["AriClient", "ParamValue", "normalize_base_url"]

ParamValue = str | int | bool | Sequence[str] | None


def normalize_base_url(base_url: str) -> str:
    """``http://host:8088``, ``http://host:8088/`` and ``http://host:8088/ari`` all mean the same server."""
    url = base_url.rstrip("/")
    if url.endswith("/ari"):
        url = url[: -len("/ari")]
    return url


def _seg(value: str) -> str:
    # Ids are caller-chosen and Local channel ids contain ';' -- quote everything so an id is one segment.
    return quote(value, safe="")


def _query(params: Mapping[str, ParamValue]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int):
            out[name] = str(value)
        else:
            out[name] = ",".join(value)
    return out


class AriClient:
    """One Asterisk, one Stasis application. ``start()``/``close()`` or ``async with``.

    ``may_act``, with standby controllers, says whether this controller leads now: asked before every request,
    so one that wakes from a pause longer than its lease sends Asterisk nothing (:class:`AriNotLeading`)."""

    def __init__(self, base_url: str, user: str, password: str, app: str, *, timeout: float = 10.0,
                 may_act: Callable[[], bool] | None = None) -> None:
        self.base_url = normalize_base_url(base_url)
        self._may_act = may_act
        self.app = app
        self._auth_header = aiohttp.encode_basic_auth(user, password)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def may_act(self) -> bool:
        """Whether this controller may ask Asterisk anything now (always, without standby controllers)."""
        return self._may_act is None or self._may_act()

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            # Asterisk closes idle HTTP sessions after 15 s (http.conf session_keep_alive), as aiohttp does by
            # default: a request racing the server's close fails with "Server disconnected". Letting go of
            # idle connections well before the server does removes the race.
            connector = aiohttp.TCPConnector(keepalive_timeout=5.0)
            self._session = aiohttp.ClientSession(headers={"Authorization": self._auth_header}, connector=connector)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> AriClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- REST core -----------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
    ) -> Any:
        """Call ``/ari{path}``; decoded JSON, or None for an empty body.

        ``path`` is sent as given (already percent-encoded); the typed helpers quote ids themselves.
        """
        body = await self._exchange(method, path, params=params, json=json)
        if not body.strip():
            return None
        try:
            return jsonlib.loads(body)
        except ValueError as exc:
            raise AriProtocolError(f"{method} {path}: response is not JSON") from exc

    async def _exchange(self, method: str, path: str, *, params: Mapping[str, ParamValue] | None = None,
                        json: Any = None) -> bytes:
        session = self._session
        if session is None or session.closed:
            raise AriError("AriClient is not started")
        if self._may_act is not None and not self._may_act():
            raise AriNotLeading(f"{method} {path}: not sent, this controller does not lead")
        url = yarl.URL(f"{self.base_url}/ari{path}", encoded=True)
        try:
            async with session.request(
                method, url, params=_query(params or {}), json=json, timeout=self._timeout
            ) as resp:
                body = await resp.read()
                status = resp.status
                reason = resp.reason or ""
        except TimeoutError as exc:
            raise AriConnectionError(f"{method} {path}: timed out") from exc
        except aiohttp.ClientError as exc:
            raise AriConnectionError(f"{method} {path}: {exc}") from exc
        if status >= 300:
            raise http_error(status, method, path, _error_message(body, reason))
        return body

    # -- recordings ----------------------------------------------------------------------------------

    async def record_bridge(self, bridge_id: str, name: str, *, format: str = "wav", beep: bool = False) -> None:
        """Start recording the bridge's mixed audio to the stored recording ``name`` (a LiveRecording)."""
        params: dict[str, ParamValue] = {"name": name, "format": format, "beep": beep, "ifExists": "fail",
                                         "maxDurationSeconds": 0, "maxSilenceSeconds": 0, "terminateOn": "none"}
        await self.request("POST", f"/bridges/{_seg(bridge_id)}/record", params=params)

    async def record_channel(self, channel_id: str, name: str, *, format: str = "wav", max_s: int = 0,
                             max_silence_s: int = 0, beep: bool = False, terminate_on: str = "none") -> None:
        """Record what the caller on ``channel_id`` says (not what they hear) to the stored recording ``name``;
        it ends at ``max_s`` seconds, after ``max_silence_s`` of silence, on the key ``terminate_on`` or with the
        channel, and Asterisk then sends RecordingFinished (RecordingFailed if it could not)."""
        params: dict[str, ParamValue] = {"name": name, "format": format, "beep": beep, "ifExists": "fail",
                                         "maxDurationSeconds": max_s, "maxSilenceSeconds": max_silence_s,
                                         "terminateOn": terminate_on}
        await self.request("POST", f"/channels/{_seg(channel_id)}/record", params=params)

    async def pause_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{_seg(name)}/pause")

    async def unpause_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/live/{_seg(name)}/pause")

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{_seg(name)}/stop")

    async def stored_recording_file(self, name: str) -> bytes:
        """The audio of a finished recording, as Asterisk stored it."""
        return await self._exchange("GET", f"/recordings/stored/{_seg(name)}/file")

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{_seg(name)}")

    # -- asterisk ------------------------------------------------------------------------------------

    async def asterisk_info(self) -> dict[str, Any]:
        return _as_dict(await self.request("GET", "/asterisk/info"), "asterisk info")

    # -- channels ------------------------------------------------------------------------------------

    async def set_global(self, name: str, value: str) -> None:
        """A global dialplan variable (kept until Asterisk restarts: set it again on every connect)."""
        await self.request("POST", "/asterisk/variable", params={"variable": name, "value": value})

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(item) for item in _as_list(await self.request("GET", "/channels"))]

    async def get_channel(self, channel_id: str) -> Channel:
        data = await self.request("GET", f"/channels/{_seg(channel_id)}")
        return Channel.from_json(_as_dict(data, "channel"))

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/ring")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}", params={"reason": reason})

    async def hangup_with_cause(self, channel_id: str, cause: int) -> None:
        """Hang up with a Q.850 cause of our choosing (``reason`` names only a dozen); chan_pjsip maps it to the
        final response's code and puts it in that response's ``Reason: Q.850;cause=N`` header."""
        await self.request("DELETE", f"/channels/{_seg(channel_id)}", params={"reason_code": cause})

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str = "s",
                                   priority: int = 1) -> None:
        """The channel leaves this app for the dialplan at ``context``/``extension``/``priority``."""
        params: dict[str, ParamValue] = {"context": context, "extension": extension, "priority": priority}
        await self.request("POST", f"/channels/{_seg(channel_id)}/continue", params=params)

    async def originate(
        self,
        endpoint: str,
        *,
        app_args: str,
        channel_id: str | None = None,
        caller_id: str | None = None,
        timeout: int = 30,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
        other_channel_id: str | None = None,
    ) -> Channel:
        """Dial ``endpoint``; once answered the channel enters this client's app with ``app_args``.

        ``timeout`` is ARI's ring timeout in seconds, not a client-side deadline.
        """
        params: dict[str, ParamValue] = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": app_args,
            "channelId": channel_id,
            "callerId": caller_id,
            "timeout": timeout,
            "originator": originator,
            "otherChannelId": other_channel_id,
        }
        body = {"variables": dict(variables)} if variables else None
        data = await self.request("POST", "/channels", params=params, json=body)
        return Channel.from_json(_as_dict(data, "channel"))

    async def snoop(
        self, channel_id: str, *, app_args: str, snoop_id: str, spy: str = "none", whisper: str = "none"
    ) -> Channel:
        """A channel that hears (``spy``) and/or speaks into (``whisper``) ``channel_id``: each is
        ``none``, ``in``, ``out`` or ``both``, seen from the snooped channel. It enters this app."""
        params: dict[str, ParamValue] = {"spy": spy, "whisper": whisper, "app": self.app, "appArgs": app_args,
                                         "snoopId": snoop_id}
        data = await self.request("POST", f"/channels/{_seg(channel_id)}/snoop", params=params)
        return Channel.from_json(_as_dict(data, "channel"))

    async def external_media(
        self, *, channel_id: str, external_host: str, audio_format: str = "slin16", data: str = ""
    ) -> Channel:
        """A channel that streams its audio as RTP to ``external_host`` (``ip:port``) and plays what
        comes back from there. Asterisk picks its own RTP port (in the channel's variables)."""
        params: dict[str, ParamValue] = {"app": self.app, "external_host": external_host, "format": audio_format,
                                         "channelId": channel_id, "data": data or None}
        result = await self.request("POST", "/channels/externalMedia", params=params)
        return Channel.from_json(_as_dict(result, "channel"))

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        """Silence the channel's audio: ``in`` (what it sends us), ``out`` (what it hears), or ``both``."""
        await self.request("POST", f"/channels/{_seg(channel_id)}/mute", params={"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}/mute", params={"direction": direction})

    async def send_dtmf(self, channel_id: str, dtmf: str, *, between_ms: int = 100, duration_ms: int = 100) -> None:
        """Send the tones ``dtmf`` (0-9, A-D, *, #) to the channel's far end, as its endpoint's DTMF mode says."""
        params: dict[str, ParamValue] = {"dtmf": dtmf, "between": between_ms, "duration": duration_ms}
        await self.request("POST", f"/channels/{_seg(channel_id)}/dtmf", params=params)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}/moh")

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        params: dict[str, ParamValue] = {"media": media, "playbackId": playback_id, "lang": lang}
        data = await self.request("POST", f"/channels/{_seg(channel_id)}/play", params=params)
        return Playback.from_json(_as_dict(data, "playback"))

    async def play_on_bridge(self, bridge_id: str, media: str | Sequence[str]) -> Playback:
        """Play to everyone in the bridge (an announcement both sides hear)."""
        data = await self.request("POST", f"/bridges/{_seg(bridge_id)}/play", params={"media": media})
        return Playback.from_json(_as_dict(data, "playback"))

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_seg(playback_id)}")

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        params: dict[str, ParamValue] = {"variable": name, "value": value}
        await self.request("POST", f"/channels/{_seg(channel_id)}/variable", params=params)

    async def get_variable(self, channel_id: str, name: str) -> str:
        """The variable's value; ``AriNotFound`` if it is not set."""
        data = await self.request("GET", f"/channels/{_seg(channel_id)}/variable", params={"variable": name})
        value = _as_dict(data, "variable").get("value")
        if not isinstance(value, str):
            raise AriProtocolError(f"variable {name!r}: 'value' is not a string")
        return value

    # -- bridges -------------------------------------------------------------------------------------

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(item) for item in _as_list(await self.request("GET", "/bridges"))]

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return Bridge.from_json(_as_dict(await self.request("GET", f"/bridges/{_seg(bridge_id)}"), "bridge"))

    async def create_bridge(
        self,
        bridge_type: str = "mixing",
        *,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> Bridge:
        """``bridge_type`` is ARI's comma list, e.g. ``"mixing"``, ``"holding"``, ``"mixing,dtmf_events"``.

        Asterisk does not subscribe the app to bridges made over REST: call ``subscribe("bridge:<id>")``
        to receive BridgeDestroyed for a bridge no Stasis channel is in.
        """
        params: dict[str, ParamValue] = {"type": bridge_type, "name": name}
        path = "/bridges" if bridge_id is None else f"/bridges/{_seg(bridge_id)}"
        return Bridge.from_json(_as_dict(await self.request("POST", path, params=params), "bridge"))

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_seg(bridge_id)}")

    async def add_channel(
        self, bridge_id: str, channel_id: str | Sequence[str], *, role: str | None = None
    ) -> None:
        params: dict[str, ParamValue] = {"channel": channel_id, "role": role}
        await self.request("POST", f"/bridges/{_seg(bridge_id)}/addChannel", params=params)

    async def remove_channel(self, bridge_id: str, channel_id: str | Sequence[str]) -> None:
        params: dict[str, ParamValue] = {"channel": channel_id}
        await self.request("POST", f"/bridges/{_seg(bridge_id)}/removeChannel", params=params)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/bridges/{_seg(bridge_id)}/moh", params={"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_seg(bridge_id)}/moh")

    # -- application subscriptions -------------------------------------------------------------------

    async def subscribe(self, event_source: str | Sequence[str]) -> None:
        """Subscribe the app to e.g. ``"bridge:<id>"``, ``"channel:<id>"``, ``"endpoint:PJSIP/7001"``."""
        params: dict[str, ParamValue] = {"eventSource": event_source}
        await self.request("POST", f"/applications/{_seg(self.app)}/subscription", params=params)

    async def unsubscribe(self, event_source: str | Sequence[str]) -> None:
        params: dict[str, ParamValue] = {"eventSource": event_source}
        await self.request("DELETE", f"/applications/{_seg(self.app)}/subscription", params=params)

    async def allow_events(self, types: Sequence[str]) -> None:
        """Have Asterisk send the app only events of these ``types`` (its event filter, kept with the app).
        An empty list would allow every type (ARI's rule), so it is refused here."""
        if not types:
            raise ValueError("an empty event filter would allow every event")
        await self.request("PUT", f"/applications/{_seg(self.app)}/eventFilter",
                           json={"allowed": [{"type": name} for name in types], "disallowed": []})

    async def application(self) -> dict[str, Any]:
        """The app as Asterisk sees it: its subscriptions and event filter (``events_allowed``)."""
        return _as_dict(await self.request("GET", f"/applications/{_seg(self.app)}"), "application")


def _error_message(body: bytes, reason: str) -> str:
    # Asterisk answers {"message": ...} for most errors but {"error": ...} for some (e.g. originate's
    # "Allocation failed"); anything else (a proxy's HTML page) is reduced to the HTTP reason.
    try:
        data = jsonlib.loads(body)
    except ValueError:
        return reason
    if isinstance(data, Mapping):
        for name in ("message", "error"):
            if isinstance(data.get(name), str):
                return str(data[name])
    return reason


def _as_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise AriProtocolError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _as_list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise AriProtocolError(f"expected a JSON list, got {type(data).__name__}")
    return data
