"""Numbers in query strings and paths: each parameter declared once, with its range, and that one declaration both
reads the request and describes the parameter in ``/openapi.json`` — the document promises what the handler checks.

A query number out of its range is the request's mistake (400); a path number out of its range names nothing
(404). Digits are counted before they are converted, so a number thousands of digits long costs nothing and never
reaches a database column it cannot fit (SQLite's and PostgreSQL's integers stop at 2**63 and 2**31).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, overload

from aiohttp import web

__all__ = ["MAX_SQL_INT", "IntParam", "NumberParam", "timestamp"]

MAX_SQL_INT: Final = 2**31 - 1
"""The largest id or version a client may name: PostgreSQL's INTEGER, the narrowest column we store them in."""
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_MAX_NUMBER_CHARS: Final = 32
_SHOWN: Final = 24  # how much of a refused value an error message repeats


def _raw(request: web.Request, name: str, where: Literal["query", "path"]) -> str | None:
    return request.match_info.get(name) if where == "path" else request.query.get(name)


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "...")


def _refuse(name: str, where: Literal["query", "path"], raw: str, expected: str) -> web.HTTPException:
    if where == "path":
        return web.HTTPNotFound(reason=f"no {name.removesuffix('_id')} {_shown(raw)}")  # as the services say it
    return web.HTTPBadRequest(reason=f"{name} must be {expected}")


@dataclass(frozen=True, slots=True)
class IntParam:
    """An integer parameter from ``low`` to ``high`` (or one of ``choices``)."""

    name: str
    low: int
    high: int
    description: str = ""
    where: Literal["query", "path"] = "query"
    choices: tuple[int, ...] = ()

    @property
    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        return f"an integer from {self.low} to {self.high}"

    def spec(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.choices:
            schema["enum"] = list(self.choices)
        return _spec(self.name, self.where, schema, self.description)

    @overload
    def read(self, request: web.Request) -> int | None: ...

    @overload
    def read(self, request: web.Request, default: int) -> int: ...

    def read(self, request: web.Request, default: int | None = None) -> int | None:
        """The parameter's value, ``default`` when absent; out of range: 400 (query) or 404 (path)."""
        raw = _raw(request, self.name, self.where)
        if raw is None:
            return default
        digits = raw[1:] if raw[:1] == "-" else raw
        # Bounded before int(): Python refuses to convert over 4,300 digits (a ValueError), and big ones cost.
        if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(max(abs(self.low), self.high)))):
            raise _refuse(self.name, self.where, raw, self.expected)
        value = int(raw)
        if not self.low <= value <= self.high or (self.choices and value not in self.choices):
            raise _refuse(self.name, self.where, raw, self.expected)
        return value


@dataclass(frozen=True, slots=True)
class NumberParam:
    """A decimal number parameter from ``low`` to ``high`` (finite: no ``inf`` or ``nan``)."""

    name: str
    low: float
    high: float
    description: str = ""
    where: Literal["query", "path"] = "query"

    @property
    def expected(self) -> str:
        return f"a number from {self.low:g} to {self.high:g}"

    def spec(self) -> dict[str, Any]:
        return _spec(self.name, self.where, {"type": "number", "minimum": self.low, "maximum": self.high},
                     self.description)

    @overload
    def read(self, request: web.Request) -> float | None: ...

    @overload
    def read(self, request: web.Request, default: float) -> float: ...

    def read(self, request: web.Request, default: float | None = None) -> float | None:
        raw = _raw(request, self.name, self.where)
        if raw is None:
            return default
        if len(raw) > _MAX_NUMBER_CHARS or not _DECIMAL.fullmatch(raw):
            raise _refuse(self.name, self.where, raw, self.expected)
        value = float(raw)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise _refuse(self.name, self.where, raw, self.expected)
        return value


def _spec(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if description:
        spec["description"] = description
    return spec


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
