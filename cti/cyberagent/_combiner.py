"""Whether to answer the likeliest FAQ entry: one calibrated probability from what every scorer says of it.

Why: until round 8 the agent answered when hand-set thresholds each held (the blended probability, its lead, the
search's cosine, an "agreed" rule where two scorers named the same entry). Each threshold looks at one scorer, so a
question two or three scorers agree on, none of them sure, was handed over — most of the answerable questions
lost on fresh sets were such. A logistic regression over all the scorers' evidence together (:data:`FEATURES`),
fitted on questions the agent had never learnt (each development set scored by an agent trained on the others:
bench/cyberagent.py ``--cv combiner``), weighs them as they proved to weigh on unseen wording, and says how likely
answering is right. It is a dozen numbers per language (:data:`COMBINER`), nothing trained at start-up. In
Indonesian it decides alone, in English only where the thresholds hand over (:attr:`Combiner.alone`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cti.faq import FaqHit

__all__ = ["COMBINER", "FEATURES", "NEIGHBOURS", "Combiner", "Evidence"]

NEIGHBOURS: Final = 10
"""The nearest examples in meaning whose labels vote (:attr:`Evidence.neighbours`)."""

FEATURES: Final = ("blended", "lead", "similarity", "closest_same", "classifier", "classifier_same", "cosine",
                   "cosine_gap", "nearest_same", "neighbours", "intent")
"""The order of :meth:`Evidence.features` and of :attr:`Combiner.weights`."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the scorers say of one message about its likeliest (blended) entry."""

    entry: str
    blended: float
    """The entry's blended probability (:meth:`cti.cyberagent.MeaningIndex.classify`)."""
    lead: float
    """Its lead over the second entry's."""
    similarity: float
    """The search's highest cosine over all entries (TF-IDF: are the words near any entry's at all)."""
    closest_same: bool
    """The search's closest entry is this one."""
    classifier: float
    """The FAQ classifier's own probability of the entry (nothing blended)."""
    classifier_same: bool
    """The classifier alone names this entry too."""
    cosine: float
    """Its nearness in meaning: the highest cosine of the message with the entry's examples."""
    cosine_gap: float
    """How much nearer in meaning the nearest other label is (an entry, an intent, a hand-over); 0 if none is."""
    nearest_same: bool
    """The nearest example in meaning is this entry's."""
    neighbours: float
    """The share of the :data:`NEIGHBOURS` nearest examples in meaning that are this entry's."""
    intent: float
    """The intent model's probability of the likeliest of the customer's own order, balance or buying."""

    def features(self) -> tuple[float, ...]:
        return (self.blended, self.lead, self.similarity, float(self.closest_same), self.classifier,
                float(self.classifier_same), self.cosine, self.cosine_gap, float(self.nearest_same),
                self.neighbours, self.intent)

    @classmethod
    def of(cls, hits: Sequence[FaqHit], closest: FaqHit | None, alone: Sequence[FaqHit],
           nearness: Mapping[str, float], neighbours: Sequence[str], intent: float) -> Evidence | None:
        """The evidence on ``hits[0]`` (None without a hit): ``alone`` the classifier's own hits, ``nearness``
        each label's highest cosine, ``neighbours`` the labels of the nearest examples, nearest first."""
        if not hits:
            return None
        top = hits[0].entry.entry_id
        mine = nearness.get(top, -1.0)
        others = max((score for label, score in nearness.items() if label != top), default=-1.0)
        return cls(
            entry=top, blended=hits[0].score, lead=hits[0].score - (hits[1].score if len(hits) > 1 else 0.0),
            similarity=closest.score if closest is not None else 0.0,
            closest_same=closest is not None and closest.entry.entry_id == top,
            classifier=next((hit.score for hit in alone if hit.entry.entry_id == top), 0.0),
            classifier_same=bool(alone) and alone[0].entry.entry_id == top,
            cosine=mine, cosine_gap=max(0.0, others - mine), nearest_same=mine >= others,
            neighbours=sum(label == top for label in neighbours) / max(1, len(neighbours)), intent=intent)


@dataclass(frozen=True, slots=True)
class Combiner:
    """A logistic regression over :data:`FEATURES`: answer the entry when its probability of being right is at
    least :attr:`threshold`."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    alone: bool = False
    """It decides in place of the thresholds (:data:`cti.cyberagent.THRESHOLDS`, which then answer only over an
    index without meaning); otherwise it answers only what they hand over."""

    def probability(self, evidence: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.features(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, evidence: Evidence) -> bool:
        return self.probability(evidence) >= self.threshold


COMBINER: Final[Mapping[str, Combiner]] = {
    "id": Combiner((-0.3348, -1.5457, -0.5132, 0.0832, 5.5594, 2.1901, 16.6442, -43.8933, 1.4509, 4.2389, -4.1644),
                   bias=-19.4124, threshold=0.93, alone=True),
    "en": Combiner((2.2686, 0.8873, 1.0764, -0.7864, 3.782, -0.3097, 13.076, -35.0782, 1.4703, 3.8942, -1.939),
                   bias=-16.2148, threshold=0.9),
}
"""Per language: fitted (C 1, standardised, then folded back into raw weights) on the nine development sets'
questions as recorded by bench/cyberagent.py ``--cv combiner`` (each by an agent that had not learnt its set); the
threshold, and whether it decides alone or beside the thresholds, by the round-6 rule (the most right answers and
hand-overs, a wrong answer costing five, at most 1 % wrong) over leave-one-set-out cross-validation: alone in
Indonesian (beside the thresholds it gave more right answers but 1.05 % wrong), beside them in English.
docs/benchmarks.md, "Round 9", has the measurement."""
