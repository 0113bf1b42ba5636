"""Chats beside real calls through Asterisk: an agent on a real call (SIPp caller and phone, bridged) is offered no
chat while a voice call is held alone (the default), and the waiting chat is offered once the call and its wrap-up
are over; an agent whose profile lets chats go beside a call is offered one during the call. A chat abandoned while
it waits is recorded as abandoned. The rules themselves: tests/unit/test_acd_channels.py; the chat's whole way
without telephony: tests/integration/test_chat_api.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import eventually

RULES = {"queues": {"general": {"skills": {"general": 1}, "wrap_up_seconds": 1}},
         "routes": [{"name": "all", "queue": "general"}], "default_queue": "general"}


@pytest.fixture
def cti_settings_overrides(tmp_path: Any) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path, "chat_bot": False}  # straight to the queue: this is about capacity


async def _chat(cti: Cti, name: str) -> tuple[TestClient, str]:  # type: ignore[type-arg]
    customer: TestClient = TestClient(cti.client.server)  # type: ignore[type-arg]
    response = await customer.post("/api/portal/chat", json={"name": name, "language": "id", "text": "halo"})
    assert response.status == 201, await response.text()
    return customer, (await response.json())["chat_id"]


async def test_no_chat_during_a_call_held_alone_then_the_waiting_chat_after_it(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana", "Ana", skills={"general": 1}, capacity={"voice": 1, "chat": 2})
    await cti.login("ana", "7001")
    callers.append(SippCaller("1500100", caller="0215550101", duration_ms=120_000, target=cti.settings.sip_bind))
    call = await cti.first_call()
    await cti.answered(call.call_id)
    customer, chat_id = await _chat(cti, "Dewi")
    try:
        assert cti.query.call(chat_id).agent_id is None  # waiting: Ana's call is held alone
        state = await (await customer.get("/api/portal/chat")).json()
        assert (state["state"]["state"], state["state"]["position"]) == ("waiting", 1)
        await cti.ari.hangup(call.channel_id)  # the caller's line drops; after the wrap-up the chat is hers

        def offered() -> bool:
            found = cti.query.find_call(chat_id)
            return found is not None and found.agent_id == "ana"

        await eventually(offered, timeout=15, message="the waiting chat offered to Ana after her call")
        assert (await customer.post("/api/portal/chat/leave", json={})).status == 200
        await cti.settled()
    finally:
        await customer.close()


async def test_a_chat_beside_a_call_when_the_profile_allows_it_and_one_abandoned_while_waiting(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana", "Ana", skills={"general": 1}, capacity={"voice": 1, "chat": 1}, exclusive=[])
    await cti.login("ana", "7001")
    callers.append(SippCaller("1500100", caller="0215550101", duration_ms=120_000, target=cti.settings.sip_bind))
    call = await cti.first_call()
    await cti.answered(call.call_id)
    first, beside = await _chat(cti, "Dewi")
    second, waiting = await _chat(cti, "Eko")
    try:
        assert cti.query.call(beside).agent_id == "ana"  # offered during the call
        assert cti.query.call(waiting).agent_id is None  # one chat at a time: the second waits
        response = await second.post("/api/portal/chat/leave", json={})
        assert response.status == 200
        await cti.ari.hangup(call.channel_id)
        assert (await first.post("/api/portal/chat/leave", json={})).status == 200
        await cti.settled()
        record = await InteractionRepository(cti.db).get(waiting)
        assert record is not None
        assert (record.channel, record.outcome, record.agent_id) == ("chat", "abandoned", None)
    finally:
        await first.close()
        await second.close()
