"""Calling customers through the real Asterisk: an agent clicks Call in the desktop's customer search; their own
phone rings first, then the customer's (a SIPp phone behind the PSTN gateway), and both are bridged; the outbound
interaction is recorded with its customer and wrapped up. Calls the contact policy refuses (no consent, the
do-not-call list, outside the calling hours in the customer's time zone) dial nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from cti.crm import Consent, CustomerFields
from cti.persistence import AuditRepository, CustomerRepository, InteractionRepository
from cti.records import InteractionRecord
from cti.settings import Settings
from cti.sim import SippAgent
from cti.types import utc_now
from tests.e2e.conftest import Cti, ShiftedClock, start_phone, until_bridge
from tests.support import browser_page


def _evening_in_jakarta() -> timedelta:
    """How far to move the clock for it to be 18:30 in Jakarta (WIB): 19:30 in Bali (WITA), 20:30 in Papua (WIT),
    past the calling hours (08:00-20:00) there only. The nearest such moment, so the clock moves half a day at most."""
    now = utc_now()
    target = now.replace(hour=11, minute=30, second=0, microsecond=0)
    while target - now > timedelta(hours=12):
        target -= timedelta(days=1)
    while now - target > timedelta(hours=12):
        target += timedelta(days=1)
    return target - now


@pytest.fixture
def cti_clock() -> Callable[[], datetime] | None:
    return ShiftedClock(_evening_in_jakarta())


CUSTOMERS = {  # customer number: name, phone, region, agreed to be called
    "2001": ("Sari Wulandari", "0215550901", "jakarta", True),
    "2002": ("Tono Prasetyo", "0215550902", "jakarta", False),
    "2003": ("Wati Kusuma", "0215550903", "jakarta", True),  # on the do-not-call list
    "2004": ("Yohanes Rumbiak", "0967550904", "jayapura", True),  # 20:30 WIT
}


async def _customers_served_by(cti: Cti, agent_id: str) -> None:
    """The customers, each served by the agent before (an agent dials the customers of their own interactions)."""
    customers, interactions = CustomerRepository(cti.db), InteractionRepository(cti.db)
    past = datetime.now(UTC) - timedelta(days=2)
    for customer_id, (name, phone, region, agreed) in CUSTOMERS.items():
        await customers.create_customer(CustomerFields(name=name, phones=(phone,), region=region, language="en",
                                                       consent=Consent(phone_calls=agreed)), customer_id=customer_id)
        await interactions.save(InteractionRecord(
            call_id=f"past-{customer_id}", channel_id="leg", caller_number=phone, service_number="1500100",
            queue="general", agent_id=agent_id, arrived_at=past, ended_at=past, outcome="answered",
            customer_id=customer_id))


async def test_an_agent_calls_a_customer_from_the_desktop_and_refused_calls_dial_nothing(
    cti: Cti, phones: dict[str, SippAgent], base_settings: Settings
) -> None:
    token = await cti.create_agent("olga", "Olga")
    await cti.speaks("en", token)
    await _customers_served_by(cti, "olga")
    # Before logging in: nobody dials without a phone.
    refused = await cti.api("POST", "/api/calls", token=token, expect=409, json={"customer_id": "2001"})
    assert refused["error"]["code"] == "agent_logged_out"
    await cti.login("olga", "7041", ready=False)  # not ready: taking no queue calls while calling out
    await cti.api("POST", "/api/calls", expect=403, json={"customer_id": "2001"})  # the admin has no phone

    entry = await cti.api("POST", "/api/do-not-call", expect=201, json={"number": "021-555-0903", "reason": "asked"})
    assert entry["number"] == "+62215550903"  # kept as the CRM keeps phones
    await cti.api("POST", "/api/do-not-call", expect=409, json={"number": "+62215550903"})
    for customer_id, code in (("2002", "no_contact_consent"), ("2003", "number_do_not_call"),
                              ("2004", "outside_calling_hours")):
        refused = await cti.api("POST", "/api/calls", token=token, expect=409, json={"customer_id": customer_id})
        assert refused["error"]["code"] == code, refused
    assert refused["error"]["params"]["zone"] == "WIT" and refused["error"]["params"]["local_time"] >= "20:30"
    await cti.api("POST", "/api/calls", token=token, expect=404, json={"customer_id": "9999"})  # never served
    assert cti.query.calls() == [] and await cti.ari.list_channels() == []  # nothing rang anywhere

    # The customer's phone, reached through the PSTN gateway; the agent's phone answers after a moment.
    gateway_host, gateway_port = base_settings.pstn_gateway.split(":")
    phones["customer"] = SippAgent(int(gateway_port), ring_ms=300, talk_ms=4000, host=gateway_host)
    start_phone(phones, base_settings, "7041", ring_ms=300)
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await page.fill("#search-q", "Sari")
        await page.press("#search-q", "Enter")
        await page.click("#search-results button")
        await expect(page.locator("#search-view-name")).to_have_text("Sari Wulandari")
        await page.click("#search-dial button")  # "Call +62215550901"
        await expect(page.locator("#dial-status")).to_have_text(
            "Calling: answer your phone, then the customer's rings.")
        call = await cti.first_call()
        await cti.answered(call.call_id, timeout=20)
        # Answered is marked as the customer picks up; the two legs join the call's bridge just after.
        legs = {f"{call.call_id}-c1", f"{call.call_id}-a1"}
        await until_bridge(cti, f"cti-call-{call.call_id}", lambda members: members == legs,
                           "the customer's and the agent's legs in the call's bridge")
        live = cti.query.call(call.call_id)
        assert (live.direction.value, live.caller_number, live.service_number, live.customer_id) == (
            "outbound", "+62215550901", base_settings.outbound_caller_id, "2001")
        await cti.settled(timeout=20)  # the customer hangs up after talking 4 s
    record = await InteractionRepository(cti.db).get(call.call_id)
    assert record is not None and record.routing is not None
    assert (record.direction, record.customer_id, record.agent_id, record.outcome, record.end_reason) == (
        "outbound", "2001", "olga", "answered", "caller_hangup")
    assert [d["kind"] for d in record.routing["decisions"]] == ["dialed", "dialing"]
    await cti.api("POST", f"/api/interactions/{call.call_id}/wrapup", token=token,
                  json={"disposition": "resolved", "notes": "called back about the invoice", "ready": False})
    assert (await cti.api("GET", "/api/agents/olga"))["state"] == "not_ready"  # as before dialing
    history = await cti.api("GET", "/api/interactions?limit=1", token=token)
    assert history["interactions"][0]["direction"] == "outbound"
    assert history["interactions"][0]["disposition"] == "resolved"
    audit = await AuditRepository(cti.db).search(actor="agent-olga")
    dials = [e.detail or {} for e in reversed(audit) if e.action == "dial"]
    assert [d.get("refused") for d in dials] == [
        "no_contact_consent", "number_do_not_call", "outside_calling_hours", None]
    assert dials[-1] == {"call_id": call.call_id}
