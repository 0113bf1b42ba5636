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
    Satisfaction,
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


def rated(satisfaction: Satisfaction, minutes: float, *ratings: int, queue: str = "care",
          channel: str = "voice") -> None:
    for rating in ratings:
        satisfaction.add(queue, channel, rating, T0 + timedelta(minutes=minutes))


def test_csat_is_the_mean_of_enough_recent_ratings_of_the_queue_and_channel() -> None:
    satisfaction = Satisfaction()
    rated(satisfaction, -70, 1, 1, 1, 1, 1)  # over an hour ago: not counted
    rated(satisfaction, 0, 1, 2, 2, 3)
    now = T0 + timedelta(minutes=1)
    assert (satisfaction.count("care", "voice", now), satisfaction.mean("care", "voice", now)) == (4, None)
    rated(satisfaction, 0, 4)
    assert satisfaction.mean("care", "voice", now) == 2.4  # (1+2+2+3+4)/5: five ratings, a reading
    assert satisfaction.mean("care", "chat", now) is None and satisfaction.mean("sales", "voice", now) is None
    rated(satisfaction, 0, 0, 6)  # not ratings
    assert satisfaction.count("care", "voice", now) == 5
    rated(satisfaction, 1, *[5] * 20)  # only the last twenty count
    assert satisfaction.mean("care", "voice", now + timedelta(minutes=1)) == 5.0
    assert satisfaction.mean("care", "voice", T0 + timedelta(minutes=61)) is None  # all older than an hour


def test_a_rating_told_late_takes_its_place_by_time() -> None:
    satisfaction = Satisfaction(last=3, minimum=1)
    rated(satisfaction, 2, 5)
    rated(satisfaction, 0, 1)  # older, told after (a restart's reload)
    rated(satisfaction, 1, 2)
    rated(satisfaction, 3, 4)  # the oldest (1) goes
    assert satisfaction.mean("care", "voice", T0 + timedelta(minutes=3)) == (2 + 5 + 4) / 3


def test_csat_alerts_below_the_threshold_with_enough_ratings_and_clears_above_the_clearing_point() -> None:
    rule = AlertThreshold("care", AlertMetric.CSAT, raise_at=3.0, clear_at=3.5)
    chat_rule = AlertThreshold("care", AlertMetric.CSAT, raise_at=3.0, clear_at=3.5, channel="chat")
    satisfaction, alerts = Satisfaction(), Alerts()
    rated(satisfaction, 0, 1, 1, 1, 1)  # four bad answers: too few to say anything
    assert alerts.evaluate([rule, chat_rule], snapshot(60), satisfaction) == []
    rated(satisfaction, 1, 2)
    assert statuses(alerts.evaluate([rule, chat_rule], snapshot(60), satisfaction)) == [("raised", "care", 1.2)]
    rated(satisfaction, 2, 5, 5, 5, 5, 5)  # 31 / 10: better, still under the clearing point
    assert alerts.evaluate([rule, chat_rule], snapshot(120), satisfaction) == []
    rated(satisfaction, 3, 5)  # 36 / 11 = 3.27
    assert alerts.evaluate([rule, chat_rule], snapshot(180), satisfaction) == []
    rated(satisfaction, 3, 5)  # 41 / 12 = 3.42
    assert alerts.evaluate([rule, chat_rule], snapshot(180), satisfaction) == []
    rated(satisfaction, 4, 5)  # 46 / 13 = 3.54
    [cleared] = alerts.evaluate([rule, chat_rule], snapshot(240), satisfaction)
    assert (cleared.subject, round(cleared.value, 3), cleared.raised_at, cleared.cleared_at) == (
        "care", 3.538, T0 + timedelta(seconds=60), T0 + timedelta(seconds=240))
    # Two hours on, no rating counts: no reading, nothing changes; the chats' surveys have their own figure.
    assert alerts.evaluate([rule, chat_rule], snapshot(7200), satisfaction) == []
    rated(satisfaction, 120, 2, 2, 2, 2, 2, channel="chat")
    assert statuses(alerts.evaluate([rule, chat_rule], snapshot(7200), satisfaction)) == [("raised", "care", 2.0)]
    assert list(alerts.active) == ["care:chat:csat@care"]


def test_csat_thresholds_are_ratings_and_alert_below() -> None:
    with pytest.raises(ThresholdError, match="between 1 and 5"):
        AlertThreshold("care", AlertMetric.CSAT, raise_at=3, clear_at=6)
    with pytest.raises(ThresholdError, match="clear_at must be above"):
        AlertThreshold("care", AlertMetric.CSAT, raise_at=3.5, clear_at=3)
    assert AlertThreshold("care", AlertMetric.CSAT, raise_at=3, clear_at=4, channel="chat").key == "care:chat:csat"
