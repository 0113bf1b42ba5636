"""Call-steering benchmark: callers answer the open question in their own words; how many reach the right place.

Run from the repository root inside the venv (under ``nice -n 19``: it keeps a core busy)::

    python bench/steering.py                    # the held-out set (bench/steering_questions/test.yaml), seed 1
    python bench/steering.py --questions bench/steering_questions/dev.yaml --corpus /var/cache/cti/steering-dev
    python bench/steering.py --transcripts whisper.jsonl   # score another engine's transcripts the same way
    python bench/steering.py --export-heard --jobs 2       # regenerate cti/steering/data/support_heard.yaml

``--batch`` decodes after the end of speech instead of while the caller speaks; ``--decoder lw=12`` passes a
PocketSphinx option. ``--export-heard`` renders the TRAINING sentences of the support line (other voices: seed 101)
and writes what the open question's recognizer heard of them, per intent, as the classifier's ``heard`` examples
(each decoded with a language model built without its fold of sentences).

Each utterance of the corpus (bench/steering_corpus.py: voices, tempo, pitch, telephone band, white noise at 20 and
10 dB, mu-law) is streamed in 20 ms chunks to the open question's session (:class:`cti.speech.OpenQuestion` on the
support line's training sentences; ``--engine ngram``, the default: their n-gram model; ``sentences``: a grammar of
them) while the IVR's end-of-speech detector watches the same audio; at the end of speech the session finishes and
:class:`cti.steering.Steering` decides, with the thresholds of the support line's configuration unless given.
Per language and SNR:

- ``routed``: routed at once to the right intent; ``confirmed``: the right intent asked back for confirmation (the
  caller says yes: counted as correct); ``correct`` is their sum;
- ``fallen_back``: asked again (a reprompt, or a confirmation of the wrong intent that the caller refuses);
- ``misrouted``: routed at once to a wrong intent;
- ``rtf``: CPU time / audio time; ``decision_ms_p50/p99``: end of speech -> decision, simulated real time as in
  bench/asr.py (chunks arrive every 20 ms, processing takes its measured CPU time; the decision includes the
  classifier).

Out-of-domain sentences (``none`` in the question file) must be asked again: ``false_accepts`` counts those routed
or confirmed. Beside it, ``menu``: the same sentences through the main menu's grammar (what callers got before):
accuracy (balance counted as billing), wrong intents, and out-of-menu false accepts. ``grid``: the outcomes for
other thresholds, to calibrate on the development set. Progress on stderr; one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import platform
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import steering_corpus  # noqa: E402
from cti.speech import EnergyVad, OpenQuestion, SpeechEnd  # noqa: E402
from cti.speech.asr import MAIN_MENU, Grammar, PocketSphinxOptions, PocketSphinxRecognizer  # noqa: E402
from cti.steering import NONE, Ranked, Steering, SteeringConfig, Thresholds, decide, default_config  # noqa: E402
from cti.steering._config import HEARD_FILE  # noqa: E402
from cti.types import LANGUAGES  # noqa: E402

CHUNK_MS = 20
GRID = [Thresholds(route, confirm, margin) for route in (0.5, 0.6, 0.7, 0.8) for confirm in (0.3, 0.4, 0.5)
        for margin in (0.1, 0.2, 0.3) if confirm <= route]
MENU_INTENTS = {"balance": "billing"}
HEARD_OUT = REPO / "cti" / "steering" / "data" / HEARD_FILE
HEARD_CORPUS = Path("/var/cache/cti/steering-train")
HEARD_SEED = 101  # the training renderings' voices: never the corpus's seeds (1 held-out, 2 development)
HEARD_TAKES = 2
HEARD_FOLDS = 5


def _pcm(path: Path) -> bytes:
    with wave.open(str(path)) as f:
        frames: bytes = f.readframes(f.getnframes())
        return frames


def stream(start: Callable[[], Any], pcm: bytes, rate: int, speech_end_ms: int | None,
           after: Callable[[Any], Any] = lambda result: result) -> dict[str, Any]:
    """Stream one clip to a session from ``start``; ``after`` turns its result into the decision (timed too)."""
    chunk = rate * CHUNK_MS // 1000 * 2
    vad = EnergyVad(sample_rate=rate)
    clock = cpu = 0.0
    t0 = time.thread_time()
    session = start()
    cpu += time.thread_time() - t0
    fed = 0
    for n, offset in enumerate(range(0, len(pcm), chunk)):
        piece = pcm[offset:offset + chunk]
        t0 = time.thread_time()
        session.feed(piece)
        ended = any(isinstance(e, SpeechEnd) for e in vad.feed(piece))
        spent = time.thread_time() - t0
        cpu += spent
        clock = max(clock, (n + 1) * CHUNK_MS / 1000) + spent
        fed += len(piece)
        if ended:
            break
    t0 = time.thread_time()
    decision = after(session.finish())  # a menu's Result, or (open question) what ``after`` makes of the session
    spent = time.thread_time() - t0
    cpu += spent
    clock += spent
    latency = clock - speech_end_ms / 1000 if speech_end_ms is not None else None
    return {"decision": decision, "cpu": cpu, "audio": fed / 2 / rate, "latency": latency}


@dataclass(frozen=True, slots=True)
class Heard:
    """One clip's outcome before the thresholds: the ranking and the recognizer's confidence."""

    language: str
    snr: int
    want: str | None
    text: str
    heard: str
    ranking: tuple[Ranked, ...]
    speech_confidence: float
    cpu: float
    audio: float
    latency: float | None
    menu_intent: str | None = None
    hypotheses: tuple[tuple[str, float], ...] = ()


def outcome(heard: Heard, thresholds: Thresholds, use_speech_confidence: bool) -> str:
    """routed, confirmed, fallen_back or misrouted (in-domain); for out of domain: routed, confirmed or
    fallen_back (a false accept is routed or confirmed)."""
    decision = decide(heard.ranking, thresholds,
                      speech_confidence=heard.speech_confidence if use_speech_confidence else 1.0)
    intent = heard.ranking[0].intent if heard.ranking else NONE
    if decision == "reprompt":
        return "fallen_back"
    if heard.want is None:
        return "routed" if decision == "route" else "confirmed"
    if intent == heard.want:
        return "routed" if decision == "route" else "confirmed"
    return "misrouted" if decision == "route" else "fallen_back"


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarize(heard: list[Heard], thresholds: Thresholds, use_speech_confidence: bool) -> list[dict[str, Any]]:
    rows = []
    for language, snr in sorted({(h.language, h.snr) for h in heard}):
        mine = [h for h in heard if (h.language, h.snr) == (language, snr)]
        domain = [h for h in mine if h.want is not None]
        ood = [h for h in mine if h.want is None]
        counts = {k: 0 for k in ("routed", "confirmed", "fallen_back", "misrouted")}
        for h in domain:
            counts[outcome(h, thresholds, use_speech_confidence)] += 1
        ood_out = [outcome(h, thresholds, use_speech_confidence) for h in ood]
        latencies = [h.latency for h in domain if h.latency is not None]
        row: dict[str, Any] = {
            "language": language, "snr_db": snr, "utterances": len(domain),
            **{k: _ratio(v, len(domain)) for k, v in counts.items()},
            "correct": _ratio(counts["routed"] + counts["confirmed"], len(domain)),
            "top1_raw": _ratio(sum(bool(h.ranking) and h.ranking[0].intent == h.want for h in domain), len(domain)),
            "false_accepts": {"n": len(ood), "routed": ood_out.count("routed"),
                              "confirmed": ood_out.count("confirmed")},
            "rtf": round(sum(h.cpu for h in domain) / max(sum(h.audio for h in domain), 1e-9), 4),
            "decision_ms_p50": _pct(latencies, 0.5), "decision_ms_p99": _pct(latencies, 0.99),
        }
        if any(h.menu_intent is not None or h.want is None for h in mine) and mine[0].menu_intent != "-":
            row["menu"] = {
                "accuracy": _ratio(sum(h.menu_intent == h.want for h in domain), len(domain)),
                "wrong": _ratio(sum(h.menu_intent not in (None, h.want) for h in domain), len(domain)),
                "false_accepts": sum(h.menu_intent is not None for h in ood), "out_of_menu": len(ood),
            }
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=steering_corpus.DEFAULT_OUT)
    parser.add_argument("--questions", type=Path, default=steering_corpus.DEFAULT_QUESTIONS)
    parser.add_argument("--seed", type=int, default=1)
    defaults = default_config().thresholds
    parser.add_argument("--route", type=float, default=defaults.route)
    parser.add_argument("--confirm", type=float, default=defaults.confirm)
    parser.add_argument("--margin", type=float, default=defaults.margin)
    parser.add_argument("--none", type=float, default=defaults.none,
                        help="reprompt when the out-of-domain class has this probability")
    parser.add_argument("--no-speech-confidence", action="store_true",
                        help="decide on the classifier's probability alone")
    parser.add_argument("--engine", choices=("ngram", "sentences"), default="ngram",
                        help="the open question's recognizer: a grammar of the example sentences, or an n-gram model")
    parser.add_argument("--batch", action="store_true",
                        help="ngram: decode the sentence after the end of speech, not while the caller speaks")
    parser.add_argument("--no-fwdflat", action="store_true", help="ngram: no second (flat lexicon) pass")
    parser.add_argument("--decoder", action="append", default=[], metavar="KEY=VALUE",
                        help="ngram: a PocketSphinx option (lw, wip, pip, beam, ...), repeatable")
    parser.add_argument("--hypotheses", type=int, help="the classifier reads this many of the recognizer's n-best "
                        "transcripts (default: the support line's configuration)")
    parser.add_argument("--hypothesis-scale", type=float, help="their weights: softmax of path score times this")
    parser.add_argument("--record-hypotheses", type=int, default=0, metavar="N",
                        help="ask the recognizer for at least N and keep them in --details (for --rescore)")
    parser.add_argument("--no-menu", action="store_true", help="skip the main menu's grammar beside it")
    parser.add_argument("--transcripts", type=Path,
                        help="JSON lines {file, text, cpu, latency} of another engine on the same corpus")
    parser.add_argument("--details", type=Path, help="write every utterance's outcome (JSON lines) here")
    parser.add_argument("--export-heard", type=Path, nargs="?", const=HEARD_OUT, metavar="FILE",
                        help="decode the TRAINING sentences, rendered like the corpus (--heard-seed, --heard-takes), "
                             f"and write what was heard per intent to FILE (default {HEARD_OUT.relative_to(REPO)})")
    parser.add_argument("--heard-seed", type=int, default=HEARD_SEED)
    parser.add_argument("--heard-takes", type=int, default=HEARD_TAKES, help="voices drawn per training sentence")
    parser.add_argument("--heard-folds", type=int, default=HEARD_FOLDS,
                        help="decode each sentence with a language model built without its fold (0: with all)")
    parser.add_argument("--heard-corpus", type=Path, default=HEARD_CORPUS)
    parser.add_argument("--jobs", type=int, default=1, help="--export-heard: decoding processes")
    parser.add_argument("--rescore", type=Path,
                        help="decide again on a run's --details (other thresholds), without decoding again")
    args = parser.parse_args()
    config = _configured(args)
    if args.rescore:
        steering = Steering(config) if args.hypotheses is not None or args.hypothesis_scale is not None else None

        def reranked(r: dict[str, Any]) -> tuple[Ranked, ...]:
            if steering is None or not r["heard"].strip():  # as decided then
                return tuple(Ranked(i, p) for i, p in r["ranking"])
            return _rank(steering, r["heard"], r["language"], [tuple(h) for h in r.get("hypotheses", ())])

        rescored = [Heard(r["language"], r["snr"], r["want"], r["said"], r["heard"], reranked(r),
                          r["speech_confidence"], r["cpu"], r["audio"], r["latency"], r["menu"])
                    for r in map(json.loads, args.rescore.read_text().splitlines())]
        _report(args, rescored, Thresholds(args.route, args.confirm, args.margin, args.none),
                not args.no_speech_confidence,
                "rescored")
        return
    extra = ((("fwdflat", False),) if args.no_fwdflat else ()) + tuple(_option(o) for o in args.decoder)
    options = PocketSphinxOptions(live_dictation=not args.batch, dictation_fwdflat=not args.no_fwdflat, extra=extra)
    if args.export_heard:
        export_heard(args, options)
        return
    index = steering_corpus.build(args.corpus, questions=args.questions, seed=args.seed)
    steering = Steering(config)  # the same classifier the OpenQuestion uses
    thresholds = Thresholds(args.route, args.confirm, args.margin, args.none)
    use_speech = not args.no_speech_confidence
    rate = index["rate"]
    external = None
    if args.transcripts:
        external = {row["file"]: row for row in map(json.loads, args.transcripts.read_text().splitlines()) if row}
    recognizer = PocketSphinxRecognizer(options)
    recognizer.warm_up()
    question = OpenQuestion(config, engine=args.engine)
    if args.record_hypotheses > config.hypotheses:  # asked of the recognizer; the classifier reads config's
        question.nbest = args.record_hypotheses
    question.warm_up(recognizer)  # compiling the grammar or model is start-up work, not the caller's wait
    menus = {lang: Grammar.of(MAIN_MENU[lang]) for lang in ("id", "en")}
    heard: list[Heard] = []
    started = time.monotonic()
    for count, item in enumerate(index["items"]):
        lang = item["language"]
        for snr, name in item["files"].items():
            pcm = _pcm(args.corpus / name)
            if external is not None:
                row = external[name]
                ranking = _rank(steering, row["text"], lang)
                heard.append(Heard(lang, int(snr), item["intent"], item["text"], row["text"], ranking,
                                   1.0, row["cpu"], row["audio"], row.get("latency"), "-"))
                continue

            def understand(session: Any, lang: str = lang) -> tuple[Any, tuple[Ranked, ...]]:
                result = session.session.finish()  # as OpenSession.finish, keeping the full ranking
                return result, _rank(steering, result.text, lang, result.hypotheses)

            out = stream(lambda lang=lang: _Deferred(question.start(recognizer, lang)), pcm, rate,  # type: ignore[misc]
                         item["speech_end_ms"], understand)
            result, ranking = out["decision"]
            menu_intent: str | None = "-"
            if not args.no_menu:
                menu = stream(lambda lang=lang: recognizer.start(menus[lang], lang), pcm, rate, None)  # type: ignore[misc]
                got = menu["decision"].intent
                menu_intent = MENU_INTENTS.get(got, got) if got is not None else None
            heard.append(Heard(lang, int(snr), item["intent"], item["text"], result.text, ranking,
                               result.confidence, out["cpu"], out["audio"], out["latency"], menu_intent,
                               result.hypotheses))
        if count % 25 == 0:
            print(f"{count}/{len(index['items'])} sentences, {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.details:
        with args.details.open("w") as details:
            for h in heard:
                details.write(json.dumps({
                    "language": h.language, "snr": h.snr, "want": h.want, "said": h.text, "heard": h.heard,
                    "ranking": [[r.intent, r.probability] for r in h.ranking[:3]],
                    "speech_confidence": h.speech_confidence, "menu": h.menu_intent, "cpu": h.cpu,
                    "audio": h.audio, "latency": h.latency, "hypotheses": [list(x) for x in h.hypotheses],
                    "outcome": outcome(h, thresholds, use_speech)}, ensure_ascii=False) + "\n")
    _report(args, heard, thresholds, use_speech, "external" if external is not None else "pocketsphinx")


def _report(args: argparse.Namespace, heard: list[Heard], thresholds: Thresholds, use_speech: bool,
            engine: str) -> None:
    report: dict[str, Any] = {
        "benchmark": "steering", "engine": engine,
        "questions": str(args.questions.relative_to(REPO) if args.questions.is_relative_to(REPO) else args.questions),
        "seed": args.seed, "open_engine": args.engine, "live": not args.batch, "speech_confidence": use_speech,
        "hypotheses": {"count": _configured(args).hypotheses, "scale": _configured(args).hypothesis_scale},
        "thresholds": {"route": thresholds.route, "confirm": thresholds.confirm, "margin": thresholds.margin,
                       "none": thresholds.none},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "clock": "cpu",
        "results": summarize(heard, thresholds, use_speech),
        "grid": [{"route": t.route, "confirm": t.confirm, "margin": t.margin,
                  **{f"{r['language']}/{r['snr_db']}db": [r["correct"], r["misrouted"],
                                                         r["false_accepts"]["routed"] + r["false_accepts"]["confirmed"]]
                     for r in summarize(heard, t, use_speech)}} for t in GRID],
    }
    print(json.dumps(report))


def _fold(text: str, folds: int) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % folds if folds else -1


def _without_fold(config: SteeringConfig, fold: int, folds: int) -> SteeringConfig:
    """The configuration with the sentences of ``fold`` left out (the language model of a decode that must not
    have seen the sentence it hears: callers' phrasings are new to it too)."""
    return dataclasses.replace(
        config,
        intents={intent: {lang: tuple(t for t in texts if _fold(t, folds) != fold) for lang, texts in by.items()}
                 for intent, by in config.intents.items()},
        out_of_domain={lang: tuple(t for t in texts if _fold(t, folds) != fold)
                       for lang, texts in config.out_of_domain.items()})


_WORKER: dict[str, Any] = {}


def _hear(job: tuple[PocketSphinxOptions, str, int, int, Path]) -> str:
    """One training clip decoded as a caller's answer (in a worker process: the recognizer and the open questions
    of each fold are made once per process)."""
    options, language, fold, folds, path = job
    if "recognizer" not in _WORKER:
        _WORKER["recognizer"] = PocketSphinxRecognizer(options)
        _WORKER["questions"] = {}
    questions: dict[int, OpenQuestion] = _WORKER["questions"]
    if fold not in questions:
        base = default_config(heard=False)
        questions[fold] = OpenQuestion(base if fold < 0 else _without_fold(base, fold, folds))
    question = questions[fold]
    out = stream(lambda: _Deferred(question.start(_WORKER["recognizer"], language)),  # type: ignore[arg-type]
                 _pcm(path), steering_corpus.RATE, None, lambda session: session.session.finish())
    return str(out["decision"].text)


def export_heard(args: argparse.Namespace, options: PocketSphinxOptions) -> None:
    """What the open question's recognizer makes of the training sentences, said like the corpus's callers (other
    voices: ``--heard-seed``), written as the classifier's ``heard`` examples (cti/steering/_config.py). Never the
    development or held-out sentences: the classifier would learn the test."""
    config = default_config(heard=False)
    sentences: dict[str, list[tuple[str, str]]] = {
        lang: [(intent, text) for text, intent in config.examples(lang)] for lang in LANGUAGES}
    jobs: list[tuple[PocketSphinxOptions, str, int, int, Path]] = []
    wanted: list[tuple[str, str]] = []
    for take in range(args.heard_takes):
        index = steering_corpus.build(args.heard_corpus, seed=args.heard_seed + take, sentences=sentences)
        for item in index["items"]:
            for name in item["files"].values():
                jobs.append((options, item["language"], _fold(item["text"], args.heard_folds), args.heard_folds,
                             args.heard_corpus / name))
                wanted.append((item["language"], item["intent"] or NONE))
    started = time.monotonic()
    heard: dict[str, dict[str, list[str]]] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for n, ((lang, intent), text) in enumerate(zip(wanted, pool.map(_hear, jobs, chunksize=8), strict=True)):
            heard.setdefault(intent, {}).setdefault(lang, []).append(text)
            if n % 200 == 0:
                print(f"{n}/{len(jobs)} clips, {time.monotonic() - started:.0f} s", file=sys.stderr)
    settings = {"seed": args.heard_seed, "takes": args.heard_takes, "folds": args.heard_folds,
                "snr_db": list(steering_corpus.SNRS), "decoder": dict(options.extra), "live": options.live_dictation}
    header = (
        "# GENERATED by `python bench/steering.py --export-heard` (do not edit): what the open question's recognizer\n"
        "# (PocketSphinx, the n-gram model of support.yaml's sentences) heard of those sentences said by synthetic\n"
        "# voices over a telephone line (bench/steering_corpus.py), per intent (none: out of domain) and language.\n"
        "# The classifier learns from them besides the sentences as written, so that it knows the recognizer's usual\n"
        "# mistakes (docs/speech.md#call-steering). Each sentence was decoded with a language model built without\n"
        "# its fold (a caller's phrasing is new to the model too). Generate again after changing support.yaml or the\n"
        "# recognizer's settings. Never from the development or held-out sentences.\n")
    body = yaml.safe_dump({"settings": settings, "heard": {
        intent: {lang: heard[intent][lang] for lang in sorted(heard[intent])} for intent in sorted(heard)}},
        allow_unicode=True, sort_keys=False, width=200)
    args.export_heard.write_text(header + body, encoding="utf-8")
    print(json.dumps({"written": str(args.export_heard), "clips": len(jobs),
                      "empty": sum(1 for by in heard.values() for texts in by.values() for t in texts if not t)}))


def _option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value.lower(), value)


class _Deferred:
    """An open-question session whose ``finish`` is left to ``stream``'s ``after`` (so it is timed with it)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def feed(self, pcm: bytes) -> Any:
        return self.session.feed(pcm)

    def finish(self) -> Any:
        return self.session


def _rank(steering: Steering, text: str, language: str,
          hypotheses: Any = ()) -> tuple[Ranked, ...]:
    """The full ranking (with the out-of-domain class) of the transcript and the n-best the configuration reads,
    or none for silence."""
    if not text.strip():
        return ()
    return steering.rank_readings(steering.readings(text, hypotheses), language)  # type: ignore[arg-type]


def _configured(args: argparse.Namespace) -> SteeringConfig:
    """The support line's configuration with the n-best settings of the command line."""
    config = default_config()
    changes: dict[str, Any] = {}
    if args.hypotheses is not None:
        changes["hypotheses"] = args.hypotheses
    if args.hypothesis_scale is not None:
        changes["hypothesis_scale"] = args.hypothesis_scale
    return dataclasses.replace(config, **changes) if changes else config


if __name__ == "__main__":
    main()
