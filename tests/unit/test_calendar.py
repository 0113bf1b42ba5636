"""Business-hours calendars: exact boundaries, zones, midnight-crossing spans, validation, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.acd import CALENDAR_24X7, Calendar, CalendarError, OpeningHours, parse_calendar

WIB = ZoneInfo("Asia/Jakarta")  # UTC+7
WITA = ZoneInfo("Asia/Makassar")  # UTC+8
WIT = ZoneInfo("Asia/Jayapura")  # UTC+9
US = timedelta(microseconds=1)

OFFICE: dict[str, Any] = {
    "timezone": "Asia/Jakarta",
    "hours": {"mon-fri": ["08:00-12:00", "13:00-17:00"], "sat": ["08:00-13:00"], "sun": []},
    "holidays": ["2026-12-25", "2027-01-01"],  # Fri, Fri
    "special": {"2026-12-24": ["08:00-12:00"]},  # Thu, short day before Christmas
}
office = parse_calendar("office", OFFICE)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WIB)


def wita(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WITA)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# 2026-11-23 is a Monday; 11-28 Sat, 11-29 Sun.
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (wib(2026, 11, 23, 7, 59, 59), False),
        (wib(2026, 11, 23, 8, 0, 0), True),  # [open, close): open at the open
        (wib(2026, 11, 23, 11, 59, 59), True),
        (wib(2026, 11, 23, 12, 0, 0), False),  # lunch
        (wib(2026, 11, 23, 12, 59, 59), False),
        (wib(2026, 11, 23, 13, 0, 0), True),
        (wib(2026, 11, 23, 16, 59, 59), True),
        (wib(2026, 11, 23, 17, 0, 0), False),  # closed at the close
        (wib(2026, 11, 28, 12, 59), True),  # Saturday short day
        (wib(2026, 11, 28, 13, 0), False),
        (wib(2026, 11, 28, 15, 0), False),
        (wib(2026, 11, 29, 10, 0), False),  # Sunday closed
        (wib(2026, 12, 25, 10, 0), False),  # holiday (a Friday)
        (wib(2027, 1, 1, 9, 0), False),  # holiday
        (wib(2026, 12, 24, 11, 59), True),  # special short day
        (wib(2026, 12, 24, 12, 0), False),
        (wib(2026, 12, 24, 14, 0), False),  # would be open on a normal Thursday
        (wib(2026, 12, 23, 14, 0), True),  # the normal Wednesday before
    ],
    ids=str,
)
def test_office_hours(at: datetime, expected: bool) -> None:
    assert office.is_open(at) is expected
    assert office.is_open(at.astimezone(UTC)) is expected  # the same instant in any zone


def test_the_same_instant_differs_by_zone() -> None:
    hours = {"mon-fri": ["08:00-17:00"]}
    cals = {z: parse_calendar(z, {"timezone": z, "hours": hours}) for z in ("WIB", "WITA", "WIT")}
    # Mon 09:30 UTC = 16:30 WIB (open), 17:30 WITA (closed), 18:30 WIT (closed).
    assert [c.is_open(utc(2026, 11, 23, 9, 30)) for c in cals.values()] == [True, False, False]
    # Mon 00:30 UTC = 07:30 WIB (closed), 08:30 WITA (open), 09:30 WIT (open).
    assert [c.is_open(utc(2026, 11, 23, 0, 30)) for c in cals.values()] == [False, True, True]
    # Sun 23:30 UTC = Mon 06:30 WIB, 07:30 WITA (closed), 08:30 WIT (open).
    assert [c.is_open(utc(2026, 11, 22, 23, 30)) for c in cals.values()] == [False, False, True]
    # Each opens at its own local 08:00.
    assert [c.next_open(utc(2026, 11, 22, 12)) for c in cals.values()] == [
        utc(2026, 11, 23, 1),
        utc(2026, 11, 23, 0),
        utc(2026, 11, 22, 23),
    ]


@pytest.mark.parametrize(
    ("alias", "iana"),
    [("WIB", "Asia/Jakarta"), ("WITA", "Asia/Makassar"), ("WIT", "Asia/Jayapura"), ("wita", "Asia/Makassar")],
)
def test_timezone_aliases(alias: str, iana: str) -> None:
    assert parse_calendar("q", {"timezone": alias, "hours": {}}).timezone == iana


def test_next_change_and_next_open_across_a_weekend() -> None:
    assert office.next_change(wib(2026, 11, 27, 16, 0)) == utc(2026, 11, 27, 10)  # Fri 17:00 WIB
    assert office.next_change(wib(2026, 11, 27, 17, 0)) == utc(2026, 11, 28, 1)  # at the close: Sat 08:00
    assert office.next_change(wib(2026, 11, 28, 14, 0)) == utc(2026, 11, 30, 1)  # Mon 08:00 WIB
    assert office.next_open(wib(2026, 11, 28, 13, 30)) == utc(2026, 11, 30, 1)
    assert office.next_change(wib(2026, 11, 23, 12, 30)) == utc(2026, 11, 23, 6)  # lunch ends 13:00
    result = office.next_change(wib(2026, 11, 23, 9, 0))
    assert result == utc(2026, 11, 23, 5) and result.tzinfo is UTC


def test_next_change_and_next_open_across_a_holiday() -> None:
    # Thu 24th (short day) -> Fri 25th (holiday) -> Sat 26th 08:00.
    assert office.next_change(wib(2026, 12, 24, 11, 0)) == utc(2026, 12, 24, 5)
    assert office.next_change(wib(2026, 12, 24, 12, 0)) == utc(2026, 12, 26, 1)
    assert office.next_open(wib(2026, 12, 24, 12, 30)) == utc(2026, 12, 26, 1)
    assert office.next_open(wib(2026, 12, 31, 17, 30)) == utc(2027, 1, 2, 1)  # New Year's Day is Friday


def test_next_open_when_already_open_is_that_instant_in_utc() -> None:
    at = wib(2026, 11, 23, 9, 15)
    assert office.next_open(at) == at
    assert office.next_open(at).tzinfo is UTC  # type: ignore[union-attr]


def test_nothing_ahead() -> None:
    closed = parse_calendar("closed", {"timezone": "WIB", "hours": {"daily": []}})
    assert not closed.is_open(wib(2026, 11, 23, 10))
    assert closed.next_change(wib(2026, 11, 23, 10)) is None
    assert closed.next_open(wib(2026, 11, 23, 10)) is None
    # A lone special day: beyond the horizons (14 days for changes, 366 for openings) it is not reported.
    lone = parse_calendar("lone", {"timezone": "WIB", "hours": {}, "special": {"2026-12-10": ["09:00-10:00"]}})
    assert lone.next_change(wib(2026, 11, 23)) is None  # 17 days ahead
    assert lone.next_change(wib(2026, 11, 30)) == utc(2026, 12, 10, 2)
    assert lone.next_open(wib(2025, 12, 1)) is None  # 374 days ahead
    assert lone.next_open(wib(2026, 1, 1)) == utc(2026, 12, 10, 2)


def test_midnight_crossing_span() -> None:
    night = parse_calendar("night", {"timezone": "WITA", "hours": {"fri": ["22:00-06:00"]}})
    assert not night.is_open(wita(2026, 11, 26, 23, 0))  # Thursday night: no span started on Thursday
    assert not night.is_open(wita(2026, 11, 27, 21, 59, 59))
    assert night.is_open(wita(2026, 11, 27, 22, 0))
    assert night.is_open(wita(2026, 11, 28, 0, 0))  # Saturday, still Friday's span
    assert night.is_open(wita(2026, 11, 28, 5, 59, 59))
    assert not night.is_open(wita(2026, 11, 28, 6, 0))
    assert night.next_change(wita(2026, 11, 27, 12)) == utc(2026, 11, 27, 14)  # Fri 22:00 WITA
    assert night.next_change(wita(2026, 11, 27, 23)) == utc(2026, 11, 27, 22)  # Sat 06:00 WITA
    assert night.next_open(wita(2026, 11, 28, 6)) == utc(2026, 12, 4, 14)  # next Friday
    # The day the span starts on decides: a holiday on Friday cancels it, one on Saturday does not cut it.
    fri_off = parse_calendar("n", {"timezone": "WITA", "hours": {"fri": ["22:00-06:00"]}, "holidays": ["2026-11-27"]})
    assert not fri_off.is_open(wita(2026, 11, 27, 23)) and not fri_off.is_open(wita(2026, 11, 28, 1))
    sat_off = parse_calendar("n", {"timezone": "WITA", "hours": {"fri": ["22:00-06:00"]}, "holidays": ["2026-11-28"]})
    assert sat_off.is_open(wita(2026, 11, 28, 1))


def test_adjacent_spans_join_across_midnight() -> None:
    cal = parse_calendar("j", {"timezone": "WIB", "hours": {"fri": ["22:00-24:00"], "sat": ["00:00-06:00"]}})
    assert cal.is_open(wib(2026, 11, 27, 23, 59, 59)) and cal.is_open(wib(2026, 11, 28, 0, 0))
    assert cal.next_change(wib(2026, 11, 27, 23)) == utc(2026, 11, 27, 23)  # Sat 06:00 WIB, not midnight
    daily_night = parse_calendar("d", {"timezone": "WIB", "hours": {"daily": ["18:00-06:00"]}})
    assert daily_night.next_change(wib(2026, 11, 23, 20)) == utc(2026, 11, 23, 23)  # Tue 06:00 WIB


def test_whole_day_spans() -> None:
    for text in ("00:00-24:00", "00:00-00:00"):
        cal = parse_calendar("w", {"timezone": "WIB", "hours": {"mon-tue": [text]}})
        assert cal.is_open(wib(2026, 11, 23, 0)) and cal.is_open(wib(2026, 11, 24, 23, 59))
        assert not cal.is_open(wib(2026, 11, 25, 0))
        assert cal.next_change(wib(2026, 11, 23, 12)) == utc(2026, 11, 24, 17)  # Wed 00:00 WIB


def test_later_day_keys_override_earlier_ones() -> None:
    cal = parse_calendar("o", {"timezone": "WIB", "hours": {"daily": ["09:00-10:00"], "sun": [], "fri-mon": []}})
    assert cal.weekly == {0: (), 1: ((time(9), time(10)),), 2: ((time(9), time(10)),), 3: ((time(9), time(10)),)} | {
        4: (),
        5: (),
        6: (),
    }


def test_yaml_native_dates_are_accepted() -> None:
    cal = parse_calendar(
        "y", {"timezone": "WIB", "hours": {"daily": ["08:00-17:00"]}, "holidays": [date(2026, 12, 25)]}
    )
    assert cal.holidays == frozenset({date(2026, 12, 25)})


def test_24x7() -> None:
    at = wib(2026, 12, 25, 3, 0)  # a holiday, at night: irrelevant
    assert CALENDAR_24X7.always_open
    assert CALENDAR_24X7.is_open(at)
    assert CALENDAR_24X7.next_change(at) is None
    assert CALENDAR_24X7.next_open(at) == at
    parsed = parse_calendar("all", {"always_open": True, "timezone": "WIT"})
    assert parsed.always_open and parsed.timezone == "Asia/Jayapura" and parsed.is_open(at)
    assert parse_calendar("all", {"always_open": True}).timezone == "UTC"


@pytest.mark.parametrize("cal", [office, CALENDAR_24X7], ids=["office", "24x7"])
def test_naive_datetimes_are_rejected(cal: Calendar) -> None:
    naive = datetime(2026, 11, 23, 9, 0)
    for method in (cal.is_open, cal.next_change, cal.next_open):
        with pytest.raises(ValueError, match="naive"):
            method(naive)


def with_(**changes: Any) -> dict[str, Any]:
    return {**OFFICE, **changes}


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        (with_(timezone="Mars/Olympus"), "timezone", "unknown time zone 'Mars/Olympus'"),
        (with_(timezone="../etc/passwd"), "timezone", "unknown time zone"),
        (with_(timezone=7), "timezone", "unknown time zone"),
        ({"hours": {}}, "timezone", "missing"),
        ({"timezone": "WIB"}, "hours", "missing"),
        (with_(hours=["08:00-17:00"]), "hours", "expected a mapping"),
        (with_(hours={"funday": []}), "hours.funday", "bad day key"),
        (with_(hours={"mon-xyz": []}), "hours.mon-xyz", "bad day key"),
        (with_(hours={"mon": "08:00-17:00"}), "hours.mon", "expected a list"),
        (with_(hours={"mon": ["8:00-17:00"]}), r"hours.mon\[0\]", "bad time span '8:00-17:00'"),
        (with_(hours={"mon": ["08:00-25:00"]}), r"hours.mon\[0\]", "bad time span"),
        (with_(hours={"mon": ["08:60-17:00"]}), r"hours.mon\[0\]", "bad time span"),
        (with_(hours={"mon": ["24:00-17:00"]}), r"hours.mon\[0\]", "bad time span"),  # 24:00 only closes
        (with_(hours={"mon": ["08:00"]}), r"hours.mon\[0\]", "bad time span"),
        (with_(hours={"mon": ["08:00-12:00", "13:00-14:00-15:00"]}), r"hours.mon\[1\]", "bad time span"),
        (with_(hours={"mon": [800]}), r"hours.mon\[0\]", "bad time span"),
        (with_(hours={"mon": ["08:00-08:00"]}), "hours.mon", "close must not equal open"),
        (with_(hours={"mon-fri": ["08:00-12:00", "11:00-13:00"]}), "hours.mon-fri", "overlap"),
        (with_(hours={"mon": ["13:00-17:00", "08:00-13:30"]}), "hours.mon", "overlap"),
        (with_(hours={"mon": ["22:00-06:00", "23:00-23:30"]}), "hours.mon", "overlap"),
        (with_(hours={"fri": ["22:00-06:00"], "sat": ["05:00-08:00"]}), "hours.fri", "runs into the next day"),
        (with_(hours={"sun": ["22:00-06:00"], "mon": ["05:00-08:00"]}), "hours.sun", "runs into the next day"),
        (
            with_(hours={"daily": ["08:00-12:00"]}, special={"2026-12-22": ["20:00-09:00"]}),
            "special.2026-12-22",
            "runs into the next day",
        ),
        (
            with_(hours={"wed": ["20:00-09:00"], "thu": []}, special={"2026-12-24": ["08:00-12:00"]}),
            "special.2026-12-23",
            "runs into the next day",
        ),
        (with_(holidays=["2026-13-01"]), r"holidays\[0\]", "bad date '2026-13-01'"),
        (with_(holidays=["2026-12-25", "tomorrow"]), r"holidays\[1\]", "bad date"),
        (with_(holidays=["20261225"]), r"holidays\[0\]", "bad date"),
        (with_(holidays="2026-12-25"), "holidays", "expected a list"),
        (with_(special={"2026-02-30": []}), "special.2026-02-30", "bad date"),
        (with_(special={"2026-12-24": ["12:00-08:00", "13:00-14:00"]}), "special.2026-12-24", "overlap"),
        (with_(special=["2026-12-24"]), "special", "expected a mapping"),
        (with_(open=True), "open", "unknown field"),
        ({"always_open": "yes"}, "always_open", "expected true or false"),
        ({"always_open": True, "hours": {}}, "hours", "not allowed with always_open"),
        ({"always_open": True, "timezone": "Nowhere/Land"}, "timezone", "unknown time zone"),
    ],
)
def test_parse_errors_name_the_calendar_and_field(data: dict[str, Any], where: str, problem: str) -> None:
    with pytest.raises(CalendarError, match=rf"^calendar 'support': {where}: .*{problem}"):
        parse_calendar("support", data)


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)
    with pytest.raises(CalendarError, match="calendar 'x': calendar: expected a mapping"):
        parse_calendar("x", ["not", "a", "mapping"])  # type: ignore[arg-type]


NINE_TO_FIVE = ((time(9), time(17)),)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timezone": "Not/AZone"}, "timezone: unknown time zone"),
        ({"weekly": {7: NINE_TO_FIVE}}, "weekly: weekday 7 is not 0"),
        ({"weekly": {True: NINE_TO_FIVE}}, "weekly: weekday True"),
        ({"weekly": {0: ((time(9),),)}}, "hours.mon: span .* is not an \\(open, close\\) pair"),
        ({"weekly": {0: (("09:00", "17:00"),)}}, "hours.mon: span .* is not an \\(open, close\\) pair"),
        ({"weekly": {0: "09:00-17:00"}}, "hours.mon: spans must be a sequence"),
        ({"weekly": {0: ((time(9, tzinfo=UTC), time(17)),)}}, "hours.mon: .* has a time zone"),
        ({"weekly": {2: ((time(9), time(12)), (time(11), time(17)))}}, "hours.wed: spans 09:00-12:00 and 11:00-17:00"),
        ({"holidays": frozenset({datetime(2026, 12, 25)})}, "holidays: .* is not a date"),
        ({"special": {"2026-12-24": ()}}, "special: '2026-12-24' is not a date"),
    ],
)
def test_direct_construction_is_validated(kwargs: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {"name": "direct", "timezone": "Asia/Jakarta", "weekly": {0: NINE_TO_FIVE}} | kwargs
    with pytest.raises(CalendarError, match=f"^calendar 'direct': {match}"):
        Calendar(**fields)


def test_opening_hours() -> None:
    hours = OpeningHours(((time(22), time(6)), (time(8), time(12))))
    assert [(s, e) for s, e, _ in hours.intervals] == [
        (timedelta(hours=8), timedelta(hours=12)),
        (timedelta(hours=22), timedelta(hours=30)),
    ]
    assert hours.carry == (timedelta(hours=6), (time(22), time(6)))
    assert OpeningHours(((time(8), time(0)),)).carry is None  # to 24:00 exactly: nothing carried
    with pytest.raises(ValueError, match="overlap"):
        OpeningHours(((time(8), time(12)), (time(11), time(9))))


def test_calendar_does_not_alias_callers_dicts() -> None:
    weekly = {0: NINE_TO_FIVE}
    cal = Calendar("c", "Asia/Jakarta", weekly)
    weekly[1] = NINE_TO_FIVE
    assert 1 not in cal.weekly and not cal.is_open(wib(2026, 11, 24, 10))


# --- properties ---------------------------------------------------------------------------------------------

ZONES = [WIB, WITA, WIT, UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
START = datetime(2026, 1, 1, tzinfo=UTC)


def _quarter(q: int) -> time:
    return time((q // 4) % 24, (q % 4) * 15)


@st.composite
def day_spans(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """Non-overlapping spans on a quarter-hour grid; 96 quarters (24:00) may only close the last span."""
    points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    points = points[: len(points) - len(points) % 2]
    return tuple((_quarter(a), _quarter(b)) for a, b in zip(points[::2], points[1::2], strict=True))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Europe/Berlin"]))
    weekly = draw(st.dictionaries(st.integers(0, 6), day_spans(), max_size=7))
    dates = st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 2, 1))
    holidays = draw(st.frozensets(dates, max_size=8))
    special = draw(st.dictionaries(dates, day_spans(), max_size=4))
    return Calendar("random", zone, weekly, holidays, special)


FIXED = [
    office,
    parse_calendar("night", {"timezone": "WITA", "hours": {"mon-fri": ["22:00-06:00"], "sat": ["07:00-09:00"]}}),
    parse_calendar("round", {"timezone": "WIT", "hours": {"daily": ["18:00-06:00"]}, "holidays": ["2026-06-01"]}),
    parse_calendar("dst", {"timezone": "Europe/Berlin", "hours": {"daily": ["02:15-02:45"], "sun": ["01:30-03:30"]}}),
    parse_calendar("joined", {"timezone": "WIB", "hours": {"fri": ["20:00-24:00"], "sat": ["00:00-02:00"]}}),
]
any_calendar = st.one_of(st.sampled_from(FIXED), calendars())
# Arbitrary instants, plus minute-aligned ones that often land exactly on a boundary.
instants = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.sampled_from(ZONES)),
    st.integers(0, 366 * 24 * 4).map(lambda q: START + timedelta(minutes=15 * q)),
)


@settings(max_examples=300, deadline=None)
@given(any_calendar, instants)
def test_next_open_is_open(cal: Calendar, at: datetime) -> None:
    result = cal.next_open(at)
    if result is None:
        return
    assert cal.is_open(result) is True
    assert at <= result <= at + timedelta(days=366)
    if result > at:  # an opening: closed just before it, and from `at` up to it
        assert not cal.is_open(result - US) and not cal.is_open(at)


@settings(max_examples=300, deadline=None)
@given(any_calendar, instants)
def test_next_change_flips_state(cal: Calendar, at: datetime) -> None:
    change = cal.next_change(at)
    if change is None:
        return
    assert change.tzinfo is UTC
    assert at < change <= at + timedelta(days=14)
    assert cal.is_open(change - US) is not cal.is_open(change)
    assert cal.is_open(at) is cal.is_open(change - US)  # unchanged from `at` up to it
    assert cal.is_open(at + (change - at) / 2) is cal.is_open(at)


@settings(max_examples=200, deadline=None)
@given(calendars(), instants)
def test_is_open_matches_wall_clock_reading(cal: Calendar, at: datetime) -> None:
    """For zones without DST, an independent reading of the rules on the local wall clock."""
    zone = ZoneInfo(cal.timezone)
    if cal.timezone == "Europe/Berlin":
        return
    local = at.astimezone(zone)
    day = local.date()
    spans = cal.special.get(day, () if day in cal.holidays else cal.weekly.get(day.weekday(), ()))
    now = local.time().replace(tzinfo=None)
    expected = any(o <= now and (c == time(0) or now < c) for o, c in spans)
    assert cal.is_open(at) is expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from([*FIXED, CALENDAR_24X7]), calendars()), st.datetimes(timezones=st.sampled_from(ZONES)))
def test_is_open_never_raises_for_aware_datetimes(cal: Calendar, at: datetime) -> None:
    assert isinstance(cal.is_open(at), bool)


def test_dst_gap_moves_later_and_ambiguous_times_take_the_first_occurrence() -> None:
    # Not an Indonesian concern (no DST there), but other zones must stay well defined.
    cal = parse_calendar("berlin", {"timezone": "Europe/Berlin", "hours": {"daily": ["02:15-02:45"]}})
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:15-02:45 becomes 03:15-03:45 CEST.
    assert cal.next_open(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 15)
    assert cal.next_change(utc(2026, 3, 29, 1, 20)) == utc(2026, 3, 29, 1, 45)
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET; the span runs in the first 02:15-02:45 (CEST).
    assert cal.next_open(utc(2026, 10, 24, 22, 0)) == utc(2026, 10, 25, 0, 15)
    assert not cal.is_open(utc(2026, 10, 25, 1, 20))  # the second 02:20, in CET
