"""Scheduled callbacks (:class:`cti.acd.ScheduledCallback`): kept here so they survive a restart."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cti.acd import Attempt, CallbackStatus, ScheduledCallback
from cti.records import Reach

from ._base import utcnow
from ._database import Database
from ._sql import check_limit
from ._tables import ScheduledCallbackRow

__all__ = ["FINISHED_MARGIN", "CallbackRepository"]

FINISHED_MARGIN = timedelta(days=31)
"""How long after its due time a callback's last attempt may come (it waited for an agent that long) and still be
counted in the outbound report."""


class CallbackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, callback: ScheduledCallback) -> None:
        """Insert or replace the callback."""
        async with self._db.transaction(f"save callback {callback.callback_id}") as session:
            row = await session.get(ScheduledCallbackRow, callback.callback_id)
            if row is None:
                row = ScheduledCallbackRow(callback_id=callback.callback_id)
                session.add(row)
            _fill(row, callback)

    async def get(self, callback_id: str) -> ScheduledCallback | None:
        async with self._db.transaction(f"read callback {callback_id}") as session:
            row = await session.get(ScheduledCallbackRow, callback_id)
            return None if row is None else _callback(row)

    async def due(self, now: datetime, *, limit: int = 100) -> builtins.list[ScheduledCallback]:
        """Scheduled callbacks whose time has come, the earliest first."""
        query = (select(ScheduledCallbackRow)
                 .where(ScheduledCallbackRow.status == CallbackStatus.SCHEDULED.value,
                        ScheduledCallbackRow.due_at <= now)
                 .order_by(ScheduledCallbackRow.due_at, ScheduledCallbackRow.callback_id).limit(limit))
        async with self._db.transaction("read the callbacks due") as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def in_progress(self) -> builtins.list[ScheduledCallback]:
        """Callbacks previewed or being dialed (a restarted controller looks at their calls)."""
        query = select(ScheduledCallbackRow).where(ScheduledCallbackRow.status.in_(("previewing", "dialing")))
        async with self._db.transaction("read the callbacks in progress") as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def list(self, *, within: Reach | None = None, statuses: Collection[str] | None = None,
                   limit: int = 100) -> builtins.list[ScheduledCallback]:
        """The newest due first; ``within`` the queues and agents of a reach (None: all)."""
        check_limit(limit)
        query = select(ScheduledCallbackRow)
        if within is not None:
            query = query.where(ScheduledCallbackRow.queue.in_(builtins.list(within.queues))
                                | ScheduledCallbackRow.agent_id.in_(builtins.list(within.agents)))
        if statuses:
            query = query.where(ScheduledCallbackRow.status.in_(builtins.list(statuses)))
        query = query.order_by(ScheduledCallbackRow.due_at.desc(), ScheduledCallbackRow.callback_id).limit(limit)
        async with self._db.transaction("list callbacks") as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def of_customer(self, customer_id: str, *, created_by: str,
                          limit: int = 20) -> builtins.list[ScheduledCallback]:
        """The callbacks ``created_by`` asked for ``customer_id``, the most recently asked first (a customer's own
        requests on the portal: never the ones agents scheduled, whose reasons are their notes)."""
        check_limit(limit)
        query = (select(ScheduledCallbackRow)
                 .where(ScheduledCallbackRow.customer_id == customer_id, ScheduledCallbackRow.created_by == created_by)
                 .order_by(ScheduledCallbackRow.created_at.desc(), ScheduledCallbackRow.callback_id).limit(limit))
        async with self._db.transaction(f"list the callbacks of customer {customer_id}") as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def finished_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[ScheduledCallback]:
        """Callbacks completed or failed whose last attempt lies in [start, end) (the outbound report). The last
        attempt is not a column: callbacks due from :data:`FINISHED_MARGIN` before ``start`` are read, and those
        whose last attempt falls outside the range left out."""
        query = select(ScheduledCallbackRow).where(
            ScheduledCallbackRow.status.in_((CallbackStatus.COMPLETED.value, CallbackStatus.FAILED.value)),
            ScheduledCallbackRow.due_at >= start - FINISHED_MARGIN, ScheduledCallbackRow.due_at < end)
        if queues is not None:
            query = query.where(ScheduledCallbackRow.queue.in_(builtins.list(queues)))
        async with self._db.transaction("read the callbacks finished in a period") as session:
            found = [_callback(row) for row in await session.scalars(query)]
        return [c for c in found if c.attempts and start <= c.attempts[-1].at < end]


def _fill(row: ScheduledCallbackRow, callback: ScheduledCallback) -> None:
    row.customer_id, row.queue, row.agent_id = callback.customer_id, callback.queue, callback.agent_id
    row.agent_first, row.phone_index, row.reason = callback.agent_first, callback.phone_index, callback.reason
    row.due_at, row.status, row.call_id = callback.due_at, callback.status.value, callback.call_id
    row.attempts = [a.as_json() for a in callback.attempts]
    row.created_by = callback.created_by
    row.created_at = callback.created_at or utcnow()


def _attempt(data: dict[str, Any]) -> Attempt:
    return Attempt(at=datetime.fromisoformat(data["at"]), outcome=str(data["outcome"]), call_id=data.get("call_id"),
                   agent_id=data.get("agent_id"))


def _callback(row: ScheduledCallbackRow) -> ScheduledCallback:
    return ScheduledCallback(
        callback_id=row.callback_id, customer_id=row.customer_id, queue=row.queue, due_at=row.due_at,
        reason=row.reason, agent_id=row.agent_id, agent_first=row.agent_first, phone_index=row.phone_index,
        status=CallbackStatus(row.status), attempts=tuple(_attempt(a) for a in row.attempts or ()),
        call_id=row.call_id, created_by=row.created_by, created_at=row.created_at)
