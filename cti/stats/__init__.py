"""Contact-center statistics: metric definitions, the live aggregator and interval reports. Pure: no I/O, no clock.

Definitions, formulas and how they compare with Asterisk's app_queue: docs/metrics.md.
"""

from cti.stats.events import (
    AgentStateChanged,
    CallAnswered,
    CallArrived,
    CallEnded,
    CallOffered,
    CallRequeued,
    Event,
    IvrEntered,
    IvrLeft,
)
from cti.stats.live import LiveStats, OutOfOrder, replay_events
from cti.stats.metrics import Figures, compute
from cti.stats.model import (
    AgentCounts,
    AgentStats,
    IvrCall,
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
from cti.stats.reports import (
    AGENT_COLUMNS,
    QUEUE_COLUMNS,
    AgentInterval,
    IntervalReport,
    QueueInterval,
    agent_csv,
    interval_report,
    queue_csv,
)
from cti.stats.windows import Sliding, Today, Window

__all__ = [
    "AGENT_COLUMNS",
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
    "Event",
    "Figures",
    "IntervalReport",
    "IvrCall",
    "IvrEntered",
    "IvrLeft",
    "LiveCall",
    "LiveFigures",
    "LivePicture",
    "LiveQueue",
    "LiveStats",
    "MetricsConfig",
    "OutOfOrder",
    "QueueInterval",
    "QueueStats",
    "Sliding",
    "Snapshot",
    "Tally",
    "Today",
    "Window",
    "WindowStats",
    "agent_csv",
    "compute",
    "interval_report",
    "queue_csv",
    "replay_events",
]
