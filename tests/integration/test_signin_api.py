"""Signing in with a password over HTTP, on the real app's middlewares, services and a SQLite database, with a clock
the test moves: the session cookie and its CSRF token, the same refusal for a wrong password and an unknown name,
the throttle, disabled users, idle and absolute expiry, signing out, and passwords set by an admin, by the CLI and
by their owner. The page itself: tests/pages/test_signin.py."""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from cti.cli import main
from cti.persistence import AgentRepository, Database, UserRepository
from cti.records import AgentRecord
from cti.settings import Settings
from cti.web import _audit, _service, _signin, _users
from tests.api import api_app
from tests.support import eventually

ADMIN = "admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "kopi susu 2026!"
REFUSED = "wrong user name or password"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Browser:
    """A browser of its own (its own cookie jar) sending requests as a page does: the cookies go by themselves, the
    CSRF header is copied from the cti_csrf cookie unless ``csrf=False``."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    def csrf(self) -> str | None:
        cookie = self.http.cookie_jar.filter_cookies(self.server.make_url("/")).get("cti_csrf")
        return None if cookie is None else cookie.value

    async def request(self, method: str, path: str, *, csrf: bool = True, **kwargs: Any
                      ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        headers = dict(kwargs.pop("headers", {}))
        token = self.csrf()
        if csrf and token is not None:
            headers["X-CSRF-Token"] = token
        async with self.http.request(method, self.server.make_url(path), headers=headers, **kwargs) as response:
            return response.status, await response.json(), response.headers

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        status, body, _ = await self.request(method, path, **kwargs)
        assert status == expect, f"{method} {path}: {status} {body}"
        return body

    async def refusal(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, CIMultiDictProxy[str]]:
        status, body, headers = await self.request(method, path, **kwargs)
        return status, body["error"]["message"] if status >= 400 else "", headers


@dataclass
class Api:
    server: TestServer
    clock: Clock
    db: Database

    def browser(self) -> Browser:
        return Browser(self.server)

    async def admin(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        async with self.browser() as browser:
            return await browser.call(method, path, expect=expect,
                                      headers={"Authorization": f"Bearer {ADMIN}"}, **kwargs)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("root", "admin", ADMIN)
    await AgentRepository(db).upsert(AgentRecord("ana", "Ana Wijaya"))
    clock = Clock()
    app, _ = api_app(db, [_service, _signin, _users, _audit], clock=clock)
    server = TestServer(app)
    await server.start_server()
    try:
        yield Api(server, clock, db)
    finally:
        await server.close()
        await db.close()


async def signed_in(api: Api, name: str = "ana", password: str = PASSWORD) -> Browser:
    browser = api.browser()
    await browser.call("POST", "/api/session", json={"name": name, "password": password})
    return browser


async def with_password(api: Api, name: str = "ana", role: str = "agent", agent_id: str | None = "ana") -> None:
    await api.admin("POST", "/api/users", json={"name": name, "role": role, "agent_id": agent_id}, expect=201)
    await api.admin("PUT", f"/api/users/{name}/password", json={"password": PASSWORD})


async def test_signing_in_sets_the_cookies_and_answers_who_i_am(api: Api) -> None:
    await with_password(api)
    async with api.browser() as http:
        status, me, headers = await http.request("POST", "/api/session", json={"name": "ana", "password": PASSWORD})
        assert status == 200
        cookies = {c.split("=", 1)[0]: c for c in headers.getall("Set-Cookie")}
        assert me == {"name": "ana", "display_name": "Ana Wijaya", "role": "agent", "agent_id": "ana",
                      "disabled": False, "token_expires_at": me["token_expires_at"], "language": "id",
                      "timezone": "Asia/Jakarta", "company": "cti"}
        session, csrf = cookies["cti_session"], cookies["cti_csrf"]
        for cookie in (session, csrf):
            assert "SameSite=Strict" in cookie and "Path=/" in cookie and "Max-Age=43200" in cookie
            assert "Secure" not in cookie  # plain HTTP, and CTI_SECURE_COOKIES not set
        assert "HttpOnly" in session and "HttpOnly" not in csrf
        # The cookie alone authenticates reads; no token anywhere.
        assert (await http.call("GET", "/api/me"))["display_name"] == "Ana Wijaya"
        # The language is remembered in the users table.
        assert (await http.call("PATCH", "/api/me", json={"language": "en"}))["language"] == "en"
        assert (await http.call("GET", "/api/me"))["language"] == "en"
        assert (await api.admin("GET", "/api/me"))["language"] == "id"  # the admin's own
        details = (await http.call("PATCH", "/api/me", json={"language": "fr"}, expect=422))["error"]["details"]
        assert details[0]["field"] == "language"


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(api: Api) -> None:
    await with_password(api)
    await api.admin("POST", "/api/users", json={"name": "nopass", "role": "agent"}, expect=201)
    async with api.browser() as http:
        answers = set()
        for name, password in (("ana", "not the password"), ("ghost", PASSWORD), ("nopass", PASSWORD),
                               ("ana", PASSWORD.upper())):
            status, message, headers = await http.refusal("POST", "/api/session",
                                                     json={"name": name, "password": password})
            answers.add((status, message))
            assert "Set-Cookie" not in headers
        assert answers == {(401, REFUSED)}
        # Bad bodies are the usual clear refusals.
        assert (await http.refusal("POST", "/api/session", json={"name": "ana"}))[:2] == (
            422, "request body is invalid")
        assert (await http.refusal("POST", "/api/session", data="name=ana&password=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}))[:2] == (
            400, "send the sign-in as a JSON body (Content-Type: application/json)")
        assert (await http.refusal("POST", "/api/session", data="{", headers={"Content-Type": "application/json"}
                              ))[0] == 400


async def test_repeated_failures_are_throttled_per_name_and_per_address(api: Api) -> None:
    await with_password(api)
    async with api.browser() as http:
        for _ in range(10):
            await http.call("POST", "/api/session", json={"name": "ana", "password": "guess guess"}, expect=401)
        # Locked out now, even with the right password (else the lockout would tell a guesser which guess worked).
        status, message, headers = await http.refusal("POST", "/api/session",
                                                 json={"name": "ana", "password": PASSWORD})
        assert status == 429 and message.startswith("too many failed sign-in attempts; retry in ")
        assert 0 < int(headers["Retry-After"]) <= 15 * 60
        # The address is free again after a minute; the name stays locked for a quarter of an hour.
        api.clock.advance(minutes=1, seconds=1)
        assert (await http.refusal("POST", "/api/session", json={"name": "ana", "password": PASSWORD}))[0] == 429
        assert (await http.refusal("GET", "/api/me", headers={"Authorization": f"Bearer {ADMIN}"}))[0] != 429
        api.clock.advance(minutes=14)
        await http.call("POST", "/api/session", json={"name": "ana", "password": PASSWORD})


async def test_a_disabled_user_cannot_sign_in_and_their_session_ends(api: Api) -> None:
    await with_password(api)
    http = await signed_in(api)
    async with http:
        await api.admin("POST", "/api/users/ana/disable")
        assert (await http.refusal("GET", "/api/me"))[:2] == (401, "session ended; sign in again")
        assert (await http.refusal("POST", "/api/session", json={"name": "ana", "password": PASSWORD}))[:2] == (
            401, REFUSED)
        await api.admin("POST", "/api/users/ana/enable")
        await http.call("POST", "/api/session", json={"name": "ana", "password": PASSWORD})


async def test_a_session_expires_when_idle_and_after_its_lifetime(api: Api) -> None:
    await with_password(api)
    http = await signed_in(api)
    async with http:
        api.clock.advance(hours=7)
        await http.call("GET", "/api/me")
        api.clock.advance(hours=4)  # 11 h after signing in, 4 h after its last use: still on
        await http.call("GET", "/api/me")
        api.clock.advance(hours=1)  # 12 h: the end of its lifetime, however busy
        assert (await http.refusal("GET", "/api/me"))[:2] == (401, "session expired; sign in again")
    idle = await signed_in(api)
    async with idle:
        api.clock.advance(hours=8)
        status, message, _ = await idle.refusal("GET", "/api/me")
        assert (status, message) == (401, "session expired; sign in again")
        # An expired session is not a guess: not counted towards the address's throttle.
        for _ in range(12):
            assert (await idle.refusal("GET", "/api/me"))[0] == 401


async def test_signing_out_ends_the_session_and_clears_the_cookies(api: Api) -> None:
    await with_password(api)
    http = await signed_in(api)
    other = await signed_in(api)
    async with http, other:
        # Signing out changes something: the CSRF token is needed.
        assert (await http.refusal("DELETE", "/api/session", csrf=False))[:2] == (403, "missing or wrong CSRF token")
        status, body, headers = await http.request("DELETE", "/api/session")
        assert (status, body) == (200, {"signed_out": True})
        cleared = headers.getall("Set-Cookie")
        assert any(c.startswith("cti_session=\"\"") or c.startswith("cti_session=;") for c in cleared), cleared
        assert all("Max-Age=0" in c for c in cleared) and len(cleared) == 2
        assert (await http.refusal("GET", "/api/me", headers={"Cookie": "cti_session=gone"}))[:2] == (
            401, "session ended; sign in again")
        assert (await http.call("DELETE", "/api/session")) == {"signed_out": False}  # nothing left: still fine
        await other.call("GET", "/api/me")  # another browser's session is its own


async def test_a_cookie_request_that_changes_something_needs_the_csrf_token(api: Api) -> None:
    await with_password(api)
    http = await signed_in(api)
    async with http:
        assert (await http.refusal("POST", "/api/ws-tickets", csrf=False))[:2] == (
            403, "missing or wrong CSRF token")
        assert (await http.refusal("POST", "/api/ws-tickets", csrf=False,
                              headers={"X-CSRF-Token": "x" * 43}))[:2] == (403, "missing or wrong CSRF token")
        ticket = await http.call("POST", "/api/ws-tickets", expect=201)
        assert ticket["ticket"] and ticket["expires_in"] == 30
        await http.call("GET", "/api/me", csrf=False)  # reads need none
        # Websockets never take the cookie: a page trades it (with the CSRF token) for a ticket.
        assert (await http.refusal("GET", "/ws/desktop?agent_id=ana"))[:2] == (401, "missing bearer token")
        # A bearer token needs no CSRF token (no browser sends it by itself) and wins over a cookie.
        await http.call("POST", "/api/ws-tickets", csrf=False, headers={"Authorization": f"Bearer {ADMIN}"},
                        expect=201)
        assert (await http.call("GET", "/api/me", headers={"Authorization": f"Bearer {ADMIN}"}))["name"] == "root"


async def test_an_admin_sets_a_password_and_the_users_sessions_end(api: Api) -> None:
    await with_password(api)
    http = await signed_in(api)
    async with http:
        await api.admin("PUT", "/api/users/ana/password", json={"password": "a new one, 2026"})
        assert (await http.refusal("GET", "/api/me"))[:2] == (401, "session ended; sign in again")
        assert (await http.refusal("POST", "/api/session", json={"name": "ana", "password": PASSWORD}))[0] == 401
        await http.call("POST", "/api/session", json={"name": "ana", "password": "a new one, 2026"})
    refused = await api.admin("PUT", "/api/users/ana/password", json={"password": "short"}, expect=422)
    assert refused["error"]["details"][0]["field"] == "password"
    await api.admin("PUT", "/api/users/ana/password", json={"password": "x" * 257}, expect=422)
    await api.admin("PUT", "/api/users/ana/password", json={"password": " " * 12}, expect=422)
    await api.admin("PUT", "/api/users/ghost/password", json={"password": PASSWORD}, expect=404)
    await api.admin("PUT", "/api/users/ana/password", json={"password": PASSWORD, "role": "admin"}, expect=422)
    await api.admin("PUT", "/api/users/ana/password", data="[]", expect=400)
    # Audited like every change, without the password.
    async def audited() -> list[dict[str, Any]]:
        return (await api.admin("GET", "/api/audit?subject_id=/api/users/{name}/password"))["entries"]

    entries = await eventually(audited, timeout=5, message="the password changes in the audit log")
    assert {(e["action"], e["detail"]["status"]) for e in entries} >= {("change", 200), ("denied", 422)}
    assert all(PASSWORD not in str(e) for e in entries)
    logins = (await api.admin("GET", "/api/audit?action=login"))["entries"]
    assert {(e["actor"], e["subject_type"]) for e in logins} == {("ana", "session")}


async def test_a_non_admin_cannot_set_anothers_password(api: Api) -> None:
    await with_password(api)
    await with_password(api, "sue", "supervisor", None)
    http = await signed_in(api, "sue")
    async with http:
        assert (await http.refusal("PUT", "/api/users/ana/password", json={"password": "taken over!!"}))[0] == 403
    async with await signed_in(api, "ana"):  # unchanged
        pass


async def test_a_user_changes_their_own_password(api: Api) -> None:
    await with_password(api)
    http, other = await signed_in(api), await signed_in(api)
    async with http, other:
        assert (await http.refusal("PUT", "/api/me/password", json={"current": "not it at all", "new": "brand new 1"}
                              ))[:2] == (403, "the current password is wrong")
        await http.call("PUT", "/api/me/password", json={"current": PASSWORD, "new": "short"}, expect=422)
        assert await http.call("PUT", "/api/me/password", json={"current": PASSWORD, "new": "brand new 1"}) == {
            "name": "ana", "password_changed": True}
        await http.call("GET", "/api/me")  # this session goes on
        assert (await other.refusal("GET", "/api/me"))[:2] == (401, "session ended; sign in again")
        await other.call("POST", "/api/session", json={"name": "ana", "password": "brand new 1"})
    # With a token too (no session to keep).
    token = (await api.admin("POST", "/api/users/ana/token"))["token"]
    async with api.browser() as http:
        await http.call("PUT", "/api/me/password", headers={"Authorization": f"Bearer {token}"},
                        json={"current": "brand new 1", "new": "newer still 2"})


def test_the_cli_sets_a_password_from_standard_input_or_generates_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    for name, value in (("DATABASE_URL", url), ("ARI_PASSWORD", "ari-secret"),
                        ("ADMIN_TOKEN", secrets.token_urlsafe(32))):
        monkeypatch.setenv(f"CTI_{name}", value)
    assert main(["users", "create", "ana", "--role", "agent"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(" typed with spaces \n"))
    assert main(["users", "password", "ana"]) == 0
    assert capsys.readouterr().out == "ana: password set; their web sessions ended\n"
    assert asyncio.run(_signs_in(url, "ana", " typed with spaces "))
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "password", "ana"]) == 1
    assert capsys.readouterr().err == "cti: password: must be 10 to 256 characters\n"
    assert main(["users", "password", "ana", "--generate"]) == 0
    out, err = capsys.readouterr()
    generated = out.strip()
    assert out == f"{generated}\n" and len(generated) >= 20
    assert err == "password for ana (agent); it is shown only now:\n"
    assert asyncio.run(_signs_in(url, "ana", generated))
    assert not asyncio.run(_signs_in(url, "ana", " typed with spaces "))
    assert main(["users", "password", "ghost", "--generate"]) == 1
    assert capsys.readouterr().err == "cti: no user 'ghost'\n"


async def _signs_in(url: str, name: str, password: str) -> bool:
    from cti.persistence import WebSessionRepository
    from cti.services import SignIn
    from tests.api import FAST_PASSWORDS

    async with Database(url) as db:
        sign_in = SignIn(UserRepository(db), WebSessionRepository(db), AgentRepository(db),
                         passwords=FAST_PASSWORDS)
        return await sign_in.sign_in(name, password) is not None


async def test_behind_a_tls_proxy_the_cookies_are_marked_secure(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("root", "admin", ADMIN)
    settings = Settings(admin_token=SecretStr(ADMIN), ari_password=SecretStr("unused-here"), secure_cookies=True)
    app, _ = api_app(db, [_service, _signin, _users], settings=settings)
    server = TestServer(app)
    await server.start_server()
    try:
        api = Api(server, Clock(), db)
        await with_password(api, "sue", "supervisor", None)
        async with api.browser() as http:
            status, _, headers = await http.request("POST", "/api/session", json={"name": "sue", "password": PASSWORD})
            assert status == 200
            cookies = headers.getall("Set-Cookie")
            assert len(cookies) == 2 and all("Secure" in cookie for cookie in cookies)
    finally:
        await server.close()
        await db.close()
