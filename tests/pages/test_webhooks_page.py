"""The administrators' webhooks page in a real (headless) Chromium against a live test server: subscribe a real
receiver (the secret shown once), see its deliveries, and replay a dead letter once the receiver is back; no serious
accessibility violation. A supervisor gets neither the page nor the subscriptions.

No Asterisk: a small app with the page, the partner integration's API, real auth, a real SQLite database and the
real Redis outbox.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from cti.live import WebhookOutbox
from cti.messaging import HttpWebhookSender
from cti.persistence import (
    AgentRepository,
    AuditRepository,
    Database,
    DeadLetterRepository,
    InteractionRepository,
    UserRepository,
    WebhookRepository,
)
from cti.services import AuditTrail, DeadLetterService, DeliveryPolicy, Webhooks
from cti.web import DEAD_LETTERS, WEBHOOKS, _partners, _signin, _ui
from tests.accessibility import axe_violations
from tests.api import api_app
from tests.support import browser_page, eventually

ADMIN = "webhooks-page-admin-0123456789abcd"
SUPERVISOR = "webhooks-page-supervisor-01234567"
STATIC = Path(__file__).resolve().parents[2] / "cti/web/static/i18n/en"
EN = json.loads((STATIC / "webhooks.json").read_text("utf-8"))
COMMON = json.loads((STATIC / "common.json").read_text("utf-8"))


class Receiver:
    def __init__(self) -> None:
        self.failing = True
        self.taken: list[dict[str, object]] = []

    async def handle(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=503)
        self.taken.append(json.loads(await request.read()))
        return web.Response(status=204)


@pytest.fixture
async def setup(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[TestServer, Webhooks, Receiver, str]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users = UserRepository(db)
    await users.ensure_user_token("admin", "admin", ADMIN)
    await users.ensure_user_token("sri", "supervisor", SUPERVISOR)
    receiver = Receiver()
    receiver_app = web.Application()
    receiver_app.router.add_post("/hooks", receiver.handle)
    receiver_server = TestServer(receiver_app, host="127.0.0.1")
    await receiver_server.start_server()
    outbox, sender = WebhookOutbox(redis_url, f"cti-test-{secrets.token_hex(4)}"), HttpWebhookSender(
        timeout=1.0, allow_private=True)
    hooks = Webhooks(WebhookRepository(db), outbox, sender, DeadLetterRepository(db),
                     AuditTrail(AuditRepository(db), lambda: datetime.now(UTC)), clock=lambda: datetime.now(UTC),
                     policy=DeliveryPolicy(max_attempts=2, retry_base=0.05, retry_cap=0.1))
    app, _ = api_app(db, [_signin, _ui, _partners])
    app[WEBHOOKS] = hooks
    app[DEAD_LETTERS] = DeadLetterService(DeadLetterRepository(db), InteractionRepository(db), AgentRepository(db),
                                          requeue=hooks.requeue)
    await hooks.start()
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, hooks, receiver, f"http://127.0.0.1:{receiver_server.port}/hooks"
    finally:
        await server.close()
        await hooks.close()
        await outbox.close()
        await sender.close()
        await receiver_server.close()
        await db.close()


async def test_an_admin_subscribes_sees_deliveries_and_replays_a_dead_letter(
        setup: tuple[TestServer, Webhooks, Receiver, str]) -> None:
    server, hooks, receiver, url = setup
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN}"}) as http:
        async with http.patch(f"{base}/api/me", json={"language": "en"}) as response:
            assert response.status == 200
    async with browser_page(locale="en-GB", timezone_id="UTC") as page:
        await page.goto(f"{base}/ui/webhooks.html#token={ADMIN}")
        await expect(page.locator("header nav a[aria-current=page]")).to_have_text(COMMON["nav.webhooks"])
        await expect(page.locator("#empty")).to_be_visible()
        await page.fill("#create-url", url)
        await page.fill("#create-events", "customer.changed")
        await page.fill("#create-description", "Acme CRM")
        await page.click("#create")
        await expect(page.locator("#notice")).to_have_text(f"{url} subscribed.")
        secret = await page.locator("#secret").text_content()
        assert secret is not None and secret.startswith("whsec_")
        [subscription] = await hooks.list()
        assert subscription.secret == secret and subscription.events == ("customer.changed",)

        hooks.notify("customer.changed", "customer:7", {"n": 1})
        await eventually(lambda: hooks.stats_of(subscription.subscription_id).dead_letters == 1, timeout=10,
                         message="the event set aside")
        await page.click("#refresh")
        row = page.locator(f"#subscriptions tr[data-subscription='{subscription.subscription_id}']")
        await expect(row.locator("td").nth(4)).to_have_text("1")  # dead letters
        letter = page.locator("#letters tbody tr")
        await expect(letter).to_have_count(1)
        await expect(letter.locator("td").nth(2)).to_have_text("2 attempts: the receiver answered 503")
        assert await axe_violations(page) == []

        receiver.failing = False
        await letter.get_by_role("button", name="Replay customer.changed of customer:7").click()
        await expect(page.locator("#notice")).to_have_text("customer.changed of customer:7 queued again.")
        await expect(page.locator("#letters-empty")).to_be_visible()
        await eventually(lambda: len(receiver.taken) == 1, timeout=10, message="the replayed event")
        await page.click("#refresh")
        await expect(row.locator("td.delivered")).to_have_text("1")
    assert receiver.taken[0]["subject"] == "customer:7"


async def test_a_supervisor_gets_neither_the_page_nor_the_subscriptions(
        setup: tuple[TestServer, Webhooks, Receiver, str]) -> None:
    server, *_ = setup
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPERVISOR}"}) as http:
        async with http.get(f"{base}/api/webhooks") as response:
            assert response.status == 403
    async with browser_page(locale="en-GB", timezone_id="UTC") as page:
        await page.goto(f"{base}/ui/webhooks.html#token={SUPERVISOR}")
        await expect(page.locator("#webhooks-page")).to_be_hidden()
