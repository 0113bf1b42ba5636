"""Supervisor actions on live calls: listen, whisper (only the agent hears) and barge, from their own phone."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.services import MonitorInfo
from cti.web._auth import require_role
from cti.web._bodies import read_json
from cti.web._keys import POLICY, SUPERVISION
from cti.web._openapi import operation, path_param

__all__ = ["MonitorStart", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")


class MonitorStart(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mode: Literal["listen", "whisper", "barge"]
    extension: str = Field(pattern=r"^[0-9]{2,16}$", description="the supervisor's own phone (PJSIP endpoint)")


schemas: tuple[type[BaseModel], ...] = (MonitorStart,)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/calls/{call_id}/monitor": {"post": operation(
        "Listen to, whisper to (only the agent hears) or barge into a connected call from the supervisor's "
        "phone, which is rung first", roles="supervisor (own scope), admin", body="MonitorStart", ok=201,
        params=[path_param("call_id", maxLength=64)], errors=(404, 409))},
    "/api/monitors": {"get": operation(
        "The active monitors: one's own (an admin: everyone's); a monitor ends with its call",
        roles="supervisor (own), admin")},
    "/api/monitors/{monitor_id}": {"delete": operation(
        "Stop a monitor (hangs up the supervisor's leg)", roles="the supervisor who started it, admin",
        params=[path_param("monitor_id", maxLength=80)], errors=(404,))},
}


def monitor_view(monitor: MonitorInfo) -> dict[str, Any]:
    return {"monitor_id": monitor.monitor_id, "call_id": monitor.call_id, "mode": str(monitor.mode),
            "extension": monitor.extension, "supervisor": monitor.supervisor, "answered": monitor.answered}


@routes.post("/api/calls/{call_id}/monitor")
async def start_monitor(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    request.app[POLICY].call(user, request.match_info["call_id"])  # unknown or out of scope -> 404, body unread
    body = MonitorStart.model_validate(await read_json(request))
    monitor = await request.app[SUPERVISION].start_monitor(user, request.match_info["call_id"], body.mode,
                                                           body.extension)
    return web.json_response(monitor_view(monitor), status=201)


@routes.get("/api/monitors")
async def list_monitors(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    return web.json_response({"monitors": [monitor_view(m) for m in request.app[SUPERVISION].monitors(user)]})


@routes.delete("/api/monitors/{monitor_id}")
async def stop_monitor(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    monitor_id = request.match_info["monitor_id"]
    await request.app[SUPERVISION].stop_monitor(user, monitor_id)
    return web.json_response({"stopped": monitor_id})
