"""The customer portal's self-service over HTTP, on the real app's middlewares and services, a SQLite database with
the demo's CRM, real SMTP (aiosmtpd) for the sign-in codes and a clock the test moves: orders and their shipment
steps, bills, contact details and preferences, the customer's own history, callback requests (which the real
scheduler then previews to an agent), and every refusal: not signed in, no CSRF token, another customer's object,
bad bodies, the contact policy, the rate limit. The page: tests/pages/test_portal_selfservice.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from cti.acd import CallbackStatus, CallingHours, ContactPolicy, ContactRules, RetryPolicy
from cti.crm import Consent
from cti.persistence import (
    AuditRepository,
    CallbackRepository,
    CustomerRepository,
    Database,
    DoNotCallRepository,
    InteractionRepository,
    UserRepository,
)
from cti.services import AuditTrail, CallbackAttempts, CallbackScheduler, Distributor, OutboundCalls, Policy
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from cti.sim import generate
from cti.web import AUDIT, PORTAL_SELF, _portal, _portal_selfservice, _service, _signin
from tests.api import PopsSeen, api_app
from tests.integration.test_portal_api import ADMIN, T0, Clock, Portal
from tests.mailbox import mailbox

BUDI = "budi.santoso@example.co.id"  # customer 10000001: order 50000001 (delivered), an unpaid bill


class SelfServicePortal(Portal):
    distributor: Distributor
    pops: PopsSeen


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[SelfServicePortal]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("root", "admin", ADMIN)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    clock = Clock()
    with mailbox() as mail:
        pops = PopsSeen()
        app, distributor = api_app(db, [_service, _signin, _portal, _portal_selfservice], clock=clock,
                                   mailer=mail.mailer(), pops=pops)
        server = TestServer(app)
        await server.start_server()
        try:
            found = SelfServicePortal(server, clock, db, mail)
            found.distributor, found.pops = distributor, pops
            yield found
        finally:
            await server.close()
            await db.close()


async def _audit(portal: Portal) -> list[Any]:
    await portal.server.app[AUDIT].flush()
    return await AuditRepository(portal.db).search(limit=200)


async def _web_reasons(portal: Portal, customer_id: str) -> list[str | None]:
    view = await CustomerRepository(portal.db).customer_view(customer_id, contacts=50)
    assert view is not None
    return [c.reason for c in view.contacts if c.channel == "web"]


ROUTES = [("GET", "/api/portal/orders"), ("GET", "/api/portal/orders/50000002"),
          ("PATCH", "/api/portal/details"), ("GET", "/api/portal/preferences"), ("PATCH", "/api/portal/preferences"),
          ("GET", "/api/portal/history"), ("GET", "/api/portal/callbacks"), ("POST", "/api/portal/callbacks"),
          ("DELETE", "/api/portal/callbacks/0123abcd")]


async def test_nothing_is_open_without_a_customer_session_and_no_change_without_the_csrf_token(
        portal: SelfServicePortal) -> None:
    async with portal.browser() as nobody:
        for method, path in ROUTES:
            status, body, _ = await nobody.request(method, path, json={})
            assert (status, body["error"]["code"]) == (401, "portal_signed_out"), (method, path)
            # A staff token opens nothing here either.
            status, _, _ = await nobody.request(method, path, json={}, headers={"Authorization": f"Bearer {ADMIN}"})
            assert status == 401, (method, path)
    siti = await portal.signed_in()
    async with siti:
        for method, path in ROUTES:
            if method != "GET":
                status, body, _ = await siti.request(method, path, json={}, csrf=False)
                assert (status, body["error"]["code"]) == (403, "csrf"), (method, path)


async def test_a_customer_tracks_their_order_step_by_step_and_never_anyone_elses(portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        orders = await siti.call("GET", "/api/portal/orders")
        assert [(o["order_number"], o["status"], o["shipment_status"]) for o in orders["orders"]] == [
            ("50000002", "shipped", "in_transit")]
        detail = await siti.call("GET", "/api/portal/orders/50000002")
        for foreign in ("50000001", "59999999", "abc", "5" * 40):  # Budi's order, none, not a number
            status, body, _ = await siti.request("GET", f"/api/portal/orders/{foreign}")
            assert (status, body["error"]["code"]) == (404, "order_not_found"), foreign
    assert [(s["at"], s["step"], s["location"]) for s in detail["steps"]] == [
        ("2026-03-01T06:00:00+00:00", "packed", "Cikarang"), ("2026-03-01T09:00:00+00:00", "picked_up", "Cikarang"),
        ("2026-03-01T14:00:00+00:00", "in_transit", "Jakarta"), ("2026-03-02T03:00:00+00:00", "at_hub", "Surabaya")]
    assert [(i["sku"], i["quantity"], i["name"]["en"]) for i in detail["items"]] == [
        ("PHONE-X1PRO", 1, "Nusa X1 Pro smartphone"), ("BUDS-2", 1, "Nusa Buds 2 wireless earbuds")]
    assert (detail["total"], detail["carrier"], detail["tracking_number"]) == ("8898000", "JNE", "JNE0100000002")
    assert [(i["invoice_number"], i["state"], i["due"]) for i in detail["invoices"]] == [("INV-0000004", "paid", "0")]
    assert (await _web_reasons(portal, "10000002"))[:1] == ["portal:order_viewed:50000002"]
    assert portal.pops.changed == ["10000002"]  # the screen pop's cache forgets her: her next pop says it
    views = [(e.actor, e.action, e.subject_type, e.subject_id) for e in await _audit(portal) if e.action == "view"]
    assert views == [("customer:10000002", "view", "order", "50000002")]


async def test_the_account_tells_the_balance_the_invoices_and_their_due_dates(portal: SelfServicePortal) -> None:
    budi = await portal.signed_in(BUDI)
    async with budi:
        account = await budi.call("GET", "/api/portal/account")
        assert (account["balance_due"], account["unpaid_invoices"], account["next_due_date"],
                account["overdue_minor"]) == ("750000", 1, "2026-03-11", 0)
        assert [(i["invoice_number"], i["due_date"], i["state"], i["due"]) for i in account["invoices"]] == [
            ("INV-0000003", "2026-03-11", "due", "750000"), ("INV-0000002", "2026-02-09", "paid", "0"),
            ("INV-0000001", "2025-02-06", "paid", "0")]
    portal.clock.advance(days=10)  # 2026-03-12: the bill is overdue
    budi = await portal.signed_in(BUDI)
    async with budi:
        account = await budi.call("GET", "/api/portal/account")
        assert (account["overdue_minor"], account["invoices"][0]["state"]) == (75_000_000, "overdue")


async def test_contact_details_are_checked_like_the_crm_checks_them_audited_and_noted(
        portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        for body, code, field in (({"email": "not an address"}, "invalid_contact_details", "email"),
                                  ({"phone": "12345"}, "invalid_contact_details", "phone"),
                                  ({"phone": "0812-1000-0001"}, "phone_unavailable", "phone"),  # Budi's
                                  ({"email": BUDI}, "email_unavailable", "email"),
                                  ({}, "invalid_body", "body"),
                                  ({"email": "a@b.co", "name": "x"}, "invalid_body", "name")):
            status, answer, _ = await siti.request("PATCH", "/api/portal/details", json=body)
            assert (status, answer["error"]["code"]) == (422, code), body
            assert field in [d["field"] for d in answer["error"]["details"]], answer
        status, answer, _ = await siti.request("PATCH", "/api/portal/details", data="email=x@y.co",
                                               headers={"Content-Type": "text/plain"})
        assert status == 400
        me = await siti.call("PATCH", "/api/portal/details", json={"email": " Siti.Baru@Example.com ",
                                                                   "phone": "0857 3000 0099"})
    assert (me["email"], me["phones"]) == ("si***@example.com", ["+628***0099", "+623***0202"])
    record = await CustomerRepository(portal.db).customer("10000002")
    assert record is not None and (record.email, record.phones) == ("siti.baru@example.com",
                                                                    ("+6285730000099", "+62315550202"))
    [update] = [e for e in await _audit(portal) if e.action == "update"]
    assert (update.actor, update.subject_id, update.detail) == (
        "customer:10000002", "10000002", {"fields": ["email", "phone"], "by": "portal"})
    assert "siti.baru" not in json.dumps(update.detail)
    assert (await _web_reasons(portal, "10000002"))[:1] == ["portal:details_changed"]
    async with portal.browser() as again:  # the new address signs her in
        await again.call("POST", "/api/portal/code", json={"address": "siti.baru@example.com"}, expect=202)
        code = await portal.mail.code("siti.baru@example.com")
        await again.call("POST", "/api/portal/session", json={"address": "siti.baru@example.com", "code": code})


async def test_preferences_and_consent_are_the_crms_and_each_change_is_audited(portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        assert await siti.call("GET", "/api/portal/preferences") == {
            "language": "id", "consent": {"phone_calls": True, "email": True, "marketing_calls": False,
                                          "data_sharing": True, "surveys": True}}
        for body in ({}, {"language": "fr"}, {"phone_calls": "maybe"}, {"surveys": "later"}, {"sms": True}):
            status, answer, _ = await siti.request("PATCH", "/api/portal/preferences", json=body)
            assert (status, answer["error"]["code"]) == (422, "invalid_body"), body
        changed = await siti.call("PATCH", "/api/portal/preferences",
                                  json={"language": "en", "marketing_calls": True, "data_sharing": False,
                                        "surveys": False})
        again = await siti.call("PATCH", "/api/portal/preferences", json={"language": "en"})  # nothing new
    assert changed == again == {"language": "en", "consent": {"phone_calls": True, "email": True,
                                                              "marketing_calls": True, "data_sharing": False,
                                                              "surveys": False}}
    record = await CustomerRepository(portal.db).customer("10000002")
    assert record is not None and record.language == "en"
    assert record.consent == Consent(phone_calls=True, email=True, marketing_calls=True, data_sharing=False,
                                     surveys=False)
    [update] = [e for e in await _audit(portal) if e.action == "update"]
    assert update.detail == {"preferences": {"marketing_calls": True, "data_sharing": False, "surveys": False,
                                             "language": "en"}, "by": "portal"}
    assert (await _web_reasons(portal, "10000002")).count("portal:preferences_changed") == 1


async def test_the_history_is_the_customers_own_with_outcomes_and_never_an_agents_notes(
        portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        await siti.call("GET", "/api/portal/orders/50000002")
        await siti.call("GET", "/api/portal/orders/50000002")  # a reload: the same look
        history = await siti.call("GET", "/api/portal/history")
    contacts = history["contacts"]
    assert [(c["channel"], c["reason"], c["outcome"], c["action"], c["subject"]) for c in contacts] == [
        ("web", None, "self_service", "order_viewed", "50000002"),
        ("web", None, "self_service", "signed_in", None),
        ("web", "order", "self_service", None, None),
    ]
    budi = await portal.signed_in(BUDI)
    async with budi:
        history = await budi.call("GET", "/api/portal/history")
    text = json.dumps(history)
    assert [(c["channel"], c["reason"], c["outcome"]) for c in history["contacts"][1:]] == [
        ("call", "technical", "follow_up"), ("chat", "technical", "resolved"), ("call", "billing", "resolved")]
    assert "notes" not in text and "tiket" not in text and "agent" not in text  # the agents' notes stay theirs


async def test_a_callback_request_is_a_scheduled_callback_the_scheduler_previews_to_an_agent(
        portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()  # T0 is 16:00 in Surabaya (WIB)
    async with siti:
        asked = await siti.call("POST", "/api/portal/callbacks", json={"topic": "my parcel"}, expect=201)
        status, body, _ = await siti.request("POST", "/api/portal/callbacks", json={})
        assert (status, body["error"]["code"]) == (409, "callback_pending")
        assert asked == {"callback_id": asked["callback_id"], "status": "scheduled", "due_at": T0.isoformat(),
                         "requested_at": T0.isoformat(), "phone": "+628***0002", "can_cancel": True}
        stored = await CallbackRepository(portal.db).get(asked["callback_id"])
        assert stored is not None
        assert (stored.customer_id, stored.status, stored.due_at, stored.created_by, stored.reason, stored.queue,
                stored.agent_id) == ("10000002", CallbackStatus.SCHEDULED, T0, "customer:10000002",
                                     "asked on the web portal: my parcel", "general", None)

        # The scheduler agents work with finds it due and previews it to the ready agent.
        distributor = portal.distributor
        distributor.register_agent("ana", "Ana")
        distributor.login("ana", "7001", ready=True)
        service = portal.server.app[PORTAL_SELF]
        policy = Policy(distributor.query, InteractionRepository(portal.db))
        trail = AuditTrail(AuditRepository(portal.db), portal.clock)
        contact = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00")))
        outbound = OutboundCalls(distributor, policy, CustomerRepository(portal.db), DoNotCallRepository(portal.db),
                                 contact, trail, caller_id="1500100")
        attempts = CallbackAttempts(service.callback_store, RetryPolicy(
            max_attempts=3, interval=timedelta(minutes=10), agent_first=timedelta(0), preview=timedelta(minutes=1)),
            lock=service.callback_lock)
        await CallbackScheduler(distributor, policy, attempts, outbound, trail).tick()
        [call] = [c for c in distributor.query.calls() if c.callback_id == asked["callback_id"]]
        assert (call.agent_id, call.customer_id, call.caller_number) == ("ana", "10000002", "+6285730000002")
        [shown] = (await siti.call("GET", "/api/portal/callbacks"))["callbacks"]
        assert (shown["status"], shown["can_cancel"]) == ("dialing", False)
        status, body, _ = await siti.request("DELETE", f"/api/portal/callbacks/{asked['callback_id']}")
        assert (status, body["error"]["code"]) == (409, "callback_not_scheduled")
    assert (await _web_reasons(portal, "10000002"))[0] == f"portal:callback_requested:{asked['callback_id']}"
    created = [(e.actor, e.subject_type, e.subject_id) for e in await _audit(portal) if e.action == "create"]
    assert created == [("customer:10000002", "callback", asked["callback_id"])]


async def test_a_customer_cancels_their_own_request_and_nobody_elses(portal: SelfServicePortal) -> None:
    budi = await portal.signed_in(BUDI)
    siti = await portal.signed_in()
    async with budi, siti:
        theirs = await budi.call("POST", "/api/portal/callbacks", json={}, expect=201)
        path = f"/api/portal/callbacks/{theirs['callback_id']}"
        for who, missing in ((siti, path), (budi, "/api/portal/callbacks/0123abcd")):
            status, body, _ = await who.request("DELETE", missing)
            assert (status, body["error"]["code"]) == (404, "callback_not_found")
        assert (await siti.call("GET", "/api/portal/callbacks")) == {"callbacks": []}
        cancelled = await budi.call("DELETE", path)
        assert (cancelled["status"], cancelled["can_cancel"]) == ("cancelled", False)
        assert (await budi.call("DELETE", path))["status"] == "cancelled"  # as asked: cancelled already
        [listed] = (await budi.call("GET", "/api/portal/callbacks"))["callbacks"]
        assert listed["status"] == "cancelled"
    stored = await CallbackRepository(portal.db).get(theirs["callback_id"])
    assert stored is not None and stored.status is CallbackStatus.CANCELLED
    assert (await _web_reasons(portal, "10000001"))[:2] == [
        f"portal:callback_cancelled:{theirs['callback_id']}", f"portal:callback_requested:{theirs['callback_id']}"]


async def test_the_contact_policy_decides_a_callback_request_before_it_is_kept(portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        late = "2026-03-02T21:30:00+07:00"  # Surabaya is WIB: after the calling hours
        status, body, _ = await siti.request("POST", "/api/portal/callbacks", json={"at": late})
        assert (status, body["error"]["code"]) == (422, "outside_calling_hours")
        assert body["error"]["params"] == {"zone": "WIB", "hours": "08:00-20:00", "local_time": "21:30",
                                           "next_allowed": "2026-03-03T01:00:00+00:00"}
        assert "08:00-20:00" in body["error"]["message"]
        for when, code in (("2026-03-02T10:00:00", "invalid_body"),  # no UTC offset
                           ("tomorrow", "invalid_body"),
                           ("2026-03-01T10:00:00+07:00", "callback_time"),  # past
                           ("2026-07-01T10:00:00+07:00", "callback_time")):  # over 90 days ahead
            status, body, _ = await siti.request("POST", "/api/portal/callbacks", json={"at": when})
            assert (status, body["error"]["code"]) == (422, code), when
        for extra, code in (({"phone_index": 5}, "no_phone"), ({"phone_index": -1}, "invalid_body"),
                            ({"topic": "x" * 201}, "invalid_body"), ({"when": "now"}, "invalid_body")):
            status, body, _ = await siti.request("POST", "/api/portal/callbacks", json=extra)
            assert (status, body["error"]["code"]) == (422, code), extra
        chosen = await siti.call("POST", "/api/portal/callbacks", json={"at": "2026-03-03T09:15:00+07:00"},
                                 expect=201)
        assert chosen["due_at"] == "2026-03-03T02:15:00+00:00"
        await siti.call("DELETE", f"/api/portal/callbacks/{chosen['callback_id']}")

    portal.clock.advance(hours=5)  # 21:00 in Surabaya: "as soon as possible" is when the hours begin
    siti = await portal.signed_in()
    async with siti:
        soon = await siti.call("POST", "/api/portal/callbacks", json={"at": None}, expect=201)
        assert soon["due_at"] == "2026-03-03T01:00:00+00:00"
        await siti.call("DELETE", f"/api/portal/callbacks/{soon['callback_id']}")

        await siti.call("PATCH", "/api/portal/preferences", json={"phone_calls": False})
        status, body, _ = await siti.request("POST", "/api/portal/callbacks", json={})
        assert (status, body["error"]["code"]) == (409, "no_contact_consent")
        assert "preferences" in body["error"]["message"]
        await siti.call("PATCH", "/api/portal/preferences", json={"phone_calls": True})
        await DoNotCallRepository(portal.db).add("+6285730000002", reason="asked", added_by="admin")
        status, body, _ = await siti.request("POST", "/api/portal/callbacks", json={})
        assert (status, body["error"]["code"]) == (409, "number_do_not_call")
    kept = await CallbackRepository(portal.db).of_customer("10000002", created_by="customer:10000002")
    assert [c.status for c in kept] == [CallbackStatus.CANCELLED, CallbackStatus.CANCELLED]


async def test_callback_requests_are_rate_limited_per_customer(portal: SelfServicePortal) -> None:
    siti = await portal.signed_in()
    async with siti:
        for _ in range(3):
            asked = await siti.call("POST", "/api/portal/callbacks", json={}, expect=201)
            await siti.call("DELETE", f"/api/portal/callbacks/{asked['callback_id']}")
            portal.clock.advance(minutes=10)
        status, body, headers = await siti.request("POST", "/api/portal/callbacks", json={})
        assert (status, body["error"]["code"]) == (429, "throttled")
        assert int(headers["Retry-After"]) == body["error"]["params"]["seconds"] == 23 * 3600 + 30 * 60 + 1
    portal.clock.advance(hours=23, minutes=31)  # the first request is a day old
    siti = await portal.signed_in()
    async with siti:
        await siti.call("POST", "/api/portal/callbacks", json={}, expect=201)
    assert len(await CallbackRepository(portal.db).of_customer("10000002", created_by="customer:10000002")) == 4

