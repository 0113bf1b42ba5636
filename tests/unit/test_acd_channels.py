"""Work items of several channels: agents take what their capacity allows, a call is held alone, and a new
strategy is one registered function."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from cti.acd import (
    STRATEGIES,
    Agent,
    AgentState,
    Capacity,
    Channel,
    Command,
    ContactCenter,
    InvalidTransition,
    Offer,
    RulesError,
    StrategyContext,
    WorkItem,
    WorkState,
    parse_rules,
    strategy,
)

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def item(call_id: str, channel: Channel, arrived: float = 0) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="0215550123",
                    service_number="1500100", queue="", arrived_at=at(arrived), channel=channel)


def offers(commands: list[Command]) -> list[tuple[str, str, Channel]]:
    return [(c.call_id, c.agent_id, c.channel) for c in commands if isinstance(c, Offer)]


def center(rules: dict[str, object] | None = None, **capacities: Capacity) -> ContactCenter:
    core = ContactCenter(parse_rules(rules) if rules else parse_rules({"queues": {"general": {"wrap_up_seconds": 5}}}))
    for n, (agent_id, capacity) in enumerate(capacities.items()):
        core.add_agent(agent_id)
        core.set_profile(agent_id, T0, capacity=capacity)
        core.login(agent_id, f"700{n + 1}", T0, ready=True)
    return core


def test_an_agent_without_a_chat_capacity_is_offered_no_chat() -> None:
    core = center(ana=Capacity())
    assert offers(core.call_arrived(item("k1", Channel.CHAT), at(1))) == []
    assert core.call("k1").state is WorkState.WAITING
    assert offers(core.call_arrived(item("c1", Channel.VOICE), at(2))) == [("c1", "ana", Channel.VOICE)]


def test_chats_up_to_the_capacity_then_wrap_up_after_the_last() -> None:
    core = center(ana=Capacity.of({"chat": 2}))
    assert offers(core.call_arrived(item("k1", Channel.CHAT), at(1))) == [("k1", "ana", Channel.CHAT)]
    assert offers(core.call_arrived(item("k2", Channel.CHAT), at(2))) == [("k2", "ana", Channel.CHAT)]
    agent = core.agent("ana")
    assert (agent.state, agent.work) == (AgentState.RINGING, {"k1": Channel.CHAT, "k2": Channel.CHAT})
    assert offers(core.call_arrived(item("k3", Channel.CHAT), at(3))) == []  # full: k3 waits
    core.offer_answered("k1-a1", at(4))
    assert agent.state is AgentState.ON_CALL  # one chat connected, one still offered
    core.channel_gone("leg-k1", at(10))  # the customer left k1: k3 takes its place
    assert agent.work == {"k2": Channel.CHAT, "k3": Channel.CHAT}
    assert agent.state is AgentState.RINGING  # nothing connected now: both offered
    core.offer_answered("k2-a1", at(11))
    core.offer_answered("k3-a1", at(11))
    core.channel_gone("leg-k2", at(20))
    assert (agent.state, agent.work) == (AgentState.ON_CALL, {"k3": Channel.CHAT})
    core.channel_gone("leg-k3", at(30))
    assert (agent.state, agent.work, agent.calls_handled) == (AgentState.WRAP_UP, {}, 3)
    assert agent.wrap_up_until == at(35)


def test_an_agent_with_no_phone_takes_chats_and_no_call() -> None:
    core = ContactCenter(parse_rules({"queues": {"general": {}}}))
    core.add_agent("ana")
    core.set_profile("ana", T0, capacity=Capacity.of({"chat": 2}))
    core.login("ana", None, T0, ready=True)
    assert (core.agent("ana").state, core.agent("ana").extension) == (AgentState.READY, None)
    # Waits are estimated per channel: she serves the queue's chats, nobody its calls.
    assert core.estimated_wait("general", 1, Channel.CHAT) < float("inf")
    assert core.estimated_wait("general", 1, Channel.VOICE) == float("inf")
    assert offers(core.call_arrived(item("c1", Channel.VOICE), at(1))) == []
    assert offers(core.call_arrived(item("k1", Channel.CHAT), at(2))) == [("k1", "ana", Channel.CHAT)]
    # She adds a phone while chatting: the waiting call is hers when the chat ends (a call is held alone; this
    # queue has no wrap-up).
    core.offer_answered("k1-a1", at(3))
    core.login("ana", "7001", at(4), ready=True)
    assert core.estimated_wait("general", 1, Channel.VOICE) < float("inf")
    assert core.call("c1").state is WorkState.WAITING
    assert offers(core.channel_gone("leg-k1", at(5))) == [("c1", "ana", Channel.VOICE)]


def test_an_agent_on_a_call_cannot_drop_their_phone() -> None:
    core = center(ana=Capacity())
    core.call_arrived(item("c1", Channel.VOICE), at(1))
    core.offer_answered("c1-a1", at(2))
    with pytest.raises(InvalidTransition):
        core.login("ana", None, at(3))
    assert core.agent("ana").extension == "7001"


def test_a_call_is_held_alone_unless_voice_is_not_exclusive() -> None:
    core = center(ana=Capacity.of({"chat": 2}), bea=Capacity.of({"chat": 2}, exclusive=()))
    # Both idle since T0: ana first by id. Her call is exclusive, so the chat goes to bea.
    assert offers(core.call_arrived(item("c1", Channel.VOICE), at(1))) == [("c1", "ana", Channel.VOICE)]
    assert offers(core.call_arrived(item("k1", Channel.CHAT), at(2))) == [("k1", "bea", Channel.CHAT)]
    # bea's voice is not exclusive: a call during her chat, and then another chat during the call.
    assert offers(core.call_arrived(item("c2", Channel.VOICE), at(3))) == [("c2", "bea", Channel.VOICE)]
    assert offers(core.call_arrived(item("c3", Channel.VOICE), at(4))) == []  # one call each at most
    assert offers(core.call_arrived(item("k2", Channel.CHAT), at(5))) == [("k2", "bea", Channel.CHAT)]
    assert offers(core.call_arrived(item("k3", Channel.CHAT), at(6))) == []  # bea is full, ana on a call
    assert core.agent("ana").work == {"c1": Channel.VOICE}
    assert core.agent("bea").work == {"k1": Channel.CHAT, "c2": Channel.VOICE, "k2": Channel.CHAT}
    # ana's call ends: after wrap-up she takes the waiting call c3 (a call needs an agent holding nothing).
    core.offer_answered("c1-a1", at(7))
    core.channel_gone("leg-c1", at(8))
    assert core.tick(at(13)) and core.call("c3").agent_id == "ana"


def test_a_chat_not_accepted_makes_the_agent_not_ready_after_their_other_chats() -> None:
    core = center(ana=Capacity.of({"chat": 2}))
    core.call_arrived(item("k1", Channel.CHAT), at(1))
    core.offer_answered("k1-a1", at(2))
    core.call_arrived(item("k2", Channel.CHAT), at(3))
    core.channel_gone("k2-a1", at(20), offer_failure="no_answer")
    agent = core.agent("ana")
    assert (agent.state, agent.work, agent.pending) == (AgentState.ON_CALL, {"k1": Channel.CHAT},
                                                        agent.pending)
    assert agent.pending is not None and agent.pending.reason == "no_answer"
    assert core.call("k2").state is WorkState.WAITING  # nobody else may take it: it waits
    assert not agent.available_for(Channel.CHAT)  # leaving after this chat: no more offers
    core.channel_gone("leg-k1", at(30))
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, "no_answer")


def test_a_transfer_needs_a_target_who_may_take_the_channel() -> None:
    core = center(ana=Capacity.of({"chat": 1}), bea=Capacity())
    core.call_arrived(item("k1", Channel.CHAT), at(1))
    core.offer_answered("k1-a1", at(2))
    with pytest.raises(InvalidTransition):
        core.transfer("k1", "ana", at(3), to_agent="bea")  # bea takes no chats
    assert core.call("k1").agent_id == "ana"


# -- strategies ----------------------------------------------------------------------------------------------
def test_a_new_strategy_is_one_registered_function() -> None:
    name = "most_recently_idle_for_test"

    @strategy(name)
    def most_recently_idle(candidates: Sequence[Agent], context: StrategyContext) -> Agent:
        return max(candidates, key=lambda a: (a.idle_since or T0, a.agent_id))

    try:
        rules = {"queues": {"general": {"strategy": name}}}
        core = center(rules, ana=Capacity(), bea=Capacity())
        core.set_ready("ana", at(1))  # no-op: already ready since T0
        assert offers(core.call_arrived(item("c1", Channel.VOICE), at(2))) == [("c1", "bea", Channel.VOICE)]
        with pytest.raises(ValueError, match="already registered"):
            strategy(name)(most_recently_idle)
    finally:
        from cti.acd import _strategies
        del _strategies._REGISTRY[name]
    assert name not in STRATEGIES


def test_the_rules_refuse_an_unknown_strategy() -> None:
    with pytest.raises(RulesError, match="unknown strategy 'fastest'"):
        parse_rules({"queues": {"general": {"strategy": "fastest"}}})
