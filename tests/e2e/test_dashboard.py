"""The supervisor dashboard with real traffic: the page, the API and the database agree; scoping holds."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

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

if TYPE_CHECKING:
    from playwright.async_api import Page

DASH = "\u2013"  # what the pages show for a figure that has no value
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
    await cti.speaks("en", admin)
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={admin}")
        await expect(page.locator("#link")).to_have_text("connected")
        adherence = page.locator('#agents tr[data-agent="sam"] td').nth(6)
        await expect(adherence).to_have_text("0.0%")
        await expect(adherence).to_have_class(re.compile(r"\balert\b"))
        await expect(adherence).to_have_attribute("title", "scheduled now: work")
        await expect(page.locator('#agents tr[data-agent="ana"] td').nth(6)).to_have_text(DASH)  # no schedule
        # Two answered care calls, and one sales call abandoned (nobody serves sales).
        answered = SippCaller("1500100", caller="0215550101", duration_ms=4000, calls=2, rate=5, limit=2,
                              target=cti.settings.sip_bind)
        abandoned = SippCaller("1500200", caller="0315550102", duration_ms=2500, target=cti.settings.sip_bind)
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
        # By channel, today: the calls' row (waiting, active, longest wait, offered, answered, abandoned, SL).
        await expect(page.locator('#channels tr[data-channel="voice"] th')).to_have_text("Calls")
        await expect(page.locator('#channels tr[data-channel="voice"] td')).to_have_text(
            ["0", "0", DASH, "3", "2", "1", "100.0%"])  # nobody waiting: no longest wait
        api = await cti.api("GET", "/api/stats")
        today = api["windows"]["today"]
        assert (today["overall"]["tally"]["offered"], today["overall"]["tally"]["answered"],
                today["overall"]["tally"]["abandoned"]) == (3, 2, 1)
        assert today["queues"]["care"]["tally"]["answered"] == 2 == sum(
            r.outcome == "answered" for r in records if r.queue == "care")
        assert today["queues"]["sales"]["service_level"] is None  # nothing answered there
        await page.select_option("#queue", "care")
        await expect(page.locator("#offered")).to_have_text("2")
        await expect(page.locator("#service-level")).to_have_text("100.0%")

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
    # (The dashboard's CSAT tile reads the survey report: its own export entries, left out here.)
    assert [(e["actor"], e["subject_id"], e["detail"]["format"]) for e in reversed(exports)
            if e["subject_id"] != "surveys"] == [("admin", "queues", "json"), ("admin", "queues", "csv")]


async def test_supervisors_see_only_their_scope_and_agents_nothing(cti: Cti) -> None:
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    await cti.create_agent("sam", "Sam", skills={"sales": 5}, team="surabaya")
    made = await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201)
    await cti.api("PUT", "/api/users/sue/scope", json={"queues": ["sales"], "teams": ["surabaya"]})
    sue = made["token"]
    await cti.speaks("en", sue)
    view = await cti.api("GET", "/api/stats", token=sue)
    today = view["windows"]["today"]
    assert today["overall"] is None and set(today["queues"]) == {"sales"}
    assert [a["agent_id"] for a in view["agents"]] == ["sam"]
    await cti.api("GET", "/api/reports/queues?queue=care", token=sue, expect=403)
    async with browser_page() as page:  # the page shows what the server sends her, and nothing else
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={sue}")
        await expect(page.locator("#link")).to_have_text("connected")
        await expect(page.locator("#queues tr")).to_have_count(1)
        await expect(page.locator('#queues tr[data-queue="sales"]')).to_have_count(1)
        assert await page.locator("#queue option").evaluate_all("options => options.map(o => o.value)") == ["", "sales"]
        await expect(page.locator("#agents tr")).to_have_count(1)
        await expect(page.locator('#agents tr[data-agent="sam"]')).to_have_count(1)
        await expect(page.locator("#calls-empty")).to_have_text("No calls right now.")
        await page.goto(f"{cti.client.make_url('/ui/reports.html')}#token={sue}")
        await expect(page.locator("#status")).to_have_text(re.compile("queue rows"))
        assert await page.locator("#queue option").evaluate_all("options => options.map(o => o.value)") == ["", "sales"]
        await page.select_option("#queue", "sales")
        await page.click('#range button[type="submit"]')
        await expect(page.locator("#status")).to_have_text(re.compile("queue rows"))
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
            # An admin widens her scope: her open sockets reconnect into it at once, the page with them.
            async with browser_page() as page:
                await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={sue}")
                await expect(page.locator('#queues tr[data-queue="sales"]')).to_have_count(1)
                await cti.api("DELETE", "/api/users/sue/scope")
                assert await closed(ws) == (4001, "scope changed")
                await expect(page.locator("#queues tr")).to_have_count(2)
                await expect(page.locator('#agents tr[data-agent="ana"]')).to_have_count(1)
                await expect(page.locator("#link")).to_have_text("connected")
        async with http.ws_connect(await cti.ws_url("/ws/dashboard", sue)) as ws:
            snapshot = await ws.receive_json(timeout=5)
            assert snapshot["data"]["windows"]["today"]["overall"] is not None


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The close code and reason the server ends ``ws`` with (frames before it are skipped)."""
    while True:
        message = await ws.receive(timeout=10)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return message.data, message.extra
        assert message.type is aiohttp.WSMsgType.TEXT, message


async def _next_showing(ws: aiohttp.ClientWebSocketResponse, agent_id: str, state: str) -> dict[str, Any] | None:
    """The next frame (a 'live' change or a full 'stats') whose agents hold ``agent_id`` in ``state``."""
    try:
        frame: dict[str, Any] = await ws.receive_json(timeout=1)
    except TimeoutError:
        return None
    entries = frame["data"].get("agents", []) if frame.get("type") in ("live", "stats") else []
    return frame if any(a["agent_id"] == agent_id and a["state"] == state for a in entries) else None


def _csp_watch(page: Page) -> list[str]:
    """Console messages of Content-Security-Policy violations (Chromium logs each one as an error)."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


async def test_filters_apply_to_the_whole_page_with_charts_and_live_calls(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    await cti.create_agent("sam", "Sam", skills={"sales": 5}, team="surabaya")
    await cti.login("ana", "7001")
    admin = cti.settings.admin_token.get_secret_value()
    await cti.speaks("en", admin)
    async with browser_page(timezone_id="America/Sao_Paulo") as page:  # the center's zone, never the browser's
        violations = _csp_watch(page)
        await page.goto(f"{cti.client.make_url('/ui/dashboard.html')}#token={admin}")
        await expect(page.locator("#link")).to_have_text("connected")
        # The charts: uPlot's canvas, axes and legend with the series' names, the target as a series of its own.
        await expect(page.locator("#chart-waiting canvas")).to_have_count(1)
        await expect(page.locator("#chart-waiting .u-legend .u-series .u-label")).to_have_text(
            ["Time", "Calls waiting"])
        await expect(page.locator("#chart-sl .u-legend .u-series .u-label")).to_have_text(
            ["Time", "Service level", "Target 80%"])
        # A care call Ana talks on, and a sales call nobody serves: both stay until the test drops them.
        talking = SippCaller("1500100", caller="0215550101", caller_name="Budi", duration_ms=120_000,
                             target=cti.settings.sip_bind)
        callers.append(talking)
        call = await cti.first_call()
        await cti.answered(call.call_id)
        waiting = SippCaller("1500200", caller="0315550102", caller_name="Sari", duration_ms=120_000,
                             target=cti.settings.sip_bind)
        callers.append(waiting)
        calls = page.locator("#calls tr")
        await expect(calls).to_have_count(2, timeout=10000)
        care = page.locator('#calls tr[data-state="connected"]')
        await expect(care.locator("td").nth(0)).to_have_text("care")
        await expect(care.locator("td.caller")).to_have_text("Budi (*******101)")  # masked, admin too
        await expect(care.locator("td.agent")).to_have_text("Ana")
        await expect(care.locator("td.talk")).to_have_text(re.compile(r"^00:\d\d$"))
        await expect(care.locator('button[data-mode="listen"]')).to_be_enabled()
        sales = page.locator('#calls tr[data-state="waiting"]')
        await expect(sales.locator("td").nth(0)).to_have_text("sales")
        await expect(sales.locator('button[data-mode="listen"]')).to_be_disabled()  # nobody to listen to yet
        # The legend shows the present's values, and those under the pointer when it hovers the chart.
        value = page.locator("#chart-waiting .u-legend .u-series").nth(1).locator(".u-value")
        await expect(value).to_have_text("1")  # the sales caller
        await page.locator("#chart-waiting").scroll_into_view_if_needed()  # below the alerts on a small screen
        box = await page.locator("#chart-waiting .u-over").bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
        await expect(value).to_have_text("0")  # the day's first point, from before the calls
        await page.mouse.move(0, 0)
        # "In state" is a duration; its title is the moment, in Jakarta's time, not UTC.
        since = datetime.fromisoformat((await cti.api("GET", "/api/agents/ana"))["state_since"])
        jakarta = since.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M")
        assert jakarta != since.astimezone(UTC).strftime("%H:%M")
        ana = page.locator('#agents tr[data-agent="ana"] td.since')
        await expect(ana).to_have_text(re.compile(r"^\d\d:\d\d$"))
        await expect(ana).to_have_attribute("title", re.compile(f"{jakarta}$"))

        # The queue filter: tiles, charts, queues, agents and calls all follow it.
        await page.select_option("#queue", "care")
        await expect(page.locator("#offered")).to_have_text("1")
        await expect(page.locator("#charts-scope")).to_have_text("queue care")
        await expect(page.locator("#chart-sl .u-legend .u-series .u-label")).to_have_text(
            ["Time", "Service level (care)", "Target 80%"])
        await expect(page.locator("#queues tr")).to_have_count(1)
        await expect(page.locator("#agents tr")).to_have_count(1)
        await expect(page.locator('#agents tr[data-agent="ana"]')).to_have_count(1)
        await expect(calls).to_have_count(1)
        await expect(page.locator('#calls tr[data-state="connected"]')).to_have_count(1)
        await page.select_option("#queue", "sales")
        await expect(page.locator('#agents tr[data-agent="sam"]')).to_have_count(1)
        await expect(page.locator('#agents tr[data-agent="ana"]')).to_have_count(0)
        await expect(calls).to_have_count(1)
        await expect(page.locator('#calls tr[data-state="waiting"]')).to_have_count(1)
        # The team filter: the agents and the calls they hold.
        await page.select_option("#queue", "")
        await page.select_option("#team", "jakarta")
        await expect(page.locator("#agents tr")).to_have_count(1)
        await expect(calls).to_have_count(1)
        await expect(page.locator('#calls tr[data-state="connected"]')).to_have_count(1)
        await page.select_option("#team", "")
        # Sortable (aria-sort says how) and filterable tables.
        header = page.locator('#agents-table th[data-sort="name"]')
        await expect(header).to_have_attribute("aria-sort", "ascending")
        await expect(page.locator("#agents tr")).to_have_count(2)
        rows = page.locator("#agents tr")
        await expect(rows.first).to_have_attribute("data-agent", "ana")
        await expect(rows.last).to_have_attribute("data-agent", "sam")
        await header.locator("button").click()
        await expect(header).to_have_attribute("aria-sort", "descending")
        await expect(rows.first).to_have_attribute("data-agent", "sam")
        await expect(rows.last).to_have_attribute("data-agent", "ana")
        await page.fill("#agent-search", "sam")
        await expect(page.locator("#agents tr")).to_have_count(1)
        await page.fill("#queue-search", "sal")
        await expect(page.locator("#queues tr")).to_have_count(1)
        await expect(page.locator('#queues tr[data-queue="sales"]')).to_have_count(1)
        for live in cti.query.calls():
            await cti.ari.hangup(live.channel_id)
        assert await asyncio.to_thread(talking.wait, 20) == 0
        assert await asyncio.to_thread(waiting.wait, 20) == 0
        await expect(calls).to_have_count(0, timeout=10000)
        assert not violations, violations


class _Frames:
    """Every frame of one dashboard socket, and the calls list a page keeps from them (dashboard.js's apply)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            frame = message.json()
            self.frames.append(frame)
            data = frame.get("data") or {}
            if frame["type"] == "snapshot":
                self.calls = {c["call_id"]: c for c in data["calls"]}
            elif frame["type"] == "live":
                self.calls.update({c["call_id"]: c for c in data.get("calls", [])})
                for call_id in data.get("calls_gone", []):
                    self.calls.pop(call_id, None)

    def states(self) -> dict[str, str]:
        return {c["queue"]: c["state"] for c in self.calls.values()}


async def test_the_feed_carries_each_scope_s_live_calls_with_masked_numbers(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=100)
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    await cti.create_agent("sam", "Sam", skills={"sales": 5}, team="surabaya")
    await cti.login("ana", "7001")
    sue = (await cti.api("POST", "/api/users", json={"name": "sue", "role": "supervisor"}, expect=201))["token"]
    await cti.api("PUT", "/api/users/sue/scope", json={"queues": ["sales"], "teams": []})
    admin = cti.settings.admin_token.get_secret_value()
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(await cti.ws_url("/ws/dashboard", admin)) as everyone_ws, \
            http.ws_connect(await cti.ws_url("/ws/dashboard", sue)) as sue_ws:
        everyone, sales = _Frames(everyone_ws), _Frames(sue_ws)
        # A care call Ana answers, and a sales call nobody serves: it waits.
        care = SippCaller("1500100", caller="0215550101", caller_name="Budi", duration_ms=6000,
                          target=cti.settings.sip_bind)
        callers.append(care)
        call = await cti.first_call()
        await cti.answered(call.call_id)
        waiting = SippCaller("1500200", caller="0315550102", caller_name="Sari", duration_ms=4000,
                             target=cti.settings.sip_bind)
        callers.append(waiting)
        await eventually(lambda: everyone.states() == {"care": "connected", "sales": "waiting"}, timeout=10,
                         message="both calls on the admin's feed")
        await eventually(lambda: sales.states() == {"sales": "waiting"}, message="the sales call on Sue's feed")
        talking = everyone.calls[call.call_id]
        assert (talking["agent_id"], talking["agent_name"], talking["caller_name"], talking["caller_number"]) == (
            "ana", "Ana", "Budi", "*******101")
        assert talking["answered_at"] is not None
        (queued,) = sales.calls.values()
        assert (queued["agent_name"], queued["caller_name"], queued["caller_number"], queued["answered_at"]) == (
            None, "Sari", "*******102", None)
        # Both hang up: the calls leave both lists.
        assert await asyncio.to_thread(care.wait, 30) == 0
        assert await asyncio.to_thread(waiting.wait, 30) == 0
        await eventually(lambda: not everyone.calls and not sales.calls, timeout=10, message="the calls to go")
        everyone.task.cancel()
        sales.task.cancel()
    # Nothing of the care call ever went to Sue, and no full caller number to anyone.
    sent_to_sue = json.dumps(sales.frames)
    assert call.call_id not in sent_to_sue and "Budi" not in sent_to_sue
    for text in (sent_to_sue, json.dumps(everyone.frames)):
        assert "0215550101" not in text and "0315550102" not in text
    assert any("calls_gone" in f["data"] for f in sales.frames if f["type"] == "live")
