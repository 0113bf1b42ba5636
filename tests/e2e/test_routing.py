"""Routing with real calls through Asterisk: region, product line, escalation over time, after hours."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import Press, SippAgent, SippCaller, SippIvrCaller, Wait
from tests.e2e.conftest import Cti, start_phone, until_bridge
from tests.support import eventually

RULES = {
    "calendars": {"office": {"timezone": "WIB", "hours": {"mon-fri": ["08:00-17:00"]}}},
    "queues": {
        "care": {"skills": {"care": 1},
                 # First the caller's own region; after 3 s anyone with the skill.
                 "targets": [{"region": "caller", "timeout": 3}, {}]},
        "billing": {"skills": {"billing": 1}},
        "office": {"calendar": "office", "after_hours": {"action": "message", "message": "ss-noservice"}},
        "announced": {"announce_seconds": 2},
        "callbacks": {"callback_key": "*"},
    },
    "routes": [
        {"name": "billing line", "when": {"service_number": "1500200"}, "queue": "billing"},
        {"name": "office line", "when": {"service_number": "1500300"}, "queue": "office"},
        {"name": "announced line", "when": {"service_number": "1500400"}, "queue": "announced"},
        {"name": "callback line", "when": {"service_number": "1500600"}, "queue": "callbacks"},
        {"name": "care", "queue": "care"},
    ],
}
SUNDAY_NIGHT = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # Sunday 23:00 WIB: the office is closed


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path}


@pytest.fixture
def cti_clock(request: pytest.FixtureRequest) -> Callable[[], datetime] | None:
    if request.node.get_closest_marker("sunday_night"):
        return lambda: SUNDAY_NIGHT.replace(microsecond=datetime.now(UTC).microsecond)
    return None


async def test_jakarta_and_surabaya_callers_reach_their_regional_teams(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    for agent_id, ext, region in (("sby", "7031", "surabaya"), ("jkt", "7032", "jakarta")):
        start_phone(phones, base_settings, ext, ring_ms=100)
        await cti.create_agent(agent_id, skills={"care": 3}, region=region)
        await cti.login(agent_id, ext)  # sby logs in first: longest idle, yet not for a Jakarta caller
    jakarta = SippCaller("1500100", caller="0215550111", duration_ms=2500)
    callers.append(jakarta)
    await cti.answered((await cti.first_call()).call_id)
    surabaya = SippCaller("1500100", caller="+62 31 555 0222".replace(" ", ""), duration_ms=2500)
    callers.append(surabaya)
    assert await asyncio.to_thread(jakarta.wait, 20) == 0
    assert await asyncio.to_thread(surabaya.wait, 20) == 0
    await cti.settled()
    records = {r.caller_number: r for r in await InteractionRepository(cti.db).list()}
    assert records["0215550111"].agent_id == "jkt"
    assert records["+62315550222"].agent_id == "sby"
    routing = records["0215550111"].routing
    assert routing is not None and routing["region"] == "jakarta" and routing["route"] == "care"
    offered = [d for d in routing["decisions"] if d["kind"] == "offered"]
    assert [(d["winner"], d["candidates"], d["step"]) for d in offered] == [("jkt", ["jkt"], 0)]


async def test_service_number_picks_the_product_team(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7033", ring_ms=100)
    start_phone(phones, base_settings, "7034", ring_ms=100)
    await cti.create_agent("carer", skills={"care": 5})
    await cti.create_agent("biller", skills={"billing": 5})
    await cti.login("carer", "7033")
    await cti.login("biller", "7034")
    caller = SippCaller("1500200", caller="0225550333", duration_ms=2000)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.queue, record.agent_id, record.service_number) == ("billing", "biller", "1500200")
    assert record.routing is not None and record.routing["route"] == "billing line"


async def test_escalation_widens_to_other_regions_after_the_configured_wait(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7035", ring_ms=100)
    await cti.create_agent("far", skills={"care": 2}, region="medan")
    await cti.login("far", "7035")
    # Jakarta; only Medan is free. The caller stays until the test drops the line.
    caller = SippCaller("1500100", caller="0215550444", duration_ms=120_000)
    callers.append(caller)
    call = await cti.first_call()
    await asyncio.sleep(1.5)
    assert cti.query.call(call.call_id).agent_id is None  # still only for Jakarta agents
    await cti.answered(call.call_id, timeout=10)
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None and record.agent_id == "far"
    assert record.wait_seconds is not None and 3.0 <= record.wait_seconds <= 5.5
    assert record.routing is not None
    assert [d["kind"] for d in record.routing["decisions"]] == ["queued", "escalated", "offered"]


@pytest.mark.sunday_night
async def test_after_hours_caller_hears_the_closing_message(cti: Cti, callers: list[SippCaller]) -> None:
    caller = SippCaller("1500300", caller="0245550555", duration_ms=20_000)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0  # cti answered, played the message and hung up
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.queue, record.outcome, record.end_reason, record.agent_id) == (
        "office", "rejected", "after_hours", None)
    assert record.routing is not None and record.routing["decisions"][-1]["kind"] == "closed"


async def test_waiting_caller_hears_position_and_wait_over_the_music(cti: Cti, callers: list[SippCaller]) -> None:
    caller = SippCaller("1500400", caller="0615550666", duration_ms=16_000)  # nobody to answer: it waits
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 30) == 0
    await cti.settled()
    stats = cti.telephony.counters
    # Due every 2 s, but "you are next" lasts 5.4 s: they start at about 2, 8 and 14 s (those due while one
    # plays are skipped, not stacked). Asterisk plays the first two to the end over the music on hold; the
    # caller's hang-up at 16 s cuts the third, which Asterisk reports as failed.
    assert stats["announcements"] == stats["playbacks_done"] + stats["playbacks_failed"]
    assert stats["playbacks_done"] >= 2 and stats["playbacks_failed"] <= 1
    [record] = await InteractionRepository(cti.db).list()
    assert (record.queue, record.outcome) == ("announced", "abandoned")


async def test_callback_keep_my_place_end_to_end(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    # The customer's phone, reached through the PSTN gateway address when cti calls back.
    gateway_host, gateway_port = base_settings.pstn_gateway.split(":")
    phones["customer"] = SippAgent(int(gateway_port), ring_ms=300, talk_ms=2000, host=gateway_host)
    caller = SippCaller("1500600", caller="0215550888", duration_ms=10_000, press="*", press_after_ms=1500)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0  # pressed *, heard the confirmation, cti hung up
    # SIPp is done as soon as the BYE is answered; Asterisk's hang-up event may reach cti a moment later.
    call = await eventually(lambda: next((c for c in cti.query.calls() if not c.caller_present), None),
                            message="the caller's leg gone and the call kept")
    assert (call.state.value, call.callback, call.caller_present) == ("waiting", True, False)

    start_phone(phones, base_settings, "7036", ring_ms=200)
    await cti.create_agent("caller-backer")
    await cti.login("caller-backer", "7036")  # agent first, then the customer, then bridged
    await cti.answered(call.call_id, timeout=20)
    live = cti.query.call(call.call_id)
    # Answered is marked as the customer picks up; the two legs join the call's bridge just after.
    legs = {f"{call.call_id}-c1", f"{call.call_id}-a1"}
    await until_bridge(cti, f"cti-call-{call.call_id}", lambda members: members == legs,
                       "the customer's and the agent's legs in the call's bridge")
    assert live.state.value == "connected"
    await cti.settled(timeout=20)  # the customer hangs up after talking 2 s
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None
    assert (record.agent_id, record.outcome, record.end_reason) == ("caller-backer", "answered", "caller_hangup")
    assert record.routing is not None
    assert [d["kind"] for d in record.routing["decisions"]] == [
        "queued", "callback_requested", "offered", "calling_back"]
    assert cti.telephony.counters["callbacks_dialed"] == 1


async def test_a_callback_to_a_number_not_allowed_is_refused_and_the_caller_keeps_waiting(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller | SippIvrCaller], base_settings: Settings
) -> None:
    # A foreign number (or one a spoofed caller id claims): cti does not dial it at its own expense.
    caller = SippIvrCaller("1500600", [Wait(1000), Press("*")], caller="+6591234567", duration_ms=120_000)
    callers.append(caller)
    call = await cti.first_call()
    refused = await eventually(
        lambda: next((d for d in cti.query.call(call.call_id).decisions if d.kind == "callback_refused"), None),
        timeout=10, message="the callback to be refused")
    assert refused.reason == "pressed *: number_not_allowed"
    # The caller heard why (Asterisk's prompt, played to the end over the music) and is still in line.
    await eventually(lambda: cti.telephony.counters["playbacks_done"] == 1, timeout=10,
                     message="the refusal to be played")
    live = cti.query.call(call.call_id)
    assert (live.state.value, live.callback, live.caller_present) == ("waiting", False, True)

    start_phone(phones, base_settings, "7037", ring_ms=200)
    await cti.create_agent("taker")
    await cti.login("taker", "7037")
    await cti.answered(call.call_id)
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None and record.routing is not None
    assert (record.agent_id, record.outcome) == ("taker", "answered")
    assert [d["kind"] for d in record.routing["decisions"]] == ["queued", "callback_refused", "offered"]
    counters = cti.telephony.counters
    assert (counters["callbacks_refused"], counters["callbacks_dialed"]) == (1, 0)
    metrics = await cti.api("GET", "/metrics")
    assert "cti_callbacks_refused_total 1\n" in metrics
    assert 'cti_callbacks_refused_by_reason_total{reason="number_not_allowed"} 1\n' in metrics
