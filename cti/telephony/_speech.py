"""What the IVR adapter needs from the speech libraries: prompts as media, recognizers per menu.

Thin bridges between :mod:`cti.telephony._ivr`'s small interfaces and :mod:`cti.speech` (text-to-speech) and
:mod:`cti.speech.asr` (recognizers), so the adapter stays testable with any of them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence

from cti.ivr import GrammarChoice
from cti.speech import OpenQuestion, OpenSession, PromptRenderer, Resampler
from cti.speech.asr import AsrError, Grammar, PocketSphinxRecognizer, Recognizer, Result, Session
from cti.steering import named_config
from cti.telephony._ivr import Recognition
from cti.types import Language

__all__ = ["AsrBridge", "TtsPrompts", "open_questions"]

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


class _Guarded:
    """The adapter's side of a session: audio resampled to the decoding rate, and safe to close from another
    thread while it decodes (a key or a hang-up ends a listen whose audio is still in the pool)."""

    def __init__(self) -> None:
        self.resampler = Resampler(AUDIO_RATE, DECODE_RATE)
        self._lock = threading.Lock()
        self._closed = False

    def feed(self, pcm: bytes) -> None:
        with self._lock:
            if not self._closed:
                self._feed(self.resampler.process(pcm))

    def finish(self) -> Recognition:
        with self._lock:
            if self._closed:
                return Recognition(None, "", 0.0)
            self._closed = True
            return self._finish()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

    def _feed(self, pcm: bytes) -> None:
        raise NotImplementedError

    def _finish(self) -> Recognition:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class _Sessions(_Guarded):
    """One utterance heard by the recognizer of each language the menu accepts; the surest result wins."""

    def __init__(self, sessions: list[Session]) -> None:
        super().__init__()
        self.sessions = sessions

    def _feed(self, pcm: bytes) -> None:
        for session in self.sessions:
            session.feed(pcm)

    def _finish(self) -> Recognition:
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

    def _close(self) -> None:
        for session in self.sessions:
            session.close()


class _Open(_Guarded):
    """A caller's answer to an open question: free speech, then what the steering model understood of it."""

    def __init__(self, session: OpenSession) -> None:
        super().__init__()
        self.session = session

    def _feed(self, pcm: bytes) -> None:
        self.session.feed(pcm)

    def _finish(self) -> Recognition:
        try:
            understood = self.session.finish()
        except AsrError as exc:
            log.warning("speech decoding failed: %s", exc)
            return Recognition(None, "", 0.0, decision="reprompt")
        entities = {name: str(value) for name, value in understood.entities.as_dict().items()}
        return Recognition(understood.intent, understood.text, understood.confidence, decision=understood.decision,
                           alternatives=tuple(r.intent for r in understood.alternatives), entities=entities)

    def _close(self) -> None:
        self.session.close()


class AsrBridge:
    """Recognizers for the IVR's listens: the menus' grammars in any engine, open questions with PocketSphinx
    (``open_questions``: the steering models the flows name, built and warmed up by :func:`open_questions`)."""

    def __init__(self, recognizers: Mapping[Language, Recognizer], *,
                 open_questions: Mapping[str, OpenQuestion] | None = None) -> None:
        self.recognizers = dict(recognizers)
        self.open_questions = dict(open_questions or {})
        self._dictation = _dictation_engine(self.recognizers)

    def start_open(self, model: str, language: str) -> _Open:
        question = self.open_questions.get(model)
        if question is None or self._dictation is None:
            raise AsrError(f"no open question {model!r} here (it needs PocketSphinx)")
        return _Open(question.start(self._dictation, _language(language), sample_rate=DECODE_RATE))

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


def _dictation_engine(recognizers: Mapping[Language, Recognizer]) -> PocketSphinxRecognizer | None:
    """The recognizer that hears open questions: PocketSphinx, the one engine with the models' language models."""
    return next((r for r in recognizers.values() if isinstance(r, PocketSphinxRecognizer)), None)


@functools.cache
def _open_question(name: str) -> OpenQuestion:
    # Training the classifier and building the language models takes seconds: once per process and model.
    return OpenQuestion(named_config(name))


def open_questions(names: Iterable[str], recognizers: Mapping[Language, Recognizer]) -> dict[str, OpenQuestion]:
    """The open questions the flows ask (by steering model), compiled into a decoder now: at start, not during the
    first caller's answer (seconds of CPU; call it in a thread). Empty without a PocketSphinx recognizer, the one
    engine that transcribes with the models' language models: the open listens then hear keys only."""
    dictation = _dictation_engine(recognizers)
    names = sorted(set(names))
    if dictation is None:
        if names:
            log.warning("open questions %s need PocketSphinx: callers will be heard by keys only there",
                        ", ".join(names))
        return {}
    built = {name: _open_question(name) for name in names}
    for question in built.values():
        question.warm_up(dictation)
    return built
