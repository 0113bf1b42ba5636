"""Contact-center statistics: metric definitions, the live aggregator and interval reports. Pure: no I/O, no clock.

Definitions, formulas and how they compare with Asterisk's app_queue: docs/metrics.md.
"""

from cti.stats._events import (
    AgentStateChanged,
    CallAnswered,
    CallArrived,
    CallEnded,
    CallOffered,
    CallRequeued,
    IvrEntered,
    IvrLeft,
    StatsEvent,
)
from cti.stats._live import LiveStats, OutOfOrder, replay_events
from cti.stats._metrics import Figures, compute
from cti.stats._model import (
    AgentCounts,
    AgentStats,
    IvrVisit,
    LiveCall,
    LiveFigures,
    LivePicture,
    LiveQueue,
    MetricsConfig,
    QueueStats,
    Snapshot,
    Tally,
    WindowStats,
)
from cti.stats._outbound import (
    OUTBOUND_COLUMNS,
    CallbackEnd,
    OutboundCallLike,
    OutboundInterval,
    outbound_csv,
    outbound_intervals,
)
from cti.stats._reports import (
    AGENT_COLUMNS,
    QUEUE_COLUMNS,
    AgentInterval,
    IntervalReport,
    QueueInterval,
    agent_csv,
    interval_report,
    queue_csv,
)
from cti.stats._windows import Sliding, Today, Window, day_start, interval_bounds

__all__ = [
    "AGENT_COLUMNS",
    "OUTBOUND_COLUMNS",
    "QUEUE_COLUMNS",
    "AgentCounts",
    "AgentInterval",
    "AgentStateChanged",
    "AgentStats",
    "CallAnswered",
    "CallArrived",
    "CallEnded",
    "CallOffered",
    "CallRequeued",
    "CallbackEnd",
    "Figures",
    "IntervalReport",
    "IvrEntered",
    "IvrLeft",
    "IvrVisit",
    "LiveCall",
    "LiveFigures",
    "LivePicture",
    "LiveQueue",
    "LiveStats",
    "MetricsConfig",
    "OutOfOrder",
    "OutboundCallLike",
    "OutboundInterval",
    "QueueInterval",
    "QueueStats",
    "Sliding",
    "Snapshot",
    "StatsEvent",
    "Tally",
    "Today",
    "Window",
    "WindowStats",
    "agent_csv",
    "compute",
    "day_start",
    "interval_bounds",
    "interval_report",
    "outbound_csv",
    "outbound_intervals",
    "queue_csv",
    "replay_events",
]
