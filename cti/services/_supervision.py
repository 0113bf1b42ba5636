"""Supervisors on live calls: listen, whisper (coach the agent unheard by the customer) and barge, from their
own phone; only on calls in their scope, and each stops only their own."""

from __future__ import annotations

from collections.abc import Sequence

from cti.errors import NotFound
from cti.records import UserRecord
from cti.services._policy import Policy
from cti.services._ports import MonitorInfo, Supervision

__all__ = ["SupervisionService"]


class SupervisionService:
    def __init__(self, policy: Policy, telephony: Supervision) -> None:
        self._policy = policy
        self._telephony = telephony

    async def start_monitor(self, actor: UserRecord, call_id: str, mode: str, extension: str) -> MonitorInfo:
        """Ring the supervisor's phone; once answered they hear (and for whisper and barge, speak into) the call."""
        call = self._policy.call(actor, call_id)  # unknown or outside the scope -> 404
        return await self._telephony.start_monitor(call.call_id, mode, extension, actor.name)

    def monitors(self, actor: UserRecord) -> Sequence[MonitorInfo]:
        """One's own active monitors (an admin: everyone's), oldest first: a reloaded dashboard shows them again.
        A monitor ends with its call (the telephony adapter takes it down then), so none outlives its call."""
        return [m for m in self._telephony.active_monitors() if actor.role == "admin" or m.supervisor == actor.name]

    async def stop_monitor(self, actor: UserRecord, monitor_id: str) -> None:
        """Stop one's own monitor (an admin: anyone's)."""
        monitor = self._telephony.monitor(monitor_id)
        if monitor is None or (actor.role != "admin" and monitor.supervisor != actor.name):
            raise NotFound(f"no monitor {monitor_id!r}", code="monitor_not_found", params={"monitor_id": monitor_id})
        if not await self._telephony.stop_monitor(monitor_id):
            raise NotFound(f"no monitor {monitor_id!r}", code="monitor_not_found", params={"monitor_id": monitor_id})
