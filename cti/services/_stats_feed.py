"""Live statistics for the supervisor dashboard: the distributor's changes become :mod:`cti.stats` events, and
the dashboards get what changed.

Handles the distributor's changes (never blocks them) and keeps a :class:`~cti.stats.LiveStats` of today (in the contact
center's time zone) and the last 15 and 60 minutes. Each supervisor scope (their queues and teams) has its own
topic with only what it may see. The frames (docs/metrics.md, "The dashboard feed"):

- ``live``, at once (in the same turn of the event loop as the change, one frame for a burst of commands):
  the grid entries of the agents that changed, and the live picture (waiting, longest wait, in IVR, agents
  by state) of the queues whose picture changed. Built from the aggregator's live picture alone, without a
  snapshot of the windows: a few hundred bytes.
- ``stats``, every ``full_interval`` (0.8 s) while anyone watches: every window's figures, per queue and per
  agent, and the whole grid, built from one snapshot with every row serialised once for all the topics.
- ``series``, once a minute: the day chart's new point (the chart itself is in the snapshot only).

The live calls and chats go in the ``live`` frames too (``calls``: the rows that changed, ``calls_gone``: the
ids that ended or left the scope), so the page's list is as current as its tiles and needs no polling. A scope
sees the calls of its queues and those held by its teams' agents (as :class:`~cti.services.Policy` does), and
never a full caller number: the feed carries it masked (:func:`cti.types.masked`).

A dashboard that connects gets a ``snapshot``: the last full build with every ``live`` change since applied,
serialised once per scope until the next change, so a burst of connects computes nothing per connect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from cti.acd import Agent, AgentChanged, AgentState, Direction, Rules, WorkChanged, WorkItem, WorkState, qualified
from cti.services._policy import Scope
from cti.stats import (
    AgentCounts,
    AgentStateChanged,
    AgentStats,
    CallAnswered,
    CallArrived,
    CallEnded,
    CallOffered,
    CallRequeued,
    IvrEntered,
    IvrLeft,
    LiveQueue,
    LiveStats,
    MetricsConfig,
    QueueStats,
    Sliding,
    Snapshot,
    StatsEvent,
    Tally,
    Today,
    replay_events,
)
from cti.tasks import stop_task
from cti.types import Publisher, masked

__all__ = ["StatsFeed", "call_entry", "dashboard_topic", "grid_entry"]

log = logging.getLogger("cti.services.stats_feed")
ANONYMOUS: Final = "anonymous"  # a withheld caller id, as the telephony adapter names it
SERIES_EVERY: Final = 60.0  # seconds between points of the day's charts
SERIES_POINTS: Final = 24 * 60
SERIES_SHOWN: Final = 180  # points a dashboard keeps (three hours)
FULL_INTERVAL: Final = 0.8  # with the build and the send, a figure is never older than 1 s on the page
IVR_POLL: Final = 0.25


def dashboard_topic(scope: Scope) -> str:
    return f"dashboard:{scope.key}"


# -- rows: plain field reads (dataclasses.asdict deep-copies, and was a quarter of the process's CPU) --------
def grid_entry(agent: Agent) -> dict[str, Any]:
    """The agent's line in the dashboard's grid."""
    return {"agent_id": agent.agent_id, "name": agent.name, "state": agent.state.value, "reason": agent.reason,
            "team": agent.team, "site": agent.site,
            "since": agent.state_since.isoformat() if agent.state_since else None, "call_id": agent.call_id}


def call_entry(call: WorkItem, agents: Mapping[str, Agent]) -> dict[str, Any]:
    """A live call's row in the dashboard's list: who the caller is only as much as a supervisor needs."""
    agent = agents.get(call.agent_id) if call.agent_id else None
    return {"call_id": call.call_id, "channel": call.channel.value, "queue": call.queue, "state": call.state.value,
            "agent_id": call.agent_id, "agent_name": agent.name if agent is not None else None,
            "arrived_at": call.arrived_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "language": call.routing.language, "caller_name": call.caller_name,
            "identified": call.customer_id is not None,
            "caller_number": _shown_number(call.caller_number)}


def _shown_number(number: str) -> str | None:
    # A withheld number says so (it is nobody's); any other only its last digits, for every role.
    if not number or number == ANONYMOUS:
        return number or None
    return masked(number)


def _counts(counts: AgentCounts) -> dict[str, Any]:
    return {"ready": counts.ready, "ringing": counts.ringing, "on_call": counts.on_call,
            "wrap_up": counts.wrap_up, "not_ready": counts.not_ready, "logged_out": counts.logged_out,
            "not_ready_by_reason": dict(counts.not_ready_by_reason)}


def _tally(t: Tally) -> dict[str, int]:
    return {"offered": t.offered, "answered": t.answered, "answered_within_sl": t.answered_within_sl,
            "wait_us": t.wait_us, "abandoned": t.abandoned, "short_abandoned": t.short_abandoned,
            "abandoned_within_sl": t.abandoned_within_sl, "rejected": t.rejected, "completed": t.completed,
            "completed_within_sl": t.completed_within_sl, "handled": t.handled, "talk_us": t.talk_us,
            "hold_us": t.hold_us,
            "acw_us": t.acw_us}


def _queue_row(q: QueueStats) -> dict[str, Any]:
    return {"queue": q.queue, "waiting": q.waiting, "longest_wait": q.longest_wait, "in_ivr": q.in_ivr,
            "agents": _counts(q.agents), "tally": _tally(q.tally), "service_level": q.service_level,
            "service_level_app_queue": q.service_level_app_queue, "service_level_2": q.service_level_2,
            "asa": q.asa, "aht": q.aht, "abandon_rate": q.abandon_rate, "occupancy": q.occupancy}


def _agent_row(a: AgentStats) -> dict[str, Any]:
    return {"agent_id": a.agent_id, "state": a.state, "reason": a.reason,
            "since": a.since.isoformat() if a.since else None, "time_in_state": a.time_in_state,
            "queues": list(a.queues), "handled": a.handled, "talk_seconds": a.talk_seconds,
            "hold_seconds": a.hold_seconds,
            "acw_seconds": a.acw_seconds, "aht": a.aht, "ready_seconds": a.ready_seconds,
            "occupied_seconds": a.occupied_seconds, "not_ready_seconds": a.not_ready_seconds,
            "occupancy": a.occupancy}


def _live_row(q: LiveQueue) -> dict[str, Any]:
    return {"waiting": q.waiting, "longest_wait": q.longest_wait, "in_ivr": q.in_ivr, "agents": _counts(q.agents)}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class _Window:
    """One window of a full build: every row as a dict (the model) and as JSON text (for the frames)."""

    start: str
    end: str
    overall: dict[str, Any]
    queues: dict[str, dict[str, Any]]
    agents: dict[str, dict[str, Any]]
    texts: tuple[str, dict[str, str], dict[str, str]] | None  # overall, queues, agents; None once patched


@dataclass(slots=True)
class _Model:
    """What every dashboard shows, all scopes together: the last full build, kept current by every ``live``
    change since (the same changes the pages apply), so a connecting dashboard's snapshot is taken from it."""

    made: datetime
    at: str
    windows: dict[str, _Window]
    grid: dict[str, dict[str, Any]]
    live: dict[str | None, dict[str, Any]]  # queue (None: overall) -> its live picture as last sent
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel -> today's row, its waiting now


@dataclass(slots=True)
class _Seen:
    queue: str
    state: WorkState
    agent_id: str | None = None


@dataclass(slots=True)
class StatsFeed:
    hub: Publisher
    clock: Callable[[], datetime]
    rules: Callable[[], Rules]
    agents: Callable[[], Mapping[str, Agent]]
    tz: tzinfo
    config: MetricsConfig = field(default_factory=MetricsConfig)
    full_interval: float = FULL_INTERVAL
    ivr_source: Callable[[], Iterable[str]] | None = None  # caller channels now in the IVR
    stats: LiveStats = field(init=False)
    by_channel: LiveStats = field(init=False)
    """Today's figures per channel (voice, chat): the same events, the channel standing for the queue."""
    series: list[dict[str, Any]] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)
    _calls: dict[str, _Seen] = field(default_factory=dict)
    _ivr: set[str] = field(default_factory=set)
    _live_calls: dict[str, WorkItem] = field(default_factory=dict)  # the calls in a queue now, by id
    _call_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # their rows as last sent
    _pending_calls: set[str] = field(default_factory=set)
    _last: datetime | None = None
    _task: asyncio.Task[None] | None = None
    _model: _Model | None = None
    _version: int = 0  # moves with every change to the model: the snapshots' cache key
    _snapshots: dict[str, tuple[int, str]] = field(default_factory=dict)
    _pending_agents: set[str] = field(default_factory=set)
    _pending_live: bool = False
    _flush_handle: asyncio.Handle | None = None
    published: int = 0  # 'stats' frames
    deltas: int = 0  # 'live' frames

    def __post_init__(self) -> None:
        self.stats = LiveStats([Today(self.tz), Sliding(15), Sliding(60)], self.config)
        self.by_channel = LiveStats([Today(self.tz)], self.config)

    # -- input: the handler table's entries -----------------------------------------------------------------
    def work_changed(self, changed: WorkChanged, distributor: object = None) -> None:
        try:
            self._call(changed.item)
        except ValueError as exc:  # never break the call path over statistics
            log.warning("statistics skipped a change of %s: %s", changed.item.call_id, exc)
        self._changed()

    def agent_changed(self, changed: AgentChanged, distributor: object = None) -> None:
        try:
            self._agent(changed.agent)
        except ValueError as exc:
            log.warning("statistics skipped a change of agent %s: %s", changed.agent.agent_id, exc)
        self._changed()

    def restore(self, interactions: Iterable[Any], history: Iterable[Any], agents: Iterable[Agent],
                calls: Iterable[WorkItem] = ()) -> None:
        """Carry on with today's figures after a restart: what was stored, then the agents and the live calls as
        they are now (the calls' list; their figures are in what was stored)."""
        stored = list(interactions)
        channel_of = {str(r.call_id): str(getattr(r, "channel", "voice")) for r in stored}
        for event in replay_events(stored, history):
            call_id = getattr(event, "call_id", None)
            self._feed(event, channel=channel_of.get(call_id) if isinstance(call_id, str) else None)
        for agent in agents:
            self._agent(agent)
        for call in calls:
            if call.queue and call.state is not WorkState.ENDED and call.direction is Direction.INBOUND:
                self._live_calls[call.call_id] = call
                self._pending_calls.add(call.call_id)
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

    def _call(self, call: WorkItem) -> None:
        if call.direction is Direction.OUTBOUND:
            return  # an agent's call out: no queue's offered, answered or service level (``/metrics`` counts it)
        seen = self._calls.get(call.call_id)
        if seen is None:
            if not call.queue:
                return  # shed or self-served before any queue: not a queue's call
            self._feed(CallArrived(call.arrived_at, call.call_id, call.queue), channel=call.channel.value)
            seen = self._calls[call.call_id] = _Seen(call.queue, WorkState.WAITING)
        elif call.queue != seen.queue and call.answered_at is None:
            self._feed(CallRequeued(self._now(), call.call_id, call.queue))
            seen.queue = call.queue
        if call.state is WorkState.RINGING and call.agent_id and call.agent_id != seen.agent_id:
            self._feed(CallOffered(self._now(), call.call_id, call.agent_id), channel=call.channel.value)
        if call.answered_at is not None and seen.state not in (WorkState.CONNECTED, WorkState.ENDED):
            self._feed(CallAnswered(call.answered_at, call.call_id, call.agent_id), channel=call.channel.value)
        self._pending_calls.add(call.call_id)
        if call.state is WorkState.ENDED:
            self._live_calls.pop(call.call_id, None)
            self._feed(CallEnded(call.ended_at or self._now(), call.call_id,
                                 call.outcome.value if call.outcome else "failed", call.hold_seconds()),
                       channel=call.channel.value)
            self._calls.pop(call.call_id, None)
            return
        self._live_calls[call.call_id] = call
        seen.state, seen.agent_id = call.state, call.agent_id

    def _agent(self, agent: Agent) -> None:
        rules = self.rules()
        self.stats.set_agent_queues(agent.agent_id, [q.name for q in rules.queues.values() if qualified(agent, q)])
        self._feed(AgentStateChanged(agent.state_since or self._now(), agent.agent_id, agent.state.value,
                                     agent.reason if agent.state is AgentState.NOT_READY else None))
        self._pending_agents.add(agent.agent_id)

    def _feed(self, event: StatsEvent, *, channel: str | None = None) -> None:
        # The aggregator needs time order, and its clock follows the snapshots; a command can carry an older
        # time (a call's arrival is stamped before its caller is looked up). It is clamped, never dropped,
        # and a late arrival keeps its real time for the caller's wait.
        if self._last is not None and event.at < self._last:
            late = event.at
            event = replace(event, at=self._last)
            if isinstance(event, CallArrived):
                event = replace(event, arrived_at=late)
        self._last = event.at
        self.stats.feed(event)
        if channel is not None:
            self.by_channel.feed(replace(event, queue=channel) if isinstance(event, CallArrived) else event)

    def _now(self) -> datetime:
        now = self.clock()
        return now if self._last is None or now >= self._last else self._last

    # -- the live changes ------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self._pending_live = True
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # not serving (start-up, tests): the next full build takes it
            # Once the commands applied together are all in: a call's end and its agent's wrap-up make one frame.
            self._flush_handle = loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        try:
            self.flush()
        except Exception:
            log.exception("dashboard change not sent; the next full frame carries it")

    def flush(self) -> None:
        """Publish a ``live`` frame on every subscribed topic that sees something changed since the last one."""
        agent_ids, self._pending_agents = self._pending_agents, set()
        pending, self._pending_live = self._pending_live, False
        call_ids, self._pending_calls = self._pending_calls, set()
        agents = self.agents()
        # The list of calls is kept whether anyone watches or not: it is the snapshot's, never rebuilt.
        moved = self._update_calls(call_ids, agent_ids, agents) if call_ids or agent_ids else {}
        model = self._model
        if model is None or not (pending or agent_ids or moved):
            if moved:
                self._version += 1
            return  # nothing built yet: whoever connects gets a fresh build
        now = self._now()
        entries: dict[str, dict[str, Any]] = {}
        for agent_id in sorted(agent_ids):
            agent = agents.get(agent_id)
            if agent is not None:
                entry = grid_entry(agent)
                if model.grid.get(agent_id) != entry:
                    entries[agent_id] = model.grid[agent_id] = entry
        live = self.stats.live(now)
        queues: dict[str, dict[str, Any]] = {}
        for queue, figures in live.queues.items():
            row = _live_row(figures)
            if model.live.get(queue) != row:
                queues[queue] = model.live[queue] = row
        overall: dict[str, Any] | None = None
        if model.live.get(None) != (row := _live_row(live.overall)):
            overall = model.live[None] = row
        if not (entries or queues or overall or moved):
            return
        model.at = now.isoformat()
        for window in model.windows.values():
            window.texts = None
            for queue, row in queues.items():
                if queue in window.queues:
                    window.queues[queue].update(row)
            if overall is not None:
                window.overall.update(overall)
        self._version += 1
        for scope in list(self.scopes.values()):
            topic = dashboard_topic(scope)
            if not self.hub.subscribers(topic):
                continue
            data: dict[str, Any] = {"at": model.at}
            seen = [e for a, e in entries.items() if self._sees_agent(scope, agents.get(a), a)]
            if seen:
                data["agents"] = seen
            mine = {q: row for q, row in queues.items() if _sees_queue(scope, q)}
            if mine:
                data["queues"] = mine
            if overall is not None and scope.queues is None:
                data["overall"] = overall
            shown: list[dict[str, Any]] = []
            left: list[str] = []
            for call_id, (before, after) in moved.items():
                if after is not None and self._sees_call(scope, after, agents):
                    shown.append(after)
                elif before is not None and self._sees_call(scope, before, agents):
                    left.append(call_id)  # ended, or moved to a queue or an agent this scope does not see
            if shown:
                data["calls"] = shown
            if left:
                data["calls_gone"] = left
            if len(data) > 1:
                self.hub.publish(topic, "live", data)
                self.deltas += 1

    def _update_calls(self, call_ids: set[str], agent_ids: set[str], agents: Mapping[str, Agent]
                      ) -> dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        """The rows of the calls that changed, and of those held by agents who changed (their name), against
        those last sent: per call, its row before and after (None: not there)."""
        if agent_ids:
            call_ids |= {i for i, row in self._call_rows.items() if row["agent_id"] in agent_ids}
        moved: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        for call_id in sorted(call_ids):
            call = self._live_calls.get(call_id)
            before = self._call_rows.get(call_id)
            after = call_entry(call, agents) if call is not None else None
            if before == after:
                continue
            moved[call_id] = (before, after)
            if after is None:
                del self._call_rows[call_id]
            else:
                self._call_rows[call_id] = after
        return moved

    def _sees_call(self, scope: Scope, row: Mapping[str, Any], agents: Mapping[str, Agent]) -> bool:
        """As :meth:`cti.services.Policy.sees_call`: a call of the scope's queues, or held by its teams' agents."""
        if scope.everything or _sees_queue(scope, row["queue"]):
            return True
        agent = agents.get(row["agent_id"]) if row["agent_id"] else None
        return agent is not None and agent.team is not None and agent.team in (scope.teams or ())

    # -- the full figures ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cti-dashboard")

    async def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        await stop_task(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_point = next_full = next_poll = loop.time()
        while True:
            await asyncio.sleep(max(0.0, min(next_point, next_full, next_poll) - loop.time()))
            now = loop.time()
            try:
                if now >= next_poll:
                    next_poll = now + IVR_POLL
                    if self.ivr_source is not None:
                        self.ivr_calls(self.ivr_source())
                if now >= next_point:
                    next_point = now + SERIES_EVERY
                    self._record_point()
                if now >= next_full:
                    # On the beat, so a late turn does not push every later frame back.
                    next_full += self.full_interval
                    if next_full <= now:
                        next_full = now + self.full_interval
                    if any(self.hub.subscribers(dashboard_topic(s)) for s in self.scopes.values()):
                        self.publish()
            except Exception:
                log.exception("dashboard update failed; trying again")

    def snapshot(self) -> Snapshot:
        # The aggregator's clock moves to the snapshot's instant: later events must not be older than it.
        now = self._now()
        self._last = now
        return self.stats.snapshot(now)

    def publish(self) -> None:
        """The full figures: one snapshot, every row serialised once, each subscribed scope's ``stats`` frame
        assembled from those pieces."""
        model = self._rebuild()
        agents = self.agents()
        for scope in list(self.scopes.values()):
            topic = dashboard_topic(scope)
            if self.hub.subscribers(topic):
                self.hub.publish_json(topic, "stats", self._assemble(model, scope, agents))
                self.published += 1

    def _rebuild(self) -> _Model:
        self.flush()  # changes observed so far go out first: a full frame never overtakes a change
        snapshot = self.snapshot()
        windows: dict[str, _Window] = {}
        for name, window in snapshot.windows.items():
            overall = _queue_row(window.overall)
            queues = {q: _queue_row(s) for q, s in window.queues.items()}
            rows = {a: _agent_row(s) for a, s in window.agents.items()}
            texts = (_dumps(overall), {q: _dumps(r) for q, r in queues.items()},
                     {a: _dumps(r) for a, r in rows.items()})
            windows[name] = _Window(window.start.isoformat(), window.end.isoformat(), overall, queues, rows, texts)
        agents = self.agents()
        grid = {a: grid_entry(agents[a]) for a in sorted(agents)}
        live = self.stats.live(snapshot.at)  # the same instant: the values the windows hold
        known: dict[str | None, dict[str, Any]] = {q: _live_row(f) for q, f in live.queues.items()}
        known[None] = _live_row(live.overall)
        by_channel = self.by_channel.snapshot(snapshot.at).windows["today"].queues
        waiting = self.by_channel.live(snapshot.at).queues
        channels = {c: {**_queue_row(row), "waiting": waiting[c].waiting if c in waiting else 0,
                        "longest_wait": waiting[c].longest_wait if c in waiting else None}
                    for c, row in sorted(by_channel.items())}
        self._model = _Model(snapshot.at, snapshot.at.isoformat(), windows, grid, known, channels)
        self._version += 1
        return self._model

    def _assemble(self, model: _Model, scope: Scope, agents: Mapping[str, Agent]) -> str:
        parts = []
        for name, window in model.windows.items():
            assert window.texts is not None  # assembled right after the build, before any change
            overall, queues, rows = window.texts
            queue_text = ",".join(f"{_dumps(q)}:{t}" for q, t in queues.items() if _sees_queue(scope, q))
            agent_text = ",".join(f"{_dumps(a)}:{t}" for a, t in rows.items()
                                  if self._sees_agent(scope, agents.get(a), a))
            parts.append(f'{_dumps(name)}:{{"start":{_dumps(window.start)},"end":{_dumps(window.end)},'
                         f'"overall":{overall if scope.queues is None else "null"},'
                         f'"queues":{{{queue_text}}},"agents":{{{agent_text}}}}}')
        grid = ",".join(_dumps(e) for a, e in model.grid.items() if self._sees_agent(scope, agents.get(a), a))
        channels = _dumps(model.channels) if scope.queues is None else "null"
        return f'{{"at":{_dumps(model.at)},"windows":{{{",".join(parts)}}},"agents":[{grid}],"channels":{channels}}}'

    # -- what a dashboard starts from ------------------------------------------------------------------------
    def view_json(self, scope: Scope) -> str:
        """A connecting dashboard's snapshot as JSON text: the model as the scope sees it, serialised once per
        change whoever connects."""
        self.scopes[scope.key] = scope
        model = self._model
        if model is None or self._now() - model.made > timedelta(seconds=self.full_interval):
            self._rebuild()  # nobody watched for a while: the figures are old
        cached = self._snapshots.get(scope.key)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        text = _dumps(self._scoped(scope))
        self._snapshots[scope.key] = (self._version, text)
        return text

    def view(self, scope: Scope) -> dict[str, Any]:
        """What a dashboard of ``scope`` shows, computed now (the JSON API)."""
        self._rebuild()
        return self._scoped(scope)

    def _scoped(self, scope: Scope) -> dict[str, Any]:
        model = self._model
        assert model is not None
        agents = self.agents()
        every = scope.queues is None and scope.teams is None
        windows = {name: {"start": w.start, "end": w.end, "overall": w.overall if scope.queues is None else None,
                          "queues": {q: r for q, r in w.queues.items() if _sees_queue(scope, q)},
                          "agents": {a: r for a, r in w.agents.items()
                                     if every or self._sees_agent(scope, agents.get(a), a)}}
                   for name, w in model.windows.items()}
        return {"at": model.at, "timezone": getattr(self.tz, "key", str(self.tz)), "windows": windows,
                "agents": [e for a, e in model.grid.items() if every or self._sees_agent(scope, agents.get(a), a)],
                "series": [_scoped_point(p, scope) for p in self.series[-SERIES_SHOWN:]],
                "channels": model.channels if scope.queues is None else None,
                "calls": sorted((r for r in self._call_rows.values() if self._sees_call(scope, r, agents)),
                                key=lambda r: (r["arrived_at"], r["call_id"]))}

    # -- the day's chart -------------------------------------------------------------------------------------
    def _record_point(self) -> None:
        snapshot = self.snapshot()
        today = snapshot.windows["today"]
        point = {"at": snapshot.at.isoformat(), "waiting": today.overall.waiting,
                 "service_level": today.overall.service_level,
                 "queues": {name: {"waiting": q.waiting, "service_level": q.service_level}
                            for name, q in today.queues.items()}}
        self.series.append(point)
        del self.series[:-SERIES_POINTS]
        self._version += 1
        for scope in list(self.scopes.values()):
            topic = dashboard_topic(scope)
            if self.hub.subscribers(topic):
                self.hub.publish(topic, "series", {"point": _scoped_point(point, scope), "keep": SERIES_SHOWN})

    def _sees_agent(self, scope: Scope, agent: Agent | None, agent_id: str) -> bool:
        return _sees_agent(scope, agent, self.stats.agent_queues(agent_id))

    def publish_for_queue(self, queue: str, type_: str, data: Any) -> int:
        """A frame about ``queue`` (an alert) to the open dashboards whose scope sees it; to how many topics."""
        sent = 0
        for scope in list(self.scopes.values()):
            topic = dashboard_topic(scope)
            if _sees_queue(scope, queue) and self.hub.subscribers(topic):
                self.hub.publish(topic, type_, data)
                sent += 1
        return sent


def _scoped_point(point: dict[str, Any], scope: Scope) -> dict[str, Any]:
    if scope.queues is None:
        return point
    return {**point, "queues": {q: v for q, v in point["queues"].items() if _sees_queue(scope, q)}}


def _sees_queue(scope: Scope, queue: str) -> bool:
    return scope.queues is None or queue in scope.queues


def _sees_agent(scope: Scope, agent: Agent | None, queues: Iterable[str]) -> bool:
    if scope.queues is None and scope.teams is None:
        return True
    if agent is not None and agent.team is not None and agent.team in (scope.teams or ()):
        return True
    return any(_sees_queue(scope, q) for q in queues) if scope.queues else False
