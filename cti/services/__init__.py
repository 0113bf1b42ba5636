"""Use cases: between the adapters (web, telephony) and the core and repositories.

The :class:`Distributor` is the live contact center (the core, the clock, and the handler table every change
goes through); :class:`CenterView` answers what it looks like now, read-only. Each desk of work has its
service: agents' requests, accounts, the desktop's transfer, wrap-up and customer record, supervisors'
monitoring, reports, workforce management; the screen pop and the dashboard's statistics follow every change.
Who may touch what is decided in one place, the :class:`Policy`; what was seen or changed is written to the
:class:`AuditTrail`. Privacy: :class:`Erasure` forgets a customer everywhere, :class:`Retention` purges old
interactions' personal fields. Services reach the adapters only through the protocols of :mod:`._ports`, which
``tests/unit/fakes.py`` fakes. People sign in with a password (:class:`SignIn`, :class:`Passwords`); machines
use the API tokens of :class:`Accounts`.
"""

from cti.services._agents import AgentService, UnknownExtension
from cti.services._alerts import ALERT_EVERY, AlertMonitor
from cti.services._audit import SERVER, AuditTrail
from cti.services._bus import CommandBus, Handler, HandlerKey
from cti.services._customer_search import DEFAULT_RESULTS, MAX_RESULTS, SEARCHES_PER_MINUTE, CustomerHit, CustomerSearch
from cti.services._cyberagent import (
    MAX_REPLIES,
    REPLY_TTL,
    CyberAgentCustomers,
    CyberAgentDesk,
    ReplyVoice,
    SpokenReply,
    speakable,
)
from cti.services._dead_letters import (
    DeadLetterService,
    InvalidDeadLetter,
    UnknownDeadLetter,
    dead_letter_of,
    record_of,
)
from cti.services._desk import (
    CallControls,
    CustomerService,
    FollowUp,
    PopCache,
    TransferService,
    WrapUp,
    WrapUpService,
)
from cti.services._distributor import Distributor, profile_fields
from cti.services._erasure import (
    CopyHolder,
    CustomerOnCall,
    Erasure,
    ErasureIncomplete,
    ErasureReport,
    ErasureSubject,
    LiveContact,
)
from cti.services._faq import FAQ_QUERY_LENGTH, MAX_FAQ_HITS, Faq, FaqDraft
from cti.services._history import InteractionHistory
from cti.services._identity import (
    ROUTED_ATTRIBUTES,
    ArrivalLookup,
    CallerIdentity,
    Identity,
    SelfService,
    apply_attributes,
)
from cti.services._journal import Journal, interaction_record
from cti.services._outbound import ContactRefused, DoNotCallList, OutboundCalls
from cti.services._passwords import MAX_PASSWORD, MIN_PASSWORD, Passwords, password_problems
from cti.services._policy import (
    Policy,
    Scope,
    can_see_agent,
    can_see_queue,
    handled_by,
    require_queue,
    scope_of,
)
from cti.services._portal import (
    CodeMailer,
    NewPortalSession,
    PortalAddress,
    PortalSignIn,
    SmsSender,
    read_address,
)
from cti.services._portal_selfservice import ContactChange, PortalSelfService, Preferences, customer_actor
from cti.services._ports import (
    AgentRegistry,
    AuditLog,
    Callbacks,
    ContactRetention,
    Credentials,
    Customers,
    DeadLetters,
    DoNotCall,
    ErasableCustomers,
    FaqStore,
    InteractionRetention,
    Interactions,
    LiveState,
    MonitorInfo,
    Phones,
    Schedules,
    Scripts,
    Supervision,
    Users,
    WebSessions,
)
from cti.services._query import CenterView
from cti.services._recording import CallRecording, RecordingState
from cti.services._reports import ReportService
from cti.services._retention import Retention, RetentionReport
from cti.services._routing import NoRulesFile, RoutingRules, RulesFile, RulesFileUnusable, StaleRules
from cti.services._scheduled_callbacks import CallbackAttempts, CallbackScheduler
from cti.services._screenpop import ScreenPop, agent_frame, agent_topic, call_frame, customer_frame
from cti.services._scripts import ScriptLibrary
from cti.services._signin import DEFAULT_IDLE, DEFAULT_LIFETIME, NewSession, SignIn, WrongPassword, session_key
from cti.services._stats_feed import StatsFeed, dashboard_topic, grid_entry
from cti.services._supervision import SupervisionService
from cti.services._surveys import InteractionEnded, SurveyCustomers, SurveyMailer, SurveyService, SurveyStore
from cti.services._users import Accounts
from cti.services._verification import CallerVerification, CredentialsState
from cti.services._wfm import AdherenceToday, ScheduleAgent, StaffedForecast, WfmService, shift_queues

__all__ = [
    "ALERT_EVERY",
    "DEFAULT_IDLE",
    "DEFAULT_LIFETIME",
    "DEFAULT_RESULTS",
    "FAQ_QUERY_LENGTH",
    "MAX_FAQ_HITS",
    "MAX_PASSWORD",
    "MAX_REPLIES",
    "MAX_RESULTS",
    "MIN_PASSWORD",
    "REPLY_TTL",
    "ROUTED_ATTRIBUTES",
    "SEARCHES_PER_MINUTE",
    "SERVER",
    "Accounts",
    "AdherenceToday",
    "AgentRegistry",
    "AgentService",
    "AlertMonitor",
    "ArrivalLookup",
    "AuditLog",
    "AuditTrail",
    "CallControls",
    "CallRecording",
    "CallbackAttempts",
    "CallbackScheduler",
    "Callbacks",
    "CallerIdentity",
    "CallerVerification",
    "CenterView",
    "CodeMailer",
    "CommandBus",
    "ContactChange",
    "ContactRefused",
    "ContactRetention",
    "CopyHolder",
    "Credentials",
    "CredentialsState",
    "CustomerHit",
    "CustomerOnCall",
    "CustomerSearch",
    "CustomerService",
    "Customers",
    "CyberAgentCustomers",
    "CyberAgentDesk",
    "DeadLetterService",
    "DeadLetters",
    "Distributor",
    "DoNotCall",
    "DoNotCallList",
    "ErasableCustomers",
    "Erasure",
    "ErasureIncomplete",
    "ErasureReport",
    "ErasureSubject",
    "Faq",
    "FaqDraft",
    "FaqStore",
    "FollowUp",
    "Handler",
    "HandlerKey",
    "Identity",
    "InteractionEnded",
    "InteractionHistory",
    "InteractionRetention",
    "Interactions",
    "InvalidDeadLetter",
    "Journal",
    "LiveContact",
    "LiveState",
    "MonitorInfo",
    "NewPortalSession",
    "NewSession",
    "NoRulesFile",
    "OutboundCalls",
    "Passwords",
    "Phones",
    "Policy",
    "PopCache",
    "PortalAddress",
    "PortalSelfService",
    "PortalSignIn",
    "Preferences",
    "RecordingState",
    "ReplyVoice",
    "ReportService",
    "Retention",
    "RetentionReport",
    "RoutingRules",
    "RulesFile",
    "RulesFileUnusable",
    "ScheduleAgent",
    "Schedules",
    "Scope",
    "ScreenPop",
    "ScriptLibrary",
    "Scripts",
    "SelfService",
    "SignIn",
    "SmsSender",
    "SpokenReply",
    "StaffedForecast",
    "StaleRules",
    "StatsFeed",
    "Supervision",
    "SupervisionService",
    "SurveyCustomers",
    "SurveyMailer",
    "SurveyService",
    "SurveyStore",
    "TransferService",
    "UnknownDeadLetter",
    "UnknownExtension",
    "Users",
    "WebSessions",
    "WfmService",
    "WrapUp",
    "WrapUpService",
    "WrongPassword",
    "agent_frame",
    "agent_topic",
    "apply_attributes",
    "call_frame",
    "can_see_agent",
    "can_see_queue",
    "customer_actor",
    "customer_frame",
    "dashboard_topic",
    "dead_letter_of",
    "grid_entry",
    "handled_by",
    "interaction_record",
    "password_problems",
    "profile_fields",
    "read_address",
    "record_of",
    "require_queue",
    "scope_of",
    "session_key",
    "shift_queues",
    "speakable",
]
