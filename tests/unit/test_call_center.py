"""The call-center core: exact command sequences for each event, and invariants under random event sequences."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from cti.acd import (
    DESK_WRAP_UP,
    Agent,
    AgentChanged,
    AgentState,
    Command,
    Connect,
    ContactCenter,
    EndReason,
    ExtensionInUse,
    Hangup,
    InvalidTransition,
    Offer,
    Outcome,
    PendingChange,
    UnknownAgent,
    UnknownWork,
    WorkChanged,
    WorkItem,
    WorkState,
    parse_rules,
)

T0 = datetime(2024, 5, 6, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_call(call_id: str, arrived: float = 0, *, service: str = "1500100") -> WorkItem:
    # The queue is the routing rules' decision; "unrouted" shows that whatever the caller put there is replaced.
    return WorkItem(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550123",
                service_number=service, queue="unrouted", arrived_at=at(arrived), caller_name="Budi")


def kinds(commands: list[Command]) -> list[str]:
    return [type(c).__name__ for c in commands]


def center(*agent_ids: str) -> ContactCenter:
    core = ContactCenter()
    for agent_id in agent_ids:
        core.add_agent(agent_id, agent_id.title())
    return core


def ready(core: ContactCenter, agent_id: str, extension: str, when: float) -> list[Command]:
    return core.login(agent_id, extension, at(when), ready=True)


def connected_call(core: ContactCenter) -> WorkItem:
    """ana (7001) on call c1 since t=8."""
    ready(core, "ana", "7001", 1)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    core.offer_answered("c1-a1", at(8))
    assert call.state is WorkState.CONNECTED
    return call


# -- arrival, offer, answer, hang-up ---------------------------------------------------------------------
def test_arrival_without_agents_waits() -> None:
    core = center("ana")
    call = new_call("c1")
    assert core.call_arrived(call, at(0)) == [WorkChanged(call.snapshot())]
    assert call.state is WorkState.WAITING and call.offers == 0 and call.agent_id is None
    assert core.waiting() == [call]
    assert core.call_for_channel("chan-c1") is call
    # A duplicate arrival (the same StasisStart delivered twice) changes nothing.
    assert core.call_arrived(new_call("c1"), at(1)) == []


def test_ready_login_offers_the_waiting_call() -> None:
    core = center("ana")
    call = new_call("c1")
    core.call_arrived(call, at(0))
    commands = core.login("ana", "7001", at(5), ready=True)
    assert kinds(commands) == ["AgentChanged", "Offer", "WorkChanged", "AgentChanged"]
    first = commands[0]
    assert isinstance(first, AgentChanged)
    assert (first.agent.state, first.agent.extension, first.agent.idle_since) == (AgentState.READY, "7001", at(5))
    assert commands[1] == Offer(call_id="c1", agent_id="ana", extension="7001", agent_channel_id="c1-a1",
                                    caller_channel_id="chan-c1", caller_number="0215550123", caller_name="Budi")
    agent = core.agent("ana")
    assert commands[2] == WorkChanged(call.snapshot())
    assert commands[3] == AgentChanged(agent.snapshot())
    assert (call.state, call.agent_id, call.agent_extension, call.agent_channel_id, call.offers, call.offered_at) == (
        WorkState.RINGING, "ana", "7001", "c1-a1", 1, at(5))
    assert (agent.state, agent.call_id) == (AgentState.RINGING, "c1")
    assert core.call_for_channel("c1-a1") is call
    assert core.waiting() == []


def test_login_not_ready_offers_nothing() -> None:
    core = center("ana")
    core.call_arrived(new_call("c1"), at(0))
    commands = core.login("ana", "7001", at(1))
    assert kinds(commands) == ["AgentChanged"]
    agent = core.agent("ana")
    assert (agent.state, agent.reason, agent.idle_since) == (AgentState.NOT_READY, "login", None)
    commands = core.set_ready("ana", at(2))
    assert kinds(commands) == ["AgentChanged", "Offer", "WorkChanged", "AgentChanged"]


def test_offer_answered_connects() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    commands = core.offer_answered("c1-a1", at(8))
    agent = core.agent("ana")
    assert commands == [
        Connect(call_id="c1", caller_channel_id="chan-c1", agent_channel_id="c1-a1", queue="general"),
        WorkChanged(call.snapshot()),
        AgentChanged(agent.snapshot()),
    ]
    assert (call.state, call.answered_at, call.wait_seconds) == (WorkState.CONNECTED, at(8), 3.0)
    assert (agent.state, agent.call_id, agent.idle_since) == (AgentState.ON_CALL, "c1", at(1))


def test_caller_hangs_up_while_connected() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.channel_gone("chan-c1", at(20))
    agent = core.agent("ana")
    assert commands == [Hangup("c1-a1", "c1"), AgentChanged(agent.snapshot()), WorkChanged(call.snapshot())]
    assert (call.state, call.outcome, call.end_reason, call.ended_at) == (
        WorkState.ENDED, Outcome.ANSWERED, EndReason.CALLER_HANGUP, at(20))
    assert call.talk_seconds == 12.0
    assert (agent.state, agent.call_id, agent.calls_handled, agent.idle_since) == (AgentState.READY, None, 1, at(20))
    assert "c1" not in core.calls
    assert core.call_for_channel("chan-c1") is None and core.call_for_channel("c1-a1") is None
    # The agent leg's own hang-up arrives afterwards and is ignored.
    assert core.channel_gone("c1-a1", at(21)) == []
    assert agent.calls_handled == 1


def test_an_agent_at_a_desktop_wraps_up_before_the_next_call_even_without_after_call_time() -> None:
    # The queue gives no after-call time. Ana has her desktop open: the call ends in wrap-up, and the caller
    # waiting meanwhile is not offered to her until she saves the wrap-up (or DESK_WRAP_UP passes).
    core = center("ana")
    core.set_desk("ana", True)
    connected_call(core)
    core.call_arrived(new_call("c2", 15), at(15))
    core.channel_gone("chan-c1", at(20))
    agent = core.agent("ana")
    assert (agent.state, agent.wrap_up_until) == (AgentState.WRAP_UP, at(20 + DESK_WRAP_UP))
    assert core.calls["c2"].state is WorkState.WAITING
    assert kinds(core.tick(at(60))) == []  # still writing
    assert "Offer" in kinds(core.set_ready("ana", at(70)))  # saved: the next call comes
    assert core.calls["c2"].agent_id == "ana"


def test_a_desktop_left_open_keeps_an_agent_from_calls_for_desk_wrap_up_at_most() -> None:
    core = center("ana")
    core.set_desk("ana", True)
    connected_call(core)
    core.call_arrived(new_call("c2", 15), at(15))
    core.channel_gone("chan-c1", at(20))
    assert "Offer" in kinds(core.tick(at(20 + DESK_WRAP_UP)))
    # Without a desktop (closed, or a machine client) a call ends as the queue says: ready at once.
    core.set_desk("ana", False)
    core.offer_answered("c2-a2", at(200))
    core.channel_gone("chan-c2", at(210))
    assert core.agent("ana").state is AgentState.READY


def test_a_hang_up_handled_late_ends_the_call_when_asterisk_says_and_decides_now() -> None:
    # The controller handles at t=26 a hang-up Asterisk stamped t=20 (busy, or catching up after a reconnect).
    core = center("ana")
    call = connected_call(core)
    core.call_arrived(new_call("c2", 15), at(15))
    commands = core.channel_gone("chan-c1", at(26), at=at(20))
    agent = core.agent("ana")
    assert (call.ended_at, call.talk_seconds, call.legs[0].ended) == (at(20), 12.0, at(20))
    assert (agent.calls_handled, agent.busy_seconds) == (1, 15.0)  # rung at t=5, on the call until t=20
    # The next caller is offered now, not back then: their wait and the offer are stamped t=26.
    assert kinds(commands) == ["Hangup", "AgentChanged", "WorkChanged", "Offer", "WorkChanged", "AgentChanged"]
    c2 = core.calls["c2"]
    assert (c2.state, c2.offered_at, c2.decisions[-1].at, agent.state_since) == (
        WorkState.RINGING, at(26), at(26), at(26))


def test_a_hang_up_stamped_out_of_bounds_is_held_between_what_is_known_and_now() -> None:
    # Asterisk's clock behind ours says the caller left before the answer cti saw: the call ends at the answer,
    # never with negative talk; one ahead of ours says later than now: now.
    core = center("ana")
    call = connected_call(core)
    core.channel_gone("chan-c1", at(20), at=at(3))
    assert (call.ended_at, call.talk_seconds) == (at(8), 0.0)
    core = center("ana")
    call = connected_call(core)
    core.hold_call("c1", "ana", at(12))
    core.channel_gone("c1-a1", at(20), at=at(11))  # before the hold the agent began at t=12
    assert (call.ended_at, call.hold_seconds()) == (at(12), 0.0)
    core = center("ana")
    call = connected_call(core)
    core.channel_gone("chan-c1", at(20), at=at(25))
    assert (call.ended_at, call.talk_seconds) == (at(20), 12.0)


def test_agent_hangs_up_while_connected() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.channel_gone("c1-a1", at(30))
    agent = core.agent("ana")
    assert commands == [Hangup("chan-c1", "c1"), AgentChanged(agent.snapshot()), WorkChanged(call.snapshot())]
    assert (call.outcome, call.end_reason) == (Outcome.ANSWERED, EndReason.AGENT_HANGUP)
    assert (agent.state, agent.calls_handled) == (AgentState.READY, 1)
    assert core.calls == {}
    assert core.channel_gone("chan-c1", at(31)) == []


def test_caller_abandons_while_waiting() -> None:
    core = center("ana")
    call = new_call("c1")
    core.call_arrived(call, at(0))
    assert core.channel_gone("chan-c1", at(7)) == [WorkChanged(call.snapshot())]
    assert (call.outcome, call.end_reason, call.wait_seconds) == (Outcome.ABANDONED, EndReason.CALLER_HANGUP, 7.0)
    assert core.calls == {}


def test_ring_no_answer_makes_agent_not_ready_and_offers_the_next_agent() -> None:
    core = center("ana", "bob")
    ready(core, "ana", "7001", 1)
    ready(core, "bob", "7002", 2)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    assert call.agent_id == "ana"
    commands = core.channel_gone("c1-a1", at(20), offer_failure="no_answer")
    ana, bob = core.agent("ana"), core.agent("bob")
    assert kinds(commands) == ["AgentChanged", "WorkChanged", "Offer", "WorkChanged", "AgentChanged"]
    first, back = commands[0], commands[1]
    assert isinstance(first, AgentChanged) and isinstance(back, WorkChanged)
    assert (first.agent.agent_id, first.agent.state, first.agent.reason) == ("ana", AgentState.NOT_READY, "no_answer")
    assert (back.item.state, back.item.agent_id, back.item.agent_channel_id) == (WorkState.WAITING, None, None)
    assert commands[2] == Offer("c1", "bob", "7002", "c1-a2", "chan-c1", "0215550123", "Budi")
    assert (ana.state, ana.reason, ana.call_id) == (AgentState.NOT_READY, "no_answer", None)
    assert (bob.state, bob.call_id) == (AgentState.RINGING, "c1")
    assert (call.state, call.agent_id, call.agent_channel_id, call.offers) == (
        WorkState.RINGING, "bob", "c1-a2", 2)
    assert call.offered_at == at(5)  # the first offer's time
    # ana picks up too late: her leg is no longer the call's, so it is hung up.
    assert core.offer_answered("c1-a1", at(21)) == [Hangup("c1-a1")]
    assert call.state is WorkState.RINGING
    core.offer_answered("c1-a2", at(22))
    assert (call.state, bob.state) == (WorkState.CONNECTED, AgentState.ON_CALL)


def test_ring_no_answer_with_nobody_else_leaves_the_call_waiting() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    commands = core.channel_gone("c1-a1", at(20), offer_failure="busy")
    assert kinds(commands) == ["AgentChanged", "WorkChanged"]
    assert (call.state, call.offers) == (WorkState.WAITING, 1)
    assert core.agent("ana").reason == "busy"
    commands = core.set_ready("ana", at(30))
    assert kinds(commands) == ["AgentChanged", "Offer", "WorkChanged", "AgentChanged"]
    assert (call.agent_channel_id, call.offers) == ("c1-a2", 2)


def test_agent_leg_lost_without_agent_fault_keeps_agent_ready_in_place() -> None:
    core = center("ana", "bob")
    ready(core, "ana", "7001", 1)
    ready(core, "bob", "7002", 2)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    commands = core.channel_gone("c1-a1", at(9))  # offer_failure=None: the system failed, not ana
    ana = core.agent("ana")
    # Not offered again at once (the same failure would repeat in a tight loop) ...
    assert kinds(commands) == ["AgentChanged", "WorkChanged"]
    assert (ana.state, ana.idle_since) == (AgentState.READY, at(1))
    # ... but a second later; ana is still the longest idle, so the call rings her again on a new leg.
    commands = core.tick(at(10))
    assert kinds(commands) == ["Offer", "WorkChanged", "AgentChanged"]
    assert (call.agent_id, call.agent_channel_id, call.offers) == ("ana", "c1-a2", 2)
    assert (ana.state, ana.idle_since) == (AgentState.RINGING, at(1))


def test_caller_abandons_while_ringing_agent_keeps_place_in_line() -> None:
    core = center("ana", "bob")
    ready(core, "ana", "7001", 1)
    ready(core, "bob", "7002", 2)
    call = new_call("c1", 5)
    core.call_arrived(call, at(5))
    commands = core.channel_gone("chan-c1", at(9))
    ana = core.agent("ana")
    assert commands == [Hangup("c1-a1", "c1"), AgentChanged(ana.snapshot()), WorkChanged(call.snapshot())]
    assert (call.outcome, call.end_reason, call.answered_at) == (Outcome.ABANDONED, EndReason.CALLER_HANGUP, None)
    assert (ana.state, ana.idle_since, ana.calls_handled, ana.call_id) == (AgentState.READY, at(1), 0, None)
    # The ringing leg's end arrives after the call ended: nothing happens.
    assert core.channel_gone("c1-a1", at(10), offer_failure="no_answer") == []
    assert ana.state is AgentState.READY
    # ana is still first in line.
    core.call_arrived(new_call("c2", 11), at(11))
    assert core.calls["c2"].agent_id == "ana"


def test_stale_offer_answered_hangs_up_that_channel() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    core.call_arrived(new_call("c1", 5), at(5))
    core.channel_gone("chan-c1", at(6))
    assert core.offer_answered("c1-a1", at(7)) == [Hangup("c1-a1")]
    assert core.offer_answered("never-seen", at(7)) == [Hangup("never-seen")]
    assert core.agent("ana").state is AgentState.READY
    assert core.channel_gone("never-seen", at(8)) == []


def test_duplicate_answer_of_the_connected_leg_is_ignored() -> None:
    """A second StasisStart for the connected agent leg (resync racing the event) must change nothing.

    It must neither hang up the agent talking to the caller nor forget the leg, or the leg's later
    hang-up would be ignored and the call would stay connected with nobody on the agent side.
    """
    core = center("ana")
    call = connected_call(core)
    assert core.offer_answered("c1-a1", at(9)) == []
    assert (call.state, core.agent("ana").state) == (WorkState.CONNECTED, AgentState.ON_CALL)
    assert core.call_for_channel("c1-a1") is call
    commands = core.channel_gone("c1-a1", at(10))
    assert kinds(commands) == ["Hangup", "AgentChanged", "WorkChanged"]
    assert call.state is WorkState.ENDED


# -- pending changes --------------------------------------------------------------------------------------
def test_not_ready_during_a_call_applies_at_hang_up() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.set_not_ready("ana", "lunch", at(10))
    ana = core.agent("ana")
    assert commands == [AgentChanged(ana.snapshot())]
    assert (ana.state, ana.pending) == (AgentState.ON_CALL, PendingChange(AgentState.NOT_READY, "lunch"))
    core.call_arrived(new_call("c2", 11), at(11))
    core.channel_gone("chan-c1", at(20))
    assert (ana.state, ana.reason, ana.pending, ana.calls_handled) == (AgentState.NOT_READY, "lunch", None, 1)
    assert call.outcome is Outcome.ANSWERED
    assert core.calls["c2"].state is WorkState.WAITING  # not offered to ana


def test_logout_during_a_call_applies_at_hang_up() -> None:
    core = center("ana", "bob")
    connected_call(core)
    core.logout("ana", at(10))
    ana = core.agent("ana")
    assert (ana.state, ana.extension, ana.pending) == (AgentState.ON_CALL, "7001", PendingChange(AgentState.LOGGED_OUT))
    core.channel_gone("c1-a1", at(20))
    assert (ana.state, ana.extension, ana.pending, ana.calls_handled) == (AgentState.LOGGED_OUT, None, None, 1)
    # Her extension is free again.
    core.login("bob", "7001", at(21))
    assert core.agent("bob").extension == "7001"


def test_ready_during_a_call_cancels_the_pending_change() -> None:
    core = center("ana")
    connected_call(core)
    core.set_not_ready("ana", "lunch", at(10))
    commands = core.set_ready("ana", at(11))
    assert kinds(commands) == ["AgentChanged"]
    ana = core.agent("ana")
    assert (ana.state, ana.pending) == (AgentState.ON_CALL, None)
    core.channel_gone("chan-c1", at(20))
    assert (ana.state, ana.idle_since) == (AgentState.READY, at(20))


def test_pending_changes_while_ringing() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 1)
    core.call_arrived(new_call("c1", 5), at(5))
    core.logout("ana", at(6))
    core.channel_gone("c1-a1", at(9), offer_failure="no_answer")
    ana = core.agent("ana")
    assert (ana.state, ana.extension, ana.pending) == (AgentState.LOGGED_OUT, None, None)
    core.channel_gone("chan-c1", at(9))

    ready(core, "ana", "7001", 10)
    core.call_arrived(new_call("c2", 11), at(11))
    core.set_not_ready("ana", "meeting", at(12))
    core.channel_gone("c2-a1", at(13))  # the system lost the leg: ana's own request applies
    assert (ana.state, ana.reason) == (AgentState.NOT_READY, "meeting")

    core.set_ready("ana", at(14))
    assert core.calls["c2"].agent_channel_id == "c2-a2"
    core.set_not_ready("ana", "meeting", at(15))
    core.channel_gone("chan-c2", at(16))  # caller gave up while ringing
    assert (ana.state, ana.reason, ana.calls_handled) == (AgentState.NOT_READY, "meeting", 0)


# -- refusals ---------------------------------------------------------------------------------------------
def test_extension_in_use() -> None:
    core = center("ana", "bob")
    ready(core, "ana", "7001", 1)
    with pytest.raises(ExtensionInUse) as info:
        core.login("bob", "7001", at(2))
    assert (info.value.extension, info.value.agent_id) == ("7001", "ana")
    assert "7001" in str(info.value) and "ana" in str(info.value)
    assert core.agent("bob").state is AgentState.LOGGED_OUT
    # Logging in again at one's own extension is fine.
    assert kinds(core.login("ana", "7001", at(3))) == ["AgentChanged"]
    core.logout("ana", at(4))
    core.login("bob", "7001", at(5))


def test_login_elsewhere_during_a_call_is_refused() -> None:
    core = center("ana")
    connected_call(core)
    with pytest.raises(InvalidTransition):
        core.login("ana", "7002", at(10))
    assert core.agent("ana").extension == "7001"
    core.login("ana", "7001", at(10), ready=True)  # same extension: harmless
    assert core.agent("ana").state is AgentState.ON_CALL


def test_logged_out_agent_cannot_change_state() -> None:
    core = center("ana")
    with pytest.raises(InvalidTransition):
        core.set_ready("ana", at(1))
    with pytest.raises(InvalidTransition):
        core.set_not_ready("ana", "break", at(1))
    assert core.agent("ana").state is AgentState.LOGGED_OUT
    assert kinds(core.logout("ana", at(1))) == ["AgentChanged"]  # logging out twice is harmless
    assert core.agent("ana").state_since is None


def test_unknown_agent_and_call() -> None:
    core = center("ana")
    for action in (lambda: core.login("ghost", "7001", at(1)), lambda: core.set_ready("ghost", at(1)),
                   lambda: core.set_not_ready("ghost", "x", at(1)), lambda: core.logout("ghost", at(1)),
                   lambda: core.agent("ghost")):
        with pytest.raises(UnknownAgent) as info:
            action()
        assert info.value.agent_id == "ghost"
    with pytest.raises(UnknownWork):
        core.call("nope")
    with pytest.raises(UnknownWork):
        core.call_lost("nope", at(1))


# -- calls lost on resync ---------------------------------------------------------------------------------
def test_call_lost_while_connected() -> None:
    core = center("ana")
    call = connected_call(core)
    commands = core.call_lost("c1", at(30))
    ana = core.agent("ana")
    assert commands == [Hangup("c1-a1", "c1"), AgentChanged(ana.snapshot()), WorkChanged(call.snapshot())]
    assert (call.outcome, call.end_reason) == (Outcome.ANSWERED, EndReason.CHANNEL_LOST)
    assert (ana.state, ana.calls_handled) == (AgentState.READY, 1)
    assert core.calls == {} and core.call_for_channel("chan-c1") is None


def test_call_lost_while_waiting_or_ringing_failed() -> None:
    core = center("ana")
    waiting = new_call("c1", 0)
    core.call_arrived(waiting, at(0))
    assert core.call_lost("c1", at(3)) == [WorkChanged(waiting.snapshot())]
    assert (waiting.outcome, waiting.end_reason) == (Outcome.FAILED, EndReason.CHANNEL_LOST)

    ready(core, "ana", "7001", 4)
    ringing = new_call("c2", 5)
    core.call_arrived(ringing, at(5))
    commands = core.call_lost("c2", at(6))
    assert kinds(commands) == ["Hangup", "AgentChanged", "WorkChanged"]
    assert commands[0] == Hangup("c2-a1", "c2")
    assert ringing.outcome is Outcome.FAILED
    ana = core.agent("ana")
    assert (ana.state, ana.idle_since, ana.calls_handled) == (AgentState.READY, at(4), 0)


def test_call_lost_hands_the_agent_the_next_call() -> None:
    core = center("ana")
    connected_call(core)
    core.call_arrived(new_call("c2", 9), at(9))
    commands = core.call_lost("c1", at(30))
    assert kinds(commands)[-3:] == ["Offer", "WorkChanged", "AgentChanged"]
    assert core.calls["c2"].agent_id == "ana"


# -- ordering ---------------------------------------------------------------------------------------------
def test_longest_idle_agent_gets_the_call() -> None:
    core = center("ana", "bob", "cem", "dan")
    ready(core, "cem", "7003", 1)
    ready(core, "ana", "7001", 2)
    ready(core, "bob", "7002", 2)  # same idle time as ana: ties go by agent id
    ready(core, "dan", "7004", 3)
    for n in range(1, 5):
        core.call_arrived(new_call(f"c{n}", 10 + n), at(10 + n))
    assert [core.calls[f"c{n}"].agent_id for n in range(1, 5)] == ["cem", "ana", "bob", "dan"]


def test_agent_who_just_finished_goes_to_the_back_of_the_line() -> None:
    core = center("ana", "bob")
    connected_call(core)  # ana ready at t=1, on c1 from t=8
    ready(core, "bob", "7002", 9)
    core.channel_gone("chan-c1", at(20))  # ana idle since t=20 now; bob since t=9
    core.call_arrived(new_call("c2", 21), at(21))
    assert core.calls["c2"].agent_id == "bob"


def test_waiting_calls_are_served_in_arrival_order() -> None:
    core = center("ana")
    # Arrival events may be handled out of order; arrival time decides.
    core.call_arrived(new_call("late", 5), at(5))
    core.call_arrived(new_call("early", 3), at(5))
    core.call_arrived(new_call("last", 8), at(8))
    core.call_arrived(new_call("b-tie", 8), at(8))
    assert [c.call_id for c in core.waiting()] == ["early", "late", "b-tie", "last"]
    served = []
    ready(core, "ana", "7001", 10)
    for n in range(4):
        call = next(c for c in core.calls.values() if c.state is WorkState.RINGING)
        served.append(call.call_id)
        core.offer_answered(call.agent_channel_id or "", at(11 + n))
        core.channel_gone(call.channel_id, at(12 + n))
    assert served == ["early", "late", "b-tie", "last"]
    assert core.agent("ana").calls_handled == 4


def test_waiting_filters_by_queue() -> None:
    core = ContactCenter(parse_rules({"queues": {"general": {}, "sales": {}}, "default_queue": "general",
                                   "routes": [{"name": "sales", "when": {"service_number": "1500200"},
                                               "queue": "sales"}]}))
    core.call_arrived(new_call("s1", 1, service="1500200"), at(1))
    core.call_arrived(new_call("g1", 2), at(2))
    assert [c.call_id for c in core.waiting("sales")] == ["s1"]
    assert [c.call_id for c in core.waiting()] == ["s1", "g1"]


def test_restore_reloads_live_calls_and_channels() -> None:
    core = center("ana")
    call = connected_call(core)
    ended = new_call("old", 0)
    ended.state = WorkState.ENDED
    fresh = ContactCenter()
    fresh.restore([core.agent("ana").snapshot()], [call.snapshot(), ended])
    assert set(fresh.calls) == {"c1"}
    assert fresh.call_for_channel("c1-a1") is fresh.calls["c1"]
    commands = fresh.channel_gone("chan-c1", at(40))
    assert kinds(commands) == ["Hangup", "AgentChanged", "WorkChanged"]
    assert fresh.agent("ana").calls_handled == 1


# -- invariants under random event sequences --------------------------------------------------------------
AGENTS = ("a1", "a2", "a3", "a4")
EXTENSIONS = ("7001", "7002", "7003", "7004")
REASONS = ("break", "lunch")
FAILURES = (None, "no_answer", "busy", "unreachable")


class CallCenterMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.core = ContactCenter()
        for agent_id in AGENTS:
            self.core.add_agent(agent_id)
        self.now = T0
        self.arrivals = 0
        self.offers: Counter[str] = Counter()
        self.ended: dict[str, WorkItem] = {}
        self.channels: list[str] = []  # every channel id ever seen, for stale events

    # -- helpers
    def tick(self, seconds: int) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def apply(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Offer):
                self.offers[command.call_id] += 1
                assert command.agent_channel_id == f"{command.call_id}-a{self.offers[command.call_id]}"
                self.channels.append(command.agent_channel_id)
            elif isinstance(command, WorkChanged) and command.item.state is WorkState.ENDED:
                call = command.item
                assert call.call_id not in self.ended, f"call {call.call_id} ended twice"
                assert call.outcome is not None and call.end_reason is not None and call.ended_at is not None
                self.ended[call.call_id] = call

    def live(self, *states: WorkState) -> list[WorkItem]:
        return sorted((c for c in self.core.calls.values() if c.state in states), key=lambda c: c.call_id)

    # -- agents
    @rule(agent=st.sampled_from(AGENTS), extension=st.sampled_from(EXTENSIONS), ready=st.booleans(),
          dt=st.integers(0, 3))
    def login(self, agent: str, extension: str, ready: bool, dt: int) -> None:
        try:
            self.apply(self.core.login(agent, extension, self.tick(dt), ready=ready))
        except (ExtensionInUse, InvalidTransition):
            pass

    @rule(agent=st.sampled_from(AGENTS), dt=st.integers(0, 3))
    def set_ready(self, agent: str, dt: int) -> None:
        try:
            self.apply(self.core.set_ready(agent, self.tick(dt)))
        except InvalidTransition:
            assert self.core.agent(agent).state is AgentState.LOGGED_OUT

    @rule(agent=st.sampled_from(AGENTS), reason=st.sampled_from(REASONS), dt=st.integers(0, 3))
    def set_not_ready(self, agent: str, reason: str, dt: int) -> None:
        try:
            self.apply(self.core.set_not_ready(agent, reason, self.tick(dt)))
        except InvalidTransition:
            assert self.core.agent(agent).state is AgentState.LOGGED_OUT

    @rule(agent=st.sampled_from(AGENTS), dt=st.integers(0, 3))
    def logout(self, agent: str, dt: int) -> None:
        self.apply(self.core.logout(agent, self.tick(dt)))

    # -- calls
    @rule(dt=st.integers(0, 3), back=st.integers(0, 2))
    def arrive(self, dt: int, back: int) -> None:
        self.arrivals += 1
        now = self.tick(dt)
        call = new_call(f"c{self.arrivals:03d}")
        call.arrived_at = now - timedelta(seconds=back)  # events may be handled a little late
        self.channels.append(call.channel_id)
        self.apply(self.core.call_arrived(call, now))

    @precondition(lambda self: self.live(WorkState.RINGING))
    @rule(data=st.data(), dt=st.integers(0, 3))
    def agent_answers(self, data: st.DataObject, dt: int) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.RINGING)))
        commands = self.core.offer_answered(call.agent_channel_id or "", self.tick(dt))
        assert kinds(commands) == ["Connect", "WorkChanged", "AgentChanged"]
        self.apply(commands)

    @precondition(lambda self: self.live(WorkState.RINGING))
    @rule(data=st.data(), failure=st.sampled_from(FAILURES), dt=st.integers(0, 3))
    def offer_fails(self, data: st.DataObject, failure: str | None, dt: int) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.RINGING)))
        self.apply(self.core.channel_gone(call.agent_channel_id or "", self.tick(dt), offer_failure=failure))
        assert call.state is not WorkState.ENDED

    @precondition(lambda self: self.live(WorkState.CONNECTED))
    @rule(data=st.data(), dt=st.integers(0, 3))
    def agent_hangs_up(self, data: st.DataObject, dt: int) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.CONNECTED)))
        self.apply(self.core.channel_gone(call.agent_channel_id or "", self.tick(dt)))
        assert (call.outcome, call.end_reason) == (Outcome.ANSWERED, EndReason.AGENT_HANGUP)

    @precondition(lambda self: self.core.calls)
    @rule(data=st.data(), dt=st.integers(0, 3))
    def caller_hangs_up(self, data: st.DataObject, dt: int) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.WAITING, WorkState.RINGING, WorkState.CONNECTED)))
        was = call.state
        self.apply(self.core.channel_gone(call.channel_id, self.tick(dt)))
        expected = Outcome.ANSWERED if was is WorkState.CONNECTED else Outcome.ABANDONED
        assert (call.outcome, call.end_reason) == (expected, EndReason.CALLER_HANGUP)

    @precondition(lambda self: self.core.calls)
    @rule(data=st.data(), dt=st.integers(0, 3))
    def call_lost(self, data: st.DataObject, dt: int) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.WAITING, WorkState.RINGING, WorkState.CONNECTED)))
        was = call.state
        self.apply(self.core.call_lost(call.call_id, self.tick(dt)))
        expected = Outcome.ANSWERED if was is WorkState.CONNECTED else Outcome.FAILED
        assert (call.outcome, call.end_reason) == (expected, EndReason.CHANNEL_LOST)

    @precondition(lambda self: self.channels)
    @rule(data=st.data(), failure=st.sampled_from(FAILURES), answered=st.booleans(), dt=st.integers(0, 3))
    def late_event(self, data: st.DataObject, failure: str | None, answered: bool, dt: int) -> None:
        """Any channel we ever saw answers or goes away again (duplicate and stale events)."""
        channel = data.draw(st.sampled_from(self.channels))
        call = self.core.call_for_channel(channel)
        if answered and "-a" in channel:
            if call is not None and call.state is WorkState.CONNECTED and call.agent_channel_id == channel:
                return  # a duplicate answer of a connected leg: test_duplicate_answer_of_the_connected_leg...
            current = call is not None and call.state is WorkState.RINGING and call.agent_channel_id == channel
            commands = self.core.offer_answered(channel, self.tick(dt))
            if not current:
                assert commands == [Hangup(channel)]
            self.apply(commands)
        else:
            self.apply(self.core.channel_gone(channel, self.tick(dt), offer_failure=failure))

    # -- invariants
    @invariant()
    def one_call_per_agent(self) -> None:
        busy = [c.agent_id for c in self.live(WorkState.RINGING, WorkState.CONNECTED)]
        assert len(busy) == len(set(busy)), f"an agent has two calls: {busy}"

    @invariant()
    def offered_calls_reference_their_agent(self) -> None:
        for call in self.live(WorkState.RINGING, WorkState.CONNECTED):
            assert call.agent_id is not None and call.agent_extension is not None
            agent = self.core.agents[call.agent_id]
            assert agent.call_id == call.call_id
            expected = AgentState.RINGING if call.state is WorkState.RINGING else AgentState.ON_CALL
            assert agent.state is expected
            assert agent.extension == call.agent_extension
            assert call.agent_channel_id == f"{call.call_id}-a{call.offers}"
            assert self.core.call_for_channel(call.agent_channel_id) is call
            assert (call.answered_at is not None) == (call.state is WorkState.CONNECTED)

    @invariant()
    def waiting_calls_have_no_agent(self) -> None:
        for call in self.live(WorkState.WAITING):
            assert call.agent_id is call.agent_channel_id is call.agent_extension is None
            assert call.answered_at is None

    @invariant()
    def busy_agents_have_a_live_call(self) -> None:
        for agent in self.core.agents.values():
            if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
                assert agent.call_id in self.core.calls, f"{agent.agent_id} is {agent.state} without a call"
                call = self.core.calls[agent.call_id]
                assert call.agent_id == agent.agent_id
            else:
                assert agent.call_id is None and agent.pending is None

    @invariant()
    def work_conserving(self) -> None:
        # Calls pausing after an offer that failed through no fault of the agent are not yet offerable.
        if [c for c in self.live(WorkState.WAITING) if c.not_before is None]:
            idle = [a.agent_id for a in self.core.agents.values() if a.state is AgentState.READY and a.extension]
            assert idle == [], f"agents {idle} idle while calls wait"

    @invariant()
    def extensions_are_consistent(self) -> None:
        held = [a.extension for a in self.core.agents.values() if a.extension is not None]
        assert len(held) == len(set(held))
        for agent in self.core.agents.values():
            assert (agent.extension is None) == (agent.state is AgentState.LOGGED_OUT)

    @invariant()
    def ended_calls_are_gone_with_an_outcome(self) -> None:
        for call_id, call in self.ended.items():
            assert call_id not in self.core.calls
            assert self.core.call_for_channel(call.channel_id) is None
            assert call.outcome is not None and call.end_reason is not None
            assert (call.outcome is Outcome.ANSWERED) == (call.answered_at is not None)
        assert all(c.state is not WorkState.ENDED for c in self.core.calls.values())
        assert set(self.core.calls) | set(self.ended) == {f"c{n:03d}" for n in range(1, self.arrivals + 1)}

    @invariant()
    def offer_commands_match_offers(self) -> None:
        for call in [*self.core.calls.values(), *self.ended.values()]:
            assert self.offers[call.call_id] == call.offers
            if call.offers:
                assert call.offered_at is not None and call.arrived_at - timedelta(seconds=2) <= call.offered_at

    @invariant()
    def handled_counts_match_answered_calls(self) -> None:
        answered = sum(c.outcome is Outcome.ANSWERED for c in self.ended.values())
        assert sum(a.calls_handled for a in self.core.agents.values()) == answered


CallCenterMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_call_center_invariants = CallCenterMachine.TestCase


def test_bridge_failure_is_recorded_as_failed_not_answered() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 0)
    core.call_arrived(new_call("c1", 1), at(1))
    core.offer_answered("c1-a1", at(2))
    commands = core.bridge_failed("c1", at(2.1))
    assert [c for c in commands if isinstance(c, Hangup)] == [
        Hangup("chan-c1", "c1"), Hangup("c1-a1", "c1")]
    [ended] = [c.item for c in commands if isinstance(c, WorkChanged)]
    assert (ended.outcome, ended.end_reason) == (Outcome.FAILED, EndReason.BRIDGE_FAILED)
    agent = core.agents["ana"]
    assert (agent.state, agent.calls_handled) == (AgentState.READY, 0)
    assert core.channel_gone("chan-c1", at(2.2)) == []  # the hang-up that follows changes nothing


def test_system_fault_on_offer_keeps_agent_ready_at_the_back_of_the_line() -> None:
    core = center("ana", "budi")
    ready(core, "ana", "7001", 0)
    ready(core, "budi", "7002", 1)
    core.call_arrived(new_call("c1", 2), at(2))  # offered to ana, idle longest
    core.channel_gone("c1-a1", at(3), system_fault=True)
    assert core.agents["ana"].state is AgentState.READY and core.agents["ana"].idle_since == at(3)
    commands = core.tick(at(4.1))  # a second later, the call is offered again: budi is now idle longest
    assert [(c.call_id, c.agent_id) for c in commands if isinstance(c, Offer)] == [("c1", "budi")]


def test_system_fault_delays_the_next_offer_of_that_call() -> None:
    core = center("ana")
    ready(core, "ana", "7001", 0)
    core.call_arrived(new_call("c1", 1), at(1))
    commands = core.channel_gone("c1-a1", at(1.1), system_fault=True)  # Asterisk refused the originate
    assert not [c for c in commands if isinstance(c, Offer)]  # no instant retry: that would storm
    assert not [c for c in core.tick(at(1.5)) if isinstance(c, Offer)]
    assert [(c.call_id, c.agent_id) for c in core.tick(at(2.1)) if isinstance(c, Offer)] == [("c1", "ana")]


# -- state loaded or changed without a decision -------------------------------------------------------------
def test_restored_ready_agent_and_waiting_call_meet_at_the_next_decision() -> None:
    agent = Agent(agent_id="ana", extension="7001", state=AgentState.READY, idle_since=at(1), logged_in_at=at(1))
    waiting = new_call("c1", 0)
    waiting.queue = "general"
    core = ContactCenter()
    core.restore([agent], [waiting])
    assert waiting.state is WorkState.WAITING and agent.state is AgentState.READY  # restore decides nothing
    commands = core.call_arrived(new_call("c2", 5), at(5))
    assert [(c.call_id, c.agent_id) for c in commands if isinstance(c, Offer)] == [("c1", "ana")]
    assert (core.calls["c1"].state, core.calls["c2"].state) == (WorkState.RINGING, WorkState.WAITING)
    assert core.position(core.calls["c2"], at(5)) == 1


def test_rules_assigned_directly_apply_at_the_next_decision() -> None:
    core = ContactCenter(parse_rules({"queues": {"sales": {"skills": {"sales": 1}}}}))
    core.add_agent("ana")
    ready(core, "ana", "7001", 0)
    core.call_arrived(new_call("c1", 1), at(1))
    assert core.calls["c1"].state is WorkState.WAITING  # ana lacks the skill
    core.rules = parse_rules({"queues": {"sales": {}}})
    assert core.calls["c1"].state is WorkState.WAITING
    assert [(c.call_id, c.agent_id) for c in core.tick(at(2)) if isinstance(c, Offer)] == [("c1", "ana")]


def test_handle_time_counts_the_talk_of_a_call_the_caller_ended() -> None:
    # The smoothed AHT behind the estimated wait: 0.8 x the default 180 s + 0.2 x (talk 60 s + no wrap-up).
    core = center("ana")
    connected_call(core)  # answered at t=8
    core.channel_gone("chan-c1", at(68))
    assert core.estimated_wait("general", 1) == pytest.approx(0.8 * 180 + 0.2 * 60)
