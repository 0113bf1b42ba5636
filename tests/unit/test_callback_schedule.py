"""Scheduled callbacks with an injected clock: whom a due callback is previewed to ("me first", then the queue's
team), the preview in the core, and what each attempt leads to (completed, retried after the interval, failed
after the last attempt, moved to the next calling hour, refused)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cti.acd import (
    AgentState,
    CallbackStatus,
    CallingHours,
    Contact,
    ContactPolicy,
    ContactRules,
    EndReason,
    InvalidTransition,
    Outcome,
    QueueRule,
    RetryPolicy,
    ScheduledCallback,
    WorkItem,
    WorkState,
    after_call,
    after_refusal,
    pick_agent,
    rescheduled,
)
from tests.unit.test_call_center import at, center, kinds, new_call, ready

POLICY = RetryPolicy(max_attempts=3, interval=timedelta(minutes=30), agent_first=timedelta(minutes=2),
                     preview=timedelta(seconds=60))
QUEUE = QueueRule(name="general")


def due(agent_first: bool = False, **changes: object) -> ScheduledCallback:
    callback = ScheduledCallback(callback_id="cb1", customer_id="2001", queue="general", due_at=at(100),
                                 reason="invoice question", agent_id="ana", agent_first=agent_first)
    return replace(callback, **changes)  # type: ignore[arg-type]


def outbound(call_id: str = "o1") -> WorkItem:
    return WorkItem(call_id=call_id, channel_id="", caller_number="+62215550999", service_number="1500100",
                    queue="general", arrived_at=at(100), customer_id="2001", callback_id="cb1")


def test_me_first_waits_for_its_agent_then_goes_to_the_longest_idle_of_the_team() -> None:
    core = center("ana", "budi", "citra")
    ready(core, "budi", "7002", 10)
    ready(core, "citra", "7003", 20)
    agents = list(core.agents.values())
    assert pick_agent(due(agent_first=True), agents, QUEUE, at(100), POLICY) is None  # ana is not there
    assert pick_agent(due(agent_first=True), agents, QUEUE, at(219), POLICY) is None  # 1:59 into the window
    assert pick_agent(due(agent_first=True), agents, QUEUE, at(220), POLICY).agent_id == "budi"  # type: ignore[union-attr]
    assert pick_agent(due(), agents, QUEUE, at(100), POLICY).agent_id == "budi"  # type: ignore[union-attr]
    ready(core, "ana", "7001", 90)
    assert pick_agent(due(agent_first=True), agents, QUEUE, at(100), POLICY).agent_id == "ana"  # type: ignore[union-attr]
    core.set_not_ready("ana", "lunch", at(95))
    assert pick_agent(due(), agents, QUEUE, at(100), POLICY).agent_id == "budi"  # type: ignore[union-attr]
    core.set_desk("citra", True)  # a preview needs a desktop to be seen: who has one open comes first
    assert pick_agent(due(), agents, QUEUE, at(100), POLICY).agent_id == "citra"  # type: ignore[union-attr]


def test_a_preview_takes_the_agent_until_they_dial_or_skip() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = outbound()
    assert kinds(core.preview(call, "ana", at(100))) == ["Preview", "WorkChanged", "AgentChanged"]
    assert (call.state, core.agent("ana").state) == (WorkState.PREVIEW, AgentState.RINGING)
    assert "Offer" not in kinds(core.call_arrived(new_call("c1", 101), at(101)))  # no caller rings her meanwhile
    assert core.reconcile({}, at(102)) is not None and call.state is WorkState.PREVIEW  # no leg to lose
    with pytest.raises(InvalidTransition):
        core.dial_preview("o1", "budi", at(103))
    offered = core.dial_preview("o1", "ana", at(103))
    assert kinds(offered)[0] == "Offer" and call.state is WorkState.RINGING
    core.offer_answered("o1-a1", at(104))
    core.customer_answered("o1-c1", at(106))
    assert call.state is WorkState.CONNECTED


def test_a_skipped_preview_ends_with_nothing_dialed_and_frees_the_agent_for_the_waiting_caller() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = outbound()
    core.preview(call, "ana", at(100))
    waiting = new_call("c1", 101)
    core.call_arrived(waiting, at(101))
    commands = core.end_preview("o1", "ana", at(110))
    assert "Offer" in kinds(commands)  # the caller who waited meanwhile rings her now
    assert (call.outcome, call.end_reason) == (Outcome.SKIPPED, EndReason.PREVIEW_SKIPPED)
    assert waiting.state is WorkState.RINGING


def test_only_a_ready_agent_is_previewed() -> None:
    core = center("ana")
    core.login("ana", "7001", at(1))
    with pytest.raises(InvalidTransition) as refused:
        core.preview(outbound(), "ana", at(2))
    assert refused.value.code == "agent_not_ready"


def ended(outcome: Outcome, reason: EndReason) -> WorkItem:
    call = outbound()
    call.state, call.outcome, call.end_reason, call.agent_id = WorkState.ENDED, outcome, reason, "ana"
    if outcome is Outcome.ANSWERED:
        call.answered_at = at(120)
    return call


def test_attempts_retry_after_the_interval_then_fail_after_the_last() -> None:
    callback = due(status=CallbackStatus.DIALING)
    now = at(200)
    for attempt in (1, 2):
        callback = after_call(callback, ended(Outcome.FAILED, EndReason.CUSTOMER_NO_ANSWER), now, POLICY)
        assert (callback.status, callback.dialed, callback.due_at) == (CallbackStatus.SCHEDULED, attempt,
                                                                      now + POLICY.interval)
        now = callback.due_at
    callback = after_call(callback, ended(Outcome.FAILED, EndReason.CUSTOMER_BUSY), now, POLICY)
    assert callback.status is CallbackStatus.FAILED
    assert [a.outcome for a in callback.attempts] == ["no_answer", "no_answer", "busy"]


def test_answered_completes_and_what_dialed_nobody_is_no_attempt() -> None:
    assert after_call(due(), ended(Outcome.ANSWERED, EndReason.CALLER_HANGUP), at(200), POLICY).status is (
        CallbackStatus.COMPLETED)
    for reason in (EndReason.PREVIEW_SKIPPED, EndReason.AGENT_NO_ANSWER):
        later = after_call(due(), ended(Outcome.FAILED, reason), at(200), POLICY)
        assert (later.status, later.dialed, later.due_at) == (CallbackStatus.SCHEDULED, 0, at(200) + POLICY.interval)


def test_out_of_hours_moves_it_to_the_next_calling_time_and_other_refusals_end_it() -> None:
    policy = ContactPolicy(ContactRules(numbers=(r"\+62[0-9]+",), hours=CallingHours.parse("08:00-20:00")))
    night = at(0).replace(hour=15)  # 22:00 WIB
    decision = policy.decide(Contact("+62215550999", consent=True, do_not_call=False, region="jakarta"), night)
    moved = after_refusal(due(status=CallbackStatus.PREVIEWING), decision, night)
    assert moved.status is CallbackStatus.SCHEDULED and moved.due_at == decision.next_allowed
    assert moved.due_at.astimezone(decision.local.tzinfo).hour == 8 and moved.dialed == 0
    refused = policy.decide(Contact("+62215550999", consent=False, do_not_call=False), night)
    assert after_refusal(due(), refused, night).status is CallbackStatus.REFUSED


def test_a_reschedule_is_no_attempt() -> None:
    later = rescheduled(due(status=CallbackStatus.PREVIEWING), at(5000), at(200), "ana")
    assert (later.status, later.due_at, later.dialed, later.attempts[-1].outcome) == (
        CallbackStatus.SCHEDULED, at(5000), 0, "rescheduled")
