"""The customer portal's sign-in codes and sessions. Only hashes are stored (see :mod:`cti.services._portal`): a
copy of the database sends no code and opens no session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update

from cti.records import PortalCodeRecord, PortalSessionRecord

from ._database import Database
from ._tables import PortalCodeRow, PortalSessionRow

__all__ = ["PortalRepository"]


class PortalRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- codes -------------------------------------------------------------------------------------------------
    async def put_code(self, record: PortalCodeRecord) -> None:
        """Store ``record``, replacing the code sent to the same address before (one live code per address)."""
        async with self._db.transaction("store a portal sign-in code") as session:
            await session.execute(delete(PortalCodeRow).where(PortalCodeRow.address_hash == record.address_hash))
            session.add(PortalCodeRow(address_hash=record.address_hash, customer_id=record.customer_id,
                                      code_hash=record.code_hash, salt=record.salt, created_at=record.created_at,
                                      expires_at=record.expires_at, attempts=record.attempts))

    async def code(self, address_hash: str) -> PortalCodeRecord | None:
        async with self._db.transaction("read a portal sign-in code") as session:
            row = await session.get(PortalCodeRow, address_hash)
            return None if row is None else PortalCodeRecord(
                address_hash=row.address_hash, customer_id=row.customer_id, code_hash=row.code_hash, salt=row.salt,
                created_at=row.created_at, expires_at=row.expires_at, attempts=row.attempts)

    async def count_attempt(self, address_hash: str) -> None:
        """One more wrong entry of the code sent to ``address_hash``."""
        async with self._db.transaction("count a wrong portal sign-in code") as session:
            await session.execute(update(PortalCodeRow).where(PortalCodeRow.address_hash == address_hash)
                                  .values(attempts=PortalCodeRow.attempts + 1))

    async def spend_code(self, address_hash: str, code_hash: str) -> bool:
        """Delete the code if it is still ``code_hash``: True for the one caller that spent it (single use even
        when two requests race)."""
        async with self._db.transaction("spend a portal sign-in code") as session:
            result = await session.execute(delete(PortalCodeRow).where(
                PortalCodeRow.address_hash == address_hash, PortalCodeRow.code_hash == code_hash))
            return _rowcount(result) > 0

    async def delete_code(self, address_hash: str) -> None:
        async with self._db.transaction("delete a portal sign-in code") as session:
            await session.execute(delete(PortalCodeRow).where(PortalCodeRow.address_hash == address_hash))

    # -- sessions ----------------------------------------------------------------------------------------------
    async def create_session(self, record: PortalSessionRecord) -> None:
        async with self._db.transaction("create a portal session") as session:
            session.add(PortalSessionRow(session_hash=record.key, customer_id=record.customer_id,
                                         created_at=record.created_at, last_seen_at=record.last_seen_at,
                                         expires_at=record.expires_at, csrf_hash=record.csrf_hash))

    async def session(self, key: str) -> PortalSessionRecord | None:
        async with self._db.transaction("look up a portal session") as session:
            row = await session.get(PortalSessionRow, key)
            return None if row is None else PortalSessionRecord(
                key=row.session_hash, customer_id=row.customer_id, created_at=row.created_at,
                last_seen_at=row.last_seen_at, expires_at=row.expires_at, csrf_hash=row.csrf_hash)

    async def touch_session(self, key: str, at: datetime) -> None:
        async with self._db.transaction("touch a portal session") as session:
            row = await session.get(PortalSessionRow, key)
            if row is not None:
                row.last_seen_at = at

    async def delete_session(self, key: str) -> bool:
        async with self._db.transaction("delete a portal session") as session:
            result = await session.execute(delete(PortalSessionRow).where(PortalSessionRow.session_hash == key))
            return _rowcount(result) > 0

    async def purge(self, *, now: datetime, idle_since: datetime) -> int:
        """Delete the codes past their expiry and the sessions past their end or idle since ``idle_since``."""
        async with self._db.transaction("purge ended portal codes and sessions") as session:
            codes = await session.execute(delete(PortalCodeRow).where(PortalCodeRow.expires_at <= now))
            sessions = await session.execute(delete(PortalSessionRow).where(or_(
                PortalSessionRow.expires_at <= now, PortalSessionRow.last_seen_at <= idle_since)))
            return _rowcount(codes) + _rowcount(sessions)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)  # a CursorResult's, which execute() is typed as a plain Result
