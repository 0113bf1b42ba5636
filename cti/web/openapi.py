"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Request schemas come from the pydantic models that validate bodies, so the document cannot drift from
what the server accepts; a test checks that every route is described here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cti import __version__
from cti.web.schemas import AgentCreate, AgentLogin, AgentProfile, AgentStateChange, UserCreate

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_OBJ = {"type": "object"}


def _op(summary: str, *, roles: str, body: str | None = None, ok: int = 200, public: bool = False,
        params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Allowed roles: {roles}.",
        "responses": {str(ok): {"description": "OK", "content": {"application/json": {"schema": _OBJ}}}},
    }
    if public:
        op["security"] = []
    else:
        op["responses"].update({"401": _ERROR, "403": _ERROR})
    for status in errors:
        op["responses"][str(status)] = _ERROR
    if body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
        op["responses"].update({"400": _ERROR, "422": _ERROR})
    if params:
        op["parameters"] = params
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


@cache
def openapi_document() -> dict[str, Any]:
    agent = [_path("agent_id")]
    staff = "supervisor, admin"
    self_or_staff = "the agent themself, supervisor, admin"
    paths: dict[str, dict[str, Any]] = {
        "/healthz": {"get": _op("Liveness and component health", roles="anyone", public=True, errors=(503,))},
        "/openapi.json": {"get": _op("This document", roles="anyone", public=True)},
        "/metrics": {"get": _op("Prometheus metrics (text)", roles=staff)},
        "/api/me": {"get": _op("The calling user", roles="any authenticated user")},
        "/api/users": {
            "get": _op("List users", roles="admin"),
            "post": _op("Create a user; returns its token once", roles="admin", body="UserCreate", ok=201,
                        errors=(404, 409)),
        },
        "/api/agents": {
            "get": _op("Agents with their live state", roles=staff),
            "post": _op("Create an agent and its login; returns the token once", roles="admin",
                        body="AgentCreate", ok=201, errors=(409,)),
        },
        "/api/agents/{agent_id}": {"get": _op("One agent", roles=self_or_staff, params=agent, errors=(404,))},
        "/api/agents/{agent_id}/profile": {"put": _op(
            "Replace the agent's routing profile (skills and levels, languages, region, site, team); "
            "routing uses it from the next decision", roles=staff, body="AgentProfile", params=agent,
            errors=(404,))},
        "/api/agents/{agent_id}/login": {"post": _op(
            "Log the agent in at an extension (a PJSIP endpoint), optionally ready", roles=self_or_staff,
            body="AgentLogin", params=agent, errors=(404, 409))},
        "/api/agents/{agent_id}/logout": {"post": _op(
            "Log out (after the current call, if any)", roles=self_or_staff, params=agent, errors=(404,))},
        "/api/agents/{agent_id}/state": {"post": _op(
            "Go ready or not ready with a reason (not ready during a call applies after it)",
            roles=self_or_staff, body="AgentStateChange", params=agent, errors=(404, 409))},
        "/api/routing": {"get": _op("The routing rules in force (queues, routes, escalation steps)", roles=staff)},
        "/api/routing/reload": {"post": _op(
            "Read the routing rules file again; invalid rules are refused and the running rules stay",
            roles="admin", errors=(422,))},
        "/api/queues": {"get": _op("Queues with waiting calls and agents by state", roles=staff)},
        "/api/queues/{queue}": {"get": _op("One queue", roles=staff, params=[_path("queue")], errors=(404,))},
        "/api/calls": {"get": _op("Live calls", roles=staff)},
        "/api/calls/{call_id}": {"get": _op("One live call", roles="supervisor, admin, the call's agent",
                                            params=[_path("call_id")], errors=(404,))},
        "/api/interactions": {"get": _op(
            "Interaction history, newest first (agents see their own)", roles="any authenticated user",
            params=[_query("limit", "integer"), _query("agent_id"), _query("queue")], errors=(400,))},
        "/api/interactions/{call_id}": {"get": _op(
            "One interaction record", roles="supervisor, admin, the call's agent",
            params=[_path("call_id")], errors=(404,))},
    }
    schemas = {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}")
               for model in (AgentCreate, AgentLogin, AgentProfile, AgentStateChange, UserCreate)}
    for schema in list(schemas.values()):
        schemas.update(schema.pop("$defs", {}))  # nested models become components of their own
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"}, "details": {}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "cti contact-center API", "version": __version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": {"Error": {"description": "Error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
