"""Partner integration over HTTP: admins' webhook subscriptions, their dead letters and metrics, partner tokens
(``/api/webhooks``, ``/api/partners``), the cache of another CRM connected as the customers' source
(``/api/crm/invalidate``); and the partner API itself (``/api/partner/...``), which only partner tokens reach
(docs/integration.md)."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cti.crm import CustomerRecord
from cti.records import DeadLetterRecord, UserRecord, WebhookSubscription
from cti.services import EMITTED_EVENTS, EVENT_TYPES, PARTNER_OPERATIONS, PartnerSurveyQuery, check_grants
from cti.surveys import SurveyRecord
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._bodies import read_json
from cti.web._keys import CALLBACKS, CRM_SOURCE, DEAD_LETTERS, PARTNERS, WEBHOOKS
from cti.web._openapi import operation, path_param, query_param
from cti.web._outbound import callback_view
from cti.web._params import MAX_SQL_INT, IntParam, timestamp

__all__ = ["CrmInvalidate", "CustomerPush", "PartnerCallback", "PartnerCreate", "PartnerGrantsBody",
           "SubscriptionChange", "SubscriptionCreate", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
_SUBSCRIPTION = [path_param("subscription_id", pattern=r"^[0-9a-f]{16}$")]
_LETTER = IntParam("letter_id", 1, MAX_SQL_INT, "the dead letter's id", where="path")
_PARTNER = [path_param("name", maxLength=64)]
_CUSTOMER = [path_param("customer_id", pattern=r"^[0-9]{1,16}$")]
_EVENT = r"^(\*|[a-z]+\.(\*|[a-z_]+))$"
_SURVEY_LIMIT = IntParam("limit", 1, 500, "how many surveys at most (100 when left out)")
_ANSWER_CHANNELS: Final = ("web", "email", "ivr")
_INTERACTION_CHANNELS: Final = ("call", "chat", "web")
# The next page starts after this answer: its time in microseconds since 1970 (UTC) and its survey id. Digits and
# hex only, so a client can put it in a URL as it is.
_AFTER: Final = re.compile(r"^([0-9]{1,18})\.([0-9a-f]{32})$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SURVEY_PARAMS = [
    query_param("since", format="date-time", description="answered at or after (ISO 8601 with a zone)"),
    query_param("until", format="date-time", description="answered before"),
    query_param("channel", enum=list(_ANSWER_CHANNELS), description="where the customer answered"),
    query_param("interaction_channel", enum=list(_INTERACTION_CHANNELS),
                description="what the survey followed"),
    query_param("after", pattern=_AFTER.pattern, description="the previous page's next"),
    _SURVEY_LIMIT.spec()]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscriptionCreate(_Body):
    """Where to deliver which events; the answer holds the signing secret, shown this once."""

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://", description="http(s) URL, no credentials")
    events: list[str] = Field(min_length=1, max_length=50, description="event names, 'family.*', or '*'")
    description: str = Field(default="", max_length=200)


class SubscriptionChange(_Body):
    url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=r"^https?://")
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="false: stop delivering (events still queue up)")


class PartnerGrantsBody(_Body):
    """What a partner token may do: named operations, on listed customers or customers of listed segments."""

    operations: list[str] = Field(max_length=20)
    customers: list[str] = Field(default_factory=list, max_length=10_000)
    segments: list[str] = Field(default_factory=list, max_length=100)


class PartnerCreate(PartnerGrantsBody):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")


class CustomerPush(_Body):
    """Fields a partner may push to one of its customers."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, pattern=r"^(id|en)$")


class PartnerCallback(_Body):
    customer_id: str = Field(pattern=r"^[0-9]{1,16}$")
    due_at: datetime = Field(description="when to call, with its UTC offset; from now to 90 days ahead")
    reason: str = Field(min_length=1, max_length=500)
    phone_index: int = Field(default=0, ge=0, le=20)


class CrmInvalidate(_Body):
    """What the other CRM changed: cti's cache forgets its answers for it (the next lookup asks again)."""

    ref: str | None = Field(default=None, min_length=1, max_length=64, description="the other CRM's customer id")
    phone: str | None = Field(default=None, min_length=3, max_length=32, description="a number, any format")
    email: str | None = Field(default=None, min_length=3, max_length=254,
                              description="an e-mail address (compared without case)")
    all: bool = Field(default=False, description="forget every cached answer")

    @model_validator(mode="after")
    def _something(self) -> CrmInvalidate:
        if self.ref is None and self.phone is None and self.email is None and not self.all:
            raise ValueError("name a ref, a phone, an email, or all")
        return self


schemas: tuple[type[BaseModel], ...] = (SubscriptionCreate, SubscriptionChange, PartnerGrantsBody, PartnerCreate,
                                        CustomerPush, PartnerCallback, CrmInvalidate)
_ADMIN = "admin"
_PARTNER_ROLE = "partner (granted the operation; its own customers)"
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/webhooks/events": {"get": operation(
        "The event catalogue: every event a subscription may name, and whether cti emits it yet", roles=_ADMIN)},
    "/api/webhooks": {
        "get": operation("Webhook subscriptions (never their secrets), each with its delivery metrics",
                         roles=_ADMIN),
        "post": operation(
            "Subscribe a URL to events: the answer holds the signing secret, shown only now. A URL to a loopback, "
            "link-local or private address is refused (422 webhook_url_refused) unless CTI_WEBHOOK_ALLOW_PRIVATE; "
            "audited", roles=_ADMIN, body="SubscriptionCreate", ok=201, errors=(422,)),
    },
    "/api/webhooks/{subscription_id}": {
        "get": operation("One subscription with its delivery metrics (delivered, attempts, failures, dead letters, "
                         "latency p50/p99, backlog)", roles=_ADMIN, params=_SUBSCRIPTION, errors=(404,)),
        "patch": operation("Change a subscription's URL, events, description, or pause it (active false: events "
                           "still queue up); audited", roles=_ADMIN, body="SubscriptionChange",
                           params=_SUBSCRIPTION, errors=(404, 422)),
        "delete": operation("Delete a subscription and the events waiting for it; audited", roles=_ADMIN,
                            params=_SUBSCRIPTION, errors=(404,)),
    },
    "/api/webhooks/dead-letters": {"get": operation(
        "Webhook events their receiver did not take after every attempt, oldest first, with the last error",
        roles=_ADMIN)},
    "/api/webhooks/dead-letters/{letter_id}/replay": {"post": operation(
        "Deliver a dead event again (same id: receivers dedupe on it); it is queued after its subject's newer "
        "events; audited", roles=_ADMIN, params=[_LETTER.spec()], errors=(404,))},
    "/api/partners": {
        "get": operation("Partner tokens' users with their grants", roles=_ADMIN),
        "post": operation("Create a partner and its token (shown only now), granted named operations "
                          f"({', '.join(PARTNER_OPERATIONS)}) on listed customers or segments; rotate, disable or "
                          "delete it as any user (/api/users/{name}/...); audited", roles=_ADMIN, body="PartnerCreate",
                          ok=201, errors=(409, 422)),
    },
    "/api/partners/{name}": {"put": operation(
        "Replace a partner's grants; audited", roles=_ADMIN, body="PartnerGrantsBody", params=_PARTNER,
        errors=(404, 422))},
    "/api/crm/invalidate": {"post": operation(
        "Another CRM as the source: forget the cached answers for one of its customers (ref), a number (phone), an "
        "e-mail address (email) or all, so the next lookup asks it again; dropped says how many; audited", roles=_ADMIN,
        body="CrmInvalidate")},
    "/api/partner/customers/{customer_id}": {
        "get": operation("One of the partner's customers (operation customers.read); another's is 404; audited",
                         roles=_PARTNER_ROLE, params=_CUSTOMER, errors=(404,)),
        "patch": operation("Push a change to one of the partner's customers (customers.update): name, email, "
                           "address, city, language; emits customer.changed; audited", roles=_PARTNER_ROLE,
                           body="CustomerPush", params=_CUSTOMER, errors=(404, 422)),
    },
    "/api/partner/surveys": {"get": operation(
        "The answered surveys (complete or partial) of the partner's customers (surveys.read), oldest answer "
        "first, filtered by since, until, channel and interaction_channel; page on with after (the answer's next); "
        "each customer whose answers are read is audited", roles=_PARTNER_ROLE, params=_SURVEY_PARAMS,
        errors=(400,))},
    "/api/partner/callbacks": {"post": operation(
        "Schedule a callback to one of the partner's customers (callbacks.create), as POST /api/callbacks; "
        "emits callback.scheduled; audited", roles=_PARTNER_ROLE, body="PartnerCallback", ok=201,
        errors=(404, 422))},
}


def subscription_view(subscription: WebhookSubscription, *, secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "subscription_id": subscription.subscription_id, "url": subscription.url, "events": list(subscription.events),
        "description": subscription.description, "active": subscription.active,
        "created_by": subscription.created_by,
        "created_at": None if subscription.created_at is None else subscription.created_at.isoformat()}
    if secret:
        view["secret"] = subscription.secret
    return view


def _letter_view(letter: DeadLetterRecord) -> dict[str, Any]:
    return {"letter_id": letter.letter_id, "key": letter.key, "at": letter.at.isoformat(), "error": letter.error,
            "subscription_id": letter.payload.get("subscription_id"), "subject": letter.payload.get("subject"),
            "event": letter.payload.get("event")}


def _partner_view(user: UserRecord) -> dict[str, Any]:
    scope = user.scope or {}
    return {"name": user.name, "disabled": user.disabled, "operations": scope.get("operations", []),
            "customers": scope.get("customers", []), "segments": scope.get("segments", []),
            "token_expires_at": None if user.token_expires_at is None else user.token_expires_at.isoformat()}


def _customer_view(customer: CustomerRecord) -> dict[str, Any]:
    return {"customer_id": customer.customer_id, "name": customer.name, "phones": list(customer.phones),
            "email": customer.email, "address": customer.address, "city": customer.city,
            "language": customer.language, "segment": customer.segment, "value_tier": customer.value_tier,
            "updated_at": customer.updated_at.isoformat()}


def _survey_view(survey: SurveyRecord) -> dict[str, Any]:
    """A survey as a partner reads it: as the survey.answered event names things (``channel`` is where it was
    answered), with the answers; never the agent, team or queue (a partner reaches no agent)."""
    return {"survey_id": survey.survey_id, "customer_id": survey.customer_id, "call_id": survey.call_id,
            "interaction_channel": survey.channel, "channel": survey.answer_channel, "status": survey.status,
            "questionnaire_id": survey.questionnaire_id, "version": survey.version, "language": survey.language,
            "sent_at": None if survey.sent_at is None else survey.sent_at.isoformat(),
            "answered_at": None if survey.answered_at is None else survey.answered_at.isoformat(),
            "rating": survey.rating, "resolved": survey.resolved, "answers": dict(survey.answers)}


def _cursor(after: tuple[datetime, str]) -> str:
    at, survey_id = after
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}.{survey_id}"


def _read_cursor(raw: str | None) -> tuple[datetime, str] | None:
    if raw is None:
        return None
    found = _AFTER.match(raw)
    if found is not None:
        with contextlib.suppress(OverflowError):  # digits enough for a time past the year 9999: no page of ours
            return _EPOCH + timedelta(microseconds=int(found[1])), found[2]
    raise web.HTTPBadRequest(reason="after must be a page's next, as given")


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise web.HTTPBadRequest(reason=f"{name} must be one of {', '.join(allowed)}")
    return value


# -- admins: subscriptions, dead letters, partners --------------------------------------------------------------------

@routes.get("/api/webhooks/events")
async def event_catalogue(request: web.Request) -> web.Response:
    require_role(request, "admin")
    return web.json_response({"events": [{"type": name, "description": text, "emitted": name in EMITTED_EVENTS}
                                         for name, text in EVENT_TYPES.items()]})


@routes.get("/api/webhooks")
async def list_subscriptions(request: web.Request) -> web.Response:
    require_role(request, "admin")
    hooks = request.app[WEBHOOKS]
    return web.json_response({"subscriptions": [
        {**subscription_view(s), "metrics": await hooks.metrics(s.subscription_id)} for s in await hooks.list()]})


@routes.post("/api/webhooks")
async def create_subscription(request: web.Request) -> web.Response:
    user = require_role(request, "admin")
    body = SubscriptionCreate.model_validate(await read_json(request))
    subscription = await request.app[WEBHOOKS].create(user, body.url, body.events, description=body.description,
                                                      source=source_of(request))
    return web.json_response(subscription_view(subscription, secret=True), status=201)


# Before the {subscription_id} routes: "dead-letters" is no subscription id (their pattern refuses it anyway).
@routes.get("/api/webhooks/dead-letters")
async def list_dead_letters(request: web.Request) -> web.Response:
    require_role(request, "admin")
    letters = await request.app[DEAD_LETTERS].list(kind="webhook", limit=1000)
    return web.json_response({"dead_letters": [_letter_view(letter) for letter in letters]})


@routes.post("/api/webhooks/dead-letters/{letter_id}/replay")
async def replay_dead_letter(request: web.Request) -> web.Response:
    require_role(request, "admin")
    letter_id = _LETTER.read(request, 0)
    service = request.app[DEAD_LETTERS]
    letter = await service.get(letter_id)
    if letter.kind != "webhook":
        raise web.HTTPNotFound(reason=f"no webhook dead letter {letter_id}")
    await service.replay(letter_id)
    return web.json_response({"replayed": _letter_view(letter)})


@routes.get("/api/webhooks/{subscription_id}")
async def get_subscription(request: web.Request) -> web.Response:
    require_role(request, "admin")
    hooks, sid = request.app[WEBHOOKS], request.match_info["subscription_id"]
    subscription = await hooks.get(sid)
    return web.json_response({**subscription_view(subscription), "metrics": await hooks.metrics(sid)})


@routes.patch("/api/webhooks/{subscription_id}")
async def change_subscription(request: web.Request) -> web.Response:
    user = require_role(request, "admin")
    body = SubscriptionChange.model_validate(await read_json(request))
    subscription = await request.app[WEBHOOKS].change(
        user, request.match_info["subscription_id"], url=body.url, events=body.events, description=body.description,
        active=body.active, source=source_of(request))
    return web.json_response(subscription_view(subscription))


@routes.delete("/api/webhooks/{subscription_id}")
async def delete_subscription(request: web.Request) -> web.Response:
    user = require_role(request, "admin")
    await request.app[WEBHOOKS].delete(user, request.match_info["subscription_id"], source=source_of(request))
    return web.json_response({"deleted": request.match_info["subscription_id"]})


@routes.get("/api/partners")
async def list_partners(request: web.Request) -> web.Response:
    require_role(request, "admin")
    return web.json_response({"partners": [_partner_view(u) for u in await request.app[PARTNERS].list()]})


@routes.post("/api/partners")
async def create_partner(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = PartnerCreate.model_validate(await read_json(request))
    grants = check_grants(body.operations, body.customers, body.segments)
    user, token = await request.app[PARTNERS].create(body.name, grants)
    return web.json_response({**_partner_view(user), "token": token}, status=201)


@routes.put("/api/partners/{name}")
async def set_partner_grants(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = PartnerGrantsBody.model_validate(await read_json(request))
    grants = check_grants(body.operations, body.customers, body.segments)
    user = await request.app[PARTNERS].set_grants(request.match_info["name"], grants)
    return web.json_response(_partner_view(user))


@routes.post("/api/crm/invalidate")
async def invalidate_crm_cache(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = CrmInvalidate.model_validate(await read_json(request))
    source = request.app.get(CRM_SOURCE)
    if source is None:  # cti's own CRM: nothing is cached
        return web.json_response({"connected": False, "dropped": 0})
    if body.all:
        dropped = len(source.cache)
        source.cache.clear()
    else:
        dropped = source.invalidate(ref=body.ref, phone=body.phone, email=body.email)
    return web.json_response({"connected": True, "dropped": dropped})


# -- the partner API ------------------------------------------------------------------------------------------------

@routes.get("/api/partner/customers/{customer_id}")
async def partner_customer(request: web.Request) -> web.Response:
    customer = await request.app[PARTNERS].customer(principal(request), request.match_info["customer_id"],
                                                    source=source_of(request))
    return web.json_response(_customer_view(customer))


@routes.patch("/api/partner/customers/{customer_id}")
async def partner_push_customer(request: web.Request) -> web.Response:
    user, customer_id = principal(request), request.match_info["customer_id"]
    partners = request.app[PARTNERS]
    await partners.reach(user, "customers.update", customer_id)  # the grant, the rate and the customer first
    body = CustomerPush.model_validate(await read_json(request))
    customer = await partners.update_customer(user, customer_id, body.model_dump(exclude_none=True),
                                              source=source_of(request))
    return web.json_response(_customer_view(customer))


@routes.get("/api/partner/surveys")
async def partner_surveys(request: web.Request) -> web.Response:
    user = principal(request)
    partners = request.app[PARTNERS]
    partners.admit(user, "surveys.read")  # the grant and the rate before the query is even read
    query = PartnerSurveyQuery(
        since=timestamp(request.query, "since"), until=timestamp(request.query, "until"),
        channel=_choice(request, "channel", _ANSWER_CHANNELS),
        interaction_channel=_choice(request, "interaction_channel", _INTERACTION_CHANNELS),
        after=_read_cursor(request.query.get("after")), limit=_SURVEY_LIMIT.read(request, 100))
    surveys, after = await partners.surveys(user, query, source=source_of(request))
    return web.json_response({"surveys": [_survey_view(s) for s in surveys],
                              "next": None if after is None else _cursor(after)})


@routes.post("/api/partner/callbacks")
async def partner_callback(request: web.Request) -> web.Response:
    user = principal(request)
    partners = request.app[PARTNERS]
    partners.admit(user, "callbacks.create")
    body = PartnerCallback.model_validate(await read_json(request))
    callback = await request.app[CALLBACKS].schedule(user, body.customer_id, due_at=body.due_at, reason=body.reason,
                                                     phone_index=body.phone_index, source=source_of(request))
    return web.json_response(callback_view(callback), status=201)
