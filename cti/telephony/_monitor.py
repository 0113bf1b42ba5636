"""Supervisor monitoring of a live call: listen, whisper (coach the agent unheard by the customer), barge.

The supervisor's own phone is rung first (an ARI originate into this app); once it answers:

- *listen*: a snoop on the agent's leg hearing both directions (``spy=both``), bridged with the supervisor;
- *whisper*: the same snoop also speaking into the agent's leg (``whisper=out``): the agent hears the
  supervisor, the customer does not;
- *barge*: the supervisor joins the call's own mixing bridge, heard by both.

Ids: the supervisor's leg is ``<call>-s<n>``, the snoop ``<call>-p<n>``, their bridge ``cti-mon-<call>-<n>``;
so a controller restart (resync) recognises and hangs up monitor legs it no longer tracks, destroys their bridges,
and numbers the call's next monitor past them (Asterisk keeps a destroyed bridge's id taken a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from cti.ari import AriClient, AriError, AriNotFound
from cti.errors import Conflict
from cti.telephony._entries import StasisEntries

_NUMBERED = re.compile(r"^(?:cti-mon-)?(?P<call>[0-9a-f]{32})-[sp]?(?P<n>\d+)$")
SNOOP_ENTRY_TIMEOUT_S = 5.0
"""How long the monitor's bridge waits for its snoop to enter Stasis (it takes milliseconds)."""

__all__ = ["Monitor", "MonitorError", "MonitorMode", "Monitors"]

log = logging.getLogger("cti.telephony.monitor")


class MonitorMode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class MonitorError(Conflict):
    """The monitor cannot start (the call has no agent leg, the supervisor's phone failed)."""


@dataclass(slots=True)
class Monitor:
    monitor_id: str  # = the supervisor leg's channel id
    call_id: str
    mode: MonitorMode
    supervisor: str  # who asked (the API user's name)
    extension: str
    agent_channel_id: str
    call_bridge_id: str
    snoop_id: str
    bridge_id: str
    answered: bool = False


class Monitors:
    def __init__(self, ari: AriClient, *, ring_timeout: int = 30, dial: Callable[[str], str] | None = None) -> None:
        self.ari = ari
        self.dial = dial or (lambda extension: f"PJSIP/{extension}")  # over the trunk if homed on another node
        self.ring_timeout = ring_timeout
        self.active: dict[str, Monitor] = {}
        self._count: dict[str, int] = {}
        self._entering = StasisEntries()  # the monitors' snoops

    async def start(self, call_id: str, agent_channel_id: str, call_bridge_id: str, *, mode: MonitorMode,
                    extension: str, supervisor: str) -> Monitor:
        n = self._count[call_id] = self._count.get(call_id, 0) + 1
        monitor = Monitor(
            monitor_id=f"{call_id}-s{n}", call_id=call_id, mode=mode, supervisor=supervisor, extension=extension,
            agent_channel_id=agent_channel_id, call_bridge_id=call_bridge_id, snoop_id=f"{call_id}-p{n}",
            bridge_id=f"cti-mon-{call_id}-{n}")
        self.active[monitor.monitor_id] = monitor
        try:
            await self.ari.originate(self.dial(extension), app_args=f"supervisor,{call_id}",
                                     channel_id=monitor.monitor_id, caller_id=f'"{mode.value} {call_id[:8]}" <{mode}>',
                                     timeout=self.ring_timeout)
        except AriError as exc:
            self.active.pop(monitor.monitor_id, None)
            raise MonitorError(f"cannot ring the supervisor's phone {extension!r}: {exc}") from exc
        return monitor

    def leftovers(self, bridges: Iterable[str], channels: Iterable[str]) -> list[str]:
        """After a (re)connect: the monitor bridges no monitor of ours holds (a previous controller's), to destroy.
        Every monitor number in use in Asterisk is taken: the call's next monitor gets a higher one."""
        mine = {m.bridge_id for m in self.active.values()}
        stale = [b for b in bridges if b.startswith("cti-mon-") and b not in mine]
        for name in [*stale, *(c for c in channels if re.search(r"-[sp]\d+$", c))]:
            numbered = _NUMBERED.match(name)
            if numbered is not None:
                call_id = numbered["call"]
                self._count[call_id] = max(self._count.get(call_id, 0), int(numbered["n"]))
        return stale

    def is_monitor_leg(self, channel_id: str) -> bool:
        return channel_id in self.active or any(m.snoop_id == channel_id for m in self.active.values())

    async def snoop_entered(self, channel_id: str) -> None:
        """StasisStart of a monitor's snoop: its bridge may take it now. One whose monitor has stopped meanwhile
        (its hang-up came before the snoop existed for ARI) is hung up here, else it would outlive the call."""
        if not self._entering.release(channel_id) and not any(m.snoop_id == channel_id for m in self.active.values()):
            await self._hangup(channel_id)

    async def answered(self, channel_id: str) -> None:
        """The supervisor picked up: connect them to the call as the mode says."""
        monitor = self.active.get(channel_id)
        if monitor is None:
            await self._hangup(channel_id)
            return
        monitor.answered = True
        try:
            if monitor.mode is MonitorMode.BARGE:
                await self.ari.add_channel(monitor.call_bridge_id, monitor.monitor_id)
                return
            # The bridge waits for the snoop to be in Stasis (cti.telephony._entries says why).
            entered = self._entering.expect(monitor.snoop_id)
            try:
                await self.ari.snoop(monitor.agent_channel_id, app_args=f"snoop,{monitor.call_id}",
                                     snoop_id=monitor.snoop_id, spy="both",
                                     whisper="out" if monitor.mode is MonitorMode.WHISPER else "none")
                # Stopped (or its call ended) while a request was under way: what this made after the stop's
                # clean-up would be left in Asterisk, so it is taken down here.
                if self.active.get(monitor.monitor_id) is not monitor:
                    await self._take_down(monitor)
                    return
                await self.ari.create_bridge("mixing", bridge_id=monitor.bridge_id,
                                             name=f"monitor {monitor.call_id}")
                await asyncio.wait_for(entered, SNOOP_ENTRY_TIMEOUT_S)
            except TimeoutError as exc:
                raise AriError(f"the snoop not in Stasis after {SNOOP_ENTRY_TIMEOUT_S:.0f} s") from exc
            finally:
                self._entering.forget(monitor.snoop_id)
            if self.active.get(monitor.monitor_id) is not monitor:
                await self._take_down(monitor)
                return
            await self.ari.add_channel(monitor.bridge_id, [monitor.monitor_id, monitor.snoop_id])
        except AriError as exc:
            # The call ended while the supervisor's phone rang: nothing to listen to.
            log.info("monitor %s of call %s not connected: %s", monitor.monitor_id, monitor.call_id, exc)
            await self.stop(monitor.monitor_id)

    async def leg_gone(self, channel_id: str) -> None:
        """A supervisor or snoop leg left: take the rest of that monitor down."""
        self._entering.gone(channel_id, "ended")  # a snoop gone before it entered: the bridge waits no more
        for monitor in list(self.active.values()):
            if channel_id in (monitor.monitor_id, monitor.snoop_id):
                await self.stop(monitor.monitor_id)

    async def call_ended(self, call_id: str) -> None:
        for monitor in [m for m in self.active.values() if m.call_id == call_id]:
            await self.stop(monitor.monitor_id)
        self._count.pop(call_id, None)

    async def stop(self, monitor_id: str) -> bool:
        monitor = self.active.pop(monitor_id, None)
        if monitor is None:
            return False
        self._entering.release(monitor.snoop_id)  # its connection, waiting for the snoop, finds it gone, cleans up
        await self._take_down(monitor)
        return True

    async def _take_down(self, monitor: Monitor) -> None:
        for channel_id in (monitor.snoop_id, monitor.monitor_id):
            await self._hangup(channel_id)
        with contextlib.suppress(AriError):
            await self.ari.destroy_bridge(monitor.bridge_id)

    async def _hangup(self, channel_id: str) -> None:
        try:
            await self.ari.hangup(channel_id)
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("hangup of monitor leg %s failed: %s", channel_id, exc)
