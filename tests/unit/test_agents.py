"""The agent state machine: which transitions are allowed, what each one records, and longest-idle choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.acd import (
    STRATEGIES,
    Agent,
    AgentState,
    Capacity,
    Channel,
    InvalidTransition,
    PendingChange,
    StrategyContext,
)

T0 = datetime(2024, 5, 6, 9, 0, 0, tzinfo=UTC)
S = AgentState


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# Written out independently of the implementation: the ACD's rules in one table.
ALLOWED = {
    S.LOGGED_OUT: {S.READY, S.NOT_READY},
    S.READY: {S.NOT_READY, S.RINGING, S.LOGGED_OUT},
    S.NOT_READY: {S.READY, S.NOT_READY, S.LOGGED_OUT},
    S.RINGING: {S.ON_CALL, S.READY, S.NOT_READY, S.LOGGED_OUT},
    # ON_CALL -> RINGING only for an agent holding several items (chats): the connected one ended, another rings.
    S.ON_CALL: {S.READY, S.NOT_READY, S.LOGGED_OUT, S.WRAP_UP, S.RINGING},
    S.WRAP_UP: {S.READY, S.NOT_READY, S.LOGGED_OUT},  # after-call work ends in any of these
}
PAIRS = [(src, dst) for src in S for dst in S]


def agent_in(state: AgentState) -> Agent:
    agent = Agent("ana", "Ana", extension="7001", state=state, idle_since=at(-60), state_since=at(-30))
    if state in (S.RINGING, S.ON_CALL):
        agent.work = {"c1": Channel.VOICE}
    return agent


@pytest.mark.parametrize(("src", "dst"), [p for p in PAIRS if p[1] in ALLOWED[p[0]]], ids=str)
def test_allowed_transition(src: AgentState, dst: AgentState) -> None:
    agent = agent_in(src)
    agent.transition(dst, at(0), reason="lunch")
    assert agent.state is dst
    assert agent.state_since == at(0)
    assert agent.reason == ("lunch" if dst is S.NOT_READY else None)


@pytest.mark.parametrize(("src", "dst"), [p for p in PAIRS if p[1] not in ALLOWED[p[0]]], ids=str)
def test_refused_transition(src: AgentState, dst: AgentState) -> None:
    agent = agent_in(src)
    before = (agent.state, agent.state_since, agent.idle_since, agent.call_id, agent.extension, agent.reason)
    with pytest.raises(InvalidTransition) as info:
        agent.transition(dst, at(0))
    assert "ana" in str(info.value) and str(src) in str(info.value) and str(dst) in str(info.value)
    assert (agent.state, agent.state_since, agent.idle_since, agent.call_id, agent.extension, agent.reason) == before


def test_refusals_cover_the_impossible_moves() -> None:
    refused = {p for p in PAIRS if p[1] not in ALLOWED[p[0]]}
    assert (S.LOGGED_OUT, S.RINGING) in refused  # a logged-out agent is never offered a call
    assert (S.NOT_READY, S.RINGING) in refused
    assert (S.READY, S.ON_CALL) in refused  # a call is answered only after ringing
    assert (S.WRAP_UP, S.RINGING) in refused  # no offers during after-call work
    assert len(refused) == len(S) ** 2 - sum(len(v) for v in ALLOWED.values())


def test_a_working_day() -> None:
    agent = Agent("ana")
    assert (agent.state, agent.idle_since, agent.state_since) == (S.LOGGED_OUT, None, None)
    agent.extension = "7001"
    agent.transition(S.NOT_READY, at(0), reason="login")
    assert agent.idle_since is None  # not ready is not idle
    agent.transition(S.READY, at(10))
    assert agent.idle_since == at(10)
    agent.transition(S.RINGING, at(20))
    agent.work["c1"] = Channel.VOICE
    assert agent.busy and agent.idle_since == at(10)  # ringing keeps the idle mark
    agent.transition(S.ON_CALL, at(25))
    assert agent.busy and agent.call_id == "c1" and agent.idle_since == at(10)
    agent.transition(S.READY, at(90))
    assert (agent.idle_since, agent.call_id, agent.busy) == (at(90), None, False)
    agent.transition(S.NOT_READY, at(100), reason="lunch")
    assert (agent.reason, agent.idle_since) == ("lunch", at(90))
    agent.transition(S.NOT_READY, at(110), reason="meeting")  # changing the reason is a transition too
    assert (agent.reason, agent.state_since) == ("meeting", at(110))
    agent.transition(S.LOGGED_OUT, at(200))
    assert (agent.extension, agent.reason, agent.call_id, agent.state_since) == (None, None, None, at(200))
    # Occupied from the ring (20) to the end of the call (90).
    assert (agent.busy_seconds, agent.logged_in_at) == (70.0, at(0))


@pytest.mark.parametrize("dst", [S.READY, S.LOGGED_OUT, S.RINGING, S.ON_CALL])
def test_reason_is_kept_only_when_not_ready(dst: AgentState) -> None:
    agent = agent_in(S.RINGING if dst is S.ON_CALL else S.READY if dst is S.RINGING else S.NOT_READY)
    agent.transition(dst, at(0), reason="lunch")
    assert agent.reason is None


@pytest.mark.parametrize(("src", "dst"), [(S.RINGING, S.READY), (S.RINGING, S.NOT_READY), (S.ON_CALL, S.READY),
                                          (S.ON_CALL, S.NOT_READY), (S.ON_CALL, S.LOGGED_OUT)])
def test_leaving_a_call_clears_call_id(src: AgentState, dst: AgentState) -> None:
    agent = agent_in(src)
    agent.transition(dst, at(0))
    assert agent.call_id is None


def test_only_ready_moves_idle_since() -> None:
    for src, dsts in ALLOWED.items():
        for dst in dsts:
            agent = agent_in(src)
            agent.transition(dst, at(0))
            assert agent.idle_since == (at(0) if dst is S.READY else at(-60)), (src, dst)


def test_busy() -> None:
    assert {s for s in S if agent_in(s).busy} == {S.RINGING, S.ON_CALL}


def test_snapshot_is_detached() -> None:
    agent = Agent("ana")
    agent.extension = "7001"
    agent.transition(S.READY, at(0))
    agent.pending = PendingChange(S.NOT_READY, "lunch")
    agent.work["c9"] = Channel.CHAT
    snap = agent.snapshot()
    assert snap.work == agent.work and snap.work is not agent.work
    assert (snap.agent_id, snap.state, snap.extension, snap.idle_since, snap.pending) == (
        "ana", S.READY, "7001", at(0), PendingChange(S.NOT_READY, "lunch"))
    snap.transition(S.NOT_READY, at(5), reason="break")
    assert (agent.state, agent.work) == (S.READY, {"c9": Channel.CHAT})


def test_pending_change_is_immutable() -> None:
    change = PendingChange(S.LOGGED_OUT)
    assert change.reason is None
    with pytest.raises(AttributeError):
        change.reason = "x"  # type: ignore[misc]


# -- the longest-idle strategy (candidates are eligible and available already) -----------------------------
def ready_agent(agent_id: str, idle: float | None, state: S = S.READY) -> Agent:
    return Agent(agent_id, extension="7001", state=state, idle_since=None if idle is None else at(idle))


def longest_idle(*agents: Agent) -> str:
    return STRATEGIES["longest_idle"](agents, StrategyContext(now=at(100), skills={})).agent_id


def test_longest_idle_picks_the_earliest_idle_agent() -> None:
    assert longest_idle(ready_agent("bob", 5), ready_agent("ana", 9), ready_agent("cem", 2)) == "cem"


def test_longest_idle_breaks_ties_by_agent_id() -> None:
    assert longest_idle(ready_agent("cem", 2), ready_agent("bob", 2), ready_agent("dan", 2)) == "bob"


def test_longest_idle_treats_unknown_idle_time_as_longest() -> None:
    assert longest_idle(ready_agent("ana", 1), ready_agent("zed", None)) == "zed"


def test_an_agent_holding_chats_comes_after_every_ready_agent() -> None:
    # Free to take one more item, but not idle: however long ago their last item began.
    assert longest_idle(ready_agent("chatting", -500, state=S.ON_CALL), ready_agent("ana", 50)) == "ana"


def test_occupied_time_accumulates_over_ringing_talking_and_wrap_up() -> None:
    agent = Agent("ana", "Ana", extension="7001")
    agent.transition(S.READY, at(0))
    assert agent.logged_in_at == at(0) and agent.busy_seconds == 0
    agent.transition(S.RINGING, at(10))
    agent.transition(S.ON_CALL, at(13))
    agent.transition(S.WRAP_UP, at(73))
    agent.transition(S.READY, at(83))
    assert agent.busy_seconds == 73.0  # 3 s ringing + 60 s talking + 10 s wrap-up
    agent.transition(S.NOT_READY, at(100), reason="break")
    agent.transition(S.LOGGED_OUT, at(200))
    agent.transition(S.READY, at(300))  # a new login starts a new count
    assert (agent.logged_in_at, agent.busy_seconds) == (at(300), 0.0)


def test_capacity_decides_what_else_an_agent_may_take() -> None:
    """By default one call and no chats; a chat capacity lets an agent take several chats but, voice being
    exclusive, no chat during a call and no call during a chat unless voice is made non-exclusive."""
    agent = agent_in(S.READY)
    assert agent.available_for(Channel.VOICE) and not agent.available_for(Channel.CHAT)
    agent.capacity = Capacity.of({"chat": 2})
    assert agent.available_for(Channel.CHAT)
    agent.transition(S.RINGING, at(0))
    agent.work["k1"] = Channel.CHAT
    assert agent.available_for(Channel.CHAT) and not agent.available_for(Channel.VOICE)
    agent.work["k2"] = Channel.CHAT
    assert not agent.available_for(Channel.CHAT)  # two chats: full
    agent.work = {"c1": Channel.VOICE}
    assert not agent.available_for(Channel.CHAT)  # nothing during a call
    agent.capacity = Capacity.of({"chat": 2}, exclusive=())
    assert agent.available_for(Channel.CHAT) and not agent.available_for(Channel.VOICE)  # one call at most
    agent.pending = PendingChange(S.NOT_READY, "lunch")
    assert not agent.available_for(Channel.CHAT)  # leaving after this work: nothing more
    assert agent_in(S.NOT_READY).available_for(Channel.VOICE) is False
    no_phone = agent_in(S.READY)
    no_phone.extension = None
    assert not no_phone.available_for(Channel.VOICE)
