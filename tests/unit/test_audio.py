"""RTP parsing, µ-law, resampling, the energy VAD, and the RTP receiver on a real UDP socket."""

from __future__ import annotations

import asyncio
import socket
import struct
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.speech import (
    EnergyVad,
    Resampler,
    RtpError,
    SpeechEnd,
    SpeechStart,
    open_rtp_receiver,
    parse_rtp,
    payload_to_pcm,
    resample,
    ulaw_decode,
    ulaw_encode,
)
from tests.support import eventually, rtp_packet


def test_parse_plain_packet() -> None:
    packet = parse_rtp(rtp_packet(b"\x01\x02\x03\x04", seq=65535, ts=4000, marker=True))
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc, packet.marker) == (
        118, 65535, 4000, 0xDEADBEEF, True)
    assert packet.csrcs == ()
    assert packet.extension is None
    assert packet.payload == b"\x01\x02\x03\x04"


def test_parse_csrc_extension_and_padding() -> None:
    packet = parse_rtp(rtp_packet(b"\xaa\xbb", csrcs=(1, 2, 3), extension=b"\x10\x20\x30\x40" * 2, padding=4))
    assert packet.csrcs == (1, 2, 3)
    assert packet.extension == struct.pack("!HH", 0xBEDE, 2) + b"\x10\x20\x30\x40" * 2
    assert packet.payload == b"\xaa\xbb"


@pytest.mark.parametrize(("data", "message"), [
    (b"\x80\x00", "too short"),
    (b"\x40" + b"\0" * 11, "version 1"),
    (bytes([0x83]) + b"\0" * 11 + b"\0" * 8, "CSRC list truncated"),
    (bytes([0x90]) + b"\0" * 11 + b"\xbe\xde\x00\x05", "extension truncated"),
    (bytes([0xA0]) + b"\0" * 11 + b"\x01\x00", "padding"),
])
def test_parse_rejects(data: bytes, message: str) -> None:
    with pytest.raises(RtpError, match=message):
        parse_rtp(data)


def test_slin16_payload_is_byteswapped() -> None:
    assert payload_to_pcm(b"\x01\x02\xff\xfe", "slin16") == b"\x02\x01\xfe\xff"
    with pytest.raises(RtpError, match="odd"):
        payload_to_pcm(b"\x01\x02\x03", "slin16")


def test_ulaw_matches_the_reference() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the standard library's G.711, deprecated but exact

    pcm = np.arange(-32768, 32768, 7, dtype="<i2").tobytes()
    assert ulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)
    codes = bytes(range(256))
    assert ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)


@given(st.binary(min_size=1, max_size=400))
def test_ulaw_decode_encode_is_identity_on_codes(codes: bytes) -> None:
    # 0x7f and 0xff are both zero; the encoder picks 0xff.
    assert ulaw_encode(ulaw_decode(codes)) == codes.replace(b"\x7f", b"\xff")


@given(st.lists(st.integers(min_value=-32768, max_value=32767), min_size=1, max_size=300))
def test_ulaw_error_is_bounded(samples: list[int]) -> None:
    pcm = np.array(samples, dtype="<i2")
    back = np.frombuffer(ulaw_decode(ulaw_encode(pcm.tobytes())), dtype="<i2").astype(int)
    assert np.all(np.abs(back - pcm.astype(int)) <= np.maximum(np.abs(pcm.astype(int)) // 16, 8) + 132)


def _tone(freq: float, rate: int, seconds: float, amplitude: float = 8000.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def _peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3400.0])
def test_resample_keeps_the_telephone_band(freq: float) -> None:
    up = resample(_tone(freq, 8000, 1.0), 8000, 16000)
    assert len(up) == 2 * 16000
    assert abs(_peak_hz(up, 16000) - freq) < 2
    level_in = np.std(np.frombuffer(_tone(freq, 8000, 1.0), dtype="<i2"))
    level_out = np.std(np.frombuffer(up, dtype="<i2")[100:])
    assert abs(20 * np.log10(level_out / level_in)) < 0.5
    down = resample(up, 16000, 8000)
    assert len(down) == 2 * 8000
    assert abs(_peak_hz(down, 8000) - freq) < 2


def test_downsampling_removes_what_8k_cannot_carry() -> None:
    down = np.frombuffer(resample(_tone(6000, 16000, 1.0), 16000, 8000), dtype="<i2").astype(float)
    assert np.std(down[100:]) < 8000 / np.sqrt(2) * 0.01  # at least 40 dB down, no alias at 2 kHz


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12))
def test_streaming_resampler_equals_one_shot(chunks: list[int]) -> None:
    pcm = _tone(440, 8000, sum(chunks) / 8000)
    streamed = Resampler(8000, 16000)
    out = b""
    offset = 0
    for size in chunks:
        out += streamed.process(pcm[offset * 2:(offset + size) * 2])
        offset += size
    assert out == resample(pcm, 8000, 16000)
    down = Resampler(16000, 8000)
    joined = b"".join(down.process(out[i:i + 202]) for i in range(0, len(out), 202))
    assert joined == resample(out, 16000, 8000)


def test_resample_rejects_other_rates() -> None:
    with pytest.raises(ValueError, match="8000 <-> 16000"):
        Resampler(8000, 44100)


def _noise(seconds: float, level: float, seed: int = 0, rate: int = 8000) -> bytes:
    return (np.random.default_rng(seed).standard_normal(int(rate * seconds)) * level).astype("<i2").tobytes()


def test_vad_finds_speech_start_and_end() -> None:
    vad = EnergyVad(sample_rate=8000)
    audio = _noise(0.5, 30) + _tone(500, 8000, 0.8) + _noise(1.0, 30, seed=1)
    events = [e for i in range(0, len(audio), 320) for e in vad.feed(audio[i:i + 320])]
    assert events == [SpeechStart(500), SpeechEnd(1300)]
    assert not vad.in_speech
    assert vad.position_ms == 2300


def test_vad_ignores_steady_noise_and_silence() -> None:
    vad = EnergyVad(sample_rate=16000)
    assert vad.feed(_noise(3.0, 2000, rate=16000)) == []
    assert vad.feed(b"\0" * 32000) == []


def test_vad_keeps_short_pauses_inside_speech() -> None:
    vad = EnergyVad(sample_rate=8000)
    audio = _noise(0.3, 30) + _tone(500, 8000, 0.4) + _noise(0.2, 30) + _tone(700, 8000, 0.4) + _noise(0.5, 30)
    assert vad.feed(audio) == [SpeechStart(300), SpeechEnd(1300)]


async def test_rtp_receiver_over_udp() -> None:
    received: list[bytes] = []
    transport, protocol = await open_rtp_receiver(received.append)
    port = transport.get_extra_info("sockname")[1]
    pcm = _tone(440, 16000, 0.06)  # three 20 ms packets
    wire = np.frombuffer(pcm, dtype="<i2").astype(">i2").tobytes()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for n in range(3):
            sender.sendto(rtp_packet(wire[n * 640:(n + 1) * 640], seq=100 + n, csrcs=(9,) if n == 1 else (),
                               extension=b"\0\0\0\1" if n == 2 else None), ("127.0.0.1", port))
        sender.sendto(b"junk", ("127.0.0.1", port))
        sender.sendto(rtp_packet(wire[:640], seq=99), ("127.0.0.1", port))  # late: dropped
        await eventually(lambda: protocol.stats.malformed == 1 and protocol.stats.out_of_order == 1, timeout=5,
                         message="all datagrams handled")
    assert protocol.transport is transport  # connection_made accepted it (3.11's lacks DatagramTransport as a base)
    transport.close()
    await asyncio.wait_for(protocol.closed, 5)
    assert b"".join(received) == pcm
    assert (protocol.stats.packets, protocol.stats.bytes) == (3, 1920)


async def test_rtp_receiver_ulaw() -> None:
    received: list[bytes] = []
    transport, protocol = await open_rtp_receiver(received.append, codec="ulaw")
    port = transport.get_extra_info("sockname")[1]
    codes = bytes(range(160))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(rtp_packet(codes, pt=0), ("127.0.0.1", port))
        await eventually(lambda: protocol.stats.packets == 1, timeout=5, message="the packet")
    transport.close()
    assert received == [ulaw_decode(codes)]
