"""The interaction history as the API shows it: each user sees what the policy lets them reach, and every read
is audited before it is answered (the records hold notes and callers' numbers)."""

from __future__ import annotations

from cti.records import InteractionRecord, UserRecord
from cti.services._audit import AuditTrail
from cti.services._policy import Policy
from cti.services._ports import Interactions

__all__ = ["InteractionHistory"]


class InteractionHistory:
    def __init__(self, interactions: Interactions, policy: Policy, audit: AuditTrail) -> None:
        self._interactions = interactions
        self._policy = policy
        self._audit = audit

    async def list(self, actor: UserRecord, *, source: str, limit: int = 100, agent_id: str | None = None,
                   queue: str | None = None) -> list[InteractionRecord]:
        """Newest first, optionally one agent's or one queue's, always within the actor's reach."""
        reach = self._policy.reach(actor)
        records = [] if reach is not None and not reach.queues and not reach.agents else (
            await self._interactions.list(limit=limit, agent_id=agent_id, queue=queue, within=reach))
        await self._audit.record(actor, "list", "interaction", "*", source=source,
                                 detail={"call_ids": [r.call_id for r in records]})
        return records

    async def get(self, actor: UserRecord, call_id: str, *, source: str) -> InteractionRecord:
        record = await self._policy.interaction(actor, call_id)
        await self._audit.record(actor, "view", "interaction", call_id, source=source)
        return record
