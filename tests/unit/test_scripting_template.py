"""Script templates: data in, text out; missing values shown as placeholders; nothing else reachable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cti.scripting import RenderError, TemplateRefused, render
from cti.scripting._template import check_template

DATA: dict[str, object] = {
    "customer": {"name": "Siti Rahayu", "salutation": "Ibu", "email": None, "tags": ["gold", "fiber"],
                 "address": {"city": "Bandung"}},
    "billing": {"balance_due": Decimal("1250000.50"), "overdue_days": 0},
    "agent": {"name": "Andi"},
    "company": {"name": "Nusantara Net"},
}


@pytest.mark.parametrize(("source", "expected"), [
    ("Halo {{ customer.salutation }} {{ customer.name }}", "Halo Ibu Siti Rahayu"),
    ("{{ customer['name'] }} dari {{ customer.address.city }}", "Siti Rahayu dari Bandung"),
    ("Tagihan {{ billing.balance_due | money }}", "Tagihan Rp 1.250.001"),
    ("{{ -5000 | money }} {{ 'abc' | money }}", "-Rp 5.000 abc"),
    ("{% if billing.balance_due > 0 %}ada tagihan{% else %}lunas{% endif %}", "ada tagihan"),
    ("{% if billing.overdue_days %}telat{% else %}tepat waktu{% endif %}", "tepat waktu"),
    ("{% for tag in customer.tags %}{{ loop.index }}.{{ tag | upper }} {% endfor %}", "1.GOLD 2.FIBER "),
    ("{{ customer.tags[1] }} {{ customer.tags | join(', ') }} {{ customer.tags | length }}", "fiber gold, fiber 2"),
    ("{{ customer.name | truncate(8, true, '...', 0) }}", "Siti ..."),
    ("{{ 3 * 4 }} {{ 2.6 | round | int }} {{ customer.name | lower | title }}", "12 3 Siti Rahayu"),
])
def test_renders_values(source: str, expected: str) -> None:
    assert check_template(source) == []
    assert render(source, DATA) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("Halo {{ customer.nickname }}", "Halo [customer.nickname]"),
    ("{{ customer.email }}", "[customer.email]"),  # None is as unknown as absent
    ("{{ offer.name }} {{ offer.price | money }}", "[offer.name] [offer.price]"),
    ("{{ customer.address.street.number }}", "[customer.address.street.number]"),
    ("{{ customer.tags[7] }}", "[customer.tags.7]"),
    ("{{ customer.nickname | upper }}", "[customer.nickname]"),
    ("{{ customer.email | default('tidak ada email') }}", "tidak ada email"),
    ("{% if offer.price > 100 %}mahal{% else %}?{% endif %}", "?"),
    ("{{ offer.price + 1 }}", "[offer.price]"),
    ("{% for x in offer.items %}{{ x }}{% endfor %}-", "-"),
    ("{{ customer.name.upper }}", "[?.upper]"),  # strings have no reachable attributes
])
def test_missing_values_render_as_placeholders(source: str, expected: str) -> None:
    assert render(source, DATA) == expected


def test_an_absent_root_names_itself_or_gives_its_neutral_words() -> None:
    # A root that is None used to lose its name ("[?.name]"); an unknown caller's name gets neutral words.
    assert render("{{ customer.name }} {{ offer.name }}", {"customer": None, "offer": None}) == \
        "[customer.name] [offer.name]"
    unknown = {"customer": {"name": "pemilik akun"}}
    source = "{% if customer %}kenal{% else %}asing{% endif %}: {{ customer.salutation | default('Bapak/Ibu') }} " \
             "{{ customer.name }} {{ customer.value_tier }}"
    assert render(source, {"customer": None}, absent=unknown) == "asing: Bapak/Ibu pemilik akun [customer.value_tier]"
    known = render(source, {"customer": {"name": "Siti"}}, absent=unknown)
    assert known == "kenal: Bapak/Ibu Siti [customer.value_tier]"


def test_unknown_roots_and_objects_are_data_only() -> None:
    class Secret:
        password = "hunter2"

        def __str__(self) -> str:
            return "secret"

    data = {"customer": {"obj": Secret(), "fn": print}, "stranger": {"x": 1}}
    assert render("{{ customer.obj }} {{ customer.obj.password }} {{ stranger.x }}", data) == \
        "secret [?.password] [stranger.x]"
    assert render("{{ customer.fn }}", data).startswith("<built-in function print")


@pytest.mark.parametrize(("source", "problem"), [
    ("{{ ''.__class__ }}", "the private name '__class__' is refused"),
    ("{{ customer.__class__.__mro__ }}", "the private name '__mro__' is refused"),
    ("{{ customer['_secret'] }}", "the private name '_secret' is refused"),
    ("{{ customer.items() }}", "function calls are not allowed in script templates"),
    ("{{ range(10) }}", "function calls are not allowed in script templates"),
    ("{{ 'x'.format(customer) }}", "function calls are not allowed in script templates"),
    ("{{ customer | attr('name') }}", "unknown filter 'attr'; use one of capitalize, d, default, int, join, "
                                      "length, lower, money, replace, round, title, trim, truncate, upper"),
    ("{% include 'other' %}", "{% include %} is not allowed in script templates"),
    ("{% macro m() %}x{% endmacro %}", "{% macro %} is not allowed in script templates"),
    ("{{ 'a' * 1000000 }}", "the operator '*' is only allowed on numbers"),
    ("{{ 9 ** 9 }}", "the operator '**' is not allowed"),
    ("{{ custmer.name }}", "unknown variable 'custmer'; use one of agent, billing, call, company, customer, offer, "
                           "promotion"),
    ("{{ customer.name ", "template syntax error on line 1: unexpected end of template, expected 'end of print "
                          "statement'."),
    ("{% if x %}", "template syntax error on line 1: Unexpected end of template. Jinja was looking for the "
                   "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is "
                   "'if'."),
])
def test_check_template_finds_problems(source: str, problem: str) -> None:
    assert problem in check_template(source)


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ customer.__class__.__init__.__globals__ }}",
    "{{ customer['__class__'] }}",
    "{% set key = '__class__' %}{{ customer[key] }}",
    "{{ customer.items() }}",
    "{{ range(10) }}",
    "{{ 'a' * 1000000 }}",
    "{{ 9 ** 99999 }}",
])
def test_escapes_are_refused_when_rendered(source: str) -> None:
    with pytest.raises(TemplateRefused):
        render(source, DATA)


def test_broken_templates_raise_render_error() -> None:
    with pytest.raises(RenderError, match="template failed"):
        render("{{ customer.name ", DATA)
    with pytest.raises(RenderError, match="division by zero"):
        render("{{ 1 / 0 }}", DATA)
