"""The HTTP and websocket adapter (aiohttp), by feature: each feature module holds its routes, the bodies it
accepts (pydantic, also the OpenAPI schemas) and the views it answers with, and calls the services only.

Features: the service itself (health, metrics, OpenAPI), users, agents, calls (queues, live calls, history,
routing rules), the agent desktop, privacy (erasure), supervision, the dashboard and reports, call scripts,
workforce management, and the static pages. Shared: authentication, the one error table, the websocket hub,
the typed app keys.
"""

from cti.web._auth import TokenCache, make_auth_middleware, principal, require_agent_access, require_role
from cti.web._errors import STATUS_OF, error_middleware, json_error
from cti.web._features import FEATURES, mount
from cti.web._keys import (
    ACCOUNTS,
    AGENTS,
    CUSTOMERS,
    ERASURE,
    HISTORY,
    HUB,
    QUERY,
    REPORTS,
    ROUTING,
    SCREENPOP,
    SCRIPTS,
    SETTINGS,
    STATS,
    STATUS,
    SUPERVISION,
    TRANSFERS,
    WFM,
    WRAP_UP,
    Status,
)
from cti.web._openapi import ApiModule, openapi_document
from cti.web._service import API_MODULES
from cti.web._sockets import FrameError, Hub, RawJson
from cti.web._wfm import WfmScheduleCreate

__all__ = [
    "ACCOUNTS",
    "AGENTS",
    "API_MODULES",
    "CUSTOMERS",
    "ERASURE",
    "FEATURES",
    "HISTORY",
    "HUB",
    "QUERY",
    "REPORTS",
    "ROUTING",
    "SCREENPOP",
    "SCRIPTS",
    "SETTINGS",
    "STATS",
    "STATUS",
    "STATUS_OF",
    "SUPERVISION",
    "TRANSFERS",
    "WFM",
    "WRAP_UP",
    "ApiModule",
    "FrameError",
    "Hub",
    "RawJson",
    "Status",
    "TokenCache",
    "WfmScheduleCreate",
    "error_middleware",
    "json_error",
    "make_auth_middleware",
    "mount",
    "openapi_document",
    "principal",
    "require_agent_access",
    "require_role",
]
