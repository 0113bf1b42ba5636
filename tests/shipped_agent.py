"""The CyberAgent as the server builds it, for the unit tests that ask it questions: the demo FAQ, the shipped
learnt questions, meaning (e5) and the intent model. Built once per test process: it takes seconds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from cti.cyberagent import (
    QUESTIONS,
    Combiner,
    CyberAgent,
    IntentModel,
    MeaningIndex,
    embedder,
    faq_questions,
    intent_examples,
    known_words,
)
from cti.faq import FaqEntry, FaqIndex, read_texts
from cti.sim._crm_seed_data import PRODUCTS
from cti.sim._demo_seed import starter_faq
from cti.types import Language

__all__ = ["ENTRIES", "shipped"]

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ENTRIES = {entry_id: FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
           for entry_id, draft in starter_faq()}
"""The demo FAQ's entries, published, by id."""
_BUILT: dict[str, CyberAgent] = {}


def shipped(combiner: Mapping[Language, Combiner] | None = None) -> CyberAgent:
    """The agent as the server builds it, with the shipped combiner (None) or another (``{}``: none)."""
    if "agent" not in _BUILT:
        index = FaqIndex(ENTRIES.values(), faq_questions(QUESTIONS))
        model = IntentModel(intent_examples(QUESTIONS, index))
        meaning = MeaningIndex(index, embedder(), QUESTIONS)
        _BUILT["agent"] = CyberAgent(meaning, catalog=PRODUCTS, intents=model,
                                     known=known_words(ENTRIES.values(), QUESTIONS))
    agent = _BUILT["agent"]
    return CyberAgent(agent.index, catalog=PRODUCTS, intents=agent.intents, known=agent.known, combiner=combiner)
