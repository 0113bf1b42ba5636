"""One error shape for the whole API: ``{"error": {"status": 404, "code": "not_found", "message": "..."}}``.

``message`` is English, for logs and machines; ``code`` (with ``params`` for the variable parts) is what a client
says in its user's language; each item of ``details`` has a ``code`` too. The codes are listed in docs/api.md.

Errors become HTTP statuses here and only here, through one table: first what the request itself got wrong
(malformed JSON, a body that does not validate), then by the kind of :mod:`cti.errors` each error is. A kind
is what the domain and the adapters declare; no package below the web knows HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from cti.errors import Conflict, CtiError, Forbidden, InvalidInput, NotFound, TooMany, Unavailable

__all__ = ["CODE_OF_STATUS", "STATUS_OF", "coded", "error_middleware", "json_error"]

log = logging.getLogger("cti.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HttpError = TypeVar("_HttpError", bound=web.HTTPException)

STATUS_OF: tuple[tuple[type[CtiError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),  # before Unavailable: a StorageConflict is both
    (InvalidInput, 422),
    (Unavailable, 503),
    (TooMany, 429),
)
"""The kinds of :mod:`cti.errors` and their statuses, the first that matches wins."""


CODE_OF_STATUS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "throttled",
    500: "internal",
    503: "unavailable",
}
"""The code of an error nothing named more precisely, by its status."""

_CODE = "cti_code"
_PARAMS = "cti_params"


def coded(exc: _HttpError, code: str, **params: object) -> _HttpError:
    """An aiohttp HTTP error of the web layer with its machine code (and params), as a :class:`CtiError` has."""
    vars(exc)[_CODE] = code
    vars(exc)[_PARAMS] = params
    return exc


def json_error(status: int, message: str, *, code: str | None = None, params: Mapping[str, object] | None = None,
               details: object = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {"status": status, "code": code or CODE_OF_STATUS.get(status, "error"),
                               "message": message}
    if params:
        body["params"] = dict(params)
    if details is not None:
        body["details"] = details
    return web.json_response({"error": body}, status=status, headers=headers)


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    # pydantic's error type ("missing", "string_too_short", "literal_error") is the problem's stable code.
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "code": e["type"], "problem": e["msg"]}
            for e in exc.errors()]


def _answer(request: web.Request, exc: CtiError) -> web.Response:
    kind, status = next(((kind, code) for kind, code in STATUS_OF if isinstance(exc, kind)), (CtiError, 500))
    if kind is Unavailable:
        log.warning("unavailable for %s %s: %s", request.method, request.path, exc)
        # Which component, not its internals (a database URL, a query).
        # Only the kind's code: a specific one could say more than the public message does.
        return json_error(status, exc.public_message if isinstance(exc, Unavailable) else str(exc), code="unavailable")
    if isinstance(exc, InvalidInput) and kind is InvalidInput:
        return json_error(status, str(exc), code=exc.code, params=exc.params,
                          details=[{"field": p.field, "code": p.code, "problem": p.reason} for p in exc.problems])
    if isinstance(exc, TooMany):
        return json_error(status, str(exc), code=exc.code, params=exc.params,
                          headers={"Retry-After": str(exc.retry_after)})
    if status == 500:
        log.error("unmapped error in %s %s: %r", request.method, request.path, exc, exc_info=exc)
        return json_error(500, "internal error; it has been logged")
    return json_error(status, str(exc), code=exc.code, params=exc.params)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("WWW-Authenticate", "Retry-After")}
        extra = vars(exc)
        return json_error(exc.status, exc.reason, code=extra.get(_CODE), params=extra.get(_PARAMS),
                          headers=headers or None)
    except json.JSONDecodeError as exc:
        return json_error(400, f"request body is not valid JSON: {exc.msg} at position {exc.pos}", code="bad_json")
    except UnicodeDecodeError:
        return json_error(400, "request body is not valid UTF-8", code="bad_json")
    except ValidationError as exc:
        return json_error(422, "request body is invalid", code="invalid_body", details=_validation_details(exc))
    except CtiError as exc:
        return _answer(request, exc)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged")
