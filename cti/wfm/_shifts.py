"""What a schedule says an agent does: shifts made of work and break activities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from cti.wfm._errors import WfmError

__all__ = ["ACTIVITY_KINDS", "Activity", "ActivityKind", "AgentShift"]

ActivityKind = Literal["work", "break"]
ACTIVITY_KINDS: Final = ("work", "break")


@dataclass(frozen=True, slots=True)
class Activity:
    """``[start, end)`` of work (on ``skill``'s queue, if the schedule chose one) or of a break."""

    start: datetime
    end: datetime
    kind: ActivityKind
    skill: str | None = None


@dataclass(frozen=True, slots=True)
class AgentShift:
    """One agent's shift ``[start, end)``; its activities cover it in order, without gaps."""

    agent_id: str
    pattern: str
    start: datetime
    end: datetime
    activities: tuple[Activity, ...]

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise WfmError(f"shift of {self.agent_id!r}: the start must come before the end")
        if not self.activities:
            raise WfmError(f"shift of {self.agent_id!r} has no activities")
        cursor = self.start
        for activity in self.activities:
            if activity.start != cursor or not activity.start < activity.end:
                raise WfmError(f"shift of {self.agent_id!r}: activities must cover the shift in order without gaps")
            cursor = activity.end
        if cursor != self.end:
            raise WfmError(f"shift of {self.agent_id!r}: activities must end with the shift")

    def activity_at(self, at: datetime) -> Activity | None:
        for activity in self.activities:
            if activity.start <= at < activity.end:
                return activity
        return None
