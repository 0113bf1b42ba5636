"""The demo's generated call history: deterministic per day, with a contact center's daily and weekly rhythm."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cti.sim import generate
from cti.sim._demo_seed import DEMO_QUEUES, history_callers, national
from cti.sim._history import DayHistory, HistoryAgent, HistoryCaller, history_call_id, history_day

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 9)
AGENTS = [HistoryAgent(f"agent{n}", str(7000 + n), ("care", "billing") if n % 4 == 1 else ("care",))
          for n in range(1, 21)]
CALLERS = [HistoryCaller(f"0812{n:08d}", f"Pelanggan {n}", str(10000100 + n)) for n in range(50)]


def day(when: date) -> DayHistory:
    return history_day(when, zone=JAKARTA, queues=DEMO_QUEUES, agents=AGENTS, callers=CALLERS)


def test_a_day_is_the_same_whenever_it_is_generated_and_differs_from_the_next() -> None:
    assert day(MONDAY) == day(MONDAY)
    assert day(MONDAY).interactions != day(MONDAY + timedelta(days=7)).interactions
    first = day(MONDAY).interactions
    assert [r.call_id for r in first[:2]] == [history_call_id(MONDAY, 1), history_call_id(MONDAY, 2)]
    assert [r.arrived_at for r in first] == sorted(r.arrived_at for r in first)
    assert all(r.arrived_at.tzinfo is UTC or r.arrived_at.utcoffset() == timedelta(0) for r in first)


def test_weekdays_are_busier_than_weekends_and_monday_busiest() -> None:
    week = [len(day(MONDAY + timedelta(days=n)).interactions) for n in range(7)]
    assert week[0] == max(week)
    assert min(week[:5]) > 1.4 * week[5] > 1.4 * week[6]
    assert 700 < week[2] < 1100  # an ordinary weekday: about 900 calls in both queues


def test_quiet_nights_a_morning_peak_and_an_afternoon_one() -> None:
    hours: Counter[int] = Counter()
    for n in range(5):
        for record in day(MONDAY + timedelta(days=n)).interactions:
            hours[record.arrived_at.astimezone(JAKARTA).hour] += 1
    night = sum(hours[h] for h in range(0, 6))
    assert night < 0.02 * sum(hours.values())
    morning = max(range(7, 13), key=hours.__getitem__)
    assert morning in (9, 10)
    assert hours[12] < hours[14] > hours[18]  # the lunch dip, then the afternoon peak, then the evening


def test_calls_are_answered_by_agents_on_shift_or_abandoned_and_the_night_is_closed() -> None:
    history = day(MONDAY)
    outcomes = Counter(r.outcome for r in history.interactions)
    total = sum(outcomes.values())
    assert outcomes["answered"] > 0.75 * total and 0.02 * total < outcomes["abandoned"] < 0.2 * total
    for record in history.interactions:
        hour = record.arrived_at.astimezone(JAKARTA).hour
        if record.outcome == "rejected":
            assert (hour < 6 or hour >= 22) and record.end_reason == "after_hours"
        if record.outcome == "answered":
            assert record.agent_id is not None and record.talk_seconds is not None and record.wrapped_up_at
            assert record.answered_at is not None and record.answered_at >= record.arrived_at
            assert record.disposition and record.notes
    care = [r.talk_seconds for r in history.interactions if r.queue == "care" and r.talk_seconds]
    assert 150 < sum(care) / len(care) < 250  # the care queue's AHT is 200 s
    # Every shift: ready, a break, ready again, logged out; no agent works every day of the week.
    per_agent = Counter(s.agent_id for s in history.states)
    assert set(per_agent.values()) == {4}
    worked = Counter(s.agent_id for n in range(7) for s in day(MONDAY + timedelta(days=n)).states
                     if s.state == "logged_out")
    assert set(worked.values()) == {5}


def test_callers_are_the_crm_customers_and_some_unknown_numbers() -> None:
    dataset = generate(now=datetime(2026, 11, 9, tzinfo=UTC), customers=100)
    callers = history_callers(dataset)
    known = [c for c in callers if c.customer_id]
    assert len(known) > 100 and 0.1 < (len(callers) - len(known)) / len(callers) < 0.3
    assert all(c.number.startswith(("08", "0", "+")) and "+62" not in c.number for c in callers)
    assert national("+6281210000001") == "081210000001" and national("+61412345004") == "+61412345004"


def test_history_needs_callers() -> None:
    with pytest.raises(ValueError, match="caller"):
        history_day(MONDAY, zone=JAKARTA, queues=DEMO_QUEUES, agents=AGENTS, callers=[])
