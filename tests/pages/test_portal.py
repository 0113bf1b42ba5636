"""The customer portal's page in a real Chromium: a customer asks for a code, reads it from the mail a real SMTP
server (aiosmtpd) received, signs in, sees their name and their order, switches to Bahasa Indonesia (remembered
after a reload), and signs out. The portal needs no telephony: the app is the real one's web part over SQLite (the
demo's CRM), as in tests/integration/test_portal_api.py, which covers the API's refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.persistence import CustomerRepository, Database
from cti.sim import generate
from cti.web import _portal, _service, _ui
from tests.accessibility import axe_violations
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page

SITI = "siti.rahayu@example.com"  # customer 10000002 of the demo's CRM: order 50000002, shipped


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Mailbox, Database]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await CustomerRepository(db).seed(generate(now=datetime.now(UTC), customers=14, seed=3))
    with mailbox() as mail:
        app, _ = api_app(db, [_service, _portal, _ui], mailer=mail.mailer())
        server = TestServer(app)
        await server.start_server()
        try:
            yield server, mail, db
        finally:
            await server.close()
            await db.close()


async def test_a_customer_signs_in_with_the_mailed_code_sees_their_order_switches_language_and_signs_out(
        portal: tuple[TestServer, Mailbox, Database]) -> None:
    server, mail, db = portal
    async with browser_page(locale="en-GB") as page:
        await page.set_viewport_size({"width": 360, "height": 740})  # a phone
        await page.goto(str(server.make_url("/portal")))
        await page.wait_for_url("**/ui/portal.html")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert await axe_violations(page) == []
        await page.get_by_label("E-mail or phone number").fill(SITI)
        await page.get_by_role("button", name="Send code").click()
        await expect(page.get_by_text("If that address is registered with us, a code is on its way.")).to_be_visible()
        code = await mail.code(SITI)
        await page.get_by_label("Sign-in code").fill(code)
        await page.get_by_role("button", name="Sign in").click()

        await expect(page.get_by_role("heading", name="Hello, Siti Rahayu")).to_be_visible()
        order = page.locator("#orders li")
        await expect(order).to_have_count(1)
        await expect(order).to_contain_text("Order 50000002")
        await expect(order.locator(".status")).to_have_text("Shipped")
        await expect(page.locator("#customer-email")).to_have_text("si***@example.com")
        assert "cti_portal=" not in await page.evaluate("document.cookie")  # HttpOnly: no script reads it
        assert await axe_violations(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll

        await page.get_by_role("button", name="Bahasa Indonesia").click()
        await expect(page.get_by_role("heading", name="Halo, Siti Rahayu")).to_be_visible()
        await expect(order.locator(".status")).to_have_text("Dikirim")
        await page.reload()  # still signed in, still in Bahasa Indonesia
        await expect(page.get_by_role("heading", name="Halo, Siti Rahayu")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "id")

        await page.get_by_role("button", name="Keluar").click()
        await expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
        status = await page.evaluate("fetch('/api/portal/me').then(r => r.status)")
        assert status == 401
    view = await CustomerRepository(db).customer_view("10000002")
    assert view is not None and any(c.channel == "web" for c in view.contacts)
