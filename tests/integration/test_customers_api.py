"""``POST /api/customers`` (the desktop's record for an unknown caller), ``GET /api/customers/{id}`` and
``PUT /api/customers/{id}/consent`` over HTTP, with the real auth, audit and error middlewares on a SQLite
database: a refused value answers 422 with its problems and creates nothing; agents create, read and record the
consents of only their own callers' records, and every read, creation and consent change is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import WorkItem
from cti.crm import Consent
from cti.persistence import AgentRepository, AuditRepository, CustomerRepository, Database, UserRepository
from cti.records import AgentRecord
from cti.web import _desktop
from tests.api import PopsSeen, api_app

Client = TestClient[web.Request, web.Application]
AGENT = {"Authorization": "Bearer agent-token-0123456789"}
OTHER_AGENT = {"Authorization": "Bearer agent-token-9876543210"}
ADMIN = {"Authorization": "Bearer admin-token-0123456789"}
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    users, agents = UserRepository(database), AgentRepository(database)
    for agent_id, token in (("ani", "agent-token-0123456789"), ("budi", "agent-token-9876543210")):
        await agents.upsert(AgentRecord(agent_id, agent_id.title()))
        await users.ensure_user_token(f"agent-{agent_id}", "agent", token, agent_id)
    await users.ensure_user_token("admin", "admin", "admin-token-0123456789")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def client(db: Database) -> AsyncIterator[tuple[Client, PopsSeen]]:
    stand_ins = PopsSeen()
    app, distributor = api_app(db, [_desktop], pops=stand_ins, clock=lambda: NOW)
    # Ani is on a call from (022) 555-9876, a caller the CRM does not know.
    for n, agent_id in enumerate(("ani", "budi")):
        distributor.register_agent(agent_id, agent_id.title())
        distributor.login(agent_id, f"70{n:02d}", ready=agent_id == "ani")
    assert distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number="0225559876",
                                       service_number="1500100", queue="", arrived_at=NOW))
    distributor.offer_answered("c1-a1")
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client, stand_ins
    finally:
        await test_client.close()


async def post(client: Client, body: dict[str, Any], headers: dict[str, str] = AGENT) -> tuple[int, Any]:
    response = await client.post("/api/customers", json=body, headers=headers)
    return response.status, await response.json()


async def test_a_bad_email_is_refused_with_its_problem_and_creates_nothing(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, stand_ins = client
    status, body = await post(http, {"call_id": "c1", "name": "Rina", "email": "rina@"})
    assert (status, body) == (422, {"error": {
        "status": 422, "code": "invalid_input",
        "message": "cannot create customer: email: not an email address: 'rina@'",
        "details": [{"field": "email", "code": "invalid", "problem": "not an email address: 'rina@'"}]}})
    customers = CustomerRepository(db)
    assert await customers.customer_by_phone("0225559876") is None
    assert await customers.search_customers("Rina") == []
    assert await customers.customer("10000001") is None  # not even a blank record
    assert stand_ins.changed == []


async def test_an_unknown_caller_gets_their_record_in_one_step(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, stand_ins = client
    status, body = await post(http, {"call_id": "c1", "name": " Rina  Wati ", "email": "Rina@Example.com",
                                      "language": "en"})
    assert (status, body) == (201, {"customer_id": "10000001", "name": "Rina Wati", "phones": ["+62225559876"]})
    stored = await CustomerRepository(db).customer("10000001")
    assert stored is not None
    assert (stored.email, stored.region, stored.country, stored.language) == ("rina@example.com", "bandung", "ID",
                                                                              "en")
    assert stand_ins.changed == ["10000001"]
    # The same number again belongs to someone already: a conflict that does not say whose, and nothing half-made.
    status, body = await post(http, {"name": "Copycat", "phone": "022 5559876"}, ADMIN)
    assert (status, body["error"]["message"]) == (409, "that phone number is already on a customer record")
    assert await CustomerRepository(db).search_customers("Copycat") == []
    entries = await AuditRepository(db).search(subject_type="customer")
    assert [(e.actor, e.action, e.subject_id, e.detail) for e in entries] == [
        ("agent-ani", "create", "10000001", {"call_id": "c1"})]


async def test_an_agent_creates_records_only_for_the_caller_of_their_own_call(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, _ = client
    status, body = await post(http, {"name": "Walker", "phone": "0813 9000 1234"})
    assert (status, body["error"]["message"]) == (
        422, "name the live call of the caller to create a record for (call_id)")
    status, body = await post(http, {"call_id": "c1", "phone": "0813 9000 1234"})
    assert (status, body["error"]["message"]) == (422, "an agent records the caller's own number; leave phone out")
    status, body = await post(http, {"call_id": "c1", "name": "Not mine"}, OTHER_AGENT)
    assert (status, body["error"]["message"]) == (404, "no call 'c1'")
    assert await CustomerRepository(db).search_customers("Walker") == []


async def test_a_customer_is_read_only_by_who_serves_them_and_every_read_is_audited(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, _ = client
    assert (await post(http, {"call_id": "c1", "name": "Rina"}))[0] == 201
    mine = await http.get("/api/customers/10000001", headers=AGENT)
    assert (mine.status, (await mine.json())["name"]) == (200, "Rina")
    assert mine.headers["Cache-Control"] == "no-store"  # personal data: never kept by a browser or proxy
    # Another agent, and anyone asking for a record that does not exist, get the same answer.
    for customer_id, headers in (("10000001", OTHER_AGENT), ("10000002", AGENT)):
        hidden = await http.get(f"/api/customers/{customer_id}", headers=headers)
        assert (hidden.status, (await hidden.json())["error"]["message"]) == (404, f"no customer '{customer_id}'")
    entries = await AuditRepository(db).search(subject_type="customer", action="view")
    assert [(e.actor, e.subject_id, e.source) for e in entries] == [("agent-ani", "10000001", "127.0.0.1")]


async def test_a_change_asked_of_a_public_path_is_refused_not_a_server_error(
    client: tuple[Client, PopsSeen],
) -> None:
    # Nobody is signed in on a public path: the audit middleware has no one to write down (it used to fail, 500).
    http, _ = client
    for path in ("/healthz", "/", "/ui/index.html"):
        response = await http.put(path)
        assert response.status in (404, 405), (path, response.status)


async def test_an_agent_records_the_consents_their_caller_gives_and_the_record_shows_them(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, _ = client
    assert (await post(http, {"call_id": "c1", "name": "Rina"}))[0] == 201  # Ani's caller, 10000001

    async def put(body: Any, headers: dict[str, str] = AGENT) -> tuple[int, Any]:
        response = await http.put("/api/customers/10000001/consent", json=body, headers=headers)
        return response.status, await response.json()

    assert await put({"surveys": True}) == (200, {"customer_id": "10000001", "consent": {
        "phone_calls": False, "marketing_calls": False, "email": False, "data_sharing": False, "surveys": True}})
    assert await put({"phone_calls": True, "surveys": False}) == (200, {"customer_id": "10000001", "consent": {
        "phone_calls": True, "marketing_calls": False, "email": False, "data_sharing": False, "surveys": False}})
    assert await put({"surveys": True}) == (200, {"customer_id": "10000001", "consent": {
        "phone_calls": True, "marketing_calls": False, "email": False, "data_sharing": False, "surveys": True}})
    for body in ({"surveys": "maybe"}, {"sms": True}):
        status, refused = await put(body)
        assert (status, refused["error"]["code"]) == (422, "invalid_body"), body
    status, hidden = await put({"surveys": False}, OTHER_AGENT)  # Budi never served her
    assert (status, hidden["error"]["message"]) == (404, "no customer '10000001'")

    shown = await http.get("/api/customers/10000001", headers=AGENT)
    assert (await shown.json())["consent"] == {"phone_calls": True, "marketing_calls": False, "surveys": True}
    record = await CustomerRepository(db).customer("10000001")
    assert record is not None and record.consent == Consent(phone_calls=True, surveys=True)
    changes = await AuditRepository(db).search(subject_type="customer", action="change")
    assert [(e.actor, e.subject_id, e.detail) for e in reversed(changes)] == [
        ("agent-ani", "10000001", {"consent": {"surveys": True}}),
        ("agent-ani", "10000001", {"consent": {"phone_calls": True, "surveys": False}}),
        ("agent-ani", "10000001", {"consent": {"surveys": True}}),
    ]
