"""The indexes behind incremental decisions agree with the scans they replace."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.acd import (
    ATTRIBUTES,
    Agent,
    AgentState,
    Capacity,
    Channel,
    Consult,
    ContactCenter,
    Decision,
    Leg,
    QueueRule,
    Route,
    Routing,
    Rules,
    Target,
    WorkItem,
    eligible,
    parse_rules,
    qualified,
    site_loads,
)
from cti.acd._agenda import Agenda
from cti.acd._deadlines import Deadlines
from cti.acd._eligibility import eligible_among
from cti.acd._snapshots import copier
from cti.acd._staffing import Staffing
from cti.acd._waiting import WaitingIndex

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
SKILLED = parse_rules({"queues": {"care": {"skills": {"care": 2}}}})  # an agent may qualify for no queue
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


@given(changes=st.lists(change, max_size=40), rules=st.sampled_from([RULES, SKILLED]))
def test_staffing_matches_a_scan_of_the_agents(changes: list[dict[str, Any]], rules: Rules) -> None:
    agents = {f"a{n}": Agent(agent_id=f"a{n}") for n in range(6)}
    staff = Staffing(rules)
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
    for name, queue in rules.queues.items():
        for channel in Channel:
            # A logged-in agent serves a channel their capacity allows; calls only with a phone.
            serving = [a for a in agents.values()
                       if a.state is not AgentState.LOGGED_OUT and qualified(a, queue) and a.capacity.limit(channel)
                       and (channel is not Channel.VOICE or a.extension)]
            assert staff.serving(name, channel) == len(serving)
            ready = {a.agent_id: a for a in agents.values() if a.available_for(channel) and qualified(a, queue)}
            pools = staff.ready_pools(channel, name)
            # Pools are keyed by rank: a decision orders its candidates by sorting the keys.
            assert all(rank == staff.rank(a) for pool in pools for rank, a in pool.items())
            pooled = {a.agent_id: a for pool in pools for a in pool.values()}
            assert pooled.keys() == ready.keys() and all(pooled[i] is ready[i] for i in ready)
            assert (name in staff.staffed(channel)) is bool(ready) is staff.is_staffed(channel, name)
            for region in (None, "jakarta", "medan"):
                [regional] = staff.ready_pools(channel, name, region, any_region=False) or [{}]
                assert {a.agent_id for a in regional.values()} == {i for i, a in ready.items() if a.region == region}
    for extension in ("7001", "7002"):
        holders = [a.agent_id for a in agents.values() if a.extension == extension and a.agent_id != "a0"]
        assert staff.holder(extension, "a0") == (holders[0] if holders else None)


def test_an_agent_no_queue_needs_leaves_the_ready_pools_after_the_others_emptied_them() -> None:
    # bench/dashboard.py's probe agents have a skill no queue needs: ready, they were pooled under the channel for
    # no queue; a call agent leaving the pools last removed the channel, and the probe's "not ready" then failed
    # (KeyError) after its state had changed and before anyone was told: the API answered 500, the journal, the
    # desktop and the dashboards never heard of it.
    rules = parse_rules({"queues": {"care": {"skills": {"care": 1}}}})
    core = ContactCenter(rules)
    for agent_id, skills in (("a", {"care": 1}), ("probe", {"probe": 1})):
        core.add_agent(agent_id)
        core.set_profile(agent_id, at(0), skills=skills)
    core.login("a", "7001", at(1), ready=True)
    core.login("probe", "7002", at(2), ready=True)
    core.set_not_ready("a", "break", at(3))
    commands = core.set_not_ready("probe", "b1", at(4))
    assert [(type(c).__name__, c.agent.state, c.agent.reason) for c in commands] == [
        ("AgentChanged", AgentState.NOT_READY, "b1")]
    core.set_ready("probe", at(5))
    core.set_ready("a", at(6))
    assert [type(c).__name__ for c in core.set_not_ready("probe", "b2", at(7))] == ["AgentChanged"]
    call = WorkItem(call_id="c1", channel_id="ch-c1", caller_number="1", service_number="1", queue="",
                    arrived_at=at(8))
    core.call_arrived(call, at(8))
    assert (core.calls["c1"].agent_id, core.agents["a"].state) == ("a", AgentState.RINGING)


# -- candidates ------------------------------------------------------------------------------------------
profile = st.fixed_dictionaries({
    "state": st.sampled_from(list(AgentState)),
    "extension": st.sampled_from([None, "7001"]),
    "skills": st.dictionaries(st.sampled_from(["care", "sales"]), st.integers(1, 10), max_size=2),
    "languages": st.frozensets(st.sampled_from(["id", "en"])),
    "region": st.sampled_from([None, "jakarta", "medan"]),
    "team": st.sampled_from([None, "t1"]),
    "work": st.sampled_from([{}, {"k1": Channel.CHAT}]),
    "capacity": st.sampled_from([Capacity(), Capacity.of({"chat": 2}, exclusive=())]),
})


@given(profiles=st.lists(profile, max_size=12),
       needs=st.dictionaries(st.sampled_from(["care", "sales"]), st.integers(1, 10), max_size=2),
       target=st.builds(Target, region=st.sampled_from(["caller", "any"]), language=st.sampled_from(["caller", "any"]),
                        min_level=st.sampled_from([None, 1, 5, 10]), team=st.sampled_from([None, "t1"])),
       region=st.sampled_from([None, "jakarta", "medan"]), language=st.sampled_from([None, "id", "en"]),
       channel=st.sampled_from(list(Channel)))
def test_eligible_among_keeps_exactly_the_agents_eligible_holds_for_in_their_order(
        profiles: list[dict[str, Any]], needs: dict[str, int], target: Target, region: str | None,
        language: str | None, channel: Channel) -> None:
    agents = [Agent(agent_id=f"a{n}", **p) for n, p in enumerate(profiles)]
    queue = QueueRule(name="q", skills=needs, targets=(target,))
    routing = Routing(region=region, language=language)
    assert eligible_among(agents, queue, target, routing, channel) == [
        a for a in agents if eligible(a, queue, target, routing, channel)]


def test_candidates_are_listed_in_rank_order_whatever_order_agents_became_ready() -> None:
    # Ranks follow the order agents were added (d, c, b, a); they become ready in the reverse order, and c goes
    # away and comes back, so the pools hold them in neither order. Decisions list candidates by rank, as the
    # sort by rank did before pools were keyed by it.
    rules = parse_rules({"queues": {"care": {"skills": {"care": 1}}, "local": {
        "skills": {"care": 1}, "targets": [{"region": "caller"}]}},
        "routes": [{"name": "local", "when": {"service_number": "2"}, "queue": "local"}], "default_queue": "care"})
    core = ContactCenter(rules)
    for agent_id, region in (("d", "medan"), ("c", "jakarta"), ("b", "medan"), ("a", "jakarta")):
        core.add_agent(agent_id)
        core.set_profile(agent_id, at(0), skills={"care": 1}, region=region)
    for n, agent_id in enumerate("abcd"):
        core.login(agent_id, f"70{n}", at(1 + n), ready=True)
    core.set_not_ready("c", "break", at(5))
    core.set_ready("c", at(6))

    def offered(call_id: str, service: str, region: str | None, when: float) -> tuple[tuple[str, ...], str | None]:
        call = WorkItem(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="1", service_number=service,
                        queue="", arrived_at=at(when), routing=Routing(region=region))
        core.call_arrived(call, at(when))
        decision = core.calls[call_id].decisions[-1]
        assert decision.kind == "offered" and decision.candidate_count == len(decision.candidates)
        return decision.candidates, decision.winner

    assert offered("c1", "1", "medan", 10) == (("d", "c", "b", "a"), "a")  # any region: every pool, merged
    assert offered("c2", "2", "medan", 11) == (("d", "b"), "b")  # the caller's region: one pool
    assert offered("c3", "2", "jakarta", 12) == (("c",), "c")


def test_snapshots_equal_a_replace_and_share_no_containers() -> None:
    call = WorkItem(call_id="c1", channel_id="ch", caller_number="1", service_number="2", queue="q",
                    arrived_at=at(0), routing=Routing(region="medan", priority=3), ivr={"menu": "1"},
                    legs=[Leg("a", "agent", "answered", "ch-a", at(1))],
                    consult=Consult("agent", "b", "ch-t1", at(2)))
    call.decisions.append(Decision(at(0), "queued", "q", "default", 0, reason="r"))
    copy = call.snapshot()
    assert copy == replace(call) and copy is not call
    for name in ("routing", "decisions", "ivr", "consult"):
        assert getattr(copy, name) is not getattr(call, name)
    assert copy.legs[0] == call.legs[0] and copy.legs[0] is not call.legs[0]
    agent = Agent(agent_id="a", skills={"care": 2}, work={"c1": Channel.VOICE}, languages=frozenset({"id"}))
    twin = agent.snapshot()
    assert twin == replace(agent) and twin.skills is not agent.skills and twin.work is not agent.work


def test_copier_refuses_what_it_cannot_copy_positionally() -> None:
    @dataclass
    class Keyed:
        a: int
        b: int = field(kw_only=True)

    with pytest.raises(TypeError):
        copier(Keyed)


def test_a_waiting_call_s_bucket_is_where_it_may_be_offered_now() -> None:
    waiting = WaitingIndex()
    step0 = (Channel.VOICE, "care", 0, "medan", None)
    step1 = (Channel.VOICE, "care", 1, None, None)
    assert waiting.place("c1", (1, 1, "c1"), "care", step0) is True
    assert (waiting.bucket_of("c1"), waiting.offerable("c1")) == (step0, True)
    assert waiting.place("c1", (1, 1, "c1"), "care", step1) is True  # escalated: a new bucket, same place
    assert (waiting.bucket_of("c1"), waiting.count("care")) == (step1, 1)
    assert waiting.place("c1", (1, 1, "c1"), "care", None) is False  # paused after a failed offer
    assert (waiting.bucket_of("c1"), waiting.offerable("c1"), "c1" in waiting) == (None, False, True)
    waiting.remove("c1")
    assert (waiting.bucket_of("c1"), "c1" in waiting, waiting.count("care")) == (None, False, 0)
    assert waiting.bucket_of("never") is None
