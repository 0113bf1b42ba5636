"""Time for statistics: exact instants, the live windows and report interval boundaries.

Every sum is kept in integer microseconds since the Unix epoch, so a total built event by event equals the same
total built in one pass, bit for bit (float seconds would drift with the order of additions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["Sliding", "Today", "Window", "day_start", "from_us", "interval_bounds", "to_us"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch; ``moment`` must be timezone-aware."""
    return (moment - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def day_start(day: date, tz: tzinfo) -> datetime:
    """Local midnight that starts ``day`` in ``tz``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Today:
    """From local midnight (in ``tz``, e.g. Asia/Jakarta) up to now."""

    tz: tzinfo
    name: str = "today"

    def start(self, now: datetime) -> datetime:
        return day_start(now.astimezone(self.tz).date(), self.tz)


@dataclass(frozen=True, slots=True)
class Sliding:
    """The last ``minutes`` up to now."""

    minutes: int
    label: str | None = None

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError(f"a sliding window needs a positive length, not {self.minutes} minutes")

    @property
    def name(self) -> str:
        return self.label or f"last_{self.minutes}m"

    def start(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.minutes)


Window = Today | Sliding


def interval_bounds(first_day: date, last_day: date, tz: tzinfo, minutes: int) -> list[datetime]:
    """Boundaries (UTC) of ``minutes``-long intervals from ``first_day``'s local midnight to the one after
    ``last_day``. Each local day starts a fresh series, so a day with a clock change ends with a shorter interval.
    """
    if minutes <= 0 or (24 * 60) % minutes:
        raise ValueError(f"the interval must divide a day into whole parts, not {minutes} minutes")
    if last_day < first_day:
        raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
    step = timedelta(minutes=minutes)
    bounds: list[datetime] = []
    day = first_day
    while day <= last_day:
        start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
        moment = start
        while moment < end:
            bounds.append(moment)
            moment += step
        day += timedelta(days=1)
    bounds.append(day_start(day, tz))
    return bounds
