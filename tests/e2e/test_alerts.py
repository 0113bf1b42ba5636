"""Supervisor alerts on real traffic: a supervisor sets a threshold on her queue in the dashboard (Chromium), real
SIPp callers wait in it over the threshold, the alert shows on her dashboard within seconds and in the alert
history; once the callers are gone it clears, on the page and in the history. The API's refusals and the
hysteresis step by step: tests/integration/test_alerts_api.py and tests/unit/test_alerts.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from playwright.async_api import expect

from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.e2e.conftest import Cti, start_phone
from tests.support import browser_page, eventually

RULES = {
    "queues": {"care": {"skills": {"care": 1}}, "sales": {"skills": {"sales": 1}}},
    "routes": [{"name": "sales", "when": {"service_number": "1500200"}, "queue": "sales"},
               {"name": "care", "queue": "care"}],
}


@pytest.fixture
def cti_settings_overrides(tmp_path: Any) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path}


async def test_callers_waiting_over_a_threshold_raise_an_alert_on_the_dashboard_that_clears_when_they_go(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana", "Ana", skills={"care": 5})
    await cti.login("ana", "7001", ready=False)  # in the queue, not taking calls: callers wait
    sue = (await cti.api("POST", "/api/users", expect=201, json={"name": "sue", "role": "supervisor"}))["token"]
    await cti.api("PUT", "/api/users/sue/scope", json={"queues": ["care"], "teams": []})
    await cti.speaks("en", sue)
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={sue}")
        await expect(page.locator("#link")).to_have_text("connected")
        await expect(page.locator("#alerts-empty")).to_be_visible()
        await page.locator("#alerts-section details").nth(1).locator("summary").click()
        await expect(page.locator("#threshold-queue")).to_have_value("care")
        await page.select_option("#threshold-metric", "waiting")
        await page.fill("#threshold-raise", "2")
        await page.fill("#threshold-clear", "0")
        await page.click("#threshold-form button[type=submit]")
        await expect(page.locator("#threshold-status")).to_have_text("Thresholds saved.")
        await expect(page.locator("#thresholds li")).to_have_text("calls waiting: Alert at 2, Clear at 0 Remove")
        assert (await cti.api("GET", "/api/alerts/thresholds", token=sue))["thresholds"] == [
            {"queue": "care", "channel": "voice", "metric": "waiting", "state": None, "raise_at": 2.0,
             "clear_at": 0.0}]

        callers.append(SippCaller("1500100", caller="0215550101", duration_ms=120_000, target=cti.settings.sip_bind))
        await eventually(lambda: len(list(cti.query.calls())) == 1, timeout=15, message="the first caller waiting")
        await expect(page.locator("#alerts-empty")).to_be_visible()  # one waiting: under the threshold
        callers.append(SippCaller("1500100", caller="0215550102", duration_ms=120_000, target=cti.settings.sip_bind))
        banner = page.locator("#alert-banner")
        await expect(banner).to_have_text("Queue care: calls waiting 2 (alert at 2)", timeout=10_000)
        await expect(page.locator("#alerts li")).to_have_count(1)
        [raised] = (await cti.api("GET", "/api/alerts?open=yes", token=sue))["alerts"]
        assert (raised["queue"], raised["metric"], raised["subject"], raised["value"], raised["cleared_at"]) == (
            "care", "waiting", "care", 2.0, None)

        for call in list(cti.query.calls()):  # the callers' lines drop
            await cti.ari.hangup(call.channel_id)
        await expect(page.locator("#alerts-empty")).to_be_visible(timeout=10_000)
        await expect(banner).to_have_text("")
        await expect(page.locator("#alert-history li").first).to_contain_text("cleared")
    [cleared] = (await cti.api("GET", "/api/alerts", token=sue))["alerts"]
    assert (cleared["alert_id"], cleared["value"], cleared["cleared_value"]) == (raised["alert_id"], 2.0, 0.0)
    assert cleared["cleared_at"] > cleared["raised_at"]
    await cti.settled()
