"""An agent calls a customer: the agent's leg first, then the customer's, bridged; every way it can end."""

from __future__ import annotations

import pytest

from cti.acd import (
    AgentState,
    DialCustomer,
    Direction,
    EndReason,
    InvalidTransition,
    Offer,
    Outcome,
    WorkItem,
    WorkState,
)
from cti.live import decode_call, encode_call
from tests.unit.test_call_center import at, center, kinds, new_call, ready


def outbound(call_id: str = "o1", when: float = 10) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id="", caller_number="+62215550999", service_number="1500100",
                    queue="general", arrived_at=at(when), caller_name="Sari", customer_id="100001")


def test_the_agent_rings_first_then_the_customer_then_both_are_bridged() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = outbound()
    commands = core.dial_out(call, "ana", at(10))
    assert kinds(commands) == ["Offer", "WorkChanged", "AgentChanged"]
    offer = commands[0]
    assert isinstance(offer, Offer)
    assert (offer.extension, offer.agent_channel_id, offer.caller_channel_id) == ("7001", "o1-a1", None)
    assert (call.direction, call.state, core.agent("ana").state) == (Direction.OUTBOUND, WorkState.RINGING,
                                                                     AgentState.RINGING)
    dial = core.offer_answered("o1-a1", at(12))
    assert isinstance(dial[0], DialCustomer)
    assert (dial[0].number, dial[0].service_number, dial[0].customer_channel_id) == (
        "+62215550999", "1500100", "o1-c1")
    assert call.state is WorkState.CALLING_BACK
    connect = core.customer_answered("o1-c1", at(15))
    assert kinds(connect) == ["Connect", "WorkChanged"]
    assert (call.state, call.answered_at) == (WorkState.CONNECTED, at(15))
    ended = core.channel_gone("o1-c1", at(40))
    assert "Hangup" in kinds(ended)
    assert (call.outcome, call.end_reason) == (Outcome.ANSWERED, EndReason.CALLER_HANGUP)
    assert [d.kind for d in call.decisions] == ["dialed", "dialing"]
    assert core.agent("ana").calls_handled == 1


def test_a_customer_who_does_not_answer_or_is_busy_ends_it_failed_and_frees_the_agent() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    for call_id, failure, reason in (("o1", "no_answer", EndReason.CUSTOMER_NO_ANSWER),
                                     ("o2", "busy", EndReason.CUSTOMER_BUSY)):
        call = outbound(call_id)
        core.dial_out(call, "ana", at(10))
        core.offer_answered(f"{call_id}-a1", at(11))
        commands = core.channel_gone(f"{call_id}-c1", at(40), offer_failure=failure)
        assert "Hangup" in kinds(commands)
        assert (call.state, call.outcome, call.end_reason) == (WorkState.ENDED, Outcome.FAILED, reason)
        assert core.agent("ana").state is AgentState.READY


def test_an_agent_who_does_not_take_their_own_call_ends_it_and_stays_as_before() -> None:
    core = center("ana")
    core.login("ana", "7001", at(1))  # not ready: dialing out is what not-ready agents do
    call = outbound()
    core.dial_out(call, "ana", at(10))
    core.channel_gone("o1-a1", at(20), offer_failure="no_answer")
    assert (call.outcome, call.end_reason) == (Outcome.FAILED, EndReason.AGENT_NO_ANSWER)
    agent = core.agent("ana")
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, "login")


def test_a_not_ready_agent_is_not_ready_again_after_the_call_and_no_caller_is_offered_meanwhile() -> None:
    core = center("ana")
    core.login("ana", "7001", at(1))
    core.dial_out(outbound(), "ana", at(10))
    waiting = new_call("c1", 11)
    assert "Offer" not in kinds(core.call_arrived(waiting, at(11)))
    core.offer_answered("o1-a1", at(12))
    core.customer_answered("o1-c1", at(13))
    core.channel_gone("o1-a1", at(30))  # the agent hangs up
    assert core.agent("ana").state is AgentState.NOT_READY
    assert waiting.state is WorkState.WAITING


def test_only_a_logged_in_agent_without_work_may_dial() -> None:
    core = center("ana", "budi")
    with pytest.raises(InvalidTransition) as logged_out:
        core.dial_out(outbound(), "ana", at(1))
    assert logged_out.value.code == "agent_logged_out"
    ready(core, "ana", "7001", 1)
    core.call_arrived(new_call("c1", 2), at(2))  # offered to ana
    with pytest.raises(InvalidTransition) as busy:
        core.dial_out(outbound(), "ana", at(3))
    assert busy.value.code == "agent_on_call"


def test_an_outbound_call_survives_the_live_store_and_a_resync() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = outbound()
    core.dial_out(call, "ana", at(10))
    assert decode_call(encode_call(call)).direction is Direction.OUTBOUND
    # The agent's phone still rings: nothing to find of the customer's leg yet, and nothing ends.
    core.reconcile({"o1-a1": False}, at(11))
    assert call.state is WorkState.RINGING
