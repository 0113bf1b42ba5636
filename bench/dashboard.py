"""Supervisor-dashboard benchmark: agent state change -> the first frame that carries it at N connected
dashboards, calls flowing.

Run from the repository root inside the venv::

    python bench/dashboard.py                       # default run: 500 dashboards in another process (about 3 minutes)
    python bench/dashboard.py --client-processes 0  # the same with the dashboards in the cti process
    python bench/dashboard.py --quick               # smoke run (under a minute)

It starts everything it needs (the shared Asterisk root with its own settings, cti in-process with a fresh
SQLite database and its own Redis prefix, SIPp agents and callers, the dashboards as websocket clients in
a separate process, as browsers are), measures, cleans up, and prints one JSON object as the last line of
stdout. Progress goes to stderr. See docs/benchmarks.md, "Supervisor dashboard".

Method:

* Traffic: ``--agents`` SIPp agents (7001..) answer after ``--ring-ms`` and hang up after ``--talk-ms``;
  SIPp callers dial three service numbers (queues care, sales, billing) at ``--rate`` calls/s in all.
* Dashboards: ``--dashboards`` websocket clients on ``/ws/dashboard``: most with the admin token (scope
  'all'), a fraction (``--supervisor-share``) as supervisors with one of three scopes, so four topics are
  published. Each client connects, waits for its snapshot, then reads every frame (``live`` changes,
  ``stats`` full figures, ``series`` chart points; docs/metrics.md, "The dashboard feed").
* State changes at known instants: every ``--change-every`` seconds one of ``--probes`` extra agents (team
  ``probe``, a skill no queue needs, so never offered a call; every scope includes the team) is switched
  through the API (``POST /api/agents/{id}/state``): ready, or not ready with a unique reason ``b<n>``.
  t0 = ``time.perf_counter()`` when the change's ``AgentChanged`` command reaches the observers of the
  distributor's handler table, after the journal and before the screen pop and the statistics feed (the
  benchmark wraps ``ScreenPop.agent_changed`` on the class before cti starts, so the table holds the
  wrapper); the request's send time is kept too.
* t1, per dashboard: ``perf_counter()`` when the client receives the first frame, of any type, that carries
  the agent's grid entry exactly as the change left it (state, reason, since). In the cti process: a
  substring search of every frame for the entry's JSON text, registered with every client at t0. In client
  processes (which are not told of the changes): one client per topic parses every frame and records which
  probe entries it carries, by frame number; every subscriber of a topic gets the same frames, so (topic,
  seq) gives every client's t1. That parsing client also keeps the page's state, applying the frames as
  cti/web/static/dashboard.js does, and checks it against every full ``stats`` frame (``verify``).
* Latency = t1 - t0 over every (change, dashboard) pair. A pair never seen (the agent changed again, or the
  run ended, first) is a missed frame. The same state changes with a single dashboard run first, as the
  in-run baseline.
* Where the time goes: the benchmark wraps (at run time, no change to cti) ``StatsFeed.flush`` (the live
  frames), ``StatsFeed.publish`` and ``_rebuild`` (the full frames), ``LiveStats.snapshot`` and
  ``Hub.publish``. A pair's latency splits into t0 -> the carrying frame published, and published ->
  received (the websocket sends to every subscriber and the client's read). Every garbage collection is
  timed (``gc.callbacks``), and changes with a full collection under way are reported apart. A last,
  profiled phase (cProfile, its latencies not reported) splits the process's CPU by component.
* ``--cluster`` (issue 21): the same changes and dashboards against the cluster's own cti, controllers and ``cti
  front`` front ends as their own processes (bench/_fronts.py; run as root)::

      nice -n 19 .venv/bin/python bench/dashboard.py --cluster --quick                     # smoke, about 2 minutes
      .venv/bin/python bench/dashboard.py --cluster --dashboards 5000 --client-processes 5  # issue 21's run

  t0 is then the leader's own stamp of the change (``state_since``, in the API's answer), put on this machine's
  CLOCK_MONOTONIC; the dashboards connect to the front ends in turn (``--via haproxy``: through haproxy) from
  client processes; nothing of cti runs in the benchmark's process, so the server-side breakdown, the GC timings,
  the offline costs and the profile are not measured (null).
* Why pages ended (either mode): ``client_page_ends`` per phase, by reason (a close code, a lost connection's code and
  exception, a refused handshake's status...; bench/_page_ends.py); each client process logs them on stderr, kept
  with ``--keep-logs`` as ``client-<phase>-<k>.stderr`` in the run's folder.
* ``--client-processes 0`` runs the dashboards in the cti process (one event loop, as the issue's first
  design had it): they then compete with the server for its loop. ``--compress`` makes the clients offer
  permessage-deflate, as browsers do (cti declines it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import math
import os
import pstats
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
if str(REPO) not in sys.path:  # `python bench/dashboard.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
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
    add_cluster_args,
    clock_offset,
    counters,
    end_cluster_run,
    environment,
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
    summary_ms,
)
from bench._page_ends import EXAMPLES, PageEnd, connect_failure, merge, socket_end, summarise  # noqa: E402
from cti.acd import Agent, AgentChanged, AgentState, Command  # noqa: E402
from cti.asterisk import AsteriskRoot  # noqa: E402
from cti.bootstrap import RUNNING, Running  # noqa: E402
from cti.services import ScreenPop, StatsFeed, dashboard_topic, grid_entry, scope_of  # noqa: E402
from cti.settings import Settings  # noqa: E402
from cti.sim import PSTN_HOST, SCENARIOS, SippAgent, free_udp_port, sipp_binary  # noqa: E402
from cti.stats import LiveStats  # noqa: E402
from cti.web import HUB, STATS  # noqa: E402

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")
TARGET_P99_MS = 200.0
DASHBOARDS_PER_CLIENT = 1000
"""--cluster's default: a client process per 1,000 dashboards (one process's limit was 2,000-odd websockets)."""
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
# and the arrival lookup's "a caller was not identified within 2.0 s" (the CRM lookup's timeout ran out).
SKIPPED = LogCounter("statistics skipped")
NOT_IDENTIFIED = LogCounter("a caller was not identified")
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


class CpuMeter:
    """CPU use in cores over a period: Asterisk, this process (cti, and the dashboards unless they run in
    client processes), SIPp, the client processes, everything else on the machine."""

    def __init__(self, asterisk_pid: int, sipp_pids: list[int], client_pids: list[int]) -> None:
        self.asterisk_pid, self.sipp_pids, self.client_pids = asterisk_pid, sipp_pids, client_pids
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        me = os.times()
        return {"asterisk": proc_cpu(self.asterisk_pid), "bench_process": me.user + me.system,
                "sipp": sum(proc_cpu(p) for p in self.sipp_pids),
                "client_processes": sum(proc_cpu(p) for p in self.client_pids), "machine": machine_busy(),
                "wall": time.monotonic()}

    def result(self) -> dict[str, float]:
        end = self._sample()
        d = {k: end[k] - self.start[k] for k in end}
        wall = d.pop("wall")
        d["other"] = max(0.0, d["machine"] - d["asterisk"] - d["bench_process"] - d["sipp"] - d["client_processes"])
        return {k: round(v / wall, 2) for k, v in d.items()}


# -- the system under test ----------------------------------------------------------------------------------


class Callers:
    """One SIPp caller per service number, together ``rate`` calls/s in the queues' traffic shares."""

    def __init__(self, rate: float, duration_ms: int, workdir: Path, target: str = "127.0.0.1:5060") -> None:
        scenario = workdir / "caller.xml"
        text = (SCENARIOS / "caller.xml").read_text()
        scenario.write_text(text.replace("@DURATION_MS@", str(duration_ms)).replace("@MEDIA_PORT@", "[media_port]"))
        self.procs: list[subprocess.Popen[bytes]] = []
        for n, (number, share) in enumerate(QUEUES.values()):
            r = rate * share
            calls = math.ceil(r * 3600)  # stopped by the benchmark long before
            out = (workdir / f"caller-{number}.out").open("wb")
            self.procs.append(subprocess.Popen(
                [sipp_binary(), target, "-sf", str(scenario), "-s", number, "-i", PSTN_HOST,
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
    """Bytes of each part of a 'stats' frame: per window its per-queue and per-agent figures, the grid."""
    def size(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":")))

    parts = {"agents_grid": size(view["agents"])}
    for name, window in view["windows"].items():
        parts[f"window {name}: agents"] = size(window["agents"])
        parts[f"window {name}: queues + overall"] = size(window["queues"]) + size(window["overall"])
    return parts


def entry_text(agent: Agent) -> str:
    """The agent's grid entry as every frame that carries it has it (the feed's grid_entry, compact JSON)."""
    return json.dumps(grid_entry(agent), separators=(",", ":"))


LIVE_FIELDS = ("waiting", "in_ivr", "agents")  # a queue's live picture; its longest wait ages between frames


def grid_difference(page: list[dict[str, Any]], frame: list[dict[str, Any]], most: int = 2) -> str:
    """Where two agents grids differ, for a disagreement's example: ``id.field page->frame``, the first ``most``."""
    mine, theirs = {a["agent_id"]: a for a in page}, {a["agent_id"]: a for a in frame}
    found = []
    for agent_id in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(agent_id), theirs.get(agent_id)
        if a is None or b is None:
            found.append(f"{agent_id} {'only in the frame' if a is None else 'only on the page'}")
        else:
            found += [f"{agent_id}.{k} {a.get(k)}->{b.get(k)}" for k in sorted(a.keys() | b.keys())
                      if a.get(k) != b.get(k)]
    return "; ".join(found[:most]) + (f"; {len(found) - most} more" if len(found) > most else "")


class Page:
    """A dashboard page's state: cti/web/static/dashboard.js's apply(), in Python. ``check`` compares it with a
    full 'stats' frame before that frame replaces it: the 'live' frames must have kept it right."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def apply(self, frame: dict[str, Any]) -> None:
        data, kind = frame["data"], frame["type"]
        if kind == "snapshot":
            self.state = data
            return
        state = self.state
        assert state is not None, "a frame before the snapshot"
        if kind == "stats":
            state.update(data)
        elif kind == "series":
            state["series"] = (state["series"] + [data["point"]])[-data["keep"]:]
        elif kind == "live":
            state["at"] = data["at"]
            if "agents" in data:
                grid = {a["agent_id"]: a for a in state["agents"]}
                grid.update({a["agent_id"]: a for a in data["agents"]})
                state["agents"] = [grid[a] for a in sorted(grid)]
            for window in state["windows"].values():
                for queue, live in data.get("queues", {}).items():
                    if queue in window["queues"]:
                        window["queues"][queue].update(live)
                if "overall" in data and window["overall"] is not None:
                    window["overall"].update(data["overall"])

    def check(self, stats: dict[str, Any]) -> list[str]:
        """Where the page (snapshot + every frame so far) differs from a full frame's grid and live pictures."""
        state = self.state
        assert state is not None
        wrong = [] if state["agents"] == stats["agents"] else [
            f"agents grid ({grid_difference(state['agents'], stats['agents'])})"]
        for name, window in stats["windows"].items():
            mine = state["windows"][name]
            for queue, row in window["queues"].items():
                have = mine["queues"].get(queue)
                if have is not None and any(have[f] != row[f] for f in LIVE_FIELDS):
                    wrong.append(f"{name}/{queue}")
            if window["overall"] is not None and any(mine["overall"][f] != window["overall"][f]
                                                     for f in LIVE_FIELDS):
                wrong.append(f"{name}/overall")
        return wrong


class Verifier:
    """One client per topic: parses every frame, keeps the page's state, checks it against each full frame,
    and records which probe agents' entries each frame carries (by seq)."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = defaultdict(Page)
        self.carried: dict[str, list[list[Any]]] = defaultdict(list)  # topic -> [[seq, {agent: entry}], ...]
        self.parse_s: dict[str, list[float]] = defaultdict(list)
        self.checks = 0
        self.disagreements: list[str] = []
        # A full frame's grid entries the page had not had from a live frame: topic -> agent -> entry. A live frame
        # bringing one later counts as late; one not brought by the topic's next full frame, as not sent.
        self.ahead: dict[str, dict[str, Any]] = defaultdict(dict)
        self.ahead_counts: Counter[str] = Counter()

    def __call__(self, client: Client, text: str) -> None:
        t0 = pc()
        frame = json.loads(text)
        self.parse_s[f"{client.topic} {frame['type']}"].append(pc() - t0)
        page = self.pages[client.topic]
        ahead = self.ahead[client.topic]
        if frame["type"] == "live" and ahead:
            for entry in frame["data"].get("agents", ()):
                if ahead.get(entry["agent_id"]) == entry:
                    del ahead[entry["agent_id"]]
                    self.ahead_counts["live_frame_came_later"] += 1
        if frame["type"] == "stats" and page.state is not None:
            self.checks += 1
            self.ahead_counts["no_live_frame_by_the_next_full_frame"] += len(ahead)
            ahead.clear()
            wrong = page.check(frame["data"])
            self.disagreements += [f"{client.topic} seq {frame['seq']}: {w}" for w in wrong]
            if wrong:
                have = {a["agent_id"]: a for a in page.state["agents"]}
                ahead.update({a["agent_id"]: a for a in frame["data"]["agents"] if have.get(a["agent_id"]) != a})
                self.ahead_counts["grid_entries_ahead_of_the_live_frames"] += len(ahead)
        page.apply(frame)
        if frame["type"] in ("live", "stats"):
            probes = {a["agent_id"]: [a["state"], a["reason"], a["since"]]
                      for a in frame["data"].get("agents", ()) if a["team"] == PROBE_TEAM}
            if probes:
                self.carried[client.topic].append([frame["seq"], probes])

    def dump(self) -> dict[str, Any]:
        out = {"carried": self.carried, "parse_s": self.parse_s, "checks": self.checks,
               "disagreements": self.disagreements, "ahead": dict(self.ahead_counts)}
        self.ahead_counts = Counter()
        self.carried, self.parse_s = defaultdict(list), defaultdict(list)
        self.checks, self.disagreements = 0, []
        return out


@dataclass(eq=False, slots=True)
class Change:
    idx: int
    phase: str
    agent_id: str
    t_request: float
    t_applied: float = NAN
    t_answer: float = NAN  # the API's answer received (--cluster: t_applied lies between t_request and this)
    state: str = ""
    reason: str | None = None
    since: str = ""
    key: str = ""
    error: str | None = None  # the API refused or failed the change (overload): not timed
    recv: array = field(default_factory=lambda: array("d"))  # per client: perf_counter at receipt, or nan
    seq: array = field(default_factory=lambda: array("l"))  # per client: the carrying frame's seq


class Client:
    """One dashboard: a websocket reader recording when each numbered frame and each timed change arrives, and how
    the page ended if it did (``ended``: the server closed it, the connection was lost, or it never connected)."""

    __slots__ = ("check_s", "close_code", "closed", "ended", "frames", "idx", "on_end", "on_verify", "pending", "ready",
                 "seqs", "task", "times", "topic", "where", "ws")

    def __init__(self, idx: int, topic: str, ws: ClientWebSocketResponse | None,
                 on_verify: Callable[[Client, str], None] | None = None, *, where: str = "",
                 on_end: Callable[[PageEnd], None] | None = None) -> None:
        self.idx, self.topic, self.ws, self.on_verify = idx, topic, ws, on_verify
        self.where, self.on_end = where, on_end
        self.pending: list[Change] = []
        self.seqs = array("l")
        self.times = array("d")
        self.check_s = 0.0
        self.frames = 0
        self.closed: float | None = None
        self.close_code: int | None = None
        self.ended: PageEnd | None = None
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def end(self, reason: str, detail: str) -> None:
        """The page ended (the first cause only: a lost connection's later errors say nothing more)."""
        if self.ended is None:
            self.ended = PageEnd(self.idx, reason, detail[:300], time.time(), self.ready.is_set(), self.where)
            if self.on_end is not None:
                self.on_end(self.ended)

    async def run(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            await self._receive(ws)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever stopped the reads is the page's end, said rather than lost
            self.closed, self.close_code = pc(), ws.close_code
            self.end(f"receive failed, {type(exc).__name__}", str(exc))

    async def _receive(self, ws: ClientWebSocketResponse) -> None:
        while True:
            msg = await ws.receive()
            t = pc()
            if msg.type is WSMsgType.TEXT:
                text: str = msg.data
                # A front end sends the leader's snapshot as json.dumps does by default (spaces after : and ,).
                if '"type":"snapshot"' in text[:48] or '"type": "snapshot"' in text[:50]:
                    self.ready.set()
                    if self.on_verify is not None:
                        self.on_verify(self, text)
                elif text.startswith('{"seq":'):  # published frames: '{"seq":N,"type":"live","data":...}'
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
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                self.closed, self.close_code = t, ws.close_code
                if msg.type is WSMsgType.CLOSING:  # the benchmark closed it (close_clients): not the page's end
                    return
                # CLOSE: the server's close frame (its code, its reason in extra). The others: no close frame came
                # (the connection dropped: aiohttp's 1006), with the exception met if any.
                exc = ws.exception() or (msg.data if isinstance(msg.data, BaseException) else None)
                self.end(*socket_end(msg.type is WSMsgType.CLOSE, ws.close_code,
                                     str(msg.extra or "") if msg.type is WSMsgType.CLOSE else msg.type.name, exc))
                return


CONNECT_ATTEMPTS = 8
"""A handshake answered 502/503 is tried again after 0.25, 0.5, 1 ... 5 s, as the pages do (cti.js, liveSocket)."""


SNAPSHOT_WAIT = 60.0
"""Seconds a connected page waits for its snapshot before it counts as failed."""


async def open_clients(session: ClientSession, urls: list[str], specs: list[tuple[int, str, str]], *,
                       compress: bool, concurrency: int, verify: Callable[[Client, str], None] | None,
                       refused: Counter[str] | None = None, on_end: Callable[[PageEnd], None] | None = None,
                       opened: list[Client] | None = None) -> list[Client]:
    """Connect the dashboards (idx, token, topic), dashboard ``idx`` to ``urls[idx % len(urls)]`` (the front ends
    in turn, or one server), and wait for each one's snapshot; the first client of each topic gets ``verify``.
    Handshakes refused with 502/503 and tried again are counted in ``refused`` ("<url> <status>"). A page that fails
    to connect (refused after the tries, an error, no snapshot within :data:`SNAPSHOT_WAIT`) is returned too, ended
    (``Client.ended``, told to ``on_end`` as every page's end is), with no socket: its pairs count as missed and the
    others connect on (one failure used to end the client process, and its thousand pages with it, unexplained).
    ``opened`` gets each page as it starts, for a progress report while connecting."""
    verifiers: set[str] = set()
    sem = asyncio.Semaphore(concurrency)

    async def handshake(url: str, token: str) -> ClientWebSocketResponse:
        delay = 0.25
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return await session.ws_connect(f"{url}/ws/dashboard", headers={"Authorization": f"Bearer {token}"},
                                                compress=15 if compress else 0, max_msg_size=0, autoping=True)
            except WSServerHandshakeError as exc:
                if exc.status not in (502, 503) or attempt == CONNECT_ATTEMPTS - 1:
                    raise
                if refused is not None:
                    refused[f"{url} {exc.status}"] += 1
                await asyncio.sleep(delay)
                delay = min(2 * delay, 5.0)
        raise AssertionError("unreachable")

    async def one(idx: int, token: str, topic: str) -> Client:
        url = urls[idx % len(urls)]
        async with sem:
            try:
                ws = await handshake(url, token)
            except Exception as exc:
                failed = Client(idx, topic, None, where=url, on_end=on_end)
                failed.end(*connect_failure(exc))
                if opened is not None:
                    opened.append(failed)
                return failed
            client = Client(idx, topic, ws, verify if topic not in verifiers else None, where=url, on_end=on_end)
            verifiers.add(topic)
            if opened is not None:
                opened.append(client)
            client.task = asyncio.create_task(client.run())
            ready = asyncio.ensure_future(client.ready.wait())
            try:  # the snapshot, or the page's end, or the wait's
                await asyncio.wait({client.task, ready}, timeout=SNAPSHOT_WAIT, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ready.cancel()
            if not client.ready.is_set() and client.ended is None:
                client.end(f"no snapshot within {SNAPSHOT_WAIT:g} s", f"{client.frames} frames before it")
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


# -- dashboards in other processes (the default) ------------------------------------------------------------
# perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process on the machine, so a worker's
# receive times compare with the server's t0. A worker cannot search frames for changes it has not been told
# of, so one client per topic parses every frame and records the probe agents' entries each one carries, by
# frame number; all subscribers of a topic get the same frames, so (topic, seq) says what every one received.

PROGRESS_EVERY = 10.0
"""Seconds between a client process's progress lines (only when something changed)."""


async def worker_main() -> None:
    """A client process: connects its block of dashboards, answers the benchmark's commands on stdin with one JSON
    line each on stdout (``status`` at any time; ``dump`` and ``stop`` once connected), and says on stderr what it
    does and why its pages end (the first examples of each reason as they come, a progress line every
    :data:`PROGRESS_EVERY` s while anything changes, the counts at each dump)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    if config.get("nice"):
        os.nice(config["nice"])
    name, total = config.get("name", "client"), len(config["specs"])
    verifier = Verifier()
    refused: Counter[str] = Counter()
    ends: list[PageEnd] = []
    opened: list[Client] = []
    told: Counter[str] = Counter()

    def note(message: str) -> None:
        print(f"[client {name} {time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", file=sys.stderr, flush=True)

    def emit(obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    stopping = False

    def on_end(end: PageEnd) -> None:
        if stopping:  # after the last answer: the benchmark's own close, or the cluster stopping under it
            return
        ends.append(end)
        told[end.reason] += 1
        if told[end.reason] <= EXAMPLES:
            note(f"page {end.idx} on {end.where} ended {'after its snapshot' if end.connected else 'while connecting'}"
                 f": {end.reason}: {end.detail}")

    def status() -> dict[str, Any]:
        return {"connected": sum(1 for c in opened if c.ready.is_set()), "of": total, "started": len(opened),
                "refused": dict(refused), "page_ends": summarise(ends)}

    def progress() -> str:
        now = status()
        return (f"{now['connected']}/{total} connected ({now['started']} started), {len(ends)} ended: "
                f"{now['page_ends']['by_reason']}")

    async def report() -> None:
        last = ""
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            line = progress()
            if line != last:
                note(line)
                last = line

    async def connect(session: ClientSession) -> list[Client]:
        clients = await open_clients(session, config["urls"], [tuple(s) for s in config["specs"]],
                                     compress=config["compress"], concurrency=config["concurrency"],
                                     verify=verifier, refused=refused, on_end=on_end, opened=opened)
        note(f"connecting done: {progress()}")
        emit({"ready": sum(1 for c in clients if c.ready.is_set()), "refused": refused, "page_ends": summarise(ends)})
        return clients

    note(f"pid {os.getpid()}: {total} dashboards to {', '.join(config['urls'])}, {config['concurrency']} at once, "
         f"nice {os.nice(0)}, open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    reporting = asyncio.create_task(report())
    try:
        async with ClientSession(connector=TCPConnector(limit=0)) as session:
            connecting = asyncio.create_task(connect(session))
            while True:
                line = (await reader.readline()).strip()
                if line == b"status":
                    emit({"status": status()})
                    continue
                if line == b"" and not connecting.done():  # the benchmark went away while this connected
                    connecting.cancel()
                    note(f"stdin closed while connecting: {progress()}")
                    stopping = True
                    await close_clients(opened)
                    return
                clients = await connecting
                if line in (b"dump", b"stop", b""):
                    emit({"clients": [[c.idx, c.topic, c.seqs.tolist(), c.times.tolist(), c.close_code, c.closed,
                                       c.check_s] for c in clients],
                          "verify": verifier.dump(), "frames": sum(c.frames for c in clients),
                          "page_ends": summarise(ends)})
                    note(f"{line.decode() or 'eof'}: {progress()}")
                    for c in clients:
                        c.seqs, c.times, c.check_s = array("l"), array("d"), 0.0
                if line in (b"stop", b""):
                    break
            stopping = True
            await close_clients(clients)
    except Exception as exc:
        note(f"failed: {type(exc).__name__}: {exc}; {progress()}")
        raise
    finally:
        reporting.cancel()


def first_carrying(carried: dict[str, list[list[Any]]], changes: list[Change]) -> dict[tuple[int, str], int]:
    """(change, topic) -> the first frame of the topic that carries the change's entry as the change left it."""
    ordered = {topic: sorted(frames, key=lambda f: f[0]) for topic, frames in carried.items()}
    first: dict[tuple[int, str], int] = {}
    for change in changes:
        want = [change.state, change.reason, change.since]
        for topic, frames in ordered.items():
            seq = next((q for q, entries in frames if entries.get(change.agent_id) == want), None)
            if seq is not None:
                first[(change.idx, topic)] = seq
    return first


class ServerTrace:
    """Times the feed at run time (no change to cti): every live flush and full build, every snapshot of the
    aggregator, every frame published on a dashboard topic."""

    def __init__(self) -> None:
        # ("pub", topic, seq, type, t0, t1, bytes, subscribers) | (op, t0, t1) for op in flush/full/rebuild/snap
        self.events: list[tuple[Any, ...]] = []
        self._undo: list[Callable[[], None]] = []

    def _wrap(self, owner: Any, name: str, op: str) -> None:
        original = getattr(owner, name)
        events = self.events

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = pc()
            try:
                return original(*args, **kwargs)
            finally:
                events.append((op, t0, pc()))

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def install(self, hub: Any) -> None:
        self._wrap(StatsFeed, "flush", "flush")
        self._wrap(StatsFeed, "publish", "full")
        self._wrap(StatsFeed, "_rebuild", "rebuild")
        self._wrap(LiveStats, "snapshot", "snap")
        events = self.events
        publish = hub.publish

        def timed_publish(name: str, type_: str, data: Any) -> Any:
            if not name.startswith("dashboard:"):
                return publish(name, type_, data)
            subscribers = hub.subscribers(name)
            t0 = pc()
            frame = publish(name, type_, data)
            events.append(("pub", name, frame.seq, type_, t0, pc(), len(frame.payload), subscribers))
            return frame

        hub.publish = timed_publish
        self._undo.append(lambda: delattr(hub, "publish"))

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            with contextlib.suppress(Exception):
                undo()
        self._undo = []

    def pubs(self, t_from: float, t_to: float) -> dict[tuple[str, int], tuple[Any, ...]]:
        """Frames published in [t_from, t_to), by (topic, seq)."""
        return {(e[1], e[2]): e for e in self.events if e[0] == "pub" and t_from <= e[4] < t_to}

    def ops(self, op: str, t_from: float, t_to: float) -> list[float]:
        return [e[2] - e[1] for e in self.events if e[0] == op and t_from <= e[1] < t_to]


def abridged(line: bytes, most: int = 4096) -> bytes:
    """A client process's answer as its .stdout file keeps it: whole when short; a dump's receipts (every frame's
    number and time for every page: tens of MB at thousands of pages) and its parsing clients' findings replaced by
    what they were, so the file keeps the counts and the page ends."""
    if len(line) <= most:
        return line
    try:
        answer = json.loads(line)
    except ValueError:
        return line[:most] + b"...\n"
    for key in ("clients", "verify"):
        if key in answer:
            answer[key] = f"<not kept: {len(answer[key])} entries>"
    return (json.dumps({**answer, "bytes": len(line)}) + "\n").encode()


class ConnectTimedOut(RuntimeError):
    """The client processes had not all connected their dashboards within the time given: what each said it had
    done (pages connected, why pages ended) comes with it."""

    def __init__(self, seconds: float, statuses: list[dict[str, Any]]) -> None:
        self.seconds, self.statuses = seconds, statuses
        self.page_ends = merge(s["page_ends"] for s in statuses if "page_ends" in s)
        connected = sum(s.get("connected", 0) for s in statuses)
        super().__init__(f"the dashboards had not all connected after {seconds:g} s: {connected} connected, "
                         f"{self.page_ends['pages']} pages ended: {self.page_ends['by_reason']}")

    def view(self) -> dict[str, Any]:
        return {"after_s": self.seconds, "connected": sum(s.get("connected", 0) for s in self.statuses),
                "client_processes": [{k: v for k, v in s.items() if k != "page_ends"} for s in self.statuses],
                "client_page_ends": self.page_ends}


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
        self.connect_refused: Counter[str] = Counter()  # handshakes refused (502/503) and tried again, this phase
        self.workers: list[asyncio.subprocess.Process] = []
        self.worker_labels: list[str] = []
        self.client_page_ends: dict[str, Any] = {}  # the client processes' (merged) page ends, at their last answer
        self.changes: list[Change] = []
        self.current: Change | None = None
        self.last_of: dict[str, Change] = {}
        self.phase_name = ""
        self.trace = ServerTrace()
        self.lag: list[tuple[float, float]] = []
        self.verifier = Verifier()  # dashboards in this process: one parsing client per topic
        self.parse_s: dict[str, list[float]] = defaultdict(list)
        self.verify_checks = 0
        self.verify_disagree: list[str] = []
        self.verify_ahead: Counter[str] = Counter()  # what became of a full frame's entries the page lacked
        self.first_frame_checks = 0
        self.first_frame_disagree: list[str] = []
        self._unwrap_agent_changed: Callable[[], None] = lambda: None

    @property
    def app(self) -> web.Application:
        assert self.runner is not None
        return self.runner.app

    @property
    def running(self) -> Running:
        """cti's running components (the distributor, the telephony adapter, the counters...)."""
        return self.app[RUNNING]

    @property
    def feed(self) -> StatsFeed:
        return self.app[STATS]

    # setup ---------------------------------------------------------------------------------------------
    async def start_cti(self) -> None:
        self.wrap_agent_changed()  # before the app starts: its handler table takes the wrapper
        self.runner, self.base_url, self.http = await serve_cti(self.settings)
        self.ws_http = ClientSession(connector=TCPConnector(limit=0))
        self.trace.install(self.app[HUB])

    def wrap_agent_changed(self) -> None:
        """t0 before the statistics feed sees the change: the handler table's observers of ``AgentChanged``
        are the journal, the screen pop and the feed, in that order, so a wrapper of the screen pop's entry
        sees the command after the journal queued it and before the others, where the controller's first
        observer saw it before the redesign."""
        original = ScreenPop.agent_changed
        observe = self.observe

        def agent_changed(screenpop: ScreenPop, changed: AgentChanged, distributor: Any) -> None:
            observe(changed)
            original(screenpop, changed, distributor)

        ScreenPop.agent_changed = agent_changed
        self._unwrap_agent_changed = lambda: setattr(ScreenPop, "agent_changed", original)

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def setup_people(self, supervisors: int) -> None:
        extensions = self.extensions()
        queues = list(QUEUES)
        for n in range(self.args.agents):
            primary, secondary = queues[n % 3], queues[(n + 1) % 3]
            await self.api("POST", "/api/agents", {
                "agent_id": f"bagent-{n + 1:03d}", "name": f"Agent {n + 1}",
                "profile": {"skills": {primary: 5, secondary: 2}, "team": TEAMS[n % len(TEAMS)]}}, 201)
        for n, probe in enumerate(self.probe_ids):
            await self.api("POST", "/api/agents", {"agent_id": probe, "name": f"Probe {n + 1}",
                                                   "profile": {"skills": {"probe": 1}, "team": PROBE_TEAM}}, 201)
        self.agents = [SippAgent(self.phone_port(ext), ring_ms=self.args.ring_ms,
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

    def extensions(self) -> list[str]:
        """The phones' extensions: the agents' first, then the probes'."""
        return self.settings.sim_agent_extensions()

    def phone_port(self, extension: str) -> int:
        return self.settings.sim_agent_port(extension)

    def admin_token(self) -> str:
        return self.settings.admin_token.get_secret_value()

    def ws_urls(self) -> list[str]:
        """Where the dashboards connect, dashboard ``idx`` to ``ws_urls()[idx % len]``."""
        return [self.base_url]

    def prefill_series(self, points: int) -> None:
        """Give the feed's day chart ``points`` one-minute points, as a server up for that many minutes has."""
        if points <= 0:
            return
        now = self.running.distributor.clock()
        series = [{"at": (now - timedelta(minutes=points - i)).isoformat(), "waiting": i % 7,
                   "service_level": round(0.8 + (i % 20) / 100, 4),
                   "queues": {q: {"waiting": (i + k) % 4, "service_level": round(0.75 + ((i + k) % 25) / 100, 4)}
                              for k, q in enumerate(QUEUES)}}
                  for i in range(points)]
        self.feed.series[:0] = series

    # dashboards ----------------------------------------------------------------------------------------
    def dashboard_specs(self, count: int, supervisors: int) -> list[tuple[str, str]]:
        """(token, topic) per dashboard: supervisors spread over the scopes, the rest admins (scope 'all')."""
        specs = [(self.admin_token(), "dashboard:all")] * count
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
        self.connect_refused = Counter()
        if self.args.client_processes:
            await self.start_workers(indexed)
        else:
            self.clients = await open_clients(self.ws_http, [self.base_url], indexed, compress=self.args.compress,
                                              concurrency=self.args.connect_concurrency,
                                              verify=self.verifier if self.args.verify else None,
                                              refused=self.connect_refused)
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

    async def shut_down(self) -> None:
        """Callers, dashboards, client processes, cti and phones stopped, whatever the run got to (never raises)."""
        if self.callers is not None:
            self.callers.stop()
        with contextlib.suppress(Exception):
            if self.clients or self.workers:
                await asyncio.wait_for(self.disconnect(), 60)
        for worker in self.workers:
            if worker.returncode is None:
                worker.kill()
        with contextlib.suppress(Exception):
            await self.stop_cti()
        for agent in self.agents:
            agent.stop()

    async def start_workers(self, indexed: list[tuple[int, str, str]]) -> None:
        """The client processes, each with a contiguous block of the dashboards, connected (each has said so) within
        ``--connect-timeout`` for them all; else :class:`ConnectTimedOut`, with what each said it had done. With
        --keep-logs each one's stderr (its log: why its pages ended) and what it answered on stdout (abridged) are
        kept in the run's folder, ``client-<phase>-<k>.stderr`` and ``.stdout``."""
        n = min(self.args.client_processes, len(indexed))
        self.worker_labels = [f"{self.phase_name or 'phase'}-{w + 1}" for w in range(n)]
        for w in range(n):
            log = (self.workdir / f"client-{self.worker_labels[w]}.stderr").open("ab") if self.args.keep_logs else None
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), "--worker", stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, limit=2**28)
            if log is not None:
                log.close()  # the process has its own copy
            assert proc.stdin is not None
            proc.stdin.write((json.dumps({
                "urls": self.ws_urls(), "specs": indexed[w * len(indexed) // n:(w + 1) * len(indexed) // n],
                "compress": self.args.compress, "nice": self.args.client_nice, "name": f"{self.phase_name} {w + 1}/{n}",
                "concurrency": max(1, self.args.connect_concurrency // n)}) + "\n").encode())
            await proc.stdin.drain()
            self.workers.append(proc)
        if self.args.keep_logs:
            which = "1" if n == 1 else f"{{1..{n}}}"
            say(f"  client processes' output: {self.workdir}/client-{self.phase_name}-{which}.stderr (their log) "
                f"and .stdout (their answers)")
        # Through front ends each connect also costs a request to the leader (the page's snapshot).
        limit = self.args.connect_timeout or max(300.0, len(indexed) / 10)
        deadline = pc() + limit
        self.client_page_ends = {}
        ends = []
        for w in range(n):
            try:
                line = await asyncio.wait_for(self.read_worker(w), max(0.0, deadline - pc()))
            except TimeoutError:
                raise ConnectTimedOut(limit, await self.worker_status()) from None
            if not line:
                raise RuntimeError(f"client process {w + 1} exited before its dashboards were connected"
                                   + (f" (its log: {self.workdir}/client-{self.worker_labels[w]}.stderr)"
                                      if self.args.keep_logs else ""))
            ready = json.loads(line)
            self.connect_refused.update(ready.get("refused", {}))
            ends.append(ready.get("page_ends") or summarise([]))
        self.client_page_ends = merge(ends)

    async def read_worker(self, w: int) -> bytes:
        """Client process ``w``'s next answer (b"" when it exited), copied (abridged) to its .stdout with
        --keep-logs."""
        stdout = self.workers[w].stdout
        assert stdout is not None
        line = await stdout.readline()
        if self.args.keep_logs and line:
            with (self.workdir / f"client-{self.worker_labels[w]}.stdout").open("ab") as kept:
                kept.write(abridged(line))
        return line

    async def worker_status(self) -> list[dict[str, Any]]:
        """What each client process says it has done (``status``: pages connected, why pages ended), asked while
        they may still be connecting; ``{"exited": code}`` or ``{"no_answer": ...}`` for one that cannot say."""
        statuses: list[dict[str, Any]] = []
        for w, proc in enumerate(self.workers):
            assert proc.stdin is not None
            try:
                proc.stdin.write(b"status\n")
                await proc.stdin.drain()
                while True:  # a block connected just now has its ready line first
                    line = await asyncio.wait_for(self.read_worker(w), 20)
                    if not line:
                        statuses.append({"exited": proc.returncode})
                        break
                    answer = json.loads(line)
                    if "status" in answer:
                        statuses.append(answer["status"])
                        break
            except (ConnectionError, TimeoutError) as exc:
                statuses.append({"exited": proc.returncode} if proc.returncode is not None else
                                {"no_answer": f"{type(exc).__name__}: {exc}"})
        return statuses

    async def collect_workers(self, command: str) -> list[dict[str, Any]]:
        """Ask every worker for what its dashboards received so far ("dump"), or that and close ("stop")."""
        results = []
        for proc in self.workers:
            assert proc.stdin is not None
            proc.stdin.write(command.encode() + b"\n")
            await proc.stdin.drain()
        for w in range(len(self.workers)):
            results.append(json.loads(await self.read_worker(w)))
        if command == "stop":
            for proc in self.workers:
                await asyncio.wait_for(proc.wait(), 60)
            self.workers = []
        return results

    def absorb(self, results: list[dict[str, Any]], changes: list[Change]) -> None:
        """Workers' receipts -> clients and per-change receive times: the first frame of the client's topic
        that carries the change's entry (seen by that topic's parsing client)."""
        clients: list[Client] = []
        carried: dict[str, list[list[Any]]] = defaultdict(list)
        for result in results:
            for idx, topic, seqs, times, code, closed, check_s in result["clients"]:
                client = Client(idx, topic, None)
                client.seqs, client.times, client.frames = array("l", seqs), array("d", times), len(seqs)
                client.close_code, client.closed, client.check_s = code, closed, check_s
                clients.append(client)
            self.take_verify(result["verify"], carried)
        clients.sort(key=lambda c: c.idx)
        self.client_page_ends = merge(result["page_ends"] for result in results)
        first = first_carrying(carried, changes)
        for change in changes:
            change.recv = array("d", [NAN]) * len(clients)
            change.seq = array("l", [-1]) * len(clients)
        for client in clients:
            got = dict(zip(client.seqs, client.times, strict=True))
            for change in changes:
                seq = first.get((change.idx, client.topic))
                if seq is not None and seq in got:
                    change.recv[client.idx] = got[seq]
                    change.seq[client.idx] = seq
        self.clients = clients

    def take_verify(self, dump: dict[str, Any], carried: dict[str, list[list[Any]]]) -> None:
        for topic, frames in dump["carried"].items():
            carried[topic].extend(frames)
        for key, values in dump["parse_s"].items():
            self.parse_s[key].extend(values)
        self.verify_checks += dump["checks"]
        self.verify_disagree += dump["disagreements"]
        self.verify_ahead.update(dump.get("ahead", {}))

    def verify_in_process(self, changes: list[Change]) -> None:
        """Dashboards in this process found each change by searching frames' text; their topic's parsing
        client found it by parsing: both must name the same first frame."""
        carried: dict[str, list[list[Any]]] = defaultdict(list)
        self.take_verify(self.verifier.dump(), carried)
        first = first_carrying(carried, changes)
        for client in self.clients:
            if client.on_verify is None:
                continue
            for change in changes:
                parsed = first.get((change.idx, client.topic), -1)
                self.first_frame_checks += 1
                if parsed != change.seq[client.idx]:
                    self.first_frame_disagree.append(
                        f"change {change.idx} at {client.topic}: parse {parsed}, search {change.seq[client.idx]}")

    # state changes -------------------------------------------------------------------------------------
    def observe(self, command: Command) -> None:
        change = self.current
        if change is None or not isinstance(command, AgentChanged) or command.agent.agent_id != change.agent_id:
            return
        change.t_applied = pc()
        agent = command.agent
        change.state, change.reason = agent.state.value, agent.reason
        change.since = agent.state_since.isoformat() if agent.state_since else ""
        change.key = entry_text(agent)
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
        agent = self.running.distributor.query.agent_map()[agent_id]
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
            raise RuntimeError(f"change {idx} ({agent_id} {body}) was not seen by the AgentChanged observer")

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

    async def timed_changes(self, seconds: float) -> tuple[list[Change], int, float, float, float]:
        """A phase's timed state changes, then ``--grace`` for their frames: (the changes made, how many, the worst
        lateness of one, when they started, when the last was made)."""
        first_change = len(self.changes)
        t_start = pc()
        say(f"  {seconds:g} s of state changes every {self.args.change_every:g} s")
        count, late = await self.changes_for(seconds)
        t_last = pc()
        await asyncio.sleep(self.args.grace)
        return self.changes[first_change:], count, late, t_start, t_last

    def page_ends(self) -> dict[str, Any]:
        """Why the phase's pages ended, so far (:mod:`bench._page_ends`): the client processes' last answers, or
        this process's dashboards."""
        if self.workers:
            return self.client_page_ends
        return summarise(c.ended for c in self.clients if c.ended is not None)

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
        before = Counter(self.running.counters)
        skipped0, unidentified0, reset0 = SKIPPED.count, NOT_IDENTIFIED.count, POOL_RESET.count
        meter = CpuMeter(self.root.pid() or 0, [a.proc.pid for a in self.agents if a.proc] +
                         (self.callers.pids if self.callers else []), [w.pid for w in self.workers])
        checks0, parse0 = self.verify_checks, {t: len(v) for t, v in self.parse_s.items()}
        disagree0, first0 = len(self.verify_disagree), self.first_frame_checks
        made, count, late, t_start, t_last = await self.timed_changes(seconds)
        t_end = pc()
        cpu = meter.result()
        after = Counter(self.running.counters)
        timed = [c for c in made if c.key]
        if self.workers:
            self.absorb(await self.collect_workers("dump"), timed)
        elif self.args.verify:
            self.verify_in_process(timed)
        result = self.analyse(name, [c for c in made if c.error is None], t_start, t_end, t_last)
        result["client_page_ends"] = self.page_ends()
        result["changes_failed"] = [c.error for c in made if c.error is not None]
        result.update({
            "connect_s": round(connect_s, 1), "change_lateness_max_ms": round(late * 1000, 1),
            "connect_refused_then_retried": dict(self.connect_refused),
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
        result["verify"] = {"page_checks_against_full_frames": self.verify_checks - checks0,
                            "disagreements": len(self.verify_disagree) - disagree0,
                            "first_frame_parse_vs_search_checks": self.first_frame_checks - first0}
        result["client_side"]["full_parse_ms_per_frame"] = {
            t: summary_ms(v[parse0.get(t, 0):], 3) for t, v in sorted(self.parse_s.items())
            if len(v) > parse0.get(t, 0)}
        lat = result["latency_ms"]
        say(f"  {count} changes x {dashboards} dashboards: p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms,"
            f" missed {result['frames_missed']}, changes failed {len(result['changes_failed'])}, frames/s "
            f"{result['frames']['per_s_by_type']}, calls "
            f"{result['calls']['arrived']} arrived / {result['calls']['bridged']} bridged; cores: cti+clients "
            f"{cpu['bench_process']}, client processes {cpu['client_processes']}, asterisk {cpu['asterisk']}, "
            f"sipp {cpu['sipp']}, other {cpu['other']}")
        return result

    def analyse(self, name: str, changes: list[Change], t_start: float, t_end: float,
                t_last: float) -> dict[str, Any]:
        clients = self.clients
        pubs = self.trace.pubs(t_start - 5.0, t_end + 5.0)
        latency: list[float] = []
        by_topic: dict[str, list[float]] = defaultdict(list)
        slowest: list[float] = []
        to_pub: list[float] = []
        deliver: list[float] = []
        api: list[float] = []
        carried_by: Counter[str] = Counter()
        missed = 0
        spans: list[tuple[float, float, Change]] = []
        for change in changes:
            api.append(change.t_applied - change.t_request)
            worst = 0.0
            topics_seen: set[str] = set()
            for client in clients:
                t = change.recv[client.idx]
                if math.isnan(t):
                    missed += 1
                    continue
                d = t - change.t_applied
                latency.append(d)
                by_topic[client.topic].append(d)
                worst = max(worst, d)
                pub = pubs.get((client.topic, change.seq[client.idx]))
                if pub is not None:
                    deliver.append(t - pub[5])
                    if client.topic not in topics_seen:
                        topics_seen.add(client.topic)
                        to_pub.append(pub[5] - change.t_applied)
                        carried_by[pub[3]] += 1
            slowest.append(worst)
            spans.append((change.t_applied, change.t_applied + worst, change))
        # Full collections (generation 2) stop the event loop: which changes had one under way?
        gen2 = [(t, t + d) for t, g, d in GC.pauses if g == 2 and t_start - 5 <= t < t_end]
        hit = {id(c) for a, b, c in spans if any(s < b and e > a for s, e in gen2)}
        clean = [change.recv[cl.idx] - change.t_applied for change in changes if id(change) not in hit
                 for cl in clients if not math.isnan(change.recv[cl.idx])]
        # Frames of the measured period, by type and topic, and each one's fan-out to its subscribers.
        window = [e for e in pubs.values() if t_start <= e[4] < t_end]
        wall = t_end - t_start
        arrivals: dict[tuple[str, int], list[float]] = defaultdict(list)
        frames_received = 0
        for client in clients:
            topic = client.topic
            for seq, t in zip(client.seqs, client.times, strict=True):
                if t_start <= t < t_end + 5:
                    arrivals[(topic, seq)].append(t)
                    frames_received += 1
        by_type: dict[str, dict[str, Any]] = {}
        for kind in sorted({e[3] for e in window}):
            mine = [e for e in window if e[3] == kind]
            first = [min(arrivals[(e[1], e[2])]) - e[5] for e in mine if arrivals.get((e[1], e[2]))]
            last = [max(arrivals[(e[1], e[2])]) - e[5] for e in mine if arrivals.get((e[1], e[2]))]
            by_type[kind] = {
                "frames": len(mine), "per_s": round(len(mine) / wall, 2),
                "bytes_mean": round(statistics.fmean(e[6] for e in mine)), "bytes_max": max(e[6] for e in mine),
                "messages_delivered_per_s": round(sum(e[7] for e in mine) / wall),
                "mbytes_delivered_per_s": round(sum(e[7] * e[6] for e in mine) / wall / 1e6, 3),
                "hub_publish_ms": summary_ms([e[5] - e[4] for e in mine], 3),
                "fanout_first_dashboard_ms": summary_ms(first), "fanout_last_dashboard_ms": summary_ms(last)}
        per_topic = {topic: {"subscribers": max(e[7] for e in window if e[1] == topic),
                             **{f"{kind}_frames": sum(1 for e in window if e[1] == topic and e[3] == kind)
                                for kind in by_type},
                             "stats_bytes_mean": round(statistics.fmean(
                                 [e[6] for e in window if e[1] == topic and e[3] == "stats"] or [0]))}
                     for topic in sorted({e[1] for e in window})}
        flush = self.trace.ops("flush", t_start, t_end)
        full = self.trace.ops("full", t_start, t_end)
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
                "applied_to_carrying_frame_published": summary_ms(to_pub),
                "frame_published_to_received": summary_ms(deliver),
            },
            "first_carrying_frame_type": dict(carried_by),
            "frames": {
                "per_s_by_type": {k: v["per_s"] for k, v in by_type.items()},
                "messages_delivered_per_s": round(sum(e[7] for e in window) / wall),
                "mbytes_delivered_per_s": round(sum(e[7] * e[6] for e in window) / wall / 1e6, 2),
                "by_type": by_type,
                "per_topic": per_topic,
            },
            "feed_ms": {
                "live_flush": summary_ms(flush, 3),
                "full_publish": summary_ms(full, 2),
                "full_rebuild": summary_ms(self.trace.ops("rebuild", t_start, t_end), 2),
                "livestats_snapshot": summary_ms(self.trace.ops("snap", t_start, t_end), 2),
                "loop_share_pct": round(100 * (sum(flush) + sum(full)) / wall, 1),
            },
            "client_side": {
                "frames_received": frames_received,
                "fast_path_us_per_frame": round(1e6 * check / frames, 1) if frames else None,
                "fast_path_loop_share_pct": round(100 * check / wall, 2),
            },
            "event_loop_lag_ms": summary_ms(lag),
        }

    # costs one at a time, on the final state ---------------------------------------------------------
    def offline_costs(self, reps: int = 15) -> dict[str, Any]:
        feed, agents = self.feed, self.feed.agents()
        scopes = {dashboard_topic(s): s for s in feed.scopes.values()}

        def timed(fn: Any) -> tuple[float, Any]:
            times, value = [], None
            for _ in range(reps):
                t0 = pc()
                value = fn()
                times.append(pc() - t0)
            return round(1000 * statistics.median(times), 3), value

        rebuild_ms, model = timed(feed._rebuild)
        snap_ms, snap = timed(feed.snapshot)
        live_ms, _ = timed(lambda: feed.stats.live(feed._now()))
        out: dict[str, Any] = {"full_rebuild_ms": rebuild_ms, "livestats_snapshot_ms": snap_ms,
                               "livestats_live_ms": live_ms, "series_points": len(feed.series), "topics": {}}
        tally = snap.windows["today"].overall.tally
        stats = self.running.counters
        out["books"] = {"cti_calls_arrived": stats["calls_arrived"], "cti_calls_bridged": stats["calls_bridged"],
                        "dashboard_today_offered": tally.offered, "dashboard_today_answered": tally.answered,
                        "feed_commands_skipped_time_went_backwards": SKIPPED.count,
                        "callers_not_identified_crm_timeout": NOT_IDENTIFIED.count}

        def snapshot_text(scope: Any) -> str:
            feed._snapshots.clear()  # what one connect costs when the cached snapshot is stale
            return feed.view_json(scope)

        for topic, scope in sorted(scopes.items()):
            assemble_ms, text = timed(lambda scope=scope: feed._assemble(model, scope, agents))
            loads_ms, view = timed(lambda text=text: json.loads(text))
            snapshot_ms, snapshot = timed(lambda scope=scope: snapshot_text(scope))
            out["topics"][topic] = {"stats_assemble_ms": assemble_ms, "stats_bytes": len(text),
                                    "stats_loads_ms": loads_ms, "snapshot_ms": snapshot_ms,
                                    "snapshot_bytes": len(snapshot), "grid_agents": len(view["agents"]),
                                    "stats_parts_bytes": frame_parts(view)}
        return out

    def gc_heap(self) -> dict[str, Any]:
        """What a full collection costs now, what the heap holds, what the hub's replay buffers and the live
        statistics keep."""
        def full() -> tuple[float, float]:
            t0, c0 = pc(), time.process_time()
            gc.collect()
            return round(1000 * (pc() - t0), 1), round(1000 * (time.process_time() - c0), 1)

        hub = self.app[HUB]
        buffered = {name: {"frames": len(t.buffer), "bytes": sum(len(f.payload) for f in t.buffer)}
                    for name, t in hub._topics.items() if name.startswith("dashboard:") and t.buffer}
        heap = gc.get_objects()
        kinds = Counter(type(o).__name__ for o in heap)
        wall, cpu = full()
        out = {"tracked_objects": len(heap), "top_types": dict(kinds.most_common(8)),
               "full_collection_ms": wall, "full_collection_cpu_ms": cpu, "replay_buffers": buffered}
        del heap, kinds
        # Sliding windows keep an entry per contribution until the window's start passes it; today keeps sums.
        out["livestats_entries"] = {w.window.name: {"entries": len(getattr(w, "entries", ())),
                                                    "periods": len(getattr(w, "periods", ()))}
                                    for w in self.feed.stats._windows}
        out["calls_so_far"] = self.running.counters["calls_arrived"]
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
        while self.runner is not None and self.running.distributor.query.calls() \
                and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        if self.runner is not None and self.running.distributor.query.calls():
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
                await self.running.telephony.drain()
            await self.runner.cleanup()
            self.runner = None
        self._unwrap_agent_changed()


# -- the cluster's front ends (--cluster) ---------------------------------------------------------------------------

def analyse_fronts(changes: list[Change], clients: list[Client], urls: list[str]) -> dict[str, Any]:
    """A phase's latencies over every (change, dashboard) pair, in all and by front end (dashboard ``idx`` on
    ``urls[idx % len(urls)]``): t1 (the carrying frame received) - t0 (the change applied, the controller's stamp);
    also from the request's send time (an upper bound that needs no clock but this process's)."""
    latency: list[float] = []
    from_request: list[float] = []
    by_topic: dict[str, list[float]] = defaultdict(list)
    by_front: dict[str, list[float]] = defaultdict(list)
    missed_at: Counter[str] = Counter()
    slowest: list[float] = []
    outside = 0
    for change in changes:
        # The controller stamps the change while the request is in flight; a stamp outside says the clocks disagree.
        if not change.t_request - 0.001 <= change.t_applied <= change.t_answer + 0.001:
            outside += 1
        worst = 0.0
        for client in clients:
            t = change.recv[client.idx]
            front = urls[client.idx % len(urls)]
            if math.isnan(t):
                missed_at[front] += 1
                continue
            d = t - change.t_applied
            latency.append(d)
            from_request.append(t - change.t_request)
            by_topic[client.topic].append(d)
            by_front[front].append(d)
            worst = max(worst, d)
        slowest.append(worst)
    dashboards = Counter(urls[c.idx % len(urls)] for c in clients)
    return {
        "dashboards": len(clients),
        "topics": {t: n for t, n in sorted(Counter(c.topic for c in clients).items())},
        "changes": len(changes),
        "pairs": len(changes) * len(clients),
        "latency_ms": summary_ms(latency),
        "latency_ms_from_request_sent": summary_ms(from_request),
        "latency_ms_by_topic": {t: summary_ms(v) for t, v in sorted(by_topic.items())},
        "slowest_dashboard_per_change_ms": summary_ms(slowest),
        "frames_missed": sum(missed_at.values()),
        "per_front_end": {url: {"dashboards": dashboards[url], "pairs": dashboards[url] * len(changes),
                                "frames_missed": missed_at[url], "latency_ms": summary_ms(by_front[url])}
                          for url in urls},
        "clients_closed_by_server": sum(1 for c in clients if c.closed is not None),
        "close_codes": dict(Counter(str(c.close_code) for c in clients if c.closed is not None)),
        "breakdown_ms": {
            "api_request_to_applied": summary_ms([c.t_applied - c.t_request for c in changes], 2),
            "applied_to_api_answer": summary_ms([c.t_answer - c.t_applied for c in changes], 2),
        },
        "t0_outside_its_request": outside,
    }


class FrontsBench(Bench):
    """The benchmark against the cluster's own cti (bench/_fronts.py): the API through haproxy (forwarded to the
    leading controller), the dashboards in client processes on the front ends, the SIPp phones homed on the nodes in
    turn, the callers through Kamailio. Nothing of cti runs in this process: no hook, no trace, no profile."""

    def __init__(self, args: argparse.Namespace, cluster: Any, info: dict[str, Any], workdir: Path) -> None:
        super().__init__(args, None, None, workdir)  # type: ignore[arg-type]  # no in-process cti, no single Asterisk
        self.cluster, self.info = cluster, info
        self.urls = targets(info, args.via)
        self.offset = clock_offset()
        self.probe_ready: dict[str, bool] = {}
        self.api_no_server_retries = 0

    def extensions(self) -> list[str]:
        return homed_in_turn(self.info, self.args.agents + self.args.probes)

    def phone_port(self, extension: str) -> int:
        return int(self.info["sim_agent_port_base"]) + int(extension) - 7000

    def admin_token(self) -> str:
        return str(self.info["cti"]["admin_token"])

    def ws_urls(self) -> list[str]:
        return self.urls

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """As :meth:`Bench.api`, through haproxy: a request haproxy had no front end for (both out of rotation, their
        health checks timed out under load; it reached no front end, so nothing was done) is sent again after 0.25 s,
        doubling to 2 s, for up to 20 s, and counted (``api_no_server_retries``: the run's so far)."""
        delay, deadline = 0.25, pc() + 20.0
        while True:
            try:
                return await super().api(method, path, body, expect)
            except RuntimeError as exc:
                if "HTTP 503" not in str(exc) or "No server is available" not in str(exc) or pc() > deadline:
                    raise
            self.api_no_server_retries += 1
            await asyncio.sleep(delay)
            delay = min(2 * delay, 2.0)

    async def start_api(self) -> None:
        """The API as an admin's client has it: haproxy, a front end, the leader."""
        self.base_url = str(self.info["web"]["url"])
        self.http = ClientSession(headers={"Authorization": f"Bearer {self.admin_token()}"})

    async def counters(self) -> dict[str, float]:
        """The leader's counters under the names the in-process phase reports them."""
        names = {"arrived": "calls_arrived", "bridged": "calls_bridged", "offers": "offers",
                 "offers_failed": "offers_failed", "shed": "calls_shed"}
        found = counters(await self.api("GET", "/metrics"), tuple(names.values()))
        return {mine: found[theirs] for mine, theirs in names.items()}

    async def connect(self, specs: list[tuple[str, str]]) -> float:
        started = pc()
        self.n_clients = len(specs)
        self.clients = []
        self.connect_refused = Counter()
        await self.start_workers([(i, token, topic) for i, (token, topic) in enumerate(specs)])
        return pc() - started

    async def change_once(self) -> None:
        """A probe's change through the API; t0 is the controller's stamp of it (``state_since``), on this process's
        perf_counter (:func:`bench._fronts.clock_offset`)."""
        idx = len(self.changes)
        agent_id = self.probe_ids[idx % len(self.probe_ids)]
        body: dict[str, Any] = ({"state": "not_ready", "reason": f"b{idx}"} if self.probe_ready.get(agent_id)
                                else {"state": "ready"})
        change = Change(idx, self.phase_name, agent_id, t_request=pc())
        self.changes.append(change)
        try:
            view = await self.api("POST", f"/api/agents/{agent_id}/state", body)
        except Exception as exc:  # an overloaded leader may refuse (503): count it, do not time it
            change.error = f"{type(exc).__name__}: {exc}"[:300]
            say(f"  change {idx} failed: {change.error}")
            return
        change.t_answer = pc()
        self.probe_ready[agent_id] = view["state"] == "ready"
        change.state, change.reason, change.since = view["state"], view["reason"], view["state_since"]
        change.t_applied = wall_to_pc(change.since, self.offset)
        change.key = json.dumps([change.state, change.reason, change.since])

    async def phase(self, name: str, dashboards: int, supervisors: int, seconds: float) -> dict[str, Any]:
        self.phase_name = name
        self.offset = clock_offset()
        specs = self.dashboard_specs(dashboards, supervisors)
        say(f"{name}: connecting {dashboards} dashboards in {min(self.args.client_processes, dashboards)} client "
            f"processes to {', '.join(self.urls)}")
        connect_s = await self.connect(specs)
        say(f"  connected in {connect_s:.1f} s; settling")
        await asyncio.sleep(self.args.settle)
        before = await self.counters()
        sipp = [a.proc.pid for a in self.agents if a.proc] + (self.callers.pids if self.callers else [])
        meter = FrontsCpu(self.cluster, sipp, [w.pid for w in self.workers])
        checks0, parse0 = self.verify_checks, {t: len(v) for t, v in self.parse_s.items()}
        disagree0 = len(self.verify_disagree)
        made, count, late, t_start, t_last = await self.timed_changes(seconds)
        cpu = meter.cores()
        after = await self.counters()
        wall = pc() - t_start
        timed = [c for c in made if c.error is None]
        self.absorb(await self.collect_workers("dump"), timed)
        result = analyse_fronts(timed, self.clients, self.urls)
        result["client_page_ends"] = self.page_ends()
        frames = sum(c.frames for c in self.clients)
        result.update({
            "seconds": round(t_last - t_start, 1),
            "changes_failed": [c.error for c in made if c.error is not None],
            "connect_s": round(connect_s, 1), "change_lateness_max_ms": round(late * 1000, 1),
            "connect_refused_then_retried": dict(self.connect_refused),
            "api_no_server_retries": self.api_no_server_retries,
            "calls": {k: round(after[k] - before[k]) for k in after},
            "cpu_cores": cpu,
            "verify": {"page_checks_against_full_frames": self.verify_checks - checks0,
                       "disagreements": len(self.verify_disagree) - disagree0},
            "client_side": {
                "frames_received": frames, "frames_received_per_s": round(frames / wall, 1),
                "fast_path_us_per_frame": round(1e6 * sum(c.check_s for c in self.clients) / frames, 1)
                if frames else None,
                "full_parse_ms_per_frame": {t: summary_ms(v[parse0.get(t, 0):], 3)
                                            for t, v in sorted(self.parse_s.items()) if len(v) > parse0.get(t, 0)}},
        })
        result["calls"]["arrived_per_s"] = round(result["calls"]["arrived"] / wall, 2) if wall else None
        lat = result["latency_ms"]
        fronts = {url: part["latency_ms"]["p99"] for url, part in result["per_front_end"].items()}
        say(f"  {count} changes x {dashboards} dashboards: p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms, "
            f"missed {result['frames_missed']}, changes failed {len(result['changes_failed'])}, p99 by front end "
            f"{fronts}; calls {result['calls']['arrived']} "
            f"arrived; cores: controllers {sum(v for k, v in cpu.items() if k.startswith('cti-'))}, front ends "
            f"{sum(v for k, v in cpu.items() if k.startswith('front-'))}, client processes "
            f"{cpu['client_processes']} (busiest {cpu['client_process_max']}), machine {cpu['machine']}")
        return result

    async def stop_cti(self) -> None:
        if self.http is not None:
            await self.http.close()
        self.http = None


async def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    """``--cluster``: the same changes and dashboards against the cluster's front ends (docs/benchmarks.md)."""
    t0 = time.monotonic()
    cancel_on_signals()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-fronts-", dir="/tmp"))
    rules_path = tmp / "routing.yaml"
    rules_path.write_text(yaml.safe_dump(RULES, sort_keys=False))
    supervisors = round(args.dashboards * args.supervisor_share)
    out: dict[str, Any] = {}
    bench: FrontsBench | None = None
    cluster = None
    starting: asyncio.Task[None] | None = None
    try:
        if open_files_for(args.dashboards) < 2 * args.dashboards + 1024:
            say(f"the open-file limit ({resource.getrlimit(resource.RLIMIT_NOFILE)[0]}) is below what "
                f"{args.dashboards} dashboards through haproxy need: raise the hard limit (ulimit -Hn)")
        cluster = fronts_cluster(args, tmp, args.agents + args.probes)
        say(f"starting a private cluster in {cluster.dir} (port offset {args.cluster_port_offset}, RTP from "
            f"{args.cluster_rtp_base}, {args.cluster_controllers} controllers, {args.fronts} front ends)")
        with environment({"CTI_ROUTING_RULES": str(rules_path)}):  # the controllers take the starter's environment
            starting = asyncio.create_task(asyncio.to_thread(cluster.start, 180, lambda line: say(f"  {line}")))
            await asyncio.shield(starting)  # interrupted, the start still ends before the cluster is stopped
        info = description(cluster)
        bench = FrontsBench(args, cluster, info, tmp)
        await bench.start_api()
        await bench.setup_people(supervisors)
        say(f"{args.agents} agents, {args.probes} probe agents, {supervisors} supervisors; callers at "
            f"{args.rate:g} calls/s through Kamailio")
        bench.callers = Callers(args.rate, args.caller_ms, tmp, target=info["kamailio"]["sip"])
        await asyncio.sleep(args.warmup)
        baseline = await bench.phase("baseline", 1, 0, args.baseline_seconds)
        await bench.disconnect()
        head = {
            "benchmark": "dashboard",
            "mode": "cluster",
            "asterisk": "cluster nodes " + ", ".join(n["name"] for n in info["nodes"]),
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "setup": {**run_setup(args, supervisors), "client_processes": min(args.client_processes, args.dashboards),
                      "client_nice": args.client_nice, "via": args.via,
                      "dashboards_by_target": per_target(args.dashboards, bench.urls),
                      "controllers": args.cluster_controllers, "front_ends": args.fronts,
                      "cluster_port_offset": args.cluster_port_offset, "cluster_rtp_base": args.cluster_rtp_base},
            "target_p99_ms": TARGET_P99_MS,
        }
        main: dict[str, Any] | None
        try:
            main = await bench.phase("main", args.dashboards, supervisors, args.duration)
        except ConnectTimedOut as exc:  # no answer, but what the client processes said of their pages
            say(f"  {exc}")
            out = {**head, "meets_target": False, "connect_timed_out": exc.view(),
                   "client_page_ends": {"baseline": baseline["client_page_ends"]["by_reason"],
                                        "main": exc.page_ends["by_reason"]},
                   "baseline": baseline, "main": None}
            main = None
        if main is not None:
            await bench.disconnect()
            say("stopping callers")
            bench.callers.stop()
            p99, base_p99 = main["latency_ms"]["p99"], baseline["latency_ms"]["p99"]
            out = {
                **head,
                **judged(main, baseline, bench),
                "p99_ratio_main_over_baseline": round(p99 / base_p99, 2) if p99 and base_p99 else None,
                "baseline": baseline,
                "main": main,
                # In-process measurements of cti: nothing of cti runs in this process here.
                "offline_costs": None, "gc_heap": None, "profile": None,
                "method": (
                    "cti as the cluster runs it: controllers (one leads) and front ends relaying its frame stream, "
                    "each its own process. t0 = the leader's own stamp of a probe agent's change (state_since, its "
                    "wall clock when it applied POST /api/agents/{id}/state, sent through haproxy every "
                    "change_every_s), "
                    "put on this machine's CLOCK_MONOTONIC by an offset read in the benchmark's process (checked: it "
                    "lies between the request's send and its answer, t0_outside_its_request); t1 = CLOCK_MONOTONIC "
                    "(perf_counter, one clock for every process) when a dashboard in a client process receives the "
                    "first frame that carries the agent's new grid entry (one client per topic and process parses "
                    "every frame; every subscriber's receive time of that (topic, seq) counts: the front ends relay "
                    "the leader's numbers). Dashboard idx connects to targets[idx % len]. Latency over every (change, "
                    "dashboard) pair; a pair never seen is a missed frame; the same changes with one dashboard first "
                    "are the baseline. Calls flow throughout from SIPp callers through Kamailio to three queues."),
            }
    finally:
        say("cleaning up")
        await end_cluster_run(bench, cluster, starting, tmp, args.keep_logs, say)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = 0.0
    return out


_CALL_HANDLING = "cti call handling and API (controller, ARI, routing, Redis, SQLite, pydantic)"
_CATEGORIES = (  # (file path part, function name part, category); first match wins
    ("/cti/stats/", "", "LiveStats (snapshot, live picture; cti/stats)"),
    ("stats_feed.py", "", "dashboard feed: rows and frames (stats_feed.py)"),
    ("/dataclasses.py", "", "dataclasses (replace, asdict)"),
    ("/copy.py", "", "dataclasses (replace, asdict)"),
    ("json/encoder.py", "", "JSON serialisation (server)"),
    ("json/__init__.py", "dump", "JSON serialisation (server)"),
    ("json/decoder.py", "", "JSON parsing (verifying clients, ARI events, requests)"),
    ("json/__init__.py", "load", "JSON parsing (verifying clients, ARI events, requests)"),
    ("bench/dashboard.py", "", "benchmark clients (frame search) and harness"),
    ("_websocket/writer.py", "", "websocket send (server framing, str->bytes)"),
    ("web_ws.py", "", "websocket send (server framing, str->bytes)"),
    ("cti/web/_sockets.py", "", "websocket send (server framing, str->bytes)"),
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
    ("stats_feed.py", "flush", "StatsFeed.flush: the live frames"),
    ("cti/stats/_live.py", "live", "  LiveStats.live"),
    ("stats_feed.py", "publish", "StatsFeed.publish: the full frames"),
    ("stats_feed.py", "_rebuild", "  StatsFeed._rebuild (snapshot, rows, row texts)"),
    ("cti/stats/_live.py", "snapshot", "    LiveStats.snapshot"),
    ("stats_feed.py", "_assemble", "  StatsFeed._assemble (per topic)"),
    ("stats_feed.py", "view_json", "connecting dashboards' snapshots (StatsFeed.view_json)"),
    ("cti/web/_sockets.py", "publish", "Hub.publish (json.dumps, queueing)"),
    ("cti/web/_sockets.py", "drain", "websocket sends to the dashboards (_Subscriber.drain)"),
    ("selector_events.py", "_read_ready", "socket reads (clients' frames, HTTP, ARI, Redis)"),
    ("bench/dashboard.py", "run", "benchmark clients' receive loops (frame search)"),
    ("bench/dashboard.py", "__call__", "benchmark verifying clients (json.loads, page state per frame)"),
    ("cti/telephony/_telephony.py", "_on_event", "ARI event handling"),
    ("cti/services/_distributor.py", "apply", "  core commands applied (incl. observers)"),
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


def judged(main: dict[str, Any], baseline: dict[str, Any], bench: Any) -> dict[str, Any]:
    """What both modes (in-process and --cluster) report of a run against the target: the main phase's p99, the frames
    missed, why pages ended and the page checks."""
    p99 = main["latency_ms"]["p99"]
    return {
        "meets_target": p99 is not None and p99 < TARGET_P99_MS,
        "frames_missed": main["frames_missed"] + baseline["frames_missed"],
        "client_page_ends": {"baseline": baseline["client_page_ends"]["by_reason"],
                             "main": main["client_page_ends"]["by_reason"]},
        "verify": {"page_checks_against_full_frames": bench.verify_checks,
                   "disagreements": len(bench.verify_disagree), "examples": bench.verify_disagree[:5],
                   "grid_entries_ahead": dict(bench.verify_ahead)},
    }


def run_setup(args: argparse.Namespace, supervisors: int) -> dict[str, Any]:
    """The JSON's ``setup`` keys both modes share (what was offered, to how many dashboards)."""
    return {
        "dashboards": args.dashboards, "supervisor_dashboards": supervisors,
        "scopes": [dashboard_topic(scope_of(s)) for s in SCOPES], "agents": args.agents,
        "probe_agents": args.probes, "ring_ms": args.ring_ms, "talk_ms": args.talk_ms,
        "rate": args.rate, "queues": {q: {"service": n, "share": s} for q, (n, s) in QUEUES.items()},
        "change_every_s": args.change_every, "client_compression": bool(args.compress),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-dash-"))
    rules_path = tmp / "routing.yaml"
    rules_path.write_text(yaml.safe_dump(RULES, sort_keys=False))
    settings = bench_settings(
        url, tmp, ASTERISK_ROOT,
        routing_rules=rules_path,
        sim_agents=args.agents + args.probes,
    )
    root, lock_wait = await acquire_root(settings, say)
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
        judgement = judged(main, baseline, bench)
        out = {
            "benchmark": "dashboard",
            "asterisk": version.group(1) if version else "unknown",
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "setup": {**run_setup(args, supervisors), "feed_full_interval_s": bench.feed.full_interval,
                      "client_processes": args.client_processes, "series_points_prefilled": args.series_points},
            "target_p99_ms": TARGET_P99_MS,
            **judgement,
            "verify": {**judgement["verify"],
                       "first_frame_parse_vs_search_checks": bench.first_frame_checks,
                       "first_frame_disagreements": len(bench.first_frame_disagree),
                       "first_frame_examples": bench.first_frame_disagree[:5]},
            "p99_ratio_main_over_baseline": round(p99 / base_p99, 2) if p99 and base_p99 else None,
            "baseline": baseline,
            "main": main,
            "offline_costs": costs,
            "gc_heap": {"after_setup": start_heap, "at_end": heap},
            "profile": profile,
            "method": (
                "t0 = perf_counter in an observer of the handler table (a wrapper of ScreenPop.agent_changed, after "
                "the journal, before the screen pop and the statistics feed) when the AgentChanged of a probe "
                "agent's state change "
                "(POST /api/agents/{id}/state, every change_every_s, ready or not_ready with a unique reason) is "
                "applied; t1 = perf_counter when a dashboard websocket client receives the first frame (live or "
                "stats) that carries the agent's new grid entry (client_processes > 0: one client per topic "
                "parses every frame and records the entries each carries, by seq, and every subscriber's receive "
                "time of that seq counts; 0: every client searches each frame's text for the entry's JSON). The "
                "parsing client also applies every frame to a page state as dashboard.js does and checks it "
                "against each full stats frame. Latency over every (change, dashboard) pair; a pair never seen "
                "is a missed frame. Breakdown from run-time wrappers around StatsFeed.flush/publish/_rebuild, "
                "LiveStats.snapshot and Hub.publish. Calls flow throughout from SIPp callers to three queues; "
                "SIPp agents answer and talk."),
        }
    finally:
        say("cleaning up")
        if lag_task is not None:
            lag_task.cancel()
        await bench.shut_down()
        with contextlib.suppress(Exception):
            await drop_redis_keys(url, settings.redis_prefix)
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
    p.add_argument("--client-processes", type=int, default=None,
                   help="run the dashboards in this many processes besides the server's (0: in the server's process; "
                        "default 1, with --cluster one per 1,000 dashboards)")
    p.add_argument("--client-nice", type=int, default=0,
                   help="the client processes' niceness (19: on a shared machine, the system under test goes first)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="in-process dashboards: no full JSON parse at one client per topic (client processes "
                        "always parse there: that is how they find the changes)")
    p.add_argument("--profile-seconds", type=float, default=15,
                   help="a last phase under cProfile to split the CPU by component (0: none)")
    p.add_argument("--warmup", type=float, default=5, help="seconds of calls before the first phase")
    p.add_argument("--settle", type=float, default=3, help="seconds after the dashboards connect")
    p.add_argument("--grace", type=float, default=3, help="seconds after the last change for frames to arrive")
    p.add_argument("--connect-concurrency", type=int, default=25, help="dashboards connecting at once")
    p.add_argument("--connect-timeout", type=float, default=None,
                   help="seconds for the client processes to connect all the dashboards (default: 300, or 0.1 s a "
                        "dashboard if more); past it the run ends with what they say they had done")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 100 dashboards, 15 s, baseline 6 s, no profile (under a minute)")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the work directory (SIPp output, the client processes' logs and answers, the "
                        "cluster's logs)")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    add_cluster_args(p)
    args = p.parse_args(argv)
    if args.client_processes is None:
        args.client_processes = max(1, math.ceil(args.dashboards / DASHBOARDS_PER_CLIENT)) if args.cluster else 1
    if args.cluster:
        if args.client_processes < 1:
            p.error("--cluster: the dashboards run in client processes (--client-processes 1 or more)")
        if args.series_points:
            p.error("--cluster: --series-points fills the chart of an in-process cti")
        if args.agents + args.probes > 198:
            p.error("--cluster: at most 198 agents and probes together (99 phones a node)")
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
    logging.getLogger("cti.services.stats_feed").addFilter(SKIPPED)
    logging.getLogger("cti.services").addFilter(NOT_IDENTIFIED)
    logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool").addFilter(POOL_RESET)
    gc.callbacks.append(GC)
    result = asyncio.run(run_cluster(args) if args.cluster else run(args))
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
