"""``cti speech intent FILE...``: what the IVR would understand from recorded answers, one JSON object per file.

``--open SERVICE_NUMBER`` asks the open question of that number's flow (``--flows``, the sample flows by default:
the support line 1500200 asks one) with its steering model, as :class:`cti.speech.OpenQuestion` hears it
(``--engine``: an n-gram model of the example sentences, or a grammar of them); ``--config`` takes the intents from
a steering file instead.
``--menu NAME`` answers a standard menu (:data:`cti.speech.asr.MENUS`: main, yes_no, language) with its grammar,
as the IVR's menus do.
Files are WAV, mono 16-bit at 8 or 16 kHz (a telephone recording). Exit status 2 for a bad argument or file.
"""

from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path
from typing import Any

__all__ = ["add_speech_commands"]

_CHUNK_MS = 20
_MENU_MIN_CONFIDENCE = 0.5  # the flows' min_confidence (cti/ivr/flows/default.yaml)


def _read_wav(path: Path) -> tuple[bytes, int]:
    try:
        with wave.open(str(path)) as f:
            if f.getnchannels() != 1 or f.getsampwidth() != 2 or f.getframerate() not in (8000, 16000):
                raise ValueError("expected mono 16-bit WAV at 8000 or 16000 Hz")
            return f.readframes(f.getnframes()), f.getframerate()
    except (OSError, EOFError, wave.Error, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _recognize(session: Any, pcm: bytes, rate: int) -> Any:
    chunk = rate * _CHUNK_MS // 1000 * 2
    for offset in range(0, len(pcm), chunk):
        session.feed(pcm[offset:offset + chunk])
    return session.finish()


def _intent(args: argparse.Namespace) -> int:
    from cti.ivr import SAMPLE_FLOWS, FlowError, load_flows_file
    from cti.speech import OpenQuestion
    from cti.speech.asr import MENUS, AsrError, Grammar, PocketSphinxRecognizer
    from cti.steering import Entities, SteeringError, default_config, extract_entities, load_config, named_config

    language = args.language
    try:
        config = load_config(args.config) if args.config else default_config()
        if args.open is not None and args.config is None:
            node = load_flows_file(args.flows or SAMPLE_FLOWS).open_question(args.open)
            if node is None:
                print(f"cti: {args.open} asks no open question in {args.flows or SAMPLE_FLOWS}", file=sys.stderr)
                return 2
            config = named_config(node.steering)
    except (SteeringError, FlowError) as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 2
    if args.open is not None and args.config is not None and args.open not in config.service_numbers:
        print(f"cti: {args.open} asks no open question (steering numbers: {', '.join(config.service_numbers)})",
              file=sys.stderr)
        return 2
    if args.menu is not None and args.menu not in MENUS:
        print(f"cti: no menu {args.menu!r} (menus: {', '.join(sorted(MENUS))})", file=sys.stderr)
        return 2
    recognizer = PocketSphinxRecognizer()
    question = OpenQuestion(config, engine=args.engine) if args.menu is None else None
    grammar = Grammar.of(MENUS[args.menu][language]) if args.menu is not None else None
    status = 0
    for path in args.files:
        try:
            pcm, rate = _read_wav(path)
            if question is not None:
                understood = _recognize(question.start(recognizer, language, sample_rate=rate), pcm, rate)
                out: dict[str, Any] = understood.as_dict()
            else:
                assert grammar is not None
                result = _recognize(recognizer.start(grammar, language, sample_rate=rate), pcm, rate)
                accepted = result.intent is not None and result.confidence >= _MENU_MIN_CONFIDENCE
                entities = extract_entities(result.text, language) if result.text else Entities()
                out = {"intent": result.intent if accepted else None, "confidence": result.confidence,
                       "decision": "route" if accepted else "reprompt", "entities": entities.as_dict(),
                       "text": result.text}
        except (ValueError, AsrError) as exc:
            print(f"cti: {exc}", file=sys.stderr)
            status = 2
            continue
        print(json.dumps({"file": str(path), **out}, ensure_ascii=False))
    return status


def add_speech_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``speech`` command group."""
    speech = sub.add_parser("speech", help="speech recognition on recorded audio")
    actions = speech.add_subparsers(dest="speech_command", required=True)
    intent = actions.add_parser("intent", help="the intent, confidence, decision, entities and text of each file")
    intent.add_argument("files", nargs="+", type=Path, metavar="FILE", help="WAV, mono 16-bit, 8 or 16 kHz")
    intent.add_argument("--language", required=True, choices=["id", "en"])
    which = intent.add_mutually_exclusive_group(required=True)
    which.add_argument("--open", metavar="SERVICE_NUMBER", help="the open question of this number's call steering")
    which.add_argument("--menu", metavar="NAME", help="a standard menu: main, yes_no, language")
    intent.add_argument("--flows", type=Path, default=None,
                        help="the IVR flows whose open question --open asks (default: the sample flows)")
    intent.add_argument("--config", type=Path, help="a call-steering file instead of the flow's steering model")
    intent.add_argument("--engine", choices=["ngram", "sentences"], default="ngram",
                        help="how the open question is heard: an n-gram model of the example sentences (default) "
                             "or a grammar of them")
    intent.set_defaults(func=_intent)
