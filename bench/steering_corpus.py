"""Generate the speech corpus of bench/steering.py: callers' own sentences over a telephone line.

Run from the repository root inside the venv::

    python bench/steering_corpus.py                       # seed 1, into /var/cache/cti/steering-corpus
    python bench/steering_corpus.py --seed 2 --out /tmp/steering-corpus

Every sentence of a question file (default bench/steering_questions/test.yaml, the held-out set) is said once, by a
voice drawn from a seeded RNG: espeak-ng voices and variants (both languages; English in six accents) and, for
English, flite's voices; at a speed and pitch drawn per take (espeak-ng 130-190 words per minute, pitch 25-75),
then sox's ``tempo`` by 0.9-1.1 for every voice. sox converts to 8 kHz mono and band-passes 300-3400 Hz; white
noise, band-passed the same way, is mixed at 20 dB and 10 dB SNR against the active speech power (as
bench/asr_corpus.py does), and the line's G.711 mu-law is a round trip at the end. Files are named by a hash of
their parameters and skipped when present. ``index.json`` lists them. Needs espeak-ng, flite and sox (Debian
packages of those names).
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

from bench.asr_corpus import VARIANTS, VOICES, _speech_end_ms, bandpass, speech_power  # noqa: E402
from cti.speech import ulaw_decode, ulaw_encode  # noqa: E402

DEFAULT_OUT = Path("/var/cache/cti/steering-corpus")
DEFAULT_QUESTIONS = REPO / "bench" / "steering_questions" / "test.yaml"
SNRS = (20, 10)
RATE = 8000
PAD_BEFORE = 0.5
PAD_AFTER = 0.8
FLITE_VOICES = ("kal", "awb", "rms", "slt")
FLITE_SHARE = 0.3  # of English takes


def read_questions(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``{language: [(intent, sentence), ...]}`` from a question file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {lang: [(str(k), str(v)) for item in items for k, v in item.items()] for lang, items in data.items()}


def _render(text: str, engine: str, voice: str, speed: int, pitch: int, tempo: float) -> np.ndarray[Any, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        raw, tel = Path(tmp) / "raw.wav", Path(tmp) / "tel.wav"
        if engine == "flite":
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True, capture_output=True)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), "--",
                            text], check=True, capture_output=True)
        subprocess.run(["sox", "-q", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(tel),
                        "tempo", "-s", f"{tempo:.3f}", "sinc", "300-3400", "pad", str(PAD_BEFORE), str(PAD_AFTER)],
                       check=True, capture_output=True)
        with wave.open(str(tel)) as f:
            return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64)


def _line(clean: np.ndarray[Any, Any], snr: float, rng: np.random.Generator) -> bytes:
    noise = bandpass(rng.standard_normal(len(clean)))
    noise *= np.sqrt(speech_power(clean) / 10 ** (snr / 10) / np.mean(noise**2))
    mixed = bandpass(clean + noise)
    pcm = np.clip(np.rint(mixed), -32768, 32767).astype("<i2").tobytes()
    return ulaw_decode(ulaw_encode(pcm))


def _write(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)


def build(out: Path, *, questions: Path = DEFAULT_QUESTIONS, seed: int = 1,
          sentences: dict[str, list[tuple[str, str]]] | None = None) -> dict[str, Any]:
    """Generate (or reuse) the corpus under ``out``; returns the index. ``sentences`` (``{language: [(intent,
    sentence), ...]}``) instead of a question file: the training sentences, for ``bench/steering.py --export-heard``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    chosen = sentences if sentences is not None else read_questions(questions)
    for language, pairs in sorted(chosen.items()):
        for intent, text in pairs:
            if language == "en" and rng.random() < FLITE_SHARE:
                engine, voice, speed, pitch = "flite", rng.choice(FLITE_VOICES), 0, 0
            else:
                variant = rng.choice(VARIANTS)
                engine = "espeak-ng"
                voice = rng.choice(VOICES[language]) + (f"+{variant}" if variant else "")
                speed, pitch = rng.randint(130, 190), rng.randint(25, 75)
            tempo = round(rng.uniform(0.9, 1.1), 3)
            noise_seed = rng.randrange(2**32)
            name = hashlib.sha1(json.dumps([language, text, engine, voice, speed, pitch, tempo, seed]).encode()
                                ).hexdigest()[:16]
            meta_path = out / f"{name}.json"
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
            else:
                clean = _render(text, engine, voice, speed, pitch, tempo)
                noise_rng = np.random.default_rng(noise_seed)
                files: dict[str, str] = {}
                for snr in SNRS:
                    path = out / f"{name}-{snr}db.wav"
                    _write(path, _line(clean, snr, noise_rng))
                    files[str(snr)] = path.name
                meta = {"files": files, "speech_end_ms": _speech_end_ms(clean)}
                meta_path.write_text(json.dumps(meta))
            items.append({"language": language, "intent": None if intent == "none" else intent, "text": text,
                          "engine": engine, "voice": voice, "speed": speed, "pitch": pitch, "tempo": tempo, **meta})
    index = {"seed": seed, "rate": RATE, "snrs": list(SNRS),
             "questions": "the training sentences" if sentences is not None else str(questions), "items": items}
    (out / f"index-{seed}.json" if sentences is not None else out / "index.json").write_text(
        json.dumps(index, ensure_ascii=False, indent=1))
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    index = build(args.out, questions=args.questions, seed=args.seed)
    counts = {lang: sum(1 for i in index["items"] if i["language"] == lang) for lang in ("id", "en")}
    print(json.dumps({"out": str(args.out), "utterances": counts}))


if __name__ == "__main__":
    main()
