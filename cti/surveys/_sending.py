"""When a survey goes out after an interaction, and what a customer's answers add up to in their profile.

The **sending policy**: a survey is e-mailed after an interaction that ended with the customer served (a call
answered, a chat, a portal request handled) only to a customer who has an e-mail address, agreed to e-mail
(``consent.email``) and has not been sent a survey in the last ``every_days`` days; the questionnaire is the one of
their segment (:func:`cti.surveys.choose_questionnaire`). Sending is retried with a growing delay
(:func:`retry_delay`); a survey is never dropped for a failed send.

Pure: the facts come in, a decision comes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import fmean
from typing import Any, Final

from cti.surveys._questionnaire import Answer

__all__ = ["ProfileEntry", "SendingPolicy", "SkipReason", "SurveyProfile", "SurveyRecord", "preferences_of",
           "retry_delay", "survey_profile"]

TREND_LENGTH: Final = 5


class SkipReason(StrEnum):
    NO_CUSTOMER = "no_customer"
    NO_EMAIL = "no_email"
    NO_CONSENT = "no_email_consent"
    TOO_SOON = "surveyed_recently"
    NOT_SERVED = "not_served"
    NO_QUESTIONNAIRE = "no_questionnaire"
    NO_MAIL_SERVER = "no_mail_server"


@dataclass(frozen=True, slots=True)
class SendingPolicy:
    every_days: int = 30
    """At most one survey per customer in this many days."""
    delay: timedelta = timedelta(minutes=0)
    """How long after the interaction's end the survey goes out."""
    valid: timedelta = timedelta(days=7)
    """How long the link works."""
    max_attempts: int = 8
    """Sends tried (about four hours in all) before the survey is kept as ``failed``: still stored with its last
    error, counted nowhere as sent, never mailed late."""

    def skip(self, *, has_customer: bool, email: str | None, consent: bool, served: bool,
             last_survey_at: datetime | None, now: datetime) -> SkipReason | None:
        """Why no survey goes out after this interaction; None: one does."""
        if not served:
            return SkipReason.NOT_SERVED
        if not has_customer:
            return SkipReason.NO_CUSTOMER
        if not email:
            return SkipReason.NO_EMAIL
        if not consent:
            return SkipReason.NO_CONSENT
        if last_survey_at is not None and now - last_survey_at < timedelta(days=self.every_days):
            return SkipReason.TOO_SOON
        return None


def retry_delay(attempts: int) -> timedelta:
    """After ``attempts`` failed sends: 1, 2, 4, ... minutes, at most an hour."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One answered survey, as the profile reads it."""

    answered_at: datetime
    channel: str
    """Where it was answered: ivr, web or email."""
    complete: bool
    rating: int | None
    resolved: bool | None
    preferences: dict[str, str] = field(default_factory=dict)
    """The preferences stated in it (``language``, ``channel``, ``contact_time``)."""
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class SurveyProfile:
    customer_id: str
    answered: int
    latest_rating: int | None
    latest_resolved: bool | None
    latest_at: datetime | None
    trend: tuple[int, ...]
    """The CSAT ratings of the latest surveys, oldest first (at most 5)."""
    average: float | None
    direction: str
    """``up``, ``down`` or ``flat``: the latest rating against the mean of the ones before it in the trend;
    ``flat`` with fewer than two."""
    preferences: dict[str, str]
    """The latest stated value of each preference."""
    comment: str | None

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "answered": self.answered, "latest_rating": self.latest_rating,
                "latest_resolved": self.latest_resolved,
                "latest_at": None if self.latest_at is None else self.latest_at.isoformat(),
                "trend": list(self.trend), "average": self.average, "direction": self.direction,
                "preferences": self.preferences, "comment": self.comment}


def survey_profile(customer_id: str, entries: Sequence[ProfileEntry]) -> SurveyProfile:
    """The profile from the customer's answered surveys (any order)."""
    ordered = sorted(entries, key=lambda e: e.answered_at)
    rated = [e for e in ordered if e.rating is not None]
    trend = tuple(e.rating for e in rated[-TREND_LENGTH:] if e.rating is not None)
    direction = "flat"
    if len(trend) >= 2:
        before = fmean(trend[:-1])
        direction = "up" if trend[-1] > before else "down" if trend[-1] < before else "flat"
    preferences: dict[str, str] = {}
    comment: str | None = None
    for entry in ordered:
        preferences.update(entry.preferences)
        comment = entry.comment or comment
    latest = ordered[-1] if ordered else None
    return SurveyProfile(
        customer_id=customer_id, answered=len(ordered),
        latest_rating=rated[-1].rating if rated else None,
        latest_resolved=next((e.resolved for e in reversed(ordered) if e.resolved is not None), None),
        latest_at=None if latest is None else latest.answered_at, trend=trend,
        average=round(fmean(trend), 2) if trend else None, direction=direction, preferences=preferences,
        comment=comment)


def preferences_of(questions: Sequence[tuple[str, str | None]], answers: dict[str, Answer]) -> dict[str, str]:
    """The preferences ``answers`` state, from (key, preference) pairs of the questionnaire."""
    return {pref: str(answers[key]) for key, pref in questions if pref is not None and key in answers}


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyRecord:
    """One survey: owed after an interaction (``pending``), e-mailed (``sent``), ``answered`` or ``partial``
    (stopped halfway), or ``failed`` after :attr:`SendingPolicy.max_attempts` sends. An IVR survey is stored
    answered or partial at once, with no link."""

    survey_id: str
    customer_id: str
    call_id: str | None
    channel: str
    """The interaction's channel: call, chat or web."""
    agent_id: str | None
    team: str | None
    queue: str | None
    segment: str
    questionnaire_id: str
    version: int
    language: str
    status: str
    created_at: datetime
    send_after: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    answer_channel: str | None = None
    """Where it was answered: ivr, web or email."""
    answers: dict[str, Answer] = field(default_factory=dict)
    rating: int | None = None
    resolved: bool | None = None
    comment_recording_id: str | None = None
    """The caller's spoken comment in the post-call survey (a recording of the call, kind ``survey_comment``)."""

    @property
    def answered(self) -> bool:
        return self.status in ("answered", "partial")

    def as_json(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {"survey_id": self.survey_id, "customer_id": self.customer_id, "call_id": self.call_id,
                "channel": self.channel, "agent_id": self.agent_id, "team": self.team, "queue": self.queue,
                "segment": self.segment, "questionnaire_id": self.questionnaire_id, "version": self.version,
                "language": self.language, "status": self.status, "created_at": iso(self.created_at),
                "attempts": self.attempts, "sent_at": iso(self.sent_at), "expires_at": iso(self.expires_at),
                "answered_at": iso(self.answered_at), "answer_channel": self.answer_channel,
                "answers": self.answers, "rating": self.rating, "resolved": self.resolved,
                "comment_recording_id": self.comment_recording_id}
