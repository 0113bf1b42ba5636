"""Supervisor alerts: thresholds on a queue's figures (or on how long its agents stay in one state), raised and
cleared with hysteresis. Pure: the service evaluates a :class:`Snapshot` every second and stores, pushes and
sends what changes.

A threshold raises its alert when the figure crosses ``raise_at`` and clears it only when the figure is back
past ``clear_at``, on the good side of ``raise_at``: a figure hovering around one value does not make an alert
flap. For a figure where higher is better (the service level, CSAT), "crossing" is falling below; for the others
(waiting calls, longest wait, abandon rate, seconds in a state) it is reaching or passing.

Rates (service level, abandon rate) are read in the last 15 minutes: today's would hide a bad quarter hour
behind a good morning, and the live figures (waiting, longest wait, states) are the same in every window.
A rate with no calls behind it yet is not a reading: it neither raises nor clears. CSAT is the mean rating of the
queue's recent survey answers on the threshold's channel (:class:`cti.stats.Satisfaction`), a reading only with
enough answers behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from cti.stats._model import Snapshot
from cti.stats._satisfaction import Satisfaction

__all__ = [
    "AGENT_STATES_WATCHED",
    "ALERT_WINDOW",
    "AlertChange",
    "AlertMetric",
    "AlertThreshold",
    "Alerts",
    "ThresholdError",
    "readings",
]

ALERT_WINDOW: Final = "last_15m"
AGENT_STATES_WATCHED: Final = ("ringing", "on_call", "wrap_up", "not_ready")
"""The agent states a threshold may watch (ready and logged out are no one's worry)."""


class AlertMetric(StrEnum):
    SERVICE_LEVEL = "service_level"  # share answered within the queue's target, 0..1, last 15 minutes
    LONGEST_WAIT = "longest_wait"  # seconds, the longest-waiting call now
    ABANDON_RATE = "abandon_rate"  # share of offered calls abandoned, 0..1, last 15 minutes
    WAITING = "waiting"  # calls waiting now
    AGENT_STATE_SECONDS = "agent_state_seconds"  # seconds an agent of the queue has been in ``state``
    CSAT = "csat"  # mean survey rating 1..5 of the queue's recent answers on the channel (cti.stats.Satisfaction)

    @property
    def lower_is_worse(self) -> bool:
        return self in (AlertMetric.SERVICE_LEVEL, AlertMetric.CSAT)


class ThresholdError(ValueError):
    """A threshold that could not work: its clearing point on the wrong side, a rate above 1, no state."""


@dataclass(frozen=True, slots=True)
class AlertThreshold:
    queue: str
    metric: AlertMetric
    raise_at: float
    clear_at: float
    channel: str = "voice"
    state: str | None = None  # the agent state watched (agent_state_seconds only)

    def __post_init__(self) -> None:
        if self.metric is AlertMetric.AGENT_STATE_SECONDS:
            if self.state not in AGENT_STATES_WATCHED:
                raise ThresholdError(f"an agent-state threshold names one of {', '.join(AGENT_STATES_WATCHED)}")
        elif self.state is not None:
            raise ThresholdError("only an agent-state threshold names a state")
        if self.raise_at < 0 or self.clear_at < 0:
            raise ThresholdError("thresholds are not negative")
        if self.metric in (AlertMetric.SERVICE_LEVEL, AlertMetric.ABANDON_RATE) and max(self.raise_at,
                                                                                          self.clear_at) > 1:
            raise ThresholdError(f"{self.metric.value} is a share: its thresholds are between 0 and 1")
        if self.metric is AlertMetric.CSAT and max(self.raise_at, self.clear_at) > 5:
            raise ThresholdError("csat is a mean rating: its thresholds are between 1 and 5")
        if self.metric.lower_is_worse and not self.clear_at > self.raise_at:
            raise ThresholdError(f"{self.metric.value} alerts below raise_at: clear_at must be above it")
        if not self.metric.lower_is_worse and not self.clear_at < self.raise_at:
            raise ThresholdError(f"{self.metric.value} alerts at raise_at and above: clear_at must be below it")

    @property
    def key(self) -> str:
        """Names the threshold among a queue's (one per metric, channel and state)."""
        return ":".join(p for p in (self.queue, self.channel, self.metric.value, self.state) if p)

    def crossed(self, value: float) -> bool:
        return value < self.raise_at if self.metric.lower_is_worse else value >= self.raise_at

    def cleared(self, value: float) -> bool:
        return value >= self.clear_at if self.metric.lower_is_worse else value <= self.clear_at


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised (``cleared_at`` None) or cleared. ``subject`` is the queue, or the agent for a state."""

    threshold: AlertThreshold
    subject: str
    value: float
    raised_at: datetime
    cleared_at: datetime | None = None

    @property
    def alert_key(self) -> str:
        return f"{self.threshold.key}@{self.subject}"


def readings(snapshot: Snapshot, threshold: AlertThreshold,
             satisfaction: Satisfaction | None = None) -> dict[str, float]:
    """The threshold's figures now, by subject: its queue's one figure, or one per agent of the queue in the
    watched state. Empty when there is no reading (no such queue yet, a rate with no call behind it, too few
    survey ratings)."""
    if threshold.metric is AlertMetric.CSAT:  # surveys follow calls and chats alike: both channels have it
        mean = None if satisfaction is None else satisfaction.mean(threshold.queue, threshold.channel, snapshot.at)
        return {} if mean is None else {threshold.queue: mean}
    if threshold.channel != "voice":
        return {}  # the figures are the voice calls' until other channels have their own
    window = snapshot.windows.get(ALERT_WINDOW)
    if window is None:
        return {}
    if threshold.metric is AlertMetric.AGENT_STATE_SECONDS:
        return {a.agent_id: a.time_in_state for a in window.agents.values()
                if a.state == threshold.state and threshold.queue in a.queues and a.time_in_state is not None}
    stats = window.queues.get(threshold.queue)
    if stats is None:
        return {}
    value: float | None = {
        AlertMetric.SERVICE_LEVEL: stats.service_level,
        AlertMetric.LONGEST_WAIT: stats.longest_wait,
        AlertMetric.ABANDON_RATE: stats.abandon_rate,
        AlertMetric.WAITING: float(stats.waiting),
    }[threshold.metric]
    return {} if value is None else {threshold.queue: value}


@dataclass
class Alerts:
    """The alerts raised now, by alert key; :meth:`evaluate` moves them with a snapshot's figures."""

    active: dict[str, AlertChange] = field(default_factory=dict)

    def evaluate(self, thresholds: Iterable[AlertThreshold], snapshot: Snapshot,
                 satisfaction: Satisfaction | None = None) -> list[AlertChange]:
        """What was raised and cleared since the last evaluation (CSAT read from ``satisfaction``). An alert whose
        threshold was removed, or whose subject has no reading any more (an agent who left the state), clears."""
        changes: list[AlertChange] = []
        seen: set[str] = set()
        for threshold in thresholds:
            for subject, value in readings(snapshot, threshold, satisfaction).items():
                key = f"{threshold.key}@{subject}"
                seen.add(key)
                alert = self.active.get(key)
                if alert is None and threshold.crossed(value):
                    self.active[key] = raised = AlertChange(threshold, subject, value, snapshot.at)
                    changes.append(raised)
                elif alert is not None and (alert.threshold != threshold or threshold.cleared(value)):
                    changes.append(self._clear(key, value, snapshot.at))
                    if threshold.crossed(value):  # the threshold was edited and the figure is past the new one
                        self.active[key] = raised = AlertChange(threshold, subject, value, snapshot.at)
                        changes.append(raised)
        for key in [k for k, alert in self.active.items() if k not in seen and _gone(alert, thresholds, snapshot)]:
            changes.append(self._clear(key, None, snapshot.at))
        return changes

    def _clear(self, key: str, value: float | None, at: datetime) -> AlertChange:
        alert = self.active.pop(key)
        return AlertChange(alert.threshold, alert.subject, alert.value if value is None else value,
                           alert.raised_at, at)


def _gone(alert: AlertChange, thresholds: Iterable[AlertThreshold], snapshot: Snapshot) -> bool:
    """An unseen alert clears when its threshold is gone or its subject is an agent no longer in the state; a
    queue rate that merely has no reading now (no calls in the window, too few ratings) keeps it as it was."""
    if not any(t.key == alert.threshold.key for t in thresholds):
        return True
    return alert.threshold.metric is AlertMetric.AGENT_STATE_SECONDS

