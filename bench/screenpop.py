"""Screen-pop benchmark: call offered -> the pop frame at the agent's desktop, with 200 desktops connected.

Run from the repository root inside the venv::

    python bench/screenpop.py             # default run (200 calls at 10/s, 20 phones, 200 desktops; ~45 s)
    python bench/screenpop.py --quick     # smoke run (under a minute)
    python bench/screenpop.py --profile   # also time each step of the pop's build (see below)

It starts everything it needs (a private configuration of the shared Asterisk root, cti in-process with a
fresh SQLite database seeded with ``--customers`` CRM customers and its own Redis prefix, SIPp agent phones
and callers), measures, cleans up, and prints one JSON object as the last line of stdout. Progress goes to
stderr. See docs/benchmarks.md, "Screen pop".

Set-up: ``--desktops`` agents are created (200); the first ``--agents`` (20) log in ready at extensions
7001.. with a SIPp phone each that answers after ``--ring-ms`` and hangs up after ``--talk-ms``; the others
stay logged out. Every agent's desktop websocket (``/ws/desktop``, the token in the header) is open for the
whole run, read in another process (``--client-processes 1``, the default, as browsers would be) or in this one (``0``).
Callers (SIPp, ``--rate`` per second) dial 1500100 from the numbers of seeded CRM customers (a
different customer per call while there are enough), and a ``--unknown`` share from numbers no customer has.

Method: all clocks are ``time.perf_counter`` (CLOCK_MONOTONIC, one clock for the machine, so the client
process's times compare with the server's).

* t0, offered: the benchmark wraps ``ScreenPop.offered`` (the screen pop's entry in the distributor's handler
  table for ``Offer``, installed on the class before cti starts, so the table holds the wrapper) and records
  the time the ``Offer`` command reaches it, before the screen pop builds (it may build in that very step).
* t1, pop: the desktop client of that agent records when it receives the ``offer`` frame of that call
  (before parsing it). Pop latency = t1 - t0.
* Baseline, same run, same offer: the ``call`` frame (state ``ringing``) that the screen pop's handler of
  ``WorkChanged`` publishes on the same topic right after the offer, without touching the database. Its
  latency is the websocket fan-out alone; the pop's latency minus it is the cost of building the pop.
* Split on the server: ``Hub.publish`` is wrapped (in this process) to note when each of the two frames
  is published, giving offer -> published (build) and published -> received (delivery).
* Checks: an offer without its pop at that agent's desktop is *missing*; an ``offer`` or ``call`` frame
  for a call not offered to the desktop's agent, or an ``agent`` frame for another agent, is *delivered to
  the wrong desktop*; a pop for a known caller must carry that customer's record.
* Also reported: CPU by consumer (as in callpath.py), pops being built at once (sampled every 0.25 s),
  Python's garbage collections during the calls and the pops that waited on a full one, and cti's warnings
  about callers the CRM could not identify within its 2 s budget on arrival.
* Each desktop ends its agent's wrap-up as soon as its ``agent`` frame says ``wrap_up`` (ready again, with the
  agent's token), as the desktop page does when its wrap-up is saved: with a desktop open an agent otherwise stays
  in wrap-up up to 120 s after each call (cti.acd's ``DESK_WRAP_UP``).
* ``--cluster`` (issue 21: 10,000 desktops, p99 < 20 ms): the same calls and desktops against the cluster's own
  controllers and ``cti front`` front ends as their own processes (bench/_fronts.py; run as root)::

      nice -n 19 .venv/bin/python bench/screenpop.py --cluster --quick            # smoke: 200 desktops, 30 calls
      .venv/bin/python bench/screenpop.py --cluster --desktops 10000              # issue 21's run, a quiet machine

  The agents, their logins and the CRM are seeded in the cluster's PostgreSQL before its controllers start; the
  offers that should pop are the leader's (its interaction rows' ``offered`` decisions); t0 is the pop's own
  ``offered_at`` (the leader's clock when the Offer reached the screen pop) put on this machine's CLOCK_MONOTONIC;
  the desktops connect to the front ends in turn from client processes (one per 1,000). Nothing of cti runs in
  the benchmark's process, so the server-side split, GC and profile are not measured (null).
* ``--profile``: the pop's build is timed step by step (each CRM and script read, cross-sell ranking,
  script choice and rendering) by wrapping, in this process, the functions it calls (counted only inside a
  pop), with an event-loop lag probe; then, after the calls, ``--isolated`` pops are built one at a time with
  nothing else going on, for the cost of a pop alone (wall time and CPU of the event-loop thread).
  ``--cprofile N`` profiles the event-loop thread during the calls: busy time by code (cti package or
  library) and the top N functions (cProfile slows cti down a lot: read shares, not latencies).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import json
import logging
import math
import os
import platform
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
if str(REPO) not in sys.path:  # `python bench/screenpop.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from aiohttp import (  # noqa: E402
    ClientSession,
    ClientWebSocketResponse,
    TCPConnector,
    WSMsgType,
    WSServerHandshakeError,
    web,
)

from bench._cluster import description, homed_in_turn  # noqa: E402
from bench._fronts import (  # noqa: E402
    FrontsCpu,
    SeededCluster,
    add_cluster_args,
    clock_offset,
    counters,
    end_cluster_run,
    fronts_cluster,
    open_files_for,
    per_target,
    targets,
    wall_to_pc,
)
from bench._harness import (  # noqa: E402
    acquire_root,
    bench_settings,
    cancel_on_signals,
    drop_redis_keys,
    machine_busy,
    proc_cpu,
    redis_url,
    serve_cti,
    stop_process_group,
    summary_ms,
)
from cti import sales as crosssell  # noqa: E402
from cti.acd import Command, Offer, WorkItem  # noqa: E402
from cti.asterisk import AsteriskRoot  # noqa: E402
from cti.bootstrap import RUNNING, Running  # noqa: E402
from cti.crm import normalize_phone  # noqa: E402
from cti.persistence import (  # noqa: E402
    AgentRepository,
    CustomerRepository,
    Database,
    InteractionRepository,
    UserRepository,
)
from cti.records import AgentRecord  # noqa: E402
from cti.services import ScreenPop  # noqa: E402
from cti.settings import Settings  # noqa: E402
from cti.sim import (  # noqa: E402
    PSTN_HOST,
    SCENARIOS,
    SippAgent,
    free_udp_port,
    generate,
    sipp_binary,
)
from cti.topology import Cluster  # noqa: E402
from cti.web import HUB, SCREENPOP  # noqa: E402

# The module whose globals the pop's build looks its helpers up in (select_script, render_path...).
screenpop_service = sys.modules[ScreenPop.__module__]

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")
SERVICE = "1500100"
TARGET_P99_MS = 50.0
BUDI = ("02155501001", "10000001")  # always among the callers: the richest seeded record


def say(message: str) -> None:
    print(f"[screenpop {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- statistics --------------------------------------------------------------------------------------------


@dataclass
class CpuMeter:
    """CPU cores used during the calls, by consumer (Asterisk, this process = cti + clients, SIPp, other)."""

    asterisk_pid: int
    phones: list[SippAgent]
    start: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        me = os.times()
        phones = sum(proc_cpu(p.proc.pid) for p in self.phones if p.proc is not None and p.running)
        return {"asterisk": proc_cpu(self.asterisk_pid), "bench_process": me.user + me.system,
                "sipp": phones + me.children_user + me.children_system, "machine": machine_busy(),
                "wall": time.monotonic()}

    def begin(self) -> None:
        self.start = self._sample()

    def result(self) -> tuple[dict[str, float], dict[str, float]]:
        """CPU use in cores (CPU seconds per wall second) and in CPU seconds, by consumer."""
        end = self._sample()
        d = {k: end[k] - self.start[k] for k in end}
        wall = d.pop("wall")
        ours = d["asterisk"] + d["bench_process"] + d["sipp"]
        cores = {"asterisk": d["asterisk"], "cti_process": d["bench_process"], "sipp": d["sipp"],
                 "other": max(0.0, d["machine"] - ours), "machine": d["machine"]}
        return {k: round(v / wall, 2) for k, v in cores.items()}, cores


# -- callers: SIPp with one caller number per call from an injection file -----------------------------------

def caller_scenario(duration_ms: int) -> str:
    """cti's caller scenario with the caller's number taken from the injection file's first field."""
    text = (SCENARIOS / "caller.xml").read_text()
    text = text.replace("@DURATION_MS@", str(duration_ms)).replace("@MEDIA_PORT@", "[media_port]")
    if "[$caller]" not in text:
        raise RuntimeError("caller.xml no longer uses [$caller]; update bench/screenpop.py")
    return text.replace("[$caller]", "[field0]").replace('<Global variables="caller,callername"/>',
                                                         '<Global variables="callername"/>')


class Callers:
    """One SIPp UAC process placing ``len(numbers)`` calls at ``rate``, call n from ``numbers[n]``."""

    def __init__(self, numbers: list[str], *, rate: float, duration_ms: int, target: str = "127.0.0.1:5060") -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="cti-bench-sipp-"))
        scenario = self.workdir / "caller.xml"
        scenario.write_text(caller_scenario(duration_ms))
        inject = self.workdir / "numbers.csv"
        inject.write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers))
        out = (self.workdir / "sipp.out").open("wb")
        self.proc = subprocess.Popen(
            [sipp_binary(), target, "-sf", str(scenario), "-inf", str(inject), "-s", SERVICE,
             "-i", PSTN_HOST, "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
             "-m", str(len(numbers)), "-r", f"{rate:g}", "-rp", "1000", "-l", str(len(numbers)),
             "-set", "callername", "Bench", "-f", "60", "-nostdin",
             "-trace_err", "-error_file", str(self.workdir / "errors.log")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True)
        out.close()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def errors(self) -> str:
        path = self.workdir / "errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process_group(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


def caller_numbers(dataset: Any, calls: int, unknown: float, rng: random.Random) -> list[tuple[str, str | None]]:
    """(national caller number, the customer it belongs to or None) for each call; Budi Santoso first.

    Known callers are seeded customers with an Indonesian number, a different one per call while there are
    enough (then again from the start); unknown callers are Jakarta numbers no customer has."""
    taken = {phone for c in dataset.customers for phone in c.fields.phones}
    known: list[tuple[str, str]] = []
    for customer in dataset.customers:
        if customer.customer_id == BUDI[1]:
            continue
        indonesian = [p for p in customer.fields.phones if p.startswith("+62")]
        if indonesian:
            phone = rng.choice(indonesian)
            known.append(("0" + phone[3:], customer.customer_id))
    rng.shuffle(known)
    n_unknown = round(calls * unknown)
    n_known = calls - n_unknown
    picked: list[tuple[str, str | None]] = [BUDI] if n_known else []
    picked += [known[i % len(known)] for i in range(max(0, n_known - 1))]
    strangers: set[str] = set()
    while len(strangers) < n_unknown:
        number = f"021559{rng.randrange(10**5):05d}"
        if normalize_phone(number) not in taken:
            strangers.add(number)
    picked += [(n, None) for n in sorted(strangers)]
    first, rest = picked[:1], picked[1:]
    rng.shuffle(rest)
    for number, _ in picked:  # the national form must mean the customer's E.164 number to cti
        if normalize_phone(number) is None:
            raise RuntimeError(f"caller number {number} does not normalise")
    return first + rest


# -- desktops ----------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Received:
    t: float
    type: str
    call_id: str | None
    state: str | None
    agent_id: str | None
    customer_id: str | None
    error: str | None
    size: int
    offered_at: str | None = None  # an offer frame's: the leader's wall clock when the Offer reached the screen pop


class WrapUps:
    """What an agent does at their desktop after a call: an agent with a desktop open stays in wrap-up after an
    answered call until they end it (cti.acd's ``DESK_WRAP_UP``, 120 s at most), so each desktop ends it as soon as
    its agent's ``agent`` frame says ``wrap_up``, with the agent's own token (``POST /api/agents/{id}/state``, ready),
    as the desktop page's wrap-up form does when saved. Without it every agent would take one call in two minutes."""

    def __init__(self, http: ClientSession) -> None:
        self.http = http
        self.ended = 0
        self.failed: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def end(self, base_url: str, agent_id: str, token: str) -> None:
        task = asyncio.get_running_loop().create_task(self._end(base_url, agent_id, token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end(self, base_url: str, agent_id: str, token: str) -> None:
        try:
            async with self.http.post(f"{base_url}/api/agents/{agent_id}/state", json={"state": "ready"},
                                      headers={"Authorization": f"Bearer {token}"}) as resp:
                if resp.status == 200:
                    self.ended += 1
                else:
                    self.failed.append(f"{agent_id}: HTTP {resp.status} {(await resp.text())[:200]}")
        except Exception as exc:  # noted, and the run goes on: the agent's wrap-up then ends on its own
            self.failed.append(f"{agent_id}: {type(exc).__name__}: {exc}"[:300])

    def counts(self) -> dict[str, Any]:
        return {"ended": self.ended, "failed": len(self.failed), "failures": self.failed[:5]}


class Desktop:
    """One agent's desktop websocket, read in this process; every frame noted with its arrival time."""

    def __init__(self, agent_id: str, ws: ClientWebSocketResponse | None,
                 wrap_up: Callable[[], None] | None = None) -> None:
        self.agent_id = agent_id
        self.ws = ws
        self.wrap_up = wrap_up  # called when the agent goes to wrap-up: ends it, as the agent would
        self.frames: list[Received] = []
        self.closed_by_server: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.answered = asyncio.Event()  # the first frame (the snapshot) or the close came

    async def read(self) -> None:
        assert self.ws is not None
        try:
            while True:
                msg = await self.ws.receive()
                t = time.perf_counter()
                if msg.type is WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    data = frame.get("data") if isinstance(frame.get("data"), dict) else {}
                    customer = data.get("customer") if isinstance(data.get("customer"), dict) else None
                    offered_at = data.get("offered_at")
                    received = Received(
                        t, frame.get("type", "?"), data.get("call_id"), data.get("state"), data.get("agent_id"),
                        customer.get("customer_id") if customer else None, data.get("error"), len(msg.data),
                        offered_at if isinstance(offered_at, str) else None)
                    self.frames.append(received)
                    self.answered.set()
                    if (self.wrap_up is not None and received.type == "agent" and received.state == "wrap_up"
                            and received.agent_id == self.agent_id):
                        self.wrap_up()
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    if msg.type is not WSMsgType.CLOSED or self.closed_by_server is None:
                        self.closed_by_server = f"{msg.type.name} {msg.data!r} {msg.extra!r}"
                    return
        finally:
            self.answered.set()


class RemoteDesktops:
    """The desktops in other processes (``--client-processes``): browsers never run in the server's process,
    and in-process clients would put their reads on the event loop being measured. ``perf_counter`` is
    CLOCK_MONOTONIC, one clock for the whole machine, so their times compare with the server's. Desktop ``idx``
    connects to ``urls[idx % len(urls)]`` (the cluster's front ends in turn); process ``w`` of ``n`` holds the
    desktops ``w, w + n, ...``."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)
        self.procs: list[subprocess.Popen[str]] = []
        self.connect_retries = 0
        self.wrap_ups: dict[str, Any] = {}  # the wrap-ups the desktops ended (:class:`WrapUps`), at the last collect

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    async def open(self, urls: list[str], indexed: list[tuple[int, str, str]], desktops: dict[str, Desktop], *,
                   concurrency: int = 25) -> None:
        """Connect the desktops (idx, agent id, token); each has had its first frame (the snapshot) on return."""
        n = min(self.processes, len(indexed))
        for w in range(n):
            proc = await asyncio.to_thread(
                subprocess.Popen, [sys.executable, str(SCRIPT), "--desktop-worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"urls": urls, "desktops": indexed[w::n],
                                         "concurrency": max(1, concurrency // n)}) + "\n")
            proc.stdin.flush()
        # Through a front end each connect is also a request to the leader (the desktop's snapshot).
        timeout = max(300.0, len(indexed) / 10)
        for proc in self.procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
            answer = json.loads(line) if line.startswith("{") else {}
            if "ready" not in answer:
                raise RuntimeError(f"a desktop client process did not connect its desktops: {line[:800]!r}")
            self.connect_retries += int(answer.get("retries", 0))
        for _, agent_id, _ in indexed:
            desktops[agent_id] = Desktop(agent_id, None)
        await self.collect(desktops)

    async def collect(self, desktops: dict[str, Desktop]) -> None:
        """Every frame the workers' desktops received so far (they keep them all, so indexes stay valid)."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("collect\n")
            proc.stdin.flush()
        wrap_ups: dict[str, Any] = {"ended": 0, "failed": 0, "failures": []}
        for proc in self.procs:
            assert proc.stdout is not None
            data = json.loads(await asyncio.to_thread(proc.stdout.readline))
            for agent_id, (frames, closed) in data["desktops"].items():
                desktop = desktops[agent_id]
                desktop.frames = [Received(*f) for f in frames]
                desktop.closed_by_server = closed
            for key in ("ended", "failed", "failures"):
                wrap_ups[key] += data["wrap_ups"][key]
        self.wrap_ups = wrap_ups

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write("stop\n")
                proc.stdin.flush()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self.procs = []


CONNECT_RETRIES = 5
"""A desktop whose handshake a front end answers 503 (no leader's answer in time, the leader changing) tries again,
as the desktop page does; more than this many times and the run stops."""


async def desktop_worker() -> None:
    """``--desktop-worker``: open the desktops named on stdin (``concurrency`` at a time, each until its snapshot),
    read every frame, answer 'collect' with them; a line ``{"ready": n, "retries": k}`` once all are open."""
    job = json.loads(await asyncio.to_thread(sys.stdin.readline))
    urls: list[str] = job["urls"]
    sem = asyncio.Semaphore(int(job.get("concurrency", 25)))
    retries = 0
    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        desktops: dict[str, Desktop] = {}
        wrap_ups = WrapUps(http)

        async def one(idx: int, agent_id: str, token: str) -> None:
            nonlocal retries
            url = urls[idx % len(urls)]
            async with sem:
                for attempt in range(CONNECT_RETRIES + 1):
                    try:
                        ws = await http.ws_connect(f"{url}/ws/desktop",
                                                   headers={"Authorization": f"Bearer {token}"}, autoping=True,
                                                   heartbeat=None, max_msg_size=4 * 1024 * 1024)
                        break
                    except WSServerHandshakeError as exc:
                        if exc.status != 503 or attempt == CONNECT_RETRIES:
                            raise
                        retries += 1
                        await asyncio.sleep(0.5)
                desktop = desktops[agent_id] = Desktop(agent_id, ws, lambda: wrap_ups.end(url, agent_id, token))
                desktop.task = asyncio.create_task(desktop.read())
                await asyncio.wait_for(desktop.answered.wait(), 60)
                if not desktop.frames:
                    raise RuntimeError(f"desktop {agent_id} closed before its snapshot: {desktop.closed_by_server}")

        try:
            await asyncio.gather(*(one(*spec) for spec in job["desktops"]))
        except Exception as exc:  # said to the benchmark, which stops the run
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:800], "opened": len(desktops)}), flush=True)
            return
        print(json.dumps({"ready": len(desktops), "retries": retries}), flush=True)
        while True:
            command = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if command == "collect":
                print(json.dumps({"desktops": {a: ([[f.t, f.type, f.call_id, f.state, f.agent_id, f.customer_id,
                                                     f.error, f.size, f.offered_at] for f in d.frames],
                                                   d.closed_by_server) for a, d in desktops.items()},
                                  "wrap_ups": wrap_ups.counts()}), flush=True)
            else:
                break
        for desktop in desktops.values():
            with contextlib.suppress(Exception):
                assert desktop.ws is not None
                await desktop.ws.close()


# -- what the server did ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Offered:
    call_id: str
    agent_id: str
    caller_number: str
    t: float


class ServerTap:
    """The benchmark's observer of the ``Offer`` commands (a wrap of ``ScreenPop.offered``) and its wrap of
    ``Hub.publish``."""

    def __init__(self) -> None:
        self.offers: list[Offered] = []
        self.offered_to: dict[str, set[str]] = defaultdict(set)
        self.published: dict[tuple[str, str, str], float] = {}  # (type, call id, agent id) -> first publish
        self.publish_s: list[float] = []  # how long publish() itself took for an offer frame (serialise + queue)
        self._original_offered: Any = None

    def observe(self, command: Command) -> None:
        if isinstance(command, Offer):
            self.offers.append(Offered(command.call_id, command.agent_id, command.caller_number,
                                       time.perf_counter()))
            self.offered_to[command.call_id].add(command.agent_id)

    def wrap_offered(self) -> None:
        """Before cti starts: the handler table built at start-up takes ``ScreenPop.offered`` as it is then,
        so the wrapper sees every ``Offer`` right before the screen pop does (after the voice adapter's
        entry, as the controller's observers did)."""
        original = ScreenPop.offered
        observe = self.observe

        @functools.wraps(original)
        def offered(screenpop: ScreenPop, offer: Offer, distributor: Any) -> None:
            observe(offer)
            original(screenpop, offer, distributor)

        ScreenPop.offered = offered
        self._original_offered = original

    def unwrap_offered(self) -> None:
        original = self._original_offered
        if original is not None:
            ScreenPop.offered = original
            self._original_offered = None

    def wrap_publish(self, hub: Any) -> None:
        original = hub.publish

        @functools.wraps(original)
        def publish(name: str, type_: str, data: Any) -> Any:
            t = time.perf_counter()
            frame = original(name, type_, data)
            if type_ in ("offer", "call") and isinstance(data, dict) and name.startswith("agent:"):
                if type_ == "offer" or data.get("state") == "ringing":
                    self.published.setdefault((type_, str(data.get("call_id")), name[len("agent:"):]), t)
                if type_ == "offer":
                    self.publish_s.append(time.perf_counter() - t)
            return frame

        hub.publish = publish


# -- --profile: the pop's build step by step ----------------------------------------------------------------

_BUILDING = 0  # > 0 while a pop is built in the offer's own step (ScreenPop._offered)


def _in_pop() -> bool:
    if _BUILDING:
        return True
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and getattr(task.get_coro(), "__qualname__", "") == "ScreenPop._offer"


class StepTimer:
    """Wall time of each function the pop's build calls, counted only inside ``ScreenPop._offer`` tasks."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = defaultdict(list)
        self.rows: dict[str, list[int]] = defaultdict(list)
        self._undo: list[tuple[Any, str, Any]] = []

    def _patch(self, owner: Any, name: str, make: Any) -> None:
        own = name in vars(owner)  # a module's or class's own attribute, not an instance's method
        original = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
        self._undo.append((owner, name, original if own else None))
        setattr(owner, name, make(original))

    def wrap_async(self, owner: Any, name: str, label: str) -> None:
        def make(original: Any) -> Any:
            @functools.wraps(original)
            async def timed(*args: Any, **kwargs: Any) -> Any:
                if not _in_pop():
                    return await original(*args, **kwargs)
                t = time.perf_counter()
                result = await original(*args, **kwargs)
                self.steps[label].append(time.perf_counter() - t)
                if isinstance(result, list | tuple):
                    self.rows[label].append(len(result))
                return result
            return timed
        self._patch(owner, name, make)

    def wrap_sync(self, owner: Any, name: str, label: str, *, classmethod_: bool = False,
                  counts_as_pop: bool = False) -> None:
        def make(original: Any) -> Any:
            func = original.__func__ if classmethod_ else original

            @functools.wraps(func)
            def timed(*args: Any, **kwargs: Any) -> Any:
                global _BUILDING
                if not (counts_as_pop or _in_pop()):
                    return func(*args, **kwargs)
                t = time.perf_counter()
                _BUILDING += counts_as_pop
                try:
                    result = func(*args, **kwargs)
                finally:
                    _BUILDING -= counts_as_pop
                self.steps[label].append(time.perf_counter() - t)
                return result
            return classmethod(timed) if classmethod_ else timed
        self._patch(owner, name, make)

    def install(self, screenpop: ScreenPop) -> None:
        crm, scripts = screenpop.customers, screenpop.scripts
        for name in ("customer_view", "customer_by_phone", "catalog", "complements", "active_promotions",
                     "segment_holdings"):
            self.wrap_async(crm, name, f"crm.{name}")
        self.wrap_async(scripts, "active_scripts", "scripts.active_scripts")
        self.wrap_async(screenpop, "_inputs", "_inputs (reads, when not all cached)")
        self.wrap_sync(screenpop, "_assemble", "_assemble (no I/O)")
        self.wrap_sync(screenpop, "_offered", "_offered (built in the offer's step)", counts_as_pop=True)
        self.wrap_sync(crosssell, "rank_offers", "crosssell.rank_offers")
        self.wrap_sync(crosssell.SegmentStats, "from_holdings", "SegmentStats.from_holdings", classmethod_=True)
        for name in ("select_script", "advance", "render_path", "customer_frame"):
            self.wrap_sync(screenpop_service, name, name)

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            if original is None:
                delattr(owner, name)  # the instance attribute shadowing the class's method
            else:
                setattr(owner, name, original)
        self._undo.clear()

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        build_total = (sum(self.steps.get("_inputs (reads, when not all cached)", []))
                       + sum(self.steps.get("_assemble (no I/O)", []))) or 1.0
        for label, values in sorted(self.steps.items(), key=lambda kv: -sum(kv[1])):
            line = summary_ms(values, 3)
            line["share_of_build_pct"] = round(100 * sum(values) / build_total, 1)
            if self.rows.get(label):
                line["rows_mean"] = round(sum(self.rows[label]) / len(self.rows[label]), 1)
            out[label] = line
        return out


class LoopLag:
    """How late a 5 ms sleep wakes up: the event loop blocked by whatever ran meanwhile."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append(time.perf_counter() - t - self.interval)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return summary_ms(self.lags)


class GcPauses:
    """Python's garbage collections during the calls: they stop the event loop (cti and the clients)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = defaultdict(list)
        self.full: list[tuple[float, float]] = []  # (start, end) of each gen-2 (full) collection
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            end = time.perf_counter()
            self.pauses[info["generation"]].append(end - self._started)
            if info["generation"] == 2:
                self.full.append((self._started, end))

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> dict[str, Any]:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)
        return {f"gen{g}": {"collections": len(v), "max_ms": round(1000 * max(v), 1),
                            "total_ms": round(1000 * sum(v), 1)} for g, v in sorted(self.pauses.items())}


class LogCounter(logging.Handler):
    """Counts cti's warnings that matter here (callers the CRM could not identify in time on arrival)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "not identified" in message:
            self.counts["callers_not_identified_on_arrival"] += 1
        elif record.name.startswith("cti.services.screenpop"):
            self.counts["screenpop_warnings"] += 1


# -- the run ----------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, settings: Settings, root: AsteriskRoot) -> None:
        self.args = args
        self.settings = settings
        self.root = root
        self.runner: web.AppRunner | None = None
        self.http: ClientSession | None = None
        self.ws_http: ClientSession | None = None
        self.base_url = ""
        self.phones: list[SippAgent] = []
        self.desktops: dict[str, Desktop] = {}
        self.tokens: dict[str, str] = {}
        self.tap = ServerTap()
        self.in_flight: list[int] = []
        self.remote = RemoteDesktops(args.client_processes) if args.client_processes else None
        self.wrap_ups: WrapUps | None = None  # in-process desktops' (client processes count their own)

    @property
    def running(self) -> Running:
        """cti's running components (the distributor, the telephony adapter, the database...)."""
        assert self.runner is not None
        return self.runner.app[RUNNING]

    @property
    def screenpop(self) -> ScreenPop:
        assert self.runner is not None
        return self.runner.app[SCREENPOP]

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def start_cti(self, customers: int) -> Any:
        # Before the app starts: t0 comes right before the screen pop's handler builds (it may build in that step).
        self.tap.wrap_offered()
        self.runner, self.base_url, self.http = await serve_cti(self.settings)
        dataset = generate(now=datetime.now(UTC), customers=customers, seed=self.args.seed)
        loaded = await CustomerRepository(self.running.database).seed(dataset)
        if loaded != customers:
            raise RuntimeError(f"seeded {loaded} CRM customers, expected {customers}")
        self.tap.wrap_publish(self.runner.app[HUB])
        return dataset

    async def create_agents(self, count: int) -> list[str]:
        ids = agent_ids(count)
        for agent_id in ids:
            body = await self.api("POST", "/api/agents", {"agent_id": agent_id, "name": f"Bench agent {agent_id}"},
                                  201)
            self.tokens[agent_id] = body["token"]
        return ids

    async def sync_desktops(self) -> None:
        """Bring the frames of desktops in another process up to date (a no-op in-process)."""
        if self.remote is not None:
            await self.remote.collect(self.desktops)

    async def open_desktops(self, agent_ids: list[str]) -> None:
        if self.remote is not None:
            await self.remote.open([self.base_url], [(n, a, self.tokens[a]) for n, a in enumerate(agent_ids)],
                                   self.desktops)
            return
        # One session, no pool limit: 200 sockets open at once, as 200 browsers would hold them.
        self.ws_http = ClientSession(connector=TCPConnector(limit=0))
        self.wrap_ups = WrapUps(self.ws_http)
        for agent_id in agent_ids:
            token = self.tokens[agent_id]
            ws = await self.ws_http.ws_connect(f"{self.base_url}/ws/desktop",
                                               headers={"Authorization": f"Bearer {token}"},
                                               autoping=True, heartbeat=None, max_msg_size=4 * 1024 * 1024)
            desktop = Desktop(agent_id, ws, functools.partial(self.wrap_ups.end, self.base_url, agent_id, token))
            desktop.task = asyncio.create_task(desktop.read(), name=f"desktop-{agent_id}")
            self.desktops[agent_id] = desktop
        deadline = time.monotonic() + 30
        while any(not d.frames for d in self.desktops.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("desktops without their snapshot after 30 s")
            await asyncio.sleep(0.05)
        bad = [d.agent_id for d in self.desktops.values() if d.frames[0].type != "snapshot"]
        if bad:
            raise RuntimeError(f"desktops whose first frame is not a snapshot: {bad[:5]}")

    async def close_desktops(self) -> None:
        if self.remote is not None:
            self.remote.close()
            return
        for desktop in self.desktops.values():
            with contextlib.suppress(Exception):
                assert desktop.ws is not None
                await desktop.ws.close()
            if desktop.task is not None:
                desktop.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await desktop.task
        if self.ws_http is not None:
            await self.ws_http.close()
            self.ws_http = None

    async def start_phones(self, extensions: list[str]) -> None:
        for ext in extensions:
            self.phones.append(SippAgent(self.settings.sim_agent_port(ext), ring_ms=self.args.ring_ms,
                                         talk_ms=self.args.talk_ms))
        await asyncio.sleep(1.0)
        dead = [ext for ext, p in zip(extensions, self.phones, strict=True) if not p.running]
        if dead:
            raise RuntimeError(f"SIPp agent phones exited at start: {dead}: {self.phones[0].errors()[-500:]}")

    def stop_phones(self) -> None:
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.stop()
        self.phones = []

    async def login(self, agent_ids: list[str], extensions: list[str]) -> None:
        for agent_id, ext in zip(agent_ids, extensions, strict=True):
            await self.api("POST", f"/api/agents/{agent_id}/login", {"extension": ext, "ready": True})
        states = Counter(a.state.value for a in self.running.distributor.query.agent_map().values() if a.extension)
        if states.get("ready", 0) != len(agent_ids):
            raise RuntimeError(f"agents not all ready: {dict(states)}")

    async def calls(self, numbers: list[str], rate: float, label: str) -> dict[str, Any]:
        say(f"{label}: {len(numbers)} calls at {rate:g}/s")
        started = time.monotonic()
        callers = Callers(numbers, rate=rate, duration_ms=self.args.caller_ms)
        try:
            limit = len(numbers) / rate + self.args.caller_ms / 1000 + 60
            while callers.running and time.monotonic() - started < limit:
                await asyncio.sleep(0.25)
                # Pops being built at this moment (ScreenPop's own task set): > 1 means they queue up.
                self.in_flight.append(len(getattr(self.screenpop, "_tasks", ())))
            if callers.running:
                say(f"  SIPp callers still running after {limit:.0f} s: stopping them")
            exit_code = callers.proc.poll()
            errors = callers.errors()
        finally:
            callers.stop()
        await self.settle()
        return {"sipp_exit": exit_code, "sipp_errors_tail": errors[-300:] if exit_code else "",
                "wall_s": round(time.monotonic() - started, 1)}

    async def settle(self, timeout: float = 30.0) -> None:
        """Every call ended, every pop published and, a moment later, every frame read."""
        deadline = time.monotonic() + timeout
        query = self.running.distributor.query
        while query.calls() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        if query.calls():
            say(f"  {len(query.calls())} calls still live after {timeout:.0f} s")
        await self.screenpop.drain()
        await self.running.telephony.drain()
        await asyncio.sleep(1.0)

    async def stop_cti(self) -> None:
        await self.close_desktops()
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.running.telephony.drain()
            await self.runner.cleanup()
            self.runner = None
        self.tap.unwrap_offered()


def analyse(bench: Bench, offers: list[Offered], expected: dict[str, str | None],
            since: dict[str, int]) -> dict[str, Any]:
    """Match each offer with the frames its agent's desktop received after it (frames before ``since`` are
    an earlier phase's)."""
    tap = bench.tap
    pop_s: list[float] = []
    call_s: list[float] = []
    build_s: list[float] = []
    deliver_pop_s: list[float] = []
    deliver_call_s: list[float] = []
    pop_minus_call_s: list[float] = []
    by_kind: dict[str, list[float]] = {"known": [], "unknown": []}
    sizes: list[int] = []
    missing_pop: list[str] = []
    pairs: list[tuple[float, float]] = []  # (offered, pop received)
    missing_call: list[str] = []
    with_record = mismatched = errors = 0
    for offer in offers:
        desktop = bench.desktops.get(offer.agent_id)
        frames = desktop.frames[since[offer.agent_id]:] if desktop else []
        pop = next((f for f in frames if f.type == "offer" and f.call_id == offer.call_id and f.t >= offer.t), None)
        call = next((f for f in frames if f.type == "call" and f.call_id == offer.call_id and f.state == "ringing"
                     and f.t >= offer.t), None)
        if pop is None:
            missing_pop.append(offer.call_id)
        else:
            pop_s.append(pop.t - offer.t)
            pairs.append((offer.t, pop.t))
            sizes.append(pop.size)
            published = tap.published.get(("offer", offer.call_id, offer.agent_id))
            if published is not None:
                build_s.append(published - offer.t)
                deliver_pop_s.append(pop.t - published)
            want = expected.get(normalize_phone(offer.caller_number) or offer.caller_number, "?")
            by_kind["unknown" if want is None else "known"].append(pop.t - offer.t)
            if pop.error:
                errors += 1
            if pop.customer_id is not None:
                with_record += 1
            if want != "?" and pop.customer_id != want:
                mismatched += 1
        if call is None:
            missing_call.append(offer.call_id)
        else:
            call_s.append(call.t - offer.t)
            published = tap.published.get(("call", offer.call_id, offer.agent_id))
            if published is not None:
                deliver_call_s.append(call.t - published)
        if pop is not None and call is not None:
            pop_minus_call_s.append(pop.t - call.t)
    wrong: Counter[str] = Counter()
    duplicates = 0
    for desktop in bench.desktops.values():
        seen: Counter[tuple[str, str | None]] = Counter()
        for f in desktop.frames[since[desktop.agent_id]:]:
            if f.type in ("offer", "call") and desktop.agent_id not in tap.offered_to.get(f.call_id or "", set()):
                wrong[f.type] += 1
            elif f.type == "agent" and f.agent_id != desktop.agent_id:
                wrong[f.type] += 1
            if f.type == "offer":
                seen[(f.type, f.call_id)] += 1
        duplicates += sum(n - 1 for n in seen.values() if n > 1)
    latency = summary_ms(pop_s)
    return {
        "offers": len(offers),
        "calls_offered": len({o.call_id for o in offers}),
        "pop_latency_ms": latency,
        "call_frame_baseline_ms": summary_ms(call_s),
        "pop_minus_call_frame_ms": summary_ms(pop_minus_call_s),
        "server_split_ms": {"offer_to_pop_published": summary_ms(build_s),
                            "pop_published_to_received": summary_ms(deliver_pop_s),
                            "call_frame_published_to_received": summary_ms(deliver_call_s),
                            "hub_publish_call_for_pop": summary_ms(tap.publish_s[-len(offers):] if offers else [])},
        "pop_latency_by_caller_ms": {k: summary_ms(v) for k, v in by_kind.items()},
        "pops_missing": len(missing_pop),
        "pops_missing_call_ids": missing_pop[:10],
        "call_frames_missing": len(missing_call),
        "frames_to_wrong_desktop": sum(wrong.values()),
        "frames_to_wrong_desktop_by_type": dict(wrong),
        "duplicate_pops": duplicates,
        "pops_with_crm_record": with_record,
        "pops_customer_mismatch": mismatched,
        "pops_with_error": errors,
        "pop_frame_bytes": {"mean": round(sum(sizes) / len(sizes)) if sizes else None,
                            "max": max(sizes) if sizes else None},
        "meets_target": latency["p99"] is not None and latency["p99"] < TARGET_P99_MS and not missing_pop,
        "_pairs": pairs,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-"))
    settings = bench_settings(
        url, tmp, ASTERISK_ROOT,
        sim_agents=max(50, args.agents),  # SIP ports 21001..: clear of the RTP range 10000-20000
    )
    root, lock_wait = await acquire_root(settings, say)
    say(f"got the Asterisk root after {lock_wait:.1f} s")
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    bench = Bench(args, settings, root)
    timer = StepTimer() if args.profile else None
    lag = LoopLag() if args.profile else None
    profiler = cProfile.Profile() if args.cprofile else None
    out: dict[str, Any] = {}
    try:
        if root.pid() is not None:
            await asyncio.to_thread(root.stop)  # stale: whoever started it no longer holds the lock
        await asyncio.to_thread(root.install_config, settings)
        await asyncio.to_thread(root.start, settings)
        shown = await asyncio.to_thread(root.cli, "core show version")
        version = re.search(r"Asterisk (\d+\.\d+\.\d+)", shown)
        asterisk_version = version.group(1) if version else "unknown"
        say(f"Asterisk {asterisk_version} up; starting cti, seeding {args.customers} CRM customers")
        dataset = await bench.start_cti(args.customers)
        agent_ids = await bench.create_agents(args.desktops)
        say(f"{len(agent_ids)} agents created; opening {args.desktops} desktop websockets")
        await bench.open_desktops(agent_ids)
        extensions = settings.sim_agent_extensions()[:args.agents]
        await bench.start_phones(extensions)
        await bench.login(agent_ids[:args.agents], extensions)
        say(f"{args.agents} agents ready at {extensions[0]}..{extensions[-1]} "
            f"(ring {args.ring_ms} ms, talk {args.talk_ms} ms)")

        # What cti costs with nobody calling (200 desktops open, 20 agents ready), to read the per-call CPU.
        idle = CpuMeter(root.pid() or 0, bench.phones)
        idle.begin()
        await asyncio.sleep(args.idle_s)
        idle_cores = idle.result()[0]
        rng = random.Random(args.seed)
        plan = caller_numbers(dataset, args.warmup + args.calls, args.unknown, rng)
        expected = {normalize_phone(n) or n: c for n, c in plan}
        warm, measured = plan[:args.warmup], plan[args.warmup:]
        if warm:
            await bench.sync_desktops()
            marks = {a: len(d.frames) for a, d in bench.desktops.items()}
            before = len(bench.tap.offers)
            await bench.calls([n for n, _ in warm], min(args.rate, 5.0), "warm-up (not measured)")
            await bench.sync_desktops()
            warm_result = analyse(bench, bench.tap.offers[before:], expected, marks)
            warm_result.pop("_pairs")
            say(f"  warm-up: {warm_result['offers']} offers, pop p50 {warm_result['pop_latency_ms']['p50']} ms")
        await bench.sync_desktops()
        marks = {a: len(d.frames) for a, d in bench.desktops.items()}
        before = len(bench.tap.offers)
        built_at_once = bench.screenpop.built_at_once
        if timer is not None:
            timer.install(bench.screenpop)
        if lag is not None:
            lag.start()
        meter = CpuMeter(root.pid() or 0, bench.phones)
        meter.begin()
        bench.in_flight.clear()
        warnings = LogCounter()
        logging.getLogger("cti").addHandler(warnings)
        gc_pauses = GcPauses()
        gc_pauses.start()
        if profiler is not None:
            profiler.enable()
        try:
            phase = await bench.calls([n for n, _ in measured], args.rate, "measured")
        finally:
            if profiler is not None:
                profiler.disable()
            logging.getLogger("cti").removeHandler(warnings)
            gc_result = gc_pauses.stop()
        cpu, cpu_seconds = meter.result()
        lag_result = await lag.stop() if lag is not None else None
        if timer is not None:
            timer.uninstall()
        await bench.sync_desktops()
        result = analyse(bench, bench.tap.offers[before:], expected, marks)
        pairs = result.pop("_pairs")
        during_full_gc = [b - a for a, b in pairs if any(s < b and e > a for s, e in gc_pauses.full)]
        result["pops_waiting_on_a_full_gc"] = {"pops": len(during_full_gc),
                                               "latency_ms": summary_ms(during_full_gc)}
        offered_calls = {o.call_id for o in bench.tap.offers[before:]}
        interactions = await InteractionRepository(bench.running.database).list(limit=100_000)
        outcomes = Counter(r.outcome for r in interactions if r.call_id in offered_calls)
        # ScreenPop's own offer -> published times (it keeps the last 1,000).
        server_latency = bench.screenpop.latency[-result["offers"]:] if result["offers"] else []
        alone = await isolated_pops(bench, measured, args.isolated) if args.profile else None
        p = result["pop_latency_ms"]
        b = result["call_frame_baseline_ms"]
        say(f"  pops {p['n']}/{result['offers']} offers; pop p50 {p['p50']} p99 {p['p99']} max {p['max']} ms; "
            f"call frame p50 {b['p50']} p99 {b['p99']} ms; missing {result['pops_missing']}, "
            f"wrong desktop {result['frames_to_wrong_desktop']}; cores: cti {cpu['cti_process']}, "
            f"asterisk {cpu['asterisk']}, sipp {cpu['sipp']}, other {cpu['other']}")
        lost = [d.agent_id for d in bench.desktops.values() if d.closed_by_server]
        out = {
            "benchmark": "screenpop",
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": result["meets_target"],
            **run_header(args, len(bench.desktops), measured, warm),
            **result,
            "server_screenpop_latency_ms": summary_ms(server_latency),
            "pops_built_in_the_offers_step": bench.screenpop.built_at_once - built_at_once,
            "client_processes": args.client_processes,
            "interaction_outcomes": dict(outcomes),
            "desktops_closed_by_server": len(lost),
            "wrap_ups_ended_by_desktops": bench.remote.wrap_ups if bench.remote is not None
            else bench.wrap_ups.counts() if bench.wrap_ups is not None else None,
            "sipp": phase,
            "pops_in_flight": {"max": max(bench.in_flight, default=0),
                               "mean": round(sum(bench.in_flight) / len(bench.in_flight), 1)
                               if bench.in_flight else 0, "samples": len(bench.in_flight)},
            "cti_warnings": dict(warnings.counts),
            "gc_pauses": gc_result,
            "gc_objects_after_calls": len(gc.get_objects()),
            "cpu_cores": cpu,
            "cpu_cores_idle_before_calls": idle_cores,
            "cpu_ms_per_call": {k: round(1000 * cpu_seconds[k] / max(1, len(measured)), 1)
                                for k in ("cti_process", "asterisk")},
            "profile": None if timer is None else {"steps_ms_during_calls": timer.result(),
                                                   "event_loop_lag_ms": lag_result, "pops_built_alone": alone},
            "asterisk": asterisk_version,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "loadavg_at_start": loadavg_start,
                        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "method": (
                "All times from perf_counter (CLOCK_MONOTONIC: one clock for the machine); cti and the observer "
                "run in this process, the desktop websocket clients in --client-processes other processes "
                "(0: in this one). t0 = a wrapper of ScreenPop.offered (the screen pop's Offer handler) sees Offer "
                "for the call; "
                "t1 = the agent's desktop client receives the 'offer' frame of that call. Baseline: the "
                "'call' frame (state ringing) that WorkChanged publishes right after the offer on the same "
                "topic without a database read, received by the same client. Hub.publish is wrapped to note "
                "each frame's publish time (build vs delivery). Warm-up calls are not measured."),
        }
        if profiler is not None:
            out["cprofile_top"] = _cprofile_top(profiler, args.cprofile)
    finally:
        say("cleaning up")
        bench.stop_phones()
        if timer is not None:
            with contextlib.suppress(Exception):
                timer.uninstall()
        with contextlib.suppress(Exception):
            await bench.stop_cti()
        with contextlib.suppress(Exception):
            await drop_redis_keys(url, settings.redis_prefix)
        try:
            await asyncio.to_thread(root.stop)
        finally:
            if private_redis is not None:
                private_redis.terminate()
                private_redis.wait(5)
            shutil.rmtree(tmp, ignore_errors=True)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


class _OnlyCall:
    """The center's view as the pop reads it, but with one made-up call as the only call there is."""

    def __init__(self, real: Any, call: WorkItem) -> None:
        self._real, self._call = real, call

    def find_call(self, call_id: str) -> WorkItem | None:
        return self._call if call_id == self._call.call_id else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def isolated_pops(bench: Bench, plan: list[tuple[str, str | None]], count: int) -> dict[str, Any]:
    """After the calls: ``count`` pops built one at a time on the same server, nothing else happening in cti
    (no calls, the desktops idle). Each is built for a made-up call from one of the run's caller numbers,
    with the customer already identified as on arrival, and published to an agent without a desktop.
    Per pop: wall time, and CPU time of the event-loop thread (``time.thread_time``) and of the process."""
    screenpop = bench.screenpop
    timer = StepTimer()
    timer.install(screenpop)
    wall: list[float] = []
    loop_cpu: list[float] = []
    process_cpu: list[float] = []
    try:
        for n in range(count):
            number, customer_id = plan[n % len(plan)]
            call = WorkItem(call_id=f"bench-alone-{n}", channel_id=f"bench-alone-{n}", caller_number=number,
                        service_number=SERVICE, queue="default", arrived_at=datetime.now(UTC),
                        customer_id=customer_id)
            original_query = screenpop._query
            screenpop._query = cast(Any, _OnlyCall(original_query, call))
            try:
                t, c, p = time.perf_counter(), time.thread_time(), time.process_time()
                loop = asyncio.get_running_loop()
                await loop.create_task(screenpop._offer(call, "bench-nobody", datetime.now(UTC), loop.time(),
                                                        bench.running.distributor))
                wall.append(time.perf_counter() - t)
                loop_cpu.append(time.thread_time() - c)
                process_cpu.append(time.process_time() - p)
            finally:
                screenpop._query = original_query
    finally:
        timer.uninstall()
        screenpop.pops.pop("bench-nobody", None)
    return {"pops": count, "wall_ms": summary_ms(wall), "event_loop_thread_cpu_ms": summary_ms(loop_cpu),
            "process_cpu_ms": summary_ms(process_cpu), "steps_ms": timer.result()}


def run_header(args: argparse.Namespace, desktops: int, measured: Sequence[tuple[str, Any]],
               warm: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """What a run was asked to do, the same keys in-process and on the cluster."""
    return {
        "calls": len(measured),
        "calls_known_callers": sum(1 for _, c in measured if c is not None),
        "calls_unknown_callers": sum(1 for _, c in measured if c is None),
        "rate": args.rate,
        "desktops": desktops,
        "agents_with_phones": args.agents,
        "ring_ms": args.ring_ms,
        "talk_ms": args.talk_ms,
        "crm_customers": args.customers,
        "warmup_calls": len(warm),
        "seed": args.seed,
    }


# -- the cluster's front ends (--cluster, issue 21) ----------------------------------------------------------------

TARGET_P99_MS_CLUSTER = 20.0  # issue 21's, across the front ends (issue 5's in one process: 50 ms)
DESKTOPS_PER_CLIENT = 1000
"""--cluster's default: a client process per 1,000 desktops (as bench/dashboard.py --cluster)."""


def agent_ids(count: int) -> list[str]:
    """The agents' ids, ``bench-001``.. (wider past 999: ``bench-00001``.. at 10,000, so they sort as numbered)."""
    width = max(3, len(str(count)))
    return [f"bench-{n:0{width}d}" for n in range(1, count + 1)]


def agent_profile() -> dict[str, Any]:
    """What ``POST /api/agents`` stores for an agent created without a profile."""
    return {"skills": {}, "languages": [], "region": None, "site": None, "team": None}


async def seed_database(url: str, dataset: Any, ids: list[str], token_days: float) -> tuple[int, dict[str, str]]:
    """The CRM and the agents with their logins in the cluster's new database, before any controller starts; the CRM
    customers written and each agent's token.

    An agent is written as ``AgentService.create`` writes one, through the same repositories: the registry's entry
    (which a controller reads at its start), then a user with the agent role and a fresh token. What is left out is
    only its checks that neither exists (a new database) and the distributor's registration (the controllers do it
    from the registry when they start). Through the API each creation also reads every user, so 10,000 of them
    were quadratic."""
    async with Database(url) as db:
        loaded = await CustomerRepository(db).seed(dataset)
        agents, users = AgentRepository(db), UserRepository(db)
        expires = datetime.now(UTC) + timedelta(days=token_days)
        tokens: dict[str, str] = {}
        sem = asyncio.Semaphore(4)  # the repository's pool holds 5

        async def one(agent_id: str) -> None:
            async with sem:
                await agents.upsert(AgentRecord(agent_id=agent_id, name=f"Bench agent {agent_id}",
                                                profile=agent_profile()))
                _, tokens[agent_id] = await users.create_user(f"agent-{agent_id}", "agent", agent_id,
                                                              expires_at=expires)

        await asyncio.gather(*(one(agent_id) for agent_id in ids))
    return loaded, tokens


@dataclass(frozen=True, slots=True)
class LeaderOffer:
    """An offer the leader made, read from its interaction row: the call, the agent offered it (the ``offered``
    decision's winner), and the decision's time (the leader's wall clock)."""

    call_id: str
    agent_id: str
    caller_number: str
    decided_at: datetime


def leader_offers(rows: list[Any]) -> list[LeaderOffer]:
    """Every offer in ``rows`` (interaction records), in the order made: one per ``offered`` decision, so a call
    offered twice (ring, no answer, another agent) counts twice."""
    found: list[LeaderOffer] = []
    for row in rows:
        decisions = (row.routing or {}).get("decisions") or []
        for decision in decisions:
            if decision.get("kind") == "offered" and decision.get("winner"):
                found.append(LeaderOffer(row.call_id, str(decision["winner"]), row.caller_number,
                                         datetime.fromisoformat(str(decision["at"]))))
    found.sort(key=lambda offer: offer.decided_at)
    return found


def analyse_cluster(offers: list[LeaderOffer], desktops: dict[str, Desktop], since: dict[str, int], offset: float,
                    expected: dict[str, str | None], front_of: dict[str, str]) -> dict[str, Any]:
    """Each of the leader's offers matched with the frames its agent's desktop received (those before ``since``
    are an earlier phase's; an agent offered the same call twice: its n-th pop for the n-th offer).

    t0 is the pop's own ``offered_at`` (the leader's wall clock when the Offer reached the screen pop: the
    in-process benchmark's t0) on this machine's perf_counter (``offset``: :func:`bench._fronts.clock_offset`); the
    ``call`` frame (state ringing) of the same offer is timed from the same t0. ``expected`` maps a caller's number
    (normalised) to the customer the pop must carry (None: no customer); ``front_of`` an agent to the URL their
    desktop is on."""
    pop_s: list[float] = []
    call_s: list[float] = []
    pop_minus_call_s: list[float] = []
    by_kind: dict[str, list[float]] = {"known": [], "unknown": []}
    by_front: dict[str, list[float]] = defaultdict(list)
    stamp_minus_decision_s: list[float] = []
    missing_pop: list[str] = []
    missing_call: list[str] = []
    missing_by_front: Counter[str] = Counter()
    sizes: list[int] = []
    negative = unstamped = with_record = mismatched = errors = ahead = 0
    offered_to: dict[str, set[str]] = defaultdict(set)
    wanted: Counter[tuple[str, str]] = Counter()
    for offer in offers:
        offered_to[offer.call_id].add(offer.agent_id)
        wanted[(offer.call_id, offer.agent_id)] += 1
    matched: Counter[tuple[str, str]] = Counter()
    for offer in offers:
        key = (offer.call_id, offer.agent_id)
        nth = matched[key]
        matched[key] += 1
        desktop = desktops.get(offer.agent_id)
        frames = desktop.frames[since.get(offer.agent_id, 0):] if desktop else []
        pops = [i for i, f in enumerate(frames) if f.type == "offer" and f.call_id == offer.call_id]
        rings = [i for i, f in enumerate(frames) if f.type == "call" and f.call_id == offer.call_id
                 and f.state == "ringing"]
        pop = frames[pops[nth]] if nth < len(pops) else None
        ring = frames[rings[nth]] if nth < len(rings) else None
        if pop is not None and ring is not None and pops[nth] < rings[nth]:
            ahead += 1
        front = front_of.get(offer.agent_id, "?")
        t0: float | None = None
        if pop is None:
            missing_pop.append(offer.call_id)
            missing_by_front[front] += 1
        elif pop.offered_at is None:
            unstamped += 1
        else:
            t0 = wall_to_pc(pop.offered_at, offset)
            stamp_minus_decision_s.append((datetime.fromisoformat(pop.offered_at) - offer.decided_at).total_seconds())
            took = pop.t - t0
            negative += took < 0
            pop_s.append(took)
            by_front[front].append(took)
            want = expected.get(normalize_phone(offer.caller_number) or offer.caller_number, "?")
            by_kind["unknown" if want is None else "known"].append(took)
        if pop is not None:
            sizes.append(pop.size)
            want = expected.get(normalize_phone(offer.caller_number) or offer.caller_number, "?")
            errors += pop.error is not None
            with_record += pop.customer_id is not None
            mismatched += want != "?" and pop.customer_id != want
        if ring is None:
            missing_call.append(offer.call_id)
        else:
            t0_ring = t0 if t0 is not None else (wall_to_pc(ring.offered_at, offset) if ring.offered_at else None)
            if t0_ring is not None:
                call_s.append(ring.t - t0_ring)
            if pop is not None:
                pop_minus_call_s.append(pop.t - ring.t)
    wrong: Counter[str] = Counter()
    unknown_calls = duplicates = 0
    for desktop in desktops.values():
        seen: Counter[str | None] = Counter()
        for f in desktop.frames[since.get(desktop.agent_id, 0):]:
            if f.type in ("offer", "call"):
                if f.call_id not in offered_to:
                    unknown_calls += 1  # a call with no row of this phase: not the leader's offer to anyone here
                elif desktop.agent_id not in offered_to[f.call_id]:
                    wrong[f.type] += 1
            elif f.type == "agent" and f.agent_id != desktop.agent_id:
                wrong[f.type] += 1
            if f.type == "offer":
                seen[f.call_id] += 1
        # More pops of a call than offers of it to this agent (a pop at an agent never offered it is a wrong one).
        duplicates += sum(max(0, n - wanted[(call_id or "", desktop.agent_id)]) for call_id, n in seen.items()
                          if desktop.agent_id in offered_to.get(call_id or "", ()))
    latency = summary_ms(pop_s)
    return {
        "offers": len(offers),
        "calls_offered": len(offered_to),
        "pop_latency_ms": latency,
        "call_frame_baseline_ms": summary_ms(call_s),
        "pop_minus_call_frame_ms": summary_ms(pop_minus_call_s),
        "pop_latency_by_caller_ms": {k: summary_ms(v) for k, v in by_kind.items()},
        "per_front_end": {url: {"pops": len(by_front[url]), "pops_missing": missing_by_front[url],
                                "pop_latency_ms": summary_ms(by_front[url])}
                          for url in sorted(set(front_of.values()))},
        "pops_missing": len(missing_pop),
        "pops_missing_call_ids": missing_pop[:10],
        # One socket keeps the topic's order: a pop ahead of its call frame was published before it, so built in
        # the Offer's own step (ScreenPop._offered, all its inputs cached); one behind it, in a task after reads.
        "pops_ahead_of_their_call_frame": ahead,
        "pops_without_offered_at": unstamped,
        "pops_before_their_offer": negative,
        "offered_at_minus_decision_ms": summary_ms(stamp_minus_decision_s, 3),
        "call_frames_missing": len(missing_call),
        "frames_to_wrong_desktop": sum(wrong.values()),
        "frames_to_wrong_desktop_by_type": dict(wrong),
        "frames_for_calls_without_a_row": unknown_calls,
        "duplicate_pops": duplicates,
        "pops_with_crm_record": with_record,
        "pops_customer_mismatch": mismatched,
        "pops_with_error": errors,
        "pop_frame_bytes": {"mean": round(sum(sizes) / len(sizes)) if sizes else None,
                            "max": max(sizes) if sizes else None},
        "meets_target": (latency["p99"] is not None and latency["p99"] < TARGET_P99_MS_CLUSTER and not missing_pop
                         and not unstamped and len(pop_s) == len(offers)),
    }


def log_warnings(text: str) -> dict[str, int]:
    """What a controller's or front end's log (``%(asctime)s %(levelname)s %(name)s: %(message)s``) warned of: the
    callers the CRM did not identify in time on arrival, the screen pop's warnings, the lease's news (leading,
    standing by), the other warnings and errors."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        parts = line.split(" ", 4)
        level = parts[2] if len(parts) > 3 else ""
        if level not in ("WARNING", "ERROR", "CRITICAL"):
            continue
        if "not identified" in line:
            counts["callers_not_identified_on_arrival"] += 1
        elif len(parts) > 3 and parts[3] in ("cti:", "cti.cluster:") and ("leading" in line or "standing by" in line):
            counts["leadership"] += 1  # said at WARNING so that it shows, not a fault
        elif len(parts) > 3 and parts[3].startswith("cti.services.screenpop"):
            counts["screenpop_warnings"] += 1
        else:
            counts["errors" if level != "WARNING" else "warnings"] += 1
    return dict(counts)


class PhaseCpu(FrontsCpu):
    """bench/_fronts.py's meter, the SIPp callers included: they are this process's only children reaped during a
    phase (the client processes and phones run to the end), so their CPU is in its children's times."""

    def _sample(self) -> dict[str, float]:
        sample = super()._sample()
        me = os.times()
        sample["sipp"] += me.children_user + me.children_system
        return sample


class FrontsBench:
    """The screen pop against the cluster's own cti (bench/_fronts.py): agents and the CRM seeded in its database
    before its controllers start, the API through haproxy (forwarded to the leader), the desktops in client
    processes on the front ends, the SIPp phones homed on the nodes in turn, the callers through Kamailio. Nothing
    of cti runs in this process."""

    def __init__(self, args: argparse.Namespace, cluster: Cluster, info: dict[str, Any]) -> None:
        self.args, self.cluster, self.info = args, cluster, info
        self.base_url = str(info["web"]["url"])
        self.urls = targets(info, args.via)
        self.http = ClientSession(headers={"Authorization": f"Bearer {info['cti']['admin_token']}"})
        self.phones: list[SippAgent] = []
        self.callers: Callers | None = None
        self.desktops: dict[str, Desktop] = {}
        self.remote = RemoteDesktops(args.client_processes)
        self.front_of: dict[str, str] = {}
        self.db = Database(str(info["postgres"]["url"]))

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        async with self.http.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {str(data)[:300]}")
            return data

    async def counters(self) -> dict[str, float]:
        """The leader's counters (``/metrics``, forwarded to it)."""
        return counters(await self.api("GET", "/metrics"),
                        ("calls_arrived", "calls_bridged", "offers", "offers_failed", "calls_shed"))

    async def start_phones(self, extensions: list[str]) -> None:
        base = int(self.info["sim_agent_port_base"])
        self.phones = [SippAgent(base + int(ext) - 7000, ring_ms=self.args.ring_ms, talk_ms=self.args.talk_ms)
                       for ext in extensions]
        await asyncio.sleep(1.0)
        dead = [ext for ext, p in zip(extensions, self.phones, strict=True) if not p.running]
        if dead:
            raise RuntimeError(f"SIPp agent phones exited at start: {dead}: {self.phones[0].errors()[-500:]}")

    async def login(self, ids: list[str], extensions: list[str]) -> None:
        for agent_id, ext in zip(ids, extensions, strict=True):
            view = await self.api("POST", f"/api/agents/{agent_id}/login", {"extension": ext, "ready": True})
            if view["state"] != "ready":
                raise RuntimeError(f"agent {agent_id} not ready after logging in: {view['state']}")

    async def open_desktops(self, tokens: dict[str, str]) -> float:
        started = time.perf_counter()
        indexed = [(n, agent_id, tokens[agent_id]) for n, agent_id in enumerate(tokens)]
        self.front_of = {agent_id: self.urls[n % len(self.urls)] for n, agent_id, _ in indexed}
        await self.remote.open(self.urls, indexed, self.desktops, concurrency=self.args.connect_concurrency)
        bad = [d.agent_id for d in self.desktops.values() if not d.frames or d.frames[0].type != "snapshot"]
        if bad:
            raise RuntimeError(f"{len(bad)} desktops whose first frame is not a snapshot: {bad[:5]}")
        return time.perf_counter() - started

    def sipp_pids(self) -> list[int]:
        phones = [p.proc.pid for p in self.phones if p.proc is not None]
        return phones + ([self.callers.proc.pid] if self.callers is not None else [])

    async def rows_since(self, wall_start: float, calls: int, timeout: float = 60.0) -> list[Any]:
        """The leader's interaction rows of calls arrived since ``wall_start`` once ``calls`` of them have ended
        (the journal writes a row when its call ends), or what there is after ``timeout``."""
        deadline = time.monotonic() + timeout
        repo = InteractionRepository(self.db)
        while True:
            await self.db.start()  # idempotent
            rows = [r for r in await repo.list(limit=100_000) if r.arrived_at.timestamp() >= wall_start - 1]
            ended = [r for r in rows if r.outcome is not None]
            if len(ended) >= calls or time.monotonic() > deadline:
                if len(ended) < calls:
                    say(f"  {len(ended)} of {calls} calls ended in the leader's rows after {timeout:.0f} s")
                return rows
            await asyncio.sleep(0.5)

    async def calls(self, numbers: list[str], rate: float, label: str) -> dict[str, Any]:
        say(f"{label}: {len(numbers)} calls at {rate:g}/s through Kamailio")
        started = time.monotonic()
        self.callers = Callers(numbers, rate=rate, duration_ms=self.args.caller_ms,
                               target=str(self.info["kamailio"]["sip"]))
        try:
            limit = len(numbers) / rate + self.args.caller_ms / 1000 + 60
            while self.callers.running and time.monotonic() - started < limit:  # noqa: ASYNC110
                await asyncio.sleep(0.25)
            if self.callers.running:
                say(f"  SIPp callers still running after {limit:.0f} s: stopping them")
            exit_code = self.callers.proc.poll()
            errors = self.callers.errors()
        finally:
            self.callers.stop()
            self.callers = None
        return {"sipp_exit": exit_code, "sipp_errors_tail": errors[-300:] if exit_code else "",
                "wall_s": round(time.monotonic() - started, 1)}

    async def phase(self, numbers: list[str], rate: float, label: str,
                    expected: dict[str, str | None]) -> dict[str, Any]:
        """One batch of calls and its analysis, from the leader's rows and the desktops' frames."""
        await self.remote.collect(self.desktops)
        marks = {a: len(d.frames) for a, d in self.desktops.items()}
        wall_start, offset = time.time(), clock_offset()
        before = await self.counters()
        meter = PhaseCpu(self.cluster, self.sipp_pids(), self.remote.pids)
        sipp = await self.calls(numbers, rate, label)
        cpu = meter.cores()
        rows = await self.rows_since(wall_start, len(numbers))
        await asyncio.sleep(1.0)  # the last frames on their way
        await self.remote.collect(self.desktops)
        after = await self.counters()
        offers = leader_offers(rows)
        result = analyse_cluster(offers, self.desktops, marks, offset, expected, self.front_of)
        result.update({"rows": len(rows), "outcomes": dict(Counter(str(r.outcome) for r in rows)),
                       "wrap_ups_ended_by_desktops_so_far": self.remote.wrap_ups,
                       "leader_counters": {k: round(after[k] - before[k]) for k in after},
                       "sipp": sipp, "cpu_cores": cpu})
        p, b = result["pop_latency_ms"], result["call_frame_baseline_ms"]
        ahead = result["pops_ahead_of_their_call_frame"]
        say(f"  pops {p['n']}/{result['offers']} offers of {len(rows)} rows ({ahead} ahead of their call frame); "
            f"pop p50 {p['p50']} p99 {p['p99']} max {p['max']} ms; call frame p50 {b['p50']} p99 {b['p99']} ms; "
            f"missing {result['pops_missing']}, wrong "
            f"desktop {result['frames_to_wrong_desktop']}; cores: controllers "
            f"{round(sum(v for k, v in cpu.items() if k.startswith('cti-')), 2)}, front ends "
            f"{round(sum(v for k, v in cpu.items() if k.startswith('front-')), 2)}, client processes "
            f"{cpu['client_processes']}, machine {cpu['machine']}")
        return result

    def warnings(self) -> dict[str, dict[str, int]]:
        found = {}
        for name in self.cluster.names():
            if name.startswith(("cti-", "front-")):
                path = self.cluster.dir / "log" / f"{name}.log"
                with contextlib.suppress(OSError):
                    found[name] = log_warnings(path.read_text(errors="replace"))
        return found

    async def shut_down(self) -> None:
        """Callers, desktops, phones, the HTTP session and the database's connections: whatever the run got to."""
        if self.callers is not None:
            self.callers.stop()
        self.remote.close()
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.stop()
        await self.http.close()
        with contextlib.suppress(Exception):
            await self.db.close()


async def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    """``--cluster``: the screen pop at the cluster's front ends (docs/benchmarks.md, "On the cluster's front ends")."""
    t0 = time.monotonic()
    cancel_on_signals()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-screenpop-", dir="/tmp"))
    ids = agent_ids(args.desktops)
    dataset = generate(now=datetime.now(UTC), customers=args.customers, seed=args.seed)
    seeded: dict[str, Any] = {}

    def seed(url: str) -> None:
        say(f"  seeding {args.customers} CRM customers and {len(ids)} agents with their logins")
        started = time.monotonic()
        seeded["customers"], seeded["tokens"] = asyncio.run(seed_database(url, dataset, ids, token_days=1))
        seeded["seconds"] = round(time.monotonic() - started, 1)
        say(f"  seeded in {seeded['seconds']} s")

    out: dict[str, Any] = {}
    bench: FrontsBench | None = None
    cluster: SeededCluster | None = None
    starting: asyncio.Task[None] | None = None
    try:
        if open_files_for(args.desktops) < 2 * args.desktops + 1024:
            say(f"the open-file limit ({resource.getrlimit(resource.RLIMIT_NOFILE)[0]}) is below what "
                f"{args.desktops} desktops through haproxy need: raise the hard limit (ulimit -Hn)")
        cluster = SeededCluster(fronts_cluster(args, tmp, args.agents).plan, seed)
        say(f"starting a private cluster in {cluster.dir} (port offset {args.cluster_port_offset}, RTP from "
            f"{args.cluster_rtp_base}, {args.cluster_controllers} controllers, {args.fronts} front ends)")
        # The seeding runs inside the start, before the controllers: its time counts against the start's.
        starting = asyncio.create_task(asyncio.to_thread(cluster.start, 180 + args.desktops / 50,
                                                         lambda line: say(f"  {line}")))
        await asyncio.shield(starting)  # interrupted, the start still ends before the cluster is stopped
        if seeded.get("customers") != args.customers:
            raise RuntimeError(f"seeded {seeded.get('customers')} CRM customers, expected {args.customers}")
        info = description(cluster)
        bench = FrontsBench(args, cluster, info)
        extensions = homed_in_turn(info, args.agents)
        await bench.start_phones(extensions)
        await bench.login(ids[:args.agents], extensions)
        say(f"{args.agents} agents ready at {', '.join(extensions[:4])}... (ring {args.ring_ms} ms, talk "
            f"{args.talk_ms} ms); connecting {args.desktops} desktops in "
            f"{min(args.client_processes, args.desktops)} client processes to {', '.join(bench.urls)}")
        connect_s = await bench.open_desktops(seeded["tokens"])
        say(f"  connected in {connect_s:.1f} s ({bench.remote.connect_retries} handshakes tried again after a 503)")
        idle = FrontsCpu(cluster, bench.sipp_pids(), bench.remote.pids)
        await asyncio.sleep(args.idle_s)
        idle_cores = idle.cores()
        rng = random.Random(args.seed)
        plan = caller_numbers(dataset, args.warmup + args.calls, args.unknown, rng)
        expected = {normalize_phone(n) or n: c for n, c in plan}
        warm, measured = plan[:args.warmup], plan[args.warmup:]
        warm_result = None
        if warm:
            warm_result = await bench.phase([n for n, _ in warm], min(args.rate, 5.0), "warm-up (not measured)",
                                            expected)
        result = await bench.phase([n for n, _ in measured], args.rate, "measured", expected)
        lost = [d.agent_id for d in bench.desktops.values() if d.closed_by_server]
        out = {
            "benchmark": "screenpop",
            "mode": "cluster",
            "target_p99_ms": TARGET_P99_MS_CLUSTER,
            "meets_target": result.pop("meets_target"),
            **run_header(args, len(bench.desktops), measured, warm),
            **result,
            "warmup": None if warm_result is None else {k: warm_result[k] for k in (
                "offers", "rows", "pop_latency_ms", "pops_missing", "frames_to_wrong_desktop")},
            "setup": {
                "seed_s": seeded.get("seconds"), "connect_s": round(connect_s, 1),
                "connect_retries_after_503": bench.remote.connect_retries,
                "client_processes": len(bench.remote.pids), "connect_concurrency": args.connect_concurrency,
                "via": args.via, "desktops_by_target": per_target(len(ids), bench.urls),
                "controllers": args.cluster_controllers, "front_ends": args.fronts,
                "cluster_port_offset": args.cluster_port_offset, "cluster_rtp_base": args.cluster_rtp_base,
            },
            "desktops_closed_by_server": len(lost),
            "cpu_cores_idle_before_calls": idle_cores,
            "cti_warnings": bench.warnings(),
            # Measured only by hooks inside an in-process cti: nothing of cti runs in this process here.
            "server_split_ms": None, "server_screenpop_latency_ms": None, "pops_built_in_the_offers_step": None,
            "pops_in_flight": None, "gc_pauses": None, "profile": None,
            "asterisk": "cluster nodes " + ", ".join(n["name"] for n in info["nodes"]),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "loadavg_at_start": args.loadavg_at_start,
                        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "method": (
                "cti as the cluster runs it: controllers (one leads) and front ends relaying its frame stream, each "
                "its own process; the agents, their logins and the CRM seeded in the cluster's PostgreSQL before the "
                "controllers start. The offers that should pop are the leader's: every 'offered' decision in its "
                "interaction rows of the phase's calls (agent = the decision's winner). t0 = the pop's own "
                "offered_at (the leader's wall clock when the Offer reached the screen pop, the in-process t0) put "
                "on this machine's CLOCK_MONOTONIC by an offset read in the benchmark's process at the phase's "
                "start; t1 = CLOCK_MONOTONIC (perf_counter, one clock for every process) when the agent's desktop, "
                "in a client process, receives the 'offer' frame of that call. Baseline: the 'call' frame (state "
                "ringing) of the same offer, from the same t0. Desktop idx connects to targets[idx % len]. Warm-up "
                "calls are not measured."),
        }
    finally:
        say("cleaning up")
        await end_cluster_run(bench, cluster, starting, tmp, args.keep_logs, say)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = 0.0
    return out


def _code_group(filename: str) -> str:
    """Which code a function belongs to: a cti package, a third-party package, the standard library."""
    path = filename.replace(os.sep, "/")
    if path.startswith("~") or path.startswith("<"):
        return "builtins (C)"
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/cti/" in path:
        parts = path.split("/cti/", 1)[1].split("/")
        return "cti/" + (parts[0] if len(parts) > 1 else parts[0].removesuffix(".py"))
    if path.endswith("/bench/screenpop.py"):
        return "bench (desktop clients, observer)"
    parts = path.split("/lib/python3", 1)
    if len(parts) == 2:
        return "stdlib/" + parts[1].split("/", 2)[1].removesuffix(".py")
    return "other"


def _cprofile_top(profiler: cProfile.Profile, n: int) -> dict[str, Any]:
    """The event-loop thread's busy time by own time: per function, and per code group (cti package,
    library). cProfile slows everything down, so read shares, not absolute times."""
    stats = pstats.Stats(profiler)
    rows = []
    groups: Counter[str] = Counter()
    busy = 0.0
    for (filename, line, func), (_cc, calls, tottime, _cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == "<method 'poll' of 'select.epoll' objects>":
            continue  # waiting for I/O: idle
        busy += tottime
        groups[_code_group(filename)] += tottime
        rows.append({"function": f"{Path(filename).name}:{line}({func})", "calls": calls,
                     "tottime_s": round(tottime, 4)})
    by_own = sorted(rows, key=lambda r: -r["tottime_s"])[:n]
    say(f"cProfile, event-loop thread: {busy:.2f} s busy; by code:")
    for name, t in groups.most_common(n):
        say(f"  {t:8.3f} s {100 * t / busy:5.1f} %  {name}")
    say("top functions by own time:")
    for r in by_own:
        say(f"  {r['tottime_s']:8.3f} s {r['calls']:8d}  {r['function']}")
    return {"busy_s": round(busy, 2),
            "by_code_pct": {name: round(100 * t / busy, 1) for name, t in groups.most_common(n)},
            "by_own_time": by_own}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--calls", type=int, default=200, help="measured calls")
    p.add_argument("--rate", type=float, default=10, help="calls per second")
    p.add_argument("--desktops", type=int, default=200, help="agents created, each with its desktop websocket open")
    p.add_argument("--agents", type=int, default=20, help="of those, agents logged in ready with a SIPp phone")
    p.add_argument("--ring-ms", type=int, default=100, help="phones ring this long before answering")
    p.add_argument("--talk-ms", type=int, default=1000, help="phones hang up after talking this long")
    p.add_argument("--caller-ms", type=int, default=30000, help="a caller gives up this long after being answered")
    p.add_argument("--customers", type=int, default=1000, help="seeded CRM customers")
    p.add_argument("--unknown", type=float, default=0.1, help="share of calls from numbers not in the CRM")
    p.add_argument("--warmup", type=int, default=10, help="calls before the measured ones (not measured)")
    p.add_argument("--idle-s", type=float, default=5, help="seconds of CPU measurement with no call, before the calls")
    p.add_argument("--seed", type=int, default=1, help="CRM data and caller order")
    p.add_argument("--profile", action="store_true",
                   help="time each step of the pop's build and the event loop's lag (wraps functions in-process)")
    p.add_argument("--isolated", type=int, default=200,
                   help="with --profile: pops built one at a time after the calls, nothing else running")
    p.add_argument("--cprofile", type=int, default=0, metavar="N",
                   help="cProfile the event-loop thread during the measured calls; report the top N functions")
    p.add_argument("--client-processes", type=int, default=None,
                   help="the desktops read in this many other processes, as browsers would (default 1; with "
                        "--cluster one per 1,000 desktops); 0: in this one")
    p.add_argument("--connect-concurrency", type=int, default=25, help="desktops connecting at once (--cluster)")
    p.add_argument("--keep-logs", action="store_true",
                   help="--cluster: keep the work directory (the cluster's logs, SIPp's)")
    p.add_argument("--desktop-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="smoke run: 30 calls, 3 warm-up calls")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    add_cluster_args(p)
    args = p.parse_args(argv)
    if args.client_processes is None:
        args.client_processes = max(1, math.ceil(args.desktops / DESKTOPS_PER_CLIENT)) if args.cluster else 1
    if args.quick:
        args.calls, args.warmup = min(args.calls, 30), min(args.warmup, 3)
    if not 0 < args.agents <= min(args.desktops, 500):
        p.error("--agents must be between 1 and min(--desktops, 500)")
    if args.cluster:
        if args.client_processes < 1:
            p.error("--cluster: the desktops run in client processes (--client-processes 1 or more)")
        if args.agents > 198:
            p.error("--cluster: at most 198 agents with phones (99 phones a node)")
        if args.profile or args.cprofile:
            p.error("--cluster: --profile and --cprofile time an in-process cti")
    elif args.client_processes > 1:
        p.error("--client-processes: 0 or 1 without --cluster")
    args.loadavg_at_start = [round(x, 2) for x in os.getloadavg()]
    if not 0 <= args.unknown <= 1:
        p.error("--unknown is a share between 0 and 1")
    if args.customers < 6:
        p.error("--customers must be at least 6 (the fixed seeded customers)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.desktop_worker:
        asyncio.run(desktop_worker())
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = asyncio.run(run_cluster(args) if args.cluster else run(args))
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
