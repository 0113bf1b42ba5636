"""Audio helpers for the IVR's speech path: RTP parsing, G.711 µ-law, 8k<->16k resampling, energy VAD, RTP receiver.

Asterisk's ``externalMedia`` channel sends RTP to us: a 12-byte header, optional CSRC list and header extension, and
for ``slin16`` a big-endian 16-bit payload (RFC 3551 L16), which we byteswap to the little-endian PCM every recognizer
here takes. Everything but :class:`RtpReceiver` is pure and synchronous.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "EnergyVad",
    "Resampler",
    "RtpError",
    "RtpPacket",
    "RtpReceiver",
    "RtpStats",
    "SpeechEnd",
    "SpeechStart",
    "VadEvent",
    "open_rtp_receiver",
    "parse_rtp",
    "payload_to_pcm",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
]

Codec = Literal["slin16", "slin", "ulaw"]
_Int16 = npt.NDArray[np.int16]


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One parsed RTP packet; ``payload`` is as sent (padding removed)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    csrcs: tuple[int, ...]
    extension: bytes | None
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse an RTP packet (RFC 3550): header, CSRC list, header extension, padding."""
    if len(data) < 12:
        raise RtpError(f"RTP packet too short: {len(data)} bytes")
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    if first >> 6 != 2:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    offset = 12
    csrc_count = first & 0x0F
    if len(data) < offset + 4 * csrc_count:
        raise RtpError("RTP CSRC list truncated")
    csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset)
    offset += 4 * csrc_count
    extension: bytes | None = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpError("RTP header extension truncated")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        end = offset + 4 + 4 * words
        if len(data) < end:
            raise RtpError("RTP header extension truncated")
        extension = data[offset:end]
        offset = end
    end = len(data)
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or offset + padding > end:
            raise RtpError(f"bad RTP padding length {padding}")
        end -= padding
    return RtpPacket(payload_type=second & 0x7F, sequence=sequence, timestamp=timestamp, ssrc=ssrc,
                     marker=bool(second & 0x80), csrcs=tuple(csrcs), extension=extension, payload=data[offset:end])


def payload_to_pcm(payload: bytes, codec: Codec) -> bytes:
    """RTP payload -> little-endian signed 16-bit PCM (``slin``/``slin16`` are big-endian on the wire)."""
    if codec == "ulaw":
        return ulaw_decode(payload)
    if len(payload) % 2:
        raise RtpError(f"odd {codec} payload length {len(payload)}")
    return np.frombuffer(payload, dtype=">i2").astype("<i2").tobytes()


# G.711 µ-law (ITU-T G.711).
_BIAS = 0x84


def _ulaw_decode_table() -> _Int16:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


_ULAW_TABLE = _ulaw_decode_table()


def ulaw_decode(data: bytes) -> bytes:
    """µ-law bytes -> little-endian 16-bit PCM."""
    return _ULAW_TABLE[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """Little-endian 16-bit PCM -> µ-law bytes (the CCITT reference on 14 bits, as Asterisk and audioop do)."""
    value = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), 8159) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)
    code = np.where(segment > 7, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    encoded: bytes = (code ^ mask).astype(np.uint8).tobytes()
    return encoded


_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _halfband_taps(count: int = 47) -> npt.NDArray[np.float64]:
    # Windowed-sinc low-pass at a quarter of the high rate (the low rate's Nyquist), Blackman window: flat to about
    # 3.6 kHz at 16 kHz, which keeps the whole telephone band.
    n = np.arange(count) - (count - 1) / 2
    taps: npt.NDArray[np.float64] = 0.5 * np.sinc(0.5 * n) * np.blackman(count)
    return taps / float(taps.sum())


_TAPS = _halfband_taps()


class Resampler:
    """Streaming 8 kHz <-> 16 kHz resampler; keeps filter history so chunk boundaries are seamless."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        if {from_rate, to_rate} != {8000, 16000} and from_rate != to_rate:
            raise ValueError(f"only 8000 <-> 16000 Hz is supported, not {from_rate} -> {to_rate}")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._history = np.zeros(len(_TAPS) - 1)
        self._phase = 0  # downsampling: parity of the next input sample

    def process(self, pcm: bytes) -> bytes:
        """Resample one chunk of little-endian 16-bit PCM."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        if self.from_rate == self.to_rate or samples.size == 0:
            return pcm if self.from_rate == self.to_rate else b""
        if self.to_rate > self.from_rate:
            stuffed = np.zeros(samples.size * 2)
            stuffed[::2] = samples * 2.0
            filtered = self._filter(stuffed)
        else:
            filtered = self._filter(samples)[self._phase::2]
            self._phase = (self._phase + samples.size) % 2
        out: bytes = np.clip(np.rint(filtered), -32768, 32767).astype("<i2").tobytes()
        return out

    def _filter(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        padded = np.concatenate([self._history, x])
        self._history = padded[-(len(_TAPS) - 1):]
        filtered: npt.NDArray[np.float64] = np.convolve(padded, _TAPS, mode="valid")
        return filtered


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """One-shot resampling (8 kHz <-> 16 kHz); output has ``len * to_rate / from_rate`` samples."""
    return Resampler(from_rate, to_rate).process(pcm)


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """Speech began ``at_ms`` milliseconds into the stream (the first speech frame, not when it was confirmed)."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """Speech ended ``at_ms`` into the stream (after the last speech frame); confirmed ``end_silence_ms`` later."""

    at_ms: int


VadEvent = SpeechStart | SpeechEnd


@dataclass(slots=True)
class EnergyVad:
    """Energy VAD over 10 ms frames with an adaptive noise floor, for barge-in and end-of-speech.

    A frame is speech when its level is ``margin_db`` above the tracked noise floor and above ``min_level_db``
    (dBFS). Speech starts after ``start_ms`` of speech frames within a short window, and ends after
    ``end_silence_ms`` without one. The noise floor follows quiet frames quickly and loud ones very slowly, so a
    long monologue does not raise it into the speech.
    """

    sample_rate: int = 8000
    margin_db: float = 8.0
    min_level_db: float = -55.0
    start_ms: int = 60
    end_silence_ms: int = 300
    frame_ms: int = 10
    in_speech: bool = False
    noise_db: float | None = None
    _buffer: bytes = b""
    _frames: int = 0
    _run: int = 0
    _silence: int = 0
    _first_speech: int = 0
    _last_speech: int = 0

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Consume little-endian 16-bit PCM; return the start/end events it completes."""
        frame_bytes = self.sample_rate * self.frame_ms // 1000 * 2
        data = self._buffer + pcm
        events: list[VadEvent] = []
        usable = len(data) - len(data) % frame_bytes
        for offset in range(0, usable, frame_bytes):
            event = self._frame(data[offset:offset + frame_bytes])
            if event is not None:
                events.append(event)
        self._buffer = data[usable:]
        return events

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio consumed (whole frames)."""
        return self._frames * self.frame_ms

    def _frame(self, frame: bytes) -> VadEvent | None:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        level = 10 * math.log10(float(np.mean(samples * samples)) / 32768.0**2 + 1e-12)
        index = self._frames
        self._frames += 1
        if self.noise_db is None:
            self.noise_db = level
        speech = level > self.noise_db + self.margin_db and level > self.min_level_db
        # Floor: down fast, up slowly (about 1 dB per second of non-speech, 0.1 dB per second of speech).
        if level < self.noise_db:
            self.noise_db = 0.7 * self.noise_db + 0.3 * level
        else:
            self.noise_db += min(level - self.noise_db, 0.01 if not speech else 0.001)
        if not self.in_speech:
            if speech:
                if self._run == 0:
                    self._first_speech = index
                self._run += 1
                self._silence = 0
            elif self._run:
                self._silence += 1
                if self._silence * self.frame_ms > 2 * self.start_ms:
                    self._run = 0
                    self._silence = 0
            if self._run * self.frame_ms >= self.start_ms:
                self.in_speech = True
                self._silence = 0
                self._last_speech = index
                return SpeechStart(self._first_speech * self.frame_ms)
            return None
        if speech:
            self._last_speech = index
            self._silence = 0
            return None
        self._silence += 1
        if self._silence * self.frame_ms >= self.end_silence_ms:
            self.in_speech = False
            self._run = 0
            self._silence = 0
            return SpeechEnd((self._last_speech + 1) * self.frame_ms)
        return None


@dataclass(slots=True)
class RtpStats:
    """Counters of an :class:`RtpReceiver`."""

    packets: int = 0
    bytes: int = 0
    malformed: int = 0
    out_of_order: int = 0
    sources: set[tuple[str, int]] = field(default_factory=set)


class RtpReceiver(asyncio.DatagramProtocol):
    """Receives RTP on a local UDP port and hands decoded little-endian PCM to ``on_audio``.

    ``codec`` is the payload format Asterisk was asked for (``slin16`` by default for ``externalMedia``).
    Late packets (sequence before the last one, modulo 2^16) are dropped: a recognizer wants monotonic audio.
    """

    def __init__(self, on_audio: Callable[[bytes], None], *, codec: Codec = "slin16") -> None:
        self._on_audio = on_audio
        self._codec: Codec = codec
        self._last_sequence: int | None = None
        self.stats = RtpStats()
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: CPython 3.11's selector UDP transport does not derive from DatagramTransport
        # (python/cpython#90352, fixed in 3.12), so such an assert failed on every receiver we opened.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            packet = parse_rtp(data)
            pcm = payload_to_pcm(packet.payload, self._codec)
        except RtpError:
            self.stats.malformed += 1
            return
        if self._last_sequence is not None and 0 < (self._last_sequence - packet.sequence) % 65536 < 32768:
            self.stats.out_of_order += 1
            return
        self._last_sequence = packet.sequence
        self.stats.packets += 1
        self.stats.bytes += len(pcm)
        self.stats.sources.add((str(addr[0]), addr[1]))
        self._on_audio(pcm)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def open_rtp_receiver(on_audio: Callable[[bytes], None], *, port: int = 0, host: str = "127.0.0.1",
                            codec: Codec = "slin16") -> tuple[asyncio.DatagramTransport, RtpReceiver]:
    """Bind an :class:`RtpReceiver` on ``host:port`` (port 0 picks a free one: read it from the transport)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: RtpReceiver(on_audio, codec=codec),
                                                              local_addr=(host, port))
    return transport, protocol
