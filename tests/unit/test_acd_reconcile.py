"""Reconciling after the adapter lost sight of its legs (a reconnect, a restart): nothing offered twice, and
what ended out of sight ended when sight was lost.

The bug this guards against, found by killing cti with 52 calls live: the resync checked each call against
a list of channels fetched before the loop, while offers made inside the loop created agent legs that list
could not know; the next call's check took such a leg for a vanished one, freed its agent, and offered them
another call — three offers to one phone within 2 ms.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.acd import (
    AgentState,
    Command,
    ContactCenter,
    EndReason,
    Offer,
    Outcome,
    WorkChanged,
    WorkItem,
    WorkState,
    parse_rules,
)

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
AGENTS = [f"a{n}" for n in range(8)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def floor(connected: int, waiting: int) -> ContactCenter:
    """``connected`` calls talking to the first agents, ``waiting`` more on hold; every agent logged in."""
    core = ContactCenter(parse_rules({"queues": {"general": {}}}))
    for n, agent_id in enumerate(AGENTS[:connected]):
        core.add_agent(agent_id)
        core.login(agent_id, f"70{n:02d}", at(0), ready=True)
    for n in range(connected + waiting):
        core.call_arrived(WorkItem(call_id=f"c{n}", channel_id=f"leg-c{n}", caller_number="0215550123",
                                   service_number="1500100", queue="", arrived_at=at(1 + n)), at(1 + n))
    for n in range(connected):
        core.offer_answered(f"c{n}-a1", at(20))
    assert [c.state for c in core.calls.values()].count(WorkState.CONNECTED) == connected
    return core


def present(core: ContactCenter, *, without: set[str] = frozenset()) -> dict[str, bool]:  # type: ignore[assignment]
    legs = {c.channel_id: True for c in core.calls.values()}
    legs |= {c.agent_channel_id: c.state is not WorkState.RINGING for c in core.calls.values() if c.agent_channel_id}
    return {leg: up for leg, up in legs.items() if leg not in without}


def offered(commands: list[Command]) -> Counter[str]:
    return Counter(c.agent_id for c in commands if isinstance(c, Offer))


def test_agents_who_hung_up_while_away_get_one_call_each_in_queue_order() -> None:
    core = floor(connected=6, waiting=5)
    # Out of sight from t=30: four agents hung up (their legs are gone), everyone else is still there.
    gone = {f"c{n}-a1" for n in range(4)}
    commands = core.reconcile(present(core, without=gone), at(60), lost_at=at(30))
    assert offered(commands) == Counter({f"a{n}": 1 for n in range(4)})
    # The four who waited longest (c6..c9) are offered, in order; c10 still waits.
    offers = [(c.call_id, c.agent_id) for c in commands if isinstance(c, Offer)]
    assert [call_id for call_id, _ in offers] == ["c6", "c7", "c8", "c9"]
    assert core.call("c10").state is WorkState.WAITING
    ended = {c.item.call_id: c.item for c in commands if isinstance(c, WorkChanged) and c.item.state is WorkState.ENDED}
    assert sorted(ended) == ["c0", "c1", "c2", "c3"]
    for call in ended.values():
        # Ended when sight was lost, not at the resync: talk time is not counted across the outage.
        assert (call.outcome, call.end_reason, call.ended_at, call.talk_seconds) == (
            Outcome.ANSWERED, EndReason.AGENT_HANGUP, at(30), 10.0)
    assert all(c.state is WorkState.CONNECTED for c in (core.call("c4"), core.call("c5")))


def test_callers_lost_while_away_end_when_sight_was_lost_and_free_their_agents_once() -> None:
    core = floor(connected=3, waiting=2)
    gone = {"leg-c0", "leg-c1"}
    commands = core.reconcile(present(core, without=gone), at(90), lost_at=at(50))
    ended = [c.item for c in commands if isinstance(c, WorkChanged) and c.item.state is WorkState.ENDED]
    assert [(c.call_id, c.end_reason, c.ended_at) for c in ended] == [
        ("c0", EndReason.CHANNEL_LOST, at(50)), ("c1", EndReason.CHANNEL_LOST, at(50))]
    assert offered(commands) == Counter({"a0": 1, "a1": 1})
    # The agents' own records say when they became free: when the calls ended.
    assert core.agent("a0").state is AgentState.RINGING and core.call("c3").agent_id == "a0"


def test_an_offer_answered_while_away_is_connected() -> None:
    core = floor(connected=1, waiting=0)
    core.add_agent("late")
    core.login("late", "7099", at(21), ready=True)
    core.call_arrived(WorkItem(call_id="x", channel_id="leg-x", caller_number="1", service_number="1",
                               queue="", arrived_at=at(22)), at(22))
    assert core.call("x").agent_id == "late"
    legs = present(core)
    legs["x-a1"] = True  # the phone answered while cti was away
    core.reconcile(legs, at(40), lost_at=at(30))
    assert core.call("x").state is WorkState.CONNECTED and core.agent("late").state is AgentState.ON_CALL


def test_without_a_lost_time_ends_are_now() -> None:
    core = floor(connected=1, waiting=0)
    commands = core.reconcile(present(core, without={"leg-c0"}), at(70))
    [ended] = [c.item for c in commands if isinstance(c, WorkChanged) and c.item.state is WorkState.ENDED]
    assert ended.ended_at == at(70)


@settings(max_examples=150, deadline=None)
@given(connected=st.integers(0, 8), waiting=st.integers(0, 10), data=st.data())
def test_reconcile_never_offers_an_agent_two_calls(connected: int, waiting: int, data: st.DataObject) -> None:
    core = floor(connected=connected, waiting=waiting)
    legs = present(core)
    gone = data.draw(st.sets(st.sampled_from(sorted(legs)))) if legs else set()
    commands = core.reconcile({k: v for k, v in legs.items() if k not in gone}, at(45), lost_at=at(30))
    assert all(n == 1 for n in offered(commands).values())
    for agent in core.agents.values():
        assert len(agent.work) <= 1
        if agent.work:
            assert core.call(agent.call_id or "").agent_id == agent.agent_id
    # Work conserving afterwards: nobody ready while a call waits.
    if any(c.state is WorkState.WAITING for c in core.calls.values()):
        assert not any(a.state is AgentState.READY for a in core.agents.values())
