"""Supervisor alerts: the thresholds per queue, and the history of alerts raised and cleared."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select

from cti.records import AlertRecord
from cti.stats import AlertChange, AlertMetric, AlertThreshold

from ._base import utcnow
from ._database import Database
from ._errors import StorageError
from ._sql import check_limit
from ._tables import AlertRow, AlertThresholdRow

__all__ = ["AlertRepository"]


class AlertRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- thresholds ------------------------------------------------------------------------------

    async def thresholds(self, queues: Collection[str] | None = None) -> builtins.list[AlertThreshold]:
        """Every threshold (of ``queues`` only, when given), by queue then key."""
        query = select(AlertThresholdRow).order_by(AlertThresholdRow.queue, AlertThresholdRow.threshold_key)
        if queues is not None:
            query = query.where(AlertThresholdRow.queue.in_(list(queues)))
        async with self._db.transaction("read the alert thresholds") as session:
            return [_threshold(row) for row in await session.scalars(query)]

    async def replace_thresholds(self, queue: str, thresholds: Sequence[AlertThreshold], *, by: str) -> None:
        """The queue's thresholds become ``thresholds`` (none: the queue has no alerts), in one transaction."""
        if any(t.queue != queue for t in thresholds):
            raise StorageError(f"every threshold replaced for queue {queue!r} must be on that queue")
        at = utcnow()
        async with self._db.transaction(f"save the alert thresholds of queue {queue!r}") as session:
            await session.execute(delete(AlertThresholdRow).where(AlertThresholdRow.queue == queue))
            session.add_all(AlertThresholdRow(
                threshold_key=t.key, queue=t.queue, channel=t.channel, metric=t.metric.value, state=t.state,
                raise_at=t.raise_at, clear_at=t.clear_at, updated_by=by, updated_at=at) for t in thresholds)

    # -- history ---------------------------------------------------------------------------------

    async def raised(self, change: AlertChange) -> int:
        """Record an alert raised; its id."""
        t = change.threshold
        async with self._db.transaction(f"record alert {change.alert_key!r}") as session:
            row = AlertRow(alert_key=change.alert_key, queue=t.queue, channel=t.channel, metric=t.metric.value,
                           state=t.state, subject=change.subject, raise_at=t.raise_at, clear_at=t.clear_at,
                           value=change.value, raised_at=change.raised_at)
            session.add(row)
            await session.flush()
            return row.alert_id

    async def cleared(self, change: AlertChange) -> None:
        """Close the open alert ``change`` clears (the latest raised with its key and raise time)."""
        assert change.cleared_at is not None
        async with self._db.transaction(f"clear alert {change.alert_key!r}") as session:
            row = await session.scalar(
                select(AlertRow).where(AlertRow.alert_key == change.alert_key, AlertRow.cleared_at.is_(None))
                .order_by(AlertRow.alert_id.desc()).limit(1))
            if row is not None:
                row.cleared_at, row.cleared_value = change.cleared_at, change.value

    async def close_open(self, at: datetime) -> int:
        """Clear every alert left open (a controller that stopped with alerts raised): the new one evaluates
        afresh and raises again what is still true. How many were closed."""
        async with self._db.transaction("close the alerts left open") as session:
            rows = list(await session.scalars(select(AlertRow).where(AlertRow.cleared_at.is_(None))))
            for row in rows:
                row.cleared_at = at
            return len(rows)

    async def history(self, *, queues: Collection[str] | None = None, open_only: bool = False,
                      limit: int = 200) -> builtins.list[AlertRecord]:
        """The newest first; of ``queues`` only, when given; only those not cleared with ``open_only``."""
        check_limit(limit)
        query = select(AlertRow).order_by(AlertRow.alert_id.desc()).limit(limit)
        if queues is not None:
            query = query.where(AlertRow.queue.in_(list(queues)))
        if open_only:
            query = query.where(AlertRow.cleared_at.is_(None))
        async with self._db.transaction("read the alert history") as session:
            return [_record(row) for row in await session.scalars(query)]


def _threshold(row: AlertThresholdRow) -> AlertThreshold:
    return AlertThreshold(queue=row.queue, metric=AlertMetric(row.metric), raise_at=row.raise_at,
                          clear_at=row.clear_at, channel=row.channel, state=row.state)


def _record(row: AlertRow) -> AlertRecord:
    return AlertRecord(alert_id=row.alert_id, queue=row.queue, channel=row.channel, metric=row.metric,
                       state=row.state, subject=row.subject, raise_at=row.raise_at, clear_at=row.clear_at,
                       value=row.value, raised_at=row.raised_at, cleared_value=row.cleared_value,
                       cleared_at=row.cleared_at)
