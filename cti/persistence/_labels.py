"""Supervisors' labels of the virtual agent's questions, and the questions themselves read from the chats' stored
transcripts (:mod:`cti.cyberagent._labels` says which questions and what a label is).

A question is found where the transcripts are: a reply of the agent's (``chat_messages``, sender ``bot``) that
shows it could not answer (:func:`cti.cyberagent.unsure_reply`), and the customer's message before it. The
chat's interaction says whose it is (its queue and agent, for a supervisor's scope). The label keeps a copy of the
customer's words, so the agent learns from it without reading transcripts; the copy is cleared wherever the
transcript's text is (:func:`cti.persistence._chat.redact_chats`: erasure, retention).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.cyberagent import AskedQuestion, LabelKind, QuestionLabel, UnsureReply, unsure_reply
from cti.records import Reach
from cti.types import LANGUAGES, Language

from ._database import Database
from ._sql import check_limit
from ._tables import ChatMessageRow, InteractionRow, QuestionLabelRow

__all__ = ["QuestionLabelRepository", "redact_labels"]

_SCAN: Final = 20
"""Replies of the agent read per question asked for: most are answers it was sure of."""


async def redact_labels(session: AsyncSession, call_ids: Collection[str]) -> None:
    """The customers' words copied into the labels of these chats go with the transcripts' (erasure, retention);
    the labels stay, as the record of who labelled what."""
    if call_ids:
        await session.execute(update(QuestionLabelRow).where(QuestionLabelRow.call_id.in_(list(call_ids)))
                              .values(question=None))


def _label(row: QuestionLabelRow) -> QuestionLabel:
    return QuestionLabel(row.label_id, row.call_id, row.seq, cast(Language, row.lang), row.question,
                         cast(LabelKind, row.kind), row.target, row.labelled_by, row.labelled_at)


class QuestionLabelRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def questions(self, *, within: Reach | None, since: datetime, limit: int = 100,
                        call_id: str | None = None) -> list[AskedQuestion]:
        """The questions of chats stored since ``since`` (newest first, at most ``limit``) whose interaction is
        ``within`` reach (None: every chat), or those of one chat; a question whose words were redacted is left
        out."""
        check_limit(limit)
        query = (select(ChatMessageRow, InteractionRow.queue)
                 .join(InteractionRow, InteractionRow.call_id == ChatMessageRow.call_id)
                 .where(ChatMessageRow.sender == "bot", InteractionRow.channel == "chat")
                 .order_by(ChatMessageRow.at.desc(), ChatMessageRow.call_id, ChatMessageRow.seq.desc()))
        if call_id is not None:
            query = query.where(ChatMessageRow.call_id == call_id)
        else:
            query = query.where(ChatMessageRow.at >= since).limit(limit * _SCAN)
        if within is not None:
            query = query.where(or_(InteractionRow.queue.in_(list(within.queues)),
                                    InteractionRow.agent_id.in_(list(within.agents))))
        async with self._db.transaction("read the virtual agent's unanswered questions") as session:
            replies: list[tuple[ChatMessageRow, str, UnsureReply, float | None]] = []
            for row, queue in (await session.execute(query)).all():
                unsure = unsure_reply(row.params, row.text)
                if unsure is not None:
                    replies.append((row, queue, *unsure))
            chats = sorted({row.call_id for row, *_ in replies})
            asked: dict[str, list[ChatMessageRow]] = {}
            labels: dict[tuple[str, int], QuestionLabel] = {}
            if chats:
                for said in await session.scalars(select(ChatMessageRow).where(
                        ChatMessageRow.call_id.in_(chats), ChatMessageRow.sender == "customer")
                        .order_by(ChatMessageRow.call_id, ChatMessageRow.seq)):
                    asked.setdefault(said.call_id, []).append(said)
                for label in await session.scalars(select(QuestionLabelRow).where(
                        QuestionLabelRow.call_id.in_(chats))):
                    labels[(label.call_id, label.seq)] = _label(label)
        found: list[AskedQuestion] = []
        seen: set[tuple[str, int]] = set()
        for reply, queue, kind, confidence in replies:
            before = [m for m in asked.get(reply.call_id, ()) if m.seq < reply.seq]
            question = before[-1] if before else None
            if question is None or not question.text or (reply.call_id, question.seq) in seen:
                continue
            seen.add((reply.call_id, question.seq))
            params: dict[str, Any] = reply.params or {}
            lang = params.get("language")
            found.append(AskedQuestion(
                reply.call_id, question.seq, lang if lang in LANGUAGES else "id", question.text, question.at, kind,
                confidence, params.get("source") if kind == "unsure" else None, queue,
                labels.get((reply.call_id, question.seq))))
        return found[:limit]

    async def label(self, question: AskedQuestion, kind: LabelKind, target: str | None, *, by: str,
                    at: datetime) -> QuestionLabel:
        """Label the question (replacing its label, if it had one), keeping a copy of its words."""
        async with self._db.transaction(f"label a question of chat {question.call_id!r}") as session:
            await session.execute(delete(QuestionLabelRow).where(QuestionLabelRow.call_id == question.call_id,
                                                                 QuestionLabelRow.seq == question.seq))
            row = QuestionLabelRow(call_id=question.call_id, seq=question.seq, lang=question.lang,
                                   question=question.text, kind=kind, target=target, labelled_by=by[:64],
                                   labelled_at=at)
            session.add(row)
            await session.flush()
            return _label(row)

    async def unlabel(self, call_id: str, seq: int) -> QuestionLabel | None:
        """Remove the question's label; the label removed, or None if it had none."""
        async with self._db.transaction(f"remove a label of chat {call_id!r}") as session:
            row = await session.scalar(select(QuestionLabelRow).where(QuestionLabelRow.call_id == call_id,
                                                                      QuestionLabelRow.seq == seq))
            if row is None:
                return None
            removed = _label(row)
            await session.delete(row)
            return removed

    async def learnt(self) -> list[QuestionLabel]:
        """Every label the agent learns from (its words kept; not a new FAQ entry to write), oldest first."""
        async with self._db.transaction("read the virtual agent's labels") as session:
            rows = await session.scalars(select(QuestionLabelRow).where(
                QuestionLabelRow.question.is_not(None), QuestionLabelRow.kind != "new_faq")
                .order_by(QuestionLabelRow.label_id))
            return [_label(row) for row in rows]
