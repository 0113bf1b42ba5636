"""The portal's chat widget in a real Chromium: an anonymous customer starts a chat, sees their place in line, then
the agent's first name when the agent accepts (over the API, as the desktop does), reads the agent's message and
link, answers, reloads the page and finds the whole chat again, switches to Bahasa Indonesia, and ends the chat;
the agent's side reads every message in order. The app is the chat tests' (tests/chatapp.py: real Redis and
SQLite, no telephony) with the static pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from cti.persistence import CustomerRepository, Database
from cti.services import ChatStart
from cti.sim import generate
from cti.web import CHATS, _calls, _service, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, T0, Center, Clock, login, seed_users, start_center
from tests.support import browser_page


@pytest.fixture
async def center(tmp_path: Path, redis_url: str) -> AsyncIterator[Center]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(),
                                 features=(_service, _signin, _users, _calls, _ui))
    try:
        yield started
    finally:
        await started.close()
        await db.close()


async def test_a_customer_chats_from_the_portal_with_an_agent(center: Center) -> None:
    http = center.http
    async with browser_page(locale="en-GB") as page:
        await page.set_viewport_size({"width": 360, "height": 740})  # a phone
        await page.goto(str(http.make_url("/ui/portal.html")))
        await page.get_by_role("button", name="Chat with us").click()
        await page.get_by_label("Your name").fill("Siti Rahma")
        await page.get_by_label("How can we help?").fill("My bill is wrong")
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Start the chat").click()
        # Nobody is ready: the customer waits first in line.
        await expect(page.locator("#chat-status")).to_have_text("Please wait: you are number 1 in line.")
        await expect(page.locator("#chat-log li")).to_have_count(1)
        assert "cti_chat=" not in await page.evaluate("document.cookie")  # HttpOnly: no script reads it

        login(center, "ani")
        [chat] = (await (await http.get("/api/chats", headers=ANI)).json())["chats"]
        assert (await http.post(f"/api/chats/{chat['chat_id']}/accept", headers=ANI)).status == 200
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Ani.")
        await expect(page.locator("#chat-log li").nth(1)).to_contain_text("Ani joined the chat.")
        await http.post(f"/api/chats/{chat['chat_id']}/messages", headers=ANI, json={
            "text": "Let me check", "links": [{"url": "https://example.com/bills", "title": "Your bills"}]})
        await expect(page.locator("#chat-log li").nth(2)).to_contain_text("Let me check")
        await expect(page.get_by_role("link", name="Your bills")).to_have_attribute("href", "https://example.com/bills")
        await page.get_by_label("Your message").fill("Thank you")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#chat-log li").nth(3)).to_contain_text("Thank you")
        assert await axe_violations(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # A reload finds the chat again, every message in its place; then Bahasa Indonesia.
        await page.reload()
        await expect(page.locator("#chat-log li")).to_have_count(4)
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Ani.")
        await page.get_by_role("button", name="Bahasa Indonesia").click()
        await expect(page.locator("#chat-status")).to_have_text("Anda sedang mengobrol dengan Ani.")
        await expect(page.locator("#chat-log li").nth(1)).to_contain_text("Ani bergabung dalam obrolan.")
        await page.get_by_role("button", name="Akhiri obrolan").click()
        await expect(page.locator("#chat-status")).to_have_text("Obrolan sudah berakhir.")

    await center.settle()
    response = await http.get(f"/api/chats/{chat['chat_id']}/messages", headers=ANI)
    assert [(m["sender"], m["text"]) for m in (await response.json())["messages"]] == [
        ("customer", "My bill is wrong"), ("system", "Ani joined the chat"), ("agent", "Let me check"),
        ("customer", "Thank you"), ("system", "The chat has ended")]


async def test_an_agent_takes_two_chats_on_the_desktop_answers_ends_and_wraps_up(center: Center) -> None:
    http = center.http
    login(center, "ani")
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB") as page:
        await page.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        await expect(page.locator("#link")).to_have_attribute("data-status", "connected")
        customers = [await center.customer() for _ in range(2)]
        response = await customers[0].post("/api/portal/chat", json={"name": "Siti Rahma", "language": "en",
                                                                     "text": "My bill is wrong"})
        assert response.status == 201
        # The second is a customer signed in on the portal: the card has their record from the screen pop.
        joko = await CustomerRepository(center.db).customer("10000001")
        assert joko is not None
        await center.app[CHATS].start(ChatStart(name="", language="en", customer=joko, text="Where is my order?"))
        cards = page.locator("#chats article")
        await expect(cards).to_have_count(2)
        await expect(page.get_by_role("heading", name="Chats (2)")).to_be_visible()
        siti = page.locator("article", has=page.get_by_role("heading", name="Siti Rahma"))
        await expect(siti.locator(".chat-log li")).to_have_text(["Siti RahmaMy bill is wrong"])
        await siti.get_by_role("button", name="Accept").click()
        await expect(siti.get_by_label("Message", exact=True)).to_be_visible()
        assert await axe_violations(page) == []
        await siti.get_by_label("Message", exact=True).fill("Let me check, Siti")
        await siti.get_by_role("button", name="Send").click()
        await expect(siti.locator(".chat-log li").last).to_contain_text("Let me check, Siti")
        state = await (await customers[0].get("/api/portal/chat")).json()
        assert [m["text"] for m in state["messages"]][-1] == "Let me check, Siti"
        assert state["state"]["agent_name"] == "Ani"
        await customers[0].post("/api/portal/chat/messages", json={"text": "Thanks!"})
        await expect(siti.locator(".chat-log li").last).to_contain_text("Thanks!")
        await expect(siti.get_by_label("Message", exact=True)).to_have_value("")  # sent: the draft is gone
        # Joko's chat was offered beside it: Ani takes it too, then ends Siti's.
        known = page.locator("article", has=page.get_by_role("heading", name=joko.name))
        await expect(known.locator(".chat-record")).to_have_text(f"{joko.name} · tier gold · balance due Rp 750.000")
        await known.get_by_role("button", name="Accept").click()
        await expect(known.get_by_label("Message", exact=True)).to_be_visible()
        await siti.get_by_role("button", name="End the chat").click()
        await expect(siti.get_by_label("Wrap-up")).to_be_visible()
        await siti.get_by_label("Notes").fill("billing fixed")
        await siti.get_by_role("button", name="Save the wrap-up").click()
        await expect(cards).to_have_count(1)
        await expect(page.get_by_role("heading", name="Chats (1)")).to_be_visible()
    await center.settle()
    chat_id = state["chat_id"]
    response = await http.get(f"/api/interactions/{chat_id}", headers=ANI)
    record = await response.json()
    assert (record["disposition"], record["notes"], record["outcome"]) == ("resolved", "billing fixed", "answered")


@pytest.fixture
async def bot_center(tmp_path: Path, redis_url: str) -> AsyncIterator[Center]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(),
                                 features=(_service, _signin, _users, _calls, _ui), bot=True)
    try:
        yield started
    finally:
        await started.close()
        await db.close()


async def test_the_virtual_agent_answers_with_its_face_then_an_agent_takes_over_with_what_it_said(
        bot_center: Center) -> None:
    http = bot_center.http
    login(bot_center, "ani")
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB") as page, browser_page(locale="en-GB") as desk:
        await desk.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        await expect(desk.locator("#link")).to_have_attribute("data-status", "connected")
        await page.goto(str(http.make_url("/ui/portal.html")))
        await page.get_by_role("button", name="Chat with us").click()
        await page.get_by_label("Your name").fill("Siti Rahma")
        await page.get_by_label("How can we help?").fill("When is my bill due?")
        await page.get_by_role("button", name="Start the chat").click()
        await expect(page.locator("#chat-status")).to_have_text(
            "You are chatting with our virtual assistant. Ask for a person at any time.")
        log = page.locator("#chat-log li")
        await expect(log).to_have_count(3)
        await expect(log.nth(1).locator(".chat-who")).to_have_text("Sari (virtual assistant)")
        await expect(log.nth(2)).to_contain_text("due")
        await expect(page.locator("#chat-face .cyberface")).to_have_attribute("data-expression", "neutral")
        await expect(desk.locator("#chats article")).to_have_count(0)  # nobody is offered anything yet
        assert await axe_violations(page) == []

        await page.get_by_label("Your message").fill("I want to speak to a real person")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(log).to_have_count(5)
        # Ani is ready: the chat is offered to her at once (no place in line to show).
        await expect(page.locator("#chat-status")).to_have_text("Please wait: an agent will be with you shortly.")
        # The agent is offered the chat with everything the virtual agent said, and takes it.
        card = desk.locator("#chats article")
        await expect(card).to_have_count(1)
        await expect(card.locator(".chat-log li")).to_have_count(5)
        await expect(card.locator(".chat-log li").nth(2).locator(".chat-who")).to_have_text(
            "Sari (virtual assistant)")
        await card.get_by_role("button", name="Accept").click()
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Ani.")
