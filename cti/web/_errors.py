"""One error shape for the whole API: ``{"error": {"status": 404, "message": "..."}}``.

Errors become HTTP statuses here and only here, through one table: first what the request itself got wrong
(malformed JSON, a body that does not validate), then by the kind of :mod:`cti.errors` each error is. A kind
is what the domain and the adapters declare; no package below the web knows HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from cti.errors import Conflict, CtiError, Forbidden, InvalidInput, NotFound, TooMany, Unavailable

__all__ = ["STATUS_OF", "error_middleware", "json_error"]

log = logging.getLogger("cti.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS_OF: tuple[tuple[type[CtiError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),  # before Unavailable: a StorageConflict is both
    (InvalidInput, 422),
    (Unavailable, 503),
    (TooMany, 429),
)
"""The kinds of :mod:`cti.errors` and their statuses, the first that matches wins."""


def json_error(status: int, message: str, *, details: object = None,
               headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {"status": status, "message": message}
    if details is not None:
        body["details"] = details
    return web.json_response({"error": body}, status=status, headers=headers)


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]} for e in exc.errors()]


def _answer(request: web.Request, exc: CtiError) -> web.Response:
    kind, status = next(((kind, code) for kind, code in STATUS_OF if isinstance(exc, kind)), (CtiError, 500))
    if kind is Unavailable:
        log.warning("unavailable for %s %s: %s", request.method, request.path, exc)
        # Which component, not its internals (a database URL, a query).
        return json_error(status, exc.public_message if isinstance(exc, Unavailable) else str(exc))
    if isinstance(exc, InvalidInput) and kind is InvalidInput:
        return json_error(status, str(exc), details=[{"field": p.field, "problem": p.reason} for p in exc.problems])
    if isinstance(exc, TooMany):
        return json_error(status, str(exc), headers={"Retry-After": str(exc.retry_after)})
    if status == 500:
        log.error("unmapped error in %s %s: %r", request.method, request.path, exc, exc_info=exc)
        return json_error(500, "internal error; it has been logged")
    return json_error(status, str(exc))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("WWW-Authenticate", "Retry-After")}
        return json_error(exc.status, exc.reason, headers=headers or None)
    except json.JSONDecodeError as exc:
        return json_error(400, f"request body is not valid JSON: {exc.msg} at position {exc.pos}")
    except UnicodeDecodeError:
        return json_error(400, "request body is not valid UTF-8")
    except ValidationError as exc:
        return json_error(422, "request body is invalid", details=_validation_details(exc))
    except CtiError as exc:
        return _answer(request, exc)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged")
