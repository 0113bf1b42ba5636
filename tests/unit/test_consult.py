"""Consult (attended) transfer and three-way conference in the core: exact commands, the agents' states, the
legs kept for the interaction, the hold counted, and a clear refusal wherever a step makes no sense."""

from __future__ import annotations

import pytest

from cti.acd import (
    AgentState,
    DialExternal,
    EndReason,
    HandOff,
    Hangup,
    HoldCall,
    InvalidTransition,
    JoinCall,
    Offer,
    Outcome,
    ResumeCall,
    SendDtmf,
    UnknownQueue,
    WorkItem,
    WorkState,
)
from cti.acd._center import ContactCenter
from cti.live import decode_call, encode_call
from tests.unit.test_call_center import at, center, connected_call, kinds, ready


def consulting(core: ContactCenter) -> WorkItem:
    """ana on c1 since t=8 consults budi (7002) at t=10; budi answers at t=12."""
    call = connected_call(core)
    ready(core, "budi", "7002", 2)
    core.consult("c1", "ana", at(10), to_agent="budi", note="billing question")
    core.offer_answered("c1-t1", at(12))
    return call


def legs(call: WorkItem) -> list[tuple[str, str, float | None]]:
    return [(leg.participant, leg.role, leg.as_json()["seconds"]) for leg in call.legs]


def test_a_consult_holds_the_caller_and_rings_the_agent_with_the_note() -> None:
    core = center("ana", "budi")
    call = connected_call(core)
    ready(core, "budi", "7002", 2)
    commands = core.consult("c1", "ana", at(10), to_agent="budi", note="billing question")
    assert kinds(commands) == ["HoldCall", "Offer", "WorkChanged", "AgentChanged"]
    assert commands[0] == HoldCall("c1", "chan-c1", call.queue)
    assert commands[1] == Offer("c1", "budi", "7002", "c1-t1", "c1-a1", "0215550123", "Budi")
    assert call.held and call.hold_count == 1 and call.consult is not None
    assert (call.consult.state, call.consult.note) == ("ringing", "billing question")
    assert core.agent("budi").state is AgentState.RINGING
    assert call.decisions[-1].kind == "consulted" and call.decisions[-1].note == "billing question"
    commands = core.offer_answered("c1-t1", at(12))
    assert commands[0] == JoinCall("c1", "c1-t1")
    assert call.consult.state == "talking" and core.agent("budi").state is AgentState.ON_CALL
    assert call.agent_id == "ana"  # the call stays ana's until she completes it


def test_complete_hands_the_call_to_the_agent_consulted() -> None:
    core = center("ana", "budi")
    call = consulting(core)
    commands = core.complete_consult("c1", "ana", at(20))
    assert commands[:2] == [ResumeCall("c1", "chan-c1", "c1-t1"), Hangup("c1-a1", "c1")]
    assert (call.agent_id, call.agent_channel_id, call.agent_extension) == ("budi", "c1-t1", "7002")
    assert call.consult is None and not call.held and call.hold_seconds() == 10.0
    ana, budi = core.agent("ana"), core.agent("budi")
    assert ana.calls_handled == 1 and ana.state is not AgentState.ON_CALL and "c1" not in ana.work
    assert budi.state is AgentState.ON_CALL
    assert core.channel_gone("c1-a1", at(20.1)) == []  # the hang-up is ours
    core.channel_gone("chan-c1", at(30))  # the caller hangs up on budi
    assert (call.state, call.outcome, call.end_reason, call.agent_id) == (
        WorkState.ENDED, Outcome.ANSWERED, EndReason.CALLER_HANGUP, "budi")
    assert legs(call) == [("ana", "answered", 12.0), ("budi", "consult", 18.0)]
    assert core.agent("budi").calls_handled == 1


def test_cancel_brings_the_caller_back_and_frees_the_agent_consulted() -> None:
    core = center("ana", "budi")
    call = consulting(core)
    commands = core.cancel_consult("c1", "ana", at(15))
    assert commands[0] == Hangup("c1-t1", "c1")
    assert ResumeCall("c1", "chan-c1", "c1-a1") in commands
    assert call.consult is None and not call.held and call.hold_seconds() == 5.0
    assert core.agent("budi").state is AgentState.READY and core.agent("budi").calls_handled == 0
    assert core.channel_gone("c1-t1", at(15.1)) == []
    assert call.decisions[-1].kind == "consult_cancelled"
    core.hang_up("c1", "ana", at(20))
    assert legs(call) == [("ana", "answered", 12.0), ("budi", "consult", 3.0)]


def test_a_conference_joins_three_and_each_may_leave() -> None:
    core = center("ana", "budi", "carla")
    call = consulting(core)
    commands = core.conference("c1", "ana", at(14))
    assert commands[0] == ResumeCall("c1", "chan-c1", "c1-a1")
    assert call.consult is not None and call.consult.state == "conference" and not call.held
    with pytest.raises(InvalidTransition, match="conference already"):
        core.conference("c1", "ana", at(15))
    # The third party (budi) hangs up: ana and the caller go on.
    core.channel_gone("c1-t1", at(16))
    assert call.consult is None and call.state is WorkState.CONNECTED and call.agent_id == "ana"
    assert core.agent("budi").state is AgentState.READY
    # Again with carla, and this time ana leaves: carla owns the call.
    ready(core, "carla", "7003", 3)
    core.consult("c1", "ana", at(18), to_agent="carla")
    core.offer_answered("c1-t2", at(19))
    core.conference("c1", "ana", at(20))
    commands = core.leave_conference("c1", "ana", at(22))
    assert Hangup("c1-a1", "c1") in commands and call.agent_id == "carla"
    assert call.hold_count == 2 and call.hold_seconds() == 6.0  # 10-14 and 18-20
    core.channel_gone("c1-t2", at(25))  # carla hangs up: the last two, so the call ends
    assert (call.end_reason, call.agent_id) == (EndReason.AGENT_HANGUP, "carla")
    assert legs(call) == [("ana", "answered", 14.0), ("budi", "consult", 4.0), ("carla", "consult", 6.0)]


def test_an_external_consult_dials_the_number_and_completing_hands_the_call_out() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.consult("c1", "ana", at(10), number="0215550999")
    assert commands[1] == DialExternal("c1", "c1-t1", "0215550999", "1500100")
    commands = core.customer_answered("c1-t1", at(11))
    assert commands[0] == JoinCall("c1", "c1-t1")
    assert core.send_dtmf("c1", "ana", "12#") == [SendDtmf("c1", "c1-t1", "12#")]  # to the partner's IVR
    commands = core.complete_consult("c1", "ana", at(15))
    assert kinds(commands)[:3] == ["ResumeCall", "Hangup", "AgentChanged"]
    assert HandOff("c1", "chan-c1", "c1-t1") in commands
    assert Hangup("chan-c1", "c1") not in commands and Hangup("c1-t1", "c1") not in commands
    assert (call.state, call.outcome, call.end_reason) == (WorkState.ENDED, Outcome.ANSWERED,
                                                           EndReason.TRANSFERRED_OUT)
    assert legs(call) == [("ana", "answered", 7.0), ("0215550999", "consult", 4.0)]
    assert call.legs[1].kind == "external"
    assert core.agent("ana").calls_handled == 1
    assert core.channel_gone("chan-c1", at(30)) == [] and core.channel_gone("c1-t1", at(30)) == []


def test_a_consult_to_a_queue_rings_its_longest_idle_ready_agent_or_is_refused() -> None:
    core = center("ana", "budi", "carla")
    call = connected_call(core)
    with pytest.raises(InvalidTransition) as refused:
        core.consult("c1", "ana", at(9), queue=call.queue)
    assert refused.value.code == "no_agent_ready"
    with pytest.raises(UnknownQueue):
        core.consult("c1", "ana", at(9), queue="nowhere")
    ready(core, "carla", "7003", 3)
    ready(core, "budi", "7002", 2)
    commands = core.consult("c1", "ana", at(10), queue=call.queue)
    assert commands[1] == Offer("c1", "budi", "7002", "c1-t1", "c1-a1", "0215550123", "Budi")
    assert call.consult is not None and (call.consult.kind, call.consult.queue) == ("queue", call.queue)


def test_a_target_that_does_not_answer_leaves_the_caller_on_hold_and_the_agent_not_ready() -> None:
    core = center("ana", "budi")
    call = connected_call(core)
    ready(core, "budi", "7002", 2)
    core.consult("c1", "ana", at(10), to_agent="budi")
    core.channel_gone("c1-t1", at(25), offer_failure="no_answer")
    assert call.consult is None and call.held and call.state is WorkState.CONNECTED
    budi = core.agent("budi")
    assert (budi.state, budi.reason) == (AgentState.NOT_READY, "no_answer")
    assert call.decisions[-1].kind == "consult_failed" and call.legs[-1].participant == "ana"
    core.resume_call("c1", "ana", at(26))  # ana takes the caller back
    assert call.hold_seconds() == 16.0


def test_the_caller_hanging_up_mid_consult_ends_everything() -> None:
    core = center("ana", "budi")
    call = consulting(core)
    commands = core.channel_gone("chan-c1", at(14))
    assert Hangup("c1-a1", "c1") in commands and Hangup("c1-t1", "c1") in commands
    assert (call.state, call.end_reason) == (WorkState.ENDED, EndReason.CALLER_HANGUP)
    assert core.agent("budi").state is AgentState.READY and core.agent("ana").calls_handled == 1
    assert legs(call) == [("ana", "answered", 6.0), ("budi", "consult", 2.0)]


def test_the_agent_hanging_up_completes_an_answered_consult_and_ends_a_ringing_one() -> None:
    core = center("ana", "budi")
    call = consulting(core)
    core.channel_gone("c1-a1", at(15))
    assert call.agent_id == "budi" and call.state is WorkState.CONNECTED and not call.held
    core.channel_gone("chan-c1", at(20))

    core = center("ana", "budi")
    call = connected_call(core)
    ready(core, "budi", "7002", 2)
    core.consult("c1", "ana", at(10), to_agent="budi")
    commands = core.channel_gone("c1-a1", at(11))
    assert Hangup("chan-c1", "c1") in commands and Hangup("c1-t1", "c1") in commands
    assert call.end_reason is EndReason.AGENT_HANGUP and core.agent("budi").state is AgentState.READY


def test_each_step_is_refused_where_it_makes_no_sense() -> None:
    core = center("ana", "budi", "carla")
    call = connected_call(core)

    def code(step: object) -> str:
        with pytest.raises(InvalidTransition) as refused:
            step()  # type: ignore[operator]
        return str(refused.value.code)

    assert code(lambda: core.complete_consult("c1", "ana", at(9))) == "no_consult"
    assert code(lambda: core.conference("c1", "ana", at(9))) == "no_consult"
    assert code(lambda: core.cancel_consult("c1", "ana", at(9))) == "no_consult"
    assert code(lambda: core.leave_conference("c1", "ana", at(9))) == "not_in_conference"
    assert code(lambda: core.consult("c1", "ana", at(9))) == "consult_target"
    assert code(lambda: core.consult("c1", "ana", at(9), to_agent="budi", number="1")) == "consult_target"
    assert code(lambda: core.consult("c1", "ana", at(9), to_agent="budi")) == "agent_not_ready"
    assert code(lambda: core.consult("c1", "ana", at(9), to_agent="ana")) == "agent_not_ready"
    ready(core, "budi", "7002", 2)
    ready(core, "carla", "7003", 3)
    core.consult("c1", "ana", at(10), to_agent="budi")
    assert code(lambda: core.consult("c1", "ana", at(11), to_agent="carla")) == "consult_in_progress"
    assert code(lambda: core.complete_consult("c1", "ana", at(11))) == "consult_not_answered"
    assert code(lambda: core.conference("c1", "ana", at(11))) == "consult_not_answered"
    assert code(lambda: core.send_dtmf("c1", "ana", "1")) == "consult_not_answered"
    assert code(lambda: core.resume_call("c1", "ana", at(11))) == "consult_in_progress"
    assert code(lambda: core.hold_call("c1", "ana", at(11))) == "consult_in_progress"
    assert code(lambda: core.transfer("c1", "ana", at(11), queue=call.queue)) == "consult_in_progress"
    assert code(lambda: core.complete_consult("c1", "budi", at(11))) == "not_on_call"  # not budi's call
    core.offer_answered("c1-t1", at(12))
    assert code(lambda: core.leave_conference("c1", "ana", at(13))) == "not_in_conference"


def test_a_consult_survives_the_live_store() -> None:
    core = center("ana", "budi")
    call = consulting(core)
    again = decode_call(encode_call(call))
    assert again.consult == call.consult and again.legs == call.legs and again.consults == 1
    restored = ContactCenter()
    restored.restore(core.agents.values(), [again])
    assert restored.call_for_channel("c1-t1") is not None
    commands = restored.reconcile({"chan-c1": True, "c1-a1": True}, at(30))  # the consulted leg vanished
    assert restored.call("c1").consult is None and Hangup("c1-t1", "c1") not in commands


def test_a_call_not_yet_connected_cannot_be_consulted_on() -> None:
    core = center("ana", "budi")
    ready(core, "ana", "7001", 1)
    ready(core, "budi", "7002", 1)
    call = WorkItem(call_id="c1", channel_id="chan-c1", caller_number="0215550123", service_number="1500100",
                    queue="", arrived_at=at(2))
    core.call_arrived(call, at(2))
    assert call.state is WorkState.RINGING
    with pytest.raises(InvalidTransition) as refused:
        core.consult("c1", call.agent_id or "", at(3), to_agent="budi")
    assert refused.value.code == "not_on_call"
