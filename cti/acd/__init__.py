"""The automatic contact distributor: agents, work items and every decision between them. Pure: no I/O,
no clock (every method takes the time).

- **Agents** (:class:`Agent`): a state machine (logged out, ready, not ready, ringing, on call, wrap-up),
  skills and levels, languages, region, site, team, and a :class:`Capacity` per :class:`Channel`.
- **Work items** (:class:`WorkItem`): a voice call or a web chat, each with its channel, routing
  attributes (:class:`Routing`) and the :class:`Decision` records of why it went where it went.
- **Rules** (:class:`Rules`, from YAML): routes to queues, escalation targets, overflow, business-hours
  calendars; the queue's **strategy** chooses among eligible agents (a registry: :func:`strategy`).
- **Callbacks** (:class:`CallbackPolicy`): which waiting callers may be called back (allowed numbers, limits
  per number and overall), the guard against callbacks used for toll fraud.
- **Contact policy** (:class:`ContactPolicy`): may this customer be called now (allowed number, do-not-call,
  consent, calling hours in their own time zone), the one decision of every outbound call.
- **Scheduled callbacks** (:class:`ScheduledCallback`): whom a due callback is previewed to, and what follows
  each attempt (:class:`RetryPolicy`).
- **The core** (:class:`ContactCenter`): each method applies one event or request and returns the commands
  the adapters carry out (:data:`Action`) and the changes everyone keeps a picture from (:data:`Change`).
  Every refusal is an :class:`AcdError`.

See docs/routing.md for the rules file and docs/architecture.md for where this sits.
"""

from cti.acd._agents import Agent, AgentState, Capacity, NotReadyReason, PendingChange
from cti.acd._announce import PROMPT_LANGUAGE, position_announcement
from cti.acd._calendar import CALENDAR_24X7, TIMEZONE_ALIASES, Calendar, OpeningHours, parse_calendar
from cti.acd._callback_schedule import (
    OPEN_STATUSES,
    Attempt,
    CallbackStatus,
    RetryPolicy,
    ScheduledCallback,
    after_call,
    after_refusal,
    pick_agent,
    rescheduled,
)
from cti.acd._callbacks import CallbackLimits, CallbackPolicy, CallbackRefusal
from cti.acd._center import ContactCenter
from cti.acd._commands import (
    Action,
    AgentChanged,
    Announce,
    Change,
    Command,
    ConfirmCallback,
    Connect,
    DialCustomer,
    DialExternal,
    HandOff,
    Hangup,
    Hold,
    HoldCall,
    JoinCall,
    MuteAgent,
    Offer,
    Preview,
    RefuseCallback,
    Reject,
    ResumeCall,
    SendDtmf,
    WorkChanged,
)
from cti.acd._contact_policy import (
    ZONE_OFFSETS,
    CallingHours,
    Contact,
    ContactDecision,
    ContactPolicy,
    ContactRefusal,
    ContactRules,
    local_time,
    next_calling_time,
    zone_of,
)
from cti.acd._controls import DTMF_DIGITS, MAX_DTMF
from cti.acd._core import DESK_WRAP_UP
from cti.acd._eligibility import WaitKey, eligible, qualified, site_loads, wait_key, wait_order
from cti.acd._errors import (
    AcdError,
    CalendarError,
    ExtensionInUse,
    InvalidDigits,
    InvalidTransition,
    RulesError,
    UnknownAgent,
    UnknownQueue,
    UnknownWork,
)
from cti.acd._recording import (
    RECORDING_ACTIONS,
    RecordingAction,
    RecordingMode,
    RecordingPolicy,
    RecordingRefused,
    RecordingStatus,
    recording_step,
)
from cti.acd._routing import WHY_CODES, Decision, Routing, Why
from cti.acd._rules import (
    ATTRIBUTES,
    DEFAULT_RULES,
    Overflow,
    QueueRule,
    Route,
    Rules,
    Target,
    load_rules_file,
    parse_rules,
    parse_rules_text,
    rules_for_service_numbers,
)
from cti.acd._strategies import STRATEGIES, Strategy, StrategyContext, choose_agent, strategy
from cti.acd._work import Channel, Consult, Direction, EndReason, Leg, Outcome, WorkItem, WorkState

__all__ = [
    "ATTRIBUTES",
    "CALENDAR_24X7",
    "DEFAULT_RULES",
    "DESK_WRAP_UP",
    "DTMF_DIGITS",
    "MAX_DTMF",
    "OPEN_STATUSES",
    "PROMPT_LANGUAGE",
    "RECORDING_ACTIONS",
    "STRATEGIES",
    "TIMEZONE_ALIASES",
    "WHY_CODES",
    "ZONE_OFFSETS",
    "AcdError",
    "Action",
    "Agent",
    "AgentChanged",
    "AgentState",
    "Announce",
    "Attempt",
    "Calendar",
    "CalendarError",
    "CallbackLimits",
    "CallbackPolicy",
    "CallbackRefusal",
    "CallbackStatus",
    "CallingHours",
    "Capacity",
    "Change",
    "Channel",
    "Command",
    "ConfirmCallback",
    "Connect",
    "Consult",
    "Contact",
    "ContactCenter",
    "ContactDecision",
    "ContactPolicy",
    "ContactRefusal",
    "ContactRules",
    "Decision",
    "DialCustomer",
    "DialExternal",
    "Direction",
    "EndReason",
    "ExtensionInUse",
    "HandOff",
    "Hangup",
    "Hold",
    "HoldCall",
    "InvalidDigits",
    "InvalidTransition",
    "JoinCall",
    "Leg",
    "MuteAgent",
    "NotReadyReason",
    "Offer",
    "OpeningHours",
    "Outcome",
    "Overflow",
    "PendingChange",
    "Preview",
    "QueueRule",
    "RecordingAction",
    "RecordingMode",
    "RecordingPolicy",
    "RecordingRefused",
    "RecordingStatus",
    "RefuseCallback",
    "Reject",
    "ResumeCall",
    "RetryPolicy",
    "Route",
    "Routing",
    "Rules",
    "RulesError",
    "ScheduledCallback",
    "SendDtmf",
    "Strategy",
    "StrategyContext",
    "Target",
    "UnknownAgent",
    "UnknownQueue",
    "UnknownWork",
    "WaitKey",
    "Why",
    "WorkChanged",
    "WorkItem",
    "WorkState",
    "after_call",
    "after_refusal",
    "choose_agent",
    "eligible",
    "load_rules_file",
    "local_time",
    "next_calling_time",
    "parse_calendar",
    "parse_rules",
    "parse_rules_text",
    "pick_agent",
    "position_announcement",
    "qualified",
    "recording_step",
    "rescheduled",
    "rules_for_service_numbers",
    "site_loads",
    "strategy",
    "wait_key",
    "wait_order",
    "zone_of",
]
