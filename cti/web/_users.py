"""API users: create them (the token is shown once), list them, set a supervisor's scope."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.web._auth import require_role
from cti.web._bodies import read_json, read_object
from cti.web._keys import ACCOUNTS
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
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/users": {
        "get": operation("List users", roles="admin"),
        "post": operation("Create a user; returns its token once", roles="admin", body="UserCreate", ok=201,
                          errors=(404, 409)),
    },
    "/api/users/{name}/scope": {"put": operation(
        "Set the queues and teams a supervisor sees; an empty body object with no lists means none",
        roles="admin", body="ScopeChange", params=[path_param("name", pattern=ID_PATTERN)], errors=(404,))},
}


@routes.post("/api/users")
async def create_user(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = UserCreate.model_validate(await read_object(request))
    user, token = await request.app[ACCOUNTS].create_user(body.name, body.role, body.agent_id)
    return web.json_response({"user": user_view(user), "token": token}, status=201)


@routes.get("/api/users")
async def list_users(request: web.Request) -> web.Response:
    require_role(request, "admin")
    return web.json_response({"users": [user_view(u) for u in await request.app[ACCOUNTS].list_users()]})


@routes.put("/api/users/{name}/scope")
async def set_scope(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = ScopeChange.model_validate(await read_json(request))
    user = await request.app[ACCOUNTS].set_scope(request.match_info["name"], body.model_dump())
    return web.json_response({"name": user.name, "scope": user.scope})
