"""Outbound calls: an agent's click-to-dial (``POST /api/calls``) and the do-not-call list staff keep."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.records import DoNotCallEntry
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_json
from cti.web._keys import DO_NOT_CALL, OUTBOUND, QUERY
from cti.web._openapi import operation
from cti.web._params import MAX_SQL_INT, IntParam
from cti.web._views import call_view

__all__ = ["Dial", "DoNotCallAdd", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
_ENTRY_ID = IntParam("entry_id", 1, MAX_SQL_INT, "the entry's id", where="path")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Dial(_Body):
    """Whom the agent calls: a customer they may see, on one of the record's phones."""

    customer_id: str = Field(pattern=r"^[0-9]{1,16}$")
    phone_index: int = Field(default=0, ge=0, le=20, description="which of the record's phones, primary (0) first")


class DoNotCallAdd(_Body):
    number: str = Field(min_length=3, max_length=32, description="any common format; kept as E.164")
    reason: str = Field(default="", max_length=200)


schemas: tuple[type[BaseModel], ...] = (Dial, DoNotCallAdd)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/calls": {"post": operation(
        "Call a customer (click-to-dial): the agent's own phone rings first; once answered, the customer is "
        "dialed with the service's caller id and bridged when they answer. An outbound interaction like any "
        "other (popped with the customer's record, wrapped up, in history and statistics as outbound). Only "
        "an agent logged in and on no call (409 agent_logged_out, agent_on_call), a customer they may see "
        "(404), a number cti may dial (422 number_not_allowed), not on the do-not-call list (409 "
        "number_do_not_call), a customer who agreed to be called (409 no_contact_consent), within the calling "
        "hours in the customer's time zone (409 outside_calling_hours, with zone, local_time, next_allowed); "
        "refused: nothing is dialed. Audited", roles="agent", body="Dial", ok=201, errors=(404, 409, 422))},
    "/api/do-not-call": {
        "get": operation("The do-not-call list, newest first: numbers (E.164) no outbound call dials (audited)",
                         roles="supervisor, admin"),
        "post": operation("Put a number on the do-not-call list (read as the CRM reads phones); 409 when it is on "
                          "it already; audited", roles="supervisor, admin", body="DoNotCallAdd", ok=201,
                          errors=(409,)),
    },
    "/api/do-not-call/{entry_id}": {"delete": operation(
        "Take a number off the do-not-call list (audited)", roles="supervisor, admin", params=[_ENTRY_ID.spec()],
        errors=(404,))},
}


def _entry_view(entry: DoNotCallEntry) -> dict[str, Any]:
    return {"entry_id": entry.entry_id, "number": entry.number, "reason": entry.reason, "added_by": entry.added_by,
            "added_at": entry.added_at.isoformat()}


@routes.post("/api/calls")
async def dial(request: web.Request) -> web.Response:
    user = principal(request)
    body = Dial.model_validate(await read_json(request))
    call = await request.app[OUTBOUND].dial(user, body.customer_id, phone_index=body.phone_index,
                                            source=source_of(request))
    return web.json_response(call_view(call, request.app[QUERY].now()), status=201)


@routes.get("/api/do-not-call")
async def list_do_not_call(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    entries = await request.app[DO_NOT_CALL].list(user, source=source_of(request))
    return web.json_response({"entries": [_entry_view(e) for e in entries]})


@routes.post("/api/do-not-call")
async def add_do_not_call(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    body = DoNotCallAdd.model_validate(await read_json(request))
    entry = await request.app[DO_NOT_CALL].add(user, body.number, reason=body.reason or None,
                                               source=source_of(request))
    return web.json_response(_entry_view(entry), status=201)


@routes.delete("/api/do-not-call/{entry_id}")
async def remove_do_not_call(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    entry = await request.app[DO_NOT_CALL].remove(user, _ENTRY_ID.read(request, 0), source=source_of(request))
    return web.json_response(_entry_view(entry))
