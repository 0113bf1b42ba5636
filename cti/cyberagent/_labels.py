"""What supervisors label: the customers' questions the virtual agent handed over, or answered unsure, and the
label each gets. Pure data and decisions; the chats' transcripts and the labels are stored elsewhere.

A question is a customer's message in a chat's stored transcript (``call_id`` and its ``seq``) that a reply of the
agent's followed: a hand-over because it was unsure (``handed_over``), or an FAQ answer less sure than
:data:`LOW_CONFIDENCE` (``unsure``). A hand-over the customer asked for (a person, anger, buying) is no question the
agent failed, and an answer a label already chose is none either.

A label says what answers it (:data:`LABEL_KINDS`): an FAQ entry (``faq``, the entry's id), one of the agent's
intents (``intent``: the customer's own order, balance, buying), none of the FAQ though it should (``new_faq``: a
note for whoever writes the FAQ; the agent keeps handing it over), or nothing the agent should answer
(``ignore``: not a question, or one for a person; the agent hands it over even if a classifier would answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from cti.cyberagent._learnt import HANDOVER, Learnt
from cti.cyberagent._model import INTENTS
from cti.cyberagent._texts import TEXTS
from cti.types import LANGUAGES, Language

__all__ = ["LABEL_KINDS", "LOW_CONFIDENCE", "AskedQuestion", "LabelKind", "QuestionLabel", "UnsureReply",
           "unsure_reply", "valid_target"]

LabelKind = Literal["faq", "intent", "new_faq", "ignore"]
LABEL_KINDS: Final = ("faq", "intent", "new_faq", "ignore")
LOW_CONFIDENCE: Final = 0.6
"""An FAQ answer whose confidence (the classifier's probability) is under this is worth a supervisor's look: the
agent answers from 0.35 (Indonesian) or 0.5 (English) up (:data:`cti.cyberagent.THRESHOLDS`), and most of its
wrong answers on the benchmark's sets lie under 0.6."""
UnsureReply = Literal["handed_over", "unsure"]


@dataclass(frozen=True, slots=True)
class QuestionLabel:
    """A supervisor's label of a customer's question (see the module's docstring). ``question`` is None once
    the customer's words were erased (their customer erased, or the chat past the retention period): the label
    stays, as the record of who labelled what, and the agent no longer learns from it."""

    label_id: int
    call_id: str
    seq: int
    lang: Language
    question: str | None
    kind: LabelKind
    target: str | None
    labelled_by: str
    labelled_at: datetime

    def learnt(self) -> Learnt | None:
        """What the agent learns from it (:class:`cti.cyberagent.LearntQuestions`), or None: a question to write an
        FAQ entry for teaches nothing yet, an erased one nothing any more."""
        if self.question is None or self.kind == "new_faq" or (self.kind != "ignore" and not self.target):
            return None
        return Learnt(str(self.label_id), self.lang, self.question,
                      HANDOVER if self.kind == "ignore" else str(self.target))


@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """A customer's question the agent handed over or answered unsure, with its label if it has one."""

    call_id: str
    seq: int
    lang: Language
    text: str
    at: datetime
    reply: UnsureReply
    confidence: float | None
    answered: str | None
    """The FAQ entry it answered with (an unsure answer), if any."""
    queue: str
    label: QuestionLabel | None


def unsure_reply(params: Mapping[str, object] | None, text: str | None) -> tuple[UnsureReply, float | None] | None:
    """Whether a reply of the agent's (a bot message's ``params`` and text, as the chat keeps them) shows it
    could not answer the question before it, and how sure it was; None for a confident answer, a hand-over the
    customer asked for, or a reply a label chose. Transcripts kept before replies carried their reason are read
    by the unsure hand-over's words."""
    params = params or {}
    if params.get("learnt"):
        return None
    confidence = _number(params.get("confidence"))
    action, reason = params.get("action"), params.get("reason")
    if action == "handover":
        unsure = reason in ("unsure", "repeated") if reason is not None else \
            text in {TEXTS["handover_unsure"][lang] for lang in LANGUAGES}
        return ("handed_over", confidence) if unsure else None
    if action == "faq" and confidence is not None and confidence < LOW_CONFIDENCE:
        return "unsure", confidence
    return None


def valid_target(kind: str, target: str | None) -> bool:
    """Whether a label's target fits its kind (an FAQ entry is checked against the FAQ elsewhere)."""
    if kind == "intent":
        return target in INTENTS
    if kind == "faq":
        return bool(target)
    return target is None


def _number(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, (str, int, float)) else None
    except ValueError:
        return None
