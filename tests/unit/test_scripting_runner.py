"""The script runner: path and current step from the answers, branching, answer validation, rendering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.scripting import (
    AnswerError,
    Factors,
    Progress,
    Script,
    advance,
    load_script_file,
    parse_script,
    render_path,
    render_step,
    validate_answer,
)
from cti.scripting._runner import RenderedChoice, RenderedQuestion, RenderedStep


def bi(en: str) -> dict[str, str]:
    return {"id": f"[id] {en}", "en": en}


SCRIPT = parse_script({
    "id": "triage",
    "title": bi("Triage"),
    "steps": [
        {"id": "hello", "text": {"id": "Halo {{ customer.name }}", "en": "Hello {{ customer.name }}"},
         "hint": bi("Smile")},
        {"id": "vip", "text": bi("Thank you for your loyalty"), "when": {"value_tier": ["gold"]}},
        {"id": "lights", "text": bi("Are the lights on?"), "question": {"kind": "yes_no", "prompt": bi("Lights?")},
         "branches": {"no": "power"}},
        {"id": "resolved", "text": bi("Resolved?"), "question": {"kind": "yes_no"},
         "branches": {"yes": "offer", "no": "days"}},
        {"id": "offer", "text": bi("Try {{ offer.name }}"), "when": {"cross_sell": True}, "otherwise": "bye",
         "question": {"kind": "choice", "choices": [{"value": "accepted", "label": bi("Accepted")},
                                                    {"value": "declined", "label": bi("Declined")}]}},
        {"id": "bye", "text": bi("Goodbye"), "next": "end"},
        {"id": "power", "text": bi("Plug it in"), "next": "resolved"},
        {"id": "days", "text": bi("How many days?"),
         "question": {"kind": "number", "integer": True, "min": 0, "max": 60}},
        {"id": "notes", "text": bi("Anything else?"), "question": {"kind": "text", "required": False,
                                                                   "max_length": 10}},
    ],
})
PLAIN = Factors()


def walk(answers: dict[str, object], factors: Factors = PLAIN) -> tuple[tuple[str, ...], str | None, dict[str, Any]]:
    progress = advance(SCRIPT, factors, answers)
    return progress.path, progress.current, dict(progress.answers)


def test_text_steps_run_through_to_the_first_question() -> None:
    assert walk({}) == (("hello", "lights"), "lights", {})


def test_branches_follow_the_answers() -> None:
    assert walk({"lights": "yes"}) == (("hello", "lights", "resolved"), "resolved", {"lights": True})
    assert walk({"lights": False}) == (("hello", "lights", "power", "resolved"), "resolved", {"lights": False})
    assert walk({"lights": True, "resolved": "yes"}) == (
        ("hello", "lights", "resolved", "bye"), None, {"lights": True, "resolved": True})
    assert walk({"lights": True, "resolved": "no", "days": "3"}) == (
        ("hello", "lights", "resolved", "days", "notes"), "notes", {"lights": True, "resolved": False, "days": 3})
    assert walk({"lights": True, "resolved": "no", "days": 3, "notes": "  "}) == (
        ("hello", "lights", "resolved", "days", "notes"), None,
        {"lights": True, "resolved": False, "days": 3, "notes": None})


def test_conditional_steps_follow_the_factors() -> None:
    factors = Factors(value_tier="gold", cross_sell=True)
    assert walk({"lights": True, "resolved": True}, factors) == (
        ("hello", "vip", "lights", "resolved", "offer"), "offer", {"lights": True, "resolved": True})
    assert walk({"lights": True, "resolved": True, "offer": "accepted"}, factors)[1:] == (
        None, {"lights": True, "resolved": True, "offer": "accepted"})


def test_answers_off_the_path_are_dropped() -> None:
    # The agent changed "resolved" from no to yes: the number of days no longer applies.
    assert walk({"lights": True, "resolved": "yes", "days": 3, "notes": "x"}) == (
        ("hello", "lights", "resolved", "bye"), None, {"lights": True, "resolved": True})


def test_the_record_for_the_interaction() -> None:
    progress = advance(SCRIPT, PLAIN, {"lights": "no", "resolved": "yes"})
    assert progress == Progress("triage", ("hello", "lights", "power", "resolved", "bye"), None,
                                {"lights": False, "resolved": True})
    assert progress.complete
    assert progress.record() == {"script_id": "triage", "path": ["hello", "lights", "power", "resolved", "bye"],
                                 "answers": {"lights": False, "resolved": True}, "complete": True}


@pytest.mark.parametrize(("step_id", "raw", "expected"), [
    ("lights", True, True), ("lights", "YES", True), ("lights", " no ", False),
    ("offer", "declined", "declined"),
    ("days", 0, 0), ("days", 60, 60), ("days", "7", 7), ("days", 7.0, 7), ("days", " 12 ", 12),
    ("notes", "  ok  ", "ok"), ("notes", None, None), ("notes", "", None),
])
def test_valid_answers_are_normalised(step_id: str, raw: object, expected: object) -> None:
    assert validate_answer(SCRIPT.step(step_id), raw) == expected


@pytest.mark.parametrize(("step_id", "raw", "message"), [
    ("lights", None, "step 'lights': an answer is required"),
    ("lights", "maybe", "step 'lights': answer yes or no, not 'maybe'"),
    ("lights", 1, "step 'lights': answer yes or no, not 1"),
    ("offer", "perhaps", "step 'offer': 'perhaps' is not one of accepted, declined"),
    ("offer", ["accepted"], "step 'offer': ['accepted'] is not one of accepted, declined"),
    ("days", "three", "step 'days': 'three' is not a number"),
    ("days", True, "step 'days': a number is expected, not bool"),
    ("days", 2.5, "step 'days': a whole number is expected, not 2.5"),
    ("days", -1, "step 'days': -1 is below the minimum 0"),
    ("days", 61, "step 'days': 61 is above the maximum 60"),
    ("days", "nan", "step 'days': the number must be finite"),
    ("notes", "far too long", "step 'notes': the text is longer than 10 characters"),
    ("notes", 5, "step 'notes': a text is expected, not int"),
    ("hello", "hi", "step 'hello': this step asks no question"),
])
def test_invalid_answers_say_why(step_id: str, raw: object, message: str) -> None:
    with pytest.raises(AnswerError) as info:
        validate_answer(SCRIPT.step(step_id), raw)
    assert str(info.value) == message
    assert info.value.step_id == step_id


def test_advance_validates_the_answers_on_the_path() -> None:
    with pytest.raises(AnswerError, match="step 'lights': answer yes or no"):
        advance(SCRIPT, PLAIN, {"lights": "perhaps"})
    with pytest.raises(AnswerError, match="step 'nope': script 'triage' has no such step"):
        advance(SCRIPT, PLAIN, {"nope": 1})
    with pytest.raises(AnswerError, match="step 'hello': this step asks no question"):
        advance(SCRIPT, PLAIN, {"hello": "hi"})
    # Off the path an answer is not even looked at.
    assert advance(SCRIPT, PLAIN, {"lights": True, "resolved": True, "days": "garbage"}).answers == {
        "lights": True, "resolved": True}


def test_rendering_in_the_call_language() -> None:
    data = {"customer": {"name": "Dewi"}, "offer": {"name": "Mesh WiFi"}}
    assert render_step(SCRIPT, "hello", "en", data) == RenderedStep("hello", "Hello Dewi", "Smile")
    # No customer (an unknown caller): neutral words, never a placeholder read out to a stranger.
    assert render_step(SCRIPT, "hello", "fr", {}) == RenderedStep("hello", "Halo pemilik akun", "[id] Smile")
    assert render_step(SCRIPT, "hello", "en", {"customer": None}) == RenderedStep("hello", "Hello the account holder",
                                                                                 "Smile")
    assert render_step(SCRIPT, "lights", "id", data, True) == RenderedStep(
        "lights", "[id] Are the lights on?", None,
        RenderedQuestion("yes_no", True, "[id] Lights?", (RenderedChoice("yes", "Ya"), RenderedChoice("no", "Tidak"))),
        True)
    assert render_step(SCRIPT, "offer", "en", data).as_json() == {
        "step_id": "offer", "text": "Try Mesh WiFi", "hint": None, "answer": None,
        "question": {"kind": "choice", "required": True, "prompt": None, "min": None, "max": None, "integer": False,
                     "max_length": None, "choices": [{"value": "accepted", "label": "Accepted"},
                                                     {"value": "declined", "label": "Declined"}]}}
    progress = advance(SCRIPT, PLAIN, {"lights": "no"})
    assert [(s.step_id, s.text, s.answer) for s in render_path(SCRIPT, progress, "en", data)] == [
        ("hello", "Hello Dewi", None), ("lights", "Are the lights on?", False), ("power", "Plug it in", None),
        ("resolved", "Resolved?", None)]


# -- every walk through the shipped scripts ends or waits, on steps that exist, without repeating one --------

DEFAULTS = load_script_file()


@st.composite
def walks(draw: st.DrawFn) -> tuple[Script, Factors, dict[str, object]]:
    script = draw(st.sampled_from(DEFAULTS))
    factors = Factors(reason=draw(st.sampled_from([None, "technical", "billing"])),
                      value_tier=draw(st.sampled_from([None, "gold"])), cross_sell=draw(st.booleans()),
                      promotion=draw(st.booleans()), billing=draw(st.sampled_from(["none", "due", "overdue"])))
    answers: dict[str, object] = {}
    for step in script.steps:
        question = step.question
        if question is None or draw(st.integers(0, 9)) == 0:
            continue  # some questions stay unanswered
        if question.kind in ("yes_no", "choice"):
            answers[step.id] = draw(st.sampled_from(question.values))
        elif question.kind == "number":
            answers[step.id] = draw(st.integers(int(question.min or 0), int(question.max or 1000)))
        else:
            answers[step.id] = draw(st.text(alphabet="ab c", min_size=1, max_size=20).filter(str.strip))
    return script, factors, answers


@settings(max_examples=200, deadline=None)
@given(walks())
def test_walks_through_the_default_scripts(case: tuple[Script, Factors, dict[str, object]]) -> None:
    script, factors, answers = case
    progress = advance(script, factors, answers)
    assert len(set(progress.path)) == len(progress.path)
    assert progress.path[0] in (script.steps[0].id, script.steps[1].id)
    assert set(progress.answers) <= set(progress.path)
    if progress.current is not None:
        assert progress.path[-1] == progress.current
        assert progress.current not in answers
    else:
        last = script.step(progress.path[-1])
        assert script.next_of(last) == "end" or last.branches
    assert advance(script, factors, answers) == progress
