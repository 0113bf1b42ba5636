"""Where chats are kept: their sessions and messages in Redis while they live (ChatStreams), their transcripts in
SQL once they ended (ChatTranscriptRepository, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from cti.chat import ChatSession, Link, NewMessage, Sender, message_order
from cti.live import ChatStreams
from cti.persistence import ChatTranscriptRepository, Database, InteractionRepository
from cti.records import InteractionRecord
from tests.support import migrated_database

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture
async def streams(redis_url: str) -> AsyncIterator[ChatStreams]:
    store = ChatStreams(redis_url, f"cti-test-{uuid.uuid4().hex[:8]}")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def test_messages_are_kept_in_order_and_read_after_the_last_seen(streams: ChatStreams) -> None:
    session = ChatSession("k-1", "Siti", "id", T0, customer_id="10000001", secret_hash="ab", topic="billing")
    await streams.save_session(session)
    said = [await streams.append("k-1", NewMessage(Sender.CUSTOMER, f"pesan {n}", T0 + timedelta(seconds=n),
                                                   author_name="Siti")) for n in range(3)]
    agent = await streams.append("k-1", NewMessage(Sender.AGENT, "Lihat ini", T0, author="1001", author_name="Budi",
                                                   links=(Link("https://x.id/a", "A"),)))
    assert [m.text for m in await streams.after("k-1")] == ["pesan 0", "pesan 1", "pesan 2", "Lihat ini"]
    assert await streams.after("k-1", said[1].message_id) == [said[2], agent]
    assert await streams.after("k-1", agent.message_id) == []
    assert await streams.sessions() == [session]
    await streams.drop("k-1")
    assert (await streams.sessions(), await streams.after("k-1")) == ([], [])


async def test_a_transcript_is_stored_whole_and_saving_it_again_changes_nothing(db: Database,
                                                                                streams: ChatStreams) -> None:
    for n, sender in enumerate((Sender.SYSTEM, Sender.CUSTOMER, Sender.AGENT)):
        await streams.append("k-2", NewMessage(sender, f"m{n}", T0 + timedelta(seconds=n), author="1001"
                                               if sender is Sender.AGENT else "", author_name="x", code="c" * n,
                                               params={"n": str(n)}, links=(Link("https://x.id"),) * n))
    messages = await streams.after("k-2")
    store = ChatTranscriptRepository(db)
    await store.save("k-2", messages)
    await store.save("k-2", messages)
    assert await store.transcript("k-2") == messages
    assert await store.transcript("nothing") == []


async def test_retention_removes_what_was_said_and_keeps_who_said_it_when(db: Database, streams: ChatStreams) -> None:
    await InteractionRepository(db).save(InteractionRecord(
        call_id="k-3", channel_id="k-3-c", caller_number="", caller_name="Siti", service_number="chat",
        queue="general", arrived_at=T0, ended_at=T0, outcome="answered", channel="chat"))
    await streams.append("k-3", NewMessage(Sender.CUSTOMER, "alamat saya Jl. Mawar 5", T0, author_name="Siti"))
    await streams.append("k-3", NewMessage(Sender.AGENT, "lihat ini", T0, author="1001", author_name="Budi",
                                           links=(Link("https://x.id/a"),)))
    store = ChatTranscriptRepository(db)
    await store.save("k-3", await streams.after("k-3"))
    purged = await InteractionRepository(db).purge_personal(T0 + timedelta(days=1))
    assert purged.interactions == 1
    assert [(m.sender, m.author, m.author_name, m.text, m.links) for m in await store.transcript("k-3")] == [
        (Sender.CUSTOMER, "", "", "", ()), (Sender.AGENT, "1001", "Budi", "", ())]


async def test_a_burst_of_messages_in_many_chats_at_once_is_kept_whole(streams: ChatStreams) -> None:
    # 1,000 chats each saying something at the same moment (bench/chat.py's load): more than the client keeps
    # connections (they were refused, 503 to their senders) and more than one pipeline takes (two go, in order).
    said = await asyncio.gather(*(streams.append(f"b-{n}", NewMessage(Sender.CUSTOMER, f"pesan {n}", T0))
                                  for n in range(1000)))
    assert len(said) == 1000
    assert [m.text for n in range(1000) for m in await streams.after(f"b-{n}")] == [f"pesan {n}" for n in range(1000)]
    assert [m.message_id for m in said] == sorted((m.message_id for m in said), key=message_order)
    for n in range(1000):
        await streams.drop(f"b-{n}")


async def test_a_request_waits_for_a_connection_through_a_stall_longer_than_the_socket_timeout(
        streams: ChatStreams) -> None:
    # Every connection busy for longer than the 2 s socket timeout, as when the event loop stalls on a busy
    # machine: a read waits for one instead of failing with "No connection available" (a socket closed, a chat
    # start refused, in bench/chat.py).
    await streams.append("s-1", NewMessage(Sender.CUSTOMER, "halo", T0))
    pool = streams._redis.connection_pool
    held = [await pool.get_connection() for _ in range(50)]
    read = asyncio.create_task(streams.after("s-1"))
    await asyncio.sleep(2.5)
    assert not read.done()
    await pool.release(held.pop())
    assert [m.text for m in await read] == ["halo"]
    for connection in held:
        await pool.release(connection)
    await streams.drop("s-1")

async def test_messages_said_together_go_in_one_batch_and_one_refused_by_redis_fails_alone(redis_url: str) -> None:
    # Appends gathered while a batch is under way go to Redis together (one pipeline, no transaction): a message
    # Redis refuses (here: the chat's key is not a stream) is refused to its sender alone, the others are kept.
    prefix = f"cti-test-{uuid.uuid4().hex[:8]}"
    streams = ChatStreams(redis_url, prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await raw.set(f"{prefix}:chat:w-2:messages", "not a stream")
        said = await asyncio.gather(*(streams.append(f"w-{n}", NewMessage(Sender.CUSTOMER, f"pesan {n}", T0))
                                      for n in range(4)), return_exceptions=True)
        assert [type(r).__name__ for r in said] == ["ChatMessage", "ChatMessage", "LiveStoreError", "ChatMessage"]
        assert "WRONGTYPE" in str(said[2])
        assert [[m.text for m in await streams.after(f"w-{n}")] for n in (0, 1, 3)] == [
            ["pesan 0"], ["pesan 1"], ["pesan 3"]]
        assert await raw.get(f"{prefix}:chat:w-2:messages") == "not a stream"
        # and the next message of that chat, once its key is a stream again, is kept after the others
        await raw.delete(f"{prefix}:chat:w-2:messages")
        again = await streams.append("w-2", NewMessage(Sender.CUSTOMER, "lagi", T0))
        assert await streams.after("w-2") == [again]
    finally:
        await raw.delete(*[f"{prefix}:chat:w-{n}:messages" for n in range(4)])
        await raw.aclose()
        await streams.close()
