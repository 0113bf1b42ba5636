"""The SQL adapter of workforce management: stored schedules, and the history the forecast reads.

Built on :class:`cti.storage.Database` (its ``transaction``): every failure is a
:class:`~cti.storage.StorageError`. Plain values in and out, as everywhere in storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select

from cti.storage import Database, StorageError
from cti.storage.models import Interaction
from cti.storage.wfm_models import WfmSchedule, WfmShift
from cti.wfm.forecast import InteractionSample
from cti.wfm.scheduling import CoverageRow, Schedule
from cti.wfm.shifts import ACTIVITY_KINDS, Activity, AgentShift

__all__ = ["ScheduleSummary", "StoredSchedule", "WfmStore"]

_NAME_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class ScheduleSummary:
    schedule_id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    interval_minutes: int
    status: str
    objective: float
    shifts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    summary: ScheduleSummary
    schedule: Schedule


class WfmStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save_schedule(self, name: str, schedule: Schedule) -> StoredSchedule:
        """Store ``schedule`` under ``name`` (names need not be unique: ids are)."""
        if not name or len(name) > _NAME_LENGTH:
            raise StorageError(f"cannot save schedule: its name must be 1 to {_NAME_LENGTH} characters")
        for shift in schedule.shifts:
            if len(shift.agent_id) > 64 or len(shift.pattern) > 64:
                raise StorageError(f"cannot save schedule {name!r}: agent id or pattern name over 64 characters")
        async with self._db.transaction(f"save schedule {name!r}") as session:
            row = WfmSchedule(
                name=name,
                starts_at=schedule.start,
                ends_at=schedule.end,
                interval_minutes=schedule.interval_minutes,
                status=schedule.status,
                objective=schedule.objective,
                coverage=[[r.start.isoformat(), r.skill, r.required, r.scheduled] for r in schedule.coverage],
            )
            session.add(row)
            await session.flush()
            session.add_all(WfmShift(schedule_id=row.schedule_id, agent_id=s.agent_id, pattern=s.pattern,
                                     starts_at=s.start, ends_at=s.end,
                                     activities=[_activity_json(a) for a in s.activities])
                            for s in schedule.shifts)
            await session.flush()
            return StoredSchedule(_summary(row, len(schedule.shifts)), schedule)

    async def get_schedule(self, schedule_id: int) -> StoredSchedule | None:
        async with self._db.transaction(f"read schedule {schedule_id}") as session:
            row = await session.get(WfmSchedule, schedule_id)
            if row is None:
                return None
            shifts = list(await session.scalars(
                select(WfmShift).where(WfmShift.schedule_id == schedule_id)
                .order_by(WfmShift.starts_at, WfmShift.agent_id, WfmShift.id)))
            return _stored(row, shifts)

    async def get_schedules(self, schedule_ids: Sequence[int]) -> list[StoredSchedule]:
        """Several schedules in two queries, in the order asked (unknown ids left out)."""
        if not schedule_ids:
            return []
        async with self._db.transaction(f"read {len(schedule_ids)} schedules") as session:
            rows = {row.schedule_id: row for row in await session.scalars(
                select(WfmSchedule).where(WfmSchedule.schedule_id.in_(schedule_ids)))}
            shifts: dict[int, list[WfmShift]] = {schedule_id: [] for schedule_id in rows}
            for shift in await session.scalars(
                    select(WfmShift).where(WfmShift.schedule_id.in_(list(rows)))
                    .order_by(WfmShift.starts_at, WfmShift.agent_id, WfmShift.id)):
                shifts[shift.schedule_id].append(shift)
            return [_stored(rows[i], shifts[i]) for i in schedule_ids if i in rows]

    async def list_schedules(self, *, overlapping: tuple[datetime, datetime] | None = None,
                             limit: int = 100, offset: int = 0) -> list[ScheduleSummary]:
        """Schedules, newest first; with ``overlapping=(start, end)`` only those with time in that window."""
        if limit < 1 or offset < 0:
            raise StorageError(f"limit must be at least 1 and offset at least 0, not {limit} and {offset}")
        counts = (select(WfmShift.schedule_id, func.count(WfmShift.id).label("shifts"))
                  .group_by(WfmShift.schedule_id).subquery())
        query = (select(WfmSchedule, func.coalesce(counts.c.shifts, 0))
                 .outerjoin(counts, counts.c.schedule_id == WfmSchedule.schedule_id))
        if overlapping is not None:
            start, end = overlapping
            query = query.where(WfmSchedule.starts_at < end, WfmSchedule.ends_at > start)
        query = (query.order_by(WfmSchedule.created_at.desc(), WfmSchedule.schedule_id.desc())
                 .limit(limit).offset(offset))
        async with self._db.transaction("list schedules") as session:
            return [_summary(row, int(count)) for row, count in (await session.execute(query)).all()]

    async def current_schedule(self, start: datetime, end: datetime) -> StoredSchedule | None:
        """The newest schedule with time in ``[start, end)``: a re-plan replaces the plan it covers."""
        newest = await self.list_schedules(overlapping=(start, end), limit=1)
        return await self.get_schedule(newest[0].schedule_id) if newest else None

    async def interactions(self, queue: str, start: datetime, end: datetime) -> list[InteractionSample]:
        """The queue's offered calls that arrived in ``[start, end)``, as forecast samples.

        The handle time is the talk time of answered calls: wrap-up is not recorded per interaction.
        """
        query = (select(Interaction.queue, Interaction.arrived_at, Interaction.outcome, Interaction.talk_seconds)
                 .where(Interaction.queue == queue, Interaction.arrived_at >= start, Interaction.arrived_at < end)
                 .order_by(Interaction.arrived_at))
        async with self._db.transaction(f"read interactions of queue {queue!r}") as session:
            rows = (await session.execute(query)).all()
        return [InteractionSample(q, arrived, talk if outcome == "answered" else None)
                for q, arrived, outcome, talk in rows]


def _activity_json(activity: Activity) -> dict[str, Any]:
    return {"start": activity.start.isoformat(), "end": activity.end.isoformat(), "kind": activity.kind,
            "skill": activity.skill}


def _activity(data: dict[str, Any]) -> Activity:
    kind = data["kind"]
    if kind not in ACTIVITY_KINDS:
        raise StorageError(f"stored activity has an unknown kind {kind!r}")
    return Activity(datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]),
                    "work" if kind == "work" else "break", data.get("skill"))


def _summary(row: WfmSchedule, shifts: int) -> ScheduleSummary:
    return ScheduleSummary(row.schedule_id, row.name, row.starts_at, row.ends_at, row.interval_minutes, row.status,
                           row.objective, shifts, row.created_at)


def _stored(row: WfmSchedule, shifts: list[WfmShift]) -> StoredSchedule:
    coverage = tuple(CoverageRow(datetime.fromisoformat(start), skill, int(required), int(scheduled))
                     for start, skill, required, scheduled in row.coverage)
    agent_shifts = tuple(AgentShift(s.agent_id, s.pattern, s.starts_at, s.ends_at,
                                    tuple(_activity(a) for a in s.activities)) for s in shifts)
    schedule = Schedule(row.starts_at, row.interval_minutes, agent_shifts, coverage, row.objective, row.status)
    return StoredSchedule(_summary(row, len(shifts)), schedule)
