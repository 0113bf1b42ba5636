"""Business-hours calendars: when a queue is open.

A calendar gives each weekday's opening spans in its own local time zone, plus holidays (closed all day) and
special dates with other hours. Pure: callers pass aware datetimes; nothing here reads the clock.

The rules:

* A span ``(open, close)`` is half-open, ``[open, close)``, in local wall time. A close of ``00:00`` (written
  ``"24:00"`` in the rules file) means the end of that day; ``00:00-00:00`` is the whole day.
* A span whose close is earlier than its open crosses midnight: ``22:00-06:00`` on Friday runs until Saturday
  06:00. The span belongs to the day it *starts* on, and only that day decides whether it runs: a holiday on
  Friday cancels it, a holiday on Saturday does not cut it short.
* What a local date's hours are: its ``special`` entry if any, else closed if it is a holiday, else its weekday's.
* Adjacent spans (Friday ``22:00-24:00`` then Saturday ``00:00-06:00``) join: there is no change at midnight.
* Local wall times that do not exist (a DST gap) are moved later by the gap's length; ambiguous ones take the first
  occurrence (Python's ``fold=0``). Indonesian zones have no DST; this only keeps other zones well defined.

Everything is computed on UTC instants built from these rules, so ``is_open``, ``next_change`` and
``next_open`` always agree with each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cti.acd._errors import CalendarError

__all__ = [
    "CALENDAR_24X7",
    "TIMEZONE_ALIASES",
    "Calendar",
    "OpeningHours",
    "parse_calendar",
]

Span = tuple[time, time]

# Indonesia's three zones by the names operators use.
TIMEZONE_ALIASES: Mapping[str, str] = MappingProxyType(
    {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
)

_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_CHANGE_HORIZON = timedelta(days=14)
_OPEN_HORIZON = timedelta(days=366)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FIELDS = frozenset({"timezone", "hours", "holidays", "special", "always_open"})
_TIME = re.compile(r"(\d\d):(\d\d)")
# fromisoformat alone would also take "20261225" or week dates; the rules file promises YYYY-MM-DD.
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _error(calendar: str, where: str, problem: str) -> CalendarError:
    return CalendarError(f"calendar {calendar!r}: {where}: {problem}")


def _fmt_time(t: time, *, close: bool = False) -> str:
    if close and t == _MIDNIGHT:
        return "24:00"
    return t.isoformat("minutes") if t.second == t.microsecond == 0 else t.isoformat()


def _fmt_span(span: Span) -> str:
    return f"{_fmt_time(span[0])}-{_fmt_time(span[1], close=True)}"


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """One day's opening spans in local time; several are allowed (a lunch break is two spans).

    Raises ``ValueError`` for a span that is not two naive times, an empty span or overlapping spans.
    """

    spans: tuple[Span, ...]
    # (start, end, span) as offsets from the day's midnight, sorted; end passes 24h for a span crossing midnight.
    intervals: tuple[tuple[timedelta, timedelta, Span], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for span in self.spans:
            if not (isinstance(span, tuple) and len(span) == 2 and all(isinstance(t, time) for t in span)):
                raise ValueError(f"span {span!r} is not an (open, close) pair of times")
            if span[0].tzinfo is not None or span[1].tzinfo is not None:
                raise ValueError(f"span {_fmt_span(span)} has a time zone; times are local to the calendar")
            if span[0] == span[1] and span[0] != _MIDNIGHT:
                raise ValueError(f"span {_fmt_span(span)} is empty: close must not equal open")
        intervals = sorted((*self._interval(span), span) for span in self.spans)
        for (_, end, first), (start, _, second) in pairwise(intervals):
            if start < end:
                raise ValueError(f"spans {_fmt_span(first)} and {_fmt_span(second)} overlap")
        object.__setattr__(self, "intervals", tuple(intervals))

    @staticmethod
    def _interval(span: Span) -> tuple[timedelta, timedelta]:
        start, end = _since_midnight(span[0]), _since_midnight(span[1])
        # A close of 00:00, or any close not after the open, lands on the next day.
        return start, (end + _DAY if end <= start else end)

    @property
    def carry(self) -> tuple[timedelta, Span] | None:
        """How far past the next midnight the day's last span runs, and that span; None if it does not."""
        if self.intervals and self.intervals[-1][1] > _DAY:
            return self.intervals[-1][1] - _DAY, self.intervals[-1][2]
        return None


_CLOSED = OpeningHours(())


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a queue is open; see the module docstring for the rules. Invalid definitions raise CalendarError."""

    name: str
    timezone: str  # IANA name
    weekly: Mapping[int, tuple[Span, ...]]  # weekday (0=Mon..6=Sun) -> spans; a missing day is closed
    holidays: frozenset[date] = frozenset()  # local dates closed all day
    special: Mapping[date, tuple[Span, ...]] = field(default_factory=dict)  # other hours; () = closed
    always_open: bool = False  # 24x7: the other fields are not consulted
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[OpeningHours, ...] = field(init=False, repr=False, compare=False)
    _special: Mapping[date, OpeningHours] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise _error(self.name, "timezone", f"unknown time zone {self.timezone!r}") from exc
        week = [_CLOSED] * 7
        for weekday, spans in self.weekly.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise _error(self.name, "weekly", f"weekday {weekday!r} is not 0 (Mon) to 6 (Sun)")
            week[weekday] = self._hours(f"hours.{_DAY_NAMES[weekday]}", spans)
        for holiday in self.holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise _error(self.name, "holidays", f"{holiday!r} is not a date")
        special: dict[date, OpeningHours] = {}
        for day, spans in self.special.items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise _error(self.name, "special", f"{day!r} is not a date")
            special[day] = self._hours(f"special.{day.isoformat()}", spans)
        # Copies, so a caller mutating its dicts later cannot change a frozen calendar.
        object.__setattr__(self, "weekly", MappingProxyType({d: week[d].spans for d in sorted(self.weekly)}))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "special", MappingProxyType({d: h.spans for d, h in special.items()}))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_week", tuple(week))
        object.__setattr__(self, "_special", MappingProxyType(special))
        self._check_carries()

    def _hours(self, where: str, spans: object) -> OpeningHours:
        if not isinstance(spans, Sequence) or isinstance(spans, str):
            raise _error(self.name, where, "spans must be a sequence of (open, close) pairs")
        try:
            return OpeningHours(tuple(spans))
        except ValueError as exc:
            raise _error(self.name, where, str(exc)) from exc

    def _check_carries(self) -> None:
        """A span running past midnight must end before the next day's first span starts."""

        def check(where: str, hours: OpeningHours, following: OpeningHours) -> None:
            if (carry := hours.carry) is not None and following.intervals and following.intervals[0][0] < carry[0]:
                raise _error(
                    self.name,
                    where,
                    f"span {_fmt_span(carry[1])} runs into the next day's span {_fmt_span(following.intervals[0][2])}",
                )

        for weekday in range(7):
            check(f"hours.{_DAY_NAMES[weekday]}", self._week[weekday], self._week[(weekday + 1) % 7])
        for day in self._special:
            check(f"special.{(day - _DAY).isoformat()}", self._on(day - _DAY), self._on(day))
            check(f"special.{day.isoformat()}", self._on(day), self._on(day + _DAY))

    def _on(self, day: date) -> OpeningHours:
        if (hours := self._special.get(day)) is not None:
            return hours
        return _CLOSED if day in self.holidays else self._week[day.weekday()]

    def _spans_of(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The UTC instants of the spans starting on local date ``day``."""
        # Aware + timedelta is wall-clock arithmetic in Python; astimezone then resolves gaps and folds.
        midnight = datetime.combine(day, _MIDNIGHT, tzinfo=self._zone)
        for start, end, _ in self._on(day).intervals:
            opens, closes = (midnight + start).astimezone(UTC), (midnight + end).astimezone(UTC)
            if opens < closes:  # a span swallowed by a DST gap is simply not there
                yield opens, closes

    def _merged(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """Open periods of the spans starting on ``first``..``last``, overlapping and touching ones joined."""
        spans = sorted(span for n in range((last - first).days + 1) for span in self._spans_of(first + n * _DAY))
        merged: list[tuple[datetime, datetime]] = []
        for opens, closes in spans:
            if merged and opens <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
            else:
                merged.append((opens, closes))
        return merged

    def _require_aware(self, at: datetime) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"calendar {self.name!r}: {at.isoformat()} is naive; pass an aware datetime")

    def is_open(self, at: datetime) -> bool:
        """Whether the queue is open at ``at`` (aware; ValueError if naive)."""
        self._require_aware(at)
        if self.always_open:
            return True
        try:
            today = at.astimezone(self._zone).date()
            # A span lasts at most 24h, so only yesterday's (crossing midnight) and today's can hold `at`;
            # tomorrow's is included for DST edge cases where wall-clock shifts blur the date.
            return any(o <= at < c for n in (-1, 0, 1) for o, c in self._spans_of(today + n * _DAY))
        except OverflowError:
            # Only within a day of year 1 or 9999, where local dates cannot be formed; no queue runs there.
            return False

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` where open/closed flips (UTC), if within 14 days; None for 24x7."""
        self._require_aware(at)
        if self.always_open:
            return None
        today = at.astimezone(self._zone).date()
        # Starting two days back catches spans still running at `at`; 16 days ahead covers the horizon.
        for opens, closes in self._merged(today - 2 * _DAY, today + 16 * _DAY):
            for boundary in (opens, closes):
                if boundary > at:
                    return boundary if boundary - at <= _CHANGE_HORIZON else None
        return None

    def next_open(self, at: datetime) -> datetime | None:
        """``at`` (as UTC) if open, else the next opening instant (UTC); None if none within 366 days."""
        if self.is_open(at):  # also rejects a naive `at`
            return at.astimezone(UTC)
        today = at.astimezone(self._zone).date()
        # `at` is closed, so the earliest span start after it is an opening: nothing between can be open.
        best: datetime | None = None
        found_on: date | None = None
        for n in range(_OPEN_HORIZON.days + 2):
            day = today + n * _DAY
            if found_on is not None and day > found_on + _DAY:
                break  # a later day's spans cannot start earlier (one day of slack for DST shifts)
            for opens, _ in self._spans_of(day):
                if opens > at and (best is None or opens < best):
                    best, found_on = opens, found_on or day
        return best if best is not None and best - at <= _OPEN_HORIZON else None


CALENDAR_24X7 = Calendar("24x7", "UTC", {}, always_open=True)


def _parse_time(text: str, *, close: bool) -> time | None:
    if (match := _TIME.fullmatch(text.strip())) is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    if close and (hour, minute) == (24, 0):
        return _MIDNIGHT  # end of day, the same meaning as a close of 00:00
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _parse_spans(calendar: str, where: str, value: object) -> tuple[Span, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _error(calendar, where, f'expected a list of "HH:MM-HH:MM" spans, got {value!r}')
    spans: list[Span] = []
    for i, text in enumerate(value):
        parts = text.split("-") if isinstance(text, str) else []
        opens = _parse_time(parts[0], close=False) if len(parts) == 2 else None
        closes = _parse_time(parts[1], close=True) if len(parts) == 2 else None
        if opens is None or closes is None:
            raise _error(calendar, f"{where}[{i}]", f'bad time span {text!r}; expected "HH:MM-HH:MM"')
        spans.append((opens, closes))
    try:
        OpeningHours(tuple(spans))  # reported here so the message names the key as written
    except ValueError as exc:
        raise _error(calendar, where, str(exc)) from exc
    return tuple(spans)


def _parse_days(key: object) -> tuple[int, ...] | None:
    if not isinstance(key, str):
        return None
    key = key.strip().lower()
    if key == "daily":
        return tuple(range(7))
    if key in _DAY_NAMES:
        return (_DAY_NAMES.index(key),)
    first, dash, last = key.partition("-")
    if not dash or first.strip() not in _DAY_NAMES or last.strip() not in _DAY_NAMES:
        return None
    start, stop = _DAY_NAMES.index(first.strip()), _DAY_NAMES.index(last.strip())
    # Ranges may wrap the week: "fri-mon" is Fri, Sat, Sun, Mon.
    return tuple((start + n) % 7 for n in range((stop - start) % 7 + 1))


def _parse_date(value: object) -> date | None:
    # YAML turns unquoted dates into date objects; accept those as well as strings.
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_calendar(name: str, data: Mapping[str, Any]) -> Calendar:
    """Build a calendar from its rules-file form (see the module docstring); CalendarError if invalid."""
    if not isinstance(data, Mapping):
        raise _error(name, "calendar", f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in _FIELDS:
            raise _error(name, str(key), f"unknown field; expected one of {', '.join(sorted(_FIELDS))}")
    always_open = data.get("always_open", False)
    if not isinstance(always_open, bool):
        raise _error(name, "always_open", f"expected true or false, got {always_open!r}")
    zone = data.get("timezone", "UTC" if always_open else None)
    if zone is None:
        raise _error(name, "timezone", "missing")
    if not isinstance(zone, str):
        raise _error(name, "timezone", f"unknown time zone {zone!r}")
    zone = TIMEZONE_ALIASES.get(zone.strip().upper(), zone.strip())
    if always_open:
        for key in ("hours", "holidays", "special"):
            if key in data:
                raise _error(name, key, "not allowed with always_open: true")
        return Calendar(name, zone, {}, always_open=True)

    hours = data.get("hours")
    if hours is None:
        raise _error(name, "hours", "missing; give opening hours or always_open: true")
    if not isinstance(hours, Mapping):
        raise _error(name, "hours", "expected a mapping of day keys (mon..sun, mon-fri, daily) to spans")
    weekly: dict[int, tuple[Span, ...]] = {}
    for key, value in hours.items():  # in file order, so later keys override earlier ones
        days = _parse_days(key)
        if days is None:
            raise _error(name, f"hours.{key}", "bad day key; expected mon..sun, a range like mon-fri, or daily")
        spans = _parse_spans(name, f"hours.{key}", value)
        weekly.update(dict.fromkeys(days, spans))

    raw_holidays = data.get("holidays", [])
    if not isinstance(raw_holidays, Sequence) or isinstance(raw_holidays, str):
        raise _error(name, "holidays", "expected a list of YYYY-MM-DD dates")
    holidays: set[date] = set()
    for i, value in enumerate(raw_holidays):
        if (day := _parse_date(value)) is None:
            raise _error(name, f"holidays[{i}]", f"bad date {value!r}; expected YYYY-MM-DD")
        holidays.add(day)

    raw_special = data.get("special", {})
    if not isinstance(raw_special, Mapping):
        raise _error(name, "special", "expected a mapping of YYYY-MM-DD dates to spans")
    special: dict[date, tuple[Span, ...]] = {}
    for key, value in raw_special.items():
        if (day := _parse_date(key)) is None:
            raise _error(name, f"special.{key}", f"bad date {key!r}; expected YYYY-MM-DD")
        special[day] = _parse_spans(name, f"special.{key}", value)

    return Calendar(name, zone, weekly, frozenset(holidays), special)
