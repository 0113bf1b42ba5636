"""The pages' benchmarks on the cluster's web front ends (issue 21): ``bench/dashboard.py --cluster``.

What runs: the whole cluster of docs/scaling.md#topology, its own cti included (``cti.topology.Cluster``: two
Asterisk nodes, Kamailio, Redis with Sentinel, PostgreSQL, ``--cluster-controllers`` ``cti serve --standby``
controllers, ``--fronts`` ``cti front`` processes behind haproxy), started in a folder of the run's own under /tmp
on ports of its own (``--cluster-port-offset``, RTP from ``--cluster-rtp-base``) and stopped whole at the end. The
benchmark's process only drives it from outside, as a supervisor's browser and the carrier would: the API through
haproxy, SIPp, the pages' websockets from client processes.

The clock across processes: the controller stamps an agent's state change when it applies it (``state_since``, its
wall clock, the grid entry's ``since``, also in the API's answer); the clients stamp a frame's arrival with
``time.perf_counter`` (CLOCK_MONOTONIC: one clock for every process of the machine). :func:`clock_offset` ties the
two clocks together in this process, so t0 is the very instant the in-process benchmark takes (the change applied,
before any frame is built), read from the controller's own stamp rather than a hook in its process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bench._cluster import ClusterCpu, stop_cluster
from bench._harness import proc_cpu
from cti.topology import Cluster, ClusterPlan, plan_from_env

__all__ = ["FrontsCpu", "add_cluster_args", "clock_offset", "counters", "end_cluster_run", "environment",
           "fronts_cluster", "open_files_for", "per_target", "targets", "wall_to_pc"]
__all__ += ["SeededCluster"]

PORT_OFFSET = 700
"""Clear of the e2e tests' clusters (500 and 600) and of a developer's (0): docs/scaling.md, "Which part listens
where", says which offsets collide."""
RTP_BASE = 30000


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the cluster (--cluster: issue 21's topology, run as root)")
    g.add_argument("--cluster", action="store_true",
                   help="measure the cluster's front ends: cti as its own processes, the pages on `cti front`")
    g.add_argument("--cluster-port-offset", type=int, default=PORT_OFFSET, help="a private cluster's port offset")
    g.add_argument("--cluster-rtp-base", type=int, default=RTP_BASE, help="a private cluster's first RTP port")
    g.add_argument("--cluster-controllers", type=int, default=2,
                   help="a private cluster's controllers (one leads, the others stand by)")
    g.add_argument("--fronts", type=int, default=2, help="a private cluster's front ends")
    g.add_argument("--via", choices=("fronts", "haproxy"), default="fronts",
                   help="the pages connect to each front end's own port in turn, or all through haproxy")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for a while: a cluster's controllers take the environment of whoever
    starts them (any cti setting applies to all of them, docs/scaling.md#the-clusters-cti)."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def fronts_cluster(args: argparse.Namespace, workdir: Path, phones: int) -> Cluster:
    """A private cluster in ``workdir`` with ``phones`` phones homed on its nodes, not started yet. Always a private
    one: its controllers must route with the benchmark's rules (``CTI_ROUTING_RULES``, given at their start)."""
    if os.geteuid() != 0:
        raise SystemExit("--cluster starts Asterisk nodes in mount namespaces: run it as root (or use --cluster-dir)")
    per_node = -(-phones // 2)
    if per_node > 99:
        raise SystemExit("at most 198 agents and probes with a private cluster (99 phones a node)")
    env = {**os.environ, "CTI_CLUSTER_DIR": str(workdir / "cluster"),
           "CTI_CLUSTER_PORT_OFFSET": str(args.cluster_port_offset), "CTI_CLUSTER_RTP_BASE": str(args.cluster_rtp_base),
           "CTI_CLUSTER_NODES": "2", "CTI_CLUSTER_AGENTS_PER_NODE": str(per_node),
           "CTI_CLUSTER_CONTROLLERS": str(args.cluster_controllers), "CTI_CLUSTER_FRONTS": str(args.fronts)}
    for name in ("CTI_CLUSTER_SIP_PORT", "CTI_CLUSTER_WEB_PORT", "CTI_CLUSTER_WEB_BACKENDS",
                 "CTI_CLUSTER_POSTGRES_PORT"):
        env.pop(name, None)  # a developer's own cluster's settings would put this one on its ports
    return Cluster(plan_from_env(env))


async def end_cluster_run(bench: Any, cluster: Cluster | None, starting: asyncio.Future[None] | None, tmp: Path,
                          keep_logs: bool, say: Callable[[str], None]) -> None:
    """A cluster run's clean-up, after an error or an interruption too: the start ended first, the benchmark's
    clients shut down (``bench.shut_down()``), the cluster stopped, the run's folder removed unless kept."""
    if starting is not None and not starting.done():
        # Interrupted while starting: the start's thread goes on (a thread cannot be cancelled) and would start
        # parts after the stop below; it ends first (its deadline bounds the wait).
        say("  waiting for the cluster's start to end before stopping it")
        await asyncio.wait({starting})
        if starting.exception() is not None:
            say(f"  the start failed: {starting.exception()}")
    if bench is not None:
        await bench.shut_down()
    if cluster is not None and (cluster.dir / "run").exists():
        await asyncio.to_thread(stop_cluster, cluster)
    if not keep_logs:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        say(f"kept {tmp}")


def open_files_for(dashboards: int) -> int:
    """Raise this process's open-file limit (the cluster's processes and the client processes inherit it) to what
    ``dashboards`` sockets need at the busiest, haproxy (one each way); the soft limit it leaves."""
    need = 2 * dashboards + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def targets(info: dict[str, Any], via: str) -> list[str]:
    """Where the pages connect: each front end's own URL (page ``idx`` to ``targets[idx % len]``), or haproxy's."""
    if via == "haproxy":
        return [str(info["web"]["url"])]
    fronts = [str(url) for url in info["cti"]["fronts"]]
    if not fronts:
        raise SystemExit("the cluster runs no front end (CTI_CLUSTER_FRONTS=0)")
    return fronts


def per_target(count: int, urls: list[str]) -> dict[str, int]:
    """How many of ``count`` pages connect where, page ``idx`` to ``urls[idx % len(urls)]``."""
    return {url: len(range(n, count, len(urls))) for n, url in enumerate(urls)}


# -- one clock across processes ---------------------------------------------------------------------------------

def clock_offset(reads: int = 7) -> float:
    """Wall clock minus ``perf_counter`` now: of ``reads`` pairs read back to back, the one read in the least time
    (the two clocks run at one rate over a run: NTP slews CLOCK_REALTIME by at most 0.05 %)."""
    best: tuple[float, float] | None = None
    for _ in range(reads):
        a = time.perf_counter()
        wall = time.time()
        b = time.perf_counter()
        if best is None or b - a < best[0]:
            best = (b - a, wall - (a + b) / 2)
    assert best is not None
    return best[1]


def wall_to_pc(stamp: str, offset: float) -> float:
    """An ISO 8601 instant with its zone (the controller's ``state_since``) on this machine's ``perf_counter``."""
    at = datetime.fromisoformat(stamp)
    if at.tzinfo is None:
        raise ValueError(f"{stamp!r}: an instant without its zone")
    return at.timestamp() - offset


# -- what it costs -----------------------------------------------------------------------------------------------

class FrontsCpu(ClusterCpu):
    """bench/_cluster.py's meter (each part of the cluster: controllers ``cti-k``, front ends ``front-k``, nodes,
    Kamailio, haproxy, PostgreSQL, Redis) with the SIPp processes and each client process apart: a client process
    near one core would be the benchmark's own limit, not cti's."""

    def __init__(self, cluster: Cluster, sipp_pids: list[int], client_pids: list[int]) -> None:
        self.sipp_pids, self.client_pids = sipp_pids, client_pids
        super().__init__(cluster, [])

    def _sample(self) -> dict[str, float]:
        sample = super()._sample()
        sample["sipp"] = sum(proc_cpu(pid) for pid in self.sipp_pids)
        for n, pid in enumerate(self.client_pids, start=1):
            sample[f"client:{n}"] = proc_cpu(pid)
        return sample

    def cores(self) -> dict[str, Any]:
        end = self._sample()
        wall = end["wall"] - self.start["wall"]
        used = {k: end[k] - self.start.get(k, 0.0) for k in end if k != "wall"}
        clients = {k: used.pop(k) for k in list(used) if k.startswith("client:")}
        used["client_processes"] = sum(clients.values())
        used["other"] = max(0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine"))
        out: dict[str, Any] = {k: round(v / wall, 2) for k, v in used.items()}
        out["client_process_max"] = round(max(clients.values(), default=0.0) / wall, 2)
        return out


def counters(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """``cti_<name>_total`` of a controller's ``/metrics`` (Prometheus text) for each of ``names``; 0 if absent."""
    found = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        name = key.removeprefix("cti_").removesuffix("_total")
        if key.startswith("cti_") and key.endswith("_total") and name in found:
            found[name] = float(value)
    return found


# -- what the controllers read at their start ----------------------------------------------------------------------

class SeededCluster(Cluster):
    """A cluster whose database ``seed`` fills (it is given the database's URL) once PostgreSQL is up and migrated
    and before the first controller starts: what a controller reads at its start (the agents' registry, their
    logins, the CRM) is there when it reads it, and the benchmark's set-up does not go through the leader's API one
    request at a time (issue 21: 10,000 agents).

    :meth:`Cluster.start` prepares the database between its first stage (PostgreSQL, Redis, the nodes) and its
    second (the first controller); this hooks that step, so it depends on that order."""

    def __init__(self, plan: ClusterPlan, seed: Callable[[str], None]) -> None:
        super().__init__(plan)
        self._seed = seed

    def _prepare_database(self) -> None:
        super()._prepare_database()
        self._seed(self.database_url())
