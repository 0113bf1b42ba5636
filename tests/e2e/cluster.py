"""The one-machine cluster (``cti cluster``, docs/scaling.md#topology) for the e2e tests that use it: started by
``cti cluster start`` as its own process, on ports of its own (offset so a cluster a developer runs keeps its ports),
in a folder of the test's; stopped whole at the end, every process gone. The session's shared Asterisk is neither
used nor touched. Started without the cluster's own controllers and front ends (``CTI_CLUSTER_CONTROLLERS`` and
``CTI_CLUSTER_FRONTS`` 0): the tests drive the nodes themselves, or start those parts when they want them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cti.settings import DEFAULT_ASTERISK_ROOT
from cti.topology import Cluster, plan_from_env
from tests.support import unavailable

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Topology:
    env: dict[str, str]
    cluster: Cluster
    info: dict[str, Any]

    def node(self, name: str) -> dict[str, Any]:
        return next(node for node in self.info["nodes"] if node["name"] == name)


def cluster_cli(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cti", "cluster", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def running_cluster(tmp_path_factory: pytest.TempPathFactory, *, port_offset: int) -> Iterator[Topology]:
    """A whole cluster (two nodes with two homed phones each) for a test module; stopped whole at its end."""
    tools = ("kamailio", "redis-sentinel", "haproxy", "sipp", "unshare")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)} (scripts/setup.sh installs them)")
    if os.geteuid() != 0:
        unavailable("the cluster's Asterisk nodes need root (mount namespaces, chroot)")
    if not (Path(DEFAULT_ASTERISK_ROOT) / "usr/sbin/asterisk").exists():
        unavailable("no Asterisk root; run the README's test command to build it")
    env = {**os.environ, "CTI_CLUSTER_DIR": str(tmp_path_factory.mktemp("cluster")),
           "CTI_CLUSTER_PORT_OFFSET": str(port_offset), "CTI_CLUSTER_RTP_BASE": "28000",
           "CTI_CLUSTER_AGENTS_PER_NODE": "2", "CTI_ASTERISK_ROOT": DEFAULT_ASTERISK_ROOT, "PYTHONPATH": str(REPO),
           "CTI_CLUSTER_CONTROLLERS": "0", "CTI_CLUSTER_FRONTS": "0"}
    cluster = Cluster(plan_from_env(env))
    try:
        started = cluster_cli(env, "start", "--timeout", "40")
        assert started.returncode == 0, started.stderr
        info = json.loads((cluster.dir / "cluster.json").read_text())
        yield Topology(env=env, cluster=cluster, info=info)
    finally:
        # Every process group the cluster recorded, those a test started with other counts included.
        groups = {pid for name in [*cluster.names(), *cluster.recorded()] if (pid := cluster.pid(name))}
        stopped = cluster_cli(env, "stop")
        status = cluster_cli(env, "status", "--json")
        assert stopped.returncode == 0, stopped.stderr
        report = json.loads(status.stdout)
        assert report["processes"] == {name: None for name in cluster.names()}
        assert "other_processes" not in report
        assert status.returncode == 3
        assert not groups_alive(groups), f"left running: {groups_alive(groups)}"


def groups_alive(groups: set[int]) -> list[str]:
    """The processes still in any of the process groups ``groups``: their pid and command."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) in groups and fields[0] not in "ZX":
            left.append(f"{entry.name} {stat[stat.index('(') + 1:stat.rindex(')')]}")
    return left
