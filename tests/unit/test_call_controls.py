"""The agent's controls of a connected call in the core: hold, resume, mute, DTMF, hang up. Exact commands, the
hold recorded as a state of the call with its time, and a clear refusal wherever a control makes no sense."""

from __future__ import annotations

import pytest

from cti.acd import (
    AgentState,
    ContactCenter,
    EndReason,
    Hangup,
    Hold,
    HoldCall,
    InvalidDigits,
    InvalidTransition,
    MuteAgent,
    Outcome,
    ResumeCall,
    SendDtmf,
    UnknownWork,
    WorkState,
)
from cti.live import decode_call, encode_call
from tests.unit.test_call_center import at, center, connected_call, kinds, new_call, ready


def test_hold_and_resume_count_each_hold_and_its_seconds() -> None:
    core = center("ana")
    call = connected_call(core)  # ana on c1 since t=8
    commands = core.hold_call("c1", "ana", at(10))
    assert commands[0] == HoldCall("c1", "chan-c1", call.queue)
    assert kinds(commands) == ["HoldCall", "WorkChanged"]
    assert call.held and call.held_since == at(10) and call.hold_count == 1
    assert call.hold_seconds(at(13)) == 3.0
    commands = core.resume_call("c1", "ana", at(14))
    assert commands[0] == ResumeCall("c1", "chan-c1", "c1-a1")
    assert not call.held and call.held_seconds == 4.0
    core.hold_call("c1", "ana", at(20))
    core.resume_call("c1", "ana", at(22.5))
    assert (call.hold_count, call.hold_seconds()) == (2, 6.5)
    assert core.agent("ana").state is AgentState.ON_CALL  # a hold does not change the agent's state


def test_a_caller_who_hangs_up_on_hold_was_held_until_then() -> None:
    core = center("ana")
    call = connected_call(core)
    core.hold_call("c1", "ana", at(10))
    commands = core.channel_gone("chan-c1", at(25))
    assert commands[0] == Hangup("c1-a1", "c1")
    assert call.state is WorkState.ENDED and call.outcome is Outcome.ANSWERED
    assert (call.hold_count, call.hold_seconds(), call.held) == (1, 15.0, False)


def test_an_agent_who_hangs_up_while_muted_ends_the_call_as_usual() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.set_muted("c1", "ana", True)
    assert commands[0] == MuteAgent("c1", "c1-a1", True) and kinds(commands) == ["MuteAgent", "WorkChanged"]
    assert core.set_muted("c1", "ana", False)[0] == MuteAgent("c1", "c1-a1", False)
    core.set_muted("c1", "ana", True)
    commands = core.channel_gone("c1-a1", at(30))
    assert commands[0] == Hangup("chan-c1", "c1")
    assert call.end_reason is EndReason.AGENT_HANGUP and call.muted  # the record keeps how the call ended


def test_hang_up_from_the_desktop_ends_both_legs_and_the_call() -> None:
    core = center("ana")
    call = connected_call(core)
    core.hold_call("c1", "ana", at(10))
    commands = core.hang_up("c1", "ana", at(16))
    assert commands[:2] == [Hangup("chan-c1", "c1"), Hangup("c1-a1", "c1")]
    assert (call.state, call.outcome, call.end_reason) == (WorkState.ENDED, Outcome.ANSWERED,
                                                           EndReason.AGENT_HANGUP)
    assert call.hold_seconds() == 6.0 and call.talk_seconds == 8.0
    ana = core.agent("ana")
    assert ana.calls_handled == 1 and ana.call_id is None
    # The legs' hang-ups are ours: their events change nothing.
    assert core.channel_gone("chan-c1", at(16.1)) == [] and core.channel_gone("c1-a1", at(16.1)) == []


def test_dtmf_goes_to_the_caller_leg_and_bad_digits_are_refused() -> None:
    core = center("ana")
    connected_call(core)
    assert core.send_dtmf("c1", "ana", "12*#A") == [SendDtmf("c1", "chan-c1", "12*#A")]
    for bad in ("", "12x", "1" * 33, "e"):
        with pytest.raises(InvalidDigits):
            core.send_dtmf("c1", "ana", bad)
    core.hold_call("c1", "ana", at(10))
    with pytest.raises(InvalidTransition, match="on hold"):
        core.send_dtmf("c1", "ana", "1")


def test_controls_are_refused_where_they_make_no_sense() -> None:
    core = center("ana", "budi")
    ready(core, "ana", "7001", 1)
    ringing = new_call("c1", 2)
    core.call_arrived(ringing, at(2))
    assert ringing.state is WorkState.RINGING
    for control in (lambda: core.hold_call("c1", "ana", at(3)), lambda: core.resume_call("c1", "ana", at(3)),
                    lambda: core.set_muted("c1", "ana", True), lambda: core.send_dtmf("c1", "ana", "1"),
                    lambda: core.hang_up("c1", "ana", at(3))):
        with pytest.raises(InvalidTransition, match="not a connected call"):
            control()
    core.offer_answered("c1-a1", at(4))
    with pytest.raises(InvalidTransition, match="not on hold"):
        core.resume_call("c1", "ana", at(5))
    with pytest.raises(InvalidTransition, match="not a connected call of agent budi"):
        core.hold_call("c1", "budi", at(5))
    core.hold_call("c1", "ana", at(5))
    with pytest.raises(InvalidTransition, match="already on hold"):
        core.hold_call("c1", "ana", at(6))
    with pytest.raises(InvalidTransition, match="already not muted"):
        core.set_muted("c1", "ana", False)
    core.hang_up("c1", "ana", at(7))
    with pytest.raises(UnknownWork):
        core.hold_call("c1", "ana", at(8))


def test_a_transfer_from_hold_ends_the_hold_and_the_mute() -> None:
    core = ContactCenter()
    core.add_agent("ana", "Ana")
    call = connected_call(core)
    core.hold_call("c1", "ana", at(10))
    core.set_muted("c1", "ana", True)
    commands = core.transfer("c1", "ana", at(15), queue=call.queue)
    assert Hold("c1", "chan-c1", call.queue) in commands
    assert (call.held, call.muted, call.hold_seconds(), call.hold_count) == (False, False, 5.0, 1)


def test_a_held_call_survives_the_live_store() -> None:
    core = center("ana")
    call = connected_call(core)
    core.hold_call("c1", "ana", at(10))
    core.set_muted("c1", "ana", True)
    again = decode_call(encode_call(call))
    assert (again.held_since, again.hold_count, again.held_seconds, again.muted) == (at(10), 1, 0.0, True)
