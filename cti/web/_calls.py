"""Queues, live calls, the interaction history and the routing rules."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cti.acd import AgentState, RulesError, WorkState, qualified
from cti.services import can_see_queue
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._errors import json_error
from cti.web._keys import HISTORY, POLICY, QUERY, ROUTING
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import IntParam
from cti.web._views import ID_PATTERN, call_view, interaction_view

__all__ = ["openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
_LIMIT = IntParam("limit", 1, 1000, "the newest this many (default 100)")
schemas: tuple[type[BaseModel], ...] = ()
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/routing": {"get": operation("The routing rules in force (queues, routes, escalation steps)",
                                      roles="supervisor, admin")},
    "/api/routing/reload": {"post": operation(
        "Read the routing rules file again; invalid rules are refused and the running rules stay",
        roles="admin", errors=(422,))},
    "/api/queues": {"get": operation("Queues with waiting calls and agents by state",
                                      roles="supervisor (own queues), admin")},
    "/api/queues/{queue}": {"get": operation("One queue", roles="supervisor (own queues), admin",
                                             params=[path_param("queue", maxLength=64)], errors=(404,))},
    "/api/calls": {"get": operation("Live calls", roles="supervisor (own scope), admin")},
    "/api/calls/{call_id}": {"get": operation("One live call", roles="supervisor (own scope), admin, the call's agent",
                                              params=[path_param("call_id", maxLength=64)], errors=(404,))},
    "/api/interactions": {"get": operation(
        "Interaction history, newest first: agents see their own, supervisors their scope's; audited",
        roles="any authenticated user",
        params=[_LIMIT.spec(), query_param("agent_id", pattern=ID_PATTERN), query_param("queue", maxLength=64)],
        errors=(400,))},
    "/api/interactions/{call_id}": {"get": operation(
        "One interaction record (audited)", roles="supervisor (own scope), admin, the call's agents",
        params=[path_param("call_id", maxLength=64)], errors=(404,))},
}


# -- queues and calls ------------------------------------------------------------------------------------
def _queue_view(request: web.Request, name: str) -> dict[str, Any]:
    query = request.app[QUERY]
    now = query.now()
    calls = [c for c in query.calls() if c.queue == name]
    waiting = [c for c in calls if c.state in (WorkState.WAITING, WorkState.RINGING)]
    queue = query.queue_rule(name)
    agents = [a for a in query.agents() if qualified(a, queue)]
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
    user = require_role(request, *STAFF)
    names = sorted(q for q in request.app[QUERY].rules.queues if can_see_queue(user, q))
    return web.json_response({"queues": [_queue_view(request, q) for q in names]})


@routes.get("/api/queues/{queue}")
async def get_queue(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    name = request.match_info["queue"]
    if name not in request.app[QUERY].rules.queues or not can_see_queue(user, name):
        raise web.HTTPNotFound(reason=f"no queue {name!r}")
    return web.json_response(_queue_view(request, name))


@routes.get("/api/calls")
async def list_calls(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    now = request.app[QUERY].now()
    return web.json_response({"calls": [call_view(c, now) for c in request.app[POLICY].calls(user)]})


@routes.get("/api/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    call = request.app[POLICY].call(principal(request), request.match_info["call_id"])
    return web.json_response(call_view(call, request.app[QUERY].now()))


@routes.get("/api/interactions")
async def list_interactions(request: web.Request) -> web.Response:
    user = principal(request)
    records = await request.app[HISTORY].list(user, limit=_LIMIT.read(request, 100),
                                              agent_id=request.query.get("agent_id"),
                                              queue=request.query.get("queue"), source=source_of(request))
    return web.json_response({"interactions": [interaction_view(r) for r in records]})


@routes.get("/api/interactions/{call_id}")
async def get_interaction(request: web.Request) -> web.Response:
    record = await request.app[HISTORY].get(principal(request), request.match_info["call_id"],
                                            source=source_of(request))
    return web.json_response(interaction_view(record))


# -- routing rules ---------------------------------------------------------------------------------------
@routes.get("/api/routing")
async def get_routing(request: web.Request) -> web.Response:
    require_role(request, *STAFF)
    return web.json_response(request.app[ROUTING].current.model_dump(mode="json"))


@routes.post("/api/routing/reload")
async def reload_routing(request: web.Request) -> web.Response:
    """Read the rules file again. Invalid rules are refused (422) and the running rules stay."""
    require_role(request, "admin")
    try:
        rules = request.app[ROUTING].reload()
    except RulesError as exc:  # one line: the problems of every queue and route, each after a "; "
        return json_error(422, str(exc).replace("\n", "; "), code=exc.code)
    return web.json_response(rules.model_dump(mode="json"))
