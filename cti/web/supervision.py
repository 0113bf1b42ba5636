"""Supervisor actions on live calls (listen, whisper, barge) and users' supervision scope."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.controller.monitor import Monitor, MonitorError, MonitorMode
from cti.persistence import UserRepository
from cti.web.auth import require_role
from cti.web.bodies import read_json
from cti.web.keys import CONTROLLER, DATABASE
from cti.web.openapi import operation, path_param
from cti.web.scope import require_queue

__all__ = ["MonitorStart", "ScopeChange", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MonitorStart(_Body):
    mode: Literal["listen", "whisper", "barge"]
    extension: str = Field(pattern=r"^[0-9]{2,16}$", description="the supervisor's own phone (PJSIP endpoint)")


class ScopeChange(_Body):
    queues: list[str] = Field(default_factory=list, max_length=200)
    teams: list[str] = Field(default_factory=list, max_length=200)


schemas: tuple[type[BaseModel], ...] = (MonitorStart, ScopeChange)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/calls/{call_id}/monitor": {"post": operation(
        "Listen to, whisper to (only the agent hears) or barge into a connected call from the supervisor's "
        "phone, which is rung first", roles="supervisor (own queues), admin", body="MonitorStart", ok=201,
        params=[path_param("call_id")], errors=(404, 409))},
    "/api/monitors/{monitor_id}": {"delete": operation(
        "Stop a monitor (hangs up the supervisor's leg)", roles="supervisor, admin",
        params=[path_param("monitor_id")], errors=(404,))},
    "/api/users/{name}/scope": {"put": operation(
        "Set the queues and teams a supervisor sees; an empty body object with no lists means none",
        roles="admin", body="ScopeChange", params=[path_param("name")], errors=(404,))},
}


def monitor_view(monitor: Monitor) -> dict[str, Any]:
    return {"monitor_id": monitor.monitor_id, "call_id": monitor.call_id, "mode": monitor.mode.value,
            "extension": monitor.extension, "supervisor": monitor.supervisor, "answered": monitor.answered}




@routes.post("/api/calls/{call_id}/monitor")
async def start_monitor(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    body = MonitorStart.model_validate(await read_json(request))
    controller = request.app[CONTROLLER]
    call = controller.core.call(request.match_info["call_id"])
    require_queue(user, call.queue)
    try:
        monitor = await controller.monitor(call.call_id, MonitorMode(body.mode), body.extension, user.name)
    except MonitorError as exc:
        raise web.HTTPConflict(reason=str(exc)) from exc
    return web.json_response(monitor_view(monitor), status=201)


@routes.delete("/api/monitors/{monitor_id}")
async def stop_monitor(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    monitor_id = request.match_info["monitor_id"]
    if not await request.app[CONTROLLER].monitors.stop(monitor_id):
        raise web.HTTPNotFound(reason=f"no monitor {monitor_id!r}")
    return web.json_response({"stopped": monitor_id})


@routes.put("/api/users/{name}/scope")
async def set_scope(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = ScopeChange.model_validate(await read_json(request))
    users = UserRepository(request.app[DATABASE])
    name = request.match_info["name"]
    if name not in {u.name for u in await users.list_users()}:
        raise web.HTTPNotFound(reason=f"no user {name!r}")
    user = await users.set_user_scope(name, body.model_dump())
    return web.json_response({"name": user.name, "scope": user.scope})
