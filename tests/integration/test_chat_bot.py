"""The virtual agent answers web chats first, on real Redis and SQLite with the demo's starter FAQ: it greets and
answers from the FAQ (the entry as the source) while no agent is offered anything; asked for a person it hands the
chat to a queue, and the agent who accepts reads everything it said; a chat it held to the end is an interaction
served by itself, its transcript stored; its spoken replies go to that chat's customer only."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti.chat import Sender
from cti.persistence import ChatTranscriptRepository, CustomerRepository, Database, InteractionRepository
from cti.services import ChatStart
from cti.sim import generate
from cti.speech import SpokenReplies
from cti.web import CHATS
from tests.chatapp import ANI, T0, Center, Clock, frames_until, login, message, seed_users, start, start_center
from tests.support import unavailable


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    await seed_users(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def center(db: Database, redis_url: str) -> AsyncIterator[Center]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    voice = SpokenReplies()
    started = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), bot=True, voice=voice)
    try:
        yield started
    finally:
        await started.close()
        voice.close()


async def test_the_virtual_agent_answers_first_then_hands_a_person_the_chat_with_everything_it_said(
        center: Center) -> None:
    login(center, "ani")
    desk = await center.http.ws_connect("/ws/desktop", headers=ANI)
    await frames_until(desk, "snapshot")
    customer = await center.customer()
    status, started = await start(customer, name="Siti Rahma", text="kapan tagihan saya jatuh tempo?")
    chat_id = started["chat_id"]
    assert (status, started["state"]["state"]) == (201, "bot")
    assert center.distributor.query.find_call(chat_id) is None  # no queue, no agent: the virtual agent has it
    page = await customer.ws_connect("/api/portal/chat/ws")
    assert (await page.receive_json())["data"]["state"] == "bot"
    said = [await message(page) for _ in range(3)]
    assert [(m["sender"], m["author_name"]) for m in said] == [("customer", "Siti Rahma"), ("bot", "Sari"),
                                                               ("bot", "Sari")]
    greeting, answer = said[1], said[2]
    assert "Sari" in greeting["text"] and greeting["params"]["expression"] == "greeting"
    assert (answer["params"]["action"], answer["params"]["source"], answer["params"]["language"]) == (
        "faq", "bill-due-date", "id")
    assert answer["author"] == "cyberagent"

    await page.send_json({"type": "message", "text": "saya mau bicara dengan agen"})
    assert (await message(page))["sender"] == "customer"
    handover = await message(page)
    assert (handover["sender"], handover["params"]["action"]) == ("bot", "handover")
    frames = await frames_until(desk, "chat_offer")
    assert next(f["data"] for f in frames if f["type"] == "chat_offer")["chat_id"] == chat_id
    item = center.distributor.query.find_call(chat_id)
    assert item is not None and item.routing.problem_type == "person"
    response = await center.http.post(f"/api/chats/{chat_id}/accept", headers=ANI)
    assert response.status == 200
    response = await center.http.get(f"/api/chats/{chat_id}/messages", headers=ANI)
    seen = [(m["sender"], m["text"]) for m in (await response.json())["messages"]]
    assert seen[:5] == [("customer", "kapan tagihan saya jatuh tempo?"), ("bot", greeting["text"]),
                        ("bot", answer["text"]), ("customer", "saya mau bicara dengan agen"),
                        ("bot", handover["text"])]
    await page.send_json({"type": "message", "text": "halo?"})
    while (said_next := await message(page))["sender"] != "customer":
        pass
    assert said_next["text"] == "halo?"
    assert (await center.http.post(f"/api/chats/{chat_id}/end", headers=ANI)).status == 200
    await center.settle()
    for ws in (desk, page):
        await ws.close()


async def test_a_chat_the_virtual_agent_held_to_the_end_is_served_by_itself_with_its_transcript(
        center: Center, db: Database) -> None:
    customer = await center.customer()
    _, started = await start(customer, name="Budi", language="en", text="When is my bill due?")
    chat_id = started["chat_id"]
    page = await customer.ws_connect("/api/portal/chat/ws")
    await page.receive_json()
    [_, _, answer] = [await message(page) for _ in range(3)]
    assert answer["params"]["source"] == "bill-due-date"
    # The reply's audio is the chat's customer's only: another chat's customer does not reach it.
    stranger = await center.customer()
    await start(stranger, name="Eve", language="en")
    reply_id = answer["params"]["reply_id"]
    response = await stranger.get(f"/api/portal/chat/replies/{reply_id}/audio")
    assert (response.status, (await response.json())["error"]["code"]) == (404, "reply_not_found")
    response = await customer.get(f"/api/portal/chat/replies/{reply_id}/audio")
    assert (response.status, response.content_type) == (200, "audio/wav")
    assert len(await response.read()) > 16000 * 2  # over a second of 16 kHz speech
    response = await customer.post("/api/portal/chat/leave", json={})
    assert response.status == 200
    await center.settle()
    record = await InteractionRepository(db).get(chat_id)
    assert record is not None
    assert (record.channel, record.outcome, record.end_reason, record.agent_id, record.caller_name) == (
        "chat", "self_service", "caller_hangup", None, "Budi")
    transcript = await ChatTranscriptRepository(db).transcript(chat_id)
    assert [(m.sender, m.code) for m in transcript] == [
        (Sender.CUSTOMER, ""), (Sender.BOT, ""), (Sender.BOT, ""), (Sender.SYSTEM, "ended")]
    assert await center.streams.after(chat_id) == []
    await page.close()


async def test_a_restart_while_the_virtual_agent_holds_the_chat_loses_nothing_and_it_carries_on(
        db: Database, redis_url: str) -> None:
    prefix, clock = f"cti-test-{uuid.uuid4().hex[:8]}", Clock()
    first = await start_center(db, redis_url, prefix, clock, bot=True)
    customer = await first.customer()
    _, started = await start(customer, name="Dewi", text="internet rumah saya lemot banget")
    chat_id = started["chat_id"]
    cookie = customer.session.cookie_jar.filter_cookies(customer.make_url("/api/portal/chat"))["cti_chat"].value
    await first.settle()
    await first.close()

    second = await start_center(db, redis_url, prefix, clock, bot=True)
    try:
        customer = await second.customer()
        customer.session.cookie_jar.update_cookies({"cti_chat": cookie})
        state = await (await customer.get("/api/portal/chat")).json()
        assert state["state"]["state"] == "bot"
        assert [(m["sender"], m["params"].get("source")) for m in state["messages"]] == [
            ("customer", None), ("bot", None), ("bot", "internet-slow")]
        # The virtual agent goes on from where it was: no second greeting; asked for a person, it hands over.
        response = await customer.post("/api/portal/chat/messages", json={"text": "saya mau bicara dengan agen"})
        assert response.status == 201
        await second.settle()
        state = await (await customer.get("/api/portal/chat")).json()
        assert [m["params"].get("action") for m in state["messages"][3:]] == [None, "handover"]
        assert state["state"]["state"] == "waiting"
        item = second.distributor.query.find_call(chat_id)
        assert item is not None and item.routing.problem_type == "person"
    finally:
        await second.close()


async def test_a_signed_in_customer_s_chat_handed_over_after_a_restart_is_routed_with_their_tier_and_region(
        db: Database, redis_url: str) -> None:
    await CustomerRepository(db).seed(generate(now=T0, customers=14, seed=3))
    joko = await CustomerRepository(db).customer("10000001")
    assert joko is not None and joko.value_tier == "gold"
    prefix, clock = f"cti-test-{uuid.uuid4().hex[:8]}", Clock()
    first = await start_center(db, redis_url, prefix, clock, bot=True)
    session, _ = await first.app[CHATS].start(ChatStart(name="", language="id", customer=joko, text="halo"))
    await first.settle()
    await first.close()

    second = await start_center(db, redis_url, prefix, clock, bot=True)
    try:
        restored = second.chat.sessions[session.chat_id]
        await second.app[CHATS].customer_says(restored, "saya mau bicara dengan agen")
        item = second.distributor.query.find_call(session.chat_id)
        assert item is not None
        assert (item.routing.value_tier, item.routing.region, item.customer_id, item.caller_number) == (
            "gold", joko.region, "10000001", joko.phones[0])
        second.app[CHATS].customer_leaves(second.chat.sessions[session.chat_id])
        await second.settle()
    finally:
        await second.close()
