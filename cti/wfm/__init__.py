"""Workforce management: forecast, Erlang C/A staffing, shift schedules, intraday reforecast and adherence.

The pure core of issue 7: plain typed values in and out, no I/O, no clock. Schedules are kept by
:class:`cti.persistence.WfmRepository` (as :mod:`cti.wfm._stored` values); the use cases are
:class:`cti.services.WfmService`, the HTTP API ``cti/web/_wfm.py`` and the CLI ``cti wfm``.
"""

from cti.wfm._adherence import WORKING_STATES, AdherenceException, AgentAdherence, StateChange, adherence
from cti.wfm._erlang import QueueMetrics, erlang_a_metrics, erlang_b, erlang_c, erlang_c_metrics
from cti.wfm._errors import InfeasibleTarget, SolverError, WfmError
from cti.wfm._forecast import (
    INTERVAL_CHOICES,
    MODELS,
    Forecast,
    InteractionSample,
    IntervalForecast,
    IntervalSeries,
    ModelScore,
    aggregate,
    forecast_queue,
    mape,
    wape,
)
from cti.wfm._intraday import Reforecast, reforecast_day
from cti.wfm._scheduling import (
    AgentAvailability,
    BreakRule,
    CoverageRow,
    Schedule,
    ScheduleProblem,
    ShiftPattern,
    solve_schedule,
)
from cti.wfm._shifts import ACTIVITY_KINDS, Activity, AgentShift
from cti.wfm._staffing import (
    MAX_CALLS,
    MAX_INTERVAL_MINUTES,
    MAX_SECONDS,
    MAX_TRAFFIC,
    MIN_INTERVAL_MINUTES,
    MIN_OCCUPANCY,
    MIN_SECONDS,
    MIN_TRAFFIC,
    StaffingRequest,
    StaffingResult,
    StaffingTable,
    apply_shrinkage,
    offered_traffic,
    staff,
    staff_batch,
    staff_intervals,
    staff_table,
)
from cti.wfm._stored import ScheduleSummary, StoredSchedule
from cti.wfm._synthetic import SyntheticPattern, expected_calls, synthetic_history

__all__ = [
    "ACTIVITY_KINDS",
    "INTERVAL_CHOICES",
    "MAX_CALLS",
    "MAX_INTERVAL_MINUTES",
    "MAX_SECONDS",
    "MAX_TRAFFIC",
    "MIN_INTERVAL_MINUTES",
    "MIN_OCCUPANCY",
    "MIN_SECONDS",
    "MIN_TRAFFIC",
    "MODELS",
    "WORKING_STATES",
    "Activity",
    "AdherenceException",
    "AgentAdherence",
    "AgentAvailability",
    "AgentShift",
    "BreakRule",
    "CoverageRow",
    "Forecast",
    "InfeasibleTarget",
    "InteractionSample",
    "IntervalForecast",
    "IntervalSeries",
    "ModelScore",
    "QueueMetrics",
    "Reforecast",
    "Schedule",
    "ScheduleProblem",
    "ScheduleSummary",
    "ShiftPattern",
    "SolverError",
    "StaffingRequest",
    "StaffingResult",
    "StaffingTable",
    "StateChange",
    "StoredSchedule",
    "SyntheticPattern",
    "WfmError",
    "adherence",
    "aggregate",
    "apply_shrinkage",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "expected_calls",
    "forecast_queue",
    "mape",
    "offered_traffic",
    "reforecast_day",
    "solve_schedule",
    "staff",
    "staff_batch",
    "staff_intervals",
    "staff_table",
    "synthetic_history",
    "wape",
]
