"""The supervisor dashboard's "Chats now" in a real Chromium: a supervisor of the chat's queue sees it waiting, then
offered to and taken by Ani (her first name), watches it with the keyboard, and the customer's typing, their message
and the agent's reply come into the read-only transcript with their exact text, in English and in Bahasa Indonesia,
until the chat ends; a supervisor of another queue sees no chat and the API refuses them. With the virtual agent, a
supervisor of every queue sees the chat it holds and its turns marked. The app is the chat tests' (tests/chatapp.py:
real Redis and SQLite, no telephony) with the static pages and the dashboard's feed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from cti.persistence import Database, UserRepository
from cti.web import _calls, _dashboard, _service, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, ELSEWHERE, SUPER, Center, Clock, login, seed_users, start, start_center
from tests.support import browser_page

GENERAL = {"Authorization": "Bearer super-token-general-01234"}


async def open_center(tmp_path: Path, redis_url: str, *, bot: bool = False) -> tuple[Center, Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    users = UserRepository(db)
    await users.ensure_user_token("gina", "supervisor", "super-token-general-01234")
    await users.set_user_scope("gina", {"queues": ["general"]})
    clock = Clock()
    center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", clock, bot=bot,
                                features=(_service, _signin, _users, _calls, _ui, _dashboard), stats=True)
    for headers in (GENERAL, ELSEWHERE, SUPER):
        assert (await center.http.patch("/api/me", headers=headers, json={"language": "en"})).status == 200
    return center, db


@pytest.fixture
async def center(tmp_path: Path, redis_url: str) -> AsyncIterator[Center]:
    started, db = await open_center(tmp_path, redis_url)
    try:
        yield started
    finally:
        await started.close()
        await db.close()


async def dashboard(page: Page, center: Center, token: str) -> None:
    await page.goto(str(center.http.make_url(f"/ui/dashboard.html#token={token}")))
    await expect(page.get_by_role("heading", name="Chats now")).to_be_visible()


async def test_a_supervisor_watches_a_chat_of_their_queue_live_and_another_queue_s_does_not_see_it(
        center: Center) -> None:
    http = center.http
    customer = await center.customer()
    _, started = await start(customer, name="Siti Rahma", language="en", text="My bill is wrong")
    chat_id = started["chat_id"]
    async with browser_page(locale="en-GB") as page, browser_page(locale="en-GB") as other:
        await dashboard(page, center, "super-token-general-01234")
        row = page.locator(f"#chats tr[data-chat='{chat_id}']")
        # Queue, customer, state, no agent yet, waited, not talking yet (a dash), the Watch button.
        await expect(row.locator("td")).to_have_text(["general", "Siti Rahma", "Waiting", "", "00:00", "\u2013",
                                                      "Watch"])
        assert await axe_violations(page) == []

        # Sam looks after billing only: no chat on his dashboard, and the API refuses him the chat.
        await dashboard(other, center, "super-token-elsewhere-01234")
        await expect(other.locator("#chats-empty")).to_have_text("No chats right now.")
        assert (await (await http.get("/api/chats", headers=ELSEWHERE)).json())["chats"] == []
        assert (await http.get(f"/api/chats/{chat_id}/messages", headers=ELSEWHERE)).status == 404
        assert (await http.get(f"/ws/chats/{chat_id}", headers=ELSEWHERE)).status == 404

        # Watch, with the keyboard: the transcript opens with what was said, the focus on it.
        await row.get_by_role("button", name="Watch the chat with Siti Rahma").focus()
        await page.keyboard.press("Enter")
        watch = page.get_by_role("region", name="Chat with Siti Rahma (general)")
        await expect(watch).to_be_visible()
        await expect(page.locator("#watch-heading")).to_be_focused()
        log = page.locator("#watch-log li")
        await expect(log).to_have_text(["Siti RahmaMy bill is wrong"])
        await expect(page.locator("#watch-state")).to_have_text("Waiting")

        # Ani comes in: the chat is offered to her, she takes it; the panel and the transcript follow.
        login(center, "ani")
        await expect(row.locator("td.state")).to_have_text("Offered")
        await expect(row.locator("td.agent")).to_have_text("Ani")
        assert (await http.post(f"/api/chats/{chat_id}/accept", headers=ANI)).status == 200
        await expect(log.nth(1)).to_have_text("NoticeAni joined the chat.")
        await expect(page.locator("#watch-state")).to_have_text("Chatting · with Ani")
        await expect(row.locator("td.state")).to_have_text("Chatting")

        # The customer types, then writes; the agent answers: each comes in as it happens, exactly.
        socket = await customer.ws_connect("/api/portal/chat/ws")
        await socket.send_json({"type": "typing"})
        await expect(page.locator("#watch-typing")).to_have_text("The customer is typing…")
        await socket.send_json({"type": "message", "text": "It is charged twice this month"})
        await expect(log.nth(2)).to_have_text("Siti RahmaIt is charged twice this month")
        await expect(page.locator("#watch-typing")).to_have_text("")
        response = await http.post(f"/api/chats/{chat_id}/messages", headers=ANI,
                                   json={"text": "I am refunding the second charge now"})
        assert response.status == 201
        await expect(log.nth(3)).to_have_text("Ani (agent)I am refunding the second charge now")
        await expect(log).to_have_count(4)
        assert [await item.get_attribute("data-sender") for item in await log.all()] == [
            "customer", "system", "customer", "agent"]
        assert await axe_violations(page) == []

        # Read-only: nothing on the page writes into the chat.
        assert await watch.locator("textarea, input").count() == 0
        # Escape closes it and gives the focus back to its Watch; watching again catches up with everything.
        await page.keyboard.press("Escape")
        await expect(watch).to_be_hidden()
        await expect(row.get_by_role("button", name="Watch the chat with Siti Rahma")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(log).to_have_count(4)

        # In Bahasa Indonesia, then the agent ends the chat: the transcript says so and stops.
        await page.locator("#language").select_option("id")
        await expect(page.get_by_role("heading", name="Obrolan saat ini")).to_be_visible()
        await expect(log.nth(1)).to_have_text("InfoAni bergabung dalam obrolan.")
        await expect(log.nth(3)).to_have_text("Ani (agen)I am refunding the second charge now")
        await expect(page.locator("#watch-stop")).to_have_text("Berhenti memantau")
        assert (await http.post(f"/api/chats/{chat_id}/end", headers=ANI)).status == 200
        await expect(page.locator("#watch-state")).to_have_text("Obrolan sudah berakhir.")
        await expect(log.nth(4)).to_have_text("InfoObrolan sudah berakhir.")
        await expect(page.locator("#chats-empty")).to_have_text("Tidak ada obrolan saat ini.")
        await expect(page.locator("#watch-stop")).to_have_text("Tutup")
        await socket.close()
    await center.settle()


async def test_a_supervisor_of_every_queue_sees_the_virtual_agent_s_chat_and_its_turns_marked(
        tmp_path: Path, redis_url: str) -> None:
    center, db = await open_center(tmp_path, redis_url, bot=True)
    try:
        customer = await center.customer()
        _, started = await start(customer, name="Siti Rahma", language="en", text="When is my bill due?")
        chat_id = started["chat_id"]
        async with browser_page(locale="en-GB") as page:
            await dashboard(page, center, "super-token-0123456789")
            row = page.locator(f"#chats tr[data-chat='{chat_id}']")
            await expect(row.locator("td.queue")).to_have_text("not routed yet")
            await expect(row.locator("td.state")).to_have_text("With the virtual assistant")
            await row.get_by_role("button", name="Watch the chat with Siti Rahma").click()
            log = page.locator("#watch-log li")
            await expect(log).to_have_count(3)
            await expect(log.locator(".chat-who")).to_have_text(
                ["Siti Rahma", "Sari (virtual assistant)", "Sari (virtual assistant)"])
            assert [await item.get_attribute("data-sender") for item in await log.all()] == [
                "customer", "bot", "bot"]
        # The supervisor of the general queue sees it only once it is routed there.
        assert (await (await center.http.get("/api/chats", headers=GENERAL)).json())["chats"] == []
    finally:
        await center.close()
        await db.close()
