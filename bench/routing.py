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
* With ``--chat-share`` (0: voice only), that share of the waiting items are chats, and that share of the
  agents (of each kind) may hold 3 chats at once beside their one call (a call is held alone, the default
  capacity: docs/routing.md, "Capacity per channel"); half of those on a call hold 3 connected chats instead
  (full: they may take no more), the other half a call, which keeps new chats from them.

The state is loaded with ``ContactCenter.restore`` (what a restarted server does) and settled with one
``dispatch``; the script checks the settle offered nothing, i.e. no ready agent may take a waiting call.

Each sample is timed twice: wall time (``time.perf_counter_ns``: ``p50_us``, ``p99_us``) and this thread's CPU
time (``time.thread_time_ns``: ``cpu_p50_us``, ``cpu_p99_us``), which leaves out the time other processes held
the core; on a shared machine the wall p99 is mostly theirs.

The garbage collector runs as in cti's server (``--collector server``, the default): what was loaded (the
restored state) is frozen, the thresholds are ``cti.bootstrap``'s ``GC_THRESHOLDS``. With CPython's defaults
(``--collector default``, what this script did before), a young collection every 700 allocations lands in
whichever sample makes them, most often the ones that allocate most.

Scenarios (interleaved round-robin so machine noise spreads evenly; each is bounded by a share of the
time budget and by ``--decisions`` samples). The fake clock moves 25 ms per event, about the rate at which
calls arrive and leave for the queues to stay at 5,000 waiting, and the core ticks whenever ``--tick-ms`` have
passed (default: the controller's period, ``cti.telephony.ROUTING_TICK_SECONDS``, 100 ms):

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
* ``tick``: ``tick`` every tick period: due wrap-ups and escalations, then the offers they allow.

With ``--chat-share`` above 0, the agents freed in ``agent_ready_*`` may be offered up to 3 chats at once (all
are compared with the naive reference and answered in the reset: ``chat_answered``), and three more scenarios:

* ``chat_arrival_queued``, ``chat_arrival_offered``: as their voice namesakes, with a chat (offered to a
  ready specialist with a chat capacity). An agent left with room for a chat may take a queued one.
* ``chat_ended``: the customer of a random connected chat of an agent holding 3 leaves; the agent has room
  for one more and gets the best waiting chat it may take, if any. Reset: ``offer_answered`` (timed as
  ``chat_answered``) and one new waiting chat; an agent offered nothing goes on a break after its other chats.

Checks and baselines:

* A naive reference written here (nothing shared with ``cti.acd``'s routing, only its data types) decides
  the first ``--checks`` samples of each scenario too (ticks: one in 15 of that) by a linear scan: over
  every agent (arrival: every agent that may take one more item of the channel and is eligible, then the
  queue's strategy) or over every live item (agent ready or a chat ended: the waiting items it may take, one
  after another, each the one with the highest aged priority, then the longest wait, of a channel its
  capacity still allows; tick: each waiting item's escalation step, then each available agent, ready ones
  first, takes the best items it may).
  Its answer is compared with the core's (``agree`` / ``compared``) and its time is the ``baseline``.
* The previous core (``ReferenceContactCenter`` in ``tests/reference_core.py``: every dispatch re-sorts all
  waiting calls against every ready agent) is built on the same state with the same seed and runs the
  same first events, ``--old-samples`` of each scenario (``old_core``, ``speedup_p50_vs_old_core``); with
  ``--old-samples 0`` it is not built at all (its settling dispatch alone takes minutes at 100,000 agents).

At 100,000 agents and 50,000 waiting (docs/benchmarks.md, "At 100,000 agents") the naive reference does not
finish in useful time either: run it there with ``--checks 0 --old-samples 0``, and check agreement at a
smaller size.
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
    Capacity,
    Channel,
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
from cti.bootstrap._app import GC_THRESHOLDS  # noqa: E402
from cti.telephony import ROUTING_TICK_SECONDS  # noqa: E402
from tests.reference_core import ReferenceContactCenter  # noqa: E402

REGIONS = ("jakarta", "bandung", "semarang", "surabaya", "medan", "denpasar", "makassar", "palembang")
STRATEGIES = ("longest_idle", "most_skilled", "least_occupancy", "round_robin")
N_SKILLS = 50
N_RESERVED = 5  # skills only quiet queues need and only the ready specialists have
TARGET_P99_MS = 1.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
EPOCH = datetime.min.replace(tzinfo=UTC)
MAIN = ("arrival_queued", "arrival_offered", "agent_ready_release", "agent_ready_set_ready", "tick")
CHAT = ("chat_arrival_queued", "chat_arrival_offered", "chat_ended")  # with --chat-share above 0
RESETS = ("caller_abandon", "ring_no_answer", "offer_answered", "chat_answered")
CHAT_CAPACITY = 3  # chats an agent with a chat capacity may hold at once (a call is held alone: the default)
TICK_CHECK_SHARE = 15  # ticks checked: one in 15 of --checks (the naive tick scans calls x agents: ~0.5 s)
Core = ContactCenter | ReferenceContactCenter


def tune_collector(mode: str) -> None:
    """``server``: what cti does once started (``cti.bootstrap``: ``gc.freeze()`` of what it loaded, the restored
    live state among it, then ``GC_THRESHOLDS``); ``default``: CPython's thresholds, nothing frozen."""
    if mode == "server":
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
    else:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)


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
    rng: random.Random,
    rules: Rules,
    call_id: str,
    service: str,
    now: datetime,
    arrived: datetime,
    routing: Routing,
    channel: Channel = Channel.VOICE,
) -> WorkItem:
    """A call (or a chat) as ``call_arrived`` would leave it in its queue (route, priority, step 0)."""
    call = WorkItem(
        call_id=call_id,
        channel_id=f"ch-{call_id}",
        caller_number=f"+62{rng.randrange(10**9, 10**10)}",
        service_number=service,
        queue="",
        arrived_at=arrived,
        routing=routing,
        channel=channel,
    )
    route = rules.route_for(routing.attributes(service))
    call.queue, call.queued_at = route.queue, arrived
    call.routing.route, call.routing.priority = route.name, route.priority
    call.routing.step = rules.queues[route.queue].step_at((now - arrived).total_seconds())
    call.decisions.append(Decision(arrived, "queued", route.queue, route.name, 0, reason="benchmark setup"))
    return call


class Ids(list[str]):
    """A list of ids (``random.choice`` picks from it) whose ``remove`` moves the last id into the removed one's
    place, found through an index instead of a scan (50,000 waiting calls at the largest size)."""

    def __init__(self) -> None:
        super().__init__()
        self._at: dict[str, int] = {}

    def append(self, value: str) -> None:
        self._at[value] = len(self)
        super().append(value)

    def remove(self, value: str) -> None:
        i = self._at.pop(value)
        last = super().pop()
        if i < len(self):
            self[i] = last
            self._at[last] = i


@dataclass
class World:
    center: Core
    rules: Rules
    busy: list[str]
    quiet: list[str]
    waiting: Ids  # call and chat ids
    connected: Ids  # call ids (voice)
    chats: Ids  # connected chats' ids, of agents who may take another when one ends
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
    waiting, connected, chats = Ids(), Ids(), Ids()
    world_lists: dict[str, list[str]] = {"ready": [], "not_ready": [], "connected": connected, "waiting": waiting}
    chat_capacity = Capacity.of({"chat": CHAT_CAPACITY})
    n_chat_capable = n_chatting = 0
    for i, role in enumerate(roles):
        agent_id = f"a{i:05d}"
        # --chat-share of the agents may hold chats; of those on a call, half hold chats instead (up to their
        # capacity: no more), half a call (held alone: it blocks new chats). No draw without chats: the voice-only
        # state stays what it was.
        chat_capable = args.chat_share > 0 and rng.random() < args.chat_share
        chatting = chat_capable and role == "on_call" and rng.random() < 0.5
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
        if chat_capable:
            agent.capacity = chat_capacity
            n_chat_capable += 1
        if chatting:
            answered = now - timedelta(seconds=rng.uniform(0, 50))
            agent.state, agent.state_since = AgentState.ON_CALL, answered
            agent.idle_since = answered - timedelta(seconds=rng.uniform(3, 300))
            for k in range(CHAT_CAPACITY):
                qi = rng.randrange(len(busy))
                arrived = now - timedelta(seconds=rng.uniform(60, 900))
                chat = new_call(rng, rules, f"c{i:05d}k{k}", service_number(qi), now, arrived,
                                caller_routing(rng, gold=False), Channel.CHAT)
                chat.state, chat.offers = WorkState.CONNECTED, 1
                chat.offered_at, chat.answered_at = answered - timedelta(seconds=3), answered
                chat.agent_id, chat.agent_channel_id = agent_id, f"{chat.call_id}-a1"
                agent.work[chat.call_id] = Channel.CHAT
                calls.append(chat)
                chats.append(chat.call_id)
            n_chatting += 1
        elif role == "ready":
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
        channel = Channel.CHAT if args.chat_share > 0 and rng.random() < args.chat_share else Channel.VOICE
        call = new_call(rng, rules, f"w{j:05d}", service_number(qi), now, arrived, caller_routing(rng), channel)
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
        "waiting_chats": sum(center.calls[c].channel is Channel.CHAT for c in world_lists["waiting"]),
        "connected_calls": len(world_lists["connected"]),
        "connected_chats": len(chats),
        "chat_share": args.chat_share,
        "agents_chat_capable": n_chat_capable,
        "agents_chatting": n_chatting,
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
        waiting,
        connected,
        chats,
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


def ref_available(agent: Agent, channel: Channel, held: dict[str, Channel]) -> bool:
    """May the agent, ready (``held`` empty) or holding ``held``, take one more item of ``channel``
    (docs/routing.md, "Capacity per channel")?"""
    capacity = agent.capacity
    if not held:
        return capacity.limit(channel) > 0 and (channel is not Channel.VOICE or bool(agent.extension))
    if agent.pending is not None or channel in capacity.exclusive:
        return False
    if any(h in capacity.exclusive for h in held.values()):
        return False
    return sum(h is channel for h in held.values()) < capacity.limit(channel)


def ref_holds(agent: Agent) -> dict[str, Channel] | None:
    """What an agent may take more beside (its work), or None when it may take nothing now."""
    if agent.state is AgentState.READY:
        return {}
    if agent.state in (AgentState.RINGING, AgentState.ON_CALL) and agent.work:
        return dict(agent.work)
    return None


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
    # Longest idle: agents holding chats come after every ready agent.
    return min(cands, key=lambda a: (a.state is not AgentState.READY, *idle(a)))


def ref_arrival(center: Core, rules: Rules, call: WorkItem, now: datetime, last: dict[str, str]) -> str | None:
    """Route the item, then scan every agent: available for its channel and eligible at step 0, the queue's
    strategy picks."""
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
        if (held := ref_holds(a)) is not None
        and ref_available(a, call.channel, held)
        and ref_eligible(a, queue, target, r.region, r.language)
    ]
    winner = ref_choose(queue, cands, now, last.get(queue_name))
    return None if winner is None else winner.agent_id


def ref_takes(
    rules: Rules,
    agent: Agent,
    held: dict[str, Channel],
    waiting: list[tuple[WorkItem, int]],
    taken: set[str],
    now: datetime,
    aging: float,
) -> list[str]:
    """What the agent, holding ``held``, takes one after another: each time the waiting item (at its step in
    ``waiting``, not in ``taken``) with the highest aged priority, then the longest wait, of a channel it may
    still take; until it may take none or none is left."""
    held = dict(held)
    out: list[str] = []
    while True:
        channels = {channel for channel in Channel if ref_available(agent, channel, held)}
        if not channels:
            return out
        best: tuple[float, datetime, str] | None = None
        best_channel = Channel.VOICE
        for call, step in waiting:
            if call.channel not in channels or call.call_id in taken:
                continue
            queue = rules.queues[call.queue]
            if not ref_eligible(agent, queue, queue.targets[step], call.routing.region, call.routing.language):
                continue
            aged = call.routing.priority + (now - call.arrived_at).total_seconds() / aging
            key = (-aged, call.arrived_at, call.call_id)
            if best is None or key < best:
                best, best_channel = key, call.channel
        if best is None:
            return out
        out.append(best[2])
        taken.add(best[2])
        held[best[2]] = best_channel


def ref_waiting(center: Core, rules: Rules) -> list[tuple[WorkItem, int]]:
    out = []
    for call in center.calls.values():
        if call.state is WorkState.WAITING:
            queue = rules.queues[call.queue]
            out.append((call, min(call.routing.step, len(queue.targets) - 1)))
    return out


def ref_agent_ready(
    center: Core, rules: Rules, agent: Agent, held: dict[str, Channel], now: datetime, aging: float
) -> list[str]:
    """Scan every live item: what this agent, free now except for ``held``, takes (``ref_takes``)."""
    return ref_takes(rules, agent, held, ref_waiting(center, rules), set(), now, aging)


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
    """Each waiting item's step now; then each available agent (ready ones first, longest idle first) takes the
    best items it may (``ref_takes``)."""
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
    available = sorted(
        ((a, held) for a in center.agents.values() if (held := ref_holds(a)) is not None),
        key=lambda pair: (pair[0].state is not AgentState.READY, pair[0].idle_since or EPOCH, pair[0].agent_id),
    )
    taken: set[str] = set()
    offers: set[tuple[str, str]] = set()
    for agent, held in available:
        offers |= {(call_id, agent.agent_id) for call_id in ref_takes(rules, agent, held, waiting, taken, now, aging)}
    return escalated, offers


# -- measurement ------------------------------------------------------------------------------------------
@dataclass
class Series:
    ns: list[int] = field(default_factory=list)
    cpu_ns: list[int] = field(default_factory=list)  # the same samples' thread CPU time
    baseline_ns: list[int] = field(default_factory=list)
    compared: int = 0
    agree: int = 0
    spent_s: float = 0.0
    notes: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, ns: int, cpu_ns: int) -> None:
        self.ns.append(ns)
        self.cpu_ns.append(cpu_ns)

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


def cpu_summary(series: Series) -> dict[str, float]:
    """The samples' thread CPU time: what the decision cost without the time other processes held the core."""
    cpu = summarize(series.cpu_ns)
    if not cpu.get("n"):
        return {}
    return {"cpu_p50_us": cpu["p50_us"], "cpu_p99_us": cpu["p99_us"], "cpu_max_us": cpu["max_us"],
            "cpu_meets_target": cpu["p99_us"] <= TARGET_P99_MS * 1000}


def report(series: Series, baseline: bool = True) -> dict[str, Any]:
    ours = summarize(series.ns)
    out: dict[str, Any] = dict(ours)
    if ours.get("n"):
        out["target_p99_ms"] = TARGET_P99_MS
        out["meets_target"] = ours["p99_us"] <= TARGET_P99_MS * 1000
        out |= cpu_summary(series)
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


def timed(fn: Callable[[], Any]) -> tuple[Any, int, int]:
    """The result, the wall time and this thread's CPU time of ``fn()``, in ns. The CPU time leaves out the
    time other processes had the core (on a shared machine, most of the wall time's tail)."""
    c, t = time.thread_time_ns(), time.perf_counter_ns()
    result = fn()
    wall = time.perf_counter_ns() - t
    return result, wall, time.thread_time_ns() - c


class Bench:
    # The fake clock moves 25 ms per event: about 10 items arrive and 10 leave the queues per second, as many as
    # keep 5,000 waiting with the 10 minutes of waits they start with. The core ticks every ``tick_seconds``.
    EVENT_GAP = 0.025

    def __init__(
        self, world: World, clock: Clock, rng: random.Random, *, checks: int, tick_seconds: float = ROUTING_TICK_SECONDS
    ) -> None:
        self.w, self.clock, self.rng = world, clock, rng
        self.c = world.center
        self.checks = checks  # samples per scenario decided by the naive reference too (its time: the baseline)
        self.series: dict[str, Series] = {name: Series() for name in (*MAIN, *CHAT, *RESETS)}
        self.seq = 0
        self.last: dict[str, str] = {}  # queue -> last agent offered, seen from Offer (round robin)
        self.escalations = 0
        self.tick_period = timedelta(seconds=tick_seconds)
        self.next_tick = clock.now + self.tick_period
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

    def _remove(self, ids: Ids, value: str) -> None:
        ids.remove(value)

    def _answer(self, offers: list[Offer]) -> None:
        """The agent answers each offer (timed: ``offer_answered``, ``chat_answered``) and as many items as were
        offered wait again in their place (loaded without a dispatch), of the same channels."""
        for offer in offers:
            now = self.clock.advance(self.EVENT_GAP)
            chat = offer.channel is Channel.CHAT
            _, ns, cpu = timed(partial(self.c.offer_answered, offer.agent_channel_id, now))
            self.series["chat_answered" if chat else "offer_answered"].add(ns, cpu)
            (self.w.chats if chat else self.w.connected).append(offer.call_id)
            self._remove(self.w.waiting, offer.call_id)
            qi = self.rng.randrange(len(self.w.busy))
            fresh = new_call(self.rng, self.w.rules, self._call_id(), service_number(qi), now, now,
                             caller_routing(self.rng), offer.channel)
            self.c.restore([], [fresh])
            self.w.waiting.append(fresh.call_id)

    # -- scenarios --------------------------------------------------------------------------------------
    def arrival_queued(self, channel: Channel = Channel.VOICE, name: str = "arrival_queued") -> None:
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
            channel=channel,
        )
        call.channel_id = f"ch-{call.call_id}"
        s = self.series[name]
        check = self.checking(name)
        if check:
            expected, base_ns, _ = timed(lambda: ref_arrival(self.c, self.w.rules, call, now, self.last))
            s.baseline_ns.append(base_ns)
        commands, ns, cpu = timed(lambda: self.c.call_arrived(call, now))
        offers = self._note_offers(commands)
        s.add(ns, cpu)
        if check:
            s.check([o.agent_id for o in offers] == ([expected] if expected else []))
        s.count("offered", bool(offers))
        if offers:  # an agent holding chats had room for this chat: the customer leaves again (untimed)
            self.c.channel_gone(call.channel_id, self.clock.advance(self.EVENT_GAP))
            return
        self.w.waiting.append(call.call_id)
        # Reset: a random waiting customer gives up (a decision of its own: the core dispatches after it).
        gone = self.c.calls[rng.choice(self.w.waiting)]
        now = self.clock.advance(self.EVENT_GAP)
        _, ns, cpu = timed(lambda: self.c.channel_gone(gone.channel_id, now))
        self.series["caller_abandon"].add(ns, cpu)
        self._remove(self.w.waiting, gone.call_id)

    def chat_arrival_queued(self) -> None:
        self.arrival_queued(Channel.CHAT, "chat_arrival_queued")

    def arrival_offered(self, channel: Channel = Channel.VOICE, name: str = "arrival_offered") -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series[name]
        ready = [a for a in self.w.ready if a in self.specialties and self.c.agents[a].capacity.limit(channel)]
        if not ready:
            log(f"{name}: no ready specialist; skipped")
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
            channel=channel,
        )
        call.channel_id = f"ch-{call.call_id}"
        check = self.checking(name)
        if check:
            expected, base_ns, _ = timed(partial(ref_arrival, self.c, self.w.rules, call, now, self.last))
            s.baseline_ns.append(base_ns)
        commands, ns, cpu = timed(lambda: self.c.call_arrived(call, now))
        offers = self._note_offers(commands)
        s.add(ns, cpu)
        if check:
            s.check(len(offers) == 1 and offers[0].agent_id == expected and offers[0].call_id == call.call_id)
        s.count("offered", bool(offers))
        # Reset: the customer hangs up while the specialist is offered it; the agent keeps their idle place.
        self.c.channel_gone(call.channel_id, self.clock.advance(self.EVENT_GAP))

    def chat_arrival_offered(self) -> None:
        self.arrival_offered(Channel.CHAT, "chat_arrival_offered")

    def agent_ready_release(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["agent_ready_release"]
        call = self.c.calls[rng.choice(self.w.connected)]
        agent = self.c.agents[call.agent_id or ""]
        check = self.checking("agent_ready_release")
        if check:
            ref = partial(ref_agent_ready, self.c, self.w.rules, agent, {}, now, self.c.aging_seconds)
            expected, base_ns, _ = timed(ref)
            s.baseline_ns.append(base_ns)
        leg = call.agent_channel_id or ""
        commands, ns, cpu = timed(lambda: self.c.channel_gone(leg, now))
        offers = self._note_offers(commands)
        s.add(ns, cpu)
        if check:
            s.check([(o.agent_id, o.call_id) for o in offers] == [(agent.agent_id, c) for c in expected])
        s.count("offered", bool(offers))
        self._remove(self.w.connected, call.call_id)
        if not offers:  # no waiting item this agent may take: it goes on a break (untimed)
            self.c.set_not_ready(agent.agent_id, "break", self.clock.advance(self.EVENT_GAP))
            self.w.not_ready.append(agent.agent_id)
            return
        # Reset: the agent answers (timed) and as many new items wait (loaded without a dispatch).
        self._answer(offers)

    def chat_ended(self) -> None:
        """A customer leaves one of an agent's chats: the agent has room for one more and gets the best waiting
        chat it may take, if any."""
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["chat_ended"]
        chat = self.c.calls[rng.choice(self.w.chats)]
        agent = self.c.agents[chat.agent_id or ""]
        check = self.checking("chat_ended")
        if check:
            held = {c: h for c, h in agent.work.items() if c != chat.call_id}
            ref = partial(ref_agent_ready, self.c, self.w.rules, agent, held, now, self.c.aging_seconds)
            expected, base_ns, _ = timed(ref)
            s.baseline_ns.append(base_ns)
        commands, ns, cpu = timed(lambda: self.c.channel_gone(chat.channel_id, now))
        offers = self._note_offers(commands)
        s.add(ns, cpu)
        if check:
            s.check([(o.agent_id, o.call_id) for o in offers] == [(agent.agent_id, c) for c in expected])
        s.count("offered", bool(offers))
        self._remove(self.w.chats, chat.call_id)
        if not offers:  # nothing this agent may take: not ready after its other chats, which stay (untimed)
            self.c.set_not_ready(agent.agent_id, "break", self.clock.advance(self.EVENT_GAP))
            for other in agent.work:
                if other in self.w.chats._at:
                    self._remove(self.w.chats, other)
            return
        self._answer(offers)

    def agent_ready_set_ready(self) -> None:
        rng, now = self.rng, self.clock.advance(self.EVENT_GAP)
        s = self.series["agent_ready_set_ready"]
        agent = self.c.agents[rng.choice(self.w.not_ready)]
        check = self.checking("agent_ready_set_ready")
        if check:
            ref = partial(ref_agent_ready, self.c, self.w.rules, agent, {}, now, self.c.aging_seconds)
            expected, base_ns, _ = timed(ref)
            s.baseline_ns.append(base_ns)
        commands, ns, cpu = timed(lambda: self.c.set_ready(agent.agent_id, now))
        offers = self._note_offers(commands)
        s.add(ns, cpu)
        if check:
            s.check([(o.agent_id, o.call_id) for o in offers] == [(agent.agent_id, c) for c in expected])
        s.count("offered", bool(offers))
        now = self.clock.advance(self.EVENT_GAP)
        if not offers:  # back on the break (untimed)
            self.c.set_not_ready(agent.agent_id, "break", now)
            return
        # Reset (the first timed): nothing offered is answered; the agent is not ready again (after the last of
        # its chats fails), the items back in their places.
        for n, offer in enumerate(offers):
            _, ns, cpu = timed(partial(self.c.channel_gone, offer.agent_channel_id, now, offer_failure="no_answer"))
            if not n:
                self.series["ring_no_answer"].add(ns, cpu)

    def tick(self) -> None:
        now = self.clock.now
        self.next_tick = now + self.tick_period
        s = self.series["tick"]
        check = self.checking("tick")
        if check:
            ref = partial(ref_tick, self.c, self.w.rules, now, self.c.aging_seconds)
            (escalated, ref_offers), base_ns, _ = timed(ref)
            s.baseline_ns.append(base_ns)
        commands, ns, cpu = timed(lambda: self.c.tick(now))
        offers = self._note_offers(commands)
        changed = {c.item.call_id for c in commands if isinstance(c, WorkChanged)}
        offered = {(o.call_id, o.agent_id) for o in offers}
        s.add(ns, cpu)
        if check:
            s.check(changed - {o[0] for o in offered} == escalated and offered == ref_offers)
        escalated_now = len(changed - {o[0] for o in offered})
        self.escalations += escalated_now
        s.notes["escalations_per_tick_mean"] = self.escalations / len(s.ns)
        s.notes["escalations_per_tick_max"] = max(s.notes.get("escalations_per_tick_max", 0), escalated_now)
        # Voice only, none expected (no ready agent may take a waiting call at any step); with chats, an agent
        # left with room for one more chat may take one that a new step brings within its reach.
        s.count("offers", len(offered))

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self, names: tuple[str, ...], budget_s: float, max_samples: int) -> None:
        """Samples of the event scenarios in turn, each bounded by its share of the budget and by
        ``max_samples``; a tick whenever a tick period of the fake clock has passed."""
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
        "--chat-share", type=float, default=0.0,
        help="share of the waiting items that are chats and of the agents who may hold chats (default 0: voice only)")
    parser.add_argument(
        "--collector", choices=("server", "default"), default="server",
        help="the garbage collector's settings: cti's server's (gc.freeze after the state is loaded, GC_THRESHOLDS; "
             "default) or CPython's defaults (what this script used before)")
    parser.add_argument(
        "--tick-ms", type=float, default=ROUTING_TICK_SECONDS * 1000,
        help=f"fake-clock milliseconds between two ticks (default {ROUTING_TICK_SECONDS * 1000:g}: the controller's)")
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
    if not 0 <= args.chat_share < 1:
        parser.error("--chat-share must be at least 0 and below 1")
    names = (*MAIN, *CHAT) if args.chat_share else MAIN
    tick_seconds = args.tick_ms / 1000
    started = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)
    rng = random.Random(args.seed)
    clock = Clock(T0)
    log(f"building {args.agents} agents, {args.queues} queues, {args.waiting} waiting items, chat share "
        f"{args.chat_share} (seed {args.seed})")
    world = build(args, rng, clock)
    log(
        f"built in {world.setup['build_s']} s; settle dispatch {world.setup['settle_dispatch_ms']} ms, "
        f"{world.setup['settle_offers']} offers"
    )
    tune_collector(args.collector)
    bench = Bench(world, clock, rng, checks=checks, tick_seconds=tick_seconds)
    log(f"main scenarios: {budget * 0.6:.0f} s budget, at most {args.decisions} samples each, a tick every "
        f"{args.tick_ms:g} ms")
    bench.run(names, budget * 0.6, args.decisions)

    scenarios = {name: report(bench.series[name]) for name in names}
    for name in RESETS:
        if bench.series[name].ns:
            scenarios[name] = report(bench.series[name], baseline=False)
    escalations = scenarios["tick"].get("escalations_per_tick_mean")
    if escalations:
        scenarios["tick"]["mean_us_per_escalated_call"] = round(scenarios["tick"]["mean_us"] / escalations, 1)
    state_after = {
        "waiting_calls": sum(c.state is WorkState.WAITING for c in world.center.calls.values()),
        "waiting_chats": sum(
            c.state is WorkState.WAITING and c.channel is Channel.CHAT for c in world.center.calls.values()
        ),
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
        return out | cpu_summary(series) | {k: round(v, 2) for k, v in series.notes.items()}

    sweep: dict[str, Any] = {str(len(world.ready)): {name: brief(bench.series[name]) for name in swept}}
    bench.checks = 0
    for keep in (len(world.ready) // 10, 0):
        for agent_id in world.ready[keep:]:
            world.center.set_not_ready(agent_id, "break", clock.now)
        world.ready = world.ready[:keep]
        for name in (*swept, *RESETS):
            bench.series[name] = Series()
        bench.escalations = 0
        bench.run(swept, budget * 0.05, args.decisions)
        sweep[str(keep)] = {name: brief(bench.series[name]) for name in swept}
        log(f"{keep} idle ready agents: p50 " + ", ".join(f"{n} {sweep[str(keep)][n].get('p50_us')} us" for n in swept))
    log("micro-benchmarks")
    parts = micro(world.center, world, clock, rng, budget * 0.05)
    setup = world.setup
    del world, bench
    gc.unfreeze()
    gc.collect()

    # The previous core on the same state and the same first events (same seed), a few samples each.
    if not old_samples:  # --old-samples 0: not even its settle dispatch (minutes at 100,000 agents)
        log("the previous core: skipped (--old-samples 0)")
    else:
        log(f"the previous core (tests/reference_core.py): at most {old_samples} samples per scenario")
        old_rng, old_clock = random.Random(args.seed), Clock(T0)
        old_world = build(args, old_rng, old_clock, ReferenceContactCenter)
        tune_collector(args.collector)
        setup["old_core_settle_dispatch_ms"] = old_world.setup["settle_dispatch_ms"]
        old = Bench(old_world, old_clock, old_rng, checks=0, tick_seconds=tick_seconds)
        old.run(names, budget * 0.25, old_samples)
        while len(old.series["tick"].ns) < old_samples:
            old.clock.now = max(old.clock.now, old.next_tick)
            old.tick()
        for name in names:
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
        "tick_ms": args.tick_ms,
        "collector": args.collector,
        "all_meet_target": all(scenarios[n].get("meets_target", False) for n in names),
        "all_meet_target_cpu": all(scenarios[n].get("cpu_meets_target", False) for n in names),
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
