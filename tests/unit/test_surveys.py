"""The survey domain, pure: questionnaires checked as a whole, the questionnaire of a segment, answers read
(partial is not an error), the scores (CSAT = share of 4-5, NPS-style from the 1-5 mapping, FCR, response rate),
the sending policy and the customer's profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cti.surveys import (
    ProfileEntry,
    Questionnaire,
    QuestionnaireError,
    SendingPolicy,
    SkipReason,
    SurveyFacts,
    choose_questionnaire,
    nps_class,
    read_answers,
    retry_delay,
    scores_of,
    survey_csv,
    survey_profile,
    survey_rows,
)

T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def both(text: str) -> dict[str, str]:
    return {"id": f"{text} (id)", "en": text}


def definition(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": both("After your call"),
        "segment": {},
        "questions": [
            {"key": "satisfaction", "kind": "rating", "text": both("How satisfied are you?"), "metric": "csat"},
            {"key": "solved", "kind": "yes_no", "text": both("Was your problem solved?"), "metric": "fcr"},
            {"key": "language", "kind": "choice", "text": both("Your language"), "required": False,
             "preference": "language", "choices": [{"value": "id", "label": both("Indonesian")},
                                                   {"value": "en", "label": both("English")}]},
            {"key": "comment", "kind": "text", "text": both("Anything else?"), "required": False},
        ],
    }
    data.update(overrides)
    return data


def make(qid: str = "care", **overrides: Any) -> Questionnaire:
    return Questionnaire.from_json(definition(**overrides), questionnaire_id=qid)


def test_a_questionnaire_round_trips_through_json() -> None:
    q = make()
    assert Questionnaire.from_json(q.as_json()) == q
    assert [x.kind for x in q.questions] == ["rating", "yes_no", "choice", "text"]
    assert q.title["id"] == "After your call (id)"


def test_every_problem_of_a_questionnaire_is_told_at_once() -> None:
    bad = definition(title={"id": "Judul"}, questions=[
        {"key": "a", "kind": "rating", "text": both("A"), "metric": "fcr"},
        {"key": "a", "kind": "choice", "text": both("B"), "choices": [{"value": "x", "label": both("X")}]},
        {"key": "c", "kind": "slider", "text": both("C")},
        {"key": "d", "kind": "choice", "text": both("D"), "preference": "language",
         "choices": [{"value": "fr", "label": both("French")}, {"value": "en", "label": both("English")}]},
    ])
    with pytest.raises(QuestionnaireError) as caught:
        Questionnaire.from_json(bad, questionnaire_id="Bad Id")
    fields = [p.field for p in caught.value.problems]
    assert fields == ["questionnaire_id", "title.en", "questions.0.metric", "questions.1.choices",
                      "questions.2.kind", "questions.3.choices"]
    assert caught.value.code == "invalid_questionnaire"


def test_the_most_specific_matching_segment_wins() -> None:
    general = make("general")
    gold = make("gold", segment={"value_tier": "gold"})
    gold_chat = make("gold-chat", segment={"value_tier": "gold", "channel": "chat"})
    retired = make("zz", segment={"value_tier": "gold", "channel": "chat", "product_line": "internet"},
                   active=False)
    every = [general, gold, gold_chat, retired]
    assert choose_questionnaire(every, value_tier="gold", product_line="internet", channel="chat") == gold_chat
    assert choose_questionnaire(every, value_tier="gold", product_line=None, channel="call") == gold
    assert choose_questionnaire(every, value_tier="silver", product_line=None, channel="chat") == general
    assert choose_questionnaire([gold], value_tier="silver", product_line=None, channel="chat") is None


def test_answers_are_checked_and_missing_required_ones_make_a_partial_answer() -> None:
    q = make()
    answers, complete = read_answers(q, {"satisfaction": 4, "solved": True, "comment": "  fine  "})
    assert answers == {"satisfaction": 4, "solved": True, "comment": "fine"} and complete
    answers, complete = read_answers(q, {"satisfaction": 2, "solved": None})
    assert answers == {"satisfaction": 2} and not complete
    with pytest.raises(QuestionnaireError) as caught:
        read_answers(q, {"satisfaction": 6, "solved": "yes", "language": "fr", "nope": 1})
    assert [p.field for p in caught.value.problems] == ["answers.satisfaction", "answers.solved",
                                                        "answers.language", "answers.nope"]
    assert caught.value.code == "invalid_answer"
    with pytest.raises(QuestionnaireError):
        read_answers(q, {"satisfaction": True})  # a bool is no rating
    with pytest.raises(QuestionnaireError):
        read_answers(q, {"comment": "nul\x00byte"})  # no database holds it in JSON alike
    assert read_answers(q, {"comment": "two\nlines"})[0] == {"comment": "two\nlines"}


def test_scores_and_the_nps_mapping() -> None:
    q = make()
    assert scores_of(q, {"satisfaction": 5, "solved": False}).rating == 5
    assert scores_of(q, {"comment": "x"}).rating is None
    assert [nps_class(r) for r in (1, 2, 3, 4, 5)] == ["detractor"] * 3 + ["passive", "promoter"]


def fact(rating: int | None, resolved: bool | None, *, answered: bool = True, agent: str = "ana",
         at: datetime = T0) -> SurveyFacts:
    return SurveyFacts(sent_at=at, agent_id=agent, team="north", queue="care", channel="call",
                       segment="gold/-/call", answered=answered, rating=rating, resolved=resolved)


def test_the_figures_of_a_group_of_surveys() -> None:
    facts = [fact(5, True), fact(4, True), fact(2, False), fact(None, True), fact(None, None, answered=False),
             fact(5, None, agent="bob", at=T0 + timedelta(hours=20))]
    rows, total = survey_rows(facts, by="agent", tz=ZoneInfo("Asia/Jakarta"))
    assert [r.key for r in rows] == ["ana", "bob"]
    ana = rows[0].figures
    assert (ana.sent, ana.answered, ana.rated, ana.satisfied, ana.promoters, ana.detractors) == (5, 4, 3, 2, 1, 1)
    assert ana.csat == pytest.approx(2 / 3) and ana.nps == 0.0
    assert ana.fcr == 0.75 and ana.response_rate == 0.8
    assert total.sent == 6 and total.nps == pytest.approx(100 * (2 - 1) / 4)
    days, _ = survey_rows(facts, by="day", tz=ZoneInfo("Asia/Jakarta"))
    assert [r.key for r in days] == ["2026-12-06", "2026-12-07"]  # 23:00 UTC is the next day in Jakarta
    assert survey_csv("agent", rows).splitlines() == [
        "by,key,sent,answered,response_rate,rated,csat,nps,resolution_answers,fcr",
        "agent,ana,5,4,0.8000,3,0.6667,0.0,4,0.7500",
        "agent,bob,1,1,1.0000,1,1.0000,100.0,0,",
    ]


def test_the_sending_policy() -> None:
    policy = SendingPolicy(every_days=30)
    ok = {"has_customer": True, "email": "a@example.com", "consent": True, "served": True, "last_survey_at": None,
          "now": T0}
    assert policy.skip(**ok) is None
    assert policy.skip(**{**ok, "consent": False}) is SkipReason.NO_CONSENT
    assert policy.skip(**{**ok, "email": None}) is SkipReason.NO_EMAIL
    assert policy.skip(**{**ok, "served": False}) is SkipReason.NOT_SERVED
    assert policy.skip(**{**ok, "last_survey_at": T0 - timedelta(days=29)}) is SkipReason.TOO_SOON
    assert policy.skip(**{**ok, "last_survey_at": T0 - timedelta(days=30)}) is None
    assert [retry_delay(n) for n in (1, 2, 3, 10)] == [timedelta(minutes=m) for m in (1, 2, 4, 60)]


def test_the_profile_keeps_the_latest_scores_the_trend_and_the_preferences() -> None:
    entries = [ProfileEntry(answered_at=T0 + timedelta(days=d), channel="web", complete=True, rating=r,
                            resolved=s, preferences=p, comment=c)
               for d, r, s, p, c in [(0, 2, False, {"language": "id"}, "slow"), (1, 3, None, {}, None),
                                     (2, None, True, {"language": "en", "contact_time": "evening"}, None),
                                     (3, 5, None, {}, "great")]]
    profile = survey_profile("10000001", list(reversed(entries)))
    assert profile.trend == (2, 3, 5) and profile.direction == "up" and profile.average == 3.33
    assert profile.latest_rating == 5 and profile.latest_resolved is True
    assert profile.preferences == {"language": "en", "contact_time": "evening"}
    assert profile.comment == "great" and profile.answered == 4
    assert survey_profile("1", []).direction == "flat"
