"""From what a caller said to what the IVR does: the intent, its entities, and route, confirm or reprompt."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from cti.steering._classifier import IntentClassifier, Ranked
from cti.steering._config import NONE, SteeringConfig, Thresholds
from cti.steering._entities import Entities, extract_entities
from cti.types import LANGUAGES, Language

__all__ = ["Decision", "Steering", "Understanding", "decide"]

Decision: TypeAlias = Literal["route", "confirm", "reprompt"]
"""``route``: go where the intent goes; ``confirm``: ask "you want X, right?"; ``reprompt``: ask again."""


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the caller wants: ``intent`` is None when nothing was understood (``decision`` is then reprompt);
    ``alternatives`` are the likeliest intents (for a disambiguation question), best first."""

    intent: str | None
    confidence: float
    decision: Decision
    entities: Entities
    text: str
    alternatives: tuple[Ranked, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """For JSON (``cti speech intent``)."""
        return {"intent": self.intent, "confidence": self.confidence, "decision": self.decision,
                "entities": self.entities.as_dict(), "text": self.text,
                "alternatives": [{"intent": r.intent, "confidence": r.probability} for r in self.alternatives]}


def decide(ranking: tuple[Ranked, ...], thresholds: Thresholds, *, speech_confidence: float = 1.0) -> Decision:
    """Route when the likeliest intent is sure enough and clearly ahead of the second; confirm when it is middling;
    reprompt when it is weak or out of domain (the out-of-domain class leads, or has ``thresholds.none``).
    ``speech_confidence`` (the recognizer's, 0-1) scales the intent's
    probability: a sentence barely heard should not be routed on its words alone."""
    if not ranking or ranking[0].intent == NONE:
        return "reprompt"
    if thresholds.none < 1.0 and any(r.intent == NONE and r.probability >= thresholds.none for r in ranking):
        return "reprompt"
    best = ranking[0].probability * speech_confidence
    second = ranking[1].probability if len(ranking) > 1 else 0.0
    if best >= thresholds.route and ranking[0].probability - second >= thresholds.margin:
        return "route"
    if best >= thresholds.confirm:
        return "confirm"
    return "reprompt"


class Steering:
    """An open question's intents, one classifier per language, trained from a :class:`SteeringConfig`."""

    def __init__(self, config: SteeringConfig) -> None:
        self.config = config
        self._classifiers: Mapping[Language, IntentClassifier] = {
            lang: IntentClassifier(config.training_examples(lang)) for lang in LANGUAGES
            if len({intent for _, intent in config.examples(lang)} - {NONE}) >= 2
        }

    @property
    def languages(self) -> tuple[Language, ...]:
        """The languages with intents."""
        return tuple(self._classifiers)

    def rank(self, text: str, language: Language) -> tuple[Ranked, ...]:
        """Every intent of ``language`` (and :data:`~cti.steering._config.NONE`) with its probability, best first."""
        classifier = self._classifiers.get(language)
        if classifier is None:
            raise ValueError(f"no intents in {language!r}")
        return classifier.rank(text)

    def readings(self, text: str, hypotheses: Sequence[tuple[str, float]] = ()) -> list[tuple[str, float]]:
        """``text`` and the recognizer's other transcripts of the same speech (text, log score relative to the
        best), as the configuration's :attr:`~SteeringConfig.hypotheses` readings with their weights: a softmax
        of the scores times ``hypothesis_scale``; ``text`` (the recognizer's best) counts as the best score."""
        chosen = [(text, 0.0)]
        for other, score in hypotheses:
            if len(chosen) >= self.config.hypotheses:
                break
            if other != text and other.strip():
                chosen.append((other, min(score, 0.0)))
        scale = self.config.hypothesis_scale
        weights = [math.exp(scale * score) for _, score in chosen]
        total = sum(weights)
        return [(reading, weight / total) for (reading, _), weight in zip(chosen, weights, strict=True)]

    def rank_readings(self, readings: Sequence[tuple[str, float]], language: Language) -> tuple[Ranked, ...]:
        """:meth:`rank` over several weighted readings of one sentence (:meth:`readings`)."""
        classifier = self._classifiers.get(language)
        if classifier is None:
            raise ValueError(f"no intents in {language!r}")
        return classifier.rank_weighted(readings)

    def understand(self, text: str, language: Language, *, speech_confidence: float = 1.0,
                   hypotheses: Sequence[tuple[str, float]] = ()) -> Understanding:
        """The intent, entities and decision for ``text`` (what the recognizer heard) in ``language``;
        ``hypotheses``: the recognizer's other transcripts of it (see :meth:`readings`). Entities come from
        ``text`` alone (a number is only worth what was heard best)."""
        if language not in self._classifiers:
            raise ValueError(f"no intents in {language!r}")
        entities = extract_entities(text, language)
        if not text.strip():
            return Understanding(None, 0.0, "reprompt", entities, text)
        ranking = self.rank_readings(self.readings(text, hypotheses), language)
        decision = decide(ranking, self.config.thresholds, speech_confidence=speech_confidence)
        intents = tuple(r for r in ranking if r.intent != NONE)[:2]
        best = ranking[0]
        intent = None if best.intent == NONE else best.intent
        confidence = round(best.probability * speech_confidence, 4) if intent is not None else 0.0
        if decision == "reprompt":  # too weak, or too likely out of domain
            intent = None
        return Understanding(intent, confidence, decision, entities, text, intents)
