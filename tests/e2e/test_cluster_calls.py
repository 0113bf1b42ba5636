"""cti over two Asterisk media nodes (issue 21, docs/scaling.md#several-media-nodes): the one-machine cluster
(``cti cluster``) with cti in-process, ``CTI_ASTERISK_NODES`` naming both nodes' ARI.

Callers come in through Kamailio and land on both nodes; one queue and one agent pool serve them: an agent whose
phone is homed on node b answers a caller who arrived on node a, over the inter-node trunk, and the other way
round. Each call's legs and bridge are on the node it arrived on; the interaction rows say who answered and how it
ended; nothing is left in either node. Then node b is killed: its calls are recorded as lost and its agent is made
not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from pydantic import SecretStr

from cti.acd import AgentState, EndReason, Outcome, WorkItem, WorkState
from cti.ari import AriClient, Bridge
from cti.bootstrap import create_app
from cti.live import LiveStore
from cti.persistence import InteractionRepository
from cti.records import InteractionRecord
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.topology._configs import supervisor_socket
from cti.topology._supervisor import Supervisor
from cti.web import RECORDINGS
from tests.e2e.cluster import Topology, cluster_cli, running_cluster
from tests.e2e.tones import AGENT_HZ, CALLER_HZ, spectrum, tone
from tests.fullapp import Cti, bounded, serve
from tests.support import eventually

SERVICE = "1500100"
CALLER = "0215550177"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    yield from running_cluster(tmp_path_factory, port_offset=600)


def ari_of(topology: Topology, node: str) -> AriClient:
    ari = topology.info["ari"]
    return AriClient(topology.node(node)["ari_url"], ari["user"], ari["password"], "leakcheck")


@pytest.fixture
async def cti(topology: Topology, base_settings: Settings, tmp_path: Path) -> AsyncIterator[Cti]:
    async with _cti(topology, base_settings, tmp_path) as harness:
        yield harness


@pytest.fixture
async def cti_on_sentinel(topology: Topology, base_settings: Settings, tmp_path: Path) -> AsyncIterator[Cti]:
    """cti with the cluster's Redis (``redis+sentinel://``: the master the three Sentinels name), not the machine's."""
    async with _cti(topology, base_settings, tmp_path, redis_url=topology.info["redis"]["url"]) as harness:
        yield harness


@contextlib.asynccontextmanager
async def _cti(topology: Topology, base_settings: Settings, tmp_path: Path, **more: Any) -> AsyncIterator[Cti]:
    ari = topology.info["ari"]
    nodes = ",".join(f"{node['name']}={node['ari_url']}" for node in topology.info["nodes"])
    settings = base_settings.model_copy(update={
        "asterisk_nodes": nodes, "ari_user": ari["user"], "ari_password": SecretStr(ari["password"]),
        "ari_app": ari["app"], "database_url": f"sqlite+aiosqlite:///{tmp_path}/cti.db",
        "redis_prefix": f"cti-test-{uuid.uuid4().hex[:8]}", "ring_timeout": 8, "node_dead_seconds": 3, **more})
    client = await serve(create_app(settings, connect_timeout=20))
    harness = Cti(settings, client)
    killed = False
    try:
        yield harness
        killed = any(not up for up in harness.running.media.connected().values())  # type: ignore[union-attr]
        await harness.settled()
    finally:
        await bounded(harness.client.close(), "cti's shutdown")
    # Nothing left on a node that still runs: no channel, no bridge (holding bridges included).
    for node in topology.info["nodes"]:
        if killed and node["name"] == "b":
            continue
        async with ari_of(topology, node["name"]) as leak:
            channels = await leak.list_channels()
            bridges = await leak.list_bridges()
        assert channels == [], f"channels leaked on node {node['name']}: {[c.name for c in channels]}"
        assert bridges == [], f"bridges leaked on node {node['name']}: {[b.id for b in bridges]}"


def phone(topology: Topology, extension: str, **kwargs: Any) -> SippAgent:
    return SippAgent(topology.cluster.plan.sim_agent_port(extension), **kwargs)


def callers(topology: Topology, calls: int, *, duration_ms: int = 40_000) -> SippCaller:
    return SippCaller(SERVICE, caller=CALLER, calls=calls, rate=5, duration_ms=duration_ms,
                      target=topology.info["kamailio"]["sip"])


async def bridged_over_trunk(topology: Topology, call: WorkItem) -> tuple[list[str], str]:
    """The names of the channels in the call's bridge on its node, and the caller id the agent's phone was sent on
    the agent's home node (its channel to the phone there)."""
    async with ari_of(topology, call.node or "") as on_call_node:
        # Connected in cti when the agent answers; the bridging of the two legs follows a moment later.
        bridge = await eventually(lambda: _with_two(on_call_node, f"cti-call-{call.call_id}"), timeout=10,
                                  message="the caller and the agent's leg in the call's bridge")
        names = [(await on_call_node.get_channel(cid)).name for cid in bridge.channels]
    home = "b" if call.node == "a" else "a"
    async with ari_of(topology, home) as on_home:
        to_phone = [c for c in await on_home.list_channels() if c.name.startswith(f"PJSIP/{call.agent_extension}-")]
    return sorted(name.rsplit("-", 1)[0] for name in names), to_phone[0].connected_number if to_phone else ""


async def _with_two(ari: AriClient, bridge_id: str) -> Bridge | None:
    bridge = await ari.get_bridge(bridge_id)
    return bridge if len(bridge.channels) == 2 else None


async def rows(cti: Cti) -> list[InteractionRecord]:
    return await InteractionRepository(cti.db).list(limit=20)


def home_of(topology: Topology, extension: str) -> str:
    return next(node["name"] for node in topology.info["nodes"] if extension in node["agents"])


async def serve_two_callers(cti: Cti, topology: Topology, agent: str, extension: str) -> None:
    """Two callers (Kamailio sends one to each node) served one after the other by ``agent``, each call looked at
    while connected; then their interaction rows."""
    before = {row.call_id for row in await rows(cti)}
    home = home_of(topology, extension)
    sipp = callers(topology, 2)
    try:
        live = await eventually(lambda: (c := cti.query.calls()) and len(c) == 2 and c, timeout=15,
                                message="two callers in cti")
        assert sorted(c.node or "" for c in live) == ["a", "b"]  # one on each node
        crossing: list[tuple[list[str], str]] = []
        done: set[str] = set()
        for _ in range(2):
            connected = await eventually(
                lambda: next((c for c in cti.query.calls() if c.state is WorkState.CONNECTED
                              and c.call_id not in done), None), timeout=30, message="the next call connected")
            assert connected.agent_id == agent and connected.agent_extension == extension
            if connected.node != home:
                crossing.append(await bridged_over_trunk(topology, connected))
            done.add(connected.call_id)
            await eventually(lambda c=connected: not cti.query.is_live(c.call_id), timeout=20,
                             message="the agent's phone hung up")
    finally:
        sipp.stop()
    await cti.drain()
    # Exactly one of the two came in on the node the agent's phone is not homed on: caller and agent bridged on the
    # caller's node, the agent's leg a channel of the trunk to the phone's home, where the phone was rung with the
    # caller's number.
    assert crossing == [(["PJSIP/node-" + home, "PJSIP/pstn"], CALLER)]
    ended = [row for row in await rows(cti) if row.call_id not in before]
    assert sorted((row.agent_id, row.outcome, row.end_reason) for row in ended) == [
        (agent, "answered", "agent_hangup")] * 2


async def test_one_queue_and_one_agent_pool_serve_callers_of_both_nodes_over_the_trunk(
        cti: Cti, topology: Topology) -> None:
    ext_a, ext_b = topology.node("a")["agents"][0], topology.node("b")["agents"][0]
    phones = [phone(topology, ext_a, ring_ms=200, talk_ms=2500), phone(topology, ext_b, ring_ms=200, talk_ms=2500)]
    try:
        await cti.create_agent("ana")
        await cti.create_agent("budi")
        await cti.login("ana", ext_a, ready=False)
        await cti.login("budi", ext_b, ready=True)
        homes = cti.running.media.homes  # type: ignore[union-attr]
        assert (homes.home(ext_a), homes.home(ext_b)) == ("a", "b")  # found at login, from each node's endpoints
        # Budi (homed on b) serves both callers: the one on node a over the trunk.
        await serve_two_callers(cti, topology, "budi", ext_b)
        # Then Ana (homed on a) alone: the one on node b over the trunk.
        await cti.api("POST", "/api/agents/budi/state", token=cti.agent_tokens["budi"],
                      json={"state": "not_ready", "reason": "break"})
        await cti.api("POST", "/api/agents/ana/state", token=cti.agent_tokens["ana"], json={"state": "ready"})
        await serve_two_callers(cti, topology, "ana", ext_a)
    finally:
        for each in phones:
            each.stop()


async def test_a_call_is_recorded_and_listened_to_on_its_node_by_an_agent_and_a_supervisor_homed_on_the_other(
        topology: Topology, base_settings: Settings, tmp_path: Path) -> None:
    """Issue 21: "supervision and recording work across nodes". The caller lands on one node (Kamailio's choice);
    the agent who answers and the supervisor who listens both have their phones on the other. The call's bridge,
    its recording and the supervisor's snoop are made on the caller's node, the two phones reached over the trunk;
    the recording holds both sides (each phone sends a tone of its own), the supervisor's leg hears the call."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"queues": {"general": {"recording": {"inbound": "always"}}}}))
    (tmp_path / "db").mkdir()
    async with _cti(topology, base_settings, tmp_path / "db", routing_rules=rules,
                    recording_dir=tmp_path / "recordings") as cti:
        agent_tone = tone(tmp_path / "agent.ulaw", AGENT_HZ)
        extensions = {name: topology.node(name)["agents"] for name in ("a", "b")}
        phones = [phone(topology, ext, ring_ms=100, play=agent_tone if i == 0 else None)
                  for exts in extensions.values() for i, ext in enumerate(exts)]
        sipp = SippCaller(SERVICE, caller=CALLER, duration_ms=60_000, target=topology.info["kamailio"]["sip"],
                          play=tone(tmp_path / "caller.ulaw", CALLER_HZ))
        try:
            await cti.create_agent("ana")
            await cti.create_agent("budi")
            await cti.login("ana", extensions["a"][0], ready=False)
            await cti.login("budi", extensions["b"][0], ready=False)
            created = await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201)
            waiting = await eventually(lambda: next(iter(cti.query.calls()), None), timeout=15,
                                       message="the caller in cti")
            other = "b" if waiting.node == "a" else "a"
            agent = "ana" if other == "a" else "budi"
            await cti.api("POST", f"/api/agents/{agent}/state", token=cti.agent_tokens[agent],
                          json={"state": "ready"})
            await cti.answered(waiting.call_id, timeout=30)
            call = cti.query.call(waiting.call_id)
            assert (call.agent_id, call.node) == (agent, waiting.node)
            url = f"/api/calls/{call.call_id}/recording"
            await eventually(lambda: _recording(cti, url, cti.agent_tokens[agent]), timeout=15,
                             message="the recording started (the queue records always)")
            monitor = await cti.api("POST", f"/api/calls/{call.call_id}/monitor", token=created["token"],
                                    json={"mode": "listen", "extension": extensions[other][1]}, expect=201)
            assert monitor["monitor_id"] == f"{call.call_id}-s1"
            async with ari_of(topology, waiting.node or "") as on_call_node:
                # On the caller's node: the monitor's bridge holds the snoop on the agent's leg and the supervisor's
                # leg, which is a channel of the trunk to the other node.
                async def listening() -> bool:
                    bridges = {b.id: b for b in await on_call_node.list_bridges()}
                    mon = bridges.get(f"cti-mon-{call.call_id}-1")
                    return mon is not None and sorted(mon.channels) == sorted(
                        [f"{call.call_id}-s1", f"{call.call_id}-p1"])

                await eventually(listening, timeout=20, message="the supervisor listening")
                leg = await on_call_node.get_channel(f"{call.call_id}-s1")
                snoop = await on_call_node.get_channel(f"{call.call_id}-p1")
                assert (leg.name.rsplit("-", 1)[0], leg.state, snoop.name.split("/")[0]) == (
                    f"PJSIP/node-{other}", "Up", "Snoop")
            async with ari_of(topology, other) as on_home:
                rung = sorted(c.name.rsplit("-", 1)[0] for c in await on_home.list_channels())
            assert rung == sorted([f"PJSIP/{extensions[other][0]}", f"PJSIP/{extensions[other][1]}",
                                   f"PJSIP/node-{waiting.node}", f"PJSIP/node-{waiting.node}"])
            await asyncio.sleep(4)  # some seconds of both tones in the recording
            await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=cti.agent_tokens[agent])
            await eventually(lambda: not cti.query.calls(), timeout=15, message="the call ended")
            await cti.settled()
            await cti.client.app[RECORDINGS].drain()
            [listed] = (await cti.api("GET", f"/api/interactions/{call.call_id}/recordings",
                                      token=cti.agent_tokens[agent]))["recordings"]
            assert (listed["call_id"], listed["agent_id"]) == (call.call_id, agent)
            async with cti.client.get(listed["url"], headers=cti.headers(cti.agent_tokens[agent])) as response:
                assert response.status == 200
                audio = await response.read()
            seconds, shares = spectrum(audio)
            assert seconds > 3 and shares[CALLER_HZ] > 0.2 and shares[AGENT_HZ] > 0.2, (seconds, shares)
        finally:
            sipp.stop()
            for each in phones:
                each.stop()


async def _recording(cti: Cti, url: str, token: str) -> bool:
    return bool((await cti.api("GET", url, token=token))["status"] == "recording")


async def test_callers_past_the_edge_rate_are_shed_by_kamailio_told_why_and_recorded(
        topology: Topology, base_settings: Settings, tmp_path: Path) -> None:
    """Issue 21's overload at the SIP edge: past the edge's rate (1 INVITE a second here, set in the running
    Kamailio) a burst's callers never reach a node's Stasis. One a second (here) is sent to a node to hear why (the
    ``cti-overloaded`` extension, early media), the others get a 503 from Kamailio. cti records each from
    Kamailio's notes in Redis (``rejected``/``overload``), counts them apart from its own sheds, and the caller let
    in is served; once the burst is over the next caller is served at once."""
    cluster = topology.cluster
    (tmp_path / "db").mkdir()
    async with _cti(topology, base_settings, tmp_path / "db", redis_url=topology.info["redis"]["url"],
                    edge_shed_stream=topology.info["kamailio"]["shed_stream"]) as cti:
        ext = topology.node("a")["agents"][0]
        agent_phone = phone(topology, ext, ring_ms=100, talk_ms=1000)
        burst: SippCaller | None = None
        try:
            await cti.create_agent("ana")
            await cti.login("ana", ext, ready=True)
            assert cluster.edge_rate() == {"rate": 50, "message_rate": 2}  # CTI_CLUSTER_EDGE_RATE's defaults
            changed = await asyncio.to_thread(cluster_cli, topology.env, "edge", "1", "1")  # as an operator would
            assert (changed.returncode, changed.stdout) == (
                0, "edge: 1 INVITEs a second let in, 1 shed callers a second told why\n"), changed.stderr
            burst = SippCaller(SERVICE, caller=CALLER, calls=6, rate=30, duration_ms=30_000,
                               target=topology.info["kamailio"]["sip"])

            async def told() -> bool:  # a shed caller in a node's dialplan, hearing why
                for node in ("a", "b"):
                    async with ari_of(topology, node) as ari:
                        if any(c.dialplan_context == "cti-overloaded" for c in await ari.list_channels()):
                            return True
                return False

            await eventually(told, timeout=10, interval=0.1, message="a shed caller told why by a node")
            await asyncio.to_thread(burst.wait, 60)
            cluster.set_edge_rate(50, message_rate=2)

            async def six_rows() -> list[InteractionRecord] | None:
                await cti.drain()
                found = await rows(cti)
                return found if len(found) == 6 else None

            ended = await eventually(six_rows, timeout=30, message="a row for each of the burst's six callers")
            kinds = Counter((row.outcome, row.end_reason) for row in ended)
            assert set(kinds) <= {("answered", "agent_hangup"), ("rejected", "overload")}, kinds
            # TAILDROP over one-second intervals: the burst (0.2 s) lets in one caller, two if it straddles two.
            assert kinds[("answered", "agent_hangup")] in (1, 2) and kinds[("rejected", "overload")] in (4, 5)
            shed = [row for row in ended if row.outcome == "rejected"]
            assert {(row.caller_number, row.service_number, row.agent_id) for row in shed} == {(CALLER, SERVICE, None)}
            text = await (await cti.client.get("/metrics", headers=cti.headers())).text()
            counted = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                       if line.startswith("cti_calls_shed") or line.startswith("cti_calls_arrived")}
            assert counted["cti_calls_shed_at_edge_total"] == len(shed)
            assert 1 <= counted["cti_calls_shed_at_edge_with_message_total"] <= 2
            assert counted["cti_calls_shed_total"] == 0  # cti itself turned no one away: it never saw them
            assert counted["cti_calls_arrived_total"] == kinds[("answered", "agent_hangup")]
            # The load gone, the next caller is served at once.
            after = callers(topology, 1)
            try:
                await eventually(lambda: next((c for c in cti.query.calls() if c.state is WorkState.CONNECTED),
                                              None), timeout=15, message="the next caller connected")
                await eventually(lambda: not cti.query.calls(), timeout=15, message="the agent hung up")
            finally:
                after.stop()
        finally:
            cluster.set_edge_rate(50, message_rate=2)
            if burst is not None:
                burst.stop()
            agent_phone.stop()


async def test_callers_cti_itself_turns_away_are_not_tried_on_the_other_node(
        topology: Topology, base_settings: Settings, tmp_path: Path) -> None:
    """Issue 21: a node's 503 makes Kamailio try the INVITE on the next node, but not the 503 of a caller cti's own
    admission control turned away (one controller for every node: the next node would ask it again, and the caller
    hear why twice). cti hangs them up with Q.850 cause 34, whether told why first (the dialplan's
    ``cti-overloaded``) or not (ARI's ``reason_code``), and the node's 503 carries ``Reason: Q.850;cause=34``.

    Nine callers within a fifth of a second through Kamailio, cti admitting one arrival in 50 s
    (``CTI_MAX_ARRIVAL_RATE`` 0.02): the first is served, the eight others turned away once each, on the node
    Kamailio chose for them (both nodes, round robin); each node's first two told why (two a second), the others
    hung up at once. Tried on the other node, they would have made 17 arrivals and 16 rejected rows, and reached a
    second node."""
    (tmp_path / "db").mkdir()
    nodes = {node["sip"]: node["name"] for node in topology.info["nodes"]}
    async with _cti(topology, base_settings, tmp_path / "db", max_arrival_rate=0.02) as cti:
        ext = topology.node("a")["agents"][0]
        agent_phone = phone(topology, ext, ring_ms=100, talk_ms=1000)
        burst: SippCaller | None = None
        try:
            await cti.create_agent("ana")
            await cti.login("ana", ext, ready=True)
            burst = SippCaller(SERVICE, caller=CALLER, calls=9, rate=50, duration_ms=30_000,
                               target=topology.info["kamailio"]["sip"], trace=True)
            assert await asyncio.to_thread(burst.wait, 60) != 0  # the eight turned away did not complete
            calls = _responses(burst.messages())
        finally:
            if burst is not None:
                burst.stop()
            agent_phone.stop()

        async def nine_rows() -> list[InteractionRecord] | None:  # or more: each caller tried again makes one
            await cti.drain()
            found = await rows(cti)
            return found if len(found) >= 9 else None

        ended = await eventually(nine_rows, timeout=30, message="a row for each of the nine callers")
        assert sorted((row.outcome, row.end_reason) for row in ended) == [
            ("answered", "agent_hangup")] + [("rejected", "overload")] * 8
        shed = [row for row in ended if row.outcome == "rejected"]
        # One row per caller, on the node each arrived on (a channel's id starts with its node's name).
        assert sorted({row.channel_id.split("-", 1)[0] for row in shed}) == ["a", "b"]
        assert len({row.channel_id for row in shed}) == 8
        text = await (await cti.client.get("/metrics", headers=cti.headers())).text()
        counted = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                   if line.startswith(("cti_calls_shed", "cti_calls_arrived"))}
        assert (counted["cti_calls_arrived_total"], counted["cti_calls_shed_total"]) == (9, 8)
        # Both ways of turning a caller away were taken: told why (each node two a second), and hung up at once.
        assert 4 <= counted["cti_calls_shed_with_message_total"] < 8
    # What the callers received: the served one a 200 from one node; each turned away caller a 500 from Kamailio
    # (a proxy turns a 503 from downstream into a 500, RFC 3261 16.7), after early media from one node at most.
    assert len(calls) == 9
    finals = sorted(max(status for status, _ in responses) for responses in calls.values())
    assert finals == [200] + [500] * 8, calls
    heard_from = [(max(status for status, _ in responses),
                   {nodes[contact] for status, contact in responses if 100 < status < 300})
                  for responses in calls.values()]
    assert all(len(heard) <= 1 for _, heard in heard_from), calls  # no caller heard from two nodes
    assert [len(heard) for final, heard in heard_from if final == 200] == [1]
    # Those told why heard it from one node (183, early media): as many as cti counted, none twice.
    assert sum(1 for final, heard in heard_from if final == 500 and heard) == counted[
        "cti_calls_shed_with_message_total"]


async def test_a_node_s_own_503_still_moves_the_caller_to_the_next_node_cti_s_cause_does_not(
        topology: Topology) -> None:
    """Kamailio's failure_route on real nodes, no cti needed: a node that refuses a caller of itself has them tried
    on the next node, and they hear from both. Asterisk at its call limit (``maxcalls``) answers ``503`` with
    ``Reason: Q.850;cause=42`` (the same as its dialplan's ``Hangup(42)`` here). A caller the nodes'
    ``cti-overloaded`` turns away (cause 34, as cti's own sheds) is not tried again."""
    for node in ("a", "b"):
        for priority, app in ((1, "Progress()"), (2, "Hangup(42)")):
            added = await asyncio.to_thread(cluster_cli, topology.env, "cli", node,
                                            f"dialplan add extension unwell,{priority},{app} into from-pstn")
            assert added.returncode == 0, added.stderr
    nodes = {node["sip"]: node["name"] for node in topology.info["nodes"]}
    cluster = topology.cluster
    try:
        for service, tried_on in (("unwell", 2), ("cti-overloaded", 1), ("unwell", 2), ("cti-overloaded", 1)):
            # Only a node Kamailio takes for live is tried next: a probe left unanswered (a loaded machine) would
            # leave one node to try, which is right of Kamailio but not what this test is about.
            await eventually(lambda: set(cluster.dispatcher().values()) == {"active"}, timeout=15,
                             message="Kamailio taking both nodes for live")
            caller = SippCaller(service, caller=CALLER, target=topology.info["kamailio"]["sip"], trace=True)
            try:
                assert await asyncio.to_thread(caller.wait, 30) != 0
                [(call_id, responses)] = _responses(caller.messages()).items()
            finally:
                caller.stop()
            heard = {nodes[contact] for status, contact in responses if status == 183}
            # Kamailio's own word that it tried the next node: a node stalled on a loaded machine has been seen to
            # refuse the caller at once, before its dialplan's early media (then taken out by its probes).
            tried = 1 + (f"for {call_id}: trying " in cluster.log_tail("kamailio", 300))
            assert (tried, max(status for status, _ in responses)) == (tried_on, 500), (
                service, responses, cluster.dispatcher(), cluster.log_tail("kamailio", 30), _node_logs(topology))
            assert 1 <= len(heard) <= tried, (service, responses, cluster.log_tail("kamailio", 30))
    finally:
        for node in ("a", "b"):
            await asyncio.to_thread(cluster_cli, topology.env, "cli", node,
                                    "dialplan remove extension unwell@from-pstn")


def _node_logs(topology: Topology) -> dict[str, str]:
    """The end of each node's own log (its warnings: a refusal of Asterisk's own, say)."""
    return {node["name"]: "".join((Path(node["log_dir"]) / "messages.log").read_text(errors="replace")
                                  .splitlines(keepends=True)[-15:]) for node in topology.info["nodes"]}


def _responses(trace: str) -> dict[str, list[tuple[int, str]]]:
    """The responses each call received (by Call-ID) in a SIPp message trace: the status and the Contact's
    ``host:port`` (a node's SIP address for a node's answer; empty for Kamailio's own)."""
    calls: dict[str, list[tuple[int, str]]] = {}
    for chunk in trace.split("\n-----------------------------------------------"):
        lines = chunk.split("\n")
        if not any("message received" in line for line in lines[:3]):
            continue
        start = next((n for n, line in enumerate(lines) if line.startswith("SIP/2.0 ")), None)
        if start is None:
            continue
        headers: dict[str, str] = {}
        for line in lines[start + 1:]:
            if not line.strip():
                break
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        contact = re.search(r"sip:([^;>]+)", headers.get("contact", ""))
        calls.setdefault(headers["call-id"], []).append(
            (int(lines[start].split()[1]), contact.group(1) if contact else ""))
    return calls


async def test_the_redis_master_killed_with_calls_live_cti_follows_sentinel_and_drops_no_one(
        cti_on_sentinel: Cti, topology: Topology) -> None:
    """Issue 21's fault "Redis master killed: Sentinel failover, cti continues", with calls live: one caller talking
    to the only agent, one waiting. The master is killed (``kill -9``); the connected call stays connected, the
    waiting caller is served after it, both rows are right, and the new master holds cti's live picture (the
    journal rewrites it after the failover) without an operator doing anything."""
    cti = cti_on_sentinel
    ext_a = topology.node("a")["agents"][0]
    agent_phone = phone(topology, ext_a, ring_ms=200)  # talks until hung up
    sipp = callers(topology, 2, duration_ms=60_000)
    cluster = topology.cluster
    master_port, replica_port = cluster.plan.redis_ports
    password = topology.info["redis"]["password"]
    sentinel = redis.Redis(port=cluster.plan.sentinel_ports[0], password=password, decode_responses=True)
    try:
        await cti.create_agent("ana")
        await cti.login("ana", ext_a, ready=True)
        talking = await eventually(
            lambda: next((c for c in cti.query.calls() if c.state is WorkState.CONNECTED), None), timeout=30,
            message="the first caller connected to ana")
        waiting = await eventually(
            lambda: next((c for c in cti.query.calls() if c.call_id != talking.call_id), None), timeout=15,
            message="the second caller waiting")
        await eventually(lambda: not cti.live.dirty, timeout=10, message="cti's live state written")
        assert sentinel.sentinel_get_master_addr_by_name("cti") == ("127.0.0.1", master_port)
        pid = cluster.pid(f"redis-{master_port}")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: sentinel.sentinel_get_master_addr_by_name("cti") == ("127.0.0.1", replica_port),
                         timeout=30, interval=0.2, message="Sentinel names the replica master")
        # Meanwhile and after: the call goes on, in cti and in Asterisk; the waiting caller still waits.
        assert cti.query.call(talking.call_id).state is WorkState.CONNECTED
        assert cti.query.is_live(waiting.call_id)
        async with ari_of(topology, talking.node or "") as on_node:
            bridge = await _with_two(on_node, f"cti-call-{talking.call_id}")
        assert bridge is not None, "the talking caller's bridge lost a leg during the failover"
        # cti's writes reach the new master without anyone rebuilding its clients.
        await eventually(lambda: not cti.live.dirty, timeout=20, message="cti's live state rewritten on the new master")
        print(f"cti wrote again {time.monotonic() - killed:.1f} s after the kill")
        await cti.api("POST", f"/api/calls/{talking.call_id}/hangup", token=cti.agent_tokens["ana"])
        await eventually(lambda: cti.query.call(waiting.call_id).state is WorkState.CONNECTED
                         if cti.query.is_live(waiting.call_id) else None, timeout=30,
                         message="the waiting caller connected to ana after the failover")
        assert cti.query.call(waiting.call_id).agent_id == "ana"
        # The new master's picture is cti's: read back with a client of its own through the Sentinels.
        store = LiveStore(topology.info["redis"]["url"], cti.settings.redis_prefix)
        try:
            await eventually(cti.live.ping, timeout=5, message="the live store answering")
            agents, calls = await store.load()
        finally:
            await store.close()
        assert [(a.agent_id, a.state) for a in agents] == [("ana", AgentState.ON_CALL)]
        assert [(c.call_id, c.state, c.agent_id) for c in calls] == [(waiting.call_id, WorkState.CONNECTED, "ana")]
        await cti.api("POST", f"/api/calls/{waiting.call_id}/hangup", token=cti.agent_tokens["ana"])
        await eventually(lambda: not cti.query.calls(), timeout=15, message="both calls ended")
        await cti.drain()
        ended = {row.call_id: row for row in await rows(cti)}
        assert sorted((ended[c.call_id].agent_id, ended[c.call_id].outcome, ended[c.call_id].end_reason)
                      for c in (talking, waiting)) == [("ana", "answered", "agent_hangup")] * 2
    finally:
        sipp.stop()
        agent_phone.stop()
        sentinel.close()
        # supervisord started the killed master again, a replica of the new one once the Sentinels had failed over
        # (docs/scaling.md#redis-restarted-safely): `start` finds every part running.
        restarted = await asyncio.to_thread(cluster_cli, topology.env, "start", "--timeout", "40")
        assert restarted.returncode == 0, restarted.stderr


async def test_a_dead_node_s_calls_are_lost_and_its_agent_made_not_ready(cti: Cti, topology: Topology) -> None:
    ext_a, ext_b = topology.node("a")["agents"][0], topology.node("b")["agents"][0]
    phones = [phone(topology, ext_a, ring_ms=200), phone(topology, ext_b, ring_ms=200)]  # talk until hung up
    sipp = callers(topology, 2, duration_ms=60_000)
    try:
        await cti.create_agent("ana")
        await cti.create_agent("budi")
        await cti.login("ana", ext_a, ready=True)
        await cti.login("budi", ext_b, ready=True)
        connected = await eventually(lambda: (c := [x for x in cti.query.calls() if x.state is WorkState.CONNECTED])
                                     and len(c) == 2 and c, timeout=30, message="two calls connected")
        on_b = next(c for c in connected if c.node == "b")
        on_a = next(c for c in connected if c.node == "a")
        pid = topology.cluster.pid("node-b")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # supervisord starts a killed node again within a second (and cti's connection to it comes back: tests/e2e/
        # test_cluster_topology.py); stopped at once, this one stays dead, as a machine that died would.
        await asyncio.to_thread(Supervisor(supervisor_socket(topology.cluster.plan)).stop, "node-b", 10)
        # Declared dead after CTI_NODE_DEAD_SECONDS (3 s here): its call lost; Budi (homed on b) not ready, and his
        # leg over the trunk, if he was on node a's call, hung up there.
        await eventually(lambda: not cti.query.is_live(on_b.call_id), timeout=15, message="node b's call lost")
        await cti.drain()
        row = next(r for r in await rows(cti) if r.call_id == on_b.call_id)
        assert (row.outcome, row.end_reason) == (Outcome.ANSWERED.value, EndReason.CHANNEL_LOST.value)
        await eventually(lambda: cti.query.agent("budi").state is AgentState.NOT_READY, timeout=15,
                         message="budi not ready")
        assert cti.query.agent("budi").reason == "unreachable"
        if on_a.agent_id == "budi":
            await eventually(lambda: not cti.query.is_live(on_a.call_id), timeout=10,
                             message="node a's call to budi's dead phone ended")
        else:
            assert cti.query.call(on_a.call_id).state is WorkState.CONNECTED  # node a's call goes on
        for call in cti.query.calls():
            await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=cti.agent_tokens[call.agent_id or ""])
    finally:
        sipp.stop()
        for each in phones:
            each.stop()
