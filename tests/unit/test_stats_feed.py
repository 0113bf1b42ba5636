"""The dashboard feed: small 'live' frames at once, full 'stats' frames on the beat, and a page that applies
them (the same steps as cti/web/static/dashboard.js) shows what a fresh computation shows."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti.acd import Agent, AgentChanged, AgentState, Channel, Outcome, WorkChanged, WorkItem, WorkState, parse_rules
from cti.records import InteractionRecord
from cti.services import Scope, StatsFeed, dashboard_topic, grid_entry
from cti.web import RawJson

RULES = parse_rules({"queues": {"care": {"skills": {"care": 1}}, "sales": {"skills": {"sales": 1}}},
                     "routes": [{"name": "care", "queue": "care"}], "default_queue": "care"})
T0 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
ALL, SALES = Scope(), Scope(frozenset({"sales"}), frozenset({"surabaya"}))


class Hub:
    """Numbers frames per topic as cti.web.sockets.Hub does; every topic has one subscriber."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}

    def publish(self, name: str, type_: str, data: Any) -> None:
        text = data if isinstance(data, RawJson) else json.dumps(data)
        frames = self.frames.setdefault(name, [])
        frames.append({"seq": len(frames) + 1, "type": type_, "data": json.loads(text)})

    def publish_json(self, name: str, type_: str, data_json: str) -> None:
        self.publish(name, type_, RawJson(data_json))

    def subscribers(self, name: str) -> int:
        return 1

    def take(self, scope: Scope) -> list[dict[str, Any]]:
        return self.frames.pop(dashboard_topic(scope), [])


class Page:
    """cti/web/static/dashboard.js's apply(), in Python."""

    def __init__(self, snapshot: str) -> None:
        self.state: dict[str, Any] = json.loads(snapshot)

    def apply(self, frame: dict[str, Any]) -> None:
        data, state = frame["data"], self.state
        if frame["type"] == "stats":
            state.update(data)
        elif frame["type"] == "series":
            state["series"] = (state["series"] + [data["point"]])[-data["keep"]:]
        elif frame["type"] == "live":
            state["at"] = data["at"]
            grid = {a["agent_id"]: a for a in state["agents"]}
            grid.update({a["agent_id"]: a for a in data.get("agents", [])})
            state["agents"] = [grid[a] for a in sorted(grid)]
            for window in state["windows"].values():
                for queue, live in data.get("queues", {}).items():
                    if queue in window["queues"]:
                        window["queues"][queue].update(live)
                if "overall" in data and window["overall"] is not None:
                    window["overall"].update(data["overall"])
            calls = {c["call_id"]: c for c in state["calls"]}
            calls.update({c["call_id"]: c for c in data.get("calls", [])})
            for call_id in data.get("calls_gone", []):
                calls.pop(call_id, None)
            state["calls"] = sorted(calls.values(), key=lambda c: (c["arrived_at"], c["call_id"]))


class World:
    def __init__(self) -> None:
        self.now = T0
        self.agents: dict[str, Agent] = {
            "ana": Agent("ana", "Ana", extension="7001", skills={"care": 5}, team="jakarta"),
            "sam": Agent("sam", "Sam", extension="7002", skills={"sales": 5}, team="surabaya"),
        }
        self.hub = Hub()
        self.feed = StatsFeed(self.hub, lambda: self.now, lambda: RULES, lambda: self.agents, UTC)
        self.calls: dict[str, WorkItem] = {}

    def agent(self, agent_id: str, state: AgentState, reason: str | None = None, call_id: str | None = None) -> None:
        agent = self.agents[agent_id]
        agent.state, agent.reason, agent.state_since = state, reason, self.now
        agent.work = {} if call_id is None else {call_id: Channel.VOICE}
        self.feed.agent_changed(AgentChanged(agent))

    def call(self, call_id: str, queue: str = "sales", *, state: WorkState = WorkState.WAITING,
             agent_id: str | None = None, outcome: Outcome | None = None, arrived_at: datetime | None = None) -> None:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = WorkItem(call_id, f"ch-{call_id}", "+6221555", "1500100", queue,
                                              arrived_at or self.now)
        call.state, call.agent_id, call.queue = state, agent_id, queue
        if state is WorkState.CONNECTED and call.answered_at is None:
            call.answered_at = self.now
        if state is WorkState.ENDED:
            call.ended_at, call.outcome = self.now, outcome
        self.feed.work_changed(WorkChanged(call))

    def later(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def live_parts(view: dict[str, Any]) -> dict[str, Any]:
    """What the 'live' frames keep current: the grid and every window's live picture."""
    fields = ("waiting", "longest_wait", "in_ivr", "agents")
    return {"agents": view["agents"],
            "windows": {name: {"overall": w["overall"] and {f: w["overall"][f] for f in fields},
                               "queues": {q: {f: row[f] for f in fields} for q, row in w["queues"].items()}}
                        for name, w in view["windows"].items()}}


def test_live_frames_keep_each_scope_s_page_equal_to_a_fresh_computation() -> None:
    world = World()
    feed, hub = world.feed, world.hub
    world.agent("ana", AgentState.READY)
    world.agent("sam", AgentState.NOT_READY, "lunch")
    pages = {scope: Page(feed.view_json(scope)) for scope in (ALL, SALES)}
    assert [a["agent_id"] for a in pages[SALES].state["agents"]] == ["sam"]
    assert pages[SALES].state["timezone"] == "UTC" and pages[SALES].state["windows"]["today"]["overall"] is None

    def step() -> dict[Scope, list[dict[str, Any]]]:
        feed.flush()
        taken = {scope: hub.take(scope) for scope in pages}
        for scope, page in pages.items():
            for frame in taken[scope]:
                page.apply(frame)
            assert live_parts(page.state) == live_parts(feed.view(scope)), scope
            hub.take(scope)  # view() rebuilds, which flushes nothing new
        return taken

    world.later(1)
    world.call("c1")  # a caller waits in sales
    frames = step()
    assert [f["type"] for f in frames[ALL]] == ["live"] == [f["type"] for f in frames[SALES]]
    assert frames[SALES][0]["data"]["queues"]["sales"]["waiting"] == 1
    assert "overall" not in frames[SALES][0]["data"] and frames[ALL][0]["data"]["overall"]["waiting"] == 1

    world.later(2)
    world.agent("sam", AgentState.READY)
    frames = step()
    (live,) = frames[SALES]
    assert live["data"]["agents"] == [grid_entry(world.agents["sam"])]
    assert live["data"]["queues"]["sales"]["agents"]["ready"] == 1
    assert live["data"]["queues"]["sales"]["longest_wait"] == 2.0

    world.later(1)
    world.agent("ana", AgentState.NOT_READY, "break")  # care, jakarta: outside the sales scope
    frames = step()
    assert frames[ALL][0]["data"]["agents"][0]["agent_id"] == "ana"
    (live,) = frames[SALES]  # no agent, but its caller's wait has aged meanwhile
    assert set(live["data"]) == {"at", "queues"} and live["data"]["queues"]["sales"]["longest_wait"] == 3.0

    world.later(1)
    world.call("c1", state=WorkState.RINGING, agent_id="sam")
    world.agent("sam", AgentState.RINGING, call_id="c1")
    world.later(1)
    world.call("c1", state=WorkState.CONNECTED, agent_id="sam")
    world.agent("sam", AgentState.ON_CALL, call_id="c1")
    step()
    world.later(30)
    world.call("c1", state=WorkState.ENDED, agent_id="sam", outcome=Outcome.ANSWERED)
    world.agent("sam", AgentState.WRAP_UP)
    step()

    # The full frame: every figure; the page then equals the snapshot a new dashboard would get.
    feed.publish()
    for scope, page in pages.items():
        (stats,) = hub.take(scope)
        assert stats["type"] == "stats" and set(stats["data"]) == {"at", "windows", "agents", "channels"}
        page.apply(stats)
        assert page.state == json.loads(feed.view_json(scope))
    today = pages[SALES].state["windows"]["today"]["queues"]["sales"]
    assert (today["tally"]["offered"], today["tally"]["answered"], today["asa"]) == (1, 1, 5.0)
    assert pages[ALL].state["windows"]["today"]["agents"]["sam"]["since"] == world.now.isoformat()

    # The day chart gains a point: only that point is sent.
    feed._record_point()
    for scope, page in pages.items():
        (series,) = hub.take(scope)
        assert series["type"] == "series" and series["data"]["keep"] == 180
        page.apply(series)
        assert page.state == json.loads(feed.view_json(scope))
    assert set(pages[SALES].state["series"][-1]["queues"]) == {"sales"}


def test_live_calls_go_to_the_scopes_that_see_them_with_masked_numbers() -> None:
    world = World()
    feed, hub = world.feed, world.hub
    world.agent("ana", AgentState.READY)
    world.agent("sam", AgentState.READY)
    world.call("c0", "care")  # before anyone watched: in the snapshot
    feed.flush()
    pages = {scope: Page(feed.view_json(scope)) for scope in (ALL, SALES)}
    assert [c["call_id"] for c in pages[ALL].state["calls"]] == ["c0"]
    assert pages[SALES].state["calls"] == []

    def step() -> dict[Scope, list[dict[str, Any]]]:
        feed.flush()
        taken = {scope: hub.take(scope) for scope in pages}
        for scope, page in pages.items():
            for frame in taken[scope]:
                page.apply(frame)
            assert page.state["calls"] == json.loads(feed.view_json(scope))["calls"], scope
        return taken

    world.later(1)
    world.call("c1", "sales")
    frames = step()
    (row,) = frames[SALES][0]["data"]["calls"]
    assert row == {"call_id": "c1", "channel": "voice", "queue": "sales", "state": "waiting", "agent_id": None,
                   "agent_name": None, "arrived_at": world.now.isoformat(), "answered_at": None, "language": None,
                   "caller_name": None, "identified": False, "caller_number": "*****555"}
    assert "+6221555" not in json.dumps(list(frames.values()))  # never the full number, on any topic
    world.calls["c1"].caller_number = "anonymous"  # withheld: nobody's number, shown as such
    world.call("c1", "sales")
    assert step()[SALES][0]["data"]["calls"][0]["caller_number"] == "anonymous"

    world.later(1)
    world.call("c0", "care", state=WorkState.CONNECTED, agent_id="ana")  # care, jakarta: not the sales scope's
    frames = step()
    assert all("calls" not in f["data"] for f in frames[SALES])
    assert frames[ALL][0]["data"]["calls"][0]["agent_name"] == "Ana"

    world.later(1)
    world.call("c1", "care")  # requeued out of the scope: gone from it, still on everyone's
    frames = step()
    assert frames[SALES][0]["data"]["calls_gone"] == ["c1"]
    assert [c["call_id"] for c in pages[ALL].state["calls"]] == ["c0", "c1"]

    world.later(1)
    world.call("c0", "care", state=WorkState.ENDED, agent_id="ana", outcome=Outcome.ANSWERED)
    frames = step()
    assert frames[ALL][0]["data"]["calls_gone"] == ["c0"] and not frames[SALES]
    assert [c["call_id"] for c in pages[ALL].state["calls"]] == ["c1"] and pages[SALES].state["calls"] == []


def test_a_connecting_dashboard_s_snapshot_is_serialised_once_per_change() -> None:
    world = World()
    world.agent("ana", AgentState.READY)
    first = world.feed.view_json(ALL)
    assert world.feed.view_json(ALL) is first
    world.later(0.1)
    world.agent("ana", AgentState.NOT_READY, "break")
    world.feed.flush()
    again = world.feed.view_json(ALL)
    assert again is not first and json.loads(again)["agents"][0]["reason"] == "break"


async def test_commands_of_one_turn_make_one_live_frame() -> None:
    world = World()
    world.agent("sam", AgentState.READY)
    world.feed.view_json(ALL)
    world.hub.take(ALL)
    world.call("c1")
    world.call("c1", state=WorkState.RINGING, agent_id="sam")
    world.agent("sam", AgentState.RINGING, call_id="c1")
    assert world.hub.take(ALL) == []  # not yet: at the end of this turn of the loop
    await asyncio.sleep(0)
    (frame,) = world.hub.take(ALL)
    assert frame["type"] == "live" and frame["data"]["agents"][0]["state"] == "ringing"
    assert frame["data"]["queues"]["sales"]["waiting"] == 1


def test_a_late_arrival_is_counted_with_its_real_wait(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    world.agent("sam", AgentState.READY)
    arrived = world.now
    world.later(3)
    world.feed.view(ALL)  # a snapshot moves the aggregator's clock past the arrival
    with caplog.at_level(logging.WARNING, "cti.services.stats_feed"):
        world.call("c1", arrived_at=arrived)  # reported after its caller was looked up
        world.later(22)
        world.call("c1", state=WorkState.CONNECTED, agent_id="sam")
    assert caplog.records == []
    sales = world.feed.view(ALL)["windows"]["today"]["queues"]["sales"]
    assert (sales["tally"]["offered"], sales["asa"], sales["tally"]["answered_within_sl"]) == (1, 25.0, 0)


def test_a_restart_leaves_out_calls_that_never_reached_a_queue() -> None:
    """The live feed never counts a call the IVR served or overload shed; restored figures agree."""
    ended = T0 + timedelta(seconds=30)
    stored = [
        InteractionRecord(call_id="q1", channel_id="a", caller_number="1", service_number="1500100", queue="sales",
                          arrived_at=T0, ended_at=ended, outcome="abandoned"),
        InteractionRecord(call_id="i1", channel_id="b", caller_number="2", service_number="1500100", queue="",
                          arrived_at=T0, ended_at=ended, outcome="self_service"),
        InteractionRecord(call_id="i2", channel_id="c", caller_number="3", service_number="1500100", queue="",
                          arrived_at=T0, ended_at=ended, outcome="abandoned"),
    ]
    world = World()
    world.now = ended
    world.feed.restore(stored, [], world.agents.values())
    today = world.feed.view(ALL)["windows"]["today"]
    assert "" not in today["queues"] and today["queues"]["sales"]["tally"]["offered"] == 1
    assert (today["overall"]["tally"]["offered"], today["overall"]["tally"]["abandoned"]) == (1, 1)


def test_the_full_frame_has_today_per_channel_for_a_scope_of_every_queue() -> None:
    world = World()
    world.call("c1")
    world.calls["k1"] = WorkItem("k1", "k1-c", "", "chat", "sales", world.now, channel=Channel.CHAT)
    world.feed.work_changed(WorkChanged(world.calls["k1"]))
    world.later(4)
    world.call("c1", state=WorkState.CONNECTED, agent_id="sam")
    world.later(10)
    world.calls["k2"] = WorkItem("k2", "k2-c", "", "chat", "care", world.now, channel=Channel.CHAT)
    world.feed.work_changed(WorkChanged(world.calls["k2"]))
    world.later(1)
    world.call("k1", state=WorkState.ENDED, outcome=Outcome.ABANDONED)
    view = world.feed.view(ALL)
    chat, voice = view["channels"]["chat"], view["channels"]["voice"]
    assert (voice["tally"]["offered"], voice["tally"]["answered"], voice["asa"], voice["waiting"]) == (1, 1, 4.0, 0)
    assert (chat["tally"]["offered"], chat["tally"]["abandoned"], chat["waiting"], chat["longest_wait"]) == (
        2, 1, 1, 1.0)
    assert world.feed.view(SALES)["channels"] is None  # the center's figures: not a scope of some queues
