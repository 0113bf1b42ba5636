"""The service itself: liveness and component health, the API description, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cti.web._auth import require_role
from cti.web._keys import STATUS
from cti.web._openapi import ApiModule, openapi_document, operation

__all__ = ["API_MODULES", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
openapi_paths: dict[str, dict[str, Any]] = {
    "/healthz": {"get": operation("Liveness and component health", roles="anyone", public=True, errors=(503,))},
    "/openapi.json": {"get": operation("This document", roles="anyone", public=True)},
    "/metrics": {"get": operation("Prometheus metrics (text)", roles="supervisor, admin")},
}
API_MODULES = web.AppKey("api_modules", tuple[ApiModule, ...])
"""Every feature module mounted on the app; ``/openapi.json`` describes them all."""


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    components = await request.app[STATUS].health()
    healthy = all(components.values())
    return web.json_response({"status": "ok" if healthy else "degraded", "components": components},
                             status=200 if healthy else 503)


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[API_MODULES]))


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_role(request, "supervisor", "admin")
    return web.Response(text=request.app[STATUS].metrics(), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
