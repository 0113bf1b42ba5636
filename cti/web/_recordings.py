"""Calls' recordings over HTTP: the agent's start, pause, resume and stop of their call's recording, a call's
recordings listed, the agent's own recently recorded calls, and one played or downloaded (with ranges, for an
audio player), every play audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from cti.acd import RecordingAction
from cti.records import InteractionRecord, RecordingRecord
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_json
from cti.web._keys import RECORDINGS
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import IntParam

__all__ = ["RecordingControl", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()

_CONTENT_TYPES = {"wav": "audio/wav", "gsm": "audio/x-gsm"}


class RecordingControl(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: RecordingAction


schemas: tuple[type[BaseModel], ...] = (RecordingControl,)
_CALL = [path_param("call_id", maxLength=64)]
_LIMIT = IntParam("limit", 1, 50, "the newest this many recorded calls (default 10)")
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/calls/{call_id}/recording": {
        "get": operation(
            "The call's recording: the queue's policy for it (always, never, on_demand) and whether it is off, "
            "recording or paused", roles="the call's agent; supervisor (own scope) and admin",
            params=_CALL, errors=(404,)),
        "post": operation(
            "Start, pause, resume or stop the call's recording (the mixed audio of both sides). 409 where the "
            "policy refuses (never: no recording; always: pause and resume, not stop) or the recording is not in "
            "the state the action needs, or the call is not connected",
            roles="the call's agent; supervisor (own scope) and admin on the agent's behalf",
            body="RecordingControl", params=_CALL, errors=(404, 409, 503))},
    "/api/interactions/{call_id}/recordings": {"get": operation(
        "The recordings of a call: when, how long, the pauses (seconds after the start: their audio is not in "
        "the file), format, size and SHA-256",
        roles="agent (own calls), supervisor (own scope), admin", params=_CALL, errors=(404,))},
    "/api/me/recordings": {"get": operation(
        "The calling agent's own recently recorded calls, newest first: each call (when, queue, caller, outcome, "
        "disposition) with the recordings made while that agent was on it; audited as a list of interactions",
        roles="agent (own calls only)", params=[_LIMIT.spec()], errors=(400,))},
    "/api/recordings/{recording_id}": {"get": operation(
        "The recording's audio (audio/wav or audio/x-gsm), with byte ranges for a player; audited as a play, "
        "or as a download with download=1 (sent as an attachment). A user's requests for one recording within "
        "10 minutes of an audited one are that play's ranges, not audited again",
        roles="agent (own calls), supervisor (own scope), admin",
        params=[path_param("recording_id", pattern=r"^[0-9a-f]{32}$"), query_param("download", enum=["0", "1"])],
        errors=(404,))},
}


def recording_view(record: RecordingRecord) -> dict[str, Any]:
    return {"recording_id": record.recording_id, "call_id": record.call_id, "agent_id": record.agent_id,
            "kind": record.kind, "format": record.format, "started_at": record.started_at.isoformat(),
            "ended_at": record.ended_at.isoformat(), "seconds": round(record.seconds, 3),
            "paused": [list(p) for p in record.paused], "size": record.size, "sha256": record.sha256,
            "url": f"/api/recordings/{record.recording_id}"}


_CALL_FIELDS = ("call_id", "queue", "caller_number", "caller_name", "customer_id", "arrived_at", "answered_at",
                "ended_at", "talk_seconds", "outcome", "disposition")


def recorded_call_view(interaction: InteractionRecord, recordings: list[RecordingRecord]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name in _CALL_FIELDS:
        value = getattr(interaction, name)
        view[name] = value.isoformat() if isinstance(value, datetime) else value
    view["recordings"] = [recording_view(r) for r in recordings]
    return view


@routes.get("/api/calls/{call_id}/recording")
async def recording_state(request: web.Request) -> web.Response:
    state = request.app[RECORDINGS].state(principal(request), request.match_info["call_id"])
    return web.json_response(state.as_json())


@routes.post("/api/calls/{call_id}/recording")
async def control_recording(request: web.Request) -> web.Response:
    user = principal(request)
    recording = request.app[RECORDINGS]
    call_id = request.match_info["call_id"]
    recording.state(user, call_id)  # unknown or someone else's -> 404 before the body is read
    body = RecordingControl.model_validate(await read_json(request))
    return web.json_response((await recording.act(user, call_id, body.action)).as_json())


@routes.get("/api/interactions/{call_id}/recordings")
async def call_recordings(request: web.Request) -> web.Response:
    records = await request.app[RECORDINGS].of_call(principal(request), request.match_info["call_id"])
    return web.json_response({"recordings": [recording_view(r) for r in records]})


@routes.get("/api/me/recordings")
async def my_recordings(request: web.Request) -> web.Response:
    user = require_role(request, "agent")
    calls = await request.app[RECORDINGS].mine(user, limit=_LIMIT.read(request, 10), source=source_of(request))
    return web.json_response({"calls": [recorded_call_view(i, r) for i, r in calls]})


@routes.get("/api/recordings/{recording_id}")
async def play_recording(request: web.Request) -> web.StreamResponse:
    user = principal(request)
    download = request.query.get("download") == "1"
    record, path = await request.app[RECORDINGS].open(user, request.match_info["recording_id"],
                                                      source=source_of(request), download=download)
    headers = {"Content-Type": _CONTENT_TYPES.get(record.format, "application/octet-stream"),
               "Cache-Control": "no-store"}
    if download:
        name = f"{record.call_id}-{record.recording_id}.{record.format}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return web.FileResponse(path, headers=headers)
