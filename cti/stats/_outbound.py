"""Outbound figures per interval: agents' calls out (click-to-dial, scheduled callbacks) and how scheduled
callbacks ended, per queue, in the intervals of the interval reports (:mod:`cti.stats._reports`).

Kept apart from the customers' calls: none of this is offered, answered or in a service level, an ASA or a
forecast. Each counter adds in the interval holding its instant (intervals half-open, as the interval reports):

- ``dialed``: a call out that dialed the customer (not a preview skipped, not one whose agent's own phone never
  answered), at the call's start;
- ``answered``: the customer answered, at that instant;
- ``failed``: a call out that ended without reaching the customer (no answer, busy, the agent's phone, lost), at
  its end;
- ``talk_seconds``: answer to end of the answered ones, at their end;
- ``callbacks_completed``, ``callbacks_failed``: scheduled callbacks that ended answered, or failed after their
  last attempt (the retries exhausted), at that last attempt.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Protocol

from cti.stats._model import InteractionLike
from cti.stats._reports import _ratio, _seconds, _table
from cti.stats._windows import from_us, interval_bounds, to_us

__all__ = ["OUTBOUND_COLUMNS", "CallbackEnd", "OutboundCallLike", "OutboundInterval", "outbound_csv",
           "outbound_intervals"]

_NOT_DIALED = frozenset({"preview_skipped", "agent_no_answer"})


class OutboundCallLike(InteractionLike, Protocol):
    """An agent's call out as stored (:class:`cti.records.InteractionRecord` fits)."""

    @property
    def end_reason(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CallbackEnd:
    """A scheduled callback that is over: its queue, its last attempt's time, answered or not."""

    queue: str
    at: datetime
    completed: bool


@dataclass(frozen=True, slots=True)
class OutboundInterval:
    start: datetime
    end: datetime
    queue: str
    dialed: int = 0
    answered: int = 0
    failed: int = 0
    talk_seconds: float = 0.0
    callbacks_completed: int = 0
    callbacks_failed: int = 0
    answer_rate: float | None = field(default=None)
    """``answered / (answered + failed)``; none without either."""


_COUNTERS = ("dialed", "answered", "failed", "talk_us", "callbacks_completed", "callbacks_failed")


def outbound_intervals(first_day: date, last_day: date, *, tz: tzinfo, minutes: int,
                       calls: Iterable[OutboundCallLike], callbacks: Iterable[CallbackEnd] = (),
                       now: datetime | None = None, queues: Iterable[str] = (),
                       include_empty: bool = True) -> tuple[OutboundInterval, ...]:
    """Per interval of the local days ``first_day``..``last_day`` in ``tz``, then per queue: ``queues`` and those
    with activity. Nothing after ``now`` counts. Without ``include_empty``, only rows with something in them."""
    bounds = [to_us(b) for b in interval_bounds(first_day, last_day, tz, minutes)]
    until = bounds[-1] if now is None else min(bounds[-1], to_us(now))
    intervals = len(bounds) - 1
    totals: list[dict[str, list[int]]] = [{} for _ in range(intervals)]

    def add(at: datetime | None, queue: str, counter: str, amount: int = 1) -> None:
        if at is None:
            return
        us = to_us(at)
        i = bisect.bisect_right(bounds, us) - 1
        if us < until and 0 <= i < intervals:
            totals[i].setdefault(queue, [0] * len(_COUNTERS))[_COUNTERS.index(counter)] += amount

    for call in calls:
        if call.outcome == "skipped" or call.end_reason in _NOT_DIALED:
            if call.end_reason == "agent_no_answer":
                add(call.ended_at, call.queue, "failed")
            continue
        add(call.arrived_at, call.queue, "dialed")
        if call.answered_at is not None:
            add(call.answered_at, call.queue, "answered")
            if call.ended_at is not None:
                add(call.ended_at, call.queue, "talk_us", to_us(call.ended_at) - to_us(call.answered_at))
        elif call.ended_at is not None:
            add(call.ended_at, call.queue, "failed")
    for ended in callbacks:
        add(ended.at, ended.queue, "callbacks_completed" if ended.completed else "callbacks_failed")

    names = sorted(set(queues) | {q for per in totals for q in per})
    rows: list[OutboundInterval] = []
    for i in range(intervals):
        opens, closes = from_us(bounds[i]).astimezone(tz), from_us(bounds[i + 1]).astimezone(tz)
        for queue in names:
            counted = totals[i].get(queue)
            if counted is None and not include_empty:
                continue
            dialed, answered, failed, talk_us, completed, failed_callbacks = counted or [0] * len(_COUNTERS)
            rows.append(OutboundInterval(
                opens, closes, queue, dialed=dialed, answered=answered, failed=failed, talk_seconds=talk_us / 1e6,
                callbacks_completed=completed, callbacks_failed=failed_callbacks,
                answer_rate=answered / (answered + failed) if answered + failed else None))
    return tuple(rows)


OUTBOUND_COLUMNS = (
    "interval_start", "interval_end", "queue", "dialed", "answered", "failed", "talk_seconds", "answer_rate",
    "callbacks_completed", "callbacks_failed",
)
"""The outbound CSV's columns, in order. New columns are only ever appended."""


def outbound_csv(rows: Iterable[OutboundInterval]) -> str:
    """The rows as CSV text (columns :data:`OUTBOUND_COLUMNS`; formats as the queue CSV)."""
    def line(r: OutboundInterval) -> list[str | int]:
        return [r.start.isoformat(), r.end.isoformat(), r.queue, r.dialed, r.answered, r.failed,
                _seconds(r.talk_seconds), _ratio(r.answer_rate), r.callbacks_completed, r.callbacks_failed]

    return _table(OUTBOUND_COLUMNS, map(line, rows))
