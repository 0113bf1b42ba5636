"""Schedule adherence from a schedule and a stream of agent state changes: exact minutes and invariants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.records import AgentStateRecord
from cti.wfm import Activity, AdherenceException, AgentShift, WfmError, adherence

WIB = timezone(timedelta(hours=7))
DAY = datetime(2024, 4, 1, tzinfo=WIB)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def shift(agent_id: str = "ani") -> AgentShift:
    """09:00-17:00 with lunch 12:00-13:00."""
    return AgentShift(agent_id, "day8", at(9), at(17), (
        Activity(at(9), at(12), "work", "sales"), Activity(at(12), at(13), "break"),
        Activity(at(13), at(17), "work", "sales")))


@dataclass(frozen=True)
class Change:
    agent_id: str
    state: str
    at: datetime


def test_minutes_in_and_out_of_adherence() -> None:
    changes = [
        AgentStateRecord("ani", "logged_out", None, None, at(8)),
        AgentStateRecord("ani", "ready", None, "1001", at(9, 5)),  # 5 minutes late
        AgentStateRecord("ani", "on_call", None, "1001", at(10)),
        AgentStateRecord("ani", "ready", None, "1001", at(10, 20)),
        AgentStateRecord("ani", "not_ready", "lunch", "1001", at(12)),
        AgentStateRecord("ani", "ready", None, "1001", at(13, 10)),  # 10 minutes back late
        AgentStateRecord("ani", "wrap_up", None, "1001", at(15)),
        AgentStateRecord("ani", "not_ready", "coffee", "1001", at(15, 30)),
    ]
    (row,) = adherence([shift()], changes, start=at(0), now=at(16))
    assert row.agent_id == "ani"
    assert row.scheduled_seconds == 7 * 3600
    assert row.out_of_adherence_seconds == (5 + 10 + 30) * 60
    assert row.in_adherence_seconds == (420 - 45) * 60
    assert row.adherence == pytest.approx(375 / 420)
    assert (row.expected_now, row.state_now, row.in_adherence_now) == ("work", "not_ready", False)
    assert row.exceptions == (
        AdherenceException(at(9), at(9, 5), "work", "logged_out"),
        AdherenceException(at(13), at(13, 10), "work", "not_ready"),
        AdherenceException(at(15, 30), at(16), "work", "not_ready"),
    )
    assert [e.seconds for e in row.exceptions] == [300, 600, 1800]


def test_grace_forgives_short_runs() -> None:
    changes = [Change("ani", "ready", at(9, 5)), Change("ani", "not_ready", at(12)),
               Change("ani", "ready", at(13, 10))]
    (row,) = adherence([shift()], changes, start=at(0), now=at(14), grace_seconds=300)
    assert [(e.start, e.end) for e in row.exceptions] == [(at(13), at(13, 10))]
    assert row.out_of_adherence_seconds == 600
    (strict,) = adherence([shift()], changes, start=at(0), now=at(14))
    assert strict.out_of_adherence_seconds == 900


def test_working_through_a_break_is_out_of_adherence() -> None:
    (row,) = adherence([shift()], [Change("ani", "ready", at(8, 55))], start=at(0), now=at(12, 30))
    assert row.exceptions == (AdherenceException(at(12), at(12, 30), "break", "ready"),)
    assert (row.expected_now, row.in_adherence_now) == ("break", False)


def test_agents_without_changes_are_logged_out_and_off_shift_time_is_not_counted() -> None:
    rows = adherence([shift("ani"), shift("budi")], [Change("ani", "ready", at(7)), Change("zed", "ready", at(9))],
                     start=at(0), now=at(8))
    assert [r.agent_id for r in rows] == ["ani", "budi"]
    assert all(r.scheduled_seconds == 0 and r.adherence is None and r.in_adherence_now is None for r in rows)
    assert (rows[0].state_now, rows[1].state_now) == ("ready", "logged_out")
    (late,) = adherence([shift("budi")], [], start=at(0), now=at(18))
    # Logged out all day: the 7 hours of work are out of adherence, the hour of lunch is in.
    assert (late.adherence, late.out_of_adherence_seconds, late.expected_now) == (1 / 8, 7 * 3600, "off")


def test_changes_may_come_in_any_order_and_before_the_window() -> None:
    ordered = [Change("ani", "ready", at(6)), Change("ani", "not_ready", at(10)), Change("ani", "ready", at(10, 15))]
    first = adherence([shift()], ordered, start=at(9), now=at(11))
    assert first == adherence([shift()], ordered[::-1], start=at(9), now=at(11))
    assert first[0].out_of_adherence_seconds == 900


def test_invalid_windows_are_refused() -> None:
    with pytest.raises(WfmError):
        adherence([shift()], [], start=at(10), now=at(9))
    with pytest.raises(WfmError):
        adherence([shift()], [], start=at(9), now=at(10), grace_seconds=-1)


states = st.sampled_from(["ready", "not_ready", "on_call", "wrap_up", "logged_out", "ringing"])


@given(st.lists(st.tuples(st.integers(0, 24 * 60), states), max_size=40), st.integers(0, 24 * 60),
       st.integers(0, 900))
def test_in_plus_out_is_the_scheduled_time(changes: list[tuple[int, str]], now_minute: int, grace: int) -> None:
    stream = [Change("ani", state, DAY + timedelta(minutes=m)) for m, state in changes]
    (row,) = adherence([shift()], stream, start=DAY, now=DAY + timedelta(minutes=now_minute), grace_seconds=grace)
    assert row.in_adherence_seconds + row.out_of_adherence_seconds == pytest.approx(row.scheduled_seconds)
    assert row.scheduled_seconds == max(0, min(now_minute, 17 * 60) - 9 * 60) * 60
    assert row.adherence is None or 0.0 <= row.adherence <= 1.0
    assert all(e.seconds > grace for e in row.exceptions)
    assert sum(e.seconds for e in row.exceptions) == row.out_of_adherence_seconds
