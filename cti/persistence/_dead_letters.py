"""Dead letters: records the database refused, kept with why and when, until an operator replays or discards them.

Adding one must not fail for the same reason the record did: the error text and the key are made storable here
(no NUL, no lone surrogate: PostgreSQL's text refuses both) and bounded; the payload is JSON, in which JSON's own
escapes carry any character.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select

from cti.records import DEAD_LETTER_KINDS, DeadLetterRecord

from ._base import utcnow
from ._database import Database
from ._errors import StorageRejected
from ._sql import check, check_limit
from ._tables import METADATA, DeadLetterRow

__all__ = ["DeadLetterRepository"]

_DEAD_LETTERS: Final = METADATA.tables["dead_letters"]
_KEY_LENGTH: Final = 128
_ERROR_LENGTH: Final = 4000


class DeadLetterRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, kind: str, key: str, payload: Mapping[str, Any], error: str) -> int:
        """Set a refused record aside, now; its letter id."""
        if kind not in DEAD_LETTER_KINDS:
            raise StorageRejected(f"cannot set aside a {kind!r}: not one of {', '.join(DEAD_LETTER_KINDS)}")
        # On the clock of the rows' updated_at: a replay compares the two (InteractionRepository.save_unless_newer).
        values: dict[str, Any] = {"kind": kind, "record_key": _storable(key)[:_KEY_LENGTH], "payload": dict(payload),
                                  "error": _storable(error)[:_ERROR_LENGTH], "at": utcnow()}
        check(_DEAD_LETTERS, values)
        async with self._db.transaction(f"set aside a {kind} of {values['record_key']!r}") as session:
            row = DeadLetterRow(**values)
            session.add(row)
            await session.flush()
            return row.letter_id

    async def get(self, letter_id: int) -> DeadLetterRecord | None:
        async with self._db.transaction(f"read dead letter {letter_id}") as session:
            row = await session.get(DeadLetterRow, letter_id)
            return None if row is None else _record(row)

    async def list(self, *, kind: str | None = None, key: str | None = None,
                   limit: int = 100) -> builtins.list[DeadLetterRecord]:
        """Up to ``limit`` dead letters, oldest first (the order to replay them in), optionally filtered."""
        check_limit(limit)
        query = select(DeadLetterRow)
        if kind is not None:
            query = query.where(DeadLetterRow.kind == kind)
        if key is not None:
            query = query.where(DeadLetterRow.record_key == key)
        query = query.order_by(DeadLetterRow.letter_id).limit(limit)
        async with self._db.transaction("list dead letters") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def delete(self, letter_id: int) -> bool:
        """Remove a dead letter (replayed, or discarded); whether there was one."""
        async with self._db.transaction(f"delete dead letter {letter_id}") as session:
            row = await session.get(DeadLetterRow, letter_id)
            if row is None:
                return False
            await session.delete(row)
            return True


def _storable(text: str) -> str:
    # The refused value may be the very reason (a NUL, a lone surrogate): written out, not carried over.
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _record(row: DeadLetterRow) -> DeadLetterRecord:
    return DeadLetterRecord(letter_id=row.letter_id, kind=row.kind, key=row.record_key, payload=row.payload,
                            error=row.error, at=row.at)
