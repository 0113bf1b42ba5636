"""Messages customers leave out of hours and the staff's follow-up tasks, over HTTP on real Redis and SQLite and a
real SMTP server (aiosmtpd): an e-mail answer is a task of the queue the chat would have gone to, seen by that queue's
agents alone, answered by mail with the agent's exact words and recorded in the customer's history; a call answer is
the portal's own callback request, due when the calling hours begin, its reason the message; a wrap-up's follow-up is
a task of its agent and queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cti.crm import Consent
from cti.persistence import AgentRepository, AuditRepository, CallbackRepository, CustomerRepository, Database
from cti.records import AgentRecord
from cti.services import ChatStart
from cti.sim import generate
from cti.web import CHATS, HUB
from tests.chatapp import (
    ANI,
    BUDI,
    CLOSED,
    ELSEWHERE,
    SUPER,
    T0,
    Center,
    Client,
    Clock,
    frames_until,
    login,
    seed_users,
    start_center,
)
from tests.mailbox import Mailbox, mailbox

SITI, SITI_ID = "siti.rahayu@example.com", "10000002"
# The chats' queue needs the web skill: Ani has it, Budi not.
RULES = {**CLOSED, "queues": {"general": {}, "web": {"calendar": "office", "skills": {"web": 1}}}}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    await seed_users(database)
    await AgentRepository(database).upsert(AgentRecord("ani", "Ani Lestari", {"capacity": {"chat": 2},
                                                                              "skills": {"web": 1}}))
    await CustomerRepository(database).seed(generate(now=T0, customers=14, seed=3))
    try:
        yield database
    finally:
        await database.close()


async def consent(db: Database, customer_id: str, **given: bool) -> None:
    customers = CustomerRepository(db)
    record = await customers.customer(customer_id)
    assert record is not None
    await customers.set_consent(customer_id, replace(Consent(), **given))


async def signed_in(center: Center, mail: Mailbox, address: str, *, nth: int = 1) -> tuple[Client, dict[str, str]]:
    """A browser signed in on the portal as ``address``, and its CSRF header."""
    browser = await center.customer()
    assert (await browser.post("/api/portal/code", json={"address": address})).status == 202
    code = await mail.code(address, nth=nth)
    assert (await browser.post("/api/portal/session", json={"address": address, "code": code})).status == 200
    token = browser.session.cookie_jar.filter_cookies(browser.make_url("/"))["cti_portal_csrf"].value
    return browser, {"X-CSRF-Token": token}


async def leave(browser: Client, csrf: dict[str, str], **body: Any) -> tuple[int, Any]:
    response = await browser.post("/api/portal/chat/left-message", headers=csrf, json=body)
    return response.status, await response.json()


async def tasks(center: Center, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await center.http.get("/api/tasks", headers=headers)
    assert response.status == 200
    found: list[dict[str, Any]] = (await response.json())["tasks"]
    return found


async def test_a_message_left_for_an_e_mail_answer_is_its_queues_task_answered_by_mail(db: Database,
                                                                                       redis_url: str) -> None:
    await consent(db, SITI_ID, email=True)
    with mailbox() as mail:
        center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), RULES,
                                    mailer=mail.mailer())
        try:
            browser, csrf = await signed_in(center, mail, SITI)
            # Out of hours the chat ends at once; the customer leaves a message to be answered by e-mail.
            response = await browser.post("/api/portal/chat", headers=csrf, json={"text": "Tagihan saya dobel"})
            ended = (await response.json())["state"]
            assert (response.status, ended["state"], ended["leave_message"]) == (201, "ended", True)
            # The page's socket opens after the end: it is told too that a message may be left.
            async with browser.ws_connect("/api/portal/chat/ws") as socket:
                frame = await socket.receive_json()
                assert (frame["type"], frame["data"]["state"], frame["data"]["leave_message"]) == (
                    "state", "ended", True)
            status, left = await leave(browser, csrf, text="Tagihan saya dobel bulan ini.\nTolong dicek.",
                                       topic="billing", reply_by="email")
            assert (status, left) == (202, {"left": True, "reply_by": "email"})

            # Ani, qualified for the chats' queue, sees it; Budi does not, nor Sam (his scope is billing).
            [task] = await tasks(center, ANI)
            task_id = task["task_id"]
            assert task == {
                "task_id": task_id, "customer_id": SITI_ID, "customer_name": "Siti Rahayu", "kind": "email",
                "source": "left_message", "task": "Answer the message the customer left by chat, by e-mail",
                "notes": "Tagihan saya dobel bulan ini.\nTolong dicek.", "reason": "billing", "queue": "web",
                "agent_id": None, "call_id": None, "language": "id", "created_at": T0.isoformat(),
                "due_at": T0.isoformat(), "claimed_by": None, "claimed_at": None, "done_by": None, "done_at": None}
            assert await tasks(center, BUDI) == []
            assert await tasks(center, ELSEWHERE) == []
            # Sue sees everything: the seeded customers' wrap-up follow-ups too.
            assert [(t["task_id"], t["kind"]) for t in await tasks(center, SUPER) if t["source"] == "left_message"] \
                == [(task_id, "email")]
            for path in (f"/api/tasks/{task_id}", f"/api/tasks/{task_id}/claim", f"/api/tasks/{task_id}/complete"):
                response = await (center.http.get(path, headers=BUDI) if path.endswith(str(task_id))
                                  else center.http.post(path, headers=BUDI, json={"answer": "x"}))
                assert (response.status, (await response.json())["error"]["code"]) == (404, "task_not_found")
            # A supervisor does not take tasks; an e-mail task is not completed without its answer.
            response = await center.http.post(f"/api/tasks/{task_id}/claim", headers=SUPER)
            assert (response.status, (await response.json())["error"]["code"]) == (403, "agents_only_take")
            response = await center.http.post(f"/api/tasks/{task_id}/complete", headers=ANI, json={})
            assert (response.status, (await response.json())["error"]["code"]) == (422, "answer_required")

            response = await center.http.post(f"/api/tasks/{task_id}/claim", headers=ANI)
            taken = await response.json()
            assert (response.status, taken["claimed_by"], taken["claimed_at"]) == (200, "ani", T0.isoformat())
            answer = "Halo Bu Siti,\n\nkelebihan tagihan sudah kami kembalikan ke rekening Anda."
            response = await center.http.post(f"/api/tasks/{task_id}/complete", headers=ANI, json={"answer": answer})
            done = await response.json()
            assert (response.status, done["done_by"], done["done_at"]) == (200, "agent-ani", T0.isoformat())

            # The mail has the agent's words exactly, the customer's message quoted below.
            [_code, answered] = mail.to(SITI)
            assert answered["Subject"] == "Jawaban atas pesan Anda"
            body = answered.get_body(("plain",))
            assert body is not None
            # (SMTP carries lines ending in CRLF)
            assert body.get_content().replace("\r\n", "\n") == (
                answer + "\n\nAnda menulis:\n> Tagihan saya dobel bulan ini.\n> Tolong dicek.\n")
            # In the customer's history (an e-mail contact by Ani), and the task is gone from every list.
            view = await CustomerRepository(db).customer_view(SITI_ID)
            assert view is not None
            [mailed] = [c for c in view.contacts if c.channel == "email"]
            assert (mailed.notes, mailed.agent_id, mailed.reason, mailed.disposition, mailed.at) == (
                answer, "ani", "follow_up_answer", "answered", T0)
            assert await tasks(center, ANI) == []
            assert task_id not in [t["task_id"] for t in await tasks(center, SUPER)]
            response = await center.http.post(f"/api/tasks/{task_id}/complete", headers=ANI, json={"answer": "x"})
            assert response.status == 404
            assert len(mail.to(SITI)) == 2  # completed once, mailed once
            audited = await AuditRepository(db).search(subject_type="task", subject_id=str(task_id))
            assert [(a.actor, a.action, a.detail) for a in reversed(audited)] == [
                (f"customer:{SITI_ID}", "create", {"customer_id": SITI_ID, "reply_by": "email", "queue": "web"}),
                ("agent-ani", "change", {"customer_id": SITI_ID, "step": "take"}),
                ("agent-ani", "change", {"customer_id": SITI_ID, "step": "complete", "mailed": True})]
        finally:
            await center.close()


async def test_a_message_left_for_a_call_is_a_callback_when_the_calling_hours_begin(db: Database,
                                                                                     redis_url: str) -> None:
    await consent(db, SITI_ID, phone_calls=True)
    clock = Clock()
    clock.now = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # Sunday 22:00 WIB: calls are made 08:00-20:00
    with mailbox() as mail:
        center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", clock, RULES,
                                    mailer=mail.mailer())
        try:
            browser, csrf = await signed_in(center, mail, SITI)
            status, left = await leave(browser, csrf, text="Mohon telepon saya soal pesanan 7001", reply_by="call")
            opening = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
            assert status == 202
            assert left == {"left": True, "reply_by": "call",
                            "callback": {"callback_id": left["callback"]["callback_id"],
                                         "due_at": opening.isoformat()}}
            callback = await CallbackRepository(db).get(left["callback"]["callback_id"])
            assert callback is not None
            assert (callback.customer_id, callback.due_at, callback.status.value, callback.reason,
                    callback.created_by) == (SITI_ID, opening, "scheduled",
                                             "asked on the web portal: message left by chat: Mohon telepon saya "
                                             "soal pesanan 7001", f"customer:{SITI_ID}")
            # The message itself is in the history the callback's preview pops; it is no e-mail task.
            view = await CustomerRepository(db).customer_view(SITI_ID)
            assert view is not None
            [message] = [c for c in view.contacts if c.channel == "chat"]
            assert (message.notes, message.reason, message.follow_up_task) == (
                "Mohon telepon saya soal pesanan 7001", "chat_message", None)
            assert [t for t in await tasks(center, SUPER) if t["customer_id"] == SITI_ID] == []
            # One request waits already: a second is refused, as the portal's own callback form refuses it.
            status, refused = await leave(browser, csrf, text="Lagi", reply_by="call")
            assert (status, refused["error"]["code"]) == (409, "callback_pending")
        finally:
            await center.close()


async def test_a_message_is_refused_clearly_when_the_customer_cannot_be_answered_so(db: Database,
                                                                                   redis_url: str) -> None:
    customers = CustomerRepository(db)
    # Rina has an e-mail address and no phone.
    rina = await customers.create_blank_customer(None, name="Rina Wati", email="rina@example.com", language="en")
    with mailbox() as mail:
        center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), RULES,
                                    mailer=mail.mailer())
        try:
            browser, csrf = await signed_in(center, mail, "rina@example.com")
            status, refused = await leave(browser, csrf, text="Call me", reply_by="call")
            assert (status, refused["error"]["code"]) == (422, "no_phone")
            # Without her consent to mails, neither chosen nor by default.
            for body in ({"reply_by": "email"}, {}):
                status, refused = await leave(browser, csrf, text="Mail me", **body)
                assert (status, refused["error"]["code"]) == (409, "no_email_consent")
            await consent(db, rina.customer_id, email=True)
            status, left = await leave(browser, csrf, text="Mail me")  # by default: by e-mail, as she has it
            assert (status, left["reply_by"]) == (202, "email")

            # Siti agreed to nothing: a call is refused by the contact policy; with no e-mail address, no mail.
            await consent(db, SITI_ID)
            siti, siti_csrf = await signed_in(center, mail, SITI)
            status, refused = await leave(siti, siti_csrf, text="Call me", reply_by="call")
            assert (status, refused["error"]["code"]) == (409, "no_contact_consent")
            record = await customers.customer(SITI_ID)
            assert record is not None
            await customers.update_customer(SITI_ID, replace(record.fields(), email=None))
            status, refused = await leave(siti, siti_csrf, text="Mail me", reply_by="email")
            assert (status, refused["error"]["code"]) == (422, "no_email")
            status, refused = await leave(siti, siti_csrf, text="Mail me", reply_by="fax")
            assert status == 422
            assert [t["customer_id"] for t in await tasks(center, SUPER) if t["source"] == "left_message"] == [
                rina.customer_id]
        finally:
            await center.close()


async def test_a_wrap_ups_follow_up_is_a_task_of_its_agent_and_queue(db: Database, redis_url: str) -> None:
    center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock())
    try:
        login(center, "budi")
        joko = await CustomerRepository(db).customer("10000001")
        assert joko is not None
        session, _ = await center.app[CHATS].start(ChatStart(name="", language="id", customer=joko,
                                                             text="Router saya mati"))
        chat_id = session.chat_id
        assert (await center.http.post(f"/api/chats/{chat_id}/accept", headers=BUDI)).status == 200
        assert (await center.http.post(f"/api/chats/{chat_id}/end", headers=BUDI)).status == 200
        await center.settle()
        due = (T0 + timedelta(days=2)).date()
        response = await center.http.post(f"/api/interactions/{chat_id}/wrapup", headers=BUDI, json={
            "disposition": "resolved", "notes": "router diganti",
            "follow_up": {"due": due.isoformat(), "task": "Tanyakan apakah router baru menyala"}})
        assert response.status == 200
        [task] = await tasks(center, BUDI)
        assert (task["kind"], task["source"], task["task"], task["notes"], task["queue"], task["agent_id"],
                task["call_id"], task["due_at"], task["customer_id"]) == (
            "follow_up", "wrap_up", "Tanyakan apakah router baru menyala", "router diganti", "general", "budi",
            chat_id, datetime(2026, 12, 9, 9, 0, tzinfo=UTC).isoformat(), "10000001")
        # Ani sees it too (the general queue's), until Budi takes it; Sam's scope is another queue.
        assert [t["task_id"] for t in await tasks(center, ANI)] == [task["task_id"]]
        assert await tasks(center, ELSEWHERE) == []
        response = await center.http.post(f"/api/tasks/{task['task_id']}/claim", headers=BUDI)
        assert (response.status, (await response.json())["claimed_by"]) == (200, "budi")
        assert await tasks(center, ANI) == []
        response = await center.http.post(f"/api/tasks/{task['task_id']}/claim", headers=ANI)
        assert response.status == 404
        # Only an e-mail task mails an answer; Budi completes this one.
        response = await center.http.post(f"/api/tasks/{task['task_id']}/complete", headers=BUDI,
                                          json={"answer": "x"})
        assert (response.status, (await response.json())["error"]["code"]) == (422, "answer_not_mailed")
        response = await center.http.post(f"/api/tasks/{task['task_id']}/complete", headers=BUDI)
        done = await response.json()
        assert (response.status, done["claimed_by"], done["done_by"]) == (200, "budi", "agent-budi")
        assert await tasks(center, BUDI) == []
    finally:
        await center.close()


async def nothing_more(desk: Any) -> None:
    """The desktop's socket has no frame waiting (what was published is queued before the HTTP answer)."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(desk.receive_json(), 0.3)


async def test_a_left_message_and_its_taking_reach_the_desktops_of_its_queue_and_no_other(
        db: Database, redis_url: str) -> None:
    await consent(db, SITI_ID, email=True)
    with mailbox() as mail:
        center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock(), RULES,
                                    mailer=mail.mailer())
        try:
            ani = await center.http.ws_connect("/ws/desktop", headers=ANI)
            budi = await center.http.ws_connect("/ws/desktop", headers=BUDI)
            await frames_until(ani, "snapshot")
            await frames_until(budi, "snapshot")
            browser, csrf = await signed_in(center, mail, SITI)
            status, _ = await leave(browser, csrf, text="Tagihan saya dobel bulan ini.", topic="billing",
                                    reply_by="email")
            assert status == 202
            [task] = await tasks(center, ANI)
            task_id = task["task_id"]
            # Ani (the web queue's) is shown the task as her list shows it, without asking.
            assert await ani.receive_json() == {"seq": 1, "type": "task", "data": {"change": "created", "task": {
                "task_id": task_id, "customer_id": SITI_ID, "customer_name": "Siti Rahayu", "kind": "email",
                "source": "left_message", "task": "Answer the message the customer left by chat, by e-mail",
                "notes": "Tagihan saya dobel bulan ini.", "reason": "billing", "queue": "web", "agent_id": None,
                "call_id": None, "language": "id", "created_at": T0.isoformat(), "due_at": T0.isoformat(),
                "claimed_by": None, "claimed_at": None, "done_by": None, "done_at": None}}}
            assert (await center.http.post(f"/api/tasks/{task_id}/claim", headers=ANI)).status == 200
            taken = await ani.receive_json()
            assert (taken["seq"], taken["type"], taken["data"]["change"]) == (2, "task", "taken")
            assert taken["data"]["task"] == {**task, "claimed_by": "ani", "claimed_at": T0.isoformat()}
            response = await center.http.post(f"/api/tasks/{task_id}/complete", headers=ANI,
                                              json={"answer": "Sudah kami kembalikan."})
            assert response.status == 200
            assert await ani.receive_json() == {"seq": 3, "type": "task_removed",
                                                "data": {"task_id": task_id, "change": "completed"}}
            # Budi works the general queue only: his desktop heard nothing of it.
            await nothing_more(budi)
            await nothing_more(ani)
            assert center.app[HUB].topic("agent:budi").seq == 0
            await ani.close()
            await budi.close()
        finally:
            await center.close()


async def test_a_wrap_ups_follow_up_reaches_its_queue_and_leaves_the_others_when_taken(
        db: Database, redis_url: str) -> None:
    center = await start_center(db, redis_url, f"cti-test-{uuid.uuid4().hex[:8]}", Clock())
    try:
        login(center, "budi")
        joko = await CustomerRepository(db).customer("10000001")
        assert joko is not None
        session, _ = await center.app[CHATS].start(ChatStart(name="", language="id", customer=joko, text="Halo"))
        chat_id = session.chat_id
        assert (await center.http.post(f"/api/chats/{chat_id}/accept", headers=BUDI)).status == 200
        assert (await center.http.post(f"/api/chats/{chat_id}/end", headers=BUDI)).status == 200
        await center.settle()
        ani = await center.http.ws_connect("/ws/desktop", headers=ANI)
        await frames_until(ani, "snapshot")
        budi = await center.http.ws_connect("/ws/desktop", headers=BUDI)
        await frames_until(budi, "snapshot")
        response = await center.http.post(f"/api/interactions/{chat_id}/wrapup", headers=BUDI, json={
            "disposition": "resolved", "notes": "router diganti",
            "follow_up": {"due": (T0 + timedelta(days=2)).date().isoformat(), "task": "Tanyakan routernya"}})
        assert response.status == 200
        # Both agents of the general queue are shown it (Budi set it; Ani works that queue).
        shown = [f for f in await frames_until(ani, "task") if f["type"] == "task"]
        [mine] = [f for f in await frames_until(budi, "task") if f["type"] == "task"]
        assert shown[0]["data"] == mine["data"]
        task = mine["data"]["task"]
        assert (mine["data"]["change"], task["kind"], task["source"], task["task"], task["queue"],
                task["agent_id"]) == ("created", "follow_up", "wrap_up", "Tanyakan routernya", "general", "budi")
        assert await tasks(center, ANI) == [task]
        # Budi takes it: it leaves Ani's list, and her desktop is told so.
        assert (await center.http.post(f"/api/tasks/{task['task_id']}/claim", headers=BUDI)).status == 200
        assert (await ani.receive_json())["data"] == {"task_id": task["task_id"], "change": "taken"}
        taken = [f for f in await frames_until(budi, "task") if f["type"] == "task"][-1]
        assert taken["data"]["task"]["claimed_by"] == "budi"
        assert (await center.http.post(f"/api/tasks/{task['task_id']}/complete", headers=BUDI)).status == 200
        removed = await frames_until(budi, "task_removed")
        assert removed[-1]["data"] == {"task_id": task["task_id"], "change": "completed"}
        await nothing_more(ani)
        await ani.close()
        await budi.close()
    finally:
        await center.close()
