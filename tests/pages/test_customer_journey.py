"""The customer's whole journey on the web, in two real Chromiums (the customer's phone and the agent's desktop),
in both languages: the customer signs in to the portal with the code a real SMTP server delivered, tracks an order,
asks the virtual agent a question and gets the FAQ's answer, asks for a person; the agent's desktop is offered the
chat with the customer's record and everything the virtual agent said, the agent replies, ends and wraps up; the
customer sees the reply; their history on the portal shows the chat and what they did on the web. Real Redis and
SQLite (the demo's CRM); no telephony."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from cti.persistence import CustomerRepository, Database, InteractionRepository
from cti.sim import generate
from cti.web import _calls, _faq, _portal_selfservice, _service, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, T0, Center, Clock, login, seed_users, start_center
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page

SITI = "siti.rahayu@example.com"  # customer 10000002 of the demo's CRM: order 50000002, shipped


@pytest.fixture
async def journey(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[Center, Mailbox]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    with mailbox() as mail:
        center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), bot=True,
                                    mailer=mail.mailer(),
                                    features=(_service, _signin, _users, _calls, _faq, _portal_selfservice, _ui))
        try:
            yield center, mail
        finally:
            await center.close()
            await db.close()


async def test_sign_in_track_ask_the_virtual_agent_then_a_person_who_answers_and_wraps_up(
        journey: tuple[Center, Mailbox]) -> None:
    center, mail = journey
    http = center.http
    login(center, "ani")
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB") as page, browser_page(locale="en-GB") as desk:
        await desk.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        await expect(desk.locator("#link")).to_have_attribute("data-status", "connected")
        await page.set_viewport_size({"width": 360, "height": 740})  # the customer's phone
        await page.goto(str(http.make_url("/portal")))
        await page.get_by_label("E-mail or phone number").fill(SITI)
        await page.get_by_role("button", name="Send code").click()
        await page.get_by_label("Sign-in code").fill(await mail.code(SITI))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Hello, Siti Rahayu")).to_be_visible()

        # Track the order.
        await page.get_by_role("link", name="Orders", exact=True).click()
        await page.get_by_role("link", name="Track order 50000002").click()
        await expect(page.get_by_role("heading", name="Order 50000002")).to_be_visible()
        await expect(page.locator("#order-steps li").first).to_contain_text("Packed")

        # Ask the virtual agent: the FAQ's answer, by name, with no agent offered anything.
        await page.get_by_role("button", name="Chat with us").click()
        await expect(page.get_by_label("Your name")).to_have_value("Siti Rahayu")  # signed in: their own name
        await page.get_by_label("How can we help?").fill("When is my bill due?")
        await page.get_by_role("button", name="Start the chat").click()
        log = page.locator("#chat-log li")
        await expect(log).to_have_count(3)
        await expect(log.nth(2).locator(".chat-who")).to_have_text("Sari (virtual assistant)")
        answer = await log.nth(2).locator(".chat-text").inner_text()
        bill_due = (await (await http.get("/api/faq/search", params={"q": "bill due", "lang": "en"})).json())[0]
        assert answer == bill_due["answer"]
        await expect(desk.locator("#chats article")).to_have_count(0)
        assert await axe_violations(page) == []

        # A person, please: the agent is offered the chat with the customer's record and the whole conversation.
        await page.get_by_label("Your message").fill("I want to talk to a person")
        await page.get_by_role("button", name="Send", exact=True).click()
        card = desk.locator("#chats article")
        await expect(card).to_have_count(1)
        await expect(card.get_by_role("heading", name="Siti Rahayu")).to_be_visible()
        await expect(card.locator(".chat-record")).to_contain_text("Siti Rahayu")
        await expect(card.locator(".chat-log li")).to_have_count(5)
        await expect(card.locator(".chat-log li").nth(2)).to_contain_text(answer)
        await card.get_by_role("button", name="Accept").click()
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Ani.")
        await card.get_by_label("Message", exact=True).fill("Hello Siti, your bill is due on the 20th.")
        await card.get_by_role("button", name="Send").click()
        await expect(log.last).to_contain_text("Hello Siti, your bill is due on the 20th.")
        assert await axe_violations(desk) == []
        await card.get_by_role("button", name="End the chat").click()
        await expect(page.locator("#chat-status")).to_have_text("The chat has ended.")
        await card.get_by_label("Notes").fill("told the due date")
        await card.get_by_role("button", name="Save the wrap-up").click()
        await expect(card).to_have_count(0)
        await center.settle()

        # The customer's history shows the chat and what they did on the web, in both languages.
        await page.get_by_role("button", name="Close").click()
        await page.get_by_role("link", name="History").click()
        history = page.locator("#history li")
        chat = history.and_(page.locator('[data-channel="chat"]'))
        await expect(chat).to_have_count(1)
        await expect(chat).to_contain_text("Resolved")
        await expect(history.filter(has_text="Looked up order 50000002")).to_have_count(1)
        await page.get_by_role("button", name="Bahasa Indonesia").click()
        await expect(chat).to_contain_text("obrolan")
        await expect(chat).to_contain_text("Selesai")
        await expect(history.filter(has_text="Melihat pesanan 50000002")).to_have_count(1)
        assert await axe_violations(page) == []

    [record] = [r for r in await InteractionRepository(center.db).list(limit=10) if r.channel == "chat"]
    assert (record.customer_id, record.agent_id, record.outcome, record.disposition, record.notes) == (
        "10000002", "ani", "answered", "resolved", "told the due date")
