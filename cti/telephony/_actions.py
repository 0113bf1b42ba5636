"""The voice channel's actions: what the distributor decides, carried out over ARI.

Each handler of the handler table starts a task and returns at once (a handler must not block). Channel
operations on one call are serialized by a per-call lock, so the caller's hold and the connect to an agent
never cross; everything else runs concurrently. A failure Asterisk reports (an offer refused, a bridge that
cannot be made) goes back to the distributor, which decides what follows.

Bridges: each queue has a *holding bridge* ``cti-hold-<queue>`` (music on hold; created with a fixed id so a
restarted controller adopts it); a connected call has a *mixing bridge* ``cti-call-<call_id>``, and one of its own
for each connection after a transfer, ``cti-call-<call_id>-<n>``: Asterisk keeps a destroyed bridge's id (its
topic) a while and refuses a new bridge under it, 409 (asterisk/asterisk#211). A consult
happens in the call's bridge: the caller holds in the queue's holding bridge meanwhile, the agent and the
party consulted talk in the call's bridge, and the caller comes back into it (a conference, a completed
consult). A call handed to an external party is cti's no more: its bridge stays with the caller and that
party until either hangs up (``handed off``), then the other leg and the bridge go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from cti.acd import (
    Announce,
    Channel,
    ConfirmCallback,
    Connect,
    DialCustomer,
    DialExternal,
    Direction,
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
from cti.ari import AriClient, AriError, AriHTTPError, AriNotFound
from cti.ivr import message_text, position_text
from cti.services import CenterView, Distributor
from cti.telephony._callerid import caller_id, clean_caller_number
from cti.telephony._ivr import PromptSource
from cti.telephony._monitor import Monitors
from cti.types import masked

__all__ = ["VoiceActions", "bridge_call", "call_bridge_id", "hold_bridge_id"]

log = logging.getLogger("cti.telephony")


def hold_bridge_id(queue: str) -> str:
    return f"cti-hold-{queue}"


def call_bridge_id(call_id: str, connection: int = 1) -> str:
    """The bridge of the call's ``connection``-th connection to an agent (see the module's docstring)."""
    return f"cti-call-{call_id}" if connection <= 1 else f"cti-call-{call_id}-{connection}"


def bridge_call(bridge_id: str) -> tuple[str, int] | None:
    """The call and connection a bridge id of :func:`call_bridge_id` names; None for any other bridge."""
    if not bridge_id.startswith("cti-call-"):
        return None
    rest = bridge_id.removeprefix("cti-call-")
    call_id, dash, connection = rest.rpartition("-")
    if dash and connection.isdigit() and call_id:
        return call_id, int(connection)
    return rest, 1


def _local_phone(extension: str) -> str:
    return f"PJSIP/{extension}"


class VoiceActions:
    def __init__(self, ari: AriClient, query: CenterView, monitors: Monitors, counters: Counter[str], *,
                 ring_timeout: float, callback_ring_timeout: float, prompts: PromptSource | None = None,
                 dial: Callable[[str], str] | None = None) -> None:
        self.ari = ari
        # An agent's phone from here: its own endpoint, or over the trunk to its home node (several media nodes).
        self.dial = dial or _local_phone
        self.query = query
        self.monitors = monitors
        self.counters = counters
        self.ring_timeout = max(1, round(ring_timeout))
        self.callback_ring_timeout = max(1, round(callback_ring_timeout))
        # Spoken prompts (TTS) for callers whose language is known; Asterisk's English prompts otherwise.
        self.prompts = prompts
        self._locks: dict[str, asyncio.Lock] = {}
        self._hold_bridges: set[str] = set()
        self._bridges: dict[str, str] = {}  # call -> the bridge its connect made
        # caller channel -> the holding bridge it is in. A call can move queues (overflow) while it waits,
        # so the bridge to take it out of is where we put it, not its queue's now.
        self._held_in: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._hangup_after: dict[str, str] = {}  # playback id -> channel to hang up when it finishes
        self._announcing: dict[str, str] = {}  # playback id -> caller channel hearing an announcement
        # Calls handed to an external party: bridge id -> its legs, and each leg -> its bridge.
        self._handed_off: dict[str, set[str]] = {}
        self._handed_leg: dict[str, str] = {}
        # Legs whose originate is under way, and those of them hung up meanwhile: a hang-up that reaches Asterisk
        # before the leg exists finds nothing, so the leg is hung up once its originate returns.
        self._originating: set[str] = set()
        self._doomed: set[str] = set()
        # Told each call whose bridge was just made (the recording starts there where the policy says always).
        self.bridged_hooks: list[Callable[[str], Awaitable[None]]] = []
        # Asked before a leg is hung up: what to do with it instead (the caller stays on for the post-call survey).
        self.instead_of_hangup: Callable[[Hangup], Coroutine[Any, Any, None] | None] | None = None

    # -- the handler table's entries --------------------------------------------------------------------------
    def offer(self, offer: Offer, distributor: Distributor) -> None:
        self.counters["offers"] += 1
        self._spawn(self._offer(offer, distributor))

    def connect(self, connect: Connect, distributor: Distributor) -> None:
        self._spawn(self._connect(connect, distributor))

    def hangup(self, hangup: Hangup, distributor: Distributor) -> None:
        instead = None if self.instead_of_hangup is None else self.instead_of_hangup(hangup)
        self._spawn(instead if instead is not None else self.hangup_leg(hangup.channel_id))

    def hold(self, hold: Hold, distributor: Distributor) -> None:
        self._spawn(self._hold(hold))

    def hold_call(self, hold: HoldCall, distributor: Distributor) -> None:
        self._spawn(self._hold_call(hold))

    def resume_call(self, resume: ResumeCall, distributor: Distributor) -> None:
        self._spawn(self._resume_call(resume))

    def mute_agent(self, mute: MuteAgent, distributor: Distributor) -> None:
        self._spawn(self._mute_agent(mute))

    def send_dtmf(self, dtmf: SendDtmf, distributor: Distributor) -> None:
        self._spawn(self._send_dtmf(dtmf))

    def dial_external(self, dial: DialExternal, distributor: Distributor) -> None:
        self._spawn(self._dial_external(dial, distributor))

    def join_call(self, join: JoinCall, distributor: Distributor) -> None:
        self._spawn(self._join_call(join))

    def hand_off(self, hand_off: HandOff, distributor: Distributor) -> None:
        # Noted at once (not in a task): a hang-up of either leg from now on is the hand-off's to handle.
        bridge_id = call_bridge_id(hand_off.call_id, hand_off.connection)
        legs = {hand_off.caller_channel_id, hand_off.party_channel_id}
        self._handed_off[bridge_id] = legs
        self._handed_leg.update(dict.fromkeys(legs, bridge_id))
        self.counters["calls_handed_off"] += 1

    def reject(self, reject: Reject, distributor: Distributor) -> None:
        self._spawn(self._play_then_hangup(reject.call_id, reject.channel_id, reject.message))

    def confirm_callback(self, confirm: ConfirmCallback, distributor: Distributor) -> None:
        self._spawn(self._play_then_hangup(confirm.call_id, confirm.channel_id, confirm.message))

    def refuse_callback(self, refuse: RefuseCallback, distributor: Distributor) -> None:
        self.counters["callbacks_refused"] += 1
        self.counters[f"callbacks_refused_{refuse.reason}"] += 1
        self._spawn(self._tell_waiting_caller(refuse.call_id, refuse.channel_id, refuse.message))

    def dial_customer(self, dial: DialCustomer, distributor: Distributor) -> None:
        self._spawn(self._dial_customer(dial, distributor))

    def announce(self, announce: Announce, distributor: Distributor) -> None:
        self._spawn(self._announce(announce))

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        call = changed.item
        if call.channel is Channel.VOICE and call.state is WorkState.ENDED:
            kind = "outbound" if call.direction is Direction.OUTBOUND else "calls"
            self.counters[f"{kind}_{call.outcome.value if call.outcome else 'ended'}"] += 1
            self._spawn(self._cleanup_call(call))

    # -- used by the event side ---------------------------------------------------------------------------------
    async def hold_arrival(self, call_id: str, channel_id: str, queue: str) -> None:
        """Answer a new caller and put them on hold in their queue, unless the call ended meanwhile.

        The caller holds the call's :meth:`lock` (taken before the distributor saw the call), so an agent's
        answer cannot bridge the caller before they are held."""
        try:
            await self.ari.answer(channel_id)
            bridge_id = await self._ensure_hold_bridge(queue)
            if self.query.is_live(call_id):  # still live: hold it while agents ring
                await self._into_holding(bridge_id, channel_id)
        except AriError as exc:
            # The caller hung up in the meantime; their StasisEnd ends the call.
            log.info("call %s: could not put caller on hold: %s", call_id, exc)

    def handed_off(self, channel_id: str) -> bool:
        """Whether ``channel_id`` is a leg of a call handed to an external party."""
        return channel_id in self._handed_leg

    async def handed_off_leg_gone(self, channel_id: str) -> None:
        """A leg of a handed-off call hung up: the other leg and the bridge go (the last one out ends it)."""
        bridge_id = self._handed_leg.pop(channel_id, None)
        if bridge_id is None:
            return
        for other in self._handed_off.pop(bridge_id, set()) - {channel_id}:
            self._handed_leg.pop(other, None)
            await self.hangup_leg(other)
        with contextlib.suppress(AriError):
            await self.ari.destroy_bridge(bridge_id)

    def adopt_handed_off(self, bridge_id: str, channels: Iterable[str]) -> None:
        """After a (re)connect: a call's bridge the live calls no longer know, still holding two parties, is a
        handed-off call of the previous controller's."""
        legs = set(channels)
        self._handed_off[bridge_id] = legs
        self._handed_leg.update(dict.fromkeys(legs, bridge_id))

    def left(self, channel_id: str) -> None:
        """A caller's channel left Stasis: it is in no holding bridge of ours any more."""
        self._held_in.pop(channel_id, None)

    async def playback_finished(self, playback_id: str) -> None:
        self._announcing.pop(playback_id, None)
        channel_id = self._hangup_after.pop(playback_id, None)
        if channel_id is not None:
            await self.hangup_leg(channel_id)

    def adopt_bridges(self, holding: Iterable[tuple[str, Iterable[str]]]) -> None:
        """After a (re)connect: the holding bridges that exist (id, channels in it) are ours again."""
        self._hold_bridges.clear()
        self._held_in.clear()
        for bridge_id, channels in holding:
            self._hold_bridges.add(bridge_id)
            self._held_in.update(dict.fromkeys(channels, bridge_id))

    async def hangup_leg(self, channel_id: str) -> None:
        if channel_id in self._originating:
            self._doomed.add(channel_id)
        try:
            await self.ari.hangup(channel_id)
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("hangup of %s failed: %s", channel_id, exc)

    def bridge_of(self, call_id: str) -> str:
        """The bridge of the call's current (or last) connection: the one made here, until the call's cleanup
        (a survey takes its caller out of it after the call ended), else the live call's (after a restart)."""
        made = self._bridges.get(call_id)
        return made if made is not None else call_bridge_id(call_id, self.query.connections_of(call_id))

    def lock(self, call_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_id)
        if lock is None:
            lock = self._locks[call_id] = asyncio.Lock()
        return lock

    async def drain(self) -> None:
        """Wait for the actions in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        # Holding bridges are ours; leave those still holding callers for the next controller.
        in_use = set(self._held_in.values())
        for bridge_id in list(self._hold_bridges):
            if bridge_id not in in_use:
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge_id)

    # -- carrying them out ------------------------------------------------------------------------------------
    async def _originate(self, endpoint: str, *, channel_id: str, **params: Any) -> None:
        """Originate ``channel_id``; hung up at once if cti hung it up while the originate was under way (the
        call or consult it was for ended meanwhile: its phone must not ring for nothing)."""
        self._originating.add(channel_id)
        try:
            await self.ari.originate(endpoint, channel_id=channel_id, **params)
        finally:
            self._originating.discard(channel_id)
            doomed = channel_id in self._doomed
            self._doomed.discard(channel_id)
        if doomed:
            await self.hangup_leg(channel_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _offer(self, offer: Offer, distributor: Distributor) -> None:
        try:
            await self._originate(
                self.dial(str(offer.extension)),
                app_args=f"agent,{offer.call_id}",
                channel_id=offer.agent_channel_id,
                caller_id=caller_id(offer.caller_name, offer.caller_number),
                timeout=self.ring_timeout,
                originator=offer.caller_channel_id,
            )
        except AriError as exc:
            # Whose fault? The caller may hang up while we dial; Asterisk may be overloaded (5xx, timeouts):
            # the agent's phone is not at fault then. Only what Asterisk says of the endpoint counts.
            caller_gone = isinstance(exc, AriHTTPError) and exc.status == 400 and "originator" in exc.message.lower()
            system = not caller_gone and not (isinstance(exc, AriHTTPError) and 400 <= exc.status < 500)
            if not caller_gone:
                log.warning("offer of call %s to %s failed: %s", offer.call_id, offer.agent_id, exc)
                self.counters["offers_failed"] += 1
            agent_fault = not (caller_gone or system)
            failure = NotReadyReason.UNREACHABLE.value if agent_fault else None
            distributor.leg_gone(offer.agent_channel_id, offer_failure=failure, system_fault=system)

    async def _connect(self, connect: Connect, distributor: Distributor) -> None:
        bridge_id = call_bridge_id(connect.call_id, connect.connection)
        async with self.lock(connect.call_id):
            try:
                await self.ari.create_bridge("mixing", bridge_id=bridge_id, name=f"call {connect.call_id}")
                # Out of the holding bridge by the add itself: Asterisk departs a channel from its Stasis bridge
                # before it joins another (res/stasis/control.c), so a removeChannel first was a round trip for
                # nothing on every call's path.
                self._held_in.pop(connect.caller_channel_id, None)
                await self.ari.add_channel(bridge_id, [connect.caller_channel_id, connect.agent_channel_id])
                self._bridges[connect.call_id] = bridge_id
                self.counters["calls_bridged"] += 1
            except AriError as exc:
                # One side vanished while we bridged: the call never connected. Record it so and hang up.
                log.warning("call %s: bridging failed (%s); tearing down", connect.call_id, exc)
                self.counters["bridges_failed"] += 1
                distributor.bridge_failed(connect.call_id)
                return
        for hook in self.bridged_hooks:
            await hook(connect.call_id)

    async def _hold(self, hold: Hold) -> None:
        """A transferred caller leaves the call's bridge (it is destroyed; the next agent's answer makes the
        next connection's) for the holding bridge of the queue, with its music, until the next agent answers."""
        async with self.lock(hold.call_id):
            self._bridges.pop(hold.call_id, None)
            held = self._held_in.pop(hold.channel_id, None)  # transferred from the agent's hold
            if held is not None:
                with contextlib.suppress(AriError):
                    await self.ari.remove_channel(held, hold.channel_id)
            await self._destroy_call_bridge(call_bridge_id(hold.call_id, hold.connection), "for the transfer")
            try:
                bridge_id = await self._ensure_hold_bridge(hold.queue)
                call = self.query.find_call(hold.call_id)
                if call is not None and call.state in (WorkState.WAITING, WorkState.RINGING):
                    await self._into_holding(bridge_id, hold.channel_id)
            except AriError as exc:
                # The caller hung up meanwhile; their StasisEnd ends the call.
                log.info("call %s: could not hold the transferred caller: %s", hold.call_id, exc)

    async def _hold_call(self, hold: HoldCall) -> None:
        """The agent's hold: the caller moves from the call's bridge to their queue's holding bridge (its music);
        the agent stays in the call's bridge, which is kept for the resume."""
        async with self.lock(hold.call_id):
            try:
                bridge_id = await self._ensure_hold_bridge(hold.queue)
                call = self.query.find_call(hold.call_id)
                if call is None or not call.held:
                    return  # resumed or ended before we got here
                await self.ari.remove_channel(self.bridge_of(hold.call_id), hold.channel_id)
                await self._into_holding(bridge_id, hold.channel_id)
                self.counters["calls_held"] += 1
            except AriError as exc:
                # The caller hung up meanwhile; their StasisEnd ends the call (and its hold).
                log.info("call %s: could not put the caller on hold: %s", hold.call_id, exc)

    async def _resume_call(self, resume: ResumeCall) -> None:
        async with self.lock(resume.call_id):
            self._held_in.pop(resume.channel_id, None)  # the add takes the caller out of it (see _connect)
            try:
                await self.ari.add_channel(self.bridge_of(resume.call_id), resume.channel_id)
            except AriError as exc:
                log.info("call %s: could not take the caller off hold: %s", resume.call_id, exc)

    async def _mute_agent(self, mute: MuteAgent) -> None:
        try:
            # "in": what the agent's phone sends is dropped; the agent still hears the caller.
            if mute.muted:
                await self.ari.mute(mute.agent_channel_id, "in")
            else:
                await self.ari.unmute(mute.agent_channel_id, "in")
        except AriError as exc:
            log.info("call %s: mute %s of the agent's leg failed: %s", mute.call_id, mute.muted, exc)

    async def _join_call(self, join: JoinCall) -> None:
        """The party consulted answered: into the call's bridge, with the agent (the caller holds)."""
        async with self.lock(join.call_id):
            try:
                await self.ari.add_channel(self.bridge_of(join.call_id), join.channel_id)
            except AriError as exc:
                # The leg or the bridge went meanwhile: hang the leg up; its StasisEnd ends the consult.
                log.info("call %s: the party consulted could not join: %s", join.call_id, exc)
                await self.hangup_leg(join.channel_id)

    async def _dial_external(self, dial: DialExternal, distributor: Distributor) -> None:
        try:
            # As a callback: digits only, through the PSTN gateway, the service number as the caller id.
            await self._originate(
                f"PJSIP/{clean_caller_number(dial.number).lstrip('+')}@pstn",
                app_args=f"customer,{dial.call_id}",
                channel_id=dial.channel_id,
                caller_id=clean_caller_number(dial.service_number),
                timeout=self.ring_timeout,
            )
            self.counters["consults_dialed"] += 1
        except AriError as exc:
            log.warning("call %s: consult of %s failed: %s", dial.call_id, masked(dial.number), exc)
            distributor.leg_gone(dial.channel_id)

    async def _send_dtmf(self, dtmf: SendDtmf) -> None:
        try:
            await self.ari.send_dtmf(dtmf.channel_id, dtmf.digits)
            self.counters["dtmf_sent"] += 1
        except AriError as exc:
            log.info("call %s: tones not sent: %s", dtmf.call_id, exc)

    def _spoken(self, call_id: str) -> str | None:
        """The caller's language if cti can speak to them in it (TTS and a known language)."""
        call = self.query.find_call(call_id)
        language = call.routing.language if call is not None else None
        return language if self.prompts is not None and language in ("id", "en") else None

    async def _message_media(self, call_id: str, message: str) -> tuple[str, str | None]:
        """What to play for ``message`` and in which language: spoken in the caller's language when cti can,
        else Asterisk's sound file of that name."""
        language = self._spoken(call_id)
        text = message_text(message, "en" if language == "en" else "id") if language else None
        if text is None or self.prompts is None or language is None:
            return f"sound:{message}", language
        return await self.prompts.media(text, language), language

    async def _play_then_hangup(self, call_id: str, channel_id: str, message: str) -> None:
        """Say something to the caller (a closing message, a callback confirmation), then hang up."""
        playback_id = f"{call_id}-bye-{uuid.uuid4().hex[:8]}"
        self._hangup_after[playback_id] = channel_id
        try:
            media, language = await self._message_media(call_id, message)
            await self.ari.answer(channel_id)
            # As the announcements: the caller's language, not the channel's default, picks the sound files.
            await self.ari.play(channel_id, media, lang=language, playback_id=playback_id)
        except AriError as exc:
            log.info("call %s: could not play %s: %s", call_id, message, exc)
            self._hangup_after.pop(playback_id, None)
            await self.hangup_leg(channel_id)

    async def _tell_waiting_caller(self, call_id: str, channel_id: str, message: str) -> None:
        """Say something to a caller who stays in the queue, over the holding bridge's music as the
        announcements are: after the one playing, if any (Asterisk queues a channel's playbacks), and the next
        announcement waits for it."""
        playback_id = f"{call_id}-ann-{uuid.uuid4().hex[:8]}"
        self._announcing[playback_id] = channel_id
        try:
            media, language = await self._message_media(call_id, message)
            await self.ari.play(channel_id, media, lang=language, playback_id=playback_id)
        except AriError as exc:
            self._announcing.pop(playback_id, None)
            log.info("call %s: could not play %s: %s", call_id, message, exc)

    async def _dial_customer(self, dial: DialCustomer, distributor: Distributor) -> None:
        # The agent hears ringing while the customer's phone rings.
        with contextlib.suppress(AriError):
            await self.ari.ring(dial.agent_channel_id)
        try:
            # Both numbers go out as they are (a dial string, a caller id): digits only, whatever the call holds.
            await self._originate(
                f"PJSIP/{clean_caller_number(dial.number).lstrip('+')}@pstn",
                app_args=f"customer,{dial.call_id}",
                channel_id=dial.customer_channel_id,
                caller_id=clean_caller_number(dial.service_number),
                timeout=self.callback_ring_timeout,
            )
            self.counters["outbound_dialed" if dial.outbound else "callbacks_dialed"] += 1
        except AriError as exc:
            log.warning("call %s: callback to %s failed: %s", dial.call_id, masked(dial.number), exc)
            distributor.leg_gone(dial.customer_channel_id)

    async def _announce(self, announce: Announce) -> None:
        # Played to the caller's channel, over the holding bridge's music. Prompts can outlast a short
        # interval: one still playing means this one is skipped rather than queued behind it.
        if announce.channel_id in self._announcing.values():
            return
        playback_id = f"{announce.call_id}-ann-{uuid.uuid4().hex[:8]}"
        self._announcing[playback_id] = announce.channel_id
        try:
            media, language = list(announce.media), announce.language
            spoken = self._spoken(announce.call_id)
            call = self.query.find_call(announce.call_id)
            if spoken is not None and call is not None and self.prompts is not None:
                position = self.query.position(call.call_id)
                text = position_text(position, self.query.estimated_wait(call.queue, position),
                                     "en" if spoken == "en" else "id")
                media, language = [await self.prompts.media(text, spoken)], spoken
            await self.ari.play(announce.channel_id, media, lang=language, playback_id=playback_id)
            self.counters["announcements"] += 1
        except AriError as exc:
            self._announcing.pop(playback_id, None)
            log.info("call %s: announcement not played: %s", announce.call_id, exc)

    async def _cleanup_call(self, call: WorkItem) -> None:
        await self.monitors.call_ended(call.call_id)
        # A caller who hangs up mid-announcement never gets a PlaybackFinished (no events after StasisEnd).
        for playback_id in [p for p, channel in self._announcing.items() if channel == call.channel_id]:
            del self._announcing[playback_id]
        async with self.lock(call.call_id):
            bridge_id = call_bridge_id(call.call_id, call.connections)
            if call.answered_at is not None and bridge_id not in self._handed_off:
                await self._destroy_call_bridge(bridge_id, "at its end")
        self._locks.pop(call.call_id, None)
        self._bridges.pop(call.call_id, None)

    async def _destroy_call_bridge(self, bridge_id: str, when: str) -> None:
        """The call's bridge goes. Gone already is expected, so no warning: Asterisk destroys a bridge its last
        channel left, and one that restarted has none (the ~30 calls ended by a reconnect's reconcile)."""
        try:
            await self.ari.destroy_bridge(bridge_id)
        except AriNotFound:
            log.debug("bridge %s already gone %s", bridge_id, when)
        except AriError as exc:
            log.warning("bridge %s not destroyed %s: %s", bridge_id, when, exc)

    async def _ensure_hold_bridge(self, queue: str) -> str:
        bridge_id = hold_bridge_id(queue)
        if bridge_id not in self._hold_bridges:
            # Creating with a fixed id is idempotent in ARI, so this also adopts the bridge after a restart.
            await self.ari.create_bridge("holding", bridge_id=bridge_id, name=f"hold {queue}")
            self._hold_bridges.add(bridge_id)
        return bridge_id

    async def _into_holding(self, bridge_id: str, channel_id: str) -> None:
        """A caller into a holding bridge; into an empty one, with its music started again: Asterisk's music
        announcer leaves a holding bridge that has emptied, and the next caller would wait in silence
        (tests/e2e/test_call_controls.py). The music starts after the caller is in, so nobody hears a gap."""
        empty = bridge_id not in self._held_in.values()
        await self.ari.add_channel(bridge_id, channel_id)
        self._held_in[channel_id] = bridge_id
        if empty:
            await self.ari.start_bridge_moh(bridge_id, "default")
