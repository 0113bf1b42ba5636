"""A web callback request on real calls: a customer signs in to the portal with the code a real SMTP server
delivered, asks to be called back as soon as possible, and the request becomes a scheduled callback that the
running cti previews to a ready agent's desktop; the agent dials it, the customer's phone (SIPp behind the PSTN
gateway) answers and is bridged with the agent through Asterisk; the portal shows the request done. The API's
refusals (hours, consent, one at a time, rate limit, someone else's request):
tests/integration/test_portal_selfservice_api.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import expect

from cti.crm import Consent, CustomerFields
from cti.persistence import CustomerRepository
from cti.settings import Settings
from cti.sim import SippAgent
from tests.e2e.conftest import Cti, start_phone, until_bridge
from tests.integration.test_portal_api import Browser
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page, eventually

EMAIL = "rina.hartono@example.co.id"


@pytest.fixture
def mail() -> Iterator[Mailbox]:
    with mailbox() as box:
        yield box


@pytest.fixture
def cti_settings_overrides(mail: Mailbox) -> dict[str, Any]:
    return {"calling_hours": "00:00-24:00", "smtp_host": "127.0.0.1", "smtp_port": mail.port,
            "smtp_security": "none", "smtp_sender": "portal@cti.test", "scheduled_callback_preview_seconds": 60}


async def test_a_callback_asked_on_the_portal_is_previewed_dialed_and_bridged_to_an_agent(
    cti: Cti, phones: dict[str, SippAgent], base_settings: Settings, mail: Mailbox
) -> None:
    await CustomerRepository(cti.db).create_customer(CustomerFields(
        name="Rina Hartono", phones=("0215550912",), email=EMAIL, region="jakarta",
        consent=Consent(phone_calls=True, email=True)), customer_id="2102")
    token = await cti.create_agent("pia", "Pia")
    await cti.speaks("en", token)
    start_phone(phones, base_settings, "7042", ring_ms=300)
    host, port = base_settings.pstn_gateway.split(":")
    phones["customer"] = SippAgent(int(port), host=host, ring_ms=300, talk_ms=3000)

    rina = Browser(cti.client.server)
    async with rina:
        await rina.call("POST", "/api/portal/code", json={"address": EMAIL}, expect=202)
        await rina.call("POST", "/api/portal/session", json={"address": EMAIL, "code": await mail.code(EMAIL)})
        asked = await rina.call("POST", "/api/portal/callbacks", json={"topic": "my new invoice"}, expect=201)
        assert (asked["status"], asked["phone"], asked["can_cancel"]) == ("scheduled", "+622***0912", True)

        async with browser_page() as page:
            await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
            await cti.login("pia", "7042", ready=True)
            await expect(page.locator("#preview")).to_be_visible(timeout=15_000)
            await expect(page.locator("#preview-who")).to_contain_text("Rina Hartono")
            await expect(page.locator("#preview-reason")).to_have_text("asked on the web portal: my new invoice")
            [shown] = (await rina.call("GET", "/api/portal/callbacks"))["callbacks"]
            assert (shown["callback_id"], shown["can_cancel"]) == (asked["callback_id"], False)
            await page.click("#preview-dial")
            call = await cti.first_call()
            await cti.answered(call.call_id, timeout=20)
            # Answered is marked as the customer picks up; the two legs join the call's bridge just after.
            legs = {f"{call.call_id}-c1", f"{call.call_id}-a1"}
            await until_bridge(cti, f"cti-call-{call.call_id}", lambda members: members == legs,
                               "the customer's and the agent's legs in the call's bridge")
            assert (call.customer_id, call.agent_id) == ("2102", "pia")
            await cti.settled(timeout=20)  # the customer hangs up after 3 s

        async def done() -> dict[str, Any] | None:
            [request] = (await rina.call("GET", "/api/portal/callbacks"))["callbacks"]
            return request if request["status"] == "done" else None

        finished = await eventually(done, message="the portal shows the callback done")
        assert finished["callback_id"] == asked["callback_id"]
