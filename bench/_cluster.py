"""The one-machine cluster (docs/scaling.md#topology) under a benchmark: bench/overload.py's ``--cluster`` mode.

What runs: the cluster (``cti.topology.Cluster``: two Asterisk media nodes, Kamailio, Redis with Sentinel, haproxy,
PostgreSQL; none of its own controllers or front ends), either started here in a folder of the run's own on ports of
its own (``--cluster-port-offset``) and stopped whole at the end, or one already running (``--cluster-dir``: left
running, its edge bounds put back as they were; started with ``CTI_CLUSTER_CONTROLLERS=0``); cti
in-process driving both nodes (``CTI_ASTERISK_NODES``) with the cluster's Redis (through the Sentinels) and
Kamailio's notes of the callers it sheds (``CTI_EDGE_SHED_STREAM``); SIPp agents on phones homed on the nodes in
turn (a, b, a, b...); SIPp callers sending their INVITEs to Kamailio.

Method, as bench/callpath.py's: every caller has a number of its own (the phase's prefix and SIPp's call number);
a call is *bridged* when a second ARI application on the call's node sees cti's call bridge (``cti-call-<id>``)
hold two channels (a phone homed on the other node is dialled there over the trunk, and that node's own bridge of
the trunk leg and the phone is not counted). The callers' scenario also logs a ``183`` (a node's early media: the
overload message) and a refusal (shed: Kamailio's ``503`` at once, or a ``500`` after the message), and acknowledges
it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import BasicAuth, ClientSession, ClientTimeout

from bench._harness import CLK_TCK, machine_busy, proc_cpu
from bench.callpath import (
    ASTERISK_ROOT,
    CONNECTED_MIN_PCT,
    CTI_SERVICE,
    P99_LIMIT_MS,
    Bench,
    BridgeObserver,
    Sipp,
    _patch,
    _stamp,
    caller_scenario,
    say,
)
from cti.asterisk import AsteriskRoot
from cti.persistence import InteractionRepository
from cti.redis_client import redis_client
from cti.settings import Settings, load_settings
from cti.sim import PSTN_HOST, free_udp_port
from cti.topology import Cluster, ClusterError, plan_from_env

__all__ = ["ClusterBench", "agents_answered", "cluster_for", "cluster_settings", "description", "stop_cluster"]

REFUSALS = (503, 500)
"""A shed caller's final answer: Kamailio's own ``503 Overloaded``, or, for one told why, the node's congestion after
the message, which Kamailio passes on as ``500`` (a proxy turns a ``503`` from downstream into a ``500``, RFC 3261
16.7)."""
SHED_COUNTERS = ("calls_arrived", "calls_bridged", "bridges_failed", "calls_shed", "calls_shed_with_message",
                 "calls_shed_at_edge", "calls_shed_at_edge_with_message")


# -- the cluster ------------------------------------------------------------------------------------------------

def cluster_for(args: argparse.Namespace, workdir: Path) -> tuple[Cluster, bool]:
    """The cluster to measure, and whether this run starts it (and stops it).

    ``--cluster-dir``: the one running there (as ``scripts/cluster start`` left it; the same ``CTI_CLUSTER_*``
    environment). Otherwise a private one in ``workdir``, ``--cluster-port-offset`` added to its ports, with enough
    phones a node for ``--agents``: :meth:`Cluster.start` it."""
    if args.cluster_dir:
        cluster = Cluster(plan_from_env({**os.environ, "CTI_CLUSTER_DIR": str(args.cluster_dir)}))
        status = cluster.status()
        processes = {**status["processes"], **status.get("other_processes", {})}
        down = [name for name, pid in processes.items()
                if pid is None and not name.startswith(("cti-", "front-")) and name != "supervisord"]
        if down:
            raise SystemExit(f"the cluster in {args.cluster_dir} is not running ({', '.join(down)} down): start it "
                             "(scripts/cluster start) or leave out --cluster-dir for a private one")
        own = [name for name, pid in processes.items() if pid is not None and name.startswith("cti-")]
        if own:
            # The run's cti, in-process, drives the nodes' ARI application: two controllers would take it in turns.
            raise SystemExit(f"the cluster in {args.cluster_dir} runs its own controllers ({', '.join(own)}): start "
                             "it with CTI_CLUSTER_CONTROLLERS=0 CTI_CLUSTER_FRONTS=0, or leave out --cluster-dir")
        return cluster, False
    if os.geteuid() != 0:
        raise SystemExit("--cluster starts Asterisk nodes in mount namespaces: run it as root (or use --cluster-dir)")
    per_node = -(-args.agents // 2)
    if per_node > 99:
        raise SystemExit("--agents: at most 198 with a private cluster (99 phones a node)")
    env = {**os.environ, "CTI_CLUSTER_DIR": str(workdir / "cluster"),
           "CTI_CLUSTER_PORT_OFFSET": str(args.cluster_port_offset), "CTI_CLUSTER_NODES": "2",
           "CTI_CLUSTER_AGENTS_PER_NODE": str(per_node), "CTI_ASTERISK_ROOT": str(ASTERISK_ROOT),
           # The run's own cti drives the nodes (in-process, measured): none of the cluster's.
           "CTI_CLUSTER_CONTROLLERS": "0", "CTI_CLUSTER_FRONTS": "0"}
    for name in ("CTI_CLUSTER_SIP_PORT", "CTI_CLUSTER_WEB_PORT", "CTI_CLUSTER_WEB_BACKENDS"):
        env.pop(name, None)  # a developer's own cluster's settings would put this one on its ports
    return Cluster(plan_from_env(env)), True


def description(cluster: Cluster) -> dict[str, Any]:
    """What the cluster wrote for its users (``cluster.json``: nodes, ARI, Kamailio, Redis)."""
    data: dict[str, Any] = json.loads((cluster.dir / "cluster.json").read_text())
    return data


def stop_cluster(cluster: Cluster) -> None:
    """Every process of a cluster this run started, with its whole process group."""
    say(f"stopping the private cluster in {cluster.dir}")
    try:
        cluster.stop()
    except ClusterError as exc:
        say(f"  {exc}")


def cluster_settings(info: dict[str, Any], workdir: Path) -> Settings:
    """cti's settings for the run: both nodes, the cluster's ARI credentials and Redis (the Sentinels' master, where
    Kamailio notes the callers it sheds), its own prefix, and the cluster's PostgreSQL (its store: SQLite's one
    writer fell behind the rows of an overload) or, for a cluster without one, a SQLite file."""
    nodes = ",".join(f"{node['name']}={node['ari_url']}" for node in info["nodes"])
    database = info.get("postgres", {}).get("url") or f"sqlite+aiosqlite:///{workdir}/cti.db"
    return load_settings(
        asterisk_nodes=nodes, ari_url=info["nodes"][0]["ari_url"], ari_user=info["ari"]["user"],
        ari_password=info["ari"]["password"], ari_app=info["ari"]["app"],
        admin_token=secrets.token_urlsafe(24), redis_url=info["redis"]["url"],
        redis_prefix=f"cti-bench-{secrets.token_hex(4)}", database_url=database,
        edge_shed_stream=info["kamailio"]["shed_stream"], asterisk_root=ASTERISK_ROOT,
        sim_agent_port_base=info["sim_agent_port_base"], sim_agents=0, http_port=0,
    )


def homed_in_turn(info: dict[str, Any], count: int) -> list[str]:
    """``count`` phones' extensions, one from each node in turn: half the agents homed on each node."""
    lists = [list(node["agents"]) for node in info["nodes"]]
    turns = [ext for group in zip(*lists, strict=False) for ext in group]
    if len(turns) < count:
        raise SystemExit(f"the cluster has {len(turns)} phones homed evenly on its nodes, not {count} "
                         "(CTI_CLUSTER_AGENTS_PER_NODE)")
    return turns[:count]


# -- callers through Kamailio -----------------------------------------------------------------------------------

def edge_caller_scenario(duration_ms: int) -> str:
    """bench/callpath.py's caller, which also logs a ``183`` (``PROGRESS``: a node's early media, the overload
    message) and a refusal (:data:`REFUSALS`, ``REFUSED``: shed), acknowledging it as a final answer to its INVITE."""
    name = "caller.xml (edge)"
    number = "[$caller][call_number]"
    text = caller_scenario(duration_ms)
    text = _patch(text, '<recv response="183" optional="true"/>',
                  f'<recv response="183" optional="true"><action>{_stamp("PROGRESS", number)}</action></recv>\n'
                  + "".join(f'  <recv response="{code}" optional="true" next="bench_refused">'
                            f'<action>{_stamp("REFUSED", number)}</action></recv>\n' for code in REFUSALS), name)
    return _patch(text, '  <label id="done"/>', """  <nop next="done"/>
  <label id="bench_refused"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <label id="done"/>""", name)


def start_edge_caller(target: str, prefix: str, *, calls: int, rate: float, duration_ms: int) -> Sipp:
    return Sipp(edge_caller_scenario(duration_ms), [
        target, "-s", CTI_SERVICE, "-i", PSTN_HOST, "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
        "-m", str(calls), "-r", f"{rate:g}", "-rp", "1000", "-l", str(calls),  # never throttle: the offered load
        "-set", "caller", prefix, "-set", "callername", "Bench", "-f", "60",
    ])


# -- what is measured -------------------------------------------------------------------------------------------

class CallBridgeObserver(BridgeObserver):
    """bench/callpath.py's observer on one node, counting only cti's call bridges (``cti-call-<id>``): the other
    node's bridge of the trunk leg and a phone homed there is made when that phone answers, not the call's."""

    def _handle(self, event: dict[str, Any]) -> None:
        if event.get("type") == "ChannelEnteredBridge":
            bridge_id = str((event.get("bridge") or {}).get("id", ""))
            if not bridge_id.startswith("cti-call-"):
                self.events += 1
                return
        super()._handle(event)


class NodesObserver:
    """One :class:`CallBridgeObserver` on each node; a number's bridge is the earliest any of them saw."""

    def __init__(self, settings: Settings, info: dict[str, Any]) -> None:
        self.parts = {node["name"]: CallBridgeObserver(settings.model_copy(update={"ari_url": node["ari_url"]}))
                      for node in info["nodes"]}

    async def start(self) -> None:
        for part in self.parts.values():
            await part.start()

    async def stop(self) -> None:
        for part in self.parts.values():
            with contextlib.suppress(Exception):
                await part.stop()

    @property
    def bridged(self) -> dict[str, float]:
        merged: dict[str, float] = {}
        for part in self.parts.values():
            for number, at in part.bridged.items():
                if number not in merged or at < merged[number]:
                    merged[number] = at
        return merged

    @property
    def events(self) -> int:
        return sum(part.events for part in self.parts.values())

    @property
    def filtered(self) -> bool:
        return all(part.filtered for part in self.parts.values())

    def bridged_on(self) -> dict[str, int]:
        return {name: len(part.bridged) for name, part in self.parts.items()}


class ClusterCpu:
    """CPU use by part of the cluster (each part's whole process group: Kamailio's children, a node's Asterisk),
    cti (this process: cti in-process, the observers), SIPp (agents, and the callers once reaped) and the machine."""

    def __init__(self, cluster: Cluster, agents: list[Sipp]) -> None:
        self.cluster = cluster
        self.agents = agents
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        by_group: dict[int, float] = defaultdict(float)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            by_group[int(fields[2])] += (int(fields[11]) + int(fields[12])) / CLK_TCK
        sample: dict[str, float] = defaultdict(float)
        for name in self.cluster.names():
            pid = self.cluster.pid(name)
            if pid is None:  # not running here: a cluster started without its own controllers or front ends
                continue
            kind = "redis_sentinels" if name.startswith(("redis-", "sentinel-")) else name
            sample[kind] += by_group.get(pid, 0.0)
        me = os.times()
        sample["cti_process"] = me.user + me.system
        sample["sipp"] = sum(proc_cpu(a.proc.pid) for a in self.agents) + me.children_user + me.children_system
        sample["machine"] = machine_busy()
        sample["wall"] = time.monotonic()
        return dict(sample)

    def cores(self) -> dict[str, float]:
        """Cores used by each since the meter started (CPU seconds per wall second)."""
        end = self._sample()
        wall = end["wall"] - self.start["wall"]
        used = {k: end[k] - self.start.get(k, 0.0) for k in end if k != "wall"}
        known = sum(v for k, v in used.items() if k != "machine")
        used["other"] = max(0.0, used["machine"] - known)
        return {k: round(v / wall, 2) for k, v in used.items()}


def agents_answered(agent_events: Iterable[tuple[str, str, float]], numbers: Collection[str],
                    bridged: Mapping[str, float]) -> dict[str, int]:
    """What became of the calls (``numbers``) an agent's phone answered, from the phones' logs (``ACK``: answered;
    ``DONE``: the phone hung up itself after its talk time and its BYE was answered) and the bridges seen.

    ``agent_hung_up_before_bridged``: the phone talked its whole ``--talk-ms`` and hung up with no bridge seen: cti
    bridged after the phone had gone ("bridging failed ... Channel not found"), the bench's phone's impatience
    rather than a caller the cluster turned away. ``ended_unbridged``: the phone's leg was ended by the far end
    before any bridge (the caller gone meanwhile). ``bridged_then_cut``: bridged, then the phone's leg ended by the
    far end before its talk time was up."""
    wanted = set(numbers)
    events = list(agent_events)  # read twice
    answered = {n for kind, n, _ in events if kind == "ACK" and n in wanted}
    done = {n for kind, n, _ in events if kind == "DONE" and n in wanted}
    joined = answered & bridged.keys()
    return {"answered": len(answered), "bridged": len(joined),
            "agent_hung_up_before_bridged": len((answered & done) - joined),
            "ended_unbridged": len(answered - done - joined), "bridged_then_cut": len(joined - done)}


def store_of(database_url: str) -> str:
    """The store a database URL names: ``postgresql`` or ``sqlite``."""
    return database_url.split(":", 1)[0].split("+", 1)[0]


# -- the run ----------------------------------------------------------------------------------------------------

class ClusterBench(Bench):
    """bench/callpath.py's :class:`Bench` (cti in-process, its agents and logins, the analysis of a phase's SIPp
    logs) on the cluster: callers through Kamailio, agents homed on the nodes in turn, an observer on each node."""

    def __init__(self, args: argparse.Namespace, settings: Settings, cluster: Cluster, info: dict[str, Any],
                 started: bool) -> None:
        super().__init__(args, settings, AsteriskRoot(ASTERISK_ROOT))  # the single Asterisk: never started here
        self.cluster, self.info, self.started = cluster, info, started
        self.extensions = homed_in_turn(info, args.agents)
        self.observer = NodesObserver(settings, info)  # type: ignore[assignment]
        self.edge_before: dict[str, int] | None = None
        self._ari: ClientSession | None = None
        self.drain_timeouts = 0
        self.agent_timer_slack_ns = int(args.agent_timer_slack_ms * 1_000_000)

    @property
    def kamailio(self) -> str:
        return str(self.info["kamailio"]["sip"])

    def home(self, extension: str) -> str:
        return next(node["name"] for node in self.info["nodes"] if extension in node["agents"])

    # the edge ----------------------------------------------------------------------------------------------
    async def set_edge(self, rate: int, message_rate: int | None = None) -> dict[str, int]:
        """Kamailio's bounds now (0: no bound), as an operator changes them (``scripts/cluster edge``)."""
        if self.edge_before is None:
            self.edge_before = await asyncio.to_thread(self.cluster.edge_rate)
        await asyncio.to_thread(self.cluster.set_edge_rate, rate, message_rate)
        return await asyncio.to_thread(self.cluster.edge_rate)

    # agents ------------------------------------------------------------------------------------------------
    def agent_extensions(self) -> list[str]:
        """Homed on the nodes in turn (their ports from the cluster's base: :func:`cluster_settings`)."""
        return self.extensions

    # the nodes ---------------------------------------------------------------------------------------------
    async def _node_channels(self) -> dict[str, list[str]]:
        if self._ari is None:
            ari = self.info["ari"]
            self._ari = ClientSession(auth=BasicAuth(ari["user"], ari["password"]), timeout=ClientTimeout(total=10))
        found = {}
        for node in self.info["nodes"]:
            async with self._ari.get(f"{node['ari_url']}/ari/channels") as resp:
                found[node["name"]] = [c["id"] for c in await resp.json()] if resp.status == 200 else []
        return found

    async def settle(self, timeout: float = 60.0) -> int:
        """Wait until no node has a channel left (and cti no call); returns channels hung up by force."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cti_idle = self.runner is None or not self.running.distributor.query.calls()
            if cti_idle and not any((await self._node_channels()).values()):
                await self._drain_or_note()
                return 0
            await asyncio.sleep(0.5)
        left = await self._node_channels()
        say(f"  {sum(map(len, left.values()))} channels still up after {timeout:.0f} s: hanging them up")
        assert self._ari is not None
        for node in self.info["nodes"]:
            for channel in left[node["name"]]:
                async with self._ari.delete(f"{node['ari_url']}/ari/channels/{channel}"):
                    pass
        await asyncio.sleep(2)
        return sum(map(len, left.values()))

    async def _drain_or_note(self) -> None:
        """:meth:`drain`, its timeout counted (``drain_timeouts``) rather than ending the run: after an unbounded
        overload the journal may still hold rows when its flush gives up, which is a finding, not a crash."""
        try:
            await self.drain()
        except TimeoutError:
            self.drain_timeouts += 1
            say("  the journal did not flush in time: rows still queued (counted in drain_timeouts)")

    async def drain(self) -> None:
        """Every node's adapter done with what it was given (the rows queued)."""
        media = self.running.media
        await (media.drain() if media is not None else self.running.telephony.drain())

    async def edge_notes_recorded(self, timeout: float = 20.0) -> None:
        """Until cti has recorded Kamailio's notes of the callers it shed: its counter still for two seconds."""
        deadline = time.monotonic() + timeout
        last, still = -1, 0
        while time.monotonic() < deadline and still < 4:
            now = self.running.counters["calls_shed_at_edge"]
            still = still + 1 if now == last else 0
            last = now
            await asyncio.sleep(0.5)
        await self._drain_or_note()

    # one measurement ---------------------------------------------------------------------------------------
    async def measure(self, label: str, segments: list[tuple[str, int, float]], *, talk_ms: int,
                      duration_ms: int) -> dict[str, Any]:
        """Callers through Kamailio: each segment's (name, calls, rate) starting when the previous one's last caller
        is due (the load changes at once, the earlier callers still in), measured until every caller is done, then
        the nodes settled and cti's books read. Per segment: bench/callpath.py's analysis of the SIPp logs, the
        callers shed (refused) with and without the message (a 183 first), the calls bridged a second during its window
        (any segment's: a caller let in earlier may be bridged later), cti's rows by outcome."""
        extensions = await self.ensure_agents(self.args.agents, talk_ms)
        await self.cti_login(extensions)
        before = Counter(self.running.counters)
        timeouts_before = self.drain_timeouts
        agent_marks = [len(a.read_events()) for a in self.agents]
        prefixes = []
        for _ in segments:
            self.phase_no += 1
            prefixes.append(f"02{self.phase_no:03d}9")
        say(f"{label}: " + ", then ".join(f"{calls} callers at {rate:g}/s" for _, calls, rate in segments)
            + f" through Kamailio, {len(extensions)} agents")
        started, wall_start = time.monotonic(), time.time()
        callers: list[Sipp] = []
        meter = ClusterCpu(self.cluster, self.agents)
        try:
            for (_, calls, rate), prefix in zip(segments, prefixes, strict=True):
                callers.append(start_edge_caller(self.kamailio, prefix, calls=calls, rate=rate,
                                                 duration_ms=duration_ms))
                if len(callers) < len(segments):
                    await asyncio.sleep(calls / rate)
            limit = sum(c / r for _, c, r in segments) + duration_ms / 1000 + 60
            while any(c.running for c in callers) and time.monotonic() - started < limit:  # noqa: ASYNC110
                await asyncio.sleep(0.25)
            if any(c.running for c in callers):
                say(f"  callers still running after {limit:.0f} s: stopping them")
            cpu = meter.cores()
            events = [c.read_events() for c in callers]
        finally:
            for caller in callers:
                caller.stop(keep=self.keep_logs)
        forced = await self.settle()
        await self.edge_notes_recorded()
        stats = Counter(self.running.counters)
        stats.subtract(before)
        records = [r for r in await InteractionRepository(self.db).list(limit=1_000_000)
                   if r.arrived_at.timestamp() >= wall_start - 1]
        bridged_at = self.observer.bridged
        result: dict[str, Any] = {"label": label, "cpu_cores": cpu, "channels_force_hung_up": forced,
                                  "wall_s": round(time.monotonic() - started, 1),
                                  "drain_timeouts": self.drain_timeouts - timeouts_before,
                                  "cti_counters": {k: stats[k] for k in SHED_COUNTERS}}
        numbers: list[str] = []
        parts = []
        for (name, calls, rate), prefix, seen_events in zip(segments, prefixes, events, strict=True):
            part = self._segment(prefix, seen_events, agent_marks, calls, rate, records)
            numbers += part.pop("_numbers")
            parts.append((name, part))
        joins = sorted(bridged_at[n] for n in numbers if n in bridged_at)
        for name, part in parts:
            t0, window = part.pop("_t0"), part["window_s"]
            inside = [t for t in joins if t0 is not None and t0 <= t < t0 + window]
            part["bridged_in_window"] = len(inside)
            part["bridged_per_s"] = round(len(inside) / window, 2) if window else None
            result[name] = part
        return result

    def _segment(self, prefix: str, events: list[tuple[str, str, float]], agent_marks: list[int], calls: int,
                 rate: float, records: list[Any]) -> dict[str, Any]:
        seen = self._analyse(prefix, events, agent_marks, calls)
        invites: dict[str, float] = seen.pop("_invite_sent")
        phones = agents_answered((e for agent, mark in zip(self.agents, agent_marks, strict=True)
                                  for e in agent.read_events()[mark:]), invites, self.observer.bridged)
        refused = {n for kind, n, _ in events if kind == "REFUSED"}
        told = {n for kind, n, _ in events if kind == "PROGRESS"} & refused
        answered = {n for kind, n, _ in events if kind == "ANSWERED"}
        bridged_at = self.observer.bridged
        bridged = [n for n in invites if n in bridged_at]
        mine = [r for r in records if r.caller_number.startswith(prefix)]
        t0 = min(invites.values()) if invites else None
        first = min((bridged_at[n] for n in bridged), default=None)
        let_in = [n for n in invites if n not in refused]
        sustained = (seen["connected_pct"] >= CONNECTED_MIN_PCT and seen["latency_ms"]["p99"] is not None
                     and seen["latency_ms"]["p99"] <= P99_LIMIT_MS)
        return {
            "rate": rate, "calls": calls, "window_s": round(calls / rate, 2),
            "invites_sent": len(invites), "offered_rate": seen["offered_rate"],
            "let_in_by_the_edge": len(let_in), "answered_by_a_node": len(answered),
            "bridged": len(bridged), "connected_pct": seen["connected_pct"],
            "bridged_of_let_in_pct": round(100 * len(bridged) / len(let_in), 2) if let_in else None,
            "latency_ms": seen["latency_ms"],
            # The phone's answer to the bridge: how near the slowest came to the phones' talk time.
            "agent_answer_to_bridged_ms": seen["breakdown_ms"]["agent_ack_to_bridged"],
            "agents_answered": phones,
            "first_bridged_after_s": round(first - t0, 3) if first is not None and t0 is not None else None,
            "shed": {"total": len(refused), "heard_the_message": len(told), "refused_at_once": len(refused - told)},
            # Let in, yet not served: callers who waited their patience out, or got no final answer at all.
            "dropped": {"gave_up_waiting": seen["callers_gave_up"],
                        "no_final_answer": len([n for n in invites if n not in answered and n not in refused]),
                        "agent_hung_up_before_bridged": phones["agent_hung_up_before_bridged"],
                        "agent_leg_ended_unbridged": phones["ended_unbridged"]},
            "rows": {f"{o}/{e}": k for (o, e), k in sorted(Counter((r.outcome, r.end_reason) for r in mine).items())},
            "agent_utilization_pct": seen["agent_utilization_pct"],
            "sustained": sustained,
            "_numbers": list(invites), "_t0": t0,
        }

    # the end -----------------------------------------------------------------------------------------------
    async def tear_down_cluster(self, tmp: Path) -> None:
        """What the run started, stopped, whether it finished or failed: agents, observers, cti, its Redis keys,
        the edge's bounds put back (a running cluster) or the whole private cluster stopped, the scratch folder."""
        say("cleaning up")
        self.stop_agents()
        await self.observer.stop()
        if self._ari is not None:
            await self._ari.close()
        with contextlib.suppress(Exception):
            await self.stop_cti()
        if self.started:
            await asyncio.to_thread(stop_cluster, self.cluster)
        else:
            with contextlib.suppress(Exception):
                await self._drop_keys()
            if self.edge_before is not None:
                with contextlib.suppress(ClusterError):
                    await asyncio.to_thread(self.cluster.set_edge_rate, self.edge_before["rate"],
                                            self.edge_before["message_rate"])
        shutil.rmtree(tmp, ignore_errors=True)

    async def _drop_keys(self) -> None:
        """The run's keys (its own prefix) in a running cluster's Redis."""
        client = redis_client(self.settings.redis_url, socket_timeout=5)
        try:
            keys = [k async for k in client.scan_iter(match=f"{self.settings.redis_prefix}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
