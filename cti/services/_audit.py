"""The audit trail: who viewed or changed what, from where; written before personal data is handed out.

Reads of personal data (a customer's record, an interaction, a recording) are audited *before* the answer
leaves: if the log cannot be written the read is refused, so nothing is seen unrecorded. Paths that must not
wait on the database (the screen pop, offered many times a second) queue their entries; they are written in
batches within a moment, and on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cti.errors import Forbidden, Unavailable
from cti.records import AuditRecord, UserRecord
from cti.services._ports import AuditLog
from cti.types import Clock

__all__ = ["SERVER", "AuditTrail"]

log = logging.getLogger("cti.services.audit")
SERVER = UserRecord(user_id=0, name="cti", role="server", agent_id=None, disabled=False)
"""The actor of what cti does by itself (the screen pop it builds for an agent names the agent instead)."""


class AuditTrail:
    def __init__(self, log_: AuditLog, clock: Clock, *, batch_seconds: float = 0.5) -> None:
        self._log = log_
        self._clock = clock
        self._batch_seconds = batch_seconds
        self._pending: list[AuditRecord] = []
        self._flusher: asyncio.Task[None] | None = None
        # One flush at a time: a flush called while the background one is writing its batch waits for it, so
        # that what was recorded before the call is written when it returns (not still on its way).
        self._writing = asyncio.Lock()

    def entry(self, actor: UserRecord, action: str, subject_type: str, subject_id: str, *, source: str,
              detail: dict[str, Any] | None = None) -> AuditRecord:
        return AuditRecord(at=self._clock(), actor=actor.name[:64], role=actor.role[:16], action=action,
                           subject_type=subject_type, subject_id=subject_id[:128], source=source[:64],
                           detail=detail)

    async def record(self, actor: UserRecord, action: str, subject_type: str, subject_id: str, *, source: str,
                     detail: dict[str, Any] | None = None) -> None:
        """Write the entry now; :class:`Unavailable` if it cannot be (the caller then refuses what it audits)."""
        try:
            await self._log.append([self.entry(actor, action, subject_type, subject_id, source=source,
                                               detail=detail)])
        except Unavailable as exc:
            raise Unavailable("the audit log cannot be written; try again shortly") from exc

    async def record_each(self, actor: UserRecord, action: str, subject_type: str,
                          subjects: Mapping[str, dict[str, Any] | None], *, source: str) -> None:
        """One entry per subject (id -> its detail), written now in one batch; as :meth:`record` otherwise."""
        if not subjects:
            return
        try:
            await self._log.append([self.entry(actor, action, subject_type, subject_id, source=source, detail=detail)
                                    for subject_id, detail in subjects.items()])
        except Unavailable as exc:
            raise Unavailable("the audit log cannot be written; try again shortly") from exc

    def record_as_soon(self, actor: str, role: str, action: str, subject_type: str, subject_id: str, *, source: str,
                       detail: dict[str, Any] | None = None) -> None:
        """As :meth:`record_soon`, for an actor who is not a user (a customer on the portal: ``customer:<id>``)."""
        self.record_soon(UserRecord(user_id=0, name=actor, role=role, agent_id=None, disabled=False), action,
                         subject_type, subject_id, source=source, detail=detail)

    def record_soon(self, actor: UserRecord, action: str, subject_type: str, subject_id: str, *, source: str,
                    detail: dict[str, Any] | None = None) -> None:
        """Queue the entry for the next batch (for paths that must not wait on the database)."""
        self._pending.append(self.entry(actor, action, subject_type, subject_id, source=source, detail=detail))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def flush(self) -> None:
        """Write every queued entry; kept queued (and retried on the next flush) while the database is away."""
        async with self._writing:
            while self._pending:
                batch, self._pending = self._pending[:500], self._pending[500:]
                try:
                    await self._log.append(batch)
                except Unavailable as exc:
                    self._pending[:0] = batch
                    log.warning("audit entries kept for a retry (%d queued): %s", len(self._pending), exc)
                    return

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.flush()

    async def search(self, actor: UserRecord, *, who: str | None = None, action: str | None = None,
                     subject_type: str | None = None, subject_id: str | None = None,
                     since: datetime | None = None, until: datetime | None = None,
                     before_id: int | None = None, limit: int = 100) -> list[AuditRecord]:
        """The log, newest first, for admins only (reading it is itself audited by the caller)."""
        if actor.role != "admin":
            raise Forbidden("only admins read the audit log", code="role_forbidden")
        await self.flush()
        return await self._log.search(actor=who, action=action, subject_type=subject_type, subject_id=subject_id,
                                      since=since, until=until, before_id=before_id, limit=limit)

    async def _flush_later(self) -> None:
        while self._pending:
            await asyncio.sleep(self._batch_seconds)
            await self.flush()
