"""The FAQ classifier's probabilities blended with nearness in meaning (e5 sentence vectors, :mod:`._embedding`).

Every example the agent knows — each FAQ entry's question and alternative phrasings, the customers' questions it
learnt (:data:`cti.cyberagent.QUESTIONS`, each with its entry, an intent, or a hand-over) and the out-of-scope
examples (:mod:`cti.faq._words`, as hand-overs) — is a vector. A message's nearness to a label (an entry, one of
:data:`INTENTS`, or :data:`HANDOVER`) is its highest cosine with that label's examples; a softmax over the labels at
:data:`TEMPERATURE` makes the nearnesses a distribution, and each entry's probability from the classifier is
blended with it: ``(1 - weight) * classifier + weight * meaning``. The intents and the hand-over are labels too, so
a message nearer in meaning to "where is my parcel, I ordered it last week" or to an out-of-scope question than to
any entry takes probability away from every entry, and the agent hands it over rather than answer it wrong.

Why a blend rather than the vectors alone: n-grams are sure of typed words and product names the model has barely
seen ("kuota", "VA", "roaming"); the vectors see paraphrases the n-grams cannot. The weight and the temperature
were chosen per language by cross-validation on the benchmark's development sets (docs/benchmarks.md, "CyberAgent").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from cti.cyberagent._embedding import Embedder, Vectors
from cti.cyberagent._model import HANDOVER, INTENTS
from cti.cyberagent._unfamiliar import words_of
from cti.faq import FRAMED_OUT_OF_SCOPE, OUT_OF_SCOPE, FaqEntry, FaqHit

__all__ = ["BLEND", "TEMPERATURE", "Blend", "MeaningIndex"]

TEMPERATURE: Final = 0.02
"""How sharply the softmax over labels prefers the nearest (e5's cosines between related sentences lie close
together, 0.75 to 0.95)."""


@dataclass(frozen=True, slots=True)
class Blend:
    """How much meaning weighs against the classifier, per language."""

    weight: float
    temperature: float = TEMPERATURE


BLEND: Final[Mapping[str, Blend]] = {"id": Blend(0.75, 0.02), "en": Blend(0.75, 0.01)}
"""Chosen with :data:`cti.cyberagent.THRESHOLDS` by cross-validation (bench/cyberagent.py ``--cv meaning``)."""


class _Index(Protocol):
    def search(self, query: str, lang: str, *, product_line: str | None = None, limit: int = 10,
               min_score: float = ...) -> list[FaqHit]: ...

    def classify(self, query: str, lang: str, *, limit: int = 2) -> list[FaqHit]: ...

    def entry(self, entry_id: str) -> FaqEntry | None: ...

    def phrasings(self, lang: str) -> list[str]: ...

    def entries(self, lang: str) -> list[FaqEntry]: ...


class _References:
    """One language's examples as one matrix, each row's label a column of ``owners``."""

    def __init__(self, labels: list[str], examples: list[tuple[int, str]], embedder: Embedder, lang: str) -> None:
        self.labels = labels
        self.matrix: Vectors = embedder.vectors([text for _, text in examples], lang)
        self.owners: npt.NDArray[np.intp] = np.asarray([n for n, _ in examples], dtype=np.intp)

    def nearest(self, vector: Vectors, k: int) -> list[str]:
        """The labels of the ``k`` examples nearest the vector, nearest first."""
        if not len(self.owners):
            return []
        cosines = self.matrix @ vector
        k = min(k, len(cosines))
        top = np.argpartition(-cosines, k - 1)[:k]
        return [self.labels[self.owners[n]] for n in top[np.argsort(-cosines[top])]]

    def nearness(self, vector: Vectors) -> npt.NDArray[np.float32]:
        """Each label's highest cosine with the vector (-1 for a label without examples)."""
        found = np.full(len(self.labels), -1.0, dtype=np.float32)
        if len(self.owners):
            np.maximum.at(found, self.owners, self.matrix @ vector)
        return found


class MeaningIndex:
    """An FAQ index (:class:`cti.faq.FaqIndex`) whose :meth:`classify` blends in nearness in meaning; its search
    is the index's own. ``questions``: the learnt questions (``{lang: [(label, text), ...]}``, labels as in
    :data:`cti.cyberagent.QUESTIONS`); a question for an entry the index lacks is left out."""

    def __init__(self, index: _Index, embedder: Embedder,
                 questions: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                 blend: Mapping[str, Blend] | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.blend = blend or BLEND
        self._questions = questions or {}
        self._references: dict[str, _References] = {}
        self._familiar: frozenset[str] | None = None

    def prepare(self) -> None:
        """Every language's examples' vectors (read from the cache, the rest embedded: on a worker thread), and the
        words of what it answers (:meth:`familiar`)."""
        for lang in ("id", "en"):
            self._language(lang)
        self.familiar()

    def with_blend(self, blend: Mapping[str, Blend]) -> MeaningIndex:
        """The same index and vectors, another blend (the benchmark's sweep)."""
        other = MeaningIndex(self.index, self.embedder, self._questions, blend)
        other._references, other._familiar = self._references, self._familiar
        return other

    def search(self, query: str, lang: str, *, product_line: str | None = None, limit: int = 10,
               min_score: float = 0.12) -> list[FaqHit]:
        return self.index.search(query, lang, product_line=product_line, limit=limit, min_score=min_score)

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self.index.entry(entry_id)

    def phrasings(self, lang: str) -> list[str]:
        return self.index.phrasings(lang)

    def entries(self, lang: str) -> list[FaqEntry]:
        return self.index.entries(lang)

    def familiar(self) -> frozenset[str]:
        """The words of every example it answers, in either language (a customer mixes them: "charger 65w yg fast
        charging"): the entries' phrasings and the learnt questions for an entry or an intent, not the hand-overs
        (:func:`cti.cyberagent._unfamiliar.unfamiliar`). Read once."""
        if self._familiar is None:
            found: set[str] = set()
            for lang in ("id", "en"):
                entries = self.index.entries(lang)
                ids = {entry.entry_id for entry in entries}
                texts = [phrase for entry in entries
                         for phrase in (entry.texts[lang].question, *entry.texts[lang].keywords)]
                texts += [text for label, text in self._questions.get(lang, ()) if label in ids or label in INTENTS]
                found |= words_of(texts, lang)
            self._familiar = frozenset(found)
        return self._familiar

    def nearness(self, query: str, lang: str) -> dict[str, float]:
        """Each label's highest cosine with the query (entries by id, :data:`INTENTS`, :data:`HANDOVER`)."""
        references = self._language(lang)
        found = references.nearness(self.embedder.vector(query, lang))
        return {label: float(score) for label, score in zip(references.labels, found, strict=True)}

    def neighbours(self, query: str, lang: str, k: int) -> list[str]:
        """The labels of the ``k`` examples nearest the query in meaning, nearest first (a label per example:
        an entry's phrasings each count)."""
        return self._language(lang).nearest(self.embedder.vector(query, lang), k)

    def alone(self, query: str, lang: str) -> list[FaqHit]:
        """The FAQ classifier's own probabilities (nothing blended), likeliest first."""
        return self.index.classify(query, lang, limit=10_000)

    def views(self, query: str, lang: str) -> tuple[str | None, str]:
        """Two views of the query, for the agent to see whether they agree: the classifier's own likeliest entry
        (None without one) and the label of the nearest example in meaning (an entry, an intent or
        :data:`HANDOVER`)."""
        hits = self.index.classify(query, lang, limit=1)
        near = self.nearness(query, lang)
        return (hits[0].entry.entry_id if hits else None), max(near, key=lambda label: near[label])

    def classify(self, query: str, lang: str, *, limit: int = 2) -> list[FaqHit]:
        hits = self.index.classify(query, lang, limit=10_000)
        blend = self.blend.get(lang)
        if not hits or blend is None or blend.weight <= 0:
            return hits[:limit]
        near = self.nearness(query, lang)
        scores = np.asarray(list(near.values()), dtype=np.float64)
        shares = np.exp((scores - scores.max()) / blend.temperature)
        meaning = dict(zip(near, shares / shares.sum(), strict=True))
        blended = [FaqHit(hit.entry, hit.lang, (1 - blend.weight) * hit.score
                          + blend.weight * float(meaning.get(hit.entry.entry_id, 0.0))) for hit in hits]
        blended.sort(key=lambda hit: (-hit.score, hit.entry.entry_id))
        return blended[:limit]

    def _language(self, lang: str) -> _References:
        found = self._references.get(lang)
        if found is None:
            entries = self.index.entries(lang)
            labels = [entry.entry_id for entry in entries] + [*INTENTS, HANDOVER]
            number = {label: n for n, label in enumerate(labels)}
            examples = [(number[entry.entry_id], phrase) for entry in entries
                        for phrase in (entry.texts[lang].question, *entry.texts[lang].keywords)]
            examples += [(number[label], text) for label, text in self._questions.get(lang, ()) if label in number]
            examples += [(number[HANDOVER], text) for source in (OUT_OF_SCOPE, FRAMED_OUT_OF_SCOPE)
                         for text in source.get(lang, ())]
            found = self._references[lang] = _References(labels, examples, self.embedder, lang)
        return found
