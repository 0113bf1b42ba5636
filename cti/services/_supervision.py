"""Supervisors on live calls: listen, whisper (coach the agent unheard by the customer) and barge, from their
own phone; only on calls of the queues in their scope."""

from __future__ import annotations

from cti.errors import NotFound
from cti.records import UserRecord
from cti.services._ports import MonitorInfo, Supervision
from cti.services._query import CenterView
from cti.services._scope import require_queue

__all__ = ["SupervisionService"]


class SupervisionService:
    def __init__(self, query: CenterView, telephony: Supervision) -> None:
        self._query = query
        self._telephony = telephony

    async def start_monitor(self, actor: UserRecord, call_id: str, mode: str, extension: str) -> MonitorInfo:
        """Ring the supervisor's phone; once answered they hear (and for whisper and barge, speak into) the call."""
        call = self._query.call(call_id)  # unknown -> 404
        require_queue(actor, call.queue)
        return await self._telephony.start_monitor(call.call_id, mode, extension, actor.name)

    async def stop_monitor(self, monitor_id: str) -> None:
        if not await self._telephony.stop_monitor(monitor_id):
            raise NotFound(f"no monitor {monitor_id!r}")
