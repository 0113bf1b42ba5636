"""Walking a script: from the answers given so far to the path shown and the step waiting for an answer.

Pure and stateless: the desktop sends every answer it holds, :func:`advance` replays the script from the
first step and returns where the call is. Text-only steps need no acknowledgement: the path runs through
them to the next question, so the agent reads them in order. An answer changed earlier on can send the
script down another branch; answers left on the abandoned branch are dropped from the result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Final

from cti.scripting._budget import RenderBudget
from cti.scripting._definition import END, Script, Step
from cti.scripting._errors import AnswerError
from cti.scripting._selection import Factors
from cti.scripting._template import render
from cti.types import DEFAULT_LANGUAGE, LANGUAGES, Language

__all__ = [
    "Answer",
    "Progress",
    "RenderedChoice",
    "RenderedQuestion",
    "RenderedStep",
    "advance",
    "render_path",
    "render_step",
    "validate_answer",
]

Answer = bool | int | float | str | None
"""A validated answer: yes/no as a boolean, a choice value, a stripped text, a number; None for skipped."""

_YES_NO_WORDS: Final = {"yes": True, "no": False}
_YES_NO_LABELS: Final = {"id": ("Ya", "Tidak"), "en": ("Yes", "No")}
UNKNOWN_CALLER: Final[Mapping[Language, Mapping[str, Mapping[str, str]]]] = {
    "id": {"customer": {"name": "pemilik akun"}},
    "en": {"customer": {"name": "the account holder"}},
}
"""Neutral words for a caller the CRM does not know: "Am I speaking with the account holder?", never a
placeholder read out to a stranger."""


@dataclass(frozen=True, slots=True)
class Progress:
    script_id: str
    path: tuple[str, ...]
    """The steps shown so far, in order; the current step, if any, is the last."""
    current: str | None
    """The question waiting for an answer; None once the script is complete."""
    answers: Mapping[str, Answer] = field(default_factory=dict)
    """The valid answers of the steps on the path, in path order."""

    @property
    def complete(self) -> bool:
        return self.current is None

    def record(self) -> dict[str, object]:
        """What to store with the interaction."""
        return {"script_id": self.script_id, "path": list(self.path), "answers": dict(self.answers),
                "complete": self.complete}


def _fail(step: Step, message: str) -> AnswerError:
    return AnswerError(step.id, message)


def validate_answer(step: Step, raw: object) -> Answer:
    """The answer normalised for its question, or :class:`AnswerError` saying what is wrong."""
    question = step.question
    if question is None:
        raise _fail(step, "this step asks no question")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if question.required:
            raise _fail(step, "an answer is required")
        return None
    if question.kind == "yes_no":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _YES_NO_WORDS:
            return _YES_NO_WORDS[raw.strip().lower()]
        raise _fail(step, f"answer yes or no, not {raw!r}")
    if question.kind == "choice":
        if isinstance(raw, str) and raw in question.values:
            return raw
        raise _fail(step, f"{raw!r} is not one of {', '.join(question.values)}")
    if question.kind == "text":
        if not isinstance(raw, str):
            raise _fail(step, f"a text is expected, not {type(raw).__name__}")
        text = raw.strip()
        if len(text) > question.max_length:
            raise _fail(step, f"the text is longer than {question.max_length} characters")
        return text
    return _number(step, raw)


def _number(step: Step, raw: object) -> int | float:
    assert step.question is not None
    question = step.question
    number: int | float
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _fail(step, f"a number is expected, not {type(raw).__name__}")
    if isinstance(raw, str):
        try:
            number = int(raw.strip())
        except ValueError:
            try:
                number = float(raw.strip())
            except ValueError:
                raise _fail(step, f"{raw!r} is not a number") from None
    else:
        number = raw
    if not math.isfinite(number):
        raise _fail(step, "the number must be finite")
    if question.integer:
        if number != int(number):
            raise _fail(step, f"a whole number is expected, not {number}")
        number = int(number)
    if question.min is not None and number < question.min:
        raise _fail(step, f"{number} is below the minimum {question.min:g}")
    if question.max is not None and number > question.max:
        raise _fail(step, f"{number} is above the maximum {question.max:g}")
    return number


def _branch_key(answer: Answer) -> str | None:
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    return answer if isinstance(answer, str) else None


def advance(script: Script, factors: Factors, answers: Mapping[str, object]) -> Progress:
    """Replay ``script`` for a call with ``factors`` and the ``answers`` given so far (step id -> raw answer)."""
    known = {step.id for step in script.steps}
    for step_id in answers:
        if step_id not in known:
            raise AnswerError(step_id, f"script {script.id!r} has no such step")
    path: list[str] = []
    kept: dict[str, Answer] = {}
    step_id = script.steps[0].id
    # Validated scripts have no cycles; the bound only guards against hand-built ones.
    for _ in range(2 * len(script.steps) + 1):
        if step_id == END:
            return Progress(script.id, tuple(path), None, kept)
        step = script.step(step_id)
        if step.when is not None and not step.when.matches(factors):
            step_id = script.skip_to(step)
            continue
        path.append(step.id)
        if step.question is None:
            if step.id in answers:
                raise AnswerError(step.id, "this step asks no question")
            step_id = script.next_of(step)
            continue
        if step.id not in answers:
            return Progress(script.id, tuple(path), step.id, kept)
        answer = validate_answer(step, answers[step.id])
        kept[step.id] = answer
        key = _branch_key(answer)
        step_id = step.branches.get(key, script.next_of(step)) if key is not None else script.next_of(step)
    raise ValueError(f"script {script.id!r} loops: validate it with parse_script")


@dataclass(frozen=True, slots=True)
class RenderedChoice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class RenderedQuestion:
    kind: str
    required: bool
    prompt: str | None = None
    choices: tuple[RenderedChoice, ...] = ()
    """For yes/no questions too (``yes``/``no`` with labels in the call's language)."""
    min: float | None = None
    max: float | None = None
    integer: bool = False
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class RenderedStep:
    step_id: str
    text: str
    hint: str | None = None
    question: RenderedQuestion | None = None
    answer: Answer = None

    def as_json(self) -> dict[str, object]:
        view = asdict(self)
        if view["question"] is not None:
            view["question"]["choices"] = list(view["question"]["choices"])
        return view


def _language(language: str) -> Language:
    return next((lang for lang in LANGUAGES if lang == language), DEFAULT_LANGUAGE)


def render_step(script: Script, step_id: str, language: str, data: Mapping[str, object],
                answer: Answer = None, budget: RenderBudget | None = None) -> RenderedStep:
    """One step in the call's language (Indonesian for any other), its templates filled from ``data``.

    Its templates spend ``budget`` (a fresh one with the default limits if none is given).
    """
    lang = _language(language)
    step = script.step(step_id)
    spent = budget if budget is not None else RenderBudget()
    absent = UNKNOWN_CALLER[lang]
    question: RenderedQuestion | None = None
    if step.question is not None:
        q = step.question
        if q.kind == "yes_no":
            yes, no = _YES_NO_LABELS[lang]
            choices: tuple[RenderedChoice, ...] = (RenderedChoice("yes", yes), RenderedChoice("no", no))
        else:
            choices = tuple(RenderedChoice(c.value, render(c.label[lang], data, spent, absent=absent))
                            for c in q.choices)
        prompt = None if q.prompt is None else render(q.prompt[lang], data, spent, absent=absent)
        question = RenderedQuestion(kind=q.kind, required=q.required, prompt=prompt, choices=choices,
                                    min=q.min, max=q.max,
                                    integer=q.integer, max_length=q.max_length if q.kind == "text" else None)
    return RenderedStep(
        step_id=step.id,
        text=render(step.text[lang], data, spent, absent=absent),
        hint=None if step.hint is None else render(step.hint[lang], data, spent, absent=absent),
        question=question,
        answer=answer,
    )


def render_path(script: Script, progress: Progress, language: str, data: Mapping[str, object],
                budget: RenderBudget | None = None) -> tuple[RenderedStep, ...]:
    """Every step on the path with its answer: what the desktop shows.

    One budget covers the whole path (a fresh one with the default limits if none is given): a long script
    cannot take a step's allowance for each of its steps.
    """
    spent = budget if budget is not None else RenderBudget()
    return tuple(render_step(script, step_id, language, data, progress.answers.get(step_id), spent)
                 for step_id in progress.path)
