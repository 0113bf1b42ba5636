"""Shift scheduling with HiGHS: exact cover where feasible, skills, availability, limits, and validation."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.wfm import (
    AgentAvailability,
    AgentShift,
    BreakRule,
    Schedule,
    ScheduleProblem,
    ShiftPattern,
    WfmError,
    solve_schedule,
)

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 4, 1, tzinfo=WIB)
EIGHT_HOURS = ShiftPattern("day8", 480, (420, 480, 540, 600), (BreakRule(60, 180, 300),))


def agents(count: int, *skills: str) -> tuple[AgentAvailability, ...]:
    return tuple(AgentAvailability(f"a{i:02d}", frozenset(skills or ("sales",))) for i in range(count))


def requirement_of(shifts: list[tuple[int, int]], *, per_day: int = 24, length: int = 8) -> list[int]:
    """Hourly requirement made by shifts given as (start hour, break offset in hours)."""
    need = [0] * per_day
    for start, lunch in shifts:
        for hour in range(start, start + length):
            if hour != start + lunch:
                need[hour] += 1
    return need


def check_shapes(schedule: Schedule, pattern: ShiftPattern) -> None:
    for shift in schedule.shifts:
        assert shift.pattern == pattern.name
        assert shift.end - shift.start == timedelta(minutes=pattern.minutes)
        assert (shift.start - MONDAY).total_seconds() / 60 % 1440 in pattern.starts
        breaks = [a for a in shift.activities if a.kind == "break"]
        assert len(breaks) == len(pattern.breaks)
        for activity, rule in zip(breaks, pattern.breaks, strict=True):
            offset = (activity.start - shift.start).total_seconds() / 60
            assert rule.earliest_minutes <= offset <= rule.latest_minutes
            assert activity.end - activity.start == timedelta(minutes=rule.minutes)


def test_a_feasible_requirement_is_covered_exactly() -> None:
    need = requirement_of([(7, 3), (7, 4), (8, 3), (9, 5), (10, 4), (10, 3)])
    schedule = solve_schedule(ScheduleProblem(start=MONDAY, interval_minutes=60, requirements={"sales": need},
                                              patterns=(EIGHT_HOURS,), agents=agents(8)))
    assert (schedule.status, schedule.objective, len(schedule.shifts)) == ("optimal", 0.0, 6)
    assert [row.scheduled for row in schedule.coverage] == need
    assert [row.start for row in schedule.coverage] == [MONDAY + timedelta(hours=h) for h in range(24)]
    assert all(row.under == row.over == 0 for row in schedule.coverage)
    assert sorted(s.start.hour for s in schedule.shifts) == [7, 7, 8, 9, 10, 10]
    assert len({s.agent_id for s in schedule.shifts}) == 6
    assert schedule.end == MONDAY + timedelta(days=1)
    check_shapes(schedule, EIGHT_HOURS)
    first = schedule.shifts[0]
    assert first.activities[0].kind == "work" and first.activities[0].skill == "sales"


def test_too_few_agents_leave_the_least_costly_gap() -> None:
    need = [0] * 8 + [3] * 8 + [0] * 8
    problem = ScheduleProblem(start=MONDAY, interval_minutes=60, requirements={"sales": need},
                              patterns=(ShiftPattern("flat8", 480, (480,)),), agents=agents(2))
    schedule = solve_schedule(problem)
    assert len(schedule.shifts) == 2
    assert [row.under for row in schedule.coverage] == [0] * 8 + [1] * 8 + [0] * 8
    assert schedule.objective == 2.0 * 8


def test_weights_trade_under_against_over_staffing() -> None:
    # One hour needs an agent; a shift is four hours long. Covering it costs 3 hours of overstaffing.
    need = [0] * 10 + [1] + [0] * 13
    pattern = ShiftPattern("four", 240, (600,))
    base = dict(start=MONDAY, interval_minutes=60, requirements={"sales": need}, patterns=(pattern,),
                agents=agents(1))
    assert solve_schedule(ScheduleProblem(**base, under_weight=5.0)).objective == 3.0  # type: ignore[arg-type]
    idle = solve_schedule(ScheduleProblem(**base, under_weight=2.0))  # type: ignore[arg-type]
    assert (idle.objective, idle.shifts) == (2.0, ())


def test_skills_availability_and_shift_limits() -> None:
    two_days = {"sales": [0] * 9 + [1] * 8 + [0] * 7, "support": [0] * 9 + [1] * 8 + [0] * 7}
    two_days = {k: v * 2 for k, v in two_days.items()}
    flat = ShiftPattern("flat8", 480, (540,))
    crew = (
        AgentAvailability("both", frozenset({"sales", "support"}), max_shifts=1),
        AgentAvailability("seller", frozenset({"sales", "billing"}),
                          available=((MONDAY, MONDAY + timedelta(days=1)),)),
        AgentAvailability("helper", frozenset({"support"}), patterns=("flat8",)),
        AgentAvailability("outsider", frozenset({"billing"})),
    )
    schedule = solve_schedule(ScheduleProblem(start=MONDAY, interval_minutes=60, requirements=two_days,
                                              patterns=(flat,), agents=crew))
    assert schedule.objective == 0.0
    worked = sorted((s.agent_id, s.start.day) for s in schedule.shifts)
    # seller only on Monday; "both" at most once, so it covers sales on Tuesday; helper both days.
    assert worked == [("both", 2), ("helper", 1), ("helper", 2), ("seller", 1)]
    both = next(s for s in schedule.shifts if s.agent_id == "both")
    assert {a.skill for a in both.activities} == {"sales"}
    assert all(row.scheduled == row.required for row in schedule.coverage)


def test_a_multi_skilled_agent_switches_queues_within_a_shift() -> None:
    need = {"sales": [0] * 9 + [1] * 4 + [0] * 11, "support": [0] * 13 + [1] * 4 + [0] * 7}
    schedule = solve_schedule(ScheduleProblem(
        start=MONDAY, interval_minutes=60, requirements=need, patterns=(ShiftPattern("flat8", 480, (540,)),),
        agents=(AgentAvailability("both", frozenset({"sales", "support"})),)))
    assert schedule.objective == 0.0
    (shift,) = schedule.shifts
    assert [(a.start.hour, a.end.hour, a.skill) for a in shift.activities] == [(9, 13, "sales"), (13, 17, "support")]


def test_shifts_of_consecutive_days_never_overlap() -> None:
    night = ShiftPattern("night", 600, (1200,))  # 20:00 to 06:00
    early = ShiftPattern("early", 480, (240,))  # 04:00 to 12:00
    need = ([0] * 4 + [1] * 8 + [0] * 8 + [1] * 4) + ([1] * 6 + [0] * 18)
    schedule = solve_schedule(ScheduleProblem(start=MONDAY, interval_minutes=60, requirements={"sales": need},
                                              patterns=(night, early), agents=agents(1)))
    starts = sorted(s.start for s in schedule.shifts)
    for first, second in itertools.pairwise(starts):
        shift = next(s for s in schedule.shifts if s.start == first)
        assert shift.end <= second


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([7, 8, 9, 10]), st.sampled_from([3, 4, 5])), min_size=1, max_size=7))
def test_any_requirement_built_from_allowed_shifts_is_met_exactly(shifts: list[tuple[int, int]]) -> None:
    need = requirement_of(shifts)
    schedule = solve_schedule(ScheduleProblem(start=MONDAY, interval_minutes=60, requirements={"sales": need},
                                              patterns=(EIGHT_HOURS,), agents=agents(len(shifts) + 1)))
    assert schedule.objective == 0.0
    assert [row.scheduled for row in schedule.coverage] == need
    check_shapes(schedule, EIGHT_HOURS)


def test_thirty_minute_grid_with_two_breaks() -> None:
    pattern = ShiftPattern("d8", 480, tuple(range(420, 601, 30)), (BreakRule(30, 120, 180), BreakRule(60, 210, 300)))
    need = [0] * 16 + [3] * 20 + [0] * 12
    problem = ScheduleProblem(start=MONDAY, interval_minutes=30, requirements={"sales": need},
                              patterns=(pattern,), agents=agents(6))
    cheap = solve_schedule(problem)
    check_shapes(cheap, pattern)
    assert cheap.status == "optimal"
    assert cheap.objective == sum(2 * row.under + row.over for row in cheap.coverage)
    # When understaffing costs enough, every interval is covered.
    covered = solve_schedule(ScheduleProblem(start=MONDAY, interval_minutes=30, requirements={"sales": need},
                                             patterns=(pattern,), agents=agents(6), under_weight=20.0))
    check_shapes(covered, pattern)
    assert all(row.under == 0 for row in covered.coverage)
    assert covered.objective == sum(row.over for row in covered.coverage) < cheap.objective * 10


def test_invalid_problems_are_refused() -> None:
    base = dict(start=MONDAY, interval_minutes=60, requirements={"sales": [1] * 24}, patterns=(EIGHT_HOURS,),
                agents=agents(1))
    bad = [
        {"requirements": {"sales": [1] * 23}},
        {"requirements": {"sales": [1] * 24, "x": [1] * 48}},
        {"requirements": {"sales": [-1] * 24}},
        {"requirements": {}},
        {"interval_minutes": 7},
        {"start": datetime(2024, 4, 1)},
        {"patterns": (ShiftPattern("odd", 90, (420,)),)},
        {"patterns": (ShiftPattern("late", 480, (1500,)),)},
        {"patterns": (ShiftPattern("b", 480, (420,), (BreakRule(60, 450, 450),)),)},
        {"patterns": (ShiftPattern("b", 480, (420,), (BreakRule(60, 60, 180), BreakRule(60, 120, 240))),)},
        {"patterns": (EIGHT_HOURS, EIGHT_HOURS)},
        {"agents": (AgentAvailability("a", frozenset({"sales"}), patterns=("nope",)),)},
        {"agents": agents(1) * 2},
        {"under_weight": -1.0},
        {"time_limit_seconds": 0.0},
    ]
    for change in bad:
        with pytest.raises(WfmError):
            solve_schedule(ScheduleProblem(**{**base, **change}))  # type: ignore[arg-type]


def test_shift_activities_must_tile_the_shift() -> None:
    from cti.wfm import Activity

    one = MONDAY + timedelta(hours=1)
    two = MONDAY + timedelta(hours=2)
    with pytest.raises(WfmError):
        AgentShift("a", "p", MONDAY, two, (Activity(MONDAY, one, "work"),))
    with pytest.raises(WfmError):
        AgentShift("a", "p", MONDAY, two, ())
    with pytest.raises(WfmError):
        AgentShift("a", "p", two, MONDAY, (Activity(two, MONDAY, "work"),))
    shift = AgentShift("a", "p", MONDAY, two, (Activity(MONDAY, one, "work"), Activity(one, two, "break")))
    assert shift.activity_at(one) == Activity(one, two, "break")
    assert shift.activity_at(two) is None
