"""The one-machine cluster of issue 21 (``cti cluster``, docs/scaling.md#topology), with real processes.

Two Asterisk media nodes from the shared root, Kamailio dispatching callers to them, Redis with a replica and
three Sentinels, haproxy: started by ``cti cluster start`` as its own process, on ports of their own (offset so a
cluster a developer runs keeps its ports), in a folder of the test's. The session's shared Asterisk is neither
used nor touched. What is asserted is seen from outside: each node's ARI application (the one cti uses) counts
the callers reaching it; Kamailio's and Sentinel's own answers say what they decided.

The tests run in file order on one cluster: spreading, the trunk, then node A, Kamailio and haproxy killed (supervisord
starts each again), node A hung (Kamailio takes it out), Redis's master killed (Sentinel fails over, the old master
comes back as a replica); then the rest of the topology is started on it (its PostgreSQL serves from the start): two
standby controllers and two front ends, with a call through Kamailio to an agent, the leader's death, a front end's
and a standby's, and node B's with the leader driving it again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp import web

from cti.ari import AriClient, AriError, Event, EventStream, StasisStart
from cti.persistence import Database, InteractionRepository
from cti.records import InteractionRecord
from cti.sim import SippAgent, SippCaller
from cti.topology import Cluster, plan_from_env
from tests.e2e import test_cluster_calls as cluster_calls
from tests.e2e.cluster import Topology, cluster_cli, running_cluster
from tests.support import eventually

SERVICE = "1500100"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    yield from running_cluster(tmp_path_factory, port_offset=500)


@dataclass
class Arrivals:
    """StasisStart of each node's ``cti`` application, by node; each caller answered and hung up at once."""

    by_node: Counter[str] = field(default_factory=Counter)
    channels: dict[str, list[str]] = field(default_factory=dict)


@asynccontextmanager
async def ari_apps(topo: Topology, names: tuple[str, ...], *, hang_up: bool = True) -> AsyncIterator[Arrivals]:
    arrivals = Arrivals()
    ari = topo.info["ari"]
    async with AsyncExitStack() as stack:
        for name in names:
            node = topo.node(name)
            client = AriClient(node["ari_url"], ari["user"], ari["password"], ari["app"])
            await stack.enter_async_context(client)

            async def handle(event: Event, name: str = name, client: AriClient = client) -> None:
                if isinstance(event, StasisStart):
                    arrivals.by_node[name] += 1
                    arrivals.channels.setdefault(name, []).append(event.channel.id)
                    if hang_up and event.args[:1] == ("inbound",):
                        with suppress(AriError):  # the caller may be gone already
                            await client.answer(event.channel.id)
                            await client.hangup(event.channel.id)

            stream = EventStream(node["ari_url"], ari["user"], ari["password"], ari["app"], handler=handle,
                                 backoff_initial=0.2, backoff_max=0.5)
            task = asyncio.create_task(stream.run())

            async def stop(stream: EventStream = stream, task: asyncio.Task[None] = task) -> None:
                await stream.stop(drain_timeout=1)
                await task

            stack.push_async_callback(stop)
            assert await stream.wait_connected(10), f"node {name}'s ARI websocket"
        yield arrivals


def callers(topo: Topology, calls: int, rate: float = 10) -> SippCaller:
    return SippCaller(SERVICE, calls=calls, rate=rate, duration_ms=5000, target=topo.info["kamailio"]["sip"])


def finished(caller: SippCaller, timeout: float = 20) -> int:
    try:
        return caller.wait(timeout)
    finally:
        caller.stop()


async def test_callers_through_kamailio_land_on_both_nodes(topology: Topology) -> None:
    async with ari_apps(topology, ("a", "b")) as arrivals:
        caller = callers(topology, 8)
        code = await asyncio.to_thread(finished, caller)
        await eventually(lambda: sum(arrivals.by_node.values()) == 8, timeout=10, message="8 callers in Stasis")
    # Round robin over two live nodes; every caller's call completed (answered, then hung up from the node, the
    # BYE routed back through Kamailio by its Record-Route).
    assert arrivals.by_node == Counter({"a": 4, "b": 4})
    assert code == 0, caller.errors()[-2000:]


async def test_a_call_from_node_a_reaches_a_phone_homed_on_node_b_over_the_trunk(topology: Topology) -> None:
    node_b = topology.node("b")
    extension = node_b["agents"][0]
    phone = SippAgent(topology.cluster.plan.sim_agent_port(extension), ring_ms=100)
    ari = topology.info["ari"]
    try:
        async with ari_apps(topology, ("a",), hang_up=False) as arrivals, \
                AriClient(topology.node("a")["ari_url"], ari["user"], ari["password"], ari["app"]) as on_a, \
                AriClient(node_b["ari_url"], ari["user"], ari["password"], ari["app"]) as on_b:
            leg = await on_a.originate(f"PJSIP/{extension}@{node_b['endpoint']}", app_args="trunk", timeout=10)
            # In Stasis on A once the phone on B answered.
            await eventually(lambda: arrivals.channels.get("a") == [leg.id], timeout=10, message="the leg answered")
            names = sorted(channel.name.rsplit("-", 1)[0] for channel in await on_b.list_channels())
            assert names == [f"PJSIP/{extension}", "PJSIP/node-a"]
            await on_a.hangup(leg.id)

            async def b_idle() -> bool:
                return await on_b.list_channels() == []

            await eventually(b_idle, timeout=10, message="node B's legs hung up")
    finally:
        phone.stop()


async def test_haproxy_sends_requests_and_websockets_only_to_front_ends_whose_healthz_answers(
        topology: Topology) -> None:
    """Two stand-ins for cti's web front ends on the backends' ports, answering ``/healthz`` as cti does (200
    healthy, 503 degraded); haproxy's own view and where requests land are asserted."""
    health = {"web1": 200, "web2": 503}
    runners = []

    def front_end(name: str) -> web.Application:
        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok" if health[name] == 200 else "degraded"}, status=health[name])

        async def who(request: web.Request) -> web.Response:
            return web.Response(text=name)

        async def socket(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str(name)
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/who", who)
        app.router.add_get("/ws", socket)
        return app

    cluster = topology.cluster
    url = topology.info["web"]["url"]
    try:
        for i, (host, port) in enumerate(cluster.plan.web_backends, start=1):
            runner = web.AppRunner(front_end(f"web{i}"))
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port).start()
        await eventually(lambda: cluster.web_backends() == {"web1": "UP", "web2": "DOWN"}, timeout=15,
                         message="haproxy: web1 up, web2 down")
        async with aiohttp.ClientSession() as session:
            answers = [await (await session.get(f"{url}/who")).text() for _ in range(6)]
            assert answers == ["web1"] * 6
            async with session.ws_connect(f"{url}/ws") as ws:
                assert await ws.receive_str() == "web1"
            health["web2"] = 200
            await eventually(lambda: cluster.web_backends() == {"web1": "UP", "web2": "UP"}, timeout=15,
                             message="haproxy: web2 back up")
            answers = [await (await session.get(f"{url}/who")).text() for _ in range(6)]
            assert sorted(set(answers)) == ["web1", "web2"]
    finally:
        for runner in runners:
            await runner.cleanup()


INFRASTRUCTURE_BACK_WITHIN = 15.0
"""Seconds from a SIGKILL until a part of the infrastructure serves again (supervisord starts it at once; measured
0.1-1 s for a node, Kamailio or haproxy: docs/scaling.md#keeping-the-processes-up)."""


def _children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _kamailio_main(cluster: Cluster) -> int:
    """Kamailio's main process: the first process of the PID namespace whose ``unshare`` supervisord runs."""
    pid = cluster.pid("kamailio")
    assert pid is not None
    children = _children(pid)
    assert len(children) == 1 and Path(f"/proc/{min(children)}/comm").read_text().strip() == "kamailio"
    return min(children)


def _running(pids: set[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


async def test_a_killed_node_kamailio_and_haproxy_are_started_again_and_route_again(topology: Topology) -> None:
    """Node A, Kamailio's main process and haproxy ``kill -9``ed at once: supervisord starts each again (a new
    pid), node A's ARI answers and an application connects to it again, Kamailio has both nodes in its rotation, no
    process of the killed Kamailio is left (its children would hold its port), haproxy forwards to the Redis master
    again; callers through Kamailio land on both nodes as before."""
    cluster = topology.cluster
    before = cluster.supervised()
    killed_pids = {"node-a": cluster.pid("node-a"), "kamailio": cluster.pid("kamailio"),
                   "haproxy": cluster.pid("haproxy")}
    main = _kamailio_main(cluster)
    leftovers = _children(main)
    assert leftovers and None not in killed_pids.values()
    for pid in (killed_pids["node-a"], main, killed_pids["haproxy"]):
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    took: dict[str, float] = {}
    password = topology.info["redis"]["password"]

    def redis_through_haproxy() -> bool:
        client = redis.Redis(port=cluster.plan.redis_master_port, password=password, socket_timeout=1,
                             socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def ari_answers() -> bool:
        ari, node = topology.info["ari"], topology.node("a")
        request = urllib.request.Request(f"{node['ari_url']}/ari/asterisk/info", headers={
            "Authorization": "Basic " + base64.b64encode(f"{ari['user']}:{ari['password']}".encode()).decode()})
        try:
            with urllib.request.urlopen(request, timeout=1):
                return cluster.dispatcher().get("a") == "active"
        except OSError:
            return False

    checks = {
        "node-a": ari_answers,
        "kamailio": lambda: cluster.dispatcher() == {"a": "active", "b": "active"},
        "haproxy": redis_through_haproxy,
    }

    def back() -> bool:
        for name, serves in checks.items():
            if name not in took and cluster.pid(name) not in (None, killed_pids[name]) and serves():
                took[name] = time.monotonic() - killed
        return len(took) == len(checks)

    await eventually(back, timeout=INFRASTRUCTURE_BACK_WITHIN + 15, interval=0.05,
                     message="node A, Kamailio and haproxy serving again")
    print("after a SIGKILL, serving again: " + ", ".join(f"{name} in {seconds:.2f} s" for name, seconds in
                                                           took.items()))
    assert max(took.values()) <= INFRASTRUCTURE_BACK_WITHIN, took
    assert not _running(leftovers)  # the old Kamailio's children ended with it
    await eventually(lambda: all(cluster.supervised()[name]["restarts"] == before[name]["restarts"] + 1
                                 for name in checks), timeout=10, message="supervisord counts one restart each")
    # Routed again, node A's application connected again (ari_apps waits for each websocket).
    async with ari_apps(topology, ("a", "b")) as arrivals:
        caller = callers(topology, 8)
        code = await asyncio.to_thread(finished, caller)
        await eventually(lambda: sum(arrivals.by_node.values()) == 8, timeout=10, message="8 callers in Stasis")
    assert arrivals.by_node == Counter({"a": 4, "b": 4})
    assert code == 0, caller.errors()[-2000:]


async def test_node_a_hung_new_callers_go_to_node_b(topology: Topology) -> None:
    """A node that stops answering without ending (SIGSTOP: a hung process, or a machine cut off), which no
    supervisor sees: Kamailio's probes take it out and INVITEs it does not answer go to the other node. A node
    killed is started again by supervisord within a second (the test above); this is the failure Kamailio covers."""
    cluster = topology.cluster
    pid = cluster.pid("node-a")
    assert pid is not None
    async with ari_apps(topology, ("b",)) as arrivals:
        os.kill(pid, signal.SIGSTOP)
        hung = time.monotonic()
        try:
            # Callers at once: the first INVITEs may still be sent to A; unanswered there for 2 s, they go to B.
            caller = callers(topology, 6, rate=4)
            try:
                await eventually(lambda: cluster.dispatcher()["a"] == "down", timeout=15,
                                 message="Kamailio: node A down")
                print(f"Kamailio took node A out {time.monotonic() - hung:.1f} s after it hung")
            finally:
                code = await asyncio.to_thread(finished, caller, 30)
            await eventually(lambda: arrivals.by_node["b"] == 6, timeout=10, message="6 callers on node B")
            assert cluster.dispatcher() == {"a": "down", "b": "active"}
        finally:
            os.kill(pid, signal.SIGCONT)
    assert arrivals.by_node == Counter({"b": 6})
    assert code == 0, caller.errors()[-2000:]
    await eventually(lambda: cluster.dispatcher()["a"] == "active", timeout=15, message="Kamailio: node A back")
    assert cluster.pid("node-a") == pid  # never ended: supervisord had nothing to do


async def test_redis_master_killed_sentinel_promotes_the_replica(topology: Topology) -> None:
    cluster = topology.cluster
    master_port, replica_port = cluster.plan.redis_ports
    password = topology.info["redis"]["password"]
    master = redis.Redis(port=master_port, password=password, decode_responses=True)
    replica = redis.Redis(port=replica_port, password=password, decode_responses=True)
    sentinel = redis.Redis(port=cluster.plan.sentinel_ports[0], password=password, decode_responses=True)
    try:
        assert sentinel.sentinel_get_master_addr_by_name("cti") == ("127.0.0.1", master_port)
        master.set("cti:cluster-test", "kept")
        assert master.wait(1, 2000) == 1  # on the replica before the master dies
        pid = cluster.pid(f"redis-{master_port}")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: sentinel.sentinel_get_master_addr_by_name("cti") == ("127.0.0.1", replica_port),
                         timeout=30, interval=0.2, message="Sentinel names the replica master")
        print(f"Sentinel promoted the replica {time.monotonic() - killed:.1f} s after the kill")
        assert replica.execute_command("ROLE")[0] == "master"
        assert replica.get("cti:cluster-test") == "kept"
        # Every Sentinel agrees.
        for port in cluster.plan.sentinel_ports[1:]:
            other = redis.Redis(port=port, password=password, decode_responses=True)
            try:
                await eventually(lambda other=other: other.sentinel_get_master_addr_by_name("cti")
                                 == ("127.0.0.1", replica_port), timeout=10, message=f"sentinel {port}")
            finally:
                other.close()
        # supervisord started the old master again at once; it waited for the failover and follows the new master
        # (docs/scaling.md#redis-restarted-safely): the data kept, a write after the failover on it too.
        replica.set("cti:cluster-test-after", "failover")

        def follows() -> bool:
            try:
                info = master.info("replication")
            except redis.RedisError:
                return False
            return (info["role"], info.get("master_port"), info.get("master_link_status")) == (
                "slave", replica_port, "up")

        await eventually(follows, timeout=30, interval=0.1, message="the old master a replica of the new one")
        print(f"the old master a synced replica {time.monotonic() - killed:.1f} s after the kill")
        assert cluster.pid(f"redis-{master_port}") not in (None, pid)
        await eventually(lambda: master.get("cti:cluster-test-after") == "failover", timeout=5,
                         message="the write after the failover replicated")
        assert master.get("cti:cluster-test") == "kept"
    finally:
        for client in (master, replica, sentinel):
            client.close()


LEASE_SECONDS = 3


def whole(topology: Topology) -> dict[str, str]:
    """The environment of the whole topology's start: two controllers with a 3 s lease, two front ends."""
    return topology.env | {"CTI_CLUSTER_CONTROLLERS": "2", "CTI_CLUSTER_FRONTS": "2",
                           "CTI_LEASE_SECONDS": str(LEASE_SECONDS)}


def standing_by(cluster: Cluster, name: str, not_pid: int) -> bool:
    """A new process of controller ``name`` (supervisord started it again) waits for the lease: its log says so."""
    pid = cluster.pid(name)
    return pid not in (None, not_pid) and re.search(
        rf"standing by as \S+:{pid}:[0-9a-f]+ ", cluster.log_tail(name, 200)) is not None


async def _http(session: aiohttp.ClientSession, method: str, url: str, *, token: str | None = None,
                **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, headers=headers, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


async def _bridged_on_a_node(topology: Topology) -> bool:
    """A call's bridge (``cti-call-*``) holding two channels, the caller's and the agent's, on either node."""
    for name in ("a", "b"):
        async with cluster_calls.ari_of(topology, name) as ari:
            if any(b.id.startswith("cti-call-") and len(b.channels) == 2 for b in await ari.list_bridges()):
                return True
    return False


async def test_the_whole_topology_one_leader_a_call_stored_in_its_postgres_and_a_takeover(topology: Topology) -> None:
    """Issue 21's topology started whole by ``cti cluster start`` (here on the module's cluster, where it starts
    only the parts missing: two ``cti serve --standby`` with a 3 s lease, two ``cti front``; what the tests above
    killed supervisord has started again). Exactly one controller leads; through haproxy and a front end, an agent
    logs in, and a caller through Kamailio is bridged to the agent's phone; the call's row is in the cluster's
    PostgreSQL; the leader ``kill -9``ed, a controller leads again within the lease and a few seconds (the standby,
    or the killed one's new process if it asked first), and the front ends forward to it; supervisord starts the
    killed one again.
    The module's end stops it all and finds no process left (tests/e2e/cluster.py)."""
    env = whole(topology)
    began = time.monotonic()
    started = await asyncio.to_thread(cluster_cli, env, "start", "--timeout", "150", timeout=200)
    assert started.returncode == 0, started.stderr
    print(f"controllers and front ends started in {time.monotonic() - began:.1f} s")
    cluster = Cluster(plan_from_env(env))
    info = json.loads((cluster.dir / "cluster.json").read_text())
    admin, web = info["cti"]["admin_token"], info["web"]["url"]
    controllers = dict(zip(("cti-1", "cti-2"), info["cti"]["controllers"], strict=True))
    ext = topology.node("a")["agents"][0]
    agent_phone = cluster_calls.phone(topology, ext, ring_ms=200, talk_ms=2000)
    sipp: SippCaller | None = None
    db = Database(info["postgres"]["url"])
    try:
        async with aiohttp.ClientSession() as session:
            # Exactly one leads: its /healthz says so; a standby serves nothing, not even that.
            leader = cluster.leader()
            assert leader in controllers
            standby = next(name for name in controllers if name != leader)
            status, health = await _http(session, "GET", f"{controllers[leader]}/healthz")
            assert (status, health["role"]) == (200, "leader"), health
            term = health["term"]
            with pytest.raises(aiohttp.ClientConnectionError):
                await _http(session, "GET", f"{controllers[standby]}/healthz")
            # haproxy's /healthz is a front end's.
            status, health = await _http(session, "GET", f"{web}/healthz")
            assert (status, health["role"], health["term"]) == (200, "front_end", term), health
            # An agent, through haproxy and a front end (forwarded to the leader), logs in; a caller through
            # Kamailio is bridged to the agent's phone.
            status, made = await _http(session, "POST", f"{web}/api/agents", token=admin,
                                       json={"agent_id": "ana", "name": "Ana", "profile": {}})
            assert status == 201, made
            status, body = await _http(session, "POST", f"{web}/api/agents/ana/login",
                                       token=made["token"], json={"extension": ext, "ready": True})
            assert status == 200, body
            sipp = cluster_calls.callers(topology, 1, duration_ms=30_000)
            await eventually(lambda: _bridged_on_a_node(topology), timeout=30,
                             message="the caller bridged to ana's phone")

            # The call's row, in the cluster's PostgreSQL, once ana's phone hung up.
            async def row() -> InteractionRecord | None:
                rows = await InteractionRepository(db).list(limit=5)
                return rows[0] if rows and rows[0].ended_at is not None else None

            await db.start()
            stored = await eventually(row, timeout=30, message="the call's row in the cluster's PostgreSQL")
            assert (stored.agent_id, stored.outcome, stored.end_reason, stored.caller_number) == (
                "ana", "answered", "agent_hangup", cluster_calls.CALLER)

            # The leader killed: a controller leads again within the lease and a few seconds. Whoever asks first
            # once the lease lapses takes it: the standby, or the killed one's new process, which supervisord
            # starts at once and which can be up within the 3 s lease on a quiet machine. Either way a new term.
            pid = cluster.pid(leader)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()

            def new_leader() -> str | None:
                name = cluster.leader()
                return name if name is not None and cluster.pid(name) != pid else None

            leading = await eventually(new_leader, timeout=LEASE_SECONDS + 12, interval=0.1,
                                       message="a controller leading after the leader's kill")
            print(f"{leading} ({'the standby' if leading == standby else 'started again'}) leads "
                  f"{time.monotonic() - killed:.1f} s after the kill")

            async def leads() -> bool:
                try:  # it listens once its contact center is built
                    status, health = await _http(session, "GET", f"{controllers[leading]}/healthz")
                except aiohttp.ClientConnectionError:
                    return False
                return status == 200 and health["role"] == "leader" and health["term"] > term

            await eventually(leads, timeout=15, message=f"{leading}'s /healthz as the new leader")

            # The front ends follow: the API through haproxy is the new leader's, with the same database.
            async def listed() -> Any:
                status, body = await _http(session, "GET", f"{web}/api/agents", token=admin)
                return body if status == 200 else None

            agents = await eventually(listed, timeout=20, message="the API through haproxy after the takeover")
            print(f"the API through haproxy answers {time.monotonic() - killed:.1f} s after the kill")
            assert [agent["agent_id"] for agent in agents["agents"]] == ["ana"]
            # The admin token and PostgreSQL's password are in the 0600 files only, never in a log.
            secrets = (admin, info["postgres"]["password"])
            logs = {path.name: path.read_text(errors="replace") for path in (cluster.dir / "log").glob("*.log")}
            assert {"cti-1.log", "cti-2.log", "front-1.log", "postgres.log"} <= set(logs)
            assert [name for name, text in logs.items() if any(secret in text for secret in secrets)] == []
            # supervisord started the killed leader again (a new process: standing by, unless it took the lease).
            if leading == standby:
                await eventually(lambda: standing_by(cluster, leader, pid), timeout=30,
                                 message=f"{leader} started again, standing by")
                print(f"{leader} stands by again {time.monotonic() - killed:.1f} s after the kill")
            report = json.loads(cluster_cli(env, "status", "--json").stdout)
            assert (report["leader"], report["processes"][leading]) == (leading, cluster.pid(leading))
            assert report["processes"][leader] not in (None, pid)
            kept = report["supervised"][leader]  # STARTING: up for less than supervisord's startsecs
            assert (kept["state"] in ("STARTING", "RUNNING"), kept["pid"], kept["restarts"]) == (
                True, report["processes"][leader], 1), kept
    finally:
        if sipp is not None:
            sipp.stop()
        agent_phone.stop()
        await db.close()


RESTARTED_WITHIN = 30.0
"""Seconds from a SIGKILL to serving again: supervisord starts a new process at once (0.1 s: it had run longer than
its ``startsecs``); then cti's start-up, most of it Python importing cti (6-12 s on this two-core machine under load
at nice 19), then haproxy's two checks 1 s apart for a front end. Measured 7-15 s here, twice that is the bound
(docs/scaling.md#keeping-the-processes-up)."""


async def test_a_killed_front_end_and_standby_controller_are_started_again_and_serve(topology: Topology) -> None:
    """On the whole topology the test above started: a front end and the standing-by controller ``kill -9``ed at
    once. supervisord starts each again (a new pid): the front end answers ``/healthz`` and haproxy has it in
    rotation, the controller stands by for the lease; the leader never changed."""
    env = whole(topology)
    cluster = Cluster(plan_from_env(env))
    leader = cluster.leader()
    assert leader in ("cti-1", "cti-2")
    standby = "cti-2" if leader == "cti-1" else "cti-1"
    host, port = cluster.plan.front_backends[0]
    before = cluster.supervised()
    front_pid, standby_pid = cluster.pid("front-1"), cluster.pid(standby)
    assert front_pid is not None and standby_pid is not None
    os.kill(front_pid, signal.SIGKILL)
    os.kill(standby_pid, signal.SIGKILL)
    killed = time.monotonic()
    took: dict[str, float] = {}

    async with aiohttp.ClientSession() as session:
        async def front_serves() -> bool:
            if cluster.pid("front-1") in (None, front_pid):
                return False
            took.setdefault("front-1's new process", time.monotonic() - killed)
            try:
                status, _ = await _http(session, "GET", f"http://{host}:{port}/healthz")
            except aiohttp.ClientConnectionError:
                return False
            if status == 200 and cluster.web_backends().get("web1") == "UP":
                took.setdefault("front-1", time.monotonic() - killed)
            return "front-1" in took

        def standby_waits() -> bool:
            if cluster.pid(standby) not in (None, standby_pid):
                took.setdefault(f"{standby}'s new process", time.monotonic() - killed)
            if standing_by(cluster, standby, standby_pid):
                took.setdefault(standby, time.monotonic() - killed)
            return standby in took

        async def both() -> bool:
            waits = standby_waits()  # each polled every time: its own time noted
            return await front_serves() and waits

        await eventually(both, timeout=RESTARTED_WITHIN + 15, interval=0.1,
                         message="front-1 serving and the standby standing by again")
    print("after a SIGKILL: " + ", ".join(f"{what} in {seconds:.1f} s" for what, seconds in took.items()))
    assert max(took["front-1"], took[standby]) <= RESTARTED_WITHIN, took
    assert cluster.leader() == leader
    # Up for longer than supervisord's startsecs: counted as started, one more restart each.
    await eventually(lambda: all(cluster.supervised()[name]["state"] == "RUNNING" for name in ("front-1", standby)),
                     timeout=10, message="supervisord: both RUNNING")
    after = cluster.supervised()
    assert [after[name]["restarts"] for name in ("front-1", standby)] == [
        before[name]["restarts"] + 1 for name in ("front-1", standby)], after
    # A part stopped by hand (supervisorctl with the cluster's file) stays down until the next start, which starts
    # it alone and leaves the rest as they are.
    conf = cluster.dir / "supervisor" / "supervisord.conf"
    stopped = await asyncio.to_thread(subprocess.run, ["supervisorctl", "-c", str(conf), "stop", "front-2"],
                                      capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert (cluster.pid("front-2"), cluster.supervised()["front-2"]["state"]) == (None, "STOPPED")
    running = {name: cluster.pid(name) for name in cluster.names() if name != "front-2"}
    started = await asyncio.to_thread(cluster_cli, env, "start", "--timeout", "120", timeout=150)
    assert started.returncode == 0, started.stderr
    assert [line for line in started.stderr.splitlines() if line.startswith("starting ")] == ["starting front-2"]
    assert cluster.pid("front-2") is not None
    assert {name: cluster.pid(name) for name in running} == running


async def test_a_killed_node_is_started_again_and_the_leader_drives_it_again(topology: Topology) -> None:
    """With the whole topology running, node B ``kill -9``ed: supervisord starts it again, and the leading
    controller's ARI connection to it is back (its ``cti_node_connected`` for B 1 again, one more reconnection)."""
    env = whole(topology)
    cluster = Cluster(plan_from_env(env))
    info = json.loads((cluster.dir / "cluster.json").read_text())
    leader = cluster.leader()
    assert leader in ("cti-1", "cti-2")
    url = info["cti"]["controllers"][int(leader.removeprefix("cti-")) - 1]

    async with aiohttp.ClientSession() as session:
        async def metrics() -> dict[str, float]:
            status, text = await _http(session, "GET", f"{url}/metrics", token=info["cti"]["admin_token"])
            assert status == 200, text
            found = re.findall(r'^cti_(node_connected\{node="b"\}|ari_reconnects_total) (\S+)$', text, re.MULTILINE)
            return {name: float(value) for name, value in found}

        before = await metrics()
        assert before['node_connected{node="b"}'] == 1, before
        pid = cluster.pid("node-b")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: cluster.pid("node-b") not in (None, pid), timeout=10,
                         message="supervisord starts node B again")

        async def driven_again() -> bool:
            now = await metrics()
            return (now['node_connected{node="b"}'] == 1
                    and now["ari_reconnects_total"] > before["ari_reconnects_total"])

        await eventually(driven_again, timeout=INFRASTRUCTURE_BACK_WITHIN + 15, interval=0.1,
                         message="the leader's ARI connection to node B back")
        took = time.monotonic() - killed
        print(f"the leader drives node B again {took:.2f} s after its kill")
    assert took <= INFRASTRUCTURE_BACK_WITHIN
    assert cluster.leader() == leader
    await eventually(lambda: cluster.dispatcher() == {"a": "active", "b": "active"}, timeout=15,
                     message="Kamailio: both nodes active")
