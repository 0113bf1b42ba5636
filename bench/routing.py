"""Routing-decision benchmark: how long cti's call-center core takes to decide, at contact-center scale.

Run from the repository root inside the venv::

    python bench/routing.py            # default run (about 3 minutes on 2 cores)
    python bench/routing.py --quick    # smoke run (under 20 s)

No Asterisk, no I/O: the core (:class:`cti.acd.ContactCenter`) is pure, so this drives it directly with a
fake clock (aware UTC datetimes that the benchmark advances) and times each call with
``time.perf_counter_ns``. Progress goes to stderr; one JSON object is the last line of stdout. See
docs/benchmarks.md, section "Routing decisions".

The state (deterministic from ``--seed``):

* ``--queues`` queues (200), each requiring 1-2 of 50 skills at levels 1-5, strategies longest_idle /
  most_skilled / least_occupancy / round_robin in turn, 2-3 escalation targets (caller's region with a
  timeout, sometimes a raised minimum level with a timeout, then any region and any language). One queue
  in twenty is *quiet*: its skills come from 5 reserved skills and no call waits in it.
* Routes: one per service number (one per queue) and, first, a VIP route (value tier gold or platinum,
  priority 10) to the first queue.
* ``--agents`` agents (10,000), all logged in, 8 regions, 1-3 languages (some none: "speaks any"):
  ``--ready-fraction`` of them (1 %) ready *specialists* holding only the reserved skills (so they are idle
  because no waiting call is one they may take: the state the core settles into during a backlog), 9 %
  not ready, the rest on a connected call; ordinary agents have 2-5 skills at levels 1-10.
* ``--waiting`` calls (5,000) waiting in the non-quiet queues, arrived over the last 10 minutes (their
  escalation steps set as the ticks would have), 25 % without a region (mobile callers), 5 % gold.

The state is loaded with ``ContactCenter.restore`` (what a restarted server does) and settled with one
``dispatch``; the script checks the settle offered nothing, i.e. no ready agent may take a waiting call.

Scenarios (interleaved round-robin so machine noise spreads evenly; each is bounded by a share of the
time budget and by ``--decisions`` samples). The fake clock moves 25 ms per event, about the rate at which
calls arrive and leave for the queues to stay at 5,000 waiting, and the core ticks whenever a second has
passed:

* ``arrival_queued``: ``call_arrived`` of a call for a busy queue; no ready agent may take it, it queues.
  Reset (timed as ``caller_abandon``): a random waiting caller hangs up, so 5,000 keep waiting.
* ``arrival_offered``: ``call_arrived`` of a call for a quiet queue, from the region and in a language of a
  ready specialist who may take it: an ``Offer``. Reset: that caller hangs up while ringing (the agent
  keeps its place in the idle order).
* ``agent_ready_release``: the agent of a random connected call hangs up (``channel_gone`` of the agent
  leg); the agent is free and gets the best waiting call it may take, if any (``offered`` counts them).
  Reset: ``offer_answered`` (timed) and one new waiting call loaded with ``restore``; an agent offered
  nothing goes on a break.
* ``agent_ready_set_ready``: a random not-ready agent goes ready (``set_ready``) and gets the best waiting
  call it may take, if any. Reset (timed as ``ring_no_answer``): the offer fails with ``no_answer``, the
  agent is not ready again and the call goes back to its place (or, offered nothing, back on a break).
* ``tick``: ``tick`` once a second: due wrap-ups and escalations, then the offers they allow.

Checks and baselines:

* A naive reference written here (nothing shared with ``cti.acd``'s routing, only its data types) decides
  the first ``--checks`` samples of each scenario too (ticks: one in 15 of that) by a linear scan: over
  every agent (arrival: every agent that is ready and eligible, then the queue's strategy) or over every
  live call (agent ready: the waiting call it may take with the highest aged priority, then the longest
  wait; tick: each waiting call's escalation step, then for each ready agent the best call it may take).
  Its answer is compared with the core's (``agree`` / ``compared``) and its time is the ``baseline``.
* The previous core (``ReferenceContactCenter`` in ``tests/reference_core.py``: every dispatch re-sorts all
  waiting calls against every ready agent) is built on the same state with the same seed and runs the
  same first events, ``--old-samples`` of each scenario (``old_core``, ``speedup_p50_vs_old_core``).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/routing.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from cti.acd import (  # noqa: E402
    Agent,
    AgentState,
    ContactCenter,
    Decision,
    Offer,
    QueueRule,
    Routing,
    Rules,
    Target,
    WorkChanged,
    WorkItem,
    WorkState,
    parse_rules,
)
from tests.reference_core import ReferenceContactCenter  # noqa: E402

REGIONS = ("jakarta", "bandung", "semarang", "surabaya", "medan", "denpasar", "makassar", "palembang")
STRATEGIES = ("longest_idle", "most_skilled", "least_occupancy", "round_robin")
N_SKILLS = 50
N_RESERVED = 5  # skills only quiet queues need and only the ready specialists have
TARGET_P99_MS = 1.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
EPOCH = datetime.min.replace(tzinfo=UTC)
MAIN = ("arrival_queued", "arrival_offered", "agent_ready_release", "agent_ready_set_ready", "tick")
TICK_CHECK_SHARE = 15  # ticks checked: one in 15 of --checks (the naive tick scans calls x agents: ~0.5 s)
Core = ContactCenter | ReferenceContactCenter


def log(message: str) -> None:
    print(f"[routing] {message}", file=sys.stderr, flush=True)


class Clock:
    """The fake clock: aware UTC datetimes, advanced by the benchmark."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


# -- deterministic data ---------------------------------------------------------------------------------
def skill_name(i: int) -> str:
    return f"s{i:02d}"


def service_number(i: int) -> str:
    return f"15{i:05d}"


def make_rules(rng: random.Random, n_queues: int) -> tuple[dict[str, Any], list[str], list[str]]:
    """The rules document, the busy queue names and the quiet queue names."""
    n_quiet = max(1, n_queues // 20)
    pool = [skill_name(i) for i in range(N_SKILLS - N_RESERVED)]
    reserved = [skill_name(i) for i in range(N_SKILLS - N_RESERVED, N_SKILLS)]
    queues: dict[str, Any] = {}
    busy: list[str] = []
    quiet: list[str] = []
    for i in range(n_queues):
        name = f"q{i:03d}"
        is_quiet = i >= n_queues - n_quiet
        skills = rng.sample(reserved if is_quiet else pool, rng.randint(1, 2))
        targets: list[dict[str, Any]] = [{"region": "caller", "timeout": rng.choice([20, 30, 45, 60])}]
        if rng.random() < 0.5:
            targets.append({"min_level": rng.randint(3, 6), "timeout": rng.choice([30, 60, 90])})
        targets.append({"region": "any", "language": "any"})
        queues[name] = {
            "skills": {s: rng.randint(1, 5) for s in skills},
            "strategy": STRATEGIES[i % 4],
            "targets": targets,
        }
        (quiet if is_quiet else busy).append(name)
    routes = [{"name": "vip", "when": {"value_tier": ["gold", "platinum"]}, "queue": busy[0], "priority": 10}]
    routes += [
        {"name": f"line {service_number(i)}", "when": {"service_number": service_number(i)}, "queue": f"q{i:03d}"}
        for i in range(n_queues)
    ]
    return {"queues": queues, "routes": routes, "default_queue": busy[0]}, busy, quiet


def languages(rng: random.Random) -> frozenset[str]:
    if rng.random() < 0.05:
        return frozenset()  # lists none: speaks whatever the call needs
    spoken = {"id"}
    if rng.random() < 0.3:
        spoken.add("en")
    if rng.random() < 0.1:
        spoken.add("jv")
    return frozenset(spoken)


def caller_routing(rng: random.Random, *, region: str | None = None, gold: bool | None = None) -> Routing:
    if region is None and rng.random() >= 0.25:
        region = rng.choice(REGIONS)
    r = rng.random()
    language = "id" if r < 0.85 else "en" if r < 0.95 else None
    if gold is None:
        gold = rng.random() < 0.05
    return Routing(region=region, language=language, value_tier="gold" if gold else None)


def new_call(
    rng: random.Random, rules: Rules, call_id: str, service: str, now: datetime, arrived: datetime, routing: Routing
) -> WorkItem:
    """A call as ``call_arrived`` would leave it in its queue (route, priority, step 0)."""
    call = WorkItem(
        call_id=call_id,
        channel_id=f"ch-{call_id}",
        caller_number=f"+62{rng.randrange(10**9, 10**10)}",
        service_number=service,
        queue="",
        arrived_at=arrived,
        routing=routing,
    )
    route = rules.route_for(routing.attributes(service))
    call.queue, call.queued_at = route.queue, arrived
    call.routing.route, call.routing.priority = route.name, route.priority
    call.routing.step = rules.queues[route.queue].step_at((now - arrived).total_seconds())
    call.decisions.append(Decision(arrived, "queued", route.queue, route.name, 0, reason="benchmark setup"))
    return call


@dataclass
class World:
    center: Core
    rules: Rules
    busy: list[str]
    quiet: list[str]
    waiting: list[str]  # call ids
    connected: list[str]  # call ids
    not_ready: list[str]  # agent ids
    ready: list[str]  # agent ids (the specialists)
    setup: dict[str, Any]


def build(args: argparse.Namespace, rng: random.Random, clock: Clock, core: type[Core] = ContactCenter) -> World:
    started = time.perf_counter()
    doc, busy, quiet = make_rules(rng, args.queues)
    rules = parse_rules(doc)
    now = clock.now
    reserved = [skill_name(i) for i in range(N_SKILLS - N_RESERVED, N_SKILLS)]
    all_skills = [skill_name(i) for i in range(N_SKILLS)]
    n_ready = round(args.agents * args.ready_fraction)
    n_not_ready = round(args.agents * 0.09)
    roles = ["ready"] * n_ready + ["not_ready"] * n_not_ready + ["on_call"] * (args.agents - n_ready - n_not_ready)
    rng.shuffle(roles)
    agents: list[Agent] = []
    calls: list[WorkItem] = []
    world_lists: dict[str, list[str]] = {"ready": [], "not_ready": [], "connected": [], "waiting": []}
    for i, role in enumerate(roles):
        agent_id = f"a{i:05d}"
        if role == "ready":
            skills = {s: rng.randint(1, 10) for s in rng.sample(reserved, rng.randint(2, 4))}
        else:
            skills = {s: rng.randint(1, 10) for s in rng.sample(all_skills, rng.randint(2, 5))}
        logged_in = now - timedelta(seconds=rng.uniform(3600, 4 * 3600))
        agent = Agent(
            agent_id=agent_id,
            name=f"Agent {i}",
            extension=str(100000 + i),
            skills=skills,
            languages=languages(rng),
            region=rng.choice(REGIONS),
            site=f"site-{i % 4}",
            team=f"team-{i % 50}",
            logged_in_at=logged_in,
            busy_seconds=rng.uniform(0.4, 0.9) * (now - logged_in).total_seconds(),
        )
        if role == "ready":
            agent.state = AgentState.READY
            agent.state_since = agent.idle_since = now - timedelta(seconds=rng.uniform(1, 1800))
            world_lists["ready"].append(agent_id)
        elif role == "not_ready":
            agent.state, agent.reason = AgentState.NOT_READY, "break"
            agent.state_since = now - timedelta(seconds=rng.uniform(1, 600))
            agent.idle_since = agent.state_since - timedelta(seconds=rng.uniform(1, 600))
            world_lists["not_ready"].append(agent_id)
        else:
            qi = rng.randrange(len(busy))
            arrived = now - timedelta(seconds=rng.uniform(60, 900))
            call = new_call(rng, rules, f"c{i:05d}", service_number(qi), now, arrived, caller_routing(rng, gold=False))
            answered = now - timedelta(seconds=rng.uniform(0, 50))
            call.state, call.offers = WorkState.CONNECTED, 1
            call.offered_at, call.answered_at = answered - timedelta(seconds=3), answered
            call.agent_id, call.agent_extension, call.agent_channel_id = agent_id, agent.extension, f"c{i:05d}-a1"
            agent.state, agent.state_since, agent.work = AgentState.ON_CALL, answered, {call.call_id: call.channel}
            agent.idle_since = answered - timedelta(seconds=rng.uniform(3, 300))
            calls.append(call)
            world_lists["connected"].append(call.call_id)
        agents.append(agent)
    for j in range(args.waiting):
        qi = rng.randrange(len(busy))
        arrived = now - timedelta(seconds=rng.uniform(0, 600))
        call = new_call(rng, rules, f"w{j:05d}", service_number(qi), now, arrived, caller_routing(rng))
        calls.append(call)
        world_lists["waiting"].append(call.call_id)
    center = core(rules)
    center.restore(agents, calls)
    built = time.perf_counter() - started
    gc.collect()
    t = time.perf_counter_ns()
    settle = center.dispatch(clock.now)
    settle_ns = time.perf_counter_ns() - t
    offers = sum(isinstance(c, Offer) for c in settle)
    steps = [center.calls[c].routing.step for c in world_lists["waiting"]]
    setup = {
        "agents": args.agents,
        "agents_ready": n_ready,
        "agents_not_ready": n_not_ready,
        "agents_on_call": args.agents - n_ready - n_not_ready,
        "queues": args.queues,
        "quiet_queues": len(quiet),
        "skills": N_SKILLS,
        "regions": len(REGIONS),
        "routes": len(rules.routes),
        "waiting_calls": args.waiting,
        "connected_calls": len(world_lists["connected"]),
        "waiting_at_step": {str(s): steps.count(s) for s in sorted(set(steps))},
        "build_s": round(built, 2),
        "settle_dispatch_ms": round(settle_ns / 1e6, 2),
        "settle_offers": offers,
        "seed": args.seed,
    }
    if offers:
        log(f"warning: the settle dispatch made {offers} offers; the state was not settled")
    return World(
        center,
        rules,
        busy,
        quiet,
        world_lists["waiting"],
        world_lists["connected"],
        world_lists["not_ready"],
        world_lists["ready"],
        setup,
    )


# -- the naive reference (independent of cti.acd's routing) -----------------------------------------------
def ref_route(rules: Rules, attrs: dict[str, str | None]) -> tuple[str, str, int]:
    for route in rules.routes:
        if all(attrs.get(k) in allowed for k, allowed in route.when.items()):
            return route.queue, route.name, route.priority
    return rules.default_queue, "default", 0


def ref_eligible(agent: Agent, queue: QueueRule, target: Target, region: str | None, language: str | None) -> bool:
    floor = target.min_level or 0
    for skill, level in queue.skills.items():
        if agent.skills.get(skill, 0) < (level if level > floor else floor):
            return False
    if target.region == "caller" and region is not None and agent.region != region:
        return False
    if target.language == "caller" and language is not None and agent.languages and language not in agent.languages:
        return False
    return target.team is None or agent.team == target.team


def ref_choose(queue: QueueRule, cands: list[Agent], now: datetime, last: str | None) -> Agent | None:
    if not cands:
        return None

    def idle(a: Agent) -> tuple[datetime, str]:
        return (a.idle_since or EPOCH, a.agent_id)

    if queue.strategy == "most_skilled":

        def score(a: Agent) -> int:
            return sum(a.skills.get(s, 0) for s in queue.skills)

        return min(cands, key=lambda a: (-score(a), *idle(a)))
    if queue.strategy == "least_occupancy":

        def occ(a: Agent) -> float:
            if a.logged_in_at is None:
                return 0.0
            return a.busy_seconds / max((now - a.logged_in_at).total_seconds(), 1.0)

        return min(cands, key=lambda a: (round(occ(a), 6), *idle(a)))
    if queue.strategy == "round_robin":
        after = [a for a in cands if last is not None and a.agent_id > last]
        return min(after or cands, key=lambda a: a.agent_id)
    return min(cands, key=idle)


def ref_arrival(center: Core, rules: Rules, call: WorkItem, now: datetime, last: dict[str, str]) -> str | None:
    """Route the call, then scan every agent: ready and eligible at step 0, the queue's strategy picks."""
    r = call.routing
    attrs = {
        "service_number": call.service_number,
        "product": r.product,
        "problem_type": r.problem_type,
        "language": r.language,
        "value_tier": r.value_tier,
        "region": r.region,
        "country": r.country,
    }
    queue_name, _, _ = ref_route(rules, attrs)
    queue = rules.queues[queue_name]
    target = queue.targets[0]
    cands = [
        a
        for a in center.agents.values()
        if a.state is AgentState.READY and a.extension and ref_eligible(a, queue, target, r.region, r.language)
    ]
    winner = ref_choose(queue, cands, now, last.get(queue_name))
    return None if winner is None else winner.agent_id


def ref_agent_ready(center: Core, rules: Rules, agent: Agent, now: datetime, aging: float) -> str | None:
    """Scan every live call: the waiting call this agent may take with the highest aged priority."""
    best: tuple[float, datetime, str] | None = None
    for call in center.calls.values():
        if call.state is not WorkState.WAITING:
            continue
        queue = rules.queues[call.queue]
        target = queue.targets[min(call.routing.step, len(queue.targets) - 1)]
        if not ref_eligible(agent, queue, target, call.routing.region, call.routing.language):
            continue
        aged = call.routing.priority + (now - call.arrived_at).total_seconds() / aging
        key = (-aged, call.arrived_at, call.call_id)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def ref_step(queue: QueueRule, waited: float) -> int:
    elapsed = 0.0
    for index, target in enumerate(queue.targets):
        if target.timeout is None:
            return index
        elapsed += target.timeout
        if waited < elapsed:
            return index
    return len(queue.targets) - 1


def ref_tick(center: Core, rules: Rules, now: datetime, aging: float) -> tuple[set[str], set[tuple[str, str]]]:
    """Each waiting call's step now; then each ready agent (longest idle first) takes the best call it may."""
    due = [
        a
        for a in center.agents.values()  # wrap-ups that are due (none here: no queue has wrap-up)
        if a.state is AgentState.WRAP_UP and a.wrap_up_until is not None and now >= a.wrap_up_until
    ]
    assert not due
    escalated: set[str] = set()
    waiting: list[tuple[WorkItem, int]] = []
    for call in center.calls.values():
        if call.state is not WorkState.WAITING:
            continue
        queue = rules.queues[call.queue]
        step = ref_step(queue, (now - (call.queued_at or call.arrived_at)).total_seconds())
        if step != call.routing.step:
            escalated.add(call.call_id)
        waiting.append((call, step))
    ready = sorted(
        (a for a in center.agents.values() if a.state is AgentState.READY and a.extension),
        key=lambda a: (a.idle_since or EPOCH, a.agent_id),
    )
    taken: set[str] = set()
    offers: set[tuple[str, str]] = set()
    for agent in ready:
        best: tuple[float, datetime, str] | None = None
        for call, step in waiting:
            if call.call_id in taken:
                continue
            queue = rules.queues[call.queue]
            if not ref_eligible(agent, queue, queue.targets[step], call.routing.region, call.routing.language):
                continue
            aged = call.routing.priority + (now - call.arrived_at).total_seconds() / aging
            key = (-aged, call.arrived_at, call.call_id)
            if best is None or key < best:
                best = key
        if best is not None:
            taken.add(best[2])
            offers.add((best[2], agent.agent_id))
    return escalated, offers


# -- measurement ------------------------------------------------------------------------------------------
@dataclass
class Series:
    ns: list[int] = field(default_factory=list)
    baseline_ns: list[int] = field(default_factory=list)
    compared: int = 0
    agree: int = 0
    spent_s: float = 0.0
    notes: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def check(self, same: bool) -> None:
        self.compared += 1
        self.agree += bool(same)

    def count(self, name: str, yes: bool) -> None:
        self.counts[name] = self.counts.get(name, 0) + yes


def pct(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, max(0, math.ceil(p * len(sorted_ns)) - 1))] / 1000


def summarize(values: list[int]) -> dict[str, Any]:
    s = sorted(values)
    if not s:
        return {"n": 0}
    mean = sum(s) / len(s)
    return {
        "n": len(s),
        "p50_us": round(pct(s, 0.50), 1),
        "p99_us": round(pct(s, 0.99), 1),
        "max_us": round(s[-1] / 1000, 1),
        "mean_us": round(mean / 1000, 1),
        "throughput_per_s": round(1e9 / mean, 1) if mean else None,
    }


def report(series: Series, baseline: bool = True) -> dict[str, Any]:
    ours = summarize(series.ns)
    out: dict[str, Any] = dict(ours)
    if ours.get("n"):
        out["target_p99_ms"] = TARGET_P99_MS
        out["meets_target"] = ours["p99_us"] <= TARGET_P99_MS * 1000
    if baseline and series.baseline_ns:
        base = summarize(series.baseline_ns)
        out["baseline"] = {k: base[k] for k in ("n", "p50_us", "p99_us", "max_us", "mean_us")}
        out["ratio_p50_ours_over_baseline"] = round(ours["p50_us"] / base["p50_us"], 2) if base["p50_us"] else None
        out["ratio_p99_ours_over_baseline"] = round(ours["p99_us"] / base["p99_us"], 2) if base["p99_us"] else None
        out["decisions_compared"] = series.compared
        out["decisions_agree"] = series.agree
    for k, v in series.notes.items():
        out[k] = round(v, 3)
    for k, n in series.counts.items():
        out[k] = n
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, int]:
    t = time.perf_counter_ns()
    result = fn()
    return result, time.perf_counter_ns() - t


class Bench:
    # The fake clock moves 25 ms per event and the core ticks once a second: about 10 calls arrive and 10
    # leave the queues per second, as many as keep 5,000 waiting with the 10 minutes of waits they start with.
    EVENT_GAP = 0.025

    def __init__(self, world: World, clock: Clock, rng: random.Random, *, checks: int) -> None:
        self.w, self.clock, self.rng = world, clock, rng
        self.c = world.center
        self.checks = checks  # samples per scenario decided by the naive reference too (its time: the baseline)
        self.series: dict[str, Series] = {
            name: Series() for name in (*MAIN, "caller_abandon", "ring_no_answer", "offer_answered")
        }
        self.seq = 0
        self.last: dict[str, str] = {}  # queue -> last agent offered, seen from Offer (round robin)
        self.escalations = 0
        self.next_tick = clock.now + timedelta(seconds=1)
        # Per ready specialist, the quiet queues (and a language it speaks) whose first step it meets.
        self.specialties: dict[str, list[tuple[str, str]]] = {}
        for agent_id in world.ready:
            agent = self.c.agents[agent_id]
            language = min(agent.languages) if agent.languages else "id"
            options = [(q, language) for q in world.quiet
                       if ref_eligible(agent, world.rules.queues[q], world.rules.queues[q].targets[0],
                                       agent.region, language)]
            if options:
                self.specialties[agent_id] = options

    def checking(self, name: str) -> bool:
        limit = -(-self.checks // TICK_CHECK_SHARE) if name == "tick" else self.checks
        return self.series[name].compared < limit

    def _note_offers(self, commands: list[Any]) -> list[Offer]:
        offers = [c for c in commands if isinstance(c, Offer)]
        for offer in offers:
            self.last[self.c.calls[offer.call_id].queue] = offer.agent_id
        return offers

    def _call_id(self) -> str:
        self.seq += 1
        return f"n{self.seq:06d}"

    def _remove(self, ids: list[str], value: str) -> None:
        i = ids.index(value)
        ids[i] = ids[-1]
        ids.pop()

    # -- scenarios --------------------------------------------------------------------------------------
    def arrival_queued(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        qi = rng.randrange(len(self.w.busy))
        call = WorkItem(
            call_id=self._call_id(),
            channel_id="",
            caller_number=f"+62{rng.randrange(10**9, 10**10)}",
            service_number=service_number(qi),
            queue="",
            arrived_at=now,
            routing=caller_routing(rng),
        )
        call.channel_id = f"ch-{call.call_id}"
        s = self.series["arrival_queued"]
        check = self.checking("arrival_queued")
        if check:
            expected, base_ns = timed(lambda: ref_arrival(self.c, self.w.rules, call, now, self.last))
            s.baseline_ns.append(base_ns)
        commands, ns = timed(lambda: self.c.call_arrived(call, now))
        offers = self._note_offers(commands)
        s.ns.append(ns)
        if check:
            s.check(expected is None and not offers and self.c.calls[call.call_id].state is WorkState.WAITING)
        self.w.waiting.append(call.call_id)
        # Reset: a random waiting caller gives up (a decision of its own: the core dispatches after it).
        gone = self.c.calls[rng.choice(self.w.waiting)]
        now = self.clock.advance(self.EVENT_GAP)
        _, ns = timed(lambda: self.c.channel_gone(gone.channel_id, now))
        self.series["caller_abandon"].ns.append(ns)
        self._remove(self.w.waiting, gone.call_id)

    def arrival_offered(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["arrival_offered"]
        ready = [a for a in self.w.ready if a in self.specialties]
        if not ready:
            log("arrival_offered: no ready specialist; skipped")
            return
        specialist = self.c.agents[rng.choice(ready)]
        queue, language = rng.choice(self.specialties[specialist.agent_id])
        call = WorkItem(
            call_id=self._call_id(),
            channel_id="",
            caller_number=f"+62{rng.randrange(10**9, 10**10)}",
            service_number=service_number(int(queue[1:])),
            queue="",
            arrived_at=now,
            routing=Routing(region=specialist.region, language=language),
        )
        call.channel_id = f"ch-{call.call_id}"
        check = self.checking("arrival_offered")
        if check:
            expected, base_ns = timed(partial(ref_arrival, self.c, self.w.rules, call, now, self.last))
            s.baseline_ns.append(base_ns)
        commands, ns = timed(lambda: self.c.call_arrived(call, now))
        offers = self._note_offers(commands)
        s.ns.append(ns)
        if check:
            s.check(len(offers) == 1 and offers[0].agent_id == expected and offers[0].call_id == call.call_id)
        s.count("offered", bool(offers))
        # Reset: the caller hangs up while the specialist's phone rings; the agent keeps their idle place.
        self.c.channel_gone(call.channel_id, self.clock.advance(self.EVENT_GAP))

    def agent_ready_release(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["agent_ready_release"]
        call = self.c.calls[rng.choice(self.w.connected)]
        agent = self.c.agents[call.agent_id or ""]
        check = self.checking("agent_ready_release")
        if check:
            expected, base_ns = timed(partial(ref_agent_ready, self.c, self.w.rules, agent, now, self.c.aging_seconds))
            s.baseline_ns.append(base_ns)
        leg = call.agent_channel_id or ""
        commands, ns = timed(lambda: self.c.channel_gone(leg, now))
        offers = self._note_offers(commands)
        s.ns.append(ns)
        if check:
            s.check([(o.agent_id, o.call_id) for o in offers] == ([(agent.agent_id, expected)] if expected else []))
        s.count("offered", bool(offers))
        self._remove(self.w.connected, call.call_id)
        if not offers:  # no waiting call this agent may take: it goes on a break (untimed)
            self.c.set_not_ready(agent.agent_id, "break", self.clock.advance(self.EVENT_GAP))
            self.w.not_ready.append(agent.agent_id)
            return
        offer = offers[0]
        # Reset: the agent answers (timed) and one more caller is waiting (loaded without a dispatch).
        now = self.clock.advance(self.EVENT_GAP)
        _, ns = timed(lambda: self.c.offer_answered(offer.agent_channel_id, now))
        self.series["offer_answered"].ns.append(ns)
        self.w.connected.append(offer.call_id)
        self._remove(self.w.waiting, offer.call_id)
        qi = rng.randrange(len(self.w.busy))
        fresh = new_call(rng, self.w.rules, self._call_id(), service_number(qi), now, now, caller_routing(rng))
        self.c.restore([], [fresh])
        self.w.waiting.append(fresh.call_id)

    def agent_ready_set_ready(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["agent_ready_set_ready"]
        agent = self.c.agents[rng.choice(self.w.not_ready)]
        check = self.checking("agent_ready_set_ready")
        if check:
            expected, base_ns = timed(partial(ref_agent_ready, self.c, self.w.rules, agent, now, self.c.aging_seconds))
            s.baseline_ns.append(base_ns)
        commands, ns = timed(lambda: self.c.set_ready(agent.agent_id, now))
        offers = self._note_offers(commands)
        s.ns.append(ns)
        if check:
            s.check([(o.agent_id, o.call_id) for o in offers] == ([(agent.agent_id, expected)] if expected else []))
        s.count("offered", bool(offers))
        now = self.clock.advance(self.EVENT_GAP)
        if not offers:  # back on the break (untimed)
            self.c.set_not_ready(agent.agent_id, "break", now)
            return
        # Reset (timed): the phone is not answered; the agent is not ready again, the call back in its place.
        leg = offers[0].agent_channel_id
        _, ns = timed(lambda: self.c.channel_gone(leg, now, offer_failure="no_answer"))
        self.series["ring_no_answer"].ns.append(ns)

    def tick(self) -> None:
        now = self.clock.now
        self.next_tick = now + timedelta(seconds=1)
        s = self.series["tick"]
        check = self.checking("tick")
        if check:
            (escalated, ref_offers), base_ns = timed(lambda: ref_tick(self.c, self.w.rules, now, self.c.aging_seconds))
            s.baseline_ns.append(base_ns)
        commands, ns = timed(lambda: self.c.tick(now))
        offers = self._note_offers(commands)
        changed = {c.item.call_id for c in commands if isinstance(c, WorkChanged)}
        offered = {(o.call_id, o.agent_id) for o in offers}
        s.ns.append(ns)
        if check:
            s.check(changed - {o[0] for o in offered} == escalated and offered == ref_offers)
        escalated_now = len(changed - {o[0] for o in offered})
        self.escalations += escalated_now
        s.notes["escalations_per_tick_mean"] = self.escalations / len(s.ns)
        s.notes["escalations_per_tick_max"] = max(s.notes.get("escalations_per_tick_max", 0), escalated_now)
        if offered:  # none expected (no ready agent may take a waiting call at any step)
            log(f"tick: {len(offered)} unexpected offers")

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self, names: tuple[str, ...], budget_s: float, max_samples: int) -> None:
        """Samples of the event scenarios in turn, each bounded by its share of the budget and by
        ``max_samples``; a tick whenever a second of the fake clock has passed."""
        active = [name for name in names if name != "tick"]
        per = budget_s / len(active)
        last_log = time.perf_counter()
        while active:
            for name in list(active):
                series = self.series[name]
                if len(series.ns) >= max_samples or series.spent_s >= per:
                    active.remove(name)
                    continue
                t = time.perf_counter()
                getattr(self, name)()
                series.spent_s += time.perf_counter() - t
                if "tick" in names and self.clock.now >= self.next_tick:
                    self.tick()
            if time.perf_counter() - last_log > 10:
                last_log = time.perf_counter()
                log("  " + ", ".join(f"{n} {len(self.series[n].ns)}" for n in names))


def micro(center: Core, world: World, clock: Clock, rng: random.Random, budget_s: float) -> dict[str, Any]:
    """Pieces of the decisions, timed alone (public methods, no state change), after the sweep left no
    agent ready."""
    now = clock.now
    out: dict[str, Any] = {}
    deadline = time.perf_counter() + budget_s

    def sample(fn: Callable[[], Any], n: int, share: float) -> dict[str, float]:
        end = min(deadline, time.perf_counter() + share * budget_s)
        values: list[int] = []
        for _ in range(n):
            if values and time.perf_counter() > end:
                break
            values.append(timed(fn)[1])
        return summarize(values)

    rules = world.rules
    first = Routing(value_tier="gold").attributes(service_number(0))
    last = Routing().attributes(service_number(len(world.busy) + len(world.quiet) - 1))
    out["route_for_first_route_us"] = sample(lambda: rules.route_for(first), 2000, 0.05)["p50_us"]
    out["route_for_last_route_us"] = sample(lambda: rules.route_for(last), 2000, 0.05)["p50_us"]
    out["dispatch_no_ready_agent"] = sample(lambda: center.dispatch(now), 200, 0.3)
    calls = [center.calls[c] for c in rng.sample(world.waiting, min(200, len(world.waiting)))]
    it = iter(calls * 10)
    out["position_one_call"] = sample(lambda: center.position(next(it), now), len(calls), 0.25)
    out["estimated_wait_one_queue"] = sample(lambda: center.estimated_wait(rng.choice(world.busy), 10), 200, 0.1)
    # What announcements would add to a tick: with announce_seconds 45, waiting/45 calls are due each
    # second, and each costs one position() and one estimated_wait() (see _announcements).
    per_call = out["position_one_call"]["mean_us"] + out["estimated_wait_one_queue"]["mean_us"]
    out["announce_45s_estimated_ms_per_tick"] = round(len(world.waiting) / 45 * per_call / 1000, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=5_000)
    parser.add_argument("--decisions", type=int, default=20_000, help="most samples per scenario")
    parser.add_argument(
        "--checks", type=int, default=None,
        help=f"samples per scenario also decided by the naive reference (default 300, --quick 30; ticks: one in "
             f"{TICK_CHECK_SHARE} of that)")
    parser.add_argument(
        "--old-samples", type=int, default=None,
        help="samples per scenario of the previous core, tests/reference_core.py (default 8, --quick 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ready-fraction", type=float, default=0.01, help="agents ready but idle (specialists no waiting call needs)"
    )
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds for the measurements (default 140, --quick 8)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run, under 20 s")
    args = parser.parse_args()
    budget = args.budget if args.budget is not None else (8.0 if args.quick else 140.0)
    old_samples = args.old_samples if args.old_samples is not None else (1 if args.quick else 8)
    checks = args.checks if args.checks is not None else (30 if args.quick else 300)
    if args.queues < 20:
        parser.error("--queues must be at least 20 (one in twenty is quiet)")
    started = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)
    rng = random.Random(args.seed)
    clock = Clock(T0)
    log(f"building {args.agents} agents, {args.queues} queues, {args.waiting} waiting calls (seed {args.seed})")
    world = build(args, rng, clock)
    log(
        f"built in {world.setup['build_s']} s; settle dispatch {world.setup['settle_dispatch_ms']} ms, "
        f"{world.setup['settle_offers']} offers"
    )
    bench = Bench(world, clock, rng, checks=checks)
    log(f"main scenarios: {budget * 0.6:.0f} s budget, at most {args.decisions} samples each")
    bench.run(MAIN, budget * 0.6, args.decisions)

    scenarios = {name: report(bench.series[name]) for name in MAIN}
    for name in ("caller_abandon", "ring_no_answer", "offer_answered"):
        scenarios[name] = report(bench.series[name], baseline=False)
    escalations = scenarios["tick"].get("escalations_per_tick_mean")
    if escalations:
        scenarios["tick"]["mean_us_per_escalated_call"] = round(scenarios["tick"]["mean_us"] / escalations, 1)
    state_after = {
        "waiting_calls": sum(c.state is WorkState.WAITING for c in world.center.calls.values()),
        "live_calls": len(world.center.calls),
        "agents_not_ready": len(world.not_ready),
        "clock_advanced_s": round((clock.now - T0).total_seconds(), 1),
    }

    # How the decisions scale with the number of idle ready agents: send specialists on a break
    # (set_not_ready does not dispatch) and measure again with 10 % of them, then with none. arrival_offered
    # needs the specialists, so it sits these out; the other three keep calls arriving at about the same rate.
    swept = ("arrival_queued", "agent_ready_release", "agent_ready_set_ready", "tick")

    def brief(series: Series) -> dict[str, Any]:
        full = summarize(series.ns)
        out = {k: full[k] for k in ("n", "p50_us", "p99_us", "max_us", "mean_us") if k in full}
        return out | {k: round(v, 2) for k, v in series.notes.items()}

    sweep: dict[str, Any] = {str(len(world.ready)): {name: brief(bench.series[name]) for name in swept}}
    bench.checks = 0
    for keep in (len(world.ready) // 10, 0):
        for agent_id in world.ready[keep:]:
            world.center.set_not_ready(agent_id, "break", clock.now)
        world.ready = world.ready[:keep]
        for name in (*swept, "caller_abandon", "offer_answered", "ring_no_answer"):
            bench.series[name] = Series()
        bench.escalations = 0
        bench.run(swept, budget * 0.05, args.decisions)
        sweep[str(keep)] = {name: brief(bench.series[name]) for name in swept}
        log(f"{keep} idle ready agents: p50 " + ", ".join(f"{n} {sweep[str(keep)][n].get('p50_us')} us" for n in swept))
    log("micro-benchmarks")
    parts = micro(world.center, world, clock, rng, budget * 0.05)
    setup = world.setup
    del world, bench
    gc.collect()

    # The previous core on the same state and the same first events (same seed), a few samples each.
    log(f"the previous core (tests/reference_core.py): at most {old_samples} samples per scenario")
    old_rng, old_clock = random.Random(args.seed), Clock(T0)
    old_world = build(args, old_rng, old_clock, ReferenceContactCenter)
    setup["old_core_settle_dispatch_ms"] = old_world.setup["settle_dispatch_ms"]
    old = Bench(old_world, old_clock, old_rng, checks=0)
    old.run(MAIN, budget * 0.25, old_samples)
    while len(old.series["tick"].ns) < old_samples:
        old.clock.now = max(old.clock.now, old.next_tick)
        old.tick()
    for name in MAIN:
        before = brief(old.series[name])
        scenarios[name]["old_core"] = before
        if before.get("n") and scenarios[name].get("n"):
            scenarios[name]["speedup_p50_vs_old_core"] = round(before["p50_us"] / scenarios[name]["p50_us"], 1)
        log(f"  {name}: previous core p50 {before.get('p50_us')} us, now {scenarios[name].get('p50_us')} us")

    result = {
        "benchmark": "routing",
        "quick": args.quick,
        "setup": setup,
        "state_after": state_after,
        "scenarios": scenarios,
        "by_idle_ready_agents": sweep,
        "parts": parts,
        "target_p99_ms": TARGET_P99_MS,
        "all_meet_target": all(scenarios[n].get("meets_target", False) for n in MAIN),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load_start,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "duration_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))

if __name__ == "__main__":
    main()
