"""ASR accuracy benchmark: top-1 intent accuracy, real-time factor and end-of-speech -> decision latency.

Run from the repository root inside the venv::

    python bench/asr.py                 # the full corpus (bench/asr_corpus.py, generated if missing): ~10 minutes
    python bench/asr.py --quick         # 2 takes per phrase

Each utterance is streamed to a session of its menu's grammar in 20 ms chunks, as RTP would deliver it, while an
:class:`~cti.speech._audio.EnergyVad` (the IVR's end-of-speech detector, 300 ms of silence) watches the same audio;
``finish()`` is called when it reports the end of speech (or at the end of the clip). Latency is simulated real
time: chunk *i* arrives at (i + 1) x 20 ms, is processed when it has arrived and the previous one is done (measured
CPU time), and the decision is ready when ``finish()`` returns; latency = decision time - the true end of speech
in the clip. RTF = CPU time / audio time. Out-of-grammar sentences, noise and silence must give intent None: each
result row has ``false_accepts``, the share of that language's and SNR's out-of-menu sentences that got an intent
(``out_of_menu`` of them), and the top-level ``false_accepts`` counts them by kind. ``--questions FILE``
(``bench/asr_questions/dev.yaml`` to tune on, ``test.yaml`` held out) adds that file's out-of-menu sentences, said
to every menu, and its menu answers with words around them (``filler_accuracy``). Progress on stderr; one JSON
object as the last line of stdout.

Rejection is applied here, not in the recognizer (which runs with ``reject_below`` 0), so that one run gives both
numbers: ``accuracy_raw`` is the top-1 intent before rejection, ``accuracy`` after it (a correct intent whose
confidence is below ``--reject-below`` counts as an error, as it would in the IVR); ``rejection_curve`` repeats
the accuracy and the false accepts for other thresholds, to calibrate on. Tune on one seed, report on another:
``--seed`` draws a different corpus (voices, speeds, pitches, noise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import wave
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import asr_corpus  # noqa: E402
from cti.speech import EnergyVad, SpeechEnd  # noqa: E402
from cti.speech.asr import MENUS, Grammar, PocketSphinxOptions, PocketSphinxRecognizer, Recognizer  # noqa: E402

CHUNK_MS = 20
CURVE = (0.3, 0.4, 0.5, 0.6, 0.7)


def _pcm(path: Path) -> bytes:
    with wave.open(str(path)) as f:
        frames: bytes = f.readframes(f.getnframes())
        return frames


def run_one(recognizer: Recognizer, grammar: Grammar, language: str, pcm: bytes, rate: int,
            speech_end_ms: int | None, clock_fn: Callable[[], float] = time.thread_time) -> dict[str, Any]:
    """Stream one clip; returns the result, CPU seconds, audio seconds and the simulated decision latency.

    ``clock_fn`` measures the work: the thread's CPU time by default (what a core of its own would take, whatever
    else the machine runs), ``time.perf_counter`` for wall-clock time on this machine as it is.
    """
    chunk = rate * CHUNK_MS // 1000 * 2
    vad = EnergyVad(sample_rate=rate)
    clock = 0.0  # simulated time (s) when the pipeline is free
    cpu = 0.0
    start = clock_fn()
    session = recognizer.start(grammar, language, sample_rate=rate)  # type: ignore[arg-type]
    cpu += clock_fn() - start
    fed = 0
    for n, offset in enumerate(range(0, len(pcm), chunk)):
        piece = pcm[offset:offset + chunk]
        arrival = (n + 1) * CHUNK_MS / 1000
        t0 = clock_fn()
        session.feed(piece)
        ended = any(isinstance(e, SpeechEnd) for e in vad.feed(piece))
        spent = clock_fn() - t0
        cpu += spent
        clock = max(clock, arrival) + spent
        fed += len(piece)
        if ended:
            break
    t0 = clock_fn()
    result = session.finish()
    spent = clock_fn() - t0
    cpu += spent
    clock += spent
    latency = (clock - speech_end_ms / 1000) if speech_end_ms is not None else None
    return {"result": result, "cpu": cpu, "audio": fed / 2 / rate, "latency": latency}


def _weights(spec: str) -> tuple[tuple[str, float], ...]:
    """``1e-4`` (both languages) or ``id=1e-3,en=1e-4``."""
    if "=" not in spec:
        return (("id", float(spec)), ("en", float(spec)))
    return tuple((lang.strip(), float(weight)) for lang, _, weight in (part.partition("=") for part in spec.split(",")))


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
    parser.add_argument("--questions", type=Path, help="out-of-menu sentences and answers with fillers (YAML)")
    defaults = PocketSphinxOptions()
    parser.add_argument("--topn", type=int, default=defaults.topn)
    parser.add_argument("--offset", type=float, default=defaults.offset, help="rejection offset on a noisy line")
    parser.add_argument("--clean-offset", type=float, default=defaults.clean_offset,
                        help="rejection offset on a clean line")
    parser.add_argument("--scale", type=float, default=defaults.scale)
    parser.add_argument("--reject-below", type=float, default=defaults.reject_below)
    parser.add_argument("--garbage", action=argparse.BooleanOptionalAction, default=defaults.garbage,
                        help="veto menu answers that a loop of everyday words explains better")
    parser.add_argument("--garbage-weight", type=float, default=defaults.garbage_weight)
    parser.add_argument("--garbage-word-weight", type=_weights, default=defaults.garbage_word_weight,
                        help="each loop word's cost: 1e-4 for both languages or id=1e-3,en=1e-4")
    parser.add_argument("--garbage-languages", default=",".join(defaults.garbage_languages),
                        help="the languages whose menus get the loop (id,en)")
    parser.add_argument("--garbage-from-db", type=float, default=defaults.garbage_from_db,
                        help="run the loop on lines at least this clean (peak to noise, dB; 0: on every line)")
    parser.add_argument("--garbage-reject-below", type=float, default=defaults.garbage_reject_below,
                        help="keep an answer the loop won when its confidence is at least this (default: never)")
    parser.add_argument("--filler-words", type=int, default=defaults.filler_words)
    parser.add_argument("--details", type=Path, help="write every utterance's outcome (JSON lines) here")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="time the decoding by the thread's CPU time (default) or by the wall clock")
    args = parser.parse_args()
    takes = 2 if args.quick else 7
    index = asr_corpus.build(args.corpus, seed=args.seed, takes=takes, questions=args.questions)
    threshold = args.reject_below
    clock_fn = time.thread_time if args.clock == "cpu" else time.perf_counter
    options = PocketSphinxOptions(topn=args.topn, offset=args.offset, clean_offset=args.clean_offset, scale=args.scale,
                                  reject_below=0.0, garbage=args.garbage, garbage_weight=args.garbage_weight,
                                  garbage_word_weight=args.garbage_word_weight, filler_words=args.filler_words,
                                  garbage_reject_below=args.garbage_reject_below,
                                  garbage_from_db=args.garbage_from_db or None,
                                  garbage_languages=tuple(filter(None, args.garbage_languages.split(","))))
    recognizer = PocketSphinxRecognizer(options)
    recognizer.warm_up()
    grammars = {(menu, lang): Grammar.of(MENUS[menu][lang]) for menu in MENUS for lang in ("id", "en")}
    outcomes: list[Outcome] = []
    timing: dict[tuple[str, int], dict[str, Any]] = defaultdict(lambda: {"cpu": 0.0, "audio": 0.0, "latency": []})
    details = args.details.open("w") if args.details else None
    started = time.monotonic()
    for count, item in enumerate(index["items"]):
        menus = list(MENUS) if item["menu"] == "*" else [item["menu"]]
        for menu, (snr, name) in ((m, f) for m in menus for f in item["files"].items()):
            out = run_one(recognizer, grammars[(menu, item["language"])], item["language"],
                          _pcm(args.corpus / name), index["rate"], item["speech_end_ms"], clock_fn)
            result = out["result"]
            kind = ("out_of_grammar" if item["intent"] is None else "filler" if item.get("filler") else "phrase")
            outcomes.append(Outcome(kind, item["language"], int(snr), item["intent"], result.intent,
                                    result.confidence))
            if kind == "phrase":
                group = timing[(item["language"], int(snr))]
                group["cpu"] += out["cpu"]
                group["audio"] += out["audio"]
                group["latency"].append(out["latency"])
            if details:
                details.write(json.dumps({**{k: item[k] for k in ("language", "text", "intent", "voice", "speed",
                                                                   "pitch")}, "menu": menu, "snr": snr,
                                          "got": result.intent, "heard": result.text,
                                          "confidence": result.confidence}) + "\n")
        if count % 50 == 0:
            print(f"{count}/{len(index['items'])} utterances, {time.monotonic() - started:.0f} s", file=sys.stderr)
    for extra in index["extras"]:
        for menu in MENUS:
            for lang in ("id", "en"):
                out = run_one(recognizer, grammars[(menu, lang)], lang, _pcm(args.corpus / extra["file"]),
                              index["rate"], None)
                outcomes.append(Outcome(extra["kind"], lang, None, None, out["result"].intent,
                                        out["result"].confidence))
    if details:
        details.close()
    report: dict[str, Any] = {
        "benchmark": "asr", "engine": "pocketsphinx", "seed": args.seed, "takes": takes,
        "options": {"topn": options.topn, "offset": options.offset, "clean_offset": options.clean_offset,
                    "scale": options.scale,
                    "reject_below": threshold, "denoise": options.denoise, "decode_rate": options.decode_rate,
                    "garbage": options.garbage, "garbage_weight": options.garbage_weight,
                    "garbage_word_weight": dict(options.garbage_word_weight),
                    "garbage_from_db": options.garbage_from_db, "garbage_languages": list(options.garbage_languages),
                    "garbage_reject_below": options.garbage_reject_below, "filler_words": options.filler_words},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "clock": args.clock,
        "results": [], "false_accepts": _false_accepts(outcomes, threshold),
        "rejection_curve": [{"reject_below": t, "accuracy": _accuracy(outcomes, t),
                             "false_accepts": _false_accepts(outcomes, t)["total"]} for t in CURVE],
    }
    for (language, snr), group in sorted(timing.items()):
        mine = [o for o in outcomes if o.kind == "phrase" and (o.language, o.snr) == (language, snr)]
        ood = [o for o in outcomes if o.kind == "out_of_grammar" and (o.language, o.snr) == (language, snr)]
        fillers = [o for o in outcomes if o.kind == "filler" and (o.language, o.snr) == (language, snr)]
        latencies = [x for x in group["latency"] if x is not None]
        report["results"].append({
            "language": language, "engine": "pocketsphinx", "snr_db": snr, "utterances": len(mine),
            "accuracy_raw": _ratio(sum(o.got == o.want for o in mine), len(mine)),
            "accuracy": _ratio(sum(o.accepted(threshold) and o.got == o.want for o in mine), len(mine)),
            "rejected": sum(not o.accepted(threshold) for o in mine),
            "wrong": sum(o.accepted(threshold) and o.got != o.want for o in mine),
            "false_accepts": _ratio(sum(o.accepted(threshold) for o in ood), len(ood)), "out_of_menu": len(ood),
            "filler_accuracy": _ratio(sum(o.accepted(threshold) and o.got == o.want for o in fillers), len(fillers)),
            "fillers": len(fillers),
            "rtf": round(group["cpu"] / group["audio"], 4),
            "decision_ms_p50": _pct(latencies, 0.5), "decision_ms_p99": _pct(latencies, 0.99),
            "decision_ms_mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        })
    print(json.dumps(report))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One clip's decision before rejection: ``kind`` is phrase, out_of_grammar, noise or silence."""

    kind: str
    language: str
    snr: int | None
    want: str | None
    got: str | None
    confidence: float

    def accepted(self, threshold: float) -> bool:
        return self.got is not None and self.confidence >= threshold


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _accuracy(outcomes: list[Outcome], threshold: float) -> dict[str, float | None]:
    """Top-1 accuracy after rejection at ``threshold``, per language and SNR."""
    out: dict[str, float | None] = {}
    for key in sorted({(o.language, o.snr) for o in outcomes if o.kind == "phrase"}):
        mine = [o for o in outcomes if o.kind == "phrase" and (o.language, o.snr) == key]
        out[f"{key[0]}/{key[1]}db"] = _ratio(sum(o.accepted(threshold) and o.got == o.want for o in mine), len(mine))
    return out


def _false_accepts(outcomes: list[Outcome], threshold: float) -> dict[str, Any]:
    """Clips that must give no intent and gave one, after rejection at ``threshold`` (and before: ``raw``)."""
    out: dict[str, Any] = {}
    for o in outcomes:
        if o.kind in ("phrase", "filler"):
            continue
        key = f"{o.kind}/{o.language}/{o.snr}db" if o.snr is not None else f"{o.kind}/{o.language}"
        stats = out.setdefault(key, {"n": 0, "false_accepts": 0, "raw": 0})
        stats["n"] += 1
        stats["false_accepts"] += o.accepted(threshold)
        stats["raw"] += o.got is not None
    out["total"] = sum(v["false_accepts"] for v in out.values())
    return out

if __name__ == "__main__":
    main()
