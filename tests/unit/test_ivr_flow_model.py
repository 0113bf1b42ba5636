"""The IVR flows file: each validation rule with its exact message, the sample file, service numbers."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cti.ivr import FlowError, Flows, load_flows_file, normalize_phrase, parse_flows
from cti.ivr._template import Placeholder, TemplateError, parse_template, render_template

SAMPLE = Path(__file__).resolve().parents[2] / "cti" / "ivr" / "flows" / "default.yaml"


def text(words: str) -> dict[str, str]:
    return {"id": f"{words} (id)", "en": f"{words} (en)"}


def document() -> dict[str, Any]:
    """A small valid flows document: a menu, a verification, a collection, a lookup, a transfer and a hangup."""
    return {
        "service_numbers": {"1500100": "main"},
        "flows": {"main": {"entry": "menu", "agent": "agent", "nodes": {
            "menu": {"kind": "menu", "prompt": text("menu"), "choices": [
                {"intent": "balance", "dtmf": "1", "phrases": {"id": ["saldo"], "en": ["balance"]}, "next": "who"},
                {"intent": "agent", "dtmf": "0", "phrases": {"id": ["agen"], "en": ["agent"]}, "next": "agent"},
            ]},
            "who": {"kind": "verify", "claim_prompt": text("customer number"), "prompt": text("PIN"),
                    "verified": "ask"},
            "ask": {"kind": "collect", "prompt": text("number"), "into": "customer_number", "min_length": 8,
                    "max_length": 8, "checksum": "luhn", "valid": "lookup", "invalid": "agent"},
            "lookup": {"kind": "lookup", "query": "balance", "key": "customer_id",
                       "found": {"say": {"id": "Saldo {balance:money}.", "en": "Balance {balance:money}."},
                                 "next": "bye"},
                       "not_found": {"next": "agent"}, "error": {"next": "agent"}},
            "bye": {"kind": "hangup", "prompt": text("bye")},
            "agent": {"kind": "transfer"},
        }}},
    }


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(FlowError) as caught:
        parse_flows(data)
    return list(caught.value.problems)


def nodes(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["flows"]["main"]["nodes"]
    return result


def test_the_small_document_is_valid() -> None:
    flows = parse_flows(document())
    assert flows.languages == ("id", "en") and flows.default_language == "id"
    assert flows.settings.max_steps == 60 and flows.settings.min_confidence == 0.5
    assert list(flows.flows["main"].nodes) == ["menu", "who", "ask", "lookup", "bye", "agent"]
    assert flows.settings.verify_attempts == 3


def test_the_message_lists_every_problem_with_its_place() -> None:
    data = document()
    nodes(data)["menu"]["choices"][0]["next"] = "asc"
    nodes(data)["bye"]["prompt"] = {"id": "Sampai jumpa"}
    with pytest.raises(FlowError) as caught:
        parse_flows(data)
    assert str(caught.value) == (
        "invalid IVR flows:\n"
        "  flows.main.nodes.bye.prompt: missing translation for 'en'\n"
        "  flows.main.nodes.menu.choices.0.next: unknown node 'asc'"
    )


def test_unknown_node_references_name_the_field() -> None:
    data = document()
    data["flows"]["main"]["entry"] = "start"
    nodes(data)["ask"]["valid"] = "lokup"
    nodes(data)["lookup"]["not_found"]["next"] = "nowhere"
    assert problems(data) == [
        "flows.main.entry: unknown node 'start'",
        "flows.main.nodes.ask.valid: unknown node 'lokup'",
        "flows.main.nodes.lookup.not_found.next: unknown node 'nowhere'",
    ]


def test_an_unreachable_node_is_rejected() -> None:
    data = document()
    nodes(data)["old"] = {"kind": "hangup"}
    assert problems(data) == ["flows.main.nodes.old: unreachable from the entry 'menu'"]


def test_a_loop_without_a_way_out_is_rejected() -> None:
    data = document()
    nodes(data)["menu"]["choices"][1]["next"] = "ping"
    nodes(data)["ping"] = {"kind": "play", "prompt": text("ping"), "next": "pong"}
    nodes(data)["pong"] = {"kind": "set", "attributes": {"product": "x"}, "next": "ping"}
    data["flows"]["main"]["agent"] = None
    nodes(data)["ask"]["invalid"] = "bye"
    nodes(data)["lookup"]["not_found"]["next"] = "bye"
    nodes(data)["lookup"]["error"]["next"] = "bye"
    nodes(data)["who"]["failed"] = "bye"
    del nodes(data)["agent"]
    assert problems(data) == [
        "flows.main.nodes.ping: cannot reach a transfer or hangup",
        "flows.main.nodes.pong: cannot reach a transfer or hangup",
    ]


def test_a_loop_through_a_menu_is_fine_the_guard_ends_it() -> None:
    data = document()
    nodes(data)["menu"]["choices"][1]["next"] = "again"
    nodes(data)["again"] = {"kind": "play", "prompt": text("again"), "next": "menu"}
    parse_flows(data)


def test_duplicate_keys_phrases_and_intents_in_a_menu() -> None:
    data = document()
    choices = nodes(data)["menu"]["choices"]
    choices[1]["dtmf"] = "1"
    choices[1]["phrases"]["id"] = ["agen", "Saldo!"]
    choices.append({"intent": "balance", "dtmf": "2", "phrases": {"id": ["cek"], "en": ["check"]}, "next": "bye"})
    assert problems(data) == [
        "flows.main.nodes.menu.choices: DTMF key '1' is used by 'balance' and 'agent'",
        "flows.main.nodes.menu.choices: phrase 'Saldo!' (id) is mapped to 'balance' and 'agent'",
        "flows.main.nodes.menu.choices.2.intent: 'balance' is used twice",
    ]


def test_the_same_phrase_in_two_languages_is_fine() -> None:
    data = document()
    nodes(data)["menu"]["choices"][1]["phrases"] = {"id": ["operator"], "en": ["operator"]}
    parse_flows(data)


def test_missing_and_unsupported_translations() -> None:
    data = document()
    nodes(data)["menu"]["prompt"] = {"id": "Menu", "fr": "Le menu"}
    nodes(data)["menu"]["choices"][0]["phrases"] = {"id": ["saldo"]}
    nodes(data)["ask"]["prompt"]["en"] = "  "
    assert problems(data) == [
        "flows.main.nodes.menu.prompt: language 'fr' is not in languages",
        "flows.main.nodes.menu.prompt: missing translation for 'en'",
        "flows.main.nodes.ask.prompt: missing translation for 'en'",
        "flows.main.nodes.menu.choices.0.phrases: missing translation for 'en'",
    ]


def test_phrases_are_optional_in_a_keypad_only_menu() -> None:
    data = document()
    nodes(data)["menu"]["speech"] = False
    for choice in nodes(data)["menu"]["choices"]:
        del choice["phrases"]
    parse_flows(data)


def test_overridden_messages_need_every_language() -> None:
    data = document()
    data["messages"] = {"no_input": {"id": "Halo?"}}
    assert problems(data) == ["messages.no_input: missing translation for 'en'"]


def test_an_added_language_needs_every_text_including_the_built_in_messages() -> None:
    data = document()
    data["languages"] = ["id", "en", "jv"]
    found = problems(data)
    assert "messages.no_input: missing translation for 'jv'" in found
    assert "flows.main.nodes.menu.prompt: missing translation for 'jv'" in found
    assert "flows.main.nodes.menu.choices.0.phrases: missing translation for 'jv'" in found


def test_invalid_regular_expression() -> None:
    data = document()
    nodes(data)["ask"]["pattern"] = "[0-9"
    assert problems(data) == [
        "flows.main.nodes.ask.pattern: invalid regular expression: unterminated character set at position 0"]


@pytest.mark.parametrize(("template", "message"), [
    ("Saldo {balance}.", "placeholder {balance} needs a type: {balance:<type>} with <type> one of "
                         "digits, number, money, date, text"),
    ("Saldo {balance:euro}.", "placeholder {balance:euro}: unknown type 'euro' "
                              "(known: digits, number, money, date, text)"),
    ("Saldo {Balance:money}.", "placeholder {Balance:money}: 'Balance' is not a field name"),
    ("Saldo {balance:money.", "unbalanced '{' at character 6"),
    ("Saldo balance:money}.", "unbalanced '}' at character 19"),
    ("Saldo {saldo:money}.", "no field 'saldo' in this answer of balance "
                             "(fields: balance, customer_number, due_amount, due_date, open_invoices)"),
    ("Saldo {balance:date}.", "'balance' cannot be read as date (as: money, number)"),
])
def test_bad_placeholders(template: str, message: str) -> None:
    data = document()
    nodes(data)["lookup"]["found"]["say"]["id"] = template
    assert problems(data) == [f"flows.main.nodes.lookup.found.say.0.id: {message}"]


def test_not_found_answers_may_only_use_the_key() -> None:
    data = document()
    nodes(data)["lookup"]["not_found"]["say"] = {"id": "{customer_number:digits} tidak ada, {balance:money}",
                                                 "en": "{customer_number:digits} is unknown"}
    assert problems(data) == ["flows.main.nodes.lookup.not_found.say.0.id: no field 'balance' in this answer of "
                              "balance (fields: customer_number)"]


def test_placeholders_outside_lookup_answers_are_rejected() -> None:
    data = document()
    nodes(data)["bye"]["prompt"]["en"] = "Goodbye {name:text}"
    assert problems(data) == ["flows.main.nodes.bye.prompt.en: placeholders are only allowed in lookup answers"]


def test_lookup_key_and_labels() -> None:
    data = document()
    nodes(data)["lookup"]["key"] = "order_number"
    nodes(data)["lookup"]["labels"] = {"balance": {"0": text("nothing")}}
    assert problems(data) == [
        "flows.main.nodes.lookup.key: 'order_number' is not collected by any node nor a caller attribute",
        "flows.main.nodes.lookup.labels.balance: not a text field of balance",
    ]


def test_a_balance_is_keyed_by_the_verified_customer_only() -> None:
    data = document()
    nodes(data)["lookup"]["key"] = "customer_number"  # what the caller keyed: maybe someone else's
    assert problems(data) == ["flows.main.nodes.lookup.key: a balance is told only to the verified customer: the "
                              "key must be customer_id"]


def test_a_personal_lookup_is_reached_only_through_a_verification() -> None:
    data = document()
    nodes(data)["menu"]["choices"][0]["next"] = "ask"  # straight to the lookup, around "who"
    nodes(data)["menu"]["choices"].append(
        {"intent": "order", "dtmf": "2", "phrases": {"id": ["pesanan"], "en": ["order"]}, "next": "who"})
    nodes(data)["order"] = {"kind": "lookup", "query": "order_status", "key": "order_number",
                            "found": {"next": "bye"}, "not_found": {"next": "bye"}, "error": {"next": "bye"}}
    nodes(data)["order_number"] = {"kind": "collect", "prompt": text("order"), "into": "order_number",
                                   "valid": "order", "invalid": "agent"}
    nodes(data)["who"]["failed"] = "order_number"  # a caller not verified must not get there either
    assert problems(data) == [
        "flows.main.nodes.lookup: balance tells personal data: reach it only through a verify node's 'verified' "
        "(it is reachable without)",
        "flows.main.nodes.order: order_status tells personal data: reach it only through a verify node's "
        "'verified' (it is reachable without)",
    ]


def test_a_verify_node_names_its_next_nodes_and_claim_lengths() -> None:
    data = document()
    nodes(data)["who"].update(verified="lokup", failed="nowhere", claim_min_length=9, claim_max_length=8)
    assert problems(data) == ["flows.main.nodes.who: claim_min_length 9 is above claim_max_length 8"]
    nodes(data)["who"].update(claim_min_length=8)
    assert problems(data) == ["flows.main.nodes.who.verified: unknown node 'lokup'",
                              "flows.main.nodes.who.failed: unknown node 'nowhere'"]
    nodes(data)["who"]["prompt"] = {"id": "PIN"}
    nodes(data)["who"].update(verified="ask", failed="bye")
    assert problems(data) == ["flows.main.nodes.who.prompt: missing translation for 'en'"]


def test_set_and_transfer_attributes() -> None:
    data = document()
    nodes(data)["menu"]["choices"][1]["next"] = "mark"
    nodes(data)["mark"] = {"kind": "set", "attributes": {"colour": "red", "problem_type": "$order_number",
                                                         "language": "fr"}, "next": "agent"}
    nodes(data)["agent"]["attributes"] = {"product": "$customer_number", "skill": "x",
                                          "customer_id": "$customer_number"}
    assert problems(data) == [
        "flows.main.nodes.agent.attributes.skill: unknown attribute (known: product, problem_type, language, "
        "value_tier, survey, satisfaction, solved, comment)",
        "flows.main.nodes.agent.attributes.customer_id: only a verify node makes the caller a customer (a number "
        "the caller keys is theirs only once verified)",
        "flows.main.nodes.mark.attributes.colour: unknown attribute (known: product, problem_type, language, "
        "value_tier, survey, satisfaction, solved, comment)",
        "flows.main.nodes.mark.attributes.problem_type: $order_number is not collected by any node",
        "flows.main.nodes.mark.attributes.language: 'fr' is not in languages",
    ]


def test_an_agent_that_names_no_node_is_a_problem_not_a_crash() -> None:
    data = document()
    data["flows"]["main"]["agent"] = "nope"
    assert problems(data) == ["flows.main.agent: 'nope' is not a transfer node of this flow"]


def test_the_agent_must_be_a_transfer_node() -> None:
    data = document()
    data["flows"]["main"]["agent"] = "bye"
    assert problems(data) == ["flows.main.agent: 'bye' is not a transfer node of this flow"]


def test_shapes_and_ranges_from_the_schema() -> None:
    data = document()
    nodes(data)["menu"]["choices"][0]["dtmf"] = "12"
    nodes(data)["menu"]["retries"] = 9
    nodes(data)["menu"]["colour"] = "blue"
    nodes(data)["ask"]["min_length"] = 9
    nodes(data)["bye"]["kind"] = "goodbye"
    assert problems(data) == [
        "flows.main.nodes.menu.choices.0.dtmf: '12' is not a DTMF key (one of 0123456789*#)",
        "flows.main.nodes.menu.retries: Input should be less than or equal to 5",
        "flows.main.nodes.menu.colour: Extra inputs are not permitted",
        "flows.main.nodes.ask: min_length 9 is above max_length 8",
        "flows.main.nodes.bye: kind must be one of play, menu, language, collect, verify, lookup, record, open, "
        "set, transfer, hangup",
    ]


def test_strict_types_with_one_kindness_unquoted_keys() -> None:
    data = document()
    nodes(data)["menu"]["choices"][0]["dtmf"] = 1
    data["service_numbers"] = {1500100: "main"}
    flows = parse_flows(data)
    assert flows.flows["main"].nodes["menu"].choices[0].dtmf == "1"  # type: ignore[union-attr]
    assert flows.flow_for("1500100") == "main"
    nodes(data)["ask"]["min_length"] = "8"
    assert problems(data) == ["flows.main.nodes.ask.min_length: Input should be a valid integer"]


def test_languages_service_numbers_and_flows() -> None:
    data = document()
    data["default_language"] = "jv"
    data["service_numbers"] = {"1500100": "main", "1500200": "care", "15-00": "main", "_15[": "main"}
    data["default_flow"] = "other"
    assert problems(data) == [
        "default_language: 'jv' is not in languages",
        "service_numbers.1500200: no flow 'care'",
        "service_numbers.15-00: not a number nor a pattern like _1500XXX",
        "service_numbers._15[: not a number nor a pattern like _1500XXX",
        "default_flow: no flow 'other'",
    ]


def test_not_a_mapping() -> None:
    assert problems([1, 2]) == ["the flows document must be a mapping"]  # type: ignore[arg-type]


def test_service_numbers_exact_first_then_patterns_in_file_order_then_the_default() -> None:
    data = document()
    data["flows"]["other"] = copy.deepcopy(data["flows"]["main"])
    data["service_numbers"] = {"_15001XX": "other", "1500100": "main", "_1500[1-3]0!": "main", "_N.": "other"}
    flows = parse_flows(data)
    assert flows.flow_for("1500100") == "main"
    assert flows.flow_for("1500150") == "other"
    assert flows.flow_for("1500200") == "main"
    assert flows.flow_for("15003009") == "main"
    assert flows.flow_for("1500400") is None  # "_N." needs a first digit 2-9
    assert flows.flow_for("21") == "other"
    assert flows.flow_for("2") is None  # "." is one or more
    assert parse_flows({**data, "default_flow": "main"}).flow_for("0") == "main"


def test_the_sample_file_loads_and_maps_the_demo_numbers() -> None:
    flows = load_flows_file(SAMPLE)
    assert flows.flow_for("1500100") == "sales"
    assert flows.flow_for("1500200") == "support"
    assert flows.flow_for("1500300") == "support"
    assert flows.flow_for("021555") is None
    main = flows.flows["sales"].nodes["main"]
    assert [(c.intent, c.dtmf) for c in main.choices] == [  # type: ignore[union-attr]
        ("order_status", "1"), ("balance", "2"), ("sales", "3"), ("technical", "4"), ("agent", "0"),
        ("survey_opt_in", "9")]
    assert flows.flows["support"].nodes["main"] == main


def test_static_prompts_for_pre_rendering() -> None:
    prompts = load_flows_file(SAMPLE).static_prompts()
    assert ("id", "Untuk Bahasa Indonesia tekan 1 atau ucapkan Indonesia.") in prompts
    assert ("en", "For English press 2 or say English.") in prompts
    assert ("en", "Please use your telephone keypad.") in prompts
    assert ("en", "Welcome to customer care.") in prompts
    assert ("en", "Sorry, that does not match our records.") in prompts
    assert ("en", "Sorry, we could not verify who you are. An agent will help you.") in prompts
    assert ("id", "Terima kasih atas penilaian Anda. Sampai jumpa.") in prompts  # the post-call survey's
    assert ("id", "Anda ingin berbicara dengan agen, benar? Ucapkan ya atau tidak, atau tekan 1 atau 2.") in prompts
    assert len(prompts) == len(set(prompts)) == 70
    assert all(language in ("id", "en") and "{" not in words for language, words in prompts)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "flows.yaml"
    bad.write_text("service_numbers: {1500100: main}\nflows: {}\n")
    with pytest.raises(FlowError) as caught:
        load_flows_file(bad)
    # The schema's problems come first; the cross-checks run on a document of the right shape only.
    assert caught.value.problems == (f"{bad}: flows: Dictionary should have at least 1 item after validation, not 0",)
    bad.write_text("flows: [\n")
    with pytest.raises(FlowError, match="not valid YAML"):
        load_flows_file(bad)
    with pytest.raises(FlowError, match="cannot read IVR flows"):
        load_flows_file(tmp_path / "missing.yaml")


def test_templates_parse_into_text_and_placeholders() -> None:
    assert parse_template("Pesanan {order_number:digits} {status:text}.") == (
        "Pesanan ", Placeholder("order_number", "digits"), " ", Placeholder("status", "text"), ".")
    with pytest.raises(TemplateError, match="unbalanced"):
        parse_template("}")


def test_phrases_compare_without_case_punctuation_or_extra_spaces() -> None:
    assert normalize_phrase("  Cek   Saldo! ") == "cek saldo"
    assert normalize_phrase("Where's my order?") == "where s my order"


def test_flows_are_frozen() -> None:
    flows: Flows = parse_flows(document())
    with pytest.raises(ValueError):
        flows.default_language = "en"


class Echo:
    """A verbalizer that shows which method got which value."""

    def digits(self, value: str, language: str) -> str:
        return f"digits({value},{language})"

    def number(self, value: int | Decimal, language: str) -> str:
        return f"number({value!r})"

    def money(self, amount: Decimal, currency: str, language: str) -> str:
        return f"money({amount},{currency})"

    def date(self, value: date, language: str) -> str:
        return f"date({value.isoformat()})"


@pytest.mark.parametrize(("template", "value", "spoken"), [
    ("{x:digits}", "12 34", "digits(1234,en)"),
    ("{x:digits}", 5678, "digits(5678,en)"),
    ("{x:number}", 3, "number(3)"),
    ("{x:number}", "7.0", "number(7)"),
    ("{x:number}", Decimal("2.50"), "number(Decimal('2.50'))"),
    ("{x:money}", 12.5, "money(12.5,IDR)"),
    ("{x:money}", "1250000", "money(1250000,IDR)"),
    ("{x:date}", datetime(2026, 11, 22, 10, 30), "date(2026-11-22)"),
    ("{x:date}", "2026-11-22T10:30:00+07:00", "date(2026-11-22)"),
    ("{x:text}", "shipped", "sudah dikirim"),
    ("{x:text}", "lost", "lost"),
])
def test_render_reads_each_type(template: str, value: object, spoken: str) -> None:
    labels = {"x": {"shipped": "sudah dikirim"}}
    assert render_template(f"<{template}>", {"x": value}, "en", Echo(), labels=labels) == f"<{spoken}>"


@pytest.mark.parametrize(("template", "value", "message"), [
    ("{x:digits}", "12a", "'x' cannot be read as digits: '12a' is not a string of digits"),
    ("{x:digits}", True, "'x' cannot be read as digits: True is not a string of digits"),
    ("{x:number}", "abc", "'x' cannot be read as number: 'abc' is not a number"),
    ("{x:number}", float("nan"), "'x' cannot be read as number: nan is not a finite number"),
    ("{x:money}", [1], "'x' cannot be read as money: [1] is not a number"),
    ("{x:date}", "soon", "'x' cannot be read as date: Invalid isoformat string: 'soon'"),
    ("{x:date}", 20261122, "'x' cannot be read as date: 20261122 is not a date"),
    ("{x:text}", None, "no value for 'x'"),
    ("{x:text}", "", "no value for 'x'"),
])
def test_render_refuses_what_cannot_be_said(template: str, value: object, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_template(template, {"x": value}, "en", Echo())
    assert str(caught.value) == message


def test_render_with_another_currency() -> None:
    assert render_template("{b:money}", {"b": 10}, "id", Echo(), currency="USD") == "money(10,USD)"


def test_a_record_node_belongs_to_the_survey_and_only_it_sets_the_comment() -> None:
    data = document()
    record = {"kind": "record", "prompt": {"id": "Silakan.", "en": "Go ahead."}, "next": "bye"}
    data["flows"]["survey"] = {"entry": "comment", "nodes": {
        "comment": record, "bye": {"kind": "hangup", "prompt": text("bye")}}}
    assert parse_flows(data).flows["survey"].nodes["comment"].kind == "record"
    data["flows"]["survey"]["nodes"]["comment"] = {**record, "max_s": 2, "silence_s": 0, "next": "nowhere"}
    assert problems(data) == ["flows.survey.nodes.comment.max_s: Input should be greater than or equal to 3",
                              "flows.survey.nodes.comment.silence_s: Input should be greater than or equal to 1"]
    data["flows"]["survey"]["nodes"]["comment"] = {**record, "next": "nowhere"}
    assert problems(data) == ["flows.survey.nodes.comment.next: unknown node 'nowhere'"]
    data["flows"]["survey"]["nodes"]["comment"] = record
    # Anywhere else its recording would be kept by nobody; and no other node may set what it sets.
    nodes(data)["menu"]["choices"][1]["next"] = "comment"
    nodes(data)["comment"] = {**record, "next": "agent"}
    nodes(data)["agent"]["attributes"] = {"comment": "anything"}
    assert problems(data) == [
        "flows.main.nodes.agent.attributes.comment: only a record node sets it (the id of what it recorded)",
        "flows.main.nodes.comment: a record node belongs to the 'survey' flow (the post-call survey keeps its "
        "recording; nothing else would)"]
