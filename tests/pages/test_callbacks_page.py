"""The supervisors' callbacks page in a real (headless) Chromium against a live test server: the callbacks of the
supervisor's scope with whom (masked), when (the center's zone), status, attempts and who scheduled them; a filter,
a cancel (confirmed), and the do-not-call list (a number added with a reason, then removed). An agent gets neither
the page nor its data; a supervisor's API list is their scope's only.

No Asterisk: a small app with the page, the outbound API, real auth and a real SQLite database; the callbacks are
stored through their repository (nothing is due: no call is needed).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.acd import Attempt, CallbackStatus, CallingHours, ContactPolicy, ContactRules, RetryPolicy, ScheduledCallback
from cti.crm import CustomerFields
from cti.persistence import (
    AgentRepository,
    CallbackRepository,
    CustomerRepository,
    Database,
    DoNotCallRepository,
    UserRepository,
)
from cti.records import AgentRecord
from cti.services import CallbackAttempts, CallbackScheduler, DoNotCallList, OutboundCalls
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from cti.web import AUDIT, CALLBACKS, DO_NOT_CALL, OUTBOUND, POLICY, _outbound, _signin, _ui
from tests.api import api_app
from tests.support import browser_page

SUPERVISOR = "callbacks-page-supervisor-0123456789"
AGENT = "callbacks-page-agent-0123456789abcd"
STATIC = Path(__file__).resolve().parents[2] / "cti/web/static/i18n/en"
EN = json.loads((STATIC / "callbacks.json").read_text("utf-8"))
COMMON = json.loads((STATIC / "common.json").read_text("utf-8"))
DUE = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)  # 10:00 WIB
RETRY = RetryPolicy(max_attempts=2, interval=timedelta(minutes=5), agent_first=timedelta(minutes=2),
                    preview=timedelta(seconds=60))


def _callback(callback_id: str, customer_id: str, queue: str, *, status: CallbackStatus = CallbackStatus.SCHEDULED,
              attempts: tuple[Attempt, ...] = (), by: str = "budi", hours: int = 0) -> ScheduledCallback:
    return ScheduledCallback(callback_id=callback_id, customer_id=customer_id, queue=queue,
                             due_at=DUE + timedelta(hours=hours), reason="invoice", agent_id=None, status=status,
                             attempts=attempts, created_by=by, created_at=datetime.now(UTC))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users = UserRepository(db)
    await users.ensure_user_token("sri", "supervisor", SUPERVISOR)
    await users.set_user_scope("sri", {"queues": ["sales"], "teams": []})
    await AgentRepository(db).upsert(AgentRecord("ana", "Ana Wijaya"))
    await users.ensure_user_token("agent-ana", "agent", AGENT, agent_id="ana")
    app, distributor = api_app(db, [_signin, _ui, _outbound])
    do_not_call = DoNotCallRepository(db)
    app[DO_NOT_CALL] = DoNotCallList(do_not_call, app[AUDIT])
    contact = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00")))
    customers = CustomerRepository(db)
    app[OUTBOUND] = OutboundCalls(distributor, app[POLICY], customers, do_not_call, contact, app[AUDIT],
                                  caller_id="1500100")
    store = CallbackRepository(db)
    app[CALLBACKS] = CallbackScheduler(distributor, app[POLICY], CallbackAttempts(store, RETRY), app[OUTBOUND],
                                       app[AUDIT])
    for customer_id, name, phone in (("3101", "Rina Hartono", "0215550911"), ("3102", "Joko Susilo", "0215550922"),
                                     ("3103", "Dewi Lestari", "0215550933")):
        await customers.create_customer(CustomerFields(name=name, phones=(phone,), region="jakarta"),
                                        customer_id=customer_id)
    missed = tuple(Attempt(DUE - timedelta(days=2, minutes=m), "no_answer", f"c{m}", "ana") for m in (10, 5))
    await store.save(_callback("a1", "3101", "sales"))
    await store.save(_callback("a2", "3102", "sales", status=CallbackStatus.FAILED, attempts=missed, by="sri",
                               hours=-48))
    await store.save(_callback("a3", "3103", "support"))  # not sri's queue
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()
        await db.close()


async def test_a_supervisor_sees_their_scope_s_callbacks_cancels_one_and_keeps_the_do_not_call_list(
    server: TestServer,
) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPERVISOR}"}) as http:
        async with http.patch(f"{base}/api/me", json={"language": "en"}) as response:
            assert response.status == 200
        async with browser_page(locale="en-GB", timezone_id="UTC") as page:
            await page.goto(f"{base}/ui/callbacks.html#token={SUPERVISOR}")
            await expect(page.locator("header nav a[aria-current=page]")).to_have_text(COMMON["nav.callbacks"])
            rows = page.locator("#callbacks tbody tr")
            await expect(rows).to_have_count(2)  # a3 is another queue's
            first, second = rows.nth(0), rows.nth(1)
            await expect(first.locator("th")).to_have_text("Rina Hartono (*********911)")
            await expect(first.locator("td")).to_have_text(
                ["sales", re.compile(r", 10:00$"), EN["cb.status.scheduled"], "\u2013", "budi", EN["cb.cancel"]])
            await expect(second.locator("th")).to_have_text("Joko Susilo (*********922)")
            await expect(second.locator("td.status")).to_have_text(EN["cb.status.failed"])
            await expect(second.locator("ol.attempts li")).to_have_count(2)
            await expect(second.locator("ol.attempts li").nth(0)).to_contain_text(
                f"{EN['cb.outcome.no_answer']} (ana)")
            await expect(second.get_by_role("button")).to_have_count(0)  # over: nothing to cancel
            assert "0215550911" not in await page.content() and "215550911" not in await page.content()

            # The filter, then back to all.
            await page.select_option("#status", "failed")
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_have_attribute("data-callback", "a2")
            await page.select_option("#status", "")
            await expect(rows).to_have_count(2)

            # A cancel: asked first; kept, nothing changes; confirmed, it is cancelled.
            await first.get_by_role("button", name="Cancel the callback to Rina Hartono").click()
            await page.click("#confirm-no")
            async with http.get(f"{base}/api/callbacks/a1") as found:
                assert (await found.json())["status"] == "scheduled"
            await first.get_by_role("button").click()
            await page.click("#confirm-yes")
            await expect(page.locator("#notice")).to_contain_text("Rina Hartono")
            await expect(page.locator("#callbacks tbody tr[data-callback=a1] td.status")).to_have_text(
                EN["cb.status.cancelled"])
            async with http.get(f"{base}/api/callbacks/a1") as found:
                assert (await found.json())["status"] == "cancelled"

            # The do-not-call list: a number added with a reason, then removed.
            await expect(page.locator("#dnc-empty")).to_be_visible()
            await page.fill("#dnc-number", "0215550999")
            await page.fill("#dnc-reason", "asked twice")
            await page.click("#dnc-add")
            entry = page.locator("#dnc tbody tr")
            await expect(entry).to_have_count(1)
            await expect(entry.locator("th")).to_have_text("+62215550999")
            await expect(entry.locator("td").nth(0)).to_have_text("asked twice")
            await expect(entry.locator("td").nth(1)).to_have_text("sri")
            async with http.get(f"{base}/api/do-not-call") as found:
                assert [(e["number"], e["reason"]) for e in (await found.json())["entries"]] == [
                    ("+62215550999", "asked twice")]
            await entry.get_by_role("button", name="Remove +62215550999 from the do-not-call list").click()
            await page.click("#confirm-yes")
            await expect(entry).to_have_count(0)
            await expect(page.locator("#notice")).to_have_text("+62215550999 is off the do-not-call list.")
            async with http.get(f"{base}/api/do-not-call") as found:
                assert (await found.json())["entries"] == []


async def test_an_agent_gets_neither_the_page_nor_its_data(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {AGENT}"}) as http:
        async with http.get(f"{base}/api/do-not-call") as response:
            assert response.status == 403
        async with http.get(f"{base}/api/callbacks") as response:
            assert (await response.json())["callbacks"] == []  # none of theirs
        async with http.get(f"{base}/api/callbacks/a1") as response:
            assert response.status == 404
        async with http.delete(f"{base}/api/callbacks/a1") as response:
            assert response.status == 404
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPERVISOR}"}) as http:
        async with http.get(f"{base}/api/callbacks") as response:
            assert [c["callback_id"] for c in (await response.json())["callbacks"]] == ["a1", "a2"]
        async with http.get(f"{base}/api/callbacks/a3") as response:
            assert response.status == 404  # another queue's
    async with browser_page(locale="en-GB", timezone_id="UTC") as page:
        await page.goto(f"{base}/ui/callbacks.html#token={AGENT}")
        await expect(page.locator("#refused")).to_be_visible()
        await expect(page.locator("#callbacks-page")).to_be_hidden()
