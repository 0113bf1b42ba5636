"""Schedules as they are kept: a summary line per saved schedule, and a saved schedule whole.

Plain values; the store is :class:`cti.persistence.WfmRepository`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cti.wfm._scheduling import Schedule

__all__ = ["ScheduleSummary", "StoredSchedule"]


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
