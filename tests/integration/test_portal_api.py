"""The customer portal's sign-in over HTTP, on the real app's middlewares, services, a SQLite database with the demo's
CRM, a real SMTP server (aiosmtpd) the codes are mailed to, and a clock the test moves: a code by e-mail, a wrong,
expired or reused code, the throttles, the same answer for an unknown address, sign-out and idle expiry, and the
wall between customers' sessions and staff credentials. The page itself: tests/pages/test_portal.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from cti.persistence import AuditRepository, CustomerRepository, Database, UserRepository
from cti.services._portal import SIGNED_IN
from cti.sim import generate
from cti.web import AUDIT, PORTAL, _portal, _service, _signin
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import eventually

ADMIN = "admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITI = "siti.rahayu@example.com"  # customer 10000002 of the demo's CRM: an open order 50000002, shipped
BUDI_PHONE = "0812-1000-0001"  # customer 10000001's mobile


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Browser:
    """A browser of its own (its own cookie jar): the portal's CSRF header is copied from its cookie."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    async def request(self, method: str, path: str, *, csrf: bool = True, **kwargs: Any
                      ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        headers = dict(kwargs.pop("headers", {}))
        cookie = self.http.cookie_jar.filter_cookies(self.server.make_url("/")).get("cti_portal_csrf")
        if csrf and cookie is not None:
            headers["X-CSRF-Token"] = cookie.value
        async with self.http.request(method, self.server.make_url(path), headers=headers, **kwargs) as response:
            return response.status, await response.json(), response.headers

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        status, body, _ = await self.request(method, path, **kwargs)
        assert status == expect, f"{method} {path}: {status} {body}"
        return body


@dataclass
class Portal:
    server: TestServer
    clock: Clock
    db: Database
    mail: Mailbox

    def browser(self) -> Browser:
        return Browser(self.server)

    async def signed_in(self, address: str = SITI) -> Browser:
        browser = self.browser()
        sent = len(self.mail.to(address))
        await browser.call("POST", "/api/portal/code", json={"address": address}, expect=202)
        code = await self.mail.code(address, nth=sent + 1)
        await browser.call("POST", "/api/portal/session", json={"address": address, "code": code})
        return browser


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("root", "admin", ADMIN)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    clock = Clock()
    with mailbox() as mail:
        app, _ = api_app(db, [_service, _signin, _portal], clock=clock, mailer=mail.mailer())
        server = TestServer(app)
        await server.start_server()
        try:
            yield Portal(server, clock, db, mail)
        finally:
            await server.close()
            await db.close()


async def test_a_customer_signs_in_with_the_mailed_code_and_sees_only_their_account(portal: Portal) -> None:
    async with portal.browser() as browser:
        answer = await browser.call("POST", "/api/portal/code", json={"address": " Siti.Rahayu@Example.com ",
                                                                      "language": "en"}, expect=202)
        mail = (await portal.mail.code(SITI), portal.mail.to(SITI)[0])
        assert mail[1]["Subject"] == f"Your sign-in code: {mail[0]}"
        me = await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": mail[0]})
        assert me == {"customer_id": "10000002", "name": "Siti Rahayu", "email": "si***@example.com",
                      "phones": ["+628***0002", "+623***0202"], "language": "id"}
        assert await browser.call("GET", "/api/portal/me") == me
        account = await browser.call("GET", "/api/portal/account")
        assert [(o["order_number"], o["status"]) for o in account["orders"]] == [("50000002", "shipped")]
        assert account["balance_due_minor"] == 0
    assert answer == {"message": _portal.CODE_SENT}
    view = await CustomerRepository(portal.db).customer_view("10000002")
    assert view is not None and [(c.channel, c.reason) for c in view.contacts][:1] == [("web", SIGNED_IN)]
    audit = await _flushed(portal)
    assert ("customer:10000002", "customer", "login", "customer", "10000002") in [
        (e.actor, e.role, e.action, e.subject_type, e.subject_id) for e in audit]


async def _flushed(portal: Portal) -> list[Any]:
    app = portal.server.app
    await app[AUDIT].flush()
    return await AuditRepository(portal.db).search(limit=100)


async def test_a_wrong_code_is_refused_and_the_right_one_still_works_until_too_many_tries(portal: Portal) -> None:
    async with portal.browser() as browser:
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
        code = await portal.mail.code(SITI)
        wrong = "000000" if code != "000000" else "111111"
        status, body, _ = await browser.request("POST", "/api/portal/session", json={"address": SITI, "code": wrong})
        assert (status, body["error"]["code"]) == (401, "wrong_code")
        await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": code})
    async with portal.browser() as browser:  # five wrong entries spend the code: the right one comes too late
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
        code = await portal.mail.code(SITI, nth=2)
        for _ in range(5):
            await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": wrong}, expect=401)
        await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": code}, expect=401)
    denied = [e for e in await _flushed(portal) if e.action == "denied"]
    assert len(denied) == 7 and all(SITI not in str(e) and code not in str(e.detail) for e in denied)


async def test_a_code_expires_and_is_single_use(portal: Portal) -> None:
    async with portal.browser() as browser:
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
        code = await portal.mail.code(SITI)
        portal.clock.advance(minutes=10)
        await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": code}, expect=401)
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
        code = await portal.mail.code(SITI, nth=2)
        await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": code})
    async with portal.browser() as again:
        await again.call("POST", "/api/portal/session", json={"address": SITI, "code": code}, expect=401)


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(portal: Portal) -> None:
    async with portal.browser() as browser:
        known = await browser.request("POST", "/api/portal/code", json={"address": SITI})
        await portal.mail.code(SITI)
        unknown = await browser.request("POST", "/api/portal/code", json={"address": "nobody@example.com"})
        not_an_address = await browser.request("POST", "/api/portal/code", json={"address": "hello there"})
    assert known[:2] == unknown[:2] == not_an_address[:2] == (202, {"message": _portal.CODE_SENT})
    await portal.server.app[PORTAL].close()
    assert len(portal.mail.messages) == 1 and portal.mail.to("nobody@example.com") == []


async def test_code_requests_and_wrong_codes_are_throttled(portal: Portal) -> None:
    async with portal.browser() as browser:
        for _ in range(10):  # per address: 10 in 15 minutes
            await browser.call("POST", "/api/portal/code", json={"address": "nobody@example.com"}, expect=202)
        status, body, headers = await browser.request("POST", "/api/portal/code",
                                                      json={"address": "nobody@example.com"})
        assert (status, body["error"]["code"]) == (429, "throttled") and int(headers["Retry-After"]) > 0
        status, _, _ = await browser.request("POST", "/api/portal/session",
                                             json={"address": "nobody@example.com", "code": "123456"})
        assert status == 429
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)  # another address
        portal.clock.advance(minutes=15)
        await browser.call("POST", "/api/portal/code", json={"address": "nobody@example.com"}, expect=202)
        for n in range(29):  # the client's own limit, whatever the addresses: 30 in 15 minutes
            await browser.call("POST", "/api/portal/session", json={"address": f"x{n}@example.com", "code": "1"},
                               expect=401)
        status, _, _ = await browser.request("POST", "/api/portal/code", json={"address": SITI})
        assert status == 429


async def test_sign_out_needs_the_csrf_token_and_sessions_end_when_idle(portal: Portal) -> None:
    browser = await portal.signed_in()
    async with browser:
        status, body, _ = await browser.request("DELETE", "/api/portal/session", csrf=False)
        assert (status, body["error"]["code"]) == (403, "csrf")
        assert await browser.call("DELETE", "/api/portal/session") == {"signed_out": True}
        status, body, _ = await browser.request("GET", "/api/portal/me")
        assert (status, body["error"]["code"]) == (401, "portal_signed_out")
    idle = await portal.signed_in()
    async with idle:
        portal.clock.advance(minutes=29)
        await idle.call("GET", "/api/portal/me")
        portal.clock.advance(minutes=29)
        await idle.call("GET", "/api/portal/me")  # used 29 minutes ago: still on
        portal.clock.advance(minutes=30)
        await idle.call("GET", "/api/portal/me", expect=401)


async def test_staff_credentials_open_no_portal_and_a_customer_session_opens_no_staff_api(portal: Portal) -> None:
    async with portal.browser() as staff:
        for path in ("/api/portal/me", "/api/portal/account"):
            await staff.call("GET", path, headers={"Authorization": f"Bearer {ADMIN}"}, expect=401)
            await staff.call("GET", path, cookies={"cti_session": ADMIN}, expect=401)
    customer = await portal.signed_in()
    async with customer:
        cookies = customer.http.cookie_jar.filter_cookies(portal.server.make_url("/api/portal/me"))
        session_id = cookies["cti_portal"].value
        await customer.call("GET", "/api/me", expect=401)
        async with portal.browser() as other:
            await other.call("GET", "/api/me", cookies={"cti_session": session_id}, expect=401)
            await other.call("GET", "/api/me", headers={"Authorization": f"Bearer {session_id}"}, expect=401)


async def test_a_phone_number_gets_its_code_through_the_logging_sender_never_logged_at_info(
        portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cti.messaging")
    async with portal.browser() as browser:
        await browser.call("POST", "/api/portal/code", json={"address": BUDI_PHONE}, expect=202)
        [debug] = await eventually(lambda: [r for r in caplog.records if r.name == "cti.messaging.sms.codes"],
                                   message="the logging sender's DEBUG line")
        code = str(debug.args[1])  # type: ignore[index]
        assert all(code not in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
        assert any("SMS not sent (logging sender)" in r.getMessage() for r in caplog.records)
        me = await browser.call("POST", "/api/portal/session", json={"address": "+62 812 1000 0001", "code": code})
        account = await browser.call("GET", "/api/portal/account")
    assert me["customer_id"] == "10000001"
    assert [(o["order_number"], o["status"]) for o in account["orders"]] == [("50000001", "delivered")]
    assert (account["balance_due"], account["balance_due_minor"], account["unpaid_invoices"]) == (
        "750000", 75_000_000, 1)
    assert portal.mail.messages == []


async def test_an_erased_customer_is_signed_out_and_their_codes_are_gone(portal: Portal) -> None:
    browser = await portal.signed_in()
    async with browser:
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
        code = await portal.mail.code(SITI, nth=2)
        await CustomerRepository(portal.db).forget("10000002")
        await browser.call("GET", "/api/portal/me", expect=401)
        await browser.call("POST", "/api/portal/session", json={"address": SITI, "code": code}, expect=401)
        await browser.call("POST", "/api/portal/code", json={"address": SITI}, expect=202)
    await portal.server.app[PORTAL].close()  # every code being sent has gone
    assert len(portal.mail.to(SITI)) == 2  # no third mail: nobody has that address any more
