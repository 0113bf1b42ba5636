"""The indexes behind incremental decisions agree with the scans they replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cti.acd import (
    ATTRIBUTES,
    Agent,
    AgentState,
    Capacity,
    Channel,
    QueueRule,
    Route,
    Target,
    WorkItem,
    parse_rules,
    qualified,
    site_loads,
)
from cti.acd._agenda import Agenda
from cti.acd._deadlines import Deadlines
from cti.acd._staffing import Staffing

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- routes ----------------------------------------------------------------------------------------------
values = st.sampled_from(["1", "2", "3", "gold", "id"])
condition = st.dictionaries(st.sampled_from(["service_number", "value_tier", "language"]),
                            st.lists(values, min_size=1, max_size=2), max_size=2)
attributes = st.fixed_dictionaries({name: st.one_of(st.none(), values) for name in ATTRIBUTES})


@given(conditions=st.lists(condition, max_size=8), call=attributes)
def test_route_for_finds_the_first_match_of_a_linear_scan(
        conditions: list[dict[str, list[str]]], call: dict[str, str | None]) -> None:
    rules = parse_rules({"queues": {"q": {}}, "routes": [
        {"name": f"r{n}", "when": when, "queue": "q"} for n, when in enumerate(conditions)]})
    first = next((r for r in rules.routes if all(call.get(k) in v for k, v in r.when.items())), None)
    assert rules.route_for(call) == (first or Route(name="default", queue="q"))


# -- deadlines -------------------------------------------------------------------------------------------
def test_deadlines_pop_what_is_due_once_and_setting_again_replaces() -> None:
    due = Deadlines()
    due.set("a", at(5))
    due.set("b", at(1))
    due.set("c", at(3))
    due.set("a", at(2))  # replaces 5
    due.set("c", at(3))  # unchanged
    due.discard("b")
    assert (len(due), "b" in due, due.get("a")) == (2, False, at(2))
    assert due.pop_due(at(1)) == []
    assert due.pop_due(at(3)) == ["a", "c"]
    assert due.pop_due(at(10)) == [] and len(due) == 0
    for n in range(500):  # replaced entries are dropped from the heap, not kept forever
        due.set("x", at(n))
    assert len(due._heap) < 200 and due.pop_due(at(1000)) == ["x"]


# -- escalation and announcement times --------------------------------------------------------------------
timeouts = st.lists(st.sampled_from([0.1, 0.2, 0.3, 1, 4.5, 29.9999996, 30, 60]), min_size=1, max_size=3)


@given(steps=timeouts, last=st.booleans(), step=st.integers(0, 3), queued=st.integers(0, 10_000_000),
       scheduled=st.integers(0, 200_000_000), later=st.integers(0, 200_000_000),
       every=st.sampled_from([0, 0.3, 7, 45]))
def test_the_agenda_is_never_late(steps: list[float], last: bool, step: int, queued: int, scheduled: int,
                                  later: int, every: float) -> None:
    targets = [Target(timeout=t) for t in steps] + ([Target()] if last else [])
    queue = QueueRule(name="q", targets=tuple(targets), announce_seconds=every)
    start = T0 + timedelta(microseconds=queued)
    call = WorkItem(call_id="c", channel_id="ch", caller_number="1", service_number="1", queue="q",
                arrived_at=start, queued_at=start)
    call.routing.step = min(step, len(targets) - 1)
    agenda = Agenda()
    now = start + timedelta(microseconds=scheduled)
    agenda.schedule(call, queue, now)
    tick = now + timedelta(microseconds=later)
    if queue.step_at((tick - start).total_seconds()) != call.routing.step:
        assert agenda.escalations.pop_due(tick) == ["c"]
    if every and (tick - start).total_seconds() >= every:
        assert agenda.announcements.pop_due(tick) == ["c"]


# -- agents ----------------------------------------------------------------------------------------------
RULES = parse_rules({"queues": {"care": {"skills": {"care": 2}}, "sales": {"skills": {"sales": 1, "care": 1}},
                                "any": {}}})
change = st.fixed_dictionaries({
    "agent": st.integers(0, 5),
    "state": st.sampled_from(list(AgentState)),
    "extension": st.sampled_from([None, "", "7001", "7002"]),
    "skills": st.dictionaries(st.sampled_from(["care", "sales"]), st.integers(1, 3), max_size=2),
    "region": st.sampled_from([None, "jakarta", "medan"]),
    "site": st.sampled_from([None, "s1", "s2"]),
    "replace": st.booleans(),
    # What the agent holds (chats, or a call) and may hold: the channels it is available for follow.
    "work": st.sampled_from([{}, {"k1": Channel.CHAT}, {"k1": Channel.CHAT, "k2": Channel.CHAT},
                             {"c1": Channel.VOICE}]),
    "capacity": st.sampled_from([Capacity(), Capacity.of({"chat": 2}), Capacity.of({"chat": 2}, exclusive=())]),
})


@given(changes=st.lists(change, max_size=40))
def test_staffing_matches_a_scan_of_the_agents(changes: list[dict[str, Any]]) -> None:
    agents = {f"a{n}": Agent(agent_id=f"a{n}") for n in range(6)}
    staff = Staffing(RULES)
    for agent in agents.values():
        staff.update(agent)
    for c in changes:
        agent = agents[f"a{c['agent']}"]
        if c["replace"]:  # a restore hands in a new object for the same agent
            agent = agents[agent.agent_id] = agent.snapshot()
        agent.state, agent.extension, agent.skills = c["state"], c["extension"], c["skills"]
        agent.region, agent.site, agent.capacity = c["region"], c["site"], c["capacity"]
        agent.work = dict(c["work"]) if agent.state in (AgentState.RINGING, AgentState.ON_CALL) else {}
        was_ready = staff.ready_channels(agent.agent_id)
        widened = staff.update(agent)
        ready = {channel for channel in Channel if agent.available_for(channel)}
        for channel in Channel:
            assert staff.is_ready(agent.agent_id, channel) is (channel in ready)
        # Only available agents widen, and always one newly available for a channel.
        assert widened is (bool(ready) and (not ready <= was_ready or widened))
    assert staff.site_loads() == site_loads(agents.values())
    for name, queue in RULES.queues.items():
        for channel in Channel:
            # A logged-in agent serves a channel their capacity allows; calls only with a phone.
            serving = [a for a in agents.values()
                       if a.state is not AgentState.LOGGED_OUT and qualified(a, queue) and a.capacity.limit(channel)
                       and (channel is not Channel.VOICE or a.extension)]
            assert staff.serving(name, channel) == len(serving)
            ready = {a.agent_id: a for a in agents.values() if a.available_for(channel) and qualified(a, queue)}
            pooled = {i: a for pool in staff.ready_pools(channel, name) for i, a in pool.items()}
            assert pooled.keys() == ready.keys() and all(pooled[i] is ready[i] for i in ready)
            assert (name in staff.staffed(channel)) is bool(ready)
            for region in (None, "jakarta", "medan"):
                [regional] = staff.ready_pools(channel, name, region, any_region=False) or [{}]
                assert set(regional) == {i for i, a in ready.items() if a.region == region}
    for extension in ("7001", "7002"):
        holders = [a.agent_id for a in agents.values() if a.extension == extension and a.agent_id != "a0"]
        assert staff.holder(extension, "a0") == (holders[0] if holders else None)
