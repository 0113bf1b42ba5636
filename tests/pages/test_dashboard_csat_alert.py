"""A CSAT alert on the supervisor dashboard in a real Chromium: the supervisor of queue care sets a CSAT threshold
in the thresholds form (the surveys after calls), callers' survey ratings (the post-call IVR survey, through the
survey service, real SQLite) bring the queue's mean under it, and the alert is shown with its label and values,
in English and Bahasa Indonesia; better ratings clear it. The rule itself: tests/unit/test_alerts.py; the same
path with exact stored values on SQLite and PostgreSQL: tests/integration/test_csat_alerts.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect

from cti.acd import ContactCenter, Rules, WorkChanged, WorkItem
from cti.crm import CustomerFields
from cti.persistence import AlertRepository, CustomerRepository, Database, SurveyRepository, UserRepository
from cti.services import AlertMonitor, StatsFeed, SurveyService
from cti.web import ALERTS, AUDIT, HUB, STATS, SURVEYS, _alerts, _dashboard, _signin, _surveys, _ui, _users
from tests.accessibility import axe_violations
from tests.api import api_app
from tests.support import browser_page

Client = TestClient[web.Request, web.Application]
RULES = Rules.model_validate({"default_queue": "care", "queues": {"care": {}, "sales": {}},
                              "routes": [{"name": "all", "queue": "care"}]})
T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
QUESTIONS: list[dict[str, Any]] = [
    {"key": "satisfaction", "kind": "rating", "text": {"id": "Puas?", "en": "Satisfied?"}, "metric": "csat"}]


@dataclass
class Served:
    client: Client
    db: Database
    surveys: SurveyService
    monitor: AlertMonitor


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users = UserRepository(db)
    await users.ensure_user_token("sue", "supervisor", "supervisor-token-care-0123")
    await users.set_user_scope("sue", {"queues": ["care"]})
    app, distributor = api_app(db, [_signin, _users, _ui, _dashboard, _alerts, _surveys],
                               core=ContactCenter(RULES), clock=lambda: T0)
    feed = StatsFeed(app[HUB], lambda: T0, lambda: distributor.query.rules, distributor.query.agent_map,
                     ZoneInfo("UTC"))
    monitor = AlertMonitor(AlertRepository(db), feed, lambda: list(distributor.query.rules.queues),
                           every=3600, surveys=SurveyRepository(db))  # the test evaluates when it wants
    surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=None,
                            link_base="http://cti.test", clock=lambda: T0, answered=monitor.survey_answered)
    app[STATS], app[ALERTS], app[SURVEYS] = feed, monitor, surveys
    # A caller waiting in care: the queue has figures today, so the dashboard lists it (and its thresholds).
    feed.work_changed(WorkChanged(WorkItem(call_id="call-1", channel_id="chan-1", caller_number="0812345001",
                                           service_number="1500100", queue="care", arrived_at=T0, queued_at=T0)))
    await monitor.start(T0)
    await surveys.define("general", {"title": {"id": "Survei", "en": "Survey"}, "questions": QUESTIONS}, by="sue")
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Served(client, db, surveys, monitor)
    finally:
        await client.close()
        await surveys.close()
        await monitor.close()
        await db.close()


async def rate(served: Served, *ratings: int) -> None:
    """Callers of queue care rate their calls on the post-call IVR survey."""
    customers = CustomerRepository(served.db)
    for rating in ratings:
        who = await customers.create_customer(CustomerFields(name="Caller", language="id"))
        await served.surveys.record(customer_id=who.customer_id, questionnaire_id="general",
                                    answers={"satisfaction": rating}, complete=True, queue="care")


async def test_a_csat_threshold_set_on_the_dashboard_alerts_when_ratings_fall_and_clears_when_they_recover(
        served: Served) -> None:
    http = served.client
    headers = {"Authorization": "Bearer supervisor-token-care-0123"}
    assert (await http.patch("/api/me", headers=headers, json={"language": "en"})).status == 200
    async with browser_page(locale="en-GB") as page:
        await page.goto(str(http.make_url("/ui/dashboard.html#token=supervisor-token-care-0123")))
        await expect(page.locator("#threshold-queue option")).to_have_text(["care"])
        await page.get_by_text("Thresholds").click()
        await page.locator("#threshold-metric").select_option(label="CSAT (mean rating 1-5), alert below")
        await expect(page.locator("#threshold-channel")).to_be_visible()
        await expect(page.locator("#threshold-channel")).to_have_value("voice")
        await page.locator("#threshold-raise").fill("3")
        await page.locator("#threshold-clear").fill("3.5")
        await page.get_by_role("button", name="Set").click()
        await expect(page.locator("#thresholds li")).to_have_text(
            ["CSAT after calls: Alert at 3.00 / 5, Clear at 3.50 / 5 Remove"])
        saved = await (await http.get("/api/alerts/thresholds", headers=headers)).json()
        assert saved["thresholds"] == [{"queue": "care", "channel": "voice", "metric": "csat", "state": None,
                                        "raise_at": 3.0, "clear_at": 3.5}]

        await rate(served, 1, 2, 1, 2)
        assert await served.monitor.evaluate() == []  # four answers: too few to say anything
        await rate(served, 2)
        [raised] = await served.monitor.evaluate()
        assert raised.value == 1.6
        shown = "Queue care: CSAT after calls 1.60 / 5 (alert at 3.00 / 5)"
        await expect(page.locator("#alerts li")).to_have_text([shown])
        await expect(page.locator("#alert-banner")).to_have_text(shown)
        assert await axe_violations(page) == []
        await page.locator("#language").select_option("id")
        await expect(page.locator("#alerts li")).to_have_text(
            ["Antrean care: CSAT setelah panggilan 1,60 / 5 (peringatan pada 3,00 / 5)"])

        await rate(served, 5, 5, 5, 5, 5, 5, 5)  # (8 + 35) / 12 = 3.58: back past 3.5
        [cleared] = await served.monitor.evaluate()
        assert round(cleared.value, 3) == 3.583
        await expect(page.locator("#alerts-empty")).to_have_text("Tidak ada peringatan saat ini.")
        await expect(page.locator("#alert-history li").first).to_have_text(
            "Antrean care: CSAT setelah panggilan 3,58 / 5 (peringatan pada 3,00 / 5) — pulih")
