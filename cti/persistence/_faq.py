"""Versioned storage of the FAQ: an entry's texts are saved as versions (never overwritten), its status and
helpful counters live on the entry itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from cti.faq import FaqEntry, FaqStatus, FaqText, FaqVersion

from ._base import utcnow
from ._database import Database
from ._errors import StorageConflict, StorageError
from ._tables import FaqEntryRow, FaqVersionRow

__all__ = ["FaqRepository"]

_AUTHOR_LENGTH: Final = 64


def _stored(texts: Mapping[str, FaqText]) -> dict[str, Any]:
    return {lang: {"question": t.question, "answer": t.answer, "keywords": list(t.keywords)}
            for lang, t in texts.items()}


def _texts(stored: Mapping[str, Any]) -> dict[str, FaqText]:
    return {lang: FaqText(t["question"], t["answer"], tuple(t.get("keywords", ()))) for lang, t in stored.items()}


def _entry(row: FaqEntryRow, version: FaqVersionRow) -> FaqEntry:
    return FaqEntry(entry_id=row.entry_id, status=cast(FaqStatus, row.status), version=row.version,
                    product_line=row.product_line, texts=_texts(version.texts), author=version.author,
                    created_at=row.created_at, updated_at=row.updated_at, helpful=row.helpful,
                    not_helpful=row.not_helpful)


def _version(row: FaqVersionRow) -> FaqVersion:
    return FaqVersion(entry_id=row.entry_id, version=row.version, product_line=row.product_line,
                      texts=_texts(row.texts), author=row.author, created_at=row.created_at)


def _check_author(author: str) -> None:
    if not author or len(author) > _AUTHOR_LENGTH:
        raise StorageError(f"cannot save an FAQ entry: the author must be 1 to {_AUTHOR_LENGTH} characters")


class FaqRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None, author: str,
                     status: FaqStatus = "draft", now: datetime | None = None) -> FaqEntry:
        """Version 1 of a new entry; :class:`StorageConflict` if the id is taken."""
        _check_author(author)
        created = now if now is not None else utcnow()
        try:
            async with self._db.transaction(f"create FAQ entry {entry_id!r}") as session:
                row = FaqEntryRow(entry_id=entry_id, status=status, version=1, product_line=product_line,
                                  helpful=0, not_helpful=0, created_at=created, updated_at=created)
                version = FaqVersionRow(entry_id=entry_id, version=1, product_line=product_line,
                                        texts=_stored(texts), author=author, created_at=created)
                session.add_all([row, version])
                await session.flush()
                return _entry(row, version)
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StorageConflict(f"there is already an FAQ entry {entry_id!r}") from exc
            raise

    async def edit(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None, author: str,
                   now: datetime | None = None) -> FaqEntry | None:
        """Save the entry's next version (its status stays); None if there is no such entry."""
        _check_author(author)
        created = now if now is not None else utcnow()
        try:
            async with self._db.transaction(f"edit FAQ entry {entry_id!r}") as session:
                row = await session.scalar(select(FaqEntryRow).where(FaqEntryRow.entry_id == entry_id)
                                           .with_for_update())
                if row is None:
                    return None
                version = FaqVersionRow(entry_id=entry_id, version=row.version + 1, product_line=product_line,
                                        texts=_stored(texts), author=author, created_at=created)
                row.version, row.product_line, row.updated_at = version.version, product_line, created
                session.add(version)
                await session.flush()
                return _entry(row, version)
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # two edits at once on SQLite: the key decides
                raise StorageConflict(f"FAQ entry {entry_id!r} was being edited by someone else; try again") from exc
            raise

    async def set_status(self, entry_id: str, status: FaqStatus, *, now: datetime | None = None) -> FaqEntry | None:
        async with self._db.transaction(f"set the status of FAQ entry {entry_id!r}") as session:
            await session.execute(update(FaqEntryRow).where(FaqEntryRow.entry_id == entry_id)
                                  .values(status=status, updated_at=now if now is not None else utcnow()))
        return await self.get(entry_id)

    async def delete(self, entry_id: str) -> bool:
        """The entry and every version of it; False if there was none."""
        async with self._db.transaction(f"delete FAQ entry {entry_id!r}") as session:
            gone = await session.execute(delete(FaqEntryRow).where(FaqEntryRow.entry_id == entry_id))
            await session.execute(delete(FaqVersionRow).where(FaqVersionRow.entry_id == entry_id))
            return bool(getattr(gone, "rowcount", 0))

    async def get(self, entry_id: str) -> FaqEntry | None:
        found = await self._select(FaqEntryRow.entry_id == entry_id)
        return found[0] if found else None

    async def entries(self, *, status: FaqStatus | None = None, product_line: str | None = None) -> list[FaqEntry]:
        """Every entry (of the status and product line given), by id."""
        conditions: list[Any] = []
        if status is not None:
            conditions.append(FaqEntryRow.status == status)
        if product_line is not None:
            conditions.append(FaqEntryRow.product_line == product_line)
        return await self._select(*conditions)

    async def versions(self, entry_id: str) -> list[FaqVersion]:
        """Every version, oldest first (empty for an unknown entry)."""
        query = select(FaqVersionRow).where(FaqVersionRow.entry_id == entry_id).order_by(FaqVersionRow.version)
        async with self._db.transaction(f"list versions of FAQ entry {entry_id!r}") as session:
            return [_version(row) for row in await session.scalars(query)]

    async def count_feedback(self, entry_id: str, *, helpful: bool) -> bool:
        """One more helpful (or not helpful) vote on a published entry; False if there is no such entry."""
        column = FaqEntryRow.helpful if helpful else FaqEntryRow.not_helpful
        async with self._db.transaction(f"count feedback on FAQ entry {entry_id!r}") as session:
            counted = await session.execute(
                update(FaqEntryRow).where(FaqEntryRow.entry_id == entry_id, FaqEntryRow.status == "published")
                .values({column.key: column + 1}))
            return bool(getattr(counted, "rowcount", 0))

    async def _select(self, *conditions: Any) -> list[FaqEntry]:
        query = (select(FaqEntryRow, FaqVersionRow)
                 .join(FaqVersionRow, (FaqVersionRow.entry_id == FaqEntryRow.entry_id)
                       & (FaqVersionRow.version == FaqEntryRow.version))
                 .where(*conditions).order_by(FaqEntryRow.entry_id))
        async with self._db.transaction("read FAQ entries") as session:
            rows: Sequence[Any] = (await session.execute(query)).all()
            return [_entry(entry, version) for entry, version in rows]
