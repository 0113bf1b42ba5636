"""The workforce-management page in a real (headless) Chromium against a live test server.

No Asterisk: a small app with the page, the wfm API, real auth and a real SQLite database, and a pure
ContactCenter standing in for the controller.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from cti.acd import ContactCenter
from cti.persistence import Database, UserRepository, WfmRepository
from cti.persistence._tables import InteractionRow
from cti.web import _signin, _ui, _wfm
from cti.wfm import (
    AgentAvailability,
    ScheduleProblem,
    ShiftPattern,
    SyntheticPattern,
    solve_schedule,
    synthetic_history,
)
from tests.api import api_app
from tests.support import unavailable

CHROMIUM = "/usr/bin/chromium"
TOKEN = "wfm-page-token-0123456789"
HISTORY_START = datetime(2024, 4, 1, tzinfo=UTC)


@dataclass
class StandIn:
    core: ContactCenter


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("planner", "supervisor", TOKEN)
    # The page shows the center's day (Asia/Jakarta, whatever the browser's zone): the plan starts at its midnight.
    today = datetime.now(ZoneInfo("Asia/Jakarta")).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    schedule = solve_schedule(ScheduleProblem(
        start=today, interval_minutes=60, requirements={"sales": [0] * 8 + [2] * 8 + [0] * 8},
        patterns=(ShiftPattern("day8", 480, (480,)),),
        agents=(AgentAvailability("ani", frozenset({"sales"})), AgentAvailability("budi", frozenset({"sales"})))))
    await WfmRepository(db).save_schedule("today's plan", schedule)
    history = synthetic_history(SyntheticPattern(calls_per_day=150), queue="sales", start=HISTORY_START, days=15)
    async with db.transaction("seed interactions") as session:
        session.add_all(InteractionRow(
            call_id=f"c{i}", channel_id=f"ch{i}", caller_number="+628123", service_number="1500100",
            queue=s.queue, arrived_at=s.arrived_at, outcome="abandoned" if s.handle_seconds is None else "answered",
            talk_seconds=s.handle_seconds) for i, s in enumerate(history))
    core = ContactCenter()
    core.add_agent("ani", "Ani")
    core.login("ani", "1001", today - timedelta(hours=1), ready=True)
    app, _ = api_app(db, [_signin, _ui, _wfm], core=core)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()
        await db.close()


async def test_staffing_form_shows_the_ground_truth(server: TestServer, tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium at {CHROMIUM}")
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-gpu"])
        try:
            # A browser in another zone and English: times are still the center's (Asia/Jakarta).
            page = await browser.new_page(timezone_id="UTC", locale="en-GB")
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            failed: list[tuple[str, int]] = []
            page.on("response",
                    lambda r: failed.append((r.url.split("/", 3)[3], r.status)) if r.status >= 400 else None)
            # The planner works in English (users start in Indonesian); the switch below goes back.
            async with aiohttp.ClientSession() as http, http.patch(
                    f"http://127.0.0.1:{server.port}/api/me", json={"language": "en"},
                    headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                assert response.status == 200
            await page.goto(f"http://127.0.0.1:{server.port}/ui/wfm.html#token={TOKEN}")
            form = page.locator("#staffing")
            for name, value in [("calls", "100"), ("interval_minutes", "30"), ("aht_seconds", "180"),
                                ("service_level", "80"), ("answer_within_seconds", "20"), ("shrinkage", "30")]:
                await form.locator(f"[name={name}]").fill(value)
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#staff-agents")).to_have_text("14")
            await expect(page.locator("#staff-sl")).to_have_text("88.84%")
            await expect(page.locator("#staff-scheduled")).to_have_text("20")
            await expect(page.locator("#staff-pwait")).to_have_text("0.1741")
            await expect(page.locator("#staff-asa")).to_have_text("7.84 s")
            await expect(page.locator("#staff-occupancy")).to_have_text("71.4%")

            # Erlang A: impatient callers, fewer agents than Erlangs.
            await form.locator("[name=service_level]").fill("")
            await form.locator("[name=patience_seconds]").fill("30")
            await form.locator("[name=max_abandon]").fill("30")
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#staff-agents")).to_have_text("8")
            await expect(page.locator("#staff-model")).to_have_text("Erlang A (impatient callers)")

            # The stored schedule, its coverage, and today's adherence.
            await expect(page.locator("#schedules tbody tr")).to_have_count(1)
            await page.locator("#schedules tbody button").click()
            await expect(page.locator("#coverage tbody tr")).to_have_count(8)
            await expect(page.locator("#shifts tbody tr")).to_have_count(2)
            await expect(page.locator("#adherence tbody tr")).to_have_count(2)
            await expect(page.locator("#adherence tbody tr").first).to_contain_text("Ani")

            # A forecast from the stored history, with the agents each interval needs.
            forecast = page.locator("#forecast")
            await forecast.locator("[name=queue]").fill("sales")
            await forecast.locator("[name=start]").fill("2024-04-01")
            await forecast.locator("[name=end]").fill("2024-04-16")
            await forecast.locator("[name=interval_minutes]").select_option("60")
            await forecast.locator("[name=horizon_days]").fill("1")
            await forecast.locator("button[type=submit]").click()
            await expect(page.locator("#forecast-table tbody tr")).to_have_count(24)
            await expect(page.locator("#backtest tbody tr")).to_have_count(1)  # 8 training days: seasonal naive
            await expect(page.locator("#forecast-summary")).to_contain_text(
                "model seasonal naive (the same interval a week earlier)")
            await expect(page.locator("#forecast-table tbody tr").nth(10)).to_contain_text("16 Apr 2024, 10:00")

            # A server-side refusal is shown, not swallowed.
            await form.locator("[name=max_abandon]").fill("")
            await form.locator("[name=patience_seconds]").fill("")
            await form.locator("[name=max_occupancy]").fill("")
            await form.locator("[name=service_level]").fill("80")
            await form.locator("[name=max_abandon]").fill("5")
            await form.locator("button[type=submit]").click()
            await expect(page.locator("#staffing-error")).to_contain_text("max_abandon needs patience_seconds")
            await expect(page.locator("#staffing-result")).to_be_hidden()
            await page.screenshot(path=str(tmp_path / "wfm-en.png"), full_page=True)

            # In Bahasa Indonesia: the labels, the numbers' separators and the dates follow; the user's choice is
            # remembered for the next page.
            await page.select_option("#language", "id")
            await expect(page.locator("html")).to_have_attribute("lang", "id")
            await expect(page.locator("#staffing-section h2")).to_have_text("Kalkulator kebutuhan agen (satu interval)")
            # The refusal shown is said again in Indonesian, from its code (not the server's English message).
            await expect(page.locator("#staffing-error")).to_have_text("Isian tidak diterima; periksa kolom-kolomnya.")
            await expect(page.locator("#forecast-table tbody tr").nth(10)).to_contain_text("16 Apr 2024, 10.00")
            await expect(page.locator("#adherence thead th").first).to_have_text("Agen")
            await expect(page.locator("#sign-out")).to_have_text("Keluar")
            await page.screenshot(path=str(tmp_path / "wfm-id.png"), full_page=True)
            await page.reload()
            await expect(page.locator("#staffing-section h2")).to_have_text("Kalkulator kebutuhan agen (satu interval)")
            assert problems == []
            # Only the refusal above.
            assert sorted(set(failed)) == [("api/wfm/staffing", 422)]
        finally:
            await browser.close()
