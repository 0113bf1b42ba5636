"""The JSON API: agents, queues, live calls, interaction history, users, health and metrics."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from cti.acd import AgentState, RulesError, WorkState, qualified
from cti.persistence import AgentRepository, InteractionRepository, UserRepository
from cti.records import AgentRecord
from cti.web.auth import principal, require_agent_access, require_role
from cti.web.bodies import read_object
from cti.web.keys import API_MODULES, CONTROLLER, DATABASE
from cti.web.metrics import render_metrics
from cti.web.openapi import openapi_document
from cti.web.schemas import AgentCreate, AgentLogin, AgentProfile, AgentStateChange, UserCreate
from cti.web.views import agent_view, call_view, interaction_view, user_view

__all__ = ["routes"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
M = TypeVar("M", bound=BaseModel)


async def _body(request: web.Request, model: type[M]) -> M:
    return model.model_validate(await read_object(request))


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
        raise web.HTTPBadRequest(reason="limit must be an integer from 1 to 1000")
    return int(raw)


# -- service ---------------------------------------------------------------------------------------------
@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    controller = request.app[CONTROLLER]
    components = {
        "asterisk": controller.events.is_connected,
        "redis": await controller.live.ping(),
        "database": await request.app[DATABASE].ping(),
    }
    healthy = all(components.values())
    return web.json_response({"status": "ok" if healthy else "degraded", "components": components},
                             status=200 if healthy else 503)


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[API_MODULES]))


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    return web.Response(text=render_metrics(request.app[CONTROLLER]), content_type="text/plain",
                        charset="utf-8", headers={"X-Content-Type-Options": "nosniff"})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(user_view(principal(request)))


# -- users -----------------------------------------------------------------------------------------------
@routes.post("/api/users")
async def create_user(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = await _body(request, UserCreate)
    db = request.app[DATABASE]
    if body.agent_id is not None and await AgentRepository(db).get(body.agent_id) is None:
        raise web.HTTPNotFound(reason=f"no agent {body.agent_id!r}")
    user, token = await UserRepository(db).create_user(body.name, body.role, body.agent_id)
    return web.json_response({"user": user_view(user), "token": token}, status=201)


@routes.get("/api/users")
async def list_users(request: web.Request) -> web.Response:
    require_role(request, "admin")
    users = await UserRepository(request.app[DATABASE]).list_users()
    return web.json_response({"users": [user_view(u) for u in users]})


# -- agents ----------------------------------------------------------------------------------------------
@routes.post("/api/agents")
async def create_agent(request: web.Request) -> web.Response:
    """Create an agent and its login (a user with the agent role); the token is shown once."""
    require_role(request, "admin")
    body = await _body(request, AgentCreate)
    agents, users = AgentRepository(request.app[DATABASE]), UserRepository(request.app[DATABASE])
    if await agents.get(body.agent_id) is not None:
        raise web.HTTPConflict(reason=f"agent {body.agent_id!r} already exists")
    if any(u.name == f"agent-{body.agent_id}" for u in await users.list_users()):
        raise web.HTTPConflict(reason=f"a user named 'agent-{body.agent_id}' already exists")
    profile = body.profile.model_dump()
    await agents.upsert(AgentRecord(agent_id=body.agent_id, name=body.name, profile=profile))
    user, token = await users.create_user(f"agent-{body.agent_id}", "agent", body.agent_id)
    agent = await request.app[CONTROLLER].register_agent(body.agent_id, body.name, profile)
    return web.json_response({"agent": agent_view(agent), "user": user_view(user), "token": token}, status=201)


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    core = request.app[CONTROLLER].core
    return web.json_response({"agents": [agent_view(a) for _, a in sorted(core.agents.items())]})


@routes.get("/api/agents/{agent_id}")
async def get_agent(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent_id"]
    require_agent_access(request, agent_id)
    return web.json_response(agent_view(request.app[CONTROLLER].core.agent(agent_id)))


@routes.put("/api/agents/{agent_id}/profile")
async def set_profile(request: web.Request) -> web.Response:
    """Replace the agent's routing profile; the next routing decision uses it."""
    require_role(request, *STAFF)
    agent_id = request.match_info["agent_id"]
    controller = request.app[CONTROLLER]
    current = controller.core.agent(agent_id)
    profile = (await _body(request, AgentProfile)).model_dump()
    await AgentRepository(request.app[DATABASE]).upsert(AgentRecord(agent_id=agent_id, name=current.name,
                                                                     profile=profile))
    return web.json_response(agent_view(controller.set_profile(agent_id, profile)))


@routes.post("/api/agents/{agent_id}/login")
async def login(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent_id"]
    require_agent_access(request, agent_id)
    body = await _body(request, AgentLogin)
    agent = await request.app[CONTROLLER].login(agent_id, body.extension, ready=body.ready)
    return web.json_response(agent_view(agent))


@routes.post("/api/agents/{agent_id}/logout")
async def logout(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent_id"]
    require_agent_access(request, agent_id)
    return web.json_response(agent_view(request.app[CONTROLLER].logout(agent_id)))


@routes.post("/api/agents/{agent_id}/state")
async def set_state(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent_id"]
    require_agent_access(request, agent_id)
    body = await _body(request, AgentStateChange)
    controller = request.app[CONTROLLER]
    if body.state == "ready":
        agent = controller.set_ready(agent_id)
    else:
        agent = controller.set_not_ready(agent_id, body.reason or "break")
    return web.json_response(agent_view(agent))


# -- queues and calls ------------------------------------------------------------------------------------
def _queue_names(request: web.Request) -> list[str]:
    return sorted(request.app[CONTROLLER].core.rules.queues)


def _queue_view(request: web.Request, name: str) -> dict[str, Any]:
    controller = request.app[CONTROLLER]
    now = controller.clock()
    calls = [c for c in controller.core.calls.values() if c.queue == name]
    waiting = [c for c in calls if c.state in (WorkState.WAITING, WorkState.RINGING)]
    queue = controller.core.queue_rule(name)
    agents = [a for a in controller.core.agents.values() if qualified(a, queue)]
    return {
        "queue": name,
        "calls_waiting": len(waiting),
        "calls_ringing": sum(c.state is WorkState.RINGING for c in calls),
        "calls_connected": sum(c.state is WorkState.CONNECTED for c in calls),
        "longest_wait_seconds": round(max(((now - c.arrived_at).total_seconds() for c in waiting), default=0), 3),
        # Agents holding the queue's skills, by state (an agent may count in several queues).
        "agents": {state.value: sum(a.state is state for a in agents) for state in AgentState},
    }


@routes.get("/api/queues")
async def list_queues(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    return web.json_response({"queues": [_queue_view(request, q) for q in _queue_names(request)]})


@routes.get("/api/queues/{queue}")
async def get_queue(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    name = request.match_info["queue"]
    if name not in _queue_names(request):
        raise web.HTTPNotFound(reason=f"no queue {name!r}")
    return web.json_response(_queue_view(request, name))


@routes.get("/api/calls")
async def list_calls(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    controller = request.app[CONTROLLER]
    now = controller.clock()
    calls = sorted(controller.core.calls.values(), key=lambda c: c.arrived_at)
    return web.json_response({"calls": [call_view(c, now) for c in calls]})


@routes.get("/api/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    user = principal(request)
    controller = request.app[CONTROLLER]
    call = controller.core.call(request.match_info["call_id"])
    if user.role == "agent" and call.agent_id != user.agent_id:
        raise web.HTTPForbidden(reason="agents see only their own calls")
    return web.json_response(call_view(call, controller.clock()))


@routes.get("/api/interactions")
async def list_interactions(request: web.Request) -> web.Response:
    user = principal(request)
    agent_id = request.query.get("agent_id")
    if user.role == "agent":
        agent_id = user.agent_id  # agents see their own history only
    records = await InteractionRepository(request.app[DATABASE]).list(
        limit=_limit(request), agent_id=agent_id, queue=request.query.get("queue"))
    return web.json_response({"interactions": [interaction_view(r) for r in records]})


@routes.get("/api/interactions/{call_id}")
async def get_interaction(request: web.Request) -> web.Response:
    user = principal(request)
    call_id = request.match_info["call_id"]
    record = await InteractionRepository(request.app[DATABASE]).get(call_id)
    if record is None or (user.role == "agent" and record.agent_id != user.agent_id):
        raise web.HTTPNotFound(reason=f"no interaction {call_id!r}")
    return web.json_response(interaction_view(record))


# -- routing rules ---------------------------------------------------------------------------------------
@routes.get("/api/routing")
async def get_routing(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    rules = request.app[CONTROLLER].core.rules
    return web.json_response(rules.model_dump(mode="json"))


@routes.post("/api/routing/reload")
async def reload_routing(request: web.Request) -> web.Response:
    """Read the rules file again. Invalid rules are refused (422) and the running rules stay."""
    require_role(request, "admin")
    try:
        rules = request.app[CONTROLLER].reload_rules()
    except RulesError as exc:
        raise web.HTTPUnprocessableEntity(reason=str(exc).replace("\n", "; ")) from exc
    return web.json_response(rules.model_dump(mode="json"))
