"""The voice channel over ARI: Asterisk's events in, to the distributor; its picture resynced on (re)connect.

Lifecycle of an inbound call (see docs/architecture.md)::

    StasisStart(inbound) -> [IVR] -> answer -> queue's holding bridge (music on hold) -> the distributor offers
    it -> originate to the agent's endpoint (ring timeout) -> agent answers: StasisStart(agent)
    -> mixing bridge with caller and agent -> either side hangs up -> the other leg and the bridge go.

Events are dispatched through a table by type (and StasisStart by the kind in its arguments); events of an
IVR caller, of the IVR's audio taps and of supervisors' monitor legs go to those components first. The
actions the distributor decides are :class:`~cti.telephony._actions.VoiceActions`'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence, Set
from datetime import datetime, timedelta
from typing import Any, Protocol

from cti.acd import EndReason, Hangup, NotReadyReason, Outcome, Routing, WorkItem, WorkState
from cti.ari import (
    AriClient,
    AriError,
    AriNotFound,
    Bridge,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    Event,
    EventStream,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)
from cti.geography import locate
from cti.ivr import Finished, Transfer, message_text
from cti.services import CenterView, Distributor, Identity, PostCallSurveys, UnknownExtension, apply_attributes
from cti.speech import TtsError
from cti.telephony._actions import VoiceActions, bridge_call, call_bridge_id
from cti.telephony._admission import AdmissionControl
from cti.telephony._callerid import clean_caller_name, clean_caller_number
from cti.telephony._ivr import IvrCall, IvrRunner
from cti.telephony._monitor import Monitor, MonitorError, MonitorMode, Monitors
from cti.telephony._survey import run_survey
from cti.types import Clock, Language, masked, utc_now

__all__ = ["OVERLOAD_CONTEXT", "ROUTING_TICK_SECONDS", "SHED_CAUSE", "LivePicture", "Telephony", "ivr_record",
           "offer_failure_reason"]

# The dialplan's context that tells a shed caller why (dialplans/extensions.conf), and the globals naming its prompts.
OVERLOAD_CONTEXT = "cti-overloaded"
OVERLOAD_MESSAGE = "cti-overloaded"
OVERLOAD_VARIABLES: dict[Language, str] = {"id": "CTI_OVERLOADED_ID", "en": "CTI_OVERLOADED_EN"}
SHED_LOG_EVERY = 10.0
"""Seconds between two log lines of callers turned away."""
OVERLOAD_MESSAGES_PER_SECOND = 2.0
"""Shed callers told why, at most, per second (a dozen messages playing at once); the others get congestion."""
SHED_CAUSE = 34
"""The Q.850 cause a caller cti turned away is hung up with, here and by the dialplan's ``cti-overloaded``:
congestion, a ``503`` carrying ``Reason: Q.850;cause=34``. It tells the cluster's Kamailio that the controller, one
for every node, turned the caller away, so no other node is tried: Asterisk refusing a caller of itself sends 42
(its call limit, a PBX that would not start) or no ``Reason`` (shutting down, no channel made), and those 503s move
the caller on (docs/scaling.md#kamailio)."""
ROUTING_TICK_SECONDS = 0.1
"""Seconds between two routing ticks (``Distributor.tick``: escalation steps, wrap-up ends, announcements, offers
paused after a failure). Each tick takes only what came due since the last, so a step happens at most this long
after its due time, and a backlog's escalations (one snapshot and one record each) are spread over ten ticks a
second instead of one: docs/benchmarks.md, "At 100,000 agents"."""


class _Bucket:
    """A token bucket of ``rate`` a second holding at most one second's worth (and at least one)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = max(1.0, rate)
        self._last: float | None = None

    def take(self, now: float) -> bool:
        if self._last is not None:
            self._tokens = min(max(1.0, self.rate), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

log = logging.getLogger("cti.telephony")

# Legs we originate: agents (-a<n>), callbacks (-c<n>), parties consulted (-t<n>), supervisors (-s<n>) and their
# snoops (-p<n>).
_OUR_LEG = re.compile(r"^[0-9a-f]{32}-[acstp]\d+$")
_CONSULTED = re.compile(r"^[0-9a-f]{32}-t\d+$")

IdentifyFn = Callable[[str], Awaitable[Identity | None]]


class LivePicture(Protocol):
    """What the telephony adapter needs of the journal (the live store's keeper)."""

    @property
    def last_sight(self) -> datetime | None:
        """When the previous controller last saw Asterisk (from the live store), if known."""

    def note_sight(self, at: datetime) -> None:
        """Asterisk's picture was known to be current at ``at``."""

    async def rewrite(self) -> None:
        """Write the whole live picture again (after a resync)."""

    async def flush(self) -> None:
        """Wait until every change told so far is written."""


def offer_failure_reason(cause: int) -> str:
    """Not-ready reason for an agent whose ringing phone ended with this Q.850 cause."""
    if cause == 17:
        return NotReadyReason.BUSY.value
    if cause == 21:
        return NotReadyReason.REJECTED.value
    if cause in (0, 16, 18, 19, 31):
        return NotReadyReason.NO_ANSWER.value
    return NotReadyReason.UNREACHABLE.value


def ivr_record(finished: Finished, played: list[str]) -> dict[str, Any]:
    """The IVR's part of the interaction: flow, outcome, language, attributes set, who the caller was verified as
    (and a customer number they claimed without proving it), the path taken and the last prompts the caller heard
    (self-service answers among them)."""
    return {"flow": finished.flow, "outcome": finished.outcome, "reason": finished.reason,
            "language": finished.language, "attributes": dict(finished.attributes),
            "verification": finished.verification.as_json(),
            "path": [entry.as_json() for entry in finished.path], "prompts": played[-20:]}


class Telephony:
    def __init__(self, ari: AriClient, url: str, user: str, password: str, app: str, *, distributor: Distributor,
                 actions: VoiceActions, monitors: Monitors, admission: AdmissionControl, journal: LivePicture,
                 counters: Counter[str], ivr: IvrRunner | None = None, identify: IdentifyFn | None = None,
                 record_ended: Callable[[WorkItem], None], surveys: PostCallSurveys | None = None,
                 wall: Clock = utc_now, node: str | None = None, owns: Callable[[], Set[str]] | None = None,
                 ticks: bool = True, on_resync: Callable[[], Awaitable[None]] | None = None) -> None:
        """With several media nodes (docs/scaling.md): ``node`` names this one (its callers' calls live on it),
        ``owns`` gives the calls living on it (the only ones its resync judges), ``ticks`` is False (the nodes tick
        the routing once for all) and ``on_resync`` runs first on each (re)connect (the phones homed here)."""
        self.ari = ari
        self.node = node
        self._owns = owns
        self._ticks = ticks
        self._on_resync = on_resync
        self.distributor = distributor
        self.actions = actions
        self.monitors = monitors
        self.admission = admission
        self.journal = journal
        self.counters = counters
        self.ivr = ivr
        self.surveys = surveys
        if ivr is not None and surveys is not None:
            actions.instead_of_hangup = self._survey_instead
        self._identify_caller = identify
        # Calls that end before routing (shed, served by the IVR alone) are recorded without the core.
        self._record_ended = record_ended
        self._wall = wall  # the real time, which Asterisk's events are stamped in (see _happened)
        self.events = EventStream(url, user, password, app, handler=self._on_event, on_connect=self._resync,
                                  may_connect=ari.may_act)
        self._handlers: dict[type[Event], Callable[[Any], Awaitable[None]]] = {
            StasisStart: self._stasis_start, StasisEnd: self._stasis_end, ChannelDestroyed: self._destroyed,
            ChannelDtmfReceived: self._dtmf, PlaybackFinished: self._playback_finished,
            RecordingFinished: self._recording_ended, RecordingFailed: self._recording_ended}
        self._arrivals: dict[str, Callable[[StasisStart], Awaitable[None]]] = {
            "inbound": self._inbound, "agent": self._agent_answered, "customer": self._customer_answered,
            "supervisor": self._supervisor_answered, "snoop": self._snoop_entered}
        # When this controller last saw Asterisk's picture; before its first sight, the previous controller's (the
        # journal loads it from Redis when the server starts, after this is built).
        self._lost_at: datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._arriving: set[str] = set()  # callers between their StasisStart and a record (routing or the IVR)
        self._overload_message = False  # its prompts are in place in Asterisk (see _arm_overload_message)
        self._shed_said_at, self._shed_unsaid = -SHED_LOG_EVERY, 0
        # Each shed caller who hears the message holds a channel in Asterisk for its length (about 6 s of early
        # media): measured at twice the sustainable rate (bench/overload.py), telling everyone cost Asterisk more
        # than it saved. So at most this many a second hear it; beyond, congestion at once.
        self._message_slots = _Bucket(OVERLOAD_MESSAGES_PER_SECOND)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.events.run(), name="cti-ari-events"),
                       asyncio.create_task(self._ticker(), name="cti-routing-tick")]

    async def wait_connected(self, timeout: float = 30.0) -> None:
        await self.events.wait_connected(timeout)

    @property
    def is_connected(self) -> bool:
        return self.events.is_connected

    @property
    def reconnects(self) -> int:
        return self.events.reconnects

    @property
    def last_seen(self) -> datetime | None:
        """When this Asterisk's picture was last known to be current (None: not seen by this controller yet)."""
        return self._lost_at

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.events.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.actions.close()

    async def drain(self) -> None:
        """Wait for actions in flight and for their writes (tests and shutdown)."""
        await self.actions.drain()
        await self.journal.flush()

    async def _ticker(self) -> None:
        # Escalation steps and wrap-up ends are due at points in time, not at events: look every ROUTING_TICK_SECONDS.
        # Not while Asterisk is away: offers would fail, and the resync on reconnect dispatches anyway.
        while True:
            await asyncio.sleep(ROUTING_TICK_SECONDS)
            if not self.events.is_connected:
                continue
            self._saw_asterisk()
            if not self._ticks:
                continue
            try:
                self.distributor.tick()
            except Exception:
                log.exception("routing tick failed; trying again at the next tick")

    def _saw_asterisk(self) -> None:
        now = self.distributor.clock()
        self._lost_at = now
        self.journal.note_sight(now)

    # -- requests of the services -------------------------------------------------------------------------------
    async def endpoint_exists(self, extension: str) -> bool:
        """Is ``extension`` a PJSIP endpoint of this Asterisk?"""
        try:
            await self.ari.request("GET", f"/endpoints/PJSIP/{extension}")
        except AriNotFound:
            return False
        return True

    async def start_monitor(self, call_id: str, mode: str, extension: str, supervisor: str) -> Monitor:
        """Ring the supervisor at ``extension`` and, once answered, connect them to the call."""
        call = self.distributor.query.call(call_id)
        if call.state is not WorkState.CONNECTED or call.agent_channel_id is None:
            raise MonitorError(f"call {call_id} is {call.state.value}, not connected to an agent")
        if not await self.endpoint_exists(extension):
            raise UnknownExtension(extension)
        return await self.monitors.start(call_id, call.agent_channel_id, call_bridge_id(call_id, call.connections),
                                         mode=MonitorMode(mode), extension=extension, supervisor=supervisor)

    async def stop_monitor(self, monitor_id: str) -> bool:
        return await self.monitors.stop(monitor_id)

    def monitor(self, monitor_id: str) -> Monitor | None:
        return self.monitors.active.get(monitor_id)

    def active_monitors(self) -> list[Monitor]:
        return list(self.monitors.active.values())

    def _survey_instead(self, hangup: Hangup) -> Coroutine[Any, Any, None] | None:
        """The caller of a call whose survey was offered stays on the line for it when the agent's side ends it."""
        if self.ivr is None or self.surveys is None:
            return None
        offer = self.surveys.take(hangup.call_id, hangup.channel_id)
        if offer is None:
            return None
        self.counters["post_call_surveys"] += 1
        return run_survey(self.ivr, self.surveys, offer, self.ari, self.actions.bridge_of(offer.call_id))

    # -- events -------------------------------------------------------------------------------------------------
    async def _on_event(self, event: Event) -> None:
        self.counters["ari_events"] += 1
        log.debug("event %s for %s", event.type, event.key)
        handler = self._handlers.get(type(event))
        if handler is not None:
            await handler(event)

    async def _stasis_start(self, event: StasisStart) -> None:
        kind = event.args[0] if event.args else ""
        arrival = self._arrivals.get(kind)
        if arrival is not None:
            await arrival(event)
        elif self.ivr is not None and self.ivr.tap_entered(event.channel.id):
            pass  # a snoop or media channel of an IVR caller's audio tap: only now can it join the tap's bridge
        else:
            # Not a call we route (a helper channel of ours or something unexpected): leave it alone.
            log.debug("ignoring StasisStart for %s with args %s", event.channel.id, event.args)

    async def _stasis_end(self, event: StasisEnd) -> None:
        channel_id = event.channel.id
        if await self._to_ivr(channel_id, self._happened(event)) or await self._to_monitors(channel_id):
            return
        if self.actions.handed_off(channel_id):  # a call handed to an external party: no longer ours to route
            await self.actions.handed_off_leg_gone(channel_id)
            return
        # Once a channel leaves Stasis, Asterisk sends us nothing more about it (not even ChannelDestroyed),
        # so leaving is the end of that leg for us.
        self.actions.left(channel_id)
        self.distributor.leg_gone(channel_id, at=self._happened(event))

    async def _destroyed(self, event: ChannelDestroyed) -> None:
        channel_id = event.channel.id
        if await self._to_ivr(channel_id, self._happened(event)) or await self._to_monitors(channel_id):
            return
        # Agent legs that never answered never enter Stasis; their end comes only as this event.
        self.distributor.leg_gone(channel_id, at=self._happened(event),
                                  offer_failure=offer_failure_reason(event.cause))

    def _happened(self, event: Event) -> datetime | None:
        """When ``event`` happened, on the distributor's clock: as long before now as Asterisk's stamp is before
        the real time now (the distributor's clock may be shifted: tests of calendars, the demo). A hang-up
        handled late (a busy controller, one catching up after a reconnect) ends the call when it did."""
        at = event.at
        if at is None:
            return None
        return self.distributor.clock() - max(self._wall() - at, timedelta(0))

    async def _dtmf(self, event: ChannelDtmfReceived) -> None:
        if self.ivr is not None and self.ivr.owns(event.channel.id):
            await self.ivr.dtmf(event.channel.id, event.digit)
        else:
            self.distributor.dtmf(event.channel.id, event.digit)

    async def _playback_finished(self, event: PlaybackFinished) -> None:
        if self.ivr is not None and self.ivr.owns_playback(event.playback.id):
            await self.ivr.playback_finished(event.playback.id)
            return
        self.counters["playbacks_failed" if event.playback.state == "failed" else "playbacks_done"] += 1
        await self.actions.playback_finished(event.playback.id)

    async def _recording_ended(self, event: RecordingFinished | RecordingFailed) -> None:
        # Calls' recordings (their bridges') are stopped and taken by the recording service itself; only the
        # IVR's (a spoken comment) end on their own.
        if self.ivr is not None and self.ivr.owns_recording(event.recording.name):
            await self.ivr.recording_ended(event.recording, failed=isinstance(event, RecordingFailed))

    async def _to_ivr(self, channel_id: str, at: datetime | None) -> bool:
        """A caller in the IVR, or one of its audio tap's channels, went (``at``, when Asterisk says): the IVR's to
        handle."""
        ivr = self.ivr
        if ivr is None or not ivr.owns(channel_id):
            return False
        if channel_id in ivr.calls:
            await ivr.caller_gone(channel_id, at=at)
        else:
            await ivr.tap_gone(channel_id)
        return True

    async def _to_monitors(self, channel_id: str) -> bool:
        if not self.monitors.is_monitor_leg(channel_id):
            return False
        await self.monitors.leg_gone(channel_id)
        return True

    # -- arrivals (StasisStart by kind) ---------------------------------------------------------------------------
    async def _agent_answered(self, event: StasisStart) -> None:
        self.distributor.offer_answered(event.channel.id)

    async def _customer_answered(self, event: StasisStart) -> None:
        self.distributor.customer_answered(event.channel.id)

    async def _supervisor_answered(self, event: StasisStart) -> None:
        await self.monitors.answered(event.channel.id)

    async def _snoop_entered(self, event: StasisStart) -> None:
        await self.monitors.snoop_entered(event.channel.id)

    async def _inbound(self, event: StasisStart) -> None:
        await self._arrive(event.channel, event.args)

    async def _arrive(self, channel: Channel, args: Sequence[str]) -> None:
        # Under way until routed or in the IVR: a resync meanwhile must not take the caller for an orphan.
        self._arriving.add(channel.id)
        try:
            await self._admit(channel, args)
        finally:
            self._arriving.discard(channel.id)

    async def _admit(self, channel: Channel, args: Sequence[str]) -> None:
        service = args[1] if len(args) > 1 else channel.dialplan_exten
        # What the caller's network sent, cleaned and bounded here, before anything stores, shows or dials it.
        number = clean_caller_number(channel.caller_number)
        name = clean_caller_name(channel.caller_name, number)
        flow = self.ivr.flow_for(service) if self.ivr is not None else None
        self.counters["calls_arrived"] += 1
        # Admitted before anything is spent on the caller: the CRM lookup, the answer, a place in the IVR.
        admission = self.admission.admit(time.monotonic(), sessions=None if flow is None or self.ivr is None
                                         else len(self.ivr.calls))
        if not admission.admitted:
            await self._shed(self._arrival(channel.id, number, name, service),
                             admission.reason)
            return
        try:
            if self.ivr is not None and flow is not None:
                await self.ivr.start(channel.id, number, name, service, flow, self)
            else:
                await self._accept(channel.id, number, name, service)
        finally:
            self.admission.done()

    # -- the IVR hands a caller on (IvrHandoff) ------------------------------------------------------------------
    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None:
        """The IVR hands the caller to routing, with what it learnt (language, product, problem, customer)."""
        self._count_verification(finished)
        call.attributes.update(transfer.attributes)
        self.admission.enter()  # admitted on arrival: never turned away after the time spent in the IVR
        self._arriving.add(call.channel_id)  # out of the IVR, not yet in line: no orphan for a resync meanwhile
        try:
            await self._accept(call.channel_id, call.caller_number, call.caller_name, call.service_number,
                               ivr=call, ivr_path=ivr_record(finished, call.played), transfer=transfer)
        finally:
            self._arriving.discard(call.channel_id)
            self.admission.done()

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None:
        """The caller was served by the IVR alone, or hung up in it: an interaction row says which."""
        self._count_verification(finished)
        now = self.distributor.clock()
        # A hang-up ends the call when Asterisk says it did, not when it was handled (never before it arrived).
        arrived = now - timedelta(seconds=time.monotonic() - call.started)
        ended = now if call.gone_at is None else min(now, max(arrived, call.gone_at))
        record = WorkItem(call_id=uuid.uuid4().hex, channel_id=call.channel_id, caller_number=call.caller_number,
            caller_name=call.caller_name or None, service_number=call.service_number,
            queue="", arrived_at=arrived, state=WorkState.ENDED,
            ended_at=ended, customer_id=call.customer_id, ivr=ivr_record(finished, call.played))
        apply_attributes(record.routing, call.attributes)
        if finished.outcome == "abandoned_in_ivr":
            record.outcome, record.end_reason = Outcome.ABANDONED, EndReason.CALLER_HANGUP
        else:
            record.outcome, record.end_reason = Outcome.SELF_SERVICE, EndReason.IVR_COMPLETED
        self.counters[f"ivr_{record.outcome.value}"] += 1
        self._record_ended(record)

    def _count_verification(self, finished: Finished) -> None:
        verification = finished.verification
        if verification.method in ("pin", "dob"):
            self.counters["ivr_verified"] += 1
        if verification.locked:
            self.counters["ivr_verification_failed"] += 1

    # -- routing a caller -----------------------------------------------------------------------------------------
    def _arrival(self, channel_id: str, caller: str, name: str | None, service: str) -> WorkItem:
        """A new work item for a caller whose number and name ``_inbound`` cleaned."""
        where = locate(caller)
        return WorkItem(
            call_id=uuid.uuid4().hex, channel_id=channel_id, caller_number=caller,
            caller_name=name or None, service_number=service, queue="", arrived_at=self.distributor.clock(),
            routing=Routing(region=where.region, country=where.country), node=self.node,
        )

    async def _accept(self, channel_id: str, number: str, name: str | None, service: str, *,
                      ivr: IvrCall | None = None, ivr_path: Mapping[str, Any] | None = None,
                      transfer: Transfer | None = None) -> None:
        """Route an admitted caller (the caller holds a setup of the admission control until this returns)."""
        call = self._arrival(channel_id, number, name, service)
        if ivr is not None:
            call.customer_id, call.ivr = ivr.customer_id, dict(ivr_path or {})
            apply_attributes(call.routing, ivr.attributes)
            if transfer is not None:
                call.routing.requested_queue, call.routing.requested_priority = transfer.queue, transfer.priority
            if ivr.attributes.get("survey") == "yes" and call.customer_id is not None and self.surveys is not None:
                self.surveys.asked_in_ivr(call.call_id, call.customer_id)
        else:
            # No IVR: who the caller is still decides routing (value tier, a mobile caller's region).
            identity = await self._identify(call.caller_number)
            if identity is not None:
                call.customer_id = identity.customer_id
                apply_attributes(call.routing, identity.attributes)
        async with self.actions.lock(call.call_id):
            # The item is the distributor's from here on: read it back through the query, never change it.
            if self.distributor.arrive(call):
                await self.actions.hold_arrival(call.call_id, channel_id, self.distributor.query.call(
                    call.call_id).queue)

    async def _identify(self, number: str) -> Identity | None:
        if self._identify_caller is None or number == "anonymous":
            return None
        try:
            return await self._identify_caller(number)  # bounded in time by the lookup (ArrivalLookup)
        except Exception as exc:  # the CRM being away must not stop calls: route without it
            log.warning("caller %s not identified (%s); routing without the CRM", masked(number), exc)
            return None

    async def _shed(self, call: WorkItem, why: str) -> None:
        """Overload: the caller hears why, unanswered, then congestion (SIP 503); a record says so.

        The message is the dialplan's (``cti-overloaded``: early media, then :data:`SHED_CAUSE`), so a shed caller
        costs cti one request, as a bare hang-up did; only while its prompts are not in place yet is the caller hung
        up with that cause at once."""
        self.counters["calls_shed"] += 1
        # Said once per period, with how many since: an overload sheds callers by the hundred a second, and a line
        # each would bury the log (and cost the loop) just when it matters.
        now = time.monotonic()
        self._shed_unsaid += 1
        if now - self._shed_said_at >= SHED_LOG_EVERY:
            log.warning("overload (%s): turning away callers (%d since the last such line; this one from %s on %s)",
                        why, self._shed_unsaid, masked(call.caller_number), call.service_number)
            self._shed_said_at, self._shed_unsaid = now, 0
        told = False
        if self._overload_message and self._message_slots.take(now):
            try:
                await self.ari.continue_in_dialplan(call.channel_id, OVERLOAD_CONTEXT)
                told = True
                self.counters["calls_shed_with_message"] += 1
            except AriError as exc:
                log.info("call from %s: the overload message failed: %s", masked(call.caller_number), exc)
        if not told:
            with contextlib.suppress(AriError):
                await self.ari.hangup_with_cause(call.channel_id, SHED_CAUSE)  # ARI's "congestion"
        call.state, call.outcome, call.end_reason = WorkState.ENDED, Outcome.REJECTED, EndReason.OVERLOAD
        call.ended_at = self.distributor.clock()
        self._record_ended(call)

    # -- resync after (re)connecting ------------------------------------------------------------------------------
    async def _allow_events(self) -> None:
        """Have Asterisk send only the events handled here (their classes are named as ARI's types). Left to
        itself it sends about 54 a call, 33 of them ChannelVarset, each serialized by Asterisk and parsed and
        dispatched here for nothing (docs/benchmarks.md, Call path). Set on every connect, since the filter lives
        with the app in Asterisk, which may be a new one (a restart)."""
        wanted = sorted({handled.__name__ for handled in self._handlers} | set(EventStream.HANDLED))
        try:
            await self.ari.allow_events(wanted)
        except AriError as exc:  # an Asterisk without filters, or going away: every event still works
            log.warning("ARI event filter not set (%s): Asterisk sends every event of the app", exc)

    async def _resync(self) -> None:
        """Asterisk dropped our events while we were away: reconcile the distributor with what exists now."""
        self.counters["ari_resyncs"] += 1
        await self._allow_events()
        if self._on_resync is not None:
            await self._on_resync()
        channels = {c.id: c for c in await self.ari.list_channels()}
        bridges = await self.ari.list_bridges()
        self.actions.adopt_bridges((b.id, b.channels) for b in bridges if b.id.startswith("cti-hold-"))
        lost_at = self._lost_at if self._lost_at is not None else self.journal.last_sight
        # Every caller a record holds, before the reconcile ends some (their hang-up is on its way): none is an orphan.
        recorded = {c.channel_id for c in self.distributor.query.calls()}
        # One decision for the whole picture: no offer before every call is in line (see ContactCenter.reconcile).
        self.distributor.reconcile({c.id: c.state == "Up" for c in channels.values()}, lost_at=lost_at,
                                   calls=None if self._owns is None else self._owns())
        self._saw_asterisk()
        query = self.distributor.query
        live = query.calls()
        known = {c.channel_id for c in live} | {c.agent_channel_id for c in live if c.agent_channel_id}
        known |= {c.consult.channel_id for c in live if c.consult is not None}
        handed_off = {b.id for b in bridges if _handed_off(b.id, b.channels) and not _current(query, b.id)}
        for bridge in bridges:
            # A call's bridge no live call knows, with the caller and a party consulted still talking: a call
            # handed to an external party (they keep it until either hangs up).
            if bridge.id in handed_off:
                self.actions.adopt_handed_off(bridge.id, bridge.channels)
                known |= set(bridge.channels)
        known |= {leg for m in self.monitors.active.values() for leg in (m.monitor_id, m.snoop_id)}
        for channel_id in channels:
            if _OUR_LEG.match(channel_id) and channel_id not in known:
                await self.actions.hangup_leg(channel_id)
        for bridge_id in self.monitors.leftovers([b.id for b in bridges], channels):
            with contextlib.suppress(AriError):
                await self.ari.destroy_bridge(bridge_id)
        for bridge in bridges:
            if bridge_call(bridge.id) is not None and not _current(query, bridge.id) and bridge.id not in handed_off:
                for channel_id in bridge.channels:
                    if self.actions.handed_off(channel_id):  # its party hung up out of sight: the last one goes
                        await self.actions.hangup_leg(channel_id)
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge.id)
        await self._restart_orphans(list(channels.values()), bridges, known | recorded)
        await self.journal.rewrite()
        await self._arm_overload_message()

    async def _restart_orphans(self, channels: Sequence[Channel], bridges: Sequence[Bridge], known: set[str]) -> None:
        """Callers in this app that no record holds: they arrived in the instant a previous controller died (before
        it wrote them down), or were in its IVR, whose progress lives in its memory only. Nobody would ever serve
        them: each starts again as a new arrival (its IVR from the top), out of any bridge and tap it was left in."""
        ivr = set(self.ivr.calls) if self.ivr is not None else set()
        inbound = f"{self.ari.app},inbound"
        orphans = [c for c in channels if c.id not in known and c.id not in ivr and c.id not in self._arriving
                   and c.dialplan_app == "Stasis"
                   and (c.dialplan_app_data == inbound or c.dialplan_app_data.startswith(inbound + ","))]
        if not orphans:
            return
        lost = {c.id for c in orphans}
        for channel in channels:  # their IVR's audio taps, which a new IVR would make again under the same ids
            owner, _, part = channel.id.rpartition("-ivr-")
            if owner in lost and part in ("snoop", "media"):
                await self.actions.hangup_leg(channel.id)
        for bridge in bridges:
            if bridge.id.startswith("cti-ivr-") and _tap_owner(bridge.id) in lost:
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge.id)
            elif bridge.id.startswith("cti-hold-"):
                for channel_id in lost & set(bridge.channels):
                    with contextlib.suppress(AriError):
                        await self.ari.remove_channel(bridge.id, channel_id)
        for channel in orphans:
            log.warning("caller %s on %s was in this app with no record (a previous controller's last instant, or "
                        "its IVR): starting again as a new arrival", masked(channel.caller_number),
                        channel.dialplan_app_data.rpartition(",")[2])
            self.counters["arrivals_restarted"] += 1
            await self._arrive(channel, tuple(channel.dialplan_app_data.split(",")[1:]))

    async def _arm_overload_message(self) -> None:
        """Tell the dialplan which prompts say the overload message (Asterisk forgets its globals on a restart, so
        on every connect). Rendering them the first time takes a moment; shed callers meanwhile get congestion."""
        prompts = self.actions.prompts
        if prompts is None:
            return
        try:
            for language, variable in OVERLOAD_VARIABLES.items():
                text = message_text(OVERLOAD_MESSAGE, language)
                assert text is not None
                media = await prompts.media(text, language)
                await self.ari.set_global(variable, media.removeprefix("sound:"))
        except (AriError, TtsError) as exc:
            log.warning("the overload message is not in place; shed callers get congestion only: %s", exc)
            self._overload_message = False
            return
        self._overload_message = True


def _tap_owner(bridge_id: str) -> str:
    """The caller an IVR's tap bridge ``cti-ivr-<channel>-<tap>`` listens to."""
    return bridge_id.removeprefix("cti-ivr-").rpartition("-")[0]


def _current(query: CenterView, bridge_id: str) -> bool:
    """A call's bridge of its live call's current connection (any other is a leftover: a transfer's, or an ended
    call's)."""
    named = bridge_call(bridge_id)
    if named is None:
        return False
    call_id, connection = named
    return query.is_live(call_id) and connection == max(1, query.connections_of(call_id))


def _handed_off(bridge_id: str, channels: Sequence[str]) -> bool:
    """A call's bridge holding two parties, one of them a party consulted (``-t<n>``): a handed-off call."""
    return (bridge_call(bridge_id) is not None and len(channels) == 2
            and any(_CONSULTED.match(channel) for channel in channels))
