"""The call controller: ARI events in, core decisions, ARI requests and persistence out.

Lifecycle of an inbound call (see docs/architecture.md)::

    StasisStart(inbound) -> answer -> queue's holding bridge (music on hold) -> core offers it
    -> originate to the agent's endpoint (ring timeout) -> agent answers: StasisStart(agent)
    -> mixing bridge with caller and agent -> either side hangs up -> the other leg and the bridge go.

Channel operations on one call are serialized by a per-call lock (the caller's hold and connect must not
cross); everything else runs concurrently. Decisions are made by :class:`~cti.calls.CallCenter`, which is
synchronous, so the order of its commands is the order they are queued for persistence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import timedelta
from typing import Any

from cti.acd import (
    Agent,
    AgentChanged,
    Announce,
    Command,
    ConfirmCallback,
    Connect,
    ContactCenter,
    DialCustomer,
    EndReason,
    Hangup,
    Hold,
    Offer,
    Outcome,
    Reject,
    Routing,
    Rules,
    WorkChanged,
    WorkItem,
    WorkState,
    load_rules_file,
    rules_for_service_numbers,
)
from cti.ari import (
    AriClient,
    AriError,
    AriHTTPError,
    AriNotFound,
    ChannelDestroyed,
    ChannelDtmfReceived,
    Event,
    EventStream,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from cti.controller.admission import AdmissionControl
from cti.controller.identity import IdentifyFn, Identity, apply_attributes
from cti.controller.ivr import IvrCall, IvrRunner, PromptSource
from cti.controller.monitor import Monitor, MonitorError, MonitorMode, Monitors
from cti.controller.persistence import StateWriter
from cti.geography import locate
from cti.ivr.announcements import message_text, position_text
from cti.ivr.flow_events import Finished, Transfer
from cti.persistence import AgentRepository, Database
from cti.settings import Settings
from cti.state import LiveStore, LiveStoreError
from cti.types import Clock, utc_now

__all__ = ["CallController", "UnknownExtension", "offer_failure_reason"]

log = logging.getLogger("cti.controller")

# Legs we originate: agents (-a<n>), callbacks (-c<n>), supervisors (-s<n>) and their snoops (-p<n>).
_OUR_LEG = re.compile(r"^[0-9a-f]{32}-[acsp]\d+$")


class UnknownExtension(Exception):
    def __init__(self, extension: str) -> None:
        super().__init__(f"extension {extension!r} is not a PJSIP endpoint on this Asterisk")
        self.extension = extension


def offer_failure_reason(cause: int) -> str:
    """Not-ready reason for an agent whose ringing phone ended with this Q.850 cause."""
    if cause == 17:
        return "busy"
    if cause == 21:
        return "rejected"
    if cause in (0, 16, 18, 19, 31):
        return "no_answer"
    return "unreachable"


def profile_fields(profile: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "skills": {str(k): int(v) for k, v in (profile.get("skills") or {}).items()},
        "languages": list(profile.get("languages") or ()),
        "region": profile.get("region"), "site": profile.get("site"), "team": profile.get("team"),
    }


def load_rules(settings: Settings) -> Rules:
    if settings.routing_rules is not None:
        return load_rules_file(settings.routing_rules)
    return rules_for_service_numbers(settings.queues, settings.default_queue)


def hold_bridge_id(queue: str) -> str:
    return f"cti-hold-{queue}"


def call_bridge_id(call_id: str) -> str:
    return f"cti-call-{call_id}"


class CallController:
    def __init__(
        self,
        settings: Settings,
        ari: AriClient,
        live: LiveStore,
        db: Database,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.ari = ari
        self.live = live
        self.db = db
        self.clock = clock or utc_now
        self.core = ContactCenter(load_rules(settings))
        self.writer = StateWriter(live, db)
        self.stats: Counter[str] = Counter()
        self.events = EventStream(
            settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), settings.ari_app,
            handler=self._on_event, on_connect=self._resync,
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._hold_bridges: set[str] = set()
        # caller channel -> the holding bridge it is in. A call can move queues (overflow) while it waits,
        # so the bridge to take it out of is where we put it, not its queue's now.
        self._held_in: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._events_task: asyncio.Task[None] | None = None
        self._redis_task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._hangup_after: dict[str, str] = {}  # playback id -> channel to hang up when it finishes
        self._announcing: dict[str, str] = {}  # playback id -> caller channel hearing an announcement
        # Told of every command after it is applied (screen pop, live statistics): they must not block
        # and must not raise; an observer's failure is logged, never the call's.
        self.observers: list[Callable[[Command], None]] = []
        # Set by the composition root when a CRM and IVR flows are configured.
        self.identify: IdentifyFn | None = None
        self.ivr: IvrRunner | None = None
        # Spoken prompts (TTS) for callers whose language is known; Asterisk's English prompts otherwise.
        self.prompts: PromptSource | None = None
        self.admission = AdmissionControl(settings.max_call_setups, settings.max_arrival_rate)
        self.monitors = Monitors(ari, ring_timeout=max(1, round(settings.callback_ring_timeout)))

    # -- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        now = self.clock()
        for record in await AgentRepository(self.db).list():
            self.core.add_agent(record.agent_id, record.name)
            if record.profile:
                self.core.set_profile(record.agent_id, now, **profile_fields(record.profile))
        try:
            agents, calls = await self.live.load()
        except LiveStoreError as exc:
            log.error("starting without Redis state: %s", exc)
            agents, calls = [], []
        self.core.restore((a for a in agents if a.agent_id in self.core.agents), calls)
        self.writer.start()
        self._events_task = asyncio.create_task(self.events.run(), name="cti-ari-events")
        self._redis_task = asyncio.create_task(self._redis_guard(), name="cti-redis-guard")
        self._tick_task = asyncio.create_task(self._ticker(), name="cti-routing-tick")

    async def wait_connected(self, timeout: float = 30.0) -> None:
        await self.events.wait_connected(timeout)

    async def close(self) -> None:
        background = (self._tick_task, self._redis_task, self._events_task)
        for task in background:
            if task is not None:
                task.cancel()
        await self.events.stop()
        for task in background:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # Holding bridges are ours; leave those still holding callers for the next controller.
        in_use = set(self._held_in.values())
        for bridge_id in list(self._hold_bridges):
            if bridge_id not in in_use:
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge_id)
        await self.writer.close()

    def reload_rules(self) -> Rules:
        """Read the routing rules again; the next decision uses them. The old rules stay if the new fail."""
        rules = load_rules(self.settings)
        self._apply(self.core.set_rules(rules, self.clock()))
        return rules

    async def _ticker(self) -> None:
        # Escalation steps and wrap-up ends are due at points in time, not at events: look every second.
        # Not while Asterisk is away: offers would fail, and the resync on reconnect dispatches anyway.
        while True:
            await asyncio.sleep(1.0)
            if not self.events.is_connected:
                continue
            try:
                self._apply(self.core.tick(self.clock()))
            except Exception:
                log.exception("routing tick failed; trying again in a second")

    # -- agent requests (the API calls these) ---------------------------------------------------------
    async def register_agent(self, agent_id: str, name: str, profile: Mapping[str, Any] | None = None) -> Agent:
        agent = self.core.add_agent(agent_id, name)
        self._apply([AgentChanged(agent.snapshot())])
        if profile:
            self._apply(self.core.set_profile(agent_id, self.clock(), **profile_fields(profile)))
        return self.core.agent(agent_id).snapshot()

    def set_profile(self, agent_id: str, profile: Mapping[str, Any]) -> Agent:
        """Skills, languages, region, site, team: routing uses them from the next decision on."""
        self._apply(self.core.set_profile(agent_id, self.clock(), **profile_fields(profile)))
        return self.core.agent(agent_id).snapshot()

    async def login(self, agent_id: str, extension: str, *, ready: bool) -> Agent:
        self.core.agent(agent_id)  # unknown agent -> 404 before we ask Asterisk anything
        try:
            await self.ari.request("GET", f"/endpoints/PJSIP/{extension}")
        except AriNotFound as exc:
            raise UnknownExtension(extension) from exc
        self._apply(self.core.login(agent_id, extension, self.clock(), ready=ready))
        return self.core.agent(agent_id).snapshot()

    def set_ready(self, agent_id: str) -> Agent:
        self._apply(self.core.set_ready(agent_id, self.clock()))
        return self.core.agent(agent_id).snapshot()

    def set_not_ready(self, agent_id: str, reason: str) -> Agent:
        self._apply(self.core.set_not_ready(agent_id, reason, self.clock()))
        return self.core.agent(agent_id).snapshot()

    def transfer(self, call_id: str, agent_id: str, *, queue: str | None = None, to_agent: str | None = None,
                 note: str | None = None) -> WorkItem:
        """The call's agent hands it on to ``queue`` or to the ready agent ``to_agent`` (see the core)."""
        self._apply(self.core.transfer(call_id, agent_id, self.clock(), queue=queue, to_agent=to_agent, note=note))
        self.stats["transfers"] += 1
        return self.core.call(call_id).snapshot()

    def logout(self, agent_id: str) -> Agent:
        self._apply(self.core.logout(agent_id, self.clock()))
        return self.core.agent(agent_id).snapshot()

    async def _identify(self, number: str) -> Identity | None:
        if self.identify is None or number == "anonymous":
            return None
        try:
            return await asyncio.wait_for(self.identify(number), 2.0)
        except Exception as exc:  # the CRM being away must not stop calls: route without it
            log.warning("caller %s not identified (%s); routing without the CRM", number, exc)
            return None

    # -- supervisor monitoring (the API calls these) ---------------------------------------------------
    async def monitor(self, call_id: str, mode: MonitorMode, extension: str, supervisor: str) -> Monitor:
        """Ring the supervisor at ``extension`` and, once answered, connect them to the call."""
        call = self.core.call(call_id)  # unknown call -> KeyError -> 404
        if call.state is not WorkState.CONNECTED or call.agent_channel_id is None:
            raise MonitorError(f"call {call_id} is {call.state.value}, not connected to an agent")
        try:
            await self.ari.request("GET", f"/endpoints/PJSIP/{extension}")
        except AriNotFound as exc:
            raise UnknownExtension(extension) from exc
        return await self.monitors.start(call_id, call.agent_channel_id, call_bridge_id(call_id), mode=mode,
                                         extension=extension, supervisor=supervisor)

    # -- events -----------------------------------------------------------------------------------------
    async def _on_event(self, event: Event) -> None:
        self.stats["ari_events"] += 1
        log.debug("event %s for %s", event.type, event.key)
        if isinstance(event, StasisStart):
            await self._on_stasis_start(event)
        elif self.ivr is not None and await self._ivr_event(self.ivr, event):
            pass
        elif isinstance(event, StasisEnd | ChannelDestroyed) and self.monitors.is_monitor_leg(event.channel.id):
            await self.monitors.leg_gone(event.channel.id)
        elif isinstance(event, StasisEnd):
            # Once a channel leaves Stasis, Asterisk sends us nothing more about it (not even
            # ChannelDestroyed), so leaving is the end of that leg for us.
            self._held_in.pop(event.channel.id, None)
            self._apply(self.core.channel_gone(event.channel.id, self.clock()))
        elif isinstance(event, ChannelDtmfReceived):
            self._apply(self.core.dtmf_received(event.channel.id, event.digit, self.clock()))
        elif isinstance(event, PlaybackFinished):
            self.stats["playbacks_failed" if event.playback.state == "failed" else "playbacks_done"] += 1
            self._announcing.pop(event.playback.id, None)
            channel_id = self._hangup_after.pop(event.playback.id, None)
            if channel_id is not None:
                await self._hangup(channel_id)
        elif isinstance(event, ChannelDestroyed):
            # Agent legs that never answered never enter Stasis; their end comes only as this event.
            self._apply(self.core.channel_gone(
                event.channel.id, self.clock(), offer_failure=offer_failure_reason(event.cause)))

    async def _ivr_event(self, ivr: IvrRunner, event: Event) -> bool:
        """Events of callers in the IVR (and of its audio taps) go to the IVR; True if it took the event."""
        if isinstance(event, PlaybackFinished):
            if ivr.owns_playback(event.playback.id):
                await ivr.playback_finished(event.playback.id)
                return True
            return False
        channel = getattr(event, "channel", None)
        if channel is None or not ivr.owns(channel.id):
            return False
        if isinstance(event, ChannelDtmfReceived):
            await ivr.dtmf(channel.id, event.digit)
        elif isinstance(event, StasisEnd | ChannelDestroyed):
            if channel.id in ivr.calls:
                await ivr.caller_gone(channel.id)
            else:
                await ivr.tap_gone(channel.id)
        return True

    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None:
        """The IVR hands the caller to routing, with what it learnt (language, product, problem, customer)."""
        call.attributes.update(transfer.attributes)
        await self._accept(call.channel_id, call.caller_number, call.caller_name, call.service_number,
                           ivr=call, ivr_path=ivr_record(finished, call.played))

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None:
        """The caller was served by the IVR alone, or hung up in it: an interaction row says which."""
        now = self.clock()
        record = WorkItem(call_id=uuid.uuid4().hex, channel_id=call.channel_id, caller_number=_clean_number(
            call.caller_number), caller_name=call.caller_name or None, service_number=call.service_number,
            queue="", arrived_at=now - timedelta(seconds=time.monotonic() - call.started), state=WorkState.ENDED,
            ended_at=now, customer_id=call.customer_id, ivr=ivr_record(finished, call.played))
        apply_attributes(record.routing, call.attributes)
        if finished.outcome == "abandoned_in_ivr":
            record.outcome, record.end_reason = Outcome.ABANDONED, EndReason.CALLER_HANGUP
        else:
            record.outcome, record.end_reason = Outcome.SELF_SERVICE, EndReason.IVR_COMPLETED
        self.stats[f"ivr_{record.outcome.value}"] += 1
        self.writer.call_changed(record)

    async def _on_stasis_start(self, event: StasisStart) -> None:
        kind = event.args[0] if event.args else ""
        channel = event.channel
        if kind == "agent":
            self._apply(self.core.offer_answered(channel.id, self.clock()))
        elif kind == "customer":
            self._apply(self.core.customer_answered(channel.id, self.clock()))
        elif kind == "supervisor":
            await self.monitors.answered(channel.id)
        elif kind == "inbound":
            service = event.args[1] if len(event.args) > 1 else channel.dialplan_exten
            flow = self.ivr.flow_for(service) if self.ivr is not None else None
            if self.ivr is not None and flow is not None:
                await self.ivr.start(channel.id, channel.caller_number, channel.caller_name, service, flow)
            else:
                await self._accept(channel.id, channel.caller_number, channel.caller_name, service)
        elif self.ivr is not None and self.ivr.tap_entered(channel.id):
            pass  # a snoop or media channel of an IVR caller's audio tap: only now can it join the tap's bridge
        else:
            # Not a call we route (a helper channel of ours or something unexpected): leave it alone.
            log.debug("ignoring StasisStart for %s with args %s", channel.id, event.args)

    async def _accept(self, channel_id: str, number: str, name: str | None, service: str, *,
                      ivr: IvrCall | None = None, ivr_path: Mapping[str, Any] | None = None) -> None:
        caller = _clean_number(number)
        where = locate(caller)
        call = WorkItem(
            call_id=uuid.uuid4().hex, channel_id=channel_id, caller_number=caller,
            caller_name=name or None, service_number=service, queue="", arrived_at=self.clock(),
            routing=Routing(region=where.region, country=where.country),
        )
        if ivr is not None:
            call.customer_id, call.ivr = ivr.customer_id, dict(ivr_path or {})
            apply_attributes(call.routing, ivr.attributes)
        elif self.identify is not None:
            # No IVR: who the caller is still decides routing (value tier, a mobile caller's region).
            identity = await self._identify(caller)
            if identity is not None:
                call.customer_id = identity.customer_id
                apply_attributes(call.routing, identity.attributes)
        self.stats["calls_arrived"] += 1
        admission = self.admission.admit(time.monotonic())
        if not admission.admitted:
            await self._shed(call, admission.reason)
            return
        try:
            await self._queue_caller(call)
        finally:
            self.admission.done()

    async def _shed(self, call: WorkItem, why: str) -> None:
        """Overload: congestion (SIP 503) before answering, and a record that says so."""
        self.stats["calls_shed"] += 1
        log.warning("overload (%s): turning away call from %s on %s", why, call.caller_number, call.service_number)
        with contextlib.suppress(AriError):
            await self.ari.hangup(call.channel_id, reason="congestion")
        call.state, call.outcome, call.end_reason = WorkState.ENDED, Outcome.REJECTED, EndReason.OVERLOAD
        call.ended_at = self.clock()
        self.writer.call_changed(call)

    async def _queue_caller(self, call: WorkItem) -> None:
        channel_id = call.channel_id
        async with self._lock(call.call_id):
            self._apply(self.core.call_arrived(call, self.clock()))
            if call.call_id not in self.core.calls:
                return  # not queued (rejected): Reject plays the message and hangs up
            try:
                await self.ari.answer(channel_id)
                bridge_id = await self._ensure_hold_bridge(call.queue)
                if call.call_id in self.core.calls:  # still live: hold it while agents ring
                    await self.ari.add_channel(bridge_id, channel_id)
                    self._held_in[channel_id] = bridge_id
            except AriError as exc:
                # The caller hung up in the meantime; ChannelDestroyed ends the call.
                log.info("call %s: could not put caller on hold: %s", call.call_id, exc)

    # -- commands ---------------------------------------------------------------------------------------
    def _apply(self, commands: Iterable[Command]) -> None:
        """Queue persistence in the core's order; run channel actions concurrently."""
        for command in commands:
            if isinstance(command, AgentChanged):
                self.writer.agent_changed(command.agent)
            elif isinstance(command, WorkChanged):
                self.writer.call_changed(command.item)
                if command.item.state is WorkState.ENDED:
                    self._count_end(command.item)
                    self._spawn(self._cleanup_call(command.item))
            elif isinstance(command, Offer):
                self.stats["offers"] += 1
                self._spawn(self._offer(command))
            elif isinstance(command, Connect):
                self._spawn(self._connect(command))
            elif isinstance(command, Hangup):
                self._spawn(self._hangup(command.channel_id))
            elif isinstance(command, Hold):
                self._spawn(self._hold(command))
            elif isinstance(command, Reject | ConfirmCallback):
                self._spawn(self._play_then_hangup(command.call_id, command.channel_id, command.message))
            elif isinstance(command, DialCustomer):
                self._spawn(self._dial_customer(command))
            elif isinstance(command, Announce):
                self._spawn(self._announce(command))
            for observer in self.observers:
                try:
                    observer(command)
                except Exception:
                    log.exception("observer %r failed on %s", observer, type(command).__name__)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _offer(self, offer: Offer) -> None:
        caller_id = f'"{offer.caller_name or offer.caller_number}" <{offer.caller_number}>'
        try:
            await self.ari.originate(
                f"PJSIP/{offer.extension}",
                app_args=f"agent,{offer.call_id}",
                channel_id=offer.agent_channel_id,
                caller_id=caller_id,
                timeout=max(1, round(self.settings.ring_timeout)),
                originator=offer.caller_channel_id,
            )
        except AriError as exc:
            # Whose fault? The caller may hang up while we dial; Asterisk may be overloaded (5xx, timeouts):
            # the agent's phone is not at fault then. Only what Asterisk says of the endpoint counts.
            caller_gone = isinstance(exc, AriHTTPError) and exc.status == 400 and "originator" in exc.message.lower()
            system = not caller_gone and not (isinstance(exc, AriHTTPError) and 400 <= exc.status < 500)
            if not caller_gone:
                log.warning("offer of call %s to %s failed: %s", offer.call_id, offer.agent_id, exc)
                self.stats["offers_failed"] += 1
            agent_fault = not (caller_gone or system)
            self._apply(self.core.channel_gone(
                offer.agent_channel_id, self.clock(), offer_failure="unreachable" if agent_fault else None,
                system_fault=system))

    async def _connect(self, connect: Connect) -> None:
        bridge_id = call_bridge_id(connect.call_id)
        async with self._lock(connect.call_id):
            try:
                await self.ari.create_bridge("mixing", bridge_id=bridge_id, name=f"call {connect.call_id}")
                held = self._held_in.pop(connect.caller_channel_id, None)
                if held is not None:
                    with contextlib.suppress(AriHTTPError):
                        await self.ari.remove_channel(held, connect.caller_channel_id)
                await self.ari.add_channel(bridge_id, [connect.caller_channel_id, connect.agent_channel_id])
                self.stats["calls_bridged"] += 1
            except AriError as exc:
                # One side vanished while we bridged: the call never connected. Record it so and hang up.
                log.info("call %s: bridging failed (%s); tearing down", connect.call_id, exc)
                self.stats["bridges_failed"] += 1
                self._apply(self.core.bridge_failed(connect.call_id, self.clock()))

    async def _hold(self, hold: Hold) -> None:
        """A transferred caller leaves the call's bridge (it is destroyed; the next agent's answer makes it
        again) for the holding bridge of the queue, with its music, until the next agent answers."""
        async with self._lock(hold.call_id):
            with contextlib.suppress(AriNotFound):
                try:
                    await self.ari.destroy_bridge(call_bridge_id(hold.call_id))
                except AriError as exc:
                    log.warning("call %s: bridge not destroyed for the transfer: %s", hold.call_id, exc)
            try:
                bridge_id = await self._ensure_hold_bridge(hold.queue)
                call = self.core.calls.get(hold.call_id)
                if call is not None and call.state in (WorkState.WAITING, WorkState.RINGING):
                    await self.ari.add_channel(bridge_id, hold.channel_id)
                    self._held_in[hold.channel_id] = bridge_id
            except AriError as exc:
                # The caller hung up meanwhile; their StasisEnd ends the call.
                log.info("call %s: could not hold the transferred caller: %s", hold.call_id, exc)

    async def _spoken(self, call_id: str) -> str | None:
        """The caller's language if cti can speak to them in it (TTS and a known language)."""
        call = self.core.calls.get(call_id)
        language = call.routing.language if call is not None else None
        return language if self.prompts is not None and language in ("id", "en") else None

    async def _play_then_hangup(self, call_id: str, channel_id: str, message: str) -> None:
        """Say something to the caller (a closing message, a callback confirmation), then hang up."""
        playback_id = f"{call_id}-bye-{uuid.uuid4().hex[:8]}"
        self._hangup_after[playback_id] = channel_id
        try:
            media = f"sound:{message}"
            language = await self._spoken(call_id)
            text = message_text(message, "en" if language == "en" else "id") if language else None
            if text is not None and self.prompts is not None and language is not None:
                media = await self.prompts.media(text, language)
            await self.ari.answer(channel_id)
            await self.ari.play(channel_id, media, playback_id=playback_id)
        except AriError as exc:
            log.info("call %s: could not play %s: %s", call_id, message, exc)
            self._hangup_after.pop(playback_id, None)
            await self._hangup(channel_id)

    async def _dial_customer(self, dial: DialCustomer) -> None:
        # The agent hears ringing while the customer's phone rings.
        with contextlib.suppress(AriError):
            await self.ari.ring(dial.agent_channel_id)
        try:
            await self.ari.originate(
                f"PJSIP/{dial.number.lstrip('+')}@pstn",
                app_args=f"customer,{dial.call_id}",
                channel_id=dial.customer_channel_id,
                caller_id=dial.service_number,
                timeout=max(1, round(self.settings.callback_ring_timeout)),
            )
            self.stats["callbacks_dialed"] += 1
        except AriError as exc:
            log.warning("call %s: callback to %s failed: %s", dial.call_id, dial.number, exc)
            self._apply(self.core.channel_gone(dial.customer_channel_id, self.clock()))

    async def _announce(self, announce: Announce) -> None:
        # Played to the caller's channel, over the holding bridge's music. Prompts can outlast a short
        # interval: one still playing means this one is skipped rather than queued behind it.
        if announce.channel_id in self._announcing.values():
            return
        playback_id = f"{announce.call_id}-ann-{uuid.uuid4().hex[:8]}"
        self._announcing[playback_id] = announce.channel_id
        try:
            media, language = list(announce.media), announce.language
            spoken = await self._spoken(announce.call_id)
            call = self.core.calls.get(announce.call_id)
            if spoken is not None and call is not None and self.prompts is not None:
                now = self.clock()
                position = self.core.position(call, now)
                text = position_text(position, self.core.estimated_wait(call.queue, position),
                                     "en" if spoken == "en" else "id")
                media, language = [await self.prompts.media(text, spoken)], spoken
            await self.ari.play(announce.channel_id, media, lang=language, playback_id=playback_id)
            self.stats["announcements"] += 1
        except AriError as exc:
            self._announcing.pop(playback_id, None)
            log.info("call %s: announcement not played: %s", announce.call_id, exc)

    async def _hangup(self, channel_id: str) -> None:
        try:
            await self.ari.hangup(channel_id)
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("hangup of %s failed: %s", channel_id, exc)

    async def _cleanup_call(self, call: WorkItem) -> None:
        await self.monitors.call_ended(call.call_id)
        # A caller who hangs up mid-announcement never gets a PlaybackFinished (no events after StasisEnd).
        for playback_id in [p for p, channel in self._announcing.items() if channel == call.channel_id]:
            del self._announcing[playback_id]
        async with self._lock(call.call_id):
            if call.answered_at is not None:
                with contextlib.suppress(AriNotFound):
                    try:
                        await self.ari.destroy_bridge(call_bridge_id(call.call_id))
                    except AriError as exc:
                        log.warning("call %s: bridge not destroyed: %s", call.call_id, exc)
        self._locks.pop(call.call_id, None)

    def _count_end(self, call: WorkItem) -> None:
        self.stats[f"calls_{call.outcome.value if call.outcome else 'ended'}"] += 1

    def _lock(self, call_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_id)
        if lock is None:
            lock = self._locks[call_id] = asyncio.Lock()
        return lock

    async def _ensure_hold_bridge(self, queue: str) -> str:
        bridge_id = hold_bridge_id(queue)
        if bridge_id not in self._hold_bridges:
            # Creating with a fixed id is idempotent in ARI, so this also adopts the bridge after a restart.
            await self.ari.create_bridge("holding", bridge_id=bridge_id, name=f"hold {queue}")
            await self.ari.start_bridge_moh(bridge_id, "default")
            self._hold_bridges.add(bridge_id)
        return bridge_id

    async def _write_live_picture(self) -> None:
        await self.live.resync((a.snapshot() for a in self.core.agents.values()),
                               (c.snapshot() for c in self.core.calls.values()))

    # -- resync after (re)connecting ----------------------------------------------------------------------
    async def _resync(self) -> None:
        """Asterisk dropped our events while we were away: reconcile the core with what exists now."""
        self.stats["ari_resyncs"] += 1
        self._hold_bridges.clear()
        self._held_in.clear()
        channels = {c.id: c for c in await self.ari.list_channels()}
        now = self.clock()
        for call in list(self.core.calls.values()):
            if call.callback and not call.caller_present and call.state in (WorkState.WAITING, WorkState.RINGING):
                pass  # the caller hung up on purpose and waits for our callback: no channel to find
            elif call.channel_id not in channels:
                self._apply(self.core.call_lost(call.call_id, now))
                continue
            leg = call.agent_channel_id
            if leg is None:
                continue
            if leg not in channels:
                self._apply(self.core.channel_gone(leg, now))
            elif call.state is WorkState.RINGING and channels[leg].state == "Up":
                self._apply(self.core.offer_answered(leg, now))
        known = {c.channel_id for c in self.core.calls.values()}
        known |= {c.agent_channel_id for c in self.core.calls.values() if c.agent_channel_id}
        known |= {leg for m in self.monitors.active.values() for leg in (m.monitor_id, m.snoop_id)}
        for channel_id in channels:
            if _OUR_LEG.match(channel_id) and channel_id not in known:
                await self._hangup(channel_id)
        for bridge in await self.ari.list_bridges():
            if bridge.id.startswith("cti-call-") and bridge.id[len("cti-call-"):] not in self.core.calls:
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge.id)
            elif bridge.id.startswith("cti-hold-"):
                self._hold_bridges.add(bridge.id)
                self._held_in.update(dict.fromkeys(bridge.channels, bridge.id))
        await self._write_live_picture()
        self._apply(self.core.dispatch(self.clock()))

    async def _redis_guard(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if not self.live.dirty:
                continue
            try:
                await self._write_live_picture()
            except Exception:
                log.exception("Redis resync failed unexpectedly; trying again in a second")

    async def drain(self) -> None:
        """Wait for in-flight actions and writes (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.writer.flush()


def ivr_record(finished: Finished, played: list[str]) -> dict[str, Any]:
    """The IVR's part of the interaction: flow, outcome, language, attributes set, the path taken and the
    last prompts the caller heard (self-service answers among them)."""
    return {"flow": finished.flow, "outcome": finished.outcome, "reason": finished.reason,
            "language": finished.language, "attributes": dict(finished.attributes),
            "path": [entry.as_json() for entry in finished.path], "prompts": played[-20:]}


def _clean_number(number: str | None) -> str:
    """Caller numbers arrive as whatever the network sent; keep digits and a leading '+', nothing else."""
    number = (number or "").strip()
    digits = "".join(ch for ch in number if ch.isdigit())
    if not digits:
        return "anonymous"
    return ("+" if number.startswith("+") else "") + digits[:32]
