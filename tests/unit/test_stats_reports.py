"""Interval reports: exact rows and exact CSV text, including calls that span intervals and days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cti.records import AgentStateRecord, InteractionRecord
from cti.stats import (
    AGENT_COLUMNS,
    QUEUE_COLUMNS,
    AgentInterval,
    Figures,
    IntervalReport,
    MetricsConfig,
    QueueInterval,
    Tally,
    agent_csv,
    interval_report,
    queue_csv,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
DAY = date(2024, 5, 6)
CONFIG = MetricsConfig(service_level_seconds=20, short_abandon_seconds=5, queues=("vip",))
S = 1_000_000


def local(hour: int, minute: int, second: int = 0, day: int = 6) -> datetime:
    return datetime(2024, 5, day, hour, minute, second, tzinfo=JAKARTA)


def call(call_id: str, queue: str, arrived: datetime, *, answered: datetime | None = None,
         ended: datetime, outcome: str, agent: str | None = None, hold: float = 0.0) -> InteractionRecord:
    return InteractionRecord(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550123",
                             service_number="1500100", queue=queue, agent_id=agent,
                             arrived_at=arrived.astimezone(UTC), answered_at=None if answered is None
                             else answered.astimezone(UTC), ended_at=ended.astimezone(UTC), outcome=outcome,
                             hold_seconds=hold, hold_count=1 if hold else 0)


def record(agent_id: str, state: str, moment: datetime) -> AgentStateRecord:
    return AgentStateRecord(agent_id, state, None, "7001", moment.astimezone(UTC))


CALLS = [
    # Offered 09:14:50 (09:00 interval), answered 09:15:10 after exactly 20 s (09:15 and 09:00 half-hours).
    # On hold 40 s of its 290 s with the agent: hold is part of talk (answer to end), so AHT is the same.
    call("c1", "sales", local(9, 14, 50), answered=local(9, 15, 10), ended=local(9, 20), outcome="answered",
         agent="ana", hold=40.0),
    call("c2", "sales", local(9, 29, 59), ended=local(9, 30, 2), outcome="abandoned"),  # short, across 09:30
    call("c3", "support", local(9, 45), ended=local(9, 46), outcome="abandoned"),
]
HISTORY = [record("ana", "ready", local(8, 50)), record("ana", "ringing", local(9, 15)),
           record("ana", "on_call", local(9, 15, 10)), record("ana", "wrap_up", local(9, 20)),
           record("ana", "ready", local(9, 20, 30)), record("ana", "logged_out", local(9, 40))]


def report(*, minutes: int = 30, include_empty: bool = False, now: datetime | None = None) -> IntervalReport:
    return interval_report(DAY, DAY, tz=JAKARTA, minutes=minutes, interactions=CALLS, agent_history=HISTORY,
                           config=CONFIG, include_empty=include_empty, now=now)


def test_queue_rows() -> None:
    sales_0900 = Tally(offered=2, answered=1, answered_within_sl=1, wait_us=20 * S, completed=1,
                       completed_within_sl=1, handled=1, talk_us=290 * S, acw_us=30 * S, hold_us=40 * S)
    sales_0930 = Tally(abandoned=1, short_abandoned=1, abandoned_within_sl=1)
    support_0930 = Tally(offered=1, abandoned=1)
    assert report().queues == (
        QueueInterval(local(9, 0), local(9, 30), "sales", sales_0900,
                      Figures(service_level=1.0, service_level_app_queue=1.0, service_level_2=1.0, asa=20.0,
                              aht=320.0, abandon_rate=0.0)),
        QueueInterval(local(9, 30), local(10, 0), "sales", sales_0930,
                      Figures(service_level=None, service_level_app_queue=None, service_level_2=1.0, asa=None,
                              aht=None, abandon_rate=None)),
        QueueInterval(local(9, 30), local(10, 0), "support", support_0930,
                      Figures(service_level=None, service_level_app_queue=None, service_level_2=0.0, asa=None,
                              aht=None, abandon_rate=1.0)),
    )


def test_agent_rows() -> None:
    def row(start: datetime, end: datetime, **values: object) -> AgentInterval:
        fields: dict[str, object] = dict(handled=0, talk_seconds=0.0, acw_seconds=0.0, aht=None, ready_seconds=0.0,
                                         ringing_seconds=0.0, on_call_seconds=0.0, wrap_up_seconds=0.0,
                                         not_ready_seconds=0.0, logged_in_seconds=0.0, occupancy=None)
        fields.update(values)
        return AgentInterval(start, end, "ana", **fields)  # type: ignore[arg-type]

    assert report().agents == (
        row(local(8, 30), local(9, 0), ready_seconds=600.0, logged_in_seconds=600.0, occupancy=0.0),
        row(local(9, 0), local(9, 30), handled=1, talk_seconds=290.0, acw_seconds=30.0, hold_seconds=40.0, aht=320.0,
            ready_seconds=1470.0, ringing_seconds=10.0, on_call_seconds=290.0, wrap_up_seconds=30.0,
            logged_in_seconds=1800.0, occupancy=330 / 1800),
        row(local(9, 30), local(10, 0), ready_seconds=600.0, logged_in_seconds=600.0, occupancy=0.0),
    )


def test_csv_text() -> None:
    rows = report()
    assert queue_csv(rows.queues) == (
        "interval_start,interval_end,queue,offered,answered,answered_within_sl,abandoned,short_abandoned,"
        "abandoned_within_sl,rejected,completed,completed_within_sl,handled,service_level,service_level_app_queue,"
        "service_level_2,asa_seconds,aht_seconds,abandon_rate,talk_seconds,acw_seconds,hold_seconds\r\n"
        "2024-05-06T09:00:00+07:00,2024-05-06T09:30:00+07:00,sales,2,1,1,0,0,0,0,1,1,1,1.0000,1.0000,1.0000,"
        "20.0,320.0,0.0000,290.0,30.0,40.0\r\n"
        "2024-05-06T09:30:00+07:00,2024-05-06T10:00:00+07:00,sales,0,0,0,1,1,1,0,0,0,0,,,1.0000,,,,0.0,0.0,0.0\r\n"
        "2024-05-06T09:30:00+07:00,2024-05-06T10:00:00+07:00,support,1,0,0,1,0,0,0,0,0,0,,,0.0000,,,1.0000,"
        "0.0,0.0,0.0\r\n")
    assert agent_csv(rows.agents) == (
        "interval_start,interval_end,agent_id,handled,talk_seconds,acw_seconds,aht_seconds,ready_seconds,"
        "ringing_seconds,on_call_seconds,wrap_up_seconds,not_ready_seconds,logged_in_seconds,occupancy,"
        "hold_seconds\r\n"
        "2024-05-06T08:30:00+07:00,2024-05-06T09:00:00+07:00,ana,0,0.0,0.0,,600.0,0.0,0.0,0.0,0.0,600.0,0.0000,"
        "0.0\r\n"
        "2024-05-06T09:00:00+07:00,2024-05-06T09:30:00+07:00,ana,1,290.0,30.0,320.0,1470.0,10.0,290.0,30.0,0.0,"
        "1800.0,0.1833,40.0\r\n"
        "2024-05-06T09:30:00+07:00,2024-05-06T10:00:00+07:00,ana,0,0.0,0.0,,600.0,0.0,0.0,0.0,0.0,600.0,0.0000,"
        "0.0\r\n")
    assert queue_csv([]) == ",".join(QUEUE_COLUMNS) + "\r\n"
    assert agent_csv([]) == ",".join(AGENT_COLUMNS) + "\r\n"


def test_every_interval_listed_with_empty_ones() -> None:
    full = report(include_empty=True)
    queues = full.queues
    assert len(queues) == 48 * 3  # sales, support, and the configured vip, for every half hour
    assert [(r.start, r.queue) for r in queues[:3]] == [(local(0, 0), "sales"), (local(0, 0), "support"),
                                                        (local(0, 0), "vip")]
    assert queues[-1].end == local(0, 0, day=7) and queues[-1].tally == Tally()
    assert len(full.agents) == 48
    assert sum(r.handled for r in full.agents) == 1


def test_a_call_across_midnight_counts_on_both_days() -> None:
    calls = [call("c1", "sales", local(23, 59, 50), answered=local(0, 0, 10, day=7), ended=local(0, 5, day=7),
                  outcome="answered", agent="ana")]
    rows = interval_report(DAY, date(2024, 5, 7), tz=JAKARTA, minutes=60, interactions=calls, agent_history=[],
                           config=CONFIG, include_empty=False).queues
    assert [(r.start, r.tally) for r in rows] == [
        (local(23, 0), Tally(offered=1)),
        (local(0, 0, day=7), Tally(answered=1, answered_within_sl=1, wait_us=20 * S, completed=1,
                                   completed_within_sl=1, handled=1, talk_us=290 * S)),
    ]


def test_now_cuts_the_report() -> None:
    cut = report(now=local(9, 25))
    assert [(r.start, r.tally.offered, r.tally.handled) for r in cut.queues] == [
        (local(9, 0), 1, 1)]  # c2 has not arrived yet at 09:25
    assert [(r.start, r.logged_in_seconds) for r in cut.agents] == [
        (local(8, 30), 600.0), (local(9, 0), 1500.0)]


def test_interval_must_divide_the_day() -> None:
    with pytest.raises(ValueError, match="whole parts"):
        report(minutes=7)
