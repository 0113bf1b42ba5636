"""The cluster's Redis pair started again by supervisord (docs/scaling.md#redis-restarted-safely), with real
processes: a master, its replica and three Sentinels from the cluster's own files and start scripts
(cti.topology), as programs of a real supervisord, on free ports in a temporary folder, never the machine's Redis.

Redis's own warning is the danger checked: a master without persistence started again at once comes back empty,
and its replica, resyncing from it, is wiped too. Here a ``kill -9``ed master waits for the Sentinels to promote
its replica and comes back as the new master's replica (no data lost, nothing wiped); with no failover possible
(its replica down) it comes back as master with what its AOF holds; a Sentinel started again keeps what it had
learned. Every wait is a bound for a failure; the times are printed (``-s``) for docs/scaling.md."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cti.topology import ClusterPlan, plan_from_env
from cti.topology._configs import (
    REDIS_FAILOVER_WAIT_SECONDS,
    Supervised,
    redis_config,
    redis_start_script,
    sentinel_config,
    supervisor_config,
    supervisor_socket,
)
from cti.topology._supervisor import Supervisor, unexpected_exits
from tests.support import unavailable

PASSWORD = "restart-test-" + uuid.uuid4().hex[:12]
KEYS = 500


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (redis.RedisError, OSError):
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not in {timeout} s: {what}")


@dataclasses.dataclass
class Pair:
    plan: ClusterPlan
    supervisor: Supervisor
    process: subprocess.Popen[bytes]

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=PASSWORD, decode_responses=True, socket_timeout=2,
                           socket_connect_timeout=2)

    def named(self) -> tuple[str, int] | None:
        """What the first Sentinel that answers names as the master."""
        for port in self.plan.sentinel_ports:
            try:
                address = self.client(port).sentinel_get_master_addr_by_name(self.plan.master_name)
            except (redis.RedisError, OSError):
                continue
            if isinstance(address, tuple):
                return str(address[0]), int(address[1])
        return None

    def pid(self, name: str) -> int | None:
        return self.supervisor.processes()[name].pid

    def role(self, port: int) -> tuple[str, int | None, str | None]:
        """``master``/``slave``, the master it follows, its link's state."""
        info = self.client(port).info("replication")
        master = info.get("master_port")
        return info["role"], int(master) if master is not None else None, info.get("master_link_status")

    def settled(self) -> bool:
        """Each Sentinel knows the other two and the replica, and the replica follows: a failover can happen."""
        for port in self.plan.sentinel_ports:
            state: dict[str, Any] = self.client(port).sentinel_master(self.plan.master_name)  # type: ignore[assignment]
            if state.get("num-other-sentinels") != 2 or state.get("num-slaves") != 1:
                return False
        master, replica = self.plan.redis_ports
        return self.role(replica) == ("slave", master, "up")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    for tool in ("redis-server", "redis-sentinel", "redis-cli", "supervisord", "setpriv"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (scripts/setup.sh installs it)")
    master, replica, *watchers = _free_ports(5)
    plan = dataclasses.replace(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path)}), redis_ports=(master, replica),
                               sentinel_ports=tuple(watchers))
    for sub in ("log", "supervisor"):
        (tmp_path / sub).mkdir()
    programs = []
    # As cti.topology.Cluster renders and runs them (tests/unit/test_topology.py checks the cluster's own file).
    for port, replica_of in ((master, None), (replica, master)):
        (tmp_path / "redis" / str(port)).mkdir(parents=True)
        (tmp_path / "redis" / f"{port}.conf").write_text(redis_config(plan, port, PASSWORD, replica_of))
        (tmp_path / "redis" / f"start-{port}.sh").write_text(redis_start_script(plan, port))
        programs.append(Supervised(f"redis-{port}", ["setpriv", "--pdeathsig", "TERM", "--", "sh",
                                                      str(tmp_path / "redis" / f"start-{port}.sh"),
                                                      str(tmp_path / "redis" / f"{port}.conf")],
                                   {"REDISCLI_AUTH": PASSWORD}))
    for port in watchers:
        (tmp_path / "redis" / f"sentinel-{port}").mkdir(parents=True)
        (tmp_path / "redis" / f"sentinel-{port}.conf").write_text(sentinel_config(plan, port, PASSWORD))
        programs.append(Supervised(f"sentinel-{port}", ["setpriv", "--pdeathsig", "TERM", "--", "redis-sentinel",
                                                         str(tmp_path / "redis" / f"sentinel-{port}.conf")], {}))
    conf = tmp_path / "supervisor" / "supervisord.conf"
    conf.write_text(supervisor_config(plan, programs))
    process = subprocess.Popen(["supervisord", "-n", "-c", str(conf)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    setup = Pair(plan, Supervisor(supervisor_socket(plan)), process)
    try:
        _until(lambda: setup.supervisor.ready() is None, 10, "supervisord")
        for program in programs:  # in the cluster's order: the pair, then the Sentinels
            setup.supervisor.start(program.name)
            if program.name.startswith("redis-"):
                port = int(program.name.removeprefix("redis-"))
                _until(lambda port=port: setup.client(port).ping(), 10, f"redis {port}")
        _until(setup.settled, 30, "the master, its replica and three Sentinels")
        yield setup
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _fill(client: redis.Redis, tag: str) -> None:
    with client.pipeline(transaction=False) as pipe:
        for i in range(KEYS):
            pipe.set(f"{tag}:{i}", i)
        pipe.execute()


def _holds(client: redis.Redis, tag: str) -> bool:
    return len(client.keys(f"{tag}:*")) == KEYS


def test_a_killed_master_started_again_at_once_waits_for_the_failover_and_follows_the_new_master(pair: Pair) -> None:
    master, replica = pair.plan.redis_ports
    first = pair.client(master)
    _fill(first, "before")
    assert first.wait(1, 2000) == 1  # replicated before the kill
    pid = pair.pid(f"redis-{master}")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    # supervisord starts it again at once: its script waits, closed, for the Sentinels to fail over.
    _until(lambda: pair.pid(f"redis-{master}") not in (None, pid), 5, "supervisord starts the master again")
    print(f"a new process {time.monotonic() - killed:.2f} s after the kill")
    _until(lambda: pair.named() == ("127.0.0.1", replica), 20, "the Sentinels promote the replica")
    print(f"the replica promoted {time.monotonic() - killed:.2f} s after the kill")
    promoted = pair.client(replica)
    assert _holds(promoted, "before")  # not wiped: it never resynced from an empty master
    promoted.set("after", "failover")
    # The old master comes back as the new master's replica, with everything, the write after the failover too.
    _until(lambda: pair.role(master) == ("slave", replica, "up"), 20, "the old master follows the new one")
    print(f"the old master a synced replica {time.monotonic() - killed:.2f} s after the kill")
    assert _holds(first, "before") and first.get("after") == "failover"
    assert "starting as its replica" in (pair.plan.directory / "log" / f"redis-{master}.log").read_text()
    log = (pair.plan.directory / "log" / "supervisord.log").read_text()
    assert unexpected_exits(log, pair.process.pid) == {f"redis-{master}": 1}

    # A Sentinel killed and started again keeps what it learned (its file, which it rewrote): it names the new
    # master from its first answer (a file rendered anew would name the old one).
    sentinel = pair.plan.sentinel_ports[0]
    pid = pair.pid(f"sentinel-{sentinel}")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _until(lambda: pair.pid(f"sentinel-{sentinel}") not in (None, pid), 5, "supervisord starts the Sentinel again")
    answer = _until(lambda: pair.client(sentinel).sentinel_get_master_addr_by_name(pair.plan.master_name), 10,
                    "the Sentinel answers")
    assert tuple(answer) == ("127.0.0.1", str(replica)) or tuple(answer) == ("127.0.0.1", replica)

    # The replica (the old master) killed: started again as the master's replica at once, nothing lost anywhere.
    pid = pair.pid(f"redis-{master}")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _until(lambda: pair.role(master) == ("slave", replica, "up"), 20, "the replica follows again")
    print(f"a killed replica synced again {time.monotonic() - killed:.2f} s after the kill")
    assert pair.named() == ("127.0.0.1", replica)
    assert _holds(promoted, "before") and _holds(first, "before") and first.get("after") == "failover"


def test_with_no_failover_possible_the_killed_master_comes_back_as_master_from_its_aof(pair: Pair) -> None:
    master, replica = pair.plan.redis_ports
    pair.supervisor.stop(f"redis-{replica}", 10)  # no replica: the Sentinels cannot fail over
    first = pair.client(master)
    _fill(first, "alone")  # on the master alone (and in its AOF)
    # appendfsync everysec: Redis answers before its write to the file while an fsync is under way, for up to 2 s;
    # what it acknowledged longer ago than that is in the file (the loss a kill can cost: docs/scaling.md).
    time.sleep(2.5)
    pid = pair.pid(f"redis-{master}")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _until(lambda: first.ping(), REDIS_FAILOVER_WAIT_SECONDS + 10, "the master back")
    back = time.monotonic() - killed
    print(f"the master, alone, back {back:.2f} s after the kill")
    assert back >= REDIS_FAILOVER_WAIT_SECONDS - 1  # it gave the Sentinels their chance first
    assert pair.role(master)[0] == "master"
    assert _holds(first, "alone")  # reloaded from its AOF: not empty
    assert "starting as master from its AOF" in (pair.plan.directory / "log" / f"redis-{master}.log").read_text()
    # The replica started again follows it (the Sentinels name it) and gets the data.
    pair.supervisor.start(f"redis-{replica}")
    _until(lambda: pair.role(replica) == ("slave", master, "up"), 20, "the replica follows")
    assert _holds(pair.client(replica), "alone")
    assert pair.named() == ("127.0.0.1", master)
