"""Customer satisfaction surveys: the questionnaires (every version) and the surveys (owed, sent, answered).

A sent survey's link token is kept only as its SHA-256 (``token_hash``); answering spends it in one conditional
UPDATE, so two answers racing with the same link cannot both count.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, null, or_, select, update

from cti.surveys import Answer, Questionnaire, SurveyRecord

from ._base import utcnow
from ._database import Database
from ._sql import check_limit
from ._tables import CustomerRow, QuestionnaireRow, SurveyRow

__all__ = ["SurveyRepository"]


class SurveyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- questionnaires --------------------------------------------------------------------------------------
    async def save_questionnaire(self, questionnaire: Questionnaire, *, by: str) -> Questionnaire:
        """A new version of the questionnaire (1 for a new one); the saved questionnaire with its version."""
        qid = questionnaire.questionnaire_id
        async with self._db.transaction(f"save questionnaire {qid!r}",
                                        conflict=f"questionnaire {qid!r} was saved meanwhile") as session:
            latest = await session.scalar(select(func.max(QuestionnaireRow.version))
                                          .where(QuestionnaireRow.questionnaire_id == qid))
            saved = replace(questionnaire, version=(latest or 0) + 1)
            session.add(QuestionnaireRow(questionnaire_id=qid, version=saved.version, definition=saved.as_json(),
                                         active=saved.active, created_by=by, created_at=utcnow()))
            return saved

    async def questionnaires(self) -> builtins.list[Questionnaire]:
        """The latest version of each questionnaire, by id."""
        latest = (select(QuestionnaireRow.questionnaire_id, func.max(QuestionnaireRow.version).label("v"))
                  .group_by(QuestionnaireRow.questionnaire_id).subquery())
        query = (select(QuestionnaireRow).join(latest, (QuestionnaireRow.questionnaire_id == latest.c.questionnaire_id)
                                               & (QuestionnaireRow.version == latest.c.v))
                 .order_by(QuestionnaireRow.questionnaire_id))
        async with self._db.transaction("read the questionnaires") as session:
            return [_questionnaire(row) for row in await session.scalars(query)]

    async def questionnaire(self, questionnaire_id: str, version: int | None = None) -> Questionnaire | None:
        """That version (default: the latest)."""
        query = select(QuestionnaireRow).where(QuestionnaireRow.questionnaire_id == questionnaire_id)
        if version is not None:
            query = query.where(QuestionnaireRow.version == version)
        query = query.order_by(QuestionnaireRow.version.desc()).limit(1)
        async with self._db.transaction(f"read questionnaire {questionnaire_id!r}") as session:
            row = await session.scalar(query)
            return None if row is None else _questionnaire(row)

    # -- surveys ---------------------------------------------------------------------------------------------
    async def add(self, record: SurveyRecord) -> None:
        async with self._db.transaction(f"save survey {record.survey_id!r}") as session:
            session.add(SurveyRow(**_columns(record)))

    async def survey(self, survey_id: str) -> SurveyRecord | None:
        async with self._db.transaction("read a survey") as session:
            row = await session.get(SurveyRow, survey_id)
            return None if row is None else _record(row)

    async def by_token(self, token_hash: str) -> SurveyRecord | None:
        async with self._db.transaction("read a survey by its link") as session:
            row = await session.scalar(select(SurveyRow).where(SurveyRow.token_hash == token_hash))
            return None if row is None else _record(row)

    async def last_created(self, customer_id: str) -> datetime | None:
        """When the customer's latest survey was owed (any status): the sending policy's "once per N days"."""
        async with self._db.transaction("read a customer's latest survey") as session:
            return await session.scalar(select(func.max(SurveyRow.created_at))
                                        .where(SurveyRow.customer_id == customer_id))

    async def due(self, now: datetime, *, limit: int = 50) -> builtins.list[SurveyRecord]:
        """Pending surveys whose time to (re)send has come, oldest first."""
        check_limit(limit)
        query = (select(SurveyRow).where(SurveyRow.status == "pending", SurveyRow.send_after <= now)
                 .order_by(SurveyRow.send_after, SurveyRow.survey_id).limit(limit))
        async with self._db.transaction("read the surveys to send") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def mark_sent(self, survey_id: str, *, token_hash: str, sent_at: datetime, expires_at: datetime) -> None:
        async with self._db.transaction(f"mark survey {survey_id!r} sent") as session:
            await session.execute(update(SurveyRow).where(SurveyRow.survey_id == survey_id).values(
                status="sent", token_hash=token_hash, sent_at=sent_at, expires_at=expires_at,
                attempts=SurveyRow.attempts + 1, last_error=None, send_after=None))

    async def mark_failed_send(self, survey_id: str, *, error: str, retry_at: datetime | None) -> None:
        """A send failed: tried again at ``retry_at``, or kept ``failed`` when None."""
        async with self._db.transaction(f"mark survey {survey_id!r} unsent") as session:
            await session.execute(update(SurveyRow).where(SurveyRow.survey_id == survey_id).values(
                status="pending" if retry_at is not None else "failed", send_after=retry_at,
                attempts=SurveyRow.attempts + 1, last_error=error[:200]))

    async def answer(self, survey_id: str, *, token_hash: str | None, status: str, answered_at: datetime,
                     channel: str, answers: dict[str, Answer], rating: int | None, resolved: bool | None) -> bool:
        """Store the answers if the survey is still open (sent, and with ``token_hash`` when given); whether it
        was (a second answer with the same link is refused here)."""
        where = [SurveyRow.survey_id == survey_id, SurveyRow.status == "sent"]
        if token_hash is not None:
            where.append(SurveyRow.token_hash == token_hash)
        async with self._db.transaction(f"answer survey {survey_id!r}") as session:
            result = await session.execute(update(SurveyRow).where(*where).values(
                status=status, answered_at=answered_at, answer_channel=channel, answers=answers, rating=rating,
                resolved=resolved))
            return bool(getattr(result, "rowcount", 0))

    async def of_customer(self, customer_id: str, *, limit: int = 20) -> builtins.list[SurveyRecord]:
        """The customer's answered surveys (complete or partial), newest first."""
        check_limit(limit)
        query = (select(SurveyRow).where(SurveyRow.customer_id == customer_id,
                                         SurveyRow.status.in_(("answered", "partial")))
                 .order_by(SurveyRow.answered_at.desc()).limit(limit))
        async with self._db.transaction("read a customer's surveys") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def sent_between(self, start: datetime, end: datetime, *,
                           queues: Collection[str] | None = None) -> builtins.list[SurveyRecord]:
        """Surveys sent (or answered on the IVR) in [start, end), of ``queues`` only when given."""
        query = (select(SurveyRow).where(SurveyRow.sent_at >= start, SurveyRow.sent_at < end)
                 .order_by(SurveyRow.sent_at))
        if queues is not None:
            query = query.where(SurveyRow.queue.in_(list(queues)))
        async with self._db.transaction("read the surveys of a period") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def answered_between(self, start: datetime, end: datetime) -> builtins.list[SurveyRecord]:
        """Surveys answered with a rating in [start, end), oldest answer first (the alerts' CSAT, read again when a
        controller starts)."""
        query = (select(SurveyRow).where(SurveyRow.answered_at >= start, SurveyRow.answered_at < end,
                                         SurveyRow.rating.is_not(None))
                 .order_by(SurveyRow.answered_at, SurveyRow.survey_id))
        async with self._db.transaction("read the surveys answered in a period") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def answered_of(self, *, customers: Collection[str], segments: Collection[str],
                          since: datetime | None = None, until: datetime | None = None,
                          channel: str | None = None, interaction_channel: str | None = None,
                          after: tuple[datetime, str] | None = None,
                          limit: int = 100) -> builtins.list[SurveyRecord]:
        """Answered surveys (complete or partial) of the customers listed or of the CRM segments (product lines)
        named, oldest answer first: a partner's ``surveys.read``. Erased customers' surveys are left out.

        ``since`` is inclusive, ``until`` exclusive; ``channel`` is where the answer came from (``web``,
        ``email``, ``ivr``), ``interaction_channel`` what the survey followed (``call``, ``chat``, ``web``);
        ``after`` the (answered_at, survey_id) of the previous page's last survey (keyset paging: a survey
        answered meanwhile neither repeats nor shifts a page)."""
        check_limit(limit)
        if not customers and not segments:
            return []
        reach = []
        if customers:
            reach.append(SurveyRow.customer_id.in_(list(customers)))
        if segments:
            reach.append(CustomerRow.segment.in_(list(segments)))
        query = (select(SurveyRow).join(CustomerRow, CustomerRow.customer_id == SurveyRow.customer_id)
                 .where(or_(*reach), CustomerRow.forgotten_at.is_(None),
                        SurveyRow.status.in_(("answered", "partial")), SurveyRow.answered_at.is_not(None)))
        if since is not None:
            query = query.where(SurveyRow.answered_at >= since)
        if until is not None:
            query = query.where(SurveyRow.answered_at < until)
        if channel is not None:
            query = query.where(SurveyRow.answer_channel == channel)
        if interaction_channel is not None:
            query = query.where(SurveyRow.channel == interaction_channel)
        if after is not None:
            at, survey_id = after
            query = query.where(or_(SurveyRow.answered_at > at,
                                    and_(SurveyRow.answered_at == at, SurveyRow.survey_id > survey_id)))
        query = query.order_by(SurveyRow.answered_at, SurveyRow.survey_id).limit(limit)
        async with self._db.transaction("read a partner's survey answers") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def purge_answers(self, before: datetime) -> int:
        """Retention: clear the answers of surveys answered before ``before`` (the scores stay); how many."""
        async with self._db.transaction("purge old survey answers") as session:
            # SQL NULL, not JSON null: a purged row is not found (and counted) again by the next run.
            result = await session.execute(update(SurveyRow).where(SurveyRow.answered_at < before,
                                                                   SurveyRow.answers.is_not(None))
                                           .values(answers=null()))
            return int(getattr(result, "rowcount", 0))

    async def forget(self, customer_id: str) -> int:
        """Erase a customer's answers (their free text may say anything); the scores stay for the figures."""
        async with self._db.transaction("forget a customer's survey answers") as session:
            result = await session.execute(update(SurveyRow).where(SurveyRow.customer_id == customer_id)
                                           .values(answers=null(), token_hash=None))
            return int(getattr(result, "rowcount", 0))


def _questionnaire(row: QuestionnaireRow) -> Questionnaire:
    return Questionnaire.from_json(row.definition, questionnaire_id=row.questionnaire_id, version=row.version)


def _columns(record: SurveyRecord) -> dict[str, Any]:
    return {"survey_id": record.survey_id, "token_hash": None, "customer_id": record.customer_id,
            "call_id": record.call_id, "channel": record.channel, "agent_id": record.agent_id, "team": record.team,
            "queue": record.queue, "segment": record.segment, "questionnaire_id": record.questionnaire_id,
            "version": record.version, "language": record.language, "status": record.status,
            "created_at": record.created_at, "send_after": record.send_after, "attempts": record.attempts,
            "last_error": record.last_error, "sent_at": record.sent_at, "expires_at": record.expires_at,
            "answered_at": record.answered_at, "answer_channel": record.answer_channel,
            "answers": dict(record.answers) if record.answered else None, "rating": record.rating,
            "resolved": record.resolved, "comment_recording_id": record.comment_recording_id}


def _record(row: SurveyRow) -> SurveyRecord:
    return SurveyRecord(
        survey_id=row.survey_id, customer_id=row.customer_id, call_id=row.call_id, channel=row.channel,
        agent_id=row.agent_id, team=row.team, queue=row.queue, segment=row.segment,
        questionnaire_id=row.questionnaire_id, version=row.version, language=row.language, status=row.status,
        created_at=row.created_at, send_after=row.send_after, attempts=row.attempts, last_error=row.last_error,
        sent_at=row.sent_at, expires_at=row.expires_at, answered_at=row.answered_at,
        answer_channel=row.answer_channel, answers=dict(row.answers or {}), rating=row.rating, resolved=row.resolved,
        comment_recording_id=row.comment_recording_id)
