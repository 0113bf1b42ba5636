"""The settings in force, for admins to read: read-only (they come from the environment or the config file and
take a restart to change), every secret left out."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cti.settings import effective_settings
from cti.web._auth import require_role
from cti.web._keys import SETTINGS
from cti.web._openapi import operation

__all__ = ["openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/settings": {"get": operation(
        "The settings in force, each with its group, environment variable, description and whether it is the "
        "default; secrets are never shown (a secret's value is null, a password inside a URL is masked)",
        roles="admin")},
}


@routes.get("/api/settings")
async def get_settings(request: web.Request) -> web.Response:
    require_role(request, "admin")
    return web.json_response({"settings": effective_settings(request.app[SETTINGS])})
