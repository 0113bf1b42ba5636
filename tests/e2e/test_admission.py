"""Admission control with real callers: past the ceiling, new callers hear why, then congestion, and a record."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cti.asterisk import AsteriskRoot
from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import PSTN_HOST, SippAgent, SippCaller, free_udp_port
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    return {"max_arrival_rate": 1.0}


async def test_callers_beyond_the_arrival_ceiling_are_turned_away_and_recorded(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    # Three callers within 0.2 s against a ceiling of one per second (a bucket of one).
    caller = SippCaller("1500100", caller="0215550123", duration_ms=1500, calls=3, rate=15, limit=3,
                        target=cti.settings.sip_bind)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 30) != 0  # two of the three calls failed (503)
    await cti.settled()

    async def recorded() -> list[Any]:
        return await InteractionRepository(cti.db).list(limit=10)

    records = await eventually(lambda: _three(recorded()), message="three interaction rows")
    assert sorted((r.outcome, r.end_reason) for r in records) == [
        ("answered", "caller_hangup"), ("rejected", "overload"), ("rejected", "overload")]
    shed = [r for r in records if r.outcome == "rejected"]
    assert all(r.answered_at is None and r.agent_id is None and r.offers == 0 for r in shed)
    assert cti.telephony.counters["calls_shed"] == 2
    assert cti.telephony.admission.setups == 0
    metrics = await cti.api("GET", "/metrics")
    assert "cti_calls_shed_total 2" in metrics


async def _three(rows: Any) -> Any:
    result = await rows
    return result if len(result) == 3 else None


@pytest.mark.parametrize("cti_settings_overrides", [{"max_arrival_rate": 0.001}])  # one caller, then no more
async def test_a_shed_caller_hears_why_unanswered_then_congestion(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    first = SippCaller("1500100", caller="0215550123", duration_ms=500, target=cti.settings.sip_bind)
    callers.append(first)
    await asyncio.to_thread(first.wait, 20)  # admitted (the IVR answered it): the bucket is empty now
    port = free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind((PSTN_HOST, port))
        second = SippCaller("1500100", caller="0215550124", duration_ms=500, hear_on=port, target=cti.settings.sip_bind)
        callers.append(second)
        heard = await asyncio.to_thread(_rtp_audio, listener)
        assert await asyncio.to_thread(second.wait, 20) != 0  # never answered: 503 after the message
    assert "SIP/2.0 503" in second.errors(), second.errors()[-1500:]

    # What the caller heard is the overload message, Indonesian then English, as the prompts say it.
    prompts = [await _global(cti, name) for name in ("CTI_OVERLOADED_ID", "CTI_OVERLOADED_EN")]
    sounds = cti.settings.sounds_dir or AsteriskRoot(cti.settings.asterisk_root).sounds_dir
    spoken = np.concatenate([_wav(sounds / language / f"{prompt}.wav")
                             for language, prompt in zip(("id", "en"), prompts, strict=True)])
    assert len(heard) >= 0.9 * len(spoken), (len(heard), len(spoken))
    assert _envelope_match(heard, spoken) > 0.8

    await cti.settled()
    async def both() -> list[Any] | None:
        rows = await InteractionRepository(cti.db).list(limit=10)
        return rows if len(rows) == 2 else None

    records = await eventually(both, message="two interaction rows")
    shed = [r for r in records if r.caller_number == "0215550124"]
    assert [(r.outcome, r.end_reason, r.answered_at) for r in shed] == [("rejected", "overload", None)]
    assert cti.telephony.counters["calls_shed_with_message"] == 1


async def _global(cti: Cti, name: str) -> str:
    value = (await cti.ari.request("GET", "/asterisk/variable", params={"variable": name}))["value"]
    assert isinstance(value, str) and value.startswith("cti/"), value
    return value


def _rtp_audio(listener: socket.socket, *, within: float = 30.0, quiet: float = 1.5) -> np.ndarray:
    """The PCMU audio of the RTP packets sent to ``listener`` (one stream), until ``quiet`` seconds without any,
    as 8 kHz floats."""
    listener.settimeout(within)
    packets: dict[int, bytes] = {}
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            data = listener.recv(2048)
        except TimeoutError:
            break
        listener.settimeout(quiet)
        _, payload_type, sequence = struct.unpack("!BBH", data[:4])
        if payload_type & 0x7F == 0:
            packets[sequence] = data[12:]
    ordered = b"".join(packets[seq] for seq in sorted(packets))  # one short call: no sequence wrap
    return _ulaw(np.frombuffer(ordered, dtype=np.uint8))


def _ulaw(codes: np.ndarray) -> np.ndarray:
    codes = ~codes.astype(np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84).astype(np.float64) / 32768.0


def _wav(path: Path) -> np.ndarray:
    """A prompt's audio at 8 kHz (every other sample of a 16 kHz file is enough for an envelope)."""
    with wave.open(str(path)) as audio:
        rate, frames = audio.getframerate(), audio.readframes(audio.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    return samples[:: max(1, rate // 8000)]


def _envelope_match(heard: np.ndarray, spoken: np.ndarray) -> float:
    """The best correlation of the two loudness envelopes (20 ms frames), the heard one shifted by up to a second."""
    def envelope(audio: np.ndarray) -> np.ndarray:
        frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
        return np.sqrt((frames ** 2).mean(axis=1))

    a, b = envelope(heard), envelope(spoken)
    best = -1.0
    for shift in range(0, 50):
        part = a[shift:shift + len(b)]
        if len(part) < 0.9 * len(b):
            break
        n = min(len(part), len(b))
        best = max(best, float(np.corrcoef(part[:n], b[:n])[0, 1]))
    return best
