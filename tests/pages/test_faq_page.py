"""The supervisors' FAQ page in a real (headless) Chromium against a live test server: a new entry written in
both languages, saved as a draft, published, found by the search customers use (its link a link, nothing else
markup), edited into a new version, then deleted. An agent gets neither the page nor the entries.

No Asterisk: a small app with the page, the FAQ API, real auth and a real SQLite database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.persistence import Database, UserRepository
from cti.web import _faq, _signin, _ui
from tests.api import api_app
from tests.support import browser_page

SUPERVISOR = "faq-page-supervisor-0123456789abcd"
AGENT = "faq-page-agent-0123456789abcdefgh"
STATIC = Path(__file__).resolve().parents[2] / "cti/web/static/i18n/en"
EN = json.loads((STATIC / "faq.json").read_text("utf-8"))
COMMON = json.loads((STATIC / "common.json").read_text("utf-8"))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users = UserRepository(db)
    await users.ensure_user_token("sri", "supervisor", SUPERVISOR)
    await users.ensure_user_token("agent-ana", "agent", AGENT)
    app, _ = api_app(db, [_signin, _ui, _faq])
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()
        await db.close()


async def test_a_supervisor_writes_publishes_finds_edits_and_deletes_an_entry(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPERVISOR}"}) as http:
        async with http.patch(f"{base}/api/me", json={"language": "en"}) as response:
            assert response.status == 200
        async with browser_page(locale="en-GB", timezone_id="UTC") as page:
            await page.goto(f"{base}/ui/faq.html#token={SUPERVISOR}")
            await expect(page.locator("header nav a[aria-current=page]")).to_have_text(COMMON["nav.faq"])
            await expect(page.locator("#empty")).to_be_visible()

            # A refused entry says why, field by field, in the page's language.
            await page.click("#new")
            await page.fill("#question-en", "Where is my <b>parcel</b>?")
            await page.fill("#answer-en", "Somewhere.")
            await page.click("#save")
            await expect(page.locator("#problems li")).to_have_text(f"texts.en.question: {COMMON['error.unsafe_text']}")

            await page.fill("#entry-id", "parcel-where")
            await page.select_option("#product", "device")
            await page.fill("#question-en", "Where is my parcel?")
            await page.fill("#answer-en", "Track it on https://example.com/track or call 1500100.")
            await page.fill("#keywords-en", "track my order\nshipment status")
            await page.fill("#question-id", "Di mana paket saya?")
            await page.fill("#answer-id", "Lacak di https://example.com/lacak.")
            await page.click("#save")
            await expect(page.locator("#notice")).to_have_text("Created the draft parcel-where.")
            row = page.locator("#entries tbody tr[data-entry=parcel-where]")
            await expect(row.locator("td.status")).to_have_text(EN["faq.status.draft"])

            # A draft is not searched; published, it is, and only its https address is a link.
            await page.fill("#q", "shipment status")
            await page.select_option("#search-lang", "en")
            await page.click("#search")
            await expect(page.locator("#search-summary")).to_have_text("0 published answers found.")
            await row.get_by_role("button", name="Publish the entry Where is my parcel?").click()
            await expect(row.locator("td.status")).to_have_text(EN["faq.status.published"])
            await page.click("#search")
            hit = page.locator("#results li")
            await expect(hit).to_have_count(1)
            await expect(hit.locator("h3")).to_have_text("Where is my parcel?")
            await expect(hit.locator("a")).to_have_attribute("href", "https://example.com/track")
            await expect(hit.locator("p")).to_have_text("Track it on https://example.com/track or call 1500100.")

            # An edit is a new version; the search answers with it at once.
            await row.get_by_role("button", name="Edit the entry Where is my parcel?").click()
            await expect(page.locator("#question-en")).to_have_value("Where is my parcel?")
            await page.fill("#answer-en", "Open Orders on the portal.")
            await page.click("#save")
            await expect(page.locator("#notice")).to_have_text("Saved: parcel-where is now at version 2.")
            await page.click("#search")
            await expect(hit.locator("p")).to_have_text("Open Orders on the portal.")
            async with http.get(f"{base}/api/faq/parcel-where/versions") as found:
                assert [(v["version"], v["author"]) for v in await found.json()] == [(1, "sri"), (2, "sri")]

            # Deleting asks first.
            await row.get_by_role("button", name="Delete the entry Where is my parcel?").click()
            await page.click("#confirm-yes")
            await expect(row).to_have_count(0)
            async with http.get(f"{base}/api/faq/parcel-where") as found:
                assert found.status == 404


async def test_an_agent_gets_neither_the_page_nor_the_entries(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {AGENT}"}) as http:
        async with http.get(f"{base}/api/faq") as response:
            assert response.status == 403
        async with browser_page(locale="en-GB", timezone_id="UTC") as page:
            await page.goto(f"{base}/ui/faq.html#token={AGENT}")
            await expect(page.locator("#faq-page")).to_have_count(0)
