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
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cti-edge-sheds")

    async def close(self) -> None:
        await stop_task(self._task)
        await self.source.close()

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                notes = await self.source.read(count=BATCH, block_ms=1000)
                if notes:
                    for note in notes:
                        self._record(self.row(note))
                    await self._written()
                    await self.source.done([note.entry_id for note in notes])
                if failing:
                    log.info("the edge's shed callers are read again")
                failing = False
            except Unavailable as exc:
                if not failing:  # one line an outage, not one a retry
                    log.warning("the callers shed at the edge cannot be read now (retrying every second): %s", exc)
                failing = True
                await asyncio.sleep(1.0)

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
