"""The live aggregator equals the batch computation: hand-built sequences and random call-center days.

A small simulator plays a contact center (calls through the IVR and queues, offers, answers, ring-no-answer,
abandons, rejections, wrap-up, agents changing state) and, like the controller, both feeds the aggregator and
writes what storage would hold. At random moments the aggregator's snapshot must equal
:func:`cti.stats.compute` on the stored data, for today in Asia/Jakarta (the days cross midnight) and two
sliding windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.records import AgentStateRecord, InteractionRecord
from cti.stats import (
    AgentCounts,
    AgentStateChanged,
    CallAnswered,
    CallArrived,
    CallEnded,
    CallOffered,
    CallRequeued,
    IvrEntered,
    IvrLeft,
    IvrVisit,
    LiveCall,
    LiveFigures,
    LivePicture,
    LiveStats,
    MetricsConfig,
    OutOfOrder,
    Sliding,
    Snapshot,
    StatsEvent,
    Today,
    compute,
    replay_events,
)
from cti.stats._live import _Window

JAKARTA = ZoneInfo("Asia/Jakarta")
T0 = datetime(2024, 5, 6, 16, 50, tzinfo=UTC)  # 23:50 in Jakarta: many random days cross local midnight
WINDOWS = (Today(JAKARTA), Sliding(15), Sliding(1, label="minute"))
CONFIG = MetricsConfig(service_level_seconds=20, short_abandon_seconds=5,
                       queue_service_level_seconds={"support": 30}, queues=("sales",))
QUEUES = ("sales", "support", "vip")
AGENTS = ("ana", "budi", "citra")
DELAYS = (0.0, 0.0, 0.0, 0.0, 0.000001, 0.5, 1.0, 4.0, 5.0, 6.0, 19.0, 20.0, 21.0, 45.0, 61.0, 70.0, 400.0)
# Weighted towards the call path, so that many calls get answered, wrapped up and handled.
ACTIONS = (0, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 7, 8, 8, 9, 9, 9, 10, 10, 11, 11, 12, 13, 14, 15)


@dataclass
class _Call:
    call_id: str
    queue: str
    arrived_at: datetime
    state: str = "waiting"  # waiting, ringing, connected
    agent_id: str | None = None
    answered_at: datetime | None = None


class Center:
    """Plays the contact center; keeps what storage and the live picture would hold."""

    def __init__(self, stats: LiveStats) -> None:
        self.now = T0
        self.stats = stats
        self.events: list[StatsEvent] = []
        self.calls: dict[str, _Call] = {}
        self.ivr: dict[str, tuple[datetime, str | None]] = {}
        self.agents: dict[str, str] = dict.fromkeys(AGENTS, "logged_out")
        self.memberships: dict[str, frozenset[str]] = {}
        self.interactions: list[InteractionRecord] = []
        self.history: list[AgentStateRecord] = []
        self.serial = 0

    # -- recording --------------------------------------------------------------------------------------------
    def feed(self, event: StatsEvent) -> None:
        self.events.append(event)
        self.stats.feed(event)

    def agent_to(self, agent_id: str, state: str, reason: str | None = None) -> StatsEvent:
        self.agents[agent_id] = state
        self.history.append(AgentStateRecord(agent_id, state, reason if state == "not_ready" else None, None,
                                             self.now))
        return AgentStateChanged(self.now, agent_id, state, reason)

    def store(self, call: _Call, outcome: str) -> StatsEvent:
        self.calls.pop(call.call_id, None)
        self.interactions.append(InteractionRecord(
            call_id=call.call_id, channel_id=f"chan-{call.call_id}", caller_number="0215550123",
            service_number="1500100", queue=call.queue, agent_id=call.agent_id, arrived_at=call.arrived_at,
            answered_at=call.answered_at, ended_at=self.now, outcome=outcome))
        return CallEnded(self.now, call.call_id, outcome)

    def both(self, first: StatsEvent, second: StatsEvent, swap: bool) -> None:
        """Two things of one instant, in either order (the controller's order is not promised)."""
        for event in ((second, first) if swap else (first, second)):
            self.feed(event)

    def picture(self) -> LivePicture:
        return LivePicture(
            calls=tuple(LiveCall(c.call_id, c.queue, c.arrived_at, c.answered_at,
                                 c.agent_id if c.state == "connected" else None) for c in self.calls.values()),
            ivr=tuple(IvrVisit(call_id, since, queue) for call_id, (since, queue) in self.ivr.items()),
            memberships=dict(self.memberships))

    def batch(self) -> Snapshot:
        return compute(self.now, WINDOWS, interactions=self.interactions, agent_history=self.history,
                       picture=self.picture(), config=CONFIG)

    def start(self) -> None:
        """Two agents at work, serving the queues, when the day's events begin."""
        for agent_id, queues in (("ana", QUEUES[:2]), ("budi", QUEUES[1:])):
            self.memberships[agent_id] = frozenset(queues)
            self.stats.set_agent_queues(agent_id, queues)
            self.feed(self.agent_to(agent_id, "ready"))

    # -- what can happen --------------------------------------------------------------------------------------
    def _pick(self, items: list[str], p: int) -> str | None:
        return items[p % len(items)] if items else None

    def _new_id(self) -> str:
        self.serial += 1
        return f"c{self.serial}"

    def step(self, action: int, p: int) -> None:
        swap = bool(p & 1)
        waiting = [c for c, call in self.calls.items() if call.state == "waiting"]
        ringing = [c for c, call in self.calls.items() if call.state == "ringing"]
        connected = [c for c, call in self.calls.items() if call.state == "connected"]
        in_wrap_up = [a for a, s in self.agents.items() if s == "wrap_up"]
        ready = [a for a, s in self.agents.items() if s == "ready"]
        match action:
            case 0 | 1:  # a call arrives in a queue, maybe from the IVR
                from_ivr = self._pick(sorted(self.ivr), p) if p % 3 == 0 else None
                call_id, queue = from_ivr or self._new_id(), QUEUES[p % 3]
                if from_ivr is not None:
                    queue = self.ivr.pop(from_ivr)[1] or queue
                self.calls[call_id] = _Call(call_id, queue, self.now)
                self.feed(CallArrived(self.now, call_id, queue))
            case 2:
                call_id = self._new_id()
                target = None if p % 2 else QUEUES[p % 3]
                self.ivr[call_id] = (self.now, target)
                self.feed(IvrEntered(self.now, call_id, target))
            case 3:
                gone = self._pick(sorted(self.ivr), p)
                if gone is not None:
                    del self.ivr[gone]
                    self.feed(IvrLeft(self.now, gone) if swap else CallEnded(self.now, gone, "abandoned"))
            case 4:  # overflow to another queue
                moved = self._pick(waiting, p)
                if moved is not None:
                    call = self.calls[moved]
                    call.queue = QUEUES[(QUEUES.index(call.queue) + 1 + p % 2) % 3]
                    self.feed(CallRequeued(self.now, moved, call.queue))
            case 5:  # offer
                offered, agent_id = self._pick(waiting, p), self._pick(ready, p // 2)
                if offered is not None and agent_id is not None:
                    call = self.calls[offered]
                    call.state, call.agent_id = "ringing", agent_id
                    self.both(CallOffered(self.now, offered, agent_id), self.agent_to(agent_id, "ringing"), swap)
            case 6:  # the agent answers
                answered = self._pick(ringing, p)
                if answered is not None:
                    call = self.calls[answered]
                    assert call.agent_id is not None
                    call.state, call.answered_at = "connected", self.now
                    self.both(CallAnswered(self.now, answered, call.agent_id), self.agent_to(call.agent_id, "on_call"),
                              swap)
            case 7:  # ring-no-answer: the call goes back to waiting
                unanswered = self._pick(ringing, p)
                if unanswered is not None:
                    call = self.calls[unanswered]
                    assert call.agent_id is not None
                    self.feed(self.agent_to(call.agent_id, "not_ready", "no_answer"))
                    call.state, call.agent_id = "waiting", None
            case 8:  # the caller gives up (waiting or while an agent's phone rings)
                gone = self._pick(waiting + ringing, p)
                if gone is not None:
                    call = self.calls[gone]
                    agent_id, call.agent_id = call.agent_id, None
                    ended = self.store(call, "abandoned")
                    if agent_id is None:
                        self.feed(ended)
                    else:
                        self.both(ended, self.agent_to(agent_id, "ready"), swap)
            case 9:  # a conversation ends: wrap-up, or straight to ready / not ready
                done = self._pick(connected, p)
                if done is not None:
                    call = self.calls[done]
                    assert call.agent_id is not None
                    after = ("wrap_up", "wrap_up", "ready", "not_ready")[(p // 2) % 4]
                    self.both(self.store(call, "answered"), self.agent_to(call.agent_id, after, "lunch"), swap)
            case 10:  # after-call work ends (often in the same instant in these tests: delay 0)
                agent_id = self._pick(in_wrap_up, p)
                if agent_id is not None:
                    self.feed(self.agent_to(agent_id, "ready" if p % 3 else "not_ready", "break"))
            case 11:  # an agent logs in, or comes back
                agent_id = self._pick([a for a, s in self.agents.items() if s in ("logged_out", "not_ready")], p)
                if agent_id is not None:
                    login = self.agents[agent_id] == "logged_out" and p % 2
                    self.feed(self.agent_to(agent_id, "not_ready" if login else "ready", "login"))
            case 12:  # a break, or logging out
                agent_id = self._pick([a for a, s in self.agents.items() if s in ("ready", "not_ready")], p)
                if agent_id is not None:
                    self.feed(self.agent_to(agent_id, ("not_ready", "logged_out")[p % 2], ("break", "lunch")[p % 2]))
            case 13:  # rejected at arrival (queue full, closed)
                call = _Call(self._new_id(), QUEUES[p % 3], self.now)
                self.feed(CallArrived(self.now, call.call_id, call.queue))
                self.feed(self.store(call, "rejected"))
            case 14:  # the system loses a call
                lost = self._pick(waiting + connected, p)
                if lost is not None:
                    call = self.calls[lost]
                    ended = self.store(call, "failed")
                    if call.state == "connected":
                        assert call.agent_id is not None
                        self.both(ended, self.agent_to(call.agent_id, "ready"), swap)
                    else:
                        self.feed(ended)
            case _:  # routing changes who serves which queue
                agent_id = AGENTS[p % 3]
                queues = frozenset(q for i, q in enumerate(QUEUES) if (p >> (i + 2)) & 1)
                self.memberships[agent_id] = queues
                self.stats.set_agent_queues(agent_id, queues)


# One number per step (cheap to draw, easy to shrink): what happens, after how long, which call/agent/variant,
# and whether to compare snapshots then.
steps = st.lists(st.integers(0, len(ACTIONS) * len(DELAYS) * 256 * 6 - 1), min_size=30, max_size=80)


def decode(step: int) -> tuple[int, float, int, bool]:
    step, look = divmod(step, 6)
    step, action = divmod(step, len(ACTIONS))
    p, delay = divmod(step, len(DELAYS))
    return ACTIONS[action], DELAYS[delay], p, look == 0


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, tail=st.sampled_from((0.0, 0.25, 59.0, 61.0, 900.0, 40000.0)))
def test_snapshot_equals_batch_on_random_days(steps: list[int], tail: float) -> None:
    center = Center(LiveStats(WINDOWS, CONFIG))
    center.start()
    for action, delay, p, look in map(decode, steps):
        center.now += timedelta(seconds=delay)
        center.step(action, p)
        if look:
            live = center.stats.live(center.now)  # before the snapshot: it must not need the clock moved
            snapshot = center.stats.snapshot(center.now)
            assert snapshot == center.batch()
            assert_live_matches(live, snapshot)
    center.now += timedelta(seconds=tail)
    assert center.stats.snapshot(center.now) == center.batch()

    # Rebuilt from storage alone (a restarted dashboard), the figures are the same.
    rebuilt = LiveStats(WINDOWS, CONFIG)
    for agent_id, queues in center.memberships.items():
        rebuilt.set_agent_queues(agent_id, queues)
    for event in replay_events(center.interactions, center.history, center.picture()):
        rebuilt.feed(event)
    assert rebuilt.snapshot(center.now) == center.batch()


def assert_live_matches(live: LiveFigures, snapshot: Snapshot) -> None:
    """The live picture alone equals what every window of a snapshot at the same instant shows."""
    for window in snapshot.windows.values():
        for name, queue in window.queues.items():
            if name in live.queues:
                got = live.queues[name]
                assert (got.waiting, got.longest_wait, got.in_ivr, got.agents) == (
                    queue.waiting, queue.longest_wait, queue.in_ivr, queue.agents), (window.window, name)
            else:  # listed by the window for its counters alone: nothing live there
                assert (queue.waiting, queue.in_ivr) == (0, 0)
                assert queue.agents == AgentCounts()
        overall = window.overall
        assert (live.overall.waiting, live.overall.longest_wait, live.overall.in_ivr) == (
            overall.waiting, overall.longest_wait, overall.in_ivr)
        assert live.overall.agents == overall.agents
        assert set(live.queues) <= set(window.queues)


# -- hand-built sequences -------------------------------------------------------------------------------------
def at(seconds: float) -> datetime:
    return datetime(2024, 5, 6, 2, 0, tzinfo=UTC) + timedelta(seconds=seconds)  # 09:00 in Jakarta


def test_a_day_fed_event_by_event() -> None:
    stats = LiveStats((Today(JAKARTA), Sliding(15)), CONFIG)
    stats.set_agent_queues("ana", {"sales"})
    for event in (
        AgentStateChanged(at(0), "ana", "ready"),
        CallArrived(at(10), "c1", "sales"),
        CallOffered(at(10), "c1", "ana"),
        AgentStateChanged(at(10), "ana", "ringing"),
        AgentStateChanged(at(25), "ana", "on_call"),
        CallAnswered(at(25), "c1", "ana"),                # waited 15 s: within 20 s
        CallArrived(at(30), "c2", "sales"),
        CallEnded(at(33), "c2", "abandoned"),             # 3 s: a short abandon
        AgentStateChanged(at(85), "ana", "wrap_up"),      # the agent's record first, then the call's end
        CallEnded(at(85), "c1", "answered"),
        AgentStateChanged(at(100), "ana", "ready"),       # 15 s of after-call work
        CallArrived(at(110), "c3", "sales"),
    ):
        stats.feed(event)
    today = stats.snapshot(at(120)).windows["today"]
    sales = today.queues["sales"]
    assert (sales.waiting, sales.longest_wait, sales.tally.offered, sales.tally.answered) == (1, 10.0, 3, 1)
    assert (sales.tally.abandoned, sales.tally.short_abandoned, sales.tally.handled) == (1, 1, 1)
    assert (sales.service_level, sales.service_level_2, sales.asa, sales.aht) == (1.0, 1.0, 15.0, 75.0)
    assert sales.abandon_rate == 0.0  # the only abandon was short
    # ana: ready 10 + 20 s, ringing 15 s, on call 60 s, wrap-up 15 s: occupied 90 of 120
    assert sales.occupancy == 90 / 120
    ana = today.agents["ana"]
    assert (ana.state, ana.since, ana.time_in_state, ana.handled, ana.aht, ana.talk_seconds, ana.acw_seconds) == (
        "ready", at(100), 20.0, 1, 75.0, 60.0, 15.0)
    assert stats.snapshot(at(120)) == compute(
        at(120), (Today(JAKARTA), Sliding(15)), config=CONFIG,
        interactions=[
            InteractionRecord(call_id="c1", channel_id="x", caller_number="1", service_number="1500100",
                              queue="sales", agent_id="ana", arrived_at=at(10), answered_at=at(25), ended_at=at(85),
                              outcome="answered"),
            InteractionRecord(call_id="c2", channel_id="y", caller_number="2", service_number="1500100",
                              queue="sales", arrived_at=at(30), ended_at=at(33), outcome="abandoned")],
        agent_history=[AgentStateRecord("ana", s, None, "7001", at(t)) for s, t in
                       (("ready", 0), ("ringing", 10), ("on_call", 25), ("wrap_up", 85), ("ready", 100))],
        picture=LivePicture(calls=(LiveCall("c3", "sales", at(110)),), memberships={"ana": frozenset({"sales"})}))


def test_wrap_up_decided_by_the_instant_the_call_ends() -> None:
    """A wrap-up entered and left in the call's last instant is no after-call work; handled at the call's end."""
    stats = LiveStats((Sliding(15),), CONFIG)
    for event in (
        AgentStateChanged(at(0), "ana", "on_call"),
        CallArrived(at(0), "c1", "sales"),
        CallAnswered(at(0), "c1", "ana"),
        CallEnded(at(40), "c1", "answered"),
        AgentStateChanged(at(40), "ana", "wrap_up"),
        AgentStateChanged(at(40), "ana", "ready"),
    ):
        stats.feed(event)
    ana = stats.snapshot(at(40)).windows["last_15m"].agents["ana"]
    assert (ana.handled, ana.talk_seconds, ana.acw_seconds, ana.aht) == (1, 40.0, 0.0, 40.0)
    # Still in wrap-up at the end of that instant: handled once the wrap-up ends.
    stats.feed(CallArrived(at(50), "c2", "sales"))
    stats.feed(AgentStateChanged(at(50), "ana", "on_call"))
    stats.feed(CallAnswered(at(50), "c2", "ana"))
    stats.feed(CallEnded(at(60), "c2", "answered"))
    stats.feed(AgentStateChanged(at(60), "ana", "ready"))
    stats.feed(AgentStateChanged(at(60), "ana", "wrap_up"))
    assert stats.snapshot(at(70)).windows["last_15m"].agents["ana"].handled == 1
    stats.feed(AgentStateChanged(at(75), "ana", "ready"))
    ana = stats.snapshot(at(75)).windows["last_15m"].agents["ana"]
    assert (ana.handled, ana.talk_seconds, ana.acw_seconds) == (2, 50.0, 15.0)
    # Any order within the instant: what counts is the agent's state once the instant is over.
    for event in (
        CallArrived(at(80), "c3", "sales"),
        AgentStateChanged(at(80), "ana", "on_call"),
        CallAnswered(at(80), "c3", "ana"),
        AgentStateChanged(at(90), "ana", "wrap_up"),
        CallEnded(at(90), "c3", "answered"),
        AgentStateChanged(at(90), "ana", "ready"),
        AgentStateChanged(at(90), "ana", "wrap_up"),
        AgentStateChanged(at(100), "ana", "ready"),
    ):
        stats.feed(event)
    ana = stats.snapshot(at(100)).windows["last_15m"].agents["ana"]
    assert (ana.handled, ana.talk_seconds, ana.acw_seconds) == (3, 60.0, 25.0)
    # A wrap-up that began before the call ended (a forced state) is not that call's after-call work.
    for event in (
        CallArrived(at(110), "c4", "sales"),
        CallAnswered(at(110), "c4", "ana"),
        AgentStateChanged(at(115), "ana", "wrap_up"),
        CallEnded(at(120), "c4", "answered"),
        AgentStateChanged(at(130), "ana", "ready"),
    ):
        stats.feed(event)
    ana = stats.snapshot(at(130)).windows["last_15m"].agents["ana"]
    assert (ana.handled, ana.talk_seconds, ana.acw_seconds) == (4, 70.0, 25.0)


def test_hold_counts_within_talk_and_on_its_own() -> None:
    """A call held 12 s of its 40 s with the agent: talk stays answer to end, AHT talk plus ACW, hold apart."""
    stats = LiveStats((Sliding(15),), CONFIG)
    for event in (
        AgentStateChanged(at(0), "ana", "on_call"),
        CallArrived(at(0), "c1", "sales"),
        CallAnswered(at(0), "c1", "ana"),
        CallEnded(at(40), "c1", "answered", hold_seconds=12.0),
        AgentStateChanged(at(40), "ana", "wrap_up"),
        AgentStateChanged(at(50), "ana", "ready"),
    ):
        stats.feed(event)
    window = stats.snapshot(at(50)).windows["last_15m"]
    ana = window.agents["ana"]
    assert (ana.handled, ana.talk_seconds, ana.hold_seconds, ana.acw_seconds, ana.aht) == (1, 40.0, 12.0, 10.0, 50.0)
    assert window.queues["sales"].tally.hold_us == 12_000_000


def test_sliding_window_forgets_and_today_restarts_at_local_midnight() -> None:
    stats = LiveStats((Today(JAKARTA), Sliding(1)), CONFIG)
    evening = datetime(2024, 5, 6, 16, 59, 30, tzinfo=UTC)  # 23:59:30 in Jakarta
    stats.feed(CallArrived(evening, "c1", "sales"))
    stats.feed(CallEnded(evening + timedelta(seconds=10), "c1", "abandoned"))
    snap = stats.snapshot(evening + timedelta(seconds=20))
    assert snap.windows["today"].overall.tally.abandoned == 1
    assert snap.windows["last_1m"].overall.tally.abandoned == 1
    snap = stats.snapshot(evening + timedelta(seconds=31))  # 00:00:01: a new day in Jakarta
    assert snap.windows["today"].start == datetime(2024, 5, 6, 17, 0, tzinfo=UTC)
    assert snap.windows["today"].overall.tally.abandoned == 0
    assert snap.windows["last_1m"].overall.tally.abandoned == 1  # 21 s ago
    snap = stats.snapshot(evening + timedelta(seconds=71))
    assert snap.windows["last_1m"].overall.tally.abandoned == 0  # 61 s ago: gone


def test_requeue_moves_the_arrival_and_rejection_takes_it_back() -> None:
    stats = LiveStats((Today(JAKARTA),), CONFIG)
    stats.feed(CallArrived(at(0), "c1", "sales"))
    stats.feed(CallRequeued(at(30), "c1", "support"))
    stats.feed(CallArrived(at(40), "c2", "sales"))
    stats.feed(CallEnded(at(40), "c2", "rejected"))
    today = stats.snapshot(at(50)).windows["today"]
    assert today.queues["sales"].tally.offered == 0 and today.queues["sales"].tally.rejected == 1
    assert (today.queues["support"].tally.offered, today.queues["support"].waiting,
            today.queues["support"].longest_wait) == (1, 1, 50.0)


def test_events_must_move_forward() -> None:
    stats = LiveStats((Sliding(15),))
    stats.feed(CallArrived(at(10), "c1", "sales"))
    with pytest.raises(OutOfOrder):
        stats.feed(CallArrived(at(9), "c2", "sales"))
    with pytest.raises(OutOfOrder):
        stats.snapshot(at(5))
    with pytest.raises(ValueError, match="names must differ"):
        LiveStats((Sliding(15), Sliding(30, label="last_15m")))


def test_a_late_arrival_counts_now_and_waits_from_its_real_arrival() -> None:
    stats = LiveStats((Today(JAKARTA), Sliding(15)), CONFIG)
    stats.feed(CallArrived(at(0), "c1", "sales"))
    # c2 arrived at 1 s, but was reported at 3 s (after its caller was looked up): the clock had passed 1 s.
    stats.feed(CallArrived(at(3), "c2", "sales", arrived_at=at(1)))
    assert stats.live(at(4)).queues["sales"].longest_wait == 4.0
    stats.feed(CallAnswered(at(26), "c2", "ana"))  # waited 25 s: outside the 20 s service level
    today = stats.snapshot(at(26)).windows["today"].queues["sales"]
    assert (today.tally.offered, today.tally.answered, today.tally.answered_within_sl, today.asa) == (2, 1, 0, 25.0)


def test_live_picture_without_a_window() -> None:
    stats = LiveStats((Sliding(15),), CONFIG)
    stats.set_agent_queues("ana", {"sales", "support"})
    stats.set_agent_queues("budi", {"sales"})
    stats.feed(AgentStateChanged(at(0), "ana", "ready"))
    stats.feed(AgentStateChanged(at(0), "citra", "not_ready", "lunch"))  # serves no queue
    stats.feed(CallArrived(at(1), "c1", "sales"))
    stats.feed(CallArrived(at(2), "c2", "support"))
    stats.feed(IvrEntered(at(2), "i1", "sales"))
    stats.feed(IvrEntered(at(2), "i2"))
    live = stats.live(at(11))
    assert list(live.queues) == ["sales", "support"]  # configured, served, waiting or heading there from the IVR
    sales = live.queues["sales"]
    assert (sales.waiting, sales.longest_wait, sales.in_ivr) == (1, 10.0, 1)
    assert (sales.agents.ready, sales.agents.logged_out, sales.agents.not_ready) == (1, 1, 0)
    overall = live.overall
    assert (overall.waiting, overall.longest_wait, overall.in_ivr) == (2, 10.0, 2)
    assert (overall.agents.ready, overall.agents.not_ready, overall.agents.logged_out) == (1, 1, 1)
    assert overall.agents.not_ready_by_reason == {"lunch": 1}


def test_today_keeps_sums_not_an_entry_per_event() -> None:
    stats = LiveStats((Today(JAKARTA), Sliding(15)), CONFIG)
    for n in range(50):
        stats.feed(CallArrived(at(n), f"c{n}", "sales"))
        stats.feed(CallEnded(at(n + 0.5), f"c{n}", "abandoned"))
    today, sliding = stats._windows  # the objects the garbage collector would walk
    assert isinstance(sliding, _Window) and len(sliding.entries) == 100
    assert not hasattr(today, "entries")
    assert stats.snapshot(at(60)).windows["today"].overall.tally.abandoned == 50


def test_calls_that_never_reached_a_queue_count_nowhere() -> None:
    """Served or abandoned in the IVR, or shed: no queue's figure, in the batch and in a replay alike."""
    served = InteractionRecord(call_id="i1", channel_id="b", caller_number="2", service_number="1500100", queue="",
                               arrived_at=at(0), ended_at=at(40), outcome="self_service")
    queued = InteractionRecord(call_id="q1", channel_id="a", caller_number="1", service_number="1500100",
                               queue="sales", arrived_at=at(0), ended_at=at(30), outcome="abandoned")
    windows = (Today(JAKARTA),)
    batch = compute(at(60), windows, interactions=[served, queued], agent_history=[], config=CONFIG)
    assert "" not in batch.windows["today"].queues
    assert batch.windows["today"].overall.tally.offered == 1
    assert replay_events([served], []) == []
