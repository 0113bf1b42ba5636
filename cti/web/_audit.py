"""The audit log over HTTP: every state-changing request written to it, and admins' read of it.

The middleware audits each POST, PUT, PATCH and DELETE of a signed-in user, and every request of a partner
token, reads included, whatever the route (so a new route cannot forget it): the route's template, its path ids
and the answer's status; never a body. Reads of personal data are audited by their services, before the data
leaves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from cti.errors import CtiError
from cti.records import AuditRecord
from cti.services import AuditTrail
from cti.web._auth import require_role, signed_in
from cti.web._errors import STATUS_OF
from cti.web._keys import AUDIT
from cti.web._openapi import operation, query_param
from cti.web._params import MAX_SQL_INT, IntParam, timestamp

__all__ = ["make_audit_middleware", "openapi_paths", "routes", "schemas", "source_of"]

routes = web.RouteTableDef()
schemas: tuple[Any, ...] = ()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACTION = {"POST": "create", "PUT": "change", "PATCH": "change", "DELETE": "delete"}
_BEFORE = IntParam("before_id", 1, MAX_SQL_INT, "entries older than this one (paging back)")
_LIMIT = IntParam("limit", 1, 1000, "how many entries at most (100 when left out)")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/audit": {"get": operation(
        "The audit log, newest first: who viewed or changed what, when and from where (ids, never content); "
        "page back with before_id", roles="admin",
        params=[query_param("actor", maxLength=64), query_param("action", maxLength=16),
                query_param("subject_type", maxLength=32), query_param("subject_id", maxLength=128),
                query_param("since", format="date-time"), query_param("until", format="date-time"),
                _BEFORE.spec(), _LIMIT.spec()],
        errors=(400,))},
}


def source_of(request: web.Request) -> str:
    """Where a request came from, for the audit log (the peer's address)."""
    return (request.remote or "unknown")[:64]


def make_audit_middleware(audit: AuditTrail) -> Middleware:
    @web.middleware
    async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = signed_in(request)
        if user is None or (request.method not in _CHANGES and user.role != "partner"):
            return await handler(request)  # public paths change nothing; staff's reads are audited by their services
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except CtiError as exc:
            status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 500)
            raise
        except ValidationError:  # a body refused by its model: the error middleware answers 422, so says the log
            status = 422
            raise
        finally:
            resource = request.match_info.route.resource
            template = resource.canonical if resource is not None else request.path
            # After the answer is decided: the change is made (or refused) whether or not the log is quick.
            audit.record_soon(user, _ACTION.get(request.method, "view") if status < 400 else "denied",
                              "route", template, source=source_of(request),
                              detail={"method": request.method, "status": status, **request.match_info})

    return audit_middleware


def _entry(record: AuditRecord) -> dict[str, Any]:
    return {"audit_id": record.audit_id, "at": record.at.isoformat(), "actor": record.actor, "role": record.role,
            "action": record.action, "subject_type": record.subject_type, "subject_id": record.subject_id,
            "source": record.source, "detail": record.detail}


@routes.get("/api/audit")
async def read_audit(request: web.Request) -> web.Response:
    user = require_role(request, "admin")
    query = request.query
    since: datetime | None = timestamp(query, "since")
    until: datetime | None = timestamp(query, "until")
    audit = request.app[AUDIT]
    records = await audit.search(user, who=query.get("actor"), action=query.get("action"),
                                 subject_type=query.get("subject_type"), subject_id=query.get("subject_id"),
                                 since=since, until=until,
                                 before_id=_BEFORE.read(request), limit=_LIMIT.read(request, 100))
    await audit.record(user, "list", "audit", "*", source=source_of(request),
                       detail={"entries": len(records)})
    return web.json_response({"entries": [_entry(r) for r in records]})
