"""The browser pages (agent desktop, supervisor dashboard, workforce planning), served by cti itself.

Pages are static files with no data in them, so they are public; everything they show comes from the
API and websockets, which check the caller's token like any other client. No build step: plain ES modules,
their message catalogues (``static/i18n/<lang>/<page>.json``) and vendored third-party files
(``static/vendor/``, copied in from npm packages: nothing is fetched at run time).
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
LANGUAGES: Final = ("en", "id")
_CONTENT_TYPES: Final = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
                         ".json": "application/json", ".ico": "image/x-icon", ".png": "image/png",
                         ".woff2": "font/woff2"}
_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css|svg|ico|png)$")
_CATALOG: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*\.json$")
_VENDORED: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*\.(js|css|json|woff2|svg)$")
_TEXT: Final = frozenset({".html", ".js", ".css", ".svg", ".json"})

routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
PAGE_POLICY = ("default-src 'self'; connect-src 'self'; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
"""The pages talk only to the server that served them ('self' covers its own ws:/wss: in CSP 3) and are never
framed by another site (clickjacking). A recording's player plays a blob the page fetched itself (with the
session's credentials: never a token in a URL), hence ``blob:`` for media."""
openapi_paths: dict[str, dict[str, Any]] = {
    "/": {"get": operation("Redirect to the pages' index", roles="anyone", public=True, ok=302)},
    "/ui/{name}": {"get": operation("A page or its script/style (static, no data)", roles="anyone", public=True,
                                    params=[path_param("name", pattern=_NAME.pattern)], errors=(404,))},
    "/ui/i18n/{lang}/{name}": {"get": operation(
        "A page's message catalogue in one language (static JSON, no data)", roles="anyone", public=True,
        params=[path_param("lang", enum=list(LANGUAGES)), path_param("name", pattern=_CATALOG.pattern)],
        errors=(404,))},
    "/ui/vendor/{name}": {"get": operation(
        "A vendored third-party file (a library copied in from npm; static)", roles="anyone", public=True,
        params=[path_param("name", pattern=_VENDORED.pattern)], errors=(404,))},
    "/favicon.ico": {"get": operation("The console's icon", roles="anyone", public=True)},
}


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui/index.html")


def _file(folder: Path, name: str, pattern: re.Pattern[str]) -> web.Response:
    # A fixed pattern instead of path normalisation: nothing outside the folder can ever be named (no slash, no
    # leading dot), and only files the pattern's suffixes allow are served.
    path = folder / name
    if not pattern.match(name) or not path.is_file():
        raise web.HTTPNotFound(reason=f"no file {name!r}")
    text = path.suffix in _TEXT
    return web.Response(body=path.read_bytes(), content_type=_CONTENT_TYPES[path.suffix],
                        charset="utf-8" if text else None,
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY,
                                 "X-Content-Type-Options": "nosniff"})


@routes.get("/ui/{name}")
async def static_file(request: web.Request) -> web.Response:
    return _file(STATIC_DIR, request.match_info["name"], _NAME)


@routes.get("/ui/i18n/{lang}/{name}")
async def catalog(request: web.Request) -> web.Response:
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound(reason=f"no language {lang!r}")
    return _file(STATIC_DIR / "i18n" / lang, request.match_info["name"], _CATALOG)


@routes.get("/ui/vendor/{name}")
async def vendored(request: web.Request) -> web.Response:
    return _file(STATIC_DIR / "vendor", request.match_info["name"], _VENDORED)


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    return _file(STATIC_DIR, "favicon.ico", _NAME)
