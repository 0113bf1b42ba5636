"""The recognizer interface every engine implements, and the values it passes around."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from cti.types import Language

__all__ = [
    "AsrError",
    "Grammar",
    "ModelNotFound",
    "Partial",
    "Phrase",
    "Recognizer",
    "Result",
    "Session",
    "normalize_phrase",
]



class AsrError(Exception):
    """Speech recognition failed (bad grammar, engine error)."""


class ModelNotFound(AsrError):
    """A configured model directory or file is missing: models are never downloaded at run time."""


def normalize_phrase(text: str) -> str:
    """Lower case, letters, digits and apostrophes only, single spaces: how phrases and engine output compare."""
    folded = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^\w']+|_", " ", folded).split())


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase a caller may say and the intent it means."""

    text: str
    intent: str


@dataclass(frozen=True, slots=True)
class Grammar:
    """The phrases of one menu (any language mix): normalized, de-duplicated, in a stable order."""

    phrases: tuple[Phrase, ...]

    @classmethod
    def of(cls, phrases: Mapping[str, str] | Iterable[tuple[str, str]]) -> Grammar:
        """Build from ``{phrase: intent}`` or ``(phrase, intent)`` pairs; a phrase may map to one intent only."""
        pairs = phrases.items() if isinstance(phrases, Mapping) else phrases
        seen: dict[str, str] = {}
        for text, intent in pairs:
            norm = normalize_phrase(text)
            if not norm:
                raise AsrError(f"empty phrase for intent {intent!r}")
            if seen.get(norm, intent) != intent:
                raise AsrError(f"phrase {norm!r} maps to both {seen[norm]!r} and {intent!r}")
            seen[norm] = intent
        if not seen:
            raise AsrError("a grammar needs at least one phrase")
        return cls(tuple(Phrase(text, intent) for text, intent in sorted(seen.items())))

    def intent_of(self, text: str) -> str | None:
        """The intent of an exact (normalized) phrase, else None."""
        norm = normalize_phrase(text)
        for phrase in self.phrases:
            if phrase.text == norm:
                return phrase.intent
        return None

    @property
    def words(self) -> tuple[str, ...]:
        """Every distinct word, sorted."""
        return tuple(sorted({word for phrase in self.phrases for word in phrase.text.split()}))


@dataclass(frozen=True, slots=True)
class Partial:
    """What a session knows after a chunk: whether speech is going on, and the best guess so far."""

    speech: bool
    text: str = ""
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The decision for one utterance. ``intent`` is None for silence, noise and out-of-grammar speech."""

    intent: str | None
    text: str
    confidence: float
    engine: str
    audio_ms: int = 0


class Session(Protocol):
    """One utterance being recognized. Not thread-safe: use it from one thread at a time."""

    def feed(self, pcm: bytes) -> Partial:
        """Decode little-endian 16-bit mono PCM at the session's sample rate."""
        ...

    def finish(self) -> Result:
        """End the utterance and decide; the session cannot be fed afterwards."""
        ...

    def close(self) -> None:
        """Release the decoder without a result (hang-up); idempotent, and implied by :meth:`finish`."""
        ...


class Recognizer(Protocol):
    """An engine with its model loaded. ``start`` is cheap; decoding is CPU work for an executor thread."""

    name: str

    def start(self, grammar: Grammar, language: Language, *, sample_rate: int = 8000) -> Session:
        """Open a session constrained to ``grammar`` for audio at ``sample_rate`` (8000 or 16000)."""
        ...
