"""What statistics are computed from, and what they produce. Plain typed values; definitions in docs/metrics.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Protocol

__all__ = [
    "DEFAULT_CONFIG",
    "NOTHING_LIVE",
    "TALLY_FIELDS",
    "AgentCounts",
    "AgentStateLike",
    "AgentStats",
    "InteractionLike",
    "IvrVisit",
    "LiveCall",
    "LiveFigures",
    "LivePicture",
    "LiveQueue",
    "MetricsConfig",
    "QueueStats",
    "Snapshot",
    "Tally",
    "WindowStats",
]


# -- inputs ---------------------------------------------------------------------------------------------------
class InteractionLike(Protocol):
    """A call as stored (:class:`cti.records.InteractionRecord` fits): times are timezone-aware."""

    @property
    def call_id(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def arrived_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def hold_seconds(self) -> float: ...


class AgentStateLike(Protocol):
    """An agent entered ``state`` at ``at`` (:class:`cti.records.AgentStateRecord` fits)."""

    @property
    def agent_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call in a queue that has not ended: waiting or ringing (``answered_at`` is None) or connected."""

    call_id: str
    queue: str
    arrived_at: datetime
    answered_at: datetime | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class IvrVisit:
    """A call still in the IVR; ``queue`` once the IVR knows where it will go."""

    call_id: str
    since: datetime
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class LivePicture:
    """What is going on now, besides the agent state history: live calls, the IVR, who serves which queue."""

    calls: tuple[LiveCall, ...] = ()
    ivr: tuple[IvrVisit, ...] = ()
    memberships: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """agent id -> the queues the agent serves (routing decides; an agent may serve several)."""


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    service_level_seconds: float = 20.0
    """T: a call answered (or, for SL2, abandoned) after waiting at most T seconds is within the service level."""
    short_abandon_seconds: float = 5.0
    """A call abandoned after waiting at most this long is a short abandon (a misdial, not a lost customer)."""
    queue_service_level_seconds: Mapping[str, float] = field(default_factory=dict)
    """Per-queue T, overriding ``service_level_seconds``."""
    queues: tuple[str, ...] = ()
    """Queues always listed, even without activity."""

    def service_level_us(self, queue: str) -> int:
        return round(self.queue_service_level_seconds.get(queue, self.service_level_seconds) * 1_000_000)

    @property
    def short_abandon_us(self) -> int:
        return round(self.short_abandon_seconds * 1_000_000)


DEFAULT_CONFIG = MetricsConfig()
NOTHING_LIVE = LivePicture()


# -- outputs --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tally:
    """Counters over a window or interval; durations in integer microseconds. See docs/metrics.md for when each
    call adds to which counter."""

    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    wait_us: int = 0
    """Sum of the waits of the answered calls (ASA's numerator)."""
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_within_sl: int = 0
    rejected: int = 0
    completed: int = 0
    """Answered calls whose conversation ended (app_queue's ``callscompleted``)."""
    completed_within_sl: int = 0
    handled: int = 0
    """Answered calls whose handling (talk, then after-call work) finished."""
    talk_us: int = 0
    """Answer to end of the handled calls: the conversation and the holds in it."""
    acw_us: int = 0
    hold_us: int = 0
    """Of ``talk_us``, the time callers spent on hold (agents' holds)."""

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


TALLY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Tally))


@dataclass(frozen=True, slots=True)
class AgentCounts:
    ready: int = 0
    ringing: int = 0
    on_call: int = 0
    wrap_up: int = 0
    not_ready: int = 0
    logged_out: int = 0
    not_ready_by_reason: Mapping[str, int] = field(default_factory=dict)
    """reason -> agents; an agent not ready without a reason counts under ``""``."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue (``queue`` is None for all queues together): the live picture and the window's figures."""

    queue: str | None
    waiting: int
    longest_wait: float
    in_ivr: int
    agents: AgentCounts
    tally: Tally
    service_level: float | None
    service_level_app_queue: float | None
    service_level_2: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class AgentStats:
    agent_id: str
    state: str
    reason: str | None
    since: datetime | None
    time_in_state: float | None
    queues: tuple[str, ...]
    handled: int
    talk_seconds: float
    acw_seconds: float
    aht: float | None
    ready_seconds: float
    occupied_seconds: float
    not_ready_seconds: float
    occupancy: float | None
    hold_seconds: float = 0.0
    """Of ``talk_seconds``, the time the agent's callers spent on hold."""


@dataclass(frozen=True, slots=True)
class WindowStats:
    window: str
    start: datetime
    end: datetime
    overall: QueueStats
    queues: Mapping[str, QueueStats]
    agents: Mapping[str, AgentStats]


@dataclass(frozen=True, slots=True)
class LiveQueue:
    """The live picture of one queue (or all together): as :class:`QueueStats` has it, without a window."""

    waiting: int
    longest_wait: float
    in_ivr: int
    agents: AgentCounts


@dataclass(frozen=True, slots=True)
class LiveFigures:
    at: datetime
    queues: Mapping[str, LiveQueue]
    overall: LiveQueue


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: datetime
    windows: Mapping[str, WindowStats]
