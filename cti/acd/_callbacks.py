"""Which waiting callers may be called back: the toll-fraud guard of the callback that keeps their place.

A callback dials the caller's number at our expense, and that number is whatever the caller's network (or a
spoofer) put in the caller id. So a callback is granted only to numbers matching the allowed patterns (by
default the country's own numbers), at most ``per_number`` times per number and ``total`` times in all within
any ``window``. Pure: the time comes with each request; grants are remembered in memory (a restarted
controller starts counting afresh).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["CallbackLimits", "CallbackPolicy", "CallbackRefusal"]


class CallbackRefusal(StrEnum):
    NUMBER_NOT_ALLOWED = "number_not_allowed"
    NUMBER_LIMIT = "number_limit"
    TOTAL_LIMIT = "total_limit"


@dataclass(frozen=True, slots=True)
class CallbackLimits:
    numbers: tuple[str, ...]
    """Regular expressions; a number must match one of them whole."""
    per_number: int
    total: int
    window: timedelta


class CallbackPolicy:
    def __init__(self, limits: CallbackLimits) -> None:
        self.limits = limits
        self._patterns = tuple(re.compile(pattern) for pattern in limits.numbers)
        self._granted: deque[tuple[datetime, str]] = deque()  # oldest first; at most ``total`` long
        self._per_number: Counter[str] = Counter()

    def allows_number(self, number: str) -> bool:
        return any(pattern.fullmatch(number) for pattern in self._patterns)

    def request(self, number: str, now: datetime) -> CallbackRefusal | None:
        """Grant a callback to ``number`` (None, and it counts from now on) or say why not."""
        if not self.allows_number(number):
            return CallbackRefusal.NUMBER_NOT_ALLOWED
        self._forget_before(now - self.limits.window)
        if len(self._granted) >= self.limits.total:
            return CallbackRefusal.TOTAL_LIMIT
        if self._per_number[number] >= self.limits.per_number:
            return CallbackRefusal.NUMBER_LIMIT
        self._granted.append((now, number))
        self._per_number[number] += 1
        return None

    def _forget_before(self, start: datetime) -> None:
        while self._granted and self._granted[0][0] <= start:
            _, number = self._granted.popleft()
            self._per_number[number] -= 1
            if self._per_number[number] <= 0:
                del self._per_number[number]
