"""Metric definitions on hand-built days: every figure with its exact expected value (docs/metrics.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cti.records import AgentStateRecord, InteractionRecord
from cti.stats import (
    AgentCounts,
    AgentStats,
    IvrVisit,
    LiveCall,
    LivePicture,
    MetricsConfig,
    QueueStats,
    Sliding,
    Tally,
    Today,
    WindowStats,
    compute,
    day_start,
    interval_bounds,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
BASE = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
CONFIG = MetricsConfig(service_level_seconds=20, short_abandon_seconds=5,
                       queue_service_level_seconds={"support": 30}, queues=("sales",))
S = 1_000_000  # µs per second


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def call(call_id: str, queue: str, arrived: float, *, answered: float | None = None, ended: float | None = None,
         outcome: str | None = None, agent: str | None = None, base: datetime = BASE) -> InteractionRecord:
    def moment(seconds: float | None) -> datetime | None:
        return None if seconds is None else base + timedelta(seconds=seconds)

    return InteractionRecord(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550123",
                             service_number="1500100", queue=queue, agent_id=agent, arrived_at=base + timedelta(
                                 seconds=arrived), answered_at=moment(answered), ended_at=moment(ended),
                             outcome=outcome)


def record(agent_id: str, state: str, seconds: float, reason: str | None = None) -> AgentStateRecord:
    return AgentStateRecord(agent_id, state, reason, None, at(seconds))


def queue_stats(queue: str | None, tally: Tally, **figures: object) -> QueueStats:
    """Expected stats: the live parts and ratios default to 'nothing'."""
    values: dict[str, object] = dict(
        waiting=0, longest_wait=0.0, in_ivr=0, agents=AgentCounts(), service_level=None,
        service_level_app_queue=None, service_level_2=None, asa=None, aht=None, abandon_rate=None, occupancy=None)
    values.update(figures)
    return QueueStats(queue=queue, tally=tally, **values)  # type: ignore[arg-type]


# -- a quiet day ----------------------------------------------------------------------------------------------
def test_no_calls_and_no_agents() -> None:
    snap = compute(at(0), (Today(JAKARTA), Sliding(15)), interactions=[], agent_history=[], config=CONFIG)
    assert list(snap.windows) == ["today", "last_15m"]
    today = snap.windows["today"]
    assert (today.start, today.end) == (datetime(2024, 5, 5, 17, 0, tzinfo=UTC), at(0))
    assert snap.windows["last_15m"].start == at(-900)
    for window in snap.windows.values():
        assert window.overall == queue_stats(None, Tally())
        assert window.queues == {"sales": queue_stats("sales", Tally())}  # configured: listed though idle
        assert window.agents == {}


def test_all_calls_abandoned() -> None:
    calls = [call("c1", "sales", 0, ended=3, outcome="abandoned"),     # short (≤ 5 s) and within T
             call("c2", "sales", 10, ended=22, outcome="abandoned"),   # within T (≤ 20 s)
             call("c3", "sales", 30, ended=70, outcome="abandoned")]   # neither
    sales = compute(at(100), (Sliding(15),), interactions=calls, agent_history=[], config=CONFIG
                    ).windows["last_15m"].queues["sales"]
    tally = Tally(offered=3, abandoned=3, short_abandoned=1, abandoned_within_sl=2)
    # No answered call: SL and ASA undefined; SL2 = abandoned within T over abandoned; the short abandon is out of
    # the abandon rate, which is then 2 of 2.
    assert sales == queue_stats("sales", tally, service_level_2=2 / 3, abandon_rate=1.0)


# -- a busy minute, every figure ------------------------------------------------------------------------------
CALLS = [
    call("c1", "sales", 5, answered=15, ended=75, outcome="answered", agent="ana"),      # waited 10 s, 15 s ACW
    call("c2", "support", 10, answered=42, ended=52, outcome="answered", agent="budi"),  # 32 s > 30 s, no ACW
    call("c3", "sales", 60, ended=64, outcome="abandoned"),                                # short abandon
    call("c4", "sales", 70, ended=95, outcome="abandoned"),                                # 25 s: lost
    call("c7", "support", 160, ended=160, outcome="rejected"),                             # queue full
    call("c8", "sales", 170, ended=180, outcome="failed"),                                 # the system lost it
]
HISTORY = [
    record("ana", "ready", 0), record("ana", "ringing", 10), record("ana", "on_call", 15),
    record("ana", "wrap_up", 75), record("ana", "ready", 90), record("ana", "ringing", 100),
    record("ana", "on_call", 130),
    record("budi", "not_ready", 0, "login"), record("budi", "ready", 20), record("budi", "ringing", 40),
    record("budi", "on_call", 42), record("budi", "ready", 52), record("budi", "not_ready", 120, "lunch"),
]
PICTURE = LivePicture(
    calls=(LiveCall("c5", "support", at(100), at(130), "ana"),   # answered after exactly 30 s: within T
           LiveCall("c6", "sales", at(150))),                    # waiting 50 s at t=200
    ivr=(IvrVisit("i1", at(190), "support"), IvrVisit("i2", at(195))),
    memberships={"ana": frozenset({"sales", "support"}), "budi": frozenset({"support"}),
                 "carla": frozenset({"sales"})})


def busy_minute() -> dict[str, WindowStats]:
    snap = compute(at(200), (Today(JAKARTA), Sliding(1)), interactions=CALLS, agent_history=HISTORY,
                   picture=PICTURE, config=CONFIG)
    return dict(snap.windows)


def test_queue_figures_for_today() -> None:
    today = busy_minute()["today"]
    sales_agents = AgentCounts(on_call=1, logged_out=1)
    support_agents = AgentCounts(on_call=1, not_ready=1, not_ready_by_reason={"lunch": 1})
    all_agents = AgentCounts(on_call=1, not_ready=1, logged_out=1, not_ready_by_reason={"lunch": 1})
    assert today.queues == {
        "sales": queue_stats(
            "sales", Tally(offered=5, answered=1, answered_within_sl=1, wait_us=10 * S, abandoned=2,
                           short_abandoned=1, abandoned_within_sl=1, completed=1, completed_within_sl=1, handled=1,
                           talk_us=60 * S, acw_us=15 * S),
            waiting=1, longest_wait=50.0, agents=sales_agents, service_level=1.0, service_level_app_queue=1.0,
            service_level_2=2 / 3, asa=10.0, aht=75.0, abandon_rate=0.5, occupancy=0.9),
        "support": queue_stats(
            "support", Tally(offered=2, answered=2, answered_within_sl=1, wait_us=62 * S, rejected=1, completed=1,
                             handled=1, talk_us=10 * S),
            in_ivr=1, agents=support_agents, service_level=0.5, service_level_app_queue=0.0, service_level_2=0.0,
            asa=31.0, aht=10.0, abandon_rate=0.0, occupancy=0.64),
    }
    assert today.overall == queue_stats(
        None, Tally(offered=7, answered=3, answered_within_sl=2, wait_us=72 * S, abandoned=2, short_abandoned=1,
                    abandoned_within_sl=1, rejected=1, completed=2, completed_within_sl=1, handled=2, talk_us=70 * S,
                    acw_us=15 * S),
        waiting=1, longest_wait=50.0, in_ivr=2, agents=all_agents, service_level=2 / 3, service_level_app_queue=0.5,
        service_level_2=0.5, asa=24.0, aht=42.5, abandon_rate=0.25, occupancy=0.64)


def test_agent_figures_for_today() -> None:
    today = busy_minute()["today"]
    assert today.agents == {
        "ana": AgentStats("ana", "on_call", None, at(130), 70.0, ("sales", "support"), handled=1, talk_seconds=60.0,
                          acw_seconds=15.0, aht=75.0, ready_seconds=20.0, occupied_seconds=180.0,
                          not_ready_seconds=0.0, occupancy=0.9),
        "budi": AgentStats("budi", "not_ready", "lunch", at(120), 80.0, ("support",), handled=1, talk_seconds=10.0,
                           acw_seconds=0.0, aht=10.0, ready_seconds=88.0, occupied_seconds=12.0,
                           not_ready_seconds=100.0, occupancy=0.12),
        "carla": AgentStats("carla", "logged_out", None, None, None, ("sales",), handled=0, talk_seconds=0.0,
                            acw_seconds=0.0, aht=None, ready_seconds=0.0, occupied_seconds=0.0,
                            not_ready_seconds=0.0, occupancy=None),
    }


def test_the_last_minute_counts_only_what_happened_in_it() -> None:
    """[t=140, t=200]: two arrivals and a rejection; the answers and handlings before 140 are out."""
    minute = busy_minute()["last_1m"]
    assert minute.start == at(140)
    assert minute.queues["sales"] == queue_stats(
        "sales", Tally(offered=2), waiting=1, longest_wait=50.0, agents=AgentCounts(on_call=1, logged_out=1),
        occupancy=1.0)
    assert minute.queues["support"].tally == Tally(rejected=1)
    ana, budi = minute.agents["ana"], minute.agents["budi"]
    assert (ana.handled, ana.aht, ana.occupied_seconds, ana.occupancy) == (0, None, 60.0, 1.0)
    assert (budi.not_ready_seconds, budi.ready_seconds, budi.occupancy) == (60.0, 0.0, None)


# -- thresholds and boundaries --------------------------------------------------------------------------------
def test_thresholds_are_inclusive() -> None:
    calls = [call("c1", "sales", 0, answered=20, ended=30, outcome="answered", agent="ana"),
             call("c2", "sales", 0, answered=20.000001, ended=30, outcome="answered", agent="budi"),
             call("c3", "sales", 0, ended=5, outcome="abandoned"),
             call("c4", "sales", 0, ended=5.000001, outcome="abandoned"),
             call("c5", "support", 0, answered=30, ended=31, outcome="answered", agent="carla")]
    tallies = {q: s.tally for q, s in compute(at(60), (Sliding(15),), interactions=calls, agent_history=[],
                                              config=CONFIG).windows["last_15m"].queues.items()}
    assert (tallies["sales"].answered, tallies["sales"].answered_within_sl) == (2, 1)
    assert (tallies["sales"].abandoned, tallies["sales"].short_abandoned, tallies["sales"].abandoned_within_sl) == (
        2, 1, 2)
    assert tallies["support"].answered_within_sl == 1  # its own T: 30 s


def test_a_call_spanning_the_window_start_counts_where_each_thing_happened() -> None:
    calls = [call("c1", "sales", 0, answered=30, ended=100, outcome="answered", agent="ana"),
             call("c2", "sales", 10, ended=50, outcome="abandoned")]
    history = [record("ana", "ready", -100), record("ana", "on_call", 30), record("ana", "wrap_up", 100),
               record("ana", "ready", 130)]
    window = compute(at(20 + 15 * 60), (Sliding(15),), interactions=calls, agent_history=history,
                     config=CONFIG).windows["last_15m"]  # starts at t=20
    # c1 arrived before the window (not offered in it) but was answered, completed and handled inside it.
    assert window.queues["sales"].tally == Tally(
        offered=0, answered=1, wait_us=30 * S, completed=1, handled=1, talk_us=70 * S, acw_us=30 * S,
        abandoned=1, abandoned_within_sl=0)
    # ana: ready since t=-100, counted from the window start: 10 s before the call, then ready again from 130.
    ana = window.agents["ana"]
    assert (ana.ready_seconds, ana.occupied_seconds, ana.time_in_state) == (10.0 + 790.0, 100.0, 790.0)


def test_today_starts_at_local_midnight_not_utc() -> None:
    evening = datetime(2024, 5, 6, 16, 59, 50, tzinfo=UTC)  # 23:59:50 in Jakarta, still 6 May in UTC
    calls = [call("c1", "sales", 0, answered=20, ended=80, outcome="answered", agent="ana", base=evening),
             call("c2", "sales", -3600, ended=10, outcome="abandoned", base=evening)]  # ends 00:00:00 exactly
    now = datetime(2024, 5, 6, 17, 30, tzinfo=UTC)  # 00:30 on 7 May in Jakarta
    snap = compute(now, (Today(JAKARTA), Today(UTC, name="today_utc")), interactions=calls, agent_history=[],
                   config=CONFIG)
    jakarta, utc = snap.windows["today"], snap.windows["today_utc"]
    assert jakarta.start == datetime(2024, 5, 6, 17, 0, tzinfo=UTC)
    assert utc.start == datetime(2024, 5, 6, 0, 0, tzinfo=UTC)
    # Jakarta's day: answered and abandoned after midnight (the end at exactly midnight is in), offered before.
    assert (jakarta.overall.tally.offered, jakarta.overall.tally.answered, jakarta.overall.tally.abandoned) == (
        0, 1, 1)
    assert (utc.overall.tally.offered, utc.overall.tally.answered, utc.overall.tally.abandoned) == (2, 1, 1)


def test_agents_by_state_and_not_ready_reasons() -> None:
    history = [record("a1", "ready", 0), record("a2", "not_ready", 0, "break"), record("a3", "not_ready", 0),
               record("a4", "not_ready", 0, "break"), record("a5", "wrap_up", 0), record("a6", "ringing", 0),
               record("a7", "ready", 0), record("a7", "logged_out", 5)]
    window = compute(at(10), (Sliding(15),), interactions=[], agent_history=history, config=MetricsConfig(),
                     picture=LivePicture(memberships={"a1": frozenset({"q"}), "a2": frozenset({"q"})})
                     ).windows["last_15m"]
    assert window.overall.agents == AgentCounts(ready=1, ringing=1, wrap_up=1, not_ready=3, logged_out=1,
                                                not_ready_by_reason={"": 1, "break": 2})
    assert window.queues["q"].agents == AgentCounts(ready=1, not_ready=1, not_ready_by_reason={"break": 1})
    assert window.agents["a2"].reason == "break" and window.agents["a7"].time_in_state == 5.0


def test_only_what_happened_by_now_counts() -> None:
    calls = [call("c1", "sales", 0, answered=10, ended=50, outcome="answered", agent="ana")]
    history = [record("ana", "on_call", 10), record("ana", "wrap_up", 50), record("ana", "ready", 60)]
    window = compute(at(55), (Sliding(15),), interactions=calls, agent_history=history,
                     config=CONFIG).windows["last_15m"]
    # At t=55 ana is still in wrap-up: the call is completed but not yet handled.
    assert (window.overall.tally.completed, window.overall.tally.handled, window.agents["ana"].state) == (
        1, 0, "wrap_up")


# -- windows and intervals ------------------------------------------------------------------------------------
def test_window_starts() -> None:
    just_before = datetime(2024, 5, 6, 16, 59, 59, tzinfo=UTC)
    assert Today(JAKARTA).start(just_before) == datetime(2024, 5, 5, 17, 0, tzinfo=UTC)
    assert Today(JAKARTA).start(just_before + timedelta(seconds=1)) == datetime(2024, 5, 6, 17, 0, tzinfo=UTC)
    assert Sliding(60).start(just_before) == datetime(2024, 5, 6, 15, 59, 59, tzinfo=UTC)
    assert (Sliding(60).name, Sliding(5, label="now").name) == ("last_60m", "now")
    with pytest.raises(ValueError, match="positive"):
        Sliding(0)


def test_interval_bounds() -> None:
    bounds = interval_bounds(date(2024, 5, 6), date(2024, 5, 7), JAKARTA, 60)
    assert len(bounds) == 49
    assert bounds[0] == day_start(date(2024, 5, 6), JAKARTA) == datetime(2024, 5, 5, 17, 0, tzinfo=UTC)
    assert bounds[-1] == datetime(2024, 5, 7, 17, 0, tzinfo=UTC)
    assert len(interval_bounds(date(2024, 5, 6), date(2024, 5, 6), JAKARTA, 15)) == 97
    with pytest.raises(ValueError, match="whole parts"):
        interval_bounds(date(2024, 5, 6), date(2024, 5, 6), JAKARTA, 7)
    with pytest.raises(ValueError, match="before it starts"):
        interval_bounds(date(2024, 5, 7), date(2024, 5, 6), JAKARTA, 15)
