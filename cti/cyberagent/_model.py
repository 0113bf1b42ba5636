"""A trained reading of what a message asks for: the customer's own order, their balance, buying, or something
else (an FAQ question, a hand-over) — the rules' work, learnt from examples.

Why a model beside the rules: the rules (:mod:`cti.cyberagent._intents`) are exact but know only the forms they
list, and every fresh set of questions brought forms they did not ("pesanan saya sudah sampai di mana", "please
check the status of my purchase", "any updates on my order"); the FAQ then answered them with the tracking entry.
A logistic regression over character 2-5-grams and word 1-3-grams of the whole message (stop words kept: "my"
and "saya" are what make an order one's own) learns the customers' forms from examples instead, and its
probabilities say how sure it is. The examples are customers' messages, each labelled with what it asks for
(:data:`INTENTS` or :data:`OTHER`): the agent's shipped ones are :mod:`cti.cyberagent._examples`.

It is trained in well under a second per language for a few thousand examples, on first use or by
:meth:`IntentModel.prepare`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion  # type: ignore[import-untyped]

from cti.faq import FRAMED_OUT_OF_SCOPE, NONE, OUT_OF_SCOPE, FaqIndex, expand_short_forms

__all__ = ["INTENTS", "OTHER", "IntentModel", "faq_questions", "intent_examples"]

INTENTS: Final = ("order_status", "balance", "purchase")
"""What the model tells from everything else: the customer's own data, and buying."""
OTHER: Final = "other"
"""Any other message: an FAQ question, a request for a person, something out of scope."""
MODEL_C: Final = 10.0
"""Regularisation, chosen by cross-validation on the benchmark's development sets (bench/cyberagent.py --cv)."""


def _prepared(text: str, lang: str) -> str:
    return " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).split())


class _Language:
    def __init__(self, lang: str, examples: Iterable[tuple[str, str]], c: float) -> None:
        texts: list[str] = []
        labels: list[str] = []
        for label, text in examples:
            if label not in (*INTENTS, OTHER):
                raise ValueError(f"unknown label {label!r}")
            texts.append(_prepared(text, lang))
            labels.append(label)
        self.lang = lang
        self.features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False,
                                      dtype=np.float32)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 3), sublinear_tf=True, lowercase=False,
                                      token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
        ])
        self.model: Any = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(
            self.features.fit_transform(texts), labels) if len(set(labels)) > 1 else None
        self.only = labels[0] if labels and self.model is None else OTHER

    def probabilities(self, text: str) -> dict[str, float]:
        found = dict.fromkeys((*INTENTS, OTHER), 0.0)
        if self.model is None:
            found[self.only] = 1.0
            return found
        row = self.model.predict_proba(self.features.transform([_prepared(text, self.lang)]))[0]
        for label, probability in zip(self.model.classes_, row, strict=True):
            found[str(label)] = float(probability)
        return found


class IntentModel:
    """One classifier per language, over the given examples (``{lang: [(label, message), ...]}``)."""

    def __init__(self, examples: Mapping[str, Iterable[tuple[str, str]]], *, c: float = MODEL_C) -> None:
        self._examples = {lang: list(found) for lang, found in examples.items()}
        self._c = c
        self._models: dict[str, _Language] = {}

    def prepare(self) -> None:
        """Train every language's classifier now rather than on its first message."""
        for lang in self._examples:
            self._model(lang)

    def probabilities(self, text: str, lang: str) -> dict[str, float]:
        """Each label's probability for ``text`` (they sum to 1); all :data:`OTHER` for a language without
        examples."""
        if lang not in self._examples:
            return {**dict.fromkeys(INTENTS, 0.0), OTHER: 1.0}
        return self._model(lang).probabilities(text)

    def _model(self, lang: str) -> _Language:
        model = self._models.get(lang)
        if model is None:
            model = self._models[lang] = _trained(lang, self._examples[lang], self._c)
        return model


_TRAINED: OrderedDict[str, _Language] = OrderedDict()
_TRAINED_LOCK = threading.Lock()
_TRAINED_KEPT = 4


def _trained(lang: str, examples: list[tuple[str, str]], c: float) -> _Language:
    """The classifier of these examples, trained once per process: the same examples train the same model, and
    training takes seconds of CPU (every cti started in one process, a test run's many or an FAQ changed back,
    reuses it). A trained model is only read afterwards."""
    key = hashlib.sha256(repr((lang, c, examples)).encode()).hexdigest()
    with _TRAINED_LOCK:
        found = _TRAINED.get(key)
        if found is not None:
            _TRAINED.move_to_end(key)
            return found
    model = _Language(lang, examples, c)
    with _TRAINED_LOCK:
        _TRAINED[key] = model
        while len(_TRAINED) > _TRAINED_KEPT:
            _TRAINED.popitem(last=False)
    return model


HANDOVER: Final = "handover"
"""The label of a learnt question a person must take (:mod:`cti.cyberagent._questions`)."""


def faq_questions(questions: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """Learnt questions as the FAQ classifier's (:class:`cti.faq.FaqIndex`'s ``questions``): an entry's question is
    that entry's, one to hand over is :data:`cti.faq.NONE`'s; the intents' are left to :class:`IntentModel`."""
    found: dict[str, list[tuple[str, str]]] = {}
    for lang, items in questions.items():
        mine = found.setdefault(lang, [])
        for label, question in items:
            if label == HANDOVER:
                mine.append((NONE, question))
            elif label not in INTENTS:
                mine.append((label, question))
    return found


def intent_examples(questions: Mapping[str, Sequence[tuple[str, str]]],
                    index: FaqIndex | None = None) -> dict[str, list[tuple[str, str]]]:
    """Learnt questions as :class:`IntentModel`'s examples (an intent is itself, anything else :data:`OTHER`),
    with the FAQ's own phrasings (``index``) and its out-of-scope examples as :data:`OTHER` too."""
    found: dict[str, list[tuple[str, str]]] = {}
    for lang, items in questions.items():
        found.setdefault(lang, []).extend((label if label in INTENTS else OTHER, q) for label, q in items)
    for lang in list(found):
        if index is not None:
            found[lang].extend((OTHER, phrase) for phrase in index.phrasings(lang))
        found[lang].extend((OTHER, phrase) for examples in (OUT_OF_SCOPE, FRAMED_OUT_OF_SCOPE)
                           for phrase in examples.get(lang, ()))
    return found
