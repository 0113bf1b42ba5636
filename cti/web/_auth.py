"""Who is calling: bearer tokens mapped to users with a role (agent, supervisor, admin).

Every route needs a valid token except ``/healthz`` (liveness for orchestrators; it reveals only
component up/down), ``/openapi.json`` (the published API description) and the static pages under ``/ui/``
(they hold no data).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from cti.records import UserRecord
from cti.services import Accounts

__all__ = [
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "TokenCache",
    "make_auth_middleware",
    "principal",
    "require_role",
]

PUBLIC_PATHS = frozenset({"/", "/healthz", "/openapi.json"})
PUBLIC_PREFIXES = ("/ui/",)  # static pages; their data comes from the API, which needs a token
_PRINCIPAL = web.RequestKey("principal", UserRecord)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenCache:
    """Remembers token lookups briefly so each API call does not cost a database query (keyed by the token's
    hash: the clear token is not kept)."""

    def __init__(self, accounts: Accounts, ttl: float = 10.0) -> None:
        self._accounts = accounts
        self._ttl = ttl
        self._entries: dict[str, tuple[float, UserRecord | None]] = {}

    async def lookup(self, token: str) -> UserRecord | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        user = await self._accounts.user_for_token(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, user)
        return user


def _unauthorized(message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(reason=message, headers={"WWW-Authenticate": 'Bearer realm="cti"'})


def make_auth_middleware(tokens: TokenCache) -> Middleware:
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not token and request.path.startswith("/ws"):
            token, scheme = request.query.get("token", ""), "bearer"  # browsers cannot set ws headers
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("missing bearer token")
        user = await tokens.lookup(token.strip())
        if user is None:
            raise _unauthorized("invalid or disabled token")
        request[_PRINCIPAL] = user
        return await handler(request)

    return auth_middleware


def principal(request: web.Request) -> UserRecord:
    return request[_PRINCIPAL]


def require_role(request: web.Request, *roles: str) -> UserRecord:
    user = principal(request)
    if user.role not in roles:
        raise web.HTTPForbidden(reason=f"role {user.role!r} may not do this (needs {' or '.join(roles)})")
    return user
