"""Supervisor alerts, the use cases: supervisors set thresholds on their queues; every second the figures are
evaluated (:class:`cti.stats.Alerts`, with hysteresis), and what is raised or cleared is stored in the alert
history and pushed at once to the dashboards whose scope sees the queue (an ``alert`` frame).

Thresholds take effect at the next evaluation. A controller that starts closes the alerts its predecessor
left open and raises afresh what is still true, so the history never holds an alert open forever.

CSAT thresholds read the survey ratings: each answer with a rating is told here as it is stored
(:meth:`AlertMonitor.survey_answered`, the survey service's ``answered`` hook), and a controller that starts
reads again those of the last hour, so a restart keeps the figure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from cti.errors import InvalidInput, NotFound
from cti.records import AlertRecord
from cti.services._policy import Scope
from cti.services._ports import AlertStore
from cti.services._stats_feed import StatsFeed
from cti.stats import CSAT_WINDOW, AlertChange, Alerts, AlertThreshold, Satisfaction
from cti.surveys import SurveyRecord
from cti.tasks import stop_task

__all__ = ["ALERT_EVERY", "AlertMonitor", "RatedSurveys"]

log = logging.getLogger("cti.services.alerts")
ALERT_EVERY: Final = 1.0
"""Seconds between evaluations: an alert is on the dashboard about a second after its figure crossed."""
MAX_THRESHOLDS_PER_QUEUE: Final = 20
_ALERT_CHANNEL: Final = {"call": "voice", "chat": "chat"}
"""A survey's interaction channel -> the channel of the thresholds that read it (a portal request's has none)."""


class RatedSurveys(Protocol):
    """The surveys answered in a period (:class:`cti.persistence.SurveyRepository`)."""

    async def answered_between(self, start: datetime, end: datetime) -> list[SurveyRecord]: ...


class AlertMonitor:
    def __init__(self, store: AlertStore, feed: StatsFeed, queues: Callable[[], Sequence[str]], *,
                 every: float = ALERT_EVERY,
                 notify: Callable[[str, str, Mapping[str, Any]], None] | None = None,
                 surveys: RatedSurveys | None = None) -> None:
        """``notify`` is told each alert raised and cleared as an event (``alert.raised``, ``alert.cleared``: the
        webhooks a partner or an operator's paging tool subscribes to). ``surveys``: where the last hour's ratings
        are read again at start (none: CSAT starts from the answers given after)."""
        self._notify = notify
        self._surveys = surveys
        self.satisfaction = Satisfaction()
        self._store = store
        self._feed = feed
        self._queues = queues
        self._every = every
        self._alerts = Alerts()
        self._thresholds: list[AlertThreshold] = []
        self._ids: dict[str, int] = {}  # alert key -> its history row, while raised
        self._task: asyncio.Task[None] | None = None
        self.evaluations = 0

    async def start(self, now: datetime) -> None:
        closed = await self._store.close_open(now)
        if closed:
            log.info("closed %d alerts left open by the previous controller", closed)
        self._thresholds = await self._store.thresholds()
        if self._surveys is not None:
            for survey in await self._surveys.answered_between(now - CSAT_WINDOW, now):
                self.survey_answered(survey)
        self._task = asyncio.create_task(self._run(), name="cti-alerts")

    async def close(self) -> None:
        await stop_task(self._task)

    # -- thresholds ---------------------------------------------------------------------------------------------
    async def thresholds(self, scope: Scope) -> list[AlertThreshold]:
        return [t for t in self._thresholds if scope.queues is None or t.queue in scope.queues]

    def require_queue(self, scope: Scope, queue: str) -> None:
        """Refuse a queue out of the scope as one that does not exist."""
        if queue not in self._queues() or (scope.queues is not None and queue not in scope.queues):
            raise NotFound(f"no queue {queue!r}", code="unknown_queue", params={"queue": queue})

    async def set_thresholds(self, scope: Scope, queue: str, thresholds: Sequence[AlertThreshold], *,
                             by: str) -> list[AlertThreshold]:
        """The queue's thresholds become ``thresholds``. A queue out of the scope answers as one that does not
        exist; two thresholds on the same figure are refused."""
        self.require_queue(scope, queue)
        if len(thresholds) > MAX_THRESHOLDS_PER_QUEUE:
            raise InvalidInput(f"at most {MAX_THRESHOLDS_PER_QUEUE} thresholds per queue")
        keys = [t.key for t in thresholds]
        if len(set(keys)) != len(keys):
            raise InvalidInput("one threshold per figure (metric, channel and state) of a queue",
                               code="duplicate_threshold")
        await self._store.replace_thresholds(queue, thresholds, by=by)
        self._thresholds = [t for t in self._thresholds if t.queue != queue] + list(thresholds)
        return list(thresholds)

    # -- survey ratings -------------------------------------------------------------------------------------------
    def survey_answered(self, survey: SurveyRecord) -> None:
        """A survey answer stored: its rating counts in its queue's CSAT on its channel (from the next evaluation).
        An answer with no rating, no queue or no channel of calls and chats counts nowhere."""
        channel = _ALERT_CHANNEL.get(survey.channel)
        if survey.rating is None or survey.queue is None or channel is None or survey.answered_at is None:
            return
        self.satisfaction.add(survey.queue, channel, survey.rating, survey.answered_at)

    # -- alerts -------------------------------------------------------------------------------------------------
    async def history(self, scope: Scope, *, open_only: bool = False, limit: int = 200) -> list[AlertRecord]:
        if scope.queues is not None and not scope.queues:
            return []
        return await self._store.history(queues=scope.queues, open_only=open_only, limit=limit)

    async def evaluate(self) -> list[AlertChange]:
        """One evaluation now: store and push what changed (tests call it to skip the wait)."""
        if not self._thresholds and not self._alerts.active:
            return []
        self.evaluations += 1
        changes = self._alerts.evaluate(self._thresholds, self._feed.snapshot(), self.satisfaction)
        for change in changes:
            try:
                if change.cleared_at is None:
                    self._ids[change.alert_key] = await self._store.raised(change)
                else:
                    await self._store.cleared(change)
            except Exception:  # the alert still reaches the dashboards: the history is the lesser loss
                log.exception("could not store alert %s", change.alert_key)
            alert_id = self._ids.get(change.alert_key)
            if change.cleared_at is not None:
                self._ids.pop(change.alert_key, None)
            frame = _frame(change, alert_id)
            self._feed.publish_for_queue(change.threshold.queue, "alert", frame)
            if self._notify is not None:
                self._notify(f"alert.{frame['status']}", f"alert:{change.alert_key}", frame)
            log.warning("alert %s on %s: %s %s (raise at %s, clear at %s)",
                        "raised" if change.cleared_at is None else "cleared", change.subject,
                        change.threshold.metric.value, round(change.value, 3), change.threshold.raise_at,
                        change.threshold.clear_at)
        return changes

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.evaluate()
            except Exception:
                log.exception("alert evaluation failed; trying again")


def _frame(change: AlertChange, alert_id: int | None) -> dict[str, Any]:
    t = change.threshold
    return {"alert_id": alert_id, "status": "raised" if change.cleared_at is None else "cleared",
            "queue": t.queue, "channel": t.channel, "metric": t.metric.value, "state": t.state,
            "subject": change.subject, "value": round(change.value, 3), "raise_at": t.raise_at,
            "clear_at": t.clear_at, "raised_at": change.raised_at.isoformat(),
            "cleared_at": None if change.cleared_at is None else change.cleared_at.isoformat()}
