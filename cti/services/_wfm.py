"""Workforce management for supervisors: staffing, forecasts from the interaction history, schedules, adherence.

A supervisor with a scope reaches only the queues and teams in it: a queue outside it is refused, and
schedules and adherence show only what is inside it (the queues covered, the agents of its teams or working
its queues). Staffing, forecasts and schedules are computed in a worker thread so the event loop keeps serving
calls meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from cti.errors import Forbidden, InvalidInput, NotFound, Unavailable
from cti.records import UserRecord
from cti.services._policy import can_see_agent, can_see_queue, require_queue
from cti.services._ports import AgentRegistry, Interactions, Schedules
from cti.services._query import CenterView
from cti.wfm import (
    MIN_SECONDS,
    AgentAdherence,
    AgentShift,
    Forecast,
    ScheduleProblem,
    ScheduleSummary,
    SolverError,
    StaffingRequest,
    StaffingResult,
    StoredSchedule,
    WfmError,
    adherence,
    aggregate,
    forecast_queue,
    solve_schedule,
    staff_batch,
)

__all__ = ["AdherenceToday", "ScheduleAgent", "StaffedForecast", "WfmService", "shift_queues"]

_HISTORY_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class ScheduleAgent:
    """An agent offered to the schedule solver, as far as the scope check needs it."""

    agent_id: str
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StaffedForecast:
    """A queue's forecast, how many calls its history held and, when targets were given, the staffing each
    interval needs (None where the history gave no handle time to staff by)."""

    forecast: Forecast
    history_calls: int
    staffing: tuple[StaffingResult | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class AdherenceToday:
    """Today's adherence so far: the schedule it is measured against and one row per agent in scope."""

    schedule: ScheduleSummary | None
    day_start: datetime
    rows: tuple[AgentAdherence, ...] = ()
    names: Mapping[str, str | None] | None = None
    teams: Mapping[str, str | None] | None = None
    queues: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class _Change:
    agent_id: str
    state: str
    at: datetime


def shift_queues(shifts: Iterable[AgentShift]) -> set[str]:
    return {a.skill for shift in shifts for a in shift.activities if a.kind == "work" and a.skill is not None}


def _scoped(user: UserRecord) -> bool:
    """A supervisor limited to some queues and teams (an admin, or a supervisor without a scope, sees all)."""
    return user.role != "admin" and user.scope is not None


class WfmService:
    def __init__(self, query: CenterView, interactions: Interactions, agents: AgentRegistry,
                 schedules: Schedules) -> None:
        self._query = query
        self._interactions = interactions
        self._agents = agents
        self._schedules = schedules

    # -- staffing and forecasts -----------------------------------------------------------------------------------
    async def staff(self, user: UserRecord, requests: list[StaffingRequest], queues: Iterable[str]) -> list[
            StaffingResult]:
        """Agents needed per interval (Erlang C, or A with patience); the queues named must be in scope."""
        self.require_queues(user, queues)
        # In a worker thread: thousands of Erlang A intervals take seconds, and calls keep arriving meanwhile.
        return await asyncio.to_thread(_staff, requests)

    async def forecast(self, user: UserRecord, queue: str, start: datetime, days: int, *, interval_minutes: int,
                       horizon_days: int, holdout_days: int, targets: StaffingRequest | None = None,
                       ) -> StaffedForecast:
        """A queue's volume and handle time per interval, from its history of ``days`` days from ``start``; with
        ``targets`` (a request whose workload is replaced by each interval's), the agents each interval needs."""
        require_queue(user, queue)
        samples = await self._interactions.samples(queue, start, start + timedelta(days=days))

        def compute() -> StaffedForecast:
            series = aggregate(samples, start=start, days=days, interval_minutes=interval_minutes).get(queue)
            if series is None:
                raise InvalidInput(f"queue {queue!r} has no interactions in that range", code="no_history",
                                   params={"queue": queue})
            try:
                result = forecast_queue(series, horizon_days=horizon_days, holdout_days=holdout_days)
            except WfmError as exc:
                raise InvalidInput(str(exc)) from exc
            if targets is None:
                return StaffedForecast(result, len(samples))
            known = [item for item in result.intervals if item.aht_seconds is not None]
            # A forecast AHT under a second (very short calls in the history) is staffed as the shortest staffing
            # takes: a second.
            staffed = iter(_staff([replace(targets, calls=item.calls,
                                           aht_seconds=max(item.aht_seconds or 0.0, MIN_SECONDS),
                                           interval_minutes=result.interval_minutes) for item in known]))
            return StaffedForecast(result, len(samples), tuple(
                None if item.aht_seconds is None else next(staffed) for item in result.intervals))

        return await asyncio.to_thread(compute)

    # -- schedules --------------------------------------------------------------------------------------------------
    async def create_schedule(self, user: UserRecord, name: str, problem: ScheduleProblem,
                              agents: Iterable[ScheduleAgent]) -> StoredSchedule:
        """Solve shift schedules for the requirement (HiGHS) and store them; every queue required and every
        agent must be in the supervisor's scope."""
        self.require_queues(user, problem.requirements)
        teams = self._teams()
        for agent in agents:
            if not can_see_agent(user, agent.agent_id, teams.get(agent.agent_id), agent.skills):
                raise Forbidden(f"agent {agent.agent_id!r} is outside {user.name!r}'s scope",
                                code="agent_out_of_scope", params={"agent_id": agent.agent_id})
        start = problem.start
        if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0):
            raise InvalidInput("start must be a local midnight", code="start_not_midnight")
        try:
            schedule = await asyncio.to_thread(solve_schedule, problem)
        except SolverError as exc:
            raise _SolverUnavailable(str(exc)) from exc
        except WfmError as exc:
            raise InvalidInput(str(exc)) from exc
        return await self._schedules.save_schedule(name, schedule)

    async def list_schedules(self, user: UserRecord, *, window: tuple[datetime, datetime] | None,
                             limit: int) -> list[ScheduleSummary]:
        """Newest first; a supervisor with a scope sees those with something in it, counted by what they see."""
        if not _scoped(user):
            return await self._schedules.list_schedules(overlapping=window, limit=limit)
        teams, offset = self._teams(), 0
        shown: list[ScheduleSummary] = []
        while len(shown) < limit:
            page = await self._schedules.list_schedules(overlapping=window, limit=limit, offset=offset)
            for stored in await self._schedules.get_schedules([summary.schedule_id for summary in page]):
                visible = self._in_scope(user, stored, teams)
                if visible is not None and len(shown) < limit:
                    shown.append(visible.summary)
            if len(page) < limit:
                break
            offset += limit
        return shown

    async def schedule(self, user: UserRecord, schedule_id: int) -> StoredSchedule:
        """One stored schedule, as far as the user's scope shows it."""
        stored = await self._schedules.get_schedule(schedule_id)
        if stored is None:
            raise NotFound(f"no schedule {str(schedule_id)!r}", code="schedule_not_found")
        visible = self._in_scope(user, stored, self._teams())
        if visible is None:
            raise Forbidden(f"schedule {stored.summary.schedule_id} is outside {user.name!r}'s scope",
                            code="schedule_out_of_scope")
        return visible

    # -- adherence --------------------------------------------------------------------------------------------------
    async def adherence(self, user: UserRecord, now: datetime, zone: tzinfo, *, grace_seconds: float = 0.0,
                        queue: str | None = None) -> AdherenceToday:
        """Each scheduled agent's adherence today so far (the newest schedule covering the day) and right now;
        only agents in the supervisor's scope, and with ``queue`` only those scheduled on it."""
        if queue is not None:
            require_queue(user, queue)
        local = now.astimezone(zone)
        day_start = datetime(local.year, local.month, local.day, tzinfo=zone)
        day_end = day_start + timedelta(days=1)
        stored = await self._schedules.current_schedule(day_start, day_end)
        teams = self._teams()
        visible = None if stored is None else self._in_scope(user, stored, teams)
        if visible is None:
            return AdherenceToday(None, day_start)
        today: dict[str, list[AgentShift]] = {}
        for shift in visible.schedule.shifts:
            if shift.start < day_end and shift.end > day_start:
                today.setdefault(shift.agent_id, []).append(shift)
        queues = {agent_id: tuple(sorted(shift_queues(shifts))) for agent_id, shifts in today.items()}
        if queue is not None:
            today = {agent_id: shifts for agent_id, shifts in today.items() if queue in queues[agent_id]}
        live = {agent.agent_id: agent for agent in self._query.agents()}
        changes: list[_Change] = []
        for agent_id in sorted(today):
            history = await self._agents.history(agent_id, limit=_HISTORY_LIMIT)
            changes.extend(_Change(h.agent_id, h.state, h.at) for h in history)
            agent = live.get(agent_id)
            # The live state can be newer than the last stored change (the journal writes asynchronously).
            if agent is not None and agent.state_since is not None and agent.state_since <= now and (
                    not history or agent.state_since > history[-1].at):
                changes.append(_Change(agent_id, agent.state.value, agent.state_since))
        try:
            rows = adherence([s for shifts in today.values() for s in shifts], changes, start=day_start, now=now,
                             grace_seconds=grace_seconds)
        except WfmError as exc:
            raise InvalidInput(str(exc)) from exc
        names = {agent_id: agent.name or None for agent_id, agent in live.items()}
        return AdherenceToday(visible.summary, day_start, tuple(rows), names, teams, queues)

    # -- scope ------------------------------------------------------------------------------------------------------
    @staticmethod
    def require_queues(user: UserRecord, queues: Iterable[str]) -> None:
        for queue in sorted(set(queues)):
            require_queue(user, queue)

    def _teams(self) -> dict[str, str | None]:
        """Each known agent's team, from the call center's agents (their routing profiles)."""
        return {agent.agent_id: agent.team for agent in self._query.agents()}

    @staticmethod
    def _in_scope(user: UserRecord, stored: StoredSchedule,
                  teams: Mapping[str, str | None]) -> StoredSchedule | None:
        """What of ``stored`` the user may see: the coverage of their queues, the shifts of agents of their
        teams or working their queues in it; ``None`` when that is nothing. Everything for the unscoped."""
        if not _scoped(user):
            return stored
        schedule = stored.schedule
        coverage = tuple(row for row in schedule.coverage if can_see_queue(user, row.skill))
        shifts = tuple(shift for shift in schedule.shifts
                       if can_see_agent(user, shift.agent_id, teams.get(shift.agent_id), shift_queues([shift])))
        if not coverage and not shifts:
            return None
        return StoredSchedule(replace(stored.summary, shifts=len(shifts)),
                              replace(schedule, coverage=coverage, shifts=shifts))


class _SolverUnavailable(Unavailable):
    """The scheduling solver could not run (HiGHS missing or failing): try again later."""


def _staff(requests: list[StaffingRequest]) -> list[StaffingResult]:
    try:
        return staff_batch(requests)
    except WfmError as exc:
        raise InvalidInput(str(exc)) from exc
