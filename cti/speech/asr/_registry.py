"""Which engine recognizes which language: parsed from configuration, built once per process.

The configuration is a string such as ``"id=pocketsphinx,en=vosk:/opt/models/vosk-en"``: per language an engine
name and an optional model path. The default, :data:`DEFAULT_ENGINES`, is PocketSphinx for both languages, which
works out of the box with the model inside the ``pocketsphinx`` package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cti.speech.asr._models import ModelCache, shared_models
from cti.speech.asr._pocketsphinx import PocketSphinxOptions, PocketSphinxRecognizer
from cti.speech.asr._types import AsrError, Recognizer
from cti.speech.asr._vosk import VoskRecognizer
from cti.types import Language

__all__ = ["DEFAULT_ENGINES", "ENGINES", "EngineChoice", "build_recognizers", "parse_engines"]

_LANGUAGES: tuple[Language, ...] = ("id", "en")


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """An engine name from :data:`ENGINES` and its model (None: the engine's built-in default)."""

    engine: str
    model: Path | None = None


def _pocketsphinx(model: Path | None, cache: ModelCache) -> Recognizer:
    return PocketSphinxRecognizer(PocketSphinxOptions(model_dir=model), cache=cache)


def _vosk(model: Path | None, cache: ModelCache) -> Recognizer:
    if model is None:
        raise AsrError("the vosk engine needs a model directory (vosk:/path/to/model)")
    return VoskRecognizer(model, cache=cache)


ENGINES: Mapping[str, Callable[[Path | None, ModelCache], Recognizer]] = {
    "pocketsphinx": _pocketsphinx,
    "vosk": _vosk,
}

DEFAULT_ENGINES: Mapping[Language, EngineChoice] = {"id": EngineChoice("pocketsphinx"),
                                                    "en": EngineChoice("pocketsphinx")}


def parse_engines(spec: str) -> dict[Language, EngineChoice]:
    """Parse ``"id=pocketsphinx,en=vosk:/path"``; languages not named keep the default engine."""
    choices = dict(DEFAULT_ENGINES)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        language, sep, rest = item.partition("=")
        if not sep or language.strip() not in _LANGUAGES:
            raise AsrError(f"bad engine setting {item!r}: expected <id|en>=<engine>[:<model path>]")
        engine, _, model = rest.strip().partition(":")
        if engine not in ENGINES:
            raise AsrError(f"unknown speech engine {engine!r} (known: {', '.join(sorted(ENGINES))})")
        choices[cast(Language, language.strip())] = EngineChoice(engine, Path(model) if model else None)
    return choices


def build_recognizers(choices: Mapping[Language, EngineChoice] = DEFAULT_ENGINES, *,
                      cache: ModelCache | None = None) -> dict[Language, Recognizer]:
    """One recognizer per language; languages with the same engine and model share one recognizer."""
    models = cache or shared_models()
    built: dict[EngineChoice, Recognizer] = {}
    out: dict[Language, Recognizer] = {}
    for language, choice in choices.items():
        if choice not in built:
            built[choice] = ENGINES[choice.engine](choice.model, models)
        out[language] = built[choice]
    return out
