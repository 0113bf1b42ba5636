"""API users: who may call cti (a bearer token, stored only as its hash), in which role, and a supervisor's
scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cti.errors import NotFound
from cti.records import UserRecord
from cti.services._ports import AgentRegistry, Users

__all__ = ["Accounts"]


class Accounts:
    def __init__(self, users: Users, registry: AgentRegistry) -> None:
        self._users = users
        self._registry = registry

    async def user_for_token(self, token: str) -> UserRecord | None:
        """The enabled user holding ``token``, or None."""
        return await self._users.user_for_token(token)

    async def create_user(self, name: str, role: str, agent_id: str | None = None) -> tuple[UserRecord, str]:
        """A user with a fresh token, returned here and never again."""
        if agent_id is not None and await self._registry.get(agent_id) is None:
            raise NotFound(f"no agent {agent_id!r}")
        return await self._users.create_user(name, role, agent_id)

    async def ensure_admin(self, token: str) -> None:
        """The bootstrap administrator, with the token from the settings (idempotent)."""
        await self._users.ensure_user_token("admin", "admin", token)

    async def list_users(self) -> list[UserRecord]:
        return await self._users.list_users()

    async def set_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord:
        """The queues and teams a supervisor sees (None: all of them)."""
        if name not in {u.name for u in await self._users.list_users()}:
            raise NotFound(f"no user {name!r}")
        return await self._users.set_user_scope(name, scope)
