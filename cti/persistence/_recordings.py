"""Calls' recordings: the files in the recordings directory and their rows, kept and deleted together.

A file is written first (to a temporary name, then renamed), its row second: a crash between the two leaves a
file no row names, which is harmless and found by its name; never a row without its file. Deletion removes the
row first and then the file, for the same reason."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, func, select

from cti.records import RecordingRecord

from ._database import Database
from ._errors import StorageError
from ._sql import check, check_limit
from ._tables import METADATA, RecordingRow

__all__ = ["RecordingRepository"]

_RECORDINGS: Final = METADATA.tables["recordings"]


class RecordingRepository:
    """``directory`` is where the audio files live (created if missing)."""

    def __init__(self, db: Database, directory: Path) -> None:
        self._db = db
        self.directory = directory

    def file(self, record: RecordingRecord) -> Path:
        """Where the recording's audio is."""
        path = (self.directory / record.path).resolve()
        if not path.is_relative_to(self.directory.resolve()):
            raise StorageError(f"recording {record.recording_id}: its path leaves the recordings directory")
        return path

    async def add(self, record: RecordingRecord, audio: bytes) -> RecordingRecord:
        """Store the audio and its row; the record with its size and digest."""
        stored = RecordingRecord(
            recording_id=record.recording_id, call_id=record.call_id, agent_id=record.agent_id,
            path=record.path, format=record.format, started_at=record.started_at, ended_at=record.ended_at,
            paused=record.paused, size=len(audio), sha256=hashlib.sha256(audio).hexdigest(), kind=record.kind)
        values = _values(stored)
        check(_RECORDINGS, values)
        try:
            await asyncio.to_thread(_write, self.file(stored), audio)
        except OSError as exc:
            raise StorageError(f"cannot store recording {record.recording_id}: {exc}") from exc
        async with self._db.transaction(f"add recording {record.recording_id}") as session:
            session.add(RecordingRow(**values))
        return stored

    async def get(self, recording_id: str) -> RecordingRecord | None:
        async with self._db.transaction("read a recording") as session:
            row = await session.get(RecordingRow, recording_id)
            return None if row is None else _record(row)

    async def for_call(self, call_id: str) -> builtins.list[RecordingRecord]:
        """The call's recordings, oldest first."""
        query = select(RecordingRow).where(RecordingRow.call_id == call_id).order_by(RecordingRow.started_at)
        async with self._db.transaction("read a call's recordings") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def of_agent(self, agent_id: str, *, limit: int) -> builtins.list[RecordingRecord]:
        """The agent's recordings of their ``limit`` most recently recorded calls, newest first."""
        check_limit(limit)
        latest = func.max(RecordingRow.started_at)
        calls = (select(RecordingRow.call_id).where(RecordingRow.agent_id == agent_id)
                 .group_by(RecordingRow.call_id).order_by(latest.desc(), RecordingRow.call_id.desc()).limit(limit))
        async with self._db.transaction(f"read agent {agent_id!r}'s recordings") as session:
            call_ids = builtins.list(await session.scalars(calls))
            if not call_ids:
                return []
            query = (select(RecordingRow)
                     .where(RecordingRow.agent_id == agent_id, RecordingRow.call_id.in_(call_ids))
                     .order_by(RecordingRow.started_at.desc(), RecordingRow.recording_id))
            return [_record(row) for row in await session.scalars(query)]

    async def delete_for_calls(self, call_ids: Collection[str]) -> int:
        """Delete the recordings of these calls, rows and files; how many."""
        if not call_ids:
            return 0
        return await self._delete(RecordingRow.call_id.in_(builtins.list(call_ids)), "erase calls' recordings")

    async def delete_before(self, before: datetime) -> int:
        """Delete the recordings started before ``before`` (retention), rows and files; how many."""
        return await self._delete(RecordingRow.started_at < before, "purge old recordings")

    async def _delete(self, where: Any, what: str) -> int:
        async with self._db.transaction(what) as session:
            rows = [_record(row) for row in await session.scalars(select(RecordingRow).where(where))]
            if rows:
                await session.execute(delete(RecordingRow).where(
                    RecordingRow.recording_id.in_([r.recording_id for r in rows])))
        for record in rows:
            try:
                await asyncio.to_thread(self.file(record).unlink, missing_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot delete the file of recording {record.recording_id}: {exc}") from exc
        return len(rows)


def _write(path: Path, audio: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as out:
        out.write(audio)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def _values(record: RecordingRecord) -> dict[str, Any]:
    return {"recording_id": record.recording_id, "call_id": record.call_id, "agent_id": record.agent_id,
            "path": record.path, "format": record.format, "started_at": record.started_at,
            "ended_at": record.ended_at, "paused": [list(p) for p in record.paused], "size": record.size,
            "sha256": record.sha256, "kind": record.kind}


def _record(row: RecordingRow) -> RecordingRecord:
    return RecordingRecord(
        recording_id=row.recording_id, call_id=row.call_id, agent_id=row.agent_id, path=row.path,
        format=row.format, started_at=row.started_at, ended_at=row.ended_at,
        paused=tuple((float(a), float(b)) for a, b in row.paused or ()), size=row.size, sha256=row.sha256,
        kind=row.kind)
