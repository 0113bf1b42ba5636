"""``/api/customers/{id}/verification`` over HTTP on a SQLite CRM: an administrator sets and removes a customer's
IVR PIN and date of birth; the PIN is stored only hashed and never answered back; nobody else may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from cti.crm import check_keys
from cti.persistence import CustomerRepository, Database, UserRepository
from cti.sim import generate
from cti.web import _verification
from tests.api import api_app

Client = TestClient[web.Request, web.Application]
ADMIN = {"Authorization": "Bearer admin-token-0123456789abcdef"}
AGENT = {"Authorization": "Bearer agent-token-0123456789"}
SUPERVISOR = {"Authorization": "Bearer super-token-0123456789"}
NOW = datetime(2026, 3, 14, 3, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    users = UserRepository(database)
    await users.ensure_user_token("admin", "admin", "admin-token-0123456789abcdef")
    await users.ensure_user_token("agent-ani", "agent", "agent-token-0123456789")
    await users.ensure_user_token("sue", "supervisor", "super-token-0123456789")
    await CustomerRepository(database).seed(generate(now=NOW, customers=6))
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def http(db: Database) -> AsyncIterator[Client]:
    app, _ = api_app(db, [_verification], clock=lambda: NOW)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def call(http: Client, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    response = await http.request(method, path, json=body, headers=headers)
    return response.status, await response.json()


async def test_an_administrator_sets_a_pin_and_a_date_of_birth(http: Client, db: Database) -> None:
    path = "/api/customers/10000003/verification"
    assert await call(http, "GET", path, ADMIN) == (200, {"customer_id": "10000003", "pin_set": False,
                                                          "birth_date_set": False})
    status, body = await call(http, "PUT", path, ADMIN, {"pin": "905512", "birth_date": "2001-02-03"})
    assert (status, body) == (200, {"customer_id": "10000003", "pin_set": True, "birth_date_set": True})
    credentials = await CustomerRepository(db).credentials("10000003")
    assert check_keys(credentials, "905512") == ("pin", True)
    assert check_keys(credentials, "03022001") == ("dob", True)
    async with db.transaction("read the stored PIN") as session:
        stored = (await session.execute(text("SELECT pin_hash FROM customers WHERE customer_id = '10000003'"))).scalar()
    assert stored.startswith("scrypt$") and "905512" not in stored

    # A field left out stays; null removes.
    assert await call(http, "PUT", path, ADMIN, {"birth_date": None}) == (
        200, {"customer_id": "10000003", "pin_set": True, "birth_date_set": False})
    assert check_keys(await CustomerRepository(db).credentials("10000003"), "905512") == ("pin", True)


async def test_invalid_values_unknown_customers_and_other_roles_are_refused(http: Client, db: Database) -> None:
    path = "/api/customers/10000003/verification"
    status, body = await call(http, "PUT", path, ADMIN, {"pin": "12"})
    assert (status, body["error"]["details"]) == (422, [{"field": "pin", "code": "invalid",
                                                         "problem": "must be 4 to 6 digits"}])
    assert body["error"]["message"] == ("cannot set the verification data of customer 10000003: pin: must be 4 to 6 "
                                        "digits")  # the value itself is not repeated
    status, body = await call(http, "PUT", path, ADMIN, {"birth_date": "2099-01-01"})
    assert (status, body["error"]["details"]) == (422, [{"field": "birth_date", "code": "invalid", "problem":
                                                         "must be between 1900-01-01 and 2026-03-14"}])
    assert (await call(http, "PUT", path, ADMIN, {"pin": 1234}))[0] == 422  # a string of digits, not a number
    assert (await call(http, "PUT", path, ADMIN, {"colour": "red"}))[0] == 422
    assert (await call(http, "PUT", "/api/customers/99999999/verification", ADMIN, {"pin": "1234"}))[0] == 404
    assert (await call(http, "GET", "/api/customers/99999999/verification", ADMIN))[0] == 404
    for who in (AGENT, SUPERVISOR):
        assert (await call(http, "PUT", path, who, {"pin": "1234"}))[0] == 403
        assert (await call(http, "GET", path, who))[0] == 403
    credentials = await CustomerRepository(db).credentials("10000003")
    assert credentials is not None and (credentials.pin_hash, credentials.birth_date) == (None, None)
    await CustomerRepository(db).forget("10000003")
    assert (await call(http, "PUT", path, ADMIN, {"birth_date": str(date(2001, 2, 3))}))[0] == 409
