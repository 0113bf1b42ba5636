"""The page that teaches the virtual assistant, in a real Chromium against the whole app (create_app, Asterisk
away): a customer's question the assistant handed over is listed for a supervisor, who labels it with the FAQ entry
that answers it; at once, a customer asking the same question in the portal's chat gets that entry's answer, its
source the entry; the label is undone from the page."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from cti.faq import read_texts
from cti.persistence import UserRepository
from cti.sim._demo_seed import starter_faq
from cti.web import FAQ
from tests.accessibility import axe_violations
from tests.fullapp import Cti
from tests.support import browser_page, eventually

SUPERVISOR = "labels-page-supervisor-0123456789ab"
HANDED = "a strange light on my box"
ENTRY = "internet-no-connection"
TEXTS = read_texts(dict(starter_faq())[ENTRY].texts)


async def _questions(cti: Cti, state: str = "open") -> list[dict[str, Any]]:
    found = await cti.api("GET", f"/api/cyberagent/questions?state={state}", token=SUPERVISOR)
    return list(found["questions"])


async def test_a_supervisor_labels_a_handed_over_question_and_the_assistant_answers_it_from_the_faq(
        cti: Cti) -> None:
    await cti.client.app[FAQ].install(starter_faq())
    await UserRepository(cti.db).ensure_user_token("sri", "supervisor", SUPERVISOR)
    await cti.speaks("en", SUPERVISOR)
    # A customer asks what the assistant cannot answer: it hands the chat over; the customer leaves.
    customer: TestClient[Any, Any] = TestClient(cti.client.server)
    try:
        response = await customer.post("/api/portal/chat", json={"language": "en", "name": "Budi", "text": HANDED})
        assert response.status == 201
        messages = (await (await customer.get("/api/portal/chat")).json())["messages"]
        assert [m["params"].get("action") for m in messages if m["sender"] == "bot"] == ["greeting", "handover"]
        assert (await customer.post("/api/portal/chat/leave", json={})).status == 200
    finally:
        await customer.session.close()
    [question] = await eventually(lambda: _questions(cti), timeout=30, message="the transcript stored")
    assert (question["text"], question["reply"], question["label"]) == (HANDED, "handed_over", None)

    async with browser_page(locale="en-GB", timezone_id="UTC") as page:
        await page.goto(str(cti.client.make_url(f"/ui/labels.html#token={SUPERVISOR}")))
        await expect(page.locator("header nav a[aria-current=page]")).to_have_text("Teach the assistant")
        row = page.locator("#questions tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("td.question")).to_have_text(HANDED)
        assert await axe_violations(page) == []
        await page.get_by_label(f"What answers: {HANDED}").select_option(label=TEXTS["en"].question)
        await page.get_by_role("button", name=f"Save label for: {HANDED}").click()
        await expect(page.locator("#notice")).to_have_text(f"Labelled. The assistant now answers: {HANDED}")
        await expect(page.locator("#empty")).to_be_visible()  # nothing left to label
        await page.select_option("#filter-state", "labelled")
        await expect(row.locator("p.labelled")).to_have_text(f"FAQ: {TEXTS['en'].question}")
        [labelled] = await _questions(cti, "labelled")
        assert (labelled["label"]["kind"], labelled["label"]["target"], labelled["label"]["labelled_by"]) == (
            "faq", ENTRY, "sri")

        # At once: a customer asking the same question in the portal's chat gets the entry's answer.
        async with browser_page(locale="en-GB") as portal:
            await portal.goto(str(cti.client.make_url("/ui/portal.html")))
            await portal.get_by_role("button", name="Chat with us").click()
            await portal.get_by_label("Your name").fill("Siti")
            await portal.get_by_label("How can we help?").fill("A strange light on my box!")
            await portal.get_by_role("button", name="Start the chat").click()
            log = portal.locator("#chat-log li")
            await expect(log).to_have_count(3)
            await expect(log.nth(2)).to_contain_text(TEXTS["en"].answer.split(".")[0])
            await expect(portal.locator("#chat-status")).to_have_text(
                "You are chatting with our virtual assistant. Ask for a person at any time.")
        [chat] = (await cti.api("GET", "/api/chats"))["chats"]
        said = (await cti.api("GET", f"/api/chats/{chat['chat_id']}/messages"))["messages"]
        assert (said[2]["sender"], said[2]["params"]["action"], said[2]["params"]["source"]) == ("bot", "faq", ENTRY)
        assert said[2]["params"]["learnt"] == str(labelled["label"]["label_id"])

        # Undone from the page: the question is open again.
        await page.get_by_role("button", name=f"Undo the label of: {HANDED}").click()
        await expect(page.locator("#notice")).to_have_text(f"Label undone: {HANDED}")
        await page.select_option("#filter-state", "open")
        await expect(row.locator("td.question")).to_have_text(HANDED)
        assert await axe_violations(page) == []
