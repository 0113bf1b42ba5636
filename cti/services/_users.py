"""API users: who may call cti (a bearer token, stored only as its hash), in which role, and a supervisor's
scope; and the lifecycle of their tokens: issued with an expiry, rotated, disabled with their user, deleted.

Accounts is the only issuer of tokens: a token it hands out expires ``token_ttl`` after it was issued. The
bootstrap administrator's token is the exception: it comes from the configuration, lives as long as the
configuration names it, and is replaced at the next start when the configuration changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from cti.errors import Conflict, NotFound
from cti.records import UserRecord
from cti.services._ports import AgentRegistry, Users
from cti.types import Clock, utc_now

__all__ = ["Accounts"]

ADMIN_USER: Final = "admin"
"""The bootstrap administrator, whose token is the configured one."""
DEFAULT_TOKEN_TTL: Final = timedelta(days=30)


class Accounts:
    def __init__(self, users: Users, registry: AgentRegistry, *, clock: Clock = utc_now,
                 token_ttl: timedelta = DEFAULT_TOKEN_TTL) -> None:
        self._users = users
        self._registry = registry
        self._clock = clock
        self._token_ttl = token_ttl

    async def user_for_token(self, token: str) -> UserRecord | None:
        """The enabled user holding ``token``, or None; an expired token still names its user (see
        :meth:`expired`), so the caller can be told why it is refused."""
        return await self._users.user_for_token(token)

    def expired(self, user: UserRecord) -> bool:
        """Whether the token ``user`` was found by has expired."""
        return user.token_expires_at is not None and user.token_expires_at <= self._clock()

    def refusal(self, held: UserRecord, now: UserRecord | None) -> str | None:
        """Why whoever authenticated as ``held`` may no longer act, given the user as stored ``now`` (None: gone);
        None if they still may. The words are those an open websocket is closed with."""
        if now is None:
            return "user deleted"
        if now.disabled:
            return "user disabled"
        if now.token_issued_at != held.token_issued_at:
            return "token rotated"
        if self.expired(now):
            return "token expired"
        return None

    async def create_user(self, name: str, role: str, agent_id: str | None = None) -> tuple[UserRecord, str]:
        """A user with a fresh token, returned here and never again."""
        if agent_id is not None and await self._registry.get(agent_id) is None:
            raise NotFound(f"no agent {agent_id!r}", code="agent_not_found", params={"agent_id": agent_id})
        return await self._users.create_user(name, role, agent_id, expires_at=self._clock() + self._token_ttl)

    async def ensure_admin(self, token: str) -> None:
        """The bootstrap administrator, with the token from the settings (idempotent)."""
        await self._users.ensure_user_token(ADMIN_USER, "admin", token)

    async def bound_token_lifetimes(self) -> int:
        """Tokens without an expiry (issued before tokens had one) get the configured lifetime from now, all but
        the bootstrap administrator's; how many did."""
        return await self._users.bound_token_lifetimes(self._clock() + self._token_ttl, keep=ADMIN_USER)

    async def list_users(self) -> list[UserRecord]:
        return await self._users.list_users()

    async def user(self, name: str) -> UserRecord:
        user = await self._users.user_named(name)
        if user is None:
            raise NotFound(f"no user {name!r}", code="user_not_found", params={"name": name})
        return user

    async def set_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord:
        """The queues and teams a supervisor sees (None: all of them)."""
        await self.user(name)
        return await self._users.set_user_scope(name, scope)

    async def rotate_token(self, name: str) -> tuple[UserRecord, str]:
        """A fresh token for ``name``, returned here only; the one it held stops working at once."""
        await self.user(name)
        return await self._users.rotate_token(name, expires_at=self._clock() + self._token_ttl)

    async def set_disabled(self, name: str, disabled: bool, *, by: UserRecord | None = None) -> UserRecord:
        """Disable (or enable again) a user: a disabled user's token stops working; ``by`` may not disable
        themself (an administrator locking themself out is always a mistake)."""
        await self.user(name)
        if disabled and by is not None and by.name == name:
            raise Conflict("you cannot disable your own user; another administrator can", code="self_disable")
        return await self._users.set_user_disabled(name, disabled)

    async def delete_user(self, name: str, *, by: UserRecord | None = None) -> None:
        if by is not None and by.name == name:
            raise Conflict("you cannot delete your own user; another administrator can", code="self_delete")
        if not await self._users.delete_user(name):
            raise NotFound(f"no user {name!r}", code="user_not_found", params={"name": name})
