"""Routing by who the caller is (the CRM) with real calls: VIPs overtake, mobiles take the customer's region."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.acd import WorkItem, WorkState
from cti.persistence import CustomerRepository, InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller, generate
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually

RULES = {
    "queues": {"care": {"skills": {"care": 1}, "targets": [{"region": "caller", "timeout": 30}, {}]}},
    "routes": [
        {"name": "vip", "when": {"value_tier": ["gold", "platinum"]}, "queue": "care", "priority": 10},
        {"name": "care", "queue": "care"},
    ],
}
BUDI_FIXED, BUDI_MOBILE = "02155501001", "081210000001"  # seeded gold customer 10000001, Jakarta


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path}


async def test_a_vip_overtakes_callers_already_waiting(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await CustomerRepository(cti.db).seed(generate(now=datetime.now(UTC), customers=20))
    start_phone(phones, base_settings, "7001", ring_ms=100)  # talks until the test ends the call
    token = await cti.create_agent("ana", skills={"care": 5}, region="jakarta")
    await cti.login("ana", "7001")
    # The callers stay on the line longer than any test: Ana ends each call once the next caller is in place.
    first = SippCaller("1500100", caller="0215550301", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(first)
    await cti.answered((await cti.first_call()).call_id)  # the agent is busy from now on
    for number in ("0215550302", "0215550303", BUDI_FIXED):
        callers.append(SippCaller("1500100", caller=number, duration_ms=120_000, target=cti.settings.sip_bind))
        await eventually(lambda n=number: any(c.caller_number == n for c in cti.query.calls()),
                         message=f"{number} waiting")

    def talking() -> WorkItem | None:
        return next((c for c in cti.query.calls() if c.state is WorkState.CONNECTED and c.agent_id == "ana"), None)

    for _ in callers:
        call = await eventually(talking, message="Ana talking to the next caller")
        await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    for caller in callers:
        assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    records = sorted(await InteractionRepository(cti.db).list(limit=10), key=lambda r: r.answered_at or r.arrived_at)
    assert [r.caller_number for r in records] == ["0215550301", BUDI_FIXED, "0215550302", "0215550303"], [
        (r.caller_number, r.arrived_at, r.answered_at, (r.routing or {}).get("route"), r.customer_id) for r in records]
    vip_record = next(r for r in records if r.caller_number == BUDI_FIXED)
    assert vip_record.arrived_at > max(r.arrived_at for r in records if r.caller_number.endswith(("302", "303")))
    assert vip_record.customer_id == "10000001"
    assert vip_record.routing is not None
    assert (vip_record.routing["route"], vip_record.routing["priority"], vip_record.routing["value_tier"]) == (
        "vip", 10, "gold")


async def test_a_mobile_caller_takes_the_region_of_their_address(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    await CustomerRepository(cti.db).seed(generate(now=datetime.now(UTC), customers=20))
    for agent_id, ext, region in (("sby", "7031", "surabaya"), ("jkt", "7032", "jakarta")):
        start_phone(phones, base_settings, ext, ring_ms=100)
        await cti.create_agent(agent_id, skills={"care": 3}, region=region)
        await cti.login(agent_id, ext)  # sby first: the longest idle, yet not for a Jakarta customer
    caller = SippCaller("1500100", caller=BUDI_MOBILE, duration_ms=2500, target=cti.settings.sip_bind)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    record = (await InteractionRepository(cti.db).list(limit=1))[0]
    assert (record.agent_id, record.customer_id) == ("jkt", "10000001")
    assert record.routing is not None and record.routing["region"] == "jakarta"
