"""The rendering budget: loops, text and numbers are counted as a template runs, and stop it at a limit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from cti.scripting import (
    TRIAL_DATA,
    Factors,
    RenderBudget,
    RenderBudgetExceeded,
    RenderError,
    RenderLimits,
    ScriptError,
    TemplateRefused,
    advance,
    load_script_file,
    parse_script,
    render,
    render_path,
    trial_render,
)
from cti.scripting._template import check_template
from cti.settings import load_settings

DATA: dict[str, object] = {"customer": {"name": "Siti Rahayu", "tags": ["gold", "fiber"]}}
TEN = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"


def nested(depth: int, body: str = "x") -> str:
    """``depth`` loops of ten turns, one in the other: 10**depth turns of ``body``."""
    return "".join(f"{{% for a{i} in {TEN} %}}" for i in range(depth)) + body + "{% endfor %}" * depth


def doubled(times: int, step: str = "{% set s = s ~ s %}") -> str:
    return "{% set s = 'aaaaaaaa' %}" + step * times + "{{ s | length }}"


def over(source: str, limits: RenderLimits | None = None) -> RenderBudgetExceeded:
    with pytest.raises(RenderBudgetExceeded) as caught:
        render(source, DATA, RenderBudget(limits))
    return caught.value


# -- loops -----------------------------------------------------------------------------------------------------
def test_nested_loops_stop_at_the_step_limit() -> None:
    assert check_template(nested(6)) == []  # a million turns look harmless: only running them tells
    exc = over(nested(6))
    assert (exc.limit, exc.reason) == ("steps", "more than 20000 steps (loops too long or nested?)")
    assert str(exc) == "the script is over its rendering budget: more than 20000 steps (loops too long or nested?)"
    assert render(nested(2), DATA) == "x" * 100  # a hundred turns are fine


def test_every_turn_of_a_loop_costs_its_body() -> None:
    source = "{% for tag in customer.tags %}{{ tag }}{% endfor %}"
    spent = []
    for tags in ([], ["gold"] * 10):
        budget = RenderBudget()
        render(source, {"customer": {"tags": tags}}, budget)
        spent.append(budget.steps)
    # The body {{ tag }} is an output and a name; with the turn itself, three steps a turn.
    assert spent[1] - spent[0] == 10 * 3
    again = RenderBudget()
    render(source, {"customer": {"tags": ["gold"] * 10}}, again)
    assert again.steps == spent[1]  # counted, not timed: the same render always costs the same


def test_a_loop_over_a_long_text_is_counted_by_the_turn() -> None:
    source = "{% for c in customer.name %}{% for d in customer.name %}.{% endfor %}{% endfor %}"
    assert render(source, DATA, RenderBudget(RenderLimits(steps=1000))) == "." * 121  # Siti Rahayu: 11 * 11
    with pytest.raises(RenderBudgetExceeded, match="more than 1000 steps"):
        render(source, {"customer": {"name": "Siti Rahayu" * 10}}, RenderBudget(RenderLimits(steps=1000)))


# -- text ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", [
    "{% set s = s ~ s %}",
    "{% set s = s + s %}",
    "{% set s %}{{ s }}{{ s }}{% endset %}",
    "{% set s = [s, s] | join('') %}",
    "{% set s = s | replace('a', 'aa') %}",
])
def test_doubling_a_text_stops_at_the_character_limit(step: str) -> None:
    assert check_template(doubled(40, step)) == []
    exc = over(doubled(40, step))
    assert (exc.limit, exc.reason) == ("characters", "more than 100000 characters of text")
    assert render(doubled(3, step), DATA) == "64"


def test_a_list_doubled_costs_what_printing_it_would() -> None:
    exc = over("{% set s = ['abcdefgh'] %}" + "{% set s = s + s %}" * 40 + "{{ s | length }}")
    assert exc.limit == "characters"
    assert render("{% set s = ['ab'] %}{% set s = s + s %}{{ s | join('-') }}", DATA) == "ab-ab"


def test_replacing_again_and_again_is_paid_for_before_the_text_is_built() -> None:
    source = "{{ 'aa'" + "|replace('a', 'aaaaaaaa')" * 12 + "| length }}"  # 2 * 8**12 characters
    assert check_template(source) == []  # and not computed at compile time either
    budget = RenderBudget()
    with pytest.raises(RenderBudgetExceeded):
        render(source, DATA, budget)
    assert budget.characters < 1_000_000


def test_text_is_counted_where_it_is_made_not_folded_at_compile_time() -> None:
    budget = RenderBudget()
    assert render("{{ 'ab' ~ 'cd' }}", DATA, budget) == "abcd"
    assert budget.characters == 4 + 4  # the joined text, then the output
    budget = RenderBudget()
    assert render("{{ 'aa' | replace('a', 'bbb') }}", DATA, budget) == "bbbbbb"
    assert budget.characters == 6 + 6


def test_long_literal_text_counts_too() -> None:
    assert over("x" * 100_001).limit == "characters"
    assert over("{% for a in " + TEN + " %}" + "x" * 10_001 + "{% endfor %}").limit == "characters"


# -- numbers, operators, nesting -------------------------------------------------------------------------------
def test_squaring_a_number_again_and_again_stops() -> None:
    exc = over("{% set n = 99 %}" + "{% set n = n * n %}" * 30 + "{{ n }}")
    assert (exc.limit, exc.reason) == ("number", "a number of more than 40 digits")
    assert render("{{ 1250000 * 12 }} {{ 7 // 2 }} {{ 7 % 2 }}", DATA) == "15000000 3 1"


@pytest.mark.parametrize(("source", "problem"), [
    ("{{ ('x',) * 1000000000 }}", "the operator '*' is only allowed on numbers"),
    ("{{ ['x'] * 1000000000 }}", "the operator '*' is only allowed on numbers"),
    ("{{ '%0999999999d' % 1 }}", "the operator '%' is only allowed on numbers"),
])
def test_operators_that_build_text_from_a_number_are_refused(source: str, problem: str) -> None:
    assert check_template(source) == [problem]
    with pytest.raises(TemplateRefused, match=problem.replace("*", r"\*")):
        render(source, DATA)


def test_a_sequence_multiplied_through_a_variable_is_refused_when_run() -> None:
    with pytest.raises(TemplateRefused, match="only allowed on numbers"):
        render("{% set t = ('x',) %}{{ t * 1000000000 }}", DATA)
    with pytest.raises(TemplateRefused, match="only allowed on numbers"):
        render("{% set f = '%0999999999d' %}{{ f % 1 }}", DATA)


def test_templates_cannot_recurse_and_deep_nesting_is_refused() -> None:
    # A recursive loop calls itself with loop(...): a call, refused like every other.
    recursive = "{% for a in [[1]] recursive %}{{ loop(a) }}{% endfor %}"
    assert check_template(recursive) == ["function calls are not allowed in script templates"]
    with pytest.raises(TemplateRefused):
        render(recursive, DATA)
    deep = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    assert check_template(deep) == ["the template is nested too deeply"]
    with pytest.raises(RenderError, match=r"^template failed: it is nested too deeply$"):
        render(deep, DATA)


# -- the clock backstop ----------------------------------------------------------------------------------------
def test_the_time_limit_is_checked_as_steps_are_counted() -> None:
    ticks: Iterator[float] = iter(float(n) / 100 for n in range(1000))  # 10 ms more at every look
    budget = RenderBudget(RenderLimits(seconds=0.05), clock=lambda: next(ticks))
    with pytest.raises(RenderBudgetExceeded) as caught:
        render(nested(2), DATA, budget)
    assert (caught.value.limit, caught.value.reason) == ("seconds", "more than 0.05 s")
    assert budget.steps < 100  # stopped within a few turns, not at the end


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="render limits must be positive"):
        RenderLimits(steps=0)
    with pytest.raises(ValueError, match="render limits must be positive"):
        RenderLimits(seconds=0)


def test_the_settings_default_to_the_limits_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("CTI_")]:
        monkeypatch.delenv(name)
    settings = load_settings(ari_password="ari-secret", admin_token="Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    assert RenderLimits(settings.script_render_steps, settings.script_render_characters,
                        settings.script_render_seconds) == RenderLimits()


# -- scripts: a path shares one budget; a trial before saving ---------------------------------------------------
def script(*texts: str, script_id: str = "probe") -> dict[str, Any]:
    return {"id": script_id, "title": {"id": "Uji", "en": "Probe"}, "steps": [
        {"id": f"s{n}", "text": {"id": text, "en": text}} for n, text in enumerate(texts)]}


def test_a_path_shares_one_budget_across_its_steps() -> None:
    probe = parse_script(script(*[nested(2, "{{ customer.name }}")] * 3))
    progress = advance(probe, Factors(), {})
    limits = RenderLimits(steps=1000)
    for step_id in progress.path:  # each step alone fits
        render(probe.step(step_id).text["en"], DATA, RenderBudget(limits))
    with pytest.raises(RenderBudgetExceeded):
        render_path(probe, progress, "en", DATA, RenderBudget(limits))


def test_the_shipped_scripts_pass_their_trial_with_room_to_spare() -> None:
    for shipped in load_script_file():
        trial_render(shipped, RenderLimits(steps=1_000, characters=10_000))


def test_a_trial_says_which_text_which_data_and_which_limit() -> None:
    hostile = parse_script(script("Halo {{ customer.name }}", nested(5)))
    with pytest.raises(RenderBudgetExceeded) as caught:
        trial_render(hostile)
    exc = caught.value
    assert (exc.script_id, exc.where, exc.case, exc.limit) == (
        "probe", "steps.s1.text.id", "with a known customer", "steps")
    assert str(exc) == ("script 'probe' is over its rendering budget at steps.s1.text.id (with a known customer): "
                        "more than 20000 steps (loops too long or nested?)")
    # A loop over what only a known customer has: the unknown caller's trial finds nothing to loop over.
    data_dependent = parse_script(script("{% for c in customer.name %}" + nested(3) + "{% endfor %}"))
    with pytest.raises(RenderBudgetExceeded, match=r"\(with a known customer\)"):
        trial_render(data_dependent)
    assert set(TRIAL_DATA) == {"a known customer", "an unknown caller"}


def test_a_trial_lists_texts_that_cannot_be_rendered() -> None:
    broken = parse_script(script("{{ billing.balance_due + customer.name }}", "{{ 1 // 0 }}"))
    with pytest.raises(ScriptError) as caught:
        trial_render(broken)
    assert [(p.where, p.message.split(":")[0]) for p in caught.value.problems] == [
        ("steps.s0.text.id", "cannot be rendered with a known customer"),
        ("steps.s1.text.id", "cannot be rendered with a known customer"),
        ("steps.s0.text.en", "cannot be rendered with a known customer"),
        ("steps.s1.text.en", "cannot be rendered with a known customer"),
        # An unknown caller's name is neutral words ("pemilik akun"), text too: adding it to a number fails alike.
        ("steps.s0.text.id", "cannot be rendered with an unknown caller"),
        ("steps.s1.text.id", "cannot be rendered with an unknown caller"),
        ("steps.s0.text.en", "cannot be rendered with an unknown caller"),
        ("steps.s1.text.en", "cannot be rendered with an unknown caller"),
    ]
