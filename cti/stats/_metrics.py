"""Metric definitions, in one place for the live aggregator, the batch computation and the reports.

Every counter is a sum of *contributions*: a call adds to a counter at the instant something happens to it
(offered at arrival, answered at answer, abandoned at its end, handled when its after-call work ends). A window or
an interval counts the contributions stamped inside it. Time in agent states is the overlap of each state period
with the window. docs/metrics.md states every definition; this module is its executable form.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cti.acd import AgentState
from cti.stats._model import (
    DEFAULT_CONFIG,
    NOTHING_LIVE,
    TALLY_FIELDS,
    AgentCounts,
    AgentStateLike,
    AgentStats,
    InteractionLike,
    LivePicture,
    MetricsConfig,
    QueueStats,
    Snapshot,
    Tally,
    WindowStats,
)
from cti.stats._windows import Window, from_us, to_us

__all__ = [
    "OCCUPIED_STATES",
    "AgentHistory",
    "CallFacts",
    "Changes",
    "Contribution",
    "Figures",
    "LiveView",
    "Segment",
    "add_changes",
    "agent_counts",
    "agent_segments",
    "answer_changes",
    "arrival_changes",
    "call_contributions",
    "compute",
    "end_changes",
    "handled_changes",
    "handling_end",
    "overlap",
    "tally_of",
    "window_stats",
]

OCCUPIED_STATES = frozenset({AgentState.RINGING.value, AgentState.ON_CALL.value, AgentState.WRAP_UP.value})
"""Time in these states is handling time for occupancy (as for an agent's occupancy in :mod:`cti.acd`)."""
_READY, _NOT_READY, _WRAP_UP = AgentState.READY.value, AgentState.NOT_READY.value, AgentState.WRAP_UP.value
_LOGGED_OUT = AgentState.LOGGED_OUT.value
_STATES = tuple(s.value for s in AgentState)

_I = {name: index for index, name in enumerate(TALLY_FIELDS)}
OFFERED, ANSWERED, ANSWERED_IN_SL, WAIT = _I["offered"], _I["answered"], _I["answered_within_sl"], _I["wait_us"]
ABANDONED, SHORT, ABANDONED_IN_SL = _I["abandoned"], _I["short_abandoned"], _I["abandoned_within_sl"]
REJECTED, COMPLETED, COMPLETED_IN_SL = _I["rejected"], _I["completed"], _I["completed_within_sl"]
HANDLED, TALK, ACW, HOLD = _I["handled"], _I["talk_us"], _I["acw_us"], _I["hold_us"]

Changes = tuple[tuple[int, int], ...]
"""(tally field index, amount) pairs."""
Contribution = tuple[int, bool, str, Changes]
"""(instant in µs, True for an agent key / False for a queue key, the queue or agent id, changes)."""
Segment = tuple[int, int, str, str]
"""(begin µs, end µs, agent id, state): the agent was in ``state`` over [begin, end)."""


# -- what each happening adds ---------------------------------------------------------------------------------
def arrival_changes() -> Changes:
    return ((OFFERED, 1),)


def answer_changes(wait_us: int, sl_us: int) -> Changes:
    return (ANSWERED, 1), (WAIT, wait_us), (ANSWERED_IN_SL, int(wait_us <= sl_us))


def end_changes(outcome: str, wait_us: int, answer_wait_us: int | None, sl_us: int, short_us: int) -> Changes:
    """At the call's end. ``wait_us``: arrival to end; ``answer_wait_us``: arrival to answer, if answered."""
    if outcome == "abandoned":
        return (ABANDONED, 1), (SHORT, int(wait_us <= short_us)), (ABANDONED_IN_SL, int(wait_us <= sl_us))
    if outcome == "rejected":
        return ((REJECTED, 1),)
    if outcome == "answered" and answer_wait_us is not None:
        return (COMPLETED, 1), (COMPLETED_IN_SL, int(answer_wait_us <= sl_us))
    return ()


def handled_changes(talk_us: int, acw_us: int, hold_us: int = 0) -> Changes:
    """``talk_us`` is answer to end, the holds in it included; ``hold_us`` says how much of it was on hold."""
    return (HANDLED, 1), (TALK, talk_us), (ACW, acw_us), (HOLD, min(hold_us, talk_us))


# -- batch: contributions from stored data --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallFacts:
    queue: str
    agent_id: str | None
    arrived: int
    answered: int | None
    ended: int | None
    outcome: str | None
    hold: int = 0  # µs on hold, within answer to end

    @classmethod
    def of(cls, call: InteractionLike) -> CallFacts:
        def us(moment: datetime | None) -> int | None:
            return None if moment is None else to_us(moment)

        ended = us(call.ended_at) if call.outcome is not None else None
        return cls(call.queue, call.agent_id, to_us(call.arrived_at), us(call.answered_at), ended,
                   call.outcome if ended is not None else None, round(call.hold_seconds * 1_000_000))


@dataclass(slots=True)
class AgentHistory:
    """State records per agent in time order (records of one instant keep the order they were given in)."""

    records: dict[str, list[tuple[int, str, str | None]]] = field(default_factory=dict)
    _times: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, history: Iterable[AgentStateLike], until_us: int | None = None) -> AgentHistory:
        rows = sorted(((to_us(r.at), r.agent_id, r.state, r.reason) for r in history), key=lambda row: row[0])
        result = cls()
        for at, agent_id, state, reason in rows:
            if until_us is not None and at > until_us:
                break
            result.records.setdefault(agent_id, []).append((at, state, reason))
            result._times.setdefault(agent_id, []).append(at)
        return result

    def times(self, agent_id: str) -> list[int]:
        return self._times.get(agent_id, [])


def handling_end(history: AgentHistory, agent_id: str, ended: int) -> int | None:
    """When the handling of an answered call that ended at ``ended`` finishes, or None while still in wrap-up.

    The call's after-call work is the agent's wrap-up that starts at the very instant the call ends (the core
    stamps both with the same time): if, once every record of that instant is applied, the agent is in wrap-up,
    handling ends at the agent's next state change; otherwise it ends with the call (no after-call work).
    """
    times = history.times(agent_id)
    i = bisect.bisect_right(times, ended) - 1
    if i < 0:
        return ended
    at, state, _ = history.records[agent_id][i]
    if at != ended or state != _WRAP_UP:
        return ended
    return times[i + 1] if i + 1 < len(times) else None


def call_contributions(calls: Iterable[CallFacts], history: AgentHistory, config: MetricsConfig,
                       until_us: int | None = None) -> Iterator[Contribution]:
    """Everything the calls add, each stamped with its instant; nothing after ``until_us``."""
    short_us = config.short_abandon_us
    for call in calls:
        if not call.queue:
            continue  # never reached a queue (shed, served or abandoned in the IVR): cti_ivr_*_total counts it
        sl_us = config.service_level_us(call.queue)
        found: list[Contribution] = []
        if call.outcome != "rejected":
            found.append((call.arrived, False, call.queue, arrival_changes()))
        answer_wait = None if call.answered is None else max(0, call.answered - call.arrived)
        if call.answered is not None and answer_wait is not None:
            found.append((call.answered, False, call.queue, answer_changes(answer_wait, sl_us)))
        if call.ended is not None and call.outcome is not None:
            changes = end_changes(call.outcome, max(0, call.ended - call.arrived), answer_wait, sl_us, short_us)
            if changes:
                found.append((call.ended, False, call.queue, changes))
            if call.outcome == "answered" and call.answered is not None and call.agent_id is not None:
                done = handling_end(history, call.agent_id, call.ended)
                if done is not None:
                    changes = handled_changes(max(0, call.ended - call.answered), done - call.ended, call.hold)
                    found += [(done, False, call.queue, changes), (done, True, call.agent_id, changes)]
        yield from (c for c in found if until_us is None or c[0] <= until_us)


def agent_segments(history: AgentHistory, until_us: int) -> Iterator[Segment]:
    """Every state period, the last one of each agent still open up to ``until_us``."""
    for agent_id, records in history.records.items():
        for (begin, state, _), (end, _, _) in itertools.pairwise(records):
            if end > begin:
                yield begin, end, agent_id, state
        last_at, last_state, _ = records[-1]
        if until_us > last_at:
            yield last_at, until_us, agent_id, last_state


def overlap(begin: int, end: int, start: int, stop: int) -> int:
    return max(0, min(end, stop) - max(begin, start))


# -- figures from counters ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LiveView:
    """The live picture, normalised: the same from the aggregator and from :func:`compute`."""

    waiting: Sequence[tuple[str, int]]
    """(queue, arrival µs) of every call in a queue not yet answered."""
    ivr: Sequence[str | None]
    agents: Mapping[str, tuple[str, str | None, int | None]]
    """Every known agent: (state, not-ready reason, since µs); an agent with no state record is logged out."""
    memberships: Mapping[str, frozenset[str]]


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _mean_seconds(total_us: int, count: int) -> float | None:
    return None if count == 0 else total_us / count / 1_000_000


def agent_counts(states: Iterable[tuple[str, str | None]]) -> AgentCounts:
    """Agents by state (and not-ready reason) among ``states``: (state, reason) pairs."""
    counts = dict.fromkeys(_STATES, 0)
    reasons: dict[str, int] = {}
    for state, reason in states:
        counts[state] = counts.get(state, 0) + 1
        if state == _NOT_READY:
            reasons[reason or ""] = reasons.get(reason or "", 0) + 1
    return AgentCounts(ready=counts[_READY], ringing=counts[AgentState.RINGING.value],
                       on_call=counts[AgentState.ON_CALL.value], wrap_up=counts[_WRAP_UP],
                       not_ready=counts[_NOT_READY], logged_out=counts[_LOGGED_OUT],
                       not_ready_by_reason=dict(sorted(reasons.items())))


def _occupancy(state_us: Iterable[Mapping[str, int]]) -> float | None:
    occupied = ready = 0
    for states in state_us:
        occupied += sum(us for state, us in states.items() if state in OCCUPIED_STATES)
        ready += states.get(_READY, 0)
    return _ratio(occupied, occupied + ready)


def _sum_tallies(tallies: Iterable[Tally]) -> Tally:
    totals = [0] * len(TALLY_FIELDS)
    for tally in tallies:
        for i, name in enumerate(TALLY_FIELDS):
            totals[i] += getattr(tally, name)
    return Tally(*totals)


@dataclass(frozen=True, slots=True)
class Figures:
    """The ratios and means of a tally (None where the denominator is zero)."""

    service_level: float | None
    service_level_app_queue: float | None
    service_level_2: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None

    @classmethod
    def of(cls, tally: Tally) -> Figures:
        lost = tally.abandoned - tally.short_abandoned
        return cls(
            service_level=_ratio(tally.answered_within_sl, tally.answered),
            service_level_app_queue=_ratio(tally.completed_within_sl, tally.completed),
            service_level_2=_ratio(tally.completed_within_sl + tally.abandoned_within_sl,
                                   tally.completed + tally.abandoned),
            asa=_mean_seconds(tally.wait_us, tally.answered),
            aht=_mean_seconds(tally.talk_us + tally.acw_us, tally.handled),
            abandon_rate=_ratio(lost, tally.answered + lost),
        )


def _queue_stats(queue: str | None, tally: Tally, now_us: int, waiting: Sequence[int], in_ivr: int,
                 agents: AgentCounts, state_us: Iterable[Mapping[str, int]]) -> QueueStats:
    figures = Figures.of(tally)
    return QueueStats(
        queue=queue,
        waiting=len(waiting),
        longest_wait=max(0, now_us - min(waiting)) / 1_000_000 if waiting else 0.0,
        in_ivr=in_ivr,
        agents=agents,
        tally=tally,
        service_level=figures.service_level,
        service_level_app_queue=figures.service_level_app_queue,
        service_level_2=figures.service_level_2,
        asa=figures.asa,
        aht=figures.aht,
        abandon_rate=figures.abandon_rate,
        occupancy=_occupancy(state_us),
    )


def _agent_stats(agent_id: str, live: tuple[str, str | None, int | None], queues: frozenset[str], tally: Tally,
                 state_us: Mapping[str, int], now_us: int) -> AgentStats:
    state, reason, since = live
    occupied = sum(us for s, us in state_us.items() if s in OCCUPIED_STATES)
    ready = state_us.get(_READY, 0)
    return AgentStats(
        agent_id=agent_id, state=state, reason=reason,
        since=None if since is None else from_us(since),
        time_in_state=None if since is None else max(0, now_us - since) / 1_000_000,
        queues=tuple(sorted(queues)),
        handled=tally.handled, talk_seconds=tally.talk_us / 1_000_000, acw_seconds=tally.acw_us / 1_000_000,
        hold_seconds=tally.hold_us / 1_000_000,
        aht=_mean_seconds(tally.talk_us + tally.acw_us, tally.handled),
        ready_seconds=ready / 1_000_000, occupied_seconds=occupied / 1_000_000,
        not_ready_seconds=state_us.get(_NOT_READY, 0) / 1_000_000,
        occupancy=_ratio(occupied, occupied + ready),
    )


def window_stats(name: str, start_us: int, now_us: int, *, queue_tallies: Mapping[str, Tally],
                 agent_tallies: Mapping[str, Tally], state_us: Mapping[str, Mapping[str, int]], live: LiveView,
                 config: MetricsConfig) -> WindowStats:
    """The window's figures from its counters, state times and the live picture.

    Listed: configured queues, queues an agent serves, and queues with activity (counters, waiting or IVR calls);
    every known agent, and any agent with counters in the window.
    """
    empty = Tally()
    active_queues = {q for q, t in queue_tallies.items() if t}
    served = {q for queues in live.memberships.values() for q in queues}
    listed = sorted(set(config.queues) | served | active_queues | {q for q, _ in live.waiting}
                    | {q for q in live.ivr if q is not None})
    agent_ids = sorted(set(live.agents) | {a for a, t in agent_tallies.items() if t}
                       | {a for a, states in state_us.items() if any(states.values())})
    states = {a: live.agents.get(a, (_LOGGED_OUT, None, None)) for a in agent_ids}
    no_time: dict[str, int] = {}

    queues: dict[str, QueueStats] = {}
    for queue in listed:
        members = [a for a in agent_ids if queue in live.memberships.get(a, ())]
        queues[queue] = _queue_stats(
            queue, queue_tallies.get(queue, empty), now_us,
            [arrived for q, arrived in live.waiting if q == queue], sum(1 for q in live.ivr if q == queue),
            agent_counts(states[a][:2] for a in members), (state_us.get(a, no_time) for a in members))
    overall = _queue_stats(
        None, _sum_tallies(queue_tallies.values()), now_us, [arrived for _, arrived in live.waiting],
        len(live.ivr), agent_counts(s[:2] for s in states.values()), (state_us.get(a, no_time) for a in agent_ids))
    agents = {a: _agent_stats(a, states[a], live.memberships.get(a, frozenset()), agent_tallies.get(a, empty),
                              state_us.get(a, no_time), now_us) for a in agent_ids}
    return WindowStats(name, from_us(start_us), from_us(now_us), overall, queues, agents)


def tally_of(totals: Sequence[int]) -> Tally:
    return Tally(*totals)


def add_changes(totals: list[int], changes: Changes, sign: int = 1) -> None:
    for index, amount in changes:
        totals[index] += sign * amount


# -- batch ----------------------------------------------------------------------------------------------------
def compute(now: datetime, windows: Sequence[Window], *, interactions: Iterable[InteractionLike],
            agent_history: Iterable[AgentStateLike], picture: LivePicture = NOTHING_LIVE,
            config: MetricsConfig = DEFAULT_CONFIG) -> Snapshot:
    """Every window's statistics at ``now`` in one pass over stored data.

    ``interactions``: calls that ended, including those that ended shortly before the window, whose after-call
    work may end inside it (rows without an outcome are skipped: calls going on belong in ``picture``; only what
    happened by ``now`` counts). ``agent_history``: state records including, per agent, the last one before the
    earliest window start. ``picture``: calls not ended, the IVR and queue memberships.
    """
    now_us = to_us(now)
    history = AgentHistory.of(agent_history, now_us)
    facts = [CallFacts.of(i) for i in interactions if i.outcome is not None and i.ended_at is not None]
    facts += [CallFacts(c.queue, c.agent_id, to_us(c.arrived_at), None if c.answered_at is None
                        else to_us(c.answered_at), None, None) for c in picture.calls]
    contributions = list(call_contributions(facts, history, config, now_us))
    segments = list(agent_segments(history, now_us))

    known = {a: (records[-1][1], records[-1][2] if records[-1][1] == _NOT_READY else None, records[-1][0])
             for a, records in history.records.items()}
    agents: dict[str, tuple[str, str | None, int | None]] = {a: (_LOGGED_OUT, None, None)
                                                             for a in picture.memberships}
    agents.update(known)
    live = LiveView(
        waiting=[(c.queue, to_us(c.arrived_at)) for c in picture.calls if c.answered_at is None],
        ivr=[c.queue for c in picture.ivr], agents=agents, memberships=picture.memberships)

    result: dict[str, WindowStats] = {}
    for window in windows:
        start_us = to_us(window.start(now))
        queue_totals: dict[str, list[int]] = {}
        agent_totals: dict[str, list[int]] = {}
        for at, is_agent, key, changes in contributions:
            if at >= start_us:
                totals = (agent_totals if is_agent else queue_totals).setdefault(key, [0] * len(TALLY_FIELDS))
                add_changes(totals, changes)
        state_us: dict[str, dict[str, int]] = {}
        for begin, end, agent_id, state in segments:
            spent = overlap(begin, end, start_us, now_us)
            if spent:
                per_state = state_us.setdefault(agent_id, {})
                per_state[state] = per_state.get(state, 0) + spent
        result[window.name] = window_stats(
            window.name, start_us, now_us, queue_tallies={q: tally_of(t) for q, t in queue_totals.items()},
            agent_tallies={a: tally_of(t) for a, t in agent_totals.items()}, state_us=state_us, live=live,
            config=config)
    return Snapshot(now, result)
