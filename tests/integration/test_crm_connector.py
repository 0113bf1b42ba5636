"""Customers from another CRM over HTTP (cti.messaging.HttpCrmConnector through cti.services.ConnectedCrm), against
a real aiohttp server the test starts, on real SQLite and PostgreSQL: a known caller's pop and identification show
the external record, exactly, mirrored into cti's customers table; the second lookup costs no request; the other
CRM down or slow costs no more than the timeout and the pop shows cti's copy, flagged; garbage is logged clearly
and crashes nothing; an erased customer is never copied back; the token goes in the header and nowhere else. A
customer is found by e-mail address too (case and spaces aside), cached alike, and one only the other CRM knows signs
in to the portal with the code a real SMTP server (aiosmtpd) receives."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import AgentChanged, ContactCenter, Offer, WorkChanged, WorkItem
from cti.crm import Consent, CustomerFields, ExternalCustomer, LookupCache
from cti.messaging import HttpCrmConnector
from cti.persistence import (
    AuditRepository,
    CustomerMirror,
    CustomerRepository,
    Database,
    ScriptRepository,
    UserRepository,
)
from cti.services import (
    ArrivalLookup,
    CallerIdentity,
    CenterView,
    CommandBus,
    ConnectedCrm,
    Distributor,
    ErasureSubject,
    ScreenPop,
)
from cti.web import AUDIT, CRM_SOURCE, PORTAL, Hub, _partners, _portal
from tests.api import api_app
from tests.mailbox import mailbox
from tests.support import migrated_database

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
TOKEN = "crm-token-Zq3vN8kR1tXw6YpL"
BUDI = {"id": "C-42", "name": "Budi Santoso", "phones": ["+6281210000042", "021-5550-1042"],
        "email": "budi@example.com", "address": "Jl. Kenanga No. 12", "city": "Jakarta", "region": "jakarta",
        "country": "ID", "language": "id", "segment": "fiber", "value_tier": "gold", "loyalty_points": 1200}


@dataclass
class ExternalCrm:
    """The other CRM: answers Budi by phone, by e-mail and by id, nobody else; or misbehaves as ``mode`` says."""

    server: TestServer
    mode: str = "ok"
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(path, query, Authorization header) of every request."""
    url: str = ""
    host: str = ""
    """Where it listens (kept once it is closed)."""


async def _handler(crm: ExternalCrm, request: web.Request) -> web.StreamResponse:
    crm.seen.append((request.path, request.query_string, request.headers.get("Authorization")))
    if crm.mode == "slow":
        await asyncio.sleep(3)
    if crm.mode == "error":
        return web.Response(status=503)
    if crm.mode == "not json":
        return web.Response(text="<html>Service temporarily unavailable</html>", content_type="text/html")
    if crm.mode == "no list":
        return web.json_response({"customer": BUDI})
    record = {"bad tier": {**BUDI, "value_tier": "diamond"}, "bad phone": {**BUDI, "phones": ["call me"]}}.get(
        crm.mode, BUDI)
    if request.match_info.get("ref") is not None:
        if request.match_info["ref"] != BUDI["id"]:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(record)
    if "email" in request.query:
        # "any address": a broken system answering Budi whatever it is asked.
        wanted = crm.mode == "any address" or request.query["email"] == BUDI["email"]
        return web.json_response({"customers": [record] if wanted else []})
    found = [record] if request.query.get("phone") in ("+6281210000042", "+622155501042") else []
    return web.json_response({"customers": found})


@pytest.fixture
async def external() -> AsyncIterator[ExternalCrm]:
    app = web.Application()
    server = TestServer(app)
    crm = ExternalCrm(server)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _handler(crm, request)

    app.router.add_get("/crm/customers", handle)
    app.router.add_get("/crm/customers/{ref}", handle)
    await server.start_server()
    crm.url, crm.host = str(server.make_url("/crm")), f"{server.host}:{server.port}"
    try:
        yield crm
    finally:
        await server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
async def crm(external: ExternalCrm, db: Database) -> AsyncIterator[ConnectedCrm]:
    source = await connected(external, db)
    try:
        yield source
    finally:
        await close(source)


async def close(source: ConnectedCrm) -> None:
    assert isinstance(source.connector, HttpCrmConnector)
    await source.connector.close()


async def connected(external: ExternalCrm, db: Database) -> ConnectedCrm:
    connector = HttpCrmConnector(external.url, token=TOKEN, timeout=0.5)
    cache: LookupCache[tuple[str, str], ExternalCustomer] = LookupCache(ttl=300, negative_ttl=60, max_entries=100,
                                                                         now=time.monotonic)
    source = ConnectedCrm(connector, CustomerMirror(db), CustomerRepository(db), cache=cache, timeout=1.0)
    return source


async def pop_for(db: Database, source: ConnectedCrm, caller_number: str) -> dict[str, Any]:
    """A call from ``caller_number`` identified as it arrives (as the telephony adapter does) and offered to the one
    ready agent: the pop on her desktop's topic."""
    hub, core = Hub(), ContactCenter()
    screenpop = ScreenPop(hub, CustomerRepository(db), ScriptRepository(db), CenterView(core, lambda: NOW),
                          clock=lambda: NOW, timer=None, source=source)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    identity = await ArrivalLookup(CallerIdentity(source), screenpop).identify(caller_number)
    distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number=caller_number,
                                service_number="1500100", queue="", arrived_at=NOW,
                                customer_id=None if identity is None else identity.customer_id))
    await screenpop.drain()
    [pop] = [json.loads(frame.payload)["data"] for frame in hub.topic("agent:ana").since(0) or []
             if frame.type == "offer"]
    return pop


def budi_in_pop(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "name": "Budi Santoso", "phones": ["+6281210000042", "+622155501042"],
            "email": "budi@example.com", "address": "Jl. Kenanga No. 12", "city": "Jakarta", "region": "jakarta",
            "language": "id", "segment": "fiber", "value_tier": "gold", "lifetime_value": "0",
            "consent": {"phone_calls": False, "marketing_calls": False, "surveys": False}, "balance_due": "0",
            "products": [], "contacts": [], "web_activity": [], "open_orders": [], "open_cases": [],
            "unpaid_invoices": []}


async def test_a_known_caller_s_pop_is_the_external_record_mirrored_then_cached(
        crm: ConnectedCrm, external: ExternalCrm, db: Database) -> None:
    pop = await pop_for(db, crm, "081210000042")
    copy = await CustomerRepository(db).customer_by_phone("+6281210000042")
    assert copy is not None and copy.customer_id == "10000001"  # cti's own number for its copy
    assert pop["customer"] == budi_in_pop("10000001")
    assert (pop["customer_id"], pop["verified"], pop["crm"]) == (
        "10000001", True, {"source": "http", "fallback": False, "reason": None})
    assert await CustomerMirror(db).external_ref("10000001") == "C-42"
    # One request: by phone on arrival; the pop's refresh by id was primed by it.
    assert external.seen == [("/crm/customers", "phone=%2B6281210000042", f"Bearer {TOKEN}")]

    again = await crm.customer_by_phone("+62 812 1000 0042")
    assert again == copy  # the cache's answer; nothing changed, nothing written (updated_at the same)
    second = await pop_for(db, crm, "081210000042")
    assert second["customer"] == budi_in_pop("10000001")
    assert len(external.seen) == 1  # the server saw one request in all
    assert (crm.requests, crm.cache.hits) == (1, 4)

    assert await crm.customer_by_phone("0813-0000-0000") is None  # nobody: asked once, the answer cached
    assert await crm.customer_by_phone("0813-0000-0000") is None
    assert [query for _, query, _ in external.seen] == ["phone=%2B6281210000042", "phone=%2B6281300000000"]


async def test_a_change_in_the_external_crm_reaches_the_copy_once_invalidated(
        crm: ConnectedCrm, external: ExternalCrm, db: Database) -> None:
    first = await crm.customer_by_phone("081210000042")
    assert first is not None
    BUDI_MOVED = {**BUDI, "city": "Bandung", "email": "budi.santoso@example.com"}
    original = dict(BUDI)
    BUDI.update(BUDI_MOVED)
    try:
        assert crm.invalidate(ref="C-42") == 2  # by phone and by id
        moved = await crm.customer_by_phone("081210000042")
    finally:
        BUDI.clear()
        BUDI.update(original)
    assert moved is not None
    assert (moved.customer_id, moved.city, moved.email) == (first.customer_id, "Bandung", "budi.santoso@example.com")
    assert len(external.seen) == 2


async def test_the_external_crm_down_costs_the_timeout_at_most_and_the_pop_is_cti_s_copy_flagged(
        crm: ConnectedCrm, external: ExternalCrm, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    assert await crm.customer_by_phone("081210000042") is not None  # copied while it was up
    crm.cache.clear()
    external.mode = "slow"
    with caplog.at_level(logging.WARNING, logger="cti.services.crm"):
        started = time.monotonic()
        pop = await pop_for(db, crm, "081210000042")
        took = time.monotonic() - started
    # Bounded by the connector's 0.5 s, then cti's copy: less than the 3 s the external CRM would take (the reason
    # below says the timeout fired). No tighter bound: on two loaded cores the copy's read alone has taken half a
    # second, and what this asserts is that cti did not wait for the external CRM, not how fast the machine is.
    assert took < 3.0
    assert pop["customer"] == budi_in_pop("10000001")
    why = f"the external CRM at {external.host} did not answer within 0.5 s"
    assert pop["crm"] == {"source": "http", "fallback": True, "reason": why}
    assert [r.getMessage() for r in caplog.records if r.name == "cti.services.crm"] == [
        f"customer lookup goes on with cti's own CRM: {why}"]
    assert len(external.seen) == 2  # after the failure the external CRM is left alone for a few seconds

    await external.server.close()  # gone altogether: refused at once
    fresh = await connected(external, db)
    try:
        started = time.monotonic()
        found = await fresh.customer_by_phone("081210000042")
        assert time.monotonic() - started < 2.5  # refused, never waiting out a timeout (the reason says so)
        assert found is not None and found.customer_id == "10000001"
        status = fresh.pop_status("10000001", "081210000042")
        assert status["fallback"] is True
        assert status["reason"].startswith(
            f"the external CRM at {external.host} cannot be reached (")
    finally:
        await close(fresh)


@pytest.mark.parametrize(("mode", "why"), [
    ("error", "the external CRM at {host} answered 503 to a lookup by phone"),
    ("not json", "the external CRM at {host} answered something that is not JSON"),
    ("no list", "the external CRM at {host} answered a lookup by phone without a 'customers' list"),
    ("bad tier", "the external CRM at {host} answered a customer record that is not the contract's: "
                 "'value_tier' is not one of bronze, silver, gold, platinum"),
])
async def test_garbage_is_logged_clearly_and_the_call_goes_on(
        crm: ConnectedCrm, external: ExternalCrm, db: Database, caplog: pytest.LogCaptureFixture, mode: str,
        why: str) -> None:
    external.mode = mode
    host = external.host
    with caplog.at_level(logging.INFO):
        pop = await pop_for(db, crm, "081210000042")
    assert (pop["customer"], pop["customer_id"]) == (None, None)  # an unknown caller: cti has no copy of Budi
    assert pop["crm"] == {"source": "http", "fallback": True, "reason": why.format(host=host)}
    assert f"customer lookup goes on with cti's own CRM: {why.format(host=host)}" in [
        r.getMessage() for r in caplog.records if r.name == "cti.services.crm"]
    # Nothing failed (the bus's error is this floor's: no phone adapter carries the offer out).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name != "cti.services.bus"]
    # cti's log names neither the token nor the number (the other CRM's access log, here in the same process, may).
    assert all(TOKEN not in r.getMessage() and "0042" not in r.getMessage() for r in caplog.records
               if r.name.startswith("cti"))


async def test_a_record_cti_refuses_is_not_copied(crm: ConnectedCrm, external: ExternalCrm, db: Database,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    external.mode = "bad phone"
    with caplog.at_level(logging.WARNING, logger="cti.services.crm"):
        assert await crm.customer_by_phone("081210000042") is None
    assert [r.getMessage() for r in caplog.records] == [
        "external customer C-42 not copied: the external CRM's record has values cti refuses: phone"]
    assert crm.pop_status(None, "081210000042") == {
        "source": "http", "fallback": True, "reason": "the external CRM's record has values cti refuses: phone"}
    assert await CustomerRepository(db).search_customers("Budi") == []
    assert len(crm.cache) == 0  # not kept: the next call asks again (the record may be fixed by then)


async def test_cti_s_own_customer_with_the_number_becomes_the_copy_keeping_consent(
        crm: ConnectedCrm, db: Database) -> None:
    ours = await CustomerRepository(db).create_customer(CustomerFields(
        name="B. Santoso", phones=("081210000042",), consent=Consent(phone_calls=True, email=True),
        lifetime_value_minor=5_000_000_00))
    copy = await crm.customer_by_phone("081210000042")
    assert copy is not None
    assert (copy.customer_id, copy.name, copy.email, copy.phones, copy.consent, copy.lifetime_value_minor) == (
        ours.customer_id, "Budi Santoso", "budi@example.com", ("+6281210000042", "+622155501042"),
        Consent(phone_calls=True, email=True), 5_000_000_00)
    assert await CustomerMirror(db).external_ref(ours.customer_id) == "C-42"


async def test_an_erased_customer_is_never_copied_back(crm: ConnectedCrm, external: ExternalCrm,
                                                       db: Database) -> None:
    copy = await crm.customer_by_phone("081210000042")
    assert copy is not None
    await CustomerRepository(db).forget(copy.customer_id)
    dropped = await crm.forget_customer(ErasureSubject(copy.customer_id, phones=frozenset({"+6281210000042"})))
    assert (dropped, len(crm.cache)) == (2, 0)  # their record is no longer in memory
    assert await CallerIdentity(crm).identify("081210000042") is None  # asked again: the copy stays erased
    erased = await CustomerRepository(db).customer(copy.customer_id)
    assert erased is not None and (erased.name, erased.phones, erased.forgotten_at is not None) == ("", (), True)
    assert len(external.seen) == 2


async def test_an_admin_makes_cti_forget_what_changed_in_the_other_crm(
        crm: ConnectedCrm, external: ExternalCrm, db: Database) -> None:
    users = UserRepository(db)
    await users.ensure_user_token("admin", "admin", "admin-token-0123456789")
    await users.ensure_user_token("sue", "supervisor", "super-token-0123456789")
    admin, sue = ({"Authorization": f"Bearer {token}"} for token in ("admin-token-0123456789",
                                                                     "super-token-0123456789"))
    app, _ = api_app(db, [_partners], clock=lambda: NOW)
    async with TestClient(TestServer(app)) as client:
        own = await client.post("/api/crm/invalidate", headers=admin, json={"all": True})
        assert (own.status, await own.json()) == (200, {"connected": False, "dropped": 0})  # cti's own CRM
    app, _ = api_app(db, [_partners], clock=lambda: NOW)
    app[CRM_SOURCE] = crm
    async with TestClient(TestServer(app)) as client:
        assert await crm.customer_by_phone("081210000042") is not None
        assert await crm.customer_by_phone("081300000000") is None
        assert (await client.post("/api/crm/invalidate", headers=sue, json={"ref": "C-42"})).status == 403
        assert (await client.post("/api/crm/invalidate", headers=admin, json={})).status == 422
        forgot = await client.post("/api/crm/invalidate", headers=admin, json={"ref": "C-42"})
        assert (forgot.status, await forgot.json()) == (200, {"connected": True, "dropped": 2})
        assert await crm.customer_by_phone("081210000042") is not None  # asked again
        assert len(external.seen) == 3
        assert await crm.customer_by_email("nobody@example.com") is None
        by_address = await client.post("/api/crm/invalidate", headers=admin, json={"email": " Nobody@Example.com"})
        assert (by_address.status, await by_address.json()) == (200, {"connected": True, "dropped": 1})
        everything = await client.post("/api/crm/invalidate", headers=admin, json={"all": True})
        assert await everything.json() == {"connected": True, "dropped": 3}
        await client.app[AUDIT].flush()
    rows = await AuditRepository(db).search(actor="admin", limit=10)
    assert [(r.action, r.subject_id, (r.detail or {}).get("status")) for r in reversed(rows)] == [
        ("create", "/api/crm/invalidate", 200), ("denied", "/api/crm/invalidate", 422),  # 422, not a 500
        ("create", "/api/crm/invalidate", 200), ("create", "/api/crm/invalidate", 200),
        ("create", "/api/crm/invalidate", 200)]


async def test_a_customer_is_found_by_e_mail_mirrored_then_cached(
        crm: ConnectedCrm, external: ExternalCrm, db: Database) -> None:
    found = await crm.customer_by_email("  Budi@Example.COM ")
    assert found is not None
    assert (found.customer_id, found.name, found.email, found.phones) == (
        "10000001", "Budi Santoso", "budi@example.com", ("+6281210000042", "+622155501042"))
    assert await CustomerMirror(db).external_ref("10000001") == "C-42"
    # Asked once, trimmed and in lower case; the same address again, the number's pop refresh: no request.
    assert external.seen == [("/crm/customers", "email=budi@example.com", f"Bearer {TOKEN}")]
    assert await crm.customer_by_email("budi@example.com") == found
    await crm.refresh("10000001")
    assert len(external.seen) == 1
    # Nobody there: cti's own CRM answers (nobody either), the answer cached; forgotten on request.
    assert await crm.customer_by_email("rina@example.com") is None
    assert await crm.customer_by_email("RINA@example.com") is None
    assert [query for _, query, _ in external.seen] == ["email=budi@example.com", "email=rina@example.com"]
    assert crm.invalidate(email=" Rina@Example.com") == 1
    assert crm.invalidate(ref="C-42") == 2  # by e-mail and by id
    assert await crm.customer_by_email("budi@example.com") == found
    assert len(external.seen) == 3


async def test_a_record_of_another_address_is_not_taken(crm: ConnectedCrm, external: ExternalCrm, db: Database,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    ours = await CustomerRepository(db).create_customer(CustomerFields(name="Rina Wati", email="rina@example.com"))
    external.mode = "any address"
    with caplog.at_level(logging.WARNING, logger="cti.services.crm"):
        found = await crm.customer_by_email("rina@example.com")
    assert found is not None and found.customer_id == ours.customer_id  # cti's own Rina, not the other CRM's Budi
    assert [r.getMessage() for r in caplog.records] == [
        f"customer lookup goes on with cti's own CRM: the external CRM at {external.host} answered a lookup by "
        "e-mail with a customer of another address"]
    assert await CustomerRepository(db).search_customers("Budi") == []  # nothing copied
    assert all("rina" not in r.getMessage() for r in caplog.records)


async def test_a_customer_only_the_other_crm_knows_signs_in_to_the_portal_by_e_mail(
        crm: ConnectedCrm, external: ExternalCrm, db: Database) -> None:
    assert await CustomerRepository(db).customer_by_email("budi@example.com") is None  # cti has no Budi
    with mailbox() as mail:
        app, _ = api_app(db, [_portal], clock=lambda: NOW, mailer=mail.mailer())
        app[PORTAL].lookup = crm  # as the composition root sets it when a connector is configured
        async with TestClient(TestServer(app)) as browser:
            response = await browser.post("/api/portal/code", json={"address": " Budi@Example.com "})
            assert response.status == 202
            code = await mail.code("budi@example.com")
            response = await browser.post("/api/portal/session", json={"address": "budi@example.com", "code": code})
            assert (response.status, await response.json()) == (200, {
                "customer_id": "10000001", "name": "Budi Santoso", "email": "bu***@example.com",
                "phones": ["+628***0042", "+622***1042"], "language": "id"})
    assert await CustomerMirror(db).external_ref("10000001") == "C-42"  # copied as he asked for his code
    assert external.seen == [("/crm/customers", "email=budi@example.com", f"Bearer {TOKEN}")]
