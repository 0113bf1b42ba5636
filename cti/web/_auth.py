"""Who is calling: bearer tokens (machines) or a session cookie (people signed in with a password), mapped to users
with a role (agent, supervisor, admin).

A request with an ``Authorization`` header is judged by it alone. Without one, the ``cti_session`` cookie names
a web session; a request so authenticated that may change something (any method but GET, HEAD and OPTIONS) must
carry the session's CSRF token in ``X-CSRF-Token`` (the page reads it from the ``cti_csrf`` cookie, which another
site can neither read nor, with ``SameSite=Strict``, make the browser send), else 403.

Every route needs a valid token or session except ``/healthz`` (liveness for orchestrators; it reveals only
component up/down), ``/openapi.json`` (the published API description), ``/api/session`` (signing in and out),
``/favicon.ico``, the static pages under ``/ui/`` (they hold no data), the customer portal (``/portal``,
``/api/portal/...``: customers' own sessions, checked there) and the published FAQ's search and "was this
helpful?" (``/api/faq/search``, ``/api/faq/{entry_id}/feedback``). Websockets (``/ws/...``) take the token in the
``Authorization`` header, or, from browsers (which cannot set it), a single-use ticket as ``?ticket=``; never a
token in the URL, and never the session cookie. The token cache, web sessions, the tickets and the throttles of
failed attempts are in :mod:`cti.web._sessions`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from cti.records import UserRecord, WebSessionRecord
from cti.web._errors import coded
from cti.web._sessions import Refused, Sessions

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "PARTNER_PREFIX",
    "PUBLIC_PATHS",
    "PUBLIC_PATTERNS",
    "PUBLIC_PREFIXES",
    "SESSION_COOKIE",
    "TICKET_HEADER",
    "make_auth_middleware",
    "partner_fence",
    "principal",
    "require_role",
    "signed_in",
    "web_session",
]

SESSION_COOKIE = "cti_session"
CSRF_COOKIE = "cti_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/", "/healthz", "/openapi.json", "/api/session", "/favicon.ico", "/portal", "/portal/"})
PUBLIC_PREFIXES = ("/ui/", "/api/portal/")
"""Static pages (their data comes from the API, which needs a token), and the customer portal's API, which
checks customers' own sessions (:mod:`cti.web._portal`) and opens nothing to staff credentials."""
PUBLIC_PATTERNS = re.compile(r"/api/faq/search|/api/faq/[^/]+/feedback|/api/survey/open|/api/survey/answer"
                             r"|/api/live/grants|/api/live/frame")
"""The published FAQ, for customers who have not signed in: throttled per address by :class:`cti.services.Faq`;
and a customer's survey, whose link token (in the body) is the authority (:mod:`cti.web._surveys`); and the web
front ends' grants, which are the authority of their routes (in the body, :mod:`cti.web._live`)."""
LIVE_SNAPSHOT = "/api/live/snapshot"
TICKET_HEADER = "X-CTI-Ticket"
PARTNER_PREFIX = "/api/partner/"
"""The partner API: the only routes a partner token reaches (docs/integration.md)."""
_PRINCIPAL = web.RequestKey("principal", UserRecord)
_SESSION = web.RequestKey("web_session", WebSessionRecord)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _unauthorized(message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(reason=message, headers={"WWW-Authenticate": 'Bearer realm="cti"'})


async def _authenticate(request: web.Request, sessions: Sessions) -> UserRecord:
    if request.path.startswith("/ws"):
        if "token" in request.query:
            raise Refused("a token in the URL is refused: get a ticket from POST /api/ws-tickets and open the "
                          "socket with ?ticket=", counted=False)
        ticket = request.query.get("ticket")
        if ticket is not None:
            return sessions.redeem_ticket(ticket)
    if request.path == LIVE_SNAPSHOT and TICKET_HEADER in request.headers:
        # A web front end asking for a page's snapshot with the ticket the page opened its socket with.
        return sessions.redeem_ticket(request.headers[TICKET_HEADER])
    cookie = request.cookies.get(SESSION_COOKIE)
    if "Authorization" not in request.headers and cookie and not request.path.startswith("/ws"):
        user, session = await sessions.authenticate_session(cookie)
        if request.method not in _SAFE_METHODS and not Sessions.csrf_matches(session, request.headers.get(CSRF_HEADER)):
            raise coded(web.HTTPForbidden(reason="missing or wrong CSRF token"), "csrf")
        request[_SESSION] = session
        return user
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("missing bearer token", counted=False)
    return await sessions.authenticate(token.strip())


def make_auth_middleware(sessions: Sessions) -> Middleware:
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES)
                or PUBLIC_PATTERNS.fullmatch(request.path)):
            return await handler(request)
        # Behind a reverse proxy every client has the proxy's address: see docs/security.md (tokens).
        client = request.remote or "-"
        wait = sessions.throttle.retry_after(client)
        if wait is not None:
            raise coded(web.HTTPTooManyRequests(
                reason=f"too many failed authentication attempts from this address; retry in {wait} s",
                headers={"Retry-After": str(wait)}), "throttled", seconds=wait)
        try:
            user = await _authenticate(request, sessions)
        except Refused as exc:
            if exc.counted:
                sessions.throttle.failed(client)
            raise _unauthorized(str(exc)) from None
        request[_PRINCIPAL] = user
        return await handler(request)

    return auth_middleware


@web.middleware
async def partner_fence(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A partner token reaches the partner API and nothing else; and only partners call the partner API. After
    the audit middleware, so that a refused partner call is audited too."""
    user = signed_in(request)
    if user is not None and (user.role == "partner") != request.path.startswith(PARTNER_PREFIX):
        if user.role == "partner":
            raise coded(web.HTTPForbidden(reason="a partner token reaches only the partner API (/api/partner/)"),
                        "partner_only")
        raise coded(web.HTTPForbidden(reason="the partner API is for partner tokens"), "role_forbidden",
                    role=user.role, roles=["partner"])
    return await handler(request)


def principal(request: web.Request) -> UserRecord:
    return request[_PRINCIPAL]


def signed_in(request: web.Request) -> UserRecord | None:
    """The caller, or None on a public path (nobody signed in there)."""
    return request.get(_PRINCIPAL)


def web_session(request: web.Request) -> WebSessionRecord | None:
    """The web session the caller signed in with, or None (a token, or a public path)."""
    return request.get(_SESSION)


def require_role(request: web.Request, *roles: str) -> UserRecord:
    user = principal(request)
    if user.role not in roles:
        raise coded(web.HTTPForbidden(reason=f"role {user.role!r} may not do this (needs {' or '.join(roles)})"),
                    "role_forbidden", role=user.role, roles=list(roles))
    return user
