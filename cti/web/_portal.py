"""The customer portal's API: a one-time code by e-mail or SMS, the customer's session, and their own data.

Customers are not users: the portal's paths are outside the staff authentication (:mod:`cti.web._auth` lets
``/api/portal/`` through) and each handler here checks the customer's session itself. The session is the
``cti_portal`` cookie (HttpOnly, ``SameSite=Strict``, ``Path=/api/portal``, ``Secure`` over TLS or with
``CTI_SECURE_COOKIES``), its CSRF token ``cti_portal_csrf`` (read by the page, sent back as ``X-CSRF-Token`` on
every change). A staff token or session opens nothing here, and a customer's session opens nothing elsewhere:
the staff middleware never reads ``cti_portal``.

- ``POST /api/portal/code``: the same 202 whether the address is a customer's or not; a code is sent only to a
  known one. Every request counts towards the address's and the client's throttle (429 with ``Retry-After``).
- ``POST /api/portal/session``: the code; a wrong, expired, spent or unknown code is the same 401 and counts
  towards both throttles.
- ``GET /api/portal/me``, ``GET /api/portal/account``: the signed-in customer's profile (contacts masked), and
  their latest orders, balance and invoices. The self-service pages (:mod:`cti.web._portal_selfservice`) go beside
  these, each calling :func:`customer` first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.crm import MINOR_PER_MAJOR, CustomerRecord, InvoiceRecord, OrderRecord
from cti.records import PortalSessionRecord
from cti.services import NewPortalSession, PortalSignIn
from cti.web._audit import source_of
from cti.web._auth import CSRF_HEADER
from cti.web._bodies import read_object
from cti.web._errors import coded
from cti.web._keys import PORTAL, PORTAL_SELF, PORTAL_THROTTLES, SESSIONS
from cti.web._openapi import operation

__all__ = ["PORTAL_COOKIE", "PORTAL_CSRF_COOKIE", "CodeRequest", "PortalSignInBody", "customer", "invoice_view",
           "json_only", "mask_email", "mask_phone", "me_view", "openapi_paths", "order_view", "routes", "schemas"]

routes = web.RouteTableDef()
PORTAL_COOKIE: Final = "cti_portal"
PORTAL_CSRF_COOKIE: Final = "cti_portal_csrf"
_COOKIE_PATH: Final = "/api/portal"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_CUSTOMER = web.RequestKey("portal_customer", CustomerRecord)
_SESSION = web.RequestKey("portal_session", PortalSessionRecord)
CODE_SENT: Final = "if this address is a customer's, a sign-in code is on its way"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CodeRequest(_Body):
    address: str = Field(min_length=3, max_length=254, description="an e-mail address or a phone number")
    language: Literal["id", "en"] | None = Field(None, description="the language of the message (the page's)")


class PortalSignInBody(_Body):
    address: str = Field(min_length=3, max_length=254)
    code: str = Field(min_length=1, max_length=16)


schemas: tuple[type[BaseModel], ...] = (CodeRequest, PortalSignInBody)
_CUSTOMER_ROLE: Final = "a customer signed in on the portal (cti_portal cookie)"
openapi_paths: dict[str, dict[str, Any]] = {
    "/portal": {"get": operation("Redirect to the customer portal's page", roles="anyone", public=True, ok=302)},
    "/portal/": {"get": operation("Redirect to the customer portal's page", roles="anyone", public=True, ok=302)},
    "/api/portal/code": {"post": operation(
        "Ask for a one-time sign-in code to an e-mail address or phone number of the CRM. The answer is the same "
        "202 whether the address is known or not; a code (6 digits, single use, valid some minutes) is sent only "
        "to a known one. Too many requests per address or client are 429 with Retry-After",
        roles="anyone", public=True, body="CodeRequest", ok=202, errors=(429,))},
    "/api/portal/session": {
        "post": operation(
            "Sign in with the code: answers the /api/portal/me document and sets the cti_portal (HttpOnly) and "
            "cti_portal_csrf cookies; send cti_portal_csrf's value as X-CSRF-Token on every change. A wrong, "
            "expired or spent code is 401 alike; repeated failures are 429 with Retry-After",
            roles="anyone", public=True, body="PortalSignInBody", errors=(401, 429)),
        "delete": operation("Sign out of the portal: the session ends and both cookies are cleared",
                            roles="anyone", public=True, errors=(403,)),
    },
    "/api/portal/me": {"get": operation(
        "The signed-in customer: customer number, name, masked e-mail and phones, language", roles=_CUSTOMER_ROLE,
        public=True, errors=(401,))},
    "/api/portal/account": {"get": operation(
        "The signed-in customer's account: the 5 latest orders, any status (number, status, shipment, total in "
        "IDR and in minor units), the balance due (both forms), the number of unpaid invoices, the next due date, "
        "what is overdue, and the 10 latest invoices (paid, due or overdue, with due date and amounts)",
        roles=_CUSTOMER_ROLE, public=True, errors=(401,))},
}


# -- the customer's session ---------------------------------------------------------------------------------------
def _unauthorized(message: str = "sign in to the portal first") -> web.HTTPUnauthorized:
    return coded(web.HTTPUnauthorized(reason=message), "portal_signed_out")


async def customer(request: web.Request) -> CustomerRecord:
    """The customer whose portal session the request carries (CSRF checked on changes); 401 otherwise. Every
    portal handler but signing in calls it first, and reads or changes nothing but this customer's data."""
    if _CUSTOMER in request:
        return request[_CUSTOMER]
    cookie = request.cookies.get(PORTAL_COOKIE)
    found = await request.app[PORTAL].session(cookie) if cookie else None
    if found is None:
        raise _unauthorized()
    record, who = found
    if request.method not in _SAFE_METHODS and not PortalSignIn.csrf_matches(record, request.headers.get(CSRF_HEADER)):
        raise coded(web.HTTPForbidden(reason="missing or wrong CSRF token"), "csrf")
    request[_CUSTOMER], request[_SESSION] = who, record
    return who


def _secure(request: web.Request) -> bool:
    return request.secure or request.app[SESSIONS].secure_cookies


def _set_cookies(request: web.Request, response: web.Response, new: NewPortalSession) -> None:
    lifetime = int((new.record.expires_at - new.record.created_at).total_seconds())
    secure = _secure(request)
    response.set_cookie(PORTAL_COOKIE, new.session_id, path=_COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=secure, max_age=lifetime)
    response.set_cookie(PORTAL_CSRF_COOKIE, new.csrf_token, path="/", samesite="Strict", secure=secure,
                        max_age=lifetime)


def _clear_cookies(request: web.Request, response: web.Response) -> None:
    secure = _secure(request)
    response.del_cookie(PORTAL_COOKIE, path=_COOKIE_PATH, httponly=True, samesite="Strict", secure=secure)
    response.del_cookie(PORTAL_CSRF_COOKIE, path="/", samesite="Strict", secure=secure)


def _throttle(request: web.Request, address_key: str | None) -> None:
    wait = request.app[PORTAL_THROTTLES].retry_after(request.remote or "-", address_key)
    if wait is not None:
        raise coded(web.HTTPTooManyRequests(reason=f"too many attempts; retry in {wait} s",
                                            headers={"Retry-After": str(wait)}), "throttled", seconds=wait)


def json_only(request: web.Request) -> None:
    # Only JSON: a form on another site can post text/plain or a form, never application/json without CORS.
    if request.content_type != "application/json":
        raise web.HTTPBadRequest(reason="send a JSON body (Content-Type: application/json)")


# -- views --------------------------------------------------------------------------------------------------------
def mask_email(email: str | None) -> str | None:
    if not email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


def mask_phone(e164: str) -> str:
    return f"{e164[:4]}***{e164[-4:]}" if len(e164) > 8 else "***"


def me_view(who: CustomerRecord) -> dict[str, Any]:
    return {"customer_id": who.customer_id, "name": who.name, "email": mask_email(who.email),
            "phones": [mask_phone(p) for p in who.phones], "language": who.language}


def order_view(order: OrderRecord) -> dict[str, Any]:
    return {"order_number": order.order_number, "status": order.status, "placed_at": order.placed_at.isoformat(),
            "total_minor": order.total_minor, "total": str(Decimal(order.total_minor) / MINOR_PER_MAJOR),
            "shipment_status": order.shipment_status}


def invoice_view(invoice: InvoiceRecord, today: date) -> dict[str, Any]:
    """An invoice with its state: ``paid``, ``due`` (by its due date) or ``overdue``."""
    state = "paid" if invoice.due_minor <= 0 else "overdue" if invoice.due_date < today else "due"
    return {"invoice_number": invoice.invoice_number, "order_number": invoice.order_number,
            "issued_at": invoice.issued_at.isoformat(), "due_date": invoice.due_date.isoformat(),
            "amount": _money(invoice.amount_minor), "amount_minor": invoice.amount_minor,
            "paid": _money(invoice.paid_minor), "due": _money(invoice.due_minor), "due_minor": invoice.due_minor,
            "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None, "state": state}


def _money(minor: int) -> str:
    return str(Decimal(minor) / MINOR_PER_MAJOR)


# -- routes -------------------------------------------------------------------------------------------------------
@routes.get("/portal")
@routes.get("/portal/")
async def portal_page(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui/portal.html")


@routes.post("/api/portal/code")
async def request_code(request: web.Request) -> web.Response:
    json_only(request)
    body = CodeRequest.model_validate(await read_object(request))
    portal, client = request.app[PORTAL], request.remote or "-"
    address = portal.address(body.address)
    key = None if address is None else address.key
    _throttle(request, key)
    request.app[PORTAL_THROTTLES].count(client, key)
    if address is not None:
        await portal.request_code(address, language=body.language)
    return web.json_response({"message": CODE_SENT}, status=202)


@routes.post("/api/portal/session")
async def sign_in(request: web.Request) -> web.Response:
    json_only(request)
    body = PortalSignInBody.model_validate(await read_object(request))
    portal, client = request.app[PORTAL], request.remote or "-"
    address = portal.address(body.address)
    key = None if address is None else address.key
    _throttle(request, key)
    new = None if address is None else await portal.sign_in(address, body.code, source=source_of(request))
    if new is None:
        request.app[PORTAL_THROTTLES].count(client, key)
        raise coded(web.HTTPUnauthorized(reason="wrong, expired or used code"), "wrong_code")
    response = web.json_response(me_view(new.customer))
    _set_cookies(request, response, new)
    return response


@routes.delete("/api/portal/session")
async def sign_out(request: web.Request) -> web.Response:
    cookie = request.cookies.get(PORTAL_COOKIE)
    ended = False
    if cookie and await request.app[PORTAL].session(cookie) is not None:
        await customer(request)  # the CSRF token: another site cannot sign the customer out
        ended = await request.app[PORTAL].sign_out(cookie)
    response = web.json_response({"signed_out": ended})
    _clear_cookies(request, response)
    return response


@routes.get("/api/portal/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(me_view(await customer(request)))


@routes.get("/api/portal/account")
async def account(request: web.Request) -> web.Response:
    who = await customer(request)
    found = await request.app[PORTAL].account(who)
    if found is None:  # gone between the session check and now
        raise _unauthorized()
    view, orders = found
    service = request.app[PORTAL_SELF]
    today = service.today()
    unpaid = view.unpaid_invoices  # the oldest due date first
    return web.json_response({"orders": [order_view(o) for o in orders],
                              "balance_due_minor": view.balance_due_minor,
                              "balance_due": str(Decimal(view.balance_due_minor) / MINOR_PER_MAJOR),
                              "unpaid_invoices": len(unpaid),
                              "next_due_date": unpaid[0].due_date.isoformat() if unpaid else None,
                              "overdue_minor": sum(i.due_minor for i in unpaid if i.due_date < today),
                              "invoices": [invoice_view(i, today) for i in await service.invoices(who, limit=10)]})
