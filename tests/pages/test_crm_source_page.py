"""The agent's desktop in a real Chromium when another CRM is the customers' source: while it answers, the pop is its
record and says nothing more; when it fails (a real aiohttp server answering 503), the pop shows cti's own record
with a notice, in the agent's language, and the reason on hover. The app is the chat tests' (tests/chatapp.py:
real Redis and SQLite, no telephony: the voice call is offered by the distributor directly)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.acd import WorkItem
from cti.crm import ExternalCustomer, LookupCache
from cti.messaging import HttpCrmConnector
from cti.persistence import CustomerMirror, CustomerRepository, Database
from cti.services import ArrivalLookup, CallerIdentity, ConnectedCrm
from cti.sim import generate
from cti.web import SCREENPOP, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, T0, Center, Clock, login, seed_users, start_center
from tests.support import browser_page

RECORD = {"id": "C-1", "name": "Budi Santoso", "phones": ["+6281210000001"], "email": "budi@example.com",
          "city": "Jakarta", "region": "jakarta", "language": "id", "segment": "fiber", "value_tier": "platinum"}


@pytest.fixture
async def other_crm() -> AsyncIterator[tuple[TestServer, list[int]]]:
    """The other CRM: Budi's record, or 503 while ``status[0]`` says so."""
    status = [200]

    async def by_phone(request: web.Request) -> web.Response:
        if status[0] != 200:
            return web.Response(status=status[0])
        return web.json_response({"customers": [RECORD] if request.query.get("phone") == "+6281210000001" else []})

    async def by_id(request: web.Request) -> web.Response:
        return web.json_response(RECORD) if status[0] == 200 else web.Response(status=status[0])

    app = web.Application()
    app.router.add_get("/customers", by_phone)
    app.router.add_get("/customers/{ref}", by_id)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server, status
    finally:
        await server.close()


@pytest.fixture
async def center(tmp_path: Path, redis_url: str,
                 other_crm: tuple[TestServer, list[int]]) -> AsyncIterator[tuple[Center, ConnectedCrm]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    server, _ = other_crm
    cache: LookupCache[tuple[str, str], ExternalCustomer] = LookupCache(ttl=300, negative_ttl=60, max_entries=100,
                                                                         now=time.monotonic)
    connector = HttpCrmConnector(str(server.make_url("")), token="t0k3n", timeout=0.5)
    crm = ConnectedCrm(connector, CustomerMirror(db), CustomerRepository(db), cache=cache, timeout=1.0)
    started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(),
                                 features=(_signin, _users, _ui), crm=crm)
    try:
        yield started, crm
    finally:
        await started.close()
        await connector.close()
        await db.close()


async def call(center: Center, crm: ConnectedCrm, call_id: str, number: str) -> None:
    """A call from ``number`` identified on arrival, as the telephony adapter does, then offered to Ani."""
    identity = await ArrivalLookup(CallerIdentity(crm), center.app[SCREENPOP]).identify(number)
    center.distributor.arrive(WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number=number,
                                       service_number="1500100", queue="", arrived_at=T0,
                                       customer_id=None if identity is None else identity.customer_id))


async def test_the_pop_says_when_the_other_crm_did_not_answer(
        center: tuple[Center, ConnectedCrm], other_crm: tuple[TestServer, list[int]]) -> None:
    desk, crm = center
    _, status = other_crm
    http = desk.http
    login(desk, "ani")
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB") as page:
        await page.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        await expect(page.locator("#link")).to_have_attribute("data-status", "connected")

        await call(desk, crm, "c1", "081210000001")  # the other CRM answers: its record, tier and all
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso")
        await expect(page.locator("#customer-tier")).to_have_text("platinum")
        await expect(page.locator("#crm-fallback")).to_be_hidden()
        desk.distributor.leg_gone("leg-c1")  # the caller gave up while it rang: the pop goes, Ani is free again
        await expect(page.locator("#pop")).to_be_hidden()

        status[0] = 503
        crm.cache.clear()
        await call(desk, crm, "c2", "081210000001")
        notice = page.locator("#crm-fallback")
        await expect(notice).to_have_text(
            "The customer system did not answer: this is cti's copy of the record, which may be out of date.")
        host = f"{other_crm[0].host}:{other_crm[0].port}"
        await expect(notice).to_have_attribute(
            "title", f"the external CRM at {host} answered 503 to a lookup by phone")
        await expect(page.locator("#customer-name")).to_have_text("Budi Santoso")  # cti's copy
        assert await axe_violations(page) == []
        assert (await http.patch("/api/me", headers=ANI, json={"language": "id"})).status == 200
        await page.reload()  # the pop again, from the desktop's snapshot, in Indonesian
        await expect(notice).to_have_text(
            "Sistem pelanggan tidak menjawab: ini salinan data di cti, mungkin belum terbaru.")
    await desk.settle()
