"""Interactions: one row per call, written by the call handling and completed by the agent's wrap-up; read by
the API, the screen pop's history, reports and the forecast."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, CursorResult, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cti.records import WRAP_UP_FIELDS, InteractionRecord, PurgedInteractions, Reach
from cti.wfm import InteractionSample

from ._base import utcnow
from ._chat import redact_chats
from ._database import Database
from ._errors import StorageError
from ._redaction import SEALED_ON_SAVE, prompts_of, redact
from ._sql import NOT_AFTER, check, check_limit, upsert
from ._tables import METADATA, DeadLetterRow, InteractionRow

__all__ = ["InteractionRepository"]

_INTERACTIONS: Final = METADATA.tables["interactions"]
_FIELDS: Final = tuple(f.name for f in fields(InteractionRecord))
# The call handling saves a call's progress many times; the agent's wrap-up must survive each save, and so must
# a redaction (a customer erased while the journal still had a snapshot of their call to write).
_KEPT_ON_SAVE: Final = frozenset({"created_at", "redacted_at", *WRAP_UP_FIELDS})
_PURGE_BATCH: Final = 500


class InteractionRepository:
    """``default_country`` reads national caller numbers (the retention purge scrubs them in every shape)."""

    def __init__(self, db: Database, *, default_country: str = "ID") -> None:
        self._db = db
        self._country = default_country

    async def save(self, record: InteractionRecord) -> None:
        """Insert the interaction, or replace the stored one with the same ``call_id`` (the wrap-up stays)."""
        await self._upsert(record, utcnow())

    async def save_many(self, records: Collection[InteractionRecord]) -> None:
        """:meth:`save` each of ``records`` (distinct calls), all in one transaction: all are saved or none (the
        journal's batches; a refusal rolls every one back, and the journal then finds the refused one alone)."""
        if not records:
            return
        at = utcnow()
        rows: builtins.list[dict[str, Any]] = []
        for record in records:
            values: dict[str, Any] = {name: getattr(record, name) for name in _FIELDS}
            check(_INTERACTIONS, values)
            rows.append({**values, "created_at": at, "updated_at": at})
        statement = upsert(self._db.backend, _INTERACTIONS, tuple(rows[0]), key="call_id", keep=_KEPT_ON_SAVE,
                           sealed=("redacted_at", SEALED_ON_SAVE))
        async with self._db.transaction(f"save {len(rows)} interactions") as session:
            await session.execute(statement, rows)

    async def add_many(self, records: Collection[InteractionRecord]) -> int:
        """Insert calls of the past in one transaction (an import; the demo's generated history); a call whose
        ``call_id`` is stored already is left as it is. How many were inserted."""
        if not records:
            return 0
        at = utcnow()
        rows: builtins.list[dict[str, Any]] = []
        for record in records:
            values = {name: getattr(record, name) for name in _FIELDS}
            check(_INTERACTIONS, values)
            rows.append({**values, "created_at": at, "updated_at": at})
        dialect_insert = pg_insert if self._db.backend == "postgresql" else sqlite_insert
        statement = dialect_insert(_INTERACTIONS).on_conflict_do_nothing(index_elements=["call_id"])
        async with self._db.transaction(f"add {len(rows)} past interactions") as session:
            result = await session.execute(statement, rows)
        return max(cast(CursorResult[Any], result).rowcount, 0)

    async def save_unless_newer(self, record: InteractionRecord, at: datetime) -> bool:
        """:meth:`save` a snapshot of the call taken at ``at`` (a dead letter's), unless the stored one was saved
        after that: it is a later snapshot then. Whether the record was saved; it counts as saved at ``at``, so
        that snapshots replayed in their order each replace the one before."""
        check(_INTERACTIONS, {"updated_at": at})
        return await self._upsert(record, at, only_if_not_newer=True)

    async def _upsert(self, record: InteractionRecord, at: datetime, *, only_if_not_newer: bool = False) -> bool:
        values: dict[str, Any] = {name: getattr(record, name) for name in _FIELDS}
        check(_INTERACTIONS, values)
        values.update(created_at=at, updated_at=at)
        statement = upsert(self._db.backend, _INTERACTIONS, tuple(values), key="call_id", keep=_KEPT_ON_SAVE,
                           only_if_not_after="updated_at" if only_if_not_newer else None,
                           sealed=("redacted_at", SEALED_ON_SAVE))
        if only_if_not_newer:
            values[NOT_AFTER] = at
        async with self._db.transaction(f"save interaction {record.call_id!r}") as session:
            result = await session.execute(statement, values)
        return bool(cast(CursorResult[Any], result).rowcount)

    async def save_wrap_up(
        self, call_id: str, *, at: datetime, disposition: str, notes: str = "",
        script_answers: Mapping[str, Any] | None = None, crosssell: Mapping[str, Any] | None = None,
        follow_up: Mapping[str, Any] | None = None, customer_id: str | None = None,
    ) -> InteractionRecord:
        """The agent's after-call record on the interaction. Saving it again replaces it (a correction).

        On a redacted interaction (its customer was erased, or it is past the retention period) the notes,
        script answers and follow-up are not stored: the disposition and cross-sell outcome are."""
        values: dict[str, Any] = {
            "disposition": disposition, "notes": notes, "script_answers": dict(script_answers or {}),
            "crosssell": None if crosssell is None else dict(crosssell),
            "follow_up": None if follow_up is None else dict(follow_up), "wrapped_up_at": at, "updated_at": utcnow(),
        }
        if customer_id is not None:
            values["customer_id"] = customer_id
        check(_INTERACTIONS, values)
        async with self._db.transaction(f"save wrap-up of {call_id!r}") as session:
            row = await session.get(InteractionRow, call_id)
            if row is None:
                raise StorageError(f"cannot save wrap-up of {call_id!r}: no such interaction")
            if row.redacted_at is not None:
                values.update(notes=None, script_answers=None, follow_up=None)
            for name, value in values.items():
                setattr(row, name, value)
            await session.flush()
            return _record(row)

    async def get(self, call_id: str) -> InteractionRecord | None:
        async with self._db.transaction(f"read interaction {call_id!r}") as session:
            row = await session.get(InteractionRow, call_id)
            return None if row is None else _record(row)

    async def list(
        self, *, limit: int = 100, agent_id: str | None = None, queue: str | None = None,
        within: Reach | None = None,
    ) -> builtins.list[InteractionRecord]:
        """Up to ``limit`` interactions, most recently arrived first, optionally filtered; ``within`` keeps
        only those in its queues or handled by its agents (a supervisor's scope)."""
        check_limit(limit)
        query = select(InteractionRow)
        if agent_id is not None:
            query = query.where(InteractionRow.agent_id == agent_id)
        if queue is not None:
            query = query.where(InteractionRow.queue == queue)
        if within is not None:
            query = query.where(_within(within))
        # call_id breaks ties so that equal arrival times still page deterministically.
        query = query.order_by(InteractionRow.arrived_at.desc(), InteractionRow.call_id.desc()).limit(limit)
        async with self._db.transaction("list interactions") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def involves(self, customer_id: str, within: Reach) -> bool:
        """Whether any interaction of the customer lies in ``within``'s queues or agents' hands."""
        query = select(InteractionRow.call_id).where(
            InteractionRow.customer_id == customer_id, _within(within)).limit(1)
        async with self._db.transaction(f"look up interactions of customer {customer_id!r}") as session:
            return await session.scalar(query) is not None

    async def between(self, start: datetime, end: datetime, *,
                      queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]:
        """Customers' calls (inbound: the queues' figures) with any instant in [start, end): arrived before
        ``end`` and not ended before ``start`` (reports, the dashboard's day). An hour of margin before ``start``
        keeps the after-call work of calls that ended just before it."""
        check(_INTERACTIONS, {"arrived_at": start, "ended_at": end})
        query = select(InteractionRow).where(
            InteractionRow.direction == "inbound", InteractionRow.arrived_at < end,
            (InteractionRow.ended_at.is_(None)) | (InteractionRow.ended_at >= start - timedelta(hours=1)))
        if queues is not None:
            query = query.where(InteractionRow.queue.in_(builtins.list(queues)))
        query = query.order_by(InteractionRow.arrived_at, InteractionRow.call_id)
        async with self._db.transaction("read interactions in a period") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def outbound_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]:
        """Agents' calls out (outbound) with any instant in [start, end), as :meth:`between` (the outbound
        report)."""
        check(_INTERACTIONS, {"arrived_at": start, "ended_at": end})
        query = select(InteractionRow).where(
            InteractionRow.direction == "outbound", InteractionRow.arrived_at < end,
            (InteractionRow.ended_at.is_(None)) | (InteractionRow.ended_at >= start))
        if queues is not None:
            query = query.where(InteractionRow.queue.in_(builtins.list(queues)))
        query = query.order_by(InteractionRow.arrived_at, InteractionRow.call_id)
        async with self._db.transaction("read calls out in a period") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def samples(self, queue: str, start: datetime, end: datetime) -> builtins.list[InteractionSample]:
        """The queue's offered calls (inbound) that arrived in ``[start, end)``, as the forecast's samples.

        The handle time is the talk time of answered calls: wrap-up is not recorded per interaction.
        """
        query = (select(InteractionRow.queue, InteractionRow.arrived_at, InteractionRow.outcome,
                        InteractionRow.talk_seconds)
                 .where(InteractionRow.queue == queue, InteractionRow.direction == "inbound",
                        InteractionRow.arrived_at >= start,
                        InteractionRow.arrived_at < end)
                 .order_by(InteractionRow.arrived_at))
        async with self._db.transaction(f"read interactions of queue {queue!r}") as session:
            rows = (await session.execute(query)).all()
        return [InteractionSample(q, arrived, talk if outcome == "answered" else None)
                for q, arrived, outcome, talk in rows]


    async def purge_personal(self, before: datetime, *, at: datetime | None = None,
                             batch: int = _PURGE_BATCH) -> PurgedInteractions:
        """Retention: remove the personal fields (see :mod:`._redaction`) of every interaction that arrived
        before ``before`` and still has them, stamping ``redacted_at`` with ``at`` (now by default). Works in
        transactions of ``batch`` rows, so a first purge of years of calls never holds a long lock."""
        check_limit(batch)
        check(_INTERACTIONS, {"arrived_at": before, "redacted_at": at})
        query = (select(InteractionRow)
                 .where(InteractionRow.redacted_at.is_(None), InteractionRow.arrived_at < before)
                 .order_by(InteractionRow.arrived_at, InteractionRow.call_id).limit(batch))
        purged = 0
        prompts: builtins.list[str] = []
        while True:
            async with self._db.transaction("purge old interactions' personal fields") as session:
                rows = builtins.list(await session.scalars(query))
                for row in rows:
                    prompts.extend(prompts_of(row.ivr))
                    redact(row, (), at or utcnow(), default_country=self._country)
                await redact_chats(session, [row.call_id for row in rows if row.channel == "chat"])
            purged += len(rows)
            if len(rows) < batch:
                break
        # Refused copies of interaction rows (dead letters) hold the same personal fields: gone with them.
        async with self._db.transaction("purge old dead letters") as session:
            await session.execute(delete(DeadLetterRow).where(DeadLetterRow.kind == "interaction",
                                                              DeadLetterRow.at < before))
        return PurgedInteractions(purged, tuple(dict.fromkeys(prompts)))


def _within(within: Reach) -> ColumnElement[bool]:
    queues, agents = builtins.list(within.queues), builtins.list(within.agents)
    return or_(InteractionRow.queue.in_(queues), InteractionRow.agent_id.in_(agents))


def _record(row: InteractionRow) -> InteractionRecord:
    return InteractionRecord(**{name: getattr(row, name) for name in _FIELDS})
