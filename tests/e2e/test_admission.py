"""Admission control with real callers: past the ceiling, new callers get congestion and a record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    return {"max_arrival_rate": 1.0}


async def test_callers_beyond_the_arrival_ceiling_are_turned_away_and_recorded(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana")
    await cti.login("ana", "7001")
    # Three callers within 0.2 s against a ceiling of one per second (a bucket of one).
    caller = SippCaller("1500100", caller="0215550123", duration_ms=1500, calls=3, rate=15, limit=3)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 30) != 0  # two of the three calls failed (503)
    await cti.settled()

    async def recorded() -> list[Any]:
        return await InteractionRepository(cti.db).list(limit=10)

    records = await eventually(lambda: _three(recorded()), message="three interaction rows")
    assert sorted((r.outcome, r.end_reason) for r in records) == [
        ("answered", "caller_hangup"), ("rejected", "overload"), ("rejected", "overload")]
    shed = [r for r in records if r.outcome == "rejected"]
    assert all(r.answered_at is None and r.agent_id is None and r.offers == 0 for r in shed)
    assert cti.telephony.counters["calls_shed"] == 2
    assert cti.telephony.admission.setups == 0
    metrics = await cti.api("GET", "/metrics")
    assert "cti_calls_shed_total 2" in metrics


async def _three(rows: Any) -> Any:
    result = await rows
    return result if len(result) == 3 else None
