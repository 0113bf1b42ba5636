"""The journal: every live change written to Redis and the database, in the order the core made it.

The core emits snapshots synchronously; the journal queues them in that order and one task writes them, so a
call's ``ended`` row can never be overwritten by an older ``ringing`` snapshot. A database outage loses no
row: the rest of the batch is retried with backoff until it lands. A record the database refuses (a value too
long for its column, a constraint: an ``InvalidInput``, or anything but the database being away) would be
refused forever, and retrying it would hold back every record behind it: it is set aside as a dead letter
(:mod:`._dead_letters`, counted in :attr:`Journal.dead_letters`) and the records after it are written. Each
batch is written in two transactions (the agents' state changes, the calls); when the database refuses one of
them, its records are written again one by one, so a refusal sets aside that record and no other. Redis may not
stop calls either: a failed write marks it dirty and the journal writes the whole live picture again once it
answers.

It also keeps when Asterisk was last known to be in sight (``last_sight``): a controller that starts after
another one died ends the calls that vanished meanwhile at that moment, not at its own start.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime

from cti.acd import Agent, AgentChanged, WorkChanged, WorkItem
from cti.errors import Conflict, CtiError, Fenced, Forbidden, InvalidInput, NotFound, Unavailable
from cti.records import AgentStateRecord, InteractionRecord
from cti.services._dead_letters import dead_letter_of
from cti.services._distributor import Distributor
from cti.services._ports import AgentRegistry, DeadLetters, Interactions, LiveState
from cti.services._query import CenterView
from cti.tasks import stop_task

__all__ = ["Journal", "interaction_record"]

log = logging.getLogger("cti.services.journal")


def interaction_record(call: WorkItem) -> InteractionRecord:
    return InteractionRecord(
        call_id=call.call_id,
        channel_id=call.channel_id,
        caller_number=call.caller_number,
        caller_name=call.caller_name,
        service_number=call.service_number,
        queue=call.queue,
        agent_id=call.agent_id,
        agent_extension=call.agent_extension,
        arrived_at=call.arrived_at,
        offered_at=call.offered_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wait_seconds=call.wait_seconds,
        talk_seconds=call.talk_seconds,
        offers=call.offers,
        hold_count=call.hold_count,
        hold_seconds=round(call.hold_seconds(), 3),
        legs=[leg.as_json() for leg in call.legs] or None,
        outcome=None if call.outcome is None else call.outcome.value,
        end_reason=None if call.end_reason is None else call.end_reason.value,
        routing={**asdict(call.routing), "decisions": [d.as_json() for d in call.decisions]},
        customer_id=call.customer_id,
        ivr=call.ivr,
        direction=call.direction.value,
        channel=call.channel.value,
    )


@dataclass(slots=True)
class _Batch:
    agents: dict[str, Agent]
    calls: dict[str, WorkItem]
    history: list[AgentStateRecord]


class Journal:
    def __init__(self, live: LiveState, interactions: Interactions, agents: AgentRegistry, query: CenterView, *,
                 dead_letters: DeadLetters, retry_max: float = 5.0) -> None:
        self.live = live
        self._interactions = interactions
        self._agents = agents
        self._letters = dead_letters
        self._query = query
        self._queue: asyncio.Queue[Agent | WorkItem] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._retry_max = retry_max
        self._last_state: dict[str, tuple[str, str | None, str | None]] = {}
        self.db_failures = 0
        self.dead_letters: Counter[str] = Counter({"interaction": 0, "agent_state": 0})
        """Records set aside since start, by kind (``/metrics``: ``cti_dead_letters_total``)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self.last_sight: datetime | None = None
        self._sight: datetime | None = None
        self._sight_written: datetime | None = None
        self.fenced = False
        """A write of the live picture was refused: another controller leads now (``cti serve --standby``)."""

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def load(self) -> tuple[list[Agent], list[WorkItem]]:
        """What the previous controller left in Redis (nothing if Redis is away: then it is rewritten later)."""
        try:
            agents, calls = await self.live.load()
            self.last_sight = await self.live.load_sight()
        except Unavailable as exc:
            log.error("starting without Redis state: %s", exc)
            self.live.dirty = True
            return [], []
        return agents, calls

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name="cti-journal"),
                       asyncio.create_task(self._guard(), name="cti-redis-guard")]

    async def close(self, timeout: float = 10.0) -> None:
        try:
            await self.flush(timeout)
        except TimeoutError:
            log.error("shutting down with %d state changes not written (database unavailable)", self.backlog)
        for task in self._tasks:
            await stop_task(task)

    # -- the handler table's entries ------------------------------------------------------------------------------
    def agent_changed(self, changed: AgentChanged, distributor: Distributor) -> None:
        self._put(changed.agent)

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        self._put(changed.item)

    def record(self, call: WorkItem) -> None:
        """An item that ended without the distributor (shed by admission control, served by the IVR alone)."""
        self._put(call)

    def note_sight(self, at: datetime) -> None:
        """Asterisk's picture was known to be current at ``at`` (written to Redis about once a second)."""
        self._sight = at

    async def rewrite(self) -> None:
        """The whole live picture again (after a resync, or once Redis is back)."""
        await self.live.resync(self._query.agent_map().values(), (c for c in self._query.calls()))

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is written (tests and shutdown use it)."""
        if not self._tasks or self._tasks[0].done():
            return
        await asyncio.wait_for(self._idle.wait(), timeout)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    # -- writing ----------------------------------------------------------------------------------------------------
    def _put(self, item: Agent | WorkItem) -> None:
        self._idle.clear()
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            batch = self._collect(await self._queue.get())
            delay = 0.2
            while True:
                try:
                    await self._write(batch)
                    break
                except Unavailable as exc:
                    self.db_failures += 1
                    log.error("database write failed, retrying in %.1f s: %s", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry_max)
            if self._queue.empty():
                self._idle.set()

    def _collect(self, first: Agent | WorkItem) -> _Batch:
        # Coalesce everything queued right now: one Redis round trip, one snapshot per entity.
        batch = _Batch({}, {}, [])
        item: Agent | WorkItem | None = first
        while item is not None:
            if isinstance(item, Agent):
                batch.agents[item.agent_id] = item
                marker = (item.state.value, item.reason, item.extension)
                if self._last_state.get(item.agent_id) != marker and item.state_since is not None:
                    self._last_state[item.agent_id] = marker
                    batch.history.append(AgentStateRecord(
                        agent_id=item.agent_id, state=item.state.value, reason=item.reason,
                        extension=item.extension, at=item.state_since,
                    ))
            else:
                batch.calls[item.call_id] = item
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                item = None
        return batch

    async def _write(self, batch: _Batch) -> None:
        try:
            await self.live.save(batch.agents.values(), batch.calls.values())
        except Conflict as exc:  # fenced: this controller no longer leads, its picture is not Redis's any more
            self._fenced(exc)
        if len(batch.history) + len(batch.calls) > 1 and await self._save_together(batch):
            return
        # Drop each item once written or set aside, so a retry after an outage writes nothing twice.
        while batch.history:
            await self._save(batch.history[0])
            batch.history.pop(0)
        for call_id in list(batch.calls):
            await self._save(interaction_record(batch.calls[call_id]))
            del batch.calls[call_id]

    async def _save_together(self, batch: _Batch) -> bool:
        """The batch's state changes in one transaction and its calls in another: a transaction per record cost
        more than the writes themselves. False when the database refused something: nothing of that part was kept,
        and the records are then written one by one, to set aside only the refused one."""
        try:
            if batch.history:
                await self._agents.record_states(list(batch.history))
                batch.history.clear()
            if batch.calls:
                await self._interactions.save_many([interaction_record(call) for call in batch.calls.values()])
                batch.calls.clear()
        except Fenced as exc:
            self._fenced(exc)  # as in _save: the newer leader writes them
            batch.history.clear()
            batch.calls.clear()
        except Exception as exc:
            if _away(exc):
                raise  # the whole batch's rest is retried
            return False
        return True

    async def _save(self, record: InteractionRecord | AgentStateRecord) -> None:
        """One record, in its own transaction; set aside if it is refused rather than the database away."""
        try:
            if isinstance(record, InteractionRecord):
                await self._interactions.save(record)
            else:
                await self._agents.record_state(record)
        except Fenced as exc:
            # A newer leader claimed the database: the record is its to write (from the live picture), not a dead
            # letter of ours, and no retry would be accepted.
            self._fenced(exc)
        except Exception as exc:
            if _away(exc):
                raise  # worth waiting for: the rest of the batch, this record first, is retried
            if not isinstance(exc, CtiError):
                # Not a refusal we know of (a bug, a driver's own error): the same record would fail again.
                log.exception("writing a record failed unexpectedly; setting it aside")
            await self._set_aside(record, exc)

    async def _set_aside(self, record: InteractionRecord | AgentStateRecord, exc: Exception) -> None:
        kind, key, payload = dead_letter_of(record)
        error = f"{type(exc).__name__}: {exc}"
        try:
            letter_id = await self._letters.add(kind, key, payload, error)
        except Exception as refused:
            if _away(refused):
                raise  # the database went away meanwhile: this record is tried again with the rest of the batch
            # Nothing of the record can be stored: said loudly, rather than stopping every write after it.
            self.dead_letters[kind] += 1
            log.error("%s of %s refused by the database and could not be set aside either (%s); it is lost: %s",
                      kind, key, _masked(f"{type(refused).__name__}: {refused}"), _masked(error))
            return
        self.dead_letters[kind] += 1
        log.error("%s of %s refused by the database, set aside as dead letter %d: %s",
                  kind, key, letter_id, _masked(error))

    async def _guard(self) -> None:
        """Once a second: the last sight of Asterisk to Redis, and the whole picture if Redis missed writes."""
        while True:
            await asyncio.sleep(1.0)
            try:
                if self._sight is not None and self._sight != self._sight_written:
                    if await self.live.save_sight(self._sight):
                        self._sight_written = self._sight
                if self.live.dirty:
                    await self.rewrite()
            except Conflict as exc:
                self._fenced(exc)
            except Exception:
                log.exception("Redis resync failed unexpectedly; trying again in a second")

    def _fenced(self, exc: Conflict) -> None:
        if not self.fenced:  # the controller stands down (cti.cluster); said once, not once per write
            log.error("%s", exc)
        self.fenced = True


def _away(exc: BaseException) -> bool:
    """The database (or another component) is away: the write may succeed later. A refusal of the record (an
    input error, a conflict) is also raised as a storage ``Unavailable`` but says more: it would fail again."""
    return isinstance(exc, Unavailable) and not isinstance(exc, (InvalidInput, Conflict, NotFound, Forbidden))


_DIGITS = re.compile(r"\d{5,}")


def _masked(text: str) -> str:
    """A driver's message may quote the refused value, a caller's number among them: not in a log line."""
    return _DIGITS.sub(lambda m: m[0][:2] + "*" * (len(m[0]) - 2), text)
