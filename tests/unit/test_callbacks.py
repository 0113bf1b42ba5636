"""Callbacks only to allowed numbers, within limits per number and overall: the policy, the core's use of it
(the caller is told and keeps waiting), the adapter's prompt and metric. A real call is refused in
tests/e2e/test_routing.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cti.acd import (
    CallbackLimits,
    CallbackPolicy,
    CallbackRefusal,
    ConfirmCallback,
    ContactCenter,
    RefuseCallback,
    WorkChanged,
    WorkItem,
    parse_rules,
)
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from cti.telephony import VoiceActions
from tests.unit.test_services import floor
from tests.unit.test_voice_actions import Prompts, RecordingAri

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def policy(*, per_number: int = 3, total: int = 60, numbers: tuple[str, ...] = DEFAULT_CALLBACK_NUMBERS,
           window: timedelta = HOUR) -> CallbackPolicy:
    return CallbackPolicy(CallbackLimits(numbers=numbers, per_number=per_number, total=total, window=window))


# -- which numbers --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [
    "0215550888",       # Jakarta landline, national format
    "0615550666",       # Medan
    "081234500104",     # a mobile
    "+6281234500104",   # the same, international format
    "+62215550101",
    "08001234567",      # toll-free
])
def test_the_default_allows_indonesian_numbers(number: str) -> None:
    assert policy().allows_number(number)


@pytest.mark.parametrize("number", [
    "+6591234567",      # Singapore
    "+61412345004",     # Australia
    "0061412345004",    # Australia, dialled internationally
    "08091234567",      # premium rate
    "+628091234567",    # premium rate, international format
    "112",              # emergency and short codes
    "12345",
    "0215550888;x",
    "0215550888\n",
    "",
])
def test_the_default_refuses_foreign_premium_and_odd_numbers(number: str) -> None:
    assert policy().request(number, at(0)) is CallbackRefusal.NUMBER_NOT_ALLOWED


def test_an_operator_can_allow_other_numbers() -> None:
    lab = policy(numbers=(*DEFAULT_CALLBACK_NUMBERS, r"\+65[0-9]{8}"))
    assert lab.allows_number("+6591234567") and lab.allows_number("0215550888")
    assert not policy(numbers=()).allows_number("0215550888")  # an empty list: no callbacks at all


# -- how many -------------------------------------------------------------------------------------------------
def test_a_number_gets_its_limit_within_the_window_then_again_after_it() -> None:
    p = policy(per_number=2)
    assert [p.request("0215550888", at(s)) for s in (0, 60, 120)] == [None, None, CallbackRefusal.NUMBER_LIMIT]
    assert p.request("0315550202", at(130)) is None  # another number is not held back
    assert p.request("0215550888", at(3599)) is CallbackRefusal.NUMBER_LIMIT
    assert p.request("0215550888", at(3600)) is None  # the first grant has left the hour
    assert p.request("0215550888", at(3601)) is CallbackRefusal.NUMBER_LIMIT


def test_all_numbers_together_get_the_total() -> None:
    p = policy(per_number=5, total=3)
    numbers = ["0215550001", "0215550002", "0215550003", "0215550004"]
    assert [p.request(n, at(i)) for i, n in enumerate(numbers)] == [None, None, None, CallbackRefusal.TOTAL_LIMIT]
    assert p.request(numbers[3], at(3600)) is None  # the first grant expired


def test_refusals_do_not_count_against_the_limits() -> None:
    p = policy(per_number=1, total=1)
    assert p.request("+6591234567", at(0)) is CallbackRefusal.NUMBER_NOT_ALLOWED
    assert p.request("0215550888", at(1)) is None
    assert p.request("0215550888", at(2)) is CallbackRefusal.TOTAL_LIMIT
    assert p.request("0315550202", at(3)) is CallbackRefusal.TOTAL_LIMIT


def test_memory_stays_bounded_by_the_total() -> None:
    p = policy(per_number=1, total=10, window=timedelta(seconds=10))
    for second in range(1000):
        p.request(f"02155{second:05d}", at(second))
    assert len(p._granted) <= 10 and len(p._per_number) <= 10


# -- in the core ----------------------------------------------------------------------------------------------
def callback_center(p: CallbackPolicy) -> ContactCenter:
    rules = parse_rules({"queues": {"cb": {"callback_key": "*", "callback_message": "thanks"}},
                         "routes": [{"name": "cb", "queue": "cb"}]})
    return ContactCenter(rules, callbacks=p)


def waiting(core: ContactCenter, call_id: str, number: str, when: float) -> None:
    core.call_arrived(WorkItem(call_id=call_id, channel_id=f"chan-{call_id}", caller_number=number,
                               service_number="1500600", queue="", arrived_at=at(when)), at(when))


def test_a_refused_caller_is_told_and_keeps_waiting_in_line() -> None:
    core = callback_center(policy())
    waiting(core, "c1", "+6591234567", 0)
    commands = core.dtmf_received("chan-c1", "*", at(2))
    assert commands[0] == RefuseCallback("c1", "chan-c1", "feature-not-avail-line", "number_not_allowed")
    assert isinstance(commands[1], WorkChanged)
    c1 = core.calls["c1"]
    assert (c1.state.value, c1.callback, c1.caller_present) == ("waiting", False, True)
    [refused] = [d for d in c1.decisions if d.kind == "callback_refused"]
    assert refused.reason == "pressed *: number_not_allowed"
    assert "6591234567" not in refused.reason
    assert core.dtmf_received("chan-c1", "*", at(3)) == []  # told once: pressing again changes nothing
    assert [d.kind for d in c1.decisions] == ["queued", "callback_refused"]


def test_the_rules_name_the_refusal_prompt() -> None:
    rules = parse_rules({"queues": {"cb": {"callback_key": "#", "callback_refused_message": "custom/no-cb"}},
                         "routes": [{"name": "cb", "queue": "cb"}]})
    core = ContactCenter(rules, callbacks=policy(numbers=()))
    waiting(core, "c1", "0215550888", 0)
    assert core.dtmf_received("chan-c1", "#", at(1))[0] == RefuseCallback(
        "c1", "chan-c1", "custom/no-cb", "number_not_allowed")


def test_over_the_limit_a_caller_is_refused_and_under_it_confirmed() -> None:
    core = callback_center(policy(per_number=1))
    waiting(core, "c1", "0215550888", 0)
    assert core.dtmf_received("chan-c1", "*", at(1))[0] == ConfirmCallback("c1", "chan-c1", "thanks")
    waiting(core, "c2", "0215550888", 5)  # the same number calls again and asks again
    assert core.dtmf_received("chan-c2", "*", at(6))[0] == RefuseCallback(
        "c2", "chan-c2", "feature-not-avail-line", "number_limit")
    assert (core.calls["c1"].callback, core.calls["c2"].callback) == (True, False)


# -- the adapter: the prompt and the metric --------------------------------------------------------------------
async def test_the_refused_caller_hears_why_in_their_language_and_is_counted() -> None:
    distributor, _ = floor()
    work = WorkItem("c1", "chan-c1", "+6591234567", "1500100", "", distributor.clock())
    work.routing.language = "en"
    distributor.arrive(work)
    ari, prompts, counters = RecordingAri(), Prompts(), Counter[str]()
    actions = VoiceActions(ari, distributor.query, None, counters, ring_timeout=15,  # type: ignore[arg-type]
                           callback_ring_timeout=30, prompts=prompts)
    actions.refuse_callback(RefuseCallback("c1", "chan-c1", "feature-not-avail-line", "number_not_allowed"),
                            distributor)
    await asyncio.gather(*actions._tasks)
    [(text, language)] = prompts.said
    assert language == "en" and text.startswith("We are sorry, we cannot call this number back.")
    assert ari.played == [{"channel": "chan-c1", "media": "sound:cti-tts/en-1", "lang": "en"}]
    assert ari.answered == []  # already answered and held: nobody hangs up
    assert (counters["callbacks_refused"], counters["callbacks_refused_number_not_allowed"]) == (1, 1)
    assert list(actions._hangup_after) == []
