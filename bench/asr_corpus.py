"""Generate the speech corpus for bench/asr.py: menu phrases said by espeak-ng voices over a telephone line.

Run from the repository root inside the venv::

    python bench/asr_corpus.py                     # default: seed 1, 7 takes per phrase, into /var/cache/cti/asr-corpus
    python bench/asr_corpus.py --takes 2 --out /tmp/asr-corpus

Every phrase of :mod:`cti.speech.asr._phrases` (main menu, yes/no, language choice) is said ``--takes`` times per
language, each take with a voice and variant (espeak-ng ``voice+variant``), speed (130-200 words per minute) and pitch
(25-75) drawn from a seeded RNG. sox converts to 8 kHz mono, band-passes 300-3400 Hz (the telephone band) and pads
0.5 s before and 0.8 s after; white noise, band-passed the same way, is mixed at 20 dB and 10 dB SNR against the
active speech power. Out-of-grammar sentences, noise and silence are added for the rejection numbers. Same seed,
same corpus: files are named by a hash of their parameters and skipped when present. ``index.json`` lists them.

``--questions FILE`` (``bench/asr_questions/dev.yaml`` or ``test.yaml``) adds that file's sentences, said the same
way: its ``none`` sentences are out of every menu (``menu`` ``*`` in the index: the benchmark says each to every
menu), the others are menu answers with words around them (``filler`` true).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cti.speech.asr import MENUS  # noqa: E402

DEFAULT_OUT = Path("/var/cache/cti/asr-corpus")
SNRS = (20, 10)
RATE = 8000
PAD_BEFORE = 0.5
PAD_AFTER = 0.8
VOICES = {"en": ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbcwmd"), "id": ("id",)}
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "klatt", "klatt2", "klatt4")
OUT_OF_GRAMMAR = {
    "en": ("good morning", "I want a pizza", "what time is it", "the weather is nice today", "hello can you hear me",
           "my name is John", "seven eight nine", "thank you very much"),
    "id": ("selamat pagi", "saya mau pesan pizza", "jam berapa sekarang", "cuacanya bagus hari ini",
           "halo apakah terdengar", "nama saya Budi", "tujuh delapan sembilan", "terima kasih banyak"),
}


def bandpass(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``x`` (at 8 kHz) cut to the telephone band, 300-3400 Hz."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    return np.fft.irfft(spectrum, len(x))


def _write(path: Path, samples: np.ndarray[Any, Any]) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes())


def _speech(text: str, voice: str, speed: int, pitch: int) -> np.ndarray[Any, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        raw, tel = Path(tmp) / "raw.wav", Path(tmp) / "tel.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), "--", text],
                       check=True, capture_output=True)
        subprocess.run(["sox", "-q", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(tel),
                        "sinc", "300-3400", "pad", str(PAD_BEFORE), str(PAD_AFTER)], check=True, capture_output=True)
        with wave.open(str(tel)) as f:
            return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64)


def _speech_end_ms(clean: np.ndarray[Any, Any]) -> int:
    """The end of speech: the last 10 ms frame within 35 dB of the loudest one."""
    frames = clean[: len(clean) // 80 * 80].reshape(-1, 80)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    active = np.nonzero(level > level.max() - 35)[0]
    return int((active[-1] + 1) * 10)


def speech_power(x: np.ndarray[Any, Any]) -> float:
    """Mean power of the samples above 2 % of the peak (the speech, not the pauses around it)."""
    active = x[np.abs(x) > 0.02 * np.abs(x).max()]
    return float(np.mean(active**2))


def _mix(clean: np.ndarray[Any, Any], snr: float, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    noise = bandpass(rng.standard_normal(len(clean)))
    noise *= np.sqrt(speech_power(clean) / 10 ** (snr / 10) / np.mean(noise**2))
    mixed: np.ndarray[Any, Any] = clean + noise
    return mixed


def load_questions(path: Path) -> dict[str, list[tuple[str, str, str | None]]]:
    """Per language, (menu, text, intent) of a question file; menu ``*`` and intent None for a ``none`` sentence."""
    data = yaml.safe_load(path.read_text())
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    for language, menus in data.items():
        for menu_name, entries in menus.items():
            if menu_name not in MENUS:
                raise ValueError(f"{path}: unknown menu {menu_name!r}")
            for entry in entries:
                ((intent, text),) = entry.items()
                out.setdefault(language, []).append(
                    ("*", text, None) if intent == "none" else (menu_name, text, intent))
    return out


def _render(out: Path, language: str, jobs: list[tuple[str, str, str | None]], rng: random.Random, seed: int,
            items: list[dict[str, Any]], *, filler: bool) -> None:
    for menu_name, text, intent in jobs:
        variant = rng.choice(VARIANTS)
        voice = rng.choice(VOICES[language]) + (f"+{variant}" if variant else "")
        speed, pitch = rng.randint(130, 200), rng.randint(25, 75)
        name = hashlib.sha1(json.dumps([language, text, voice, speed, pitch, seed]).encode()).hexdigest()[:16]
        noise_seed = rng.randrange(2**32)
        files: dict[str, str] = {}
        meta_path = out / f"{name}.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
        else:
            clean = _speech(text, voice, speed, pitch)
            noise_rng = np.random.default_rng(noise_seed)
            for snr in SNRS:
                path = out / f"{name}-{snr}db.wav"
                _write(path, bandpass(_mix(clean, snr, noise_rng)))
                files[str(snr)] = path.name
            meta = {"files": files, "speech_end_ms": _speech_end_ms(clean)}
            meta_path.write_text(json.dumps(meta))
        items.append({"language": language, "menu": menu_name, "text": text, "intent": intent, "voice": voice,
                      "speed": speed, "pitch": pitch, "filler": filler and intent is not None, **meta})


def build(out: Path, *, seed: int = 1, takes: int = 7, questions: Path | None = None) -> dict[str, Any]:
    """Generate (or reuse) the corpus under ``out``; returns the index."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    extra = load_questions(questions) if questions is not None else {}
    items: list[dict[str, Any]] = []
    for language in ("id", "en"):
        jobs: list[tuple[str, str, str | None]] = []
        for menu_name, menu in MENUS.items():
            for phrase, meaning in menu[language].items():
                jobs += [(menu_name, phrase, meaning)] * takes
        jobs += [("main", text, None) for text in OUT_OF_GRAMMAR[language]]
        _render(out, language, jobs, rng, seed, items, filler=False)
    # The question file's sentences draw their voices from a generator of their own, so that adding or changing
    # them leaves the menu phrases' corpus as it was.
    question_rng = random.Random(f"questions-{seed}")
    for language in ("id", "en"):
        _render(out, language, extra.get(language, []), question_rng, seed, items, filler=True)
    np_rng = np.random.default_rng(seed)
    extras: list[dict[str, Any]] = []
    for n in range(6):
        path = out / f"noise-{seed}-{n}.wav"
        level = 300 * (n + 1)
        if not path.exists():
            _write(path, bandpass(np_rng.standard_normal(RATE * 3) * level))
        extras.append({"kind": "noise", "file": path.name})
    silence = out / "silence.wav"
    if not silence.exists():
        _write(silence, np.zeros(RATE * 3))
    extras.append({"kind": "silence", "file": silence.name})
    index = {"seed": seed, "takes": takes, "rate": RATE, "snrs": list(SNRS), "items": items, "extras": extras}
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1))
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--takes", type=int, default=7)
    parser.add_argument("--questions", type=Path, help="out-of-menu sentences to add (bench/asr_questions/*.yaml)")
    args = parser.parse_args()
    index = build(args.out, seed=args.seed, takes=args.takes, questions=args.questions)
    counts = {lang: sum(1 for i in index["items"] if i["language"] == lang) for lang in ("id", "en")}
    print(json.dumps({"out": str(args.out), "utterances": counts}))


if __name__ == "__main__":
    main()
