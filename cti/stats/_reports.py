"""Interval reports: per queue and per agent, in 15/30/60-minute intervals of local days, and their CSV.

The same definitions as the live figures (:mod:`cti.stats._metrics`): each counter adds in the interval holding the
instant it happens, so a call that arrives at 09:14:50 and is answered at 09:15:10 is offered in 09:00-09:15 and
answered in 09:15-09:30. Intervals are half-open: an event at exactly 09:15:00 belongs to 09:15-09:30.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from cti.stats._metrics import (
    OCCUPIED_STATES,
    AgentHistory,
    CallFacts,
    Figures,
    add_changes,
    agent_segments,
    call_contributions,
    tally_of,
)
from cti.stats._model import DEFAULT_CONFIG, TALLY_FIELDS, AgentStateLike, InteractionLike, MetricsConfig, Tally
from cti.stats._windows import from_us, interval_bounds, to_us

__all__ = [
    "AGENT_COLUMNS",
    "QUEUE_COLUMNS",
    "AgentInterval",
    "IntervalReport",
    "QueueInterval",
    "agent_csv",
    "interval_report",
    "queue_csv",
]


@dataclass(frozen=True, slots=True)
class QueueInterval:
    start: datetime
    end: datetime
    queue: str
    tally: Tally
    figures: Figures


@dataclass(frozen=True, slots=True)
class AgentInterval:
    start: datetime
    end: datetime
    agent_id: str
    handled: int
    talk_seconds: float
    acw_seconds: float
    aht: float | None
    ready_seconds: float
    ringing_seconds: float
    on_call_seconds: float
    wrap_up_seconds: float
    not_ready_seconds: float
    logged_in_seconds: float
    """Time in any state but logged out."""
    occupancy: float | None
    hold_seconds: float = 0.0
    """Of ``talk_seconds``, the time the agent's callers spent on hold."""


@dataclass(frozen=True, slots=True)
class IntervalReport:
    first_day: date
    last_day: date
    minutes: int
    queues: tuple[QueueInterval, ...]
    """By interval, then queue name."""
    agents: tuple[AgentInterval, ...]
    """By interval, then agent id."""


def interval_report(first_day: date, last_day: date, *, tz: tzinfo, minutes: int,
                    interactions: Iterable[InteractionLike], agent_history: Iterable[AgentStateLike],
                    config: MetricsConfig = DEFAULT_CONFIG, now: datetime | None = None,
                    include_empty: bool = True) -> IntervalReport:
    """Statistics per interval of the local days ``first_day`` to ``last_day`` (both included) in ``tz``.

    ``interactions``: the calls with any instant in the range (those that ended shortly before it too, for
    after-call work ending inside it). ``agent_history``: the records in the range plus each agent's last one
    before it. ``now``: nothing after it counts and open state periods stop there (default: the range's end).
    Listed: configured queues and queues with activity in the range; agents with calls or logged-in time in it.
    With ``include_empty`` every listed queue and agent gets a row for every interval, else only active rows.
    """
    bounds = [to_us(b) for b in interval_bounds(first_day, last_day, tz, minutes)]
    until = bounds[-1] if now is None else min(bounds[-1], to_us(now))
    history = AgentHistory.of(agent_history, until)
    facts = [CallFacts.of(i) for i in interactions]
    intervals = len(bounds) - 1

    queue_totals: list[dict[str, list[int]]] = [{} for _ in range(intervals)]
    agent_totals: list[dict[str, list[int]]] = [{} for _ in range(intervals)]
    for at, is_agent, key, changes in call_contributions(facts, history, config, until):
        i = bisect.bisect_right(bounds, at) - 1
        if 0 <= i < intervals:
            totals = (agent_totals if is_agent else queue_totals)[i]
            add_changes(totals.setdefault(key, [0] * len(TALLY_FIELDS)), changes)

    state_us: list[dict[str, dict[str, int]]] = [{} for _ in range(intervals)]
    for begin, end, agent_id, state in agent_segments(history, until):
        begin, end = max(begin, bounds[0]), min(end, until)
        i = bisect.bisect_right(bounds, begin) - 1
        while begin < end and i < intervals:
            stop = min(end, bounds[i + 1])
            per_state = state_us[i].setdefault(agent_id, {})
            per_state[state] = per_state.get(state, 0) + stop - begin
            begin, i = stop, i + 1

    queues = sorted(set(config.queues) | {q for per in queue_totals for q in per})
    agents = sorted({a for per in agent_totals for a in per}
                    | {a for per in state_us for a, states in per.items()
                       if any(us for s, us in states.items() if s != "logged_out")})
    queue_rows: list[QueueInterval] = []
    agent_rows: list[AgentInterval] = []
    for i in range(intervals):
        opens, closes = from_us(bounds[i]).astimezone(tz), from_us(bounds[i + 1]).astimezone(tz)
        for queue in queues:
            counted = queue_totals[i].get(queue)
            if counted is not None or include_empty:
                tally = tally_of(counted) if counted is not None else Tally()
                queue_rows.append(QueueInterval(opens, closes, queue, tally, Figures.of(tally)))
        for agent_id in agents:
            row = _agent_row(opens, closes, agent_id, agent_totals[i].get(agent_id), state_us[i].get(agent_id, {}))
            if include_empty or row.handled or row.logged_in_seconds:
                agent_rows.append(row)
    return IntervalReport(first_day, last_day, minutes, tuple(queue_rows), tuple(agent_rows))


def _agent_row(start: datetime, end: datetime, agent_id: str, totals: list[int] | None,
               states: dict[str, int]) -> AgentInterval:
    tally = tally_of(totals) if totals is not None else Tally()
    occupied = sum(us for s, us in states.items() if s in OCCUPIED_STATES)
    ready = states.get("ready", 0)
    return AgentInterval(
        start=start, end=end, agent_id=agent_id, handled=tally.handled,
        talk_seconds=tally.talk_us / 1_000_000, acw_seconds=tally.acw_us / 1_000_000,
        hold_seconds=tally.hold_us / 1_000_000, aht=Figures.of(tally).aht,
        ready_seconds=ready / 1_000_000, ringing_seconds=states.get("ringing", 0) / 1_000_000,
        on_call_seconds=states.get("on_call", 0) / 1_000_000, wrap_up_seconds=states.get("wrap_up", 0) / 1_000_000,
        not_ready_seconds=states.get("not_ready", 0) / 1_000_000,
        logged_in_seconds=sum(us for s, us in states.items() if s != "logged_out") / 1_000_000,
        occupancy=None if occupied + ready == 0 else occupied / (occupied + ready),
    )


# -- CSV ------------------------------------------------------------------------------------------------------
QUEUE_COLUMNS = (
    "interval_start", "interval_end", "queue", "offered", "answered", "answered_within_sl", "abandoned",
    "short_abandoned", "abandoned_within_sl", "rejected", "completed", "completed_within_sl", "handled",
    "service_level", "service_level_app_queue", "service_level_2", "asa_seconds", "aht_seconds", "abandon_rate",
    "talk_seconds", "acw_seconds", "hold_seconds",
)
"""The queue CSV's columns, in order. New columns are only ever appended."""

AGENT_COLUMNS = (
    "interval_start", "interval_end", "agent_id", "handled", "talk_seconds", "acw_seconds", "aht_seconds",
    "ready_seconds", "ringing_seconds", "on_call_seconds", "wrap_up_seconds", "not_ready_seconds",
    "logged_in_seconds", "occupancy", "hold_seconds",
)
"""The agent CSV's columns, in order. New columns are only ever appended."""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str | int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def queue_csv(rows: Iterable[QueueInterval]) -> str:
    """The rows as CSV text (columns :data:`QUEUE_COLUMNS`; times local ISO 8601; seconds with one decimal,
    ratios with four, empty where undefined)."""
    def line(r: QueueInterval) -> list[str | int]:
        t, f = r.tally, r.figures
        return [r.start.isoformat(), r.end.isoformat(), r.queue, t.offered, t.answered, t.answered_within_sl,
                t.abandoned, t.short_abandoned, t.abandoned_within_sl, t.rejected, t.completed,
                t.completed_within_sl, t.handled, _ratio(f.service_level), _ratio(f.service_level_app_queue),
                _ratio(f.service_level_2), _seconds(f.asa), _seconds(f.aht), _ratio(f.abandon_rate),
                _seconds(t.talk_us / 1_000_000), _seconds(t.acw_us / 1_000_000), _seconds(t.hold_us / 1_000_000)]

    return _table(QUEUE_COLUMNS, map(line, rows))


def agent_csv(rows: Iterable[AgentInterval]) -> str:
    """The rows as CSV text (columns :data:`AGENT_COLUMNS`; formats as :func:`queue_csv`)."""
    def line(r: AgentInterval) -> list[str | int]:
        return [r.start.isoformat(), r.end.isoformat(), r.agent_id, r.handled, _seconds(r.talk_seconds),
                _seconds(r.acw_seconds), _seconds(r.aht), _seconds(r.ready_seconds), _seconds(r.ringing_seconds),
                _seconds(r.on_call_seconds), _seconds(r.wrap_up_seconds), _seconds(r.not_ready_seconds),
                _seconds(r.logged_in_seconds), _ratio(r.occupancy), _seconds(r.hold_seconds)]

    return _table(AGENT_COLUMNS, map(line, rows))
