"""Estimate the telephone channel map that adapts PocketSphinx's wideband model (cti/speech/asr/telephone_channel.json).

Run from the repository root inside the venv::

    python bench/asr_channel.py                 # writes cti/speech/asr/telephone_channel.json
    python bench/asr_channel.py --out /tmp/map.json --seed 7

Stereo data: general sentences (none of them a menu phrase) said by espeak-ng voices in both languages, each rendered
twice from the same waveform: wideband at 16 kHz (optionally over a noise floor, ``--wide-floor-db``), and through the
telephone path the recognizer hears: 8 kHz, band-passed 300-3400 Hz, line noise (white or pink, band-limited) at an SNR
drawn from ``--snrs`` (``clean`` for none), then the recognizer's own
:class:`~cti.speech.asr._pocketsphinx.LineConditioner` (noise suppressor, resampling to 16 kHz, dither). The two
are aligned by cross-correlation and :func:`cti.speech.asr._channel.estimate` fits the map. Deterministic for a seed.
Prints a JSON summary (per stream: the map's diagonal).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.asr_corpus import VARIANTS, VOICES, bandpass, speech_power  # noqa: E402
from cti.speech.asr import _channel as channel  # noqa: E402
from cti.speech.asr._pocketsphinx import LineConditioner, PocketSphinxOptions  # noqa: E402

SENTENCES = {
    "en": ("the quick brown fox jumps over the lazy dog", "please call me back tomorrow morning",
           "my account number is seven four two", "I think the delivery was late again",
           "could you repeat that more slowly", "she sells sea shells by the sea shore",
           "thank you for waiting on the line", "how much does the premium plan cost",
           "the train leaves at half past six", "we moved to a new house last summer"),
    "id": ("saya ingin bertanya tentang tagihan bulan ini", "tolong hubungi saya besok pagi",
           "nomor pelanggan saya tujuh empat dua", "pengiriman barangnya terlambat lagi",
           "bisa diulang lebih pelan", "terima kasih sudah menunggu", "berapa harga paket premium",
           "kantor kami buka setiap hari senin", "kereta berangkat jam setengah tujuh",
           "kami pindah ke rumah baru tahun lalu"),
}
WIDE_RATE, LINE_RATE = 16000, 8000

Samples = np.ndarray[Any, Any]


def _read(path: Path) -> Samples:
    with wave.open(str(path)) as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64)


def _noise(n: int, pink: bool, rng: np.random.Generator) -> Samples:
    white = rng.standard_normal(n)
    if not pink:
        return bandpass(white)
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1 / LINE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    return bandpass(np.fft.irfft(spectrum, n))


def pairs(seed: int, takes: int, snrs: list[float | None],
          wide_floor_db: float | None = None) -> Iterator[tuple[Samples, Samples]]:
    """(wideband, telephone path) sample pairs at 16 kHz, aligned."""
    rng = random.Random(seed)
    options = PocketSphinxOptions()
    with tempfile.TemporaryDirectory() as tmp:
        for language in ("en", "id"):
            for text in SENTENCES[language]:
                for _ in range(takes):
                    yield _pair(Path(tmp), language, text, rng, snrs, wide_floor_db, options)


def _pair(tmp: Path, language: str, text: str, rng: random.Random, snrs: list[float | None],
          wide_floor_db: float | None, options: PocketSphinxOptions) -> tuple[Samples, Samples]:
    """One rendering of ``text``: wideband, and as the recognizer hears it over a line drawn from ``snrs``."""
    raw, wide_path, line_path = tmp / "raw.wav", tmp / "wide.wav", tmp / "line.wav"
    variant = rng.choice(VARIANTS)
    voice = rng.choice(VOICES[language]) + (f"+{variant}" if variant else "")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rng.randint(130, 200)), "-p", str(rng.randint(25, 75)),
                    "-w", str(raw), "--", text], check=True, capture_output=True)
    for path, rate in ((wide_path, WIDE_RATE), (line_path, LINE_RATE)):
        subprocess.run(["sox", "-q", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path),
                        "pad", "0.4", "0.4"], check=True, capture_output=True)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    wide = _read(wide_path)
    if wide_floor_db is not None:
        wide = wide + noise_rng.standard_normal(wide.size) * np.sqrt(speech_power(wide)) * 10 ** (wide_floor_db / 20)
    line = bandpass(_read(line_path))
    snr = rng.choice(snrs)
    if snr is not None:
        noise = _noise(line.size, rng.random() < 0.5, noise_rng)
        line = line + noise * np.sqrt(speech_power(line) / 10 ** (snr / 10) / np.mean(noise**2))
    conditioner = LineConditioner(options, LINE_RATE)
    pcm = np.clip(np.rint(line), -32768, 32767).astype("<i2").tobytes()
    heard = np.frombuffer(conditioner.feed(pcm) + conditioner.flush(), "<i2").astype(np.float64)
    return _aligned(wide, heard)


def _aligned(wide: Samples, heard: Samples) -> tuple[Samples, Samples]:
    n = min(len(wide), len(heard))
    size = 1 << (2 * n - 1).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(heard[:n], size) * np.conj(np.fft.rfft(wide[:n], size)), size)
    lag = int(np.argmax(np.concatenate([xcorr[-(n - 1):], xcorr[:n]]))) - (n - 1)
    heard = heard[lag:] if lag > 0 else np.concatenate([np.zeros(-lag), heard])
    n = min(len(wide), len(heard))
    return wide[:n], heard[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "cti" / "ivr" / "asr" / "telephone_channel.json")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--takes", type=int, default=4, help="renderings per sentence (voice, speed, pitch)")
    parser.add_argument("--snrs", default="clean,40,30,20,15", help="line SNRs in dB to draw from; clean: none")
    parser.add_argument("--wide-floor-db", type=float, help="noise floor under the wideband side (default: none)")
    args = parser.parse_args()
    snrs: list[float | None] = [None if s == "clean" else float(s) for s in args.snrs.split(",")]
    note = (f"bench/asr_channel.py --seed {args.seed} --takes {args.takes} --snrs {args.snrs}: "
            f"{sum(len(v) for v in SENTENCES.values()) * args.takes} espeak-ng utterances")
    fitted = channel.estimate(pairs(args.seed, args.takes, snrs, args.wide_floor_db), note=note)
    args.out.write_text(fitted.to_json() + "\n")
    print(json.dumps({"out": str(args.out), "note": note, "streams": {
        name: {"diagonal": np.round(np.diag(m), 3).tolist()}
        for name, m in zip(("static", "delta", "delta_delta"), fitted.matrices, strict=True)}}))


if __name__ == "__main__":
    main()
