"""Calls' recordings over HTTP: the agent's start, pause, resume and stop of their call's recording, a call's
recordings listed, and one played or downloaded (with ranges, for an audio player), every play audited.

The audio is fetched with the session cookie or the ``Authorization`` header, like the rest of the API, never
with a token in the URL: an ``<audio src>`` on a page of cti carries the cookie."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from cti.acd import RecordingAction
from cti.records import RecordingRecord
from cti.web._audit import source_of
from cti.web._auth import principal
from cti.web._bodies import read_json
from cti.web._keys import RECORDINGS
from cti.web._openapi import operation, path_param, query_param

__all__ = ["RecordingControl", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()

_CONTENT_TYPES = {"wav": "audio/wav", "gsm": "audio/x-gsm"}


class RecordingControl(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: RecordingAction


schemas: tuple[type[BaseModel], ...] = (RecordingControl,)
_CALL = [path_param("call_id", maxLength=64)]
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
            "format": record.format, "started_at": record.started_at.isoformat(),
            "ended_at": record.ended_at.isoformat(), "seconds": round(record.seconds, 3),
            "paused": [list(p) for p in record.paused], "size": record.size, "sha256": record.sha256,
            "url": f"/api/recordings/{record.recording_id}"}


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
