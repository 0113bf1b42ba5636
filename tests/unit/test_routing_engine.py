"""Routing through the core: rules decide the queue, eligibility widens over time, strategies pick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti.acd import (
    WHY_CODES,
    ContactCenter,
    Offer,
    Reject,
    Routing,
    RulesError,
    Why,
    WorkItem,
    parse_rules,
    parse_rules_text,
)

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


RULES: dict[str, Any] = {
    "calendars": {"office": {"timezone": "WIB", "hours": {"mon-fri": ["08:00-17:00"]}}},
    "queues": {
        "care": {"skills": {"care": 1}, "wrap_up_seconds": 10,
                 "targets": [{"region": "caller", "timeout": 30}, {"min_level": 5, "timeout": 30}, {}]},
        "billing": {"skills": {"billing": 1}, "strategy": "most_skilled"},
        "office": {"calendar": "office", "after_hours": {"action": "queue", "queue": "night"}},
        "closed": {"calendar": "office", "after_hours": {"action": "message", "message": "closed-message"}},
        "night": {},
        "tiny": {"max_waiting": 1, "overflow": {"action": "queue", "queue": "care"}},
        "full": {"max_waiting": 0, "overflow": {"action": "message", "message": "all-busy"}},
    },
    "routes": [
        {"name": "vip", "when": {"value_tier": "gold"}, "queue": "care", "priority": 10},
        {"name": "billing", "when": {"service_number": "1500200"}, "queue": "billing"},
        {"name": "office", "when": {"service_number": "1500300"}, "queue": "office"},
        {"name": "closed", "when": {"service_number": "1500301"}, "queue": "closed"},
        {"name": "tiny", "when": {"service_number": "1500400"}, "queue": "tiny"},
        {"name": "full", "when": {"service_number": "1500500"}, "queue": "full"},
        {"name": "care", "queue": "care"},
    ],
}


def center(**overrides: Any) -> ContactCenter:
    return ContactCenter(parse_rules({**RULES, **overrides}))


def agent(core: ContactCenter, agent_id: str, ext: str, when: float, *, ready: bool = True, **profile: Any) -> None:
    core.add_agent(agent_id, agent_id.title())
    core.set_profile(agent_id, at(when), **profile)
    core.login(agent_id, ext, at(when), ready=ready)


def call(core: ContactCenter, call_id: str, when: float, *, service: str = "1500100", region: str | None = None,
         tier: str | None = None, language: str | None = None) -> list[Any]:
    c = WorkItem(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550100", service_number=service,
             queue="", arrived_at=at(when), routing=Routing(region=region, value_tier=tier, language=language))
    return core.call_arrived(c, at(when))


def offers(commands: list[Any]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, Offer)]


def test_caller_region_first_then_any_region_after_the_timeout() -> None:
    core = center()
    agent(core, "sby", "7001", 0, skills={"care": 3}, region="surabaya")
    assert offers(call(core, "c1", 1, region="jakarta")) == []  # only Surabaya is free: Jakarta waits
    assert core.calls["c1"].routing.step == 0
    assert offers(core.tick(at(30))) == []  # 29 s in the queue: still step 0
    commands = core.tick(at(31))  # 30 s: step 1 (any region, level >= 5): level 3 is not enough
    assert offers(commands) == [] and core.calls["c1"].routing.step == 1
    assert offers(core.tick(at(61))) == [("c1", "sby")]  # step 2: anyone in the queue
    kinds = [d.kind for d in core.calls["c1"].decisions]
    assert kinds == ["queued", "escalated", "escalated", "offered"]


def test_regional_agent_wins_over_a_longer_idle_agent_elsewhere() -> None:
    core = center()
    agent(core, "sby", "7001", 0, skills={"care": 1}, region="surabaya")
    agent(core, "jkt", "7002", 5, skills={"care": 1}, region="jakarta")
    assert offers(call(core, "c1", 10, region="jakarta")) == [("c1", "jkt")]
    decision = core.calls["c1"].decisions[-1]
    assert (decision.kind, decision.winner, decision.candidates, decision.candidate_count) == (
        "offered", "jkt", ("jkt",), 1)
    assert "longest_idle" in decision.reason and "region=caller" in decision.reason
    assert [part.as_json() for part in decision.why] == [{"code": "offered", "params": {
        "strategy": "longest_idle", "eligible": 1, "step": 0, "region": "caller", "language": "caller"}}]
    assert {part.code for part in decision.why} <= WHY_CODES
    assert offers(call(core, "c2", 11, region="surabaya")) == [("c2", "sby")]


def test_service_number_picks_the_product_team_and_most_skilled_wins() -> None:
    core = center()
    agent(core, "care1", "7001", 0, skills={"care": 9})
    agent(core, "bill3", "7002", 1, skills={"billing": 3})
    agent(core, "bill8", "7003", 2, skills={"billing": 8})
    assert offers(call(core, "b1", 5, service="1500200")) == [("b1", "bill8")]
    assert core.calls["b1"].queue == "billing" and core.calls["b1"].routing.route == "billing"


def test_vip_overtakes_earlier_callers() -> None:
    core = center()
    call(core, "early", 0)
    call(core, "vip", 5, tier="gold")
    assert core.calls["vip"].routing.priority == 10
    agent(core, "a", "7001", 6, skills={"care": 5})
    assert [o for o in offers(core.tick(at(7)))] == []  # the login already dispatched
    assert core.calls["vip"].agent_id == "a" and core.calls["early"].agent_id is None


def ivr_transfer(core: ContactCenter, call_id: str, when: float, *, queue: str | None = None,
                 priority: int | None = None, tier: str | None = None) -> WorkItem:
    routing = Routing(value_tier=tier, requested_queue=queue, requested_priority=priority)
    core.call_arrived(WorkItem(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="0215550100",
                               service_number="1500100", queue="", arrived_at=at(when), routing=routing), at(when))
    return core.calls[call_id]


def test_the_ivr_names_the_queue_and_raises_the_priority() -> None:
    core = center()
    billed = ivr_transfer(core, "c1", 0, queue="billing", priority=5)
    assert (billed.queue, billed.routing.route, billed.routing.priority) == ("billing", "care", 5)
    assert billed.decisions[0].reason == (
        "route 'care' matched; priority 0; the IVR asked for queue 'billing'; the IVR raised the priority to 5")
    assert [part.as_json() for part in billed.decisions[0].why] == [
        {"code": "route_matched", "params": {"route": "care", "priority": 0}},
        {"code": "ivr_queue", "params": {"queue": "billing"}},
        {"code": "ivr_priority", "params": {"priority": 5}}]
    # A priority the route already beats stays the route's: the IVR never lowers a VIP.
    vip = ivr_transfer(core, "c2", 1, priority=5, tier="gold")
    assert (vip.queue, vip.routing.priority) == ("care", 10)
    assert vip.decisions[0].reason == "route 'vip' matched; priority 10"
    assert vip.decisions[0].why == (Why("route_matched", {"route": "vip", "priority": 10}),)


def test_a_queue_the_rules_do_not_have_leaves_the_call_on_its_route() -> None:
    core = center()
    lost = ivr_transfer(core, "c1", 0, queue="nowhere")
    assert (lost.queue, lost.state.value) == ("care", "waiting")
    assert lost.decisions[0].reason == (
        "route 'care' matched; priority 0; the IVR asked for queue 'nowhere', which the rules do not have")
    assert [part.as_json() for part in lost.decisions[0].why] == [
        {"code": "route_matched", "params": {"route": "care", "priority": 0}},
        {"code": "ivr_queue_unknown", "params": {"queue": "nowhere"}}]


def test_aging_keeps_ordinary_calls_from_starving() -> None:
    core = center()
    call(core, "old", 0)
    call(core, "vip", 650, tier="gold")  # priority 10, but "old" has aged by 650/60 > 10
    agent(core, "a", "7001", 651, skills={"care": 5})
    assert core.calls["old"].agent_id == "a"


def test_round_robin_and_least_occupancy() -> None:
    queues = {**RULES["queues"], "rr": {"strategy": "round_robin"}, "lo": {"strategy": "least_occupancy"}}
    routes = [{"name": "rr", "when": {"service_number": "1"}, "queue": "rr"},
              {"name": "lo", "when": {"service_number": "2"}, "queue": "lo"}, *RULES["routes"]]
    core = center(queues=queues, routes=routes)
    for n, ext in enumerate(("7001", "7002", "7003")):
        agent(core, f"a{n}", ext, 0)
    winners = []
    for i in range(4):
        commands = call(core, f"r{i}", 1 + i, service="1")
        [(call_id, winner)] = offers(commands)
        winners.append(winner)
        core.offer_answered(f"{call_id}-a1", at(1 + i))
        core.channel_gone(f"chan-{call_id}", at(1.5 + i))  # short call; agents back to ready (no wrap-up)
    assert winners == ["a0", "a1", "a2", "a0"]
    core.agents["a1"].busy_seconds = 500  # a1 has been busiest: least occupancy avoids it
    core.agents["a0"].busy_seconds = 100
    core.agents["a2"].busy_seconds = 50
    assert offers(call(core, "lo1", 100, service="2")) == [("lo1", "a2")]


def test_language_is_required_unless_the_agent_lists_none() -> None:
    core = center()
    agent(core, "en_only", "7001", 0, skills={"care": 5}, languages=["en"])
    assert offers(call(core, "c1", 1, language="id")) == []
    agent(core, "anyone", "7002", 2, skills={"care": 5})
    assert core.calls["c1"].agent_id == "anyone"


def test_queue_limits_overflow_or_reject() -> None:
    core = center()
    call(core, "t1", 0, service="1500400")
    call(core, "t2", 1, service="1500400")
    assert (core.calls["t1"].queue, core.calls["t2"].queue) == ("tiny", "care")
    assert core.calls["t2"].decisions[-1].kind == "overflowed"
    commands = call(core, "f1", 2, service="1500500")
    assert [c for c in commands if isinstance(c, Reject)] == [Reject("f1", "chan-f1", "all-busy")]
    assert "f1" not in core.calls


def test_after_hours_with_an_injected_clock() -> None:
    core = center()
    call(core, "day", 0, service="1500300")  # Monday 10:00 WIB: open
    assert core.calls["day"].queue == "office"
    night = 9 * 3600  # Monday 19:00 WIB: closed
    call(core, "eve", night, service="1500300")
    assert core.calls["eve"].queue == "night"
    commands = call(core, "shut", night, service="1500301")
    assert [c.message for c in commands if isinstance(c, Reject)] == ["closed-message"]


def test_wrap_up_holds_the_agent_then_ready() -> None:
    core = center()
    agent(core, "a", "7001", 0, skills={"care": 1})
    call(core, "c1", 1)
    core.offer_answered("c1-a1", at(2))
    core.channel_gone("chan-c1", at(62))
    assert core.agents["a"].state.value == "wrap_up"
    call(core, "c2", 63)
    assert core.calls["c2"].agent_id is None  # no offers during after-call work
    core.tick(at(71))
    assert core.agents["a"].state.value == "wrap_up"
    core.tick(at(72))
    assert core.calls["c2"].agent_id == "a"  # wrap-up over: ready and offered at once


def test_estimated_wait_follows_handle_time_and_staffing() -> None:
    core = center()
    assert core.estimated_wait("care", 1) == float("inf")  # nobody to serve the queue
    agent(core, "a", "7001", 0, skills={"care": 1}, ready=False)
    agent(core, "b", "7002", 0, skills={"care": 1}, ready=False)
    assert core.estimated_wait("care", 3) == pytest.approx(3 * 180 / 2)


def test_live_profile_change_applies_to_the_next_decision() -> None:
    core = center()
    agent(core, "a", "7001", 0, skills={"billing": 2})
    call(core, "c1", 1)  # care needs the care skill: waits
    assert core.calls["c1"].agent_id is None
    core.set_profile("a", at(2), skills={"billing": 2, "care": 4})
    assert core.calls["c1"].agent_id == "a"


def test_rules_validation_names_the_problem() -> None:
    with pytest.raises(RulesError, match="no queue 'nope'"):
        parse_rules({"queues": {"a": {}}, "routes": [{"name": "r", "queue": "nope"}]})
    with pytest.raises(RulesError, match=r"not within 1\.\.10"):
        parse_rules({"queues": {"a": {"skills": {"x": 0}}}})
    with pytest.raises(RulesError, match="needs a timeout"):
        parse_rules({"queues": {"a": {"targets": [{}, {}]}}})
    with pytest.raises(RulesError, match="calendar 'c'"):
        parse_rules({"calendars": {"c": {"timezone": "Mars/Olympus", "hours": {}}}, "queues": {"a": {}}})
    with pytest.raises(RulesError, match="unknown attribute"):
        parse_rules({"queues": {"a": {}}, "routes": [{"name": "r", "when": {"shoe_size": "42"}, "queue": "a"}]})


def test_rules_whose_yaml_aliases_expand_without_bound_are_refused_at_once() -> None:
    laughs = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]  # 9**9 values
    with pytest.raises(RulesError, match="more than 100000 values") as refused:
        parse_rules_text("\n".join(laughs) + "\nqueues: {care: {}}\n")
    assert [p.field for p in refused.value.problems] == ["rules"]
    # An ordinary alias (a shared condition) stays fine.
    rules = parse_rules_text("""
queues: {care: {}, billing: {}}
routes:
  - {name: a, when: &jakarta {region: jakarta}, queue: care}
  - {name: b, when: *jakarta, queue: billing}
""")
    assert [r.name for r in rules.routes] == ["a", "b"]


def test_new_rules_move_calls_out_of_removed_queues() -> None:
    core = center()
    call(core, "b1", 0, service="1500200")
    commands = core.set_rules(parse_rules({"queues": {"general": {}}}), at(1))
    assert core.calls["b1"].queue == "general" and core.calls["b1"].decisions[-1].kind == "requeued"
    assert commands


def test_position_announcement_wording() -> None:
    from cti.acd import position_announcement

    assert position_announcement(1, float("inf")) == ["sound:queue-youarenext"]
    assert position_announcement(3, 150) == [
        "sound:queue-thereare", "number:3", "sound:queue-callswaiting",
        "sound:queue-holdtime", "number:3", "sound:queue-minutes"]
    assert position_announcement(1, 20)[-2:] == ["number:1", "sound:queue-minute"]
    assert position_announcement(2, 4 * 3600)[-1] == "sound:queue-callswaiting"  # too long to promise


def test_waiting_callers_hear_their_position_every_interval() -> None:
    from cti.acd import Announce

    queues = {**RULES["queues"], "care": {**RULES["queues"]["care"], "announce_seconds": 20}}
    core = center(queues=queues)
    call(core, "c1", 0)
    call(core, "c2", 5)
    assert [c for c in core.tick(at(19)) if isinstance(c, Announce)] == []
    first = [c for c in core.tick(at(20)) if isinstance(c, Announce)]
    assert [(a.call_id, a.media[0]) for a in first] == [("c1", "sound:queue-youarenext")]
    second = [c for c in core.tick(at(25)) if isinstance(c, Announce)]
    assert [(a.call_id, a.media[:3]) for a in second] == [
        ("c2", ("sound:queue-thereare", "number:2", "sound:queue-callswaiting"))]
    assert [c for c in core.tick(at(39)) if isinstance(c, Announce)] == []
    assert [a.call_id for a in core.tick(at(40)) if isinstance(a, Announce)] == ["c1"]


def test_agent_ends_wrap_up_early_or_goes_not_ready_from_it() -> None:
    core = center()
    agent(core, "a", "7001", 0, skills={"care": 1})
    call(core, "c1", 1)
    core.offer_answered("c1-a1", at(2))
    core.channel_gone("chan-c1", at(30))
    assert core.agents["a"].state.value == "wrap_up"
    core.set_ready("a", at(33))  # done with the notes after 3 s of the 10 allowed
    assert core.agents["a"].state.value == "ready" and core.agents["a"].wrap_up_until is None
    call(core, "c2", 40)
    core.offer_answered("c2-a1", at(41))
    core.channel_gone("chan-c2", at(50))
    core.set_not_ready("a", "break", at(52))
    assert (core.agents["a"].state.value, core.agents["a"].reason) == ("not_ready", "break")
    core.tick(at(70))  # the wrap-up timer that would have run out changes nothing now
    assert core.agents["a"].state.value == "not_ready"


def test_a_target_can_overflow_the_call_to_another_queue() -> None:
    queues = {**RULES["queues"], "first": {"targets": [{"timeout": 5}, {"overflow": "night"}]}}
    routes = [{"name": "first", "when": {"service_number": "9"}, "queue": "first"}, *RULES["routes"]]
    core = center(queues=queues, routes=routes)
    call(core, "c1", 0, service="9")
    assert core.tick(at(4)) == [] and core.calls["c1"].queue == "first"
    core.tick(at(5))
    assert (core.calls["c1"].queue, core.calls["c1"].routing.step) == ("night", 0)
    assert [d.kind for d in core.calls["c1"].decisions] == ["queued", "overflowed"]
    assert core.tick(at(6)) == []  # settled in the new queue: nothing changes


def callback_center() -> ContactCenter:
    queues = {**RULES["queues"], "cb": {"callback_key": "*", "callback_message": "thanks"}}
    routes = [{"name": "cb", "when": {"service_number": "1500600"}, "queue": "cb"}, *RULES["routes"]]
    return center(queues=queues, routes=routes)


def test_callback_keeps_the_place_then_calls_agent_then_customer() -> None:
    from cti.acd import ConfirmCallback, Connect, DialCustomer, Hangup

    core = callback_center()
    call(core, "c1", 0, service="1500600")
    call(core, "c2", 1, service="1500600")
    assert core.dtmf_received("chan-c1", "5", at(2)) == []  # not the callback key
    commands = core.dtmf_received("chan-c1", "*", at(3))
    assert commands[0] == ConfirmCallback("c1", "chan-c1", "thanks")
    assert core.channel_gone("chan-c1", at(6)) != []  # hangs up after the confirmation...
    c1 = core.calls["c1"]
    assert (c1.state.value, c1.callback, c1.caller_present) == ("waiting", True, False)  # ...keeping its place
    assert core.position(core.calls["c2"], at(7)) == 2
    agent(core, "a", "7001", 10)
    assert core.calls["c1"].agent_id == "a"  # first in line, though its caller is not on the phone
    [dial] = [c for c in core.offer_answered("c1-a1", at(12)) if isinstance(c, DialCustomer)]
    assert dial == DialCustomer("c1", "c1-c1", "0215550100", "1500600", "c1-a1")
    assert (core.calls["c1"].state.value, core.agents["a"].state.value) == ("calling_back", "on_call")
    connect = core.customer_answered("c1-c1", at(20))
    assert connect[0] == Connect("c1", "c1-c1", "c1-a1", "cb")
    assert (core.calls["c1"].state.value, core.calls["c1"].answered_at) == ("connected", at(20))
    assert core.customer_answered("c1-c1", at(21)) == []  # a repeated report changes nothing
    assert core.customer_answered("stray-c9", at(21)) == [Hangup("stray-c9")]  # a leg of no call
    kinds = [d.kind for d in core.calls["c1"].decisions]
    assert kinds == ["queued", "callback_requested", "offered", "calling_back"]


def test_callback_the_customer_does_not_answer() -> None:
    core = callback_center()
    call(core, "c1", 0, service="1500600")
    core.dtmf_received("chan-c1", "*", at(1))
    core.channel_gone("chan-c1", at(3))
    agent(core, "a", "7001", 5)
    core.offer_answered("c1-a1", at(6))
    commands = core.channel_gone("c1-c1", at(36))  # rang 30 s, no answer
    [ended] = [c.item for c in commands if hasattr(c, "item") and c.item.state.value == "ended"]
    assert (ended.outcome.value, ended.end_reason.value) == ("failed", "callback_no_answer")
    assert core.agents["a"].state.value == "ready" and core.agents["a"].calls_handled == 0


def test_anonymous_callers_cannot_ask_for_a_callback() -> None:
    core = callback_center()
    c = WorkItem(call_id="c1", channel_id="chan-c1", caller_number="anonymous", service_number="1500600",
             queue="", arrived_at=at(0))
    core.call_arrived(c, at(0))
    assert core.dtmf_received("chan-c1", "*", at(1)) == []
    assert core.calls["c1"].callback is False


def test_callers_without_geography_get_the_default_region() -> None:
    core = center(default_region="jakarta")
    agent(core, "jkt", "7001", 0, skills={"care": 1}, region="jakarta")
    agent(core, "sby", "7002", 0, skills={"care": 1}, region="surabaya")
    call(core, "mobile", 1, region=None)  # +628...: no area code
    assert core.calls["mobile"].routing.region == "jakarta" and core.calls["mobile"].agent_id == "jkt"
    c = WorkItem(call_id="abroad", channel_id="chan-abroad", caller_number="+6591234567", service_number="1500100",
             queue="", arrived_at=at(2), routing=Routing(country="SG"))
    core.call_arrived(c, at(2))
    assert core.calls["abroad"].routing.region is None  # a foreign caller is not placed in Indonesia


def test_balance_sites_sends_calls_to_the_less_busy_site() -> None:
    queues = {**RULES["queues"], "spread": {"balance_sites": True}, "plain": {}}
    routes = [{"name": "spread", "when": {"service_number": "7"}, "queue": "spread"},
              {"name": "plain", "when": {"service_number": "8"}, "queue": "plain"}, *RULES["routes"]]
    core = center(queues=queues, routes=routes)
    # Site jkt-1: three agents, two of them busy on calls; site sby-1: three agents, all free.
    for n, site in enumerate(["jkt-1", "jkt-1", "jkt-1", "sby-1", "sby-1", "sby-1"]):
        agent(core, f"a{n}", f"70{n:02d}", n, site=site)
    for i in range(2):
        [(_, winner)] = offers(call(core, f"busy{i}", 10 + i, service="8"))
        assert winner == f"a{i}"  # no balancing in "plain": longest idle, both at jkt-1
    # a2 (jkt-1) is now the longest idle, but jkt-1 is 2/3 busy and sby-1 is idle: sby-1 takes the call.
    assert offers(call(core, "s1", 20, service="7")) == [("s1", "a3")]
    decision = core.calls["s1"].decisions[-1]
    assert decision.winner == "a3" and decision.candidate_count == 4
    # Loads: jkt-1 2/3, sby-1 1/3 -> still sby-1 (a4, its longest idle).
    assert offers(call(core, "s2", 21, service="7")) == [("s2", "a4")]
    # jkt-1 2/3, sby-1 2/3: tie goes by site name -> jkt-1's a2.
    assert offers(call(core, "s3", 22, service="7")) == [("s3", "a2")]
