"""The open question ("How can I help you?") in the IVR session, without I/O: the caller's own words routed,
confirmed (the likeliest intent, then the second), asked again, or handed to the keypad menu; a key goes to the
menu at once; what the caller said besides the intent (an order number) is not asked again."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ivr import (
    CallerHangup,
    Dtmf,
    Finished,
    FlowCommand,
    FlowError,
    FlowEvent,
    IvrSession,
    Listen,
    NoInput,
    Play,
    PromptFinished,
    SpeechResult,
    Started,
    Transfer,
    parse_flows,
)
from cti.ivr._speak import SpeakVerbalizer
from tests.unit.test_ivr_flow_properties import Adapter


def both(words: str) -> dict[str, str]:
    return {"id": f"{words} (id)", "en": words}


def document() -> dict[str, Any]:
    return {
        "service_numbers": {"1500300": "care"},
        "flows": {"care": {"entry": "ask", "agent": "agent", "nodes": {
            "ask": {"kind": "open", "prompt": both("How can I help you?"), "steering": "support",
                    "fallback": "menu", "intents": {
                        "billing": {"next": "billing", "confirm": both("Your bill, is that right?")},
                        "technical": {"next": "technical", "confirm": both("A technical problem, right?")},
                        "order_status": {"next": "order", "confirm": both("An order, right?")}}},
            "menu": {"kind": "menu", "prompt": both("Bills 1, technical 2."), "choices": [
                {"intent": "billing", "dtmf": "1", "phrases": {"id": ["tagihan"], "en": ["bill"]},
                 "next": "billing"},
                {"intent": "technical", "dtmf": "2", "phrases": {"id": ["teknis"], "en": ["technical"]},
                 "next": "technical"}]},
            "order": {"kind": "collect", "prompt": both("Your order number?"), "into": "order_number",
                      "min_length": 4, "max_length": 10, "valid": "orders", "invalid": "agent"},
            "orders": {"kind": "transfer", "queue": "orders"},
            "billing": {"kind": "transfer", "queue": "billing"},
            "technical": {"kind": "transfer", "queue": "technical"},
            "agent": {"kind": "transfer"},
        }}},
    }


FLOWS = parse_flows(document())


def started(*, speech: bool = True) -> tuple[IvrSession, Listen]:
    s = IvrSession(FLOWS, "care", verbalizer=SpeakVerbalizer(), speech=speech)
    commands = s.handle(Started())
    listen = commands[-1]
    assert isinstance(listen, Listen)
    return s, listen


def heard(listen: Listen, intent: str | None, decision: str, *alternatives: str,
          entities: dict[str, str] | None = None) -> SpeechResult:
    return SpeechResult(intent, f"words for {intent}", 0.8, listen.listen_id, decision=decision,
                        alternatives=alternatives, entities=entities or {})


def listened(commands: list[FlowCommand]) -> Listen:
    listen = commands[-1]
    assert isinstance(listen, Listen), commands
    return listen


def transfer(commands: list[FlowCommand]) -> Transfer:
    assert isinstance(commands[-1], Finished), commands
    found = commands[-2]
    assert isinstance(found, Transfer)
    return found


def test_the_question_is_asked_for_free_speech_and_a_sure_answer_is_routed() -> None:
    s, listen = started()
    assert (listen.open, listen.grammar, listen.speech_enabled) == ("support", (), True)
    assert transfer(s.handle(heard(listen, "billing", "route"))).queue == "billing"


def test_an_unsure_answer_is_confirmed_by_key_or_word_and_a_no_asks_about_the_second_likeliest() -> None:
    s, listen = started()
    commands = s.handle(heard(listen, "billing", "confirm", "billing", "technical"))
    plays = [c.text for c in commands if isinstance(c, Play)]
    assert plays == ["Your bill, is that right? (id)"]
    confirm = listened(commands)
    assert (confirm.open, [(c.intent, c.dtmf) for c in confirm.grammar]) == (None, [("yes", "1"), ("no", "2")])
    assert transfer(s.handle(Dtmf("1"))).queue == "billing"
    # No to the first: asked about the second; yes by voice.
    s, listen = started()
    confirm = listened(s.handle(heard(listen, "billing", "confirm", "billing", "technical")))
    commands = s.handle(SpeechResult("no", "tidak", 0.9, confirm.listen_id))
    assert [c.text for c in commands if isinstance(c, Play)] == ["A technical problem, right? (id)"]
    second = listened(commands)
    assert transfer(s.handle(SpeechResult(None, "iya", 0.9, second.listen_id))).queue == "technical"


def test_answers_not_understood_are_asked_again_then_the_keypad_menu_takes_over() -> None:
    s, listen = started()
    commands = s.handle(heard(listen, None, "reprompt"))
    assert [c.text for c in commands if isinstance(c, Play)] == [
        "Maaf, pilihan Anda tidak kami kenali.", "How can I help you? (id)"]
    again = listened(commands)
    assert again.open == "support"
    # An intent this question does not route (the steering model knows more) is not understood either.
    commands = s.handle(heard(again, "sales", "route"))
    assert [c.text for c in commands if isinstance(c, Play)][-1] == "Bills 1, technical 2. (id)"
    assert listened(commands).open is None
    assert transfer(s.handle(Dtmf("2"))).queue == "technical"
    # No to both candidates counts as one failed attempt; silence is another.
    s, listen = started()
    confirm = listened(s.handle(heard(listen, "billing", "confirm", "billing")))
    commands = s.handle(Dtmf("2"))
    [question] = [c for c in commands if isinstance(c, Play)]
    assert question.text == "How can I help you? (id)"
    s.handle(PromptFinished(question.prompt_id))  # silence counts from the end of the question
    commands = s.handle(NoInput(listened(commands).listen_id))
    assert [c.text for c in commands if isinstance(c, Play)][-1] == "Bills 1, technical 2. (id)"
    assert confirm.open is None


def test_a_key_during_the_question_goes_to_the_keypad_menu_with_that_key() -> None:
    s, _ = started()
    assert transfer(s.handle(Dtmf("1"))).queue == "billing"
    path = [(e.node, e.event, e.intent) for e in s.path]
    assert path == [("ask", "enter", None), ("ask", "dtmf", "keypad"), ("menu", "enter", None),
                    ("menu", "dtmf", "billing"), ("billing", "enter", None)]


def test_without_speech_the_keypad_menu_is_asked_at_once() -> None:
    s = IvrSession(FLOWS, "care", verbalizer=SpeakVerbalizer(), speech=False)
    commands = s.handle(Started())
    assert [c.text for c in commands if isinstance(c, Play)] == ["Bills 1, technical 2. (id)"]


def test_an_order_number_said_in_the_sentence_is_not_asked_for_again() -> None:
    s, listen = started()
    commands = s.handle(heard(listen, "order_status", "route", entities={"order_number": "70015", "bogus": "x"}))
    assert transfer(commands).queue == "orders"
    assert [(e.node, e.event, e.value) for e in s.path if e.node == "order"] == [
        ("order", "enter", None), ("order", "known", "70015")]
    # Without it the caller is asked.
    s, listen = started()
    commands = s.handle(heard(listen, "order_status", "route"))
    assert [c.text for c in commands if isinstance(c, Play)] == ["Your order number? (id)"]
    assert [(e.node, e.event) for e in s.path if e.node == "order"] == [("order", "enter")]


def test_the_checks_want_a_menu_to_fall_back_to_and_nodes_that_exist() -> None:
    data = document()
    data["flows"]["care"]["nodes"]["ask"].update(fallback="billing")
    data["flows"]["care"]["nodes"]["ask"]["intents"]["billing"]["next"] = "nowhere"
    with pytest.raises(FlowError) as caught:
        parse_flows(data)
    assert list(caught.value.problems) == [
        "flows.care.nodes.ask.intents.billing.next: unknown node 'nowhere'",
        "flows.care.nodes.ask.fallback: 'billing' is not a menu (callers who cannot say it in their own words need "
        "the keypad)",
    ]


INTENTS = [None, "billing", "technical", "order_status", "sales", "yes", "no"]


@st.composite
def an_event(draw: st.DrawFn, adapter: Adapter) -> FlowEvent:
    kind = draw(st.sampled_from(["finished", "finished", "dtmf", "speech", "speech", "speech", "no_input", "hangup"]))
    if kind == "finished":
        outstanding = sorted(adapter.plays)
        return PromptFinished(draw(st.sampled_from(outstanding)) if outstanding else "nope")
    if kind == "dtmf":
        return Dtmf(draw(st.sampled_from("0123456789*#")))
    listen_id = adapter.listen.listen_id if adapter.listen is not None else None
    if kind == "speech":
        return SpeechResult(draw(st.sampled_from(INTENTS)), draw(st.sampled_from(["iya", "tidak", "cek tagihan", ""])),
                            draw(st.floats(0, 1)), draw(st.sampled_from([listen_id, None, 999])),
                            decision=draw(st.sampled_from([None, "route", "confirm", "reprompt", "bogus"])),
                            alternatives=tuple(draw(st.lists(st.sampled_from(INTENTS[1:]), max_size=3))),
                            entities=draw(st.sampled_from([{}, {"order_number": "70015"}, {"order_number": "x"}])))
    if kind == "no_input":
        return NoInput(draw(st.sampled_from([listen_id, None])))
    return CallerHangup()


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_random_events_at_the_open_question_never_break_the_invariants(data: st.DataObject, speech: bool) -> None:
    session = IvrSession(FLOWS, "care", verbalizer=SpeakVerbalizer(), speech=speech)
    adapter = Adapter(FLOWS)
    adapter.run(session, Started())
    for _ in range(data.draw(st.integers(0, 60))):
        adapter.run(session, data.draw(an_event(adapter)))
        if session.finished:
            break
    # However it went, a caller who keeps silent leaves: the guard and the fallback see to it.
    for _ in range(200):
        if session.finished:
            break
        if adapter.plays:
            adapter.run(session, PromptFinished(next(iter(adapter.plays))))
        else:
            adapter.run(session, NoInput())
    assert adapter.finished is not None and adapter.finished.outcome in (
        "transferred", "escalated", "abandoned_in_ivr")


def test_an_intent_that_switches_language_asks_again_in_the_other_one() -> None:
    data = document()
    data["flows"]["care"]["nodes"]["ask"]["intents"]["agent"] = {
        "next": "ask", "switch_language": True, "confirm": both("Another language, right?")}
    s = IvrSession(parse_flows(data), "care", verbalizer=SpeakVerbalizer())
    listen = listened(s.handle(Started()))
    assert listen.languages == ("id",)
    commands = s.handle(heard(listen, "agent", "route"))
    again = listened(commands)
    assert (again.open, again.languages) == ("support", ("en",))
    assert [c.text for c in commands if isinstance(c, Play)] == ["How can I help you?"]
    assert transfer(s.handle(heard(again, "billing", "route"))).attributes["language"] == "en"


def test_an_open_question_must_name_a_steering_model_that_has_its_intents() -> None:
    data = document()
    data["flows"]["care"]["nodes"]["ask"]["steering"] = "nowhere"
    with pytest.raises(FlowError, match="no steering model 'nowhere'"):
        parse_flows(data)
    data = document()
    data["flows"]["care"]["nodes"]["ask"]["intents"]["weather"] = {"next": "agent", "confirm": both("Weather?")}
    with pytest.raises(FlowError, match="the steering model 'support' has no such intent"):
        parse_flows(data)
