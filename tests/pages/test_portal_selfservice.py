"""The customer portal's self-service in a real Chromium, on a phone's screen: a customer signs in with the code a
real SMTP server (aiosmtpd) received, tracks an order and sees its shipment's steps, changes a preference, is
refused a callback outside the calling hours and then gets one scheduled at a time they chose, sees their history,
and finds it all again in Bahasa Indonesia. No telephony: the app is the real one's web part over SQLite (the demo's
CRM) on a fixed clock, as in tests/integration/test_portal_selfservice_api.py, which covers the API's refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from cti.acd import CallbackStatus
from cti.crm import Consent
from cti.persistence import CallbackRepository, CustomerRepository, Database
from cti.sim import generate
from cti.web import _portal, _portal_selfservice, _service, _ui
from tests.accessibility import axe_violations
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page

SITI = "siti.rahayu@example.com"  # customer 10000002 of the demo's CRM: order 50000002, shipped, in Surabaya (WIB)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 16:00 in Jakarta and Surabaya


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Mailbox, Database]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await CustomerRepository(db).seed(generate(now=NOW, customers=14, seed=3))
    with mailbox() as mail:
        app, _ = api_app(db, [_service, _portal, _portal_selfservice, _ui], mailer=mail.mailer(), clock=lambda: NOW)
        server = TestServer(app)
        await server.start_server()
        try:
            yield server, mail, db
        finally:
            await server.close()
            await db.close()


async def no_sideways_scroll(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def test_a_customer_tracks_an_order_sets_a_preference_asks_for_a_callback_and_reads_their_history(
        portal: tuple[TestServer, Mailbox, Database]) -> None:
    server, mail, db = portal
    async with browser_page(locale="en-GB") as page:
        await page.set_viewport_size({"width": 360, "height": 740})  # a phone
        await page.goto(str(server.make_url("/portal")))
        await page.get_by_label("E-mail or phone number").fill(SITI)
        await page.get_by_role("button", name="Send code").click()
        await expect(page.get_by_label("Sign-in code")).to_be_visible()
        await page.get_by_label("Sign-in code").fill(await mail.code(SITI))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Hello, Siti Rahayu")).to_be_visible()
        await expect(page.locator("#invoices li")).to_have_count(2)
        await expect(page.locator("#invoices li").first).to_contain_text("Bill INV-0000004")

        # Track the order: its page, with each step of the parcel's journey.
        await page.get_by_role("link", name="Orders", exact=True).click()
        await page.get_by_role("link", name="Track order 50000002").click()
        await expect(page.get_by_role("heading", name="Order 50000002")).to_be_visible()
        steps = page.locator("#order-steps li")
        await expect(steps.locator(".step")).to_have_text(
            ["Packed", "Picked up by the carrier", "In transit", "At the local hub"])
        await expect(steps.last).to_contain_text("Surabaya")
        await expect(page.locator("#order-status")).to_have_text("Shipped · in transit")
        await expect(page.locator("#order-items li")).to_have_text(
            ["1 \u00d7 Nusa X1 Pro smartphone", "1 \u00d7 Nusa Buds 2 wireless earbuds"])
        assert await axe_violations(page) == []
        assert await no_sideways_scroll(page)
        await page.reload()  # the order's page is an address: still there
        await expect(steps.locator(".step")).to_have_count(4)

        # Preferences: offers by phone yes, rating her calls on the line after the agent hangs up no more.
        await page.get_by_role("link", name="Details & preferences").click()
        offers = page.get_by_label("call you with offers")
        surveys = page.get_by_label("ask you to rate your calls after the agent hangs up")
        await expect(offers).not_to_be_checked()
        await expect(surveys).to_be_checked()
        await offers.check()
        await surveys.uncheck()
        await page.get_by_role("button", name="Save preferences").click()
        await expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
        assert await axe_violations(page) == []

        # A callback: refused out of hours, then scheduled at a time chosen.
        await page.get_by_role("link", name="Call me").click()
        await expect(page.get_by_text("No requests yet.")).to_be_visible()
        await page.get_by_label("At a time I choose").check()
        await page.get_by_label("Date").fill("2026-03-03")
        await page.get_by_label("Time (WIB)").fill("22:00")
        await page.get_by_role("button", name="Call me back").click()
        await expect(page.locator("#notice")).to_have_text(
            "We call between 08:00-20:00 your time (WIB); that time is 22:00 there. Choose another time.")
        await page.get_by_label("Time (WIB)").fill("10:00")
        await page.get_by_label("What is it about? (optional)").fill("my parcel")
        await page.get_by_role("button", name="Call me back").click()
        await expect(page.get_by_text("Done: we will call you on 3 Mar 2026, 10:00.")).to_be_visible()
        request = page.locator("#callbacks li")
        await expect(request).to_have_count(1)
        await expect(request.locator(".status")).to_have_text("Scheduled")
        await expect(request.get_by_role("button", name="Cancel the call on 3 Mar 2026, 10:00")).to_be_visible()
        assert await axe_violations(page) == []
        assert await no_sideways_scroll(page)

        # The history: what they did here, and their calls with outcomes.
        await page.get_by_role("link", name="History").click()
        history = page.locator("#history li")
        await expect(history.first).to_contain_text("Asked for a callback")
        for text in ("Changed preferences", "Looked up order 50000002", "Signed in on the portal"):
            await expect(history.filter(has_text=text)).to_have_count(1)  # the reload's look is the same one
        assert await axe_violations(page) == []

        # Bahasa Indonesia, everywhere.
        await page.get_by_role("button", name="Bahasa Indonesia").click()
        await expect(history.first).to_contain_text("Meminta ditelepon balik")
        await expect(page.get_by_role("link", name="Riwayat")).to_have_attribute("aria-current", "page")
        await page.get_by_role("link", name="Telepon saya").click()
        await expect(request.locator(".status")).to_have_text("Terjadwal")
        await page.get_by_role("link", name="Pesanan", exact=True).click()
        await page.get_by_role("link", name="Lacak pesanan 50000002").click()
        await expect(steps.locator(".step")).to_have_text(
            ["Dikemas", "Diambil kurir", "Dalam perjalanan", "Tiba di gudang kota tujuan"])
        await expect(page.locator("html")).to_have_attribute("lang", "id")
        assert await axe_violations(page) == []
        await page.get_by_role("link", name="Data & preferensi").click()
        await expect(page.get_by_label("meminta Anda menilai panggilan Anda setelah agen menutup telepon")
                     ).not_to_be_checked()

    record = await CustomerRepository(db).customer("10000002")
    assert record is not None and record.consent == Consent(
        marketing_calls=True, email=True, data_sharing=True, phone_calls=True, surveys=False)
    [callback] = await CallbackRepository(db).of_customer("10000002", created_by="customer:10000002")
    assert (callback.status, callback.due_at, callback.reason) == (
        CallbackStatus.SCHEDULED, datetime(2026, 3, 3, 3, 0, tzinfo=UTC), "asked on the web portal: my parcel")
