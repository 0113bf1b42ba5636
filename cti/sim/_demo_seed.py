"""What ``cti demo`` puts into its database on start: weeks of call history, today's schedule and a starter FAQ.

Both are idempotent: each past day's calls and agent shifts are added when that day has none (so a demo started
on a later day adds the days since); today's schedule is solved (HiGHS) from the forecast of that history unless
a schedule covers today already. (The CRM is seeded when its first fixed customer is missing: ``cti.sim._demo``.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

import yaml

from cti.crm import CrmDataset
from cti.persistence import AgentRepository, Database, InteractionRepository, WfmRepository
from cti.services import FaqDraft
from cti.wfm import (
    MIN_SECONDS,
    AgentAvailability,
    BreakRule,
    InteractionSample,
    ScheduleProblem,
    ShiftPattern,
    StaffingRequest,
    StoredSchedule,
    aggregate,
    forecast_queue,
    solve_schedule,
    staff_batch,
)

from ._history import HistoryAgent, HistoryCaller, HistoryQueue, history_call_id, history_day

__all__ = ["DEMO_FAQ", "DEMO_QUEUES", "HISTORY_DAYS", "SeededHistory", "caller_numbers", "history_agents",
           "history_callers", "national", "schedule_problem", "seed_history", "seed_schedule", "starter_faq"]

DEMO_FAQ: Final = Path(__file__).resolve().parent / "demo-faq.yaml"
"""The demo's starter FAQ: each entry in Bahasa Indonesia and English, published on a database without it."""
HISTORY_DAYS: Final = 56
"""Eight weeks: enough for the forecast's weekly models and a week held out to score them."""
DEMO_QUEUES: Final = (
    HistoryQueue("care", "1500100", calls_per_day=700, aht_seconds=200),
    HistoryQueue("billing", "1500200", calls_per_day=200, aht_seconds=280),
)
"""The demo's queues (cti/sim/demo-routing.yaml) as its history had them on an ordinary weekday."""
_UNKNOWN_SHARE: Final = 0.2
_INTERVAL: Final = 30
_SHIFT: Final = ShiftPattern("8h", 480, starts=tuple(range(6 * 60, 14 * 60 + 1, _INTERVAL)),
                             breaks=(BreakRule(30, 180, 300),))
"""Eight hours starting between 06:00 and 14:00, with a half-hour break three to five hours in."""
"""Callers whose number the CRM does not know."""


def national(number: str) -> str:
    """An Indonesian number as a caller's phone presents it (``0812...``); foreign ones stay international."""
    return "0" + number[3:] if number.startswith("+62") else number


def history_callers(dataset: CrmDataset, *, seed: int = 1, unknown: int = 60) -> list[HistoryCaller]:
    """Every phone of the CRM's customers (with the customer's name and language), and ``unknown`` numbers the
    CRM does not know, in a share of about :data:`_UNKNOWN_SHARE` of the list."""
    known = [HistoryCaller(national(phone), customer.fields.name, customer.customer_id, customer.fields.language)
             for customer in dataset.customers for phone in customer.fields.phones]
    rng = random.Random(f"cti-unknown-callers:{seed}")
    taken = {caller.number for caller in known}
    strangers: list[HistoryCaller] = []
    while len(strangers) < unknown:
        number = f"08{rng.choice(('12', '13', '21', '52', '57', '77', '96'))}{rng.randrange(10**8):08d}"
        if number not in taken:
            taken.add(number)
            strangers.append(HistoryCaller(number))
    # Repeat the strangers so that they make about the share wanted of who calls.
    repeat = max(1, round(len(known) * _UNKNOWN_SHARE / (1 - _UNKNOWN_SHARE) / max(unknown, 1)))
    return known + strangers * repeat


def caller_numbers(callers: Sequence[HistoryCaller]) -> list[str]:
    """The numbers the demo's live callers dial from, without repeats."""
    return list(dict.fromkeys(caller.number for caller in callers))


def history_agents(profiles: Sequence[dict[str, Any]], extensions: Sequence[str]) -> list[HistoryAgent]:
    """The demo's agents (``agent1``...) with the queues their skills take."""
    return [HistoryAgent(f"agent{n + 1}", extension, tuple(sorted(profile["skills"])))
            for n, (profile, extension) in enumerate(zip(profiles, extensions, strict=False))]


@dataclass(frozen=True, slots=True)
class SeededHistory:
    days: int
    calls: int


async def seed_history(database: Database, *, today: date, zone: tzinfo, agents: Sequence[HistoryAgent],
                       callers: Sequence[HistoryCaller], days: int = HISTORY_DAYS,
                       queues: Sequence[HistoryQueue] = DEMO_QUEUES, seed: int = 1) -> SeededHistory:
    """The ``days`` days before ``today`` (local in ``zone``): each day that has no history yet gets its calls and
    its agents' shifts. How many days and calls were added."""
    interactions = InteractionRepository(database)
    agent_states = AgentRepository(database)
    added = SeededHistory(0, 0)
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        if await interactions.get(history_call_id(day, 1)) is not None:
            continue
        history = history_day(day, zone=zone, queues=queues, agents=agents, callers=callers, seed=seed)
        start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        recorded = await agent_states.states_between(start, start + timedelta(days=1))
        if not any(state.at >= start for state in recorded):
            await agent_states.record_states(list(history.states))
        calls = await interactions.add_many(history.interactions)
        added = SeededHistory(added.days + 1, added.calls + calls)
    return added


def schedule_problem(samples: Mapping[str, Sequence[InteractionSample]], *, history_start: datetime, start: datetime,
                     agents: Sequence[HistoryAgent], service_level: float = 0.8,
                     answer_within_seconds: float = 20.0) -> ScheduleProblem:
    """The day from ``start``: agents each queue needs per half hour (its forecast from the history, Erlang C for
    the service level), the demo's shift pattern, and every agent for one shift on their queues."""
    days = (start - history_start).days
    requirements: dict[str, list[int]] = {}
    for queue, queue_samples in samples.items():
        series = aggregate(queue_samples, start=history_start, days=days, interval_minutes=_INTERVAL).get(queue)
        if series is None:
            continue
        intervals = forecast_queue(series, horizon_days=1, holdout_days=7).intervals
        staffed = staff_batch([StaffingRequest(
            calls=item.calls, interval_minutes=_INTERVAL, aht_seconds=max(item.aht_seconds or 0.0, MIN_SECONDS),
            service_level=service_level, answer_within_seconds=answer_within_seconds) for item in intervals])
        requirements[queue] = [one.agents for one in staffed]
    return ScheduleProblem(
        start=start, interval_minutes=_INTERVAL, requirements=requirements, patterns=(_SHIFT,),
        agents=tuple(AgentAvailability(agent.agent_id, frozenset(agent.queues), max_shifts=1) for agent in agents),
        time_limit_seconds=20.0)


async def seed_schedule(database: Database, *, today: date, zone: tzinfo, agents: Sequence[HistoryAgent],
                        queues: Sequence[HistoryQueue] = DEMO_QUEUES,
                        days: int = HISTORY_DAYS) -> StoredSchedule | None:
    """Today's schedule, solved from the forecast of the ``days`` days of history before it and stored; None
    (and nothing stored) when a schedule covers today already. Raises the solver's errors (WfmError)."""
    schedules = WfmRepository(database)
    start = datetime.combine(today, time(), tzinfo=zone)
    if await schedules.current_schedule(start, start + timedelta(days=1)) is not None:
        return None
    history_start = start - timedelta(days=days)
    interactions = InteractionRepository(database)
    samples = {queue.name: await interactions.samples(queue.name, history_start, start) for queue in queues}
    problem = await asyncio.to_thread(schedule_problem, samples, history_start=history_start, start=start,
                                      agents=agents)
    schedule = await asyncio.to_thread(solve_schedule, problem)
    return await schedules.save_schedule(f"Demo {today.isoformat()}", schedule)


def starter_faq(path: Path = DEMO_FAQ) -> list[tuple[str, FaqDraft]]:
    """The entries of an FAQ file (``entry_id``, ``product_line``, ``texts`` per language), for
    :meth:`cti.services.Faq.install` (which validates them)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(str(entry["entry_id"]), FaqDraft(texts=entry["texts"], product_line=entry.get("product_line")))
            for entry in entries]
