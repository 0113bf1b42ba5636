"""The IVR on real calls: runs an :class:`~cti.ivr._session.IvrSession` per caller over ARI.

The caller stays out of any bridge while in the IVR, so prompts play straight to their channel. To hear
them, a snoop on the caller (``spy=in``: only what the caller says, never our prompts) is bridged with an
``externalMedia`` channel that streams it as RTP (slin16) to a UDP socket of ours; the audio feeds a
recognizer in a worker thread (decoding never blocks the event loop). Energy-based endpointing finds
where speech starts (barge-in) and ends (decision).

What the session asks (:data:`cti.ivr.FlowCommand`) maps onto ARI as:

- ``Play``: the text is rendered by the prompt source (TTS, cached) and played with ``sound:`` in the
  session's language; prompts of a batch play one after another. A ``personal`` prompt (a lookup's answer:
  a balance, an order) is rendered for this caller only and its audio deleted when they leave the IVR.
- ``StopPlayback``: ``DELETE /playbacks/{id}`` and the queued prompts are dropped.
- ``Listen``: keys are forwarded; speech is recognised against the menu's grammar; the no-input timer
  starts when no prompt is playing and restarts on each key.
- ``Record``: ``POST /channels/{id}/record`` (what the caller says, not what they hear; Asterisk's beep, its
  silence detection and terminator key); its RecordingFinished brings the audio over ARI into the call's
  ``recordings`` (Asterisk's copy deleted), for the handoff to keep (:meth:`IvrRunner.recorded_audio`). A
  recording cut by the caller's hang-up still arrives, after the handoff was told.
- ``Lookup`` / ``Verify``: self-service answers and the check of a caller's PIN or date of birth, each in a task
  of its own (bounded in time); the keys a caller entered are never logged.
- ``Transfer``/``Hangup``: the prompt first, then the audio path goes and the call is handed to routing
  (the caller's :class:`IvrHandoff`, which the telephony adapter gives each caller) or hung up.

The session's commands are carried out through a handler table (one method per command type).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cti.ari import AriClient, AriError, AriNotFound, LiveRecording
from cti.errors import Unavailable
from cti.ivr import (
    Caller,
    CallerHangup,
    Dtmf,
    Finished,
    FlowCommand,
    FlowEvent,
    Flows,
    GrammarChoice,
    Hangup,
    IvrSession,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    Play,
    PromptFinished,
    Record,
    Recorded,
    SetAttributes,
    SpeechResult,
    SpeechStarted,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
    Verbalizer,
    Verify,
    VerifyResult,
)
from cti.speech import RtpReceiver
from cti.telephony._entries import StasisEntries
from cti.telephony._stored import take_stored_recording
from cti.types import masked

__all__ = [
    "IvrCall", "IvrHandoff", "IvrRunner", "PromptSource", "Recognition", "Recognizer", "SelfService", "SpeechSession",
]

log = logging.getLogger("cti.telephony.ivr")

FRAME_MS = 20
SPEECH_RMS = 900.0  # 16-bit RMS that counts as voice (espeak-ng over a telephone line: 2000-8000)
SPEECH_START_MS = 80  # voice for this long starts an utterance (barge-in)
SPEECH_END_MS = 700  # silence for this long ends it
MAX_UTTERANCE_MS = 8000  # a monologue is cut here and decided on what was heard
PREROLL_FRAMES = 20  # 400 ms of audio before the detected start of speech
RECORDING_WAIT_S = 10.0  # for a recording's end to arrive once its caller has gone
TAP_ENTRY_TIMEOUT_S = 5.0  # for the tap's snoop and media channels to enter Stasis (milliseconds, normally)


class PromptSource(Protocol):
    async def media(self, text: str, language: str) -> str:
        """The ``sound:`` URI that plays ``text`` in ``language`` (rendered and installed if needed)."""
        ...

    async def personal(self, text: str, language: str) -> str:
        """The URI of ``text`` rendered for one caller only (it carries their data): never cached."""
        ...

    def release(self, media: str) -> None:
        """Delete what :meth:`personal` rendered."""
        ...


@dataclass(frozen=True, slots=True)
class Recognition:
    intent: str | None
    text: str
    confidence: float
    # An open question's answer only (what the steering model understood):
    decision: str | None = None
    alternatives: tuple[str, ...] = ()
    entities: Mapping[str, str] = field(default_factory=dict)


class SpeechSession(Protocol):
    def feed(self, pcm: bytes) -> None:
        """16 kHz mono signed 16-bit little-endian audio; called from one worker thread at a time."""
        ...

    def finish(self) -> Recognition: ...

    def close(self) -> None:
        """Give the recognizer back without a result (a key, a timeout, a hang-up); idempotent. May be called from
        another thread while ``feed`` or ``finish`` runs: it waits for them."""
        ...


class Recognizer(Protocol):
    def start(self, grammar: Sequence[GrammarChoice], languages: Sequence[str]) -> SpeechSession: ...

    def start_open(self, model: str, language: str) -> SpeechSession:
        """A caller's answer to an open question, understood by the steering model ``model``."""
        ...


class SelfService(Protocol):
    async def lookup(self, kind: str, key: str, customer_id: str | None = None) -> LookupResult:
        """A self-service answer; a personal one only about ``customer_id`` (the verified caller)."""
        ...

    async def verify(self, customer_id: str, keys: str) -> VerifyResult:
        """Whether ``keys`` are the PIN or the date of birth of customer ``customer_id``."""
        ...


class IvrHandoff(Protocol):
    """Where a caller goes when their flow is over: to routing, or recorded as served (or abandoned) here."""

    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None: ...

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None: ...


@dataclass(slots=True)
class IvrCall:
    channel_id: str
    caller_number: str
    caller_name: str | None
    service_number: str
    flow: str
    session: IvrSession
    handoff: IvrHandoff
    started: float = field(default_factory=time.monotonic)
    customer_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    queue: list[tuple[str, str, str]] = field(default_factory=list)  # (prompt id, media, language)
    playing: str | None = None  # playback id
    playing_prompt: str | None = None
    listen: Listen | None = None
    timer: asyncio.TimerHandle | None = None
    speech: SpeechSession | None = None
    starting: asyncio.Event | None = None  # set once the session being started for the listen is ready (or not)
    speech_task: asyncio.Task[None] | None = None
    audio: asyncio.Queue[tuple[Listen, bytes | None]] | None = None  # for the listen it was heard in
    voiced_ms: int = 0
    silent_ms: int = 0
    utterance_ms: int = 0
    in_utterance: bool = False
    deciding: bool = False  # an utterance ended; its result is being decoded
    preroll: list[bytes] = field(default_factory=list)
    tap: MediaTap | None = None
    after_prompts: Transfer | Hangup | None = None
    finished: Finished | None = None
    ended: bool = False
    played: list[str] = field(default_factory=list)  # texts played, for the record and tests
    personal: list[str] = field(default_factory=list)  # media rendered for this caller only: deleted at the end
    recording: str | None = None  # the name in Asterisk of the recording going on
    gone_at: datetime | None = None  # when the caller hung up, by Asterisk's event
    recordings: dict[str, asyncio.Future[bytes | None]] = field(default_factory=dict)  # record id -> its audio


@dataclass(slots=True)
class MediaTap:
    """A snoop on the caller and an externalMedia channel sending what it hears to our UDP socket."""

    snoop_id: str
    media_id: str
    bridge_id: str
    transport: asyncio.DatagramTransport


class IvrRunner:
    def __init__(self, ari: AriClient, flows: Flows, *, prompts: PromptSource, recognizer: Recognizer | None,
                 self_service: SelfService, verbalizer: Verbalizer,
                 identify: Callable[[str], Awaitable[tuple[str | None, str | None, Mapping[str, str]]]] | None = None,
                 rtp_host: str = "127.0.0.1") -> None:
        self.ari = ari
        self.flows = flows
        self.prompts = prompts
        self.recognizer = recognizer
        self.self_service = self_service
        self.verbalizer = verbalizer
        self.identify = identify
        self.rtp_host = rtp_host
        self.calls: dict[str, IvrCall] = {}
        self._playbacks: dict[str, str] = {}  # playback id -> caller channel
        self._taps: dict[str, str] = {}  # snoop / media channel -> caller channel
        self._recordings: dict[str, tuple[IvrCall, str]] = {}  # recording name in Asterisk -> (call, record id)
        self._entering = StasisEntries()  # the taps' snoop and media channels
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cti-asr")
        self.stats: dict[str, int] = {"sessions": 0, "speech_results": 0, "barge_ins": 0}
        # The session's commands, one handler each.
        self._handlers: dict[type[Any], Callable[[IvrCall, Any], Awaitable[None]]] = {
            Play: self._play, StopPlayback: self._stop_playback, Listen: self._listen,
            StopListening: self._stop_listening_command, Lookup: self._start_lookup, Verify: self._start_verify,
            SetAttributes: self._set_attributes, Record: self._record,
            Transfer: self._leave_after_prompts, Hangup: self._leave_after_prompts, Finished: self._finished}

    def flow_for(self, service_number: str) -> str | None:
        return self.flows.flow_for(service_number)

    def owns(self, channel_id: str) -> bool:
        return channel_id in self.calls or channel_id in self._taps

    def owns_playback(self, playback_id: str) -> bool:
        return playback_id in self._playbacks

    def owns_recording(self, name: str) -> bool:
        return name in self._recordings

    async def close(self) -> None:
        for call in list(self.calls.values()):
            await self._teardown(call)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- ARI events in ---------------------------------------------------------------------------------
    async def start(self, channel_id: str, number: str, name: str | None, service: str, flow: str,
                    handoff: IvrHandoff, *, language: str | None = None, answered: bool = False) -> None:
        """Run ``flow`` for the caller on ``channel_id``; ``language`` known already skips its question (and wins
        over the customer's stored one); ``answered``: the channel is up (a caller kept on after a call)."""
        customer_id: str | None = None
        attributes: Mapping[str, str] = {}
        if self.identify is not None:
            try:
                customer_id, stored, attributes = await self.identify(number)
                language = language or stored
            except Exception:
                log.exception("caller identification failed for %s; going on as an unknown caller", masked(number))
        session = IvrSession(self.flows, flow, verbalizer=self.verbalizer,
                             caller=Caller(language=language, customer_id=customer_id, attributes=attributes),
                             speech=self.recognizer is not None)
        call = IvrCall(channel_id, number, name, service, flow, session, handoff, customer_id=customer_id,
                       attributes=dict(attributes))
        self.calls[channel_id] = call
        self.stats["sessions"] += 1
        try:
            if not answered:
                await self.ari.answer(channel_id)
        except AriError as exc:
            log.info("IVR call %s gone before the answer: %s", channel_id, exc)
            await self.caller_gone(channel_id)
            return
        await self._feed(call, Started())

    async def dtmf(self, channel_id: str, digit: str) -> None:
        call = self.calls.get(channel_id)
        if call is not None and call.listen is not None:
            self._restart_timer(call)
        if call is not None:
            await self._feed(call, Dtmf(digit))

    async def playback_finished(self, playback_id: str) -> None:
        channel_id = self._playbacks.pop(playback_id, None)
        call = self.calls.get(channel_id or "")
        if call is None or call.playing != playback_id:
            return
        prompt_id = call.playing_prompt
        call.playing = call.playing_prompt = None
        await self._play_next(call)
        if prompt_id is not None:
            await self._feed(call, PromptFinished(prompt_id))

    async def caller_gone(self, channel_id: str, *, at: datetime | None = None) -> None:
        """The caller hung up (``at``: when, by Asterisk's event, on the distributor's clock)."""
        call = self.calls.get(channel_id)
        if call is not None and not call.ended:
            call.ended = True
            call.gone_at = at
            await self._feed(call, CallerHangup())
            await self._teardown(call)

    async def recording_ended(self, recording: LiveRecording, *, failed: bool) -> None:
        """RecordingFinished (or RecordingFailed) of a ``Record``: its audio taken from Asterisk, kept for the
        handoff if the caller said something, and the session told (if the caller is still here)."""
        entry = self._recordings.pop(recording.name, None)
        if entry is None:
            return
        call, record_id = entry
        if call.recording == recording.name:
            call.recording = None
        spoken = not failed and recording.talking_duration > 0
        audio: bytes | None = None
        try:
            # Taken even when nothing was said: Asterisk's copy must not stay behind.
            audio = None if failed else await take_stored_recording(self.ari, recording.name)
        except Unavailable as exc:
            log.warning("IVR recording %s of %s lost: %s", recording.name, call.channel_id, exc)
        kept = audio if spoken else None
        future = call.recordings.get(record_id)
        if future is not None and not future.done():
            future.set_result(kept)
        if not call.ended and call.channel_id in self.calls:
            await self._feed(call, Recorded(record_id, float(recording.duration), kept is not None,
                                            error=(recording.cause or "failed") if failed else None))

    async def recorded_audio(self, call: IvrCall, record_id: str, timeout: float = RECORDING_WAIT_S) -> bytes | None:
        """The audio of the call's recording ``record_id`` once it has ended (None: nothing said, or lost)."""
        future = call.recordings.get(record_id)
        if future is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            log.warning("IVR recording %s of %s never ended", record_id, call.channel_id)
            for name, (owner, rid) in list(self._recordings.items()):
                if owner is call and rid == record_id:
                    del self._recordings[name]
            return None

    def tap_entered(self, channel_id: str) -> bool:
        """StasisStart of a snoop or media channel: it may join the tap's bridge now. True if it is one of ours."""
        self._entering.release(channel_id)
        return channel_id in self._taps

    async def tap_gone(self, channel_id: str) -> None:
        self._entering.gone(channel_id, "ended")
        caller = self._taps.pop(channel_id, None)
        call = self.calls.get(caller or "")
        if call is not None and call.tap is not None:
            log.info("IVR audio path of %s lost (%s); keys still work", call.channel_id, channel_id)

    # -- the session's commands out ------------------------------------------------------------------------
    async def _feed(self, call: IvrCall, event: FlowEvent) -> None:
        commands = call.session.handle(event, elapsed_s=time.monotonic() - call.started)
        await self._run(call, commands)

    async def _run(self, call: IvrCall, commands: list[FlowCommand]) -> None:
        for command in commands:
            await self._handlers[type(command)](call, command)

    async def _play(self, call: IvrCall, command: Play) -> None:
        if command.personal:
            media = await self.prompts.personal(command.text, command.language)
            call.personal.append(media)
        else:
            media = await self.prompts.media(command.text, command.language)
        call.queue.append((command.prompt_id, media, command.language))
        call.played.append(command.text)
        if call.playing is None:
            await self._play_next(call)

    async def _stop_playback(self, call: IvrCall, command: StopPlayback) -> None:
        call.queue.clear()
        playing, call.playing, call.playing_prompt = call.playing, None, None
        if playing is not None:
            self._playbacks.pop(playing, None)
            with contextlib.suppress(AriError):
                await self.ari.stop_playback(playing)
            self.stats["barge_ins"] += 1
        if call.listen is not None:
            self._restart_timer(call)

    async def _stop_listening_command(self, call: IvrCall, command: StopListening) -> None:
        self._stop_listening(call)

    async def _start_lookup(self, call: IvrCall, command: Lookup) -> None:
        asyncio.get_running_loop().create_task(self._lookup(call, command))

    async def _start_verify(self, call: IvrCall, command: Verify) -> None:
        asyncio.get_running_loop().create_task(self._verify(call, command))

    async def _set_attributes(self, call: IvrCall, command: SetAttributes) -> None:
        call.attributes.update(command.attributes)
        if command.attributes.get("customer_id"):
            call.customer_id = command.attributes["customer_id"]

    async def _record(self, call: IvrCall, command: Record) -> None:
        name = f"cti-ivr-{uuid.uuid4().hex}"
        call.recordings[command.record_id] = asyncio.get_running_loop().create_future()
        self._recordings[name] = (call, command.record_id)
        call.recording = name
        try:
            await self.ari.record_channel(call.channel_id, name, format="wav", max_s=command.max_s,
                                          max_silence_s=command.silence_s, beep=command.beep,
                                          terminate_on=command.terminator or "none")
        except AriError as exc:
            log.warning("IVR recording on %s did not start: %s", call.channel_id, exc)
            self._recordings.pop(name, None)
            call.recording = None
            call.recordings[command.record_id].set_result(None)
            if not call.ended:
                await self._feed(call, Recorded(command.record_id, error=str(exc) or type(exc).__name__))

    async def _leave_after_prompts(self, call: IvrCall, command: Transfer | Hangup) -> None:
        self._stop_listening(call)
        call.after_prompts = command
        if command.prompt is not None:
            await self._run(call, [command.prompt])

    async def _finished(self, call: IvrCall, command: Finished) -> None:
        call.finished = command
        await self._maybe_leave(call)

    async def _play_next(self, call: IvrCall) -> None:
        while call.queue and not call.ended:
            prompt_id, media, language = call.queue.pop(0)
            playback_id = f"ivr-{call.channel_id}-{prompt_id}"[:120]
            self._playbacks[playback_id] = call.channel_id
            call.playing, call.playing_prompt = playback_id, prompt_id
            try:
                await self.ari.play(call.channel_id, media, playback_id=playback_id, lang=language)
                return
            except AriError as exc:
                log.warning("IVR prompt %s not played on %s: %s", prompt_id, call.channel_id, exc)
                self._playbacks.pop(playback_id, None)
                call.playing = call.playing_prompt = None
                await self._feed(call, PromptFinished(prompt_id))  # heard or not, the flow moves on
        if call.playing is None:
            if call.listen is not None:
                self._restart_timer(call)
            await self._maybe_leave(call)

    async def _maybe_leave(self, call: IvrCall) -> None:
        """After the last prompt of a Transfer or Hangup, and once the session has finished, act on it."""
        waiting = call.playing is not None or call.queue  # a caller gone hears nothing more: no prompt to wait for
        if call.finished is None or (waiting and not call.ended) or call.channel_id not in self.calls:
            return
        finished, after = call.finished, call.after_prompts
        await self._teardown(call)
        if call.ended or finished.outcome == "abandoned_in_ivr":
            await call.handoff.ivr_end(call, finished)
        elif isinstance(after, Transfer):
            await call.handoff.ivr_transfer(call, after, finished)
        else:
            await call.handoff.ivr_end(call, finished)
            with contextlib.suppress(AriError):
                await self.ari.hangup(call.channel_id)

    # -- input -------------------------------------------------------------------------------------------
    async def _listen(self, call: IvrCall, listen: Listen) -> None:
        self._stop_listening(call)
        call.listen = listen
        if listen.speech_enabled and self.recognizer is not None and (listen.grammar or listen.open):
            try:
                await self._ensure_tap(call)
            except Exception as exc:  # no audio path: keys still work
                log.warning("IVR %s: no speech input (%s); keys only", call.channel_id, exc)
            else:
                if call.listen is listen and not call.ended:  # else a key or the hang-up came first
                    await self._start_speech(call, listen)
        if call.listen is listen and call.playing is None:
            self._restart_timer(call)

    async def _start_speech(self, call: IvrCall, listen: Listen) -> None:
        """Start ``listen``'s recognizer session. Meanwhile the caller's audio is endpointed and queued, not
        dropped: starting waits for the pool, seconds on a busy server, and a caller who answers over the prompt
        at once would lose their first words (a sentence heard as its last word)."""
        started = call.starting = asyncio.Event()
        try:
            speech = await self._hear(listen)
        except Exception as exc:  # no recognizer for this menu: keys still work
            log.warning("IVR %s: no speech input (%s); keys only", call.channel_id, exc)
            if call.listen is listen:  # an utterance begun meanwhile is never decided: back to waiting for keys
                call.in_utterance = call.deciding = False
                call.preroll.clear()
                if call.playing is None:
                    self._restart_timer(call)
        else:
            if call.listen is listen and call.speech is None and not call.ended:
                call.speech = speech
            else:  # a key or the hang-up came first
                self._release_speech(speech)
        finally:
            started.set()
            if call.starting is started:
                call.starting = None

    async def _hear(self, listen: Listen) -> SpeechSession:
        """A recognizer session for ``listen``, started in the pool: starting may load a decoder or compile a
        grammar or language model (tens of milliseconds to seconds), never on the event loop."""
        recognizer = self.recognizer
        assert recognizer is not None
        if listen.open is not None:
            language = listen.languages[0]
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, recognizer.start_open, listen.open, language)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, recognizer.start, listen.grammar, listen.languages)

    def _release_speech(self, speech: SpeechSession) -> None:
        """Give an unfinished session's decoder back (a dropped one would be lost to the pool, which would load a
        new one for the next caller). In the pool: it may be decoding there."""
        try:
            self._pool.submit(speech.close)
        except RuntimeError:  # the runner is closing
            speech.close()

    def _stop_listening(self, call: IvrCall) -> None:
        call.listen = None
        if call.speech is not None:
            self._release_speech(call.speech)
        call.speech = call.starting = None
        call.in_utterance = call.deciding = False
        call.voiced_ms = call.silent_ms = call.utterance_ms = 0
        call.preroll.clear()
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _restart_timer(self, call: IvrCall) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        listen = call.listen
        if listen is None or call.playing is not None or call.in_utterance:
            return
        loop = asyncio.get_running_loop()
        call.timer = loop.call_later(listen.timeout_s, lambda: loop.create_task(self._no_input(call, listen)))

    async def _no_input(self, call: IvrCall, listen: Listen) -> None:
        if call.listen is listen and not call.in_utterance and not call.ended:
            await self._feed(call, NoInput(listen.listen_id))

    async def _lookup(self, call: IvrCall, lookup: Lookup) -> None:
        try:
            result = await asyncio.wait_for(self.self_service.lookup(lookup.kind, lookup.key, lookup.customer_id), 5.0)
        except Exception as exc:
            log.warning("IVR lookup %s %s failed: %s", lookup.kind, masked(lookup.key), exc)
            result = LookupResult(lookup.kind, False, error=str(exc) or type(exc).__name__)
        if not call.ended and call.channel_id in self.calls:
            await self._feed(call, result)

    async def _verify(self, call: IvrCall, verify: Verify) -> None:
        try:
            result = await asyncio.wait_for(self.self_service.verify(verify.customer_id, verify.keys), 5.0)
        except Exception as exc:
            log.warning("IVR verification on %s not made: %s", call.channel_id, type(exc).__name__)
            result = VerifyResult(False, error=type(exc).__name__)
        if not call.ended and call.channel_id in self.calls:
            await self._feed(call, result)

    # -- audio ---------------------------------------------------------------------------------------------
    async def _ensure_tap(self, call: IvrCall) -> None:
        if call.tap is not None:
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: RtpReceiver(lambda pcm: self._audio(call, pcm), codec="slin16"), local_addr=(self.rtp_host, 0))
        port = transport.get_extra_info("sockname")[1]
        # The bridge's id is new for each tap: a caller may be heard by a second IVR (a post-call survey, a restart
        # after a takeover), and Asterisk keeps a destroyed bridge's id taken a while (409 on a re-create).
        tap = MediaTap(f"{call.channel_id}-ivr-snoop", f"{call.channel_id}-ivr-media",
                       f"cti-ivr-{call.channel_id}-{uuid.uuid4().hex[:8]}", transport)
        call.tap = tap
        self._taps[tap.snoop_id] = self._taps[tap.media_id] = call.channel_id
        # The bridge waits for both channels to be in Stasis (cti.telephony._entries says why).
        entered = {channel_id: self._entering.expect(channel_id) for channel_id in (tap.snoop_id, tap.media_id)}
        try:
            await self.ari.snoop(call.channel_id, app_args="ivr-snoop", snoop_id=tap.snoop_id, spy="in")
            await self.ari.external_media(channel_id=tap.media_id, external_host=f"{self.rtp_host}:{port}",
                                          audio_format="slin16")
            await self.ari.create_bridge("mixing", bridge_id=tap.bridge_id, name=f"ivr {call.channel_id}")
            await asyncio.wait_for(asyncio.gather(*entered.values()), TAP_ENTRY_TIMEOUT_S)
        except TimeoutError as exc:
            raise AriError(f"the audio tap's channels not in Stasis after {TAP_ENTRY_TIMEOUT_S:.0f} s") from exc
        finally:
            for channel_id in entered:
                self._entering.forget(channel_id)
        await self.ari.add_channel(tap.bridge_id, [tap.snoop_id, tap.media_id])
        log.debug("IVR %s: listening on 127.0.0.1:%d", call.channel_id, port)

    def _audio(self, call: IvrCall, pcm: bytes) -> None:
        """One RTP frame heard from the caller (event loop). Endpointing here; decoding in the pool."""
        listen = call.listen
        if listen is None or call.ended or call.deciding or (call.speech is None and call.starting is None):
            return
        samples = array.array("h", pcm)
        rms = (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5
        ms = len(samples) * 1000 // 16000
        if call.audio is None:
            call.audio = asyncio.Queue()
            call.speech_task = asyncio.get_running_loop().create_task(self._decode(call))
        if rms >= SPEECH_RMS:
            call.voiced_ms += ms
            call.silent_ms = 0
        else:
            call.silent_ms += ms
            if not call.in_utterance:
                call.voiced_ms = 0
        if not call.in_utterance:
            # Only the utterance goes to the recognizer, from a little before its start: seconds of line noise
            # before a word drag a grammar decoder's confidence down.
            call.preroll.append(pcm)
            del call.preroll[:-PREROLL_FRAMES]
        else:
            call.audio.put_nowait((listen, pcm))
        if not call.in_utterance and call.voiced_ms >= SPEECH_START_MS:
            log.debug("IVR %s: speech started (rms %.0f)", call.channel_id, rms)
            for frame in call.preroll:
                call.audio.put_nowait((listen, frame))
            call.preroll.clear()
            call.in_utterance = True
            if call.timer is not None:
                call.timer.cancel()
                call.timer = None
            asyncio.get_running_loop().create_task(self._feed(call, SpeechStarted()))
        if call.in_utterance:
            call.utterance_ms += ms
            if call.silent_ms >= SPEECH_END_MS or call.utterance_ms >= MAX_UTTERANCE_MS:
                call.deciding = True
                call.audio.put_nowait((listen, None))  # decide on what was heard

    async def _decode(self, call: IvrCall) -> None:
        loop = asyncio.get_running_loop()
        assert call.audio is not None
        while True:
            heard_in, pcm = await call.audio.get()
            starting = call.starting
            if call.speech is None and starting is not None and call.listen is heard_in:
                await starting.wait()  # heard while its session was starting: decoded once it is ready
            speech, listen = call.speech, call.listen
            if speech is None or listen is not heard_in:
                continue
            if pcm is not None:
                await loop.run_in_executor(self._pool, speech.feed, pcm)
                continue
            result = await loop.run_in_executor(self._pool, speech.finish)
            log.debug("IVR %s: heard %d words -> %s (%.2f)", call.channel_id, len(result.text.split()), result.intent,
                      result.confidence)
            call.deciding = False
            if call.listen is not listen or call.ended:
                continue
            self.stats["speech_results"] += 1
            call.in_utterance = False
            call.voiced_ms = call.silent_ms = call.utterance_ms = 0
            if call.listen is listen and call.speech is speech:
                call.speech = None  # spent: a fresh one below, if the same listen goes on after the result
            await self._feed(call, SpeechResult(result.intent, result.text, result.confidence, listen.listen_id,
                                                result.decision, result.alternatives, result.entities))
            # The result first, the next session after: starting one waits for the recognizers' pool.
            if call.listen is listen and call.speech is None and not call.ended and self.recognizer is not None:
                await self._start_speech(call, listen)

    async def _teardown(self, call: IvrCall) -> None:
        self.calls.pop(call.channel_id, None)
        self._stop_listening(call)
        if call.recording is not None and not call.ended:  # the flow moved on (its guard): what was said is kept
            with contextlib.suppress(AriError):
                await self.ari.stop_recording(call.recording)
        # The caller heard them (or hung up): audio of their balance or order has no reason to outlive the call.
        while call.personal:
            self.prompts.release(call.personal.pop())
        for playback_id in [p for p, c in self._playbacks.items() if c == call.channel_id]:
            del self._playbacks[playback_id]
            if not call.ended:
                with contextlib.suppress(AriError):
                    await self.ari.stop_playback(playback_id)
        if call.speech_task is not None:
            call.speech_task.cancel()
        tap, call.tap = call.tap, None
        if tap is None:
            return
        tap.transport.close()
        for channel_id in (tap.snoop_id, tap.media_id):
            self._taps.pop(channel_id, None)
            self._entering.gone(channel_id, "hung up")
            with contextlib.suppress(AriNotFound, AriError):
                await self.ari.hangup(channel_id)
        with contextlib.suppress(AriNotFound, AriError):
            await self.ari.destroy_bridge(tap.bridge_id)
