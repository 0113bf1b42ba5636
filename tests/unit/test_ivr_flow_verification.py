"""Callers verified before the IVR says anything personal: by the number they call from, by a PIN or by their date
of birth; a few failures end self-service for the call, and a number keyed but never proved is only a claim."""

from __future__ import annotations

from typing import Any

from cti.ivr import (
    Caller,
    Dtmf,
    FlowCommand,
    IvrSession,
    Listen,
    Lookup,
    LookupResult,
    NoInput,
    PathEntry,
    Play,
    PromptFinished,
    SetAttributes,
    Started,
    StopListening,
    StopPlayback,
    Transfer,
    Verification,
    Verify,
    VerifyResult,
    parse_flows,
)
from tests.unit.test_ivr_flow_session import FLOWS, Words, collect_listen, finished, keys, message, say, session


def to_balance(s: IvrSession) -> list[FlowCommand]:
    """An English caller goes past the welcome and asks for their balance (key 2)."""
    s.handle(PromptFinished("welcome.prompt#1"))
    return s.handle(Dtmf("2"))


def claim(s: IvrSession, number: str = "10000001") -> None:
    """The caller keys a customer number (eight keys: no # needed); the PIN question follows."""
    commands = keys(s, number)
    assert isinstance(commands[-1], Listen) and commands[-1].max_digits == 8, commands


def started(**caller: Any) -> IvrSession:
    s = session("support", language="en", **caller)
    assert s.handle(Started())
    return s


def test_a_caller_from_one_of_the_customers_phones_is_verified_without_a_question() -> None:
    s = started(customer_id="10000001")
    assert to_balance(s) == [StopPlayback(), StopListening(), Lookup("balance", "10000001", "10000001")]
    assert s.path[-3:] == (PathEntry("verify_balance", "enter"), PathEntry("verify_balance", "verified", "caller_id"),
                           PathEntry("balance_lookup", "enter"))
    assert s.verification == Verification("10000001", "caller_id")


def test_a_caller_from_another_number_keys_their_customer_number_then_their_pin() -> None:
    s = started()
    assert to_balance(s) == [
        StopPlayback(), StopListening(),
        Play("verify_balance.claim_prompt#3", "Please enter your eight digit customer number.", "en", True),
        collect_listen(2, "verify_balance", "en", 8)]
    assert keys(s, "10000001") == [
        StopPlayback(), Play("verify_balance.prompt#4", say("verify_balance", "en"), "en", True),
        collect_listen(3, "verify_balance", "en", 8)]
    assert keys(s, "2468#") == [StopPlayback(), StopListening(), Verify("10000001", "2468")]
    assert s.handle(Dtmf("5")) == []  # kept while the check runs
    assert s.handle(VerifyResult(True, "pin")) == [
        SetAttributes({"customer_id": "10000001"}), Lookup("balance", "10000001", "10000001")]
    assert s.verification == Verification("10000001", "pin")
    assert [(e.event, e.value) for e in s.path if e.node == "verify_balance"] == [
        ("enter", None), ("claimed", "10000001"), ("keyed", "<4 keys>"), ("verified", "pin")]


def test_or_their_date_of_birth_in_eight_keys() -> None:
    s = started()
    to_balance(s)
    claim(s)
    assert keys(s, "17081975") == [StopPlayback(), StopListening(), Verify("10000001", "17081975")]
    assert s.handle(VerifyResult(True, "dob"))[0] == SetAttributes({"customer_id": "10000001"})
    assert s.verification == Verification("10000001", "dob")
    assert PathEntry("verify_balance", "keyed", "<8 keys>") in s.path


def test_three_wrong_attempts_end_self_service_and_the_claim_never_becomes_the_customer() -> None:
    s = started()
    to_balance(s)
    claim(s, "10000002")
    assert keys(s, "1111#")[-1] == Verify("10000002", "1111")
    assert s.handle(VerifyResult(False, "pin")) == [
        Play("verify_balance.not_verified#5", message("not_verified", "en"), "en", True),
        Play("verify_balance.prompt#6", say("verify_balance", "en"), "en", True),
        collect_listen(4, "verify_balance", "en", 8)]
    assert keys(s, "01011990")[-1] == Verify("10000002", "01011990")
    assert s.handle(VerifyResult(False, "dob"))[0] == Play("verify_balance.not_verified#7",
                                                            message("not_verified", "en"), "en", True)
    keys(s, "2222#")
    end = s.handle(VerifyResult(False, "pin"))
    assert end[:2] == [Play("balance_unverified.prompt#9", "Sorry, we could not verify who you are. An agent will "
                            "help you.", "en", False)]
    assert not any(isinstance(c, Lookup) for c in end)
    end = s.handle(PromptFinished("balance_unverified.prompt#9"))
    assert end[:2] == [SetAttributes({"problem_type": "billing"}), Transfer(
        {"problem_type": "billing", "language": "en"}, None, None,
        Play("agent.transfer#10", message("transfer", "en"), "en", False), "requested")]
    done = finished(end)
    assert "customer_id" not in done.attributes
    assert done.verification == Verification(None, "none", "10000002", 3, True)
    assert done.verification.as_json() == {"verified": False, "method": "none", "customer_id": None,
                                           "claimed": "10000002", "failures": 3, "locked": True}
    assert [(e.event, e.value) for e in done.path if e.node == "verify_balance"] == [
        ("enter", None), ("claimed", "10000002"), ("keyed", "<4 keys>"), ("verify_failed", "pin"),
        ("keyed", "<8 keys>"), ("verify_failed", "dob"), ("keyed", "<4 keys>"), ("verify_failed", "pin"),
        ("verify_locked", "3")]
    assert done.self_served is False


def test_too_few_keys_and_silence_count_as_attempts_too() -> None:
    s = started()
    to_balance(s)
    claim(s)
    assert keys(s, "12#")[:2] == [StopPlayback(), Play("verify_balance.invalid#5", message("invalid", "en"), "en",
                                                       True)]
    s.handle(PromptFinished("verify_balance.invalid#5"))
    s.handle(PromptFinished("verify_balance.prompt#6"))
    assert s.handle(NoInput(4))[0] == Play("verify_balance.no_input#7", message("no_input", "en"), "en", True)
    end = keys(s, "9*")  # a star is no digit: invalid at once, the third attempt
    assert end[:3] == [StopPlayback(), StopListening(), Play(
        "balance_unverified.prompt#9", "Sorry, we could not verify who you are. An agent will help you.", "en", False)]
    assert s.verification == Verification(None, "none", "10000001", 3, True)
    assert [(e.event, e.value) for e in s.path if e.node == "verify_balance"][-4:] == [
        ("invalid", "<2 keys>"), ("no_input", None), ("invalid", "<2 keys>"), ("verify_locked", "3")]


def test_the_limit_is_a_setting_and_holds_for_the_whole_call() -> None:
    document = {
        "settings": {"verify_attempts": 1},
        "service_numbers": {"1": "main"},
        "flows": {"main": {"entry": "menu", "agent": "agent", "nodes": {
            "menu": {"kind": "menu", "prompt": {"id": "Menu.", "en": "Menu."}, "speech": False, "choices": [
                {"intent": "balance", "dtmf": "1", "next": "who"}, {"intent": "agent", "dtmf": "0", "next": "agent"}]},
            "who": {"kind": "verify", "claim_prompt": {"id": "Nomor.", "en": "Number."},
                    "prompt": {"id": "PIN.", "en": "PIN."}, "verified": "balance", "failed": "menu"},
            "balance": {"kind": "lookup", "query": "balance", "key": "customer_id", "found": {"next": "agent"},
                        "not_found": {"next": "agent"}, "error": {"next": "agent"}},
            "agent": {"kind": "transfer"},
        }}},
    }
    s = IvrSession(parse_flows(document), "main", verbalizer=Words(), caller=Caller(language="en"))
    s.handle(Started())
    keys(s, "1")
    keys(s, "4444#")  # the customer number
    assert keys(s, "9999#")[-1] == Verify("4444", "9999")
    assert s.handle(VerifyResult(False, "pin"))[0] == Play("menu.prompt#4", "Menu.", "en", True)
    assert s.verification == Verification(None, "none", "4444", 1, True)
    # Back at the menu, the caller tries again: self-service is over for this call, no question asked.
    s.handle(PromptFinished("menu.prompt#4"))
    commands = keys(s, "1")
    assert not any(isinstance(c, Verify | Lookup) for c in commands)
    assert [(e.node, e.event, e.value) for e in s.path][-4:] == [
        ("menu", "dtmf", "1"), ("who", "enter", None), ("who", "verify_locked", "1"), ("menu", "enter", None)]


def test_a_check_that_cannot_be_made_is_no_failure_and_serves_nothing() -> None:
    s = started()
    to_balance(s)
    claim(s)
    keys(s, "2468#")
    end = s.handle(VerifyResult(False, error="the CRM is away"))
    assert end[0] == Play("balance_unverified.prompt#5", "Sorry, we could not verify who you are. An agent will help "
                          "you.", "en", False)
    assert s.verification == Verification(None, "none", "10000001", 0, False)
    assert PathEntry("verify_balance", "error", "the CRM is away") in s.path


def test_an_invalid_customer_number_is_asked_again_then_the_caller_goes_on_unverified() -> None:
    s = started()
    to_balance(s)
    assert keys(s, "123#")[:2] == [StopPlayback(), Play("verify_balance.invalid#4", message("invalid", "en"), "en",
                                                        True)]
    keys(s, "45#")
    end = keys(s, "6#")
    assert end[:3] == [StopPlayback(), StopListening(), Play(
        "balance_unverified.prompt#8", "Sorry, we could not verify who you are. An agent will help you.", "en", False)]
    assert [(e.event, e.value) for e in s.path if e.node == "verify_balance"] == [
        ("enter", None), ("invalid", "<3 keys>"), ("invalid", "<2 keys>"), ("invalid", "<1 keys>"),
        ("failed", "invalid")]
    # A wrong-length claim may be the PIN keyed too early: it is recorded by its length only.
    assert s.verification == Verification()  # no PIN was tried: nothing failed, nothing locked


def test_without_a_claim_prompt_only_callers_the_number_identifies_are_verified() -> None:
    document = {
        "service_numbers": {"1": "main"},
        "flows": {"main": {"entry": "who", "agent": "agent", "nodes": {
            "who": {"kind": "verify", "prompt": {"id": "PIN.", "en": "PIN."}, "verified": "balance"},
            "balance": {"kind": "lookup", "query": "balance", "key": "customer_id", "found": {"next": "agent"},
                        "not_found": {"next": "agent"}, "error": {"next": "agent"}},
            "agent": {"kind": "transfer"},
        }}},
    }
    flows = parse_flows(document)
    s = IvrSession(flows, "main", verbalizer=Words())
    end = s.handle(Started())
    transfer = end[-2]
    assert isinstance(transfer, Transfer) and transfer.reason == "not_verified"
    assert [(e.event, e.value) for e in s.path] == [("enter", None), ("unidentified", None),
                                                    ("escalated", "not_verified")]
    s = IvrSession(flows, "main", verbalizer=Words(), caller=Caller(customer_id="10000004"))
    assert s.handle(Started()) == [
        Lookup("balance", "10000004", "10000004")]


def test_a_personal_lookup_the_checks_would_refuse_is_refused_by_the_session_too() -> None:
    # A flow built around the checks (as a future bug might): the order lookup right at the entry.
    support = FLOWS.flows["support"]
    flows = FLOWS.model_copy(update={"flows": {"support": support.model_copy(update={"entry": "ask_order"})}})
    s = IvrSession(flows, "support", verbalizer=Words(), caller=Caller(language="en"))
    s.handle(Started())
    commands = keys(s, "20261122#")
    assert not any(isinstance(c, Lookup) for c in commands)
    assert PathEntry("order_lookup", "error", "not verified") in s.path
    assert s.handle(LookupResult("order_status", True, {"status": "shipped"})) == []  # nothing was asked


def test_where_caller_id_is_not_trusted_a_caller_it_identifies_keys_their_pin_too() -> None:
    document = {
        "service_numbers": {"1": "main"},
        "flows": {"main": {"entry": "who", "agent": "agent", "nodes": {
            "who": {"kind": "verify", "caller_id": False, "prompt": {"id": "PIN.", "en": "PIN."},
                    "claim_prompt": {"id": "Nomor.", "en": "Number."}, "verified": "balance"},
            "balance": {"kind": "lookup", "query": "balance", "key": "customer_id", "found": {"next": "agent"},
                        "not_found": {"next": "agent"}, "error": {"next": "agent"}},
            "agent": {"kind": "transfer"},
        }}},
    }
    s = IvrSession(parse_flows(document), "main", verbalizer=Words(), caller=Caller(customer_id="10000004"))
    assert s.handle(Started()) == [Play("who.prompt#1", "PIN.", "id", True), collect_listen(1, "who", "id", 8)]
    assert keys(s, "1357#")[-1] == Verify("10000004", "1357")  # not asked who they are: the number said so
    assert s.handle(VerifyResult(True, "pin")) == [SetAttributes({"customer_id": "10000004"}),
                                                   Lookup("balance", "10000004", "10000004")]
    assert s.verification == Verification("10000004", "pin")
