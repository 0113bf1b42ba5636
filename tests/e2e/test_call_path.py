"""A caller reaches a ready agent through the real Asterisk, and every path leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

from cti.settings import Settings
from cti.sim.sipp import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


async def test_caller_reaches_ready_agent_and_hangs_up(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("ana", "Ana Wijaya")
    await cti.login("ana", "7001")

    caller = SippCaller("1500100", caller="0215550123", caller_name="Budi", duration_ms=3000)
    callers.append(caller)
    call = await eventually(lambda: next(iter(cti.controller.core.calls.values()), None), message="the call")
    connected = await eventually(
        lambda: call.call_id in cti.controller.core.calls and cti.controller.core.calls[call.call_id].answered_at,
        message="the agent to answer")
    assert connected
    bridge = await cti.ari.get_bridge(f"cti-call-{call.call_id}")
    assert sorted(bridge.channels) == sorted([call.channel_id, f"{call.call_id}-a1"])
    agent = (await cti.api("GET", "/api/agents/ana"))
    assert agent["state"] == "on_call" and agent["call_id"] == call.call_id

    assert await __import__("asyncio").to_thread(caller.wait, 20) == 0
    await cti.settled()

    record = await cti.db.get_interaction(call.call_id)
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
