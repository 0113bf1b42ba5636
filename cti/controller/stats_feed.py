"""Live statistics for the supervisor dashboard: the core's commands become :mod:`cti.stats` events.

Observes the controller (never blocks it); keeps a :class:`~cti.stats.LiveStats` of today (in the contact
center's time zone) and the last 15 and 60 minutes, and publishes a fresh view on the ``dashboard`` topics
soon after anything changes: at most every ``min_interval`` seconds, so a burst of changes costs one
snapshot, and never later than ``min_interval`` after a change (well inside the 1 s staleness bound).
Each supervisor scope (their queues and teams) has its own topic with only what it may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any, Protocol

from cti.calls import AgentChanged, Call, CallChanged, CallState, Command
from cti.routing import Agent, AgentState
from cti.routing.engine import qualified
from cti.routing.rules import Rules
from cti.stats import (
    AgentStateChanged,
    CallAnswered,
    CallArrived,
    CallEnded,
    CallOffered,
    CallRequeued,
    Event,
    IvrEntered,
    IvrLeft,
    LiveStats,
    MetricsConfig,
    Sliding,
    Snapshot,
    Today,
    replay_events,
)

__all__ = ["Scope", "StatsFeed", "dashboard_topic", "scope_of", "view_for"]

log = logging.getLogger("cti.stats_feed")
SERIES_EVERY = 60.0  # seconds between points of the day's charts
SERIES_POINTS = 24 * 60


class Publisher(Protocol):
    def publish(self, name: str, type_: str, data: Any) -> object: ...

    def subscribers(self, name: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """What one supervisor sees: ``None`` for everything."""

    queues: frozenset[str] | None = None
    teams: frozenset[str] | None = None

    @property
    def key(self) -> str:
        if self.queues is None and self.teams is None:
            return "all"
        return "q=" + ",".join(sorted(self.queues or ())) + ";t=" + ",".join(sorted(self.teams or ()))


def scope_of(scope: Mapping[str, Any] | None) -> Scope:
    if scope is None:
        return Scope()
    return Scope(frozenset(scope.get("queues") or ()), frozenset(scope.get("teams") or ()))


def dashboard_topic(scope: Scope) -> str:
    return f"dashboard:{scope.key}"


@dataclass(slots=True)
class _Seen:
    queue: str
    state: CallState
    agent_id: str | None = None


@dataclass(slots=True)
class StatsFeed:
    hub: Publisher
    clock: Callable[[], datetime]
    rules: Callable[[], Rules]
    agents: Callable[[], Mapping[str, Agent]]
    tz: tzinfo
    config: MetricsConfig = field(default_factory=MetricsConfig)
    min_interval: float = 0.1
    ivr_source: Callable[[], Iterable[str]] | None = None  # caller channels now in the IVR
    stats: LiveStats = field(init=False)
    series: list[dict[str, Any]] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)
    _calls: dict[str, _Seen] = field(default_factory=dict)
    _ivr: set[str] = field(default_factory=set)
    _last: datetime | None = None
    _dirty: bool = False
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _views: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: int = 0

    def __post_init__(self) -> None:
        self.stats = LiveStats([Today(self.tz), Sliding(15), Sliding(60)], self.config)

    # -- input ---------------------------------------------------------------------------------------------
    def observe(self, command: Command) -> None:
        try:
            if isinstance(command, CallChanged):
                self._call(command.call)
            elif isinstance(command, AgentChanged):
                self._agent(command.agent)
            else:
                return
        except ValueError as exc:  # out-of-order times from a restored state: skip, never break the call path
            log.warning("statistics skipped %s: %s", type(command).__name__, exc)
        self._changed()

    def restore(self, interactions: Iterable[Any], history: Iterable[Any], agents: Iterable[Agent]) -> None:
        """Carry on with today's figures after a restart: what was stored, then the agents as they are now."""
        for event in replay_events(interactions, history):
            self._feed(event)
        for agent in agents:
            self._agent(agent)
        self._changed()

    def ivr_calls(self, channels: Iterable[str]) -> None:
        """Calls now in the IVR (by caller channel): entered and left are the differences."""
        now = set(channels)
        at = self._now()
        for channel in now - self._ivr:
            self._feed(IvrEntered(at, channel))
        for channel in self._ivr - now:
            self._feed(IvrLeft(at, channel))
        if now != self._ivr:
            self._ivr = now
            self._changed()

    def _call(self, call: Call) -> None:
        seen = self._calls.get(call.call_id)
        if seen is None:
            if not call.queue:
                return  # shed or self-served before any queue: not a queue's call
            self._feed(CallArrived(call.arrived_at, call.call_id, call.queue))
            seen = self._calls[call.call_id] = _Seen(call.queue, CallState.WAITING)
        elif call.queue != seen.queue and call.answered_at is None:
            self._feed(CallRequeued(self._now(), call.call_id, call.queue))
            seen.queue = call.queue
        if call.state is CallState.RINGING and call.agent_id and call.agent_id != seen.agent_id:
            self._feed(CallOffered(self._now(), call.call_id, call.agent_id))
        if call.answered_at is not None and seen.state not in (CallState.CONNECTED, CallState.ENDED):
            self._feed(CallAnswered(call.answered_at, call.call_id, call.agent_id))
        if call.state is CallState.ENDED:
            self._feed(CallEnded(call.ended_at or self._now(), call.call_id,
                                 call.outcome.value if call.outcome else "failed"))
            self._calls.pop(call.call_id, None)
            return
        seen.state, seen.agent_id = call.state, call.agent_id

    def _agent(self, agent: Agent) -> None:
        rules = self.rules()
        self.stats.set_agent_queues(agent.agent_id, [q.name for q in rules.queues.values() if qualified(agent, q)])
        self._feed(AgentStateChanged(agent.state_since or self._now(), agent.agent_id, agent.state.value,
                                     agent.reason if agent.state is AgentState.NOT_READY else None))

    def _feed(self, event: Event) -> None:
        # The live aggregator needs time order; commands can carry a timestamp a hair older than the last.
        if self._last is not None and event.at < self._last:
            event = replace(event, at=self._last)
        self._last = event.at
        self.stats.feed(event)

    def _now(self) -> datetime:
        now = self.clock()
        return now if self._last is None or now >= self._last else self._last

    # -- output ---------------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        self._views.clear()  # a connecting dashboard must not get a view older than this change
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cti-dashboard")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_point = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            try:
                if self.ivr_source is not None:
                    self.ivr_calls(self.ivr_source())
                if loop.time() >= next_point:
                    next_point = loop.time() + SERIES_EVERY
                    self._record_point()
                if self._dirty or any(self.hub.subscribers(dashboard_topic(s)) for s in self.scopes.values()):
                    self._dirty = False
                    self.publish()
            except Exception:
                log.exception("dashboard update failed; trying again")
            await asyncio.sleep(self.min_interval)

    def snapshot(self) -> Snapshot:
        # The aggregator's clock moves to the snapshot's instant: later events must not be older than it.
        now = self._now()
        self._last = now
        return self.stats.snapshot(now)

    def view(self, scope: Scope) -> dict[str, Any]:
        """What a dashboard of ``scope`` shows now: the last published view if there is one (cheap for
        many dashboards connecting at once), else a fresh one."""
        cached = self._views.get(scope.key)
        if cached is not None:
            return cached
        return view_for(self.snapshot(), scope, self.agents(), self.series)

    def publish(self) -> None:
        """One snapshot, cut to each subscribed scope."""
        snapshot = self.snapshot()
        agents = self.agents()
        self._views.clear()
        for scope in list(self.scopes.values()):
            topic = dashboard_topic(scope)
            if self.hub.subscribers(topic):
                view = self._views[scope.key] = view_for(snapshot, scope, agents, self.series)
                self.hub.publish(topic, "stats", view)
                self.published += 1

    def _record_point(self) -> None:
        snapshot = self.snapshot()
        today = snapshot.windows["today"]
        self.series.append({"at": snapshot.at.isoformat(), "waiting": today.overall.waiting,
                            "service_level": today.overall.service_level,
                            "queues": {name: {"waiting": q.waiting, "service_level": q.service_level}
                                       for name, q in today.queues.items()}})
        del self.series[:-SERIES_POINTS]


def view_for(snapshot: Snapshot, scope: Scope, agents: Mapping[str, Agent],
             series: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON a dashboard gets: windows with overall, per-queue and per-agent figures, the agent grid and
    the day's series, restricted to the scope's queues and the agents of its teams and queues."""
    windows: dict[str, Any] = {}
    for name, window in snapshot.windows.items():
        queues = {q: asdict(stats) for q, stats in window.queues.items() if _sees_queue(scope, q)}
        visible = {a: asdict(stats) for a, stats in window.agents.items()
                   if _sees_agent(scope, agents.get(a), stats.queues)}
        windows[name] = {"start": window.start.isoformat(), "end": window.end.isoformat(),
                         "overall": asdict(window.overall) if scope.queues is None else None,
                         "queues": queues, "agents": visible}
    grid = [{"agent_id": a.agent_id, "name": a.name, "state": a.state.value, "reason": a.reason,
             "team": a.team, "site": a.site, "since": a.state_since.isoformat() if a.state_since else None,
             "call_id": a.call_id} for a in sorted(agents.values(), key=lambda a: a.agent_id)
            if _sees_agent(scope, a, snapshot.windows["today"].agents[a.agent_id].queues
                           if a.agent_id in snapshot.windows["today"].agents else ())]
    return {"at": snapshot.at.isoformat(), "windows": windows, "agents": grid,
            "series": [{**p, "queues": {q: v for q, v in p["queues"].items() if _sees_queue(scope, q)}}
                       for p in series[-180:]]}


def _sees_queue(scope: Scope, queue: str) -> bool:
    return scope.queues is None or queue in scope.queues


def _sees_agent(scope: Scope, agent: Agent | None, queues: Iterable[str]) -> bool:
    if scope.queues is None and scope.teams is None:
        return True
    if agent is not None and agent.team is not None and agent.team in (scope.teams or ()):
        return True
    return any(_sees_queue(scope, q) for q in queues) if scope.queues else False
