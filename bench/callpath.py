"""Call-path benchmark: cti (ARI) against Asterisk's own app_queue, same Asterisk, same SIPp agents.

Run from the repository root inside the venv::

    python bench/callpath.py            # default run (about 6 to 7 minutes on 2 cores)
    python bench/callpath.py --quick    # smoke run (under a minute)

It starts everything it needs (a private configuration of the shared Asterisk root, cti in-process with a
fresh SQLite database and its own Redis prefix, SIPp callers and agents), measures, cleans up, and prints
one JSON object as the last line of stdout. Progress goes to stderr. See docs/benchmarks.md.

Two paths, same agents (SIPp UAS on the static contacts of PJSIP/7001..):

* ``cti``: callers dial 1500100 -> Stasis(cti) -> cti answers, holds, originates to a ready agent and
  bridges the two legs when the agent answers.
* ``native``: callers dial 1599000 -> Answer(); Queue(native) -> app_queue rings a member and bridges
  (with two fixes to the repository's baseline configuration, see :func:`native_conf_dirs`).
  During native phases cti keeps running but every agent is logged out of it (no ready agent, and these
  calls never enter Stasis); during cti phases no agent is a member of the ``native`` queue.

Method (the same for both paths): every SIPp caller call gets a unique caller number (``prefix`` +
SIPp's call number), which Asterisk carries to the agent leg in both paths.

* t0, INVITE: SIPp ``gettimeofday`` + ``log`` actions, added to a private copy of cti's caller scenario,
  record the wall-clock time just before the caller sends its INVITE.
* t1, bridged: a second ARI application (:class:`BridgeObserver`, ``subscribeAll`` with an event filter
  that passes only ``ChannelEnteredBridge``) records Asterisk's timestamp of the join that puts the
  caller and the agent in one (non-holding) bridge. A call counts as *bridged to an agent* only then.
* Latency = t1 - t0. The agents (a private copy of cti's agent scenario) log when they receive the
  INVITE and the ACK of their 200 OK and when their own BYE after the talk time is answered, which
  splits the latency into: caller INVITE -> agent INVITE (routing), agent INVITE -> ACK (ring + answer),
  agent ACK -> bridged (post-answer bridging).

Cross-checks from the servers' own books: cti's interactions table (outcome answered, answered_at set) and
its ``calls_bridged`` counter; app_queue's ``completed`` counter (``queue show native``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/callpath.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from aiohttp import ClientSession, WSMsgType, encode_basic_auth, web  # noqa: E402

from bench._harness import (  # noqa: E402
    acquire_root,
    bench_settings,
    drop_redis_keys,
    machine_busy,
    proc_cpu,
    redis_url,
    run_and_print,
    serve_cti,
    stop_process_group,
    summary_ms,
)
from cti.asterisk import AsteriskRoot  # noqa: E402
from cti.asterisk._provision import CONF_DIRS  # noqa: E402
from cti.bootstrap import RUNNING, Running  # noqa: E402
from cti.persistence import Database, InteractionRepository  # noqa: E402
from cti.settings import Settings  # noqa: E402
from cti.sim import PSTN_HOST, SCENARIOS, free_udp_port, phone_media_ip, sipp_binary  # noqa: E402

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")
CTI_SERVICE = "1500100"
NATIVE_SERVICE = "1599000"
NATIVE_QUEUE = "native"
P99_LIMIT_MS = 2000.0
CONNECTED_MIN_PCT = 99.0


def say(message: str) -> None:
    print(f"[callpath {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- SIPp with timestamp logging --------------------------------------------------------------------------
# The scenarios are cti's own (cti/sim/scenarios), with SIPp actions added that log wall-clock timestamps.
# Each patch must apply exactly once: if cti's scenarios change shape, the benchmark refuses to run.

def _patch(text: str, old: str, new: str, name: str, count: int = 1) -> str:
    found = text.count(old)
    if found != count:
        raise RuntimeError(f"scenario {name}: expected {count}x {old!r}, found {found}; update bench/callpath.py")
    return text.replace(old, new)


def _stamp(label: str, number: str) -> str:
    return (f'<gettimeofday assign_to="bench_s,bench_us"/>'
            f'<log message="{label} {number} [$bench_s] [$bench_us]"/>')


def agent_scenario(ring_ms: int, talk_ms: int) -> str:
    if talk_ms <= 0:
        raise ValueError("the benchmark's agents hang up themselves: talk time must be above 0")
    name = "agent.xml"
    text = (SCENARIOS / name).read_text()
    for key, value in {"RING_MS": str(ring_ms), "TALK_MS": str(talk_ms),
                       "AGENT_HANGS_UP": '<nop next="agent_bye"/>'}.items():
        text = text.replace(f"@{key}@", value)
    # The caller's number (From user part) identifies the call across caller and agent logs.
    text = _patch(text, '<recv request="INVITE" crlf="true">\n    <action>',
                  '<recv request="INVITE" crlf="true">\n    <action>'
                  '<ereg regexp="sip:([^@;>]*)@" search_in="hdr" header="From:" assign_to="bench_from,bench_num"/>'
                  + _stamp("INVITE", "[$bench_num]"), name)
    text = _patch(text, '<recv request="ACK" crlf="true"/>',
                  f'<recv request="ACK" crlf="true"><action>{_stamp("ACK", "[$bench_num]")}</action></recv>', name)
    # Only reached when the agent's own BYE (after the full talk time) was answered.
    text = _patch(text, '<recv response="200"/>\n  <label id="end"/>',
                  f'<recv response="200"/>\n  <nop><action>{_stamp("DONE", "[$bench_num]")}</action></nop>\n'
                  '  <label id="end"/>', name)
    return _patch(text, "</scenario>", '<Reference variables="bench_from"/>\n</scenario>', name)


def caller_scenario(duration_ms: int) -> str:
    name = "caller.xml"
    text = (SCENARIOS / name).read_text()
    text = text.replace("@DURATION_MS@", str(duration_ms)).replace("@MEDIA_PORT@", "[media_port]")
    # One number per call: the phase's prefix followed by SIPp's call number.
    text = _patch(text, "[$caller]", "[$caller][call_number]", name, count=text.count("[$caller]"))
    number = "[$caller][call_number]"
    text = _patch(text, '<send retrans="500">\n    <![CDATA[\n      INVITE',
                  f'<nop><action>{_stamp("INVITE", number)}</action></nop>\n'
                  '  <send retrans="500">\n    <![CDATA[\n      INVITE', name)
    text = _patch(text, '<recv response="200" rtd="true"/>',
                  f'<recv response="200" rtd="true"><action>{_stamp("ANSWERED", number)}</action></recv>', name)
    # The caller gave up waiting (its time ran out before anyone hung it up).
    return _patch(text, '<label id="hangup"/>',
                  f'<label id="hangup"/>\n  <nop><action>{_stamp("GAVEUP", number)}</action></nop>', name)


# -- the native baseline's configuration ----------------------------------------------------------------

def native_conf_dirs(workdir: Path, as_configured: bool) -> tuple[tuple[Path, ...], list[str]]:
    """The configuration directories to install, and the baseline fixes applied to a private copy.

    Two settings in the repository's baseline would measure app_queue's defaults rather than its call path:

    * ``autofill`` defaults to ``no``: only the head caller may ring a member; everyone else waits until the
      head is connected, polling once a second (about one call per second, however many agents are free).
    * ``Answer()`` waits up to 500 ms for the caller's first media frame; SIPp callers send no RTP, so every
      native call would pay the full 500 ms (cti answers through ARI, which does not wait for media).

    Unless ``as_configured``, a copy of the configuration with ``autofill = yes`` in ``[native]`` and
    ``Answer(,i)`` on 1599000 is installed instead. A fix the repository already has is not applied twice.
    """
    if as_configured:
        return CONF_DIRS, []
    applied: list[str] = []
    copies = []
    for src in CONF_DIRS:
        dst = workdir / src.name
        shutil.copytree(src, dst)
        copies.append(dst)
    queues = next(d for d in copies if (d / "queues.conf").exists()) / "queues.conf"
    text = queues.read_text()
    section = re.search(r"^\[native\][^\[]*", text, re.M)
    if section is None:
        raise RuntimeError("queues.conf has no [native] queue")
    if not re.search(r"^\s*autofill\s*=", section.group(0), re.M):
        text = text[:section.start()] + "[native]\nautofill = yes\n" + text[section.start() + len("[native]\n"):]
        queues.write_text(text)
        applied.append("queues.conf [native]: autofill = yes (app_queue's default 'no' serializes callers)")
    plan = next(d for d in copies if (d / "extensions.conf").exists()) / "extensions.conf"
    text = plan.read_text()
    new_text, n = re.subn(r"^(exten\s*=>\s*1599000,1,)Answer\(\)", r"\1Answer(,i)", text, flags=re.M)
    if n:
        plan.write_text(new_text)
        applied.append("extensions.conf 1599000: Answer(,i) (Answer() waits up to 500 ms for caller media)")
    elif not re.search(r"^exten\s*=>\s*1599000,", text, re.M):
        raise RuntimeError("the dialplan has no 1599000 baseline extension")
    return tuple(copies), applied


_PR_SET_TIMERSLACK, _PR_GET_TIMERSLACK = 29, 30


@contextlib.contextmanager
def _timer_slack(ns: int) -> Iterator[None]:
    """This thread's timer slack at ``ns`` for the block (0: left as it is), put back after: a process forked in
    the block inherits it, and keeps it across its exec (prctl(2))."""
    if not ns:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    before = libc.prctl(_PR_GET_TIMERSLACK, 0, 0, 0, 0)
    libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(max(before, 1)), 0, 0, 0)


class Sipp:
    """One SIPp process in its own work directory, logging to ``events.log``.

    ``timer_slack_ns``: an idle SIPp wakes every millisecond (its poll's timeout is fixed), about 0.75 % of a core
    each on this machine; with the kernel allowed to defer those wake-ups by that much, a few hundred idle agents
    cost a fraction of that (a packet still wakes it at once; its pauses end up to the slack late)."""

    def __init__(self, scenario: str, args: list[str], timer_slack_ns: int = 0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="cti-bench-sipp-"))
        self.events = self.workdir / "events.log"
        path = self.workdir / "scenario.xml"
        path.write_text(scenario)
        out = (self.workdir / "sipp.out").open("wb")
        with _timer_slack(timer_slack_ns):
            self.proc = subprocess.Popen(
                [sipp_binary(), *args, "-sf", str(path), "-nostdin", "-trace_logs", "-log_file", str(self.events),
                 "-trace_err", "-error_file", str(self.workdir / "errors.log")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                start_new_session=True,
            )
        out.close()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return proc_cpu(self.proc.pid) if self.running else 0.0

    def read_events(self) -> list[tuple[str, str, float]]:
        return parse_events(self.events)

    def errors(self) -> str:
        path = self.workdir / "errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, keep: bool = False) -> None:
        stop_process_group(self.proc)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_agent(port: int, ring_ms: int, talk_ms: int, timer_slack_ns: int = 0) -> Sipp:
    # -f 60: no screen refresh every second (SIPp's idle loop already costs ~1 % of a core per process).
    # -mi: media on an address of the phone's own, as cti.sim's phones: on 127.0.0.1 SIPp's search for a media port
    # (100 ports up from 6000) ran out at the 51st phone, which exited at start.
    return Sipp(agent_scenario(ring_ms, talk_ms), ["-i", "127.0.0.1", "-p", str(port), "-mi", phone_media_ip(port),
                                                   "-m", "1000000", "-f", "60"], timer_slack_ns)


def start_caller(service: str, prefix: str, *, calls: int, rate: float, duration_ms: int) -> Sipp:
    return Sipp(caller_scenario(duration_ms), [
        "127.0.0.1:5060", "-s", service, "-i", PSTN_HOST, "-p", str(free_udp_port()),
        "-mp", str(free_udp_port()), "-m", str(calls), "-r", f"{rate:g}", "-rp", "1000",
        "-l", str(calls),  # never throttle: the offered load is the point
        "-set", "caller", prefix, "-set", "callername", "Bench", "-f", "60",
    ])


_EVENT = re.compile(r"^(INVITE|ACK|DONE|ANSWERED|GAVEUP|PROGRESS|REFUSED) (\S+) (\d+)(?:\.\d*)? (\d+)(?:\.\d*)?$")


def parse_events(path: Path) -> list[tuple[str, str, float]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(errors="replace").splitlines():
        match = _EVENT.match(line.strip())
        if match:
            kind, number, sec, usec = match.groups()
            events.append((kind, number, int(sec) + int(usec) / 1e6))
    return events


# -- measurements -----------------------------------------------------------------------------------------


@dataclass
class CpuMeter:
    asterisk_pid: int
    agents: list[Sipp]
    start: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        me = os.times()
        return {"asterisk": proc_cpu(self.asterisk_pid), "bench_process": me.user + me.system,
                "sipp_agents": sum(a.cpu_seconds() for a in self.agents),
                "children": me.children_user + me.children_system, "machine": machine_busy(),
                "wall": time.monotonic()}

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def result(self) -> tuple[dict[str, float], dict[str, float]]:
        """CPU use in cores (CPU seconds per wall second) and in CPU seconds, by consumer."""
        end = self._sample()
        d = {k: end[k] - self.start[k] for k in end}
        wall = d.pop("wall")
        # The caller SIPp has exited and been reaped by now: it is in the children's times. So are the
        # `asterisk -rx` CLI helpers of the native phases (a few ms each).
        sipp = d["sipp_agents"] + d["children"]
        ours = d["asterisk"] + d["bench_process"] + sipp
        cores = {"asterisk": d["asterisk"], "cti_process": d["bench_process"], "sipp": sipp,
                 "other": max(0.0, d["machine"] - ours), "machine": d["machine"]}
        return {k: round(v / wall, 2) for k, v in cores.items()}, cores


# -- the bridge observer ---------------------------------------------------------------------------------

class BridgeObserver:
    """A second ARI application that sees every bridge join in Asterisk, whoever made the bridge.

    It connects with ``subscribeAll=true`` and an event filter that lets only ``ChannelEnteredBridge``
    through. A call is bridged at the first join that leaves a non-holding bridge with two or more channels;
    the entering channel's caller (or connected) number names the call. ``timestamp`` is Asterisk's own
    clock at the join (ms resolution), the same wall clock SIPp's gettimeofday reads.
    """

    APP = "cti-bench-observer"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bridged: dict[str, float] = {}
        self.events = 0
        self.filtered = False
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = ClientSession(headers={"Authorization": encode_basic_auth(
            self.settings.ari_user, self.settings.ari_password.get_secret_value())})
        base = self.settings.ari_url
        ws_url = base.replace("http", "ws", 1) + f"/ari/events?app={self.APP}&subscribeAll=true"
        ws = await self._session.ws_connect(ws_url, heartbeat=10)
        self._task = asyncio.create_task(self._read(ws), name="bench-bridge-observer")
        async with self._session.put(f"{base}/ari/applications/{self.APP}/eventFilter",
                                     json={"allowed": [{"type": "ChannelEnteredBridge"}]}) as resp:
            self.filtered = resp.status == 200
        if not self.filtered:
            say(f"  ARI event filter refused (HTTP {resp.status}): the observer reads every event")

    async def _read(self, ws: Any) -> None:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self._handle(json.loads(msg.data))
            elif msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
                break

    def _handle(self, event: dict[str, Any]) -> None:
        if event.get("type") != "ChannelEnteredBridge":
            return
        self.events += 1
        bridge = event.get("bridge") or {}
        if (bridge.get("bridge_type") == "holding" or str(bridge.get("id", "")).startswith("cti-hold-")
                or len(bridge.get("channels") or []) < 2):
            return
        at = datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        channel = event.get("channel") or {}
        for party in ("caller", "connected"):
            number = (channel.get(party) or {}).get("number")
            if number:
                self.bridged.setdefault(number, at)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()


# -- the system under test --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, settings: Settings, root: AsteriskRoot) -> None:
        self.args = args
        self.settings = settings
        self.root = root
        self.runner: web.AppRunner | None = None
        self.http: ClientSession | None = None
        self.base_url = ""
        self.agents: list[Sipp] = []
        self.agent_talk_ms = -1
        self.agent_timer_slack_ns = 0  # SIPp's own timing (see Sipp); bench/_cluster.py's agents defer it
        self.logged_in: set[str] = set()
        self.members: set[str] = set()
        self.phase_no = 0
        self.keep_logs = args.keep_logs
        self.observer = BridgeObserver(settings)

    async def tear_down(self, url: str, private_redis: subprocess.Popen[bytes] | None, tmp: Path) -> None:
        """What a run started, stopped, whether it finished or failed: agents, observer, cti, its Redis keys,
        Asterisk, a private Redis, the scratch folder (bench/recording.py runs the same)."""
        say("cleaning up")
        self.stop_agents()
        with contextlib.suppress(Exception):
            await self.observer.stop()
        with contextlib.suppress(Exception):
            await self.stop_cti()
        with contextlib.suppress(Exception):
            await drop_redis_keys(url, self.settings.redis_prefix)
        await asyncio.to_thread(self.root.stop)
        if private_redis is not None:
            private_redis.terminate()
            private_redis.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)

    # cti ----------------------------------------------------------------------------------------------
    @property
    def running(self) -> Running:
        """cti's running components (the distributor, the telephony adapter, the counters...)."""
        assert self.runner is not None
        return self.runner.app[RUNNING]

    @property
    def db(self) -> Database:
        return self.running.database

    async def start_cti(self, extensions: list[str]) -> None:
        self.runner, self.base_url, self.http = await serve_cti(self.settings)
        for ext in extensions:
            await self.api("POST", "/api/agents", {"agent_id": f"bench-{ext}", "name": f"Bench agent {ext}"}, 201)

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def cti_login(self, extensions: list[str]) -> None:
        """Exactly these agents logged in and ready (re-readying any an earlier phase made not ready)."""
        for ext in sorted(self.logged_in - set(extensions)):
            await self.api("POST", f"/api/agents/bench-{ext}/logout")
            self.logged_in.discard(ext)
        for ext in extensions:
            await self.api("POST", f"/api/agents/bench-{ext}/login", {"extension": ext, "ready": True})
            self.logged_in.add(ext)
        states = Counter(a.state.value for a in self.running.distributor.query.agent_map().values() if a.extension)
        if states.get("ready", 0) != len(extensions):
            raise RuntimeError(f"cti agents not all ready: {dict(states)}")

    async def cti_logout_all(self) -> None:
        for ext in sorted(self.logged_in):
            await self.api("POST", f"/api/agents/bench-{ext}/logout")
        self.logged_in.clear()

    async def stop_cti(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.running.telephony.drain()
            await self.runner.cleanup()
            self.runner = None

    # Asterisk -----------------------------------------------------------------------------------------
    async def cli(self, command: str) -> str:
        return await asyncio.to_thread(self.root.cli, command)

    async def queue_members(self, extensions: list[str]) -> None:
        """Exactly these agents are members of the native queue."""
        for ext in sorted(self.members - set(extensions)):
            await self.cli(f"queue remove member PJSIP/{ext} from {NATIVE_QUEUE}")
            self.members.discard(ext)
        for ext in extensions:
            if ext not in self.members:
                await self.cli(f"queue add member PJSIP/{ext} to {NATIVE_QUEUE}")
                self.members.add(ext)
        shown = await self.cli(f"queue show {NATIVE_QUEUE}")
        listed = re.findall(r"PJSIP/(\d+)", shown)
        if sorted(listed) != sorted(extensions):
            raise RuntimeError(f"native queue members are {listed}, expected {extensions}:\n{shown}")
        unavailable = [line.strip() for line in shown.splitlines() if "PJSIP/" in line and "Unavailable" in line]
        if unavailable:
            raise RuntimeError("native queue members unavailable:\n" + "\n".join(unavailable))

    async def queue_counters(self) -> dict[str, int]:
        shown = await self.cli(f"queue show {NATIVE_QUEUE}")
        match = re.search(r"W:(\d+), C:(\d+), A:(\d+)", shown)
        if not match:
            raise RuntimeError(f"cannot read the native queue's counters:\n{shown}")
        return {"completed": int(match.group(2)), "abandoned": int(match.group(3))}

    async def active_channels(self) -> int:
        shown = await self.cli("core show channels count")
        match = re.search(r"(\d+) active channels?", shown)
        return int(match.group(1)) if match else -1

    async def settle(self, timeout: float = 60.0) -> int:
        """Wait until Asterisk has no channel left (and cti no call); returns channels hung up by force."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cti_idle = self.runner is None or not self.running.distributor.query.calls()
            if cti_idle and await self.active_channels() == 0:
                if self.runner is not None:
                    await self.running.telephony.drain()
                return 0
            await asyncio.sleep(0.5)
        leftover = await self.active_channels()
        say(f"  {leftover} channels still up after {timeout:.0f} s: hanging them up")
        await self.cli("channel request hangup all")
        await asyncio.sleep(2)
        return leftover

    # agents -------------------------------------------------------------------------------------------
    def agent_extensions(self) -> list[str]:
        """The phones the agents take, in order: 7001.. here."""
        return self.settings.sim_agent_extensions()

    async def ensure_agents(self, count: int, talk_ms: int) -> list[str]:
        """``count`` SIPp agents (:meth:`agent_extensions`) answering after ring_ms and hanging up after ``talk_ms``."""
        extensions = self.agent_extensions()[:count]
        if len(self.agents) != count or self.agent_talk_ms != talk_ms or not all(a.running for a in self.agents):
            self.stop_agents()
            self.agents = [start_agent(self.settings.sim_agent_port(ext), self.args.ring_ms, talk_ms,
                                       self.agent_timer_slack_ns) for ext in extensions]
            self.agent_talk_ms = talk_ms
            await asyncio.sleep(1.0)
            dead = [ext for ext, a in zip(extensions, self.agents, strict=True) if not a.running]
            if dead:
                raise RuntimeError(f"SIPp agents exited at start: {dead}: {self.agents[0].errors()[-500:]}")
        return extensions

    def stop_agents(self) -> None:
        for agent in self.agents:
            agent.stop(keep=self.keep_logs)
        self.agents = []

    # one measured phase -------------------------------------------------------------------------------
    async def phase(self, path: str, *, calls: int, rate: float, agents: int, talk_ms: int,
                    duration_ms: int) -> dict[str, Any]:
        self.phase_no += 1
        extensions = await self.ensure_agents(agents, talk_ms)
        if path == "cti":
            await self.queue_members([])
            await self.cti_login(extensions)
            service = CTI_SERVICE
            before_stats = Counter(self.running.counters)
        else:
            if self.runner is not None:
                await self.cti_logout_all()
            await self.queue_members(extensions)
            await self.cli(f"queue reset stats {NATIVE_QUEUE}")
            service = NATIVE_SERVICE
        # Unique per phase, same length for every phase: prefix + call number never collides.
        prefix = f"02{self.phase_no:03d}9"
        agent_marks = [len(a.read_events()) for a in self.agents]
        say(f"{path:6s} {calls} calls at {rate:g}/s, {agents} agents (ring {self.args.ring_ms} ms, "
            f"talk {talk_ms} ms)")
        started = time.monotonic()
        with CpuMeter(self.root.pid() or 0, self.agents) as meter:
            caller = start_caller(service, prefix, calls=calls, rate=rate, duration_ms=duration_ms)
            limit = calls / rate + duration_ms / 1000 + 60
            try:
                while caller.running and time.monotonic() - started < limit:  # noqa: ASYNC110
                    await asyncio.sleep(0.25)
                if caller.running:
                    say(f"  caller SIPp still running after {limit:.0f} s: stopping it")
                exit_code = caller.proc.poll()
                caller_events = caller.read_events()
                caller_errors = caller.errors()
                cpu, cpu_seconds = meter.result()  # the load period only: not the settling below
            finally:
                caller.stop(keep=self.keep_logs)
        forced = await self.settle()
        wall = time.monotonic() - started

        result = self._analyse(prefix, caller_events, agent_marks, calls)
        result.update({"service": service, "rate": rate, "agents": agents, "talk_ms": talk_ms,
                       "caller_duration_ms": duration_ms, "sipp_caller_exit": exit_code,
                       "channels_force_hung_up": forced, "wall_s": round(wall, 1), "cpu_cores": cpu,
                       # CPU per offered call: what one call through this path costs the machine.
                       "cpu_ms_per_call": {k: round(1000 * cpu_seconds[k] / calls, 2)
                                           for k in ("asterisk", "cti_process")}})
        if exit_code not in (0, None) and caller_errors:
            result["sipp_caller_errors_tail"] = caller_errors[-300:]
        if path == "cti":
            result["server"] = await self._cti_books(prefix, before_stats)
        else:
            after = await self.queue_counters()  # the stats were reset before the phase
            result["server"] = {"queue_completed": after["completed"], "queue_abandoned": after["abandoned"]}
        result["sustained"] = (result["connected_pct"] >= CONNECTED_MIN_PCT
                               and result["latency_ms"]["p99"] is not None
                               and result["latency_ms"]["p99"] <= P99_LIMIT_MS)
        lat = result["latency_ms"]
        say(f"  bridged {result['bridged']}/{calls} ({result['connected_pct']}%), latency p50 {lat['p50']} ms "
            f"p99 {lat['p99']} ms; cores: asterisk {cpu['asterisk']}, cti {cpu['cti_process']}, "
            f"sipp {cpu['sipp']}, other {cpu['other']}; {'ok' if result['sustained'] else 'NOT sustained'}")
        return result

    def _analyse(self, prefix: str, caller_events: list[tuple[str, str, float]], agent_marks: list[int],
                 calls: int) -> dict[str, Any]:
        invite_sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        gave_up = 0
        for kind, number, t in caller_events:
            if kind == "INVITE":
                invite_sent.setdefault(number, t)
            elif kind == "ANSWERED":
                answered.setdefault(number, t)
            elif kind == "GAVEUP":
                gave_up += 1
        offered: dict[str, float] = {}
        acked: dict[str, float] = {}
        done: dict[str, float] = {}
        offers = 0
        double_booked = 0
        per_agent: list[int] = []
        for agent, mark in zip(self.agents, agent_marks, strict=True):
            events = [e for e in agent.read_events()[mark:] if e[1].startswith(prefix)]
            per_agent.append(sum(1 for e in events if e[0] == "DONE"))
            mine: dict[str, dict[str, float]] = defaultdict(dict)
            for kind, number, t in events:
                mine[number].setdefault(kind, t)
                if kind == "INVITE":
                    offers += 1
                    offered.setdefault(number, t)
                elif kind == "ACK":
                    acked.setdefault(number, t)
                elif kind == "DONE":
                    done.setdefault(number, t)
            # An agent rung while it was talking on another call (between that call's ACK and its BYE).
            talking = [(n, e["ACK"], e["DONE"]) for n, e in mine.items() if "ACK" in e and "DONE" in e]
            for number, e in mine.items():
                if "INVITE" in e and any(n != number and a < e["INVITE"] < d for n, a, d in talking):
                    double_booked += 1
        joined = self.observer.bridged
        bridged = [n for n in invite_sent if n in joined]
        latency = [joined[n] - invite_sent[n] for n in bridged]
        to_agent_invite = [offered[n] - invite_sent[n] for n in bridged if n in offered]
        agent_ring = [acked[n] - offered[n] for n in bridged if n in offered and n in acked]
        ack_to_bridge = [joined[n] - acked[n] for n in bridged if n in acked]
        caller_answer = [answered[n] - invite_sent[n] for n in answered if n in invite_sent]
        sent = sorted(invite_sent.values())
        # Agent occupancy (their INVITE -> their own BYE answered) over the offered period: how close the
        # agent pool itself was to being the bottleneck.
        held = sum(done[n] - offered[n] for n in offered if n in done)
        span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
        utilization = round(100 * held / (span * len(self.agents)), 1) if span and self.agents else None
        return {
            "calls": calls,
            "invites_sent": len(invite_sent),
            "offered_rate": round((len(sent) - 1) / (sent[-1] - sent[0]), 2) if len(sent) > 1 else None,
            "bridged": len(bridged),
            "connected_pct": round(100.0 * len(bridged) / calls, 2) if calls else 0.0,
            "latency_ms": summary_ms(latency),
            "breakdown_ms": {
                "caller_invite_to_caller_200": summary_ms(caller_answer),
                "caller_invite_to_agent_invite": summary_ms(to_agent_invite),
                "agent_invite_to_agent_ack": summary_ms(agent_ring),
                "agent_ack_to_bridged": summary_ms(ack_to_bridge),
            },
            "agent_offers": offers,
            "agent_utilization_pct": utilization,
            "callers_answered": len(answered),
            "agents_answered": len([n for n in invite_sent if n in acked]),
            # Agents that answered and talked their full time, yet were never in a bridge with the caller.
            "answered_never_bridged": len([n for n in invite_sent if n in acked and n not in joined]),
            "bridged_agent_hung_up_early": len([n for n in bridged if n not in done]),
            "agent_double_booked": double_booked,
            "callers_gave_up": gave_up,
            "calls_per_agent": {"min": min(per_agent, default=0), "max": max(per_agent, default=0)},
            "_invite_sent": invite_sent,
        }

    async def _cti_books(self, prefix: str, before: Counter[str]) -> dict[str, Any]:
        await self.running.telephony.drain()
        records = [r for r in await InteractionRepository(self.db).list(limit=100_000)
                   if r.caller_number.startswith(prefix)]
        stats = Counter(self.running.counters)
        stats.subtract(before)
        answered = [r for r in records if r.outcome == "answered" and r.answered_at is not None]
        waits = [(r.answered_at - r.arrived_at).total_seconds() for r in answered if r.answered_at is not None]
        return {
            "interactions": len(records),
            "interactions_answered": len(answered),
            "outcomes": dict(Counter(r.outcome for r in records)),
            "calls_bridged_counter": stats["calls_bridged"],
            "offers_counter": stats["offers"],
            "offers_failed_counter": stats["offers_failed"],
            # Server-side view: StasisStart handled -> agent's StasisStart handled.
            "arrived_to_answered_ms": summary_ms(waits),
            "_records": records,
        }


def finish_phase(result: dict[str, Any]) -> dict[str, Any]:
    """Derive cross-checks that need both the SIPp and the server view, then drop the raw data."""
    invite_sent = result.pop("_invite_sent")
    server = result.get("server", {})
    records = server.pop("_records", None)
    if records is not None:
        offsets = [r.arrived_at.timestamp() - invite_sent[r.caller_number] for r in records
                   if r.caller_number in invite_sent]
        # How late cti learns of a call: caller's INVITE sent -> cti handled the StasisStart (arrived_at).
        server["invite_to_arrived_ms"] = summary_ms(offsets)
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    url, private_redis = redis_url()
    tmp = Path(tempfile.mkdtemp(prefix="cti-bench-"))
    step_agents = args.step_agents
    settings = bench_settings(
        url, tmp, ASTERISK_ROOT,
        sim_agents=max(50, args.agents, step_agents),  # SIP ports 21001..: clear of the RTP range 10000-20000
    )
    root, lock_wait = await acquire_root(settings, say)
    bench = Bench(args, settings, root)
    out: dict[str, Any] = {}
    try:
        if root.pid() is not None:
            await asyncio.to_thread(root.stop)  # stale: whoever started it no longer holds the lock
        conf_dirs, overrides = native_conf_dirs(tmp, args.native_as_configured)
        for line in overrides:
            say(f"native baseline fix (private copy of the configuration): {line}")
        await asyncio.to_thread(root.install_config, settings, conf_dirs)
        await asyncio.to_thread(root.start, settings)
        version = re.search(r"Asterisk (\d+\.\d+\.\d+)", await bench.cli("core show version"))
        asterisk_version = version.group(1) if version else "unknown"
        say(f"Asterisk {asterisk_version} up; starting cti")
        all_extensions = settings.sim_agent_extensions()[:max(args.agents, step_agents)]
        await bench.observer.start()
        await bench.start_cti(all_extensions)

        fixed: dict[str, Any] = {}
        for path in ("cti", "native"):
            fixed[path] = finish_phase(await bench.phase(
                path, calls=args.calls, rate=args.rate, agents=args.agents, talk_ms=args.talk_ms,
                duration_ms=args.caller_ms))

        steps: dict[str, list[dict[str, Any]]] = {"cti": [], "native": []}
        failed: set[str] = set()
        for rate in args.steps:
            for path in ("cti", "native"):
                if path in failed:
                    continue
                calls = max(20, round(rate * args.step_seconds))
                earlier: list[dict[str, Any]] = []
                for attempt in range(1 + args.retries):
                    if attempt:
                        say(f"  retrying {path} at {rate:g}/s (attempt {attempt + 1}): the machine is shared")
                    result = finish_phase(await bench.phase(
                        path, calls=calls, rate=rate, agents=step_agents, talk_ms=args.step_talk_ms,
                        duration_ms=args.step_caller_ms))
                    if result["sustained"]:
                        break
                    earlier.append(result)
                result["failed_attempts"] = [_attempt_line(r) for r in earlier if r is not result]
                steps[path].append(result)
                if not result["sustained"]:
                    failed.add(path)
            if failed == {"cti", "native"}:
                break

        def max_rate(path: str) -> float:
            """The highest step rate passed (steps stop at a path's first failure)."""
            return max((s["rate"] for s in steps[path] if s["sustained"]), default=0.0)

        cti_max, native_max = max_rate("cti"), max_rate("native")
        cti_hit = not steps["cti"] or not steps["cti"][-1]["sustained"]
        native_hit = not steps["native"] or not steps["native"][-1]["sustained"]
        bound = {(True, True): "exact", (True, False): "upper bound: native's limit is above the top step",
                 (False, True): "lower bound: cti's limit is above the top step",
                 (False, False): "unknown: neither limit reached"}[(cti_hit, native_hit)]
        out = {
            "benchmark": "callpath",
            "asterisk": asterisk_version,
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": args.loadavg_at_start},
            "native_config_fixes": overrides,
            "observer": {"event_filter": bench.observer.filtered, "bridge_joins_seen": bench.observer.events},
            "agents": args.agents,
            "ring_ms": args.ring_ms,
            "talk_ms": args.talk_ms,
            "calls": args.calls,
            "rate": args.rate,
            "cti": fixed["cti"],
            "native": fixed["native"],
            "steps": {
                "agents": step_agents, "talk_ms": args.step_talk_ms, "seconds_per_step": args.step_seconds,
                "rates": args.steps, "cti": [_step_line(s) for s in steps["cti"]],
                "native": [_step_line(s) for s in steps["native"]],
            },
            "max_sustained_rate": {
                "cti": cti_max, "native": native_max,
                "ratio": round(cti_max / native_max, 3) if native_max else None,
                "ratio_is": bound,
                "cti_limit_reached": cti_hit,
                "native_limit_reached": native_hit,
                "criterion": f"connected >= {CONNECTED_MIN_PCT:g} % and p99 latency <= {P99_LIMIT_MS:g} ms",
            },
            "method": (
                "Both paths measured the same way. Each SIPp caller call has a unique caller number that "
                "Asterisk carries to the agent leg in both paths. t0 = the caller UAC sends its INVITE (SIPp "
                "gettimeofday+log action in a private copy of cti's caller scenario). t1 = bridged: Asterisk's "
                "timestamp of the first ChannelEnteredBridge that leaves a non-holding bridge with 2 channels "
                "for that number, read by a second ARI application (subscribeAll, event filter "
                "ChannelEnteredBridge only). latency = t1 - t0; bridged = calls with such an event. "
                "Agents (SIPp UAS, same scenario copy) log INVITE/ACK/own-BYE times for the breakdown. "
                "Cross-checks: cti interactions (outcome answered, answered_at set) and its calls_bridged "
                "counter; app_queue's 'completed' counter. Native phases run with cti up but every agent "
                "logged out of cti; cti phases with the native queue empty. Rate steps: agents hang up "
                "after talk_ms, so a bridge made after the agent hung up does not count; a failed step is "
                "run again (--retries) before it counts as the limit."
            ),
        }
    finally:
        await bench.tear_down(url, private_redis, tmp)
    out["duration_s"] = round(time.monotonic() - t0, 1)
    out["waited_for_asterisk_root_s"] = round(lock_wait, 1)
    return out


def _attempt_line(s: dict[str, Any]) -> dict[str, Any]:
    return {"bridged": s["bridged"], "connected_pct": s["connected_pct"], "p99_ms": s["latency_ms"]["p99"],
            "other_cores": s["cpu_cores"]["other"]}


def _step_line(s: dict[str, Any]) -> dict[str, Any]:
    line = {k: s[k] for k in ("rate", "offered_rate", "calls", "bridged", "connected_pct", "sustained",
                              "answered_never_bridged", "agent_double_booked", "agent_utilization_pct",
                              "callers_answered", "callers_gave_up", "cpu_cores", "cpu_ms_per_call",
                              "failed_attempts")}
    line["latency_ms"] = {k: s["latency_ms"][k] for k in ("p50", "p99", "max")}
    line["to_agent_invite_ms"] = {k: s["breakdown_ms"]["caller_invite_to_agent_invite"][k] for k in ("p50", "p99")}
    line["ack_to_bridged_ms"] = {k: s["breakdown_ms"]["agent_ack_to_bridged"][k] for k in ("p50", "p99")}
    server = s.get("server", {})
    if "interactions_answered" in server:
        line["server"] = {"interactions_answered": server["interactions_answered"],
                          "calls_bridged_counter": server["calls_bridged_counter"]}
    else:
        line["server"] = {"queue_completed": server.get("queue_completed")}
    return line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--calls", type=int, default=200, help="calls per path in the fixed-rate comparison")
    p.add_argument("--rate", type=float, default=10, help="calls per second in the fixed-rate comparison")
    p.add_argument("--agents", type=int, default=20, help="SIPp agents (7001..) in the fixed-rate comparison")
    p.add_argument("--ring-ms", type=int, default=100, help="agents ring this long before answering")
    p.add_argument("--talk-ms", type=int, default=1000, help="agents hang up after talking this long")
    p.add_argument("--caller-ms", type=int, default=30000,
                   help="a caller gives up this long after being answered (both paths answer at once)")
    p.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")],
                   default=[5, 10, 20, 40, 60, 80, 100, 120],
                   help="rates (calls/s) of the max-sustained-rate search, ascending")
    p.add_argument("--step-seconds", type=float, default=15, help="length of each rate step")
    p.add_argument("--step-agents", type=int, default=50, help="SIPp agents during the rate steps")
    p.add_argument("--step-talk-ms", type=int, default=200, help="talk time during the rate steps")
    p.add_argument("--retries", type=int, default=1,
                   help="run a failed rate step again this many times before calling it the limit")
    p.add_argument("--step-caller-ms", type=int, default=10000, help="caller patience during the rate steps")
    p.add_argument("--native-as-configured", action="store_true",
                   help="run the native baseline exactly as the repository configures it (see native_conf_dirs)")
    p.add_argument("--quick", action="store_true", help="smoke run: 30 calls, steps 5,10 of 6 s")
    p.add_argument("--keep-logs", action="store_true", help="keep SIPp work directories (paths in stderr)")
    p.add_argument("--verbose", action="store_true", help="cti's own log at INFO on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.steps, args.step_seconds = min(args.calls, 30), [5.0, 10.0], 6.0
    if args.steps != sorted(args.steps):
        p.error("--steps must be ascending")
    if args.agents > 500 or args.step_agents > 500:
        p.error("at most 500 agents")
    args.loadavg_at_start = [round(x, 2) for x in os.getloadavg()]
    return args


def main(argv: list[str] | None = None) -> int:
    return run_and_print(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
