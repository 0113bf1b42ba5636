"""What the IVR adapter needs from the speech libraries: prompts as media, recognizers per menu.

Thin bridges between :mod:`cti.telephony._ivr`'s small interfaces and :mod:`cti.speech` (text-to-speech) and
:mod:`cti.speech.asr` (recognizers), so the adapter stays testable with any of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence

from cti.ivr import GrammarChoice
from cti.speech import PromptRenderer, Resampler
from cti.speech.asr import AsrError, Grammar, Recognizer, Result, Session
from cti.telephony._ivr import Recognition
from cti.types import Language

__all__ = ["AsrBridge", "TtsPrompts"]

log = logging.getLogger("cti.telephony.speech")
AUDIO_RATE = 16000  # what the externalMedia channel sends (slin16)
# The caller's audio crossed a telephone line: 8 kHz band-limited. Decoding it at 8 kHz, as the engines are
# tuned for (bench/asr.py), recognises better than Asterisk's 16 kHz upsampling of it.
DECODE_RATE = 8000


def _language(value: str) -> Language:
    return "en" if value == "en" else "id"


class TtsPrompts:
    """Prompts rendered by text-to-speech: cached by text, or (``personal``) for one caller and deleted after.

    ``shared`` are texts every caller hears (a flow's static prompts): :meth:`discard` never deletes them,
    whatever interaction records them as heard."""

    def __init__(self, renderer: PromptRenderer, *, shared: Iterable[str] = ()) -> None:
        self.renderer = renderer
        self._shared = frozenset(" ".join(text.split()) for text in shared)

    async def media(self, text: str, language: str) -> str:
        return (await self.renderer.render(text, _language(language))).uri

    async def personal(self, text: str, language: str) -> str:
        return (await self.renderer.render_once(text, _language(language))).uri

    def release(self, media: str) -> None:
        self.renderer.release(media)

    async def discard(self, texts: Collection[str]) -> int:
        """Delete the cached audio of what callers were told (erasure, retention); returns the files deleted."""
        theirs = [text for text in texts if " ".join(text.split()) not in self._shared]
        return await asyncio.to_thread(self.renderer.discard, theirs) if theirs else 0


class _Sessions:
    """One utterance heard by the recognizer of each language the menu accepts; the surest result wins."""

    def __init__(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        self.resampler = Resampler(AUDIO_RATE, DECODE_RATE)

    def feed(self, pcm: bytes) -> None:
        pcm = self.resampler.process(pcm)
        for session in self.sessions:
            session.feed(pcm)

    def finish(self) -> Recognition:
        results: list[Result] = []
        for session in self.sessions:
            try:
                results.append(session.finish())
            except AsrError as exc:
                log.warning("speech decoding failed: %s", exc)
        heard = [r for r in results if r.intent is not None]
        best = max(heard, key=lambda r: r.confidence) if heard else None
        if best is None:
            text = next((r.text for r in results if r.text), "")
            return Recognition(None, text, 0.0)
        return Recognition(best.intent, best.text, best.confidence)


class AsrBridge:
    def __init__(self, recognizers: Mapping[Language, Recognizer]) -> None:
        self.recognizers = dict(recognizers)

    def start(self, grammar: Sequence[GrammarChoice], languages: Sequence[str]) -> _Sessions:
        phrases = [(phrase, choice.intent) for choice in grammar for phrase in choice.phrases]
        if not phrases:
            raise AsrError("nothing to recognise: the menu has no phrases")
        built = Grammar.of(phrases)
        sessions: list[Session] = []
        for language in dict.fromkeys(_language(lang) for lang in languages):
            recognizer = self.recognizers.get(language)
            if recognizer is None:
                continue
            try:
                sessions.append(recognizer.start(built, language, sample_rate=DECODE_RATE))
            except AsrError as exc:
                log.warning("no %s recognizer for this menu: %s", language, exc)
        if not sessions:
            raise AsrError(f"no recognizer for {', '.join(languages)}")
        return _Sessions(sessions)
