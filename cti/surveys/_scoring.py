"""Scores of one survey answer, and the survey figures of a group of surveys (docs/metrics.md, "Surveys").

- **CSAT**: of the surveys whose CSAT question (the rating marked ``metric: csat``) was answered, the share rated
  4 or 5.
- **NPS-style score**: from the same 1-5 rating, 5 is a promoter, 4 passive, 1-3 a detractor; the score is
  100 x (promoters - detractors) / rated, from -100 to 100. (cti asks no 0-10 question: one rating question keeps
  the IVR survey one key press; the mapping keeps "5 is a promoter" as strict as a 9-10 on a 0-10 scale.)
- **FCR** (first-contact resolution): of the surveys whose FCR question ("was your problem solved?", the yes/no
  marked ``metric: fcr``) was answered, the share answered yes.
- **Response rate**: of the surveys sent (or offered on the IVR), the share answered at all (complete or partial).

Pure: plain data in, figures out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Final, Literal

from cti.surveys._questionnaire import Answer, Questionnaire

__all__ = ["DIMENSIONS", "SURVEY_COLUMNS", "Scores", "SurveyFacts", "SurveyFigures", "SurveyRow", "nps_class",
           "scores_of", "survey_csv", "survey_rows"]

DIMENSIONS: Final = ("agent", "team", "queue", "channel", "day", "segment")
Dimension = Literal["agent", "team", "queue", "channel", "day", "segment"]


@dataclass(frozen=True, slots=True)
class Scores:
    """What one answer counts for: its CSAT rating (1-5), its FCR answer, each None if not answered."""

    rating: int | None = None
    resolved: bool | None = None


def scores_of(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> Scores:
    rating: int | None = None
    resolved: bool | None = None
    for question in questionnaire.questions:
        value = answers.get(question.key)
        if question.metric == "csat" and isinstance(value, int) and not isinstance(value, bool):
            rating = value
        elif question.metric == "fcr" and isinstance(value, bool):
            resolved = value
    return Scores(rating, resolved)


def nps_class(rating: int) -> Literal["promoter", "passive", "detractor"]:
    return "promoter" if rating == 5 else "passive" if rating == 4 else "detractor"


@dataclass(frozen=True, slots=True)
class SurveyFacts:
    """One survey as the figures see it: sent (or offered), answered or not, and its scores."""

    sent_at: datetime
    """When it reached the customer (the mail sent, the IVR survey offered): the instant it counts at."""
    agent_id: str | None
    team: str | None
    queue: str | None
    channel: str
    """The interaction's channel: call, chat or web (a portal request)."""
    segment: str
    answered: bool
    rating: int | None
    resolved: bool | None


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    sent: int = 0
    answered: int = 0
    rated: int = 0
    satisfied: int = 0
    """Rated 4 or 5."""
    promoters: int = 0
    detractors: int = 0
    resolution_answers: int = 0
    resolved: int = 0

    @property
    def csat(self) -> float | None:
        return None if not self.rated else self.satisfied / self.rated

    @property
    def nps(self) -> float | None:
        return None if not self.rated else 100 * (self.promoters - self.detractors) / self.rated

    @property
    def fcr(self) -> float | None:
        return None if not self.resolution_answers else self.resolved / self.resolution_answers

    @property
    def response_rate(self) -> float | None:
        return None if not self.sent else self.answered / self.sent

    def add(self, fact: SurveyFacts) -> SurveyFigures:
        rating, rated = fact.rating, fact.answered and fact.rating is not None
        said = fact.answered and fact.resolved is not None
        return SurveyFigures(
            sent=self.sent + 1, answered=self.answered + fact.answered, rated=self.rated + rated,
            satisfied=self.satisfied + (rated and rating is not None and rating >= 4),
            promoters=self.promoters + (rated and rating == 5),
            detractors=self.detractors + (rated and rating is not None and rating <= 3),
            resolution_answers=self.resolution_answers + said, resolved=self.resolved + (said and bool(fact.resolved)))

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "answered": self.answered, "rated": self.rated, "satisfied": self.satisfied,
                "promoters": self.promoters, "detractors": self.detractors,
                "resolution_answers": self.resolution_answers, "resolved": self.resolved, "csat": self.csat,
                "nps": self.nps, "fcr": self.fcr, "response_rate": self.response_rate}


@dataclass(frozen=True, slots=True)
class SurveyRow:
    key: str
    """The agent, team, queue, channel, local day (ISO date) or segment; ``-`` when the survey has none."""
    figures: SurveyFigures


def _key(fact: SurveyFacts, by: Dimension, tz: tzinfo) -> str:
    if by == "day":
        return fact.sent_at.astimezone(tz).date().isoformat()
    value = {"agent": fact.agent_id, "team": fact.team, "queue": fact.queue, "channel": fact.channel,
             "segment": fact.segment}[by]
    return value or "-"


def survey_rows(facts: Iterable[SurveyFacts], *, by: Dimension,
                tz: tzinfo) -> tuple[tuple[SurveyRow, ...], SurveyFigures]:
    """The figures per ``by`` (sorted by key), and over everything."""
    groups: dict[str, SurveyFigures] = {}
    total = SurveyFigures()
    for fact in facts:
        key = _key(fact, by, tz)
        groups[key] = groups.get(key, SurveyFigures()).add(fact)
        total = total.add(fact)
    rows = tuple(SurveyRow(key, groups[key]) for key in sorted(groups))
    return rows, total


SURVEY_COLUMNS: Final = ("by", "key", "sent", "answered", "response_rate", "rated", "csat", "nps",
                         "resolution_answers", "fcr")
"""The survey CSV's columns, in order. New columns are only ever appended."""


def _ratio(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def survey_csv(by: str, rows: Iterable[SurveyRow]) -> str:
    """RFC 4180 text: ratios with four decimals, the NPS-style score with one, empty where undefined."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SURVEY_COLUMNS)
    for r in rows:
        f = r.figures
        writer.writerow([by, r.key, f.sent, f.answered, _ratio(f.response_rate), f.rated, _ratio(f.csat),
                         _ratio(f.nps, 1), f.resolution_answers, _ratio(f.fcr)])
    return out.getvalue()
