"""The post-call IVR survey: the caller stays on the line after the agent's side ends the call and answers by
keypad or by voice (the IVR flow named :data:`SURVEY_FLOW`, so menus, speech, barge-in and both languages work as
in any flow).

- **Offered** on a connected call, by its agent at the end of the conversation (or a supervisor in scope, an
  admin), when the caller is a known customer and a questionnaire fits their segment on calls.
- **Taken** when the agent's side ends the call (the agent's phone or the desktop's hang-up): instead of hanging
  the caller up, telephony hands their channel to the survey flow (:meth:`PostCallSurveys.take`). A call that
  ends otherwise (the caller hangs up, a transfer) drops the offer.
- **Answered**: the flow sets ``satisfaction`` (1-5) and ``solved`` (``yes``/``no``); they become the answers to
  the questionnaire's CSAT rating and its first-contact-resolution question (the first rating and yes/no
  questions when none is marked). A caller who hangs up halfway leaves a ``partial`` answer; one who answers
  nothing leaves the survey offered and unanswered (it counts against the response rate).
- **Commented**: the flow may record a short spoken comment (``comment``: a record node's recording). Its audio
  becomes a recording of the call (kind ``survey_comment``: played, kept and erased like the call's own), named by
  the survey's ``comment_recording_id``; where the recognizer has a model for the call's language, its
  transcript is the answer to the questionnaire's first free-text question.

Offers live in this process only: a restart of cti between the offer and the end of the call forgets it (the
caller is hung up as without a survey).
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
import wave
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from cti.acd import Channel, WorkChanged, WorkItem, WorkState
from cti.errors import Conflict
from cti.records import RecordingRecord, UserRecord
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor
from cti.services._policy import Policy
from cti.services._ports import Recordings, Transcriber
from cti.services._surveys import SurveyService
from cti.surveys import TEXT_LIMIT, Questionnaire, SurveyRecord
from cti.types import Clock, utc_now

__all__ = ["SURVEY_FLOW", "PostCallSurveys", "SurveyOffer"]

log = logging.getLogger("cti.surveys")

SURVEY_FLOW: Final = "survey"
"""The IVR flow the caller answers in (in the flows file, bound to no service number)."""


@dataclass(frozen=True, slots=True)
class SurveyOffer:
    call_id: str
    channel_id: str
    caller_number: str
    service_number: str
    customer_id: str
    questionnaire_id: str
    language: str | None
    agent_id: str | None
    queue: str
    offered_by: str

    def as_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "customer_id": self.customer_id, "questionnaire_id": self.questionnaire_id,
                "language": self.language, "offered_by": self.offered_by}


def _answers(questionnaire: Questionnaire, attributes: Mapping[str, str], comment: str | None = None) -> dict[str, Any]:
    """The flow's ``satisfaction`` and ``solved`` as answers to the questionnaire's questions, and the spoken
    comment's transcript to its first free-text question."""
    def question(kind: str, metric: str) -> str | None:
        marked = [q.key for q in questionnaire.questions if q.kind == kind and q.metric == metric]
        plain = [q.key for q in questionnaire.questions if q.kind == kind]
        return next(iter(marked or plain), None)

    answers: dict[str, Any] = {}
    rating, solved = question("rating", "csat"), question("yes_no", "fcr")
    satisfaction = attributes.get("satisfaction", "")
    if rating is not None and satisfaction in ("1", "2", "3", "4", "5"):
        answers[rating] = int(satisfaction)
    if solved is not None and attributes.get("solved") in ("yes", "no"):
        answers[solved] = attributes["solved"] == "yes"
    text = next((q.key for q in questionnaire.questions if q.kind == "text"), None)
    said = " ".join((comment or "").split())[:TEXT_LIMIT]
    if text is not None and said:
        answers[text] = said
    return answers


def _askable(questionnaire: Questionnaire) -> bool:
    """Whether the survey flow can answer anything of ``questionnaire`` (a rating or a yes/no question)."""
    return bool(_answers(questionnaire, {"satisfaction": "5", "solved": "yes"}))


class PostCallSurveys:
    def __init__(self, surveys: SurveyService, policy: Policy, audit: AuditTrail, *, available: bool,
                 is_live: Callable[[str], bool] = lambda call_id: True, recordings: Recordings | None = None,
                 transcriber: Transcriber | None = None, clock: Clock = utc_now) -> None:
        self._surveys = surveys
        self._policy = policy
        self._audit = audit
        self._is_live = is_live
        self._recordings = recordings
        self._transcriber = transcriber
        self._clock = clock
        self.available = available
        """Whether this cti can run it: a telephony with the survey flow in its IVR flows."""
        self._offers: dict[str, SurveyOffer] = {}
        self._asked: set[str] = set()  # calls whose caller asked for it in the IVR
        self._considered: set[str] = set()  # live calls already considered for an offer of their own
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the caller's own choice ------------------------------------------------------------------------------
    def asked_in_ivr(self, call_id: str, customer_id: str) -> None:
        """The caller chose the survey in the IVR (a flow set ``survey: yes``): offered once an agent talks to
        them, and remembered for their next calls (their consent to surveys)."""
        self._asked.add(call_id)
        self._spawn(self._remember(customer_id))

    async def _remember(self, customer_id: str) -> None:
        try:
            await self._surveys.remember_survey_consent(customer_id)
        except Exception:  # the offer on this call stands; the next call asks again
            log.exception("could not remember customer %s's consent to post-call surveys", customer_id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _offer_of_their_own(self, call: WorkItem) -> None:
        """A connected call whose caller asked for the survey in the IVR, or agreed to post-call surveys before:
        offered without the agent."""
        assert call.customer_id is not None
        try:
            asked = call.call_id in self._asked
            if not asked and not await self._surveys.consents_to_surveys(call.customer_id):
                return
            questionnaire = await self._surveys.questionnaire_for(call.customer_id, channel="call")
        except Exception:
            log.exception("could not decide the post-call survey of call %s", call.call_id)
            return
        if (questionnaire is None or not _askable(questionnaire) or not self._is_live(call.call_id)
                or call.call_id in self._offers):
            return
        by = "caller" if asked else "consent"
        self._offers[call.call_id] = self._offer_for(call, questionnaire.questionnaire_id, by)
        self._audit.record_as_soon(f"customer:{call.customer_id}", "customer", "create", "survey_offer",
                                   call.call_id, source="ivr", detail={"by": by})

    async def offer(self, actor: UserRecord, call_id: str) -> SurveyOffer:
        """Offer the survey to the caller of a connected call (the caller stays on the line when the agent's side
        ends it). 404 for a call the actor does not reach; 409 when it cannot be offered, with the reason."""
        call = self._policy.call(actor, call_id)
        if call.channel is not Channel.VOICE or call.agent_id is None:
            raise Conflict(f"call {call_id} is not a call with an agent", code="survey_not_a_call",
                           params={"call_id": call_id})
        if call.state is not WorkState.CONNECTED:
            raise Conflict(f"call {call_id} is {call.state.value}, not connected", code="call_not_connected",
                           params={"call_id": call_id, "state": call.state.value})
        if not self.available:
            raise Conflict("post-call surveys are not set up (no survey flow in the IVR flows)",
                           code="survey_unavailable")
        if call.customer_id is None:
            raise Conflict("the caller is not a known customer: their answers would belong to nobody",
                           code="survey_no_customer", params={"call_id": call_id})
        questionnaire = await self._surveys.questionnaire_for(call.customer_id, channel="call")
        if questionnaire is None or not _askable(questionnaire):
            raise Conflict("no questionnaire with a rating or a yes/no question fits this customer on calls",
                           code="survey_no_questionnaire", params={"call_id": call_id})
        offer = self._offer_for(call, questionnaire.questionnaire_id, actor.name)
        self._offers[call_id] = offer
        await self._audit.record(actor, "create", "survey_offer", call_id, source="api",
                                 detail={"customer_id": call.customer_id})
        return offer

    @staticmethod
    def _offer_for(call: WorkItem, questionnaire_id: str, by: str) -> SurveyOffer:
        assert call.customer_id is not None
        return SurveyOffer(
            call_id=call.call_id, channel_id=call.channel_id, caller_number=call.caller_number,
            service_number=call.service_number, customer_id=call.customer_id, questionnaire_id=questionnaire_id,
            language=call.routing.language, agent_id=call.agent_id, queue=call.queue, offered_by=by)

    def offered(self, call_id: str) -> SurveyOffer | None:
        return self._offers.get(call_id)

    def take(self, call_id: str | None, channel_id: str) -> SurveyOffer | None:
        """Telephony is told to hang up ``channel_id``: if it is the caller of a call with an offered survey (the
        agent's side ended the call), the caller goes to the survey instead (the offer is used up)."""
        offer = None if call_id is None else self._offers.get(call_id)
        if offer is None or offer.channel_id != channel_id:
            return None
        del self._offers[offer.call_id]
        self._surveys.asked_on_the_line(offer.call_id)
        return offer

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        """The handler table's entry: an offer not taken when its call ended is dropped (the caller hung up, or it
        ended some other way; an agent's hang-up comes first in the same batch of commands and takes it)."""
        call = changed.item
        if call.state is WorkState.ENDED:
            self._offers.pop(call.call_id, None)
            self._asked.discard(call.call_id)
            self._considered.discard(call.call_id)
        elif (call.state is WorkState.CONNECTED and call.channel is Channel.VOICE and call.customer_id is not None
              and self.available and call.call_id not in self._considered):
            self._considered.add(call.call_id)
            self._spawn(self._offer_of_their_own(call))

    def keep(self, offer: SurveyOffer, attributes: Mapping[str, str], *, complete: bool,
             comment: Awaitable[bytes | None] | None = None) -> None:
        """:meth:`answered`, in the background: the spoken comment (WAV audio) may still be on its way."""
        self._spawn(self._keep(offer, attributes, complete=complete, comment=comment))

    async def _keep(self, offer: SurveyOffer, attributes: Mapping[str, str], *, complete: bool,
                    comment: Awaitable[bytes | None] | None) -> None:
        try:
            audio = None if comment is None else await comment
            await self.answered(offer, attributes, complete=complete, comment=audio)
        except Exception:  # the caller is gone either way; the log keeps why their answer was lost
            log.exception("post-call survey of call %s not stored", offer.call_id)

    async def answered(self, offer: SurveyOffer, attributes: Mapping[str, str], *, complete: bool,
                       comment: bytes | None = None) -> SurveyRecord:
        """Store what the caller said in the survey flow (``complete`` False: they hung up or gave up halfway),
        with their spoken ``comment`` (WAV audio) if they left one."""
        questionnaire = await self._surveys.questionnaire(offer.questionnaire_id)
        language = attributes.get("language") or offer.language  # the one the caller answered in
        recording_id, transcript = await self._comment(offer, comment, language) if comment else (None, None)
        answers = _answers(questionnaire, attributes, transcript)
        record = await self._surveys.record(
            customer_id=offer.customer_id, questionnaire_id=offer.questionnaire_id, answers=answers,
            complete=complete, channel="ivr", call_id=offer.call_id, agent_id=offer.agent_id,
            queue=offer.queue, interaction_channel="call", comment_recording_id=recording_id)
        log.info("post-call survey of call %s: %s%s", offer.call_id, record.status,
                 " with a spoken comment" if recording_id else "")
        return record

    async def _comment(self, offer: SurveyOffer, audio: bytes, language: str | None) -> tuple[str | None, str | None]:
        """The comment kept as a recording of the call, and its transcript where the recognizer can; a failure
        of either loses only that part (the ratings are stored regardless)."""
        recording_id: str | None = None
        if self._recordings is not None:
            ended = self._clock()
            recording_id = uuid.uuid4().hex
            try:
                await self._recordings.add(RecordingRecord(
                    recording_id=recording_id, call_id=offer.call_id, agent_id=None,
                    path=f"{ended:%Y/%m/%d}/{recording_id}.wav", format="wav",
                    started_at=ended - timedelta(seconds=_seconds(audio)), ended_at=ended, kind="survey_comment"),
                    audio)
            except Exception:
                log.exception("the spoken comment of call %s was not stored", offer.call_id)
                recording_id = None
        transcript: str | None = None
        if self._transcriber is not None and language is not None:
            try:
                transcript = await asyncio.to_thread(self._transcriber.transcribe, audio, language)
            except Exception:
                log.exception("the spoken comment of call %s was not transcribed", offer.call_id)
        return recording_id, transcript


def _seconds(wav: bytes) -> float:
    """The length of a WAV recording (0 if it is not one)."""
    try:
        with wave.open(io.BytesIO(wav)) as audio:
            frames: int = audio.getnframes()
            rate: int = audio.getframerate()
    except (wave.Error, EOFError):
        return 0.0
    return frames / max(1, rate)
