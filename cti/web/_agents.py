"""Agents: create them (with their login), their routing profile, log in and out, ready and not ready."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.acd import Agent
from cti.types import Language
from cti.web._auth import principal, require_role
from cti.web._bodies import read_object
from cti.web._keys import AGENTS, POLICY, QUERY
from cti.web._openapi import operation, path_param
from cti.web._views import ID_PATTERN, agent_view, user_view

__all__ = ["AgentCreate", "AgentLogin", "AgentProfile", "AgentStateChange", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgentProfile(_Body):
    """What routing knows of an agent. Replaced whole by ``PUT /api/agents/{id}/profile``."""

    skills: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")], Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict, max_length=50)
    languages: list[Language] = Field(default_factory=list, description="empty: any language")
    region: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,32}$")
    site: str | None = Field(default=None, pattern=ID_PATTERN)
    team: str | None = Field(default=None, pattern=ID_PATTERN)
    capacity: dict[Literal["voice", "chat"], Annotated[int, Field(ge=0, le=20)]] | None = Field(
        default=None, description="work held at once per channel; left out: one call and no chats")
    exclusive: list[Literal["voice", "chat"]] | None = Field(
        default=None, description="channels held alone (nothing else at the same time); left out: voice")


class AgentCreate(_Body):
    agent_id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=128)
    profile: AgentProfile = Field(default_factory=AgentProfile)


class AgentLogin(_Body):
    extension: str | None = Field(default=None, pattern=r"^[0-9]{2,16}$", description=(
        "the agent's phone; left out or null: no phone, chats only (no call is offered)"))
    ready: bool = False


class AgentStateChange(_Body):
    state: Literal["ready", "not_ready"]
    reason: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")


schemas: tuple[type[BaseModel], ...] = (AgentCreate, AgentLogin, AgentProfile, AgentStateChange)
_AGENT = [path_param("agent_id", pattern=ID_PATTERN, examples=["ana"])]
_SELF_OR_STAFF = "the agent themself, supervisor (own scope), admin"
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/agents": {
        "get": operation("Agents with their live state", roles="supervisor (own scope), admin"),
        "post": operation("Create an agent and its login; returns the token once", roles="admin",
                          body="AgentCreate", ok=201, errors=(409,)),
    },
    "/api/agents/{agent_id}": {"get": operation("One agent", roles=_SELF_OR_STAFF, params=_AGENT, errors=(404,))},
    "/api/agents/{agent_id}/profile": {"put": operation(
        "Replace the agent's routing profile (skills and levels, languages, region, site, team, capacity per "
        "channel); routing uses it from the next decision", roles="supervisor (own scope), admin", body="AgentProfile",
        params=_AGENT, errors=(404,))},
    "/api/agents/{agent_id}/login": {"post": operation(
        "Log the agent in at an extension (a PJSIP endpoint), or with no phone for chats only, optionally ready",
        roles=_SELF_OR_STAFF,
        body="AgentLogin", params=_AGENT, errors=(404, 409))},
    "/api/agents/{agent_id}/logout": {"post": operation(
        "Log out (after the current call, if any)", roles=_SELF_OR_STAFF, params=_AGENT, errors=(404,))},
    "/api/agents/{agent_id}/state": {"post": operation(
        "Go ready or not ready with a reason (not ready during a call applies after it)",
        roles=_SELF_OR_STAFF, body="AgentStateChange", params=_AGENT, errors=(404, 409))},
}


def _profile(profile: AgentProfile) -> dict[str, Any]:
    """The stored profile: capacity and exclusive only when set, so profiles saved before them read the same."""
    return profile.model_dump(exclude_none=True, exclude={"region", "site", "team"}) | {
        "region": profile.region, "site": profile.site, "team": profile.team}


def _agent(request: web.Request) -> Agent:
    """The path's agent if the caller reaches them (themself, their scope's, or any for an admin); else 404."""
    return request.app[POLICY].agent(principal(request), request.match_info["agent_id"])


@routes.post("/api/agents")
async def create_agent(request: web.Request) -> web.Response:
    """Create an agent and its login (a user with the agent role); the token is shown once."""
    require_role(request, "admin")
    body = AgentCreate.model_validate(await read_object(request))
    agent, user, token = await request.app[AGENTS].create(body.agent_id, body.name, _profile(body.profile))
    return web.json_response({"agent": agent_view(agent), "user": user_view(user), "token": token}, status=201)


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    policy = request.app[POLICY]
    return web.json_response({"agents": [agent_view(a) for a in request.app[QUERY].agents()
                                         if policy.sees_agent(user, a)]})


@routes.get("/api/agents/{agent_id}")
async def get_agent(request: web.Request) -> web.Response:
    return web.json_response(agent_view(_agent(request)))


@routes.put("/api/agents/{agent_id}/profile")
async def set_profile(request: web.Request) -> web.Response:
    """Replace the agent's routing profile; the next routing decision uses it."""
    require_role(request, *STAFF)
    agent_id = _agent(request).agent_id  # unknown or outside the scope -> 404 before the body is read
    profile = AgentProfile.model_validate(await read_object(request))
    return web.json_response(agent_view(await request.app[AGENTS].set_profile(agent_id, _profile(profile))))


@routes.post("/api/agents/{agent_id}/login")
async def login(request: web.Request) -> web.Response:
    agent_id = _agent(request).agent_id
    body = AgentLogin.model_validate(await read_object(request))
    return web.json_response(agent_view(await request.app[AGENTS].login(agent_id, body.extension, ready=body.ready)))


@routes.post("/api/agents/{agent_id}/logout")
async def logout(request: web.Request) -> web.Response:
    return web.json_response(agent_view(request.app[AGENTS].logout(_agent(request).agent_id)))


@routes.post("/api/agents/{agent_id}/state")
async def set_state(request: web.Request) -> web.Response:
    agent_id = _agent(request).agent_id
    body = AgentStateChange.model_validate(await read_object(request))
    return web.json_response(agent_view(request.app[AGENTS].set_state(agent_id, body.state, body.reason)))
