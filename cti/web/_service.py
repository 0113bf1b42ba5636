"""The service itself: liveness and component health, the API description, Prometheus metrics."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from cti.web._auth import require_role
from cti.web._keys import STATUS
from cti.web._openapi import ApiModule, openapi_document, operation

__all__ = ["API_MODULES", "openapi_paths", "routes", "schemas"]


class Health(BaseModel):
    """``/healthz``'s answer, 200 or 503 alike. Unauthenticated: it says nothing an operator would keep secret (no
    addresses, no holder names, no users)."""

    status: Literal["ok", "degraded"] = Field(
        description="ok (200): every component up and this controller may act; degraded (503) otherwise")
    role: Literal["single", "leader", "standby"] = Field(
        description="single: started without --standby (no lease); leader: holds the lease; standby: a leader "
                    "whose lease has lapsed, in the instant before it exits (a standby serves nothing)")
    term: int | None = Field(description="the leader's term: its lease's fencing token; null otherwise")
    components: dict[str, bool] = Field(description="asterisk, redis, database: up or not")


def _health(op: dict[str, Any]) -> dict[str, Any]:
    """The 200 and the 503 both carry :class:`Health`."""
    for status in ("200", "503"):
        op["responses"][status] = {"description": "OK" if status == "200" else "degraded", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
    return op


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (Health,)
openapi_paths: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _health(operation("Liveness, component health and this controller's role (single, or the "
                                          "leader with its term)", roles="anyone", public=True, errors=(503,)))},
    "/openapi.json": {"get": operation("This document", roles="anyone", public=True)},
    "/metrics": {"get": operation("Prometheus metrics (text)", roles="supervisor, admin")},
}
API_MODULES = web.AppKey("api_modules", tuple[ApiModule, ...])
"""Every feature module mounted on the app; ``/openapi.json`` describes them all."""


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    status = request.app[STATUS]
    components = await status.health()
    role, term = status.role()
    # A leader whose lease lapsed must not get requests in its last instant: a load balancer sends them elsewhere.
    healthy = all(components.values()) and role != "standby"
    body = Health.model_validate({"status": "ok" if healthy else "degraded", "role": role, "term": term,
                                  "components": components})
    return web.json_response(body.model_dump(), status=200 if healthy else 503)


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[API_MODULES]))


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_role(request, "supervisor", "admin")
    return web.Response(text=request.app[STATUS].metrics(), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
