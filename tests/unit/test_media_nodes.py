"""Several Asterisk media nodes under one contact center (docs/scaling.md#several-media-nodes), on stand-ins for
each node's ARI: where each phone is homed and how it is dialled, each command carried out on its call's node,
a node's resync judging only its own calls, a dead node's calls lost and its agents made not ready. The same paths
run on two real nodes in tests/e2e/test_cluster_calls.py."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti.acd import (
    AgentChanged,
    AgentState,
    Announce,
    Channel,
    Connect,
    ContactCenter,
    DialCustomer,
    EndReason,
    Hangup,
    Hold,
    Offer,
    Outcome,
    WorkChanged,
    WorkItem,
    WorkState,
)
from cti.ari import Bridge
from cti.ari import Channel as AriChannel
from cti.live import decode_call, encode_call
from cti.services import CommandBus, Distributor
from cti.settings import SettingsError, load_settings
from cti.telephony import (
    ROUTING_TICK_SECONDS,
    AdmissionControl,
    MediaNodes,
    Monitors,
    PhoneHomes,
    RoutedRecorder,
    Telephony,
    VoiceActions,
    VoiceRouter,
)

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@dataclass
class NodeAri:
    """One node's Asterisk: what cti asked of it, and the channels it holds."""

    name: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # id -> state
    endpoints: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    app = "cti"

    def may_act(self) -> bool:
        return True

    async def allow_events(self, types: Any) -> None:
        self.requests.append(("event filter", ",".join(types)))

    async def originate(self, endpoint: str, *, channel_id: str, **params: Any) -> None:
        self.requests.append(("originate", f"{endpoint} as {channel_id}"))
        self.channels[channel_id] = "Ring"
        # As Asterisk names it: the endpoint dialled (the trunk's, for a phone on another node).
        self.names[channel_id] = f"PJSIP/{endpoint.rpartition('@')[2] or endpoint[6:]}-0000000{len(self.names)}"

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.requests.append(("hangup", channel_id))
        self.channels.pop(channel_id, None)

    async def create_bridge(self, kind: str, *, bridge_id: str, name: str = "") -> None:
        self.requests.append(("bridge", bridge_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy", bridge_id))

    async def add_channel(self, bridge_id: str, channels: Any) -> None:
        self.requests.append(("add", f"{bridge_id} {channels}"))

    async def remove_channel(self, bridge_id: str, channels: Any) -> None:
        self.requests.append(("remove", f"{bridge_id} {channels}"))

    async def answer(self, channel_id: str) -> None:
        self.requests.append(("answer", channel_id))

    async def ring(self, channel_id: str) -> None:
        self.requests.append(("ring", channel_id))

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        pass

    async def play(self, channel_id: str, media: Any, **kwargs: Any) -> None:
        self.requests.append(("play", channel_id))

    async def record_bridge(self, bridge_id: str, name: str, *, format: str = "wav", beep: bool = False) -> None:
        self.requests.append(("record", f"{bridge_id} as {name}"))

    async def pause_recording(self, name: str) -> None:
        self.requests.append(("pause", name))

    async def list_channels(self) -> list[AriChannel]:
        return [AriChannel(id=cid, name=self.names.get(cid, f"PJSIP/{cid}"), state=state)
                for cid, state in self.channels.items()]

    async def list_bridges(self) -> list[Bridge]:
        return []

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        assert (method, path) == ("GET", "/endpoints/PJSIP")
        return [{"technology": "PJSIP", "resource": e, "state": "online"} for e in self.endpoints]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.requests]


class Picture:
    last_sight = None

    def note_sight(self, at: datetime) -> None:
        pass

    async def rewrite(self) -> None:
        pass

    async def flush(self) -> None:
        pass


class Cluster:
    """Two nodes, a and b, behind one distributor, wired as the composition root wires them: Ana's phone 7001 is
    homed on a, Budi's 7002 on b."""

    def __init__(self) -> None:
        self.now = T0
        self.aris = {name: NodeAri(name) for name in ("a", "b")}
        self.aris["a"].endpoints = ["7001", "node-b", "pstn"]
        self.aris["b"].endpoints = ["7002", "node-a", "pstn"]
        self.homes = PhoneHomes(["a", "b"])
        for name, ari in self.aris.items():
            self.homes.learn(name, ari.endpoints)
        self.changes: list[Any] = []
        core = ContactCenter()
        self.actions: dict[str, VoiceActions] = {}
        for name, ari in self.aris.items():
            def dial(extension: str, node: str = name) -> str:
                return self.homes.dial(node, extension)
            monitors = Monitors(ari, ring_timeout=30, dial=dial)  # type: ignore[arg-type]
            self.actions[name] = VoiceActions(ari, _View(self), monitors,  # type: ignore[arg-type]
                                              Counter(), ring_timeout=15, callback_ring_timeout=30, dial=dial)
        self.router = VoiceRouter(self.actions, _View(self))  # type: ignore[arg-type]
        table: dict[Any, Any] = {(kind, Channel.VOICE): [getattr(self.router, method)] for kind, method in (
            (Offer, "offer"), (Connect, "connect"), (Hangup, "hangup"), (Hold, "hold"),
            (DialCustomer, "dial_customer"), (Announce, "announce"))}
        table[WorkChanged] = [self.router.work_changed, lambda c, d: self.changes.append(c)]
        table[AgentChanged] = [lambda c, d: self.changes.append(c)]
        self.distributor = Distributor(core, lambda: self.now, CommandBus(table), placement=self.homes.home)
        for agent_id, extension in (("ana", "7001"), ("budi", "7002")):
            self.distributor.register_agent(agent_id, agent_id.title())
            self.distributor.login(agent_id, extension, ready=False)
        self.telephonies = {name: Telephony(
            ari, "http://127.0.0.1:1", "cti", "secret", "cti", distributor=self.distributor,  # type: ignore[arg-type]
            actions=self.actions[name], monitors=self.actions[name].monitors, admission=AdmissionControl(),
            journal=Picture(), counters=Counter(), record_ended=lambda item: None, node=name,
            owns=functools.partial(self.router.calls_of, name), ticks=False) for name, ari in self.aris.items()}

    def arrive(self, call_id: str, node: str) -> None:
        caller = f"{call_id}-caller"
        self.aris[node].channels[caller] = "Up"
        assert self.distributor.arrive(WorkItem(call_id, caller, "0215550123", "1500100", "", self.now, node=node))

    def answered(self, leg: str, node: str) -> None:
        self.aris[node].channels[leg] = "Up"
        self.distributor.offer_answered(leg)

    async def drain(self) -> None:
        await self.router.drain()


class _View:
    """The distributor's query, once it exists (the actions are built before it, as in the composition root)."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cluster.distributor.query, name)


# -- where phones are homed and how they are dialled -----------------------------------------------------------
def test_a_phone_is_homed_on_the_first_node_that_defines_it_and_dialled_over_the_trunk_from_elsewhere() -> None:
    homes = PhoneHomes(["a", "b", "c"])
    homes.learn("a", ["7001", "pstn"])
    homes.learn("b", ["7002", "7003", "pstn"])
    homes.learn("c", ["7003"])
    assert [homes.home(ext) for ext in ("7001", "7002", "7003", "9999")] == ["a", "b", "b", None]
    assert homes.dial("a", "7001") == "PJSIP/7001"
    assert homes.dial("a", "7002") == "PJSIP/7002@node-b"
    assert homes.dial("c", "7003") == "PJSIP/7003@node-b"
    assert homes.dial("a", "9999") == "PJSIP/9999"  # not known anywhere yet: as a local phone
    assert homes.homed_on("b") == {"7002", "7003"} and homes.homed_on("c") == set()
    homes.learn("b", ["pstn"])  # b reconnected without 7002 and 7003 (moved): 7003 is c's now
    assert homes.home("7003") == "c" and homes.home("7002") is None
    homes.found("c", "7002")
    assert homes.dial("a", "7002") == "PJSIP/7002@node-c"


def test_the_media_nodes_setting() -> None:
    def settings(nodes: str) -> Any:
        return load_settings(ari_password="secret", admin_token=secrets.token_urlsafe(32), asterisk_nodes=nodes)

    assert settings("").media_nodes == {}
    assert settings(" a=http://127.0.0.1:8181/ , b=http://10.0.0.2:8088").media_nodes == {
        "a": "http://127.0.0.1:8181", "b": "http://10.0.0.2:8088"}
    for wrong, why in (("a=http://127.0.0.1:8181", "two nodes or more"),
                       ("a=http://h:1,a=http://h:2", "named twice"),
                       ("A=http://h:1,b=http://h:2", "name=URL"),
                       ("a=http://h:1,b", "name=URL"),
                       ("a=http://h:1,b=ftp://h:2", "http(s) URL")):
        with pytest.raises(SettingsError, match=r"CTI_ASTERISK_NODES") as raised:
            settings(wrong)
        assert why in str(raised.value)


# -- the live state --------------------------------------------------------------------------------------------
def test_a_call_s_node_is_kept_with_the_live_state_and_absent_in_an_older_snapshot() -> None:
    item = WorkItem("c1", "chan-c1", "0215550123", "1500100", "general", T0, node="b")
    assert decode_call(encode_call(item)).node == "b"
    older = encode_call(WorkItem("c2", "chan-c2", "0215550123", "1500100", "general", T0)).replace(
        ', "node": null', "")
    assert '"node"' not in older and decode_call(older).node is None


# -- each command on its call's node ---------------------------------------------------------------------------
async def test_a_caller_on_node_a_is_connected_to_an_agent_homed_on_b_over_the_trunk_all_on_node_a() -> None:
    cluster = Cluster()
    cluster.arrive("c1", "a")
    cluster.distributor.set_ready("budi")  # homed on b
    await cluster.drain()
    assert ("originate", "PJSIP/7002@node-b as c1-a1") in cluster.aris["a"].requests
    cluster.answered("c1-a1", "a")
    await cluster.drain()
    a = cluster.aris["a"].requests
    assert ("bridge", "cti-call-c1") in a and ("add", "cti-call-c1 ['c1-caller', 'c1-a1']") in a
    cluster.distributor.leg_gone("c1-caller")
    await cluster.drain()
    assert ("hangup", "c1-a1") in a and ("destroy", "cti-call-c1") in a
    assert cluster.aris["b"].requests == []  # node b saw none of it: the trunk carried the agent's leg
    ended = cluster.changes[-2].item if isinstance(cluster.changes[-1], AgentChanged) else cluster.changes[-1].item
    assert (ended.state, ended.outcome, ended.agent_id, ended.node) == (WorkState.ENDED, Outcome.ANSWERED, "budi", "a")


async def test_an_agent_s_outbound_call_is_placed_on_their_home_node() -> None:
    cluster = Cluster()
    cluster.distributor.set_ready("budi")
    item = cluster.distributor.dial_out(WorkItem("o1", "", "0215550999", "1500100", "", T0), "budi")
    assert item.node == "b"
    await cluster.drain()
    cluster.answered("o1-a1", "b")  # the agent answers: now the customer is dialled, from b too
    await cluster.drain()
    assert [r for r in cluster.aris["b"].requests if r[0] == "originate"] == [
        ("originate", "PJSIP/7002 as o1-a1"), ("originate", "PJSIP/0215550999@pstn as o1-c1")]
    assert cluster.aris["a"].requests == []


async def test_a_recording_is_made_and_paused_on_its_call_s_node() -> None:
    cluster = Cluster()
    cluster.arrive("c1", "b")
    recorders = {name: _Recorder(name) for name in cluster.aris}
    routed = RoutedRecorder(recorders, cluster.router)  # type: ignore[arg-type]
    await routed.start("rec-1", "c1", format="wav", announcement=None)
    await routed.pause("rec-1")
    assert recorders["b"].done == ["start rec-1 c1", "pause rec-1"] and recorders["a"].done == []


class _Recorder:
    def __init__(self, name: str) -> None:
        self.done: list[str] = []

    async def start(self, name: str, call_id: str, *, format: str, announcement: str | None) -> None:
        self.done.append(f"start {name} {call_id}")

    async def pause(self, name: str) -> None:
        self.done.append(f"pause {name}")


# -- a node's resync and a node's death ------------------------------------------------------------------------
async def test_a_node_s_resync_judges_only_the_calls_living_on_it() -> None:
    cluster = Cluster()
    cluster.distributor.set_ready("ana")
    cluster.distributor.set_ready("budi")
    cluster.arrive("c1", "a")
    cluster.arrive("c2", "b")
    await cluster.drain()
    cluster.answered("c1-a1", "a")
    cluster.answered("c2-a1", "b")
    await cluster.drain()
    # Node a restarted: none of its channels is there any more; it reconnects and resyncs.
    cluster.aris["a"].channels.clear()
    cluster.now += timedelta(seconds=30)
    await cluster.telephonies["a"]._resync()
    query = cluster.distributor.query
    assert not query.is_live("c1")
    assert query.call("c2").state is WorkState.CONNECTED  # node b's call goes on
    # Node b reconnecting with its channels there changes nothing.
    await cluster.telephonies["b"]._resync()
    assert query.call("c2").state is WorkState.CONNECTED


async def test_a_dead_node_s_calls_are_lost_and_its_homed_agents_made_not_ready() -> None:
    cluster = Cluster()
    cluster.distributor.set_ready("ana")
    cluster.distributor.set_ready("budi")
    cluster.arrive("c1", "b")  # to ana (homed on a) over the trunk from b
    cluster.arrive("c2", "a")  # to budi (homed on b) over the trunk from a
    await cluster.drain()
    cluster.answered("c1-a1", "b")
    cluster.answered("c2-a1", "a")
    await cluster.drain()
    assert cluster.distributor.query.call("c1").agent_id == "ana"
    nodes = MediaNodes(cluster.telephonies, cluster.homes, cluster.router, cluster.distributor, dead_after=10)
    seen = cluster.now
    cluster.now += timedelta(seconds=15)
    for telephony in cluster.telephonies.values():
        telephony._lost_at = seen
    nodes.watch(100.0)  # both nodes away from now on (neither websocket is connected here)
    nodes.watch(109.0)
    assert nodes.dead == set()
    cluster.telephonies["a"].events._connected.set()  # a is back; b stays away
    nodes.watch(111.0)
    assert nodes.dead == {"b"}
    await asyncio.gather(*nodes._legs)
    query = cluster.distributor.query
    lost = next(c.item for c in cluster.changes if isinstance(c, WorkChanged) and c.item.call_id == "c1"
                and c.item.state is WorkState.ENDED)
    assert (lost.outcome, lost.end_reason, lost.ended_at) == (Outcome.ANSWERED, EndReason.CHANNEL_LOST, seen)
    assert query.call("c2").state is WorkState.CONNECTED  # on a: its caller is still there
    # Budi's phone went with b: every channel of a over the trunk to b is hung up (a dead peer sends no BYE), his
    # leg among them, and he is not ready once that call ends; Ana (homed on a) is ready again after her call on b
    # was lost.
    cluster.aris["a"].channels["a-17966.3"] = "Up"  # the dialplan's leg of another of b's calls, to a phone on a
    cluster.aris["a"].names["a-17966.3"] = "PJSIP/node-b-00000009"
    await nodes._cut_trunk(cluster.telephonies["a"], "b")
    assert [r for r in cluster.aris["a"].requests if r[0] == "hangup"] == [
        ("hangup", "c2-a1"), ("hangup", "a-17966.3")]
    budi = query.agent("budi")
    assert budi.pending is not None and budi.pending.state is AgentState.NOT_READY
    assert budi.pending.reason == "unreachable"
    assert query.agent("ana").state is not AgentState.NOT_READY
    nodes.watch(130.0)  # declared once per absence
    assert sum(isinstance(c, WorkChanged) and c.item.call_id == "c1" and c.item.state is WorkState.ENDED
               for c in cluster.changes) == 1


async def test_the_routing_tick_runs_every_tick_period_once_for_all_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster()
    nodes = MediaNodes(cluster.telephonies, cluster.homes, cluster.router, cluster.distributor, dead_after=10)
    cluster.telephonies["a"].events._connected.set()  # one node is enough
    slept: list[float] = []
    ticks: list[int] = []

    async def sleep(seconds: float) -> None:
        if len(slept) == 3:
            raise asyncio.CancelledError
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.setattr(cluster.distributor, "tick", lambda: ticks.append(len(slept)))
    with pytest.raises(asyncio.CancelledError):
        await nodes._ticker()
    assert slept == [ROUTING_TICK_SECONDS] * 3
    assert ticks == [1, 2, 3]
    assert ROUTING_TICK_SECONDS <= 0.1  # a backlog's escalations spread over at least ten ticks a second
