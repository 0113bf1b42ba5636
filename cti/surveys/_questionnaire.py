"""Questionnaires: what a survey asks, in both languages, and which customers each is for.

A questionnaire has an id, a version (a supervisor's change is a new version; answers keep the version they
answered), a **segment** (value tier, product line, channel: each unset means "any") and up to 20 questions:

- ``rating``: 1 to 5. The one marked ``metric: csat`` is the survey's satisfaction score (CSAT and the NPS-style
  score are computed from it, :mod:`cti.surveys._scoring`).
- ``choice``: one of the question's options (each with its label in both languages). ``preference``
  (``language``, ``channel``, ``contact_time``) makes the answer a preference the customer stated.
- ``yes_no``: true or false. The one marked ``metric: fcr`` is "was your problem solved?" (first-contact
  resolution).
- ``text``: free text, at most :data:`TEXT_LIMIT` characters.

Pure: plain data in, plain data or :class:`QuestionnaireError` out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from cti.errors import InvalidInput, Problem

__all__ = [
    "KINDS",
    "PREFERENCES",
    "PREFERENCE_VALUES",
    "TEXT_LIMIT",
    "Answer",
    "Choice",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "Segment",
    "Texts",
    "choose_questionnaire",
    "read_answers",
]

KINDS: Final = ("rating", "choice", "yes_no", "text")
PREFERENCES: Final = ("language", "channel", "contact_time")
PREFERENCE_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "language": ("id", "en"),
    "channel": ("call", "email", "web", "chat"),
    "contact_time": ("morning", "afternoon", "evening"),
}
"""The option values a preference question may offer: what cti can act on (:mod:`cti.services._surveys`)."""
TEXT_LIMIT: Final = 1000
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
Kind = Literal["rating", "choice", "yes_no", "text"]
Answer = int | bool | str
"""A rating (1-5), a yes/no, a choice's value or a text."""


class QuestionnaireError(InvalidInput):
    """A questionnaire or an answer that does not hold together; ``problems`` says where."""

    def __init__(self, problems: Sequence[Problem], code: str = "invalid_questionnaire") -> None:
        super().__init__("; ".join(map(str, problems)), list(problems), code=code)


@dataclass(frozen=True, slots=True)
class Texts:
    """One text in both languages."""

    id: str
    en: str

    def __getitem__(self, language: str) -> str:
        return self.en if language == "en" else self.id

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "en": self.en}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Texts


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    kind: Kind
    text: Texts
    required: bool = True
    choices: tuple[Choice, ...] = ()
    metric: Literal["csat", "fcr"] | None = None
    preference: Literal["language", "channel", "contact_time"] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "text": self.text.as_json(), "required": self.required,
                "choices": [{"value": c.value, "label": c.label.as_json()} for c in self.choices],
                "metric": self.metric, "preference": self.preference}


@dataclass(frozen=True, slots=True)
class Segment:
    """Who a questionnaire is for; ``None`` matches anything."""

    value_tier: str | None = None
    product_line: str | None = None
    channel: str | None = None

    def matches(self, value_tier: str | None, product_line: str | None, channel: str | None) -> bool:
        return all(want is None or want == have for want, have in
                   ((self.value_tier, value_tier), (self.product_line, product_line), (self.channel, channel)))

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.value_tier, self.product_line, self.channel))

    @property
    def key(self) -> str:
        """How reports name the segment: ``gold/-/call`` (``-`` for any)."""
        return "/".join(v or "-" for v in (self.value_tier, self.product_line, self.channel))

    def as_json(self) -> dict[str, str | None]:
        return {"value_tier": self.value_tier, "product_line": self.product_line, "channel": self.channel}


@dataclass(frozen=True, slots=True)
class Questionnaire:
    questionnaire_id: str
    title: Texts
    questions: tuple[Question, ...]
    segment: Segment = field(default_factory=Segment)
    version: int = 1
    active: bool = True

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def as_json(self) -> dict[str, Any]:
        return {"questionnaire_id": self.questionnaire_id, "version": self.version, "active": self.active,
                "title": self.title.as_json(), "segment": self.segment.as_json(),
                "questions": [q.as_json() for q in self.questions]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, questionnaire_id: str | None = None,
                  version: int | None = None) -> Questionnaire:
        """Read and check a questionnaire (the API's body, or what the store keeps); every problem at once."""
        problems: list[Problem] = []
        qid = questionnaire_id if questionnaire_id is not None else data.get("questionnaire_id")
        if not isinstance(qid, str) or not _ID.fullmatch(qid):
            problems.append(Problem("questionnaire_id", "lower-case letters, digits, - and _, 64 at most"))
        title = _texts(data.get("title"), "title", problems)
        segment = _segment(data.get("segment") or {}, problems)
        raw = data.get("questions")
        questions: list[Question] = []
        if not isinstance(raw, list) or not 1 <= len(raw) <= 20:
            problems.append(Problem("questions", "1 to 20 questions"))
        else:
            for i, item in enumerate(raw):
                question = _question(item, f"questions.{i}", problems)
                if question is not None:
                    questions.append(question)
        keys = [q.key for q in questions]
        if len(set(keys)) != len(keys):
            problems.append(Problem("questions", "each question needs its own key"))
        for metric in ("csat", "fcr"):
            if sum(q.metric == metric for q in questions) > 1:
                problems.append(Problem("questions", f"at most one question is the {metric} question"))
        for preference in PREFERENCES:
            if sum(q.preference == preference for q in questions) > 1:
                problems.append(Problem("questions", f"at most one question asks the {preference} preference"))
        if problems:
            raise QuestionnaireError(problems)
        assert isinstance(qid, str) and title is not None and segment is not None
        return cls(qid, title, tuple(questions), segment,
                   version=version if version is not None else int(data.get("version", 1)),
                   active=bool(data.get("active", True)))


def _texts(value: Any, where: str, problems: list[Problem], *, limit: int = 300) -> Texts | None:
    if not isinstance(value, Mapping):
        problems.append(Problem(where, "a text in both languages: {\"id\": ..., \"en\": ...}"))
        return None
    found: dict[str, str] = {}
    for language in ("id", "en"):
        text = value.get(language)
        if not isinstance(text, str) or not text.strip() or len(text) > limit or not text.isprintable():
            problems.append(Problem(f"{where}.{language}", f"a printable text of 1 to {limit} characters"))
        else:
            found[language] = text.strip()
    if set(value) - {"id", "en"}:
        problems.append(Problem(where, "only the languages id and en"))
    return Texts(found["id"], found["en"]) if len(found) == 2 else None


def _segment(value: Any, problems: list[Problem]) -> Segment | None:
    if not isinstance(value, Mapping) or set(value) - {"value_tier", "product_line", "channel"}:
        problems.append(Problem("segment", "value_tier, product_line and channel, each a name or null"))
        return None
    parts: dict[str, str | None] = {}
    for name in ("value_tier", "product_line", "channel"):
        part = value.get(name)
        if part is not None and (not isinstance(part, str) or not _ID.fullmatch(part)):
            problems.append(Problem(f"segment.{name}", "a lower-case name, or null for any"))
            part = None
        parts[name] = part
    return Segment(**parts)


def _question(item: Any, where: str, problems: list[Problem]) -> Question | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(where, "a question is an object"))
        return None
    before = len(problems)
    unknown = set(item) - {"key", "kind", "text", "required", "choices", "metric", "preference"}
    if unknown:
        problems.append(Problem(where, f"unknown fields: {', '.join(sorted(unknown))}"))
    key, kind = item.get("key"), item.get("kind")
    if not isinstance(key, str) or not _ID.fullmatch(key):
        problems.append(Problem(f"{where}.key", "lower-case letters, digits, - and _, 64 at most"))
    if kind not in KINDS:
        problems.append(Problem(f"{where}.kind", f"one of {', '.join(KINDS)}"))
    text = _texts(item.get("text"), f"{where}.text", problems)
    required = item.get("required", True)
    if not isinstance(required, bool):
        problems.append(Problem(f"{where}.required", "true or false"))
    metric, preference = item.get("metric"), item.get("preference")
    if metric is not None and (metric, kind) not in (("csat", "rating"), ("fcr", "yes_no")):
        problems.append(Problem(f"{where}.metric", "csat on a rating question, fcr on a yes_no question"))
    if preference is not None and (preference not in PREFERENCES or kind != "choice"):
        problems.append(Problem(f"{where}.preference", f"one of {', '.join(PREFERENCES)}, on a choice question"))
    choices: list[Choice] = []
    raw = item.get("choices", [])
    if kind == "choice":
        if not isinstance(raw, list) or not 2 <= len(raw) <= 12:
            problems.append(Problem(f"{where}.choices", "2 to 12 choices"))
        else:
            for j, c in enumerate(raw):
                value = c.get("value") if isinstance(c, Mapping) else None
                if not isinstance(value, str) or not _ID.fullmatch(value):
                    problems.append(Problem(f"{where}.choices.{j}.value", "a lower-case name"))
                    continue
                label = _texts(c.get("label"), f"{where}.choices.{j}.label", problems, limit=100)
                if label is not None:
                    choices.append(Choice(value, label))
            values = [c.value for c in choices]
            if len(set(values)) != len(values):
                problems.append(Problem(f"{where}.choices", "each choice needs its own value"))
            allowed = PREFERENCE_VALUES.get(preference) if isinstance(preference, str) else None
            if allowed is not None and set(values) - set(allowed):
                problems.append(Problem(f"{where}.choices",
                                        f"a {preference} preference offers only {', '.join(allowed)}"))
    elif raw:
        problems.append(Problem(f"{where}.choices", "only a choice question has choices"))
    if len(problems) > before or text is None:
        return None
    return Question(key, kind, text, required, tuple(choices), metric, preference)  # type: ignore[arg-type]


def choose_questionnaire(questionnaires: Iterable[Questionnaire], *, value_tier: str | None,
                         product_line: str | None, channel: str | None) -> Questionnaire | None:
    """The active questionnaire for this customer and channel: the most specific segment that matches (the
    most fields set), then the lowest id; None when none matches."""
    fitting = [q for q in questionnaires if q.active and q.segment.matches(value_tier, product_line, channel)]
    if not fitting:
        return None
    return min(fitting, key=lambda q: (-q.segment.specificity, q.questionnaire_id))


def read_answers(questionnaire: Questionnaire, given: Mapping[str, Any]) -> tuple[dict[str, Answer], bool]:
    """The answers checked against the questions, and whether they are complete (every required question
    answered). A question left out, or ``null``, is unanswered (a partial answer, not an error); a wrong value, or
    a key that is no question, is a :class:`QuestionnaireError` (code ``invalid_answer``)."""
    problems: list[Problem] = []
    answers: dict[str, Answer] = {}
    for key, value in given.items():
        question = questionnaire.question(key)
        if question is None:
            problems.append(Problem(f"answers.{key}", "no such question"))
            continue
        if value is None:
            continue
        if question.kind == "rating":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                problems.append(Problem(f"answers.{key}", "a rating from 1 to 5"))
                continue
        elif question.kind == "yes_no":
            if not isinstance(value, bool):
                problems.append(Problem(f"answers.{key}", "true or false"))
                continue
        elif question.kind == "choice":
            if value not in [c.value for c in question.choices]:
                problems.append(Problem(f"answers.{key}", "one of the question's choices"))
                continue
        else:
            if not isinstance(value, str) or len(value) > TEXT_LIMIT or any(
                    not (c.isprintable() or c in "\n\t") for c in value):
                problems.append(Problem(f"answers.{key}", f"a text of {TEXT_LIMIT} characters at most, printable"))
                continue
            value = value.strip()
            if not value:
                continue
        answers[key] = value
    if problems:
        raise QuestionnaireError(problems, code="invalid_answer")
    complete = all(q.key in answers for q in questionnaire.questions if q.required)
    return answers, complete
