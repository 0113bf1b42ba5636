"""The administrators' routing rules page in a real Chromium against the real app: the admin reads the rules in
force in tables, edits the rules file on the page (a refused edit lists its problems and changes nothing), saves, and
the next call is routed by the new rules through Asterisk; a save from text older than the file is refused. The page
with its editor passes axe in Indonesian."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.accessibility import axe_violations
from tests.e2e.conftest import Cti, start_phone
from tests.pages.test_console_pages import SCREENS
from tests.support import browser_page

RULES = """\
# The sales line has its own team; everything else goes to care.
queues:
  care:
    skills: {care: 1}
  sales:
    skills: {sales: 1}
    wrap_up_seconds: 10
routes:
  - {name: sales line, when: {service_number: "1500200"}, queue: sales, priority: 5}
default_queue: care
"""


def _files(rules_file: Path) -> tuple[str, str | None]:
    backup = rules_file.with_name(rules_file.name + ".bak")
    return rules_file.read_text(), backup.read_text() if backup.exists() else None


async def files(rules_file: Path) -> tuple[str, str | None]:
    """The rules file's text, and its backup's (None when there is none)."""
    return await asyncio.to_thread(_files, rules_file)


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
def cti_settings_overrides(rules_file: Path) -> dict[str, Any]:
    return {"routing_rules": rules_file}


async def test_an_admin_edits_a_route_on_the_page_and_the_next_call_follows_it(
    cti: Cti, rules_file: Path, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
) -> None:
    admin = cti.settings.admin_token.get_secret_value()
    async with browser_page(locale="id-ID") as page:
        await page.goto(f"{cti.client.make_url('/ui/routing.html')}#token={admin}")
        await expect(page.get_by_role("heading", name="Aturan perutean", exact=True)).to_be_visible()
        await expect(page.locator("#rules-path")).to_have_text(str(rules_file))
        await expect(page.get_by_role("row", name="sales line")).to_contain_text("nomor layanan: 1500200")
        await expect(page.locator("#queues tbody th")).to_have_text(["care", "sales"])
        await expect(page.locator("#queues tbody tr").nth(1)).to_contain_text("10 dtk")  # sales: its wrap-up
        editor = page.get_by_label("Berkas aturan (YAML)")
        await expect(editor).to_have_value(RULES)  # the file as it is, its comment included

        # A route to a queue that does not exist: refused, each problem said, nothing written, nothing changed.
        await editor.fill(RULES.replace("queue: sales, priority: 5", "queue: billing, priority: 5"))
        await page.get_by_role("button", name="Simpan dan berlakukan").click()
        await expect(page.locator("#problems")).to_contain_text("route 'sales line': no queue 'billing'")
        await expect(page.locator("#refusal")).to_contain_text("Aturan ditolak (1 masalah)")
        assert await axe_violations(page) == []
        SCREENS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENS / "routing-editor-refused-id.png"), full_page=True)
        assert await files(rules_file) == (RULES, None)
        in_force = await cti.api("GET", "/api/routing")
        assert [(r["name"], r["queue"]) for r in in_force["routes"]] == [("sales line", "sales")]

        # The sales line to care for now (nobody staffs sales today): checked, then saved and in force.
        edited = RULES.replace("queue: sales, priority: 5", "queue: care, priority: 7")
        await editor.fill(edited)
        await page.get_by_role("button", name="Periksa").click()
        await expect(page.locator("#notice")).to_have_text("Aturan valid: 2 antrean, 1 rute. Belum ada yang disimpan.")
        assert await files(rules_file) == (RULES, None)
        await page.get_by_role("button", name="Simpan dan berlakukan").click()
        await expect(page.locator("#notice")).to_have_text("Tersimpan dan berlaku: 2 antrean, 1 rute.")
        await expect(page.locator("#problems")).to_be_empty()
        await expect(page.get_by_role("row", name="sales line")).to_contain_text("care")
        assert await files(rules_file) == (edited, RULES)  # the previous file kept beside it

        # Meanwhile someone edits the file on disk: a save from the page's older text is refused, not lost ...
        on_disk = edited + "# checked by the night shift\n"
        await asyncio.to_thread(rules_file.write_text, on_disk)
        await editor.fill(edited.replace("priority: 7", "priority: 8"))
        await page.get_by_role("button", name="Simpan dan berlakukan").click()
        await expect(page.locator("#refusal")).to_contain_text("Tidak disimpan: berkas aturan berubah")
        assert await files(rules_file) == (on_disk, RULES)
        # ... and reloading from the file shows (and applies) what is on disk.
        await page.get_by_role("button", name="Muat ulang dari berkas").click()
        await expect(page.locator("#notice")).to_have_text("Aturan dibaca ulang dari berkas dan kini berlaku.")
        await expect(editor).to_have_value(on_disk)

    in_force = await cti.api("GET", "/api/routing")
    assert [(r["name"], r["queue"], r["priority"]) for r in in_force["routes"]] == [("sales line", "care", 7)]
    audit = await cti.api("GET", "/api/audit?subject_type=routing_rules")
    assert [(e["actor"], e["action"], e["subject_id"]) for e in audit["entries"]] == [
        ("admin", "change", "routing.yaml")]

    start_phone(phones, base_settings, "7045", ring_ms=100)
    await cti.create_agent("rina", skills={"care": 1})
    await cti.login("rina", "7045")
    caller = SippCaller("1500200", caller="0215550777", duration_ms=1500, target=cti.settings.sip_bind)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.service_number, record.queue, record.agent_id) == ("1500200", "care", "rina")
    assert record.routing is not None and record.routing["route"] == "sales line"
