"""Customer satisfaction surveys: questionnaires supervisors define, surveys owed after interactions and e-mailed
with a single-use link, answers from any channel (``web``/``email`` through the link, ``ivr`` from the post-call
survey), the customer's survey profile and the survey figures.

- **After an interaction** (:meth:`SurveyService.interaction_ended`, or the handler table's
  :meth:`SurveyService.work_changed` for calls and chats): the sending policy (:class:`cti.surveys.SendingPolicy`)
  decides; an owed survey is stored ``pending`` at once and e-mailed by the background sender
  (:meth:`SurveyService.send_due`), so a mail server that is away delays it and never loses it: a failed send is
  tried again later with a growing delay.
- **The link**: ``<base>/ui/survey.html#<token>``, 256 random bits in the fragment (browsers send no fragment to
  the server, so it reaches no access log); only its SHA-256 is stored. It works until it expires and for one
  answer: a second answer is refused (``survey_answered``), an expired link too (``survey_expired``), a token that
  names no survey is ``survey_not_found``.
- **Answers**: checked against the questionnaire's version the survey was sent with. Required questions left out
  make the answer ``partial`` (kept, counted, never an error). A stated language preference becomes the
  customer's language in the CRM (the language of their IVR, mails and portal); the channel and contact-time
  preferences are kept in the profile and shown to agents (the contact policy has no preferred time yet).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from cti.acd import Channel, Outcome, WorkChanged, WorkState
from cti.crm import CustomerFields, CustomerRecord
from cti.errors import Conflict, NotFound, Problem
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor
from cti.services._policy import Scope
from cti.stats import day_start
from cti.surveys import (
    Answer,
    Questionnaire,
    QuestionnaireError,
    SendingPolicy,
    SkipReason,
    SurveyFacts,
    SurveyFigures,
    SurveyProfile,
    SurveyRecord,
    SurveyRow,
    choose_questionnaire,
    read_answers,
    retry_delay,
    scores_of,
    survey_profile,
    survey_rows,
)
from cti.surveys import ProfileEntry as _Entry
from cti.types import Clock, Language, utc_now

__all__ = ["InteractionEnded", "SurveyCustomers", "SurveyMailer", "SurveyService", "SurveyStore"]

log = logging.getLogger("cti.surveys")


class SurveyStore(Protocol):
    """Questionnaires and surveys (:class:`cti.persistence.SurveyRepository`)."""

    async def save_questionnaire(self, questionnaire: Questionnaire, *, by: str) -> Questionnaire: ...

    async def questionnaires(self) -> list[Questionnaire]: ...

    async def questionnaire(self, questionnaire_id: str, version: int | None = None) -> Questionnaire | None: ...

    async def add(self, record: SurveyRecord) -> None: ...

    async def survey(self, survey_id: str) -> SurveyRecord | None: ...

    async def by_token(self, token_hash: str) -> SurveyRecord | None: ...

    async def last_created(self, customer_id: str) -> datetime | None: ...

    async def due(self, now: datetime, *, limit: int = 50) -> list[SurveyRecord]: ...

    async def mark_sent(self, survey_id: str, *, token_hash: str, sent_at: datetime, expires_at: datetime) -> None: ...

    async def mark_failed_send(self, survey_id: str, *, error: str, retry_at: datetime | None) -> None: ...

    async def answer(self, survey_id: str, *, token_hash: str | None, status: str, answered_at: datetime,
                     channel: str, answers: dict[str, Answer], rating: int | None, resolved: bool | None) -> bool: ...

    async def of_customer(self, customer_id: str, *, limit: int = 20) -> list[SurveyRecord]: ...

    async def sent_between(self, start: datetime, end: datetime, *,
                           queues: Collection[str] | None = None) -> list[SurveyRecord]: ...


class SurveyMailer(Protocol):
    async def send_survey(self, to: str, link: str, *, language: Language, title: str, days: int) -> None: ...


class SurveyCustomers(Protocol):
    async def customer(self, customer_id: str) -> CustomerRecord | None: ...

    async def update_customer(self, customer_id: str, fields: CustomerFields) -> CustomerRecord: ...


@dataclass(frozen=True, slots=True)
class InteractionEnded:
    """An interaction that may be followed by a survey."""

    call_id: str
    customer_id: str | None
    channel: str
    """call, chat or web (a portal request)."""
    ended_at: datetime
    served: bool = True
    """An agent talked or wrote to the customer (a call answered, a chat, a callback made)."""
    agent_id: str | None = None
    team: str | None = None
    queue: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _segment_key(customer: CustomerRecord, channel: str) -> str:
    """The customer's segment as the reports name it: value tier / product line (the CRM's segment) / channel."""
    return f"{customer.value_tier or '-'}/{customer.segment or '-'}/{channel}"


class SurveyService:
    def __init__(self, store: SurveyStore, customers: SurveyCustomers, audit: AuditTrail, *,
                 mailer: SurveyMailer | None, link_base: str, policy: SendingPolicy | None = None,
                 clock: Clock = utc_now, interval: float = 5.0,
                 team_of: Callable[[str], str | None] = lambda agent_id: None,
                 changed: Callable[[str], None] | None = None,
                 notify: Callable[[str, str, Mapping[str, Any]], None] | None = None,
                 answered: Callable[[SurveyRecord], None] | None = None) -> None:
        """``notify`` is told each answer as an event (partners' ``survey.answered`` webhooks); ``answered`` is
        given each answer as stored (the alert monitor's CSAT, :meth:`cti.services.AlertMonitor.survey_answered`)."""
        self._notify = notify
        self._answered = answered
        self._store = store
        self._customers = customers
        self._audit = audit
        self._mailer = mailer
        self._link_base = link_base.rstrip("/")
        self.policy = policy if policy is not None else SendingPolicy()
        self._clock = clock
        self._interval = interval
        self._team_of = team_of
        self._changed = changed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._on_the_line: set[str] = set()  # calls whose caller is answering the post-call survey

    # -- questionnaires (supervisors) ------------------------------------------------------------------------
    async def questionnaires(self) -> list[Questionnaire]:
        return await self._store.questionnaires()

    async def questionnaire(self, questionnaire_id: str) -> Questionnaire:
        found = await self._store.questionnaire(questionnaire_id)
        if found is None:
            raise NotFound(f"no questionnaire {questionnaire_id!r}", code="questionnaire_not_found")
        return found

    async def define(self, questionnaire_id: str, data: Mapping[str, Any], *, by: str) -> Questionnaire:
        """Save ``data`` as the questionnaire's next version (checked first; every problem at once)."""
        questionnaire = Questionnaire.from_json(data, questionnaire_id=questionnaire_id, version=1)
        return await self._store.save_questionnaire(questionnaire, by=by)

    async def questionnaire_for(self, customer_id: str | None, *, channel: str = "call") -> Questionnaire | None:
        """The questionnaire of this customer's segment on ``channel`` (the post-call IVR survey asks it); the
        general one for an unknown caller; None when none fits."""
        customer = None if customer_id is None else await self._customers.customer(customer_id)
        return choose_questionnaire(await self._store.questionnaires(),
                                    value_tier=None if customer is None else customer.value_tier,
                                    product_line=None if customer is None else customer.segment, channel=channel)

    async def consents_to_surveys(self, customer_id: str) -> bool:
        """Whether the customer agreed to be asked on the line after their calls (remembered from the IVR or set
        by them on the portal or by an agent)."""
        customer = await self._customers.customer(customer_id)
        return customer is not None and customer.forgotten_at is None and customer.consent.surveys

    async def remember_survey_consent(self, customer_id: str) -> None:
        """The customer chose the post-call survey in the IVR: their consent to it, for their next calls."""
        customer = await self._customers.customer(customer_id)
        if customer is None or customer.forgotten_at is not None or customer.consent.surveys:
            return
        fields = customer.fields()
        await self._customers.update_customer(customer_id, replace(fields, consent=replace(fields.consent,
                                                                                             surveys=True)))
        self._audit.record_as_soon(f"customer:{customer_id}", "customer", "change", "customer", customer_id,
                                   source="ivr", detail={"consent": {"surveys": True}})

    def asked_on_the_line(self, call_id: str) -> None:
        """The caller of ``call_id`` stays on the line for the post-call survey (told before the call's end is
        handled here): that call owes no e-mailed survey."""
        self._on_the_line.add(call_id)

    # -- owing a survey --------------------------------------------------------------------------------------
    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        """The handler table's entry: a call or chat that ended answered may owe a survey (in a task)."""
        item = changed.item
        if item.state is not WorkState.ENDED:
            return
        if item.call_id in self._on_the_line:  # asked on the line: no e-mail about the same call
            self._on_the_line.discard(item.call_id)
            return
        if item.outcome is not Outcome.ANSWERED or item.customer_id is None:
            return
        ended = InteractionEnded(
            call_id=item.call_id, customer_id=item.customer_id,
            channel="chat" if item.channel is Channel.CHAT else "call", ended_at=item.ended_at or self._clock(),
            agent_id=item.agent_id, team=None if item.agent_id is None else self._team_of(item.agent_id),
            queue=item.queue)
        self._spawn(self._quietly(ended))

    async def _quietly(self, ended: InteractionEnded) -> None:
        try:
            await self.interaction_ended(ended)
        except Exception:  # the next interaction tries again; the call path never hears of it
            log.exception("could not decide the survey of interaction %s", ended.call_id)

    async def interaction_ended(self, ended: InteractionEnded) -> SurveyRecord | SkipReason:
        """The survey owed after ``ended`` (stored ``pending``, e-mailed by the sender), or why none is."""
        customer = None if ended.customer_id is None else await self._customers.customer(ended.customer_id)
        if customer is not None and customer.forgotten_at is not None:
            customer = None
        now = self._clock()
        last = None if customer is None else await self._store.last_created(customer.customer_id)
        skip = self.policy.skip(has_customer=customer is not None, email=None if customer is None else customer.email,
                                consent=bool(customer and customer.consent.email), served=ended.served,
                                last_survey_at=last, now=now)
        if skip is None and self._mailer is None:
            skip = SkipReason.NO_MAIL_SERVER  # nothing could send it: owing it would only pile up
        if skip is not None:
            log.info("no survey after %s: %s", ended.call_id, skip.value)
            return skip
        assert customer is not None
        questionnaire = choose_questionnaire(await self._store.questionnaires(), value_tier=customer.value_tier,
                                             product_line=customer.segment, channel=ended.channel)
        if questionnaire is None:
            return SkipReason.NO_QUESTIONNAIRE
        record = SurveyRecord(
            survey_id=secrets.token_hex(16), customer_id=customer.customer_id, call_id=ended.call_id,
            channel=ended.channel, agent_id=ended.agent_id, team=ended.team, queue=ended.queue,
            segment=_segment_key(customer, ended.channel), questionnaire_id=questionnaire.questionnaire_id,
            version=questionnaire.version, language=customer.language, status="pending", created_at=now,
            send_after=max(now, ended.ended_at + self.policy.delay))
        await self._store.add(record)
        self._wake.set()
        return record

    # -- sending ---------------------------------------------------------------------------------------------
    async def send_due(self) -> int:
        """E-mail every pending survey whose time has come; how many were sent. A failed send stays pending, to
        be tried again after :func:`cti.surveys.retry_delay` (``failed`` after the policy's attempts)."""
        sent = 0
        for survey in await self._store.due(self._clock()):
            sent += await self._send(survey)
        return sent

    async def _send(self, survey: SurveyRecord) -> int:
        customer = await self._customers.customer(survey.customer_id)
        questionnaire = await self._store.questionnaire(survey.questionnaire_id, survey.version)
        now = self._clock()
        if customer is None or customer.forgotten_at is not None or not customer.email \
                or not customer.consent.email or questionnaire is None:
            # Consent withdrawn (or the customer forgotten) since the survey was owed: it is never sent.
            await self._store.mark_failed_send(survey.survey_id, error="no e-mail consent now", retry_at=None)
            return 0
        if self._mailer is None:
            await self._store.mark_failed_send(survey.survey_id, error="no mail server", retry_at=None)
            return 0
        token = secrets.token_urlsafe(32)
        link = f"{self._link_base}/ui/survey.html#{token}"
        language: Language = "en" if customer.language == "en" else "id"
        days = max(1, round(self.policy.valid.total_seconds() / 86400))
        try:
            await self._mailer.send_survey(customer.email, link, language=language,
                                           title=questionnaire.title[language], days=days)
        except Exception as exc:  # the mail server away: kept, tried again; never the link in the log
            attempts = survey.attempts + 1
            retry = None if attempts >= self.policy.max_attempts else now + retry_delay(attempts)
            log.warning("could not send survey %s (attempt %d): %s", survey.survey_id, attempts, exc)
            await self._store.mark_failed_send(survey.survey_id, error=type(exc).__name__, retry_at=retry)
            return 0
        await self._store.mark_sent(survey.survey_id, token_hash=_hash(token), sent_at=now,
                                    expires_at=now + self.policy.valid)
        return 1

    def start(self) -> None:
        """The background sender: every ``interval`` seconds, or at once when a survey is owed."""
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._run(), name="cti-survey-sender")

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                log.exception("the survey sender failed; it tries again")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass

    async def drain(self) -> None:
        """Wait for the interactions' survey decisions under way."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- answering (the customer, through the link) ----------------------------------------------------------
    async def _by_token(self, token: str) -> tuple[SurveyRecord, Questionnaire]:
        survey = await self._store.by_token(_hash(token)) if 20 <= len(token) <= 100 else None
        questionnaire = None if survey is None else await self._store.questionnaire(survey.questionnaire_id,
                                                                                    survey.version)
        if survey is None or questionnaire is None:
            raise NotFound("no such survey", code="survey_not_found")
        if survey.answered:
            raise Conflict("this survey was already answered", code="survey_answered")
        if survey.expires_at is None or survey.expires_at <= self._clock():
            raise Conflict("this survey's link has expired", code="survey_expired")
        return survey, questionnaire

    async def open(self, token: str) -> tuple[SurveyRecord, Questionnaire]:
        """The survey and its questionnaire, for the page."""
        return await self._by_token(token)

    async def answer(self, token: str, given: Mapping[str, Any], *, channel: str = "web",
                     source: str = "-") -> SurveyRecord:
        """Store the answers given through the link (single use); the survey as stored."""
        survey, questionnaire = await self._by_token(token)
        answers, complete = read_answers(questionnaire, given)
        if not answers:  # the link stays usable: nothing was said yet
            raise QuestionnaireError([Problem("answers", "answer at least one question")], code="invalid_answer")
        return await self._store_answer(survey, questionnaire, answers, complete, channel=channel,
                                        token_hash=_hash(token), source=source)

    async def _store_answer(self, survey: SurveyRecord, questionnaire: Questionnaire, answers: dict[str, Answer],
                            complete: bool, *, channel: str, token_hash: str | None, source: str) -> SurveyRecord:
        scores = scores_of(questionnaire, answers)
        now = self._clock()
        status = "answered" if complete else "partial"
        if not await self._store.answer(survey.survey_id, token_hash=token_hash, status=status, answered_at=now,
                                        channel=channel, answers=answers, rating=scores.rating,
                                        resolved=scores.resolved):
            raise Conflict("this survey was already answered", code="survey_answered")
        self._audit.record_as_soon(f"customer:{survey.customer_id}", "customer", "answer", "survey",
                                   survey.survey_id, source=source, detail={"channel": channel, "status": status})
        await self._apply_preferences(survey.customer_id, questionnaire, answers, source=source)
        if self._changed is not None:
            self._changed(survey.customer_id)
        if self._notify is not None:
            self._notify("survey.answered", f"survey:{survey.survey_id}", {
                "survey_id": survey.survey_id, "customer_id": survey.customer_id, "call_id": survey.call_id,
                "status": status, "channel": channel, "rating": scores.rating, "resolved": scores.resolved,
                "questionnaire_id": survey.questionnaire_id, "version": survey.version})
        stored = replace(survey, status=status, answered_at=now, answer_channel=channel, answers=answers,
                         rating=scores.rating, resolved=scores.resolved)
        if self._answered is not None:
            self._answered(stored)
        return stored

    async def _apply_preferences(self, customer_id: str, questionnaire: Questionnaire,
                                 answers: Mapping[str, Answer], *, source: str) -> None:
        """A language stated in a survey becomes the customer's language in the CRM."""
        stated = {q.preference: answers[q.key] for q in questionnaire.questions
                  if q.preference is not None and q.key in answers}
        stated_language = stated.get("language")
        if stated_language not in ("id", "en"):
            return
        language: Language = "en" if stated_language == "en" else "id"
        customer = await self._customers.customer(customer_id)
        if customer is None or customer.forgotten_at is not None or customer.language == language:
            return
        await self._customers.update_customer(customer_id, replace(customer.fields(), language=language))
        self._audit.record_as_soon(f"customer:{customer_id}", "customer", "change", "customer", customer_id,
                                   source=source, detail={"language": language, "from": "survey"})

    # -- answering on the IVR (or any channel without a link) ------------------------------------------------
    async def record(self, *, customer_id: str, questionnaire_id: str, answers: Mapping[str, Any], complete: bool,
                     channel: str = "ivr", call_id: str | None = None, agent_id: str | None = None,
                     queue: str | None = None, interaction_channel: str = "call",
                     comment_recording_id: str | None = None) -> SurveyRecord:
        """Store a survey answered outside a link (the post-call IVR survey): offered now, answered now;
        ``complete`` False (the caller hung up halfway) keeps it ``partial``; no answer at all leaves it offered
        and unanswered (``sent``: it counts against the response rate). ``comment_recording_id``: the caller's
        spoken comment, a recording of the call."""
        questionnaire = await self.questionnaire(questionnaire_id)
        customer = await self._customers.customer(customer_id)
        if customer is None or customer.forgotten_at is not None:
            raise NotFound(f"no customer {customer_id}", code="customer_not_found")
        checked, all_there = read_answers(questionnaire, answers)
        now = self._clock()
        survey = SurveyRecord(
            survey_id=secrets.token_hex(16), customer_id=customer_id, call_id=call_id, channel=interaction_channel,
            agent_id=agent_id, team=None if agent_id is None else self._team_of(agent_id), queue=queue,
            segment=_segment_key(customer, interaction_channel), questionnaire_id=questionnaire.questionnaire_id,
            version=questionnaire.version, language=customer.language, status="sent", created_at=now, sent_at=now,
            expires_at=now, comment_recording_id=comment_recording_id)
        await self._store.add(survey)
        if not checked:  # offered, nothing answered (hung up at the first question): sent, not answered
            return survey
        return await self._store_answer(survey, questionnaire, checked, complete and all_there, channel=channel,
                                        token_hash=None, source=channel)

    # -- reading ---------------------------------------------------------------------------------------------
    async def profile(self, customer_id: str) -> SurveyProfile:
        """Latest scores, trend and stated preferences (from the answered surveys)."""
        surveys = await self._store.of_customer(customer_id, limit=20)
        entries = []
        for s in surveys:
            questionnaire = await self._store.questionnaire(s.questionnaire_id, s.version)
            prefs: dict[str, str] = {}
            comment: str | None = None
            if questionnaire is not None:
                for q in questionnaire.questions:
                    value = s.answers.get(q.key)
                    if value is None:
                        continue
                    if q.preference is not None:
                        prefs[q.preference] = str(value)
                    elif q.kind == "text" and isinstance(value, str):
                        comment = value
            assert s.answered_at is not None
            entries.append(_Entry(answered_at=s.answered_at, channel=s.answer_channel or "web",
                                  complete=s.status == "answered", rating=s.rating, resolved=s.resolved,
                                  preferences=prefs, comment=comment))
        return survey_profile(customer_id, entries)

    async def profile_json(self, customer_id: str) -> dict[str, Any]:
        """:meth:`profile` for the agent's screen pop (``survey`` in the pop)."""
        return (await self.profile(customer_id)).as_json()

    async def report(self, scope: Scope, first: date, last: date, *, tz: tzinfo, by: Any
                     ) -> tuple[tuple[SurveyRow, ...], SurveyFigures]:
        """The survey figures of the local days ``first``..``last``, per ``by``, of the scope's queues; per agent
        or team, only the scope's teams (as the interval reports' agents)."""
        start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        surveys = await self._store.sent_between(start, end, queues=scope.queues)
        if by in ("agent", "team") and not scope.everything:
            surveys = [s for s in surveys if s.team in (scope.teams or ())]
        facts = [SurveyFacts(sent_at=s.sent_at, agent_id=s.agent_id, team=s.team, queue=s.queue, channel=s.channel,
                             segment=s.segment, answered=s.answered, rating=s.rating, resolved=s.resolved)
                 for s in surveys if s.sent_at is not None]
        return survey_rows(facts, by=by, tz=tz)
