"""Erasure and retention in the real stores: the CRM and interactions on SQLite and PostgreSQL (every column of
every table searched afterwards), the live calls in Redis, the prompt audio rendered by espeak-ng and sox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cti.acd import Decision, WorkItem
from cti.bootstrap._app import _erasure_notices
from cti.crm import CustomerFields, NewContact
from cti.live import LiveStore, encode_call
from cti.persistence import CustomerRepository, Database, DeadLetterRepository, InteractionRepository
from cti.records import InteractionRecord
from cti.services import Erasure, ErasureSubject, Retention
from cti.speech import PromptRenderer
from cti.tasks import stop_task
from tests.privacy import tables_holding
from tests.support import create_postgres_database, eventually, unavailable
from tests.unit.fakes import FakeCustomers

T = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
NAME, EMAIL, ADDRESS = "Ratna Kusumawati", "ratna.kusuma@example.org", "Jl. Melati 7 RT 03"
NATIONAL, E164 = "081355507788", "+6281355507788"
NOTES, ANSWER, TASK = "Moving to Jl. Melati 7", "Saturdays at the Melati house", "Ring Ratna about the router"
TOLD = "Saldo tagihan Anda tujuh ratus lima puluh ribu rupiah."
TRANSFER_NOTE = "Ratna is upset about the Melati invoice"
NEEDLES = (NAME, NATIONAL, E164, E164.lstrip("+"), EMAIL, ADDRESS, NOTES, ANSWER, TASK, TOLD, TRANSFER_NOTE)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/cti.db"
        return
    url, drop = asyncio.run(create_postgres_database())
    try:
        yield url
    finally:
        asyncio.run(drop())


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


def call(call_id: str, arrived: datetime = T, **changes: Any) -> InteractionRecord:
    values: dict[str, Any] = {
        "call_id": call_id, "channel_id": f"ch-{call_id}", "caller_number": NATIONAL, "caller_name": NAME,
        "service_number": "1500200", "queue": "care", "agent_id": "ana", "arrived_at": arrived,
        "answered_at": arrived + timedelta(seconds=12), "ended_at": arrived + timedelta(seconds=200),
        "wait_seconds": 12.0, "talk_seconds": 188.0, "offers": 1, "outcome": "answered",
        "end_reason": "caller_hangup",
        "routing": {"language": "id", "problem_type": "billing", "decisions": [
            {"kind": "transferred", "winner": "bob", "reason": f"transfer of {E164}", "note": TRANSFER_NOTE}]},
        "ivr": {"flow": "support", "outcome": "transferred", "reason": "requested", "language": "id",
                "attributes": {"customer_number": "10000001", "customer_id": "10000001"},
                "path": [{"node": "ask_customer", "event": "valid", "value": "10000001"},
                         {"node": "main", "event": "speech", "value": "saldo Ratna", "intent": "balance",
                          "confidence": 0.9}],
                "prompts": ["Selamat datang.", TOLD]},
    }
    values.update(changes)
    return InteractionRecord(**values)


async def ratna(db: Database) -> str:
    customers = CustomerRepository(db, clock=lambda: T)
    customer = await customers.create_customer(CustomerFields(name=NAME, phones=(NATIONAL,), email=EMAIL,
                                                              address=ADDRESS, city="Bogor"))
    return customer.customer_id


async def wrap(db: Database, call_id: str, customer_id: str) -> None:
    await InteractionRepository(db).save_wrap_up(
        call_id, at=T, disposition="resolved", notes=NOTES, script_answers={"availability": ANSWER},
        follow_up={"due": "2030-01-02", "task": TASK})
    await CustomerRepository(db).add_contact(NewContact(
        customer_id=customer_id, channel="call", at=T, disposition="resolved", notes=NOTES, call_id=call_id,
        script_answers={"availability": ANSWER}, follow_up_at=T + timedelta(days=2), follow_up_task=TASK))


async def test_forgetting_leaves_nothing_of_them_in_any_column_and_keeps_the_aggregates(
    db: Database, url: str
) -> None:
    customer_id = await ratna(db)
    interactions = InteractionRepository(db)
    # Linked to them three ways, and one they keyed their number in without being linked (a stranger's phone).
    await interactions.save(call("by-customer", caller_number="0215550001", customer_id=customer_id,
                                 ivr={**(call("x").ivr or {}), "attributes": {}, "path": []}))
    await interactions.save_wrap_up("by-customer", at=T, disposition="resolved", notes=NOTES,
                                    follow_up={"due": "2030-01-02", "task": TASK})
    await interactions.save(call("by-contact", caller_number="0215550002", caller_name=None))
    await wrap(db, "by-contact", customer_id)
    await interactions.save(call("by-number"))
    await interactions.save(call("keyed", caller_number="0215550003", caller_name=None))
    await interactions.save(call("stranger", caller_number="0215550009", caller_name="Budi", ivr=None, routing=None))
    assert set(await tables_holding(url, NEEDLES)) >= {
        "customers.name", "customers.email", "customers.address", "customer_phones.e164",
        "interactions.caller_number", "interactions.caller_name", "interactions.notes", "interactions.ivr",
        "interactions.routing", "interactions.script_answers", "interactions.follow_up", "contacts.notes",
        "contacts.script_answers", "contacts.follow_up_task"}

    forgotten = await CustomerRepository(db).forget(customer_id)

    assert forgotten.erased == {"customer": 1, "phones": 1, "contacts": 1, "cases": 0, "orders": 0,
                                "interactions": 4, "dead_letters": 0}
    assert forgotten.call_ids == ("by-contact", "by-customer", "by-number", "keyed")
    assert forgotten.prompts == ("Selamat datang.", TOLD)
    assert await tables_holding(url, NEEDLES) == {}
    kept = await interactions.get("by-contact")
    assert kept is not None and kept.redacted_at is not None
    assert (kept.queue, kept.agent_id, kept.outcome, kept.talk_seconds, kept.disposition, kept.customer_id) == (
        "care", "ana", "answered", 188.0, "resolved", None)
    assert kept.ivr == {"flow": "support", "outcome": "transferred", "reason": "requested", "language": "id",
                        "path": [{"node": "ask_customer", "event": "valid"},
                                 {"node": "main", "event": "speech", "intent": "balance", "confidence": 0.9}]}
    assert kept.routing == {"language": "id", "problem_type": "billing", "decisions": [
        {"kind": "transferred", "winner": "bob", "reason": "transfer of anonymous"}]}
    stranger = await interactions.get("stranger")
    assert stranger is not None and (stranger.caller_number, stranger.caller_name) == ("0215550009", "Budi")


async def test_what_arrives_after_the_erasure_does_not_bring_them_back(db: Database, url: str) -> None:
    customer_id = await ratna(db)
    interactions = InteractionRepository(db)
    await interactions.save(call("c1", customer_id=customer_id))
    await CustomerRepository(db).forget(customer_id)

    # The journal's last snapshot of the call, written late; the agent's wrap-up, saved late.
    await interactions.save(call("c1", customer_id=customer_id, outcome="answered", end_reason="agent_hangup"))
    await wrap(db, "c1", customer_id)

    assert await tables_holding(url, NEEDLES) == {}
    late = await interactions.get("c1")
    assert late is not None and (late.end_reason, late.disposition, late.notes) == ("agent_hangup", "resolved", None)
    assert (await CustomerRepository(db).forget(customer_id)).erased == {
        "customer": 0, "phones": 0, "contacts": 0, "cases": 0, "orders": 0, "interactions": 0, "dead_letters": 0}


async def test_retention_purges_old_interactions_and_contacts_with_the_clock_moved_on(db: Database, url: str) -> None:
    customer_id = await ratna(db)
    interactions, customers = InteractionRepository(db), CustomerRepository(db)
    for n in range(5):  # more than a batch: the purge goes on until none is left
        await interactions.save(call(f"old-{n}", T + timedelta(minutes=n), customer_id=customer_id))
    await wrap(db, "old-0", customer_id)
    later = T + timedelta(days=200)
    await interactions.save(call("recent", later, caller_number="0215550777", caller_name="Dewi", ivr=None,
                                 routing=None, notes="Dewi's note"))
    discarded: list[list[str]] = []

    async def discard(texts: Any) -> int:
        discarded.append(sorted(texts))
        return 0

    retention = Retention(interactions, customers, days=100, clock=lambda: later + timedelta(days=1),
                          discard_prompts=discard)
    retention_report = await retention.run()

    assert (retention_report.interactions, retention_report.contacts) == (5, 1)
    assert discarded == [sorted(["Selamat datang.", TOLD])]
    holding = await tables_holding(url, [*NEEDLES, "Dewi"])
    # What is left of them is the CRM record itself (a customer is kept until they are erased) and Dewi's call.
    assert holding == {"customers.name": [NAME], "customers.search_name": [NAME], "customers.email": [EMAIL],
                       "customers.address": [ADDRESS], "customer_phones.e164": sorted([E164, E164.lstrip("+")]),
                       "interactions.caller_name": ["Dewi"], "interactions.notes": ["Dewi"]}
    samples = await interactions.samples("care", T, later + timedelta(days=1))
    assert [(s.arrived_at, s.handle_seconds) for s in samples] == [
        *((T + timedelta(minutes=n), 188.0) for n in range(5)), (later, 188.0)]
    assert (await retention.run()).interactions == 0
    purged = await interactions.purge_personal(later + timedelta(days=1), batch=2)
    assert purged.interactions == 1  # Dewi's, in batches of two


# -- Redis -----------------------------------------------------------------------------------------------------------
@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[LiveStore]:
    store = LiveStore(redis_url, f"cti-test-{uuid.uuid4().hex[:8]}")
    if not await store.ping():
        unavailable(f"no Redis at {redis_url}")
    try:
        yield store
    finally:
        keys = [key async for key in store._redis.scan_iter(match=store.key("*"))]
        if keys:
            await store._redis.delete(*keys)
        await store.close()


def live_call(call_id: str, **changes: Any) -> WorkItem:
    values: dict[str, Any] = {"call_id": call_id, "channel_id": f"ch-{call_id}", "caller_number": NATIONAL,
                              "caller_name": NAME, "service_number": "1500200", "queue": "care", "arrived_at": T,
                              "decisions": [Decision(T, "queued", "care", "care", 0, "route matched")]}
    values.update(changes)
    return WorkItem(**values)


async def test_redis_forgets_their_calls_and_keeps_the_calls_going_on(live: LiveStore) -> None:
    await live.save(calls=[live_call("theirs-by-id", caller_number="0215550001"),
                           live_call("theirs-by-number"),
                           live_call("theirs-by-customer", caller_number="0215550002", customer_id="10000001"),
                           live_call("live-now", customer_id="10000001"),
                           live_call("someone-else", caller_number="0215550009", caller_name="Budi")])
    mentions = ['"10000001"', f'"{NATIONAL}"', f'"{E164}"']

    deleted = await live.forget(mentions, call_ids=["theirs-by-id"], keep=["live-now"])

    assert deleted == 3
    assert sorted(await live._redis.smembers(live.key("calls"))) == ["live-now", "someone-else"]
    assert await live._redis.get(live.key("call", "live-now")) == encode_call(live_call("live-now",
                                                                                        customer_id="10000001"))
    assert await live.forget(mentions, call_ids=["theirs-by-id"], keep=["live-now"]) == 0


async def subscribed(live: LiveStore) -> bool:
    return bool(await live._redis.pubsub_numsub(live.key("erasures")) != [(live.key("erasures"), 0)])


async def test_an_erasure_made_elsewhere_is_heard_by_the_running_servers(live: LiveStore) -> None:
    heard: list[tuple[str, tuple[str, ...]]] = []

    async def listen() -> None:
        async for notice in live.erasures():
            heard.append(notice)
            return

    listener = asyncio.create_task(listen())
    await eventually(lambda: subscribed(live), message="the server to listen")
    await live._redis.publish(live.key("erasures"), "not json")  # ignored, the subscription goes on
    assert await live.announce_erasure("10000001", ["c2", "c1"]) == 1
    await asyncio.wait_for(listener, 10)
    assert heard == [("10000001", ("c1", "c2"))]


async def test_a_subscription_stopped_at_any_moment_ends_and_lets_go_of_its_connection(live: LiveStore) -> None:
    """Shutdown stops the listener: redis-py swallows a cancel that lands while the subscription starts (about
    one in three here), which once kept a server's shutdown waiting forever; stop_task cancels again."""
    async def listen() -> None:
        async for _ in live.erasures():
            pass

    for attempt in range(60):
        listener = asyncio.create_task(listen())
        await asyncio.sleep((attempt % 6) * 0.001)
        assert await stop_task(listener, within=5.0, every=0.05), f"attempt {attempt}: still listening"
        assert listener.done()
    await eventually(lambda: not_subscribed(live), message="every subscription to be let go of")


async def not_subscribed(live: LiveStore) -> bool:
    return not await subscribed(live)


# -- prompt audio -----------------------------------------------------------------------------------------------------
@pytest.fixture
def renderer(tmp_path: Path) -> Iterator[PromptRenderer]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    prompts = PromptRenderer(tmp_path)
    try:
        yield prompts
    finally:
        prompts.close()


async def test_a_personal_prompt_is_rendered_for_one_caller_and_leaves_no_file(
    renderer: PromptRenderer, tmp_path: Path
) -> None:
    once = await renderer.render_once(TOLD, "id")
    assert once.uri.startswith("sound:cti/once/") and once.wav.parent == tmp_path / "id" / "cti" / "once"
    assert once.wav.stat().st_size > 1000 and once.sln16.stat().st_size > 1000
    assert renderer.cached(TOLD, "id") is None  # never found again by its words
    other = await renderer.render_once(TOLD, "id")
    assert other.uri != once.uri  # two callers with the same balance share nothing

    assert renderer.release(once.uri) == 2
    assert not once.wav.exists() and not once.sln16.exists() and other.wav.exists()
    assert renderer.release(once.uri) == 0 and renderer.release("sound:cti/../../etc") == 0
    # What a process that died mid-call left: swept at the next start (once old enough, when asked so).
    assert renderer.sweep(older_than=3600) == 0
    os.utime(other.wav, (time.time() - 7200, time.time() - 7200))
    assert renderer.sweep(older_than=3600) == 1 and renderer.sweep() == 1
    assert list((tmp_path / "id" / "cti" / "once").iterdir()) == []


async def test_the_cached_audio_of_what_a_caller_was_told_is_discarded_by_its_words(
    renderer: PromptRenderer, tmp_path: Path
) -> None:
    told, shared = await renderer.render(TOLD, "id"), await renderer.render("Selamat datang.", "id")
    assert renderer.discard([f"  {TOLD} ", "never rendered", ""]) == 2
    assert not told.wav.exists() and not told.sln16.exists() and shared.wav.exists()


async def test_the_server_drops_its_copies_of_a_customer_erased_elsewhere(live: LiveStore) -> None:
    forgotten: list[ErasureSubject] = []

    async def screen_pops(subject: ErasureSubject) -> int:
        forgotten.append(subject)
        return 1

    async def nobody() -> list[Any]:
        return []

    erasure = Erasure(FakeCustomers(), live=nobody, holders={"screen_pops": screen_pops})  # only its copies
    server = asyncio.create_task(_erasure_notices(live, erasure, retry=0.05))
    try:
        await eventually(lambda: subscribed(live), message="the server to listen")
        await live.announce_erasure("10000001", ["c1"])
        await eventually(lambda: forgotten, message="the server to hear it")
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
    assert forgotten == [ErasureSubject("10000001", call_ids=frozenset({"c1"}))]


async def test_refused_copies_of_their_calls_go_with_the_customer_and_with_retention(db: Database) -> None:
    customers, letters = CustomerRepository(db), DeadLetterRepository(db)
    customer = await customers.create_customer(CustomerFields(name=NAME, phones=(NATIONAL,)))
    await InteractionRepository(db).save(call("c1", customer_id=customer.customer_id))
    # The journal set aside two copies of their calls' rows (one not even linked to them but by their number),
    # and one of somebody else's.
    mine = await letters.add("interaction", "c1", {"call_id": "c1", "customer_id": customer.customer_id,
                                                    "caller_name": NAME}, "too long")
    by_number = await letters.add("interaction", "c7", {"call_id": "c7", "caller_number": E164}, "too long")
    other = await letters.add("interaction", "c8", {"call_id": "c8", "caller_number": "+6221555"}, "too long")
    report = await customers.forget(customer.customer_id)
    assert report.erased["dead_letters"] == 2
    assert [await letters.get(i) is None for i in (mine, by_number, other)] == [True, True, False]
    assert await tables_holding(db.url, [NAME]) == {}
    # Retention: a refused copy older than the period goes with the personal fields of its time.
    await InteractionRepository(db).purge_personal(datetime.now(UTC) + timedelta(days=1))
    assert await letters.get(other) is None
