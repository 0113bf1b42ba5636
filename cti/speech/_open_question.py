"""The open question ("Silakan sebutkan keperluan Anda" / "How can I help you?") on a call: the recognizer hears the
caller's sentence, :mod:`cti.steering` decides what they want.

Two ways to hear it, the default chosen by measurement (docs/speech.md#call-steering, bench/steering.py):

- ``ngram`` (the default): PocketSphinx with an n-gram model of the configuration's example sentences
  (:class:`~cti.speech.asr.Dictation`): a free transcription within the domain's words. On the development set it
  routed more callers correctly and misrouted fewer than the grammar below, though it takes longer to decide.
- ``sentences``: a PocketSphinx grammar whose phrases are the configuration's example sentences, every
  run of number words in them standing for any number (so an order number or amount is heard as said). The caller's
  sentence is decoded as the example it sounds most like: a different phrasing of the same need shares its key
  words. Faster, but a new phrasing is forced onto some example, of another intent more often.

Either way the recognized text goes through the intent classifier; the recognizer's confidence scales the
classifier's probability (a sentence barely heard is confirmed, not routed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from cti.speech.asr import Dictation, Grammar, Partial, PocketSphinxRecognizer, Session
from cti.steering import NUMBER_WORDS, Steering, SteeringConfig, Understanding
from cti.types import LANGUAGES, Language

__all__ = ["OpenEngine", "OpenQuestion", "OpenSession"]

OpenEngine: TypeAlias = Literal["sentences", "ngram"]


@dataclass(frozen=True, slots=True)
class OpenSession:
    """One caller's answer to the open question: feed audio, then :meth:`finish` for the decision."""

    session: Session
    steering: Steering
    language: Language

    def feed(self, pcm: bytes) -> Partial:
        """Little-endian 16-bit mono PCM; ``speech`` in the result is for barge-in."""
        return self.session.feed(pcm)

    def finish(self) -> Understanding:
        """The intent, its confidence, route/confirm/reprompt, the entities and the text heard."""
        result = self.session.finish()
        return self.steering.understand(result.text, self.language, speech_confidence=result.confidence,
                                        hypotheses=result.hypotheses)

    def close(self) -> None:
        """The caller hung up: release the recognizer."""
        self.session.close()


class OpenQuestion:
    """An open question's intents (a :class:`SteeringConfig`), ready to hear callers in both languages."""

    def __init__(self, config: SteeringConfig, *, engine: OpenEngine = "ngram") -> None:
        self.config = config
        self.engine = engine
        self.steering = Steering(config)
        # The n-best transcripts asked of the recognizer (the classifier reads config.hypotheses of them).
        self.nbest = config.hypotheses if config.hypotheses > 1 else 0
        self._grammars = {lang: Grammar.of(config.examples(lang), numbers=NUMBER_WORDS[lang])
                          for lang in LANGUAGES if config.examples(lang)}
        self._dictations = {lang: Dictation.of(config.sentences(lang)) for lang in self._grammars}

    def start(self, recognizer: PocketSphinxRecognizer, language: Language, *,
              sample_rate: int = 8000) -> OpenSession:
        """Open a session for one answer in ``language`` (CPU work: run ``feed``/``finish`` in an executor)."""
        if language not in self._grammars:
            raise ValueError(f"the open question has no sentences in {language!r}")
        if self.engine == "ngram":
            session: Session = recognizer.start_dictation(self._dictations[language], language,
                                                          sample_rate=sample_rate, nbest=self.nbest)
        else:
            session = recognizer.start(self._grammars[language], language, sample_rate=sample_rate)
        return OpenSession(session, self.steering, language)

    def warm_up(self, recognizer: PocketSphinxRecognizer) -> None:
        """Compile the grammar (or language model) of each language into a decoder now, not on the first call."""
        for language in self._grammars:
            self.start(recognizer, language).close()
