"""Supervisor-dashboard benchmark: agent state change -> 'stats' frame at N connected dashboards, calls flowing.

Run from the repository root inside the venv::

    python bench/dashboard.py            # default run: 500 dashboards, 5 calls/s (about 3 minutes)
    python bench/dashboard.py --quick    # smoke run (under a minute)

It starts everything it needs (the shared Asterisk root with its own settings, cti in-process with a fresh
SQLite database and its own Redis prefix, SIPp agents and callers, the dashboards as websocket clients in
this process), measures, cleans up, and prints one JSON object as the last line of stdout. Progress goes to
stderr. See docs/benchmarks.md, "Supervisor dashboard".

Method:

* Traffic: ``--agents`` SIPp agents (7001..) answer after ``--ring-ms`` and hang up after ``--talk-ms``;
  SIPp callers dial three service numbers (queues care, sales, billing) at ``--rate`` calls/s in all.
* Dashboards: ``--dashboards`` websocket clients on ``/ws/dashboard``: most with the admin token (scope
  'all'), a fraction (``--supervisor-share``) as supervisors with one of three scopes, so four topics are
  published. Each client connects, waits for its snapshot, then reads every frame.
* State changes at known instants: every ``--change-every`` seconds one of ``--probes`` extra agents (team
  ``probe``, a skill no queue needs, so never offered a call; every scope includes the team) is switched
  through the API (``POST /api/agents/{id}/state``): ready, or not ready with a unique reason ``b<n>``.
  t0 = ``time.perf_counter()`` in an extra controller observer when the change's ``AgentChanged`` command
  is applied (the request's send time is kept too).
* t1, per dashboard: ``perf_counter()`` when the client receives the first 'stats' frame whose agents grid
  holds that agent's entry exactly as the change left it (state, reason, since): a substring search of the
  raw frame for the entry's JSON text, registered with every client at t0. One client per topic also
  parses every frame with ``json.loads`` and checks the grid the slow way (``verify``: must agree), which
  also gives the cost of a full parse per frame.
* Latency = t1 - t0 over every (change, dashboard) pair. A pair never seen (the agent changed again, or the
  run ended, first) is a missed frame. The same state changes with a single dashboard run first, as the
  in-run baseline.
* Where the time goes: the benchmark wraps (at run time, no change to cti) ``LiveStats.snapshot``, the feed's
  ``view_for`` and ``Hub.publish`` (with its ``json.dumps``) to time every publish cycle. The pair's
  latency splits into: t0 -> the feed starts the next publish cycle (its ``min_interval`` pacing), that
  cycle's snapshot + views + serialisation up to the topic's frame, and frame published -> received
  (websocket sends to every subscriber and the clients' reads, all on this one event loop). Every garbage
  collection is timed (``gc.callbacks``), and changes with a full collection under way are reported apart.
  A last, profiled phase (cProfile, its latencies not reported) splits the process's CPU by component.
* ``--client-processes N`` moves the dashboards into N other processes (``perf_counter`` is
  CLOCK_MONOTONIC, one clock for the machine): what the server alone costs, without the clients' reads on
  its event loop. ``--compress`` makes the clients offer permessage-deflate, as browsers do.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import cProfile
import gc
import json
import logging
import math
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
if str(REPO) not in sys.path:  # `python bench/dashboard.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from aiohttp import ClientSession, ClientWebSocketResponse, TCPConnector, WSMsgType, web  # noqa: E402

import cti.controller.stats_feed as stats_feed_module  # noqa: E402
import cti.web.sockets as sockets_module  # noqa: E402
from cti.asterisk import AsteriskRoot  # noqa: E402
from cti.bootstrap import create_app  # noqa: E402
from cti.calls import AgentChanged, Command  # noqa: E402
from cti.controller import CallController  # noqa: E402
from cti.controller.stats_feed import StatsFeed, dashboard_topic, scope_of  # noqa: E402
from cti.controller.stats_feed import view_for as original_view_for  # noqa: E402
from cti.routing import Agent, AgentState  # noqa: E402
from cti.settings import Settings, load_settings  # noqa: E402
from cti.sim.sipp import SCENARIOS, SippAgent, free_udp_port, sipp_binary  # noqa: E402
from cti.web import CONTROLLER, HUB, STATS  # noqa: E402

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_P99_MS = 200.0
NAN = float("nan")
pc = time.perf_counter

QUEUES = {"care": ("1500100", 0.5), "sales": ("1500200", 0.3), "billing": ("1500300", 0.2)}  # number, traffic
TEAMS = ("jakarta", "surabaya", "medan", "bali")
PROBE_TEAM = "probe"
RULES = {
    "queues": {q: {"skills": {q: 1}} for q in QUEUES},
    "routes": [{"name": q, "when": {"service_number": number}, "queue": q}
               for q, (number, _) in QUEUES.items() if q != "care"] + [{"name": "care", "queue": "care"}],
    "default_queue": "care",
}
# The supervisors' scopes (every one includes the probe team, so every dashboard sees every timed change).
SCOPES = (
    {"queues": ["care"], "teams": [PROBE_TEAM]},
    {"queues": ["billing", "sales"], "teams": [PROBE_TEAM]},
    {"queues": [], "teams": ["jakarta", "surabaya", PROBE_TEAM]},
)


class LogCounter(logging.Filter):
    """Counts log records starting with a prefix (and keeps them off stderr: they come by the hundred)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix, self.count = prefix, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(self.prefix):
            self.count += 1
            return False
        return True


# The feed's "statistics skipped CallChanged: time went backwards" (a command older than its last snapshot),
# and the controller's "caller ... not identified" (the CRM lookup's 2 s timeout ran out).
SKIPPED = LogCounter("statistics skipped")
NOT_IDENTIFIED = LogCounter("caller ")
POOL_RESET = LogCounter("Exception during reset")  # SQLAlchemy: a cancelled (timed-out) query's connection


class GcPauses:
    """Every garbage collection of this process: (perf_counter at start, generation, seconds)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = pc()
        else:
            self.pauses.append((self._start, info["generation"], pc() - self._start))

    def between(self, t0: float, t1: float) -> dict[str, Any]:
        mine = [p for p in self.pauses if t0 <= p[0] < t1]
        full = [d for _, g, d in mine if g == 2]
        return {"collections": len(mine), "total_ms": round(1000 * sum(d for *_, d in mine), 1),
                "max_ms": round(1000 * max((d for *_, d in mine), default=0.0), 1),
                "gen2": len(full), "gen2_max_ms": round(1000 * max(full, default=0.0), 1)}


GC = GcPauses()


def say(message: str) -> None:
    print(f"[dashboard {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- numbers ----------------------------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summary_ms(values: list[float], digits: int = 1) -> dict[str, Any]:
    """p50/p90/p99/max/mean in milliseconds of values in seconds."""
    ms = [v * 1000 for v in values]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {"n": len(ms), "p50": r(percentile(ms, 50)), "p90": r(percentile(ms, 90)),
            "p99": r(percentile(ms, 99)), "max": r(max(ms) if ms else None),
            "mean": r(sum(ms) / len(ms) if ms else None)}


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _machine_busy() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


class CpuMeter:
    """CPU use in cores over a period: Asterisk, this process (cti, and the dashboards unless they run in
    client processes), SIPp, the client processes, everything else on the machine."""

    def __init__(self, asterisk_pid: int, sipp_pids: list[int], client_pids: list[int]) -> None:
        self.asterisk_pid, self.sipp_pids, self.client_pids = asterisk_pid, sipp_pids, client_pids
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        me = os.times()
        return {"asterisk": _proc_cpu(self.asterisk_pid), "bench_process": me.user + me.system,
                "sipp": sum(_proc_cpu(p) for p in self.sipp_pids),
                "client_processes": sum(_proc_cpu(p) for p in self.client_pids), "machine": _machine_busy(),
                "wall": time.monotonic()}

    def result(self) -> dict[str, float]:
        end = self._sample()
        d = {k: end[k] - self.start[k] for k in end}
        wall = d.pop("wall")
        d["other"] = max(0.0, d["machine"] - d["asterisk"] - d["bench_process"] - d["sipp"] - d["client_processes"])
        return {k: round(v / wall, 2) for k, v in d.items()}


# -- the system under test ----------------------------------------------------------------------------------

def redis_url() -> tuple[str, subprocess.Popen[bytes] | None]:
    """The machine's Redis on 6379, or a private throwaway one."""
    def is_open(port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    if is_open(6379):
        return "redis://127.0.0.1:6379/0", None
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("no Redis on 127.0.0.1:6379 and redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not is_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("could not start a private redis-server")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


async def _drop_redis_keys(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class Callers:
    """One SIPp caller per service number, together ``rate`` calls/s in the queues' traffic shares."""

    def __init__(self, rate: float, duration_ms: int, workdir: Path) -> None:
        scenario = workdir / "caller.xml"
        scenario.write_text((SCENARIOS / "caller.xml").read_text().replace("@DURATION_MS@", str(duration_ms)))
        self.procs: list[subprocess.Popen[bytes]] = []
        for n, (number, share) in enumerate(QUEUES.values()):
            r = rate * share
            calls = math.ceil(r * 3600)  # stopped by the benchmark long before
            out = (workdir / f"caller-{number}.out").open("wb")
            self.procs.append(subprocess.Popen(
                [sipp_binary(), "127.0.0.1:5060", "-sf", str(scenario), "-s", number, "-i", "127.0.0.1",
                 "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-m", str(calls), "-r", f"{r:g}",
                 "-rp", "1000", "-l", str(calls), "-set", "caller", f"021555{n:04d}", "-set", "callername", "Bench",
                 "-f", "60", "-nostdin", "-trace_err", "-error_file", str(workdir / f"caller-{number}.err")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True))
            out.close()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


# -- what is timed -----------------------------------------------------------------------------------------

def frame_parts(view: dict[str, Any]) -> dict[str, int]:
    """Bytes of each part of a 'stats' frame: per window its per-queue and per-agent figures, the grid, the
    series."""
    def size(value: Any) -> int:
        return len(json.dumps(value, default=str, separators=(",", ":")))

    parts = {"agents_grid": size(view["agents"]), "series": size(view["series"])}
    for name, window in view["windows"].items():
        parts[f"window {name}: agents"] = size(window["agents"])
        parts[f"window {name}: queues + overall"] = size(window["queues"]) + size(window["overall"])
    return parts


def grid_entry(agent: Agent) -> str:
    """The agent's entry in a 'stats' frame's agents grid, as the hub serialises it (view_for's keys, compact)."""
    return json.dumps({"agent_id": agent.agent_id, "name": agent.name, "state": agent.state.value,
                       "reason": agent.reason, "team": agent.team, "site": agent.site,
                       "since": agent.state_since.isoformat() if agent.state_since else None,
                       "call_id": agent.call_id}, separators=(",", ":"), default=str)


@dataclass(eq=False, slots=True)
class Change:
    idx: int
    phase: str
    agent_id: str
    t_request: float
    t_applied: float = NAN
    state: str = ""
    reason: str | None = None
    since: str = ""
    key: str = ""
    error: str | None = None  # the API refused or failed the change (overload): not timed
    recv: array = field(default_factory=lambda: array("d"))  # per client: perf_counter at receipt, or nan
    seq: array = field(default_factory=lambda: array("l"))  # per client: the frame's seq


class Client:
    """One dashboard: a websocket reader recording when each 'stats' frame and each timed change arrives."""

    __slots__ = ("check_s", "close_code", "closed", "frames", "idx", "on_verify", "pending", "ready", "seqs",
                 "task", "times", "topic", "ws")

    def __init__(self, idx: int, topic: str, ws: ClientWebSocketResponse | None,
                 on_verify: Callable[[Client, str], None] | None = None) -> None:
        self.idx, self.topic, self.ws, self.on_verify = idx, topic, ws, on_verify
        self.pending: list[Change] = []
        self.seqs = array("l")
        self.times = array("d")
        self.check_s = 0.0
        self.frames = 0
        self.closed: float | None = None
        self.close_code: int | None = None
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        ws = self.ws
        assert ws is not None
        while True:
            msg = await ws.receive()
            t = pc()
            if msg.type is WSMsgType.TEXT:
                text: str = msg.data
                head = text[:48]
                if '"type":"stats"' in head:  # published frames: '{"seq":N,"type":"stats","data":...}'
                    seq = int(text[7:text.index(",", 7)])
                    self.seqs.append(seq)
                    self.times.append(t)
                    self.frames += 1
                    if self.pending:
                        for change in tuple(self.pending):
                            if change.key in text:
                                change.recv[self.idx] = t
                                change.seq[self.idx] = seq
                                self.pending.remove(change)
                    self.check_s += pc() - t
                    if self.on_verify is not None:
                        self.on_verify(self, text)
                elif '"snapshot"' in head:
                    self.ready.set()
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                self.closed, self.close_code = t, ws.close_code
                return


async def open_clients(session: ClientSession, url: str, specs: list[tuple[int, str, str]], *, compress: bool,
                       concurrency: int, verify: Callable[[Client, str], None] | None) -> list[Client]:
    """Connect the dashboards (idx, token, topic) and wait for each one's snapshot; the first client of each
    topic gets ``verify``."""
    verifiers: set[str] = set()
    sem = asyncio.Semaphore(concurrency)

    async def one(idx: int, token: str, topic: str) -> Client:
        async with sem:
            ws = await session.ws_connect(f"{url}/ws/dashboard?token={token}", compress=15 if compress else 0,
                                          max_msg_size=0, autoping=True)
            client = Client(idx, topic, ws, verify if topic not in verifiers else None)
            verifiers.add(topic)
            client.task = asyncio.create_task(client.run())
            await asyncio.wait_for(client.ready.wait(), 60)
            return client

    return list(await asyncio.gather(*(one(i, token, topic) for i, token, topic in specs)))


async def close_clients(clients: list[Client]) -> None:
    sem = asyncio.Semaphore(50)

    async def one(client: Client) -> None:
        async with sem:
            if client.ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.ws.close(), 5)
        if client.task is not None:
            client.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await client.task

    await asyncio.gather(*(one(c) for c in clients))


# -- dashboards in other processes (--client-processes) ---------------------------------------------------
# perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process on the machine, so a worker's
# receive times compare with the server's t0. A worker cannot search frames for changes it has not been told
# of, so one client per topic parses every frame and keeps the probe agents' grid entries by frame number;
# all subscribers of a topic get the same frame text, so (topic, seq) says what every one of them received.

async def worker_main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    probe: dict[str, list[Any]] = defaultdict(list)
    parse: dict[str, list[float]] = defaultdict(list)

    def verify(client: Client, text: str) -> None:
        t0 = pc()
        data = json.loads(text)
        parse[client.topic].append(pc() - t0)
        probe[client.topic].append([data["seq"], {a["agent_id"]: [a["state"], a["reason"], a["since"]]
                                                  for a in data["data"]["agents"] if a["team"] == PROBE_TEAM}])

    def emit(obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        clients = await open_clients(session, config["url"], [tuple(s) for s in config["specs"]],
                                     compress=config["compress"], concurrency=config["concurrency"],
                                     verify=verify)
        emit({"ready": len(clients)})
        while True:
            line = (await reader.readline()).strip()
            if line in (b"dump", b"stop", b""):
                emit({"clients": [[c.idx, c.topic, c.seqs.tolist(), c.times.tolist(), c.close_code, c.closed]
                                  for c in clients],
                      "probe": probe, "parse_s": parse, "frames": sum(c.frames for c in clients)})
                for c in clients:
                    c.seqs, c.times = array("l"), array("d")
                probe.clear()
                parse.clear()
            if line in (b"stop", b""):
                break
        await close_clients(clients)


class _TimedJson:
    """Stands in for the ``json`` module inside cti.web.sockets: times ``dumps`` during a traced publish."""

    def __init__(self, trace: ServerTrace) -> None:
        self.trace = trace
        self.loads = json.loads

    def dumps(self, *args: Any, **kwargs: Any) -> str:
        t0 = pc()
        text = json.dumps(*args, **kwargs)
        if self.trace.in_publish:
            self.trace.dumps_s += pc() - t0
        return text


class ServerTrace:
    """Times the feed's publish cycles by wrapping, at run time, LiveStats.snapshot, view_for and Hub.publish."""

    def __init__(self) -> None:
        # ("snap", t0, t1) | ("view", topic, t0, t1) | ("pub", topic, seq, t0, t1, dumps_s, bytes, subscribers)
        self.events: list[tuple[Any, ...]] = []
        self.in_publish = False
        self.dumps_s = 0.0
        self._undo: list[Any] = []

    def install(self, feed: StatsFeed, hub: Any) -> None:
        events = self.events
        snapshot = feed.stats.snapshot
        view_for = stats_feed_module.view_for
        publish = hub.publish

        def timed_snapshot(now: Any) -> Any:
            t0 = pc()
            result = snapshot(now)
            events.append(("snap", t0, pc()))
            return result

        def timed_view_for(snap: Any, scope: Any, agents: Any, series: Any) -> Any:
            t0 = pc()
            result = view_for(snap, scope, agents, series)
            events.append(("view", dashboard_topic(scope), t0, pc()))
            return result

        def timed_publish(name: str, type_: str, data: Any) -> Any:
            if not name.startswith("dashboard:"):
                return publish(name, type_, data)
            subscribers = hub.subscribers(name)
            self.dumps_s, self.in_publish = 0.0, True
            t0 = pc()
            try:
                frame = publish(name, type_, data)
            finally:
                self.in_publish = False
            events.append(("pub", name, frame.seq, t0, pc(), self.dumps_s, len(frame.text), subscribers))
            return frame

        feed.stats.snapshot = timed_snapshot  # type: ignore[method-assign]
        stats_feed_module.view_for = timed_view_for  # type: ignore[assignment]
        hub.publish = timed_publish
        sockets_module.json = _TimedJson(self)  # type: ignore[assignment]
        self._undo = [lambda: delattr(feed.stats, "snapshot"),
                      lambda: setattr(stats_feed_module, "view_for", view_for),
                      lambda: delattr(hub, "publish"),
                      lambda: setattr(sockets_module, "json", json)]

    def uninstall(self) -> None:
        for undo in self._undo:
            with contextlib.suppress(Exception):
                undo()
        self._undo = []

    def cycles(self, t_from: float, t_to: float) -> list[dict[str, Any]]:
        """Publish cycles (a snapshot followed by the views and frames cut from it) starting in [t_from, t_to)."""
        out: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        for event in self.events:
            if event[0] == "snap":
                current = {"t0": event[1], "snap_s": event[2] - event[1], "views": {}, "pubs": {}}
                if t_from <= event[1] < t_to:
                    out.append(current)
            elif current is not None and event[0] == "view":
                current["views"][event[1]] = event[3] - event[2]
            elif current is not None and event[0] == "pub":
                _, topic, seq, t0, t1, dumps_s, size, subs = event
                current["pubs"][topic] = {"seq": seq, "t0": t0, "t1": t1, "dumps_s": dumps_s, "bytes": size,
                                          "subscribers": subs}
        return [c for c in out if c["pubs"]]


# -- the benchmark -----------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, settings: Settings, root: AsteriskRoot, workdir: Path) -> None:
        self.args, self.settings, self.root, self.workdir = args, settings, root, workdir
        self.runner: web.AppRunner | None = None
        self.http: ClientSession | None = None
        self.ws_http: ClientSession | None = None
        self.base_url = ""
        self.agents: list[SippAgent] = []
        self.callers: Callers | None = None
        self.probe_ids = [f"bprobe-{n + 1}" for n in range(args.probes)]
        self.supervisor_tokens: list[tuple[str, dict[str, Any]]] = []
        self.clients: list[Client] = []
        self.n_clients = 0
        self.workers: list[asyncio.subprocess.Process] = []
        self.changes: list[Change] = []
        self.current: Change | None = None
        self.last_of: dict[str, Change] = {}
        self.phase_name = ""
        self.trace = ServerTrace()
        self.lag: list[tuple[float, float]] = []
        self.parse_s: dict[str, list[float]] = defaultdict(list)
        self.verify_checks = 0
        self.verify_disagree: list[str] = []

    @property
    def app(self) -> web.Application:
        assert self.runner is not None
        return self.runner.app

    @property
    def controller(self) -> CallController:
        return self.app[CONTROLLER]

    @property
    def feed(self) -> StatsFeed:
        return self.app[STATS]

    # setup ---------------------------------------------------------------------------------------------
    async def start_cti(self) -> None:
        app = create_app(self.settings, connect_timeout=15)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self.http = ClientSession(headers={
            "Authorization": f"Bearer {self.settings.admin_token.get_secret_value()}"})
        self.ws_http = ClientSession(connector=TCPConnector(limit=0))
        self.controller.observers.insert(0, self.observe)  # t0 before the statistics feed sees the change
        self.trace.install(self.feed, self.app[HUB])

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def setup_people(self, supervisors: int) -> None:
        extensions = self.settings.sim_agent_extensions()
        queues = list(QUEUES)
        for n in range(self.args.agents):
            primary, secondary = queues[n % 3], queues[(n + 1) % 3]
            await self.api("POST", "/api/agents", {
                "agent_id": f"bagent-{n + 1:03d}", "name": f"Agent {n + 1}",
                "profile": {"skills": {primary: 5, secondary: 2}, "team": TEAMS[n % len(TEAMS)]}}, 201)
        for n, probe in enumerate(self.probe_ids):
            await self.api("POST", "/api/agents", {"agent_id": probe, "name": f"Probe {n + 1}",
                                                   "profile": {"skills": {"probe": 1}, "team": PROBE_TEAM}}, 201)
        self.agents = [SippAgent(self.settings.sim_agent_port(ext), ring_ms=self.args.ring_ms,
                                 talk_ms=self.args.talk_ms) for ext in extensions[:self.args.agents]]
        await asyncio.sleep(1.0)
        dead = [a.port for a in self.agents if not a.running]
        if dead:
            raise RuntimeError(f"SIPp agents exited at start (ports {dead}): {self.agents[0].errors()[-500:]}")
        for n in range(self.args.agents):
            await self.api("POST", f"/api/agents/bagent-{n + 1:03d}/login", {"extension": extensions[n], "ready": True})
        for n, probe in enumerate(self.probe_ids):
            await self.api("POST", f"/api/agents/{probe}/login",
                           {"extension": extensions[self.args.agents + n], "ready": False})
        for n in range(supervisors):
            name = f"bsup-{n + 1:03d}"
            made = await self.api("POST", "/api/users", {"name": name, "role": "supervisor"}, 201)
            scope = SCOPES[n % len(SCOPES)]
            await self.api("PUT", f"/api/users/{name}/scope", scope)
            self.supervisor_tokens.append((made["token"], scope))

    def prefill_series(self, points: int) -> None:
        """Give the feed's day chart ``points`` one-minute points, as a server up for that many minutes has."""
        if points <= 0:
            return
        now = self.controller.clock()
        series = [{"at": (now - timedelta(minutes=points - i)).isoformat(), "waiting": i % 7,
                   "service_level": round(0.8 + (i % 20) / 100, 4),
                   "queues": {q: {"waiting": (i + k) % 4, "service_level": round(0.75 + ((i + k) % 25) / 100, 4)}
                              for k, q in enumerate(QUEUES)}}
                  for i in range(points)]
        self.feed.series[:0] = series

    # dashboards ----------------------------------------------------------------------------------------
    def dashboard_specs(self, count: int, supervisors: int) -> list[tuple[str, str]]:
        """(token, topic) per dashboard: supervisors spread over the scopes, the rest admins (scope 'all')."""
        admin = self.settings.admin_token.get_secret_value()
        specs = [(admin, "dashboard:all")] * count
        for n, (token, scope) in enumerate(self.supervisor_tokens[:supervisors]):
            specs[n * count // supervisors] = (token, dashboard_topic(scope_of(scope)))  # spread evenly
        return specs

    async def connect(self, specs: list[tuple[str, str]]) -> float:
        """Connect the dashboards, here or in --client-processes workers; each has had its snapshot on return."""
        assert self.ws_http is not None
        started = pc()
        indexed = [(i, token, topic) for i, (token, topic) in enumerate(specs)]
        self.n_clients = len(specs)
        self.clients = []
        if self.args.client_processes:
            await self.start_workers(indexed)
        else:
            self.clients = await open_clients(self.ws_http, self.base_url, indexed, compress=self.args.compress,
                                              concurrency=self.args.connect_concurrency,
                                              verify=self.verify if self.args.verify else None)
        for topic in {topic for _, topic in specs}:
            if not self.app[HUB].subscribers(topic):
                raise RuntimeError(f"the hub has no subscriber on {topic}: the scope's topic differs")
        return pc() - started

    async def disconnect(self) -> None:
        if self.workers:
            await self.collect_workers("stop")
        else:
            await close_clients(self.clients)
        self.clients = []

    async def start_workers(self, indexed: list[tuple[int, str, str]]) -> None:
        n = min(self.args.client_processes, len(indexed))
        for w in range(n):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), "--worker", stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, limit=2**28)
            assert proc.stdin is not None
            proc.stdin.write((json.dumps({
                "url": self.base_url, "specs": indexed[w::n], "compress": self.args.compress,
                "concurrency": max(1, self.args.connect_concurrency // n)}) + "\n").encode())
            await proc.stdin.drain()
            self.workers.append(proc)
        for proc in self.workers:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 300)
            if not line:
                raise RuntimeError("a client process exited before its dashboards were connected")

    async def collect_workers(self, command: str) -> list[dict[str, Any]]:
        """Ask every worker for what its dashboards received so far ("dump"), or that and close ("stop")."""
        results = []
        for proc in self.workers:
            assert proc.stdin is not None
            proc.stdin.write(command.encode() + b"\n")
            await proc.stdin.drain()
        for proc in self.workers:
            assert proc.stdout is not None
            results.append(json.loads(await proc.stdout.readline()))
        if command == "stop":
            for proc in self.workers:
                await asyncio.wait_for(proc.wait(), 60)
            self.workers = []
        return results

    def absorb(self, results: list[dict[str, Any]], changes: list[Change]) -> None:
        """Workers' receipts -> clients and per-change receive times: the first frame of the client's topic
        whose grid holds the change's entry (seen by that topic's parsing client)."""
        clients: list[Client] = []
        probe: dict[str, dict[int, dict[str, list[Any]]]] = defaultdict(dict)
        for result in results:
            for idx, topic, seqs, times, code, closed in result["clients"]:
                client = Client(idx, topic, None)
                client.seqs, client.times, client.frames = array("l", seqs), array("d", times), len(seqs)
                client.close_code, client.closed = code, closed
                clients.append(client)
            for topic, frames in result["probe"].items():
                for seq, entries in frames:
                    probe[topic][seq] = entries
            for topic, values in result["parse_s"].items():
                self.parse_s[topic].extend(values)
        clients.sort(key=lambda c: c.idx)
        ordered = {topic: sorted(frames.items()) for topic, frames in probe.items()}
        first: dict[tuple[int, str], int] = {}
        for change in changes:
            change.recv = array("d", [NAN]) * len(clients)
            change.seq = array("l", [-1]) * len(clients)
            want = [change.state, change.reason, change.since]
            for topic, frames in ordered.items():
                seq = next((q for q, entries in frames if entries.get(change.agent_id) == want), None)
                if seq is not None:
                    first[(change.idx, topic)] = seq
        for client in clients:
            got = dict(zip(client.seqs, client.times, strict=True))
            for change in changes:
                seq = first.get((change.idx, client.topic))
                if seq is not None and seq in got:
                    change.recv[client.idx] = got[seq]
                    change.seq[client.idx] = seq
        self.clients = clients

    def verify(self, client: Client, text: str) -> None:
        """The slow way, at one client per topic: parse the frame, look the timed changes up in the grid."""
        t0 = pc()
        data = json.loads(text)
        self.parse_s[client.topic].append(pc() - t0)
        grid = {a["agent_id"]: a for a in data["data"]["agents"]}
        for change in self.changes[-2 * len(self.probe_ids):]:
            if change.phase != self.phase_name or not change.key:
                continue
            entry = grid.get(change.agent_id)
            slow = (entry is not None and entry["state"] == change.state and entry["reason"] == change.reason
                    and entry["since"] == change.since)
            self.verify_checks += 1
            if slow != (change.key in text):
                self.verify_disagree.append(f"change {change.idx} at {client.topic}: parse {slow}, search {not slow}")

    # state changes -------------------------------------------------------------------------------------
    def observe(self, command: Command) -> None:
        change = self.current
        if change is None or not isinstance(command, AgentChanged) or command.agent.agent_id != change.agent_id:
            return
        change.t_applied = pc()
        agent = command.agent
        change.state, change.reason = agent.state.value, agent.reason
        change.since = agent.state_since.isoformat() if agent.state_since else ""
        change.key = grid_entry(agent)
        n = self.n_clients
        change.recv = array("d", [NAN]) * n
        change.seq = array("l", [-1]) * n
        previous = self.last_of.get(agent.agent_id)
        self.last_of[agent.agent_id] = change
        for client in self.clients:
            if previous is not None and previous in client.pending:
                client.pending.remove(previous)  # superseded: that dashboard missed it
            client.pending.append(change)

    async def change_once(self) -> None:
        idx = len(self.changes)
        agent_id = self.probe_ids[idx % len(self.probe_ids)]
        agent = self.controller.core.agents[agent_id]
        body: dict[str, Any] = ({"state": "not_ready", "reason": f"b{idx}"} if agent.state is AgentState.READY
                                else {"state": "ready"})
        change = Change(idx, self.phase_name, agent_id, t_request=pc())
        self.changes.append(change)
        self.current = change
        try:
            await self.api("POST", f"/api/agents/{agent_id}/state", body)
        except Exception as exc:  # an overloaded server may refuse (503): count it, do not time it
            change.error = f"{type(exc).__name__}: {exc}"[:300]
            say(f"  change {idx} failed: {change.error}")
            return
        finally:
            self.current = None
        if math.isnan(change.t_applied):
            raise RuntimeError(f"change {idx} ({agent_id} {body}) was not seen by the controller observer")

    async def changes_for(self, seconds: float) -> tuple[int, float]:
        """State changes every --change-every seconds for ``seconds``; (count, worst lateness of a change)."""
        every = self.args.change_every
        start = pc()
        count, late = 0, 0.0
        while count * every < seconds:
            target = start + count * every
            wait = target - pc()
            if wait > 0:
                await asyncio.sleep(wait)
            late = max(late, pc() - target)
            await self.change_once()
            count += 1
        return count, late

    async def lag_monitor(self) -> None:
        while True:
            t0 = pc()
            await asyncio.sleep(0.05)
            self.lag.append((t0, pc() - t0 - 0.05))

    # one measured phase --------------------------------------------------------------------------------
    async def phase(self, name: str, dashboards: int, supervisors: int, seconds: float) -> dict[str, Any]:
        self.phase_name = name
        self.last_of = {}
        specs = self.dashboard_specs(dashboards, supervisors)
        say(f"{name}: connecting {dashboards} dashboards")
        connect_s = await self.connect(specs)
        topics = Counter(topic for _, topic in specs)
        say(f"  connected in {connect_s:.1f} s ({dict(topics)}); settling")
        await asyncio.sleep(self.args.settle)
        before = Counter(self.controller.stats)
        skipped0, unidentified0, reset0 = SKIPPED.count, NOT_IDENTIFIED.count, POOL_RESET.count
        meter = CpuMeter(self.root.pid() or 0, [a.proc.pid for a in self.agents if a.proc] +
                         (self.callers.pids if self.callers else []), [w.pid for w in self.workers])
        checks0, parse0 = self.verify_checks, {t: len(v) for t, v in self.parse_s.items()}
        first_change = len(self.changes)
        t_start = pc()
        say(f"  {seconds:g} s of state changes every {self.args.change_every:g} s")
        count, late = await self.changes_for(seconds)
        t_last = pc()
        await asyncio.sleep(self.args.grace)
        t_end = pc()
        cpu = meter.result()
        after = Counter(self.controller.stats)
        if self.workers:
            self.absorb(await self.collect_workers("dump"), [c for c in self.changes[first_change:] if c.key])
        made = self.changes[first_change:]
        result = self.analyse(name, [c for c in made if c.error is None], t_start, t_end, t_last)
        result["changes_failed"] = [c.error for c in made if c.error is not None]
        result.update({
            "connect_s": round(connect_s, 1), "change_lateness_max_ms": round(late * 1000, 1),
            "calls": {"arrived": after["calls_arrived"] - before["calls_arrived"],
                      "bridged": after["calls_bridged"] - before["calls_bridged"],
                      "offers": after["offers"] - before["offers"],
                      "offers_failed": after["offers_failed"] - before["offers_failed"],
                      "shed": after["calls_shed"] - before["calls_shed"]},
            "cpu_cores": cpu,
            "feed_commands_skipped_time_went_backwards": SKIPPED.count - skipped0,
            "callers_not_identified_crm_timeout": NOT_IDENTIFIED.count - unidentified0,
            "sqlalchemy_pool_reset_errors": POOL_RESET.count - reset0,
            "gc": GC.between(t_start, t_end),
        })
        result["calls"]["arrived_per_s"] = round(result["calls"]["arrived"] / (t_end - t_start), 2)
        result["client_side"]["verify_checks"] = self.verify_checks - checks0
        result["client_side"]["full_parse_ms_per_frame"] = {
            t: summary_ms(v[parse0.get(t, 0):], 2) for t, v in self.parse_s.items() if len(v) > parse0.get(t, 0)}
        parse_p50 = {t: s["p50"] for t, s in result["client_side"]["full_parse_ms_per_frame"].items()}
        per_cycle = sum((parse_p50.get(t) or 0) * n for t, n in topics.items())
        result["client_side"]["full_parse_at_every_client_ms_per_cycle"] = round(per_cycle, 1)
        lat = result["latency_ms"]
        say(f"  {count} changes x {dashboards} dashboards: p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms,"
            f" missed {result['frames_missed']}, {result['frames']['cycles_per_s']} cycles/s, calls "
            f"{result['calls']['arrived']} arrived / {result['calls']['bridged']} bridged; cores: cti+clients "
            f"{cpu['bench_process']}, client processes {cpu['client_processes']}, asterisk {cpu['asterisk']}, "
            f"sipp {cpu['sipp']}, other {cpu['other']}")
        return result

    def analyse(self, name: str, changes: list[Change], t_start: float, t_end: float,
                t_last: float) -> dict[str, Any]:
        clients = self.clients
        cycles = self.trace.cycles(t_start - 5.0, t_end)
        starts = [c["t0"] for c in cycles]
        latency: list[float] = []
        by_topic: dict[str, list[float]] = defaultdict(list)
        slowest: list[float] = []
        to_cycle: list[float] = []
        compute: list[float] = []
        deliver: list[float] = []
        api: list[float] = []
        seq_agree = seq_checked = missed = 0
        spans: list[tuple[float, float, Change]] = []
        for change in changes:
            api.append(change.t_applied - change.t_request)
            k = bisect.bisect_left(starts, change.t_applied)
            cycle = cycles[k] if k < len(cycles) else None
            if cycle is not None:
                to_cycle.append(cycle["t0"] - change.t_applied)
                compute.extend(p["t1"] - cycle["t0"] for p in cycle["pubs"].values())
            worst = 0.0
            for client in clients:
                t = change.recv[client.idx]
                if math.isnan(t):
                    missed += 1
                    continue
                d = t - change.t_applied
                latency.append(d)
                by_topic[client.topic].append(d)
                worst = max(worst, d)
                pub = cycle["pubs"].get(client.topic) if cycle is not None else None
                if pub is not None:
                    deliver.append(t - pub["t1"])
                    seq_checked += 1
                    seq_agree += change.seq[client.idx] == pub["seq"]
            slowest.append(worst)
            spans.append((change.t_applied, change.t_applied + worst, change))
        # Full collections (generation 2) stop the event loop: which changes had one under way?
        gen2 = [(t, t + d) for t, g, d in GC.pauses if g == 2 and t_start - 5 <= t < t_end]
        hit = {id(c) for a, b, c in spans if any(s < b and e > a for s, e in gen2)}
        clean = [change.recv[cl.idx] - change.t_applied for change in changes if id(change) not in hit
                 for cl in clients if not math.isnan(change.recv[cl.idx])]
        # Frames: every publish cycle of the measured period, and each frame's fan-out to its subscribers.
        window = [c for c in cycles if t_start <= c["t0"] < t_end]
        wall = t_end - t_start
        per_topic: dict[str, dict[str, Any]] = {}
        for topic in sorted({t for c in window for t in c["pubs"]}):
            pubs = [c["pubs"][topic] for c in window if topic in c["pubs"]]
            sizes = [p["bytes"] for p in pubs]
            per_topic[topic] = {"frames": len(pubs), "per_s": round(len(pubs) / wall, 2),
                                "subscribers": pubs[-1]["subscribers"],
                                "bytes_mean": round(statistics.fmean(sizes)), "bytes_max": max(sizes),
                                "view_for_ms": summary_ms([c["views"][topic] for c in window
                                                          if topic in c["views"]], 2),
                                "dumps_ms": summary_ms([p["dumps_s"] for p in pubs], 2),
                                "hub_publish_ms": summary_ms([p["t1"] - p["t0"] for p in pubs], 2)}
        arrivals: dict[tuple[str, int], list[float]] = defaultdict(list)
        frames_received = 0
        for client in clients:
            topic = client.topic
            for seq, t in zip(client.seqs, client.times, strict=True):
                if t_start <= t < t_end + 5:
                    arrivals[(topic, seq)].append(t)
                    frames_received += 1
        first: list[float] = []
        last: list[float] = []
        for c in window:
            for topic, p in c["pubs"].items():
                got = arrivals.get((topic, p["seq"]))
                if got:
                    first.append(min(got) - p["t1"])
                    last.append(max(got) - p["t1"])
        cycle_s = [max(p["t1"] for p in c["pubs"].values()) - c["t0"] for c in window]
        messages = sum(p["subscribers"] for c in window for p in c["pubs"].values())
        delivered_bytes = sum(p["subscribers"] * p["bytes"] for c in window for p in c["pubs"].values())
        lag = [v for t, v in self.lag if t_start <= t < t_end]
        check = sum(c.check_s for c in clients)
        frames = sum(c.frames for c in clients)
        return {
            "dashboards": len(clients),
            "topics": {t: n for t, n in sorted(Counter(c.topic for c in clients).items())},
            "seconds": round(t_last - t_start, 1),
            "changes": len(changes),
            "pairs": len(changes) * len(clients),
            "latency_ms": summary_ms(latency),
            "latency_ms_by_topic": {t: summary_ms(v) for t, v in sorted(by_topic.items())},
            "slowest_dashboard_per_change_ms": summary_ms(slowest),
            "changes_with_a_full_gc_under_way": len(hit),
            "latency_ms_changes_without_full_gc": summary_ms(clean),
            "frames_missed": missed,
            "clients_closed_by_server": sum(1 for c in clients if c.closed is not None),
            "close_codes": dict(Counter(str(c.close_code) for c in clients if c.closed is not None)),
            "breakdown_ms": {
                "api_request_to_applied": summary_ms(api, 2),
                "applied_to_cycle_start": summary_ms(to_cycle),
                "cycle_start_to_frame_published": summary_ms(compute),
                "frame_published_to_received": summary_ms(deliver),
            },
            "received_frame_is_first_cycle_after_change": f"{seq_agree}/{seq_checked}",
            "frames": {
                "cycles": len(window), "cycles_per_s": round(len(window) / wall, 2),
                "frames_per_s": round(sum(len(c["pubs"]) for c in window) / wall, 2),
                "messages_delivered_per_s": round(messages / wall),
                "mbytes_delivered_per_s": round(delivered_bytes / wall / 1e6, 2),
                "per_topic": per_topic,
            },
            "publish_cycle_ms": {
                "snapshot": summary_ms([c["snap_s"] for c in window], 2),
                "whole_cycle": summary_ms(cycle_s, 2),
                "loop_share_pct": round(100 * sum(cycle_s) / wall, 1),
            },
            "fanout_ms": {"first_dashboard": summary_ms(first), "last_dashboard": summary_ms(last)},
            "client_side": {
                "frames_received": frames_received,
                "fast_path_us_per_frame": round(1e6 * check / frames, 1) if frames else None,
                "fast_path_loop_share_pct": round(100 * check / wall, 2),
            },
            "event_loop_lag_ms": summary_ms(lag),
        }

    # costs one at a time, on the final state ---------------------------------------------------------
    def offline_costs(self, reps: int = 15) -> dict[str, Any]:
        feed, agents = self.feed, self.controller.core.agents
        scopes = {dashboard_topic(s): s for s in feed.scopes.values()}
        view_for = original_view_for

        def timed(fn: Any) -> tuple[float, Any]:
            times, value = [], None
            for _ in range(reps):
                t0 = pc()
                value = fn()
                times.append(pc() - t0)
            return round(1000 * statistics.median(times), 3), value

        snap_ms, snap = timed(feed.snapshot)
        out: dict[str, Any] = {"snapshot_ms": snap_ms, "series_points": len(feed.series), "topics": {}}
        tally = snap.windows["today"].overall.tally
        stats = self.controller.stats
        out["books"] = {"cti_calls_arrived": stats["calls_arrived"], "cti_calls_bridged": stats["calls_bridged"],
                        "dashboard_today_offered": tally.offered, "dashboard_today_answered": tally.answered,
                        "feed_commands_skipped_time_went_backwards": SKIPPED.count,
                        "callers_not_identified_crm_timeout": NOT_IDENTIFIED.count}
        for topic, scope in sorted(scopes.items()):
            view_ms, view = timed(lambda scope=scope: view_for(snap, scope, agents, feed.series))
            dumps_ms, text = timed(lambda view=view: json.dumps({"seq": 1, "type": "stats", "data": view},
                                                               default=str, separators=(",", ":")))
            loads_ms, _ = timed(lambda text=text: json.loads(text))
            out["topics"][topic] = {"view_for_ms": view_ms, "dumps_ms": dumps_ms, "loads_ms": loads_ms,
                                    "bytes": len(text), "grid_agents": len(view["agents"]),
                                    "parts_bytes": frame_parts(view)}
        return out

    def gc_heap(self) -> dict[str, Any]:
        """What a full collection costs now, what the heap holds, how much of it the hub's replay buffers hold
        (each buffered frame keeps the view dict it was serialised from), and a full collection without that.
        The last part empties the buffered frames' data for good: run it last."""
        def containers(value: Any) -> int:
            if isinstance(value, dict):
                return 1 + sum(containers(v) for v in value.values())
            if isinstance(value, list | tuple):
                return 1 + sum(containers(v) for v in value)
            return 0

        def full() -> tuple[float, float]:
            t0, c0 = pc(), time.process_time()
            gc.collect()
            return round(1000 * (pc() - t0), 1), round(1000 * (time.process_time() - c0), 1)

        hub = self.app[HUB]
        topics = {name: topic for name, topic in hub._topics.items() if name.startswith("dashboard:")}
        buffered = {name: {"frames": len(t.buffer), "containers_per_frame": containers(t.buffer[-1].data)}
                    for name, t in topics.items() if t.buffer}
        heap = gc.get_objects()
        kinds = Counter(type(o).__name__ for o in heap)
        wall, cpu = full()
        out = {"tracked_objects": len(heap), "top_types": dict(kinds.most_common(8)),
               "full_collection_ms": wall, "full_collection_cpu_ms": cpu, "replay_buffers": buffered,
               "containers_in_replay_buffers": sum(b["frames"] * b["containers_per_frame"] for b in buffered.values())}
        del heap, kinds
        # LiveStats keeps an entry per event and window until the window's start passes it: for "today" that is
        # midnight, so the today window's entries (and the collector's work) grow all day.
        out["livestats_entries"] = {w.window.name: {"entries": len(w.entries), "periods": len(w.periods)}
                                    for w in self.feed.stats._windows}
        out["calls_so_far"] = self.controller.stats["calls_arrived"]
        for t in topics.values():  # experiment: the same frames without their data (text only)
            t.buffer = deque((replace(f, data=None) for f in t.buffer), maxlen=t.buffer.maxlen)
        gc.collect()
        out["tracked_objects_without_buffered_data"] = len(gc.get_objects())
        wall, cpu = full()
        out["full_collection_ms_without_buffered_data"] = wall
        out["full_collection_cpu_ms_without_buffered_data"] = cpu
        return out

    # where the CPU goes ------------------------------------------------------------------------------
    async def profiled(self, seconds: float) -> dict[str, Any]:
        self.phase_name = "profile"
        self.last_of = {}
        prof = cProfile.Profile()
        cpu0, t0 = time.process_time(), pc()
        prof.enable()
        try:
            await self.changes_for(seconds)
            await asyncio.sleep(self.args.grace)
        finally:
            prof.disable()
        wall, cpu = pc() - t0, time.process_time() - cpu0
        return {"seconds": round(wall, 1), "process_cpu_cores_under_profiler": round(cpu / wall, 2),
                "note": "cProfile slows Python calls down (more than C code): read shares, not absolute times",
                **profile_report(pstats.Stats(prof))}

    # teardown ----------------------------------------------------------------------------------------
    async def settle_calls(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.runner is not None and self.controller.core.calls and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        if self.runner is not None and self.controller.core.calls:
            await asyncio.to_thread(self.root.cli, "channel request hangup all", False)
            await asyncio.sleep(2)

    async def stop_cti(self) -> None:
        self.trace.uninstall()
        for session in (self.http, self.ws_http):
            if session is not None:
                await session.close()
        self.http = self.ws_http = None
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.controller.drain()
            await self.runner.cleanup()
            self.runner = None


_CALL_HANDLING = "cti call handling and API (controller, ARI, routing, Redis, SQLite, pydantic)"
_CATEGORIES = (  # (file path part, function name part, category); first match wins
    ("/cti/stats/", "", "LiveStats.snapshot (cti/stats)"),
    ("stats_feed.py", "", "view_for: frame dicts (dataclasses.asdict, copy.deepcopy)"),
    ("/dataclasses.py", "", "view_for: frame dicts (dataclasses.asdict, copy.deepcopy)"),
    ("/copy.py", "", "view_for: frame dicts (dataclasses.asdict, copy.deepcopy)"),
    ("json/encoder.py", "", "JSON serialisation (server)"),
    ("json/__init__.py", "dump", "JSON serialisation (server)"),
    ("json/decoder.py", "", "JSON parsing (verifying clients, ARI events, requests)"),
    ("json/__init__.py", "load", "JSON parsing (verifying clients, ARI events, requests)"),
    ("bench/dashboard.py", "", "benchmark clients (frame search) and harness"),
    ("_websocket/writer.py", "", "websocket send (server framing, str->bytes)"),
    ("web_ws.py", "", "websocket send (server framing, str->bytes)"),
    ("cti/web/sockets.py", "", "websocket send (server framing, str->bytes)"),
    ("_websocket/reader", "", "websocket receive (clients: frame parsing)"),
    ("client_ws.py", "", "websocket receive (clients: frame parsing)"),
    ("client_proto.py", "", "websocket receive (clients: frame parsing)"),
    ("selector_events.py", "write", "socket send (syscalls, loopback TCP)"),
    ("selector_events.py", "send", "socket send (syscalls, loopback TCP)"),
    ("selector_events.py", "read", "socket receive (syscalls)"),
    ("selector_events.py", "recv", "socket receive (syscalls)"),
    ("/asyncio/", "", "asyncio scheduling"),
    ("/cti/", "", _CALL_HANDLING),
    ("/redis/", "", _CALL_HANDLING),
    ("/sqlalchemy/", "", _CALL_HANDLING),
    ("/aiosqlite/", "", _CALL_HANDLING),
    ("/pydantic/", "", _CALL_HANDLING),
    ("/aiohttp/", "", "aiohttp other (HTTP server, ARI and Redis clients)"),
)
# Entry points whose cumulative time tells what the process spends its time on (they overlap).
_ENTRY_POINTS = (
    ("stats_feed.py", "publish", "StatsFeed.publish: one whole publish cycle"),
    ("cti/stats/live.py", "snapshot", "  LiveStats.snapshot"),
    ("stats_feed.py", "view_for", "  view_for (per topic)"),
    ("cti/web/sockets.py", "publish", "  Hub.publish (json.dumps, queueing)"),
    ("cti/web/sockets.py", "drain", "websocket sends to the dashboards (_Subscriber.drain)"),
    ("selector_events.py", "_read_ready", "socket reads (clients' frames, HTTP, ARI, Redis)"),
    ("bench/dashboard.py", "run", "benchmark clients' receive loops (frame search)"),
    ("bench/dashboard.py", "verify", "benchmark verifying clients (json.loads per frame)"),
    ("call_controller.py", "_on_event", "ARI event handling"),
    ("call_controller.py", "_apply", "  core commands applied (incl. observers)"),
)


def category(filename: str, func: str) -> str:
    for where, what, name in _CATEGORIES:
        if where in filename and what in func:
            return name
    return "other"


def profile_report(stats: pstats.Stats) -> dict[str, Any]:
    """Own time by component (a C function's time goes to its callers' components) and cumulative time of
    some entry points."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_cat: dict[str, float] = defaultdict(float)
    top: list[tuple[float, str]] = []
    for (filename, line, func), (_, _, tt, _, callers) in table.items():
        top.append((tt, f"{Path(filename).name}:{line}({func})" if filename != "~" else func))
        if filename == "~" and callers:
            share = sum(c[2] for c in callers.values()) or 1.0
            for (cfile, _, cfunc), c in callers.items():
                name = "greenlet" if "greenlet" in func else category(cfile, cfunc) if cfile != "~" else "other"
                by_cat[_CALL_HANDLING if name == "greenlet" else name] += tt * c[2] / share
        else:
            by_cat[category(filename, func)] += tt
    total = sum(by_cat.values()) or 1.0
    entries: dict[str, float] = defaultdict(float)
    for (filename, _, func), (_, _, _, ct, _) in table.items():
        for where, what, name in _ENTRY_POINTS:
            if where in filename and func == what:
                entries[name] += ct
    top.sort(reverse=True)
    return {"cpu_s": round(total, 2),
            "share_pct": {k: round(100 * v / total, 1) for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
            "entry_points_pct": {name: round(100 * entries[name] / total, 1) for *_, name in _ENTRY_POINTS},
            "top_functions_ms": [[name, round(1000 * tt)] for tt, name in top[:15]]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-dash-"))
    rules_path = tmp / "routing.yaml"
    rules_path.write_text(yaml.safe_dump(RULES, sort_keys=False))
    settings = load_settings(
        ari_password=secrets.token_urlsafe(16),
        admin_token=secrets.token_urlsafe(24),
        redis_url=url,
        redis_prefix=f"cti-bench-{secrets.token_hex(4)}",
        database_url=f"sqlite+aiosqlite:///{tmp}/cti.db",
        sip_bind="127.0.0.1:5060",
        asterisk_root=ASTERISK_ROOT,
        http_port=0,
        routing_rules=rules_path,
        sim_agents=args.agents + args.probes,
    )
    root = AsteriskRoot(settings.asterisk_root)
    if not root.built:
        raise SystemExit(f"no Asterisk root at {root.path}: build it first (`cti asterisk build`)")
    say("waiting for exclusive use of the Asterisk root (tests may hold it)")
    waited = time.monotonic()
    await asyncio.to_thread(root.acquire)
    lock_wait = time.monotonic() - waited
    bench = Bench(args, settings, root, tmp)
    lag_task: asyncio.Task[None] | None = None
    out: dict[str, Any] = {}
    supervisors = round(args.dashboards * args.supervisor_share)
    try:
        if root.pid() is not None:
            await asyncio.to_thread(root.stop)  # stale: whoever started it no longer holds the lock
        await asyncio.to_thread(root.install_config, settings)
        await asyncio.to_thread(root.start, settings)
        version = re.search(r"Asterisk (\d+\.\d+\.\d+)", await asyncio.to_thread(root.cli, "core show version"))
        say(f"Asterisk {version.group(1) if version else '?'} up; starting cti")
        await bench.start_cti()
        await bench.setup_people(supervisors)
        bench.prefill_series(args.series_points)
        gc.collect()
        heap_at_start = len(gc.get_objects())
        t_gc = pc()
        gc.collect()
        start_heap = {"tracked_objects": heap_at_start, "full_collection_ms": round(1000 * (pc() - t_gc), 1),
                      "frozen": gc.get_freeze_count()}  # objects gc.freeze() keeps out of collections
        lag_task = asyncio.create_task(bench.lag_monitor())
        say(f"{args.agents} agents, {args.probes} probe agents, {supervisors} supervisors; callers at "
            f"{args.rate:g} calls/s")
        bench.callers = Callers(args.rate, args.caller_ms, tmp)
        await asyncio.sleep(args.warmup)

        baseline = await bench.phase("baseline", 1, 0, args.baseline_seconds)
        await bench.disconnect()
        main = await bench.phase("main", args.dashboards, supervisors, args.duration)
        costs = bench.offline_costs()
        profile = None
        if args.profile_seconds > 0:
            say(f"profiled phase: {args.profile_seconds:g} s under cProfile (latencies not reported)")
            profile = await bench.profiled(args.profile_seconds)
        heap = bench.gc_heap()
        await bench.disconnect()
        say("stopping callers")
        bench.callers.stop()
        await bench.settle_calls(15)

        p99, base_p99 = main["latency_ms"]["p99"], baseline["latency_ms"]["p99"]
        out = {
            "benchmark": "dashboard",
            "asterisk": version.group(1) if version else "unknown",
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "setup": {
                "dashboards": args.dashboards, "supervisor_dashboards": supervisors,
                "scopes": [dashboard_topic(scope_of(s)) for s in SCOPES], "agents": args.agents,
                "probe_agents": args.probes, "ring_ms": args.ring_ms, "talk_ms": args.talk_ms,
                "rate": args.rate, "queues": {q: {"service": n, "share": s} for q, (n, s) in QUEUES.items()},
                "change_every_s": args.change_every, "feed_min_interval_s": bench.feed.min_interval,
                "client_compression": bool(args.compress), "client_processes": args.client_processes,
                "series_points_prefilled": args.series_points,
            },
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": p99 is not None and p99 < TARGET_P99_MS,
            "frames_missed": main["frames_missed"] + baseline["frames_missed"],
            "verify": {"checks": bench.verify_checks, "disagreements": len(bench.verify_disagree),
                       "examples": bench.verify_disagree[:5]},
            "p99_ratio_main_over_baseline": round(p99 / base_p99, 2) if p99 and base_p99 else None,
            "baseline": baseline,
            "main": main,
            "offline_costs": costs,
            "gc_heap": {"after_setup": start_heap, "at_end": heap},
            "profile": profile,
            "method": (
                "t0 = perf_counter in a controller observer when the AgentChanged of a probe agent's state change "
                "(POST /api/agents/{id}/state, every change_every_s, ready or not_ready with a unique reason) is "
                "applied; t1 = perf_counter when a dashboard websocket client (same process) receives the first "
                "'stats' frame whose agents grid holds the agent's new entry (substring search for the entry's "
                "JSON; one client per topic also parses every frame and checks the grid). Latency over every "
                "(change, dashboard) pair; a pair never seen is a missed frame. Breakdown from run-time wrappers "
                "around LiveStats.snapshot, view_for and Hub.publish (json.dumps timed inside it). Calls flow "
                "throughout from SIPp callers to three queues; SIPp agents answer and talk."),
        }
    finally:
        say("cleaning up")
        if lag_task is not None:
            lag_task.cancel()
        if bench.callers is not None:
            bench.callers.stop()
        with contextlib.suppress(Exception):
            if bench.clients or bench.workers:
                await asyncio.wait_for(bench.disconnect(), 60)
        for worker in bench.workers:
            if worker.returncode is None:
                worker.kill()
        with contextlib.suppress(Exception):
            await bench.stop_cti()
        for agent in bench.agents:
            agent.stop()
        with contextlib.suppress(Exception):
            await _drop_redis_keys(url, settings.redis_prefix)
        await asyncio.to_thread(root.stop)
        if private_redis is not None:
            private_redis.terminate()
            private_redis.wait(5)
        if not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"kept {tmp}")
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dashboards", type=int, default=500, help="websocket dashboards in the main phase")
    p.add_argument("--supervisor-share", type=float, default=0.2,
                   help="share of the dashboards that are scoped supervisors (the rest: admins, scope 'all')")
    p.add_argument("--duration", type=float, default=60, help="seconds of timed state changes, main phase")
    p.add_argument("--baseline-seconds", type=float, default=20, help="seconds of the 1-dashboard baseline")
    p.add_argument("--rate", type=float, default=5, help="calls per second offered, all queues together")
    p.add_argument("--agents", type=int, default=20, help="SIPp agents taking calls")
    p.add_argument("--ring-ms", type=int, default=100, help="agents ring this long before answering")
    p.add_argument("--talk-ms", type=int, default=3000, help="agents hang up after talking this long")
    p.add_argument("--caller-ms", type=int, default=30000, help="a caller gives up this long after the answer")
    p.add_argument("--probes", type=int, default=4, help="extra agents whose state changes are timed, in turn")
    p.add_argument("--change-every", type=float, default=0.5, help="seconds between timed state changes")
    p.add_argument("--series-points", type=int, default=0,
                   help="pre-fill the day chart with this many one-minute points (180 = the frame's maximum)")
    p.add_argument("--compress", action="store_true",
                   help="clients offer permessage-deflate, as browsers do (per-socket compression on the server)")
    p.add_argument("--client-processes", type=int, default=0,
                   help="run the dashboards in this many separate processes instead of the server's (0: same process)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="no full JSON parse at one client per topic")
    p.add_argument("--profile-seconds", type=float, default=15,
                   help="a last phase under cProfile to split the CPU by component (0: none)")
    p.add_argument("--warmup", type=float, default=5, help="seconds of calls before the first phase")
    p.add_argument("--settle", type=float, default=3, help="seconds after the dashboards connect")
    p.add_argument("--grace", type=float, default=3, help="seconds after the last change for frames to arrive")
    p.add_argument("--connect-concurrency", type=int, default=25, help="dashboards connecting at once")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 100 dashboards, 15 s, baseline 6 s, no profile (under a minute)")
    p.add_argument("--keep-logs", action="store_true", help="keep the work directory (SIPp output)")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.dashboards = min(args.dashboards, 100)
        args.duration, args.baseline_seconds, args.profile_seconds = 15.0, 6.0, 0.0
        args.warmup, args.settle, args.grace = 2.0, 1.0, 2.0
    if args.agents + args.probes > 500:
        p.error("at most 500 agents and probes together")
    if args.probes < 2:
        p.error("at least 2 probe agents")
    args.loadavg_at_start = [round(x, 2) for x in os.getloadavg()]
    return args


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["--worker"]:
        asyncio.run(worker_main())  # a client process of --client-processes
        return 0
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cti.stats_feed").addFilter(SKIPPED)
    logging.getLogger("cti.controller").addFilter(NOT_IDENTIFIED)
    logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool").addFilter(POOL_RESET)
    gc.callbacks.append(GC)
    result = asyncio.run(run(args))
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
