"""ORM tables of workforce management (schedules and their shifts).

Registered on the shared :class:`~cti.storage.models.Base` so one Alembic history owns every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow

__all__ = ["WfmSchedule", "WfmShift"]


class WfmSchedule(Base):
    __tablename__ = "wfm_schedules"

    schedule_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float)
    coverage: Mapped[list[Any]] = mapped_column(JSON)
    """Per interval and skill: ``[start ISO, skill, required, scheduled]``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WfmShift(Base):
    __tablename__ = "wfm_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("wfm_schedules.schedule_id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    pattern: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activities: Mapped[list[Any]] = mapped_column(JSON)
    """``[{"start": ISO, "end": ISO, "kind": "work" | "break", "skill": name | null}, ...]``."""
