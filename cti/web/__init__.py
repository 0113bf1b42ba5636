"""The HTTP and websocket adapter (aiohttp), by feature: each feature module holds its routes, the bodies it
accepts (pydantic, also the OpenAPI schemas) and the views it answers with, and calls the services only.

Features: the service itself (health, metrics, OpenAPI), signing in (session cookies, passwords, who am I),
users and their tokens, agents, calls (queues, live calls, history, routing rules), the agent desktop, caller
verification, privacy (erasure), supervision, the dashboard and reports, call scripts, workforce management, the
audit log, and the static pages. Shared: authentication and sessions (token cache, web sessions, websocket
tickets, throttles), the one error table, the websocket hub, the typed app keys, the access log.
"""

from cti.web._access_log import AccessLogger
from cti.web._audit import make_audit_middleware
from cti.web._auth import make_auth_middleware, principal, require_role
from cti.web._errors import STATUS_OF, error_middleware, json_error
from cti.web._features import FEATURES, mount
from cti.web._keys import (
    ACCOUNTS,
    AGENTS,
    ALERTS,
    AUDIT,
    CALL_CONTROLS,
    CALLBACKS,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    CYBERAGENT,
    DO_NOT_CALL,
    ERASURE,
    FAQ,
    HISTORY,
    HUB,
    OUTBOUND,
    POLICY,
    PORTAL,
    PORTAL_SELF,
    PORTAL_THROTTLES,
    QUERY,
    RECORDINGS,
    REPORTS,
    ROUTING,
    SCREENPOP,
    SCRIPTS,
    SESSIONS,
    SETTINGS,
    SIGN_IN,
    STATS,
    STATUS,
    SUPERVISION,
    SURVEYS,
    TRANSFERS,
    VERIFICATION,
    WFM,
    WRAP_UP,
    Status,
)
from cti.web._openapi import ApiModule, openapi_document
from cti.web._service import API_MODULES
from cti.web._sessions import FailureThrottle, PortalThrottles, Sessions, Throttled
from cti.web._sockets import FrameError, Hub, RawJson
from cti.web._wfm import WfmScheduleCreate

__all__ = [
    "ACCOUNTS",
    "AGENTS",
    "ALERTS",
    "API_MODULES",
    "AUDIT",
    "CALLBACKS",
    "CALL_CONTROLS",
    "CUSTOMERS",
    "CUSTOMER_SEARCH",
    "CYBERAGENT",
    "DO_NOT_CALL",
    "ERASURE",
    "FAQ",
    "FEATURES",
    "HISTORY",
    "HUB",
    "OUTBOUND",
    "POLICY",
    "PORTAL",
    "PORTAL_SELF",
    "PORTAL_THROTTLES",
    "QUERY",
    "RECORDINGS",
    "REPORTS",
    "ROUTING",
    "SCREENPOP",
    "SCRIPTS",
    "SESSIONS",
    "SETTINGS",
    "SIGN_IN",
    "STATS",
    "STATUS",
    "STATUS_OF",
    "SUPERVISION",
    "SURVEYS",
    "TRANSFERS",
    "VERIFICATION",
    "WFM",
    "WRAP_UP",
    "AccessLogger",
    "ApiModule",
    "FailureThrottle",
    "FrameError",
    "Hub",
    "PortalThrottles",
    "RawJson",
    "Sessions",
    "Status",
    "Throttled",
    "WfmScheduleCreate",
    "error_middleware",
    "json_error",
    "make_audit_middleware",
    "make_auth_middleware",
    "mount",
    "openapi_document",
    "principal",
    "require_role",
]
