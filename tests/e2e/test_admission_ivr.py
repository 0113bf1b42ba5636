"""Admission control in front of the IVR: past ``max_ivr_sessions`` callers in it, a new caller of an IVR
number gets congestion at once, before the CRM lookup and the answer, and a record saying so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cti.persistence import InteractionRepository
from cti.sim import SippCaller
from tests.e2e.conftest import Cti
from tests.support import eventually

FLOWS = Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml"


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    return {"ivr_flows": FLOWS, "max_ivr_sessions": 1}


async def test_a_caller_beyond_the_ivr_s_room_is_turned_away_and_recorded(
    cti: Cti, callers: list[SippCaller]
) -> None:
    # Two callers half a second apart; the first stays in the IVR for four seconds and hangs up there.
    caller = SippCaller("1500100", caller="0215550123", duration_ms=4000, calls=2, rate=2, limit=2,
                        target=cti.settings.sip_bind)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 30) != 0  # the second call failed (503)
    await eventually(lambda: cti.telephony.ivr is not None and not cti.telephony.ivr.calls,
                     message="the IVR to let go of its caller")
    await cti.settled()

    async def both() -> list[Any] | None:
        rows = await InteractionRepository(cti.db).list(limit=10)
        return rows if len(rows) == 2 else None

    records = await eventually(both, message="two interaction rows")
    assert sorted((r.outcome, r.end_reason) for r in records) == [
        ("abandoned", "caller_hangup"), ("rejected", "overload")]
    assert cti.telephony.admission.shed["sessions"] == 1
    assert cti.telephony.counters["calls_shed"] == 1 and cti.telephony.admission.setups == 0
