"""Recording of calls: the queue's policy applied, the agent's start, pause, resume and stop, the finished audio
moved into cti's own storage with its row, and playback for those who may hear it, every play audited.

What is being recorded now is kept here, in memory, per call (the recording itself lives in Asterisk until it
ends). A recording ends with its bridge: when the call ends, and when a transfer takes the caller to the next
agent (whose answer starts a new one where the policy says ``always``). Each becomes one file and one row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cti.acd import (
    RecordingAction,
    RecordingMode,
    RecordingRefused,
    RecordingStatus,
    WorkChanged,
    WorkItem,
    WorkState,
    recording_step,
)
from cti.errors import CtiError, NotFound
from cti.records import InteractionRecord, RecordingRecord, UserRecord
from cti.services._audit import AuditTrail
from cti.services._policy import Policy
from cti.services._ports import Recorder, Recordings
from cti.services._query import CenterView
from cti.types import Clock

__all__ = ["CallRecording", "RecordingState"]

PLAY_AUDITED_FOR = timedelta(minutes=10)
"""How long ranged requests of one user for one recording count as the play already audited."""

log = logging.getLogger("cti.services.recording")


@dataclass(slots=True)
class _Live:
    recording_id: str
    agent_id: str | None
    started_at: datetime
    status: RecordingStatus = RecordingStatus.RECORDING
    paused: list[tuple[float, float]] = field(default_factory=list)
    paused_at: datetime | None = None

    @property
    def name(self) -> str:
        """Its name in Asterisk's recordings."""
        return f"cti-{self.recording_id}"


@dataclass(frozen=True, slots=True)
class RecordingState:
    """What the desktop shows of a call's recording: the policy in force and where the recording is."""

    call_id: str
    mode: RecordingMode
    status: RecordingStatus
    recording_id: str | None = None
    since: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "mode": self.mode, "status": self.status.value,
                "recording_id": self.recording_id, "since": self.since.isoformat() if self.since else None}


class CallRecording:
    def __init__(self, query: CenterView, policy: Policy, recorder: Recorder, recordings: Recordings,
                 audit: AuditTrail, clock: Clock, *, format: str = "wav") -> None:
        self._query = query
        self._policy = policy
        self._recorder = recorder
        self._recordings = recordings
        self._audit = audit
        self._clock = clock
        self.format = format
        self._live: dict[str, _Live] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._played: dict[tuple[str, str, bool], datetime] = {}  # (user, recording, download) -> last audited

    # -- the policy ------------------------------------------------------------------------------------------
    def mode(self, call: WorkItem) -> RecordingMode:
        """The queue's policy for this call's direction (a callback is a call going out)."""
        return self._query.queue_rule(call.queue).recording.mode(outbound=call.callback)

    def state(self, actor: UserRecord, call_id: str) -> RecordingState:
        call = self._controllable(actor, call_id)
        return self._state(call)

    def _state(self, call: WorkItem) -> RecordingState:
        live = self._live.get(call.call_id)
        if live is None:
            return RecordingState(call.call_id, self.mode(call), RecordingStatus.OFF)
        return RecordingState(call.call_id, self.mode(call), live.status, live.recording_id, live.started_at)

    # -- the agent's controls --------------------------------------------------------------------------------
    async def act(self, actor: UserRecord, call_id: str, action: RecordingAction) -> RecordingState:
        """Start, pause, resume or stop the call's recording; :class:`RecordingRefused` (409) where the policy
        or the recording's state does not allow it."""
        call = self._controllable(actor, call_id)
        async with self._lock(call_id):
            call = self._controllable(actor, call_id)
            if call.state is not WorkState.CONNECTED:
                raise RecordingRefused(f"call {call_id} is not connected")
            mode = self.mode(call)
            live = self._live.get(call_id)
            status = recording_step(mode, live.status if live else RecordingStatus.OFF, action)
            announcement = self._query.queue_rule(call.queue).recording.announcement
            if action == "start":
                await self._start(call, announcement)
            elif live is not None and action == "pause":
                await self._recorder.pause(live.name)
                live.paused_at = self._clock()
            elif live is not None and action == "resume":
                await self._recorder.resume(live.name, call_id=call_id, announcement=announcement)
                self._end_pause(live)
            elif action == "stop":
                await self._finish(call_id)
            live = self._live.get(call_id)
            if live is not None:
                live.status = status
            return self._state(call)

    # -- the call's life -------------------------------------------------------------------------------------
    async def bridged(self, call_id: str) -> None:
        """The call's bridge was made (an agent answered): a recording of a bridge that is gone is finished, and
        a new one starts where the policy records always."""
        async with self._lock(call_id):
            if call_id in self._live:
                await self._finish(call_id)
            call = self._query.find_call(call_id)
            if call is None or call.state is not WorkState.CONNECTED or self.mode(call) != "always":
                return
            try:
                await self._start(call, self._query.queue_rule(call.queue).recording.announcement)
            except CtiError as exc:
                log.warning("call %s: the recording did not start: %s", call_id, exc)

    def work_changed(self, changed: WorkChanged, distributor: object) -> None:
        call = changed.item
        if call.state is WorkState.ENDED and call.call_id in self._live:
            self._spawn(self._ended(call.call_id))

    async def drain(self) -> None:
        """Wait until the recordings of ended calls are stored (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()

    # -- playback --------------------------------------------------------------------------------------------
    async def of_call(self, actor: UserRecord, call_id: str) -> list[RecordingRecord]:
        """The recordings of an interaction the actor may see."""
        await self._policy.interaction(actor, call_id)
        return await self._recordings.for_call(call_id)

    async def mine(self, actor: UserRecord, *, limit: int,
                   source: str) -> list[tuple[InteractionRecord, list[RecordingRecord]]]:
        """The actor's own recently recorded calls, newest first, each with the recordings made while they were
        on it (a user who is no agent has none). The interactions hold callers' numbers: the read is audited as
        a list of them, like the interaction history's."""
        calls: dict[str, list[RecordingRecord]] = {}
        if actor.agent_id is not None:
            for record in await self._recordings.of_agent(actor.agent_id, limit=limit):
                calls.setdefault(record.call_id, []).append(record)
        found: list[tuple[InteractionRecord, list[RecordingRecord]]] = []
        for call_id, records in calls.items():
            try:
                interaction = await self._policy.interaction(actor, call_id)
            except NotFound:  # its interaction is not theirs to see (or gone): nor are its recordings
                continue
            found.append((interaction, sorted(records, key=lambda r: r.started_at)))
        await self._audit.record(actor, "list", "interaction", "*", source=source,
                                 detail={"call_ids": [interaction.call_id for interaction, _ in found]})
        return found

    async def open(self, actor: UserRecord, recording_id: str, *, source: str,
                   download: bool = False) -> tuple[RecordingRecord, Path]:
        """The recording and its file, for someone who may see its interaction (not found otherwise); the play
        or download is audited. A player fetches a file in several ranged requests: those within
        :data:`PLAY_AUDITED_FOR` of an audited one by the same user are the same play. Whatever range a request
        asks for, the first in that time is audited, so no way of asking reads a recording unaudited."""
        record = await self._recordings.get(recording_id)
        if record is None:
            raise NotFound(f"no recording {recording_id!r}")
        try:
            await self._policy.interaction(actor, record.call_id)
        except NotFound:
            raise NotFound(f"no recording {recording_id!r}") from None
        now = self._clock()
        for key in [key for key, at in self._played.items() if now - at >= PLAY_AUDITED_FOR]:
            del self._played[key]
        key = (actor.name, recording_id, download)
        if key not in self._played:
            await self._audit.record(actor, "download" if download else "play", "recording", recording_id,
                                     source=source, detail={"call_id": record.call_id})
            self._played[key] = now
        return record, self._recordings.file(record)

    # -- inside ----------------------------------------------------------------------------------------------
    def _controllable(self, actor: UserRecord, call_id: str) -> WorkItem:
        call = self._policy.call(actor, call_id)
        if call.agent_id is None:
            raise NotFound(f"no call {call_id!r}")
        return call

    async def _start(self, call: WorkItem, announcement: str | None) -> None:
        live = _Live(uuid.uuid4().hex, call.agent_id, self._clock())
        await self._recorder.start(live.name, call.call_id, format=self.format, announcement=announcement)
        self._live[call.call_id] = live

    def _end_pause(self, live: _Live) -> None:
        if live.paused_at is not None:
            now = self._clock()
            live.paused.append((round((live.paused_at - live.started_at).total_seconds(), 3),
                                round((now - live.started_at).total_seconds(), 3)))
            live.paused_at = None

    async def _ended(self, call_id: str) -> None:
        async with self._lock(call_id):
            await self._finish(call_id)
        self._locks.pop(call_id, None)

    async def _finish(self, call_id: str) -> None:
        """Stop the call's recording and move its audio into cti's storage (its row with it)."""
        live = self._live.pop(call_id, None)
        if live is None:
            return
        self._end_pause(live)
        ended = self._clock()
        try:
            audio = await self._recorder.finish(live.name)
            if audio is None:
                log.warning("call %s: recording %s left no audio", call_id, live.recording_id)
                return
            path = f"{live.started_at:%Y/%m/%d}/{live.recording_id}.{self.format}"
            await self._recordings.add(RecordingRecord(
                recording_id=live.recording_id, call_id=call_id, agent_id=live.agent_id, path=path,
                format=self.format, started_at=live.started_at, ended_at=ended, paused=tuple(live.paused)), audio)
        except CtiError as exc:
            log.error("call %s: recording %s was not stored: %s", call_id, live.recording_id, exc)

    def _lock(self, call_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_id)
        if lock is None:
            lock = self._locks[call_id] = asyncio.Lock()
        return lock

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
