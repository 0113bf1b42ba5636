"""Shift scheduling: which agent works which shift, with breaks placed, to match the staffing requirement.

A mixed-integer programme solved exactly by HiGHS. Per agent, one binary per allowed shift (pattern x day x
start inside the agent's availability) and, per break of that shift, one binary per allowed break start;
agents with several of the requirement's skills also get one binary per skill and interval saying which
queue they serve. Every interval of every skill has slack variables for under- and over-staffing; the
objective is ``under_weight · Σ under + over_weight · Σ over``. Constraints: at most one shift per agent and
day, no overlapping shifts, at most ``max_shifts`` shifts per agent, each break placed exactly once in its
window, and a multi-skilled agent serves exactly one skill while working.

Time is a grid of ``interval_minutes`` from ``start`` (a local midnight); shift lengths, starts and breaks
must fall on it. Model size is agents x (shifts + break placements + multi-skill intervals): keep it in the
low thousands of binaries for answers in seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Final

import highspy
import numpy as np

from cti.wfm._errors import SolverError, WfmError
from cti.wfm._shifts import Activity, AgentShift

__all__ = [
    "AgentAvailability",
    "BreakRule",
    "CoverageRow",
    "Schedule",
    "ScheduleProblem",
    "ShiftPattern",
    "solve_schedule",
]

_STATUS: Final = {highspy.HighsModelStatus.kOptimal: "optimal",
                  highspy.HighsModelStatus.kTimeLimit: "time_limit"}


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A break of ``minutes`` starting between ``earliest_minutes`` and ``latest_minutes`` into the shift."""

    minutes: int
    earliest_minutes: int
    latest_minutes: int


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """Shifts of ``minutes`` starting at any of ``starts`` (minutes after local midnight), every day."""

    name: str
    minutes: int
    starts: tuple[int, ...]
    breaks: tuple[BreakRule, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentAvailability:
    agent_id: str
    skills: frozenset[str]
    available: tuple[tuple[datetime, datetime], ...] = ()
    """Windows a shift must fit in; empty means always available."""
    patterns: tuple[str, ...] = ()
    """Patterns this agent may work; empty means any."""
    max_shifts: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleProblem:
    start: datetime
    interval_minutes: int
    requirements: Mapping[str, Sequence[int]]
    """Agents required per interval, per skill (queue); all as long as the horizon (whole days)."""
    patterns: tuple[ShiftPattern, ...]
    agents: tuple[AgentAvailability, ...]
    under_weight: float = 2.0
    over_weight: float = 1.0
    time_limit_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class CoverageRow:
    start: datetime
    skill: str
    required: int
    scheduled: int

    @property
    def under(self) -> int:
        return max(0, self.required - self.scheduled)

    @property
    def over(self) -> int:
        return max(0, self.scheduled - self.required)


@dataclass(frozen=True, slots=True)
class Schedule:
    start: datetime
    interval_minutes: int
    shifts: tuple[AgentShift, ...]
    coverage: tuple[CoverageRow, ...]
    objective: float
    status: str
    """``optimal``, or ``time_limit`` when the best schedule found in time is returned."""

    @property
    def end(self) -> datetime:
        intervals = len({row.start for row in self.coverage})
        return self.start + timedelta(minutes=self.interval_minutes * intervals)


@dataclass(slots=True)
class _Option:
    agent: int
    pattern: ShiftPattern
    day: int
    first: int
    """Interval index of the shift's start."""
    length: int
    column: int
    breaks: list[list[tuple[int, int]]] = field(default_factory=list)
    """Per break rule: (first interval of the break, column)."""


class _Model:
    """Columns and rows accumulated before one hand-over to HiGHS."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.rows: list[tuple[float, float, dict[int, float]]] = []

    def column(self, cost: float = 0.0, *, binary: bool = True) -> int:
        self.cost.append(cost)
        self.upper.append(1.0 if binary else math.inf)
        self.integer.append(binary)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float, terms: dict[int, float]) -> None:
        if terms:
            self.rows.append((lower, upper, terms))


def solve_schedule(problem: ScheduleProblem) -> Schedule:
    """The schedule minimising weighted under- and over-staffing (exact, within the time limit)."""
    per_day, horizon, skills = _validate(problem)
    step = problem.interval_minutes
    model = _Model()
    options: list[_Option] = []
    allowed = {p.name: p for p in problem.patterns}
    for a, agent in enumerate(problem.agents):
        if not agent.skills & set(skills):
            continue
        for pattern in (allowed[name] for name in agent.patterns) if agent.patterns else problem.patterns:
            length = pattern.minutes // step
            for day in range(horizon // per_day):
                for start_minute in pattern.starts:
                    first = day * per_day + start_minute // step
                    if first + length > horizon or not _fits(problem, agent, first, length):
                        continue
                    option = _Option(a, pattern, day, first, length, model.column())
                    for rule in pattern.breaks:
                        placements = [(first + offset // step, model.column())
                                      for offset in range(rule.earliest_minutes, rule.latest_minutes + 1, step)]
                        option.breaks.append(placements)
                        model.row(0.0, 0.0, {option.column: -1.0, **{col: 1.0 for _, col in placements}})
                    options.append(option)
    by_agent: dict[int, list[_Option]] = defaultdict(list)
    for option in options:
        by_agent[option.agent].append(option)
    # served[skill][t]: the terms that add up to the agents serving that skill in interval t.
    served: dict[str, list[dict[int, float]]] = {skill: [{} for _ in range(horizon)] for skill in skills}
    assignment: dict[tuple[int, str, int], int] = {}
    for a, agent_options in by_agent.items():
        agent = problem.agents[a]
        agent_skills = sorted(agent.skills & set(skills))
        working: list[dict[int, float]] = [{} for _ in range(horizon)]
        covering: list[set[int]] = [set() for _ in range(horizon)]
        for option in agent_options:
            for t in range(option.first, option.first + option.length):
                working[t][option.column] = 1.0
                covering[t].add(option.day)
            for rule, placements in zip(option.pattern.breaks, option.breaks, strict=True):
                for begin, col in placements:
                    for t in range(begin, begin + rule.minutes // step):
                        working[t][col] = working[t].get(col, 0.0) - 1.0
        for day in range(horizon // per_day):
            model.row(-math.inf, 1.0, {o.column: 1.0 for o in agent_options if o.day == day})
        if agent.max_shifts is not None:
            model.row(-math.inf, float(agent.max_shifts), {o.column: 1.0 for o in agent_options})
        for t in range(horizon):
            if len(covering[t]) > 1:  # shifts of different days would overlap here
                model.row(-math.inf, 1.0, {col: 1.0 for col, v in working[t].items() if v > 0})
            if not working[t]:
                continue
            if len(agent_skills) == 1:
                _add(served[agent_skills[0]][t], working[t])
                continue
            terms = {col: -v for col, v in working[t].items()}
            for skill in agent_skills:
                col = assignment[(a, skill, t)] = model.column()
                terms[col] = 1.0
                served[skill][t][col] = 1.0
            model.row(0.0, 0.0, terms)
    slack: dict[tuple[str, int], tuple[int, int]] = {}
    for skill in skills:
        for t, required in enumerate(problem.requirements[skill]):
            under = model.column(problem.under_weight, binary=False)
            over = model.column(problem.over_weight, binary=False)
            slack[(skill, t)] = (under, over)
            model.row(float(required), float(required), {**served[skill][t], under: 1.0, over: -1.0})
    values, status = _solve(model, problem.time_limit_seconds)

    def at(t: int) -> datetime:
        return problem.start + timedelta(minutes=step * t)

    shifts = []
    for option in options:
        if values[option.column] < 0.5:
            continue
        agent = problem.agents[option.agent]
        agent_skills = sorted(agent.skills & set(skills))
        on_break: dict[int, int] = {}  # interval -> which break
        for k, (rule, placements) in enumerate(zip(option.pattern.breaks, option.breaks, strict=True)):
            for begin, col in placements:
                if values[col] > 0.5:
                    on_break.update(dict.fromkeys(range(begin, begin + rule.minutes // step), k))
        slots: list[tuple[int | None, str | None]] = []  # (break number, or None for work; skill served)
        for t in range(option.first, option.first + option.length):
            if t in on_break:
                slots.append((on_break[t], None))
            elif len(agent_skills) == 1:
                slots.append((None, agent_skills[0]))
            else:
                chosen = [s for s in agent_skills if values[assignment[(option.agent, s, t)]] > 0.5]
                slots.append((None, chosen[0] if chosen else None))
        activities: list[Activity] = []
        for i, slot in enumerate(slots):
            t = option.first + i
            if i and slots[i - 1] == slot:
                last = activities[-1]
                activities[-1] = Activity(last.start, at(t + 1), last.kind, last.skill)
            else:
                activities.append(Activity(at(t), at(t + 1), "work" if slot[0] is None else "break", slot[1]))
        shifts.append(AgentShift(agent.agent_id, option.pattern.name, at(option.first),
                                 at(option.first + option.length), tuple(activities)))
    shifts.sort(key=lambda s: (s.start, s.agent_id))
    coverage = []
    for t in range(horizon):
        for skill in skills:
            required = problem.requirements[skill][t]
            under, over = slack[(skill, t)]
            scheduled = required - round(values[under]) + round(values[over])
            coverage.append(CoverageRow(at(t), skill, required, scheduled))
    # Recomputed from the integral coverage rather than taken from the solver, which reports it in floats.
    objective = sum(problem.under_weight * row.under + problem.over_weight * row.over for row in coverage)
    return Schedule(problem.start, step, tuple(shifts), tuple(coverage), float(objective), status)


def _add(target: dict[int, float], terms: dict[int, float]) -> None:
    for col, value in terms.items():
        target[col] = target.get(col, 0.0) + value


def _fits(problem: ScheduleProblem, agent: AgentAvailability, first: int, length: int) -> bool:
    if not agent.available:
        return True
    begin = problem.start + timedelta(minutes=problem.interval_minutes * first)
    end = begin + timedelta(minutes=problem.interval_minutes * length)
    return any(lo <= begin and end <= hi for lo, hi in agent.available)


def _solve(model: _Model, time_limit: float) -> tuple[list[float], str]:
    lp = highspy.HighsLp()
    columns = len(model.cost)
    lp.num_col_ = columns
    lp.num_row_ = len(model.rows)
    lp.col_cost_ = np.array(model.cost, dtype=np.float64)
    lp.col_lower_ = np.zeros(columns)
    lp.col_upper_ = np.array([highspy.kHighsInf if math.isinf(u) else u for u in model.upper], dtype=np.float64)
    lp.row_lower_ = np.array([-highspy.kHighsInf if math.isinf(lo) else lo for lo, _, _ in model.rows])
    lp.row_upper_ = np.array([highspy.kHighsInf if math.isinf(hi) else hi for _, hi, _ in model.rows])
    starts, indices, values = [0], [], []
    for _, _, terms in model.rows:
        for col, value in sorted(terms.items()):
            if value != 0.0:
                indices.append(col)
                values.append(value)
        starts.append(len(indices))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(values, dtype=np.float64)
    lp.a_matrix_.num_col_ = columns
    lp.a_matrix_.num_row_ = len(model.rows)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in model.integer]
    solver = highspy.Highs()  # type: ignore[no-untyped-call]
    for option, value in (("output_flag", False), ("threads", 1), ("random_seed", 0), ("mip_rel_gap", 0.0),
                          ("time_limit", float(time_limit))):
        solver.setOptionValue(option, value)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    solution = solver.getSolution()
    if status not in _STATUS or not solution.value_valid:
        raise SolverError(f"the scheduling solver stopped without a schedule: {solver.modelStatusToString(status)}")
    return list(solution.col_value), _STATUS[status]


def _validate(problem: ScheduleProblem) -> tuple[int, int, list[str]]:
    step = problem.interval_minutes
    if step <= 0 or 1440 % step:
        raise WfmError(f"interval_minutes must divide a day, not {step}")
    if problem.start.tzinfo is None:
        raise WfmError("the schedule start must be an aware datetime")
    per_day = 1440 // step
    if not problem.requirements:
        raise WfmError("a schedule needs the requirement of at least one skill")
    lengths = {len(r) for r in problem.requirements.values()}
    horizon = lengths.pop()
    if lengths or horizon == 0 or horizon % per_day:
        raise WfmError(f"every requirement must cover the same whole days ({per_day} intervals a day)")
    if any(v < 0 for r in problem.requirements.values() for v in r):
        raise WfmError("requirements cannot be negative")
    if problem.under_weight < 0 or problem.over_weight < 0:
        raise WfmError("weights cannot be negative")
    if not problem.time_limit_seconds > 0:
        raise WfmError("the time limit must be positive")
    names = [p.name for p in problem.patterns]
    if len(set(names)) != len(names) or not names:
        raise WfmError("shift patterns need distinct names, and there must be at least one")
    for pattern in problem.patterns:
        _check_pattern(pattern, step)
    ids = [a.agent_id for a in problem.agents]
    if len(set(ids)) != len(ids):
        raise WfmError("agent ids must be distinct")
    for agent in problem.agents:
        unknown = set(agent.patterns) - set(names)
        if unknown:
            raise WfmError(f"agent {agent.agent_id!r} names unknown patterns {sorted(unknown)}")
        if agent.max_shifts is not None and agent.max_shifts < 0:
            raise WfmError(f"agent {agent.agent_id!r}: max_shifts cannot be negative")
    return per_day, horizon, sorted(problem.requirements)


def _check_pattern(pattern: ShiftPattern, step: int) -> None:
    def on_grid(value: int) -> bool:
        return value % step == 0

    if pattern.minutes <= 0 or not on_grid(pattern.minutes):
        raise WfmError(f"pattern {pattern.name!r}: the length must be a positive multiple of {step} minutes")
    if not pattern.starts or any(not on_grid(s) or not 0 <= s < 1440 for s in pattern.starts):
        raise WfmError(f"pattern {pattern.name!r}: starts must be minutes of the day on the {step}-minute grid")
    windows = []
    for rule in pattern.breaks:
        if not (on_grid(rule.minutes) and on_grid(rule.earliest_minutes) and on_grid(rule.latest_minutes)):
            raise WfmError(f"pattern {pattern.name!r}: breaks must fall on the {step}-minute grid")
        if rule.minutes <= 0 or not 0 < rule.earliest_minutes <= rule.latest_minutes \
                or rule.latest_minutes + rule.minutes >= pattern.minutes:
            raise WfmError(f"pattern {pattern.name!r}: each break must lie strictly inside the shift")
        windows.append((rule.earliest_minutes, rule.latest_minutes + rule.minutes))
    windows.sort()
    if any(a[1] > b[0] for a, b in pairwise(windows)):
        raise WfmError(f"pattern {pattern.name!r}: break windows must not overlap")
