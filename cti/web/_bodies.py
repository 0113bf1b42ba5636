"""Reading request bodies: one place for the 'a JSON body is required' rules every API module shares."""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["read_json", "read_object"]


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body (any JSON value); 400 without one. Malformed JSON is the error middleware's."""
    if not request.can_read_body:
        raise web.HTTPBadRequest(reason="a JSON request body is required")
    return await request.json()


async def read_object(request: web.Request) -> dict[str, Any]:
    """The JSON body, which must be an object."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(reason="the JSON body must be an object")
    return data
