"""The agent state machine: which transitions are allowed, what each one records, and longest-idle choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.routing import Agent, AgentState, InvalidTransition, PendingChange, longest_idle

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
    S.ON_CALL: {S.READY, S.NOT_READY, S.LOGGED_OUT, S.WRAP_UP},
    S.WRAP_UP: {S.READY, S.NOT_READY, S.LOGGED_OUT},  # after-call work ends in any of these
}
PAIRS = [(src, dst) for src in S for dst in S]


def agent_in(state: AgentState) -> Agent:
    agent = Agent("ana", "Ana", extension="7001", state=state, idle_since=at(-60), state_since=at(-30))
    if state in (S.RINGING, S.ON_CALL):
        agent.call_id = "c1"
    return agent


@pytest.mark.parametrize(("src", "dst"), [p for p in PAIRS if p[1] in ALLOWED[p[0]]], ids=str)
def test_allowed_transition(src: AgentState, dst: AgentState) -> None:
    agent = agent_in(src)
    agent.transition(dst, at(0), reason="lunch")
    assert agent.state is dst
    assert agent.state_since == at(0)
    assert agent.history == [(dst, "lunch" if dst is S.NOT_READY else None, at(0))]


@pytest.mark.parametrize(("src", "dst"), [p for p in PAIRS if p[1] not in ALLOWED[p[0]]], ids=str)
def test_refused_transition(src: AgentState, dst: AgentState) -> None:
    agent = agent_in(src)
    before = (agent.state, agent.state_since, agent.idle_since, agent.call_id, agent.extension, agent.reason)
    with pytest.raises(InvalidTransition) as info:
        agent.transition(dst, at(0))
    assert "ana" in str(info.value) and str(src) in str(info.value) and str(dst) in str(info.value)
    assert (agent.state, agent.state_since, agent.idle_since, agent.call_id, agent.extension, agent.reason) == before
    assert agent.history == []


def test_refusals_cover_the_impossible_moves() -> None:
    refused = {p for p in PAIRS if p[1] not in ALLOWED[p[0]]}
    assert (S.LOGGED_OUT, S.RINGING) in refused  # a logged-out agent is never offered a call
    assert (S.NOT_READY, S.RINGING) in refused
    assert (S.READY, S.ON_CALL) in refused  # a call is answered only after ringing
    assert (S.ON_CALL, S.RINGING) in refused  # one call at a time
    assert (S.WRAP_UP, S.RINGING) in refused  # no offers during after-call work
    assert len(refused) == len(S) ** 2 - sum(len(v) for v in ALLOWED.values())


def test_a_working_day_history() -> None:
    agent = Agent("ana")
    assert (agent.state, agent.idle_since, agent.state_since, agent.history) == (S.LOGGED_OUT, None, None, [])
    agent.extension = "7001"
    agent.transition(S.NOT_READY, at(0), reason="login")
    assert agent.idle_since is None  # not ready is not idle
    agent.transition(S.READY, at(10))
    assert agent.idle_since == at(10)
    agent.transition(S.RINGING, at(20))
    agent.call_id = "c1"
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
    assert (agent.extension, agent.reason, agent.call_id) == (None, None, None)
    assert agent.history == [
        (S.NOT_READY, "login", at(0)),
        (S.READY, None, at(10)),
        (S.RINGING, None, at(20)),
        (S.ON_CALL, None, at(25)),
        (S.READY, None, at(90)),
        (S.NOT_READY, "lunch", at(100)),
        (S.NOT_READY, "meeting", at(110)),
        (S.LOGGED_OUT, None, at(200)),
    ]


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
    snap = agent.snapshot()
    assert snap.history == [] and len(agent.history) == 1
    assert (snap.agent_id, snap.state, snap.extension, snap.idle_since, snap.pending) == (
        "ana", S.READY, "7001", at(0), PendingChange(S.NOT_READY, "lunch"))
    snap.transition(S.NOT_READY, at(5), reason="break")
    assert (agent.state, len(agent.history)) == (S.READY, 1)


def test_pending_change_is_immutable() -> None:
    change = PendingChange(S.LOGGED_OUT)
    assert change.reason is None
    with pytest.raises(AttributeError):
        change.reason = "x"  # type: ignore[misc]


# -- longest idle -----------------------------------------------------------------------------------------
def ready_agent(agent_id: str, idle: float | None, extension: str | None = "7001") -> Agent:
    return Agent(agent_id, extension=extension, state=S.READY, idle_since=None if idle is None else at(idle))


def test_longest_idle_picks_the_earliest_idle_ready_agent() -> None:
    agents = [ready_agent("bob", 5), ready_agent("ana", 9), ready_agent("cem", 2)]
    chosen = longest_idle(agents)
    assert chosen is not None and chosen.agent_id == "cem"


def test_longest_idle_breaks_ties_by_agent_id() -> None:
    agents = [ready_agent("cem", 2), ready_agent("bob", 2), ready_agent("dan", 2)]
    chosen = longest_idle(agents)
    assert chosen is not None and chosen.agent_id == "bob"


def test_longest_idle_treats_unknown_idle_time_as_longest() -> None:
    chosen = longest_idle([ready_agent("ana", 1), ready_agent("zed", None)])
    assert chosen is not None and chosen.agent_id == "zed"


def test_longest_idle_skips_unavailable_agents() -> None:
    others = [Agent(f"x{s}", extension="7009", state=s, idle_since=at(-100)) for s in S if s is not S.READY]
    assert longest_idle(others) is None
    assert longest_idle([]) is None
    assert longest_idle([ready_agent("noext", -500, extension=None)]) is None
    chosen = longest_idle([*others, ready_agent("noext", -500, extension=None), ready_agent("ana", 0)])
    assert chosen is not None and chosen.agent_id == "ana"


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
