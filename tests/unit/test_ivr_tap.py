"""The IVR's audio tap against an Asterisk that, like the real one, lets its snoop and externalMedia channels
enter Stasis a moment after the POSTs that make them have answered (each on a thread of its own)."""

from __future__ import annotations

import array
import asyncio
import struct
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cti.ari import AriClient, AriHTTPError
from cti.ari._client import ParamValue
from cti.ivr import Finished, GrammarChoice, LookupResult, SpeakVerbalizer, Transfer, load_flows_file
from cti.telephony import IvrCall, IvrRunner, Recognition
from tests.support import rtp_packet

FLOWS = load_flows_file(Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml")
CALLER = "1796499272.0"
SNOOP, MEDIA = f"{CALLER}-ivr-snoop", f"{CALLER}-ivr-media"


class LateStasis(AriClient):
    """Channels made over REST enter Stasis ``delay`` seconds after the answer (never, for ``stuck`` ones);
    addChannel refuses a channel not yet in Stasis, as Asterisk does."""

    def __init__(self, delay: float = 0.02, stuck: Sequence[str] = ()) -> None:
        super().__init__("http://127.0.0.1:8088", "cti", "secret", "cti-test")
        self.delay = delay
        self.stuck = set(stuck)
        self.runner: IvrRunner | None = None
        self.in_stasis = {CALLER}
        self.log: list[str] = []

    async def request(self, method: str, path: str, *, params: Mapping[str, ParamValue] | None = None,
                      json: Any = None) -> Any:
        params = params or {}
        made = params.get("snoopId") or (params.get("channelId") if path == "/channels/externalMedia" else None)
        if isinstance(made, str):
            self.log.append(f"{method} {path}")
            if made not in self.stuck:
                asyncio.get_running_loop().call_later(self.delay, self._stasis_start, made)
            return {"id": made}
        if path.endswith("/addChannel"):
            self.log.append(f"{method} {path}")
            channels = params["channel"]
            assert isinstance(channels, list)  # the tap adds both channels in one request
            for channel_id in channels:
                if channel_id not in self.in_stasis:
                    raise AriHTTPError(422, method, path, "Channel not in Stasis application")
            return None
        if path.endswith("/play"):
            return {"id": params["playbackId"]}
        if path.startswith("/bridges/") and method == "POST":
            self.log.append(f"{method} {path}")
            return {"id": path.rsplit("/", 1)[1]}
        return None

    def _stasis_start(self, channel_id: str) -> None:
        # What the telephony adapter does with the channel's StasisStart.
        self.in_stasis.add(channel_id)
        self.log.append(f"StasisStart {channel_id}")
        assert self.runner is not None and self.runner.tap_entered(channel_id)


class Prompts:
    async def media(self, text: str, language: str) -> str:
        return f"sound:cti/{abs(hash(text))}"


class Session:
    def __init__(self, heard: str) -> None:
        self.heard = heard
        self.closed = False

    def feed(self, pcm: bytes) -> None:
        pass

    def finish(self) -> Recognition:
        return Recognition(None, "", 0.0)

    def close(self) -> None:
        self.closed = True


class Recognizer:
    def __init__(self) -> None:
        self.sessions: list[Session] = []

    def start(self, grammar: Sequence[GrammarChoice], languages: Sequence[str]) -> Session:
        self.sessions.append(Session(f"menu {','.join(languages)}"))
        return self.sessions[-1]

    def start_open(self, model: str, language: str) -> Session:
        self.sessions.append(Session(f"open {model} {language}"))
        return self.sessions[-1]


class NoSelfService:
    async def lookup(self, kind: str, key: str) -> LookupResult:
        return LookupResult(kind, False)


class Handoff:
    def __init__(self) -> None:
        self.ended: list[tuple[IvrCall, Finished]] = []

    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None:
        pass

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None:
        self.ended.append((call, finished))


async def answered_caller(ari: LateStasis) -> IvrCall:
    """A caller to the support line: answered, the language prompt playing, listening for speech."""
    runner = ari.runner = IvrRunner(ari, FLOWS, prompts=Prompts(), recognizer=Recognizer(),
                                    self_service=NoSelfService(), verbalizer=SpeakVerbalizer())
    await runner.start(CALLER, "0215550405", None, "1500200", "support", Handoff())
    return runner.calls[CALLER]


async def test_the_tap_is_bridged_once_both_its_channels_are_in_stasis() -> None:
    ari = LateStasis()
    call = await answered_caller(ari)
    try:
        assert call.tap is not None and call.speech is not None, "the caller's speech is not heard"
        bridge = f"POST /bridges/{call.tap.bridge_id}/addChannel"
        assert call.tap.bridge_id.startswith(f"cti-ivr-{CALLER}-")
        assert ari.log.index(bridge) > max(ari.log.index(f"StasisStart {SNOOP}"), ari.log.index(f"StasisStart {MEDIA}"))
    finally:
        assert ari.runner is not None
        await ari.runner.close()


async def test_a_tap_channel_gone_before_stasis_leaves_keys_at_once() -> None:
    ari = LateStasis(stuck=[SNOOP])
    runner = ari.runner = IvrRunner(ari, FLOWS, prompts=Prompts(), recognizer=Recognizer(),
                                    self_service=NoSelfService(), verbalizer=SpeakVerbalizer())
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(runner.tap_gone(SNOOP)))
    try:
        await asyncio.wait_for(runner.start(CALLER, "0215550405", None, "1500200", "support", Handoff()), 1.0)
        call = runner.calls[CALLER]
        assert call.speech is None and call.listen is not None  # keys only, and listening for them
        assert not any(line.endswith("/addChannel") for line in ari.log)
    finally:
        await runner.close()


async def test_each_listen_s_recognizer_session_is_given_back_when_the_listen_ends_without_a_result() -> None:
    """A key ends a listen whose session never finished: its decoder goes back to the pool (dropped, it was lost
    and the next caller's menu loaded a new one); the open question gets a session of its steering model."""
    ari = LateStasis()
    recognizer = Recognizer()
    runner = ari.runner = IvrRunner(ari, FLOWS, prompts=Prompts(), recognizer=recognizer,
                                    self_service=NoSelfService(), verbalizer=SpeakVerbalizer())
    try:
        await runner.start(CALLER, "0215550405", None, "1500200", "support", Handoff())
        call = runner.calls[CALLER]
        await runner.dtmf(CALLER, "2")  # English, at the language menu
        assert call.playing is not None
        await runner.playback_finished(call.playing)  # the welcome: then the open question, heard openly
        assert call.listen is not None and call.listen.open == "support"
        await runner.dtmf(CALLER, "4")  # a key at the open question: the keypad menu, with it
        await asyncio.sleep(0.05)  # closing happens in the recognizer's pool
        assert [(s.heard, s.closed) for s in recognizer.sessions] == [
            ("menu id,en", True), ("open support en", True), ("menu en", False)]
        assert call.speech is recognizer.sessions[-1]
    finally:
        await runner.close()


async def test_a_hang_up_carries_asterisk_s_time_to_the_record() -> None:
    """Mid-prompt too: a caller gone hears nothing more, so the record does not wait for the prompt's end (its
    PlaybackFinished may come after the hang-up, or never)."""
    ari = LateStasis()
    runner = ari.runner = IvrRunner(ari, FLOWS, prompts=Prompts(), recognizer=Recognizer(),
                                    self_service=NoSelfService(), verbalizer=SpeakVerbalizer())
    handoff = Handoff()
    try:
        await runner.start(CALLER, "0215550405", None, "1500200", "support", handoff)
        at = datetime(2026, 12, 6, 21, 0, 5, tzinfo=UTC)
        await runner.caller_gone(CALLER, at=at)
        [(call, finished)] = handoff.ended
        assert (call.gone_at, finished.outcome) == (at, "abandoned_in_ivr")
    finally:
        await runner.close()


class Keeping(Session):
    """A session that keeps what it is fed."""

    def __init__(self, heard: str) -> None:
        super().__init__(heard)
        self.fed = bytearray()

    def feed(self, pcm: bytes) -> None:
        self.fed += pcm


class SlowToStart(Recognizer):
    """The open question's session starts only once ``ready`` is set (a busy pool on a loaded server)."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def start_open(self, model: str, language: str) -> Session:
        self.ready.wait(10)
        self.sessions.append(Keeping(f"open {model} {language}"))
        return self.sessions[-1]


def rtp(sequence: int, samples: array.array[int]) -> bytes:
    """One 20 ms slin16 RTP packet as Asterisk's externalMedia sends it (big-endian samples)."""
    return rtp_packet(struct.pack(f"!{len(samples)}h", *samples), seq=sequence, ts=sequence * 320, ssrc=0x1234)


async def test_a_caller_who_answers_while_the_session_starts_is_heard_from_the_first_word() -> None:
    """Starting the open question's session waits for the recognizers' pool (seconds on a busy server): what the
    caller says meanwhile is queued for it, not dropped (CI once heard "I want to talk to an agent" as "good")."""
    ari = LateStasis()
    recognizer = SlowToStart()
    runner = ari.runner = IvrRunner(ari, FLOWS, prompts=Prompts(), recognizer=recognizer,
                                    self_service=NoSelfService(), verbalizer=SpeakVerbalizer())
    sender: asyncio.DatagramTransport | None = None
    try:
        await runner.start(CALLER, "0215550405", None, "1500200", "support", Handoff())
        call = runner.calls[CALLER]
        await runner.dtmf(CALLER, "2")  # English: the welcome, then the open question
        assert call.playing is not None and call.tap is not None
        listening = asyncio.ensure_future(runner.playback_finished(call.playing))
        await asyncio.sleep(0.05)
        assert call.listen is not None and call.listen.open == "support" and call.speech is None, "not starting"
        port = call.tap.transport.get_extra_info("sockname")[1]
        sender, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port))
        loud, quiet = array.array("h", [3000, -3000] * 160), array.array("h", [0] * 320)
        frames = [loud] * 50 + [quiet] * 40  # a second of speech, then the silence that ends it
        for sequence, samples in enumerate(frames):
            sender.sendto(rtp(sequence, samples))
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.1)
        assert call.in_utterance or call.deciding, "the speech was not heard while the session started"
        recognizer.ready.set()
        await asyncio.wait_for(listening, 5)
        for _ in range(100):
            if runner.stats["speech_results"]:
                break
            await asyncio.sleep(0.02)
        # The first open session heard it (the no-match then asks again, with a session of its own).
        session = recognizer.sessions[1]
        assert isinstance(session, Keeping) and session.heard == "open support en"
        fed = array.array("h", bytes(session.fed))
        assert fed.count(3000) == 50 * 160, "the first words were lost"
        assert runner.stats["speech_results"] == 1
    finally:
        recognizer.ready.set()
        if sender is not None:
            sender.close()
        await runner.close()
