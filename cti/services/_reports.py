"""Interval reports (per queue and per agent, 15/30/60 minutes) from the stored interactions and agent states,
limited to a supervisor's scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta, tzinfo

from cti.errors import Forbidden
from cti.services._policy import Scope
from cti.services._ports import AgentRegistry, Callbacks, Interactions
from cti.services._query import CenterView
from cti.stats import (
    CallbackEnd,
    IntervalReport,
    OutboundInterval,
    day_start,
    interval_report,
    outbound_intervals,
)
from cti.types import Clock

__all__ = ["ReportService"]


class ReportService:
    def __init__(self, query: CenterView, interactions: Interactions, agents: AgentRegistry, clock: Clock,
                 callbacks: Callbacks | None = None) -> None:
        self._query = query
        self._callbacks = callbacks
        self._interactions = interactions
        self._agents = agents
        self._clock = clock

    def today(self, tz: tzinfo) -> date:
        return self._clock().astimezone(tz).date()

    async def intervals(self, scope: Scope, first: date, last: date, *, tz: tzinfo, minutes: int,
                        queue: str | None = None, include_empty: bool = False) -> IntervalReport:
        """Local days ``first``..``last`` in ``tz``: the queues of the scope (or just ``queue``, which must be in
        it), and the agents the scope sees (its teams; everyone for an unlimited scope)."""
        queues = _queues(scope, queue)
        start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        interactions = [r for r in await self._interactions.between(start, end, queues=queues) if r.queue]
        history = await self._agents.states_between(start, end)
        report = interval_report(first, last, tz=tz, minutes=minutes, interactions=interactions,
                                 agent_history=history, now=min(end, self._clock()), include_empty=include_empty)
        if scope.everything:
            return report
        teams = {a.agent_id: a.team for a in self._query.agents()}
        rows = tuple(r for r in report.agents if teams.get(r.agent_id) in (scope.teams or ()))
        return replace(report, agents=rows)

    async def outbound(self, scope: Scope, first: date, last: date, *, tz: tzinfo, minutes: int,
                       queue: str | None = None, include_empty: bool = False) -> tuple[OutboundInterval, ...]:
        """Agents' calls out and how scheduled callbacks ended, per interval and queue (of the scope, or just
        ``queue``), apart from the customers' calls of :meth:`intervals`."""
        queues = _queues(scope, queue)
        start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        calls = [r for r in await self._interactions.outbound_between(start, end, queues=queues) if r.queue]
        finished = [] if self._callbacks is None else await self._callbacks.finished_between(start, end,
                                                                                              queues=queues)
        ends = [CallbackEnd(c.queue, c.attempts[-1].at, c.attempts[-1].outcome == "answered")
                for c in finished if c.attempts]
        return outbound_intervals(first, last, tz=tz, minutes=minutes, calls=calls, callbacks=ends,
                                  now=min(end, self._clock()), include_empty=include_empty,
                                  queues=sorted(queues) if queues is not None else ())


def _queues(scope: Scope, queue: str | None) -> frozenset[str] | None:
    """The scope's queues, or just ``queue`` if it is in them; None: every queue."""
    if queue is None:
        return scope.queues
    if scope.queues is not None and queue not in scope.queues:
        raise Forbidden(f"queue {queue!r} is outside your scope", code="queue_out_of_scope", params={"queue": queue})
    return frozenset({queue})
