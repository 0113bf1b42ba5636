"""Reading request bodies and websocket frames: one place for the 'a JSON body is required' rules every API module
shares, and for how deep JSON may nest.

JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused before it is parsed: ``json.loads`` recurses once per
level, so a 30,000-deep array (a 60 KB body) raised RecursionError, and whatever kept such a value would recurse
again later. Nothing cti accepts nests more than a few levels.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from aiohttp import web

__all__ = ["MAX_BODY", "MAX_JSON_DEPTH", "JsonTooDeep", "decode_json", "read_json", "read_object"]

MAX_BODY: Final = 64 * 1024
"""The largest request body the controllers and front ends read (aiohttp's ``client_max_size``; larger: 413). A
caller with more to send (a front end renewing thousands of grants) splits it."""
MAX_JSON_DEPTH: Final = 32
# A string (to its closing quote, or to the end when unterminated: so every character is looked at once) or a
# bracket. Brackets inside strings are text.
_STRUCTURE: Final = re.compile(r'"(?:[^"\\]|\\.)*+"?|[\[\]{}]', re.DOTALL)


class JsonTooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def decode_json(text: str | bytes | bytearray) -> Any:
    """``json.loads``, after making sure ``text`` nests at most :data:`MAX_JSON_DEPTH` levels (else
    :class:`JsonTooDeep`); malformed JSON raises ``json.JSONDecodeError`` as usual."""
    if not isinstance(text, str):
        text = text.decode()  # as json.loads would (a UnicodeDecodeError is the caller's, as there)
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:  # else it cannot nest deeper: nothing to look at
        depth = 0
        for match in _STRUCTURE.finditer(text):
            token = match.group()
            if token in ("[", "{"):
                depth += 1
                if depth > MAX_JSON_DEPTH:
                    raise JsonTooDeep()
            elif token in ("]", "}"):
                depth -= 1
    return json.loads(text)


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body (any JSON value); 400 without one, or nested too deep. Malformed JSON is the error
    middleware's."""
    if not request.can_read_body:
        raise web.HTTPBadRequest(reason="a JSON request body is required")
    try:
        return await request.json(loads=decode_json)
    except JsonTooDeep as exc:
        raise web.HTTPBadRequest(reason=f"request body: {exc}") from exc


async def read_object(request: web.Request) -> dict[str, Any]:
    """The JSON body, which must be an object."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(reason="the JSON body must be an object")
    return data
