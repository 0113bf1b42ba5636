"""Partner tokens over HTTP on a real SQLite database: an admin creates a partner granted named operations on its
own customers; the partner reads and changes only those, schedules callbacks to them, calls nothing else, is held
to its rate, and every call it makes is in the audit log, exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import CallingHours, ContactPolicy, ContactRules, RetryPolicy
from cti.crm import CustomerFields
from cti.persistence import (
    AuditRepository,
    CallbackRepository,
    CustomerRepository,
    Database,
    DoNotCallRepository,
    UserRepository,
)
from cti.services import CallbackAttempts, CallbackScheduler, OutboundCalls, PartnerAccess
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from cti.web import ACCOUNTS, AUDIT, CALLBACKS, PARTNERS, POLICY, _desktop, _partners
from tests.api import api_app

Client = TestClient[web.Request, web.Application]
ADMIN = {"Authorization": "Bearer admin-token-0123456789"}
AGENT = {"Authorization": "Bearer agent-token-0123456789"}
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    users = UserRepository(database)
    await users.ensure_user_token("admin", "admin", "admin-token-0123456789")
    await users.ensure_user_token("lonely", "agent", "agent-token-0123456789")
    customers = CustomerRepository(database)
    for customer_id, name, phone, segment in (("1001", "Rina", "0215550101", None),
                                              ("1002", "Sari", "0215550102", "fiber"),
                                              ("2001", "Tono", "0215550201", "mobile")):
        await customers.create_customer(CustomerFields(name=name, phones=(phone,), segment=segment),
                                        customer_id=customer_id)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def setup(db: Database) -> AsyncIterator[tuple[Client, list[tuple[str, str, Mapping[str, Any]]]]]:
    told: list[tuple[str, str, Mapping[str, Any]]] = []

    def notify(event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        told.append((event_type, subject, data))

    app, distributor = api_app(db, [_desktop, _partners], clock=lambda: NOW)
    customers = CustomerRepository(db)
    audit = app[AUDIT]
    outbound = OutboundCalls(distributor, app[POLICY], customers, DoNotCallRepository(db), ContactPolicy(
        ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00"))), audit,
                             caller_id="1500100")
    app[CALLBACKS] = CallbackScheduler(distributor, app[POLICY], CallbackAttempts(CallbackRepository(db), RetryPolicy(
        max_attempts=3, interval=timedelta(minutes=30), agent_first=timedelta(minutes=2),
        preview=timedelta(minutes=1))), outbound, audit, notify=notify)
    app[PARTNERS] = PartnerAccess(app[ACCOUNTS], app[POLICY], customers, audit, clock=lambda: NOW, per_minute=10,
                                  notify=notify)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, told
    finally:
        await client.close()


async def _partner(client: Client, name: str, operations: list[str], *, customers: Sequence[str] = (),
                   segments: Sequence[str] = ()) -> dict[str, str]:
    response = await client.post("/api/partners", headers=ADMIN, json={
        "name": name, "operations": operations, "customers": list(customers), "segments": list(segments)})
    assert response.status == 201, await response.text()
    body = await response.json()
    assert (body["operations"], body["customers"], body["segments"]) == (
        sorted(operations), sorted(customers), sorted(segments))
    return {"Authorization": f"Bearer {body['token']}"}


async def test_a_partner_reaches_its_own_customers_only_for_the_operations_granted(
        setup: tuple[Client, list[Any]], db: Database) -> None:
    client, told = setup
    acme = await _partner(client, "acme", ["customers.read", "customers.update"], customers=["1001"],
                          segments=["fiber"])
    mine = await client.get("/api/partner/customers/1001", headers=acme)
    assert mine.status == 200
    assert (await mine.json())["name"] == "Rina"
    assert (await client.get("/api/partner/customers/1002", headers=acme)).status == 200  # by its segment
    for other in ("2001", "9999"):  # another partner's customer answers as a missing one
        response = await client.get(f"/api/partner/customers/{other}", headers=acme)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "customer_not_found"
    pushed = await client.patch("/api/partner/customers/1001", headers=acme,
                                json={"email": "rina@example.com", "language": "en"})
    assert pushed.status == 200
    record = await CustomerRepository(db).customer("1001")
    assert record is not None and (record.email, record.language, record.name) == ("rina@example.com", "en", "Rina")
    assert told == [("customer.changed", "customer:1001",
                     {"customer_id": "1001", "change": "changed", "fields": ["email", "language"]})]
    refused = await client.patch("/api/partner/customers/1001", headers=acme, json={"segment": "gold"})
    assert refused.status == 422  # not a field a partner pushes
    foreign = await client.patch("/api/partner/customers/2001", headers=acme, json={"name": "X"})
    assert foreign.status == 404
    not_granted = await client.post("/api/partner/callbacks", headers=acme, json={})
    assert not_granted.status == 403
    assert (await not_granted.json())["error"]["code"] == "operation_not_granted"


async def test_a_partner_schedules_callbacks_to_its_customers(setup: tuple[Client, list[Any]]) -> None:
    client, told = setup
    acme = await _partner(client, "acme", ["callbacks.create"], customers=["1001"])
    due = (NOW + timedelta(hours=2)).isoformat()
    created = await client.post("/api/partner/callbacks", headers=acme,
                                json={"customer_id": "1001", "due_at": due, "reason": "renewal offer"})
    assert created.status == 201
    callback = await created.json()
    assert (callback["customer_id"], callback["created_by"], callback["agent_id"]) == ("1001", "acme", None)
    assert [(kind, subject) for kind, subject, _ in told] == [("callback.scheduled",
                                                               f"callback:{callback['callback_id']}")]
    foreign = await client.post("/api/partner/callbacks", headers=acme,
                                json={"customer_id": "2001", "due_at": due, "reason": "x"})
    assert foreign.status == 404
    reading = await client.get("/api/partner/customers/1001", headers=acme)
    assert reading.status == 403  # customers.read not granted


async def test_a_partner_token_reaches_nothing_but_the_partner_api_and_staff_not_that(
        setup: tuple[Client, list[Any]]) -> None:
    client, _ = setup
    acme = await _partner(client, "acme", ["customers.read"], customers=["1001"])
    for method, path in (("GET", "/api/customers/1001"), ("GET", "/api/partners"), ("POST", "/api/customers"),
                         ("GET", "/api/webhooks")):
        response = await client.request(method, path, headers=acme, json={})
        assert response.status == 403, path
        assert (await response.json())["error"]["code"] == "partner_only"
    for headers in (ADMIN, AGENT):
        assert (await client.get("/api/partner/customers/1001", headers=headers)).status == 403
    assert (await client.get("/api/partner/customers/1001")).status == 401


async def test_a_partner_is_held_to_its_rate(setup: tuple[Client, list[Any]]) -> None:
    client, _ = setup
    acme = await _partner(client, "acme", ["customers.read"], customers=["1001"])
    statuses = [(await client.get("/api/partner/customers/1001", headers=acme)).status for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    throttled = await client.get("/api/partner/customers/1001", headers=acme)
    assert throttled.headers["Retry-After"] == "60"
    other = await _partner(client, "globex", ["customers.read"], customers=["2001"])
    assert (await client.get("/api/partner/customers/2001", headers=other)).status == 200  # a rate per partner


async def test_every_partner_call_is_audited(setup: tuple[Client, list[Any]], db: Database) -> None:
    client, _ = setup
    acme = await _partner(client, "acme", ["customers.read", "customers.update"], customers=["1001"])
    assert (await client.get("/api/partner/customers/1001", headers=acme)).status == 200
    assert (await client.get("/api/partner/customers/2001", headers=acme)).status == 404
    assert (await client.patch("/api/partner/customers/1001", headers=acme, json={"city": "Bandung"})).status == 200
    assert (await client.post("/api/partner/callbacks", headers=acme, json={})).status == 403
    assert (await client.get("/api/me", headers=acme)).status == 403
    await client.app[AUDIT].flush()
    rows = await AuditRepository(db).search(actor="acme", limit=100)
    seen = sorted((r.action, r.subject_type, r.subject_id, (r.detail or {}).get("status"),
                   (r.detail or {}).get("operation")) for r in rows)
    assert seen == sorted([
        ("view", "route", "/api/partner/customers/{customer_id}", 200, None),
        ("view", "customer", "1001", None, "customers.read"),
        ("denied", "route", "/api/partner/customers/{customer_id}", 404, None),
        ("change", "route", "/api/partner/customers/{customer_id}", 200, None),
        ("change", "customer", "1001", None, "customers.update"),
        ("denied", "route", "/api/partner/callbacks", 403, None),
        ("denied", "route", "/api/me", 403, None),
    ])
    assert all(r.role == "partner" for r in rows)


async def test_grants_name_known_operations_and_are_replaced_by_an_admin(setup: tuple[Client, list[Any]]) -> None:
    client, _ = setup
    bad = await client.post("/api/partners", headers=ADMIN, json={"name": "acme", "operations": ["calls.hangup"]})
    assert bad.status == 422
    assert (await bad.json())["error"]["code"] == "unknown_operation"
    acme = await _partner(client, "acme", ["customers.read"], customers=["1001"])
    changed = await client.put("/api/partners/acme", headers=ADMIN, json={"operations": [], "customers": ["1001"]})
    assert changed.status == 200
    assert (await client.get("/api/partner/customers/1001", headers=acme)).status == 403  # at once
    assert (await client.put("/api/partners/lonely", headers=ADMIN, json={"operations": []})).status == 404
    listed = await (await client.get("/api/partners", headers=ADMIN)).json()
    assert [(p["name"], p["operations"], p["customers"]) for p in listed["partners"]] == [("acme", [], ["1001"])]
    assert "token" not in listed["partners"][0]
