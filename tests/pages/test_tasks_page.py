"""The agent desktop's Tasks panel, and the portal chat widget's choice of answer, in a real Chromium: a message a
customer left out of hours for an e-mail answer is listed on the desktop of an agent of its queue with the customer's
exact words; the agent takes it, writes the answer and sends it: the task leaves the list, and the mail a real SMTP
server (aiosmtpd) receives has the agent's exact words. A wrap-up's follow-up is marked done the same way. A task
set while the desktop is open appears on it without a reload or a poll, and leaves it when a supervisor completes it.
Out of
hours, a signed-in customer chooses to be called back: refused by e-mail for want of her consent, in her words, the
callback is hers. The app is the chat tests' (tests/chatapp.py: real Redis and SQLite, no telephony) with the static
pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from cti.crm import Consent, CustomerRecord, NewContact
from cti.persistence import AgentRepository, CustomerRepository, Database
from cti.records import AgentRecord
from cti.sim import generate
from cti.web import FOLLOW_UPS, PORTAL_SELF, _calls, _portal_selfservice, _service, _signin, _ui, _users
from tests.accessibility import axe_violations
from tests.chatapp import ANI, CLOSED, SUPER, T0, Center, Clock, seed_users, start_center
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page

RULES = {**CLOSED, "queues": {"general": {}, "web": {"calendar": "office", "skills": {"web": 1}}}}
SITI = "siti.rahayu@example.com"


@pytest.fixture
async def floor(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[Center, Mailbox]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await seed_users(db)
    await AgentRepository(db).upsert(AgentRecord("ani", "Ani Lestari", {"capacity": {"chat": 2},
                                                                        "skills": {"web": 1}}))
    customers = CustomerRepository(db)
    await customers.seed(generate(now=T0, customers=14, seed=3))
    await customers.set_consent("10000002", replace(Consent(), email=True))
    with mailbox() as mail:
        started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), RULES,
                                     mailer=mail.mailer(), features=(_service, _signin, _users, _calls,
                                                                     _portal_selfservice, _ui))
        try:
            yield started, mail
        finally:
            await started.close()
            await db.close()


async def test_an_agent_answers_a_left_message_by_e_mail_from_the_tasks_panel(
        floor: tuple[Center, Mailbox]) -> None:
    center, mail = floor
    http = center.http
    customers = CustomerRepository(center.db)
    siti = await customers.customer("10000002")
    assert siti is not None
    left = await center.app[FOLLOW_UPS].leave_message(siti, "Tagihan saya dobel bulan ini.", reply_by="email",
                                                      topic="billing", source="test")
    # And a follow-up Ani set in an earlier wrap-up, due later: it comes second.
    await customers.add_contact(NewContact(
        customer_id="10000001", channel="call", at=T0, agent_id="ani", call_id="earlier", notes="router replaced",
        follow_up_at=T0 + timedelta(days=1), follow_up_task="Ask whether the new router works",
        follow_up_queue="general"))
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB", timezone_id="Asia/Jakarta") as page:
        await page.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        panel = page.locator("#tasks")
        await expect(page.get_by_role("heading", name="Tasks (2)")).to_be_visible()
        cards = panel.locator("li.task")
        await expect(cards).to_have_count(2)
        first = cards.nth(0)
        await expect(first.get_by_role("heading")).to_have_text("Siti Rahayu")
        await expect(first.locator(".task-meta")).to_have_text("due 7 Dec 2026, 09:00 · e-mail answer · queue web")
        await expect(first.locator(".task-what")).to_have_text("Left a message out of hours: answer it by e-mail.")
        await expect(first.locator(".task-notes")).to_have_text("Tagihan saya dobel bulan ini.")
        await expect(cards.nth(1).locator(".task-what")).to_have_text("Ask whether the new router works")
        assert await axe_violations(page) == []

        await first.get_by_role("button", name="Take").click()
        await expect(page.locator("#tasks-notice")).to_have_text("The task for Siti Rahayu is yours now.")
        await expect(first.locator(".task-meta")).to_have_text(
            "due 7 Dec 2026, 09:00 · e-mail answer · queue web · yours")
        # Sending with no answer is refused on the page; then the answer goes.
        await first.get_by_role("button", name="Send the answer and complete").click()
        await expect(page.locator("#tasks-error")).to_have_text("Write the answer to mail to the customer.")
        answer = "Halo Bu Siti,\nkelebihan tagihan sudah kami kembalikan."
        await first.get_by_label("Your answer to Siti Rahayu (sent by e-mail)").fill(answer)
        await first.get_by_role("button", name="Send the answer and complete").click()
        await expect(page.locator("#tasks-notice")).to_have_text("Sent: your answer is on its way to Siti Rahayu.")
        await expect(cards).to_have_count(1)
        await expect(page.get_by_role("heading", name="Tasks (1)")).to_be_visible()

        # The wrap-up's follow-up is marked done: the list is empty.
        await cards.nth(0).get_by_role("button", name="Mark as done").click()
        await expect(page.locator("#tasks-notice")).to_have_text("Done: the task for Budi Santoso is completed.")
        await expect(cards).to_have_count(0)
        await expect(page.locator("#tasks-empty")).to_have_text("No open tasks.")

    [mailed] = mail.to(SITI)
    assert mailed["Subject"] == "Jawaban atas pesan Anda"
    body = mailed.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == answer + "\n\nAnda menulis:\n> Tagihan saya dobel bulan ini.\n"
    response = await http.get("/api/tasks", headers=ANI)
    assert (await response.json())["tasks"] == []
    assert left.task_id is not None


async def test_a_task_set_while_the_desktop_is_open_appears_on_it_at_once(floor: tuple[Center, Mailbox]) -> None:
    center, _ = floor
    http = center.http
    assert (await http.patch("/api/me", headers=ANI, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB", timezone_id="Asia/Jakarta") as page:
        listed: list[str] = []
        page.on("request", lambda request: listed.append(request.url) if "/api/tasks" in request.url else None)
        await page.goto(str(http.make_url("/ui/desktop.html#token=agent-token-ani-0123456789")))
        # Loaded (the empty line is shown once the list came) and live.
        await expect(page.locator("#tasks-empty")).to_be_visible()
        await expect(page.locator("#link")).to_have_attribute("data-status", "connected")
        siti = await CustomerRepository(center.db).customer("10000002")
        assert siti is not None
        left = await center.app[FOLLOW_UPS].leave_message(siti, "Paket saya belum sampai.", reply_by="email",
                                                          topic="orders", source="test")
        cards = page.locator("#tasks li.task")
        await expect(cards).to_have_count(1)
        await expect(page.get_by_role("heading", name="Tasks (1)")).to_be_visible()
        await expect(cards.nth(0).get_by_role("heading")).to_have_text("Siti Rahayu")
        await expect(cards.nth(0).locator(".task-notes")).to_have_text("Paket saya belum sampai.")
        await expect(page.locator("#tasks-notice")).to_have_text("New task: Siti Rahayu.")
        # Sue, a supervisor, answers it herself: it leaves Ani's list, and Ani is told why it went.
        response = await http.post(f"/api/tasks/{left.task_id}/complete", headers=SUPER,
                                   json={"answer": "Paket Anda tiba besok."})
        assert response.status == 200
        await expect(cards).to_have_count(0)
        await expect(page.locator("#tasks-notice")).to_have_text(
            "The task for Siti Rahayu was taken or completed by someone else.")
        await expect(page.locator("#tasks-empty")).to_be_visible()
        assert [url.split("/api/", 1)[1] for url in listed] == ["tasks?limit=200"]  # loaded once: no reload, no poll


async def test_a_customer_out_of_hours_chooses_to_be_called_back_for_their_message(
        floor: tuple[Center, Mailbox]) -> None:
    center, mail = floor
    await CustomerRepository(center.db).set_consent("10000002", replace(Consent(), phone_calls=True))
    async with browser_page(locale="en-GB", timezone_id="Asia/Jakarta") as page:
        await page.goto(str(center.http.make_url("/ui/portal.html")))
        await page.get_by_label("E-mail or phone number").fill(SITI)
        await page.get_by_role("button", name="Send code").click()
        await page.get_by_label("Sign-in code").fill(await mail.code(SITI))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Hello, Siti Rahayu")).to_be_visible()
        await page.reload()  # the widget learns who is signed in as the page loads
        await expect(page.get_by_role("heading", name="Hello, Siti Rahayu")).to_be_visible()
        await page.get_by_role("button", name="Chat with us").click()
        await page.get_by_label("How can we help?").fill("Is anyone there?")
        await page.get_by_role("button", name="Start the chat").click()
        await expect(page.locator("#chat-status")).to_have_text("We are closed now. Leave us a message and we will "
                                                                "answer it.")
        # She has an e-mail address on file: e-mail is chosen first, and refused for her consent, in her words.
        await expect(page.get_by_label("By e-mail")).to_be_checked()
        await page.get_by_label("Leave us a message").fill("Please call me about order 50000002")
        await page.get_by_role("button", name="Send the message").click()
        await expect(page.locator("#chat-error")).to_have_text(
            "You have not agreed to e-mails from us: allow e-mails in your preferences, or choose a call back.")
        await page.get_by_label("Call me back").check()
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Send the message").click()
        await expect(page.locator("#chat-status")).to_have_text(
            "Thank you. We will call you back at Monday, 7 December 2026 at 09:00.")
        await expect(page.locator("#chat-leave")).to_be_hidden()
    [callback] = await center.app[PORTAL_SELF].callbacks(await customer(center, "10000002"))
    assert (callback.due_at, callback.reason) == (
        T0, "asked on the web portal: message left by chat: Please call me about order 50000002")


async def customer(center: Center, customer_id: str) -> CustomerRecord:
    found = await CustomerRepository(center.db).customer(customer_id)
    assert found is not None
    return found
