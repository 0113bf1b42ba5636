"""The desktop's customer search in a real headless Chromium: an agent finds the customer they served by phone,
sees the result with the phone masked, opens the record; a customer they never served is not found. Both the
search and the view are in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from cti.persistence import AuditRepository, CustomerRepository, InteractionRepository
from cti.records import InteractionRecord
from cti.sim import generate
from tests.fullapp import Cti
from tests.support import browser_page


async def test_an_agent_finds_their_customer_by_phone_and_opens_the_record(cti: Cti) -> None:
    now = datetime.now(UTC)
    await CustomerRepository(cti.db).seed(generate(now=now, customers=30, seed=7))
    token = await cti.create_agent("ana", "Ana Wijaya")
    await cti.speaks("en", token)
    # Ana served Dewi Lestari (10000003) yesterday.
    await InteractionRepository(cti.db).save(InteractionRecord(
        call_id="past-1", channel_id="leg-past-1", caller_number="+6281322000003", service_number="1500100",
        queue="care", agent_id="ana", arrived_at=now - timedelta(days=1), ended_at=now - timedelta(days=1),
        outcome="answered", customer_id="10000003"))
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await expect(page.locator("#search-title")).to_have_text("Find a customer")
        await page.fill("#search-q", "budi santoso")  # a customer Ana never served
        await page.click("#search-go")
        await expect(page.locator("#search-status")).to_have_text("No customer found.")
        await page.fill("#search-q", "0813-2200-0003")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-status")).to_have_text("1 found")
        result = page.locator("#search-results li")
        await expect(result).to_have_count(1)
        await expect(result).to_contain_text("Dewi Lestari #10000003")
        await expect(result).to_contain_text("+62•••••••0003, +62•••••0303 · Bandung · bronze")
        await page.click("#search-results button")
        await expect(page.locator("#search-view-name")).to_have_text("Dewi Lestari")
        await expect(page.locator("#search-view-name")).to_be_focused()
        await expect(page.locator("#search-view dl")).to_contain_text("+6281322000003, +62225550303")
        await page.click("#search-view-close")
        await expect(page.locator("#search-view")).to_be_hidden()
    entries = await AuditRepository(cti.db).search(actor="agent-ana")
    assert [(e.action, e.subject_type, e.subject_id, e.detail) for e in reversed(entries)
            if e.subject_type == "customer"] == [
        ("search", "customer", "*", {"kind": "name", "results": 0, "customer_ids": []}),
        ("search", "customer", "*", {"kind": "digits", "results": 1, "customer_ids": ["10000003"]}),
        ("view", "customer", "10000003", None)]
