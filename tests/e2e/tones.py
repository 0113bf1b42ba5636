"""Two tones to tell a call's sides apart in a recording: the caller's phone sends one, the agent's the other."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np

CALLER_HZ, AGENT_HZ = 600, 1400


def tone(path: Path, hz: int) -> Path:
    """A headerless PCMU file (8 kHz) of 5 s of a sine at ``hz``, for a SIPp phone's ``play``."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(path),
                    "synth", "5", "sine", str(hz), "vol", "0.5"], check=True)
    return path


def spectrum(audio: bytes) -> tuple[float, dict[int, float]]:
    """The file's length in seconds and the share of its energy near each tone (±40 Hz)."""
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    power = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    total = float(power.sum())
    return len(samples) / 8000, {hz: float(power[np.abs(freqs - hz) <= 40].sum()) / total
                                 for hz in (CALLER_HZ, AGENT_HZ)}
