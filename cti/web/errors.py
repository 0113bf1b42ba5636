"""One error shape for the whole API: ``{"error": {"status": 404, "message": "..."}}``.

Domain and adapter errors are mapped to HTTP statuses here, and only here: first the few that need their own
answer, then by the kind of :mod:`cti.errors` each is (not found 404, conflict 409, invalid input 422 with its
problems as ``details``, unavailable 503).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from cti.acd import ExtensionInUse, InvalidTransition, UnknownAgent, UnknownQueue, UnknownWork
from cti.ari import AriError
from cti.controller import UnknownExtension
from cti.errors import Conflict, InvalidInput, NotFound, Unavailable
from cti.persistence import StorageError

__all__ = ["error_middleware", "json_error"]

log = logging.getLogger("cti.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, *, details: object = None,
               headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {"status": status, "message": message}
    if details is not None:
        body["details"] = details
    return web.json_response({"error": body}, status=status, headers=headers)


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]} for e in exc.errors()]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k == "WWW-Authenticate"}
        return json_error(exc.status, exc.reason, headers=headers or None)
    except json.JSONDecodeError as exc:
        return json_error(400, f"request body is not valid JSON: {exc.msg} at position {exc.pos}")
    except UnicodeDecodeError:
        return json_error(400, "request body is not valid UTF-8")
    except ValidationError as exc:
        return json_error(422, "request body is invalid", details=_validation_details(exc))
    except (UnknownAgent, UnknownWork, UnknownQueue) as exc:
        return json_error(404, str(exc))
    except UnknownExtension as exc:
        return json_error(422, str(exc))
    except (InvalidTransition, ExtensionInUse) as exc:
        return json_error(409, str(exc))
    except AriError as exc:
        log.warning("Asterisk unavailable for %s %s: %s", request.method, request.path, exc)
        return json_error(503, f"Asterisk is unavailable: {exc}")
    except NotFound as exc:
        return json_error(404, str(exc))
    except Conflict as exc:  # before Unavailable: a StorageConflict is both
        return json_error(409, str(exc))
    except InvalidInput as exc:
        return json_error(422, str(exc), details=[{"field": p.field, "problem": p.reason} for p in exc.problems])
    except StorageError as exc:
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
        return json_error(503, "the database is unavailable; try again shortly")
    except Unavailable as exc:
        log.warning("unavailable for %s %s: %s", request.method, request.path, exc)
        return json_error(503, "a component cti depends on is unavailable; try again shortly")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged")
