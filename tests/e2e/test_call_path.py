"""A caller reaches a ready agent through the real Asterisk, and every path leaves nothing behind."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta

import pytest

from cti.ari import AriNotFound, Bridge
from cti.asterisk import AsteriskRoot
from cti.persistence import AgentRepository, InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_caller_reaches_ready_agent_and_hangs_up(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("ana", "Ana Wijaya")
    await cti.login("ana", "7001")

    caller = SippCaller("1500100", caller="0215550123", caller_name="Budi", duration_ms=3000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)
    # Connected when the agent answers; the two legs are bridged a moment later.
    await eventually(lambda: _bridge_with(cti, f"cti-call-{call.call_id}", call.channel_id, f"{call.call_id}-a1"),
                     message="the caller and the agent in the call's bridge")
    agent = (await cti.api("GET", "/api/agents/ana"))
    assert agent["state"] == "on_call" and agent["call_id"] == call.call_id

    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()

    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.caller_number, record.caller_name, record.service_number, record.queue) == (
        "0215550123", "Budi", "1500100", "general")
    assert (record.agent_id, record.agent_extension, record.offers) == ("ana", "7001", 1)
    assert (record.outcome, record.end_reason) == ("answered", "caller_hangup")
    assert record.offered_at and record.answered_at and record.ended_at
    assert record.arrived_at <= record.offered_at <= record.answered_at <= record.ended_at
    assert record.wait_seconds is not None and record.wait_seconds < 2.0
    assert record.talk_seconds is not None and 2.0 <= record.talk_seconds <= 3.5
    assert record.ended_at - record.arrived_at < timedelta(seconds=5)
    agent = await cti.api("GET", "/api/agents/ana")
    assert (agent["state"], agent["call_id"], agent["calls_handled"]) == ("ready", None, 1)
    # Asterisk sent only the events cti handles (about 54 a call without its filter, 33 of them ChannelVarset).
    handled = {"ApplicationReplaced", "ChannelDestroyed", "ChannelDtmfReceived", "PlaybackFinished",
               "RecordingFailed", "RecordingFinished", "StasisEnd", "StasisStart"}
    assert {f["type"] for f in (await cti.ari.application())["events_allowed"]} == handled
    received = cti.telephony.events.received_types
    assert set(received) <= handled and received["StasisStart"] == 2, received  # the caller's and the agent's


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_ten_concurrent_callers_three_agents_all_served_in_turn(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    for n, ext in enumerate(("7002", "7003", "7004")):
        start_phone(phones, base_settings, ext, ring_ms=100, talk_ms=1000)  # agents end each call after 1 s
        await cti.create_agent(f"agent{n}")
        await cti.login(f"agent{n}", ext)

    caller = SippCaller("1500100", caller="0315550999", duration_ms=60_000, calls=10, rate=10, limit=10)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 60) == 0
    await cti.settled()

    records = await InteractionRepository(cti.db).list(limit=50)
    assert len(records) == 10
    assert {(r.outcome, r.end_reason) for r in records} == {("answered", "agent_hangup")}
    handled = Counter(r.agent_id for r in records)
    assert sorted(handled.values()) == [3, 3, 4]  # longest-idle spreads the load
    assert all(r.offers == 1 and r.talk_seconds and 0.8 <= r.talk_seconds <= 2.0 for r in records)
    # Served in turn: answers follow arrival order (FIFO), never two calls on one agent at once.
    by_arrival = sorted(records, key=lambda r: r.arrived_at)
    answered = [r.answered_at for r in by_arrival]
    assert answered == sorted(answered)  # type: ignore[type-var]
    for agent_id in handled:
        spans = sorted((r.answered_at, r.ended_at) for r in records if r.agent_id == agent_id)
        assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(spans))  # type: ignore[operator]


async def test_caller_waits_on_hold_until_an_agent_logs_in(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7005", ring_ms=100)
    await cti.create_agent("late")
    caller = SippCaller("1500100", caller="+62215550777", duration_ms=8000)
    callers.append(caller)

    call = await cti.first_call()
    hold = await eventually(lambda: _bridge_with(cti, "cti-hold-general", call.channel_id), message="hold")
    assert hold.bridge_type == "holding"
    waiting = await cti.api("GET", "/api/queues/general")
    assert (waiting["calls_waiting"], waiting["agents"]["ready"]) == (1, 0)
    await asyncio.sleep(1.5)
    assert cti.query.call(call.call_id).state.value == "waiting"

    await cti.login("late", "7005")
    await cti.answered(call.call_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.caller_number, record.agent_id, record.outcome) == ("+62215550777", "late", "answered")
    assert record.wait_seconds is not None and record.wait_seconds >= 1.5


async def test_caller_abandons_while_waiting(cti: Cti, callers: list[SippCaller]) -> None:
    caller = SippCaller("1500100", caller="0245550001", duration_ms=2000)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.outcome, record.end_reason, record.agent_id, record.offers) == (
        "abandoned", "caller_hangup", None, 0)
    assert record.answered_at is None and record.talk_seconds is None
    assert record.wait_seconds is not None and 1.5 <= record.wait_seconds <= 3.0
    assert record.queue == "general" and record.caller_number == "0245550001"


async def test_ring_no_answer_rings_next_agent_and_makes_first_not_ready(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7006", answer=False)
    start_phone(phones, base_settings, "7007", ring_ms=100)
    await cti.create_agent("sleepy")
    await cti.create_agent("awake")
    await cti.login("sleepy", "7006")  # idle longest, so offered first
    await cti.login("awake", "7007")

    caller = SippCaller("1500100", caller="0615550002", duration_ms=120_000)  # the test drops the line
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id, timeout=20)  # after the first phone's ring timeout
    sleepy = await cti.api("GET", "/api/agents/sleepy")
    assert (sleepy["state"], sleepy["reason"]) == ("not_ready", "no_answer")
    assert cti.query.call(call.call_id).agent_id == "awake"
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.agent_id, record.offers, record.outcome) == ("awake", 2, "answered")
    assert record.answered_at and record.offered_at
    ring_seconds = (record.answered_at - record.offered_at).total_seconds()
    assert base_settings.ring_timeout <= ring_seconds <= base_settings.ring_timeout + 3
    history = [(h.state, h.reason) for h in await AgentRepository(cti.db).history("sleepy")]
    assert history == [("ready", None), ("ringing", None), ("not_ready", "no_answer")]


async def test_controller_reconnects_after_asterisk_restart_and_serves_next_call(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    asterisk: AsteriskRoot,
) -> None:
    start_phone(phones, base_settings, "7008", ring_ms=100)
    await cti.create_agent("steady")
    await cti.login("steady", "7008")
    reconnects = cti.telephony.events.reconnects

    # A real drop: Asterisk restarts, its HTTP server and our websocket go away and come back.
    await asyncio.to_thread(asterisk.cli, "core restart now")
    await eventually(lambda: cti.telephony.events.reconnects > reconnects and cti.telephony.events.is_connected,
                     timeout=40, message="the controller to reconnect")
    caller = SippCaller("1500100", caller="0215550404", duration_ms=2000)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 30) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.agent_id, record.outcome) == ("steady", "answered")
    assert cti.telephony.counters["ari_resyncs"] >= 2


async def _bridge_with(cti: Cti, bridge_id: str, *channel_ids: str) -> Bridge | None:
    """The bridge, once it holds every one of ``channel_ids``."""
    try:
        bridge = await cti.ari.get_bridge(bridge_id)
    except AriNotFound:
        return None
    return bridge if set(channel_ids) <= set(bridge.channels) else None


async def test_caller_hanging_up_as_agent_is_dialed_does_not_penalise_the_agent(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    # Many short-lived callers against one agent: some hang up exactly while the agent is being dialed.
    start_phone(phones, base_settings, "7009", ring_ms=50, talk_ms=300)
    await cti.create_agent("busy")
    await cti.login("busy", "7009")
    crowd = SippCaller("1500100", caller="0225550300", duration_ms=700, calls=12, rate=8, limit=12)
    callers.append(crowd)
    assert await asyncio.to_thread(crowd.wait, 40) == 0
    await cti.settled()
    records = await InteractionRepository(cti.db).list(limit=50)
    assert len(records) == 12
    assert {r.outcome for r in records} <= {"answered", "abandoned"}
    agent = await cti.api("GET", "/api/agents/busy")
    assert agent["state"] == "ready", agent  # never made not-ready for a caller's hang-up
    assert agent["calls_handled"] == sum(r.outcome == "answered" for r in records) >= 1
