"""Blind transfer in the call-center core: exact commands, the agents' states and the call's record."""

from __future__ import annotations

import pytest

from cti.acd import (
    AgentChanged,
    AgentState,
    Connect,
    ContactCenter,
    Hangup,
    Hold,
    InvalidTransition,
    Offer,
    Outcome,
    UnknownAgent,
    UnknownQueue,
    WorkChanged,
    WorkState,
    parse_rules,
)
from tests.unit.test_call_center import at, center, connected_call, kinds, ready

RULES = parse_rules({
    "queues": {"general": {"wrap_up_seconds": 30}, "billing": {"skills": {"billing": 1}}},
    "routes": [{"name": "all", "queue": "general"}],
})


def test_transfer_to_a_ready_agent_rings_them_and_keeps_the_first_answer() -> None:
    core = center("ana", "budi")
    call = connected_call(core)  # ana on c1 since t=8
    ready(core, "budi", "7002", 9)
    commands = core.transfer("c1", "ana", at(20), to_agent="budi", note="wants a refund")
    assert kinds(commands) == ["Hangup", "Hold", "AgentChanged", "Offer", "WorkChanged",
                               "AgentChanged"]
    assert commands[0] == Hangup("c1-a1", "c1")
    assert commands[1] == Hold("c1", "chan-c1", call.queue)
    ana = core.agent("ana")
    assert ana.state is AgentState.READY and ana.call_id is None and ana.calls_handled == 1  # no wrap-up set
    offer = commands[3]
    assert isinstance(offer, Offer)
    assert (offer.agent_id, offer.extension, offer.agent_channel_id, offer.caller_channel_id) == (
        "budi", "7002", "c1-a2", "chan-c1")
    assert call.state is WorkState.RINGING and call.agent_id == "budi"
    transferred = [d for d in call.decisions if d.kind == "transferred"]
    assert len(transferred) == 1
    assert (transferred[0].winner, transferred[0].candidates, transferred[0].note) == ("ana", ("budi",),
                                                                                      "wants a refund")
    assert transferred[0].as_json()["note"] == "wants a refund"
    # The old leg's hang-up is the transfer's own: it no longer belongs to the call.
    assert core.channel_gone("c1-a1", at(20.1)) == []
    assert call.state is WorkState.RINGING
    # Budi answers: connected, the answer time stays the first agent's (the caller's wait ended then).
    answered = core.offer_answered("c1-a2", at(23))
    assert answered[0] == Connect("c1", "chan-c1", "c1-a2", call.queue, connection=2)
    assert call.state is WorkState.CONNECTED and call.answered_at == at(8) and call.agent_id == "budi"
    ended = core.channel_gone("chan-c1", at(60))
    assert call.outcome is Outcome.ANSWERED
    assert any(isinstance(c, AgentChanged) and c.agent.agent_id == "budi" for c in ended)
    assert core.agent("budi").calls_handled == 1


def test_transfer_to_a_queue_waits_there_with_wrap_up_for_the_transferring_agent() -> None:
    core = ContactCenter(RULES)
    core.add_agent("ana", "Ana")
    core.add_agent("citra", "Citra")
    call = connected_call(core)
    assert call.queue == "general"
    commands = core.transfer("c1", "ana", at(20), queue="billing")
    assert kinds(commands) == ["Hangup", "Hold", "AgentChanged", "WorkChanged"]
    assert commands[1] == Hold("c1", "chan-c1", "billing")
    ana = core.agent("ana")
    # Wrap-up of the queue the call was in when ana handled it.
    assert ana.state is AgentState.WRAP_UP and ana.wrap_up_until == at(50)
    assert call.state is WorkState.WAITING and call.queue == "billing" and call.queued_at == at(20)
    assert core.waiting("billing") == [call]
    # Ana cannot take it (no billing skill); Citra with the skill gets it as soon as she is ready.
    core.set_profile("citra", at(21), skills={"billing": 1})
    offered = ready(core, "citra", "7003", 22)
    assert [c.agent_id for c in offered if isinstance(c, Offer)] == ["citra"]


def test_an_unanswered_direct_transfer_goes_to_the_queue() -> None:
    core = center("ana", "budi", "citra")
    call = connected_call(core)
    ready(core, "budi", "7002", 9)
    core.transfer("c1", "ana", at(20), to_agent="budi")
    core.set_not_ready("ana", "break", at(21))
    commands = core.channel_gone("c1-a2", at(35), offer_failure="no_answer")
    assert core.agent("budi").state is AgentState.NOT_READY
    assert call.state is WorkState.WAITING
    assert WorkChanged(call.snapshot()) in commands
    offered = ready(core, "citra", "7003", 36)
    assert [c.agent_id for c in offered if isinstance(c, Offer)] == ["citra"]


def test_transfer_refusals() -> None:
    core = center("ana", "budi")
    connected_call(core)
    with pytest.raises(InvalidTransition):
        core.transfer("c1", "budi", at(20), to_agent="ana")  # not budi's call
    with pytest.raises(InvalidTransition):
        core.transfer("c1", "ana", at(20), to_agent="budi")  # budi is logged out
    with pytest.raises(InvalidTransition):
        core.transfer("c1", "ana", at(20), to_agent="ana")
    with pytest.raises(InvalidTransition):
        core.transfer("c1", "ana", at(20))  # neither a queue nor an agent
    with pytest.raises(UnknownQueue):
        core.transfer("c1", "ana", at(20), queue="nowhere")
    with pytest.raises(UnknownAgent):
        core.transfer("c1", "ana", at(20), to_agent="nobody")
    # Nothing changed.
    assert core.call("c1").state is WorkState.CONNECTED and core.agent("ana").state is AgentState.ON_CALL
