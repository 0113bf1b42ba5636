"""Scripted calls through the sample flows: the exact commands for each event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cti.ivr import (
    Caller,
    CallerHangup,
    Dtmf,
    Finished,
    FlowCommand,
    FlowError,
    GrammarChoice,
    Hangup,
    IvrSession,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    PathEntry,
    Play,
    PromptFinished,
    Record,
    Recorded,
    SetAttributes,
    SpeechResult,
    SpeechStarted,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
    Verification,
    Verify,
    VerifyResult,
    load_flows_file,
    parse_flows,
)
from cti.ivr._session import luhn_valid

SAMPLE = Path(__file__).resolve().parents[2] / "cti" / "ivr" / "flows" / "default.yaml"
FLOWS = load_flows_file(SAMPLE)

_DIGITS = {"id": "nol satu dua tiga empat lima enam tujuh delapan sembilan".split(),
           "en": "zero one two three four five six seven eight nine".split()}
_MONTHS = {"id": "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember".split(),
           "en": "January February March April May June July August September October November December".split()}


class Words:
    """A trivial verbalizer: enough words to see the language and the type chosen."""

    def digits(self, value: str, language: str) -> str:
        return " ".join(_DIGITS[language][int(d)] for d in value)

    def number(self, value: int | Decimal, language: str) -> str:
        return f"#{value}"

    def money(self, amount: Decimal, currency: str, language: str) -> str:
        if amount < 0:
            raise ValueError("negative amount")
        return f"{amount} {'rupiah' if currency == 'IDR' else currency}"

    def date(self, value: date, language: str) -> str:
        return f"{value.day} {_MONTHS[language][value.month - 1]} {value.year}"


def session(flow: str = "support", **caller: Any) -> IvrSession:
    speech = caller.pop("speech", True)
    return IvrSession(FLOWS, flow, verbalizer=Words(), caller=Caller(**caller), speech=speech)


def say(node: str, language: str, field: str = "prompt", flow: str = "support") -> str:
    text: dict[str, str] = getattr(FLOWS.flows[flow].nodes[node], field)
    return text[language]


def message(name: str, language: str) -> str:
    text: dict[str, str] = getattr(FLOWS.messages, name)
    return text[language]


LANGUAGE_GRAMMAR = (GrammarChoice("language_id", "1", ("indonesia", "bahasa indonesia", "bahasa")),
                    GrammarChoice("language_en", "2", ("english", "inggris", "bahasa inggris")))
MAIN_PHRASES = {
    "id": {"order_status": ("status pesanan", "cek pesanan", "pesanan saya"),
           "balance": ("saldo", "cek saldo", "tagihan"),
           "sales": ("penjualan", "beli", "produk baru"), "technical": ("gangguan", "masalah teknis", "internet mati"),
           "agent": ("operator", "bicara dengan agen", "agen", "layanan pelanggan"), "survey_opt_in": ()},
    "en": {"order_status": ("order status", "where is my order", "my order"),
           "balance": ("balance", "my bill", "account balance"), "sales": ("sales", "buy", "new product"),
           "technical": ("technical support", "technical problem", "internet is down"),
           "agent": ("agent", "representative", "customer service", "operator"), "survey_opt_in": ()},
}
MAIN_KEYS = {"order_status": "1", "balance": "2", "sales": "3", "technical": "4", "agent": "0", "survey_opt_in": "9"}


def main_listen(listen_id: int, language: str, *, speech: bool = True) -> Listen:
    grammar = tuple(GrammarChoice(intent, key, MAIN_PHRASES[language][intent] if speech else ())
                    for intent, key in MAIN_KEYS.items())
    return Listen(listen_id, "main", grammar, (language,), 5.0, speech, 1, None)


def collect_listen(listen_id: int, node: str, language: str, max_digits: int) -> Listen:
    return Listen(listen_id, node, (), (language,), 5.0, False, max_digits, "#")


def keys(s: IvrSession, digits: str) -> list[FlowCommand]:
    out: list[FlowCommand] = []
    for digit in digits:
        out += s.handle(Dtmf(digit))
    return out


def finished(commands: list[FlowCommand]) -> Finished:
    last = commands[-1]
    assert isinstance(last, Finished)
    return last


def to_main(s: IvrSession) -> None:
    """A caller of unknown language picks Indonesian and waits through the welcome."""
    s.handle(Started())
    s.handle(Dtmf("1"))
    s.handle(PromptFinished("welcome.prompt#3"))


def test_a_keypad_call_from_the_language_choice_to_the_technical_team() -> None:
    s = session("support")
    assert s.handle(Started()) == [
        Play("language.prompt.id#1", "Untuk Bahasa Indonesia tekan 1 atau ucapkan Indonesia.", "id", True),
        Play("language.prompt.en#2", "For English press 2 or say English.", "en", True),
        Listen(1, "language", LANGUAGE_GRAMMAR, ("id", "en"), 5.0, True, 1, None),
    ]
    assert s.handle(PromptFinished("language.prompt.id#1")) == []
    assert s.handle(PromptFinished("language.prompt.en#2")) == []
    assert s.handle(Dtmf("1")) == [
        StopListening(), SetAttributes({"language": "id"}),
        Play("welcome.prompt#3", "Selamat datang di layanan pelanggan kami.", "id", True),
    ]
    # The support line asks in the caller's own words first; a key there is the keypad menu's, at once.
    assert s.handle(PromptFinished("welcome.prompt#3")) == [
        Play("ask.prompt#4", say("ask", "id"), "id", True),
        Listen(2, "ask", (), ("id",), 5.0, True, 1, None, open="support")]
    technical = tuple(GrammarChoice(intent, key, phrases) for intent, key, phrases in (
        ("internet", "1", ("internet",)), ("television", "2", ("televisi", "tv")),
        ("mobile", "3", ("seluler", "ponsel"))))
    assert s.handle(Dtmf("4")) == [
        StopPlayback(), StopListening(),
        Play("technical.prompt#5", say("technical", "id"), "id", True),
        Listen(3, "technical", technical, ("id",), 5.0, True, 1, None),
    ]
    attributes = {"product": "internet", "problem_type": "technical", "language": "id"}
    end = s.handle(Dtmf("1"))
    assert end == [
        StopPlayback(), StopListening(),
        SetAttributes({"product": "internet", "problem_type": "technical"}),
        Transfer(attributes, None, 5,
                 Play("to_support.transfer#6", "Mohon tunggu, Anda akan dihubungkan dengan tim teknis kami.", "id",
                      False), "requested"),
        Finished("transferred", "requested", "support", "id", attributes, (
            PathEntry("language", "enter"), PathEntry("language", "dtmf", "1", "language_id"),
            PathEntry("welcome", "enter"), PathEntry("ask", "enter"), PathEntry("ask", "dtmf", "4", "keypad"),
            PathEntry("main", "enter"), PathEntry("main", "dtmf", "4", "technical"),
            PathEntry("technical", "enter"), PathEntry("technical", "dtmf", "1", "internet"),
            PathEntry("problem_internet", "enter"), PathEntry("to_support", "enter"),
        ), False),
    ]
    assert finished(end).nodes == ("language", "welcome", "ask", "main", "technical", "problem_internet",
                                   "to_support")
    assert s.finished and s.handle(Dtmf("1")) == [] and s.handle(CallerHangup()) == []


def test_a_spoken_call_in_english_is_verified_by_pin_then_served_the_balance_and_hangs_up() -> None:
    s = session("sales", language="en")
    assert s.handle(Started()) == [Play("welcome.prompt#1", "Welcome to our sales line.", "en", True)]
    assert s.handle(PromptFinished("welcome.prompt#1")) == [
        Play("main.prompt#2", say("main", "en"), "en", True), main_listen(1, "en")]
    assert s.handle(SpeechStarted()) == [StopPlayback()]
    assert s.handle(SpeechStarted()) == []  # nothing left to stop
    assert s.handle(SpeechResult(None, "My bill!", 0.81, listen_id=1)) == [
        StopListening(),
        Play("verify_balance.claim_prompt#3", "Please enter your eight digit customer number.", "en", True),
        collect_listen(2, "verify_balance", "en", 8),
    ]
    assert keys(s, "1234567") == [StopPlayback()]
    assert s.handle(Dtmf("4")) == [  # 8 keys: no # needed
        Play("verify_balance.prompt#4", say("verify_balance", "en", flow="sales"), "en", True),
        collect_listen(3, "verify_balance", "en", 8)]
    assert keys(s, "246") == [StopPlayback()]
    verify = s.handle(Dtmf("8")) + s.handle(Dtmf("#"))
    assert verify == [StopListening(), Verify("12345674", "2468")]
    assert "2468" not in repr(verify)
    assert s.handle(VerifyResult(True, "pin")) == [
        SetAttributes({"customer_id": "12345674"}), Lookup("balance", "12345674", "12345674")]
    data = {"balance": 1250000, "due_date": date(2026, 12, 1), "customer_number": "12345674"}
    assert s.handle(LookupResult("balance", True, data)) == [
        Play("balance_lookup.found#5", "Your balance is 1250000 rupiah, due on 1 December 2026.", "en", False,
             personal=True)]  # the caller's data: rendered for them only, never cached
    assert s.handle(PromptFinished("balance_lookup.found#5")) == [
        Play("anything_else.prompt#6", say("anything_else", "en", flow="sales"), "en", True),
        Listen(4, "anything_else", (GrammarChoice("yes", "1", ("yes", "yes please")),
                                    GrammarChoice("no", "2", ("no", "no thanks"))), ("en",), 5.0, True, 1, None),
    ]
    end = s.handle(SpeechResult("no", "no", 0.93))
    assert end[:3] == [StopPlayback(), StopListening(),
                       Hangup(Play("goodbye.goodbye#7", "Thank you for calling. Goodbye.", "en", False))]
    done = finished(end)
    assert (done.outcome, done.reason, done.self_served) == ("completed", "hangup", True)
    assert done.attributes == {"customer_id": "12345674", "language": "en"}
    assert done.verification == Verification("12345674", "pin", None, 0, False)
    assert done.path == (
        PathEntry("language", "enter"), PathEntry("language", "language_known", "en"), PathEntry("welcome", "enter"),
        PathEntry("main", "enter"), PathEntry("main", "speech", "My bill!", "balance", 0.81),
        PathEntry("verify_balance", "enter"), PathEntry("verify_balance", "claimed", "12345674"),
        PathEntry("verify_balance", "keyed", "<4 keys>"), PathEntry("verify_balance", "verified", "pin"),
        PathEntry("balance_lookup", "enter"), PathEntry("balance_lookup", "found"),
        PathEntry("anything_else", "enter"), PathEntry("anything_else", "speech", "no", "no", 0.93),
        PathEntry("goodbye", "enter"),
    )


def test_no_input_and_no_match_reprompt_twice_then_keys_only_then_the_agent() -> None:
    s = session("sales", language="en")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    assert s.handle(NoInput(1)) == []  # the main prompt is still playing: the timer cannot have run
    assert s.handle(PromptFinished("main.prompt#2")) == []
    assert s.handle(NoInput(1)) == [
        Play("main.no_input#3", "Sorry, we did not hear you.", "en", True),
        Play("main.prompt#4", say("main", "en"), "en", True), main_listen(2, "en")]
    s.handle(PromptFinished("main.no_input#3"))
    s.handle(PromptFinished("main.prompt#4"))
    assert s.handle(NoInput(1)) == []  # a timeout of the replaced Listen
    assert s.handle(SpeechResult(None, "pizza please", 0.9)) == [
        Play("main.no_match#5", "Sorry, we did not understand that.", "en", True),
        Play("main.prompt#6", say("main", "en"), "en", True), main_listen(3, "en")]
    # The right intent, but below the confidence threshold: a no-match too, the third: keys only now.
    assert s.handle(SpeechResult("balance", "balance", 0.3)) == [
        StopPlayback(),
        Play("main.dtmf_only#7", "Please use your telephone keypad.", "en", True),
        Play("main.dtmf_prompt#8", say("main", "en", "dtmf_prompt"), "en", True),
        main_listen(4, "en", speech=False)]
    assert s.handle(SpeechResult("agent", "agent", 0.99)) == []  # the recognizer is off
    end = s.handle(Dtmf("8"))
    assert end[:3] == [StopPlayback(), StopListening(), Transfer(
        {"language": "en"}, None, None,
        Play("main.transfer#9", "Please hold while we connect you to an agent.", "en", False), "no_match")]
    done = finished(end)
    assert (done.outcome, done.reason) == ("escalated", "no_match")
    assert [(e.event, e.value) for e in done.path if e.node == "main"] == [
        ("enter", None), ("no_input", None), ("no_match", "pizza please"), ("low_confidence", "balance"),
        ("dtmf_only", None), ("no_match", "8"), ("failed", "no_match"), ("escalated", "no_match")]


def test_without_speech_a_menu_is_keys_only_from_the_start_and_has_no_fallback_step() -> None:
    s = session("support", language="id", speech=False)
    s.handle(Started())
    assert s.handle(PromptFinished("welcome.prompt#1")) == [
        Play("main.dtmf_prompt#2", say("main", "id", "dtmf_prompt"), "id", True), main_listen(1, "id", speech=False)]
    assert s.handle(Dtmf("7")) == [
        StopPlayback(), Play("main.no_match#3", message("no_match", "id"), "id", True),
        Play("main.dtmf_prompt#4", say("main", "id", "dtmf_prompt"), "id", True), main_listen(2, "id", speech=False)]
    s.handle(Dtmf("8"))
    end = s.handle(Dtmf("7"))
    assert isinstance(end[-2], Transfer) and end[-2].reason == "no_match"
    assert finished(end).outcome == "escalated"


def test_an_invalid_order_number_is_asked_again_then_goes_to_an_agent() -> None:
    s = session("support", customer_id="12345674")  # calling from one of their phones: verified at once
    to_main(s)
    assert s.handle(Dtmf("1")) == [
        StopPlayback(), StopListening(),
        Play("ask_order.prompt#5", "Silakan masukkan nomor pesanan Anda, diakhiri dengan tanda pagar.", "id", True),
        collect_listen(3, "ask_order", "id", 12)]
    assert keys(s, "123") == [StopPlayback()]
    assert s.handle(Dtmf("#")) == [  # too short
        Play("ask_order.invalid#6", "Maaf, nomor yang Anda masukkan tidak valid.", "id", True),
        Play("ask_order.prompt#7", say("ask_order", "id"), "id", True), collect_listen(4, "ask_order", "id", 12)]
    assert s.handle(Dtmf("*")) == [  # a key that is no digit
        StopPlayback(), Play("ask_order.invalid#8", message("invalid", "id"), "id", True),
        Play("ask_order.prompt#9", say("ask_order", "id"), "id", True), collect_listen(5, "ask_order", "id", 12)]
    end = keys(s, "01234567#")  # the pattern wants no leading zero; the third failure
    assert end == [
        StopPlayback(), StopListening(), SetAttributes({"problem_type": "order_status"}),
        Transfer({"customer_id": "12345674", "problem_type": "order_status", "language": "id"}, None, None,
                 Play("agent.transfer#10", "Mohon tunggu, Anda akan dihubungkan dengan agen kami.", "id", False),
                 "requested"),
        finished(end),
    ]
    assert [(e.event, e.value) for e in finished(end).path if e.node in ("verify_order", "ask_order")] == [
        ("enter", None), ("verified", "caller_id"),
        ("enter", None), ("invalid", "123"), ("invalid", "*"), ("invalid", "01234567"), ("failed", "invalid")]
    assert finished(end).verification == Verification("12345674", "caller_id")


def test_a_pause_after_enough_digits_completes_the_entry_and_a_silent_caller_is_asked_again() -> None:
    s = session("support", language="en", customer_id="12345674")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    s.handle(Dtmf("1"))  # order status
    s.handle(PromptFinished("ask_order.prompt#3"))
    assert s.handle(NoInput(2)) == [
        Play("ask_order.no_input#4", "Sorry, we did not hear you.", "en", True),
        Play("ask_order.prompt#5", say("ask_order", "en"), "en", True), collect_listen(3, "ask_order", "en", 12)]
    assert keys(s, "123456789") == [StopPlayback()]
    assert s.handle(NoInput(3)) == [StopListening(), Lookup("order_status", "123456789", "12345674")]


def start_order_lookup(language: str = "id") -> IvrSession:
    """A caller verified by the number they call from asks about an order: of theirs only."""
    s = session("support", language=language, customer_id="12345674")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    commands = keys(s, "1") + keys(s, "20261122#")
    assert commands[-1] == Lookup("order_status", "20261122", "12345674")
    return s


@pytest.mark.parametrize(("data", "spoken"), [
    ({"status": "shipped", "shipped_on": "2026-11-20"},
     "Pesanan dua nol dua enam satu satu dua dua sudah dikirim. Tanggal pengiriman 20 November 2026."),
    ({"status": "paid", "shipped_on": None},
     "Pesanan dua nol dua enam satu satu dua dua sudah dibayar."),
    ({"status": "on_hold"},  # a status with no label is said as it is
     "Pesanan dua nol dua enam satu satu dua dua on_hold."),
])
def test_an_order_found_is_read_back_with_the_first_template_that_has_every_value(
        data: dict[str, Any], spoken: str) -> None:
    s = start_order_lookup()
    assert s.handle(LookupResult("order_status", True, data)) == [
        Play("order_lookup.found#4", spoken, "id", False, personal=True)]
    assert s.handle(PromptFinished("order_lookup.found#4")) == [
        Play("anything_else.prompt#5", say("anything_else", "id"), "id", True),
        Listen(3, "anything_else", (GrammarChoice("yes", "1", ("ya", "iya")),
                                    GrammarChoice("no", "2", ("tidak", "tidak ada"))), ("id",), 5.0, True, 1, None)]


def test_an_order_not_found_and_a_failed_lookup() -> None:
    s = start_order_lookup("en")
    assert s.handle(LookupResult("balance", True, {})) == []  # not the query asked
    assert s.handle(LookupResult("order_status", False)) == [
        Play("order_lookup.not_found#4", "Sorry, we could not find order two zero two six one one two two.", "en",
             False, personal=True)]
    s = start_order_lookup("en")
    assert s.handle(LookupResult("order_status", False, error="timeout")) == [
        Play("order_lookup.error#4", "Sorry, we cannot check orders right now.", "en", False, personal=True)]
    end = s.handle(PromptFinished("order_lookup.error#4"))
    assert end[0] == SetAttributes({"problem_type": "order_status"})
    assert finished(end).path[-4:] == (
        PathEntry("order_lookup", "enter"), PathEntry("order_lookup", "error", "timeout"),
        PathEntry("order_agent", "enter"), PathEntry("agent", "enter"))
    assert finished(end).self_served is False


def test_an_answer_that_cannot_be_said_takes_the_error_branch() -> None:
    s = start_order_lookup("en")
    assert s.handle(LookupResult("order_status", True, {"shipped_on": "soon"})) == [
        Play("order_lookup.error#4", "Sorry, we cannot check orders right now.", "en", False, personal=True)]
    assert s.path[-3:] == (PathEntry("order_lookup", "enter"), PathEntry("order_lookup", "found"),
                           PathEntry("order_lookup", "unspeakable"))


def test_keys_pressed_during_an_answer_are_kept_for_the_next_menu() -> None:
    s = start_order_lookup("en")
    s.handle(LookupResult("order_status", True, {"status": "delivered"}))
    assert s.handle(Dtmf("2")) == []  # the answer is heard to its end
    end = s.handle(PromptFinished("order_lookup.found#4"))
    assert end == [Hangup(Play("goodbye.goodbye#5", "Thank you for calling. Goodbye.", "en", False)), finished(end)]
    assert finished(end).self_served is True
    assert finished(end).path[-3:] == (
        PathEntry("anything_else", "enter"), PathEntry("anything_else", "dtmf", "2", "no"),
        PathEntry("goodbye", "enter"))


def test_a_key_during_the_welcome_skips_it_and_chooses_in_the_main_menu() -> None:
    s = session("support", language="id")
    s.handle(Started())
    assert s.handle(Dtmf("2")) == [
        StopPlayback(),
        Play("verify_balance.claim_prompt#2", say("verify_balance", "id", "claim_prompt"), "id", True),
        collect_listen(1, "verify_balance", "id", 8)]


def test_a_hang_up_mid_prompt_ends_cleanly() -> None:
    s = session("support")
    s.handle(Started())
    assert s.handle(CallerHangup()) == [Finished(
        "abandoned_in_ivr", "caller_hangup", "support", "id", {"language": "id"},
        (PathEntry("language", "enter"), PathEntry("language", "caller_hangup")), False, Verification())]
    assert s.handle(PromptFinished("language.prompt.id#1")) == []


def test_a_hang_up_before_the_start() -> None:
    s = session("support")
    assert s.handle(Dtmf("1")) == [] and s.handle(NoInput()) == []
    assert finished(s.handle(CallerHangup())).outcome == "abandoned_in_ivr"


def test_the_language_by_voice_and_the_default_after_failures() -> None:
    s = session("sales")
    s.handle(Started())
    assert s.handle(SpeechResult(None, "Bahasa Inggris", 0.7)) == [
        StopPlayback(), StopListening(), SetAttributes({"language": "en"}),
        Play("welcome.prompt#3", "Welcome to our sales line.", "en", True)]
    s = session("sales")
    s.handle(Started())
    assert s.handle(SpeechResult("language_en", "ingris", 0.7))[2] == SetAttributes({"language": "en"})
    s = session("sales")
    s.handle(Started())
    s.handle(Dtmf("5"))
    s.handle(Dtmf("6"))
    assert s.handle(Dtmf("7")) == [
        StopPlayback(), StopListening(), SetAttributes({"language": "id"}),
        Play("welcome.prompt#7", "Selamat datang di layanan penjualan kami.", "id", True)]
    assert [(e.event, e.value) for e in s.path if e.node == "language"] == [
        ("enter", None), ("no_match", "5"), ("no_match", "6"), ("no_match", "7"), ("language_default", "id")]


def test_a_stored_language_skips_the_choice_and_follows_the_call() -> None:
    s = session("sales", language="en", customer_id="C000042", attributes={"value_tier": "gold"})
    assert s.handle(Started()) == [Play("welcome.prompt#1", "Welcome to our sales line.", "en", True)]
    assert s.language == "en"
    s.handle(PromptFinished("welcome.prompt#1"))
    s.handle(Dtmf("3"))  # sales
    end = s.handle(Dtmf("2"))  # television
    transfer = end[-2]
    assert isinstance(transfer, Transfer)
    assert transfer.attributes == {"value_tier": "gold", "customer_id": "C000042", "product": "television",
                                   "problem_type": "sales", "language": "en"}
    assert transfer.prompt == Play("to_sales.transfer#4", "Please hold while we connect you to our sales team.", "en",
                                   False)


def test_an_unsupported_stored_language_asks() -> None:
    s = session("sales", language="fr")
    assert len(s.handle(Started())) == 3


def small(**settings: Any) -> dict[str, Any]:
    prompt = {"id": "Menu.", "en": "Menu."}
    return {
        "settings": settings,
        "service_numbers": {"1": "loop"},
        "flows": {"loop": {"entry": "menu", "nodes": {
            "menu": {"kind": "menu", "prompt": prompt, "speech": False, "barge_in": False, "choices": [
                {"intent": "again", "dtmf": "1", "next": "again"},
                {"intent": "bye", "dtmf": "2", "next": "bye"},
                {"intent": "saldo", "dtmf": "3", "next": "who"}]},
            "again": {"kind": "play", "prompt": {"id": "Lagi.", "en": "Again."}, "next": "menu"},
            "bye": {"kind": "hangup"},
            "who": {"kind": "verify", "prompt": {"id": "PIN.", "en": "PIN."}, "verified": "lookup", "failed": "bye"},
            "lookup": {"kind": "lookup", "query": "balance", "key": "customer_id", "found": {"next": "bye"},
                       "not_found": {"next": "bye"}, "error": {"say": prompt, "next": "bye"}},
        }}},
    }


def test_a_prompt_without_barge_in_is_heard_before_the_listen_and_early_keys_wait() -> None:
    s = IvrSession(parse_flows(small()), "loop", verbalizer=Words())
    assert s.handle(Started()) == [Play("menu.prompt#1", "Menu.", "id", False)]
    assert s.handle(SpeechStarted()) == []
    assert s.handle(Dtmf("1")) == []
    assert s.handle(PromptFinished("menu.prompt#1")) == [Play("again.prompt#2", "Lagi.", "id", False)]
    assert s.handle(PromptFinished("again.prompt#2")) == [Play("menu.prompt#3", "Menu.", "id", False)]
    assert s.handle(PromptFinished("menu.prompt#3")) == [
        Listen(1, "menu", (GrammarChoice("again", "1", ()), GrammarChoice("bye", "2", ()),
                           GrammarChoice("saldo", "3", ())), ("id",), 5.0, False, 1, None)]
    assert s.handle(NoInput(1)) == [StopListening(), Play("menu.no_input#4", message("no_input", "id"), "id", False),
                                    Play("menu.prompt#5", "Menu.", "id", False)]


def test_the_step_guard_sends_a_looping_caller_to_an_agent() -> None:
    s = IvrSession(parse_flows(small(max_steps=5)), "loop", verbalizer=Words())
    s.handle(Started())  # step 1
    s.handle(Dtmf("1"))
    s.handle(PromptFinished("menu.prompt#1"))  # again: step 2
    s.handle(PromptFinished("again.prompt#2"))  # menu: step 3
    s.handle(Dtmf("1"))
    s.handle(PromptFinished("menu.prompt#3"))  # again: step 4
    s.handle(PromptFinished("again.prompt#4"))  # menu: step 5
    s.handle(Dtmf("1"))
    end = s.handle(PromptFinished("menu.prompt#5"))  # again would be step 6: over the guard
    transfer = Play("menu.transfer#6", message("transfer", "id"), "id", False)
    assert end == [Transfer({"language": "id"}, None, None, transfer, "max_steps"), finished(end)]
    assert (finished(end).outcome, finished(end).reason) == ("escalated", "max_steps")


def test_the_duration_guard() -> None:
    s = session("support")
    s.handle(Started(), elapsed_s=0.5)
    assert s.handle(Dtmf("1"), elapsed_s=599.0)[0] == StopPlayback()
    end = s.handle(Dtmf("1"), elapsed_s=600.0)  # during the welcome
    assert end == [StopPlayback(), Transfer({"language": "id"}, None, None,
                                            Play("welcome.transfer#4", message("transfer", "id"), "id", False),
                                            "max_duration"), finished(end)]


def test_a_lookup_without_its_key_takes_the_error_branch_at_once() -> None:
    data = small()
    data["flows"]["loop"]["nodes"]["menu"]["choices"][2]["next"] = "lookup"
    data["flows"]["loop"]["nodes"]["lookup"]["query"] = "order_status"
    data["flows"]["loop"]["nodes"]["lookup"]["key"] = "order_number"
    data["flows"]["loop"]["nodes"]["menu"]["choices"][1]["next"] = "ask"
    data["flows"]["loop"]["nodes"]["ask"] = {"kind": "collect", "prompt": {"id": "No.", "en": "No."},
                                             "into": "order_number", "valid": "bye", "invalid": "bye"}
    with pytest.raises(FlowError):  # a personal lookup outside verification: refused (below, the session too)
        parse_flows(data)
    s = IvrSession(parse_flows(small()), "loop", verbalizer=Words(), caller=Caller(customer_id="C7"))
    s.handle(Started())
    s.handle(Dtmf("3"))
    assert s.handle(PromptFinished("menu.prompt#1")) == [Lookup("balance", "C7", "C7")]
    flows = parse_flows(small())
    lookup = flows.flows["loop"].nodes["lookup"]
    s = IvrSession(flows.model_copy(update={"flows": {"loop": flows.flows["loop"].model_copy(update={
        "entry": "lookup", "nodes": {**flows.flows["loop"].nodes, "lookup": lookup}})}}), "loop", verbalizer=Words())
    assert s.handle(Started()) == [Play("lookup.error#1", "Menu.", "id", False, personal=True)]
    assert s.path[-1] == PathEntry("lookup", "error", "no customer_id")


def test_garbage_events_are_ignored() -> None:
    s = session("support", language="id")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    assert s.handle(Started()) == []
    assert s.handle(Dtmf("x")) == [] and s.handle(Dtmf("12")) == [] and s.handle(Dtmf("")) == []
    assert s.handle(PromptFinished("nope#99")) == []
    assert s.handle(LookupResult("order_status", True, {})) == []
    assert s.handle(SpeechResult("balance", "saldo", 0.9, listen_id=7)) == []  # an older Listen's result
    assert s.handle(SpeechResult(None, "", float("nan")))[:2] == [
        StopPlayback(), Play("ask.no_match#3", message("no_match", "id"), "id", True)]


def test_a_sensitive_entry_is_masked_in_the_path() -> None:
    data = small()
    nodes = data["flows"]["loop"]["nodes"]
    nodes["menu"]["choices"][1]["next"] = "pin"
    nodes["pin"] = {"kind": "collect", "prompt": {"id": "PIN.", "en": "PIN."}, "into": "pin", "min_length": 4,
                    "max_length": 4, "sensitive": True, "valid": "bye", "invalid": "bye"}
    s = IvrSession(parse_flows(data), "loop", verbalizer=Words())
    s.handle(Started())
    s.handle(PromptFinished("menu.prompt#1"))
    s.handle(Dtmf("2"))
    end = keys(s, "1234")
    assert PathEntry("pin", "valid", "<4 keys>") in finished(end).path


def test_the_finished_record_as_json() -> None:
    s = session("support", language="en")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    done = finished(s.handle(SpeechResult("agent", "can i talk to a person", 0.875, decision="route")))
    assert done.as_json() == {
        "outcome": "transferred", "reason": "requested", "flow": "support", "language": "en",
        "attributes": {"language": "en"}, "self_served": False,
        "verification": {"verified": False, "method": "none", "customer_id": None, "claimed": None, "failures": 0,
                         "locked": False},
        "path": [{"node": "language", "event": "enter"}, {"node": "language", "event": "language_known", "value": "en"},
                 {"node": "welcome", "event": "enter"}, {"node": "ask", "event": "enter"},
                 {"node": "ask", "event": "speech", "value": "can i talk to a person", "intent": "agent",
                  "confidence": 0.875},
                 {"node": "agent", "event": "enter"}],
    }


def test_an_unknown_flow_is_refused() -> None:
    with pytest.raises(ValueError, match="no flow 'nope'"):
        session("nope")


def test_luhn() -> None:
    assert [luhn_valid(n) for n in ("12345674", "79927398", "12345678", "", "1234a674")] == [
        True, True, False, False, False]


def start_balance_lookup() -> IvrSession:
    s = session("support", language="en", customer_id="79927398")
    s.handle(Started())
    s.handle(PromptFinished("welcome.prompt#1"))
    assert s.handle(Dtmf("2"))[-1] == Lookup("balance", "79927398", "79927398")
    return s


def test_a_balance_in_the_currency_the_lookup_reports() -> None:
    s = start_balance_lookup()
    assert s.handle(LookupResult("balance", True, {"balance": Decimal("10.5"), "currency": "USD"})) == [
        Play("balance_lookup.found#3", "Your balance is 10.5 USD.", "en", False, personal=True)]


def test_a_value_the_verbalizer_refuses_takes_the_error_branch() -> None:
    s = start_balance_lookup()
    assert s.handle(LookupResult("balance", True, {"balance": -5})) == [
        Play("balance_lookup.error#3", "Sorry, we cannot check balances right now.", "en", False,
             personal=True)]
    end = s.handle(PromptFinished("balance_lookup.error#3"))
    assert end[0] == SetAttributes({"problem_type": "billing"})
    assert finished(end).self_served is False


def to_the_comment(s: IvrSession, commands: list[FlowCommand]) -> Record:
    """The comment's prompt is heard to its end (no barge-in), then the recording starts."""
    prompt = commands[-1]
    assert isinstance(prompt, Play) and prompt.prompt_id.startswith("comment.prompt#") and not prompt.barge_in
    record = s.handle(PromptFinished(prompt.prompt_id))
    assert len(record) == 1 and isinstance(record[0], Record)
    assert (record[0].max_s, record[0].silence_s, record[0].terminator, record[0].beep) == (30, 3, "#", True)
    return record[0]


def test_the_post_call_survey_flow_takes_a_rating_and_a_resolution_by_keys_or_words() -> None:
    s = session("survey", language="en")
    s.handle(Started())
    record = to_the_comment(s, keys(s, "41"))
    end = finished(s.handle(Recorded(record.record_id, 3.0, spoken=False)))  # silence: no comment
    assert (end.outcome, end.attributes["satisfaction"], end.attributes["solved"]) == ("completed", "4", "yes")
    assert "comment" not in end.attributes
    spoken = session("survey", language="id")
    spoken.handle(Started())
    spoken.handle(SpeechResult("rated_2", "dua", 0.9, listen_id=1))
    record = to_the_comment(spoken, spoken.handle(SpeechResult("solved_no", "tidak", 0.9, listen_id=2)))
    end = finished(spoken.handle(Recorded(record.record_id, error="failed")))
    assert (end.language, end.attributes["satisfaction"], end.attributes["solved"]) == ("id", "2", "no")
    assert [e.event for e in end.path if e.node == "comment"] == ["enter", "error"]


def test_a_spoken_comment_is_kept_by_its_record_id_and_keys_do_not_reach_the_flow() -> None:
    s = session("survey", language="en")
    s.handle(Started())
    commands = keys(s, "52")
    assert s.handle(Dtmf("#")) == []  # during the prompt: the recording's key, not type-ahead
    record = to_the_comment(s, commands)
    assert s.handle(Dtmf("1")) == [] and s.handle(Recorded("comment#999", 5.0, spoken=True)) == []
    commands = s.handle(Recorded(record.record_id, 7.0, spoken=True))
    assert commands[0] == SetAttributes({"comment": record.record_id})
    assert isinstance(commands[-2], Hangup)
    end = finished(commands)
    assert (end.attributes["comment"], end.attributes["satisfaction"]) == (record.record_id, "5")
    assert [(e.event, e.value) for e in end.path if e.node == "comment"] == [("enter", None), ("recorded", "7 s")]


def test_a_caller_who_hangs_up_while_commenting_keeps_the_comment() -> None:
    s = session("survey", language="en")
    s.handle(Started())
    record = to_the_comment(s, keys(s, "31"))
    end = finished(s.handle(CallerHangup()))
    assert (end.outcome, end.attributes["comment"], end.attributes["solved"]) == (
        "abandoned_in_ivr", record.record_id, "yes")
    # Before the recording started there is nothing to keep.
    early = session("survey", language="en")
    early.handle(Started())
    keys(early, "31")
    assert "comment" not in finished(early.handle(CallerHangup())).attributes


def test_a_caller_who_hangs_up_in_the_survey_leaves_what_they_answered() -> None:
    s = session("survey", language="id")
    s.handle(Started())
    s.handle(Dtmf("5"))
    end = finished(s.handle(CallerHangup()))
    assert (end.outcome, end.attributes.get("satisfaction"), end.attributes.get("solved")) == (
        "abandoned_in_ivr", "5", None)


def test_a_caller_asks_for_the_survey_by_key_and_it_travels_with_the_transfer() -> None:
    s = session("support", language="en", customer_id="10000001")
    s.handle(Started())
    assert s.handle(Dtmf("9"))[-2:] == [
        SetAttributes({"survey": "yes"}),
        Play("survey_noted.prompt#2", "Thank you. After this call, we will ask you to rate it.", "en", True)]
    s.handle(PromptFinished("survey_noted.prompt#2"))
    transfer = next(c for c in s.handle(Dtmf("0")) if isinstance(c, Transfer))
    assert transfer.attributes["survey"] == "yes"
    # The menu's grammar has no phrase for it: nine is a key, never a word the recognizer could mistake.
    other = session("sales", language="en")  # its main menu comes first
    other.handle(Started())
    listen = next(c for c in other.handle(PromptFinished("welcome.prompt#1")) if isinstance(c, Listen))
    assert [choice.phrases for choice in listen.grammar if choice.intent == "survey_opt_in"] == [()]
