"""The browser pages (agent desktop, supervisor dashboard, workforce planning), served by cti itself.

Pages are static files with no data in them, so they are public; everything they show comes from the
API and websockets, which check the caller's token like any other client. No build step: plain ES modules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel

from cti.web._openapi import operation, path_param

__all__ = ["STATIC_DIR", "openapi_paths", "routes", "schemas"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
_CONTENT_TYPES: Final = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css|svg)$")

routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
PAGE_POLICY = ("default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'self'")
"""The pages talk only to the server that served them ('self' covers its own ws:/wss: in CSP 3) and are never
framed by another site (clickjacking)."""
openapi_paths: dict[str, dict[str, Any]] = {
    "/": {"get": operation("Redirect to the pages' index", roles="anyone", public=True, ok=302)},
    "/ui/{name}": {"get": operation("A page or its script/style (static, no data)", roles="anyone", public=True,
                                    params=[path_param("name", pattern=_NAME.pattern)], errors=(404,))},
}


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui/index.html")


@routes.get("/ui/{name}")
async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    # A fixed pattern instead of path normalisation: nothing outside the folder can ever be named.
    path = STATIC_DIR / name
    if not _NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound(reason=f"no page {name!r}")
    return web.Response(body=path.read_bytes(), content_type=_CONTENT_TYPES[path.suffix], charset="utf-8",
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY})
