"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Request schemas come from the pydantic models that validate bodies, so the document cannot drift from
what the server accepts; a test checks that every route is described here.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from pydantic import BaseModel

from cti import __version__
from cti.web.schemas import AgentCreate, AgentLogin, AgentProfile, AgentStateChange, UserCreate

__all__ = ["ApiModule", "openapi_document", "operation", "path_param", "query_param"]

_ERROR = {"$ref": "#/components/responses/Error"}
_OBJ = {"type": "object"}


class ApiModule(Protocol):
    """A domain's HTTP module (``cti.web.wfm``, ...): its routes, their OpenAPI paths and body schemas."""

    routes: web.RouteTableDef
    openapi_paths: dict[str, dict[str, Any]]
    schemas: tuple[type[BaseModel], ...]


def operation(summary: str, *, roles: str, body: str | None = None, ok: int = 200, public: bool = False,
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


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query_param(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


def openapi_document(modules: tuple[ApiModule, ...] = ()) -> dict[str, Any]:
    agent = [path_param("agent_id")]
    staff = "supervisor, admin"
    self_or_staff = "the agent themself, supervisor, admin"
    paths: dict[str, dict[str, Any]] = {
        "/healthz": {"get": operation("Liveness and component health", roles="anyone", public=True, errors=(503,))},
        "/openapi.json": {"get": operation("This document", roles="anyone", public=True)},
        "/metrics": {"get": operation("Prometheus metrics (text)", roles=staff)},
        "/api/me": {"get": operation("The calling user", roles="any authenticated user")},
        "/api/users": {
            "get": operation("List users", roles="admin"),
            "post": operation("Create a user; returns its token once", roles="admin", body="UserCreate", ok=201,
                        errors=(404, 409)),
        },
        "/api/agents": {
            "get": operation("Agents with their live state", roles=staff),
            "post": operation("Create an agent and its login; returns the token once", roles="admin",
                        body="AgentCreate", ok=201, errors=(409,)),
        },
        "/api/agents/{agent_id}": {"get": operation("One agent", roles=self_or_staff, params=agent, errors=(404,))},
        "/api/agents/{agent_id}/profile": {"put": operation(
            "Replace the agent's routing profile (skills and levels, languages, region, site, team); "
            "routing uses it from the next decision", roles=staff, body="AgentProfile", params=agent,
            errors=(404,))},
        "/api/agents/{agent_id}/login": {"post": operation(
            "Log the agent in at an extension (a PJSIP endpoint), optionally ready", roles=self_or_staff,
            body="AgentLogin", params=agent, errors=(404, 409))},
        "/api/agents/{agent_id}/logout": {"post": operation(
            "Log out (after the current call, if any)", roles=self_or_staff, params=agent, errors=(404,))},
        "/api/agents/{agent_id}/state": {"post": operation(
            "Go ready or not ready with a reason (not ready during a call applies after it)",
            roles=self_or_staff, body="AgentStateChange", params=agent, errors=(404, 409))},
        "/api/routing": {"get": operation("The routing rules in force (queues, routes, escalation steps)",
                                          roles=staff)},
        "/api/routing/reload": {"post": operation(
            "Read the routing rules file again; invalid rules are refused and the running rules stay",
            roles="admin", errors=(422,))},
        "/api/queues": {"get": operation("Queues with waiting calls and agents by state", roles=staff)},
        "/api/queues/{queue}": {"get": operation("One queue", roles=staff, params=[path_param("queue")],
                                                 errors=(404,))},
        "/api/calls": {"get": operation("Live calls", roles=staff)},
        "/api/calls/{call_id}": {"get": operation("One live call", roles="supervisor, admin, the call's agent",
                                            params=[path_param("call_id")], errors=(404,))},
        "/api/interactions": {"get": operation(
            "Interaction history, newest first (agents see their own)", roles="any authenticated user",
            params=[query_param("limit", "integer"), query_param("agent_id"), query_param("queue")], errors=(400,))},
        "/api/interactions/{call_id}": {"get": operation(
            "One interaction record", roles="supervisor, admin, the call's agent",
            params=[path_param("call_id")], errors=(404,))},
    }
    models: list[type[BaseModel]] = [AgentCreate, AgentLogin, AgentProfile, AgentStateChange, UserCreate]
    for module in modules:
        paths.update(module.openapi_paths)
        models.extend(module.schemas)
    schemas = {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}")
               for model in models}
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
