"""The incremental core decides exactly as the full-dispatch reference, under random event sequences.

Every event goes to both :class:`cti.acd.ContactCenter` and :class:`tests.reference_core.ReferenceContactCenter`
(the implementation before decisions were incremental); their commands, refusals, queries and whole
state must be equal after every step. Calls and chats arrive; agents have capacities (no chats, two chats,
two chats during a call). The invariants are checked on the new core: an item is held by one agent, an agent
holds no more than their capacity and a call alone (never two offers at once), and no eligible item waits
while an agent who may take it is available.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from cti.acd import (
    AcdError,
    AgentState,
    Capacity,
    Channel,
    Command,
    ContactCenter,
    InvalidTransition,
    Offer,
    Routing,
    Rules,
    WorkItem,
    WorkState,
    eligible,
    parse_rules,
)
from tests.reference_core import ReferenceContactCenter

T0 = datetime(2026, 11, 23, 2, 59, tzinfo=UTC)  # Monday 09:59 WIB: "office" opens a minute later

_QUEUES: dict[str, Any] = {
    "care": {"skills": {"care": 1}, "wrap_up_seconds": 4, "announce_seconds": 7, "callback_key": "*",
             "max_waiting": 5, "overflow": {"action": "queue", "queue": "spill"},
             "targets": [{"region": "caller", "timeout": 10}, {"min_level": 3, "timeout": 10}, {"language": "any"}]},
    "sales": {"skills": {"sales": 2}, "strategy": "most_skilled", "balance_sites": True,
              "targets": [{"region": "caller", "timeout": 5}, {"team": "t1", "timeout": 5},
                          {"region": "any", "language": "any"}]},
    "spill": {"strategy": "round_robin", "targets": [{"timeout": 8}, {"overflow": "care"}]},
    "occ": {"skills": {"care": 2, "sales": 1}, "strategy": "least_occupancy", "max_wait_seconds": 400,
            "overflow": {"action": "message", "message": "busy"}, "announce_seconds": 3},
    "rr": {"strategy": "round_robin", "balance_sites": True, "wrap_up_seconds": 1.5,
           "targets": [{"region": "caller", "timeout": 4}, {}]},
    "office": {"calendar": "office", "after_hours": {"action": "queue", "queue": "rr"}},
    "closed": {"calendar": "office", "after_hours": {"action": "message", "message": "closed"}},
}
_ROUTES: list[dict[str, Any]] = [
    {"name": "vip", "when": {"value_tier": "gold"}, "queue": "care", "priority": 10},
    {"name": "billing", "when": {"problem_type": "billing"}, "queue": "sales", "priority": 3},
    *({"name": queue, "when": {"service_number": f"1500{n}"}, "queue": queue}
      for n, queue in enumerate(["care", "sales", "spill", "occ", "rr", "office", "closed"])),
    {"name": "rest", "queue": "care"},
]
_CALENDARS = {"office": {"timezone": "WIB", "hours": {"mon-fri": ["10:00-10:04"]}}}
RULES = [
    parse_rules({"queues": _QUEUES, "routes": _ROUTES, "calendars": _CALENDARS}),
    # A live change: strategies and steps differ, "spill" and "office" are gone (their calls are requeued).
    parse_rules({
        "queues": {**{k: v for k, v in _QUEUES.items() if k not in ("spill", "office")},
                   "care": {**_QUEUES["care"], "strategy": "most_skilled", "overflow": None,
                            "targets": [{"min_level": 2, "timeout": 3}, {"region": "caller", "timeout": 6}, {}]},
                   "sales": {**_QUEUES["sales"], "strategy": "longest_idle", "balance_sites": False}},
        "routes": [r for r in _ROUTES if r["queue"] not in ("spill", "office")],
        "calendars": _CALENDARS, "default_queue": "sales",
    }),
    parse_rules({"queues": {"general": {"announce_seconds": 2}}}),
]

AGENTS = ("a1", "a2", "a3", "a4", "a5", "a6")
EXTENSIONS = ("7001", "7002", "7003", "7004", "7005", "7006")
REGIONS = ("jakarta", "surabaya", None)
SERVICES = ("15000", "15000", "15001", "15001", "15002", "15003", "15004", "15005", "15006", "15999")
SITES = ("s1", "s2", None)
TEAMS = ("t1", "t2", None)
FAILURES = (None, "no_answer", "busy")
skills = st.dictionaries(st.sampled_from(["care", "sales"]), st.integers(1, 5), max_size=2)
languages = st.sampled_from([(), ("id",), ("en",), ("id", "en")])
gap = st.sampled_from([0, 0, 0.5, 1, 2])
caller = st.tuples(st.sampled_from(SERVICES), st.sampled_from(REGIONS), st.sampled_from(["ID", "ID", None, "SG"]),
                   st.sampled_from(["id", "en", None]), st.booleans(), st.booleans(), st.booleans(),
                   st.sampled_from([0, 0, 1, 2.5]), st.sampled_from([Channel.VOICE, Channel.VOICE, Channel.CHAT]))
# Agents without chats (the default), with two, and with two they may take during a call.
capacities = st.sampled_from([Capacity(), Capacity(), Capacity.of({"chat": 2}), Capacity.of({"chat": 2}, exclusive=())])


class Equivalence(RuleBasedStateMachine):
    @initialize(aging=st.sampled_from([60.0, 2.5, 0.3, 0.0]),
                profiles=st.lists(st.tuples(skills, languages, st.sampled_from(REGIONS), st.sampled_from(SITES),
                                            st.sampled_from(TEAMS), st.booleans(), capacities),
                                  min_size=len(AGENTS), max_size=len(AGENTS)))
    def setup(self, aging: float, profiles: list[tuple[Any, ...]]) -> None:
        self.new = ContactCenter(RULES[0], aging_seconds=aging)
        self.ref = ReferenceContactCenter(RULES[0], aging_seconds=aging)
        self.now = T0
        self.arrivals = 0
        for agent_id, extension, (skills, languages, region, site, team, ready, capacity) in zip(
                AGENTS, EXTENSIONS, profiles, strict=True):
            for core in (self.new, self.ref):
                core.add_agent(agent_id, agent_id.upper())
            self.both("set_profile", agent_id, T0, skills=skills, languages=languages, region=region, site=site,
                      team=team, capacity=capacity)
            if ready:
                self.both("login", agent_id, extension, T0, ready=True)

    # -- helpers
    def later(self, dt: float) -> datetime:
        self.now += timedelta(seconds=dt)
        return self.now

    def both(self, name: str, *args: Any, **kwargs: Any) -> list[Command]:
        """Call ``name`` on both cores: the same commands, or the same refusal."""
        results: list[Any] = []
        for core in (self.new, self.ref):
            try:
                results.append(getattr(core, name)(*args, **kwargs))
            except (AcdError, InvalidTransition) as exc:
                results.append((type(exc), str(exc)))
        assert results[0] == results[1], f"{name}{args}: {results[0]} != {results[1]}"
        commands = results[0] if isinstance(results[0], list) else []
        for command in commands:
            if isinstance(command, Offer):  # never beyond capacity, and a call alone: never two offers at once
                agent = self.new.agents[command.agent_id]
                assert agent.load(command.channel) <= agent.capacity.limit(command.channel), agent
                if any(channel in agent.capacity.exclusive for channel in agent.work.values()):
                    assert len(agent.work) == 1, agent
        return commands

    def live(self, *states: WorkState, channel: Channel | None = None) -> list[WorkItem]:
        return sorted((c for c in self.new.calls.values()
                       if c.state in states and channel in (None, c.channel)), key=lambda c: c.call_id)

    # -- agents
    @rule(agent=st.sampled_from(AGENTS), extension=st.sampled_from([*EXTENSIONS, None]), ready=st.booleans(), dt=gap)
    def login(self, agent: str, extension: str | None, ready: bool, dt: float) -> None:
        self.both("login", agent, extension, self.later(dt), ready=ready)

    @rule(agent=st.sampled_from(AGENTS), dt=gap)
    def set_ready(self, agent: str, dt: float) -> None:
        self.both("set_ready", agent, self.later(dt))

    @rule(agent=st.sampled_from(AGENTS), reason=st.sampled_from(["break", "lunch"]), dt=gap)
    def set_not_ready(self, agent: str, reason: str, dt: float) -> None:
        self.both("set_not_ready", agent, reason, self.later(dt))

    @rule(agent=st.sampled_from(AGENTS), dt=gap)
    def logout(self, agent: str, dt: float) -> None:
        self.both("logout", agent, self.later(dt))

    @rule(agent=st.sampled_from(AGENTS), skills=st.none() | skills, languages=st.none() | languages,
          region=st.sampled_from(REGIONS), site=st.sampled_from(SITES), team=st.sampled_from(TEAMS),
          capacity=st.none() | capacities, dt=gap)
    def set_profile(self, agent: str, skills: dict[str, int] | None, languages: tuple[str, ...] | None,
                    region: str | None, site: str | None, team: str | None, capacity: Capacity | None,
                    dt: float) -> None:
        self.both("set_profile", agent, self.later(dt), skills=skills, languages=languages, region=region,
                  site=site, team=team, capacity=capacity)

    # -- calls
    @rule(callers=st.lists(caller, min_size=1, max_size=3), dt=gap)
    def arrive(self, callers: list[tuple[Any, ...]], dt: float) -> None:
        now = self.later(dt)
        for service, region, country, language, gold, billing, anonymous, back, channel in callers:
            self.arrivals += 1
            calls = [WorkItem(call_id=f"c{self.arrivals:03d}", channel_id=f"chan-c{self.arrivals:03d}",
                          caller_number="anonymous" if anonymous else "0215550123", service_number=service,
                          queue="", arrived_at=now - timedelta(seconds=back),
                          routing=Routing(region=region, country=country, language=language,
                                          value_tier="gold" if gold else None,
                                          problem_type="billing" if billing else None), channel=channel)
                     for _ in range(2)]
            assert self.new.call_arrived(calls[0], now) == self.ref.call_arrived(calls[1], now)

    @precondition(lambda self: self.live(WorkState.RINGING))
    @rule(data=st.data(), dt=gap)
    def agent_answers(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.RINGING)))
        self.both("offer_answered", call.agent_channel_id, self.later(dt))

    @precondition(lambda self: self.live(WorkState.RINGING))
    @rule(data=st.data(), failure=st.sampled_from(FAILURES), fault=st.booleans(), dt=gap)
    def offer_fails(self, data: st.DataObject, failure: str | None, fault: bool, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.RINGING)))
        self.both("channel_gone", call.agent_channel_id, self.later(dt), offer_failure=failure,
                  system_fault=fault and failure is None)

    @precondition(lambda self: self.live(WorkState.CONNECTED, WorkState.CALLING_BACK))
    @rule(data=st.data(), dt=gap)
    def agent_hangs_up(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.CONNECTED, WorkState.CALLING_BACK)))
        self.both("channel_gone", call.agent_channel_id, self.later(dt))

    @precondition(lambda self: self.new.calls)
    @rule(data=st.data(), dt=gap)
    def caller_hangs_up(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(*WorkState)))
        self.both("channel_gone", call.channel_id, self.later(dt))

    @precondition(lambda self: self.new.calls)
    @rule(data=st.data(), dt=gap)
    def call_lost(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(*WorkState)))
        self.both("call_lost", call.call_id, self.later(dt))

    @precondition(lambda self: self.live(WorkState.CONNECTED))
    @rule(data=st.data(), dt=gap)
    def bridge_fails(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.CONNECTED)))
        self.both("bridge_failed", call.call_id, self.later(dt))

    @precondition(lambda self: self.live(WorkState.WAITING, channel=Channel.VOICE))
    @rule(data=st.data(), digit=st.sampled_from(["*", "*", "5"]), dt=gap)
    def caller_presses(self, data: st.DataObject, digit: str, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.WAITING, channel=Channel.VOICE)))
        self.both("dtmf_received", call.channel_id, digit, self.later(dt))

    @precondition(lambda self: self.live(WorkState.CALLING_BACK))
    @rule(data=st.data(), dt=gap)
    def customer_answers(self, data: st.DataObject, dt: float) -> None:
        call = data.draw(st.sampled_from(self.live(WorkState.CALLING_BACK)))
        self.both("customer_answered", call.channel_id, self.later(dt))

    @rule(dt=st.sampled_from([0, 0.5, 1, 1, 1, 1.000001, 2, 5, 11]))
    def tick(self, dt: float) -> None:
        self.both("tick", self.later(dt))
        self.check_work_conserving(resumed=True)

    @rule(which=st.integers(0, len(RULES) - 1), dt=gap)
    def new_rules(self, which: int, dt: float) -> None:
        self.both("set_rules", RULES[which], self.later(dt))

    @rule(dt=gap)
    def resync(self, dt: float) -> None:
        self.both("dispatch", self.later(dt))
        self.check_work_conserving(resumed=True)

    @rule()
    def restart(self) -> None:
        """A new controller loads the live state saved by the previous one (no dispatch until it resyncs)."""
        rules, aging = self.new.rules, self.new.aging_seconds
        fresh = ContactCenter(rules, aging_seconds=aging), ReferenceContactCenter(rules, aging_seconds=aging)
        for core in fresh:
            for agent_id in AGENTS:
                core.add_agent(agent_id, agent_id.upper())
            core.restore([a.snapshot() for a in self.new.agents.values()],
                         [c.snapshot() for c in self.new.calls.values()])
        self.new, self.ref = fresh

    # -- the same answers and the same state
    @invariant()
    def same_state(self) -> None:
        new, ref = self.new, self.ref
        assert list(new.agents.items()) == list(ref.agents.items())
        assert list(new.calls.items()) == list(ref.calls.items())
        assert new._channels == ref._channels
        assert new._last_assigned == ref._last_assigned and new._aht == ref._aht
        assert [c.call_id for c in new.waiting()] == [c.call_id for c in ref.waiting()]
        for call in new.calls.values():
            assert new.position(call, self.now) == ref.position(ref.calls[call.call_id], self.now)
        for queue in [*new.rules.queues, "unknown"]:
            assert [c.call_id for c in new.waiting(queue)] == [c.call_id for c in ref.waiting(queue)]
            for channel in Channel:
                assert new.estimated_wait(queue, 2, channel) == ref.estimated_wait(queue, 2, channel)

    # -- the invariants
    @invariant()
    def one_agent_per_item_and_the_agents_state_follows_it(self) -> None:
        engaged = self.live(WorkState.RINGING, WorkState.CONNECTED, WorkState.CALLING_BACK)
        held: dict[str, dict[str, Channel]] = {}
        for call in engaged:
            held.setdefault(call.agent_id or "", {})[call.call_id] = call.channel
        for agent in self.new.agents.values():
            work = held.get(agent.agent_id, {})
            assert agent.work == work, (agent.agent_id, agent.work, work)
            connected = any(c.state is not WorkState.RINGING for c in engaged if c.call_id in work)
            if work:
                assert agent.state is (AgentState.ON_CALL if connected else AgentState.RINGING), agent

    @invariant()
    def no_eligible_call_waits_while_an_eligible_agent_is_ready(self) -> None:
        # A call paused after a failed offer may become offerable by time alone; the next decision (at the
        # latest the next tick, see tick()) offers it. Until then only the calls never paused count.
        self.check_work_conserving(resumed=False)

    def check_work_conserving(self, *, resumed: bool) -> None:
        if not self.new._router.settled:
            return  # just restored: the state is as loaded until the next decision (as in the reference)
        for call in self.live(WorkState.WAITING):
            if call.not_before is not None and (not resumed or call.not_before > self.now):
                continue
            queue = self.new.queue_rule(call.queue)
            target = queue.targets[min(call.routing.step, len(queue.targets) - 1)]
            idle = [a.agent_id for a in self.new.agents.values()
                    if eligible(a, queue, target, call.routing, call.channel)]
            assert not idle, f"{call.call_id} ({call.channel}) waits while {idle} may take it"


Equivalence.TestCase.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_incremental_dispatch_equals_the_full_dispatch = Equivalence.TestCase


def test_rules_are_valid_and_distinct() -> None:
    assert all(isinstance(r, Rules) for r in RULES)
    assert [sorted(r.queues) for r in RULES] == [
        ["care", "closed", "occ", "office", "rr", "sales", "spill"], ["care", "closed", "occ", "rr", "sales"],
        ["general"]]


# -- moments where several changes meet, which random sequences seldom reach -------------------------------
def both_cores(rules: Rules) -> tuple[ContactCenter, ReferenceContactCenter]:
    return ContactCenter(rules), ReferenceContactCenter(rules)


def call(call_id: str, service: str, second: float) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="1", service_number=service, queue="",
                arrived_at=T0 + timedelta(seconds=second), routing=Routing(region="jakarta"))


def offers(commands: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, Offer)]


def test_a_tick_that_frees_an_agent_and_widens_a_call_serves_calls_in_order() -> None:
    """At one tick "care" agent ana ends her wrap-up and call x escalates so that "sales" agent budi, idle
    all along, may take it. x came first, so it is offered first; ana then takes y, which came later."""
    rules = parse_rules({
        "queues": {"care": {"skills": {"care": 1}, "wrap_up_seconds": 5},
                   "sales": {"skills": {"sales": 1}, "targets": [{"region": "caller", "timeout": 10}, {}]}},
        "routes": [{"name": "sales", "when": {"service_number": "2"}, "queue": "sales"},
                   {"name": "care", "queue": "care"}]})
    results = []
    for core in both_cores(rules):
        for agent_id, skill, region in (("ana", "care", "jakarta"), ("budi", "sales", "surabaya")):
            core.add_agent(agent_id)
            core.set_profile(agent_id, T0, skills={skill: 1}, region=region)
        core.login("ana", "7001", T0, ready=True)
        for call_id, service, second in (("x", "2", 0), ("c0", "1", 0)):
            core.call_arrived(call(call_id, service, second), T0 + timedelta(seconds=second))
        core.offer_answered("c0-a1", T0 + timedelta(seconds=1))
        core.channel_gone("ch-c0", T0 + timedelta(seconds=5))  # ana in wrap-up until 10 s
        core.login("budi", "7002", T0 + timedelta(seconds=5), ready=True)  # x wants Jakarta until 10 s
        core.call_arrived(call("y", "1", 6), T0 + timedelta(seconds=6))
        assert offers(core.tick(T0 + timedelta(seconds=9))) == []
        results.append(core.tick(T0 + timedelta(seconds=10)))
    assert results[0] == results[1]
    assert offers(results[0]) == [("x", "budi"), ("y", "ana")]


def test_a_ready_agent_who_learns_a_language_takes_the_call_waiting_for_it() -> None:
    for core in both_cores(parse_rules({"queues": {"care": {}}})):
        core.add_agent("ana")
        core.set_profile("ana", T0, languages=["en"])
        core.login("ana", "7001", T0, ready=True)
        core.call_arrived(WorkItem(call_id="c1", channel_id="ch-c1", caller_number="1", service_number="1", queue="",
                               arrived_at=T0, routing=Routing(language="id")), T0)
        assert core.calls["c1"].state is WorkState.WAITING
        commands = core.set_profile("ana", T0 + timedelta(seconds=1), languages=["en", "id"])
        assert offers(commands) == [("c1", "ana")]


def test_two_agents_freed_at_once_share_the_calls_by_service_order() -> None:
    """ana and budi end their wrap-ups at the same tick as x (from Medan, nobody's region) widens to any
    region: x goes to ana (the tie on idle time goes by id), then y (Surabaya) to budi."""
    rules = parse_rules({"queues": {"care": {"wrap_up_seconds": 5,
                                             "targets": [{"region": "caller", "timeout": 10}, {}]}}})
    results = []
    for core in both_cores(rules):
        for agent_id, extension, region in (("ana", "7001", "jakarta"), ("budi", "7002", "surabaya")):
            core.add_agent(agent_id)
            core.set_profile(agent_id, T0, region=region)
            core.login(agent_id, extension, T0, ready=True)
        for call_id, region in (("c1", "jakarta"), ("c2", "surabaya")):
            core.call_arrived(WorkItem(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="1",
                                       service_number="1", queue="", arrived_at=T0, routing=Routing(region=region)), T0)
            core.offer_answered(f"{call_id}-a1", T0)
        for call_id, second, region in (("x", 0, "medan"), ("y", 1, "surabaya")):
            core.call_arrived(WorkItem(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="1",
                                       service_number="1", queue="", arrived_at=T0 + timedelta(seconds=second),
                                       routing=Routing(region=region)), T0 + timedelta(seconds=second))
        for call_id in ("c1", "c2"):
            core.channel_gone(f"ch-{call_id}", T0 + timedelta(seconds=5))  # wrap-up until 10 s
        results.append(core.tick(T0 + timedelta(seconds=10)))
    assert results[0] == results[1]
    assert offers(results[0]) == [("x", "ana"), ("y", "budi")]


def test_an_agent_below_the_raised_level_skips_to_the_call_it_may_take() -> None:
    rules = parse_rules({"queues": {"care": {"skills": {"care": 1},
                                             "targets": [{"timeout": 5}, {"min_level": 3}]}}})
    results = []
    for core in both_cores(rules):
        core.call_arrived(call("x", "1", 0), T0)
        core.tick(T0 + timedelta(seconds=5))  # x now needs level 3
        core.call_arrived(call("y", "1", 6), T0 + timedelta(seconds=6))
        core.add_agent("ana")
        core.set_profile("ana", T0, skills={"care": 2})
        results.append(core.login("ana", "7001", T0 + timedelta(seconds=7), ready=True))
    assert results[0] == results[1]
    assert offers(results[0]) == [("y", "ana")]
