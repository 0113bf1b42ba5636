"""The post-call survey's rules without I/O: which questions the IVR's answers fill, and when an offer is taken."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from cti.acd import WorkChanged, WorkItem, WorkState
from cti.services import AuditTrail, PostCallSurveys
from cti.services._post_call_survey import _answers
from cti.surveys import Questionnaire

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def both(text: str) -> dict[str, str]:
    return {"id": text, "en": text}


def questionnaire(*questions: dict[str, Any]) -> Questionnaire:
    return Questionnaire.from_json({"title": both("After your call"), "questions": list(questions)},
                                   questionnaire_id="after-call", version=1)


def test_the_ivr_answers_fill_the_marked_questions_first_then_the_first_of_their_kind() -> None:
    marked = questionnaire(
        {"key": "agent", "kind": "rating", "text": both("The agent?")},
        {"key": "overall", "kind": "rating", "text": both("Overall?"), "metric": "csat"},
        {"key": "again", "kind": "yes_no", "text": both("Again?")},
        {"key": "fixed", "kind": "yes_no", "text": both("Fixed?"), "metric": "fcr"})
    assert _answers(marked, {"satisfaction": "3", "solved": "no"}) == {"overall": 3, "fixed": False}
    plain = questionnaire({"key": "agent", "kind": "rating", "text": both("The agent?")},
                          {"key": "again", "kind": "yes_no", "text": both("Again?")})
    assert _answers(plain, {"satisfaction": "5", "solved": "yes"}) == {"agent": 5, "again": True}


def test_what_the_flow_did_not_set_or_set_wrong_is_left_unanswered() -> None:
    rating_only = questionnaire({"key": "overall", "kind": "rating", "text": both("Overall?")})
    assert _answers(rating_only, {"solved": "yes"}) == {}
    assert _answers(rating_only, {"satisfaction": "9"}) == {}
    assert _answers(rating_only, {"satisfaction": "1", "solved": "yes"}) == {"overall": 1}


class Surveys:
    """The survey service as the post-call survey uses it: consents and questionnaires in memory."""

    def __init__(self, consenting: set[str]) -> None:
        self.consenting = consenting
        self.remembered: list[str] = []
        self.on_the_line: list[str] = []
        self.form = questionnaire({"key": "overall", "kind": "rating", "text": both("Overall?"), "metric": "csat"})

    async def consents_to_surveys(self, customer_id: str) -> bool:
        return customer_id in self.consenting

    async def questionnaire_for(self, customer_id: str | None, *, channel: str = "call") -> Questionnaire:
        return self.form

    async def remember_survey_consent(self, customer_id: str) -> None:
        self.remembered.append(customer_id)

    def asked_on_the_line(self, call_id: str) -> None:
        self.on_the_line.append(call_id)


class Entries:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def append(self, rows: Any) -> None:
        self.rows.extend(rows)


def connected(call_id: str, customer_id: str | None) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="02155501001",
                    service_number="1500200", queue="care", arrived_at=T0, customer_id=customer_id,
                    state=WorkState.CONNECTED, agent_id="ana")


def post_call(surveys: Surveys, live: set[str]) -> PostCallSurveys:
    return PostCallSurveys(cast(Any, surveys), cast(Any, None), AuditTrail(Entries(), lambda: T0), available=True,
                           is_live=live.__contains__)


async def test_a_caller_who_asked_in_the_ivr_or_consented_before_is_offered_it_without_the_agent() -> None:
    surveys = Surveys(consenting={"20000002"})
    live = {"k1", "k2", "k3"}
    service = post_call(surveys, live)
    service.asked_in_ivr("k1", "10000001")
    for call_id, customer_id in (("k1", "10000001"), ("k2", "20000002"), ("k3", "30000003")):
        service.work_changed(WorkChanged(connected(call_id, customer_id)), cast(Any, None))
    await service.drain()
    offered = {call_id: offer.offered_by for call_id in live if (offer := service.offered(call_id)) is not None}
    assert (offered, surveys.remembered) == ({"k1": "caller", "k2": "consent"}, ["10000001"])
    # Taken only for the caller's own leg; the e-mailed survey of that call is then not owed.
    assert service.take("k1", "leg-other") is None
    taken = service.take("k1", "leg-k1")
    assert (taken is not None and taken.questionnaire_id, surveys.on_the_line) == ("after-call", ["k1"])
    assert service.offered("k1") is None


async def test_a_call_that_ended_before_the_answer_came_is_not_offered_and_an_ended_call_drops_its_offer() -> None:
    surveys = Surveys(consenting={"20000002"})
    live = {"k2"}
    service = post_call(surveys, live)
    service.work_changed(WorkChanged(connected("k2", "20000002")), cast(Any, None))
    live.clear()  # it ended while the consent was being read
    await service.drain()
    assert service.offered("k2") is None
    live.add("k4")
    service.work_changed(WorkChanged(connected("k4", "20000002")), cast(Any, None))
    await service.drain()
    assert service.offered("k4") is not None
    service.work_changed(WorkChanged(replace(connected("k4", "20000002"), state=WorkState.ENDED)), cast(Any, None))
    assert service.offered("k4") is None
