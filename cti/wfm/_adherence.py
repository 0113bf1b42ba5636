"""Schedule adherence: is each agent doing what the schedule says, and for how much of the scheduled time.

Scheduled work is adhered to in a working state (ready, ringing, on a call, wrap-up); a scheduled break in
any other state (not ready, logged out). Time outside shifts is not counted. A run out of adherence no
longer than ``grace_seconds`` counts as adherent: a few seconds late back from a break is not an exception.
Pure: the caller passes the schedule, the state changes (any objects with ``agent_id``, ``state`` and
``at``, e.g. :class:`cti.records.AgentStateRecord`) and the current time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol

from cti.wfm._errors import WfmError
from cti.wfm._shifts import Activity, AgentShift

__all__ = ["WORKING_STATES", "AdherenceException", "AgentAdherence", "StateChange", "adherence"]

WORKING_STATES: Final = frozenset({"ready", "ringing", "on_call", "wrap_up"})
Expected = Literal["work", "break", "off"]


class StateChange(Protocol):
    @property
    def agent_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class AdherenceException:
    """A run ``[start, end)`` in ``state`` while the schedule said ``expected``."""

    start: datetime
    end: datetime
    expected: Expected
    state: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class AgentAdherence:
    agent_id: str
    scheduled_seconds: float
    """Scheduled time (work and breaks) from the window's start until now."""
    in_adherence_seconds: float
    out_of_adherence_seconds: float
    expected_now: Expected
    state_now: str
    in_adherence_now: bool | None
    """``None`` when the agent is not scheduled now."""
    exceptions: tuple[AdherenceException, ...]
    activity_now: Activity | None = None
    """The scheduled activity at ``now`` (work on a queue, or a break); ``None`` off shift."""

    @property
    def adherence(self) -> float | None:
        """In-adherence share of the scheduled time so far; ``None`` before any was scheduled."""
        return None if self.scheduled_seconds == 0 else self.in_adherence_seconds / self.scheduled_seconds


def adherence(shifts: Iterable[AgentShift], changes: Iterable[StateChange], *, start: datetime, now: datetime,
              grace_seconds: float = 0.0) -> list[AgentAdherence]:
    """Adherence over ``[start, now)`` of every agent with a shift, by agent id.

    ``changes`` may come in any order and may include changes before ``start`` (the last one gives the
    state at ``start``; with none, the agent is logged out).
    """
    if not start <= now:
        raise WfmError("the adherence window must start before now")
    if grace_seconds < 0:
        raise WfmError("grace_seconds cannot be negative")
    by_agent: dict[str, list[AgentShift]] = defaultdict(list)
    for shift in shifts:
        by_agent[shift.agent_id].append(shift)
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for change in changes:
        if change.agent_id in by_agent:
            history[change.agent_id].append((change.at, change.state))
    return [_agent(agent_id, sorted(by_agent[agent_id], key=lambda s: s.start),
                   sorted(history[agent_id], key=lambda c: c[0]), start, now, grace_seconds)
            for agent_id in sorted(by_agent)]


def _agent(agent_id: str, shifts: Sequence[AgentShift], changes: Sequence[tuple[datetime, str]],
           start: datetime, now: datetime, grace: float) -> AgentAdherence:
    states = _state_runs(changes, start, now)
    pieces: list[tuple[datetime, datetime, Expected, str]] = []
    for shift in shifts:
        for activity in shift.activities:
            begin, end = max(activity.start, start), min(activity.end, now)
            if begin >= end:
                continue
            for state_begin, state_end, state in states:
                lo, hi = max(begin, state_begin), min(end, state_end)
                if lo < hi:
                    pieces.append((lo, hi, activity.kind, state))
    scheduled = sum((hi - lo).total_seconds() for lo, hi, _, _ in pieces)
    runs: list[AdherenceException] = []
    for lo, hi, expected, state in pieces:
        if _adherent(expected, state):
            continue
        if runs and runs[-1].end == lo and runs[-1].expected == expected and runs[-1].state == state:
            runs[-1] = AdherenceException(runs[-1].start, hi, expected, state)
        else:
            runs.append(AdherenceException(lo, hi, expected, state))
    exceptions = tuple(run for run in runs if run.seconds > grace)
    out = sum(run.seconds for run in exceptions)
    state_now = _state_at(changes, now)
    expected_now: Expected = "off"
    activity_now = None
    for shift in shifts:
        current = shift.activity_at(now)
        if current is not None:
            expected_now, activity_now = current.kind, current
    return AgentAdherence(
        agent_id=agent_id,
        scheduled_seconds=scheduled,
        in_adherence_seconds=scheduled - out,
        out_of_adherence_seconds=out,
        expected_now=expected_now,
        state_now=state_now,
        in_adherence_now=None if expected_now == "off" else _adherent(expected_now, state_now),
        exceptions=exceptions,
        activity_now=activity_now,
    )


def _adherent(expected: Expected, state: str) -> bool:
    return (state in WORKING_STATES) == (expected == "work")


def _state_at(changes: Sequence[tuple[datetime, str]], at: datetime) -> str:
    state = "logged_out"
    for when, value in changes:
        if when > at:
            break
        state = value
    return state


def _state_runs(changes: Sequence[tuple[datetime, str]], start: datetime,
                end: datetime) -> list[tuple[datetime, datetime, str]]:
    runs: list[tuple[datetime, datetime, str]] = []
    cursor, state = start, _state_at(changes, start)
    for when, value in changes:
        if when <= start:
            continue
        if when >= end:
            break
        if when > cursor:
            runs.append((cursor, when, state))
        cursor, state = when, value
    if cursor < end:
        runs.append((cursor, end, state))
    return runs
