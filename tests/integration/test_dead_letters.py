"""The journal against real databases (SQLite files and PostgreSQL, as tests/integration/test_persistence.py) and the
real Redis: a record the database refuses is set aside as a dead letter with its payload, error and time, the
records after it are saved, an outage is still waited out without losing anything, and dead letters replay.

The refused records bypass the cleaning at the telephony's door on purpose (it would bound the name): a caller
name over the column's 128 characters, a call without a queue (NOT NULL, refused by the database itself, not by
our checks) and, on PostgreSQL, a NUL in a name (its text type has none; SQLite stores it); an agent's state
with a reason over its 64 characters.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cti.acd import Agent, AgentChanged, AgentState, ContactCenter, WorkItem, WorkState
from cti.live import LiveStore
from cti.persistence import AgentRepository, Database, DeadLetterRepository, InteractionRepository, StorageRejected
from cti.services import CenterView, DeadLetterService, Journal, dead_letter_of, interaction_record
from tests.support import POSTGRES_SERVER, create_postgres_database, eventually

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOT_NULL = {
    "sqlite": "StorageRejected: cannot save interaction 'c3': IntegrityError: NOT NULL constraint failed: "
              "interactions.queue",
    "postgresql": "StorageRejected: cannot save interaction 'c3': NotNullViolationError: null value in column "
                  '"queue" of relation "interactions" violates not-null constraint',
}
@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/cti.db"
        return
    url, drop = await create_postgres_database()  # fails, never skips, when CI is set
    try:
        yield url
    finally:
        await drop()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    # A short busy timeout on SQLite: locked, it is an outage the journal must wait out, and should see quickly.
    database = Database(db_url, connect_timeout=0.2 if db_url.startswith("sqlite") else 10.0)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[LiveStore]:
    store = LiveStore(redis_url, f"cti-test-{uuid.uuid4().hex[:8]}")
    try:
        yield store
    finally:
        await store.resync((), ())
        await store.close()


@pytest.fixture
async def journal(db: Database, live: LiveStore) -> AsyncIterator[Journal]:
    journal = Journal(live, InteractionRepository(db), AgentRepository(db), CenterView(ContactCenter(), lambda: T0),
                      dead_letters=DeadLetterRepository(db), retry_max=0.05)
    journal.start()
    try:
        yield journal
    finally:
        await journal.close()


def ended_call(call_id: str, **changes: Any) -> WorkItem:
    call = WorkItem(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550123",
                    caller_name="Budi", service_number="1500100", queue="general", arrived_at=T0,
                    state=WorkState.ENDED, ended_at=T0 + timedelta(minutes=1))
    for name, value in changes.items():
        setattr(call, name, value)
    return call


def agent(reason: str | None, minute: int) -> Agent:
    state = AgentState.READY if reason is None else AgentState.NOT_READY
    return Agent("ana", "Ana", extension="7001", state=state, reason=reason, state_since=T0 + timedelta(minutes=minute))


async def test_refused_records_are_set_aside_and_the_records_after_them_are_saved(
        db: Database, journal: Journal) -> None:
    backend = db.backend
    calls = [
        ended_call("c1"),
        ended_call("c2", caller_name="N" * 300),  # our check: longer than the column
        ended_call("c3", queue=None),  # the database's own NOT NULL
        ended_call("c4", caller_name="Dewi\x00Lestari"),  # PostgreSQL's text has no NUL
        ended_call("c5"),
    ]
    for call in calls:
        journal.record(call)
    journal.agent_changed(AgentChanged(agent("R" * 100, 1)), None)  # type: ignore[arg-type]
    await journal.flush(timeout=30)
    journal.agent_changed(AgentChanged(agent(None, 2)), None)  # type: ignore[arg-type]
    journal.record(ended_call("c6"))  # a later batch flows as well
    await journal.flush(timeout=30)

    nul_refused = backend == "postgresql"
    saved = {r.call_id: r for r in await InteractionRepository(db).list(limit=50)}
    assert sorted(saved) == (["c1", "c5", "c6"] if nul_refused else ["c1", "c4", "c5", "c6"])
    assert saved["c1"] == interaction_record(calls[0])
    assert [(s.state, s.at) for s in await AgentRepository(db).history("ana")] == [
        ("ready", T0 + timedelta(minutes=2))]
    assert journal.db_failures == 0

    expected = [
        # A batch writes the agents' history first, then its calls.
        ("agent_state", "ana", {"agent_id": "ana", "state": "not_ready", "reason": "R" * 100, "extension": "7001",
                                "at": (T0 + timedelta(minutes=1)).isoformat()},
         "StorageRejected: agent_state_history.reason is longer than 64 characters (100)"),
        ("interaction", "c2", dead_letter_of(interaction_record(calls[1]))[2],
         "StorageRejected: interactions.caller_name is longer than 128 characters (300)"),
        ("interaction", "c3", dead_letter_of(interaction_record(calls[2]))[2], NOT_NULL[backend]),
    ]
    if nul_refused:
        expected.append(("interaction", "c4", dead_letter_of(interaction_record(calls[3]))[2],
                         "StorageRejected: cannot save interaction 'c4': Error: invalid byte sequence for "
                         'encoding "UTF8": 0x00'))
    letters = await DeadLetterRepository(db).list()
    assert [(letter.kind, letter.key, letter.payload, letter.error) for letter in letters] == expected
    assert letters[1].payload["caller_name"] == "N" * 300  # the record as it was refused
    now = datetime.now(UTC)
    assert all(now - timedelta(minutes=1) < letter.at <= now for letter in letters)
    assert journal.dead_letters == {"interaction": len(expected) - 1, "agent_state": 1}


async def test_an_outage_is_waited_out_and_nothing_is_lost_or_set_aside(
        db: Database, db_url: str, journal: Journal) -> None:
    async with _outage(db, db_url):
        journal.record(ended_call("c1"))
        journal.record(ended_call("c2"))
        await eventually(lambda: journal.db_failures >= 2, message="the journal to retry")
        assert journal.backlog == 0  # taken from the queue, held in the batch
    await journal.flush(timeout=30)
    assert sorted(r.call_id for r in await InteractionRepository(db).list()) == ["c1", "c2"]
    assert await DeadLetterRepository(db).list() == []
    assert journal.dead_letters == {"interaction": 0, "agent_state": 0}


async def test_dead_letters_replay_once_fixed_and_never_over_a_later_snapshot(db: Database) -> None:
    letters, interactions = DeadLetterRepository(db), InteractionRepository(db)
    service = DeadLetterService(letters, interactions, AgentRepository(db))
    connected = interaction_record(ended_call("c1", caller_name="N" * 300, state=WorkState.CONNECTED,
                                              ended_at=None))
    ended = interaction_record(ended_call("c1", caller_name="N" * 300))
    first = await letters.add(*dead_letter_of(connected), "refused")
    second = await letters.add(*dead_letter_of(ended), "refused")

    with pytest.raises(StorageRejected, match="longer than 128"):
        await service.replay(first)  # nothing fixed yet: it stays
    assert [letter.letter_id for letter in await letters.list()] == [first, second]
    for letter_id in (first, second):  # oldest first, each corrected: the later snapshot is the one kept
        payload = {**(await service.get(letter_id)).payload, "caller_name": "N" * 64}
        assert (await service.replay(letter_id, payload))[1] is True
    row = await interactions.get("c1")
    assert row is not None and (row.caller_name, row.ended_at) == ("N" * 64, ended.ended_at)
    assert await letters.list() == []

    stale = await letters.add(*dead_letter_of(connected), "refused")
    await asyncio.sleep(0.01)
    await interactions.save(replace(ended, caller_name="Budi"))  # a later snapshot of the call lands directly
    assert (await service.replay(stale, {**dead_letter_of(connected)[2], "caller_name": "Old"}))[1] is False
    row = await interactions.get("c1")
    assert row is not None and (row.caller_name, row.ended_at) == ("Budi", ended.ended_at)
    assert await letters.list() == []


class _outage:
    """The database refusing every connection (PostgreSQL) or locked by another writer (SQLite) for a while."""

    def __init__(self, db: Database, url: str) -> None:
        self.backend, self.url = db.backend, url
        self.name = url.rsplit("/", 1)[1]
        self.lock: sqlite3.Connection | None = None

    async def __aenter__(self) -> None:
        if self.backend == "sqlite":
            self.lock = sqlite3.connect(self.url.split("///", 1)[1], isolation_level=None)
            self.lock.execute("BEGIN EXCLUSIVE")
            return
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
                          f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'")

    async def __aexit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            return
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    async def _admin(self, *statements: str) -> None:
        conn = await asyncpg.connect(POSTGRES_SERVER.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()
