"""The do-not-call list: numbers (E.164) no outbound call may dial."""

from __future__ import annotations

import builtins
from typing import Final

from sqlalchemy import select

from cti.records import DoNotCallEntry

from ._base import utcnow
from ._database import Database
from ._errors import StorageConflict
from ._sql import check_limit
from ._tables import DoNotCallRow

__all__ = ["DoNotCallRepository"]

_REASON_LENGTH: Final = 200


class DoNotCallRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def contains(self, number: str) -> bool:
        """Whether ``number`` (E.164) is on the list."""
        async with self._db.transaction("look up a number on the do-not-call list") as session:
            return await session.scalar(select(DoNotCallRow.entry_id).where(DoNotCallRow.number == number)) is not None

    async def list(self, *, limit: int = 1000) -> builtins.list[DoNotCallEntry]:
        """The newest first."""
        check_limit(limit)
        query = select(DoNotCallRow).order_by(DoNotCallRow.entry_id.desc()).limit(limit)
        async with self._db.transaction("list the do-not-call list") as session:
            return [_entry(row) for row in await session.scalars(query)]

    async def add(self, number: str, *, reason: str | None, added_by: str) -> DoNotCallEntry:
        """Put ``number`` (E.164) on the list; :class:`StorageConflict` if it is on it already."""
        async with self._db.transaction("add a number to the do-not-call list") as session:
            if await session.scalar(select(DoNotCallRow.entry_id).where(DoNotCallRow.number == number)) is not None:
                raise StorageConflict("the number is on the do-not-call list already")
            row = DoNotCallRow(number=number, reason=(reason or None) and reason[:_REASON_LENGTH],
                               added_by=added_by, added_at=utcnow())
            session.add(row)
            await session.flush()
            return _entry(row)

    async def remove(self, entry_id: int) -> DoNotCallEntry | None:
        """Take an entry off the list; the entry it was, or None if there was none."""
        async with self._db.transaction(f"remove do-not-call entry {entry_id}") as session:
            row = await session.get(DoNotCallRow, entry_id)
            if row is None:
                return None
            entry = _entry(row)
            await session.delete(row)
            return entry


def _entry(row: DoNotCallRow) -> DoNotCallEntry:
    return DoNotCallEntry(entry_id=row.entry_id, number=row.number, reason=row.reason, added_by=row.added_by,
                          added_at=row.added_at)
