"""Supervisors teach the virtual agent: they read the questions it handed over or answered unsure, and label each
with what answers it (:mod:`cti.cyberagent._labels`); the agent answers the same question, or one worded nearly the
same, as labelled from the next message on (:meth:`cti.services.CyberAgentDesk.learn`), with no restart and no
training.

Who: supervisors and admins (the web checks the role), each within their scope: a question is the chat's, and
the chat's interaction must be in the user's reach (:class:`cti.services.Policy`: its queue or its agent's team),
as for reading its transcript; one out of reach is not found. A chat the agent held to its end was never in a
queue: only staff who see every queue see its questions, as they alone see the chats it holds live.

What is kept: the label, who gave it and when, and a copy of the customer's words, which goes wherever the chat's
transcript text goes (erasure of the customer, the retention period: ``redact_chats``), so a label never outlives
what the customer said; the agent then forgets it (:meth:`CyberAgentDesk.reload_labels`). Reading the questions is
a read of chats (audited, one entry per chat, before they are shown); labelling and undoing are audited with the
label's kind and target, never the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from cti.cyberagent import INTENTS, LABEL_KINDS, AskedQuestion, LabelKind, QuestionLabel, valid_target
from cti.errors import InvalidInput, NotFound, Problem
from cti.records import UserRecord
from cti.services._audit import AuditTrail
from cti.services._cyberagent import CyberAgentDesk
from cti.services._faq import Faq
from cti.services._policy import Policy
from cti.services._ports import QuestionLabels
from cti.types import Clock

__all__ = ["MAX_QUESTIONS", "QUESTION_DAYS", "CyberAgentLabels", "LabelState"]

QUESTION_DAYS: Final = 30
"""How far back the questions are read by default (chats stored since then)."""
MAX_QUESTIONS: Final = 200
LabelState = Literal["open", "labelled", "all"]


@dataclass(frozen=True, slots=True)
class _Subject:
    call_id: str
    seq: int

    @property
    def key(self) -> str:
        return f"{self.call_id}#{self.seq}"


class CyberAgentLabels:
    def __init__(self, labels: QuestionLabels, policy: Policy, faq: Faq, desk: CyberAgentDesk, audit: AuditTrail,
                 *, clock: Clock) -> None:
        self._labels = labels
        self._policy = policy
        self._faq = faq
        self._desk = desk
        self._audit = audit
        self._clock = clock

    async def questions(self, user: UserRecord, *, state: LabelState = "open", lang: str | None = None,
                        days: int = QUESTION_DAYS, limit: int = MAX_QUESTIONS, source: str) -> list[AskedQuestion]:
        """The questions of chats in ``user``'s reach stored in the last ``days`` days, newest first: not labelled
        yet (``open``), ``labelled``, or ``all``; in one language when given. Audited as reads of those chats."""
        since = self._clock() - timedelta(days=days)
        found = await self._labels.questions(within=self._policy.reach(user), since=since,
                                             limit=MAX_QUESTIONS if state == "all" else MAX_QUESTIONS * 2)
        chosen = [q for q in found if (lang is None or q.lang == lang)
                  and (state == "all" or (q.label is None) == (state == "open"))][:limit]
        await self._audit.record_each(user, "view", "chat", {q.call_id: {"what": "cyberagent_questions"}
                                                             for q in chosen}, source=source)
        return chosen

    async def label(self, user: UserRecord, call_id: str, seq: int, kind: str, target: str | None, *,
                    source: str) -> QuestionLabel:
        """Label the question (replacing its label); the agent answers as labelled at once. Not found for a
        question out of reach, or no question the agent failed; :class:`InvalidInput` (``invalid_label``) for a
        kind or target that does not fit (an FAQ entry must be published, in the question's language)."""
        question = await self._question(user, call_id, seq)
        problems = await self._problems(kind, target, question.lang)
        if problems:
            raise InvalidInput("invalid label: " + "; ".join(map(str, problems)), problems, code="invalid_label")
        checked: LabelKind = kind  # type: ignore[assignment]
        await self._audit.record(user, "change", "cyberagent_question", _Subject(call_id, seq).key, source=source,
                                 detail={"kind": kind, "target": target})
        label = await self._labels.label(question, checked, target, by=user.name, at=self._clock())
        await self._desk.learn(label)
        return label

    async def unlabel(self, user: UserRecord, call_id: str, seq: int, *, source: str) -> QuestionLabel:
        """Undo the question's label: the agent forgets it at once. Not found without one (or out of reach)."""
        await self._policy.interaction(user, call_id)
        subject = _Subject(call_id, seq)
        removed = await self._labels.unlabel(call_id, seq)
        if removed is None:
            raise NotFound(f"no label of question {subject.key}", code="label_not_found",
                           params={"call_id": call_id, "seq": str(seq)})
        await self._audit.record(user, "delete", "cyberagent_question", subject.key, source=source,
                                 detail={"kind": removed.kind, "target": removed.target})
        await self._desk.unlearn(removed.label_id)
        return removed

    async def _question(self, user: UserRecord, call_id: str, seq: int) -> AskedQuestion:
        await self._policy.interaction(user, call_id)
        for question in await self._labels.questions(within=self._policy.reach(user), since=self._clock(),
                                                     call_id=call_id):
            if question.seq == seq:
                return question
        raise NotFound(f"no question {call_id}#{seq} the virtual agent could not answer",
                       code="question_not_found", params={"call_id": call_id, "seq": str(seq)})

    async def _problems(self, kind: str, target: str | None, lang: str) -> list[Problem]:
        if kind not in LABEL_KINDS:
            return [Problem("kind", f"one of {', '.join(LABEL_KINDS)}", code="unknown_label_kind")]
        if not valid_target(kind, target):
            if kind == "intent":
                return [Problem("target", f"one of {', '.join(INTENTS)}", code="unknown_intent")]
            if kind == "faq":
                return [Problem("target", "an FAQ entry's id", code="required")]
            return [Problem("target", "none for this kind", code="not_allowed")]
        if kind == "faq":
            assert target is not None
            try:
                entry = await self._faq.get(target)
            except NotFound:
                entry = None
            if entry is None or entry.status != "published" or lang not in entry.texts:
                return [Problem("target", f"a published FAQ entry with a text in {lang}",
                                code="faq_not_published")]
        return []
