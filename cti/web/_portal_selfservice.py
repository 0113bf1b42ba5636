"""The customer portal's self-service API: orders and their shipment steps, contact details and preferences, the
customer's own history, and callback requests.

Every handler first asks :func:`cti.web._portal.customer` for the signed-in customer (401 otherwise; the CSRF
token on every change) and then touches only that customer's data (:class:`cti.services.PortalSelfService`):
another customer's order or callback is the same 404 as a missing one. Changes take JSON only (a form on another
site cannot post it).

- ``GET /api/portal/orders``, ``GET /api/portal/orders/{order_number}``: the orders; one with its shipment's
  steps, items and invoices (a look is noted in the history).
- ``PATCH /api/portal/details``, ``GET|PATCH /api/portal/preferences``: e-mail and primary phone; language and
  consents.
- ``GET /api/portal/history``: contacts with their outcome, never agents' notes.
- ``GET|POST /api/portal/callbacks``, ``DELETE /api/portal/callbacks/{callback_id}``: callback requests.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cti.acd import CallbackStatus, ScheduledCallback
from cti.crm import ContactRecord, CustomerRecord, OrderDetail, read_web_reason
from cti.errors import NotFound
from cti.services import ContactChange, Preferences
from cti.web._audit import source_of
from cti.web._bodies import read_object
from cti.web._keys import PORTAL_SELF
from cti.web._openapi import operation, path_param
from cti.web._portal import customer, invoice_view, json_only, mask_phone, me_view, order_view

__all__ = ["CallbackRequest", "DetailsChange", "PreferencesChange", "callback_view", "contact_view",
           "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
_ROLE: Final = "a customer signed in on the portal (cti_portal cookie), their own data only"
_ORDER_NUMBER = path_param("order_number", pattern=r"^[0-9]{1,32}$")
_CALLBACK_ID = path_param("callback_id", pattern=r"^[0-9a-f]{1,32}$")
PORTAL_STATUS: Final = {
    CallbackStatus.SCHEDULED: "scheduled", CallbackStatus.PREVIEWING: "dialing", CallbackStatus.DIALING: "dialing",
    CallbackStatus.COMPLETED: "done", CallbackStatus.FAILED: "failed", CallbackStatus.REFUSED: "failed",
    CallbackStatus.CANCELLED: "cancelled"}
"""What the customer is told of their callback: an agent about to call (previewing) is already "dialing"."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DetailsChange(_Body):
    """New contact details: either or both."""

    email: str | None = Field(None, max_length=254, description="a new e-mail address; \"\" removes it")
    phone: str | None = Field(None, min_length=3, max_length=32,
                              description="a new primary phone number, any common format (kept as E.164)")

    @model_validator(mode="after")
    def _something(self) -> DetailsChange:
        if self.email is None and self.phone is None:
            raise ValueError("give an e-mail address or a phone number to change")
        return self


class PreferencesChange(_Body):
    """New preferences: any of them."""

    language: Literal["id", "en"] | None = Field(None, description="the language we write and speak to you in")
    phone_calls: bool | None = Field(None, description="we may call you about your own business (callbacks)")
    email: bool | None = Field(None, description="we may e-mail you")
    marketing_calls: bool | None = Field(None, description="we may call you with offers")
    data_sharing: bool | None = Field(None, description="we may use your data beyond serving you")
    surveys: bool | None = Field(None, description="we may ask you to rate your call on the line after the agent "
                                                   "hangs up")

    @model_validator(mode="after")
    def _something(self) -> PreferencesChange:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one preference to change")
        return self


class CallbackRequest(_Body):
    """When to call: a time, or as soon as possible (``at`` left out or null)."""

    at: AwareDatetime | None = Field(None, description="when to call, with its UTC offset (within the calling "
                                                       "hours in your time zone); null: as soon as possible")
    phone_index: int = Field(0, ge=0, le=20, description="which of your phones, primary (0) first")
    topic: str | None = Field(None, max_length=200, description="what it is about, for the agent")


schemas: tuple[type[BaseModel], ...] = (DetailsChange, PreferencesChange, CallbackRequest)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/portal/orders": {"get": operation(
        "The signed-in customer's orders (the latest 50), with status and shipment status", roles=_ROLE,
        public=True, errors=(401,))},
    "/api/portal/orders/{order_number}": {"get": operation(
        "One of the customer's orders: items, total, the steps of its shipment (oldest first: packed, picked_up, "
        "in_transit, at_hub, out_for_delivery, delivered, failed_delivery, returned, each with time and place) "
        "and its invoices. Another customer's order is 404 order_not_found like a missing one. The look is "
        "audited and noted in the customer's history (looks at one order within 15 minutes are one)",
        roles=_ROLE, public=True, params=[_ORDER_NUMBER],
        errors=(401, 404))},
    "/api/portal/details": {"patch": operation(
        "Change the customer's e-mail address and/or primary phone, checked as the CRM checks them (422 "
        "invalid_contact_details with details; email_unavailable, phone_unavailable for one that is someone "
        "else's). Audited (which fields, not the values) and noted in the history; answers the masked profile",
        roles=_ROLE, public=True, body="DetailsChange", errors=(401, 403))},
    "/api/portal/preferences": {
        "get": operation("The customer's language and consents (phone_calls, email, marketing_calls, data_sharing, "
                         "surveys)",
                         roles=_ROLE, public=True, errors=(401,)),
        "patch": operation("Change the customer's language and consents; audited with what changed and noted in "
                           "the history", roles=_ROLE, public=True, body="PreferencesChange", errors=(401, 403))},
    "/api/portal/history": {"get": operation(
        "The customer's own interactions, the most recent first (the latest 50): calls, chats, e-mails and portal "
        "actions with channel, time, reason and outcome; never agents' notes", roles=_ROLE, public=True,
        errors=(401,))},
    "/api/portal/callbacks": {
        "get": operation("The callbacks the customer asked for on the portal, the latest first, with status "
                         "(scheduled, dialing, done, failed, cancelled) and whether they may still cancel",
                         roles=_ROLE, public=True, errors=(401,)),
        "post": operation(
            "Ask to be called back at a time or as soon as possible: a scheduled callback agents are previewed "
            "and dial. Refused: a time outside the calling hours in the customer's zone (422 "
            "outside_calling_hours, with zone, hours, next_allowed; as soon as possible out of hours is due when "
            "they begin), a time past or over 90 days ahead (422 callback_time), no consent to be called (409 "
            "no_contact_consent), a number on the do-not-call list (409 number_do_not_call) or one cti may not "
            "dial (422 number_not_allowed), one request waiting already (409 callback_pending), more than 3 "
            "requests a day (429 with Retry-After). Audited and noted in the history",
            roles=_ROLE, public=True, body="CallbackRequest", ok=201, errors=(401, 403, 409, 429))},
    "/api/portal/callbacks/{callback_id}": {"delete": operation(
        "Cancel the customer's own callback request while it is scheduled (409 callback_not_scheduled once an "
        "agent has it or it is over; 404 for anyone else's). Audited and noted in the history",
        roles=_ROLE, public=True, params=[_CALLBACK_ID], errors=(401, 403, 404, 409))},
}


# -- views --------------------------------------------------------------------------------------------------------
def _detail_view(detail: OrderDetail, today: date) -> dict[str, Any]:
    order = detail.order
    items = []
    for item in order.items:
        product = detail.products.get(item.sku)
        items.append({"sku": item.sku, "quantity": item.quantity,
                      "name": {"id": product.name_id, "en": product.name_en} if product else None})
    return {**order_view(order), "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
            "carrier": order.carrier, "tracking_number": order.tracking_number, "items": items,
            "steps": [{"at": s.at.isoformat(), "step": s.step, "location": s.location} for s in detail.steps],
            "invoices": [invoice_view(i, today) for i in detail.invoices]}


def contact_view(contact: ContactRecord) -> dict[str, Any]:
    """One contact as its customer sees it: what, when, how it ended; no agent, no notes, no script answers."""
    action = read_web_reason(contact.reason) if contact.channel == "web" else None
    return {"at": contact.at.isoformat(), "channel": contact.channel,
            "reason": None if action is not None else contact.reason, "outcome": contact.disposition,
            "action": action.action if action else None, "subject": action.subject if action else None}


def callback_view(callback: ScheduledCallback, who: CustomerRecord) -> dict[str, Any]:
    phones = who.phones
    number = phones[callback.phone_index] if callback.phone_index < len(phones) else ""
    return {"callback_id": callback.callback_id, "status": PORTAL_STATUS[callback.status],
            "due_at": callback.due_at.isoformat(),
            "requested_at": callback.created_at.isoformat() if callback.created_at else None,
            "phone": mask_phone(number) if number else None,
            "can_cancel": callback.status is CallbackStatus.SCHEDULED}


def _preferences(who: CustomerRecord) -> dict[str, Any]:
    c = who.consent
    return {"language": who.language, "consent": {"phone_calls": c.phone_calls, "email": c.email,
                                                  "marketing_calls": c.marketing_calls,
                                                  "data_sharing": c.data_sharing, "surveys": c.surveys}}


def _today(request: web.Request) -> date:
    return request.app[PORTAL_SELF].today()


# -- routes -------------------------------------------------------------------------------------------------------
@routes.get("/api/portal/orders")
async def orders(request: web.Request) -> web.Response:
    who = await customer(request)
    return web.json_response({"orders": [order_view(o) for o in await request.app[PORTAL_SELF].orders(who)]})


@routes.get("/api/portal/orders/{order_number}")
async def order(request: web.Request) -> web.Response:
    who = await customer(request)
    number = request.match_info["order_number"]
    if not (number.isascii() and number.isdigit() and len(number) <= 32):
        raise NotFound(f"no order {number[:40]!r}", code="order_not_found", params={"order_number": number[:40]})
    detail = await request.app[PORTAL_SELF].order(who, number, source=source_of(request))
    return web.json_response(_detail_view(detail, _today(request)))


@routes.patch("/api/portal/details")
async def change_details(request: web.Request) -> web.Response:
    who = await customer(request)
    json_only(request)
    body = DetailsChange.model_validate(await read_object(request))
    updated = await request.app[PORTAL_SELF].change_details(who, ContactChange(email=body.email, phone=body.phone),
                                                           source=source_of(request))
    return web.json_response(me_view(updated))


@routes.get("/api/portal/preferences")
async def preferences(request: web.Request) -> web.Response:
    return web.json_response(_preferences(await customer(request)))


@routes.patch("/api/portal/preferences")
async def change_preferences(request: web.Request) -> web.Response:
    who = await customer(request)
    json_only(request)
    body = PreferencesChange.model_validate(await read_object(request))
    updated = await request.app[PORTAL_SELF].change_preferences(who, Preferences(**body.model_dump()),
                                                               source=source_of(request))
    return web.json_response(_preferences(updated))


@routes.get("/api/portal/history")
async def history(request: web.Request) -> web.Response:
    who = await customer(request)
    return web.json_response({"contacts": [contact_view(c) for c in await request.app[PORTAL_SELF].history(who)]})


@routes.get("/api/portal/callbacks")
async def callbacks(request: web.Request) -> web.Response:
    who = await customer(request)
    found = await request.app[PORTAL_SELF].callbacks(who)
    return web.json_response({"callbacks": [callback_view(c, who) for c in found]})


@routes.post("/api/portal/callbacks")
async def request_callback(request: web.Request) -> web.Response:
    who = await customer(request)
    json_only(request)
    body = CallbackRequest.model_validate(await read_object(request))
    callback = await request.app[PORTAL_SELF].request_callback(who, at=body.at, phone_index=body.phone_index,
                                                               topic=body.topic or None, source=source_of(request))
    return web.json_response(callback_view(callback, who), status=201)


@routes.delete("/api/portal/callbacks/{callback_id}")
async def cancel_callback(request: web.Request) -> web.Response:
    who = await customer(request)
    callback = await request.app[PORTAL_SELF].cancel_callback(who, request.match_info["callback_id"][:64],
                                                              source=source_of(request))
    return web.json_response(callback_view(callback, who))
