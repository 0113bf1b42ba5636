"""The intent of a caller's sentence, as the recognizer heard it: a logistic regression per language.

Features are TF-IDF word 1-2-grams and character 2-5-grams within words (scikit-learn's ``char_wb``): the words
carry the meaning ("tagihan", "order", "operator"), the character pieces survive what the recognizer gets half
right ("tagihannya", "pesan" for "pesanan") and Indonesian affixes, as in the FAQ's classifier (cti/faq/_search.py).
The classes are the intents plus :data:`~cti.steering._config.NONE`, learnt from out-of-domain sentences, so that
"selamat pagi" takes its probability from every intent. Trained in well under a second for a few hundred sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion, make_pipeline  # type: ignore[import-untyped]

__all__ = ["IntentClassifier", "Ranked"]

_REGULARIZATION: Final = 10.0
_FILLERS: Final = frozenset({"eh", "ehm", "em", "hmm", "uh", "um", "anu", "yeah", "hi", "halo"})
_TOKEN: Final = re.compile(r"[^\W\d_]+|[0-9]+")


@dataclass(frozen=True, slots=True)
class Ranked:
    """An intent and its probability."""

    intent: str
    probability: float


def _clean(text: str) -> str:
    return " ".join(w for w in _TOKEN.findall(text.lower()) if w not in _FILLERS)


class IntentClassifier:
    """Intents of sentences of one language, trained on (sentence, intent) examples."""

    def __init__(self, examples: Sequence[tuple[str, str]]) -> None:
        intents = {intent for _, intent in examples}
        if len(intents) < 2:
            raise ValueError("an intent classifier needs examples of at least two intents")
        features = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ])
        self._model: Any = make_pipeline(features, LogisticRegression(C=_REGULARIZATION, max_iter=2000))
        self._model.fit([_clean(text) for text, _ in examples], [intent for _, intent in examples])
        self.intents: tuple[str, ...] = tuple(str(c) for c in self._model.classes_)

    def rank(self, text: str) -> tuple[Ranked, ...]:
        """Every intent with its probability, likeliest first (they sum to 1)."""
        return self.rank_weighted([(text, 1.0)])

    def rank_weighted(self, texts: Sequence[tuple[str, float]]) -> tuple[Ranked, ...]:
        """Every intent with its probability given several readings of one sentence, each with its weight (the
        weights sum to 1): the weighted sum of their probabilities, likeliest first."""
        probabilities = self._model.predict_proba([_clean(text) for text, _ in texts])
        mixed = sum(weight * row for (_, weight), row in zip(texts, probabilities, strict=True))
        ranked = sorted(zip(self.intents, mixed, strict=True), key=lambda pair: -pair[1])
        return tuple(Ranked(intent, round(float(p), 4)) for intent, p in ranked)
