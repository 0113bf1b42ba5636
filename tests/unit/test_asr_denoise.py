"""The recognizer's noise suppressor: aligned output, streaming equals one shot, noise down, speech kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.speech.asr._denoise import NoiseSuppressor

RATE = 8000


def _pcm(x: npt.NDArray[np.float64]) -> bytes:
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def _samples(pcm: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _run(suppressor: NoiseSuppressor, pcm: bytes, chunk: int) -> bytes:
    out = b"".join(suppressor.feed(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk))
    return out + suppressor.flush()


def _noise(n: int, level: float, seed: int = 1) -> npt.NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(n) * level


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4000), st.sampled_from([2, 160, 320, 666, 4000]))
def test_unit_gain_reconstructs_the_input_aligned(n: int, chunk: int) -> None:
    pcm = _pcm(_noise(n, 3000))
    out = _run(NoiseSuppressor(RATE, floor=1.0), pcm, chunk)
    assert len(out) == len(pcm)
    assert np.max(np.abs(_samples(out) - _samples(pcm))) <= 1


def test_streaming_equals_one_shot() -> None:
    pcm = _pcm(_noise(12000, 2000))
    assert _run(NoiseSuppressor(RATE), pcm, 320) == _run(NoiseSuppressor(RATE), pcm, len(pcm))


def test_steady_noise_is_attenuated_and_a_tone_survives() -> None:
    t = np.arange(RATE * 2) / RATE
    noise = _noise(t.size, 1000)
    tone = np.where(t >= 0.5, 4000 * np.sin(2 * np.pi * 700 * t), 0.0)  # the line first, then the "caller"
    out = _samples(_run(NoiseSuppressor(RATE), _pcm(noise + tone), 320))
    quiet, loud = slice(int(0.2 * RATE), int(0.45 * RATE)), slice(int(0.8 * RATE), int(1.8 * RATE))
    assert np.std(out[quiet]) < np.std(noise[quiet]) / 4  # noise alone: down by more than 12 dB
    spectrum = np.abs(np.fft.rfft(out[loud]))
    freqs = np.fft.rfftfreq(out[loud].size, 1 / RATE)
    in_tone = spectrum[np.abs(freqs - 700) < 10].max()
    assert in_tone > 0.8 * np.abs(np.fft.rfft(tone[loud])).max()
    assert in_tone / np.median(spectrum) > 10 * (4000 / 1000)  # the tone stands out further than before


def test_digital_silence_stays_silent() -> None:
    out = _run(NoiseSuppressor(RATE), b"\0" * 16000, 320)
    assert out == b"\0" * 16000


def test_wideband_frames() -> None:
    pcm = _pcm(_noise(16000, 1000))
    out = _run(NoiseSuppressor(16000), pcm, 640)
    assert len(out) == len(pcm)
    assert np.std(_samples(out)[4000:]) < 250


def test_peak_to_noise_tracks_how_clean_the_line_is() -> None:
    def line(amplitude: float) -> float:
        suppressor = NoiseSuppressor(RATE)
        assert suppressor.peak_to_noise_db == 0.0
        t = np.arange(RATE) / RATE
        tone = amplitude * np.sin(2 * np.pi * 1000 * t)
        _run(suppressor, _pcm(np.concatenate([_noise(RATE // 2, 100.0), tone + _noise(RATE, 100.0, seed=2)])), 160)
        return suppressor.peak_to_noise_db

    quiet, loud = line(1000.0), line(10000.0)
    assert 10.0 < quiet < 30.0
    assert loud - quiet == pytest.approx(20.0, abs=1.5)
