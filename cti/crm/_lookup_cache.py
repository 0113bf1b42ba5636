"""A bounded cache of lookups with a time to live, for answers that are costly to ask again (an external CRM
over HTTP): found records for a while, "nobody has that number" for a shorter while.

Pure: the time comes from the ``now`` it is given (monotonic seconds), so tests step it by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Lookup", "LookupCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Lookup(Generic[V]):
    """A cached answer: ``value`` None is a negative one (looked up, not found)."""

    value: V | None


class LookupCache(Generic[K, V]):
    """Answers by key: a found value for ``ttl`` seconds, a not-found (None) for ``negative_ttl``; at most
    ``max_entries``, the least recently used going first when full (expired ones before them).

    Negative answers expire sooner: a customer created in the other system a minute ago must be found on their
    second call, while a known customer's record barely changes between two calls.
    """

    def __init__(self, *, ttl: float, negative_ttl: float, max_entries: int, now: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._now = now
        self._entries: OrderedDict[K, tuple[float, V | None]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> Lookup[V] | None:
        """The cached answer, or None when there is none (or it expired: it is dropped)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= self._now():
            del self._entries[key]
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return Lookup(entry[1])

    def put(self, key: K, value: V | None) -> None:
        """Keep ``value`` (None: not found) under ``key``, for its time to live; 0 keeps nothing."""
        ttl = self.ttl if value is not None else self.negative_ttl
        self._entries.pop(key, None)
        if ttl <= 0:
            return
        now = self._now()
        if len(self._entries) >= self.max_entries:
            for stale in [k for k, (until, _) in self._entries.items() if until <= now]:
                del self._entries[stale]
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
        self._entries[key] = (now + ttl, value)

    def invalidate(self, key: K) -> bool:
        """Forget ``key``'s answer; whether there was one."""
        return self._entries.pop(key, None) is not None

    def invalidate_where(self, drop: Callable[[K, V | None], bool]) -> int:
        """Forget every answer ``drop`` says so of (a record that changed, under each key it was found by)."""
        doomed = [k for k, (_, value) in self._entries.items() if drop(k, value)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def clear(self) -> None:
        self._entries.clear()
