"""The callers Kamailio shed at the edge, through a real Redis: notes added as Kamailio adds them (``XADD`` with
the same fields), read by cti's consumer group, recorded as rejected calls, let go only once written; a reader
that stopped before letting go (a controller killed, a standby taking over) is handed the same notes again."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from cti.acd import EndReason, Outcome, WorkItem, WorkState
from cti.live import EdgeShedStream
from cti.services import EdgeShedNote
from cti.telephony import EdgeShedRecorder
from tests.support import eventually

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
async def stream(redis_url: str) -> AsyncIterator[str]:
    name = f"cti-test-edge-{uuid.uuid4().hex[:8]}"
    yield name
    client = aioredis.from_url(redis_url)
    await client.delete(name)
    await client.aclose()


async def kamailio_adds(redis_url: str, stream: str, *notes: tuple[str, str, str, str]) -> list[str]:
    """As the cluster's kamailio.cfg does: ``XADD <stream> MAXLEN ~ 100000 * told T at $TV(Sn) caller %s ...``."""
    client = aioredis.from_url(redis_url)
    try:
        return [(await client.xadd(stream, {"told": told, "at": at, "caller": caller, "called": called,
                                            "callid": uuid.uuid4().hex}, maxlen=100_000, approximate=True)).decode()
                for told, at, caller, called in notes]
    finally:
        await client.aclose()


async def test_notes_are_read_in_order_and_handed_out_again_until_let_go(redis_url: str, stream: str) -> None:
    ids = await kamailio_adds(redis_url, stream, ("1", "1796630400.250000", "0812345678", "1500100"),
                              ("0", "garbage", "x" * 1000, "1500100"))
    first = EdgeShedStream(redis_url, stream)
    try:
        notes = await first.read(count=10, block_ms=100)
    finally:
        await first.close()
    assert notes == [
        EdgeShedNote(ids[0], datetime(2026, 12, 7, 8, 0, 0, 250000, tzinfo=UTC), "0812345678", "1500100", True),
        EdgeShedNote(ids[1], None, "x" * 256, "1500100", False)]  # an unreadable time; a field cut to 256
    # Never let go: the next reader (a new controller) gets them again, then nothing more.
    second = EdgeShedStream(redis_url, stream)
    try:
        assert [n.entry_id for n in await second.read(count=10, block_ms=100)] == ids
        await second.done(ids)
        assert await second.read(count=10, block_ms=100) == []
    finally:
        await second.close()
    third = EdgeShedStream(redis_url, stream)
    try:
        assert await third.read(count=10, block_ms=100) == []
    finally:
        await third.close()
    client = aioredis.from_url(redis_url)
    assert await client.xlen(stream) == 0  # deleted once recorded
    await client.aclose()


async def test_the_recorder_writes_each_shed_caller_as_rejected_before_letting_its_note_go(
        redis_url: str, stream: str) -> None:
    await kamailio_adds(redis_url, stream, ("1", "1796630400.0", "+62 812-345-678", "1500100"),
                        ("0", "1796630401.0", "0215550177", "1500200"))
    recorded: list[WorkItem] = []
    written = asyncio.Event()

    async def flushed() -> None:
        written.set()

    counters: Counter[str] = Counter()
    recorder = EdgeShedRecorder(EdgeShedStream(redis_url, stream), recorded.append, flushed, counters, lambda: NOW)
    recorder.start()
    try:
        await eventually(lambda: len(recorded) == 2 and written.is_set(), timeout=10, message="both recorded")
    finally:
        await recorder.close()
    assert [(r.caller_number, r.service_number, r.state, r.outcome, r.end_reason, r.arrived_at, r.ended_at,
             r.agent_id) for r in recorded] == [
        ("+62812345678", "1500100", WorkState.ENDED, Outcome.REJECTED, EndReason.OVERLOAD,
         datetime(2026, 12, 7, 8, 0, tzinfo=UTC), datetime(2026, 12, 7, 8, 0, tzinfo=UTC), None),
        ("0215550177", "1500200", WorkState.ENDED, Outcome.REJECTED, EndReason.OVERLOAD,
         datetime(2026, 12, 7, 8, 0, 1, tzinfo=UTC), datetime(2026, 12, 7, 8, 0, 1, tzinfo=UTC), None)]
    assert counters == Counter({"calls_shed_at_edge": 2, "calls_shed_at_edge_with_message": 1})
    # Let go: a new reader finds nothing; the rows' ids are the notes' own (a note read twice is one row).
    reader = EdgeShedStream(redis_url, stream)
    try:
        assert await reader.read(count=10, block_ms=100) == []
    finally:
        await reader.close()
    again = EdgeShedRecorder(EdgeShedStream(redis_url, stream), recorded.append, flushed, Counter(), lambda: NOW)
    assert again.row(EdgeShedNote("1-0", None, "", "", False)).call_id == again.row(
        EdgeShedNote("1-0", None, "", "", False)).call_id
    await again.source.close()


async def test_a_journal_that_never_empties_does_not_stop_the_recorder_and_its_notes_are_let_go_once_it_does(
        redis_url: str, stream: str) -> None:
    """Under an overload the journal keeps rows queued past any wait: the recorder still records every shed
    caller as it comes (it once stopped at the first wait that timed out, and thousands went unrecorded), and lets
    the notes go only once the rows are written."""
    await kamailio_adds(redis_url, stream, *[("0", "1796630400.0", f"08123{n:05}", "1500100") for n in range(2)])
    recorded: list[WorkItem] = []
    busy = True

    async def written() -> None:
        if busy:
            raise TimeoutError  # as Journal.flush does when its queue does not empty in time

    recorder = EdgeShedRecorder(EdgeShedStream(redis_url, stream), recorded.append, written, Counter(),
                                lambda: NOW)
    client = aioredis.from_url(redis_url)
    recorder.start()
    try:
        await eventually(lambda: len(recorded) == 2, timeout=10, message="the first two recorded")
        # More than a batch while the journal is still busy: every one recorded, none let go.
        await kamailio_adds(redis_url, stream, *[("0", "1796630401.0", f"08124{n:05}", "1500100")
                                                 for n in range(600)])
        await eventually(lambda: len(recorded) == 602, timeout=20, message="602 recorded")
        assert await client.xlen(stream) == 602
        busy = False  # the journal has written them
        await eventually(lambda: _empty(client, stream), timeout=15, message="every note let go")
    finally:
        await recorder.close()
        await client.aclose()
    assert len({r.call_id for r in recorded}) == 602


async def _empty(client: aioredis.Redis, stream: str) -> bool:
    return await client.xlen(stream) == 0
