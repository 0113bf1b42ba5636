"""The supervisor dashboard with real traffic: the page, the API and the database agree; scoping holds."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import yaml
from playwright.async_api import expect

from cti.persistence import InteractionRepository, WfmRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.wfm import Activity, AgentShift, CoverageRow, Schedule
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


async def test_dashboard_page_api_and_database_agree(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100, talk_ms=1500)
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    await cti.create_agent("sam", "Sam", skills={"sales": 5}, team="surabaya")
    await cti.login("ana", "7001")
    # Sam is scheduled to work from an hour ago and never logged in: 0 % in adherence, and out of it now.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    end = start + timedelta(hours=2)
    await WfmRepository(cti.db).save_schedule("today", Schedule(
        start=start, interval_minutes=60,
        shifts=(AgentShift("sam", "day", start, end, (Activity(start, end, "work", "sales"),)),),
        coverage=(CoverageRow(start, "sales", 1, 1), CoverageRow(start + timedelta(hours=1), "sales", 1, 1)),
        objective=0.0, status="optimal"))
    admin = cti.settings.admin_token.get_secret_value()
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={admin}")
        await expect(page.locator("#link")).to_have_text("connected")
        adherence = page.locator('#agents tr[data-agent="sam"] td').nth(6)
        await expect(adherence).to_have_text("0.0 %")
        await expect(adherence).to_have_class("alert")
        await expect(adherence).to_have_attribute("title", "scheduled now: work")
        await expect(page.locator('#agents tr[data-agent="ana"] td').nth(6)).to_have_text("-")  # no schedule
        # Two answered care calls, and one sales call abandoned (nobody serves sales).
        answered = SippCaller("1500100", caller="0215550101", duration_ms=4000, calls=2, rate=5, limit=2)
        abandoned = SippCaller("1500200", caller="0315550102", duration_ms=2500)
        callers += [answered, abandoned]
        await expect(page.locator('#queues tr[data-queue="sales"] td').nth(1)).to_have_text("1", timeout=10000)
        assert await asyncio.to_thread(answered.wait, 30) == 0
        assert await asyncio.to_thread(abandoned.wait, 30) == 0
        await cti.settled()
        records = await InteractionRepository(cti.db).list(limit=10)
        assert sorted((r.queue, r.outcome) for r in records) == [
            ("care", "answered"), ("care", "answered"), ("sales", "abandoned")]
        await expect(page.locator("#offered")).to_have_text("3", timeout=5000)
        await expect(page.locator("#answered")).to_have_text("2")
        await expect(page.locator("#abandoned")).to_have_text("1")
        await expect(page.locator("#waiting")).to_have_text("0")
        await expect(page.locator('#agents tr[data-agent="ana"] td').nth(4)).to_have_text("2")
        await expect(page.locator('#agents tr[data-agent="ana"] td.state')).to_have_text("ready")
        api = await cti.api("GET", "/api/stats")
        today = api["windows"]["today"]
        assert (today["overall"]["tally"]["offered"], today["overall"]["tally"]["answered"],
                today["overall"]["tally"]["abandoned"]) == (3, 2, 1)
        assert today["queues"]["care"]["tally"]["answered"] == 2 == sum(
            r.outcome == "answered" for r in records if r.queue == "care")
        assert today["queues"]["sales"]["service_level"] is None  # nothing answered there
        await page.select_option("#queue", "care")
        await expect(page.locator("#offered")).to_have_text("2")
        await expect(page.locator("#service-level")).to_have_text("100.0 %")

    # Reports from the stored interactions agree too, in JSON and CSV.
    rows = (await cti.api("GET", "/api/reports/queues?interval=60"))["rows"]
    assert sum(r["offered"] for r in rows if r["queue"] == "care") == 2
    assert sum(r["abandoned"] for r in rows if r["queue"] == "sales") == 1
    text = await cti.api("GET", "/api/reports/queues?interval=60&format=csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(r["answered"]) for r in table if r["queue"] == "care") == 2
    await cti.api("GET", "/api/reports/queues?interval=7", expect=400)
    await cti.api("GET", "/api/reports/queues?from=2026-13-01", expect=400)
    # Each export is in the audit log: who took which report, of what period, in which format.
    exports = (await cti.api("GET", "/api/audit?action=export"))["entries"]
    assert [(e["actor"], e["subject_id"], e["detail"]["format"]) for e in reversed(exports)] == [
        ("admin", "queues", "json"), ("admin", "queues", "csv")]


async def test_supervisors_see_only_their_scope_and_agents_nothing(cti: Cti) -> None:
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    await cti.create_agent("sam", "Sam", skills={"sales": 5}, team="surabaya")
    made = await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201)
    await cti.api("PUT", "/api/users/sue/scope", json={"queues": ["sales"], "teams": ["surabaya"]})
    sue = made["token"]
    view = await cti.api("GET", "/api/stats", token=sue)
    today = view["windows"]["today"]
    assert today["overall"] is None and set(today["queues"]) == {"sales"}
    assert [a["agent_id"] for a in view["agents"]] == ["sam"]
    await cti.api("GET", "/api/reports/queues?queue=care", token=sue, expect=403)
    agent_token = cti.agent_tokens["ana"]
    await cti.api("GET", "/api/stats", token=agent_token, expect=403)
    async with aiohttp.ClientSession() as http:
        async with http.get(await cti.ws_url("/ws/dashboard", agent_token)) as response:
            assert response.status == 403
        async with http.ws_connect(await cti.ws_url("/ws/dashboard", sue)) as ws:
            snapshot = await ws.receive_json(timeout=5)
            assert set(snapshot["data"]["windows"]["today"]["queues"]) == {"sales"}
            # A change to a visible agent reaches the scoped dashboard at once, in a 'live' frame.
            await cti.api("POST", "/api/agents/sam/login", json={"extension": "7002", "ready": False})
            frame = await eventually(lambda: _next_showing(ws, "sam", "not_ready"), timeout=3, message="sam's change")
            assert frame["type"] == "live"  # the first frame that carries it
            assert [(a["agent_id"], a["state"]) for a in frame["data"]["agents"]] == [("sam", "not_ready")]
            assert set(frame["data"]) <= {"at", "agents", "queues"}  # no overall figures for a scoped supervisor


async def _next_showing(ws: aiohttp.ClientWebSocketResponse, agent_id: str, state: str) -> dict[str, Any] | None:
    """The next frame (a 'live' change or a full 'stats') whose agents hold ``agent_id`` in ``state``."""
    try:
        frame: dict[str, Any] = await ws.receive_json(timeout=1)
    except TimeoutError:
        return None
    entries = frame["data"].get("agents", []) if frame.get("type") in ("live", "stats") else []
    return frame if any(a["agent_id"] == agent_id and a["state"] == state for a in entries) else None
