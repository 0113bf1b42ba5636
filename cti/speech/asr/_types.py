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
    "Dictation",
    "Grammar",
    "ModelNotFound",
    "Partial",
    "Phrase",
    "Recognizer",
    "Result",
    "Session",
    "normalize_phrase",
]



NUMBER = "<number>"
"""A run of number words in a grammar's phrase pattern (:meth:`Grammar.pattern`)."""


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
    """The phrases of one menu (any language mix): normalized, de-duplicated, in a stable order.

    ``numbers`` (empty for menus) are the words numbers are said with: a run of them in a phrase stands for any
    run of them ("nomor pesanan saya satu dua tiga" also matches "nomor pesanan saya tujuh tujuh"), so that a
    caller's order number or amount is heard as said."""

    phrases: tuple[Phrase, ...]
    numbers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, phrases: Mapping[str, str] | Iterable[tuple[str, str]], *,
           numbers: Iterable[str] = ()) -> Grammar:
        """Build from ``{phrase: intent}`` or ``(phrase, intent)`` pairs; a phrase may map to one intent only."""
        pairs = phrases.items() if isinstance(phrases, Mapping) else phrases
        number_words = frozenset(normalize_phrase(word) for word in numbers) - {""}
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
        return cls(tuple(Phrase(text, intent) for text, intent in sorted(seen.items())), number_words)

    def pattern(self, text: str) -> tuple[str, ...]:
        """The words of ``text`` with each run of number words as one ``<number>``; a phrase of number words only
        stays as it is (a free run of number words would explain any speech at all)."""
        words = text.split()
        if all(word in self.numbers for word in words):
            return tuple(words)
        out: list[str] = []
        for word in words:
            if word in self.numbers:
                if not out or out[-1] != NUMBER:
                    out.append(NUMBER)
            else:
                out.append(word)
        return tuple(out)

    def intent_of(self, text: str) -> str | None:
        """The intent of an exact (normalized) phrase, else None (numbers: any run of number words)."""
        norm = normalize_phrase(text)
        if self.numbers:
            wanted = self.pattern(norm)
            return next((p.intent for p in self.phrases if self.pattern(p.text) == wanted), None)
        for phrase in self.phrases:
            if phrase.text == norm:
                return phrase.intent
        return None

    @property
    def words(self) -> tuple[str, ...]:
        """Every distinct word (and every number word), sorted."""
        return tuple(sorted({word for phrase in self.phrases for word in phrase.text.split()} | self.numbers))


@dataclass(frozen=True, slots=True)
class Dictation:
    """Open speech within a domain: the sentences an n-gram language model of what callers say is built from.

    A session started with it transcribes (``Result.intent`` is None, ``Result.text`` what was heard); what the
    sentence means is decided on the text (:mod:`cti.steering`)."""

    sentences: tuple[str, ...]

    @classmethod
    def of(cls, sentences: Iterable[str]) -> Dictation:
        """Normalized, de-duplicated sentences in a stable order."""
        normalized = sorted({normalize_phrase(text) for text in sentences} - {""})
        if not normalized:
            raise AsrError("a dictation needs at least one sentence")
        return cls(tuple(normalized))

    @property
    def words(self) -> tuple[str, ...]:
        """Every distinct word, sorted."""
        return tuple(sorted({word for text in self.sentences for word in text.split()}))


@dataclass(frozen=True, slots=True)
class Partial:
    """What a session knows after a chunk: whether speech is going on, and the best guess so far."""

    speech: bool
    text: str = ""
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The decision for one utterance. ``intent`` is None for silence, noise and out-of-grammar speech.

    ``hypotheses`` (a dictation asked for its n-best): other transcripts of the same speech, distinct, best first,
    each with its path score relative to the best (natural log, <= 0), for a classifier to weigh."""

    intent: str | None
    text: str
    confidence: float
    engine: str
    audio_ms: int = 0
    hypotheses: tuple[tuple[str, float], ...] = ()


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
