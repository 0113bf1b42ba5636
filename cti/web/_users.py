"""API users and their tokens: create them (the token is shown once), list them, set a supervisor's scope; rotate,
disable, enable and delete them; websocket tickets.

Whatever stops a token from working here also closes its holder's open websockets at once (see
:meth:`cti.web._sessions.Sessions.revoke`).
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.records import UserRecord
from cti.web._auth import principal, require_role, web_session
from cti.web._bodies import read_json, read_object
from cti.web._keys import ACCOUNTS, SESSIONS
from cti.web._openapi import operation, path_param
from cti.web._views import ID_PATTERN, user_view

__all__ = ["ScopeChange", "UserCreate", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserCreate(_Body):
    name: str = Field(pattern=ID_PATTERN)
    role: Literal["agent", "supervisor", "admin"]
    agent_id: str | None = Field(default=None, pattern=ID_PATTERN)


class ScopeChange(_Body):
    queues: list[str] = Field(default_factory=list, max_length=200)
    teams: list[str] = Field(default_factory=list, max_length=200)


schemas: tuple[type[BaseModel], ...] = (UserCreate, ScopeChange)
_NAME = [path_param("name", pattern=ID_PATTERN)]
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/users": {
        "get": operation("List users, each with a supervisor's scope (null: everything)", roles="admin"),
        "post": operation("Create a user; returns its token once, with when it expires", roles="admin",
                          body="UserCreate", ok=201, errors=(404, 409)),
    },
    "/api/users/{name}": {"delete": operation(
        "Delete a user: their token stops working and their open websockets close at once (not one's own)",
        roles="admin", params=_NAME, errors=(404, 409))},
    "/api/users/{name}/scope": {
        "put": operation("Set the queues and teams a supervisor sees; an empty body object with no lists means none",
                         roles="admin", body="ScopeChange", params=_NAME, errors=(404,)),
        "delete": operation("Clear a supervisor's scope: they see every queue and team again (audited as a change "
                            "of the scope is)", roles="admin", params=_NAME, errors=(404,)),
    },
    "/api/users/{name}/token": {"post": operation(
        "Rotate a user's token: the new one is returned once; the old one stops working and the user's open "
        "websockets close at once", roles="admin", params=_NAME, errors=(404,))},
    "/api/users/{name}/disable": {"post": operation(
        "Disable a user: their token stops working and their open websockets close at once (not one's own)",
        roles="admin", params=_NAME, errors=(404, 409))},
    "/api/users/{name}/enable": {"post": operation(
        "Enable a disabled user again (their token works again unless it expired meanwhile)", roles="admin",
        params=_NAME, errors=(404,))},
    "/api/me/token": {"post": operation(
        "Rotate one's own token: the new one is returned once; the one this request carried stops working and "
        "one's open websockets close at once", roles="any authenticated user")},
    "/api/ws-tickets": {"post": operation(
        "A single-use ticket to open one websocket as the caller within 30 seconds (?ticket=): browsers cannot "
        "send the Authorization header on a websocket, and a token must never be in a URL",
        roles="any authenticated user", ok=201)},
}


def _token_answer(user: UserRecord, token: str) -> web.Response:
    return web.json_response({"user": user_view(user), "token": token})


@routes.post("/api/users")
async def create_user(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = UserCreate.model_validate(await read_object(request))
    user, token = await request.app[ACCOUNTS].create_user(body.name, body.role, body.agent_id)
    return web.json_response({"user": user_view(user), "token": token}, status=201)


@routes.get("/api/users")
async def list_users(request: web.Request) -> web.Response:
    require_role(request, "admin")
    users = await request.app[ACCOUNTS].list_users()
    return web.json_response({"users": [{**user_view(u), "scope": u.scope} for u in users]})


@routes.put("/api/users/{name}/scope")
async def set_scope(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = ScopeChange.model_validate(await read_json(request))
    user = await request.app[ACCOUNTS].set_scope(request.match_info["name"], body.model_dump())
    await request.app[SESSIONS].rescope(user.name)  # open dashboards show the new scope now, not at a reconnect
    return web.json_response({"name": user.name, "scope": user.scope})


@routes.delete("/api/users/{name}/scope")
async def clear_scope(request: web.Request) -> web.Response:
    require_role(request, "admin")
    user = await request.app[ACCOUNTS].set_scope(request.match_info["name"], None)
    await request.app[SESSIONS].rescope(user.name)
    return web.json_response({"name": user.name, "scope": user.scope})


@routes.post("/api/users/{name}/token")
async def rotate_token(request: web.Request) -> web.Response:
    require_role(request, "admin")
    user, token = await request.app[ACCOUNTS].rotate_token(request.match_info["name"])
    await request.app[SESSIONS].revoke(user.name, "token rotated")
    return _token_answer(user, token)


@routes.post("/api/me/token")
async def rotate_own_token(request: web.Request) -> web.Response:
    user, token = await request.app[ACCOUNTS].rotate_token(principal(request).name)
    await request.app[SESSIONS].revoke(user.name, "token rotated")
    return _token_answer(user, token)


@routes.post("/api/users/{name}/disable")
async def disable_user(request: web.Request) -> web.Response:
    admin = require_role(request, "admin")
    user = await request.app[ACCOUNTS].set_disabled(request.match_info["name"], True, by=admin)
    await request.app[SESSIONS].revoke(user.name, "user disabled")
    return web.json_response(user_view(user))


@routes.post("/api/users/{name}/enable")
async def enable_user(request: web.Request) -> web.Response:
    require_role(request, "admin")
    user = await request.app[ACCOUNTS].set_disabled(request.match_info["name"], False)
    return web.json_response(user_view(user))


@routes.delete("/api/users/{name}")
async def delete_user(request: web.Request) -> web.Response:
    admin = require_role(request, "admin")
    name = request.match_info["name"]
    await request.app[ACCOUNTS].delete_user(name, by=admin)
    await request.app[SESSIONS].revoke(name, "user deleted")
    return web.json_response({"deleted": name})


@routes.post("/api/ws-tickets")
async def ws_ticket(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    ticket = sessions.issue_ticket(principal(request), web_session(request))
    return web.json_response({"ticket": ticket, "expires_in": int(sessions.ticket_ttl.total_seconds())}, status=201)
