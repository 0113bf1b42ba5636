"""Recent satisfaction per queue and channel: the figure a CSAT alert watches (docs/metrics.md, "CSAT for alerts").

The CSAT figure of an alert is the **mean rating** (1 to 5) of the queue's and channel's most recent survey answers:
the last :data:`CSAT_LAST` ratings given within :data:`CSAT_WINDOW`, and a reading only from
:data:`CSAT_MIN_RATINGS` of them on, so one unhappy customer among few answers does not raise an alert. It is not
the survey report's CSAT (the share of 4-5 ratings of the surveys sent in a period): a mean moves with each rating,
which is what an alert should notice, and it is the average a supervisor reads off the answers.

Pure: ratings come in with the moment they were given; the reading is asked with the moment it is for.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Final

__all__ = ["CSAT_LAST", "CSAT_MIN_RATINGS", "CSAT_WINDOW", "Satisfaction"]

CSAT_WINDOW: Final = timedelta(hours=1)
"""Ratings older than this are not counted: the alert is about now, not the morning."""
CSAT_LAST: Final = 20
"""At most this many ratings count (the most recent): a better stretch of answers shows within twenty answers."""
CSAT_MIN_RATINGS: Final = 5
"""Fewer ratings than this in the window are no reading: the alert neither raises nor clears on them."""


class Satisfaction:
    """The recent ratings per (queue, channel), and their mean."""

    def __init__(self, *, window: timedelta = CSAT_WINDOW, last: int = CSAT_LAST,
                 minimum: int = CSAT_MIN_RATINGS) -> None:
        self._window = window
        self._last = last
        self._minimum = minimum
        self._ratings: dict[tuple[str, str], deque[tuple[datetime, int]]] = {}

    def add(self, queue: str, channel: str, rating: int, at: datetime) -> None:
        """A rating given at ``at``; ratings outside 1..5 are not ratings and are left out."""
        if not 1 <= rating <= 5:
            return
        kept = self._ratings.setdefault((queue, channel), deque(maxlen=self._last))
        if kept and at < kept[-1][0]:  # late (a restart's reload after a live answer): in its place by time
            ordered = sorted([*kept, (at, rating)])
            kept.clear()
            kept.extend(ordered[-self._last:])
        else:
            kept.append((at, rating))

    def mean(self, queue: str, channel: str, now: datetime) -> float | None:
        """The mean of the counted ratings at ``now``; None with fewer than the minimum."""
        ratings = [r for at, r in self._ratings.get((queue, channel), ()) if now - at < self._window]
        if len(ratings) < self._minimum:
            return None
        return sum(ratings) / len(ratings)

    def count(self, queue: str, channel: str, now: datetime) -> int:
        """How many ratings count at ``now`` (the sample behind :meth:`mean`)."""
        return sum(1 for at, _ in self._ratings.get((queue, channel), ()) if now - at < self._window)
