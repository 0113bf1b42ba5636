"""Several Asterisk media nodes under one contact center (docs/scaling.md#several-media-nodes).

Each node has its own ARI client, :class:`Telephony` (its events, its resync), :class:`VoiceActions`, :class:`Monitors`,
recorder and IVR, all feeding the one distributor: routing stays global. A call lives on the node it arrived on
(``WorkItem.node``): every leg of it is made there, an agent whose phone is homed on another node over the trunk
(``PJSIP/<ext>@node-<home>``); an agent's outbound call lives on their home node. What is here:

- :class:`PhoneHomes`: which node each phone is homed on, learnt from each node's PJSIP endpoints;
- :class:`VoiceRouter`: the handler table's voice entries, each command to the actions of its call's node;
- :class:`RoutedRecorder`: a call's recording on its node;
- :class:`MediaNodes`: the nodes as one telephony adapter for the services (logins, supervision, status), the
  routing tick, and a node's death (its calls lost, its homed agents not ready).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cti.acd import (
    AgentState,
    Announce,
    ConfirmCallback,
    Connect,
    DialCustomer,
    DialExternal,
    HandOff,
    Hangup,
    Hold,
    HoldCall,
    JoinCall,
    MuteAgent,
    NotReadyReason,
    Offer,
    RefuseCallback,
    Reject,
    ResumeCall,
    SendDtmf,
    WorkChanged,
    WorkItem,
    WorkState,
)
from cti.ari import AriClient, AriError, AriNotFound
from cti.errors import CtiError
from cti.services import CenterView, Distributor, UnknownExtension
from cti.telephony._actions import VoiceActions, call_bridge_id
from cti.telephony._admission import AdmissionControl
from cti.telephony._monitor import Monitor, MonitorError, MonitorMode
from cti.telephony._recorder import BridgeRecorder
from cti.telephony._telephony import ROUTING_TICK_SECONDS, Telephony

__all__ = ["MediaNodes", "PhoneHomes", "RoutedRecorder", "VoiceRouter", "list_endpoints", "trunk_endpoint"]

log = logging.getLogger("cti.telephony.nodes")

_ENDED_KEPT = 10_000  # ended calls whose node is remembered, for commands that follow their end


def trunk_endpoint(node: str) -> str:
    """The PJSIP endpoint of the trunk to ``node`` on every other node (cti/topology renders them so)."""
    return f"node-{node}"


class PhoneHomes:
    """Which node each phone is homed on: the first node, in the settings' order, that defines its PJSIP endpoint.

    Learnt from each node's endpoints when it (re)connects and from the look-up at an agent's login; nothing to
    configure, and a phone moved to another node is found there at the next login or reconnect."""

    def __init__(self, order: Sequence[str]) -> None:
        self.order = tuple(order)
        self._defined: dict[str, set[str]] = {node: set() for node in self.order}

    def learn(self, node: str, endpoints: Iterable[str]) -> None:
        """Every PJSIP endpoint ``node`` defines now."""
        self._defined[node] = set(endpoints)

    def found(self, node: str, extension: str, present: bool = True) -> None:
        """``node`` does (or does not) define ``extension``."""
        if present:
            self._defined[node].add(extension)
        else:
            self._defined[node].discard(extension)

    def home(self, extension: str) -> str | None:
        return next((node for node in self.order if extension in self._defined[node]), None)

    def homed_on(self, node: str) -> set[str]:
        return {ext for ext in self._defined[node] if self.home(ext) == node}

    def dial(self, node: str, extension: str) -> str:
        """The dial string of ``extension``'s phone from ``node``: its own endpoint, or over the trunk to its home
        (a phone whose home is not known yet is dialled as a local one: it fails there if it is not)."""
        home = self.home(extension)
        if home is None or home == node:
            return f"PJSIP/{extension}"
        return f"PJSIP/{extension}@{trunk_endpoint(home)}"


class VoiceRouter:
    """The handler table's entries for voice: each command to the :class:`VoiceActions` of the node its call lives
    on (a call with no node, from before there were several, lives on the first)."""

    def __init__(self, actions: Mapping[str, VoiceActions], query: CenterView) -> None:
        self.actions = dict(actions)
        self.default = next(iter(self.actions))
        self.query = query
        self._live: dict[str, str] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()

    def learn(self, calls: Iterable[WorkItem]) -> None:
        """The live calls a previous controller left (their nodes from the live state)."""
        for call in calls:
            self._live[call.call_id] = call.node or self.default

    def node_of(self, call_id: str) -> str:
        node = self._live.get(call_id) or self._ended.get(call_id)
        if node is None:
            call = self.query.find_call(call_id)
            node = call.node if call is not None and call.node else self.default
        return node

    def calls_of(self, node: str) -> set[str]:
        """The live voice calls living on ``node``."""
        return {c.call_id for c in self.query.calls() if (c.node or self.default) == node}

    def _to(self, call_id: str) -> VoiceActions:
        return self.actions.get(self.node_of(call_id)) or self.actions[self.default]

    # -- the handler table's entries ------------------------------------------------------------------------------
    def offer(self, offer: Offer, distributor: Distributor) -> None:
        self._to(offer.call_id).offer(offer, distributor)

    def connect(self, connect: Connect, distributor: Distributor) -> None:
        self._to(connect.call_id).connect(connect, distributor)

    def hangup(self, hangup: Hangup, distributor: Distributor) -> None:
        if hangup.call_id is not None:
            self._to(hangup.call_id).hangup(hangup, distributor)
            return
        for actions in self.actions.values():  # a leg of no known call: wherever it is (elsewhere: not found)
            actions.hangup(hangup, distributor)

    def hold(self, hold: Hold, distributor: Distributor) -> None:
        self._to(hold.call_id).hold(hold, distributor)

    def hold_call(self, hold: HoldCall, distributor: Distributor) -> None:
        self._to(hold.call_id).hold_call(hold, distributor)

    def resume_call(self, resume: ResumeCall, distributor: Distributor) -> None:
        self._to(resume.call_id).resume_call(resume, distributor)

    def mute_agent(self, mute: MuteAgent, distributor: Distributor) -> None:
        self._to(mute.call_id).mute_agent(mute, distributor)

    def send_dtmf(self, dtmf: SendDtmf, distributor: Distributor) -> None:
        self._to(dtmf.call_id).send_dtmf(dtmf, distributor)

    def dial_external(self, dial: DialExternal, distributor: Distributor) -> None:
        self._to(dial.call_id).dial_external(dial, distributor)

    def join_call(self, join: JoinCall, distributor: Distributor) -> None:
        self._to(join.call_id).join_call(join, distributor)

    def hand_off(self, hand_off: HandOff, distributor: Distributor) -> None:
        self._to(hand_off.call_id).hand_off(hand_off, distributor)

    def reject(self, reject: Reject, distributor: Distributor) -> None:
        self._to(reject.call_id).reject(reject, distributor)

    def confirm_callback(self, confirm: ConfirmCallback, distributor: Distributor) -> None:
        self._to(confirm.call_id).confirm_callback(confirm, distributor)

    def refuse_callback(self, refuse: RefuseCallback, distributor: Distributor) -> None:
        self._to(refuse.call_id).refuse_callback(refuse, distributor)

    def dial_customer(self, dial: DialCustomer, distributor: Distributor) -> None:
        self._to(dial.call_id).dial_customer(dial, distributor)

    def announce(self, announce: Announce, distributor: Distributor) -> None:
        self._to(announce.call_id).announce(announce, distributor)

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        call = changed.item
        node = call.node if call.node in self.actions else self.node_of(call.call_id)
        assert node is not None
        if call.state is WorkState.ENDED:
            self._live.pop(call.call_id, None)
            # Commands may still follow a call's end in the same step (the other leg's hang-up).
            self._ended[call.call_id] = node
            while len(self._ended) > _ENDED_KEPT:
                self._ended.popitem(last=False)
        else:
            self._live[call.call_id] = node
        self.actions[node].work_changed(changed, distributor)

    async def drain(self) -> None:
        for actions in self.actions.values():
            await actions.drain()


class RoutedRecorder:
    """A call's recording, made by its node (the bridge is there); the later steps go where it started."""

    def __init__(self, recorders: Mapping[str, BridgeRecorder], router: VoiceRouter) -> None:
        self.recorders = dict(recorders)
        self.router = router
        self._by_name: dict[str, str] = {}

    def _of(self, name: str) -> BridgeRecorder:
        return self.recorders[self._by_name.get(name, self.router.default)]

    async def start(self, name: str, call_id: str, *, format: str, announcement: str | None) -> None:
        node = self.router.node_of(call_id)
        self._by_name[name] = node
        await self.recorders[node].start(name, call_id, format=format, announcement=announcement)

    async def pause(self, name: str) -> None:
        await self._of(name).pause(name)

    async def resume(self, name: str, *, call_id: str, announcement: str | None) -> None:
        await self._of(name).resume(name, call_id=call_id, announcement=announcement)

    async def finish(self, name: str) -> bytes | None:
        recorder = self._of(name)
        self._by_name.pop(name, None)
        return await recorder.finish(name)


class MediaNodes:
    """The nodes as one telephony adapter: agents' logins find their phone's home, supervisors reach the call's node,
    the routing tick runs once for all, and a node away longer than ``dead_after`` seconds is declared dead."""

    def __init__(self, telephonies: Mapping[str, Telephony], homes: PhoneHomes, router: VoiceRouter,
                 distributor: Distributor, *, dead_after: float) -> None:
        self.nodes = dict(telephonies)
        self.homes = homes
        self.router = router
        self.distributor = distributor
        self.dead_after = dead_after
        self.dead: set[str] = set()
        self._away_since: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._legs: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        now = time.monotonic()
        for name, telephony in self.nodes.items():
            self._away_since[name] = now  # not seen yet: dead if it never answers within dead_after
            telephony.start()
        self._tasks = [asyncio.create_task(self._ticker(), name="cti-nodes-tick")]

    async def learn_homes(self) -> None:
        """Where each phone is homed, from every node answering now (before the first decision; each node's resync
        learns its own again)."""
        for name, telephony in self.nodes.items():
            try:
                self.homes.learn(name, await list_endpoints(telephony.ari))
            except AriError as exc:
                log.warning("node %s did not list its phones: %s", name, exc)

    async def wait_connected(self, timeout: float = 30.0) -> None:
        await asyncio.gather(*(t.wait_connected(timeout) for t in self.nodes.values()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for telephony in self.nodes.values():
            await telephony.close()

    async def drain(self) -> None:
        for telephony in self.nodes.values():
            await telephony.drain()

    @property
    def is_connected(self) -> bool:
        """Calls can be served while any node is connected (one node away is a degraded cluster, not a dead cti)."""
        return any(t.is_connected for t in self.nodes.values())

    def connected(self) -> dict[str, bool]:
        return {name: t.is_connected for name, t in self.nodes.items()}

    @property
    def reconnects(self) -> int:
        return sum(t.reconnects for t in self.nodes.values())

    @property
    def admission(self) -> AdmissionControl:
        return next(iter(self.nodes.values())).admission  # one for all the nodes: cti's own capacity

    async def _ticker(self) -> None:
        # The routing tick, once for all the nodes (each notes its own sight), while any node is there.
        while True:
            await asyncio.sleep(ROUTING_TICK_SECONDS)
            self.watch(time.monotonic())
            if not self.is_connected:
                continue
            try:
                self.distributor.tick()
            except Exception:
                log.exception("routing tick failed; trying again at the next tick")

    # -- a node's death -------------------------------------------------------------------------------------------
    def watch(self, now: float) -> None:
        """Declare dead each node away longer than ``dead_after`` (once per absence)."""
        for name, telephony in self.nodes.items():
            if telephony.is_connected:
                self._away_since.pop(name, None)
                self.dead.discard(name)
                continue
            since = self._away_since.setdefault(name, now)
            if name not in self.dead and now - since >= self.dead_after:
                self.dead.add(name)
                self.declare_dead(name, telephony.last_seen)

    def declare_dead(self, node: str, last_seen: datetime | None) -> None:
        """The node's calls are lost with their media (ended when it was last seen). Its homed agents cannot take
        calls: not ready (unreachable; after the call they are on, if any), not left ready for offers that would
        fail. Every other node's channels over the trunk to it are hung up."""
        calls = self.router.calls_of(node)
        log.error("media node %s is away: %d calls lost, its agents made not ready", node, len(calls))
        self.distributor.reconcile({}, lost_at=last_seen, calls=calls)
        homed = self.homes.homed_on(node)
        for agent in self.distributor.query.agents():
            if agent.extension not in homed or agent.state in (AgentState.LOGGED_OUT, AgentState.NOT_READY):
                continue
            try:
                self.distributor.set_not_ready(agent.agent_id, NotReadyReason.UNREACHABLE.value)
            except CtiError as exc:
                log.warning("agent %s homed on %s stays %s: %s", agent.agent_id, node, agent.state.value, exc)
        for name, telephony in self.nodes.items():
            if name != node and telephony.is_connected:
                self._spawn(self._cut_trunk(telephony, node))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._legs.add(task)
        task.add_done_callback(self._legs.discard)

    async def _cut_trunk(self, telephony: Telephony, dead: str) -> None:
        """Hang up ``telephony``'s node's channels over the trunk to the dead node: cti's legs to phones homed there
        (their StasisEnd frees the call as any hang-up does) and the dialplan's legs of the dead node's calls to
        phones homed here. A dead peer sends no BYE: the caller or the phone would hear silence until the media
        timed out."""
        prefix = f"PJSIP/{trunk_endpoint(dead)}-"
        try:
            channels = await telephony.ari.list_channels()
        except AriError as exc:
            log.warning("the trunk to dead node %s not cleared: %s", dead, exc)
            return
        for channel in channels:
            if channel.name.startswith(prefix):
                await telephony.actions.hangup_leg(channel.id)

    # -- requests of the services ---------------------------------------------------------------------------------
    async def endpoint_exists(self, extension: str) -> bool:
        """Is ``extension`` a phone of any node? Asked of each connected node in order; the answer is its home."""
        exists = False
        for name, telephony in self.nodes.items():
            if not telephony.is_connected:
                continue
            try:
                here = await telephony.endpoint_exists(extension)
            except AriError as exc:
                log.warning("node %s did not say whether phone %s is there: %s", name, extension, exc)
                continue
            self.homes.found(name, extension, here)
            exists = exists or here
        return exists

    async def start_monitor(self, call_id: str, mode: str, extension: str, supervisor: str) -> Monitor:
        """The supervisor's phone rung from the call's node (over the trunk if homed elsewhere); the snoop or the
        barge there, where the call's legs are."""
        call = self.distributor.query.call(call_id)
        if call.state is not WorkState.CONNECTED or call.agent_channel_id is None:
            raise MonitorError(f"call {call_id} is {call.state.value}, not connected to an agent")
        if not await self.endpoint_exists(extension):
            raise UnknownExtension(extension)
        monitors = self.nodes[self.router.node_of(call_id)].monitors
        return await monitors.start(call_id, call.agent_channel_id, call_bridge_id(call_id, call.connections),
                                    mode=MonitorMode(mode), extension=extension, supervisor=supervisor)

    async def stop_monitor(self, monitor_id: str) -> bool:
        for telephony in self.nodes.values():
            if monitor_id in telephony.monitors.active:
                return await telephony.monitors.stop(monitor_id)
        return False

    def monitor(self, monitor_id: str) -> Monitor | None:
        return next((t.monitors.active[monitor_id] for t in self.nodes.values() if monitor_id in t.monitors.active),
                    None)

    def active_monitors(self) -> list[Monitor]:
        return [m for t in self.nodes.values() for m in t.monitors.active.values()]


async def list_endpoints(ari: AriClient) -> list[str]:
    """The PJSIP endpoints ``ari``'s node defines (its phones and trunks)."""
    try:
        found = await ari.request("GET", "/endpoints/PJSIP")
    except AriNotFound:
        return []
    return [str(e["resource"]) for e in found or () if isinstance(e, dict) and "resource" in e]
