"""Agents' requests: creating an agent (with their login), their routing profile, logging in and out, going
ready or not. The registry (who the agents are) is in the database; what they are doing now is the
distributor's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cti.acd import Agent, UnknownAgent
from cti.errors import Conflict, InvalidInput
from cti.records import AgentRecord, UserRecord
from cti.services._distributor import Distributor
from cti.services._ports import AgentRegistry, Phones
from cti.services._users import Accounts

__all__ = ["AgentService", "UnknownExtension"]


class UnknownExtension(InvalidInput):
    def __init__(self, extension: str) -> None:
        super().__init__(f"extension {extension!r} is not a PJSIP endpoint on this Asterisk")
        self.extension = extension


class AgentService:
    def __init__(self, distributor: Distributor, registry: AgentRegistry, accounts: Accounts, phones: Phones) -> None:
        self._distributor = distributor
        self._registry = registry
        self._accounts = accounts
        self._phones = phones
        self._desks: dict[str, int] = {}  # agent id -> their own desktops open now

    async def create(self, agent_id: str, name: str, profile: Mapping[str, Any]) -> tuple[Agent, UserRecord, str]:
        """A new agent and their login (a user with the agent role); the token is returned here only."""
        if await self._registry.get(agent_id) is not None:
            raise Conflict(f"agent {agent_id!r} already exists", code="agent_exists", params={"agent_id": agent_id})
        if any(u.name == f"agent-{agent_id}" for u in await self._accounts.list_users()):
            raise Conflict(f"a user named 'agent-{agent_id}' already exists", code="user_exists",
                           params={"name": f"agent-{agent_id}"})
        await self._registry.upsert(AgentRecord(agent_id=agent_id, name=name, profile=dict(profile)))
        user, token = await self._accounts.create_user(f"agent-{agent_id}", "agent", agent_id)
        agent = self._distributor.register_agent(agent_id, name, profile)
        return agent, user, token

    def desk_opened(self, agent_id: str) -> None:
        """The agent opened their own desktop: their wrap-up there ends their after-call work."""
        self._desks[agent_id] = self._desks.get(agent_id, 0) + 1
        self._distributor.set_desk(agent_id, True)

    def desk_closed(self, agent_id: str) -> None:
        """One of the agent's desktops closed; with the last one, calls end as their queue says again."""
        left = self._desks.get(agent_id, 0) - 1
        if left > 0:
            self._desks[agent_id] = left
            return
        self._desks.pop(agent_id, None)
        self._distributor.set_desk(agent_id, False)

    async def enroll(self, agent_id: str, name: str, profile: Mapping[str, Any]) -> Agent:
        """An agent in the registry and the distributor, without a login of their own (the demo, imports); an
        agent already there keeps their state and gets this name and profile."""
        await self._registry.upsert(AgentRecord(agent_id=agent_id, name=name, profile=dict(profile)))
        return self._distributor.register_agent(agent_id, name, profile)

    async def set_profile(self, agent_id: str, profile: Mapping[str, Any]) -> Agent:
        """Replace the agent's routing profile; the next routing decision uses it."""
        current = self._distributor.query.agent(agent_id)  # unknown -> UnknownAgent
        await self._registry.upsert(AgentRecord(agent_id=agent_id, name=current.name, profile=dict(profile)))
        return self._distributor.set_profile(agent_id, profile)

    async def login(self, agent_id: str, extension: str | None, *, ready: bool) -> Agent:
        """Log in at a phone (an endpoint Asterisk knows), or with none for chats only (no call is offered)."""
        if not self._distributor.query.has_agent(agent_id):
            raise UnknownAgent(agent_id)  # before asking Asterisk anything
        if extension is not None and not await self._phones.endpoint_exists(extension):
            raise UnknownExtension(extension)
        return self._distributor.login(agent_id, extension, ready=ready)

    def logout(self, agent_id: str) -> Agent:
        return self._distributor.logout(agent_id)

    def set_state(self, agent_id: str, state: str, reason: str | None = None) -> Agent:
        """``ready``, or ``not_ready`` with a reason (``break`` if none); during a call it applies after it."""
        if state == "ready":
            return self._distributor.set_ready(agent_id)
        return self._distributor.set_not_ready(agent_id, reason or "break")
