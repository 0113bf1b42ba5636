"""What the outbound report reads from SQL (SQLite here): the calls out of a period apart from the customers'
calls, and the callbacks whose last attempt ended them in the period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.acd import Attempt, CallbackStatus, ScheduledCallback
from cti.persistence import CallbackRepository, Database, InteractionRepository
from cti.records import InteractionRecord

START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


def _call(call_id: str, at: datetime, direction: str, queue: str = "sales") -> InteractionRecord:
    return InteractionRecord(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="+62215550123",
                             service_number="1500100", queue=queue, arrived_at=at, ended_at=at + timedelta(minutes=1),
                             outcome="answered", direction=direction)


async def test_the_calls_out_of_a_period_apart_from_the_customers(db: Database) -> None:
    interactions = InteractionRepository(db)
    for record in (_call("in", START + timedelta(minutes=5), "inbound"),
                   _call("out", START + timedelta(minutes=6), "outbound"),
                   _call("care", START + timedelta(minutes=7), "outbound", queue="care"),
                   _call("before", START - timedelta(hours=2), "outbound"),
                   _call("after", END, "outbound")):
        await interactions.save(record)
    assert [r.call_id for r in await interactions.outbound_between(START, END)] == ["out", "care"]
    assert [r.call_id for r in await interactions.outbound_between(START, END, queues=["sales"])] == ["out"]
    assert [r.call_id for r in await interactions.between(START, END)] == ["in"]


def _callback(callback_id: str, status: CallbackStatus, last: datetime, *, due: datetime = START,
              queue: str = "sales") -> ScheduledCallback:
    return ScheduledCallback(callback_id=callback_id, customer_id="1", queue=queue, due_at=due, reason="r",
                             agent_id=None, status=status, attempts=(Attempt(last, "answered"),),
                             created_by="sri", created_at=due)


async def test_the_callbacks_ended_in_a_period(db: Database) -> None:
    store = CallbackRepository(db)
    inside = START + timedelta(minutes=30)
    for callback in (_callback("done", CallbackStatus.COMPLETED, inside),
                     _callback("lost", CallbackStatus.FAILED, inside, due=START - timedelta(days=3)),
                     _callback("care", CallbackStatus.COMPLETED, inside, queue="care"),
                     _callback("open", CallbackStatus.SCHEDULED, inside),
                     _callback("later", CallbackStatus.COMPLETED, END + timedelta(minutes=1)),
                     _callback("earlier", CallbackStatus.FAILED, START - timedelta(minutes=1),
                               due=START - timedelta(hours=1))):
        await store.save(callback)
    found = await store.finished_between(START, END)
    assert sorted(c.callback_id for c in found) == ["care", "done", "lost"]
    assert [c.callback_id for c in await store.finished_between(START, END, queues=["care"])] == ["care"]
