"""Offline speech recognition for IVR menus: one interface, PocketSphinx and Vosk behind it.

``recognizer.start(grammar, language)`` opens a :class:`Session`; ``session.feed(pcm)`` returns a :class:`Partial`
(is the caller speaking?), ``session.finish()`` a :class:`Result` with the intent or None. Decoding is CPU work: run
``feed``/``finish`` in an executor, one session per thread at a time. Models load once per process
(:class:`ModelCache`) and are never downloaded. See docs/speech.md.
"""

from cti.speech.asr._models import ModelCache, shared_models
from cti.speech.asr._phrases import LANGUAGE_MENU, MAIN_MENU, MENUS, YES_NO, Menu, grammar
from cti.speech.asr._pocketsphinx import PocketSphinxOptions, PocketSphinxRecognizer
from cti.speech.asr._registry import DEFAULT_ENGINES, ENGINES, EngineChoice, build_recognizers, parse_engines
from cti.speech.asr._transcribe import PocketSphinxTranscriber
from cti.speech.asr._types import (
    AsrError,
    Dictation,
    Grammar,
    ModelNotFound,
    Partial,
    Phrase,
    Recognizer,
    Result,
    Session,
    normalize_phrase,
)
from cti.speech.asr._vosk import VoskRecognizer

__all__ = [
    "DEFAULT_ENGINES",
    "ENGINES",
    "LANGUAGE_MENU",
    "MAIN_MENU",
    "MENUS",
    "YES_NO",
    "AsrError",
    "Dictation",
    "EngineChoice",
    "Grammar",
    "Menu",
    "ModelCache",
    "ModelNotFound",
    "Partial",
    "Phrase",
    "PocketSphinxOptions",
    "PocketSphinxRecognizer",
    "PocketSphinxTranscriber",
    "Recognizer",
    "Result",
    "Session",
    "VoskRecognizer",
    "build_recognizers",
    "grammar",
    "normalize_phrase",
    "parse_engines",
    "shared_models",
]
