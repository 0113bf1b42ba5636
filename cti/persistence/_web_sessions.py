"""Web sessions: people signed in with their password, one row per browser. Only the SHA-256 of the session id
and of its CSRF token are stored: a copy of the database opens no session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select

from cti.records import UserRecord, WebSessionRecord

from ._database import Database
from ._errors import StorageError
from ._tables import UserRow, WebSessionRow
from ._users import user_record

__all__ = ["WebSessionRepository"]


class WebSessionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, name: str, record: WebSessionRecord) -> None:
        """Store a new session of user ``name`` (``record.user_id`` is ignored: the user is found by name)."""
        async with self._db.transaction("create a web session") as session:
            user_id = await session.scalar(select(UserRow.user_id).where(UserRow.name == name))
            if user_id is None:
                raise StorageError(f"cannot create a web session of user {name!r}: no such user")
            session.add(WebSessionRow(session_hash=record.key, user_id=user_id, created_at=record.created_at,
                                      last_seen_at=record.last_seen_at, expires_at=record.expires_at,
                                      csrf_hash=record.csrf_hash))

    async def find(self, key: str) -> tuple[WebSessionRecord, UserRecord] | None:
        """The session whose id hashes to ``key`` and its user (disabled or not), or None."""
        query = select(WebSessionRow, UserRow).join(UserRow, UserRow.user_id == WebSessionRow.user_id).where(
            WebSessionRow.session_hash == key)
        async with self._db.transaction("look up a web session") as session:
            found = (await session.execute(query)).first()
            if found is None:
                return None
            row, user = found[0], found[1]
            return _record(row), user_record(user)

    async def touch(self, key: str, at: datetime) -> None:
        """The session was used at ``at`` (its idle timeout starts again)."""
        async with self._db.transaction("touch a web session") as session:
            row = await session.get(WebSessionRow, key)
            if row is not None:
                row.last_seen_at = at

    async def delete(self, key: str) -> bool:
        async with self._db.transaction("delete a web session") as session:
            result = await session.execute(delete(WebSessionRow).where(WebSessionRow.session_hash == key))
            return _rowcount(result) > 0

    async def delete_of_user(self, name: str, *, keep: str | None = None) -> int:
        """End every session of user ``name`` but the one whose key is ``keep``; how many ended."""
        query = delete(WebSessionRow).where(
            WebSessionRow.user_id == select(UserRow.user_id).where(UserRow.name == name).scalar_subquery())
        if keep is not None:
            query = query.where(WebSessionRow.session_hash != keep)
        async with self._db.transaction(f"end the web sessions of user {name!r}") as session:
            result = await session.execute(query)
            return _rowcount(result)

    async def purge(self, *, now: datetime, idle_since: datetime) -> int:
        """Delete the sessions past their end, or unused since ``idle_since``; how many."""
        query = delete(WebSessionRow).where(or_(WebSessionRow.expires_at <= now,
                                                WebSessionRow.last_seen_at <= idle_since))
        async with self._db.transaction("purge ended web sessions") as session:
            result = await session.execute(query)
            return _rowcount(result)


def _record(row: WebSessionRow) -> WebSessionRecord:
    return WebSessionRecord(key=row.session_hash, user_id=row.user_id, created_at=row.created_at,
                            last_seen_at=row.last_seen_at, expires_at=row.expires_at, csrf_hash=row.csrf_hash)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)  # a CursorResult's, which execute() is typed as a plain Result
