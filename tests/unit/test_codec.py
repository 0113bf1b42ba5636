"""JSON codec of the live store: agents and calls survive a round trip exactly, time zones included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.acd import Agent, AgentState, Capacity, Channel, EndReason, Outcome, PendingChange, WorkItem, WorkState
from cti.live import decode_agent, decode_call, encode_agent, encode_call

T0 = datetime(2024, 5, 6, 9, 0, 0, 123456, tzinfo=UTC)
JAKARTA = timezone(timedelta(hours=7))


def same_instant_and_offset(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b and a.utcoffset() == b.utcoffset() and b.tzinfo is not None


def test_agent_round_trip_with_pending() -> None:
    agent = Agent("ana", "Ana Wijaya", extension="7001", state=AgentState.ON_CALL, state_since=T0,
                  idle_since=T0 - timedelta(minutes=3), work={"c1": Channel.VOICE, "k1": Channel.CHAT},
                  pending=PendingChange(AgentState.NOT_READY, "lunch"), calls_handled=7,
                  capacity=Capacity.of({"chat": 3}, exclusive=()))
    raw = encode_agent(agent)
    data = json.loads(raw)
    assert data["v"] == 2 and data["work"] == {"c1": "voice", "k1": "chat"}
    assert data["pending"] == {"state": "not_ready", "reason": "lunch"}
    back = decode_agent(raw)
    assert back == agent
    assert back.capacity.limit(Channel.CHAT) == 3 and not back.capacity.exclusive
    assert isinstance(back.state, AgentState) and back.state is AgentState.ON_CALL
    assert same_instant_and_offset(back.state_since, agent.state_since)
    assert same_instant_and_offset(back.idle_since, agent.idle_since)
    assert decode_agent(raw.encode()) == back


def test_agent_round_trip_pending_logout_and_no_pending() -> None:
    leaving = Agent("bob", extension="7002", state=AgentState.RINGING, state_since=T0, work={"c2": Channel.VOICE},
                    pending=PendingChange(AgentState.LOGGED_OUT))
    assert decode_agent(encode_agent(leaving)).pending == PendingChange(AgentState.LOGGED_OUT, None)
    fresh = Agent("cem")
    back = decode_agent(encode_agent(fresh))
    assert back == fresh
    assert (back.pending, back.state_since, back.idle_since, back.extension) == (None, None, None, None)


def test_agent_not_ready_reason_and_other_time_zone() -> None:
    agent = Agent("dan", extension="7003", state=AgentState.NOT_READY, reason="no_answer",
                  state_since=T0.astimezone(JAKARTA), idle_since=T0)
    back = decode_agent(encode_agent(agent))
    assert back == agent
    assert same_instant_and_offset(back.state_since, agent.state_since)
    assert back.state_since is not None and back.state_since.utcoffset() == timedelta(hours=7)


def full_call() -> WorkItem:
    return WorkItem(
        call_id="c1", channel_id="1715000000.42", caller_number="+62215550123", service_number="1500100",
        queue="general", arrived_at=T0, caller_name="Budi Santoso \u2013 \u260e", state=WorkState.ENDED, agent_id="ana",
        agent_extension="7001", agent_channel_id="c1-a2", offered_at=T0 + timedelta(seconds=1),
        answered_at=T0 + timedelta(seconds=9), ended_at=T0 + timedelta(seconds=70), offers=2,
        outcome=Outcome.ANSWERED, end_reason=EndReason.AGENT_HANGUP, customer_id="100042",
        ivr={"path": ["language", "main"], "intents": [{"node": "main", "intent": "balance", "confidence": 0.91}]},
    )


def test_call_round_trip_all_fields() -> None:
    call = full_call()
    raw = encode_call(call)
    assert json.loads(raw)["v"] == 2
    back = decode_call(raw)
    assert back == call
    assert (back.state, back.outcome, back.end_reason) == (WorkState.ENDED, Outcome.ANSWERED, EndReason.AGENT_HANGUP)
    for name in ("arrived_at", "offered_at", "answered_at", "ended_at"):
        assert same_instant_and_offset(getattr(back, name), getattr(call, name)), name
    assert (back.wait_seconds, back.talk_seconds) == (9.0, 61.0)
    assert decode_call(raw.encode()) == call


def test_call_round_trip_minimal() -> None:
    call = WorkItem("c2", "ch-2", "anonymous", "1500100", "general", arrived_at=T0.astimezone(JAKARTA))
    back = decode_call(encode_call(call))
    assert back == call
    assert (back.caller_name, back.agent_id, back.offered_at, back.outcome, back.end_reason) == (
        None, None, None, None, None)
    assert same_instant_and_offset(back.arrived_at, call.arrived_at)


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets)
texts = st.text(max_size=20)


@settings(max_examples=200, database=None, deadline=None)
@given(
    call_id=texts, caller_name=st.none() | texts, state=st.sampled_from(WorkState), arrived=aware,
    others=st.lists(st.none() | aware, min_size=3, max_size=3), offers=st.integers(0, 50),
    outcome=st.none() | st.sampled_from(Outcome), reason=st.none() | st.sampled_from(EndReason),
)
def test_call_round_trip_property(call_id: str, caller_name: str | None, state: WorkState, arrived: datetime,
                                  others: list[datetime | None], offers: int, outcome: Outcome | None,
                                  reason: EndReason | None) -> None:
    call = WorkItem(call_id, f"ch-{call_id}", "123", "1500100", "q", arrived_at=arrived, caller_name=caller_name,
                state=state, offered_at=others[0], answered_at=others[1], ended_at=others[2], offers=offers,
                outcome=outcome, end_reason=reason)
    back = decode_call(encode_call(call))
    assert back == call
    for name in ("arrived_at", "offered_at", "answered_at", "ended_at"):
        assert same_instant_and_offset(getattr(back, name), getattr(call, name)), name


@settings(max_examples=200, database=None, deadline=None)
@given(state=st.sampled_from(AgentState), reason=st.none() | texts, since=st.none() | aware,
       idle=st.none() | aware, pending=st.none() | st.builds(PendingChange, st.sampled_from(AgentState),
                                                               st.none() | texts),
       handled=st.integers(0, 10_000))
def test_agent_round_trip_property(state: AgentState, reason: str | None, since: datetime | None,
                                   idle: datetime | None, pending: PendingChange | None, handled: int) -> None:
    agent = Agent("ana", "Ana", extension="7001", state=state, reason=reason, state_since=since,
                  idle_since=idle, work={"c1": Channel.VOICE}, pending=pending, calls_handled=handled)
    back = decode_agent(encode_agent(agent))
    assert back == agent
    assert same_instant_and_offset(back.state_since, since) and same_instant_and_offset(back.idle_since, idle)


def test_a_version_1_agent_is_read_with_its_call() -> None:
    """A controller upgraded while calls are live reads what the previous one wrote (one ``call_id``)."""
    raw = json.dumps({"v": 1, "agent_id": "ana", "name": "Ana", "extension": "7001", "state": "on_call",
                      "state_since": T0.isoformat(), "call_id": "c1", "calls_handled": 3})
    back = decode_agent(raw)
    assert (back.work, back.call_id, back.capacity) == ({"c1": Channel.VOICE}, "c1", Capacity())
