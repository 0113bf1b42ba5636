"""The desktop's customer record in a real Chromium: an agent opens the record of a customer they served and records
what the customer says about being called and about rating their calls on the line after the agent hangs up (the
post-call survey); the record shows each consent, the database holds exactly what was said, in English and in
Bahasa Indonesia. The app is the chat tests' (tests/chatapp.py: real Redis and SQLite, no telephony) with the
customer search and the static pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from cti.crm import Consent
from cti.persistence import CustomerRepository, Database, InteractionRepository
from cti.records import InteractionRecord
from cti.sim import generate
from cti.web import _customer_search, _service, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, T0, Center, Clock, seed_users, start_center
from tests.support import browser_page

DEWI = "10000003"  # the demo's customer who agreed to be called, never to post-call surveys


@pytest.fixture
async def center(tmp_path: Path, redis_url: str) -> AsyncIterator[Center]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    await InteractionRepository(db).save(InteractionRecord(  # Ani served Dewi: her record is Ani's to open
        call_id="past-1", channel_id="leg-past-1", caller_number="+6281322000003", service_number="1500100",
        queue="general", agent_id="ani", arrived_at=T0, ended_at=T0, outcome="answered", customer_id=DEWI))
    started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(),
                                 features=(_service, _signin, _users, _customer_search, _ui))
    try:
        yield started
    finally:
        await started.close()
        await db.close()


async def test_an_agent_records_that_the_customer_agrees_to_rate_their_calls(center: Center) -> None:
    http = center.http
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB", timezone_id="Asia/Jakarta") as page:
        await page.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        await page.fill("#search-q", "Dewi")
        await page.press("#search-q", "Enter")
        await page.click("#search-results button")
        await expect(page.locator("#search-view-name")).to_have_text("Dewi Lestari")
        await expect(page.locator("#search-consent")).to_have_text("Agreed to be called. They no longer agree")
        surveys = page.locator("#search-consent-surveys")
        await expect(surveys).to_have_text("Has not agreed to rate their calls. They agree to rate their calls")
        assert await axe_violations(page) == []

        await surveys.get_by_role("button", name="They agree to rate their calls").click()
        await expect(surveys).to_have_text(
            "Agreed to rate their calls after the agent hangs up. They no longer agree to rate calls")
        await expect(page.locator("#search-consent")).to_have_text("Agreed to be called. They no longer agree")
        record = await CustomerRepository(center.db).customer(DEWI)
        assert record is not None and record.consent == Consent(
            marketing_calls=True, data_sharing=True, phone_calls=True, surveys=True)

        # In Bahasa Indonesia, she changes her mind.
        assert (await http.patch("/api/me", headers=ANI, json={"language": "id"})).status == 200
        await page.reload()
        await page.fill("#search-q", "Dewi")
        await page.press("#search-q", "Enter")
        await page.click("#search-results button")
        await expect(surveys).to_have_text(
            "Setuju menilai panggilannya setelah agen menutup telepon. Pelanggan tidak setuju lagi menilai panggilan")
        await surveys.get_by_role("button", name="Pelanggan tidak setuju lagi menilai panggilan").click()
        await expect(surveys).to_have_text(
            "Belum setuju untuk menilai panggilannya. Pelanggan setuju menilai panggilannya")

    record = await CustomerRepository(center.db).customer(DEWI)
    assert record is not None and record.consent == Consent(marketing_calls=True, data_sharing=True, phone_calls=True)
