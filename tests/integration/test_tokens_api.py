"""Token lifecycle over HTTP, with the real auth and error middlewares on a SQLite database and a clock the test
moves: tokens expire, rotate, and stop working when their user is disabled or deleted; failed attempts are
throttled per address; websocket tickets are issued to the caller. Open sockets: tests/pages/test_tokens.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.persistence import AuditRepository, Database, UserRepository
from cti.web import _service, _signin, _users, openapi_document
from cti.web._keys import AUDIT
from tests.api import api_app

ADMIN = "admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    clock: Clock
    db: Database

    async def call(self, method: str, path: str, *, token: str | None = ADMIN, expect: int = 200,
                   **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json()
            assert response.status == expect, f"{method} {path}: {response.status} {body}"
            return body

    async def refused(self, token: str | None, path: str = "/api/me") -> tuple[int, str, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.get(path, headers=headers) as response:
            body = await response.json()
            return response.status, body["error"]["message"], dict(response.headers)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("root", "admin", ADMIN)
    clock = Clock()
    app, _ = api_app(db, [_service, _signin, _users], clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client, clock, db)
    finally:
        await client.close()
        await db.close()


async def test_a_token_expires_after_the_configured_lifetime(api: Api) -> None:
    created = await api.call("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201)
    sue = created["token"]
    assert created["user"]["token_expires_at"] == (T0 + timedelta(days=30)).isoformat()
    assert (await api.call("GET", "/api/me", token=sue))["name"] == "sue"
    api.clock.advance(days=30, seconds=-1)
    await api.call("GET", "/api/me", token=sue)
    api.clock.advance(seconds=1)
    status, message, headers = await api.refused(sue)
    assert (status, message, headers["WWW-Authenticate"]) == (401, "token expired", 'Bearer realm="cti"')
    # The same user with a new token works again.
    rotated = await api.call("POST", "/api/users/sue/token")
    assert rotated["user"]["token_expires_at"] == (T0 + timedelta(days=60)).isoformat()
    assert (await api.call("GET", "/api/me", token=rotated["token"]))["name"] == "sue"


async def test_rotation_returns_a_new_token_once_and_the_old_one_stops_at_once(api: Api) -> None:
    sue = (await api.call("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    await api.call("GET", "/api/me", token=sue)  # cached now: rotation must not leave it working
    rotated = await api.call("POST", "/api/users/sue/token")
    assert rotated["user"]["name"] == "sue" and rotated["token"] != sue and len(rotated["token"]) >= 32
    assert (await api.refused(sue))[:2] == (401, "invalid or disabled token")
    assert (await api.call("GET", "/api/me", token=rotated["token"]))["name"] == "sue"
    # Anyone may rotate their own token; only an admin someone else's.
    mine = await api.call("POST", "/api/me/token", token=rotated["token"])
    assert (await api.refused(rotated["token"]))[:2] == (401, "invalid or disabled token")
    assert (await api.call("GET", "/api/me", token=mine["token"]))["name"] == "sue"
    await api.call("POST", "/api/users/root/token", token=mine["token"], expect=403)
    await api.call("POST", "/api/users/ghost/token", expect=404)


async def test_disable_enable_and_delete_through_the_api(api: Api) -> None:
    sue = (await api.call("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    await api.call("GET", "/api/me", token=sue)
    disabled = await api.call("POST", "/api/users/sue/disable")
    assert (disabled["name"], disabled["disabled"]) == ("sue", True)
    assert (await api.refused(sue))[:2] == (401, "invalid or disabled token")
    assert (await api.call("POST", "/api/users/sue/enable"))["disabled"] is False
    await api.call("GET", "/api/me", token=sue)
    assert [u["name"] for u in (await api.call("GET", "/api/users"))["users"]] == ["root", "sue"]
    # The list says each supervisor's scope (null: everything), for the users page.
    await api.call("PUT", "/api/users/sue/scope", json={"queues": ["sales"], "teams": []})
    listed = {u["name"]: u["scope"] for u in (await api.call("GET", "/api/users"))["users"]}
    assert listed == {"root": None, "sue": {"queues": ["sales"], "teams": []}}
    assert await api.call("DELETE", "/api/users/sue") == {"deleted": "sue"}
    assert (await api.refused(sue))[:2] == (401, "invalid or disabled token")
    assert [u["name"] for u in (await api.call("GET", "/api/users"))["users"]] == ["root"]
    await api.call("DELETE", "/api/users/sue", expect=404)
    await api.call("POST", "/api/users/sue/disable", expect=404)
    # An administrator cannot lock themself out; a supervisor cannot do any of it.
    assert (await api.call("POST", "/api/users/root/disable", expect=409))["error"]["message"] == (
        "you cannot disable your own user; another administrator can")
    await api.call("DELETE", "/api/users/root", expect=409)
    boss = (await api.call("POST", "/api/users", json={"name": "boss", "role": "supervisor"}, expect=201))["token"]
    await api.call("POST", "/api/users/root/disable", token=boss, expect=403)
    await api.call("DELETE", "/api/users/root", token=boss, expect=403)


async def test_failed_attempts_are_throttled_per_address_with_retry_after(api: Api) -> None:
    for n in range(9):
        assert (await api.refused(f"guess-{n}"))[:2] == (401, "invalid or disabled token")
    # Neither a missing token nor an expired one is a guess: they do not count.
    assert (await api.refused(None))[:2] == (401, "missing bearer token")
    assert (await api.refused(f"guess-{9}"))[:2] == (401, "invalid or disabled token")  # the tenth
    status, message, headers = await api.refused("guess-10")
    assert (status, message, headers["Retry-After"]) == (
        429, "too many failed authentication attempts from this address; retry in 60 s", "60")
    # Locked out whatever it sends, even a valid token (a lookup would be an oracle).
    status, _, headers = await api.refused(ADMIN)
    assert (status, headers["Retry-After"]) == (429, "60")
    api.clock.advance(seconds=45)
    assert (await api.refused(ADMIN))[2]["Retry-After"] == "15"
    api.clock.advance(seconds=15)
    assert (await api.call("GET", "/api/me"))["name"] == "root"
    assert (await api.refused("guess-11"))[:2] == (401, "invalid or disabled token")  # a fresh count
    # The public paths are never throttled.
    async with api.client.get("/openapi.json") as response:
        assert response.status == 200


async def test_expired_tokens_do_not_count_towards_the_throttle(api: Api) -> None:
    sue = (await api.call("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    api.clock.advance(days=31)
    for _ in range(15):
        assert (await api.refused(sue))[:2] == (401, "token expired")
    assert (await api.call("GET", "/api/me"))["name"] == "root"


async def test_a_websocket_ticket_is_issued_to_the_caller(api: Api) -> None:
    answer = await api.call("POST", "/api/ws-tickets", expect=201)
    assert answer["expires_in"] == 30 and len(answer["ticket"]) >= 32
    await api.call("POST", "/api/ws-tickets", token=None, expect=401)
    # A ticket is for websockets only: it is no bearer token and opens no API route.
    assert (await api.refused(answer["ticket"]))[:2] == (401, "invalid or disabled token")
    async with api.client.get(f"/api/me?ticket={answer['ticket']}") as response:
        assert response.status == 401


def test_the_new_routes_are_described() -> None:
    paths = openapi_document((_users,))["paths"]
    assert {"/api/users/{name}", "/api/users/{name}/token", "/api/users/{name}/disable", "/api/users/{name}/enable",
            "/api/me/token", "/api/ws-tickets"} <= set(paths)
    assert set(paths["/api/users/{name}"]) == {"delete"}
    assert "429" in paths["/api/ws-tickets"]["post"]["responses"]


async def test_a_supervisor_s_scope_is_cleared_back_to_everything_and_audited(api: Api) -> None:
    await api.call("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201)
    await api.call("PUT", "/api/users/sue/scope", json={"queues": ["sales"], "teams": ["jakarta"]})
    # Empty lists mean nothing, not everything: clearing is a request of its own.
    assert await api.call("PUT", "/api/users/sue/scope", json={}) == {"name": "sue", "scope": {"queues": [],
                                                                                               "teams": []}}
    assert await api.call("DELETE", "/api/users/sue/scope") == {"name": "sue", "scope": None}
    listed = {u["name"]: u["scope"] for u in (await api.call("GET", "/api/users"))["users"]}
    assert listed == {"root": None, "sue": None}
    await api.call("DELETE", "/api/users/nobody/scope", expect=404)
    boss = (await api.call("POST", "/api/users", json={"name": "boss", "role": "supervisor"}, expect=201))["token"]
    await api.call("DELETE", "/api/users/sue/scope", token=boss, expect=403)
    await api.client.app[AUDIT].flush()
    entries = await AuditRepository(api.db).search(subject_type="route", subject_id="/api/users/{name}/scope")
    assert sorted((e.actor, e.action, e.detail["method"], e.detail["name"], e.detail["status"]) for e in entries) == [
        ("boss", "denied", "DELETE", "sue", 403), ("root", "change", "PUT", "sue", 200),
        ("root", "change", "PUT", "sue", 200), ("root", "delete", "DELETE", "sue", 200),
        ("root", "denied", "DELETE", "nobody", 404)]
