"""The one-machine cluster of issue 21 (``cti cluster``, docs/scaling.md#topology), with real processes.

Two Asterisk media nodes from the shared root, Kamailio dispatching callers to them, Redis with a replica and
three Sentinels, haproxy: started by ``cti cluster start`` as its own process, on ports of their own (offset so a
cluster a developer runs keeps its ports), in a folder of the test's. The worker's Asterisk is neither
used nor touched. What is asserted is seen from outside: each node's ARI application (the one cti uses) counts
the callers reaching it; Kamailio's and Sentinel's own answers say what they decided.

The tests run in file order on one cluster: spreading, the trunk, then node A's death, then Redis's master's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field

import aiohttp
import pytest
import redis
from aiohttp import web

from cti.ari import AriClient, AriError, Event, EventStream, StasisStart
from cti.asterisk import AsteriskRoot
from cti.sim import SippAgent, SippCaller
from tests.e2e.cluster import Topology, running_cluster
from tests.lanes import Lane
from tests.support import eventually

SERVICE = "1500100"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, lane: Lane, lane_asterisk: AsteriskRoot) -> Iterator[Topology]:
    # lane_asterisk: the lane's lock, so that its ports are this session's (the worker's Asterisk is not started)
    yield from running_cluster(tmp_path_factory, lane, port_offset=500)


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


async def test_node_a_killed_new_callers_go_to_node_b(topology: Topology) -> None:
    cluster = topology.cluster
    async with ari_apps(topology, ("b",)) as arrivals:
        pid = cluster.pid("node-a")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        # Callers at once: the first INVITEs may still be sent to A; unanswered there for 2 s, they go to B.
        caller = callers(topology, 6, rate=4)
        try:
            await eventually(lambda: cluster.dispatcher()["a"] == "down", timeout=15, message="Kamailio: node A down")
            print(f"Kamailio took node A out {time.monotonic() - killed:.1f} s after the kill")
        finally:
            code = await asyncio.to_thread(finished, caller, 30)
        await eventually(lambda: arrivals.by_node["b"] == 6, timeout=10, message="6 callers on node B")
    assert cluster.dispatcher() == {"a": "down", "b": "active"}
    assert arrivals.by_node == Counter({"b": 6})
    assert code == 0, caller.errors()[-2000:]


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
    finally:
        for client in (master, replica, sentinel):
            client.close()
