"""Points in time keyed by id, so the tick pops what is due instead of scanning every agent and call."""

from __future__ import annotations

import heapq
from datetime import datetime

__all__ = ["Deadlines"]


class Deadlines:
    """A heap of due times; setting a key again replaces its time (the old entry is skipped when popped)."""

    __slots__ = ("_due", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._due: dict[str, tuple[datetime, int]] = {}  # key -> its live entry
        self._seq = 0

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: str) -> bool:
        return key in self._due

    def get(self, key: str) -> datetime | None:
        entry = self._due.get(key)
        return None if entry is None else entry[0]

    def set(self, key: str, when: datetime) -> None:
        current = self._due.get(key)
        if current is not None and current[0] == when:
            return
        self._seq += 1
        self._due[key] = (when, self._seq)
        heapq.heappush(self._heap, (when, self._seq, key))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._compact()

    def discard(self, key: str) -> None:
        self._due.pop(key, None)

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()

    def pop_due(self, now: datetime) -> list[str]:
        """Keys due at ``now`` or earlier, removed; in due-time order."""
        due: list[str] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, seq, key = heapq.heappop(heap)
            if self._due.get(key) == (when, seq):
                del self._due[key]
                due.append(key)
        return due

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if self._due.get(entry[2]) == (entry[0], entry[1])]
        heapq.heapify(self._heap)
