"""Shared vocabulary: the few names every layer uses the same way, defined once.

Languages (cti speaks Bahasa Indonesia and English), the clock every decision is taken by, the ids that
name agents, calls and customers, and where live frames go. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol, TypeAlias

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "AgentId",
    "CallId",
    "ChannelId",
    "Clock",
    "CustomerId",
    "Language",
    "Publisher",
    "masked",
    "utc_now",
]

Language: TypeAlias = Literal["id", "en"]
"""A language cti speaks and routes by: ``id`` (Bahasa Indonesia) or ``en`` (English)."""
LANGUAGES: Final[tuple[Language, ...]] = ("id", "en")
DEFAULT_LANGUAGE: Final[Language] = "id"

AgentId: TypeAlias = str
"""An agent's id, as in the routing profile and the users table (``1001``, ``siti``)."""
CallId: TypeAlias = str
"""The id of a work item and of its interaction row (a call's or a chat's)."""
ChannelId: TypeAlias = str
"""An Asterisk channel's id (ARI): the caller's leg, an agent's leg, a snoop."""
CustomerId: TypeAlias = str
"""A CRM customer number (eight digits)."""

Clock: TypeAlias = Callable[[], datetime]
"""Returns the current time, timezone-aware. Injected everywhere so tests can pin or move time."""


def utc_now() -> datetime:
    """The wall clock: the default :data:`Clock`."""
    return datetime.now(UTC)


class Publisher(Protocol):
    """Where live frames go (the websocket hub): numbered per topic, kept briefly for replay."""

    def publish(self, name: str, type_: str, data: Any) -> object: ...

    def publish_json(self, name: str, type_: str, data_json: str) -> object: ...

    def subscribers(self, name: str) -> int: ...


def masked(number: str) -> str:
    """A phone number or keyed digits fit for a log: the last three characters only (``*******123``).

    Enough to tell two callers apart while reading a log, not enough to call anyone back."""
    if len(number) <= 3:
        return "*" * len(number)
    return "*" * min(len(number) - 3, 12) + number[-3:]
