"""The port through which cti reads the callers Kamailio shed at the edge (docs/scaling.md#overload-at-the-edge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["EdgeShedNote", "EdgeShedSource"]


@dataclass(frozen=True, slots=True)
class EdgeShedNote:
    entry_id: str
    at: datetime | None
    """When Kamailio shed the caller (None if the note's time is unreadable: the reader's clock then)."""
    caller: str
    called: str
    told: bool
    """Sent to a node to hear why before the 503 (else turned away by Kamailio at once)."""


class EdgeShedSource(Protocol):
    """Kamailio's notes, oldest first; a note handed out stays pending until :meth:`done` (cti.live)."""

    async def read(self, *, count: int, block_ms: int) -> list[EdgeShedNote]:
        """Raises ``Unavailable`` when Redis is away."""
        ...

    async def done(self, entry_ids: list[str]) -> None: ...

    async def close(self) -> None: ...
