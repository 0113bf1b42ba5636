"""Workforce management's schedules: each saved with its shifts, read whole or as summary lines.

The history the forecast reads is the interactions' (:meth:`InteractionRepository.samples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select

from cti.wfm import ACTIVITY_KINDS, Activity, AgentShift, CoverageRow, Schedule, ScheduleSummary, StoredSchedule

from ._database import Database
from ._errors import StorageError
from ._tables import WfmScheduleRow, WfmShiftRow

__all__ = ["WfmRepository"]

_NAME_LENGTH: Final = 128


class WfmRepository:
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
            row = WfmScheduleRow(
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
            session.add_all(WfmShiftRow(schedule_id=row.schedule_id, agent_id=s.agent_id, pattern=s.pattern,
                                        starts_at=s.start, ends_at=s.end,
                                        activities=[_activity_json(a) for a in s.activities])
                            for s in schedule.shifts)
            await session.flush()
            return StoredSchedule(_summary(row, len(schedule.shifts)), schedule)

    async def get_schedule(self, schedule_id: int) -> StoredSchedule | None:
        async with self._db.transaction(f"read schedule {schedule_id}") as session:
            row = await session.get(WfmScheduleRow, schedule_id)
            if row is None:
                return None
            shifts = list(await session.scalars(
                select(WfmShiftRow).where(WfmShiftRow.schedule_id == schedule_id)
                .order_by(WfmShiftRow.starts_at, WfmShiftRow.agent_id, WfmShiftRow.id)))
            return _stored(row, shifts)

    async def get_schedules(self, schedule_ids: Sequence[int]) -> list[StoredSchedule]:
        """Several schedules in two queries, in the order asked (unknown ids left out)."""
        if not schedule_ids:
            return []
        async with self._db.transaction(f"read {len(schedule_ids)} schedules") as session:
            rows = {row.schedule_id: row for row in await session.scalars(
                select(WfmScheduleRow).where(WfmScheduleRow.schedule_id.in_(schedule_ids)))}
            shifts: dict[int, list[WfmShiftRow]] = {schedule_id: [] for schedule_id in rows}
            for shift in await session.scalars(
                    select(WfmShiftRow).where(WfmShiftRow.schedule_id.in_(list(rows)))
                    .order_by(WfmShiftRow.starts_at, WfmShiftRow.agent_id, WfmShiftRow.id)):
                shifts[shift.schedule_id].append(shift)
            return [_stored(rows[i], shifts[i]) for i in schedule_ids if i in rows]

    async def list_schedules(self, *, overlapping: tuple[datetime, datetime] | None = None,
                             limit: int = 100, offset: int = 0) -> list[ScheduleSummary]:
        """Schedules, newest first; with ``overlapping=(start, end)`` only those with time in that window."""
        if limit < 1 or offset < 0:
            raise StorageError(f"limit must be at least 1 and offset at least 0, not {limit} and {offset}")
        counts = (select(WfmShiftRow.schedule_id, func.count(WfmShiftRow.id).label("shifts"))
                  .group_by(WfmShiftRow.schedule_id).subquery())
        query = (select(WfmScheduleRow, func.coalesce(counts.c.shifts, 0))
                 .outerjoin(counts, counts.c.schedule_id == WfmScheduleRow.schedule_id))
        if overlapping is not None:
            start, end = overlapping
            query = query.where(WfmScheduleRow.starts_at < end, WfmScheduleRow.ends_at > start)
        query = (query.order_by(WfmScheduleRow.created_at.desc(), WfmScheduleRow.schedule_id.desc())
                 .limit(limit).offset(offset))
        async with self._db.transaction("list schedules") as session:
            return [_summary(row, int(count)) for row, count in (await session.execute(query)).all()]

    async def current_schedule(self, start: datetime, end: datetime) -> StoredSchedule | None:
        """The newest schedule with time in ``[start, end)``: a re-plan replaces the plan it covers."""
        newest = await self.list_schedules(overlapping=(start, end), limit=1)
        return await self.get_schedule(newest[0].schedule_id) if newest else None


def _activity_json(activity: Activity) -> dict[str, Any]:
    return {"start": activity.start.isoformat(), "end": activity.end.isoformat(), "kind": activity.kind,
            "skill": activity.skill}


def _activity(data: dict[str, Any]) -> Activity:
    kind = data["kind"]
    if kind not in ACTIVITY_KINDS:
        raise StorageError(f"stored activity has an unknown kind {kind!r}")
    return Activity(datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]),
                    "work" if kind == "work" else "break", data.get("skill"))


def _summary(row: WfmScheduleRow, shifts: int) -> ScheduleSummary:
    return ScheduleSummary(row.schedule_id, row.name, row.starts_at, row.ends_at, row.interval_minutes, row.status,
                           row.objective, shifts, row.created_at)


def _stored(row: WfmScheduleRow, shifts: list[WfmShiftRow]) -> StoredSchedule:
    coverage = tuple(CoverageRow(datetime.fromisoformat(start), skill, int(required), int(scheduled))
                     for start, skill, required, scheduled in row.coverage)
    agent_shifts = tuple(AgentShift(s.agent_id, s.pattern, s.starts_at, s.ends_at,
                                    tuple(_activity(a) for a in s.activities)) for s in shifts)
    schedule = Schedule(row.starts_at, row.interval_minutes, agent_shifts, coverage, row.objective, row.status)
    return StoredSchedule(_summary(row, len(shifts)), schedule)
