"""Scheduled callbacks through the real Asterisk: a callback scheduled a few seconds ahead is previewed on its
agent's desktop (the customer and the reason), dialed from there, answered by the customer's phone (SIPp behind the
PSTN gateway) and bridged; one whose customer never answers is retried after the interval and reported failed after
the last attempt. The intervals are seconds here (settings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from cti.crm import Consent, CustomerFields
from cti.persistence import CustomerRepository, InteractionRepository
from cti.records import InteractionRecord
from cti.settings import Settings
from cti.sim import SippAgent
from tests.e2e.conftest import Cti, start_phone, until_bridge
from tests.support import browser_page, eventually


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    return {"calling_hours": "00:00-24:00", "scheduled_callback_attempts": 2,
            "scheduled_callback_retry_seconds": 2, "callback_ring_timeout": 3}


async def _customer_served_by(cti: Cti, agent_id: str, customer_id: str, phone: str) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    await CustomerRepository(cti.db).create_customer(CustomerFields(
        name="Rina Hartono", phones=(phone,), region="jakarta", consent=Consent(phone_calls=True)),
        customer_id=customer_id)
    await InteractionRepository(cti.db).save(InteractionRecord(
        call_id=f"past-{customer_id}", channel_id="leg", caller_number=phone, service_number="1500100",
        queue="general", agent_id=agent_id, arrived_at=past, ended_at=past, outcome="answered",
        customer_id=customer_id))


def _customer_phone(phones: dict[str, SippAgent], settings: Settings, **kwargs: Any) -> None:
    host, port = settings.pstn_gateway.split(":")
    phones["customer"] = SippAgent(int(port), host=host, **kwargs)


async def test_a_due_callback_is_previewed_dialed_from_the_desktop_and_bridged(
    cti: Cti, phones: dict[str, SippAgent], base_settings: Settings
) -> None:
    token = await cti.create_agent("pia", "Pia")
    await cti.speaks("en", token)
    await _customer_served_by(cti, "pia", "2101", "0215550911")
    await cti.login("pia", "7042", ready=True)
    start_phone(phones, base_settings, "7042", ring_ms=300)
    _customer_phone(phones, base_settings, ring_ms=300, talk_ms=3000)
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await expect(page.locator("#agent-state")).to_have_attribute("data-state", "ready")
        due = datetime.now(UTC) + timedelta(seconds=2)
        callback = await cti.api("POST", "/api/callbacks", token=token, expect=201, json={
            "customer_id": "2101", "due_at": due.isoformat(), "reason": "explain the new invoice",
            "agent_first": True})
        assert (callback["status"], callback["agent_id"], callback["queue"]) == ("scheduled", "pia", "general")
        await expect(page.locator("#preview")).to_be_visible(timeout=15_000)
        await expect(page.locator("#preview-who")).to_contain_text("Rina Hartono")
        await expect(page.locator("#preview-reason")).to_have_text("explain the new invoice")
        assert (await cti.api("GET", f"/api/callbacks/{callback['callback_id']}", token=token))["status"] == (
            "previewing")
        assert await cti.ari.list_channels() == []  # a preview dials nothing
        await page.click("#preview-dial")
        call = await cti.first_call()
        await cti.answered(call.call_id, timeout=20)
        # Answered is marked as the customer picks up; the two legs join the call's bridge just after.
        legs = {f"{call.call_id}-c1", f"{call.call_id}-a1"}
        await until_bridge(cti, f"cti-call-{call.call_id}", lambda members: members == legs,
                           "the customer's and the agent's legs in the call's bridge")
        await expect(page.locator("#preview")).to_be_hidden()
        await cti.settled(timeout=20)  # the customer hangs up after 3 s
    done = await eventually(lambda: _status(cti, callback["callback_id"], "completed"), message="completed")
    assert [a["outcome"] for a in done["attempts"]] == ["answered"] and done["dialed"] == 1
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None and record.routing is not None
    assert (record.direction, record.customer_id, record.outcome) == ("outbound", "2101", "answered")
    assert [d["kind"] for d in record.routing["decisions"]] == ["previewed", "dialed", "dialing"]


async def _status(cti: Cti, callback_id: str, status: str) -> dict[str, Any] | None:
    callback: dict[str, Any] = await cti.api("GET", f"/api/callbacks/{callback_id}")
    return callback if callback["status"] == status else None


async def test_a_callback_nobody_answers_is_retried_then_reported_failed(
    cti: Cti, phones: dict[str, SippAgent], base_settings: Settings
) -> None:
    token = await cti.create_agent("quinn")
    await _customer_served_by(cti, "quinn", "2102", "0215550912")
    await cti.login("quinn", "7043", ready=True)
    start_phone(phones, base_settings, "7043", ring_ms=200)
    _customer_phone(phones, base_settings, answer=False)  # rings until cti gives up (3 s)
    callback = await cti.api("POST", "/api/callbacks", token=token, expect=201, json={
        "customer_id": "2102", "due_at": datetime.now(UTC).isoformat(), "reason": "missed delivery"})
    callback_id = callback["callback_id"]
    for attempt in (1, 2):
        await eventually(lambda: _status(cti, callback_id, "previewing"), timeout=15,
                         message=f"preview {attempt}")
        dialing = await cti.api("POST", f"/api/callbacks/{callback_id}/dial", token=token)
        assert dialing["status"] == "dialing"
        await cti.settled(timeout=20)
    failed = await eventually(lambda: _status(cti, callback_id, "failed"), message="failed")
    assert [a["outcome"] for a in failed["attempts"]] == ["no_answer", "no_answer"] and failed["dialed"] == 2
    # The supervisors' report (the admin sees all), and the agent's own list.
    report = await cti.api("GET", "/api/callbacks?status=failed")
    assert [c["callback_id"] for c in report["callbacks"]] == [callback_id]
    own = await cti.api("GET", "/api/callbacks", token=token)
    assert [(c["callback_id"], c["status"]) for c in own["callbacks"]] == [(callback_id, "failed")]
    records = [r for r in await InteractionRepository(cti.db).list() if r.direction == "outbound"]
    assert sorted((r.outcome, r.end_reason) for r in records) == [("failed", "customer_no_answer")] * 2
