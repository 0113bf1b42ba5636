"""``GET /api/customers?q=`` (the desktop's customer search) over HTTP on SQLite and PostgreSQL, with the real auth,
audit and error middlewares: exact results for names (word prefixes, any case, no accents), phones in any format,
customer numbers and odd input; each role finds only the customers it may see, agents with masked phones; every
search is audited with ids only; erased customers are never found; a user searching too often gets 429."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cti.acd import WorkItem
from cti.crm import CustomerFields
from cti.persistence import (
    AgentRepository,
    AuditRepository,
    CustomerRepository,
    Database,
    InteractionRepository,
    UserRepository,
)
from cti.persistence._database import alembic_config
from cti.records import AgentRecord, InteractionRecord
from cti.services import SEARCHES_PER_MINUTE
from cti.sim import generate
from cti.web import _customer_search
from tests.api import api_app
from tests.support import create_postgres_database

Client = TestClient[web.Request, web.Application]
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ADMIN = {"Authorization": "Bearer admin-token-0123456789"}
ANI = {"Authorization": "Bearer agent-token-0123456789"}
BUDI = {"Authorization": "Bearer agent-token-9876543210"}
SUPERVISOR = {"Authorization": "Bearer super-token-0123456789"}
NOBODY = {"Authorization": "Bearer lonely-token-0123456789"}  # an agent login with no agent

# Besides the demo's six fixed customers (Budi Santoso 10000001 ... Andi Nurhaliza 10000006):
EXTRA = {
    "20000001": CustomerFields(name="Dewi Lesmana", phones=("0813 5550 0011",), city="Bandung"),
    "20000002": CustomerFields(name="Ayu Dewi Lèstari", phones=("0361 555 0022",), city="Denpasar"),
    "20000003": CustomerFields(name="Toko 100% Jaya_Abadi", phones=("021 5550 0033",), city="Jakarta"),
    "20000004": CustomerFields(name="Dewi Lestiani", phones=("0813 5550 0044",)),  # erased below
    "20000005": CustomerFields(name="Ömer Çelik", phones=("+90 532 123 4567",), language="en"),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    drop = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    else:
        url, drop = await create_postgres_database()  # fails, never skips, when CI is set
    database = Database(url)
    await database.upgrade()
    try:
        users, agents = UserRepository(database), AgentRepository(database)
        for agent_id, token in (("ani", "agent-token-0123456789"), ("budi", "agent-token-9876543210")):
            await agents.upsert(AgentRecord(agent_id, agent_id.title()))
            await users.ensure_user_token(f"agent-{agent_id}", "agent", token, agent_id)
        await users.ensure_user_token("lonely", "agent", "lonely-token-0123456789")
        await users.ensure_user_token("sari", "supervisor", "super-token-0123456789")
        await users.set_user_scope("sari", {"queues": ["sales"], "teams": []})
        await users.ensure_user_token("admin", "admin", "admin-token-0123456789")
        customers = CustomerRepository(database)
        assert await customers.seed(generate(now=NOW, customers=6)) == 6
        for customer_id, fields in EXTRA.items():
            await customers.create_customer(fields, customer_id=customer_id)
        await customers.forget("20000004")
        # Ani served Dewi Lestari in "care"; Budi served Budi Santoso in "sales", the supervisor's queue.
        interactions = InteractionRepository(database)
        for call_id, agent_id, queue, customer_id in (("i1", "ani", "care", "10000003"),
                                                      ("i2", "budi", "sales", "10000001")):
            await interactions.save(InteractionRecord(
                call_id=call_id, channel_id=f"ch-{call_id}", caller_number="+6281200000000", caller_name=None,
                service_number="1500100", queue=queue, arrived_at=NOW - timedelta(days=1), agent_id=agent_id,
                customer_id=customer_id))
        yield database
    finally:
        await database.close()
        if drop is not None:
            await drop()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(db: Database, clock: Clock) -> AsyncIterator[Client]:
    app, distributor = api_app(db, [_customer_search], clock=clock)
    # Budi (the agent) is talking to James Whitfield right now: a live call, in no interaction yet.
    distributor.register_agent("budi", "Budi")
    distributor.login("budi", "7001", ready=True)
    assert distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number="+61412345004",
                                       service_number="1500100", queue="", arrived_at=NOW, customer_id="10000004"))
    distributor.offer_answered("c1-a1")
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def search(client: Client, q: str | None, headers: dict[str, str] = ADMIN, **params: Any) -> tuple[int, Any]:
    query = {**({} if q is None else {"q": q}), **{k: str(v) for k, v in params.items()}}
    response = await client.get("/api/customers", params=query, headers=headers)
    return response.status, await response.json()


async def found(client: Client, q: str, headers: dict[str, str] = ADMIN, **params: Any) -> list[str]:
    status, body = await search(client, q, headers, **params)
    assert status == 200, body
    return [c["customer_id"] for c in body["customers"]]


async def test_names_match_word_prefixes_in_any_case_without_accents_most_relevant_first(client: Client) -> None:
    # The name itself, then names starting with the query, then names holding its words, each by name.
    assert await found(client, "dewi les") == ["20000001", "10000003", "20000002"]
    assert await found(client, "Dewi Lestari") == ["10000003", "20000002"]
    assert await found(client, "  DÉWI   lestari ") == ["10000003", "20000002"]
    assert await found(client, "lestari") == ["20000002", "10000003"]
    assert await found(client, "les dewi") == ["20000002", "20000001", "10000003"]  # any order, by name then
    assert await found(client, "ewi") == []  # the start of a word, not any part of it
    assert await found(client, "rudi siregar") == ["10000005"]
    assert await found(client, "ömer") == await found(client, "OMER") == await found(client, "çelik") == ["20000005"]
    assert await found(client, "dewi", limit=1) == ["20000001"]
    status, body = await search(client, "budi")
    assert (status, body) == (200, {"customers": [
        {"customer_id": "10000001", "name": "Budi Santoso", "phones": ["+6281210000001", "+622155501001"],
         "city": "Jakarta", "value_tier": "gold", "language": "id"}]})


async def test_phones_in_any_format_and_customer_numbers(client: Client) -> None:
    for phone in ("0813-2200-0003", "+62 813 2200 0003", "6281322000003", "0062 813 2200 0003", "(0813) 22000003"):
        assert await found(client, phone) == ["10000003"], phone
    assert await found(client, "+90 532 123 4567") == ["20000005"]
    assert await found(client, "0812 1000") == ["10000001"]  # a part of a number, without its trunk 0
    assert await found(client, "5550 0") == ["20000002", "20000001", "20000003"]  # by name: Ayu, Dewi, Toko
    assert await found(client, "10000004") == ["10000004"]
    assert await found(client, "20000003") == ["20000003"]
    assert await found(client, "99999999") == []


async def test_odd_input(client: Client) -> None:
    short = {"status": 422, "code": "invalid_search", "params": {"min": 2, "max": 100},
             "message": "cannot search customers", "details": [
                 {"field": "q", "code": "too_short",
                  "problem": "at least 2 characters: a name, a phone number or a customer number"}]}
    for q in (None, "", "   ", "d", "%", " _ "):
        assert await search(client, q) == (422, {"error": short}), q
    assert await search(client, "x" * 101) == (422, {"error": {
        "status": 422, "code": "invalid_search", "params": {"min": 2, "max": 100}, "message": "cannot search customers",
        "details": [{"field": "q", "code": "too_long", "problem": "at most 100 characters"}]}})
    assert await found(client, "x" * 100) == []
    # LIKE's wildcards are plain characters (folded away like all punctuation), never patterns.
    assert await found(client, "%%") == []
    assert await found(client, "__") == []
    assert await found(client, "100%") == ["20000003"]
    assert await found(client, "jaya_") == ["20000003"]
    assert await found(client, "%a%") == await found(client, "_a") == ["10000006", "20000002", "20000003"]
    assert await found(client, "😀😀") == []
    assert await found(client, "'; DROP TABLE customers; --") == []
    for limit in ("0", "26", "ten"):
        status, body = await search(client, "dewi", limit=limit)
        assert (status, body["error"]["message"]) == (400, "limit must be an integer from 1 to 25"), limit


async def test_erased_customers_are_never_found(client: Client, db: Database) -> None:
    assert await found(client, "lestiani") == []
    assert await found(client, "0813 5550 0044") == []
    assert await found(client, "20000004") == []
    await CustomerRepository(db).forget("10000003")
    assert await found(client, "dewi les") == ["20000001", "20000002"]
    assert await found(client, "0813-2200-0003") == []


async def test_a_renamed_customer_is_found_by_the_new_name_only(client: Client, db: Database) -> None:
    customers = CustomerRepository(db)
    dewi = await customers.customer("10000003")
    assert dewi is not None
    await customers.update_customer("10000003", replace(dewi.fields(), name="Ni Luh Putu Dewi Ariani"))
    assert await found(client, "luh ari") == ["10000003"]
    assert await found(client, "dewi lestari") == ["20000002"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_migration_folds_the_names_of_customers_already_there(backend: str, tmp_path: Path) -> None:
    drop = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    else:
        url, drop = await create_postgres_database()

    def migrate(connection: Connection, target: str) -> None:
        command.upgrade(alembic_config(connection), target)

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(migrate, "0012")
            await connection.execute(text(
                "INSERT INTO customers (customer_id, name, created_at, updated_at) "
                "VALUES ('30000001', 'I Gusti Ayu Ratih Dèwi', :at, :at)"), {"at": NOW})
        async with engine.begin() as connection:
            await connection.run_sync(migrate, "head")
            stored = (await connection.execute(text("SELECT search_name FROM customers"))).scalar_one()
        assert stored == "i gusti ayu ratih dewi"
        async with Database(url) as database:
            assert [c.customer_id for c in await CustomerRepository(database).search_customers("ratih DEWI")] == [
                "30000001"]
    finally:
        await engine.dispose()
        if drop is not None:
            await drop()


async def test_each_role_finds_only_whom_it_may_see_and_agents_see_masked_phones(client: Client) -> None:
    status, body = await search(client, "dewi", ANI)
    assert (status, body) == (200, {"customers": [
        {"customer_id": "10000003", "name": "Dewi Lestari", "phones": ["+62•••••••0003", "+62•••••0303"],
         "city": "Bandung", "value_tier": "bronze", "language": "id"}]})
    assert await found(client, "0813 2200 0003", ANI) == ["10000003"]
    assert await found(client, "budi", ANI) == []
    assert await found(client, "10000001", ANI) == []
    # Budi's live call is with James; he served Budi Santoso.
    assert await found(client, "james", BUDI) == ["10000004"]
    assert await found(client, "budi", BUDI) == ["10000001"]
    assert await found(client, "dewi", BUDI) == []
    assert await found(client, "dewi", NOBODY) == []
    # The supervisor's scope is the queue "sales": Budi Santoso, with his phones in full.
    status, body = await search(client, "budi", SUPERVISOR)
    assert (status, body["customers"][0]["phones"]) == (200, ["+6281210000001", "+622155501001"])
    assert await found(client, "dewi", SUPERVISOR) == []
    assert await found(client, "dewi") == ["20000001", "10000003", "20000002"]
    response = await client.get("/api/customers", params={"q": "dewi"})
    assert response.status == 401


async def test_every_search_is_audited_with_ids_only(client: Client, db: Database) -> None:
    assert await found(client, "Dewi Les", ANI) == ["10000003"]
    assert await found(client, "0812 1000", SUPERVISOR) == ["10000001"]
    assert await found(client, "nobody here", ADMIN) == []
    entries = await AuditRepository(db).search(action="search")
    assert [(e.actor, e.role, e.subject_type, e.subject_id, e.detail) for e in reversed(entries)] == [
        ("agent-ani", "agent", "customer", "*", {"kind": "name", "results": 1, "customer_ids": ["10000003"]}),
        ("sari", "supervisor", "customer", "*", {"kind": "digits", "results": 1, "customer_ids": ["10000001"]}),
        ("admin", "admin", "customer", "*", {"kind": "name", "results": 0, "customer_ids": []}),
    ]
    text = json.dumps([e.detail for e in entries]).lower()
    assert "dewi" not in text and "0812" not in text and "nobody" not in text


async def test_too_many_searches_answer_429_until_a_minute_has_passed(client: Client, clock: Clock) -> None:
    for n in range(SEARCHES_PER_MINUTE):
        clock.now = NOW + timedelta(seconds=n)
        assert (await search(client, "dewi", ANI))[0] == 200
    response = await client.get("/api/customers", params={"q": "dewi"}, headers=ANI)
    assert (response.status, response.headers["Retry-After"], await response.json()) == (429, "31", {"error": {
        "status": 429, "code": "throttled", "params": {"seconds": 31},
        "message": "too many customer searches; retry in 31 s"}})
    assert (await search(client, "dewi", BUDI))[0] == 200  # each user has their own budget
    clock.now = NOW + timedelta(seconds=60)
    assert (await search(client, "dewi", ANI))[0] == 200
