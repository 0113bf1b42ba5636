"""Faults we can cause for real: the controller restarting mid-call; odd caller ids."""

from __future__ import annotations

import asyncio

import pytest

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually


def _calls_by_number(cti: Cti) -> dict[str, str]:
    return {c.caller_number: c.call_id for c in cti.query.calls()}


async def test_restarted_controller_rebuilds_from_redis_and_finishes_calls(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7021", ring_ms=100)
    start_phone(phones, base_settings, "7022", ring_ms=100)
    await cti.create_agent("first")
    await cti.create_agent("second")
    await cti.login("first", "7021")
    # Both stay on the line however long the restart takes; the test drops them when it is done.
    talking = SippCaller("1500100", caller="0215550001", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(talking)
    await cti.answered((await cti.first_call()).call_id)
    waiting = SippCaller("1500100", caller="0215550002", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(waiting)
    await eventually(lambda: "0215550002" in _calls_by_number(cti), message="second call")
    ids = _calls_by_number(cti)
    answered_at = cti.query.call(ids["0215550001"]).answered_at
    assert answered_at is not None

    await cti.restart()  # the old controller is gone; both callers are still up in Asterisk

    query = cti.query
    assert {c.call_id for c in query.calls()} == set(ids.values())
    assert query.call(ids["0215550001"]).state.value == "connected"
    assert query.call(ids["0215550002"]).state.value == "waiting"
    assert (query.agent("first").state.value, query.agent("first").call_id) == ("on_call", ids["0215550001"])
    await cti.login("second", "7022")  # the new controller serves the caller who kept waiting
    await cti.answered(ids["0215550002"])  # the caller who kept waiting is served after the restart
    # The talk counts from the answer before the restart, not from the new controller's start.
    assert query.call(ids["0215550001"]).answered_at == answered_at

    for number in ("0215550001", "0215550002"):
        await cti.ari.hangup(query.call(ids[number]).channel_id)
    assert await asyncio.to_thread(talking.wait, 20) == 0
    assert await asyncio.to_thread(waiting.wait, 20) == 0
    await cti.settled()
    first = await InteractionRepository(cti.db).get(ids["0215550001"])
    second = await InteractionRepository(cti.db).get(ids["0215550002"])
    assert first is not None and second is not None
    assert (first.agent_id, first.outcome, first.end_reason) == ("first", "answered", "caller_hangup")
    assert (second.agent_id, second.outcome, second.end_reason) == ("second", "answered", "caller_hangup")
    assert first.answered_at is not None and first.ended_at is not None and first.talk_seconds is not None
    assert first.talk_seconds == pytest.approx((first.ended_at - first.answered_at).total_seconds(), abs=0.01)
    assert abs(first.answered_at.timestamp() - answered_at.timestamp()) < 0.01


async def test_odd_caller_ids_are_normalised_and_kept_as_text(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    start_phone(phones, base_settings, "7024", ring_ms=100)
    await cti.create_agent("patient")
    await cti.login("patient", "7024")
    odd = SippCaller("1500100", caller="+62-21-555-0199", caller_name="O'Brien <b>&</b> Sons", duration_ms=1500,
                     target=cti.settings.sip_bind)
    callers.append(odd)
    await cti.answered((await cti.first_call()).call_id)
    # One agent: the second caller waits for the first call to end, then talks.
    anonymous = SippCaller("1500100", caller="anonymous", caller_name="", duration_ms=6000,
                           target=cti.settings.sip_bind)
    callers.append(anonymous)
    assert await asyncio.to_thread(odd.wait, 20) == 0
    assert await asyncio.to_thread(anonymous.wait, 20) == 0
    await cti.settled()
    records = {r.caller_number: r for r in await InteractionRepository(cti.db).list()}
    assert set(records) == {"+62215550199", "anonymous"}
    # Kept as text, cleaned where it entered: '<' and '>' could start an address in a caller id cti sends on.
    assert records["+62215550199"].caller_name == "O'Brien b&/b Sons"
    assert records["anonymous"].caller_name is None
    assert {r.outcome for r in records.values()} == {"answered"}
    agent = await cti.api("GET", "/api/agents/patient")
    assert (agent["state"], agent["calls_handled"]) == ("ready", 2)
