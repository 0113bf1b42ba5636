"""ASR accuracy benchmark: top-1 intent accuracy, real-time factor and end-of-speech -> decision latency.

Run from the repository root inside the venv::

    python bench/asr.py                 # the full corpus (bench/asr_corpus.py, generated if missing): ~10 minutes
    python bench/asr.py --quick         # 2 takes per phrase

Each utterance is streamed to a session of its menu's grammar in 20 ms chunks, as RTP would deliver it, while an
:class:`~cti.ivr.audio.EnergyVad` (the IVR's end-of-speech detector, 300 ms of silence) watches the same audio;
``finish()`` is called when it reports the end of speech (or at the end of the clip). Latency is simulated real
time: chunk *i* arrives at (i + 1) x 20 ms, is processed when it has arrived and the previous one is done (measured
CPU time), and the decision is ready when ``finish()`` returns; latency = decision time - the true end of speech
in the clip. RTF = CPU time / audio time. Out-of-grammar sentences, noise and silence must give intent None
(``false_accepts``). Progress on stderr; one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import wave
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import asr_corpus  # noqa: E402
from cti.ivr.asr import MENUS, Grammar, PocketSphinxOptions, PocketSphinxRecognizer, Recognizer  # noqa: E402
from cti.ivr.audio import EnergyVad, SpeechEnd  # noqa: E402

CHUNK_MS = 20


def _pcm(path: Path) -> bytes:
    with wave.open(str(path)) as f:
        return f.readframes(f.getnframes())


def run_one(recognizer: Recognizer, grammar: Grammar, language: str, pcm: bytes, rate: int,
            speech_end_ms: int | None) -> dict[str, Any]:
    """Stream one clip; returns the result, CPU seconds, audio seconds and the simulated decision latency."""
    chunk = rate * CHUNK_MS // 1000 * 2
    vad = EnergyVad(sample_rate=rate)
    clock = 0.0  # simulated time (s) when the pipeline is free
    cpu = 0.0
    start = time.perf_counter()
    session = recognizer.start(grammar, language, sample_rate=rate)  # type: ignore[arg-type]
    cpu += time.perf_counter() - start
    fed = 0
    for n, offset in enumerate(range(0, len(pcm), chunk)):
        piece = pcm[offset:offset + chunk]
        arrival = (n + 1) * CHUNK_MS / 1000
        t0 = time.perf_counter()
        session.feed(piece)
        ended = any(isinstance(e, SpeechEnd) for e in vad.feed(piece))
        spent = time.perf_counter() - t0
        cpu += spent
        clock = max(clock, arrival) + spent
        fed += len(piece)
        if ended:
            break
    t0 = time.perf_counter()
    result = session.finish()
    spent = time.perf_counter() - t0
    cpu += spent
    clock += spent
    latency = (clock - speech_end_ms / 1000) if speech_end_ms is not None else None
    return {"result": result, "cpu": cpu, "audio": fed / 2 / rate, "latency": latency}


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=asr_corpus.DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2 takes per phrase")
    defaults = PocketSphinxOptions()
    parser.add_argument("--topn", type=int, default=defaults.topn)
    parser.add_argument("--offset", type=float, default=defaults.offset)
    parser.add_argument("--scale", type=float, default=defaults.scale)
    parser.add_argument("--reject-below", type=float, default=defaults.reject_below)
    parser.add_argument("--details", type=Path, help="write every utterance's outcome (JSON lines) here")
    args = parser.parse_args()
    takes = 2 if args.quick else 7
    index = asr_corpus.build(args.corpus, seed=args.seed, takes=takes)
    options = PocketSphinxOptions(topn=args.topn, offset=args.offset, scale=args.scale,
                                  reject_below=args.reject_below)
    recognizer = PocketSphinxRecognizer(options)
    recognizer.warm_up()
    grammars = {(menu, lang): Grammar.of(MENUS[menu][lang]) for menu in MENUS for lang in ("id", "en")}
    groups: dict[tuple[str, int], dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "correct": 0, "rejected": 0, "wrong": 0, "cpu": 0.0, "audio": 0.0, "latency": []})
    oog: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "false_accepts": 0})
    details = args.details.open("w") if args.details else None
    started = time.monotonic()
    for count, item in enumerate(index["items"]):
        grammar = grammars[(item["menu"], item["language"])]
        for snr, name in item["files"].items():
            out = run_one(recognizer, grammar, item["language"], _pcm(args.corpus / name), index["rate"],
                          item["speech_end_ms"])
            result = out["result"]
            if item["intent"] is None:
                stats = oog[f"{item['language']}/{snr}db"]
                stats["n"] += 1
                stats["false_accepts"] += result.intent is not None
            else:
                group = groups[(item["language"], int(snr))]
                group["n"] += 1
                group["correct"] += result.intent == item["intent"]
                group["rejected"] += result.intent is None
                group["wrong"] += result.intent not in (None, item["intent"])
                group["cpu"] += out["cpu"]
                group["audio"] += out["audio"]
                group["latency"].append(out["latency"])
            if details:
                details.write(json.dumps({**{k: item[k] for k in ("language", "text", "intent", "voice", "speed",
                                                                   "pitch")}, "snr": snr, "got": result.intent,
                                          "heard": result.text, "confidence": result.confidence}) + "\n")
        if count % 50 == 0:
            print(f"{count}/{len(index['items'])} utterances, {time.monotonic() - started:.0f} s", file=sys.stderr)
    extras = {"noise": {"n": 0, "false_accepts": 0}, "silence": {"n": 0, "false_accepts": 0}}
    for extra in index["extras"]:
        for menu in MENUS:
            for lang in ("id", "en"):
                out = run_one(recognizer, grammars[(menu, lang)], lang, _pcm(args.corpus / extra["file"]),
                              index["rate"], None)
                extras[extra["kind"]]["n"] += 1
                extras[extra["kind"]]["false_accepts"] += out["result"].intent is not None
    report: dict[str, Any] = {"benchmark": "asr", "engine": "pocketsphinx", "seed": args.seed, "takes": takes,
                              "options": {"topn": options.topn, "offset": options.offset, "scale": options.scale,
                                          "reject_below": options.reject_below},
                              "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
                              "results": [], "out_of_grammar": dict(oog), **extras}
    for (language, snr), group in sorted(groups.items()):
        latencies = [x for x in group["latency"] if x is not None]
        report["results"].append({
            "language": language, "engine": "pocketsphinx", "snr_db": snr, "utterances": group["n"],
            "accuracy": round(group["correct"] / group["n"], 4), "rejected": group["rejected"],
            "wrong": group["wrong"], "rtf": round(group["cpu"] / group["audio"], 4),
            "decision_ms_p50": _pct(latencies, 0.5), "decision_ms_p99": _pct(latencies, 0.99),
            "decision_ms_mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        })
    if details:
        details.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
