"""Query parameters read one way everywhere: every number has a range, every time a zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import overload

from aiohttp import web

__all__ = ["bounded_int", "timestamp"]


@overload
def bounded_int(query: Mapping[str, str], name: str, low: int, high: int, *, default: int) -> int: ...


@overload
def bounded_int(query: Mapping[str, str], name: str, low: int, high: int, *, default: None) -> int | None: ...


def bounded_int(query: Mapping[str, str], name: str, low: int, high: int, *, default: int | None) -> int | None:
    """``query[name]`` as an integer in [low, high]; ``default`` when absent; 400 otherwise."""
    raw = query.get(name)
    if raw is None:
        return default
    # Length first: int() of thousands of digits is slow, and no range here needs more than 19.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(reason=f"{name} must be an integer from {low} to {high}")
    return int(raw)


def timestamp(query: Mapping[str, str], name: str) -> datetime | None:
    """``query[name]`` as an ISO 8601 time with a zone; ``None`` when absent; 400 otherwise."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw) if len(raw) <= 40 else None
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise web.HTTPBadRequest(reason=f"{name} must be an ISO 8601 time with a zone, e.g. 2026-01-31T08:00:00+07:00")
    return value
