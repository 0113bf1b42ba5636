"""Script definitions: what is accepted, and every problem reported with where it is."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.scripting import END, Problem, ScriptError, load_script_file, parse_script, parse_scripts


def text(words: str) -> dict[str, str]:
    return {"id": f"{words} (id)", "en": words}


def definition() -> dict[str, Any]:
    return {
        "id": "triage",
        "title": {"id": "Triase", "en": "Triage"},
        "steps": [
            {"id": "hello", "text": {"id": "Halo {{ customer.name }}", "en": "Hello {{ customer.name }}"}},
            {"id": "lights", "text": text("Lights on?"), "question": {"kind": "yes_no"}, "branches": {"no": "power"}},
            {"id": "resolved", "text": text("Resolved?"), "question": {"kind": "yes_no"},
             "branches": {"yes": "bye", "no": "ticket"}},
            {"id": "bye", "text": text("Goodbye"), "next": "end"},
            {"id": "power", "text": text("Plug it in"), "next": "resolved"},
            {"id": "ticket", "text": text("Days?"), "question": {"kind": "number", "integer": True, "min": 0}},
        ],
    }


def problems(data: object, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ScriptError) as info:
        parse_script(data, **kwargs)
    return [(p.where, p.message) for p in info.value.problems]


def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = definition()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_a_valid_script_and_its_flow() -> None:
    script = parse_script(definition())
    assert [step.id for step in script.steps] == ["hello", "lights", "resolved", "bye", "power", "ticket"]
    assert script.catch_all and script.priority == 0
    assert [script.next_of(step) for step in script.steps] == ["lights", "resolved", "bye", END, "resolved", END]
    assert script.targets(script.step("lights")) == ["resolved", "power"]
    assert script.targets(script.step("resolved")) == ["ticket", "bye"]  # both answers branch: next unused


def test_yaml_yes_and_no_mean_answers_not_booleans() -> None:
    data = yaml.safe_load("""
id: yaml
title: {id: Judul, en: Title}
steps:
  - id: ask
    text: {id: Tanya, en: Ask}
    question: {kind: yes_no}
    branches: {yes: fin, no: fin}
  - id: fin
    text: {id: Selesai, en: Done}
""")
    assert data["steps"][0]["branches"] == {True: "fin", False: "fin"}
    assert parse_script(data).step("ask").branches == {"yes": "fin", "no": "fin"}


def test_a_normalised_dump_parses_back_to_the_same_script() -> None:
    script = parse_script(definition())
    dumped = script.model_dump(mode="json", exclude_defaults=True)
    assert "when" not in dumped and "priority" not in dumped
    assert parse_script(dumped) == script


def test_the_id_in_the_path_wins_only_when_it_agrees() -> None:
    data = definition()
    del data["id"]
    assert parse_script(data, script_id="triage").id == "triage"
    assert problems(definition(), script_id="other") == [("id", "the definition says 'triage', not 'other'")]


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("steps", 1, "next"), "nowhere", [("steps.lights.next", "unknown next step 'nowhere'")]),
    (("steps", 1, "branches"), {"no": "pwr"}, [("steps.lights.branches.no", "unknown next step 'pwr'")]),
    (("steps", 1, "branches"), {"maybe": "power"},
     [("steps.lights.branches.maybe", "'maybe' is not an answer of this question (yes, no)")]),
    (("steps", 0, "branches"), {"yes": "bye"},
     [("steps.hello.branches", "only yes_no and choice questions can branch")]),
    (("steps", 0, "otherwise"), "bye", [("steps.hello.otherwise", "otherwise needs a when")]),
    (("steps", 4, "id"), "hello", [("steps.hello", "the step id is used twice"),
                                   ("steps.lights.branches.no", "unknown next step 'power'")]),
    (("steps", 4, "id"), "end", [("steps.end", "'end' is reserved: it names the end of the script"),
                                 ("steps.lights.branches.no", "unknown next step 'power'")]),
    (("steps", 1, "branches"), {},
     [("steps.power", "the step is unreachable from the first step")]),
    (("steps", 4, "next"), "lights", [("steps", "the steps form a cycle: lights -> power -> lights")]),
    (("steps", 0, "text", "en"), "Hello {{ customer.name", [
        ("steps.hello.text.en", "template syntax error on line 1: unexpected end of template, expected "
                                "'end of print statement'.")]),
    (("steps", 0, "text", "id"), "{{ ''.__class__ }}",
     [("steps.hello.text.id", "the private name '__class__' is refused")]),
    (("title", "en"), "{{ caller.name }}", [
        ("title.en", "unknown variable 'caller'; use one of agent, billing, call, company, customer, offer, "
                     "promotion")]),
])
def test_graph_and_template_problems(path: tuple[Any, ...], value: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(changed(path, value)) == expected


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("steps", 0, "text", "en"), KeyError, [("steps.hello.text", "Value error, missing translation: en")]),
    (("steps", 0, "text", "id"), "  ", [("steps.hello.text", "Value error, missing translation: id")]),
    (("steps", 0, "text", "fr"), "Bonjour", [("steps.hello.text.fr.[key]", "Input should be 'id' or 'en'")]),
    (("steps", 0, "txt"), "typo", [("steps.hello.txt", "Extra inputs are not permitted")]),
    (("steps", 1, "question", "kind"), "scale", [
        ("steps.lights.question.kind", "Input should be 'yes_no', 'choice', 'text' or 'number'")]),
    (("steps", 1, "question"), {"kind": "choice", "choices": [{"value": "a", "label": text("A")}]}, [
        ("steps.lights.question", "Value error, a choice question needs at least two choices")]),
    (("steps", 1, "question"), {"kind": "choice", "choices": [{"value": "a", "label": text("A")}] * 2}, [
        ("steps.lights.question", "Value error, choice values must be unique")]),
    (("steps", 5, "question", "max"), -1, [("steps.ticket.question", "Value error, min 0.0 is above max -1.0")]),
    (("steps", 1, "question", "min"), 1, [("steps.lights.question", "Value error, min, max and integer are for "
                                                                     "number questions")]),
    (("steps", 0, "id"), "Hello World", [("steps.Hello World.id", "String should match pattern "
                                                                  "'^[a-z0-9][a-z0-9_-]{0,63}$'")]),
    (("priority",), 101, [("priority", "Input should be less than or equal to 100")]),
    (("when",), {"billing": "late"}, [("when.billing.0", "Input should be 'none', 'due' or 'overdue'")]),
    (("when",), {"reason": []}, [("when.reason", "Value error, name at least one value, or leave the condition out")]),
    (("steps",), [], [("steps", "Tuple should have at least 1 item after validation, not 0")]),
])
def test_structure_problems(path: tuple[Any, ...], value: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(changed(path, value)) == expected


def test_every_problem_is_reported_at_once() -> None:
    data = definition()
    data["steps"][0]["text"]["en"] = "{{ nobody }}"
    data["steps"][1]["next"] = "missing"
    data["steps"][3]["text"]["id"] = "{% if %}"
    with pytest.raises(ScriptError) as info:
        parse_script(data)
    # Graph problems hide reachability and cycle checks (meaningless over unknown steps), not template checks.
    assert info.value.problems == (
        Problem("steps.lights.next", "unknown next step 'missing'"),
        Problem("steps.hello.text.en", "unknown variable 'nobody'; use one of agent, billing, call, company, "
                                       "customer, offer, promotion"),
        Problem("steps.bye.text.id", "template syntax error on line 1: Expected an expression, got 'end of "
                                     "statement block'"),
    )
    assert str(info.value).startswith("script 'triage' is invalid: steps.lights.next: unknown next step 'missing'; ")


def test_not_a_mapping() -> None:
    assert problems(["steps"]) == [("", "a script definition must be a mapping")]


def test_a_set_needs_unique_ids_and_a_catch_all() -> None:
    other = definition() | {"id": "other", "when": {"reason": "technical"}}
    assert [s.id for s in parse_scripts({"scripts": [definition(), other], "shared": [1]})] == ["triage", "other"]
    with pytest.raises(ScriptError) as info:
        parse_scripts({"scripts": [other]})
    assert info.value.problems == (
        Problem("scripts", "no catch-all script (one without when): some calls would get none"),)
    broken = copy.deepcopy(other)
    broken["steps"][1]["next"] = "gone"
    with pytest.raises(ScriptError) as info:
        parse_scripts({"scripts": [definition(), definition(), broken, {"title": 1}]})
    assert info.value.problems == (
        Problem("scripts.other.steps.lights.next", "unknown next step 'gone'"),
        Problem("scripts.3.id", "Field required"),
        Problem("scripts.3.title", "Input should be a valid dictionary"),
        Problem("scripts.3.steps", "Field required"),
        Problem("scripts.triage", "the script id is used twice"),
    )
    with pytest.raises(ScriptError, match="a mapping with a list under 'scripts'"):
        parse_scripts({"scripts": [], "extra": 1})


def test_script_files(tmp_path: Path) -> None:
    path = tmp_path / "scripts.yaml"
    path.write_text("scripts: [", encoding="utf-8")
    with pytest.raises(ScriptError, match="is not valid YAML"):
        load_script_file(path)
    with pytest.raises(ScriptError, match="cannot read"):
        load_script_file(tmp_path / "missing.yaml")
