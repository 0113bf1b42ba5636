"""The interaction history as the API shows it: agents see their own calls; supervisors and admins all."""

from __future__ import annotations

from cti.errors import NotFound
from cti.records import InteractionRecord, UserRecord
from cti.services._ports import Interactions

__all__ = ["InteractionHistory"]


class InteractionHistory:
    def __init__(self, interactions: Interactions) -> None:
        self._interactions = interactions

    async def list(self, actor: UserRecord, *, limit: int = 100, agent_id: str | None = None,
                   queue: str | None = None) -> list[InteractionRecord]:
        """Newest first, optionally one agent's or one queue's; an agent's request is always their own."""
        if actor.role == "agent":
            agent_id = actor.agent_id
        return await self._interactions.list(limit=limit, agent_id=agent_id, queue=queue)

    async def get(self, actor: UserRecord, call_id: str) -> InteractionRecord:
        record = await self._interactions.get(call_id)
        if record is None or (actor.role == "agent" and record.agent_id != actor.agent_id):
            raise NotFound(f"no interaction {call_id!r}")
        return record
