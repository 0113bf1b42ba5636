"""Typed application state (aiohttp ``AppKey``): the services the HTTP handlers call, set by the composition
root before the server takes requests. The web layer reaches the rest of cti only through these."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from cti.services import (
    Accounts,
    AgentService,
    AlertMonitor,
    AuditTrail,
    CallbackScheduler,
    CallControls,
    CallerVerification,
    CallRecording,
    CenterView,
    ChatService,
    ConnectedCrm,
    CustomerSearch,
    CustomerService,
    CyberAgentDesk,
    CyberAgentLabels,
    DeadLetterService,
    DoNotCallList,
    Erasure,
    Faq,
    FollowUps,
    InteractionHistory,
    OutboundCalls,
    PartnerAccess,
    Policy,
    PortalSelfService,
    PortalSignIn,
    PostCallSurveys,
    ReportService,
    RoutingRules,
    ScreenPop,
    ScriptLibrary,
    SignIn,
    StatsFeed,
    SupervisionService,
    SurveyService,
    TransferService,
    Webhooks,
    WfmService,
    WrapUpService,
)
from cti.settings import Settings
from cti.web._sessions import FailureThrottle, PortalThrottles, Sessions
from cti.web._sockets import Hub

__all__ = [
    "ACCOUNTS",
    "AGENTS",
    "ALERTS",
    "AUDIT",
    "CALLBACKS",
    "CHATS",
    "CHAT_STARTS",
    "CRM_SOURCE",
    "CUSTOMERS",
    "CUSTOMER_SEARCH",
    "CYBERAGENT",
    "CYBERAGENT_LABELS",
    "DEAD_LETTERS",
    "DO_NOT_CALL",
    "ERASURE",
    "FAQ",
    "FOLLOW_UPS",
    "HISTORY",
    "HUB",
    "OUTBOUND",
    "PARTNERS",
    "POLICY",
    "PORTAL",
    "PORTAL_SELF",
    "PORTAL_THROTTLES",
    "QUERY",
    "REPORTS",
    "ROUTING",
    "SCREENPOP",
    "SCRIPTS",
    "SESSIONS",
    "SETTINGS",
    "SIGN_IN",
    "STATS",
    "STATUS",
    "SUPERVISION",
    "SURVEYS",
    "TRANSFERS",
    "VERIFICATION",
    "WEBHOOKS",
    "WFM",
    "WRAP_UP",
    "Status",
]


class Status(Protocol):
    """How cti is doing, for ``/healthz`` and ``/metrics`` (the composition root gathers it from the components)."""

    async def health(self) -> dict[str, bool]:
        """Each component (asterisk, redis, database): up or not."""

    def role(self) -> tuple[str, int | None]:
        """This controller's part and its term: ``("single", None)`` started without a lease (no
        ``--standby``), ``("leader", token)`` while it holds the lease (the term's fencing token), ``("standby",
        None)`` once its lease has lapsed here (a deposed leader, about to exit: a standby serves nothing)."""

    def metrics(self) -> str:
        """The Prometheus text exposition of counters and gauges."""


SETTINGS = web.AppKey("settings", Settings)
HUB = web.AppKey("hub", Hub)
"""The websocket fan-out every page's live view goes through."""
STATUS = web.AppKey("status", Status)
SURVEYS = web.AppKey("surveys", SurveyService)
"""Customer satisfaction surveys: questionnaires, links, answers, profiles, figures."""
POST_CALL_SURVEYS = web.AppKey("post_call_surveys", PostCallSurveys)
"""Surveys offered on connected calls, answered on the line after the agent's side ends the call."""
ALERTS = web.AppKey("alerts", AlertMonitor)
"""Supervisors' alert thresholds and the alert history."""
QUERY = web.AppKey("query", CenterView)
"""The live contact center, read-only."""
POLICY = web.AppKey("policy", Policy)
"""Who may touch which object: every handler asks it."""
AUDIT = web.AppKey("audit", AuditTrail)
ACCOUNTS = web.AppKey("accounts", Accounts)
SESSIONS = web.AppKey("sessions", Sessions)
"""Token cache, web sessions, websocket tickets, the throttles of failed attempts, revocation."""
PORTAL = web.AppKey("portal", PortalSignIn)
"""Customers' sign-in codes and portal sessions."""
PORTAL_THROTTLES = web.AppKey("portal_throttles", PortalThrottles)
PORTAL_SELF = web.AppKey("portal_self", PortalSelfService)
"""What a signed-in customer does for themselves: orders, details, preferences, history, callbacks."""
CHATS = web.AppKey("chats", ChatService)
"""Web chats: customers' and agents' sides."""
FOLLOW_UPS = web.AppKey("follow_ups", FollowUps)
"""Follow-up tasks: customers' left messages (answered by e-mail or a callback) and wrap-ups' follow-ups."""
CHAT_STARTS = web.AppKey("chat_starts", FailureThrottle)
"""Chats started per client address (every start counts)."""
SIGN_IN = web.AppKey("sign_in", SignIn)
"""People's passwords and web sessions."""
AGENTS = web.AppKey("agents", AgentService)
ROUTING = web.AppKey("routing", RoutingRules)
HISTORY = web.AppKey("history", InteractionHistory)
TRANSFERS = web.AppKey("transfers", TransferService)
CALL_CONTROLS = web.AppKey("call_controls", CallControls)
RECORDINGS = web.AppKey("recordings", CallRecording)
WRAP_UP = web.AppKey("wrap_up", WrapUpService)
CUSTOMERS = web.AppKey("customers", CustomerService)
CUSTOMER_SEARCH = web.AppKey("customer_search", CustomerSearch)
OUTBOUND = web.AppKey("outbound", OutboundCalls)
"""Agents' click-to-dial, under the contact policy."""
DO_NOT_CALL = web.AppKey("do_not_call", DoNotCallList)
CALLBACKS = web.AppKey("callbacks", CallbackScheduler)
"""Scheduled callbacks: kept, previewed when due, dialed and retried."""
"""The desktop's customer search (throttled per user)."""
VERIFICATION = web.AppKey("verification", CallerVerification)
"""Customers' IVR PIN and date of birth (set by administrators, checked when callers key them)."""
ERASURE = web.AppKey("erasure", Erasure)
"""Erasing a customer everywhere (admins only)."""
SCREENPOP = web.AppKey("screenpop", ScreenPop)
STATS = web.AppKey("stats", StatsFeed)
"""Live statistics for the dashboard."""
REPORTS = web.AppKey("reports", ReportService)
SUPERVISION = web.AppKey("supervision", SupervisionService)
FAQ = web.AppKey("faq", Faq)
CYBERAGENT = web.AppKey("cyberagent", CyberAgentDesk)
"""The virtual agent (:class:`cti.services.CyberAgentDesk`): the chat answers through it; its replies' audio is
served by :mod:`cti.web._cyberagent`."""
CYBERAGENT_LABELS = web.AppKey("cyberagent_labels", CyberAgentLabels)
"""Supervisors' labels of the virtual agent's unanswered questions (:mod:`cti.web._cyberagent_labels`)."""
SCRIPTS = web.AppKey("scripts", ScriptLibrary)
WFM = web.AppKey("wfm", WfmService)
WEBHOOKS = web.AppKey("webhooks", Webhooks)
"""Partners' webhook subscriptions, the outbox and its delivery."""
PARTNERS = web.AppKey("partners", PartnerAccess)
"""Partner tokens' grants, rates and operations."""
CRM_SOURCE = web.AppKey("crm_source", ConnectedCrm)
"""Another CRM as the customers' source, when one is connected (absent with cti's own CRM)."""
DEAD_LETTERS = web.AppKey("dead_letters", DeadLetterService)
"""Dead letters (webhook events among them), for admins to inspect and replay."""
