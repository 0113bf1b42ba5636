"""Queues, live calls, the interaction history and the routing rules."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.acd import AgentState, RulesError, WorkState, qualified
from cti.services import can_see_queue
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_object
from cti.web._errors import json_error
from cti.web._keys import HISTORY, POLICY, QUERY, ROUTING
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import IntParam
from cti.web._views import ID_PATTERN, call_view, interaction_view

__all__ = ["RulesCheck", "RulesEdit", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
_LIMIT = IntParam("limit", 1, 1000, "the newest this many (default 100)")
_MAX_RULES_TEXT = 1_000_000


class RulesCheck(BaseModel):
    """A rules file's text (YAML), to check."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=_MAX_RULES_TEXT, description="the whole rules file, YAML")


class RulesEdit(RulesCheck):
    """A rules file's new text (YAML), and the version of the file it was edited from."""

    version: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                                description="the file's version when read (GET /api/routing/file); refused with "
                                            "409 when the file has changed since; none: overwrite whatever is there")


schemas: tuple[type[BaseModel], ...] = (RulesCheck, RulesEdit)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/routing": {
        "get": operation("The routing rules in force (queues, routes, escalation steps)", roles="supervisor, admin"),
        "put": operation(
            "Replace the routing rules file's text (YAML) and put it in force at once; invalid rules are refused "
            "with every problem by field (422) and nothing changes; the old file is kept as <file>.bak; 409 when "
            "the rules come from the settings (no rules file) or the file changed since it was read",
            roles="admin", body="RulesEdit", errors=(409, 503)),
    },
    "/api/routing/file": {"get": operation(
        "The routing rules file: its path, text (YAML, with its comments), version, and whether it holds the "
        "rules in force; 409 when the rules come from the settings", roles="admin", errors=(409, 503))},
    "/api/routing/check": {"post": operation(
        "Check a rules file's text without writing or applying it: the rules it holds, or every problem by field "
        "(422)", roles="admin", body="RulesCheck", errors=(409,))},
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


@routes.get("/api/routing/file")
async def get_routing_file(request: web.Request) -> web.Response:
    require_role(request, "admin")
    file = request.app[ROUTING].read()
    return web.json_response({"path": str(file.path), "text": file.text, "version": file.version,
                              "in_force": file.in_force})


@routes.post("/api/routing/check")
async def check_routing(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = RulesCheck.model_validate(await read_object(request))
    return web.json_response(request.app[ROUTING].check(body.text).model_dump(mode="json"))


@routes.put("/api/routing")
async def put_routing(request: web.Request) -> web.Response:
    """Invalid rules are refused (422, each problem by field): the file and the running rules stay."""
    user = require_role(request, "admin")
    body = RulesEdit.model_validate(await read_object(request))
    rules = request.app[ROUTING].save(user, body.text, source=source_of(request), version=body.version)
    return web.json_response(rules.model_dump(mode="json"))


@routes.post("/api/routing/reload")
async def reload_routing(request: web.Request) -> web.Response:
    """Read the rules file again. Invalid rules are refused (422) and the running rules stay."""
    require_role(request, "admin")
    try:
        rules = request.app[ROUTING].reload()
    except RulesError as exc:  # one line: the problems of every queue and route, each after a "; "
        problems = [{"field": p.field, "problem": p.reason, "code": p.code} for p in exc.problems]
        return json_error(422, str(exc).replace("\n", "; "), code=exc.code, details=problems or None)
    return web.json_response(rules.model_dump(mode="json"))
