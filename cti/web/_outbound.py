"""Outbound calls: an agent's click-to-dial (``POST /api/calls``), the do-not-call list staff keep, and scheduled
callbacks (``/api/callbacks``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.acd import CallbackStatus, ScheduledCallback
from cti.records import DoNotCallEntry
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_json
from cti.web._keys import CALLBACKS, DO_NOT_CALL, OUTBOUND, QUERY
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import MAX_SQL_INT, IntParam
from cti.web._views import call_view

__all__ = ["CallbackCreate", "CallbackSkip", "Dial", "DoNotCallAdd", "callback_view", "openapi_paths", "routes",
           "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
_ENTRY_ID = IntParam("entry_id", 1, MAX_SQL_INT, "the entry's id", where="path")
_LIMIT = IntParam("limit", 1, 1000, "the newest this many (default 100)")
_CALLBACK_ID = path_param("callback_id", pattern=r"^[0-9a-f]{1,32}$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Dial(_Body):
    """Whom the agent calls: a customer they may see, on one of the record's phones."""

    customer_id: str = Field(pattern=r"^[0-9]{1,16}$")
    phone_index: int = Field(default=0, ge=0, le=20, description="which of the record's phones, primary (0) first")


class DoNotCallAdd(_Body):
    number: str = Field(min_length=3, max_length=32, description="any common format; kept as E.164")
    reason: str = Field(default="", max_length=200)


class CallbackCreate(_Body):
    """A callback to schedule: whom, when, why."""

    customer_id: str = Field(pattern=r"^[0-9]{1,16}$")
    due_at: datetime = Field(description="when to call, with its UTC offset; from now to 90 days ahead")
    reason: str = Field(min_length=1, max_length=500, description="shown to the agent in the preview")
    agent_first: bool = Field(default=False, description="to the agent scheduling it alone at first ('me first')")
    phone_index: int = Field(default=0, ge=0, le=20, description="which of the record's phones, primary (0) first")


class CallbackSkip(_Body):
    due_at: datetime | None = Field(default=None, description="call back then instead (with its UTC offset); "
                                                               "none: after the retry interval")


schemas: tuple[type[BaseModel], ...] = (Dial, DoNotCallAdd, CallbackCreate, CallbackSkip)
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
    "/api/callbacks": {
        "get": operation(
            "Scheduled callbacks, the latest due first, with their status (scheduled, previewing, dialing, completed, "
            "failed, refused, cancelled), every attempt's outcome, and whom it calls (customer_name, "
            "customer_number masked to its last three digits, as the dashboard shows callers): an agent's own, "
            "a supervisor's scope's (its queues, its teams' agents), an admin's all; audited",
            roles="agent (own), supervisor (own scope), admin",
            params=[query_param("status", enum=[s.value for s in CallbackStatus]), _LIMIT.spec()], errors=(400,)),
        "post": operation(
            "Schedule a callback to a customer the caller may see; when due it is previewed to an agent (the one "
            "who scheduled it first if agent_first, then the queue's team), who dials or skips it; missed attempts "
            "are retried (CTI_SCHEDULED_CALLBACK_*); audited", roles="agent, supervisor (own scope), admin",
            body="CallbackCreate", ok=201, errors=(404, 422)),
    },
    "/api/callbacks/{callback_id}": {
        "get": operation("One scheduled callback", roles="agent (own), supervisor (own scope), admin",
                         params=[_CALLBACK_ID], errors=(404,)),
        "delete": operation("Cancel a scheduled callback (409 once previewed, dialing or over); audited",
                            roles="agent (own), supervisor (own scope), admin", params=[_CALLBACK_ID],
                            errors=(404, 409)),
    },
    "/api/callbacks/{callback_id}/dial": {"post": operation(
        "Dial the callback previewed to the agent: the contact policy decides now (409 outside_calling_hours: moved "
        "to the next allowed time; number_do_not_call, no_contact_consent: refused for good; 422 "
        "number_not_allowed), else the agent's phone rings, then the customer's, as POST /api/calls",
        roles="the agent it is previewed to", params=[_CALLBACK_ID], errors=(404, 409, 422))},
    "/api/callbacks/{callback_id}/skip": {"post": operation(
        "Skip the callback previewed to the agent: due again after the retry interval, or at due_at",
        roles="the agent it is previewed to", body="CallbackSkip", params=[_CALLBACK_ID], errors=(404, 409))},
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


def callback_view(callback: ScheduledCallback, contact: tuple[str, str] | None = None) -> dict[str, Any]:
    """The callback; in a list, ``contact``: the customer's name and masked number."""
    view: dict[str, Any] = {
            "callback_id": callback.callback_id, "customer_id": callback.customer_id, "queue": callback.queue,
            "agent_id": callback.agent_id, "agent_first": callback.agent_first, "phone_index": callback.phone_index,
            "reason": callback.reason, "due_at": callback.due_at.isoformat(), "status": callback.status.value,
            "attempts": [a.as_json() for a in callback.attempts], "dialed": callback.dialed,
            "call_id": callback.call_id, "created_by": callback.created_by,
            "created_at": callback.created_at.isoformat() if callback.created_at else None}
    if contact is not None:
        view["customer_name"], view["customer_number"] = contact
    return view


@routes.post("/api/callbacks")
async def schedule_callback(request: web.Request) -> web.Response:
    user = principal(request)
    body = CallbackCreate.model_validate(await read_json(request))
    callback = await request.app[CALLBACKS].schedule(
        user, body.customer_id, due_at=body.due_at, reason=body.reason, agent_first=body.agent_first,
        phone_index=body.phone_index, source=source_of(request))
    return web.json_response(callback_view(callback), status=201)


@routes.get("/api/callbacks")
async def list_callbacks(request: web.Request) -> web.Response:
    user = principal(request)
    status = request.query.get("status")
    if status is not None and status not in {s.value for s in CallbackStatus}:
        raise web.HTTPBadRequest(reason="status must be one of " + ", ".join(s.value for s in CallbackStatus))
    callbacks = await request.app[CALLBACKS].list(user, statuses=(status,) if status else (),
                                                  limit=_LIMIT.read(request, 100), source=source_of(request))
    contacts = await request.app[CALLBACKS].contacts(callbacks)
    return web.json_response({"callbacks": [callback_view(c, contacts.get(c.callback_id)) for c in callbacks]})


@routes.get("/api/callbacks/{callback_id}")
async def get_callback(request: web.Request) -> web.Response:
    callback = await request.app[CALLBACKS].get(principal(request), request.match_info["callback_id"])
    return web.json_response(callback_view(callback))


@routes.delete("/api/callbacks/{callback_id}")
async def cancel_callback(request: web.Request) -> web.Response:
    callback = await request.app[CALLBACKS].cancel(principal(request), request.match_info["callback_id"],
                                                   source=source_of(request))
    return web.json_response(callback_view(callback))


@routes.post("/api/callbacks/{callback_id}/dial")
async def dial_callback(request: web.Request) -> web.Response:
    callback = await request.app[CALLBACKS].dial(principal(request), request.match_info["callback_id"],
                                                 source=source_of(request))
    return web.json_response(callback_view(callback))


@routes.post("/api/callbacks/{callback_id}/skip")
async def skip_callback(request: web.Request) -> web.Response:
    user = principal(request)
    body = CallbackSkip.model_validate(await read_json(request)) if request.can_read_body else CallbackSkip()
    callback = await request.app[CALLBACKS].skip(user, request.match_info["callback_id"], due_at=body.due_at)
    return web.json_response(callback_view(callback))
