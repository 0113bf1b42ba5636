"""Generated call history for the demo: weeks of past calls and agents' shifts with a contact center's rhythm.

:func:`history_day` is pure and deterministic: one local day's interactions and agent state changes from the
day, the queues, the agents and the callers, whatever day it is generated on (each day has its own random
stream, so generating day by day or all at once gives the same rows). The rhythm:

- **daily**: quiet nights (the center is open 06:00-22:00; a night caller hears so and the call ends), a
  morning peak (09:00-11:00) and a smaller afternoon one (14:00-16:00) (:data:`HOURLY_SHAPE`, local time);
- **weekly**: Monday busiest, weekdays busier than Saturday, Sunday quietest (:data:`WEEKDAY_FACTORS`);
- **service**: each call goes to the agent of its queue who is free first among those on shift and not on a
  break; it waits for them (plus the ring), and callers whose patience runs out first abandon. Talk times are
  log-normal around the queue's AHT, after-call work around 20 s.

Agents work eight-hour shifts (from 06-14 to 14-22, rotating weekly) five days a week with a
45-minute break, staggered; their state rows are the shift's: ready at its start, not ready (``break``) and back, logged
out at its end. Call ids are ``hist-<yyyymmdd>-<n>``, so a day already stored is recognised
(:func:`history_call_id`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from cti.records import AgentStateRecord, InteractionRecord
from cti.types import Language

from ._crm_seed_data import NOTES

__all__ = [
    "HOURLY_SHAPE",
    "WEEKDAY_FACTORS",
    "DayHistory",
    "HistoryAgent",
    "HistoryCaller",
    "HistoryQueue",
    "history_call_id",
    "history_day",
]

HOURLY_SHAPE: Final = (
    0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.0, 3.0, 6.0, 9.5, 10.0, 9.0,
    6.5, 7.5, 8.5, 8.0, 6.5, 5.0, 3.5, 2.5, 1.8, 1.0, 0.4, 0.2,
)  # fmt: skip
"""Relative calls per local hour of day."""
WEEKDAY_FACTORS: Final = (1.15, 1.05, 1.0, 1.0, 0.95, 0.55, 0.35)
"""Calls of a day relative to an ordinary weekday, Monday first."""

_SHIFTS: Final = ((6, 14), (8, 16), (9, 17), (11, 19), (14, 22))
"""Eight-hour shifts from early to late (local hours); an agent rotates through them week by week."""
_OPEN: Final = (6, 22)
"""Business hours (local): calls outside them are told so and end."""
_BREAK_MINUTES: Final = 45
_TALK_SIGMA: Final = 0.55
"""Spread of the log-normal talk time (its mean stays the queue's AHT)."""
_DISPOSITIONS: Final = (("resolved", 62), ("follow_up", 10), ("sale", 7), ("no_sale", 6), ("escalated", 5),
                        ("callback_requested", 4), ("complaint", 3), ("transferred", 2), ("wrong_number", 1))
_REASONS: Final = {"care": ("technical", "order_status", "plan_change", "complaint", "sales_inquiry"),
                   "billing": ("billing", "billing", "plan_change", "complaint")}


@dataclass(frozen=True, slots=True)
class HistoryQueue:
    """A queue's traffic on an ordinary weekday."""

    name: str
    service_number: str
    calls_per_day: float
    aht_seconds: float
    patience_seconds: float = 120.0
    """Mean time a caller waits before giving up."""


@dataclass(frozen=True, slots=True)
class HistoryAgent:
    agent_id: str
    extension: str
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HistoryCaller:
    """Who calls: a customer's number and name, or an unknown number (no name, no customer)."""

    number: str
    name: str | None = None
    customer_id: str | None = None
    language: Language = "id"


@dataclass(frozen=True, slots=True)
class DayHistory:
    day: date
    interactions: tuple[InteractionRecord, ...]
    states: tuple[AgentStateRecord, ...]


@dataclass(slots=True)
class _Shift:
    agent: HistoryAgent
    start: datetime
    end: datetime
    break_start: datetime
    free_at: datetime

    def takes(self, queue: str, at: datetime) -> bool:
        """On shift, not on the break, and skilled for ``queue`` at ``at``."""
        on_break = self.break_start <= at < self.break_start + timedelta(minutes=_BREAK_MINUTES)
        return queue in self.agent.queues and self.start <= at < self.end and not on_break


def history_call_id(day: date, n: int) -> str:
    """The id of the day's ``n``-th call (from 1, in order of arrival)."""
    return f"hist-{day:%Y%m%d}-{n:05d}"


def history_day(day: date, *, zone: tzinfo, queues: Sequence[HistoryQueue], agents: Sequence[HistoryAgent],
                callers: Sequence[HistoryCaller], seed: int = 1) -> DayHistory:
    """The calls of local ``day`` in ``zone`` and the agents' state changes, all timestamps in UTC."""
    if not callers:
        raise ValueError("history needs at least one caller")
    rng = random.Random(f"cti-history:{seed}:{day.isoformat()}")
    midnight = datetime.combine(day, time(), tzinfo=zone)
    shifts = _shifts(day, midnight, agents, rng)
    arrivals = sorted((at, queue.name) for queue in queues for at in _arrivals(queue, day, midnight, rng))
    by_name = {queue.name: queue for queue in queues}
    interactions = tuple(
        _call(history_call_id(day, n), at, by_name[name], shifts, callers, rng)
        for n, (at, name) in enumerate(arrivals, start=1))
    return DayHistory(day, interactions, _states(shifts, zone))


def _local(midnight: datetime, hours: float) -> datetime:
    """``hours`` after local midnight, on the wall clock (a zone's offset never changes mid-day in Indonesia)."""
    return midnight + timedelta(hours=hours)


def _shifts(day: date, midnight: datetime, agents: Sequence[HistoryAgent], rng: random.Random) -> list[_Shift]:
    week = day.isocalendar().week
    weekday = day.weekday()
    shifts = []
    for index, agent in enumerate(agents):
        # Two days off a week: half the team has the weekend, the others a weekday and Sunday.
        off = {5, 6} if index % 2 == 0 else {index // 2 % 5, 6}
        if weekday in off:
            continue
        first, last = _SHIFTS[(index + week) % len(_SHIFTS)]
        start = _local(midnight, first) + timedelta(minutes=rng.randint(-4, 6))
        end = _local(midnight, last) + timedelta(minutes=rng.randint(-2, 8))
        # Breaks staggered across the team, so that a shift never leaves its queues all at once.
        break_start = _local(midnight, first + 3 + index % 4 * 0.5) + timedelta(minutes=rng.randint(0, 10))
        shifts.append(_Shift(agent, start, end, break_start, start))
    return shifts


def _arrivals(queue: HistoryQueue, day: date, midnight: datetime, rng: random.Random) -> list[datetime]:
    """A Poisson stream whose rate follows the hour of day and the day of the week."""
    total = sum(HOURLY_SHAPE)
    arrivals = []
    for hour, weight in enumerate(HOURLY_SHAPE):
        per_second = queue.calls_per_day * WEEKDAY_FACTORS[day.weekday()] * weight / total / 3600.0
        if per_second <= 0:
            continue
        offset = rng.expovariate(per_second)
        while offset < 3600.0:
            arrivals.append((_local(midnight, hour) + timedelta(seconds=offset)).replace(microsecond=0))
            offset += rng.expovariate(per_second)
    return arrivals


def _call(call_id: str, arrived: datetime, queue: HistoryQueue, shifts: list[_Shift],
          callers: Sequence[HistoryCaller], rng: random.Random) -> InteractionRecord:
    caller = rng.choice(callers)
    if not _OPEN[0] <= arrived.hour < _OPEN[1]:  # the center is closed: a message, and the call ends
        told = arrived + timedelta(seconds=round(rng.uniform(12.0, 18.0), 1))
        return InteractionRecord(
            call_id=call_id, channel_id=f"{call_id}-c", caller_number=caller.number, caller_name=caller.name,
            service_number=queue.service_number, queue=queue.name, arrived_at=arrived.astimezone(UTC),
            customer_id=caller.customer_id, ended_at=told.astimezone(UTC),
            wait_seconds=(told - arrived).total_seconds(), outcome="rejected", end_reason="after_hours")
    patience = 10.0 + rng.expovariate(1.0 / queue.patience_seconds)
    # The agent free first among those who take the queue now, or who come on shift while the caller waits.
    candidates = [s for s in shifts if s.takes(queue.name, max(arrived, s.free_at))
                  and max(arrived, s.free_at) < arrived + timedelta(seconds=patience)]
    shift = min(candidates, key=lambda s: (s.free_at, s.agent.agent_id), default=None)
    ring = rng.uniform(2.0, 7.0)
    offered = max(arrived, shift.free_at) if shift is not None else None
    if shift is None or offered is None or (offered - arrived).total_seconds() + ring > patience:
        gone = arrived + timedelta(seconds=round(patience, 1))
        return InteractionRecord(
            call_id=call_id, channel_id=f"{call_id}-c", caller_number=caller.number, caller_name=caller.name,
            service_number=queue.service_number, queue=queue.name, arrived_at=arrived.astimezone(UTC),
            customer_id=caller.customer_id, ended_at=gone.astimezone(UTC), wait_seconds=round(patience, 1),
            outcome="abandoned", end_reason="caller_hangup")
    answered = offered + timedelta(seconds=round(ring, 1))
    mu = math.log(queue.aht_seconds) - _TALK_SIGMA**2 / 2
    talk = round(min(max(rng.lognormvariate(mu, _TALK_SIGMA), 20.0), 3600.0), 1)
    ended = answered + timedelta(seconds=talk)
    wrapped = ended + timedelta(seconds=round(rng.uniform(8.0, 40.0), 1))
    shift.free_at = wrapped
    reason = rng.choice(_REASONS.get(queue.name, tuple(NOTES)))
    disposition = rng.choices([d for d, _ in _DISPOSITIONS], weights=[w for _, w in _DISPOSITIONS])[0]
    return InteractionRecord(
        call_id=call_id, channel_id=f"{call_id}-c", caller_number=caller.number, caller_name=caller.name,
        service_number=queue.service_number, queue=queue.name, arrived_at=arrived.astimezone(UTC),
        customer_id=caller.customer_id, agent_id=shift.agent.agent_id, agent_extension=shift.agent.extension,
        offered_at=offered.astimezone(UTC), answered_at=answered.astimezone(UTC), ended_at=ended.astimezone(UTC),
        wait_seconds=round((answered - arrived).total_seconds(), 1), talk_seconds=talk, offers=1,
        outcome="answered", end_reason=rng.choice(("caller_hangup", "agent_hangup")),
        routing={"queue": queue.name, "problem_type": reason, "language": caller.language, "decisions": []},
        disposition=disposition,
        notes=NOTES[reason][1 if caller.language == "en" else 0], wrapped_up_at=wrapped.astimezone(UTC))


def _states(shifts: list[_Shift], zone: tzinfo) -> tuple[AgentStateRecord, ...]:
    rows = []
    for shift in shifts:
        agent, ext = shift.agent.agent_id, shift.agent.extension
        back = shift.break_start + timedelta(minutes=_BREAK_MINUTES)
        rows += [AgentStateRecord(agent, "ready", None, ext, shift.start.astimezone(UTC)),
                 AgentStateRecord(agent, "not_ready", "break", ext, shift.break_start.astimezone(UTC)),
                 AgentStateRecord(agent, "ready", None, ext, back.astimezone(UTC)),
                 AgentStateRecord(agent, "logged_out", None, None, max(shift.end, shift.free_at).astimezone(UTC))]
    rows.sort(key=lambda r: (r.at, r.agent_id))
    return tuple(rows)

