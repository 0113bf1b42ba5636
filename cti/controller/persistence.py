"""Writes the core's state changes to Redis and the database, in the order the core made them.

The core emits snapshots synchronously; they are queued here in that order and written by one task, so a
call's ``ended`` row can never be overwritten by an older ``ringing`` snapshot. A database outage does not
lose rows: the writer retries the same batch with backoff until it lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass

from cti.acd import Agent, WorkItem
from cti.persistence import AgentRepository, Database, InteractionRepository, StorageError
from cti.records import AgentStateRecord, InteractionRecord
from cti.state.live_store import LiveStore

__all__ = ["StateWriter", "interaction_record"]

log = logging.getLogger("cti.persistence")


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
        outcome=None if call.outcome is None else call.outcome.value,
        end_reason=None if call.end_reason is None else call.end_reason.value,
        routing={**asdict(call.routing), "decisions": [d.as_json() for d in call.decisions]},
        customer_id=call.customer_id,
        ivr=call.ivr,
    )


@dataclass(slots=True)
class _Batch:
    agents: dict[str, Agent]
    calls: dict[str, WorkItem]
    history: list[AgentStateRecord]


class StateWriter:
    def __init__(self, live: LiveStore, db: Database, *, retry_max: float = 5.0) -> None:
        self._live = live
        self._agents = AgentRepository(db)
        self._interactions = InteractionRepository(db)
        self._queue: asyncio.Queue[Agent | WorkItem] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._retry_max = retry_max
        self._last_state: dict[str, tuple[str, str | None, str | None]] = {}
        self.db_failures = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cti-state-writer")

    async def close(self, timeout: float = 10.0) -> None:
        try:
            await self.flush(timeout)
        except TimeoutError:
            log.error("shutting down with %d state changes not written (database unavailable)", self.backlog)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def agent_changed(self, agent: Agent) -> None:
        self._idle.clear()
        self._queue.put_nowait(agent)

    def call_changed(self, call: WorkItem) -> None:
        self._idle.clear()
        self._queue.put_nowait(call)

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is written (tests and shutdown use it)."""
        if self._task is None or self._task.done():
            return
        await asyncio.wait_for(self._idle.wait(), timeout)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def _run(self) -> None:
        while True:
            batch = self._collect(await self._queue.get())
            delay = 0.2
            while True:
                try:
                    await self._write(batch)
                    break
                except StorageError as exc:
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
        await self._live.save(batch.agents.values(), batch.calls.values())
        # Drop each item once written, so a retry after a partial failure writes nothing twice.
        while batch.history:
            await self._agents.record_state(batch.history[0])
            batch.history.pop(0)
        for call_id in list(batch.calls):
            await self._interactions.save(interaction_record(batch.calls[call_id]))
            del batch.calls[call_id]
