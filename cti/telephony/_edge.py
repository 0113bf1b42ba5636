"""The callers Kamailio shed at the edge, recorded as cti records the callers its own admission control sheds
(outcome ``rejected``, end reason ``overload``) and counted in ``/metrics`` (docs/scaling.md#overload-at-the-edge).

Such a caller never reached a node's Stasis, so cti learns of them only from Kamailio's notes in Redis
(:class:`cti.services.EdgeShedSource`). A note is let go only once its row is written; the row's id comes from the
note's, so a note read twice (a controller killed between the write and the acknowledgement) is one row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from cti.acd import EndReason, Outcome, Routing, WorkItem, WorkState
from cti.errors import Unavailable
from cti.geography import locate
from cti.services import EdgeShedNote, EdgeShedSource
from cti.tasks import stop_task
from cti.telephony._callerid import clean_caller_number
from cti.types import Clock

__all__ = ["EdgeShedRecorder"]

log = logging.getLogger("cti.telephony")

BATCH = 500
"""Notes read at once: an overload sheds callers by the hundred a second."""
_IDS = uuid.UUID("0b6f3a56-6c1e-4d1f-9a39-2f7f3a0d2c11")
"""The namespace of the rows' ids made from the notes' (uuid5)."""


class EdgeShedRecorder:
    def __init__(self, source: EdgeShedSource, record: Callable[[WorkItem], None],
                 written: Callable[[], Awaitable[None]], counters: Counter[str], clock: Clock) -> None:
        """``record`` queues an ended call's row (the journal's); ``written`` waits until what is queued is in
        the database."""
        self.source = source
        self._record = record
        self._written = written
        self.counters = counters
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        # Notes recorded (their rows queued in the journal) and not let go yet; letting go waits for the journal,
        # reading does not: under an overload the journal is seldom empty, and a reader waiting for it recorded
        # 500 callers a wait while Kamailio shed more than that.
        self._unlet: list[str] = []
        self._recorded = asyncio.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name="cti-edge-sheds"),
                       loop.create_task(self._let_go(), name="cti-edge-sheds-let-go")]

    async def close(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        await self.source.close()

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                notes = await self.source.read(count=BATCH, block_ms=1000)
                for note in notes:
                    self._record(self.row(note))
                if notes:
                    self._unlet += [note.entry_id for note in notes]
                    self._recorded.set()
                if failing:
                    log.info("the edge's shed callers are read again")
                failing = False
            except Unavailable as exc:
                if not failing:  # one line an outage, not one a retry
                    log.warning("the callers shed at the edge cannot be read now (retrying every second): %s", exc)
                failing = True
                await asyncio.sleep(1.0)

    async def _let_go(self) -> None:
        """Notes are let go once their rows are written (a note read again, by a controller taking over, is the
        same row: :meth:`row`'s id is the note's)."""
        while True:
            await self._recorded.wait()
            self._recorded.clear()
            recorded = list(self._unlet)
            try:
                await self._written()
                await self.source.done(recorded)
            except (TimeoutError, Unavailable) as exc:
                # Rows still queued (a journal busy with an overload's) or Redis away: let go at the next try.
                log.info("%d notes of shed callers not let go yet: %r", len(recorded), exc)
                self._recorded.set()
                await asyncio.sleep(1.0)
                continue
            del self._unlet[:len(recorded)]

    def row(self, note: EdgeShedNote) -> WorkItem:
        """The rejected call a note stands for."""
        self.counters["calls_shed_at_edge"] += 1
        if note.told:
            self.counters["calls_shed_at_edge_with_message"] += 1
        at = note.at or self.clock()
        caller = clean_caller_number(note.caller)
        where = locate(caller)
        return WorkItem(
            call_id=uuid.uuid5(_IDS, note.entry_id).hex, channel_id="", caller_number=caller,
            service_number=clean_caller_number(note.called), queue="", arrived_at=at, ended_at=at,
            state=WorkState.ENDED, outcome=Outcome.REJECTED, end_reason=EndReason.OVERLOAD,
            routing=Routing(region=where.region, country=where.country))
