"""Supervisor alerts, the pure part: thresholds refuse what could not work, and alerts are raised and cleared
with hysteresis from a snapshot's figures (a figure hovering between the two points changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.stats import (
    AgentCounts,
    AgentStats,
    AlertMetric,
    Alerts,
    AlertThreshold,
    QueueStats,
    Snapshot,
    Tally,
    ThresholdError,
    WindowStats,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def queue(name: str, *, waiting: int = 0, longest_wait: float = 0.0, service_level: float | None = None,
          abandon_rate: float | None = None) -> QueueStats:
    return QueueStats(name, waiting, longest_wait, 0, AgentCounts(), Tally(), service_level, None, None, None, None,
                      abandon_rate, None)


def agent(agent_id: str, state: str, seconds: float, queues: tuple[str, ...] = ("care",)) -> AgentStats:
    return AgentStats(agent_id, state, None, T0 - timedelta(seconds=seconds), seconds, queues, 0, 0.0, 0.0, None,
                      0.0, 0.0, 0.0, None)


def snapshot(at: float, *queues: QueueStats, agents: tuple[AgentStats, ...] = ()) -> Snapshot:
    now = T0 + timedelta(seconds=at)
    window = WindowStats("last_15m", now - timedelta(minutes=15), now, queue("all"),
                         {q.queue or "": q for q in queues}, {a.agent_id: a for a in agents})
    return Snapshot(now, {"last_15m": window})


def statuses(changes: list) -> list[tuple[str, str, float]]:  # type: ignore[type-arg]
    return [("cleared" if c.cleared_at else "raised", c.subject, c.value) for c in changes]


def test_waiting_calls_raise_at_the_threshold_and_clear_only_below_the_clearing_point() -> None:
    rule = AlertThreshold("care", AlertMetric.WAITING, raise_at=3, clear_at=1)
    alerts = Alerts()
    steps = [(2, []), (3, [("raised", "care", 3.0)]), (2, []), (3, []), (4, []), (2, []),
             (1, [("cleared", "care", 1.0)]), (2, []), (3, [("raised", "care", 3.0)])]
    for i, (waiting, expected) in enumerate(steps):
        assert statuses(alerts.evaluate([rule], snapshot(i, queue("care", waiting=waiting)))) == expected, i
    assert list(alerts.active) == ["care:voice:waiting@care"]


def test_the_service_level_alerts_when_it_falls_and_clears_when_it_is_back_above_the_clearing_point() -> None:
    rule = AlertThreshold("care", AlertMetric.SERVICE_LEVEL, raise_at=0.8, clear_at=0.9)
    alerts = Alerts()
    assert alerts.evaluate([rule], snapshot(0, queue("care", service_level=0.85))) == []
    [raised] = alerts.evaluate([rule], snapshot(1, queue("care", service_level=0.7)))
    assert (raised.value, raised.raised_at, raised.cleared_at) == (0.7, T0 + timedelta(seconds=1), None)
    assert alerts.evaluate([rule], snapshot(2, queue("care", service_level=0.85))) == []
    # No call in the window: no reading, the alert stays as it was.
    assert alerts.evaluate([rule], snapshot(3, queue("care", service_level=None))) == []
    [cleared] = alerts.evaluate([rule], snapshot(4, queue("care", service_level=0.95)))
    assert (cleared.raised_at, cleared.cleared_at, cleared.value) == (raised.raised_at, T0 + timedelta(seconds=4),
                                                                       0.95)


def test_an_agent_too_long_in_a_state_alerts_per_agent_of_the_queue_and_clears_when_they_leave_it() -> None:
    rule = AlertThreshold("care", AlertMetric.AGENT_STATE_SECONDS, raise_at=300, clear_at=0, state="not_ready")
    alerts = Alerts()
    changes = alerts.evaluate([rule], snapshot(0, queue("care"), agents=(
        agent("ana", "not_ready", 301), agent("bob", "not_ready", 120), agent("cy", "not_ready", 900, ("sales",)),
        agent("dee", "on_call", 900))))
    assert statuses(changes) == [("raised", "ana", 301.0)]
    changes = alerts.evaluate([rule], snapshot(1, queue("care"), agents=(agent("ana", "ready", 1),)))
    assert statuses(changes) == [("cleared", "ana", 301.0)]
    assert alerts.active == {}


def test_a_threshold_removed_or_changed_clears_its_alert_and_a_new_one_raises_afresh() -> None:
    rule = AlertThreshold("care", AlertMetric.LONGEST_WAIT, raise_at=60, clear_at=30)
    alerts = Alerts()
    assert statuses(alerts.evaluate([rule], snapshot(0, queue("care", longest_wait=61)))) == [
        ("raised", "care", 61.0)]
    stricter = AlertThreshold("care", AlertMetric.LONGEST_WAIT, raise_at=45, clear_at=20)
    assert statuses(alerts.evaluate([stricter], snapshot(1, queue("care", longest_wait=50)))) == [
        ("cleared", "care", 50.0), ("raised", "care", 50.0)]
    assert statuses(alerts.evaluate([], snapshot(2, queue("care", longest_wait=50)))) == [("cleared", "care", 50.0)]


def test_thresholds_that_could_not_work_are_refused() -> None:
    with pytest.raises(ThresholdError, match="clear_at must be below"):
        AlertThreshold("care", AlertMetric.WAITING, raise_at=3, clear_at=3)
    with pytest.raises(ThresholdError, match="clear_at must be above"):
        AlertThreshold("care", AlertMetric.SERVICE_LEVEL, raise_at=0.8, clear_at=0.7)
    with pytest.raises(ThresholdError, match="between 0 and 1"):
        AlertThreshold("care", AlertMetric.ABANDON_RATE, raise_at=5, clear_at=2)
    with pytest.raises(ThresholdError, match="names one of"):
        AlertThreshold("care", AlertMetric.AGENT_STATE_SECONDS, raise_at=300, clear_at=0)
    with pytest.raises(ThresholdError, match="only an agent-state"):
        AlertThreshold("care", AlertMetric.WAITING, raise_at=3, clear_at=1, state="ready")


def test_a_chat_threshold_has_no_reading_until_chats_have_figures_of_their_own() -> None:
    rule = AlertThreshold("care", AlertMetric.WAITING, raise_at=1, clear_at=0, channel="chat")
    assert Alerts().evaluate([rule], snapshot(0, queue("care", waiting=5))) == []
