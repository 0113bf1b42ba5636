"""``POST /api/customers`` (the desktop's record for an unknown caller) over HTTP, with the real auth and error
middlewares on a SQLite database: a refused value answers 422 with its problems and creates nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.persistence import CustomerRepository, Database, UserRepository
from cti.web import _desktop
from tests.api import PopsSeen, api_app

Client = TestClient[web.Request, web.Application]
AGENT = {"Authorization": "Bearer agent-token-0123456789"}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    await UserRepository(database).ensure_user_token("agent-ani", "agent", "agent-token-0123456789")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def client(db: Database) -> AsyncIterator[tuple[Client, PopsSeen]]:
    stand_ins = PopsSeen()
    app, _ = api_app(db, [_desktop], pops=stand_ins)
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client, stand_ins
    finally:
        await test_client.close()


async def post(client: Client, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post("/api/customers", json=body, headers=AGENT)
    return response.status, await response.json()


async def test_a_bad_email_is_refused_with_its_problem_and_creates_nothing(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, stand_ins = client
    status, body = await post(http, {"name": "Rina", "phone": "0813 9000 1234", "email": "rina@"})
    assert (status, body) == (422, {"error": {
        "status": 422, "message": "cannot create customer: email: not an email address: 'rina@'",
        "details": [{"field": "email", "problem": "not an email address: 'rina@'"}]}})
    customers = CustomerRepository(db)
    assert await customers.customer_by_phone("0813 9000 1234") is None
    assert await customers.search_customers("Rina") == []
    assert await customers.customer("10000001") is None  # not even a blank record
    assert stand_ins.changed == []


async def test_an_unknown_caller_gets_their_record_in_one_step(
    client: tuple[Client, PopsSeen], db: Database
) -> None:
    http, stand_ins = client
    status, body = await post(http, {"name": " Rina  Wati ", "phone": "(022) 555-9876", "email": "Rina@Example.com",
                                      "language": "en"})
    assert (status, body) == (201, {"customer_id": "10000001", "name": "Rina Wati", "phones": ["+62225559876"]})
    stored = await CustomerRepository(db).customer("10000001")
    assert stored is not None
    assert (stored.email, stored.region, stored.country, stored.language) == ("rina@example.com", "bandung", "ID",
                                                                              "en")
    assert stand_ins.changed == ["10000001"]
    # The same number again belongs to someone already: a conflict, and still nothing half-made.
    status, body = await post(http, {"name": "Copycat", "phone": "022 5559876"})
    assert (status, body["error"]["message"]) == (409, "phone +62225559876 already belongs to customer 10000001")
    assert await CustomerRepository(db).search_customers("Copycat") == []
