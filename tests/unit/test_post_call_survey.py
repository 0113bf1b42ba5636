"""The post-call survey's rules without I/O: which questions the IVR's answers fill, and when an offer is taken."""

from __future__ import annotations

from typing import Any

from cti.services._post_call_survey import _answers
from cti.surveys import Questionnaire


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
