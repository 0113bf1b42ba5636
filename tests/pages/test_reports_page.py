"""The supervisors' reports page in a real headless Chromium against the whole app (create_app) with no Asterisk:
a known day's calls, stored in the database, shown in the center's zone, sorted, exported as CSV from the page, and
in Indonesian formats."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from playwright.async_api import expect

from cti.persistence import InteractionRepository
from cti.records import InteractionRecord
from cti.stats import OUTBOUND_COLUMNS, QUEUE_COLUMNS
from tests.fullapp import Cti
from tests.support import browser_page

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


async def test_reports_page_shows_a_known_day_and_exports_its_csv(cti: Cti) -> None:
    await cti.create_agent("ana", "Ana", skills={"care": 5}, team="jakarta")
    day = datetime(2026, 3, 2, tzinfo=UTC)  # 09:00 and 10:00 in Jakarta (UTC+7) are 02:00 and 03:00 UTC

    def call(call_id: str, queue: str, arrived: tuple[int, int], wait: int, talk: int | None) -> InteractionRecord:
        at = day.replace(hour=arrived[0], minute=arrived[1])
        answered = at + timedelta(seconds=wait) if talk is not None else None
        ended = at + timedelta(seconds=wait + (talk or 0))
        return InteractionRecord(
            call_id=call_id, channel_id=f"ch-{call_id}", caller_number="0215550101", service_number="1500100",
            queue=queue, agent_id="ana" if talk is not None else None, arrived_at=at, offered_at=at,
            answered_at=answered, ended_at=ended, wait_seconds=wait, talk_seconds=talk,
            outcome="answered" if talk is not None else "abandoned")

    repository = InteractionRepository(cti.db)
    for record in (call("r1", "care", (2, 10), 12, 180), call("r2", "care", (2, 40), 30, None),
                   call("r3", "sales", (3, 5), 30, 60)):
        await repository.save(record)
    # A call out (click-to-dial) in sales at 10:20: in the outbound table, not in the queue's offered calls.
    out = day.replace(hour=3, minute=20)
    await repository.save(InteractionRecord(
        call_id="o1", channel_id="ch-o1", caller_number="0215550102", service_number="1500100", queue="sales",
        agent_id="ana", arrived_at=out, answered_at=out + timedelta(seconds=10), ended_at=out + timedelta(seconds=100),
        talk_seconds=90, outcome="answered", end_reason="customer_hangup", direction="outbound"))
    admin = cti.settings.admin_token.get_secret_value()
    await cti.speaks("en", admin)
    reports = f"{cti.client.make_url('/ui/reports.html')}#token={admin}"
    async with browser_page(timezone_id="America/Sao_Paulo") as page:  # the center's zone, never the browser's
        violations = _csp_watch(page)
        await page.goto(reports)
        await expect(page.locator("#zone")).to_have_text("Asia/Jakarta")
        await page.fill("#from", "2026-03-02")
        await page.fill("#to", "2026-03-02")
        await page.select_option("#interval", "60")
        await page.click('#range button[type="submit"]')
        care = page.locator('#queues tr[data-queue="care"]')
        await expect(care).to_have_count(1)
        await expect(care.locator("td").nth(0)).to_have_text(re.compile(f"09:00{DASH}10:00$"))
        await expect(care.locator("td")).to_have_text(
            [re.compile("2 Mar 2026"), "care", "2", "1", "1", "0", "100.0%", "50.0%", "12 s", "180 s", "50.0%"])
        sales = page.locator('#queues tr[data-queue="sales"]')
        await expect(sales.locator("td").nth(0)).to_have_text(re.compile(f"10:00{DASH}11:00$"))
        await expect(sales.locator("td").nth(6)).to_have_text("0.0%")  # answered after 30 s: outside 20 s
        total = page.locator("#queues-total-row td")
        await expect(total.nth(2)).to_have_text("3")
        await expect(total.nth(10)).to_have_text("33.3%")  # 1 abandon (not short) against 2 answered
        agent = page.locator('#agents tr[data-agent="ana"]')
        await expect(agent.first.locator("td").nth(1)).to_have_text("Ana")
        await expect(agent.first.locator("td").nth(2)).to_have_text("1")
        # Sorting by queue, descending: sales first.
        await page.locator('#queues-table th[data-sort="queue"] button').click()
        await page.locator('#queues-table th[data-sort="queue"] button').click()
        await expect(page.locator('#queues-table th[data-sort="queue"]')).to_have_attribute("aria-sort", "descending")
        await expect(page.locator("#queues tr").first).to_have_attribute("data-queue", "sales")
        # The CSV, downloaded from the page: the API's columns and the day's rows, in Jakarta's time.
        async with page.expect_download() as info:
            await page.click("#csv-queues")
        download = await info.value
        assert download.suggested_filename == "queues-2026-03-02-2026-03-02.csv"
        text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
        table = list(csv.reader(io.StringIO(text)))
        assert table[0] == list(QUEUE_COLUMNS)
        rows = {(r[0], r[2]): dict(zip(table[0], r, strict=True)) for r in table[1:]}
        assert set(rows) == {("2026-03-02T09:00:00+07:00", "care"), ("2026-03-02T10:00:00+07:00", "sales")}
        care_row = rows[("2026-03-02T09:00:00+07:00", "care")]
        assert (care_row["offered"], care_row["answered"], care_row["abandoned"], care_row["service_level"]) == (
            "2", "1", "1", "1.0000")
        assert rows[("2026-03-02T10:00:00+07:00", "sales")]["offered"] == "1"  # the call out is not offered
        # The calls out, apart: dialed, reached, not reached, talk, callbacks completed and failed.
        calls_out = page.locator('#outbound tr[data-queue="sales"]')
        await expect(calls_out).to_have_count(1)
        await expect(calls_out.locator("td")).to_have_text(
            [re.compile(f"10:00{DASH}11:00$"), "sales", "1", "1", "0", "01:30", "0", "0"])
        async with page.expect_download() as info:
            await page.click("#csv-outbound")
        text = await asyncio.to_thread(Path(await (await info.value).path()).read_text, encoding="utf-8")
        assert list(csv.reader(io.StringIO(text))) == [list(OUTBOUND_COLUMNS), [
            "2026-03-02T10:00:00+07:00", "2026-03-02T11:00:00+07:00", "sales", "1", "1", "0", "90.0", "1.0000", "0",
            "0"]]
        assert not violations, violations
    # In Indonesian: the labels, and the same figures in Indonesian formats.
    await cti.speaks("id", admin)
    async with browser_page(locale="id-ID") as page:
        await page.goto(reports)
        await expect(page.locator("#queues-heading")).to_have_text("Per antrean")
        await page.fill("#from", "2026-03-02")
        await page.fill("#to", "2026-03-02")
        await page.click('#range button[type="submit"]')
        care = page.locator('#queues tr[data-queue="care"]')
        await expect(care.locator("td").nth(0)).to_have_text(re.compile(f"09\\.00{DASH}10\\.00$"))
        await expect(care.locator("td").nth(6)).to_have_text("100,0%")
        await expect(care.locator("td").nth(8)).to_have_text("12 dtk")


def _csp_watch(page: Page) -> list[str]:
    """Console messages of Content-Security-Policy violations (Chromium logs each one as an error)."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations
